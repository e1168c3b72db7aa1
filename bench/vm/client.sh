#!/usr/bin/env bash
# Client side of bench/run, inside the client VM: runs each case's client
# command (retrying while the server side starts), keeps its output in
# $NICFILE_RUN/cli.ID.txt, and waits for the server to close the case.
set -u
R=$NICFILE_RUN
waitfor() { for _ in $(seq $(($2 * 5))); do [ -f "$1" ] && return 0; sleep 0.2; done; return 1; }
while IFS=$'\t' read -r id kind _ _ ccmd; do
	if [ "$kind" != local ]; then
		rc=1
		for _ in $(seq 40); do
			timeout 240 bash -c "$ccmd" > "$R/cli.$id.txt" 2>&1 && { rc=0; break; }
			rc=$?
			[ -f "$R/srv-done.$id" ] && break
			sleep 1
		done
		echo "$rc" > "$R/cli.$id.rc"
		: > "$R/cli-done.$id"
	fi
	waitfor "$R/srv-done.$id" 900 || { echo "bench: server never closed case $id"; exit 1; }
done < "$BENCH_PLAN"
