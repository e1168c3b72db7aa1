#!/usr/bin/env bash
# Server side of nicfile-change-tick: nicfiled without inotify, and the
# client program on this VM.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/tick
mkdir -p "$d"
head -c 65536 /dev/urandom > "$d/f"
chmod 0644 "$d/f"
watches=$(cat /proc/sys/fs/inotify/max_user_watches)
trap 'echo "$watches" > /proc/sys/fs/inotify/max_user_watches; touch "$R/tick-done"' EXIT
echo 0 > /proc/sys/fs/inotify/max_user_watches
NFD_ALLOW=$SERVER_IP start_nicfiled --export x="$d" || exit 1
build/tests/nicfile-tick "$SERVER_IP" x/f "$d/f" 30; rc=$?
kill "$NFD_PID"
exit $rc
