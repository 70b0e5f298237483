package series

import (
	"math"
	"slices"
)

// This file aggregates the curves of a group of runs (a sweep's seeds, the
// runs sharing a learning rate) into one: on a common grid of x, the mean
// of the members with a band around it (±1 standard deviation, or the
// minimum and maximum), and at every x how many members were counted and
// how many had diverged there. A member that became NaN or infinite is
// never averaged in: it is counted apart, so that a group whose mean looks
// fine says that one of its three runs blew up.

// Band is the aggregate of a group's curves on a grid of x.
type Band struct {
	X    []float64
	Mean []float64 // NaN where no member has a finite value
	// Std is the sample standard deviation (n-1 in the denominator) of
	// the members' finite values; 0 where one member counts.
	Std      []float64
	Min, Max []float64
	N        []int // members with a finite value at X[i]
	NaN      []int // members whose value at X[i] is NaN or infinite
	// Members is the number of curves aggregated; Diverged those of them
	// with any NaN or infinite value.
	Members, Diverged int
}

// Lo and Hi return the band's edges at i: mean ± std, or the minimum and
// maximum with minmax.
func (b *Band) Lo(i int, minmax bool) float64 {
	if minmax {
		return b.Min[i]
	}
	return b.Mean[i] - b.Std[i]
}

// Hi returns the band's upper edge at i; see Lo.
func (b *Band) Hi(i int, minmax bool) float64 {
	if minmax {
		return b.Max[i]
	}
	return b.Mean[i] + b.Std[i]
}

// GridOf returns the union of the x of curves, ascending and without
// repeats: aligning by step on it loses no logged point. Curves whose x
// ascend, as curves do, are merged (a sweep's members mostly share their
// steps, so the union stays as long as one of them); others are sorted.
func GridOf(xs ...[]float64) []float64 {
	var out []float64
	for _, x := range xs {
		if !slices.IsSorted(x) {
			x = slices.Sorted(slices.Values(x))
		}
		if slices.Equal(out, x) { // the steps of the members before: nothing new
			continue
		}
		out = mergeUnion(out, x)
	}
	if out == nil {
		out = []float64{}
	}
	return out
}

// mergeUnion returns the ascending x in a or b (both ascending), each once.
func mergeUnion(a, b []float64) []float64 {
	out := make([]float64, 0, max(len(a), len(b)))
	i, j := 0, 0
	push := func(v float64) {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			push(a[i])
			i++
		case b[j] < a[i]:
			push(b[j])
			j++
		default:
			push(a[i])
			i++
			j++
		}
	}
	for ; i < len(a); i++ {
		push(a[i])
	}
	for ; j < len(b); j++ {
		push(b[j])
	}
	return out
}

// FixedGrid returns n evenly spaced x from lo to hi, both included: the
// grid of a chart n pixels wide, so that aggregating costs the same
// whatever the number of points.
func FixedGrid(lo, hi float64, n int) []float64 {
	if n < 2 || !(hi > lo) {
		return []float64{lo}
	}
	out := make([]float64, n)
	step := (hi - lo) / float64(n-1)
	for i := range out {
		out[i] = lo + step*float64(i)
	}
	out[n-1] = hi
	return out
}

// Align returns a curve's values at each x of grid (both ascending),
// interpolated linearly between the points around it as Interp does, NaN
// outside the curve's x range, in one pass over both. A value next to a NaN
// or infinite point is NaN or infinite: a divergence is not interpolated
// away. out is reused when it is long enough.
func Align(xs, ys, grid, out []float64) []float64 {
	if cap(out) < len(grid) {
		out = make([]float64, len(grid))
	}
	out = out[:len(grid)]
	n := len(xs)
	j := 0 // first xs[j] >= x
	for i, x := range grid {
		if n == 0 || x < xs[0] || x > xs[n-1] || math.IsNaN(x) {
			out[i] = math.NaN()
			continue
		}
		for j < n && xs[j] < x {
			j++
		}
		if xs[j] == x || j == 0 {
			k := j
			for k+1 < n && xs[k+1] == x { // the last point logged at x
				k++
			}
			out[i] = ys[k]
			continue
		}
		x0, x1, y0, y1 := xs[j-1], xs[j], ys[j-1], ys[j]
		switch {
		case !finite(y0):
			out[i] = y0
		case !finite(y1):
			out[i] = y1
		default:
			out[i] = y0 + (y1-y0)*(x-x0)/(x1-x0)
		}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Aggregator accumulates curves aligned on one grid, one member at a
// time, so that a group of many long runs needs only one member's points
// and the grid's sums in memory at once.
type Aggregator struct {
	grid               []float64
	n, nan             []int
	mean, m2, min, max []float64 // Welford's running mean and sum of squared deviations
	buf                []float64
	members, diverged  int
}

// NewAggregator returns an aggregator on grid (ascending).
func NewAggregator(grid []float64) *Aggregator {
	g := len(grid)
	a := &Aggregator{grid: grid, n: make([]int, g), nan: make([]int, g), mean: make([]float64, g),
		m2: make([]float64, g), min: make([]float64, g), max: make([]float64, g)}
	for i := range grid {
		a.min[i], a.max[i] = math.Inf(1), math.Inf(-1)
	}
	return a
}

// Add aligns one member's curve (xs ascending) on the grid and adds it.
// Where the grid lies outside the member's x range the member is absent;
// inside it, a NaN or infinite value counts as diverged, not in the mean.
func (a *Aggregator) Add(xs, ys []float64) {
	a.members++
	if slices.ContainsFunc(ys, func(v float64) bool { return !finite(v) }) {
		a.diverged++
	}
	if len(xs) == 0 {
		return
	}
	a.buf = Align(xs, ys, a.grid, a.buf)
	lo, hi := xs[0], xs[len(xs)-1]
	for i, y := range a.buf {
		if x := a.grid[i]; x < lo || x > hi {
			continue
		}
		if !finite(y) {
			a.nan[i]++
			continue
		}
		a.n[i]++
		d := y - a.mean[i]
		a.mean[i] += d / float64(a.n[i])
		a.m2[i] += d * (y - a.mean[i])
		a.min[i] = math.Min(a.min[i], y)
		a.max[i] = math.Max(a.max[i], y)
	}
}

// Band returns the aggregate of the members added so far.
func (a *Aggregator) Band() Band {
	g := len(a.grid)
	b := Band{X: a.grid, Mean: make([]float64, g), Std: make([]float64, g), Min: make([]float64, g), Max: make([]float64, g),
		N: slices.Clone(a.n), NaN: slices.Clone(a.nan), Members: a.members, Diverged: a.diverged}
	for i := range a.grid {
		switch n := a.n[i]; n {
		case 0:
			b.Mean[i], b.Std[i], b.Min[i], b.Max[i] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		default:
			b.Mean[i], b.Min[i], b.Max[i] = a.mean[i], a.min[i], a.max[i]
			if n > 1 {
				b.Std[i] = math.Sqrt(a.m2[i] / float64(n-1))
			}
		}
	}
	return b
}

// Summary is what Summarize finds in a handful of values: the mean, the sample standard deviation
// and the extremes of the finite ones, and how many were not finite.
type Summary struct {
	N        int // finite values
	NaN      int // NaN or infinite values
	Mean     float64
	Std      float64 // 0 for one value
	Min, Max float64
}

// Summarize returns the summary of vs.
func Summarize(vs []float64) Summary {
	s := Summary{Mean: math.NaN(), Std: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	var mean, m2 float64
	for _, v := range vs {
		if !finite(v) {
			s.NaN++
			continue
		}
		s.N++
		d := v - mean
		mean += d / float64(s.N)
		m2 += d * (v - mean)
		if s.N == 1 || v < s.Min {
			s.Min = v
		}
		if s.N == 1 || v > s.Max {
			s.Max = v
		}
	}
	if s.N > 0 {
		s.Mean, s.Std = mean, 0
	}
	if s.N > 1 {
		s.Std = math.Sqrt(m2 / float64(s.N-1))
	}
	return s
}

// Decimate returns the band at most about 4·buckets points of its grid,
// chosen by M4 on the mean (Downsample): every array keeps the same x, so
// that the band drawn from the result is the band of those x. X must be
// strictly ascending, as GridOf and FixedGrid make it; a band small
// enough is returned as it is.
func (b *Band) Decimate(buckets int) Band {
	ox, _ := Downsample(b.X, b.Mean, buckets)
	if len(ox) == len(b.X) {
		return *b
	}
	out := Band{X: ox, Mean: make([]float64, len(ox)), Std: make([]float64, len(ox)), Min: make([]float64, len(ox)),
		Max: make([]float64, len(ox)), N: make([]int, len(ox)), NaN: make([]int, len(ox)), Members: b.Members, Diverged: b.Diverged}
	j := 0
	for i, x := range ox {
		for j < len(b.X)-1 && b.X[j] < x {
			j++
		}
		out.Mean[i], out.Std[i], out.Min[i], out.Max[i], out.N[i], out.NaN[i] = b.Mean[j], b.Std[j], b.Min[j], b.Max[j], b.N[j], b.NaN[j]
	}
	return out
}
