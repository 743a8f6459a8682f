-- NULL in each named argument of every non-strict function, one at a time:
-- each call either treats the NULL as "use the default" (documented for
-- arguments whose default depends on others) or fails with a SQLSTATE and
-- a message naming the argument; none crashes or raises an internal error.
SET client_min_messages = warning;
CREATE TABLE na AS SELECT user_id, item_id, 1.0::float8 AS weight FROM irec_synthetic(60, 40, 800, seed => 2);
SELECT irec_split('na', seed => 1) IS NOT NULL AS split;
CREATE TABLE na2 AS SELECT * FROM na;
SELECT irec_train('na_train', dims => 4, epochs => 2, quiet => true);
CREATE TABLE na_ctx AS SELECT user_id, item_id, weight, user_id % 3 AS part FROM na_train;
SELECT irec_train('na_ctx', context_columns => ARRAY['user_id', 'part'], model => 'na_ctx_m', dims => 4, epochs => 2,
                  quiet => true);
CREATE TABLE na_pairs AS SELECT 0 AS row_idx, 1 AS col_idx, 2::real AS confidence;
CREATE TABLE na_fixed AS SELECT i AS idx, irec_init_embedding(1, 2, i, 4, 0.1) AS embedding FROM generate_series(0, 1) i;
CREATE TABLE na_own AS SELECT 0 AS idx, irec_init_embedding(1, 1, 0, 4, 0.1) AS embedding;
CREATE TABLE na_outcomes (fn text, arg text, sqlstate text, message text);
CREATE FUNCTION na_try(fn text, arg text, call text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE code text; msg text;
BEGIN
  BEGIN
    EXECUTE call;
    code := '00000';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  END;
  INSERT INTO na_outcomes VALUES (fn, arg, code, msg);
END $$;
-- each named argument of each non-strict function set to NULL in turn
DO $$
DECLARE
  r record;
  base text;
  a text;
BEGIN
  FOR r IN SELECT p.proname, p.proargnames, p.pronargs FROM pg_proc p
            WHERE p.proname IN ('irec_train', 'irec_evaluate', 'irec_evaluate_popularity', 'irec_split',
                                'irec_synthetic', 'irec_recommend', 'irec_similar_items', 'irec_fold_in',
                                'irec_recommend_for_items', 'irec_tune', 'irec_update', 'irec_track_changes',
                                'irec_recommend_context', 'irec_context_embedding', 'irec_fold_in_context',
                                'irec_add_previous_item', 'irec_als_shard_step')
              AND p.pronamespace = (SELECT extnamespace FROM pg_extension WHERE extname = 'irec')
  LOOP
    FOREACH a IN ARRAY r.proargnames[1:r.pronargs] LOOP
      base := CASE r.proname
        WHEN 'irec_train' THEN format('SELECT irec_train(source => %L, model => %L, dims => 4, epochs => 1, quiet => true', 'na_train', 'na_null')
        WHEN 'irec_evaluate' THEN 'SELECT * FROM irec_evaluate(model => ''na_train'', test => ''na_test'''
        WHEN 'irec_evaluate_popularity' THEN 'SELECT * FROM irec_evaluate_popularity(train => ''na_train'', test => ''na_test'''
        WHEN 'irec_split' THEN 'SELECT * FROM irec_split(source => ''na2'', name => ''na_s'''
        WHEN 'irec_synthetic' THEN 'SELECT count(*) FROM irec_synthetic(n_users => 10, n_items => 10, n_interactions => 50'
        WHEN 'irec_recommend' THEN 'SELECT * FROM irec_recommend(model => ''na_train'', "user" => 1'
        WHEN 'irec_similar_items' THEN 'SELECT * FROM irec_similar_items(model => ''na_train'', item => 1'
        WHEN 'irec_fold_in' THEN 'SELECT irec_fold_in(model => ''na_train'', items => ARRAY[1, 2]'
        WHEN 'irec_recommend_for_items' THEN 'SELECT * FROM irec_recommend_for_items(model => ''na_train'', items => ARRAY[1, 2]'
        WHEN 'irec_update' THEN 'SELECT * FROM irec_update(model => ''na_train'''
          || CASE WHEN 'users' = ANY (r.proargnames) THEN ', users => ARRAY[1]' ELSE '' END
          || CASE WHEN 'items' = ANY (r.proargnames) THEN ', items => ARRAY[1]' ELSE '' END
          || CASE WHEN 'since' = ANY (r.proargnames) THEN ', since => now(), time_column => ''weight''' ELSE '' END
        WHEN 'irec_track_changes' THEN 'SELECT irec_track_changes(model => ''na_train'''
        WHEN 'irec_recommend_context' THEN 'SELECT * FROM irec_recommend_context(model => ''na_ctx_m'', context => ''{"user_id": 1, "part": 1}'''
        WHEN 'irec_context_embedding' THEN 'SELECT irec_context_embedding(model => ''na_ctx_m'', context => ''{"user_id": 1}'''
        WHEN 'irec_fold_in_context' THEN 'SELECT irec_fold_in_context(model => ''na_ctx_m'', context => ''{"user_id": 100000, "part": 1}'', items => ARRAY[1, 2]'
        WHEN 'irec_add_previous_item' THEN 'SELECT irec_add_previous_item(source => ''na2'', time_column => ''weight'', target => ''na_prev'''
        WHEN 'irec_als_shard_step' THEN 'SELECT count(*) FROM irec_als_shard_step(pairs => ''na_pairs'', fixed => ''na_fixed'', own => ''na_own'', dims => 4, regularization => 0.1, regularization_exponent => 1, unobserved_weight => 0.1, cg_steps => 3'
        WHEN 'irec_tune' THEN 'SELECT * FROM irec_tune(source => ''na_train'', model => ''na_null'', dims => 4, max_seconds => 0.001, quiet => true'
      END;
      -- replace the argument if the base sets it, else add it
      IF position(quote_ident(a) || ' => ' IN base) > 0 THEN
        base := regexp_replace(base, quote_ident(a) || ' => (''[^'']*''|ARRAY\[[^]]*\]|[^,]+)', quote_ident(a) || ' => NULL');
        base := base || ')';
      ELSE
        base := base || ', ' || quote_ident(a) || ' => NULL)';
      END IF;
      PERFORM na_try(r.proname, a, base);
      EXECUTE 'DROP TABLE IF EXISTS na_s_train, na_s_test, na_s_fold_in, na2_train, na2_test, na2_fold_in, na_null_users, na_null_items, na_null_trials, na_train_trials, na_prev, na2_sequence';
      DELETE FROM irec_models WHERE name = 'na_null';
    END LOOP;
  END LOOP;
END $$;
SELECT fn, arg, sqlstate, message FROM na_outcomes ORDER BY fn, arg, sqlstate, message;
SELECT count(*) AS internal_errors FROM na_outcomes WHERE sqlstate LIKE 'XX%';
-- typed NULL ids give no rows, like unknown ids
SELECT count(*) FROM irec_recommend('na_train', NULL::int);
SELECT count(*) FROM irec_similar_items('na_train', NULL::int);
DELETE FROM irec_models WHERE name IN ('na_train', 'na_ctx_m');
DROP TABLE na_ctx, na_ctx_m_ctx_user_id, na_ctx_m_ctx_part, na_ctx_m_items;
DROP TABLE na, na2, na_train, na_test, na_train_users, na_train_items, na_outcomes;
DROP FUNCTION na_try(text, text, text);
