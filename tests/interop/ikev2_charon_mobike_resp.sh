#!/usr/bin/env bash
# tests/interop/ikev2_charon_mobike_resp.sh - MOBIKE (RFC 4555) with
# racoon2's iked as the moving initiator (`mobike on`, r2espd + spmd:
# real traffic) and strongSwan charon as the responder (`mobike = yes`,
# kernel-libipsec).
#
#   a 198.51.100.1 -> .3 (lo 203.0.113.1)  ----  b 198.51.100.2 (lo 203.0.113.2)
#
# iked initiates (ikedctl initiate) on a wildcard IKE socket (interface
# { ike { 0.0.0.0 ... } }, sent with IP_PKTINFO); traffic flows; then a
# gets 198.51.100.3 and loses .1.  iked's address monitor (rtnetlink,
# src/ike/addrmon.c) sees the route to charon leave from .3 and sends
# UPDATE_SA_ADDRESSES (NAT-D, COOKIE2) from there.  Checks: the IKE SA
# keeps its SPIs on both sides, racoon2's IKE SA is now at .3 and its
# CHILD SA moved in place (children_moved; the forward policy's template
# too, through the privileged parent; charon's kernel-libipsec
# cannot move SAs, so charon then rekeys its side), the ping resumes
# within 2 s of the move (time printed), charon logged the update and
# answered with COOKIE2; on the wire (tshark, SK payloads decrypted with
# racoon2's exported keys): UPDATE_SA_ADDRESSES from .3, COOKIE2 echoed
# to .3, one IKE_SA_INIT exchange in all, no CREATE_CHILD_SA request from
# racoon2, ESP from .3.
#
# Usage: R2_BUILD=build-dir tests/interop/ikev2_charon_mobike_resp.sh
#   Skips (exit 77) without iked/r2espd/spmd, charon or tshark.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] && [ -n "$IKEDCTL" ] && [ -n "$SPMD" ] && [ -n "$ESPD" ] ||
	skip_all "ikev2_charon_mobike_resp: iked/ikedctl/spmd/r2espd not built"
netns_init r2mr ikev2_charon_mobike_resp
need_cmd python3 tshark dumpcap swanctl ping
charon_available || skip_all "ikev2_charon_mobike_resp: strongSwan charon not installed"
R2_KERNEL=userspace
PSK='mobike-ikev2-psk-0123456789abcdef'

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

t=mobike/racoon2-moves
R2=a-mobr
C=b-mobr
r2_init "$R2" a
r2_write_conf "$R2" remote=charon my_gw=198.51.100.1 \
	peer_gw=198.51.100.2 my_net=203.0.113.1/32 peer_net=203.0.113.2/32 \
	my_id=a.example peer_id=b.example psk="$PSK" mode=tunnel spmd=yes
conf=$(r2_conf_path "$R2")
sed -i 's/^\(\t\tkmp_auth_method.*\)$/\1\n\t\tmobike on;/' "$conf"
# the moving side listens on the wildcard and sends with IP_PKTINFO
sed -i '/^interface {/,/^};/s/198\.51\.100\.1 port/0.0.0.0 port/g' "$conf"
grep -q 'mobike on;' "$conf" && grep -q '0\.0\.0\.0 port' "$conf" ||
	fail "$t: mobike on and a wildcard ike address in racoon2.conf"
r2_check_conf "$R2" || {
	fail "$t: racoon2.conf accepted (iked -t)"
	sed 's/^/# /' "$(r2_dir "$R2")/check.log" >&2
	finish
}
charon_start b "$C" --libipsec --keys || { fail "$t: charon start"; finish; }
charon_conn "$C" c local=198.51.100.2 remote=%any \
	local_id=b.example remote_id=a.example psk="$PSK" mobike=yes \
	proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 \
	local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
charon_load "$C" || { fail "$t: swanctl --load-all"; finish; }
cap_start mobr a va "" 198.51.100.2 || fail "$t: capture"
r2_start_espd a "$R2" || { fail "$t: r2espd start"; finish; }
r2_start_spmd a "$R2" || { fail "$t: spmd start"; finish; }
r2_start_iked a "$R2" || { fail "$t: iked start"; finish; }

r2_ike_est() { [ "$(r2_q "$R2" 'len(est)')" = "${1:-1}" ]; }
r2_kids() { r2_q "$R2" '[(c["spi_in"], c["spi_out"]) for c in kids if c["state"] == "INSTALLED"]'; }
r2_ike() { r2_q "$R2" '[(s["spi_i"], s["spi_r"]) for s in est]'; }
r2_local() { r2_q "$R2" '[s["local"] for s in est]'; }

r2_ctl "$R2" initiate charon >"$TEST_DIR/ctl-init.log" 2>&1
check "$t: IKE SA ESTABLISHED on both" \
	wait_for "charon_ike_established $C c && r2_ike_est 1" 10
check "$t: CHILD SA INSTALLED on both" \
	wait_for "charon_child_installed $C c && [ -n \"\$(r2_kids)\" ]" 5
ilog="$TEST_DIR/iked-$R2.log"
clog=$(charon_log "$C")
grep -q 'address monitor: watching' "$ilog" &&
	pass "$t: iked watches its addresses (rtnetlink)" ||
	fail "$t: iked watches its addresses (rtnetlink)"
grep -q 'MOBIKE negotiated' "$ilog" &&
	grep -q 'parsed IKE_AUTH request 1 \[.*N(MOBIKE_SUP)' "$clog" &&
	pass "$t: MOBIKE_SUPPORTED both ways in IKE_AUTH" ||
	fail "$t: MOBIKE_SUPPORTED both ways in IKE_AUTH"
P="ping -c1 -W1 -I 203.0.113.1 203.0.113.2"
check "$t: ping through the tunnel" wait_for "ns_exec a $P" 8

ike0=$(r2_ike)
kids0=$(r2_kids)
cike0=$(charon_ike_spis "$C")
ninit0=$(grep -c 'IKE_SA_INIT' "$clog")

# ---- a moves to .3 ----
# (.3 must survive the removal of .1, the primary address of the prefix)
ns_exec a sysctl -qw net.ipv4.conf.va.promote_secondaries=1
ns_addr a va 198.51.100.3/24
ip -n "$(ns a)" addr del 198.51.100.1/24 dev va
t0=$(date +%s.%N)
ok=0
for _ in $(seq 1 40); do
	if ns_exec a ping -c1 -W0.2 -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1; then
		ok=1
		break
	fi
done
t1=$(date +%s.%N)
dt=$(python3 -c "print(round($t1 - $t0, 2))")
if [ $ok = 1 ] && python3 -c "import sys; sys.exit(0 if $dt <= 2.0 else 1)"; then
	pass "$t: traffic resumed ${dt} s after the move (<= 2 s)"
else
	fail "$t: traffic resumed within 2 s (ok=$ok after ${dt} s)"
fi
check "$t: racoon2's IKE SA now at 198.51.100.3" \
	wait_for '[ "$(r2_local)" = "198.51.100.3:500" ] || [ "$(r2_local)" = "198.51.100.3:4500" ]' 5
grep -q 'MOBIKE: path to the peer now 198.51.100.3' "$ilog" &&
	pass "$t: iked noticed the new source address itself" ||
	fail "$t: iked noticed the new source address itself"
[ "$(r2_ike)" = "$ike0" ] && [ "$(charon_ike_spis "$C")" = "$cike0" ] &&
	pass "$t: the same IKE SA on both sides ($ike0)" ||
	fail "$t: the same IKE SA on both ($ike0 -> $(r2_ike))"
grep -q 'MOBIKE: now 198.51.100.3:[0-9]* <-> 198.51.100.2:[0-9]*, 1 CHILD SA(s) moved in place$' "$ilog" &&
	pass "$t: iked moved its CHILD SA ($kids0) in place" ||
	fail "$t: iked moved its CHILD SA ($kids0) in place"
m=$(r2_q "$R2" 'sum(s["children_moved"] for s in est)')
[ "$m" -ge 1 ] 2>/dev/null && pass "$t: racoon2 moved the CHILD SA in place (children_moved=$m)" ||
	fail "$t: racoon2 moved the CHILD SA in place (children_moved=$m)"
grep -q 'forward policy not moved' "$ilog" &&
	fail "$t: the forward policy's template followed (privileged parent)" ||
	pass "$t: the forward policy's template followed (privileged parent)"
grep -q 'generating CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA)' "$clog" &&
	log "charon (kernel-libipsec cannot update SA addresses) rekeyed its CHILD SA after the update"
[ "$(grep -c 'IKE_SA_INIT' "$clog")" = "$ninit0" ] &&
	pass "$t: charon: no new IKE_SA_INIT" || fail "$t: charon: new IKE_SA_INIT after the move"
l=$(grep -m1 -o 'parsed INFORMATIONAL request [0-9]* \[[^]]*UPD_SA_ADDR[^]]*\]' "$clog")
[ -n "$l" ] && pass "$t: charon: $l" || fail "$t: charon got UPDATE_SA_ADDRESSES"
l=$(grep -m1 -o 'generating INFORMATIONAL response [0-9]* \[[^]]*COOKIE2[^]]*\]' "$clog")
[ -n "$l" ] && pass "$t: charon: $l" || fail "$t: charon echoed COOKIE2"
check "$t: ping still through the tunnel" wait_for "ns_exec a $P" 4

id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
r2_ctl "$R2" delete ike "$id" >/dev/null 2>&1
check "$t: delete by racoon2 clears charon" \
	wait_for "[ \$(charon_count $C ike) = 0 ] && r2_ike_est 0" 6
cap_stop mobr || fail "$t: capture file empty"
r2_stop "$R2"
charon_stop "$C"

# ---- on the wire ----
d="$TEST_DIR/keys"
mkdir -p "$d"
f=$(cap_file mobr)
r2_export_split "$R2" "$d/r2.ike" "$d/r2.esp" || fail "$t: key export"
$KEYS filter-uat ike "$d/r2.ike" >"$d/ws.ike" 2>/dev/null
kd=$(ts_keydir mobr "$d/ws.ike")
upd=$(ts "$kd" "$f" -Y 'ip.src == 198.51.100.3 && isakmp.notify.msgtype == 16400' 2>/dev/null | wc -l)
[ "$upd" -ge 1 ] && pass "tshark: UPDATE_SA_ADDRESSES from 198.51.100.3 ($upd)" ||
	fail "tshark: UPDATE_SA_ADDRESSES from 198.51.100.3"
ck=$(ts "$kd" "$f" -Y 'ip.src == 198.51.100.2 && ip.dst == 198.51.100.3 && isakmp.notify.msgtype == 16401' 2>/dev/null | wc -l)
[ "$ck" -ge 1 ] && pass "tshark: charon's response to 198.51.100.3 echoes COOKIE2" ||
	fail "tshark: charon's response to 198.51.100.3 echoes COOKIE2"
n=$(ts "$kd" "$f" -Y 'isakmp.exchangetype == 34' 2>/dev/null | wc -l)
[ "$n" = 2 ] && pass "tshark: one IKE_SA_INIT exchange only (no new one after the move)" ||
	fail "tshark: $n IKE_SA_INIT messages"
n=$(ts "$kd" "$f" -Y 'isakmp.exchangetype == 36 && (ip.src == 198.51.100.1 || ip.src == 198.51.100.3) && isakmp.flag.r == 0' 2>/dev/null | wc -l)
[ "$n" = 0 ] && pass "tshark: no CREATE_CHILD_SA request from racoon2 (its CHILD SA moved, not rekeyed)" ||
	fail "tshark: $n CREATE_CHILD_SA requests from racoon2"
n=$(ts "$kd" "$f" -Y 'esp && ip.src == 198.51.100.3' 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && pass "tshark: ESP from the new address ($n)" ||
	fail "tshark: ESP from the new address"
r=$(ts_check_ike_decrypt "$kd" "$f") &&
	pass "tshark decrypts every SK payload with racoon2's keys ($r)" ||
	fail "tshark decrypts every SK payload with racoon2's keys ($r)"
finish
