#!/usr/bin/env bash
# The README's test command: install what is missing, build, install, run the
# core unit tests (no server) and the pg_regress tests against a throwaway
# cluster, and finish with "N passed, N failed".  Exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
. test/deps.sh
. test/cluster.sh

passed=0
failed=0
note_result() {			# note_result <name> <0|1>
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAILED: $1"
	fi
}

# Count the "PASS name" / "FAIL name" lines a sub-harness prints.
count_pass_fail() {
	local line
	while read -r line; do
		case "$line" in
			"PASS "*) note_result "${line#PASS }" 0 ;;
			"FAIL "*) note_result "${line#FAIL }" 1 ;;
		esac
		echo "$line"
	done
}

irec_install_deps || { echo "0 passed, 1 failed"; exit 1; }

echo "== build"
if make -s >/tmp/irec-build.log 2>&1 && make -s install >>/tmp/irec-build.log 2>&1; then
	note_result build 0
else
	cat /tmp/irec-build.log
	note_result build 1
	echo "$passed passed, $failed failed"
	exit 1
fi
if grep -E 'warning:' /tmp/irec-build.log; then
	note_result "build without warnings" 1
else
	note_result "build without warnings" 0
fi

echo "== core unit tests"
count_pass_fail < <(bash test/core/run.sh 2>&1 || echo "FAIL core unit test harness")

echo "== fuzzing (bounded)"
count_pass_fail < <(bash test/fuzz/run.sh "${IREC_FUZZ_SECONDS:-15}" 2>&1 || echo "FAIL fuzz harness")

echo "== pg_regress"
trap irec_cluster_stop EXIT
if irec_cluster_start; then
	regress_out=$(make -s installcheck 2>&1)
	echo "$regress_out" | grep -E '^(ok|not ok|test | +[a-z_]+ +\.\.\.)|\.\.\.' || true
	while read -r name status; do
		note_result "regress $name" "$status"
	done < <(echo "$regress_out" | awk '
		/^test [a-z0-9_]+ +\.\.\. / || /^ +[a-z0-9_]+ +\.\.\. / {
			name = ($1 == "test") ? $2 : $1
			print name, (index($0, "FAILED") || index($0, "failed")) ? 1 : 0
		}')
	if echo "$regress_out" | grep -q 'FAILED\|failed'; then
		[ -f regression.diffs ] && head -c 20000 regression.diffs
	fi
	count_pass_fail < <(bash test/tap.sh 2>&1 || echo "FAIL tap harness")
	echo "== load (pgbench, ${IREC_LOAD_SECONDS:-60} s)"
	count_pass_fail < <(bash test/load.sh 2>&1 || echo "FAIL load harness")
	echo "== retraining under live traffic (pgbench, ${IREC_LOAD_SECONDS:-60} s)"
	count_pass_fail < <(bash test/load_retrain.sh 2>&1 || echo "FAIL retrain harness")
	echo "== irec_update under live traffic (pgbench, ${IREC_LOAD_SECONDS:-60} s)"
	count_pass_fail < <(bash test/load_update.sh 2>&1 || echo "FAIL update harness")
	for t in test/sql_scripts/*.sh; do
		[ -e "$t" ] || continue
		if bash "$t"; then note_result "$t" 0; else note_result "$t" 1; fi
	done
else
	note_result "start cluster" 1
fi
irec_cluster_stop
trap - EXIT

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
