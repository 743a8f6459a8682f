-- Context-aware models (DESIGN §5.1.2): irec_train(..., context_columns =>),
-- irec_recommend_context, irec_context_embedding, irec_fold_in_context,
-- irec_evaluate on contexts, irec_add_previous_item.  The block solves are
-- checked against dense least squares in test/core/test_context.c; here:
-- the SQL path end to end on planted data whose tastes change with a
-- context field, and what refuses it.
SET client_min_messages = warning;
-- 80 users in 4 taste groups g = user_id % 4; in the morning (daypart 0) a
-- user chooses among the 5 items 1..20 of its group, in the evening among the
-- 5 items 21..40 of its group; one of each five is held out per daypart
CREATE TABLE ctx_all AS
SELECT u AS user_id, p AS daypart, 20 * p + 4 * k + u % 4 + 1 AS item_id
  FROM generate_series(1, 80) u, generate_series(0, 1) p, generate_series(0, 4) k;
CREATE TABLE ctx_test AS SELECT * FROM ctx_all WHERE (item_id - 1) % 20 / 4 = (user_id / 4 + daypart) % 5;
CREATE TABLE ctx_train AS SELECT * FROM ctx_all EXCEPT SELECT * FROM ctx_test;
-- one more user of group 1, seen in the evening only (for fold-in below)
INSERT INTO ctx_train SELECT 999, 1, 20 + 4 * k + 2 FROM generate_series(0, 3) k;
SELECT irec_train('ctx_train', model => 'ctx_mf', dims => 8, quiet => true);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], model => 'ctx_sum',
                  dims => 8, epochs => 10, quiet => true);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], context_model => 'product',
                  model => 'ctx_prod', dims => 8, epochs => 10, quiet => true);
-- the registry: one table per field, the contexts counted as the model's rows
SELECT name, users_table, items_table, user_column, n_users AS contexts, n_items, n_interactions,
       params->'context_columns' AS columns, params->>'context_model' AS kind, params->'context_tables' AS tables
  FROM irec_models WHERE name IN ('ctx_sum', 'ctx_prod') ORDER BY name;
SELECT (SELECT count(*) FROM ctx_sum_ctx_user_id) AS users, (SELECT count(*) FROM ctx_sum_ctx_daypart) AS dayparts,
       (SELECT count(*) FROM ctx_sum_items) AS items;
-- the loss falls at every epoch (each block step lowers it: exact, or CG
-- from the block's current value), with either solver
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], context_model => k,
                  model => 'ctx_chol_' || k, dims => 8, epochs => 10, solver => 'cholesky', quiet => true)
  FROM unnest(ARRAY['sum', 'product']) k;
SELECT name, bool_and(loss[e + 1] <= loss[e] * (1 + 1e-6)) AS loss_never_rises
  FROM irec_models, generate_series(1, 9) e WHERE name IN ('ctx_sum', 'ctx_prod', 'ctx_chol_sum', 'ctx_chol_product')
 GROUP BY name ORDER BY name;
-- top-1 per held-out (user, daypart): a user-only model cannot tell the
-- dayparts apart (at most one of a user's two test items can be its top-1);
-- both context models find the held-out item of the right daypart
SELECT avg((t.item_id::text = (SELECT r.item_id FROM irec_recommend_context('ctx_sum',
             jsonb_build_object('user_id', t.user_id, 'daypart', t.daypart), 1) r))::int) >= 0.9 AS sum_hits,
       avg((t.item_id::text = (SELECT r.item_id FROM irec_recommend_context('ctx_prod',
             jsonb_build_object('user_id', t.user_id, 'daypart', t.daypart), 1) r))::int) >= 0.9 AS product_hits
  FROM ctx_test t;
-- the context models beat user-only iALS on the same held-out pairs
SELECT c.recall > 1.5 * u.recall AS sum_beats_user_only, p.recall > 1.5 * u.recall AS product_beats_user_only
  FROM irec_evaluate('ctx_sum', 'ctx_test', 1) c, irec_evaluate('ctx_prod', 'ctx_test', 1) p,
       irec_evaluate('ctx_mf', 'ctx_test', 1) u;
-- irec_evaluate ranks each test context (user, daypart), excluding the user's training items
SELECT 'sum' AS model, recall >= 0.9 AS recall_at_1, users_evaluated, users_skipped FROM irec_evaluate('ctx_sum', 'ctx_test', 1)
UNION ALL
SELECT 'product', recall >= 0.9, users_evaluated, users_skipped FROM irec_evaluate('ctx_prod', 'ctx_test', 1);
-- a context's embedding is its fields' sum (product); a value the model lacks adds nothing
SELECT irec_context_embedding('ctx_sum', '{"user_id": 5, "daypart": 1}')::real[] =
       ((SELECT embedding FROM ctx_sum_ctx_user_id WHERE user_id = 5) +
        (SELECT embedding FROM ctx_sum_ctx_daypart WHERE daypart = 1))::real[] AS sum_of_fields,
       irec_context_embedding('ctx_prod', '{"user_id": 5, "daypart": 1}')::real[] =
       ((SELECT embedding FROM ctx_prod_ctx_user_id WHERE user_id = 5) *
        (SELECT embedding FROM ctx_prod_ctx_daypart WHERE daypart = 1))::real[] AS product_of_fields,
       irec_context_embedding('ctx_sum', '{"user_id": 5, "daypart": 7}', quiet => true)::real[] =
       (SELECT embedding FROM ctx_sum_ctx_user_id WHERE user_id = 5)::real[] AS unknown_adds_nothing,
       irec_context_embedding('ctx_sum', '{"user_id": 5, "daypart": null}')::real[] =
       irec_context_embedding('ctx_sum', '{"user_id": 5}')::real[] AS null_is_absent;
-- the set-based form irec_evaluate uses: NULL parts are absent, a product's
-- underflow is 0 (the * operator refuses it), all NULL gives NULL
SELECT irec_context_combine('sum', ARRAY['[1,2]', NULL, '[3,-4]']::embedding[]) AS sum,
       irec_context_combine('product', ARRAY['[1e-30,2]', '[1e-30,3]', NULL]::embedding[]) AS product,
       irec_context_combine('sum', ARRAY[NULL, NULL]::embedding[]) IS NULL AS all_absent;
SELECT irec_context_combine('sum', ARRAY['[1,2]', '[3]']::embedding[]);
SELECT irec_context_combine('mean', ARRAY['[1,2]']::embedding[]);
SET client_min_messages = notice;
SELECT count(*) FROM irec_recommend_context('ctx_sum', '{"user_id": 5, "daypart": 7}', 3);
SET client_min_messages = warning;
-- exclude_seen drops the first field's (the user's) training items
SELECT count(*) FILTER (WHERE r.item_id::int IN (SELECT item_id FROM ctx_train WHERE user_id = 5)) AS seen_returned
  FROM irec_recommend_context('ctx_sum', '{"user_id": 5, "daypart": 0}', 40) r;
SELECT count(*) > 0 AS seen_returned_without_exclusion
  FROM irec_recommend_context('ctx_sum', '{"user_id": 5, "daypart": 0}', 40, exclude_seen => false) r
 WHERE r.item_id::int IN (SELECT item_id FROM ctx_train WHERE user_id = 5);
-- with an ipivf index on the items, the same answer through the index
CREATE INDEX ON ctx_sum_items USING ipivf (embedding);
SET enable_seqscan = off;
SELECT array_agg(item_id) AS via_index FROM irec_recommend_context('ctx_sum', '{"user_id": 6, "daypart": 1}', 5);
RESET enable_seqscan;
DROP INDEX ctx_sum_items_embedding_idx;
SELECT array_agg(item_id) AS scanned FROM irec_recommend_context('ctx_sum', '{"user_id": 6, "daypart": 1}', 5);
-- fold-in of a new user is the training's own (exact) step: drop user 999
-- from a model after 3 epochs and fold it in from its items; it equals the
-- user's row of a 4-epoch training (whose 4th epoch starts with that step)
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], model => 'ctx_f' || e,
                  dims => 8, epochs => e, solver => 'cholesky', quiet => true) FROM generate_series(3, 4) e;
DELETE FROM ctx_f3_ctx_user_id WHERE user_id = 999;
SELECT max(abs(x - y)) <= 1e-4 * max(abs(y)) AS fold_in_is_the_training_step
  FROM unnest(irec_fold_in_context('ctx_f3', '{"user_id": 999, "daypart": 1}',
                                   (SELECT array_agg(item_id) FROM ctx_train WHERE user_id = 999))::real[],
              (SELECT embedding::real[] FROM ctx_f4_ctx_user_id WHERE user_id = 999)) AS u(x, y);
-- the same for the product model
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], context_model => 'product',
                  model => 'ctx_p' || e, dims => 8, epochs => e, solver => 'cholesky', quiet => true)
  FROM generate_series(3, 4) e;
DELETE FROM ctx_p3_ctx_user_id WHERE user_id = 999;
SELECT max(abs(x - y)) <= 1e-4 * max(abs(y)) AS product_fold_in_is_the_training_step
  FROM unnest(irec_fold_in_context('ctx_p3', '{"user_id": 999, "daypart": 1}',
                                   (SELECT array_agg(item_id) FROM ctx_train WHERE user_id = 999))::real[],
              (SELECT embedding::real[] FROM ctx_p4_ctx_user_id WHERE user_id = 999)) AS u(x, y);
-- one context column is the plain model with that column as the user
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id'], model => 'ctx_one', dims => 8, epochs => 2,
                  threads => 1, quiet => true);
SELECT irec_train('ctx_train', model => 'ctx_plain', dims => 8, epochs => 2, threads => 1, quiet => true);
SELECT bool_and(a.embedding::real[] = b.embedding::real[]) AS one_column_is_plain,
       (SELECT params ? 'context_model' FROM irec_models WHERE name = 'ctx_one') AS registered_as_context
  FROM ctx_one_users a JOIN ctx_plain_users b USING (user_id);
-- retraining replaces one kind of model by the other, tables and all
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], model => 'ctx_one', dims => 8,
                  epochs => 1, quiet => true);
SELECT to_regclass('ctx_one_users') IS NULL AS users_table_gone, to_regclass('ctx_one_ctx_daypart') IS NOT NULL AS field_table;
SELECT irec_train('ctx_train', model => 'ctx_one', dims => 8, epochs => 1, quiet => true);
SELECT to_regclass('ctx_one_ctx_daypart') IS NULL AS field_table_gone, to_regclass('ctx_one_users') IS NOT NULL AS users_table;
-- a NULL field value is absent from its context; rows with every field NULL are skipped
CREATE TABLE ctx_nulls AS SELECT * FROM ctx_train;
INSERT INTO ctx_nulls VALUES (1, NULL, 3), (NULL, 0, 5), (NULL, NULL, 7);
SELECT irec_train('ctx_nulls', context_columns => ARRAY['user_id', 'daypart'], model => 'ctx_n', dims => 8,
                  epochs => 2, quiet => true);
SELECT n_interactions - (SELECT n_interactions FROM irec_models WHERE name = 'ctx_sum') AS more_pairs,
       n_skipped_rows, n_users - (SELECT n_users FROM irec_models WHERE name = 'ctx_sum') AS more_contexts
  FROM irec_models WHERE name = 'ctx_n';
-- a weight column: log confidence with ε the median summed weight, as for plain models
CREATE TABLE ctx_weighted AS SELECT *, 1 + (item_id % 5) AS w FROM ctx_train;
SELECT irec_train('ctx_weighted', weight_column => 'w', context_columns => ARRAY['user_id', 'daypart'],
                  model => 'ctx_w', dims => 8, epochs => 2, quiet => true);
SELECT params->>'confidence' AS confidence, params->>'epsilon' AS epsilon, weight_column
  FROM irec_models WHERE name = 'ctx_w';
SELECT count(*) AS rows FROM irec_recommend_context('ctx_w', '{"user_id": 3, "daypart": 0}', 5);
-- the heap reader (plain tables) and the SQL path (here a view) read the same
-- model: repeated rows summed, NULL fields absent, rows with no item, no
-- field or no weight skipped, text values numbered by their bytes
CREATE TABLE ctx_paths AS SELECT user_id, 'part ' || daypart AS part, item_id, w FROM ctx_weighted;
INSERT INTO ctx_paths SELECT user_id, part, item_id, 2 FROM ctx_paths WHERE item_id % 7 = 0;
INSERT INTO ctx_paths VALUES (1, NULL, 3, 1), (NULL, 'part 0', 5, 2), (NULL, NULL, 7, 1), (2, 'part 1', NULL, 1),
                             (3, 'part 2', 4, NULL);
CREATE VIEW ctx_paths_view AS SELECT * FROM ctx_paths;
SELECT irec_train(t, weight_column => 'w', context_columns => ARRAY['user_id', 'part'], model => m, dims => 8,
                  epochs => 3, threads => 1, quiet => true)
  FROM (VALUES ('ctx_paths', 'ctx_heap'), ('ctx_paths_view', 'ctx_sql')) v(t, m);
SELECT h.n_interactions = s.n_interactions AS same_pairs, h.n_skipped_rows AS skipped,
       h.n_skipped_rows = s.n_skipped_rows AS same_skipped, h.n_users = s.n_users AS same_contexts,
       h.loss = s.loss AS same_loss
  FROM irec_models h, irec_models s WHERE h.name = 'ctx_heap' AND s.name = 'ctx_sql';
SELECT (SELECT count(*) FROM ctx_heap_items h FULL JOIN ctx_sql_items s USING (item_id)
         WHERE h.embedding IS DISTINCT FROM s.embedding) AS items_differing,
       (SELECT count(*) FROM ctx_heap_ctx_part h FULL JOIN ctx_sql_ctx_part s USING (part)
         WHERE h.embedding IS DISTINCT FROM s.embedding) AS parts_differing,
       (SELECT count(*) FROM ctx_heap_ctx_user_id h FULL JOIN ctx_sql_ctx_user_id s USING (user_id)
         WHERE h.embedding IS DISTINCT FROM s.embedding) AS users_differing;
INSERT INTO ctx_weighted VALUES (1, 0, 2, -5);
SELECT irec_train('ctx_weighted', weight_column => 'w', context_columns => ARRAY['user_id', 'daypart'],
                  model => 'ctx_w', dims => 8, epochs => 2, quiet => true);
-- hostile identifiers: a field column that needs quoting
CREATE TABLE "ctx odd" ("user id" bigint, "day""part" text, item_id int);
INSERT INTO "ctx odd" SELECT user_id, 'd' || daypart, item_id FROM ctx_train;
SELECT irec_train('"ctx odd"', context_columns => ARRAY['user id', 'day"part'], model => 'ctx_odd', dims => 8,
                  epochs => 2, quiet => true);
SELECT count(*) AS rows FROM irec_recommend_context('ctx_odd', '{"user id": 3, "day\"part": "d1"}', 4);
-- id types: uuid and varchar fields, bigint items (each numbered by its key bytes)
CREATE TABLE ctx_types AS
SELECT md5(user_id::text)::uuid AS u, ('part ' || daypart)::varchar AS part, item_id::bigint * 10000000000 AS item
  FROM ctx_train;
SELECT irec_train('ctx_types', item_column => 'item', context_columns => ARRAY['u', 'part'], model => 'ctx_t',
                  dims => 8, epochs => 10, quiet => true);
SELECT (SELECT count(*) FROM ctx_t_ctx_u) AS users, (SELECT string_agg(part, ', ' ORDER BY part) FROM ctx_t_ctx_part) AS parts,
       (SELECT pg_typeof(item)::text FROM ctx_types LIMIT 1) AS item_type, n_users AS contexts
  FROM irec_models WHERE name = 'ctx_t';
SELECT avg((t.item_id * 10000000000 = (SELECT r.item_id::bigint FROM irec_recommend_context('ctx_t',
             jsonb_build_object('u', md5(t.user_id::text)::uuid, 'part', 'part ' || t.daypart), 1) r))::int) >= 0.9
       AS hits_with_other_id_types
  FROM ctx_test t;
-- the previous item by time, as a field
CREATE TABLE ctx_seq (user_id int, item_id int, t int);
INSERT INTO ctx_seq VALUES (1, 10, 3), (1, 11, 1), (1, 12, 2), (2, 10, 5), (2, 13, 5), (2, 14, 9);
SELECT irec_add_previous_item('ctx_seq', 't');
SELECT * FROM ctx_seq_sequence ORDER BY user_id, t, item_id;
SELECT irec_add_previous_item('ctx_seq', 't', previous_column => 'before', target => 'public."ctx seq 2"');
SELECT count(*), count(before) FROM "ctx seq 2";
SELECT irec_add_previous_item('ctx_seq', 't', target => 'ctx_seq_3')::text AS beside_the_source;
-- errors
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'nope']);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'item_id']);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'user_id']);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', NULL]);
SELECT irec_train('ctx_train', context_columns => ARRAY[]::text[]);
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], algorithm => 'softmax');
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], validation => 'ctx_test');
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], context_model => 'mean');
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id'], context_model => 'product');
SELECT irec_train('ctx_train', context_model => 'product');
SELECT irec_train('ctx_train', context_columns => ARRAY['user_id', 'daypart'], context_model => NULL);
CREATE TABLE ctx_empty (LIKE ctx_train);
SELECT irec_train('ctx_empty', context_columns => ARRAY['user_id', 'daypart']);
SELECT * FROM irec_recommend('ctx_sum', 5);
SELECT * FROM irec_recommend_context('ctx_mf', '{"user_id": 5}');
SELECT * FROM irec_recommend_context('ctx_sum', '{"user_id": 5, "hour": 3}');
SELECT * FROM irec_recommend_context('ctx_sum', '[5, 1]');
SELECT * FROM irec_recommend_context('ctx_sum', '{"user_id": [5]}');
SELECT * FROM irec_recommend_context('ctx_sum', '{"user_id": 123456, "daypart": 9}');
SELECT * FROM irec_recommend_context('ctx_sum', '{"user_id": "x"}');
SELECT * FROM irec_recommend_context('ctx_sum', NULL);
SELECT * FROM irec_recommend_context('ctx_sum', '{"user_id": 5}', -1);
SELECT * FROM irec_recommend_context('nope', '{"user_id": 5}');
SELECT irec_fold_in_context('ctx_sum', '{"user_id": 5, "daypart": 1}', ARRAY[1]);
SELECT irec_fold_in_context('ctx_sum', '{"user_id": 5000, "daypart": 9}', ARRAY[1]);
SELECT irec_fold_in_context('ctx_sum', '{"user_id": 5000, "daypart": 1}', ARRAY[4000]);
SELECT irec_fold_in_context('ctx_sum', '{"user_id": 5000, "daypart": 1}', ARRAY['a']);
SELECT * FROM irec_evaluate('ctx_sum', 'ctx_test', user_column => 'user_id');
SELECT * FROM irec_evaluate('ctx_sum', 'ctx_seq');
SELECT irec_add_previous_item('ctx_seq', 'when');
SELECT irec_add_previous_item('ctx_seq', 't', target => 'x; DROP TABLE ctx_seq');
SELECT irec_add_previous_item('ctx_seq_sequence', 't');
