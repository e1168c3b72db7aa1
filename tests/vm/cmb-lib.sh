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
	for f in blocks staged hits declined evictions revoked stage_errors; do
		printf ' %s=%s' $f "$(pbc_stat $f)"
	done
	printf ' p2pmem_available=%s\n' "$(p2pmem_available 2>/dev/null)"
}
