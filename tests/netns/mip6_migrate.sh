#!/usr/bin/env bash
# mip6_migrate.sh - issue 12: a Mobile IPv6 mobile node (MN) and its home
# agent (HA) keep their IPsec SAs when the MN moves (RFC 6275, RFC 4877;
# racoon2's MIGRATE).  Two namespaces, each with r2espd (userspace ESP) +
# spmd + iked; two access networks between them (2001:db8:1::/64 and
# 2001:db8:2::/64).  The HA's address 2001:db8:ff::1 and the MN's home
# address (HoA) 2001:db8:80::100 sit on loopback; the MN's care-of address
# (CoA) is on the access network it is attached to.
#
# The policies are transport mode with the home address in the selector
# (HoA <-> HA); the SAs run between CoA and HA (iked's IKE SA endpoints),
# so r2espd sends from the CoA and restores the home address after
# decryption.  This script plays mip6d: on a move it attaches the MN to
# the other network and issues racoon2's "spmdctl migrate SELECTOR SRC0
# DST0 SRC DST" on both nodes (mip6d does it on the MN when it sends the
# Binding Update, on the HA when it accepts it).
#
# Checked: traffic from the home address flows at 50 pkt/s across two
# moves (CoA1 -> CoA2 -> CoA1) with at most the packets sent during the
# move itself lost (detach to last MIGRATE, + 2); no new IKE_SA_INIT or
# IKE_AUTH on the wire after the first negotiation (tshark on both access
# networks); the IKE SA and the CHILD SAs keep their SPIs; r2espd's SAs
# carry the new CoA and none the old one, policy counts unchanged; the
# IKE SA still works at the new addresses (a CHILD SA rekey through it).
# Prints PASS/FAIL lines (SKIP, exit 77, without root, binaries, tshark);
# exit status 1 on any failure.  Namespaces r2m-PID-mn/ha, processes and
# logs: tests/lib/netns.sh.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${R2_BUILD:-$HERE/../../build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "SKIP: mip6_migrate (no build dir)"; exit 77; }
. "$HERE/../lib/netns.sh"
. "$HERE/../lib/racoon2.sh"
netns_init r2m mip6_migrate
r2_us_bins "$BUILD"
for b in "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"; do
	[ -x "$b" ] || skip_all "mip6_migrate ($b not built)"
done
need_cmd tshark

T=$TEST_DIR
HOA=2001:db8:80::100
HA=2001:db8:ff::1
COA1=2001:db8:1::2
COA2=2001:db8:2::2

ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$T/$h/iked.sock" "$@"; }
spmctl() { local h=$1; shift; ns_exec "$h" "$SPMDCTL" -s "$T/$h/spmif" "$@"; }
espctl() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$T/$h/r2espd.sock" "$@"; }
q() {
	local j
	j=$(ikectl "$1" show sa --json 2>/dev/null) || return 1
	r2_sa_eval "$j" "$2"
}
is() { [ "$(q "$1" "$2")" = "$3" ]; }
up_both() { is mn 'len(ike)' 1 && is ha 'len(ike)' 1 && is mn 'len(kids)' 1 && is ha 'len(kids)' 1; }

# ---- topology ---------------------------------------------------------------
ns_add mn; ns_add ha
for i in 1 2; do
	ns_link mn mn$i ha ha$i
	ns_addr ha ha$i "2001:db8:$i::1/64"
done
ns_addr mn lo "$HOA/128"
ns_addr ha lo "$HA/128"
NM=$(ns mn)
# attached to network 1
attach() { # attach N: the MN's CoA on network N, the HA reached through it
	local n=$1 o=$((3 - $1))
	ip -n "$NM" link set mn$n up
	ip -n "$NM" addr add "2001:db8:$n::2/64" dev mn$n nodad 2>/dev/null
	ip -n "$NM" -6 route replace "$HA/128" via "2001:db8:$n::1" dev mn$n
	ip -n "$NM" addr del "2001:db8:$o::2/64" dev mn$o 2>/dev/null
	ip -n "$NM" link set mn$o down
}
attach 1

# ---- configuration: transport, HoA <-> HA selectors, SAs from the CoA -------
printf 'mip6-test-psk-%s\n' "$$" >"$T/psk"
chmod 600 "$T/psk"
mkdir -p "$T/mn" "$T/ha"
# iked listens on every address (the CoA changes under it)
r2_us_tunnel_conf a me="$COA1" peer="$HA" mynet="$HOA/128" peernet="$HA/128" \
	psk="$T/psk" spmif="$T/mn/spmif" mode=transport |
	sed "s|ike { \"$COA1\" port 500; };|ike { \"::\" port 500; };|" >"$T/mn/racoon2.conf"
r2_us_tunnel_conf b me="$HA" peer="$COA1" mynet="$HA/128" peernet="$HOA/128" \
	psk="$T/psk" spmif="$T/ha/spmif" mode=transport |
	sed "s|ike { \"$HA\" port 500; };|ike { \"::\" port 500; };|" >"$T/ha/racoon2.conf"

start() { r2_dir_espd_spmd "$1" "$T/$1" "$1" && r2_dir_iked "$1" "$T/$1" "$1"; }
if ! start ha || ! start mn; then
	fail "r2espd, spmd and iked start on the MN and the HA"
	tail -5 "$T"/*.log
	finish
fi
pass "r2espd, spmd and iked running on the MN and the HA"
for i in 1 2; do
	start_bg tshark$i ip netns exec "$(ns ha)" tshark -n -i ha$i -w "$T/wire$i.pcap"
done
wait_for "test -s '$T/wire1.pcap'" 10
wait_for "test -s '$T/wire2.pcap'" 10

# ---- first negotiation, from the home address ------------------------------
out=$(ns_exec mn ping -6 -c 4 -i 0.3 -W 2 -I "$HOA" "$HA" 2>&1)
grep -q ' 0 received' <<<"$out" && fail "ping HoA -> HA negotiates and is answered" ||
	pass "ping HoA -> HA negotiates and is answered ($(grep -o '[0-9]* received' <<<"$out") of 4)"
check "IKE SA and CHILD SA up on both" wait_for up_both 5
check "the IKE SA runs between CoA1 and the HA" \
	eval "[ \"\$(q mn '[s[\"local\"] for s in ike]')\" = \"[$COA1]:500\" ]"
check "r2espd: the SAs run from the CoA (not the home address)" \
	eval "espctl mn sa show | grep -q $COA1 && ! espctl mn sa show | grep -q $HOA"
IKE0=$(q mn '[s["spi_i"] for s in ike]')
KID0=$(q mn '[c["spi_in"] for c in kids]')
POLS_MN=$(espctl mn pol show | grep -c -i dir)
POLS_HA=$(espctl ha pol show | grep -c -i dir)

# ---- moves -------------------------------------------------------------------
# move FROM TO : the MN changes networks; mip6d's MIGRATEs on both ends
move() {
	local from=2001:db8:$1::2 to=2001:db8:$2::2 rc=0 p
	local -a ps=()
	attach "$2"
	# the four MIGRATEs as mip6d would issue them, each end at once
	spmctl mn migrate sel_out "$from" "$HA" "$to" "$HA" & ps+=($!)
	spmctl mn migrate sel_in "$HA" "$from" "$HA" "$to" & ps+=($!)
	spmctl ha migrate sel_out "$HA" "$from" "$HA" "$to" & ps+=($!)
	spmctl ha migrate sel_in "$from" "$HA" "$to" "$HA" & ps+=($!)
	for p in "${ps[@]}"; do wait "$p" || rc=1; done
	return $rc
}
# traffic at 50 pkt/s for 5 s, the move after 1.5 s
move_under_traffic() {
	local n=$1 from=$2 to=$3 out tx rx lost
	ns_exec mn ping -6 -q -i 0.02 -W 1 -c 250 -I "$HOA" "$HA" >"$T/ping.$n" 2>&1 &
	local ping=$!
	sleep 1.5
	t0=$(date +%s%N)
	if move "$from" "$to" >>"$T/checks.log" 2>&1; then
		pass "$n: spmdctl migrate on the MN and the HA (CoA$from -> CoA$to)"
	else
		fail "$n: spmdctl migrate on the MN and the HA (CoA$from -> CoA$to)"
	fi
	# the move: from detaching the old network to the last MIGRATE
	# done; packets sent meanwhile (one per 20 ms) may be lost, plus 2
	allowed=$(( ($(date +%s%N) - t0) / 20000000 + 2 ))
	wait "$ping"
	out=$(cat "$T/ping.$n")
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	lost=$((${tx:-0} - ${rx:-0}))
	if [ "${tx:-0}" -gt 0 ] && [ "$lost" -le "$allowed" ]; then
		pass "$n: traffic from the home address continues: $lost of $tx lost (the move took $allowed - 2 packet times)"
	else
		fail "$n: traffic from the home address continues: $lost of ${tx:-0} lost (the move took $allowed - 2 packet times)"
	fi
	check "$n: IKE SA now between CoA$to and the HA on both ends" \
		wait_for "[ \"\$(q mn '[s[\"local\"] for s in ike]')\" = \"[2001:db8:$to::2]:500\" ] &&
			[ \"\$(q ha '[s[\"peer\"] for s in ike]')\" = \"[2001:db8:$to::2]:500\" ]" 5
	check "$n: same IKE SA and CHILD SA (SPIs kept, no new negotiation)" \
		eval "[ \"\$(q mn '[s[\"spi_i\"] for s in ike]')\" = '$IKE0' ] &&
			[ \"\$(q mn '[c[\"spi_in\"] for c in kids]')\" = '$KID0' ]"
	check "$n: r2espd SAs moved to CoA$to, none left at CoA$from (MN and HA)" \
		eval "(for h in mn ha; do espctl \$h sa show | grep -q 2001:db8:$to::2 || exit 1;
			! espctl \$h sa show | grep -q 2001:db8:$from::2 || exit 1; done)"
	check "$n: two SAs and the same policies in each r2espd" \
		eval "[ \$(espctl mn sa show | grep -c -i spi) = 2 ] && [ \$(espctl ha sa show | grep -c -i spi) = 2 ] &&
			[ \$(espctl mn pol show | grep -c -i dir) = $POLS_MN ] && [ \$(espctl ha pol show | grep -c -i dir) = $POLS_HA ]"
	check "$n: iked logged the move (MIGRATE through spmd)" \
		grep -q "MIGRATE (selector sel_" "$T/iked-mn.log" "$T/iked-ha.log"
}
move_under_traffic move1 1 2
move_under_traffic move2 2 1

# the IKE SA works at the new addresses: a CHILD SA rekey through it
id=$(q mn '[c["id"] for c in kids][0]')
ikectl mn rekey child "$id" >>"$T/checks.log" 2>&1
check "the IKE SA works at CoA1 again: CHILD SA rekeyed through it" \
	wait_for "[ \"\$(q mn '[c[\"spi_in\"] for c in kids]')\" != '$KID0' ] && up_both" 8
check "... the new SAs run from CoA1" \
	eval "espctl mn sa show | grep -q $COA1 && ! espctl mn sa show | grep -q $COA2"
check "ping from the home address after the rekey" \
	eval "ns_exec mn ping -6 -c 3 -i 0.2 -W 2 -I $HOA $HA | grep -q ' 0% packet loss'"

# ---- the wire -------------------------------------------------------------------
sleep 0.5
stop_bg tshark1
stop_bg tshark2
wc_pcap() { tshark -n -r "$1" -Y "$2" -T fields -e frame.number 2>>"$T/checks.log" | wc -l; }
both() { echo $(( $(wc_pcap "$T/wire1.pcap" "$1") + $(wc_pcap "$T/wire2.pcap" "$1") )); }
n_init=$(both 'isakmp.exchangetype == 34')
n_auth=$(both 'isakmp.exchangetype == 35')
n_init2=$(wc_pcap "$T/wire2.pcap" 'isakmp.exchangetype == 34 || isakmp.exchangetype == 35')
n_esp2=$(wc_pcap "$T/wire2.pcap" "esp && ipv6.src == $COA2")
n_cc1=$(wc_pcap "$T/wire1.pcap" 'isakmp.exchangetype == 36')
n_icmp=$(both 'icmpv6.type == 128 || icmpv6.type == 129')
# RFC 7296 §2.11: the HA answers from the address the MN sent to
n_badsrc=$(both "isakmp && (ipv6.dst == $COA1 || ipv6.dst == $COA2) && ipv6.src != $HA")
n_ha=$(both "isakmp && ipv6.src == $HA")
check "tshark: one IKE_SA_INIT exchange in all ($n_init messages)" test "$n_init" = 2
check "tshark: one IKE_AUTH exchange in all ($n_auth messages)" test "$n_auth" = 2
check "tshark: no IKE_SA_INIT or IKE_AUTH on network 2 after the moves ($n_init2)" test "$n_init2" = 0
check "tshark: ESP from CoA2 on network 2 ($n_esp2 packets)" test "$n_esp2" -gt 100
check "tshark: the CHILD rekey (CREATE_CHILD_SA) went over network 1, from CoA1 ($n_cc1)" test "$n_cc1" -ge 2
check "tshark: every IKE message of the HA ($n_ha) comes from $HA, the address the MN sends to ($n_badsrc from another)" \
	test "$n_badsrc" = 0 -a "$n_ha" -ge 4
check "tshark: no clear ICMPv6 echo on either network ($n_icmp)" test "$n_icmp" = 0

# ---- nothing stale -----------------------------------------------------------------
for k in iked-mn iked-ha; do stop_bg "$k"; done
check "iked stopped: no SA left in either r2espd" \
	eval "[ \$(espctl mn sa show | grep -c -i spi) = 0 ] && [ \$(espctl ha sa show | grep -c -i spi) = 0 ]"
for k in spmd-mn spmd-ha; do stop_bg "$k"; done
check "spmd stopped: no policy left in either r2espd" \
	eval "! espctl mn pol show | grep -q -i dir && ! espctl ha pol show | grep -q -i dir"
finish
