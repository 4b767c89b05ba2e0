#!/usr/bin/env bash
# resync_userspace.sh - no lost state when the data plane restarts.
#
# Two racoon2 hosts in network namespaces (r2y-PID-a, r2y-PID-b), each
# running r2espd (userspace ESP over TUN) + spmd + iked with
# `interface { kernel userspace; };`, a tunnel-mode IPv4 policy between
# 203.0.113.1 (a) and 203.0.113.129 (b).  Traffic brings the tunnel up.
# Then, for each host in turn (a: the initiator, b: the responder):
#   kill -9 its r2espd and start it again (it comes back empty);
#   the userspace backend reconnects, sees a new r2espd instance in the
#   HELLO reply and gives spmd and iked one KEV_RESYNC each;
#   spmd puts back every policy under its old index (r2espctl pol show
#   shows the same set as before), r2espd routes the remote selector into
#   its TUN device again; iked finds its CHILD SA's SAs gone and rekeys it
#   (CREATE_CHILD_SA), so both r2espd hold two SAs again;
#   the ping works again within a few seconds, spmd and iked never
#   stopped, and spmdctl status counts the resync.
# Finally spmd and iked still remove exactly what they (re)installed when
# they stop.
#
#   resync_userspace.sh [BUILD_DIR]
# Prints PASS/FAIL lines (SKIP and exit 77 without root or binaries); exit
# status 1 on any failure.  Namespaces and processes are always cleaned up
# (tests/lib/netns.sh).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${R2_BUILD:-$TOP/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "SKIP: resync_userspace (no build dir)"; exit 77; }

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/racoon2.sh"
netns_init r2y resync_userspace
need_cmd ping python3

r2_us_bins "$BUILD"
[ -x "$ESPD" ] || ESPD=$BUILD/tests/unit/esp/r2espd
[ -x "$ESPCTL" ] || ESPCTL=$BUILD/tests/unit/esp/r2espctl
r2_need_bins resync_userspace "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"

IA=203.0.113.1
IB=203.0.113.129
ns_add a
ns_add b
ns_link a vA b vB
ns_addr a vA 198.51.100.1/24
ns_addr b vB 198.51.100.2/24
ns_addr a lo $IA/32
ns_addr b lo $IB/32
printf 'resync-test-psk-%s\n' "$$" >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"

# conf HOST MY_GW PEER_GW MY_NET PEER_NET
conf() {
	local h=$1 d=$TEST_DIR/$1
	mkdir -p "$d"
	r2_us_tunnel_conf "$h" me="$2" peer="$3" mynet="$4" peernet="$5" \
		psk="$TEST_DIR/psk" spmif="$d/spmif" >"$d/racoon2.conf"
}
conf a 198.51.100.1 198.51.100.2 203.0.113.0/25 203.0.113.128/25
conf b 198.51.100.2 198.51.100.1 203.0.113.128/25 203.0.113.0/25

ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
spmctl() { local h=$1; shift; ns_exec "$h" "$SPMDCTL" -s "$TEST_DIR/$h/spmif" "$@"; }
espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }

start_espd() {
	local h=$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" \
		-s "$TEST_DIR/$h/r2espd.sock" -i r2tun0
	wait_for "espctl $h stats" 5
}

# spmd and iked find their host's r2espd through the environment.
start_host() {
	local h=$1 d=$TEST_DIR/$1
	export RACOON2_ESPD_SOCKET=$d/r2espd.sock
	start_espd "$h" || return 1
	start_bg "spmd-$h" ip netns exec "$(ns "$h")" "$SPMD" -F -d \
		-f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S $d/spmif" 5 || return 1
	start_bg "iked-$h" ip netns exec "$(ns "$h")" "$IKED" -F -d \
		-f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" -K "$d/keys"
	wait_for "ikectl $h ping" 5 || return 1
	wait_for "grep -q 'registered with spmd' $TEST_DIR/iked-$h.log" 5
}

# q HOST PYEXPR : on "ikedctl show sa --json" as d; ike = ESTABLISHED IKE
# SAs, kids = their INSTALLED children.
q() {
	local j
	j=$(ikectl "$1" show sa --json 2>/dev/null) || return 1
	r2_sa_eval "$j" "$2"
}
is() { [ "$(q "$1" "$2")" = "$3" ]; }
up_both() { is a 'len(ike)' 1 && is b 'len(ike)' 1 && is a 'len(kids)' 1 && is b 'len(kids)' 1; }
esp_sas() { espctl "$1" sa show 2>/dev/null | grep -c -i 'spi'; }
# the policy set of a host's r2espd: "index dir selector", sorted
pols() { espctl "$1" pol show 2>/dev/null | awk '{print $2, $4, $5, $7}' | sort; }
ping_ok() { ns_exec a ping -c 2 -i 0.2 -W 1 -I $IA $IB 2>&1 | grep -q ' 0% packet loss'; }
ping_any() { ns_exec a ping -c 1 -W 1 -I $IA $IB >/dev/null 2>&1; }
alive() { bg_alive "spmd-$1" && bg_alive "iked-$1"; }
status_val() { spmctl "$1" status 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }

if ! start_host a || ! start_host b; then
	fail "r2espd, spmd and iked start on both hosts"
	tail -5 "$TEST_DIR"/*.log >&2
	finish
fi
pass "r2espd, spmd and iked running on both hosts"

# The tunnel: traffic raises an ACQUIRE, iked negotiates.
ns_exec a ping -c 4 -i 0.3 -W 2 -I $IA $IB >/dev/null 2>&1
check "tunnel up: IKE ESTABLISHED, CHILD INSTALLED on both" wait_for up_both 8
check "ping through the tunnel" wait_for ping_ok 5

# restart_case HOST : kill -9 HOST's r2espd, start it again, expect
# everything back within a few seconds.
restart_case() {
	local h=$1 o=b before spi_before t0 t1 n other_resyncs
	[ "$h" = b ] && o=a
	other_resyncs=$(grep -c 'resync (' "$TEST_DIR/spmd-$o.log")
	before=$(pols "$h")
	spi_before=$(q "$h" '[c["spi_in"] for c in kids]')
	n=$(printf '%s\n' "$before" | grep -c .)
	[ "$n" -ge 3 ] || fail "$h: r2espd holds the policies before the restart ($n)"
	log "$h: $n policies before the restart: $(echo $before)"

	kill -KILL "$(bg_pid "espd-$h")"
	wait "$(bg_pid "espd-$h")" 2>/dev/null # reaped quietly
	mv "$TEST_DIR/espd-$h.log" "$TEST_DIR/espd-$h.killed.log"
	check "$h: r2espd killed (-9)" wait_for "! espctl $h stats" 2
	t0=$(date +%s%3N)
	start_espd "$h" || fail "$h: r2espd starts again"

	if wait_for "[ \"\$(pols $h)\" = \"\$(printf '%s' \"\$before\")\" ]" 8; then
		t1=$(date +%s%3N)
		pass "$h: spmd put back all $n policies under their old indexes ($((t1 - t0)) ms after the restart)"
	else
		fail "$h: spmd put back the policies (have: $(pols "$h" | tr '\n' ';'), want: $(echo "$before" | tr '\n' ';'))"
	fi
	check "$h: spmd logged the resync" \
		grep -q "resync (r2espd restarted): .* reinstalled" "$TEST_DIR/spmd-$h.log"
	check "$h: r2espd routes the remote selector into its TUN device again" \
		wait_for "ns_exec $h ip route show table all | grep -q r2tun0" 3
	check "$h: iked rekeyed the CHILD SA whose SAs were lost" \
		wait_for "grep -q 'resync (r2espd restarted): 0 CHILD SAs intact, 1 being rekeyed' $TEST_DIR/iked-$h.log" 5
	check "$h: two SAs in each r2espd again" \
		wait_for "[ \"\$(esp_sas a)\" = 2 ] && [ \"\$(esp_sas b)\" = 2 ]" 8
	check "$h: tunnel up on both ends with a new CHILD SA" \
		wait_for "up_both && [ \"\$(q $h '[c[\"spi_in\"] for c in kids]')\" != '$spi_before' ]" 8
	if wait_for ping_any 10; then
		t1=$(date +%s%3N)
		pass "$h: ping works again ($((t1 - t0)) ms after the restart)"
	else
		fail "$h: ping works again"
	fi
	check "$h: ping through the tunnel, no loss" wait_for ping_ok 5
	check "$h: spmd and iked kept running on both hosts" \
		eval "alive a && alive b"
	check "$h: spmdctl status counts the resync" \
		eval "[ \"\$(status_val $h resyncs)\" = 1 ] && [ \"\$(status_val $h resync_reinstalled)\" = $n ]"
	check "$h: the other host's spmd had nothing to resync" \
		eval "[ \"\$(grep -c 'resync (' $TEST_DIR/spmd-$o.log)\" = $other_resyncs ]"
}

restart_case a
restart_case b

# Stopping: what was reinstalled is still removed exactly.
stop_bg iked-a
stop_bg iked-b
check "iked stopped: its SAs left both r2espd" \
	wait_for "[ \"\$(esp_sas a)\" = 0 ] && [ \"\$(esp_sas b)\" = 0 ]" 5
stop_bg spmd-a
stop_bg spmd-b
check "spmd stopped: its reinstalled policies left both r2espd" \
	eval "[ -z \"\$(pols a)\" ] && [ -z \"\$(pols b)\" ]"
if grep -E ' (CRIT|ERR) ' "$TEST_DIR"/spmd-?.log "$TEST_DIR"/iked-?.log >"$TEST_DIR/errors"; then
	fail "no errors in spmd's and iked's logs ($(head -1 "$TEST_DIR/errors"))"
else
	pass "no errors in spmd's and iked's logs"
fi
finish
