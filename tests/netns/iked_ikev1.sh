#!/usr/bin/env bash
# iked_ikev1.sh - issue 11: two iked hosts speaking IKEv1 (RFC 2409) with
# each other, in network namespaces, each running r2espd (userspace ESP)
# + spmd + iked with `acceptable_kmp { ikev1; }` and an `ikev1 {}` block
# (Main Mode PSK, need_pfs, nat_traversal, dpd_delay).
#
#   - iked --check refuses what IKEv1 here cannot do, with file:line
#     (exchange_mode base, transport mode, rsasig without my_public_key)
#   - a ping raises an ACQUIRE; spmd routes it to iked registered as
#     ikev1; Main Mode + Quick Mode (PFS) follow; the ping passes through
#     the two r2espd
#   - `ikedctl show sa --json` lists the ISAKMP SA (version 1) and its
#     CHILD SA on both hosts, SPIs crossed; two SAs in each r2espd
#   - DPD: dpd_delay 2 s on a; the R-U-THERE/ACK pairs on the wire
#   - `ikedctl delete child ID` on a: Informational Delete, both
#     data planes lose the pair; a new ping negotiates again (Quick Mode
#     on the same ISAKMP SA)
#   - tshark dissects every ISAKMP datagram without malformed/expert
#     errors, decrypts the encrypted ones with iked's
#     ikev1_decryption_table and the ESP with its esp_sa export
#   - iked stops: Deletes sent, its SAs leave r2espd
#   - DPD: iked b killed, a declares it dead and removes its SAs
# Usage: R2_BUILD=build-dir R2_TOP=repo tests/netns/iked_ikev1.sh
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/tshark.sh"

B=${R2_BUILD:-$HERE/../../build}
. "$LIB/racoon2.sh"
r2_us_bins "$B"
r2_need_bins iked_ikev1 "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL"
netns_init r2k1 iked_ikev1
need_cmd tshark dumpcap ping python3

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

(umask 077; printf 'ikev1-netns-psk-%s-0123456789\n' "$$" >"$TEST_DIR/psk")

# conf HOST ME PEER MYNET PEERNET [EXTRA ikev1 lines] [MODE] [AUTH] [EXMODE]
conf() {
	local h=$1 other=b
	[ "$h" = b ] && other=a
	cat <<EOF
interface {
	ike { "$2" port 500; };
	spmd { unix "$TEST_DIR/$h/spmif"; };
	kernel userspace;
};
remote peer {
	acceptable_kmp { ikev1; };
	ikev1 {
		exchange_mode { ${9:-main}; };
		my_id fqdn "host-$h.example";
		peers_id fqdn "host-$other.example";
		peers_ipaddr "$3" port 500;
		kmp_enc_alg { aes128_cbc; aes256_cbc; };
		kmp_hash_alg { sha2_256; sha1; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { ${8:-psk}; };
		pre_shared_key "$TEST_DIR/psk";
		need_pfs on;
		nat_traversal on;
		kmp_sa_lifetime_time 1 hour;
		$6
	};
	selector_index sel_out;
};
selector sel_out { direction outbound; src "$4"; dst "$5"; policy_index pol; };
selector sel_in { direction inbound; src "$5"; dst "$4"; policy_index pol; };
policy pol {
	action auto_ipsec;
	remote_index peer;
	ipsec_mode ${7:-tunnel};
	ipsec_index { esp; };
	ipsec_level require;
	my_sa_ipaddr "$2";
	peers_sa_ipaddr "$3";
};
ipsec esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa {
	sa_protocol esp;
	esp_enc_alg { aes128_cbc; };
	esp_auth_alg { hmac_sha2_256; };
};
EOF
}

mkdir -p "$TEST_DIR/a" "$TEST_DIR/b"
conf a 198.51.100.1 198.51.100.2 203.0.113.1/32 203.0.113.2/32 \
	'dpd_delay 2 sec; dpd_retry 1 sec; dpd_maxfail 3;' >"$TEST_DIR/a/racoon2.conf"
conf b 198.51.100.2 198.51.100.1 203.0.113.2/32 203.0.113.1/32 >"$TEST_DIR/b/racoon2.conf"

# configuration errors with file:line
badconf() {
	local n=$1 want=$2
	shift 2
	conf "$@" >"$TEST_DIR/bad-$n.conf"
	"$IKED" --check -f "$TEST_DIR/bad-$n.conf" >"$TEST_DIR/bad-$n.log" 2>&1 && return 1
	grep -q "bad-$n.conf:[0-9]*: .*$want" "$TEST_DIR/bad-$n.log"
}
check "iked --check accepts the IKEv1 configuration" \
	"$IKED" --check -f "$TEST_DIR/a/racoon2.conf"
check "config error with file:line: exchange_mode base" \
	badconf base "exchange_mode" a 198.51.100.1 198.51.100.2 \
	203.0.113.1/32 203.0.113.2/32 '' tunnel psk base
check "config error with file:line: IKEv1 transport mode" \
	badconf transp "tunnel mode only" a 198.51.100.1 198.51.100.2 \
	198.51.100.1/32 198.51.100.2/32 '' transport
check "config error with file:line: kmp_auth_method rsasig without my_public_key" \
	badconf rsasig "kmp_auth_method" a 198.51.100.1 198.51.100.2 \
	203.0.113.1/32 203.0.113.2/32 '' tunnel rsasig

start_host() {
	local h=$1 d=$TEST_DIR/$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || return 1
	start_bg "spmd-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || return 1
	start_bg "iked-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		--pidfile "$d/iked.pid" -K "$d/keys"
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$h.log'" 5
}
ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }
# q HOST PYEXPR on "show sa --json": v1 = ESTABLISHED IKEv1 SAs, kids =
# their children
q() {
	local j
	j=$(ikectl "$1" show sa --json 2>/dev/null) || return 1
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v1 = [s for s in d["ike_sas"] if s.get("version") == 1 and s["state"] == "ESTABLISHED"]
kids = [c for s in v1 for c in s["children"] if c["state"] == "INSTALLED"]
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$j" "$2"
}
is() { [ "$(q "$1" "$2")" = "$3" ]; }
esp_sas() { espctl "$1" sa show 2>/dev/null | grep -c -i 'spi'; }

start_host a || fail "host a did not start"
start_host b || fail "host b did not start"
check "iked registered with spmd as ikev1" \
	grep -q 'registered as ikev1' "$TEST_DIR/spmd-a.log"
cap_start main a va 'udp port 500 or udp port 4500 or esp' ||
	fail "capture did not start"

check "ping 203.0.113.1 -> 203.0.113.2 raises the IKEv1 negotiation and passes" \
	wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
check "a: ISAKMP SA (version 1) ESTABLISHED, one CHILD SA" \
	wait_for "is a 'len(v1)' 1 && is a 'len(kids)' 1" 5
check "b: ISAKMP SA (version 1) ESTABLISHED, one CHILD SA" \
	wait_for "is b 'len(v1)' 1 && is b 'len(kids)' 1" 5
check "a initiated, b responded" \
	eval "is a 'v1[0][\"role\"]' initiator && is b 'v1[0][\"role\"]' responder"
check "CHILD SA SPIs crossed between the hosts, PFS on both" \
	eval "[ \"\$(q a 'kids[0][\"spi_in\"]')\" = \"\$(q b 'kids[0][\"spi_out\"]')\" ] &&
	      [ \"\$(q a 'kids[0][\"spi_out\"]')\" = \"\$(q b 'kids[0][\"spi_in\"]')\" ] &&
	      is a 'kids[0][\"pfs\"]' True && is b 'kids[0][\"pfs\"]' True"
check "two ESP SAs in each r2espd" \
	eval "[ \"\$(esp_sas a)\" = 2 ] && [ \"\$(esp_sas b)\" = 2 ]"
check "ikedctl show sa (text) lists the IKEv1 SA" \
	eval "ikectl a show sa | grep -q '^IKEv1 #[0-9]* ESTABLISHED remote=peer initiator'"
check "10 pings through the tunnel" \
	eval "ns_exec a ping -c10 -i 0.1 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
# RFC 3706: idle for 5 s, a sends R-U-THERE (dpd_delay 2 s), b answers;
# counted in the decrypted capture below
sleep 5
check "DPD: no peer declared dead" eval "! grep -q 'dead peer' '$TEST_DIR/iked-a.log'"

# delete from a; both data planes lose the pair; traffic negotiates again
old=$(q a 'kids[0]["spi_in"]')
isakmp=$(q a 'v1[0]["icookie"]')
cid=$(q a 'kids[0]["id"]')
check "ikedctl delete child $cid on a" ikectl a delete child "$cid"
check "Delete: both hosts and both r2espd lose the CHILD SA" \
	wait_for "is a 'len(kids)' 0 && is b 'len(kids)' 0 && [ \"\$(esp_sas a)\" = 0 ] && [ \"\$(esp_sas b)\" = 0 ]" 5
check "traffic after the Delete negotiates a new CHILD SA (same ISAKMP SA)" \
	wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 15
check "the new CHILD SA has new SPIs" \
	eval "is a 'len(v1)' 1 && is a 'len(kids)' 1 && [ \"\$(q a 'kids[0][\"spi_in\"]')\" != '$old' ] &&
	      is a 'v1[0][\"icookie\"]' '$isakmp'"
ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1

stop_bg iked-a
check "iked a stopped: b saw its Deletes, r2espd of a has no SA left" \
	wait_for "is b 'len(v1)' 0 && [ \"\$(esp_sas a)\" = 0 ]" 5
cap_stop main || fail "capture"

kd=$(ts_keydir main)
cat "$TEST_DIR/a/keys/ikev1_decryption_table" >"$kd/ikev1_decryption_table" 2>/dev/null
cat "$TEST_DIR/a/keys/esp_sa" >>"$kd/esp_sa" 2>/dev/null
check "key export: ikev1_decryption_table has the ISAKMP SA" \
	grep -q -E '^[0-9a-f]{16},[0-9a-f]{32}$' "$kd/ikev1_decryption_table"
pcap=$(cap_file main)
check "tshark: no malformed ISAKMP/ESP, no expert errors" ts_check_clean "$kd" "$pcap"
read -r n_mm n_qm n_rut n_ack n_del n_esp n_dec < <(ts_counts "$kd" "$pcap" \
	'isakmp.exchangetype == 2' 'isakmp.exchangetype == 32 && isakmp.hash' \
	'isakmp.notify.msgtype == 36136' 'isakmp.notify.msgtype == 36137' \
	'isakmp.delete.spi' 'esp' 'esp.decrypted_data' | tr '\n' ' ')
log "main=$n_mm quick(decrypted)=$n_qm r-u-there=$n_rut ack=$n_ack deletes=$n_del esp=$n_esp esp(decrypted)=$n_dec"
[ "${n_rut:-0}" -ge 1 ] && [ "${n_ack:-0}" -ge 1 ] &&
	pass "tshark: DPD R-U-THERE ($n_rut) and R-U-THERE-ACK ($n_ack) decrypted" ||
	fail "DPD on the wire: R-U-THERE $n_rut, ACK $n_ack"
[ "${n_mm:-0}" = 6 ] && pass "tshark: 6 Main Mode messages (one ISAKMP SA)" || fail "Main Mode messages: $n_mm"
[ "${n_qm:-0}" -ge 6 ] && pass "tshark decrypts both Quick Modes with iked's exported key" ||
	fail "decrypted Quick Mode messages: $n_qm"
[ "${n_del:-0}" -ge 2 ] && pass "tshark decrypts the Deletes" || fail "decrypted Deletes: $n_del"
[ "${n_esp:-0}" -gt 0 ] && [ "$n_dec" = "$n_esp" ] &&
	pass "tshark decrypts all $n_esp ESP packets with iked's esp_sa export" ||
	fail "ESP decrypted $n_dec of $n_esp"

# RFC 3706: a killed peer is declared dead after dpd_delay + dpd_maxfail
# unanswered R-U-THEREs (2 s + 3 x 1 s): a removes its SAs
start_bg iked-a2 ip netns exec "$(ns a)" env RACOON2_ESPD_SOCKET="$TEST_DIR/a/r2espd.sock" \
	"$IKED" -F -d -f "$TEST_DIR/a/racoon2.conf" --ctl-socket "$TEST_DIR/a/iked.sock" \
	--pidfile "$TEST_DIR/a/iked.pid"
wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-a2.log'" 5
check "restarted iked a negotiates again" \
	wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
stop_bg iked-b KILL
check "DPD: iked b killed; a declares it dead and removes its SAs" \
	wait_for "grep -q 'dead peer' '$TEST_DIR/iked-a2.log' && is a 'len(v1)' 0 && [ \"\$(esp_sas a)\" = 0 ]" 15
finish
