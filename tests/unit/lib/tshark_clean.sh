#!/usr/bin/env bash
# tests/unit/lib/tshark_clean.sh - the decisions of ts_check_clean
# (tests/lib/tshark.sh): the scenario tests' "no malformed frame, no
# expert error" check, which does not count a retransmission (a UDP
# payload repeating an earlier one octet for octet).
#
# Stub cases: `ts` is replaced by a function printing the fields tshark
# would give (frame, UDP payload, expert severities, Source, Destination,
# Protocol, Info, malformed flag), so every branch runs without tshark.
# Real case (when tshark is installed): a capture written here, with a
# clean ISAKMP header, a truncated one and its repeat, through the real
# tshark: proves the field names, which the stubs cannot.
# Prints PASS/FAIL lines; exit 1 on any FAIL.
set -u
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
. "$TOP/tests/lib/tshark.sh"
FAILS=0
T=$(mktemp -d "${TMPDIR:-/tmp}/r2-tsclean.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

ERR=8388608  # PI_ERROR
WARN=6291456 # PI_WARN
STUB=

# fields "FRAME PAYLOAD SEV MALFORMED" lines -> the tab-separated stub
# output (columns filled in)
fields() {
	local fr pl sev mal
	while read -r fr pl sev mal; do
		[ "$pl" = - ] && pl=
		[ "$sev" = - ] && sev=
		[ "$mal" = - ] && mal=
		printf '%s\t%s\t%s\t198.51.100.1\t198.51.100.2\tISAKMP\tInfo %s\t%s\n' \
			"$fr" "$pl" "$sev" "$fr" "$mal"
	done
}
ts() { printf '%s' "$STUB"; }

# expect NAME RC FRAMES "FRAME PAYLOAD SEV MALFORMED"... : ts_check_clean
# on those frames returns RC and reports exactly FRAMES (space-separated
# frame numbers, "" for none) on stderr
expect() {
	local name=$1 want=$2 frames=$3 rc got
	shift 3
	STUB=$(printf '%s\n' "$@" | fields)
	STUB+=$'\n'
	ts_check_clean kd f.pcap 2>"$T/err"
	rc=$?
	got=$(sed -n 's/^frame \([0-9]*\):.*/\1/p' "$T/err" | tr '\n' ' ')
	got=${got% }
	if [ "$rc" = "$want" ] && [ "$got" = "$frames" ]; then
		echo "PASS: $name"
	else
		echo "FAIL: $name (rc $rc, want $want; reported '$got', want '$frames')"
		FAILS=$((FAILS + 1))
	fi
}

expect "clean capture" 0 "" \
	"1 aa - -" "2 bb - -" "3 cc $WARN -"
expect "a malformed frame fails and is named" 1 "2" \
	"1 aa - -" "2 bb $ERR [Malformed]" "3 cc - -"
expect "an expert error without the malformed flag fails" 1 "3" \
	"1 aa - -" "2 bb $WARN -" "3 cc $ERR -"
expect "expert warnings alone pass" 0 "" \
	"1 aa $WARN -" "2 bb $WARN,$WARN -"
expect "one error among several severities fails" 1 "1" \
	"1 aa $WARN,$ERR -"
expect "the malformed flag alone (no severity) fails" 1 "1" \
	"1 aa - [Malformed]"
expect "a retransmission (payload seen before) is not counted" 0 "" \
	"1 aa - -" "2 bb - -" "3 bb $ERR [Malformed]" "4 aa $ERR -"
expect "a bad first copy fails; its repeat is not reported again" 1 "1" \
	"1 aa $ERR [Malformed]" "2 aa $ERR [Malformed]"
expect "frames without UDP payload are never repeats" 1 "1 2" \
	"1 - $ERR [Malformed]" "2 - $ERR [Malformed]"
expect "a payload seen only later does not excuse an earlier frame" 1 "1" \
	"1 aa $ERR -" "2 bb - -" "3 aa - -"
STUB=
ts() { return 2; }
if ! ts_check_clean kd f.pcap 2>"$T/err" && grep -q 'tshark failed' "$T/err"; then
	echo "PASS: a failing tshark (no output) fails the check"
else
	echo "FAIL: a failing tshark passed as a clean capture"
	FAILS=$((FAILS + 1))
fi
ts() { printf '%s' "$STUB"; }
many=()
for i in $(seq 30); do many+=("$i p$i $ERR [Malformed]"); done
expect "at most 20 offending frames printed" 1 "$(seq -s ' ' 20)" "${many[@]}"

# the real tshark on a written capture
unset -f ts
. "$TOP/tests/lib/tshark.sh"
if command -v tshark >/dev/null 2>&1; then
	python3 - "$T/real.pcap" <<'EOF'
import struct, sys
def ip_udp(payload):
    udp = struct.pack('!HHHH', 500, 500, 8 + len(payload), 0) + payload
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17,
                       0, bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2])) + udp
# ISAKMP headers (RFC 2408 §3.1), Main Mode: no payload, length 28 (clean);
# an SA payload announced but absent, length 60 (truncated: malformed)
hdr = lambda np, ln: bytes(8) + bytes([1] * 8) + bytes([np, 0x10, 2, 0]) + \
    bytes(4) + struct.pack('!I', ln)
cases = {'clean': [hdr(0, 28), hdr(0, 28)],
         'bad': [hdr(0, 28), hdr(1, 60), hdr(1, 60)]}
for name, pkts in cases.items():
    with open(sys.argv[1] + '.' + name, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, p in enumerate(pkts):
            d = ip_udp(p)
            f.write(struct.pack('<IIII', i, 0, len(d), len(d)) + d)
EOF
	mkdir -p "$T/kd"
	if ts_check_clean "$T/kd" "$T/real.pcap.clean" 2>"$T/err"; then
		echo "PASS: tshark: a clean capture with a repeated datagram"
	else
		echo "FAIL: tshark: clean capture reported: $(cat "$T/err")"
		FAILS=$((FAILS + 1))
	fi
	if ! ts_check_clean "$T/kd" "$T/real.pcap.bad" 2>"$T/err" &&
		[ "$(grep -c '^frame 2: .*Malformed' "$T/err")" = 1 ] &&
		[ "$(grep -c '^frame' "$T/err")" = 1 ]; then
		echo "PASS: tshark: a truncated ISAKMP message fails, its repeat is not reported"
	else
		echo "FAIL: tshark: truncated message: $(cat "$T/err")"
		FAILS=$((FAILS + 1))
	fi
	if ! ts_check_clean "$T/kd" "$T/missing.pcap" 2>/dev/null; then
		echo "PASS: tshark: a missing capture fails"
	else
		echo "FAIL: tshark: a missing capture passed"
		FAILS=$((FAILS + 1))
	fi
else
	echo "SKIP: tshark not installed: the real-tshark cases"
fi
[ "$FAILS" = 0 ]
