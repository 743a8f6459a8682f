#!/usr/bin/env bash
# irec on Citus: a coordinator and two workers on loopback, iALS trained
# with engine => 'sql' on a distributed copy of generated data, checked
# against the single-server in-memory engine (exact and CG solves), the
# half-step counted as one task per shard in the remote commands Citus
# logs, the solved rows seen moving between workers, and the same model
# with the coordinator holding shards; then the nodes are stopped.
# Skips cleanly (exit 0) when Citus is not installed.
#   bash test/citus.sh [--bench]   (--bench: seconds per epoch at 2.5M and 5M
#   interactions, and the scaling model of test/bench/citus_scaling.awk)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f "$(pg_config --pkglibdir)/citus.so" ]; then
	echo "SKIP citus: Citus is not installed (see docs/citus.md on deploying irec on Citus)"
	exit 0
fi
. test/cluster.sh
bench=${1:-}
make -s >/dev/null && make -s install >/dev/null

base=$(mktemp -d /tmp/irec-citus.XXXXXX)
chmod 755 "$base"
[ "$(id -u)" -eq 0 ] && chown postgres: "$base"
ports=()
nodes=(coordinator worker1 worker2)
stop_all() {
	for n in "${nodes[@]}"; do
		irec_as_pg "$IREC_PGBIN/pg_ctl" -D "$base/$n" -m fast -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$base"
}
trap stop_all EXIT
for n in "${nodes[@]}"; do
	port=$(irec_free_port)
	while printf '%s\n' "${ports[@]:-}" | grep -qx "$port"; do port=$((port + 1)); done
	ports+=("$port")
	irec_as_pg "$IREC_PGBIN/initdb" -D "$base/$n" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
	cat >>"$base/$n/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
shared_preload_libraries = 'citus'
wal_level = logical
shared_buffers = 256MB
fsync = off
max_connections = 200
CONF
	irec_as_pg "$IREC_PGBIN/pg_ctl" -D "$base/$n" -l "$base/$n.log" -w start >/dev/null
done
q() { local port=$1; shift; command psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
for p in "${ports[@]}"; do q "$p" -c "CREATE EXTENSION citus"; done
coord=${ports[0]}
q "$coord" -c "SELECT citus_set_coordinator_host('127.0.0.1', $coord)" >/dev/null
q "$coord" -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
q "$coord" -At -c "SELECT 'Citus: ' || citus_version()"
q "$coord" -c "CREATE EXTENSION irec"

shape="2000, 800, 40000"; epochs=4
q "$coord" <<SQL
SET client_min_messages = warning;
SET citus.shard_count = 8;
CREATE TABLE local_interactions AS SELECT user_id, item_id FROM irec_synthetic($shape, seed => 5);
CREATE TABLE interactions (user_id int, item_id int);
SELECT create_distributed_table('interactions', 'user_id');
INSERT INTO interactions SELECT * FROM local_interactions;
SELECT count(*) AS distributed_interactions FROM interactions;
SELECT count(*) AS shards FROM pg_dist_shard WHERE logicalrelid = 'interactions'::regclass;
SQL
echo "== the in-memory engine on the coordinator's local copy, and the SQL engine on the distributed table"
q "$coord" <<SQL
SET client_min_messages = warning;
SELECT irec_train('local_interactions', dims => 16, epochs => $epochs, solver => 'cholesky', model => 'single', quiet => true);
SELECT irec_train('interactions', dims => 16, epochs => $epochs, engine => 'sql', solver => 'cholesky', model => 'citus', quiet => true);
SELECT irec_train('local_interactions', dims => 16, epochs => $epochs, model => 'single_cg', quiet => true);
SELECT irec_train('interactions', dims => 16, epochs => $epochs, engine => 'sql', model => 'citus_cg', quiet => true);
SELECT name, params->>'engine' AS engine, params->>'citus' AS on_citus, params->>'solver' AS solver, n_users, n_items,
       round((train_seconds / epochs)::numeric, 2) AS s_per_epoch, round(loss[epochs]::numeric, 1) AS last_loss
  FROM irec_models ORDER BY name;
CREATE FUNCTION max_difference(a text, b text, key text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE d float8;
BEGIN
  EXECUTE format('SELECT max(abs((x.embedding::real[])[k] - (y.embedding::real[])[k]))
                    FROM %1\$s x JOIN %2\$s y USING (%3\$s), generate_series(1, 16) k', a, b, key) INTO d;
  RETURN d;
END \$\$;
SELECT max_difference('single_users', 'citus_users', 'user_id') < 1e-4
   AND max_difference('single_items', 'citus_items', 'item_id') < 1e-4 AS exact_agree \gset
SELECT max_difference('single_cg_users', 'citus_cg_users', 'user_id') < 1e-4
   AND max_difference('single_cg_items', 'citus_cg_items', 'item_id') < 1e-4 AS cg_agree \gset
SELECT (SELECT loss FROM irec_models WHERE name = 'single_cg') AS single_cg_loss,
       (SELECT loss FROM irec_models WHERE name = 'citus_cg') AS citus_cg_loss;
SELECT :'exact_agree' AS exact_solves_agree, :'cg_agree' AS cg_agree;
-- the script fails unless both sides agree
SELECT CASE WHEN :'exact_agree' AND :'cg_agree' THEN 'agree'
            ELSE pg_catalog.text(1 / 0) END AS check_result;
SQL
echo "== one half-step task per shard, each on the worker that holds its shard"
q "$coord" -At <<SQL 2>&1 | tee /tmp/citus_log.txt | grep -o "irec_sql_anchor_[ui]_[0-9]*" | sort | uniq -c | awk '{ tasks += $1; shards++ } END { printf "%d tasks over %d anchor shards (2 half-steps)\n", tasks, shards; if (tasks != 16 || shards != 16) exit 1 }'
SET client_min_messages = log;
SET citus.log_remote_commands = on;
SET citus.grep_remote_commands = '%irec_als_shard_step%';
SELECT irec_train('interactions', dims => 16, epochs => 1, engine => 'sql', model => 'citus_log', quiet => true);
SQL
echo "== the workers fetch each half-step's rows from each other (Citus repartitions the INSERT ... SELECT)"
fetches=$(q "$coord" -At <<SQL 2>&1 | grep -c "fetch_intermediate_results" || true
SET client_min_messages = log;
SET citus.log_remote_commands = on;
SET citus.grep_remote_commands = '%fetch_intermediate_results%';
SELECT irec_train('interactions', dims => 16, epochs => 1, engine => 'sql', model => 'citus_fetch', quiet => true);
SQL
)
echo "$fetches fetches between workers for 2 half-steps"
[ "$fetches" -ge 4 ] || { echo "expected each worker to fetch its copy in each half-step"; exit 1; }
echo "== the coordinator holding shards too (as single-node Citus does): the same model"
q "$coord" <<SQL
SET client_min_messages = warning;
SELECT citus_set_node_property('127.0.0.1', $coord, 'shouldhaveshards', true);
SET citus.shard_count = 6;
CREATE TABLE interactions_3 (user_id int, item_id int);
SELECT create_distributed_table('interactions_3', 'user_id');
INSERT INTO interactions_3 SELECT * FROM local_interactions;
SELECT count(DISTINCT nodeport) AS nodes_with_shards FROM citus_shards WHERE table_name = 'interactions_3'::regclass;
SELECT irec_train('interactions_3', dims => 16, epochs => $epochs, engine => 'sql', model => 'citus_3', quiet => true);
SELECT citus_set_node_property('127.0.0.1', $coord, 'shouldhaveshards', false);
SELECT max_difference('single_cg_users', 'citus_3_users', 'user_id') < 1e-4
   AND max_difference('single_cg_items', 'citus_3_items', 'item_id') < 1e-4 AS three_agree \gset
SELECT CASE WHEN :'three_agree' THEN 'agree' ELSE pg_catalog.text(1 / 0) END AS check_result;
SQL
if [ "$bench" = "--bench" ]; then
	# Two sizes of the same shape (users : items : interactions =
	# 10 : 4 : 1000): the smaller calibrates the scaling model, which then
	# predicts the larger; dims 64, CG, 8 epochs, 8 shards per table.
	# Per epoch the median of epochs 2..8 (the first also reads the shards
	# into the workers' caches) from the NOTICE each epoch prints.
	bench_epochs=8
	epoch_medians() {
		# "epoch k/n: loss L, T s (solves A s, here C s)" → medians of T over k ≥ 2
		awk '/epoch [0-9]+\/[0-9]+: loss/ {
			split($3, e, "/"); if (e[1] < 2) next
			line = $0; gsub(/[(),]/, " ", line); split(line, w, " "); t[++k] = w[6]
		}
		END { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (t[j] < t[i]) { v = t[i]; t[i] = t[j]; t[j] = v }
			printf "%.4f\n", k % 2 ? t[(k + 1) / 2] : (t[k / 2] + t[k / 2 + 1]) / 2 }'
	}
	for size in small large; do
		if [ "$size" = small ]; then dims_shape="25000, 10000, 2500000"; else dims_shape="50000, 20000, 5000000"; fi
		q "$coord" >/dev/null <<SQL
SET client_min_messages = warning;
SET citus.shard_count = 8;
CREATE TABLE local_$size AS SELECT user_id, item_id FROM irec_synthetic($dims_shape, seed => 5);
CREATE TABLE dist_$size (user_id int, item_id int);
SELECT create_distributed_table('dist_$size', 'user_id');
INSERT INTO dist_$size SELECT * FROM local_$size;
-- now, not by autovacuum during a timed training (it once took the
-- in-memory epochs from 0.29 to 0.50 s at 5M)
VACUUM ANALYZE local_$size;
VACUUM ANALYZE dist_$size;
SQL
		# before each training, a checkpoint on every node and the OS's sync, so
		# that no writeback of the data just loaded runs beside the epochs
		settle() { for p in "${ports[@]}"; do q "$p" -c "CHECKPOINT"; done; sync; }
		# two rounds of the three engines, alternating; each engine's figure
		# is the lower of its two medians (the machine's timings wander by
		# 10-30% between trainings of the same code)
		train() { settle; q "$coord" -c "SET client_min_messages = notice" -c "SELECT irec_train($1)" 2>&1 | epoch_medians; }
		lower() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 < b + 0) ? a : b }'; }
		mem= one= dist=
		for round in 1 2; do
			m=$(train "'local_$size', dims => 64, epochs => $bench_epochs, model => 'mem_$size'")
			o=$(train "'local_$size', dims => 64, epochs => $bench_epochs, engine => 'sql', model => 'sql_$size'")
			d=$(train "'dist_$size', dims => 64, epochs => $bench_epochs, engine => 'sql', model => 'citus_$size'")
			echo "round $round, $size: in-memory $m, one server $o, Citus $d s per epoch"
			mem=$(lower "${mem:-$m}" "$m"); one=$(lower "${one:-$o}" "$o"); dist=$(lower "${dist:-$d}" "$d")
		done
		shape_row=$(q "$coord" -At -F ' ' -c "SELECT n_interactions, n_users + n_items, round((train_seconds / epochs)::numeric, 3),
			(SELECT round(avg(pg_column_size(embedding)) + 4) FROM citus_${size}_items)
			FROM irec_models WHERE name = 'citus_$size'")
		echo "$size $shape_row $mem $one $dist" >> "$base/bench.txt"
	done
	echo "== seconds per epoch (median of epochs 2-$bench_epochs; mean over all $bench_epochs incl. the first in brackets), dims 64, CG"
	q "$coord" -c "SELECT name, n_interactions, round((train_seconds / epochs)::numeric, 3) AS mean_s_per_epoch, round(load_seconds::numeric, 1) AS load_s,
		params->'phase_seconds' AS phases FROM irec_models WHERE name ~ '^(mem|sql|citus)_(small|large)$' ORDER BY n_interactions, name"
	awk -v cores="$(nproc)" -f test/bench/citus_scaling.awk "$base/bench.txt"
fi
