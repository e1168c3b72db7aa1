#!/usr/bin/env bash
# Server side of nicfile-server-death: nicfiled is SIGKILLed when the client
# says its transfers are under way (once for get, once for cat).
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/big" "${BIG_MIB:-64}"
for round in 1 2; do
	start_nicfiled --export "$d" || exit 1
	touch "$R/up$round"
	wait_for "$R/kill$round" 300 || exit 1
	kill -9 "$NFD_PID"
	echo "killed nicfiled (round $round)"
	touch "$R/killed$round"
	wait_for "$R/restart$round" 300 || exit 1
done
sleep 1000
