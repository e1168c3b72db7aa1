#!/usr/bin/env bash
# Client side of nicfile-notify-idle: hold 100 files, read nothing while
# they all change, then find every change reported and the connection up.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
build/tests/nicfile-hold "$SERVER_IP" notify 100 "$R/opened" "$R/changed" &&
	ok "an idle client holding 100 changing files keeps its connection and learns every change" ||
	fail "nicfile-hold exited $?"
if grep -q 'disconnecting' "$R/nicfiled.log"; then
	fail "nicfiled dropped a client: $(grep 'disconnecting' "$R/nicfiled.log" | head -3)"
fi
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
