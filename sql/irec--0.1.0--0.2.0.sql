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
