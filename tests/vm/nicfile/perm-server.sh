#!/usr/bin/env bash
# Server side of nicfile-perm: files of several owners and modes.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/perm
mkdir -p "$d/private"
head -c 200000 /dev/urandom > "$d/public"; chmod 0644 "$d/public"
echo "key of user 4321" > "$d/secret"; chown 4321:4321 "$d/secret"; chmod 0600 "$d/secret"
echo "root's own" > "$d/private/f"; chmod 0644 "$d/private/f"; chmod 0700 "$d/private"
sha256sum < "$d/public" | cut -d' ' -f1 > "$R/public.sha256"
start_nicfiled --export x="$d" || exit 1
uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' /proc/$NFD_PID/status)
echo "nicfiled runs as uid $uid"
echo "$uid" > "$R/uid"
# Pinned registration after the drop (RLIMIT_MEMLOCK raised by start_nicfiled).
pid1=$NFD_PID
start_nicfiled --port 18611 --no-odp --export x="$d" || exit 1
touch "$R/perm-ready"
wait
