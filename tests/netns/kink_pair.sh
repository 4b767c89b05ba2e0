#!/usr/bin/env bash
# run-by: meson (registered in src/kink/meson.build; scripts/test.sh does not run it again)
# kink_pair.sh - KINK (RFC 4430) end to end: an MIT KDC in a namespace of
# its own (host k, linked to each host on 203.0.113.0/30 and /30+4,
# addresses no IPsec selector covers) and two hosts (a, b) each
# running r2espd (userspace ESP) + spmd + kinkd, tunnel mode between
# 198.51.100.64/27 and 198.51.100.96/27 over 198.51.100.1 <-> .2.
#
#   kink_pair.sh [BUILD_DIR] [CASE...]   CASE: 2way 3way skew robust rekey ipv6
#                                        coexist reboot pfs transport u2u
#                                        (default: all)
#
# Per case: ping from a's network raises an ACQUIRE, kinkd-a sends CREATE,
# kinkd-b answers REPLY (2way: the first transform; 3way: a offers
# aes256-cbc first, b accepts only aes128-cbc, so REPLY carries ACKREQ and
# a sends ACK); two SAs in each r2espd; the ping passes through userspace
# ESP; tshark sees CREATE, REPLY (and ACK) on the KINK port; stopping
# kinkd-a sends DELETE and kinkd-b removes its SAs from its r2espd.
# skew: kinkd-b's Kerberos clock runs 600 s ahead (beyond the 300 s
# tolerance): it answers the CREATE with KRB_ERROR (KRB_AP_ERR_SKEW) and
# kinkd-a retries with b's time; the SAs come up.
# coexist: both hosts also run iked, with a second remote (IKEv2, PSK)
# for 198.51.100.128/27 <-> .160/27: one ACQUIRE goes to kinkd, the other
# to iked; both pings pass, four SAs per r2espd.
# 2way also: kinkctl show sa/peers --json, "kinkctl delete all" on a sends
# DELETE (b's SAs go), and traffic then makes a new pair.
# reboot: kinkd-a is killed (-9, no DELETE) and its SAs vanish from its
# r2espd, as in a reboot; restarted, its next CREATE carries a new epoch
# and kinkd-b replaces the old pair (two SAs in b's r2espd, not four).
# Then the other way without traffic: kinkd-b crashes and restarts, and
# kinkd-a's own STATUS (dpd_delay 2 sec) learns b's new epoch from the
# AP_REP and removes its stale pair; traffic makes a new one.
# ipv6: the 2way case with IPv6 inner and outer addresses (6in6).
# transport: ipsec_mode transport between 198.51.100.1 and .2 themselves
# (racoon2's KINK samples' mode) on the KINK port 910, which r2espd's
# policy rules keep out of its TUN route: the ping is ESP on the wire, no
# clear ICMP, and the KINK messages are not captured.
# u2u: host b has no keytab, only a TGT for its principal in KRB5CCNAME
# (kinit): kinkd-b answers the first CREATE with KRB_ERROR
# (KRB_AP_ERR_USER_TO_USER_REQUIRED), kinkd-a sends GETTGT (RFC 4430 §4.3),
# gets b's TGT in KINK_TGT_REP, asks the KDC for a User-to-User ticket and
# sends the CREATE again; the SAs come up and the ping passes.
# pfs: both kink blocks have need_pfs on (kmp_dh_group curve25519): CREATE
# and REPLY carry KE, g^xy goes into the keys and traffic passes; then
# kinkd-a is restarted without need_pfs and kinkd-b refuses its CREATE
# (no KE) with an authenticated Notify NO-PROPOSAL-CHOSEN: no SAs.
# rekey: ipsec_sa_lifetime_time 20 s; at the soft expiry (80 %) kinkd-a
# makes a new pair with CREATE and then DELETEs the old one, under a
# 20 pkt/s ping (at most 2 lost); the SPIs change, two SAs per r2espd.
# robust: after the 2-way case, malformed and replayed KINK is sent to
# kinkd-b from a's address: the captured CREATE again (a retransmission:
# the cached REPLY is resent), the same CREATE with another XID (replayed
# AP_REQ), truncated, unknown payload, same XID with other content; kinkd-b
# counts them (SIGUSR1 stats), installs nothing and keeps answering.
# Prints PASS/FAIL lines (SKIP, exit 77, without root/binaries/krb5kdc/
# tshark); exit 1 on any FAIL.  Namespaces, daemons, captures and the
# temp dir (kept on failure or KEEP=1) through tests/lib/netns.sh and
# tests/lib/tshark.sh (cap_start/cap_stop).
# Each case's capture (CASE.pcap), its KINK port (CASE.port), the KDC's
# keytab (CASE.keytab) and a stamp (stamp-CASE, written when the run ends)
# are copied to KINK_CAPTURE_DIR, by default BUILD_DIR/tests/kink-captures
# (each run replaces only its own cases', so two runs with different cases,
# as meson's kink_pair_1 and kink_pair_2, may share it): kink_wire.sh checks
# them there instead of running kink_pair.sh again when the stamps are
# newer than kinkd.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/tshark.sh"
netns_init r2k kink_pair
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || skip_all "kink_pair: no build dir"
PATH=$PATH:/usr/sbin
SPMD=$BUILD/src/spm/spmd
IKED=$BUILD/src/ike/iked
ESPD=$BUILD/src/kernel/userspace/r2espd
ESPCTL=$BUILD/src/kernel/userspace/r2espctl
KINKD=${KINKD:-$BUILD/src/kink/kinkd}
KINKCTL=$BUILD/src/kink/kinkctl
for b in "$SPMD" "$ESPD" "$ESPCTL" "$KINKD"; do
	[ -x "$b" ] || skip_all "kink_pair: $b not built"
done
need_cmd krb5kdc kdb5_util kadmin.local ktutil tshark dumpcap python3 ping
. "$HERE/kink_kdc.sh"
LUA=$TOP/tools/kink.lua

CASES=${*:-2way 3way skew robust rekey ipv6 coexist reboot pfs transport u2u}
# outer (KINK and ESP) and inner addresses; "ipv6" switches to 6in6
set_v4() { GA=198.51.100.1 GB=198.51.100.2 NETA=198.51.100.64/27 NETB=198.51.100.96/27 IA=198.51.100.65 IB=198.51.100.97; }
set_v6() { GA=2001:db8:1::1 GB=2001:db8:1::2 NETA=2001:db8:a::/48 NETB=2001:db8:b::/48 IA=2001:db8:a::1 IB=2001:db8:b::1; }
# transport mode: the outer addresses are the selectors; KINK on 910
set_transport() { set_v4; NETA=198.51.100.1/32 NETB=198.51.100.2/32 IA=198.51.100.1 IB=198.51.100.2 MODE=transport KPORT=910; }
MODE=tunnel
set_v4
declare -A KARGS=() PFS=() KX=()
# hosts a and b, the KDC's host k (tests/lib/netns.sh names them); the
# daemons' logs are $T/DAEMON-HOST.log (start_bg), their files in $T/HOST
T=$TEST_DIR
REALM=KINK.TEST
KPORT0=${KINK_PORT:-9100}
KPORT=$KPORT0

stop_hosts() {
	local h
	for h in a b; do stop_bg "kinkd-$h"; stop_bg "iked-$h"; done
	for h in a b; do stop_bg "spmd-$h"; done
	for h in a b; do stop_bg "espd-$h"; done
	cap_end "$c"
	cap_end "$c-esp"
}
# cap_end NAME : the capture's file complete (cap_stop), if it still runs
cap_end() { ! bg_alive "cap-$1" || cap_stop "$1" >/dev/null; }

net_up() {
	ns_add a && ns_add b && ns_add k || return 1
	ns_link a va b vb || return 1
	ns_addr a va 198.51.100.1/30 && ns_addr b vb 198.51.100.2/30 &&
		ns_addr a lo 198.51.100.65/32 && ns_addr b lo 198.51.100.97/32 &&
		ns_addr a lo 198.51.100.129/32 && ns_addr b lo 198.51.100.161/32 &&
		ns_addr a va 2001:db8:1::1/64 && ns_addr b vb 2001:db8:1::2/64 &&
		ns_addr a lo 2001:db8:a::1/128 && ns_addr b lo 2001:db8:b::1/128 ||
		return 1
	# the KDC: its own links, outside every selector
	ns_link k ka a vk && ns_link k kb b vk || return 1
	ns_addr k ka 203.0.113.1/30 && ns_addr k kb 203.0.113.5/30 &&
		ns_addr a vk 203.0.113.2/30 && ns_addr b vk 203.0.113.6/30
}

kdc_up() {
	KDC_LISTEN_ALL=1 kdc_setup "$T/kdc" $REALM 203.0.113.1 88 \
		"kink/host-a.example@$REALM" "kink/host-b.example@$REALM" ||
		return 1
	sed 's/kdc = .*/kdc = 203.0.113.1:88/' "$T/kdc/krb5.conf" >"$T/krb5-a.conf"
	sed 's/kdc = .*/kdc = 203.0.113.5:88/' "$T/kdc/krb5.conf" >"$T/krb5-b.conf"
	kdc_start "$T/kdc" $REALM "$(ns k)" || return 1
	on_cleanup "kdc_stop $T/kdc"
}

# conf HOST ESP_ENC_LIST
conf() {
	local h=$1 enc=$2 me peer mynet peernet other
	if [ "$h" = a ]; then
		me=$GA peer=$GB other=b mynet=$NETA peernet=$NETB
	else
		me=$GB peer=$GA other=a mynet=$NETB peernet=$NETA
	fi
	mkdir -p "$T/$h"
	cat >"$T/$h/racoon2.conf" <<EOC
interface {
	kink { "$me" port $KPORT; };
	spmd { unix "$T/$h/spmif"; };
	kernel userspace;
};
remote peer {
	acceptable_kmp { kink; };
	kink {
		$( [ -n "${PFS[$h]:-}" ] && echo "need_pfs on; kmp_dh_group { curve25519; };")
		${KX[$h]:-}
		my_principal "kink/host-$h.example@$REALM";
		peers_principal "kink/host-$other.example@$REALM";
		peers_ipaddr "$peer" port $KPORT;
	};
	selector_index sel_out;
};
selector sel_out { direction outbound; src "$mynet"; dst "$peernet"; policy_index pol; };
selector sel_in { direction inbound; src "$peernet"; dst "$mynet"; policy_index pol; };
policy pol {
	action auto_ipsec;
	remote_index peer;
	ipsec_mode $MODE;
	ipsec_index { esp; };
	ipsec_level require;
	$( [ "$MODE" = tunnel ] && printf 'my_sa_ipaddr "%s";\n\tpeers_sa_ipaddr "%s";' "$me" "$peer")
};
ipsec esp { ipsec_sa_lifetime_time ${LIFE:-1 hour}; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { $enc }; esp_auth_alg { hmac_sha2_256; }; };
EOC
	[ "$c" = coexist ] || return 0
	local inet=198.51.100.128/27 pnet=198.51.100.160/27
	[ "$h" = b ] && inet=198.51.100.160/27 pnet=198.51.100.128/27
	printf 'kink-pair-coexist-%s\n' "$$" >"$T/psk"
	chmod 600 "$T/psk"
	sed -i "s|interface {|interface {\n\tike { \"$me\" port 500; };|" "$T/$h/racoon2.conf"
	cat >>"$T/$h/racoon2.conf" <<EOC
remote ipeer {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "host-$h.example";
		peers_id fqdn "host-$other.example";
		peers_ipaddr "$peer" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { curve25519; };
		kmp_auth_method { psk; };
		pre_shared_key "$T/psk";
	};
	selector_index isel_out;
};
selector isel_out { direction outbound; src "$inet"; dst "$pnet"; policy_index ipol; };
selector isel_in { direction inbound; src "$pnet"; dst "$inet"; policy_index ipol; };
policy ipol {
	action auto_ipsec;
	remote_index ipeer;
	ipsec_mode tunnel;
	ipsec_index { esp; };
	ipsec_level require;
	my_sa_ipaddr "$me";
	peers_sa_ipaddr "$peer";
};
EOC
}

start() {
	local h=$1 d=$T/$1 ns
	ns=$(ns "$h")
	export RACOON2_ESPD_SOCKET=$d/r2espd.sock
	start_bg "espd-$h" ip netns exec "$ns" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "test -S '$d/r2espd.sock'" 5 || { log "r2espd $h did not start"; return 1; }
	start_bg "spmd-$h" ip netns exec "$ns" "$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S '$d/spmif'" 5 || { log "spmd $h did not start"; return 1; }
	mkdir -p "$d/rc"
	local kt="FILE:$T/kdc/host-$h.example.keytab" cc=
	if [ "$c" = u2u ] && [ "$h" = b ]; then
		# no keytab for kinkd-b: only the TGT kinit leaves in a ccache
		kt="FILE:$d/no.keytab" cc="FILE:$d/ccache"
		ip netns exec "$ns" env KRB5_CONFIG="$T/krb5-$h.conf" KRB5CCNAME="$cc" \
			kinit -k -t "$T/kdc/host-$h.example.keytab" "kink/host-$h.example@$REALM" ||
			{ log "kinit $h failed"; return 1; }
	fi
	start_bg "kinkd-$h" ip netns exec "$ns" env KRB5_CONFIG="$T/krb5-$h.conf" \
		KRB5_KTNAME="$kt" ${cc:+KRB5CCNAME=$cc} \
		KRB5RCACHEDIR="$d/rc" \
		"$KINKD" -F -d -f "$d/racoon2.conf" -p "$d/kinkd.pid" -S "$d/kinkd.sock" ${KARGS[$h]:-}
	wait_for "grep -q 'kinkd kink/' '$T/kinkd-$h.log'" 5 || { log "kinkd $h did not start"; return 1; }
	if [ "$c" = coexist ]; then
		start_bg "iked-$h" ip netns exec "$ns" "$IKED" -F -d -f "$d/racoon2.conf" \
			--ctl-socket "$d/iked.sock" -K "$d/keys"
		wait_for "grep -q 'registered with spmd' '$T/iked-$h.log'" 5 || { log "iked $h did not start"; return 1; }
	fi
}

esp_sas() { ns_exec "$1" "$ESPCTL" -s "$T/$1/r2espd.sock" sa show 2>/dev/null | grep -c -i 'spi'; }
esp_sas_is() { [ "$(esp_sas "$1")" = "$2" ]; }

run_case() {
	local c=$1 enc_a enc_b
	KARGS=()
	PFS=()
	KX=()
	LIFE=
	MODE=tunnel KPORT=$KPORT0
	set_v4
	[ "$c" = ipv6 ] && set_v6
	[ "$c" = transport ] && set_transport
	[ "$c" = skew ] && KARGS[b]="-T 600"
	[ "$c" = rekey ] && LIFE="20 sec"
	[ "$c" = pfs ] && PFS=([a]=1 [b]=1)
	[ "$c" = reboot ] && KX=([a]="dpd_delay 2 sec;")
	# 2way: kinkd-a exports its ESP keys (-K) for tshark
	[ "$c" = 2way ] && KARGS[a]="-K $T/a/keys"
	if [ "$c" = 3way ]; then
		enc_a="aes256_cbc; aes128_cbc;" enc_b="aes128_cbc;"
	else
		enc_a="aes128_cbc; aes256_cbc;" enc_b="aes128_cbc; aes256_cbc;"
	fi
	conf a "$enc_a"
	conf b "$enc_b"
	# a capture per case on a's link (tests/lib/tshark.sh: $T/$c.pcap)
	cap_start "$c" a va "udp port $KPORT" || fail "$c: capture of the KINK port"
	if [ "$c" = 2way ] || [ "$c" = transport ]; then
		cap_start "$c-esp" a va "esp or icmp" || fail "$c: capture of ESP"
	fi
	start a && start b || { fail "$c: daemons start"; stop_hosts; return; }
	pass "$c: KDC, r2espd, spmd and kinkd up on both hosts"
	ns_exec a ping -q -c 1 -W 1 -I "$IA" "$IB" >/dev/null 2>&1
	if wait_for "esp_sas_is a 2" 10 && wait_for "esp_sas_is b 2" 5; then
		pass "$c: traffic-triggered CREATE: two ESP SAs in each r2espd"
	else
		fail "$c: SAs installed (a=$(esp_sas a) b=$(esp_sas b))"
	fi
	if ns_exec a ping -q -c 3 -W 2 -I "$IA" "$IB" >/dev/null 2>&1; then
		pass "$c: ping passes through userspace ESP"
	else
		fail "$c: ping through the tunnel"
	fi
	if [ "$c" = coexist ]; then
		ns_exec a ping -q -c 1 -W 1 -I 198.51.100.129 198.51.100.161 >/dev/null 2>&1
		wait_for "esp_sas_is a 4" 20 && wait_for "esp_sas_is b 4" 10
		if ns_exec a ping -q -c 3 -W 2 -I 198.51.100.129 198.51.100.161 >/dev/null 2>&1 &&
			esp_sas_is a 4 && esp_sas_is b 4; then
			pass "$c: the IKEv2 remote's traffic passes too (four SAs per r2espd)"
		else
			fail "$c: IKEv2 remote (a=$(esp_sas a) b=$(esp_sas b) SAs)"
		fi
		grep -q "ACQUIRE for policy pol " "$T/kinkd-a.log" && ! grep -q "ACQUIRE for policy ipol" "$T/kinkd-a.log" &&
			grep -q "ACQUIRE for policy ipol" "$T/iked-a.log" && ! grep -q "ACQUIRE for policy pol " "$T/iked-a.log" &&
			pass "$c: spmd gave the KINK policy's ACQUIRE to kinkd and the IKEv2 one to iked" ||
			fail "$c: ACQUIRE routing"
	elif [ "$c" = skew ]; then
		grep -q "KRB_ERROR from peer: code 37" "$T/kinkd-a.log" &&
			grep -q "clock skew with peer: retrying" "$T/kinkd-a.log" &&
			pass "$c: KRB_AP_ERR_SKEW answered with KRB_ERROR, retried with the peer's time" ||
			fail "$c: skew recovery"
	elif [ "$c" = 3way ]; then
		grep -q "3-way (ACKREQ)" "$T/kinkd-b.log" && grep -q "ACK from" "$T/kinkd-b.log" &&
			pass "$c: responder chose a later transform: ACKREQ, ACK, outbound SA on the ACK" ||
			fail "$c: 3-way exchange"
	elif [ "$c" = u2u ]; then
		grep -q "KRB_ERROR from peer: code 69" "$T/kinkd-a.log" &&
			grep -q "GETTGT from peer: our TGT sent" "$T/kinkd-b.log" &&
			grep -q "TGT of peer received: User-to-User" "$T/kinkd-a.log" &&
			grep -q "CREATE from peer: 2-way" "$T/kinkd-b.log" &&
			[ ! -e "$T/b/no.keytab" ] &&
			pass "$c: kinkd-b without keytab: KRB_AP_ERR_USER_TO_USER_REQUIRED, GETTGT/TGT_REP, then a User-to-User CREATE" ||
			fail "$c: GETTGT / User-to-User"
	elif [ "$c" = pfs ]; then
		grep -q "CREATE from peer: 2-way (PFS)" "$T/kinkd-b.log" &&
			grep -q "CREATE with peer done (2-way, PFS)" "$T/kinkd-a.log" &&
			pass "$c: CREATE and REPLY with KE (need_pfs): g^xy in the keys of both sides" ||
			fail "$c: PFS exchange"
	else
		grep -q "CREATE from peer: 2-way" "$T/kinkd-b.log" &&
			pass "$c: optimistic 2-way CREATE" || fail "$c: 2-way CREATE"
	fi
	[ "$c" = rekey ] && rekey
	[ "$c" = 2way ] && keyexport_check
	[ "$c" = transport ] && transport_check
	[ "$c" = 2way ] && ctl_checks
	[ "$c" = reboot ] && reboot
	[ "$c" = pfs ] && pfs_refused
	local left=0
	[ "$c" = coexist ] && left=2
	stop_bg kinkd-a
	[ "$c" = robust ] && robust
	if wait_for "esp_sas_is b $left" 5; then
		pass "$c: kinkd-a stopped: DELETE removed the SAs of b"
	else
		fail "$c: DELETE on stop (b has $(esp_sas b) SAs)"
	fi
	esp_sas_is a $left && pass "$c: kinkd-a removed its own SAs" || fail "$c: a's SAs left: $(esp_sas a)"
	stop_hosts
	# tests/netns/kink_wire.sh checks the capture (tests/lib/kinkwire.sh)
	if cp "$T/$c.pcap" "$CAPDIR/" 2>/dev/null && cp "$T/kdc/all.keytab" "$CAPDIR/$c.keytab"; then
		echo "$KPORT" >"$CAPDIR/$c.port"
		CAPTURED="$CAPTURED $c"
	fi
	# every message through the RFC 4430 dissector (tools/kink.lua)
	# one tshark pass: each message's type and its expert severities
	# (a malformed frame is an expert error too; error = 8388608)
	local fields msgs bad
	fields=$(tshark -n -X lua_script:"$LUA" -r "$T/$c.pcap" -d "udp.port==$KPORT,kink4430" \
		-T fields -e kink4430.type -e _ws.expert.severity 2>/dev/null)
	msgs=$(cut -f1 <<<"$fields" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	echo "# $c: KINK message types on the wire (count type): $msgs"
	[ "$c" = robust ] && return
	bad=$(awk -F'\t' '{ n = split($2, s, ","); for (i = 1; i <= n; i++) if (s[i] + 0 >= 8388608) { c++; break } }
		END { print c + 0 }' <<<"$fields")
	[ "$bad" = 0 ] && pass "$c: every KINK message well-formed for the RFC 4430 dissector" ||
		fail "$c: $bad messages flagged by the dissector"
	# independent: the session key from b's keytab verifies every Cksum
	# and opens every KINK_ENCRYPT (tests/netns/kink_verify.c)
	if [ "$c" = 2way ] || [ "$c" = ipv6 ]; then
		local hexes vout
		mapfile -t hexes < <(tshark -n -r "$T/$c.pcap" -T fields -e udp.payload 2>/dev/null)
		vout=$(KRB5RCACHETYPE=none KRB5_CONFIG=$T/krb5-b.conf "$BUILD/src/kink/kink-verify" \
			"FILE:$T/kdc/host-b.example.keytab" "kink/host-b.example@$REALM" "${hexes[@]}" 2>&1)
		echo "$vout" | sed 's/^/# /'
		! grep -q FAIL <<<"$vout" && [ "$(grep -c '^PASS' <<<"$vout")" -ge 6 ] &&
			pass "$c: every Cksum and KINK_ENCRYPT verified with the session key recovered from the keytab" ||
			fail "$c: independent Cksum/KINK_ENCRYPT check"
	fi
	local want="1 3 2"
	[ "$c" = 3way ] && want="1 3 5 2"
	[ "$c" = u2u ] && want="1 4 3 2"
	local ok=1 t
	for t in $want; do grep -q " $t," <<<"$msgs" || ok=0; done
	[ $ok = 1 ] && pass "$c: tshark sees $(sed 's/1/CREATE/;s/3/REPLY/;s/5/ACK/;s/2/DELETE/;s/4/GETTGT/' <<<"$want") on udp port $KPORT" ||
		fail "$c: messages on the wire ($msgs)"
	for h in a b; do rm -f "$T/$h/spmif" "$T/$h/r2espd.sock"; done
}

# transport: the ping was ESP between the hosts, never clear ICMP
transport_check() {
	local esp icmp
	sleep 0.5 # let dumpcap see the last reply before tshark stops
	cap_end transport-esp
	esp=$(tshark -n -r "$T/transport-esp.pcap" -Y esp 2>/dev/null | wc -l)
	icmp=$(tshark -n -r "$T/transport-esp.pcap" -Y icmp 2>/dev/null | wc -l)
	ns_exec a "$KINKCTL" -s "$T/a/kinkd.sock" show sa | grep -q " transport" &&
		[ "$esp" -ge 6 ] && [ "$icmp" = 0 ] &&
		pass "transport: transport-mode SAs, the ping is ESP on the wire ($esp packets, no clear ICMP)" ||
		fail "transport: ESP on the wire (esp=$esp icmp=$icmp)"
}

# kinkd -K: DIR/esp_sa 0600 in Wireshark's UAT format; tshark decrypts
# every ESP packet of the ping with it and every ICV verifies
keyexport_check() {
	local f=$T/a/keys/esp_sa kd n good dec
	sleep 0.5
	cap_end 2way-esp
	if [ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] && [ "$(wc -l <"$f")" = 2 ] &&
		grep -q "KEY EXPORT IS ON" "$T/kinkd-a.log"; then
		pass "2way: kinkd -K wrote two esp_sa UAT lines, mode 0600, with a warning"
	else
		fail "2way: key export file ($(stat -c %a "$f" 2>/dev/null) $(wc -l <"$f" 2>/dev/null))"
	fi
	kd=$T/ws-esp
	mkdir -p "$kd" && chmod 700 "$kd"
	printf '%s\n' "esp.enable_encryption_decode: TRUE" \
		"esp.enable_authentication_check: TRUE" >"$kd/preferences"
	cp "$f" "$kd/esp_sa" 2>/dev/null
	n=$(tshark -n -r "$T/2way-esp.pcap" -Y esp 2>/dev/null | wc -l)
	good=$(WIRESHARK_CONFIG_DIR=$kd tshark -n -r "$T/2way-esp.pcap" \
		-Y 'esp.icv_good == 1' 2>/dev/null | wc -l)
	dec=$(WIRESHARK_CONFIG_DIR=$kd tshark -n -r "$T/2way-esp.pcap" \
		-Y 'esp.decrypted_data' 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] && [ "$good" = "$n" ] && [ "$dec" = "$n" ] &&
		pass "2way: tshark decrypts every ESP packet with kinkd's exported keys (esp=$n icv_good=$good decrypted=$dec)" ||
		fail "2way: tshark ESP decryption with exported keys (esp=$n icv_good=$good decrypted=$dec)"
}

spis() { ns_exec "$1" "$ESPCTL" -s "$T/$1/r2espd.sock" sa show 2>/dev/null | grep -o -i 'spi[= ]*0x[0-9a-f]*' | sort | tr '\n' ' '; }
rekey() {
	local before after out tx rx
	before=$(spis a)
	out=$(ns_exec a ping -q -i 0.05 -W 1 -c 500 -I 198.51.100.65 198.51.100.97 2>&1)
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	after=$(spis a)
	echo "# rekey: SAs before: $before after: $after; ping lost $((tx - rx))/$tx"
	grep -q "rekeyed: deleting old SAs" "$T/kinkd-a.log" && [ "$before" != "$after" ] &&
		pass "rekey: new CREATE at the soft lifetime, then DELETE of the old pair" ||
		fail "rekey: no rekey seen"
	[ $((tx - rx)) -le 2 ] && pass "rekey: under traffic, lost $((tx - rx))/$tx" ||
		fail "rekey: lost $((tx - rx))/$tx"
	esp_sas_is a 2 && esp_sas_is b 2 && pass "rekey: old SAs gone (two per r2espd)" ||
		fail "rekey: SA count a=$(esp_sas a) b=$(esp_sas b)"
}

kctl() { local h=$1; shift; ns_exec "$h" "$KINKCTL" -s "$T/$h/kinkd.sock" "$@"; }
jq_py() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

ctl_checks() {
	local n e
	n=$(kctl a show sa --json | jq_py 'len([s for s in d["sas"] if s["in"] and s["out"]])')
	[ "$n" = 1 ] && pass "2way: kinkctl show sa --json: one installed pair" || fail "2way: kinkctl show sa ($n)"
	e=$(kctl b show peers --json | jq_py 'd["peers"][0]["epoch_known"] and d["peers"][0]["epoch"] > 0')
	[ "$e" = True ] && pass "2way: kinkctl show peers --json: the peer's epoch" || fail "2way: kinkctl show peers ($e)"
	kctl a delete all >>"$T/checks.log" 2>&1
	wait_for "esp_sas_is b 0" 5 && esp_sas_is a 0 &&
		pass "2way: kinkctl delete all: DELETE removed the pair on both hosts" ||
		fail "2way: delete (a=$(esp_sas a) b=$(esp_sas b))"
	ns_exec a ping -q -c 1 -W 1 -I "$IA" "$IB" >/dev/null 2>&1
	wait_for "esp_sas_is a 2" 10 && wait_for "esp_sas_is b 2" 5 &&
		ns_exec a ping -q -c 2 -W 2 -I "$IA" "$IB" >/dev/null 2>&1 &&
		pass "2way: traffic after the DELETE makes a new pair" || fail "2way: no new pair after DELETE"
}

# restart_kinkd HOST: a new kinkd (its old log kept as kinkd-HOST.log.N)
restart_kinkd() {
	local h=$1 d=$T/$1 n=1
	stop_bg "kinkd-$h"
	rm -f "$d/kinkd.sock"
	while [ -e "$T/kinkd-$h.log.$n" ]; do n=$((n + 1)); done
	mv "$T/kinkd-$h.log" "$T/kinkd-$h.log.$n"
	start_bg "kinkd-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" KRB5_CONFIG="$T/krb5-$h.conf" \
		KRB5_KTNAME="FILE:$T/kdc/host-$h.example.keytab" KRB5RCACHEDIR="$d/rc" \
		"$KINKD" -F -d -f "$d/racoon2.conf" -p "$d/kinkd.pid" -S "$d/kinkd.sock"
	wait_for "grep -q 'kinkd kink/' '$T/kinkd-$h.log'" 5
}

# kill -9 HOST's kinkd and drop its SAs from its r2espd, as a reboot does
crash_kinkd() {
	local h=$1 me=$GA peer=$GB j si so
	[ "$h" = b ] && me=$GB peer=$GA
	j=$(kctl "$h" show sa --json)
	si=$(jq_py 'd["sas"][0]["spi_in"]' <<<"$j")
	so=$(jq_py 'd["sas"][0]["spi_out"]' <<<"$j")
	stop_bg "kinkd-$h" KILL
	ns_exec "$h" "$ESPCTL" -s "$T/$h/r2espd.sock" sa del dst "$me" spi "$si" >>"$T/checks.log" 2>&1
	ns_exec "$h" "$ESPCTL" -s "$T/$h/r2espd.sock" sa del dst "$peer" spi "$so" >>"$T/checks.log" 2>&1
}

# initiating STATUS (dpd_delay 2 sec on a): kinkd-b crashes and comes
# back with a new epoch and no SAs, without traffic; kinkd-a's next STATUS
# gets b's new epoch in the AP_REP and removes its stale pair; traffic
# then makes a new one
status_dpd() {
	crash_kinkd b
	sleep 1.1
	restart_kinkd b
	if wait_for "grep -q 'peer peer rebooted' '$T/kinkd-a.log'" 15 && wait_for "esp_sas_is a 0" 5 &&
		grep -q "STATUS to peer" "$T/kinkd-a.log"; then
		pass "reboot: kinkd-a's STATUS (dpd_delay) saw kinkd-b's new epoch and removed the stale pair"
	else
		fail "reboot: STATUS dead-peer detection (a: $(esp_sas a) SAs)"
	fi
	ns_exec a ping -q -c 1 -W 1 -I "$IA" "$IB" >/dev/null 2>&1
	wait_for "esp_sas_is a 2" 10 && wait_for "esp_sas_is b 2" 5 &&
		ns_exec a ping -q -c 2 -W 2 -I "$IA" "$IB" >/dev/null 2>&1 &&
		pass "reboot: traffic after the STATUS makes a new pair" || fail "reboot: no new pair after STATUS"
}

reboot() {
	crash_kinkd a
	sleep 1.1 # a new second: a new epoch
	restart_kinkd a
	ns_exec a ping -q -c 1 -W 1 -I "$IA" "$IB" >/dev/null 2>&1
	wait_for "esp_sas_is a 2" 10
	if wait_for "grep -q 'peer peer rebooted' '$T/kinkd-b.log'" 5 && wait_for "esp_sas_is b 2" 5 &&
		ns_exec a ping -q -c 2 -W 2 -I "$IA" "$IB" >/dev/null 2>&1; then
		pass "reboot: the new epoch told kinkd-b, which replaced the old pair (b: $(esp_sas b) SAs)"
	else
		fail "reboot: epoch (b: $(esp_sas b) SAs)"
	fi
	status_dpd
}

# pfs: kinkd-a restarted without need_pfs; kinkd-b (need_pfs on) must
# refuse its CREATE, which has no KE, and install nothing
pfs_refused() {
	local d=$T/a
	stop_bg kinkd-a
	wait_for "esp_sas_is b 0" 5
	PFS=([b]=1)
	conf a "aes128_cbc; aes256_cbc;"
	restart_kinkd a
	ns_exec a ping -q -c 1 -W 1 -I "$IA" "$IB" >/dev/null 2>&1
	if wait_for "grep -q 'no KE but need_pfs is on; refused' '$T/kinkd-b.log'" 5 &&
		wait_for "grep -q 'CREATE refused by peer: Notify 14' '$T/kinkd-a.log'" 5 &&
		esp_sas_is a 0 && esp_sas_is b 0; then
		pass "pfs: a CREATE without KE is refused by need_pfs (Notify NO-PROPOSAL-CHOSEN, no SAs)"
	else
		fail "pfs: fail closed without KE (a=$(esp_sas a) b=$(esp_sas b))"
	fi
}

# robust: inject into kinkd-b from a's KINK address (kinkd-a stopped)
robust() {
	local create stats
	cap_end robust
	create=$(tshark -n -r "$T/robust.pcap" -T fields -e udp.payload 2>/dev/null | grep '^01' | head -1)
	[ -n "$create" ] || { fail "robust: no CREATE captured"; return; }
	wait_for "esp_sas_is b 0" 5
	ns_exec a python3 - "$create" "$KPORT" <<'EOP' >>"$T/inject.log" 2>&1
import socket, sys, time
c = bytes.fromhex(sys.argv[1]); port = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.1", port)); s.settimeout(1.0)
def tx(b, want_reply):
    s.sendto(b, ("198.51.100.2", port))
    try:
        r = s.recv(65535); print("reply", r[0], len(r))
        return True
    except socket.timeout:
        print("no reply"); return False
ok = tx(c, True)                      # retransmission: cached REPLY
x = bytearray(c); x[8:12] = b"\xde\xad\xbe\xef"
tx(bytes(x), False)                   # replayed AP_REQ, new XID
tx(c[:20], False)                     # truncated
y = bytearray(c); y[12] = 9
tx(bytes(y), False)                   # unknown first payload
z = bytearray(c); z[-1] ^= 1
tx(bytes(z), False)                   # same XID, other content (Cksum)
print("dup-reply" if ok else "no-dup-reply")
EOP
	grep -q dup-reply "$T/inject.log" && ! grep -q no-dup-reply "$T/inject.log" &&
		pass "robust: a retransmitted CREATE gets the cached REPLY" ||
		fail "robust: reply cache"
	kill -USR1 "$(bg_pid kinkd-b)"
	sleep 0.5
	stats=$(grep "stats:" "$T/kinkd-b.log" | tail -1)
	echo "# kinkd-b $stats"
	grep -q "replay [1-9]" <<<"$stats" && pass "robust: replayed AP_REQ refused and counted" ||
		fail "robust: replay counted"
	grep -q "bad [3-9]" <<<"$stats" && pass "robust: truncated, unknown-payload and XID-reuse messages dropped and counted" ||
		fail "robust: malformed counted"
	grep -q "dup [1-9]" <<<"$stats" && pass "robust: retransmission counted as dup" || fail "robust: dup"
	esp_sas_is b 0 && pass "robust: nothing installed by the injected messages" || fail "robust: SAs appeared"
	bg_alive kinkd-b && pass "robust: kinkd-b still running" || fail "robust: kinkd-b died"
}

CAPDIR=${KINK_CAPTURE_DIR:-$BUILD/tests/kink-captures}
CAPTURED=
mkdir -p "$CAPDIR"
for c in $CASES; do rm -f "$CAPDIR/$c".* "$CAPDIR/stamp-$c"; done
net_up || { fail "namespaces"; finish; }
kdc_up || { fail "KDC in its own namespace"; finish; }
pass "MIT KDC up in $(ns k) (203.0.113.1/.5)"
for c in $CASES; do run_case "$c"; done
for c in $CAPTURED; do : >"$CAPDIR/stamp-$c"; done
finish
