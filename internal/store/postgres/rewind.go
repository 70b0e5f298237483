package postgres

import (
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store/tables"
)

// rewind supersedes every current point of the run with a step greater than
// step. The run's tail is sealed into chunks first, full or not
// (sealTails); then, as in the SQLite store, chunks that hold such points are split
// into the part that stays and a superseded part, and the statistics of
// each series are merged anew from its remaining chunks.
func (w *batchWriter) rewind(step int64) error {
	if err := w.sealTails(); err != nil {
		return err
	}
	rows, err := w.tx.Query(w.ctx, `SELECT c.series_id, c.no, c.data FROM chunks c
		JOIN series s ON s.id = c.series_id
		WHERE s.run_id = $1 AND NOT c.superseded AND c.max_step > $2 ORDER BY c.series_id, c.no`, w.b.RunID, step)
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
	if err := w.exec("UPDATE artifacts SET superseded = true WHERE run_id = $1 AND step > $2", w.b.RunID, step); err != nil {
		return err
	}
	return w.recomputeLatest()
}

// putSplit stores the kept part of a chunk in its place and the dropped
// part as a new superseded chunk.
func (w *batchWriter) putSplit(seriesID, no int64, keep, drop series.Points) error {
	if keep.Len() == 0 {
		return w.exec("UPDATE chunks SET superseded = true WHERE series_id = $1 AND no = $2", seriesID, no)
	}
	kst, lo, hi := tables.ChunkFields(keep)
	if err := w.exec("UPDATE chunks SET count = $1, min_step = $2, max_step = $3, stats = $4, data = $5, overview = $6 WHERE series_id = $7 AND no = $8",
		keep.Len(), lo, hi, kst, series.AppendChunk(nil, keep), series.AppendOverview(nil, series.OverviewOf(keep)), seriesID, no); err != nil {
		return err
	}
	dst, lo, hi := tables.ChunkFields(drop)
	var next int32
	if err := w.tx.QueryRow(w.ctx, "UPDATE series SET next_chunk = next_chunk + 1 WHERE id = $1 RETURNING next_chunk - 1", seriesID).Scan(&next); err != nil {
		return err
	}
	return w.exec(`INSERT INTO chunks (series_id, no, superseded, count, min_step, max_step, stats, data)
		VALUES ($1, $2, true, $3, $4, $5, $6, $7)`, seriesID, next, drop.Len(), lo, hi, dst, series.AppendChunk(nil, drop))
}

// restat recomputes a series' statistics from the statistics of its
// current chunks, in the order they were written.
func (w *batchWriter) restat(seriesID int64) error {
	rows, err := w.tx.Query(w.ctx, "SELECT stats FROM chunks WHERE series_id = $1 AND NOT superseded ORDER BY no", seriesID)
	if err != nil {
		return err
	}
	total, err := tables.MergeStats(rows)
	rows.Close()
	if err != nil {
		return err
	}
	raw, _ := total.MarshalBinary()
	return w.exec("UPDATE series SET stats = $1 WHERE id = $2", raw, seriesID)
}
