// Package sqlite is runlog's embedded store: one SQLite file, accessed
// through a CGO-free driver, in WAL mode so that readers never wait for the
// writer and several processes can index the same home.
//
// Metric points are kept in compressed chunks of up to chunkSize points
// (chunks.go; the encoding is docs/chunk-format.md), one row each, with the chunk's statistics beside
// it, so that summaries never decode points.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/runlog/runlog/internal/store"
)

// DB is a store in one SQLite file. It is safe for concurrent use.
type DB struct {
	path     string
	w        *sql.DB // a single connection, for writes
	r        *sql.DB // a pool, for reads
	readOnly bool
}

var _ store.Store = (*DB)(nil)

// busyTimeout is how long a connection waits for another process's write
// transaction before giving up. Ingest commits at least every million
// points, well within it.
const busyTimeout = 60 * time.Second

// Open opens the store at path, creating it and bringing its schema up to
// date. If the file or its folder cannot be written, Open opens it
// read-only when it already holds an up-to-date store; Write then returns
// store.ErrReadOnly.
func Open(path string) (*DB, error) {
	db, err := openWritable(path)
	if err == nil {
		return db, nil
	}
	if !isReadOnly(err) {
		return nil, fmt.Errorf("open store %s: %w", path, mapErr(err))
	}
	if _, serr := os.Stat(path); serr != nil {
		return nil, fmt.Errorf("create store %s: %w: %v", path, store.ErrReadOnly, err)
	}
	ro, rerr := open(path, true)
	if rerr != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", path, mapErr(rerr))
	}
	if err := ro.checkVersion(context.Background()); err != nil {
		ro.Close()
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	return ro, nil
}

// openWritable opens the store for writing and migrates it. Processes that
// open a new store at the same moment contend for it while it is created
// and switched to WAL mode, and SQLite then reports "busy" at once instead
// of waiting, so opening is retried for as long as a write would wait.
func openWritable(path string) (*DB, error) {
	deadline := time.Now().Add(busyTimeout)
	for try := 1; ; try++ {
		db, err := open(path, false)
		if err == nil {
			err = db.migrate(context.Background())
			if err == nil {
				return db, nil
			}
			db.Close()
		}
		if sqliteCode(err) != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(time.Duration(min(try, 20)) * 5 * time.Millisecond)
	}
}

func open(path string, readOnly bool) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Add("_pragma", "cache_size(-32000)")
	if readOnly {
		// Nobody can write a store its reader cannot write either, so it is
		// read as immutable: without the locks and the WAL index file that
		// could not be created next to it.
		q.Set("mode", "ro")
		q.Set("immutable", "1")
	}
	base := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?"
	// Only the writer sets the journal mode: it is kept in the file, and
	// setting it takes a lock that readers should never wait for.
	wq := q.Encode()
	if !readOnly {
		wq += "&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"
	}
	w, err := sql.Open("sqlite", base+wq)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", base+q.Encode())
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	db := &DB{path: path, w: w, r: r, readOnly: readOnly}
	if err := w.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the store.
func (db *DB) Close() error {
	return errors.Join(db.w.Close(), db.r.Close())
}

// ReadOnly reports whether the store was opened read-only.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Path returns the file of the store.
func (db *DB) Path() string { return db.path }

// tx runs fn in a write transaction, which starts with BEGIN IMMEDIATE so
// that the write lock is taken before anything is read.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.readOnly {
		return store.ErrReadOnly
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

func isReadOnly(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return true
	}
	return errors.Is(err, os.ErrPermission) || strings.Contains(fmt.Sprint(err), "read-only file system")
}

// mapErr turns SQLite's errors that users can act on into the store's.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: the disk or the store's size limit is reached (%v); free some space and run the command again", store.ErrFull, err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("%w (%v)", store.ErrReadOnly, err)
	case sqlite3.SQLITE_BUSY:
		return fmt.Errorf("store is busy: another runlog process is writing to it (%w); try again", err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("store file is damaged (%w); it is only an index: move it away and run `runlog index` to rebuild it from the run folders", err)
	}
	return err
}
