#!/usr/bin/env bash
# tests/netns/rw_nat.sh - issue 6 "Done when": racoon2 as the road-warrior
# gateway (peers_ipaddr IP_RW, addresspool, spmd dynamic policies, the
# userspace ESP data plane so that traffic really flows), a NAT router
# (nftables masquerade) and two clients behind it that connect at once:
# c1 = racoon2 (request { ip4; }), c2 = strongSwan charon (vips=0.0.0.0,
# kernel-libipsec).  Then: c1's NAT mapping changes, c1 comes back after
# losing its state (returning road warrior), both disconnect; finally an
# IPv6 road warrior (c6, racoon2, no NAT) with an IPv6 pool address.
#
#   c1 203.0.113.66/29 --+                           gw 198.51.100.1
#                        nat .65/29 .73/29            lo 203.0.113.1
#   c2 203.0.113.74/29 --+   outside 198.51.100.254 (masquerade)
#   c6 2001:db8:100::66 ---- gw 2001:db8:100::1 (lo 2001:db8:1::1)
#   pool 203.0.113.129 - .190 (envelope 203.0.113.128/26),
#        2001:db8:7::10 - ::1f (envelope 2001:db8:7::/64)
#
# Usage: tests/netns/rw_nat.sh [BUILD_DIR]   (KEEP=1 keeps the logs)
# Namespaces: r2w-$$-*, always deleted on exit (tests/lib/netns.sh).
# Prints PASS:/FAIL:/SKIP: lines; exit status 1 on any failure.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
[ -n "${1:-}" ] && R2_BUILD=$(cd "$1" && pwd)
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
. "$LIB/topo.sh"

r2_find_bins
[ -n "$IKED" ] && [ -n "$IKEDCTL" ] && [ -n "$SPMD" ] && [ -n "$SPMDCTL" ] &&
	[ -n "$ESPD" ] || skip_all "rw_nat: iked/ikedctl/spmd/spmdctl/r2espd not built in $R2_BUILD"
netns_init r2w rw_nat
need_cmd nft ping
HAVE_CHARON=1
charon_available || HAVE_CHARON=0
HAVE_TSHARK=1
{ command -v tshark && command -v dumpcap; } >/dev/null 2>&1 || HAVE_TSHARK=0
R2_KERNEL=userspace
PSK='road-warrior-psk-0123456789abcdef'

topo_nat 198.51.100.1/24 198.51.100.254/24 || finish
topo_nat_client c1 v1 vi1 203.0.113.66/29 203.0.113.65/29
topo_nat_client c2 v2 vi2 203.0.113.74/29 203.0.113.73/29
ns_add c6
ns_link gw vg6 c6 v6
ns_addr gw vg6 2001:db8:100::1/64
ns_addr gw lo 2001:db8:1::1/128
ns_addr c6 v6 2001:db8:100::66/64
check "NAT router forwards and masquerades" \
	wait_for "ns_exec c1 ping -c1 -W1 198.51.100.1" 3

# ---- configurations ----
RW_ALGS='
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { modp2048; };'
RW_ESP='ipsec ipsec_esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };'

r2_init gw gw
GWPSK=$(r2_psk gw "$PSK")
{
	rw_gw_conf "198.51.100.1 2001:db8:100::1" \
		"203.0.113.129 - 203.0.113.190; 2001:db8:7::10 - 2001:db8:7::1f"
	dns='dns 203.0.113.53;'
	rw_gw_remote rw-c1 c1.example 203.0.113.1 203.0.113.128/26 198.51.100.1 "$GWPSK" "$dns"
	rw_gw_remote rw-c2 c2.example 203.0.113.1 203.0.113.128/26 198.51.100.1 "$GWPSK" "$dns"
	rw_gw_remote rw-v6 v6.example 2001:db8:1::1 2001:db8:7::/64 2001:db8:100::1 "$GWPSK" "$dns"
	printf '%s\n' "$RW_ESP"
} >"$(r2_conf_path gw)"

rw_client_conf c1 203.0.113.66 c1.example 198.51.100.1 203.0.113.1 "$PSK"
rw_client_conf c6 2001:db8:100::66 v6.example 2001:db8:100::1 2001:db8:1::1 "$PSK"

for n in gw c1 c6; do
	if ! r2_check_conf "$n"; then
		fail "racoon2.conf of $n accepted (iked -t)"
		sed 's/^/# /' "$(r2_dir "$n")/check.log" >&2
		finish
	fi
done
pass "racoon2.conf of gw, c1 and c6 accepted (iked -t)"

spm() { # NAME ARGS...: spmdctl of that instance
	local n=$1; shift
	ip netns exec "$(ns "${R2_HOST[$n]}")" "$SPMDCTL" \
		-s "$(r2_dir "$n")/run/racoon2/spmif" "$@"
}
dyn_show() { spm "$1" policy show dynamic 2>&1; }

[ $HAVE_TSHARK = 1 ] && { cap_start out nat vo "" 198.51.100.1 || fail "capture on the outside link"; }

# ---- daemons ----
r2_up gw gw || finish
dyn_show gw >"$TEST_DIR/dyn-start.txt"
check "gateway: no policy for the IP_RW envelopes at start" \
	eval "! grep -q '203\\.0\\.113\\.1[2-9][0-9]' '$TEST_DIR/dyn-start.txt'"
r2_up c1 c1 || finish

if [ $HAVE_CHARON = 1 ]; then
	charon_start c2 c2 --libipsec --keepalive 1 || fail "c2 charon start"
	charon_conn c2 rw local=%any remote=198.51.100.1 \
		local_id=c2.example remote_id=gw.example psk="$PSK" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 \
		vips=0.0.0.0 remote_ts=203.0.113.1/32
	charon_load c2 || fail "c2 swanctl --load-all"
else
	skip "c2 (strongSwan charon not installed): one client only"
fi

# ---- both at once ----
r2_ctl c1 initiate gw p-gw >"$TEST_DIR/init-c1.log" 2>&1 &
i1=$!
i2=
if [ $HAVE_CHARON = 1 ]; then
	sw c2 --initiate --child rw >"$TEST_DIR/init-c2.log" 2>&1 &
	i2=$!
fi
wait $i1 $i2
NCL=1; [ $HAVE_CHARON = 1 ] && NCL=2
gw_est() { r2_q gw 'len(est)'; }
gw_kids() { r2_q gw 'len([c for c in kids if c["state"] == "INSTALLED"])'; }
check "gateway: $NCL IKE SAs and CHILD SAs INSTALLED at once" \
	wait_for "[ \"\$(gw_est)\" = $NCL ] && [ \"\$(gw_kids)\" = $NCL ]" 10 ||
	r2_json gw >&2

vip_c1() { topo_vip4 c1; }
vip_c2() { sw c2 --list-sas 2>/dev/null | sed -nE 's#^ +local +(203\.0\.113\.[0-9]+)/32$#\1#p' | head -1; }
wait_for '[ -n "$(vip_c1)" ]' 5
v1=$(vip_c1)
v2=
[ $HAVE_CHARON = 1 ] && v2=$(vip_c2)
if [ -n "$v1" ] && { [ $HAVE_CHARON = 0 ] || { [ -n "$v2" ] && [ "$v1" != "$v2" ]; }; }; then
	pass "each client has its own pool address (c1 $v1${v2:+, c2 $v2})"
else
	fail "each client has its own pool address ('$v1', '$v2')"
fi
dyn_show gw >"$TEST_DIR/dyn-up.txt"
if [ -n "$v1" ] && grep -q "$v1" "$TEST_DIR/dyn-up.txt" &&
	{ [ -z "$v2" ] || grep -q "$v2" "$TEST_DIR/dyn-up.txt"; }; then
	pass "spmdctl policy show lists the dynamic policies of each client"
else
	fail "spmdctl policy show lists the dynamic policies ($v1 $v2)"
	sed 's/^/# /' "$TEST_DIR/dyn-up.txt" >&2
fi
check "c1 (racoon2): ping 203.0.113.1 through its tunnel from $v1" \
	wait_for "ns_exec c1 ping -c1 -W2 -I $v1 203.0.113.1" 8
if [ -n "$v2" ]; then
	check "c2 (charon): ping 203.0.113.1 through its tunnel from $v2" \
		wait_for "ns_exec c2 ping -c1 -W2 -I $v2 203.0.113.1" 8
fi
sleep 3 # keepalives (c1 every 2 s, c2 every 1 s)

# ---- c1's NAT mapping changes: the NAT maps it to new ports ----
c1_spis() { r2_q gw '[c["spi_in"] for s in est if s["remote"] == "rw-c1" for c in s["children"] if c["state"] == "INSTALLED"]'; }
c1_port() { r2_q gw '[s["peer"] for s in est if s["remote"] == "rw-c1"]'; }
old_spis=$(c1_spis)
old_port=$(c1_port)
topo_nat_remap ||
	log "conntrack tool missing: waiting for the UDP mapping to be replaced by traffic"
cid=$(r2_q c1 '([c["id"] for c in kids] or [""])[-1]')
r2_ctl c1 rekey child "$cid" >>"$TEST_DIR/ctl-c1.log" 2>&1
moved() {
	local now
	now=$(c1_spis)
	[ -n "$now" ] && [ "$now" != "$old_spis" ]
}
if command -v conntrack >/dev/null 2>&1; then
	check "c1 mapping changed: gateway follows ($old_port -> \$(c1_port))" \
		wait_for "moved && [ \"\$(c1_port)\" != '$old_port' ]" 10
else
	check "c1 CHILD SA rekeyed (conntrack(8) missing: mapping kept)" \
		wait_for moved 10
fi
log "c1 peer endpoint on the gateway: $old_port -> $(c1_port)"
check "c1 after the mapping change: ping through the new SAs" \
	wait_for "ns_exec c1 ping -c1 -W2 -I $v1 203.0.113.1" 8

# ---- returning road warrior: c1 loses its state and connects again ----
g_old=$(r2_q gw '[s["id"] for s in est if s["remote"] == "rw-c1"]')
# SIGKILL: no DELETE reaches the gateway; the data plane restarts empty.
stop_bg iked-c1 KILL
r2_stop c1
ip -n "$(ns c1)" addr del "$v1/32" dev lo 2>/dev/null
r2_up c1 c1 || true
r2_ctl c1 initiate gw p-gw >>"$TEST_DIR/ctl-c1.log" 2>&1
c1_sas() { r2_q gw '[s["id"] for s in est if s["remote"] == "rw-c1"]'; }
check "returning c1: its old IKE SA #$g_old replaced (one per client)" \
	wait_for "[ \"\$(gw_est)\" = $NCL ] && [ -n \"\$(c1_sas)\" ] && [ \"\$(c1_sas)\" != '$g_old' ]" 10
check "returning c1: the gateway removed IKE SA #$g_old (INITIAL_CONTACT / same identity)" \
	grep -Eq "IKE SA #$g_old \(rw-c1\) removed: (INITIAL_CONTACT|replaced by the same identity)" "$TEST_DIR/iked-gw.log"
check "returning c1: same pool address $v1 back, ping works" \
	wait_for "[ \"\$(vip_c1)\" = '$v1' ] && ns_exec c1 ping -c1 -W2 -I $v1 203.0.113.1" 10
dyn_show gw >"$TEST_DIR/dyn-back.txt"
n_up=$(grep -c "$v1" "$TEST_DIR/dyn-up.txt")
n_back=$(grep -c "$v1" "$TEST_DIR/dyn-back.txt")
[ "$n_back" -ge 1 ] && [ "$n_back" = "$n_up" ] &&
	pass "returning c1: old dynamic policies replaced, not duplicated ($n_back lines)" ||
	fail "returning c1: dynamic policy lines for $v1: before $n_up, now $n_back"

# ---- disconnect ----
cid=$(r2_q c1 '([s["id"] for s in est] or [""])[-1]')
r2_ctl c1 delete ike "$cid" >>"$TEST_DIR/ctl-c1.log" 2>&1
[ $HAVE_CHARON = 1 ] && sw c2 --terminate --ike rw >>"$TEST_DIR/term-c2.log" 2>&1
check "clients disconnected: no IKE SA left on the gateway" \
	wait_for '[ "$(gw_est)" = 0 ]' 8
check "clients disconnected: dynamic policies gone" \
	wait_for "! dyn_show gw | grep -q '203\\.0\\.113\\.1[2-9][0-9]'" 5
check "c1: assigned address removed" wait_for '[ -z "$(vip_c1)" ]' 3

# ---- tshark on the outside link ----
if [ $HAVE_TSHARK = 1 ]; then
	cap_stop out || fail "outside capture empty"
	f=$(cap_file out)
	kd=$TEST_DIR/nokeys
	mkdir -p "$kd"
	read -r ike4500 esp4500 rawesp ka <<<"$(ts_counts "$kd" "$f" \
		'isakmp && udp.port == 4500' 'esp && udp.port == 4500' \
		'esp && !udp' 'udp.port == 4500 && udp.length == 9' | tr '\n' ' ')"
	log "outside: IKE/4500=$ike4500 ESP/4500=$esp4500 ESP/raw=$rawesp keepalives=$ka"
	[ "${ike4500:-0}" -gt 0 ] && pass "tshark: IKE on 4500 behind the non-ESP marker ($ike4500)" ||
		fail "tshark: IKE on 4500 behind the non-ESP marker"
	[ "${esp4500:-0}" -gt 0 ] && [ "${rawesp:-1}" = 0 ] &&
		pass "tshark: ESP only UDP-encapsulated ($esp4500)" ||
		fail "tshark: ESP only UDP-encapsulated (udp=$esp4500 raw=$rawesp)"
	[ "${ka:-0}" -gt 0 ] && pass "tshark: NAT keepalives ($ka)" || fail "tshark: NAT keepalives"
	kgw=$(ts "$kd" "$f" -Y 'udp.length == 9 && ip.src == 198.51.100.1' -T fields -e frame.number | wc -l)
	[ "$kgw" = 0 ] && pass "tshark: no keepalives from the gateway (not behind a NAT)" ||
		fail "tshark: gateway sent $kgw keepalives"
else
	skip "tshark checks (tshark/dumpcap not installed)"
fi

# ---- IPv6 road warrior, no NAT ----
if r2_up c6 c6; then
	r2_ctl c6 initiate gw p-gw >>"$TEST_DIR/ctl-c6.log" 2>&1
	check "IPv6 road warrior: IKE + CHILD SA without NAT" \
		wait_for "[ \"\$(gw_est)\" = 1 ] && [ \"\$(gw_kids)\" = 1 ]" 10
	check "IPv6 road warrior: no NAT-T" \
		test "$(r2_q gw '[s["natt"] for s in est]')" = False
	vip6() { ip -n "$(ns c6)" -6 addr show dev lo | sed -nE 's#.*inet6 (2001:db8:7::[0-9a-f]+)/128.*#\1#p' | head -1; }
	wait_for '[ -n "$(vip6)" ]' 5
	v6=$(vip6)
	[ -n "$v6" ] && pass "IPv6 road warrior: pool address $v6" ||
		fail "IPv6 road warrior: pool address"
	check "IPv6 road warrior: dynamic policy for $v6 listed" \
		eval "dyn_show gw | grep -q '$v6'"
	check "IPv6 road warrior: ping 2001:db8:1::1 through the tunnel" \
		wait_for "ns_exec c6 ping -6 -c1 -W2 -I $v6 2001:db8:1::1" 8
	cid=$(r2_q c6 '([s["id"] for s in est] or [""])[-1]')
	r2_ctl c6 delete ike "$cid" >>"$TEST_DIR/ctl-c6.log" 2>&1
	check "IPv6 road warrior: disconnect removes its dynamic policies" \
		wait_for "[ \"\$(gw_est)\" = 0 ] && ! dyn_show gw | grep -q '2001:db8:7::'" 8
fi
finish
