-- 3: tuning for live runs, measured with runlog-bench postgres's live load.
-- Every batch updates the statistics of each series it touches, all the
-- series of a run usually sharing a few pages: with 40 % of each page
-- free, a whole batch's new row versions fit beside the old ones (HOT
-- updates), which the next batch's updates then prune. Autovacuum of the
-- two tables a live load churns runs unthrottled: it is the one thing that
-- frees the tail's deleted rows for reuse.
ALTER TABLE series SET (fillfactor = 40, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE tail SET (autovacuum_vacuum_cost_delay = 0);
