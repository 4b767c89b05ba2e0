#!/usr/bin/env bash
# iked_userspace.sh - issue 5 end to end: two racoon2 hosts in network
# namespaces (r2j-$$-a, r2j-$$-b), each running r2espd (userspace ESP over
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
# status = number of failures.  Run by scripts/test.sh with R2_BUILD.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${R2_BUILD:-$HERE/../../build}}
[ $# -gt 0 ] && shift
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "SKIP: iked_userspace (no build dir)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: iked_userspace (needs root)"; exit 77; }

. "$HERE/../lib/racoon2.sh"
r2_us_bins "$BUILD"
for b in "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"; do
	[ -x "$b" ] || { echo "SKIP: iked_userspace ($b not built)"; exit 77; }
done
command -v iperf3 >/dev/null || { echo "SKIP: iked_userspace (no iperf3)"; exit 77; }

T=$(mktemp -d /tmp/r2j-$$.XXXX)
NA=r2j-$$-a
NB=r2j-$$-b
FAILS=0
declare -A PID=()

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; FAILS=$((FAILS + 1)); }
# check NAME CMD... : PASS when CMD succeeds (its output goes to the log)
check() {
	local n=$1
	shift
	if "$@" >>"$T/checks.log" 2>&1; then pass "$n"; else fail "$n"; fi
}
# wait_for SECONDS CMD... : retry CMD every 0.2 s
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

ns_of() { [ "$1" = a ] && echo "$NA" || echo "$NB"; }
in_ns() { local n; n=$(ns_of "$1"); shift; ip netns exec "$n" "$@"; }

# stop KEY: TERM, wait up to 5 s, then KILL.
stop() {
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "PID[$1]"
}

stop_all() {
	# iked first (it deletes its SAs), then spmd (its policies), r2espd.
	local h
	for h in a b; do stop "iked-$h"; done
	for h in a b; do stop "spmd-$h"; done
	for h in a b; do stop "espd-$h"; done
}

netns_down() {
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
}

cleanup() {
	stop_all
	netns_down
	if [ "$FAILS" = 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "# logs kept in $T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# net_up OUTER_A OUTER_B OPLEN INNER_A INNER_B
# (nodad expands to nothing for IPv4 on purpose)
# shellcheck disable=SC2046
net_up() {
	ip netns add "$NA" && ip netns add "$NB" || return 1
	ip link add "r2j$$a" type veth peer name "r2j$$b" || return 1
	ip link set "r2j$$a" netns "$NA" name va
	ip link set "r2j$$b" netns "$NB" name vb
	ip -n "$NA" link set lo up
	ip -n "$NB" link set lo up
	ip -n "$NA" addr add "$1/$3" dev va $(nodad "$1")
	ip -n "$NB" addr add "$2/$3" dev vb $(nodad "$2")
	ip -n "$NA" link set va up
	ip -n "$NB" link set vb up
	[ "$MODE" = transport ] && return 0
	# the protected hosts: one address of each side's network
	ip -n "$NA" addr add "$4" dev lo $(nodad "$4")
	ip -n "$NB" addr add "$5" dev lo $(nodad "$5")
}
nodad() { [[ $1 == *:* ]] && echo nodad; }

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

# start HOST : r2espd, spmd, iked with that host's configuration.
start() {
	local h=$1 d=$T/$1 ns
	ns=$(ns_of "$h")
	export RACOON2_ESPD_SOCKET=$d/r2espd.sock
	ip netns exec "$ns" "$ESPD" -s "$d/r2espd.sock" -i r2tun0 \
		>"$d/r2espd.log" 2>&1 &
	PID[espd-$h]=$!
	wait_for 5 test -S "$d/r2espd.sock" || { echo "r2espd $h did not start"; return 1; }
	ip netns exec "$ns" "$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid" \
		>"$d/spmd.log" 2>&1 &
	PID[spmd-$h]=$!
	wait_for 5 test -S "$d/spmif" || { echo "spmd $h did not start"; return 1; }
	ip netns exec "$ns" "$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		-K "$d/keys" >"$d/iked.log" 2>&1 &
	PID[iked-$h]=$!
	wait_for 5 ikectl "$h" ping || { echo "iked $h did not start"; return 1; }
	# spmd hands ACQUIREs to the registered iked
	wait_for 5 grep -q "registered with spmd" "$d/iked.log"
}

ikectl() { local h=$1; shift; in_ns "$h" "$IKEDCTL" -s "$T/$h/iked.sock" "$@"; }
spmctl() { local h=$1; shift; in_ns "$h" "$SPMDCTL" -s "$T/$h/spmif" "$@"; }
espctl() { local h=$1; shift; in_ns "$h" "$ESPCTL" -s "$T/$h/r2espd.sock" "$@"; }

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
	out=$(in_ns "$1" ping -q -i 0.01 -W 1 -c "$4" -I "$3" "$2" 2>&1)
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
	if wait_for 5 changed "$old" q a '[s["spi_i"] for s in ike] + [c["spi_in"] for c in kids]' &&
	   wait_for 5 up_both && [ "${lost:-999}" -le 3 ]; then
		pass "$n: $what rekey by $side under 100 pkt/s: $res packets lost"
	else
		fail "$n: $what rekey by $side under 100 pkt/s: $res packets lost, SAs $(q a '[c["spi_in"] for c in kids]')"
	fi
}

# cap_wire NAME OUTER_A/PLEN : capture on a's link (PID[tshark]).  A
# written pcap header does not prove dumpcap records yet (under load the
# first seconds went missing), so a canary datagram to port 9 goes to the
# link's broadcast (ff02::1 for IPv6), which no policy covers and which
# needs no neighbour, until the capture holds it.
cap_wire() {
	local f=$T/wire.$1.pcap py
	ip netns exec "$(ns_of a)" dumpcap -q -P -i va -w "$f" >/dev/null 2>&1 &
	PID[tshark]=$!
	py='import ipaddress, socket, sys
n = ipaddress.ip_interface(sys.argv[1]).network
if n.version == 4:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(b"canary", (str(n.broadcast_address), 9))
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"canary", ("ff02::1", 9, 0, socket.if_nametoindex("va")))'
	wait_for 10 eval "in_ns a python3 -c '$py' '$2' && sleep 0.2 && python3 '$HERE/../lib/keys.py' pcap-has-udp '$f' 9" ||
		echo "# capture on va: no canary seen"
}

# run_case NAME OUTER_A OUTER_B OPLEN INNER_A INNER_B NET_A NET_B [BYTES]
run_case() {
	local n=$1 oa=$2 ob=$3 opl=$4
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
		tail -5 "$T"/?/*.log
		stop_all; netns_down; return
	fi
	pass "$n: r2espd, spmd and iked running on both hosts"
	check "$n: spmdctl lists the policies (in r2espd)" \
		eval "spmctl a policy show | grep -q sel_out && espctl a pol show | grep -q ."
	if [ "$MODE" = transport ]; then
		check "$n: r2espd routes the peer $netb into TUN in table 154" \
			eval "in_ns a ip $fam route show table 154 $netb | grep -q r2tun0"
		check "$n: ... not in table main" \
			eval "! in_ns a ip $fam route show $netb | grep -q r2tun0"
		check "$n: r2espd's policy rules (IKE, KINK, its own ESP to main)" \
			eval "in_ns a ip $fam rule show | grep -q '15407:.*lookup 154' && in_ns a ip $fam rule show | grep -q '15401:.*sport 500'"
		cap_wire "$n" "$oa/$opl"
	else
		check "$n: r2espd routes $netb into its TUN device" \
			eval "in_ns a ip $fam route show $netb | grep -q r2tun0"
	fi

	# 1. traffic triggers ACQUIRE -> IKE_SA_INIT/IKE_AUTH -> SAs
	local out
	out=$(in_ns a ping $fam -c 4 -i 0.3 -W 2 -I "$IA" "$IB" 2>&1)
	if grep -q ' 0 received' <<<"$out"; then
		fail "$n: ping triggers the negotiation and is answered"
	else
		pass "$n: ping triggers the negotiation and is answered ($(grep -o '[0-9]* received' <<<"$out") of 4)"
	fi
	check "$n: IKE ESTABLISHED, CHILD INSTALLED on both" wait_for 5 up_both
	check "$n: ACQUIRE reached iked through spmd" grep -q "ACQUIRE for policy" "$T/a/iked.log"
	check "$n: two SAs in each r2espd" eval "esp_sas_is a 2 && esp_sas_is b 2"
	check "$n: ping through the tunnel, no loss" \
		eval "in_ns a ping $fam -c 5 -i 0.2 -W 2 -I $IA $IB | grep -q ' 0% packet loss'"
	check "$n: ping from b to a" \
		eval "in_ns b ping $fam -c 2 -i 0.2 -W 2 -I $IB $IA | grep -q ' 0% packet loss'"
	check "$n: the packets went through r2espd" \
		eval "espctl a stats | grep -E 'esp_tx *[1-9]'"

	# 2. TCP
	ip netns exec "$(ns_of b)" iperf3 -s -1 -B "$IB" -p 5201 >"$T/iperf-s.$n" 2>&1 &
	local ip=$!
	sleep 0.5
	check "$n: TCP transfer of 8 MB through the tunnel (iperf3)" \
		in_ns a iperf3 -c "$IB" -B "$IA" -p 5201 -n 8M
	kill $ip 2>/dev/null
	wait $ip 2>/dev/null
	if [ "$MODE" = transport ]; then
		sleep 0.5
		stop tshark
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
			wait_for 5 grep -q "kernel soft expire" "$T/a/iked.log" "$T/b/iked.log"
		check "$n: SAs in place after the byte rekey" wait_for 5 up_both
		check "$n: ping after the byte rekey" \
			eval "in_ns a ping $fam -c 3 -i 0.2 -W 2 -I $IA $IB | grep -q ' 0% packet loss'"
		stop_all; netns_down
		return
	fi

	# 3. rekeys under traffic, from each side
	rekey_under_traffic "$n" a child
	rekey_under_traffic "$n" b child
	rekey_under_traffic "$n" a ike
	rekey_under_traffic "$n" b ike
	check "$n: still two SAs in each r2espd after the rekeys" \
		wait_for 5 eval "esp_sas_is a 2 && esp_sas_is b 2"

	# 4. delete from b clears both ends, traffic negotiates again
	ikectl b delete all >>"$T/checks.log" 2>&1
	check "$n: delete by b clears both iked" \
		wait_for 5 eval "is a 'len(d[\"ike_sas\"])' 0 && is b 'len(d[\"ike_sas\"])' 0"
	check "$n: ... and both r2espd" wait_for 5 eval "esp_sas_is a 0 && esp_sas_is b 0"
	check "$n: traffic negotiates again after the delete" \
		wait_for 8 eval "in_ns a ping $fam -c 1 -W 1 -I $IA $IB"
	check "$n: ... SAs up again" wait_for 5 up_both

	# 5. iked removes its SAs when it stops; spmd its policies
	stop iked-a
	stop iked-b
	check "$n: iked stopped: its SAs left r2espd" eval "esp_sas_is a 0 && esp_sas_is b 0"
	stop spmd-a
	check "$n: spmd stopped: its policies left r2espd" \
		eval "! espctl a pol show | grep -q -i 'dir'"
	if [ "$MODE" = transport ]; then
		check "$n: ... and r2espd removed the route in table 154" \
			eval "! in_ns a ip $fam route show table 154 | grep -q ."
		stop espd-a
		check "$n: r2espd stopped: its policy rules are gone" \
			eval "! in_ns a ip $fam rule show | grep -q '^154'"
	fi
	if grep -E -i ' (ERR|CRIT) ' "$T"/?/iked.log | grep -v -i 'spmd\|spmif' >"$T/errors.$n"; then
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
echo "# iked_userspace: $FAILS failure(s)"
exit "$FAILS"
