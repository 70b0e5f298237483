package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/tables"
)

// media writes the batch's rich values: texts and media records into
// media, histograms into histograms.
func (w *batchWriter) media() error {
	b := w.b
	for _, m := range b.Media {
		rec, err := tables.MediaRecord(m)
		if err != nil {
			return err
		}
		if err := w.exec(`INSERT INTO media (run_id, stream, seq, key, step, time, kind, text, record)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			b.RunID, b.Stream, int64(m.Seq), m.Key, m.Step, m.Time, m.Kind, m.Text, rec); err != nil {
			return err
		}
	}
	for _, h := range b.Histograms {
		if err := w.exec(`INSERT INTO histograms (run_id, stream, seq, key, step, time, nan, inf, ninf, edges, counts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			b.RunID, b.Stream, int64(h.Seq), h.Key, h.Step, h.Time, h.NaN, h.Inf, h.NInf, h.Edges, h.Counts); err != nil {
			return err
		}
	}
	return nil
}

// mediaOrder orders the values of a key: by step, then as logged.
const mediaOrder = "step, time, stream, seq"

// MediaKeys returns the keys of a run's rich values. See store.MediaStore.
func (db *DB) MediaKeys(ctx context.Context, runID string) ([]store.MediaKey, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT key, kind, count(*), min(step), max(step),
			CASE WHEN kind = 'text' THEN (SELECT text FROM media l WHERE l.run_id = $1 AND l.key = m.key AND l.kind = 'text'
				ORDER BY step DESC, time DESC, stream DESC, seq DESC LIMIT 1) ELSE '' END
		FROM media m WHERE run_id = $1 GROUP BY key, kind
		UNION ALL
		SELECT key, 'histogram', count(*), min(step), max(step), '' FROM histograms WHERE run_id = $1 GROUP BY key
		ORDER BY 1, 2`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s media keys: %w", runID, db.mapErr(err))
	}
	defer rows.Close()
	var out []store.MediaKey
	for rows.Next() {
		var k store.MediaKey
		if err := rows.Scan(&k.Key, &k.Kind, &k.Count, &k.FirstStep, &k.LastStep, &k.LastText); err != nil {
			return nil, fmt.Errorf("run %s media keys: %w", runID, db.mapErr(err))
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run %s media keys: %w", runID, db.mapErr(err))
	}
	return out, nil
}

// Media returns values of one key of a run. See store.MediaStore.
func (db *DB) Media(ctx context.Context, runID, key string, q store.MediaQuery) ([]store.MediaEntry, bool, error) {
	from := q.From
	kind, anyKind := q.Kind, q.Kind == ""
	if q.AtOrBefore != nil {
		var step *int64
		err := db.pool.QueryRow(ctx, "SELECT max(step) FROM media WHERE run_id = $1 AND key = $2 AND step <= $3 AND ($4 OR kind = $5)",
			runID, key, *q.AtOrBefore, anyKind, kind).Scan(&step)
		if err != nil {
			return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, db.mapErr(err))
		}
		if step == nil {
			return nil, false, nil
		}
		from = *step
	}
	cond := "step >= $3"
	if q.AtOrBefore != nil {
		cond = "step = $3"
	}
	rows, err := db.pool.Query(ctx, `SELECT seq, step, time, kind, text, record FROM media
		WHERE run_id = $1 AND key = $2 AND `+cond+` AND ($4 OR kind = $5) ORDER BY `+mediaOrder, runID, key, from, anyKind, kind)
	if err != nil {
		return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, db.mapErr(err))
	}
	defer rows.Close()
	out, more, err := tables.ReadMedia(rows, key, q)
	if err != nil {
		return nil, false, fmt.Errorf("run %s media %q: %w", runID, key, db.mapErr(err))
	}
	return out, more, nil
}

// Histograms returns the histograms of one key of a run. See
// store.MediaStore. The positions of the rows to return are chosen from
// their count, and only those rows are read, with their bins.
func (db *DB) Histograms(ctx context.Context, runID, key string, maxSteps int) ([]store.Histogram, int, error) {
	var total int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM histograms WHERE run_id = $1 AND key = $2", runID, key).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("run %s histograms %q: %w", runID, key, db.mapErr(err))
	}
	var pick []int64 // 1-based positions in mediaOrder
	for _, p := range tables.PickHistograms(total, maxSteps) {
		pick = append(pick, int64(p)+1)
	}
	rows, err := db.pool.Query(ctx, `SELECT seq, step, time, nan, inf, ninf, edges, counts FROM (
		SELECT *, row_number() OVER (ORDER BY `+mediaOrder+`) AS pos FROM histograms WHERE run_id = $1 AND key = $2) AS h
		WHERE $3::bigint[] IS NULL OR pos = ANY($3) ORDER BY pos`, runID, key, pick)
	if err != nil {
		return nil, 0, fmt.Errorf("run %s histograms %q: %w", runID, key, db.mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Histogram, error) {
		var h store.Histogram
		err := r.Scan(&h.Seq, &h.Step, &h.Time, &h.NaN, &h.Inf, &h.NInf, &h.Edges, &h.Counts)
		h.Key = key
		return h, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("run %s histograms %q: %w", runID, key, db.mapErr(err))
	}
	if out == nil {
		out = []store.Histogram{}
	}
	return out, total, nil
}
