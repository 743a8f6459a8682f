\set u random(1, 5500)
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- irec_recommend goes through the index: exact, so that the check sees the model, not recall
SET LOCAL irec.probes = 0;
SELECT live_check(:u);
COMMIT;
