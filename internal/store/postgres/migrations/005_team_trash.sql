-- 5: the team server's trash (docs/team-server.md, "Changing runs"). A
-- run moved to the trash keeps its logs (log_streams, log_segments) and
-- loses its index rows (runs, series, chunks, …), so that it leaves every
-- replica's lists; its row here holds what the trash shows of it (the
-- JSON of internal/trash's Info) and keeps the background work from
-- indexing it again. Restoring deletes the row and indexes the run again
-- from its logs.
CREATE TABLE team_trash (
	run_id  text COLLATE "C" PRIMARY KEY,
	info    jsonb NOT NULL,
	removed timestamptz NOT NULL DEFAULT now()
);
