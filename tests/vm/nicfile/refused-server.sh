#!/usr/bin/env bash
# Server side of nicfile-refused-paths: an export with ways out of it.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d/sub"
echo "inside" > "$d/ok"
echo "secret outside the export" > "$NICFILE_MNT/secret"
ln -s "$NICFILE_MNT/secret" "$d/abs"       # absolute symlink out
ln -s ../secret "$d/rel"                   # relative symlink out
ln -s .. "$d/updir"                        # a directory symlink out
ln -s ../ok "$d/sub/in"                    # stays inside: allowed
mkfifo "$d/fifo"
start_nicfiled --export "$d" || exit 1
wait
