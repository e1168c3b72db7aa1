#!/usr/bin/env bash
# Client side of bench/nicfile-get.sh. For each of the server's registration
# modes: nicfile bench twice (the first pass faults the file in, the second
# is the steady state), then ROUNDS rounds of ib_read_bw and nicfile get
# back to back, so each get has a reference measured next to it. Every
# result is printed as a perftest row ("RESULT label|row").
. tests/vm/nicfile/common.sh
json_field() { echo "$1" | sed -n "s/.*\"$2\": \"*\([^,\"}]*\).*/\1/p"; }
row() { # MSG ITERS PEAK AVG MPPS: a perftest result row
	awk -v m="$1" -v n="$2" -v p="$3" -v a="$4" -v r="$5" \
		'BEGIN { printf " %-7lu    %-10lu       %-7.2f            %-7.2f\t\t   %-7.6f", m, n, p, a, r }'
}
ib_row() { # LABEL
	local i
	for i in $(seq 60); do
		ib_read_bw -d "$RXE_DEV" -s "$MSG" -n "$ITERS" -t "$DEPTH" -o "$DEPTH" "$SERVER_IP" > /tmp/ib.txt 2>&1 && break
		sleep 1
	done
	cat /tmp/ib.txt
	grep -qE "^ +$MSG +$ITERS " /tmp/ib.txt || { echo "ib_read_bw failed"; return 1; }
	echo "RESULT ib_read_bw -s $MSG -n $ITERS -t $DEPTH -o $DEPTH$1|$(grep -E "^ +$MSG +$ITERS " /tmp/ib.txt | tail -1)"
}
get_row() { # LABEL: one nicfile get (MB = 2^20 as perftest)
	local j bw mpps
	j=$($NF --output-format=json -s "$MSG" -o "$DEPTH" get "$SERVER_IP:/x/big" /tmp/big) || { echo "get failed"; return 1; }
	echo "$j"
	rm -f /tmp/big
	read -r bw mpps <<< "$(awk -v b="$(json_field "$j" bytes)" -v s="$(json_field "$j" seconds)" -v m="$MSG" \
		'BEGIN { print b / s / 1048576, b / m / s / 1e6 }')"
	echo "RESULT nicfile get ($(json_field "$j" mode))$1|$(row "$MSG" "$ITERS" "$bw" "$bw" "$mpps")"
}
bench_row() { # LABEL
	local j
	j=$($NF --output-format=json --wait 60 -s "$MSG" -o "$DEPTH" -n "$ITERS" bench "$SERVER_IP:/x/big") || { echo "bench failed"; return 1; }
	echo "$j"
	echo "RESULT nicfile bench ($(json_field "$j" mode))$1|$(row "$MSG" "$(json_field "$j" iterations)" \
		"$(json_field "$j" bw_peak_MiBps)" "$(json_field "$j" bw_avg_MiBps)" "$(json_field "$j" msg_rate_Mpps)")"
}
wait_for "$R/modes" 300 || exit 1
for ((n = 1; n <= $(< "$R/modes"); n++)); do
	wait_for "$R/mode-$n-ready" 300 || exit 1
	bench_row ", first pass" || exit 1
	bench_row ", second pass" || exit 1
	for ((r = 1; r <= ROUNDS; r++)); do
		ib_row ", round $r" || exit 1
		get_row ", round $r" || exit 1
	done
	touch "$R/mode-$n-done"
done
