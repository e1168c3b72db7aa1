# Counters of the CMB data path, read inside the server VM (sourced, cwd =
# repository).  A missing file means the kernel lacks the CMB path: callers
# treat that as a failure, not a skip.
odp_stat() { cat "/sys/class/infiniband_verbs/odp_$1"; }
pbc_stat() { cat "/sys/kernel/mm/peer_block_cache/$1"; }
p2pmem_available() { cat "$NICFILE_NVME/p2pmem/available"; }
meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# Pages of FILE in the page cache.
cached_pages() { fincore -n -b -o PAGES "$1" | tr -d ' '; }
# Every counter on one line, for the logs.
cmb_counters() {
	local f
	printf 'counters:'
	for f in faults pages_cmb pages_host pages_invalidated; do
		printf ' odp_%s=%s' $f "$(odp_stat $f)"
	done
	for f in blocks staged staged_cmb staged_pmr hits declined evictions revoked stage_errors stale; do
		printf ' %s=%s' $f "$(pbc_stat $f)"
	done
	printf ' p2pmem_available=%s\n' "$(p2pmem_available 2>/dev/null)"
}

# A server command that checks things after the client's command has ended
# would be SIGTERMed by tests/vm/pair as soon as the client ends.  So the
# server writes its verdict (server_verdict RC) and the client's command
# ends with wait_server_verdict, which fails if the server's checks failed.
server_verdict() { echo "$1" > "$NICFILE_RUN/server-verdict"; return "$1"; }
wait_server_verdict() {
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -s "$NICFILE_RUN/server-verdict" ] && break
		sleep 0.2
	done
	[ "$(cat "$NICFILE_RUN/server-verdict" 2>/dev/null)" = 0 ] ||
		{ echo "the server side's checks failed"; return 1; }
}
