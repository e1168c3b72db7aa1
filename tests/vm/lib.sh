# Helpers for tests/vm/*.test (sourced).  Each test boots one pair.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pair=$top/tests/vm/pair
cd "$top" || exit 1

# A perftest client command that retries until the server listens (the server
# VM may still be starting its side when the client begins).
retry_client() { # "CMD" -> shell text
	printf 'for i in $(seq 60); do %s && exit 0; rc=$?; sleep 1; done; echo "client: gave up after 60 tries"; ip neigh; ip -s link show eth0; exit $rc' "$1"
}

# Run one perftest tool between the VMs: perftest_pair TOOL ARGS...
perftest_pair() {
	local tool=$1; shift
	"$pair" --timeout 300 --server "tests/vm/perftest-server $tool -d \$RXE_DEV $*" \
		--client "$(retry_client "$tool -d \$RXE_DEV $* \$SERVER_IP")"
}
