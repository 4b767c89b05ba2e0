#!/usr/bin/env bash
# tests/interop/ikev2_charon_cert.sh - certificate authentication between
# racoon2's iked and strongSwan charon (Debian package), both directions.
#
#   host a: racoon2 iked, fake kernel backend, no spmd; racoon2.conf from
#           tests/lib/racoon2.sh with the PSK lines replaced by
#           kmp_auth_method { rsasig; ecdsa256; ecdsa384; },
#           my_public_key x509pem and peers_public_key x509pem
#   host b: charon + kernel-libipsec, "auth = pubkey", its certificate in
#           swanctl's x509/, key in private/, our CA in x509ca/ or our
#           certificate (pinned) in x509/
#
# Cases (NAME/SIDE, SIDE = who initiates):
#   rsa-ca     RSA-2048 certificates from one RSA CA, FQDN IDs carried as
#              subjectAltName dNSName; racoon2 trusts the CA, charon too
#   ecdsa-pin  racoon2 ECDSA P-256, charon ECDSA P-384, self-signed and
#              pinned on both sides; IDs are the subject DNs (racoon2
#              my_id/peers_id x509_subject)
#   pss        as rsa-ca with charon signing RSASSA-PSS (rsa_pss = yes)
#   legacy-rsa, legacy-ecdsa   as rsa-ca / ecdsa-pin with charon's RFC 7427
#              support off: AUTH methods 1 (RSA, SHA-1) and 9/10 (ECDSA)
# Each: IKE SA ESTABLISHED on both, CHILD SA INSTALLED on both, charon
# logs the successful authentication of racoon2 (and the scheme), iked
# logs the one of charon, racoon2's exported IKE keys equal charon's, the
# capture dissects cleanly and tshark decrypts every SK payload with
# racoon2's exported keys (correct ICV).  Plus a negative case: charon
# pins another certificate -> racoon2 gets AUTHENTICATION_FAILED.
#
# Usage: R2_BUILD=build-dir tests/interop/ikev2_charon_cert.sh [CASE...]
#   KEEP=1 keeps the temp dir.  Skips (exit 77) without iked or charon.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] || skip_all "ikev2_charon_cert: iked not built ($R2_BUILD/src/ike/iked)"
[ -n "$IKEDCTL" ] || skip_all "ikev2_charon_cert: ikedctl not built"
netns_init r2c ikev2_charon_cert
need_cmd python3 tshark dumpcap swanctl openssl
charon_available || skip_all "ikev2_charon_cert: strongSwan charon not installed"
[ -e /usr/lib/ipsec/plugins/libstrongswan-x509.so ] ||
	skip_all "ikev2_charon_cert: charon's x509 plugin not installed"
R2_KERNEL=fake

if [ $# -gt 0 ]; then
	CASES=("$@")
else
	CASES=(rsa-ca/r2 rsa-ca/charon ecdsa-pin/r2 ecdsa-pin/charon
		pss/charon legacy-rsa/r2 legacy-ecdsa/charon wrong-pin)
fi

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

. "$LIB/pki.sh"
pki_init "$TEST_DIR/pki"

mkca rsaca rsa
mkee ra rsa a.example rsaca "DNS:a.example"
mkee rb rsa b.example rsaca "DNS:b.example"
mkee ea p256 host-a
mkee eb p384 host-b
mkee ec p256 host-c

# r2_cert_conf NAME CERT KEY PEERFILE [MYID PEERID] : replace the PSK
# lines of r2_write_conf's output with certificate authentication.
r2_cert_conf() {
	local f
	f=$(r2_conf_path "$1")
	python3 - "$f" "$2" "$3" "$4" "${5:-}" "${6:-}" <<-'EOF'
	import sys
	f, cert, key, peer, myid, peerid = sys.argv[1:7]
	out = []
	for line in open(f):
	    s = line.strip()
	    if s.startswith("kmp_auth_method"):
	        out.append("\t\tkmp_auth_method { rsasig; ecdsa256; ecdsa384; };\n")
	        out.append('\t\tmy_public_key x509pem "%s" "%s";\n' % (cert, key))
	        out.append('\t\tpeers_public_key x509pem "%s" "";\n' % peer)
	    elif s.startswith("pre_shared_key"):
	        continue
	    elif s.startswith("my_id") and myid:
	        out.append("\t\tmy_id %s;\n" % myid)
	    elif s.startswith("peers_id") and peerid:
	        out.append("\t\tpeers_id %s;\n" % peerid)
	    else:
	        out.append(line)
	open(f, "w").write("".join(out))
	EOF
}

r2_ike_est() { [ "$(r2_q "$R2" 'len(est)')" = "${1:-1}" ]; }
r2_child_ok() {
	[ -n "$(r2_q "$R2" '[c["id"] for c in kids if c["state"] == "INSTALLED"]')" ]
}

# charon_cert_setup NAME MYCERT MYKEY TRUST(ca|pin) FILE : credentials
charon_cert_setup() {
	local d
	d=$(charon_dir "$1")
	cp "$PKI/$2.crt" "$d/x509/$2.crt"
	cp "$PKI/$3.key" "$d/private/$3.key"
	chmod 600 "$d/private/$3.key"
	case "$4" in
	ca) cp "$PKI/$5.crt" "$d/x509ca/$5.crt" ;;
	pin) cp "$PKI/$5.crt" "$d/x509/$5.crt" ;;
	esac
}

dn() { openssl x509 -in "$PKI/$1.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }

run_case() {
	local name=${1%/*} side=${1#*/}
	local t="$name/$side-initiates"
	R2="a-${name}-$side"
	local C="b-${name}-$side" cap="$name-$side"
	local copts=() cconn=() r2cert r2key r2peer r2myid='' r2peerid=''
	local want_scheme

	# legacy-*: charon without RFC 7427 (no SIGNATURE_HASH_ALGORITHMS):
	# RSA method 1 (SHA-1) and ECDSA methods 9/10 both ways.
	case "$name" in
	legacy-rsa)
		copts=(--opt "signature_authentication = no")
		name=rsa-ca ;;
	legacy-ecdsa)
		copts=(--opt "signature_authentication = no")
		name=ecdsa-pin ;;
	esac
	case "$name" in
	rsa-ca|pss)
		r2cert=ra r2key=ra r2peer=rsaca
		cconn=(local_id=b.example remote_id=a.example local_certs=rb.crt
			remote_cacerts=rsaca.crt)
		want_scheme='RSA-PKCS1-SHA256'
		[ ${#copts[@]} -gt 0 ] && want_scheme='RSA-PKCS1-SHA1'
		[ "$name" = pss ] && {
			copts=(--opt "rsa_pss = yes")
			want_scheme='RSA-PSS-SHA256'
		}
		;;
	ecdsa-pin)
		r2cert=ea r2key=ea r2peer=eb
		r2myid="x509_subject \"$PKI/ea.crt\""
		r2peerid="x509_subject \"$PKI/eb.crt\""
		# charon's DN syntax: RDNs in certificate order, ", "
		cconn=("local_id=\"O=racoon2 test, CN=host-b\""
			"remote_id=\"O=racoon2 test, CN=host-a\""
			local_certs=eb.crt remote_certs=ea.crt)
		want_scheme='ECDSA-SHA384'
		[ ${#copts[@]} -gt 0 ] && want_scheme='ECDSA-SHA384(raw)'
		;;
	*) fail "$1: unknown case"; return ;;
	esac

	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=198.51.100.1 \
		peer_gw=198.51.100.2 my_net=203.0.113.1/32 \
		peer_net=203.0.113.2/32 my_id=a.example peer_id=b.example \
		kenc=aes128_cbc kprf=hmac_sha2_256 khash=hmac_sha2_256 \
		kdh=modp2048 eenc=aes128_cbc eauth=hmac_sha2_256 mode=tunnel
	r2_cert_conf "$R2" "$PKI/$r2cert.crt" "$PKI/$r2key.key" \
		"$PKI/$r2peer.crt" "$r2myid" "$r2peerid"
	if r2_check_conf "$R2"; then
		pass "$t: racoon2.conf with certificates accepted (iked -t)"
	else
		fail "$t: racoon2.conf with certificates accepted (iked -t)"
		sed 's/^/# /' "$(r2_dir "$R2")/check.log" >&2
		return
	fi
	charon_start b "$C" --libipsec --keys --certs "${copts[@]}" ||
		{ fail "$t: charon start"; return; }
	case "$name" in
	rsa-ca|pss) charon_cert_setup "$C" rb rb ca rsaca ;;
	ecdsa-pin) charon_cert_setup "$C" eb eb pin ea ;;
	esac
	charon_conn "$C" c local=198.51.100.2 remote=198.51.100.1 \
		local_auth=pubkey remote_auth=pubkey "${cconn[@]}" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	charon_load "$C" || {
		fail "$t: swanctl --load-all"
		sed 's/^/# /' "$(charon_dir "$C")/swanctl.out" >&2
		return
	}
	cap_start "$cap" a va "" 198.51.100.2 || { fail "$t: capture"; return; }
	r2_start_iked a "$R2" -n -d || { fail "$t: iked start"; return; }

	if [ "$side" = r2 ]; then
		r2_ctl "$R2" initiate charon >>"$TEST_DIR/ctl-$cap.log" 2>&1
	else
		sw "$C" --initiate --child c >>"$TEST_DIR/swanctl-$cap.log" 2>&1
	fi
	local ilog="$TEST_DIR/iked-$R2.log" clog
	clog=$(charon_log "$C")
	if wait_for "charon_ike_established $C c && r2_ike_est 1" 10; then
		pass "$t: IKE SA ESTABLISHED on both"
	else
		fail "$t: IKE SA ESTABLISHED on both"
		grep -E 'authentication|AUTH|certificate' "$clog" | tail -8 | sed 's/^/# charon: /' >&2
		grep -E 'authentic|certificate|refused' "$ilog" | tail -5 | sed 's/^/# iked: /' >&2
	fi
	check "$t: charon CHILD SA INSTALLED" wait_for "charon_child_installed $C c" 5
	check "$t: racoon2 CHILD SA INSTALLED" wait_for r2_child_ok 5
	local l
	# "with RSA_EMSA_PKCS1_SHA2_256 successful" (RFC 7427) or "with
	# ECDSA-256 signature successful" / "with RSA signature successful"
	l=$(grep -v '(myself)' "$clog" |
		grep -m1 -o "authentication of '[^']*' with [A-Za-z0-9_ -]* successful")
	if [ -n "$l" ]; then
		pass "$t: charon: $l"
	else
		fail "$t: charon authenticated racoon2 with its certificate"
	fi
	l=$(grep -m1 -o 'peer authenticated by .*' "$ilog")
	if grep -q "peer authenticated by $want_scheme" "$ilog"; then
		pass "$t: iked: $l"
	else
		fail "$t: iked authenticated charon with $want_scheme (${l:-nothing})"
	fi
	if [ "$side" = charon ]; then
		if [ "$t" = "${t#legacy}" ]; then
			grep -q 'received IKE_SA_INIT request .*N(SIGNATURE_HASH_ALGORITHMS)' "$ilog" &&
				grep -q 'parsed IKE_SA_INIT response 0 \[.*N(HASH_ALG)' "$clog" &&
				pass "$t: SIGNATURE_HASH_ALGORITHMS (RFC 7427) both ways" ||
				fail "$t: SIGNATURE_HASH_ALGORITHMS (RFC 7427) both ways"
		else
			# RFC 7427 §4: only answered, never volunteered.
			! grep -q 'parsed IKE_SA_INIT response 0 \[.*N(HASH_ALG)' "$clog" &&
				pass "$t: no SIGNATURE_HASH_ALGORITHMS from racoon2 to a peer without RFC 7427" ||
				fail "$t: no SIGNATURE_HASH_ALGORITHMS from racoon2 to a peer without RFC 7427"
		fi
		if [ "$name" != ecdsa-pin ]; then
			grep -q 'parsed IKE_SA_INIT response 0 \[.*CERTREQ' "$clog" &&
				pass "$t: racoon2's IKE_SA_INIT response asks for a certificate (CERTREQ)" ||
				fail "$t: racoon2's IKE_SA_INIT response asks for a certificate (CERTREQ)"
		fi
	else
		# the message as reassembled (RFC 7383: charon first logs each
		# fragment as EF(n/N))
		l=$(grep -o 'parsed IKE_AUTH request 1 \[[^]]*\]' "$clog" | grep -v -m1 'EF(')
		case "$name:$l" in
		ecdsa-pin:*CERT*|*:*CERT\ CERTREQ*)
			pass "$t: charon got $l" ;;
		*) fail "$t: IKE_AUTH request with CERT (and CERTREQ for a CA): $l" ;;
		esac
	fi
	id=$(r2_q "$R2" '([s["id"] for s in est] or [""])[-1]')
	r2_ctl "$R2" delete ike "$id" >>"$TEST_DIR/ctl-$cap.log" 2>&1
	check "$t: delete by racoon2 clears charon" wait_for \
		"[ \$(charon_count $C ike) = 0 ] && r2_ike_est 0" 6

	cap_stop "$cap" || fail "$t: capture file empty"
	r2_stop "$R2"
	charon_stop "$C"

	local d="$TEST_DIR/keys-$cap" f kd r
	mkdir -p "$d"
	f=$(cap_file "$cap")
	$KEYS ike-uat --all "$clog" >"$d/charon.ike" 2>/dev/null
	if r2_export_split "$R2" "$d/r2.ike" "$d/r2.esp"; then
		check "$t: racoon2's IKE keys equal charon's" \
			to_file "$d/cmp-ike.out" $KEYS cmp-ike "$d/charon.ike" "$d/r2.ike"
	else
		fail "$t: racoon2 key export written"
	fi
	$KEYS filter-uat ike "$d/r2.ike" >"$d/ws.ike" 2>/dev/null
	kd=$(ts_keydir "$cap" "$d/ws.ike")
	check "$t: tshark: no malformed or expert-error packets" \
		ts_check_clean "$kd" "$f"
	r=$(ts_check_ike_decrypt "$kd" "$f") &&
		pass "$t: tshark decrypts every SK payload with racoon2's keys, ICV correct ($r)" ||
		fail "$t: tshark decrypts every SK payload with racoon2's keys, ICV correct ($r)"
	# The IKE_AUTH messages carry CERT and AUTH (decrypted).
	local n
	n=$(ts "$kd" "$f" -Y 'isakmp.exchangetype == 35 && isakmp.auth.method' \
		-T fields -e isakmp.auth.method -e isakmp.cert.encoding 2>/dev/null |
		sort -u | tr '\t\n' ', ' | sed 's/, *$//')
	if [ -n "$n" ]; then
		pass "$t: decrypted IKE_AUTH (AUTH method, CERT encoding): $n"
	else
		fail "$t: decrypted IKE_AUTH shows AUTH payloads"
	fi
}

# charon pins another certificate for racoon2: racoon2 initiates and is
# told AUTHENTICATION_FAILED.
run_wrong_pin() {
	local t=wrong-pin
	R2=a-wrong
	local C=b-wrong
	r2_init "$R2" a
	r2_write_conf "$R2" remote=charon my_gw=198.51.100.1 \
		peer_gw=198.51.100.2 my_net=203.0.113.1/32 \
		peer_net=203.0.113.2/32 kdh=modp2048 mode=tunnel
	r2_cert_conf "$R2" "$PKI/ea.crt" "$PKI/ea.key" "$PKI/eb.crt" \
		"x509_subject \"$PKI/ea.crt\"" "x509_subject \"$PKI/eb.crt\""
	charon_start b "$C" --libipsec --certs || { fail "$t: charon start"; return; }
	charon_cert_setup "$C" eb eb pin ec
	charon_conn "$C" c local=198.51.100.2 remote=198.51.100.1 \
		local_auth=pubkey remote_auth=pubkey \
		"local_id=\"O=racoon2 test, CN=host-b\"" remote_certs=ec.crt \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 \
		local_ts=203.0.113.2/32 remote_ts=203.0.113.1/32
	charon_load "$C" || { fail "$t: swanctl --load-all"; return; }
	r2_start_iked a "$R2" -n || { fail "$t: iked start"; return; }
	r2_ctl "$R2" initiate charon >/dev/null 2>&1
	check "$t: racoon2 told AUTHENTICATION_FAILED" wait_for \
		"grep -q 'refused by peer: AUTHENTICATION_FAILED' '$TEST_DIR/iked-$R2.log'" 10
	check "$t: no IKE SA on either side" wait_for \
		"r2_ike_est 0 && [ \$(charon_count $C ike) = 0 ]" 3
	r2_stop "$R2"
	charon_stop "$C"
}

for c in "${CASES[@]}"; do
	if [ "$c" = wrong-pin ]; then
		run_wrong_pin
	else
		run_case "$c"
	fi
done
finish
