-- irec 0.12.0 -> 0.13.0: the SQL engine's half-step returns its rows in
-- blocks of about 8 kB (one heap tuple each), so that writing a side's rows
-- each half-step (on Citus once per worker) costs per block, not per row.
\echo Use "ALTER EXTENSION irec UPDATE TO '0.13.0'" to load this file. \quit

DROP FUNCTION @extschema@.irec_als_shard_step(text, text, text, integer, double precision, double precision,
											  double precision, integer, integer, bigint, integer);

-- One iALS half-step for the rows of `pairs` (row_idx int4, col_idx int4,
-- confidence real), against `fixed` (every row of the other side), warm-
-- started from `own` (this side's current rows) when cg_steps > 0 (0: exact
-- Cholesky solves); `fixed` and `own` hold blocks (a column `block` bytea)
-- or rows (idx int4, embedding).  Tables by name, read straight from their
-- heaps; with a cache_key the pairs stay in the backend's memory until the
-- transaction ends, and both sides for as long as `step` is the same.
-- Returns the solved rows in blocks, each with its rows' count and their
-- summed shares of the loss (NULL unless with_loss) and of the
-- regularization; with a local_target (a plain table of copy_key, block,
-- row_count, loss, regularization) also writes them there, with local_key
-- as their copy_key: on Citus, the worker's own copy of the side.
CREATE FUNCTION @extschema@.irec_als_shard_step(pairs text, fixed text, own text, dims integer,
		regularization double precision, regularization_exponent double precision,
		unobserved_weight double precision, cg_steps integer, threads integer DEFAULT 0,
		cache_key bigint DEFAULT NULL, step integer DEFAULT 0, with_loss boolean DEFAULT true,
		local_target text DEFAULT NULL, local_key integer DEFAULT NULL)
	RETURNS TABLE (block bytea, row_count integer, loss double precision, regularization double precision)
	AS 'MODULE_PATHNAME', 'irec_als_shard_step' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

-- A block's rows.
CREATE FUNCTION @extschema@.irec_als_block_rows(block bytea)
	RETURNS TABLE (idx integer, embedding @extschema@.embedding)
	AS 'MODULE_PATHNAME', 'irec_als_block_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 30;

-- Rows 0..n-1 of a side (1 users, 2 items) as irec_train starts them
-- (irec_init_embedding's rows), in blocks.
CREATE FUNCTION @extschema@.irec_als_initial_blocks(n bigint, dims integer, seed bigint, side integer,
		std double precision)
	RETURNS TABLE (block bytea, row_count integer, loss double precision, regularization double precision)
	AS 'MODULE_PATHNAME', 'irec_als_initial_blocks' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
