package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Cursors returns the cursor of every stream of every run.
func (db *DB) Cursors(ctx context.Context) (map[string]map[string]store.Cursor, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT run_id, name, cur_seq, cur_offset, cur_size, cur_mtime FROM streams")
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", mapErr(err))
	}
	defer rows.Close()
	out := map[string]map[string]store.Cursor{}
	for rows.Next() {
		var id, name string
		var c store.Cursor
		if err := rows.Scan(&id, &name, &c.Seq, &c.Offset, &c.Size, &c.Mtime); err != nil {
			return nil, err
		}
		m := out[id]
		if m == nil {
			m = make(map[string]store.Cursor, 1)
			out[id] = m
		}
		m[name] = c
	}
	return out, rows.Err()
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
	out := map[uint32]string{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, mapErr(err)
		}
		km := map[string]string{}
		if err := json.Unmarshal([]byte(raw), &km); err != nil {
			return nil, fmt.Errorf("run %s stream %s key map: %w", runID, stream, err)
		}
		for id, k := range km {
			n, err := strconv.ParseUint(id, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("run %s stream %s key map: %w", runID, stream, err)
			}
			out[uint32(n)] = k
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run %s stream %s keys: %w", runID, stream, mapErr(err))
	}
	return out, nil
}

const runColumns = `r.id, r.project, r.name, r.grp, r.tags, r.notes, r.hypothesis, r.status, r.exit_code, r.error,
	r.start_time, r.end_time, r.last_time, r.host, r.user_name, r.command, r.cwd, r.git, r.env, r.parent,
	r.path, r.config, r.summary, r.max_step, r.active, r.segments, r.train_last, r.val_last, r.archived`

// listColumns are the columns Runs reads: what a listing of many runs needs.
const listColumns = `r.id, r.project, r.name, r.grp, r.tags, r.hypothesis, r.status, r.exit_code,
	r.start_time, r.end_time, r.last_time, r.host, r.path, r.config, r.max_step, r.active, r.segments,
	r.train_last, r.val_last, r.archived`

// briefColumns are the columns Runs reads with Filter.Brief.
const briefColumns = `r.id, r.project, r.name, r.status, r.start_time, r.last_time, r.max_step,
	r.train_last, r.val_last, r.archived`

func scanBrief(sc interface{ Scan(...any) error }) (store.Run, error) {
	var r store.Run
	var train, val []byte
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Status, &r.Start, &r.Last, &r.MaxStep, &train, &val, &r.Archived)
	r.TrainLoss, r.ValLoss = decodePoint(train), decodePoint(val)
	return r, err
}

func scanListed(sc interface{ Scan(...any) error }) (store.Run, error) {
	return scanListedWith(sc)
}

func scanListedSummary(sc interface{ Scan(...any) error }) (store.Run, error) {
	var summary string
	r, err := scanListedWith(sc, &summary)
	r.Summary = json.RawMessage(summary)
	return r, err
}

// scanListedWith scans the listColumns and then more.
func scanListedWith(sc interface{ Scan(...any) error }, more ...any) (store.Run, error) {
	var r store.Run
	var tags, config string
	var train, val []byte
	err := sc.Scan(append([]any{&r.ID, &r.Project, &r.Name, &r.Group, &tags, &r.Hypothesis, &r.Status, &r.ExitCode,
		&r.Start, &r.End, &r.Last, &r.Host, &r.Path, &config, &r.MaxStep, &r.Active, &r.Segments, &train, &val, &r.Archived}, more...)...)
	if err != nil {
		return r, err
	}
	if tags != "[]" {
		json.Unmarshal([]byte(tags), &r.Tags)
	}
	r.Config = json.RawMessage(config)
	r.TrainLoss, r.ValLoss = decodePoint(train), decodePoint(val)
	return r, nil
}

func scanRun(sc interface{ Scan(...any) error }) (store.Run, error) {
	var r store.Run
	var tags, cmd, git, env, config, summary string
	var train, val []byte
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Group, &tags, &r.Notes, &r.Hypothesis, &r.Status,
		&r.ExitCode, &r.Error, &r.Start, &r.End, &r.Last, &r.Host, &r.User, &cmd, &r.Dir, &git, &env,
		&r.Parent, &r.Path, &config, &summary, &r.MaxStep, &r.Active, &r.Segments, &train, &val, &r.Archived)
	if err != nil {
		return r, err
	}
	r.TrainLoss, r.ValLoss = decodePoint(train), decodePoint(val)
	json.Unmarshal([]byte(tags), &r.Tags)
	json.Unmarshal([]byte(cmd), &r.Command)
	json.Unmarshal([]byte(env), &r.Env)
	if git != "" {
		r.Git = &runfmt.Git{}
		json.Unmarshal([]byte(git), r.Git)
	}
	r.Config, r.Summary = json.RawMessage(config), json.RawMessage(summary)
	return r, nil
}

// Runs returns the runs that match f, newest first, with the fields a
// listing needs (see store.Store).
func (db *DB) Runs(ctx context.Context, f store.Filter) ([]store.Run, error) {
	var where []string
	var args []any
	if f.Project != "" {
		where, args = append(where, "r.project = ?"), append(args, f.Project)
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.Tag != "" {
		where, args = append(where, "EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = ?)"), append(args, f.Tag)
	}
	if f.Name != "" {
		where, args = append(where, "instr(lower(r.name), lower(?)) > 0"), append(args, f.Name)
	}
	switch f.Archived {
	case store.NotArchived:
		where = append(where, "r.archived = 0")
	case store.OnlyArchived:
		where = append(where, "r.archived != 0")
	}
	cols, scan := listColumns, scanListed
	switch {
	case f.Brief:
		cols, scan = briefColumns, scanBrief
	case f.Summary:
		cols, scan = listColumns+", r.summary", scanListedSummary
	}
	q := "SELECT " + cols + " FROM runs r"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" ORDER BY r.start_time DESC, r.id LIMIT %d", f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", mapErr(err))
	}
	defer rows.Close()
	var runs []store.Run
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	if f.Limit == 0 {
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
	r, err := scanRun(db.r.QueryRowContext(ctx, "SELECT "+runColumns+" FROM runs r WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("run %s: %w", id, mapErr(err))
	}
	return r, nil
}

// Resolve finds the run ref names: an exact id, a unique id prefix, or a
// unique name, in that order.
func (db *DB) Resolve(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty run reference: %w", store.ErrNotFound)
	}
	var id string
	err := db.r.QueryRowContext(ctx, "SELECT id FROM runs WHERE id = ?", ref).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", mapErr(err)
	}
	for i, q := range []string{
		"SELECT id, name FROM runs WHERE substr(id, 1, length(?)) = ? ORDER BY start_time DESC LIMIT 10",
		"SELECT id, name FROM runs WHERE name = ? AND length(?) > 0 ORDER BY start_time DESC LIMIT 10",
	} {
		ids, names, err := db.matches(ctx, q, ref)
		if err != nil {
			return "", err
		}
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		}
		return "", &store.AmbiguousError{Ref: ref, ByName: i == 1, IDs: ids, Names: names}
	}
	return "", fmt.Errorf("no run matches %q: %w", ref, store.ErrNotFound)
}

func (db *DB) matches(ctx context.Context, q, ref string) (ids, names []string, err error) {
	rows, err := db.r.QueryContext(ctx, q, ref, ref)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, nil, err
		}
		ids, names = append(ids, id), append(names, name)
	}
	return ids, names, rows.Err()
}

// Series returns the statistics of every series of a run, sorted by key.
func (db *DB) Series(ctx context.Context, runID string) ([]store.Series, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT key, goal, stats FROM series WHERE run_id = ? ORDER BY key", runID)
	if err != nil {
		return nil, fmt.Errorf("run %s series: %w", runID, mapErr(err))
	}
	defer rows.Close()
	var out []store.Series
	for rows.Next() {
		var s store.Series
		var raw []byte
		if err := rows.Scan(&s.Key, &s.Goal, &raw); err != nil {
			return nil, err
		}
		if err := s.Stats.UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("run %s series %q: %w", runID, s.Key, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
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
		for rows.Next() {
			var id string
			var s store.Series
			var raw []byte
			if err := rows.Scan(&id, &s.Key, &s.Goal, &raw); err != nil {
				rows.Close()
				return nil, nil, err
			}
			if len(first[id]) == limit {
				more[id] = true
				continue
			}
			if err := s.Stats.UnmarshalBinary(raw); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("run %s series %q: %w", id, s.Key, err)
			}
			first[id] = append(first[id], s)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, mapErr(err)
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
	var out []store.Series
	for rows.Next() {
		var s store.Series
		var raw []byte
		if err := rows.Scan(&s.Key, &s.Goal, &raw); err != nil {
			return nil, false, err
		}
		if err := s.Stats.UnmarshalBinary(raw); err != nil {
			return nil, false, fmt.Errorf("run %s series %q: %w", runID, s.Key, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapErr(err)
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// Points returns the points of a series in step order.
func (db *DB) Points(ctx context.Context, runID, key string, opt store.PointsOptions) (series.Points, error) {
	var pts series.Points
	var id int64
	var raw []byte
	err := db.r.QueryRowContext(ctx, "SELECT id, stats FROM series WHERE run_id = ? AND key = ?", runID, key).Scan(&id, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return pts, fmt.Errorf("run %s has no series %q: %w", runID, key, store.ErrNotFound)
	}
	if err != nil {
		return pts, mapErr(err)
	}
	var st series.Stats
	if err := st.UnmarshalBinary(raw); err != nil {
		return pts, err
	}
	q := "SELECT count, data FROM chunks WHERE series_id = ? AND superseded = 0 ORDER BY no"
	if opt.Superseded {
		q = "SELECT count, data FROM chunks WHERE series_id = ? ORDER BY no"
	}
	rows, err := db.r.QueryContext(ctx, q, id)
	if err != nil {
		return pts, mapErr(err)
	}
	var chunks []chunkData
	total := 0
	for rows.Next() {
		var c chunkData
		if err := rows.Scan(&c.n, &c.data); err != nil {
			rows.Close()
			return pts, err
		}
		c.at = total
		total += c.n
		chunks = append(chunks, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return pts, mapErr(err)
	}
	if err := decodeChunks(chunks, total, &pts); err != nil {
		return pts, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	if !st.Ordered || opt.Superseded {
		sortByStep(&pts)
	}
	return pts, nil
}

// chunkData is a stored chunk: its encoding, its number of points and where
// they go in the series.
type chunkData struct {
	data  []byte
	n, at int
}

// decodeChunks decodes chunks into pts, in order, on all CPUs when there
// are enough of them: each goroutine fills its own part of the columns.
func decodeChunks(chunks []chunkData, total int, pts *series.Points) error {
	pts.Steps = make([]int64, total)
	pts.Times = make([]int64, total)
	pts.Values = make([]float64, total)
	workers := min(runtime.GOMAXPROCS(0), len(chunks)/4)
	if workers < 2 {
		workers = 1
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(chunks); i += workers {
				c := chunks[i]
				end := c.at + c.n
				part := series.Points{Steps: pts.Steps[c.at:c.at:end], Times: pts.Times[c.at:c.at:end], Values: pts.Values[c.at:c.at:end]}
				if err := series.DecodeChunk(c.data, &part); err != nil {
					errs[w] = fmt.Errorf("chunk %d: %w", i, err)
					return
				}
				if part.Len() != c.n {
					errs[w] = fmt.Errorf("chunk %d holds %d points, its row says %d", i, part.Len(), c.n)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sortByStep orders points by step, keeping the logged order of points with
// equal steps.
func sortByStep(p *series.Points) {
	idx := make([]int, p.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Steps[idx[a]] < p.Steps[idx[b]] })
	var out series.Points
	out.Steps = make([]int64, len(idx))
	out.Times = make([]int64, len(idx))
	out.Values = make([]float64, len(idx))
	for i, j := range idx {
		out.Steps[i], out.Times[i], out.Values[i] = p.Steps[j], p.Times[j], p.Values[j]
	}
	*p = out
}

// Artifacts returns a run's files in the order they were registered.
func (db *DB) Artifacts(ctx context.Context, runID string) ([]store.Artifact, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, path, kind, step, time, size, sha256, metadata, superseded
		FROM artifacts WHERE run_id = ? ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s artifacts: %w", runID, mapErr(err))
	}
	defer rows.Close()
	var out []store.Artifact
	for rows.Next() {
		var a store.Artifact
		var meta string
		if err := rows.Scan(&a.Seq, &a.Path, &a.Kind, &a.Step, &a.Time, &a.Size, &a.SHA256, &meta, &a.Superseded); err != nil {
			return nil, err
		}
		a.Metadata = decodeObject(meta)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Events returns a run's events in the order they were logged.
func (db *DB) Events(ctx context.Context, runID string) ([]store.Event, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, kind, time, step, level, title, text, data
		FROM events WHERE run_id = ? ORDER BY time, stream, seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s events: %w", runID, mapErr(err))
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var data string
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Time, &e.Step, &e.Level, &e.Title, &e.Text, &data); err != nil {
			return nil, err
		}
		e.Data = decodeObject(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Segments returns a run's process segments, oldest first.
func (db *DB) Segments(ctx context.Context, runID string) ([]store.Segment, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT start, last FROM segments WHERE run_id = ? ORDER BY idx", runID)
	if err != nil {
		return nil, fmt.Errorf("run %s segments: %w", runID, mapErr(err))
	}
	defer rows.Close()
	var out []store.Segment
	for rows.Next() {
		var s store.Segment
		if err := rows.Scan(&s.Start, &s.Last); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// decodeObject decodes a stored JSON object, turning "NaN" and the
// infinities back into numbers.
func decodeObject(s string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil || len(m) == 0 {
		return nil
	}
	runfmt.NumberValue(m)
	return m
}
