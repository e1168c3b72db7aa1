#!/usr/bin/env bash
# Server side of nicfile-notify-idle: 100 small files; once the client
# holds them all, change every one and wait until nicfiled has noticed
# all 100 changes (and had the time to tell the client).
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/notify
mkdir -p "$d"
for i in $(seq 0 99); do echo "file $i" > "$d/f$i"; done
start_nicfiled --export "$d" --max-open 128 || exit 1
wait_for "$R/opened" 300 || exit 1
for i in $(seq 0 99); do echo "changed" >> "$d/f$i"; done
for ((t = 0; t < 600; t++)); do
	n=$(grep -c 'notify/f[0-9]* changed' /tmp/nicfiled.log)
	[ "$n" -ge 100 ] && break
	sleep 0.1
done
echo "nicfiled noticed $n of 100 changes"
# Room for the NOTIFYs to go out (or for the client to be dropped).
sleep 2
touch "$R/changed"
wait
