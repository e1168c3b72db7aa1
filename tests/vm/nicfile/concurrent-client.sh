#!/usr/bin/env bash
# Client side of nicfile-concurrent: 8 processes get the same file, then 8
# processes get 8 different files, all at once; every copy must match.
# This case is about correct data under concurrency, not latency (that is
# nicfile-stall): the eight checksums run on nicfiled's workers at once
# and share the server VM's CPU, so a loaded host still needs more than
# 30 s per request.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
$NF --wait 60 stat "$SERVER_IP:/x/shared" > /dev/null || { echo "server not reachable"; exit 1; }
check() { # NAME LOCAL
	local want got
	want=$(grep " $1\$" "$R/expected" | cut -d' ' -f1)
	got=$(sha256sum < "$2" | cut -d' ' -f1)
	[ "$want" = "$got" ] && ok "$2 matches $1" || fail "$2: $got, want $want"
}
t0=$SECONDS
pids=()
for i in 1 2 3 4 5 6 7 8; do $NF --wait 120 get --verify "$SERVER_IP:/x/shared" "/tmp/s$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a get of the shared file exited $?"; done
echo "8 x shared: $((SECONDS - t0)) s"
for i in 1 2 3 4 5 6 7 8; do check shared "/tmp/s$i"; rm -f "/tmp/s$i"; done
t0=$SECONDS
pids=()
for i in 1 2 3 4 5 6 7 8; do $NF --wait 120 get --verify "$SERVER_IP:/x/f$i" "/tmp/f$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a get of a distinct file exited $?"; done
echo "8 x distinct: $((SECONDS - t0)) s"
for i in 1 2 3 4 5 6 7 8; do check "f$i" "/tmp/f$i"; done
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
