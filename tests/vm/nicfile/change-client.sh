#!/usr/bin/env bash
# Client side of nicfile-change: each change mid-transfer ends the get with
# status 4 ("changed") and no output file: never torn or stale data.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
$NF --wait 60 stat "$SERVER_IP:/x/a" > /dev/null || { echo "server not reachable"; exit 1; }
for what in overwrite:a truncate:b replace:c; do
	op=${what%%:*} f=${what#*:}
	$NF get --verify "$SERVER_IP:/x/$f" "/tmp/$f" 2> /tmp/err & pid=$!
	# Change it once the transfer runs: after the server registered the file.
	wait_registered "x/$f"
	sleep 0.5
	touch "$R/go-$op"
	wait "$pid"; rc=$?
	echo "$op: status $rc: $(cat /tmp/err)"
	[ $rc = 4 ] && ok "$op: status 4" || fail "$op: status $rc"
	grep -q 'changed on the server' /tmp/err && ok "$op: clear message" || fail "$op: message"
	[ ! -e "/tmp/$f" ] && ok "$op: no output file" || fail "$op: left /tmp/$f"
done
# After the change, a new get sees the new file whole.
$NF get --verify "$SERVER_IP:/x/b" /tmp/b2 && [ "$(stat -c %s /tmp/b2)" = 1048576 ] &&
	ok "truncated file fetched afresh" || fail "refetch after truncate"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
