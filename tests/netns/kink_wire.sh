#!/usr/bin/env bash
# run-by: meson (registered in src/kink/meson.build; scripts/test.sh does not run it again)
# kink_wire.sh - KINK (RFC 4430) on the wire, checked by two oracles that
# share nothing with kinkd:
#   * tshark with tools/kink.lua (RFC 4430, not Wireshark's
#     2003-draft dissector): every datagram on the KINK port decodes, no
#     malformed frame, no expert error; Wireshark's Kerberos dissector gets
#     the keytab and decrypts the tickets;
#   * tests/lib/kinkcheck.py: RFC 3961/3962 from the RFCs; the session key
#     recovered from each AP_REQ's ticket with the KDC's keytab verifies
#     every Cksum (key usage 40) and decrypts every KINK_ENCRYPT (39).
# The exchanges come from tests/netns/kink_pair.sh (MIT KDC in its own
# namespace, two hosts with r2espd + spmd + kinkd): CREATE/REPLY 2-way,
# CREATE/REPLY/ACK 3-way, DELETE/REPLY when kinkd stops, KE in CREATE and
# REPLY with PFS, STATUS/REPLY (dead-peer detection after a reboot).
# When kink_pair.sh has just run (meson runs it first) its captures in
# BUILD_DIR/tests/kink-captures are checked, if every case has its stamp
# there, newer than kinkd and kink_pair.sh; otherwise (or with KINK_WIRE_RERUN=1)
# kink_pair.sh is run here for the cases.  The committed fixtures
# (tests/data/kink/) are checked first, so a broken oracle shows even when
# the scenario cannot run.
#
#   kink_wire.sh [BUILD_DIR] [CASE...]  CASE: any of kink_pair.sh's (default
#   2way 3way skew ipv6; other cases get the generic checks only)
# PASS/FAIL lines; exit 77 (SKIP) without tshark/python3-cryptography, or
# when kink_pair.sh skips (no root, kinkd not built, no krb5kdc).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${R2_BUILD:-$TOP/build}}
[ $# -gt 0 ] && shift
CASES=${*:-2way 3way skew ipv6 pfs transport reboot}
. "$TOP/tests/lib/kinkwire.sh"
kw_available || { echo "SKIP: kink_wire (needs tshark and python3 cryptography)"; exit 77; }

FAILS=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; FAILS=$((FAILS + 1)); }

W=$(mktemp -d /tmp/r2kw-$$.XXXX)
cleanup() {
	if [ "$FAILS" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "# kept $W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the oracles themselves -------------------------------------------------
if python3 "$KW_CHECK" selftest >"$W/selftest.log" 2>&1; then
	pass "kinkcheck: RFC 3961 n-fold, RFC 3962 string-to-key and AES-CTS vectors"
else
	sed 's/^/# /' "$W/selftest.log"
	fail "kinkcheck self test"
fi
D=$TOP/tests/data/kink
for f in "$D"/*.pcap; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .pcap)
	kw_tshark "$f" 9100 "$D/all.keytab" && pass "fixture $n: kink.lua decodes every message cleanly" ||
		fail "fixture $n: kink.lua"
	kw_check "$f" 9100 "$D/all.keytab" && pass "fixture $n: every Cksum and KINK_ENCRYPT verifies with the keytab" ||
		fail "fixture $n: kinkcheck"
done
# a flipped bit in a Cksum must be caught by both oracles' checker
if [ -e "$D/2way.pcap" ]; then
	python3 - "$D/2way.pcap" "$W/bad.pcap" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-1] ^= 1  # the last octet of the last frame: its Cksum
open(sys.argv[2], "wb").write(d)
EOF
	if kw_check "$W/bad.pcap" 9100 "$D/all.keytab" >"$W/bad.log"; then
		fail "kinkcheck accepted a corrupted Cksum"
	else
		grep -q "cksum=BAD" "$W/bad.log" && pass "kinkcheck refuses a corrupted Cksum" ||
			{ cat "$W/bad.log"; fail "kinkcheck on a corrupted Cksum"; }
	fi
fi

# and a payload length beyond the message must be an expert error of kink.lua
if [ -e "$D/2way.pcap" ]; then
	python3 - "$D/2way.pcap" "$W/badlen.pcap" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
# pcap header 24, record header 16, Ethernet 14, IPv4 20, UDP 8: KINK at
# 82; the first payload's PayloadLength at KINK offset 18
d[82 + 18:82 + 20] = b"\xff\xf0"
open(sys.argv[2], "wb").write(d)
EOF
	if kw_tshark "$W/badlen.pcap" 9100 >"$W/badlen.log" 2>&1; then
		fail "kink.lua accepted a payload length beyond the message"
	else
		grep -q "beyond the message" "$W/badlen.log" &&
			pass "kink.lua flags a payload length beyond the message (expert error)" ||
			{ cat "$W/badlen.log"; fail "kink.lua on a bad payload length"; }
	fi
fi

# --- the real exchange --------------------------------------------------------
CAP=$BUILD/tests/kink-captures
fresh=0
if [ -z "${KINK_WIRE_RERUN:-}" ]; then
	fresh=1
	for c in $CASES; do
		[ "$CAP/stamp-$c" -nt "$BUILD/src/kink/kinkd" ] && [ "$CAP/stamp-$c" -nt "$HERE/kink_pair.sh" ] ||
			fresh=0
	done
fi
if [ $fresh = 1 ]; then
	echo "# checking the captures of kink_pair.sh's last run ($CAP)"
else
	CAP=$W/cap
	mkdir -p "$CAP"
	KINK_CAPTURE_DIR=$CAP bash "$HERE/kink_pair.sh" "$BUILD" $CASES >"$W/pair.log" 2>&1
	rc=$?
	sed 's/^/# kink_pair: /' "$W/pair.log"
	if [ $rc = 77 ]; then
		[ "$FAILS" = 0 ] || exit 1
		echo "SKIP: kink_wire (kink_pair.sh cannot run here)"
		exit 77
	fi
	[ $rc = 0 ] || fail "kink_pair.sh ($rc failures)"
fi
for c in $CASES; do
	p=$CAP/$c.pcap
	PORT=$(cat "$CAP/$c.port" 2>/dev/null || echo 910)
	if [ ! -s "$p" ]; then
		fail "$c: no capture from kink_pair.sh"
		continue
	fi
	types=$(kw_types "$p" "$PORT")
	echo "# $c: $types"
	# the cases that end with kinkd-a's stop (DELETE); others (rekey,
	# reboot, ...) get the generic checks only
	dels=0
	case $c in 2way | 3way | skew | ipv6 | pfs | transport) dels=1 ;; esac
	want="CREATE REPLY"
	[ "$c" = 3way ] && want="CREATE REPLY ACK"
	[ $dels = 1 ] && want="$want ... DELETE REPLY"
	case " $types " in
	*" ${want%% ...*} "*"DELETE REPLY"*) pass "$c: kink.lua sees $want" ;;
	*" $want "*) pass "$c: kink.lua sees $want" ;;
	*) fail "$c: message sequence ($types)" ;;
	esac
	kw_tshark "$p" "$PORT" "$CAP/$c.keytab" &&
		pass "$c: kink.lua decodes every message, no malformed frame or expert error" ||
		fail "$c: tshark with kink.lua"
	if kw_check "$p" "$PORT" "$CAP/$c.keytab" >"$W/$c.check"; then
		pass "$c: kinkcheck: every Cksum verifies and every KINK_ENCRYPT decrypts with the key from the keytab"
	else
		fail "$c: kinkcheck"
	fi
	cat "$W/$c.check"
	kw_same_keys "$p" "$PORT" "$CAP/$c.keytab" &&
		pass "$c: Wireshark's Kerberos dissector learns the same session keys from the tickets" ||
		fail "$c: session keys of kinkcheck and Wireshark differ"
	if [ "$c" = 3way ]; then
		grep -q "REPLY .*ACKREQ" "$W/$c.check" && pass "$c: the REPLY carries ACKREQ" ||
			fail "$c: no ACKREQ in the REPLY"
	fi
	if [ "$c" = skew ]; then
		grep -q "REPLY .*KRB_ERROR(KRB_AP_ERR_SKEW)" "$W/$c.check" &&
			pass "$c: the first CREATE is answered by KRB_ERROR (KRB_AP_ERR_SKEW), without Cksum" ||
			fail "$c: no KRB_AP_ERR_SKEW on the wire"
	fi
	if [ "$c" = reboot ]; then
		case " $types " in
		*" STATUS REPLY "*) pass "$c: kinkd's own STATUS and its REPLY on the wire (Cksum checked above)" ;;
		*) fail "$c: no STATUS exchange ($types)" ;;
		esac
	fi
	if [ "$c" = pfs ]; then
		grep -q "CREATE .*ENCRYPT{ISAKMP{SA(.*NONCE.*KE" "$W/$c.check" &&
			grep -q "REPLY .*ENCRYPT{ISAKMP{SA(.*NONCE.*KE" "$W/$c.check" &&
			pass "$c: CREATE and REPLY carry KE inside KINK_ENCRYPT (PFS)" ||
			fail "$c: no KE in CREATE/REPLY"
		grep -q "REPLY .*ENCRYPT{ISAKMP{N" "$W/$c.check" &&
			pass "$c: the CREATE without KE is answered by an encrypted Notify" ||
			fail "$c: no Notify REPLY for the CREATE without KE"
	fi
	if [ "$c" = ipv6 ]; then
		grep -q "^# 1 2001:db8" "$W/$c.check" && pass "$c: KINK over IPv6" ||
			fail "$c: no KINK over IPv6 in the capture"
	fi
	grep -q "CREATE .*ENCRYPT{ISAKMP{SA(.*NONCE" "$W/$c.check" &&
		pass "$c: CREATE's KINK_ENCRYPT holds ISAKMP{SA, Nonce, ...}" ||
		fail "$c: CREATE's encrypted Quick Mode payloads"
	[ $dels = 1 ] || continue
	grep -q "DELETE .*ENCRYPT{ISAKMP{D(" "$W/$c.check" &&
		pass "$c: DELETE's KINK_ENCRYPT holds ISAKMP{Delete}" ||
		fail "$c: DELETE's encrypted Delete payload"
done
exit $FAILS
