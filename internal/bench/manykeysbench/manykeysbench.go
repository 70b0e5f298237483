// Package manykeysbench measures runlog against issue 12's goals for one
// run with very many metric keys, and prints one Markdown table.
// `runlog-bench manykeys` runs it.
//
// It writes a home of ordinary runs and a copy of it that also holds the
// many-keys run (1,000 steps each logging 1,000 new keys at the default
// sizes: 1 M series), with the Go client, then measures, as whole runlog
// processes:
//
//   - `runlog index` of the many-keys run (goal ≤ 10 s) and its peak RSS;
//   - GET /api/v1/runs and `runlog ls` on the home with it against the home
//     without it (goal ≤ 2×);
//   - the big run's detail, alone, and several clients browsing it as the
//     web UI does — runs list, run detail with its first page of series, a
//     later page, a search of its series, one series — with each request's
//     latency and size, and the server's peak RSS (goal < 1 GB), beside the
//     same browsing of an ordinary run.
//
// Peak RSS is the child's rusage after it exits and, on Linux, VmHWM of
// /proc/<pid>/status sampled while it runs; elsewhere it may be n/a.
package manykeysbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
)

// Config sizes the benchmark.
type Config struct {
	Dir         string // folder to make the scratch folder in (default: the system's temporary folder)
	Keep        bool   // keep the scratch folder
	Runlog      string // the runlog binary
	Runs        int    // ordinary runs in both homes (train_loss, val_loss, lr)
	Steps       int    // steps of every run
	KeysPerStep int    // new keys the many-keys run logs at each step, besides train_loss
	Clients     int    // clients browsing at once
	Duration    time.Duration
	Rounds      int // most rounds of browsing per client; Duration bounds them too
	Repeat      int // repetitions of the single-request and ls timings; medians are reported
	Out         io.Writer
	Log         io.Writer // progress, and each row as it is measured
}

// Default is the configuration of issue 12: 1,000 steps × 1,000 new keys.
var Default = Config{Runlog: "bin/runlog", Runs: 20, Steps: 1000, KeysPerStep: 1000,
	Clients: 8, Duration: 20 * time.Second, Rounds: 50, Repeat: 5}

// Row is one line of the result table.
type Row struct {
	What, Result, Goal, Reference, Ratio, Note string
}

// Run writes the homes, measures every row and prints the table to c.Out.
func Run(ctx context.Context, c Config) ([]Row, error) {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	c.Repeat, c.Rounds, c.Clients = max(1, c.Repeat), max(1, c.Rounds), max(1, c.Clients)
	c.Steps, c.Runs = max(1, c.Steps), max(1, c.Runs)
	if c.Runlog == "" {
		return nil, fmt.Errorf("no runlog binary: build it with go build -o bin/runlog ./cmd/runlog and pass --runlog")
	}
	bin, err := filepath.Abs(c.Runlog)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: build it with go build -o bin/runlog ./cmd/runlog, or pass --runlog", err)
	}
	c.Runlog = bin
	dir, err := os.MkdirTemp(c.Dir, "runlog-bench-manykeys-")
	if err != nil {
		return nil, err
	}
	if c.Keep {
		fmt.Fprintf(c.Log, "scratch folder (kept): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{Config: c, dir: dir}
	for _, step := range []func(context.Context) error{b.setup, b.index, b.ui, b.ls} {
		if err := step(ctx); err != nil {
			return b.rows, err
		}
	}
	fmt.Fprintf(c.Out, "\n%d ordinary runs × %d steps; the many-keys run: %d steps × %d new keys (%s series) and train_loss; %d clients browsing for at most %s or %d rounds each; %d CPUs (GOMAXPROCS %d), %s/%s, %s\n\n",
		c.Runs, c.Steps, c.Steps, c.KeysPerStep, timing.Count(c.Steps*c.KeysPerStep+1), c.Clients, c.Duration, c.Rounds,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	Print(c.Out, b.rows)
	return b.rows, nil
}

// Print writes rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| what | result | goal | reference (same run) | ratio | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(r.What), cell(r.Result), cell(r.Goal), cell(r.Reference), cell(r.Ratio), cell(r.Note))
	}
}

// cell makes s fit in a table cell: an error message may hold bars and
// line breaks.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ").Replace(s)
}

// bench is one run of the benchmark: its configuration, the homes it
// wrote, what it learnt on the way, and the rows measured so far.
type bench struct {
	Config
	dir               string
	ordinary, many    string // the two homes
	ordinaryID, bigID string // the run browsed in each
	indexOrdinary     time.Duration
	indexOrdinaryRSS  int64
	rows              []Row
}

func (b *bench) add(r Row) {
	b.rows = append(b.rows, r)
	fmt.Fprintf(b.Log, "%-70s %s\n", r.What, r.Result)
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.Log, format+"\n", args...)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// dur prints d in seconds from a second up, else in milliseconds.
func dur(d time.Duration) string {
	if d >= time.Second {
		return secs(d)
	}
	return timing.Millis(d)
}

func mb(bytes int64) string {
	switch {
	case bytes >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(bytes)/(1<<30))
	case bytes >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(bytes)/(1<<20))
	case bytes >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(bytes)/(1<<10))
	}
	return fmt.Sprintf("%d B", bytes)
}
