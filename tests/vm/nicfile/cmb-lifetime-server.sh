#!/usr/bin/env bash
# Server side of cmb-lifetime: while a client reads a file served from the
# CMB, unmounting the XFS must be refused and unbinding the NVMe device must
# revoke every block and finish: never a hang or an oops.
. tests/vm/nicfile/common.sh
. tests/vm/cmb-lib.sh
d=$NICFILE_MNT/x
mkdir -p "$d"
make_big "$d/big" 4
sha256sum "$d/big" | cut -d' ' -f1 > "$R/expected"
sync
echo 3 > /proc/sys/vm/drop_caches
start_nicfiled --export "$d" || exit 1
touch "$R/go"
wait_for "$R/reading" 600 || exit 1
cmb_counters
[ "$(pbc_stat blocks)" -gt 0 ] && ok "blocks of the file are in the CMB" || fail "no block in the CMB"
if umount "$NICFILE_MNT" 2> /tmp/umount.err; then
	fail "umount succeeded under live MRs"
else
	ok "umount refused under live MRs: $(cat /tmp/umount.err)"
fi
bdf=$(basename "$NICFILE_NVME")
# A hang here is the failure this test exists for: bounded, and reported.
if timeout 120 sh -c "echo $bdf > /sys/bus/pci/drivers/nvme/unbind"; then
	ok "unbound $bdf with live MRs"
else
	fail "unbinding $bdf did not finish"
fi
cmb_counters
[ "$(pbc_stat blocks)" = 0 ] && ok "the peer cache holds no block of the removed device" ||
	fail "$(pbc_stat blocks) blocks left in the peer cache"
touch "$R/unbound"
wait_for "$R/client-done" 600 || exit 1
kill "$NFD_PID" 2>/dev/null
wait "$NFD_PID" 2>/dev/null
echo "${FAILS:-0}" > "$R/server-done"
exit $((${FAILS:-0} > 0))
