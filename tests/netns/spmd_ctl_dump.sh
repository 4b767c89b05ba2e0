#!/bin/bash
# spmd_ctl_dump.sh - spmd's control dump at scale (issue 14): with 20,000
# static policies, `spmdctl policy show all` lists every one (before the
# per-client queue, lib/outq.h, spmd hung up once 256 KiB were unread and
# the dump failed); a client that asks for a dump and never reads keeps
# its answer queued while another client is answered within 1 s; one
# that pipelines POLICY DUMPs and never reads is disconnected with a
# logged reason once a second answer would pile up behind the first.
#
# usage: spmd_ctl_dump.sh [BUILD_DIR]   (root; namespaces r2sd-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
SPMD=$BUILD/src/spm/spmd
SPMDCTL=$BUILD/src/spm/spmdctl
PAIRS=10000

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/topo.sh"
netns_init r2sd spmd_ctl_dump
need_cmd python3 timeout
[ -x "$SPMD" ] && [ -x "$SPMDCTL" ] || skip_all "spmd_ctl_dump: spmd not built in $BUILD"

ns_add a
# PAIRS host-to-host selector pairs in 2001:db8::/32, transport ESP
spmd_pairs_conf "$TEST_DIR" "$PAIRS"
SOCK=$TEST_DIR/spmif
ctl() { ns_exec a "$SPMDCTL" -s "$SOCK" "$@"; }
start_bg spmd ip netns exec "$(ns a)" "$SPMD" -F -f "$TEST_DIR/racoon2.conf" -p "$TEST_DIR/spmd.pid"
wait_for "ctl status >/dev/null 2>&1" 60 || { fail "spmd did not start"; finish; }

n=$(ctl policy show all | grep -c '^static')
[ "$n" = $((2 * PAIRS)) ] && pass "policy show lists all $n policies" ||
	fail "policy show lists $n of $((2 * PAIRS)) policies"

# stalled.py PATH READY N: a client that asks for N dumps at once and
# never reads
cat >"$TEST_DIR/stalled.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"POLICY DUMP\n" * int(sys.argv[3]))
open(sys.argv[2], "w").close()
time.sleep(10)
PY
stalled() { # NAME N
	start_bg "$1" ip netns exec "$(ns a)" python3 "$TEST_DIR/stalled.py" "$SOCK" "$TEST_DIR/$1.ready" "$2"
	wait_for "[ -e '$TEST_DIR/$1.ready' ]" 10 ||
		{ fail "the stalled client $1 did not start"; cat "$TEST_DIR/$1.log" >&2; }
}
stalled one 1
# spmd builds a dump in one go (tens of ms per 1,000 policies): wait that
# out with an untimed query, then time one while the answer waits unread
ctl status >/dev/null 2>&1
t0=$(date +%s%3N)
if timeout 1 ip netns exec "$(ns a)" "$SPMDCTL" -s "$SOCK" status >/dev/null 2>&1; then
	pass "a client that never reads its dump: another client's status answered in $(($(date +%s%3N) - t0)) ms (< 1 s)"
else
	fail "a client that never reads its dump: another client's status not answered within 1 s"
fi
check "that client's unread answer is held (it is not disconnected)" \
	eval "! grep -q 'octets of output unread; disconnected' '$TEST_DIR/spmd.log'"
stalled three 3
check "a client that asks for three dumps at once and never reads is disconnected with a logged reason" \
	wait_for "grep -q 'octets of output unread; disconnected' '$TEST_DIR/spmd.log'" 10
stop_bg one TERM 5
stop_bg three TERM 5
check "spmd alive" bg_alive spmd
n=$(ctl policy show all | grep -c '^static')
[ "$n" = $((2 * PAIRS)) ] && pass "policy show still lists all $n policies" ||
	fail "policy show then lists $n of $((2 * PAIRS)) policies"
finish
