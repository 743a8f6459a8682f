\set u random(1, 5000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL irec.probes = 0;
SELECT live_index_check(:u);
COMMIT;
