# Sourced by the benchmark scripts (from the repository root): install what
# is missing, build and install irec, and define
#   bench_start      start a throwaway cluster (stopped on exit) with irec
#   psql             psql against it, stopping at the first error
#   load_lastfm      load ../shared's lastfm-2k into table lastfm when present
#                    (returns non-zero when the file is absent)
#   load_shared_sets tables lastfm (user_id, item_id, weight) and ml_raw
#                    (user_id, item_id, rating, ts) from ../shared/data, empty
#                    where a file is absent
. test/deps.sh
. test/cluster.sh
# IREC_BENCH_NO_INSTALL=1: use the irec already installed where IREC_PGBIN's
# server looks (a copy of the server tree keeps a long run apart from builds)
if [ -z "${IREC_BENCH_NO_INSTALL:-}" ]; then
	irec_install_deps
	make -s >/dev/null && make -s install >/dev/null
fi

psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

bench_start() {
	trap irec_cluster_stop EXIT
	irec_cluster_start
	psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION irec"
}

load_lastfm() {
	local file=../shared/data/lastfm-2k/user_artists.dat
	[ -f "$file" ] || return 1
	psql -c "CREATE TABLE lastfm (user_id int, item_id int, weight real)" \
	     -c "\\copy lastfm FROM '$file' WITH (FORMAT text, HEADER true)"
}

load_shared_sets() {
	local ml=../shared/data/ml-latest-small/ratings.csv
	load_lastfm || psql -c "CREATE TABLE lastfm (user_id int, item_id int, weight real)"
	psql -c "CREATE TABLE ml_raw (user_id int, item_id int, rating real, ts bigint)"
	[ -f "$ml" ] && psql -c "\\copy ml_raw FROM '$ml' WITH (FORMAT csv, HEADER true)"
	return 0
}
