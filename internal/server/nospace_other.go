//go:build !unix && !windows

package server

// noSpace reports whether err is the system's "no space left on device":
// on this system the server cannot tell.
func noSpace(error) bool { return false }
