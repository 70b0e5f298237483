package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// Write applies a batch in one transaction. See store.Store.
func (db *DB) Write(ctx context.Context, b *store.Batch) error {
	err := db.tx(ctx, func(tx pgx.Tx) error {
		w := &batchWriter{ctx: ctx, tx: tx, b: b}
		return w.write()
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("write run %s: %w", b.RunID, err)
	}
	return err
}

type batchWriter struct {
	ctx context.Context
	tx  pgx.Tx
	b   *store.Batch

	// What the batch changes of its run's row every time, written once at
	// its end (runUpdate).
	latest   latest
	last     float64 // the latest record time, if > 0
	segments bool    // the active time and segment count, from segments

	// The run's tail, as its row records it, and whether the batch
	// changed it.
	tail        tailState
	tailChanged bool
}

func (w *batchWriter) exec(q string, args ...any) error {
	_, err := w.tx.Exec(w.ctx, q, args...)
	return err
}

func (w *batchWriter) write() error {
	b := w.b
	if b.Stream == "" {
		b.Stream = store.PrimaryStream
	}
	// The run's row is the lock that orders the batches of all its
	// streams, whichever process writes them.
	if err := w.exec("INSERT INTO runs (id, path) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", b.RunID, b.Path); err != nil {
		return fmt.Errorf("add run: %w", err)
	}
	l := &w.latest
	t := &w.tail
	var trainLast, valLast []byte
	if err := w.tx.QueryRow(w.ctx, `SELECT train_key, train_last, val_key, val_last, max_step, tail_next, tail_shape, tail_bytes, tail_max
		FROM runs WHERE id = $1 FOR UPDATE`, b.RunID).
		Scan(&l.train.Key, &trainLast, &l.val.Key, &valLast, &l.maxStep, &t.next, &t.shape, &t.bytes, &t.max); err != nil {
		return fmt.Errorf("lock run: %w", err)
	}
	l.train.Last, l.val.Last = tables.DecodePoint(trainLast), tables.DecodePoint(valLast)
	var cur store.Cursor
	err := w.tx.QueryRow(w.ctx, "SELECT cur_seq, cur_offset, cur_size, cur_mtime FROM streams WHERE run_id = $1 AND name = $2",
		b.RunID, b.Stream).Scan(&cur.Seq, &cur.Offset, &cur.Size, &cur.Mtime)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if b.Prev != (store.Cursor{}) {
			return store.ErrConflict
		}
		if err := w.exec("INSERT INTO streams (run_id, name) VALUES ($1, $2)", b.RunID, b.Stream); err != nil {
			return fmt.Errorf("add stream %s: %w", b.Stream, err)
		}
	case err != nil:
		return err
	case cur != b.Prev:
		return store.ErrConflict
	}
	steps := []struct {
		what string
		do   bool
		fn   func() error
	}{
		{"header", b.Header != nil, func() error { return w.header(b.Header) }},
		{"attached header", b.Defaults != nil, func() error { return w.defaults(b.Defaults) }},
		{"resume", b.Resume != nil, func() error { return w.resume(b.Resume) }},
		{"rewind", b.Rewind != nil, func() error { return w.rewind(b.Rewind.Step) }},
		{"fields", true, w.runFields},
		{"annotate", len(b.Annotations) > 0, w.annotate},
		{"define", len(b.Defines) > 0, w.defines},
		{"points", len(b.Points) > 0, w.points},
		{"artifacts", len(b.Arts) > 0, w.artifacts},
		{"events", len(b.Events) > 0, w.events},
		{"media", len(b.Media) > 0 || len(b.Histograms) > 0, w.media},
	}
	for _, s := range steps {
		if !s.do {
			continue
		}
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	w.segments = b.Header != nil || b.Resume != nil || b.Last > 0 || b.Status != nil
	if err := w.runUpdate(); err != nil {
		return fmt.Errorf("update run: %w", err)
	}
	n := b.Next
	return w.exec("UPDATE streams SET cur_seq = $1, cur_offset = $2, cur_size = $3, cur_mtime = $4 WHERE run_id = $5 AND name = $6",
		n.Seq, n.Offset, n.Size, n.Mtime, b.RunID, b.Stream)
}

func (w *batchWriter) header(h *runfmt.Header) error {
	t := tables.HeaderOf(h)
	err := w.exec(`UPDATE runs SET project = $1, name = $2, grp = $3, tags = $4, notes = $5, hypothesis = $6,
		start_time = $7, last_time = greatest(last_time, $7), host = $8, user_name = $9, command = $10, cwd = $11,
		git = $12, env = $13, parent = $14 WHERE id = $15`,
		t.Project, h.Name, h.Group, t.Tags, h.Notes, h.Hypothesis, h.Time, h.Host, h.User,
		t.Command, h.Dir, t.Git, t.Env, h.Parent, w.b.RunID)
	if err != nil {
		return err
	}
	return w.exec("INSERT INTO segments (run_id, idx, start, last) VALUES ($1, 0, $2, $2) ON CONFLICT DO NOTHING", w.b.RunID, h.Time)
}

// defaults fills the identity fields the run has not got from an attached
// log's header.
func (w *batchWriter) defaults(h *runfmt.Header) error {
	tags := ""
	if len(h.Tags) > 0 {
		t, _ := json.Marshal(h.Tags)
		tags = string(t)
	}
	return w.exec(`UPDATE runs SET
		name = CASE WHEN name = '' THEN $1 ELSE name END,
		project = CASE WHEN project = 'default' AND $2 NOT IN ('', 'default') THEN $2 ELSE project END,
		grp = CASE WHEN grp = '' THEN $3 ELSE grp END,
		tags = CASE WHEN tags = '[]' AND $4 != '' THEN $4 ELSE tags END,
		notes = CASE WHEN notes = '' THEN $5 ELSE notes END,
		hypothesis = CASE WHEN hypothesis = '' THEN $6 ELSE hypothesis END
		WHERE id = $7`,
		h.Name, h.Project, h.Group, tags, h.Notes, h.Hypothesis, w.b.RunID)
}

// resume starts a new process segment.
func (w *batchWriter) resume(r *runfmt.Resume) error {
	return w.exec(`INSERT INTO segments (run_id, idx, start, last)
		SELECT $1, coalesce(max(idx) + 1, 0), $2, $2 FROM segments WHERE run_id = $1`, w.b.RunID, r.Time)
}

// runFields applies the batch's config, summary, status, key ids and time.
func (w *batchWriter) runFields() error {
	b := w.b
	if b.Config != nil {
		if err := w.exec("UPDATE runs SET config = $1 WHERE id = $2", string(b.Config), b.RunID); err != nil {
			return err
		}
	}
	if len(b.Summary) > 0 {
		if err := w.summary(); err != nil {
			return err
		}
	}
	if s := b.Status; s != nil {
		// Several streams may report a status; the latest in time wins,
		// whichever is written first.
		if err := w.exec(`UPDATE runs SET status = $1, exit_code = $2, error = $3, end_time = $4, status_time = $5
			WHERE id = $6 AND status_time <= $5`, s.Status, s.ExitCode, s.Error, tables.EndTime(s), s.Time, b.RunID); err != nil {
			return err
		}
	}
	if len(b.KeyIDs) > 0 {
		km, err := tables.EncodeKeyIDs(b.KeyIDs)
		if err != nil {
			return err
		}
		if err := w.exec(`INSERT INTO stream_keys (run_id, stream, no, keymap)
			SELECT $1, $2, coalesce(max(no) + 1, 0), $3 FROM stream_keys WHERE run_id = $1 AND stream = $2`,
			b.RunID, b.Stream, km); err != nil {
			return err
		}
	}
	last := b.Last
	if b.Status != nil {
		last = max(last, b.Status.Time)
	}
	if b.First > 0 && b.Header == nil {
		// A run whose header was lost to corruption starts at its
		// earliest record.
		if err := w.exec("UPDATE runs SET start_time = $1 WHERE id = $2 AND start_time = 0", b.First, b.RunID); err != nil {
			return err
		}
		if err := w.exec(`INSERT INTO segments (run_id, idx, start, last)
			SELECT $1, 0, $2, $2 WHERE NOT EXISTS (SELECT 1 FROM segments WHERE run_id = $1)`, b.RunID, b.First); err != nil {
			return err
		}
	}
	if last > 0 {
		w.last = last
		return w.exec(`UPDATE segments SET last = greatest(last, $1)
			WHERE run_id = $2 AND idx = (SELECT max(idx) FROM segments WHERE run_id = $2)`, last, b.RunID)
	}
	return nil
}

// summary merges the batch's summary updates into the user summary.
func (w *batchWriter) summary() error {
	var raw string
	if err := w.tx.QueryRow(w.ctx, "SELECT summary FROM runs WHERE id = $1", w.b.RunID).Scan(&raw); err != nil {
		return err
	}
	sum, err := tables.MergeSummary(raw, w.b.Summary)
	if err != nil {
		return err
	}
	return w.exec("UPDATE runs SET summary = $1 WHERE id = $2", sum, w.b.RunID)
}

// annotate applies the batch's annotations to the run's tags, notes,
// hypothesis, name and archived state.
func (w *batchWriter) annotate() error {
	var a tables.Annotated
	err := w.tx.QueryRow(w.ctx, "SELECT tags, notes, hypothesis, name, archived FROM runs WHERE id = $1", w.b.RunID).
		Scan(&a.Tags, &a.Notes, &a.Hypothesis, &a.Name, &a.Archived)
	if err != nil {
		return err
	}
	if err := a.Apply(w.b.Annotations); err != nil {
		return err
	}
	return w.exec("UPDATE runs SET tags = $1, notes = $2, hypothesis = $3, name = $4, archived = $5 WHERE id = $6",
		a.Tags, a.Notes, a.Hypothesis, a.Name, a.Archived, w.b.RunID)
}

// defines records the series the batch declares, with their goals.
func (w *batchWriter) defines() error {
	keys := make([]string, 0, len(w.b.Defines))
	goals := make([]string, 0, len(w.b.Defines))
	for k, g := range w.b.Defines {
		keys, goals = append(keys, k), append(goals, g)
	}
	return w.exec(`INSERT INTO series (run_id, key, goal, stats)
		SELECT $1::text, k, g, $4::bytea FROM unnest($2::text[], $3::text[]) AS d(k, g)
		ON CONFLICT (run_id, key) DO UPDATE SET goal = CASE WHEN excluded.goal != '' THEN excluded.goal ELSE series.goal END`,
		w.b.RunID, keys, goals, []byte{})
}

func (w *batchWriter) artifacts() error {
	b := w.b
	n := len(b.Arts)
	seqs, steps, sizes := make([]int64, n), make([]*int64, n), make([]int64, n)
	paths, kinds, shas, metas := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]float64, n)
	for i, a := range b.Arts {
		meta, err := tables.EncodeObject(a.Metadata)
		if err != nil {
			return err
		}
		seqs[i], paths[i], kinds[i], steps[i], times[i], sizes[i], shas[i], metas[i] =
			int64(a.Seq), a.Path, a.Kind, a.Step, a.Time, a.Size, a.SHA256, meta
	}
	return w.exec(`INSERT INTO artifacts (run_id, stream, seq, path, kind, step, time, size, sha256, metadata)
		SELECT $1::text, $2::text, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::float8[], $8::bigint[], $9::text[], $10::text[])
		ON CONFLICT DO NOTHING`, b.RunID, b.Stream, seqs, paths, kinds, steps, times, sizes, shas, metas)
}

func (w *batchWriter) events() error {
	b := w.b
	n := len(b.Events)
	seqs, steps := make([]int64, n), make([]*int64, n)
	kinds, levels, titles, texts, datas := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]float64, n)
	for i, e := range b.Events {
		data, err := tables.EncodeObject(e.Data)
		if err != nil {
			return err
		}
		seqs[i], kinds[i], times[i], steps[i], levels[i], titles[i], texts[i], datas[i] =
			int64(e.Seq), e.Kind, e.Time, e.Step, e.Level, e.Title, e.Text, data
	}
	return w.exec(`INSERT INTO events (run_id, stream, seq, kind, time, step, level, title, text, data)
		SELECT $1::text, $2::text, * FROM unnest($3::bigint[], $4::text[], $5::float8[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])
		ON CONFLICT DO NOTHING`, b.RunID, b.Stream, seqs, kinds, times, steps, levels, titles, texts, datas)
}

// DeleteRun removes a run and all it holds.
func (db *DB) DeleteRun(ctx context.Context, id string) error {
	err := db.tx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			"DELETE FROM chunks WHERE series_id IN (SELECT id FROM series WHERE run_id = $1)",
			"DELETE FROM tail WHERE run_id = $1",
			"DELETE FROM series WHERE run_id = $1",
			"DELETE FROM segments WHERE run_id = $1",
			"DELETE FROM streams WHERE run_id = $1",
			"DELETE FROM stream_keys WHERE run_id = $1",
			"DELETE FROM artifacts WHERE run_id = $1",
			"DELETE FROM events WHERE run_id = $1",
			"DELETE FROM media WHERE run_id = $1",
			"DELETE FROM histograms WHERE run_id = $1",
			"DELETE FROM runs WHERE id = $1",
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	return nil
}

// points adds the batch's points to its run's tail (tail.go) and accounts
// for the final point of each series in the run's row.
func (w *batchWriter) points() error {
	keys := make([]string, 0, len(w.b.Points))
	for k, pts := range w.b.Points {
		if pts.Len() > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	ids, err := w.seriesIDs(keys)
	if err != nil {
		return err
	}
	batch := make(tailPoints, len(keys))
	lasts := make(map[string]series.Point, len(keys))
	for _, k := range keys {
		p := w.b.Points[k]
		batch[ids[k]] = p
		var st series.Stats
		st.AddPoints(*p)
		lasts[k] = st.Last
	}
	if err := w.appendTail(batch); err != nil {
		return err
	}
	return w.updateLatest(lasts)
}

// seriesIDs returns the ids of the run's series of keys, creating those
// it has not got.
func (w *batchWriter) seriesIDs(keys []string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	scan := func(rs pgx.Rows) error {
		defer rs.Close()
		for rs.Next() {
			var id int64
			var key string
			if err := rs.Scan(&id, &key); err != nil {
				return err
			}
			out[key] = id
		}
		return rs.Err()
	}
	// A join with the keys, not key = ANY($2): with ANY, the plan that
	// PostgreSQL came to cache for the prepared statement made this
	// lookup five times as slow in a run of many keys (300 batches of
	// 1,000 new keys: 78 s against 16 s).
	rs, err := w.tx.Query(w.ctx, `SELECT s.id, s.key FROM unnest($2::text[]) AS k(key)
		JOIN series s ON s.run_id = $1 AND s.key = k.key`, w.b.RunID, keys)
	if err != nil {
		return nil, err
	}
	if err := scan(rs); err != nil {
		return nil, err
	}
	if len(out) == len(keys) {
		return out, nil
	}
	var fresh []string
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			fresh = append(fresh, k)
		}
	}
	rs, err = w.tx.Query(w.ctx, `INSERT INTO series (run_id, key, stats)
		SELECT $1::text, k, '\x'::bytea FROM unnest($2::text[]) AS k RETURNING id, key`, w.b.RunID, fresh)
	if err != nil {
		return nil, err
	}
	return out, scan(rs)
}
