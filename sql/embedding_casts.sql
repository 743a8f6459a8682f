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
-- array -> embedding casts are not implicit (no ambiguity next to pgvector);
-- embedding -> real[] is, as pgvector's vector -> real[]
SELECT castsource::regtype, casttarget::regtype, castcontext
  FROM pg_cast
 WHERE castsource = 'embedding'::regtype OR casttarget = 'embedding'::regtype
 ORDER BY castsource::regtype::text, casttarget::regtype::text;
-- the implicit cast: a real[] parameter takes an embedding (polymorphic
-- anyarray functions do not, as for pgvector's vector)
SELECT unnest('[1,2,3]'::embedding::real[]);
CREATE FUNCTION pg_temp.first_component(real[]) RETURNS real LANGUAGE sql AS 'SELECT $1[1]';
SELECT pg_temp.first_component('[7,8]'::embedding);

-- casts to pgvector's vector need pgvector; without it a clear refusal
SELECT irec_pgvector_casts();
