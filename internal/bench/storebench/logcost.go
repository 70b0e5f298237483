package storebench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// logCost measures what Log of 4 values costs the training loop's goroutine.
func logCost(ctx context.Context, c Config, dir string) ([]Row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	run, err := runlog.Init(runlog.Options{Home: dir, Name: "log-cost"})
	if err != nil {
		return nil, err
	}
	values := map[string]float64{"train_loss": 2.5, "learning_rate": 3e-4, "tokens_per_sec": 85000, "grad_norm": 1.1}
	// Bursts of Log calls, each followed by a pause for the background
	// writer: a training loop logs a few thousand times a second, not
	// millions, so the disk is not what is measured here.
	const burst = 20_000
	var results []float64
	for range 20 * c.Repeat {
		d, _ := timing.Timed(func() error {
			for range burst {
				run.Log(values)
			}
			return nil
		})
		results = append(results, float64(d.Nanoseconds())/burst)
		time.Sleep(20 * time.Millisecond)
	}
	if err := run.Finish(0); err != nil {
		return nil, err
	}
	ns := medianOf(results)
	return []Row{{
		What:   "`Log` of 4 values, cost in the caller's goroutine",
		Result: fmt.Sprintf("%.0f ns", ns),
		Goal:   "≤ 300 ns",
	}}, nil
}
