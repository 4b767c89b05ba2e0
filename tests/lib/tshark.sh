# tests/lib/tshark.sh - packet capture in a namespace and tshark as the
# wire-format oracle for IKEv2 and ESP.
#
# Needs tests/lib/netns.sh sourced first.  Files live in $TEST_DIR:
#   NAME.pcap            capture written by dumpcap (flushed by cap_stop)
#   ws-NAME/             a private Wireshark configuration directory
#                        (WIRESHARK_CONFIG_DIR): "preferences" enabling ESP
#                        decryption and ICV checks, and the UAT files
#                        "ikev2_decryption_table" / "esp_sa" with the keys.
#                        Using a private directory also keeps the user's own
#                        Wireshark preferences out of the results.
#
# UAT formats (Wireshark 4.0), one SA per line, see tests/lib/keys.py:
#   ikev2_decryption_table: SPIi,SPIr,SK_ei,SK_er,"ENCR",SK_ai,SK_ar,"INTEG"
#       (byte fields are bare hex; quoting them makes Wireshark read ASCII)
#   esp_sa: "IPv4","SRC","DST","0xSPI","ENCR","0xKEY","AUTH","0xKEY"
# The same lines work one by one on the command line:
#   tshark -o 'uat:ikev2_decryption_table:LINE' -o 'uat:esp_sa:LINE' ...
#
#   cap_start NAME HOST IFACE [BPF] [CANARY]  default: IKE, NAT-T, ESP;
#                                     CANARY: see cap_start
#   cap_stop NAME                     SIGINT, wait for dumpcap to flush
#   ts_keydir NAME [IKE_UAT] [ESP_UAT]  -> prints the config dir path
#   ts KEYDIR PCAP ARGS...            tshark -n -r PCAP with that config
#   ts_counts KEYDIR PCAP FILTER...   frames matching each filter, one pass
#   ts_check_clean KEYDIR PCAP        no malformed / expert error frames
#                                     (a repeated UDP payload, a
#                                     retransmission, is not counted)
#   ts_check_ike_decrypt KEYDIR PCAP  every SK payload decrypted, ICV right
#   ts_check_esp_decrypt KEYDIR PCAP  every ESP packet decrypted, ICV right
#   ts_exchanges KEYDIR PCAP          "IKE_SA_INIT request" ... per frame
#   ts_payloads KEYDIR PCAP           per IKE message: sender, payloads, the
#                                     decrypted SK contents, notify types
#                                     and traffic selectors (keys.py
#                                     ike-payloads)
#   TS_DECODE_AS=(-d udp.port==N,isakmp ...)  extra tshark options

TS_DECODE_AS=()
TS_KEYS_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/keys.py
TS_DEFAULT_BPF='udp port 500 or udp port 4500 or esp'

ts_available() {
	command -v tshark >/dev/null 2>&1 && command -v dumpcap >/dev/null 2>&1
}

cap_file() { printf '%s/%s.pcap' "$TEST_DIR" "$1"; }

# cap_start NAME HOST IFACE [BPF] [CANARY] : capture on IFACE inside HOST.
# "Capturing on" from dumpcap does not prove packets are being recorded
# yet (libpcap drops what its ring held when the filter is set), so with
# CANARY (an address reachable through IFACE) a UDP datagram to CANARY port
# 9 (discard) is sent until it shows up in the file; the filter lets it in.
cap_start() {
	local name=$1 host=$2 ifc=$3 bpf=${4:-$TS_DEFAULT_BPF} canary=${5:-}
	local f
	f=$(cap_file "$name")
	[ -n "$canary" ] && bpf="($bpf) or (udp dst port 9 and dst host $canary)"
	start_bg "cap-$name" ip netns exec "$(ns "$host")" \
		dumpcap -q -P -i "$ifc" -f "$bpf" -w "$f"
	if ! wait_for "grep -q 'Capturing on' '$TEST_DIR/cap-$name.log'" 10; then
		echo "cap_start: dumpcap on $host:$ifc did not start" >&2
		cat "$TEST_DIR/cap-$name.log" >&2
		return 1
	fi
	[ -n "$canary" ] || { sleep 0.5; return 0; }
	local hostns
	hostns=$(ns "$host")
	if ! wait_for "ip netns exec $hostns bash -c 'echo canary >/dev/udp/$canary/9' 2>/dev/null; sleep 0.2; python3 '$TS_KEYS_PY' pcap-has-udp '$f' 9" 10; then
		echo "cap_start: canary never reached the capture on $host:$ifc" >&2
		return 1
	fi
}

# cap_stop NAME : stop the capture; the pcap is complete afterwards.
# libpcap (TPACKET_V3) hands packets over in blocks retired by a timeout and
# dumpcap drops a block still open at SIGINT, so first wait until the file
# has stopped growing (checked every 0.5 s, at most 4 s).
cap_stop() {
	local f last=-1 now i
	f=$(cap_file "$1")
	for ((i = 0; i < 8; i++)); do
		sleep 0.5
		now=$(stat -c %s "$f" 2>/dev/null || echo 0)
		[ "$now" = "$last" ] && break
		last=$now
	done
	stop_bg "cap-$1" INT 5
	[ -s "$f" ]
}

# ts_keydir NAME [IKE_UAT] [ESP_UAT] : private Wireshark config with keys.
ts_keydir() {
	local d="$TEST_DIR/ws-$1"
	mkdir -p "$d"
	chmod 700 "$d"
	cat >"$d/preferences" <<-EOF
	esp.enable_encryption_decode: TRUE
	esp.enable_authentication_check: TRUE
	esp.do_esp_sequence_analysis: TRUE
	EOF
	: >"$d/ikev2_decryption_table"
	: >"$d/esp_sa"
	[ -n "${2:-}" ] && [ -f "$2" ] && cat "$2" >>"$d/ikev2_decryption_table"
	[ -n "${3:-}" ] && [ -f "$3" ] && cat "$3" >>"$d/esp_sa"
	printf '%s' "$d"
}

# ts KEYDIR PCAP ARGS... : tshark on a capture with that configuration.
ts() {
	local d=$1 f=$2; shift 2
	WIRESHARK_CONFIG_DIR="$d" tshark -n -r "$f" "${TS_DECODE_AS[@]}" "$@" \
		2> >(grep -v 'Running as user "root"' >&2)
}

# ts_counts KEYDIR PCAP FILTER... : number of frames matching each display
# filter, one per line, in a single tshark pass (io,stat).
ts_counts() {
	local d=$1 f=$2; shift 2
	local spec="io,stat,0" flt
	for flt in "$@"; do
		spec="$spec,$flt"
	done
	ts "$d" "$f" -q -z "$spec" | awk -v n=$# '
		/^\| *[0-9.]+ *<> *[0-9.]+ *\|/ {
			gsub(/\|/, " ")
			# interval "a <> b" then (frames, bytes) per column
			for (i = 0; i < n; i++) print $(4 + 2 * i)
			found = 1
		}
		END { if (!found) for (i = 0; i < n; i++) print 0 }'
}

# ts_check_clean KEYDIR PCAP : true when no frame is malformed or carries
# an expert error; prints the offending frames otherwise.  A frame whose
# UDP payload repeats an earlier frame's octet for octet is a
# retransmission (RFC 2409 §5 and RFC 7296 §2.1 resend the same
# datagram) and is not counted: tshark's IKEv1 decryption chains the IV
# from the exchange's previous message, so it cannot decrypt a repeat
# and shows it as malformed, though the packet was good the first time.
# One tshark pass: per frame its number, UDP payload, expert severities
# (error = 8388608; a malformed frame carries one too), the summary
# columns and the malformed flag, decided by ts_clean_awk.  A tshark
# that fails (no file, a field name it does not know) fails the check:
# no output must not read as a clean capture.
ts_check_clean() {
	local out
	out=$(ts "$1" "$2" -T fields -E separator=/t -E occurrence=a \
		-E aggregator=, -e frame.number -e udp.payload \
		-e _ws.expert.severity -e _ws.col.Source -e _ws.col.Destination \
		-e _ws.col.Protocol -e _ws.col.Info -e _ws.malformed) ||
		{ echo "ts_check_clean: tshark failed on $2" >&2; return 1; }
	ts_clean_awk <<<"$out"
}

# ts_clean_awk : the decisions of ts_check_clean on its fields (stdin):
# exit 1 and the offending frames (at most 20) on stderr, or exit 0.
ts_clean_awk() {
	awk -F'\t' '
		{
			bad = $8 != ""
			n = split($3, sev, ",")
			for (i = 1; i <= n; i++)
				if (sev[i] + 0 >= 8388608) bad = 1
			if (bad && !($2 != "" && ($2 in seen)) && nbad++ < 20)
				printf "frame %s: %s -> %s %s %s\n", $1, $4, $5, $6, $7 >"/dev/stderr"
			if ($2 != "") seen[$2] = 1
		}
		END { exit nbad > 0 }'
}

# ts_check_ike_decrypt KEYDIR PCAP : every frame with an Encrypted (SK)
# payload decrypted and none with a wrong Integrity Checksum / AEAD tag.
# Prints "sk=N decrypted=M badicv=K"; needs N > 0.
ts_check_ike_decrypt() {
	local c sk dec bad
	c=$(ts_counts "$1" "$2" 'isakmp.enc.data' 'isakmp.enc.decrypted' \
		'isakmp.ikev2.integrity_checksum' | tr '\n' ' ')
	read -r sk dec bad <<<"$c"
	printf 'sk=%s decrypted=%s badicv=%s\n' "$sk" "$dec" "$bad"
	[ "${sk:-0}" -gt 0 ] && [ "$dec" = "$sk" ] && [ "$bad" = 0 ]
}

# ts_check_esp_decrypt KEYDIR PCAP : every ESP packet (raw or in UDP)
# authenticated (esp.icv_good) and decrypted. Prints the counts.
ts_check_esp_decrypt() {
	local c n good dec
	c=$(ts_counts "$1" "$2" 'esp' 'esp.icv_good == 1' \
		'esp.decrypted_data' | tr '\n' ' ')
	read -r n good dec <<<"$c"
	printf 'esp=%s icv_good=%s decrypted=%s\n' "$n" "$good" "$dec"
	[ "${n:-0}" -gt 0 ] && [ "$good" = "$n" ] && [ "$dec" = "$n" ]
}

# ts_exchanges KEYDIR PCAP : "FRAME EXCHANGE request|response MID" lines
# (every IKE message in the capture, in order).
ts_exchanges() {
	local fr x fl mid
	local -a nm=([34]=IKE_SA_INIT [35]=IKE_AUTH [36]=CREATE_CHILD_SA
		[37]=INFORMATIONAL)
	ts "$1" "$2" -Y isakmp -T fields -E separator=' ' -e frame.number \
		-e isakmp.exchangetype -e isakmp.flags -e isakmp.messageid |
	while read -r fr x fl mid; do
		[ -n "${nm[x]:-}" ] && x=${nm[x]}
		if (( fl & 0x20 )); then fl=response; else fl=request; fi
		printf '%s %s %s %d\n' "$fr" "$x" "$fl" "$((mid))"
	done
}

# ts_payloads KEYDIR PCAP : "FRAME EXCHANGE request|response MID SRC
# PAYLOADS" per IKE message, SK contents decrypted with KEYDIR's keys, e.g.
#   5 IKE_AUTH request 1 198.51.100.1 SK IDi IDr AUTH N(16391) SA
#     TSi(198.51.100.1-198.51.100.1/0/0-65535) TSr(...)
# (N(16391) = USE_TRANSPORT_MODE; "SK?" = an SK payload not decrypted).
ts_payloads() {
	ts "$1" "$2" -Y isakmp -T json | python3 "$TS_KEYS_PY" ike-payloads -
}
