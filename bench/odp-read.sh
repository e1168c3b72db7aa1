#!/usr/bin/env bash
# bench/odp-read.sh [SECONDS] — RDMA READ bandwidth over soft-RoCE between the
# two test VMs, pinned MRs against ODP MRs, in one tests/vm/pair run:
#   ib_read_bw -D SECONDS, 4 KiB and 64 KiB messages, without and with --odp
#   (both sides), perftest's own table kept; then first pass (faulting) vs
#   second pass (mapped) bandwidth of 64 KiB READs over a fresh 16 MiB ODP MR
#   of a file on the server's XFS (build/tests/odp_read_check, --test passes).
# Output: stdout and build/bench/odp-read.txt.  Not a test (no pass/fail).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
cd "$top" || exit 1
[ -x build/tests/odp_read_check ] || make -f userland.mk >/dev/null || exit 1
mkdir -p build/bench
out=build/bench/odp-read.txt

runs=("-s 4096" "-s 4096 --odp" "-s 65536" "-s 65536 --odp")
srv= cli=
for r in "${runs[@]}"; do
	srv+="echo '### ib_read_bw -d \$RXE_DEV -D $secs $r'; tests/vm/perftest-server ib_read_bw -d \$RXE_DEV -D $secs $r || exit 1; "
	cli+="echo '### ib_read_bw -d \$RXE_DEV -D $secs $r \$SERVER_IP'; ok=0; for i in \$(seq 30); do ib_read_bw -d \$RXE_DEV -D $secs $r \$SERVER_IP && { ok=1; break; }; sleep 1; done; [ \$ok = 1 ] || exit 1; "
done
srv+="build/tests/odp_read_check server --bind \$SERVER_IP --file \$NICFILE_MNT/bench.dat --size 16M --seed 3"
cli+="sleep 2; build/tests/odp_read_check client --server \$SERVER_IP --test passes --seed 3 --count 0"

{
	echo "# bench/odp-read.sh $secs — $(date -u '+%F %T UTC'), kernel $(cat build/kernel/release)"
	tests/vm/pair --timeout $((8 * secs + 400)) --server "$srv" --client "$cli"
} 2>&1 | tee "$out"
echo
echo "summary (client side, BW average MB/s):"
awk '/^\[client\] ###/ { sub(/^\[client\] ### /, ""); cmd = $0; next }
     /^\[client\] *[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+/ { printf "  %-60s %s MB/s\n", cmd, $5 }
     /^\[client\] client: pass/ { sub(/^\[client\] client: /, ""); print "  " $0 }' "$out" | tee -a "$out"
