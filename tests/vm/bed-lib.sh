# tests/vm/bed-lib.sh — what tests/vm/pair and tests/vm/session share
# (sourced on the host): the bed's shape, booting the two VMs, reading their
# consoles, and the verdict of one case.
#
# The caller sets: top, run (the run directory), cmb_mb, pmr_mb, mem, and an
# array qpids; bed_boot_pair adds the two QEMU pids to it.

kdir=$top/build/kernel

bed_fail() { echo "pair: FAIL: $*"; exit 1; }

# The shape of a bed, as a string two beds can be compared by.
bed_shape() { echo "cmb_mb=$cmb_mb pmr_mb=$pmr_mb mem=$mem"; }

# Check the device-memory sizes (after bed_devmem_override); prints the
# complaint and returns 1 when one is wrong.
bed_check_devmem() {
	local what n
	for what in cmb pmr; do
		[ $what = cmb ] && n=$cmb_mb || n=$pmr_mb
		[ "$n" = 0 ] && continue
		[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ $((n & (n - 1))) = 0 ] ||
			{ echo "--$what-mb must be a power of two >= 2 (QEMU's rule), got '$n'"; return 1; }
	done
}

# NICFILE_DEVMEM=pmr runs a bed's device memory as a PMR instead of a CMB:
# a bed with a CMB of N MiB (and no PMR) gets a PMR of N MiB and no CMB, so
# that the CMB tests run on PMR-only beds of the same sizes
# (NICFILE_DEVMEM=pmr tests/run cmb-).  Beds without a CMB stay as they are.
# Applied by tests/vm/pair and tests/vm/session alike, after their options.
bed_devmem_override() {
	case ${NICFILE_DEVMEM:-cmb} in
	cmb) ;;
	pmr)
		if [ "$cmb_mb" != 0 ]; then
			[ "$pmr_mb" = 0 ] && pmr_mb=$cmb_mb
			cmb_mb=0
		fi ;;
	*) echo "NICFILE_DEVMEM must be cmb or pmr, got '$NICFILE_DEVMEM'"; return 1 ;;
	esac
}

bed_check_host() {
	command -v qemu-system-x86_64 >/dev/null || bed_fail "qemu-system-x86_64 not found (run 'make deps')"
	command -v mkfs.xfs >/dev/null || bed_fail "mkfs.xfs not found (run 'make deps')"
	[ -f "$kdir/bzImage" ] && [ -f "$kdir/release" ] || bed_fail "no kernel in $kdir (run 'make kernel')"
	local krel
	krel=$(cat "$kdir/release")
	[ -d "$kdir/modules/lib/modules/$krel" ] || bed_fail "no modules for $krel in $kdir (run 'make kernel')"
	case "$top" in *[[:space:]]*) bed_fail "the repository path must not contain spaces: $top" ;; esac
}

# Boot the server and the client VM with the run directory $run.
# bed_boot_pair SESSION(0|1) CLIENT_DELAY
bed_boot_pair() {
	local session=$1 client_delay=$2 p_srv p_cli
	# The NVMe namespace: a sparse image formatted on the host (fast; the
	# guest only mounts it).
	truncate -s 1G "$run/nvme.img" && mkfs.xfs -q -f "$run/nvme.img" || bed_fail "cannot make the XFS image"
	# Two free UDP ports on loopback for the point-to-point link.
	read -r p_srv p_cli < <(python3 -c '
import socket
s=[socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])') || bed_fail "cannot find free UDP ports"
	local role ip
	for role in server client; do
		[ $role = server ] && ip=192.0.2.1 || ip=192.0.2.2
		{
			printf 'NICFILE_ROLE=%q\n' "$role"
			printf 'NICFILE_RUN=%q\nNICFILE_REPO=%q\n' "$run" "$top"
			printf 'NICFILE_MODDIR=%q\nNICFILE_MY_IP=%q\n' "$kdir/modules" "$ip"
			printf 'SERVER_IP=192.0.2.1\nCLIENT_IP=192.0.2.2\nRXE_DEV=rxe0\n'
			printf 'NICFILE_CLIENT_DELAY=%q\n' "$client_delay"
			printf 'NICFILE_SESSION_MODE=%q\n' "$session"
			# The server's device memory, in MiB (0: none).
			printf 'NICFILE_CMB_MB=%q\nNICFILE_PMR_MB=%q\n' "$cmb_mb" "$pmr_mb"
			[ "$role" = server ] && printf 'NICFILE_MNT=/mnt\n'
		} > "$run/$role.env"
	done
	local nvme=(-drive "file=$run/nvme.img,if=none,id=nvm,format=raw,cache=unsafe")
	local dev="nvme,serial=nicfile0,drive=nvm"
	[ "$cmb_mb" != 0 ] && dev+=",cmb_size_mb=$cmb_mb"
	# The PMR: RAM-backed (nothing relies on it persisting), in BAR 4 of
	# the guest.
	if [ "$pmr_mb" != 0 ]; then
		nvme+=(-object "memory-backend-ram,id=pmr0,size=${pmr_mb}M")
		dev+=",pmrdev=pmr0"
	fi
	nvme+=(-device "$dev")
	[ -n "${NICFILE_BOOTS:-}" ] && echo "$(bed_shape) $run" >> "$NICFILE_BOOTS"
	_bed_boot server 52:54:00:6e:66:01 "$p_srv" "$p_cli" "${nvme[@]}"
	_bed_boot client 52:54:00:6e:66:02 "$p_cli" "$p_srv"
}

_bed_boot() { # role mac localport peerport [extra qemu args...]
	local role=$1 mac=$2 lport=$3 pport=$4
	shift 4
	# acpi=noirq: routing INTx through ACPI link objects costs ~10 s of AML
	# interpretation under TCG; the PIRQ table does the same at once.
	# no_timer_check: a loaded host makes TCG miss the IO-APIC timer check,
	# which then panics the guest at boot.
	qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
		-smp 1 -m "$mem" \
		-kernel "$kdir/bzImage" \
		-append "console=ttyS0 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro init=$top/tests/vm/guest-init panic=-1 oops=panic acpi=noirq no_timer_check nvme.use_cmb_sqes=0 nicfile_run=$run nicfile_role=$role" \
		-serial "file:$run/$role.console" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$run,mount_tag=nicfile_run,security_model=none" \
		-netdev "socket,id=n0,udp=127.0.0.1:$pport,localaddr=127.0.0.1:$lport" \
		-device "virtio-net-pci,netdev=n0,mac=$mac" \
		"$@" > "$run/$role.qemu" 2>&1 &
	qpids+=($!)
}

# Anything in a kernel log that is a warning, lockdep report, BUG or oops.
bed_splat_re='WARNING:|BUG:|BUG kernel|kernel BUG|Oops|general protection fault|Call Trace:|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|INFO: task .* blocked|soft lockup|hard LOCKUP|Kernel panic|UBSAN:|KASAN:|Unable to handle|list_add corruption|list_del corruption'

# The first offending line of a console text on stdin, if any.
bed_splat() { tr -d '\r' | grep -a -E -m1 "$bed_splat_re"; }

# The verdict of one case from the two commands' results and the consoles.
# bed_reason SERVER_RC CLIENT_RC TIMED_OUT(0|1|seconds) SERVER_SPLAT CLIENT_SPLAT
# -> prints the reason it failed, or nothing when it passed.
bed_reason() {
	local srv_rc=$1 cli_rc=$2 timed_out=$3 s_splat=$4 c_splat=$5
	if [ -n "$s_splat" ]; then
		echo "kernel problem in the server VM: ${s_splat:0:200}"
	elif [ -n "$c_splat" ]; then
		echo "kernel problem in the client VM: ${c_splat:0:200}"
	elif [ "$timed_out" != 0 ]; then
		echo "timeout after ${timed_out}s (server rc ${srv_rc:-none}, client rc ${cli_rc:-none})"
	elif [ -z "$cli_rc" ]; then
		echo "the client VM stopped without a result"
	elif [ -z "$srv_rc" ]; then
		echo "the server VM stopped without a result"
	elif [ "$cli_rc" != 0 ]; then
		echo "client command exited with status $cli_rc (server: ${srv_rc})"
	elif [ "$srv_rc" != 0 ] && [ "$srv_rc" != term ]; then
		echo "server command exited with status $srv_rc"
	fi
}
