#!/usr/bin/env bash
# tests/interop/ikev2_charon.sh - issue 4 interop matrix: racoon2's iked
# against strongSwan charon (Debian package) in two namespaces.
#
#   host a: racoon2 iked (no spmd: the policy lives in iked's config and
#           "ikedctl initiate" triggers), racoon2.conf written here
#   host b: charon + kernel-libipsec (the only way charon INSTALLs CHILD
#           SAs on this kernel), level-4 key log
#
# For each suite (cbc: AES-CBC-128/HMAC-SHA2-256/MODP-2048, gcm:
# AES-GCM-16-256/ECP-256, chacha: ChaCha20-Poly1305/Curve25519) x initiator
# (racoon2 or charon):
#   - IKE SA ESTABLISHED on both, the intended proposal selected, charon's
#     CHILD SA INSTALLED (racoon2's INSTALLED, or INSTALL_FAILED on the XFRM
#     backend of this kernel: issue 4 wants it reported, IKE SA kept)
#   - CHILD rekey and IKE rekey initiated by racoon2, then by charon
#   - ping through the tunnel when racoon2 runs a backend that carries ESP
#     (R2_KERNEL=userspace)
#   - delete from racoon2 clears charon
#   - racoon2's exported keys equal charon's level-4 log (IKE: SK_e/SK_a
#     per SPI pair; ESP: keys per SPI)
#   - every captured packet dissects cleanly; every SK payload decrypts
#     with racoon2's exported keys with a correct ICV (tshark; keys.py
#     verify-sk for ChaCha20-Poly1305, which tshark 4.0 lacks)
#
# IPv6, tunnel mode (ipv6-gcm/SIDE): the gcm suite with every address in
# 2001:db8::/32 (outer 2001:db8:1::1 <-> ::2, TS 2001:db8:2::1/128 <->
# ::2/128), the same checks as above (+ ping6 with R2_KERNEL=userspace).
# Proves: IKE over IPv6 (NAT-D hashes over 16-octet addresses: charon sees
# no NAT; IKE on 4500 over IPv6), IPv6 TS in IKE_AUTH and CREATE_CHILD_SA,
# key export (esp_sa "IPv6" rows) and rekeys/delete with IPv6 endpoints;
# keys equal charon's.
#
# IPv4 transport mode (transport-cbc/SIDE): the cbc suite, ipsec_mode
# transport, TS = the two gateway addresses.  charon cannot install it:
# kernel-libipsec only does tunnel mode ("IPsec SA: unsupported mode") and
# XFRM on this kernel has no ESP type, so charon runs with kernel-netlink
# (XFRM) and its CHILD SA install fails ("unable to install inbound and
# outbound IPsec SA (SAD) in kernel ... keeping IKE_SA"); racoon2 stays on
# the fake backend.  What it proves:
#   - IKE SA ESTABLISHED on both, the cbc IKE proposal, and charon selects
#     ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ for the CHILD SA: the
#     CHILD negotiation succeeded, only charon's kernel install failed
#   - in the decrypted capture, every CHILD-creating IKE_AUTH/
#     CREATE_CHILD_SA request carries N(USE_TRANSPORT_MODE) and TSi/TSr =
#     the two gateway hosts; racoon2's answers to charon do too (RFC 7296
#     §1.3.1, §2.9)
#   - charon's failure handled like strongSwan does, IKE SA kept on both:
#     racoon2 initiates -> charon answers N(NO_PROPOSAL_CHOSEN), racoon2
#     keeps the IKE SA with no CHILD SA; charon initiates -> racoon2
#     installs (fake), charon DELETEs the CHILD SA, racoon2 removes it
#   - one more CHILD SA per side by CREATE_CHILD_SA on the same IKE SA
#     (ikedctl initiate / swanctl --initiate), handled the same way
#   - IKE rekey by racoon2, then by charon; delete by racoon2 clears charon
#     (CHILD rekeys cannot be tested: no CHILD SA survives on charon)
#   - keys: every IKE SA's keys equal charon's log; every CHILD SA racoon2
#     derived (those it answered) equals charon's log (charon logs the ESP
#     keys before its install fails)
#   - tshark: clean, every SK payload decrypts with racoon2's keys
#
# Skips (exit 77) while iked/ikedctl are not built.
# Usage: R2_BUILD=build-dir tests/interop/ikev2_charon.sh [SUITE/SIDE...]
#   SUITE: cbc gcm chacha ipv6-gcm transport-cbc
#   SIDE: r2 (racoon2 initiates) or charon; default: every combination.
#   R2_KERNEL=fake|userspace|xfrm  iked's backend (-k); default userspace
#                                 (r2espd + spmd: real traffic, pings
#                                 checked) when r2espd is built, else fake
#   IKED_EXPORT_FLAG=-K           iked option for the key export file
#   KEEP=1                        keep the temp dir
#   R2_QUICK=1                    a representative subset (see below)

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] || skip_all "ikev2_charon: iked not built ($R2_BUILD/src/ike/iked)"
[ -n "$IKEDCTL" ] || skip_all "ikev2_charon: ikedctl not built"
netns_init r2iv ikev2_charon
need_cmd python3 tshark dumpcap swanctl ping
charon_available || skip_all "ikev2_charon: strongSwan charon not installed"

PSK='interop-ikev2-psk-0123456789abcdef'
# This kernel has no ESP: on XFRM racoon2's CHILD SAs cannot install, so
# the matrix runs iked on the userspace data plane (r2espd) by default,
# where pings prove the keys carry traffic; the in-memory backend when
# r2espd is not built; the xfrm case below checks the install failure.
if [ -z "${R2_KERNEL:-}" ]; then
	if [ -x "${R2_BUILD:-build}/src/kernel/userspace/r2espd" ]; then
		R2_KERNEL=userspace
	else
		R2_KERNEL=fake
	fi
fi
# The userspace data plane gets its policies (and TUN routes) from spmd.
USE_SPMD=no
[ "$R2_KERNEL" = userspace ] && [ -n "$SPMD" ] && USE_SPMD=yes
EXPORT_FLAG=$(r2_export_flag)
[ -n "$EXPORT_FLAG" ] ||
	log "iked has no key export option in -h (set IKED_EXPORT_FLAG): key checks will fail"

# suite -> racoon2 kmp_enc|kmp_prf|kmp_hash|kmp_dh|esp_enc|esp_auth|
#          charon ike|charon esp|charon's selected IKE proposal|oracle
declare -A SUITE=(
	[cbc]='aes128_cbc|hmac_sha2_256|hmac_sha2_256|modp2048|aes128_cbc|hmac_sha2_256|aes128-sha256-modp2048|aes128-sha256|IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048|tshark'
	[gcm]='aes256_gcm16|hmac_sha2_256||ecp256|aes256_gcm16||aes256gcm16-prfsha256-ecp256|aes256gcm16|IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256|tshark'
	[chacha]='chacha20_poly1305|hmac_sha2_256||curve25519|chacha20_poly1305||chacha20poly1305-prfsha256-x25519|chacha20poly1305|IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519|py'
)
SUITE[ipv6-gcm]=${SUITE[gcm]}
SUITE[transport-cbc]=${SUITE[cbc]}
# suite -> address family|ipsec mode (default 4|tunnel)
declare -A NET=([ipv6-gcm]='6|tunnel' [transport-cbc]='4|transport')
if [ $# -gt 0 ]; then
	CASES=("$@")
else
	CASES=(cbc/r2 cbc/charon gcm/r2 gcm/charon chacha/r2 chacha/charon
		xfrm-install-failure ipv6-gcm/r2 ipv6-gcm/charon
		transport-cbc/r2 transport-cbc/charon)
	# Quick: every suite, family and mode once, both initiators overall.
	[ "${R2_QUICK:-0}" = 1 ] &&
		CASES=(cbc/r2 gcm/charon chacha/r2 xfrm-install-failure
			ipv6-gcm/charon transport-cbc/r2)
fi
T_START=$SECONDS

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32
ns_addr a va 2001:db8:1::1/64
ns_addr b vb 2001:db8:1::2/64
ns_addr a lo 2001:db8:2::1/128
ns_addr b lo 2001:db8:2::2/128
# A kernel with ESP installs what this one (no ESP type) refuses: the XFRM
# cases expect "installed" there, a clean refusal here.
HAVE_ESP=0
kernel_has_esp b && HAVE_ESP=1

spis_changed() {
	local now
	now=$(eval "$2")
	[ -n "$now" ] && [ "$now" != "$1" ]
}

# r2 queries on host a's iked (instance name in $R2)
r2_ike_est() { [ "$(r2_q "$R2" 'len(est)')" = "${1:-1}" ]; }
r2_ike_spis() { r2_q "$R2" '[s["spi_i"] + s["spi_r"] for s in est]'; }
r2_child_spis() { r2_q "$R2" '[c["spi_in"] + c["spi_out"] for c in kids if c["state"] in ("INSTALLED", "INSTALL_FAILED")]'; }
r2_child_ok() {
	[ -n "$(r2_q "$R2" '[c["id"] for c in kids if c["state"] in ("INSTALLED", "INSTALL_FAILED")]')" ]
}

# Issue 4: on XFRM without ESP the CHILD SA install fails; it must be
# reported like strongSwan does: the IKE SA stays up on both sides, the
# peer is told (DELETE for the CHILD SA), iked keeps running.
run_xfrm_case() {
	local t="xfrm-install-failure"
	R2="a-xfrm"
	local C="b-xfrm"
	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=198.51.100.1 \
		peer_gw=198.51.100.2 my_net=203.0.113.1/32 \
		peer_net=203.0.113.2/32 psk="$PSK" kernel=xfrm
	charon_start b "$C" --libipsec || { fail "$t: charon start"; return; }
	charon_conn "$C" c local=198.51.100.2 remote=198.51.100.1 \
		local_id=b.example remote_id=a.example psk="$PSK" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	charon_load "$C" || { fail "$t: swanctl --load-all"; return; }
	local nosp=()
	"$IKED" -h 2>&1 | grep -q -- '\[-n\]' && nosp=(-n)
	R2_KERNEL=xfrm r2_start_iked a "$R2" "${nosp[@]}" ||
		{ fail "$t: iked start"; return; }
	r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-xfrm.log" 2>&1
	check "$t: IKE SA ESTABLISHED on both" \
		wait_for "charon_ike_established $C c && r2_ike_est 1" 8
	if [ "$HAVE_ESP" = 1 ]; then
		# A kernel with ESP: the install must succeed, on both sides.
		check "$t: CHILD SA INSTALLED in racoon2's kernel (this kernel has ESP)" \
			wait_for "[ -n \"\$(r2_q $R2 '[c[\"id\"] for c in kids if c[\"state\"] == \"INSTALLED\"]')\" ]" 5
		check "$t: charon's CHILD SA installed" \
			wait_for "charon_child_installed $C c" 5
	else
		check "$t: charon told (DELETE for the CHILD SA or none installed)" \
			wait_for "grep -q 'received DELETE for ESP CHILD_SA' '$(charon_log "$C")' || ! charon_child_installed $C c" 5
	fi
	sleep 1
	if charon_ike_established "$C" c && r2_ike_est 1 && bg_alive "iked-$R2"; then
		pass "$t: IKE SA kept on both sides, iked alive"
	else
		fail "$t: IKE SA kept on both sides, iked alive"
	fi
	if [ "$HAVE_ESP" = 1 ]; then
		:
	elif grep -q -i -E 'install|no ESP' "$TEST_DIR/iked-$R2.log"; then
		pass "$t: iked reports the install refused for lack of ESP: $(grep -i -m1 -o -E '(unable to install|kernel has no ESP)[^(]*' "$TEST_DIR/iked-$R2.log")"
	else
		fail "$t: iked reports the install failure"
	fi
	r2_stop "$R2"
	charon_stop "$C"
}

# Transport mode against charon on XFRM (see the header): the CHILD SAs are
# negotiated, charon's install fails, the IKE SA must live on.  Args from
# run_case: T R2 C CAP SPEC.
run_transport_case() {
	local t=$1 R2=$2 C=$3 cap=$4 spec=$5
	local kenc kprf khash kdh eenc eauth cike cesp cprop oracle
	IFS='|' read -r kenc kprf khash kdh eenc eauth cike cesp cprop oracle <<<"$spec"
	local side=${t#*/}
	side=${side%-initiates}
	local agw=198.51.100.1 bgw=198.51.100.2
	local esp=ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ
	# Nothing for a data plane to carry (charon has no SA): fake backend
	# whatever R2_KERNEL says, and no spmd.
	local R2_KERNEL=fake
	local clog

	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=$agw peer_gw=$bgw \
		my_id=a.example peer_id=b.example psk="$PSK" kenc="$kenc" \
		kprf="$kprf" khash="$khash" kdh="$kdh" eenc="$eenc" \
		eauth="$eauth" mode=transport spmd=no
	if r2_check_conf "$R2"; then
		pass "$t: racoon2.conf accepted (iked -t)"
	else
		fail "$t: racoon2.conf accepted (iked -t)"
		sed 's/^/# /' "$(r2_dir "$R2")/check.log" >&2
		return
	fi
	# No --libipsec: it refuses transport mode; XFRM gets further (keys
	# derived and logged, then the SAD install fails).
	charon_start b "$C" --keys || { fail "$t: charon start"; return; }
	clog=$(charon_log "$C")
	charon_conn "$C" c local=$bgw remote=$agw \
		local_id=b.example remote_id=a.example psk="$PSK" \
		proposals="$cike" esp_proposals="$cesp" mode=transport \
		local_ts=$bgw/32 remote_ts=$agw/32
	charon_load "$C" || { fail "$t: swanctl --load-all"; return; }
	cap_start "$cap" a va "" $bgw || { fail "$t: capture"; return; }
	local nosp=()
	"$IKED" -h 2>&1 | grep -q -- '\[-n\]' && nosp=(-n)
	r2_start_iked a "$R2" "${nosp[@]}" || { fail "$t: iked start"; return; }

	initiate_and_establish "$side" "$t" "$cap" || return
	if grep -q "selected proposal: $cprop" "$clog"; then
		pass "$t: negotiated $cprop"
	else
		fail "$t: negotiated $cprop ($(grep -o 'selected proposal: IKE:[^ ]*' "$clog" | head -1))"
	fi
	check "$t: charon selected $esp for the transport CHILD SA" \
		wait_for "grep -q 'selected proposal: $esp' '$clog'" 5
	if [ "$HAVE_ESP" = 1 ]; then
		# A kernel with ESP: charon's install succeeds; what follows
		# tests the handling of its failure, which cannot happen here.
		check "$t: charon installs the transport CHILD SA (this kernel has ESP)" \
			wait_for "charon_child_installed $C c" 5
		skip "$t: handling of charon's install failure (this kernel has ESP: nothing fails)"
		cap_stop "$cap" >/dev/null 2>&1
		r2_stop "$R2"
		charon_stop "$C"
		return
	fi
	check "$t: charon's CHILD SA install refused in its kernel for lack of ESP, IKE SA kept" \
		wait_for "grep -q 'unable to install inbound and outbound IPsec SA (SAD) in kernel' '$clog' && grep -q 'failed to establish CHILD_SA, keeping IKE_SA' '$clog'" 5
	local ilog="$TEST_DIR/iked-$R2.log"
	if [ "$side" = r2 ]; then
		# RFC 7296 §2.21.1: the CHILD SA failed, the IKE SA stands.
		check "$t: charon answers IKE_AUTH with N(NO_PROP)" \
			wait_for "grep -q 'generating IKE_AUTH response 1 \[ IDr AUTH N(NO_PROP) \]' '$clog'" 5
		check "$t: racoon2 reports the refused CHILD SA" \
			wait_for "grep -q 'CHILD SA for pol not established: peer answered NO_PROPOSAL_CHOSEN' '$ilog'" 5
	else
		check "$t: racoon2 installs its transport CHILD SA (fake backend)" \
			wait_for "grep -q 'CHILD SA #[0-9]* (pol) installed: .*transport' '$ilog'" 5
		check "$t: charon DELETEs the CHILD SA it could not install" \
			wait_for "grep -q 'generating INFORMATIONAL request [0-9]* \[ D \]' '$clog'" 5
	fi
	if wait_for "[ \"\$(r2_q $R2 'len(kids)')\" = 0 ] && [ \$(charon_count $C child) = 0 ]" 5 &&
	    charon_ike_established "$C" c && r2_ike_est 1 && bg_alive "iked-$R2"; then
		pass "$t: IKE SA kept on both, no CHILD SA left on either, iked alive"
	else
		fail "$t: IKE SA kept on both, no CHILD SA left on either, iked alive ($(r2_q "$R2" '[c["state"] for c in kids]'))"
	fi

	# One more CHILD SA from each side on the same IKE SA: CREATE_CHILD_SA
	# with USE_TRANSPORT_MODE, failing at charon's install again.
	local nf nr nd
	nf=$(grep -c 'unable to install inbound and outbound IPsec SA' "$clog")
	nr=$(grep -c 'not established: peer answered NO_PROPOSAL_CHOSEN' "$ilog")
	nd=$(grep -c 'CHILD SA #[0-9]* (pol) SPIs .* deleted' "$ilog")
	r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: CREATE_CHILD_SA by racoon2: N(NO_PROP) from charon, IKE SA kept" \
		wait_for "grep -q 'generating CREATE_CHILD_SA response [0-9]* \[ N(NO_PROP) \]' '$clog' && [ \$(grep -c 'not established: peer answered NO_PROPOSAL_CHOSEN' '$ilog') -gt $nr ] && [ \"\$(r2_q $R2 'len(kids)')\" = 0 ] && r2_ike_est 1 && charon_ike_established $C c" 6
	sw "$C" --initiate --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	check "$t: CREATE_CHILD_SA by charon: racoon2 installs, charon DELETEs, IKE SA kept" \
		wait_for "[ \$(grep -c 'unable to install inbound and outbound IPsec SA' '$clog') -ge $((nf + 2)) ] && [ \$(grep -c 'CHILD SA #[0-9]* (pol) SPIs .* deleted' '$ilog') -gt $nd ] && [ \"\$(r2_q $R2 'len(kids)')\" = 0 ] && r2_ike_est 1 && charon_ike_established $C c" 6

	# IKE rekeys (there is no CHILD SA to rekey).
	local old id
	old=$(charon_ike_spis "$C")
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" rekey ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: IKE rekey by racoon2" wait_for \
		"spis_changed '$old' 'charon_ike_spis $C' && [ \$(charon_count $C ike) = 1 ] && r2_ike_est" 6
	old=$(r2_ike_spis)
	sw "$C" --rekey --ike c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	check "$t: IKE rekey by charon" wait_for \
		"spis_changed '$old' r2_ike_spis && r2_ike_est 1 && [ \$(charon_count $C ike) = 1 ]" 6
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" delete ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: delete by racoon2 clears charon" wait_for \
		"[ \$(charon_count $C ike) = 0 ] && r2_ike_est 0" 6
	if bg_alive "iked-$R2"; then pass "$t: iked alive"; else fail "$t: iked alive"; fi

	cap_stop "$cap" || fail "$t: capture file empty"
	r2_stop "$R2"
	charon_stop "$C"
	check_keys_capture "$t" "$R2" "$C" "$cap" "$oracle" 0 r2

	# The decrypted capture: transport mode and the TS on the wire.
	local pl="$TEST_DIR/keys-$cap/payloads" r
	ts_payloads "$KC_KEYDIR" "$(cap_file "$cap")" >"$pl"
	if r=$(python3 - "$pl" "$agw" "$bgw" "$side" <<-'PY'
	import sys
	path, a, b, side = sys.argv[1:5]
	# CHILD requests, racoon2's CHILD answers, charon's NO_PROP answers,
	# charon's ESP DELETEs: IKE_AUTH + one CREATE_CHILD_SA per side.
	want = {"r2": (3, 1, 2, 1), "charon": (3, 2, 1, 2)}[side]
	ts = lambda ip: "%s-%s/0/0-65535" % (ip, ip)
	reqs = {}
	bad, nreq, nresp_r2, nnoprop, ndel = [], 0, 0, 0, 0
	for line in open(path):
	    f = line.split()
	    fr, ex, kind, mid, src, pls = f[0], f[1], f[2], f[3], f[4], f[5:]
	    if "SK?" in pls:
	        bad.append("frame %s: SK not decrypted" % fr)
	    key = (ex, mid, src if kind == "request" else (a if src == b else b))
	    tsi = [p for p in pls if p.startswith("TSi(")]
	    tsr = [p for p in pls if p.startswith("TSr(")]
	    child = "SA" in pls and tsi
	    if kind == "request":
	        reqs[key] = "del" if (ex == "INFORMATIONAL" and src == b and
	                              "D(3)" in pls) else child
	        if reqs[key] == "del":
	            ndel += 1
	        if not child:
	            continue
	        nreq += 1
	        ini, oth = (src, b if src == a else a)
	    else:
	        if reqs.get(key) == "del":
	            # RFC 7296 §1.4.1: the answer deletes the inbound half.
	            if "D(3)" not in pls:
	                bad.append("frame %s: answer to an ESP DELETE without D" % fr)
	            continue
	        if not reqs.get(key):
	            continue
	        if "N(14)" in pls and src == b:
	            nnoprop += 1
	            continue
	        if not child:
	            bad.append("frame %s: %s response without SA/TS" % (fr, ex))
	            continue
	        if src == a:
	            nresp_r2 += 1
	        ini, oth = (b if src == a else a, src)
	    # RFC 7296 §1.3.1: USE_TRANSPORT_MODE in request and response;
	    # §2.9: TSi is the initiator's side, TSr the responder's.
	    if "N(16391)" not in pls:
	        bad.append("frame %s: %s %s without USE_TRANSPORT_MODE" % (fr, ex, kind))
	    if tsi != ["TSi(%s)" % ts(ini)] or tsr != ["TSr(%s)" % ts(oth)]:
	        bad.append("frame %s: %s %s TS %s %s" % (fr, ex, kind, tsi, tsr))
	print("CHILD requests=%d racoon2 answers=%d charon NO_PROP=%d charon ESP DELETEs=%d"
	      % (nreq, nresp_r2, nnoprop, ndel))
	for x in bad:
	    print(x)
	if (nreq, nresp_r2, nnoprop, ndel) != want:
	    bad.append("expected %d/%d/%d/%d" % want)
	sys.exit(1 if bad else 0)
	PY
	); then
		pass "$t: decrypted: USE_TRANSPORT_MODE and gateway TSs in every CHILD request and racoon2 answer, D answered with D ($(head -1 <<<"$r"))"
	else
		fail "$t: decrypted: USE_TRANSPORT_MODE and gateway TSs in every CHILD request and racoon2 answer, D answered with D"
		printf '# %s\n' "$r" >&2
	fi
}

# initiate_and_establish SIDE T CAP: the side named starts the IKE SA;
# PASS/FAIL "ESTABLISHED on both" (non-zero when it is not).
initiate_and_establish() {
	local side=$1 t=$2 cap=$3
	if [ "$side" = r2 ]; then
		r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-$cap.log" 2>&1
	else
		sw "$C" --initiate --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	fi
	if wait_for "charon_ike_established $C c && r2_ike_est 1" 8; then
		pass "$t: IKE SA ESTABLISHED on both"
	else
		fail "$t: IKE SA ESTABLISHED on both"
		r2_json "$R2" >&2
		return 1
	fi
}

run_case() {
	[ "$1" = xfrm-install-failure ] && { run_xfrm_case; return; }
	local suite=${1%/*} side=${1#*/}
	local spec=${SUITE[$suite]:-}
	[ -n "$spec" ] || { fail "$1: unknown suite"; return; }
	local kenc kprf khash kdh eenc eauth cike cesp cprop oracle
	IFS='|' read -r kenc kprf khash kdh eenc eauth cike cesp cprop oracle <<<"$spec"
	local t="$suite/$side-initiates"
	R2="a-$suite-$side"
	local C="b-$suite-$side" cap="$suite-$side"
	local fam=4 mode=tunnel
	[ -n "${NET[$suite]:-}" ] && IFS='|' read -r fam mode <<<"${NET[$suite]}"
	if [ "$mode" = transport ]; then
		run_transport_case "$t" "$R2" "$C" "$cap" "$spec"
		return
	fi
	# Outer (gateway) addresses, then the tunnel's inner hosts.
	local agw=198.51.100.1 bgw=198.51.100.2 ain=203.0.113.1 bin=203.0.113.2
	local plen=32
	if [ "$fam" = 6 ]; then
		agw=2001:db8:1::1 bgw=2001:db8:1::2
		ain=2001:db8:2::1 bin=2001:db8:2::2 plen=128
	fi

	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=$agw \
		peer_gw=$bgw my_net=$ain/$plen \
		peer_net=$bin/$plen my_id=a.example peer_id=b.example \
		psk="$PSK" kenc="$kenc" kprf="$kprf" khash="$khash" \
		kdh="$kdh" eenc="$eenc" eauth="$eauth" mode=tunnel \
		spmd=$USE_SPMD
	if r2_check_conf "$R2"; then
		pass "$t: racoon2.conf accepted (iked -t)"
	else
		fail "$t: racoon2.conf accepted (iked -t)"
		sed 's/^/# /' "$(r2_dir "$R2")/check.log" >&2
		return
	fi
	charon_start b "$C" --libipsec --keys || { fail "$t: charon start"; return; }
	charon_conn "$C" c local=$bgw remote=$agw \
		local_id=b.example remote_id=a.example psk="$PSK" \
		proposals="$cike" esp_proposals="$cesp" \
		local_ts=$bin/$plen remote_ts=$ain/$plen
	charon_load "$C" || { fail "$t: swanctl --load-all"; return; }
	cap_start "$cap" a va "" $bgw || { fail "$t: capture"; return; }
	# No spmd here: -n (when iked has it) keeps iked from waiting for one.
	local nosp=()
	"$IKED" -h 2>&1 | grep -q -- '\[-n\]' && nosp=(-n)
	if [ "$R2_KERNEL" = userspace ]; then
		[ -n "$ESPD" ] && r2_start_espd a "$R2" || { fail "$t: r2espd start"; return; }
	fi
	if [ "$USE_SPMD" = yes ]; then
		nosp=()
		r2_start_spmd a "$R2" || { fail "$t: spmd start"; return; }
	fi
	r2_start_iked a "$R2" "${nosp[@]}" || { fail "$t: iked start"; return; }

	initiate_and_establish "$side" "$t" "$cap" || return
	if grep -q "selected proposal: $cprop" "$(charon_log "$C")"; then
		pass "$t: negotiated $cprop"
	else
		fail "$t: negotiated $cprop ($(grep -o 'selected proposal: IKE:[^ ]*' "$(charon_log "$C")" | head -1))"
	fi
	if [ "$fam" = 6 ]; then
		# RFC 7296 §2.23: NAT-D hashes over the 16-octet addresses; a
		# wrong one makes charon believe in a NAT.
		if grep -q 'behind NAT' "$(charon_log "$C")"; then
			fail "$t: charon sees no NAT (NAT-D over IPv6): $(grep -m1 -o '[a-z]* host is behind NAT' "$(charon_log "$C")")"
		else
			pass "$t: charon sees no NAT (NAT-D over IPv6)"
		fi
	fi
	check "$t: charon CHILD SA INSTALLED" \
		wait_for "charon_child_installed $C c" 5
	if wait_for r2_child_ok 5; then
		pass "$t: racoon2 CHILD SA $(r2_q "$R2" '[c["state"] for c in kids]')"
	else
		fail "$t: racoon2 CHILD SA INSTALLED or INSTALL_FAILED"
	fi
	local can_ping=0
	[ "$(r2_q "$R2" '[c["state"] for c in kids][-1:]')" = INSTALLED ] &&
		[ "${R2_KERNEL:-}" != fake ] && can_ping=1
	local p="ping -c1 -W2 -I $ain $bin"
	if [ $can_ping = 1 ]; then
		check "$t: ping through the tunnel" wait_for "ns_exec a $p" 5
	else
		skip "$t: ping (racoon2's CHILD SA not installed in a data plane)"
	fi

	# Rekeys: CHILD then IKE by racoon2, CHILD then IKE by charon.
	local old id
	old=$(charon_child_spis "$C")
	id=$(r2_q "$R2" '([c["id"] for c in kids] or [""])[-1]')
	r2_ctl "$R2" rekey child "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: CHILD rekey by racoon2" wait_for \
		"spis_changed '$old' 'charon_child_spis $C | tail -1' && charon_child_installed $C c && r2_child_ok" 6
	old=$(charon_ike_spis "$C")
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" rekey ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: IKE rekey by racoon2" wait_for \
		"spis_changed '$old' 'charon_ike_spis $C' && [ \$(charon_count $C ike) = 1 ] && r2_ike_est" 6
	old=$(r2_child_spis)
	sw "$C" --rekey --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	check "$t: CHILD rekey by charon" wait_for \
		"spis_changed '$old' 'r2_child_spis | tr \" \" \"\\n\" | tail -1' && charon_child_installed $C c" 6
	old=$(r2_ike_spis)
	sw "$C" --rekey --ike c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	check "$t: IKE rekey by charon" wait_for \
		"spis_changed '$old' r2_ike_spis && r2_ike_est 1 && [ \$(charon_count $C ike) = 1 ]" 6
	if [ $can_ping = 1 ]; then
		check "$t: ping after rekeys" wait_for "ns_exec a $p" 5
	fi
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" delete ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: delete by racoon2 clears charon" wait_for \
		"[ \$(charon_count $C ike) = 0 ] && r2_ike_est 0" 6

	cap_stop "$cap" || fail "$t: capture file empty"
	r2_stop "$R2"
	charon_stop "$C"
	check_keys_capture "$t" "$R2" "$C" "$cap" "$oracle" $can_ping charon
}

# check_keys_capture T R2 C CAP ORACLE CAN_PING ESP_REF : after a run (both
# daemons stopped), racoon2's key export against charon's level-4 log and
# the capture through tshark.  UAT files go to $TEST_DIR/keys-CAP/, the
# Wireshark config with racoon2's keys is left in KC_KEYDIR.
# ESP_REF=charon: every CHILD SA charon logged must be in racoon2's export;
# ESP_REF=r2: every CHILD SA racoon2 exported must be in charon's log (when
# charon's install failed, racoon2 never learnt the CHILD SAs it proposed;
# at least one must match).
check_keys_capture() {
	local t=$1 R2=$2 C=$3 cap=$4 oracle=$5 can_ping=$6 esp_ref=$7
	# Keys: racoon2's export against charon's level-4 log.
	local d="$TEST_DIR/keys-$cap" f kd
	mkdir -p "$d"
	f=$(cap_file "$cap")
	$KEYS ike-uat --all "$(charon_log "$C")" >"$d/charon.ike" 2>/dev/null
	$KEYS esp-uat --all "$(charon_log "$C")" >"$d/charon.esp" 2>/dev/null
	if r2_export_split "$R2" "$d/r2.ike" "$d/r2.esp"; then
		pass "$t: racoon2 key export written ($(wc -l <"$d/r2.ike") IKE, $(wc -l <"$d/r2.esp") ESP lines)"
		local mode
		mode=$(r2_export_modes "$R2")
		[ "$mode" = 600 ] && pass "$t: key export files mode 0600" ||
			fail "$t: key export files mode 0600 (are $mode)"
	else
		fail "$t: racoon2 key export written (flag '${EXPORT_FLAG:-none}')"
	fi
	check "$t: racoon2's IKE keys equal charon's ($(wc -l <"$d/charon.ike") SAs)" \
		to_file "$d/cmp-ike.out" $KEYS cmp-ike "$d/charon.ike" "$d/r2.ike"
	if [ "$esp_ref" = charon ]; then
		check "$t: racoon2's ESP keys equal charon's ($(wc -l <"$d/charon.esp") SAs)" \
			to_file "$d/cmp-esp.out" $KEYS cmp-esp "$d/charon.esp" "$d/r2.esp"
	else
		check "$t: racoon2's ESP keys equal charon's ($(wc -l <"$d/r2.esp") SAs racoon2 derived, of $(wc -l <"$d/charon.esp") charon logged)" \
			to_file "$d/cmp-esp.out" $KEYS cmp-esp "$d/r2.esp" "$d/charon.esp"
	fi

	$KEYS filter-uat ike "$d/r2.ike" >"$d/ws.ike" 2>/dev/null
	$KEYS filter-uat esp "$d/r2.esp" >"$d/ws.esp" 2>/dev/null
	kd=$(ts_keydir "$cap" "$d/ws.ike" "$d/ws.esp")
	KC_KEYDIR=$kd
	check "$t: tshark: no malformed or expert-error packets" \
		ts_check_clean "$kd" "$f"
	local ex want okx=1
	ex=$(ts_exchanges "$kd" "$f")
	printf '%s\n' "$ex" >"$d/exchanges"
	for want in "IKE_SA_INIT request" "IKE_SA_INIT response" \
	    "IKE_AUTH request" "IKE_AUTH response" \
	    "CREATE_CHILD_SA request" "CREATE_CHILD_SA response" \
	    "INFORMATIONAL request" "INFORMATIONAL response"; do
		grep -q " $want " <<<"$ex" || { okx=0; log "$t: missing $want"; }
	done
	[ $okx = 1 ] && pass "$t: exchanges: $(awk '{print $2}' <<<"$ex" | uniq | tr '\n' ' ')" ||
		fail "$t: exchanges INIT/AUTH/CREATE_CHILD_SA/INFORMATIONAL all seen"
	local r
	if [ "$oracle" = tshark ]; then
		r=$(ts_check_ike_decrypt "$kd" "$f") &&
			pass "$t: tshark decrypts every SK payload with racoon2's keys, ICV correct ($r)" ||
			fail "$t: tshark decrypts every SK payload with racoon2's keys, ICV correct ($r)"
	else
		r=$($KEYS verify-sk "$f" "$d/r2.ike" | tail -1) &&
			pass "$t: every SK payload decrypts with racoon2's keys, Poly1305 tag correct ($r)" ||
			fail "$t: every SK payload decrypts with racoon2's keys, Poly1305 tag correct ($r)"
	fi
	if [ $can_ping = 1 ] && [ -s "$d/ws.esp" ]; then
		r=$(ts_check_esp_decrypt "$kd" "$f") &&
			pass "$t: tshark decrypts the ESP with racoon2's keys ($r)" ||
			fail "$t: tshark decrypts the ESP with racoon2's keys ($r)"
	fi
}

for c in "${CASES[@]}"; do
	run_case "$c"
done
log "ikev2_charon: ${#CASES[@]} cases in $((SECONDS - T_START)) s"
finish
