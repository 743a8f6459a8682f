-- ipivf's reloptions (lists, probes) are parsed by PostgreSQL's
-- build_reloptions from the ranges irec registers; drive them with random
-- and hostile values through CREATE INDEX and ALTER INDEX ... SET + REINDEX.
-- Every attempt either fails with an invalid-parameter error or yields an
-- index that passes irec_index_check and answers exact queries like a
-- sequential scan.
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.7);
CREATE TABLE opt_items (id int PRIMARY KEY, e embedding(8));
INSERT INTO opt_items
  SELECT i, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)
    FROM generate_series(1, 300) i;
CREATE TABLE opt_outcomes (options text, sqlstate text, check_ok bool, exact_ok bool);

CREATE FUNCTION opt_value() RETURNS text LANGUAGE sql AS $$
  SELECT (ARRAY['0', '1', '2', '17', '299', '300', '301', '100000', '100001', '-1', '-0', '+5',
                '1.5', '1e3', '', ' 3', 'abc', '2147483648', '99999999999999999999', 'NaN',
                'true', '''4''', (floor(random() * 1000))::text])[1 + floor(random() * 23)::int] $$;

-- the index's exact answer for 5 queries equals a sequential scan's
CREATE FUNCTION opt_exact() RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a float8[]; b float8[]; ok bool := true;
BEGIN
  FOR q IN 1..5 LOOP
    SET LOCAL irec.probes = 0; SET LOCAL enable_seqscan = off;
    SELECT array_agg(s) INTO a FROM (SELECT e <#> (SELECT e FROM opt_items WHERE id = q) s
                                       FROM opt_items ORDER BY e <#> (SELECT e FROM opt_items WHERE id = q) LIMIT 10) t;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    SELECT array_agg(s) INTO b FROM (SELECT e <#> (SELECT e FROM opt_items WHERE id = q) s
                                       FROM opt_items ORDER BY e <#> (SELECT e FROM opt_items WHERE id = q) LIMIT 10) t;
    SET LOCAL enable_indexscan = on;
    ok := ok AND a IS NOT DISTINCT FROM b;
  END LOOP;
  RETURN ok;
END $$;

CREATE FUNCTION opt_fuzz(attempts int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  options text;
  code text;
  check_ok bool;
  exact_ok bool;
BEGIN
  FOR i IN 1..attempts LOOP
    options := CASE floor(random() * 4)::int
      WHEN 0 THEN format('lists = %s', quote_literal(opt_value()))
      WHEN 1 THEN format('probes = %s', quote_literal(opt_value()))
      WHEN 2 THEN format('lists = %s, probes = %s', quote_literal(opt_value()), quote_literal(opt_value()))
      ELSE format('%s = 1', (ARRAY['list', 'Lists', 'fillfactor', 'probes.x', '"lists"'])[1 + floor(random() * 5)::int]) END;
    check_ok := NULL; exact_ok := NULL;
    BEGIN
      IF i % 2 = 0 THEN
        EXECUTE format('CREATE INDEX opt_ix ON opt_items USING ipivf (e) WITH (%s)', options);
      ELSE
        CREATE INDEX opt_ix ON opt_items USING ipivf (e) WITH (lists = 10);
        EXECUTE format('ALTER INDEX opt_ix SET (%s)', options);
        REINDEX INDEX opt_ix;
      END IF;
      SELECT missing = 0 AND duplicated = 0 AND entries_not_visible = 0 AND index_entries = 300
        INTO check_ok FROM irec_index_check('opt_ix');
      exact_ok := opt_exact();
      code := '00000';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
    END;
    INSERT INTO opt_outcomes VALUES (options, code, check_ok, exact_ok);
    DROP INDEX IF EXISTS opt_ix;
  END LOOP;
END $$;

SELECT opt_fuzz(150);
-- both outcomes happen, refusals are invalid parameter values (22023) only,
-- and every accepted setting gives a sound, exact index
SELECT count(*) AS attempts, count(*) FILTER (WHERE sqlstate = '00000') > 0 AS some_accepted,
       count(*) FILTER (WHERE sqlstate <> '00000') > 0 AS some_refused FROM opt_outcomes;
SELECT options, sqlstate FROM opt_outcomes WHERE sqlstate NOT IN ('00000', '22023') ORDER BY 1;
SELECT options FROM opt_outcomes WHERE sqlstate = '00000' AND NOT (check_ok AND exact_ok) ORDER BY 1;
-- lists beyond the number of rows is accepted and still exact
CREATE INDEX opt_ix ON opt_items USING ipivf (e) WITH (lists = 100000);
SELECT index_entries, missing, duplicated FROM irec_index_check('opt_ix');
SELECT opt_exact();
-- (the exact check's first query does go through the index)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM opt_items ORDER BY e <#> (SELECT e FROM opt_items WHERE id = 1) LIMIT 10;
RESET enable_seqscan;
DROP TABLE opt_items, opt_outcomes;
DROP FUNCTION opt_value(), opt_exact(), opt_fuzz(int);
