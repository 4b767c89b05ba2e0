#!/usr/bin/env bash
# robust_ike.sh - iked under garbage (robustness scenario 1).
#
# Two racoon2 hosts a (198.51.100.1) and b (.2), each r2espd + spmd + iked
# with the userspace data plane, establish an IKE SA and a CHILD SA
# (ikedctl initiate on a).  Then a third namespace c (.3) and b throw bad
# input at a's UDP 500 and 4500 (tests/netns/robust/r2fuzz.py):
# random datagrams (with and without the non-ESP marker), truncated
# headers, absurd header and payload lengths, broken SA/KE/Nonce/Notify
# payloads, wrong versions and exchange types, protected messages for
# unknown SPIs and junk under the live SA's SPIs, marker-only datagrams
# and NAT keepalives, IKE_SA_INIT with an unknown critical payload
# (RFC 7296 §2.5: UNSUPPORTED_CRITICAL_PAYLOAD naming the type, on 500 and
# 4500), replays of b's earlier messages, ike-scan --ikev2 probes, and an
# IKE_SA_INIT flood from 200 source ports of b's address (COOKIE answers,
# §2.6; a cookie echoed back gets a real answer; iked's RSS stays bounded).
# Afterwards: iked alive on both hosts, the same SAs listed, traffic
# through the tunnel, a CHILD rekey succeeds, warnings were rate limited
# (far fewer log lines than bad packets).  Last, a protected INFORMATIONAL
# request carrying an unknown critical payload (built with iked -K keys)
# is answered with UNSUPPORTED_CRITICAL_PAYLOAD.
#
#   robust_ike.sh [BUILD_DIR]        (default $R2_BUILD or ./build)
# PASS/FAIL lines; exit 1 on any failure; SKIP without root or binaries.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init robust_ike "${1:-}"
need_cmd openssl

rb_setup
pass "r2espd, spmd, iked running on a and b"
check "IKE and CHILD SA established (ikedctl initiate)" rb_up || finish
check "traffic passes the tunnel" rb_ping_ok

LOGA=$TEST_DIR/iked-a.log
SPIS=$(rb_q a '[s["spi_i"] + ":" + s["spi_r"] for s in ike]')
SPI_I=${SPIS%%:*}
SPI_R=${SPIS##*:}
KIDS0=$(rb_q a '[c["spi_in"] for c in kids]')

# Record b -> a IKE while b rekeys its CHILD SA: material for replays.
start_bg sniff-ike ip netns exec "$(ns a)" python3 "$RB_HERE/r2fuzz.py" sniff --iface va \
	--out "$TEST_DIR/ike-b2a.hex" --proto 17 --src "$RB_B" --secs 4 \
	--ready "$TEST_DIR/sniff-ike.ready"
wait_for "[ -e '$TEST_DIR/sniff-ike.ready' ]" 10
rb_ike b rekey child "$(rb_q b '[c["id"] for c in kids][0]')" >/dev/null 2>&1
wait_for "! bg_alive sniff-ike" 6
check "CHILD rekey by b before the attack" wait_for rb_both_up 5
KIDS0=$(rb_q a '[c["spi_in"] for c in kids]')
NREC=$(wc -l <"$TEST_DIR/ike-b2a.hex" 2>/dev/null || echo 0)
log "recorded $NREC IKE datagrams from b; IKE SPIs $SPI_I/$SPI_R"

RSS0=$(rb_rss a iked)
L0=$(wc -l <"$LOGA")
SENT=0
add_sent() { # JSON line on stdin: adds its "sent"
	local n
	n=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1]).get("sent",0))' 2>/dev/null)
	SENT=$((SENT + ${n:-0}))
}
T0=$(date +%s)

# 1. random datagrams, port 500 and 4500 (bare and behind the marker)
rb_tool_c() { ns_exec c python3 "$RB_HERE/r2fuzz.py" "$@"; }
rb_tool_c udp --dst "$RB_A" --port 500 --count 1500 --seed 11 >"$TEST_DIR/o.udp500" 2>&1
add_sent <"$TEST_DIR/o.udp500"
rb_tool_c udp --dst "$RB_A" --port 4500 --count 1000 --seed 12 >"$TEST_DIR/o.udp4500" 2>&1
add_sent <"$TEST_DIR/o.udp4500"
rb_tool_c udp --dst "$RB_A" --port 4500 --count 1000 --marker --seed 13 >"$TEST_DIR/o.udp4500m" 2>&1
add_sent <"$TEST_DIR/o.udp4500m"
rb_tool_c udp --dst "$RB_A" --port 500 --count 300 --min 28 --max 40 --seed 14 >"$TEST_DIR/o.udpsmall" 2>&1
add_sent <"$TEST_DIR/o.udpsmall"
check "random datagrams to 500/4500: iked alive" rb_alive a iked

# 2. malformed IKE battery, both ports, with the live SA's SPIs too
rb_tool_c ike-bad --dst "$RB_A" --port 500 --spi-i "$SPI_I" --spi-r "$SPI_R" \
	--repeat 3 >"$TEST_DIR/o.bad500" 2>&1
add_sent <"$TEST_DIR/o.bad500"
rb_tool_c ike-bad --dst "$RB_A" --port 4500 --natt --spi-i "$SPI_I" \
	--spi-r "$SPI_R" --repeat 3 >"$TEST_DIR/o.bad4500" 2>&1
add_sent <"$TEST_DIR/o.bad4500"
log "ike-bad 500: $(cat "$TEST_DIR/o.bad500")"
log "ike-bad 4500: $(cat "$TEST_DIR/o.bad4500")"
check "malformed IKE messages (truncated, absurd lengths, bad payloads, unknown SPIs, marker-only, keepalives): iked alive" \
	rb_alive a iked

# 3. unknown critical payload in IKE_SA_INIT (RFC 7296 §2.5)
check "IKE_SA_INIT with unknown critical payload on 500: UNSUPPORTED_CRITICAL_PAYLOAD naming it" \
	to_file "$TEST_DIR/o.crit500" rb_tool_c ike-crit --dst "$RB_A" --port 500
check "IKE_SA_INIT with unknown critical payload on 4500: UNSUPPORTED_CRITICAL_PAYLOAD naming it" \
	to_file "$TEST_DIR/o.crit4500" rb_tool_c ike-crit --dst "$RB_A" --port 4500 --natt
check "non-critical unknown payload is skipped (answered, not with UNSUPPORTED_CRITICAL_PAYLOAD)" \
	to_file "$TEST_DIR/o.noncrit" rb_tool_c ike-crit --dst "$RB_A" --port 500 \
	--ptype 202 --noncrit
SENT=$((SENT + 3))

# 4. replays of b's recorded messages (spoofed from c, verbatim)
if [ "${NREC:-0}" -gt 0 ]; then
	ns_exec c python3 "$RB_HERE/r2fuzz.py" replay --in "$TEST_DIR/ike-b2a.hex" \
		--count 20 >"$TEST_DIR/o.replay" 2>&1
	add_sent <"$TEST_DIR/o.replay"
	check "replayed old messages of b (x20): iked alive" rb_alive a iked
else
	fail "no IKE datagrams of b recorded for the replay"
fi

# 5. ike-scan --ikev2 probes
if command -v ike-scan >/dev/null; then
	ns_exec c timeout 20 ike-scan --ikev2 -r 1 "$RB_A" >"$TEST_DIR/o.ikescan" 2>&1
	ns_exec c timeout 20 ike-scan --ikev2 -r 1 --dport=4500 --nat-t "$RB_A" \
		>>"$TEST_DIR/o.ikescan" 2>&1
	ns_exec c timeout 20 ike-scan -r 1 "$RB_A" >>"$TEST_DIR/o.ikescan" 2>&1 # IKEv1
	SENT=$((SENT + 3))
	check "ike-scan --ikev2 (and IKEv1) probes: iked alive" rb_alive a iked
else
	skip "ike-scan not installed"
fi

# 6. IKE_SA_INIT floods from 200 ports of b's address (matches the
# remote): first unacceptable proposals and a wrong KE group (answered
# statelessly, one log line per packet would flood the log), then valid
# ones (COOKIE once 16 SAs are half open)
LP=$(wc -l <"$LOGA")
ns_exec b python3 "$RB_HERE/r2fuzz.py" init-flood --dst "$RB_A" --count 500 \
	--ports 50 --dh 2 >"$TEST_DIR/o.floodprop" 2>&1
add_sent <"$TEST_DIR/o.floodprop"
ns_exec b python3 "$RB_HERE/r2fuzz.py" init-flood --dst "$RB_A" --count 500 \
	--ports 50 --ke-group 14 >"$TEST_DIR/o.floodke" 2>&1
add_sent <"$TEST_DIR/o.floodke"
NP=$(tail -n +"$((LP + 1))" "$LOGA" | grep -c -E 'no acceptable proposal|asking for')
check "1000 IKE_SA_INIT with unacceptable proposal / KE group: $NP log lines (rate limited)" \
	test "$NP" -le 40
RSS1=$(rb_rss a iked)
if to_file "$TEST_DIR/o.flood" ns_exec b python3 "$RB_HERE/r2fuzz.py" init-flood \
	--dst "$RB_A" --count 3000 --ports 200 --cookie-check; then
	pass "IKE_SA_INIT flood: COOKIEs asked, an echoed cookie gets a real answer ($(tail -1 "$TEST_DIR/o.flood"))"
else
	fail "IKE_SA_INIT flood: COOKIE behaviour ($(tail -1 "$TEST_DIR/o.flood"))"
fi
add_sent <"$TEST_DIR/o.flood"
ns_exec b python3 "$RB_HERE/r2fuzz.py" init-flood --dst "$RB_A" --port 4500 --natt \
	--count 1000 --ports 100 >"$TEST_DIR/o.flood4500" 2>&1
add_sent <"$TEST_DIR/o.flood4500"
RSS2=$(rb_rss a iked)
log "iked RSS: ${RSS0} kB before, ${RSS1} kB before the flood, ${RSS2} kB after"
check "iked RSS bounded under the flood (${RSS0} -> ${RSS2} kB, limit +32 MB)" \
	test "${RSS2:-999999}" -le $((RSS0 + 32768))
T1=$(date +%s)

# 7. after the storm
check "iked alive on a and b" eval "rb_alive a iked && rb_alive b iked"
check "spmd and r2espd alive on a" eval "rb_alive a spmd && rb_alive a espd"
check "the established IKE SA is still listed with the same SPIs" \
	eval "[ \"\$(rb_q a '[s[\"spi_i\"] + \":\" + s[\"spi_r\"] for s in ike]')\" = '$SPIS' ]"
check "the CHILD SA is unchanged" \
	eval "[ \"\$(rb_q a '[c[\"spi_in\"] for c in kids]')\" = '$KIDS0' ]"
check "ikedctl show sa answers" to_file "$TEST_DIR/o.showsa" rb_ike a show sa
check "traffic still passes the tunnel" rb_ping_ok
KID=$(rb_q a '[c["id"] for c in kids][0]')
rb_ike a rekey child "$KID" >/dev/null 2>&1
check "a CHILD rekey by a still succeeds" \
	wait_for "rb_both_up && [ \"\$(rb_q a '[c[\"spi_in\"] for c in kids]')\" != '$KIDS0' ]" 8
check "traffic passes after the rekey" rb_ping_ok

# Rate-limited logging: count what the attack added to a's log.
L1=$(wc -l <"$LOGA")
NLOG=$((L1 - L0))
NWARN=$(tail -n +"$((L0 + 1))" "$LOGA" | grep -c -i 'warn')
SECS=$((T1 - T0 + 1))
log "attack: $SENT bad datagrams in ${SECS}s -> $NLOG log lines ($NWARN warnings)"
# 10 lines per call site per 5 s; a few dozen call sites at most.
LIMIT=$(( (SECS / 5 + 1) * 10 * 30 ))
check "log rate limited: $NLOG lines for $SENT bad datagrams (limit $LIMIT)" \
	test "$NLOG" -lt "$LIMIT" -a "$NLOG" -lt $((SENT / 5))
check "the log says how many similar messages were suppressed" \
	grep -q 'similar messages suppressed' "$LOGA"

# 8. a protected request with an unknown critical payload (§2.5): built
# with the exported keys as b (the responder) would send it.  Message
# IDs below b's next one are ignored as old retransmissions, so walk up.
SPIS=$(rb_q a '[s["spi_i"] for s in ike]')
ok=0
for mid in 0 1 2 3 4 5 6 7 8 9 10; do
	ns_exec c python3 "$RB_HERE/r2fuzz.py" sk-crit --keys "$(rb_dir a)/keys/ikev2_decryption_table" \
		--spi-i "$SPIS" --dst "$RB_A" --mid "$mid" --sender responder >/dev/null 2>&1
	if wait_for "grep -q 'answering INFORMATIONAL request $mid with UNSUPPORTED_CRITICAL_PAYLOAD' '$LOGA'" 0.5; then
		ok=1
		break
	fi
done
check "protected request with an unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD (mid $mid)" \
	test $ok = 1
check "iked alive at the end" eval "rb_alive a iked && rb_alive b iked"
rb_finish
