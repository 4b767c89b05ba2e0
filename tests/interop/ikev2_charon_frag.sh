#!/usr/bin/env bash
# tests/interop/ikev2_charon_frag.sh - IKEv2 fragmentation (RFC 7383)
# between racoon2's iked and strongSwan charon (`fragmentation = yes`)
# over a path that drops IP fragments.
#
#   a (iked, fake kernel) --- r (router) --- b (charon + kernel-libipsec)
#   198.51.100.1/25     .126 | .129        198.51.100.130/25
#
# r drops every IP fragment before reassembly could happen (nftables,
# prerouting at priority -450, ahead of conntrack's defrag).  Both sides
# authenticate with a 4096-bit RSA chain of three certificates (root CA ->
# intermediate CA -> end entity); each sends its end-entity and
# intermediate certificates, so each IKE_AUTH is well above the MTU.
#
# Cases (SIDE = who initiates):
#   frag/r2, frag/charon  IKE and CHILD SA up on both; charon logs
#       fragments received from racoon2 and reassembled, and its own
#       message split; iked logs the opposite; tshark sees SKF fragments
#       (isakmp.frag.number) from both addresses, no IP fragment on a's
#       link, decrypts every SK/SKF payload with racoon2's exported keys
#       (correct ICVs); the router dropped nothing.
#   nofrag  control: racoon2 with `fragmentation off`: its IKE_AUTH goes
#       out as IP fragments, the router drops them (counter > 0) and no
#       IKE SA comes up -- the path really does drop IP fragments.
#
# Usage: R2_BUILD=build-dir tests/interop/ikev2_charon_frag.sh [CASE...]
#   Skips (exit 77) without iked, charon or tshark.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] || skip_all "ikev2_charon_frag: iked not built ($R2_BUILD/src/ike/iked)"
[ -n "$IKEDCTL" ] || skip_all "ikev2_charon_frag: ikedctl not built"
netns_init r2f ikev2_charon_frag
need_cmd python3 tshark dumpcap swanctl openssl nft
charon_available || skip_all "ikev2_charon_frag: strongSwan charon not installed"
[ -e /usr/lib/ipsec/plugins/libstrongswan-x509.so ] ||
	skip_all "ikev2_charon_frag: charon's x509 plugin not installed"
R2_KERNEL=fake

if [ $# -gt 0 ]; then
	CASES=("$@")
else
	CASES=(frag/r2 frag/charon nofrag)
fi

ns_add a
ns_add r forward
ns_add b
ns_link a va r ra
ns_link r rb b vb
ns_addr a va 198.51.100.1/25
ns_addr r ra 198.51.100.126/25
ns_addr r rb 198.51.100.129/25
ns_addr b vb 198.51.100.130/25
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32
ns_route a 198.51.100.128/25 198.51.100.126
ns_route b 198.51.100.0/25 198.51.100.129

# Every IP fragment (MF set or an offset) dies in the router, before the
# kernel's defragmentation (conntrack defrag hooks at -400).
ns_exec r nft -f - <<-'EOF' || fail "router: nftables rule"
table ip r2nofrag {
	chain pre {
		type filter hook prerouting priority -450; policy accept;
		ip frag-off & 0x3fff != 0 counter drop
	}
}
EOF
dropped() {
	ns_exec r nft list table ip r2nofrag | grep -o 'packets [0-9]*' |
		awk '{print $2}'
}
reset_counter() { ns_exec r nft reset counters table ip r2nofrag >/dev/null; }

. "$LIB/pki.sh"
pki_init "$TEST_DIR/pki"
mkca root rsa4096
mkica ica rsa4096 root
mkee ra rsa4096 a.example ica "DNS:a.example"
mkee rb rsa4096 b.example ica "DNS:b.example"
# racoon2's certificate file: its certificate, then the intermediate it
# sends along (auth_cert.c); it trusts the root only.
cat "$PKI/ra.crt" "$PKI/ica.crt" >"$PKI/ra-chain.crt"
n=$(openssl x509 -in "$PKI/ra.crt" -noout -text | grep -o 'Public-Key: (4096 bit)')
[ -n "$n" ] && pass "PKI: 4096-bit RSA chain root -> ica -> ra/rb" ||
	fail "PKI: 4096-bit RSA chain root -> ica -> ra/rb"

r2_cert_conf() {
	local f
	f=$(r2_conf_path "$1")
	python3 - "$f" "$2" "$3" "$4" "$5" <<-'EOF'
	import sys
	f, cert, key, peer, frag = sys.argv[1:6]
	out = []
	for line in open(f):
	    s = line.strip()
	    if s.startswith("kmp_auth_method"):
	        out.append("\t\tkmp_auth_method { rsasig; };\n")
	        out.append('\t\tmy_public_key x509pem "%s" "%s";\n' % (cert, key))
	        out.append('\t\tpeers_public_key x509pem "%s" "";\n' % peer)
	        out.append("\t\tfragmentation %s;\n" % frag)
	        out.append("\t\tmax_retry_to_send 2;\n")
	    elif s.startswith("pre_shared_key"):
	        continue
	    else:
	        out.append(line)
	open(f, "w").write("".join(out))
	EOF
}

r2_ike_est() { [ "$(r2_q "$R2" 'len(est)')" = "${1:-1}" ]; }
r2_child_ok() {
	[ -n "$(r2_q "$R2" '[c["id"] for c in kids if c["state"] == "INSTALLED"]')" ]
}

setup_pair() { # NAME R2FRAG
	local name=$1
	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=198.51.100.1 \
		peer_gw=198.51.100.130 my_net=203.0.113.1/32 \
		peer_net=203.0.113.2/32 my_id=a.example peer_id=b.example \
		kenc=aes128_cbc kprf=hmac_sha2_256 khash=hmac_sha2_256 \
		kdh=modp2048 eenc=aes128_cbc eauth=hmac_sha2_256 mode=tunnel
	r2_cert_conf "$R2" "$PKI/ra-chain.crt" "$PKI/ra.key" "$PKI/root.crt" "$2"
	r2_check_conf "$R2" || {
		fail "$name: racoon2.conf accepted (iked -t)"
		sed 's/^/# /' "$(r2_dir "$R2")/check.log" >&2
		return 1
	}
	charon_start b "$C" --libipsec --keys --certs \
		--opt "fragment_size = 1280" || { fail "$name: charon start"; return 1; }
	local d
	d=$(charon_dir "$C")
	cp "$PKI/rb.crt" "$d/x509/rb.crt"
	cp "$PKI/ica.crt" "$d/x509ca/ica.crt"
	cp "$PKI/root.crt" "$d/x509ca/root.crt"
	cp "$PKI/rb.key" "$d/private/rb.key"
	chmod 600 "$d/private/rb.key"
	charon_conn "$C" c local=198.51.100.130 remote=198.51.100.1 \
		local_auth=pubkey remote_auth=pubkey local_id=b.example \
		remote_id=a.example local_certs=rb.crt remote_cacerts=root.crt \
		send_cert=always proposals=aes128-sha256-modp2048 \
		esp_proposals=aes128-sha256 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	# charon_conn writes no fragmentation line: its default is "yes".
	charon_load "$C" || {
		fail "$name: swanctl --load-all"
		sed 's/^/# /' "$d/swanctl.out" >&2
		return 1
	}
}

run_frag() {
	local side=$1
	local t="frag/$side-initiates"
	R2=a-frag-$side
	C=b-frag-$side
	local cap=frag-$side
	setup_pair "$t" on || return
	reset_counter
	cap_start "$cap" a va "" 198.51.100.130 || { fail "$t: capture"; return; }
	r2_start_iked a "$R2" -n -d || { fail "$t: iked start"; return; }
	if [ "$side" = r2 ]; then
		r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-$cap.log" 2>&1
	else
		sw "$C" --initiate --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	fi
	local ilog="$TEST_DIR/iked-$R2.log" clog
	clog=$(charon_log "$C")
	if wait_for "charon_ike_established $C c && r2_ike_est 1" 15; then
		pass "$t: IKE SA ESTABLISHED on both (4096-bit chain, fragmented IKE_AUTH)"
	else
		fail "$t: IKE SA ESTABLISHED on both"
		grep -E 'fragment|authentic|certificate' "$clog" | tail -8 | sed 's/^/# charon: /' >&2
		grep -E 'fragment|authentic|certificate|refused' "$ilog" | tail -8 | sed 's/^/# iked: /' >&2
	fi
	check "$t: charon CHILD SA INSTALLED" wait_for "charon_child_installed $C c" 5
	check "$t: racoon2 CHILD SA INSTALLED" wait_for r2_child_ok 5
	local l
	l=$(grep -m1 -o 'received fragment #[0-9]* of [0-9]*, reassembled fragmented IKE message ([0-9]* bytes)' "$clog")
	[ -n "$l" ] && pass "$t: charon: $l" ||
		fail "$t: charon reassembled racoon2's fragments"
	l=$(grep -m1 -o 'splitting IKE message ([0-9]* bytes) into [0-9]* fragments' "$clog")
	[ -n "$l" ] && pass "$t: charon: $l" || fail "$t: charon fragmented its message"
	l=$(grep -m1 -o 'IKE_AUTH [0-9]* reassembled from [0-9]* fragments' "$ilog")
	[ -n "$l" ] && pass "$t: iked: $l" || fail "$t: iked reassembled charon's fragments"
	l=$(grep -m1 -o 'message sent as [0-9]* fragments' "$ilog")
	[ -n "$l" ] && pass "$t: iked: $l" || fail "$t: iked fragmented its message"
	l=$(dropped)
	[ "${l:-x}" = 0 ] && pass "$t: router dropped no IP fragment (none sent)" ||
		fail "$t: router dropped ${l:-?} IP fragments"
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" delete ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: delete by racoon2 clears charon" wait_for \
		"[ \$(charon_count $C ike) = 0 ] && r2_ike_est 0" 6
	cap_stop "$cap" || fail "$t: capture file empty"
	r2_stop "$R2"
	charon_stop "$C"

	local d="$TEST_DIR/keys-$cap" f kd r ours theirs ipf
	mkdir -p "$d"
	f=$(cap_file "$cap")
	r2_export_split "$R2" "$d/r2.ike" "$d/r2.esp" ||
		fail "$t: racoon2 key export written"
	$KEYS filter-uat ike "$d/r2.ike" >"$d/ws.ike" 2>/dev/null
	kd=$(ts_keydir "$cap" "$d/ws.ike")
	ours=$(ts "$kd" "$f" -Y 'ip.src == 198.51.100.1 && isakmp.frag.number' \
		-T fields -e isakmp.frag.number 2>/dev/null | wc -l)
	theirs=$(ts "$kd" "$f" -Y 'ip.src == 198.51.100.130 && isakmp.frag.number' \
		-T fields -e isakmp.frag.number 2>/dev/null | wc -l)
	[ "$ours" -ge 2 ] && [ "$theirs" -ge 2 ] &&
		pass "$t: tshark: SKF fragments both ways (racoon2 $ours, charon $theirs)" ||
		fail "$t: tshark: SKF fragments both ways (racoon2 $ours, charon $theirs)"
	ipf=$(ts "$kd" "$f" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l)
	[ "$ipf" = 0 ] && pass "$t: tshark: no IP fragment on the wire" ||
		fail "$t: tshark: $ipf IP fragments on the wire"
	check "$t: tshark: no malformed or expert-error packets" \
		ts_check_clean "$kd" "$f"
	r=$(ts_check_ike_decrypt "$kd" "$f") &&
		pass "$t: tshark decrypts every SK/SKF payload with racoon2's keys, ICV correct ($r)" ||
		fail "$t: tshark decrypts every SK/SKF payload with racoon2's keys, ICV correct ($r)"
}

run_nofrag() {
	local t=nofrag
	R2=a-nofrag
	C=b-nofrag
	setup_pair "$t" off || return
	reset_counter
	r2_start_iked a "$R2" -n -d || { fail "$t: iked start"; return; }
	r2_ctl "$R2" initiate charon >/dev/null 2>&1
	check "$t: racoon2's IP-fragmented IKE_AUTH dropped by the router" \
		wait_for '[ "$(dropped)" -gt 0 ]' 8
	if wait_for "charon_ike_established $C c || r2_ike_est 1" 4; then
		fail "$t: no IKE SA without IKE fragmentation over this path"
	else
		pass "$t: no IKE SA without IKE fragmentation over this path"
	fi
	r2_stop "$R2"
	charon_stop "$C"
}

for c in "${CASES[@]}"; do
	case "$c" in
	frag/*) run_frag "${c#frag/}" ;;
	nofrag) run_nofrag ;;
	*) fail "unknown case $c" ;;
	esac
done
finish
