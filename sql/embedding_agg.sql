-- sum(embedding) and avg(embedding): values, NULLs, empty input, combine.
SET extra_float_digits = 0;
CREATE TABLE agg_t (g int, e embedding);
INSERT INTO agg_t VALUES (1, '[1,2]'), (1, '[3,4]'), (1, NULL), (2, '[-1,5]');
SELECT g, sum(e), avg(e) FROM agg_t GROUP BY g ORDER BY g;
SELECT sum(e), avg(e) FROM agg_t;
SELECT sum(e), avg(e) FROM agg_t WHERE false;
SELECT sum(e) FROM agg_t WHERE e IS NULL;
-- the combine function merges partial states exactly
SELECT embedding_combine(embedding_accum('{0}', '[1,2]'), embedding_accum('{0}', '[3,4]'));
SELECT embedding_combine('{0}', embedding_accum('{0}', '[3,4]'));
SELECT embedding_sum_final(embedding_combine(embedding_accum(embedding_accum('{0}', '[1,2]'), '[1,1]'),
                                             embedding_accum('{0}', '[3,4]')));
-- aggregates are parallel safe with a combine function and a non-internal state
SELECT a.aggfnoid::regprocedure, a.aggcombinefn, a.aggtranstype::regtype, p.proparallel
  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
 WHERE a.aggfnoid::regprocedure::text IN ('sum(embedding)', 'avg(embedding)') ORDER BY a.aggfnoid::regprocedure::text;
-- a parallel plan gives the same answer as a serial one
CREATE TABLE agg_big AS
  SELECT i, ARRAY[(i % 7)::real, (i % 11)::real, 1]::embedding AS e FROM generate_series(1, 100000) i;
ANALYZE agg_big;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT sum(e) FROM agg_big;
SELECT sum(e), avg(e) FROM agg_big;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT sum(e), avg(e) FROM agg_big;
RESET ALL;
DROP TABLE agg_t, agg_big;
