-- The behaviours pgvector's own regression suite (v0.8: vector_type, cast,
-- btree, copy, ivfflat_vector, hnsw_vector) exercises, written for
-- embedding and ipivf.  Where irec answers differently on purpose, the
-- comment says so (docs/ipivf.md, "Compared with pgvector").
SET extra_float_digits = 0;

-- input: the same accepted spellings
SELECT '[1,2,3]'::embedding, '[-1,-2,-3]'::embedding, '[1.,2.,3.]'::embedding,
       ' [ 1,  2 ,    3  ] '::embedding, '[1.23456]'::embedding;
SELECT '[1.5e38,-1.5e38]'::embedding, '[1.5e+38,-1.5e+38]'::embedding, '[1.5e-38,-1.5e-38]'::embedding;
-- and the same refusals
SELECT '[hello,1]'::embedding;
SELECT '[NaN,1]'::embedding;
SELECT '[Infinity,1]'::embedding;
SELECT '[-Infinity,1]'::embedding;
SELECT '[4e38,1]'::embedding;
SELECT '[-4e38,1]'::embedding;
SELECT '[1,2,3'::embedding;
SELECT '[1,2,3]9'::embedding;
SELECT '1,2,3'::embedding;
SELECT ''::embedding;
SELECT '['::embedding;
SELECT '[,'::embedding;
SELECT '[]'::embedding;
SELECT '[ ]'::embedding;
SELECT '[,]'::embedding;
SELECT '[1,]'::embedding;
SELECT '[1a]'::embedding;
SELECT '[1,,3]'::embedding;
SELECT '[1, ,3]'::embedding;
-- a number below the smallest denormal: pgvector reads 0, irec refuses (strict input)
SELECT '[1e-46,1]'::embedding;

-- typmods
SELECT '[1,2,3]'::embedding(3);
SELECT '[1,2,3]'::embedding(2);
SELECT '[1,2,3]'::embedding(3, 2);
SELECT '[1,2,3]'::embedding('a');
SELECT '[1,2,3]'::embedding(0);
SELECT '[1,2,3]'::embedding(16001);
SELECT unnest('{"[1,2,3]", "[4,5,6]"}'::embedding[]);
SELECT '{"[1,2,3]"}'::embedding(2)[];

-- arithmetic
SELECT '[1,2,3]'::embedding + '[4,5,6]', '[1,2,3]'::embedding - '[4,5,6]', '[1,2,3]'::embedding * '[4,5,6]';
SELECT '[3e38]'::embedding + '[3e38]';
SELECT '[-3e38]'::embedding - '[3e38]';
SELECT '[1e37]'::embedding * '[1e37]';
SELECT '[1e-37]'::embedding * '[1e-37]';
SELECT '[1,2]'::embedding + '[3]';
SELECT '[1,2]'::embedding - '[3]';
SELECT '[1,2]'::embedding * '[3]';
SELECT '[1,2,3]'::embedding || '[4,5]';
SELECT array_fill(0, ARRAY[16000])::embedding || '[1]';

-- comparisons
SELECT '[1,2,3]'::embedding < '[1,2,3]', '[1,2,3]'::embedding < '[1,2]',
       '[1,2,3]'::embedding <= '[1,2,3]', '[1,2,3]'::embedding <= '[1,2]',
       '[1,2,3]'::embedding = '[1,2,3]', '[1,2,3]'::embedding = '[1,2]',
       '[1,2,3]'::embedding != '[1,2,3]', '[1,2,3]'::embedding != '[1,2]',
       '[1,2,3]'::embedding >= '[1,2,3]', '[1,2,3]'::embedding >= '[1,2]',
       '[1,2,3]'::embedding > '[1,2,3]', '[1,2,3]'::embedding > '[1,2]';

-- dims, norms, distances
SELECT vector_dims('[1,2,3]'::embedding), dims('[1,2,3]'::embedding);
SELECT round(vector_norm('[1,1]')::numeric, 5), vector_norm('[3,4]'), vector_norm('[0,1]'),
       vector_norm('[3e37,4e37]')::real, vector_norm('[0,0]'), vector_norm('[2]');
SELECT l2_distance('[0,0]', '[3,4]'), l2_distance('[0,0]', '[0,1]'),
       l2_distance('[1,1,1,1,1,1,1,1,1]', '[1,1,1,1,1,1,1,4,5]'), '[0,0]'::embedding <-> '[3,4]';
SELECT l2_distance('[1,2]', '[3]');
-- pgvector gives Infinity where the float sum overflows; irec gives the distance
SELECT l2_distance('[3e38]', '[-3e38]') > 5.9e38 AS no_overflow;
SELECT inner_product('[1,2]', '[3,4]'), inner_product('[1,1,1,1,1,1,1,1,1]', '[1,2,3,4,5,6,7,8,9]'),
       '[1,2]'::embedding <#> '[3,4]';
SELECT inner_product('[1,2]', '[3]');
SELECT inner_product('[3e38]', '[3e38]') > 8.9e76 AS no_overflow;
SELECT cosine_distance('[1,2]', '[2,4]'), cosine_distance('[1,1]', '[1,1]'), cosine_distance('[1,0]', '[0,2]'),
       cosine_distance('[1,1]', '[-1,-1]'), cosine_distance('[1,1]', '[1.1,1.1]'),
       cosine_distance('[1,1]', '[-1.1,-1.1]'), cosine_distance('[3e38]', '[3e38]'),
       cosine_distance('[1,2,3,4,5,6,7,8,9]', '[1,2,3,4,5,6,7,8,9]'),
       cosine_distance('[1,2,3,4,5,6,7,8,9]', '[-1,-2,-3,-4,-5,-6,-7,-8,-9]'), '[1,2]'::embedding <=> '[2,4]';
SELECT cosine_distance('[1,2]', '[0,0]');
SELECT cosine_distance('[1,2]', '[3]');
SELECT l1_distance('[0,0]', '[3,4]'), l1_distance('[0,0]', '[0,1]'),
       l1_distance('[1,2,3,4,5,6,7,8,9]', '[1,2,3,4,5,6,7,8,9]'),
       l1_distance('[1,2,3,4,5,6,7,8,9]', '[0,3,2,5,4,7,6,9,8]'), '[0,0]'::embedding <+> '[3,4]';
SELECT l1_distance('[1,2]', '[3]');
-- (pgvector: Infinity)
SELECT l1_distance('[3e38]', '[-3e38]') > 5.9e38 AS no_overflow;
SELECT l2_normalize('[3,4]'), l2_normalize('[3,0]'), l2_normalize('[0,0.1]'), l2_normalize('[0,0]'),
       l2_normalize('[3e38]');
SELECT binary_quantize('[1,0,-1]'), binary_quantize('[0,0.1,-0.2,-0.3,0.4,0.5,0.6,-0.7,0.8,-0.9,1]'),
       binary_quantize('[1,2,3,-4,5,6,-7,8,1,-2,-3,4,5,-6,7,8,-1,2,3]');
SELECT subvector('[1,2,3,4,5]', 1, 3), subvector('[1,2,3,4,5]', 3, 2);
-- pgvector clips these to the vector, as substring() does; irec refuses them
SELECT subvector('[1,2,3,4,5]', -1, 3);
SELECT subvector('[1,2,3,4,5]', 3, 9);

-- aggregates
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::embedding, '[3,5,7]']) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::embedding, '[3,5,7]', NULL]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[]::embedding[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::embedding, '[3]']) v;
SELECT avg(v) FROM unnest(ARRAY['[3e38]'::embedding, '[3e38]']) v;
SELECT sum(v) FROM unnest(ARRAY['[3e38]'::embedding, '[3e38]']) v;

-- casts
SELECT ARRAY[1,2,3]::embedding, ARRAY[1.0,2.0,3.0]::embedding, ARRAY[1,2,3]::float4[]::embedding,
       ARRAY[1,2,3]::float8[]::embedding, ARRAY[1,2,3]::numeric[]::embedding, '[1,2,3]'::embedding::real[];
SELECT '{1,2,3}'::real[]::embedding(3), '{1,2,3}'::double precision[]::embedding(3);
SELECT '{1,2,3}'::real[]::embedding(2);
SELECT '{NULL}'::real[]::embedding;
SELECT '{NaN}'::real[]::embedding;
SELECT '{Infinity}'::real[]::embedding;
SELECT '{-Infinity}'::real[]::embedding;
SELECT '{}'::real[]::embedding;
SELECT '{{1}}'::real[]::embedding;
SELECT '{4e38,-4e38}'::double precision[]::embedding;
-- a double below the smallest denormal rounds to ±0, as in pgvector (text
-- input refuses it, above)
SELECT '{1e-46,-1e-46}'::double precision[]::embedding;
SELECT array_agg(n)::embedding FROM generate_series(1, 16001) n;
SELECT array_to_embedding(array_agg(n), 16001, false) FROM generate_series(1, 16001) n;
SELECT ARRAY[1,2,3] = ARRAY[1,2,3];

-- btree
CREATE TABLE pgv (val embedding(3));
INSERT INTO pgv (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON pgv (val);
SET enable_seqscan = off;
SELECT * FROM pgv WHERE val = '[1,2,3]';
SELECT * FROM pgv ORDER BY val;
RESET enable_seqscan;

-- binary copy
CREATE TABLE pgv2 (val embedding(3));
\set copy_file '/tmp/irec_pgvector_suite_' :PORT '.copy'
COPY pgv TO :'copy_file' WITH (FORMAT binary);
COPY pgv2 FROM :'copy_file' WITH (FORMAT binary);
SELECT * FROM pgv2 ORDER BY val;
DROP TABLE pgv2;

-- the index, per operator class: a row inserted after the build, NULL last
-- (pgvector's indexes leave NULL rows out of ORDER BY answers; irec returns
-- them last, as a sort does)
SET enable_seqscan = off;
SET irec.probes = 0;
CREATE INDEX pgv_l2 ON pgv USING ipivf (val embedding_l2_ops) WITH (lists = 1);
INSERT INTO pgv (val) VALUES ('[1,2,4]');
SELECT * FROM pgv ORDER BY val <-> '[3,3,3]';
SELECT count(*) FROM (SELECT * FROM pgv ORDER BY val <-> (SELECT NULL::embedding)) t2;
SELECT count(*) FROM pgv;
DROP INDEX pgv_l2;
CREATE INDEX pgv_ip ON pgv USING ipivf (val embedding_ip_ops) WITH (lists = 1);
SELECT * FROM pgv ORDER BY val <#> '[3,3,3]';
SELECT count(*) FROM (SELECT * FROM pgv ORDER BY val <#> (SELECT NULL::embedding)) t2;
DROP INDEX pgv_ip;
CREATE INDEX pgv_cos ON pgv USING ipivf (val embedding_cosine_ops) WITH (lists = 1);
-- the zero vector's cosine distance is NaN, after every number (pgvector: left out)
SELECT * FROM pgv ORDER BY val <=> '[3,3,3]';
SELECT count(*) FROM (SELECT * FROM pgv ORDER BY val <=> '[0,0,0]') t2;
SELECT count(*) FROM (SELECT * FROM pgv ORDER BY val <=> (SELECT NULL::embedding)) t2;
DROP INDEX pgv_cos;
CREATE INDEX pgv_l1 ON pgv USING ipivf (val embedding_l1_ops) WITH (lists = 1);
SELECT * FROM pgv ORDER BY val <+> '[3,3,3]';
SELECT count(*) FROM (SELECT * FROM pgv ORDER BY val <+> (SELECT NULL::embedding)) t2;
-- several lists, the fewest probes: still every row, in exact order (no
-- iterative-scan setting needed)
DROP INDEX pgv_l1;
CREATE INDEX pgv_l2 ON pgv USING ipivf (val embedding_l2_ops) WITH (lists = 3);
SET irec.probes = 1;
SELECT * FROM pgv ORDER BY val <-> '[3,3,3]';
TRUNCATE pgv;
SELECT * FROM pgv ORDER BY val <-> '[3,3,3]';
RESET irec.probes;
DROP TABLE pgv;

-- unlogged
CREATE UNLOGGED TABLE pgv (val embedding(3));
INSERT INTO pgv (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON pgv USING ipivf (val embedding_l2_ops) WITH (lists = 1);
SELECT * FROM pgv ORDER BY val <-> '[3,3,3]';
DROP TABLE pgv;

-- options
CREATE TABLE pgv (val embedding(3));
CREATE INDEX ON pgv USING ipivf (val embedding_l2_ops) WITH (lists = -1);
CREATE INDEX ON pgv USING ipivf (val embedding_l2_ops) WITH (probes = -2);
SHOW irec.probes;
SET irec.probes = -2;
RESET enable_seqscan;
DROP TABLE pgv;
