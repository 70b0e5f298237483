package serverbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// benchRuns measures the runs list on a home of c.Runs runs of a sweep.
func benchRuns(ctx context.Context, c Config, home string, add func(row)) error {
	fmt.Fprintf(c.Log, "writing %d runs…\n", c.Runs)
	for i := range c.Runs {
		lr := 1e-4 * float64(1+i%10)
		r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: fmt.Sprintf("run-%04d", i), DisableGit: true, URL: "-",
			Tags: []string{"sweep"}, Config: map[string]any{"lr": lr, "model": map[string]any{"d_model": 64 << (i % 3), "layers": 2 + i%4}}})
		if err != nil {
			return err
		}
		for step := range 200 {
			vals := map[string]float64{"train_loss": 4 / (1 + lr*1e3*float64(step)/50), "learning_rate": lr}
			if step%50 == 0 {
				vals["val_loss"] = vals["train_loss"] + 0.1
			}
			r.LogStep(int64(step), vals)
		}
		r.SetSummary("note", "bench")
		if err := r.Finish(0); err != nil {
			return err
		}
	}
	var firsts []time.Duration
	var base string
	var stop func()
	for i := range max(1, c.Repeat) {
		var err error
		if base, stop, err = c.serve(home); err != nil {
			return err
		}
		t := time.Now()
		if err := getOK(base + "/api/v1/runs"); err != nil {
			return err
		}
		firsts = append(firsts, time.Since(t))
		if i < max(1, c.Repeat)-1 {
			stop()
		}
	}
	defer stop()
	add(row{fmt.Sprintf("runs list, %d runs, first request (reads every run's summary and series)", c.Runs), timing.Millis(timing.Median(firsts)), "", "median of " + fmt.Sprint(c.Repeat) + ", new server each"})
	for _, v := range []struct{ what, url string }{
		{fmt.Sprintf("runs list, %d runs, 100 shown", c.Runs), "/api/v1/runs"},
		{"the same, all shown", "/api/v1/runs?limit=10000"},
		{"the same, searched and sorted: `config.lr > 5e-4 and metric.val_loss.best < 3`, by summary.val_loss", "/api/v1/runs?q=config.lr+%3E+5e-4+and+metric.val_loss.best+%3C+3&sort=summary.val_loss&limit=10000"},
	} {
		d, err := timing.Time(max(c.Repeat, 10), func() error { return getOK(base + v.url) })
		if err != nil {
			return err
		}
		add(row{v.what, timing.Millis(d), "", "median of " + fmt.Sprint(max(c.Repeat, 10))})
	}
	return nil
}

func getOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
