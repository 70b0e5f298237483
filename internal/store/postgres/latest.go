package postgres

import (
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// The runs table keeps, beside each run, what listings show of its series:
// the greatest step and the final train and validation loss, as the SQLite
// store does.

// latest is a run's greatest step and final losses, as read when its row
// is locked and as the batch changes them; the batch writes them with the
// run's other changes, in one update of its row (runUpdate).
type latest struct {
	maxStep    int64
	train, val tables.Latest
	changed    bool
}

// updateLatest accounts for the final points of the series a batch wrote.
func (w *batchWriter) updateLatest(lasts map[string]series.Point) error {
	l := &w.latest
	for key, p := range lasts {
		l.maxStep = max(l.maxStep, p.Step)
		l.train.Offer(series.TrainLossKeys, key, p)
		l.val.Offer(series.ValLossKeys, key, p)
	}
	l.changed = true
	return nil
}

// recomputeLatest sets the run's greatest step and final losses from all
// its series, after a rewind.
func (w *batchWriter) recomputeLatest() error {
	rows, err := w.tx.Query(w.ctx, "SELECT key, stats FROM series WHERE run_id = $1", w.b.RunID)
	if err != nil {
		return err
	}
	r, err := tables.Recompute(rows)
	rows.Close()
	if err != nil {
		return err
	}
	// A loss no series has any more keeps the run's last known one, as
	// in the SQLite store.
	l := &w.latest
	l.maxStep, l.changed = r.MaxStep, true
	if r.Train.Last != nil {
		l.train = r.Train
	}
	if r.Val.Last != nil {
		l.val = r.Val
	}
	return nil
}

// runUpdate writes what the batch changed of its run's row that every
// batch of a live run changes — the latest record time, the greatest step
// and final losses, the active time and segment count — in one update, so
// that a batch leaves one new version of the row, not three.
func (w *batchWriter) runUpdate() error {
	var set []string
	args := []any{w.b.RunID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if w.last > 0 {
		set = append(set, "last_time = greatest(last_time, "+arg(w.last)+")")
	}
	if l := &w.latest; l.changed {
		set = append(set, "max_step = "+arg(l.maxStep))
		if l.train.Last != nil {
			set = append(set, "train_key = "+arg(l.train.Key), "train_last = "+arg(tables.EncodePoint(*l.train.Last)))
		}
		if l.val.Last != nil {
			set = append(set, "val_key = "+arg(l.val.Key), "val_last = "+arg(tables.EncodePoint(*l.val.Last)))
		}
	}
	if w.segments {
		set = append(set, "active = (SELECT coalesce(sum(last - start), 0) FROM segments WHERE run_id = $1)",
			"segments = (SELECT count(*) FROM segments WHERE run_id = $1)")
	}
	if len(set) == 0 {
		return nil
	}
	return w.exec("UPDATE runs SET "+strings.Join(set, ", ")+" WHERE id = $1", args...)
}
