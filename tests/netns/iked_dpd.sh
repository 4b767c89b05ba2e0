#!/usr/bin/env bash
# iked_dpd.sh - IKEv2 liveness checks (RFC 7296 §2.4, dpd_delay) between
# two racoon2 hosts, on the coarse timers of the loop's wheel (the check,
# its retransmissions and the SA lifetimes, src/lib/ev.h).
#
# Hosts a and b as tests/netns/robust_ike.sh (r2espd + spmd + iked each,
# max_retry_to_send 3, interval_to_send 1 sec); a has dpd_delay 2 sec.
#   - idle: a sends empty INFORMATIONAL requests, b answers them ("peer
#     alive" on a), the SAs stay, traffic passes;
#   - authenticated traffic from b (CHILD SA rekeys every 0.7 s) is a
#     sign of life: a sends no check while it hears b (§2.4: only when
#     nothing was heard for dpd_delay);
#   - b's iked killed (SIGKILL): a's check goes unanswered, is
#     retransmitted, and a gives up ("peer not responding") and removes
#     the IKE SA and its CHILD SA within dpd_delay + the back-off.
#
#   iked_dpd.sh [BUILD_DIR]        (default $R2_BUILD or ./build)
# PASS/FAIL lines; exit 1 on any failure; SKIP without root or binaries.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init iked_dpd "${1:-}"

rb_setup extra=$'\t\tdpd_delay 2 sec;\n'
pass "r2espd, spmd, iked running on a and b"
check "IKE and CHILD SA established (ikedctl initiate)" rb_up || rb_finish
check "traffic passes the tunnel" rb_ping_ok

LOGA=$TEST_DIR/iked-a.log
rb_ike a log debug ike >/dev/null # "peer alive" is a debug line
alive() { grep -c 'peer alive' "$LOGA" 2>/dev/null || true; }

# Idle: checks every ~2-2.2 s (dpd_delay + up to 10 % jitter).
A0=$(alive)
sleep 7
A1=$(alive)
log "checks answered while idle for 7 s: $((A1 - A0))"
check "a checks b while the SA is idle (>= 2 answered in 7 s)" \
	[ $((A1 - A0)) -ge 2 ]
check "no more than one check per dpd_delay (<= 5 in 7 s)" \
	[ $((A1 - A0)) -le 5 ]
check "SAs still up on both hosts" rb_both_up
check "traffic still passes" rb_ping_ok

# b talks (authenticated requests a answers): a hears it, so no check.
A2=$(alive)
for i in 1 2 3 4 5 6 7 8; do
	kid=$(rb_q b '[c["id"] for c in kids][0]')
	rb_ike b rekey child "$kid" >/dev/null 2>&1
	sleep 0.7
done
A3=$(alive)
log "checks answered while b rekeyed every 0.7 s for 5.6 s: $((A3 - A2))"
# one check may have been out already when b started
check "no check while b's traffic is heard (<= 1 in 5.6 s)" [ $((A3 - A2)) -le 1 ]
check "SAs up after b's rekeys" wait_for rb_both_up 5

# b dies without a word: a's check is retransmitted and given up,
# within dpd_delay (2.2) + 1 + 2 + 4 + 8 s of back-off.
stop_bg iked-b KILL 5
T0=$(date +%s)
check "a declares b dead and removes its SAs" \
	wait_for "rb_is a 'len(ike)' 0 && rb_is a 'len(kids)' 0" 30
log "a removed the SAs $(($(date +%s) - T0)) s after b died"
check "a retransmitted the unanswered check" grep -q 'retransmit INFORMATIONAL' "$LOGA"
check "a gave up on it (peer not responding)" \
	grep -q -E 'giving up|peer not responding' "$LOGA"
check "iked on a still running" rb_alive a iked
rb_finish
