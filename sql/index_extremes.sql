-- ipivf answers equal sequential-scan answers at the extremes of float:
-- norms from denormal to 1e38, zero vectors (NaN cosine) and NULLs, for
-- all four operator classes, after the build and after inserts.  Answers
-- are compared as the sequence of distances in returned order, which
-- checks order and completeness and lets equal distances tie either way.
SET extra_float_digits = 1;

-- distances of ORDER BY e <op> q LIMIT n in returned order, through the
-- index or through a sort
CREATE FUNCTION pg_temp.answer(tab text, op text, q embedding, n int, indexed boolean)
RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	result float8[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN indexed THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN indexed THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	EXECUTE format('SELECT array_agg(d ORDER BY ord) FROM
	                  (SELECT e %s $1 AS d, row_number() OVER () AS ord
	                     FROM (SELECT e FROM %I ORDER BY e %s $1 LIMIT $2) l) s', op, tab, op)
	   INTO result USING q, n;
	RETURN result;
END $$;
CREATE FUNCTION pg_temp.agrees(tab text, op text, q embedding, n int) RETURNS boolean
LANGUAGE sql AS $$
	SELECT pg_temp.answer(tab, op, q, n, true)::text = pg_temp.answer(tab, op, q, n, false)::text
$$;
-- and that the indexed side really goes through the index
CREATE FUNCTION pg_temp.uses_index(tab text, op text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	line text;
	found boolean := false;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT e FROM %I ORDER BY e %s $1 LIMIT 10', tab, op)
	  USING (SELECT e FROM (SELECT e FROM wide LIMIT 1) w) LOOP
		found := found OR line LIKE '%Index Scan using%';
	END LOOP;
	RETURN found;
END $$;
SET irec.probes = 0;

-- the reported case: a vector of norm 2.8e19 among small ones
CREATE TABLE small (id int, e embedding(2));
INSERT INTO small VALUES (1, '[1,1]'), (2, '[1,0]'), (3, '[2e19,2e19]'), (4, '[-1,2]'),
	(5, '[-1,-1]'), (6, '[0,0]'), (7, NULL), (8, '[1e-30,1e-30]'), (9, '[1e-40,2e-40]');
CREATE INDEX small_cos ON small USING ipivf (e embedding_cosine_ops) WITH (lists = 2);
CREATE INDEX small_ip ON small USING ipivf (e embedding_ip_ops) WITH (lists = 2);
CREATE INDEX small_l2 ON small USING ipivf (e embedding_l2_ops) WITH (lists = 2);
CREATE INDEX small_l1 ON small USING ipivf (e embedding_l1_ops) WITH (lists = 2);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM small ORDER BY e <=> '[1,1]' LIMIT 2;
-- ids 1, 3 and 8 tie at distance 0; then the rest, the zero vector (NaN) and NULL last
SELECT id, e <=> '[1,1]' AS distance FROM small ORDER BY e <=> '[1,1]', id;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM small ORDER BY e <=> '[1,1]' LIMIT 3) s;
SELECT id FROM small ORDER BY e <=> '[1,1]' OFFSET 7;
-- (ids 2 and 4 tie at -1: the outer sort names them in one order)
SELECT id, distance FROM (SELECT id, e <#> '[1,1]' AS distance FROM small ORDER BY e <#> '[1,1]' LIMIT 4) s
 ORDER BY distance, id;
SELECT id, e <-> '[1,1]' AS distance FROM small ORDER BY e <-> '[1,1]' LIMIT 2;
SELECT id, e <+> '[1,1]' AS distance FROM small ORDER BY e <+> '[1,1]' LIMIT 2;
-- a zero query: every cosine is NaN, every row comes back, NULL last
SELECT count(*), count(e) FROM (SELECT e FROM small ORDER BY e <=> '[0,0]' LIMIT 8) s;
SELECT id FROM small ORDER BY e <=> '[0,0]' OFFSET 8;
RESET enable_seqscan;
SELECT op, pg_temp.agrees('small', op, q, n)
  FROM unnest(ARRAY['<=>', '<#>', '<->', '<+>']) op,
       unnest(ARRAY['[1,1]', '[0,0]', '[-3e38,3e38]', '[1e-45,0]', '[1e-20,-1e-20]']::embedding[]) q,
       unnest(ARRAY[1, 2, 5, 100]) n
 GROUP BY op, pg_temp.agrees('small', op, q, n) ORDER BY 1, 2;

-- 50 rows of norm 1e20 among 50 of norm 1: the cosine top 8 is all large ones
CREATE TABLE mixed (id int, e embedding(3));
INSERT INTO mixed SELECT i, ARRAY[1e20 * (1 + i / 1000.0), 1e20 * (i % 7), 1e20]::real[]::embedding
  FROM generate_series(1, 50) i;
INSERT INTO mixed SELECT 50 + i, ARRAY[cos(i), sin(i), -1]::real[]::embedding FROM generate_series(1, 50) i;
CREATE INDEX ON mixed USING ipivf (e embedding_cosine_ops) WITH (lists = 5);
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE id <= 50) AS large FROM (SELECT id FROM mixed ORDER BY e <=> '[1,0,1]' LIMIT 8) s;
RESET enable_seqscan;
SELECT pg_temp.agrees('mixed', '<=>', '[1,0,1]', 8), pg_temp.agrees('mixed', '<=>', '[1,0,1]', 100);

-- random vectors of every magnitude, 1e-45 (denormal) .. 1e38, some zero, some NULL
SELECT setseed(0.19);
CREATE TABLE wide (id int, e embedding(4));
-- each component of its own magnitude
INSERT INTO wide
SELECT i, CASE WHEN i % 41 = 0 THEN NULL
               WHEN i % 37 = 0 THEN '[0,0,0,0]'::embedding
               ELSE array_agg((random() + 0.1) * sign(random() - 0.5) * 10 ^ floor(random() * 83 - 44) ORDER BY k)::real[]::embedding END
  FROM generate_series(1, 600) i, generate_series(1, 4) k GROUP BY i;
-- a whole vector of one magnitude, near overflow or underflow too
INSERT INTO wide
SELECT 600 + i, array_agg((random() + 0.1) * sign(random() - 0.5) * 10 ^ (i % 83 - 44) ORDER BY k)::real[]::embedding
  FROM generate_series(1, 400) i, generate_series(1, 4) k GROUP BY i;
CREATE INDEX wide_cos ON wide USING ipivf (e embedding_cosine_ops) WITH (lists = 12);
CREATE INDEX wide_ip ON wide USING ipivf (e embedding_ip_ops) WITH (lists = 12);
CREATE INDEX wide_l2 ON wide USING ipivf (e embedding_l2_ops) WITH (lists = 12);
CREATE INDEX wide_l1 ON wide USING ipivf (e embedding_l1_ops) WITH (lists = 12);
CREATE TABLE queries AS
SELECT q, array_agg((random() + 0.1) * sign(random() - 0.5) * 10 ^ floor(random() * 83 - 44) ORDER BY k)::real[]::embedding AS e
  FROM generate_series(1, 20) q, generate_series(1, 4) k GROUP BY q;
INSERT INTO queries
SELECT 20 + q, array_agg((random() + 0.1) * sign(random() - 0.5) * 10 ^ (q * 4 - 44) ORDER BY k)::real[]::embedding
  FROM generate_series(1, 20) q, generate_series(1, 4) k GROUP BY q;
INSERT INTO queries SELECT 40 + id, e FROM wide WHERE id % 50 = 1 AND e IS NOT NULL;
INSERT INTO queries VALUES (100, '[0,0,0,0]');
SELECT op, pg_temp.uses_index('wide', op) FROM unnest(ARRAY['<=>', '<#>', '<->', '<+>']) op;
-- every query, every operator, several LIMITs: how many answers differ
SELECT op, count(*) AS compared, count(*) FILTER (WHERE NOT pg_temp.agrees('wide', op, e, n)) AS differ
  FROM queries, unnest(ARRAY['<=>', '<#>', '<->', '<+>']) op, unnest(ARRAY[1, 10, 1000, 2000]) n
 GROUP BY op ORDER BY op;

-- inserts after the build, extreme ones included, keep the answers exact
INSERT INTO wide
SELECT 1000 + i, array_agg((random() + 0.1) * sign(random() - 0.5) * 10 ^ floor(random() * 83 - 44) ORDER BY k)::real[]::embedding
  FROM generate_series(1, 300) i, generate_series(1, 4) k GROUP BY i;
INSERT INTO wide VALUES (2000, '[3e38,3e38,3e38,3e38]'), (2001, '[-3e38,3e38,-3e38,3e38]'),
	(2002, '[1e-45,0,0,0]'), (2003, '[0,0,0,0]'), (2004, NULL);
SELECT op, count(*) AS compared, count(*) FILTER (WHERE NOT pg_temp.agrees('wide', op, e, n)) AS differ
  FROM queries, unnest(ARRAY['<=>', '<#>', '<->', '<+>']) op, unnest(ARRAY[1, 10, 2000]) n
 GROUP BY op ORDER BY op;
SELECT missing, duplicated, heap_rows = index_entries AS complete FROM irec_index_check('wide_cos');
SELECT missing, duplicated, heap_rows = index_entries AS complete FROM irec_index_check('wide_ip');
SELECT missing, duplicated, heap_rows = index_entries AS complete FROM irec_index_check('wide_l2');
SELECT missing, duplicated, heap_rows = index_entries AS complete FROM irec_index_check('wide_l1');

-- an index built empty: its first list forms from an extreme vector
CREATE TABLE grown (id int, e embedding(2));
CREATE INDEX grown_cos ON grown USING ipivf (e embedding_cosine_ops);
CREATE INDEX grown_ip ON grown USING ipivf (e embedding_ip_ops);
CREATE INDEX grown_l1 ON grown USING ipivf (e embedding_l1_ops);
INSERT INTO grown VALUES (1, '[3e38,-3e38]'), (2, '[1e-44,1e-44]'), (3, '[0,0]'), (4, '[1,2]'), (5, '[-2e30,1]');
SELECT op, pg_temp.agrees('grown', op, q, 5)
  FROM unnest(ARRAY['<=>', '<#>', '<+>']) op, unnest(ARRAY['[1,-1]', '[1e-40,1]', '[0,0]']::embedding[]) q ORDER BY 1, 2;

-- approximate scans (probes 1) may miss rows but never misorder them
SET irec.probes = 1;
SET enable_seqscan = off;
SELECT op, count(*) AS queries,
       count(*) FILTER (WHERE a::text = (SELECT array_agg(d ORDER BY d) FROM unnest(a) d)::text) AS ordered
  FROM (SELECT op, pg_temp.answer('wide', op, e, 200, true) AS a
          FROM queries, unnest(ARRAY['<=>', '<#>', '<->', '<+>']) op) t
 GROUP BY op ORDER BY op;
