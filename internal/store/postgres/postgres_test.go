package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
	"github.com/runlog/runlog/internal/store/storetest"
)

// open returns a store on a new, empty database.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// TestConcurrentMigrations opens a new, empty database from several
// stores at once, as replicas starting together do: each opens, and the
// migrations ran once.
func TestConcurrentMigrations(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = postgres.Open(ctx, dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	var rows, versions int
	if err := dbs[0].Pool().QueryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != postgres.Version() || versions != postgres.Version() {
		t.Errorf("schema_migrations has %d rows of %d versions, want %d", rows, versions, postgres.Version())
	}
	// Every store works on the schema.
	for i, db := range dbs {
		b := &store.Batch{RunID: fmt.Sprint("r", i), Next: store.Cursor{Seq: 1}, Header: &runfmt.Header{ID: fmt.Sprint("r", i), Time: 1}}
		if err := db.Write(ctx, b); err != nil {
			t.Errorf("write through store %d: %v", i, err)
		}
	}
	// Opening again migrates nothing.
	again, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

// TestConcurrentWriters writes the same batch of one stream through two
// stores at once, as two replicas may: one applies it, the other gets
// ErrConflict, and the points are there once.
func TestConcurrentWriters(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	openDSN := func() *postgres.DB {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	a, b := openDSN(), openDSN()
	defer a.Close()
	defer b.Close()
	for round := range 20 {
		prev := store.Cursor{Seq: uint64(round), Offset: int64(round) * 10}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, db := range []*postgres.DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var p series.Points
				p.Append(int64(round), int64(round), float64(round))
				errs[i] = db.Write(ctx, &store.Batch{RunID: "r", Prev: prev, Next: store.Cursor{Seq: prev.Seq + 1, Offset: prev.Offset + 10},
					Points: map[string]*series.Points{"loss": &p}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v, want nil or ErrConflict", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d writes applied, want 1 (%v)", round, ok, errs)
		}
	}
	pts, err := a.Points(ctx, "r", "loss", store.PointsOptions{})
	if err != nil || pts.Len() != 20 {
		t.Fatalf("%d points, %v; want 20", pts.Len(), err)
	}
}

// TestRestart stops PostgreSQL under a store: its calls fail with
// ErrUnavailable and a message that says so, none panics, and once the
// server is back the same store works again and has lost nothing.
func TestRestart(t *testing.T) {
	if pgtest.Bin() == "" {
		t.Skip("skipped: PostgreSQL is not installed (no initdb)")
	}
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	ctx := context.Background()
	db, err := postgres.Open(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	batch := func(seq uint64) *store.Batch {
		var p series.Points
		p.Append(int64(seq), int64(seq), float64(seq))
		return &store.Batch{RunID: "r", Prev: store.Cursor{Seq: seq}, Next: store.Cursor{Seq: seq + 1},
			Points: map[string]*series.Points{"loss": &p}}
	}
	if err := db.Write(ctx, batch(0)); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Write": func() error { return db.Write(ctx, batch(1)) },
		"Runs":  func() error { _, err := db.Runs(ctx, store.Filter{}); return err },
		"Points": func() error {
			_, err := db.Points(ctx, "r", "loss", store.PointsOptions{})
			return err
		},
		"Cursors": func() error { _, err := db.Cursors(ctx); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "PostgreSQL at 127.0.0.1:") {
			t.Errorf("%s with the server stopped: %v; want ErrUnavailable naming the server", name, err)
		}
	}
	if _, err := postgres.Open(ctx, c.DSN("postgres")); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open with the server stopped: %v, want ErrUnavailable", err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, batch(1)); err != nil {
		t.Fatalf("write once the server is back: %v", err)
	}
	pts, err := db.Points(ctx, "r", "loss", store.PointsOptions{})
	if err != nil || pts.Len() != 2 {
		t.Fatalf("after the restart: %d points, %v; want 2", pts.Len(), err)
	}
}
