package version

import (
	"encoding/json"
	"os"
	"runtime/debug"
	"strings"
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

// The cases the Python client's runlog._binary.compatible is tested with
// too: one rule in two languages.
func TestCompatible(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/compatible.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Client, Binary string
		Compatible     bool
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/compatible.json has no cases")
	}
	for _, c := range cases {
		if got := Compatible(c.Client, c.Binary); got != c.Compatible {
			t.Errorf("Compatible(%q, %q) = %v, want %v", c.Client, c.Binary, got, c.Compatible)
		}
	}
}

func TestLong(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Info
		want string
	}{
		{Info{Version: "1.2.3", Commit: "92b3c57a1f0e4d2b", Date: "2026-12-01T10:00:00Z"}, "1.2.3 (commit 92b3c57a1f0e, built 2026-12-01T10:00:00Z)"},
		{Info{Version: "1.2.3", Commit: "abc", Dirty: true}, "1.2.3 (commit abc with uncommitted changes, built unknown)"},
		{Info{Version: "0.1.0"}, "0.1.0 (commit unknown, built unknown)"},
	}
	for _, tt := range tests {
		if got := tt.in.Long(); got != tt.want {
			t.Errorf("%+v.Long() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Base is what a checkout build reports; it must be the VERSION file's
// version, the one place a version is written (scripts/version.sh).
func TestBaseIsVERSION(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(data)); v != Base {
		t.Errorf("VERSION says %q, version.Base is %q: run scripts/version.sh --sync", v, Base)
	}
}
