#!/usr/bin/env bash
# Updates under live traffic: 8 pgbench clients for 60 s (IREC_LOAD_SECONDS)
# insert interactions and call irec_update for the user (new users too) or
# the item they touched, while others call irec_recommend and run exact
# indexed top-n queries on the same model.  Each reader checks its answer
# against the model tables read again in the same repeatable-read
# transaction and raises an error on a mismatch.  Passes when no
# transaction failed, and the index and the stored Gramian agree with the
# tables afterwards.  Reports the updates done and their latency.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with irec installed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${IREC_LOAD_SECONDS:-60}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/irec-update.XXXXXX)
chmod 777 "$work"
cleanup="rm -rf $work"
. test/load_db.sh
load_db_start irec_update_test
run -o /dev/null <<'SQL' || { echo "FAIL update:setup"; exit 1; }
SET client_min_messages = warning;
CREATE INDEX ON clicks (item_id);
SELECT irec_train('clicks', model => 'live', dims => 16, epochs => 3, quiet => true);
CREATE INDEX live_ivf ON live_items USING ipivf (embedding) WITH (lists = 40);
\i test/load_checks.sql
SQL
out=$(cd "$work" && "$bindir/pgbench" -n -c 8 -j 2 -T "$seconds" -d "$db" \
	-f "$OLDPWD/test/load_update/update_user.sql@3" -f "$OLDPWD/test/load_update/update_item.sql@1" \
	-f "$OLDPWD/test/load_update/recommend.sql@3" -f "$OLDPWD/test/load_update/index_query.sql@2" 2>&1)
status=$?
echo "$out" | grep -E "number of transactions actually processed|number of failed|^SQL script|latency average" | sed 's/^/    /'
if [ $status -eq 0 ] && ! echo "$out" | grep -qE "aborted|failed transactions: [1-9]"; then
	echo "PASS update:irec_update and serving from 8 clients for ${seconds}s, 0 failed"
else
	echo "$out" | grep -iE "error|abort" | head -5
	echo "FAIL update:irec_update under live traffic"
	exit 1
fi
check=$(run -At -c "SELECT concat_ws('|', c.missing, c.duplicated,
	(SELECT max(abs(a - b)) < 1e-3 FROM irec_model_gramians g, (SELECT irec_gramian(embedding) AS gram FROM live_items) r,
	        LATERAL unnest(g.item_gramian, r.gram) AS x(a, b) WHERE g.name = 'live'),
	(SELECT n_users = (SELECT count(*) FROM live_users) AND n_items = (SELECT count(*) FROM live_items)
	   FROM irec_models WHERE name = 'live'))
	FROM irec_index_check('live_ivf') c")
if [ "$check" = "0|0|t|t" ]; then
	echo "PASS update:afterwards the index, the stored Gramian and the registry agree with the tables"
else
	echo "FAIL update:state after the load ($check; want 0|0|t|t)"
	exit 1
fi
