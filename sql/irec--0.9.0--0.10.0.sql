-- irec 0.9.0 -> 0.10.0
\echo Use "ALTER EXTENSION irec UPDATE TO '0.10.0'" to load this file. \quit

------------------------------------------------------------------------------
-- irec_tune holds out a tenth of each validation user's pairs per fold by
-- default (validation_fraction 0.1, was 0.2), with up to five folds as
-- before.  A setting is chosen on folds that train on less data than the
-- final model, and the best iALS setting moves with the training data's
-- density: along the ridge of equal quality the best α0 grows (and λ falls)
-- as each user keeps more of their pairs.  Measured with 16-epoch grids on
-- ml-latest-small (all ratings, binary; Recall@20, three split seeds each):
-- the best α0 was 0.1 with half of every user's pairs held out, 0.17 with
-- 36%, 0.3 with 20% and 10%.  Folds of 0.2 train on 80% of the source and
-- picked settings that scored 0.987 (MovieLens, Recall@20) and 0.989
-- (lastfm-2k play counts, NDCG@20) of the best grid point once trained on
-- the whole source; folds of 0.1 train on 90% and scored 0.995 and 1.000.
------------------------------------------------------------------------------
-- Only the default and the hint that names it change, so the function is
-- re-created from its own definition rather than restated here.
DO $do$
DECLARE
	definition text := pg_catalog.pg_get_functiondef('@extschema@.irec_tune(regclass, text, text, text, text, text, integer, text, integer, double precision, bigint, double precision, integer, boolean)'::pg_catalog.regprocedure);
	changed text;
BEGIN
	changed := pg_catalog.replace(
		pg_catalog.replace(definition, 'validation_fraction double precision DEFAULT 0.2,',
		                   'validation_fraction double precision DEFAULT 0.1,'),
		'HINT = ''0.2 holds out a fifth of each user''''s items for validation.''',
		'HINT = ''0.1 holds out a tenth of each validation user''''s items per fold.''');
	-- both texts found: the default grew by nothing, the hint by 5 characters
	IF pg_catalog.strpos(definition, 'validation_fraction double precision DEFAULT 0.2,') = 0
	   OR pg_catalog.length(changed) - pg_catalog.length(definition) <> 5 THEN
		RAISE EXCEPTION 'irec_tune is not the function 0.9.0 shipped';
	END IF;
	EXECUTE changed;
END
$do$;
