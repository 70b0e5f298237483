// Package analyzebench measures `runlog compare` and `runlog report`
// against their goals — compare of 50 runs in at most 200 ms, the report of
// 50 runs with plots in at most 5 s — as whole processes, and prints one
// Markdown table. `runlog-bench analyze` runs it.
package analyzebench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// Config sizes the benchmark.
type Config struct {
	Runlog string // the runlog binary
	Dir    string // scratch folder; removed afterwards unless Keep
	Keep   bool
	Runs   int // runs to compare and report on
	Steps  int // steps of each run
	Repeat int // repetitions; medians are reported
	Out    io.Writer
	Log    io.Writer // progress
}

// Default is the configuration the goals are stated for.
var Default = Config{Runlog: "bin/runlog", Runs: 50, Steps: 2000, Repeat: 5}

// Run writes the runs, times the commands and prints the table to c.Out.
func Run(ctx context.Context, c Config) error {
	out, log := c.Out, c.Log
	if out == nil {
		out = io.Discard
	}
	if log == nil {
		log = io.Discard
	}
	c.Repeat = max(1, c.Repeat)
	if c.Runlog == "" {
		return fmt.Errorf("no runlog binary: build it with go build -o bin/runlog ./cmd/runlog and pass --runlog")
	}
	bin, err := filepath.Abs(c.Runlog)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w: build it with go build -o bin/runlog ./cmd/runlog, or pass --runlog", err)
	}
	dir, err := os.MkdirTemp(c.Dir, "runlog-bench-analyze-")
	if err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	home := filepath.Join(dir, "home")
	fmt.Fprintf(log, "writing %d runs of %d steps into %s\n", c.Runs, c.Steps, home)
	ids, err := writeRuns(home, c.Runs, c.Steps)
	if err != nil {
		return err
	}
	runlog := func(args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--home", home}, args...)...)
		cmd.Stdout = io.Discard
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		if err != nil {
			return 0, fmt.Errorf("runlog %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return time.Since(start), nil
	}
	first, err := runlog("index")
	if err != nil {
		return err
	}
	median := func(args ...string) (time.Duration, error) {
		return timing.Repeat(c.Repeat, func() (time.Duration, error) { return runlog(args...) })
	}
	compareArgs := append([]string{"compare"}, ids...)
	cmpPlain, err := median(compareArgs...)
	if err != nil {
		return err
	}
	full := append(compareArgs, "--target", "val_loss=1.5", "--target", "train_loss=1.5", "--at-time", "5s", "--at-step", "1000")
	cmpFull, err := median(full...)
	if err != nil {
		return err
	}
	cmpJSON, err := median(append(full, "--json")...)
	if err != nil {
		return err
	}
	logFile := filepath.Join(dir, "out", "EXPERIMENT_LOG.md")
	reportArgs := []string{"report", "--project", "bench", "--target", "val_loss=1.5", "-o", logFile}
	var drawn []time.Duration
	plots := 0
	for range c.Repeat {
		os.RemoveAll(filepath.Join(dir, "out"))
		d, err := runlog(reportArgs...)
		if err != nil {
			return err
		}
		drawn = append(drawn, d)
		pngs, _ := filepath.Glob(filepath.Join(dir, "out", "plots", "*", "*.png"))
		plots = len(pngs)
	}
	again, err := median(reportArgs...)
	if err != nil {
		return err
	}
	plotNote := fmt.Sprintf("%d plots drawn", plots)
	if plots == 0 {
		plotNote = "no plots: this runlog draws none (internal/chart not wired in)"
	}
	fmt.Fprintf(out, "%d runs × %d steps (%d points each), %d CPUs, median of %d whole `runlog` processes; first index of the runs: %s\n\n",
		c.Runs, c.Steps, c.Steps*3+(c.Steps+49)/50, runtime.NumCPU(), c.Repeat, timing.Short(first))
	fmt.Fprintln(out, "| what | result | goal |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| `compare` of %d runs: config diff, final/best losses | %s | ≤ 200 ms |\n", c.Runs, timing.Short(cmpPlain))
	fmt.Fprintf(out, "| `compare` of %d runs + 2 targets, --at-time, --at-step | %s | ≤ 200 ms |\n", c.Runs, timing.Short(cmpFull))
	fmt.Fprintf(out, "| the same, `--json` | %s | ≤ 200 ms |\n", timing.Short(cmpJSON))
	fmt.Fprintf(out, "| `report` of %d runs, plots drawn (%s) | %s | ≤ 5 s |\n", c.Runs, plotNote, timing.Short(timing.Median(drawn)))
	fmt.Fprintf(out, "| `report` again, plots up to date | %s | |\n", timing.Short(again))
	return nil
}

// writeRuns logs runs of a made-up learning-rate sweep with the Go client:
// a loss curve that falls faster with a larger learning rate, noise, a
// cosine schedule, and a validation loss every 50 steps.
func writeRuns(home string, runs, steps int) ([]string, error) {
	var ids []string
	for i := range runs {
		lr := 1e-3 * math.Pow(10, float64(i%10)/5)
		r, err := runlog.Init(runlog.Options{Home: home, Project: "bench", Name: fmt.Sprintf("lr-%.1e-%d", lr, i), DisableGit: true,
			Hypothesis: "a larger learning rate reaches 1.5 sooner",
			Config:     map[string]any{"lr": lr, "seed": i, "model": map[string]any{"d_model": 64, "n_layers": 2 + i%3}, "batch_size": 8}})
		if err != nil {
			return nil, err
		}
		noise := uint64(i + 1)
		for s := range steps {
			noise = noise*6364136223846793005 + 1442695040888963407
			n := float64(noise>>40)/float64(1<<24) - 0.5
			loss := 1 + 3*math.Exp(-float64(s)*lr*3) + 0.1*n
			v := map[string]float64{"train_loss": loss, "tokens_per_sec": 20000 + 1000*n,
				"learning_rate": lr * 0.5 * (1 + math.Cos(math.Pi*float64(s)/float64(steps)))}
			if s%50 == 0 {
				v["val_loss"] = 1.05 + 3*math.Exp(-float64(s)*lr*3)
			}
			if err := r.LogStep(int64(s), v); err != nil {
				return nil, err
			}
		}
		if err := r.Finish(0); err != nil {
			return nil, err
		}
		ids = append(ids, r.ID())
	}
	return ids, nil
}
