// Package chartbench measures `runlog plot` against its goal — the loss
// curves of 10 runs of 1 M points each drawn in at most 1 s as a whole
// process — and prints where the time goes, as one Markdown table.
// `runlog-bench chart` runs it.
//
// The runs are written once into a scratch home (about 300 MB of run logs
// and 60 MB of store at the default sizes; Keep and Dir reuse them).
package chartbench

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// Config sizes the benchmark.
type Config struct {
	Dir    string // scratch home; an existing one made with Keep is reused
	Keep   bool
	Runlog string // the runlog binary, for the whole-process rows; none skips them
	Runs   int
	Points int // train_loss points per run
	Repeat int // repetitions; medians are reported
	Out    io.Writer
	Log    io.Writer // progress, and each row as it is measured
}

// Default is the configuration the goal is stated for.
var Default = Config{Runs: 10, Points: 1_000_000, Repeat: 5}

// Run writes the runs unless Dir holds them, times every stage and prints
// the table to c.Out.
func Run(ctx context.Context, c Config) error {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	c.Repeat = max(1, c.Repeat)
	home := c.Dir
	if home == "" {
		var err error
		if home, err = os.MkdirTemp("", "runlog-bench-chart-*"); err != nil {
			return err
		}
	}
	if !c.Keep {
		defer os.RemoveAll(home)
	}
	out := filepath.Join(home, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var rows [][3]string
	add := func(what string, d time.Duration, note string) {
		rows = append(rows, [3]string{what, timing.Millis(d), note})
		fmt.Fprintf(c.Log, "%-60s %s\n", what, timing.Millis(d))
	}

	ids := make([]string, c.Runs)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench%02d", i)
	}
	if _, err := os.Stat(layout.Store(home)); err != nil {
		fmt.Fprintf(c.Log, "writing %d runs of %d points…\n", c.Runs, c.Points)
		d, err := timing.Timed(func() error { return writeRuns(home, ids, c.Points) })
		if err != nil {
			return err
		}
		add("setup: write the run logs", d, "not part of plot")
		d, err = timing.Timed(func() error { return indexHome(ctx, home) })
		if err != nil {
			return err
		}
		add("setup: first index of the runs", d, "not part of plot")
	}

	args := append([]string{"--home", home, "plot"}, ids...)
	if c.Runlog != "" {
		for _, v := range []struct {
			what string
			args []string
		}{
			{"process start and exit: `runlog --version`", []string{"--version"}},
			{fmt.Sprintf("**`runlog plot` %d runs × %s points, whole process**", c.Runs, timing.Count(c.Points)), append(args, "-o", out+"/")},
			{"the same with `--smooth 0.9`", append(args, "-o", out+"/", "--smooth", "0.9")},
			{"the same, loss curves by step only (`--x step -o f.png`)", append(args, "--x", "step", "-o", filepath.Join(out, "step.png"))},
			{"the same as SVG (`-o f.svg`)", append(args, "-o", filepath.Join(out, "f.svg"))},
		} {
			d, err := timing.Time(c.Repeat, func() error {
				cmd := exec.CommandContext(ctx, c.Runlog, v.args...)
				cmd.Stderr = c.Log
				return cmd.Run()
			})
			if err != nil {
				return fmt.Errorf("%s: %w", v.what, err)
			}
			add(v.what, d, "median of "+fmt.Sprint(c.Repeat))
		}
	}

	// Where the time goes, stage by stage, in this process.
	var st *sqlite.DB
	d, err := timing.Time(c.Repeat, func() error {
		if st != nil {
			st.Close()
		}
		var err error
		if st, err = sqlite.Open(layout.Store(home)); err != nil {
			return err
		}
		_, err = ingest.Home(ctx, st, home, ingest.Options{})
		return err
	})
	if err != nil {
		return err
	}
	defer st.Close()
	add("open the store, check the run logs for new data", d, "")
	var runs []store.Run
	d, err = timing.Time(c.Repeat, func() error {
		runs = runs[:0]
		for _, id := range ids {
			r, err := st.Run(ctx, id)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	add("read the runs", d, "")
	for _, par := range []int{1, runtime.GOMAXPROCS(0)} {
		d, err := timing.Time(c.Repeat, func() error { return readAll(ctx, st, ids, par) })
		if err != nil {
			return err
		}
		add(fmt.Sprintf("read train_loss of every run: %s points, %d at a time", timing.Count(c.Points*c.Runs), par), d, "Store.Points")
	}
	axes := []series.Axis{series.AxisStep, series.AxisWallclock}
	for _, smooth := range []float64{0, 0.9} {
		d, err := timing.Time(c.Repeat, func() error {
			_, err := chart.Load(ctx, st, runs, chart.Request{Keys: []string{"train_loss", "val_loss"}, Axes: axes, Buckets: 680, Smooth: smooth})
			return err
		})
		if err != nil {
			return err
		}
		note := "read, x-axes, M4 downsampling to 680 buckets"
		if smooth > 0 {
			note += ", EMA (time-weighted on wallclock)"
		}
		add(fmt.Sprintf("load the curves, 2 axes (chart.Load, smooth %v)", smooth), d, note)
	}
	var fig *chart.Figure
	d, err = timing.Time(c.Repeat, func() error {
		fig, err = chart.Curves(ctx, st, runs, chart.Options{})
		return err
	})
	if err != nil {
		return err
	}
	points := 0
	for _, p := range fig.Panels {
		for _, c := range p.Curves {
			points += c.Raw.Len()
		}
	}
	add("build the loss-curves figure (chart.Curves)", d, fmt.Sprintf("%d points left to draw", points))
	d, err = timing.Time(c.Repeat, func() error { fig.Image(); return nil })
	if err != nil {
		return err
	}
	add("draw it, 1600×600, two panels at once (Figure.Image)", d, "gonum/plot, vgimg")
	img := fig.Image()
	d, err = timing.Time(c.Repeat, func() error { return png.Encode(io.Discard, img) })
	if err != nil {
		return err
	}
	add("encode the PNG", d, "image/png")
	d, err = timing.Time(c.Repeat, func() error {
		lr, err := chart.Schedule(ctx, st, runs, chart.Options{})
		if err != nil {
			return err
		}
		return lr.Write(io.Discard, chart.PNG)
	})
	if err != nil {
		return err
	}
	add("lr_schedule.png: build, draw, encode", d, "")

	fmt.Fprintf(c.Out, "\n%d runs × %s train_loss points (a val_loss every 1,000 steps, a learning rate every 100), %d CPUs, %s\n\n",
		c.Runs, timing.Count(c.Points), runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(c.Out, "| what | median | note |")
	fmt.Fprintln(c.Out, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(c.Out, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return nil
}

func readAll(ctx context.Context, st store.Store, ids []string, par int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	sem := make(chan struct{}, par)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = st.Points(ctx, id, "train_loss", store.PointsOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// indexHome indexes every run folder of home into its store.
func indexHome(ctx context.Context, home string) error {
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = ingest.Home(ctx, st, home, ingest.Options{})
	return err
}
