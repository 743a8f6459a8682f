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
-- whole source with the best setting (iALS for the full 16 epochs)
SELECT model_name, jsonb_typeof(params) AS params, validation_score > 0 AS scored, epochs = 16 AS full_epochs,
       trials > 20 AS trials
  FROM irec_tune('tu_train', model => 'tuned', max_seconds => 300, quiet => true);
SELECT count(*) > 20 AS recorded, count(DISTINCT rung) AS rungs FROM tuned_trials;
SELECT max("ndcg@20") >= (SELECT "ndcg@20" FROM tuned_trials WHERE defaults ORDER BY rung DESC LIMIT 1)
       AS at_least_defaults,
       -- the defaults reach the last rung: run there, or carried over from
       -- the rung where they stopped early (patience 2 before max_epochs)
       (SELECT rung = 3 OR best_epoch + 2 < max_epochs FROM tuned_trials WHERE defaults ORDER BY rung DESC LIMIT 1)
         AS defaults_reach_last_rung,
       -- a budget this large for data this small covers every candidate on
       -- several validation folds
       min(folds) > 1 AS several_folds, min(folds) = max(folds) AS same_folds_throughout
  FROM tuned_trials;
-- each trial's score is the mean of its per-fold scores
SELECT bool_and(cardinality(fold_scores) = folds
                AND abs((SELECT avg(v) FROM unnest(fold_scores) v) - "ndcg@20") < 1e-12) AS fold_scores_recorded
  FROM tuned_trials;
-- the choice: the best trial replaces the defaults only when its mean gain
-- over the defaults' trial at the same epochs, fold by fold (with rung 5's
-- second fold appended when the search ran on one), exceeds one standard
-- error of the gains; exactly one trial is marked chosen
CREATE FUNCTION pg_temp.check_choice(trials regclass, OUT one_chosen boolean, OUT chosen_by_the_rule boolean)
LANGUAGE plpgsql AS $$
DECLARE b record; d record; b5 float8[]; d5 float8[]; gain float8; se float8; n int; chosen int;
BEGIN
	EXECUTE format('SELECT count(*) FILTER (WHERE chosen) = 1, min(trial) FILTER (WHERE chosen) FROM %s', trials)
	   INTO one_chosen, chosen;
	EXECUTE format('SELECT * FROM %s WHERE rung < 5 ORDER BY 7 DESC, rung DESC LIMIT 1', trials) INTO b;
	-- the defaults' last trial (a trial that stopped early stands for the
	-- rungs after it)
	EXECUTE format('SELECT * FROM %s WHERE defaults AND rung < 5 ORDER BY rung DESC LIMIT 1', trials) INTO d;
	EXECUTE format('SELECT fold_scores FROM %s WHERE rung = 5 AND NOT defaults', trials) INTO b5;
	EXECUTE format('SELECT fold_scores FROM %s WHERE rung = 5 AND defaults', trials) INTO d5;
	SELECT avg(x - y), stddev_samp(x - y) / sqrt(count(*)), count(*) INTO gain, se, n
	  FROM unnest(b.fold_scores || coalesce(b5, '{}'), d.fold_scores || coalesce(d5, '{}')) AS f(x, y);
	chosen_by_the_rule := chosen = CASE WHEN b.defaults OR (n >= 2 AND gain <= se) THEN d.trial ELSE b.trial END;
END $$;
SELECT * FROM pg_temp.check_choice('tuned_trials');
-- the final model has the chosen trial's setting (the defaults' are
-- recomputed from the whole source's shape)
SELECT (SELECT defaults OR params = jsonb_build_object('unobserved_weight', m.params->'unobserved_weight',
                                                       'regularization', m.params->'regularization',
                                                       'regularization_exponent', m.params->'regularization_exponent')
          FROM tuned_trials WHERE chosen) AS final_model_has_chosen_setting,
       m.n_interactions = (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM tu_train) p) AS trained_on_whole_source
  FROM irec_models m WHERE m.name = 'tuned';
-- the local search (rung 4) runs at the full epochs on the same folds,
-- from the last halving rung's best setting, on a lattice of half steps:
-- α0 times 3^(i/2), ν in 0.5 .. 1.5 by 0.25; the first six trials are the
-- origin's neighbours, one coordinate each
SELECT count(*) >= 6 AS local_search,
       bool_and(t.max_epochs = 16 AND t.folds = o.folds) AS full_epochs_same_folds,
       bool_and(abs(2 * ln((t.params->>'unobserved_weight')::float8 / (o.params->>'unobserved_weight')::float8) / ln(3)
                    - round(2 * ln((t.params->>'unobserved_weight')::float8 / (o.params->>'unobserved_weight')::float8) / ln(3))) < 1e-9
                AND (t.params->>'regularization_exponent')::numeric IN (0.5, 0.75, 1, 1.25, 1.5)) AS on_the_lattice,
       count(*) FILTER (WHERE t.trial <= o.first + 5
                        AND ((t.params->>'unobserved_weight')::float8 = (o.params->>'unobserved_weight')::float8)::int
                          + ((t.params->>'regularization_exponent')::float8 = (o.params->>'regularization_exponent')::float8)::int
                          >= 1) = 6 AS first_six_are_neighbours
  FROM tuned_trials t,
       (SELECT params, folds, (SELECT min(trial) FROM tuned_trials WHERE rung = 4) AS first
          FROM tuned_trials WHERE rung = 3 ORDER BY "ndcg@20" DESC LIMIT 1) o
 WHERE t.rung = 4;
-- folds => 1: the search runs on one fold; then the best setting and the
-- defaults run once more on a second fold (rung 5), and the choice takes
-- both folds' gains
SELECT trials > 20 AS ran FROM irec_tune('tu_train', model => 'one_fold', folds => 1, max_seconds => 300, quiet => true);
SELECT bool_and(folds = 1) FILTER (WHERE rung < 5) AS one_fold,
       count(*) FILTER (WHERE rung = 5) AS second_fold_trials,
       bool_and(max_epochs = 16 AND folds = 1) FILTER (WHERE rung = 5) AS second_fold_full_epochs,
       count(*) FILTER (WHERE rung = 5 AND defaults) AS second_fold_defaults
  FROM one_fold_trials;
SELECT * FROM pg_temp.check_choice('one_fold_trials');
SELECT count(*) AS leftovers FROM pg_class WHERE relname LIKE 'irec_tune%' AND relpersistence = 't';
SELECT count(*) AS trial_models_left FROM irec_models WHERE name LIKE 'irec_tune%';
-- the source is all it reads: a view of a third of the users
CREATE VIEW tu_third AS SELECT * FROM tu_train WHERE user_id % 3 = 0;
SELECT trials > 0 AS ran FROM irec_tune('tu_third', model => 'third', max_seconds => 60, quiet => true);
SELECT count(*) = 0 AS only_view_users FROM third_users WHERE user_id % 3 <> 0;
-- every algorithm's grid (the halving rungs; rung 4's lattice of half steps
-- is checked above) lies around the defaults' effective values (BPR's
-- learning rate times 1/3 .. 3, λ times 0.1 .. 10)
SELECT trials > 1 AS ran FROM irec_tune('tu_train', model => 'tuned_bpr', algorithm => 'bpr', max_seconds => 30, quiet => true);
SELECT bool_and(round((t.params->>'learning_rate')::numeric / (d.params->>'learning_rate')::numeric, 4) IN (0.3333, 1, 3)
                AND round((t.params->>'regularization')::numeric / (d.params->>'regularization')::numeric, 4) IN (0.1, 0.3, 1, 3, 10))
         FILTER (WHERE t.rung < 4) AS around_defaults,
       count(DISTINCT t.params) > 3 AS several_settings
  FROM tuned_bpr_trials t, (SELECT params FROM tuned_bpr_trials WHERE defaults LIMIT 1) d;
-- softmax's grid: learning rate times 1/3 .. 3, λ times 1/4 .. 2 around the
-- λ its rule computes from the data (not 0.3.0's constant 0.2), T 0.5 or 1
SELECT trials > 1 AS ran FROM irec_tune('tu_train', model => 'tuned_softmax', algorithm => 'softmax', dims => 16,
                                        max_seconds => 10, quiet => true);
SELECT bool_and(round((t.params->>'learning_rate')::numeric / (d.params->>'learning_rate')::numeric, 4) IN (0.3333, 1, 3)
                AND round((t.params->>'regularization')::numeric / (d.params->>'regularization')::numeric, 2) IN (0.25, 0.5, 1, 2)
                AND (t.params->>'temperature')::numeric IN (0.5, 1))
         FILTER (WHERE t.rung < 4) AS around_defaults,
       count(DISTINCT t.params) > 3 AS several_settings,
       bool_and((d.params->>'regularization')::float8 BETWEEN 0.02 AND 0.19) AS shaped_lambda
  FROM tuned_softmax_trials t, (SELECT params FROM tuned_softmax_trials WHERE defaults LIMIT 1) d;
-- a budget too small for the search still runs one trial and returns a model
SELECT trials >= 1 AS ran FROM irec_tune('tu_train', model => 'quick', max_seconds => 0.001, quiet => true);
-- bad arguments
\set SHOW_CONTEXT never
SELECT * FROM irec_tune('tu_train', max_seconds => 0);
SELECT * FROM irec_tune('tu_train', max_seconds => -5);
SELECT * FROM irec_tune('tu_train', metric => 'map');
SELECT * FROM irec_tune('tu_train', algorithm => 'svd');
SELECT * FROM irec_tune('tu_train', validation_fraction => 1);
SELECT * FROM irec_tune('tu_train', item_column => 'nope');
SELECT * FROM irec_tune('tu_train', k => NULL);
SELECT * FROM irec_tune('tu_train', folds => 0);
SELECT * FROM irec_tune('tu_train', folds => 3, validation_fraction => 0.4);
\set SHOW_CONTEXT errors
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

-- the defaults from the data's shape against a grid, on two generated
-- shapes (one thread: deterministic): within 3% of the grid's best NDCG@20
CREATE FUNCTION pg_temp.rule_vs_grid(data text) RETURNS TABLE (rule_alpha0 numeric, rule_lambda numeric, within_3_percent boolean)
LANGUAGE plpgsql AS $$
DECLARE a float8; l float8; best float8 := 0; e record; m record;
BEGIN
	FOREACH a IN ARRAY ARRAY[0.01, 0.03, 0.1, 0.3, 1]::float8[] LOOP
		FOREACH l IN ARRAY ARRAY[0.003, 0.01, 0.03, 0.1]::float8[] LOOP
			PERFORM irec_train(data || '_train', model => 'grid', unobserved_weight => a, regularization => l,
			                   threads => 1, quiet => true);
			SELECT * INTO e FROM irec_evaluate('grid', data || '_test');
			best := greatest(best, e.ndcg);
		END LOOP;
	END LOOP;
	PERFORM irec_train(data || '_train', model => 'rule', threads => 1, quiet => true);
	SELECT * INTO e FROM irec_evaluate('rule', data || '_test');
	SELECT * INTO m FROM irec_models WHERE name = 'rule';
	rule_alpha0 := round((m.params->>'unobserved_weight')::numeric, 4);
	rule_lambda := round((m.params->>'regularization')::numeric, 4);
	within_3_percent := e.ndcg >= 0.97 * best;
	RETURN NEXT;
END $$;
CREATE TABLE small_dense AS SELECT user_id, item_id FROM irec_synthetic(400, 150, 16000, seed => 23);
CREATE TABLE long_tail AS SELECT user_id, item_id FROM irec_synthetic(3000, 2500, 40000, item_popularity_exponent => 1.0, seed => 29);
SELECT test_users > 0 FROM irec_split('small_dense', seed => 2);
SELECT test_users > 0 FROM irec_split('long_tail', seed => 2);
SELECT * FROM pg_temp.rule_vs_grid('small_dense');
SELECT * FROM pg_temp.rule_vs_grid('long_tail');

-- without irec in shared_preload_libraries, irec_progress() says how to enable it
SELECT * FROM irec_progress();
