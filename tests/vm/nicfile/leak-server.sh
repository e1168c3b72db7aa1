#!/usr/bin/env bash
# Server side of nicfile-leak: count nicfiled's fds and the RDMA resources
# (QPs, MRs, CM ids, CQs, PDs) before and after 30 client connections and
# 200 open/close cycles of 200 files on one connection (a resource leaked
# per connection or per open shows at once). --max-files 32 bounds the
# files kept registered meanwhile; once they have idled out
# (--idle-timeout 5) every count must be back where it was.
. tests/vm/nicfile/common.sh
d=$NICFILE_MNT/x
mkdir -p "$d/many"
head -c 300000 /dev/urandom > "$d/small"
for i in $(seq 0 199); do echo "file $i" > "$d/many/f$i"; done
start_nicfiled --export "$d" --idle-timeout 5 --max-files 32 || exit 1
snapshot() {
	echo "fds $(ls /proc/$NFD_PID/fd | wc -l)"
	for r in qp mr cm_id cq pd; do echo "$r $(rdma resource show $r 2>/dev/null | wc -l)"; done
}
# Every registration closed again: as many "closed" lines as "registered".
all_closed() {
	local i reg clo
	for ((i = 0; i < 600; i++)); do
		reg=$(grep -c ': registered ' /tmp/nicfiled.log) clo=$(grep -c ': closed ' /tmp/nicfiled.log)
		[ "$reg" = "$clo" ] && return 0
		sleep 0.1
	done
	echo "still registered after 60 s: $reg registered, $clo closed"
}
wait_for "$R/phase1" 300 || exit 1
all_closed
snapshot > "$R/before"
touch "$R/measured1"
wait_for "$R/phase2" 600 || exit 1
# Right after the cycles: at most --max-files files still registered.
fds_before=$(sed -n 's/^fds //p' "$R/before")
fds_now=$(ls /proc/$NFD_PID/fd | wc -l)
echo "fds after the cycles: $fds_now (before: $fds_before)" > "$R/peak"
all_closed
sleep 1   # the last close's deregistration
snapshot > "$R/after"
# Then SIGTERM: nicfiled must stop cleanly, exit 0, and say so.
kill -TERM "$NFD_PID"
wait "$NFD_PID"
rc=$?
sleep 0.5
if [ "$fds_now" -gt $((fds_before + 32)) ]; then
	echo "$(cat "$R/peak"): more than --max-files 32 kept" > "$R/diff"; echo cap > "$R/verdict"
elif ! diff "$R/before" "$R/after" > "$R/diff"; then echo leak > "$R/verdict"
elif [ $rc != 0 ] || ! grep -q 'nicfiled: stopped' /tmp/nicfiled.log; then
	echo "SIGTERM: status $rc" > "$R/diff"; echo sigterm > "$R/verdict"
else echo ok > "$R/verdict"; fi
cat "$R/before" "$R/peak" "$R/after"
