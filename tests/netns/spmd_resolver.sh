#!/bin/bash
# run-by: meson (registered in src/spm/meson.build)
# spmd_resolver.sh - spmd's resolver (issue 13): with `resolver on;` the
# DNS proxy runs in a sandboxed child (user _racoon2, no capabilities)
# listening on dns_query and forwarding to the live nameserver list.
#   a selector whose dst is a host name is installed with the address
#   dnsmasq gives (through the child); spmif FQDN QUERY maps it back; a
#   client in spmd's namespace asks the proxy and gets dnsmasq's answer
#   (with its own DNS ID), and the answer fills the cache for a listed
#   name; `spmdctl ns delete` + `ns add` of a second dnsmasq changes
#   where answers come from live, and the policy follows; a dead first
#   nameserver fails over on timeout; malformed queries and forged or
#   malformed answers are dropped and spmd stays up; a killed child
#   leaves spmd and its policies up; with `resolver off` nothing listens
#   and no child runs.
#
# usage: spmd_resolver.sh [SPMD [SPMDCTL]]   (defaults: $R2_BUILD or build/)
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SPMD=${1:-${R2_BUILD:-$TOP/build}/src/spm/spmd}
SPMDCTL=${2:-${R2_BUILD:-$TOP/build}/src/spm/spmdctl}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: spmd_resolver (needs root for network namespaces)"
	exit 77
fi
if ! command -v dnsmasq >/dev/null; then
	echo "SKIP: spmd_resolver (dnsmasq not installed: scripts/deps.sh)"
	exit 77
fi

NS=r2r-$$-a
DNS=r2r-$$-b
W=$(mktemp -d /tmp/r2r-$$.XXXXXX)
SOCK=$W/spmif
FAILS=0
SPMD_PID=
DQ=198.51.100.53

cleanup() {
	[ -n "$SPMD_PID" ] && kill -9 "$SPMD_PID" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	sleep 0.2
	ip netns del "$NS" 2>/dev/null
	ip netns del "$DNS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	FAILS=$((FAILS + 1))
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'
}
ctl() { ip netns exec "$NS" "$SPMDCTL" -s "$SOCK" "$@"; }

ip netns add "$NS" && ip netns add "$DNS" || exit 1
ip link add r2r$$a netns "$NS" type veth peer name r2r$$b netns "$DNS"
ip -n "$NS" link set lo up
ip -n "$DNS" link set lo up
ip -n "$NS" addr add 203.0.113.1/24 dev r2r$$a
ip -n "$NS" addr add $DQ/32 dev lo
ip -n "$NS" link set r2r$$a up
ip -n "$DNS" addr add 203.0.113.2/24 dev r2r$$b
ip -n "$DNS" addr add 203.0.113.3/24 dev r2r$$b
ip -n "$DNS" addr add 203.0.113.4/24 dev r2r$$b
ip -n "$DNS" link set r2r$$b up

printf '198.51.100.11 host.example.test\n198.51.100.33 other.example.test\n' >"$W/hosts1"
printf '198.51.100.22 host.example.test\n198.51.100.33 other.example.test\n' >"$W/hosts2"
for i in 1 2; do
	ip netns exec "$DNS" dnsmasq --no-daemon --no-resolv --no-hosts \
		--conf-file=/dev/null --pid-file= --bind-interfaces \
		--addn-hosts="$W/hosts$i" --listen-address=203.0.113.$((i + 1)) \
		--port=53 --log-queries --log-facility=- \
		>"$W/dnsmasq$i.log" 2>&1 &
done

# DNS client: query NAME (type A) at ADDR:53 with a random ID; prints
# the first A record, or "timeout", or "badid" when the ID differs.
cat >"$W/q.py" <<'EOF'
import os, socket, struct, sys
addr, name = sys.argv[1], sys.argv[2]
qid = struct.unpack("!H", os.urandom(2))[0]
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]) if len(sys.argv) > 3 else 3)
s.sendto(q, (addr, 53))
try:
    a, _ = s.recvfrom(4096)
except socket.timeout:
    print("timeout"); sys.exit(0)
if struct.unpack("!H", a[:2])[0] != qid:
    print("badid"); sys.exit(0)
an = struct.unpack("!H", a[6:8])[0]
if an == 0:
    print("noanswer"); sys.exit(0)
# skip the question, then the first answer RR (compressed name, 2 bytes)
p = 12 + len(q) - 12
while p < len(a):
    t, c, ttl, rl = struct.unpack("!HHIH", a[p + 2:p + 12])
    if t == 1 and rl == 4:
        print(socket.inet_ntoa(a[p + 12:p + 16])); break
    p += 12 + rl
EOF
# raw datagram: send HEX to ADDR:PORT from SRC (optional)
cat >"$W/raw.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if len(sys.argv) > 4:
    s.bind((sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 0))
s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[1], int(sys.argv[2])))
EOF
q() { ip netns exec "$NS" python3 "$W/q.py" "$@"; }

write_conf() { # file on|off
	cat >"$1" <<EOF
interface { spmd { unix "$SOCK"; }; };
resolver {
	resolver $2;
	nameserver { 203.0.113.2; };
	dns_query { $DQ; };
};
policy p_drop { action discard; };
selector s_name { direction outbound; src 203.0.113.1; dst host.example.test;
	policy_index p_drop; };
EOF
}
# the destination of the installed policy for the named selector
pol_dst() { ip -n "$NS" xfrm policy list dir out | awk '/^src 203.0.113.1\/32 dst/ { sub(/\/32/, "", $4); print $4 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
wait_pol() { # want
	for _ in $(seq 60); do
		[ "$(pol_dst)" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
child_pid() { pgrep -P "$SPMD_PID" 2>/dev/null | head -1; }
start_spmd() {
	ip netns exec "$NS" "$SPMD" -F -d -f "$1" -p "$W/spmd.pid" \
		>>"$W/spmd.log" 2>&1 &
	SPMD_PID=$!
	for _ in $(seq 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}
stop_spmd() {
	kill "$SPMD_PID" 2>/dev/null
	wait "$SPMD_PID" 2>/dev/null
	SPMD_PID=
	rm -f "$SOCK"
}
alive() { kill -0 "$SPMD_PID" 2>/dev/null; }

# dnsmasq up?
for _ in $(seq 50); do
	r=$(ip netns exec "$NS" python3 "$W/q.py" 203.0.113.3 host.example.test 0.3)
	[ "$r" = 198.51.100.22 ] && break
done

# ---- resolver off: nothing listens ---------------------------------------
write_conf "$W/off.conf" off
if start_spmd "$W/off.conf"; then
	if ip netns exec "$NS" ss -uanH | grep -q ":53 " || [ -n "$(child_pid)" ]; then
		fail "resolver off: nothing listens, no child" "$(ip netns exec "$NS" ss -uanp)"
	else
		pass "resolver off: nothing listens, no child"
	fi
	r=$(ctl raw "FQDN LIST")
	case $r in 251*) pass "resolver off: FQDN LIST answers 251 (empty)" ;;
	*) fail "resolver off: FQDN LIST: '$r'" ;; esac
	stop_spmd
else
	fail "spmd starts (resolver off)" "$(tail "$W/spmd.log")"
fi

# ---- a proxy that cannot sandbox itself stops spmd at start -----------------
write_conf "$W/on.conf" on
if command -v setpriv >/dev/null; then
	out=$(ip netns exec "$NS" timeout 10 setpriv --bounding-set -all,+net_admin,+net_bind_service \
		--inh-caps -all -- "$SPMD" -F -f "$W/on.conf" -p "$W/spmd.pid" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && grep -q "DNS proxy process did not start" <<<"$out" && [ ! -S "$SOCK" ] &&
		pass "without CAP_SYS_CHROOT the proxy cannot sandbox itself: spmd refuses to start" ||
		fail "proxy sandbox failure at start (rc $rc)" "$out"
	rm -f "$SOCK"
fi

# ---- resolver on ----------------------------------------------------------
write_conf "$W/on.conf" on
if ! start_spmd "$W/on.conf"; then
	fail "spmd starts (resolver on)" "$(tail "$W/spmd.log")"
	exit 1
fi
# ---- the sandboxed child --------------------------------------------------
cp=$(child_pid)
if [ -n "$cp" ] && [ "$(awk '/^Uid:/ { print $2 }' /proc/"$cp"/status)" = "$(id -u _racoon2)" ] &&
	[ "$(awk '/^CapEff:/ { print $2 }' /proc/"$cp"/status)" = 0000000000000000 ] &&
	[ "$(awk '/^Seccomp:/ { print $2 }' /proc/"$cp"/status)" = 2 ] &&
	[ "$(awk '/^Uid:/ { print $2 }' /proc/"$SPMD_PID"/status)" = 0 ]; then
	pass "DNS proxy child $cp: user _racoon2, no capabilities, seccomp filter; spmd stays root"
else
	fail "DNS proxy child" "$(grep -E 'Uid|CapEff|Seccomp' /proc/"$cp"/status 2>&1)"
fi
if ip netns exec "$NS" ss -uanpH | grep ":53 " | grep -q "pid=$cp,"; then
	pass "the child, not spmd, holds the dns_query socket"
else
	fail "dns_query socket owner" "$(ip netns exec "$NS" ss -uanp)"
fi

# ---- a host name in the configuration resolves through the child ----------
if wait_pol 198.51.100.11; then
	pass "selector dst host.example.test installed as 198.51.100.11 (dnsmasq 1 via spmd's resolver)"
else
	fail "selector with a host name: policy dst '$(pol_dst)'" "$(tail "$W/spmd.log")"
fi
r=$(ctl raw "FQDN QUERY 198.51.100.11")
[ "$r" = "250 host.example.test" ] && pass "FQDN QUERY 198.51.100.11 -> host.example.test" ||
	fail "FQDN QUERY: '$r'"
r=$(ctl raw "FQDN LIST")
[ "$r" = "250 host.example.test" ] && pass "FQDN LIST holds the configuration's name" ||
	fail "FQDN LIST: '$r'"
r=$(ctl raw "FQDN QUERY 198.51.100.99")
case $r in 501*) pass "FQDN QUERY of an unknown address: 501 not cached" ;;
*) fail "FQDN QUERY unknown: '$r'" ;; esac

r=$(q $DQ host.example.test)
[ "$r" = 198.51.100.11 ] && pass "query through spmd's proxy answered from dnsmasq 1 (client's ID kept)" ||
	fail "query through spmd's proxy: got '$r'" "$(tail "$W/spmd.log" "$W/dnsmasq1.log")"
# an answer the proxy relays fills the cache of a listed name
ctl ns delete 203.0.113.2 >/dev/null   # spmd's own queries go nowhere now
ctl raw "FQDN ADD other.example.test" >/dev/null
sleep 0.3
r=$(ctl raw "FQDN QUERY 198.51.100.33")
case $r in 501*) ;; *) fail "other.example.test cached before any answer: '$r'" ;; esac
ctl ns add 203.0.113.2 >/dev/null
r=$(q $DQ other.example.test)
r2=$(ctl raw "FQDN QUERY 198.51.100.33")
[ "$r" = 198.51.100.33 ] && [ "$r2" = "250 other.example.test" ] &&
	pass "a relayed answer for a listed name fills the cache (FQDN QUERY 198.51.100.33)" ||
	fail "relayed answer: '$r' '$r2'" "$(tail "$W/spmd.log")"

# ---- ns delete + ns add change the upstream live ---------------------------
ctl ns delete 203.0.113.2 >/dev/null && ctl ns add 203.0.113.3 >/dev/null
l=$(ctl ns list)
[ "$l" = 203.0.113.3 ] && pass "spmdctl ns list shows the new nameserver" ||
	fail "spmdctl ns list: '$l'"
r=$(q $DQ host.example.test)
[ "$r" = 198.51.100.22 ] && pass "after ns delete/add answers come from dnsmasq 2" ||
	fail "after ns delete/add: got '$r'" "$(tail "$W/spmd.log")"
if wait_pol 198.51.100.22; then
	pass "after ns delete/add the selector's policy follows (dst 198.51.100.22)"
else
	fail "policy after ns change: dst '$(pol_dst)'" "$(tail "$W/spmd.log")"
fi

# ---- failover: a dead first nameserver -------------------------------------
ctl ns add 203.0.113.9 >/dev/null
r=$(q $DQ host.example.test 6)
[ "$r" = 198.51.100.22 ] && pass "dead first nameserver: fails over on timeout" ||
	fail "failover: got '$r'" "$(tail "$W/spmd.log")"
ctl ns delete 203.0.113.9 >/dev/null

# ---- malformed queries ----------------------------------------------------
raw() { ip netns exec "$NS" python3 "$W/raw.py" "$@"; }
raw $DQ 53 0001                                    # short header
raw $DQ 53 123401000001000000000000c00c00010001    # pointer in question
raw $DQ 53 123401000002000000000000000001000100000100 # qdcount 2
raw $DQ 53 123481000001000000000000000001000100   # QR set
raw $DQ 53 1234010000010000000000003f6161          # truncated label
sleep 0.3
if alive && grep -q "malformed DNS query" "$W/spmd.log"; then
	pass "malformed queries dropped with a log line, spmd up"
else
	fail "malformed queries" "$(tail "$W/spmd.log")"
fi

# ---- forged / malformed answers to spmd's upstream socket ------------------
up=$(ip netns exec "$NS" ss -uanpH | awk '/spmd/ && $4 ~ /^0\.0\.0\.0:/ { sub(/.*:/, "", $4); print $4; exit }')
if [ -n "$up" ]; then
	# from the nameserver's address but a wrong port, then garbage,
	# then a well-formed answer from an address never queried
	ip netns exec "$DNS" python3 "$W/raw.py" 203.0.113.1 "$up" \
		12348180000100010000000004686572650000010001c00c00010001000000010004c6336401 203.0.113.3 5353
	ip netns exec "$DNS" python3 "$W/raw.py" 203.0.113.1 "$up" ffff 203.0.113.3 5354
	# answer name pointing at itself (RFC 1035 4.1.4 loop), an A record
	# of 3 octets, an RR cut short
	for h in 12348180000100010000000004686572650000010001c01600010001000000010004c6336401 \
		12348180000100010000000004686572650000010001c00c00010001000000010003c63364 \
		12348180000100010000000004686572650000010001c00c000100010000; do
		ip netns exec "$DNS" python3 "$W/raw.py" 203.0.113.1 "$up" $h 203.0.113.2
	done
	ip netns exec "$DNS" python3 "$W/raw.py" 203.0.113.1 "$up" \
		12348180000100010000000004686572650000010001c00c00010001000000010004c6336401 203.0.113.4 53
	sleep 0.3
	if alive && [ "$(grep -c "malformed DNS answer" "$W/spmd.log")" -ge 4 ] &&
		[ "$(grep -c "unexpected DNS answer" "$W/spmd.log")" -ge 1 ]; then
		pass "forged and malformed answers dropped, spmd up"
	else
		fail "forged answers" "$(tail "$W/spmd.log")"
	fi
else
	fail "spmd's upstream socket not found" "$(ip netns exec "$NS" ss -uanp)"
fi
r=$(q $DQ host.example.test)
[ "$r" = 198.51.100.22 ] && pass "proxy still answers after the bad input" ||
	fail "proxy after bad input: got '$r'" "$(tail "$W/spmd.log")"

# malformed answers never reach spmd itself: the child dropped them
[ "$(pol_dst)" = 198.51.100.22 ] && pass "policy unchanged by the bad input" ||
	fail "policy after bad input: '$(pol_dst)'"

# ---- the child dies: spmd and its policies stay -----------------------------
cp=$(child_pid)
kill -9 "$cp" 2>/dev/null
sleep 0.5
if alive && grep -q "DNS proxy process $cp stopped" "$W/spmd.log" &&
	[ "$(pol_dst)" = 198.51.100.22 ] && ctl status >/dev/null; then
	pass "killed DNS proxy child: spmd logs it and keeps running with its policies"
else
	fail "child killed" "$(tail "$W/spmd.log")"
fi

stop_spmd
[ -z "$(pol_dst)" ] && pass "spmd removed the policy at exit" ||
	fail "policy left at exit: '$(pol_dst)'"
# a clean stop: the child logs its counters and exits with spmd
if start_spmd "$W/on.conf"; then
	cp=$(child_pid)
	q $DQ host.example.test >/dev/null
	stop_spmd
	sleep 0.2
	if grep -q "DNS proxy: .* forwarded" "$W/spmd.log" && ! kill -0 "$cp" 2>/dev/null; then
		pass "the child reports its counters and exits with spmd"
	else
		fail "child at exit" "$(tail "$W/spmd.log")"
	fi
fi

[ $FAILS = 0 ] || exit 1
exit 0
