package sqlite

import (
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// The runs table keeps, beside each run, what listings show of its series:
// the greatest step and the final train and validation loss. Listing
// thousands of runs then reads one table and decodes no statistics.

// updateLatest accounts for the final points of the series a batch wrote.
func (w *batchWriter) updateLatest(lasts map[string]series.Point) error {
	var trainKey, valKey string
	var maxStep int64
	if err := w.tx.QueryRowContext(w.ctx, "SELECT train_key, val_key, max_step FROM runs WHERE id = ?", w.b.RunID).
		Scan(&trainKey, &valKey, &maxStep); err != nil {
		return err
	}
	train, val := tables.Latest{Key: trainKey}, tables.Latest{Key: valKey}
	for key, p := range lasts {
		maxStep = max(maxStep, p.Step)
		train.Offer(series.TrainLossKeys, key, p)
		val.Offer(series.ValLossKeys, key, p)
	}
	return w.saveLatest(maxStep, train, val)
}

// recomputeLatest sets the run's greatest step and final losses from all
// its series, after a rewind.
func (w *batchWriter) recomputeLatest() error {
	rows, err := w.tx.QueryContext(w.ctx, "SELECT key, stats FROM series WHERE run_id = ?", w.b.RunID)
	if err != nil {
		return err
	}
	r, err := tables.Recompute(rows)
	rows.Close()
	if err != nil {
		return err
	}
	return w.saveLatest(r.MaxStep, r.Train, r.Val)
}

func (w *batchWriter) saveLatest(maxStep int64, train, val tables.Latest) error {
	q := "UPDATE runs SET max_step = ?"
	args := []any{maxStep}
	if train.Last != nil {
		q += ", train_key = ?, train_last = ?"
		args = append(args, train.Key, tables.EncodePoint(*train.Last))
	}
	if val.Last != nil {
		q += ", val_key = ?, val_last = ?"
		args = append(args, val.Key, tables.EncodePoint(*val.Last))
	}
	return w.exec(q+" WHERE id = ?", append(args, w.b.RunID)...)
}

// updateSegments sets the run's active time and segment count from its
// segments.
func (w *batchWriter) updateSegments() error {
	return w.exec(`UPDATE runs SET
		active = (SELECT coalesce(sum(last - start), 0) FROM segments WHERE run_id = ?),
		segments = (SELECT count(*) FROM segments WHERE run_id = ?) WHERE id = ?`,
		w.b.RunID, w.b.RunID, w.b.RunID)
}
