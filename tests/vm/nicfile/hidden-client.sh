#!/usr/bin/env bash
# Client side of nicfile-change-hidden.
. tests/vm/nicfile/common.sh
wait_for "$R/server-ready" || exit 1
for f in mapped written; do
	build/tests/nicfile-open-wait "$SERVER_IP" "x/$f" "$R/$f-opened" "$R/$f-changed"; rc=$?
	case $rc in
	0) ok "$f: changed after OPEN: the read says -ESTALE" ;;
	1) fail "$f: the read returned the changed data; only an explicit validate noticed" ;;
	3) fail "$f: changed data read and validated as unchanged" ;;
	*) fail "$f: status $rc" ;;
	esac
done
touch "$R/hidden-done"
echo "failures: ${FAILS:-0}"
[ "${FAILS:-0}" = 0 ]
