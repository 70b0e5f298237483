package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction; the number
// applied is the schema version, kept in PRAGMA user_version. Never edit a
// migration that has shipped: append a new one.
var migrations = []string{
	// 1: runs, series in chunks, artifacts, events.
	`
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	project     TEXT NOT NULL DEFAULT 'default',
	name        TEXT NOT NULL DEFAULT '',
	grp         TEXT NOT NULL DEFAULT '',
	tags        TEXT NOT NULL DEFAULT '[]',
	notes       TEXT NOT NULL DEFAULT '',
	hypothesis  TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT 'running',
	exit_code   INTEGER,
	error       TEXT NOT NULL DEFAULT '',
	start_time  REAL NOT NULL DEFAULT 0,
	end_time    REAL NOT NULL DEFAULT 0,
	last_time   REAL NOT NULL DEFAULT 0,
	host        TEXT NOT NULL DEFAULT '',
	user_name   TEXT NOT NULL DEFAULT '',
	command     TEXT NOT NULL DEFAULT '[]',
	cwd         TEXT NOT NULL DEFAULT '',
	git         TEXT NOT NULL DEFAULT '',
	env         TEXT NOT NULL DEFAULT '{}',
	parent      TEXT NOT NULL DEFAULT '',
	path        TEXT NOT NULL DEFAULT '',
	config      TEXT NOT NULL DEFAULT '{}',
	summary     TEXT NOT NULL DEFAULT '{}',
	max_step    INTEGER NOT NULL DEFAULT -1,
	active      REAL NOT NULL DEFAULT 0,
	segments    INTEGER NOT NULL DEFAULT 0,
	train_key   TEXT NOT NULL DEFAULT '',
	train_last  BLOB,
	val_key     TEXT NOT NULL DEFAULT '',
	val_last    BLOB,
	status_time REAL NOT NULL DEFAULT 0
);
CREATE INDEX runs_project_start ON runs (project, start_time);
CREATE INDEX runs_start ON runs (start_time);
CREATE INDEX runs_name ON runs (name);

-- A stream is one log of a run (run.log, run.<name>.log, a remote writer)
-- and how far the store has read it.
CREATE TABLE streams (
	run_id     TEXT NOT NULL,
	name       TEXT NOT NULL,
	cur_seq    INTEGER NOT NULL DEFAULT 0,
	cur_offset INTEGER NOT NULL DEFAULT 0,
	cur_size   INTEGER NOT NULL DEFAULT 0,
	cur_mtime  INTEGER NOT NULL DEFAULT 0,
	keymap     TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE segments (
	run_id TEXT NOT NULL,
	idx    INTEGER NOT NULL,
	start  REAL NOT NULL,
	last   REAL NOT NULL,
	PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

CREATE TABLE series (
	id         INTEGER PRIMARY KEY,
	run_id     TEXT NOT NULL,
	key        TEXT NOT NULL,
	goal       TEXT NOT NULL DEFAULT '',
	stats      BLOB NOT NULL,
	next_chunk INTEGER NOT NULL DEFAULT 0,
	UNIQUE (run_id, key)
);

CREATE TABLE chunks (
	series_id  INTEGER NOT NULL,
	no         INTEGER NOT NULL,
	superseded INTEGER NOT NULL DEFAULT 0,
	count      INTEGER NOT NULL,
	min_step   INTEGER NOT NULL,
	max_step   INTEGER NOT NULL,
	stats      BLOB NOT NULL,
	data       BLOB NOT NULL
);
CREATE UNIQUE INDEX chunks_series_no ON chunks (series_id, no);

CREATE TABLE artifacts (
	run_id   TEXT NOT NULL,
	stream   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	path     TEXT NOT NULL,
	kind     TEXT NOT NULL,
	step     INTEGER,
	time     REAL NOT NULL,
	size     INTEGER NOT NULL,
	sha256   TEXT NOT NULL DEFAULT '',
	metadata TEXT NOT NULL DEFAULT '{}',
	superseded INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, stream, seq)
) WITHOUT ROWID;

CREATE TABLE events (
	run_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	kind   TEXT NOT NULL,
	time   REAL NOT NULL,
	step   INTEGER,
	level  TEXT NOT NULL DEFAULT '',
	title  TEXT NOT NULL DEFAULT '',
	text   TEXT NOT NULL DEFAULT '',
	data   TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (run_id, stream, seq)
) WITHOUT ROWID;
`,
	// 2: the key ids of a stream as rows of the ids each batch defined,
	// not one JSON object that every batch read and wrote whole: a run may
	// define a million keys.
	`
CREATE TABLE stream_keys (
	run_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	no     INTEGER NOT NULL,
	keymap TEXT NOT NULL,
	PRIMARY KEY (run_id, stream, no)
) WITHOUT ROWID;
INSERT INTO stream_keys (run_id, stream, no, keymap)
	SELECT run_id, name, 0, keymap FROM streams WHERE keymap != '{}';
UPDATE streams SET keymap = '{}';
`,
	// 3: archived runs, left out of listings unless asked for.
	`
ALTER TABLE runs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
`,
	// 4: each chunk's overview (series.Overview, docs/chunk-format.md), so
	// that a chart of a long series reads a sixteenth of its points. Unused
	// since 6: a column after the chunk's data costs reading the data's
	// overflow pages, which is what it was to save. Left NULL.
	`
ALTER TABLE chunks ADD COLUMN overview BLOB;
`,
	// 5: rich values (docs/run-log-format.md, "Rich values"): texts and the
	// media records of images, tables and HTML, one row each (record: the
	// media record's JSON, text: a text's value); histograms with their
	// edges and counts as little-endian float64 blobs.
	`
CREATE TABLE media (
	run_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	key    TEXT NOT NULL,
	step   INTEGER NOT NULL,
	time   REAL NOT NULL,
	kind   TEXT NOT NULL,
	text   TEXT NOT NULL DEFAULT '',
	record TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, stream, seq)
) WITHOUT ROWID;
CREATE INDEX media_key_step ON media (run_id, key, step);

CREATE TABLE histograms (
	run_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	key    TEXT NOT NULL,
	step   INTEGER NOT NULL,
	time   REAL NOT NULL,
	nan    INTEGER NOT NULL DEFAULT 0,
	inf    INTEGER NOT NULL DEFAULT 0,
	ninf   INTEGER NOT NULL DEFAULT 0,
	edges  BLOB NOT NULL,
	counts BLOB NOT NULL,
	PRIMARY KEY (run_id, stream, seq)
) WITHOUT ROWID;
CREATE INDEX histograms_key_step ON histograms (run_id, key, step);
`,
	// 6: each chunk's overview (series.Overview, docs/chunk-format.md), in
	// a table of its own so that reading it does not read the chunk. Chunks
	// written before have none; Overview computes theirs from their points.
	`
CREATE TABLE overviews (
	series_id INTEGER NOT NULL,
	no        INTEGER NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (series_id, no)
);
`,
}

// Version returns the schema version this build of runlog writes.
func Version() int { return len(migrations) }

// migrate applies the migrations the store has not seen yet.
func (db *DB) migrate(ctx context.Context) error {
	for {
		v, err := db.version(ctx, db.w)
		if err != nil {
			return err
		}
		if v > len(migrations) {
			return db.newerErr(v)
		}
		if v == len(migrations) {
			return nil
		}
		// Another process may migrate at the same time: the version is read
		// again under the write lock.
		err = db.tx(ctx, func(tx *sql.Tx) error {
			var cur int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
				return err
			}
			if cur != v {
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return err
		}
	}
}

func (db *DB) version(ctx context.Context, q *sql.DB) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// checkVersion makes sure a store opened read-only has the current schema.
func (db *DB) checkVersion(ctx context.Context) error {
	v, err := db.version(ctx, db.r)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return db.newerErr(v)
	}
	if v < len(migrations) {
		return fmt.Errorf("store has schema version %d and needs migrating to %d, but it is read-only", v, len(migrations))
	}
	return nil
}

func (db *DB) newerErr(v int) error {
	return fmt.Errorf("store has schema version %d, newer than this runlog's %d: upgrade runlog", v, len(migrations))
}

// Check runs SQLite's quick integrity check and confirms the schema
// version; it returns nil for a healthy store.
func (db *DB) Check(ctx context.Context) error {
	var res string
	if err := db.r.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return mapErr(err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return db.checkVersion(ctx)
}
