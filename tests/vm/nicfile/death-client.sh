#!/usr/bin/env bash
# Client side of nicfile-server-death: the server dies mid-transfer; get
# and cat must end with status 3 and a clear message, get must leave no
# file behind, and neither may hang.
. tests/vm/nicfile/common.sh
wait_for "$R/up1" || exit 1
$NF --wait 60 stat "$SERVER_IP:/x/big" > /dev/null || { echo "server not reachable"; exit 1; }
# round 1: get
t0=$SECONDS
$NF get "$SERVER_IP:/x/big" /tmp/big 2> /tmp/err & pid=$!
wait_registered x/big 1; sleep 1     # kill it once the transfer runs
touch "$R/kill1"
wait "$pid"; rc=$?
echo "get ended after $((SECONDS - t0)) s with status $rc: $(cat /tmp/err)"
[ $rc = 3 ] && ok "get: status 3" || fail "get: status $rc"
grep -qiE 'connection|RDMA' /tmp/err && ok "get: clear message" || fail "get: message '$(cat /tmp/err)'"
[ ! -e /tmp/big ] && ! ls /tmp/*.nicfile-part > /dev/null 2>&1 && ok "get: no partial file" || fail "get left a file"
touch "$R/restart1"
wait_for "$R/up2" || exit 1
# round 2: cat into a pipe
t0=$SECONDS
( $NF cat "$SERVER_IP:/x/big" 2> /tmp/err | wc -c > /tmp/n; exit "${PIPESTATUS[0]}" ) & pid=$!
wait_registered x/big 2; sleep 1
touch "$R/kill2"
wait "$pid"; rc=$?
echo "cat ended after $((SECONDS - t0)) s with status $rc after $(cat /tmp/n) bytes: $(cat /tmp/err)"
[ $rc = 3 ] && ok "cat: status 3" || fail "cat: status $rc"
touch "$R/restart2"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
