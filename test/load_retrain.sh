#!/usr/bin/env bash
# Retraining under live traffic: 8 pgbench clients call irec_recommend and
# run indexed top-n queries (through an ipivf index on the model's items)
# for 60 s (IREC_LOAD_SECONDS) while the model is retrained in a loop, each
# retraining and its index build one transaction.  Every answer is checked
# against the model tables it was computed from, read again in the same
# transaction (a mix of an old and a new model would not match), and a
# mismatch raises an error.  Reports the readers' p50/p99 latency, the
# longest reader wait, and the retrainings done; prints PASS/FAIL lines.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with irec installed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${IREC_LOAD_SECONDS:-60}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/irec-retrain.XXXXXX)
chmod 777 "$work"
cleanup="rm -rf $work"
. test/load_db.sh
load_db_start irec_retrain_test
run <<'SQL' || { echo "FAIL retrain:setup"; exit 1; }
SET client_min_messages = warning;
SELECT irec_train('clicks', model => 'live', dims => 16, epochs => 3, quiet => true);
CREATE INDEX ON live_items USING ipivf (embedding) WITH (lists = 40);
\i test/load_checks.sql
SQL
# the retraining loop: a new seed every round, the index rebuilt in the same transaction
(
	end=$((SECONDS + seconds))
	round=0
	while [ $SECONDS -lt $end ]; do
		round=$((round + 1))
		run -c "BEGIN" -c "SELECT irec_train('clicks', model => 'live', dims => 16, epochs => 3, seed => $round, quiet => true)" \
			-c "CREATE INDEX ON live_items USING ipivf (embedding) WITH (lists = 40)" -c "COMMIT" >/dev/null \
			|| echo "retrain $round failed" >>"$work/retrain_errors"
		echo "$round" >"$work/rounds"
		sleep 2
	done
) &
retrainer=$!
out=$(cd "$work" && "$bindir/pgbench" -n -c 8 -j 2 -T "$seconds" -d "$db" -l --log-prefix=readers \
	-f "$OLDPWD/test/load_retrain/recommend.sql@1" -f "$OLDPWD/test/load_retrain/index_query.sql@1" 2>&1)
status=$?
wait $retrainer
echo "$out" | grep -E "number of transactions actually processed|number of failed" | sed 's/^/    /'
rounds=$(cat "$work/rounds" 2>/dev/null || echo 0)
# per-transaction logs: client, transaction, latency (µs), ...
latencies=$(cat "$work"/readers.* 2>/dev/null | awk '{ print $3 }' | sort -n)
count=$(echo "$latencies" | grep -c .)
p50=$(echo "$latencies" | awk -v n="$count" 'NR == int(n * 0.50) + 1 { printf "%.1f", $1 / 1000 }')
p99=$(echo "$latencies" | awk -v n="$count" 'NR == int(n * 0.99) + 1 { printf "%.1f", $1 / 1000 }')
longest=$(echo "$latencies" | tail -1 | awk '{ printf "%.1f", $1 / 1000 }')
echo "    $rounds retrainings in ${seconds}s; readers: $count answers, p50 ${p50} ms, p99 ${p99} ms, longest ${longest} ms"
if [ $status -eq 0 ] && ! echo "$out" | grep -qE "aborted|failed transactions: [1-9]"; then
	echo "PASS retrain:8 readers through ${rounds} retrainings, 0 failed, every answer from one complete model"
else
	echo "$out" | grep -iE "error|abort" | head -5
	echo "FAIL retrain:readers during retraining"
	exit 1
fi
# at least one retraining per 10 s, so that the readers really met swaps
if [ -s "$work/retrain_errors" ] || [ "$rounds" -lt $((seconds / 10 > 2 ? seconds / 10 : 2)) ]; then
	cat "$work/retrain_errors" 2>/dev/null
	echo "FAIL retrain:retraining loop ($rounds rounds)"
	exit 1
fi
echo "PASS retrain:the retraining loop never failed"
