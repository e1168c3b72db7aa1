#!/usr/bin/env bash
# Server side of nicfile-stall: a big file and a small one.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/stall
mkdir -p "$d"
make_big "$d/big" "${BIG_MIB:-32}"
echo small > "$d/small"
start_nicfiled --export "$d" || exit 1
wait
