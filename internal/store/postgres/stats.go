package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/store"
)

// A series' row holds the statistics of its chunks only (chunks.go); the
// points of its run's tail are decoded and merged in when it is read, in
// one snapshot of the database with its row (snapshot), so that a batch
// that seals tail points into chunks meanwhile is seen whole or not at
// all.

// snapshot runs fn in a read-only transaction whose queries all see one
// snapshot of the database.
func (db *DB) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// seriesRun is a series of a run, with its id.
type seriesRun struct {
	id  int64
	run string
	store.Series
}

// seriesRuns runs query, which selects the id, run id, key, goal and
// statistics of series of the runs, and returns them in its order with
// their statistics complete: the points in the runs' tails merged in.
func seriesRuns(ctx context.Context, tx pgx.Tx, runIDs []string, query string, args ...any) ([]seriesRun, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []seriesRun
	for rows.Next() {
		var s seriesRun
		var raw []byte
		if err := rows.Scan(&s.id, &s.run, &s.Key, &s.Goal, &raw); err != nil {
			rows.Close()
			return nil, err
		}
		if err := decodeStats(raw, &s.Stats); err != nil {
			rows.Close()
			return nil, fmt.Errorf("series %q: %w", s.Key, err)
		}
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	want := make(map[int64]bool, len(out))
	for _, s := range out {
		want[s.id] = true
	}
	tp, err := readTails(ctx, tx, runIDs, func(id int64) bool { return want[id] })
	if err != nil {
		return nil, err
	}
	for i := range out {
		if p := tp[out[i].id]; p != nil {
			// Point by point after the chunks' points, as they were
			// logged: the sum does not depend on how they were batched.
			out[i].Stats.AddPoints(*p)
		}
	}
	return out, nil
}

// seriesOf is seriesRuns for the series alone.
func seriesOf(ctx context.Context, tx pgx.Tx, runIDs []string, query string, args ...any) ([]store.Series, error) {
	found, err := seriesRuns(ctx, tx, runIDs, query, args...)
	if err != nil {
		return nil, err
	}
	out := make([]store.Series, len(found))
	for i := range found {
		out[i] = found[i].Series
	}
	return out, nil
}
