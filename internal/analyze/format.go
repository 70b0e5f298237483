package analyze

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/display"
)

// num formats a metric value for people; see display.Number.
func num(v float64) string { return display.Number(v) }

// duration formats seconds for people; see display.Duration.
func duration(sec float64) string { return display.Duration(sec) }

// rate formats a throughput with thousands separators: 12,034.
func rate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v < 100 {
		return num(v)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// speedup describes how much faster a run got somewhere than the baseline,
// given the baseline's cost over the run's: "2.3× faster", "1.5× slower".
func speedup(ratio float64) string {
	switch {
	case math.IsNaN(ratio) || ratio <= 0:
		return "-"
	case math.IsInf(ratio, 1):
		return "∞× faster"
	case math.Abs(ratio-1) < 0.05:
		return "same"
	case ratio > 1:
		return strconv.FormatFloat(ratio, 'f', 1, 64) + "× faster"
	}
	return strconv.FormatFloat(1/ratio, 'f', 1, 64) + "× slower"
}

// stepsPhrase describes a ratio of steps to a target, the baseline's over
// a run's: "same steps", "1.5× fewer steps".
func stepsPhrase(ratio float64) string {
	switch {
	case math.IsNaN(ratio) || ratio <= 0:
		return ""
	case math.IsInf(ratio, 1):
		return "no steps"
	case math.Abs(ratio-1) < 0.05:
		return "same steps"
	case ratio > 1:
		return strconv.FormatFloat(ratio, 'f', 1, 64) + "× fewer steps"
	}
	return strconv.FormatFloat(1/ratio, 'f', 1, 64) + "× more steps"
}

// versus describes a run's speed to a target against the baseline's: "2.3×
// faster (same steps)", and by active time too when that differs — a run
// that lay dead for a while is slow by the clock, not by its work.
func (r Reach) versus() string {
	head, detail := r.versusParts()
	return head + detail
}

// versusParts splits versus into the speed-up by wallclock time and the
// details in parentheses, with a leading space.
func (r Reach) versusParts() (head, detail string) {
	head = speedup(r.SpeedupWallclock)
	var more []string
	if a := speedup(r.SpeedupActive); a != head && math.Abs(r.SpeedupActive/r.SpeedupWallclock-1) > 0.05 {
		more = append(more, "active time "+a)
	}
	if p := stepsPhrase(r.SpeedupSteps); p != "" {
		more = append(more, p)
	}
	if len(more) > 0 {
		detail = " (" + strings.Join(more, ", ") + ")"
	}
	return head, detail
}

// ParseDuration reads a wallclock time for --at-time: a Go duration (90s,
// 30m, 1h30m) or a number of seconds.
func ParseDuration(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
		return v, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid time %q: use a duration such as 90s, 30m or 1h30m, or seconds", s)
	}
	return d.Seconds(), nil
}

// date formats a unix time as a UTC date and time.
func date(t float64) string {
	if t <= 0 {
		return "-"
	}
	return time.Unix(int64(t), 0).UTC().Format("2006-01-02 15:04 UTC")
}

// day formats a unix time as a UTC date.
func day(t float64) string {
	if t <= 0 {
		return "-"
	}
	return time.Unix(int64(t), 0).UTC().Format("2006-01-02")
}
