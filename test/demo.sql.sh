#!/usr/bin/env bash
# The SQL part of the demo, against the cluster test/demo.sh started, on a
# table plays(user_id, item_id, weight).
set -euo pipefail
psql() { command psql -X -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql <<'SQL'
\echo == split: 20% of the items of each user held out (seeded)
SELECT train_table, test_table, train_rows, test_rows, test_users FROM irec_split('plays', seed => 1);

\echo == train iALS (64 dims; α0, λ and the log confidence's scale from the data's shape)
SELECT irec_train('plays_train', weight_column => 'weight', epochs => 12);
SELECT params->>'unobserved_weight' AS alpha0, params->>'regularization' AS lambda,
       params->>'confidence' AS confidence, params->>'epsilon' AS epsilon
  FROM irec_models WHERE name = 'plays_train';

\echo == evaluate: full ranking over all items, training items excluded, k = 20
SELECT 'iALS' AS model, round(recall::numeric, 4) AS "recall@20", round(ndcg::numeric, 4) AS "ndcg@20",
       round("precision"::numeric, 4) AS "precision@20", round(auc::numeric, 4) AS auc, users_evaluated
  FROM irec_evaluate('plays_train', 'plays_test')
UNION ALL
SELECT 'popularity', round(recall::numeric, 4), round(ndcg::numeric, 4), round("precision"::numeric, 4),
       round(auc::numeric, 4), users_evaluated
  FROM irec_evaluate_popularity('plays_train', 'plays_test');

\echo == user 2 played most
SELECT a.name AS artist, p.weight AS plays FROM plays_train p JOIN artists a USING (item_id)
 WHERE p.user_id = 2 ORDER BY p.weight DESC LIMIT 5;
\echo == recommended for user 2 (artists they played are skipped)
SELECT a.name AS artist, round(r.score::numeric, 3) AS score,
       EXISTS (SELECT 1 FROM plays_test t WHERE t.user_id = 2 AND t.item_id = r.item_id) AS held_out_hit
  FROM irec_recommend('plays_train', 2, 10) r JOIN artists a USING (item_id) ORDER BY r.score DESC;

SELECT array_agg(item_id ORDER BY item_id) AS picked, string_agg(name, ', ' ORDER BY item_id) AS picked_names
  FROM artists WHERE item_id IN (51, 52, 53) \gset
\echo == a new listener of :picked_names: fold in, then recommend
SELECT l2_norm(irec_fold_in('plays_train', ARRAY[51, 52, 53])) AS new_user_embedding_norm;
SELECT a.name AS artist, round(r.score::numeric, 3) AS score
  FROM irec_recommend_for_items('plays_train', ARRAY[51, 52, 53], 5) r JOIN artists a USING (item_id)
 ORDER BY r.score DESC;

SELECT p.item_id AS top_item, a.name AS top_name FROM plays_train p JOIN artists a USING (item_id)
 GROUP BY p.item_id, a.name ORDER BY count(*) DESC, p.item_id LIMIT 1 \gset
\echo == artists most similar to the most played one, :top_name (cosine)
SELECT a.name AS artist, round(s.score::numeric, 3) AS similarity
  FROM irec_similar_items('plays_train', :top_item, 5) s JOIN artists a USING (item_id) ORDER BY s.score DESC;
SQL
