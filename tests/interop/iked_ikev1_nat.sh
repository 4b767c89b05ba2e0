#!/usr/bin/env bash
# tests/interop/iked_ikev1_nat.sh - issue 11: IKEv1 NAT-T (RFC 3947/3948)
# through a real NAT: a namespace router doing nftables `masquerade`,
# iked (spmd + iked + r2espd, userspace ESP) against strongSwan charon
# (`version = 1`, kernel-libipsec), no faked NAT (encap = no).
#
#   nat  iked behind the NAT initiates (a ping raises an ACQUIRE):
#          a (iked) 203.0.113.66/29 -- n1 (masquerade) 198.51.100.254 --
#          b (charon) 198.51.100.2;  protected 203.0.113.1 <-> .2
#        NAT-D finds the NAT, both float to 4500, the ESP SAs in r2espd are
#        UDP-encapsulated, pings pass, iked sends NAT keepalives (one 0xFF
#        octet on 4500, nat_keepalive_interval 2 sec) seen on the router's
#        outside link; tshark decodes everything without malformed packets.
#   rw   charon behind the NAT is a road warrior to iked (peers_ipaddr
#        IP_RW, peers_sa_ipaddr IP_RW):
#          c (charon) 203.0.113.74/29 -- n2 (masquerade) 198.51.100.254 --
#          g (iked) 198.51.100.1;  protected 203.0.113.3 <-> .1
#        iked answers Main Mode from an address it does not know, installs
#        the dynamic policies for charon's IDci through spmd (r2espd shows
#        them), pings pass through UDP-encapsulated ESP; charon's Deletes
#        remove exactly the SAs and dynamic policies iked installed.
# Usage: R2_BUILD=build-dir tests/interop/iked_ikev1_nat.sh [CASE]...
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"

B=${R2_BUILD:-$HERE/../../build}
. "$LIB/racoon2.sh"
r2_us_bins "$B"
r2_need_bins iked_ikev1_nat "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL"
netns_init r2v1n iked_ikev1_nat
need_cmd tshark dumpcap swanctl nft ping python3
charon_available || skip_all "iked_ikev1_nat: strongSwan charon not installed"

PSK='interop-iked-ikev1-nat-psk-0123456789'
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(nat rw)
(umask 077; printf '%s\n' "$PSK" >"$TEST_DIR/psk")

# topology NAME_IN ROUTER NAME_OUT INSIDE_ADDR OUTSIDE_ADDR LO_IN LO_OUT
topology() {
	local i=$1 n=$2 o=$3
	ns_add "$i"
	ns_add "$n" forward
	ns_add "$o"
	ns_link "$i" vi "$n" vi
	ns_link "$n" vo "$o" vo
	ns_addr "$i" vi "$4.$5/29"
	ns_addr "$n" vi "$4.$(($5 - 1))/29"
	ns_route "$i" default "$4.$(($5 - 1))"
	ns_addr "$n" vo 198.51.100.254/24
	ns_addr "$o" vo "198.51.100.$6/24"
	ns_addr "$i" lo "$7/32"
	ns_addr "$o" lo "$8/32"
	nat_router "$n" vo
}

# iked_conf LOCAL PEER|IP_RW MYNET PEERNET ID PEER_ID
iked_conf() {
	cat <<EOF
interface {
	ike { "$1" port 500; "$1" port 4500; };
	spmd { unix "$TEST_DIR/spmif"; };
	kernel userspace;
};
ipsec esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };
remote peer {
	acceptable_kmp { ikev1; };
	ikev1 {
		my_id fqdn "$5";
		peers_id fqdn "$6";
		peers_ipaddr $([ "$2" = IP_RW ] && echo IP_RW || echo "\"$2\" port 500");
		kmp_enc_alg { aes128_cbc; };
		kmp_hash_alg { sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$TEST_DIR/psk";
		need_pfs on;
		nat_traversal on;
		nat_keepalive_interval 2 sec;
		exchange_mode { main; };
	};
	selector_index s_out;
};
selector s_out { direction outbound; src "$3"; dst "$4"; policy_index pol; };
selector s_in { direction inbound; src "$4"; dst "$3"; policy_index pol; };
policy pol { action auto_ipsec; remote_index peer; ipsec_mode tunnel; ipsec_index { esp; }; ipsec_level require; my_sa_ipaddr "$1"; peers_sa_ipaddr $([ "$2" = IP_RW ] && echo IP_RW || echo "\"$2\""); };
EOF
}

# start_r2 HOST
start_r2() {
	local d=$TEST_DIR h=$1
	rm -f "$d/r2espd.sock" "$d/spmif" "$d/iked.sock" "$d/iked.log"
	rm -rf "$d/keys"
	start_bg espd ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || return 1
	start_bg spmd ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || return 1
	start_bg iked ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		--pidfile "$d/iked.pid" -K "$d/keys"
	wait_for "grep -q 'registered with spmd' '$d/iked.log'" 5
}
stop_r2() { stop_bg iked; stop_bg spmd; stop_bg espd; }
ikectl() { ns_exec "$H" "$IKEDCTL" -s "$TEST_DIR/iked.sock" "$@"; }
espctl() { ns_exec "$H" "$ESPCTL" -s "$TEST_DIR/r2espd.sock" "$@" 2>/dev/null; }
esp_sas() { espctl sa show | grep -c '^spi'; }
esp_encap_sas() { espctl sa show | grep -c '^spi.* udp-encap'; }
# q PYEXPR on "show sa --json": v1 = ESTABLISHED IKEv1 SAs, k1 their
# INSTALLED children
q() {
	local j
	j=$(ikectl show sa --json 2>/dev/null) || return 1
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v1 = [s for s in d["ike_sas"] if s.get("version") == 1 and s["state"] == "ESTABLISHED"]
k1 = [c for s in v1 for c in s["children"] if c["state"] == "INSTALLED"]
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$j" "$1"
}
is() { [ "$(q "$1")" = "$2" ]; }

# decode NAME : the capture of the router's outside link: clean, IKE on
# 4500, ESP only in UDP, keepalives from the inside host
decode() {
	local name=$1 kd pcap ike4500 esp4500 rawesp ka
	cap_stop "$name" || { fail "$name: capture"; return; }
	kd=$(ts_keydir "$name")
	cp "$TEST_DIR/keys/ikev1_decryption_table" "$kd/" 2>/dev/null
	pcap=$(cap_file "$name")
	check "$name: tshark: no malformed ISAKMP/ESP, no expert errors" ts_check_clean "$kd" "$pcap"
	read -r ike4500 esp4500 rawesp ka < <(ts_counts "$kd" "$pcap" \
		'isakmp && udp.port == 4500' 'esp && udp.port == 4500' 'esp && !udp' \
		'udp.port == 4500 && udp.length == 9 && ip.src == 198.51.100.254' | tr '\n' ' ')
	log "$name: outside link: IKE/4500=$ike4500 ESP/4500=$esp4500 ESP/raw=$rawesp keepalives=$ka"
	[ "${ike4500:-0}" -gt 0 ] && pass "$name: tshark: IKE floated to 4500 behind the NAT ($ike4500)" ||
		fail "$name: tshark: IKE floated to 4500 behind the NAT"
	[ "${esp4500:-0}" -gt 0 ] && [ "${rawesp:-1}" = 0 ] &&
		pass "$name: tshark: ESP only UDP-encapsulated ($esp4500 packets)" ||
		fail "$name: tshark: ESP only UDP-encapsulated (udp=$esp4500 raw=$rawesp)"
	KA=${ka:-0}
	local n_qm
	n_qm=$(ts_counts "$kd" "$pcap" 'isakmp.exchangetype == 32 && isakmp.hash')
	[ "${n_qm:-0}" -ge 3 ] &&
		pass "$name: tshark decrypts Quick Mode on 4500 with iked's ikev1_decryption_table ($n_qm)" ||
		fail "$name: tshark decrypts Quick Mode on 4500 ($n_qm)"
}

case_nat() {
	H=a
	topology a n1 b 203.0.113 66 2 203.0.113.1 203.0.113.2
	check "nat: topology: the router forwards and masquerades" \
		wait_for "ns_exec a ping -c1 -W1 198.51.100.2" 3
	iked_conf 203.0.113.66 198.51.100.2 203.0.113.1/32 203.0.113.2/32 \
		host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	charon_start b nat-b --libipsec || { fail "nat: charon"; return; }
	charon_conn nat-b c version=1 local=198.51.100.2 remote=%any \
		local_id=host-b.example remote_id=host-a.example psk="$PSK" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256-modp2048 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	charon_load nat-b || { fail "nat: charon load"; return; }
	start_r2 a || { fail "nat: iked did not start"; stop_r2; return; }
	cap_start nat n1 vo 'udp port 500 or udp port 4500' || fail "nat: capture"
	check "nat: a ping raises an ACQUIRE; IKEv1 through the NAT; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 25
	check "nat: iked: ISAKMP SA (version 1) initiator, CHILD SA UDP-encapsulated" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' initiator && is 'k1[0][\"udp_encap\"]' True" 5
	check "nat: iked log: NAT-T on the ISAKMP SA" grep -q 'established with .*NAT-T' "$TEST_DIR/iked.log"
	check "nat: charon: IKE SA ESTABLISHED behind a NAT, CHILD SA INSTALLED" \
		wait_for "charon_ike_established nat-b c && charon_child_installed nat-b c" 5
	check "nat: charon saw the remote host behind a NAT" \
		grep -q 'remote host is behind NAT' "$(charon_log nat-b)"
	check "nat: r2espd: both SAs UDP-encapsulated (r2espctl sa show)" \
		eval "[ \"\$(esp_sas)\" = 2 ] && [ \"\$(esp_encap_sas)\" = 2 ]"
	check "nat: 10 pings through the tunnel" \
		eval "ns_exec a ping -c10 -i 0.1 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
	sleep 5 # keepalives every 2 s while no IKE or ESP goes out
	check "nat: pings still pass after the idle time" \
		eval "ns_exec a ping -c2 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
	check "nat: ikedctl delete ike: charon removes its SAs, r2espd has none" \
		eval "ikectl delete ike \"\$(q 'v1[0][\"id\"]')\" >/dev/null &&
		      wait_for '! charon_ike_established nat-b c && [ \"\$(esp_sas)\" = 0 ]' 10"
	decode nat
	[ "$KA" -ge 2 ] && pass "nat: tshark: NAT keepalives (0xFF on 4500) from behind the NAT ($KA)" ||
		fail "nat: tshark: NAT keepalives from behind the NAT ($KA)"
	# nat_keepalive_interval 2 sec: never closer than that (RFC 3948
	# §2.3: only the side behind the NAT sends them)
	local gaps
	gaps=$(ts "$(ts_keydir nat)" "$(cap_file nat)" -Y 'udp.port == 4500 && udp.length == 9' \
		-T fields -e ip.src -e frame.time_relative |
		awk '$1 != "198.51.100.254" { bad = 1 } NR > 1 { g = $2 - t; if (min == "" || g < min) min = g } { t = $2 }
		     END { printf "%s %s\n", bad ? "other" : "inside", min }')
	log "nat: keepalives: $gaps (source, smallest gap in s)"
	check "nat: keepalives only from iked's side, about 2 s apart ($gaps)" \
		eval "[ \"\${gaps%% *}\" = inside ] && awk -v g=\"\${gaps#* }\" 'BEGIN { exit !(g >= 1.8) }'"
	stop_r2
	charon_stop nat-b
}

case_rw() {
	H=g
	topology c n2 g 203.0.113 74 1 203.0.113.3 203.0.113.1
	check "rw: topology: the router forwards and masquerades" \
		wait_for "ns_exec c ping -c1 -W1 198.51.100.1" 3
	iked_conf 198.51.100.1 IP_RW 203.0.113.1/32 203.0.113.3/32 \
		gw.example rw.example >"$TEST_DIR/racoon2.conf"
	start_r2 g || { fail "rw: iked did not start"; stop_r2; return; }
	local npol0
	npol0=$(espctl pol show | grep -c '203\.0\.113\.3')
	charon_start c rw-c --libipsec --keepalive 2 || { fail "rw: charon"; return; }
	charon_conn rw-c c version=1 local=%any remote=198.51.100.1 \
		local_id=rw.example remote_id=gw.example psk="$PSK" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256-modp2048 \
		local_ts=203.0.113.3/32 remote_ts=203.0.113.1/32
	charon_load rw-c || { fail "rw: charon load"; return; }
	cap_start rw n2 vo 'udp port 500 or udp port 4500' || fail "rw: capture"
	sw rw-c --initiate --child c --timeout 20 >"$TEST_DIR/init-rw.log" 2>&1
	check "rw: charon (road warrior behind the NAT): IKE ESTABLISHED, CHILD INSTALLED" \
		wait_for "charon_ike_established rw-c c && charon_child_installed rw-c c" 10
	check "rw: iked: ISAKMP SA (version 1) responder for the NAT's address, UDP-encapsulated CHILD SA" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' responder && is 'len(k1)' 1 && is 'k1[0][\"udp_encap\"]' True" 5
	check "rw: iked installed a dynamic policy for the road warrior" \
		grep -q 'CHILD SA #[0-9]* (pol): dynamic policy (reqid' "$TEST_DIR/iked.log"
	check "rw: r2espd: the dynamic policies (out, in, fwd) for 203.0.113.3 are there" \
		eval "[ \"\$(espctl pol show | grep -c '203\.0\.113\.3')\" -ge $((npol0 + 2)) ]"
	check "rw: r2espd: two UDP-encapsulated SAs" \
		eval "[ \"\$(esp_sas)\" = 2 ] && [ \"\$(esp_encap_sas)\" = 2 ]"
	check "rw: pings from the road warrior through the tunnel" \
		wait_for "ns_exec c ping -c3 -i 0.2 -W1 -q -I 203.0.113.3 203.0.113.1" 10
	check "rw: pings from iked's side to the road warrior" \
		eval "ns_exec g ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.3 >/dev/null"
	sw rw-c --terminate --ike c --timeout 10 >/dev/null 2>&1
	check "rw: charon's Deletes: iked and r2espd drop the SAs" \
		wait_for "is 'len(v1)' 0 && [ \"\$(esp_sas)\" = 0 ]" 10
	check "rw: the dynamic policies are gone, nothing else was removed" \
		wait_for "[ \"\$(espctl pol show | grep -c '203\.0\.113\.3')\" = $npol0 ] &&
			  grep -q 'dynamic policy #[0-9]* (reqid [0-9]*) removed' '$TEST_DIR/iked.log'" 5
	decode rw
	stop_r2
	charon_stop rw-c
}

for c in "${CASES[@]}"; do
	"case_$c"
done
finish
