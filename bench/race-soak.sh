#!/usr/bin/env bash
# bench/race-soak.sh [READS] [KINDS] — the race soak of issue 11: READS
# (default 10^6) remote READs of one block at random places of a
# CMB-served stamped file, racing changes drawn at random from KINDS
# (default every path odp_read_check knows: write(2), stores through a
# shared mapping, O_DIRECT, O_DIRECT RWF_NOWAIT, buffered RWF_NOWAIT +
# fsync, Linux AIO, FICLONERANGE, copy_file_range, truncate down and up,
# fallocate punch/zero/collapse/insert, unshare, FIDEDUPERANGE, FICLONE
# of a whole file).  After every
# change the file goes back to disk and the CMB under traffic (sync, drop
# caches), so the next change meets staged blocks the NIC maps.  Every
# block of every READ is checked: one posted after a change returned must
# carry only what the file held then (else STALE), and none may carry
# bytes the file never held (foreign); the first of either ends the run.
# Reports READs, changes, stale and foreign blocks, and the rate.
# SOAK_PER_CHANGE=N: READs between two changes (4096).
# Output: stdout and build/bench/race-soak.txt.  Not a test (no pass/fail
# assertion beyond the soak's own).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
reads=${1:-1000000}
kinds=${2:-cw,cm,co,cn,cb,ca,cf,cy,ct,cx,cp,cz,cc,ci,cu,ce,cx,cr}
cd "$top" || exit 1
[ -x build/tests/odp_read_check ] || make -f userland.mk >/dev/null || exit 1
mkdir -p build/bench
out=build/bench/race-soak.txt
{
	echo "# bench/race-soak.sh $reads $kinds — $(date -u '+%F %T UTC'), kernel $(cat build/kernel/release)"
	tests/vm/pair --timeout 14400 --server '
		. tests/vm/cmb-lib.sh
		cmb_counters
		build/tests/odp_read_check server --bind $SERVER_IP --file $NICFILE_MNT/soak.dat \
			--stamped --ro --size 4M; rc=$?
		cmb_counters
		exit $rc' \
	--client "build/tests/odp_read_check client --server \$SERVER_IP --test soak --count $reads --kinds $kinds ${SOAK_PER_CHANGE:+--per-change $SOAK_PER_CHANGE}"
} 2>&1 | tee "$out"
