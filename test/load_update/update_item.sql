\set u random(1, 5000)
\set i random(1, 2100)
INSERT INTO clicks VALUES (:u, :i);
SELECT items_updated + items_added FROM irec_update('live', items => ARRAY[:i]);
