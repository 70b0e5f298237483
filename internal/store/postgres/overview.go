package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Overview returns the overview of the current points of a series with
// steps from from to to. See store.Store. The chunks wholly inside the
// range give their stored overviews; the chunks the range cuts, and the
// series' points in its run's tail, are decoded. A series logged out of
// step order is read whole.
func (db *DB) Overview(ctx context.Context, runID, key string, from, to int64) (series.Overview, error) {
	var o series.Overview
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		o, err = overview(ctx, tx, runID, key, from, to)
		return err
	})
	if err != nil {
		return o, db.mapErr(err)
	}
	return o, nil
}

func overview(ctx context.Context, tx pgx.Tx, runID, key string, from, to int64) (series.Overview, error) {
	var o series.Overview
	var id int64
	var raw []byte
	var st series.Stats
	err := tx.QueryRow(ctx, "SELECT id, stats FROM series WHERE run_id = $1 AND key = $2", runID, key).Scan(&id, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("run %s has no series %q: %w", runID, key, store.ErrNotFound)
	}
	if err == nil {
		err = decodeStats(raw, &st)
	}
	if err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	tp, err := readTails(ctx, tx, []string{runID}, func(i int64) bool { return i == id })
	if err != nil {
		return o, fmt.Errorf("run %s series %q tail: %w", runID, key, err)
	}
	var tail series.Points
	if p := tp[id]; p != nil {
		tail = *p
		st.AddPoints(tail)
	}
	if !st.Ordered {
		pts, err := points(ctx, tx, runID, id, store.PointsOptions{})
		if err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		o.Add(pts.StepRange(from, to))
		return o, nil
	}
	// The chunks of an ordered series, in the order they were written,
	// hold ascending steps, and its tail the steps after them. Only what
	// is used is sent: the overview of a chunk inside the range, the
	// points of one it cuts.
	rows, err := tx.Query(ctx, `SELECT CASE WHEN inside THEN overview END, CASE WHEN inside THEN NULL ELSE data END
		FROM (SELECT no, overview, data, overview IS NOT NULL AND min_step >= $2 AND max_step <= $3 AS inside
			FROM chunks WHERE series_id = $1 AND NOT superseded AND max_step >= $2 AND min_step <= $3) AS c
		ORDER BY no`, id, from, to)
	if err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	defer rows.Close()
	var pts series.Points
	for rows.Next() {
		var ov, data []byte
		if err := rows.Scan(&ov, &data); err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		if ov != nil {
			if err := series.DecodeOverview(ov, &o); err != nil {
				return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
			}
			continue
		}
		pts.Reset()
		if err := series.DecodeChunk(data, &pts); err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		o.Add(pts.StepRange(from, to))
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	o.Add(tail.StepRange(from, to))
	return o, nil
}
