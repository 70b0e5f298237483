package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Rows is a result set to read: *sql.Rows or pgx.Rows. The functions that
// read one do not close it; the caller does.
type Rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// Collect scans every row of rows with scan, in order.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ScanSeries scans key, goal and stats of the series table.
func ScanSeries(sc Scanner) (store.Series, error) {
	var s store.Series
	var raw []byte
	if err := sc.Scan(&s.Key, &s.Goal, &raw); err != nil {
		return s, err
	}
	if err := s.Stats.UnmarshalBinary(raw); err != nil {
		return s, fmt.Errorf("series %q: %w", s.Key, err)
	}
	return s, nil
}

// ScanArtifact scans seq, path, kind, step, time, size, sha256, metadata
// and superseded of the artifacts table.
func ScanArtifact(sc Scanner) (store.Artifact, error) {
	var a store.Artifact
	var meta string
	err := sc.Scan(&a.Seq, &a.Path, &a.Kind, &a.Step, &a.Time, &a.Size, &a.SHA256, &meta, &a.Superseded)
	a.Metadata = DecodeObject(meta)
	return a, err
}

// ScanEvent scans seq, kind, time, step, level, title, text and data of
// the events table.
func ScanEvent(sc Scanner) (store.Event, error) {
	var e store.Event
	var data string
	err := sc.Scan(&e.Seq, &e.Kind, &e.Time, &e.Step, &e.Level, &e.Title, &e.Text, &data)
	e.Data = DecodeObject(data)
	return e, err
}

// ScanSegment scans start and last of the segments table.
func ScanSegment(sc Scanner) (store.Segment, error) {
	var s store.Segment
	err := sc.Scan(&s.Start, &s.Last)
	return s, err
}

// ReadPoints reads rows of a series' chunks, count and data in the order
// of their points, and decodes them; ordered by step if sortByStep.
func ReadPoints(rows Rows, sortByStep bool) (series.Points, error) {
	var pts series.Points
	var chunks []Chunk
	total := 0
	for rows.Next() {
		var c Chunk
		if err := rows.Scan(&c.N, &c.Data); err != nil {
			return pts, err
		}
		c.At = total
		total += c.N
		chunks = append(chunks, c)
	}
	if err := rows.Err(); err != nil {
		return pts, err
	}
	if err := DecodeChunks(chunks, total, &pts); err != nil {
		return pts, err
	}
	if sortByStep {
		SortByStep(&pts)
	}
	return pts, nil
}

// Recompute reads rows of a run's series, key and stats, into what a
// rewind sets anew of the run's row.
func Recompute(rows Rows) (Recomputed, error) {
	r := NewRecomputed()
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return r, err
		}
		r.Add(key, raw)
	}
	return r, rows.Err()
}

// SplitChunk is a stored chunk a rewind splits: its series, its number in
// the series and its encoding.
type SplitChunk struct {
	Series, No int64
	Data       []byte
}

// ScanSplitChunk scans series_id, no and data of the chunks table.
func ScanSplitChunk(sc Scanner) (SplitChunk, error) {
	var c SplitChunk
	err := sc.Scan(&c.Series, &c.No, &c.Data)
	return c, err
}

// RewindChunks splits each chunk at step (see Split): put stores the part
// that stays and the superseded part of a chunk, and restat then merges
// the statistics of each series a chunk belonged to anew.
func RewindChunks(chunks []SplitChunk, step int64, put func(seriesID, no int64, keep, drop series.Points) error, restat func(seriesID int64) error) error {
	touched := map[int64]bool{}
	var all, keep, drop series.Points
	for _, c := range chunks {
		touched[c.Series] = true
		all.Reset()
		keep.Reset()
		drop.Reset()
		if err := series.DecodeChunk(c.Data, &all); err != nil {
			return fmt.Errorf("chunk %d of series %d: %w", c.No, c.Series, err)
		}
		Split(all, step, &keep, &drop)
		if err := put(c.Series, c.No, keep, drop); err != nil {
			return err
		}
	}
	for id := range touched {
		if err := restat(id); err != nil {
			return err
		}
	}
	return nil
}

// Header is a run header's fields as the runs table keeps them: lists and
// objects as JSON text, the project "default" where the header names none.
type Header struct {
	Project, Tags, Command, Env, Git string
}

// HeaderOf returns h's fields as the runs table keeps them.
func HeaderOf(h *runfmt.Header) Header {
	tags, _ := json.Marshal(NonNil(h.Tags))
	cmd, _ := json.Marshal(NonNil(h.Command))
	env, _ := json.Marshal(h.Env)
	out := Header{Project: h.Project, Tags: string(tags), Command: string(cmd), Env: string(env)}
	if h.Git != nil {
		g, _ := json.Marshal(h.Git)
		out.Git = string(g)
	}
	if out.Project == "" {
		out.Project = "default"
	}
	return out
}

// NonNil returns s, or an empty slice for nil: JSON [] rather than null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// MergeStats reads rows of a series' chunk statistics, in the order the
// chunks were written, and merges them.
func MergeStats(rows Rows) (series.Stats, error) {
	var total series.Stats
	for rows.Next() {
		var raw []byte
		var st series.Stats
		if err := rows.Scan(&raw); err != nil {
			return total, err
		}
		if err := st.UnmarshalBinary(raw); err != nil {
			return total, err
		}
		total.Merge(st)
	}
	return total, rows.Err()
}

// EncodeObject encodes an artifact's metadata or an event's data as the
// tables keep it: a JSON object, {} for nil, NaN and the infinities as
// strings (see DecodeObject).
func EncodeObject(m map[string]any) (string, error) {
	if m == nil {
		m = map[string]any{}
	}
	p, err := runfmt.MarshalJSON(m)
	return string(p), err
}

// ReadCursors reads rows of the streams table, run_id, name, cur_seq,
// cur_offset, cur_size and cur_mtime, into the cursors of each run's
// streams.
func ReadCursors(rows Rows) (map[string]map[string]store.Cursor, error) {
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

// ReadKeyIDs reads rows of a stream's key maps (JSON objects from key id
// to key), in the order they were defined, into one map.
func ReadKeyIDs(rows Rows) (map[uint32]string, error) {
	out := map[uint32]string{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		km := map[string]string{}
		if err := json.Unmarshal([]byte(raw), &km); err != nil {
			return nil, fmt.Errorf("key map: %w", err)
		}
		for id, k := range km {
			n, err := strconv.ParseUint(id, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("key map: %w", err)
			}
			out[uint32(n)] = k
		}
	}
	return out, rows.Err()
}

// ReadMatches reads rows of id and name: the runs a reference matches.
func ReadMatches(rows Rows) (ids, names []string, err error) {
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, nil, err
		}
		ids, names = append(ids, id), append(names, name)
	}
	return ids, names, rows.Err()
}

// ReadFirstSeries reads rows of run id, key, goal and stats, ordered by
// run and key, with at most limit+1 series a run, into first (each run's
// first limit series) and more (the runs that have more).
func ReadFirstSeries(rows Rows, limit int, first map[string][]store.Series, more map[string]bool) error {
	for rows.Next() {
		var id string
		var s store.Series
		var raw []byte
		if err := rows.Scan(&id, &s.Key, &s.Goal, &raw); err != nil {
			return err
		}
		if len(first[id]) == limit {
			more[id] = true
			continue
		}
		if err := s.Stats.UnmarshalBinary(raw); err != nil {
			return fmt.Errorf("run %s series %q: %w", id, s.Key, err)
		}
		first[id] = append(first[id], s)
	}
	return rows.Err()
}

// Resolve finds the run ref names: an exact id, a unique id prefix, or a
// unique name, in that order (see store.Store). find runs a query of the
// runs table, id and name, with ref as its argument; exact, prefix and
// name are the queries of the run whose id is ref and of the runs whose id
// starts with ref or whose name is ref, newest first, at most 10.
func Resolve(ref string, find func(query string) (ids, names []string, err error), exact, prefix, name string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty run reference: %w", store.ErrNotFound)
	}
	for i, q := range []string{exact, prefix, name} {
		ids, names, err := find(q)
		if err != nil {
			return "", fmt.Errorf("resolve %q: %w", ref, err)
		}
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		}
		return "", &store.AmbiguousError{Ref: ref, ByName: i == 2, IDs: ids, Names: names}
	}
	return "", fmt.Errorf("no run matches %q: %w", ref, store.ErrNotFound)
}

// SeriesHead scans id and stats of the row of run runID's series key;
// noRows is the driver's error for no row (sql.ErrNoRows, pgx.ErrNoRows),
// which becomes store.ErrNotFound.
func SeriesHead(row Scanner, noRows error, runID, key string) (int64, series.Stats, error) {
	var id int64
	var raw []byte
	var st series.Stats
	err := row.Scan(&id, &raw)
	if errors.Is(err, noRows) {
		return 0, st, fmt.Errorf("run %s has no series %q: %w", runID, key, store.ErrNotFound)
	}
	if err == nil {
		err = st.UnmarshalBinary(raw)
	}
	if err != nil {
		return 0, st, fmt.Errorf("run %s series %q: %w", runID, key, err)
	}
	return id, st, nil
}

// ChunkFields returns what a chunk's row keeps beside its data: the
// statistics of its points, encoded, and their least and greatest step.
// c must not be empty.
func ChunkFields(c series.Points) (stats []byte, lo, hi int64) {
	var st series.Stats
	st.AddPoints(c)
	stats, _ = st.MarshalBinary()
	lo, hi = StepRange(c)
	return stats, lo, hi
}
