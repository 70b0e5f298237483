// Package version says which runlog this is: the version every writer
// records in a run's header and that the server and commands report, and
// which clients a binary works with.
//
// The version comes from one place: a git tag vX.Y.Z on the commit, else
// the VERSION file at the root of the repository (docs/install.md). Release
// builds (scripts/build-wheels.sh, scripts/release.sh) stamp it, with the
// commit and its time, through scripts/version.sh:
//
//	go build -ldflags "-X github.com/runlog/runlog/internal/version.stamped=1.2.3
//	  -X github.com/runlog/runlog/internal/version.commit=<sha>
//	  -X github.com/runlog/runlog/internal/version.date=2026-12-01T10:00:00Z"
//
// `go install github.com/runlog/runlog/cmd/runlog@v1.2.3` records the
// module version in the binary's build information, which is used when
// nothing was stamped; a build from a checkout falls back to Base (kept
// equal to VERSION by scripts/version.sh --check). The commit and its time
// come from the build information that the go command records from git
// when they were not stamped.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
)

// Base is the version of a build that neither stamped one nor was built
// from a tagged module. scripts/version.sh keeps it equal to the VERSION
// file.
const Base = "0.1.0"

// Set with -ldflags -X by release builds.
var stamped, commit, date string

// Info describes this build.
type Info struct {
	Version string // e.g. "0.1.0", without a leading "v"
	Commit  string // the VCS revision, "" if unknown
	Date    string // the commit time (RFC 3339), "" if unknown
	Dirty   bool   // the working tree had uncommitted changes
}

var info = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	in := fromBuild(stamped, bi)
	if commit != "" {
		in.Commit, in.Dirty = commit, false
	}
	if date != "" {
		in.Date = date
	}
	return in
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

// Long returns the version with the commit and the build date, as
// `runlog --version` prints it: "0.1.0 (commit 92b3c57a1f0e, built
// 2026-12-01T10:00:00Z)". Unknown parts are said to be unknown.
func (in Info) Long() string {
	c := in.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	}
	if in.Dirty {
		c += " with uncommitted changes"
	}
	d := in.Date
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, built %s)", in.Version, c, d)
}

// Compatible reports whether a client of version client writes what a
// binary of version binary reads, and the other way round: the same major
// and minor version ("0.1.3" and "0.1.0" are; "0.2.0" and "0.1.9" are not).
// A leading "v" and anything after a "+" or "-" are ignored. It is the one
// rule: `runlog doctor` applies it to the Python client it finds, and the
// Python client (runlog._binary.compatible) follows it with the same
// cases, testdata/compatible.json.
func Compatible(client, binary string) bool {
	return MajorMinor(client) == MajorMinor(binary)
}

// MajorMinor returns "X.Y" of a version "vX.Y.Z-pre+build": what
// Compatible compares.
func MajorMinor(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

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
