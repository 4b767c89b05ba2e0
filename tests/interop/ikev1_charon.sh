#!/usr/bin/env bash
# tests/interop/ikev1_charon.sh - issue 11, first slice: racoon2's IKEv1
# engine (src/ikev1, driven over UDP by ikev1-peer until iked dispatches
# IKEv1 itself) against strongSwan charon (version = 1) in two namespaces.
#
# For each case (r2 initiates / charon initiates, each with PFS group 14;
# r2-am / charon-am the same with Aggressive Mode):
#   - Main Mode with a PSK: the ISAKMP SA is ESTABLISHED on both sides
#   - r2-rekey / charon-rekey: Phase 2 rekey and Phase 1 re-authentication
#     (see run_rekey_case)
#   - Aggressive Mode with a PSK (RFC 2409 §5.4; charon needs aggressive
#     = yes and i_dont_care_about_security_and_use_aggressive_mode_psk)
#   - r2-rsa / charon-rsa: Main Mode with RSA signatures (RFC 2409 §5.1),
#     certificates from one CA (made with openssl, tests/lib/pki.sh),
#     FQDN IDs in subjectAltName, CR/CERT/SIG, each side checks the
#     other's chain and ID; r2-ecdsa / charon-ecdsa: ECDSA P-256 (RFC
#     4754, method 9) with self-signed certificates pinned on both sides
#   - NAT-T (RFC 3947): charon fakes a NAT (encap = yes, as libipsec only
#     does ESP-in-UDP); VIDs, NAT-D, the float to 4500 with the non-ESP
#     marker, UDP-encapsulated tunnel mode in Quick Mode
#   - Quick Mode (tunnel, ESP AES-CBC-128 + HMAC-SHA2-256, PFS): charon's
#     CHILD SA is INSTALLED (kernel-libipsec) and its SPIs are ours crossed
#   - the ESP keys both sides derived are equal (charon's level-4 log)
#   - DPD (RFC 3706): charon (dpd_delay = 2s) probes, we answer the ACK
#   - Informational Delete of the CHILD SA and of the ISAKMP SA, sent by
#     the initiator: the responder removes both
#   - tshark dissects every ISAKMP datagram cleanly and decrypts the
#     encrypted ones with the keys ikev1-peer printed
#   - traffic: our side's keys go into r2espd (the userspace data plane,
#     with r2espctl: iked does not run IKEv1 yet) and pings between the
#     protected addresses pass through both ESP-in-UDP tunnels
# Usage: R2_BUILD=build-dir tests/interop/ikev1_charon.sh [r2|charon][-am|-rsa|-ecdsa]...

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"

PEER=${R2_BUILD:-build}/tests/unit/ikev1/ikev1-peer
ESPBIN=${R2_BUILD:-build}/src/kernel/userspace
[ -x "$PEER" ] || skip_all "ikev1_charon: $PEER not built"
[ -x "$ESPBIN/r2espd" ] || skip_all "ikev1_charon: r2espd not built"
netns_init r2v1 ikev1_charon
need_cmd tshark dumpcap swanctl ping
charon_available || skip_all "ikev1_charon: strongSwan charon not installed"

PSK='interop-ikev1-psk-0123456789abcdef'
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(r2 charon r2-am charon-am r2-rekey charon-rekey)

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

# certificates for the -rsa / -ecdsa cases
if [[ " ${CASES[*]}" == *-rsa* || " ${CASES[*]}" == *-ecdsa* ]]; then
	need_cmd openssl
	[ -e /usr/lib/ipsec/plugins/libstrongswan-x509.so ] ||
		skip_all "ikev1_charon: charon's x509 plugin not installed"
	. "$LIB/pki.sh"
	pki_init "$TEST_DIR/pki"
	mkca rsaca rsa
	mkee ra rsa a.example rsaca "DNS:a.example"
	mkee rb rsa b.example rsaca "DNS:b.example"
	mkee ea p256 host-a "" "DNS:a.example"
	mkee eb p256 host-b "" "DNS:b.example"
fi

ctl() { ns_exec a "$ESPBIN/r2espctl" -s "$TEST_DIR/espd.sock" "$@"; }
start_bg espd ip netns exec "$(ns a)" "$ESPBIN/r2espd" -s "$TEST_DIR/espd.sock"
wait_for "[ -S '$TEST_DIR/espd.sock' ]" 5 || skip_all "ikev1_charon: r2espd did not start"

# install CHILD SA keys (AES-CBC-128 + HMAC-SHA2-256, ESP-in-UDP 4500) and
# the tunnel policies in r2espd; then ping through it
traffic() {
	local side=$1 spi_in=$2 spi_out=$3 key_in=$4 key_out=$5 q="reqid $6"
	ctl sa add src 198.51.100.2 dst 198.51.100.1 spi "0x$spi_in" \
		enc aes-cbc-128 key "${key_in:0:32}" auth sha256 akey "${key_in:32}" \
		encap 4500 4500 $q >/dev/null &&
	ctl sa add src 198.51.100.1 dst 198.51.100.2 spi "0x$spi_out" \
		enc aes-cbc-128 key "${key_out:0:32}" auth sha256 akey "${key_out:32}" \
		encap 4500 4500 $q >/dev/null &&
	ctl pol add dir out src 203.0.113.1/32 dst 203.0.113.2/32 \
		tsrc 198.51.100.1 tdst 198.51.100.2 $q >/dev/null &&
	ctl pol add dir in src 203.0.113.2/32 dst 203.0.113.1/32 \
		tsrc 198.51.100.2 tdst 198.51.100.1 $q >/dev/null ||
		{ fail "$side: r2espctl could not install the CHILD SA"; return; }
	check "$side: ping 203.0.113.1 -> 203.0.113.2 through the IKEv1 CHILD SA" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 8
	ctl pol del dir out src 203.0.113.1/32 dst 203.0.113.2/32 >/dev/null
	ctl pol del dir in src 203.0.113.2/32 dst 203.0.113.1/32 >/dev/null
	ctl sa del dst 198.51.100.1 spi "0x$spi_in" >/dev/null
	ctl sa del dst 198.51.100.2 spi "0x$spi_out" >/dev/null
}

# hex KEY=... field of a line of ikev1-peer's output
field() { sed -n "s/.* $2=\([0-9a-f]*\).*/\1/p" <<<"$1" | head -1; }

run_case() {
	local side=$1 who=${1%%-*} mode='' C=ch-$1 out am=() am_conn=() am_opt=()
	local auth=(psk="$PSK") ids=(local_id=198.51.100.2 remote_id=198.51.100.1)
	[ "$who" != "$side" ] && mode=${side#*-}
	case $mode in
	am)
		am=(--aggressive)
		am_conn=(aggressive=yes)
		am_opt=(--opt 'i_dont_care_about_security_and_use_aggressive_mode_psk = yes') ;;
	rsa)
		am=(--auth rsa --cert "$PKI/ra.crt" --key "$PKI/ra.key"
			--trust "$PKI/rsaca.crt" --id a.example --peer-id b.example)
		am_opt=(--certs)
		auth=(local_auth=pubkey remote_auth=pubkey local_certs=rb.crt
			remote_cacerts=rsaca.crt) ;;
	ecdsa)
		am=(--auth ecdsa256 --cert "$PKI/ea.crt" --key "$PKI/ea.key"
			--trust "$PKI/eb.crt" --id a.example --peer-id b.example)
		am_opt=(--certs)
		auth=(local_auth=pubkey remote_auth=pubkey local_certs=eb.crt
			remote_certs=ea.crt) ;;
	esac
	if [ "$mode" = rsa ] || [ "$mode" = ecdsa ]; then
		ids=(local_id=b.example remote_id=a.example)
	fi
	charon_start b "$C" --libipsec --keys "${am_opt[@]}" || { fail "$side: charon start"; return; }
	local cd
	cd=$(charon_dir "$C")
	case $mode in
	rsa) cp "$PKI/rb.crt" "$cd/x509/"; cp "$PKI/rb.key" "$cd/private/"
		cp "$PKI/rsaca.crt" "$cd/x509ca/" ;;
	ecdsa) cp "$PKI/eb.crt" "$PKI/ea.crt" "$cd/x509/"
		cp "$PKI/eb.key" "$cd/private/" ;;
	esac
	charon_conn "$C" c version=1 local=198.51.100.2 remote=198.51.100.1 \
		"${ids[@]}" "${auth[@]}" \
		proposals=aes128-sha256-modp2048 \
		esp_proposals=aes128-sha256-modp2048 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32 encap=yes \
		dpd_delay=2s "${am_conn[@]}"
	charon_load "$C" || { fail "$side: swanctl load"; return; }
	cap_start "$side" a va 'udp port 500 or udp port 4500' 198.51.100.2 ||
		{ fail "$side: capture"; return; }
	if [ "$who" = r2 ]; then
		start_bg "peer-$side" ip netns exec "$(ns a)" "$PEER" init \
			198.51.100.1 198.51.100.2 "$PSK" 203.0.113.1/32 \
			203.0.113.2/32 --pfs 14 --delete 7 --timeout 40 --natt "${am[@]}"
	else
		start_bg "peer-$side" ip netns exec "$(ns a)" "$PEER" resp \
			198.51.100.1 198.51.100.2 "$PSK" 203.0.113.1/32 \
			203.0.113.2/32 --pfs 14 --wait-delete --timeout 30 --natt "${am[@]}"
		sleep 0.5
		sw "$C" --initiate --child c --timeout 15 >"$TEST_DIR/init-$side.log" 2>&1 &
	fi
	local log=$TEST_DIR/peer-$side.log
	check "$side: ISAKMP SA established (ikev1-peer)" \
		wait_for "grep -q '^ESTABLISHED' '$log'" 15
	check "$side: Quick Mode done (ikev1-peer)" \
		wait_for "grep -q '^CHILD' '$log'" 15
	check "$side: charon IKE SA ESTABLISHED" \
		wait_for "charon_ike_established '$C' c" 5
	check "$side: charon CHILD SA INSTALLED" \
		wait_for "charon_child_installed '$C' c" 5
	local child spi_in spi_out
	child=$(grep '^CHILD' "$log")
	spi_in=$(field "$child" spi_in)
	spi_out=$(field "$child" spi_out)
	if wait_for "grep -q 'CHILD_SA c{[0-9]*} established with SPIs ${spi_out}_i ${spi_in}_o' '$(charon_log "$C")'" 3; then
		pass "$side: charon's CHILD SA has our SPIs crossed ($spi_in/$spi_out)"
	else
		fail "$side: SPIs: ours in=$spi_in out=$spi_out, charon: $(grep -m1 'established with SPIs' "$(charon_log "$C")")"
	fi
	check "$side: UDP-encapsulated tunnel negotiated (NAT-T, RFC 3947)" \
		grep -q 'udp_encap=1' "$log"
	# charon (--keys) logs "encryption initiator key => N bytes @ ..." and
	# the hex dump; compare ours in the direction charon logs for its
	# inbound SPI = our outbound.
	local key_in key_out clog keys_hex
	key_in=$(field "$child" key_in)
	key_out=$(field "$child" key_out)
	clog=$(charon_log "$C")
	keys_hex=$(awk '/(encryption|integrity) (initiator|responder) key/ {f=1; next}
		f && /^[0-9:]+ [0-9]+\[CHD\] .*[0-9]+: [0-9A-F ]+/ {
			sub(/.*[0-9]+: /, ""); sub(/  .*/, ""); gsub(/ /, ""); printf "%s", tolower($0); next }
		{ if (f) print ""; f=0 }' "$clog" | tr -d '\n')
	local ek_in=${key_in:0:32} ak_in=${key_in:32} ek_out=${key_out:0:32} ak_out=${key_out:32}
	if [ -n "$key_in" ] && [[ "$keys_hex" == *"$ek_in"* ]] && [[ "$keys_hex" == *"$ak_in"* ]] &&
		[[ "$keys_hex" == *"$ek_out"* ]] && [[ "$keys_hex" == *"$ak_out"* ]]; then
		pass "$side: ESP keys (both directions) equal charon's"
	else
		fail "$side: ESP keys differ from charon's log"
	fi
	local reqid=1
	case $side in charon) reqid=2 ;; r2-am) reqid=3 ;; charon-am) reqid=4 ;;
	r2-rsa) reqid=5 ;; charon-rsa) reqid=6 ;; r2-ecdsa) reqid=7 ;; charon-ecdsa) reqid=8 ;; esac
	traffic "$side" "$spi_in" "$spi_out" "$key_in" "$key_out" $reqid
	# RFC 3706: charon probes an idle peer every dpd_delay; we answer
	check "$side: charon's DPD R-U-THERE answered with R-U-THERE-ACK" \
		wait_for "grep -q 'parsed INFORMATIONAL_V1 request .*N(DPD_ACK)' '$(charon_log "$C")'" 8
	if [ "$who" = charon ]; then
		sw "$C" --terminate --ike c --timeout 10 >/dev/null 2>&1
		check "$side: our side saw charon's Deletes" \
			wait_for "grep -q '^DELETED isakmp' '$log'" 10
	else
		check "$side: charon removed the ISAKMP SA after our Delete" \
			wait_for "! charon_ike_established '$C' c" 20
		check "$side: charon logged our CHILD SA Delete" \
			wait_for "grep -q 'received DELETE for ESP CHILD_SA with SPI $spi_in' '$clog'" 3
	fi
	check "$side: ikev1-peer exited 0" wait_for "! bg_alive peer-$side" 20
	wait "$(bg_pid "peer-$side")" 2>/dev/null
	local rc=$?
	[ "$rc" = 0 ] && pass "$side: ikev1-peer status 0" || fail "$side: ikev1-peer status $rc"
	cap_stop "$side"
	local pcap kd est icky enc
	pcap=$(cap_file "$side")
	kd=$(ts_keydir "$side")
	est=$(grep '^ESTABLISHED' "$log")
	icky=$(field "$est" icookie)
	enc=$(field "$est" enc)
	printf '%s,%s\n' "$icky" "$enc" >"$kd/ikev1_decryption_table"
	check "$side: tshark: no malformed ISAKMP" ts_check_clean "$kd" "$pcap"
	local n_isakmp n_mm n_am n_qm n_info
	n_isakmp=$(ts "$kd" "$pcap" -Y 'isakmp.version == 0x10' | wc -l)
	n_mm=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 2' | wc -l)
	n_am=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 4' | wc -l)
	n_qm=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 32 && isakmp.hash' | wc -l)
	n_info=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 5 && isakmp.delete.spi' | wc -l)
	if [ "$mode" = rsa ] || [ "$mode" = ecdsa ]; then
		# decrypted messages 5 and 6: ID, CERT (one side at least), SIG
		local n_sig n_cert l
		n_sig=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 2 && isakmp.sig' | wc -l)
		n_cert=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 2 && isakmp.cert.encoding' | wc -l)
		[ "$n_sig" -ge 2 ] && [ "$n_cert" -ge 1 ] &&
			pass "$side: tshark decrypts messages 5/6: SIG in both, CERT in $n_cert" ||
			fail "$side: decrypted SIG payloads $n_sig, CERT $n_cert"
		l=$(grep -v '(myself)' "$(charon_log "$C")" |
			grep -m1 -o "authentication of '[^']*' with [A-Za-z0-9_ -]* successful")
		[ -n "$l" ] && pass "$side: charon: $l" ||
			fail "$side: charon authenticated our signature"
		l=$(grep -m1 -o 'peer authenticated by signature.*' "$log")
		[ -n "$l" ] && pass "$side: ikev1-peer: $l" ||
			fail "$side: ikev1-peer authenticated charon's signature"
	fi
	log "$side: isakmp=$n_isakmp main=$n_mm aggressive=$n_am quick(decrypted HASH)=$n_qm info(decrypted D)=$n_info"
	if [ "$mode" != am ]; then
		[ "$n_mm" -ge 6 ] && pass "$side: tshark: 6 Main Mode messages" || fail "$side: Main Mode messages: $n_mm"
	else
		[ "$n_am" -ge 3 ] && [ "$n_mm" -eq 0 ] && pass "$side: tshark: 3 Aggressive Mode messages, no Main Mode" ||
			fail "$side: Aggressive Mode messages: $n_am (Main Mode: $n_mm)"
		check "$side: charon logged Aggressive Mode" \
			grep -q 'AGGRESSIVE' "$(charon_log "$C")"
	fi
	[ "$n_qm" -ge 3 ] && pass "$side: tshark decrypts Quick Mode (HASH payloads) with our key" ||
		fail "$side: decrypted Quick Mode messages: $n_qm"
	[ "$n_info" -ge 2 ] && pass "$side: tshark decrypts the Deletes with our key" ||
		fail "$side: decrypted Deletes: $n_info"
	charon_stop "$C"
}

# Phase 2 rekey and Phase 1 re-authentication (no traffic or DPD here):
#   r2-rekey: we rekey the CHILD SA (new Quick Mode, then Delete of the
#     old one), then re-authenticate (a new ISAKMP SA and Quick Mode, then
#     Delete of the old ISAKMP SA); INITIAL-CONTACT in the first message 5
#   charon-rekey: charon does both (child rekey_time 4 s, rand_time 0
#     (else charon rekeys at a random time up to the life time), with
#     delete_rekeyed, IKE rekey_time = re-authentication in IKEv1, 10 s);
#     we answer and follow its Deletes
run_rekey_case() {
	local side=$1 who=${1%%-*} C=ch-$1 log=$TEST_DIR/peer-$1.log
	# IKEv1: charon keeps a rekeyed CHILD SA until it expires unless
	# delete_rekeyed is set
	charon_start b "$C" --libipsec --keys --opt 'delete_rekeyed = yes' ||
		{ fail "$side: charon start"; return; }
	local extra=()
	[ "$who" = charon ] && extra=(child_rekey_time=4s child_life_time=30s child_rand_time=0s
		rekey_time=10s)
	charon_conn "$C" c version=1 local=198.51.100.2 remote=198.51.100.1 \
		local_id=198.51.100.2 remote_id=198.51.100.1 psk="$PSK" \
		proposals=aes128-sha256-modp2048 \
		esp_proposals=aes128-sha256-modp2048 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32 encap=yes \
		"${extra[@]}"
	charon_load "$C" || { fail "$side: swanctl load"; return; }
	cap_start "$side" a va 'udp port 500 or udp port 4500' 198.51.100.2 ||
		{ fail "$side: capture"; return; }
	local clog
	clog=$(charon_log "$C")
	if [ "$who" = r2 ]; then
		start_bg "peer-$side" ip netns exec "$(ns a)" "$PEER" init \
			198.51.100.1 198.51.100.2 "$PSK" 203.0.113.1/32 \
			203.0.113.2/32 --pfs 14 --rekey 2 --reauth 4 \
			--initial-contact --delete 3 --timeout 40 --natt
		check "$side: Phase 2 rekey: new CHILD SA, old one deleted (ikev1-peer)" \
			wait_for "grep -q '^REKEYED' '$log'" 15
		check "$side: charon has the rekeyed CHILD SA INSTALLED" \
			wait_for "charon_child_installed '$C' c" 5
		local old
		old=$(sed -n 's/^REKEYED old=\([0-9a-f]*\).*/\1/p' "$log")
		check "$side: charon received the Delete of the old CHILD SA ($old)" \
			wait_for "grep -q 'received DELETE for ESP CHILD_SA with SPI $old' '$clog'" 5
		check "$side: Phase 1 re-authentication: new ISAKMP SA + Quick Mode, old ISAKMP SA deleted" \
			wait_for "grep -q '^REAUTHED' '$log'" 15
		check "$side: charon removed the old IKE SA after our Delete" \
			wait_for "[ \$(charon_count '$C' ike) = 1 ]" 10
		check "$side: charon saw INITIAL-CONTACT" \
			grep -q 'INITIAL_CONTACT' "$clog"
		check "$side: ikev1-peer exited 0" wait_for "! bg_alive peer-$side" 20
	else
		start_bg "peer-$side" ip netns exec "$(ns a)" "$PEER" resp \
			198.51.100.1 198.51.100.2 "$PSK" 203.0.113.1/32 \
			203.0.113.2/32 --pfs 14 --timeout 30 --wait-delete --natt
		sleep 0.5
		sw "$C" --initiate --child c --timeout 15 >"$TEST_DIR/init-$side.log" 2>&1 &
		check "$side: charon's Phase 2 rekey: a second CHILD SA, the old one deleted" \
			wait_for "[ \$(grep -c '^CHILD' '$log') -ge 2 ] && grep -q '^DELETED esp' '$log'" 20
		check "$side: charon's re-authentication: a new ISAKMP SA, the old one deleted" \
			wait_for "grep -q '^NEW ISAKMP SA' '$log' && grep -q '^DELETED isakmp (old)' '$log'" 25
		check "$side: charon's IKE SA (the new one) ESTABLISHED" \
			wait_for "charon_ike_established '$C' c" 5
		check "$side: no CHILD SA refused by charon" \
			bash -c "! grep -q 'N(NO_PROP)' '$clog'"
		sw "$C" --terminate --ike c --timeout 10 >/dev/null 2>&1
		check "$side: ikev1-peer saw the final Delete and exited" \
			wait_for "! bg_alive peer-$side" 20
	fi
	wait "$(bg_pid "peer-$side")" 2>/dev/null
	local rc=$?
	[ "$rc" = 0 ] && pass "$side: ikev1-peer status 0" || fail "$side: ikev1-peer status $rc"
	cap_stop "$side"
	local pcap kd n_qm
	pcap=$(cap_file "$side")
	kd=$(ts_keydir "$side")
	: >"$kd/ikev1_decryption_table"
	grep '^ESTABLISHED' "$log" | while read -r est; do
		printf '%s,%s\n' "$(field "$est" icookie)" "$(field "$est" enc)" \
			>>"$kd/ikev1_decryption_table"
	done
	check "$side: tshark: no malformed ISAKMP" ts_check_clean "$kd" "$pcap"
	n_qm=$(ts "$kd" "$pcap" -Y 'isakmp.exchangetype == 32 && isakmp.hash' | wc -l)
	local want=9
	[ "$who" = charon ] && want=6 # charon re-authenticates without a QM here
	[ "$n_qm" -ge $want ] && pass "$side: tshark decrypts the Quick Modes and the rekey ($n_qm messages)" ||
		fail "$side: decrypted Quick Mode messages: $n_qm"
	charon_stop "$C"
}

for c in "${CASES[@]}"; do
	case $c in
	*-rekey) run_rekey_case "$c" ;;
	*) run_case "$c" ;;
	esac
done
finish
