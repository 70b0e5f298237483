package postgres

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
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

// liveWriter writes one run a few points at a time, as a live run is
// indexed.
type liveWriter struct {
	t   *testing.T
	db  *DB
	id  string
	cur store.Cursor
}

func (w *liveWriter) write(fill func(b *store.Batch)) {
	w.t.Helper()
	b := &store.Batch{RunID: w.id, Prev: w.cur, Next: store.Cursor{Seq: w.cur.Seq + 1, Offset: w.cur.Offset + 10}}
	fill(b)
	if err := w.db.Write(context.Background(), b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
	w.cur = b.Next
}

// TestTailLevels appends points in batches of 1 to 5 across more than two
// full chunks, checking after every batch that the series reads back whole
// and that its tail stays within its bound of rows and points.
func TestTailLevels(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w := &liveWriter{t: t, db: db, id: "live"}
	w.write(func(b *store.Batch) { b.Header = &runfmt.Header{ID: "live", Name: "live", Time: 1764201600} })
	rng := rand.New(rand.NewPCG(1, 1))
	var all series.Points
	maxRows := (tailFanout-1)*tailLevels + 1
	for all.Len() < 2*chunkSize+1000 {
		var p series.Points
		for range 1 + rng.IntN(5) {
			s := int64(all.Len())
			v := math.Sin(float64(s) / 50)
			all.Append(s, 1764201600000+s*50, v)
			p.Append(s, 1764201600000+s*50, v)
		}
		w.write(func(b *store.Batch) { b.Points = map[string]*series.Points{"loss": &p} })

		var rows, count, tailCount int
		if err := db.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(t.count), 0), min(s.tail_count) FROM series s
			LEFT JOIN tail t ON t.series_id = s.id WHERE s.run_id = 'live' GROUP BY s.id`).Scan(&rows, &count, &tailCount); err != nil {
			t.Fatal(err)
		}
		if rows > maxRows || count >= chunkSize || count != tailCount {
			t.Fatalf("after %d points: %d tail rows holding %d points, series says %d; want at most %d rows, fewer than %d points",
				all.Len(), rows, count, tailCount, maxRows, chunkSize)
		}
		if all.Len()%97 < 5 || all.Len() > 2*chunkSize {
			got, err := db.Points(ctx, "live", "loss", store.PointsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != all.Len() || got.Steps[got.Len()-1] != all.Steps[all.Len()-1] {
				t.Fatalf("read %d points, want %d", got.Len(), all.Len())
			}
		}
	}
	got, err := db.Points(ctx, "live", "loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all.Steps {
		if got.Steps[i] != all.Steps[i] || got.Times[i] != all.Times[i] || got.Values[i] != all.Values[i] {
			t.Fatalf("point %d = %v, want %v", i, got.At(i), all.At(i))
		}
	}
	var full int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM chunks WHERE count = $1", chunkSize).Scan(&full); err != nil {
		t.Fatal(err)
	}
	if full != 2 {
		t.Errorf("%d full chunks, want 2", full)
	}
	ov, err := db.Overview(ctx, "live", "loss", math.MinInt64, math.MaxInt64)
	if err != nil || ov.Count() != all.Len() {
		t.Errorf("overview of %d points, %v; want %d", ov.Count(), err, all.Len())
	}
	ser, _ := db.Series(ctx, "live")
	var st series.Stats
	st.AddPoints(all)
	if len(ser) != 1 || ser[0].Stats.Count != st.Count || ser[0].Stats.Last != st.Last || ser[0].Stats.Min != st.Min {
		t.Errorf("stats %+v, want %+v", ser, st)
	}
}
