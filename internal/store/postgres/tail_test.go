package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// liveWriter writes one stream of a run a few points at a time, as a live
// run is indexed.
type liveWriter struct {
	t      *testing.T
	db     *DB
	id     string
	stream string
	cur    store.Cursor
}

func (w *liveWriter) write(fill func(b *store.Batch)) {
	w.t.Helper()
	if err := w.try(fill); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *liveWriter) try(fill func(b *store.Batch)) error {
	b := &store.Batch{RunID: w.id, Stream: w.stream, Prev: w.cur, Next: store.Cursor{Seq: w.cur.Seq + 1, Offset: w.cur.Offset + 10}}
	fill(b)
	if err := w.db.Write(context.Background(), b); err != nil {
		return err
	}
	w.cur = b.Next
	return nil
}

func newLive(t *testing.T, db *DB, id string) *liveWriter {
	w := &liveWriter{t: t, db: db, id: id}
	w.write(func(b *store.Batch) { b.Header = &runfmt.Header{ID: id, Name: id, Time: 1764201600} })
	return w
}

// point returns point s of a made-up series.
func point(s int64) (int64, int64, float64) {
	return s, 1764201600000 + s*50, float64(float32(math.Sin(float64(s)/50) + float64(s%7)/100))
}

// tailCheck is what a run's tail is, read from its rows, beside what the
// run's row says of it.
type tailCheck struct {
	rows, bytes, points int
	levels              [tailLevels]int
	state               tailState
	most                int // points of the series with most in the tail
}

func checkTail(t *testing.T, db *DB, run string) tailCheck {
	t.Helper()
	ctx := context.Background()
	var c tailCheck
	if err := db.pool.QueryRow(ctx, "SELECT tail_next, tail_shape, tail_bytes, tail_max FROM runs WHERE id = $1", run).
		Scan(&c.state.next, &c.state.shape, &c.state.bytes, &c.state.max); err != nil {
		t.Fatal(err)
	}
	rows, err := db.pool.Query(ctx, "SELECT no, level, count, data FROM tail WHERE run_id = $1 ORDER BY no", run)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tp := tailPoints{}
	prevLevel := tailLevels
	for rows.Next() {
		var no, count int32
		var level int16
		var data []byte
		if err := rows.Scan(&no, &level, &count, &data); err != nil {
			t.Fatal(err)
		}
		if int(no) != c.rows {
			t.Fatalf("tail row %d where %d was due", no, c.rows)
		}
		if int(level) > prevLevel {
			t.Fatalf("tail row %d of level %d follows one of level %d", no, level, prevLevel)
		}
		prevLevel = int(level)
		n := 0
		if err := eachEntry(data, func(id int64, ch []byte) error {
			k, err := series.ChunkLen(ch)
			n += k
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n != int(count) {
			t.Fatalf("tail row %d holds %d points, says %d", no, n, count)
		}
		if err := tp.decode(data, nil); err != nil {
			t.Fatal(err)
		}
		c.rows++
		c.bytes += len(data)
		c.points += n
		c.levels[level]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range tp {
		c.most = max(c.most, p.Len())
	}
	s := c.state
	if int(s.next) != c.rows || int(s.bytes) != c.bytes || int(s.max) < c.most {
		t.Fatalf("run says its tail has %d rows, %d bytes, at most %d points a series; it has %d, %d, %d", s.next, s.bytes, s.max, c.rows, c.bytes, c.most)
	}
	for l := range tailLevels {
		if s.rows(l) != c.levels[l] || c.levels[l] >= tailFanout {
			t.Fatalf("run says level %d has %d rows; it has %d, at most %d allowed", l, s.rows(l), c.levels[l], tailFanout-1)
		}
	}
	return c
}

// checkSeries reads a series back every way the store gives it and
// compares it with want.
func checkSeries(t *testing.T, db *DB, run, key string, want series.Points) {
	t.Helper()
	ctx := context.Background()
	got, err := db.Points(ctx, run, key, store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() {
		t.Fatalf("%s %s: read %d points, want %d", run, key, got.Len(), want.Len())
	}
	for i := range want.Steps {
		if got.At(i) != want.At(i) {
			t.Fatalf("%s %s: point %d = %v, want %v", run, key, i, got.At(i), want.At(i))
		}
	}
	var st series.Stats
	st.AddPoints(want)
	found, _, err := db.FindSeries(ctx, run, store.SeriesQuery{Keys: []string{key}})
	if err != nil || len(found) != 1 || found[0].Stats != st {
		t.Fatalf("%s %s: stats %+v, %v; want %+v", run, key, found, err, st)
	}
	ov, err := db.Overview(ctx, run, key, math.MinInt64, math.MaxInt64)
	if err != nil || ov.Count() != want.Len() {
		t.Fatalf("%s %s: overview of %d points, %v; want %d", run, key, ov.Count(), err, want.Len())
	}
}

// TestTailMerges appends points to a few series in batches of 1 to 5
// across more than two full chunks, checking after every batch that the
// run's tail rows are as its row says, within their bound of rows a
// level, and that the series read back whole.
func TestTailMerges(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := newLive(t, db, "live")
	rng := rand.New(rand.NewPCG(1, 1))
	keys := []string{"loss", "lr", "val_loss"}
	all := map[string]*series.Points{}
	for _, k := range keys {
		all[k] = &series.Points{}
	}
	merges := 0
	prev := 0
	for all["loss"].Len() < 2*chunkSize+1000 {
		pts := map[string]*series.Points{}
		for i, k := range keys {
			if i == 2 && rng.IntN(10) != 0 {
				continue // val_loss now and then
			}
			p := &series.Points{}
			for range 1 + rng.IntN(5) {
				p.Append(point(int64(all[k].Len())))
				all[k].Append(point(int64(all[k].Len())))
			}
			pts[k] = p
		}
		w.write(func(b *store.Batch) { b.Points = pts })
		c := checkTail(t, db, "live")
		if c.rows < prev {
			merges++
		}
		prev = c.rows
		if c.points >= 3*chunkSize || c.most >= chunkSize {
			t.Fatalf("tail holds %d points, %d of one series; a series should be sealed at %d", c.points, c.most, chunkSize)
		}
		if all["loss"].Len()%397 < 5 {
			checkSeries(t, db, "live", "loss", *all["loss"])
		}
	}
	if merges < 10 {
		t.Errorf("%d merges, want many", merges)
	}
	for _, k := range keys {
		checkSeries(t, db, "live", k, *all[k])
	}
	var full int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM chunks c JOIN series s ON s.id = c.series_id
		WHERE s.key = 'loss' AND c.count = $1`, chunkSize).Scan(&full); err != nil {
		t.Fatal(err)
	}
	if full != 2 {
		t.Errorf("loss has %d full chunks, want 2", full)
	}
	r, err := db.Run(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	last := all["loss"].At(all["loss"].Len() - 1)
	if r.TrainLoss == nil || *r.TrainLoss != last || r.MaxStep != last.Step {
		t.Errorf("run's train loss %v, max step %d; want %v, %d", r.TrainLoss, r.MaxStep, last, last.Step)
	}
}

// TestTailManyKeys writes runs of many keys, each batch a point of every
// key or of a few: the tail stays within maxTailBytes, sealed series
// fill their last chunk instead of adding one a seal, and every series
// reads back whole.
func TestTailManyKeys(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	const keys = 12_000
	name := func(k int) string { return fmt.Sprintf("layer%05d/grad_norm", k) }
	for _, tc := range []struct {
		run     string
		batches int
		perKey  func(batch, k int) bool // whether batch logs key k
	}{
		{"wide", 10, func(int, int) bool { return true }},
		{"sparse", 60, func(batch, k int) bool { return k%60 == batch%60 || k%7 == 0 }},
	} {
		w := newLive(t, db, tc.run)
		all := map[string]*series.Points{}
		for b := range tc.batches {
			pts := map[string]*series.Points{}
			for k := range keys {
				if !tc.perKey(b, k) {
					continue
				}
				if all[name(k)] == nil {
					all[name(k)] = &series.Points{}
				}
				p := &series.Points{}
				p.Append(point(int64(b)))
				all[name(k)].Append(point(int64(b)))
				pts[name(k)] = p
			}
			w.write(func(b *store.Batch) { b.Points = pts })
			if c := checkTail(t, db, tc.run); c.bytes > maxTailBytes {
				t.Fatalf("%s: tail of %d bytes after batch %d", tc.run, c.bytes, b)
			}
		}
		var most int
		if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM chunks c
			JOIN series s ON s.id = c.series_id WHERE s.run_id = $1 GROUP BY s.id) AS x`, tc.run).Scan(&most); err != nil {
			t.Fatal(err)
		}
		if most > 1 {
			t.Errorf("%s: a series of fewer than %d points has %d chunks, want 1", tc.run, chunkSize, most)
		}
		ser, err := db.Series(ctx, tc.run)
		if err != nil || len(ser) != len(all) {
			t.Fatalf("%s: %d series, %v; want %d", tc.run, len(ser), err, len(all))
		}
		for _, s := range ser {
			var st series.Stats
			st.AddPoints(*all[s.Key])
			if s.Stats != st {
				t.Fatalf("%s %s: stats %+v, want %+v", tc.run, s.Key, s.Stats, st)
			}
		}
		for k := 0; k < keys; k += 997 {
			if p := all[name(k)]; p != nil {
				checkSeries(t, db, tc.run, name(k), *p)
			}
		}
		first, more, err := db.FirstSeries(ctx, []string{tc.run}, 10)
		if err != nil || !more[tc.run] || len(first[tc.run]) != 10 || first[tc.run][0].Stats.Count != int64(all[first[tc.run][0].Key].Len()) {
			t.Fatalf("%s: first series %v, more %v, %v", tc.run, first[tc.run], more, err)
		}
	}
}

// TestTailRewind rewinds a run whose series have points in chunks, in the
// tail and in both, then logs on: each reads back as rewound.
func TestTailRewind(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := newLive(t, db, "rw")
	all := map[string]*series.Points{"loss": {}, "acc": {}}
	add := func(from, to int64) {
		for s := from; s < to; s += 3 {
			pts := map[string]*series.Points{"loss": {}, "acc": {}}
			for i := s; i < min(s+3, to); i++ {
				for k, p := range pts {
					p.Append(point(i))
					all[k].Append(point(i))
				}
			}
			w.write(func(b *store.Batch) { b.Points = pts })
		}
	}
	add(0, chunkSize+500) // a full chunk each, and a tail
	rewind := func(step int64) {
		w.write(func(b *store.Batch) { b.Rewind = &runfmt.Rewind{Step: step} })
		for _, p := range all {
			n := 0
			for n < p.Len() && p.Steps[n] <= step {
				n++
			}
			*p = p.Slice(0, n)
		}
	}
	rewind(chunkSize + 200) // inside the tail
	if c := checkTail(t, db, "rw"); c.rows != 0 {
		t.Fatalf("the tail has %d rows after a rewind, want none", c.rows)
	}
	add(chunkSize+201, chunkSize+800)
	for k, p := range all {
		checkSeries(t, db, "rw", k, *p)
	}
	rewind(1000) // inside the first chunk, with a tail again
	add(1001, 1400)
	for k, p := range all {
		checkSeries(t, db, "rw", k, *p)
	}
	got, err := db.Points(ctx, "rw", "loss", store.PointsOptions{Superseded: true})
	if err != nil || got.Len() <= all["loss"].Len() {
		t.Fatalf("with superseded points: %d, %v; want more than %d", got.Len(), err, all["loss"].Len())
	}
	r, err := db.Run(ctx, "rw")
	if err != nil || r.MaxStep != 1399 {
		t.Fatalf("max step %d, %v; want 1399", r.MaxStep, err)
	}
}

// TestTailOutOfOrder logs a loss series whose steps go back: its
// statistics, points and the run's final loss are those of its point of
// greatest step, as the SQLite store has them.
func TestTailOutOfOrder(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := newLive(t, db, "ooo")
	var all series.Points
	for _, steps := range [][]int64{{10, 11, 12}, {5, 6}, {7}, {20}, {3}} {
		p := &series.Points{}
		for _, s := range steps {
			p.Append(point(s))
			all.Append(point(s))
		}
		w.write(func(b *store.Batch) { b.Points = map[string]*series.Points{"train_loss": p} })
		r, err := db.Run(ctx, "ooo")
		if err != nil {
			t.Fatal(err)
		}
		var st series.Stats
		st.AddPoints(all)
		if r.TrainLoss == nil || *r.TrainLoss != st.Last {
			t.Fatalf("after steps %v: run's train loss %v, want %v", steps, r.TrainLoss, st.Last)
		}
	}
	got, err := db.Points(ctx, "ooo", "train_loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < got.Len(); i++ {
		if got.Steps[i] < got.Steps[i-1] {
			t.Fatalf("points not in step order: %v", got.Steps)
		}
	}
	ov, err := db.Overview(ctx, "ooo", "train_loss", 6, 11)
	if err != nil || ov.Count() != 4 {
		t.Fatalf("overview of steps 6 to 11: %d points, %v; want 4 (10, 11, 6, 7)", ov.Count(), err)
	}
}

// TestTailConcurrentWriters writes one run from several stores at once:
// each its own stream, all of whose batches apply, one after another
// under the run's lock; and two of them racing with the same batch of one
// stream, of which one applies and the other is store.ErrConflict.
func TestTailConcurrentWriters(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	const writers, batches = 4, 60
	dbs := make([]*DB, writers)
	for i := range dbs {
		db, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	newLive(t, dbs[0], "conc")
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &liveWriter{t: t, db: dbs[i], id: "conc", stream: fmt.Sprint("worker", i)}
			for s := range int64(batches) {
				p := &series.Points{}
				p.Append(point(s))
				if err := w.try(func(b *store.Batch) {
					b.Points = map[string]*series.Points{fmt.Sprintf("w%d/loss", i): p, "shared/seen": p}
				}); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	checkTail(t, dbs[0], "conc")
	for i := range writers {
		got, err := dbs[0].Points(ctx, "conc", fmt.Sprintf("w%d/loss", i), store.PointsOptions{})
		if err != nil || got.Len() != batches {
			t.Fatalf("writer %d's series: %d points, %v; want %d", i, got.Len(), err, batches)
		}
	}
	got, err := dbs[0].Points(ctx, "conc", "shared/seen", store.PointsOptions{})
	if err != nil || got.Len() != writers*batches {
		t.Fatalf("the shared series: %d points, %v; want %d", got.Len(), err, writers*batches)
	}

	// The same batch of one stream through two stores at once.
	var cur store.Cursor
	for round := range int64(20) {
		next := store.Cursor{Seq: cur.Seq + 1, Offset: cur.Offset + 10}
		res := make([]error, 2)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := &series.Points{}
				p.Append(point(round))
				res[i] = dbs[i].Write(ctx, &store.Batch{RunID: "conc", Stream: "race", Prev: cur, Next: next,
					Points: map[string]*series.Points{"race/loss": p}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range res {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d writes applied, want 1 (%v)", round, ok, res)
		}
		cur = next
	}
	got, err = dbs[0].Points(ctx, "conc", "race/loss", store.PointsOptions{})
	if err != nil || got.Len() != 20 {
		t.Fatalf("the raced series: %d points, %v; want 20", got.Len(), err)
	}
	checkTail(t, dbs[0], "conc")
}

// TestTailDeleteRun deletes a run with a tail: nothing of it is left, and
// a run of the same id starts anew.
func TestTailDeleteRun(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := newLive(t, db, "gone")
	for s := range int64(20) {
		p := &series.Points{}
		p.Append(point(s))
		w.write(func(b *store.Batch) { b.Points = map[string]*series.Points{"loss": p} })
	}
	if err := db.DeleteRun(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM tail").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tail rows left, %v", n, err)
	}
	w = newLive(t, db, "gone")
	p := &series.Points{}
	p.Append(point(7))
	w.write(func(b *store.Batch) { b.Points = map[string]*series.Points{"loss": p} })
	checkSeries(t, db, "gone", "loss", *p)
}

// TestMaintain vacuums the tail and chunks tables when they have the dead
// rows asked for, and not before.
func TestMaintain(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := newLive(t, db, "m")
	for s := range int64(3 * tailFanout) {
		p := &series.Points{}
		p.Append(point(s))
		w.write(func(b *store.Batch) { b.Points = map[string]*series.Points{"loss": p} })
	}
	vacuums := func() int {
		var n int
		if err := db.pool.QueryRow(ctx, "SELECT sum(vacuum_count) FROM pg_stat_all_tables WHERE relname IN ('tail', 'chunks', 'log_segments')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.maintain(ctx, math.MaxInt64); err != nil || vacuums() != 0 {
		t.Fatalf("with too few dead rows: %d vacuums, %v; want none", vacuums(), err)
	}
	if err := db.maintain(ctx, 0); err != nil || vacuums() != 3 {
		t.Fatalf("%d vacuums of tail, chunks and log_segments, %v; want 3", vacuums(), err)
	}
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkSeries(t, db, "m", "loss", func() series.Points {
		var all series.Points
		for s := range int64(3 * tailFanout) {
			all.Append(point(s))
		}
		return all
	}())
}
