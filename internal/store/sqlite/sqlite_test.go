package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/testfs"

	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openTemp)
}

func batch(id string, prev store.Cursor, n int) *store.Batch {
	var p series.Points
	for i := range n {
		p.Append(int64(prev.Seq)*1_000_000+int64(i), 1764201600000+int64(i), math.Sin(float64(i))*float64(i))
	}
	b := &store.Batch{RunID: id, Prev: prev, Next: store.Cursor{Seq: prev.Seq + 1, Offset: prev.Offset + 1}}
	b.Points = map[string]*series.Points{"noise": &p}
	if prev.Seq == 0 {
		b.Header = &runfmt.Header{ID: id, Name: id, Time: 1764201600}
	}
	return b
}

func TestFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first := batch("r", store.Cursor{}, 1000)
	if err := db.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := sqlRow(db, "PRAGMA page_count", &pages); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.SetMaxPagesForTest(db, pages+2); err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, batch("r", first.Next, 200_000))
	if !errors.Is(err, store.ErrFull) || !strings.Contains(err.Error(), "free some space") {
		t.Fatalf("write to a full store: %v, want ErrFull with advice", err)
	}
	if res, err := sqlite.IntegrityCheck(db); err != nil || res != "ok" {
		t.Fatalf("integrity after a failed write: %q, %v", res, err)
	}
	got, err := db.Points(ctx, "r", "noise", store.PointsOptions{})
	if err != nil || got.Len() != 1000 {
		t.Fatalf("after the failed write: %d points, %v; want the 1000 written before", got.Len(), err)
	}
	if c, _ := db.Cursor(ctx, "r", store.PrimaryStream); c != first.Next {
		t.Fatalf("cursor moved by a failed write: %+v", c)
	}
	// Space freed: the same batch goes in.
	if err := sqlite.SetMaxPagesForTest(db, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, batch("r", first.Next, 200_000)); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
}

func sqlRow(db *sqlite.DB, q string, dst any) error {
	return sqlite.QueryRowForTest(db, q, dst)
}

// TestReadOnlyStore makes the home and its store unwritable: the store
// opens for reading and refuses writes with ErrReadOnly.
func TestReadOnlyStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := t.TempDir()
	path := filepath.Join(home, "runlog.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b := batch("r", store.Cursor{}, 100)
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	db.Close()
	testfs.ReadOnly(t, home, path)
	ro, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open read-only store: %v", err)
	}
	defer ro.Close()
	if got, err := ro.Points(ctx, "r", "noise", store.PointsOptions{}); err != nil || got.Len() != 100 {
		t.Fatalf("read from read-only store: %d points, %v", got.Len(), err)
	}
	if err := ro.Write(ctx, batch("r", b.Next, 10)); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("write to read-only store: %v, want ErrReadOnly", err)
	}
	if _, err := sqlite.Open(filepath.Join(home, "sub", "new.db")); err == nil {
		t.Fatal("creating a store in a read-only folder succeeded")
	}
}

// TestConcurrentCreate opens a new store from several connections at once,
// as several runlog commands started together do: all succeed.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "runlog.db")
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqlite.Open(path)
				if err == nil {
					err = db.Write(context.Background(), batch(fmt.Sprint("r", i), store.Cursor{}, 10))
					db.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, opener %d: %v", round, i, err)
			}
		}
	}
}
