#!/usr/bin/env bash
# Client side of nicfile-perm.
. tests/vm/nicfile/common.sh
wait_for "$R/perm-ready" || exit 1
nobody=$(id -u nobody)
[ "$(cat "$R/uid")" = "$nobody,$nobody,$nobody,$nobody" ] && ok "nicfiled dropped to nobody ($nobody)" ||
	fail "nicfiled runs as uid $(cat "$R/uid"), not nobody ($nobody)"
for p in "/x/secret" "/x/private/f"; do
	out=$($NF cat "$SERVER_IP:$p" 2>&1); rc=$?
	[ $rc = 1 ] && grep -q 'Permission denied' <<< "$out" && ! grep -q "key of\|root's own" <<< "$out" &&
		ok "$p refused: $out" || fail "$p: status $rc: $out"
done
for port in 18516 18611; do
	rm -f /tmp/public
	$NF -p $port --output-format=json get --verify "$SERVER_IP:/x/public" /tmp/public > /tmp/get.json; rc=$?
	mode=$(sed -n 's/.*"mode": "\([^"]*\)".*/\1/p' /tmp/get.json)
	[ $rc = 0 ] && [ "$(sha256sum < /tmp/public | cut -d' ' -f1)" = "$(cat "$R/public.sha256")" ] &&
		ok "port $port: public file served, mode $mode" || fail "port $port: get status $rc"
	want=odp; [ $port = 18611 ] && want=pinned
	case $mode in *$want*) ok "port $port: registered $mode after the drop" ;;
	*) fail "port $port: mode '$mode', wanted $want" ;; esac
done
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
