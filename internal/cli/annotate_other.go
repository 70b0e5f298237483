//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "os"

// lockFile does nothing where flock(2) is missing: two `runlog note`
// commands on one run at the same instant may then lose one note.
func lockFile(f *os.File) error { return nil }

func unlockFile(f *os.File) {}
