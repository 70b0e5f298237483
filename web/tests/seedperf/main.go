// Command seedperf writes synthetic run folders for the web UI's performance
// script (web/tests/perf.mjs) straight in runlog's run.log format, as
// internal/bench/groupbench does: far faster than a client for 10,000 runs
// or 10 M points. runlog indexes them when `runlog ui` starts.
//
//	go run ./web/tests/seedperf table HOME [N]          N runs (10000) in one project, "big"
//	go run ./web/tests/seedperf groups HOME [G S P]     G lrs (10) × S seeds (10), P points each (100000)
//	go run ./web/tests/seedperf million HOME [P]        one run of P points (1000000)
//
// The curves and configs are made up; the folders are real runs in every
// other respect.
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: seedperf table|groups|million HOME [sizes]"))
	}
	home := os.Args[2]
	arg := func(i, def int) int {
		if len(os.Args) > 3+i {
			n, err := strconv.Atoi(os.Args[3+i])
			if err != nil {
				fail(err)
			}
			return n
		}
		return def
	}
	var jobs []func() error
	switch os.Args[1] {
	case "table":
		for i := range arg(0, 10_000) {
			jobs = append(jobs, func() error { return tableRun(home, i) })
		}
	case "groups":
		g, s, p := arg(0, 10), arg(1, 10), arg(2, 100_000)
		for gi := range g {
			for si := range s {
				jobs = append(jobs, func() error { return groupRun(home, gi, si, g, p) })
			}
		}
	case "million":
		p := arg(0, 1_000_000)
		jobs = append(jobs, func() error { return millionRun(home, p) })
	default:
		fail(fmt.Errorf("seedperf: %s: want table, groups or million", os.Args[1]))
	}
	work := make(chan func() error)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				errs <- j()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seedperf:", err)
	os.Exit(1)
}

// writer: one run.log, written in 1 MiB pieces.
type writer struct {
	f   *os.File
	enc *runfmt.Encoder
	err error
}

func create(home, id string, h runfmt.Header, config string) (*writer, error) {
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, layout.RunLogFile))
	if err != nil {
		return nil, err
	}
	w := &writer{f: f, enc: runfmt.NewEncoder(0, nil)}
	h.Format, h.ID = 1, id
	if err := w.enc.Begin(h); err != nil {
		f.Close()
		return nil, err
	}
	w.enc.Record(runfmt.TypeConfig, []byte(config))
	return w, nil
}

func (w *writer) keys(names ...string) []uint32 {
	ids := make([]uint32, len(names))
	for i, n := range names {
		if w.err == nil {
			ids[i], w.err = w.enc.Key(n)
		}
	}
	return ids
}

func (w *writer) metrics(step int64, t float64, ids []uint32, vals []float64) {
	w.enc.Metrics(step, math.Round(t*1e6)/1e6, ids, vals)
	if w.enc.Len() > 1<<20 && w.err == nil {
		_, w.err = w.f.Write(w.enc.Bytes())
		w.enc.Take(w.enc.Bytes())
	}
}

func (w *writer) finish(t float64, summary string) error {
	if summary != "" {
		w.enc.Record(runfmt.TypeSummary, []byte(summary))
	}
	if err := w.enc.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t}); err != nil && w.err == nil {
		w.err = err
	}
	if w.err == nil {
		_, w.err = w.f.Write(w.enc.Bytes())
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// tableRun: a small run of a 10,000-run sweep, all in project "big".
func tableRun(home string, i int) error {
	rng := rand.New(rand.NewPCG(1, uint64(i)))
	lr := math.Pow(10, -4+2.5*rng.Float64())
	bs := []int{16, 32, 64, 128}[rng.IntN(4)]
	d := []int{128, 256, 512}[rng.IntN(3)]
	t := 1764201600.0 + float64(i)*60
	w, err := create(home, fmt.Sprintf("tb%06d", i), runfmt.Header{Name: fmt.Sprintf("big-%05d", i), Project: "big",
		Group: fmt.Sprintf("sweep-%d", i%8), Tags: []string{"synthetic"}, Time: t},
		fmt.Sprintf(`{"lr":%g,"batch_size":%d,"model":{"d_model":%d,"n_layers":%d},"warmup_steps":%d,"seed":%d}`,
			lr, bs, d, 2+2*rng.IntN(4), []int{100, 500, 1000}[rng.IntN(3)], i))
	if err != nil {
		return err
	}
	ids := w.keys("train_loss", "learning_rate", "val_loss")
	floor := 1.2 + rng.Float64()
	loss := func(s int) float64 { return floor + 3*math.Exp(-float64(s)*lr*2) }
	for s := 0; s <= 1000; s += 50 {
		t += 3
		w.metrics(int64(s), t, ids[:2], []float64{loss(s) + 0.05*rng.NormFloat64(), lr})
	}
	w.metrics(1000, t, ids[2:], []float64{loss(1000) + 0.05})
	return w.finish(t, fmt.Sprintf(`{"best_val_loss":%g}`, loss(1000)+0.05))
}

// groupRun: one member of an lr sweep, group g of n, seed s, p points of
// train_loss, a val_loss every p/100 steps and the schedule.
func groupRun(home string, g, s, n, p int) error {
	lr := 1e-4 * math.Pow(10, 3*float64(g)/float64(max(1, n-1)))
	rng := rand.New(rand.NewPCG(uint64(g), uint64(s)))
	t := 1764201600.0 + float64(g*100+s)*7200
	w, err := create(home, fmt.Sprintf("cg%03d%03d", g, s), runfmt.Header{Name: fmt.Sprintf("lr=%.1e seed=%d", lr, s),
		Project: "groups", Group: "lr-sweep", Tags: []string{"synthetic"}, Time: t},
		fmt.Sprintf(`{"lr":%g,"seed":%d,"model":{"d_model":256}}`, lr, s))
	if err != nil {
		return err
	}
	ids := w.keys("train_loss", "val_loss", "learning_rate")
	rate := 2 + 6*float64(g)/float64(max(1, n))
	every := max(1, p/100)
	for i := range p {
		t += 0.05
		base := 1.5 + 2.5*math.Exp(-float64(i)*rate/float64(p)) + 0.02*float64(s%3)
		v := float64(float32(base + 0.05*rng.NormFloat64()))
		if i%every == 0 {
			sched := lr * min(1, float64(i)/2000) * (0.5 + 0.5*math.Cos(math.Pi*float64(i)/float64(p)))
			w.metrics(int64(i), t, ids, []float64{v, base + 0.03, sched})
		} else {
			w.metrics(int64(i), t, ids[:1], []float64{v})
		}
	}
	return w.finish(t, "")
}

// millionRun: one run, p points of train_loss.
func millionRun(home string, p int) error {
	rng := rand.New(rand.NewPCG(7, 7))
	t := 1764201600.0
	w, err := create(home, "mega0001", runfmt.Header{Name: "million", Project: "million", Tags: []string{"synthetic"}, Time: t}, `{"lr":0.001}`)
	if err != nil {
		return err
	}
	ids := w.keys("train_loss")
	for i := range p {
		t += 0.01
		w.metrics(int64(i), t, ids, []float64{float64(float32(1 + 3*math.Exp(-float64(i)/float64(p/5)) + 0.08*rng.NormFloat64()))})
	}
	return w.finish(t, "")
}
