\set u random(1, 5000)
-- irec_recommend goes through the index: exact, so that the check sees the model, not recall
SET irec.probes = 0;
SELECT live_check(:u);
