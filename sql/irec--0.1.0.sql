-- irec 0.1.0: the embedding type and its operators and aggregates.
\echo Use "CREATE EXTENSION irec" to load this file. \quit

------------------------------------------------------------------------------
-- The embedding type
------------------------------------------------------------------------------
CREATE TYPE @extschema@.embedding;

CREATE FUNCTION @extschema@.embedding_in(cstring, oid, integer) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_out(@extschema@.embedding) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_recv(internal, oid, integer) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_send(@extschema@.embedding) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_typmod_out(integer) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.embedding (
	INPUT = @extschema@.embedding_in,
	OUTPUT = @extschema@.embedding_out,
	RECEIVE = @extschema@.embedding_recv,
	SEND = @extschema@.embedding_send,
	TYPMOD_IN = @extschema@.embedding_typmod_in,
	TYPMOD_OUT = @extschema@.embedding_typmod_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

------------------------------------------------------------------------------
-- Casts.  Array -> embedding casts are ASSIGNMENT, not implicit, so that calls
-- with array arguments never become ambiguous next to pgvector's casts.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.embedding(@extschema@.embedding, integer, boolean) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_coerce' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_embedding(real[], integer, boolean) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_embedding(double precision[], integer, boolean) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_embedding(integer[], integer, boolean) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_embedding(numeric[], integer, boolean) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_to_float4(@extschema@.embedding, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME', 'embedding_to_float4_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_to_float8(@extschema@.embedding, integer, boolean) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'embedding_to_float8_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.embedding AS @extschema@.embedding)
	WITH FUNCTION @extschema@.embedding(@extschema@.embedding, integer, boolean) AS IMPLICIT;
CREATE CAST (real[] AS @extschema@.embedding)
	WITH FUNCTION @extschema@.array_to_embedding(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS @extschema@.embedding)
	WITH FUNCTION @extschema@.array_to_embedding(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS @extschema@.embedding)
	WITH FUNCTION @extschema@.array_to_embedding(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS @extschema@.embedding)
	WITH FUNCTION @extschema@.array_to_embedding(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.embedding AS real[])
	WITH FUNCTION @extschema@.embedding_to_float4(@extschema@.embedding, integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.embedding AS double precision[])
	WITH FUNCTION @extschema@.embedding_to_float8(@extschema@.embedding, integer, boolean) AS ASSIGNMENT;

------------------------------------------------------------------------------
-- Distances, norms, arithmetic
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.inner_product(@extschema@.embedding, @extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_negative_inner_product(@extschema@.embedding, @extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_distance(@extschema@.embedding, @extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_distance(@extschema@.embedding, @extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_norm(@extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dims(@extschema@.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'embedding_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- SQL's grammar turns an unqualified NORMALIZE(x) into pg_catalog.normalize
-- (Unicode normalization), so normalize(embedding) must be called qualified
-- or quoted; l2_normalize is the same function under a name the grammar
-- leaves alone.
CREATE FUNCTION @extschema@.normalize(@extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_normalize(@extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_add(@extschema@.embedding, @extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_sub(@extschema@.embedding, @extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<#> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.embedding_negative_inner_product, COMMUTATOR = OPERATOR(@extschema@.<#>)
);
CREATE OPERATOR @extschema@.<-> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.l2_distance, COMMUTATOR = OPERATOR(@extschema@.<->)
);
CREATE OPERATOR @extschema@.<=> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.cosine_distance, COMMUTATOR = OPERATOR(@extschema@.<=>)
);
CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.embedding_add, COMMUTATOR = OPERATOR(@extschema@.+)
);
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.embedding_sub
);

------------------------------------------------------------------------------
-- Aggregates.  State {count, sums...} as double precision[], not internal, so
-- parallel query and Citus can combine partial states.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.embedding_accum(double precision[], @extschema@.embedding) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'embedding_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'embedding_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_sum_final(double precision[]) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_sum_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_avg_final(double precision[]) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_avg_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.sum(@extschema@.embedding) (
	SFUNC = @extschema@.embedding_accum,
	STYPE = double precision[],
	INITCOND = '{0}',
	COMBINEFUNC = @extschema@.embedding_combine,
	FINALFUNC = @extschema@.embedding_sum_final,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.avg(@extschema@.embedding) (
	SFUNC = @extschema@.embedding_accum,
	STYPE = double precision[],
	INITCOND = '{0}',
	COMBINEFUNC = @extschema@.embedding_combine,
	FINALFUNC = @extschema@.embedding_avg_final,
	PARALLEL = SAFE
);

------------------------------------------------------------------------------
-- The model registry.  One row per model; the model's embeddings live in the
-- ordinary tables named by users_table and items_table.
------------------------------------------------------------------------------
CREATE TABLE @extschema@.irec_models (
	name text PRIMARY KEY,
	owner name NOT NULL DEFAULT current_user,
	source text NOT NULL,
	users_table text NOT NULL,
	items_table text NOT NULL,
	user_column text NOT NULL,
	item_column text NOT NULL,
	weight_column text,
	algorithm text NOT NULL,
	dims integer NOT NULL,
	epochs integer NOT NULL,
	params jsonb NOT NULL,
	n_users bigint NOT NULL,
	n_items bigint NOT NULL,
	n_interactions bigint NOT NULL,
	n_skipped_rows bigint NOT NULL,
	seconds double precision NOT NULL,
	loss double precision[] NOT NULL,
	trained_at timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irec_models', '');
-- Everyone may read the registry and register models; a model's row can only
-- be changed or replaced by the role that trained it.
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.irec_models TO PUBLIC;
ALTER TABLE @extschema@.irec_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY irec_models_read ON @extschema@.irec_models FOR SELECT USING (true);
CREATE POLICY irec_models_insert ON @extschema@.irec_models FOR INSERT
	WITH CHECK (owner = current_user);
CREATE POLICY irec_models_update ON @extschema@.irec_models FOR UPDATE
	USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY irec_models_delete ON @extschema@.irec_models FOR DELETE
	USING (owner = current_user);

------------------------------------------------------------------------------
-- Training
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_train(
	source regclass,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	weight_column text DEFAULT NULL,
	model text DEFAULT NULL,
	algorithm text DEFAULT 'ials',
	dims integer DEFAULT 64,
	epochs integer DEFAULT 16,
	regularization double precision DEFAULT 0.01,
	regularization_exponent double precision DEFAULT 1.0,
	unobserved_weight double precision DEFAULT 0.1,
	confidence text DEFAULT 'linear',
	alpha double precision DEFAULT 1.0,
	epsilon double precision DEFAULT 1.0,
	init_std double precision DEFAULT NULL,
	solver text DEFAULT 'cg',
	cg_steps integer DEFAULT 3,
	seed bigint DEFAULT 42,
	threads integer DEFAULT 0,
	quiet boolean DEFAULT false
) RETURNS text
	AS 'MODULE_PATHNAME', 'irec_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- Generated data for tests and benchmarks
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_synthetic(
	n_users integer,
	n_items integer,
	n_interactions bigint,
	rank integer DEFAULT 16,
	item_popularity_exponent double precision DEFAULT 0.8,
	user_activity_exponent double precision DEFAULT 0.5,
	signal double precision DEFAULT 4.0,
	seed bigint DEFAULT 42
) RETURNS TABLE (user_id integer, item_id integer, weight real)
	AS 'MODULE_PATHNAME', 'irec_synthetic' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100000;
