// Command runlog-analyzebench measures `runlog compare` and `runlog report`
// against their goals — compare of 50 runs in at most 200 ms, the report of
// 50 runs with plots in at most 5 s — as whole processes, and prints one
// Markdown table.
//
//	go build -o bin/runlog ./cmd/runlog
//	go run ./cmd/runlog-analyzebench -runlog bin/runlog
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/runlog/runlog"
)

type config struct {
	runlog string
	dir    string
	runs   int
	steps  int
	repeat int
	keep   bool
}

func main() {
	var c config
	flag.StringVar(&c.runlog, "runlog", "bin/runlog", "the runlog binary")
	flag.StringVar(&c.dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	flag.IntVar(&c.runs, "runs", 50, "runs to compare and report on")
	flag.IntVar(&c.steps, "steps", 2000, "steps of each run (train_loss, learning_rate, tokens_per_sec every step, val_loss every 50)")
	flag.IntVar(&c.repeat, "repeat", 5, "repetitions; medians are reported")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch folder")
	flag.Parse()
	if err := run(c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "runlog-analyzebench:", err)
		os.Exit(1)
	}
}

func run(c config, out, log io.Writer) error {
	bin, err := filepath.Abs(c.runlog)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w: build it with go build -o bin/runlog ./cmd/runlog, or pass -runlog", err)
	}
	dir, err := os.MkdirTemp(c.dir, "runlog-analyzebench-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	home := filepath.Join(dir, "home")
	fmt.Fprintf(log, "writing %d runs of %d steps into %s\n", c.runs, c.steps, home)
	ids, err := writeRuns(home, c.runs, c.steps)
	if err != nil {
		return err
	}
	runlog := func(args ...string) (time.Duration, error) {
		cmd := exec.Command(bin, append([]string{"--home", home}, args...)...)
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
		var ds []time.Duration
		for range c.repeat {
			d, err := runlog(args...)
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], nil
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
	for range c.repeat {
		os.RemoveAll(filepath.Join(dir, "out"))
		d, err := runlog(reportArgs...)
		if err != nil {
			return err
		}
		drawn = append(drawn, d)
		pngs, _ := filepath.Glob(filepath.Join(dir, "out", "plots", "*", "*.png"))
		plots = len(pngs)
	}
	sort.Slice(drawn, func(i, j int) bool { return drawn[i] < drawn[j] })
	again, err := median(reportArgs...)
	if err != nil {
		return err
	}
	plotNote := fmt.Sprintf("%d plots drawn", plots)
	if plots == 0 {
		plotNote = "no plots: this runlog draws none (internal/chart not wired in)"
	}
	fmt.Fprintf(out, "%d runs × %d steps (%d points each), %d CPUs, median of %d whole `runlog` processes; first index of the runs: %s\n\n",
		c.runs, c.steps, c.steps*3+(c.steps+49)/50, runtime.NumCPU(), c.repeat, ms(first))
	fmt.Fprintln(out, "| what | result | goal |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| `compare` of %d runs: config diff, final/best losses | %s | ≤ 200 ms |\n", c.runs, ms(cmpPlain))
	fmt.Fprintf(out, "| `compare` of %d runs + 2 targets, --at-time, --at-step | %s | ≤ 200 ms |\n", c.runs, ms(cmpFull))
	fmt.Fprintf(out, "| the same, `--json` | %s | ≤ 200 ms |\n", ms(cmpJSON))
	fmt.Fprintf(out, "| `report` of %d runs, plots drawn (%s) | %s | ≤ 5 s |\n", c.runs, plotNote, ms(drawn[len(drawn)/2]))
	fmt.Fprintf(out, "| `report` again, plots up to date | %s | |\n", ms(again))
	return nil
}

func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
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
