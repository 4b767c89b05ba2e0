#!/usr/bin/env bash
# ike_malicious.sh - a real malicious IKEv2 peer against the real daemons
# (r2espd + spmd + iked, userspace data plane): issue 9, defects 1, 2, 4.
#
# Namespaces r2r-PID-{sw,a,b,c} (tests/netns/robust/common.sh): a and b run
# racoon2 (a legitimate pair, PSK), c is the attacker
# (tests/netns/robust/evilpeer.py), 198.51.100.3 and .4.
#
#  defect 1  a initiates to c (remote evil-cert: certificates only, no PSK;
#            remote evil-psk: a PSK file but kmp_auth_method { rsasig; }).
#            c answers IKE_SA_INIT with real DH, then IKE_AUTH with AUTH
#            method 2 computed with an EMPTY key (evil-cert) or with the
#            PSK that the remote does not allow (evil-psk).  Expected: no
#            IKE SA ESTABLISHED, no CHILD SA (iked, r2espd), an
#            authentication failure in a's log.  And as responder: c
#            initiates as evil-psk.example with AUTH method 2 and the
#            right PSK; expected: AUTHENTICATION_FAILED, no SA.
#  defect 2  b initiates to a; b's IKE_AUTH is held back (nftables in b), so
#            a has a half-open SA; c, knowing its SPIs, sends IKE_AUTH
#            requests with an unknown critical payload before SK, garbage
#            SK/ICV, and wrong message IDs, from its own address and
#            spoofed from b.  Then b's IKE_AUTH is let through.  On the
#            established SA, c sends INFORMATIONAL / CREATE_CHILD_SA
#            messages to both ends with the same defects, with the expected,
#            future and already used message IDs.  Expected: no answer
#            from a or b to any of them (sniffed at the switch), the
#            half-open SA completes, nothing is deleted, and the message
#            IDs stay in sync: CHILD rekeys from both sides, an IKE rekey
#            and the deletes still work.
#  defect 4  a initiates to b while b's inbound IKE is held back; c spoofs
#            from b's address IKE_SA_INIT responses with NO_PROPOSAL_CHOSEN
#            (SPIr zero and non-zero) and INVALID_SYNTAX.  Expected: a
#            keeps the SA and completes with b once b answers a
#            retransmission.
#
# These fail on iked before the issue 9 fixes (17 FAILs on 50740cd, see the
# commit that added this script); about 5 minutes on a loaded machine.
# Usage: R2_BUILD=build tests/netns/ike_malicious.sh [BUILD_DIR]  (root;
# KEEP=1 keeps the logs).  PASS:/FAIL:/SKIP: lines; exit 1 on a failure,
# 77 when it cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init ike_malicious "${1:-}"
need_cmd openssl nft
. "$HERE/../lib/pki.sh"

EVIL=$HERE/robust/evilpeer.py
RB_C2=198.51.100.4
evil() { ns_exec c python3 "$EVIL" "$@"; }

# ---- configuration ---------------------------------------------------------
# The legitimate pair: the robust set-up, with more patient retransmission
# (the tests hold messages back for a few seconds).
PATIENT=$'\t\tmax_retry_to_send 10;\n\t\tinterval_to_send 1 sec;\n'
mk_conf() { # HOST
	local h=$1 d me peer mynet peernet
	d=$(rb_dir "$h")
	mkdir -p "$d"
	chmod 700 "$d"
	[ -f "$TEST_DIR/psk" ] || (umask 077; printf 'robust-psk-%s\n' "$$" >"$TEST_DIR/psk")
	if [ "$h" = a ]; then
		me=$RB_A peer=$RB_B mynet=203.0.113.0/25 peernet=203.0.113.128/25
	else
		me=$RB_B peer=$RB_A mynet=203.0.113.128/25 peernet=203.0.113.0/25
	fi
	r2_us_tunnel_conf "$h" me="$me" peer="$peer" mynet="$mynet" \
		peernet="$peernet" psk="$TEST_DIR/psk" spmif="$d/spmif" \
		ports="500 4500" kenc=aes128_cbc eenc=aes128_cbc extra="$PATIENT" \
		>"$d/racoon2.conf"
}

# evil_remote NAME PEER AUTHLINES SRC DST : a remote of a (initiator) to c
evil_remote() {
	cat <<EOF
remote $1 {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "host-a.example";
		peers_id fqdn "$1.example";
		peers_ipaddr "$2" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { modp2048; };
$3
		max_retry_to_send 2;
		interval_to_send 2 sec;
	};
	selector_index $1_out;
};
selector $1_out { direction outbound; src "$4"; dst "$5"; policy_index $1_pol; };
selector $1_in { direction inbound; src "$5"; dst "$4"; policy_index $1_pol; };
policy $1_pol {
	action auto_ipsec; remote_index $1; ipsec_mode tunnel;
	ipsec_index { esp; }; ipsec_level require;
	my_sa_ipaddr "$RB_A"; peers_sa_ipaddr "$2";
};
EOF
}

rb_net || { fail "namespaces"; finish; }
ns_addr c vc "$RB_C2/24"
pki_init "$TEST_DIR/pki"
mkca ca rsa && mkee host-a rsa host-a.example ca "DNS:host-a.example" ||
	{ fail "test PKI (openssl)"; finish; }
mk_conf a
mk_conf b
CERT="		kmp_auth_method { rsasig; };
		my_public_key x509pem \"$PKI/host-a.crt\" \"$PKI/host-a.key\";
		peers_public_key x509pem \"$PKI/ca.crt\" \"\";"
{
	evil_remote evil-cert "$RB_C" "$CERT" 203.0.113.64/28 203.0.113.96/28
	evil_remote evil-psk "$RB_C2" "$CERT
		pre_shared_key \"$TEST_DIR/psk\";" 203.0.113.32/28 203.0.113.48/28
} >>"$(rb_dir a)/racoon2.conf"
if ! "$IKED" --check -f "$(rb_dir a)/racoon2.conf" >"$TEST_DIR/check-a.log" 2>&1; then
	fail "iked -t accepts a's configuration ($(head -3 "$TEST_DIR/check-a.log" | tr '\n' ' '))"
	finish
fi
rb_start a && rb_start b || { fail "r2espd, spmd, iked start on a and b"; finish; }
pass "r2espd + spmd + iked up on a and b (userspace backend)"

alog() { printf '%s/iked-a.log' "$TEST_DIR"; }
remote_sas() { rb_ike a show sa --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s/%s/%d" % (s["id"], s["state"], len(s.get("children", [])))
               for s in d["ike_sas"] if s["remote"] == sys.argv[1]))' "$1"; }
esp_sas() { rb_esp "$1" sa show 2>/dev/null | grep -c -i 'spi'; }

# ---- defect 1: the initiator must not accept a PSK AUTH it did not allow ---
d1_case() { # TAG REMOTE BIND KEY WHAT
	local t=$1 r=$2 bind=$3 key=$4 what=$5 lines0 esp0
	lines0=$(wc -l <"$(alog)")
	esp0=$(esp_sas a)
	rm -f "$TEST_DIR/ready-$t"
	start_bg "evil-$t" ip netns exec "$(ns c)" python3 "$EVIL" responder \
		--bind "$bind" --key "$key" --idr "$r.example" --linger 4 \
		--ready "$TEST_DIR/ready-$t"
	wait_for "[ -e '$TEST_DIR/ready-$t' ]" 5
	rb_ike a initiate "$r" >"$TEST_DIR/init-$t.log" 2>&1
	wait_for "! bg_alive evil-$t" 15
	local res
	res=$(tail -1 "$TEST_DIR/evil-$t.log")
	log "$t: evil responder: $res"
	if ! grep -q '"sent_auth": true' <<<"$res"; then
		fail "$t: the evil responder got racoon2's IKE_SA_INIT and IKE_AUTH and answered ($res)"
		return
	fi
	pass "$t: evil responder answered IKE_SA_INIT (real DH) and IKE_AUTH ($what)"
	local est=0 i
	for i in 1 2 3 4 5; do
		remote_sas "$r" | grep -q ESTABLISHED && est=1
		sleep 0.4
	done
	local now
	now=$(remote_sas "$r")
	if [ $est = 0 ]; then
		pass "$t: racoon2 never reached ESTABLISHED with the evil responder (now: ${now:-none})"
	else
		fail "$t: racoon2 ESTABLISHED an IKE SA with the evil responder ($what) -- authentication bypass"
	fi
	if [ -z "$(rb_q a "[c['id'] for s in d['ike_sas'] if s['remote'] == '$r' for c in s.get('children', []) if c['state'] == 'INSTALLED']")" ] &&
		[ "$(esp_sas a)" = "$esp0" ]; then
		pass "$t: no CHILD SA installed (ikedctl, r2espctl sa show)"
	else
		fail "$t: a CHILD SA with the evil responder was installed (r2espd: $esp0 -> $(esp_sas a) SAs)"
	fi
	if tail -n +"$((lines0 + 1))" "$(alog)" | grep -i -E 'auth' |
		grep -q -i -E 'fail|refus|reject|not allowed|not acceptable|mismatch|no pre-shared|empty'; then
		pass "$t: a logs the authentication failure: $(tail -n +"$((lines0 + 1))" "$(alog)" | grep -i -E 'auth' | grep -i -m1 -E 'fail|refus|reject|not allowed|not acceptable|mismatch|no pre-shared|empty' | cut -c1-160)"
	else
		fail "$t: a logs an authentication failure"
	fi
	rb_ike a delete remote "$r" >/dev/null 2>&1
}
d1_case d1-empty-key evil-cert "$RB_C" empty "certificate-only remote, AUTH method 2 with an empty key"
d1_case d1-psk-not-allowed evil-psk "$RB_C2" "$TEST_DIR/psk" "kmp_auth_method { rsasig; }, AUTH method 2 with the right PSK"
# The same rule when racoon2 is the responder: c initiates from .4 as
# evil-psk.example with AUTH method 2 and the right PSK.
lines0=$(wc -l <"$(alog)")
if evil initiator --bind "$RB_C2" --dst "$RB_A" --psk "$TEST_DIR/psk" \
	--idi evil-psk.example --tsi 203.0.113.48/28 --tsr 203.0.113.32/28 \
	>"$TEST_DIR/evil-initiator.log" 2>&1; then
	pass "d1-responder: PSK AUTH for a remote that allows only rsasig answered AUTHENTICATION_FAILED, no AUTH ($(tail -1 "$TEST_DIR/evil-initiator.log" | cut -c1-120))"
else
	fail "d1-responder: PSK AUTH for a remote that allows only rsasig refused ($(tail -1 "$TEST_DIR/evil-initiator.log" | cut -c1-200))"
fi
if [ -z "$(remote_sas evil-psk | grep ESTABLISHED)" ] &&
	[ -z "$(rb_q a "[c['id'] for s in d['ike_sas'] if s['remote'] == 'evil-psk' for c in s.get('children', []) if c['state'] == 'INSTALLED']")" ]; then
	pass "d1-responder: no IKE SA ESTABLISHED, no CHILD SA with the evil initiator"
else
	fail "d1-responder: an SA with the evil initiator was established ($(remote_sas evil-psk))"
fi
check "iked alive on a after the evil responders" rb_alive a iked

# ---- defect 4: an unauthenticated IKE_SA_INIT error response ----------------
rb_ike a delete all >/dev/null 2>&1
rb_ike b delete all >/dev/null 2>&1
wait_for "rb_is a 'len(d[\"ike_sas\"])' 0 && rb_is b 'len(d[\"ike_sas\"])' 0" 5
ns_exec b nft -f - <<-'EOF' || fail "nft rule holding IKE to b back"
table ip hold {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport { 500, 4500 } drop
	}
}
EOF
lines0=$(wc -l <"$(alog)")
rb_ike a initiate peer >/dev/null 2>&1
sent() { rb_ike a show sa --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(s["spi_i"] for s in d["ike_sas"] if s["remote"] == "peer" and s["state"] == "INIT_SENT"))'; }
if wait_for '[ -n "$(sent)" ]' 5; then
	SI=$(sent)
	evil init-error --src "$RB_B" --dst "$RB_A" --spi-i "$SI" --notify 14 \
		--notify 7 >"$TEST_DIR/init-error.log" 2>&1
	sleep 0.5
	if [ "$(sent)" = "$SI" ]; then
		pass "IKE_SA_INIT error responses spoofed from b (NO_PROPOSAL_CHOSEN, INVALID_SYNTAX): a keeps its SA"
	else
		fail "spoofed IKE_SA_INIT error responses killed a's SA (now '$(sent)')"
	fi
	ns_exec b nft delete table ip hold
	check "a completes with the real responder b (IKE + CHILD on both)" \
		wait_for rb_both_up 12
	if tail -n +"$((lines0 + 1))" "$(alog)" | grep -q -E 'peer refused'; then
		fail "a acted on the unauthenticated notify: $(tail -n +"$((lines0 + 1))" "$(alog)" | grep -m1 'peer refused' | cut -c1-160)"
	else
		pass "a did not act on the unauthenticated error notify"
	fi
else
	fail "a's IKE_SA_INIT to b pending"
	ns_exec b nft delete table ip hold 2>/dev/null
fi

# ---- sniffing at the switch: every IKE datagram entering it ----------------
sniff_start() { # TAG
	rm -f "$TEST_DIR/sniff-$1.ready" "$TEST_DIR/sniff-$1.stop"
	start_bg "sniff-$1" ip netns exec "$(ns sw)" python3 "$EVIL" sniff \
		--secs 60 --ready "$TEST_DIR/sniff-$1.ready" --stop "$TEST_DIR/sniff-$1.stop"
	wait_for "[ -e '$TEST_DIR/sniff-$1.ready' ]" 5
}
sniff_stop() { # TAG SPI_I -> what a or b (ports pa, pb) sent for that IKE SA
	touch "$TEST_DIR/sniff-$1.stop"
	wait_for "! bg_alive sniff-$1" 5
	python3 -c '
import collections, json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
open(sys.argv[2], "w").write("%d\n" % sum(p["iface"] == "pc" for p in d["packets"]))
n = collections.Counter()
for p in d["packets"]:
    if p["iface"] in ("pa", "pb") and p["spi_i"] == sys.argv[3]:
        n["%s->%s exch %d flags 0x%02x mid %d" % (p["src"], p["dst"], p["exch"],
          p["flags"], p["mid"])] += 1
print("; ".join("%s (x%d)" % kv for kv in sorted(n.items())))
' "$TEST_DIR/sniff-$1.log" "$TEST_DIR/sniff-$1.pc" "$2"
}
# sniffed TAG : the sniffer saw the attacker's packets (so it works)
sniffed() { [ "$(cat "$TEST_DIR/sniff-$1.pc" 2>/dev/null || echo 0)" -gt 0 ]; }
# attack TAG HOST(a|b) SPI_I SPI_R I-FLAG(yes|no) EXCH KINDS MIDS...
# garbage to HOST, from c's address and spoofed from the other racoon2
attack() {
	local t=$1 h=$2 si=$3 sr=$4 iflag=$5 exch=$6 kinds=$7 dst spoof k args=()
	shift 7
	dst=$RB_A spoof=$RB_B
	[ "$h" = b ] && dst=$RB_B spoof=$RB_A
	[ "$iflag" = yes ] && args+=(--initiator)
	for k in $kinds; do args+=(--kind "$k"); done
	for k in "$@"; do args+=(--mid "$k"); done
	evil garbage --dst "$dst" --own "$RB_C" --spoof "$spoof" --spi-i "$si" \
		--spi-r "$sr" --exch "$exch" --wait 0.3 "${args[@]}" \
		>>"$TEST_DIR/attack-$t.log" 2>&1
	true
}

# ---- defect 2a: the half-open SA -------------------------------------------
# b initiates; its IKE_AUTH (exchange type 35) is held back in b.
nft_hold_auth() {
	ns_exec b nft -f - <<-'EOF'
	table ip hold {
		chain out {
			type filter hook output priority 0; policy accept;
			udp dport 500 @th,208,8 35 drop
			udp dport 4500 @th,240,8 35 drop
		}
	}
	EOF
}
rb_ike a delete all >/dev/null 2>&1
rb_ike b delete all >/dev/null 2>&1
wait_for "rb_is a 'len(d[\"ike_sas\"])' 0 && rb_is b 'len(d[\"ike_sas\"])' 0" 8
nft_hold_auth || fail "nft rule holding b's IKE_AUTH back"
rb_ike b initiate peer >/dev/null 2>&1
half() { rb_ike a show sa --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s %s %s" % (s["spi_i"], s["spi_r"], s["id"]) for s in d["ike_sas"]
      if s["remote"] == "peer" and s["state"] == "INIT_DONE"))'; }
if wait_for '[ -n "$(half)" ]' 5; then
	read -r HSI HSR HID <<<"$(half)"
	pass "half-open IKE SA #$HID on a (responder, IKE_SA_INIT done, IKE_AUTH held back in b)"
	sniff_start half
	# IKE_AUTH mid 1 (the expected one) and mid 2, 7 (future).
	attack half a "$HSI" "$HSR" yes 35 "crit icv short" 1 2 7
	# INFORMATIONAL before authentication
	attack half a "$HSI" "$HSR" yes 37 "crit icv" 1 2
	sleep 1
	ans=$(sniff_stop half "$HSI")
	if ! sniffed half; then
		fail "half-open: the sniffer at the switch saw the attack"
	elif [ -z "$ans" ]; then
		pass "half-open: no answer from racoon2 to unauthenticated IKE_AUTH (unknown critical payload before SK, bad ICV, short SK; mids 1, 2, 7)"
	else
		fail "half-open: racoon2 answered unauthenticated messages: $ans"
	fi
	if [ "$(half)" = "$HSI $HSR $HID" ]; then
		pass "half-open: IKE SA #$HID still there after the attack"
	else
		fail "half-open: IKE SA #$HID killed by unauthenticated messages (now: '$(half)')"
	fi
	ns_exec b nft delete table ip hold
	# b's retransmissions back off (1, 2, 4, 8, 16 s...): on a slow host
	# the hold can end just after one, so wait for the next one after it.
	check "half-open: b's retransmitted IKE_AUTH completes the SA (IKE + CHILD on both)" \
		wait_for rb_both_up 40
else
	fail "half-open IKE SA on a"
	ns_exec b nft delete table ip hold 2>/dev/null
fi

# ---- defect 2b: the established SA -----------------------------------------
if ! rb_both_up; then
	# (the half-open part failed: a fresh SA, again initiated by b, so
	# that the established part is still tested)
	rb_ike a delete all >/dev/null 2>&1
	rb_ike b delete all >/dev/null 2>&1
	sleep 1
	rb_ike b initiate peer >/dev/null 2>&1
	wait_for rb_both_up 10
fi
# b initiated: b sent requests 0 and 1, a sent none.  a expects request 2
# from b, b expects request 0 from a.
est_spis() { rb_q a '[s["spi_i"] + " " + s["spi_r"] for s in ike if s["remote"] == "peer"]'; }
if rb_both_up; then
	read -r ESI ESR <<<"$(est_spis)"
	KIDS_A=$(rb_q a '[c["spi_in"] + c["spi_out"] for c in kids]')
	KIDS_B=$(rb_q b '[c["spi_in"] + c["spi_out"] for c in kids]')
	sniff_start old
	# first (while a still holds its IKE_AUTH response in the cache):
	# garbage under the used mid 1 must not make a resend it
	attack old a "$ESI" "$ESR" yes 35 "crit icv" 1
	sleep 1
	ans=$(sniff_stop old "$ESI")
	if ! sniffed old; then
		fail "established: the sniffer at the switch saw the attack"
	elif [ -z "$ans" ]; then
		pass "established: garbage with an already used mid does not make racoon2 resend its cached response"
	else
		fail "established: garbage with an already used mid answered (cached response resent): $ans"
	fi
	sniff_start est
	# to a, posing as b (the original initiator): the expected mid 2,
	# future 3, 4, 100, 2^31-1
	attack est-a a "$ESI" "$ESR" yes 37 "crit icv short" 2 3 4 100 2147483647
	attack est-a a "$ESI" "$ESR" yes 36 "crit icv" 2 3
	# to b, posing as a: the expected mid 0, future 1, 5, 1000
	attack est-b b "$ESI" "$ESR" no 37 "crit icv short" 0 1 5 1000
	attack est-b b "$ESI" "$ESR" no 36 "crit icv" 0 1
	sleep 1
	ans=$(sniff_stop est "$ESI")
	if ! sniffed est; then
		fail "established: the sniffer at the switch saw the attack"
	elif [ -z "$ans" ]; then
		pass "established: no answer from a or b to unauthenticated INFORMATIONAL / CREATE_CHILD_SA (unknown critical payload before SK, bad ICV, short SK; expected and future mids)"
	else
		fail "established: racoon2 answered unauthenticated messages: $ans"
	fi
	if rb_both_up && [ "$(rb_q a '[c["spi_in"] + c["spi_out"] for c in kids]')" = "$KIDS_A" ] &&
		[ "$(rb_q b '[c["spi_in"] + c["spi_out"] for c in kids]')" = "$KIDS_B" ] &&
		[ "$(est_spis)" = "$ESI $ESR" ]; then
		pass "established: IKE and CHILD SAs unchanged on both sides"
	else
		fail "established: SAs changed by unauthenticated messages"
	fi
	# Message IDs in sync: real exchanges from both sides.
	rekey_child() { # HOST
		local k0 id
		k0=$(rb_q "$1" '[c["spi_in"] for c in kids]')
		id=$(rb_q "$1" '([c["id"] for c in kids] + [0])[0]')
		rb_ike "$1" rekey child "$id" >/dev/null 2>&1
		wait_for "k=\$(rb_q $1 '[c[\"spi_in\"] for c in kids]'); [ -n \"\$k\" ] && [ \"\$k\" != '$k0' ] && rb_both_up" 10
	}
	check "message IDs in sync: CHILD rekey requested by a (a's request mid 0 to b) succeeds" rekey_child a
	check "message IDs in sync: CHILD rekey requested by b (b's request mid 2 to a) succeeds" rekey_child b
	check "message IDs in sync: both ends agree on the CHILD SA" \
		eval "[ \"\$(rb_q a '[c[\"spi_in\"] for c in kids]')\" = \"\$(rb_q b '[c[\"spi_out\"] for c in kids]')\" ]"
	iid=$(rb_q b '([s["id"] for s in ike] + [0])[0]')
	rb_ike b rekey ike "$iid" >/dev/null 2>&1
	check "message IDs in sync: IKE rekey requested by b succeeds" \
		wait_for "[ \"\$(est_spis)\" != '$ESI $ESR' ] && rb_both_up" 10
	check "traffic passes the a-b tunnel" rb_ping_ok
	cid=$(rb_q a '([c["id"] for c in kids] + [0])[0]')
	rb_ike a delete child "$cid" >/dev/null 2>&1
	check "message IDs in sync: CHILD delete from a clears both ends" \
		wait_for "rb_is a 'len(kids)' 0 && rb_is b 'len(kids)' 0" 8
	iid=$(rb_q b '([s["id"] for s in ike] + [0])[0]')
	rb_ike b delete ike "$iid" >/dev/null 2>&1
	check "message IDs in sync: IKE delete from b clears both ends" \
		wait_for "rb_is a 'len(ike)' 0 && rb_is b 'len(ike)' 0" 8
else
	fail "established a-b SA for the defect 2 attacks"
fi

check "iked alive on a" rb_alive a iked
check "iked alive on b" rb_alive b iked
rb_finish
