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

// Line is a curve ready to draw: x ascending, a NaN or infinite y a gap.
type Line struct {
	X, Y []float64
}

// Len returns the number of points of l.
func (l Line) Len() int { return len(l.X) }

// Curve is one series of one run against one x-axis, downsampled for
// drawing. Superseded points are never part of it.
type Curve struct {
	Run      int // index of the run among those loaded
	Key      string
	Axis     series.Axis
	Raw      Line // the points, downsampled
	Smoothed Line // their EMA, downsampled; empty without smoothing
	Points   int  // points before downsampling
	// Lo and Hi are the edges of a group's band at Raw.X, drawn filled
	// behind Raw, its mean (GroupCurves); nil for a run's curve.
	Lo, Hi []float64
	// Diverged is the first point whose value is NaN or infinite; nil if
	// none is.
	Diverged *Divergence
	// Resumes are the x where the run resumed, on the wallclock and time
	// axes: the lines break there (a NaN point), rather than cross the
	// time the run lay dead, and charts mark them.
	Resumes []float64
}

// Divergence is where a curve first became NaN or infinite.
type Divergence struct {
	Step  int64
	X     float64 // on the curve's axis
	Value float64
}

// Request says which curves Load reads and how.
type Request struct {
	Keys []string
	Axes []series.Axis
	// Buckets is the number of downsampling buckets: the width in pixels
	// (or terminal dots) the curves are drawn at. Every curve is
	// downsampled to at most about 4·Buckets points (series.Downsample).
	Buckets int
	// Smooth is the EMA weight, 0 (none) to below 1, applied to every
	// point before downsampling, time-weighted on time axes. Curves of
	// fewer than MinSmoothPoints points are not smoothed.
	Smooth float64
}

// MinSmoothPoints is the fewest points a curve must have to be smoothed:
// smoothing a validation loss measured a dozen times hides more than it
// shows.
const MinSmoothPoints = 50

// Load reads the curves of runs that exist for req: by run, then key,
// then axis. Runs are read in parallel.
func Load(ctx context.Context, st store.Store, runs []store.Run, req Request) ([]Curve, error) {
	out := make([][]Curve, len(runs))
	errs := make([]error, len(runs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(len(runs), runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i], errs[i] = loadRun(ctx, st, i, runs[i], req)
			}
		}()
	}
	for i := range runs {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var curves []Curve
	for _, c := range out {
		curves = append(curves, c...)
	}
	return curves, nil
}

func loadRun(ctx context.Context, st store.Store, i int, r store.Run, req Request) ([]Curve, error) {
	var segs []series.Segment
	if len(req.Axes) > 1 || len(req.Axes) == 1 && req.Axes[0] != series.AxisStep {
		var err error
		if segs, err = summary.Segments(ctx, st, r.ID); err != nil {
			return nil, fmt.Errorf("run %s segments: %w", r.ID, err)
		}
	}
	startMs := int64(math.Round(r.Start * 1000))
	var curves []Curve
	for _, key := range req.Keys {
		pts, err := st.Points(ctx, r.ID, key, store.PointsOptions{})
		if errors.Is(err, store.ErrNotFound) || err == nil && pts.Len() == 0 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("run %s series %q: %w", r.ID, key, err)
		}
		if startMs == 0 { // a run without a header: start at its first point
			startMs = slices.Min(pts.Times)
		}
		for _, axis := range req.Axes {
			xs := series.X(pts, axis, startMs, segs)
			c := curve(xs, pts.Values, pts.Steps, axis, req)
			c.breakAtResumes(axis, startMs, segs)
			c.Run, c.Key = i, key
			curves = append(curves, c)
		}
	}
	return curves, nil
}

// curve builds the curve of points at xs on axis with values ys and
// steps.
func curve(xs, ys []float64, steps []int64, axis series.Axis, req Request) Curve {
	if !slices.IsSorted(xs) { // time going back: a clock change, or steps logged out of order
		idx := make([]int, len(xs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(xs[a], xs[b]) })
		sx, sy, ss := make([]float64, len(xs)), make([]float64, len(xs)), make([]int64, len(xs))
		for i, j := range idx {
			sx[i], sy[i], ss[i] = xs[j], ys[j], steps[j]
		}
		xs, ys, steps = sx, sy, ss
	}
	c := Curve{Axis: axis, Points: len(xs)}
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			c.Diverged = &Divergence{Step: steps[i], X: xs[i], Value: y}
			break
		}
	}
	c.Raw.X, c.Raw.Y = series.Downsample(xs, ys, req.Buckets)
	if req.Smooth > 0 && req.Smooth < 1 && len(xs) >= MinSmoothPoints {
		sm := series.EMA(xs, ys, req.Smooth, axis != series.AxisStep)
		c.Smoothed.X, c.Smoothed.Y = series.Downsample(xs, sm, req.Buckets)
	}
	return c
}

// breakAtResumes breaks a curve on the wallclock and time axes where the
// run resumed: a NaN point between the last point of one process segment
// and the first of the next, so that no line crosses the time the run lay
// dead. Active time leaves that time out, and steps know nothing of it.
func (c *Curve) breakAtResumes(axis series.Axis, startMs int64, segs []series.Segment) {
	if c.Resumes = series.ResumeXs(axis, startMs, segs); c.Resumes == nil {
		return
	}
	c.Raw = gapsAt(c.Raw, c.Resumes)
	c.Smoothed = gapsAt(c.Smoothed, c.Resumes)
}

// gapsAt returns l with a NaN point at each x of at that has points of l
// on both sides.
func gapsAt(l Line, at []float64) Line {
	if l.Len() == 0 {
		return l
	}
	var out Line
	j := 0
	for i, x := range l.X {
		for j < len(at) && at[j] <= x {
			if i > 0 && at[j] > l.X[i-1] {
				out.X, out.Y = append(out.X, at[j]), append(out.Y, math.NaN())
			}
			j++
		}
		out.X, out.Y = append(out.X, x), append(out.Y, l.Y[i])
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Key preferences: the first of each group a run has is its main series.
var (
	trainKeys = []string{"train_loss", "train/loss", "loss", "training_loss", "train/train_loss"}
	valKeys   = []string{"val_loss", "val/loss", "eval_loss", "eval/loss", "valid_loss", "validation_loss",
		"valid/loss", "validation/loss", "test_loss", "test/loss"}
	lrKeys = []string{"learning_rate", "lr", "train/lr", "train/learning_rate", "optim/lr", "lr-Adam", "lr-AdamW"}
)

// LossKeys returns the main series of runs: the first train-loss key and
// the first validation-loss key any of them has (train_loss, val_loss and
// their usual spellings), else every key that names a loss.
func LossKeys(ctx context.Context, st store.Store, runs []store.Run) ([]string, error) {
	have, err := keysOf(ctx, st, runs)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, group := range [][]string{trainKeys, valKeys} {
		if k := firstIn(group, have); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		return keys, nil
	}
	for k := range have {
		base := k[strings.LastIndexAny(k, "/.")+1:]
		if strings.Contains(strings.ToLower(base), "loss") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// LRKey returns the learning-rate key of runs, or "" if they log none.
func LRKey(ctx context.Context, st store.Store, runs []store.Run) (string, error) {
	have, err := keysOf(ctx, st, runs)
	if err != nil {
		return "", err
	}
	return firstIn(lrKeys, have), nil
}

func keysOf(ctx context.Context, st store.Store, runs []store.Run) (map[string]bool, error) {
	have := map[string]bool{}
	for _, r := range runs {
		ser, err := st.Series(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range ser {
			if s.Stats.Count > 0 {
				have[s.Key] = true
			}
		}
	}
	return have, nil
}

func firstIn(keys []string, have map[string]bool) string {
	for _, k := range keys {
		if have[k] {
			return k
		}
	}
	return ""
}
