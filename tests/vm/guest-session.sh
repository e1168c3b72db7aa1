# tests/vm/guest-session.sh — the guest side of tests/vm/session (sourced by
# guest-init, PID 1, once the VM is set up): run case after case, and after
# each one put back what cases rely on.
#
# Case K lives in $run/cases/K: the host writes server.cmd, client.cmd and
# env, then go; the commands' own $NICFILE_RUN is its subdirectory run/.
# The server runs its command in a process group of its own and, once the
# client's result is there, SIGTERMs it (as in a one-case boot); the client
# starts once the server's command has (server.up). Each writes ROLE.rc: the command's status ("term" for a server ended by that
# SIGTERM), and a second line when the VM could not be cleaned up for more
# cases (it then powers off). abort (from the host, on timeout) stops the
# case's commands.

# Waiting without an exec: under TCG a `sleep` per poll costs the case's
# commands CPU time. fd 9 is a FIFO nobody writes to.
mkfifo /run/nap 2>/dev/null
exec 9<> /run/nap
nap() { read -r -t "${1:-0.2}" -u 9; }

# The pids of user processes other than PID 1 and this shell (kernel threads
# are children of kthreadd, pid 2; zombies are on their way out).
user_procs() {
	local p k v ppid state
	procs=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = 1 ] || [ "$p" = "$BASHPID" ] && continue
		ppid= state=
		while read -r k v; do
			case $k in
			State:) state=${v%% *} ;;
			PPid:) ppid=$v; break ;;
			esac
		done < "/proc/$p/status" 2>/dev/null
		[ -z "$ppid" ] || [ "$ppid" = 0 ] || [ "$ppid" = 2 ] || [ "$state" = Z ] && continue
		procs+=("$p")
	done
}

# Kernel tunables a case may change (and put back only if it ends well):
# their values at boot, written back after every case.
sysctl_paths=(/proc/sys/fs/inotify/max_user_watches
	/proc/sys/fs/inotify/max_user_instances
	/proc/sys/fs/inotify/max_queued_events)
declare -A sysctl_boot=()
for f in "${sysctl_paths[@]}"; do read -r sysctl_boot[$f] < "$f"; done

load_rdma() {
	mp crc32_generic 2>/dev/null
	for m in rdma_rxe ib_uverbs rdma_ucm; do mp "$m" || return 1; done
	rdma link add "$RXE_DEV" type rxe netdev eth0
}

# Put back what the next case relies on; prints why not when it cannot.
restore() {
	local i
	# Every process a case left (daemons it started included).
	kill -KILL -1 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		user_procs
		[ ${#procs[@]} = 0 ] && break
		nap
	done
	if [ ${#procs[@]} != 0 ]; then
		echo "processes that do not die: $(for p in "${procs[@]}"; do tr '\0' ' ' < /proc/$p/cmdline; echo -n "($p); "; done)"
		return 1
	fi
	cd "$NICFILE_REPO" || { echo "no repository"; return 1; }
	local mounted=0 dev mnt rest
	if [ "$role" = server ]; then
		while read -r dev mnt rest; do
			[ "$mnt" = "$NICFILE_MNT" ] && mounted=1
		done < /proc/mounts
		[ $mounted = 1 ] || mount -t xfs /dev/nvme0n1 "$NICFILE_MNT" ||
			{ echo "the XFS is not mounted and does not mount"; return 1; }
		rm -rf "$NICFILE_MNT"/* "$NICFILE_MNT"/.[!.]* /tmp/* /tmp/.[!.]* /dev/shm/* 2>/dev/null
		[ -z "$(shopt -s nullglob dotglob; echo "$NICFILE_MNT"/*)" ] ||
			{ echo "cannot empty $NICFILE_MNT"; return 1; }
		chmod 1777 "$NICFILE_MNT"
	else
		rm -rf /tmp/* /tmp/.[!.]* /dev/shm/* 2>/dev/null
	fi
	local f
	for f in "${!sysctl_boot[@]}"; do
		echo "${sysctl_boot[$f]}" > "$f" || { echo "cannot put $f back"; return 1; }
	done
	sync
	echo 3 > /proc/sys/vm/drop_caches
	[ -e "/sys/class/infiniband/$RXE_DEV" ] || load_rdma > /dev/null 2>&1 ||
		{ echo "cannot bring $RXE_DEV back"; return 1; }
	return 0
}

# End case K: clean up, mark the end in the kernel log, write the result.
case_end() { # dir k rc
	local why
	why=$(restore)
	log "case $2 end"
	printf '%s\n%s\n' "$3" "$why" | sed '/^$/d' > "$1/$role.rc.tmp" && mv "$1/$role.rc.tmp" "$1/$role.rc"
	[ -z "$why" ] || { log "cannot clean up after case $2: $why"; finish unfit; }
}

case_server() { # dir k
	local d=$1 pid termed=0 killed=0 rc p
	setsid bash -c "$(< "$d/server.cmd")" >> "$d/server.out" 2>&1 < /dev/null 9>&- &
	pid=$!
	: > "$d/server.up"
	while kill -0 "$pid" 2>/dev/null; do
		if [ $termed = 0 ] && { [ -f "$d/client.rc" ] || [ -f "$d/abort" ] || [ -f "$run/client.exited" ]; }; then
			kill -TERM -- -"$pid" 2>/dev/null
			termed=$SECONDS
		elif [ $termed != 0 ] && [ $((SECONDS - termed)) -ge 30 ]; then
			# SIGKILL did not end it: stuck in the kernel. Say where,
			# and leave it to restore(), which retires this VM.
			{
				echo "pair: server command still alive 20 s after SIGKILL:"
				for p in /proc/[0-9]*; do
					[ "$(cut -d' ' -f5 "$p/stat" 2>/dev/null)" = "$pid" ] || continue
					echo "pair:   pid ${p#/proc/} state $(cut -d' ' -f3 "$p/stat") wchan $(cat "$p/wchan" 2>/dev/null): $(tr '\0' ' ' < "$p/cmdline")"
					sed 's/^/pair:     /' "$p/stack" 2>/dev/null
				done
			} >> "$d/server.out"
			break
		elif [ $termed != 0 ] && [ $((SECONDS - termed)) -ge 10 ] && [ "$killed" = 0 ]; then
			echo "pair: server command ignored SIGTERM for 10 s; killed" >> "$d/server.out"
			kill -KILL -- -"$pid" 2>/dev/null
			killed=1
		fi
		nap
	done
	if kill -0 "$pid" 2>/dev/null; then
		rc=stuck
	else
		wait "$pid" 2> /dev/null
		rc=$?
	fi
	[ $termed != 0 ] && [ $rc = 143 ] && rc=term
	case_end "$d" "$2" "$rc"
}

case_client() { # dir k
	local d=$1 pid rc
	until [ -f "$d/server.up" ]; do
		[ -f "$d/abort" ] && { case_end "$d" "$2" aborted; return; }
		nap
	done
	nap "$NICFILE_CLIENT_DELAY"
	bash -c "$(< "$d/client.cmd")" >> "$d/client.out" 2>&1 < /dev/null 9>&- &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		[ -f "$d/abort" ] && kill -KILL "$pid" 2>/dev/null
		nap
	done
	wait "$pid" 2> /dev/null
	rc=$?
	[ -f "$d/abort" ] && rc="aborted ($rc)"
	case_end "$d" "$2" "$rc"
}

session_loop() {
	local k=1 d base_run=$run
	: > "$run/$role.ready"
	while :; do
		d=$base_run/cases/$k
		until [ -f "$d/go" ]; do
			[ -f "$base_run/stop" ] && finish 0
			nap
		done
		# shellcheck disable=SC1091
		. "$d/env"
		log "case $k begin"
		NICFILE_RUN=$d/run "case_$role" "$d" "$k"
		k=$((k + 1))
	done
}
