package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/series"
)

// A live run's newest points are kept in its tail: rows of the tail table,
// only ever inserted and deleted, never updated, each holding the points
// of every series of one or more batches of the run. A row's data is a
// sequence of entries in ascending series id, one a series:
//
//	uvarint  the series id less the previous entry's (the first: the id)
//	uvarint  n, the length of the chunk
//	n bytes  the series' points in the row, a chunk (internal/series)
//
// so that a reader after one series decodes only its chunk and skips the
// others by their length.
//
// A batch adds its points as one row of level 0. When a level holds
// tailFanout rows they are merged, with the batch's points, into one row
// of the next level, so a run keeps at most tailFanout-1 rows a level and
// each point is rewritten once a level. Rows of a lower level are always
// newer than those of a higher one, so a merge takes the newest rows of
// the tail, which follow one another, and rows numbered in order hold
// points in the order they were logged.
//
// The tail is compacted — its rows read whole and written anew — when a
// series of it may have reached chunkSize points (tailMax), when the top
// level would overflow, or when its data would pass maxTailBytes. A
// compaction seals the series that have enough points into full chunks
// (filling the series' last chunk first if a compaction left it partial)
// and leaves the rest as the tail's one row, of the top level. If that row
// would still be over half of maxTailBytes — a run of many keys, each with
// few points — every series of the tail is sealed, into partial chunks
// that later compactions fill up. A read of one series thus decodes at
// most maxTailBytes of tail whatever the number of keys of its run.
//
// The fanout weighs the rows a run keeps against how often a point is
// rewritten: a point is rewritten at most tailLevels times before it is
// sealed, and a series' share of a row costs about 15 bytes beside its
// points (entry prefix and chunk header), so fewer, larger rows of higher
// levels keep a tail close to the size of its points in one chunk.
const (
	tailFanout   = 8
	tailLevels   = 4 // tailFanout^tailLevels = chunkSize: one-point batches fill a chunk as the top level fills
	maxTailBytes = 512 << 10
)

// tailState is a run's tail as its row in runs records it, read when a
// batch locks the run and written with the run's other changes.
type tailState struct {
	next  int32 // the number of the next row; rows are numbered 0 to next-1
	shape int32 // rows of each level, a byte each, level 0 lowest
	bytes int32 // bytes of data of all rows
	max   int32 // at least the points of any one series in the tail
}

func (t *tailState) rows(level int) int { return int(t.shape>>(8*level)) & 0xff }

func (t *tailState) setRows(level, n int) {
	t.shape = t.shape&^(0xff<<(8*level)) | int32(n)<<(8*level)
}

// appendEntry appends the entry of series id, whose entry follows that of
// series prev (0 for the first), holding the chunk c.
func appendEntry(dst []byte, prev, id int64, c []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(id-prev))
	dst = binary.AppendUvarint(dst, uint64(len(c)))
	return append(dst, c...)
}

var errBadTail = errors.New("bad tail row")

// eachEntry calls fn with the series id and chunk of every entry of a
// tail row's data, in order.
func eachEntry(data []byte, fn func(id int64, chunk []byte) error) error {
	var id int64
	for len(data) > 0 {
		d, n := binary.Uvarint(data)
		if n <= 0 {
			return errBadTail
		}
		data = data[n:]
		l, n := binary.Uvarint(data)
		if n <= 0 || l > uint64(len(data)-n) {
			return errBadTail
		}
		id += int64(d)
		if err := fn(id, data[n:n+int(l)]); err != nil {
			return err
		}
		data = data[n+int(l):]
	}
	return nil
}

// tailPoints are points of the series of a tail, by series id.
type tailPoints map[int64]*series.Points

// decode appends the points data holds of the series want selects (all
// if want is nil).
func (tp tailPoints) decode(data []byte, want func(int64) bool) error {
	return eachEntry(data, func(id int64, c []byte) error {
		if want != nil && !want(id) {
			return nil
		}
		p := tp[id]
		if p == nil {
			p = &series.Points{}
			tp[id] = p
		}
		if err := series.DecodeChunk(c, p); err != nil {
			return fmt.Errorf("series %d: %w", id, err)
		}
		return nil
	})
}

// add appends pts to the points of series id.
func (tp tailPoints) add(id int64, pts series.Points) {
	p := tp[id]
	if p == nil {
		p = &series.Points{}
		tp[id] = p
	}
	p.Steps = append(p.Steps, pts.Steps...)
	p.Times = append(p.Times, pts.Times...)
	p.Values = append(p.Values, pts.Values...)
}

// ids returns the series ids of tp in ascending order.
func (tp tailPoints) ids() []int64 {
	ids := make([]int64, 0, len(tp))
	for id := range tp {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// encodeRow encodes the points of tp as a tail row's data and returns it
// with the number of points and the most points of one series.
func (tp tailPoints) encodeRow() (data []byte, count, most int32) {
	var prev int64
	var c []byte
	for _, id := range tp.ids() {
		p := tp[id]
		if p.Len() == 0 {
			continue
		}
		c = series.AppendChunk(c[:0], *p)
		data = appendEntry(data, prev, id, c)
		prev = id
		count += int32(p.Len())
		most = max(most, int32(p.Len()))
	}
	return data, count, most
}

// dbReader is what reads points and series: the pool or a transaction.
type dbReader interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readTails returns the points in the tails of the runs of the series
// want selects (all if nil).
func readTails(ctx context.Context, q dbReader, runIDs []string, want func(int64) bool) (tailPoints, error) {
	tp := tailPoints{}
	rows, err := q.Query(ctx, "SELECT run_id, no, data FROM tail WHERE run_id = ANY($1) ORDER BY run_id, no", runIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var run string
		var no int32
		var data []byte
		if err := rows.Scan(&run, &no, &data); err != nil {
			return nil, err
		}
		if err := tp.decode(data, want); err != nil {
			return nil, fmt.Errorf("run %s tail row %d: %w", run, no, err)
		}
	}
	return tp, rows.Err()
}

// tailRow is a row of a run's tail as a batch reads it.
type tailRow struct {
	no   int32
	data []byte
}

// tailRows reads the rows of the batch's run numbered from on, in order.
func (w *batchWriter) tailRows(from int32) ([]tailRow, error) {
	rows, err := w.tx.Query(w.ctx, "SELECT no, data FROM tail WHERE run_id = $1 AND no >= $2 ORDER BY no", w.b.RunID, from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tailRow
	for rows.Next() {
		var r tailRow
		if err := rows.Scan(&r.no, &r.data); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// appendTail adds the batch's points, by series id, to its run's tail: as
// a row of level 0, by a merge, or by a compaction.
func (w *batchWriter) appendTail(batch tailPoints) error {
	t := &w.tail
	data, count, most := batch.encodeRow()
	if count == 0 {
		return nil
	}
	// The level a merge would write, and how many of the newest rows it
	// would take.
	level, take := 0, 0
	for level < tailLevels-1 && t.rows(level)+1 >= tailFanout {
		take += t.rows(level)
		level++
	}
	if t.max+most >= chunkSize || int(t.bytes)+len(data) > maxTailBytes ||
		(level == tailLevels-1 && t.rows(level)+1 >= tailFanout) {
		return w.compact(batch, false)
	}
	w.tailChanged = true
	if take == 0 {
		t.max += most
		t.bytes += int32(len(data))
		t.setRows(0, t.rows(0)+1)
		no := t.next
		t.next++
		return w.exec("INSERT INTO tail (run_id, no, level, count, data) VALUES ($1, $2, 0, $3, $4)", w.b.RunID, no, count, data)
	}
	from := t.next - int32(take)
	rows, err := w.tailRows(from)
	if err != nil {
		return err
	}
	if len(rows) != take {
		return fmt.Errorf("tail has %d rows from %d, its run says %d", len(rows), from, take)
	}
	merged := tailPoints{}
	for _, r := range rows {
		if err := merged.decode(r.data, nil); err != nil {
			return fmt.Errorf("tail row %d: %w", r.no, err)
		}
		t.bytes -= int32(len(r.data))
	}
	for id, p := range batch {
		merged.add(id, *p)
	}
	data, count, _ = merged.encodeRow()
	for l := range level {
		t.setRows(l, 0)
	}
	t.setRows(level, t.rows(level)+1)
	t.max += most
	t.bytes += int32(len(data))
	t.next = from + 1
	if err := w.exec("DELETE FROM tail WHERE run_id = $1 AND no >= $2", w.b.RunID, from); err != nil {
		return err
	}
	return w.exec("INSERT INTO tail (run_id, no, level, count, data) VALUES ($1, $2, $3, $4, $5)", w.b.RunID, from, level, count, data)
}

// compact reads the run's whole tail, adds the batch's points (if any) and
// seals what has enough points into chunks; the rest becomes the tail's
// one row, of the top level. With all, or when that row would be over
// half of maxTailBytes, every series is sealed and the tail left empty.
func (w *batchWriter) compact(batch tailPoints, all bool) error {
	t := &w.tail
	w.tailChanged = true
	pts := tailPoints{}
	if t.next > 0 {
		rows, err := w.tailRows(0)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := pts.decode(r.data, nil); err != nil {
				return fmt.Errorf("tail row %d: %w", r.no, err)
			}
		}
		if err := w.exec("DELETE FROM tail WHERE run_id = $1", w.b.RunID); err != nil {
			return err
		}
	}
	for id, p := range batch {
		pts.add(id, *p)
	}
	*t = tailState{}
	if len(pts) == 0 {
		return nil
	}
	left, err := w.seal(pts, all)
	if err != nil {
		return err
	}
	data, count, most := left.encodeRow()
	if !all && len(data) > maxTailBytes/2 {
		more, err := w.seal(left, true)
		if err != nil {
			return err
		}
		if len(more) > 0 {
			return fmt.Errorf("sealing every series left %d in the tail", len(more))
		}
		return nil
	}
	if count == 0 {
		return nil
	}
	t.next, t.bytes, t.max = 1, int32(len(data)), most
	t.setRows(tailLevels-1, 1)
	return w.exec("INSERT INTO tail (run_id, no, level, count, data) VALUES ($1, 0, $2, $3, $4)", w.b.RunID, tailLevels-1, count, data)
}

// sealTails moves the whole tail of the batch's run into chunks, as a
// rewind needs it.
func (w *batchWriter) sealTails() error {
	if w.tail.next == 0 {
		return nil
	}
	return w.compact(nil, true)
}
