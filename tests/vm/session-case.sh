# tests/vm/session-case.sh — run one tests/vm/pair case in a running
# tests/vm/session (sourced by tests/vm/pair, which has parsed the options
# and checked that the session is up and of the shape asked for).
#
# The case gets a directory $sess/cases/K of its own: its commands, the
# commands' output, and the guests' results (server.rc, client.rc); its
# subdirectory run/ is the $NICFILE_RUN of both commands. Each guest writes
# "nicfile-guest: case K begin" and "... case K end" to its kernel log; what
# the kernel printed in between (the guests' clean-up after the case
# included) is the case's.

# Stop the session's VMs: the boot is no longer fit for cases.
session_kill() { # reason
	[ -e "$sess/dead" ] || echo "$1" > "$sess/dead"
	local p
	for p in $(cat "$sess/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
}
session_alive() {
	local p
	[ -e "$sess/dead" ] && return 1
	for p in $(cat "$sess/pids" 2>/dev/null); do kill -0 "$p" 2>/dev/null || return 1; done
}
# The part of ROLE's console that belongs to case K (to its end marker, or
# to the end of the file when the VM died during the case).
case_console() { # role k
	tr -d '\r' < "$sess/$1.console" 2>/dev/null |
		sed -n "/nicfile-guest: case $2 begin\$/,/nicfile-guest: case $2 end\$/p"
}

session_case() {
	local k d start deadline timed_out=0 aborted=0 role srv_rc cli_rc reason
	mkdir -p "$sess/cases"
	k=$(( $(cat "$sess/cases/last" 2>/dev/null || echo 0) + 1 ))
	d=$sess/cases/$k
	mkdir "$d" "$d/run" || fail "cannot create $d"
	echo "$k" > "$sess/cases/last"
	printf '%s\n' "$server_cmd" > "$d/server.cmd"
	printf '%s\n' "$client_cmd" > "$d/client.cmd"
	printf 'NICFILE_CLIENT_DELAY=%q\n' "$client_delay" > "$d/env"
	: > "$d/server.out"
	: > "$d/client.out"
	stream "$d/server.out" server
	stream "$d/client.out" client
	: > "$d/go"
	start=$SECONDS
	deadline=$((start + timeout))
	# Both guests write their result after cleaning up; a timeout first asks
	# them to stop the case (abort), and only ends the boot when they do not.
	while [ ! -f "$d/server.rc" ] || [ ! -f "$d/client.rc" ]; do
		if ! session_alive; then
			break
		elif [ $aborted = 0 ] && [ $SECONDS -ge $deadline ]; then
			timed_out=$timeout aborted=$SECONDS
			: > "$d/abort"
		elif [ $aborted != 0 ] && [ $((SECONDS - aborted)) -ge 60 ]; then
			session_kill "case $k timed out and the VMs did not clean up within 60 s"
			break
		fi
		sleep 0.2
	done
	# The end markers reach the console files a moment after the results.
	for ((i = 0; i < 50; i++)); do
		session_alive || break
		grep -q -a "nicfile-guest: case $k end" "$sess/server.console" 2>/dev/null &&
			grep -q -a "nicfile-guest: case $k end" "$sess/client.console" 2>/dev/null && break
		sleep 0.2
	done
	stop_streams
	srv_rc=$(rc_of "$d/server.rc")
	cli_rc=$(rc_of "$d/client.rc")
	reason=$(bed_reason "$srv_rc" "$cli_rc" "$timed_out" \
		"$(case_console server $k | bed_splat)" "$(case_console client $k | bed_splat)")
	if [ -z "$reason" ] && [ -e "$sess/dead" ]; then
		reason="the session ended during the case: $(cat "$sess/dead")"
	fi
	if [ -n "${NICFILE_CASE_LOG:-}" ]; then
		for role in server client; do
			case_console $role $k >> "$NICFILE_CASE_LOG.$role.console"
		done
	fi
	# A guest that could not restore what cases rely on says so on the second
	# line of its result; the boot then ends after this case.
	for role in server client; do
		if [ "$(sed -n 2p "$d/$role.rc" 2>/dev/null)" != "" ]; then
			echo "pair: the $role VM is unfit for more cases: $(sed -n 2p "$d/$role.rc")"
			session_kill "the $role VM could not clean up after case $k"
		fi
	done
	if [ -n "$reason" ]; then
		for role in server client; do
			echo "pair: last lines of the $role console in this case:"
			case_console $role $k | tail -n 6 | sed 's/^/pair:   /'
		done
		echo "pair: case directory $d (session $sess, case $k)"
		echo "pair: FAIL: $reason"
		return 1
	fi
	[ $keep = 1 ] && echo "pair: case directory kept: $d" || rm -rf "$d"
	echo "pair: ok (server ${srv_rc}, client ${cli_rc}, $((SECONDS - start))s, session case $k)"
	return 0
}
