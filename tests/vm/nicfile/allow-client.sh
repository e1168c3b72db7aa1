#!/usr/bin/env bash
# Client side of nicfile-allow.
. tests/vm/nicfile/common.sh
wait_for "$R/allow-ready" || exit 1
refused() { # PORT WHAT
	local rc out
	out=$(timeout 60 $NF -p "$1" ls "$SERVER_IP:/" 2>&1); rc=$?
	echo "port $1: status $rc: $out"
	if [ $rc = 3 ] && grep -q 'does not allow this client' <<< "$out" && ! grep -q ' x/$' <<< "$out"; then
		ok "$2: refused, nothing listed"
	else
		fail "$2: status $rc, $out"
	fi
}
refused 18601 "no --allow (loopback only)"
refused 18602 "client outside --allow"
grep -q "refusing client $CLIENT_IP.*not allowed" "$R/nicfiled.log" && ok "the server logs the refusal" ||
	fail "no refusal in the server log"
out=$($NF -p 18603 ls "$SERVER_IP:/" 2>&1); echo "exports listed: $out"
grep -q ' x/$' <<< "$out" && ! grep -q ' y/$' <<< "$out" && ok "--allow x=CIDR lists export x only" ||
	fail "listing with --allow x=CIDR: $out"
$NF -p 18603 cat "$SERVER_IP:/x/f" | grep -q 'x data' && ok "export x is served" || fail "export x not served"
out=$($NF -p 18603 cat "$SERVER_IP:/y/f" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'No such file' <<< "$out" && ok "export y does not exist for this client" ||
	fail "export y: status $rc: $out"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
