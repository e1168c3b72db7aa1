#!/usr/bin/env bash
# Server side of bench/run, inside the server VM.  Walks the plan
# ($BENCH_PLAN: id<TAB>kind<TAB>file<TAB>server-cmd<TAB>client-cmd) in step
# with client.sh and records, per case, the server VM's busy CPU time and its
# page-cache size before and after.  kind: perftest (the server command ends
# by itself), daemon (runs until the client is done with the case), local
# (runs here only; the client waits).
set -u
# nicfiled drops root for nobody: its pinned regions then count against
# RLIMIT_MEMLOCK (nicfiled(8), SECURITY).
ulimit -l unlimited
R=$NICFILE_RUN
export BENCH_FILE=$NICFILE_MNT/bench/data.bin
mkdir -p "$NICFILE_MNT/bench"
head -c $((BENCH_FILE_MIB << 20)) /dev/urandom > "$BENCH_FILE"
sync
busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
cached() { awk '/^Cached:/{ print $2 }' /proc/meminfo; }
# the served file's own pages in the page cache (Cached also counts the
# programs and libraries each case reads in again over 9p)
file_res() { fincore -b -n -o RES "$BENCH_FILE" 2>/dev/null || echo 0; }
counter() { cat "$1" 2>/dev/null || echo 0; }  # 0 on a kernel without the CMB path
cmb_json() { # before|after
	printf '"odp_cmb_%s":%s,"odp_host_%s":%s,"staged_%s":%s' \
		"$1" "$(counter /sys/class/infiniband_verbs/odp_pages_cmb)" \
		"$1" "$(counter /sys/class/infiniband_verbs/odp_pages_host)" \
		"$1" "$(counter /sys/kernel/mm/peer_block_cache/staged)"
}
while IFS=$'\t' read -r id kind file scmd _; do
	[ "$file" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
	c0=$(cached) b0=$(busy) k0=$(cmb_json before) f0=$(file_res)
	case $kind in
	perftest) # again when a run fails (perftest under TCG may fail its clock
		# calibration on either side) until the client side is done
		for _ in 1 2 3 4 5; do
			timeout 300 bash -c "$scmd" > "$R/srv.$id.txt" 2>&1 && { rc=0; break; }
			rc=$?
			[ -f "$R/cli-done.$id" ] && break
		done ;;
	local) timeout 600 bash -c "$scmd" > "$R/srv.$id.txt" 2>&1; rc=$? ;;
	daemon)
		bash -c "$scmd" > "$R/srv.$id.txt" 2>&1 &
		pid=$!
		for _ in $(seq 3000); do [ -f "$R/cli-done.$id" ] && break; sleep 0.2; done
		kill "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		;;
	esac
	echo "{\"rc\":$rc,\"busy_jiffies\":$(($(busy) - b0)),\"hz\":$(getconf CLK_TCK),\"cached_kb_before\":$c0,\"cached_kb_after\":$(cached),\"file_res_before\":$f0,\"file_res_after\":$(file_res),$k0,$(cmb_json after)}" > "$R/srv.$id.json"
	: > "$R/srv-done.$id"
done < "$BENCH_PLAN"
