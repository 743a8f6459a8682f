-- Metrics, splits and irec_evaluate.
SET extra_float_digits = 0;
\set SHOW_CONTEXT never
-- metric functions on hand-computed cases: relevant items at ranks 1 and 3
SELECT irec_precision('{3,1}', 2) AS p, irec_recall('{3,1}', 2) AS r, irec_ap('{3,1}', 2) AS ap,
       round(irec_ndcg('{3,1}', 2)::numeric, 6) AS ndcg,   -- 1 / (1 + 1/log2(3)) = 0.613147
       round(irec_auc('{3,1}', 5)::numeric, 6) AS auc;     -- 5 of 6 pairs right
-- AP over ranks 1, 3, 5: (1 + 2/3 + 3/5) / 3 = 0.755556; at n = 2 normalized by min(|R|, n) = 2
SELECT round(irec_ap('{1,3,5}', 5)::numeric, 6) AS ap5, irec_ap('{1,3,5}', 2) AS ap2;
-- a miss
SELECT irec_precision('{2}', 1), irec_recall('{2}', 1), irec_ap('{2}', 1), irec_ndcg('{2}', 1);
-- n larger than the catalogue
SELECT irec_precision('{1,2}', 10), irec_recall('{1,2}', 10), irec_ap('{1,2}', 10),
       irec_ndcg('{1,2}', 10), irec_auc('{1,2}', 3);
-- NULL rank: a relevant item that was not ranked counts as a miss
SELECT irec_recall('{NULL,1}', 5), irec_auc('{NULL,1}', 4);
-- empty relevant sets: only precision is defined
SELECT irec_precision('{}', 5), irec_recall('{}', 5), irec_ap('{}', 5), irec_ndcg('{}', 5),
       irec_auc('{}', 5);
-- NULL arguments give NULL
SELECT irec_recall(NULL, 5) IS NULL AS a, irec_recall('{1}', NULL) IS NULL AS b;
-- bad input
SELECT irec_recall('{1,1}', 5);
SELECT irec_recall('{0}', 5);
SELECT irec_recall('{-3}', 5);
SELECT irec_recall('{1}', 0);
SELECT irec_auc('{6}', 5);
SELECT irec_auc('{1,2,3}', 2);
SELECT irec_ndcg('{{1,2}}', 5);

-- splits
CREATE TABLE ev AS SELECT user_id, item_id, weight,
       timestamp '2026-01-01' + (user_id * 7 + item_id) % 100 * interval '1 hour' AS ts
  FROM irec_synthetic(300, 120, 6000, rank => 8, seed => 4);
INSERT INTO ev VALUES (1000, 1, 1, now());                       -- one interaction: stays in train
INSERT INTO ev SELECT user_id, item_id, weight, ts FROM ev WHERE user_id = 5;  -- duplicate rows
INSERT INTO ev VALUES (NULL, 1, 1, now());                        -- NULL user: train, ignored
SELECT train_table, test_table, fold_in_table, train_rows + test_rows = (SELECT count(*) FROM ev) AS covers,
       test_users FROM irec_split('ev', seed => 1);
-- no (user, item) pair on both sides, duplicates kept together
SELECT count(*) AS shared_pairs FROM ev_train a JOIN ev_test b USING (user_id, item_id);
SELECT count(*) AS user5_rows_in_test, count(DISTINCT item_id) AS user5_pairs_in_test
  FROM ev_test WHERE user_id = 5;
-- about 20% of each user's items, at least one left for training
SELECT round(avg(t.n::numeric / (t.n + r.n)), 2) AS test_share, min(r.n) AS min_train_items
  FROM (SELECT user_id, count(DISTINCT item_id) AS n FROM ev_test GROUP BY 1) t
  JOIN (SELECT user_id, count(DISTINCT item_id) AS n FROM ev_train GROUP BY 1) r USING (user_id);
SELECT count(*) AS single_user_in_test FROM ev_test WHERE user_id = 1000;
-- same seed, same split; another seed, another split
SELECT * FROM irec_split('ev', name => 'ev_again', seed => 1) \gset
SELECT (SELECT count(*) FROM (SELECT * FROM ev_test EXCEPT ALL SELECT * FROM ev_again_test) d) = 0
   AND (SELECT count(*) FROM ev_test) = (SELECT count(*) FROM ev_again_test) AS same_split;
SELECT * FROM irec_split('ev', name => 'ev_other', seed => 2) \gset
SELECT (SELECT count(*) FROM (SELECT * FROM ev_test EXCEPT ALL SELECT * FROM ev_other_test) d) > 0 AS other_split;
-- last-n by time: each user's latest item goes to test
SELECT test_users FROM irec_split('ev', method => 'last', time_column => 'ts', name => 'ev_last');
SELECT bool_and(t.ts >= r.latest) AS test_is_latest
  FROM ev_last_test t JOIN (SELECT user_id, max(ts) AS latest FROM ev_last_train GROUP BY 1) r USING (user_id);
-- held-out users: no user on both sides; their history goes to fold_in
SELECT fold_in_table, test_users BETWEEN 10 AND 60 AS about_a_tenth
  FROM irec_split('ev', method => 'users', name => 'ev_users', seed => 3);
SELECT count(*) AS users_in_train_and_test
  FROM (SELECT DISTINCT user_id FROM ev_users_train) a JOIN (SELECT DISTINCT user_id FROM ev_users_test) b USING (user_id);
SELECT (SELECT array_agg(DISTINCT user_id ORDER BY user_id) FROM ev_users_test) =
       (SELECT array_agg(DISTINCT user_id ORDER BY user_id) FROM ev_users_fold_in) AS fold_in_users_match;
-- split errors
SELECT irec_split('ev', seed => 1);
SELECT irec_split('ev', method => 'time', name => 'x');
SELECT irec_split('ev', test_fraction => 1, name => 'x');
SELECT irec_split('ev', method => 'last', name => 'x');
SELECT irec_split('ev', user_column => 'who', name => 'x');
SELECT irec_split('ev', min_interactions => 1, name => 'x');
SELECT irec_split('ev', seed => NULL, name => 'x');

-- irec_evaluate against a straightforward SQL formulation of the same protocol
SELECT irec_train('ev_train', dims => 6, epochs => 6, quiet => true);
INSERT INTO ev_test VALUES (5000, 1, 1, now());   -- a user the model does not know: skipped
CREATE TABLE ev_scores AS
  SELECT u.user_id, i.item_id, inner_product(u.embedding, i.embedding) AS score
    FROM ev_train_users u CROSS JOIN ev_train_items i
   WHERE NOT EXISTS (SELECT 1 FROM ev_train t WHERE t.user_id = u.user_id AND t.item_id = i.item_id);
CREATE TABLE ev_ranks AS
  SELECT user_id, item_id, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, item_id) AS rank,
         count(*) OVER (PARTITION BY user_id) AS candidates
    FROM ev_scores;
CREATE TABLE ev_reference AS
  SELECT user_id, array_agg(r.rank::int) AS ranks, min(r.candidates)::int AS candidates
    FROM (SELECT DISTINCT user_id, item_id FROM ev_test) t
    JOIN ev_ranks r USING (user_id, item_id)
   GROUP BY user_id;
SELECT abs(e.recall - r.recall) < 1e-9 AS recall, abs(e.precision - r.precision) < 1e-9 AS "precision",
       abs(e.ndcg - r.ndcg) < 1e-9 AS ndcg, abs(e.ap - r.ap) < 1e-9 AS ap, abs(e.auc - r.auc) < 1e-9 AS auc,
       e.users_evaluated = r.users AS users, e.users_skipped
  FROM irec_evaluate('ev_train', 'ev_test', k => 10) e,
       (SELECT avg(irec_recall(ranks, 10)) AS recall, avg(irec_precision(ranks, 10)) AS precision,
               avg(irec_ndcg(ranks, 10)) AS ndcg, avg(irec_ap(ranks, 10)) AS ap,
               avg(irec_auc(ranks, candidates)) AS auc, count(*) AS users FROM ev_reference) r;
-- the popularity baseline against the same formulation (ties by item id)
CREATE TABLE ev_pop_ranks AS
  SELECT u.user_id, i.item_id,
         row_number() OVER (PARTITION BY u.user_id ORDER BY i.n DESC, i.item_id) AS rank,
         count(*) OVER (PARTITION BY u.user_id) AS candidates
    FROM (SELECT DISTINCT user_id FROM ev_test) u
    CROSS JOIN (SELECT item_id, count(DISTINCT user_id) AS n FROM ev_train GROUP BY item_id) i
   WHERE NOT EXISTS (SELECT 1 FROM ev_train t WHERE t.user_id = u.user_id AND t.item_id = i.item_id);
SELECT abs(e.recall - r.recall) < 1e-9 AS recall, abs(e.ndcg - r.ndcg) < 1e-9 AS ndcg,
       abs(e.auc - r.auc) < 1e-9 AS auc, e.users_evaluated = r.users AS users
  FROM irec_evaluate_popularity('ev_train', 'ev_test', k => 10) e,
       (SELECT avg(irec_recall(ranks, 10)) AS recall, avg(irec_ndcg(ranks, 10)) AS ndcg,
               avg(irec_auc(ranks, candidates)) AS auc, count(*) AS users
          FROM (SELECT user_id, array_agg(r.rank::int) AS ranks, min(r.candidates)::int AS candidates
                  FROM (SELECT DISTINCT user_id, item_id FROM ev_test) t
                  JOIN ev_pop_ranks r USING (user_id, item_id) GROUP BY user_id) x) r;
-- on data with planted preferences, iALS beats the popularity baseline
CREATE TABLE planted AS SELECT user_id, item_id FROM irec_synthetic(3000, 1500, 90000, seed => 8);
SELECT test_users > 2500 AS split_ok FROM irec_split('planted', seed => 1);
SELECT irec_train('planted_train', epochs => 8, quiet => true);
SELECT m.ndcg > 1.3 * p.ndcg AS ials_beats_popularity, m.recall > p.recall AS recall_too
  FROM irec_evaluate('planted_train', 'planted_test') m,
       irec_evaluate_popularity('planted_train', 'planted_test') p;
-- bad input
SELECT * FROM irec_evaluate('no_such_model', 'ev_test');
SELECT * FROM irec_evaluate('ev_train', 'ev_test', k => 0);
SELECT * FROM irec_evaluate(NULL, 'ev_test');
SELECT * FROM irec_evaluate('ev_train', 'ev_test', threads => -1);
CREATE TABLE ev_text_ids (user_id text, item_id text);
SELECT * FROM irec_evaluate('ev_train', 'ev_text_ids');
SELECT * FROM irec_evaluate('ev_train', 'ev_test', user_column => 'nobody');
SELECT * FROM irec_evaluate_popularity('ev_train', 'ev_text_ids');
DROP TABLE ev_train_items;
SELECT * FROM irec_evaluate('ev_train', 'ev_test');
-- the memory bound is checked before the evaluation allocates its item matrix
CREATE TABLE ev_big AS SELECT user_id, item_id FROM irec_synthetic(20000, 200000, 400000, seed => 3);
SELECT irec_train('ev_big', dims => 16, epochs => 1, quiet => true);
SET irec.max_training_memory = '16MB';
SELECT * FROM irec_evaluate('ev_big', 'ev_big');
RESET irec.max_training_memory;
DELETE FROM irec_models WHERE name = 'ev_big';
DROP TABLE ev_big, ev_big_users, ev_big_items;
DROP TABLE ev, ev_train, ev_test, ev_again_train, ev_again_test, ev_other_train, ev_other_test,
  ev_last_train, ev_last_test, ev_users_train, ev_users_test, ev_users_fold_in, ev_scores, ev_ranks,
  ev_reference, ev_pop_ranks, planted, planted_train, planted_test, ev_text_ids CASCADE;
