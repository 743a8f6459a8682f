-- statement_timeout (and so cancel) stops every long loop within about a
-- second, and leaves nothing half done.
SET client_min_messages = warning;
CREATE TABLE tb AS SELECT user_id, item_id FROM irec_synthetic(20000, 4000, 500000, seed => 4);
SELECT test_users > 0 AS split FROM irec_split('tb', seed => 1);
SELECT irec_train('tb_train', dims => 8, epochs => 1, quiet => true);
CREATE TABLE tb_wide AS SELECT user_id, item_id FROM irec_synthetic(20000, 20000, 100000, seed => 6);
CREATE TABLE vec AS
  SELECT i AS id, ARRAY(SELECT sin(i * 0.37 + j) + cos(i * 0.011 * j) FROM generate_series(1, 32) j WHERE i > 0)::real[]::embedding(32) AS e
    FROM generate_series(1, 200000) i;
CREATE FUNCTION pg_temp.cancels_within(sql text, seconds float8) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN
  EXECUTE sql;
  RETURN 'finished before the timeout';
EXCEPTION WHEN query_canceled THEN
  RETURN CASE WHEN extract(epoch FROM clock_timestamp() - t) < seconds THEN 'cancelled in time' ELSE 'cancelled late' END;
END $$;
SET statement_timeout = '300ms';
-- training (its memory, its threads, its chunks)
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_train', dims => 128, epochs => 50, quiet => true)$$, 1.5) AS training;
-- at the largest dims: the initial draws (40,000 rows × 4096), each
-- Gramian (20,000 rows: seconds of BLAS) and each solve chunk stop at an
-- interrupt check
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_wide', dims => 4096, epochs => 5, quiet => true)$$, 1.5) AS training_dims_4096;
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_wide', dims => 4096, epochs => 5, solver => 'cholesky', quiet => true)$$, 1.5)
       AS cholesky_dims_4096;
-- within a second inside the solves at dims 4096 (an epoch takes tens of
-- seconds there; the initial draws and the first Gramian about two)
SET statement_timeout = '6s';
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_wide', dims => 4096, epochs => 5, quiet => true)$$, 7.0) AS solves_dims_4096;
SET statement_timeout = '300ms';
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_train', algorithm => 'softmax', epochs => 50, quiet => true)$$, 1.5) AS softmax;
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_train', dims => 16, epochs => 50, engine => 'sql', quiet => true)$$, 1.5) AS sql_engine;
-- context models, into the trained model's name: nothing of them may remain
RESET statement_timeout;
CREATE TABLE tb_ctx AS SELECT user_id, item_id, item_id % 7 AS part FROM tb_train;
CREATE TABLE tb_wide_ctx AS SELECT user_id, item_id, user_id % 3 AS part FROM tb_wide;
-- while loading (the load is one statement), and while training: a later
-- timeout lands in the block solves at dims 512 (an epoch takes seconds)
SET statement_timeout = '300ms';
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_ctx', model => 'tb_train', context_columns => ARRAY['user_id', 'part'],
                                                  dims => 128, epochs => 50, quiet => true)$$, 1.5) AS context_loading;
SET statement_timeout = '1500ms';
SELECT pg_temp.cancels_within($$SELECT irec_train('tb_wide_ctx', model => 'tb_train', context_columns => ARRAY['user_id', 'part'],
                                                  context_model => 'product', dims => 512, epochs => 5, quiet => true)$$, 2.7)
       AS context_dims_512;
SET statement_timeout = '300ms';
-- evaluation
SELECT pg_temp.cancels_within($$SELECT * FROM irec_evaluate('tb_train', 'tb_test') a, irec_evaluate('tb_train', 'tb_test', k => 10) b,
                                         irec_evaluate('tb_train', 'tb_test', k => 5) c$$, 1.5) AS evaluation;
-- index build and index scans
SELECT pg_temp.cancels_within($$CREATE INDEX vec_ivf ON vec USING ipivf (e) WITH (lists = 400)$$, 1.5) AS index_build;
RESET statement_timeout;
CREATE INDEX vec_ivf ON vec USING ipivf (e) WITH (lists = 400);
SET statement_timeout = '300ms';
SELECT pg_temp.cancels_within($$SET LOCAL irec.probes = 0; SET LOCAL enable_seqscan = off;
  SELECT count(*) FROM generate_series(1, 100000) q,
    LATERAL (SELECT id FROM vec ORDER BY e <#> (SELECT e FROM vec WHERE id = q) LIMIT 50) s$$, 1.5) AS index_scans;
RESET statement_timeout;
-- VACUUM of the index (it cannot run inside a function; the ERROR is the check)
DELETE FROM vec WHERE id % 2 = 0;
SET statement_timeout = '20ms';
\set VERBOSITY terse
VACUUM vec;
\set VERBOSITY default
RESET statement_timeout;
-- the previous model is intact, and no index was left behind by the cancelled build
SELECT dims, epochs FROM irec_models WHERE name = 'tb_train';
SELECT count(*) AS half_built_indexes FROM pg_class WHERE relname = 'vec_ivf' AND NOT EXISTS
  (SELECT 1 FROM pg_index WHERE indexrelid = 'vec_ivf'::regclass AND indisvalid);
SELECT count(*) AS context_tables_left FROM pg_class WHERE relname LIKE 'tb\_train\_ctx\_%';
DROP TABLE tb, tb_train, tb_test, tb_wide, tb_ctx, tb_wide_ctx, vec CASCADE;
