#!/usr/bin/env bash
# Sampled softmax (d = 64, its default 60 epochs, 1,024 uniform negatives):
# the data-derived λ against a grid over learning rate × λ, scored by
# Recall@20 / NDCG@20 on a seeded 80/20 per-user split.  Data: lastfm-2k
# and ml-latest-small (ratings >= 4; all ratings, binary) from ../shared/data
# when present, and a small dense generated set; with --large also the
# Gowalla-shaped generated set and the sparse long-tailed one (120,000
# users, about 58,000 items, 1.6M training pairs), λ grid at the default
# learning rate only: a run there takes minutes.  Prints one table; about
# 20 minutes on 2 cores without --large, 90 more with it.
#   bash test/bench/bench_softmax_defaults.sh [--large | set ...]
#   (sets: lastfm_b ml4 mlb dense gowalla sparse)
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
	--large) sets="lastfm_b ml4 mlb dense gowalla sparse" ;;
	"") sets="lastfm_b ml4 mlb dense" ;;
	*) sets="$*" ;;
esac
. test/bench/common.sh
bench_start
load_shared_sets
psql <<SQL
SET client_min_messages = warning;
CREATE TABLE lastfm_b AS SELECT user_id, item_id FROM lastfm;
CREATE TABLE ml4 AS SELECT user_id, item_id FROM ml_raw WHERE rating >= 4;
CREATE TABLE mlb AS SELECT user_id, item_id FROM ml_raw;
CREATE TABLE dense AS SELECT user_id, item_id FROM irec_synthetic(600, 400, 60000, seed => 3);
CREATE TABLE gowalla AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
CREATE TABLE sparse AS SELECT user_id, item_id FROM irec_synthetic(120000, 60000, 2000000,
    item_popularity_exponent => 1.0, seed => 5);
CREATE TABLE wanted (data text);
INSERT INTO wanted SELECT unnest(string_to_array('$sets', ' '));
CREATE TABLE results (data text, kind text, lr float8, lambda float8, recall float8, ndcg float8);
CREATE FUNCTION run(data text, lrs float8[], lambdas float8[]) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE r float8; l float8; e record;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I', data) INTO r;
  IF r = 0 OR NOT EXISTS (SELECT 1 FROM wanted w WHERE w.data = run.data) THEN RETURN; END IF;
  PERFORM irec_split(data, seed => 1);
  PERFORM irec_train(data || '_train', algorithm => 'softmax', quiet => true, model => 'b');
  SELECT * INTO e FROM irec_evaluate('b', data || '_test');
  SELECT (params->>'regularization')::float8 INTO l FROM irec_models WHERE name = 'b';
  INSERT INTO results VALUES (data, 'defaults', 0.1, l, e.recall, e.ndcg);
  FOREACH r IN ARRAY lrs LOOP
    FOREACH l IN ARRAY lambdas LOOP
      PERFORM irec_train(data || '_train', algorithm => 'softmax', learning_rate => r, regularization => l,
                         quiet => true, model => 'b');
      SELECT * INTO e FROM irec_evaluate('b', data || '_test');
      INSERT INTO results VALUES (data, 'grid', r, l, e.recall, e.ndcg);
    END LOOP;
  END LOOP;
  EXECUTE format('DROP TABLE %I, %I', data || '_train', data || '_test');
END \$\$;
SELECT run(d, ARRAY[0.03, 0.1, 0.3], ARRAY[0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
  FROM unnest(ARRAY['lastfm_b', 'ml4', 'mlb', 'dense']) d;
SELECT run(d, ARRAY[0.1], ARRAY[0.01, 0.02, 0.05, 0.1, 0.2]) FROM unnest(ARRAY['gowalla', 'sparse']) d;
\\echo == sampled softmax: the data-derived λ against the best point of the grid (same split, same run)
SELECT d.data, round(d.lambda::numeric, 4) AS "rule λ",
       round(d.recall::numeric, 4) AS "Recall@20", round((d.recall / max(g.recall))::numeric, 3) AS "vs best",
       round(d.ndcg::numeric, 4) AS "NDCG@20", round((d.ndcg / max(g.ndcg))::numeric, 3) AS "vs best ",
       (array_agg(g.lr || ', ' || g.lambda ORDER BY g.ndcg DESC))[1] AS "grid best (lr, λ) by NDCG",
       count(g.*) AS points
  FROM results d JOIN results g ON g.data = d.data AND g.kind = 'grid'
 WHERE d.kind = 'defaults'
 GROUP BY d.data, d.lambda, d.recall, d.ndcg ORDER BY d.data;
SQL
