#!/usr/bin/env bash
# Server side of cmb-nicfile-get: a file that no server process has read
# (written, synced, caches dropped) is fetched by the client.  Afterwards:
# the file's page-cache residency and Cached grew by less than 1% of the
# bytes served and, with a CMB, the pages came from it (odp_pages_cmb,
# staged, and staged_cmb or staged_pmr for the memory that served).
# EXPECT_MODE: the registration mode nicfiled must log (odp-cmb on a bed
# with a PMR, NICFILE_DEVMEM=pmr, means odp-pmr: the peer block cache
# draws from the PMR first, doc/cmb.md); REPEAT: how many times the
# client fetches the file.
. tests/vm/nicfile/common.sh
. tests/vm/cmb-lib.sh
mib=${FILE_MIB:-32}
[ "$EXPECT_MODE" = odp-cmb ] && [ "${NICFILE_PMR_MB:-0}" != 0 ] && EXPECT_MODE=odp-pmr
# The memory that must serve, and the other one.
case $EXPECT_MODE in
odp-cmb) mem=cmb other=pmr ;;
odp-pmr) mem=pmr other=cmb ;;
*) mem= other= ;;
esac
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/big" "$mib"
sha256sum "$d/big" | cut -d' ' -f1 > "$R/expected"
sync
echo 3 > /proc/sys/vm/drop_caches
head -c 65536 /dev/urandom > "$d/warm"
# The pool before nicfiled: it must be whole again once nicfiled has
# exited. (Not the baseline below: nicfiled settles the warm file, written
# back it is served from the CMB too, and its blocks stay staged while
# nicfiled keeps it open.)
pool0=$(p2pmem_available 2>/dev/null)
start_nicfiled --export "$d" || exit 1
# Baselines once nicfiled has served a first file (its code and libraries,
# read over 9p, are in the page cache by then) and once every command used
# below has run once.
touch "$R/go-warm"
wait_for "$R/warmed" 600 || exit 1
grep -q x "$R/expected"; cat /proc/meminfo > /dev/null; sleep 0.1; touch "$R/x"
pages0=$(cached_pages "$d/big"); cmb_counters > /dev/null 2>&1
pages0=$(cached_pages "$d/big") cached0=$(meminfo_kb Cached)
cmb0=$(odp_stat pages_cmb 2>/dev/null || echo 0)
staged0=$(pbc_stat staged 2>/dev/null || echo 0)
if [ -n "$mem" ]; then
	mem0=$(pbc_stat staged_$mem 2>/dev/null || echo 0)
	other0=$(pbc_stat staged_$other 2>/dev/null || echo 0)
fi
[ "$EXPECT_MODE" = odp ] || cmb_counters
touch "$R/go"
wait_for "$R/client-done" 900 || exit 1
pages1=$(cached_pages "$d/big") cached1=$(meminfo_kb Cached)
[ "$EXPECT_MODE" = odp ] || cmb_counters
served_kb=$((mib * 1024 * ${REPEAT:-1}))	# the client fetches it REPEAT times
echo "file pages in the page cache: $pages0 -> $pages1; Cached: $cached0 -> $cached1 kB; served $served_kb kB"
grep -q "registered x/big: .*mode $EXPECT_MODE" /tmp/nicfiled.log && ok "nicfiled registered big in mode $EXPECT_MODE" ||
	fail "nicfiled did not register big in mode $EXPECT_MODE: $(grep 'registered x/big' /tmp/nicfiled.log)"
if [ -n "$mem" ]; then
	[ $(((pages1 - pages0) * 4)) -lt $((served_kb / 100)) ] && ok "file pages cached grew by $((pages1 - pages0))" ||
		fail "file pages in the page cache grew from $pages0 to $pages1"
	[ $((cached1 - cached0)) -lt $((served_kb / 100)) ] && ok "Cached grew by $((cached1 - cached0)) kB" ||
		fail "Cached grew by $((cached1 - cached0)) kB, >= 1% of $served_kb kB"
	cmb1=$(odp_stat pages_cmb) staged1=$(pbc_stat staged)
	[ $((cmb1 - cmb0)) -ge $((mib * 256)) ] && ok "odp_pages_cmb +$((cmb1 - cmb0)) (file: $((mib * 256)) pages)" ||
		fail "odp_pages_cmb grew by $((cmb1 - cmb0)), want >= $((mib * 256))"
	[ $((staged1 - staged0)) -gt 0 ] && ok "peer cache staged +$((staged1 - staged0))" || fail "peer cache staged nothing"
	# Which memory: staged_cmb and staged_pmr split staged.  The other
	# memory, if the bed has it, takes nothing while this one has room.
	mem1=$(pbc_stat staged_$mem) other1=$(pbc_stat staged_$other)
	[ -n "$mem1" ] && [ $((mem1 - mem0)) -gt 0 ] && ok "staged_$mem +$((mem1 - mem0))" ||
		fail "staged_$mem: ${mem0:-none} -> ${mem1:-none}: nothing staged in the ${mem^^}"
	room=${NICFILE_PMR_MB:-0}
	[ $mem = cmb ] && room=${NICFILE_CMB_MB:-0}
	if [ "$mib" -lt "$room" ]; then
		[ -n "$other1" ] && [ "$other1" = "$other0" ] && ok "staged_$other unchanged ($other1)" ||
			fail "staged_$other: $other0 -> ${other1:-none}: the ${other^^} took blocks while the ${mem^^} had room"
	fi
	if [ -n "${PRESSURE:-}" ]; then
		ev=$(pbc_stat evictions)
		[ "$ev" -gt 0 ] && ok "peer cache evictions: $ev" || fail "no eviction under CMB pressure"
	fi
	# The blocks go back to the pool when nobody maps the file any more.
	kill "$NFD_PID"; wait "$NFD_PID"
	avail1=$(p2pmem_available)
	[ "$avail1" = "$pool0" ] && ok "p2pmem available back to $pool0 after nicfiled exited" ||
		fail "p2pmem available $pool0 before nicfiled, $avail1 after it exited"
	cmb_counters
fi
# The client waits for this verdict, so that it ends (and this side is
# stopped) only once the checks above are done.
echo "${FAILS:-0}" > "$R/server-done"
exit $((${FAILS:-0} > 0))
