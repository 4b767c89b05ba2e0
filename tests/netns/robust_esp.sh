#!/usr/bin/env bash
# robust_esp.sh - ESP garbage at r2espd (robustness scenario 4).
#
# Hosts a and b (r2espd + spmd + iked, userspace data plane) with an
# established CHILD SA; b's ESP packets to a are recorded while a pings b.
# Then the attacker namespace c sends to a, through raw sockets (some with
# b's address as source): random IP protocol 50 packets, truncated ESP
# (shorter than SPI + sequence number), reserved SPIs, the live inbound
# SPI with junk (bad ICV, every short length), sequence number 0, random
# ESP-in-UDP to port 4500 (unknown SPIs, truncated), and replays of b's
# recorded ESP packets.  Expected: every packet dropped and counted
# (r2espctl stats: malformed, unknown_spi, decap_fail; per-SA replay and
# integrity drops), r2espd alive, the SA unchanged, the tunnel still
# passes traffic without loss, the log rate limited.
#
#   robust_esp.sh [BUILD_DIR]
# PASS/FAIL lines; exit 1 on any failure; SKIP without root or binaries.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init robust_esp "${1:-}"

rb_setup
check "IKE and CHILD SA established" rb_up || finish
check "traffic passes the tunnel" rb_ping_ok

SPI_IN=$(rb_q a '[c["spi_in"] for c in kids][0]')
SA0=$(rb_q a '[c["spi_in"] + c["spi_out"] for c in kids]')
# stat NAME : one counter of "r2espctl stats"
stat() { rb_esp a stats 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
# sa_drops : replay and integrity drops summed over a's SAs
sa_drops() {
	rb_esp a sa show 2>/dev/null | awk '{ for (i = 1; i < NF; i++) {
		if ($i == "replay_drops") r += $(i + 1)
		if ($i == "integrity_drops") g += $(i + 1) } }
		END { printf "%d %d\n", r, g }'
}
rb_esp a stats >"$TEST_DIR/stats0" 2>&1
check "r2espctl stats readable" grep -q -E '^ *esp_rx' "$TEST_DIR/stats0"

# Record b's ESP to a (protocol 50) during a ping.
# The sniffer says when its socket is bound: on a loaded host python's
# start-up can outlast a short ping.
start_bg sniff-esp ip netns exec "$(ns a)" python3 "$RB_HERE/r2fuzz.py" sniff \
	--iface va --out "$TEST_DIR/esp-b2a.hex" --proto 50 --src "$RB_B" --secs 3 \
	--ready "$TEST_DIR/sniff-esp.ready"
wait_for "[ -e '$TEST_DIR/sniff-esp.ready' ]" 10
ns_exec a ping -c 10 -i 0.1 -W 1 -I "$RB_IA" "$RB_IB" >/dev/null 2>&1
wait_for "! bg_alive sniff-esp" 5
NREC=$(wc -l <"$TEST_DIR/esp-b2a.hex" 2>/dev/null || echo 0)
check "recorded b's ESP packets ($NREC)" test "${NREC:-0}" -gt 0

M0=$(stat malformed); U0=$(stat unknown_spi); F0=$(stat decap_fail)
read -r R0 G0 <<<"$(sa_drops)"
L0=$(wc -l <"$TEST_DIR/espd-a.log")
SENT=0
tool_c() {
	local n
	n=$(ns_exec c python3 "$RB_HERE/r2fuzz.py" "$@" 2>>"$TEST_DIR/tool.err" |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get("sent",0))' 2>/dev/null)
	SENT=$((SENT + ${n:-0}))
}

# 1. protocol 50: from c's own address and spoofed from b
tool_c esp --src "$RB_C" --dst "$RB_A" --count 3000 --spi "$SPI_IN" --seed 21
tool_c esp --src "$RB_B" --dst "$RB_A" --count 3000 --spi "$SPI_IN" --seed 22
check "random, truncated and junk ESP (proto 50): r2espd alive" rb_alive a espd
# 2. ESP-in-UDP to 4500 (spoofed from b, and from c)
tool_c esp --udp --src "$RB_B" --dst "$RB_A" --count 2000 --spi "$SPI_IN" --seed 23
tool_c esp --udp --src "$RB_C" --dst "$RB_A" --sport 4500 --count 1000 --seed 24
check "ESP-in-UDP with unknown SPIs and truncated: r2espd and iked alive" \
	eval "rb_alive a espd && rb_alive a iked"
# 3. replays of b's recorded packets, 10 times each
if [ "${NREC:-0}" -gt 0 ]; then
	n=$(ns_exec c python3 "$RB_HERE/r2fuzz.py" replay --in "$TEST_DIR/esp-b2a.hex" \
		--count 10 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["sent"])')
	SENT=$((SENT + ${n:-0}))
fi
sleep 0.3

M1=$(stat malformed); U1=$(stat unknown_spi); F1=$(stat decap_fail)
read -r R1 G1 <<<"$(sa_drops)"
log "sent $SENT bad packets: malformed +$((M1 - M0)), unknown_spi +$((U1 - U0)), decap_fail +$((F1 - F0)), SA replay_drops +$((R1 - R0)), integrity_drops +$((G1 - G0))"
check "truncated ESP counted as malformed (+$((M1 - M0)))" test "$((M1 - M0))" -gt 0
check "unknown SPIs counted (+$((U1 - U0)))" test "$((U1 - U0))" -gt 100
check "junk under the live SPI counted as decap failures (+$((F1 - F0)))" \
	test "$((F1 - F0))" -gt 100
check "replays counted as replay drops on the SA (+$((R1 - R0)))" \
	test "$((R1 - R0))" -ge "${NREC:-1}"
check "bad ICVs counted as integrity drops on the SA (+$((G1 - G0)))" \
	test "$((G1 - G0))" -gt 100
check "r2espd, iked, spmd alive on a" \
	eval "rb_alive a espd && rb_alive a iked && rb_alive a spmd"
check "the CHILD SA is unchanged" \
	eval "[ \"\$(rb_q a '[c[\"spi_in\"] + c[\"spi_out\"] for c in kids]')\" = '$SA0' ]"
check "the tunnel passes traffic without loss" \
	eval "ns_exec a ping -c 20 -i 0.05 -W 1 -I $RB_IA $RB_IB | grep -q ' 0% packet loss'"
NLOG=$(($(wc -l <"$TEST_DIR/espd-a.log") - L0))
check "r2espd's log rate limited ($NLOG lines for $SENT bad packets)" \
	test "$NLOG" -lt 200
# 4. a flood while traffic flows: no loss beyond a few packets
start_bg flood ip netns exec "$(ns c)" python3 "$RB_HERE/r2fuzz.py" esp \
	--src "$RB_B" --dst "$RB_A" --count 20000 --spi "$SPI_IN" --seed 25
OUT=$(ns_exec a ping -c 50 -i 0.02 -W 1 -I "$RB_IA" "$RB_IB" 2>&1)
wait_for "! bg_alive flood" 20
check "tunnel traffic during a 20000-packet ESP garbage flood ($(grep -o '[0-9]*% packet loss' <<<"$OUT"))" \
	grep -q -E ' [0-4]% packet loss' <<<"$OUT"
check "r2espd alive after the flood" rb_alive a espd
check "CHILD rekey still succeeds" eval '
	K=$(rb_q a "[c[\"id\"] for c in kids][0]")
	rb_ike a rekey child "$K" >/dev/null 2>&1
	wait_for "rb_both_up && [ \"\$(rb_q a \"[c[\\\"spi_in\\\"] for c in kids]\")\" != \"$SPI_IN\" ]" 8'
check "traffic passes after the rekey" rb_ping_ok
rb_finish
