#!/usr/bin/env bash
# tests/netns/iked_cert.sh - two racoon2 hosts (namespaces r2c-PID-a/b)
# authenticate with X.509 certificates (RFC 7296 §2.15, RFC 7427):
#
#   rsa-ca       RSA-2048 end entities issued by an RSA CA; FQDN IDs that
#                the certificates carry as subjectAltName dNSName;
#                peers_public_key is the CA (chain verification, CERTREQ)
#   ecdsa-pinned ECDSA P-256 and P-384 self-signed certificates over IPv6;
#                peers_public_key is the peer's own certificate (racoon2's
#                meaning), IDs are the subject DNs (my_id x509_subject)
#   legacy-pin   the same, send_cert off: nothing on the wire but AUTH
#   wrong-pin    the responder pinned another certificate:
#                AUTHENTICATION_FAILED, no SA anywhere, clear log lines
#   method-resp  the responder's kmp_auth_method lists ECDSA only, the
#                initiator signs with RSA: AUTHENTICATION_FAILED (issue 9)
#   method-init  the initiator's lists ECDSA only, the responder signs
#                with RSA: the initiator refuses, tells the responder in
#                an INFORMATIONAL (RFC 7296 §2.21.2), no SA on either side
#   iked -t      refuses a key that does not belong to the certificate
#
# iked runs with the fake kernel backend and without spmd (-n -k fake),
# the exchange is started with "ikedctl initiate".  Keys and certificates
# are made here with the openssl command.
#
# Usage: R2_BUILD=build-dir tests/netns/iked_cert.sh   (root; KEEP=1 keeps
# the temp dir).  Prints PASS:/FAIL: lines; exit 1 on any failure.

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/racoon2.sh"

r2_find_bins
[ -n "$IKED" ] || skip_all "iked_cert: iked not built ($R2_BUILD/src/ike/iked)"
[ -n "$IKEDCTL" ] || skip_all "iked_cert: ikedctl not built"
netns_init r2c iked_cert
need_cmd openssl python3
R2_KERNEL=fake

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a va 2001:db8:c::1/64
ns_addr b vb 2001:db8:c::2/64

. "$LIB/pki.sh"
pki_init "$TEST_DIR/pki"

# conf NAME ME PEER MYID PEERID CERT KEY PEERFILE [EXTRA]
#   MYID/PEERID: racoon2 ID syntax, e.g. 'fqdn "a.example"' or
#   'x509_subject "FILE"'
conf() {
	local name=$1 me=$2 peer=$3 myid=$4 peerid=$5 cert=$6 key=$7
	local pf=$8 extra=${9:-}
	r2_init "$name" "$name"
	cat >"$(r2_conf_path "$name")" <<-EOF
	interface { ike { $me port 500; }; };
	remote peer {
		acceptable_kmp { ikev2; };
		ikev2 {
			my_id $myid;
			peers_id $peerid;
			peers_ipaddr "$peer" port 500;
			kmp_enc_alg { aes128_cbc; };
			kmp_prf_alg { hmac_sha2_256; };
			kmp_hash_alg { hmac_sha2_256; };
			kmp_dh_group { ecp256; };
			kmp_auth_method { ${AUTHM:-rsasig; ecdsa256; ecdsa384;} };
			my_public_key x509pem "$cert" "$key";
			peers_public_key x509pem "$pf" "";
			max_retry_to_send 2; interval_to_send 1 sec;
			$extra
		};
		selector_index sel_in;
	};
	selector sel_out { direction outbound; src "$me"; dst "$peer"; policy_index pol; };
	selector sel_in { direction inbound; src "$peer"; dst "$me"; policy_index pol; };
	policy pol { action auto_ipsec; remote_index peer; ipsec_mode transport;
		ipsec_index { ipsec_esp; }; ipsec_level require; };
	ipsec ipsec_esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
	sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; };
		esp_auth_alg { hmac_sha2_256; }; };
	EOF
}

ike_est() { [ "$(r2_q "$1" 'len(est)')" = "${2:-1}" ]; }
child_ok() { [ -n "$(r2_q "$1" '[c["id"] for c in kids if c["state"] == "INSTALLED"]')" ]; }
ilog() { printf '%s/iked-%s.log' "$TEST_DIR" "$1"; }

# run_ok TAG : a and b (configs written) establish, a initiates.
run_ok() {
	local t=$1 ok=1
	if r2_check_conf a && r2_check_conf b; then
		pass "$t: iked -t accepts both configurations"
	else
		fail "$t: iked -t accepts both configurations"
		sed 's/^/# /' "$(r2_dir a)/check.log" "$(r2_dir b)/check.log" >&2
		return
	fi
	r2_start_iked b b -n -d || { fail "$t: iked b start"; return; }
	r2_start_iked a a -n -d || { fail "$t: iked a start"; return; }
	r2_ctl a initiate peer >/dev/null 2>&1
	if wait_for "ike_est a && ike_est b" 8; then
		pass "$t: IKE SA ESTABLISHED on both"
	else
		fail "$t: IKE SA ESTABLISHED on both"
		tail -15 "$(ilog a)" "$(ilog b)" | sed 's/^/# /' >&2
		ok=0
	fi
	[ $ok = 1 ] && check "$t: CHILD SA INSTALLED on both" \
		wait_for "child_ok a && child_ok b" 5
	local la lb
	la=$(grep -m1 -o 'peer authenticated by .*' "$(ilog a)")
	lb=$(grep -m1 -o 'peer authenticated by .*' "$(ilog b)")
	if [ -n "$la" ] && [ -n "$lb" ]; then
		pass "$t: a: $la"
		pass "$t: b: $lb"
	else
		fail "$t: both sides log the certificate authentication"
	fi
	# A new IKE SA by rekey keeps the authentication of the old one.
	if [ $ok = 1 ]; then
		local id
		id=$(r2_q b '([s["id"] for s in est] or [""])[-1]')
		r2_ctl b rekey ike "$id" >/dev/null 2>&1
		check "$t: IKE rekey from b" wait_for \
			"ike_est a && ike_est b && [ \$(r2_q a '[s[\"id\"] for s in est][0]') != $id ] || [ \$(r2_q b '[s[\"id\"] for s in est][0]') != $id ]" 5
		id=$(r2_q a '([s["id"] for s in est] or [""])[-1]')
		r2_ctl a delete ike "$id" >/dev/null 2>&1
		check "$t: delete from a clears both" wait_for \
			"ike_est a 0 && ike_est b 0" 5
	fi
	r2_stop a
	r2_stop b
	mv "$(ilog a)" "$TEST_DIR/$t.a.log"
	mv "$(ilog b)" "$TEST_DIR/$t.b.log"
}

# --- rsa-ca ---
mkca rsaca rsa
mkee ra rsa a.example rsaca "DNS:a.example"
mkee rb rsa b.example rsaca "DNS:b.example"
conf a 198.51.100.1 198.51.100.2 'fqdn "a.example"' 'fqdn "b.example"' \
	"$PKI/ra.crt" "$PKI/ra.key" "$PKI/rsaca.crt"
conf b 198.51.100.2 198.51.100.1 'fqdn "b.example"' 'fqdn "a.example"' \
	"$PKI/rb.crt" "$PKI/rb.key" "$PKI/rsaca.crt"
run_ok rsa-ca
grep -q 'chain to a CA' "$TEST_DIR/rsa-ca.b.log" &&
	pass "rsa-ca: b verified a through the CA" ||
	fail "rsa-ca: b verified a through the CA"
grep -q 'received IKE_AUTH request 1 \[.*CERT CERTREQ' "$TEST_DIR/rsa-ca.b.log" &&
	pass "rsa-ca: IKE_AUTH request carries CERT and CERTREQ" ||
	fail "rsa-ca: IKE_AUTH request carries CERT and CERTREQ"

# --- ecdsa-pinned (IPv6, subject DN IDs) ---
mkee ea p256 host-a
mkee eb p384 host-b
conf a 2001:db8:c::1 2001:db8:c::2 "x509_subject \"$PKI/ea.crt\"" \
	"x509_subject \"$PKI/eb.crt\"" "$PKI/ea.crt" "$PKI/ea.key" "$PKI/eb.crt"
conf b 2001:db8:c::2 2001:db8:c::1 "x509_subject \"$PKI/eb.crt\"" \
	"x509_subject \"$PKI/ea.crt\"" "$PKI/eb.crt" "$PKI/eb.key" "$PKI/ea.crt"
run_ok ecdsa-pinned
grep -q 'peer authenticated by ECDSA-SHA256, CN=host-a' "$TEST_DIR/ecdsa-pinned.b.log" &&
	grep -q 'peer authenticated by ECDSA-SHA384, CN=host-b' "$TEST_DIR/ecdsa-pinned.a.log" &&
	pass "ecdsa-pinned: ECDSA P-256/SHA-256 and P-384/SHA-384 (RFC 7427)" ||
	fail "ecdsa-pinned: ECDSA P-256/SHA-256 and P-384/SHA-384 (RFC 7427)"

# --- legacy-pin: send_cert off, the peer's certificate is configured ---
conf a 198.51.100.1 198.51.100.2 "x509_subject \"$PKI/ea.crt\"" \
	"x509_subject \"$PKI/eb.crt\"" "$PKI/ea.crt" "$PKI/ea.key" "$PKI/eb.crt" \
	"send_cert off;"
conf b 198.51.100.2 198.51.100.1 "x509_subject \"$PKI/eb.crt\"" \
	"x509_subject \"$PKI/ea.crt\"" "$PKI/eb.crt" "$PKI/eb.key" "$PKI/ea.crt" \
	"send_cert off;"
run_ok legacy-pin
grep -q 'received IKE_AUTH request 1 \[ IDi N(INITIAL_CONTACT) IDr AUTH' "$TEST_DIR/legacy-pin.b.log" &&
	grep -q 'not sent by the peer' "$TEST_DIR/legacy-pin.b.log" &&
	pass "legacy-pin: no CERT on the wire, pinned certificate used" ||
	fail "legacy-pin: no CERT on the wire, pinned certificate used"

# --- wrong-pin: b expects another certificate ---
mkee ec p256 host-c
conf a 198.51.100.1 198.51.100.2 'fqdn "a.example"' 'fqdn "b.example"' \
	"$PKI/ra.crt" "$PKI/ra.key" "$PKI/rsaca.crt"
conf b 198.51.100.2 198.51.100.1 'fqdn "b.example"' 'fqdn "a.example"' \
	"$PKI/rb.crt" "$PKI/rb.key" "$PKI/ec.crt"
r2_start_iked b b -n -d && r2_start_iked a a -n -d || fail "wrong-pin: iked start"
r2_ctl a initiate peer >/dev/null 2>&1
check "wrong-pin: initiator told AUTHENTICATION_FAILED" wait_for \
	"grep -q 'IKE_AUTH refused by peer: AUTHENTICATION_FAILED' '$(ilog a)'" 8
if grep -q 'authentication of a.example .* failed: certificate is not the one in peers_public_key' "$(ilog b)"; then
	pass "wrong-pin: responder logs why: $(grep -m1 -o 'failed: certificate is not.*' "$(ilog b)")"
else
	fail "wrong-pin: responder logs why"
fi
check "wrong-pin: no IKE SA on either side" wait_for "ike_est a 0 && ike_est b 0" 3
check "wrong-pin: both daemons still running" eval "bg_alive iked-a && bg_alive iked-b"
r2_stop a
r2_stop b

# --- method-resp / method-init: a method kmp_auth_method does not list ---
# auth_fails TAG WHO-REFUSES LOG-PATTERN
auth_fails() {
	local t=$1 who=$2 pat=$3
	r2_start_iked b b -n -d && r2_start_iked a a -n -d || fail "$t: iked start"
	r2_ctl a initiate peer >/dev/null 2>&1
	check "$t: $who refuses the method" wait_for \
		"grep -q '$pat' '$(ilog "$who")'" 8
	check "$t: no IKE SA on either side" wait_for "ike_est a 0 && ike_est b 0" 5
	check "$t: both daemons still running" eval "bg_alive iked-a && bg_alive iked-b"
	r2_stop a
	r2_stop b
	mv "$(ilog a)" "$TEST_DIR/$t.a.log"
	mv "$(ilog b)" "$TEST_DIR/$t.b.log"
}
conf a 198.51.100.1 198.51.100.2 'fqdn "a.example"' 'fqdn "b.example"' \
	"$PKI/ra.crt" "$PKI/ra.key" "$PKI/rsaca.crt"
AUTHM="ecdsa256; ecdsa384;" conf b 198.51.100.2 198.51.100.1 \
	'fqdn "b.example"' 'fqdn "a.example"' \
	"$PKI/rb.crt" "$PKI/rb.key" "$PKI/rsaca.crt"
auth_fails method-resp b 'kmp_auth_method does not allow'
grep -q 'IKE_AUTH refused by peer: AUTHENTICATION_FAILED' "$TEST_DIR/method-resp.a.log" &&
	pass "method-resp: initiator told AUTHENTICATION_FAILED" ||
	fail "method-resp: initiator told AUTHENTICATION_FAILED"
AUTHM="ecdsa256; ecdsa384;" conf a 198.51.100.1 198.51.100.2 \
	'fqdn "a.example"' 'fqdn "b.example"' \
	"$PKI/ra.crt" "$PKI/ra.key" "$PKI/rsaca.crt"
conf b 198.51.100.2 198.51.100.1 'fqdn "b.example"' 'fqdn "a.example"' \
	"$PKI/rb.crt" "$PKI/rb.key" "$PKI/rsaca.crt"
auth_fails method-init a 'kmp_auth_method does not allow'
grep -q 'the initiator refused our authentication' "$TEST_DIR/method-init.b.log" &&
	pass "method-init: responder dropped its side on AUTHENTICATION_FAILED" ||
	fail "method-init: responder dropped its side on AUTHENTICATION_FAILED"

# --- iked -t: key of another certificate ---
conf a 198.51.100.1 198.51.100.2 'fqdn "a.example"' 'fqdn "b.example"' \
	"$PKI/ra.crt" "$PKI/rb.key" "$PKI/rsaca.crt"
if ! r2_check_conf a && grep -q 'private key does not match' "$(r2_dir a)/check.log"; then
	pass "iked -t: $(grep -m1 -o 'remote peer: .*' "$(r2_dir a)/check.log")"
else
	fail "iked -t refuses a key that does not match the certificate"
fi

finish
