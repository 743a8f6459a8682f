#!/usr/bin/env bash
# Micro-benchmark of the embedding type: exact top-20 by <#> over 1,000,000
# generated 64-dim embeddings (sequential scan), in ms per query and GB/s of
# embedding data, next to the same query over real[] with the inner product
# written in SQL, in one run.  Starts its own throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
bench_start
psql <<'SQL'
SET client_min_messages = warning;
\echo generating 1,000,000 x 64 ...
CREATE TABLE vecs AS
  SELECT i AS id, a AS arr, a::embedding(64) AS e
    FROM (SELECT i, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 64) WHERE i > 0) AS a
            FROM generate_series(1, 1000000) i) s;
VACUUM ANALYZE vecs;
CREATE TABLE queries AS
  SELECT q AS qid, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 64) WHERE q > 0) AS a
    FROM generate_series(1, 12) q;
CREATE FUNCTION run(sql text, reps int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz; best float8 := 'Infinity'; q record;
BEGIN
  FOR q IN SELECT * FROM queries ORDER BY qid LIMIT reps LOOP
    t := clock_timestamp();
    EXECUTE sql USING q.a;
    best := least(best, extract(epoch FROM clock_timestamp() - t));
  END LOOP;
  RETURN best * 1000;
END $$;
-- warm the cache, then take the best of several queries
SELECT count(*) FROM vecs;
WITH r AS (
  SELECT 'embedding, ORDER BY e <#> q LIMIT 20' AS query,
         run('SELECT id FROM vecs ORDER BY e <#> $1::embedding LIMIT 20', 10) AS ms
  UNION ALL
  SELECT 'real[], ORDER BY -(SELECT sum(x*y) FROM unnest(arr, q)) LIMIT 20',
         run('SELECT id FROM vecs ORDER BY -(SELECT sum(x * y) FROM unnest(arr, $1) AS u(x, y)) LIMIT 20', 2))
SELECT query, round(ms::numeric, 1) AS ms_per_query,
       round((1e6 * 64 * 4 / (ms / 1000) / 1e9)::numeric, 2) AS "GB/s of embeddings",
       round((max(ms) OVER () / ms)::numeric, 1) AS speedup
  FROM r;
SHOW max_parallel_workers_per_gather;
SQL
