package chart

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// Groups are runs drawn as groups: one line per group, the mean of its
// runs, with a band around it.
type Groups struct {
	Labels  []string // by group
	Members [][]int  // indices of the runs of each group
	// MinMax draws the band from the minimum to the maximum of the runs
	// rather than ±1 standard deviation.
	MinMax bool
}

// GroupCurves returns the figure of opt.Keys (by default the losses) of
// runs in groups: per group and key its mean over the runs, aligned by
// step or interpolated on the time axes, on a grid as fine as the panel is
// wide, in a band of ±1 std (or min–max), a colour per group. Keys whose
// values are ten times apart are drawn in panels of their own, a row
// each. Each run's series is read and decoded once; runs whose value is
// NaN or infinite are left out of the mean and counted in the legend.
func GroupCurves(ctx context.Context, st store.Store, runs []store.Run, g Groups, opt Options) (*Figure, error) {
	axes, err := opt.Axes()
	if err != nil {
		return nil, err
	}
	keys, err := opt.curveKeys(ctx, st, runs)
	if err != nil {
		return nil, err
	}
	fig := &Figure{YLabel: yLabel(keys), LogY: opt.LogY, Smooth: opt.Smooth, Width: opt.Width, Height: opt.Height, Unit: "groups"}
	for _, a := range axes {
		fig.Panels = append(fig.Panels, Panel{Axis: a})
	}
	w, _ := fig.size()
	n := buckets(w, len(axes))
	bands, err := aggregate(ctx, st, runs, g, keys, axes, n, opt.Smooth)
	if err != nil {
		return nil, err
	}
	// The keys some run has, in the order asked, clustered by magnitude.
	var have []string
	mag := map[string]float64{}
	for _, k := range keys {
		for gi := range g.Members {
			if b := bands[bandKey{gi, k, axes[0]}]; b != nil {
				for _, y := range b.Mean {
					if !math.IsNaN(y) && !math.IsInf(y, 0) {
						mag[k] = math.Max(mag[k], math.Abs(y))
					}
				}
				if !slices.Contains(have, k) {
					have = append(have, k)
				}
			}
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: the runs have no points of %s", ErrNoData, strings.Join(keys, ", "))
	}
	fig.Keys = have
	rows := clusterKeys(have, mag)
	fig.Panels = nil
	fig.Cols = len(axes)
	for _, row := range rows {
		for _, a := range axes {
			pn := Panel{Axis: a}
			if len(rows) > 1 {
				pn.YLabel = yLabel(row)
			}
			for _, k := range row {
				for gi := range g.Members {
					b := bands[bandKey{gi, k, a}]
					if b == nil {
						continue
					}
					c := Curve{Run: gi, Key: k, Axis: a, Raw: Line{X: b.X, Y: b.Mean}, Points: len(b.X),
						Lo: make([]float64, len(b.X)), Hi: make([]float64, len(b.X))}
					for i := range b.X {
						c.Lo[i], c.Hi[i] = b.Lo(i, g.MinMax), b.Hi(i, g.MinMax)
					}
					pn.Curves = append(pn.Curves, c)
				}
			}
			fig.Panels = append(fig.Panels, pn)
		}
	}
	if opt.Height == 0 && len(rows) > 1 {
		fig.Height = DefaultHeight * len(rows) * 3 / 4
	}
	fig.Runs = make([]string, len(g.Labels))
	for gi, label := range g.Labels {
		diverged := 0
		for _, k := range have {
			if b := bands[bandKey{gi, k, axes[0]}]; b != nil {
				diverged = max(diverged, b.Diverged)
			}
		}
		fig.Runs[gi] = fmt.Sprintf("%s (n=%d)", truncate(label, maxLegendName), len(g.Members[gi]))
		if diverged > 0 {
			fig.Runs[gi] = fmt.Sprintf("%s (n=%d, %d diverged: not in the mean)", truncate(label, maxLegendName), len(g.Members[gi]), diverged)
		}
	}
	spread := "band: ±1 std"
	if g.MinMax {
		spread = "band: min–max"
	}
	fig.Title = "Mean of each group's runs; " + spread
	return fig, nil
}

// clusterKeys puts keys into rows whose magnitudes are less than ten times
// apart, in the order given.
func clusterKeys(keys []string, mag map[string]float64) [][]string {
	var rows [][]string
	for _, k := range keys {
		placed := false
		for i, row := range rows {
			a, b := mag[row[0]], mag[k]
			if a == b || a > 0 && b > 0 && math.Max(a, b)/math.Min(a, b) < 10 {
				rows[i] = append(rows[i], k)
				placed = true
				break
			}
		}
		if !placed {
			rows = append(rows, []string{k})
		}
	}
	return rows
}

type bandKey struct {
	group int
	key   string
	axis  series.Axis
}

// aggregate reads every run's keys once, in parallel, and adds them to
// their group's band for each axis, on a grid of n x spanning what the
// group's runs logged (from the store's statistics, before any point is
// read).
func aggregate(ctx context.Context, st store.Store, runs []store.Run, g Groups, keys []string, axes []series.Axis, n int, smooth float64) (map[bandKey]*series.Band, error) {
	groupOf := make([]int, len(runs))
	for i := range groupOf {
		groupOf[i] = -1
	}
	for gi, ms := range g.Members {
		for _, m := range ms {
			groupOf[m] = gi
		}
	}
	type prep struct {
		startMs int64
		segs    []series.Segment
		has     map[string]store.Series
	}
	preps := make([]prep, len(runs))
	type span struct{ lo, hi float64 }
	spans := map[bandKey]*span{}
	for i, r := range runs {
		if groupOf[i] < 0 {
			continue
		}
		ss, err := st.Series(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("run %s series: %w", r.ID, err)
		}
		p := prep{startMs: int64(math.Round(r.Start * 1000)), has: map[string]store.Series{}}
		for _, s := range ss {
			if s.Stats.Count > 0 && slices.Contains(keys, s.Key) {
				p.has[s.Key] = s
			}
		}
		if slices.Contains(axes, series.AxisActive) {
			if p.segs, err = summary.Segments(ctx, st, r.ID); err != nil {
				return nil, fmt.Errorf("run %s segments: %w", r.ID, err)
			}
		}
		for k, s := range p.has {
			if p.startMs == 0 {
				p.startMs = min(s.Stats.First.Time, s.Stats.Last.Time)
			}
			ends := series.Points{Steps: []int64{s.Stats.First.Step, s.Stats.Last.Step}, Times: []int64{s.Stats.First.Time, s.Stats.Last.Time}, Values: []float64{0, 0}}
			for _, a := range axes {
				x := series.X(ends, a, p.startMs, p.segs)
				lo, hi := math.Min(x[0], x[1]), math.Max(x[0], x[1])
				bk := bandKey{groupOf[i], k, a}
				if sp := spans[bk]; sp == nil {
					spans[bk] = &span{lo, hi}
				} else {
					sp.lo, sp.hi = math.Min(sp.lo, lo), math.Max(sp.hi, hi)
				}
			}
		}
		preps[i] = p
	}
	aggs := map[bandKey]*series.Aggregator{}
	locks := map[bandKey]*sync.Mutex{}
	for bk, sp := range spans {
		aggs[bk] = series.NewAggregator(series.FixedGrid(sp.lo, sp.hi, n))
		locks[bk] = &sync.Mutex{}
	}
	errs := make([]error, len(runs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(len(runs), runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs[i] = addRun(ctx, st, runs[i], preps[i].startMs, preps[i].segs, keys, axes, smooth, func(k string, a series.Axis, xs, ys []float64) {
					bk := bandKey{groupOf[i], k, a}
					if agg := aggs[bk]; agg != nil {
						locks[bk].Lock()
						agg.Add(xs, ys)
						locks[bk].Unlock()
					}
				}, preps[i].has)
			}
		}()
	}
	for i := range runs {
		if groupOf[i] >= 0 {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[bandKey]*series.Band, len(aggs))
	for bk, agg := range aggs {
		b := agg.Band()
		out[bk] = &b
	}
	return out, nil
}

// addRun reads the keys of one run and hands each on every axis, x
// ascending and smoothed when asked, to add.
func addRun(ctx context.Context, st store.Store, r store.Run, startMs int64, segs []series.Segment, keys []string, axes []series.Axis,
	smooth float64, add func(key string, a series.Axis, xs, ys []float64), has map[string]store.Series) error {
	for _, k := range keys {
		if _, ok := has[k]; !ok {
			continue
		}
		pts, err := st.Points(ctx, r.ID, k, store.PointsOptions{})
		if errors.Is(err, store.ErrNotFound) || err == nil && pts.Len() == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("run %s series %q: %w", r.ID, k, err)
		}
		for _, a := range axes {
			xs := series.X(pts, a, startMs, segs)
			ys := pts.Values
			if !slices.IsSorted(xs) {
				c := curve(xs, ys, pts.Steps, a, Request{})
				xs, ys = c.Raw.X, c.Raw.Y
			}
			if smooth > 0 && smooth < 1 && len(xs) >= MinSmoothPoints {
				ys = series.EMA(xs, ys, smooth, a != series.AxisStep)
			}
			add(k, a, xs, ys)
		}
	}
	return nil
}
