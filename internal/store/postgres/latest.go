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

// updateLatest accounts for the final points of the series a batch wrote:
// of each, the point of its greatest step among the batch's points.
func (w *batchWriter) updateLatest(lasts map[string]series.Point) error {
	l := &w.latest
	for key, p := range lasts {
		l.maxStep = max(l.maxStep, p.Step)
		for _, loss := range []struct {
			l    *tables.Latest
			keys []string
		}{{&l.train, series.TrainLossKeys}, {&l.val, series.ValLossKeys}} {
			// The batch does not read the series' statistics, so p is
			// the series' final point (the one of its greatest step, the
			// later of equal ones) unless the series had one of a
			// greater step before. The run's row holds the final point
			// of its loss series; one of a greater step than p is looked
			// up (a series logged out of step order, or rewound).
			if key == loss.l.Key && loss.l.Last != nil && p.Step < loss.l.Last.Step {
				last, err := w.seriesLast(key)
				if err != nil {
					return err
				}
				p = last
			}
			loss.l.Offer(loss.keys, key, p)
		}
	}
	l.changed = true
	return nil
}

// seriesLast returns the final point of the run's series key, its
// chunks' and its tail's, the batch's points included.
func (w *batchWriter) seriesLast(key string) (series.Point, error) {
	var id int64
	var raw []byte
	var st series.Stats
	if err := w.tx.QueryRow(w.ctx, "SELECT id, stats FROM series WHERE run_id = $1 AND key = $2", w.b.RunID, key).Scan(&id, &raw); err != nil {
		return st.Last, err
	}
	if err := decodeStats(raw, &st); err != nil {
		return st.Last, err
	}
	tp, err := readTails(w.ctx, w.tx, []string{w.b.RunID}, func(i int64) bool { return i == id })
	if err != nil {
		return st.Last, err
	}
	if p := tp[id]; p != nil {
		st.AddPoints(*p)
	}
	return st.Last, nil
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
	if w.tailChanged {
		t := &w.tail
		set = append(set, "tail_next = "+arg(t.next), "tail_shape = "+arg(t.shape), "tail_bytes = "+arg(t.bytes), "tail_max = "+arg(t.max))
	}
	if len(set) == 0 {
		return nil
	}
	return w.exec("UPDATE runs SET "+strings.Join(set, ", ")+" WHERE id = $1", args...)
}
