package storebench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// bytesPerPoint measures the store's size on disk per point for the series
// of a training run, written with wall times as a training loop produces
// them: one step every 50 ms or so, with jitter.
func bytesPerPoint(ctx context.Context, c Config, dir string) ([]Row, error) {
	steps := c.Points / c.Series
	rng := rand.New(rand.NewPCG(3, 4))
	w := newWorkload(2, steps)
	loss := func(s int) []float64 {
		v := make([]float64, 2)
		w.values(s, v)
		return v
	}
	noise := func(int) []float64 { return []float64{rng.NormFloat64()} }
	type run struct {
		name string
		keys []string
		gen  func(int) []float64
	}
	var rows []Row
	for _, r := range []run{
		{"float32 loss + float64 LR schedule, with wall times", []string{"train_loss", "learning_rate"}, loss},
		{"float64 Gaussian noise, with wall times", []string{"noise"}, noise},
	} {
		home := filepath.Join(dir, fmt.Sprint(len(rows)))
		points, logSize, err := writeRealistic(home, r.keys, steps, r.gen)
		if err != nil {
			return nil, err
		}
		if err := indexHome(ctx, home); err != nil {
			return nil, err
		}
		fi, err := os.Stat(layout.Store(home))
		if err != nil {
			return nil, err
		}
		bpp := float64(fi.Size()) / float64(points)
		goal := "≤ 6"
		if len(rows) > 0 {
			goal = "(reported)"
		}
		rows = append(rows, Row{
			What:      fmt.Sprintf("bytes per point on disk: %s (%s points)", r.name, timing.Count(points)),
			Result:    fmt.Sprintf("%.2f (run.log: %.1f)", bpp, float64(logSize)/float64(points)),
			Goal:      goal,
			Reference: "32 (SQLite, one row per point)",
			Ratio:     fmt.Sprintf("%.1f× smaller", 32/bpp),
		})
		os.RemoveAll(home)
	}
	return rows, nil
}

// WriteLossRun writes into home the size benchmark's first run: about
// points points of a float32 loss and a float64 learning-rate schedule,
// logged every 50 ms or so. It returns the points written and the size of
// the run.log. Other stores' size benchmarks index it to compare.
func WriteLossRun(home string, points int) (int, int64, error) {
	steps := points / 2
	w := newWorkload(2, steps)
	return writeRealistic(home, []string{"train_loss", "learning_rate"}, steps, func(s int) []float64 {
		v := make([]float64, 2)
		w.values(s, v)
		return v
	})
}

// writeRealistic writes a run.log with runfmt.Encoder directly, so that its wall
// times are those of a training loop rather than of a benchmark loop.
func writeRealistic(home string, keys []string, steps int, gen func(int) []float64) (points int, size int64, err error) {
	dir := layout.RunDir(home, "size")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	path := filepath.Join(dir, layout.RunLogFile)
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	t := 1764201600.0
	enc := runfmt.NewEncoder(0, nil)
	if err := enc.Begin(runfmt.Header{Format: 1, ID: "size", Time: t}); err != nil {
		return 0, 0, err
	}
	ids := make([]uint32, len(keys))
	for i, k := range keys {
		if ids[i], err = enc.Key(k); err != nil {
			return 0, 0, err
		}
	}
	for s := range steps {
		t += 0.05 + 0.003*rng.NormFloat64()
		tus := math.Round(t*1e6) / 1e6 // clocks give microseconds
		enc.Metrics(int64(s), tus, ids, gen(s))
		points += len(keys)
		if enc.Len() > 1<<20 {
			if _, err := f.Write(enc.Bytes()); err != nil {
				return 0, 0, err
			}
			enc.Take(enc.Bytes()) // written: empty the buffer, keep its storage
		}
	}
	if _, err := f.Write(enc.Bytes()); err != nil {
		return 0, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return points, fi.Size(), nil
}
