package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// chunkSize is the number of points in a full chunk. Larger chunks compress
// a little better and waste less of SQLite's overflow pages; smaller ones
// make rewriting the open head chunk of a live series cheaper.
const chunkSize = 4096

// seriesRow is a series as stored, with the number its next chunk gets.
type seriesRow struct {
	id        int64
	stats     series.Stats
	nextChunk int64
	created   bool // by this batch: it has no chunks yet
}

// series returns the series key of the batch's run, creating it if needed.
// A non-empty goal is recorded.
func (w *batchWriter) series(key, goal string) (*seriesRow, error) {
	s := &seriesRow{}
	var raw []byte
	err := w.queryRow("SELECT id, stats, next_chunk FROM series WHERE run_id = ? AND key = ?",
		w.b.RunID, key).Scan(&s.id, &raw, &s.nextChunk)
	if errors.Is(err, sql.ErrNoRows) {
		raw, _ = s.stats.MarshalBinary()
		ins, err := w.stmt("INSERT INTO series (run_id, key, goal, stats) VALUES (?, ?, ?, ?)")
		if err != nil {
			return nil, err
		}
		res, err := ins.ExecContext(w.ctx, w.b.RunID, key, goal, raw)
		if err != nil {
			return nil, err
		}
		s.id, err = res.LastInsertId()
		s.created = true
		return s, err
	}
	if err != nil {
		return nil, err
	}
	if err := s.stats.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("series %q: %w", key, err)
	}
	if goal != "" {
		if err := w.exec("UPDATE series SET goal = ? WHERE id = ?", goal, s.id); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// chunkWriter writes the chunks of one batch with prepared statements.
type chunkWriter struct {
	w      *batchWriter
	insert *sql.Stmt
	update *sql.Stmt
	ovPut  *sql.Stmt
	buf    []byte
	ovBuf  []byte
	head   series.Points
}

func (w *batchWriter) points() error {
	cw := &chunkWriter{w: w}
	var err error
	if cw.insert, err = w.tx.PrepareContext(w.ctx, `INSERT INTO chunks
		(series_id, no, superseded, count, min_step, max_step, stats, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return err
	}
	defer cw.insert.Close()
	if cw.update, err = w.tx.PrepareContext(w.ctx, `UPDATE chunks
		SET count = ?, min_step = ?, max_step = ?, stats = ?, data = ? WHERE series_id = ? AND no = ?`); err != nil {
		return err
	}
	defer cw.update.Close()
	if cw.ovPut, err = w.tx.PrepareContext(w.ctx, putOverview); err != nil {
		return err
	}
	defer cw.ovPut.Close()
	lasts := make(map[string]series.Point, len(w.b.Points))
	keys := make([]string, 0, len(w.b.Points))
	for k, pts := range w.b.Points {
		if pts.Len() > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // a stable order of writes keeps the file layout reproducible
	rows, err := w.lookupSeries(keys)
	if err != nil {
		return err
	}
	var fresh []string
	for _, key := range keys {
		s := rows[key]
		if s == nil {
			fresh = append(fresh, key)
			continue
		}
		if err := cw.appendSeries(s, w.b.Points[key]); err != nil {
			return fmt.Errorf("series %q: %w", key, err)
		}
		lasts[key] = s.stats.Last
	}
	if err := cw.newSeries(fresh, lasts); err != nil {
		return err
	}
	return w.updateLatest(lasts)
}

// lookupBatch is how many keys one query of lookupSeries looks up.
const lookupBatch = 256

// lookupSeries returns the stored series of the batch's run among keys,
// looking them up lookupBatch at a time: a batch of a run that logs many
// distinct keys then costs few queries.
func (w *batchWriter) lookupSeries(keys []string) (map[string]*seriesRow, error) {
	rows := make(map[string]*seriesRow)
	args := make([]any, 0, lookupBatch+1)
	for i := 0; i < len(keys); i += lookupBatch {
		part := keys[i:min(i+lookupBatch, len(keys))]
		q := "SELECT key, id, stats, next_chunk FROM series WHERE run_id = ? AND key IN (?" +
			strings.Repeat(", ?", len(part)-1) + ")"
		args = append(args[:0], w.b.RunID)
		for _, k := range part {
			args = append(args, k)
		}
		st, err := w.stmt(q)
		if err != nil {
			return nil, err
		}
		rs, err := st.QueryContext(w.ctx, args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			s := &seriesRow{}
			var key string
			var raw []byte
			if err := rs.Scan(&key, &s.id, &raw, &s.nextChunk); err != nil {
				rs.Close()
				return nil, err
			}
			if err := s.stats.UnmarshalBinary(raw); err != nil {
				rs.Close()
				return nil, fmt.Errorf("series %q: %w", key, err)
			}
			rows[key] = s
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// newSeries stores the series the run did not have, with their points:
// their rows, with their statistics, and their chunks, many rows to a
// statement. The batch holds the store's write lock, so the ids after the
// greatest in use are free.
func (cw *chunkWriter) newSeries(keys []string, lasts map[string]series.Point) error {
	w := cw.w
	var maxID int64
	if err := w.queryRow("SELECT coalesce(max(id), 0) FROM series").Scan(&maxID); err != nil {
		return err
	}
	rows := newRowInserter(w, "INSERT INTO series (id, run_id, key, goal, stats, next_chunk)", 6)
	chunks := newRowInserter(w, "INSERT INTO chunks (series_id, no, superseded, count, min_step, max_step, stats, data)", 8)
	overviews := newRowInserter(w, "INSERT INTO overviews (series_id, no, data)", 3)
	// Encoding a part of the keys overlaps with inserting the part before:
	// SQLite inserts on one core while the chunks are encoded on another.
	const part = 1024
	encode := func(keys []string) chan []encodedSeries {
		ch := make(chan []encodedSeries, 1)
		go func() { ch <- encodeSeries(w.b.Points, keys) }()
		return ch
	}
	next := encode(keys[:min(part, len(keys))])
	for i := 0; i < len(keys); i += part {
		enc := <-next
		if j := i + part; j < len(keys) {
			next = encode(keys[j:min(j+part, len(keys))])
		}
		for k, e := range enc {
			key := keys[i+k]
			maxID++
			for no, c := range e.chunks {
				if err := chunks.add(maxID, no, 0, c.count, c.lo, c.hi, c.stats, c.data); err != nil {
					return fmt.Errorf("series %q: %w", key, err)
				}
				if err := overviews.add(maxID, no, c.overview); err != nil {
					return fmt.Errorf("series %q: %w", key, err)
				}
			}
			if err := rows.add(maxID, w.b.RunID, key, "", e.stats, len(e.chunks)); err != nil {
				return fmt.Errorf("series %q: %w", key, err)
			}
			lasts[key] = e.last
		}
	}
	if err := rows.flush(); err != nil {
		return err
	}
	if err := chunks.flush(); err != nil {
		return err
	}
	return overviews.flush()
}

// encodedSeries is a new series ready to insert.
type encodedSeries struct {
	stats  []byte // of all its points
	last   series.Point
	chunks []encodedChunk
}

type encodedChunk struct {
	count    int
	lo, hi   int64 // step range
	stats    []byte
	data     []byte
	overview []byte // series.AppendOverview of its points
}

// encodeSeries encodes the chunks and statistics of the series keys of
// points, all into one buffer.
func encodeSeries(points map[string]*series.Points, keys []string) []encodedSeries {
	out := make([]encodedSeries, len(keys))
	var buf []byte
	for i, key := range keys {
		pts := points[key]
		var st series.Stats
		st.AddPoints(*pts)
		out[i].stats, _ = st.MarshalBinary()
		out[i].last = st.Last
		for j := 0; j < pts.Len(); j += chunkSize {
			c := pts.Slice(j, min(j+chunkSize, pts.Len()))
			stats, lo, hi := tables.ChunkFields(c)
			start := len(buf)
			buf = series.AppendChunk(buf, c)
			mid := len(buf)
			buf = series.AppendOverview(buf, series.OverviewOf(c))
			// Slices of a grown buffer keep the array they were cut from.
			out[i].chunks = append(out[i].chunks, encodedChunk{c.Len(), lo, hi, stats,
				buf[start:mid:mid], buf[mid:len(buf):len(buf)]})
		}
	}
	return out
}

// appendSeries appends points to a series: first into its open head chunk,
// if that has room, then into new chunks.
func (cw *chunkWriter) appendSeries(s *seriesRow, pts *series.Points) error {
	w := cw.w
	head := &cw.head
	head.Reset()
	headNo := int64(-1)
	var raw []byte
	var no int64
	err := sql.ErrNoRows // a series this batch created has no chunks
	if !s.created {
		err = w.queryRow(`SELECT no, data FROM chunks WHERE series_id = ? AND superseded = 0
		ORDER BY no DESC LIMIT 1`, s.id).Scan(&no, &raw)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if n, err := series.ChunkLen(raw); err == nil && n < chunkSize {
			if err := series.DecodeChunk(raw, head); err != nil {
				return fmt.Errorf("chunk %d: %w", no, err)
			}
			headNo = no
		}
	}
	for i := 0; i < pts.Len(); {
		n := min(chunkSize-head.Len(), pts.Len()-i)
		var c series.Points
		if head.Len() == 0 && headNo < 0 {
			c = pts.Slice(i, i+n) // no copy when the chunk is all new points
		} else {
			for j := i; j < i+n; j++ {
				head.Append(pts.Steps[j], pts.Times[j], pts.Values[j])
			}
			c = *head
		}
		i += n
		if headNo >= 0 {
			if err := cw.put(s.id, headNo, false, c); err != nil {
				return err
			}
			headNo = -1
		} else {
			if err := cw.put(s.id, s.nextChunk, true, c); err != nil {
				return err
			}
			s.nextChunk++
		}
		head.Reset()
	}
	s.stats.AddPoints(*pts)
	raw, _ = s.stats.MarshalBinary()
	return w.exec("UPDATE series SET stats = ?, next_chunk = ? WHERE id = ?", raw, s.nextChunk, s.id)
}

// putOverview stores the overview of a chunk, over the one it had. A
// superseded chunk keeps the overview it had when it was current; only
// current chunks' overviews are read.
const putOverview = `INSERT INTO overviews (series_id, no, data) VALUES (?, ?, ?)
	ON CONFLICT (series_id, no) DO UPDATE SET data = excluded.data`

// put writes chunk no of a series, as a new row or over the existing one,
// and its overview.
func (cw *chunkWriter) put(seriesID, no int64, insert bool, c series.Points) error {
	stats, lo, hi := tables.ChunkFields(c)
	cw.buf = series.AppendChunk(cw.buf[:0], c)
	cw.ovBuf = series.AppendOverview(cw.ovBuf[:0], series.OverviewOf(c))
	var err error
	if insert {
		_, err = cw.insert.ExecContext(cw.w.ctx, seriesID, no, 0, c.Len(), lo, hi, stats, cw.buf)
	} else {
		_, err = cw.update.ExecContext(cw.w.ctx, c.Len(), lo, hi, stats, cw.buf, seriesID, no)
	}
	if err != nil {
		return err
	}
	_, err = cw.ovPut.ExecContext(cw.w.ctx, seriesID, no, cw.ovBuf)
	return err
}

// rewind supersedes every current point of the run with a step greater than
// step: chunks that hold such points are split into the part that stays and
// a superseded part, and the statistics of each series are merged anew from
// its remaining chunks.
func (w *batchWriter) rewind(step int64) error {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT c.series_id, c.no, c.data FROM chunks c
		JOIN series s ON s.id = c.series_id
		WHERE s.run_id = ? AND c.superseded = 0 AND c.max_step > ? ORDER BY c.series_id, c.no`, w.b.RunID, step)
	if err != nil {
		return err
	}
	splits, err := tables.Collect(rows, tables.ScanSplitChunk)
	rows.Close()
	if err != nil {
		return err
	}
	if err := tables.RewindChunks(splits, step, w.putSplit, w.restat); err != nil {
		return err
	}
	if err := w.exec("UPDATE artifacts SET superseded = 1 WHERE run_id = ? AND step > ?", w.b.RunID, step); err != nil {
		return err
	}
	return w.recomputeLatest()
}

// putSplit stores the kept part of a chunk in its place and the dropped
// part as a new superseded chunk.
func (w *batchWriter) putSplit(seriesID, no int64, keep, drop series.Points) error {
	if keep.Len() == 0 {
		return w.exec("UPDATE chunks SET superseded = 1 WHERE series_id = ? AND no = ?", seriesID, no)
	}
	kst, lo, hi := tables.ChunkFields(keep)
	if err := w.exec("UPDATE chunks SET count = ?, min_step = ?, max_step = ?, stats = ?, data = ? WHERE series_id = ? AND no = ?",
		keep.Len(), lo, hi, kst, series.AppendChunk(nil, keep), seriesID, no); err != nil {
		return err
	}
	if err := w.exec(putOverview, seriesID, no, series.AppendOverview(nil, series.OverviewOf(keep))); err != nil {
		return err
	}
	dst, lo, hi := tables.ChunkFields(drop)
	var next int64
	if err := w.tx.QueryRowContext(w.ctx, "SELECT next_chunk FROM series WHERE id = ?", seriesID).Scan(&next); err != nil {
		return err
	}
	if err := w.exec(`INSERT INTO chunks (series_id, no, superseded, count, min_step, max_step, stats, data)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?)`, seriesID, next, drop.Len(), lo, hi, dst, series.AppendChunk(nil, drop)); err != nil {
		return err
	}
	return w.exec("UPDATE series SET next_chunk = ? WHERE id = ?", next+1, seriesID)
}

// restat recomputes a series' statistics from the statistics of its
// current chunks, in the order they were written.
func (w *batchWriter) restat(seriesID int64) error {
	rows, err := w.tx.QueryContext(w.ctx, "SELECT stats FROM chunks WHERE series_id = ? AND superseded = 0 ORDER BY no", seriesID)
	if err != nil {
		return err
	}
	total, err := tables.MergeStats(rows)
	rows.Close()
	if err != nil {
		return err
	}
	raw, _ := total.MarshalBinary()
	return w.exec("UPDATE series SET stats = ? WHERE id = ?", raw, seriesID)
}
