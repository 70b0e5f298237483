//go:build unix

package server

import "syscall"

// The errors of a full disk and of an exceeded quota.
const (
	fullDiskErrno = syscall.ENOSPC
	quotaErrno    = syscall.EDQUOT
)
