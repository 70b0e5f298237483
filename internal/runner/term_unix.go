//go:build unix

package runner

import (
	"os"

	"golang.org/x/sys/unix"
)

// foregroundTerminal reports whether the runner runs in the foreground of a
// terminal, whose Ctrl-C then reaches every process of its group — the
// program too.
func foregroundTerminal() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
