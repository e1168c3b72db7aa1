#!/usr/bin/env bash
# Client side of nicfile-silent: 64 connections that never send a message,
# then a real client from the same address must be served; and nicfiled
# must end every silent connection it accepted (first-message deadline).
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
$NF --wait 60 stat "$SERVER_IP:/silent/small" > /dev/null || { echo "server not reachable"; exit 1; }
rm -f /tmp/silent-ready
build/tests/rdma_silent "$SERVER_IP" 18516 64 /tmp/silent-ready 60 > /tmp/silent.out &
sp=$!
wait_for /tmp/silent-ready 60 || exit 1
t0=$(date +%s.%N)
if $NF --wait 30 stat "$SERVER_IP:/silent/small" > /dev/null; then
	ok "a real client is served next to 64 silent connections ($(echo "$(date +%s.%N) - $t0" | bc) s)"
else
	fail "a real client next to 64 silent connections: status $?"
fi
wait "$sp" || fail "rdma_silent failed"
echo "silent connections: $(cat /tmp/silent.out)"
read -r _ est _ refused _ failed _ ended _ last _ open < /tmp/silent.out
[ "${open:-1}" = 0 ] && [ "${ended:-0}" = "${est:-x}" ] &&
	ok "nicfiled ended all $est silent connections it accepted (the last after $last s)" ||
	fail "silent connections still open after 60 s: $open of $est"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
