// Package timing holds what every benchmark of runlog-bench times with:
// the median of repeated runs, since the machines they run on are shared
// and noisy.
package timing

import (
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
