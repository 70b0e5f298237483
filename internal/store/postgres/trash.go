package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The team server's trash (migration 005): a run moved to it keeps its
// logs and loses its index rows, so that it leaves the lists of every
// replica, and RestoreRun brings it back by deleting its row; the server
// then indexes the run again from its logs.

// TrashRun moves run id to the trash: it records info (what the trash
// shows of the run, as JSON) and deletes the run's index rows, keeping
// its logs. A run already in the trash has its info replaced.
func (db *DB) TrashRun(ctx context.Context, id string, info []byte) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO team_trash (run_id, info) VALUES ($1, $2)
		ON CONFLICT (run_id) DO UPDATE SET info = excluded.info, removed = now()`, id, info)
	if err != nil {
		return fmt.Errorf("move run %s to the trash: %w", id, db.mapErr(err))
	}
	// Recorded first: the background work leaves a trashed run alone, so
	// that the index rows deleted now are not made again.
	return db.DeleteRun(ctx, id)
}

// RestoreRun takes run id out of the trash and reports whether it was
// there. Its index rows are not made here: the caller indexes its logs.
func (db *DB) RestoreRun(ctx context.Context, id string) (bool, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM team_trash WHERE run_id = $1", id)
	if err != nil {
		return false, fmt.Errorf("restore run %s: %w", id, db.mapErr(err))
	}
	return tag.RowsAffected() == 1, nil
}

// Trash returns the info recorded of each run in the trash, the most
// recently removed first.
func (db *DB) Trash(ctx context.Context) ([]json.RawMessage, error) {
	rows, err := db.pool.Query(ctx, "SELECT info::text FROM team_trash ORDER BY removed DESC, run_id")
	if err != nil {
		return nil, fmt.Errorf("list the trash: %w", db.mapErr(err))
	}
	infos, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (json.RawMessage, error) {
		var s string
		err := row.Scan(&s)
		return json.RawMessage(s), err
	})
	if err != nil {
		return nil, fmt.Errorf("list the trash: %w", db.mapErr(err))
	}
	return infos, nil
}

// Trashed reports whether run id is in the trash.
func (db *DB) Trashed(ctx context.Context, id string) (bool, error) {
	var in bool
	err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM team_trash WHERE run_id = $1)", id).Scan(&in)
	if err != nil {
		return false, fmt.Errorf("look for run %s in the trash: %w", id, db.mapErr(err))
	}
	return in, nil
}
