#!/usr/bin/env bash
# irec_train's progress NOTICEs and cancel latency, which pg_regress cannot
# check (they print timings).  Needs PGHOST/PGPORT/PGUSER of a running
# cluster with irec installed; exits non-zero on failure.
set -uo pipefail
db=irec_progress_test
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || exit 1
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
run -c "CREATE EXTENSION irec" \
    -c "CREATE TABLE clicks AS SELECT * FROM irec_synthetic(4000, 3000, 300000, seed => 2)" \
    -c "INSERT INTO clicks VALUES (NULL, 1, 1), (1, NULL, 1)" || exit 1

fail=0
out=$(run -c "SELECT irec_train('clicks', dims => 16, epochs => 3)" 2>&1)
echo "$out" | grep -q 'NOTICE:  skipped 2 rows with a NULL user, item or weight' \
	|| { echo "missing skipped-rows NOTICE"; fail=1; }
for e in 1 2 3; do
	echo "$out" | grep -Eq "NOTICE:  epoch $e/3: loss [0-9.e+]+, [0-9]+\.[0-9]{2} s" \
		|| { echo "missing NOTICE for epoch $e"; fail=1; }
done
quiet=$(run -c "SELECT irec_train('clicks', dims => 16, epochs => 2, quiet => true)" 2>&1)
echo "$quiet" | grep -q NOTICE && { echo "quiet => true still printed NOTICEs"; fail=1; }

# cancel: a long training must stop within about a second of pg_cancel_backend
run -c "SELECT irec_train('clicks', dims => 128, epochs => 10000, quiet => true)" >/tmp/irec_cancel.$$ 2>&1 &
client=$!
sleep 2
pid=$(run -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT irec_train(''clicks'', dims => 128%' AND state = 'active'")
start=$(date +%s.%N)
run -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait $client
end=$(date +%s.%N)
latency=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
grep -q "canceling statement due to user request" /tmp/irec_cancel.$$ \
	|| { echo "training was not cancelled"; cat /tmp/irec_cancel.$$; fail=1; }
echo "cancel latency: ${latency}s"
if awk -v l="$latency" 'BEGIN { exit !(l >= 1.5) }'; then
	echo "cancel took ${latency}s"; fail=1
fi
rm -f /tmp/irec_cancel.$$
# the previous model is still the one trained with quiet => true
dims=$(run -At -c "SELECT dims FROM irec_models WHERE name = 'clicks'")
[ "$dims" = 16 ] || { echo "model changed by a cancelled training (dims $dims)"; fail=1; }
exit $fail
