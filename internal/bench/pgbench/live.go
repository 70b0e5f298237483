package pgbench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// sizes is what a PostgreSQL store holds on disk.
type sizes struct {
	total    int64 // pg_total_relation_size of every table: heap, TOAST, indexes, maps
	data     int64 // bytes of encoded points in chunk and tail rows
	tailRows int64
	dead     int64 // dead row versions autovacuum has not yet reclaimed
	hot, upd int64 // updates of the series table, and how many were HOT
}

func measure(ctx context.Context, db *postgres.DB) (sizes, error) {
	var s sizes
	err := db.Pool().QueryRow(ctx, `SELECT
		(SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_stat_user_tables),
		(SELECT coalesce(sum(octet_length(data)), 0)::bigint FROM chunks) + (SELECT coalesce(sum(octet_length(data)), 0)::bigint FROM tail),
		(SELECT count(*) FROM tail),
		(SELECT sum(n_dead_tup)::bigint FROM pg_stat_user_tables),
		(SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'series'),
		(SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'series')`).
		Scan(&s.total, &s.data, &s.tailRows, &s.dead, &s.hot, &s.upd)
	return s, err
}

// LiveRow is the state of the store at one moment of the live load.
type LiveRow struct {
	Rounds  int
	Points  int
	Elapsed time.Duration
	sizes
	Ideal  int64  // the points in full chunks only, as a finished run holds them
	Tables string // the largest tables and their sizes

	// P50 and P99 are the percentiles of the time a batch's Write took,
	// over the batches of the rounds since the previous sample.
	P50, P99 time.Duration
}

// percentile returns the p-th percentile (0 to 1) of ds, which it sorts.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

// live writes LiveRuns runs of LiveKeys keys a point at a time, one batch
// per run a round, and samples the store's size and how long the batches
// took as it goes, calling the store's Maintain every second meanwhile.
func (b *bench) live(ctx context.Context) ([]LiveRow, error) {
	c := b.c
	b.dbs++
	name := fmt.Sprintf("runlog_bench_live_%d", b.dbs)
	dsn, err := pgtest.CreateDatabase(ctx, b.admin, name)
	if err != nil {
		return nil, err
	}
	defer pgtest.DropDatabase(context.WithoutCancel(ctx), b.admin, name)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	c.progress("live load: %d runs × %d keys, a point each a round, %d rounds…", c.LiveRuns, c.LiveKeys, c.LiveRounds)
	keys := make([]string, c.LiveKeys)
	for k := range keys {
		keys[k] = fmt.Sprintf("metric_%03d", k)
	}
	keys[0] = "train_loss"
	curs := make([]store.Cursor, c.LiveRuns)
	pts := make([]series.Points, c.LiveRuns*c.LiveKeys)
	t0 := 1764201600.0
	start := time.Now()
	var out []LiveRow
	// The store's upkeep every second, as the team server's background
	// work does it (postgres.DB.Maintain).
	maintained := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				maintained <- nil
				return
			case <-tick.C:
			}
			if err := db.Maintain(ctx); err != nil {
				maintained <- err
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-maintained; err != nil {
			c.progress("%v", err)
		}
	}()
	every := max(1, c.LiveRounds/6)
	var mu sync.Mutex
	var lat []time.Duration // of the batches since the last sample
	for round := range c.LiveRounds {
		err := parallel(ctx, c.LiveRuns, c.LiveWriters, func(r int) error {
			id := fmt.Sprintf("live%04d", r)
			t := t0 + float64(round)
			bt := &store.Batch{RunID: id, Prev: curs[r], Next: store.Cursor{Seq: curs[r].Seq + 1, Offset: curs[r].Offset + 100},
				Points: make(map[string]*series.Points, len(keys)), First: t, Last: t}
			if round == 0 {
				bt.Header = &runfmt.Header{Format: 1, ID: id, Name: id, Project: "live", Time: t}
			}
			for k, key := range keys {
				p := &pts[r*len(keys)+k]
				p.Reset()
				x := float64(round)/float64(c.LiveRounds) + float64(k)
				p.Append(int64(round), int64(t*1000), float64(float32(2+1/(1+x)+0.01*float64((round*7+k)%13))))
				bt.Points[key] = p
			}
			began := time.Now()
			if err := db.Write(ctx, bt); err != nil {
				return err
			}
			d := time.Since(began)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			curs[r] = bt.Next
			return nil
		})
		if err != nil {
			return nil, err
		}
		if (round+1)%every == 0 || round+1 == c.LiveRounds {
			s, err := measure(ctx, db)
			if err != nil {
				return nil, err
			}
			row := LiveRow{Rounds: round + 1, Points: (round + 1) * c.LiveRuns * c.LiveKeys, Elapsed: time.Since(start), sizes: s,
				P50: percentile(lat, 0.5), P99: percentile(lat, 0.99)}
			lat = lat[:0]
			c.progress("  %d rounds, %s: %d MB on disk for %d MB of points, %d tail rows, batches p50 %s p99 %s",
				row.Rounds, timing.Short(row.Elapsed), s.total>>20, s.data>>20, s.tailRows, timing.Millis(row.P50), timing.Millis(row.P99))
			out = append(out, row)
		}
	}
	// What the same points take in full chunks, as a finished run holds
	// them: the compressed data the issue compares the size with.
	ideal, err := idealSize(ctx, db, c.LiveRuns, keys)
	if err != nil {
		return nil, err
	}
	out[len(out)-1].Ideal = ideal
	err = db.Pool().QueryRow(ctx, `SELECT coalesce(string_agg(format('%s %s', relname, pg_size_pretty(pg_total_relation_size(relid))), ', '
		ORDER BY pg_total_relation_size(relid) DESC), 'none') FROM pg_stat_user_tables WHERE pg_total_relation_size(relid) > 1000000`).Scan(&out[len(out)-1].Tables)
	return out, err
}

// idealSize encodes every series of the live runs into full chunks and
// returns their bytes.
func idealSize(ctx context.Context, db *postgres.DB, runs int, keys []string) (int64, error) {
	var total int64
	var buf []byte
	for r := range runs {
		for _, k := range keys {
			pts, err := db.Points(ctx, fmt.Sprintf("live%04d", r), k, store.PointsOptions{})
			if err != nil {
				return 0, err
			}
			for i := 0; i < pts.Len(); i += 4096 {
				buf = series.AppendChunk(buf[:0], pts.Slice(i, min(i+4096, pts.Len())))
				total += int64(len(buf))
			}
		}
	}
	return total, nil
}

// PrintLive writes the live load's samples as a Markdown table.
func PrintLive(w io.Writer, rows []LiveRow) {
	fmt.Fprintln(w, "| live load: rounds (a point per key) | points | elapsed | on disk (all tables) | encoded points (chunks + tail) | disk / encoded | tail rows | dead rows | HOT updates of series | batch Write p50 / p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		hot := "–"
		if r.upd > 0 {
			hot = fmt.Sprintf("%.0f %%", 100*float64(r.hot)/float64(r.upd))
		}
		fmt.Fprintf(w, "| %d | %s | %s | %.1f MB | %.1f MB | %.2f | %s | %s | %s | %s / %s |\n", r.Rounds, timing.Count(r.Points), timing.Short(r.Elapsed),
			float64(r.total)/1e6, float64(r.data)/1e6, float64(r.total)/float64(r.data), timing.Count(int(r.tailRows)), timing.Count(int(r.dead)), hot,
			timing.Millis(r.P50), timing.Millis(r.P99))
	}
	if last := rows[len(rows)-1]; last.Ideal > 0 {
		fmt.Fprintf(w, "\nThe same %s points in full chunks, as a finished run holds them: %.1f MB (%.2f bytes a point); on disk / that: %.2f.\n",
			timing.Count(last.Points), float64(last.Ideal)/1e6, float64(last.Ideal)/float64(last.Points), float64(last.total)/float64(last.Ideal))
		fmt.Fprintf(w, "Tables over 1 MB at the end (heap, TOAST and indexes): %s.\n", last.Tables)
	}
}
