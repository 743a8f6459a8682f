#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md: builds, starts a throwaway cluster, and
# measures on lastfm-2k (../shared/data, when present) and on generated data
# of the Gowalla benchmark's shape (29,858 users x 40,981 items, 1,027,370
# interactions).  Every figure is paired with a baseline run in the same
# process: the machine's sgemm peak, the Cholesky solver, or exact search in
# plain SQL.  About a minute on 2 cores.  --large adds the core iALS epoch
# on generated data of 1M users x 200k items x 50M interactions (several
# minutes, mostly generating the data).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh

echo "== core (no server)"
bash test/bench/run_core.sh "$@"

bench_start
if load_lastfm; then
	echo "== lastfm-2k, seeded 80/20 per-user split, d = 64"
	psql <<'SQL'
SET client_min_messages = warning;
SELECT test_users FROM irec_split('lastfm', seed => 1) \gset
SELECT irec_train('lastfm_train', weight_column => 'weight', confidence => 'log', quiet => true) \gset
SELECT 'iALS (log confidence)' AS model, round((seconds / epochs)::numeric, 3) AS s_per_epoch,
       round(e.recall::numeric, 4) AS "recall@20", round(e.ndcg::numeric, 4) AS "ndcg@20"
  FROM irec_models, irec_evaluate('lastfm_train', 'lastfm_test') e WHERE name = 'lastfm_train'
UNION ALL
SELECT 'popularity', NULL, round(recall::numeric, 4), round(ndcg::numeric, 4)
  FROM irec_evaluate_popularity('lastfm_train', 'lastfm_test');
SQL
fi

echo "== Gowalla-shaped generated data, seeded 80/20 per-user split, d = 64"
psql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE gowalla AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
SELECT train_rows, test_rows, test_users FROM irec_split('gowalla', seed => 1);
CREATE FUNCTION seconds(sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN EXECUTE sql; RETURN extract(epoch FROM clock_timestamp() - t); END $$;
-- the backend's peak resident memory so far (VmHWM), in MB
CREATE FUNCTION peak_mb() RETURNS int LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]::int / 1024 $$;
-- training at d = 64 and 128 with both solvers; per-epoch time excludes
-- loading and writing, which are reported apart
CREATE TABLE runs (dims int, solver text, s_per_epoch numeric, load_s numeric, write_s numeric,
                   "ndcg@20" numeric, "recall@20" numeric, backend_peak_mb int);
DO $$
DECLARE d int; s text; m record; e record;
BEGIN
  FOREACH d IN ARRAY ARRAY[64, 128] LOOP
    FOREACH s IN ARRAY ARRAY['cg', 'cholesky'] LOOP
      PERFORM irec_train('gowalla_train', dims => d, solver => s, epochs => 8, quiet => true, model => 'g');
      SELECT * INTO m FROM irec_models WHERE name = 'g';
      SELECT * INTO e FROM irec_evaluate('g', 'gowalla_test');
      INSERT INTO runs VALUES (d, s, round((m.train_seconds / m.epochs)::numeric, 3),
                               round(m.load_seconds::numeric, 2), round(m.write_seconds::numeric, 2),
                               round(e.ndcg::numeric, 4), round(e.recall::numeric, 4), peak_mb());
    END LOOP;
  END LOOP;
END $$;
SELECT * FROM runs ORDER BY dims, solver;
SELECT 'popularity' AS model, round(ndcg::numeric, 4) AS "ndcg@20", round(recall::numeric, 4) AS "recall@20"
  FROM irec_evaluate_popularity('gowalla_train', 'gowalla_test');
SELECT irec_train('gowalla_train', epochs => 8, quiet => true) IS NOT NULL AS trained;
-- evaluation: full ranking of every test user
SELECT 'irec_evaluate (29,858 users x 40,903 items)' AS step,
       round(seconds('SELECT * FROM irec_evaluate(''gowalla_train'', ''gowalla_test'')')::numeric, 2) AS seconds;
-- serving: 200 users, irec_recommend against exact search written in SQL
CREATE TABLE bench_users AS SELECT user_id FROM gowalla_train_users ORDER BY user_id LIMIT 200;
SELECT 'irec_recommend, n = 20' AS call,
       round((1000 * seconds('SELECT (SELECT count(*) FROM irec_recommend(''gowalla_train'', user_id, 20)) FROM bench_users') / 200)::numeric, 2) AS ms_per_call
UNION ALL
SELECT 'SQL: ORDER BY embedding <#> u LIMIT 20, seen excluded',
       round((1000 * seconds('SELECT (SELECT count(*) FROM (SELECT i.item_id FROM gowalla_train_items i, gowalla_train_users u
          WHERE u.user_id = b.user_id AND NOT EXISTS (SELECT 1 FROM gowalla_train t WHERE t.user_id = b.user_id AND t.item_id = i.item_id)
          ORDER BY i.embedding <#> u.embedding LIMIT 20) x) FROM bench_users b') / 200)::numeric, 2)
UNION ALL
SELECT 'irec_fold_in, 50 items',
       round((1000 * seconds('SELECT irec_fold_in(''gowalla_train'', (SELECT array_agg(item_id) FROM (SELECT item_id FROM gowalla_train_items ORDER BY item_id OFFSET (b.user_id % 100) * 50 LIMIT 50) s)) FROM bench_users b') / 200)::numeric, 3);
SQL
