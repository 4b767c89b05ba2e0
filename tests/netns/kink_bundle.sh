#!/usr/bin/env bash
# kink_bundle.sh - issue 16: kinkd keys racoon2's multi-protocol bundles
# (sa_index { ah; }, { ah; esp; }, { esp; ipcomp; }) over KINK with a real
# MIT KDC, two hosts each running r2espd (userspace data plane) + spmd +
# kinkd, tunnel 203.0.113.0/25 <-> 203.0.113.128/25 over 198.51.100.1 <-> .2
# (the KDC in a namespace of its own, on links no selector covers).
#
#   kink_bundle.sh [BUILD_DIR] [CASE...]   CASE: ah ahesp espipcomp rekey
#                                          (default: all, in that order)
#
# Each case starts r2espd, spmd and kinkd (-K: ESP keys to esp_sa, AH keys
# to ah_sa) on both hosts with its sa_index; a ping raises the ACQUIRE,
# kinkd-a sends CREATE with the AND-set (proposals of one number, RFC 2408
# §4.2), kinkd-b answers with the same set and its SPIs/CPI:
#  ah:        two AH SAs per r2espd, no ESP; pings pass; on the wire only
#             AH (no ESP, no clear ping); tshark decodes it with no
#             malformed frame; tests/lib/ahcheck.py recomputes every AH ICV
#             with the keys kinkd exported.
#  ahesp:     b accepts only a's second AH transform (HMAC-SHA1), so the
#             CREATE is 3-way (ACKREQ, ACK: b's two outbound SAs on the ACK);
#             two AH + two ESP SAs per r2espd, kinkctl shows the bundle
#             "ah+esp" with both SPI pairs; every frame is AH carrying ESP;
#             the AH ICVs verify (ahcheck.py) and tshark decrypts the ESP
#             inside with kinkd's esp_sa; "kinkctl delete all" sends one
#             DELETE that removes all four SAs on both hosts.  Then
#             (mismatch) kinkd-b restarts accepting only { esp; }: it
#             refuses a's { ah; esp; } CREATE with an authenticated
#             NO-PROPOSAL-CHOSEN, no SA anywhere.
#  espipcomp: two ESP + two IPComp SAs per r2espd with crossed CPIs;
#             ping -s 1400 -p 00 and 1400-octet compressible UDP datagrams
#             go compressed (IPComp inside ESP, frames under 1000 octets),
#             1400-octet random ones uncompressed (no IPComp, >= 1400);
#             every datagram arrives intact (SHA-256); no comp_bad/comp_bomb.
#  rekey:     AH+ESP+IPComp, 8 s lifetime: kinkd-a renews the whole bundle
#             at 80 % under 45 compressed pings (at most 2 lost), DELETEs
#             the old one; new SPIs and CPI, one pair of each protocol left.
# Prints PASS/FAIL/SKIP; exit 1 on any FAIL, 77 when it cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
. "$TOP/tests/lib/netns.sh"
netns_init r2kb kink_bundle
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || skip_all "kink_bundle: no build dir"
. "$TOP/tests/lib/tshark.sh"
SPMD=$BUILD/src/spm/spmd
ESPD=$BUILD/src/kernel/userspace/r2espd
ESPCTL=$BUILD/src/kernel/userspace/r2espctl
KINKD=$BUILD/src/kink/kinkd
KINKCTL=$BUILD/src/kink/kinkctl
for b in "$SPMD" "$ESPD" "$ESPCTL" "$KINKD" "$KINKCTL"; do
	[ -x "$b" ] || skip_all "kink_bundle: $b not built"
done
PATH=$PATH:/usr/sbin
need_cmd krb5kdc kdb5_util kadmin.local ktutil python3 ping
. "$HERE/kink_kdc.sh"
AHCHECK=$TOP/tests/lib/ahcheck.py
REALM=KINK.TEST KPORT=9100
OA=198.51.100.1 OB=198.51.100.2 IA=203.0.113.1 IB=203.0.113.129
NETA=203.0.113.0/25 NETB=203.0.113.128/25
NPKT=4
PZ=5001 PR=5002 # UDP ports: compressible, random
# Random payloads must not meet tshark's UDP heuristics (one once
# decoded as a malformed RTCP packet): the test datagrams' ports are data.
TS_DECODE_AS=(-d "udp.port==$PZ,data" -d "udp.port==$PR,data")

espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }
kctl() { local h=$1; shift; ns_exec "$h" "$KINKCTL" -s "$TEST_DIR/$h/kinkd.sock" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
stat() { espctl "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
# nsas HOST PROTO : SAs of PROTO (esp, ah, ipcomp) in HOST's r2espd
nsas() { espctl "$1" sa show 2>/dev/null | grep -c " $2 "; }
sa_pkts() {
	espctl "$1" sa show 2>/dev/null | awk -v s="$(printf 'spi 0x%08x ipcomp' "$((16#${2#0x}))")" \
		'index($0, s) == 1 { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)["sas"]; print(" ".join(str(s.get(k, "-")) for s in d[:1] for k in sys.argv[1:]))' "$@"; }

# ---- network and KDC (once) ----
ns_add a && ns_add b && ns_add k || finish
ns_link a va b vb && ns_link a vk k ka && ns_link b vk k kb || finish
ns_addr a va "$OA/30" && ns_addr b vb "$OB/30" && ns_addr a lo "$IA/32" &&
	ns_addr b lo "$IB/32" && ns_addr k ka 198.51.100.5/30 && ns_addr a vk 198.51.100.6/30 &&
	ns_addr k kb 198.51.100.9/30 && ns_addr b vk 198.51.100.10/30 || { fail "addresses"; finish; }
KDIR=$TEST_DIR/kdc
if ! KDC_LISTEN_ALL=1 kdc_setup "$KDIR" $REALM 198.51.100.5 88 \
	"kink/host-a.example@$REALM" "kink/host-b.example@$REALM"; then
	fail "KDC database and keytabs"
	finish
fi
sed 's/kdc = .*/kdc = 198.51.100.5:88/' "$KDIR/krb5.conf" >"$TEST_DIR/krb5-a.conf"
sed 's/kdc = .*/kdc = 198.51.100.9:88/' "$KDIR/krb5.conf" >"$TEST_DIR/krb5-b.conf"
kdc_start "$KDIR" $REALM "$(ns k)" || { fail "krb5kdc"; finish; }
on_cleanup "kdc_stop $KDIR"
pass "MIT KDC up, principals kink/host-a and kink/host-b"

# conf HOST SA_INDEX
conf() {
	local h=$1 idx=$2 me peer mynet peernet other
	if [ "$h" = a ]; then
		me=$OA peer=$OB other=b mynet=$NETA peernet=$NETB
	else
		me=$OB peer=$OA other=a mynet=$NETB peernet=$NETA
	fi
	mkdir -p "$TEST_DIR/$h"
	chmod 700 "$TEST_DIR/$h"
	cat >"$TEST_DIR/$h/racoon2.conf" <<EOC
interface {
	kink { "$me" port $KPORT; };
	spmd { unix "$TEST_DIR/$h/spmif"; };
	kernel userspace;
};
remote peer {
	acceptable_kmp { kink; };
	kink {
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
	ipsec_mode tunnel;
	ipsec_index { ips; };
	ipsec_level require;
	my_sa_ipaddr "$me";
	peers_sa_ipaddr "$peer";
};
ipsec ips { ipsec_sa_lifetime_time ${LIFE:-1 hour}; sa_index { $idx }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };
sa ah_sa { sa_protocol ah; ah_auth_alg { $( [ "$h" = b ] && echo "${AH_B:-hmac_sha2_256; hmac_sha1;}" || echo "hmac_sha2_256; hmac_sha1;") }; };
sa ipcomp_sa { sa_protocol ipcomp; ipcomp_alg { deflate; }; };
EOC
}

start() {
	local h=$1 d=$TEST_DIR/$1
	rm -rf "$d/keys" "$d/rc"
	mkdir -p "$d/rc"
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0 -m 1440
	wait_for "test -S $d/r2espd.sock" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "spmd-$h" ip netns exec "$(ns "$h")" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S $d/spmif" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "kinkd-$h" ip netns exec "$(ns "$h")" \
		env KRB5_CONFIG="$TEST_DIR/krb5-$h.conf" \
		KRB5_KTNAME="FILE:$KDIR/host-$h.example.keytab" KRB5RCACHEDIR="$d/rc" \
		"$KINKD" -F -d -f "$d/racoon2.conf" -p "$d/kinkd.pid" -S "$d/kinkd.sock" -K "$d/keys"
	wait_for "grep -q 'kinkd kink/' '$TEST_DIR/kinkd-$h.log'" 5
}

stop_case() {
	local h
	stop_bg udp-rx
	for h in a b; do stop_bg "kinkd-$h"; done
	for h in a b; do stop_bg "spmd-$h"; done
	for h in a b; do stop_bg "espd-$h"; done
	# each case's logs under its own name
	for h in a b; do
		for f in kinkd espd spmd; do
			[ -f "$TEST_DIR/$f-$h.log" ] && mv "$TEST_DIR/$f-$h.log" "$TEST_DIR/$1-$f-$h.log"
		done
	done
}

# setup CASE IDX_A IDX_B : configs, daemons, capture on a's link
setup() {
	local n=$1
	conf a "$2"
	conf b "$3"
	if ! start a || ! start b; then
		fail "$n: r2espd, spmd and kinkd start on both hosts"
		tail -5 "$TEST_DIR"/*-[ab].log >&2
		stop_case "$n"
		return 1
	fi
	PCAP=""
	if ts_available; then
		cap_start "wire-$n" a va "ah or esp or icmp or udp port $KPORT" || fail "$n: capture"
		PCAP=$(cap_file "wire-$n")
	fi
	return 0
}

# first ping: the ACQUIRE, CREATE/REPLY; then the bundle's SAs (3-way
# when a third argument is given)
negotiate() {
	local n=$1 want=$2 out
	out=$(ns_exec a ping -c 3 -i 0.3 -W 2 -I "$IA" "$IB" 2>&1)
	check "$n: ping raises the ACQUIRE and kinkd keys the bundle (r2espd a: $(nsas a ah) AH $(nsas a esp) ESP $(nsas a ipcomp) IPComp SAs)" \
		wait_for "$want" 10
	grep -q ' 0 received' <<<"$out" && log "$n: first pings lost while negotiating: $out"
	if [ -n "${3:-}" ]; then
		check "$n: b took a later AH transform: REPLY with ACKREQ, a's ACK, b's outbound SAs on the ACK" \
			eval "grep -q 'CREATE from peer: 3-way (ACKREQ)' '$TEST_DIR/kinkd-b.log' && grep -q 'ACK from peer: outbound SAs up' '$TEST_DIR/kinkd-b.log' && grep -q 'CREATE with peer done (3-way' '$TEST_DIR/kinkd-a.log'"
	else
		check "$n: optimistic 2-way CREATE (kinkd-b)" grep -q 'CREATE from peer: 2-way' "$TEST_DIR/kinkd-b.log"
	fi
}

# ahcheck NAME PCAP MIN : every AH ICV of PCAP verifies with a's ah_sa
ahcheck() {
	local res
	res=$(python3 "$AHCHECK" verify "$2" "$TEST_DIR/a/keys/ah_sa" 2>&1)
	check "$1: every AH ICV verifies with the keys kinkd exported (ahcheck.py: $res)" \
		test "${res%% verified*}" -ge "$3" -a "${res#*verified, }" = "0 bad, 0 unknown SPI"
}

case_ah() {
	local n=ah kd nah nesp nclear nbad
	setup $n "ah_sa;" "ah_sa;" || return
	negotiate $n "[ \$(nsas a ah) = 2 ] && [ \$(nsas b ah) = 2 ]"
	check "$n: no ESP SA (a $(nsas a esp), b $(nsas b esp))" test "$(nsas a esp)$(nsas b esp)" = 00
	check "$n: kinkctl show sa: bundle ah, proto ah" \
		eval "kctl a show sa --json | grep -q '\"bundle\": \"ah\", \"proto\": \"ah\"'"
	check "$n: ping through AH, no loss" quiet ns_exec a ping -c 5 -i 0.2 -W 2 -I "$IA" "$IB"
	check "$n: no AH drops (b: auth $(stat b ah_auth) replay $(stat b ah_replay) malformed $(stat b ah_malformed))" \
		test "$(stat b ah_auth)$(stat b ah_replay)$(stat b ah_malformed)" = 000
	check "$n: kinkd -K wrote the two AH SAs to ah_sa, none to esp_sa" \
		eval "[ \$(grep -c HMAC-SHA-256 '$TEST_DIR/a/keys/ah_sa') = 2 ] && [ ! -s '$TEST_DIR/a/keys/esp_sa' ]"
	if [ -n "$PCAP" ]; then
		cap_stop "wire-$n" || fail "$n: capture stopped"
		kd=$(ts_keydir "ws-$n")
		read -r nah nesp nclear nbad < <(ts_counts "$kd" "$PCAP" 'ah' 'esp' 'icmp && !ah' \
			'_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: AH on the wire ($nah), no ESP ($nesp), no clear ping ($nclear)" \
			test "${nah:-0}" -ge 10 -a "${nesp:-1}" = 0 -a "${nclear:-1}" = 0
		check "$n: tshark decodes AH with no malformed frame or expert error ($nbad)" test "${nbad:-1}" = 0
		ahcheck $n "$PCAP" 10
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
	stop_case $n
}

case_ahesp() {
	local n=ahesp kd nboth nbare ndec nbad j
	# b accepts only a's second AH transform (HMAC-SHA1): 3-way
	AH_B="hmac_sha1;" setup $n "ah_sa; esp_sa;" "esp_sa; ah_sa;" || return
	negotiate $n "[ \$(nsas a ah) = 2 ] && [ \$(nsas a esp) = 2 ] && [ \$(nsas b ah) = 2 ] && [ \$(nsas b esp) = 2 ]" 3way
	j=$(kctl a show sa --json 2>/dev/null)
	check "$n: kinkctl show sa: bundle ah+esp with ESP and AH SPI pairs ($(jget bundle spi_in ah_spi_in <<<"$j"))" \
		eval "jget bundle proto <<<'$j' | grep -qx 'ah+esp esp' && ! jget ah_spi_in <<<'$j' | grep -qx -- -"
	check "$n: ping through ESP inside AH, no loss" quiet ns_exec a ping -c 5 -i 0.2 -W 2 -I "$IA" "$IB"
	check "$n: ping from b to a" quiet ns_exec b ping -c 2 -i 0.2 -W 2 -I "$IB" "$IA"
	check "$n: no AH drops (b: auth $(stat b ah_auth) replay $(stat b ah_replay))" \
		test "$(stat b ah_auth)$(stat b ah_replay)" = 00
	if [ -n "$PCAP" ]; then
		cap_stop "wire-$n" || fail "$n: capture stopped"
		kd=$(ts_keydir "ws-$n" "" "$TEST_DIR/a/keys/esp_sa")
		read -r nboth nbare ndec nbad < <(ts_counts "$kd" "$PCAP" 'ah && esp' '(esp || icmp) && !ah' \
			'esp.decrypted_data' '_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: every tunnel frame is AH carrying ESP ($nboth), none without AH ($nbare)" \
			test "${nboth:-0}" -ge 14 -a "${nbare:-1}" = 0
		check "$n: tshark decrypts the ESP inside AH with kinkd's esp_sa ($ndec of $nboth)" \
			test "${ndec:-0}" = "${nboth:-x}"
		check "$n: no malformed frame or expert error ($nbad)" test "${nbad:-1}" = 0
		ahcheck $n "$PCAP" 14
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
	# DELETE (RFC 4430 §4.2.3): every SA of the bundle on both hosts
	quiet kctl a delete all
	check "$n: kinkctl delete all: one DELETE removed the four SAs on b" \
		wait_for "[ \$(nsas b ah) = 0 ] && [ \$(nsas b esp) = 0 ]" 5
	check "$n: ... and on a" test "$(nsas a ah)$(nsas a esp)" = 00
	check "$n: kinkd-b logged the bundle's removal" grep -q 'SAs with .* removed (ESP .*, bundle)' "$TEST_DIR/kinkd-b.log"
	mismatch
	stop_case $n
}

# kinkd-b restarted accepting only { esp; } while a still offers
# { ah; esp; }: b refuses the CREATE with an authenticated
# NO-PROPOSAL-CHOSEN, and no SA is installed anywhere
mismatch() {
	local n=mismatch d=$TEST_DIR/b
	stop_bg kinkd-b
	mv "$TEST_DIR/kinkd-b.log" "$TEST_DIR/ahesp-kinkd-b-1.log"
	sed -i 's/sa_index { esp_sa; ah_sa; }/sa_index { esp_sa; }/' "$d/racoon2.conf"
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "kinkd-b" ip netns exec "$(ns b)" \
		env KRB5_CONFIG="$TEST_DIR/krb5-b.conf" \
		KRB5_KTNAME="FILE:$KDIR/host-b.example.keytab" KRB5RCACHEDIR="$d/rc" \
		"$KINKD" -F -d -f "$d/racoon2.conf" -p "$d/kinkd.pid" -S "$d/kinkd.sock"
	wait_for "grep -q 'kinkd kink/' '$TEST_DIR/kinkd-b.log'" 5 || fail "$n: kinkd-b restarted"
	quiet ns_exec a ping -c 2 -i 0.5 -W 1 -I "$IA" "$IB"
	check "$n: kinkd-b refuses the AH+ESP AND-set it does not accept as a whole" \
		wait_for "grep -q 'no proposal is a bundle we accept' '$TEST_DIR/kinkd-b.log'" 5
	check "$n: kinkd-a gets the authenticated NO-PROPOSAL-CHOSEN" \
		wait_for "grep -q 'CREATE refused by peer: Notify 14' '$TEST_DIR/kinkd-a.log'" 5
	check "$n: no SA in either r2espd (a: $(nsas a esp) ESP $(nsas a ah) AH, b: $(nsas b esp) ESP $(nsas b ah) AH)" \
		test "$(nsas a esp)$(nsas a ah)$(nsas b esp)$(nsas b ah)" = 0000
}

# the sender on a / receiver on b: N datagrams of 1400 repeated octets to
# PZ and N of 1400 random octets to PR, one "port len sha256" line each
UDP_TX='
import hashlib, os, socket, sys, time
src, dst, pz, pr, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(n):
    for p, m in ((pz, ((b"kink ipcomp %d " % i) * 120)[:1400]), (pr, os.urandom(1400))):
        s.sendto(m, (dst, p))
        print(p, len(m), hashlib.sha256(m).hexdigest(), flush=True)
        time.sleep(0.05)
'
UDP_RX='
import hashlib, select, socket, sys
socks = []
for p in (int(sys.argv[2]), int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], p))
    socks.append(s)
print("listening", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        m = s.recv(65535)
        print(s.getsockname()[1], len(m), hashlib.sha256(m).hexdigest(), flush=True)
'

case_espipcomp() {
	local n=espipcomp kd j ja jb ca_in ca_out cb_in cb_out ta0 rb0 ta rb nesp ndec nbad
	local nz zmax nr rmin nbig
	setup $n "esp_sa; ipcomp_sa;" "esp_sa; ipcomp_sa;" || return
	negotiate $n "[ \$(nsas a ipcomp) = 2 ] && [ \$(nsas a esp) = 2 ] && [ \$(nsas b ipcomp) = 2 ] && [ \$(nsas b esp) = 2 ]"
	ja=$(kctl a show sa --json 2>/dev/null) jb=$(kctl b show sa --json 2>/dev/null)
	read -r ca_in ca_out < <(jget cpi_in cpi_out <<<"$ja")
	read -r cb_in cb_out < <(jget cpi_in cpi_out <<<"$jb")
	check "$n: kinkctl show sa: bundle esp+ipcomp, CPIs cross-match (a in ${ca_in:-?} out ${ca_out:-?}, b in ${cb_in:-?} out ${cb_out:-?})" \
		eval "jget bundle <<<'$ja' | grep -qx esp+ipcomp && [ '${ca_in:--}' != - ] && [ '${ca_in:-x}' = '${cb_out:-y}' ] && [ '${cb_in:-x}' = '${ca_out:-y}' ]"
	ta0=$(sa_pkts a "${ca_out:-0}") rb0=$(sa_pkts b "${cb_in:-0}")
	check "$n: ping -s 1400 -p 00 through ESP+IPComp, no loss" \
		quiet ns_exec a ping -c "$NPKT" -i 0.2 -W 2 -s 1400 -p 00 -I "$IA" "$IB"
	start_bg udp-rx ip netns exec "$(ns b)" python3 -c "$UDP_RX" "$IB" "$PZ" "$PR"
	wait_for "grep -q listening '$TEST_DIR/udp-rx.log'" 15 || fail "$n: UDP receiver on b"
	ns_exec a python3 -c "$UDP_TX" "$IA" "$IB" "$PZ" "$PR" "$NPKT" >"$TEST_DIR/udp-tx.out" ||
		fail "$n: UDP sender on a"
	wait_for "[ \$(grep -c '^500[12] ' '$TEST_DIR/udp-rx.log') -ge $((2 * NPKT)) ]" 5
	check "$n: $NPKT compressible and $NPKT random 1400-octet datagrams arrive intact (SHA-256 at b)" \
		eval "[ \$(wc -l <'$TEST_DIR/udp-tx.out') = $((2 * NPKT)) ] && diff <(sort '$TEST_DIR/udp-tx.out') <(grep '^500[12] ' '$TEST_DIR/udp-rx.log' | sort)"
	ta=$(sa_pkts a "${ca_out:-0}") rb=$(sa_pkts b "${cb_in:-0}")
	check "$n: IPComp SA counters: a's outbound $((${ta:-0} - ${ta0:-0})) payloads, b's inbound $((${rb:-0} - ${rb0:-0})) decompressed: the $NPKT random ones went uncompressed" \
		test "$((${ta:-0} - ${ta0:-0} - ${rb:-0} + ${rb0:-0}))" = "$NPKT" -a "$((${rb:-0} - ${rb0:-0}))" -ge $((2 * NPKT))
	check "$n: no IPComp drops (b: comp_bad $(stat b comp_bad) comp_bomb $(stat b comp_bomb) decap_fail $(stat b decap_fail))" \
		test "$(stat b comp_bad)$(stat b comp_bomb)$(stat b decap_fail)" = 000
	if [ -n "$PCAP" ]; then
		cap_stop "wire-$n" || fail "$n: capture stopped"
		kd=$(ts_keydir "ws-$n" "" "$TEST_DIR/a/keys/esp_sa")
		read -r nesp ndec nbad < <(ts_counts "$kd" "$PCAP" esp esp.decrypted_data \
			'_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
		check "$n: tshark decrypts every ESP frame with kinkd's esp_sa ($ndec of $nesp)" \
			test "${nesp:-0}" -gt 0 -a "${ndec:-x}" = "${nesp:-y}"
		check "$n: tshark decodes IPComp with no malformed frame or expert error ($nbad)" test "${nbad:-1}" = 0
		ts "$kd" "$PCAP" -Y "esp && ip.src == $OA" -T fields -E occurrence=l \
			-e frame.len -e ipcomp.cpi -e udp.dstport -e icmp.type >"$TEST_DIR/frames.txt"
		read -r nz zmax nr rmin nbig < <(awk -F '\t' -v pr=$PR -v pz=$PZ '
			$2 != "" { nz++; if ($1 > zmax) zmax = $1; next }
			$3 == pr { nr++; if (!rmin || $1 < rmin) rmin = $1; next }
			($3 == pz || $4 != "") && $1 > 200 { big++ }
			END { printf "%d %d %d %d %d\n", nz, zmax, nr, rmin, big }' "$TEST_DIR/frames.txt")
		check "$n: compressible 1400-octet payloads shrink: $nz frames with IPComp inside ESP, at most $zmax octets (< 1000)" \
			test "$nz" -ge $((2 * NPKT)) -a "$zmax" -lt 1000
		check "$n: random 1400-octet payloads go uncompressed: $nr ESP frames without IPComp, >= $rmin octets (>= 1400); no large uncompressed compressible one ($nbig)" \
			test "$nr" = "$NPKT" -a "$rmin" -ge 1400 -a "$nbig" = 0
	else
		skip "$n: tshark/dumpcap not installed: wire checks"
	fi
	stop_case $n
}

# AH+ESP+IPComp with an 8 s lifetime: kinkd-a renews the whole bundle at
# its soft expiry (80 %) under a ping of compressible 1400-octet payloads
# and then DELETEs the old one; every SPI and CPI changes, each r2espd
# ends with one pair of each protocol
case_rekey() {
	local n=rekey j0 j1 lost
	LIFE="8 sec" setup $n "ah_sa; esp_sa; ipcomp_sa;" "ah_sa; esp_sa; ipcomp_sa;" || return
	negotiate $n "[ \$(nsas a ah) = 2 ] && [ \$(nsas a esp) = 2 ] && [ \$(nsas a ipcomp) = 2 ] && [ \$(nsas b ipcomp) = 2 ]"
	j0=$(kctl a show sa --json 2>/dev/null | jget bundle spi_in ah_spi_in cpi_in)
	check "$n: kinkctl show sa: bundle ah+esp+ipcomp ($j0)" eval "[ '${j0%% *}' = ah+esp+ipcomp ]"
	lost=$(ns_exec a ping -q -c 45 -i 0.2 -W 1 -s 1400 -p 00 -I "$IA" "$IB" 2>&1 | grep -o '[0-9]* received')
	check "$n: 45 compressed pings across the renewal, at most 2 lost ($lost)" test "${lost%% *}" -ge 43
	check "$n: kinkd-a renewed the bundle at its soft expiry and deleted the old one" \
		eval "grep -q 'soft expiry of' '$TEST_DIR/kinkd-a.log' && grep -q 'rekeyed: deleting old SAs' '$TEST_DIR/kinkd-a.log'"
	j1=$(kctl a show sa --json 2>/dev/null | jget bundle spi_in ah_spi_in cpi_in)
	check "$n: new ESP SPI, AH SPI and CPI ($j1)" \
		eval "[ '${j1%% *}' = ah+esp+ipcomp ] && [ \$(comm -12 <(tr ' ' '\n' <<<'${j0#* }' | sort) <(tr ' ' '\n' <<<'${j1#* }' | sort) | wc -l) = 0 ]"
	check "$n: one pair of each protocol left in each r2espd (a: $(nsas a ah)/$(nsas a esp)/$(nsas a ipcomp), b: $(nsas b ah)/$(nsas b esp)/$(nsas b ipcomp))" \
		test "$(nsas a ah)$(nsas a esp)$(nsas a ipcomp)$(nsas b ah)$(nsas b esp)$(nsas b ipcomp)" = 222222
	[ -n "$PCAP" ] && cap_stop "wire-$n"
	stop_case $n
}

# kinkd -t: a bundle KINK cannot key (IPComp alone) is a configuration
# error with file:line, before any CREATE
conf a "ipcomp_sa;"
out=$("$KINKD" -t -f "$TEST_DIR/a/racoon2.conf" 2>&1)
check "kinkd -t refuses sa_index { ipcomp_sa; } with file:line and why ($out)" \
	eval "! '$KINKD' -t -f '$TEST_DIR/a/racoon2.conf' >/dev/null 2>&1 && grep -q 'racoon2.conf:[0-9]*: policy .pol.: IPComp alone' <<<\"\$out\""

CASES=("$@")
[ ${#CASES[@]} = 0 ] && CASES=(ah ahesp espipcomp rekey)
for c in "${CASES[@]}"; do
	case $c in
	ah | ahesp | espipcomp | rekey) log "case $c"; "case_$c" ;;
	*) fail "unknown case $c" ;;
	esac
done
finish
