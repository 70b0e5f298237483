package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// Cursors returns the cursor of every stream of every run.
func (db *DB) Cursors(ctx context.Context) (map[string]map[string]store.Cursor, error) {
	rows, err := db.pool.Query(ctx, "SELECT run_id, name, cur_seq, cur_offset, cur_size, cur_mtime FROM streams")
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", db.mapErr(err))
	}
	defer rows.Close()
	out, err := tables.ReadCursors(rows)
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", db.mapErr(err))
	}
	return out, nil
}

// Cursor returns the cursor of one stream of a run.
func (db *DB) Cursor(ctx context.Context, runID, stream string) (store.Cursor, error) {
	var c store.Cursor
	err := db.pool.QueryRow(ctx, "SELECT cur_seq, cur_offset, cur_size, cur_mtime FROM streams WHERE run_id = $1 AND name = $2",
		runID, stream).Scan(&c.Seq, &c.Offset, &c.Size, &c.Mtime)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Cursor{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("run %s stream %s cursor: %w", runID, stream, db.mapErr(err))
	}
	return c, nil
}

// KeyIDs returns the key ids a stream of a run has defined.
func (db *DB) KeyIDs(ctx context.Context, runID, stream string) (map[uint32]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT keymap FROM stream_keys WHERE run_id = $1 AND stream = $2 ORDER BY no", runID, stream)
	if err != nil {
		return nil, fmt.Errorf("run %s stream %s keys: %w", runID, stream, db.mapErr(err))
	}
	defer rows.Close()
	out, err := tables.ReadKeyIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("run %s stream %s keys: %w", runID, stream, db.mapErr(err))
	}
	return out, nil
}

// Runs returns the runs that match f, newest first, with the fields a
// listing needs (see store.Store).
func (db *DB) Runs(ctx context.Context, f store.Filter) ([]store.Run, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where, err := tables.FilterSQL{
		Tag:          func(p string) string { return "r.tags::jsonb ? " + p },
		Name:         func(p string) string { return "strpos(lower(r.name), lower(" + p + ")) > 0" },
		Where:        func(c store.Cond) string { return condSQL(c, arg) },
		NotArchived:  "NOT r.archived",
		OnlyArchived: "r.archived",
	}.Conds(f, arg)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	cols, scan := tables.ListScan(f)
	q := "SELECT " + cols + " FROM runs r"
	if f.Where != nil {
		q += condFrom
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY r.start_time DESC, r.id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + arg(f.Offset)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", db.mapErr(err))
	}
	defer rows.Close()
	runs, err := tables.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", db.mapErr(err))
	}
	return runs, nil
}

// Run returns one run.
func (db *DB) Run(ctx context.Context, id string) (store.Run, error) {
	r, err := tables.ScanRun(db.pool.QueryRow(ctx, "SELECT "+tables.RunColumns+" FROM runs r WHERE r.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("run %s: %w", id, db.mapErr(err))
	}
	return r, nil
}

// Resolve finds the run ref names: an exact id, a unique id prefix, or a
// unique name, in that order.
func (db *DB) Resolve(ctx context.Context, ref string) (string, error) {
	return tables.Resolve(ref, func(q string) ([]string, []string, error) { return db.matches(ctx, q, ref) },
		"SELECT id, name FROM runs WHERE id = $1",
		"SELECT id, name FROM runs WHERE starts_with(id, $1) ORDER BY start_time DESC LIMIT 10",
		"SELECT id, name FROM runs WHERE name = $1 ORDER BY start_time DESC LIMIT 10")
}

func (db *DB) matches(ctx context.Context, q, ref string) (ids, names []string, err error) {
	rows, err := db.pool.Query(ctx, q, ref)
	if err != nil {
		return nil, nil, db.mapErr(err)
	}
	defer rows.Close()
	ids, names, err = tables.ReadMatches(rows)
	return ids, names, db.mapErr(err)
}

// Series returns the statistics of every series of a run, sorted by key.
func (db *DB) Series(ctx context.Context, runID string) ([]store.Series, error) {
	var out []store.Series
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = seriesOf(ctx, tx, []string{runID}, "SELECT id, $1::text, key, goal, stats FROM series WHERE run_id = $1 ORDER BY key", runID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("run %s series: %w", runID, db.mapErr(err))
	}
	return out, nil
}

// FindSeries returns the series of a run that q selects. See store.Store.
func (db *DB) FindSeries(ctx context.Context, runID string, q store.SeriesQuery) ([]store.Series, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultSeriesLimit
	}
	var sb strings.Builder
	sb.WriteString("SELECT id, $1::text, key, goal, stats FROM series WHERE run_id = $1 AND key > $2")
	args := []any{runID, q.After}
	if len(q.Keys) > 0 {
		args = append(args, q.Keys)
		fmt.Fprintf(&sb, " AND key = ANY($%d)", len(args))
	}
	if q.Contains != "" {
		// strpos on lower-cased text: LIKE would need its wildcards escaped.
		args = append(args, strings.ToLower(q.Contains))
		fmt.Fprintf(&sb, " AND strpos(lower(key), $%d) > 0", len(args))
	}
	args = append(args, limit+1)
	fmt.Fprintf(&sb, " ORDER BY key LIMIT $%d", len(args))
	var out []store.Series
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = seriesOf(ctx, tx, []string{runID}, sb.String(), args...)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("run %s series: %w", runID, db.mapErr(err))
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// FirstSeries returns the first limit series of each of the runs. See
// store.Store. A lateral join reads each run's first limit+1 series from
// the (run_id, key) index.
func (db *DB) FirstSeries(ctx context.Context, runIDs []string, limit int) (map[string][]store.Series, map[string]bool, error) {
	first, more := map[string][]store.Series{}, map[string]bool{}
	if len(runIDs) == 0 {
		return first, more, nil
	}
	var found []seriesRun
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		found, err = seriesRuns(ctx, tx, runIDs, `SELECT s.id, r.id, s.key, s.goal, s.stats FROM unnest($1::text[]) AS r(id),
			LATERAL (SELECT id, key, goal, stats FROM series WHERE run_id = r.id ORDER BY key LIMIT $2) AS s
			ORDER BY r.id, s.key`, runIDs, limit+1)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("series of runs: %w", db.mapErr(err))
	}
	for _, s := range found {
		if len(first[s.run]) == limit {
			more[s.run] = true
			continue
		}
		first[s.run] = append(first[s.run], s.Series)
	}
	return first, more, nil
}

// Points returns the points of a series in step order: its chunks, then
// its points in the run's tail.
func (db *DB) Points(ctx context.Context, runID, key string, opt store.PointsOptions) (series.Points, error) {
	pts, err := points(ctx, db.pool, runID, key, opt)
	if err != nil {
		return pts, db.mapErr(err)
	}
	return pts, nil
}

// points reads the points of a run's series key: its current chunks (all
// with opt.Superseded) in order, then its points in the run's tail, in one
// query, so that one snapshot gives both; sorted by step, stably, if they
// are not in step order.
func points(ctx context.Context, q dbReader, runID, key string, opt store.PointsOptions) (series.Points, error) {
	var pts series.Points
	cond := " AND NOT superseded"
	if opt.Superseded {
		cond = ""
	}
	rows, err := q.Query(ctx, `WITH s AS (SELECT id FROM series WHERE run_id = $1 AND key = $2)
		SELECT 0 AS part, id AS no, 0 AS count, NULL::bytea AS data FROM s
		UNION ALL SELECT 1, no, count, data FROM chunks WHERE series_id = (SELECT id FROM s)`+cond+`
		UNION ALL SELECT 2, no, count, data FROM tail WHERE run_id = $1 AND EXISTS (SELECT FROM s)
		ORDER BY part, no`, runID, key)
	if err != nil {
		return pts, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	defer rows.Close()
	var id int64
	found := false
	var chunks []tables.Chunk
	var tail [][]byte
	total := 0
	for rows.Next() {
		var part int
		var no int64
		var c tables.Chunk
		if err := rows.Scan(&part, &no, &c.N, &c.Data); err != nil {
			return pts, fmt.Errorf("run %s series %q: %w", runID, key, err)
		}
		switch part {
		case 0:
			id, found = no, true
		case 1:
			c.At = total
			total += c.N
			chunks = append(chunks, c)
		case 2:
			tail = append(tail, c.Data)
		}
	}
	if err := rows.Err(); err != nil {
		return pts, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	if !found {
		return pts, fmt.Errorf("run %s has no series %q: %w", runID, key, store.ErrNotFound)
	}
	if err := tables.DecodeChunks(chunks, total, &pts); err != nil {
		return pts, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	tp := tailPoints{id: &pts}
	for i, data := range tail {
		if err := tp.decode(data, func(i int64) bool { return i == id }); err != nil {
			return pts, fmt.Errorf("run %s series %q tail row %d: %w", runID, key, i, err)
		}
	}
	if !slices.IsSorted(pts.Steps) {
		tables.SortByStep(&pts)
	}
	return pts, nil
}

// Artifacts returns a run's files in the order they were registered.
func (db *DB) Artifacts(ctx context.Context, runID string) ([]store.Artifact, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, path, kind, step, time, size, sha256, metadata, superseded
		FROM artifacts WHERE run_id = $1 ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s artifacts: %w", runID, db.mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanArtifact)
	if err != nil {
		return nil, fmt.Errorf("run %s artifacts: %w", runID, db.mapErr(err))
	}
	return out, nil
}

// Events returns a run's events in the order they were logged.
func (db *DB) Events(ctx context.Context, runID string) ([]store.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, kind, time, step, level, title, text, data
		FROM events WHERE run_id = $1 ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s events: %w", runID, db.mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("run %s events: %w", runID, db.mapErr(err))
	}
	return out, nil
}

// Segments returns a run's process segments, oldest first.
func (db *DB) Segments(ctx context.Context, runID string) ([]store.Segment, error) {
	rows, err := db.pool.Query(ctx, "SELECT start, last FROM segments WHERE run_id = $1 ORDER BY idx", runID)
	if err != nil {
		return nil, fmt.Errorf("run %s segments: %w", runID, db.mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanSegment)
	if err != nil {
		return nil, fmt.Errorf("run %s segments: %w", runID, db.mapErr(err))
	}
	return out, nil
}
