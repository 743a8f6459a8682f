# Sourced by the load tests: a fresh database $db with irec and the clicks
# table both tests load (5,000 users × 2,000 items, 100,000 interactions),
# dropped on exit (with $cleanup, when set, run too), and run() for psql
# against it.
load_db_start() {
	db=$1
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || exit 1
	trap 'PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; ${cleanup:-true}' EXIT
	run -c "SET client_min_messages = warning" -c "CREATE EXTENSION irec" \
		-c "CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(5000, 2000, 100000, seed => 9)" \
		-c "CREATE INDEX ON clicks (user_id)" || exit 1
}
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
