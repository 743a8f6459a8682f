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
data=../shared/data/lastfm-2k/user_artists.dat
if [ -f "$data" ]; then
	echo "== loading lastfm-2k (1,892 users, 17,632 artists, play counts)"
	psql -c "CREATE TABLE plays (user_id int, item_id int, weight real)"
	psql -c "\\copy plays FROM '$data' WITH (FORMAT text, HEADER true)"
else
	echo "== generating interactions (lastfm-2k's shape)"
	psql -c "CREATE TABLE plays AS SELECT * FROM irec_synthetic(1892, 17632, 92834, seed => 1)"
fi
bash test/demo.sql.sh
