# tests/lib/kinkwire.sh - sourced: the KINK wire-format oracle.
#
# Two independent checks of a capture of KINK (RFC 4430) messages:
#   kw_tshark PCAP PORT [KEYTAB]  tshark with tools/kink.lua:
#       every UDP datagram on PORT decodes as KINK (kink4430), no frame is
#       malformed or carries an expert error; with KEYTAB Wireshark's
#       Kerberos dissector also decrypts the tickets.  Prints one line per
#       message (frame, type, XID, payloads) prefixed with "# ".
#   kw_check PCAP PORT KEYTAB...   tests/lib/kinkcheck.py: the session key
#       recovered from each AP_REQ ticket with the keytab verifies every
#       Cksum and decrypts every KINK_ENCRYPT.  Prints its lines with "# ".
#   kw_types PCAP PORT            the message types in order ("CREATE REPLY ...")
#   kw_same_keys PCAP PORT KEYTAB  the session keys kinkcheck.py recovered are
#       the ones Wireshark's Kerberos dissector learnt from the same tickets
#       (compared by their first 4 octets, all Wireshark prints)
# Both return non-zero on a problem.  kw_available tells whether tshark
# and python3 with the cryptography module are there.
KW_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KW_LUA=$KW_LIB/../../tools/kink.lua
KW_CHECK=$KW_LIB/kinkcheck.py

kw_available() {
	command -v tshark >/dev/null 2>&1 &&
		python3 -c 'import cryptography' >/dev/null 2>&1
}

# tshark with the dissector and an empty private configuration
_kw_ts() {
	local pcap=$1 port=$2 keytab=$3 cfg
	shift 3
	cfg=$(mktemp -d /tmp/kw-ws.XXXXXX)
	local -a krb=()
	[ -n "$keytab" ] && krb=(-o kerberos.decrypt:TRUE -o "kerberos.file:$keytab")
	WIRESHARK_CONFIG_DIR=$cfg tshark -n -X "lua_script:$KW_LUA" \
		-o "kink4430.port:$port" "${krb[@]}" -r "$pcap" "$@" \
		2> >(grep -v 'Running as user "root"' >&2)
	local rc=$?
	rm -rf "$cfg"
	return $rc
}

kw_tshark() {
	local pcap=$1 port=$2 keytab=${3:-} n k bad
	n=$(_kw_ts "$pcap" "$port" "$keytab" -Y "udp.port == $port" -T fields -e frame.number | wc -l)
	k=$(_kw_ts "$pcap" "$port" "$keytab" -Y "kink4430.type" -T fields -e frame.number | wc -l)
	_kw_ts "$pcap" "$port" "$keytab" -Y kink4430 -T fields -e frame.number \
		-e _ws.col.Info | sed 's/^/# /'
	bad=$(_kw_ts "$pcap" "$port" "$keytab" \
		-Y "_ws.malformed || _ws.expert.severity >= error" \
		-T fields -e frame.number -e _ws.expert.message | head -20)
	echo "# tshark: $n datagrams on udp port $port, $k decoded as KINK"
	if [ -n "$bad" ]; then
		printf '# malformed/expert error: %s\n' "$bad"
		return 1
	fi
	[ "$n" -gt 0 ] && [ "$n" = "$k" ]
}

kw_check() {
	local pcap=$1 port=$2 out rc
	shift 2
	local -a kt=()
	for k in "$@"; do kt+=(-k "$k"); done
	out=$(python3 "$KW_CHECK" -p "$port" "${kt[@]}" "$pcap")
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	return $rc
}

kw_types() {
	_kw_ts "$1" "$2" "" -Y kink4430.type -T fields -e kink4430.type |
		awk 'BEGIN { split("CREATE DELETE REPLY GETTGT ACK STATUS", n, " ") }
		     { printf "%s%s", (NR > 1 ? " " : ""), (n[$1] ? n[$1] : $1) }
		     END { print "" }'
}

kw_same_keys() {
	local pcap=$1 port=$2 keytab=$3 ours theirs
	ours=$(python3 "$KW_CHECK" -p "$port" -k "$keytab" "$pcap" |
		grep -o 'sk=[0-9a-f]*' | cut -c4- | sort -u | tr '\n' ' ')
	theirs=$(_kw_ts "$pcap" "$port" "$keytab" -T fields -e _ws.expert.message |
		grep -o 'Learnt encTicketPart_key keytype [0-9]* ([^)]*) ([0-9a-f]*' |
		sed 's/.*(//' | sort -u | tr '\n' ' ')
	echo "# session keys: kinkcheck ${ours:-none}, Wireshark ${theirs:-none}"
	[ -n "$ours" ] && [ "$ours" = "$theirs" ]
}
