package cli

import (
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/runfmt"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// width returns the width of the terminal w, or 100 when w is not one.
func width(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 20 {
			return c
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 20 {
		return c
	}
	return 100
}

var statusColor = map[string]string{
	runfmt.StatusRunning:  "\x1b[33m",
	runfmt.StatusFinished: "\x1b[32m",
	runfmt.StatusFailed:   "\x1b[31m",
	runfmt.StatusKilled:   "\x1b[35m",
	runfmt.StatusCrashed:  "\x1b[1;31m",
	runfmt.StatusStopped:  "\x1b[36m", // ended early on purpose: not a failure
}

// paint wraps s in the color of status when color is on.
func paint(s, status string, color bool) string {
	if c, ok := statusColor[status]; ok && color {
		return c + s + "\x1b[0m"
	}
	return s
}

// duration formats seconds for people; see display.Duration.
func duration(sec float64) string { return display.Duration(sec) }

// num formats a metric value for people; see display.Number.
func num(v float64) string { return display.Number(v) }

// when formats a unix time for tables: the date and time in the local zone.
func when(t float64) string {
	if t <= 0 {
		return "-"
	}
	return time.Unix(int64(t), 0).Local().Format("2006-01-02 15:04")
}

var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values as a line of block characters, one per bucket of
// consecutive values; each bucket shows its mean, and a bucket holding NaN
// or infinite values shows '!'.
func sparkline(values []float64, n int) string {
	if len(values) == 0 || n <= 0 {
		return ""
	}
	n = min(n, len(values))
	means := make([]float64, n)
	bad := make([]bool, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	for b := range n {
		from, to := b*len(values)/n, (b+1)*len(values)/n
		sum, cnt := 0.0, 0
		for _, v := range values[from:to] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bad[b] = true
				continue
			}
			sum += v
			cnt++
		}
		if cnt == 0 {
			means[b] = math.NaN()
			continue
		}
		means[b] = sum / float64(cnt)
		lo, hi = math.Min(lo, means[b]), math.Max(hi, means[b])
	}
	var sb strings.Builder
	for b, m := range means {
		switch {
		case bad[b]:
			sb.WriteRune('!')
		case math.IsNaN(m):
			sb.WriteRune(' ')
		case hi == lo:
			sb.WriteRune(sparkBlocks[len(sparkBlocks)/2])
		default:
			i := int((m - lo) / (hi - lo) * float64(len(sparkBlocks)-1))
			sb.WriteRune(sparkBlocks[i])
		}
	}
	return sb.String()
}
