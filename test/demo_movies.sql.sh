#!/usr/bin/env bash
# The demo's second part, against the cluster test/demo.sh started, on
# ratings(user_id, item_id, rating, ts) and movies(item_id, title, genres)
# from ml-latest-small: ratings of 4 stars or more as positives.
set -euo pipefail
psql() { command psql -X -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql <<'SQL'
CREATE TABLE liked AS SELECT user_id, item_id FROM ratings WHERE rating >= 4 \g /dev/null
\echo == movies: split, then train with early stopping on the held-out part
SELECT train_rows, test_rows, test_users FROM irec_split('liked', seed => 1);
SELECT irec_train('liked_train', epochs => 30, validation => 'liked_test', patience => 3, quiet => true);
SELECT epochs AS epochs_run, best_epoch, round(validation[best_epoch]::numeric, 4) AS "validation ndcg@20"
  FROM irec_models WHERE name = 'liked_train';
SELECT 'iALS' AS model, round(recall::numeric, 4) AS "recall@20", round(ndcg::numeric, 4) AS "ndcg@20"
  FROM irec_evaluate('liked_train', 'liked_test')
UNION ALL
SELECT 'popularity', round(recall::numeric, 4), round(ndcg::numeric, 4)
  FROM irec_evaluate_popularity('liked_train', 'liked_test');

\echo == user 1 liked
SELECT m.title FROM liked_train l JOIN movies m USING (item_id) WHERE l.user_id = 1 ORDER BY m.title LIMIT 5;
\echo == recommended for user 1 (movies they rated are skipped)
SELECT m.title, round(r.score::numeric, 3) AS score
  FROM irec_recommend('liked_train', 1, 8) r JOIN movies m USING (item_id) ORDER BY r.score DESC;
\echo == movies most similar to Toy Story (1995)
SELECT m.title, round(s.score::numeric, 3) AS similarity
  FROM irec_similar_items('liked_train', 1, 6) s JOIN movies m USING (item_id) ORDER BY s.score DESC;
\echo == the same user through an ipivf index: ORDER BY embedding <#> user LIMIT 5 (rated movies included)
CREATE INDEX ON liked_train_items USING ipivf (embedding);
SELECT m.title FROM liked_train_items i JOIN movies m USING (item_id)
 ORDER BY i.embedding <#> (SELECT embedding FROM liked_train_users WHERE user_id = 1) LIMIT 5;
SQL
