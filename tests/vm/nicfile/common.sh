# Helpers for the nicfile VM tests (sourced inside the VMs, cwd = repo).
# The run directory $NICFILE_RUN is shared by both VMs and the host: the
# server side leaves flags and expected checksums there for the client.
set -uo pipefail
NF=build/bin/nicfile
NFD=build/bin/nicfiled
R=$NICFILE_RUN

wait_for() { # FILE [SECONDS]: wait until FILE exists (or the server failed)
	local i
	for ((i = 0; i < ${2:-120} * 10; i++)); do
		[ -e "$1" ] && return 0
		[ -e "$R/server-failed" ] && { echo "the server side failed"; return 1; }
		sleep 0.1
	done
	echo "timed out waiting for $1"
	return 1
}

# A big file quick to make under TCG (/dev/urandom gives ~5 MB/s there):
# one random MiB, doubled with a different-length marker between the halves
# each time, so no two MiB-aligned chunks are alike. MIB: a power of two.
make_big() { # PATH MIB
	local a=/tmp/big.a b=/tmp/big.b n=1 k=0
	head -c 1048576 /dev/urandom > "$a"
	while [ $n -lt "$2" ]; do
		{ cat "$a"; printf 'level %d %*s\n' $k $k ''; cat "$a"; } > "$b"
		mv "$b" "$a"
		n=$((n * 2)) k=$((k + 1))
	done
	head -c "$(($2 * 1048576))" "$a" > "$1"
	rm -f "$a"
}

# Start nicfiled in the background, note its pid, wait until it listens.
# Its log goes to server.out, /tmp/nicfiled.log and (appended, for clients
# to wait on) $R/nicfiled.log. nicfiled serves loopback only unless told
# otherwise: the client VM is allowed (--allow $CLIENT_IP) unless NFD_ALLOW
# names other addresses ("none": no --allow at all). It runs as root and
# drops to its --user (nobody); pinned regions then count against
# RLIMIT_MEMLOCK, hence the raised limit (nicfiled(8), SECURITY).
start_nicfiled() { # ARGS...
	local allow=() a
	for a in ${NFD_ALLOW-$CLIENT_IP}; do [ "$a" = none ] || allow+=(--allow "$a"); done
	# A named pipe, not >(...): the guests have no /dev/fd.
	rm -f /tmp/nicfiled.log /tmp/nicfiled.pipe
	mkfifo /tmp/nicfiled.pipe
	tee /tmp/nicfiled.log < /tmp/nicfiled.pipe | tee -a "$R/nicfiled.log" &
	ulimit -l unlimited
	"$NFD" "${allow[@]}" "$@" > /tmp/nicfiled.pipe 2>&1 &
	NFD_PID=$!
	echo "$NFD_PID" > "$R/nicfiled.pid"
	for ((i = 0; i < 300; i++)); do
		grep -q 'listening' /tmp/nicfiled.log 2>/dev/null && break
		kill -0 "$NFD_PID" 2>/dev/null || { sleep 0.5; touch "$R/server-failed"; return 1; }
		sleep 0.1
	done
	touch "$R/server-ready"
}

# Client side: wait until the server's log has registered NAME COUNT times.
# Counted in bash: an exec per poll is slow under TCG.
wait_registered() { # NAME [COUNT]
	local end=$((SECONDS + 120)) log rest n
	while [ $SECONDS -lt $end ]; do
		log=$(< "$R/nicfiled.log") 2>/dev/null
		rest=${log//"registered $1:"/$'\x01'}
		rest=${rest//[!$'\x01']/}
		n=${#rest}
		[ "$n" -ge "${2:-1}" ] && return 0
		sleep 0.2
	done
	echo "the server never registered $1"
	return 1
}

fail() { echo "FAIL: $*"; FAILS=$((${FAILS:-0} + 1)); }
ok() { echo "ok: $*"; }
