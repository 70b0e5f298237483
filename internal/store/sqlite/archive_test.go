package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

// TestMigrateArchived opens a store of schema version 2, from before runs
// could be archived: its runs are not archived and listings show them.
func TestMigrateArchived(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runlog.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		migrations[1],
		"PRAGMA user_version = 2",
		`INSERT INTO runs (id, name, path) VALUES ('r1', 'old', '/runs/r1')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r, err := db.Run(ctx, "r1")
	if err != nil || r.Archived || r.Name != "old" {
		t.Fatalf("Run = %+v, %v; want r1, not archived", r, err)
	}
	runs, err := db.Runs(ctx, store.Filter{Archived: store.NotArchived})
	if err != nil || len(runs) != 1 {
		t.Errorf("Runs(NotArchived) = %v, %v; want r1", runs, err)
	}
}
