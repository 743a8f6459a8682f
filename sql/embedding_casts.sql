-- Casts between embedding and arrays.
SET extra_float_digits = 0;
SELECT ARRAY[1.5, 2, -3]::real[]::embedding;
SELECT ARRAY[1.5, 2, -3]::double precision[]::embedding;
SELECT ARRAY[1, 2, 3]::integer[]::embedding;
SELECT ARRAY[1.25, 2.5]::numeric[]::embedding;
SELECT '[1,2.5]'::embedding::real[];
SELECT '[1,2.5]'::embedding::double precision[];
SELECT ARRAY[1,2,3]::real[]::embedding(3);
-- assignment casts work on insert
CREATE TABLE cast_t (e embedding(2));
INSERT INTO cast_t VALUES (ARRAY[1,2]::real[]), (ARRAY[3,4]::double precision[]);
SELECT * FROM cast_t ORDER BY e::real[];
DROP TABLE cast_t;
-- array -> embedding casts are not implicit (no ambiguity next to pgvector)
SELECT castsource::regtype, casttarget::regtype, castcontext
  FROM pg_cast
 WHERE castsource = 'embedding'::regtype OR casttarget = 'embedding'::regtype
 ORDER BY castsource::regtype::text, casttarget::regtype::text;
