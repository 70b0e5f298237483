// Package storebench measures runlog's storage against its goals and
// against a plain file of 32-byte records, side by side in one run, and
// prints one table. `runlog-bench store` runs it; docs/benchmarks.md
// records its output.
package storebench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Config sizes the benchmark.
type Config struct {
	Dir        string // scratch folder; removed afterwards unless Keep
	Keep       bool
	Runlog     string // the runlog binary, for the whole-process ls
	Points     int    // points of the ingest benchmark (over Series series)
	Series     int
	ReadPoints int // points of the series read back
	LsRuns     int // runs for the ls benchmark
	Repeat     int // repetitions; medians are reported
	Out        io.Writer
	Log        io.Writer // progress

	// The runner's overhead is measured on the tiny LM when TinyLM names
	// its binary.
	TinyLM       string
	TinyLMConfig string
	TinyLMSteps  int

	// Only, if not empty, names the benchmarks to run: ingest, size, log,
	// ls, runner.
	Only []string
}

// Default is the configuration the goals are stated for.
var Default = Config{Points: 10_000_000, Series: 10, ReadPoints: 1_000_000, LsRuns: 10_000, Repeat: 3,
	TinyLMConfig: "examples/tinylm/config.json", TinyLMSteps: 400}

// Row is one line of the result table.
type Row struct {
	What      string
	Result    string
	Goal      string
	Reference string
	Ratio     string
}

// Run runs every benchmark and prints the table.
func Run(ctx context.Context, c Config) ([]Row, error) {
	if c.Repeat < 1 {
		c.Repeat = 1
	}
	dir, err := os.MkdirTemp(c.Dir, "runlog-bench-*")
	if err != nil {
		return nil, err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	var rows []Row
	steps := []struct {
		id, name string
		fn       func(context.Context, Config, string) ([]Row, error)
	}{
		{"ingest", "ingest and read", ingestAndRead},
		{"size", "bytes per point", bytesPerPoint},
		{"log", "Log cost", logCost},
		{"ls", "ls over many runs", lsRuns},
		{"runner", "runner overhead", runnerOverhead},
	}
	for _, s := range steps {
		if len(c.Only) > 0 && !slices.Contains(c.Only, s.id) {
			continue
		}
		c.progress("%s…", s.name)
		r, err := s.fn(ctx, c, filepath.Join(dir, strings.ReplaceAll(s.name, " ", "-")))
		if err != nil {
			return rows, fmt.Errorf("%s: %w", s.name, err)
		}
		rows = append(rows, r...)
	}
	Print(c.Out, rows)
	return rows, nil
}

func (c Config) progress(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Print writes rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	if w == nil {
		return
	}
	fmt.Fprintln(w, "| what | result | goal | reference (same run) | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.What, r.Result, r.Goal, r.Reference, r.Ratio)
	}
}

func mpts(points int, d time.Duration) float64 { return float64(points) / d.Seconds() / 1e6 }

// workload generates the values of a training run's series at a step: a
// noisy float32 loss (as .item() returns it), a cosine learning-rate
// schedule with warmup, throughput, a gradient norm, and further noisy
// float32 metrics up to n series.
type workload struct {
	n     int
	steps int
	rng   *rand.Rand
}

func newWorkload(n, steps int) *workload {
	return &workload{n: n, steps: steps, rng: rand.New(rand.NewPCG(1, 2))}
}

// keys returns the workload's metric names.
func (w *workload) keys() []string {
	base := []string{"train_loss", "learning_rate", "tokens_per_sec", "grad_norm"}
	for i := len(base); i < w.n; i++ {
		base = append(base, fmt.Sprintf("metric_%02d", i))
	}
	return base[:w.n]
}

// values fills v with the values of step s.
func (w *workload) values(s int, v []float64) {
	x := float64(s) / float64(w.steps)
	for i := range v {
		switch i {
		case 0:
			v[i] = float64(float32(3.5*math.Exp(-6*x) + 1.2 + 0.05*w.rng.NormFloat64()))
		case 1:
			v[i] = lr(s, w.steps)
		case 2:
			v[i] = float64(float32(85000 + 2000*w.rng.NormFloat64()))
		default:
			v[i] = float64(float32(1 + 0.3*math.Exp(-3*x) + 0.1*w.rng.NormFloat64()))
		}
	}
}

// lr is a cosine schedule with linear warmup, in float64 as schedulers
// compute it.
func lr(s, steps int) float64 {
	const peak, floor = 3e-4, 3e-5
	warm := steps / 50
	if s < warm {
		return peak * float64(s+1) / float64(warm)
	}
	p := float64(s-warm) / float64(max(1, steps-warm))
	return floor + 0.5*(peak-floor)*(1+math.Cos(math.Pi*p))
}
