// Package postgres is runlog's team store: the index of runs, series and
// files in a PostgreSQL database that any number of servers share. It
// implements store.Store and passes storetest, like store/sqlite.
//
// Metric points keep runlog's chunk format (internal/series): full chunks
// of chunkSize points, one bytea row each with its statistics beside it.
// A live run adds a few points to each series every batch; rewriting a
// chunk row per batch would leave a dead copy of the chunk behind each
// time, so new points go to an append-only tail instead: one row per run
// per batch holding the new points of all its series, merged by levels
// (tailFanout rows of a level into one of the next) and sealed into chunks
// once a series has chunkSize points, or the tail grows past maxTailBytes
// (tail.go, chunks.go, docs/storage.md's PostgreSQL section). A batch
// therefore inserts one tail row and updates its run's row (a HOT update,
// with the fillfactor the migrations set); series rows are written only
// when points are sealed, the tail's points being counted into a series'
// statistics when it is read; and the dead rows that merging leaves are
// reclaimed by autovacuum.
//
// Several processes may write one database at once: a batch locks its
// run's row, so batches of one run apply one after another, and the
// stream's cursor is checked under that lock (store.ErrConflict). The
// schema is brought up to date by Open under an advisory lock, so servers
// that start together migrate it once (migrate.go).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runlog/runlog/internal/store"
)

// DB is a store in a PostgreSQL database. It is safe for concurrent use,
// and several processes may use one database at once.
type DB struct {
	pool   *pgxpool.Pool
	addr   string     // host:port/database, for errors
	sealed sealedLogs // the bucket of sealed log stretches (logs_seal.go)
}

var _ store.Store = (*DB)(nil)

// IsDSN reports whether s names a PostgreSQL database: a postgres:// or
// postgresql:// URL.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as libpq takes them) and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's error repeats the DSN, password included.
		return nil, fmt.Errorf("open store: the PostgreSQL address is not valid: %v", redact(err.Error(), dsn))
	}
	addr := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", addr, err)
	}
	db := &DB{pool: pool, addr: addr}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", addr, db.mapErr(err))
	}
	return db, nil
}

// Close closes the store's connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Addr returns the database's host:port/name, for messages.
func (db *DB) Addr() string { return db.addr }

// Pool returns the store's connection pool, for the server's team mode
// (LISTEN/NOTIFY, advisory locks) and for measurements.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// tx runs fn in a transaction.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return db.mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return db.mapErr(err)
	}
	return db.mapErr(tx.Commit(ctx))
}

// mapErr turns PostgreSQL's errors that users can act on into the
// store's: a server that cannot be reached or is shutting down is
// store.ErrUnavailable, a full disk store.ErrFull, a read-only server
// (a standby) store.ErrReadOnly.
func (db *DB) mapErr(err error) error {
	if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100": // disk_full
			return fmt.Errorf("%w: PostgreSQL at %s has no space left (%v); free some and try again", store.ErrFull, db.addr, err)
		case pe.Code == "25006": // read_only_sql_transaction
			return fmt.Errorf("%w: PostgreSQL at %s is read-only, a standby? (%v)", store.ErrReadOnly, db.addr, err)
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return db.unavailable(err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") {
		return db.unavailable(err)
	}
	return err
}

func (db *DB) unavailable(err error) error {
	return fmt.Errorf("%w: PostgreSQL at %s cannot be reached or is restarting (%v); the store reconnects by itself once it is back", store.ErrUnavailable, db.addr, err)
}

// redact removes the password of dsn from s.
func redact(s, dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil || cfg.Password == "" {
		if i := strings.Index(dsn, "@"); i > 0 {
			s = strings.ReplaceAll(s, dsn, "(the address)")
		}
		return s
	}
	return strings.ReplaceAll(s, cfg.Password, "***")
}
