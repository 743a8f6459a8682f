-- ipivf filter columns: integer key columns after the embedding, whose
-- `=` conditions the scan applies inside the lists.
SET extra_float_digits = 0;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.5);
-- 4,000 items in 20 directions; cat 0..6 (NULL for 1 in 50), grp 0..2 as
-- bigint, tag 0..4 as smallint; 1 in 80 embeddings NULL
CREATE TABLE fx (id int PRIMARY KEY, cat int, grp bigint, tag smallint, e embedding(8));
INSERT INTO fx
  SELECT i, CASE WHEN i % 50 = 3 THEN NULL ELSE i % 7 END, i % 3, (i % 5)::smallint,
         CASE WHEN i % 80 = 11 THEN NULL ELSE
         ARRAY(SELECT (sin(i % 20 * 1.3 + j) + 0.5 * (random() - 0.5)) * (0.5 + (i % 6) / 3.0)
                 FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8) END
    FROM generate_series(1, 4000) i;
CREATE TABLE fq AS
  SELECT q, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 8) j WHERE q > 0)::real[]::embedding(8) AS e
    FROM generate_series(1, 15) q;
CREATE INDEX fx_f ON fx USING ipivf (e, cat, grp, tag) WITH (lists = 30);
-- every row once, and every entry's filter values are its row's
SELECT lists, index_entries, heap_rows, missing, duplicated, entries_not_visible FROM irec_index_check('fx_f');
-- the integer operator classes pass amvalidate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
 WHERE a.amname = 'ipivf' AND opcname LIKE 'ipivf_int%' ORDER BY opcname;
-- `=` on filter columns is an index condition, also across integer types;
-- `= ANY` stays the executor's filter (PostgreSQL 15 plans no ordered scan
-- with array keys past the first column)
EXPLAIN (COSTS OFF) SELECT id FROM fx WHERE cat = 3 ORDER BY e <#> '[1,0,0,0,0,0,0,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM fx WHERE grp = 1 AND tag = ANY ('{1,2}'::bigint[]) ORDER BY e <#> '[1,0,0,0,0,0,0,1]' LIMIT 5;

-- every filtered answer equals a sequential scan's, exact and approximate
-- (approximate: the rows returned are in exact order and pass the filter,
-- and none is missing when the scan visits every list)
CREATE FUNCTION pg_temp.agree(query text, probes int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[]; r record; ok bool := true;
BEGIN
  FOR r IN SELECT e FROM fq ORDER BY q LOOP
    EXECUTE format('SET LOCAL irec.probes = %s', probes);
    SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
    EXECUTE format('SELECT array_agg(id) FROM (%s) s', query) INTO a USING r.e;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(id) FROM (%s) s', query) INTO b USING r.e;
    ok := ok AND a IS NOT DISTINCT FROM b;
  END LOOP;
  RETURN ok;
END $$;
CREATE FUNCTION pg_temp.all_filters(probes int) RETURNS TABLE (filter text, agrees bool) LANGUAGE sql AS $$
  SELECT f, pg_temp.agree(format('SELECT id FROM fx WHERE %s ORDER BY e <#> $1 LIMIT 25', f), probes)
    FROM unnest(ARRAY['cat = 3', 'cat = 3::bigint', 'cat = ANY (''{1,5,5,6}'')', 'grp = 2', 'grp = 2::smallint',
                      'tag = 4', 'tag = ANY (''{0,3}''::int[])', 'cat = 2 AND grp = 1', 'cat = 0 AND cat = 0::bigint',
                      'cat = 1 AND tag = ANY (''{2,4}'') AND grp = ANY (''{0,1}'')', 'cat = ANY (''{6,NULL}'')',
                      'cat = 4 AND id % 2 = 0']) f
$$;
SELECT * FROM pg_temp.all_filters(0);
-- deep and offset answers, NULL embeddings last among the rows that pass
-- (in any order: the deep answer breaks their ties by id)
SELECT pg_temp.agree('SELECT id FROM fx WHERE cat = 5 ORDER BY e <#> $1, id LIMIT 1000', 0) AS all_of_cat5,
       pg_temp.agree('SELECT id FROM fx WHERE grp = 0 ORDER BY e <#> $1 OFFSET 300 LIMIT 100', 0) AS offset300;
SET enable_seqscan = off; SET irec.probes = 0;
SELECT count(*) AS rows_returned, count(*) FILTER (WHERE e IS NULL) AS nulls,
       bool_and(cat = 5) AS all_pass, min(n) FILTER (WHERE e IS NULL) > max(n) FILTER (WHERE e IS NOT NULL) AS nulls_last
  FROM (SELECT id, cat, e, row_number() OVER () AS n FROM
          (SELECT id, cat, e FROM fx WHERE cat = 5 ORDER BY e <#> (SELECT e FROM fq WHERE q = 2) LIMIT 100000) s) t;
SELECT count(*) FILTER (WHERE cat = 5) AS cat5_rows, count(*) FILTER (WHERE cat = 5 AND e IS NULL) AS cat5_nulls FROM fx;
-- approximate scans: in exact order, passing, and never short
CREATE FUNCTION pg_temp.approximate_ok(f text, probes int, tab text DEFAULT 'fx') RETURNS bool LANGUAGE plpgsql AS $$
DECLARE r record; ids int[]; exact int[]; ok bool := true;
BEGIN
  FOR r IN SELECT e FROM fq ORDER BY q LOOP
    EXECUTE format('SET LOCAL irec.probes = %s', probes);
    SET LOCAL enable_seqscan = off;
    EXECUTE format('SELECT array_agg(id ORDER BY n) FROM (SELECT id, row_number() OVER () AS n FROM '
                   '(SELECT id FROM %I WHERE %s ORDER BY e <#> $1 LIMIT 40) s) t', tab, f) INTO ids USING r.e;
    SET LOCAL irec.probes = 0;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY e <#> $1 LIMIT 1000) s', tab, f) INTO exact USING r.e;
    -- 40 rows, each passing, in the exact answer's relative order
    ok := ok AND cardinality(ids) = 40 AND ids <@ exact AND
          (SELECT bool_and(a < b) FROM (SELECT array_position(exact, x) AS a,
                  lead(array_position(exact, x)) OVER (ORDER BY o) AS b FROM unnest(ids) WITH ORDINALITY u(x, o)) p
            WHERE b IS NOT NULL);
  END LOOP;
  RETURN ok;
END $$;
SELECT pg_temp.approximate_ok('cat = 3', 1) AS probes1, pg_temp.approximate_ok('cat = 3', 3) AS probes3,
       pg_temp.approximate_ok('tag = ANY (''{1,2}'') AND grp = 2', 2) AS two_keys;
-- keys no row can pass: a NULL key; and arrays of NULLs or none (filters)
PREPARE by_cat(int) AS SELECT count(*) FROM (SELECT id FROM fx WHERE cat = $1 ORDER BY e <#> '[1,1,1,1,1,1,1,1]' LIMIT 10) s;
EXECUTE by_cat(NULL);
EXECUTE by_cat(2);
SELECT count(*) FROM (SELECT id FROM fx WHERE cat = ANY ('{NULL}'::int[]) ORDER BY e <#> '[1,1,1,1,1,1,1,1]' LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM fx WHERE cat = ANY ('{}'::int[]) ORDER BY e <#> '[1,1,1,1,1,1,1,1]' LIMIT 10) s;
RESET enable_seqscan; RESET irec.probes;

-- inserts (into lists and the NULL chain), then deletes and VACUUM, which
-- moves the filter values along with their members
INSERT INTO fx
  SELECT i, i % 7, i % 3, (i % 5)::smallint,
         CASE WHEN i % 90 = 1 THEN NULL ELSE
         ARRAY(SELECT cos(i % 13 * 0.7 + j) * (1 + (i % 4) / 2.0) FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8) END
    FROM generate_series(4001, 6000) i;
SELECT lists, index_entries, heap_rows, missing, duplicated FROM irec_index_check('fx_f');
SELECT bool_and(agrees) AS agree_after_inserts FROM pg_temp.all_filters(0);
DELETE FROM fx WHERE id % 3 = 0 OR (id BETWEEN 1000 AND 1800);
VACUUM fx;
SELECT lists, index_entries, heap_rows, missing, duplicated FROM irec_index_check('fx_f');
SELECT bool_and(agrees) AS agree_after_vacuum FROM pg_temp.all_filters(0);
-- inserts reuse the room VACUUM freed, with their own filter values
INSERT INTO fx
  SELECT i, i % 7, i % 3, (i % 5)::smallint,
         ARRAY(SELECT sin(i % 11 * 0.9 + j) FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)
    FROM generate_series(6001, 7000) i;
SELECT lists, index_entries, heap_rows, missing, duplicated FROM irec_index_check('fx_f');
SELECT bool_and(agrees) AS agree_after_reuse FROM pg_temp.all_filters(0);
-- an UPDATE of a filter column moves the row to its new value
UPDATE fx SET cat = 6 WHERE cat = 2 AND id < 3000;
SELECT bool_and(agrees) AS agree_after_update FROM pg_temp.all_filters(0);
SELECT missing, duplicated FROM irec_index_check('fx_f');

-- an expression as the filter column, as the benchmark's `id % 10 = 0`
CREATE INDEX fx_mod ON fx USING ipivf (e embedding_l2_ops, (id % 4)) WITH (lists = 20);
EXPLAIN (COSTS OFF) SELECT id FROM fx WHERE id % 4 = 1 ORDER BY e <-> '[1,0,0,0,0,0,0,1]' LIMIT 5;
SELECT pg_temp.agree('SELECT id FROM fx WHERE id % 4 = 1 ORDER BY e <-> $1 LIMIT 30', 0) AS expression_filter;
SELECT missing, duplicated FROM irec_index_check('fx_mod');
DROP INDEX fx_mod;

-- page ranges: the build sorts each list by its first filter column and
-- keeps the range of that column on each of its pages (up to twice the
-- longest chain); a scan with `cat = v` reads only the pages whose range
-- holds v.  Two lists of 6,000 rows make chains of about 40 pages.
CREATE TABLE fl (id int, cat int, grp int, e embedding(8));
INSERT INTO fl
  SELECT i, CASE WHEN i % 40 = 0 THEN NULL ELSE i % 9 END, i % 4,
         ARRAY(SELECT (sin(i % 17 * 1.1 + j) + 0.4 * (random() - 0.5)) * (0.5 + (i % 5) / 4.0)
                 FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)
    FROM generate_series(1, 12000) i;
CREATE INDEX fl_r ON fl USING ipivf (e, cat, grp) WITH (lists = 2);
SELECT lists, pages > 2 * 16 AS long_chains, index_entries, missing, duplicated FROM irec_index_check('fl_r');
CREATE FUNCTION pg_temp.fl_filters(probes int) RETURNS TABLE (filter text, agrees bool) LANGUAGE sql AS $$
  SELECT f, pg_temp.agree(format('SELECT id FROM fl WHERE %s ORDER BY e <#> $1 LIMIT 30', f), probes)
    FROM unnest(ARRAY['cat = 0', 'cat = 4', 'cat = 8', 'cat = 4 AND grp = 1', 'grp = 2', 'cat = 9',
                      'cat = -1', 'cat = 3 AND cat = 5']) f
$$;
SELECT * FROM pg_temp.fl_filters(0);
-- a filtered exact scan reads a fraction of the pages an unfiltered one does
CREATE FUNCTION pg_temp.index_buffers(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  SET LOCAL enable_seqscan = off; SET LOCAL irec.probes = 0;
  EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Shared Hit Blocks')::bigint
       + (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Shared Read Blocks')::bigint;
END $$;
SELECT pg_temp.index_buffers('SELECT id FROM fl WHERE cat = 4 ORDER BY e <#> ''[1,1,1,1,1,1,1,1]'' LIMIT 3') * 3
       < pg_temp.index_buffers('SELECT id FROM fl ORDER BY e <#> ''[1,1,1,1,1,1,1,1]'' LIMIT 3') AS reads_fewer_pages;
-- inserts land on the lists' last pages or new ones, whose ranges grow to
-- take them: rows of every value that outrank the others, and new values
INSERT INTO fl
  SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE i % 12 END, i % 4,
         ARRAY(SELECT 4 * cos(i % 7 * 0.9 + j) + random() FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)
    FROM generate_series(12001, 13500) i;
SELECT index_entries, missing, duplicated FROM irec_index_check('fl_r');
SELECT bool_and(agrees) AS agree_after_inserts FROM pg_temp.fl_filters(0);
SELECT pg_temp.agree('SELECT id FROM fl WHERE cat = 11 ORDER BY e <#> $1 LIMIT 30', 0) AS new_value;
-- deletes and VACUUM leave the ranges as they were (wider than needed)
DELETE FROM fl WHERE id % 5 = 0 OR cat = 8;
VACUUM fl;
SELECT index_entries, missing, duplicated FROM irec_index_check('fl_r');
SELECT bool_and(agrees) AS agree_after_vacuum FROM pg_temp.fl_filters(0);
SELECT pg_temp.approximate_ok('cat = 4', 1, 'fl') AS probes1, pg_temp.approximate_ok('cat = 2 AND grp = 2', 1, 'fl') AS two_keys;
-- an UPDATE to a value no page held
UPDATE fl SET cat = 100 WHERE id % 50 = 1;
SELECT pg_temp.agree('SELECT id FROM fl WHERE cat = 100 ORDER BY e <#> $1 LIMIT 30', 0) AS updated_value,
       (SELECT missing FROM irec_index_check('fl_r')) AS missing;
DROP TABLE fl;
-- an index built on rows whose embeddings are all NULL, then given rows
-- (its first list goes to the directory page the build left for it) until
-- the list's chain is longer than its 16 page ranges: the rest is walked
CREATE TABLE fn (id int, cat int, e embedding(4));
INSERT INTO fn VALUES (1, 1, NULL), (2, 2, NULL);
CREATE INDEX fn_r ON fn USING ipivf (e, cat);
INSERT INTO fn SELECT i, i % 3, ARRAY[i % 17, 1, -(i % 5), i / 100.0]::real[]::embedding(4) FROM generate_series(3, 4000) i;
SELECT lists, pages > 16 AS long_chain, index_entries, missing FROM irec_index_check('fn_r');
SET enable_seqscan = off; SET irec.probes = 0;
CREATE TEMP TABLE fn_index AS
  SELECT array_agg(id) AS ids FROM (SELECT id FROM fn WHERE cat = 1 ORDER BY e <#> '[1,0.5,-1,1]' LIMIT 20) s;
RESET enable_seqscan; RESET irec.probes; SET enable_indexscan = off;
SELECT ids = (SELECT array_agg(id) FROM (SELECT id FROM fn WHERE cat = 1 ORDER BY e <#> '[1,0.5,-1,1]' LIMIT 20) s)
       AS agrees, cardinality(ids), ids[1] > 3000 AS from_late_pages FROM fn_index;
RESET enable_indexscan;
DROP TABLE fn, fn_index;

-- columns the index cannot take
CREATE INDEX ON fx USING ipivf (cat, e);
CREATE TABLE fx2 (e embedding(8), e2 embedding(8), t text, c1 int, c2 int, c3 int, c4 int, c5 int, c6 int, c7 int, c8 int, c9 int);
CREATE INDEX ON fx2 USING ipivf (e, e2);
CREATE INDEX ON fx2 USING ipivf (e, t);
CREATE INDEX ON fx2 USING ipivf (e, c1, c2, c3, c4, c5, c6, c7, c8, c9);
-- eight filter columns are fine, on an empty table too, and take rows later
CREATE INDEX fx2_8 ON fx2 USING ipivf (e, c1, c2, c3, c4, c5, c6, c7, c8);
INSERT INTO fx2 SELECT ARRAY[i, 1, 0, 0, 0, 0, 0, 1]::real[]::embedding(8), NULL, NULL, i % 2, i % 3, i, 1, 1, 1, 1, CASE WHEN i % 4 = 0 THEN NULL ELSE 8 END, 0
  FROM generate_series(1, 300) i;
SELECT index_entries, missing FROM irec_index_check('fx2_8');
SET enable_seqscan = off; SET irec.probes = 0;
SELECT array_agg(c3) FROM (SELECT c3 FROM fx2 WHERE c1 = 1 AND c2 = 0 AND c8 = 8 ORDER BY e <#> '[1,0,0,0,0,0,0,0]' LIMIT 6) s;
RESET enable_seqscan; RESET irec.probes;
DROP TABLE fx, fq, fx2;
