#!/usr/bin/env bash
# The README's demo command: install what is missing, build, install, start a
# throwaway cluster, train on real data (lastfm-2k when ../shared/data has
# it, else generated data) and show recommendations and metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/deps.sh
. test/cluster.sh
irec_install_deps
make -s >/dev/null
make -s install >/dev/null
trap irec_cluster_stop EXIT
irec_cluster_start
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

psql -c "CREATE EXTENSION irec"
data=../shared/data/lastfm-2k
psql -c "CREATE TABLE artists (item_id int PRIMARY KEY, name text, url text, picture text)"
if [ -f "$data/user_artists.dat" ]; then
	echo "== loading lastfm-2k (1,892 users, 17,632 artists, play counts, artist names)"
	psql -c "CREATE TABLE plays (user_id int, item_id int, weight real)"
	psql -c "\\copy plays FROM '$data/user_artists.dat' WITH (FORMAT text, HEADER true)"
	# tab-separated, no quoting: names may hold quotes and backslashes
	psql -c "\\copy artists FROM '$data/artists.dat' WITH (FORMAT csv, HEADER true, DELIMITER E'\\t', QUOTE E'\\b')"
else
	echo "== generating interactions (lastfm-2k's shape)"
	psql -c "CREATE TABLE plays AS SELECT * FROM irec_synthetic(1892, 17632, 92834, seed => 1)"
	psql -c "INSERT INTO artists SELECT DISTINCT item_id, 'artist ' || item_id FROM plays"
fi
bash test/demo.sql.sh
movies=../shared/data/ml-latest-small
if [ -f "$movies/ratings.csv" ]; then
	echo "== loading ml-latest-small (610 users, 9,742 movies, ratings and titles)"
	psql -c "CREATE TABLE ratings (user_id int, item_id int, rating real, ts bigint)"
	psql -c "\\copy ratings FROM '$movies/ratings.csv' WITH (FORMAT csv, HEADER true)"
	psql -c "CREATE TABLE movies (item_id int PRIMARY KEY, title text, genres text)"
	psql -c "\\copy movies FROM '$movies/movies.csv' WITH (FORMAT csv, HEADER true)"
	bash test/demo_movies.sql.sh
fi
