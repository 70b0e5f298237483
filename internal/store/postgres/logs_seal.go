package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog/internal/runfmt"
)

// Sealing moves the older bytes of the team server's logs out of
// PostgreSQL into its bucket (docs/team-server.md, "Sealed logs"). A
// stretch of a stream's rows, from the first not sealed on, is stored as
// one object named by its sha256, and in one transaction that checks, under
// the stream's row lock, that the rows still hold exactly those bytes
// (their sha256, computed by PostgreSQL), the rows are replaced by one row
// that names the object (obj_sha256, obj_size) and holds no bytes. Offsets
// do not change, so a reader between two fetches goes on where it was.
// Sealing goes in stream order: a stream's first `sealed` bytes are in the
// bucket, the rest in PostgreSQL, and what ingest acknowledges is always
// committed to PostgreSQL first.

// ErrSealedUnavailable is a read of bytes sealed into the bucket that
// failed — the bucket did not answer or holds other bytes, or the store
// was given none (SetLogObjects) — or a seal whose object could not be
// stored. Bytes not sealed stay readable, and appends go on.
var ErrSealedUnavailable = errors.New("the bucket of sealed log stretches is unavailable")

// LogObject names the object that holds a sealed stretch of a log: its
// sha256, in lower-case hex, and its size.
type LogObject struct {
	SHA256 string
	Size   int64
}

// LogObjects is the bucket sealed stretches of logs go to and are read
// from, by content. *objstore.S3 implements it.
type LogObjects interface {
	// PutContent stores size bytes of src as the object named by their
	// sha256, which it returns once the object is durable.
	PutContent(ctx context.Context, src io.ReaderAt, size int64) (string, error)
	// GetContent opens the object named by sum, of size bytes; its reader
	// fails at the end unless what it read has that size and sha256.
	GetContent(ctx context.Context, sum string, size int64) (io.ReadCloser, error)
}

// SetLogObjects gives the store the bucket that holds its sealed log
// stretches: every reader of a log (OpenLog) reads them from it, and
// SealLogs seals into it. A team server with a bucket sets it before it
// reads any log; `runlog pull` sets it from its --files.
func (db *DB) SetLogObjects(o LogObjects) {
	db.sealed.mu.Lock()
	defer db.sealed.mu.Unlock()
	db.sealed.objects = o
	db.sealed.last = sealedObject{}
}

// sealedLogs is a store's access to its sealed stretches: the bucket and
// the last object read, which the next read of the same stretch (a tail
// read backwards a block at a time, a reader resumed at an offset) finds
// in memory instead of fetching it again.
type sealedLogs struct {
	mu      sync.Mutex
	objects LogObjects
	last    sealedObject
}

type sealedObject struct {
	LogObject
	data []byte // verified; shared by readers, never written
}

// load returns the bytes of obj, verified against its size and sha256.
func (s *sealedLogs) load(ctx context.Context, obj LogObject) ([]byte, error) {
	s.mu.Lock()
	objects, last := s.objects, s.last
	s.mu.Unlock()
	if last.LogObject == obj {
		return last.data, nil
	}
	if objects == nil {
		return nil, fmt.Errorf("object %s is in the bucket, and no bucket was given to read it from", obj.SHA256)
	}
	r, err := objects.GetContent(ctx, obj.SHA256, obj.Size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data := make([]byte, obj.Size+1)
	n, err := io.ReadFull(r, data)
	switch {
	case err == nil:
		return nil, fmt.Errorf("object %s holds more than the %d bytes sealed", obj.SHA256, obj.Size)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("read object %s: %w", obj.SHA256, err)
	}
	data = data[:n]
	if sum := sha256.Sum256(data); int64(len(data)) != obj.Size || hex.EncodeToString(sum[:]) != obj.SHA256 {
		return nil, fmt.Errorf("object %s holds %d bytes with sha256 %x, not the %d sealed", obj.SHA256, len(data), sum, obj.Size)
	}
	s.mu.Lock()
	s.last = sealedObject{obj, data}
	s.mu.Unlock()
	return data, nil
}

// SealOptions says which stretches of logs SealLogs seals. The zero value
// is usable: each field has a default.
type SealOptions struct {
	// MinBytes is the size from which a stretch of a live stream is
	// sealed: an object holds at least this many bytes (default 8 MiB),
	// and at most this plus one row (a batch, remote.MaxBatch at most).
	MinBytes int64
	// Settle is how long the stream of a run that finished (its status in
	// the index is no longer running) must not have grown before the
	// rest of it is sealed, whatever its size (default one minute).
	Settle time.Duration
	// Idle is how long any stream must not have grown before the rest of
	// it is sealed (default one hour): a run that died without a word.
	Idle time.Duration
	// Limit is how many streams one call seals at most (default 16).
	Limit int
	// TextStreams names the streams that are not indexed (training.log).
	// The others are sealed only up to the offset the index has read, so
	// that indexing reads new bytes from PostgreSQL alone.
	TextStreams []string
}

// Sealing's defaults.
const (
	defaultSealBytes  = 8 << 20
	defaultSealSettle = time.Minute
	defaultSealIdle   = time.Hour
	defaultSealLimit  = 16
)

func (o SealOptions) withDefaults() SealOptions {
	if o.MinBytes <= 0 {
		o.MinBytes = defaultSealBytes
	}
	if o.Settle <= 0 {
		o.Settle = defaultSealSettle
	}
	if o.Idle <= 0 {
		o.Idle = defaultSealIdle
	}
	if o.Limit <= 0 {
		o.Limit = defaultSealLimit
	}
	return o
}

// SealStats is what a SealLogs call did.
type SealStats struct {
	Streams int   // streams with a stretch sealed
	Objects int   // objects stored (one per stretch)
	Bytes   int64 // bytes moved out of PostgreSQL
}

// ErrSealRace is a stretch that changed between being read and being
// sealed; the next SealLogs tries again. Only a second sealer (there is
// one, under the team server's advisory lock) or compaction running at
// the same time causes it.
var ErrSealRace = errors.New("the stretch changed while it was sealed")

// SealLogs seals the stretches of up to opts.Limit streams into the
// bucket set by SetLogObjects: from each stream's first row not sealed,
// whole rows up to what may be sealed (the index's offset, for an indexed
// stream), grouped into objects of at least opts.MinBytes; and, once the
// stream has settled (its run finished) or is idle, the rest whatever its
// size. A failure leaves the rows as they were (the object, if stored,
// unreferenced): the next call seals them again.
func (db *DB) SealLogs(ctx context.Context, opts SealOptions) (SealStats, error) {
	opts = opts.withDefaults()
	db.sealed.mu.Lock()
	objects := db.sealed.objects
	db.sealed.mu.Unlock()
	var st SealStats
	if objects == nil {
		return st, errors.New("seal logs: no bucket was given (SetLogObjects)")
	}
	cands, err := db.sealCandidates(ctx, opts)
	if err != nil {
		return st, fmt.Errorf("seal logs: %w", err)
	}
	for _, c := range cands {
		stretches, err := db.stretches(ctx, c, opts.MinBytes)
		if err != nil {
			return st, fmt.Errorf("seal %s of run %s: %w", c.stream, c.run, err)
		}
		for _, s := range stretches {
			if err := db.sealStretch(ctx, objects, c, s); err != nil {
				return st, fmt.Errorf("seal %s of run %s, bytes %d to %d: %w", c.stream, c.run, s.from, s.to, err)
			}
			st.Objects++
			st.Bytes += s.to - s.from
		}
		if len(stretches) > 0 {
			st.Streams++
		}
	}
	return st, nil
}

// sealCandidate is a stream with bytes to seal: from sealed up to upto;
// whole says all of them (it settled or is idle), else whole objects of
// MinBytes only.
type sealCandidate struct {
	run, stream  string
	sealed, upto int64
	whole        bool
}

func (db *DB) sealCandidates(ctx context.Context, opts SealOptions) ([]sealCandidate, error) {
	text := opts.TextStreams
	if text == nil {
		text = []string{}
	}
	rows, err := db.pool.Query(ctx, `SELECT run_id, stream, sealed, upto, whole FROM (
			SELECT l.run_id, l.stream, l.sealed,
				CASE WHEN l.stream = ANY($1) OR t.run_id IS NOT NULL THEN l.size
					ELSE least(l.size, coalesce(s.cur_offset, 0)) END AS upto,
				l.appended < now() - $3 * interval '1 second'
					OR l.appended < now() - $4 * interval '1 second' AND r.status <> $5 AS whole
			FROM log_streams l
			LEFT JOIN streams s ON s.run_id = l.run_id AND s.name = l.stream
			LEFT JOIN runs r ON r.id = l.run_id
			LEFT JOIN team_trash t ON t.run_id = l.run_id
			WHERE l.size > l.sealed) c
		WHERE upto - sealed >= $2 OR whole AND upto > sealed
		ORDER BY run_id, stream LIMIT $6`,
		text, opts.MinBytes, opts.Idle.Seconds(), opts.Settle.Seconds(), runfmt.StatusRunning, opts.Limit)
	if err != nil {
		return nil, db.mapErr(err)
	}
	cands, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealCandidate, error) {
		var c sealCandidate
		var whole *bool
		err := row.Scan(&c.run, &c.stream, &c.sealed, &c.upto, &whole)
		c.whole = whole != nil && *whole
		return c, err
	})
	return cands, db.mapErr(err)
}

// stretch is a run of whole rows, bytes from to to, sealed into one
// object.
type stretch struct {
	from, to int64
}

// stretches groups c's rows that may be sealed into stretches of at least
// minBytes, and the rest into one more if c is whole.
func (db *DB) stretches(ctx context.Context, c sealCandidate, minBytes int64) ([]stretch, error) {
	rows, err := db.pool.Query(ctx, `SELECT off, length(data) FROM log_segments
		WHERE run_id = $1 AND stream = $2 AND off >= $3 AND obj_sha256 IS NULL AND off + length(data) <= $4
		ORDER BY off`, c.run, c.stream, c.sealed, c.upto)
	if err != nil {
		return nil, db.mapErr(err)
	}
	var out []stretch
	cur := stretch{c.sealed, c.sealed}
	var off, n int64
	_, err = pgx.ForEachRow(rows, []any{&off, &n}, func() error {
		if off != cur.to {
			return fmt.Errorf("log %s of run %s has no bytes from %d to %d", c.stream, c.run, cur.to, off)
		}
		cur.to += n
		if cur.to-cur.from >= minBytes {
			out = append(out, cur)
			cur = stretch{cur.to, cur.to}
		}
		return nil
	})
	if err != nil {
		return nil, db.mapErr(err)
	}
	if c.whole && cur.to > cur.from {
		out = append(out, cur)
	}
	return out, nil
}

// sealStretch stores s's bytes in the bucket and replaces its rows by one
// that names the object, if they still hold those bytes.
func (db *DB) sealStretch(ctx context.Context, objects LogObjects, c sealCandidate, s stretch) error {
	data := make([]byte, s.to-s.from)
	r := db.openLog(ctx, db.pool, c.run, c.stream, s.from)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("read the stretch: %w", err)
	}
	sum, err := objects.PutContent(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSealedUnavailable, err)
	}
	if want := sha256.Sum256(data); sum != hex.EncodeToString(want[:]) {
		return fmt.Errorf("the bucket named the stretch %s, but its sha256 is %x", sum, want)
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var sealed int64
		if err := tx.QueryRow(ctx, "SELECT sealed FROM log_streams WHERE run_id = $1 AND stream = $2 FOR UPDATE",
			c.run, c.stream).Scan(&sealed); err != nil {
			return err
		}
		var rows int
		var first, n int64
		var held *string
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(min(off), -1), coalesce(sum(length(data)), 0),
				encode(sha256(string_agg(data, ''::bytea ORDER BY off)), 'hex')
			FROM log_segments WHERE run_id = $1 AND stream = $2 AND off >= $3 AND off < $4 AND obj_sha256 IS NULL`,
			c.run, c.stream, s.from, s.to).Scan(&rows, &first, &n, &held); err != nil {
			return err
		}
		if sealed != s.from || first != s.from || n != s.to-s.from || held == nil || *held != sum {
			return ErrSealRace
		}
		if _, err := tx.Exec(ctx, "DELETE FROM log_segments WHERE run_id = $1 AND stream = $2 AND off >= $3 AND off < $4",
			c.run, c.stream, s.from, s.to); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO log_segments (run_id, stream, off, data, obj_sha256, obj_size)
			VALUES ($1, $2, $3, ''::bytea, $4, $5)`, c.run, c.stream, s.from, sum, s.to-s.from); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE log_streams SET sealed = $3, pieces = greatest(pieces - $4, 0) WHERE run_id = $1 AND stream = $2",
			c.run, c.stream, s.to, rows)
		return err
	})
}
