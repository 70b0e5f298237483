package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// The team server keeps the logs clients stream to it in the database,
// not on its disk: each acknowledged batch is a row of log_segments at its
// offset in the stream (migration 004). These methods are the server's
// (internal/server's team mode) and `runlog pull`'s; ingest indexes the
// segments like a run folder's logs. With a bucket, a stream's older rows
// are sealed into objects of it (logs_seal.go), and every reader here
// reads those from the bucket (SetLogObjects).

// GapError is AppendLog's refusal of a batch that starts after the end of
// the stream: Size is where the client must continue from.
type GapError struct{ Size int64 }

func (e *GapError) Error() string {
	return fmt.Sprintf("the batch starts after the %d bytes held: resend from %d", e.Size, e.Size)
}

// ErrLogDiffers is AppendLog's refusal of a batch whose bytes before the
// stream's end differ from those held: another run with the same id.
var ErrLogDiffers = errors.New("bytes differ from the stream's copy")

// AppendLog appends body, the bytes of a run's stream from offset on, and
// returns the stream's size once they are committed. In one transaction,
// it locks the stream's row, trims the bytes held already (after checking
// they are the same), calls check with the stream's size and the bytes
// that are new (its error refuses the batch), and stores them. A batch
// starting after the end is a *GapError; an empty body only asks for the
// size.
func (db *DB) AppendLog(ctx context.Context, run, stream string, offset int64, body []byte, check func(size int64, body []byte) error) (int64, error) {
	var size int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO log_streams (run_id, stream) VALUES ($1, $2) ON CONFLICT DO NOTHING", run, stream); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT size FROM log_streams WHERE run_id = $1 AND stream = $2 FOR UPDATE", run, stream).Scan(&size); err != nil {
			return err
		}
		if offset > size {
			return &GapError{size}
		}
		if skip := size - offset; skip > 0 && len(body) > 0 {
			n := min(skip, int64(len(body)))
			held := make([]byte, n)
			r := db.openLog(ctx, tx, run, stream, offset)
			if _, err := io.ReadFull(r, held); err != nil {
				return fmt.Errorf("read %s of run %s at %d: %w", stream, run, offset, err)
			}
			if !bytes.Equal(held, body[:n]) {
				return fmt.Errorf("%w: from offset %d of %s", ErrLogDiffers, offset, stream)
			}
			body = body[n:]
		}
		if len(body) == 0 {
			return nil
		}
		if err := check(size, body); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO log_segments (run_id, stream, off, data) VALUES ($1, $2, $3, $4)", run, stream, size, body); err != nil {
			return err
		}
		size += int64(len(body))
		_, err := tx.Exec(ctx, "UPDATE log_streams SET size = $3, pieces = pieces + 1, appended = now() WHERE run_id = $1 AND stream = $2", run, stream, size)
		return err
	})
	if err != nil {
		return 0, err
	}
	return size, nil
}

// LogSizes returns the size of each stream of a run held in the database.
func (db *DB) LogSizes(ctx context.Context, run string) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, "SELECT stream, size FROM log_streams WHERE run_id = $1 AND size > 0", run)
	if err != nil {
		return nil, db.mapErr(err)
	}
	out := map[string]int64{}
	var name string
	var size int64
	_, err = pgx.ForEachRow(rows, []any{&name, &size}, func() error {
		out[name] = size
		return nil
	})
	return out, db.mapErr(err)
}

// LogRuns returns the runs that have logs in the database, in id order.
func (db *DB) LogRuns(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT DISTINCT run_id FROM log_streams WHERE size > 0 ORDER BY run_id")
	if err != nil {
		return nil, db.mapErr(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, db.mapErr(err)
}

// OpenLog returns a reader of a run's stream from offset from on. It reads
// a few rows at a time, and a sealed stretch's object when it gets there:
// memory stays bounded however long the stream. Bytes sealed into the
// bucket are read through the LogObjects set (SetLogObjects); if it is not
// set, or the bucket cannot be read, the reader's error wraps
// ErrSealedUnavailable, while the bytes not sealed read as before.
func (db *DB) OpenLog(ctx context.Context, run, stream string, from int64) io.ReadCloser {
	return db.openLog(ctx, db.pool, run, stream, from)
}

// logQuerier is a pool or a transaction.
type logQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (db *DB) openLog(ctx context.Context, q logQuerier, run, stream string, from int64) *logReader {
	return &logReader{ctx: ctx, db: db, q: q, run: run, stream: stream, next: from}
}

// logRowsAtOnce is how many rows a log reader fetches per query: at most
// this many batches (remote.MaxBatch each, compacted rows less) in memory.
// A sealed row's object is read only when the reader reaches it, one at a
// time.
const logRowsAtOnce = 4

// logReader reads a stream's segments in offset order.
type logReader struct {
	ctx         context.Context
	db          *DB
	q           logQuerier
	run, stream string
	next        int64  // the offset of buf[0]
	buf         []byte // fetched, not yet read
	pending     []logRow
	done        bool
}

// logRow is a row of log_segments a reader fetched: its bytes from off on,
// or, for a sealed row, the object that holds them (data nil).
type logRow struct {
	off  int64
	data []byte
	obj  LogObject
}

func (r *logReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if len(r.pending) > 0 {
			row := r.pending[0]
			r.pending = r.pending[1:]
			if row.obj.SHA256 != "" {
				data, err := r.db.sealed.load(r.ctx, row.obj)
				if err != nil {
					return 0, fmt.Errorf("%w: %s of run %s, bytes %d to %d: %w",
						ErrSealedUnavailable, r.stream, r.run, row.off, row.off+row.obj.Size, err)
				}
				row.data = data
			}
			r.buf = row.data[r.next-row.off:]
			continue
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.fetch(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.next += int64(n)
	return n, nil
}

// fetch reads the next rows from r.next on: the row that holds r.next
// (cut to start there) and those after it.
func (r *logReader) fetch() error {
	rows, err := r.q.Query(r.ctx, `SELECT off, data, obj_sha256, obj_size FROM log_segments
		WHERE run_id = $1 AND stream = $2 AND off >= coalesce(
			(SELECT max(off) FROM log_segments WHERE run_id = $1 AND stream = $2 AND off <= $3), 0)
		ORDER BY off LIMIT $4`, r.run, r.stream, r.next, logRowsAtOnce)
	if err != nil {
		return r.db.mapErr(err)
	}
	at := r.next
	var off int64
	var data []byte
	var sum *string
	var size *int64
	got := 0
	_, err = pgx.ForEachRow(rows, []any{&off, &data, &sum, &size}, func() error {
		got++
		n := int64(len(data))
		if sum != nil {
			n = *size
		}
		end := off + n
		if end <= at {
			return nil
		}
		if off > at {
			return fmt.Errorf("log %s of run %s has no bytes from %d to %d", r.stream, r.run, at, off)
		}
		if sum != nil {
			r.pending = append(r.pending, logRow{off: off, obj: LogObject{SHA256: *sum, Size: *size}})
		} else {
			r.pending = append(r.pending, logRow{off: at, data: bytes.Clone(data[at-off:])})
		}
		at = end
		return nil
	})
	if err != nil {
		return r.db.mapErr(err)
	}
	if got < logRowsAtOnce {
		r.done = true
	}
	return nil
}

func (r *logReader) Close() error { return nil }

// LaggingRuns returns the runs with log bytes the store has not indexed:
// a server stopped between storing a batch and indexing it. Text streams
// (training.log) are not indexed and do not count, nor are runs in the
// trash (TrashRun), whose index rows are gone on purpose.
func (db *DB) LaggingRuns(ctx context.Context, textStreams []string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT l.run_id FROM log_streams l
		LEFT JOIN streams s ON s.run_id = l.run_id AND s.name = l.stream
		WHERE l.size > coalesce(s.cur_offset, 0) AND NOT l.stream = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM team_trash t WHERE t.run_id = l.run_id)
		ORDER BY l.run_id`, textStreams)
	if err != nil {
		return nil, db.mapErr(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, db.mapErr(err)
}

// Compaction merges a stream's small segments into rows of up to
// compactBytes, once it has more than compactPieces of them: fewer rows
// to read for a pull or a catch-up, and less per-row overhead.
const (
	compactPieces = 64
	compactBytes  = 1 << 20
)

// CompactLogs merges the segments of up to limit streams that have many
// small ones, and returns how many streams it compacted. Each stream is
// merged in a transaction that holds its row's lock, as AppendLog does, so
// that appends wait for it; the bytes read back are the same.
func (db *DB) CompactLogs(ctx context.Context, limit int) (int, error) {
	rows, err := db.pool.Query(ctx, "SELECT run_id, stream FROM log_streams WHERE pieces > $1 LIMIT $2", compactPieces, limit)
	if err != nil {
		return 0, db.mapErr(err)
	}
	type key struct{ run, stream string }
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (key, error) {
		var k key
		return k, row.Scan(&k.run, &k.stream)
	})
	if err != nil {
		return 0, db.mapErr(err)
	}
	for i, k := range keys {
		if err := db.compactLog(ctx, k.run, k.stream); err != nil {
			return i, fmt.Errorf("compact %s of run %s: %w", k.stream, k.run, err)
		}
	}
	return len(keys), nil
}

func (db *DB) compactLog(ctx context.Context, run, stream string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT 1 FROM log_streams WHERE run_id = $1 AND stream = $2 FOR UPDATE", run, stream); err != nil {
			return err
		}
		// Sealed rows (the stream's first bytes) are the bucket's: only
		// the rows after them are merged, and counted.
		rows, err := tx.Query(ctx, `SELECT off, length(data) FROM log_segments
			WHERE run_id = $1 AND stream = $2 AND obj_sha256 IS NULL ORDER BY off`, run, stream)
		if err != nil {
			return err
		}
		type piece struct{ off, n int64 }
		pieces, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (piece, error) {
			var p piece
			return p, row.Scan(&p.off, &p.n)
		})
		if err != nil {
			return err
		}
		// Runs of consecutive small rows, each merged into its first.
		merged := 0
		for i := 0; i < len(pieces); {
			j, n := i+1, pieces[i].n
			for j < len(pieces) && n+pieces[j].n <= compactBytes {
				n += pieces[j].n
				j++
			}
			if j-i > 1 {
				first, last := pieces[i].off, pieces[j-1].off
				if _, err := tx.Exec(ctx, `WITH gone AS (
						DELETE FROM log_segments WHERE run_id = $1 AND stream = $2 AND off BETWEEN $3 AND $4 RETURNING off, data)
					INSERT INTO log_segments (run_id, stream, off, data)
					SELECT $1, $2, $3, string_agg(data, ''::bytea ORDER BY off) FROM gone`, run, stream, first, last); err != nil {
					return err
				}
			}
			merged++
			i = j
		}
		_, err = tx.Exec(ctx, "UPDATE log_streams SET pieces = $3 WHERE run_id = $1 AND stream = $2", run, stream, merged)
		return err
	})
}

// WithLock runs fn while holding the session advisory lock key, if no
// other session holds it, and reports whether it ran: background work that
// one server of many must do at a time (compaction, catching up).
func (db *DB) WithLock(ctx context.Context, key int64, fn func(context.Context) error) (bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, db.mapErr(err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		return false, db.mapErr(err)
	}
	if !got {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	return true, fn(ctx)
}

// Notify sends payload on channel to every session listening to it
// (Listen), once the notification's transaction commits: here at once.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload)
	return db.mapErr(err)
}

// Listen calls fn with the payload of every notification on channel until
// ctx ends, on a connection of its own. When the connection is lost (the
// database restarted) it connects again, backing off up to 5 s, and calls
// fn with "" first: notifications may have been missed meanwhile.
func (db *DB) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	backoff := time.Duration(0)
	for first := true; ; first = false {
		err := db.listenOnce(ctx, channel, fn, !first)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff = 0
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, channel string, fn func(string), again bool) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A listening connection is not given back to the pool: it is closed.
	c := conn.Hijack()
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	if again {
		fn("")
	}
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
