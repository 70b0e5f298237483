-- 1: runs, streams, key ids, segments, series in chunks with their tails,
-- artifacts, events. Keys, ids and names sort byte by byte (COLLATE "C"),
-- as the SQLite store sorts them, whatever the database's locale.
--
-- Tables updated by every batch of a live run (runs, streams) leave
-- room in each page (fillfactor) so that the update is a HOT one: the new
-- row version goes in the same page, no index changes, and the old one is
-- pruned without waiting for VACUUM.

CREATE TABLE runs (
	id          text COLLATE "C" PRIMARY KEY,
	project     text NOT NULL DEFAULT 'default',
	name        text COLLATE "C" NOT NULL DEFAULT '',
	grp         text NOT NULL DEFAULT '',
	tags        text NOT NULL DEFAULT '[]',
	notes       text NOT NULL DEFAULT '',
	hypothesis  text NOT NULL DEFAULT '',
	status      text NOT NULL DEFAULT 'running',
	exit_code   integer,
	error       text NOT NULL DEFAULT '',
	start_time  double precision NOT NULL DEFAULT 0,
	end_time    double precision NOT NULL DEFAULT 0,
	last_time   double precision NOT NULL DEFAULT 0,
	host        text NOT NULL DEFAULT '',
	user_name   text NOT NULL DEFAULT '',
	command     text NOT NULL DEFAULT '[]',
	cwd         text NOT NULL DEFAULT '',
	git         text NOT NULL DEFAULT '',
	env         text NOT NULL DEFAULT '{}',
	parent      text NOT NULL DEFAULT '',
	path        text NOT NULL DEFAULT '',
	config      text NOT NULL DEFAULT '{}',
	summary     text NOT NULL DEFAULT '{}',
	max_step    bigint NOT NULL DEFAULT -1,
	active      double precision NOT NULL DEFAULT 0,
	segments    integer NOT NULL DEFAULT 0,
	train_key   text NOT NULL DEFAULT '',
	train_last  bytea,
	val_key     text NOT NULL DEFAULT '',
	val_last    bytea,
	status_time double precision NOT NULL DEFAULT 0,
	archived    boolean NOT NULL DEFAULT false,
	-- The run's tail (table tail): rows numbered below tail_next, of
	-- which tail_shape counts how many there are of each level (a byte
	-- each, level 0 lowest), holding tail_bytes bytes of points and at
	-- most tail_max points of any one series.
	tail_next   integer NOT NULL DEFAULT 0,
	tail_shape  integer NOT NULL DEFAULT 0,
	tail_bytes  integer NOT NULL DEFAULT 0,
	tail_max    integer NOT NULL DEFAULT 0
) WITH (fillfactor = 70);
CREATE INDEX runs_project_start ON runs (project, start_time);
CREATE INDEX runs_start ON runs (start_time DESC, id);
CREATE INDEX runs_name ON runs (name);

CREATE TABLE streams (
	run_id     text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	cur_seq    bigint NOT NULL DEFAULT 0,
	cur_offset bigint NOT NULL DEFAULT 0,
	cur_size   bigint NOT NULL DEFAULT 0,
	cur_mtime  bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, name)
) WITH (fillfactor = 70);

-- The key ids each batch of a stream defined, merged in order by KeyIDs.
CREATE TABLE stream_keys (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	no     integer NOT NULL,
	keymap text NOT NULL,
	PRIMARY KEY (run_id, stream, no)
);

CREATE TABLE segments (
	run_id text COLLATE "C" NOT NULL,
	idx    integer NOT NULL,
	start  double precision NOT NULL,
	last   double precision NOT NULL,
	PRIMARY KEY (run_id, idx)
) WITH (fillfactor = 70);

-- A series: the statistics of its chunks (empty while it has none: the
-- points of its run's tail are counted in when it is read) and the number
-- of its next chunk. Written when points are sealed into chunks, not by
-- every batch.
CREATE TABLE series (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id     text COLLATE "C" NOT NULL,
	key        text COLLATE "C" NOT NULL,
	goal       text NOT NULL DEFAULT '',
	stats      bytea NOT NULL,
	next_chunk integer NOT NULL DEFAULT 0,
	UNIQUE (run_id, key)
);

-- Full chunks (and the parts of chunks a rewind split), written once.
CREATE TABLE chunks (
	series_id  bigint NOT NULL,
	no         integer NOT NULL,
	superseded boolean NOT NULL DEFAULT false,
	count      integer NOT NULL,
	min_step   bigint NOT NULL,
	max_step   bigint NOT NULL,
	stats      bytea NOT NULL,
	data       bytea NOT NULL,
	PRIMARY KEY (series_id, no)
);
-- The codec's output does not compress: don't let TOAST try.
ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The newest points of each run: a row a batch, holding the points of
-- all its series, merged now and then into fewer, larger rows, and sealed
-- into chunks (docs/storage.md, "Live appends: the tail"). Rows come and
-- go, so autovacuum visits the table (and its TOAST table) after a fixed
-- number of dead rows, not a fraction of it.
CREATE TABLE tail (
	run_id text COLLATE "C" NOT NULL,
	no     integer NOT NULL,
	level  smallint NOT NULL,
	count  integer NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (run_id, no)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000,
	toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 1000,
	toast.autovacuum_vacuum_insert_scale_factor = 0, toast.autovacuum_vacuum_insert_threshold = 10000);
ALTER TABLE tail ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE artifacts (
	run_id     text COLLATE "C" NOT NULL,
	stream     text COLLATE "C" NOT NULL,
	seq        bigint NOT NULL,
	path       text NOT NULL,
	kind       text NOT NULL,
	step       bigint,
	time       double precision NOT NULL,
	size       bigint NOT NULL,
	sha256     text NOT NULL DEFAULT '',
	metadata   text NOT NULL DEFAULT '{}',
	superseded boolean NOT NULL DEFAULT false,
	PRIMARY KEY (run_id, stream, seq)
);

CREATE TABLE events (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	seq    bigint NOT NULL,
	kind   text NOT NULL,
	time   double precision NOT NULL,
	step   bigint,
	level  text NOT NULL DEFAULT '',
	title  text NOT NULL DEFAULT '',
	text   text NOT NULL DEFAULT '',
	data   text NOT NULL DEFAULT '{}',
	PRIMARY KEY (run_id, stream, seq)
);
