#!/usr/bin/env bash
# Client side of nicfile-hostile: malformed and forbidden messages from
# build/tests/nicfile-hostile, then a normal client must still work.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
build/tests/nicfile-hostile "$SERVER_IP" x/good || fail "hostile client checks"
$NF get --verify "$SERVER_IP:/x/good" /tmp/good && ok "get --verify afterwards" || fail "get afterwards"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
