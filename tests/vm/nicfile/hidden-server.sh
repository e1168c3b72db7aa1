#!/usr/bin/env bash
# Server side of nicfile-change-hidden.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/hidden
mkdir -p "$d"
head -c 1048576 /dev/urandom > "$d/mapped"
head -c 1048576 /dev/urandom > "$d/written"
# Written back now, so that its pages are dirty from the stores below only,
# and not old enough for the flusher to write them back before the test ends.
sync
build/tests/mmap_store "$d/mapped" /tmp/mapped-ready "$R/mapped-opened" "$R/mapped-changed" &
writer=$!
wait_for /tmp/mapped-ready 60 || exit 1
echo "pages dirtied through the mapping at $(date +%s.%N)"
start_nicfiled --export x="$d" || exit 1
wait_for "$R/written-opened" 300 || exit 1
# Same size, same place: only the contents and (maybe) the timestamps move.
dd if=/dev/urandom of="$d/written" bs=4096 count=1 conv=notrunc status=none && echo "rewrote 4 KiB of written"
touch "$R/written-changed"
wait_for "$R/hidden-done" 300
kill $writer
wait
