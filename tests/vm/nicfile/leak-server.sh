#!/usr/bin/env bash
# Server side of nicfile-leak: count nicfiled's fds and the RDMA resources
# (QPs, MRs, CM ids, CQs, PDs) before and after 30 client connections (a
# resource leaked per connection shows at once).
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
head -c 300000 /dev/urandom > "$d/small"
start_nicfiled --export "$d" --idle-timeout 600 || exit 1
snapshot() {
	echo "fds $(ls /proc/$NFD_PID/fd | wc -l)"
	for r in qp mr cm_id cq pd; do echo "$r $(rdma resource show $r 2>/dev/null | wc -l)"; done
}
wait_for "$R/phase1" 300 || exit 1
sleep 2
snapshot > "$R/before"
touch "$R/measured1"
wait_for "$R/phase2" 600 || exit 1
sleep 3
snapshot > "$R/after"
# Then SIGTERM: nicfiled must stop cleanly, exit 0, and say so.
kill -TERM "$NFD_PID"
wait "$NFD_PID"
rc=$?
sleep 0.5
if ! diff "$R/before" "$R/after" > "$R/diff"; then echo leak > "$R/verdict"
elif [ $rc != 0 ] || ! grep -q 'nicfiled: stopped' /tmp/nicfiled.log; then
	echo "SIGTERM: status $rc" > "$R/diff"; echo sigterm > "$R/verdict"
else echo ok > "$R/verdict"; fi
cat "$R/before" "$R/after"
