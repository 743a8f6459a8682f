-- Bad input: every case is an ERROR with a SQLSTATE, never a crash.
\set VERBOSITY sqlstate
SELECT '[1,,2]'::embedding;
\set VERBOSITY default
SELECT '[1,,2]'::embedding;
SELECT '['::embedding;
SELECT '1,2'::embedding;
SELECT '[]'::embedding;
SELECT '[1,2]x'::embedding;
SELECT '[a]'::embedding;
SELECT '[1e999]'::embedding;
SELECT '[nan]'::embedding;
SELECT '[inf]'::embedding;
SELECT '[-Infinity]'::embedding;
SELECT '[1e-50]'::embedding;
\set VERBOSITY sqlstate
SELECT '[1,2]x'::embedding;
SELECT '[1e999]'::embedding;
SELECT '[nan]'::embedding;
SELECT '[]'::embedding;
\set VERBOSITY default
-- dimension limits
SELECT dims(('[' || repeat('1,', 15999) || '1]')::embedding);
SELECT ('[' || repeat('1,', 16000) || '1]')::embedding;
-- a 20 MB literal is refused quickly
SELECT ('[' || repeat('1.5,', 5000000) || '1]')::embedding;
SELECT NULL::embedding(0);
SELECT NULL::embedding(16001);
SELECT NULL::embedding(3, 4);
-- typmod violations on insert and cast
CREATE TABLE err_t (e embedding(3));
INSERT INTO err_t VALUES ('[1,2]');
INSERT INTO err_t VALUES (ARRAY[1,2]::real[]);
SELECT '[1,2]'::embedding::embedding(3);
SELECT ARRAY[1,2,3,4]::real[]::embedding(3);
DROP TABLE err_t;
-- arrays: NULL elements, more than one dimension, empty, non-finite, out of range
SELECT ARRAY[1, NULL, 3]::real[]::embedding;
SELECT ARRAY[[1,2],[3,4]]::real[]::embedding;
SELECT '{}'::real[]::embedding;
SELECT ARRAY['NaN']::real[]::embedding;
SELECT ARRAY['Infinity']::double precision[]::embedding;
SELECT ARRAY[1e300]::double precision[]::embedding;
SELECT ARRAY['NaN']::numeric[]::embedding;
-- mismatched dimensions in every binary operator and function
SELECT '[1,2]'::embedding <#> '[1,2,3]'::embedding;
SELECT '[1,2]'::embedding <-> '[1,2,3]'::embedding;
SELECT '[1,2]'::embedding <=> '[1,2,3]'::embedding;
SELECT '[1,2]'::embedding + '[1,2,3]'::embedding;
SELECT '[1,2]'::embedding - '[1,2,3]'::embedding;
SELECT inner_product('[1,2]', '[1,2,3]');
-- and in the aggregates
SELECT sum(e) FROM (VALUES ('[1,2]'::embedding), ('[1,2,3]')) v(e);
SELECT avg(e) FROM (VALUES ('[1,2]'::embedding), ('[1,2,3]')) v(e);
SELECT embedding_combine(embedding_accum('{0}', '[1,2]'), embedding_accum('{0}', '[1,2,3]'));
SELECT embedding_sum_final('{{1,2},{3,4}}');
SELECT embedding_sum_final('{1,NULL}');
-- overflow in arithmetic and aggregates
SELECT '[3e38]'::embedding + '[3e38]'::embedding;
SELECT sum(e) FROM (VALUES ('[3e38]'::embedding), ('[3e38]')) v(e);
-- NULL in means NULL out
SELECT NULL::embedding <#> '[1]'::embedding IS NULL AS strict_null;
