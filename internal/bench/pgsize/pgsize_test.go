package pgsize

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestFullChunks writes series of known points, one longer than a chunk,
// in batches as a live run does, and checks FullChunks against their
// encoding in chunks of ChunkSize points made from the points written.
func TestFullChunks(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lengths := map[string]int{"loss": ChunkSize + 904, "lr": 10, "acc": 1}
	written := map[string]*series.Points{}
	for key, n := range lengths {
		p := &series.Points{}
		for i := range n {
			p.Append(int64(i), int64(1764201600000+i*1000), math.Round(1000/(1+float64(i)))/1000)
		}
		written[key] = p
	}
	// Two batches, so that the points lie in chunks and in the tail.
	var cur store.Cursor
	for half := range 2 {
		b := &store.Batch{RunID: "run1", Prev: cur, Next: store.Cursor{Seq: cur.Seq + 1, Offset: cur.Offset + 100},
			Points: map[string]*series.Points{}, First: 1764201600, Last: 1764201600}
		if half == 0 {
			b.Header = &runfmt.Header{Format: 1, ID: "run1", Name: "run1", Project: "p", Time: 1764201600}
		}
		for key, p := range written {
			from, to := 0, p.Len()/2
			if half == 1 {
				from, to = p.Len()/2, p.Len()
			}
			if from < to {
				q := p.Slice(from, to)
				b.Points[key] = &q
			}
		}
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		cur = b.Next
	}
	var want Full
	for _, p := range written {
		want.Series++
		want.Points += int64(p.Len())
		for i := 0; i < p.Len(); i += ChunkSize {
			want.Bytes += int64(len(series.AppendChunk(nil, p.Slice(i, min(i+ChunkSize, p.Len())))))
		}
	}
	for _, readers := range []int{1, 4} {
		got, err := FullChunks(ctx, db, readers)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("FullChunks with %d readers = %+v, want %+v", readers, got, want)
		}
	}
}
