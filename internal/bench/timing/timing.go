// Package timing holds what every benchmark of runlog-bench times with:
// the median of repeated runs, since the machines they run on are shared
// and noisy.
package timing

import (
	"fmt"
	"slices"
	"time"
)

// Median returns the median of ds, which it leaves as they are; ds must
// not be empty.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Repeat runs fn n times (at least once) and returns the median of the
// durations it reports.
func Repeat(n int, fn func() (time.Duration, error)) (time.Duration, error) {
	ds := make([]time.Duration, 0, max(1, n))
	for range max(1, n) {
		d, err := fn()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	return Median(ds), nil
}

// Time runs fn n times (at least once) and returns the median of how long
// it took.
func Time(n int, fn func() error) (time.Duration, error) {
	return Repeat(n, func() (time.Duration, error) { return Timed(fn) })
}

// Timed runs fn once and returns how long it took.
func Timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// Count writes a count as the tables do: 10 M, 1.5 M, 20 k, 2.5 k, 999.
func Count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%d M", n/1_000_000)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f M", float64(n)/1e6)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%d k", n/1000)
	case n >= 1000:
		return fmt.Sprintf("%.1f k", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// Short writes a duration as the tables do: seconds from a second up,
// whole milliseconds from 10 ms, else milliseconds to a tenth.
func Short(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// Millis writes a duration in milliseconds to a tenth.
func Millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
