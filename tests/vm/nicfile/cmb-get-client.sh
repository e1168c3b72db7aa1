#!/usr/bin/env bash
# Client side of cmb-nicfile-get: fetch the file (with the server's own
# checksum) REPEAT times and compare it with the server's sha256sum.
. tests/vm/nicfile/common.sh
wait_for "$R/go-warm" 600 || exit 1
$NF --wait 120 get "$SERVER_IP:/x/warm" /tmp/warm || fail "get warm"
touch "$R/warmed"
wait_for "$R/go" 600 || exit 1
want=$(cat "$R/expected")
for ((i = 1; i <= ${REPEAT:-1}; i++)); do
	out=$($NF --wait 120 get --verify "$SERVER_IP:/x/big" /tmp/big) || fail "get (status $?)"
	echo "$out"
	got=$(sha256sum < /tmp/big | cut -d' ' -f1)
	[ "$got" = "$want" ] && ok "pass $i: sha256 matches" || fail "pass $i: sha256 $got, want $want"
	rm -f /tmp/big
done
$NF stat "$SERVER_IP:/x/big"
touch "$R/client-done"
wait_for "$R/server-done" 300 && [ "$(cat "$R/server-done")" = 0 ] || fail "the server side's checks failed"
exit $((${FAILS:-0} > 0))
