#!/usr/bin/env bash
# tests/interop/selftest_charon_pair.sh - proves the interop harness itself
# with strongSwan charon on BOTH sides (charon <-> charon), before racoon2's
# iked exists: namespaces and veth (tests/lib/netns.sh), charon with its own
# strongswan.conf/swanctl.conf and kernel-libipsec (tests/lib/charon.sh),
# captures and tshark checks (tests/lib/tshark.sh), keys from charon's
# level-4 log turned into Wireshark UAT files (tests/lib/keys.py).
#
# For each suite x initiator side: IKE_SA + CHILD_SA up (ESTABLISHED and
# INSTALLED on both), ping through the libipsec tunnel, CHILD rekey by the
# initiator and IKE rekey by the responder, pings again; then the keys both
# charons derived are equal (the same check ikev2_charon.sh makes between
# racoon2's export and charon's log), every captured packet dissects
# without malformed/expert errors, every IKE SK payload and every ESP packet
# decrypts with the keys from the log with a correct ICV, and the exchange
# list contains INIT, AUTH, CREATE_CHILD_SA and INFORMATIONAL.
#
# Usage: tests/interop/selftest_charon_pair.sh [SUITE[/SIDE]...]
#   SUITE: cbc gcm chacha gcm6 (default: all), SIDE: a or b (default: both)
#   KEEP=1 keeps the temp dir; NS_VERBOSE=1 logs process starts.
# Prints PASS:/FAIL:/SKIP: lines; exit 1 on any FAIL.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
KEYS="python3 $LIB/keys.py"

netns_init r2ic selftest_charon_pair
need_cmd python3 tshark dumpcap swanctl ping
charon_available || skip_all "selftest_charon_pair: strongSwan charon not installed"

PSK='interop-selftest-psk-0123456789'

# suite -> "IKE proposals|ESP proposals|IKE oracle|tshark decrypts ESP"
# IKE oracle: yes = tshark, py = keys.py verify-sk (ChaCha20-Poly1305, which
# tshark 4.0 cannot decrypt), no = none
declare -A SUITE=(
	[cbc]='aes128-sha256-modp2048|aes128-sha256-modp2048|yes|yes'
	[gcm]='aes256gcm16-prfsha256-ecp256|aes256gcm16|yes|yes'
	[chacha]='chacha20poly1305-prfsha256-x25519|chacha20poly1305|py|no'
	[gcm6]='aes256gcm16-prfsha256-ecp256|aes128gcm16|yes|yes'
)
CASES=()
if [ $# -gt 0 ]; then
	CASES=("$@")
else
	CASES=(cbc/a cbc/b gcm/a gcm/b chacha/a chacha/b gcm6/a)
fi

# Topology: a(va) --- (vb)b on 198.51.100.0/24 and 2001:db8:1::/64;
# "protected" host addresses on lo: 203.0.113.1/.2 and 2001:db8:2::1/::2.
ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a va 2001:db8:1::1/64
ns_addr b vb 2001:db8:1::2/64
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32
ns_addr a lo 2001:db8:2::1/128
ns_addr b lo 2001:db8:2::2/128

# spis_changed OLD NEWCMD : true when NEWCMD prints something else than OLD
# and something non-empty.
spis_changed() {
	local now
	now=$(eval "$2")
	[ -n "$now" ] && [ "$now" != "$1" ]
}

run_case() {
	local suite=${1%/*} ini=${1#*/} resp
	[ "$ini" = "$1" ] && ini=a
	[ "$ini" = a ] && resp=b || resp=a
	local spec=${SUITE[$suite]:-}
	if [ -z "$spec" ]; then
		fail "$1: unknown suite"; return
	fi
	local ikep espp dec_ike dec_esp
	IFS='|' read -r ikep espp dec_ike dec_esp <<<"$spec"
	local t="$suite/$ini-initiates"
	local fam=4 a_out=198.51.100.1 b_out=198.51.100.2
	local a_in=203.0.113.1 b_in=203.0.113.2
	if [ "$suite" = gcm6 ]; then
		fam=6 a_out=2001:db8:1::1 b_out=2001:db8:1::2
		a_in=2001:db8:2::1 b_in=2001:db8:2::2
	fi
	local ca="a-$suite-$ini" cb="b-$suite-$ini"
	charon_start a "$ca" --libipsec --keys || { fail "$t: charon a start"; return; }
	charon_start b "$cb" --libipsec --keys || { fail "$t: charon b start"; return; }
	charon_conn "$ca" c local=$a_out remote=$b_out local_id=a.example \
		remote_id=b.example psk="$PSK" proposals="$ikep" \
		esp_proposals="$espp" local_ts=$a_in remote_ts=$b_in
	charon_conn "$cb" c local=$b_out remote=$a_out local_id=b.example \
		remote_id=a.example psk="$PSK" proposals="$ikep" \
		esp_proposals="$espp" local_ts=$b_in remote_ts=$a_in
	charon_load "$ca" && charon_load "$cb" || { fail "$t: swanctl --load-all"; return; }
	local cap="$suite-$ini"
	cap_start "$cap" a va "" "$b_out" || { fail "$t: capture"; return; }

	local ci cr
	[ "$ini" = a ] && { ci=$ca; cr=$cb; } || { ci=$cb; cr=$ca; }
	sw "$ci" --initiate --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	if charon_ike_established "$ca" c && charon_ike_established "$cb" c; then
		pass "$t: IKE SA ESTABLISHED on both"
	else
		fail "$t: IKE SA ESTABLISHED on both"
	fi
	if wait_for "charon_child_installed $ca c && charon_child_installed $cb c" 5; then
		pass "$t: CHILD SA INSTALLED on both"
	else
		fail "$t: CHILD SA INSTALLED on both"
	fi
	local p="ping -$fam -c1 -W2 -I"
	check "$t: ping through tunnel" wait_for "ns_exec a $p $a_in $b_in" 5

	local old
	old=$(charon_child_spis "$ca")
	sw "$ci" --rekey --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	if wait_for "spis_changed '$old' 'charon_child_spis $ca | tail -1' &&
	    charon_child_installed $cb c" 5; then
		pass "$t: CHILD rekey by initiator"
	else
		fail "$t: CHILD rekey by initiator"
	fi
	old=$(charon_ike_spis "$ca")
	sw "$cr" --rekey --ike c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	if wait_for "spis_changed '$old' 'charon_ike_spis $ca' &&
	    [ \$(charon_count $ca ike) = 1 ] && [ \$(charon_count $cb ike) = 1 ]" 5; then
		pass "$t: IKE rekey by responder"
	else
		fail "$t: IKE rekey by responder"
	fi
	check "$t: ping after rekeys" wait_for "ns_exec a $p $a_in $b_in" 5
	# A last CREATE_CHILD_SA on the rekeyed IKE SA proves its keys.
	old=$(charon_child_spis "$ca")
	sw "$ci" --rekey --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	wait_for "spis_changed '$old' 'charon_child_spis $ca | tail -1'" 5 ||
		fail "$t: CHILD rekey on the new IKE SA"
	sw "$ci" --terminate --ike c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	wait_for "[ \$(charon_count $cb ike) = 0 ]" 5 ||
		fail "$t: terminate clears the responder"

	cap_stop "$cap" || fail "$t: capture file empty"
	charon_stop "$ca"
	charon_stop "$cb"

	# Keys: both charons must have derived the same ones.
	local d="$TEST_DIR/keys-$cap"
	mkdir -p "$d"
	local la lb
	la=$(charon_log "$ca") lb=$(charon_log "$cb")
	$KEYS json "$la" >"$d/a.json"
	$KEYS ike-uat "$la" 2>"$d/a.ike.err" | sort >"$d/a.ike"
	$KEYS ike-uat "$lb" 2>"$d/b.ike.err" | sort >"$d/b.ike"
	$KEYS esp-uat "$la" 2>"$d/a.esp.err" | sort >"$d/a.esp"
	$KEYS esp-uat "$lb" 2>"$d/b.esp.err" | sort >"$d/b.esp"
	local nike nchild
	nike=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for r in d["ike"] if "spi_i" in r and "sk_d" in r))' "$d/a.json")
	nchild=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for r in d["child"] if "inbound" in r and "outbound" in r))' "$d/a.json")
	# initial + rekeyed IKE SA; initial + 2 rekeyed CHILD SAs
	if [ "$nike" = 2 ] && [ "$nchild" = 3 ]; then
		pass "$t: level-4 log parsed ($nike IKE SAs, $nchild CHILD SAs)"
	else
		fail "$t: level-4 log parsed ($nike IKE SAs, $nchild CHILD SAs; want 2, 3)"
	fi
	if $KEYS cmp-logs "$la" "$lb" >"$d/cmp-logs.out" 2>&1; then
		pass "$t: SKEYSEED, SK_* and ESP keys equal on both sides ($(tail -1 "$d/cmp-logs.out"))"
	else
		fail "$t: SKEYSEED, SK_* and ESP keys equal on both sides"
		sed 's/^/# /' "$d/cmp-logs.out" >&2
	fi
	if [ "$dec_esp" = yes ]; then
		if [ -s "$d/a.esp" ] && diff -q "$d/a.esp" "$d/b.esp" >/dev/null; then
			pass "$t: ESP keys equal on both sides ($(wc -l <"$d/a.esp") SAs)"
		else
			fail "$t: ESP keys equal on both sides"
		fi
	fi
	if [ "$dec_ike" = yes ]; then
		check "$t: keys.py cmp-ike a vs b" \
			to_file "$d/cmp.out" $KEYS cmp-ike "$d/a.ike" "$d/b.ike"
	fi

	local f kd
	f=$(cap_file "$cap")
	kd=$(ts_keydir "$cap" "$d/a.ike" "$d/a.esp")
	check "$t: tshark: no malformed or expert-error packets" \
		ts_check_clean "$kd" "$f"
	local ex
	ex=$(ts_exchanges "$kd" "$f")
	printf '%s\n' "$ex" >"$d/exchanges"
	local want okx=1
	for want in "IKE_SA_INIT request" "IKE_SA_INIT response" \
	    "IKE_AUTH request" "IKE_AUTH response" \
	    "CREATE_CHILD_SA request" "CREATE_CHILD_SA response" \
	    "INFORMATIONAL request" "INFORMATIONAL response"; do
		grep -q " $want " <<<"$ex" || { okx=0; log "missing: $want"; }
	done
	[ $okx = 1 ] && pass "$t: exchanges seen: $(awk '{print $2}' <<<"$ex" | uniq | tr '\n' ' ')" ||
		fail "$t: exchanges INIT/AUTH/CREATE_CHILD_SA/INFORMATIONAL all seen"
	if [ "$dec_ike" = yes ]; then
		local r
		r=$(ts_check_ike_decrypt "$kd" "$f") &&
			pass "$t: tshark decrypts every SK payload, ICV correct ($r)" ||
			fail "$t: tshark decrypts every SK payload, ICV correct ($r)"
		# Negative control: one flipped key bit must be noticed.
		$KEYS corrupt-ike "$d/a.ike" >"$d/bad.ike"
		local kd2
		kd2=$(ts_keydir "$cap-bad" "$d/bad.ike" "$d/a.esp")
		if ts_check_ike_decrypt "$kd2" "$f" >/dev/null; then
			fail "$t: a wrong SK_ai (SK_ei for AEAD) fails the ICV check"
		else
			pass "$t: a wrong SK_ai (SK_ei for AEAD) fails the ICV check"
		fi
	elif [ "$dec_ike" = py ]; then
		local r
		$KEYS ike-uat --all "$la" >"$d/all.ike" 2>/dev/null
		r=$($KEYS verify-sk "$f" "$d/all.ike" | tail -1) &&
			pass "$t: keys.py decrypts every SK payload, Poly1305 tag correct ($r)" ||
			fail "$t: keys.py decrypts every SK payload, Poly1305 tag correct ($r)"
		$KEYS corrupt-ike "$d/all.ike" >"$d/bad.ike"
		if $KEYS verify-sk "$f" "$d/bad.ike" >/dev/null; then
			fail "$t: a wrong SK_ei fails the Poly1305 check"
		else
			pass "$t: a wrong SK_ei fails the Poly1305 check"
		fi
	else
		skip "$t: IKE SK decryption ($ikep: no oracle)"
	fi
	if [ "$dec_esp" = yes ]; then
		local r
		r=$(ts_check_esp_decrypt "$kd" "$f") &&
			pass "$t: tshark decrypts every ESP packet, ICV correct ($r)" ||
			fail "$t: tshark decrypts every ESP packet, ICV correct ($r)"
	else
		skip "$t: ESP decryption ($espp not supported by this tshark)"
	fi
	local n
	n=$(ts_counts "$kd" "$f" 'esp && !udp' 'udp.port == 4500 && esp' | tr '\n' ' ')
	read -r raw udp <<<"$n"
	if [ "$raw" = 0 ] && [ "${udp:-0}" -gt 0 ]; then
		pass "$t: libipsec ESP only UDP-encapsulated ($udp packets)"
	else
		fail "$t: libipsec ESP only UDP-encapsulated (raw=$raw udp=$udp)"
	fi
}

for c in "${CASES[@]}"; do
	run_case "$c"
done
finish
