-- irec 0.1.0 -> 0.2.0.  Every change to irec's SQL objects after 0.1.0 goes
-- into an upgrade script like this one; CREATE EXTENSION irec installs
-- 0.1.0 and applies the chain, so new and upgraded databases are the same.
\echo Use "ALTER EXTENSION irec UPDATE" to load this file. \quit

------------------------------------------------------------------------------
-- The stored item Gramians no longer reference irec_models by a foreign key.
-- Both tables are extension configuration tables, whose rows pg_dump writes
-- as separate data items; pg_restore --jobs loads them concurrently, so the
-- key was checked before the models had arrived and every Gramian was lost.
-- The rows now carry their owner (for row security, which no longer looks
-- into irec_models), and a trigger on irec_models keeps deletes, renames
-- and TRUNCATE following through, as the cascade did.
------------------------------------------------------------------------------
ALTER TABLE @extschema@.irec_model_gramians DROP CONSTRAINT irec_model_gramians_name_fkey;
ALTER TABLE @extschema@.irec_model_gramians ADD COLUMN owner name NOT NULL DEFAULT current_user;
UPDATE @extschema@.irec_model_gramians g SET owner = m.owner
  FROM @extschema@.irec_models m WHERE m.name = g.name;
DELETE FROM @extschema@.irec_model_gramians g
 WHERE NOT EXISTS (SELECT 1 FROM @extschema@.irec_models m WHERE m.name = g.name);
DROP POLICY irec_model_gramians_write ON @extschema@.irec_model_gramians;
CREATE POLICY irec_model_gramians_insert ON @extschema@.irec_model_gramians FOR INSERT
	WITH CHECK (owner = current_user);
CREATE POLICY irec_model_gramians_update ON @extschema@.irec_model_gramians FOR UPDATE
	USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY irec_model_gramians_delete ON @extschema@.irec_model_gramians FOR DELETE
	USING (owner = current_user);

CREATE FUNCTION @extschema@.irec_models_follow() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		DELETE FROM @extschema@.irec_model_gramians;
	ELSIF TG_OP = 'DELETE' THEN
		DELETE FROM @extschema@.irec_model_gramians WHERE name = OLD.name;
	ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
		UPDATE @extschema@.irec_model_gramians SET name = NEW.name WHERE name = OLD.name;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER irec_models_follow AFTER DELETE OR UPDATE OF name ON @extschema@.irec_models
	FOR EACH ROW EXECUTE FUNCTION @extschema@.irec_models_follow();
CREATE TRIGGER irec_models_follow_truncate AFTER TRUNCATE ON @extschema@.irec_models
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irec_models_follow();

------------------------------------------------------------------------------
-- ipivf index format 2: cosine lists keep the vectors as given, and every
-- bound is taken in double and rounded up, so that index scans answer as a
-- sort does for any finite input (format 1 lost vectors whose float norm
-- overflowed or underflowed).  Rebuild this database's ipivf indexes.
------------------------------------------------------------------------------
DO $$
DECLARE
	index_name regclass;
BEGIN
	FOR index_name IN
		SELECT c.oid::regclass FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am a ON a.oid = c.relam
		 WHERE a.amname = 'ipivf' AND c.relkind = 'i' AND c.relpersistence <> 't'
	LOOP
		EXECUTE pg_catalog.format('REINDEX INDEX %s', index_name);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- What a pgvector user expects of the type (issue 19).
--
-- Comparison operators with btree and hash operator classes, ordered as
-- pgvector orders vectors (component by component, then the shorter first,
-- like PostgreSQL's arrays), so that DISTINCT, GROUP BY, UNION, joins on
-- embeddings, UNIQUE constraints, primary keys and ORDER BY e work.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.embedding_lt(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_le(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_eq(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_ne(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_ge(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_gt(@extschema@.embedding, @extschema@.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'embedding_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_cmp(@extschema@.embedding, @extschema@.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'embedding_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_hash(@extschema@.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'embedding_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_hash_extended(@extschema@.embedding, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'embedding_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding, FUNCTION = @extschema@.embedding_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS @extschema@.embedding_ops DEFAULT FOR TYPE @extschema@.embedding USING btree AS
	OPERATOR 1 @extschema@.< ,
	OPERATOR 2 @extschema@.<= ,
	OPERATOR 3 @extschema@.= ,
	OPERATOR 4 @extschema@.>= ,
	OPERATOR 5 @extschema@.> ,
	FUNCTION 1 @extschema@.embedding_cmp(@extschema@.embedding, @extschema@.embedding);
-- pgvector has no hash class; with one, GROUP BY and joins can hash
CREATE OPERATOR CLASS @extschema@.embedding_ops DEFAULT FOR TYPE @extschema@.embedding USING hash AS
	OPERATOR 1 @extschema@.= ,
	FUNCTION 1 @extschema@.embedding_hash(@extschema@.embedding),
	FUNCTION 2 @extschema@.embedding_hash_extended(@extschema@.embedding, bigint);

------------------------------------------------------------------------------
-- Elementwise product, concatenation (embedding || embedding, which used to
-- resolve to text concatenation), L1 distance with pgvector's <+>, parts of
-- an embedding, its sign bits, and pgvector's names for dims and norm.
-- pgvector's hamming_distance(bit, bit) is left out: it takes no irec type,
-- so it would collide with pgvector's own next to it, and core PostgreSQL
-- has it already as bit_count(a # b).
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.embedding_mul(@extschema@.embedding, @extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.embedding_concat(@extschema@.embedding, @extschema@.embedding) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_concat' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l1_distance(@extschema@.embedding, @extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.subvector(@extschema@.embedding, integer, integer) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'embedding_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.binary_quantize(@extschema@.embedding) RETURNS bit
	AS 'MODULE_PATHNAME', 'embedding_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_dims(@extschema@.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'embedding_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(@extschema@.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'embedding_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.embedding_mul, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.|| (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.embedding_concat
);
CREATE OPERATOR @extschema@.<+> (
	LEFTARG = @extschema@.embedding, RIGHTARG = @extschema@.embedding,
	FUNCTION = @extschema@.l1_distance, COMMUTATOR = OPERATOR(@extschema@.<+>)
);

-- ipivf for <+>: lists clustered as for L2, bounded in L1 (core/ivf.h)
CREATE OPERATOR CLASS @extschema@.embedding_l1_ops FOR TYPE @extschema@.embedding USING ipivf AS
	OPERATOR 1 @extschema@.<+> (@extschema@.embedding, @extschema@.embedding) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.l1_distance(@extschema@.embedding, @extschema@.embedding);

------------------------------------------------------------------------------
-- embedding -> real[] is implicit, as pgvector's vector -> real[] is (a
-- real[] parameter takes an embedding).  Casts into embedding stay ASSIGNMENT.
------------------------------------------------------------------------------
DROP CAST (@extschema@.embedding AS real[]);
CREATE CAST (@extschema@.embedding AS real[])
	WITH FUNCTION @extschema@.embedding_to_float4(@extschema@.embedding, integer, boolean) AS IMPLICIT;

------------------------------------------------------------------------------
-- Casts between pgvector's vector and embedding, both ways, for databases
-- that have both.  irec must install without pgvector, so they cannot be
-- declared here; irec_pgvector_casts() creates them on request.  They go
-- through real[] (both conversions copy the floats exactly and check them)
-- and are ASSIGNMENT: INSERT and UPDATE convert between vector and embedding
-- columns, and no operator call between the two types becomes ambiguous.
-- The two functions and casts it creates belong to the caller, not to irec:
-- pg_dump writes them after both extensions, and DROP EXTENSION vector
-- CASCADE drops them.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_pgvector_casts() RETURNS text
	LANGUAGE plpgsql SET search_path = pg_catalog AS $body$
DECLARE
	vector_schema text;
	vector_type regtype;
	created integer := 0;
BEGIN
	SELECT n.nspname INTO vector_schema
	  FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
	 WHERE x.extname = 'vector';
	IF vector_schema IS NULL THEN
		RAISE EXCEPTION 'pgvector is not installed in this database'
			USING ERRCODE = 'undefined_object',
			      HINT = 'Run CREATE EXTENSION vector first, then SELECT irec_pgvector_casts(); irec itself works without pgvector.';
	END IF;
	vector_type := format('%I.vector', vector_schema)::regtype;
	BEGIN
		EXECUTE format('CREATE OR REPLACE FUNCTION @extschema@.embedding_from_vector(%s) RETURNS @extschema@.embedding
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			RETURN @extschema@.array_to_embedding(%I.vector_to_float4($1, -1, false), -1, false)',
			vector_type, vector_schema);
		EXECUTE format('CREATE OR REPLACE FUNCTION @extschema@.embedding_to_vector(@extschema@.embedding) RETURNS %s
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			RETURN %I.array_to_vector(@extschema@.embedding_to_float4($1, -1, false), -1, false)',
			vector_type, vector_schema);
		IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = vector_type
		                  AND casttarget = '@extschema@.embedding'::regtype) THEN
			EXECUTE format('CREATE CAST (%s AS @extschema@.embedding)
				WITH FUNCTION @extschema@.embedding_from_vector(%s) AS ASSIGNMENT', vector_type, vector_type);
			created := created + 1;
		END IF;
		IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = '@extschema@.embedding'::regtype
		                  AND casttarget = vector_type) THEN
			EXECUTE format('CREATE CAST (@extschema@.embedding AS %s)
				WITH FUNCTION @extschema@.embedding_to_vector(@extschema@.embedding) AS ASSIGNMENT', vector_type);
			created := created + 1;
		END IF;
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE EXCEPTION 'cannot create the casts between vector and embedding: %', SQLERRM
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Call irec_pgvector_casts() as the owner of the embedding or the vector type.';
	END;
	RETURN format('%s casts between %s and @extschema@.embedding created, %s existed',
	              created, vector_type, 2 - created);
END
$body$;
COMMENT ON FUNCTION @extschema@.irec_pgvector_casts() IS
	'create assignment casts between pgvector''s vector and embedding (needs pgvector installed)';
