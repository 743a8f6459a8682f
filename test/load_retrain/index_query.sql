\set u random(1, 5000)
SET irec.probes = 0;
SELECT live_index_check(:u);
