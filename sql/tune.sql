-- Early stopping on a validation table, and irec_tune.
SET extra_float_digits = 0;
CREATE TABLE tu AS SELECT user_id, item_id FROM irec_synthetic(300, 200, 8000, seed => 17);
SELECT test_users > 0 AS split FROM irec_split('tu', seed => 3);

-- early stopping keeps the best epoch, and its embeddings equal a training
-- stopped there (same seed, one thread: deterministic), for iALS and SGD
CREATE FUNCTION pg_temp.fingerprint(model text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE u text; i text;
BEGIN
	EXECUTE format('SELECT md5(string_agg(user_id || embedding::text, '','' ORDER BY user_id)) FROM %I', model || '_users') INTO u;
	EXECUTE format('SELECT md5(string_agg(item_id || embedding::text, '','' ORDER BY item_id)) FROM %I', model || '_items') INTO i;
	RETURN u || i;
END $$;
SELECT irec_train('tu_train', model => 'es', epochs => 40, threads => 1, quiet => true,
                  unobserved_weight => 0.3, regularization => 0.003,
                  validation => 'tu_test', validation_metric => 'recall', validation_k => 10, patience => 2);
SELECT epochs < 40 AS stopped_early, best_epoch BETWEEN 1 AND epochs AS best_in_range,
       epochs - best_epoch = 2 AS stopped_after_patience,
       array_length(validation, 1) = epochs AS one_score_per_epoch,
       validation[best_epoch] = (SELECT max(v) FROM unnest(validation) v) AS best_is_max,
       params->>'validation_metric' AS metric, (params->>'patience')::int AS patience
  FROM irec_models WHERE name = 'es';
-- the recorded score is what irec_evaluate computes for the kept embeddings
SELECT abs(e.recall - m.validation[m.best_epoch]) < 1e-9 AS score_matches_evaluation
  FROM irec_models m, irec_evaluate('es', 'tu_test', k => 10) e WHERE m.name = 'es';
SELECT irec_train('tu_train', model => 'plain', epochs => (SELECT best_epoch FROM irec_models WHERE name = 'es'),
                  threads => 1, quiet => true, unobserved_weight => 0.3, regularization => 0.003);
SELECT pg_temp.fingerprint('es') = pg_temp.fingerprint('plain') AS best_epoch_kept;
SELECT validation IS NULL AND best_epoch IS NULL AS no_validation FROM irec_models WHERE name = 'plain';
-- a retrain without validation clears the recorded scores
SELECT irec_train('tu_train', model => 'es', epochs => 2, quiet => true);
SELECT validation IS NULL AND best_epoch IS NULL AS cleared FROM irec_models WHERE name = 'es';
SELECT irec_train('tu_train', model => 'es_bpr', algorithm => 'bpr', epochs => 12, threads => 1, quiet => true,
                  validation => 'tu_test', patience => 3);
SELECT irec_train('tu_train', model => 'plain_bpr', algorithm => 'bpr', threads => 1, quiet => true,
                  epochs => (SELECT best_epoch FROM irec_models WHERE name = 'es_bpr'));
SELECT pg_temp.fingerprint('es_bpr') = pg_temp.fingerprint('plain_bpr') AS sgd_best_epoch_kept;

-- bad validation arguments
CREATE TABLE tu_empty (user_id int, item_id int);
CREATE TABLE tu_disjoint AS SELECT user_id + 100000 AS user_id, item_id FROM tu_test;
CREATE TABLE tu_bigint AS SELECT user_id::bigint AS user_id, item_id FROM tu_test;
CREATE TABLE tu_seen AS SELECT user_id, item_id FROM tu_train;
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_empty', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_disjoint', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_seen', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_bigint', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_test', validation_metric => 'auc', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_test', patience => 0, quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_test', validation_k => 0, quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'tu_test', engine => 'sql', quiet => true);
SELECT irec_train('tu_train', model => 'bad', validation => 'no_such_table', quiet => true);
SELECT count(*) FROM irec_models WHERE name = 'bad';

-- irec_tune: a search that ends at least as good as the defaults on its own
-- validation split, every trial recorded, the final model trained on the
-- whole source with the best setting
SELECT model_name, jsonb_typeof(params) AS params, validation_score > 0 AS scored, epochs > 0 AS epochs,
       trials > 20 AS trials
  FROM irec_tune('tu_train', model => 'tuned', max_seconds => 300, quiet => true);
SELECT count(*) > 20 AS recorded, count(DISTINCT rung) AS rungs FROM tuned_trials;
SELECT max("ndcg@20") >= (SELECT "ndcg@20" FROM tuned_trials
                           WHERE params = '{"unobserved_weight": 0.1, "regularization": 0.01}' ORDER BY rung DESC LIMIT 1)
       AS at_least_defaults
  FROM tuned_trials;
SELECT (SELECT params FROM tuned_trials ORDER BY "ndcg@20" DESC, rung DESC LIMIT 1)
       @> jsonb_build_object('unobserved_weight', (m.params->>'unobserved_weight')::numeric,
                             'regularization', (m.params->>'regularization')::numeric) AS final_model_has_best_setting,
       m.n_interactions = (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM tu_train) p) AS trained_on_whole_source
  FROM irec_models m WHERE m.name = 'tuned';
SELECT count(*) AS leftovers FROM pg_class WHERE relname LIKE 'irec_tune%' AND relpersistence = 't';
SELECT count(*) AS trial_models_left FROM irec_models WHERE name LIKE 'irec_tune%';
-- the source is all it reads: a view of a third of the users
CREATE VIEW tu_third AS SELECT * FROM tu_train WHERE user_id % 3 = 0;
SELECT trials > 0 AS ran FROM irec_tune('tu_third', model => 'third', max_seconds => 60, quiet => true);
SELECT count(*) = 0 AS only_view_users FROM third_users WHERE user_id % 3 <> 0;
-- a budget too small for the search still runs one trial and returns a model
SELECT trials >= 1 AS ran FROM irec_tune('tu_train', model => 'quick', max_seconds => 0.001, quiet => true);
-- bad arguments
SELECT * FROM irec_tune('tu_train', max_seconds => 0);
SELECT * FROM irec_tune('tu_train', max_seconds => -5);
SELECT * FROM irec_tune('tu_train', metric => 'map');
SELECT * FROM irec_tune('tu_train', algorithm => 'svd');
SELECT * FROM irec_tune('tu_train', validation_fraction => 1);
SELECT * FROM irec_tune('tu_train', item_column => 'nope');
SELECT * FROM irec_tune('tu_train', k => NULL);
-- a cancelled search leaves the previous model and its trials untouched
SELECT pg_temp.fingerprint('tuned') AS before \gset
SELECT count(*) AS trials_before FROM tuned_trials \gset
SET statement_timeout = '300ms';
\set VERBOSITY terse
SELECT * FROM irec_tune('tu_train', model => 'tuned', max_seconds => 300, quiet => true);
\set VERBOSITY default
RESET statement_timeout;
SELECT pg_temp.fingerprint('tuned') = :'before' AS model_intact,
       (SELECT count(*) FROM tuned_trials) = :trials_before AS trials_intact;
