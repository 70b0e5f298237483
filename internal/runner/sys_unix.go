//go:build unix

package runner

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// foregroundTerminal reports whether the runner runs in the foreground of a
// terminal, whose Ctrl-C then reaches every process of its group — the
// program too.
func foregroundTerminal() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// selfCPU returns the CPU time the runner itself has used, without the
// programs it started.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
