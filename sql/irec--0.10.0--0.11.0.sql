-- irec 0.10.0 -> 0.11.0
\echo Use "ALTER EXTENSION irec UPDATE TO '0.11.0'" to load this file. \quit

------------------------------------------------------------------------------
-- irec_tune, same arguments, keeps the defaults unless a setting beats them
-- by more than the noise of the validation folds:
-- * the best setting replaces irec_train's defaults only when its mean gain
--   over them, fold by fold on the same folds and epochs, exceeds one
--   standard error of those paired gains (with two folds: when it wins on
--   both).  The best of some 30 trials is partly the luckiest; on small
--   data the gain the search saw was as often noise as signal (MovieLens,
--   star weights: a setting 1.2% above the defaults on its folds scored
--   1.4% below them on the test split);
-- * a search that could afford only one fold (large data) runs the best
--   setting and the defaults on a second fold when the budget allows: rung 5
--   of <model>_trials, one fold each;
-- * <model>_trials records each trial's per-fold scores (fold_scores) and
--   marks the trial whose setting trained the final model (chosen);
-- * folds => n fixes the number of validation folds (NULL, the default:
--   as many as the budget covers, up to five, as before);
-- * folds are made when a trial first needs them, in one place.
------------------------------------------------------------------------------
DROP FUNCTION @extschema@.irec_tune(regclass, text, text, text, text, text, integer, text, integer, double precision,
                                    bigint, double precision, integer, boolean);
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
	validation_fraction double precision DEFAULT 0.1,
	threads integer DEFAULT 0,
	quiet boolean DEFAULT false,
	folds integer DEFAULT NULL,
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
	candidate jsonb;
	defaults jsonb := '{}';
	base jsonb;					-- the defaults' effective values, from the first trial
	keys text[];
	n_items double precision;
	mean_user double precision;
	mass_rule double precision;
	rung_epochs integer[];
	survivors jsonb[];
	rung integer;
	fold integer;
	n_folds integer := 1;			-- validation folds each trial runs on
	max_folds integer;
	trial_started timestamptz;
	trial_model text;
	result record;
	score double precision;
	fold_epochs integer[];
	stopped boolean;
	per_epoch double precision := NULL;	-- seconds per epoch of one fold's trial so far
	best_params jsonb;
	best_score double precision := -1;
	best_epochs integer;
	train_sql text;
	first_trial double precision;	-- seconds of the first trial (the defaults, rung 1, fold 1)
	remaining double precision;
	rung_cost constant double precision := 1 + 2 / 3.0 + 4 / 9.0;	-- per rung-1 candidate, see the plan
	refine_reserve constant integer := 6;	-- local-search trials the plan keeps budget for
	refine_origin jsonb;			-- effective values of the last rung's best: the local search's origin
	origin_mass double precision;	-- iALS: the origin's regularization weight of the mean row
	refine_steps jsonb[];			-- rung 4: each candidate's lattice step [i, j, k] from the origin
	centre jsonb;					-- rung 4: the step of the best setting so far
	centre_score double precision;
	rebuild boolean := false;		-- rung 4: queue the centre's neighbours next
	step jsonb;
	move integer[];
	a0 double precision;
	nu double precision;
	planned integer := NULL;		-- rung-1 candidates the budget covers
	-- Validation users at most: the held-out pairs of this many users
	-- (a seeded sample) score every epoch of every trial, so that the cost
	-- of scoring stays a fraction of training on large data; the other
	-- users keep all their pairs for training.
	max_validation_users constant integer := 10000;
	slot integer;
	made_folds integer := 0;		-- folds 1 .. made_folds exist as temp tables
	first_fold integer := 1;		-- rung 5 runs on fold 2 only
	fold_scores double precision[];	-- this trial's score on each fold it ran
	best_trial integer;				-- the trial that set best_score
	best_fold_scores double precision[];
	best_max_epochs integer;
	rival record;					-- the defaults' trial the best is compared with
	mean_gain double precision;
	gain_se double precision;
	gain_folds integer;
BEGIN
	IF source IS NULL OR user_column IS NULL OR item_column IS NULL OR algorithm IS NULL OR dims IS NULL
	   OR metric IS NULL OR k IS NULL OR max_seconds IS NULL OR seed IS NULL OR validation_fraction IS NULL
	   OR threads IS NULL OR quiet IS NULL THEN
		RAISE EXCEPTION 'arguments of irec_tune must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Leave an argument out to use its default; only weight_column, model and folds may be NULL.';
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
			USING ERRCODE = 'invalid_parameter_value', HINT = '0.1 holds out a tenth of each validation user''s items per fold.';
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

	-- the validation folds: a seeded sample of at most max_validation_users
	-- users with two or more items; each one's pairs ordered by a seeded
	-- hash and cut into slices of round(validation_fraction·n) pairs (at
	-- least one, and one pair always stays in training); fold f holds out
	-- slice f.  Fold 1 is 0.4.0's split.
	max_folds := least(5, greatest(1, floor(1 / validation_fraction)::int));
	IF folds IS NOT NULL AND NOT (folds BETWEEN 1 AND max_folds) THEN
		RAISE EXCEPTION 'folds must be between 1 and %, not %', max_folds, folds
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'At most five folds, and at most 1/validation_fraction; NULL lets the budget decide.';
	END IF;
	FOR fold IN 0 .. max_folds LOOP
		FOREACH train_sql IN ARRAY CASE WHEN fold = 0 THEN ARRAY['irec_tune_pairs']
		                           ELSE ARRAY['irec_tune_train_' || fold, 'irec_tune_validation_' || fold] END LOOP
			IF to_regclass('pg_temp.' || train_sql) IS NOT NULL THEN
				EXECUTE format('DROP TABLE pg_temp.%I', train_sql);
			END IF;
		END LOOP;
	END LOOP;
	EXECUTE format(
		'CREATE TEMP TABLE irec_tune_pairs AS SELECT d_u, d_i, '
		'CASE WHEN n >= 2 AND user_rank <= %s THEN ceil(r / greatest(1, least(n - 1, round(%s * n))))::int END AS fold '
		'FROM (SELECT d_u, d_i, r, n, dense_rank() OVER (PARTITION BY n >= 2 ORDER BY hashtextextended(d_u::text, %s), d_u::text) AS user_rank '
		'FROM (SELECT s.%s AS d_u, s.%s AS d_i, row_number() OVER (PARTITION BY s.%s '
		'ORDER BY hashtextextended(s.%s::text || chr(31) || s.%s::text, %s), s.%s::text) AS r, '
		'count(*) OVER (PARTITION BY s.%s) AS n FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL GROUP BY s.%s, s.%s) ranked) sampled',
		max_validation_users, validation_fraction, seed, u, i, u, u, i, seed, i, u, source, u, i, u, i);
	-- each fold's tables are made when a trial first runs on it: fold 1 by
	-- the first trial, the others once it shows the budget covers them

	-- candidates: log-spaced around the defaults' effective values (the
	-- parameters that matter), nearest to the defaults first, so that a
	-- budget that covers only some of them keeps the nearest.  '{}' is
	-- irec_train's own defaults (computed from the data's shape by train.c),
	-- tried first, and always reaches the last rung, so the search never
	-- ends below them; the grid is built from that first trial.
	IF algorithm = 'ials' THEN
		full_epochs := 16;
		keys := ARRAY['unobserved_weight', 'regularization', 'regularization_exponent'];
	ELSIF algorithm = 'softmax' THEN
		full_epochs := 60;
		keys := ARRAY['learning_rate', 'regularization', 'temperature'];
	ELSE
		full_epochs := 30;
		keys := ARRAY['learning_rate', 'regularization'];
	END IF;
	survivors := ARRAY[defaults];
	-- rung 4 is the local search, rung 5 the second fold's check, both at
	-- the full epochs
	rung_epochs := ARRAY[greatest(2, full_epochs / 4), greatest(3, full_epochs / 2), full_epochs, full_epochs, full_epochs];

	IF to_regclass(trials_table) IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', trials_table);
	END IF;
	EXECUTE format('CREATE TABLE %s (trial integer PRIMARY KEY, rung integer NOT NULL, params jsonb NOT NULL, '
	               'defaults boolean NOT NULL, max_epochs integer NOT NULL, best_epoch integer, %I double precision, '
	               'folds integer NOT NULL, seconds double precision NOT NULL, fold_scores double precision[] NOT NULL, '
	               'chosen boolean NOT NULL DEFAULT false)',
	               trials_table, metric || '@' || k);
	trials := 0;
	IF to_regclass('pg_temp.irec_tune_rung') IS NOT NULL THEN
		DROP TABLE pg_temp.irec_tune_rung;
	END IF;
	CREATE TEMP TABLE irec_tune_rung (at_rung integer, params jsonb, effective jsonb, score double precision,
	                                  best_epoch integer, stopped boolean, trial integer, max_epochs integer,
	                                  fold_scores double precision[]);
	FOR rung IN 1 .. 5 LOOP
		slot := 0;
		-- survivors is read each time round: the first trial replaces
		-- rung 1's list by the grid around the defaults, and on rung 4 a
		-- better setting replaces the rest of the queue by its neighbours
		LOOP
			IF rebuild THEN
				-- the centre's neighbours on the lattice: α0 (iALS) or the
				-- learning rate times 3^(±1/2), the regularization weight
				-- (iALS: of the mean row) times 1.25^(±1) (softmax: λ times
				-- 2^(±1/2), the others 3^(±1/2)), iALS's ν ± 0.25; each step
				-- tried once, at most 4 half-steps from the origin
				survivors := survivors[1:slot];
				refine_steps := refine_steps[1:slot];
				FOREACH move SLICE 1 IN ARRAY ARRAY[[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]] LOOP
					step := jsonb_build_array((centre->>0)::int + move[1], (centre->>1)::int + move[2], (centre->>2)::int + move[3]);
					CONTINUE WHEN step = '[0, 0, 0]' OR step = ANY (refine_steps)
					           OR abs((step->>0)::int) > 4 OR abs((step->>1)::int) > 4 OR abs((step->>2)::int) > 2
					           OR (algorithm <> 'ials' AND move[3] <> 0);
					IF algorithm = 'ials' THEN
						a0 := (refine_origin->>'unobserved_weight')::float8 * 3 ^ ((step->>0)::int / 2.0);
						nu := (refine_origin->>'regularization_exponent')::float8 + 0.25 * (step->>2)::int;
						CONTINUE WHEN nu < 0.5 OR nu > 1.5;
						candidate := jsonb_build_object('unobserved_weight', a0,
						    'regularization', origin_mass * 1.25 ^ (step->>1)::int / (mean_user + a0 * n_items) ^ nu,
						    'regularization_exponent', nu);
					ELSE
						candidate := refine_origin || jsonb_build_object(
						    'learning_rate', (refine_origin->>'learning_rate')::float8 * 3 ^ ((step->>0)::int / 2.0),
						    'regularization', (refine_origin->>'regularization')::float8
						                      * CASE WHEN algorithm = 'softmax' THEN 2 ELSE 3 END ^ ((step->>1)::int / 2.0));
					END IF;
					survivors := survivors || candidate;
					refine_steps := refine_steps || step;
				END LOOP;
				rebuild := false;
			END IF;
			EXIT WHEN slot >= coalesce(array_length(survivors, 1), 0) OR (rung = 4 AND slot >= 24);
			slot := slot + 1;
			candidate := survivors[slot];
			-- rung 1 tries the candidates the budget plan covers; every rung
			-- stops starting trials once the rest of the budget would not
			-- cover one and the final training
			IF rung = 1 AND planned IS NOT NULL AND trials >= planned THEN
				EXIT;
			END IF;
			IF per_epoch IS NOT NULL AND extract(epoch FROM clock_timestamp() - started)
			   + per_epoch * (rung_epochs[rung] * (n_folds - first_fold + 1) + full_epochs
			                  + CASE WHEN rung = 4 AND n_folds = 1 AND max_folds >= 2 THEN 2 * full_epochs ELSE 0 END) > max_seconds THEN
				EXIT;
			END IF;
			-- a candidate that stopped early on the last rung would stop at
			-- the same epoch with more epochs allowed: its score carries over
			INSERT INTO irec_tune_rung SELECT rung, r.params, r.effective, r.score, r.best_epoch, true, r.trial,
			                                  rung_epochs[rung], r.fold_scores
			  FROM irec_tune_rung r WHERE r.at_rung = rung - 1 AND rung < 5 AND r.params = candidate AND r.stopped;
			IF FOUND THEN
				-- the best setting's score now stands for this rung's epochs
				IF candidate = best_params THEN
					best_max_epochs := rung_epochs[rung];
				END IF;
				CONTINUE;
			END IF;
			trial_started := clock_timestamp();
			fold_scores := '{}';
			fold_epochs := '{}';
			stopped := true;
			fold := first_fold;
			WHILE fold <= n_folds LOOP
				IF fold > made_folds THEN
					-- this fold's tables: the source without, and with only,
					-- the pairs its slice holds out
					EXECUTE format('CREATE TEMP TABLE %I AS SELECT s.* FROM %s s LEFT JOIN irec_tune_pairs p '
					               'ON p.d_u = s.%s AND p.d_i = s.%s WHERE p.fold IS DISTINCT FROM %s',
					               'irec_tune_train_' || fold, source, u, i, fold);
					EXECUTE format('CREATE TEMP TABLE %I AS SELECT s.* FROM %s s JOIN irec_tune_pairs p '
					               'ON p.d_u = s.%s AND p.d_i = s.%s WHERE p.fold = %s',
					               'irec_tune_validation_' || fold, source, u, i, fold);
					EXECUTE format('CREATE INDEX ON pg_temp.%I (%s)', 'irec_tune_train_' || fold, u);
					EXECUTE format('ANALYZE pg_temp.%I', 'irec_tune_train_' || fold);
					EXECUTE format('ANALYZE pg_temp.%I', 'irec_tune_validation_' || fold);
					made_folds := fold;
				END IF;
				train_sql := format('SELECT @extschema@.irec_train(%L, user_column => %L, item_column => %L, weight_column => %L, '
				                    'model => %L, algorithm => %L, dims => %s, epochs => %s, seed => %s, threads => %s, quiet => true, '
				                    'validation => %L, validation_k => %s, validation_metric => %L, patience => 2',
				                    'pg_temp.irec_tune_train_' || fold, user_column, item_column, weight_column,
				                    'irec_tune_trial', algorithm, dims, rung_epochs[rung], seed, threads,
				                    'pg_temp.irec_tune_validation_' || fold, k, metric)
				             || coalesce((SELECT string_agg(format(', %I => %s', key, value), '') FROM jsonb_each_text(candidate)), '')
				             || ')';
				EXECUTE train_sql INTO trial_model;
				SELECT (SELECT max(v) FROM unnest(m.validation) v) AS score, m.best_epoch, m.epochs,
				       (SELECT jsonb_object_agg(key, m.params -> key) FROM unnest(keys) key) AS effective INTO result
				  FROM @extschema@.irec_models m WHERE m.name = trial_model;
				fold_scores := fold_scores || result.score;
				fold_epochs := fold_epochs || result.best_epoch;
				stopped := stopped AND result.epochs < rung_epochs[rung];
				per_epoch := greatest(coalesce(per_epoch, 0),
				                      extract(epoch FROM clock_timestamp() - trial_started) / (fold - first_fold + 1)
				                      / greatest(result.epochs, 1));
				IF first_trial IS NULL THEN
					-- the plan, from the first trial: a trial of e epochs costs
					-- about first_trial·e/e1 per fold; rung 1 runs n candidates,
					-- rung 2 a third of them for twice the epochs, rung 3 a third
					-- of those (and the defaults) for four times, then the final
					-- training on the whole source.  Folds: as many as let the
					-- plan cover every candidate, up to max_folds.
					first_trial := extract(epoch FROM clock_timestamp() - trial_started);
					base := result.effective;
					IF algorithm = 'ials' THEN
						EXECUTE format('SELECT count(DISTINCT %s)::float8, count(DISTINCT (%s, %s))::float8 / greatest(count(DISTINCT %s), 1) '
						               'FROM pg_temp.irec_tune_train_1 WHERE %s IS NOT NULL AND %s IS NOT NULL', i, u, i, u, u, i)
						   INTO n_items, mean_user;
						-- α0 as the rule sets it on this split, times 1/9 .. 9,
						-- and λ giving the mean row the rule's regularization
						-- weight λ·(n̄ + α0·|I|) times 0.2 .. 1.4 (the model
						-- collapses at about twice the rule's)
						mass_rule := (base->>'regularization')::float8 * (mean_user + (base->>'unobserved_weight')::float8 * n_items);
						SELECT ARRAY[defaults] || array_agg(jsonb_build_object(
						           'unobserved_weight', (base->>'unobserved_weight')::float8 * f,
						           'regularization', c * mass_rule / (mean_user + (base->>'unobserved_weight')::float8 * f * n_items))
						         ORDER BY abs(ln(f)) / ln(3) + abs(ln(c)) / ln(1.6), f, c) INTO survivors
						  FROM unnest(ARRAY[1 / 9.0, 1 / 3.0, 1, 3, 9]::float8[]) f, unnest(ARRAY[0.2, 0.4, 0.7, 1, 1.4]::float8[]) c
						 WHERE NOT (f = 1 AND c = 1);
					ELSIF algorithm = 'softmax' THEN
						SELECT ARRAY[defaults] || array_agg(jsonb_build_object(
						           'learning_rate', (base->>'learning_rate')::float8 * r,
						           'regularization', (base->>'regularization')::float8 * l,
						           'temperature', (base->>'temperature')::float8 * t)
						         ORDER BY abs(ln(r)) / ln(3) + abs(ln(l)) / ln(2) + abs(ln(t)) / ln(2), r, l, t) INTO survivors
						  FROM unnest(ARRAY[1 / 3.0, 1, 3]::float8[]) r, unnest(ARRAY[0.25, 0.5, 1, 2]::float8[]) l,
						       unnest(ARRAY[0.5, 1]::float8[]) t
						 WHERE NOT (r = 1 AND l = 1 AND t = 1);
					ELSE
						SELECT ARRAY[defaults] || array_agg(jsonb_build_object(
						           'learning_rate', (base->>'learning_rate')::float8 * r,
						           'regularization', (base->>'regularization')::float8 * l)
						         ORDER BY abs(ln(r)) / ln(3) + abs(ln(l)) / ln(3), r, l) INTO survivors
						  FROM unnest(ARRAY[1 / 3.0, 1, 3]::float8[]) r, unnest(ARRAY[0.1, 0.3, 1, 3, 10]::float8[]) l
						 WHERE NOT (r = 1 AND l = 1);
					END IF;
					-- The local search's first trials are planned too, as
					-- refine_reserve full-epoch trials on every fold.
					remaining := max_seconds - extract(epoch FROM clock_timestamp() - started)
					             - first_trial * (full_epochs::float8 / rung_epochs[1] + 4);
					n_folds := coalesce(folds, least(max_folds, greatest(1, floor(remaining / (first_trial * (rung_cost * array_length(survivors, 1)
					                                   + refine_reserve * full_epochs::float8 / rung_epochs[1])))::int)));
					planned := least(array_length(survivors, 1),
					                 greatest(1, floor((remaining - first_trial * n_folds * refine_reserve * full_epochs::float8 / rung_epochs[1])
					                                   / (first_trial * n_folds * rung_cost))::int + 1));
					IF NOT quiet THEN
						RAISE NOTICE 'first trial took % s: % candidates on % validation fold(s) fit the budget of % s',
							round(first_trial::numeric, 1), planned, n_folds, max_seconds;
					END IF;
				END IF;
				fold := fold + 1;
			END LOOP;
			trials := trials + 1;
			score := (SELECT avg(v) FROM unnest(fold_scores) v);
			INSERT INTO irec_tune_rung VALUES (rung, candidate, result.effective, score,
			                                   round((SELECT avg(e) FROM unnest(fold_epochs) e))::int, stopped,
			                                   trials, rung_epochs[rung], fold_scores);
			EXECUTE format('INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', trials_table)
			  USING trials, rung, result.effective, candidate = defaults, rung_epochs[rung],
			        round((SELECT avg(e) FROM unnest(fold_epochs) e))::int, score, cardinality(fold_scores),
			        extract(epoch FROM clock_timestamp() - trial_started)::double precision, fold_scores;
			-- rung 5's scores are on another fold: they only test the best
			IF rung < 5 AND (score > best_score OR (score = best_score AND rung > 1)) THEN
				best_score := score;
				best_params := candidate;
				best_epochs := round((SELECT avg(e) FROM unnest(fold_epochs) e))::int;
				best_trial := trials;
				best_fold_scores := fold_scores;
				best_max_epochs := rung_epochs[rung];
			END IF;
			IF rung = 4 AND score > centre_score THEN
				centre := refine_steps[slot];
				centre_score := score;
				rebuild := true;
			END IF;
			IF NOT quiet THEN
				RAISE NOTICE 'trial % (rung %, % epochs, % fold(s)): % % %@% = %, best epoch %', trials, rung, rung_epochs[rung],
					cardinality(fold_scores), result.effective, CASE WHEN candidate = defaults THEN ' (defaults)' ELSE '' END,
					metric, k, round(score::numeric, 4), fold_epochs;
			END IF;
		END LOOP;
		-- the best third goes on to the next rung, with more epochs
		SELECT array_agg(r.params ORDER BY r.score DESC) INTO survivors
		  FROM (SELECT * FROM irec_tune_rung r WHERE r.at_rung = rung ORDER BY r.score DESC
		         LIMIT greatest(1, ceil((SELECT count(*) FROM irec_tune_rung r WHERE r.at_rung = rung) / 3.0)::int)) r;
		EXIT WHEN survivors IS NULL OR rung = 5;
		IF rung = 4 THEN
			-- rung 5: a search that ran on one fold runs the best setting and
			-- the defaults, at the full epochs, on a second fold, so that the
			-- choice below has two paired gains; only when both fit the
			-- budget (with the final training)
			EXIT WHEN best_params = defaults OR n_folds > 1 OR max_folds < 2 OR best_max_epochs < full_epochs
			          OR extract(epoch FROM clock_timestamp() - started) + per_epoch * 3 * full_epochs > max_seconds;
			survivors := ARRAY[best_params, defaults];
			rebuild := false;
			first_fold := 2;
			n_folds := 2;
		END IF;
		-- the defaults always reach the last rung of the halving
		IF rung = 2 AND NOT (defaults = ANY (survivors)) THEN
			survivors := survivors || defaults;
		END IF;
		IF rung = 3 THEN
			-- the local search starts from the last rung's best setting
			SELECT r.effective, r.score INTO refine_origin, centre_score
			  FROM irec_tune_rung r WHERE r.at_rung = 3 ORDER BY r.score DESC LIMIT 1;
			EXIT WHEN refine_origin IS NULL;
			IF algorithm = 'ials' THEN
				origin_mass := (refine_origin->>'regularization')::float8
				               * (mean_user + (refine_origin->>'unobserved_weight')::float8 * n_items)
				                 ^ (refine_origin->>'regularization_exponent')::float8;
			END IF;
			survivors := '{}';
			refine_steps := '{}';
			centre := '[0, 0, 0]';
			rebuild := true;
		END IF;
	END LOOP;
	-- the best setting against the defaults, fold by fold at the same epochs
	-- (rung 5's second fold appended): it replaces them only when its mean
	-- gain exceeds one standard error of the gains
	IF best_params IS DISTINCT FROM defaults THEN
		SELECT r.* INTO rival FROM irec_tune_rung r
		 WHERE r.params = defaults AND r.at_rung < 5 AND r.max_epochs = best_max_epochs
		 ORDER BY r.at_rung DESC LIMIT 1;
		IF FOUND THEN
			SELECT avg(b - d), stddev_samp(b - d) / sqrt(count(*)), count(*) INTO mean_gain, gain_se, gain_folds
			  FROM unnest(best_fold_scores || coalesce((SELECT r.fold_scores FROM irec_tune_rung r
			                                            WHERE r.at_rung = 5 AND r.params = best_params), '{}'),
			              rival.fold_scores || coalesce((SELECT r.fold_scores FROM irec_tune_rung r
			                                             WHERE r.at_rung = 5 AND r.params = defaults), '{}')) AS g(b, d)
			 WHERE b IS NOT NULL AND d IS NOT NULL;
			IF gain_folds >= 2 AND gain_folds = cardinality(best_fold_scores)
			                                    + coalesce((SELECT cardinality(r.fold_scores) FROM irec_tune_rung r
			                                                WHERE r.at_rung = 5 AND r.params = best_params), 0)
			   AND mean_gain <= gain_se THEN
				IF NOT quiet THEN
					RAISE NOTICE 'keeping the defaults: % gains %@% = % ± % over them (mean ± standard error over % folds)',
						(SELECT r.effective FROM irec_tune_rung r WHERE r.trial = best_trial LIMIT 1), metric, k,
						round(mean_gain::numeric, 4), round(gain_se::numeric, 4), gain_folds;
				END IF;
				best_params := defaults;
				best_score := rival.score;
				best_epochs := rival.best_epoch;
				best_trial := rival.trial;
			END IF;
		END IF;
	END IF;
	IF best_trial IS NOT NULL THEN
		EXECUTE format('UPDATE %s SET chosen = true WHERE trial = $1', trials_table) USING best_trial;
	END IF;
	-- the trials' model and the folds are temporary
	DELETE FROM @extschema@.irec_models WHERE name = trial_model;
	DROP TABLE pg_temp.irec_tune_rung, pg_temp.irec_tune_pairs, pg_temp.irec_tune_trial_users, pg_temp.irec_tune_trial_items;
	FOR fold IN 1 .. made_folds LOOP
		EXECUTE format('DROP TABLE pg_temp.%I, pg_temp.%I', 'irec_tune_train_' || fold, 'irec_tune_validation_' || fold);
	END LOOP;
	IF best_params IS NULL THEN
		RAISE EXCEPTION 'max_seconds % did not allow a single trial', max_seconds
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the search a larger budget.';
	END IF;

	-- the final model: the best setting on the whole source, iALS for the
	-- full epochs, the others for the epochs they peaked at
	train_sql := format('SELECT @extschema@.irec_train(%L, user_column => %L, item_column => %L, weight_column => %L, '
	                    'model => %L, algorithm => %L, dims => %s, epochs => %s, seed => %s, threads => %s, quiet => true',
	                    source::text, user_column, item_column, weight_column, target, algorithm, dims,
	                    CASE WHEN algorithm = 'ials' THEN full_epochs ELSE greatest(best_epochs, 1) END, seed, threads)
	             || coalesce((SELECT string_agg(format(', %I => %s', key, value), '') FROM jsonb_each_text(best_params)), '')
	             || ')';
	EXECUTE train_sql INTO model_name;
	SELECT jsonb_object_agg(key, m.params -> key) INTO params FROM @extschema@.irec_models m, unnest(keys) key
	 WHERE m.name = model_name;
	validation_score := best_score;
	SELECT m.epochs INTO epochs FROM @extschema@.irec_models m WHERE m.name = model_name;
	seconds := extract(epoch FROM clock_timestamp() - started);
	IF NOT quiet THEN
		RAISE NOTICE 'tuned % in % trials, % s: % (validation %@% = %)', model_name, trials,
			round(seconds::numeric, 1), params, metric, k, round(best_score::numeric, 4);
	END IF;
END
$$;

