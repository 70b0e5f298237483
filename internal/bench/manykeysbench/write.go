package manykeysbench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// setup writes the home of ordinary runs, indexes it, copies it, store
// included, and writes the many-keys run into the copy, so that indexing
// the copy indexes that run alone.
func (b *bench) setup(ctx context.Context) error {
	b.ordinary, b.many = filepath.Join(b.dir, "ordinary"), filepath.Join(b.dir, "manykeys")
	b.progress("writing %d ordinary runs of %d steps…", b.Runs, b.Steps)
	ids, err := writeOrdinary(b.ordinary, b.Runs, b.Steps)
	if err != nil {
		return fmt.Errorf("write the ordinary runs: %w", err)
	}
	b.ordinaryID = ids[0]
	d, rss, err := b.runlog(ctx, "--home", b.ordinary, "index")
	if err != nil {
		return err
	}
	b.indexOrdinary, b.indexOrdinaryRSS = d, rss
	if err := copyTree(b.ordinary, b.many); err != nil {
		return fmt.Errorf("copy the home: %w", err)
	}
	b.progress("writing the many-keys run: %d steps × %d new keys…", b.Steps, b.KeysPerStep)
	d, err = timing.Timed(func() error {
		b.bigID, err = writeManyKeys(b.many, b.Steps, b.KeysPerStep)
		return err
	})
	if err != nil {
		return fmt.Errorf("write the many-keys run: %w", err)
	}
	b.progress("  written in %s", secs(d))
	return nil
}

// index times `runlog index` of the many-keys run, as a whole process.
func (b *bench) index(ctx context.Context) error {
	d, rss, err := b.runlog(ctx, "--home", b.many, "index")
	if err != nil {
		return err
	}
	keys := timing.Count(b.Steps*b.KeysPerStep + 1)
	b.add(Row{
		What:      fmt.Sprintf("**`runlog index` of the many-keys run, %d steps × %d new keys (%s series), whole process**", b.Steps, b.KeysPerStep, keys),
		Result:    secs(d),
		Goal:      "≤ 10 s",
		Reference: fmt.Sprintf("indexing the %d ordinary runs: %s", b.Runs, dur(b.indexOrdinary)),
		Ratio:     goalRatio(d.Seconds(), 10, 1, "the goal"),
		Note:      "the home's other runs already indexed",
	})
	b.add(Row{
		What:      "… its peak RSS",
		Result:    rssString(rss),
		Reference: "indexing the ordinary runs: " + rssString(b.indexOrdinaryRSS),
		Ratio:     ratio(float64(rss), float64(b.indexOrdinaryRSS), "the ordinary runs"),
		Note:      "maxrss of the child's rusage",
	})
	return nil
}

// writeOrdinary writes n runs of a learning-rate sweep, 4 at a time, and
// returns their ids in order.
func writeOrdinary(home string, n, steps int) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids[i], errs[i] = writeOrdinaryRun(home, i, steps)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func writeOrdinaryRun(home string, i, steps int) (string, error) {
	lr := 1e-4 * float64(1+i%10)
	r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: fmt.Sprintf("run-%02d", i), DisableGit: true, URL: "-",
		Tags: []string{"bench"}, Config: map[string]any{"lr": lr, "seed": i}})
	if err != nil {
		return "", err
	}
	vals := make(map[string]float64, 3)
	for step := range steps {
		clear(vals)
		x := float64(step) / float64(steps)
		vals["train_loss"] = 4*math.Exp(-3*x*lr*1e4) + 0.5
		vals["lr"] = lr * (0.5 + 0.5*math.Cos(math.Pi*x))
		if step%10 == 9 {
			vals["val_loss"] = vals["train_loss"] + 0.1
		}
		if err := r.LogStep(int64(step), vals); err != nil {
			return "", err
		}
	}
	return r.ID(), r.Finish(0)
}

// writeManyKeys writes the many-keys run: at every step train_loss and
// perKey keys never logged before, layer0000/param0000/grad_norm on.
func writeManyKeys(home string, steps, perStep int) (string, error) {
	r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: "many-keys", DisableGit: true, URL: "-",
		Tags: []string{"bench", "many-keys"}, Config: map[string]any{"lr": 3e-4}})
	if err != nil {
		return "", err
	}
	vals := make(map[string]float64, perStep+1)
	for step := range steps {
		clear(vals)
		vals["train_loss"] = 4*math.Exp(-3*float64(step)/float64(steps)) + 0.5
		for k := range perStep {
			i := step*perStep + k
			vals[manyKey(i)] = 1 / (1 + float64(k))
		}
		if err := r.LogStep(int64(step), vals); err != nil {
			return "", err
		}
	}
	return r.ID(), r.Finish(0)
}

// manyKey names the i-th key of the many-keys run.
func manyKey(i int) string {
	return fmt.Sprintf("layer%04d/param%04d/grad_norm", i/1000, i%1000)
}

// copyTree copies the folders and regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, to)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runlog runs the runlog binary with args and returns how long it took and
// its peak RSS in bytes (0 where unknown).
func (b *bench) runlog(ctx context.Context, args ...string) (time.Duration, int64, error) {
	cmd := b.command(ctx, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("runlog %v: %v: %s", args, err, tail(out))
	}
	if args[len(args)-1] == "index" {
		b.progress("  runlog index: %s", trimNL(out))
	}
	rss, _ := maxRSS(cmd.ProcessState)
	return d, rss, nil
}

func trimNL(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}

// tail returns the end of a process's output, for an error message.
func tail(out []byte) string {
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return trimNL(out)
}
