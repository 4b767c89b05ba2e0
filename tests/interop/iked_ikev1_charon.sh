#!/usr/bin/env bash
# tests/interop/iked_ikev1_charon.sh - issue 11: the real iked (spmd +
# iked + r2espd, `acceptable_kmp` with ikev1) against strongSwan charon
# (`version = 1`, kernel-libipsec) in network namespaces; traffic through
# userspace ESP on both sides (ESP-in-UDP: libipsec only does that, so
# charon fakes a NAT with encap = yes and both sides float to 4500).
#
# Cases (default: all):
#   r2      a ping on iked's side raises an ACQUIRE; iked (acceptable_kmp
#           { ikev1; }) runs Main Mode PSK + Quick Mode with PFS to charon;
#           pings pass; charon's DPD probes are answered; `ikedctl delete`
#           of the ISAKMP SA: charon removes its SAs
#   charon  charon initiates IKEv1; iked answers (the remote lists ikev1);
#           pings pass; charon terminates: iked removes the SAs and r2espd
#           loses them
#   aggr    exchange_mode { aggressive; main; }: iked initiates Aggressive
#           Mode with a PSK (warned about at start) to charon (aggressive =
#           yes and its own opt-in), Quick Mode, ping.  iked sends the first
#           Quick Mode right after Aggressive Mode's third message, which
#           nothing answers (RFC 2409 §5.4); charon 5.9 often takes the
#           Quick Mode up first and drops it (14 of 21 runs here): its
#           receiver queues a job per datagram, process_message_job.c
#           get_priority() gives QUICK_MODE JOB_PRIO_MEDIUM and AGGRESSIVE
#           JOB_PRIO_LOW, processor.c get_job() takes the higher priority
#           first, and task_manager_v1.c process_message() ignores a Quick
#           Mode "while phase 1 is incomplete" (TASK_AGGRESSIVE_MODE still
#           passive).  iked resends that Quick Mode once after 1 s
#           (src/ike/v1.c rtx_early) instead of interval_to_send (10 s);
#           the check below holds iked to that when charon dropped it.
#           CHLOG="ike=2 net=2 job=2 mgr=2" raises charon's log levels.
#   aggr_resp  the same with charon initiating and iked answering
#   reauth  Phase 1 re-authentication at 90 % of a 30 s ISAKMP lifetime:
#           new Main Mode, CHILD SA renewed on it, old ISAKMP SA Deleted,
#           pings keep passing (run by iked_ikev1_charon_dpd.sh)
#   dual    one iked, two remotes with `acceptable_kmp { ikev2; ikev1; }`:
#           it initiates IKEv2 to an IKEv2 charon (the first of the list)
#           and answers IKEv1 from an IKEv1-only charon, both at once,
#           pings through both tunnels
# Each case: tshark finds no malformed ISAKMP and decrypts the IKEv1
# messages with iked's ikev1_decryption_table export.
# Usage: R2_BUILD=build-dir tests/interop/iked_ikev1_charon.sh [CASE]...
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"

B=${R2_BUILD:-$HERE/../../build}
. "$LIB/racoon2.sh"
r2_us_bins "$B"
r2_need_bins iked_ikev1_charon "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL"
netns_init r2v1i iked_ikev1_charon
need_cmd tshark dumpcap swanctl ping python3
charon_available || skip_all "iked_ikev1_charon: strongSwan charon not installed"

PSK='interop-iked-ikev1-psk-0123456789abcdef'
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(r2 charon aggr aggr_resp dual)

# a = iked; b = charon (IKEv1 in r2/charon, IKEv2 in dual); c = charon
# IKEv1 (dual only)
ns_add a
ns_add b
ns_add c
ns_link a va b vb
ns_link a vc c vc
ns_addr a va 198.51.100.1/30
ns_addr b vb 198.51.100.2/30
ns_addr a vc 198.51.100.5/30
ns_addr c vc 198.51.100.6/30
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32
ns_addr c lo 203.0.113.3/32
(umask 077; printf '%s\n' "$PSK" >"$TEST_DIR/psk")

# certificates for the cert_* cases (tests/lib/pki.sh)
if [[ " ${CASES[*]} " == *" cert_"* ]]; then
	need_cmd openssl
	[ -e /usr/lib/ipsec/plugins/libstrongswan-x509.so ] ||
		skip_all "iked_ikev1_charon: charon's x509 plugin not installed"
	. "$LIB/pki.sh"
	pki_init "$TEST_DIR/pki"
	mkca rsaca rsa
	mkee ra rsa host-a rsaca "DNS:host-a.example"
	mkee rb rsa host-b rsaca "DNS:host-b.example"
	mkee ea p256 host-a "" "DNS:host-a.example"
	mkee eb p256 host-b "" "DNS:host-b.example"
fi

# remote NAME PEER PEERNET KMPS ID PEER_ID : one remote of iked's
# racoon2.conf with its selectors and policy (both blocks written; only
# the listed KMPs are used)
remote() {
	local name=$1 peer=$2 peernet=$3 kmps=$4 id=$5 pid=$6 me k
	me=198.51.100.1
	[ "$peer" = 198.51.100.6 ] && me=198.51.100.5
	printf 'remote %s {\n\tacceptable_kmp { %s };\n' "$name" "$kmps"
	for k in ikev1 ikev2; do
		printf '\t%s {\n' "$k"
		printf '\t\tmy_id fqdn "%s";\n\t\tpeers_id fqdn "%s";\n' "$id" "$pid"
		printf '\t\tpeers_ipaddr "%s" port 500;\n' "$peer"
		printf '\t\tkmp_enc_alg { aes128_cbc; };\n'
		printf '\t\tkmp_hash_alg { %s; };\n' "$([ $k = ikev1 ] && echo sha2_256 || echo hmac_sha2_256)"
		[ $k = ikev2 ] && printf '\t\tkmp_prf_alg { hmac_sha2_256; };\n'
		printf '\t\tkmp_dh_group { modp2048; };\n'
		if [ $k = ikev1 ] && [ -n "${V1CERT:-}" ]; then
			# V1CERT="METHOD MYCERT MYKEY PEERS": RFC 2409 §5.1
			local cm cc ck cp
			read -r cm cc ck cp <<<"$V1CERT"
			printf '\t\tkmp_auth_method { %s; };\n' "$cm"
			printf '\t\tmy_public_key x509pem "%s" "%s";\n' "$cc" "$ck"
			printf '\t\tpeers_public_key x509pem "%s" "";\n' "$cp"
		else
			printf '\t\tkmp_auth_method { psk; };\n'
		fi
		printf '\t\tpre_shared_key "%s";\n\t\tneed_pfs on;\n' "$TEST_DIR/psk"
		printf '\t\tnat_traversal on;\n'
		[ $k = ikev1 ] && printf '\t\texchange_mode { %s };\n' "${EXMODE:-main;}"
		[ $k = ikev1 ] && [ -n "${V1EXTRA:-}" ] && printf '\t\t%s\n' "$V1EXTRA"
		printf '\t};\n'
	done
	printf '\tselector_index %s_out;\n};\n' "$name"
	printf 'selector %s_out { direction outbound; src "203.0.113.1/32"; dst "%s"; policy_index %s_pol; };\n' "$name" "$peernet" "$name"
	printf 'selector %s_in { direction inbound; src "%s"; dst "203.0.113.1/32"; policy_index %s_pol; };\n' "$name" "$peernet" "$name"
	printf 'policy %s_pol { action auto_ipsec; remote_index %s; ipsec_mode tunnel; ipsec_index { esp; }; ipsec_level require; my_sa_ipaddr "%s"; peers_sa_ipaddr "%s"; };\n' "$name" "$name" "$me" "$peer"
}

iked_conf() {
	cat <<EOF
interface {
	ike { "198.51.100.1" port 500; "198.51.100.5" port 500; };
	spmd { unix "$TEST_DIR/spmif"; };
	kernel userspace;
};
ipsec esp { ipsec_sa_lifetime_time ${CHILD_LIFE:-1 hour}; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };
EOF
	remote "$@"
	[ -n "${R2:-}" ] && remote $R2
	return 0
}

start_r2() {
	local d=$TEST_DIR
	rm -f "$d/r2espd.sock" "$d/spmif" "$d/iked.sock"
	rm -rf "$d/keys"
	start_bg espd ip netns exec "$(ns a)" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || return 1
	start_bg spmd ip netns exec "$(ns a)" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || return 1
	start_bg iked ip netns exec "$(ns a)" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		--pidfile "$d/iked.pid" -K "$d/keys"
	wait_for "grep -q 'registered with spmd' '$d/iked.log'" 5
}
stop_r2() { stop_bg iked; stop_bg spmd; stop_bg espd; }
ikectl() { ns_exec a "$IKEDCTL" -s "$TEST_DIR/iked.sock" "$@"; }
esp_sas() { ns_exec a "$ESPCTL" -s "$TEST_DIR/r2espd.sock" sa show 2>/dev/null | grep -c -i 'spi'; }
# q PYEXPR on "show sa --json": v1/v2 = ESTABLISHED SAs by version,
# k1/k2 their INSTALLED children
q() {
	local j
	j=$(ikectl show sa --json 2>/dev/null) || return 1
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
def up(v): return [s for s in d["ike_sas"] if s.get("version") == v and s["state"] == "ESTABLISHED"]
v1, v2 = up(1), up(2)
k1 = [c for s in v1 for c in s["children"] if c["state"] == "INSTALLED"]
k2 = [c for s in v2 for c in s["children"] if c["state"] == "INSTALLED"]
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$j" "$1"
}
is() { [ "$(q "$1")" = "$2" ]; }

# charon_peer HOST NAME VERSION ADDR PEERADDR NET
# CHCERT=rsa|ecdsa: public key authentication with the test PKI (rsa: CA
# rsaca; ecdsa: pinned self-signed P-256 certificates)
charon_peer() {
	local h=$1 n=$2 v=$3 cd auth=()
	charon_start "$h" "$n" --libipsec ${CHCERT:+--certs} ${CHOPT:+--opt "$CHOPT"} ${CHLOG:+--log "$CHLOG"} \
		--opt "i_dont_care_about_security_and_use_aggressive_mode_psk = yes" || return 1
	cd=$(charon_dir "$n")
	case ${CHCERT:-} in
	rsa) cp "$PKI/rb.crt" "$cd/x509/"; cp "$PKI/rb.key" "$cd/private/"
		cp "$PKI/rsaca.crt" "$cd/x509ca/"
		auth=(local_auth=pubkey remote_auth=pubkey local_certs=rb.crt
			remote_cacerts=rsaca.crt) ;;
	ecdsa) cp "$PKI/eb.crt" "$PKI/ea.crt" "$cd/x509/"
		cp "$PKI/eb.key" "$cd/private/"
		auth=(local_auth=pubkey remote_auth=pubkey local_certs=eb.crt
			remote_certs=ea.crt) ;;
	esac
	charon_conn "$n" c version="$v" local="$4" remote="$5" ${AGGR:+aggressive=yes} \
		local_id="host-$h.example" remote_id=host-a.example psk="$PSK" "${auth[@]}" \
		proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256-modp2048 \
		local_ts="$6" remote_ts=203.0.113.1/32 encap=yes dpd_delay="${CHDPD:-2s}" ${CHCONN:-}
	charon_load "$n"
}

# decode NAME : tshark checks on capture NAME with iked's exported keys
decode() {
	local name=$1 kd pcap n_mm n_qm n_enc
	cap_stop "$name" || { fail "$name: capture"; return; }
	kd=$(ts_keydir "$name")
	cp "$TEST_DIR/keys/ikev1_decryption_table" "$kd/" 2>/dev/null
	cat "$TEST_DIR/keys/ikev2_decryption_table" >>"$kd/ikev2_decryption_table" 2>/dev/null
	pcap=$(cap_file "$name")
	check "$name: tshark: no malformed ISAKMP, no expert errors" ts_check_clean "$kd" "$pcap"
	read -r n_mm n_qm n_enc < <(ts_counts "$kd" "$pcap" 'isakmp.exchangetype == 2' \
		'isakmp.exchangetype == 32 && isakmp.hash' \
		'isakmp.version == 0x10 && isakmp.flags & 1' | tr '\n' ' ')
	log "$name: main=$n_mm quick(decrypted)=$n_qm encrypted=$n_enc"
	[ "${n_mm:-0}" -ge 6 ] && [ "${n_qm:-0}" -ge 3 ] &&
		pass "$name: tshark decrypts Quick Mode with iked's ikev1_decryption_table" ||
		fail "$name: Main Mode $n_mm, decrypted Quick Mode $n_qm"
}

case_r2() {
	iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	charon_peer b r2-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "r2: charon"; return; }
	start_r2 || { fail "r2: iked did not start"; return; }
	cap_start r2 a va 'udp port 500 or udp port 4500' || fail "r2: capture"
	check "r2: a ping raises an ACQUIRE; iked runs IKEv1 to charon; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	check "r2: iked: ISAKMP SA (version 1) initiator, CHILD SA with PFS and UDP encapsulation" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' initiator && is 'k1[0][\"pfs\"] and k1[0][\"udp_encap\"]' True" 5
	check "r2: charon: IKE SA ESTABLISHED, CHILD SA INSTALLED" \
		wait_for "charon_ike_established r2-b c && charon_child_installed r2-b c" 5
	check "r2: 10 pings through the tunnel" \
		eval "ns_exec a ping -c10 -i 0.1 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
	check "r2: charon's DPD R-U-THERE answered" \
		wait_for "grep -q 'parsed INFORMATIONAL_V1 request .*N(DPD_ACK)' '$(charon_log r2-b)'" 8
	check "r2: ikedctl delete ike: charon removes its SAs" \
		eval "ikectl delete ike \"\$(q 'v1[0][\"id\"]')\" >/dev/null &&
		      wait_for '! charon_ike_established r2-b c' 10"
	check "r2: r2espd has no SA left" wait_for "[ \"\$(esp_sas)\" = 0 ]" 5
	decode r2
	stop_r2
	charon_stop r2-b
}

case_charon() {
	iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	charon_peer b ch-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "charon: charon"; return; }
	start_r2 || { fail "charon: iked did not start"; return; }
	cap_start charon a va 'udp port 500 or udp port 4500' || fail "charon: capture"
	sw ch-b --initiate --child c --timeout 15 >"$TEST_DIR/init-charon.log" 2>&1
	check "charon: charon's IKEv1 initiation: IKE ESTABLISHED, CHILD INSTALLED" \
		wait_for "charon_ike_established ch-b c && charon_child_installed ch-b c" 10
	check "charon: iked: ISAKMP SA (version 1) responder with one CHILD SA" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' responder && is 'len(k1)' 1" 5
	check "charon: two SAs in r2espd" wait_for "[ \"\$(esp_sas)\" = 2 ]" 5
	check "charon: pings through the tunnel" \
		wait_for "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2" 10
	sw ch-b --terminate --ike c --timeout 10 >/dev/null 2>&1
	check "charon: charon's Deletes: iked and r2espd drop the SAs" \
		wait_for "is 'len(v1)' 0 && [ \"\$(esp_sas)\" = 0 ]" 10
	decode charon
	stop_r2
	charon_stop ch-b
}

case_aggr() {
	EXMODE='aggressive; main;' iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' \
		host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	AGGR=1 charon_peer b ag-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "aggr: charon"; return; }
	start_r2 || { fail "aggr: iked did not start"; return; }
	check "aggr: iked warns about Aggressive Mode with a PSK" \
		grep -q 'exchange_mode aggressive with a pre-shared key' "$TEST_DIR/iked.log"
	cap_start aggr a va 'udp port 500 or udp port 4500' || fail "aggr: capture"
	check "aggr: iked initiates Aggressive Mode (first exchange_mode) + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	check "aggr: iked: ISAKMP SA in aggressive mode, CHILD SA installed" \
		wait_for "is 'v1[0][\"exchange_mode\"]' aggressive && is 'len(k1)' 1" 5
	check "aggr: charon: IKE SA ESTABLISHED (Aggressive), CHILD SA INSTALLED" \
		wait_for "charon_ike_established ag-b c && charon_child_installed ag-b c" 5
	# charon drops a Quick Mode it takes up before Aggressive Mode 3
	# (see the header): then iked must have resent it early
	if grep -q 'ignoring QUICK_MODE request while phase 1 is incomplete' "$(charon_log ag-b)"; then
		check "aggr: charon dropped the first Quick Mode (before Aggressive Mode 3); iked resent it after 1 s" \
			grep -q 'Quick Mode resent early' "$TEST_DIR/iked.log"
	else
		pass "aggr: charon took Aggressive Mode 3 before the first Quick Mode (no resend needed)"
	fi
	stop_r2
	cap_stop aggr
	local kd
	kd=$(ts_keydir aggr)
	cp "$TEST_DIR/keys/ikev1_decryption_table" "$kd/" 2>/dev/null
	check "aggr: tshark: no malformed ISAKMP, no expert errors" ts_check_clean "$kd" "$(cap_file aggr)"
	check "aggr: tshark sees Aggressive Mode (exchange type 4)" \
		eval "[ \$(ts_counts '$kd' '$(cap_file aggr)' 'isakmp.exchangetype == 4') -ge 3 ]"
	charon_stop ag-b
}

# cert_case NAME rsa|ecdsa : Main Mode with signatures (RFC 2409 §5.1)
# both ways: iked initiates (ACQUIRE), then charon after iked's Delete
cert_case() {
	local c=$1 alg=$2 ch=$1-b m l
	if [ "$alg" = rsa ]; then
		V1CERT="rsasig $PKI/ra.crt $PKI/ra.key $PKI/rsaca.crt"; m=3
	else
		V1CERT="ecdsa256 $PKI/ea.crt $PKI/ea.key $PKI/eb.crt"; m=9
	fi
	V1CERT=$V1CERT iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' \
		host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	CHCERT=$alg charon_peer b "$ch" 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "$c: charon"; return; }
	start_r2 || { fail "$c: iked did not start"; return; }
	check "$c: iked runs privilege-separated (the engine holds no private key)" \
		grep -q 'privileged parent' "$TEST_DIR/iked.log"
	cap_start "$c" a va 'udp port 500 or udp port 4500' || fail "$c: capture"
	check "$c: a ping raises an ACQUIRE; iked: Main Mode with $alg signatures + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	check "$c: iked: ISAKMP SA initiator, CHILD SA with PFS" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' initiator && is 'k1[0][\"pfs\"]' True" 5
	check "$c: iked verified charon's certificate and SIG (method $m)" \
		grep -q "peer authenticated by signature (method $m), .*CN=host-b" "$TEST_DIR/iked.log"
	l=$(grep -v '(myself)' "$(charon_log "$ch")" |
		grep -m1 -o "authentication of 'host-a.example' with [A-Za-z0-9_ -]* successful")
	[ -n "$l" ] && pass "$c: charon: $l" || fail "$c: charon authenticated iked's signature"
	check "$c: charon: IKE SA ESTABLISHED, CHILD SA INSTALLED" \
		wait_for "charon_ike_established $ch c && charon_child_installed $ch c" 5
	check "$c: 10 pings through the tunnel" \
		eval "ns_exec a ping -c10 -i 0.1 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
	check "$c: ikedctl delete ike: charon removes its SAs, r2espd too" \
		eval "ikectl delete ike \"\$(q 'v1[0][\"id\"]')\" >/dev/null &&
		      wait_for '! charon_ike_established $ch c && [ \"\$(esp_sas)\" = 0 ]' 10"
	sw "$ch" --initiate --child c --timeout 15 >"$TEST_DIR/init-$c.log" 2>&1
	check "$c: charon initiates Main Mode with $alg signatures: IKE ESTABLISHED, CHILD INSTALLED" \
		wait_for "charon_ike_established $ch c && charon_child_installed $ch c" 10
	check "$c: iked: ISAKMP SA responder with one CHILD SA (PFS)" \
		wait_for "is 'len(v1)' 1 && is 'v1[0][\"role\"]' responder && is 'len(k1)' 1 && is 'k1[0][\"pfs\"]' True" 5
	check "$c: pings through the tunnel charon started" \
		wait_for "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2" 10
	check "$c: iked verified charon's signature twice (both roles)" \
		eval "[ \$(grep -c 'peer authenticated by signature (method $m)' '$TEST_DIR/iked.log') -ge 2 ]"
	stop_r2
	decode "$c"
	# charon sends its certificate when asked: iked's CR names the CA
	# (rsa); for pinned self-signed certificates (ecdsa) there is none
	local kd n_sig n_cert n_mine want=4
	[ "$alg" = ecdsa ] && want=2
	kd=$(ts_keydir "$c")
	read -r n_sig n_cert n_mine < <(ts_counts "$kd" "$(cap_file "$c")" \
		'isakmp.exchangetype == 2 && isakmp.sig' \
		'isakmp.exchangetype == 2 && isakmp.cert.encoding == 4' \
		'isakmp.exchangetype == 2 && isakmp.cert.encoding == 4 && ip.src == 198.51.100.1' |
		tr '\n' ' ')
	[ "${n_sig:-0}" -ge 4 ] && [ "${n_cert:-0}" -ge "$want" ] && [ "${n_mine:-0}" -ge 2 ] &&
		pass "$c: tshark decrypts Main Mode 5/6 of both ISAKMP SAs: SIG $n_sig, X.509 CERT $n_cert ($n_mine from iked)" ||
		fail "$c: decrypted SIG payloads ${n_sig:-0}, CERT ${n_cert:-0} (${n_mine:-0} from iked; want 4, $want, 2)"
	charon_stop "$ch"
}
case_cert_rsa() { cert_case cert_rsa rsa; }
case_cert_ecdsa() { cert_case cert_ecdsa ecdsa; }

# log_secs RE1 RE2 : seconds between the first iked.log lines matching
# RE1 and RE2 (their ISO timestamps)
log_secs() {
	python3 - "$TEST_DIR/iked.log" "$1" "$2" <<'PY'
import re, sys, datetime
t = []
lines = open(sys.argv[1], errors="replace").read().splitlines()
for pat in sys.argv[2:4]:
    for l in lines:
        if re.search(pat, l):
            t.append(datetime.datetime.fromisoformat(l.split()[0].rstrip("Z")))
            break
print("%.1f" % (t[1] - t[0]).total_seconds() if len(t) == 2 else "-1")
PY
}

# kid PYEXPR : a field of iked's one installed IKEv1 CHILD SA
kid() { q "k1[0][$1] if len(k1) == 1 else ''"; }

# rekey: iked's CHILD SA lives 20 s: iked renews it (new Quick Mode with
# PFS at 85-90 %, then Delete of the old one); then charon renews it
# (swanctl --rekey: its Quick Mode, then its Delete); pings all along
case_rekey() {
	local ch=rk-b old new old2 clog sent got
	CHILD_LIFE='20 sec' iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' \
		host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	CHOPT='delete_rekeyed = yes' charon_peer b $ch 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "rekey: charon"; return; }
	clog=$(charon_log $ch)
	start_r2 || { fail "rekey: iked did not start"; return; }
	cap_start rekey a va 'udp port 500 or udp port 4500' || fail "rekey: capture"
	check "rekey: a ping raises an ACQUIRE; Main Mode + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	wait_for "[ -n \"\$(kid '\"spi_in\"')\" ]" 5
	old=$(kid '"spi_in"')
	ns_exec a ping -i 0.2 -c 175 -W1 -q -I 203.0.113.1 203.0.113.2 >"$TEST_DIR/rekey-ping.log" 2>&1 &
	local ping=$!
	check "rekey: iked renews its CHILD SA ($old) before the 20 s lifetime: new Quick Mode, new SPIs" \
		wait_for "grep -q 'renews CHILD SA .*SPIs in $old' '$TEST_DIR/iked.log' &&
			  new=\$(kid '\"spi_in\"') && [ -n \"\$new\" ] && [ \"\$new\" != $old ]" 25
	new=$(kid '"spi_in"')
	local dt
	dt=$(log_secs 'CHILD SA #1 .* installed' 'renews CHILD SA #1 ')
	check "rekey: the renewal has PFS and started at 85-90 % of the 20 s lifetime (${dt} s)" \
		eval "is 'k1[0][\"pfs\"]' True && python3 -c 'import sys; sys.exit(not 16.9 <= $dt <= 18.5)'"
	check "rekey: iked deleted the old CHILD SA: charon got the Delete, keeps one CHILD SA" \
		wait_for "grep -q 'received DELETE for ESP CHILD_SA with SPI $old' '$clog' &&
			  [ \$(charon_count $ch child) = 1 ]" 5
	check "rekey: r2espd holds only the new pair" wait_for "[ \"\$(esp_sas)\" = 2 ]" 5
	sw $ch --rekey --child c >"$TEST_DIR/rekey-charon.log" 2>&1
	check "rekey: charon renews the CHILD SA (its Quick Mode); iked installs the new one and leaves the renewal to it" \
		wait_for "grep -q 'CHILD SA #[0-9]* renewed by the peer' '$TEST_DIR/iked.log'" 10
	check "rekey: charon deletes the old one (delete_rekeyed): iked and r2espd keep only the new pair" \
		wait_for "grep -q 'SPIs in $new .*removed: deleted by the peer' '$TEST_DIR/iked.log' &&
			  is 'len(k1)' 1 && [ \"\$(esp_sas)\" = 2 ] && [ \$(charon_count $ch child) = 1 ]" 10
	old2=$(kid '"spi_in"')
	check "rekey: the CHILD SA charon made has new SPIs ($old2)" \
		eval "[ -n '$old2' ] && [ '$old2' != '$new' ] && [ '$old2' != '$old' ]"
	wait "$ping"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TEST_DIR/rekey-ping.log")
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TEST_DIR/rekey-ping.log")
	log "rekey: pings across both renewals: $got of $sent"
	[ -n "$got" ] && [ "$got" -ge $((sent - 2)) ] &&
		pass "rekey: pings continue across both renewals ($got of $sent answered)" ||
		fail "rekey: pings across the renewals: ${got:-?} of ${sent:-?} answered"
	decode rekey
	stop_r2
	charon_stop $ch
}

# delete: `ikedctl delete child` and `swanctl --terminate --child` each
# remove the CHILD SA on both sides (the ISAKMP SA stays); traffic then
# negotiates a new Quick Mode on the same ISAKMP SA
case_delete() {
	local ch=dl-b id spi
	iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	charon_peer b $ch 1 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "delete: charon"; return; }
	start_r2 || { fail "delete: iked did not start"; return; }
	cap_start delete a va 'udp port 500 or udp port 4500' || fail "delete: capture"
	check "delete: a ping raises an ACQUIRE; Main Mode + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	wait_for "[ -n \"\$(kid '\"id\"')\" ] && charon_child_installed $ch c" 5
	id=$(kid '"id"')
	spi=$(kid '"spi_in"')
	check "delete: ikedctl delete child $id: charon and r2espd drop the CHILD SA, both keep the ISAKMP SA" \
		eval "ikectl delete child $id >/dev/null &&
		      wait_for '! charon_child_installed $ch c && [ \"\$(esp_sas)\" = 0 ]' 10 &&
		      is 'len(v1)' 1 && is 'len(k1)' 0 && charon_ike_established $ch c"
	check "delete: charon logged iked's Delete for SPI $spi" \
		grep -q "received DELETE for ESP CHILD_SA with SPI $spi" "$(charon_log $ch)"
	check "delete: a new ping negotiates a new Quick Mode on the same ISAKMP SA" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2 && is 'len(v1)' 1 && is 'len(k1)' 1" 15
	spi=$(kid '"spi_in"')
	sw $ch --terminate --child c --timeout 10 >/dev/null 2>&1
	check "delete: swanctl --terminate --child: iked and r2espd drop the CHILD SA, the ISAKMP SA stays" \
		wait_for "is 'len(k1)' 0 && [ \"\$(esp_sas)\" = 0 ] && is 'len(v1)' 1" 10
	check "delete: iked logged charon's Delete" \
		grep -q "SPIs in $spi .*removed: deleted by the peer" "$TEST_DIR/iked.log"
	check "delete: charon has no CHILD SA, its IKE SA stays" \
		eval "! charon_child_installed $ch c && charon_ike_established $ch c"
	decode delete
	stop_r2
	charon_stop $ch
}

# dpd: iked with dpd_delay 2 s, dpd_retry 1 s, dpd_maxfail 3 (RFC 3706);
# charon is killed with SIGKILL (no Delete): iked declares it dead within
# delay + retry x maxfail (+ slack) and removes the ISAKMP SA and the
# CHILD SAs from r2espd
case_dpd() {
	local ch=dp-b t0 dt
	V1EXTRA='dpd on; dpd_delay 2 sec; dpd_retry 1 sec; dpd_maxfail 3;' \
		iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	# charon's own probes would keep iked's tunnel from ever looking idle
	# (RFC 3706: a peer heard from recently is not probed): charon probes
	# rarely here, so the R-U-THERE seen is iked's
	CHDPD=60s charon_peer b $ch 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "dpd: charon"; return; }
	start_r2 || { fail "dpd: iked did not start"; return; }
	cap_start dpd a va 'udp port 500 or udp port 4500' || fail "dpd: capture"
	check "dpd: a ping raises an ACQUIRE; Main Mode + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	check "dpd: iked's R-U-THERE answered by charon (idle tunnel)" \
		wait_for "grep -q 'parsed INFORMATIONAL_V1 request .*N(DPD)' '$(charon_log $ch)' &&
			  is 'len(v1)' 1 && [ \"\$(esp_sas)\" = 2 ]" 10
	check "dpd: no dead peer while charon lives" \
		eval "! grep -q 'dead peer' '$TEST_DIR/iked.log'"
	t0=$(date +%s.%N)
	kill -9 "$(bg_pid "charon-$ch")"
	check "dpd: charon killed (SIGKILL): iked declares it dead, removes the ISAKMP SA" \
		wait_for "grep -q 'ISAKMP SA #[0-9]* (peer) removed: dead peer (DPD' '$TEST_DIR/iked.log'" 15
	# from the kill to the time stamp of iked's log line
	dt=$(python3 - "$TEST_DIR/iked.log" "$t0" <<'PY'
import datetime, sys
for l in open(sys.argv[1], errors="replace"):
    if "removed: dead peer (DPD" in l and "ISAKMP SA" in l:
        t = datetime.datetime.fromisoformat(l.split()[0].rstrip("Z"))
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        print("%.1f" % (t - float(sys.argv[2])))
        break
else:
    print("99")
PY
)
	log "dpd: detected ${dt} s after the kill"
	check "dpd: detected within dpd_delay + dpd_retry x dpd_maxfail (5 s) + 3 s slack (${dt} s <= 8 s)" \
		python3 -c "import sys; sys.exit(not $dt <= 8)"
	check "dpd: the CHILD SA is removed (logged), r2espd has no SA, show sa is empty" \
		wait_for "grep -q 'CHILD SA #[0-9]* (peer_pol) .*removed: dead peer (DPD' '$TEST_DIR/iked.log' &&
			  [ \"\$(esp_sas)\" = 0 ] && is 'len(v1)' 0" 5
	decode dpd
	stop_r2
	charon_stop $ch
}

# initial_contact: charon initiates; killed with SIGKILL and started anew,
# it initiates again with INITIAL-CONTACT (RFC 2407 §4.6.3.3): iked drops
# the stale ISAKMP and CHILD SAs, only the new ones remain
case_initial_contact() {
	local id1
	iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	charon_peer b ic-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "initial_contact: charon"; return; }
	start_r2 || { fail "initial_contact: iked did not start"; return; }
	sw ic-b --initiate --child c --timeout 15 >/dev/null 2>&1
	check "initial_contact: charon initiates; iked responder with one CHILD SA" \
		wait_for "is 'len(v1)' 1 && is 'len(k1)' 1 && [ \"\$(esp_sas)\" = 2 ]" 10
	id1=$(q 'v1[0]["id"]')
	kill -9 "$(bg_pid charon-ic-b)"
	charon_peer b ic-b2 1 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "initial_contact: charon restart"; return; }
	sw ic-b2 --initiate --child c --timeout 15 >/dev/null 2>&1
	check "initial_contact: the restarted charon's INITIAL-CONTACT: iked removes the stale SAs" \
		wait_for "grep -q 'INITIAL-CONTACT from the peer of #$id1' '$TEST_DIR/iked.log'" 10
	check "initial_contact: only the new ISAKMP SA and CHILD SA remain (iked, r2espd)" \
		wait_for "is 'len(v1)' 1 && [ \"\$(q 'v1[0][\"id\"]')\" != $id1 ] && is 'len(k1)' 1 && [ \"\$(esp_sas)\" = 2 ]" 5
	check "initial_contact: pings through the new tunnel" \
		wait_for "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2" 10
	stop_r2
	charon_stop ic-b2
}

# charon initiates Aggressive Mode with a PSK; iked (exchange_mode lists
# aggressive, its opt-in) answers it
case_aggr_resp() {
	EXMODE='aggressive; main;' iked_conf peer 198.51.100.2 203.0.113.2/32 'ikev1;' \
		host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	AGGR=1 charon_peer b ar-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "aggr_resp: charon"; return; }
	start_r2 || { fail "aggr_resp: iked did not start"; return; }
	cap_start aggr_resp a va 'udp port 500 or udp port 4500' || fail "aggr_resp: capture"
	sw ar-b --initiate --child c --timeout 15 >"$TEST_DIR/init-aggr-resp.log" 2>&1
	check "aggr_resp: charon initiates Aggressive Mode + Quick Mode: IKE ESTABLISHED, CHILD INSTALLED" \
		wait_for "charon_ike_established ar-b c && charon_child_installed ar-b c" 10
	check "aggr_resp: iked: responder ISAKMP SA in aggressive mode with one CHILD SA" \
		wait_for "is 'v1[0][\"exchange_mode\"]' aggressive && is 'v1[0][\"role\"]' responder && is 'len(k1)' 1" 5
	check "aggr_resp: pings through the tunnel" \
		wait_for "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2" 10
	stop_r2
	cap_stop aggr_resp
	local kd
	kd=$(ts_keydir aggr_resp)
	cp "$TEST_DIR/keys/ikev1_decryption_table" "$kd/" 2>/dev/null
	check "aggr_resp: tshark: no malformed ISAKMP, no expert errors" ts_check_clean "$kd" "$(cap_file aggr_resp)"
	check "aggr_resp: tshark sees Aggressive Mode (exchange type 4)" \
		eval "[ \$(ts_counts '$kd' '$(cap_file aggr_resp)' 'isakmp.exchangetype == 4') -ge 3 ]"
	charon_stop ar-b
}

# Phase 1 re-authentication: iked's ISAKMP SA lives 30 s; at 90 % iked
# runs a new Main Mode, renews the CHILD SA by a Quick Mode on it and
# Deletes the old ISAKMP SA; pings keep passing
case_reauth() {
	V1EXTRA='kmp_sa_lifetime_time 30 sec;' iked_conf peer 198.51.100.2 203.0.113.2/32 \
		'ikev1;' host-a.example host-b.example >"$TEST_DIR/racoon2.conf"
	charon_peer b ra-b 1 198.51.100.2 198.51.100.1 203.0.113.2/32 ||
		{ fail "reauth: charon"; return; }
	start_r2 || { fail "reauth: iked did not start"; return; }
	check "reauth: a ping raises an ACQUIRE; Main Mode + Quick Mode; the ping passes" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	local id0 spi0 id1 spi1 lost
	id0=$(q 'v1[0]["id"]')
	spi0=$(q 'k1[0]["spi_in"]')
	# 40 s of pings across the re-authentication at ~27 s
	ns_exec a ping -c 200 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2 >"$TEST_DIR/reauth-ping.log" 2>&1
	check "reauth: iked logged the re-authentication and Deleted the old ISAKMP SA" \
		eval "grep -q 'ISAKMP SA #$id0: re-authenticating as' '$TEST_DIR/iked.log' &&
		      grep -q 'ISAKMP SA #$id0 .* removed: re-authenticated' '$TEST_DIR/iked.log'"
	id1=$(q 'v1[0]["id"]')
	spi1=$(q 'k1[0]["spi_in"]')
	check "reauth: iked: one ISAKMP SA, a new one (#$id0 -> #$id1), one CHILD SA, renewed ($spi0 -> $spi1)" \
		eval "is 'len(v1)' 1 && is 'len(k1)' 1 && [ '$id1' != '$id0' ] && [ '$spi1' != '$spi0' ]"
	check "reauth: charon: one IKE SA ESTABLISHED, one CHILD SA INSTALLED" \
		wait_for "[ \"\$(charon_count ra-b ike)\" = 1 ] && [ \"\$(charon_count ra-b child)\" = 1 ]" 5
	lost=$(sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p' "$TEST_DIR/reauth-ping.log")
	check "reauth: pings across it: ${lost:-?}% lost (<= 2%)" test "${lost:-100}" -le 2
	check "reauth: r2espd holds the two SAs of the new CHILD SA only" wait_for "[ \"\$(esp_sas)\" = 2 ]" 5
	stop_r2
	charon_stop ra-b
}

case_dual() {
	R2="v1peer 198.51.100.6 203.0.113.3/32 ikev2;ikev1; host-a.example host-c.example"
	iked_conf v2peer 198.51.100.2 203.0.113.2/32 'ikev2; ikev1;' host-a.example host-b.example \
		>"$TEST_DIR/racoon2.conf"
	R2=
	sed -i 's/acceptable_kmp { ikev2;ikev1; }/acceptable_kmp { ikev2; ikev1; }/' "$TEST_DIR/racoon2.conf"
	charon_peer b du-b 2 198.51.100.2 198.51.100.1 203.0.113.2/32 || { fail "dual: charon v2"; return; }
	charon_peer c du-c 1 198.51.100.6 198.51.100.5 203.0.113.3/32 || { fail "dual: charon v1"; return; }
	start_r2 || { fail "dual: iked did not start"; return; }
	cap_start dual a vc 'udp port 500 or udp port 4500' || fail "dual: capture"
	check "dual: ping to the IKEv2 peer: iked initiates IKEv2 (first of acceptable_kmp)" \
		wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
	sw du-c --initiate --child c --timeout 15 >"$TEST_DIR/init-dual.log" 2>&1
	check "dual: the IKEv1-only charon's initiation is answered in IKEv1" \
		wait_for "charon_ike_established du-c c && charon_child_installed du-c c" 10
	check "dual: iked holds one IKEv2 SA (v2peer) and one IKEv1 SA (v1peer), a CHILD SA each" \
		wait_for "is 'len(v2)' 1 && is 'len(v1)' 1 && is 'v2[0][\"remote\"]' v2peer &&
			  is 'v1[0][\"remote\"]' v1peer && is 'len(k1) + len(k2)' 2" 5
	check "dual: pings through both tunnels" \
		eval "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null &&
		      ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.3 >/dev/null"
	check "dual: charon v2 and v1 report their SAs" \
		eval "sw du-b --list-sas | grep -q 'IKEv2' && sw du-c --list-sas | grep -q 'IKEv1'"
	decode dual
	stop_r2
	charon_stop du-b
	charon_stop du-c
}

for c in "${CASES[@]}"; do
	"case_$c"
done
finish
