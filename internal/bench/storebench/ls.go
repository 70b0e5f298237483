package storebench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// lsRuns measures `runlog ls` as a whole process over many runs, after the
// store has indexed them.
func lsRuns(ctx context.Context, c Config, home string) ([]Row, error) {
	if c.Runlog == "" {
		return []Row{{What: "`runlog ls` (whole process)", Result: "skipped: no --runlog binary given"}}, nil
	}
	create, err := timing.Timed(func() error { return makeRuns(home, c.LsRuns) })
	if err != nil {
		return nil, err
	}
	c.progress("  created %d runs with the Go client in %.1fs", c.LsRuns, create.Seconds())
	index, err := timing.Timed(func() error {
		out, err := exec.CommandContext(ctx, c.Runlog, "--home", home, "index").CombinedOutput()
		if err != nil {
			return fmt.Errorf("runlog index: %v: %s", err, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ls := func(args ...string) (time.Duration, error) {
		return timing.Repeat(max(9, c.Repeat), func() (time.Duration, error) {
			cmd := exec.CommandContext(ctx, c.Runlog, append([]string{"--home", home, "ls"}, args...)...)
			cmd.Stdout = nil
			var stderr []byte
			d, err := timing.Timed(func() error {
				var err error
				stderr, err = cmd.CombinedOutput()
				return err
			})
			if err != nil {
				return 0, fmt.Errorf("runlog ls: %v: %s", err, stderr)
			}
			return d, nil
		})
	}
	table, err := ls()
	if err != nil {
		return nil, err
	}
	asJSON, err := ls("--json")
	if err != nil {
		return nil, err
	}
	// A page of runs filtered on a config value, which the store cuts,
	// beside what every process costs before it reads anything: starting
	// and printing its version.
	page, err := ls("--where", "config.lr > 5e-4", "-n", "100")
	if err != nil {
		return nil, err
	}
	start, err := timing.Repeat(max(9, c.Repeat), func() (time.Duration, error) {
		return timing.Timed(func() error { return exec.CommandContext(ctx, c.Runlog, "--version").Run() })
	})
	if err != nil {
		return nil, err
	}
	return []Row{{
		What:      fmt.Sprintf("`runlog ls` over %s runs (whole process)", timing.Count(c.LsRuns)),
		Result:    fmt.Sprintf("%s (--json: %s)", timing.Millis(table), timing.Millis(asJSON)),
		Goal:      "≤ 100 ms",
		Reference: fmt.Sprintf("first index of the %s runs: %.1f s", timing.Count(c.LsRuns), index.Seconds()),
	}, {
		What:      "`runlog ls --where 'config.lr > 5e-4' -n 100`, the same runs (whole process)",
		Result:    timing.Millis(page),
		Reference: fmt.Sprintf("`runlog --version`, a process that reads nothing: %s", timing.Millis(start)),
	}}, nil
}

// makeRuns creates n small runs with the Go client, as n training scripts
// would: a config, 100 steps of 4 metrics, a validation loss every 10 steps.
func makeRuns(home string, n int) error {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := makeRun(home, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func makeRun(home string, i int) error {
	lr := []float64{1e-4, 3e-4, 1e-3, 3e-3}[i%4]
	run, err := runlog.Init(runlog.Options{Home: home, Project: fmt.Sprintf("project-%d", i%5), DisableGit: true,
		Name: fmt.Sprintf("run-%05d", i), Tags: []string{"bench"}, Config: map[string]any{"lr": lr, "seed": i}})
	if err != nil {
		return err
	}
	w := newWorkload(4, 100)
	v := make([]float64, 4)
	m := map[string]float64{}
	for s := range 100 {
		w.values(s, v)
		m["train_loss"], m["learning_rate"], m["tokens_per_sec"], m["grad_norm"] = v[0], v[1], v[2], v[3]
		if s%10 == 9 {
			m["val_loss"] = v[0] + 0.1
		} else {
			delete(m, "val_loss")
		}
		run.LogStep(int64(s), m)
	}
	return run.Finish(0)
}
