#!/usr/bin/env bash
# Install the Debian packages irec needs to build and test, if missing.
# Sourced by test/run_tests.sh and test/demo.sh.
irec_install_deps() {
	local packages="make gcc clang-14 libclang-rt-14-dev postgresql-15 \
postgresql-server-dev-15 libopenblas-dev liblapack-dev libipc-run-perl"
	local missing=""
	for p in $packages; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
			|| missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	echo "installing:$missing"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}
