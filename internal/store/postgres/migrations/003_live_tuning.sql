-- 3: tuning for live runs, measured with runlog-bench postgres's live load.
-- The tail's rows, which every batch of a live run adds and merges delete,
-- stay in the table's own pages up to a page's size (toast_tuple_target)
-- instead of going to TOAST: a row of a batch of a hundred keys is 2 to 5
-- kB, and a dead row in a heap page is pruned as soon as no transaction
-- can see it, when the page is next used, without waiting for VACUUM.
-- Autovacuum of the tail runs unthrottled: it is what frees the rest of
-- their space for reuse (with DB.Maintain). The series table is written
-- only when points are sealed into chunks, a few rows at a time, and
-- keeps a little room for those updates to stay in their page.
ALTER TABLE series SET (fillfactor = 90);
ALTER TABLE tail SET (toast_tuple_target = 8160, autovacuum_vacuum_cost_delay = 0, toast.autovacuum_vacuum_cost_delay = 0);
