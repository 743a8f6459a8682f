\set u random(1, 5500)
\set i random(1, 2000)
INSERT INTO clicks VALUES (:u, :i);
SELECT users_updated + users_added FROM irec_update('live', users => ARRAY[:u]);
