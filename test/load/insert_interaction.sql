\set u random(1, 5000)
\set i random(1, 2000)
INSERT INTO clicks VALUES (:u, :i);
