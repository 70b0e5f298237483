package sqlite

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// TestOverviewOfOldChunks: chunks written before migration 6 have no
// stored overview; Overview computes theirs from their points and gives
// what it gives for chunks that have one.
func TestOverviewOfOldChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var p series.Points
	for i := range 10_000 {
		v := math.Cos(float64(i) / 50)
		if i == 7777 {
			v = math.NaN()
		}
		p.Append(int64(i), 1764201600000+int64(i), v)
	}
	b := &store.Batch{RunID: "r", Next: store.Cursor{Seq: 1, Offset: 1}, Header: &runfmt.Header{ID: "r", Name: "r", Time: 1764201600},
		Points: map[string]*series.Points{"loss": &p}}
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, math.MaxInt64}, {100, 9000}} {
		stored, err := db.Overview(ctx, "r", "loss", r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.w.Exec("DELETE FROM overviews"); err != nil {
			t.Fatal(err)
		}
		computed, err := db.Overview(ctx, "r", "loss", r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(stored.Sizes, computed.Sizes) || !slices.Equal(stored.Roles, computed.Roles) ||
			!slices.Equal(stored.Points.Steps, computed.Points.Steps) {
			t.Fatalf("steps %v: computed overview differs from the stored one", r)
		}
		if want := int(min(r[1], 9999) - r[0] + 1); stored.Count() != want {
			t.Fatalf("steps %v: overview of %d points, want %d", r, stored.Count(), want)
		}
		// Writing again stores them.
		if _, err := db.w.Exec("DELETE FROM chunks"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.w.Exec("DELETE FROM series"); err != nil {
			t.Fatal(err)
		}
		b.Prev, b.Next = b.Next, store.Cursor{Seq: b.Next.Seq + 1, Offset: b.Next.Offset + 1}
		b.Header = nil
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var missing int
	if err := db.r.QueryRow("SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM overviews o WHERE o.series_id = c.series_id AND o.no = c.no)").Scan(&missing); err != nil || missing != 0 {
		t.Errorf("%d chunks without an overview after writing (%v)", missing, err)
	}
}
