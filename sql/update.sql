-- irec_update, warm-started training and diversified serving (0.7.0).
SET client_min_messages = warning;
SET extra_float_digits = 0;
CREATE TABLE plays AS
  SELECT user_id, item_id, weight, timestamptz '2026-01-01' + (user_id * 7 + item_id) % 100 * interval '1 hour' AS ts
    FROM irec_synthetic(n_users => 300, n_items => 120, n_interactions => 5000, seed => 5);
CREATE INDEX ON plays (user_id);
CREATE INDEX ON plays (item_id);
SELECT irec_train('plays', weight_column => 'weight', model => 'up', dims => 6, epochs => 6,
                  solver => 'cholesky', quiet => true);
CREATE INDEX up_items_ivf ON up_items USING ipivf (embedding) WITH (lists = 6);

-- The reference: one exact iALS step computed by the SQL engine's aggregates
-- (an independent implementation) from the whole source and the other side.
CREATE FUNCTION ref_step(side text, ids bigint[]) RETURNS TABLE (id bigint, e real[])
LANGUAGE plpgsql AS $$
DECLARE p jsonb; n_other bigint;
BEGIN
	SELECT params INTO p FROM irec_models WHERE name = 'up';
	IF side = 'users' THEN
		SELECT count(*) INTO n_other FROM up_items;
		RETURN QUERY
		WITH pairs AS (SELECT user_id AS row_id, item_id AS other, sum(weight)::float8 AS w FROM plays
		                WHERE user_id = ANY (ids) GROUP BY 1, 2),
		     g AS (SELECT irec_gramian(embedding) AS gram FROM up_items)
		SELECT pairs.row_id::bigint, irec_ials_solve(irec_ials_accum(i.embedding,
		           1 + (p->>'alpha')::float8 * ln(1 + pairs.w / (p->>'epsilon')::float8), (p->>'unobserved_weight')::float8),
		         (SELECT gram FROM g), (p->>'regularization')::float8, (p->>'regularization_exponent')::float8,
		         (p->>'unobserved_weight')::float8, n_other)::real[]
		  FROM pairs JOIN up_items i ON i.item_id = pairs.other GROUP BY pairs.row_id;
	ELSE
		SELECT count(*) INTO n_other FROM up_users;
		RETURN QUERY
		WITH pairs AS (SELECT item_id AS row_id, user_id AS other, sum(weight)::float8 AS w FROM plays
		                WHERE item_id = ANY (ids) GROUP BY 1, 2),
		     g AS (SELECT irec_gramian(embedding) AS gram FROM up_users)
		SELECT pairs.row_id::bigint, irec_ials_solve(irec_ials_accum(u.embedding,
		           1 + (p->>'alpha')::float8 * ln(1 + pairs.w / (p->>'epsilon')::float8), (p->>'unobserved_weight')::float8),
		         (SELECT gram FROM g), (p->>'regularization')::float8, (p->>'regularization_exponent')::float8,
		         (p->>'unobserved_weight')::float8, n_other)::real[]
		  FROM pairs JOIN up_users u ON u.user_id = pairs.other GROUP BY pairs.row_id;
	END IF;
END $$;
-- largest componentwise difference between a model table's rows and the reference
CREATE FUNCTION ref_gap(side text, ids bigint[]) RETURNS float8 LANGUAGE sql AS $$
	SELECT max(abs(a - b)) FROM ref_step(side, ids) r
	  JOIN (SELECT user_id::bigint AS id, embedding::real[] AS e FROM up_users WHERE side = 'users'
	        UNION ALL SELECT item_id, embedding::real[] FROM up_items WHERE side = 'items') m USING (id),
	  LATERAL unnest(r.e, m.e) AS x(a, b) $$;

-- new interactions for a known user, and a new user on known items
INSERT INTO plays VALUES (5, 7, 3, '2026-02-01'), (5, 9, 1, '2026-02-01'),
                         (100000, 7, 2, '2026-02-01'), (100000, 12, 5, '2026-02-01');
SELECT ref_gap('users', ARRAY[5, 100000]) > 1e-3 AS user_5_is_stale;
SELECT users_updated, users_added, users_removed, items_updated, items_added, items_removed
  FROM irec_update('up', users => ARRAY[5, 100000, 5]);
-- each updated user equals an exact user step over the whole data
SELECT ref_gap('users', ARRAY[5, 100000]) < 1e-4 AS users_equal_exact_step;
SELECT n_users, n_items, updated_at IS NOT NULL AS updated FROM irec_models WHERE name = 'up';
-- fold-in of the user's whole history gives the updated row too
SELECT max(abs(a - b)) < 1e-4 AS fold_in_agrees
  FROM (SELECT irec_fold_in('up', array_agg(item_id), array_agg(weight::real))::real[] AS f
          FROM plays WHERE user_id = 5) f, up_users u, LATERAL unnest(f.f, u.embedding::real[]) AS x(a, b)
 WHERE u.user_id = 5;
-- the stored item Gramian is untouched by a users' update
SELECT max(abs(a - b)) < 1e-3 AS gramian_still_current
  FROM irec_model_gramians g, (SELECT irec_gramian(embedding) AS gram FROM up_items) r,
       LATERAL unnest(g.item_gramian, r.gram) AS x(a, b) WHERE g.name = 'up';

-- items: a known one with new rows and a new one; the new item is solved
-- first, so that the users' step can see it
INSERT INTO plays VALUES (11, 7, 4, '2026-02-02'), (12, 1000, 2, '2026-02-02'), (13, 1000, 1, '2026-02-02');
SELECT users_updated, users_added, items_updated, items_added
  FROM irec_update('up', users => ARRAY[11, 12, 13], items => ARRAY[7, 1000]);
SELECT ref_gap('items', ARRAY[7, 1000]) < 1e-4 AS items_equal_exact_step;
SELECT count(*) AS new_item_rows FROM up_items WHERE item_id = 1000;
SELECT max(abs(a - b)) < 1e-4 AS stored_gramian_follows_items
  FROM irec_model_gramians g, (SELECT irec_gramian(embedding) AS gram FROM up_items) r,
       LATERAL unnest(g.item_gramian, r.gram) AS x(a, b) WHERE g.name = 'up';
SELECT n_items FROM irec_models WHERE name = 'up';
-- the index took the changes: it checks clean and answers as an exact scan
SELECT missing, duplicated FROM irec_index_check('up_items_ivf');
SET enable_seqscan = off; SET irec.probes = 0;
SELECT array_agg(item_id) = (SELECT array_agg(item_id) FROM (SELECT item_id FROM up_items
         ORDER BY (embedding <#> (SELECT embedding FROM up_users WHERE user_id = 5)) + 0, item_id LIMIT 10) s)
       AS index_answers_exactly
  FROM (SELECT item_id FROM up_items ORDER BY embedding <#> (SELECT embedding FROM up_users WHERE user_id = 5)
         LIMIT 10) s;
RESET enable_seqscan; RESET irec.probes;

-- a user whose rows are all gone loses their row
DELETE FROM plays WHERE user_id = 20;
SELECT users_updated, users_removed FROM irec_update('up', users => ARRAY[20]);
SELECT count(*) FROM up_users WHERE user_id = 20;

-- since: the users (and with_items, the items) with rows at or after it
SELECT users_updated, users_added, items_updated
  FROM irec_update('up', since => '2026-02-02', time_column => 'ts');
SELECT users_updated, items_updated
  FROM irec_update('up', since => '2026-02-02', time_column => 'ts', with_items => true);
-- a numeric time column holds Unix seconds
ALTER TABLE plays ADD COLUMN epoch bigint;
UPDATE plays SET epoch = extract(epoch FROM ts)::bigint;
SELECT users_updated FROM irec_update('up', since => '2026-02-02', time_column => 'epoch');

-- the change log: statement triggers record (user, item); irec_update consumes it
SELECT irec_track_changes('up');
INSERT INTO plays (user_id, item_id, weight) VALUES (30, 7, 1), (31, 8, 1);
UPDATE plays SET weight = weight + 1 WHERE user_id = 32;
DELETE FROM plays WHERE user_id = 33 AND item_id IN (SELECT item_id FROM plays WHERE user_id = 33 LIMIT 1);
SELECT array_agg(DISTINCT user_id ORDER BY user_id) FROM up_changes;
SELECT users_updated, items_updated FROM irec_update('up');
SELECT users_updated, items_updated FROM irec_update('up', with_items => true);
SELECT count(*) AS log_left FROM up_changes;
SELECT ref_gap('users', ARRAY[30, 31, 32, 33]) < 1e-4 AS logged_users_equal_exact_step;
SELECT irec_track_changes('up', enabled => false);
SELECT to_regclass('up_changes') IS NULL AS log_dropped,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'plays'::regclass AND tgname LIKE 'irec_log_%') AS triggers;

-- errors
\set VERBOSITY terse
SELECT * FROM irec_update('up');
SELECT * FROM irec_update('up', since => now());
SELECT * FROM irec_update('up', since => now(), time_column => 'nope');
SELECT * FROM irec_update('up', since => now(), time_column => 'item_id2');
SELECT * FROM irec_update('up', users => ARRAY[1.5]);
SELECT * FROM irec_update('up', users => ARRAY[1, NULL]);
SELECT * FROM irec_update('up', users => ARRAY[[1, 2], [3, 4]]);
SELECT * FROM irec_update('nope', users => ARRAY[1]);
SELECT * FROM irec_update(NULL, users => ARRAY[1]);
SELECT * FROM irec_update('up', with_items => NULL);
SELECT irec_train('plays', model => 'up_bpr', algorithm => 'bpr', dims => 4, epochs => 1, quiet => true);
SELECT * FROM irec_update('up_bpr', users => ARRAY[1]);
SELECT irec_track_changes('nope');
CREATE VIEW plays_view AS SELECT * FROM plays;
SELECT irec_train('plays_view', model => 'upv', dims => 4, epochs => 1, quiet => true);
SELECT irec_track_changes('upv');
UPDATE plays SET weight = 'NaN' WHERE user_id = 40;
SELECT * FROM irec_update('up', users => ARRAY[40]);
\set VERBOSITY default

-- warm start: after more data arrives, a few warm epochs reach the loss a
-- full training from scratch reaches
CREATE TABLE grow AS SELECT * FROM irec_synthetic(n_users => 400, n_items => 200, n_interactions => 8000, seed => 9);
CREATE TABLE grow_old AS SELECT * FROM grow WHERE (user_id * 31 + item_id) % 10 <> 0;
SELECT irec_train('grow_old', model => 'grow', dims => 8, epochs => 12, quiet => true);
SELECT irec_train('grow', model => 'grow_cold', dims => 8, epochs => 12, quiet => true);
SELECT irec_train('grow', model => 'grow', dims => 8, epochs => 3, warm_start => true, quiet => true);
SELECT w.loss[3] <= c.loss[12] * 1.001 AS warm_3_epochs_reach_cold_12,
       w.loss[1] < c.loss[1] AS warm_starts_lower,
       (w.params->>'warm_start')::boolean AS recorded
  FROM irec_models w, irec_models c WHERE w.name = 'grow' AND c.name = 'grow_cold';
SELECT irec_train('grow', model => 'grow_new', dims => 8, epochs => 1, warm_start => true, quiet => true);
-- every algorithm starts from the model's embeddings: a sampled-softmax
-- model's first warm epoch is below its first cold one
SELECT irec_train('grow_old', model => 'grow_sm', algorithm => 'softmax', dims => 8, epochs => 10,
                  negatives => 32, threads => 1, quiet => true);
SELECT irec_train('grow', model => 'grow_sm_cold', algorithm => 'softmax', dims => 8, epochs => 1,
                  negatives => 32, threads => 1, quiet => true);
SELECT irec_train('grow', model => 'grow_sm', algorithm => 'softmax', dims => 8, epochs => 1,
                  negatives => 32, threads => 1, warm_start => true, quiet => true);
SELECT w.loss[1] < c.loss[1] AS softmax_warm_starts_lower
  FROM irec_models w, irec_models c WHERE w.name = 'grow_sm' AND c.name = 'grow_sm_cold';
\set VERBOSITY terse
SELECT irec_train('grow', model => 'grow', dims => 4, epochs => 1, warm_start => true);
SELECT irec_train('grow', model => 'grow', dims => 8, epochs => 1, warm_start => true, engine => 'sql');
SELECT irec_train('grow', model => 'grow', dims => 8, epochs => 1, warm_start => NULL);
\set VERBOSITY default

-- diversity: five orthogonal clusters of eight near-duplicates, the user
-- closest to cluster 1, then 2, ...
CREATE TABLE dv AS SELECT u AS user_id, i AS item_id FROM generate_series(1, 5) u, generate_series(1, 40) i;
SELECT irec_train('dv', model => 'dv', dims => 5, epochs => 1, quiet => true);
UPDATE dv_items SET embedding = ARRAY(SELECT CASE WHEN j = (item_id - 1) / 8 THEN 1 + 0.01 * ((item_id - 1) % 8) ELSE 0 END
                                      FROM generate_series(0, 4) j)::real[]::embedding;
UPDATE dv_users SET embedding = '[1, 0.9, 0.8, 0.7, 0.6]' WHERE user_id = 1;
CREATE FUNCTION mean_sim(ids int[]) RETURNS float8 LANGUAGE sql AS $$
	SELECT avg(1 - (a.embedding <=> b.embedding)) FROM dv_items a, dv_items b
	 WHERE a.item_id = ANY (ids) AND b.item_id = ANY (ids) AND a.item_id < b.item_id $$;
-- diversity 0 is the plain answer, row for row
SELECT array_agg(item_id) = (SELECT array_agg(item_id) FROM irec_recommend('dv', 1, 10, false)) AS zero_is_plain
  FROM irec_recommend('dv', 1, 10, false, diversity => 0);
SELECT d, array_agg(item_id) AS items, round(mean_sim(array_agg(item_id))::numeric, 3) AS mean_similarity
  FROM unnest(ARRAY[0, 0.25, 0.5, 0.75, 1]) d, LATERAL irec_recommend('dv', 1, 10, false, diversity => d)
 GROUP BY d ORDER BY d;
SELECT bool_and(s <= lag_s + 1e-9) AS similarity_never_rises FROM (
  SELECT s, lag(s) OVER (ORDER BY d) AS lag_s FROM (
    SELECT d, mean_sim(array_agg(item_id)) AS s
      FROM generate_series(0, 20) k, LATERAL (SELECT k / 20.0 AS d) dd,
           LATERAL irec_recommend('dv', 1, 10, false, diversity => dd.d) GROUP BY d) t) t2 WHERE lag_s IS NOT NULL;
SELECT array_agg(item_id) AS similar_diverse FROM irec_similar_items('dv', 1, 5, diversity => 0.5);
SELECT array_agg(item_id) AS session_diverse FROM irec_recommend_for_items('dv', ARRAY[1, 2], 5, diversity => 0.5);
\set VERBOSITY terse
SELECT * FROM irec_recommend('dv', 1, 10, diversity => 1.5);
SELECT * FROM irec_recommend('dv', 1, 10, diversity => 'NaN');
SELECT * FROM irec_similar_items('dv', 1, 10, diversity => NULL);
\set VERBOSITY default
DROP TABLE plays, grow, grow_old, dv CASCADE;
DROP FUNCTION ref_step, ref_gap, mean_sim;
