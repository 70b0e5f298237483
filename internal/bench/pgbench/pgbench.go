// Package pgbench measures the PostgreSQL store against issue 17's goals,
// side by side with the SQLite store on the same workloads in the same
// run, and shows how its tables grow under a long live load. `runlog-bench
// postgres` runs it; docs/benchmarks.md records its output.
package pgbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/bench/storebench"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// Config sizes the benchmark.
type Config struct {
	// DSN is a PostgreSQL server whose user may create databases; the
	// benchmark creates and drops its own. Empty starts a throwaway
	// cluster with initdb.
	DSN    string
	Dir    string // scratch folder for the SQLite stores; removed afterwards
	Points int    // points of the size workload (storebench's loss run)
	Runs   int    // runs of the runs-list benchmark
	Series int    // points of the series downsampled
	Shown  int    // points the series is downsampled to
	Repeat int    // repetitions of each timing; medians are reported

	// The live load: LiveRuns runs logging LiveKeys keys, one point each
	// a round, for LiveRounds rounds, from LiveWriters writers.
	LiveRuns, LiveKeys, LiveRounds, LiveWriters int

	// Only, if not empty, names the benchmarks to run: size, runs,
	// series, live.
	Only []string
	Out  io.Writer
	Log  io.Writer // progress
}

// Default is the configuration the goals are stated for.
var Default = Config{Points: 2_000_000, Runs: 10_000, Series: 1_000_000, Shown: 2000, Repeat: 7,
	LiveRuns: 100, LiveKeys: 100, LiveRounds: 600, LiveWriters: 4}

// Row is one line of the comparison table.
type Row struct {
	What, Postgres, SQLite, Goal string
}

// Run runs the benchmarks and prints their tables.
func Run(ctx context.Context, c Config) error {
	c.Repeat = max(c.Repeat, 1)
	admin := c.DSN
	if admin == "" {
		c.progress("starting a throwaway PostgreSQL with initdb…")
		// Autovacuum looks every 10 s, as docs/team-server.md advises
		// for a team server, instead of every minute.
		cl, err := pgtest.Start("autovacuum_naptime=10s", "shared_buffers=256MB")
		if err != nil {
			return err
		}
		defer cl.Remove()
		admin = cl.DSN("postgres")
	}
	dir, err := os.MkdirTemp(c.Dir, "runlog-pgbench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{c: c, admin: admin, dir: dir}
	var rows []Row
	for _, s := range []struct {
		id string
		fn func(context.Context) ([]Row, error)
	}{
		{"size", b.size},
		{"runs", b.runsList},
		{"series", b.downsample},
	} {
		if len(c.Only) > 0 && !slices.Contains(c.Only, s.id) {
			continue
		}
		r, err := s.fn(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.id, err)
		}
		rows = append(rows, r...)
	}
	if len(rows) > 0 {
		Print(c.Out, rows)
	}
	if len(c.Only) == 0 || slices.Contains(c.Only, "live") {
		live, err := b.live(ctx)
		if err != nil {
			return fmt.Errorf("live: %w", err)
		}
		fmt.Fprintln(c.Out)
		PrintLive(c.Out, live)
	}
	return nil
}

// Print writes rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| what | PostgreSQL | SQLite (same run) | goal |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.What, r.Postgres, r.SQLite, r.Goal)
	}
}

type bench struct {
	c     Config
	admin string
	dir   string
	dbs   int
}

func (c Config) progress(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// stores opens a new PostgreSQL database and a new SQLite file.
func (b *bench) stores(ctx context.Context, name string) (pg *postgres.DB, lite *sqlite.DB, cleanup func(), err error) {
	b.dbs++
	dbName := fmt.Sprintf("runlog_bench_%d_%d", os.Getpid(), b.dbs)
	dsn, err := pgtest.CreateDatabase(ctx, b.admin, dbName)
	if err != nil {
		return nil, nil, nil, err
	}
	if pg, err = postgres.Open(ctx, dsn); err != nil {
		pgtest.DropDatabase(ctx, b.admin, dbName)
		return nil, nil, nil, err
	}
	home := filepath.Join(b.dir, name)
	os.MkdirAll(home, 0o755)
	if lite, err = sqlite.Open(layout.Store(home)); err != nil {
		pg.Close()
		pgtest.DropDatabase(ctx, b.admin, dbName)
		return nil, nil, nil, err
	}
	return pg, lite, func() {
		pg.Close()
		lite.Close()
		pgtest.DropDatabase(context.WithoutCancel(ctx), b.admin, dbName)
	}, nil
}

// size indexes storebench's loss run into both stores and compares their
// bytes per point.
func (b *bench) size(ctx context.Context) ([]Row, error) {
	b.c.progress("bytes per point: writing %s points of storebench's loss run…", timing.Count(b.c.Points))
	home := filepath.Join(b.dir, "size")
	points, _, err := storebench.WriteLossRun(home, b.c.Points)
	if err != nil {
		return nil, err
	}
	pg, lite, cleanup, err := b.stores(ctx, "size")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	for _, st := range []store.Store{pg, lite} {
		if _, err := ingest.Home(ctx, st, home, ingest.Options{}); err != nil {
			return nil, err
		}
	}
	lite.Close()
	fi, err := os.Stat(layout.Store(home))
	if err != nil {
		return nil, err
	}
	sz, err := measure(ctx, pg)
	if err != nil {
		return nil, err
	}
	return []Row{{
		What:     fmt.Sprintf("bytes per point: storebench's float32 loss + float64 LR schedule (%s points)", timing.Count(points)),
		Postgres: fmt.Sprintf("%.2f (chunk data %.2f)", float64(sz.total)/float64(points), float64(sz.data)/float64(points)),
		SQLite:   fmt.Sprintf("%.2f", float64(fi.Size())/float64(points)),
		Goal:     "≤ 8",
	}}, nil
}

// runsList writes c.Runs runs of a sweep into both stores and times the
// first page of the runs list filtered on a config value.
func (b *bench) runsList(ctx context.Context) ([]Row, error) {
	pg, lite, cleanup, err := b.stores(ctx, "runs")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	b.c.progress("runs list: writing %d runs into each store…", b.c.Runs)
	for _, st := range []store.Store{pg, lite} {
		if err := parallel(ctx, b.c.Runs, 4, func(i int) error { return st.Write(ctx, sweepRun(i)) }); err != nil {
			return nil, err
		}
	}
	// Measured on a settled table, as autovacuum leaves it: the versions
	// of the rows that writing left behind reclaimed, statistics taken.
	if _, err := pg.Pool().Exec(ctx, "VACUUM ANALYZE runs"); err != nil {
		return nil, err
	}
	// The page as the stores give it now: the config condition and the
	// page evaluated in SQL (Filter.Where, Limit). For reference, as the
	// list was read before: every run, its config decoded and filtered
	// here up to the first page.
	where := store.Cond{Op: store.CondGreater, Key: "lr", Value: 5e-4}
	var shown [2][]string // the page's runs, both ways
	pushed := func(st store.Store) func() error {
		return func() error {
			runs, err := st.Runs(ctx, store.Filter{Archived: store.NotArchived, Where: &where, Limit: 100})
			shown[0] = shown[0][:0]
			for i := range runs {
				shown[0] = append(shown[0], runs[i].ID)
			}
			return err
		}
	}
	inGo := func(st store.Store) func() error {
		return func() error {
			runs, err := st.Runs(ctx, store.Filter{Archived: store.NotArchived})
			if err != nil {
				return err
			}
			shown[1] = shown[1][:0]
			for i := range runs {
				if len(shown[1]) < 100 && where.Match(runs[i].Config) {
					shown[1] = append(shown[1], runs[i].ID)
				}
			}
			return nil
		}
	}
	// The worst case of a filter in SQL: one no run passes, so that every
	// run's config is looked at.
	none := store.Cond{Op: store.CondGreater, Key: "lr", Value: 1}
	empty := func(st store.Store) func() error {
		return func() error {
			runs, err := st.Runs(ctx, store.Filter{Archived: store.NotArchived, Where: &none, Limit: 100})
			if err == nil && len(runs) > 0 {
				err = fmt.Errorf("config.lr > 1 kept %d runs", len(runs))
			}
			return err
		}
	}
	var d, ref, all [2]time.Duration
	for i, st := range []store.Store{pg, lite} {
		if all[i], err = timing.Time(b.c.Repeat, empty(st)); err != nil {
			return nil, err
		}
		if d[i], err = timing.Time(b.c.Repeat, pushed(st)); err != nil {
			return nil, err
		}
		if ref[i], err = timing.Time(b.c.Repeat, inGo(st)); err != nil {
			return nil, err
		}
		if !slices.Equal(shown[0], shown[1]) {
			return nil, fmt.Errorf("store %d: the page filtered in SQL is not the page filtered here (%d and %d runs)", i, len(shown[0]), len(shown[1]))
		}
	}
	return []Row{{
		What:     fmt.Sprintf("runs list of %s runs: Runs filtered on config.lr > 5e-4 in SQL (Filter.Where), first page of %d (Limit)", timing.Count(b.c.Runs), len(shown[0])),
		Postgres: timing.Millis(d[0]), SQLite: timing.Millis(d[1]), Goal: "≤ 50 ms",
	}, {
		What:     "the same filtered on config.lr > 1, which no run passes: every run's config looked at in SQL",
		Postgres: timing.Millis(all[0]), SQLite: timing.Millis(all[1]), Goal: "≤ 50 ms",
	}, {
		What:     "the same read as before: Runs of every run, the config filtered and the page cut in Go",
		Postgres: timing.Millis(ref[0]), SQLite: timing.Millis(ref[1]), Goal: "(reference)",
	}}, nil
}

// sweepRun is run i of a sweep: its header, config, status and 200 steps
// of losses.
func sweepRun(i int) *store.Batch {
	id := fmt.Sprintf("run%05d", i)
	lr := 1e-4 * float64(1+i%10)
	t0 := 1764201600.0 + float64(i)*60
	b := &store.Batch{RunID: id, Next: store.Cursor{Seq: 1, Offset: 1000}, First: t0, Last: t0 + 200}
	b.Header = &runfmt.Header{Format: 1, ID: id, Name: fmt.Sprintf("run-%04d", i), Project: "sweep", Tags: []string{"sweep"}, Time: t0}
	b.Config, _ = json.Marshal(map[string]any{"lr": lr, "model": map[string]any{"d_model": 64 << (i % 3), "layers": 2 + i%4}})
	code := 0
	b.Status = &runfmt.Status{Status: runfmt.StatusFinished, Time: t0 + 200, ExitCode: &code}
	var train, val series.Points
	for s := range int64(200) {
		loss := 4 / (1 + lr*1e3*float64(s)/50)
		train.Append(s, int64(t0*1000)+s*1000, loss)
		if s%50 == 0 {
			val.Append(s, int64(t0*1000)+s*1000, loss+0.1)
		}
	}
	b.Points = map[string]*series.Points{"train_loss": &train, "val_loss": &val}
	return b
}

// downsample writes a series of c.Series points into both stores and
// times reading it and downsampling it to c.Shown points.
func (b *bench) downsample(ctx context.Context) ([]Row, error) {
	pg, lite, cleanup, err := b.stores(ctx, "series")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	b.c.progress("series: writing a %s-point series into each store…", timing.Count(b.c.Series))
	for _, st := range []store.Store{pg, lite} {
		cur := store.Cursor{}
		for start := 0; start < b.c.Series; start += 100_000 {
			var p series.Points
			for s := start; s < min(start+100_000, b.c.Series); s++ {
				p.Append(int64(s), 1764201600000+int64(s)*50, float64(float32(3*math.Exp(-float64(s)/3e5)+0.05*math.Sin(float64(s)))))
			}
			next := store.Cursor{Seq: cur.Seq + 1, Offset: cur.Offset + 1}
			if err := st.Write(ctx, &store.Batch{RunID: "long", Prev: cur, Next: next, Points: map[string]*series.Points{"train_loss": &p}}); err != nil {
				return nil, err
			}
			cur = next
		}
	}
	// As the server draws a chart of a long series: the overview of every
	// step, downsampled to a quarter as many buckets as points shown
	// (internal/server/series.go); and, for reference, every point read
	// and downsampled.
	var kept [2]int
	fromOverview := func(st store.Store) func() error {
		return func() error {
			ov, err := st.Overview(ctx, "long", "train_loss", math.MinInt64, math.MaxInt64)
			if err != nil {
				return err
			}
			p := ov.Downsample((b.c.Shown + 3) / 4)
			kept[0] = p.Len()
			return nil
		}
	}
	fromPoints := func(st store.Store) func() error {
		return func() error {
			pts, err := st.Points(ctx, "long", "train_loss", store.PointsOptions{})
			if err != nil {
				return err
			}
			xs := make([]float64, pts.Len())
			for i, s := range pts.Steps {
				xs[i] = float64(s)
			}
			ox, _ := series.Downsample(xs, pts.Values, (b.c.Shown+3)/4)
			kept[1] = len(ox)
			return nil
		}
	}
	var rows []Row
	for i, read := range []func(store.Store) func() error{fromOverview, fromPoints} {
		var d [2]time.Duration
		for j, st := range []store.Store{pg, lite} {
			if d[j], err = timing.Time(b.c.Repeat, read(st)); err != nil {
				return nil, err
			}
		}
		what := fmt.Sprintf("a %s-point series downsampled to about %s points (%d kept), as a chart asks: Overview + Downsample", timing.Count(b.c.Series), timing.Count(b.c.Shown), kept[0])
		goal := "≤ 30 ms"
		if i == 1 {
			what = fmt.Sprintf("the same from every point: Points + series.Downsample (%d kept)", kept[1])
			goal = "(reference)"
		}
		rows = append(rows, Row{What: what, Postgres: timing.Millis(d[0]), SQLite: timing.Millis(d[1]), Goal: goal})
	}
	return rows, nil
}

// parallel calls fn(i) for i below n from workers goroutines.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	next := make(chan int)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[w] == nil {
					errs[w] = fn(i)
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
