#!/usr/bin/env bash
# Client side of nicfile-refused-paths: every way out is refused with exit
# status 1 and a clear message, nothing is written, nothing hangs.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
$NF --wait 60 stat "$SERVER_IP:/x/ok" > /dev/null || { echo "server not reachable"; exit 1; }
refuse() { # PATH MESSAGE-PATTERN
	local rc
	timeout 30 $NF get "$SERVER_IP:$1" /tmp/out 2> /tmp/err; rc=$?
	if [ $rc = 1 ] && grep -q "$2" /tmp/err && [ ! -e /tmp/out ] && ! ls /tmp/*.nicfile-part > /dev/null 2>&1; then
		ok "$1 refused: $(cat /tmp/err)"
	else
		fail "$1: status $rc, $(cat /tmp/err)"
	fi
	rm -f /tmp/out
}
refuse /x/../secret 'leaves the export root'
refuse /x/sub/../../secret 'leaves the export root'
refuse /x//mnt/secret 'leaves the export root'
refuse /x/abs 'leaves the export root'
refuse /x/rel 'leaves the export root'
refuse /x/updir/secret 'leaves the export root'
refuse /x/fifo 'not a regular file'
refuse /x/bound/secret 'leaves the export root'
refuse /x/sub 'Is a directory'
refuse /mnt/secret 'No such file'
refuse /x/missing 'No such file'
$NF cat "$SERVER_IP:/x/sub/in" | grep -q inside && ok "symlink inside the export works" || fail "symlink inside"
$NF cat "$SERVER_IP:/x/ok" | grep -q inside && ok "server still serves" || fail "server stopped serving"
touch "$R/refused-done"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
