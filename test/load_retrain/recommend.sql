\set u random(1, 5000)
SELECT live_check(:u);
