#!/bin/bash
# esp_static.sh - userspace ESP data plane (r2espd) between two namespaced
# hosts with static SAs and policies installed through the "userspace"
# kernel ops table (r2espctl).  Checks: ping and a TCP transfer through the
# tunnel for every inner/outer family combination (IPv4-in-IPv4 over IP
# proto 50, IPv6-in-IPv6 over UDP 4500, IPv6-in-IPv4, IPv4-in-IPv6), routes
# installed and removed by r2espd itself, a replayed and a tampered ESP
# packet dropped and counted, an ACQUIRE raised for traffic without SA.
# Static AEAD keys (issue 9, defect 8: nonce reuse after a restart) are
# refused by r2espctl and by r2espd unless --force-static-aead is given.
#
# usage: esp_static.sh [BUILD_DIR]     (needs root; namespaces r2e-$$-*)
set -u
BUILD=${1:-${R2_BUILD:-$(dirname "$0")/../../build}}
BIN=$(cd "$BUILD" && pwd)/src/kernel/userspace
ESPD=$BIN/r2espd
CTL=$BIN/r2espctl
[ -x "$ESPD" ] || BIN=$(cd "$BUILD" && pwd)/tests/unit/esp
ESPD=$BIN/r2espd
CTL=$BIN/r2espctl
A=r2e-$$-a
B=r2e-$$-b
DIR=$(mktemp -d /tmp/r2e-$$.XXXX)
fails=0

cleanup() {
	for p in "$DIR"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	sleep 0.2
	# whatever still runs in our namespaces was started here
	for n in "$A" "$B"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { local n=$1; shift; if "$@" >>"$DIR/log" 2>&1; then pass "$n"; else fail "$n"; fi; }

inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }
ctlA() { inA "$CTL" -s "$DIR/a.sock" "$@"; }
ctlB() { inB "$CTL" -s "$DIR/b.sock" "$@"; }
# test keys, used once: AEAD ones need the flag
FORCE=--force-static-aead

ip netns add "$A" && ip netns add "$B" || { echo "FAIL: netns"; exit 1; }
ip link add r2e$$a type veth peer name r2e$$b
ip link set r2e$$a netns "$A" name vA
ip link set r2e$$b netns "$B" name vB
for h in A B; do
	ns=$A; [ $h = B ] && ns=$B
	ip -n "$ns" link set lo up
	ip -n "$ns" link set v$h up
done
ip -n "$A" addr add 198.51.100.1/24 dev vA
ip -n "$B" addr add 198.51.100.2/24 dev vB
ip -n "$A" addr add 2001:db8:1::1/64 dev vA nodad
ip -n "$B" addr add 2001:db8:1::2/64 dev vB nodad
# protected "subnets" (one host address each per test case)
ip -n "$A" addr add 203.0.113.1/32 dev lo
ip -n "$B" addr add 203.0.113.2/32 dev lo
ip -n "$A" addr add 203.0.113.11/32 dev lo
ip -n "$B" addr add 203.0.113.12/32 dev lo
ip -n "$A" addr add 2001:db8:a::1/128 dev lo
ip -n "$B" addr add 2001:db8:b::1/128 dev lo
ip -n "$A" addr add 2001:db8:a::2/128 dev lo
ip -n "$B" addr add 2001:db8:b::2/128 dev lo

# not through inA/inB: a backgrounded shell function is a subshell, and
# $! would be its pid, not r2espd's (ip netns exec execs in place)
ip netns exec "$A" "$ESPD" -u -s "$DIR/a.sock" -i r2tun0 >"$DIR/espd-a.log" 2>&1 &
echo $! >"$DIR/a.pid"
ip netns exec "$B" "$ESPD" -u -s "$DIR/b.sock" -i r2tun0 >"$DIR/espd-b.log" 2>&1 &
echo $! >"$DIR/b.pid"
for i in $(seq 50); do
	[ -S "$DIR/a.sock" ] && [ -S "$DIR/b.sock" ] && break
	sleep 0.1
done
check "r2espd started in both hosts" test -S "$DIR/a.sock" -a -S "$DIR/b.sock"

K1=000102030405060708090a0b0c0d0e0f10111213
K2=101112131415161718191a1b1c1d1e1f20212223
K3=000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0fcafebabe
K4=0f0e0d0c0b0a09080706050403020100
A4=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

# Static AEAD keys are refused without --force-static-aead: by the tool,
# with the nonce-reuse warning, and by r2espd itself for a client that
# marks the key static (a raw SA_ADD with ESPM_F_STATIC_KEY, esp_msg.h).
out=$(ctlA sa add src 198.51.100.1 dst 198.51.100.2 spi 0x9000 enc aes-gcm-128 key $K1 2>&1)
rc=$?
check "static AES-GCM key refused by r2espctl without --force-static-aead" \
	eval '[ $rc -ne 0 ] && grep -q "nonce" <<<"$out"'
out=$(ctlA sa add src 198.51.100.1 dst 198.51.100.2 spi 0x9001 enc chacha20-poly1305 key $K3 2>&1)
rc=$?
check "static ChaCha20-Poly1305 key refused by r2espctl" \
	eval '[ $rc -ne 0 ] && grep -q "force-static-aead" <<<"$out"'
cat >"$DIR/sa_add.py" <<'EOF'
# One raw ESPM_SA_ADD (AES-GCM-128, SPI argv[3]) with header flags argv[2];
# prints the reply status.
import socket, struct, sys
def kaddr(a):
    return struct.pack(">B", 2) + socket.inet_aton(a) + bytes(12)
body = struct.pack(">BI", 50, int(sys.argv[3], 0)) + kaddr("198.51.100.1") + \
    kaddr("198.51.100.2") + struct.pack(">BI", 1, 0) + bytes(4) + \
    bytes(17) * 2 + bytes(12) + struct.pack(">HHHHH", 20, 128, 0, 0, 20) + \
    bytes(range(20)) + struct.pack(">HBIBHH", 0, 0, 64, 0, 0, 0) + \
    bytes(17) + bytes(64) + b"\0"
hdr = struct.pack(">HHIi", 3, int(sys.argv[2], 0), 7, 0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(hdr + body)
r = s.recv(8192)
print(struct.unpack(">HHIi", r[:12])[3])
EOF
check "r2espd refuses a static AEAD key without the force flag (EPERM)" \
	test "$(inA python3 "$DIR/sa_add.py" "$DIR/a.sock" 2 0x9002)" = -1
check "r2espd takes a forced static AEAD key" \
	test "$(inA python3 "$DIR/sa_add.py" "$DIR/a.sock" 6 0x9003)" = 0
check "r2espd logs the nonce-reuse warning for a forced one" \
	grep -q "static AEAD key forced" "$DIR/espd-a.log"
check "r2espd takes a key a KMP negotiated (no static flag)" \
	test "$(inA python3 "$DIR/sa_add.py" "$DIR/a.sock" 0 0x9004)" = 0
ctlA sa del dst 198.51.100.2 spi 0x9003 && ctlA sa del dst 198.51.100.2 spi 0x9004

# pair NAME LEFT-IN RIGHT-IN LEFT-OUT RIGHT-OUT SPI-BASE ALG-ARGS...
pair() {
	local li=$1 ri=$2 lo=$3 ro=$4 spi=$5; shift 5
	local p1=$(( spi )) p2=$(( spi + 1 ))
	# one reqid per pair, as iked does: several pairs share endpoints
	local r="reqid $p1"
	ctlA sa add src "$lo" dst "$ro" spi $p1 $r "$@" || return 1
	ctlB sa add src "$lo" dst "$ro" spi $p1 $r "$@" || return 1
	ctlA sa add src "$ro" dst "$lo" spi $p2 $r "$@" || return 1
	ctlB sa add src "$ro" dst "$lo" spi $p2 $r "$@" || return 1
	ctlA pol add dir out src "$li" dst "$ri" tsrc "$lo" tdst "$ro" $r >/dev/null || return 1
	ctlA pol add dir in src "$ri" dst "$li" tsrc "$ro" tdst "$lo" $r >/dev/null || return 1
	ctlB pol add dir out src "$ri" dst "$li" tsrc "$ro" tdst "$lo" $r >/dev/null || return 1
	ctlB pol add dir in src "$li" dst "$ri" tsrc "$lo" tdst "$ro" $r >/dev/null || return 1
}

check "v4-in-v4 (proto 50, AES-GCM-128) SAs+policies" \
	pair 203.0.113.1 203.0.113.2 198.51.100.1 198.51.100.2 0x1000 \
	enc aes-gcm-128 key $K1 $FORCE
check "v6-in-v6 (UDP 4500, AES-GCM-128, ESN) SAs+policies" \
	pair 2001:db8:a::1 2001:db8:b::1 2001:db8:1::1 2001:db8:1::2 0x2000 \
	enc aes-gcm-128 key $K2 esn encap 4500 4500 $FORCE
check "v6-in-v4 (UDP 4500, ChaCha20-Poly1305) SAs+policies" \
	pair 2001:db8:a::2 2001:db8:b::2 198.51.100.1 198.51.100.2 0x3000 \
	enc chacha20-poly1305 key $K3 encap 4500 4500 $FORCE
check "v4-in-v6 (proto 50, AES-CBC + HMAC-SHA-256) SAs+policies" \
	pair 203.0.113.11 203.0.113.12 2001:db8:1::1 2001:db8:1::2 0x4000 \
	enc aes-cbc-128 key $K4 auth sha256 akey $A4

check "routes into r2tun0 installed by r2espd" \
	bash -c "ip -n $A route show dev r2tun0 | grep -q 203.0.113.2 &&
		 ip -n $A -6 route show dev r2tun0 | grep -q 2001:db8:b::1"

check "ping v4-in-v4" inA ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2
check "ping v6-in-v6" inA ping -6 -c 3 -i 0.2 -W 2 -I 2001:db8:a::1 2001:db8:b::1
check "ping v6-in-v4" inA ping -6 -c 3 -i 0.2 -W 2 -I 2001:db8:a::2 2001:db8:b::2
check "ping v4-in-v6" inA ping -c 3 -i 0.2 -W 2 -I 203.0.113.11 203.0.113.12
# each combination used its own SA pair (counted at the receiver)
for c in "2001:db8:1::2 0x2000" "198.51.100.2 0x3000" "2001:db8:1::2 0x4000"; do
	set -- $c
	check "traffic counted on SA $2" \
		bash -c "$(declare -f ctlB inB); CTL=$CTL DIR=$DIR B=$B;
			 ctlB sa query dst $1 spi $2 | grep -qv 'packets 0 '"
done

# TCP transfer (iperf3, 4 MB) over two combinations
inB iperf3 -s -D -1 -B 203.0.113.2 --pidfile "$DIR/iperf-b.pid" >/dev/null 2>&1
sleep 0.3
check "TCP 4 MB v4-in-v4" inA iperf3 -c 203.0.113.2 -B 203.0.113.1 -n 4M
inB iperf3 -s -D -1 -B 2001:db8:b::1 --pidfile "$DIR/iperf-b6.pid" >/dev/null 2>&1
sleep 0.3
check "TCP 4 MB v6-in-v6 (UDP-encapsulated)" inA iperf3 -c 2001:db8:b::1 -B 2001:db8:a::1 -n 4M

# Capture one ESP packet (SPI 0x1000, A->B) in B, then replay it and a
# tampered copy from A: both must be dropped and counted in B.
cat >"$DIR/cap.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.settimeout(5)
while True:
    d = s.recv(4096)
    ihl = (d[0] & 15) * 4
    if d[ihl:ihl + 4] == bytes.fromhex("00001000"):
        open(sys.argv[1], "wb").write(d[ihl:])
        break
EOF
cat >"$DIR/inject.py" <<'EOF'
import socket, sys
pkt = bytearray(open(sys.argv[1], "rb").read())
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.sendto(bytes(pkt), ("198.51.100.2", 0))       # replay
pkt[20] ^= 0x40                                  # tamper ciphertext
pkt[4:8] = (0x7fffffff).to_bytes(4, "big")       # fresh sequence number
s.sendto(bytes(pkt), ("198.51.100.2", 0))
EOF
inB python3 "$DIR/cap.py" "$DIR/esp.bin" &
cap=$!
# python may take a while to start on a loaded machine: ping until the
# capture has its packet (a replay of an older packet is still a replay)
for i in $(seq 20); do
	sleep 0.25
	inA ping -c 1 -W 1 -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1
	[ -s "$DIR/esp.bin" ] && break
done
wait $cap
rd() { echo "$1" | sed -n "s/.*$2 \([0-9]*\).*/\1/p"; }
before=$(ctlB sa query dst 198.51.100.2 spi 0x1000)
inA python3 "$DIR/inject.py" "$DIR/esp.bin"
for i in $(seq 20); do
	after=$(ctlB sa query dst 198.51.100.2 spi 0x1000)
	[ "$(rd "$after" integrity_drops)" != "$(rd "$before" integrity_drops)" ] && break
	sleep 0.1
done
echo "before: $before / after: $after" >>"$DIR/log"
check "replayed ESP packet dropped and counted" \
	test $(( $(rd "$after" replay_drops) - $(rd "$before" replay_drops) )) -eq 1
check "tampered ESP packet dropped and counted" \
	test $(( $(rd "$after" integrity_drops) - $(rd "$before" integrity_drops) )) -eq 1
check "tunnel still works after the attacks" \
	inA ping -c 2 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2

# ACQUIRE: a policy without SA queues the packet and raises an event
ip -n "$A" addr add 203.0.113.21/32 dev lo
ctlA events 3 >"$DIR/events" &
ev=$!
sleep 0.3
ctlA pol add dir out src 203.0.113.21 dst 203.0.113.22 tsrc 198.51.100.1 \
	tdst 198.51.100.2 reqid 99 >/dev/null
inA ping -c 1 -W 1 -I 203.0.113.21 203.0.113.22 >/dev/null 2>&1
wait $ev
check "ACQUIRE raised for traffic without SA" grep -q "ACQUIRE policy" "$DIR/events"

# Policy removal takes the route away; flush removes everything
ctlA pol del dir out src 203.0.113.1 dst 203.0.113.2
check "route removed with its policy" \
	bash -c "! ip -n $A route show dev r2tun0 | grep -q '203.0.113.2 '"
ctlA flush
check "flush removes all policies and routes" \
	bash -c "[ -z \"\$(ip -n $A route show dev r2tun0)\" ] &&
		 [ -z \"\$($CTL -s $DIR/a.sock pol show)\" ]"

if [ $fails -ne 0 ]; then
	echo "--- log"; tail -30 "$DIR/log"
	echo "--- espd A"; tail -20 "$DIR/espd-a.log"
	echo "--- espd B"; tail -20 "$DIR/espd-b.log"
	ctlA stats; ctlB stats
fi
exit $((fails != 0))
