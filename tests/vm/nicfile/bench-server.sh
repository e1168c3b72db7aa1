#!/usr/bin/env bash
# Server side of bench/nicfile-get.sh: nicfiled in each registration mode
# (pinned, ODP on the page cache, ODP from the CMB) over the same file, and
# beside it an ib_read_bw server for each round the client runs.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/big" "$FILE_MIB"
sync
modes=(--no-odp --no-cmb "")
echo "${#modes[@]}" > "$R/modes"
n=0
for flags in "${modes[@]}"; do
	n=$((n + 1))
	# Each mode starts from a cold page cache.
	sync; echo 3 > /proc/sys/vm/drop_caches
	start_nicfiled --export "$d" $flags || exit 1
	touch "$R/mode-$n-ready"
	for ((r = 1; r <= ROUNDS; r++)); do
		tests/vm/perftest-server ib_read_bw -d "$RXE_DEV" -s "$MSG" -n "$ITERS" -t "$DEPTH" -o "$DEPTH" ||
			{ touch "$R/server-failed"; exit 1; }
	done
	wait_for "$R/mode-$n-done" 900 || exit 1
	kill "$NFD_PID"; wait "$NFD_PID"
done
