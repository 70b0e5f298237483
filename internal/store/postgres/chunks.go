package postgres

import (
	"fmt"
	"slices"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// chunkSize is the number of points in a full chunk, as in the SQLite
// store.
const chunkSize = 4096

// The tail of a series holds its newest points, fewer than chunkSize, in
// rows that are only ever inserted and deleted, never updated. A batch
// adds its points as one row of level 0. When a level holds tailFanout
// rows they are merged into one row of the next level, so a series keeps
// at most (tailFanout-1) rows a level, and each point is rewritten once a
// level, tailLevels times at most, before the tail reaches chunkSize points
// and is sealed into full chunks. Rows of a lower level are always newer
// than those of a higher one, so a merge takes the newest rows of the
// tail, which follow one another.
//
// The fanout weighs the rows a series keeps (a row costs about 45 bytes
// beside its points, and a live series has (tailFanout-1)/2 rows a level
// on average) against how often a point is rewritten: 8 keeps a tail of
// one-point batches under 1 KB beside its points, at four rewrites.
const (
	tailFanout = 8
	tailLevels = 4 // 8⁴ = chunkSize: a tail of one-point rows is sealed before a fifth level
)

var emptyStats, _ = (&series.Stats{}).MarshalBinary()

// seriesRow is a series as stored.
type seriesRow struct {
	id        int64
	key       string
	stats     series.Stats
	nextChunk int32
	tailNext  int32
	tailCount int32
	tailShape int32 // rows of each level, a byte each
	changed   bool
}

func (s *seriesRow) rows(level int) int { return int(s.tailShape>>(8*level)) & 0xff }

func (s *seriesRow) setRows(level, n int) {
	s.tailShape = s.tailShape&^(0xff<<(8*level)) | int32(n)<<(8*level)
}

// tailRow is a row of a series' tail.
type tailRow struct {
	no    int32
	level int16
	pts   series.Points
}

// pointsWriter gathers the rows one batch writes, to write each table's
// with one statement.
type pointsWriter struct {
	w    *batchWriter
	buf  []byte
	rows []*seriesRow

	chunkSeries, tailSeries         []int64
	chunkNo, chunkCount, tailNo     []int32
	tailCount                       []int32
	tailLevel                       []int16
	chunkLo, chunkHi                []int64
	chunkStats, chunkData, tailData [][]byte
	chunkOverview                   [][]byte
	cutSeries                       []int64 // delete the tail rows of these series
	cutFrom                         []int32 // from this number on
}

func (w *batchWriter) points() error {
	keys := make([]string, 0, len(w.b.Points))
	for k, pts := range w.b.Points {
		if pts.Len() > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	rows, err := w.seriesRows(keys, true)
	if err != nil {
		return err
	}
	pw := &pointsWriter{w: w}
	// The tails that a merge or a seal needs, read at once.
	var need []int64
	for _, k := range keys {
		s := rows[k]
		if s.tailCount > 0 && (s.tailCount+int32(w.b.Points[k].Len()) >= chunkSize || s.rows(0)+1 >= tailFanout) {
			need = append(need, s.id)
		}
	}
	tails, err := w.readTails(need)
	if err != nil {
		return err
	}
	lasts := make(map[string]series.Point, len(keys))
	for _, k := range keys {
		s := rows[k]
		pts := w.b.Points[k]
		pw.add(s, *pts, tails[s.id])
		s.stats.AddPoints(*pts)
		s.changed = true
		pw.rows = append(pw.rows, s)
		lasts[k] = s.stats.Last
	}
	if err := pw.flush(); err != nil {
		return err
	}
	return w.updateLatest(lasts)
}

// seriesRows returns the run's series of keys, creating those it has not
// got if create is set.
func (w *batchWriter) seriesRows(keys []string, create bool) (map[string]*seriesRow, error) {
	out := make(map[string]*seriesRow, len(keys))
	rs, err := w.tx.Query(w.ctx, `SELECT id, key, stats, next_chunk, tail_next, tail_count, tail_shape
		FROM series WHERE run_id = $1 AND key = ANY($2)`, w.b.RunID, keys)
	if err != nil {
		return nil, err
	}
	for rs.Next() {
		s := &seriesRow{}
		var raw []byte
		if err := rs.Scan(&s.id, &s.key, &raw, &s.nextChunk, &s.tailNext, &s.tailCount, &s.tailShape); err != nil {
			rs.Close()
			return nil, err
		}
		if err := s.stats.UnmarshalBinary(raw); err != nil {
			rs.Close()
			return nil, fmt.Errorf("series %q: %w", s.key, err)
		}
		out[s.key] = s
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if !create || len(out) == len(keys) {
		return out, nil
	}
	var fresh []string
	for _, k := range keys {
		if out[k] == nil {
			fresh = append(fresh, k)
		}
	}
	rs, err = w.tx.Query(w.ctx, `INSERT INTO series (run_id, key, stats)
		SELECT $1::text, k, $3::bytea FROM unnest($2::text[]) AS k RETURNING id, key`, w.b.RunID, fresh, emptyStats)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		s := &seriesRow{}
		if err := rs.Scan(&s.id, &s.key); err != nil {
			return nil, err
		}
		out[s.key] = s
	}
	return out, rs.Err()
}

// readTails returns the tail rows of the series ids, in order.
func (w *batchWriter) readTails(ids []int64) (map[int64][]tailRow, error) {
	out := map[int64][]tailRow{}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := w.tx.Query(w.ctx, "SELECT series_id, no, level, data FROM tail WHERE series_id = ANY($1) ORDER BY series_id, no", ids)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		var r tailRow
		var data []byte
		if err := rs.Scan(&id, &r.no, &r.level, &data); err != nil {
			return nil, err
		}
		if err := series.DecodeChunk(data, &r.pts); err != nil {
			return nil, fmt.Errorf("tail row %d of series %d: %w", r.no, id, err)
		}
		out[id] = append(out[id], r)
	}
	return out, rs.Err()
}

// add plans the rows that append pts to series s, whose tail rows are
// tail if a merge or a seal needs them.
func (pw *pointsWriter) add(s *seriesRow, pts series.Points, tail []tailRow) {
	n := int32(pts.Len())
	switch {
	case s.tailCount+n >= chunkSize:
		// Seal: the tail and the new points become full chunks, and what
		// is left over the tail's one row.
		var all series.Points
		concat(&all, tail, pts)
		full := all.Len() / chunkSize * chunkSize
		for i := 0; i < full; i += chunkSize {
			pw.chunk(s.id, s.nextChunk, all.Slice(i, i+chunkSize))
			s.nextChunk++
		}
		pw.cut(s.id, 0)
		s.tailNext, s.tailCount, s.tailShape = 0, 0, 0
		if rest := all.Slice(full, all.Len()); rest.Len() > 0 {
			level := 0
			for l := 1; l < tailLevels; l++ {
				if rest.Len() >= pow(tailFanout, l) {
					level = l
				}
			}
			s.tailCount = int32(rest.Len())
			pw.tail(s, level, rest)
		}
	case s.rows(0)+1 >= tailFanout:
		// Merge: the newest rows of each full level, with the new points,
		// become one row of the level above them.
		level, from := 0, len(tail)
		for level < tailLevels-1 && s.rows(level)+1 >= tailFanout {
			from -= s.rows(level)
			s.setRows(level, 0)
			level++
		}
		var merged series.Points
		concat(&merged, tail[from:], pts)
		no := s.tailNext
		if from < len(tail) {
			no = tail[from].no
			pw.cut(s.id, no)
		}
		s.tailNext = no
		s.tailCount += n
		pw.tail(s, level, merged)
	default:
		s.tailCount += n
		pw.tail(s, 0, pts)
	}
}

func pow(b, e int) int {
	n := 1
	for range e {
		n *= b
	}
	return n
}

// concat appends the points of rows and then pts to dst.
func concat(dst *series.Points, rows []tailRow, pts series.Points) {
	for _, r := range rows {
		for i := range r.pts.Steps {
			dst.Append(r.pts.Steps[i], r.pts.Times[i], r.pts.Values[i])
		}
	}
	for i := range pts.Steps {
		dst.Append(pts.Steps[i], pts.Times[i], pts.Values[i])
	}
}

// chunk queues chunk no of a series.
func (pw *pointsWriter) chunk(id int64, no int32, c series.Points) {
	stats, lo, hi := tables.ChunkFields(c)
	pw.chunkSeries = append(pw.chunkSeries, id)
	pw.chunkNo = append(pw.chunkNo, no)
	pw.chunkCount = append(pw.chunkCount, int32(c.Len()))
	pw.chunkLo, pw.chunkHi = append(pw.chunkLo, lo), append(pw.chunkHi, hi)
	pw.chunkStats = append(pw.chunkStats, stats)
	pw.chunkData = append(pw.chunkData, pw.encode(c))
	start := len(pw.buf)
	pw.buf = series.AppendOverview(pw.buf, series.OverviewOf(c))
	pw.chunkOverview = append(pw.chunkOverview, pw.buf[start:len(pw.buf):len(pw.buf)])
}

// tail queues a tail row of the level for s, numbered s.tailNext.
func (pw *pointsWriter) tail(s *seriesRow, level int, c series.Points) {
	pw.tailSeries = append(pw.tailSeries, s.id)
	pw.tailNo = append(pw.tailNo, s.tailNext)
	pw.tailLevel = append(pw.tailLevel, int16(level))
	pw.tailCount = append(pw.tailCount, int32(c.Len()))
	pw.tailData = append(pw.tailData, pw.encode(c))
	s.tailNext++
	s.setRows(level, s.rows(level)+1)
}

// cut queues the deletion of the tail rows of a series from number no on.
func (pw *pointsWriter) cut(id int64, no int32) {
	pw.cutSeries = append(pw.cutSeries, id)
	pw.cutFrom = append(pw.cutFrom, no)
}

// encode encodes c into the writer's buffer and returns its part of it.
func (pw *pointsWriter) encode(c series.Points) []byte {
	start := len(pw.buf)
	pw.buf = series.AppendChunk(pw.buf, c)
	// Slices of a grown buffer keep the array they were cut from.
	return pw.buf[start:len(pw.buf):len(pw.buf)]
}

// flush writes the queued rows and the series' new state.
func (pw *pointsWriter) flush() error {
	w := pw.w
	if len(pw.cutSeries) > 0 {
		if err := w.exec(`DELETE FROM tail t USING unnest($1::bigint[], $2::integer[]) AS c(id, no)
			WHERE t.series_id = c.id AND t.no >= c.no`, pw.cutSeries, pw.cutFrom); err != nil {
			return fmt.Errorf("cut tails: %w", err)
		}
	}
	if len(pw.chunkSeries) > 0 {
		if err := w.exec(`INSERT INTO chunks (series_id, no, count, min_step, max_step, stats, data, overview)
			SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bytea[], $8::bytea[])`,
			pw.chunkSeries, pw.chunkNo, pw.chunkCount, pw.chunkLo, pw.chunkHi, pw.chunkStats, pw.chunkData, pw.chunkOverview); err != nil {
			return fmt.Errorf("add chunks: %w", err)
		}
	}
	if len(pw.tailSeries) > 0 {
		if err := w.exec(`INSERT INTO tail (series_id, no, level, count, data)
			SELECT * FROM unnest($1::bigint[], $2::integer[], $3::smallint[], $4::integer[], $5::bytea[])`,
			pw.tailSeries, pw.tailNo, pw.tailLevel, pw.tailCount, pw.tailData); err != nil {
			return fmt.Errorf("add tail rows: %w", err)
		}
	}
	return w.saveSeries(pw.rows)
}

// saveSeries writes the statistics and chunk and tail state of rows.
func (w *batchWriter) saveSeries(rows []*seriesRow) error {
	n := len(rows)
	if n == 0 {
		return nil
	}
	ids := make([]int64, n)
	stats := make([][]byte, n)
	next, tnext, tcount, tshape := make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	for i, s := range rows {
		ids[i] = s.id
		stats[i], _ = s.stats.MarshalBinary()
		next[i], tnext[i], tcount[i], tshape[i] = s.nextChunk, s.tailNext, s.tailCount, s.tailShape
	}
	return w.exec(`UPDATE series s SET stats = u.stats, next_chunk = u.next, tail_next = u.tnext,
		tail_count = u.tcount, tail_shape = u.tshape
		FROM unnest($1::bigint[], $2::bytea[], $3::integer[], $4::integer[], $5::integer[], $6::integer[])
			AS u(id, stats, next, tnext, tcount, tshape)
		WHERE s.id = u.id`, ids, stats, next, tnext, tcount, tshape)
}
