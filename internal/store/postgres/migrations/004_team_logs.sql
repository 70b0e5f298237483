-- 4: the team server's copies of the logs clients stream to it
-- (docs/team-server.md, "Durable ingest"). Each acknowledged batch is one
-- row of log_segments, at its offset in the stream; log_streams holds each
-- stream's size, the row a batch locks to check its offset against, so
-- that of two servers appending at one offset one wins and the other
-- answers 409 (or trims, for the same bytes). pieces counts the stream's
-- rows, which background compaction merges into larger ones. The segments
-- are the truth the rest of the store indexes: a run folder is rebuilt
-- from them byte for byte (runlog pull).
CREATE TABLE log_streams (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	size   bigint NOT NULL DEFAULT 0,
	pieces integer NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, stream)
) WITH (fillfactor = 50);

CREATE TABLE log_segments (
	run_id text COLLATE "C" NOT NULL,
	stream text COLLATE "C" NOT NULL,
	off    bigint NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (run_id, stream, off)
);
