#!/usr/bin/env bash
# bench/nicfile-get.sh — `nicfile get` against ib_read_bw with the same
# message size and depth, in one tests/vm/pair run:
#   ib_read_bw -s MSG -n ITERS -t DEPTH -o DEPTH      (perftest, pinned anonymous memory)
#   nicfile get / bench -s MSG -t DEPTH  of a FILE_MIB file on the server's XFS,
#   served by nicfiled --no-odp (pinned), --no-cmb (ODP on the page cache)
#   and by default (ODP from the NVMe CMB), each from a cold page cache.
# In each mode, ROUNDS rounds of ib_read_bw then nicfile get back to back:
# each get is divided by the ib_read_bw just before it (TCG drifts by tens
# of per cent over minutes), and the median of those ratios is the figure.
# Environment: MSG (default 65536), DEPTH (16), FILE_MIB (64; ITERS = one
# pass), ROUNDS (3).
# Output: perftest table with the test name as an extra last column, on stdout
# and in build/bench/nicfile-get.txt. Target: get >= 0.9 x ib_read_bw.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
MSG=${MSG:-65536} DEPTH=${DEPTH:-16} FILE_MIB=${FILE_MIB:-64} ROUNDS=${ROUNDS:-3}
ITERS=$((FILE_MIB * 1048576 / MSG))
make -s -f userland.mk || exit 1
mkdir -p build/bench
out=build/bench/nicfile-get.txt
env="MSG=$MSG DEPTH=$DEPTH FILE_MIB=$FILE_MIB ITERS=$ITERS ROUNDS=$ROUNDS"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tests/vm/pair --timeout $((600 + ROUNDS * FILE_MIB * 6)) --server "$env tests/vm/nicfile/bench-server.sh" \
	--client "$env tests/vm/nicfile/bench-client.sh" > "$log" 2>&1
rc=$?
line=---------------------------------------------------------------------------------------
{
	echo "# bench/nicfile-get.sh — $(date -u '+%F %T UTC'), kernel $(cat build/kernel/release), MSG=$MSG DEPTH=$DEPTH FILE_MIB=$FILE_MIB ROUNDS=$ROUNDS"
	echo "$line"
	echo " #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]   Test"
	grep '^\[client\] RESULT ' "$log" | sed 's/^\[client\] RESULT //' | awk -F'|' '{ printf "%s   %s\n", $2, $1 }'
	echo "$line"
	# Each get against the ib_read_bw run just before it; median per mode.
	grep '^\[client\] RESULT ' "$log" | sed 's/^\[client\] RESULT //' | awk -F'|' '
		{ split($2, f, " ") }
		/^ib_read_bw/ { ref = f[4]; next }
		/^nicfile get/ && ref > 0 {
			mode = $1; sub(/, round.*/, "", mode)
			r = f[4] / ref; printf "  %-40s %.2f x ib_read_bw (%.2f)\n", $1, r, ref
			if (!(mode in n)) modes[++k] = mode
			n[mode]++; v[mode, n[mode]] = r
		}
		END {
			for (x = 1; x <= k; x++) {
				m = modes[x]
				for (i = 1; i <= n[m]; i++) for (j = i + 1; j <= n[m]; j++)
					if (v[m, j] < v[m, i]) { t = v[m, i]; v[m, i] = v[m, j]; v[m, j] = t }
				med = n[m] % 2 ? v[m, (n[m] + 1) / 2] : (v[m, n[m] / 2] + v[m, n[m] / 2 + 1]) / 2
				printf "  median %-33s %.2f x ib_read_bw over %d rounds\n", m, med, n[m]
			}
		}'
	[ $rc = 0 ] || { echo "pair failed:"; tail -5 "$log"; }
} | tee "$out"
exit $rc
