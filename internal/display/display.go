// Package display formats numbers and durations for people: in tables,
// terminal output and generated Markdown, the same way everywhere.
package display

import (
	"fmt"
	"math"
	"strconv"
)

// Duration formats seconds the way people read run times: 12.5s, 3m04s,
// 2h05m, 3d04h; "-" for a negative or unknown duration.
func Duration(sec float64) string {
	switch {
	case math.IsNaN(sec) || sec < 0:
		return "-"
	case sec < 60:
		return strconv.FormatFloat(math.Round(sec*10)/10, 'f', -1, 64) + "s"
	case sec < 3600:
		s := int(math.Round(sec))
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case sec < 86400:
		m := int(math.Round(sec / 60))
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	}
	h := int(math.Round(sec / 3600))
	return fmt.Sprintf("%dd%02dh", h/24, h%24)
}

// Number formats a metric value compactly, with 5 significant digits, and
// NaN, +Inf and -Inf spelled out.
func Number(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 5, 64)
}

// Bytes shows a number of bytes for people: 512 bytes, 3.2 KiB, 1.5 MiB,
// 2.0 GiB.
func Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
