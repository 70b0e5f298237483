package runfmt

import "time"

// Seconds returns t as records hold times: unix seconds, with their
// fraction.
func Seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
