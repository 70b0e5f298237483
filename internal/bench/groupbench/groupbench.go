// Package groupbench measures runlog's views of a sweep against their
// goals — `compare --group-by` of 100 runs in 10 groups of 100 k points
// each in at most 300 ms, `plot --group-by` of them in at most 1.5 s,
// `report` of the sweep in at most 5 s — as whole processes, and prints
// one Markdown table. `runlog-bench groups` runs it.
package groupbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// Config sizes the benchmark.
type Config struct {
	Runlog string // the runlog binary
	Dir    string // scratch home; an existing one made with Keep is reused
	Keep   bool
	Groups int // learning rates
	Seeds  int // runs per learning rate
	Points int // train_loss points per run
	Repeat int // repetitions; medians are reported
	Out    io.Writer
	Log    io.Writer
}

// Default is the configuration the goals are stated for.
var Default = Config{Runlog: "bin/runlog", Groups: 10, Seeds: 10, Points: 100_000, Repeat: 5}

// Run writes the sweep unless Dir holds it, times the commands and prints
// the table to c.Out.
func Run(ctx context.Context, c Config) error {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	c.Repeat = max(1, c.Repeat)
	bin, err := filepath.Abs(c.Runlog)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w: build it with go build -o bin/runlog ./cmd/runlog, or pass --runlog", err)
	}
	home := c.Dir
	if home == "" {
		if home, err = os.MkdirTemp("", "runlog-bench-groups-*"); err != nil {
			return err
		}
	}
	if !c.Keep {
		defer os.RemoveAll(home)
	}
	runs := c.Groups * c.Seeds
	var ids []string
	for g := range c.Groups {
		for s := range c.Seeds {
			ids = append(ids, fmt.Sprintf("sw%03d%03d", g, s))
		}
	}
	runlog := func(args ...string) error {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--home", home}, args...)...)
		cmd.Stderr = c.Log
		return cmd.Run()
	}
	var rows [][3]string
	add := func(what string, d time.Duration, goal string) {
		rows = append(rows, [3]string{what, timing.Short(d), goal})
		fmt.Fprintf(c.Log, "%-60s %s\n", what, timing.Short(d))
	}
	if _, err := os.Stat(layout.Store(home)); err != nil {
		fmt.Fprintf(c.Log, "writing %d runs of %d points…\n", runs, c.Points)
		d, err := timing.Timed(func() error { return writeSweep(home, c) })
		if err != nil {
			return err
		}
		add("setup: write the run logs", d, "")
		d, err = timing.Timed(func() error { return runlog("index") })
		if err != nil {
			return err
		}
		add("setup: first index", d, "")
	}
	out := filepath.Join(home, "out")
	os.MkdirAll(out, 0o755)
	for _, v := range []struct {
		what, goal string
		args       []string
		fresh      bool
	}{
		{fmt.Sprintf("**`compare --group-by lr`**, %d runs in %d groups", runs, c.Groups), "≤ 300 ms", append(append([]string{"compare"}, ids...), "--group-by", "lr"), false},
		{"the same + `--target val_loss=2`", "", append(append([]string{"compare"}, ids...), "--group-by", "lr", "--target", "val_loss=2"), false},
		{"the same, `--json`", "", append(append([]string{"compare"}, ids...), "--group-by", "lr", "--json"), false},
		{"`ls --group-by lr`", "", []string{"ls", "--group-by", "lr"}, false},
		{"**`plot --group-by lr`**: bands (2 panels) + val_loss_vs_lr.png", "≤ 1.5 s", append(append([]string{"plot"}, ids...), "--group-by", "lr", "-o", out+"/"), false},
		{"the same, by step only", "", append(append([]string{"plot"}, ids...), "--group-by", "lr", "--x", "step", "-o", out+"/step/"), false},
		{fmt.Sprintf("**`report`** of the %d-run sweep, plots drawn", runs), "≤ 5 s", []string{"report", "--project", "groupbench", "--target", "val_loss=2", "-o", filepath.Join(out, "r", "EXPERIMENT_LOG.md")}, true},
	} {
		d, err := timing.Time(c.Repeat, func() error {
			if v.fresh {
				os.RemoveAll(filepath.Join(out, "r"))
			}
			return runlog(v.args...)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", v.what, err)
		}
		add(v.what, d, v.goal)
	}
	fmt.Fprintf(c.Out, "%d runs (%d learning rates × %d seeds) × %s train_loss points, a val_loss every 1,000 steps; %d CPUs; medians of %d whole `runlog` processes\n\n",
		runs, c.Groups, c.Seeds, timing.Count(c.Points), runtime.NumCPU(), c.Repeat)
	fmt.Fprintln(c.Out, "| what | median | goal |")
	fmt.Fprintln(c.Out, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(c.Out, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return nil
}

// writeSweep writes the sweep's run logs as a training loop would, one
// run per CPU at a time: a step every 50 ms, a noisy train loss falling
// faster with the learning rate, diverging (NaN) in one run of the
// largest, a val_loss every 1,000 steps.
func writeSweep(home string, c Config) error {
	type job struct{ g, s int }
	work := make(chan job)
	errs := make(chan error, c.Groups*c.Seeds)
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for j := range work {
				errs <- writeRun(home, c, j.g, j.s)
			}
		}()
	}
	go func() {
		for g := range c.Groups {
			for s := range c.Seeds {
				work <- job{g, s}
			}
		}
		close(work)
	}()
	var first error
	for range c.Groups * c.Seeds {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func writeRun(home string, c Config, g, seed int) error {
	id := fmt.Sprintf("sw%03d%03d", g, seed)
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, layout.RunLogFile))
	if err != nil {
		return err
	}
	defer f.Close()
	lr := 1e-4 * math.Pow(10, 3*float64(g)/float64(max(1, c.Groups-1)))
	rng := rand.New(rand.NewPCG(uint64(g), uint64(seed)))
	t := 1764201600.0 + float64(g*c.Seeds+seed)*7200
	enc := runfmt.NewEncoder(0, nil)
	if err := enc.Begin(runfmt.Header{Format: 1, ID: id, Name: fmt.Sprintf("lr%.1e-s%d", lr, seed),
		Project: "groupbench", Group: "lr-sweep", Time: t}); err != nil {
		return err
	}
	enc.Record(runfmt.TypeConfig, []byte(fmt.Sprintf(`{"lr":%g,"seed":%d,"sweep":"lr-sweep","model":{"d":256}}`, lr, seed)))
	var ids [2]uint32
	for k, key := range []string{"train_loss", "val_loss"} {
		if ids[k], err = enc.Key(key); err != nil {
			return err
		}
	}
	rate := 2 + 6*float64(g)/float64(max(1, c.Groups))
	diverge := g == c.Groups-1 && seed == 0
	for s := range c.Points {
		t += 0.05
		base := 1.5 + 2.5*math.Exp(-float64(s)*rate/float64(c.Points)) + 0.02*float64(seed%3)
		v := float64(float32(base + 0.05*rng.NormFloat64()))
		if diverge && s > c.Points/2 {
			v = math.NaN()
		}
		keys, vals := []uint32{ids[0]}, []float64{v}
		if s%1000 == 0 {
			keys, vals = append(keys, ids[1]), append(vals, base+0.03)
		}
		enc.Metrics(int64(s), math.Round(t*1e6)/1e6, keys, vals)
		if enc.Len() > 1<<20 {
			if _, err := f.Write(enc.Bytes()); err != nil {
				return err
			}
			enc.Take(enc.Bytes()) // written: empty the buffer, keep its storage
		}
	}
	if err := enc.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t}); err != nil {
		return err
	}
	_, err = f.Write(enc.Bytes())
	return err
}
