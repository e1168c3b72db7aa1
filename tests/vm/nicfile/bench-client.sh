#!/usr/bin/env bash
# Client side of bench/nicfile-get.sh.
. tests/vm/nicfile/common.sh
ok=0
for i in $(seq 60); do
	ib_read_bw -d "$RXE_DEV" -s "$MSG" -n "$ITERS" -t "$DEPTH" -o "$DEPTH" "$SERVER_IP" > /tmp/ib.txt 2>&1 && { ok=1; break; }
	sleep 1
done
cat /tmp/ib.txt
[ $ok = 1 ] || { echo "ib_read_bw failed"; exit 1; }
row=$(grep -E "^ +$MSG +$ITERS " /tmp/ib.txt | tail -1)
echo "RESULT ib_read_bw -s $MSG -n $ITERS -t $DEPTH -o $DEPTH|$row"
get_row() { # LABEL: one nicfile get, as a perftest row (MB = 2^20 as perftest)
	local j bytes secs
	j=$($NF -o json -s "$MSG" -t "$DEPTH" get "$SERVER_IP:/x/big" /tmp/big) || { echo "get failed"; return 1; }
	bytes=$(echo "$j" | sed 's/.*"bytes": \([0-9]*\).*/\1/')
	secs=$(echo "$j" | sed 's/.*"seconds": \([0-9.]*\).*/\1/')
	rm -f /tmp/big
	echo "RESULT $1|$(awk -v b="$bytes" -v s="$secs" -v m="$MSG" 'BEGIN { bw = b / s / 1048576;
		printf " %-7lu    %-10lu       %-7.2f            %-7.2f\t\t   %-7.6f", m, b / m, bw, bw, b / m / s / 1e6 }')"
}
bench_row() { # LABEL
	local out
	out=$($NF -w 60 -s "$MSG" -t "$DEPTH" -n "$ITERS" bench "$SERVER_IP:/x/big") || { echo "bench failed"; return 1; }
	echo "$out"
	echo "RESULT $1|$(echo "$out" | grep -E "^ +$MSG +$ITERS " | tail -1)"
}
wait_for "$R/server-ready" 300 || exit 1
bench_row "nicfile bench (pinned)"
get_row "nicfile get (pinned)"
get_row "nicfile get (pinned, again)"
touch "$R/phase-odp"
sleep 2
wait_for "$R/server-ready" 300 || exit 1
bench_row "nicfile bench (odp, first pass: faults)"
bench_row "nicfile bench (odp, second pass)"
get_row "nicfile get (odp)"
