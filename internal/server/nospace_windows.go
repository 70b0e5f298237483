//go:build windows

package server

import (
	"errors"
	"syscall"
)

// Windows' error numbers for a full disk (winerror.h).
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
	errorDiskQuota      syscall.Errno = 1295
)

// noSpace reports whether err is the system's "disk full" or "quota
// exceeded".
func noSpace(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull) || errors.Is(err, errorDiskQuota)
}
