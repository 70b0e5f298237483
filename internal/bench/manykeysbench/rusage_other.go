//go:build !unix

package manykeysbench

import "os"

// maxRSS is unknown here: the benchmark reports n/a.
func maxRSS(*os.ProcessState) (int64, bool) { return 0, false }
