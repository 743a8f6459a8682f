\set i random(1, 2000)
\set c random(0, 9)
INSERT INTO catalog SELECT nextval('new_ids'), :c, e FROM catalog WHERE id = :i;
DELETE FROM catalog WHERE id = (SELECT min(id) FROM catalog WHERE id >= 1000000 AND category = :c);
