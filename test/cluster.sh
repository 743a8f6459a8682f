#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster in a temp dir on a free port, owned by
# the postgres OS user when we run as root (PostgreSQL refuses root).
# Sourced; defines irec_cluster_start / irec_cluster_stop and exports
# PGHOST, PGPORT, PGUSER for clients.
IREC_PGBIN=${IREC_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}

irec_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

irec_free_port() {
	local port
	for port in $(seq 54329 54429); do
		if ! (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null \
			&& [ ! -e "/tmp/.s.PGSQL.$port" ]; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

irec_cluster_start() {
	IREC_CLUSTER_DIR=$(mktemp -d /tmp/irec-cluster.XXXXXX)
	chmod 755 "$IREC_CLUSTER_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$IREC_CLUSTER_DIR"
	PGPORT=$(irec_free_port)
	irec_as_pg "$IREC_PGBIN/initdb" -D "$IREC_CLUSTER_DIR/data" -U postgres \
		--auth=trust --no-sync -E UTF8 --locale=C >"$IREC_CLUSTER_DIR/initdb.log" 2>&1 \
		|| { cat "$IREC_CLUSTER_DIR/initdb.log"; return 1; }
	cat >>"$IREC_CLUSTER_DIR/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$IREC_CLUSTER_DIR'
fsync = off
shared_buffers = ${IREC_SHARED_BUFFERS:-256MB}
max_parallel_workers_per_gather = 2
CONF
	irec_as_pg "$IREC_PGBIN/pg_ctl" -D "$IREC_CLUSTER_DIR/data" -l "$IREC_CLUSTER_DIR/server.log" \
		-w start >/dev/null || { cat "$IREC_CLUSTER_DIR/server.log"; return 1; }
	export PGHOST="$IREC_CLUSTER_DIR" PGPORT PGUSER=postgres
}

irec_cluster_stop() {
	[ -n "${IREC_CLUSTER_DIR:-}" ] || return 0
	irec_as_pg "$IREC_PGBIN/pg_ctl" -D "$IREC_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$IREC_CLUSTER_DIR"
	IREC_CLUSTER_DIR=""
}
