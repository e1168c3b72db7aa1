#!/usr/bin/env bash
# Server side of nicfile-silent: a plain export, default seat limits
# (64 clients, 16 per address), a short first-message deadline.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/silent
mkdir -p "$d"
echo small > "$d/small"
start_nicfiled --export "$d" --hello-timeout 5 || exit 1
wait
