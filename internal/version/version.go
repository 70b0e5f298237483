// Package version says which runlog this is: the version every writer
// records in a run's header and that the server and commands report.
//
// The version comes from one place. A release build stamps it with
//
//	go build -ldflags "-X github.com/runlog/runlog/internal/version.stamped=1.2.3"
//
// `go install github.com/runlog/runlog/cmd/runlog@v1.2.3` records the
// module version in the binary's build information, which is used when
// nothing was stamped; a build from a checkout falls back to Base. The
// commit and its time come from the build information that the go command
// records from git.
package version

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Base is the version of a build that neither stamped one nor was built
// from a tagged module.
const Base = "0.1.0"

// stamped is set with -ldflags -X by release builds.
var stamped string

// Info describes this build.
type Info struct {
	Version string // e.g. "0.1.0", without a leading "v"
	Commit  string // the VCS revision, "" if unknown
	Date    string // the commit time (RFC 3339), "" if unknown
	Dirty   bool   // the working tree had uncommitted changes
}

var info = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(stamped, bi)
})

// fromBuild works out a build's Info from a stamped version and its build
// information, either of which may be missing.
func fromBuild(stamped string, bi *debug.BuildInfo) Info {
	in := Info{Version: Base}
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" && !isPseudo(v) {
			in.Version = strings.TrimPrefix(v, "v")
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.time":
				in.Date = s.Value
			case "vcs.modified":
				in.Dirty = s.Value == "true"
			}
		}
	}
	if stamped != "" {
		in.Version = strings.TrimPrefix(stamped, "v")
	}
	return in
}

// Get returns this build's Info.
func Get() Info { return info() }

// String returns this build's version, e.g. "0.1.0".
func String() string { return info().Version }

// isPseudo reports whether v is a Go pseudo-version, which names a commit
// rather than a release: its last two dash-separated parts are a 14-digit
// time and a 12-digit hash, as in v0.0.0-20261201100000-abc123abc123.
func isPseudo(v string) bool {
	v, _, _ = strings.Cut(v, "+")
	parts := strings.Split(v, "-")
	if len(parts) < 3 {
		return false
	}
	hash, ts := parts[len(parts)-1], parts[len(parts)-2]
	if i := strings.LastIndexByte(ts, '.'); i >= 0 {
		ts = ts[i+1:] // v1.2.4-pre.0.20261201100000-hash
	}
	return len(hash) == 12 && len(ts) == 14 && strings.Trim(ts, "0123456789") == ""
}
