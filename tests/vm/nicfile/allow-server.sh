#!/usr/bin/env bash
# Server side of nicfile-allow: three daemons, one per allow-list case.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/allow
mkdir -p "$d/x" "$d/y"
echo "x data" > "$d/x/f"
echo "y data" > "$d/y/f"
# 1: no --allow at all (the default: loopback only).
NFD_ALLOW=none start_nicfiled --port 18601 --export "$d/x" || exit 1
# 2: an allow-list that does not name the client (IPv4 and IPv6 entries).
NFD_ALLOW="192.0.2.128/25 2001:db8::/32" start_nicfiled --port 18602 --export "$d/x" || exit 1
# 3: the client may see export x only.
NFD_ALLOW=none start_nicfiled --port 18603 --allow "x=$CLIENT_IP/32" --allow ::1 \
	--export "$d/x" --export "$d/y" || exit 1
touch "$R/allow-ready"
wait
