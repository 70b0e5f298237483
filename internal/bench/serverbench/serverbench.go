// Command runlog-serverbench measures `runlog ui` against its goals and
// prints one Markdown table:
//
//   - the series endpoint: a 1 M-point series downsampled to 2,000 points
//     (goal ≤ 20 ms), the first request (decoding the series) and the
//     following ones (served from the cache of decoded series), zoomed, and
//     on the wallclock axis;
//   - remote ingest: the Go client streaming a 10 M-point run to the server
//     on loopback in batches (goal ≥ 1 M points/s acknowledged, that is,
//     synced to the server's disk), then several clients at once.
//
// The server runs in this process behind a real TCP listener on
// 127.0.0.1, as `runlog ui` serves; clients talk to it over HTTP.
//
//	go run ./cmd/runlog-serverbench
//	go run ./cmd/runlog-serverbench -ingest-points 2000000 -repeat 3   # a quick look
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/version"
)

type config struct {
	dir          string
	keep         bool
	points       int // points of the series the series endpoint reads
	width        int // points asked for
	ingestPoints int // points of the streamed run
	series       int // series of the streamed run
	clients      int // concurrent clients
	runs         int // runs of the runs list
	repeat       int
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", "", "scratch folder (default: a new temporary one)")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch folder")
	flag.IntVar(&c.points, "points", 1_000_000, "points of the series read by the series endpoint")
	flag.IntVar(&c.width, "width", 2000, "points the series endpoint is asked for")
	flag.IntVar(&c.ingestPoints, "ingest-points", 10_000_000, "points streamed by the Go client")
	flag.IntVar(&c.series, "series", 10, "series of the streamed run")
	flag.IntVar(&c.clients, "clients", 4, "clients streaming at once, in the concurrent case")
	flag.IntVar(&c.runs, "runs", 1000, "runs of the runs list")
	flag.IntVar(&c.repeat, "repeat", 5, "repetitions; medians are reported")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "runlog-serverbench:", err)
		os.Exit(1)
	}
}

type row struct{ what, result, goal, note string }

func run(ctx context.Context, c config) error {
	dir := c.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "runlog-serverbench-*"); err != nil {
			return err
		}
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	var rows []row
	add := func(r row) {
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "%-70s %s\n", r.what, r.result)
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
	fmt.Printf("\n%d cores (GOMAXPROCS %d), %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Println("| what | result | goal | note |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.what, r.result, r.goal, r.note)
	}
	return nil
}

// serve starts a server on home behind a loopback listener.
func serve(home string) (base string, stop func(), err error) {
	srv, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0", Version: version.String(),
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
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

// benchSeries measures the series endpoint on a run with one series of
// c.points points.
func benchSeries(ctx context.Context, c config, home string, add func(row)) error {
	fmt.Fprintf(os.Stderr, "writing a run of %d points…\n", c.points)
	r, err := runlog.Init(runlog.Options{Home: home, Name: "series-bench", DisableGit: true, URL: "-"})
	if err != nil {
		return err
	}
	for step := range c.points {
		loss := 4*math.Exp(-float64(step)/float64(c.points)*3) + 0.05*math.Sin(float64(step)/7)
		if step%100_003 == 50_000 {
			loss = 20 // spikes
		}
		if err := r.LogStep(int64(step), map[string]float64{"train_loss": loss}); err != nil {
			return err
		}
	}
	if err := r.Finish(0); err != nil {
		return err
	}
	base, stop, err := serve(home) // indexes the run
	if err != nil {
		return err
	}
	defer stop()
	client := &http.Client{}
	url := fmt.Sprintf("%s/api/v1/runs/%s/series?keys=train_loss&points=%d", base, r.ID(), c.width)
	get := func(u string) (int, error) {
		resp, err := client.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var ans struct {
			Series []struct {
				X []float64 `json:"x"`
			} `json:"series"`
		}
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return 0, fmt.Errorf("%s: %s", resp.Status, b)
		}
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			return 0, err
		}
		return len(ans.Series[0].X), nil
	}
	var got int
	var firsts []time.Duration
	for range max(1, c.repeat) {
		// A new server each time: its first request decodes the series.
		b, stop, err := serve(home)
		if err != nil {
			return err
		}
		t := time.Now()
		got, err = get(fmt.Sprintf("%s/api/v1/runs/%s/series?keys=train_loss&points=%d", b, r.ID(), c.width))
		firsts = append(firsts, time.Since(t))
		stop()
		if err != nil {
			return err
		}
	}
	first := bench.Median(firsts)
	pts := fmt.Sprintf("%s points", count(c.points))
	add(row{fmt.Sprintf("series endpoint, %s → %d (%d returned), first request (decodes the series)", pts, c.width, got), msf(first), "", "median of " + fmt.Sprint(c.repeat) + ", new server each"})
	if _, err := get(url); err != nil {
		return err
	}
	for _, v := range []struct{ what, url string }{
		{fmt.Sprintf("**series endpoint, %s → %d, by step**", pts, c.width), url},
		{"the same, zoomed to a tenth of the steps", url + fmt.Sprintf("&from=%d&to=%d", c.points/2, c.points/2+c.points/10)},
		{"the same, wallclock axis", url + "&x=wallclock"},
		{"the same, active-time axis", url + "&x=active"},
	} {
		get(v.url) // the axis is computed once
		d, err := bench.Time(max(c.repeat, 20), func() error { _, err := get(v.url); return err })
		if err != nil {
			return err
		}
		goal := ""
		if v.url == url {
			goal = "≤ 20 ms"
		}
		add(row{v.what, msf(d), goal, "median of " + fmt.Sprint(max(c.repeat, 20)) + ", cached decoded series"})
	}
	return nil
}

// benchRuns measures the runs list on a home of c.runs runs of a sweep.
func benchRuns(ctx context.Context, c config, home string, add func(row)) error {
	fmt.Fprintf(os.Stderr, "writing %d runs…\n", c.runs)
	for i := range c.runs {
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
	for i := range max(1, c.repeat) {
		var err error
		if base, stop, err = serve(home); err != nil {
			return err
		}
		t := time.Now()
		if err := getOK(base + "/api/v1/runs"); err != nil {
			return err
		}
		firsts = append(firsts, time.Since(t))
		if i < max(1, c.repeat)-1 {
			stop()
		}
	}
	defer stop()
	add(row{fmt.Sprintf("runs list, %d runs, first request (reads every run's summary and series)", c.runs), msf(bench.Median(firsts)), "", "median of " + fmt.Sprint(c.repeat) + ", new server each"})
	for _, v := range []struct{ what, url string }{
		{fmt.Sprintf("runs list, %d runs, 100 shown", c.runs), "/api/v1/runs"},
		{"the same, all shown", "/api/v1/runs?limit=10000"},
		{"the same, searched and sorted: `config.lr > 5e-4 and metric.val_loss.best < 3`, by summary.val_loss", "/api/v1/runs?q=config.lr+%3E+5e-4+and+metric.val_loss.best+%3C+3&sort=summary.val_loss&limit=10000"},
	} {
		d, err := bench.Time(max(c.repeat, 10), func() error { return getOK(base + v.url) })
		if err != nil {
			return err
		}
		add(row{v.what, msf(d), "", "median of " + fmt.Sprint(max(c.repeat, 10))})
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

// benchIngest measures remote ingest: the Go client streaming to the
// server, alone and several at once.
func benchIngest(ctx context.Context, c config, dir string, add func(row)) error {
	for _, clients := range []int{1, c.clients} {
		var ack, indexed, local []time.Duration
		for rep := range max(1, min(c.repeat, 3)) {
			a, ix, l, err := ingestOnce(ctx, c, filepath.Join(dir, fmt.Sprintf("%d-%d", clients, rep)), clients)
			if err != nil {
				return err
			}
			ack, indexed, local = append(ack, a), append(indexed, ix), append(local, l)
		}
		a, ix, l := bench.Median(ack), bench.Median(indexed), bench.Median(local)
		what := fmt.Sprintf("**remote ingest, Go client streaming %s points (%d series) to the server**", count(c.ingestPoints), c.series)
		goal := "≥ 1 M points/s"
		if clients > 1 {
			what = fmt.Sprintf("remote ingest, %d clients at once, %s points in all", clients, count(c.ingestPoints))
			goal = ""
		}
		note := fmt.Sprintf("all acknowledged (synced on the server) %s after Init; logging alone took %s; median of %d", secs(a), secs(l), len(ack))
		add(row{what, rate(c.ingestPoints, a), goal, note})
		add(row{"… until the server's store has every point", rate(c.ingestPoints, ix), "", fmt.Sprintf("%s after Init (indexed every second)", secs(ix))})
	}
	return nil
}

// ingestOnce streams c.ingestPoints points from clients clients to a new
// server and returns the time until the server acknowledged all, until
// its store held all, and until the clients had logged all locally.
func ingestOnce(ctx context.Context, c config, dir string, clients int) (ack, indexed, local time.Duration, err error) {
	serverHome := filepath.Join(dir, "server")
	base, stop, err := serve(serverHome)
	if err != nil {
		return 0, 0, 0, err
	}
	defer stop()
	keys := make([]string, c.series)
	for i := range keys {
		keys[i] = fmt.Sprintf("metric_%02d", i)
	}
	steps := c.ingestPoints / c.series / clients
	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	var ids []string
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := func() error {
				r, err := runlog.Init(runlog.Options{Home: filepath.Join(dir, fmt.Sprintf("client-%d", i)), Name: "ingest-bench",
					DisableGit: true, URL: base, StreamTimeout: 10 * time.Minute})
				if err != nil {
					return err
				}
				vals := make(map[string]float64, len(keys))
				for step := range steps {
					for k, key := range keys {
						vals[key] = float64(step)*1e-6 + float64(k)
					}
					if err := r.LogStep(int64(step), vals); err != nil {
						return err
					}
				}
				mu.Lock()
				local = max(local, time.Since(start))
				ids = append(ids, r.ID())
				mu.Unlock()
				return r.Finish(0)
			}()
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	ack = time.Since(start)
	for _, id := range ids {
		a, err := os.Stat(layout.RunLog(filepath.Join(dir, "client-0"), id))
		if err == nil {
			b, err := os.Stat(layout.RunLog(serverHome, id))
			if err != nil || b.Size() != a.Size() {
				return 0, 0, 0, fmt.Errorf("run %s: the server has %v bytes, the client %d", id, b, a.Size())
			}
		}
	}
	db, err := sqlite.Open(layout.Store(serverHome))
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	want := int64(steps * c.series * clients)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var n int64
		for _, id := range ids {
			ser, err := db.Series(ctx, id)
			if err != nil {
				return 0, 0, 0, err
			}
			for _, s := range ser {
				n += s.Stats.Count
			}
		}
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("the server indexed %d of %d points", n, want)
		}
	}
	indexed = time.Since(start)
	os.RemoveAll(dir)
	return ack, indexed, local, nil
}

func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func rate(points int, d time.Duration) string {
	return fmt.Sprintf("%.2f M points/s", float64(points)/d.Seconds()/1e6)
}

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
