#!/usr/bin/env bash
# Run the TAP tests (test/t/*.pl) with PostgreSQL::Test::Cluster, which
# starts its own servers; as the postgres OS user when we are root.  Prints
# PASS/FAIL per test file; SKIP (not counted) for a test that needs what
# the machine lacks: 009 needs Citus, which Debian does not package for
# PostgreSQL 15 (run it by hand where Citus is built, as test/citus.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
pgxs=$(cd "$(dirname "$(pg_config --pgxs)")/../.." && pwd)
work=$(mktemp -d /tmp/irec-tap.XXXXXX)
cp -r test/t "$work/t"
chmod -R a+rwX "$work"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work"
status=0
for t in "$work"/t/*.pl; do
	name=$(basename "$t")
	cmd=(env PATH="$(pg_config --bindir):$PATH" TESTDIR="$work" PG_REGRESS="$pgxs/src/test/regress/pg_regress"
		PERL5LIB="$pgxs/src/test/perl" prove -v -I "$pgxs/src/test/perl" "$t")
	if [ "$(id -u)" -eq 0 ]; then
		out=$(cd "$work" && runuser -u postgres -- "${cmd[@]}" 2>&1)
	else
		out=$(cd "$work" && "${cmd[@]}" 2>&1)
	fi
	if echo "$out" | grep -q "^Result: NOTESTS" && echo "$out" | grep -q "skipped:"; then
		# a test that needs what this machine lacks (Citus): said, not counted
		echo "SKIP tap:$name ($(echo "$out" | grep -o "skipped: .*" | head -1))"
	elif echo "$out" | grep -q "^Result: PASS"; then
		echo "$out" | grep -E "ok [0-9]+ - " | sed -E 's/^.*(ok [0-9]+ - )/    \1/'
		echo "PASS tap:$name"
	else
		echo "$out" | tail -30
		find "$work" -name "regress_log_*${name%.pl}*" -exec tail -40 {} \; 2>/dev/null
		echo "FAIL tap:$name"
		status=1
	fi
done
rm -rf "$work"
exit $status
