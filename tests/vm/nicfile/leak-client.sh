#!/usr/bin/env bash
# Client side of nicfile-leak: one warm-up, then 30 connect/open/read/
# close/disconnect cycles, then 200 open/read/close cycles of 200 files on
# one connection; the server's counts must not grow, and another client
# can still open a file afterwards.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
$NF --wait 60 cat "$SERVER_IP:/x/small" > /dev/null || { echo "server not reachable"; exit 1; }
touch "$R/phase1"
wait_for "$R/measured1" || exit 1
t0=$SECONDS
for i in $(seq 30); do
	$NF cat "$SERVER_IP:/x/small" > /dev/null || fail "cycle $i"
done
echo "30 cycles in $((SECONDS - t0)) s"
t0=$SECONDS
build/tests/nicfile-cycle "$SERVER_IP" x/many 200 || fail "open/close cycles"
echo "200 open/close cycles in $((SECONDS - t0)) s"
$NF cat "$SERVER_IP:/x/small" > /dev/null && ok "another client opens a file after them" ||
	fail "another client's open after the cycles"
touch "$R/phase2"
wait_for "$R/verdict" 120 || exit 1
echo "before: $(tr '\n' ' ' < "$R/before")"
cat "$R/peak"
echo "after:  $(tr '\n' ' ' < "$R/after")"
[ "$(cat "$R/verdict")" = ok ] &&
	ok "at most --max-files kept; no fd, QP, MR, CM id, CQ or PD leaked; SIGTERM: clean stop, status 0" ||
	fail "$(cat "$R/verdict"): $(cat "$R/diff")"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
