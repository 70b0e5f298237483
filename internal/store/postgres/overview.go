package postgres

import (
	"context"
	"fmt"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Overview returns the overview of the current points of a series with
// steps from from to to. See store.Store. The chunks wholly inside the
// range give their stored overviews; the chunks the range cuts, and the
// series' points in its run's tail, are decoded. A series logged out of
// step order is read whole.
func (db *DB) Overview(ctx context.Context, runID, key string, from, to int64) (series.Overview, error) {
	o, err := overview(ctx, db.pool, runID, key, from, to)
	if err != nil {
		return o, db.mapErr(err)
	}
	return o, nil
}

// overview reads, in one query and so one snapshot, the series' row, its
// run's tail and what the range needs of its chunks: the overview of a
// chunk inside the range, the points of one it cuts. The chunks of an
// ordered series, in the order they were written, hold ascending steps,
// and its tail the steps after them. A series that is not ordered is read
// whole (points).
func overview(ctx context.Context, q dbReader, runID, key string, from, to int64) (series.Overview, error) {
	var o series.Overview
	rows, err := q.Query(ctx, `WITH s AS (SELECT id, stats FROM series WHERE run_id = $1 AND key = $2)
		SELECT 0 AS part, id AS no, stats AS a, NULL::bytea AS b FROM s
		UNION ALL SELECT 1, no, data, NULL FROM tail WHERE run_id = $1 AND EXISTS (SELECT FROM s)
		UNION ALL SELECT 2, c.no, CASE WHEN inside THEN overview END, CASE WHEN inside THEN NULL ELSE data END
			FROM (SELECT no, overview, data, overview IS NOT NULL AND min_step >= $3 AND max_step <= $4 AS inside
				FROM chunks WHERE series_id = (SELECT id FROM s) AND NOT superseded AND max_step >= $3 AND min_step <= $4) AS c
		ORDER BY part, no`, runID, key, from, to)
	if err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	defer rows.Close()
	var id int64
	var st series.Stats
	found, counted := false, false
	tp := tailPoints{}
	var tail, pts series.Points
	// count adds the tail's points to the statistics of the chunks, once
	// the tail's rows are read, and reports whether the series is ordered.
	count := func() bool {
		if !counted {
			counted = true
			if p := tp[id]; p != nil {
				tail = *p
				st.AddPoints(tail)
			}
		}
		return st.Ordered
	}
	for rows.Next() {
		var part int
		var no int64
		var a, b []byte
		if err := rows.Scan(&part, &no, &a, &b); err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		switch part {
		case 0:
			id, found = no, true
			if err := decodeStats(a, &st); err != nil {
				return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
			}
			continue
		case 1:
			if err := tp.decode(a, func(i int64) bool { return i == id }); err != nil {
				return o, fmt.Errorf("run %s series %q tail row %d: %w", runID, key, no, err)
			}
			continue
		}
		if !count() {
			break
		}
		if a != nil {
			if err := series.DecodeOverview(a, &o); err != nil {
				return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
			}
			continue
		}
		pts.Reset()
		if err := series.DecodeChunk(b, &pts); err != nil {
			return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		o.Add(pts.StepRange(from, to))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	if !found {
		return o, fmt.Errorf("run %s has no series %q: %w", runID, key, store.ErrNotFound)
	}
	if !count() {
		all, err := points(ctx, q, runID, key, store.PointsOptions{})
		if err != nil {
			return o, err
		}
		var whole series.Overview
		whole.Add(all.StepRange(from, to))
		return whole, nil
	}
	o.Add(tail.StepRange(from, to))
	return o, nil
}
