#!/usr/bin/env bash
# iked_ikev1_bundle.sh - issue 16: racoon2's SA bundles negotiated by IKEv1
# Quick Mode (RFC 2409 §5.5: AND-ed proposals of one number, RFC 2408
# §4.2) between two racoon2 hosts, each r2espd + spmd + iked with
# `kernel userspace;`, an `ikev1 {}` remote (Main Mode, PSK, PFS) and a
# policy whose ipsec has the bundle's sa_index.
#
#   iked_ikev1_bundle.sh [BUILD_DIR] [CASE...]
#   CASE: ah (sa_index { ah; }), ahesp ({ ah; esp; }), espcomp
#   ({ esp; ipcomp; }), ahespcomp ({ ah; esp; ipcomp; }); default: all.
#
# Per case: a ping raises Main Mode + Quick Mode; both ikedctl list the
# bundle (protocol, AH SPIs, CPIs crossed between the hosts); each r2espd
# holds every SA of it; pings pass both ways; tshark decrypts the Quick
# Mode with iked's exported ISAKMP key and sees the bundle's proposals
# (every protocol under one proposal number, the IPComp CPI 2 octets);
# no malformed frame; tests/lib/ahcheck.py verifies every AH ICV with the
# ah_sa keys iked exported; tshark decrypts the ESP with esp_sa.  IPComp:
# a compressible 1,400-octet ping shrinks on the wire, random 1,400-octet
# datagrams go uncompressed (1,300 with AH: AH+ESP around 1,400 octets
# would exceed the 1,500-octet link).  Then ikedctl deletes the CHILD SA: the
# Informational carries one Delete per protocol and both r2espd lose
# every SA of the bundle.  Config errors: sa_index { ipcomp; } alone.
# Prints PASS/FAIL/SKIP; exit 1 on any FAIL, 77 when it cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
. "$TOP/tests/lib/netns.sh"
netns_init r2k1b iked_ikev1_bundle
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || skip_all "iked_ikev1_bundle: no build dir"
. "$TOP/tests/lib/racoon2.sh"
. "$TOP/tests/lib/tshark.sh"
# Random payloads must not meet tshark's UDP heuristics (one once
# decoded as a malformed RTCP packet): the test datagrams' ports are data.
TS_DECODE_AS=(-d udp.port==9,data)
r2_us_bins "$BUILD"
r2_need_bins iked_ikev1_bundle "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL"
need_cmd python3 ping tshark dumpcap
AHCHECK=$TOP/tests/lib/ahcheck.py
OA=198.51.100.1 OB=198.51.100.2 IA=203.0.113.1 IB=203.0.113.2

# conf HOST ME PEER MYNET PEERNET SA_INDEX
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
		exchange_mode { main; };
		my_id fqdn "host-$h.example";
		peers_id fqdn "host-$other.example";
		peers_ipaddr "$3" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_hash_alg { sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$TEST_DIR/psk";
		need_pfs on;
		kmp_sa_lifetime_time 1 hour;
	};
	selector_index sel_out;
};
selector sel_out { direction outbound; src "$4"; dst "$5"; policy_index pol; };
selector sel_in { direction inbound; src "$5"; dst "$4"; policy_index pol; };
policy pol {
	action auto_ipsec;
	remote_index peer;
	ipsec_mode tunnel;
	ipsec_index { bundle; };
	ipsec_level require;
	my_sa_ipaddr "$2";
	peers_sa_ipaddr "$3";
};
ipsec bundle { ipsec_sa_lifetime_time 1 hour; sa_index { $6 }; };
sa esp_sa {
	sa_protocol esp;
	esp_enc_alg { aes128_cbc; };
	esp_auth_alg { hmac_sha2_256; };
};
sa ah_sa {
	sa_protocol ah;
	ah_auth_alg { hmac_sha2_256; hmac_sha1; };
};
sa ipcomp_sa {
	sa_protocol ipcomp;
	ipcomp_alg { deflate; };
};
EOF
}

(umask 077; printf 'ikev1-bundle-psk-%s-0123456789\n' "$$" >"$TEST_DIR/psk")
mkdir -p "$TEST_DIR/a" "$TEST_DIR/b"
chmod 700 "$TEST_DIR/a" "$TEST_DIR/b"

ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
nsas() { espctl "$1" sa show 2>/dev/null | grep -c " $2 "; }
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

start_host() {
	local h=$1 d=$TEST_DIR/$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0 -m 1440
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || return 1
	start_bg "spmd-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || return 1
	rm -rf "$d/keys"
	start_bg "iked-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		--pidfile "$d/iked.pid" -K "$d/keys"
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$h.log'" 5
}

stop_case() {
	local h
	for h in a b; do stop_bg "iked-$h"; done
	for h in a b; do stop_bg "spmd-$h"; done
	for h in a b; do stop_bg "espd-$h"; done
	for h in a b; do ip netns del "$(ns "$h")" 2>/dev/null; done
	NS_CREATED=()
}

# the configuration check: IPComp needs AH or ESP beside it
conf a $OA $OB $IA/32 $IB/32 "ipcomp_sa;" >"$TEST_DIR/bad.conf"
check "config error with file:line: sa_index { ipcomp; } alone" \
	eval "! '$IKED' --check -f '$TEST_DIR/bad.conf' >'$TEST_DIR/bad.log' 2>&1 &&
	      grep -q 'bad.conf:[0-9]*: .*IPComp needs AH or ESP' '$TEST_DIR/bad.log'"

UDP_RANDOM='
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[3])):
    s.sendto(os.urandom(int(sys.argv[4])), (sys.argv[2], 9))
'

# run_case NAME AH ESP COMP (0/1 each)
run_case() {
	local n=$1 ah=$2 esp=$3 comp=$4 idx="" h pcap kd rsz=0
	[ "$ah" = 1 ] && idx="${idx}ah_sa; "
	[ "$esp" = 1 ] && idx="${idx}esp_sa; "
	[ "$comp" = 1 ] && idx="${idx}ipcomp_sa; "
	log "case $n: sa_index { $idx}"
	ns_add a && ns_add b && ns_link a va b vb || { fail "$n: namespaces"; return; }
	ns_addr a va $OA/24 && ns_addr b vb $OB/24 && ns_addr a lo $IA/32 &&
		ns_addr b lo $IB/32 || { fail "$n: addresses"; return; }
	conf a $OA $OB $IA/32 $IB/32 "$idx" >"$TEST_DIR/a/racoon2.conf"
	conf b $OB $OA $IB/32 $IA/32 "$idx" >"$TEST_DIR/b/racoon2.conf"
	if ! "$IKED" --check -f "$TEST_DIR/a/racoon2.conf" >"$TEST_DIR/check-$n.log" 2>&1; then
		fail "$n: iked --check accepts the bundle"
		cat "$TEST_DIR/check-$n.log" >&2
		stop_case
		return
	fi
	if ! start_host a || ! start_host b; then
		fail "$n: r2espd, spmd and iked start on both hosts"
		tail -5 "$TEST_DIR"/*-[ab].log >&2
		stop_case
		return
	fi
	cap_start "w-$n" a va 'udp port 500 or esp or ah or icmp' || fail "$n: capture"
	pcap=$(cap_file "w-$n")
	check "$n: a ping raises Main Mode + Quick Mode and passes" \
		wait_for "ns_exec a ping -c1 -W1 -I $IA $IB" 20
	check "$n: one CHILD SA on each host" \
		wait_for "[ \"\$(q a 'len(kids)')\" = 1 ] && [ \"\$(q b 'len(kids)')\" = 1 ]" 5
	local proto=esp
	[ "$esp" = 0 ] && proto=ah
	check "$n: ikedctl: protocol $proto, SPIs crossed" \
		eval "[ \"\$(q a 'kids[0][\"protocol\"]')\" = $proto ] &&
		      [ \"\$(q a 'kids[0][\"spi_in\"]')\" = \"\$(q b 'kids[0][\"spi_out\"]')\" ] &&
		      [ \"\$(q a 'kids[0][\"spi_out\"]')\" = \"\$(q b 'kids[0][\"spi_in\"]')\" ]"
	if [ "$ah" = 1 ] && [ "$esp" = 1 ]; then
		check "$n: ikedctl: AH SPIs beside ESP, crossed" \
			eval "[ \"\$(q a 'kids[0][\"ah_spi_in\"]')\" = \"\$(q b 'kids[0][\"ah_spi_out\"]')\" ] &&
			      [ \"\$(q a 'kids[0][\"ah_spi_out\"]')\" = \"\$(q b 'kids[0][\"ah_spi_in\"]')\" ]"
	fi
	if [ "$comp" = 1 ]; then
		check "$n: ikedctl: IPComp deflate, CPIs crossed" \
			eval "[ \"\$(q a 'kids[0][\"ipcomp\"]')\" = deflate ] &&
			      [ \"\$(q a 'kids[0][\"cpi_in\"]')\" = \"\$(q b 'kids[0][\"cpi_out\"]')\" ] &&
			      [ \"\$(q a 'kids[0][\"cpi_out\"]')\" = \"\$(q b 'kids[0][\"cpi_in\"]')\" ]"
	fi
	check "$n: each r2espd holds the bundle (a: ah $(nsas a ah) esp $(nsas a esp) ipcomp $(nsas a ipcomp))" \
		eval "[ \$(nsas a ah) = $((2 * ah)) ] && [ \$(nsas a esp) = $((2 * esp)) ] &&
		      [ \$(nsas a ipcomp) = $((2 * comp)) ] && [ \$(nsas b ah) = $((2 * ah)) ] &&
		      [ \$(nsas b esp) = $((2 * esp)) ] && [ \$(nsas b ipcomp) = $((2 * comp)) ]"
	check "$n: 5 pings a -> b, no loss" quiet ns_exec a ping -c 5 -i 0.2 -W 2 -I $IA $IB
	check "$n: 2 pings b -> a" quiet ns_exec b ping -c 2 -i 0.2 -W 2 -I $IB $IA
	if [ "$comp" = 1 ]; then
		check "$n: 5 compressible 1,400-octet pings (-p 00), no loss" \
			quiet ns_exec a ping -c 5 -i 0.2 -W 2 -s 1400 -p 00 -I $IA $IB
		# AH+ESP around 1,400 octets exceed the 1,500-octet link
		rsz=1400
		[ "$ah" = 1 ] && rsz=1300
		ns_exec a python3 -c "$UDP_RANDOM" $IA $IB 5 $rsz || fail "$n: random datagrams"
	fi
	local cid
	cid=$(q a 'kids[0]["id"]')
	check "$n: ikedctl delete child $cid: both r2espd lose every SA of the bundle" \
		eval "ikectl a delete child $cid >/dev/null &&
		      wait_for '[ \$(nsas a ah) = 0 ] && [ \$(nsas a esp) = 0 ] && [ \$(nsas a ipcomp) = 0 ] &&
		      [ \$(nsas b ah) = 0 ] && [ \$(nsas b esp) = 0 ] && [ \$(nsas b ipcomp) = 0 ] &&
		      [ \"\$(q b \"len(kids)\")\" = 0 ]' 5"
	cap_stop "w-$n" || fail "$n: capture stopped"
	kd=$(ts_keydir "ws-$n" "" "$TEST_DIR/a/keys/esp_sa")
	cat "$TEST_DIR/a/keys/ikev1_decryption_table" >"$kd/ikev1_decryption_table" 2>/dev/null
	check "$n: tshark: no malformed frame, no expert error" ts_check_clean "$kd" "$pcap"
	# the decrypted Quick Mode: protocols and proposal numbers of QM1/QM2
	ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 32 && isakmp.prop.protoid' -T fields \
		-E occurrence=a -E "separator=|" -e isakmp.prop.number -e isakmp.prop.protoid \
		-e isakmp.spisize >"$TEST_DIR/qm-$n.txt"
	local want="" nprop
	[ "$ah" = 1 ] && want="${want}1,2 "
	[ "$esp" = 1 ] && want="${want}1,3 "
	[ "$comp" = 1 ] && want="${want}1,4 "
	nprop=$(echo $want | wc -w)
	check "$n: tshark decrypts QM1 and QM2: every protocol under proposal 1 ($(tr '\n' ' ' <"$TEST_DIR/qm-$n.txt"))" \
		eval "[ \$(wc -l <'$TEST_DIR/qm-$n.txt') -ge 2 ] &&
		      tail -1 '$TEST_DIR/qm-$n.txt' | python3 -c '
import sys
num, proto, size = (f.split(\",\") for f in sys.stdin.read().strip().split(\"|\"))
got = sorted(\"%s,%s\" % p for p in zip(num, proto))
want = sorted(\"$want\".split())
sys.exit(0 if got == want and all(s == (\"2\" if p == \"4\" else \"4\") for p, s in zip(proto, size)) else 1)'"
	check "$n: tshark: the Delete names every protocol of the bundle" \
		eval "[ \"\$(ts '$kd' '$pcap' -Y 'isakmp.delete.protoid' -T fields -E occurrence=a -e isakmp.delete.protoid | tail -1 | tr , '\n' | sort -u | tr '\n' ' ')\" = \"$(
			{ [ "$ah" = 1 ] && echo 2; [ "$esp" = 1 ] && echo 3; [ "$comp" = 1 ] && echo 4; } | sort -u | tr '\n' ' ')\" ]"
	if [ "$ah" = 1 ]; then
		local res
		res=$(python3 "$AHCHECK" verify "$pcap" "$TEST_DIR/a/keys/ah_sa" 2>&1)
		check "$n: every AH ICV verifies with the ah_sa keys iked exported (ahcheck.py: $res)" \
			test "${res%% verified*}" -ge 14 -a "${res#*verified, }" = "0 bad, 0 unknown SPI"
	fi
	if [ "$esp" = 1 ]; then
		local nesp ndec
		read -r nesp ndec < <(ts_counts "$kd" "$pcap" esp esp.decrypted_data | tr '\n' ' ')
		check "$n: tshark decrypts all $nesp ESP frames with iked's esp_sa ($ndec)" \
			test "${nesp:-0}" -ge 14 -a "${ndec:-x}" = "${nesp:-y}"
	fi
	if [ "$comp" = 1 ]; then
		local nz zmax nr rmin
		ts "$kd" "$pcap" -Y "esp && ip.src == $OA" -T fields -E occurrence=l \
			-e frame.len -e ipcomp.cpi -e udp.dstport >"$TEST_DIR/frames-$n.txt"
		read -r nz zmax nr rmin < <(awk -F '\t' '
			$2 != "" { nz++; if ($1 > zmax) zmax = $1; next }
			$3 == 9 { nr++; if (!rmin || $1 < rmin) rmin = $1 }
			END { printf "%d %d %d %d\n", nz, zmax, nr, rmin }' "$TEST_DIR/frames-$n.txt")
		check "$n: compressible 1,400-octet pings shrink on the wire ($nz IPComp frames, largest $zmax octets < 1000)" \
			test "$nz" -ge 5 -a "$zmax" -lt 1000
		check "$n: random $rsz-octet datagrams go uncompressed ($nr frames, smallest $rmin octets >= $rsz)" \
			test "$nr" = 5 -a "$rmin" -ge "$rsz"
	fi
	stop_case
}

CASES=("$@")
[ ${#CASES[@]} = 0 ] && CASES=(ah ahesp espcomp ahespcomp)
for c in "${CASES[@]}"; do
	case $c in
	ah) run_case ah 1 0 0 ;;
	ahesp) run_case ahesp 1 1 0 ;;
	espcomp) run_case espcomp 0 1 1 ;;
	ahespcomp) run_case ahespcomp 1 1 1 ;;
	*) fail "unknown case $c" ;;
	esac
done
finish
