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
