package postgres

import (
	"fmt"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// chunkSize is the number of points in a full chunk, as in the SQLite
// store.
const chunkSize = 4096

// sealGroup is how many series a seal handles at once, which bounds what
// it holds in memory for a run of very many keys.
const sealGroup = 2048

// fillBelow is the most points a series' last chunk may hold for a seal to
// fill it up rather than begin a new one. Filling rewrites the chunk (an
// update, which leaves the old version dead until VACUUM), which is worth
// it for the few points a sparse series' seal leaves, not for a chunk of
// a thousand points or more, whose row costs a few percent beside them.
const fillBelow = chunkSize / 4

// A series' row keeps the statistics of its chunks — of the points sealed
// from the tail — and the number of its next chunk; it is written only
// when points are sealed, not by every batch. A series with no chunk has
// empty statistics (a zero-length bytea), which cost no room. The tail's
// points are counted in when a series is read (stats.go).

// decodeStats decodes a series row's statistics; empty ones are those of
// no point.
func decodeStats(raw []byte, st *series.Stats) error {
	if len(raw) == 0 {
		*st = series.Stats{}
		return nil
	}
	return st.UnmarshalBinary(raw)
}

// seal moves points of the series in pts into chunks: those that, with
// the points of the series' last chunk if a seal left it with fewer than
// fillBelow, make full chunks, or all of them with all. Such a last chunk
// is filled up first. It returns the points left, which stay in the tail.
func (w *batchWriter) seal(pts tailPoints, all bool) (tailPoints, error) {
	left := tailPoints{}
	ids := pts.ids()
	for len(ids) > 0 {
		group := ids[:min(len(ids), sealGroup)]
		ids = ids[len(group):]
		if err := w.sealGroup(pts, group, all, left); err != nil {
			return nil, err
		}
	}
	return left, nil
}

// sealHead is what sealing a series needs of it.
type sealHead struct {
	stats   series.Stats
	next    int32 // the number of its next chunk
	partial int32 // the points of its last chunk if fewer than fillBelow, else 0
	seal    int   // how many of its tail points to seal
}

func (w *batchWriter) sealGroup(pts tailPoints, ids []int64, all bool, left tailPoints) error {
	// A join with the ids, as in seriesIDs, so that each is looked up.
	rows, err := w.tx.Query(w.ctx, `SELECT s.id, s.stats, s.next_chunk, coalesce(c.count, 0) FROM unnest($1::bigint[]) AS u(id)
		JOIN series s ON s.id = u.id
		LEFT JOIN chunks c ON c.series_id = s.id AND c.no = s.next_chunk - 1 AND NOT c.superseded AND c.count < $2`, ids, fillBelow)
	if err != nil {
		return err
	}
	heads := make(map[int64]*sealHead, len(ids))
	for rows.Next() {
		var id int64
		var raw []byte
		h := &sealHead{}
		if err := rows.Scan(&id, &raw, &h.next, &h.partial); err != nil {
			rows.Close()
			return err
		}
		if err := decodeStats(raw, &h.stats); err != nil {
			rows.Close()
			return fmt.Errorf("series %d: %w", id, err)
		}
		heads[id] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// What to seal of each series; the partial last chunks to fill up.
	var sealing, partIDs []int64
	var partNos []int32
	for _, id := range ids {
		h, p := heads[id], pts[id]
		if h == nil {
			return fmt.Errorf("series %d of the tail has no row", id)
		}
		n := p.Len()
		switch {
		case all:
			h.seal = n
		case int(h.partial)+n >= chunkSize:
			h.seal = (int(h.partial)+n)/chunkSize*chunkSize - int(h.partial)
		}
		if h.seal < n {
			left.add(id, p.Slice(h.seal, n))
		}
		if h.seal == 0 {
			continue
		}
		sealing = append(sealing, id)
		if h.partial > 0 {
			partIDs, partNos = append(partIDs, id), append(partNos, h.next-1)
		}
	}
	parts := map[int64]*series.Points{}
	if len(partIDs) > 0 {
		rows, err := w.tx.Query(w.ctx, `SELECT c.series_id, c.data FROM chunks c
			JOIN unnest($1::bigint[], $2::integer[]) AS u(id, no) ON c.series_id = u.id AND c.no = u.no`, partIDs, partNos)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var data []byte
			var p series.Points
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return err
			}
			if err := series.DecodeChunk(data, &p); err != nil {
				rows.Close()
				return fmt.Errorf("chunk %d of series %d: %w", heads[id].next-1, id, err)
			}
			parts[id] = &p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	cw := &chunkWriter{w: w}
	for _, id := range sealing {
		h := heads[id]
		sealed := pts[id].Slice(0, h.seal)
		// Added point by point, as the points were logged, so that the
		// sum is the same however the points were batched and sealed.
		h.stats.AddPoints(sealed)
		no := h.next
		var whole series.Points
		if p := parts[id]; p != nil {
			whole = *p
			no--
		} else if h.partial > 0 {
			return fmt.Errorf("series %d: its partial chunk %d is gone", id, h.next-1)
		}
		whole.Steps = append(whole.Steps, sealed.Steps...)
		whole.Times = append(whole.Times, sealed.Times...)
		whole.Values = append(whole.Values, sealed.Values...)
		for i := 0; i < whole.Len(); i += chunkSize {
			cw.chunk(id, no, whole.Slice(i, min(i+chunkSize, whole.Len())))
			no++
		}
		cw.series(id, &h.stats, no)
	}
	return cw.flush()
}

// chunkWriter gathers the chunk rows and series rows a seal writes, to
// write each table's with one statement.
type chunkWriter struct {
	w   *batchWriter
	buf []byte

	ids                     []int64
	nos, counts             []int32
	los, his                []int64
	stats, datas, overviews [][]byte
	seriesIDs               []int64
	seriesStats             [][]byte
	seriesNext              []int32
}

// chunk queues chunk no of a series, new or in place of a partial one.
func (cw *chunkWriter) chunk(id int64, no int32, c series.Points) {
	stats, lo, hi := tables.ChunkFields(c)
	cw.ids = append(cw.ids, id)
	cw.nos = append(cw.nos, no)
	cw.counts = append(cw.counts, int32(c.Len()))
	cw.los, cw.his = append(cw.los, lo), append(cw.his, hi)
	cw.stats = append(cw.stats, stats)
	start := len(cw.buf)
	cw.buf = series.AppendChunk(cw.buf, c)
	// Slices of a grown buffer keep the array they were cut from.
	cw.datas = append(cw.datas, cw.buf[start:len(cw.buf):len(cw.buf)])
	start = len(cw.buf)
	cw.buf = series.AppendOverview(cw.buf, series.OverviewOf(c))
	cw.overviews = append(cw.overviews, cw.buf[start:len(cw.buf):len(cw.buf)])
}

// series queues the new statistics and next chunk number of a series.
func (cw *chunkWriter) series(id int64, st *series.Stats, next int32) {
	raw, _ := st.MarshalBinary()
	cw.seriesIDs = append(cw.seriesIDs, id)
	cw.seriesStats = append(cw.seriesStats, raw)
	cw.seriesNext = append(cw.seriesNext, next)
}

// flush writes the queued rows.
func (cw *chunkWriter) flush() error {
	w := cw.w
	if len(cw.ids) > 0 {
		if err := w.exec(`INSERT INTO chunks (series_id, no, count, min_step, max_step, stats, data, overview)
			SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bytea[], $8::bytea[])
			ON CONFLICT (series_id, no) DO UPDATE SET count = excluded.count, min_step = excluded.min_step,
				max_step = excluded.max_step, stats = excluded.stats, data = excluded.data, overview = excluded.overview`,
			cw.ids, cw.nos, cw.counts, cw.los, cw.his, cw.stats, cw.datas, cw.overviews); err != nil {
			return fmt.Errorf("add chunks: %w", err)
		}
	}
	if len(cw.seriesIDs) > 0 {
		if err := w.exec(`UPDATE series s SET stats = u.stats, next_chunk = u.next
			FROM unnest($1::bigint[], $2::bytea[], $3::integer[]) AS u(id, stats, next)
			WHERE s.id = u.id`, cw.seriesIDs, cw.seriesStats, cw.seriesNext); err != nil {
			return fmt.Errorf("update series: %w", err)
		}
	}
	return nil
}
