#!/bin/bash
# esp_throughput.sh - throughput of one TCP stream through r2espd's
# userspace ESP tunnel between two network namespaces (static SAs,
# AES-GCM-128), over IP protocol 50 and over UDP 4500 (RFC 3948, the
# raw-socket tap described in src/kernel/userspace/espd.h), next to the
# plain veth and the `openssl speed -evp aes-128-gcm` bound of this
# machine.  Prints one line per figure and the ratios.
#
# usage: bench/esp_throughput.sh [BUILD_DIR] [SECONDS]   (root; r2eb-$$-*)
set -u
BUILD=${1:-$(dirname "$0")/../build-esp}
SECS=${2:-5}
BIN=$(cd "$BUILD" && pwd)/src/kernel/userspace
A=r2eb-$$-a
B=r2eb-$$-b
DIR=$(mktemp -d /tmp/r2eb-$$.XXXX)
cleanup() {
	for p in "$DIR"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	sleep 0.2
	ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }
ctlA() { inA "$BIN/r2espctl" -s "$DIR/a.sock" "$@"; }
ctlB() { inB "$BIN/r2espctl" -s "$DIR/b.sock" "$@"; }

ip netns add "$A"; ip netns add "$B"
ip link add r2eb$$a type veth peer name r2eb$$b
ip link set r2eb$$a netns "$A" name vA; ip link set r2eb$$b netns "$B" name vB
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" link set vA up; ip -n "$B" link set vB up
ip -n "$A" addr add 198.51.100.1/24 dev vA; ip -n "$B" addr add 198.51.100.2/24 dev vB
for i in 1 11; do
	ip -n "$A" addr add 203.0.113.$i/32 dev lo
	ip -n "$B" addr add 203.0.113.$((i + 1))/32 dev lo
done
inA "$BIN/r2espd" -u -s "$DIR/a.sock" >"$DIR/a.log" 2>&1 & echo $! >"$DIR/a.pid"
inB "$BIN/r2espd" -u -s "$DIR/b.sock" >"$DIR/b.log" 2>&1 & echo $! >"$DIR/b.pid"
for i in $(seq 50); do [ -S "$DIR/a.sock" ] && [ -S "$DIR/b.sock" ] && break; sleep 0.1; done

K=000102030405060708090a0b0c0d0e0f10111213
# tunnel LEFT RIGHT SPI REQID extra-args: 203.0.113.LEFT <-> .RIGHT
tunnel() {
	local l=203.0.113.$1 r=203.0.113.$2 s=$3 q="reqid $4"; shift 4
	for c in ctlA ctlB; do
		$c sa add src 198.51.100.1 dst 198.51.100.2 spi $s $q enc aes-gcm-128 key $K "$@"
		$c sa add src 198.51.100.2 dst 198.51.100.1 spi $((s + 1)) $q enc aes-gcm-128 key $K "$@"
	done
	ctlA pol add dir out src $l dst $r tsrc 198.51.100.1 tdst 198.51.100.2 $q >/dev/null
	ctlA pol add dir in src $r dst $l tsrc 198.51.100.2 tdst 198.51.100.1 $q >/dev/null
	ctlB pol add dir out src $r dst $l tsrc 198.51.100.2 tdst 198.51.100.1 $q >/dev/null
	ctlB pol add dir in src $l dst $r tsrc 198.51.100.1 tdst 198.51.100.2 $q >/dev/null
}
tunnel 1 2 0x1000 1
tunnel 11 12 0x2000 2 encap 4500 4500

iperf() { # DST SRC -> Mbit/s
	inB iperf3 -s -1 -B "$1" >/dev/null 2>&1 &
	sleep 0.3
	inA iperf3 -c "$1" -B "$2" -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"]/1e6))'
	wait
}
plain=$(iperf 198.51.100.2 198.51.100.1)
esp50=$(iperf 203.0.113.2 203.0.113.1)
espudp=$(iperf 203.0.113.12 203.0.113.11)
# openssl bound: AES-128-GCM on 1024-byte blocks, one core (kB/s -> Mbit/s)
ossl=$(openssl speed -evp aes-128-gcm -bytes 1024 -seconds 2 2>/dev/null |
	awk '/^AES-128-GCM|^aes-128-gcm/ { v=$NF; sub("k","",v); printf "%.0f", v*8/1000 }')
echo "veth TCP (no IPsec):                 $plain Mbit/s"
echo "r2espd ESP proto 50, AES-GCM-128:    $esp50 Mbit/s"
echo "r2espd ESP-in-UDP 4500, AES-GCM-128: $espudp Mbit/s"
echo "openssl speed -evp aes-128-gcm 1KiB: $ossl Mbit/s"
python3 - "$esp50" "$espudp" "$ossl" <<'PY'
import sys
e, u, o = map(float, sys.argv[1:])
print("ratio ESP/openssl bound: %.0f%%   UDP-encap/proto-50: %.0f%%" % (100*e/o, 100*u/e))
PY
ctlA stats | grep -E "^(esp_tx|tun_rx|send_fail|enc_fail) "
