-- irec_train: iALS end to end.
SET extra_float_digits = 0;
SET client_min_messages = notice;
-- a tiny problem: 8 users × 6 items
CREATE TABLE tiny (user_id int, item_id int, plays real);
INSERT INTO tiny VALUES
  (1,1,3),(1,2,1),(2,2,5),(2,3,1),(3,1,1),(3,4,2),(4,5,1),(4,6,4),
  (5,1,2),(5,5,1),(6,3,3),(6,6,1),(7,2,1),(7,4,1),(8,6,2),(8,1,1);
SELECT irec_train('tiny', weight_column => 'plays', dims => 3, epochs => 20,
                  solver => 'cholesky', regularization => 0.05, confidence => 'linear',
                  regularization_exponent => 0.5, unobserved_weight => 0.2,
                  alpha => 0.5, quiet => true);
SELECT name, source, users_table, items_table, algorithm, dims, epochs, n_users, n_items,
       n_interactions, n_skipped_rows, array_length(loss, 1) AS losses,
       params->>'solver' AS solver, params->>'regularization' AS lambda
  FROM irec_models WHERE name = 'tiny';
-- exact alternating minimization never increases the loss
SELECT bool_and(loss[e] <= loss[e - 1] * (1 + 1e-6)) AS loss_non_increasing
  FROM irec_models, generate_series(2, 20) e WHERE name = 'tiny';
-- The last half-step solved the items exactly, so the gradient of the loss
-- (written out over every user × item pair, no Gramian trick) vanishes:
-- Σ_u w_ui(⟨φ_u,ψ_i⟩ − y_ui)·φ_u + λ_i·ψ_i = 0,  w = 1 + 0.5·plays if observed, else 0.2.
WITH u AS (SELECT user_id, embedding::real[] AS phi FROM tiny_users),
     i AS (SELECT item_id, embedding::real[] AS psi FROM tiny_items),
     pairs AS (
       SELECT i.item_id, u.phi, i.psi,
              coalesce(1 + 0.5 * t.plays, 0.2) AS w, (t.plays IS NOT NULL)::int AS y,
              (SELECT sum(u.phi[k] * i.psi[k]) FROM generate_series(1, 3) k) AS score
         FROM u CROSS JOIN i LEFT JOIN tiny t ON t.user_id = u.user_id AND t.item_id = i.item_id),
     counts AS (SELECT item_id, count(*) AS n FROM tiny GROUP BY item_id),
     grad AS (
       SELECT p.item_id, k,
              sum(p.w * (p.score - p.y) * p.phi[k])
              + 0.05 * sqrt(c.n + 0.2 * 8) * min(p.psi[k]) AS g
         FROM pairs p JOIN counts c USING (item_id), generate_series(1, 3) k
        GROUP BY p.item_id, k, c.n)
SELECT max(abs(g)) < 1e-4 AS item_gradient_vanishes FROM grad;
-- and the users are near their optimum too (one half-step behind)
SELECT count(*) AS users, count(DISTINCT user_id) AS distinct_users,
       bool_and(dims(embedding) = 3) AS dims_ok FROM tiny_users;
-- same seed, same thread count: the same embeddings
SELECT irec_train('tiny', weight_column => 'plays', dims => 3, epochs => 20, solver => 'cholesky',
                  confidence => 'linear', regularization => 0.05, regularization_exponent => 0.5, unobserved_weight => 0.2,
                  alpha => 0.5, quiet => true, model => 'tiny_again');
SELECT bool_and(a.embedding::real[] = b.embedding::real[]) AS reproducible
  FROM tiny_users a JOIN tiny_again_users b USING (user_id);
-- a different seed gives different embeddings
SELECT irec_train('tiny', dims => 3, epochs => 2, seed => 7, quiet => true, model => 'tiny_seed7');
SELECT bool_or(a.embedding::real[] <> b.embedding::real[]) AS seed_matters
  FROM tiny_users a JOIN tiny_seed7_users b USING (user_id);
-- CG converges to the Cholesky solution with enough steps
SELECT irec_train('tiny', weight_column => 'plays', dims => 3, epochs => 20, solver => 'cg', confidence => 'linear',
                  cg_steps => 6, regularization => 0.05, regularization_exponent => 0.5,
                  unobserved_weight => 0.2, alpha => 0.5, quiet => true, model => 'tiny_cg');
SELECT abs(a.loss[20] - b.loss[20]) / a.loss[20] < 1e-3 AS cg_matches_cholesky
  FROM irec_models a, irec_models b WHERE a.name = 'tiny' AND b.name = 'tiny_cg';
-- duplicate rows are summed: two rows of weight 1 train like one row of weight 2
CREATE TABLE dup_a (user_id int, item_id int, w real);
INSERT INTO dup_a SELECT user_id, item_id, plays FROM tiny;
INSERT INTO dup_a VALUES (1, 1, 1.5), (1, 1, 1.5);
CREATE TABLE dup_b (user_id int, item_id int, w real);
INSERT INTO dup_b SELECT user_id, item_id, plays + CASE WHEN user_id = 1 AND item_id = 1 THEN 3 ELSE 0 END FROM tiny;
SELECT irec_train('dup_a', weight_column => 'w', dims => 3, epochs => 3, quiet => true);
SELECT irec_train('dup_b', weight_column => 'w', dims => 3, epochs => 3, quiet => true);
SELECT bool_and(a.embedding::real[] = b.embedding::real[]) AS duplicates_summed
  FROM dup_a_users a JOIN dup_b_users b USING (user_id);
SELECT n_interactions FROM irec_models WHERE name = 'dup_a';
-- without a weight column, duplicate rows count as weight 2
SELECT irec_train('dup_a', dims => 3, epochs => 2, quiet => true, model => 'dup_counted');
SELECT n_interactions FROM irec_models WHERE name = 'dup_counted';
-- id types: bigint, text (with odd values) and uuid keep their values and types
CREATE TABLE typed (u bigint, i text, g uuid);
INSERT INTO typed SELECT 9000000000 + user_id, 'item "' || item_id || E'''\\',
       ('00000000-0000-0000-0000-' || lpad(item_id::text, 12, '0'))::uuid FROM tiny;
SELECT irec_train('typed', user_column => 'u', item_column => 'i', dims => 2, epochs => 2, quiet => true);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'typed_users'::regclass AND attnum > 0 ORDER BY attnum;
SELECT (SELECT array_agg(user_id ORDER BY user_id) FROM typed_users) =
       (SELECT array_agg(DISTINCT u ORDER BY u) FROM typed) AS user_ids_round_trip,
       (SELECT array_agg(item_id ORDER BY item_id) FROM typed_items) =
       (SELECT array_agg(DISTINCT i ORDER BY i) FROM typed) AS item_ids_round_trip;
SELECT irec_train('typed', user_column => 'g', item_column => 'u', dims => 2, epochs => 1,
                  quiet => true, model => 'typed_uuid');
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'typed_uuid_users'::regclass AND attnum > 0 ORDER BY attnum;
SELECT count(*) FROM typed_uuid_users;
-- NULL ids and weights are skipped and counted
CREATE TABLE with_nulls AS SELECT * FROM tiny;
INSERT INTO with_nulls VALUES (NULL, 1, 1), (1, NULL, 1), (2, 2, NULL);
SELECT irec_train('with_nulls', weight_column => 'plays', dims => 2, epochs => 1, quiet => true);
SELECT n_skipped_rows, n_interactions FROM irec_models WHERE name = 'with_nulls';
-- views and partitioned tables are read through the executor
CREATE VIEW tiny_view AS SELECT user_id AS who, item_id AS what FROM tiny WHERE user_id <= 6;
SELECT irec_train('tiny_view', user_column => 'who', item_column => 'what', dims => 2,
                  epochs => 1, quiet => true);
SELECT n_users FROM irec_models WHERE name = 'tiny_view';
CREATE TABLE parted (user_id int, item_id int) PARTITION BY HASH (user_id);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO parted SELECT user_id, item_id FROM tiny;
SELECT irec_train('parted', dims => 2, epochs => 1, quiet => true);
SELECT n_users, n_items, n_interactions FROM irec_models WHERE name = 'parted';
-- hostile identifiers: quoted everywhere
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."a""; DROP TABLE tiny; --" ("User Id" int, "item;id" int);
INSERT INTO "Odd Schema"."a""; DROP TABLE tiny; --" SELECT user_id, item_id FROM tiny;
SELECT irec_train('"Odd Schema"."a""; DROP TABLE tiny; --"', user_column => 'User Id',
                  item_column => 'item;id', dims => 2, epochs => 1, quiet => true);
SELECT count(*) FROM "Odd Schema"."a""; DROP TABLE tiny; --_users";
SELECT count(*) AS tiny_still_there FROM tiny;
SELECT irec_train('tiny', model => '"Odd Schema".MixedModel', dims => 2, epochs => 1, quiet => true);
SELECT count(*) FROM "Odd Schema".mixedmodel_items;
-- retraining replaces the model (here with other dims) in place
SELECT irec_train('tiny', dims => 5, epochs => 1, quiet => true);
SELECT dims, epochs FROM irec_models WHERE name = 'tiny';
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'tiny_items'::regclass AND attname = 'embedding';
-- generated data: seeded, power-law popularity, planted preferences
SELECT count(*) AS n, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items,
       count(DISTINCT (user_id, item_id)) = count(*) AS distinct_pairs,
       min(weight) >= 1 AS weights_are_counts
  FROM irec_synthetic(500, 300, 10000, seed => 3);
SELECT (SELECT array_agg(s ORDER BY s) FROM (SELECT user_id * 1000 + item_id AS s FROM irec_synthetic(100, 50, 1000, seed => 5)) a) =
       (SELECT array_agg(s ORDER BY s) FROM (SELECT user_id * 1000 + item_id AS s FROM irec_synthetic(100, 50, 1000, seed => 5)) b)
       AS same_seed_same_data;
-- the 10% most popular items hold far more than 10% of the interactions
WITH pop AS (SELECT item_id, count(*) AS n FROM irec_synthetic(2000, 1000, 40000, seed => 9) GROUP BY item_id),
     ranked AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS r FROM pop)
SELECT sum(n) FILTER (WHERE r <= 100)::float8 / sum(n) > 0.3 AS heavy_head FROM ranked;
DROP TABLE dup_a, dup_b, typed, with_nulls, parted CASCADE;
-- a plain table is read straight from the heap; a view goes through SQL:
-- both load the same interactions (NULLs skipped, repeats summed, ids
-- numbered in order), so the same exact solves give the same model
CREATE TABLE load_t AS
  SELECT user_id, item_id, 1 + (user_id * 7 + item_id) % 5 AS w FROM irec_synthetic(60, 40, 900, seed => 4);
INSERT INTO load_t VALUES (3, 5, 2), (3, 5, 4), (NULL, 1, 1), (2, NULL, 1), (2, 3, NULL);
-- bigint ids of every sign and far apart (the loader's sorting path)
CREATE TABLE load_b AS
  SELECT user_id * 1000000000007 - 40000000000000 AS user_id, -item_id * 99999999977 AS item_id, w FROM load_t;
CREATE VIEW load_tv AS SELECT * FROM load_t;
CREATE VIEW load_bv AS SELECT * FROM load_b;
CREATE FUNCTION pg_temp.same_model(a text, b text) RETURNS TABLE (same_counts boolean, max_user_diff float8, max_item_diff float8)
LANGUAGE plpgsql AS $$
BEGIN
  same_counts := (SELECT (x.n_users, x.n_items, x.n_interactions, x.n_skipped_rows)
                       = (y.n_users, y.n_items, y.n_interactions, y.n_skipped_rows)
                    FROM irec_models x, irec_models y WHERE x.name = a AND y.name = b);
  EXECUTE format('SELECT max(abs(p.v - q.v)) FROM %I x JOIN %I y USING (user_id),
                  unnest(x.embedding::real[]) WITH ORDINALITY p(v, k)
                  JOIN unnest(y.embedding::real[]) WITH ORDINALITY q(v, k) USING (k)', a || '_users', b || '_users')
    INTO max_user_diff;
  EXECUTE format('SELECT max(abs(p.v - q.v)) FROM %I x JOIN %I y USING (item_id),
                  unnest(x.embedding::real[]) WITH ORDINALITY p(v, k)
                  JOIN unnest(y.embedding::real[]) WITH ORDINALITY q(v, k) USING (k)', a || '_items', b || '_items')
    INTO max_item_diff;
  RETURN NEXT;
END $$;
SELECT irec_train('load_t', weight_column => 'w', dims => 4, epochs => 3, solver => 'cholesky', quiet => true);
SELECT irec_train('load_tv', weight_column => 'w', dims => 4, epochs => 3, solver => 'cholesky', quiet => true);
SELECT irec_train('load_b', weight_column => 'w', dims => 4, epochs => 3, solver => 'cholesky', quiet => true);
SELECT irec_train('load_bv', weight_column => 'w', dims => 4, epochs => 3, solver => 'cholesky', quiet => true);
SELECT n_users, n_items, n_skipped_rows FROM irec_models WHERE name = 'load_t';
SELECT same_counts, max_user_diff < 1e-4 AS users_agree, max_item_diff < 1e-4 AS items_agree
  FROM pg_temp.same_model('load_t', 'load_tv');
SELECT same_counts, max_user_diff < 1e-4 AS users_agree, max_item_diff < 1e-4 AS items_agree
  FROM pg_temp.same_model('load_b', 'load_bv');
SELECT min(user_id) < 0 AND max(user_id) > 0 AS ids_of_both_signs FROM load_b_users;
DROP TABLE load_t, load_b CASCADE;
-- text ids stored out of line in the source's TOAST table: the model's
-- tables hold the values themselves, and outlive their source
CREATE TABLE long_ids (user_id text, item_id int, part int);
ALTER TABLE long_ids ALTER COLUMN user_id SET STORAGE EXTERNAL;
INSERT INTO long_ids
SELECT (SELECT string_agg(md5(u::text || k::text), '') FROM generate_series(1, 70) k), item_id, u % 3
  FROM (SELECT user_id AS u, item_id FROM irec_synthetic(50, 40, 600, seed => 2)) s;
SELECT irec_train('long_ids', model => 'long_plain', dims => 4, epochs => 1, quiet => true);
SELECT irec_train('long_ids', model => 'long_ctx', context_columns => ARRAY['user_id', 'part'], dims => 4,
                  epochs => 1, quiet => true);
CREATE TABLE long_ids_copy AS SELECT DISTINCT user_id FROM long_ids;
DROP TABLE long_ids;
SELECT (SELECT count(*) FROM long_plain_users p JOIN long_ids_copy c USING (user_id)) AS plain_users,
       (SELECT count(*) FROM long_ctx_ctx_user_id p JOIN long_ids_copy c USING (user_id)) AS context_users,
       (SELECT count(*) FROM long_ids_copy) AS source_users;
DROP TABLE long_ids_copy;
