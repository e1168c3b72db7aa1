#!/usr/bin/env bash
# Server side of nicfile-hostile: a plain export.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
head -c 100000 /dev/urandom > "$d/good"
start_nicfiled --export "$d" || exit 1
wait
