//go:build !unix

package runner

import "time"

// foregroundTerminal reports false where process groups cannot be asked
// about: a Ctrl-C that reached the runner is then passed on.
func foregroundTerminal() bool { return false }

// selfCPU returns 0 where the runner cannot measure its own CPU time.
func selfCPU() time.Duration { return 0 }
