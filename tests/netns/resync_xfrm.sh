#!/usr/bin/env bash
# resync_xfrm.sh - an overflowing XFRM event socket is not silent.
#
# In a namespace r2y-PID-x: a transport-mode policy 198.51.100.0/24 ->
# 203.0.113.0/24 requiring ESP.  kxfrm-tool events-overflow opens the XFRM
# backend with events, shrinks the socket's receive queue to the kernel's
# minimum and does not read while UDP packets to 100 different
# destinations raise 100 ACQUIREs.  The queue overflows (ENOBUFS); the
# backend must deliver exactly one KEV_RESYNC (reason "event overflow")
# for the burst, and the events that did fit are still delivered.
#
#   resync_xfrm.sh [BUILD_DIR]      (root; PASS/FAIL lines; exit 1 on FAIL)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${R2_BUILD:-$TOP/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "SKIP: resync_xfrm (no build dir)"; exit 77; }
TOOL=$BUILD/src/kernel/kxfrm-tool

. "$TOP/tests/lib/netns.sh"
netns_init r2y resync_xfrm
[ -x "$TOOL" ] || skip_all "resync_xfrm: $TOOL not built"

ns_add x
ns_add y
ns_link x vX y vY
ns_addr x vX 198.51.100.1/24
ns_addr y vY 198.51.100.2/24
ns_route x 203.0.113.0/24 198.51.100.2
ns_exec x ip xfrm policy add src 198.51.100.0/24 dst 203.0.113.0/24 \
	dir out tmpl proto esp mode transport level required ||
	fail "policy installed"
# no larval-state wait: every packet without SA raises its ACQUIRE
ns_exec x sysctl -qw net.core.xfrm_larval_drop=1 2>/dev/null

ns_exec x "$TOOL" events-overflow 1500 5000 >"$TEST_DIR/ev" 2>&1 &
tool=$!
wait_for "grep -q ready $TEST_DIR/ev" 5 || fail "kxfrm-tool ready"
ns_exec x bash -c 'for i in $(seq 1 100); do
	echo x 2>/dev/null >/dev/udp/203.0.113.$i/9
done' 2>/dev/null
wait $tool
rc=$?
check "event queue overflow is reported as one RESYNC (event overflow)" \
	eval "[ $rc = 0 ] && [ \"\$(grep -c '^RESYNC reason=event overflow' $TEST_DIR/ev)\" = 1 ]"
n=$(grep -c '^ACQUIRE' "$TEST_DIR/ev")
check "the ACQUIREs that fitted are still delivered ($n of 100)" \
	eval "[ $n -ge 1 ] && [ $n -lt 100 ]"
finish
