#!/usr/bin/env bash
# ipcomp_userspace.sh - issue 16: ESP + IPComp DEFLATE (RFC 3173, RFC 2394)
# between two racoon2 hosts on the userspace data plane.  Each namespace
# runs r2espd + spmd + iked with `kernel userspace;` and a tunnel policy
# whose ipsec has `sa_index { esp_sa; ipcomp_sa; }` (ipcomp_alg deflate);
# iked negotiates the CHILD SA with IPCOMP_SUPPORTED over IKEv2 (PSK,
# RFC 7296 §2.22) and installs the ESP and IPComp SA pairs in r2espd.
#
#   ipcomp_userspace.sh [BUILD_DIR]
#
# Checks: ikedctl show sa has ipcomp=deflate on both sides with the CPIs
# crossed (a's cpi_in is b's cpi_out and back), r2espctl sa show lists the
# two IPComp SAs with those CPIs; compressible traffic (ping -s 1400 -p 00,
# UDP datagrams of 1400 repeated octets) and incompressible traffic (UDP
# datagrams of 1400 random octets, os.urandom) pass the tunnel and arrive
# intact (SHA-256 of each datagram at the receiver); on the wire (dumpcap
# on the link, ESP decrypted by tshark with the keys iked exported, -K)
# the compressible packets are IPComp inside ESP and < 1000 octets, the
# random ones plain IP inside ESP and >= 1400 octets (RFC 3173 §2.2: not
# sent compressed when it does not shrink); no malformed frame; the IPComp
# SA counters show the difference (a's outbound SA counts every payload it
# tried, b's inbound SA only the compressed ones) and no comp_bad or
# comp_bomb drop.  Prints PASS/FAIL/SKIP; exit status 1 on any FAIL, 77
# when it cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
. "$TOP/tests/lib/netns.sh"
netns_init r2ipc ipcomp_userspace
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || skip_all "ipcomp_userspace: no build dir"
. "$TOP/tests/lib/racoon2.sh"
. "$TOP/tests/lib/tshark.sh"
r2_us_bins "$BUILD"
r2_need_bins ipcomp_userspace "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"
need_cmd python3 ping

OA=198.51.100.1 OB=198.51.100.2 IA=203.0.113.1 IB=203.0.113.129
NPKT=5 # datagrams of each kind, pings
PZ=5001 PR=5002 # UDP ports: compressible, random
# Random payloads must not meet tshark's UDP heuristics (one once
# decoded as a malformed RTCP packet): the test datagrams' ports are data.
TS_DECODE_AS=(-d "udp.port==$PZ,data" -d "udp.port==$PR,data")

# the racoon2.conf of a pair (tests/lib/racoon2.sh) with IPComp beside ESP
ipc_conf() {
	r2_us_tunnel_conf "$@" | perl -0pe 's/sa_index \{ esp_sa; \};/sa_index { esp_sa; ipcomp_sa; };/' &&
		printf 'sa ipcomp_sa {\n\tsa_protocol ipcomp;\n\tipcomp_alg { deflate; };\n};\n'
}

espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$TEST_DIR/$h/r2espd.sock" "$@"; }
ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
stat() { espctl "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
ipc_sas() { espctl "$1" sa show 2>/dev/null | grep -c ' ipcomp '; }
# sa_pkts HOST CPI : packets counted by HOST's IPComp SA with that CPI
sa_pkts() {
	espctl "$1" sa show 2>/dev/null | awk -v s="$(printf 'spi 0x%08x ipcomp' "$((16#$2))")" \
		'index($0, s) == 1 { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# start HOST : r2espd (TUN MTU 1440: a 1400-octet datagram is not
# fragmented before it reaches the SA), spmd, iked of HOST
start() {
	local h=$1 d=$TEST_DIR/$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0 -m 1440
	wait_for "test -S $d/r2espd.sock" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "spmd-$h" ip netns exec "$(ns "$h")" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S $d/spmif" 5 || return 1
	RACOON2_ESPD_SOCKET=$d/r2espd.sock start_bg "iked-$h" ip netns exec "$(ns "$h")" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" -K "$d/keys"
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$h.log'" 5
}

stop_all() {
	local h
	stop_bg udp-rx
	for h in a b; do stop_bg "iked-$h"; done
	for h in a b; do stop_bg "spmd-$h"; done
	for h in a b; do stop_bg "espd-$h"; done
	for h in a b; do ip netns del "$(ns "$h")" 2>/dev/null; done
	NS_CREATED=()
}

# the receiver on b: "PORT SHA256" per datagram on ports $PZ and $PR
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
# the sender on a: N datagrams of 1400 repeated octets to PZ and N of 1400
# random octets to PR; prints the same lines as the receiver
UDP_TX='
import hashlib, os, socket, sys, time
src, dst, pz, pr, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(n):
    for p, m in ((pz, (b"racoon2 ipcomp %d " % i) * 100), (pr, os.urandom(1400))):
        m = m[:1400]
        s.sendto(m, (dst, p))
        print(p, len(m), hashlib.sha256(m).hexdigest(), flush=True)
        time.sleep(0.05)
'

ns_add a && ns_add b && ns_link a va b vb || { fail "namespaces"; finish; }
ns_addr a va "$OA/24" && ns_addr b vb "$OB/24" && ns_addr a lo "$IA/32" &&
	ns_addr b lo "$IB/32" || { fail "addresses"; finish; }
printf 'ipcomp-test-psk-%s\n' "$$" >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"
for h in a b; do
	mkdir -p "$TEST_DIR/$h"
	chmod 700 "$TEST_DIR/$h"
done
ipc_conf a me="$OA" peer="$OB" mynet=203.0.113.0/25 peernet=203.0.113.128/25 psk="$TEST_DIR/psk" \
	spmif="$TEST_DIR/a/spmif" eenc=aes128_cbc >"$TEST_DIR/a/racoon2.conf"
ipc_conf b me="$OB" peer="$OA" mynet=203.0.113.128/25 peernet=203.0.113.0/25 psk="$TEST_DIR/psk" \
	spmif="$TEST_DIR/b/spmif" eenc=aes128_cbc >"$TEST_DIR/b/racoon2.conf"
grep -q 'sa_index { esp_sa; ipcomp_sa; }' "$TEST_DIR/a/racoon2.conf" || fail "IPComp configuration"
if ! start a || ! start b; then
	fail "r2espd, spmd and iked start on both hosts"
	tail -5 "$TEST_DIR"/*-[ab].log >&2
	stop_all
	finish
fi
pass "r2espd, spmd and iked running on both hosts"

pcap=""
if ts_available; then
	cap_start wire a va "esp" || fail "capture"
	pcap=$(cap_file wire)
fi
# a small ping (under 90 octets: never compressed, §2.1) starts IKE
out=$(ns_exec a ping -c 4 -i 0.3 -W 2 -I "$IA" "$IB" 2>&1)
if grep -q ' 0 received' <<<"$out"; then
	fail "ping triggers the negotiation and is answered"
else
	pass "ping triggers the negotiation and is answered ($(grep -o '[0-9]* received' <<<"$out") of 4)"
fi

# 1. the CHILD SA with IPComp on both sides, CPIs crossed
ja=$(ikectl a show sa --json 2>/dev/null) jb=$(ikectl b show sa --json 2>/dev/null)
read -r ca_in ca_out <<<"$(r2_sa_eval "$ja" '[k.get("ipcomp","-") + " " + k.get("cpi_in","-") + " " + k.get("cpi_out","-") for k in kids][:1]' 2>/dev/null | cut -d' ' -f2-)"
read -r cb_in cb_out <<<"$(r2_sa_eval "$jb" '[k.get("ipcomp","-") + " " + k.get("cpi_in","-") + " " + k.get("cpi_out","-") for k in kids][:1]' 2>/dev/null | cut -d' ' -f2-)"
check "ikedctl show sa (text): ipcomp=deflate on a and b" \
	eval "ikectl a show sa | grep -q 'ipcomp=deflate' && ikectl b show sa | grep -q 'ipcomp=deflate'"
check "ikedctl show sa --json: the CPIs cross-match (a in ${ca_in:-?} out ${ca_out:-?}, b in ${cb_in:-?} out ${cb_out:-?})" \
	test -n "${ca_in:-}" -a "${ca_in:-x}" = "${cb_out:-y}" -a "${cb_in:-x}" = "${ca_out:-y}" -a "${ca_in:-}" != - -a "${cb_in:-}" != -
check "two IPComp SAs in each r2espd (r2espctl sa show), with those CPIs" \
	eval "[ \$(ipc_sas a) = 2 ] && [ \$(ipc_sas b) = 2 ] && [ -n \"\$(sa_pkts a $ca_in)\" ] && [ -n \"\$(sa_pkts b $cb_in)\" ]"
ta0=$(sa_pkts a "${ca_out:-0}") rb0=$(sa_pkts b "${cb_in:-0}")

# 2./3. compressible and random traffic
check "ping -s 1400 -p 00 through ESP+IPComp, no loss" \
	quiet ns_exec a ping -c "$NPKT" -i 0.2 -W 2 -s 1400 -p 00 -I "$IA" "$IB"
check "ping -s 1400 from b to a" quiet ns_exec b ping -c 2 -i 0.2 -W 2 -s 1400 -I "$IB" "$IA"
start_bg udp-rx ip netns exec "$(ns b)" python3 -c "$UDP_RX" "$IB" "$PZ" "$PR"
wait_for "grep -q listening '$TEST_DIR/udp-rx.log'" 15 || fail "UDP receiver on b"
ns_exec a python3 -c "$UDP_TX" "$IA" "$IB" "$PZ" "$PR" "$NPKT" >"$TEST_DIR/udp-tx.out" ||
	fail "UDP sender on a"
wait_for "[ \$(grep -c '^500[12] ' '$TEST_DIR/udp-rx.log') -ge $((2 * NPKT)) ]" 5
sent_z=$(grep -c "^$PZ 1400 " "$TEST_DIR/udp-tx.out") sent_r=$(grep -c "^$PR 1400 " "$TEST_DIR/udp-tx.out")
check "$sent_z compressible 1400-octet datagrams arrive intact (SHA-256 at b)" \
	eval "[ $sent_z = $NPKT ] && diff <(grep '^$PZ ' '$TEST_DIR/udp-tx.out') <(grep '^$PZ ' '$TEST_DIR/udp-rx.log')"
check "$sent_r random 1400-octet datagrams arrive intact (SHA-256 at b)" \
	eval "[ $sent_r = $NPKT ] && diff <(grep '^$PR ' '$TEST_DIR/udp-tx.out') <(grep '^$PR ' '$TEST_DIR/udp-rx.log')"

# 5. counters: a's outbound IPComp SA counts each payload of 90 octets or
# more it was given (compressed or sent on as is), b's inbound one only
# what arrived compressed: the difference is the random datagrams (a's 2
# echo replies to b's ping count on both)
ta=$(sa_pkts a "${ca_out:-0}") rb=$(sa_pkts b "${cb_in:-0}")
dt=$((${ta:-0} - ${ta0:-0})) dr=$((${rb:-0} - ${rb0:-0}))
check "IPComp SA counters: a's outbound $dt payloads, b's inbound $dr decompressed ($NPKT pings, 2 replies, $NPKT compressible datagrams), $((dt - dr)) sent uncompressed (the $NPKT random)" \
	test "$dr" = $((2 * NPKT + 2)) -a "$dt" = $((3 * NPKT + 2))
check "no IPComp drops (a: comp_bad $(stat a comp_bad) comp_bomb $(stat a comp_bomb); b: $(stat b comp_bad) $(stat b comp_bomb)); no decap_fail ($(stat b decap_fail))" \
	test "$(stat a comp_bad)$(stat a comp_bomb)$(stat b comp_bad)$(stat b comp_bomb)$(stat b decap_fail)" = 00000

# 2./4. the wire
if [ -n "$pcap" ]; then
	cap_stop wire || fail "capture stopped"
	grep -hv '^#' "$TEST_DIR"/a/keys/esp_sa >"$TEST_DIR/esp_sa" 2>/dev/null
	kd=$(ts_keydir ws "" "$TEST_DIR/esp_sa")
	read -r nesp ngood ndec nbad < <(ts_counts "$kd" "$pcap" esp 'esp.icv_good == 1' \
		esp.decrypted_data '_ws.malformed || _ws.expert.severity >= error' | tr '\n' ' ')
	check "tshark decrypts every ESP frame with iked's exported keys (esp $nesp, icv_good $ngood, decrypted $ndec)" \
		test "${nesp:-0}" -gt 0 -a "${ngood:-x}" = "${nesp:-y}" -a "${ndec:-x}" = "${nesp:-y}"
	check "tshark: no malformed frame or expert error ($nbad)" test "${nbad:-1}" = 0
	# a's ESP frames: length, IPComp inside?, inner UDP port, ICMP type
	ts "$kd" "$pcap" -Y "esp && ip.src == $OA" -T fields -E occurrence=l \
		-e frame.len -e ipcomp.cpi -e udp.dstport -e icmp.type >"$TEST_DIR/frames.txt"
	# compressed (IPComp, from the ping and the PZ datagrams, >= 90
	# octets), random (PR), uncompressed ping/PZ frames over 200 octets
	read -r nz zmin zmax nr rmin rmax nbig < <(awk -F '\t' -v pr=$PR -v pz=$PZ '
		function mm(k, l) { n[k]++; if (!(k in lo) || l < lo[k]) lo[k] = l; if (l > hi[k]) hi[k] = l }
		$2 != "" { mm("z", $1); next }
		$3 == pr { mm("r", $1); next }
		($3 == pz || $4 != "") && $1 > 200 { big++ }
		END { printf "%d %d %d %d %d %d %d\n", n["z"], lo["z"], hi["z"], n["r"], lo["r"], hi["r"], big }' \
		"$TEST_DIR/frames.txt")
	log "a's ESP frames: $nz with IPComp, $zmin-$zmax octets; $nr random datagrams, $rmin-$rmax octets"
	check "tshark: IPComp inside ESP from a ($nz frames: $NPKT pings, 2 replies, $NPKT compressible datagrams)" \
		test "$nz" = $((2 * NPKT + 2))
	check "compressible 1400-octet payloads shrink on the wire: ESP frames $zmin-$zmax octets (< 1000)" \
		test "$nz" -gt 0 -a "$zmax" -lt 1000
	check "random 1400-octet payloads go uncompressed: $nr ESP frames of $rmin-$rmax octets (>= 1400), no large uncompressed compressible one ($nbig)" \
		test "$nr" = "$NPKT" -a "$rmin" -ge 1400 -a "$nbig" = 0
else
	skip "tshark/dumpcap not installed: wire checks"
fi
stop_all
finish
