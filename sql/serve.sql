-- Serving: recommend, similar items, fold-in, anonymous sessions.
SET extra_float_digits = 0;
CREATE TABLE sv AS SELECT user_id, item_id, weight FROM irec_synthetic(200, 150, 5000, rank => 8, seed => 12);
SELECT irec_train('sv', dims => 8, epochs => 60, solver => 'cholesky', weight_column => 'weight',
                  confidence => 'log', alpha => 2, epsilon => 1, unobserved_weight => 0.1, regularization => 0.01,
                  quiet => true);
-- recommend equals exact search in SQL: same top-10 scores, each score right, nothing seen
CREATE FUNCTION pg_temp.reference(u int, n int) RETURNS TABLE (item_id int, score float8) LANGUAGE sql AS $$
  SELECT i.item_id, inner_product(i.embedding, us.embedding)
    FROM sv_items i, sv_users us
   WHERE us.user_id = u AND NOT EXISTS (SELECT 1 FROM sv s WHERE s.user_id = u AND s.item_id = i.item_id)
   ORDER BY 2 DESC, 1 LIMIT n $$;
SELECT bool_and(ok) AS recommend_matches_exact_search FROM (
  SELECT (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM irec_recommend('sv', u, 10)) =
         (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM pg_temp.reference(u, 10)) AS ok
    FROM generate_series(1, 200, 7) u) s;
SELECT bool_and(abs(r.score - inner_product(i.embedding, us.embedding)) < 1e-5) AS scores_exact,
       bool_and(NOT EXISTS (SELECT 1 FROM sv s WHERE s.user_id = 3 AND s.item_id = r.item_id)) AS none_seen,
       count(*) AS n
  FROM irec_recommend('sv', 3, 15) r JOIN sv_items i USING (item_id), sv_users us WHERE us.user_id = 3;
-- results come best first
SELECT bool_and(score <= prev) AS ordered FROM (
  SELECT score, lag(score, 1, 'Infinity') OVER () AS prev FROM irec_recommend('sv', 4, 30)) s;
-- without exclusion, seen items may come back
SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM sv s WHERE s.user_id = 3 AND s.item_id = r.item_id)) > 0
       AS seen_included
  FROM irec_recommend('sv', 3, 30, exclude_seen => false) r;
-- an unknown or NULL user gives no rows; n larger than the catalogue gives every candidate
SELECT count(*) FROM irec_recommend('sv', 99999, 10);
SELECT count(*) FROM irec_recommend('sv', NULL::int, 10);
SELECT count(*) + (SELECT count(DISTINCT item_id) FROM sv WHERE user_id = 3) = (SELECT count(*) FROM sv_items)
       AS all_candidates
  FROM irec_recommend('sv', 3, 100000);
-- bigint argument against integer ids: converted both ways
SELECT count(*) FROM irec_recommend('sv', 3::bigint, 5);
-- similar items: cosine similarity, the item itself left out
SELECT bool_and(abs(r.score - (1 - (a.embedding <=> b.embedding))) < 1e-5) AS cosine,
       bool_and(r.item_id <> 7) AS self_excluded, count(*) AS n
  FROM irec_similar_items('sv', 7, 10) r JOIN sv_items a ON a.item_id = r.item_id, sv_items b WHERE b.item_id = 7;
SELECT (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM irec_similar_items('sv', 7, 10)) =
       (SELECT array_agg(round(s::numeric, 5) ORDER BY s DESC) FROM
          (SELECT 1 - (a.embedding <=> b.embedding) AS s FROM sv_items a, sv_items b
            WHERE b.item_id = 7 AND a.item_id <> 7 ORDER BY 1 DESC LIMIT 10) x) AS similar_matches_exact_search;
SELECT count(*) FROM irec_similar_items('sv', 99999, 10);
-- fold-in is the exact iALS user step against the final items: at the folded-in
-- embedding the gradient of the loss for that user, written out over every item
-- (no Gramian trick), vanishes:
-- Σ_i w_ui(⟨x,ψ_i⟩ − y_ui)·ψ_i + λ_u·x = 0, w = 1 + 2·ln(1 + plays) if observed, else 0.1,
-- λ_u = 0.01·(|I_u| + 0.1·|I|)
CREATE TABLE sv_fold AS
  SELECT user_id, irec_fold_in('sv', array_agg(item_id ORDER BY item_id), array_agg(weight ORDER BY item_id))::real[] AS x,
         count(*) AS n FROM sv WHERE user_id IN (3, 50, 120) GROUP BY user_id;
SELECT max(abs(g)) < 1e-4 AS fold_in_is_the_exact_user_step FROM (
  SELECT f.user_id, k,
         sum(coalesce(1 + 2 * ln(1 + s.weight), 0.1) * ((SELECT sum(f.x[j] * (i.embedding::real[])[j]) FROM generate_series(1, 8) j)
                                                      - (s.weight IS NOT NULL)::int) * (i.embedding::real[])[k])
         + 0.01 * (f.n + 0.1 * (SELECT count(*) FROM sv_items)) * min(f.x[k]) AS g
    FROM sv_fold f CROSS JOIN sv_items i LEFT JOIN sv s ON s.user_id = f.user_id AND s.item_id = i.item_id,
         generate_series(1, 8) k
   GROUP BY f.user_id, k, f.n) grad;
-- and it is close to the stored embedding, which is one half-step older
SELECT max(abs(f.x[k] - (u.embedding::real[])[k])) < 0.05 AS near_training_embedding
  FROM sv_fold f JOIN sv_users u USING (user_id), generate_series(1, 8) k;
-- duplicates add up; unknown items are ignored; no known item: NULL
SELECT irec_fold_in('sv', ARRAY[5, 5])::text = irec_fold_in('sv', ARRAY[5], ARRAY[2]::real[])::text AS duplicates_add;
SELECT irec_fold_in('sv', ARRAY[5, 99999])::text = irec_fold_in('sv', ARRAY[5])::text AS unknown_ignored;
SELECT irec_fold_in('sv', ARRAY[99999]) IS NULL AS nothing_known, irec_fold_in('sv', '{}'::int[]) IS NULL AS empty;
-- an anonymous session: rank by the folded-in embedding, the session's items left out
SELECT (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC)
          FROM irec_recommend_for_items('sv', ARRAY[1, 2, 3], 10)) =
       (SELECT array_agg(round(s::numeric, 5) ORDER BY s DESC) FROM
          (SELECT inner_product(i.embedding, irec_fold_in('sv', ARRAY[1, 2, 3])) AS s FROM sv_items i
            WHERE i.item_id NOT IN (1, 2, 3) ORDER BY 1 DESC LIMIT 10) x) AS session_matches_exact_search;
SELECT bool_and(item_id NOT IN (1, 2, 3)) FROM irec_recommend_for_items('sv', ARRAY[1, 2, 3], 50);
-- strong generalization: held-out users folded in from their history, evaluated
-- against a SQL formulation that folds them in with irec_fold_in
SELECT test_users > 5 AS held_out FROM irec_split('sv', method => 'users', user_fraction => 0.2, seed => 5);
SELECT irec_train('sv_train', weight_column => 'weight', dims => 8, epochs => 10, quiet => true);
CREATE TABLE sv_folded AS
  SELECT user_id, irec_fold_in('sv_train', array_agg(item_id ORDER BY item_id), array_agg(weight ORDER BY item_id)) AS embedding
    FROM sv_fold_in GROUP BY user_id;
CREATE TABLE sv_ref AS
  SELECT user_id, array_agg(rank::int) AS ranks, min(candidates)::int AS candidates FROM (
    SELECT f.user_id, i.item_id,
           row_number() OVER (PARTITION BY f.user_id ORDER BY inner_product(f.embedding, i.embedding) DESC, i.item_id) AS rank,
           count(*) OVER (PARTITION BY f.user_id) AS candidates
      FROM sv_folded f, sv_train_items i
     WHERE NOT EXISTS (SELECT 1 FROM sv_fold_in h WHERE h.user_id = f.user_id AND h.item_id = i.item_id)) r
  JOIN (SELECT DISTINCT user_id, item_id FROM sv_test) t USING (user_id, item_id)
  GROUP BY user_id;
SELECT abs(e.ndcg - r.ndcg) < 1e-6 AS ndcg, abs(e.recall - r.recall) < 1e-6 AS recall,
       abs(e.auc - r.auc) < 1e-6 AS auc, e.users_evaluated = r.users AS users, e.users_skipped
  FROM irec_evaluate('sv_train', 'sv_test', k => 10, fold_in => 'sv_fold_in') e,
       (SELECT avg(irec_ndcg(ranks, 10)) AS ndcg, avg(irec_recall(ranks, 10)) AS recall,
               avg(irec_auc(ranks, candidates)) AS auc, count(*) AS users FROM sv_ref) r;
-- without the histories those users are unknown to the model
SELECT users_evaluated, users_skipped > 0 AS skipped FROM irec_evaluate('sv_train', 'sv_test');
SELECT users_evaluated > 0 AS popularity_with_histories
  FROM irec_evaluate_popularity('sv_train', 'sv_test', fold_in => 'sv_fold_in');
-- with an ipivf index on the items, irec_recommend and irec_similar_items go
-- through it (exact here: irec.probes = 0)
CREATE INDEX sv_items_ip ON sv_items USING ipivf (embedding) WITH (lists = 8);
CREATE INDEX sv_items_cos ON sv_items USING ipivf (embedding embedding_cosine_ops) WITH (lists = 8);
SET irec.probes = 0;
BEGIN;
SELECT bool_and(ok) AS indexed_recommend_matches_exact_search FROM (
  SELECT (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM irec_recommend('sv', u, 10)) =
         (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM pg_temp.reference(u, 10)) AS ok
    FROM generate_series(1, 200, 7) u) s;
SELECT (SELECT array_agg(round(score::numeric, 5) ORDER BY score DESC) FROM irec_similar_items('sv', 7, 10)) =
       (SELECT array_agg(round(s::numeric, 5) ORDER BY s DESC) FROM
          (SELECT 1 - (a.embedding <=> b.embedding) AS s FROM sv_items a, sv_items b
            WHERE b.item_id = 7 AND a.item_id <> 7 ORDER BY 1 DESC LIMIT 10) x) AS indexed_similar_matches;
SELECT pg_stat_get_xact_numscans('sv_items_ip'::regclass) > 0 AS ip_index_used,
       pg_stat_get_xact_numscans('sv_items_cos'::regclass) > 0 AS cosine_index_used;
COMMIT;
RESET irec.probes;
DROP INDEX sv_items_ip, sv_items_cos;
-- bad input
SELECT * FROM irec_recommend('no_such_model', 1);
SELECT * FROM irec_recommend(NULL, 1);
SELECT * FROM irec_recommend('sv', 1, 0);
SELECT * FROM irec_recommend('sv', 1, 1000000000);
SELECT * FROM irec_recommend('sv', 1, NULL);
SELECT * FROM irec_recommend('sv', 1, 5, NULL);
SELECT * FROM irec_recommend('sv', 'abc'::text, 5);
-- a table that is not a model, and ids of a type the model does not use
SELECT * FROM irec_recommend('sv_items', 1);
SELECT * FROM irec_recommend('sv', now());
SELECT * FROM irec_recommend('sv', 1.5::numeric);
SELECT * FROM irec_similar_items('sv', '2024-01-01'::date);
SELECT * FROM irec_recommend_for_items('sv', ARRAY[true]);
-- text ids work against any id type and come back as text
SELECT (SELECT array_agg(item_id::text ORDER BY score DESC, item_id) FROM irec_recommend('sv', 1, 5)) =
       (SELECT array_agg(item_id ORDER BY score DESC, item_id) FROM irec_recommend('sv', '1'::text, 5)) AS text_ids_agree;
CREATE TABLE sv_mixed AS SELECT user_id, 'item-' || item_id AS item_id FROM irec_synthetic(50, 30, 600, seed => 5);
SELECT irec_train('sv_mixed', dims => 4, epochs => 2, quiet => true);
SELECT * FROM irec_recommend('sv_mixed', 1, 3);
SELECT count(*) AS n, bool_and(item_id IN (SELECT item_id FROM sv_mixed_items)) AS known_items,
       pg_typeof(min(item_id)) AS id_type FROM irec_recommend('sv_mixed', '1'::text, 3);
DELETE FROM irec_models WHERE name = 'sv_mixed';
DROP TABLE sv_mixed, sv_mixed_users, sv_mixed_items;
SELECT irec_fold_in('sv', ARRAY[1, NULL]);
SELECT irec_fold_in('sv', ARRAY[1, 2], ARRAY[1]::real[]);
SELECT irec_fold_in('sv', ARRAY[1, 2], ARRAY[1, -1]::real[]);
SELECT irec_fold_in('sv', ARRAY[1, 2], ARRAY[1, 'NaN']::real[]);
SELECT irec_fold_in('sv', NULL::int[]);
SELECT * FROM irec_recommend_for_items('sv', ARRAY[1], 0);
SELECT * FROM irec_similar_items('sv', 1, -5);
-- a model whose tables were dropped
DROP TABLE sv_users;
SELECT * FROM irec_recommend('sv', 1);
DROP TABLE sv, sv_items, sv_train, sv_test, sv_fold_in, sv_train_users, sv_train_items, sv_folded, sv_ref, sv_fold CASCADE;
