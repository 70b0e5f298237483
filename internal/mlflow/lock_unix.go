//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mlflow

import (
	"os"
	"syscall"
)

// lockFile waits for an exclusive lock on f, released by the returned
// function.
func lockFile(f *os.File) (func(), error) {
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
