#!/usr/bin/env bash
# Server side of nicfile-client: small files, two big ones that change on
# the client's word, and a second nicfiled on an IPv6 address.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d/dir"
printf 1 > "$d/f1"
head -c 1048576 /dev/urandom > "$d/f1m"
make_big "$d/catme" 64
cp "$d/catme" "$d/getme"
head -c 4194304 "$d/catme" > "$d/bench"
sha256sum < "$d/f1m" | cut -d' ' -f1 > "$R/f1m.sha256"
sync
# The IPv6 address is this case's; it goes when the client is done.
ip -6 addr replace fd00:13::1/64 dev eth0 nodad || { touch "$R/server-failed"; exit 1; }
NFD_ALLOW="$CLIENT_IP fd00:13::2" start_nicfiled --export "$d" || exit 1
NFD_ALLOW="fd00:13::2" start_nicfiled --port 18613 --listen fd00:13::1 --export "$d" || exit 1
v6=$NFD_PID
wait_for "$R/go-overwrite" 400 && dd if=/dev/urandom of="$d/catme" bs=1M count=1 seek=40 conv=notrunc status=none &&
	echo "overwrote 1 MiB of catme"
wait_for "$R/client-done" 400
# The daemon bound to the address goes before the address does.
kill -TERM "$v6"; wait "$v6"
ip -6 addr del fd00:13::1/64 dev eth0
wait
