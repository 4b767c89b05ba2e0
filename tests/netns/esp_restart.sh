#!/bin/bash
# esp_restart.sh - r2espd restarts and what depends on it:
#   - a long-running client of the "userspace" kernel backend (r2espctl
#     events, the same event_fd/event_read code spmd and iked use) sees
#     the connection drop and reconnects by itself: an ACQUIRE raised by
#     the new r2espd reaches it;
#   - the restarted r2espd starts empty (nothing replayed), and works
#     again once SAs and policies are installed;
#   - no route survives r2espd (SIGTERM and SIGKILL), and routes left on a
#     persistent TUN device are removed when r2espd attaches to it;
#   - clear errors: a second r2espd on a live control socket is refused
#     without disturbing the first; one on a busy TUN name says so.
#
# usage: esp_restart.sh [BUILD_DIR]   (root; namespaces r2p-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
BIN=$BUILD/src/kernel/userspace
[ -x "$BIN/r2espd" ] || BIN=$BUILD/tests/unit/esp

. "$TOP/tests/lib/netns.sh"
netns_init r2p esp_restart
need_cmd ping
[ -x "$BIN/r2espd" ] || skip_all "esp_restart: r2espd not built in $BUILD"

ns_add a; ns_add b
ns_link a vA b vB
ns_addr a vA 198.51.100.1/24; ns_addr b vB 198.51.100.2/24
ns_addr a lo 203.0.113.1/32; ns_addr b lo 203.0.113.2/32
ns_addr a lo 203.0.113.21/32

ctl() { local h=$1; shift; ns_exec "$h" "$BIN/r2espctl" -s "$TEST_DIR/$h.sock" "$@"; }
# CBC + HMAC: this test adds the same static keys again after each
# restart, which with an AEAD key would reuse nonces (r2espctl refuses)
K=000102030405060708090a0b0c0d0e0f
A=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

espd_start() { # HOST [options]
	local h=$1; shift
	start_bg espd-$h ip netns exec "$(ns $h)" "$BIN/r2espd" -u \
		-s "$TEST_DIR/$h.sock" "$@"
	wait_for "ctl $h stats" 5
}
# tunnel state of one host (SAs both ways, policies both ways)
setup() { # HOST
	local h=$1 l=1 r=2
	[ $h = b ] && l=2 r=1
	ctl $h sa add src 198.51.100.1 dst 198.51.100.2 spi 0x1000 reqid 1 enc aes-cbc-128 key $K auth sha256 akey $A &&
	ctl $h sa add src 198.51.100.2 dst 198.51.100.1 spi 0x1001 reqid 1 enc aes-cbc-128 key $K auth sha256 akey $A &&
	ctl $h pol add dir out src 203.0.113.$l dst 203.0.113.$r tsrc 198.51.100.$l tdst 198.51.100.$r reqid 1 &&
	ctl $h pol add dir in src 203.0.113.$r dst 203.0.113.$l tsrc 198.51.100.$r tdst 198.51.100.$l reqid 1
} >/dev/null
# The peer's SAs still hold the old replay window (anti-replay works: a
# restarted sender starts at sequence number 1 again), so the peer gets
# fresh SAs too, as a new negotiation would give it.
resetup() { # HOST (restarted)
	local o=b
	[ $1 = b ] && o=a
	ctl $o sa del dst 198.51.100.2 spi 0x1000 &&
	ctl $o sa del dst 198.51.100.1 spi 0x1001 &&
	ctl $o flush && setup $o && setup $1
}
ping_ok() { ns_exec a ping -q -c 2 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1; }
our_routes() { # HOST: routes r2espd installed (rtm_protocol 0x9a = 154)
	{ ip -n "$(ns $1)" route show proto 154; ip -n "$(ns $1)" -6 route show proto 154; } 2>/dev/null
}
no_routes() { [ -z "$(our_routes "$1")" ]; }

check "r2espd started in both hosts" eval 'espd_start a && espd_start b'
check "tunnel set up" eval 'setup a && setup b'
check "ping through the tunnel" ping_ok
check "route into r2tun0 installed" test -n "$(our_routes a)"

# a long-lived backend client subscribed to events
start_bg evmon ip netns exec "$(ns a)" "$BIN/r2espctl" -s "$TEST_DIR/a.sock" events 60
sleep 0.5

# ---- clear errors, the running daemon undisturbed ----
out=$(ns_exec a "$BIN/r2espd" -u -s "$TEST_DIR/a.sock" -i r2tun9 2>&1)
rc=$?
check "second r2espd on a live control socket refused" \
	eval '[ $rc -ne 0 ] && grep -q "another r2espd is serving" <<<"$out"'
out=$(ns_exec a "$BIN/r2espd" -s "$TEST_DIR/a2.sock" 2>&1)
rc=$?
check "second r2espd on a busy TUN name: error names the cause" \
	eval '[ $rc -ne 0 ] && grep -q "choose a name with -i" <<<"$out" && [ ! -S $TEST_DIR/a2.sock ]'
check "first r2espd still serves its clients and traffic" \
	eval 'ctl a pol show | grep -q "dir out" && ping_ok && test -n "$(our_routes a)"'

# ---- SIGTERM restart ----
stop_bg espd-a TERM 5
check "SIGTERM: no route left behind" no_routes a
check "SIGTERM: TUN device gone" eval '! ip -n "$(ns a)" link show r2tun0 >/dev/null 2>&1'
check "backend client saw the event connection drop" \
	wait_for "grep -q 'closed the event connection' '$TEST_DIR/evmon.log'" 5
espd_start a
check "restarted r2espd starts empty (nothing replayed)" \
	eval '[ -z "$(ctl a pol show)" ] && [ -z "$(ctl a sa show)" ] && no_routes a'
check "tunnel works again once re-installed" eval 'resetup a && ping_ok'
# The monitor retries every second; then an ACQUIRE must reach it.
sleep 1.5
ctl a pol add dir out src 203.0.113.21 dst 203.0.113.22 tsrc 198.51.100.1 \
	tdst 198.51.100.2 reqid 9 >/dev/null
ns_exec a ping -c 1 -W 1 -I 203.0.113.21 203.0.113.22 >/dev/null 2>&1
check "backend client reconnected: ACQUIRE from the new r2espd received" \
	wait_for "grep -q 'ACQUIRE policy' '$TEST_DIR/evmon.log'" 5

# ---- SIGKILL: no chance to clean up ----
p=$(bg_pid espd-a)
kill -KILL "$p"
wait "$p" 2>/dev/null
# The worker follows its parent (PR_SET_PDEATHSIG, a moment later); until
# it has gone it still answers on the control socket, and a new r2espd
# rightly refuses to start beside it.
check "SIGKILL: the worker follows its parent (control socket closed)" \
	wait_for "! ctl a stats >/dev/null 2>&1" 5
check "SIGKILL: no route left behind (they went with the TUN device)" \
	wait_for "no_routes a" 3
espd_start a
check "restart after SIGKILL: no stale route, tunnel works once re-installed" \
	eval 'no_routes a && resetup a && ping_ok'

# ---- persistent TUN device with stale routes ----
stop_bg espd-a TERM 5
ip -n "$(ns a)" tuntap add dev r2tun0 mode tun vnet_hdr
ip -n "$(ns a)" link set r2tun0 up
ip -n "$(ns a)" route add 203.0.113.77/32 dev r2tun0 proto 154
ip -n "$(ns a)" route add 203.0.113.78/32 dev vA proto 154 # not on our device
espd_start a
check "stale route on a persistent TUN device removed at start" \
	eval '! ip -n "$(ns a)" route show | grep -q 203.0.113.77 &&
	      grep -q "removed 1 stale route" "$TEST_DIR/espd-a.log"'
check "route through another device kept" \
	eval 'ip -n "$(ns a)" route show | grep -q 203.0.113.78'
ip -n "$(ns a)" route del 203.0.113.78/32 dev vA 2>/dev/null
check "persistent TUN device works" eval 'resetup a && ping_ok'
stop_bg espd-a TERM 5
check "SIGTERM with a persistent device: its routes removed" no_routes a
ip -n "$(ns a)" tuntap del dev r2tun0 mode tun 2>/dev/null

finish
