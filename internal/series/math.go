package series

import (
	"math"
	"slices"
	"sort"
)

// This file holds the series math every view shares — the CLI, chart files,
// comparisons and the web UI — so that a curve is drawn, smoothed and
// compared the same way everywhere.

// Axis names an x-axis of a chart.
type Axis string

// The x-axes views offer.
const (
	AxisStep      Axis = "step"      // the gradient step
	AxisWallclock Axis = "wallclock" // seconds since the run first started, gaps included
	AxisActive    Axis = "active"    // seconds the run's processes were running
	AxisTime      Axis = "time"      // unix seconds, for date axes
)

// ParseAxis returns the axis named s.
func ParseAxis(s string) (Axis, bool) {
	switch a := Axis(s); a {
	case AxisStep, AxisWallclock, AxisActive, AxisTime:
		return a, true
	}
	return "", false
}

// Segment is a stretch of time, in unix milliseconds, in which a process
// of a run was running.
type Segment struct {
	Start, Last int64
}

// X returns the x coordinate of every point of p on axis, for a run that
// first started at startMs and ran in segs (oldest first; none means one
// segment from startMs on).
func X(p Points, axis Axis, startMs int64, segs []Segment) []float64 {
	x := make([]float64, p.Len())
	switch axis {
	case AxisWallclock:
		for i, t := range p.Times {
			x[i] = float64(t-startMs) / 1000
		}
	case AxisActive:
		for i, t := range p.Times {
			x[i] = ActiveAt(t, startMs, segs)
		}
	case AxisTime:
		for i, t := range p.Times {
			x[i] = float64(t) / 1000
		}
	default:
		for i, s := range p.Steps {
			x[i] = float64(s)
		}
	}
	return x
}

// ActiveAt returns the seconds of activity of a run at time t (unix ms):
// the lengths of the segments before the one t falls in, plus the time
// since that segment started.
func ActiveAt(t, startMs int64, segs []Segment) float64 {
	if len(segs) == 0 {
		return float64(t-startMs) / 1000
	}
	var done int64
	for i, s := range segs {
		if i+1 < len(segs) && t >= segs[i+1].Start {
			done += s.Last - s.Start
			continue
		}
		return float64(done+max(0, t-s.Start)) / 1000
	}
	return float64(done) / 1000
}

// Downsample reduces a curve with ascending x to at most about 4·buckets
// points for drawing, keeping in each of buckets equal slices of the x
// range the first, the lowest, the highest and the last point (the M4
// method): a chart drawn from the result looks the same as one drawn from
// every point, and a spike of a single step never disappears. A non-finite
// value is kept as the first one of its bucket. Curves that are small
// enough are returned as they are.
func Downsample(xs, ys []float64, buckets int) (ox, oy []float64) {
	n := len(xs)
	if buckets < 1 || n <= 4*buckets {
		return xs, ys
	}
	lo, hi := xs[0], xs[n-1]
	width := (hi - lo) / float64(buckets)
	if !(width > 0) { // all at one x
		return downsampleByIndex(xs, ys, buckets)
	}
	ox = make([]float64, 0, 4*buckets+8)
	oy = make([]float64, 0, 4*buckets+8)
	for i := 0; i < n; {
		b := math.Floor((xs[i] - lo) / width)
		j := n // the last bucket takes the rest
		if b < float64(buckets-1) {
			j = i + sort.SearchFloat64s(xs[i:], lo+(b+1)*width)
		}
		if j == i { // rounding left xs[i] at the edge
			j++
		}
		ox, oy = appendBucket(ox, oy, xs[i:j], ys[i:j])
		i = j
	}
	return ox, oy
}

// downsampleByIndex buckets by index when x does not vary.
func downsampleByIndex(xs, ys []float64, buckets int) (ox, oy []float64) {
	n := len(xs)
	for b := range buckets {
		i, j := b*n/buckets, (b+1)*n/buckets
		if i < j {
			ox, oy = appendBucket(ox, oy, xs[i:j], ys[i:j])
		}
	}
	return ox, oy
}

// appendBucket appends the first, min, max and last point of a bucket, in x
// order and without repeats, and its first non-finite point.
func appendBucket(ox, oy, xs, ys []float64) ([]float64, []float64) {
	idx := bucketKeeps(ys)
	slices.Sort(idx[:])
	prev := -1
	for _, i := range idx {
		if i < 0 || i == prev {
			continue
		}
		ox, oy = append(ox, xs[i]), append(oy, ys[i])
		prev = i
	}
	return ox, oy
}

// EMA smooths a curve with an exponential moving average whose weight
// alpha (0 ≤ alpha < 1; 0 is no smoothing, 0.99 heavy) is that of
// TensorBoard's smoothing slider, debiased at the start so that the curve
// does not begin near zero. With timeWeighted, each point's weight decays
// with its distance in x from the previous one relative to the mean
// spacing, so uneven logging (or a time axis with a pause) does not skew
// the curve, as W&B does. Non-finite values are passed through and do not
// enter the average.
func EMA(xs, ys []float64, alpha float64, timeWeighted bool) []float64 {
	out := make([]float64, len(ys))
	if alpha <= 0 || alpha >= 1 || len(ys) == 0 {
		copy(out, ys)
		return out
	}
	spacing := 1.0
	if timeWeighted && len(xs) > 1 && xs[len(xs)-1] > xs[0] {
		spacing = (xs[len(xs)-1] - xs[0]) / float64(len(xs)-1)
	}
	var acc, weight float64 // weight: total weight of the terms in acc, for debiasing
	prevX := math.NaN()
	logAlpha := math.Log(alpha) / spacing // alpha^(dx/spacing) = exp(dx·logAlpha)
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			out[i] = y
			continue
		}
		a := alpha
		if timeWeighted && !math.IsNaN(prevX) {
			a = math.Exp(max(0, xs[i]-prevX) * logAlpha)
		}
		acc = a*acc + (1-a)*y
		weight = a*weight + (1 - a)
		out[i] = acc / weight
		if timeWeighted {
			prevX = xs[i]
		}
	}
	return out
}

// RunningMean smooths a curve with the mean of each point and the window-1
// finite points before it.
func RunningMean(ys []float64, window int) []float64 {
	out := make([]float64, len(ys))
	if window <= 1 {
		copy(out, ys)
		return out
	}
	var sum float64
	var buf []float64
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			out[i] = y
			continue
		}
		buf = append(buf, y)
		sum += y
		if len(buf) > window {
			sum -= buf[0]
			buf = buf[1:]
		}
		out[i] = sum / float64(len(buf))
	}
	return out
}

// Interp returns the value of a curve with ascending x at x, interpolated
// linearly between the points around it; ok is false outside the curve's x
// range.
func Interp(xs, ys []float64, x float64) (y float64, ok bool) {
	n := len(xs)
	if n == 0 || x < xs[0] || x > xs[n-1] || math.IsNaN(x) {
		return math.NaN(), false
	}
	i := sort.SearchFloat64s(xs, x) // first xs[i] >= x
	if xs[i] == x || i == 0 {
		for i+1 < n && xs[i+1] == x { // the last point logged at x
			i++
		}
		return ys[i], true
	}
	x0, x1, y0, y1 := xs[i-1], xs[i], ys[i-1], ys[i]
	return y0 + (y1-y0)*(x-x0)/(x1-x0), true
}

// Resample returns the curve's values at each x of grid (see Interp), NaN
// outside its range: curves of several runs on one grid can be compared
// point by point.
func Resample(xs, ys, grid []float64) []float64 {
	out := make([]float64, len(grid))
	for i, x := range grid {
		out[i], _ = Interp(xs, ys, x)
	}
	return out
}

// FirstReach returns the index of the first point at which a curve reaches
// target: at or below it when lower is better, at or above it otherwise.
// ok is false when no point does.
func FirstReach(ys []float64, target float64, lowerIsBetter bool) (i int, ok bool) {
	for i, y := range ys {
		if lowerIsBetter && y <= target || !lowerIsBetter && y >= target {
			return i, true
		}
	}
	return -1, false
}
