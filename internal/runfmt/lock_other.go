//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package runfmt

import "os"

// LockFile does nothing where flock(2) is missing: writers that take turns
// on one file (run.cli.log, the logs the MLflow server writes) may then
// interleave their records if two of them append at the same instant.
func LockFile(*os.File) (unlock func(), err error) { return func() {}, nil }
