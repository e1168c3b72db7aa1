# Helpers for the ODP tests (tests/vm/odp-*.test), sourced after lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Skip (77) when a test program has not been built.
need_prog() {
	local p
	for p in "$@"; do
		[ -x "$top/build/tests/$p" ] ||
			{ echo "build/tests/$p is missing (run 'make -f userland.mk')"; exit 77; }
	done
}

# perftest with --odp on both sides: odp_perftest TOOL ARGS...
# (server ARGS may add more through $ODP_SERVER_EXTRA)
odp_perftest() {
	local tool=$1; shift
	"$pair" --timeout 240 \
		--server "${ODP_SERVER_PRE:-}tests/vm/perftest-server $tool -d \$RXE_DEV --odp $* ${ODP_SERVER_EXTRA:-}" \
		--client "$(retry_client "$tool -d \$RXE_DEV --odp $* \$SERVER_IP")"
}

# odp_read_check between the VMs: odp_check 'SERVER ARGS' 'CLIENT ARGS' [pair options]
# The server's file is on the server VM's XFS.
odp_check() {
	local s=$1 c=$2; shift 2
	need_prog odp_read_check
	"$pair" --timeout 240 "$@" \
		--server "build/tests/odp_read_check server --bind \$SERVER_IP --file \$NICFILE_MNT/odp.dat $s" \
		--client "build/tests/odp_read_check client --server \$SERVER_IP $c"
}
