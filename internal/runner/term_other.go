//go:build !unix

package runner

// foregroundTerminal reports false where process groups cannot be asked
// about: a Ctrl-C that reached the runner is then passed on.
func foregroundTerminal() bool { return false }
