//go:build unix

package manykeysbench

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSS returns the peak resident set size of an exited child in bytes,
// from its rusage: ru_maxrss is in KiB on Linux and the BSDs, in bytes on
// macOS.
func maxRSS(ps *os.ProcessState) (int64, bool) {
	if ps == nil {
		return 0, false
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss), true
	}
	return int64(ru.Maxrss) << 10, true
}
