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
# A bind mount inside the export of a directory outside it (RESOLVE_NO_XDEV).
mkdir -p "$NICFILE_MNT/outside" "$d/bound"
echo "secret behind a mount point" > "$NICFILE_MNT/outside/secret"
mount --bind "$NICFILE_MNT/outside" "$d/bound" || { echo "cannot bind-mount"; exit 1; }
start_nicfiled --export "$d" || { umount "$d/bound"; exit 1; }
wait_for "$R/refused-done" 600
umount "$d/bound"
wait
