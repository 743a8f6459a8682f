#!/usr/bin/env bash
# iALS (d = 64, 16 epochs) on several data sets: the shipped defaults, a
# grid over α0 × λ (5 to 7 values of α0 spanning the set's good range, five
# of λ), and irec_tune with its default budget, each scored
# by Recall@20 / NDCG@20 on a seeded 80/20 per-user split (irec_tune tunes
# on a split of the training part only).  Data: lastfm-2k (binary and
# play-count weighted) and ml-latest-small (ratings >= 4; all ratings,
# weighted by stars and binary) from ../shared/data when present, and generated data of
# three shapes, and the Gowalla-shaped set again at d = 128 (irec_tune's
# 10-minute target); irec_tune runs twice, tuning NDCG@20 (its default) and
# Recall@20.  Prints one table; about an hour on 2 cores.
#   bash test/bench/bench_tune.sh [set ...]   (sets: lastfm lastfm_w ml4 mlw mlb
#                                             dense gowalla sparse gowalla128)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
bench_start
load_shared_sets
# the sets to run (all when none is named)
declare -A run_of=(
	[lastfm]="SELECT run('lastfm', false, '{0.01,0.02,0.05,0.1,0.2,0.3,0.5}');"
	[lastfm_w]="SELECT run('lastfm_w', true, '{0.01,0.02,0.05,0.1,0.2,0.3,0.5}');"
	[ml4]="SELECT run('ml4', false, '{0.02,0.05,0.1,0.2,0.3,0.5,1}');"
	[mlw]="SELECT run('mlw', true, '{0.02,0.05,0.1,0.2,0.3,0.5,1}');"
	[mlb]="SELECT run('mlb', false, '{0.02,0.05,0.1,0.2,0.3,0.5,1}');"
	[dense]="SELECT run('dense', false, '{0.1,0.2,0.3,0.5,1}');"
	[gowalla]="SELECT run('gowalla', false, '{0.003,0.006,0.01,0.02,0.03,0.05,0.1}');"
	[sparse]="SELECT run('sparse', false, '{0.003,0.006,0.01,0.02,0.03,0.05,0.1}');"
	[gowalla128]="SELECT run('gowalla', false, '{0.003,0.006,0.01,0.02,0.03,0.05,0.1}', 128);"
)
runs=""
for set in ${*:-lastfm lastfm_w ml4 mlw mlb dense gowalla sparse gowalla128}; do
	[ -n "${run_of[$set]:-}" ] || { echo "unknown set $set (sets: ${!run_of[*]})"; exit 2; }
	runs+="${run_of[$set]}"$'\n'
done
psql <<SQL
SET client_min_messages = warning;
CREATE TABLE lastfm_w AS SELECT * FROM lastfm;
CREATE TABLE ml4 AS SELECT user_id, item_id FROM ml_raw WHERE rating >= 4;
CREATE TABLE mlw AS SELECT user_id, item_id, rating AS weight FROM ml_raw;
CREATE TABLE mlb AS SELECT user_id, item_id FROM ml_raw;
CREATE TABLE dense AS SELECT user_id, item_id FROM irec_synthetic(600, 400, 60000, seed => 3);
CREATE TABLE gowalla AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
CREATE TABLE sparse AS SELECT user_id, item_id FROM irec_synthetic(120000, 60000, 2000000,
    item_popularity_exponent => 1.0, seed => 5);
CREATE TABLE results (data text, kind text, a0 float8, lambda float8, recall float8, ndcg float8, seconds float8);
CREATE FUNCTION run(data text, weighted boolean, a0s float8[], d int DEFAULT 64) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE a float8; l float8; e record; t record; started timestamptz; w text := CASE WHEN weighted THEN 'weight' END;
  label text := data || CASE WHEN d <> 64 THEN ', d = ' || d ELSE '' END;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I', data) INTO a;
  IF a = 0 THEN RETURN; END IF;
  PERFORM irec_split(data, seed => 1);
  PERFORM irec_train(data || '_train', weight_column => w, dims => d, quiet => true, model => 'b');
  SELECT * INTO e FROM irec_evaluate('b', data || '_test');
  SELECT (params->>'unobserved_weight')::float8, (params->>'regularization')::float8 INTO a, l
    FROM irec_models WHERE name = 'b';
  INSERT INTO results VALUES (label, 'defaults', a, l, e.recall, e.ndcg, NULL);
  FOREACH a IN ARRAY a0s LOOP
    FOREACH l IN ARRAY ARRAY[0.001, 0.003, 0.01, 0.03, 0.1] LOOP
      PERFORM irec_train(data || '_train', weight_column => w, unobserved_weight => a, regularization => l,
                         dims => d, quiet => true, model => 'b');
      SELECT * INTO e FROM irec_evaluate('b', data || '_test');
      INSERT INTO results VALUES (label, 'grid', a, l, e.recall, e.ndcg, NULL);
    END LOOP;
  END LOOP;
  started := clock_timestamp();
  SELECT * INTO t FROM irec_tune(data || '_train', weight_column => w, dims => d, model => 't', quiet => true);
  SELECT * INTO e FROM irec_evaluate('t', data || '_test');
  INSERT INTO results VALUES (label, 'tuned', (t.params->>'unobserved_weight')::float8,
                              (t.params->>'regularization')::float8, e.recall, e.ndcg,
                              extract(epoch FROM clock_timestamp() - started));
  -- the same search for the other metric: metric => 'recall'
  started := clock_timestamp();
  EXECUTE format('DROP TABLE IF EXISTS t_trials');
  SELECT * INTO t FROM irec_tune(data || '_train', weight_column => w, dims => d, model => 't', metric => 'recall',
                                 quiet => true);
  SELECT * INTO e FROM irec_evaluate('t', data || '_test');
  INSERT INTO results VALUES (label, 'tuned for recall', (t.params->>'unobserved_weight')::float8,
                              (t.params->>'regularization')::float8, e.recall, e.ndcg,
                              extract(epoch FROM clock_timestamp() - started));
  EXECUTE format('DROP TABLE %I, %I, t_trials', data || '_train', data || '_test');
END \$\$;
$runs
\\echo == Recall@20 / NDCG@20 on the test split: defaults, irec_tune, the grid's best (each metric's own best point); ratios to the best
SELECT r.data,
       round(d.recall::numeric, 4) || ' / ' || round(d.ndcg::numeric, 4) AS defaults,
       round((d.recall / g.recall)::numeric, 3) || ' / ' || round((d.ndcg / g.ndcg)::numeric, 3) AS "defaults/best",
       round(t.recall::numeric, 4) || ' / ' || round(t.ndcg::numeric, 4) AS tuned,
       round((t.recall / g.recall)::numeric, 3) || ' / ' || round((t.ndcg / g.ndcg)::numeric, 3) AS "tuned/best",
       round(t.seconds::numeric) AS "tune s",
       round(t.a0::numeric, 4) || ', ' || round(t.lambda::numeric, 4) AS "tuned α0, λ",
       round(tr.recall::numeric, 4) || ' (' || round((tr.recall / g.recall)::numeric, 3) || ')' AS "recall-tuned Recall@20 (/best)",
       round(tr.seconds::numeric) AS "s",
       round(g.recall::numeric, 4) || ' / ' || round(g.ndcg::numeric, 4) AS grid_best
  FROM (SELECT DISTINCT data FROM results) r
  JOIN results d ON d.data = r.data AND d.kind = 'defaults'
  JOIN results t ON t.data = r.data AND t.kind = 'tuned'
  JOIN results tr ON tr.data = r.data AND tr.kind = 'tuned for recall'
  JOIN LATERAL (SELECT max(recall) AS recall, max(ndcg) AS ndcg FROM results g WHERE g.data = r.data AND g.kind = 'grid') g ON true
 ORDER BY r.data;
SQL
