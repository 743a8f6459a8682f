-- irec 0.11.0 -> 0.12.0: the SQL engine's half-step as one C function per
-- table of interactions (one call per Citus shard, on its worker), in place
-- of the per-row aggregates; the aggregates stay for plain SQL use.
\echo Use "ALTER EXTENSION irec UPDATE TO '0.12.0'" to load this file. \quit

-- One iALS half-step for the rows of `pairs` (row_idx int4, col_idx int4,
-- confidence real), against `fixed` (idx int4, embedding: every row of the
-- other side), warm-started from `own` (this side's current rows) when
-- cg_steps > 0 (0: exact Cholesky solves).  Tables by name, read straight
-- from their heaps; with a cache_key the pairs stay in the backend's memory
-- until the transaction ends, and both sides for as long as `step` is the
-- same.  Returns each solved row with its share of the loss.
CREATE FUNCTION @extschema@.irec_als_shard_step(pairs text, fixed text, own text, dims integer,
		regularization double precision, regularization_exponent double precision,
		unobserved_weight double precision, cg_steps integer, threads integer DEFAULT 0,
		cache_key bigint DEFAULT NULL, step integer DEFAULT 0)
	RETURNS TABLE (idx integer, embedding @extschema@.embedding, loss double precision,
				   regularization double precision)
	AS 'MODULE_PATHNAME', 'irec_als_shard_step' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10000;
