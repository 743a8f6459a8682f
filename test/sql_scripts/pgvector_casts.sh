#!/usr/bin/env bash
# irec next to pgvector in one database and schema: irec_pgvector_casts()
# creates assignment casts both ways, values cross exactly (binary COPY
# too), typmods hold, the call is idempotent, and pgvector's own operators
# and index keep working.  Skips (exit 0) when pgvector is not installed;
# needs PGHOST/PGPORT/PGUSER of a running cluster with irec installed.
set -uo pipefail
if [ ! -f "$(pg_config --sharedir)/extension/vector.control" ]; then
	echo "SKIP pgvector_casts: pgvector is not installed"
	exit 0
fi
db=irec_pgvector_test
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || exit 1
copy_file=/tmp/irec_pgvector_casts.$$.copy
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; rm -f "$copy_file"' EXIT
run() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail=0
check() {			# check <what> <expected> <sql>
	local got
	got=$(run -c "$3" 2>&1 | head -1)
	if [ "$got" != "$2" ]; then
		echo "FAILED: $1: expected '$2', got '$got'"
		fail=1
	fi
}

run -c "CREATE EXTENSION vector" -c "CREATE EXTENSION irec" || exit 1
check "no casts before the call" 0 \
	"SELECT count(*) FROM pg_cast WHERE castsource = 'vector'::regtype AND casttarget = 'embedding'::regtype"
check "the call creates both casts" "2 casts between public.vector and public.embedding created, 0 existed" \
	"SELECT irec_pgvector_casts()"
check "a second call changes nothing" "0 casts between public.vector and public.embedding created, 2 existed" \
	"SELECT irec_pgvector_casts()"
check "both casts are assignment casts" "a|a" \
	"SELECT string_agg(castcontext::text, '|') FROM pg_cast
	  WHERE (castsource, casttarget) IN (('vector'::regtype, 'embedding'::regtype), ('embedding'::regtype, 'vector'::regtype))"
check "explicit casts both ways" "[1,2.5,-3]|[1,2.5,-3]|embedding|vector" \
	"SELECT concat_ws('|', '[1,2.5,-3]'::vector::embedding, '[1,2.5,-3]'::embedding::vector,
	                  pg_typeof('[1]'::vector::embedding), pg_typeof('[1]'::embedding::vector))"
check "values cross exactly, extremes included" "t" \
	"SELECT bool_and(float4send(a) = float4send(b))
	   FROM (SELECT unnest(v::embedding::real[]) a, unnest(v::real[]) b
	           FROM (SELECT '[1e-45,-3.4028235e38,0.1,-0,123456.79]'::vector v) s) t"
check "typmod of the target holds" "ERROR:  expected 3 dimensions, not 2" \
	"SELECT '[1,2]'::vector::embedding(3)" 
check "vector typmod holds" "ERROR:  expected 3 dimensions, not 2" \
	"SELECT '[1,2]'::embedding::vector(3)"
run -c "CREATE TABLE v (id int, v vector(3))" \
    -c "INSERT INTO v VALUES (1, '[1,2,3]'), (2, '[1e-45,-3e38,0.1]'), (3, NULL)" \
    -c "CREATE TABLE e (id int, e embedding(3))" || exit 1
check "INSERT ... SELECT converts vector to embedding" "3" \
	"WITH i AS (INSERT INTO e SELECT * FROM v RETURNING 1) SELECT count(*) FROM i"
check "and back" "2" "SELECT count(*) FROM e JOIN v USING (id) WHERE e.e::vector = v.v"
check "UPDATE assigns across types" "1" \
	"WITH u AS (UPDATE v SET v = (SELECT e FROM e WHERE id = 1) WHERE id = 3 RETURNING 1) SELECT count(*) FROM u"
# the layouts match: a binary COPY of a vector column loads into an embedding column
run -c "COPY v TO '$copy_file' (FORMAT binary)" -c "CREATE TABLE e2 (id int, e embedding(3))" \
    -c "COPY e2 FROM '$copy_file' (FORMAT binary)" || fail=1
check "binary COPY from vector to embedding is exact" "3" \
	"SELECT count(*) FROM e2 JOIN v USING (id) WHERE e2.e::vector = v.v"
# both extensions keep working side by side, indexes included
run -c "CREATE INDEX ON v USING hnsw (v vector_l2_ops)" -c "CREATE INDEX ON e USING ipivf (e embedding_l2_ops)" || fail=1
check "pgvector's operators" "[1,2,3]" "SELECT v FROM v ORDER BY v <-> '[1,2,3]' LIMIT 1"
check "irec's operators" "[1,2,3]" "SELECT e FROM e ORDER BY e <-> '[1,2,3]' LIMIT 1"
check "typed calls resolve" "3|3" "SELECT concat_ws('|', vector_dims('[1,2,3]'::vector), vector_dims('[1,2,3]'::embedding))"
# dropping pgvector takes the casts with it (CASCADE), irec stays
check "DROP EXTENSION vector needs CASCADE" "t" \
	"SELECT count(*) > 0 FROM pg_depend d JOIN pg_cast c ON d.classid = 'pg_cast'::regclass AND d.objid = c.oid
	  WHERE c.casttarget = 'embedding'::regtype AND c.castsource = 'vector'::regtype"
run -c "DROP TABLE v" -c "DROP EXTENSION vector CASCADE" 2>/dev/null || fail=1
check "casts gone with pgvector" "0" \
	"SELECT count(*) FROM pg_cast WHERE castsource = 'embedding'::regtype AND casttarget NOT IN ('embedding'::regtype, 'real[]'::regtype, 'double precision[]'::regtype)"
check "and the refusal again" "ERROR:  pgvector is not installed in this database" \
	"SELECT irec_pgvector_casts()" 
[ "$fail" -eq 0 ] && echo "pgvector_casts: all checks passed"
exit $fail
