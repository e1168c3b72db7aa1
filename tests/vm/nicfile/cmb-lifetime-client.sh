#!/usr/bin/env bash
# Client side of cmb-lifetime: one verified fetch, then fetches in a loop
# until the server has unbound its NVMe device; after that a fetch must end
# in a clear error, not in wrong data.
. tests/vm/nicfile/common.sh
wait_for "$R/go" 600 || exit 1
want=$(cat "$R/expected")
$NF --wait 120 get --verify "$SERVER_IP:/x/big" /tmp/big && [ "$(sha256sum < /tmp/big | cut -d' ' -f1)" = "$want" ] &&
	ok "first fetch verified" || fail "first fetch"
touch "$R/reading"
n=0
until [ -e "$R/unbound" ]; do
	[ -e "$R/server-failed" ] && break
	if $NF --wait 60 get "$SERVER_IP:/x/big" /tmp/big 2> /tmp/err; then
		[ "$(sha256sum < /tmp/big | cut -d' ' -f1)" = "$want" ] || fail "fetch $n returned wrong data"
	else
		echo "fetch $n during the unbind ended with: $(tail -1 /tmp/err)"
	fi
	n=$((n + 1))
done
if $NF --wait 60 get "$SERVER_IP:/x/big" /tmp/big 2> /tmp/err; then
	[ "$(sha256sum < /tmp/big | cut -d' ' -f1)" = "$want" ] && ok "fetch after the unbind still returned the right data (page cache)" ||
		fail "fetch after the unbind returned wrong data"
else
	msg=$(tail -1 /tmp/err)
	[ -n "$msg" ] && ok "fetch after the unbind failed cleanly: $msg" || fail "fetch after the unbind failed silently"
fi
touch "$R/client-done"
wait_for "$R/server-done" 300 && [ "$(cat "$R/server-done")" = 0 ] || fail "the server side's checks failed"
exit $((${FAILS:-0} > 0))
