// Package chart draws runlog's charts: loss curves and learning-rate
// schedules as PNG, SVG or PDF files with gonum/plot, and the same curves
// as Unicode braille charts for terminals.
//
// Every curve is read from the store without superseded points, put on
// its x-axis (gradient step, wallclock, active or absolute time; see
// series.X), optionally smoothed, and downsampled to the width it is drawn
// at with series.Downsample before it is drawn: a chart of ten million
// points draws as fast as one of ten thousand, and keeps every spike.
package chart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Names of the chart files, without their extension, as the prototype
// wrote them into run folders.
const (
	LossCurves = "loss_curves"
	LRSchedule = "lr_schedule"
)

// AxisBoth asks for one panel by gradient step and one by wallclock time.
const AxisBoth series.Axis = "both"

// ErrNoData is returned when the runs have none of the series a chart
// shows.
var ErrNoData = errors.New("nothing to chart")

// Options say how charts are drawn.
type Options struct {
	Format string  // PNG (the default), SVG or PDF
	Smooth float64 // EMA weight of the smoothed line, 0 (none) to below 1; raw points stay faint behind it
	LogY   bool    // a logarithmic y-axis
	// X is the x-axis: series.AxisStep, AxisWallclock, AxisActive,
	// AxisTime, or AxisBoth (the default): a panel by step and one by
	// wallclock time.
	X series.Axis
	// Keys are the series to draw; nil means the runs' train and
	// validation losses (LossKeys).
	Keys []string
	// Width and Height are the size of a PNG in pixels (SVG and PDF: the
	// same at 150 dpi); 0 means 1600×600 for two panels.
	Width, Height int
}

// Axes returns the panels' axes that opt asks for.
func (opt Options) Axes() ([]series.Axis, error) {
	switch opt.X {
	case "", AxisBoth:
		return []series.Axis{series.AxisStep, series.AxisWallclock}, nil
	}
	if a, ok := series.ParseAxis(string(opt.X)); ok {
		return []series.Axis{a}, nil
	}
	return nil, fmt.Errorf("unknown x-axis %q: use step, wallclock, active, time or both", opt.X)
}

// Files writes loss_curves and lr_schedule files (in opt.Format) of runs
// into dir and returns their paths. An empty dir means the folder of the
// one run. lr_schedule is written only when a run logs a learning rate
// (learning_rate, lr, …); loss_curves when one logs a loss or opt.Keys.
func Files(ctx context.Context, st store.Store, runs []store.Run, dir string, opt Options) ([]string, error) {
	if dir == "" {
		if len(runs) != 1 || runs[0].Path == "" {
			return nil, errors.New("chart files: no folder given")
		}
		dir = runs[0].Path
	}
	format := opt.Format
	if format == "" {
		format = PNG
	}
	if _, err := FormatOf("x." + format); err != nil {
		return nil, fmt.Errorf("unknown chart format %q: use png, svg or pdf", opt.Format)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var written []string
	fig, err := Curves(ctx, st, runs, opt)
	switch {
	case errors.Is(err, ErrNoData):
	case err != nil:
		return nil, err
	default:
		path := filepath.Join(dir, LossCurves+"."+format)
		if err := fig.WriteFile(path); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	lr, err := Schedule(ctx, st, runs, opt)
	switch {
	case errors.Is(err, ErrNoData):
	case err != nil:
		return written, err
	default:
		path := filepath.Join(dir, LRSchedule+"."+format)
		if err := lr.WriteFile(path); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	if len(written) == 0 {
		return nil, fmt.Errorf("%w: the runs log no loss and no learning rate", ErrNoData)
	}
	return written, nil
}

// curveKeys returns the keys a figure of runs draws: opt.Keys, or by
// default the runs' loss keys, and ErrNoData when they log none.
func (opt Options) curveKeys(ctx context.Context, st store.Store, runs []store.Run) ([]string, error) {
	if len(opt.Keys) > 0 {
		return opt.Keys, nil
	}
	keys, err := LossKeys(ctx, st, runs)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: the runs log no loss (train_loss, val_loss, …); name the series with --keys", ErrNoData)
	}
	return keys, nil
}

// Curves returns the figure of opt.Keys (by default the runs' train and
// validation losses) of runs: a panel per axis of opt, a colour per run.
func Curves(ctx context.Context, st store.Store, runs []store.Run, opt Options) (*Figure, error) {
	axes, err := opt.Axes()
	if err != nil {
		return nil, err
	}
	keys, err := opt.curveKeys(ctx, st, runs)
	if err != nil {
		return nil, err
	}
	return figure(ctx, st, runs, keys, axes, opt, yLabel(keys))
}

// Schedule returns the figure of the runs' learning rate by step (or by
// opt.X when that is a single time axis), or ErrNoData when they log none.
// Unless a size is given, it is ScheduleWidth × ScheduleHeight.
func Schedule(ctx context.Context, st store.Store, runs []store.Run, opt Options) (*Figure, error) {
	key, err := LRKey(ctx, st, runs)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: the runs log no learning rate", ErrNoData)
	}
	axes := []series.Axis{series.AxisStep}
	if a, ok := series.ParseAxis(string(opt.X)); ok {
		axes = []series.Axis{a}
	}
	opt.Smooth = 0 // a schedule is exact
	opt.LogY = false
	if opt.Height == 0 && opt.Width == 0 {
		opt.Width, opt.Height = ScheduleWidth, ScheduleHeight
	}
	fig, err := figure(ctx, st, runs, []string{key}, axes, opt, "learning rate")
	if err == nil {
		fig.YFromZero = true
	}
	return fig, err
}

func figure(ctx context.Context, st store.Store, runs []store.Run, keys []string, axes []series.Axis, opt Options, ylabel string) (*Figure, error) {
	fig := &Figure{YLabel: ylabel, LogY: opt.LogY, Smooth: opt.Smooth, Width: opt.Width, Height: opt.Height, Runs: runLabels(runs)}
	if len(runs) == 1 {
		fig.Title = runLabel(runs[0])
		if runs[0].Name != "" {
			fig.Title += " (" + runs[0].ID + ")"
		}
	}
	for _, a := range axes {
		fig.Panels = append(fig.Panels, Panel{Axis: a})
	}
	w, _ := fig.size()
	curves, err := Load(ctx, st, runs, Request{Keys: keys, Axes: axes, Buckets: buckets(w, len(axes)), Smooth: opt.Smooth})
	if err != nil {
		return nil, err
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("%w: the runs have no points of %s", ErrNoData, strings.Join(keys, ", "))
	}
	for _, k := range keys { // the keys some run has, in the order asked
		if slices.ContainsFunc(curves, func(c Curve) bool { return c.Key == k }) {
			fig.Keys = append(fig.Keys, k)
		}
	}
	for _, c := range curves {
		i := slices.Index(axes, c.Axis)
		fig.Panels[i].Curves = append(fig.Panels[i].Curves, c)
	}
	return fig, nil
}

// buckets returns the downsampling buckets of curves in a figure w pixels
// wide with n panels: about one per pixel of a panel's data area. M4
// keeps four points a bucket, so what is drawn is what every point would
// have drawn.
func buckets(w, n int) int {
	return max(50, w/max(1, n)*85/100)
}

// runLabel names a run in a legend: its name, else its id.
func runLabel(r store.Run) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// runLabels names runs in a legend, adding the id to names that several
// of them share.
func runLabels(runs []store.Run) []string {
	count := map[string]int{}
	for _, r := range runs {
		count[runLabel(r)]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = runLabel(r)
		if count[out[i]] > 1 && r.Name != "" {
			out[i] += " (" + r.ID + ")"
		}
	}
	return out
}

// yLabel says what keys measure.
func yLabel(keys []string) string {
	loss := true
	for _, k := range keys {
		loss = loss && strings.Contains(strings.ToLower(k), "loss")
	}
	switch {
	case loss:
		return "loss"
	case len(keys) == 1:
		return keys[0]
	}
	return "value"
}
