-- irec 0.8.0 -> 0.9.0
\echo Use "ALTER EXTENSION irec UPDATE TO '0.9.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Context-aware models (DESIGN §5.1.2): irec_train(..., context_columns =>
-- ARRAY['user_id', 'weekday'], context_model => 'sum' | 'product') trains
-- iALS over contexts of several fields, one embedding per field value;
-- irec_recommend_context serves them from a jsonb context; irec_evaluate
-- ranks each test context; irec_fold_in_context folds a new field value in;
-- irec_add_previous_item adds "the item before" as a context field.
------------------------------------------------------------------------------
DROP FUNCTION @extschema@.irec_train(regclass, text, text, text, text, text, integer, integer,
	double precision, double precision, double precision, text, double precision, double precision,
	double precision, text, integer, bigint, integer, boolean, integer, text, double precision,
	boolean, double precision, double precision, integer, integer, double precision, text,
	regclass, integer, text, integer, boolean, integer, text);
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
	unobserved_weight double precision DEFAULT NULL,
	confidence text DEFAULT NULL,
	alpha double precision DEFAULT 1.0,
	epsilon double precision DEFAULT NULL,
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
	engine text DEFAULT 'memory',
	validation regclass DEFAULT NULL,
	validation_k integer DEFAULT 20,
	validation_metric text DEFAULT 'ndcg',
	patience integer DEFAULT 3,
	warm_start boolean DEFAULT false,
	candidates integer DEFAULT NULL,
	loss text DEFAULT NULL,
	context_columns text[] DEFAULT NULL,
	context_model text DEFAULT 'sum'
) RETURNS text
	AS 'MODULE_PATHNAME', 'irec_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A context model's φ for a context given as {"field": value, ...}: the sum
-- (or elementwise product) of its values' embeddings.  A field left out,
-- null, or with a value the model lacks contributes nothing, and a NOTICE
-- says so unless quiet.
CREATE FUNCTION @extschema@.irec_context_embedding(model text, context jsonb, quiet boolean DEFAULT false)
RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_context_embedding' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- φ from a context's field embeddings (NULL: absent), as irec_evaluate
-- builds it for every test context at once.
CREATE FUNCTION @extschema@.irec_context_combine(context_model text, parts @extschema@.embedding[])
RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_context_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The embedding of the one value of a context that the model lacks (a new
-- user, say), from the items chosen in that context: the training's own
-- least-squares step for that field with everything else fixed.
CREATE FUNCTION @extschema@.irec_fold_in_context(
	model text, context jsonb, items anyarray, weights real[] DEFAULT NULL)
RETURNS @extschema@.embedding
	AS 'MODULE_PATHNAME', 'irec_fold_in_context' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Top-n items for a context: φ (irec_context_embedding), then the items
-- table by <#>, which an ipivf index on it serves.  exclude_seen drops the
-- items that the context's first field value (the user, usually) has in
-- the training source.
CREATE FUNCTION @extschema@.irec_recommend_context(
	model text, context jsonb, n integer DEFAULT 20, exclude_seen boolean DEFAULT true)
RETURNS TABLE (item_id text, score double precision)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED ROWS 20
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	m record;
	phi @extschema@.embedding;
	first_column text;
	first_type text;
	first_value text;
	seen_filter text := '';
BEGIN
	IF model IS NULL OR context IS NULL OR n IS NULL OR exclude_seen IS NULL THEN
		RAISE EXCEPTION 'arguments of irec_recommend_context must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass a model name and a context, like irec_recommend_context(''m'', ''{"user_id": 42, "weekday": 5}'').';
	END IF;
	IF n < 0 THEN
		RAISE EXCEPTION 'n must not be negative' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Ask for the number of items to return, like n => 20.';
	END IF;
	phi := @extschema@.irec_context_embedding(model, context);
	SELECT r.* INTO m FROM @extschema@.irec_models r WHERE r.name = model;
	first_column := m.params->'context_columns'->>0;
	first_value := context->>first_column;
	IF exclude_seen AND first_value IS NOT NULL THEN
		SELECT format_type(a.atttypid, a.atttypmod) INTO first_type FROM pg_attribute a
		 WHERE a.attrelid = (m.params->'context_tables'->>0)::regclass AND a.attname = first_column;
		seen_filter := format(' WHERE NOT EXISTS (SELECT 1 FROM %s s WHERE s.%I = $2::%s AND s.%I = i.item_id)',
							  m.source, first_column, first_type, m.item_column);
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT i.item_id::text, -(i.embedding OPERATOR(@extschema@.<#>) $1) FROM %s i%s '
		'ORDER BY i.embedding OPERATOR(@extschema@.<#>) $1 LIMIT $3', m.items_table, seen_filter)
		USING phi, first_value, n;
END
$fn$;

-- A copy of the interactions with the item each user chose before (by a
-- time column; NULL for a user's first) as one more column, ready to be a
-- context field: "user + last item played" is
--   irec_train(irec_add_previous_item('plays', 'played_at'),
--              context_columns => ARRAY['user_id', 'previous_item']).
-- Ties in time are broken by the item, so the result is deterministic.
CREATE FUNCTION @extschema@.irec_add_previous_item(
	source regclass, time_column text, user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id', previous_column text DEFAULT 'previous_item',
	target text DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	source_name text;
	target_name text;
BEGIN
	IF source IS NULL OR time_column IS NULL OR user_column IS NULL OR item_column IS NULL
	   OR previous_column IS NULL THEN
		RAISE EXCEPTION 'arguments of irec_add_previous_item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the interactions and their time column, like irec_add_previous_item(''plays'', ''played_at'').';
	END IF;
	FOREACH source_name IN ARRAY ARRAY[time_column, user_column, item_column] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = source AND attname = source_name
					   AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation % does not exist', source_name, source
				USING ERRCODE = 'undefined_column',
					  HINT = 'Name the time, user and item columns with time_column, user_column and item_column.';
		END IF;
	END LOOP;
	IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = source AND attname = previous_column
			   AND attnum > 0 AND NOT attisdropped) THEN
		RAISE EXCEPTION 'relation % already has a column "%"', source, previous_column
			USING ERRCODE = 'duplicate_column', HINT = 'Name the new column with previous_column.';
	END IF;
	SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) INTO source_name
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
	IF target IS NOT NULL THEN
		-- read like a table name: "t", "schema.t", "\"T\""; a bare name
		-- goes beside the source
		target_name := (SELECT string_agg(quote_ident(p), '.') FROM unnest(parse_ident(target)) p);
		IF array_length(parse_ident(target), 1) = 1 THEN
			target_name := (SELECT quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							 WHERE c.oid = source) || '.' || target_name;
		END IF;
	END IF;
	target_name := coalesce(target_name, (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname || '_sequence')
									   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
									  WHERE c.oid = source));
	EXECUTE format('CREATE TABLE %s AS SELECT s.*, lag(s.%I) OVER (PARTITION BY s.%I ORDER BY s.%I, s.%I) AS %I FROM %s s',
				   target_name, item_column, user_column, time_column, item_column, previous_column, source_name);
	RETURN target_name::regclass;
END
$fn$;
