#!/usr/bin/env bash
# Server side of nicfile-change: files that are overwritten, truncated and
# replaced while a client reads them.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/a" "${BIG_MIB:-64}"
cp "$d/a" "$d/b"; cp "$d/a" "$d/c"; cp "$d/a" "$d/new"
start_nicfiled --export "$d" || exit 1
wait_for "$R/go-overwrite" 300 && dd if=/dev/urandom of="$d/a" bs=1M count=1 seek=40 conv=notrunc status=none &&
	echo "overwrote 1 MiB of a"
wait_for "$R/go-truncate" 300 && truncate -s 1M "$d/b" && echo "truncated b"
wait_for "$R/go-replace" 300 && mv "$d/new" "$d/c" && echo "replaced c"
wait
