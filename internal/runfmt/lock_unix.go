//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package runfmt

import (
	"os"
	"syscall"
)

// LockFile waits for an exclusive flock(2) on f and returns the function
// that releases it. The lock belongs to f's open file: closing f releases
// it too.
func LockFile(f *os.File) (unlock func(), err error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
		}
		if err != syscall.EINTR {
			return nil, err
		}
	}
}
