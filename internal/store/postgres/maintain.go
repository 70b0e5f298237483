package postgres

import (
	"context"
	"fmt"
)

// maintainDead is how many dead rows of the tail (with its TOAST table)
// make Maintain vacuum it: a live load leaves that many in about a second
// on a busy server, a few megabytes. The chunks table is vacuumed after as
// many: seals that fill a sparse series' last chunk, and rewinds, update
// chunk rows. So is log_segments, whose rows compaction merges and
// sealing replaces.
const maintainDead = 1000

// Maintain does the store's upkeep that cannot wait for autovacuum: it
// vacuums the tail table when merges and seals have left maintainDead
// dead rows in it, and the chunks and log_segments tables likewise, so
// that their space is reused by the next rows instead of growing the
// tables. Autovacuum visits the tables too, but no more often than
// autovacuum_naptime (a minute by default), in which a live load of many
// runs leaves tens of megabytes of dead rows behind.
//
// It is meant to be called every second or so by one of the processes
// sharing the database (the team server's background work, under its
// advisory lock); calls from several at once are safe, only wasteful. It
// returns quickly when there is nothing to do.
func (db *DB) Maintain(ctx context.Context) error { return db.maintain(ctx, maintainDead) }

// maintain vacuums the tail, chunks and log_segments tables that have at
// least dead dead rows, counting their TOAST tables'.
func (db *DB) maintain(ctx context.Context, dead int64) error {
	for _, table := range []string{"tail", "chunks", "log_segments"} {
		var n int64
		err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_all_tables
			WHERE relid IN ($1::regclass, (SELECT reltoastrelid FROM pg_class WHERE oid = $1::regclass))`, table).Scan(&n)
		if err != nil {
			return fmt.Errorf("maintain %s: %w", table, db.mapErr(err))
		}
		if n < dead {
			continue
		}
		// SKIP_LOCKED: a VACUUM of the table that another process runs
		// already is as good.
		if _, err := db.pool.Exec(ctx, "VACUUM (SKIP_LOCKED) "+table); err != nil {
			return fmt.Errorf("maintain: vacuum %s: %w", table, db.mapErr(err))
		}
	}
	return nil
}
