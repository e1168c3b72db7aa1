#!/usr/bin/env bash
# bench/nicfile-get.sh — `nicfile get` and `nicfile bench` throughput against
# ib_read_bw with the same message size and depth, in one tests/vm/pair run:
#   ib_read_bw -s MSG -n ITERS -t DEPTH -o DEPTH       (perftest, pinned anonymous memory)
#   nicfile bench / get -s MSG -t DEPTH  of a FILE_MIB file on the server's XFS,
#   nicfiled --no-odp (pinned region), then nicfiled default (ODP region).
# Environment: MSG (default 65536), DEPTH (16), FILE_MIB (64; ITERS = one pass).
# Output: perftest table with the test name as an extra last column, on stdout
# and in build/bench/nicfile-get.txt. Target: get >= 0.9 x ib_read_bw.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
MSG=${MSG:-65536} DEPTH=${DEPTH:-16} FILE_MIB=${FILE_MIB:-64}
ITERS=$((FILE_MIB * 1048576 / MSG))
make -s -f userland.mk || exit 1
mkdir -p build/bench
out=build/bench/nicfile-get.txt
env="MSG=$MSG DEPTH=$DEPTH FILE_MIB=$FILE_MIB ITERS=$ITERS"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tests/vm/pair --timeout 900 --server "$env tests/vm/nicfile/bench-server.sh" \
	--client "$env tests/vm/nicfile/bench-client.sh" > "$log" 2>&1
rc=$?
line=---------------------------------------------------------------------------------------
{
	echo "# bench/nicfile-get.sh — $(date -u '+%F %T UTC'), kernel $(cat build/kernel/release), MSG=$MSG DEPTH=$DEPTH FILE_MIB=$FILE_MIB"
	echo "$line"
	echo " #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]   Test"
	grep '^\[client\] RESULT ' "$log" | sed 's/^\[client\] RESULT //' | awk -F'|' '{ printf "%s   %s\n", $2, $1 }'
	echo "$line"
	ref=$(grep '^\[client\] RESULT ib_read_bw' "$log" | awk -F'|' '{ split($2, f, " "); print f[4] }')
	grep '^\[client\] RESULT nicfile get' "$log" | sed 's/^\[client\] RESULT //' |
		awk -F'|' -v ref="$ref" '{ split($2, f, " "); if (ref > 0) printf "  %-40s %.2f x ib_read_bw\n", $1, f[4] / ref }'
	[ $rc = 0 ] || { echo "pair failed:"; tail -5 "$log"; }
} | tee "$out"
exit $rc
