#!/usr/bin/env bash
# tests/interop/ikev2_charon_ahipcomp.sh - issue 16: IKEv2 negotiation of
# an AH CHILD SA and of ESP + IPComp (RFC 7296 §2.22, IPCOMP_SUPPORTED with
# DEFLATE) between racoon2's iked (host a) and strongSwan charon (host b),
# each side initiating once.
#
# The check is the negotiation, not traffic: charon's kernel-libipsec
# carries ESP only (no AH, no CPI), so charon runs on kernel-netlink (XFRM):
# it allocates its AH SPI / IPComp CPI in the kernel, derives and logs the
# keys, and then its SA install fails (this kernel has no AH/ESP/IPComp
# XFRM types), as in ikev2_charon.sh transport-cbc.  iked runs on the fake
# (in-memory) backend.  Per case:
#   - IKE SA ESTABLISHED on both; charon selected the AH proposal
#     (AH:HMAC_SHA2_256_128/NO_EXT_SEQ) or the ESP one with IPComp
#   - charon initiates: iked answers and installs its SAs; charon's DELETE
#     for the CHILD SA it could not install is dropped on the wire (nft,
#     INFORMATIONAL exchange type in the clear IKE header) so the CHILD SA
#     stays in iked: ikedctl show sa --json has proto ah / ipcomp deflate,
#     SPIs equal charon's (its level-4 key log names them) and iked's
#     cpi_out equals the CPI charon allocated (knl log "got CPI")
#   - racoon2 initiates: charon selects the proposal (and allocates a CPI
#     for iked's IPCOMP_SUPPORTED), its install fails, it answers
#     [ IDr AUTH (N(IPCOMP_SUP)) N(NO_PROP) ]; iked reports
#     NO_PROPOSAL_CHOSEN and keeps the IKE SA
#   - tshark: no malformed packets, every SK payload decrypts with iked's
#     exported keys; for ipcomp the decrypted IKE_AUTH request and response
#     both carry N(IPCOMP_SUPPORTED) (16387)
# charon may abort (SIGABRT) on SIGTERM while its DELETE is unanswered:
# that is charon's shutdown, after every check.
#
# Usage: R2_BUILD=build tests/interop/ikev2_charon_ahipcomp.sh [CASE...]
#   CASE: ah/r2 ah/charon ipcomp/r2 ipcomp/charon (default: all four)

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] || skip_all "ikev2_charon_ahipcomp: iked not built"
[ -n "$IKEDCTL" ] || skip_all "ikev2_charon_ahipcomp: ikedctl not built"
netns_init r2ahc ikev2_charon_ahipcomp
need_cmd python3 tshark dumpcap swanctl nft
charon_available || skip_all "ikev2_charon_ahipcomp: strongSwan charon not installed"

PSK='interop-ahipcomp-psk-0123456789abcdef'
if [ $# -gt 0 ]; then CASES=("$@"); else
	CASES=(ah/r2 ah/charon ipcomp/r2 ipcomp/charon)
fi
T_START=$SECONDS
AGW=198.51.100.1 BGW=198.51.100.2

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va $AGW/24
ns_addr b vb $BGW/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

r2_ike_est() { [ "$(r2_q "$R2" 'len(est)')" = "${1:-1}" ]; }

# drop_info on|off : on host b, drop charon's INFORMATIONAL requests
# (IKE header exchange type 37 at UDP payload offset 18, RFC 7296 §3.1).
drop_info() {
	if [ "$1" = on ]; then
		ns_exec b nft -f - <<-'NFT'
		table inet r2ahc { chain out { type filter hook output priority 0;
			udp dport 500 @th,208,8 37 drop; }; }
		NFT
	else
		ns_exec b nft delete table inet r2ahc 2>/dev/null
	fi
}

run_case() {
	local kind=${1%/*} side=${1#*/}
	local t="$kind/$side-initiates"
	R2="a-$kind-$side"
	local C="b-$kind-$side" cap="$kind-$side"
	local cprop cargs=() d clog ilog
	case "$kind" in
	ah)
		cprop=AH:HMAC_SHA2_256_128/NO_EXT_SEQ
		cargs=(esp_proposals= ah_proposals=sha256)
		;;
	ipcomp)
		cprop=ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ
		cargs=(esp_proposals=aes128-sha256 ipcomp=yes)
		;;
	*) fail "$1: unknown case"; return ;;
	esac
	local R2_KERNEL=fake
	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=$AGW peer_gw=$BGW \
		my_net=203.0.113.1/32 peer_net=203.0.113.2/32 \
		my_id=a.example peer_id=b.example psk="$PSK" mode=tunnel spmd=no
	d=$(r2_dir "$R2")
	if [ "$kind" = ah ]; then
		perl -0pi -e 's/sa_index \{ esp_sa; \}/sa_index { ah_sa; }/; s/sa esp_sa \{.*?\n\};/sa ah_sa {\n\tsa_protocol ah;\n\tah_auth_alg { hmac_sha2_256; };\n};/s' "$d/racoon2.conf"
	else
		perl -0pi -e 's/sa_index \{ esp_sa; \}/sa_index { esp_sa; ipc_sa; }/; $_ .= "sa ipc_sa {\n\tsa_protocol ipcomp;\n\tipcomp_alg { deflate; };\n};\n"' "$d/racoon2.conf"
	fi
	if r2_check_conf "$R2"; then
		pass "$t: racoon2.conf accepted (iked -t)"
	else
		fail "$t: racoon2.conf accepted (iked -t)"
		sed 's/^/# /' "$d/check.log" >&2
		return
	fi
	charon_start b "$C" --keys --log "knl=2" || { fail "$t: charon start"; return; }
	clog=$(charon_log "$C")
	ilog="$TEST_DIR/iked-$R2.log"
	charon_conn "$C" c local=$BGW remote=$AGW local_id=b.example \
		remote_id=a.example psk="$PSK" \
		proposals=aes128-sha256-modp2048 "${cargs[@]}" \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	charon_load "$C" || { fail "$t: swanctl --load-all"; return; }
	cap_start "$cap" a va "" $BGW || { fail "$t: capture"; return; }
	r2_start_iked a "$R2" -n || { fail "$t: iked start"; return; }
	[ "$side" = charon ] && drop_info on
	# swanctl --initiate waits for the CHILD SA, which charon cannot
	# install: in the background, reaped by its timeout.
	if [ "$side" = r2 ]; then
		r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-$cap.log" 2>&1
	else
		sw "$C" --initiate --child c --timeout 8 \
			>>"$TEST_DIR/swanctl-$cap.log" 2>&1 &
	fi
	check "$t: IKE SA ESTABLISHED on both" \
		wait_for "charon_ike_established $C c && r2_ike_est 1" 8
	check "$t: charon selected $cprop" \
		wait_for "grep -q 'selected proposal: $cprop' '$clog'" 5
	check "$t: charon's SA install refused by this kernel, IKE SA kept" \
		wait_for "grep -q 'failed to establish CHILD_SA, keeping IKE_SA' '$clog'" 5
	# charon's SAD SPIs (inbound first); with IPComp the CPI SAs are
	# SPI 0000CPI.  "got CPI": the one charon allocated (inbound).
	local cspis ccpi
	cspis=$(grep -oE 'SAD entry with SPI [0-9a-f]{8}' "$clog" | awk '{print $5}' | sort -u | tr '\n' ' ')
	ccpi=$(grep -oE 'got CPI [0-9a-f]{4}' "$clog" | awk '{print $3}' | tail -1)
	local want
	if [ "$kind" = ah ]; then
		want='c["proto"] == "ah" and c["integ"] == "hmac-sha2-256-128" and c["enc"] == "none"'
	else
		want='c["proto"] == "esp" and c.get("ipcomp") == "deflate"'
		if [ -n "$ccpi" ]; then
			pass "$t: charon allocated IPComp CPI $ccpi in its kernel (kernel-netlink)"
		else
			fail "$t: charon allocated an IPComp CPI (no 'got CPI' in its log)"
		fi
	fi
	if [ "$side" = charon ]; then
		local q kid
		q="[c[\"id\"] for c in kids if c[\"state\"] == \"INSTALLED\" and $want]"
		check "$t: iked installed the CHILD SA (fake backend): $want" \
			wait_for "[ -n \"\$(r2_q $R2 '$q')\" ]" 5
		kid=$(r2_q "$R2" '[c for c in kids][-1:] and kids[-1]["spi_in"] + " " + kids[-1]["spi_out"] + " " + kids[-1].get("cpi_in", "-") + " " + kids[-1].get("cpi_out", "-")')
		local si so ci co
		read -r si so ci co <<<"$kid"
		if [ -n "$si" ] && [[ " $cspis" == *" $si "* ]] && [[ " $cspis" == *" $so "* ]]; then
			pass "$t: iked's SPIs in $si out $so are charon's SAD SPIs ($cspis)"
		else
			fail "$t: iked's SPIs in '$si' out '$so' are charon's SAD SPIs ($cspis)"
		fi
		if [ "$kind" = ipcomp ]; then
			if [ -n "$co" ] && [ "$co" = "$ccpi" ] && [[ " $cspis" == *" 0000$ci "* ]]; then
				pass "$t: iked's cpi_out $co = charon's inbound CPI, iked's cpi_in $ci = charon's outbound IPComp SA"
			else
				fail "$t: iked's CPIs in '$ci' out '$co' match charon's (got CPI '$ccpi', SAD $cspis)"
			fi
		fi
		local ipat='installed: tunnel AH none-0/hmac-sha2-256-128'
		[ "$kind" = ipcomp ] &&
			ipat="IPComp DEFLATE CPIs in $ci out $co"
		check "$t: iked's log: $ipat" grep -q "$ipat" "$ilog"
	else
		# With IPComp charon still adds its IPCOMP_SUPPORTED (CPI).
		local resp='IDr AUTH N(NO_PROP)'
		[ "$kind" = ipcomp ] && resp='IDr AUTH N(IPCOMP_SUP) N(NO_PROP)'
		check "$t: charon answers IKE_AUTH [ $resp ], iked reports NO_PROPOSAL_CHOSEN" \
			wait_for "grep -qF 'generating IKE_AUTH response 1 [ $resp ]' '$clog' && grep -q 'not established: peer answered NO_PROPOSAL_CHOSEN' '$ilog'" 5
	fi
	if charon_ike_established "$C" c && r2_ike_est 1 && bg_alive "iked-$R2"; then
		pass "$t: IKE SA kept on both, iked alive"
	else
		fail "$t: IKE SA kept on both, iked alive"
	fi
	drop_info off
	cap_stop "$cap" || fail "$t: capture file empty"
	r2_stop "$R2"
	charon_stop "$C"
	wait 2>/dev/null

	# The capture, SK payloads decrypted with iked's exported keys.
	local kd f="$(cap_file "$cap")" dd="$TEST_DIR/keys-$cap" pl r
	mkdir -p "$dd"
	r2_export_split "$R2" "$dd/r2.ike" "$dd/r2.esp" || fail "$t: iked key export"
	$KEYS filter-uat ike "$dd/r2.ike" >"$dd/ws.ike" 2>/dev/null
	kd=$(ts_keydir "$cap" "$dd/ws.ike")
	check "$t: tshark: no malformed or expert-error packets" \
		ts_check_clean "$kd" "$f"
	r=$(ts_check_ike_decrypt "$kd" "$f") &&
		pass "$t: tshark decrypts every SK payload with iked's keys ($r)" ||
		fail "$t: tshark decrypts every SK payload with iked's keys ($r)"
	pl="$dd/payloads"
	ts_payloads "$kd" "$f" >"$pl"
	if [ "$kind" = ipcomp ]; then
		# RFC 7296 §2.22: IPCOMP_SUPPORTED (16387) in the IKE_AUTH
		# request and in the answer of the side that accepted it.
		local nq na
		nq=$(grep -c ' IKE_AUTH request .*N(16387)' "$pl")
		na=$(grep -c ' IKE_AUTH response .*N(16387)' "$pl")
		if [ "$side" = charon ]; then
			[ "$nq" -ge 1 ] && [ "$na" -ge 1 ] &&
				pass "$t: N(IPCOMP_SUPPORTED) in charon's IKE_AUTH request and iked's answer" ||
				fail "$t: N(IPCOMP_SUPPORTED) in charon's IKE_AUTH request ($nq) and iked's answer ($na)"
		else
			[ "$nq" -ge 1 ] && [ "$na" -ge 1 ] &&
				pass "$t: N(IPCOMP_SUPPORTED) in iked's IKE_AUTH request and charon's answer" ||
				fail "$t: N(IPCOMP_SUPPORTED) in iked's IKE_AUTH request ($nq) and charon's answer ($na)"
		fi
	fi
}

for c in "${CASES[@]}"; do
	run_case "$c"
done
log "ikev2_charon_ahipcomp: ${#CASES[@]} cases in $((SECONDS - T_START)) s"
finish
