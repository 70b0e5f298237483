-- 2: each chunk's overview (series.Overview, docs/chunk-format.md), so that
-- a chart of a long series reads a sixteenth of its points; rich values
-- (docs/run-log-format.md, "Rich values"): texts and the media records of
-- images, tables and HTML (record: the media record's JSON), histograms
-- with their edges and counts.
ALTER TABLE chunks ADD COLUMN overview bytea;
ALTER TABLE chunks ALTER COLUMN overview SET STORAGE EXTERNAL;

CREATE TABLE media (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	seq    bigint NOT NULL,
	key    text COLLATE "C" NOT NULL,
	step   bigint NOT NULL,
	time   double precision NOT NULL,
	kind   text COLLATE "C" NOT NULL,
	text   text NOT NULL DEFAULT '',
	record text NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, stream, seq)
);
CREATE INDEX media_key_step ON media (run_id, key, step);

CREATE TABLE histograms (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	seq    bigint NOT NULL,
	key    text COLLATE "C" NOT NULL,
	step   bigint NOT NULL,
	time   double precision NOT NULL,
	nan    bigint NOT NULL DEFAULT 0,
	inf    bigint NOT NULL DEFAULT 0,
	ninf   bigint NOT NULL DEFAULT 0,
	edges  float8[] NOT NULL,
	counts float8[] NOT NULL,
	PRIMARY KEY (run_id, stream, seq)
);
CREATE INDEX histograms_key_step ON histograms (run_id, key, step);
