-- irec 0.6.0 -> 0.7.0
\echo Use "ALTER EXTENSION irec UPDATE TO '0.7.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Models that follow the data (DESIGN §6.3).
-- irec_update re-solves, in place, the rows of an iALS model whose
-- interactions changed: exact user (and item) steps against the other
-- side's current embeddings, from all of the row's interactions in the
-- source.  The changed rows come from id lists, from a time column
-- (`since`), or from the change log irec_track_changes keeps.
-- irec_models.updated_at records the last update (NULL after training).
------------------------------------------------------------------------------
ALTER TABLE @extschema@.irec_models ADD COLUMN updated_at timestamptz;

-- Four forms: the change log or since (no ids), users, items, or both;
-- polymorphic id arrays cannot default to NULL, hence the overloads.
CREATE FUNCTION @extschema@.irec_update(
	model text,
	since timestamptz DEFAULT NULL,
	time_column text DEFAULT NULL,
	with_items boolean DEFAULT false
) RETURNS TABLE (users_updated bigint, users_added bigint, users_removed bigint,
                 items_updated bigint, items_added bigint, items_removed bigint,
                 seconds double precision)
	AS 'MODULE_PATHNAME', 'irec_update' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@.irec_update(model text, users anyarray)
RETURNS TABLE (users_updated bigint, users_added bigint, users_removed bigint,
               items_updated bigint, items_added bigint, items_removed bigint,
               seconds double precision)
	AS 'MODULE_PATHNAME', 'irec_update_users' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@.irec_update(model text, items anycompatiblearray)
RETURNS TABLE (users_updated bigint, users_added bigint, users_removed bigint,
               items_updated bigint, items_added bigint, items_removed bigint,
               seconds double precision)
	AS 'MODULE_PATHNAME', 'irec_update_items' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@.irec_update(model text, users anyarray, items anycompatiblearray)
RETURNS TABLE (users_updated bigint, users_added bigint, users_removed bigint,
               items_updated bigint, items_added bigint, items_removed bigint,
               seconds double precision)
	AS 'MODULE_PATHNAME', 'irec_update_users_items' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The change log's trigger: statement-level, one per event, each inserting
-- the distinct (user, item) pairs its statement touched.  TG_ARGV: the log
-- table (quoted, qualified), the user column, the item column.
CREATE FUNCTION @extschema@.irec_log_changes() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		EXECUTE format('INSERT INTO %s (user_id, item_id) SELECT DISTINCT %I, %I FROM irec_new_rows',
		               TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]);
	END IF;
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		EXECUTE format('INSERT INTO %s (user_id, item_id) SELECT DISTINCT %I, %I FROM irec_old_rows',
		               TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]);
	END IF;
	RETURN NULL;
END
$$;

-- irec_track_changes(model): <model>_changes(user_id, item_id, logged_at),
-- filled by triggers on the model's source table; irec_update(model) with
-- no ids and no since consumes it.  enabled => false drops the triggers and
-- the log.  Anyone who may change the source may append to the log: a row
-- there only asks for a re-solve from the source, which reads the data as
-- the model's owner sees it.
CREATE FUNCTION @extschema@.irec_track_changes(model text, enabled boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m record;
	parts text[];
	log_name text;
	log_table text;
	source_oid oid;
	user_type text;
	item_type text;
	trigger_base text;
	trigger_name name;
BEGIN
	IF model IS NULL OR enabled IS NULL THEN
		RAISE EXCEPTION 'model and enabled must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the name of a trained model.';
	END IF;
	SELECT r.source, r.users_table, r.user_column, r.item_column, r.owner INTO m
	  FROM @extschema@.irec_models r WHERE r.name = model;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', model
			USING ERRCODE = 'undefined_object', HINT = 'Models are listed in irec_models; train one with irec_train.';
	END IF;
	IF m.owner <> current_user THEN
		RAISE EXCEPTION 'only the owner of model "%" may track its changes', model
			USING ERRCODE = 'insufficient_privilege', HINT = 'irec_models.owner names the role that trained it.';
	END IF;
	parts := parse_ident(m.users_table);
	log_name := left(parts[array_upper(parts, 1)], -6) || '_changes';
	log_table := CASE WHEN array_length(parts, 1) > 1 THEN quote_ident(parts[1]) || '.' ELSE '' END
	             || quote_ident(log_name);
	source_oid := m.source::regclass;
	IF (SELECT relkind FROM pg_class WHERE oid = source_oid) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION 'the source % of model "%" is not a table', m.source, model
			USING ERRCODE = 'wrong_object_type',
			      HINT = 'A change log needs triggers on a table; use irec_update with users => or since => instead.';
	END IF;
	trigger_base := 'irec_log_' || left(md5(log_table), 12);
	FOR trigger_name IN SELECT t.tgname FROM pg_trigger t
	                     WHERE t.tgrelid = source_oid AND t.tgname LIKE trigger_base || '\_%' LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, m.source);
	END LOOP;
	IF NOT enabled THEN
		EXECUTE format('DROP TABLE IF EXISTS %s', log_table);
		RETURN NULL;
	END IF;
	user_type := format_type(a.atttypid, NULL) FROM pg_attribute a
	             WHERE a.attrelid = source_oid AND a.attname = m.user_column AND NOT a.attisdropped;
	item_type := format_type(a.atttypid, NULL) FROM pg_attribute a
	             WHERE a.attrelid = source_oid AND a.attname = m.item_column AND NOT a.attisdropped;
	IF user_type IS NULL OR item_type IS NULL THEN
		RAISE EXCEPTION 'the source % of model "%" lacks its user or item column', m.source, model
			USING ERRCODE = 'undefined_column', HINT = 'Train the model again with irec_train.';
	END IF;
	EXECUTE format('CREATE TABLE IF NOT EXISTS %s (user_id %s, item_id %s, '
	               'logged_at timestamptz NOT NULL DEFAULT pg_catalog.now())', log_table, user_type, item_type);
	EXECUTE format('GRANT INSERT ON %s TO PUBLIC', log_table);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS irec_new_rows '
	               'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irec_log_changes(%L, %L, %L)',
	               trigger_base || '_ins', m.source, log_table, m.user_column, m.item_column);
	EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS irec_old_rows '
	               'NEW TABLE AS irec_new_rows '
	               'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irec_log_changes(%L, %L, %L)',
	               trigger_base || '_upd', m.source, log_table, m.user_column, m.item_column);
	EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS irec_old_rows '
	               'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irec_log_changes(%L, %L, %L)',
	               trigger_base || '_del', m.source, log_table, m.user_column, m.item_column);
	RETURN log_table;
END
$$;

------------------------------------------------------------------------------
-- Warm-started retraining: irec_train(..., warm_start => true) starts from
-- the existing model's embeddings for the ids it knows (random for new ids).
------------------------------------------------------------------------------
DROP FUNCTION @extschema@.irec_train(regclass, text, text, text, text, text, integer, integer,
	double precision, double precision, double precision, text, double precision, double precision,
	double precision, text, integer, bigint, integer, boolean, integer, text, double precision,
	boolean, double precision, double precision, integer, integer, double precision, text,
	regclass, integer, text, integer);
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
	warm_start boolean DEFAULT false
) RETURNS text
	AS 'MODULE_PATHNAME', 'irec_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- Diversified serving: diversity 0 .. 1 re-ranks a candidate pool by
-- maximal marginal relevance over the items' cosine similarity; 0 is the
-- plain top-n.
------------------------------------------------------------------------------
DROP FUNCTION @extschema@.irec_recommend(text, anyelement, integer, boolean);
CREATE FUNCTION @extschema@.irec_recommend(
	model text, "user" anyelement, n integer DEFAULT 20, exclude_seen boolean DEFAULT true,
	diversity double precision DEFAULT 0)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_recommend' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 20;

DROP FUNCTION @extschema@.irec_similar_items(text, anyelement, integer);
CREATE FUNCTION @extschema@.irec_similar_items(
	model text, item anyelement, n integer DEFAULT 20, diversity double precision DEFAULT 0)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_similar_items' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 20;

DROP FUNCTION @extschema@.irec_recommend_for_items(text, anyarray, integer, real[]);
CREATE FUNCTION @extschema@.irec_recommend_for_items(
	model text, items anyarray, n integer DEFAULT 20, weights real[] DEFAULT NULL,
	diversity double precision DEFAULT 0)
RETURNS TABLE (item_id anyelement, score double precision)
	AS 'MODULE_PATHNAME', 'irec_recommend_for_items' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 20;
