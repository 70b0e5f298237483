package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

var _ store.MediaStore = (*DB)(nil)

// media writes the batch's rich values: texts and media records into
// media, histograms into histograms.
func (w *batchWriter) media() error {
	b := w.b
	for _, m := range b.Media {
		rec, err := tables.MediaRecord(m)
		if err != nil {
			return err
		}
		if err := w.exec(`INSERT OR IGNORE INTO media (run_id, stream, seq, key, step, time, kind, text, record)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.RunID, b.Stream, m.Seq, m.Key, m.Step, m.Time, m.Kind, m.Text, rec); err != nil {
			return err
		}
	}
	for _, h := range b.Histograms {
		if err := w.exec(`INSERT OR IGNORE INTO histograms (run_id, stream, seq, key, step, time, nan, inf, ninf, edges, counts)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.RunID, b.Stream, h.Seq, h.Key, h.Step, h.Time, h.NaN, h.Inf, h.NInf, floatsBlob(h.Edges), floatsBlob(h.Counts)); err != nil {
			return err
		}
	}
	return nil
}

// floatsBlob packs floats as little-endian float64s.
func floatsBlob(fs []float64) []byte {
	b := make([]byte, 0, 8*len(fs))
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

func blobFloats(b []byte) []float64 {
	fs := make([]float64, len(b)/8)
	for i := range fs {
		fs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return fs
}

// mediaOrder orders the values of a key: by step, then as logged.
const mediaOrder = "step, time, stream, seq"

// MediaKeys returns the keys of a run's rich values. See store.MediaStore.
func (db *DB) MediaKeys(ctx context.Context, runID string) ([]store.MediaKey, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT key, kind, COUNT(*), MIN(step), MAX(step) FROM media WHERE run_id = ? GROUP BY key, kind
		UNION ALL
		SELECT key, 'histogram', COUNT(*), MIN(step), MAX(step) FROM histograms WHERE run_id = ? GROUP BY key
		ORDER BY 1, 2`, runID, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s media keys: %w", runID, mapErr(err))
	}
	var out []store.MediaKey
	for rows.Next() {
		var k store.MediaKey
		if err := rows.Scan(&k.Key, &k.Kind, &k.Count, &k.FirstStep, &k.LastStep); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Kind != runfmt.MediaText {
			continue
		}
		err := db.r.QueryRowContext(ctx, `SELECT text FROM media WHERE run_id = ? AND key = ? AND kind = 'text'
			ORDER BY step DESC, time DESC, stream DESC, seq DESC LIMIT 1`, runID, out[i].Key).Scan(&out[i].LastText)
		if err != nil {
			return nil, fmt.Errorf("run %s media key %q: %w", runID, out[i].Key, mapErr(err))
		}
	}
	return out, nil
}

// Media returns values of one key of a run. See store.MediaStore.
func (db *DB) Media(ctx context.Context, runID, key string, q store.MediaQuery) ([]store.MediaEntry, bool, error) {
	from := q.From
	// The kind, when asked for, filters with a condition that is always
	// true when not: one query text either way.
	kind, anyKind := q.Kind, q.Kind == ""
	if q.AtOrBefore != nil {
		var step sql.NullInt64
		err := db.r.QueryRowContext(ctx, "SELECT MAX(step) FROM media WHERE run_id = ? AND key = ? AND step <= ? AND (? OR kind = ?)",
			runID, key, *q.AtOrBefore, anyKind, kind).Scan(&step)
		if err != nil {
			return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, mapErr(err))
		}
		if !step.Valid {
			return nil, false, nil
		}
		from = step.Int64
	}
	query := "SELECT seq, step, time, kind, text, record FROM media WHERE run_id = ? AND key = ? AND step >= ?"
	if q.AtOrBefore != nil {
		query = "SELECT seq, step, time, kind, text, record FROM media WHERE run_id = ? AND key = ? AND step = ?"
	}
	rows, err := db.r.QueryContext(ctx, query+" AND (? OR kind = ?) ORDER BY "+mediaOrder, runID, key, from, anyKind, kind)
	if err != nil {
		return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, mapErr(err))
	}
	defer rows.Close()
	out, more, err := tables.ReadMedia(rows, key, q)
	if err != nil {
		return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, mapErr(err))
	}
	return out, more, nil
}

// Histograms returns the histograms of one key of a run. See
// store.MediaStore.
func (db *DB) Histograms(ctx context.Context, runID, key string, maxSteps int) ([]store.Histogram, int, error) {
	// The identities of every row first, which are small; then the rows
	// chosen, with their bins.
	rows, err := db.r.QueryContext(ctx, "SELECT stream, seq FROM histograms WHERE run_id = ? AND key = ? ORDER BY "+mediaOrder, runID, key)
	if err != nil {
		return nil, 0, fmt.Errorf("run %s histograms %q: %w", runID, key, mapErr(err))
	}
	type id struct {
		stream string
		seq    uint64
	}
	var ids []id
	for rows.Next() {
		var i id
		if err := rows.Scan(&i.stream, &i.seq); err != nil {
			rows.Close()
			return nil, 0, err
		}
		ids = append(ids, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total := len(ids)
	pick := ids
	if p := tables.PickHistograms(total, maxSteps); p != nil {
		pick = make([]id, len(p))
		for i, j := range p {
			pick[i] = ids[j]
		}
	}
	out := make([]store.Histogram, 0, len(pick))
	for _, i := range pick {
		h := store.Histogram{Seq: i.seq}
		h.Key = key
		var edges, counts []byte
		err := db.r.QueryRowContext(ctx, `SELECT step, time, nan, inf, ninf, edges, counts FROM histograms
			WHERE run_id = ? AND stream = ? AND seq = ?`, runID, i.stream, i.seq).
			Scan(&h.Step, &h.Time, &h.NaN, &h.Inf, &h.NInf, &edges, &counts)
		if err != nil {
			return nil, 0, fmt.Errorf("run %s histograms %q: %w", runID, key, mapErr(err))
		}
		h.Edges, h.Counts = blobFloats(edges), blobFloats(counts)
		out = append(out, h)
	}
	return out, total, nil
}
