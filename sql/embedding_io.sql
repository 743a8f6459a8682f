-- Text input and output of the embedding type, typmods.
SET extra_float_digits = 0;
SELECT '[1,2.5,-3]'::embedding;
SELECT '  [ 1 , 2.5 ,-3 ]  '::embedding;
SELECT '[1e-3,1e3]'::embedding;
SELECT '[0.1]'::embedding;
-- output is the shortest text that reads back as the same float4
SELECT '[0.1,0.2,0.3,3.4028235e38,1.1754944e-38,-1.4e-45]'::embedding;
SELECT e::text, e::real[] = (e::text::embedding)::real[] AS round_trips
  FROM (SELECT '[0.33333334,1.0000001,123456.79]'::embedding AS e) s;
-- every float4 bit pattern in a sample round-trips exactly through text
SELECT count(*) AS mismatches
  FROM (SELECT array_agg(x) AS a
          FROM (SELECT (random() * 2 - 1) * 10 ^ (random() * 60 - 30) AS x
                  FROM generate_series(1, 2000)) s) r,
       LATERAL (SELECT r.a::real[]::embedding AS e) t
 WHERE (e::text::embedding)::real[] <> r.a::real[];
-- typmod
CREATE TABLE io_t (id int, e embedding(3));
INSERT INTO io_t VALUES (1, '[1,2,3]'), (2, '[4,5,6]');
SELECT * FROM io_t ORDER BY id;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'io_t'::regclass AND attname = 'e';
SELECT '[1,2,3]'::embedding(3);
SELECT dims('[1,2,3,4]'::embedding(4));
-- text written by COPY reads back
COPY io_t TO STDOUT;
DROP TABLE io_t;
