// Package serverbench measures `runlog ui` against its goals and prints one
// Markdown table. `runlog-bench server` runs it.
//
//   - the series endpoint: a 1 M-point series downsampled to 2,000 points,
//     the first request by step (goal ≤ 10 ms; from the store's overview)
//     beside a first request that decodes every point (the wallclock
//     axis), the following ones (goal ≤ 2 ms; the answer kept), zoomed,
//     and on the wallclock and active-time axes (the cache of decoded
//     series);
//   - the runs list of 1,000 runs;
//   - remote ingest: the Go client streaming a 10 M-point run to the server
//     on loopback in batches (goal ≥ 1 M points/s acknowledged, that is,
//     synced to the server's disk), then several clients at once.
//
// The server runs in this process behind a real TCP listener on
// 127.0.0.1, as `runlog ui` serves; clients talk to it over HTTP.
package serverbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/version"
)

// Config sizes the benchmark.
type Config struct {
	Dir          string // scratch folder; removed afterwards unless Keep
	Keep         bool
	Points       int // points of the series the series endpoint reads
	Width        int // points asked for
	IngestPoints int // points of the streamed run
	Series       int // series of the streamed run
	Clients      int // clients streaming at once, in the concurrent case
	Runs         int // runs of the runs list
	Repeat       int // repetitions; medians are reported
	Out          io.Writer
	Log          io.Writer // progress, the server's log, and each row as it is measured
}

// Default is the configuration the goals are stated for.
var Default = Config{Points: 1_000_000, Width: 2000, IngestPoints: 10_000_000, Series: 10, Clients: 4, Runs: 1000, Repeat: 5}

type row struct{ what, result, goal, note string }

// Run measures every row and prints the table to c.Out.
func Run(ctx context.Context, c Config) error {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "runlog-bench-server-*"); err != nil {
			return err
		}
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	var rows []row
	add := func(r row) {
		rows = append(rows, r)
		fmt.Fprintf(c.Log, "%-70s %s\n", r.what, r.result)
	}
	if err := benchSeries(ctx, c, filepath.Join(dir, "series"), add); err != nil {
		return fmt.Errorf("series: %w", err)
	}
	if err := benchRuns(ctx, c, filepath.Join(dir, "runs"), add); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	if err := benchIngest(ctx, c, filepath.Join(dir, "ingest"), add); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(c.Out, "\n%d cores (GOMAXPROCS %d), %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintln(c.Out, "| what | result | goal | note |")
	fmt.Fprintln(c.Out, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(c.Out, "| %s | %s | %s | %s |\n", r.what, r.result, r.goal, r.note)
	}
	return nil
}

// serve starts a server on home behind a loopback listener.
func (c Config) serve(home string) (base string, stop func(), err error) {
	srv, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0", Version: version.String(),
		Logf: func(f string, a ...any) { fmt.Fprintf(c.Log, f+"\n", a...) }})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Serve(ctx, ln)
		close(done)
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done; srv.Close() }, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func rate(points int, d time.Duration) string {
	return fmt.Sprintf("%.2f M points/s", float64(points)/d.Seconds()/1e6)
}
