-- Equality, order and hashing: = <> < <= > >=, the btree and hash operator
-- classes, and what they enable (DISTINCT, UNION, GROUP BY, joins, UNIQUE,
-- ORDER BY e).  The order is pgvector's and PostgreSQL arrays': component by
-- component, then the shorter of two vectors with equal leading components.
SET extra_float_digits = 0;

SELECT '[1,2,3]'::embedding = '[1,2,3]' AS eq, '[1,2,3]'::embedding = '[1,2]' AS eq_shorter,
       '[1,2,3]'::embedding <> '[1,2,4]' AS ne, '[1,2]'::embedding < '[1,2,3]' AS prefix_first,
       '[1,2,3]'::embedding < '[1,3]' AS components_before_length,
       '[2]'::embedding > '[1,9,9]' AS first_component_decides,
       '[1,2]'::embedding <= '[1,2]' AS le, '[1,2]'::embedding >= '[1,2]' AS ge;
-- −0 equals +0, and they hash alike (so hash joins and GROUP BY agree with =)
SELECT '[-0,1]'::embedding = '[0,1]' AS zero_eq,
       embedding_hash('[-0,1]') = embedding_hash('[0,1]') AS zero_hash,
       embedding_hash_extended('[-0,1]', 7) = embedding_hash_extended('[0,1]', 7) AS zero_hash_seeded,
       embedding_hash('[1,2]') <> embedding_hash('[2,1]') AS order_matters,
       embedding_hash('[1,2]')::bigint & 4294967295 = embedding_hash_extended('[1,2]', 0) & 4294967295 AS low_bits_agree;
SELECT count(DISTINCT e) AS distinct_values, count(*) AS values
  FROM (VALUES ('[-0,5]'::embedding), ('[0,5]'), ('[0,-0]'), ('[-0,0]'), ('[0,0,0]')) v(e);
SET enable_sort = off;
SELECT count(*) AS hashed_groups FROM (SELECT e FROM (VALUES ('[-0,5]'::embedding), ('[0,5]'), ('[0,-0]'), ('[-0,0]')) v(e) GROUP BY e) g;
RESET enable_sort;
SELECT embedding_cmp('[1,2,3]', '[1,2,3]'), embedding_cmp('[1,2,3]', '[0,0,0]'),
       embedding_cmp('[0,0,0]', '[1,2,3]'), embedding_cmp('[1,2]', '[1,2,3]'),
       embedding_cmp('[1,2,3]', '[1,2]'), embedding_cmp('[1,2]', '[2,3,4]'),
       embedding_cmp('[2,3]', '[1,2,3]');
-- extremes compare by value
SELECT '[1e-45]'::embedding > '[0]', '[-3e38]'::embedding < '[-1e38]', '[3.4e38]'::embedding > '[3.3e38]';
-- NULL compares to NULL, as for every type
SELECT NULL::embedding = '[1]', '[1]'::embedding < NULL;

CREATE TABLE cmp_t (id int, e embedding);
INSERT INTO cmp_t VALUES (1, '[1,2,3]'), (2, '[1,2]'), (3, '[0,5]'), (4, '[1,2,3]'), (5, NULL),
	(6, '[0,5]'), (7, '[1,2,2.5]'), (8, '[1,2]'), (9, NULL), (10, '[3]');
-- hand-sorted: [0,5] (ids 3 and 6), [1,2] (2, 8), [1,2,2.5] (7),
-- [1,2,3] (1, 4), [3] (10), then NULLs (5, 9)
SELECT id, e FROM cmp_t ORDER BY e, id;
SELECT id FROM cmp_t ORDER BY e DESC NULLS LAST, id;
SELECT DISTINCT e FROM cmp_t ORDER BY e;
SELECT count(DISTINCT e) AS distinct_values, count(e) AS values FROM cmp_t;
SELECT e, count(*), array_agg(id ORDER BY id) FROM cmp_t GROUP BY e ORDER BY e;
SELECT array_agg(id ORDER BY id) FROM cmp_t GROUP BY e ORDER BY e DESC;
SELECT min(id) FROM cmp_t WHERE e = '[1,2]';
SELECT array_agg(id ORDER BY id) FROM cmp_t WHERE e > '[1,2]' AND e <= '[1,2,3]';
SELECT e FROM cmp_t WHERE id < 4 UNION SELECT e FROM cmp_t WHERE id >= 4 ORDER BY 1;
SELECT e FROM cmp_t WHERE id < 5 INTERSECT SELECT e FROM cmp_t WHERE id > 5 ORDER BY 1;
SELECT e FROM cmp_t EXCEPT SELECT e FROM cmp_t WHERE id > 4 ORDER BY 1;
SELECT e FROM cmp_t WHERE e IN ('[3]', '[0,5]') ORDER BY id;

-- joins by each strategy the planner has: hash, merge, nested loop
CREATE TABLE cmp_names (e embedding, name text);
INSERT INTO cmp_names VALUES ('[1,2]', 'short'), ('[0,5]', 'five'), ('[1,2,3]', 'three'), ('[9]', 'none');
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT id, name FROM cmp_t JOIN cmp_names USING (e);
SELECT id, name FROM cmp_t JOIN cmp_names USING (e) ORDER BY id;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT id, name FROM cmp_t JOIN cmp_names USING (e);
SELECT id, name FROM cmp_t JOIN cmp_names USING (e) ORDER BY id;
RESET enable_nestloop; SET enable_mergejoin = off;
SELECT id, name FROM cmp_t JOIN cmp_names USING (e) ORDER BY id;
RESET enable_hashjoin; RESET enable_mergejoin;
-- hashed aggregation and hashed DISTINCT give the same groups as sorting
SET enable_sort = off;
SELECT count(*) FROM (SELECT e FROM cmp_t GROUP BY e) g;
SELECT count(*) FROM (SELECT DISTINCT e FROM cmp_t) d;
RESET enable_sort;

-- UNIQUE and PRIMARY KEY on an embedding column
CREATE TABLE cmp_unique (e embedding(2) PRIMARY KEY, label text UNIQUE);
INSERT INTO cmp_unique VALUES ('[1,2]', 'a'), ('[2,1]', 'b');
INSERT INTO cmp_unique VALUES ('[1,2]', 'c');
INSERT INTO cmp_unique VALUES ('[-0,0]', 'z');
INSERT INTO cmp_unique VALUES ('[0,-0]', 'y');
INSERT INTO cmp_unique VALUES ('[1,2]', 'a') ON CONFLICT (e) DO UPDATE SET label = 'updated';
SELECT * FROM cmp_unique ORDER BY e;

-- btree and hash indexes answer as scans do
CREATE TABLE cmp_big (id int, e embedding(2));
INSERT INTO cmp_big SELECT i, ARRAY[i % 37, i % 11]::real[]::embedding FROM generate_series(1, 2000) i;
INSERT INTO cmp_big VALUES (3000, NULL), (3001, '[-0,0]');
CREATE INDEX cmp_big_btree ON cmp_big (e);
CREATE INDEX cmp_big_hash ON cmp_big USING hash (e);
SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM cmp_big ORDER BY e LIMIT 3;
SELECT id, e FROM cmp_big ORDER BY e, id LIMIT 4;
SELECT id, e FROM cmp_big ORDER BY e DESC, id LIMIT 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM cmp_big WHERE e = '[3,3]';
-- i ≡ 3 (mod 37) and i ≡ 3 (mod 11): i ≡ 3 (mod 407), 5 rows up to 2000
SELECT count(*), min(id), max(id) FROM cmp_big WHERE e = '[3,3]';
SELECT count(*) FROM cmp_big WHERE e BETWEEN '[36]' AND '[36,5]';
DROP INDEX cmp_big_btree;
EXPLAIN (COSTS OFF) SELECT count(*) FROM cmp_big WHERE e = '[3,3]';
SELECT count(*), min(id), max(id) FROM cmp_big WHERE e = '[3,3]';
SELECT array_agg(id ORDER BY id) FROM cmp_big WHERE e = '[0,0]' AND id > 1900;
RESET enable_seqscan; RESET enable_bitmapscan;
SELECT count(*) FROM cmp_big WHERE e = '[0,0]';

-- the catalog: btree and hash classes are the defaults
SELECT a.amname, c.opcname, c.opcdefault FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
 WHERE c.opcintype = 'embedding'::regtype AND a.amname IN ('btree', 'hash') ORDER BY 1;
SELECT amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
 WHERE c.opcintype = 'embedding'::regtype AND a.amname IN ('btree', 'hash');

DROP TABLE cmp_t, cmp_names, cmp_unique, cmp_big;
