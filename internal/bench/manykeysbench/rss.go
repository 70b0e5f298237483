package manykeysbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// vmHWM returns a process's peak resident set size in bytes, from VmHWM
// in /proc/<pid>/status; false where there is no /proc (not Linux) or the
// process is gone.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kib, err := strconv.ParseInt(string(f[1]), 10, 64)
			return kib << 10, err == nil
		}
	}
	return 0, false
}

func rssString(bytes int64) string {
	if bytes <= 0 {
		return "n/a"
	}
	return mb(bytes)
}
