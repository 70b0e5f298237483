package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// Overview returns the overview of the current points of a series with
// steps from from to to. See store.Store. The chunks wholly inside the
// range give their stored overviews; the chunks the range cuts, and the
// tail, are decoded. A series logged out of step order is read whole.
func (db *DB) Overview(ctx context.Context, runID, key string, from, to int64) (series.Overview, error) {
	var o series.Overview
	id, st, err := tables.SeriesHead(db.pool.QueryRow(ctx, "SELECT id, stats FROM series WHERE run_id = $1 AND key = $2", runID, key),
		pgx.ErrNoRows, runID, key)
	if err != nil {
		return o, db.mapErr(err)
	}
	if !st.Ordered {
		pts, err := db.Points(ctx, runID, key, store.PointsOptions{})
		if err != nil {
			return o, err
		}
		o.Add(pts.StepRange(from, to))
		return o, nil
	}
	// The chunks of an ordered series, in the order they were written,
	// hold ascending steps, and its tail the steps after them. Only what
	// is used is sent: the overview of a chunk inside the range, the
	// points of one it cuts.
	rows, err := db.pool.Query(ctx, `SELECT part,
			CASE WHEN inside THEN overview END,
			CASE WHEN inside THEN NULL ELSE data END
		FROM (SELECT 0 AS part, no, overview, data, overview IS NOT NULL AND min_step >= $2 AND max_step <= $3 AS inside
			FROM chunks WHERE series_id = $1 AND NOT superseded AND max_step >= $2 AND min_step <= $3
			UNION ALL SELECT 1, no, NULL, data, false FROM tail WHERE series_id = $1) AS c
		ORDER BY part, no`, id, from, to)
	if err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, db.mapErr(err))
	}
	defer rows.Close()
	var pts, tail series.Points
	for rows.Next() {
		var part int
		var ov, data []byte
		if err := rows.Scan(&part, &ov, &data); err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, db.mapErr(err))
		}
		if ov != nil {
			if err := series.DecodeOverview(ov, &o); err != nil {
				return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
			}
			continue
		}
		if part == 1 { // the tail's rows, small, make blocks together
			if err := series.DecodeChunk(data, &tail); err != nil {
				return o, fmt.Errorf("run %s series %q tail: %w", runID, key, err)
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
		return o, fmt.Errorf("run %s series %q: %w", runID, key, db.mapErr(err))
	}
	o.Add(tail.StepRange(from, to))
	return o, nil
}
