#!/usr/bin/env bash
# ike_malicious_v1.sh - the adversarial harness of issue 9 for IKEv1
# (issue 11): malicious ISAKMP against the real daemons (r2espd + spmd +
# iked, userspace ESP).
#
#   a, b  racoon2 hosts with an IKEv1 ISAKMP SA and a CHILD SA between
#         them (Main Mode PSK, Quick Mode with PFS): real traffic
#   c     the attacker, tests/interop/ikev1_peer.c:
#     --evil         c is a peer of a that holds the keys of its own
#                    ISAKMP SA: it replays every Main Mode and Quick Mode
#                    message it sent, re-seals Quick Mode and
#                    Informational messages (Delete, INITIAL-CONTACT,
#                    R-U-THERE) with a wrong HASH, sends malformed lengths,
#                    attributes and payload order under a valid HASH,
#                    plaintext Delete/Notify, garbage ciphertext and bad
#                    header lengths; then a genuine Quick Mode
#     evil-cookies   c knows only the cookies of the a-b ISAKMP SA (and
#                    an SPI): plaintext Delete (ISAKMP and ESP) and
#                    Notify, garbage ciphertext, malformed lengths
# Expected: iked drops every one (counted per ISAKMP SA in `ikedctl show
# sa --json`: dropped, auth_failed, replayed), nothing is deleted or
# changed (same cookies, same SPIs, same CHILD SAs on both sides), c's
# genuine Quick Mode still completes, and a-b traffic still passes.
# Usage: R2_BUILD=build-dir tests/netns/ike_malicious_v1.sh
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"

B=${R2_BUILD:-$HERE/../../build}
. "$LIB/racoon2.sh"
r2_us_bins "$B"
PEER=$B/tests/unit/ikev1/ikev1-peer
r2_need_bins ike_malicious_v1 "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL" "$PEER"
netns_init r2m1 ike_malicious_v1
need_cmd ping python3

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
(umask 077
	printf 'ikev1-malicious-psk-%s-0123456789\n' "$$" >"$TEST_DIR/psk"
	printf 'evil-psk-0123456789\n' >"$TEST_DIR/psk-evil")
EVIL_PSK=evil-psk-0123456789

# remote NAME ME PEER MYNET PEERNET ID PEER_ID PSKFILE
remote() {
	cat <<EOF
remote $1 {
	acceptable_kmp { ikev1; };
	ikev1 {
		exchange_mode { main; };
		my_id fqdn "$6";
		peers_id fqdn "$7";
		peers_ipaddr "$3" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_hash_alg { sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$8";
		need_pfs on;
		kmp_sa_lifetime_time 1 hour;
	};
	selector_index $1_out;
};
selector $1_out { direction outbound; src "$4"; dst "$5"; policy_index $1_pol; };
selector $1_in { direction inbound; src "$5"; dst "$4"; policy_index $1_pol; };
policy $1_pol { action auto_ipsec; remote_index $1; ipsec_mode tunnel; ipsec_index { esp; }; ipsec_level require; my_sa_ipaddr "$2"; peers_sa_ipaddr "$3"; };
EOF
}
# conf HOST ADDRS...
conf() {
	local h=$1
	cat <<EOF
interface {
	ike { $2 };
	spmd { unix "$TEST_DIR/$h/spmif"; };
	kernel userspace;
};
ipsec esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };
EOF
}
mkdir -p "$TEST_DIR/a" "$TEST_DIR/b"
{
	conf a '"198.51.100.1" port 500; "198.51.100.5" port 500;'
	remote peer 198.51.100.1 198.51.100.2 203.0.113.1/32 203.0.113.2/32 \
		host-a.example host-b.example "$TEST_DIR/psk"
	remote evil 198.51.100.5 198.51.100.6 203.0.113.1/32 203.0.113.3/32 \
		host-a.example c.example "$TEST_DIR/psk-evil"
} >"$TEST_DIR/a/racoon2.conf"
{
	conf b '"198.51.100.2" port 500;'
	remote peer 198.51.100.2 198.51.100.1 203.0.113.2/32 203.0.113.1/32 \
		host-b.example host-a.example "$TEST_DIR/psk"
} >"$TEST_DIR/b/racoon2.conf"

start_host() {
	local h=$1 d=$TEST_DIR/$1
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || return 1
	start_bg "spmd-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || return 1
	start_bg "iked-$h" ip netns exec "$(ns "$h")" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		"$IKED" -F -d -f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" \
		--pidfile "$d/iked.pid"
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$h.log'" 5
}
ikectl() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$TEST_DIR/$h/iked.sock" "$@"; }
esp_sas() { ns_exec "$1" "$ESPCTL" -s "$TEST_DIR/$1/r2espd.sock" sa show 2>/dev/null | grep -c '^spi'; }
# q HOST PYEXPR on "show sa --json": v1 = ESTABLISHED IKEv1 SAs; r(NAME)
# the one of remote NAME
q() {
	local j
	j=$(ikectl "$1" show sa --json 2>/dev/null) || return 1
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v1 = [s for s in d["ike_sas"] if s.get("version") == 1 and s["state"] == "ESTABLISHED"]
def r(n): return [s for s in v1 if s["remote"] == n][0]
def state(n):
    s = r(n)
    return "%s/%s %s" % (s["icookie"], s["rcookie"], " ".join(sorted(c["spi_in"] + ":" + c["spi_out"] for c in s["children"])))
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$j" "$2"
}

start_host a || fail "a: daemons did not start"
start_host b || fail "b: daemons did not start"
check "a-b: a ping raises an ACQUIRE; IKEv1 Main Mode + Quick Mode; the ping passes" \
	wait_for "ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2" 20
check "a-b: one ISAKMP SA with one CHILD SA on each side" \
	wait_for "[ \"\$(q a 'len(r(\"peer\")[\"children\"])')\" = 1 ] &&
		  [ \"\$(q b 'len(r(\"peer\")[\"children\"])')\" = 1 ]" 5
A0=$(q a 'state("peer")')
B0=$(q b 'state("peer")')
log "a-b before: a=$A0 b=$B0"

# --- the attacker as an authenticated peer of a ---
ns_exec c "$PEER" init 198.51.100.6 198.51.100.5 "$EVIL_PSK" 203.0.113.3/32 \
	203.0.113.1/32 --pfs 14 --id c.example --peer-id host-a.example \
	--evil --timeout 40 >"$TEST_DIR/evil.out" 2>"$TEST_DIR/evil.err"
rc=$?
log "evil: $(tr '\n' ' ' <"$TEST_DIR/evil.out" | cut -c1-300)"
check "evil peer: its campaign went out ($(grep -o 'EVIL sent=[0-9]*' "$TEST_DIR/evil.out"))" \
	grep -q 'EVIL sent=[1-9]' "$TEST_DIR/evil.out"
check "evil peer: after the campaign a genuine Quick Mode still completes (exit $rc)" \
	eval "[ $rc = 0 ] && [ \$(grep -c '^CHILD ' '$TEST_DIR/evil.out') -ge 2 ]"
check "a: the evil peer's ISAKMP SA stands with both CHILD SAs (nothing deleted)" \
	eval "[ \"\$(q a 'len(r(\"evil\")[\"children\"])')\" = 2 ]"
st=$(q a '"%d %d %d" % (r("evil")["dropped"], r("evil")["auth_failed"], r("evil")["replayed"])')
log "a: evil SA counters dropped/auth_failed/replayed: $st"
read -r dr af rp <<<"$st"
check "a: counted: wrong HASHes (auth_failed $af >= 5)" [ "${af:-0}" -ge 5 ]
check "a: counted: replayed Quick Mode (replayed $rp >= 1)" [ "${rp:-0}" -ge 1 ]
check "a: counted: malformed and unauthenticated messages (dropped $dr >= 15)" [ "${dr:-0}" -ge 15 ]
check "a: iked logs the drops" grep -q 'ISAKMP SA #[0-9]*: message from 198.51.100.6:500 dropped' "$TEST_DIR/iked-a.log"

# --- the attacker with the cookies of the a-b SA only ---
ck=$(q a 'r("peer")["icookie"] + " " + r("peer")["rcookie"] + " " + r("peer")["children"][0]["spi_out"]')
read -r ci cr spi <<<"$ck"
d0=$(q a 'r("peer")["dropped"]')
check "cookie attacker: its messages went out" \
	eval "ns_exec c '$PEER' evil-cookies 198.51.100.6 198.51.100.5 $ci $cr $spi | grep -q 'EVIL sent=12'"
sleep 1
check "a: all 12 dropped on the a-b ISAKMP SA (dropped $d0 -> $(q a 'r("peer")["dropped"]'))" \
	eval "[ \$(q a 'r(\"peer\")[\"dropped\"]') -ge $((d0 + 12)) ]"
check "a, b: the a-b ISAKMP SA and CHILD SA unchanged (cookies, SPIs)" \
	eval "[ \"\$(q a 'state(\"peer\")')\" = '$A0' ] && [ \"\$(q b 'state(\"peer\")')\" = '$B0' ]"
check "a-b: traffic still passes" \
	eval "ns_exec a ping -c3 -i 0.2 -W1 -q -I 203.0.113.1 203.0.113.2 >/dev/null"
check "a: r2espd still holds the a-b SAs and the evil peer's (6)" eval "[ \"\$(esp_sas a)\" = 6 ]"
check "a: nothing deleted by a peer" eval "! grep -q 'deleted by the peer' '$TEST_DIR/iked-a.log'"
check "a, b: iked alive" eval "bg_alive iked-a && bg_alive iked-b"
stop_bg iked-a
stop_bg iked-b
finish
