package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// Write applies a batch in one transaction. See store.Store.
func (db *DB) Write(ctx context.Context, b *store.Batch) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		w := &batchWriter{ctx: ctx, tx: tx, b: b}
		defer w.closeStmts()
		return w.write()
	})
}

type batchWriter struct {
	ctx   context.Context
	tx    *sql.Tx
	b     *store.Batch
	stmts map[string]*sql.Stmt // prepared in this transaction, by query
}

// stmt returns q prepared in the batch's transaction, preparing it on first
// use. The queries about one series run once for every key of a batch, and
// a run may log hundreds of thousands of keys: parsing their SQL every time
// would cost more than running them.
func (w *batchWriter) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.tx.PrepareContext(w.ctx, q)
	if err != nil {
		return nil, err
	}
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	w.stmts[q] = st
	return st, nil
}

func (w *batchWriter) closeStmts() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *batchWriter) exec(q string, args ...any) error {
	st, err := w.stmt(q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(w.ctx, args...)
	return err
}

// queryRow runs a query that returns at most one row, prepared as stmt
// does.
func (w *batchWriter) queryRow(q string, args ...any) *sql.Row {
	st, err := w.stmt(q)
	if err != nil {
		return w.tx.QueryRowContext(w.ctx, q, args...) // reports the same error
	}
	return st.QueryRowContext(w.ctx, args...)
}

func (w *batchWriter) write() error {
	b := w.b
	if b.Stream == "" {
		b.Stream = store.PrimaryStream
	}
	var cur store.Cursor
	err := w.tx.QueryRowContext(w.ctx,
		"SELECT cur_seq, cur_offset, cur_size, cur_mtime FROM streams WHERE run_id = ? AND name = ?", b.RunID, b.Stream,
	).Scan(&cur.Seq, &cur.Offset, &cur.Size, &cur.Mtime)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if b.Prev != (store.Cursor{}) {
			return store.ErrConflict
		}
		if err := w.exec("INSERT INTO streams (run_id, name) VALUES (?, ?)", b.RunID, b.Stream); err != nil {
			return fmt.Errorf("add stream %s of run %s: %w", b.Stream, b.RunID, err)
		}
		if err := w.exec("INSERT OR IGNORE INTO runs (id, path) VALUES (?, ?)", b.RunID, b.Path); err != nil {
			return fmt.Errorf("add run %s: %w", b.RunID, err)
		}
	case err != nil:
		return err
	case cur != b.Prev:
		return store.ErrConflict
	}
	if b.Header != nil {
		if err := w.header(b.Header); err != nil {
			return fmt.Errorf("run %s header: %w", b.RunID, err)
		}
	}
	if b.Defaults != nil {
		if err := w.defaults(b.Defaults); err != nil {
			return fmt.Errorf("run %s: %w", b.RunID, err)
		}
	}
	if b.Resume != nil {
		if err := w.resume(b.Resume); err != nil {
			return fmt.Errorf("run %s resume: %w", b.RunID, err)
		}
	}
	if b.Rewind != nil {
		if err := w.rewind(b.Rewind.Step); err != nil {
			return fmt.Errorf("run %s rewind: %w", b.RunID, err)
		}
	}
	if err := w.runFields(); err != nil {
		return fmt.Errorf("run %s: %w", b.RunID, err)
	}
	if len(b.Annotations) > 0 {
		if err := w.annotate(); err != nil {
			return fmt.Errorf("run %s annotate: %w", b.RunID, err)
		}
	}
	for key, goal := range b.Defines {
		if _, err := w.series(key, goal); err != nil {
			return fmt.Errorf("run %s define %q: %w", b.RunID, key, err)
		}
	}
	if len(b.Points) > 0 {
		if err := w.points(); err != nil {
			return fmt.Errorf("run %s points: %w", b.RunID, err)
		}
	}
	for _, a := range b.Arts {
		if err := w.artifact(a); err != nil {
			return fmt.Errorf("run %s artifact: %w", b.RunID, err)
		}
	}
	for _, e := range b.Events {
		if err := w.event(e); err != nil {
			return fmt.Errorf("run %s event: %w", b.RunID, err)
		}
	}
	if len(b.Media) > 0 || len(b.Histograms) > 0 {
		if err := w.media(); err != nil {
			return fmt.Errorf("run %s media: %w", b.RunID, err)
		}
	}
	if b.Header != nil || b.Resume != nil || b.Last > 0 || b.Status != nil {
		if err := w.updateSegments(); err != nil {
			return fmt.Errorf("run %s: %w", b.RunID, err)
		}
	}
	n := b.Next
	return w.exec("UPDATE streams SET cur_seq = ?, cur_offset = ?, cur_size = ?, cur_mtime = ? WHERE run_id = ? AND name = ?",
		n.Seq, n.Offset, n.Size, n.Mtime, b.RunID, b.Stream)
}

func (w *batchWriter) header(h *runfmt.Header) error {
	t := tables.HeaderOf(h)
	err := w.exec(`UPDATE runs SET project = ?, name = ?, grp = ?, tags = ?, notes = ?, hypothesis = ?,
		start_time = ?, last_time = max(last_time, ?), host = ?, user_name = ?, command = ?, cwd = ?,
		git = ?, env = ?, parent = ? WHERE id = ?`,
		t.Project, h.Name, h.Group, t.Tags, h.Notes, h.Hypothesis, h.Time, h.Time, h.Host, h.User,
		t.Command, h.Dir, t.Git, t.Env, h.Parent, w.b.RunID)
	if err != nil {
		return err
	}
	return w.exec("INSERT OR IGNORE INTO segments (run_id, idx, start, last) VALUES (?, 0, ?, ?)", w.b.RunID, h.Time, h.Time)
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
		name = CASE WHEN name = '' THEN ? ELSE name END,
		project = CASE WHEN project = 'default' AND ? NOT IN ('', 'default') THEN ? ELSE project END,
		grp = CASE WHEN grp = '' THEN ? ELSE grp END,
		tags = CASE WHEN tags = '[]' AND ? != '' THEN ? ELSE tags END,
		notes = CASE WHEN notes = '' THEN ? ELSE notes END,
		hypothesis = CASE WHEN hypothesis = '' THEN ? ELSE hypothesis END
		WHERE id = ?`,
		h.Name, h.Project, h.Project, h.Group, tags, tags, h.Notes, h.Hypothesis, w.b.RunID)
}

// resume starts a new process segment.
func (w *batchWriter) resume(r *runfmt.Resume) error {
	return w.exec(`INSERT INTO segments (run_id, idx, start, last)
		SELECT ?, coalesce(max(idx) + 1, 0), ?, ? FROM segments WHERE run_id = ?`,
		w.b.RunID, r.Time, r.Time, w.b.RunID)
}

// runFields applies the batch's config, summary, status and time.
func (w *batchWriter) runFields() error {
	b := w.b
	if b.Config != nil {
		if err := w.exec("UPDATE runs SET config = ? WHERE id = ?", string(b.Config), b.RunID); err != nil {
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
		// whichever is indexed first.
		if err := w.exec(`UPDATE runs SET status = ?, exit_code = ?, error = ?, end_time = ?, status_time = ?
			WHERE id = ? AND status_time <= ?`, s.Status, s.ExitCode, s.Error, tables.EndTime(s), s.Time, b.RunID, s.Time); err != nil {
			return err
		}
	}
	if len(b.KeyIDs) > 0 {
		km, err := tables.EncodeKeyIDs(b.KeyIDs)
		if err != nil {
			return err
		}
		if err := w.exec(`INSERT INTO stream_keys (run_id, stream, no, keymap)
			SELECT ?, ?, coalesce(max(no) + 1, 0), ? FROM stream_keys WHERE run_id = ? AND stream = ?`,
			b.RunID, b.Stream, km, b.RunID, b.Stream); err != nil {
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
		if err := w.exec("UPDATE runs SET start_time = ? WHERE id = ? AND start_time = 0", b.First, b.RunID); err != nil {
			return err
		}
		if err := w.exec(`INSERT INTO segments (run_id, idx, start, last)
			SELECT ?, 0, ?, ? WHERE NOT EXISTS (SELECT 1 FROM segments WHERE run_id = ?)`, b.RunID, b.First, b.First, b.RunID); err != nil {
			return err
		}
	}
	if last > 0 {
		if err := w.exec("UPDATE runs SET last_time = max(last_time, ?) WHERE id = ?", last, b.RunID); err != nil {
			return err
		}
		return w.exec(`UPDATE segments SET last = max(last, ?)
			WHERE run_id = ? AND idx = (SELECT max(idx) FROM segments WHERE run_id = ?)`, last, b.RunID, b.RunID)
	}
	return nil
}

// summary merges the batch's summary updates into the user summary.
func (w *batchWriter) summary() error {
	var raw string
	if err := w.tx.QueryRowContext(w.ctx, "SELECT summary FROM runs WHERE id = ?", w.b.RunID).Scan(&raw); err != nil {
		return err
	}
	sum, err := tables.MergeSummary(raw, w.b.Summary)
	if err != nil {
		return err
	}
	return w.exec("UPDATE runs SET summary = ? WHERE id = ?", sum, w.b.RunID)
}

func (w *batchWriter) artifact(a store.Artifact) error {
	meta, err := tables.EncodeObject(a.Metadata)
	if err != nil {
		return err
	}
	return w.exec(`INSERT OR IGNORE INTO artifacts (run_id, stream, seq, path, kind, step, time, size, sha256, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.b.RunID, w.b.Stream, a.Seq, a.Path, a.Kind, a.Step, a.Time, a.Size, a.SHA256, meta)
}

func (w *batchWriter) event(e store.Event) error {
	data, err := tables.EncodeObject(e.Data)
	if err != nil {
		return err
	}
	return w.exec(`INSERT OR IGNORE INTO events (run_id, stream, seq, kind, time, step, level, title, text, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.b.RunID, w.b.Stream, e.Seq, e.Kind, e.Time, e.Step, e.Level, e.Title, e.Text, data)
}

// DeleteRun removes a run and all it holds.
func (db *DB) DeleteRun(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM chunks WHERE series_id IN (SELECT id FROM series WHERE run_id = ?)",
			"DELETE FROM overviews WHERE series_id IN (SELECT id FROM series WHERE run_id = ?)",
			"DELETE FROM series WHERE run_id = ?",
			"DELETE FROM segments WHERE run_id = ?",
			"DELETE FROM streams WHERE run_id = ?",
			"DELETE FROM stream_keys WHERE run_id = ?",
			"DELETE FROM artifacts WHERE run_id = ?",
			"DELETE FROM events WHERE run_id = ?",
			"DELETE FROM media WHERE run_id = ?",
			"DELETE FROM histograms WHERE run_id = ?",
			"DELETE FROM runs WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete run %s: %w", id, err)
			}
		}
		return nil
	})
}
