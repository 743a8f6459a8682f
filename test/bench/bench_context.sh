#!/usr/bin/env bash
# Context models on ml-latest-small (../shared/data): every rating is an
# interaction; each user's last rating by time is held out (and, in a second
# table, the last five).  User-only iALS against iALS over the contexts
# user + previous movie (irec_add_previous_item) and user + weekday of the
# rating, each as a sum and as a product model; all with their defaults
# (dims 64, 16 epochs).  Each held-out rating is ranked on its own, in its
# context (its previous movie is the one before it, held out or not), with
# the user's training movies excluded: Recall@20 / NDCG@20 over the held-out
# ratings, and seconds per epoch.  About a minute on 2 cores.
#   bash test/bench/bench_context.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
bench_start
load_shared_sets
if [ "$(psql -At -c 'SELECT count(*) FROM ml_raw')" = 0 ]; then
	echo "ml-latest-small is not in ../shared/data: nothing to measure"
	exit 0
fi
psql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE ml AS SELECT user_id, item_id, ts, extract(dow FROM to_timestamp(ts))::int AS weekday FROM ml_raw;
SELECT irec_add_previous_item('ml', 'ts', target => 'ml_seq');
CREATE TABLE results (split text, model text, recall float8, ndcg float8, s_per_epoch float8, contexts bigint);
-- each held-out rating ranked on its own (its user's training movies
-- excluded): Recall@20 = the share of held-out ratings in the top 20,
-- NDCG@20 = the mean of 1/log2(1 + rank) over them (one relevant item)
CREATE FUNCTION run(split text, model text, columns text[], kind text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE m record; hits record;
BEGIN
  IF columns IS NULL THEN
    PERFORM irec_train('seq_train', model => 'b', quiet => true);
    SELECT avg((r.rank IS NOT NULL)::int) AS recall, avg(coalesce(1 / log(2, r.rank + 1), 0)) AS ndcg INTO hits
      FROM seq_test t LEFT JOIN LATERAL (SELECT x.rank FROM irec_recommend('b', t.user_id, 20) WITH ORDINALITY
                                          AS x(item_id, score, rank) WHERE x.item_id = t.item_id) r ON true;
  ELSE
    PERFORM irec_train('seq_train', model => 'b', context_columns => columns, context_model => kind, quiet => true);
    SELECT avg((r.rank IS NOT NULL)::int) AS recall, avg(coalesce(1 / log(2, r.rank + 1), 0)) AS ndcg INTO hits
      FROM seq_test t LEFT JOIN LATERAL (
        SELECT x.rank FROM irec_recommend_context('b', (SELECT jsonb_object_agg(c, to_jsonb(t) -> c) FROM unnest(columns) c), 20)
               WITH ORDINALITY AS x(item_id, score, rank) WHERE x.item_id = t.item_id::text) r ON true;
  END IF;
  SELECT * INTO m FROM irec_models WHERE name = 'b';
  INSERT INTO results VALUES (split, model, hits.recall, hits.ndcg, m.train_seconds / m.epochs, m.n_users);
END $$;
CREATE FUNCTION run_split(split text, test_count int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE IF EXISTS seq_train, seq_test;
  PERFORM irec_split('ml_seq', method => 'last', time_column => 'ts', test_count => test_count, name => 'seq');
  PERFORM run(split, 'user only (iALS)', NULL, 'sum');
  PERFORM run(split, 'user + previous movie, sum', ARRAY['user_id', 'previous_item'], 'sum');
  PERFORM run(split, 'user + previous movie, product', ARRAY['user_id', 'previous_item'], 'product');
  PERFORM run(split, 'user + weekday, sum', ARRAY['user_id', 'weekday'], 'sum');
  PERFORM run(split, 'user + weekday, product', ARRAY['user_id', 'weekday'], 'product');
  PERFORM run(split, 'user + previous movie + weekday, sum', ARRAY['user_id', 'previous_item', 'weekday'], 'sum');
END $$;
SELECT run_split('last 1 per user', 1);
SELECT run_split('last 5 per user', 5);
\echo == ml-latest-small, held-out last ratings by time; Recall@20 / NDCG@20, ratio to user-only iALS, seconds per epoch
SELECT r.split, r.model, r.contexts, round(r.recall::numeric, 4) AS "Recall@20", round(r.ndcg::numeric, 4) AS "NDCG@20",
       round((r.recall / u.recall)::numeric, 3) || ' / ' || round((r.ndcg / u.ndcg)::numeric, 3) AS "vs user only",
       round(r.s_per_epoch::numeric, 3) AS "s/epoch"
  FROM results r JOIN results u ON u.split = r.split AND u.model = 'user only (iALS)'
 ORDER BY r.split, r.model <> 'user only (iALS)', r.model;
SQL
