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
	load_seconds double precision NOT NULL,
	train_seconds double precision NOT NULL,
	write_seconds double precision NOT NULL,
	loss double precision[] NOT NULL,
	trained_at timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irec_models', '');
-- The item Gramian Σψψᵀ at training time: fold-in solves against it in
-- O(d³) instead of re-reading every item (DESIGN §6.3).  Kept apart so that
-- SELECT * FROM irec_models stays readable.
CREATE TABLE @extschema@.irec_model_gramians (
	name text PRIMARY KEY REFERENCES @extschema@.irec_models (name)
		ON DELETE CASCADE ON UPDATE CASCADE,
	item_gramian real[] NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irec_model_gramians', '');
-- Everyone may read the registry and register models; a model's row can only
-- be changed or replaced by the role that trained it.
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.irec_models TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.irec_model_gramians TO PUBLIC;
ALTER TABLE @extschema@.irec_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY irec_models_read ON @extschema@.irec_models FOR SELECT USING (true);
CREATE POLICY irec_models_insert ON @extschema@.irec_models FOR INSERT
	WITH CHECK (owner = current_user);
CREATE POLICY irec_models_update ON @extschema@.irec_models FOR UPDATE
	USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY irec_models_delete ON @extschema@.irec_models FOR DELETE
	USING (owner = current_user);
ALTER TABLE @extschema@.irec_model_gramians ENABLE ROW LEVEL SECURITY;
CREATE POLICY irec_model_gramians_read ON @extschema@.irec_model_gramians FOR SELECT USING (true);
CREATE POLICY irec_model_gramians_write ON @extschema@.irec_model_gramians FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.irec_models m
	                WHERE m.name = irec_model_gramians.name AND m.owner = current_user))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.irec_models m
	                     WHERE m.name = irec_model_gramians.name AND m.owner = current_user));

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
	epochs integer DEFAULT NULL,
	regularization double precision DEFAULT NULL,
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
	quiet boolean DEFAULT false,
	negatives integer DEFAULT NULL,
	sampler text DEFAULT NULL,
	popularity_exponent double precision DEFAULT 0.75,
	logq boolean DEFAULT true,
	temperature double precision DEFAULT 1.0,
	learning_rate double precision DEFAULT NULL,
	batch_size integer DEFAULT 256,
	max_trials integer DEFAULT 100,
	rank_scale double precision DEFAULT NULL,
	engine text DEFAULT 'memory'
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

------------------------------------------------------------------------------
-- Evaluation (DESIGN §2.3).  Metric functions take the 1-based ranks of the
-- relevant items (NULL for a relevant item that was not ranked at all).
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_precision(ranks integer[], n integer) RETURNS double precision
	AS 'MODULE_PATHNAME', 'irec_precision' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_recall(ranks integer[], n integer) RETURNS double precision
	AS 'MODULE_PATHNAME', 'irec_recall' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_ap(ranks integer[], n integer) RETURNS double precision
	AS 'MODULE_PATHNAME', 'irec_ap' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_ndcg(ranks integer[], n integer) RETURNS double precision
	AS 'MODULE_PATHNAME', 'irec_ndcg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_auc(ranks integer[], n_items integer) RETURNS double precision
	AS 'MODULE_PATHNAME', 'irec_auc' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.irec_evaluate(
	model text,
	test regclass,
	k integer DEFAULT 20,
	user_column text DEFAULT NULL,
	item_column text DEFAULT NULL,
	threads integer DEFAULT 0,
	fold_in regclass DEFAULT NULL,
	OUT recall double precision,
	OUT "precision" double precision,
	OUT ndcg double precision,
	OUT ap double precision,
	OUT auc double precision,
	OUT users_evaluated bigint,
	OUT users_skipped bigint
) AS 'MODULE_PATHNAME', 'irec_evaluate' LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.irec_evaluate_popularity(
	train regclass,
	test regclass,
	k integer DEFAULT 20,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	threads integer DEFAULT 0,
	fold_in regclass DEFAULT NULL,
	OUT recall double precision,
	OUT "precision" double precision,
	OUT ndcg double precision,
	OUT ap double precision,
	OUT auc double precision,
	OUT users_evaluated bigint,
	OUT users_skipped bigint
) AS 'MODULE_PATHNAME', 'irec_evaluate_popularity' LANGUAGE C STABLE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- Train/test splits.  Splits work on distinct (user, item) pairs, so all
-- rows of one pair land on the same side; a user's pairs are ordered by a
-- seeded hash ('random'), by their latest time ('last'), or whole users are
-- held out ('users', strong generalization: each held-out user's pairs are
-- split again into <name>_fold_in, the history to fold in, and <name>_test).
-- Users with fewer than min_interactions distinct items stay in training,
-- and every split user keeps at least one training (or fold-in) item.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_split(
	source regclass,
	method text DEFAULT 'random',
	test_fraction double precision DEFAULT 0.2,
	test_count integer DEFAULT 1,
	time_column text DEFAULT NULL,
	user_fraction double precision DEFAULT 0.1,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	name text DEFAULT NULL,
	seed bigint DEFAULT 42,
	min_interactions integer DEFAULT 2,
	OUT train_table regclass,
	OUT test_table regclass,
	OUT fold_in_table regclass,
	OUT train_rows bigint,
	OUT test_rows bigint,
	OUT test_users bigint
) LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src_schema name;
	base text;
	u text := quote_ident(user_column);
	i text := quote_ident(item_column);
	order_key text;
	part_rule text;
	tables text[];
	t text;
BEGIN
	IF source IS NULL OR method IS NULL OR test_fraction IS NULL OR test_count IS NULL
	   OR user_fraction IS NULL OR user_column IS NULL OR item_column IS NULL
	   OR seed IS NULL OR min_interactions IS NULL THEN
		RAISE EXCEPTION 'arguments of irec_split must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Leave an argument out to use its default; only time_column and name may be NULL.';
	END IF;
	IF method NOT IN ('random', 'last', 'users') THEN
		RAISE EXCEPTION 'unknown split method "%"', method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ''random'' (per-user holdout), ''last'' (latest per user) or ''users'' (held-out users).';
	END IF;
	IF NOT (test_fraction > 0 AND test_fraction < 1) THEN
		RAISE EXCEPTION 'test_fraction must be between 0 and 1 (exclusive), not %', test_fraction
			USING ERRCODE = 'invalid_parameter_value', HINT = '0.2 holds out a fifth of each user''s items.';
	END IF;
	IF NOT (user_fraction > 0 AND user_fraction < 1) THEN
		RAISE EXCEPTION 'user_fraction must be between 0 and 1 (exclusive), not %', user_fraction
			USING ERRCODE = 'invalid_parameter_value', HINT = '0.1 holds out a tenth of the users.';
	END IF;
	IF test_count < 1 THEN
		RAISE EXCEPTION 'test_count must be at least 1, not %', test_count
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The ''last'' method holds out each user''s test_count latest items.';
	END IF;
	IF min_interactions < 2 THEN
		RAISE EXCEPTION 'min_interactions must be at least 2, not %', min_interactions
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A user needs one item to learn from and one to test on.';
	END IF;
	IF method = 'last' AND time_column IS NULL THEN
		RAISE EXCEPTION 'the ''last'' split needs a time_column'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the column that orders each user''s interactions.';
	END IF;
	FOREACH t IN ARRAY ARRAY[user_column, item_column, coalesce(time_column, user_column)] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute
		                WHERE attrelid = source AND attname = t AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation % does not exist', t, source
				USING ERRCODE = 'undefined_column', HINT = 'Name the columns with user_column, item_column and time_column.';
		END IF;
	END LOOP;

	SELECT n.nspname, c.relname INTO src_schema, base
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
	base := coalesce(name, base);
	IF length(base) + length('_fold_in') > 63 THEN
		RAISE EXCEPTION 'split name "%" is too long', base
			USING ERRCODE = 'name_too_long', HINT = 'Names may have at most 55 bytes, so that "<name>_fold_in" fits.';
	END IF;
	tables := ARRAY[base || '_train', base || '_test'] || CASE WHEN method = 'users' THEN ARRAY[base || '_fold_in'] ELSE '{}'::text[] END;
	FOREACH t IN ARRAY tables LOOP
		IF to_regclass(format('%I.%I', src_schema, t)) IS NOT NULL THEN
			RAISE EXCEPTION 'relation %.% already exists', quote_ident(src_schema), quote_ident(t)
				USING ERRCODE = 'duplicate_table', HINT = 'Drop it first, or choose another name with the name argument.';
		END IF;
	END LOOP;

	order_key := CASE method
		WHEN 'last' THEN format('max(s.%I) DESC, s.%s::text', time_column, i)
		ELSE format('hashtextextended(s.%1$s::text || chr(31) || s.%2$s::text, %3$s), s.%2$s::text', u, i, seed) END;
	part_rule := CASE method
		WHEN 'random' THEN format('CASE WHEN n >= %s AND r <= greatest(1, least(n - 1, round(%s * n))) THEN ''test'' ELSE ''train'' END',
		                          min_interactions, test_fraction)
		WHEN 'last' THEN format('CASE WHEN n >= %s AND r <= least(%s, n - 1) THEN ''test'' ELSE ''train'' END',
		                        min_interactions, test_count)
		ELSE format('CASE WHEN n < %1$s OR (hashtextextended(d_u::text, %2$s) & 1048575) >= %3$s * 1048576 THEN ''train'' '
		            'WHEN r <= greatest(1, least(n - 1, round(%4$s * n))) THEN ''test'' ELSE ''fold_in'' END',
		            min_interactions, seed, user_fraction, test_fraction) END;

	IF to_regclass('pg_temp.irec_split_pairs') IS NOT NULL THEN
		DROP TABLE pg_temp.irec_split_pairs;
	END IF;
	EXECUTE format(
		'CREATE TEMP TABLE irec_split_pairs AS '
		'SELECT d_u, d_i, %s AS part FROM ('
		'  SELECT s.%s AS d_u, s.%s AS d_i, '
		'         row_number() OVER (PARTITION BY s.%s ORDER BY %s) AS r, '
		'         count(*) OVER (PARTITION BY s.%s) AS n '
		'    FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL GROUP BY s.%s, s.%s) ranked',
		part_rule, u, i, u, order_key, u, source, u, i, u, i);

	FOREACH t IN ARRAY ARRAY['train', 'test'] || CASE WHEN method = 'users' THEN ARRAY['fold_in'] ELSE '{}'::text[] END LOOP
		EXECUTE format(
			'CREATE TABLE %I.%I AS SELECT s.* FROM %s s LEFT JOIN irec_split_pairs p '
			'ON p.d_u = s.%s AND p.d_i = s.%s WHERE coalesce(p.part, ''train'') = %L',
			src_schema, base || '_' || t, source, u, i, t);
		EXECUTE format('CREATE INDEX ON %I.%I (%s)', src_schema, base || '_' || t, u);
		EXECUTE format('ANALYZE %I.%I', src_schema, base || '_' || t);
	END LOOP;

	train_table := format('%I.%I', src_schema, base || '_train')::regclass;
	test_table := format('%I.%I', src_schema, base || '_test')::regclass;
	fold_in_table := CASE WHEN method = 'users' THEN format('%I.%I', src_schema, base || '_fold_in')::regclass END;
	EXECUTE format('SELECT count(*) FROM %s', train_table) INTO train_rows;
	EXECUTE format('SELECT count(*), count(DISTINCT %s) FROM %s', u, test_table) INTO test_rows, test_users;
	DROP TABLE pg_temp.irec_split_pairs;
END
$$;

------------------------------------------------------------------------------
-- Serving (DESIGN §6).  Exact scoring over the model's items; ids come back
-- in the type of the id argument.  An unknown user or item gives no rows.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_recommend(
	model text, "user" anyelement, n integer DEFAULT 20, exclude_seen boolean DEFAULT true)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;

CREATE FUNCTION @extschema@.irec_similar_items(
	model text, item anyelement, n integer DEFAULT 20)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;

CREATE FUNCTION @extschema@.irec_fold_in(
	model text, items anyarray, weights real[] DEFAULT NULL)
RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_fold_in' LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.irec_recommend_for_items(
	model text, items anyarray, n integer DEFAULT 20, weights real[] DEFAULT NULL)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_recommend_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;

------------------------------------------------------------------------------
-- The ipivf index access method (DESIGN §6.2): top-n by <#>, <-> or <=>.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_ipivf_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME', 'ipivfhandler' LANGUAGE C;
CREATE ACCESS METHOD ipivf TYPE INDEX HANDLER @extschema@.irec_ipivf_handler;
COMMENT ON ACCESS METHOD ipivf IS 'inverted lists over embeddings for exact-order top-n scans';

CREATE OPERATOR CLASS @extschema@.embedding_ip_ops DEFAULT FOR TYPE @extschema@.embedding USING ipivf AS
	OPERATOR 1 @extschema@.<#> (@extschema@.embedding, @extschema@.embedding) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.embedding_negative_inner_product(@extschema@.embedding, @extschema@.embedding);
CREATE OPERATOR CLASS @extschema@.embedding_l2_ops FOR TYPE @extschema@.embedding USING ipivf AS
	OPERATOR 1 @extschema@.<-> (@extschema@.embedding, @extschema@.embedding) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.l2_distance(@extschema@.embedding, @extschema@.embedding);
CREATE OPERATOR CLASS @extschema@.embedding_cosine_ops FOR TYPE @extschema@.embedding USING ipivf AS
	OPERATOR 1 @extschema@.<=> (@extschema@.embedding, @extschema@.embedding) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.cosine_distance(@extschema@.embedding, @extschema@.embedding);

-- Verify an ipivf index against its table (structure, bounds, every visible
-- row exactly once); ERRORs on corruption.
CREATE FUNCTION @extschema@.irec_index_check(
	index regclass,
	OUT lists integer, OUT pages bigint, OUT index_entries bigint, OUT heap_rows bigint,
	OUT missing bigint, OUT duplicated bigint, OUT entries_not_visible bigint)
	AS 'MODULE_PATHNAME', 'irec_index_check' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- iALS as SQL aggregates, for PostgreSQL parallel query and Citus (DESIGN,
-- CITUS-NOTES.md).  States are double precision[] (exact text form), with
-- combine functions, so partial states can be merged across workers/nodes.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_gramian_accum(double precision[], @extschema@.embedding) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_gramian_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_gramian_accum(double precision[], @extschema@.embedding, double precision) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_gramian_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_gramian_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_gramian_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_gramian_final(double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_gramian_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Σ e·eᵀ (optionally weighted), as a flat d×d row-major array
CREATE AGGREGATE @extschema@.irec_gramian(@extschema@.embedding) (
	SFUNC = @extschema@.irec_gramian_accum, STYPE = double precision[], INITCOND = '{}',
	COMBINEFUNC = @extschema@.irec_gramian_combine, FINALFUNC = @extschema@.irec_gramian_final,
	PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.irec_gramian(@extschema@.embedding, double precision) (
	SFUNC = @extschema@.irec_gramian_accum, STYPE = double precision[], INITCOND = '{}',
	COMBINEFUNC = @extschema@.irec_gramian_combine, FINALFUNC = @extschema@.irec_gramian_final,
	PARALLEL = SAFE);

CREATE FUNCTION @extschema@.irec_ials_accum_transition(double precision[], @extschema@.embedding,
	double precision, double precision) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_ials_accum_transition' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_ials_accum_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'irec_ials_accum_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- per row: {d, count, Σ(α−α0)·h·hᵀ, Σ α·h} over the row's interactions
CREATE AGGREGATE @extschema@.irec_ials_accum(h @extschema@.embedding, confidence double precision,
	unobserved_weight double precision) (
	SFUNC = @extschema@.irec_ials_accum_transition, STYPE = double precision[], INITCOND = '{}',
	COMBINEFUNC = @extschema@.irec_ials_accum_combine, PARALLEL = SAFE);
-- the row's new embedding from its accumulation and the other side's Gramian
CREATE FUNCTION @extschema@.irec_ials_solve(accum double precision[], gram double precision[],
	regularization double precision, regularization_exponent double precision,
	unobserved_weight double precision, n_other bigint) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_ials_solve' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.irec_init_embedding(seed bigint, side integer, index bigint,
	dims integer, std double precision) RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_init_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
