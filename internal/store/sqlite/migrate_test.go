package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrateKeyMap opens a store written by a runlog of schema version 1,
// whose key ids are a JSON object per stream, and finds the same ids.
func TestMigrateKeyMap(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runlog.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		"PRAGMA user_version = 1",
		`INSERT INTO runs (id, path) VALUES ('r1', '/runs/r1')`,
		`INSERT INTO streams (run_id, name, keymap) VALUES ('r1', 'run.log', '{"0":"train_loss","1":"val/loss","7":"lr"}')`,
		`INSERT INTO streams (run_id, name, keymap) VALUES ('r1', 'run.cli.log', '{}')`,
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
	got, err := db.KeyIDs(ctx, "r1", "run.log")
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{0: "train_loss", 1: "val/loss", 7: "lr"}
	if len(got) != len(want) {
		t.Fatalf("KeyIDs = %v, want %v", got, want)
	}
	for id, k := range want {
		if got[id] != k {
			t.Errorf("key id %d = %q, want %q", id, got[id], k)
		}
	}
	if got, err := db.KeyIDs(ctx, "r1", "run.cli.log"); err != nil || len(got) != 0 {
		t.Errorf("KeyIDs of a stream without keys = %v, %v", got, err)
	}
	if err := db.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.KeyIDs(ctx, "r1", "run.log"); len(got) != 0 {
		t.Errorf("keys of a deleted run remain: %v", got)
	}
}
