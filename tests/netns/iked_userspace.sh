#!/usr/bin/env bash
# iked_userspace.sh - issue 5 end to end: two racoon2 hosts in network
# namespaces (r2j-PID-a, r2j-PID-b), each running r2espd (userspace ESP over
# TUN) + spmd + iked with `interface { kernel userspace; };`.  Nothing is
# set up by hand beyond addresses: spmd installs the policies in r2espd,
# r2espd routes the remote selectors into its TUN device, traffic raises an
# ACQUIRE, iked negotiates and installs the SAs in r2espd, and the traffic
# flows through the tunnel.
#
#   iked_userspace.sh [BUILD_DIR] [CASE...]
#   CASE: 4in4 (IPv4 inner and outer), 6in6, 6in4, bytes (IPv4 with a
#   1 MB ipsec_sa_lifetime_byte), transport4 and transport6 (transport
#   mode between the hosts' own addresses: r2espd's TUN routes to the
#   peer sit in table 154 behind policy rules that keep IKE and ESP out;
#   tshark checks that ICMP and TCP go as ESP on the wire, and that the
#   rules and routes go away with the policies and with r2espd); default:
#   all of them.
#
# Per case: policies listed by spmdctl; ping triggers the negotiation and
# is answered; IKE ESTABLISHED and CHILD INSTALLED on both ends, two SAs
# in each r2espd; a TCP transfer (iperf3) through the tunnel; CHILD and IKE
# rekey from each side under a 100 pkt/s ping (lost packets counted and
# printed, at most 3 allowed); delete from one side clears both daemons
# and both data planes; traffic negotiates again afterwards; iked removes
# its SAs from r2espd when it stops.  "bytes": r2espd's soft EXPIRE on the
# byte limit makes iked rekey the CHILD SA while data flows.
# Prints PASS/FAIL lines (SKIP and exit 77 without root or binaries); exit
# status 1 on any failure.  Run by scripts/test.sh with R2_BUILD.
# Namespaces r2j-PID-a/b (rebuilt per case), processes and logs
# ($T/{espd,spmd,iked}-CASE-HOST.log): tests/lib/netns.sh.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${R2_BUILD:-$HERE/../../build}}
[ $# -gt 0 ] && shift
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "SKIP: iked_userspace (no build dir)"; exit 77; }

. "$HERE/../lib/netns.sh"
. "$HERE/../lib/racoon2.sh"
netns_init r2j iked_userspace
r2_us_bins "$BUILD"
for b in "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"; do
	[ -x "$b" ] || skip_all "iked_userspace ($b not built)"
done
need_cmd iperf3
T=$TEST_DIR

# stop_all: iked first (it deletes its SAs), then spmd (its policies),
# r2espd, of the case $CASE
stop_all() {
	local h
	for h in a b; do stop_bg "iked-$CASE-$h"; done
	for h in a b; do stop_bg "spmd-$CASE-$h"; done
	for h in a b; do stop_bg "espd-$CASE-$h"; done
}
netns_down() { ns_del a; ns_del b; }

# net_up OUTER_A OUTER_B OPLEN INNER_A INNER_B
net_up() {
	ns_add a && ns_add b || return 1
	ns_link a va b vb || return 1
	ns_addr a va "$1/$3"
	ns_addr b vb "$2/$3"
	[ "$MODE" = transport ] && return 0
	# the protected hosts: one address of each side's network
	ns_addr a lo "$4"
	ns_addr b lo "$5"
}

# conf HOST MY_GW PEER_GW MY_NET PEER_NET [LIFETIME_BYTE]
conf() {
	local h=$1 d=$T/$1
	mkdir -p "$d"
	printf 'userspace-test-psk-%s\n' "$$" >"$T/psk"
	chmod 600 "$T/psk"
	r2_us_tunnel_conf "$h" me="$2" peer="$3" mynet="$4" peernet="$5" \
		psk="$T/psk" spmif="$d/spmif" eenc="aes128_gcm16 aes256_cbc" \
		bytes="${6:-}" mode="$MODE" >"$d/racoon2.conf"
}

# start HOST : r2espd, spmd, iked with that host's configuration (logs
# $T/{espd,spmd,iked}-CASE-HOST.log).
start() {
	r2_dir_espd_spmd "$1" "$T/$1" "$CASE-$1" || { echo "r2espd or spmd $1 did not start"; return 1; }
	r2_dir_iked "$1" "$T/$1" "$CASE-$1" -K "$T/$1/keys" || { echo "iked $1 did not start"; return 1; }
}

ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$T/$h/iked.sock" "$@"; }
spmctl() { local h=$1; shift; ns_exec "$h" "$SPMDCTL" -s "$T/$h/spmif" "$@"; }
espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$T/$h/r2espd.sock" "$@"; }

# q HOST PYEXPR : evaluated on "ikedctl show sa --json" as d; ike = IKE SAs
# ESTABLISHED, kids = their INSTALLED children.
q() {
	local j
	j=$(ikectl "$1" show sa --json 2>/dev/null) || return 1
	r2_sa_eval "$j" "$2"
}
is() { [ "$(q "$1" "$2")" = "$3" ]; }
up_both() { is a 'len(ike)' 1 && is b 'len(ike)' 1 && is a 'len(kids)' 1 && is b 'len(kids)' 1; }
esp_sas() { espctl "$1" sa show 2>/dev/null | grep -c -i 'spi'; }
esp_sas_is() { [ "$(esp_sas "$1")" = "$2" ]; }
kid_spis() { q "$1" '[c["spi_in"] for c in kids]'; }
changed() { local now; now=$("${@:2}"); [ -n "$now" ] && [ "$now" != "$1" ]; }

# ping_loss HOST DST SRC COUNT : prints "lost/sent"
ping_loss() {
	local out tx rx
	out=$(ns_exec "$1" ping -q -i 0.01 -W 1 -c "$4" -I "$3" "$2" 2>&1)
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	echo "$((${tx:-0} - ${rx:-0}))/${tx:-0}"
}

# rekey_under_traffic NAME SIDE WHAT : ping at 100/s from a while SIDE
# rekeys WHAT (child|ike); at most 3 lost.
rekey_under_traffic() {
	local n=$1 side=$2 what=$3 id old res lost
	old=$(q a '[s["spi_i"] for s in ike] + [c["spi_in"] for c in kids]')
	if [ "$what" = child ]; then
		id=$(q "$side" '[c["id"] for c in kids][0]')
	else
		id=$(q "$side" '[s["id"] for s in ike][0]')
	fi
	ping_loss a "$IB" "$IA" 300 >"$T/ping.$n" &
	local pp=$!
	sleep 1
	ikectl "$side" rekey "$what" "$id" >>"$T/checks.log" 2>&1
	wait $pp
	res=$(cat "$T/ping.$n")
	lost=${res%/*}
	if wait_for "changed '$old' q a '[s[\"spi_i\"] for s in ike] + [c[\"spi_in\"] for c in kids]'" 5 &&
	   wait_for up_both 5 && [ "${lost:-999}" -le 3 ]; then
		pass "$n: $what rekey by $side under 100 pkt/s: $res packets lost"
	else
		fail "$n: $what rekey by $side under 100 pkt/s: $res packets lost, SAs $(q a '[c["spi_in"] for c in kids]')"
	fi
}

# cap_wire NAME OUTER_A/PLEN : capture on a's link (dumpcap-NAME).  A
# written pcap header does not prove dumpcap records yet (under load the
# first seconds went missing), so a canary datagram to port 9 goes to the
# link's broadcast (ff02::1 for IPv6), which no policy covers and which
# needs no neighbour, until the capture holds it.
cap_wire() {
	local f=$T/wire.$1.pcap py
	start_bg "dumpcap-$1" ip netns exec "$(ns a)" dumpcap -q -P -i va -w "$f"
	py='import ipaddress, socket, sys
n = ipaddress.ip_interface(sys.argv[1]).network
if n.version == 4:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(b"canary", (str(n.broadcast_address), 9))
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"canary", ("ff02::1", 9, 0, socket.if_nametoindex("va")))'
	wait_for "ns_exec a python3 -c '$py' '$2' && sleep 0.2 && python3 '$HERE/../lib/keys.py' pcap-has-udp '$f' 9" 10 ||
		echo "# capture on va: no canary seen"
}

# run_case NAME OUTER_A OUTER_B OPLEN INNER_A INNER_B NET_A NET_B [BYTES]
run_case() {
	local n=$1 oa=$2 ob=$3 opl=$4
	CASE=$n
	IA=${5%/*} IB=${6%/*}
	local neta=$7 netb=$8 bytes=${9:-}
	local fam=""
	[[ $IA == *:* ]] && fam=-6
	echo "# case $n: inner $IA <-> $IB, outer $oa <-> $ob"
	net_up "$oa" "$ob" "$opl" "$5" "$6" || { fail "$n: namespaces"; netns_down; return; }
	conf a "$oa" "$ob" "$neta" "$netb" "$bytes"
	conf b "$ob" "$oa" "$netb" "$neta" "$bytes"
	if ! start a || ! start b; then
		fail "$n: r2espd, spmd and iked start on both hosts"
		tail -5 "$T"/*-"$n"-?.log
		stop_all; netns_down; return
	fi
	pass "$n: r2espd, spmd and iked running on both hosts"
	check "$n: spmdctl lists the policies (in r2espd)" \
		eval "spmctl a policy show | grep -q sel_out && espctl a pol show | grep -q ."
	if [ "$MODE" = transport ]; then
		check "$n: r2espd routes the peer $netb into TUN in table 154" \
			eval "ns_exec a ip $fam route show table 154 $netb | grep -q r2tun0"
		check "$n: ... not in table main" \
			eval "! ns_exec a ip $fam route show $netb | grep -q r2tun0"
		check "$n: r2espd's policy rules (IKE, KINK, its own ESP to main)" \
			eval "ns_exec a ip $fam rule show | grep -q '15407:.*lookup 154' && ns_exec a ip $fam rule show | grep -q '15401:.*sport 500'"
		cap_wire "$n" "$oa/$opl"
	else
		check "$n: r2espd routes $netb into its TUN device" \
			eval "ns_exec a ip $fam route show $netb | grep -q r2tun0"
	fi

	# 1. traffic triggers ACQUIRE -> IKE_SA_INIT/IKE_AUTH -> SAs
	local out
	out=$(ns_exec a ping $fam -c 4 -i 0.3 -W 2 -I "$IA" "$IB" 2>&1)
	if grep -q ' 0 received' <<<"$out"; then
		fail "$n: ping triggers the negotiation and is answered"
	else
		pass "$n: ping triggers the negotiation and is answered ($(grep -o '[0-9]* received' <<<"$out") of 4)"
	fi
	check "$n: IKE ESTABLISHED, CHILD INSTALLED on both" wait_for up_both 5
	check "$n: ACQUIRE reached iked through spmd" grep -q "ACQUIRE for policy" "$T/iked-$n-a.log"
	check "$n: two SAs in each r2espd" eval "esp_sas_is a 2 && esp_sas_is b 2"
	check "$n: ping through the tunnel, no loss" \
		eval "ns_exec a ping $fam -c 5 -i 0.2 -W 2 -I $IA $IB | grep -q ' 0% packet loss'"
	check "$n: ping from b to a" \
		eval "ns_exec b ping $fam -c 2 -i 0.2 -W 2 -I $IB $IA | grep -q ' 0% packet loss'"
	check "$n: the packets went through r2espd" \
		eval "espctl a stats | grep -qE 'esp_tx *[1-9]'"

	# 2. TCP
	ip netns exec "$(ns b)" iperf3 -s -1 -B "$IB" -p 5201 >"$T/iperf-s.$n" 2>&1 &
	local ip=$!
	sleep 0.5
	check "$n: TCP transfer of 8 MB through the tunnel (iperf3)" \
		to_file "$T/iperf-c.$n" ns_exec a iperf3 -c "$IB" -B "$IA" -p 5201 -n 8M
	kill $ip 2>/dev/null
	wait $ip 2>/dev/null
	if [ "$MODE" = transport ]; then
		sleep 0.5
		stop_bg "dumpcap-$n"
		local pc=$T/wire.$n.pcap
		wcount() { tshark -n -r "$pc" -Y "$1" 2>/dev/null | wc -l; }
		check "$n: ESP on the wire ($(wcount esp) packets)" \
			test "$(wcount esp)" -gt 100
		check "$n: IKE on the wire (not captured by the TUN route)" \
			test "$(wcount isakmp)" -ge 4
		check "$n: no clear ICMP echo or TCP on the wire" \
			test "$(wcount 'icmp or icmpv6.type == 128 or icmpv6.type == 129 or tcp')" = 0
	fi

	if [ -n "$bytes" ]; then
		check "$n: soft byte EXPIRE from r2espd made iked rekey" \
			wait_for "grep -q 'kernel soft expire' '$T/iked-$n-a.log' '$T/iked-$n-b.log'" 5
		check "$n: SAs in place after the byte rekey" wait_for up_both 5
		check "$n: ping after the byte rekey" \
			eval "ns_exec a ping $fam -c 3 -i 0.2 -W 2 -I $IA $IB | grep -q ' 0% packet loss'"
		stop_all; netns_down
		return
	fi

	# 3. rekeys under traffic, from each side
	rekey_under_traffic "$n" a child
	rekey_under_traffic "$n" b child
	rekey_under_traffic "$n" a ike
	rekey_under_traffic "$n" b ike
	check "$n: still two SAs in each r2espd after the rekeys" \
		wait_for "esp_sas_is a 2 && esp_sas_is b 2" 5

	# 4. delete from b clears both ends, traffic negotiates again
	ikectl b delete all >>"$T/checks.log" 2>&1
	check "$n: delete by b clears both iked" \
		wait_for "is a 'len(d[\"ike_sas\"])' 0 && is b 'len(d[\"ike_sas\"])' 0" 5
	check "$n: ... and both r2espd" wait_for "esp_sas_is a 0 && esp_sas_is b 0" 5
	check "$n: traffic negotiates again after the delete" \
		wait_for "ns_exec a ping $fam -c 1 -W 1 -I $IA $IB" 8
	check "$n: ... SAs up again" wait_for up_both 5

	# 5. iked removes its SAs when it stops; spmd its policies
	stop_bg "iked-$n-a"
	stop_bg "iked-$n-b"
	check "$n: iked stopped: its SAs left r2espd" eval "esp_sas_is a 0 && esp_sas_is b 0"
	stop_bg "spmd-$n-a"
	check "$n: spmd stopped: its policies left r2espd" \
		eval "! espctl a pol show | grep -q -i 'dir'"
	if [ "$MODE" = transport ]; then
		check "$n: ... and r2espd removed the route in table 154" \
			eval "! ns_exec a ip $fam route show table 154 | grep -q ."
		stop_bg "espd-$n-a"
		check "$n: r2espd stopped: its policy rules are gone" \
			eval "! ns_exec a ip $fam rule show | grep -q '^154'"
	fi
	if grep -h -E -i ' (ERR|CRIT) ' "$T"/iked-"$n"-?.log | grep -v -i 'spmd\|spmif' >"$T/errors.$n"; then
		fail "$n: no errors in iked's logs ($(head -1 "$T/errors.$n"))"
	else
		pass "$n: no errors in iked's logs"
	fi
	stop_all
	netns_down
	mkdir -p "$T/$n"
	mv "$T/a" "$T/b" "$T/$n/" 2>/dev/null
}

CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(4in4 6in6 6in4 bytes transport4 transport6)
command -v tshark >/dev/null || echo "# no tshark: transport cases skipped"
for c in "${CASES[@]}"; do
	MODE=tunnel
	case $c in
	transport*) command -v tshark >/dev/null || continue; MODE=transport ;;
	esac
	case $c in
	4in4) run_case 4in4 198.51.100.1 198.51.100.2 24 203.0.113.1/32 \
		203.0.113.129/32 203.0.113.0/25 203.0.113.128/25 ;;
	6in6) run_case 6in6 2001:db8:1::1 2001:db8:1::2 64 2001:db8:a::1/128 \
		2001:db8:b::1/128 2001:db8:a::/48 2001:db8:b::/48 ;;
	6in4) run_case 6in4 198.51.100.1 198.51.100.2 24 2001:db8:a::1/128 \
		2001:db8:b::1/128 2001:db8:a::/48 2001:db8:b::/48 ;;
	bytes) run_case bytes 198.51.100.1 198.51.100.2 24 203.0.113.1/32 \
		203.0.113.129/32 203.0.113.0/25 203.0.113.128/25 "2 MB" ;;
	transport4) run_case transport4 198.51.100.1 198.51.100.2 24 \
		198.51.100.1/32 198.51.100.2/32 198.51.100.1/32 198.51.100.2/32 ;;
	transport6) run_case transport6 2001:db8:1::1 2001:db8:1::2 64 \
		2001:db8:1::1/128 2001:db8:1::2/128 2001:db8:1::1/128 \
		2001:db8:1::2/128 ;;
	*) fail "unknown case $c" ;;
	esac
done
finish
