-- The answer checks both load tests' readers call (test/load_update.sh,
-- test/load_retrain.sh), against the model "live" (live_users, live_items
-- with an ipivf index).
-- irec_recommend's answer equals exact scores over the tables as they are now
CREATE FUNCTION live_check(u int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE got float8[]; want float8[];
BEGIN
	SELECT array_agg(round(score::numeric, 4)::float8 ORDER BY score DESC) INTO got FROM irec_recommend('live', u, 10, exclude_seen => false);
	SELECT array_agg(round(s::numeric, 4)::float8 ORDER BY s DESC) INTO want FROM (
		SELECT -(i.embedding <#> x.embedding) AS s FROM live_items i, live_users x WHERE x.user_id = u
		 ORDER BY 1 DESC LIMIT 10) t;
	IF got IS DISTINCT FROM want THEN
		RAISE EXCEPTION 'irec_recommend for user % answered % where the tables give %', u, got, want;
	END IF;
	RETURN true;
END $$;
-- the indexed top 10 (exact scan, index forced) equals a sort over the same tables
CREATE FUNCTION live_index_check(u int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE got float8[]; want float8[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SELECT array_agg(d ORDER BY n) INTO got FROM (
		SELECT embedding <#> (SELECT embedding FROM live_users WHERE user_id = u) AS d,
		       row_number() OVER () AS n
		  FROM (SELECT embedding FROM live_items ORDER BY embedding <#> (SELECT embedding FROM live_users WHERE user_id = u)
		         LIMIT 10) l) t;
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	SELECT array_agg(d ORDER BY d) INTO want FROM (
		SELECT (i.embedding <#> x.embedding) + 0 AS d FROM live_items i, live_users x WHERE x.user_id = u
		 ORDER BY 1 LIMIT 10) t;
	IF got IS DISTINCT FROM want THEN
		RAISE EXCEPTION 'the index for user % answered % where the tables give %', u, got, want;
	END IF;
	RETURN true;
END $$;
