#!/usr/bin/env bash
# Server side of bench/nicfile-get.sh: ib_read_bw, then nicfiled pinned,
# then nicfiled with ODP, over the same file and link.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/big" "$FILE_MIB"
sync
echo "### ib_read_bw -d $RXE_DEV -s $MSG -n $ITERS -t $DEPTH -o $DEPTH"
tests/vm/perftest-server ib_read_bw -d "$RXE_DEV" -s "$MSG" -n "$ITERS" -t "$DEPTH" -o "$DEPTH" ||
	{ touch "$R/server-failed"; exit 1; }
start_nicfiled --export "$d" --no-odp || exit 1
wait_for "$R/phase-odp" 900 || exit 1
kill "$NFD_PID"; wait "$NFD_PID"
rm -f "$R/server-ready"
start_nicfiled --export "$d" || exit 1
wait
