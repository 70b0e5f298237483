// Package pgsize measures what the points of a PostgreSQL store
// (internal/store/postgres) would take in full chunks, the compressed
// data issue 17's size goal compares the store's size on disk with. The
// benchmarks that load a team store share it (runlog-bench postgres,
// runlog-bench team --live).
package pgsize

import (
	"cmp"
	"context"
	"fmt"
	"sync"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
)

// ChunkSize is the number of points of a full chunk, as the store writes
// them (internal/store/postgres's chunkSize).
const ChunkSize = 4096

// Full is the points of a store encoded into full chunks.
type Full struct {
	Series int   // series read
	Points int64 // their points
	Bytes  int64 // the points encoded as full chunks of ChunkSize points
}

// FullChunks reads every series of db (every point, as Points returns
// it) with the given number of readers at once and encodes each into
// chunks of ChunkSize points, as a finished run holds them.
func FullChunks(ctx context.Context, db *postgres.DB, readers int) (Full, error) {
	rows, err := db.Pool().Query(ctx, "SELECT run_id, key FROM series ORDER BY run_id, key")
	if err != nil {
		return Full{}, fmt.Errorf("list series: %w", err)
	}
	type id struct{ run, key string }
	var ids []id
	for rows.Next() {
		var s id
		if err := rows.Scan(&s.run, &s.key); err != nil {
			rows.Close()
			return Full{}, fmt.Errorf("list series: %w", err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Full{}, fmt.Errorf("list series: %w", err)
	}
	readers = max(1, min(readers, len(ids)))
	var (
		mu    sync.Mutex
		total = Full{Series: len(ids)}
		first error
		wg    sync.WaitGroup
	)
	next := make(chan id)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var f Full
			for s := range next {
				pts, err := db.Points(ctx, s.run, s.key, store.PointsOptions{})
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, fmt.Errorf("run %s: %w", s.run, err))
					mu.Unlock()
					continue
				}
				for i := 0; i < pts.Len(); i += ChunkSize {
					buf = series.AppendChunk(buf[:0], pts.Slice(i, min(i+ChunkSize, pts.Len())))
					f.Bytes += int64(len(buf))
				}
				f.Points += int64(pts.Len())
			}
			mu.Lock()
			total.Points += f.Points
			total.Bytes += f.Bytes
			mu.Unlock()
		}()
	}
	for _, s := range ids {
		next <- s
	}
	close(next)
	wg.Wait()
	return total, first
}
