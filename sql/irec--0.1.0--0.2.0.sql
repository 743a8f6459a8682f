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
-- Early stopping: irec_train(..., validation => table) scores a held-out
-- table after every epoch, keeps the best epoch's embeddings and stops after
-- `patience` epochs without improvement; the registry records the scores.
------------------------------------------------------------------------------
ALTER TABLE @extschema@.irec_models ADD COLUMN validation double precision[];
ALTER TABLE @extschema@.irec_models ADD COLUMN best_epoch integer;
DROP FUNCTION @extschema@.irec_train(regclass, text, text, text, text, text, integer, integer,
	double precision, double precision, double precision, text, double precision, double precision,
	double precision, text, integer, bigint, integer, boolean, integer, text, double precision,
	boolean, double precision, double precision, integer, integer, double precision, text);
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
	patience integer DEFAULT 3
) RETURNS text
	AS 'MODULE_PATHNAME', 'irec_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- irec_tune: hyper-parameter search inside the database.  A seeded per-user
-- validation split of the source (temporary tables), successive halving over
-- log-spaced candidates (every candidate for a quarter of the epochs, the
-- best third for half, the best third of those for all, each stopping early
-- on the validation metric), within max_seconds; every trial is a row of
-- <model>_trials; the best setting then trains <model> on the whole source.
-- One transaction: a cancelled or failed tuning leaves the previous model
-- and trials table as they were.
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_tune(
	source regclass,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	weight_column text DEFAULT NULL,
	model text DEFAULT NULL,
	algorithm text DEFAULT 'ials',
	dims integer DEFAULT 64,
	metric text DEFAULT 'ndcg',
	k integer DEFAULT 20,
	max_seconds double precision DEFAULT 600,
	seed bigint DEFAULT 42,
	validation_fraction double precision DEFAULT 0.2,
	threads integer DEFAULT 0,
	quiet boolean DEFAULT false,
	OUT model_name text,
	OUT params jsonb,
	OUT validation_score double precision,
	OUT epochs integer,
	OUT trials integer,
	OUT seconds double precision
) LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	u text := quote_ident(user_column);
	i text := quote_ident(item_column);
	src_schema name;
	src_name name;
	target text;
	trials_table text;
	full_epochs integer;
	grid jsonb[];
	candidate jsonb;
	defaults jsonb;
	keys text[];
	n_items double precision;
	mean_user double precision;
	a0_rule double precision;
	effective jsonb;
	rung_epochs integer[];
	survivors jsonb[];
	scored record;
	rung integer;
	trial_started timestamptz;
	trial_model text;
	result record;
	per_epoch double precision := NULL;	-- seconds per epoch of a trial so far
	best_params jsonb;
	best_score double precision := -1;
	best_epochs integer;
	train_sql text;
BEGIN
	IF source IS NULL OR user_column IS NULL OR item_column IS NULL OR algorithm IS NULL OR dims IS NULL
	   OR metric IS NULL OR k IS NULL OR max_seconds IS NULL OR seed IS NULL OR validation_fraction IS NULL
	   OR threads IS NULL OR quiet IS NULL THEN
		RAISE EXCEPTION 'arguments of irec_tune must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Leave an argument out to use its default; only weight_column and model may be NULL.';
	END IF;
	IF NOT (max_seconds > 0 AND max_seconds <= 1e7) THEN
		RAISE EXCEPTION 'max_seconds must be positive and at most 1e7, not %', max_seconds
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The search stops starting trials when its budget is spent; 600 is the default.';
	END IF;
	IF metric NOT IN ('ndcg', 'recall') THEN
		RAISE EXCEPTION 'unknown metric "%"', metric
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''ndcg'' or ''recall''.';
	END IF;
	IF NOT (validation_fraction > 0 AND validation_fraction < 1) THEN
		RAISE EXCEPTION 'validation_fraction must be between 0 and 1 (exclusive), not %', validation_fraction
			USING ERRCODE = 'invalid_parameter_value', HINT = '0.2 holds out a fifth of each user''s items for validation.';
	END IF;
	IF algorithm NOT IN ('ials', 'softmax', 'bpr', 'warp', 'pointwise', 'gramian_sgd') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Available algorithms: ''ials'', ''softmax'', ''bpr'', ''warp'', ''pointwise'', ''gramian_sgd''.';
	END IF;
	FOREACH target IN ARRAY ARRAY[user_column, item_column] || CASE WHEN weight_column IS NULL THEN '{}'::text[] ELSE ARRAY[weight_column] END LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = source AND attname = target AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation % does not exist', target, source
				USING ERRCODE = 'undefined_column', HINT = 'Name the columns with user_column, item_column and weight_column.';
		END IF;
	END LOOP;

	SELECT n.nspname, c.relname INTO src_schema, src_name
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
	-- the model as irec_train names it; trials beside its tables
	target := model;
	IF model IS NULL THEN
		trials_table := format('%I.%I', src_schema, src_name || '_trials');
	ELSIF array_length(parse_ident(model), 1) = 2 THEN
		trials_table := format('%I.%I', (parse_ident(model))[1], (parse_ident(model))[2] || '_trials');
	ELSE
		trials_table := format('%I.%I', src_schema, (parse_ident(model))[1] || '_trials');
	END IF;

	-- the validation split: each user's pairs ordered by a seeded hash, the
	-- first validation_fraction of them held out (users with one item stay)
	FOREACH train_sql IN ARRAY ARRAY['irec_tune_pairs', 'irec_tune_train', 'irec_tune_validation'] LOOP
		IF to_regclass('pg_temp.' || train_sql) IS NOT NULL THEN
			EXECUTE format('DROP TABLE pg_temp.%I', train_sql);
		END IF;
	END LOOP;
	EXECUTE format(
		'CREATE TEMP TABLE irec_tune_pairs AS SELECT d_u, d_i, n >= 2 AND r <= greatest(1, least(n - 1, round(%s * n))) AS held '
		'FROM (SELECT s.%s AS d_u, s.%s AS d_i, row_number() OVER (PARTITION BY s.%s '
		'ORDER BY hashtextextended(s.%s::text || chr(31) || s.%s::text, %s), s.%s::text) AS r, '
		'count(*) OVER (PARTITION BY s.%s) AS n FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL GROUP BY s.%s, s.%s) ranked',
		validation_fraction, u, i, u, u, i, seed, i, u, source, u, i, u, i);
	EXECUTE format('CREATE TEMP TABLE irec_tune_train AS SELECT s.* FROM %s s LEFT JOIN irec_tune_pairs p '
	               'ON p.d_u = s.%s AND p.d_i = s.%s WHERE NOT coalesce(p.held, false)', source, u, i);
	EXECUTE format('CREATE TEMP TABLE irec_tune_validation AS SELECT s.* FROM %s s JOIN irec_tune_pairs p '
	               'ON p.d_u = s.%s AND p.d_i = s.%s WHERE p.held', source, u, i);
	DROP TABLE pg_temp.irec_tune_pairs;
	EXECUTE format('CREATE INDEX ON pg_temp.irec_tune_train (%s)', u);
	ANALYZE pg_temp.irec_tune_train;
	ANALYZE pg_temp.irec_tune_validation;

	-- candidates: log-spaced around the defaults, the parameters that matter;
	-- '{}' is irec_train's own defaults (for iALS, computed from the data's
	-- shape by train.c), and always reaches the last rung, so the search
	-- never ends below them
	defaults := '{}';
	IF algorithm = 'ials' THEN
		full_epochs := 16;
		keys := ARRAY['unobserved_weight', 'regularization'];
		-- around the shape rule of ials.h: α0 = min(1, 500/|I|), λ a fraction
		-- of 30/(n̄ + α0·|I|), the regularization at which the model collapses
		EXECUTE format('SELECT count(DISTINCT %s)::float8, count(DISTINCT (%s, %s))::float8 / greatest(count(DISTINCT %s), 1) '
		               'FROM pg_temp.irec_tune_train WHERE %s IS NOT NULL AND %s IS NOT NULL', i, u, i, u, u, i)
		   INTO n_items, mean_user;
		a0_rule := least(1.0, 500.0 / greatest(n_items, 1));
		SELECT array_agg(CASE WHEN f = 1 AND c = 0.5 THEN defaults
		                      ELSE jsonb_build_object('unobserved_weight', a0_rule * f,
		                                              'regularization', c * 30 / (mean_user + a0_rule * f * n_items)) END
		                 ORDER BY f, c) INTO grid
		  FROM unnest(ARRAY[1 / 9.0, 1 / 3.0, 1, 3, 9]::float8[]) f, unnest(ARRAY[0.1, 0.2, 0.35, 0.5, 0.7]::float8[]) c;
	ELSIF algorithm = 'softmax' THEN
		full_epochs := 60;
		keys := ARRAY['learning_rate', 'regularization', 'temperature'];
		SELECT array_agg(jsonb_build_object('learning_rate', r, 'regularization', l, 'temperature', t) ORDER BY r, l, t) INTO grid
		  FROM unnest(ARRAY[0.03, 0.1, 0.3]) r, unnest(ARRAY[0.02, 0.07, 0.2, 0.5]) l, unnest(ARRAY[0.5, 1.0]) t;
	ELSE
		full_epochs := 30;
		keys := ARRAY['learning_rate', 'regularization'];
		SELECT array_agg(jsonb_build_object('learning_rate', r, 'regularization', l) ORDER BY r, l) INTO grid
		  FROM unnest(ARRAY[0.01, 0.03, 0.1, 0.3]) r, unnest(ARRAY[0.00001, 0.0001, 0.001, 0.01]) l;
	END IF;
	rung_epochs := ARRAY[greatest(2, full_epochs / 4), greatest(3, full_epochs / 2), full_epochs];

	IF to_regclass(trials_table) IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', trials_table);
	END IF;
	EXECUTE format('CREATE TABLE %s (trial integer PRIMARY KEY, rung integer NOT NULL, params jsonb NOT NULL, '
	               'defaults boolean NOT NULL, max_epochs integer NOT NULL, best_epoch integer, %I double precision, '
	               'seconds double precision NOT NULL)',
	               trials_table, metric || '@' || k);
	trials := 0;
	survivors := grid;
	FOR rung IN 1 .. 3 LOOP
		IF to_regclass('pg_temp.irec_tune_rung') IS NOT NULL THEN
			DROP TABLE pg_temp.irec_tune_rung;
		END IF;
		CREATE TEMP TABLE irec_tune_rung (params jsonb, score double precision, best_epoch integer);
		FOREACH candidate IN ARRAY survivors LOOP
			-- stop starting trials once the rest of the budget would not cover one and the final training
			IF per_epoch IS NOT NULL AND extract(epoch FROM clock_timestamp() - started)
			   + per_epoch * (rung_epochs[rung] + full_epochs) > max_seconds THEN
				EXIT;
			END IF;
			trial_started := clock_timestamp();
			train_sql := format('SELECT @extschema@.irec_train(%L, user_column => %L, item_column => %L, weight_column => %L, '
			                    'model => %L, algorithm => %L, dims => %s, epochs => %s, seed => %s, threads => %s, quiet => true, '
			                    'validation => %L, validation_k => %s, validation_metric => %L, patience => 2',
			                    'pg_temp.irec_tune_train', user_column, item_column, weight_column,
			                    'irec_tune_trial', algorithm, dims, rung_epochs[rung], seed, threads,
			                    'pg_temp.irec_tune_validation', k, metric)
			             || coalesce((SELECT string_agg(format(', %I => %s', key, value), '') FROM jsonb_each_text(candidate)), '')
			             || ')';
			EXECUTE train_sql INTO trial_model;
			SELECT (SELECT max(v) FROM unnest(m.validation) v) AS score, m.best_epoch, m.epochs,
			       (SELECT jsonb_object_agg(key, m.params -> key) FROM unnest(keys) key) AS effective INTO result
			  FROM @extschema@.irec_models m WHERE m.name = trial_model;
			trials := trials + 1;
			per_epoch := greatest(coalesce(per_epoch, 0),
			                      extract(epoch FROM clock_timestamp() - trial_started) / greatest(result.epochs, 1));
			INSERT INTO irec_tune_rung VALUES (candidate, result.score, result.best_epoch);
			EXECUTE format('INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', trials_table)
			  USING trials, rung, result.effective, candidate = defaults, rung_epochs[rung], result.best_epoch, result.score,
			        extract(epoch FROM clock_timestamp() - trial_started)::double precision;
			IF result.score > best_score OR (result.score = best_score AND rung > 1) THEN
				best_score := result.score;
				best_params := candidate;
				best_epochs := result.best_epoch;
			END IF;
			IF NOT quiet THEN
				RAISE NOTICE 'trial % (rung %, % epochs): % % %@% = %, best epoch %', trials, rung, rung_epochs[rung],
					result.effective, CASE WHEN candidate = defaults THEN ' (defaults)' ELSE '' END,
					metric, k, round(result.score::numeric, 4), result.best_epoch;
			END IF;
		END LOOP;
		-- the best third goes on to the next rung, with more epochs
		SELECT array_agg(r.params ORDER BY r.score DESC) INTO survivors
		  FROM (SELECT * FROM irec_tune_rung ORDER BY score DESC
		         LIMIT greatest(1, ceil((SELECT count(*) FROM irec_tune_rung) / 3.0)::int)) r;
		EXIT WHEN survivors IS NULL OR rung = 3;
		-- the defaults always reach the last rung
		IF rung = 2 AND NOT (defaults = ANY (survivors)) THEN
			survivors := survivors || defaults;
		END IF;
	END LOOP;
	-- the trials' model and the split are temporary
	DELETE FROM @extschema@.irec_models WHERE name = trial_model;
	DROP TABLE pg_temp.irec_tune_rung, pg_temp.irec_tune_train, pg_temp.irec_tune_validation,
		pg_temp.irec_tune_trial_users, pg_temp.irec_tune_trial_items;
	IF best_params IS NULL THEN
		RAISE EXCEPTION 'max_seconds % did not allow a single trial', max_seconds
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the search a larger budget.';
	END IF;

	-- the final model: the best setting on the whole source, for the epochs it peaked at
	train_sql := format('SELECT @extschema@.irec_train(%L, user_column => %L, item_column => %L, weight_column => %L, '
	                    'model => %L, algorithm => %L, dims => %s, epochs => %s, seed => %s, threads => %s, quiet => true',
	                    source::text, user_column, item_column, weight_column, target, algorithm, dims,
	                    greatest(best_epochs, 1), seed, threads)
	             || coalesce((SELECT string_agg(format(', %I => %s', key, value), '') FROM jsonb_each_text(best_params)), '')
	             || ')';
	EXECUTE train_sql INTO model_name;
	SELECT jsonb_object_agg(key, m.params -> key) INTO params FROM @extschema@.irec_models m, unnest(keys) key
	 WHERE m.name = model_name;
	validation_score := best_score;
	epochs := best_epochs;
	seconds := extract(epoch FROM clock_timestamp() - started);
	IF NOT quiet THEN
		RAISE NOTICE 'tuned % in % trials, % s: % (validation %@% = %)', model_name, trials,
			round(seconds::numeric, 1), params, metric, k, round(best_score::numeric, 4);
	END IF;
END
$$;

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

------------------------------------------------------------------------------
-- Training progress from another connection (irec in shared_preload_libraries):
-- one row per running irec_train (irec_tune's trials included).
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.irec_progress(
	OUT pid integer,
	OUT model text,
	OUT algorithm text,
	OUT phase text,
	OUT epoch integer,
	OUT epochs integer,
	OUT loss double precision,
	OUT validation double precision,
	OUT elapsed_seconds double precision,
	OUT seconds_left double precision
) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'irec_progress' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

------------------------------------------------------------------------------
-- Serving reads a model with snapshots taken after it has locked the
-- model's tables, so that it answers from one complete model while the
-- model is retrained (test/load_retrain.sh): not STABLE, and (a fresh
-- snapshot per query) only in the leader of a parallel query.
------------------------------------------------------------------------------
ALTER FUNCTION @extschema@.irec_recommend(text, anyelement, integer, boolean) VOLATILE PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.irec_similar_items(text, anyelement, integer) VOLATILE PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.irec_fold_in(text, anyarray, real[]) VOLATILE PARALLEL RESTRICTED;
ALTER FUNCTION @extschema@.irec_recommend_for_items(text, anyarray, integer, real[]) VOLATILE PARALLEL RESTRICTED;
