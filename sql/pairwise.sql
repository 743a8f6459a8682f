-- iALS for the pairwise square loss (DESIGN §5.2): loss => 'pairwise_square'.
-- The solver is checked against dense brute force in test/core/test_pairwise.c;
-- here: the SQL path end to end, and what refuses it.
SET client_min_messages = warning;
CREATE TABLE pw AS SELECT user_id, item_id FROM irec_synthetic(800, 300, 16000, rank => 6, seed => 41);
SELECT test_users > 500 AS split FROM irec_split('pw', seed => 3);
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 16, epochs => 8, quiet => true, model => 'pw_pair');
-- the loss falls, the ranking beats popularity, the registry says how it was trained
SELECT m.loss[8] < m.loss[1] AS loss_falls, e.ndcg > p.ndcg AS beats_popularity,
       m.algorithm, m.params->>'loss' AS loss, m.params->>'solver' AS solver
  FROM irec_models m, irec_evaluate('pw_pair', 'pw_test') e, irec_evaluate_popularity('pw_train', 'pw_test') p
 WHERE m.name = 'pw_pair';
-- loss => 'pointwise' is plain iALS, the same model as leaving it out
SELECT irec_train('pw_train', loss => 'pointwise', dims => 8, epochs => 2, threads => 1, quiet => true, model => 'pw_a');
SELECT irec_train('pw_train', dims => 8, epochs => 2, threads => 1, quiet => true, model => 'pw_b');
SELECT bool_and(a.embedding::real[] = b.embedding::real[]) AS pointwise_is_default
  FROM pw_a_items a JOIN pw_b_items b USING (item_id);
-- one thread and two give the same model (every row's solve is its own)
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 8, epochs => 2, threads => t, quiet => true,
                  model => 'pw_t' || t) FROM generate_series(1, 2) t;
SELECT max(abs(x - y)) < 1e-5 AS threads_agree
  FROM pw_t1_items a JOIN pw_t2_items b USING (item_id),
       unnest(a.embedding::real[], b.embedding::real[]) AS u(x, y);
-- early stopping and warm starts work as for the pointwise loss
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 16, epochs => 30, validation => 'pw_test',
                  patience => 2, quiet => true, model => 'pw_early');
SELECT epochs < 30 AS stopped_early, epochs - best_epoch = 2 AS stopped_after_patience,
       validation[best_epoch] = (SELECT max(v) FROM unnest(validation) v) AS best_is_max
  FROM irec_models WHERE name = 'pw_early';
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 16, epochs => 1, warm_start => true,
                  quiet => true, model => 'pw_pair');
SELECT loss[1] < (SELECT loss[1] FROM irec_models WHERE name = 'pw_early') AS warm_start_starts_lower
  FROM irec_models WHERE name = 'pw_pair';
-- Gramian SGD on the same loss (Algorithm 5 with z): it learns, and comes
-- near the ALS optimum of the objective (λ tiny for both; SGD reports the
-- data term, ALS adds a regularization that small)
SELECT irec_train('pw_train', algorithm => 'gramian_sgd', loss => 'pairwise_square', dims => 16, epochs => 12,
                  quiet => true, model => 'pw_gsgd');
SELECT m.loss[12] < m.loss[1] AS gramian_sgd_loss_falls, e.ndcg > p.ndcg AS gramian_sgd_beats_popularity,
       m.params->>'loss' AS loss
  FROM irec_models m, irec_evaluate('pw_gsgd', 'pw_test') e, irec_evaluate_popularity('pw_train', 'pw_test') p
 WHERE m.name = 'pw_gsgd';
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 16, epochs => 20, regularization => 0.0001,
                  regularization_exponent => 0, quiet => true, model => 'pw_als_ref');
SELECT irec_train('pw_train', algorithm => 'gramian_sgd', loss => 'pairwise_square', dims => 16, epochs => 60,
                  regularization => 0.0001, quiet => true, model => 'pw_gsgd_long');
SELECT g.loss[60] < 1.15 * a.loss[20] AS gramian_sgd_near_als, g.loss[60] >= 0.97 * a.loss[20] AS not_below_optimum
  FROM irec_models g, irec_models a WHERE g.name = 'pw_gsgd_long' AND a.name = 'pw_als_ref';
-- fold-in solves this loss's user step: folding a user into the model after
-- E epochs gives what epoch E + 1's user step gives that user (the same
-- seed and threads give the same items after E epochs)
SELECT irec_train('pw_train', loss => 'pairwise_square', dims => 8, epochs => e, threads => 2, quiet => true,
                  model => 'pw_e' || e) FROM generate_series(3, 4) e;
SELECT max(abs(x - y)) < 1e-4 AS fold_in_is_the_user_step
  FROM (SELECT irec_fold_in('pw_e3', array_agg(item_id)) AS f FROM pw_train WHERE user_id = 7) f,
       pw_e4_users u, unnest(f.f::real[], u.embedding::real[]) AS t(x, y)
 WHERE u.user_id = 7;
-- and for Gramian SGD models, with its per-positive L2 weight λ·|I_c|
SELECT l2_norm(irec_fold_in('pw_gsgd', ARRAY(SELECT item_id FROM pw_train WHERE user_id = 7)))
       BETWEEN 0.2 * l2_norm(embedding) AND 5 * l2_norm(embedding) AS gramian_sgd_fold_in_in_scale
  FROM pw_gsgd_users WHERE user_id = 7;
-- irec_update re-solves the pointwise loss only
SELECT * FROM irec_update('pw_pair', users => ARRAY[1]);
-- bad options
SELECT irec_train('pw_train', loss => 'magic');
SELECT irec_train('pw_train', algorithm => 'softmax', loss => 'pairwise_square');
SELECT irec_train('pw_train', loss => 'pairwise_square', engine => 'sql');
DROP TABLE pw, pw_train, pw_test CASCADE;
