#!/bin/bash
# esp_policies.sh - benchmark (not a test), issue 14: does r2espd forward
# as fast with 10,000 tunnels installed as with one?  Two pairs of
# namespaces side by side, each pair two r2espd -u with static AES-GCM-128
# SAs (ESP, protocol 50) between 198.51.100.1 and .2:
#   small: one tunnel, 203.0.113.1 <-> 203.0.113.2 (a policy pair, an SA
#          pair);
#   large: 9,999 other tunnels first (host-pair selectors 203.0.113.S <->
#          203.0.113.D, S in 10..109, D in 120..219: the same selector
#          shape as the measured flow, so they share its hash index), then
#          the measured one last: 10,000 outbound + 10,000 inbound
#          policies and 10,000 SA pairs (20,000 SAs, each its own reqid)
#          in each r2espd, installed through `r2espctl batch`.
# One TCP stream (iperf3) from 203.0.113.1 to .2 through each pair in
# turn, ROUNDS times interleaved; prints Mbit/s (mean, min..max), the CPU
# time of the sending and receiving r2espd per ESP packet (as in
# bench/esp_throughput.sh), the ratio large/small, the installation time
# and the load average.
#
# usage: bench/esp_policies.sh [BUILD_DIR] [SECONDS] [ROUNDS] [TUNNELS]
#        (root; namespaces r2sp-PID-*, removed on exit)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$TOP/build}" && pwd)
SECS=${2:-5}
ROUNDS=${3:-3}
N=${4:-10000}
BIN=$BUILD/src/kernel/userspace
[ -x "$BIN/r2espd" ] || { echo "no r2espd in $BIN" >&2; exit 1; }
[ "$N" -ge 1 ] && [ "$N" -le 10000 ] || { echo "TUNNELS: 1..10000" >&2; exit 1; }

. "$TOP/tests/lib/netns.sh"
netns_init r2sp esp_policies
need_cmd iperf3 python3

K=000102030405060708090a0b0c0d0e0f10111213
# throw-away keys in throw-away namespaces: static AEAD allowed
ctl() { local h=$1; shift; ns_exec "$h" "$BIN/r2espctl" -s "$TEST_DIR/$h.sock" --force-static-aead "$@" 2> >(grep -v 'force-static-aead' >&2); }

# batch FILE FIRST COUNT SIDE: tunnels FIRST.. (index i: 203.0.113.S <->
# 203.0.113.D as above; index -1: the measured .1 <-> .2), as host SIDE
# (a: the .1 end) sees them
gen() {
	python3 - "$@" <<'EOF'
import sys
out, first, count, side, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(out, "w") as f:
    for i in range(first, first + count):
        if i < 0:
            s, d, spi, reqid = "203.0.113.1", "203.0.113.2", 0x1000, 1
        else:
            s, d = "203.0.113.%d" % (10 + i // 100), "203.0.113.%d" % (120 + i % 100)
            spi, reqid = 0x10000 + 2 * i, 100 + i
        for a, b, x in (("198.51.100.1", "198.51.100.2", spi), ("198.51.100.2", "198.51.100.1", spi + 1)):
            f.write("sa add src %s dst %s spi %#x reqid %d enc aes-gcm-128 key %s\n" % (a, b, x, reqid, key))
        me, pe, tme, tpe = (s, d, "198.51.100.1", "198.51.100.2") if side == "a" else \
            (d, s, "198.51.100.2", "198.51.100.1")
        f.write("pol add dir out src %s dst %s tsrc %s tdst %s reqid %d\n" % (me, pe, tme, tpe, reqid))
        f.write("pol add dir in src %s dst %s tsrc %s tdst %s reqid %d\n" % (pe, me, tpe, tme, reqid))
EOF
}

for p in s l; do
	ns_add ${p}a && ns_add ${p}b && ns_link ${p}a va ${p}b vb || exit 1
	ns_addr ${p}a va 198.51.100.1/24 && ns_addr ${p}b vb 198.51.100.2/24 &&
		ns_addr ${p}a lo 203.0.113.1/32 && ns_addr ${p}b lo 203.0.113.2/32 || exit 1
	for h in a b; do
		start_bg espd-$p$h ip netns exec "$(ns $p$h)" "$BIN/r2espd" -u -s "$TEST_DIR/$p$h.sock"
	done
done
wait_for "[ -S $TEST_DIR/sa.sock ] && [ -S $TEST_DIR/sb.sock ] && [ -S $TEST_DIR/la.sock ] && [ -S $TEST_DIR/lb.sock ]" 5 ||
	{ echo "r2espd did not start" >&2; exit 1; }
for h in a b; do
	gen "$TEST_DIR/one-$h" -1 1 $h "$K"
	gen "$TEST_DIR/many-$h" 0 $((N - 1)) $h "$K"
	ctl s$h batch "$TEST_DIR/one-$h" >/dev/null 2>&1 || { echo "small setup failed" >&2; exit 1; }
done
t0=$(date +%s.%N)
ctl la batch "$TEST_DIR/many-a" >/dev/null 2>&1 &
p1=$!
ctl lb batch "$TEST_DIR/many-b" >/dev/null 2>&1 &
p2=$!
wait $p1 && wait $p2 || { echo "large setup failed" >&2; exit 1; }
t1=$(date +%s.%N)
for h in a b; do
	ctl l$h batch "$TEST_DIR/one-$h" >/dev/null 2>&1 || { echo "large setup failed" >&2; exit 1; }
done
# (every batch line succeeded: r2espctl stops at the first failure)
echo "large: $N tunnels per r2espd ($((2 * N)) policies, $((2 * N)) SAs), $((N - 1)) of them installed in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (both hosts at once, r2espctl batch)"

ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
counter() { ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }

# run PAIR: Mbit/s and ns per ESP packet of the sender and the receiver
run() {
	local p=$1 pid out pa pb ta tb na nb
	pa=$(bg_pid espd-${p}a) pb=$(bg_pid espd-${p}b)
	ns_exec ${p}b iperf3 -s -1 -B 203.0.113.2 >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	ta=$(ticks "$pa") tb=$(ticks "$pb") na=$(counter ${p}a esp_tx) nb=$(counter ${p}b esp_rx)
	out=$(ns_exec ${p}a iperf3 -c 203.0.113.2 -B 203.0.113.1 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys
try:
    print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)')
	awk -v hz="$(getconf CLK_TCK)" -v ta="$ta" -v tb="$tb" -v na="$na" -v nb="$nb" \
		-v ta1="$(ticks "$pa")" -v tb1="$(ticks "$pb")" \
		-v na1="$(counter ${p}a esp_tx)" -v nb1="$(counter ${p}b esp_rx)" -v mb="${out:-0}" 'BEGIN {
		pa = na1 - na; pb = nb1 - nb
		printf "%s %.0f %.0f\n", mb, pa ? (ta1 - ta) / hz * 1e9 / pa : 0,
			pb ? (tb1 - tb) / hz * 1e9 / pb : 0 }'
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

: >"$TEST_DIR/s" && : >"$TEST_DIR/l"
for r in $(seq "$ROUNDS"); do
	for p in s l; do
		run $p >>"$TEST_DIR/$p"
		echo "# round $r $p: $(tail -1 "$TEST_DIR/$p") (Mbit/s, ns/pkt A, ns/pkt B; load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	done
done
for p in s l; do
	[ "$(awk '$1 > 0' "$TEST_DIR/$p" | wc -l)" = "$ROUNDS" ] ||
		{ echo "a run through the ${p} pair carried nothing" >&2; exit 1; }
done
summ() {
	awk '{ s += $1; a += $2; b += $3; if (!n || $1 < mn) mn = $1; if ($1 > mx) mx = $1; n++ }
		END { printf "%.0f Mbit/s (%d..%d), sender %.0f ns/pkt, receiver %.0f ns/pkt", s / n, mn, mx, a / n, b / n }' "$1"
}
echo "1 tunnel:        $(summ "$TEST_DIR/s")"
echo "$N tunnels:  $(summ "$TEST_DIR/l")"
awk -v n="$N" 'NR == FNR { s += $1; sa += $2; sb += $3; next } { l += $1; la += $2; lb += $3 }
	END { printf "ratio %d/1 tunnels: throughput %.2f, sender CPU per packet %.2f, receiver %.2f\n",
		n, l / s, la / sa, lb / sb }' "$TEST_DIR/s" "$TEST_DIR/l"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs, $(uname -r))"
exit 0
