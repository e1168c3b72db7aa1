#!/usr/bin/env bash
# Server side of nicfile-sizes: files of awkward sizes and a big one.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
for s in 0 1 4095 4096 4097 1048577; do head -c "$s" /dev/urandom > "$d/f$s"; done
t0=$SECONDS
make_big "$d/big" "${BIG_MIB:-16}"
echo "made a $(stat -c %s "$d/big")-byte file in $((SECONDS - t0)) s"
(cd "$d" && sha256sum -- *) > "$R/expected"
sync
start_nicfiled --export "$d" || exit 1
wait
