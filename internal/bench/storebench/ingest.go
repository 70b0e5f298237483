package storebench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/summary"
)

// recordSize is the size of a point in the reference file: step, time, key
// id (padded) and value.
const recordSize = 32

// ingestAndRead measures logging through the Go client into the store,
// indexing alone, reading a series back and a run's summary, against a
// plain file of 32-byte records.
func ingestAndRead(ctx context.Context, c Config, dir string) ([]Row, error) {
	steps := c.Points / c.Series
	points := steps * c.Series
	w := newWorkload(c.Series, steps)
	keys := w.keys()
	vals := make([][]float64, steps)
	for s := range vals {
		vals[s] = make([]float64, c.Series)
		w.values(s, vals[s])
	}
	base := float64(time.Now().Unix())

	var plainPath string
	plain, err := timing.Repeat(c.Repeat, func() (time.Duration, error) {
		plainPath = filepath.Join(dir, "plain.bin")
		os.MkdirAll(dir, 0o755)
		return timing.Timed(func() error { return writePlain(plainPath, vals, base) })
	})
	if err != nil {
		return nil, err
	}

	var home string
	var indexTimes []time.Duration
	total, err := timing.Repeat(c.Repeat, func() (time.Duration, error) {
		if home != "" {
			os.RemoveAll(home)
		}
		home = filepath.Join(dir, fmt.Sprintf("home-%d", len(indexTimes)))
		logged, err := timing.Timed(func() error { return logRun(home, keys, vals) })
		if err != nil {
			return 0, err
		}
		idx, err := timing.Timed(func() error { return indexHome(ctx, home) })
		indexTimes = append(indexTimes, idx)
		c.progress("  client %.2fs + index %.2fs for %d points", logged.Seconds(), idx.Seconds(), points)
		return logged + idx, err
	})
	if err != nil {
		return nil, err
	}
	index, _ := timing.Repeat(len(indexTimes), func() (time.Duration, error) {
		d := indexTimes[0]
		indexTimes = indexTimes[1:]
		return d, nil
	})

	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	runs, err := st.Runs(ctx, store.Filter{})
	if err != nil || len(runs) != 1 {
		return nil, fmt.Errorf("runs after ingest: %v, %v", len(runs), err)
	}
	r := runs[0]
	read, err := timing.Repeat(max(5, c.Repeat), func() (time.Duration, error) {
		return timing.Timed(func() error {
			p, err := st.Points(ctx, r.ID, keys[0], store.PointsOptions{})
			if err == nil && p.Len() != steps {
				err = fmt.Errorf("read %d points, want %d", p.Len(), steps)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	plainRead, err := timing.Repeat(c.Repeat, func() (time.Duration, error) {
		return timing.Timed(func() error { return readPlain(plainPath, 0, steps) })
	})
	if err != nil {
		return nil, err
	}
	const summaries = 1000
	sum, err := timing.Repeat(c.Repeat, func() (time.Duration, error) {
		return timing.Timed(func() error {
			for range summaries {
				if _, err := summary.Load(ctx, st, r, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	rl, _ := os.Stat(filepath.Join(r.Path, layout.RunLogFile))
	return []Row{
		{
			What:      fmt.Sprintf("ingest, Go client → embedded store, %s points over %d series", timing.Count(points), c.Series),
			Result:    fmt.Sprintf("%.2f M points/s", mpts(points, total)),
			Goal:      "≥ 5 M points/s",
			Reference: fmt.Sprintf("plain file, 32-byte records: %.2f M points/s", mpts(points, plain)),
			Ratio:     fmt.Sprintf("%.2f× the plain file", plain.Seconds()/total.Seconds()),
		},
		{
			What:      "indexing existing run logs",
			Result:    fmt.Sprintf("%.2f M points/s (run.log %.1f bytes/point)", mpts(points, index), float64(rl.Size())/float64(points)),
			Goal:      "≥ 2 M points/s",
			Reference: fmt.Sprintf("plain file: %.2f M points/s", mpts(points, plain)),
			Ratio:     fmt.Sprintf("%.2f×", plain.Seconds()/index.Seconds()),
		},
		{
			What:      fmt.Sprintf("read all points of a %s-point series in step order", timing.Count(steps)),
			Result:    timing.Millis(read),
			Goal:      "≤ 30 ms",
			Reference: fmt.Sprintf("scanning the plain file: %s", timing.Millis(plainRead)),
			Ratio:     fmt.Sprintf("%.1f× faster", plainRead.Seconds()/read.Seconds()),
		},
		{
			What:   fmt.Sprintf("summary of one run with %d series", c.Series),
			Result: fmt.Sprintf("%.0f µs", float64(sum.Microseconds())/summaries),
			Goal:   "≤ 1 ms",
		},
	}, nil
}

// writePlain appends every point as a 32-byte record, the fastest way to
// put points on disk, and syncs the file as the client does.
func writePlain(path string, vals [][]float64, base float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var rec [recordSize]byte
	for s, row := range vals {
		t := base + float64(s)*0.05
		for k, v := range row {
			binary.LittleEndian.PutUint64(rec[0:], uint64(s))
			binary.LittleEndian.PutUint64(rec[8:], math.Float64bits(t))
			binary.LittleEndian.PutUint32(rec[16:], uint32(k))
			binary.LittleEndian.PutUint64(rec[24:], math.Float64bits(v))
			bw.Write(rec[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// readPlain scans the plain file for the points of one key.
func readPlain(path string, key uint32, want int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	steps := make([]int64, 0, want)
	times := make([]float64, 0, want)
	values := make([]float64, 0, want)
	buf := make([]byte, recordSize<<15)
	for {
		n, err := io.ReadFull(f, buf)
		for p := 0; p+recordSize <= n; p += recordSize {
			r := buf[p : p+recordSize]
			if binary.LittleEndian.Uint32(r[16:]) != key {
				continue
			}
			steps = append(steps, int64(binary.LittleEndian.Uint64(r)))
			times = append(times, math.Float64frombits(binary.LittleEndian.Uint64(r[8:])))
			values = append(values, math.Float64frombits(binary.LittleEndian.Uint64(r[24:])))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if len(values) != want {
		return fmt.Errorf("plain file held %d points of key %d, want %d", len(values), key, want)
	}
	return nil
}

// logRun logs the values through the Go client, one LogStep per step.
func logRun(home string, keys []string, vals [][]float64) error {
	run, err := runlog.Init(runlog.Options{Home: home, Project: "bench", Name: "ingest", DisableGit: true,
		Config: map[string]any{"lr": 3e-4, "steps": len(vals)}})
	if err != nil {
		return err
	}
	m := make(map[string]float64, len(keys))
	for s, row := range vals {
		for k, key := range keys {
			m[key] = row[k]
		}
		if err := run.LogStep(int64(s), m); err != nil {
			return err
		}
	}
	return run.Finish(0)
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
