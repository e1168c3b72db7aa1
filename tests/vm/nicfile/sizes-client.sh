#!/usr/bin/env bash
# Client side of nicfile-sizes: get --verify every file, compare SHA-256
# with what the server computed locally; cat, stat and ls on the way.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
H=$SERVER_IP
while read -r sum name; do
	t0=$(date +%s.%N)
	out=$($NF --wait 60 --output-format=json get --verify "$H:/x/$name" "/tmp/$name") || { fail "get $name (status $?)"; continue; }
	t1=$(date +%s.%N)
	got=$(sha256sum < "/tmp/$name" | cut -d' ' -f1)
	[ "$got" = "$sum" ] && ok "get $name ($(stat -c %s "/tmp/$name") bytes, $(echo "$t1 - $t0" | bc) s): $out" ||
		fail "get $name: sha256 $got, want $sum"
	rm -f "/tmp/$name"
done < "$R/expected"
# cat of a small file to a pipe: exactly the bytes, nothing else.
want=$(grep ' f4097$' "$R/expected" | cut -d' ' -f1)
got=$($NF cat "$H:/x/f4097" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] && ok "cat f4097" || fail "cat f4097: $got"
# stat and ls, both output formats.
$NF stat "$H:/x/big" || fail "stat"
$NF --output-format=json stat "$H:/x/f1" | grep -q '"size": 1,' && ok "stat json" || fail "stat json"
$NF ls "$H:/x" | grep -q ' f4095$' && ok "ls" || fail "ls"
n=$($NF --output-format=json ls "$H:/x" | grep -o '"name"' | wc -l)
[ "$n" = 7 ] && ok "ls json: 7 entries" || fail "ls json: $n entries"
$NF ls "$H:/" | grep -q 'x/' && ok "ls of the exports" || fail "ls of the exports"
# Default destination: the remote name in the current directory.
(cd /tmp && "$OLDPWD/$NF" get "$H:/x/f1") && cmp -s /tmp/f1 <(true) ; [ -s /tmp/f1 ] && ok "get to ./f1" || fail "get to ./f1"
# The server grants the READ depth asked for: a server that granted one
# responder resource once serialized every client's READs.
for t in 16 5; do
	j=$($NF --output-format=json -s 65536 -o $t -n 64 bench "$H:/x/big") || { fail "bench -o $t"; continue; }
	echo "$j" | grep -q "\"depth\": $t," && ok "bench -o $t: $t READs in flight" || fail "bench -o $t: $j"
done
# Errors: missing file, exit status 1 and a clear message.
$NF get "$H:/x/nope" /tmp/nope 2>/tmp/err; rc=$?
[ $rc = 1 ] && grep -q 'No such file' /tmp/err && [ ! -e /tmp/nope ] && ok "missing file: status 1, $(cat /tmp/err)" ||
	fail "missing file: status $rc, $(cat /tmp/err)"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
