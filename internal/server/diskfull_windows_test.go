//go:build windows

package server

// The errors of a full disk and of an exceeded quota.
const (
	fullDiskErrno = errorDiskFull
	quotaErrno    = errorDiskQuota
)
