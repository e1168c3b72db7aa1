#!/usr/bin/env bash
# Server side of nicfile-concurrent: one shared file and eight others.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/shared" 4
for i in 1 2 3 4 5 6 7 8; do { echo "file $i"; head -c $((i * 524288 + i)) "$d/shared"; } > "$d/f$i"; done
(cd "$d" && sha256sum -- *) > "$R/expected"
start_nicfiled --export "$d" || exit 1
wait
