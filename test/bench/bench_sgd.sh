#!/usr/bin/env bash
# Every training algorithm with its shipped defaults (d = 64; iALS and Gramian
# SGD also with the pairwise square loss), next to iALS
# and the popularity baseline: seconds per epoch, positives per second,
# Recall@20 and NDCG@20, on lastfm-2k (seeded 80/20 per-user split, when
# ../shared/data has it) and on Gowalla-shaped generated data (20 epochs
# each there, to bound the run), with each SGD trainer's GFLOP/s on its
# flop count per positive (sgd_flops_per_positive below) against OpenBLAS
# sgemm (square 2048, both cores) in the same run, and sampled softmax's
# throughput at m = 1,024, d = 64 and 128.  About 11 minutes on 2 cores.
#
# --samplers: sampled softmax's samplers instead (uniform, popularity^0.75,
# in-batch, kernel, two-pass) at m = 64, 256 and 1,024 (in-batch: the batch),
# NDCG@20, Recall@20 and seconds per epoch on lastfm-2k, MovieLens ratings
# ≥ 4 (seeded 80/20 splits; generated sets of their shapes when ../shared
# lacks them, 60 epochs) and an 800k-interaction generated set (20 epochs),
# with a plot of NDCG@20 against seconds per epoch into
# docs/plots/samplers_ndcg_time.png.  About 18 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
if [ "${1:-}" = --samplers ]; then
	exec bash test/bench/bench_samplers.sh
fi
peak=$(bash test/bench/run_core.sh --peak)
bench_start
load_lastfm || true
psql -v peak="$peak" <<'SQL'
SET client_min_messages = warning;
CREATE TABLE gowalla AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
-- The SGD trainers' flops per positive at dims d with n negatives (a dot
-- product, an axpy, a squared norm: 2d each; an Adagrad row update 6d):
-- softmax 6nd (three sgemms); BPR 30d (2 dots, 4 axpys, 3 Adagrad rows);
-- LambdaRank 2(n + 2)d for its rank draws and the pair's scores, plus
-- BPR's; pointwise 18d + 12nd; Gramian SGD 4d² + 24d (two d × d products
-- with the Gramians). WARP draws until a violation, which the model does
-- not record: no count. iALS: bench_train.sh.
CREATE FUNCTION sgd_flops_per_positive(algorithm text, d float8, n float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE split_part(algorithm, ' ', 1)
    WHEN 'softmax' THEN 6 * n * d
    WHEN 'bpr' THEN 30 * d
    WHEN 'lambdarank' THEN 2 * (n + 2) * d + 30 * d
    WHEN 'pointwise' THEN 18 * d + 12 * n * d
    WHEN 'gramian_sgd' THEN 4 * d * d + 24 * d
  END $$;
CREATE FUNCTION bench(data text, epochs int) RETURNS TABLE (
    algorithm text, s_per_epoch numeric, positives_per_s numeric, gflops numeric, "recall@20" numeric,
    "ndcg@20" numeric)
LANGUAGE plpgsql AS $$
DECLARE a text; m record; e record;
BEGIN
  FOREACH a IN ARRAY ARRAY['ials', 'ials pairwise_square', 'softmax', 'bpr', 'lambdarank', 'warp', 'pointwise',
                           'gramian_sgd', 'gramian_sgd pairwise_square'] LOOP
    -- 'algorithm loss': the pairwise square loss (§5.2)
    IF epochs IS NULL THEN
      PERFORM irec_train(data || '_train', algorithm => split_part(a, ' ', 1),
                         loss => nullif(split_part(a, ' ', 2), ''), quiet => true, model => 'b');
    ELSE
      PERFORM irec_train(data || '_train', algorithm => split_part(a, ' ', 1),
                         loss => nullif(split_part(a, ' ', 2), ''), epochs => epochs, quiet => true, model => 'b');
    END IF;
    SELECT * INTO m FROM irec_models WHERE name = 'b';
    SELECT * INTO e FROM irec_evaluate('b', data || '_test');
    algorithm := a || ' (' || m.epochs || ' epochs)';
    s_per_epoch := round((m.train_seconds / m.epochs)::numeric, 3);
    positives_per_s := round(m.n_interactions * m.epochs / m.train_seconds);
    gflops := round((m.n_interactions * m.epochs / m.train_seconds
                     * sgd_flops_per_positive(a, m.dims, (m.params->>'negatives')::float8) / 1e9)::numeric, 2);
    "recall@20" := round(e.recall::numeric, 4);
    "ndcg@20" := round(e.ndcg::numeric, 4);
    RETURN NEXT;
  END LOOP;
  SELECT * INTO e FROM irec_evaluate_popularity(data || '_train', data || '_test');
  algorithm := 'popularity'; s_per_epoch := NULL; positives_per_s := NULL; gflops := NULL;
  "recall@20" := round(e.recall::numeric, 4); "ndcg@20" := round(e.ndcg::numeric, 4);
  RETURN NEXT;
END $$;
\echo == lastfm-2k (no weights), seeded 80/20 per-user split, shipped defaults
SELECT count(*) > 0 AS have_lastfm FROM pg_class WHERE relname = 'lastfm' \gset
\if :have_lastfm
SELECT test_users FROM irec_split('lastfm', seed => 1);
SELECT *, round(100 * gflops / :peak, 1) AS pct_of_sgemm_peak FROM bench('lastfm', NULL);
\endif
\echo == Gowalla-shaped generated data, seeded 80/20 split, 20 epochs each
SELECT test_users FROM irec_split('gowalla', seed => 1);
SELECT *, round(100 * gflops / :peak, 1) AS pct_of_sgemm_peak FROM bench('gowalla', 20);
\echo == sampled softmax throughput: 1,024 shared negatives, d = 64 and 128
-- λ given: the data-derived default costs a one-time spectrum, which is no
-- part of the trainer's throughput
SELECT irec_train('gowalla_train', algorithm => 'softmax', negatives => 1024, epochs => 4, regularization => 0.001,
                  quiet => true, model => 's64');
SELECT irec_train('gowalla_train', algorithm => 'softmax', negatives => 1024, epochs => 4, regularization => 0.001,
                  dims => 128, quiet => true, model => 's128');
-- three sgemms of batch × 1,024 × d per batch: 6·m·d flops per positive
SELECT dims, round(n_interactions * epochs / train_seconds) AS positives_per_second,
       round((n_interactions * epochs / train_seconds * 6 * 1024 * dims / 1e9)::numeric, 1) AS gflops,
       :peak AS sgemm_peak_gflops,
       round((100 * n_interactions * epochs / train_seconds * 6 * 1024 * dims / 1e9 / :peak)::numeric) AS pct_of_peak
  FROM irec_models WHERE name IN ('s64', 's128') ORDER BY dims;
SQL
