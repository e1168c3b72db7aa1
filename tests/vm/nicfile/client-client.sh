#!/usr/bin/env bash
# Client side of nicfile-client.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
H=$SERVER_IP
trap 'ip -6 addr del fd00:13::2/64 dev eth0 2>/dev/null; touch "$R/client-done"' EXIT
$NF --wait 60 stat "$H:/x/f1" > /dev/null || { fail "server not reachable"; exit 1; }

# JSON stat: a failed target is an entry of its own, and the whole parses.
out=$($NF --output-format=json stat "$H:/x/nope" "$H:/x/f1" 2>/dev/null); rc=$?
echo "stat json (status $rc): $out"
[ $rc = 1 ] && jq -e 'length == 2 and (.[0].error | length > 0) and .[1].size == 1' <<< "$out" > /dev/null &&
	ok "stat json: failed target first, still valid JSON" || fail "stat json: status $rc: $out"
# JSON ls of what cannot be listed: an error, not an empty listing.
out=$($NF --output-format=json ls "$H:/x/nope" 2>/dev/null); rc=$?
echo "ls json of a missing dir (status $rc): $out"
[ $rc = 1 ] && jq -e '(has("entries") | not) and (.error | length > 0)' <<< "$out" > /dev/null &&
	ok "ls json: error, no listing" || fail "ls json on error: status $rc: $out"
out=$($NF --output-format=json ls "$H:/x"); rc=$?
[ $rc = 0 ] && jq -e '.entries | length == 6' <<< "$out" > /dev/null && ok "ls json: 6 entries" ||
	fail "ls json: status $rc: $out"

# One MiB everywhere: get's rate is bytes / seconds / 2^20, and says so.
out=$($NF --output-format=json get "$H:/x/f1m" /tmp/f1m); rc=$?
echo "get json: $out"
[ $rc = 0 ] && jq -e '(.MiBps * 1048576 * .seconds / .bytes) as $r | $r > 0.99 and $r < 1.01' <<< "$out" > /dev/null &&
	ok "get: MiB/s" || fail "get json rate: status $rc: $out"
rm -f /tmp/f1m
out=$($NF --output-format=json -s 65536 -o 4 -n 64 bench "$H:/x/bench"); rc=$?
echo "bench json: $out"
[ $rc = 0 ] && jq -e '.depth == 4 and .bw_avg_MiBps > 0 and .iterations == 64' <<< "$out" > /dev/null &&
	ok "bench: -o 4 READs in flight (perftest's --outs), MiB/s" || fail "bench -o 4: status $rc: $out"
out=$($NF --output-format=json -D 2 bench "$H:/x/bench"); rc=$?
echo "bench -D 2: $out"
[ $rc = 0 ] && jq -e '.iterations > 0 and .seconds >= 2' <<< "$out" > /dev/null &&
	ok "bench -D 2: runs for 2 s (perftest's --duration)" || fail "bench -D 2: status $rc: $out"
out=$($NF bench "$H:/x/bench"); rc=$?
[ $rc = 0 ] && grep -q 'MiB/sec' <<< "$out" && ok "bench table in MiB/sec" || fail "bench table: $out"

# cat of a file that changes mid-transfer: status 4 and nothing on stdout.
rm -f /tmp/cat.out
$NF cat "$H:/x/catme" > /tmp/cat.out 2> /tmp/cat.err & pid=$!
wait_registered x/catme
sleep 0.5
touch "$R/go-overwrite"
wait "$pid"; rc=$?
n=$(stat -c %s /tmp/cat.out)
echo "cat of a changing file: status $rc, $n bytes on stdout: $(cat /tmp/cat.err)"
[ $rc = 4 ] && [ "$n" = 0 ] && ok "cat: status 4, no torn data on stdout" || fail "cat: status $rc, $n bytes out"
rm -f /tmp/cat.out
# A good cat still writes the file, byte for byte.
got=$($NF cat "$H:/x/f1m" | sha256sum | cut -d' ' -f1)
[ "$got" = "$(cat "$R/f1m.sha256")" ] && ok "cat f1m" || fail "cat f1m: $got"

# SIGTERM during get: the partial file goes.
rm -f /tmp/getme /tmp/getme.nicfile-part
$NF get "$H:/x/getme" /tmp/getme 2> /tmp/get.err & pid=$!
wait_registered x/getme
for i in $(seq 100); do [ -e /tmp/getme.nicfile-part ] && break; sleep 0.1; done
[ -e /tmp/getme.nicfile-part ] && ok "get writes /tmp/getme.nicfile-part" || fail "no .nicfile-part during get"
kill -TERM "$pid"
wait "$pid"; rc=$?
left=$(ls /tmp/getme* 2>/dev/null)
echo "get after SIGTERM: status $rc, left: ${left:-nothing}"
[ $rc = 143 ] && [ -z "$left" ] && ok "SIGTERM: status 143, no partial file" || fail "SIGTERM: status $rc, left ${left:-nothing}"

# IPv6, and a host name (a hosts file of this case, in a mount namespace).
ip -6 addr replace fd00:13::2/64 dev eth0 nodad
out=$($NF --wait 30 -p 18613 --output-format=json stat "[fd00:13::1]:/x/f1" 2>&1); rc=$?
echo "IPv6 stat: status $rc: $out"
[ $rc = 0 ] && jq -e '.[0].size == 1' <<< "$out" > /dev/null && ok "IPv6 [fd00:13::1]:/x/f1" ||
	fail "IPv6: status $rc: $out"
printf '%s nicfile-srv4\nfd00:13::1 nicfile-srv6\n' "$H" > "$R/hosts"
out=$(unshare -m sh -c "mount --bind $R/hosts /etc/hosts && $NF stat nicfile-srv4:/x/f1 && $NF -p 18613 stat nicfile-srv6:/x/f1" 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && [ "$(grep -c 'Size: 1$' <<< "$out")" = 2 ] && ok "host names (IPv4 and IPv6)" ||
	fail "host names: status $rc"

# The stream callback may call the library on its own connection.
out=$(timeout 120 build/tests/nicfile-stream-reenter "$H" x/f1m 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && ok "read_stream callback calls the library" || fail "stream re-entry: status $rc"

echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
