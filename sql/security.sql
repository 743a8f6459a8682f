-- Privileges, row-level security, schemas and hostile search_paths.
SET client_min_messages = warning;
CREATE ROLE regress_irec_alice;
CREATE ROLE regress_irec_bob;
CREATE SCHEMA sec AUTHORIZATION regress_irec_alice;
CREATE SCHEMA bobs AUTHORIZATION regress_irec_bob;
GRANT USAGE ON SCHEMA sec TO regress_irec_bob;
GRANT USAGE ON SCHEMA public TO regress_irec_alice, regress_irec_bob;
-- functions run with the caller's rights: no SECURITY DEFINER anywhere
SELECT count(*) AS security_definer_functions FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec') AND p.prosecdef;
SET ROLE regress_irec_alice;
CREATE TABLE sec.clicks AS SELECT user_id, item_id FROM irec_synthetic(300, 80, 4000, seed => 6);
-- bob may read only users 1..100, through a policy
ALTER TABLE sec.clicks ENABLE ROW LEVEL SECURITY;
CREATE POLICY bob_sees_some ON sec.clicks FOR SELECT TO regress_irec_bob USING (user_id <= 100);
GRANT SELECT ON sec.clicks TO regress_irec_bob;
-- alice's tables in sec are readable by bob by default
ALTER DEFAULT PRIVILEGES IN SCHEMA sec GRANT SELECT ON TABLES TO regress_irec_bob;
SELECT irec_train('sec.clicks', dims => 4, epochs => 2, quiet => true);
RESET ROLE;
SELECT n_users, owner FROM irec_models WHERE name = 'clicks';
-- bob trains from the same table: only the rows his policy shows him
SET ROLE regress_irec_bob;
SELECT irec_train('sec.clicks', model => 'bobs.mine', dims => 4, epochs => 2, quiet => true);
SELECT n_users <= 100 AS only_visible_users, n_interactions < (SELECT count(*) FROM sec.clicks_users) * 100 AS fewer_rows
  FROM irec_models WHERE name = 'bobs.mine';
-- the model's tables got alice's default privileges: bob can read them
SELECT count(*) > 0 AS bob_reads_alices_model FROM sec.clicks_items;
-- writing a model needs CREATE on its schema
SELECT irec_train('sec.clicks', model => 'sec.bobs_try', dims => 4, epochs => 1, quiet => true);
-- no SELECT, no training
RESET ROLE;
CREATE TABLE public.secret AS SELECT user_id, item_id FROM irec_synthetic(50, 20, 500, seed => 1);
SET ROLE regress_irec_bob;
SELECT irec_train('public.secret', model => 'bobs.stolen', dims => 4, epochs => 1, quiet => true);
SELECT * FROM irec_evaluate_popularity('public.secret', 'public.secret');
-- a model belongs to whoever trained it: bob cannot replace or delete alice's
SELECT irec_train('sec.clicks', model => 'clicks', dims => 4, epochs => 1, quiet => true);
UPDATE irec_models SET dims = 1 WHERE name = 'clicks';
DELETE FROM irec_models WHERE name = 'clicks';
SELECT count(*) AS alices_model_untouched FROM irec_models WHERE name = 'clicks' AND dims = 4;
RESET ROLE;

-- a hostile search_path: objects named like irec's and like built-ins in a
-- schema searched before pg_catalog change nothing irec computes
CREATE TABLE public.hp AS SELECT user_id, item_id FROM irec_synthetic(200, 60, 3000, seed => 2);
SELECT test_users > 0 AS split FROM irec_split('public.hp', seed => 1);
SELECT irec_train('public.hp_train', dims => 4, epochs => 3, quiet => true, model => 'hp_clean');
CREATE TEMP TABLE clean AS SELECT * FROM irec_evaluate('hp_clean', 'public.hp_test');
CREATE SCHEMA evil;
CREATE FUNCTION evil.inner_product(embedding, embedding) RETURNS float8 LANGUAGE sql AS 'SELECT 0::float8';
CREATE FUNCTION evil.sum(float8) RETURNS float8 LANGUAGE sql AS 'SELECT 0::float8';
CREATE FUNCTION evil.int4eq_never(int4, int4) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = evil.int4eq_never);
CREATE TABLE evil.irec_models (name text);
CREATE FUNCTION evil.count() RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
SET search_path = evil, pg_catalog, public;
SELECT irec_train('public.hp_train', dims => 4, epochs => 3, quiet => true, model => 'hp_hostile');
SELECT (SELECT pg_catalog.count(*) FROM evil.irec_models) AS evil_registry_rows,
       (SELECT pg_catalog.count(*) FROM public.irec_models WHERE name = 'hp_hostile') AS real_registry_rows;
SELECT e.ndcg = c.ndcg AND e.recall = c.recall AS same_evaluation
  FROM irec_evaluate('hp_hostile', 'public.hp_test') e, clean c;
SELECT bool_and(a.embedding::text = b.embedding::text) AS same_embeddings
  FROM public.hp_clean_items a JOIN public.hp_hostile_items b ON a.item_id OPERATOR(pg_catalog.=) b.item_id;
SELECT pg_catalog.count(*) AS recommended FROM irec_recommend('hp_hostile', 5, 5);
RESET search_path;
-- the extension is not trusted: installing it takes a superuser
SELECT extname, (SELECT trusted FROM pg_available_extension_versions v
                  WHERE v.name = e.extname AND v.version = e.extversion) AS trusted
  FROM pg_extension e WHERE extname = 'irec';
DROP SCHEMA evil CASCADE;
DROP TABLE public.hp, public.hp_train, public.hp_test, public.hp_clean_users, public.hp_clean_items,
  public.hp_hostile_users, public.hp_hostile_items, public.secret;
DELETE FROM irec_models WHERE name IN ('hp_clean', 'hp_hostile');
DROP SCHEMA sec CASCADE;
DROP SCHEMA bobs CASCADE;
DELETE FROM irec_models WHERE name IN ('clicks', 'bobs.mine');
REVOKE ALL ON SCHEMA public FROM regress_irec_alice, regress_irec_bob;
DROP ROLE regress_irec_alice;
DROP ROLE regress_irec_bob;
