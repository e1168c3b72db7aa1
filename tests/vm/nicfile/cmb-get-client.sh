#!/usr/bin/env bash
# Client side of cmb-nicfile-get: fetch the file (with the server's own
# checksum) REPEAT times and compare it with the server's sha256sum.
# EXPECT_MODE: the mode `nicfile stat` must report for the file (odp-cmb
# on a bed with a PMR means odp-pmr, as in cmb-get-server.sh).
. tests/vm/nicfile/common.sh
[ "${EXPECT_MODE:-}" = odp-cmb ] && [ "${NICFILE_PMR_MB:-0}" != 0 ] && EXPECT_MODE=odp-pmr
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
st=$($NF stat "$SERVER_IP:/x/big")
echo "$st"
if [ -n "${EXPECT_MODE:-}" ]; then
	echo "$st" | grep -q "^ *Mode: $EXPECT_MODE\$" && ok "nicfile stat: mode $EXPECT_MODE" ||
		fail "nicfile stat does not say mode $EXPECT_MODE"
fi
touch "$R/client-done"
wait_for "$R/server-done" 300 && [ "$(cat "$R/server-done")" = 0 ] || fail "the server side's checks failed"
exit $((${FAILS:-0} > 0))
