-- 4: the team server's copies of the logs clients stream to it
-- (docs/team-server.md, "Durable ingest"). Each acknowledged batch is one
-- row of log_segments, at its offset in the stream; log_streams holds each
-- stream's size, the row a batch locks to check its offset against, so
-- that of two servers appending at one offset one wins and the other
-- answers 409 (or trims, for the same bytes). pieces counts the stream's
-- rows, which background compaction merges into larger ones. The segments
-- are the truth the rest of the store indexes: a run folder is rebuilt
-- from them byte for byte (runlog pull).
--
-- With a bucket, background work seals a stream's older bytes into it
-- (logs_seal.go): a stretch of rows from the stream's start becomes one row
-- whose bytes are an object of the bucket, named by its sha256 (obj_sha256,
-- obj_size; data then empty). Sealing goes in order, so the sealed rows are
-- the stream's first `sealed` bytes; pieces counts the rows not sealed, and
-- appended is when the stream last grew.
CREATE TABLE log_streams (
	run_id   text COLLATE "C" NOT NULL,
	stream   text COLLATE "C" NOT NULL,
	size     bigint NOT NULL DEFAULT 0,
	pieces   integer NOT NULL DEFAULT 0,
	sealed   bigint NOT NULL DEFAULT 0,
	appended timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, stream)
) WITH (fillfactor = 50);

CREATE TABLE log_segments (
	run_id     text COLLATE "C" NOT NULL,
	stream     text COLLATE "C" NOT NULL,
	off        bigint NOT NULL,
	data       bytea NOT NULL,
	obj_sha256 text,
	obj_size   bigint,
	PRIMARY KEY (run_id, stream, off),
	CHECK ((obj_sha256 IS NULL) = (obj_size IS NULL)),
	CHECK (obj_sha256 IS NULL OR length(data) = 0)
);
