package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuild(t *testing.T) {
	t.Parallel()
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build info", "", nil, Info{Version: Base}},
		{"checkout build", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: Base, Commit: "abc123", Date: "2026-12-01T10:00:00Z", Dirty: true}},
		{"go install of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.2"}}, Info{Version: "1.4.2"}},
		{"pseudo-version is not a release", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201100000-abc123abc123"}}, Info{Version: Base}},
		{"stamped wins", "v2.0.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.2"}}, Info{Version: "2.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuild(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("fromBuild = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	if String() == "" {
		t.Fatal("String() is empty")
	}
}
