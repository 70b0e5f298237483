package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// Cursors returns the cursor of every stream of every run.
func (db *DB) Cursors(ctx context.Context) (map[string]map[string]store.Cursor, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT run_id, name, cur_seq, cur_offset, cur_size, cur_mtime FROM streams")
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", mapErr(err))
	}
	defer rows.Close()
	out, err := tables.ReadCursors(rows)
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", mapErr(err))
	}
	return out, nil
}

// Cursor returns the cursor of one stream of a run.
func (db *DB) Cursor(ctx context.Context, runID, stream string) (store.Cursor, error) {
	var c store.Cursor
	err := db.r.QueryRowContext(ctx, "SELECT cur_seq, cur_offset, cur_size, cur_mtime FROM streams WHERE run_id = ? AND name = ?",
		runID, stream).Scan(&c.Seq, &c.Offset, &c.Size, &c.Mtime)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Cursor{}, nil
	}
	return c, mapErr(err)
}

// KeyIDs returns the key ids a stream of a run has defined.
func (db *DB) KeyIDs(ctx context.Context, runID, stream string) (map[uint32]string, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT keymap FROM stream_keys WHERE run_id = ? AND stream = ? ORDER BY no", runID, stream)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out, err := tables.ReadKeyIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("run %s stream %s keys: %w", runID, stream, mapErr(err))
	}
	return out, nil
}

// Runs returns the runs that match f, newest first, with the fields a
// listing needs (see store.Store).
func (db *DB) Runs(ctx context.Context, f store.Filter) ([]store.Run, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "?"
	}
	where, err := tables.FilterSQL{
		Tag:          func(p string) string { return "EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = " + p + ")" },
		Name:         func(p string) string { return "instr(lower(r.name), lower(" + p + ")) > 0" },
		Where:        func(c store.Cond) string { return condSQL(c, &args) },
		NotArchived:  "r.archived = 0",
		OnlyArchived: "r.archived != 0",
	}.Conds(f, arg)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	cols, scan := tables.ListScan(f)
	q := "SELECT " + cols + " FROM runs r"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	paged := f.Limit > 0 || f.Offset > 0
	if paged {
		limit := f.Limit
		if limit <= 0 {
			limit = -1 // no limit
		}
		q += fmt.Sprintf(" ORDER BY r.start_time DESC, r.id LIMIT %d OFFSET %d", limit, max(f.Offset, 0))
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", mapErr(err))
	}
	defer rows.Close()
	runs, err := tables.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", mapErr(err))
	}
	if !paged {
		// Reading the table in its own order and sorting here is faster
		// than walking the index for every run.
		sort.Slice(runs, func(i, j int) bool {
			if runs[i].Start != runs[j].Start {
				return runs[i].Start > runs[j].Start
			}
			return runs[i].ID < runs[j].ID
		})
	}
	return runs, nil
}

// Run returns one run.
func (db *DB) Run(ctx context.Context, id string) (store.Run, error) {
	r, err := tables.ScanRun(db.r.QueryRowContext(ctx, "SELECT "+tables.RunColumns+" FROM runs r WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("run %s: %w", id, mapErr(err))
	}
	return r, nil
}

// Resolve finds the run ref names: an exact id, a unique id prefix, or a
// unique name, in that order. Each query takes ref twice.
func (db *DB) Resolve(ctx context.Context, ref string) (string, error) {
	return tables.Resolve(ref, func(q string) ([]string, []string, error) { return db.matches(ctx, q, ref) },
		"SELECT id, name FROM runs WHERE id = ? AND length(?) > 0",
		"SELECT id, name FROM runs WHERE substr(id, 1, length(?)) = ? ORDER BY start_time DESC LIMIT 10",
		"SELECT id, name FROM runs WHERE name = ? AND length(?) > 0 ORDER BY start_time DESC LIMIT 10")
}

func (db *DB) matches(ctx context.Context, q, ref string) (ids, names []string, err error) {
	rows, err := db.r.QueryContext(ctx, q, ref, ref)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	defer rows.Close()
	ids, names, err = tables.ReadMatches(rows)
	return ids, names, mapErr(err)
}

// Series returns the statistics of every series of a run, sorted by key.
func (db *DB) Series(ctx context.Context, runID string) ([]store.Series, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT key, goal, stats FROM series WHERE run_id = ? ORDER BY key", runID)
	if err != nil {
		return nil, fmt.Errorf("run %s series: %w", runID, mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanSeries)
	if err != nil {
		return nil, fmt.Errorf("run %s series: %w", runID, mapErr(err))
	}
	return out, nil
}

// FirstSeries returns the first limit series of each of the runs. See
// store.Store. A window over each run's series, in the order of the
// (run_id, key) index, numbers them; only the first limit+1 are decoded.
func (db *DB) FirstSeries(ctx context.Context, runIDs []string, limit int) (map[string][]store.Series, map[string]bool, error) {
	first, more := map[string][]store.Series{}, map[string]bool{}
	const part = 500 // runs a query
	for i := 0; i < len(runIDs); i += part {
		ids := runIDs[i:min(i+part, len(runIDs))]
		args := make([]any, 0, len(ids)+1)
		for _, id := range ids {
			args = append(args, id)
		}
		args = append(args, limit+1)
		rows, err := db.r.QueryContext(ctx, `SELECT run_id, key, goal, stats FROM (
			SELECT run_id, key, goal, stats, row_number() OVER (PARTITION BY run_id ORDER BY key) AS n
			FROM series WHERE run_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)) WHERE n <= ? ORDER BY run_id, key`, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("series of runs: %w", mapErr(err))
		}
		err = tables.ReadFirstSeries(rows, limit, first, more)
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("series of runs: %w", mapErr(err))
		}
	}
	return first, more, nil
}

// FindSeries returns the series of a run that q selects. See store.Store.
func (db *DB) FindSeries(ctx context.Context, runID string, q store.SeriesQuery) ([]store.Series, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultSeriesLimit
	}
	var sb strings.Builder
	sb.WriteString("SELECT key, goal, stats FROM series WHERE run_id = ? AND key > ?")
	args := []any{runID, q.After}
	if len(q.Keys) > 0 {
		sb.WriteString(" AND key IN (?" + strings.Repeat(", ?", len(q.Keys)-1) + ")")
		for _, k := range q.Keys {
			args = append(args, k)
		}
	}
	if q.Contains != "" {
		// instr on lower-cased text: LIKE would need its wildcards escaped.
		sb.WriteString(" AND instr(lower(key), ?) > 0")
		args = append(args, strings.ToLower(q.Contains))
	}
	sb.WriteString(" ORDER BY key LIMIT ?")
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, false, fmt.Errorf("run %s series: %w", runID, mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanSeries)
	if err != nil {
		return nil, false, fmt.Errorf("run %s series: %w", runID, mapErr(err))
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// Points returns the points of a series in step order.
func (db *DB) Points(ctx context.Context, runID, key string, opt store.PointsOptions) (series.Points, error) {
	var pts series.Points
	id, st, err := tables.SeriesHead(db.r.QueryRowContext(ctx, "SELECT id, stats FROM series WHERE run_id = ? AND key = ?", runID, key),
		sql.ErrNoRows, runID, key)
	if err != nil {
		return pts, mapErr(err)
	}
	q := "SELECT count, data FROM chunks WHERE series_id = ? AND superseded = 0 ORDER BY no"
	if opt.Superseded {
		q = "SELECT count, data FROM chunks WHERE series_id = ? ORDER BY no"
	}
	rows, err := db.r.QueryContext(ctx, q, id)
	if err != nil {
		return pts, mapErr(err)
	}
	pts, err = tables.ReadPoints(rows, !st.Ordered || opt.Superseded)
	rows.Close()
	if err != nil {
		return pts, fmt.Errorf("run %s series %q: %w", runID, key, mapErr(err))
	}
	return pts, nil
}

// Artifacts returns a run's files in the order they were registered.
func (db *DB) Artifacts(ctx context.Context, runID string) ([]store.Artifact, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, path, kind, step, time, size, sha256, metadata, superseded
		FROM artifacts WHERE run_id = ? ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s artifacts: %w", runID, mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanArtifact)
	if err != nil {
		return nil, fmt.Errorf("run %s artifacts: %w", runID, mapErr(err))
	}
	return out, nil
}

// Events returns a run's events in the order they were logged.
func (db *DB) Events(ctx context.Context, runID string) ([]store.Event, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, kind, time, step, level, title, text, data
		FROM events WHERE run_id = ? ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s events: %w", runID, mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("run %s events: %w", runID, mapErr(err))
	}
	return out, nil
}

// Segments returns a run's process segments, oldest first.
func (db *DB) Segments(ctx context.Context, runID string) ([]store.Segment, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT start, last FROM segments WHERE run_id = ? ORDER BY idx", runID)
	if err != nil {
		return nil, fmt.Errorf("run %s segments: %w", runID, mapErr(err))
	}
	defer rows.Close()
	out, err := tables.Collect(rows, tables.ScanSegment)
	if err != nil {
		return nil, fmt.Errorf("run %s segments: %w", runID, mapErr(err))
	}
	return out, nil
}

// Overview returns the overview of the current points of a series with
// steps from from to to. The chunks wholly inside the range give their
// stored overviews; the chunks the range cuts (at most two of a series
// logged in step order), and chunks written before overviews were kept,
// are decoded. A series logged out of step order is read whole.
func (db *DB) Overview(ctx context.Context, runID, key string, from, to int64) (series.Overview, error) {
	var o series.Overview
	id, st, err := tables.SeriesHead(db.r.QueryRowContext(ctx, "SELECT id, stats FROM series WHERE run_id = ? AND key = ?", runID, key),
		sql.ErrNoRows, runID, key)
	if err != nil {
		return o, mapErr(err)
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
	// hold ascending steps.
	rows, err := db.r.QueryContext(ctx, `SELECT c.no, c.min_step, c.max_step, o.data FROM chunks c
		LEFT JOIN overviews o ON o.series_id = c.series_id AND o.no = c.no
		WHERE c.series_id = ? AND c.superseded = 0 AND c.max_step >= ? AND c.min_step <= ? ORDER BY c.no`, id, from, to)
	if err != nil {
		return o, mapErr(err)
	}
	type chunk struct {
		no       int64
		overview []byte // nil for a chunk to decode
	}
	var chunks []chunk
	for rows.Next() {
		var c chunk
		var lo, hi int64
		if err := rows.Scan(&c.no, &lo, &hi, &c.overview); err != nil {
			rows.Close()
			return o, err
		}
		if lo < from || hi > to {
			c.overview = nil
		}
		chunks = append(chunks, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return o, mapErr(err)
	}
	// Room for every block first: a million points' overview is 60,000
	// kept points, which appending chunk by chunk would copy many times.
	blocks := len(chunks) * (chunkSize / series.OverviewBlock)
	o.Grow(blocks, blocks*4)
	type cut struct {
		no           int64
		blocks, kept int // where in o its blocks go: before block blocks, kept point kept
	}
	var cuts []cut
	for _, c := range chunks {
		if c.overview == nil {
			cuts = append(cuts, cut{c.no, len(o.Sizes), len(o.Roles)})
			continue
		}
		if err := series.DecodeOverview(c.overview, &o); err != nil {
			return o, fmt.Errorf("run %s series %q chunk %d: %w", runID, key, c.no, err)
		}
	}
	if len(cuts) == 0 {
		return o, nil
	}
	// Decode the cut chunks and put their blocks in their places.
	var out series.Overview
	var done cut // how much of o is in out
	part := func(to cut) series.Overview {
		return series.Overview{Sizes: o.Sizes[done.blocks:to.blocks], Points: o.Points.Slice(done.kept, to.kept), Roles: o.Roles[done.kept:to.kept]}
	}
	var pts series.Points
	for _, c := range cuts {
		var data []byte
		if err := db.r.QueryRowContext(ctx, "SELECT data FROM chunks WHERE series_id = ? AND no = ?", id, c.no).Scan(&data); err != nil {
			return o, mapErr(err)
		}
		pts.Reset()
		if err := series.DecodeChunk(data, &pts); err != nil {
			return o, fmt.Errorf("run %s series %q chunk %d: %w", runID, key, c.no, err)
		}
		out.Append(part(c))
		done = c
		out.Add(pts.StepRange(from, to))
	}
	out.Append(part(cut{blocks: len(o.Sizes), kept: len(o.Roles)}))
	return out, nil
}
