#!/usr/bin/env bash
# The SQL part of the demo, against the cluster test/demo.sh started, on a
# table plays(user_id, item_id, weight).
set -euo pipefail
psql() { command psql -X -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql <<'SQL'
\echo == split: 20% of the items of each user held out (seeded)
SELECT train_table, test_table, train_rows, test_rows, test_users FROM irec_split('plays', seed => 1);

\echo == train iALS (64 dims, log confidence on the play counts)
SELECT irec_train('plays_train', weight_column => 'weight', confidence => 'log', epochs => 12);

\echo == evaluate: full ranking over all items, training items excluded, k = 20
SELECT 'iALS' AS model, round(recall::numeric, 4) AS "recall@20", round(ndcg::numeric, 4) AS "ndcg@20",
       round("precision"::numeric, 4) AS "precision@20", round(auc::numeric, 4) AS auc, users_evaluated
  FROM irec_evaluate('plays_train', 'plays_test')
UNION ALL
SELECT 'popularity', round(recall::numeric, 4), round(ndcg::numeric, 4), round("precision"::numeric, 4),
       round(auc::numeric, 4), users_evaluated
  FROM irec_evaluate_popularity('plays_train', 'plays_test');

\echo == user 2 played most
SELECT item_id, weight FROM plays_train WHERE user_id = 2 ORDER BY weight DESC LIMIT 5;
\echo == recommended for user 2 (items they played are skipped)
SELECT r.item_id, round(r.score::numeric, 3) AS score,
       EXISTS (SELECT 1 FROM plays_test t WHERE t.user_id = 2 AND t.item_id = r.item_id) AS held_out_hit
  FROM irec_recommend('plays_train', 2, 10) r;

\echo == a new user who played items 51, 52 and 53: fold in, then recommend
SELECT l2_norm(irec_fold_in('plays_train', ARRAY[51, 52, 53])) AS new_user_embedding_norm;
SELECT item_id, round(score::numeric, 3) AS score
  FROM irec_recommend_for_items('plays_train', ARRAY[51, 52, 53], 5);

SELECT item_id AS top_item FROM plays_train GROUP BY item_id ORDER BY count(*) DESC, item_id LIMIT 1 \gset
\echo == items most similar to the most played item, :top_item (cosine)
SELECT item_id, round(score::numeric, 3) AS similarity FROM irec_similar_items('plays_train', :top_item, 5);
SQL
