#!/usr/bin/env bash
# The SQL part of the demo, against the cluster test/demo.sh started.
set -euo pipefail
psql() { command psql -X -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql <<'SQL'
\echo == training iALS (64 dims) on the play counts
SELECT irec_train('plays', weight_column => 'weight', confidence => 'log', dims => 64, epochs => 12);
SELECT name, n_users, n_items, n_interactions, round(seconds::numeric, 2) AS seconds
  FROM irec_models WHERE name = 'plays';
\echo == user 2 listened to
SELECT item_id, weight FROM plays WHERE user_id = 2 ORDER BY weight DESC LIMIT 5;
\echo == top 10 new items for user 2, by inner product
SELECT i.item_id, round((-(i.embedding <#> u.embedding))::numeric, 3) AS score
  FROM plays_items i, plays_users u
 WHERE u.user_id = 2
   AND NOT EXISTS (SELECT 1 FROM plays p WHERE p.user_id = 2 AND p.item_id = i.item_id)
 ORDER BY i.embedding <#> u.embedding LIMIT 10;
SQL
