#!/usr/bin/env bash
# Load: 8 pgbench clients for 60 s (IREC_LOAD_SECONDS) mixing irec_recommend
# calls, filtered top-n index queries, interaction inserts, and item inserts
# and deletes on an ipivf-indexed table.  Then: no errors, the index check
# passes, and exact index scans equal sequential scans.  Needs PGHOST/PGPORT/
# PGUSER of a running cluster with irec installed; prints PASS/FAIL lines.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${IREC_LOAD_SECONDS:-60}
bindir=$(pg_config --bindir)
. test/load_db.sh
load_db_start irec_load_test
run <<'SQL' || { echo "FAIL load:setup"; exit 1; }
SET client_min_messages = warning;
SELECT irec_train('clicks', model => 'shop', dims => 16, epochs => 4, quiet => true);
CREATE TABLE catalog (id int PRIMARY KEY, category int, e embedding(16));
INSERT INTO catalog SELECT item_id, item_id % 10, embedding FROM shop_items;
CREATE INDEX catalog_e ON catalog USING ipivf (e) WITH (lists = 40);
CREATE SEQUENCE new_ids START 1000000;
SQL
out=$("$bindir/pgbench" -n -c 8 -j 2 -T "$seconds" -d "$db" \
	-f test/load/recommend.sql@4 -f test/load/index_query.sql@3 \
	-f test/load/insert_interaction.sql@2 -f test/load/churn_items.sql@1 2>&1)
status=$?
echo "$out" | grep -E "number of transactions actually processed|number of failed|tps =|aborted" | sed 's/^/    /'
if [ $status -eq 0 ] && ! echo "$out" | grep -q "aborted"; then
	echo "PASS load:8 clients for ${seconds}s without errors"
else
	echo "$out" | tail -20
	echo "FAIL load:pgbench"
	exit 1
fi
fail=0
run -c "VACUUM catalog" || fail=1
check=$(run -At -c "SELECT missing || '/' || duplicated || '/' || entries_not_visible || '/' || heap_rows FROM irec_index_check('catalog_e')")
echo "    index check (missing/duplicated/not visible/rows): $check"
case "$check" in
	0/0/0/*) echo "PASS load:index check after the load" ;;
	*) echo "FAIL load:index check after the load"; fail=1 ;;
esac
# compare the scores in rank order: the churn copies embeddings, so tied
# items may come back in either order
same=$(run -At <<'SQL'
CREATE FUNCTION agree(u int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a float8[]; b float8[]; q embedding;
BEGIN
  SELECT embedding INTO q FROM shop_users WHERE user_id = u;
  SET LOCAL irec.probes = 0; SET LOCAL enable_seqscan = off;
  SELECT array_agg(score) INTO a FROM (SELECT e <#> q AS score FROM catalog WHERE category = u % 10 ORDER BY e <#> q LIMIT 20) s;
  SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
  SELECT array_agg(score) INTO b FROM (SELECT e <#> q AS score FROM catalog WHERE category = u % 10 ORDER BY e <#> q LIMIT 20) s;
  RETURN a IS NOT DISTINCT FROM b;
END $$;
SELECT bool_and(agree(u)) FROM generate_series(1, 5000, 97) u;
SQL
)
if [ "$same" = "t" ]; then
	echo "PASS load:exact index scans equal sequential scans after the load"
else
	echo "FAIL load:exact index scans equal sequential scans after the load ($same)"
	fail=1
fi
exit $fail
