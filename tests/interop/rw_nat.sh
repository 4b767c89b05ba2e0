#!/usr/bin/env bash
# tests/interop/rw_nat.sh - issue 6 topology, interop: a road-warrior
# gateway, a NAT router (nftables masquerade) and two strongSwan charon
# clients behind it, connecting at once; each gets its own pool address;
# traffic passes through each tunnel; tshark on the outside link sees UDP
# 4500, non-ESP-marked IKE and NAT keepalives; disconnecting clears the
# gateway.
#
#   c1 (v1) 203.0.113.66/29 --+                         gw: 198.51.100.1
#                             nat: inside .65/29 .73/29   lo 203.0.113.1
#   c2 (v2) 203.0.113.74/29 --+    outside 198.51.100.254 (masquerade)
#   pool for the clients' virtual addresses: 203.0.113.128/26
#
# GW=racoon2 (default): the gateway is racoon2 (r2espd + spmd + iked,
#   peers_ipaddr IP_RW, addresspool), the clients are charon: every check
#   is named "racoon2 gateway: ...".  If the racoon2 gateway is not built
#   or does not come up, each of those checks FAILS (never skips, never
#   passes): charon<->charon results are not racoon2's.
# GW=charon: a charon gateway -- a self-test of the topology and the
#   checks, every line named "selftest, charon gateway (not racoon2): ...".
# (tests/netns/rw_nat.sh has a racoon2 client and IPv6 as well.)
# Usage: [GW=racoon2|charon] tests/interop/rw_nat.sh   (KEEP=1 keeps logs)

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
. "$LIB/topo.sh"

r2_find_bins
GW=${GW:-racoon2}
case "$GW" in
racoon2) WHO="racoon2 gateway" ;;
charon) WHO="selftest, charon gateway (not racoon2)" ;;
*) echo "FAIL: rw_nat: GW=$GW (racoon2 or charon)"; exit 1 ;;
esac
netns_init r2rw rw_nat
need_cmd tshark dumpcap swanctl nft ping
charon_available || skip_all "rw_nat: strongSwan charon not installed"

# Every check names what it proves: "$WHO: ...".
t_pass() { pass "$WHO: $*"; }
t_fail() { fail "$WHO: $*"; }
t_check() { local n=$1; shift; check "$WHO: $n" "$@"; }
# What the racoon2 gateway would have proved: FAILs when it is not up.
R2_CHECKS=(
	"r2espd, spmd and iked up"
	"both charon clients ESTABLISHED and INSTALLED on the gateway at once"
	"each client has its own pool address"
	"c1: ping 203.0.113.1 through its tunnel"
	"c2: ping 203.0.113.1 through its tunnel"
	"clients disconnected: the gateway has no SA left"
	"tshark: no malformed or expert-error packets"
	"tshark: IKE floated to 4500 with the non-ESP marker"
	"tshark: ESP only UDP-encapsulated on the outside"
	"tshark: NAT keepalives seen"
	"tshark: both clients behind one NAT address"
)
gw_not_up() { # REASON
	local c
	for c in "${R2_CHECKS[@]}"; do
		fail "$WHO: $c (not tested: the racoon2 gateway is not up: $1)"
	done
	finish
}

PSK='road-warrior-psk-0123456789abcdef'

topo_nat 198.51.100.1/24 198.51.100.254/24 - || finish
topo_nat_client c1 v1 vi1 203.0.113.66/29 203.0.113.65/29
topo_nat_client c2 v2 vi2 203.0.113.74/29 203.0.113.73/29
check "topology: the NAT router forwards and masquerades" \
	wait_for "ns_exec c1 ping -c1 -W1 198.51.100.1" 3

cap_start out nat vo "" 198.51.100.1 || fail "capture on the outside link"

# Gateway with a pool; clients request an address (vips).
start_r2_gw() {
	[ -n "$IKED" ] && [ -n "$IKEDCTL" ] && [ -n "$SPMD" ] && [ -n "$ESPD" ] ||
		gw_not_up "iked/ikedctl/spmd/r2espd not built in $R2_BUILD"
	r2_init gw gw
	local psk c RW_ALGS='
		kmp_enc_alg { aes256_gcm16; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_dh_group { ecp256; };'
	psk=$(r2_psk gw "$PSK")
	{
		rw_gw_conf 198.51.100.1 "203.0.113.129 - 203.0.113.190"
		for c in c1 c2; do
			rw_gw_remote rw-$c $c.example 203.0.113.1 203.0.113.128/26 198.51.100.1 "$psk"
		done
		echo 'ipsec ipsec_esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes256_gcm16; }; };'
	} >"$(r2_conf_path gw)"
	r2_check_conf gw ||
		gw_not_up "iked -t refuses its configuration: $(head -1 "$(r2_dir gw)/check.log")"
	R2_KERNEL=userspace
	r2_start_espd gw gw || gw_not_up "r2espd did not start"
	r2_start_spmd gw gw || gw_not_up "spmd did not start"
	r2_start_iked gw gw || gw_not_up "iked did not start"
	t_pass "r2espd, spmd and iked up"
}
if [ "$GW" = racoon2 ]; then
	start_r2_gw
	gw_ike() { r2_q gw 'len(est)'; }
	gw_child() { r2_q gw 'len([c for s in est for c in s["children"] if c["state"] == "INSTALLED"])'; }
else
	charon_start gw gw --libipsec || t_fail "charon gateway start"
	charon_pool gw rw addrs=203.0.113.128/26
	charon_conn gw rw local=198.51.100.1 remote=%any local_id=gw.example \
		psk="$PSK" proposals=aes256gcm16-prfsha256-ecp256 \
		esp_proposals=aes256gcm16 local_ts=203.0.113.1/32 pools=rw \
		unique=replace
	charon_load gw || t_fail "charon gateway swanctl --load-all"
	gw_ike() { charon_count gw ike; }
	gw_child() { charon_count gw child; }
fi
for c in c1 c2; do
	charon_start "$c" "$c" --libipsec --keepalive 1 || fail "charon client $c start"
	charon_conn "$c" rw local=%any remote=198.51.100.1 \
		local_id="$c.example" remote_id=gw.example psk="$PSK" \
		proposals=aes256gcm16-prfsha256-ecp256 esp_proposals=aes256gcm16 \
		vips=0.0.0.0 remote_ts=203.0.113.1/32
	charon_load "$c" || fail "charon client $c swanctl --load-all"
done
# Both at once.
sw c1 --initiate --child rw >"$TEST_DIR/init-c1.log" 2>&1 &
i1=$!
sw c2 --initiate --child rw >"$TEST_DIR/init-c2.log" 2>&1 &
i2=$!
wait $i1 $i2
UP=0
t_check "both charon clients ESTABLISHED and INSTALLED on the gateway at once" \
	wait_for '[ "$(gw_ike)" = 2 ] && [ "$(gw_child)" = 2 ]' 10 && UP=1

vip() {
	sw "$1" --list-sas 2>/dev/null |
		sed -nE 's#^ +local +(203\.0\.113\.[0-9]+)/32$#\1#p' | head -1
}
v1=$(vip c1)
v2=$(vip c2)
if [ -n "$v1" ] && [ -n "$v2" ] && [ "$v1" != "$v2" ]; then
	t_pass "each client has its own pool address ($v1, $v2)"
else
	t_fail "each client has its own pool address ('$v1', '$v2')"
fi
for c in c1 c2; do
	a=$v1; [ $c = c2 ] && a=$v2
	t_check "$c: ping 203.0.113.1 through its tunnel (from $a)" \
		wait_for "ns_exec $c ping -c1 -W2 -I $a 203.0.113.1" 5
done
sleep 3   # NAT keepalives (1 s interval; none while other traffic flows)
for c in c1 c2; do
	sw "$c" --terminate --ike rw >>"$TEST_DIR/term-$c.log" 2>&1
done
if [ $UP = 1 ]; then
	t_check "clients disconnected: the gateway has no SA left" \
		wait_for '[ "$(gw_ike)" = 0 ]' 8
else
	t_fail "clients disconnected: the gateway has no SA left (they never connected)"
fi
cap_stop out || fail "outside capture empty"

kd=$(ts_keydir out)
f=$(cap_file out)
t_check "tshark: no malformed or expert-error packets" ts_check_clean "$kd" "$f"
read -r ike500 ike4500 esp4500 rawesp ka <<<"$(ts_counts "$kd" "$f" \
	'isakmp && udp.port == 500' 'isakmp && udp.port == 4500' \
	'esp && udp.port == 4500' 'esp && !udp' \
	'udp.port == 4500 && udp.length == 9' | tr '\n' ' ')"
log "outside link: IKE/500=$ike500 IKE/4500=$ike4500 ESP/4500=$esp4500 ESP/raw=$rawesp keepalives=$ka"
[ "${ike4500:-0}" -gt 0 ] && t_pass "tshark: IKE floated to 4500 with the non-ESP marker ($ike4500 messages)" ||
	t_fail "tshark: IKE floated to 4500 with the non-ESP marker"
[ "${esp4500:-0}" -gt 0 ] && [ "$rawesp" = 0 ] &&
	t_pass "tshark: ESP only UDP-encapsulated on the outside ($esp4500 packets)" ||
	t_fail "tshark: ESP only UDP-encapsulated on the outside (udp=$esp4500 raw=$rawesp)"
[ "${ka:-0}" -gt 0 ] && t_pass "tshark: NAT keepalives seen ($ka)" || t_fail "tshark: NAT keepalives seen"
# The masquerade must be visible: IKE from the router's address, two ports.
srcports=$(ts "$kd" "$f" -Y 'udp.dstport == 4500 && ip.dst == 198.51.100.1' \
	-T fields -e ip.src -e udp.srcport | sort -u)
n=$(printf '%s\n' "$srcports" | grep -c '^198\.51\.100\.254')
[ "$n" -ge 2 ] && t_pass "tshark: both clients behind one NAT address ($(printf '%s' "$srcports" | tr '\n\t' ' :'))" ||
	t_fail "tshark: both clients behind one NAT address ($srcports)"
finish
