-- Aggregate states are plain double precision[] so that parallel query and
-- Citus can ship them; a user can therefore hand any array to the combine,
-- final and solve functions.  Feed them thousands of random and hostile
-- states (wrong lengths, NaN/Inf headers, fractional or huge dimensions,
-- NULL elements, 2-D arrays, mismatched pairs) and check that every call
-- either answers or fails with a data-exception-class error, never an
-- internal error or a crash, and that answers are finite.
SET client_min_messages = warning;
SELECT setseed(0.42);

-- one random element: mostly ordinary numbers, sometimes hostile ones
CREATE FUNCTION fuzz_value() RETURNS float8 LANGUAGE sql AS $$
  SELECT (ARRAY[0, 1, -1, 2, 3, 0.5, 1e308, -1e308, 'NaN', 'Infinity', '-Infinity',
                8193, 16001, 2147483648, random() * 10 - 5, random(), random()])
         [1 + floor(random() * 17)::int]::float8 $$;

-- a random state: half the time with a plausible header (d in 1..3 and the
-- exact length of a Gramian, an accumulation or a sum state), otherwise any
-- length, sometimes 2-D or with a NULL
CREATE FUNCTION fuzz_state() RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
  d int := 1 + floor(random() * 3)::int;
  n int;
  a float8[];
  shape float8 := random();
BEGIN
  IF shape < 0.5 THEN
    n := (ARRAY[1 + d * d, 2 + d * d + d, 1 + d])[1 + floor(random() * 3)::int];
    a := ARRAY[d::float8];
    FOR k IN 2..n LOOP a := a || CASE WHEN random() < 0.9 THEN random() * 4 - 1 ELSE fuzz_value() END; END LOOP;
    IF random() < 0.3 THEN a[1 + floor(random() * n)::int] := fuzz_value(); END IF;
  ELSE
    n := floor(random() * 24)::int;
    a := '{}';
    FOR k IN 1..n LOOP a := a || fuzz_value(); END LOOP;
  END IF;
  IF random() < 0.05 AND n > 0 THEN a[1 + floor(random() * n)::int] := NULL; END IF;
  IF random() < 0.05 THEN a := ARRAY[a, a]; END IF;
  RETURN a;
END $$;

CREATE FUNCTION fuzz_embedding() RETURNS embedding LANGUAGE sql AS $$
  SELECT array_agg(random() * 2 - 1)::real[]::embedding FROM generate_series(1, 1 + floor(random() * 3)::int) $$;

CREATE TABLE outcomes (fn text, sqlstate text, finite bool);

CREATE FUNCTION fuzz(calls int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  fns text[] := ARRAY['embedding_accum', 'embedding_combine', 'embedding_sum_final', 'embedding_avg_final',
                      'irec_gramian_accum', 'irec_gramian_combine', 'irec_gramian_final',
                      'irec_ials_accum_transition', 'irec_ials_accum_combine', 'irec_ials_solve'];
  fn text;
  a float8[]; b float8[];
  e embedding;
  arr float8[];
  code text;
  ok bool;
BEGIN
  FOR i IN 1..calls LOOP
    FOREACH fn IN ARRAY fns LOOP
      a := fuzz_state(); b := fuzz_state(); e := fuzz_embedding();
      BEGIN
        ok := NULL;
        CASE fn
          WHEN 'embedding_accum' THEN arr := embedding_accum(a, e);
          WHEN 'embedding_combine' THEN arr := embedding_combine(a, b);
          WHEN 'embedding_sum_final' THEN e := embedding_sum_final(a);
            ok := e IS NULL OR NOT 'NaN' = ANY (e::real[]::float8[]);
          WHEN 'embedding_avg_final' THEN e := embedding_avg_final(a);
            ok := e IS NULL OR NOT 'NaN' = ANY (e::real[]::float8[]);
          WHEN 'irec_gramian_accum' THEN arr := irec_gramian_accum(a, e);
          WHEN 'irec_gramian_combine' THEN arr := irec_gramian_combine(a, b);
          WHEN 'irec_gramian_final' THEN arr := irec_gramian_final(a);
          WHEN 'irec_ials_accum_transition' THEN arr := irec_ials_accum_transition(a, e, 2, 0.1);
          WHEN 'irec_ials_accum_combine' THEN arr := irec_ials_accum_combine(a, b);
          WHEN 'irec_ials_solve' THEN e := irec_ials_solve(a, b, 0.1, random() * 2, 0.1, 50);
            ok := e IS NULL OR (SELECT bool_and(x::float8 BETWEEN -3.4e38 AND 3.4e38) FROM unnest(e::real[]) x);
        END CASE;
        code := '00000';
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
      END;
      INSERT INTO outcomes VALUES (fn, code, ok);
    END LOOP;
  END LOOP;
END $$;

SELECT fuzz(400);

-- every function was driven down both its answering and its refusing paths
SELECT fn, count(*) AS calls,
       count(*) FILTER (WHERE sqlstate = '00000') > 0 AS some_answered,
       count(*) FILTER (WHERE sqlstate <> '00000') > 0 AS some_refused
  FROM outcomes GROUP BY fn ORDER BY fn;
-- refusals are data exceptions (class 22) or program limits (54), nothing else
SELECT fn, sqlstate, count(*) FROM outcomes
 WHERE sqlstate <> '00000' AND left(sqlstate, 2) NOT IN ('22', '54')
 GROUP BY fn, sqlstate ORDER BY fn, sqlstate;
-- answers that produce an embedding are finite
SELECT fn, count(*) FROM outcomes WHERE sqlstate = '00000' AND finite IS FALSE GROUP BY fn;

-- the Gramian aggregates refuse embeddings whose d×d state would exceed 1 GB
SELECT irec_gramian(array_fill(0.5::real, ARRAY[9000])::embedding);
SELECT irec_ials_accum(array_fill(0.5::real, ARRAY[9000])::embedding, 2, 0.1);
SELECT irec_gramian_final('{8193, 1, 2}');
-- while a 2048-dimensional Gramian (32 MiB) is fine
SELECT array_length(irec_gramian(array_fill(0.5::real, ARRAY[2048])::embedding), 1);

DROP FUNCTION fuzz(int), fuzz_state(), fuzz_value(), fuzz_embedding();
DROP TABLE outcomes;
