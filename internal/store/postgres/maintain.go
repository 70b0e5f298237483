package postgres

import (
	"context"
	"fmt"
)

// maintainDead is how many dead rows of the tail (with its TOAST table)
// make Maintain vacuum it: a live load leaves that many in about a second
// on a busy server, a few megabytes.
const maintainDead = 1000

// Maintain does the store's upkeep that cannot wait for autovacuum: it
// vacuums the tail table when merges and seals have left maintainDead
// dead rows in it, so that their space is reused by the next batches'
// rows instead of growing the table. Autovacuum visits the table too, but
// no more often than autovacuum_naptime (a minute by default), in which a
// live load of many runs leaves tens of megabytes of dead rows behind.
//
// It is meant to be called every second or so by one of the processes
// sharing the database (the team server calls it from its background
// work, under its advisory lock); calls from several at once are safe,
// only wasteful. It returns quickly when there is nothing to do.
func (db *DB) Maintain(ctx context.Context) error { return db.maintain(ctx, maintainDead) }

// maintain vacuums the tail if it has at least dead dead rows.
func (db *DB) maintain(ctx context.Context, dead int64) error {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_all_tables
		WHERE relid IN ('tail'::regclass, (SELECT reltoastrelid FROM pg_class WHERE oid = 'tail'::regclass))`).Scan(&n)
	if err != nil {
		return fmt.Errorf("maintain: %w", db.mapErr(err))
	}
	if n < dead {
		return nil
	}
	// SKIP_LOCKED: a VACUUM of the table that another process runs
	// already is as good.
	if _, err := db.pool.Exec(ctx, "VACUUM (SKIP_LOCKED) tail"); err != nil {
		return fmt.Errorf("maintain: vacuum the tail: %w", db.mapErr(err))
	}
	return nil
}
