#!/usr/bin/env bash
# Models that follow the data (irec_update, warm start), on time-ordered
# streams: each user's history in time order (ml-latest-small by its
# timestamps; lastfm-2k has none, so a seeded random order per user stands
# in), the first 80% trained on, the next 10% streamed in, the last 10%
# held out.  A model trained on the first part is kept current by
# irec_update (the users who streamed, then also the items), and compared
# with a full retraining on everything but the held-out part and with a
# 4-epoch warm-started retraining: Recall@20 / NDCG@20 (irec_evaluate, seen
# items excluded).  Then the cost of irec_update on a generated set of
# 1M interactions (Gowalla-shaped, d = 64): one user at a time (200 users,
# each after one new row; median and p95 in the server) and 10,000 users
# at once.  iALS defaults, d = 64, 16 epochs.  About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
bench_start
load_shared_sets
psql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE lastfm_t AS SELECT user_id, item_id, weight, ('x' || substr(md5(user_id || ':' || item_id), 1, 8))::bit(32)::int AS ts FROM lastfm;
CREATE TABLE ml_t AS SELECT user_id, item_id, NULL::real AS weight, ts FROM ml_raw;
CREATE TABLE results (data text, kind text, recall float8, ndcg float8, seconds float8, rows_changed bigint);
CREATE FUNCTION run(data text, weighted boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE e record; u record; started timestamptz; w text := CASE WHEN weighted THEN 'weight' END; n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I', data) INTO n;
  IF n = 0 THEN RETURN; END IF;
  EXECUTE format($f$CREATE TABLE parts AS SELECT user_id, item_id, weight,
      CASE WHEN r <= round(0.8 * c) THEN 'train' WHEN r <= round(0.9 * c) THEN 'stream' ELSE 'test' END AS part
    FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts, item_id) AS r,
                 count(*) OVER (PARTITION BY user_id) AS c FROM %I) t$f$, data);
  CREATE TABLE src AS SELECT user_id, item_id, weight FROM parts WHERE part = 'train';
  CREATE INDEX ON src (user_id); CREATE INDEX ON src (item_id);
  CREATE TABLE held AS SELECT user_id, item_id FROM parts WHERE part = 'test';
  PERFORM irec_train('src', weight_column => w, model => 'kept', quiet => true);
  INSERT INTO src SELECT user_id, item_id, weight FROM parts WHERE part = 'stream';
  ANALYZE src;
  SELECT * INTO e FROM irec_evaluate('kept', 'held');
  INSERT INTO results VALUES (data, 'trained on the first 80%, not updated', e.recall, e.ndcg, NULL, NULL);
  SELECT * INTO u FROM irec_update('kept', users => (SELECT array_agg(DISTINCT user_id) FROM parts WHERE part = 'stream'));
  SELECT * INTO e FROM irec_evaluate('kept', 'held');
  INSERT INTO results VALUES (data, 'irec_update, streamed users', e.recall, e.ndcg, u.seconds, u.users_updated + u.users_added);
  SELECT * INTO u FROM irec_update('kept', items => (SELECT array_agg(DISTINCT item_id) FROM parts WHERE part = 'stream'));
  SELECT * INTO e FROM irec_evaluate('kept', 'held');
  INSERT INTO results VALUES (data, 'irec_update, then their items', e.recall, e.ndcg, u.seconds, u.items_updated + u.items_added);
  started := clock_timestamp();
  PERFORM irec_train('src', weight_column => w, model => 'kept', epochs => 4, warm_start => true, quiet => true);
  SELECT * INTO e FROM irec_evaluate('kept', 'held');
  INSERT INTO results VALUES (data, 'warm-started retraining, 4 epochs', e.recall, e.ndcg,
                              extract(epoch FROM clock_timestamp() - started), NULL);
  started := clock_timestamp();
  PERFORM irec_train('src', weight_column => w, model => 'full', quiet => true);
  SELECT * INTO e FROM irec_evaluate('full', 'held');
  INSERT INTO results VALUES (data, 'full retraining, 16 epochs', e.recall, e.ndcg,
                              extract(epoch FROM clock_timestamp() - started), NULL);
  DROP TABLE parts, src, held CASCADE;
END $$;
SELECT run('lastfm_t', true);
SELECT run('ml_t', false);
\echo == quality of a model kept current (first 80% trained, next 10% streamed, last 10% held out)
SELECT r.data, r.kind, round(r.recall::numeric, 4) AS "Recall@20", round(r.ndcg::numeric, 4) AS "NDCG@20",
       round((r.ndcg / f.ndcg)::numeric, 3) AS "NDCG vs full", round(r.seconds::numeric, 3) AS seconds,
       r.rows_changed AS "rows re-solved"
  FROM results r JOIN results f ON f.data = r.data AND f.kind = 'full retraining, 16 epochs'
 ORDER BY r.data, r.ctid;

-- the cost of irec_update, in the server
CREATE TABLE big AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
CREATE INDEX ON big (user_id); CREATE INDEX ON big (item_id);
ANALYZE big;
SELECT irec_train('big', model => 'bigm', quiet => true) IS NOT NULL AS trained;
CREATE TABLE single (k int, seconds float8);
DO $$
DECLARE s float8;
BEGIN
  FOR k IN 1 .. 200 LOOP
    INSERT INTO big VALUES (k * 97, (k * 7919) % 40000 + 1);
    SELECT seconds INTO s FROM irec_update('bigm', users => ARRAY[k * 97]);
    INSERT INTO single VALUES (k, s);
  END LOOP;
END $$;
\echo == irec_update cost on 1M generated interactions (30k users, 41k items, d = 64)
SELECT 'one user (200 updates)' AS what,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) * 1000)::numeric, 2) AS "median ms",
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) * 1000)::numeric, 2) AS "p95 ms"
  FROM single;
SELECT '10,000 users' AS what, users_updated, round(seconds::numeric, 3) AS seconds
  FROM irec_update('bigm', users => (SELECT array_agg(u) FROM generate_series(1, 10000) u));
SELECT '10,000 users, again' AS what, users_updated, round(seconds::numeric, 3) AS seconds
  FROM irec_update('bigm', users => (SELECT array_agg(u) FROM generate_series(10001, 20000) u));
SELECT '1,000 items' AS what, items_updated, round(seconds::numeric, 3) AS seconds
  FROM irec_update('bigm', items => (SELECT array_agg(i) FROM generate_series(1, 1000) i));
SQL
