//go:build unix

package server

import (
	"errors"
	"syscall"
)

// noSpace reports whether err is the system's "no space left on device"
// or "disk quota exceeded".
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
