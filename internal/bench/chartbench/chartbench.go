// Command runlog-chartbench measures `runlog plot` against its goal — the
// loss curves of 10 runs of 1 M points each drawn in at most 1 s as a whole
// process — and prints where the time goes, as one Markdown table.
//
//	go build -o bin/runlog ./cmd/runlog
//	go run ./cmd/runlog-chartbench -runlog bin/runlog
//
// The runs are written once into a scratch home (about 300 MB of run logs
// and 60 MB of store; -keep and -dir reuse them).
package main

import (
	"context"
	"flag"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/bench"
	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

type config struct {
	dir    string
	keep   bool
	runlog string
	runs   int
	points int
	repeat int
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", "", "scratch home (default: a new temporary folder); an existing one made by -keep is reused")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch home")
	flag.StringVar(&c.runlog, "runlog", "", "the runlog binary, for the whole-process rows")
	flag.IntVar(&c.runs, "runs", 10, "runs")
	flag.IntVar(&c.points, "points", 1_000_000, "train_loss points per run")
	flag.IntVar(&c.repeat, "repeat", 5, "repetitions; medians are reported")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "runlog-chartbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	home := c.dir
	if home == "" {
		var err error
		if home, err = os.MkdirTemp("", "runlog-chartbench-*"); err != nil {
			return err
		}
	}
	if !c.keep {
		defer os.RemoveAll(home)
	}
	out := filepath.Join(home, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var rows [][3]string
	add := func(what string, d time.Duration, note string) {
		rows = append(rows, [3]string{what, ms(d), note})
		fmt.Fprintf(os.Stderr, "%-60s %s\n", what, ms(d))
	}

	ids := make([]string, c.runs)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench%02d", i)
	}
	if _, err := os.Stat(layout.Store(home)); err != nil {
		fmt.Fprintf(os.Stderr, "writing %d runs of %d points…\n", c.runs, c.points)
		d, err := bench.Timed(func() error { return writeRuns(home, ids, c.points) })
		if err != nil {
			return err
		}
		add("setup: write the run logs", d, "not part of plot")
		d, err = bench.Timed(func() error { return bench.IndexHome(ctx, home) })
		if err != nil {
			return err
		}
		add("setup: first index of the runs", d, "not part of plot")
	}

	args := append([]string{"--home", home, "plot"}, ids...)
	if c.runlog != "" {
		for _, v := range []struct {
			what string
			args []string
		}{
			{"process start and exit: `runlog --version`", []string{"--version"}},
			{fmt.Sprintf("**`runlog plot` %d runs × %s points, whole process**", c.runs, count(c.points)), append(args, "-o", out+"/")},
			{"the same with `--smooth 0.9`", append(args, "-o", out+"/", "--smooth", "0.9")},
			{"the same, loss curves by step only (`--x step -o f.png`)", append(args, "--x", "step", "-o", filepath.Join(out, "step.png"))},
			{"the same as SVG (`-o f.svg`)", append(args, "-o", filepath.Join(out, "f.svg"))},
		} {
			d, err := bench.Time(c.repeat, func() error {
				cmd := exec.Command(c.runlog, v.args...)
				cmd.Stderr = os.Stderr
				return cmd.Run()
			})
			if err != nil {
				return fmt.Errorf("%s: %w", v.what, err)
			}
			add(v.what, d, "median of "+fmt.Sprint(c.repeat))
		}
	}

	// Where the time goes, stage by stage, in this process.
	var st *sqlite.DB
	d, err := bench.Time(c.repeat, func() error {
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
	d, err = bench.Time(c.repeat, func() error {
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
		d, err := bench.Time(c.repeat, func() error { return readAll(ctx, st, ids, par) })
		if err != nil {
			return err
		}
		add(fmt.Sprintf("read train_loss of every run: %s points, %d at a time", count(c.points*c.runs), par), d, "Store.Points")
	}
	axes := []series.Axis{series.AxisStep, series.AxisWallclock}
	for _, smooth := range []float64{0, 0.9} {
		d, err := bench.Time(c.repeat, func() error {
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
	d, err = bench.Time(c.repeat, func() error {
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
	d, err = bench.Time(c.repeat, func() error { fig.Image(); return nil })
	if err != nil {
		return err
	}
	add("draw it, 1600×600, two panels at once (Figure.Image)", d, "gonum/plot, vgimg")
	img := fig.Image()
	d, err = bench.Time(c.repeat, func() error { return png.Encode(io.Discard, img) })
	if err != nil {
		return err
	}
	add("encode the PNG", d, "image/png")
	d, err = bench.Time(c.repeat, func() error {
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

	fmt.Printf("\n%d runs × %s train_loss points (a val_loss every 1,000 steps, a learning rate every 100), %d CPUs, %s\n\n",
		c.runs, count(c.points), runtime.NumCPU(), runtime.Version())
	fmt.Println("| what | median | note |")
	fmt.Println("|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s |\n", r[0], r[1], r[2])
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

// writeRuns writes run logs as a training loop would: a step every 50 ms
// (so 1 M steps take 14 hours), a noisy float32 train loss at every step,
// a validation loss every 1,000 steps and the learning rate every 100.
func writeRuns(home string, ids []string, points int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = writeRun(home, id, i, points)
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

func writeRun(home, id string, i, points int) error {
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, layout.RunLogFile))
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	t := 1764201600.0 + float64(i)*3600
	seq := uint64(0)
	next := func() uint64 { seq++; return seq }
	buf := []byte(runfmt.Magic)
	buf, _ = runfmt.AppendJSON(buf, runfmt.TypeHeader, next(), runfmt.Header{Format: 1, ID: id, Name: fmt.Sprintf("lr-%d", i+1), Project: "chartbench", Time: t})
	keys := []string{"train_loss", "val_loss", "learning_rate"}
	for k, key := range keys {
		buf = runfmt.AppendKey(buf, next(), uint32(k), key)
	}
	rate := 1 + 0.15*float64(i)
	for s := range points {
		t += 0.05 + 0.003*rng.NormFloat64()
		base := 1.6 + 2.4*math.Exp(-float64(s)*rate/float64(points)*8)
		ids, vals := []uint32{0}, []float64{float64(float32(base + 0.08*rng.NormFloat64()))}
		if s%1000 == 0 {
			ids, vals = append(ids, 1), append(vals, base+0.03)
		}
		if s%100 == 0 {
			ids, vals = append(ids, 2), append(vals, 3e-4*0.5*(1+math.Cos(math.Pi*float64(s)/float64(points))))
		}
		buf = runfmt.AppendMetrics(buf, next(), int64(s), math.Round(t*1e6)/1e6, ids, vals)
		if len(buf) > 1<<20 {
			if _, err := f.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf, _ = runfmt.AppendJSON(buf, runfmt.TypeStatus, next(), runfmt.Status{Status: runfmt.StatusFinished, Time: t})
	_, err = f.Write(buf)
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%d M", n/1_000_000)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f M", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%d k", n/1000)
	}
	return fmt.Sprint(n)
}
