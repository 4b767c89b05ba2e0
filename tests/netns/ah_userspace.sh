#!/usr/bin/env bash
# ah_userspace.sh - issue 16: AH (RFC 4302) between two racoon2 hosts on the
# userspace data plane.  Each namespace runs r2espd + spmd + iked with
# `kernel userspace;` and a policy whose ipsec has `sa_index { ah_sa; }`
# (sa_protocol ah, ah_auth_alg hmac_sha2_256); iked negotiates the AH CHILD
# SA over IKEv2 (PSK) and installs it in r2espd, which carries the traffic.
#
#   ah_userspace.sh [BUILD_DIR] [CASE...]
#   CASE: tunnel4 (203.0.113.x over 198.51.100.x), transport4 (the hosts'
#   own addresses), tunnel6 (2001:db8:a::/48 over 2001:db8:1::/64),
#   bundle4 (no IKE: static SAs and policies through r2espctl, the
#   bundle ESP inside AH - `tmpl esp,ah` - that IKEv2 cannot negotiate),
#   exthdr6 (transport6 plus UDP datagrams from a to b carrying
#   hop-by-hop, destination options and routing headers (segments left
#   0), which stay in front of AH inside its ICV (RFC 4302 §3.1.1,
#   §3.3.3.1.2; tests/lib/v6ext.py sends them): all delivered, no AH
#   drop at b, every ICV verified by ahcheck.py, tshark sees the headers
#   before AH; one with segments left 1 refused by a's r2espd, counted
#   as ah_routing and logged); default: all five.
#
# Per case: ping triggers ACQUIRE -> IKE_SA_INIT/IKE_AUTH -> two AH SAs in
# each r2espd ("r2espctl sa show" lists them as ah, "ikedctl show sa" as
# proto ah); pings through, no loss; on the wire (dumpcap on the link) only
# AH, no ESP and no clear ICMP; tshark decodes every AH packet with no
# malformed frame or expert error; tests/lib/ahcheck.py recomputes every
# AH ICV from the capture with the keys iked exported (-K DIR, ah_sa:
# Wireshark 4.0 cannot check AH ICVs itself) - an oracle that shares no
# code with r2espd; then a captured AH packet sent again from a raw
# socket is dropped as a replay and one with a changed sequence number
# as an ICV failure, both counted (r2espctl stats ah_replay / ah_auth) and
# not delivered (IPv4 and IPv6).  Prints PASS/FAIL/SKIP; exit status 1
# on any FAIL, 77 when it cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
. "$TOP/tests/lib/netns.sh"
netns_init r2ah ah_userspace
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || skip_all "ah_userspace: no build dir"
. "$TOP/tests/lib/racoon2.sh"
. "$TOP/tests/lib/tshark.sh"
r2_us_bins "$BUILD"
r2_need_bins ah_userspace "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"
need_cmd python3 ping
AHCHECK=$TOP/tests/lib/ahcheck.py
V6EXT=$TOP/tests/lib/v6ext.py

# the racoon2.conf of a pair (tests/lib/racoon2.sh) with AH instead of ESP
ah_conf() {
	r2_us_tunnel_conf "$@" | perl -0pe 's/sa esp_sa \{.*?\n\};/sa esp_sa {\n\tsa_protocol ah;\n\tah_auth_alg { hmac_sha2_256; };\n};/s'
}

espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }
ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
stat() { espctl "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
ah_sas() { espctl "$1" sa show 2>/dev/null | grep -c ' ah '; }

# start HOST : r2espd, spmd, iked of HOST (config in $TEST_DIR/HOST)
start() {
	local h=$1 d=$TEST_DIR/$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "test -S $d/r2espd.sock" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "spmd-$h" ip netns exec "$(ns "$h")" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S $d/spmif" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "iked-$h" ip netns exec "$(ns "$h")" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" -K "$d/keys"
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

# ext_checks NAME A B : IPv6 extension headers in front of AH (issue 16),
# on the established transport-mode AH SAs of run_case
ext_checks() {
	local n=$1 ia=$2 ib=$3 pcap="" kd res rc nh nd nr nbad
	local m0 a0 r0
	if ts_available; then
		cap_start "ext-$n" a va "ip6 and not icmp6" || fail "$n: capture (extension headers)"
		pcap=$(cap_file "ext-$n")
	fi
	m0=$(stat b ah_malformed) a0=$(stat b ah_auth) r0=$(stat a ah_routing)
	ns_exec b python3 "$V6EXT" recv "$ib" 5555 9 10 >"$TEST_DIR/v6ext-recv" 2>&1 &
	rc=$!
	wait_for "ns_exec b ss -Hlun | grep -q ':5555 '" 5 || fail "$n: receiver on b"
	ns_exec a python3 "$V6EXT" send "$ia" "$ib" 5555 >&2
	wait "$rc"
	rc=$?
	check "$n: datagrams with hop-by-hop, destination options and routing (segments left 0) headers through AH ($(cat "$TEST_DIR/v6ext-recv"))" \
		test "$rc" = 0
	check "$n: ... no AH dropped at b (malformed $m0 -> $(stat b ah_malformed), auth $a0 -> $(stat b ah_auth))" \
		test "$(stat b ah_malformed)" = "$m0" -a "$(stat b ah_auth)" = "$a0"
	check "$n: a routing header with segments left 1 refused by a's r2espd, counted (ah_routing $r0 -> $(stat a ah_routing))" \
		test "$(stat a ah_routing)" = $((r0 + 1))
	check "$n: ... logged" grep -q 'routing header with segments left > 0 in front of AH' "$TEST_DIR/espd-a.log"
	if [ -n "$pcap" ]; then
		cap_stop "ext-$n" || fail "$n: capture stopped"
		kd=$(ts_keydir "ws-ext-$n")
		read -r nh nd nr nbad < <(ts_counts "$kd" "$pcap" 'ah && ipv6.hopopts' 'ah && ipv6.dstopts' \
			'ah && ipv6.routing' '_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: on the wire the headers precede AH (hop-by-hop $nh, destination options $nd, routing $nr), no malformed frame ($nbad)" \
			test "${nh:-0}" -ge 6 -a "${nd:-0}" -ge 6 -a "${nr:-0}" -ge 3 -a "${nbad:-1}" = 0
		res=$(python3 "$AHCHECK" verify "$pcap" "$TEST_DIR/a/keys/ah_sa" 2>&1)
		check "$n: every AH ICV over the extension headers verifies (ahcheck.py: $res)" \
			test "${res%% verified*}" -ge 9 -a "${res#*verified, }" = "0 bad, 0 unknown SPI"
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
}

# run_case NAME MODE OUTER_A OUTER_B OPLEN INNER_A INNER_B NET_A NET_B [ext]
run_case() {
	local n=$1 mode=$2 oa=$3 ob=$4 opl=$5 ia=$6 ib=$7 neta=$8 netb=$9
	local fam="" h out pcap kd
	[[ $ia == *:* ]] && fam=-6
	log "case $n: $ia <-> $ib over $oa <-> $ob ($mode)"
	ns_add a && ns_add b && ns_link a va b vb || { fail "$n: namespaces"; return; }
	ns_addr a va "$oa/$opl" && ns_addr b vb "$ob/$opl" || { fail "$n: addresses"; return; }
	if [ "$mode" = tunnel ]; then
		ns_addr a lo "$ia/$([ -n "$fam" ] && echo 128 || echo 32)"
		ns_addr b lo "$ib/$([ -n "$fam" ] && echo 128 || echo 32)"
	fi
	printf 'ah-test-psk-%s\n' "$$" >"$TEST_DIR/psk"
	chmod 600 "$TEST_DIR/psk"
	for h in a b; do
		mkdir -p "$TEST_DIR/$h"
		chmod 700 "$TEST_DIR/$h"
	done
	ah_conf a me="$oa" peer="$ob" mynet="$neta" peernet="$netb" psk="$TEST_DIR/psk" \
		spmif="$TEST_DIR/a/spmif" mode="$mode" >"$TEST_DIR/a/racoon2.conf"
	ah_conf b me="$ob" peer="$oa" mynet="$netb" peernet="$neta" psk="$TEST_DIR/psk" \
		spmif="$TEST_DIR/b/spmif" mode="$mode" >"$TEST_DIR/b/racoon2.conf"
	if ! grep -q 'sa_protocol ah' "$TEST_DIR/a/racoon2.conf"; then
		fail "$n: AH configuration"
		return
	fi
	if ! start a || ! start b; then
		fail "$n: r2espd, spmd and iked start on both hosts"
		tail -5 "$TEST_DIR"/*-[ab].log >&2
		stop_case
		return
	fi
	pass "$n: r2espd, spmd and iked running on both hosts"
	pcap=""
	if ts_available; then
		cap_start "wire-$n" a va "ah or esp or icmp or icmp6 or udp port 500" || fail "$n: capture"
		pcap=$(cap_file "wire-$n")
	fi
	out=$(ns_exec a ping $fam -c 4 -i 0.3 -W 2 -I "$ia" "$ib" 2>&1)
	if grep -q ' 0 received' <<<"$out"; then
		fail "$n: ping triggers the AH negotiation and is answered"
	else
		pass "$n: ping triggers the AH negotiation and is answered ($(grep -o '[0-9]* received' <<<"$out") of 4)"
	fi
	check "$n: two AH SAs in each r2espd (r2espctl sa show)" \
		wait_for "[ \$(ah_sas a) = 2 ] && [ \$(ah_sas b) = 2 ]" 5
	check "$n: ikedctl show sa lists the CHILD SA as AH" \
		eval "ikectl a show sa --json | grep -q '\"proto\": *\"ah\"' || ikectl a show sa | grep -qi 'proto=ah'"
	check "$n: ping through AH, no loss" quiet ns_exec a ping $fam -c 5 -i 0.2 -W 2 -I "$ia" "$ib"
	check "$n: ping from b to a" quiet ns_exec b ping $fam -c 2 -i 0.2 -W 2 -I "$ib" "$ia"
	check "$n: r2espd sent and received AH (a: ah_tx $(stat a ah_tx), ah_rx $(stat a ah_rx))" \
		test "$(stat a ah_tx)" -ge 7 -a "$(stat a ah_rx)" -ge 7
	check "$n: no AH drops so far (b: auth $(stat b ah_auth) malformed $(stat b ah_malformed) replay $(stat b ah_replay))" \
		test "$(stat b ah_auth)" = 0 -a "$(stat b ah_malformed)" = 0 -a "$(stat b ah_replay)" = 0
	if [ -n "$pcap" ]; then
		cap_stop "wire-$n" || fail "$n: capture stopped"
		kd=$(ts_keydir "ws-$n")
		local nah nesp nclear nbad res
		read -r nah nesp nclear nbad < <(ts_counts "$kd" "$pcap" 'ah' 'esp' \
			'(icmp || icmpv6.type == 128 || icmpv6.type == 129) && !ah' \
			'_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: AH on the wire ($nah packets), no ESP ($nesp), no clear ping ($nclear)" \
			test "${nah:-0}" -ge 14 -a "${nesp:-1}" = 0 -a "${nclear:-1}" = 0
		check "$n: tshark decodes AH with no malformed frame or expert error ($nbad)" \
			test "${nbad:-1}" = 0
		res=$(python3 "$AHCHECK" verify "$pcap" "$TEST_DIR/a/keys/ah_sa" 2>&1)
		check "$n: every AH ICV verifies with the keys iked exported (ahcheck.py: $res)" \
			test "${res%% verified*}" -ge 14 -a "${res#*verified, }" = "0 bad, 0 unknown SPI"
		local r0 a0 t0
		r0=$(stat b ah_replay) a0=$(stat b ah_auth) t0=$(stat b tun_tx)
		ns_exec a python3 "$AHCHECK" forge "$pcap" "$oa" "$ob" replay,tamper >&2
		check "$n: a replayed AH packet is dropped and counted (ah_replay $r0 -> $(stat b ah_replay))" \
			wait_for "[ \$(stat b ah_replay) -gt $r0 ]" 3
		check "$n: an AH packet with a changed sequence number fails the ICV, counted (ah_auth $a0 -> $(stat b ah_auth))" \
			wait_for "[ \$(stat b ah_auth) -gt $a0 ]" 3
		check "$n: ... neither reached b's TUN device" test "$(stat b tun_tx)" = "$t0"
		check "$n: ... logged" grep -q 'AH spi .* dropped: integrity check failed' "$TEST_DIR/espd-b.log"
		check "$n: the tunnel still works after them" quiet ns_exec a ping $fam -c 2 -i 0.2 -W 2 -I "$ia" "$ib"
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
	[ "${10:-}" = ext ] && ext_checks "$n" "$ia" "$ib"
	stop_case
}

# bundle4 : r2espd alone on both hosts, static ESP (AES-CBC + HMAC-SHA1)
# inside AH (HMAC-SHA2-256) in tunnel mode, as spmd installs a
# sa_index { esp; ah; } policy: templates esp,ah (innermost first).
bundle_case() {
	local n=bundle4 h my pe mg pg c pcap res
	log "case $n: static ESP+AH bundle 203.0.113.1 <-> 203.0.113.129"
	ns_add a && ns_add b && ns_link a va b vb || { fail "$n: namespaces"; return; }
	ns_addr a va 198.51.100.1/24 && ns_addr b vb 198.51.100.2/24 &&
		ns_addr a lo 203.0.113.1/32 && ns_addr b lo 203.0.113.129/32 ||
		{ fail "$n: addresses"; return; }
	for h in a b; do
		mkdir -p "$TEST_DIR/$h"
		start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$TEST_DIR/$h/r2espd.sock" -i r2tun0
		wait_for "test -S $TEST_DIR/$h/r2espd.sock" 5 || { fail "$n: r2espd $h"; stop_case; return; }
	done
	local ak=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
	local ek=00112233445566778899aabbccddeeff ek1=0102030405060708090a0b0c0d0e0f1011121314
	: >"$TEST_DIR/ah_sa"
	for h in a b; do
		for c in "198.51.100.1 198.51.100.2 0x1001" "198.51.100.2 198.51.100.1 0x1002"; do
			set -- $c
			espctl "$h" sa add src "$1" dst "$2" spi "$3" proto ah auth sha256 akey "$ak" reqid 5 ||
				fail "$n: AH SA $3 on $h"
			espctl "$h" sa add src "$1" dst "$2" spi "$(($3 + 256))" enc aes-cbc-128 key "$ek" \
				auth sha1 akey "$ek1" reqid 5 || fail "$n: ESP SA on $h"
			[ "$h" = a ] && printf '"IPv4","%s","%s","%s","NULL","0x","HMAC-SHA-256-128 [RFC4868]","0x%s"\n' \
				"$1" "$2" "$3" "$ak" >>"$TEST_DIR/ah_sa"
		done
		if [ "$h" = a ]; then
			my=203.0.113.1 pe=203.0.113.129 mg=198.51.100.1 pg=198.51.100.2
		else
			my=203.0.113.129 pe=203.0.113.1 mg=198.51.100.2 pg=198.51.100.1
		fi
		quiet espctl "$h" pol add dir out src "$my/32" dst "$pe/32" tsrc "$mg" tdst "$pg" reqid 5 tmpl esp,ah &&
			quiet espctl "$h" pol add dir in src "$pe/32" dst "$my/32" tsrc "$pg" tdst "$mg" reqid 5 tmpl esp,ah ||
			fail "$n: bundle policies on $h"
	done
	check "$n: r2espd refuses a bundle in the wrong order (ah,esp)" \
		eval "! espctl a pol add dir out src 203.0.113.2/32 dst 203.0.113.130/32 tsrc 198.51.100.1 tdst 198.51.100.2 tmpl ah,esp 2>&1 | grep -q index"
	check "$n: r2espd refuses a protocol twice in a bundle (esp,esp)" \
		eval "! espctl a pol add dir out src 203.0.113.3/32 dst 203.0.113.131/32 tsrc 198.51.100.1 tdst 198.51.100.2 tmpl esp,esp 2>&1 | grep -q index"
	pcap=""
	if ts_available; then
		cap_start "wire-$n" a va "ah or esp or icmp" || fail "$n: capture"
		pcap=$(cap_file "wire-$n")
	fi
	check "$n: ping through ESP inside AH, no loss" \
		quiet ns_exec a ping -c 5 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.129
	check "$n: each packet through both SAs (a: ah_tx $(stat a ah_tx) ah_rx $(stat a ah_rx); ESP SA $(espctl a sa query dst 198.51.100.2 spi 0x1101))" \
		eval "[ \$(stat a ah_tx) = 5 ] && [ \$(stat a ah_rx) = 5 ] && espctl a sa query dst 198.51.100.2 spi 0x1101 | grep -q 'packets 5 '"
	if [ -n "$pcap" ]; then
		cap_stop "wire-$n" || fail "$n: capture stopped"
		local kd nboth nbare nbad
		kd=$(ts_keydir "ws-$n")
		read -r nboth nbare nbad < <(ts_counts "$kd" "$pcap" 'ah && esp' '!ah' \
			'_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: on the wire AH carrying ESP ($nboth packets), nothing else ($nbare), no malformed frame ($nbad)" \
			test "${nboth:-0}" = 10 -a "${nbare:-1}" = 0 -a "${nbad:-1}" = 0
		res=$(python3 "$AHCHECK" verify "$pcap" "$TEST_DIR/ah_sa" 2>&1)
		check "$n: every AH ICV verifies (ahcheck.py: $res)" \
			test "${res%% verified*}" = 10 -a "${res#*verified, }" = "0 bad, 0 unknown SPI"
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
	stop_case
}

CASES=("$@")
[ ${#CASES[@]} = 0 ] && CASES=(tunnel4 transport4 tunnel6 bundle4 exthdr6)
for c in "${CASES[@]}"; do
	case $c in
	tunnel4) run_case tunnel4 tunnel 198.51.100.1 198.51.100.2 24 203.0.113.1 \
		203.0.113.129 203.0.113.0/25 203.0.113.128/25 ;;
	transport4) run_case transport4 transport 198.51.100.1 198.51.100.2 24 \
		198.51.100.1 198.51.100.2 198.51.100.1/32 198.51.100.2/32 ;;
	tunnel6) run_case tunnel6 tunnel 2001:db8:1::1 2001:db8:1::2 64 2001:db8:a::1 \
		2001:db8:b::1 2001:db8:a::/48 2001:db8:b::/48 ;;
	bundle4) bundle_case ;;
	exthdr6) run_case exthdr6 transport 2001:db8:1::1 2001:db8:1::2 64 2001:db8:1::1 \
		2001:db8:1::2 2001:db8:1::1/128 2001:db8:1::2/128 ext ;;
	*) fail "unknown case $c" ;;
	esac
done
finish
