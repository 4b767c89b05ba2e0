#!/bin/bash
# racoon2_cli.sh - racoon2's documented command lines (spmdctl(8),
# spmd(8) of racoon2 and its doc/USAGE) against our daemons, each with
# the output shape racoon2 defines (issue 13):
#   spmdctl [-d] [-f RACOON2_CONF] ns add|delete|list, policy
#   add|delete|show, migrate, status; racoon2's command-word prefixes;
#   the socket and password taken from racoon2.conf; spmd -f -F -d -D
#   -V -k; iked -f -F -d -D -v -V -l -p -t -4 -6 -I -S -P (racoon2's
#   meaning: listen port, peers' port, one family, initiate to an
#   address / a selector, pcap file checked with tshark); kinkd -D -V;
#   unknown options fail with usage (exit 2).
#
# usage: racoon2_cli.sh   (binaries from $R2_BUILD or build/)
# Prints PASS:/FAIL: lines; exit status 1 if anything failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
B=${R2_BUILD:-$TOP/build}
SPMD=$B/src/spm/spmd
SPMDCTL=$B/src/spm/spmdctl
IKED=$B/src/ike/iked
KINKD=$B/src/kink/kinkd
PSKGEN=$B/src/ctl/pskgen

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: racoon2_cli (needs root for network namespaces)"
	exit 77
fi
for b in "$SPMD" "$SPMDCTL"; do
	if [ ! -x "$b" ]; then
		echo "FAIL: racoon2_cli: $b not built"
		exit 1
	fi
done

NS=r2cli-$$-a
W=$(mktemp -d /tmp/r2cli-$$.XXXXXX)
SOCK=$W/spmif
CONF=$W/racoon2.conf
FAILS=0
SPMD_PID=

cleanup() {
	[ -n "$SPMD_PID" ] && kill -9 "$SPMD_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	FAILS=$((FAILS + 1))
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'
}
# run NAME EXPECTED_RC COMMAND... : output in $OUT
run() {
	local name=$1 want=$2
	shift 2
	OUT=$(ip netns exec "$NS" "$@" 2>&1)
	RC=$?
	if [ "$RC" != "$want" ]; then
		fail "$name (exit $RC, expected $want)" "$OUT"
		return 1
	fi
	return 0
}
# shape NAME REGEX : $OUT matches (grep -E, all of it in one line)
shape() {
	if grep -qE -- "$2" <<<"$OUT"; then pass "$1"; else fail "$1" "$OUT"; fi
}

ip netns add "$NS" || { echo "FAIL: racoon2_cli: cannot create a namespace"; exit 1; }
ip link add r2cli$$a netns "$NS" type veth peer name r2cli$$b netns "$NS"
ip -n "$NS" link set r2cli$$b up
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.51.100.1/24 dev r2cli$$a
ip -n "$NS" addr add 2001:db8:1::1/64 dev r2cli$$a nodad
ip -n "$NS" link set r2cli$$a up

# racoon2's pskgen command lines make the key files (mode 0600 even
# under a permissive umask)
if [ -x "$PSKGEN" ]; then
	(umask 000; "$PSKGEN" -r -o "$W/spmd.pwd") &&
		[ "$(stat -c %a "$W/spmd.pwd")" = 600 ] && [ "$(stat -c %s "$W/spmd.pwd")" = 16 ] &&
		pass "pskgen -r -o FILE: 16 random bytes, mode 0600" ||
		fail "pskgen -r -o FILE: 16 random bytes, mode 0600" "$(ls -l "$W/spmd.pwd" 2>&1)"
	printf 'racoon2-cli-psk\nignored\n' | (umask 000; "$PSKGEN" -i - -o "$W/psk") &&
		[ "$(cat "$W/psk")" = racoon2-cli-psk ] && [ "$(stat -c %a "$W/psk")" = 600 ] &&
		pass "pskgen -i - -o FILE: the first line, mode 0600" ||
		fail "pskgen -i - -o FILE: the first line, mode 0600" "$(od -c "$W/psk" 2>&1)"
	out=$("$PSKGEN" -e "$W/psk")
	[ "$(printf '%s\n' "$out" | "$PSKGEN" -i - -h)" = racoon2-cli-psk ] &&
		grep -q '^0x72 0x61 0x63 ' <<<"$out" &&
		pass "pskgen -e FILE / -i - -h: 0xNN round trip" ||
		fail "pskgen -e FILE / -i - -h: 0xNN round trip" "$out"
	"$PSKGEN" -x >/dev/null 2>&1
	[ $? = 2 ] && pass "pskgen with an unknown option fails with usage" ||
		fail "pskgen with an unknown option fails with usage"
else
	printf 'racoon2-cli-psk' >"$W/psk"
	printf 'racoon2-cli-password\n' >"$W/spmd.pwd"
	chmod 600 "$W/psk" "$W/spmd.pwd"
fi

# racoon2's sample layout: the socket and the password in `interface`
cat >"$CONF" <<EOF
interface {
	ike { 198.51.100.1 port 500; };
	spmd { unix "$SOCK"; };
	spmd_password "$W/spmd.pwd";
};
resolver {
	resolver off;
	nameserver { 198.51.100.53 port 53; 2001:db8:1::53; };
};
remote r_ike {
	acceptable_kmp { ikev2; };
	ikev2 {
		peers_ipaddr "198.51.100.2" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$W/psk";
	};
};
sa sa_esp { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha1; }; };
ipsec ipsec_esp { sa_index sa_esp; };
policy p_trans { action auto_ipsec; remote_index r_ike; ipsec_mode transport;
	ipsec_index { ipsec_esp; }; ipsec_level require; };
policy p_tun { action auto_ipsec; remote_index r_ike; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "198.51.100.1"; peers_sa_ipaddr "198.51.100.2"; };
policy p_rw { action auto_ipsec; remote_index r_ike; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "198.51.100.1"; peers_sa_ipaddr IP_RW; };
selector s_out { direction outbound; src "198.51.100.1"; dst "198.51.100.2";
	upper_layer_protocol "udp"; policy_index p_trans; };
selector t_out { direction outbound; src "203.0.113.0/25"; dst "203.0.113.128/25";
	policy_index p_tun; };
selector rw_in { direction inbound; src IP_ANY; dst "203.0.113.0/24";
	policy_index p_rw; };
EOF

# ---- spmd: racoon2's options ----------------------------------------------
run "spmd -V prints the version" 0 "$SPMD" -V && shape "spmd -V prints the version" '^spmd .*[0-9]'
run "spmd with an unknown option fails with usage" 2 "$SPMD" -x &&
	shape "spmd with an unknown option fails with usage" '^usage: spmd'
run "spmd -D without a number fails" 2 "$SPMD" -D x
ip netns exec "$NS" "$SPMD" -F -D 1 -f "$CONF" -p "$W/spmd.pid" >"$W/spmd.log" 2>&1 &
SPMD_PID=$!
for _ in $(seq 50); do
	ip netns exec "$NS" "$SPMDCTL" -f "$CONF" status >/dev/null 2>&1 && break
	sleep 0.1
done

# ---- spmdctl: racoon2's commands --------------------------------------------
run "spmdctl -f CONF status (socket and password from the file)" 0 "$SPMDCTL" -f "$CONF" status &&
	shape "spmdctl -f CONF status (socket and password from the file)" '^static_policies +2$'
run "spmdctl without the password is refused" 1 "$SPMDCTL" -s "$SOCK" status
run "spmdctl -f CONF policy show" 0 "$SPMDCTL" -f "$CONF" policy show &&
	shape "policy show: racoon2 layout, first line" '^198\.51\.100\.1/32\[any\] 198\.51\.100\.2/32\[any\] udp$'
shape "policy show: direction and action" $'^\tout ipsec$'
shape "policy show: transport line" $'^\tesp transport require$'
shape "policy show: tunnel line" $'^\tesp tunnel 198\\.51\\.100\\.1-198\\.51\\.100\\.2 require$'
shape "policy show: created/lastused" $'^\tcreated: [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} [0-9]{4} lastused: '
shape "policy show: lifetime" $'^\tlifetime: [0-9]+\\(s\\) validtime: [0-9]+\\(s\\)$'
shape "policy show: selector and spid" $'^\tselector=s_out spid=[0-9]+$'
run "abbreviated words as racoon2 (pol sh)" 0 "$SPMDCTL" -f "$CONF" pol sh &&
	shape "abbreviated words as racoon2 (pol sh)" $'^\tselector=t_out spid='

run "policy add SELECTOR LIFETIME tunnel SP_SRC SP_DST SA_SRC SA_DST" 0 \
	"$SPMDCTL" -f "$CONF" policy add rw_in 600 tunnel 198.51.100.77 203.0.113.0 198.51.100.77 198.51.100.1 &&
	{ [ -z "$OUT" ] && pass "policy add is silent on success (racoon2)" ||
		fail "policy add is silent on success (racoon2)" "$OUT"; }
n=$(ip -n "$NS" xfrm policy list | grep -c 198.51.100.77)
[ "$n" -ge 2 ] && pass "policy add installed the policies ($n)" ||
	fail "policy add installed the policies" "$(ip -n "$NS" xfrm policy list)"
run "policy show lists the added policy" 0 "$SPMDCTL" -f "$CONF" policy show &&
	shape "policy show lists the added policy" $'^\tselector=rw_in spid='
run "policy delete SELECTOR" 0 "$SPMDCTL" -f "$CONF" policy delete rw_in
n=$(ip -n "$NS" xfrm policy list | grep -c 198.51.100.77)
[ "$n" = 0 ] && pass "policy delete removed them" || fail "policy delete removed them"
run "policy add with an unknown selector fails" 1 \
	"$SPMDCTL" -f "$CONF" policy add nosuch 600 transport 198.51.100.1 198.51.100.2 &&
	shape "policy add failure: racoon2's message" '^Policy operation failed: '
run "policy add transport needs 2 addresses" 2 "$SPMDCTL" -f "$CONF" policy add s_out 600 transport 198.51.100.1
run "policy add tunnel needs 4 addresses" 2 "$SPMDCTL" -f "$CONF" policy add s_out 600 tunnel 198.51.100.1 198.51.100.2

run "migrate SELECTOR SRC0 DST0 SRC DST" 0 \
	"$SPMDCTL" -f "$CONF" migrate t_out 198.51.100.1 198.51.100.2 198.51.100.1 198.51.100.3
ip -n "$NS" xfrm policy list | grep -q "tmpl src 198.51.100.1 dst 198.51.100.3" &&
	pass "migrate moved the tunnel endpoints" ||
	fail "migrate moved the tunnel endpoints" "$(ip -n "$NS" xfrm policy list)"
run "migrate with a wrong argument count is a usage error" 2 "$SPMDCTL" -f "$CONF" migrate t_out 198.51.100.1

run "ns list (nameservers of the configuration)" 0 "$SPMDCTL" -f "$CONF" ns list &&
	shape "ns list: one address a line" '^198\.51\.100\.53$'
[ "$(head -1 <<<"$OUT")" = 198.51.100.53 ] && [ "$(sed -n 2p <<<"$OUT")" = 2001:db8:1::53 ] &&
	pass "ns list: in configuration order, the one in use first" ||
	fail "ns list: in configuration order" "$OUT"
run "ns add ADDRESS" 0 "$SPMDCTL" -f "$CONF" ns add 198.51.100.54
run "ns list after add" 0 "$SPMDCTL" -f "$CONF" ns list
[ "$(head -1 <<<"$OUT")" = 198.51.100.54 ] && [ "$(wc -l <<<"$OUT")" = 3 ] &&
	pass "ns add: the new nameserver is listed first (in use)" ||
	fail "ns add: the new nameserver is listed first" "$OUT"
run "ns delete ADDRESS" 0 "$SPMDCTL" -f "$CONF" ns delete 2001:db8:1::53
run "ns list after delete" 0 "$SPMDCTL" -f "$CONF" ns list
[ "$OUT" = $'198.51.100.54\n198.51.100.53' ] && pass "ns delete: removed from the list" ||
	fail "ns delete: removed from the list" "$OUT"
run "ns delete of an unlisted address fails" 1 "$SPMDCTL" -f "$CONF" ns delete 198.51.100.99
run "ns add of a non-address is a usage error" 2 "$SPMDCTL" -f "$CONF" ns add not-an-address

run "spmdctl -d shows the exchanged lines" 0 "$SPMDCTL" -f "$CONF" -d status &&
	shape "spmdctl -d: [MSG   TO SPMD]" '^\[MSG   TO SPMD\] STATUS$'
shape "spmdctl -d: [MSG FROM SPMD]" '^\[MSG FROM SPMD\] 250 '
run "spmdctl with an unknown option fails with usage" 2 "$SPMDCTL" -x status &&
	shape "spmdctl with an unknown option fails with usage" '^usage: spmdctl'
run "spmdctl with an unknown command fails" 2 "$SPMDCTL" -f "$CONF" frobnicate
run "spmdctl -f on a missing file fails" 2 "$SPMDCTL" -f "$W/nonexistent.conf" status

# ---- iked: racoon2's options that do not clash with earlier ones ---------------
if [ -x "$IKED" ]; then
	run "iked -V prints the version" 0 "$IKED" -V &&
		shape "iked -V prints the version" '^racoon2 iked version [0-9]'
	run "iked with an unknown option fails with usage" 2 "$IKED" -x &&
		shape "iked with an unknown option fails with usage" '^usage: iked'
	run "iked -D without a number fails" 2 "$IKED" -D x
	run "iked -f CONF -D 1 -v (check only)" 0 "$IKED" --check -D 1 -v -f "$CONF"
	run "iked --config-file CONF (check only)" 0 "$IKED" --check --config-file "$CONF"
	run "iked -l LOGFILE: messages go to the file" 1 "$IKED" --check -l "$W/iked.log" -f "$W/nonexistent.conf"
	grep -q "nonexistent.conf" "$W/iked.log" 2>/dev/null && [ -z "$OUT" ] &&
		pass "iked -l LOGFILE: the file has the message, not the terminal" ||
		fail "iked -l LOGFILE: the file has the message" "$OUT"
fi

# ---- iked: racoon2's -p -t -4 -6 -I -S -P ----------------------------------------
# the configuration without ports, so that -p and -t apply
sed -e 's/ike { 198.51.100.1 port 500; };//' -e 's/peers_ipaddr "198.51.100.2" port 500;/peers_ipaddr "198.51.100.2";/' \
	"$CONF" >"$W/noport.conf"
# iked_run NAME SECONDS ARGS...: iked in the foreground for SECONDS (stopped
# by timeout: 124), its UDP sockets in $SOCKS
iked_run() {
	local name=$1 t=$2
	shift 2
	ip netns exec "$NS" timeout "$t" "$IKED" -F -d -n --ctl-socket "$W/cli-iked.sock" "$@" \
		>"$W/cli-iked.log" 2>&1 &
	local pid=$!
	sleep 1.5
	SOCKS=$(ip netns exec "$NS" ss -uanpH | grep '"iked"' | awk '{ print $4 }' | sort | tr '\n' ' ')
	wait "$pid"
	RC=$?
	[ "$RC" = 124 ] || fail "$name: iked ran (exit $RC)" "$(tail -5 "$W/cli-iked.log")"
}
pcap_ike() { # FILE: "dst srcport dstport exchtype" per IKE message
	tshark -r "$1" -d udp.port==5000,isakmp -d udp.port==4501,isakmp \
		-T fields -e ip.dst -e udp.srcport -e udp.dstport -e isakmp.exchangetype 2>/dev/null
}
if [ -x "$IKED" ]; then
	iked_run "iked -4 -p 5000" 3 -f "$W/noport.conf" -4 -p 5000
	grep -q '0.0.0.0:5000 ' <<<"$SOCKS" && ! grep -q '\]:' <<<"$SOCKS" &&
		pass "iked -4 -p 5000: IKE on 0.0.0.0:5000 (and NAT-T), no IPv6 socket" ||
		fail "iked -4 -p 5000: sockets '$SOCKS'" "$(tail -5 "$W/cli-iked.log")"
	iked_run "iked -6 --port 5000" 3 -f "$W/noport.conf" -6 --port 5000
	grep -q '\[::\]:5000 ' <<<"$SOCKS" && ! grep -q '0\.0\.0\.0:' <<<"$SOCKS" &&
		pass "iked -6 --port 5000: IKE on [::]:5000, no IPv4 socket" ||
		fail "iked -6 --port 5000: sockets '$SOCKS'" "$(tail -5 "$W/cli-iked.log")"
	if command -v tshark >/dev/null; then
		iked_run "iked -I -t -P" 3 -f "$W/noport.conf" -4 -p 5000 -t 4501 -I 198.51.100.2 -P "$W/ike.pcap"
		out=$(pcap_ike "$W/ike.pcap")
		[ "$(stat -c %a "$W/ike.pcap" 2>/dev/null)" = 600 ] &&
			grep -qE '^198\.51\.100\.2\s+5000\s+4501\s+34$' <<<"$out" &&
			pass "iked -I 198.51.100.2 -t 4501 -P FILE: IKE_SA_INIT 5000 -> 198.51.100.2:4501 in the pcap file (0600)" ||
			fail "iked -I -t -P: pcap '$out'" "$(tail -5 "$W/cli-iked.log")"
		n1=$(grep -c . <<<"$out")
		iked_run "iked -S SELECTOR -P +FILE" 3 -f "$W/noport.conf" -4 -p 5000 -t 4501 -S t_out -P "+$W/ike.pcap"
		out=$(pcap_ike "$W/ike.pcap")
		[ "$(grep -c . <<<"$out")" -gt "$n1" ] && grep -q 'initiating to r_ike (-S t_out)' "$W/cli-iked.log" &&
			pass "iked -S t_out -P +FILE: initiates the selector's policy, the pcap file is appended to" ||
			fail "iked -S -P +FILE: pcap '$out'" "$(tail -5 "$W/cli-iked.log")"
	else
		echo "SKIP: iked -P checks (tshark not installed)"
	fi
	run "iked -4 -6 fails" 2 "$IKED" -4 -6 -f "$CONF" && shape "iked -4 -6 fails" 'exclusive'
	run "iked -p without a port number fails" 2 "$IKED" -p x -f "$CONF" &&
		shape "iked -p without a port number fails" 'port number expected'
	run "iked's former -t (check) now fails rather than running" 2 "$IKED" -t -f "$CONF" &&
		shape "iked's former -t (check) now fails rather than running" 'port number expected'
	run "iked with an extra argument fails with usage" 2 "$IKED" --check -f "$CONF" extra
	# racoon2's iked takes no host name in peers_ipaddr (doc/USAGE):
	# refused rather than matching any peer
	sed 's/peers_ipaddr "198.51.100.2"/peers_ipaddr peer.example.test/' "$CONF" >"$W/name.conf"
	run "iked refuses a host name in peers_ipaddr" 1 "$IKED" --check -f "$W/name.conf" &&
		shape "iked refuses a host name in peers_ipaddr" 'peer.example.test is a host name'
fi

# ---- kinkd: racoon2's -D -V -h ------------------------------------------------
if [ -x "$KINKD" ]; then
	printf 'remote r_kink { acceptable_kmp { kink; };\n\tkink { my_principal "host/a.example"; peers_principal "host/b.example"; }; };\n' \
		>"$W/kink.conf"
	run "kinkd -V prints the version" 0 "$KINKD" -V && shape "kinkd -V prints the version" '^kinkd racoon2-[0-9]'
	run "kinkd -D all -t -f CONF checks with debugging" 0 "$KINKD" -D all -t -f "$W/kink.conf"
	run "kinkd -D with an unknown level fails" 2 "$KINKD" -D bogus && shape "kinkd -D with an unknown level fails" '^usage: kinkd'
	run "kinkd with an unknown option fails with usage" 2 "$KINKD" -x && shape "kinkd with an unknown option fails with usage" '^usage: kinkd'
fi

# ---- interface { kernel_socket PATH; } names r2espd's socket ------------------
printf 'interface {\n\tspmd { unix "%s"; };\n\tkernel userspace;\n\tkernel_socket "%s";\n};\n' \
	"$W/ks.spmif" "$W/no-r2espd.sock" >"$W/ks.conf"
run "kernel_socket: spmd connects to the configured r2espd socket" 1 \
	timeout 10 "$SPMD" -F -f "$W/ks.conf" -p "$W/ks.pid" &&
	shape "kernel_socket: spmd connects to the configured r2espd socket" "r2espd at $W/no-r2espd.sock"
run "kernel_socket: RACOON2_ESPD_SOCKET overrides it" 1 \
	env RACOON2_ESPD_SOCKET="$W/env.sock" timeout 10 "$SPMD" -F -f "$W/ks.conf" -p "$W/ks.pid" &&
	shape "kernel_socket: RACOON2_ESPD_SOCKET overrides it" "r2espd at $W/env.sock"

if [ -x "$IKED" ]; then
	# iked keeps running without its data plane: stopped by timeout (124)
	run "kernel_socket: iked connects to the configured r2espd socket" 124 \
		timeout 3 "$IKED" -F -n --ctl-socket "$W/ks-iked.sock" -f "$W/ks.conf" &&
		shape "kernel_socket: iked connects to the configured r2espd socket" "r2espd at $W/no-r2espd.sock"
fi

# ---- spmd -k: stop the running spmd -------------------------------------------
run "spmd -k stops the running spmd" 0 "$SPMD" -k -p "$W/spmd.pid"
for _ in $(seq 50); do kill -0 "$SPMD_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SPMD_PID" 2>/dev/null; then
	fail "spmd -k: spmd exited"
else
	pass "spmd -k: spmd exited"
	SPMD_PID=
fi

[ "$FAILS" = 0 ] || { echo "racoon2_cli: $FAILS failure(s)"; tail -20 "$W/spmd.log"; exit 1; }
exit 0
