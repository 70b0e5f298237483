package sqlite

import (
	"encoding/binary"
	"math"

	"github.com/runlog/runlog/internal/series"
)

// The runs table keeps, beside each run, what listings show of its series:
// the greatest step and the final train and validation loss. Listing
// thousands of runs then reads one table and decodes no statistics.

// lossRank returns the preference of key among keys (lower is preferred),
// or -1 if it is not one of them.
func lossRank(keys []string, key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	return -1
}

// updateLatest accounts for the final points of the series a batch wrote.
func (w *batchWriter) updateLatest(lasts map[string]series.Point) error {
	var trainKey, valKey string
	var maxStep int64
	if err := w.tx.QueryRowContext(w.ctx, "SELECT train_key, val_key, max_step FROM runs WHERE id = ?", w.b.RunID).
		Scan(&trainKey, &valKey, &maxStep); err != nil {
		return err
	}
	train, val := latestLoss{key: trainKey}, latestLoss{key: valKey}
	for key, p := range lasts {
		maxStep = max(maxStep, p.Step)
		train.offer(series.TrainLossKeys, key, p)
		val.offer(series.ValLossKeys, key, p)
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
	defer rows.Close()
	maxStep := int64(-1)
	var train, val latestLoss
	for rows.Next() {
		var key string
		var raw []byte
		var st series.Stats
		if err := rows.Scan(&key, &raw); err != nil {
			return err
		}
		if st.UnmarshalBinary(raw) != nil || st.Count == 0 {
			continue
		}
		maxStep = max(maxStep, st.Last.Step)
		train.offer(series.TrainLossKeys, key, st.Last)
		val.offer(series.ValLossKeys, key, st.Last)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.saveLatest(maxStep, train, val)
}

// latestLoss is the final point of the most preferred loss key seen.
type latestLoss struct {
	key  string
	last *series.Point
}

func (l *latestLoss) offer(keys []string, key string, p series.Point) {
	r := lossRank(keys, key)
	if r < 0 {
		return
	}
	if cur := lossRank(keys, l.key); l.key == "" || r <= cur {
		l.key, l.last = key, &p
	}
}

func (w *batchWriter) saveLatest(maxStep int64, train, val latestLoss) error {
	q := "UPDATE runs SET max_step = ?"
	args := []any{maxStep}
	if train.last != nil {
		q += ", train_key = ?, train_last = ?"
		args = append(args, train.key, encodePoint(*train.last))
	}
	if val.last != nil {
		q += ", val_key = ?, val_last = ?"
		args = append(args, val.key, encodePoint(*val.last))
	}
	return w.exec(q+" WHERE id = ?", append(args, w.b.RunID)...)
}

// encodePoint stores a point in 24 bytes: SQLite would turn a NaN value
// stored as REAL into NULL.
func encodePoint(p series.Point) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, uint64(p.Step))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Time))
	binary.LittleEndian.PutUint64(b[16:], math.Float64bits(p.Value))
	return b
}

func decodePoint(b []byte) *series.Point {
	if len(b) != 24 {
		return nil
	}
	return &series.Point{
		Step:  int64(binary.LittleEndian.Uint64(b)),
		Time:  int64(binary.LittleEndian.Uint64(b[8:])),
		Value: math.Float64frombits(binary.LittleEndian.Uint64(b[16:])),
	}
}

// updateSegments sets the run's active time and segment count from its
// segments.
func (w *batchWriter) updateSegments() error {
	return w.exec(`UPDATE runs SET
		active = (SELECT coalesce(sum(last - start), 0) FROM segments WHERE run_id = ?),
		segments = (SELECT count(*) FROM segments WHERE run_id = ?) WHERE id = ?`,
		w.b.RunID, w.b.RunID, w.b.RunID)
}
