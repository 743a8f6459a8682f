-- iALS as SQL aggregates, and irec_train(engine => 'sql').
SET extra_float_digits = 0;
CREATE TABLE emb (g int, e embedding(3), w float8);
INSERT INTO emb VALUES (1, '[1,2,3]', 2), (1, '[0,1,-1]', 1), (2, '[2,0,1]', 0.5), (2, '[1,1,1]', 1);
-- the Gramian against a hand computation: Σ e·eᵀ
SELECT irec_gramian(e) FROM emb WHERE g = 1;
SELECT irec_gramian(e, w) FROM emb WHERE g = 1;   -- 2·[1,2,3][1,2,3]ᵀ + [0,1,-1][0,1,-1]ᵀ
SELECT irec_gramian(e) FROM emb WHERE false;       -- no rows: NULL
-- combine: two halves of a group, combined, equal the whole group
SELECT irec_gramian_final(irec_gramian_combine(
         (SELECT irec_gramian_accum(irec_gramian_accum('{}', '[1,2,3]'), '[0,1,-1]')),
         (SELECT irec_gramian_accum(irec_gramian_accum('{}', '[2,0,1]'), '[1,1,1]'))))
     = (SELECT irec_gramian(e) FROM emb) AS gramian_combines;
SELECT irec_ials_accum_combine(
         irec_ials_accum_transition(irec_ials_accum_transition('{}', '[1,2,3]', 3, 0.5), '[0,1,-1]', 2, 0.5),
         irec_ials_accum_transition('{}', '[2,0,1]', 1.5, 0.5))
     = (SELECT irec_ials_accum(e, c, 0.5) FROM (VALUES ('[1,2,3]'::embedding, 3.0::float8), ('[0,1,-1]', 2), ('[2,0,1]', 1.5)) v(e, c))
       AS accum_combines;
-- the states round-trip through text exactly at the default extra_float_digits
-- (Citus ships them as text)
SET extra_float_digits = 1;
SELECT (s::text)::float8[] = s AS exact_text FROM (SELECT irec_ials_accum(e, w + 1, 0.1) AS s FROM emb) x;
-- the solve: (α0·G + A + λ·I)·x = b checked by substituting x back
WITH a AS (SELECT irec_ials_accum(e, w + 1, 0.25) AS acc FROM emb WHERE g = 1),
     gi AS (SELECT irec_gramian(e) AS gram FROM emb),
     x AS (SELECT irec_ials_solve(acc, gram, 0.5, 0, 0.25, 4)::real[] AS x, acc, gram FROM a, gi),
     lhs AS (SELECT i, sum((0.25 * gram[(i - 1) * 3 + j] + acc[2 + (i - 1) * 3 + j]
                           + CASE WHEN i = j THEN 0.5 ELSE 0 END) * x[j]) AS v
               FROM x, generate_series(1, 3) i, generate_series(1, 3) j GROUP BY i)
SELECT max(abs(lhs.v - x.acc[2 + 9 + lhs.i])) < 1e-5 AS solve_satisfies_normal_equations FROM lhs, x;
SET extra_float_digits = 0;
-- parallel aggregation gives the same Gramian as a serial one
CREATE TABLE many AS SELECT i, ARRAY[(i % 7)::real, (i % 5)::real, 1]::embedding(3) AS e FROM generate_series(1, 50000) i;
ANALYZE many;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT irec_gramian(e) FROM many;
SELECT irec_gramian(e) AS parallel_gramian FROM many \gset
SET max_parallel_workers_per_gather = 0;
SELECT irec_gramian(e) = :'parallel_gramian'::float8[] AS same_as_serial FROM many;
RESET ALL;
SET extra_float_digits = 0;
-- irec_train(engine => 'sql') equals the in-memory engine (exact solves, same seed)
CREATE TABLE sq0 AS SELECT user_id, item_id, weight FROM irec_synthetic(400, 150, 6000, rank => 6, seed => 17);
SELECT test_users > 300 AS split FROM irec_split('sq0', name => 'sq', seed => 3);
ALTER TABLE sq_train RENAME TO sq;
SELECT irec_train('sq', dims => 6, epochs => 4, solver => 'cholesky', weight_column => 'weight',
                  confidence => 'log', model => 'sq_memory', quiet => true);
SELECT irec_train('sq', dims => 6, epochs => 4, engine => 'sql', solver => 'cholesky', weight_column => 'weight',
                  confidence => 'log', model => 'sq_sql', quiet => true);
CREATE FUNCTION pg_temp.max_difference(a regclass, b regclass, key text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE d float8;
BEGIN
  EXECUTE format('SELECT max(abs(x.v - y.v)) FROM
    (SELECT %1$s, k, (e::real[])[k] AS v FROM (SELECT %1$s, embedding AS e FROM %2$s) s, generate_series(1, 6) k) x JOIN
    (SELECT %1$s, k, (e::real[])[k] AS v FROM (SELECT %1$s, embedding AS e FROM %3$s) s, generate_series(1, 6) k) y
    USING (%1$s, k)', key, a, b) INTO d;
  RETURN d;
END $$;
SELECT pg_temp.max_difference('sq_memory_users', 'sq_sql_users', 'user_id') < 1e-4 AS users_agree,
       pg_temp.max_difference('sq_memory_items', 'sq_sql_items', 'item_id') < 1e-4 AS items_agree;
SELECT bool_and(abs(m.l - s.l) / m.l < 1e-5) AS losses_agree
  FROM unnest((SELECT loss FROM irec_models WHERE name = 'sq_memory')) WITH ORDINALITY m(l, k)
  JOIN unnest((SELECT loss FROM irec_models WHERE name = 'sq_sql')) WITH ORDINALITY s(l, k) USING (k);
SELECT params->>'engine' AS engine, params->>'solver' AS solver, n_users, n_items, n_interactions
  FROM irec_models WHERE name = 'sq_sql';
-- with CG (warm-started, 3 steps) both engines take the same steps from the same rows
SELECT irec_train('sq', dims => 6, epochs => 4, weight_column => 'weight',
                  confidence => 'log', model => 'sq_memory_cg', quiet => true);
SELECT irec_train('sq', dims => 6, epochs => 4, engine => 'sql', weight_column => 'weight',
                  confidence => 'log', model => 'sq_sql_cg', quiet => true);
SELECT pg_temp.max_difference('sq_memory_cg_users', 'sq_sql_cg_users', 'user_id') < 1e-5 AS cg_users_agree,
       pg_temp.max_difference('sq_memory_cg_items', 'sq_sql_cg_items', 'item_id') < 1e-5 AS cg_items_agree,
       pg_temp.max_difference('sq_memory_cg_items', 'sq_memory_items', 'item_id') > 1e-3 AS cg_is_not_exact;
SELECT bool_and(abs(m.l - s.l) / m.l < 1e-5) AS cg_losses_agree
  FROM unnest((SELECT loss FROM irec_models WHERE name = 'sq_memory_cg')) WITH ORDINALITY m(l, k)
  JOIN unnest((SELECT loss FROM irec_models WHERE name = 'sq_sql_cg')) WITH ORDINALITY s(l, k) USING (k);
SELECT params->>'solver' AS solver, params->>'cg_steps' AS cg_steps FROM irec_models WHERE name = 'sq_sql_cg';
-- and with parallel query forced on every statement of the SQL engine
SET force_parallel_mode = on;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SELECT irec_train('sq', dims => 6, epochs => 4, engine => 'sql', solver => 'cholesky', weight_column => 'weight',
                  confidence => 'log', model => 'sq_parallel', quiet => true);
RESET ALL;
SELECT pg_temp.max_difference('sq_memory_users', 'sq_parallel_users', 'user_id') < 1e-4 AS parallel_users_agree,
       pg_temp.max_difference('sq_memory_items', 'sq_parallel_items', 'item_id') < 1e-4 AS parallel_items_agree;
-- evaluation and serving work on SQL-engine models
SELECT users_evaluated > 300 AS evaluates FROM irec_evaluate('sq_sql', 'sq_test');
SELECT count(*) FROM irec_recommend('sq_sql', 5, 3);
-- irec_als_shard_step, the SQL engine's half-step, against the aggregates'
-- exact per-row solve (a dense d × d Cholesky of the accumulated system)
CREATE TABLE ss_pairs AS
  SELECT u AS row_idx, i AS col_idx, (1 + ((u * 7 + i * 3) % 5))::real AS confidence
    FROM generate_series(0, 29) u, generate_series(0, 11) i WHERE (u * 5 + i * 11) % 4 = 0;
CREATE TABLE ss_fixed AS SELECT i AS idx, irec_init_embedding(9, 2, i, 5, 0.5) AS embedding FROM generate_series(0, 11) i;
CREATE TABLE ss_own AS SELECT u AS idx, irec_init_embedding(9, 1, u, 5, 0.5) AS embedding FROM generate_series(0, 29) u;
SELECT irec_gramian(embedding) AS ss_gram FROM ss_fixed \gset
CREATE TABLE ss_reference AS
  SELECT p.row_idx AS idx, irec_ials_solve(irec_ials_accum(f.embedding, p.confidence, 0.2), :'ss_gram', 0.05, 0.5, 0.2, 12) AS embedding
    FROM ss_pairs p JOIN ss_fixed f ON f.idx = p.col_idx GROUP BY p.row_idx;
-- (the rows come in blocks; irec_als_block_rows unpacks one)
SELECT count(*) AS rows, max(abs((b.embedding::real[])[k] - (r.embedding::real[])[k])) < 1e-5 AS exact_agrees
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0) s
  CROSS JOIN LATERAL irec_als_block_rows(s.block) b
  JOIN ss_reference r USING (idx), generate_series(1, 5) k;
SELECT count(*) AS blocks, sum(row_count) AS rows, sum(row_count) = (SELECT count(*) FROM ss_reference) AS every_row_once
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
-- the loss shares: Σ over the rows = the loss after the step less the fixed side's L2
SELECT abs(sum(s.loss) - (
         (SELECT sum(p.confidence * (inner_product(o.embedding, f.embedding) - 1) ^ 2 - 0.2 * inner_product(o.embedding, f.embedding) ^ 2)
            FROM ss_pairs p JOIN ss_reference o ON o.idx = p.row_idx JOIN ss_fixed f ON f.idx = p.col_idx)
         + 0.2 * (SELECT sum(inner_product(o.embedding, f.embedding) ^ 2) FROM ss_reference o, ss_fixed f)
         + (SELECT sum(0.05 * power(c.n + 0.2 * 12, 0.5) * inner_product(o.embedding, o.embedding))
              FROM ss_reference o JOIN (SELECT row_idx, count(*) AS n FROM ss_pairs GROUP BY 1) c ON c.row_idx = o.idx)))
       / sum(s.loss) < 1e-5 AS loss_shares_agree
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0) s;
-- without the loss (the engine's user half-step): the same rows, no loss
SELECT bool_and(a.block = b.block) AND bool_and(a.regularization = b.regularization) AS same_blocks,
       bool_and(a.loss IS NULL) AS no_loss, bool_and(b.loss > 0) AS loss_otherwise
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, with_loss => false) a
  JOIN irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3) b USING (row_count);
-- with a local target the blocks also go into that table (on Citus the
-- worker's own copy), under the local key
CREATE TABLE ss_local (copy_key integer, block bytea, row_count integer, loss float8, regularization float8);
SELECT count(*) AS blocks_returned
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3,
                           local_target => 'ss_local', local_key => 7);
SELECT count(*) AS blocks_written, bool_and(copy_key = 7) AS under_the_key,
       (SELECT array_agg(b.embedding::text ORDER BY b.idx) FROM ss_local l, LATERAL irec_als_block_rows(l.block) b)
     = (SELECT array_agg(b.embedding::text ORDER BY b.idx)
          FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3) s,
               LATERAL irec_als_block_rows(s.block) b) AS same_rows
  FROM ss_local;
-- only a plain table of those columns, with the key and the right to insert
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, local_target => 'ss_local');
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3,
                                         local_target => 'ss_fixed', local_key => 1);
CREATE INDEX ON ss_local (copy_key);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3,
                                         local_target => 'ss_local', local_key => 1);
DROP TABLE ss_local;
CREATE TABLE ss_local (copy_key integer, block bytea, row_count integer, loss float8, regularization float8 NOT NULL);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3,
                                         local_target => 'ss_local', local_key => 1);
DROP TABLE ss_local;
CREATE TABLE ss_local (copy_key integer, block bytea, row_count integer, loss float8, regularization float8);
-- CG warm-starts from `own`: many steps reach the exact solve
SELECT max(abs((b.embedding::real[])[k] - (r.embedding::real[])[k])) < 1e-4 AS cg_converges
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 50) s
  CROSS JOIN LATERAL irec_als_block_rows(s.block) b
  JOIN ss_reference r USING (idx), generate_series(1, 5) k;
-- the sides as blocks (the engine's own tables) give the same step as rows
CREATE TABLE ss_fixed_blocks AS SELECT * FROM irec_als_initial_blocks(12, 5, 9, 2, 0.5);
CREATE TABLE ss_own_blocks AS SELECT * FROM irec_als_initial_blocks(30, 5, 9, 1, 0.5);
SELECT (SELECT array_agg(b.embedding::text ORDER BY b.idx)
          FROM irec_als_shard_step('ss_pairs', 'ss_fixed_blocks', 'ss_own_blocks', 5, 0.05, 0.5, 0.2, 3) s,
               LATERAL irec_als_block_rows(s.block) b)
     = (SELECT array_agg(b.embedding::text ORDER BY b.idx)
          FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3) s,
               LATERAL irec_als_block_rows(s.block) b) AS blocks_read_as_rows;
-- initial blocks hold irec_init_embedding's rows, about 8 kB each: at dims
-- 64, 30 rows a block
SELECT count(*) AS blocks, sum(row_count) AS rows, max(octet_length(block)) <= 8000 AS fits_a_page
  FROM irec_als_initial_blocks(70, 64, 9, 2, 0.5);
SELECT count(*) AS rows, bool_and(b.embedding::text = irec_init_embedding(9, 2, b.idx, 64, 0.5)::text) AS same_rows,
       count(DISTINCT b.idx) = 70 AND min(b.idx) = 0 AND max(b.idx) = 69 AS each_index_once
  FROM irec_als_initial_blocks(70, 64, 9, 2, 0.5) s, LATERAL irec_als_block_rows(s.block) b;
SELECT count(*) FROM irec_als_initial_blocks(0, 64, 9, 2, 0.5);
-- a block with a repeated, a broken or a non-finite row is refused
CREATE TABLE ss_blocks_bad AS SELECT * FROM ss_fixed_blocks;
INSERT INTO ss_blocks_bad SELECT * FROM irec_als_initial_blocks(1, 5, 9, 2, 0.5);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_blocks_bad', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
UPDATE ss_blocks_bad SET block = substring(block from 1 for 20);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_blocks_bad', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT * FROM irec_als_block_rows('\x0500000002000000'::bytea);
SELECT * FROM irec_als_block_rows('\x00'::bytea);
SELECT * FROM irec_als_block_rows('\x0000000000000000'::bytea);
SELECT * FROM irec_als_block_rows('\x01000000010000000700000000000040'::bytea);
SELECT * FROM irec_als_block_rows('\x0100000001000000070000000000c07f'::bytea);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed_blocks', 'ss_own', 8, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_initial_blocks(-1, 64, 9, 2, 0.5);
SELECT count(*) FROM irec_als_initial_blocks(3, 64, 9, 2, 'NaN');
DROP TABLE ss_fixed_blocks, ss_own_blocks, ss_blocks_bad;
-- with a cache key the pairs stay for the transaction, the sides for the step
BEGIN;
SELECT sum(loss) AS cached_first FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, 0, 77, 1) \gset
SELECT abs(sum(loss) - :cached_first) = 0 AS cached_same
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, 0, 77, 1);
-- several shards under one key (a worker's backend solves each of its
-- shards), and another fixed table at the same step: each as uncached
CREATE TABLE ss_pairs_b AS SELECT * FROM ss_pairs WHERE row_idx % 3 = 0;
CREATE TABLE ss_fixed_b AS SELECT idx, embedding * '[2,2,2,2,2]'::embedding AS embedding FROM ss_fixed;
SELECT (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs_b', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, 0, 77, 1))
     = (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs_b', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3))
       AS second_shard_as_uncached,
       (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs', 'ss_fixed_b', 'ss_own', 5, 0.05, 0.5, 0.2, 3, 0, 77, 1))
     = (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs', 'ss_fixed_b', 'ss_own', 5, 0.05, 0.5, 0.2, 3))
       AS other_fixed_as_uncached;
-- and another dims under the same key and step (the Gramian is sized anew)
CREATE TABLE ss_fixed_8 AS SELECT i AS idx, irec_init_embedding(9, 2, i, 8, 0.5) AS embedding FROM generate_series(0, 11) i;
CREATE TABLE ss_own_8 AS SELECT u AS idx, irec_init_embedding(9, 1, u, 8, 0.5) AS embedding FROM generate_series(0, 29) u;
SELECT (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs', 'ss_fixed_8', 'ss_own_8', 8, 0.05, 0.5, 0.2, 3, 0, 77, 1))
     = (SELECT sum(loss) FROM irec_als_shard_step('ss_pairs', 'ss_fixed_8', 'ss_own_8', 8, 0.05, 0.5, 0.2, 3))
       AS other_dims_as_uncached;
COMMIT;
DROP TABLE ss_pairs_b, ss_fixed_b, ss_fixed_8, ss_own_8;
UPDATE ss_pairs SET confidence = confidence * 2;
SELECT abs(sum(loss) - :cached_first) > 1 AS new_transaction_reads_again
  FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 3, 0, 77, 1);
-- bad tables and arguments
CREATE TABLE ss_bad AS SELECT * FROM ss_fixed;
INSERT INTO ss_bad SELECT 3, embedding FROM ss_fixed WHERE idx = 0;
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_bad', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
DELETE FROM ss_bad WHERE idx = 3;
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_bad', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 4, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, -1);
SELECT count(*) FROM irec_als_shard_step('no_such_table', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_fixed', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_pairs', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('"ss_pairs; DROP TABLE ss_own"', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
CREATE TABLE ss_short AS SELECT * FROM ss_fixed WHERE idx < 5;
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_short', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_short', 5, 0.05, 0.5, 0.2, 3);
INSERT INTO ss_pairs VALUES (0, 0, 'NaN');
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
CREATE ROLE ss_reader;
GRANT SELECT ON ss_fixed, ss_own TO ss_reader;
GRANT SELECT ON ss_pairs, ss_local TO ss_reader;
SET ROLE ss_reader;
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0,
                                         local_target => 'ss_local', local_key => 1);
RESET ROLE;
REVOKE SELECT ON ss_pairs FROM ss_reader;
SET ROLE ss_reader;
SELECT count(*) FROM irec_als_shard_step('ss_pairs', 'ss_fixed', 'ss_own', 5, 0.05, 0.5, 0.2, 0);
RESET ROLE;
DROP TABLE ss_pairs, ss_fixed, ss_own, ss_reference, ss_bad, ss_short, ss_local;
DROP ROLE ss_reader;
-- bad input
SELECT irec_train('sq', engine => 'spark');
SELECT irec_train('sq', engine => 'sql', algorithm => 'softmax');
SELECT irec_gramian(e) FROM (VALUES ('[1,2]'::embedding), ('[1,2,3]')) v(e);
SELECT irec_gramian_final('{2,1,0}');
SELECT irec_gramian_final('{NaN,1}');
SELECT irec_ials_solve('{2,1,1,0,0,1,1,1}', '{1,0,0}', 1, 0, 0.1, 5);
SELECT irec_ials_solve('{2,1,1,0,0,1,1,1}', '{1,0,0,1}', 0, 0, 0.1, 5);
SELECT irec_ials_accum(e, 'NaN', 0.1) FROM emb;
DROP TABLE emb, many, sq, sq0, sq_test CASCADE;
