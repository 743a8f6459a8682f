-- Distances, norms and arithmetic, against hand-computed values.
SET extra_float_digits = 0;
SELECT '[1,2,3]'::embedding <#> '[4,5,6]'::embedding AS neg_ip;
SELECT inner_product('[1,2,3]', '[4,5,6]');
SELECT '[1,2,3]'::embedding <-> '[4,6,3]'::embedding AS l2;
SELECT l2_distance('[0,0]', '[3,4]');
SELECT '[1,0]'::embedding <=> '[0,1]'::embedding AS orthogonal,
       '[1,1]'::embedding <=> '[2,2]'::embedding AS parallel,
       '[1,1]'::embedding <=> '[-1,-1]'::embedding AS opposite;
SELECT cosine_distance('[0,0]', '[1,1]') AS zero_vector_is_nan;
SELECT l2_norm('[3,4]'), l2_norm('[-2]');
SELECT dims('[1,2,3]');
-- the grammar maps unqualified NORMALIZE() to pg_catalog; quote or qualify it
SELECT "normalize"('[3,4]'::embedding), public.normalize('[0,0]'::embedding),
       l2_normalize('[3,4]'::embedding),
       l2_norm(l2_normalize('[1,2,3,4,5]'::embedding)) BETWEEN 0.9999999 AND 1.0000001 AS unit;
SELECT '[1,2,3]'::embedding + '[10,20,30]'::embedding AS sum,
       '[1,2,3]'::embedding - '[10,20,30]'::embedding AS difference;
-- operators agree with the functions on random data
WITH v AS (
  SELECT i, array_agg(((i * 31 + j * 17) % 13 - 6)::real ORDER BY j)::embedding AS e
    FROM generate_series(1, 20) i, generate_series(1, 37) j GROUP BY i)
SELECT bool_and(abs((a.e <#> b.e) + inner_product(a.e, b.e)) < 1e-9) AS ip,
       bool_and(abs((a.e <-> b.e) - sqrt(inner_product(a.e - b.e, a.e - b.e))) < 1e-6) AS l2,
       bool_and(abs((a.e <=> b.e) - (1 - inner_product(a.e, b.e) / (l2_norm(a.e) * l2_norm(b.e)))) < 1e-6) AS cos
  FROM v a, v b;
-- ordering by <#> ranks the largest inner product first
CREATE TABLE ops_items (id int, e embedding(2));
INSERT INTO ops_items VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[2,2]'), (4, '[-1,-1]');
SELECT id, e <#> '[1,0.5]' AS d FROM ops_items ORDER BY e <#> '[1,0.5]', id;
SELECT id FROM ops_items ORDER BY e <-> '[0,1]', id;
SELECT id FROM ops_items ORDER BY e <=> '[1,1]', id;
DROP TABLE ops_items;
-- volatility and strictness as declared
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec')
   AND p.prokind = 'f' AND (p.provolatile <> 'i' OR NOT p.proisstrict OR p.proparallel <> 's')
   AND p.proname IN ('inner_product', 'l2_distance', 'cosine_distance', 'l2_norm', 'dims',
                     'normalize', 'l2_normalize', 'embedding_add', 'embedding_sub', 'embedding_negative_inner_product');

-- elementwise product: overflow and underflow refused, as for real
SELECT '[1,2,3]'::embedding * '[4,5,-6]';
SELECT '[1,0,-2]'::embedding * '[0,7,0.5]';
SELECT '[1e37]'::embedding * '[1e37]';
SELECT '[1e-37]'::embedding * '[1e-37]';
SELECT '[1,2]'::embedding * '[3]';

-- L1 distance and <+>: exact sums, double where float would overflow
SELECT l1_distance('[0,0]', '[3,4]'), '[0,0]'::embedding <+> '[3,4]', '[3,4]'::embedding <+> '[0,0]';
SELECT l1_distance('[1,2,3,4,5,6,7,8,9]', '[0,3,2,5,4,7,6,9,8]');
SELECT l1_distance('[3e38]', '[-3e38]') = 2 * 3e38::real::float8 AS no_overflow,
       l1_distance('[3e38,3e38]', '[-3e38,-3e38]') > 1.2e39 AS sums_in_double;
SELECT l1_distance('[1e-45,0]', '[0,0]') > 0 AS denormal_kept;
SELECT l1_distance('[1,2]', '[3]');
-- pgvector's names for dims and the norm
SELECT vector_dims('[1,2,3]'::embedding), vector_norm('[3,4]'::embedding),
       vector_norm('[3e37,4e37]'::embedding)::real, vector_norm('[0,0]'::embedding);
