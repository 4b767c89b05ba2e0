#!/bin/bash
# esp_throughput.sh - benchmark (not a test): throughput of one TCP stream
# and of 8 parallel streams (iperf3 -P 8) through an ESP tunnel between two
# network namespaces, r2espd's TUN MTU 1400 (its default; veth 1500), all
# in one run so the figures share the machine's load:
#   - plain veth, no IPsec (the ceiling of this machine's network path)
#   - r2espd, static SAs, AES-GCM-128, ESP over IP protocol 50
#   - r2espd, same, ESP-in-UDP 4500 (RFC 3948; r2espd -u owns UDP 4500:
#     UDP GSO sends and UDP GRO receives, src/kernel/userspace/espd.h),
#     and the same with the veth link's gso_max_segs 1, so that the
#     sender's kernel cuts each GSO run into datagrams (a NIC without
#     UDP segmentation offload) and the receiver reads them one by one
#   - r2espd + spmd + iked on both ends, an IKEv2 tunnel through a NAT
#     router (so iked negotiates UDP encapsulation, RFC 7296 §2.23), the
#     default deployment: iked owns UDP 4500 and hands r2espd the ESP
#     sockets beside its own (reuseport steering, espd.h), AES-GCM-128
#     (only when iked and spmd are built; BASE rows use BASE's iked/spmd
#     from BASE/../../ike and BASE/../../spm)
#   - r2espd -n (TUN offloads off: one packet per read/write), proto 50
#   - strongSwan charon + kernel-libipsec (two charons, PSK, IKEv2,
#     AES-GCM-128 CHILD SA; libipsec always uses UDP 4500)
#   - the `openssl speed -evp aes-128-gcm` bound (1 KiB blocks) on one
#     core and on all the cores the tunnel runs on (-multi NCPU): both
#     r2espd (sender and receiver) share these cores, and every byte is
#     encrypted once and decrypted once on them, so the bound of the
#     tunnel is the NCPU figure / 2 ("share" = Mbit/s / that bound)
# Each tunnel figure is the mean of ROUNDS interleaved iperf3 runs
# (min..max shown), then the ratios r2espd/libipsec and r2espd/openssl.
#
# Wall-clock throughput on a shared two-core machine is noisy, so each
# r2espd run also reports its cost per packet: CPU time (user + system,
# from /proc/PID/stat, so it includes the kernel work done in r2espd's
# syscalls and the softirqs they run) of the sending r2espd (A) divided by
# the ESP packets it sent, and of the receiving one (B) by those it
# received (A also handles the returning ACKs, B sends them); the same
# for user time alone ("user CPU per packet": r2espd's code and libcrypto,
# steadier under load than the total); B's offload counters at the end.
# BASE=/dir/with/r2espd+r2espctl adds the same runs with another build's
# binaries, interleaved round by round (before/after comparisons).
# PROFILE=DIR records the r2espd workers of each run with perf record -g
# into DIR/NAME.perf (perf report -i ...), and the run's ESP packet
# counts and worker PIDs into DIR/NAME.pkts; with PROFILE_ALL=1 the whole
# machine instead (perf record -a, cpu-clock: idle shows as swapper), for
# a CPU budget of every core (bench/cpu_budget.py).
# ONLY=REGEX runs only the rows whose names match (extended regex over
# veth, esp50, espudp, espudpsw, libipsec, iked, esp50n, blast, ossl and
# the base* rows; P8 suffix = 8 streams), e.g. ONLY='^(iked|ossl)'.
# blast: a UDP_SEGMENT sender (python, 40 datagrams of 1,300 octets per
# send, as fast as it can) through the UDP 4500 tunnel: with USO (Linux
# >= 6.2) r2espd reads each send whole; the receiver, one TUN write per
# datagram, is then the limit, so its Mbit/s say little: its A ns (the
# sender's r2espd per ESP packet) is the figure.
#
# usage: [BASE=DIR] bench/esp_throughput.sh [BUILD_DIR] [SECONDS] [ROUNDS]
#        (root; namespaces r2q-PID-*, removed on exit)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$TOP/build-espperf}" && pwd)
SECS=${2:-5}
ROUNDS=${3:-2}
NEW=$BUILD/src/kernel/userspace
BIN=$NEW
[ -x "$BIN/r2espd" ] || { echo "no r2espd in $BIN" >&2; exit 1; }
BASE=${BASE:-}
[ -z "$BASE" ] || [ -x "$BASE/r2espd" ] ||
	{ echo "no r2espd in BASE=$BASE" >&2; exit 1; }

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/charon.sh"
netns_init r2q esp_throughput
need_cmd iperf3 openssl python3

# r2espd hosts a/b; charon hosts ca/cb (charon needs UDP 500/4500, which
# r2espd -u binds for itself)
for h in a b ca cb; do ns_add $h; done
ns_link a va b vb
ns_link ca vca cb vcb
ns_addr a va 198.51.100.1/24; ns_addr b vb 198.51.100.2/24
ns_addr ca vca 198.51.100.1/24; ns_addr cb vcb 198.51.100.2/24
for i in 1 11; do
	ns_addr a lo 203.0.113.$i/32; ns_addr b lo 203.0.113.$((i + 1))/32
done
ns_addr ca lo 203.0.113.21/32; ns_addr cb lo 203.0.113.22/32

K=000102030405060708090a0b0c0d0e0f10111213
# static benchmark keys on throw-away namespaces: AEAD needs the flag
ctl() { local h=$1; shift; ns_exec "$h" "$BIN/r2espctl" -s "$TEST_DIR/$h.sock" --force-static-aead "$@"; }

# tunnel LEFT RIGHT SPI REQID extra-args: 203.0.113.LEFT <-> .RIGHT
tunnel() {
	local l=203.0.113.$1 r=203.0.113.$2 s=$3 q="reqid $4"; shift 4
	for h in a b; do
		ctl $h sa add src 198.51.100.1 dst 198.51.100.2 spi $s $q enc aes-gcm-128 key $K "$@"
		ctl $h sa add src 198.51.100.2 dst 198.51.100.1 spi $((s + 1)) $q enc aes-gcm-128 key $K "$@"
	done
	ctl a pol add dir out src $l dst $r tsrc 198.51.100.1 tdst 198.51.100.2 $q >/dev/null
	ctl a pol add dir in src $r dst $l tsrc 198.51.100.2 tdst 198.51.100.1 $q >/dev/null
	ctl b pol add dir out src $r dst $l tsrc 198.51.100.2 tdst 198.51.100.1 $q >/dev/null
	ctl b pol add dir in src $l dst $r tsrc 198.51.100.1 tdst 198.51.100.2 $q >/dev/null
}

# espd_up [r2espd options]: (re)start both r2espd (from $BIN) and their
# tunnels
espd_up() {
	local h
	for h in a b; do
		stop_bg espd-$h
		rm -f "$TEST_DIR/$h.sock"
		start_bg espd-$h ip netns exec "$(ns $h)" "$BIN/r2espd" -u \
			-s "$TEST_DIR/$h.sock" "$@"
	done
	wait_for "[ -S $TEST_DIR/a.sock ] && [ -S $TEST_DIR/b.sock ]" 5 ||
		{ echo "r2espd did not start" >&2; exit 1; }
	tunnel 1 2 0x1000 1
	tunnel 11 12 0x2000 2 encap 4500 4500
}

# iperf HOST-A HOST-B DST SRC -> Mbit/s of $STREAMS TCP streams (1
# unless set)
iperf() {
	local pid out
	ns_exec "$2" iperf3 -s -1 -B "$3" >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	[ -n "${CPU_HOOK:-}" ] && $CPU_HOOK start
	out=$(ns_exec "$1" iperf3 -c "$3" -B "$4" -t "$SECS" -P "${STREAMS:-1}" -J 2>/dev/null |
		python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
    print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)')
	[ -n "${CPU_HOOK:-}" ] && $CPU_HOOK stop
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "${out:-0}"
}

# Cost per packet of the two r2espd during one iperf run: CPU_HOOK=cpu
# makes iperf() call "cpu start" / "cpu stop"; the result (ns per packet,
# A then B) is left in $TEST_DIR/cpu.
# r2espd PID and its children: the packet path runs in the privsep worker
# ticks PID [u]: user + system clock ticks (u: user time only, the part
# of the cost that is r2espd's own code and libcrypto, steadier than
# the total on a loaded machine)
ticks() {
	local t=0 p f='$14 + $15'
	[ "${2:-}" = u ] && f='$14'
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk "{ print $f }" "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
counter() {
	case $1 in
	a | b) ctl "$1" stats ;;
	*) RACOON2_ESPD_SOCKET="$(r2_dir "$1")/run/racoon2/r2espd.sock" \
		ns_exec "$1" "$NEW/r2espctl" stats ;;
	esac | awk -v k="$2" '$1 == k { print $2 }'
}
# the hosts whose r2espd cpu() measures (A sends, B receives)
HA=a HB=b
cpu() {
	local pa pb a=$HA b=$HB
	pa=$(bg_pid espd-$a) pb=$(bg_pid espd-$b)
	if [ "$1" = start ]; then
		echo "$(ticks "$pa") $(ticks "$pb") $(counter $a esp_tx) $(counter $b esp_rx) $(ticks "$pa" u) $(ticks "$pb" u)" >"$TEST_DIR/cpu0"
		if [ -n "${PROFILE:-}" ] && [ -n "${PROFILE_ALL:-}" ]; then
			# a fixed window inside the run (perf's start-up is
			# slow on a loaded machine), its packets counted just
			# around it
			(
				n0=$(counter $a esp_tx)
				perf record -q -g -a -e cpu-clock -F 2000 \
					-o "$PROFILE/$RUN.perf" -- \
					sleep $((SECS > 3 ? SECS - 2 : 1)) >/dev/null 2>&1
				echo "esp_tx $(($(counter $a esp_tx) - n0)) espd_pids" \
					$(pgrep -P "$pa") $(pgrep -P "$pb") >"$PROFILE/$RUN.pkts"
			) &
			echo $! >"$TEST_DIR/perf.pid"
		elif [ -n "${PROFILE:-}" ]; then
			perf record -q -g -o "$PROFILE/$RUN.perf" \
				-p "$(echo $(pgrep -P "$pa") $(pgrep -P "$pb") | tr ' ' ,)" \
				>/dev/null 2>&1 &
			echo $! >"$TEST_DIR/perf.pid"
		fi
		return
	fi
	if [ -n "${PROFILE_ALL:-}" ]; then
		wait "$(cat "$TEST_DIR/perf.pid")" 2>/dev/null
	elif [ -n "${PROFILE:-}" ]; then
		kill -INT "$(cat "$TEST_DIR/perf.pid")" 2>/dev/null
		wait "$(cat "$TEST_DIR/perf.pid")" 2>/dev/null
	fi
	read -r ta tb na nb ua ub <"$TEST_DIR/cpu0"
	# the packets of the profiled run, to turn samples into ns/packet
	[ -n "${PROFILE:-}" ] && [ -z "${PROFILE_ALL:-}" ] && echo "esp_tx $(($(counter $a esp_tx) - na)) esp_rx $(($(counter $b esp_rx) - nb)) espd_pids $(pgrep -P "$pa") $(pgrep -P "$pb")" >"$PROFILE/$RUN.pkts"
	awk -v hz="$(getconf CLK_TCK)" -v ta="$ta" -v tb="$tb" -v na="$na" \
		-v nb="$nb" -v ta1="$(ticks "$pa")" -v tb1="$(ticks "$pb")" \
		-v ua="$ua" -v ub="$ub" -v ua1="$(ticks "$pa" u)" -v ub1="$(ticks "$pb" u)" \
		-v na1="$(counter $a esp_tx)" -v nb1="$(counter $b esp_rx)" 'BEGIN {
		pa = na1 - na; pb = nb1 - nb
		printf "%.0f %.0f %.0f %.0f\n", pa ? (ta1 - ta) / hz * 1e9 / pa : 0,
			pb ? (tb1 - tb) / hz * 1e9 / pb : 0,
			pa ? (ua1 - ua) / hz * 1e9 / pa : 0,
			pb ? (ub1 - ub) / hz * 1e9 / pb : 0 }' >"$TEST_DIR/cpu"
}
# udp_blast HOST-A HOST-B DST SRC -> Mbit/s of UDP payload received: the
# sender writes 52,000 octets per UDP_SEGMENT send (40 datagrams of
# 1,300 octets; with USO the TUN device hands r2espd each send whole) for
# SECS seconds, as fast as it can; the receiver drains and counts
cat >"$TEST_DIR/blast_rx.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], 7777))
s.settimeout(1.5)
n = 0
try:
    while True:
        s.recv(2048)
        n += 1
except socket.timeout:
    pass
open(sys.argv[2], "w").write(str(n))
PY
cat >"$TEST_DIR/blast_tx.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 0))
s.setsockopt(socket.IPPROTO_UDP, 103, 1300)  # UDP_SEGMENT
buf = bytes(1300 * 40)
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        s.sendto(buf, (sys.argv[1], 7777))
    except OSError:
        pass
PY
udp_blast() {
	local pid n
	rm -f "$TEST_DIR/blast.n"
	ns_exec "$2" python3 "$TEST_DIR/blast_rx.py" "$3" "$TEST_DIR/blast.n" &
	pid=$!
	sleep 0.3
	[ -n "${CPU_HOOK:-}" ] && $CPU_HOOK start
	ns_exec "$1" python3 "$TEST_DIR/blast_tx.py" "$3" "$4" "$SECS"
	[ -n "${CPU_HOOK:-}" ] && $CPU_HOOK stop
	wait "$pid" 2>/dev/null
	n=$(cat "$TEST_DIR/blast.n" 2>/dev/null || echo 0)
	echo $(( ${n:-0} * 1300 * 8 / SECS / 1000000 ))
}
# blast_run NAME DST SRC: udp_blast through r2espd, like espd_run
blast_run() { measured_run udp_blast "$@"; }

# want NAME: the row is selected by ONLY (all rows unless set)
want() { [ -z "${ONLY:-}" ] || [[ $1 =~ $ONLY ]]; }
# measured_run TOOL NAME DST SRC: one TOOL run (iperf, udp_blast)
# through r2espd, adding Mbit/s to NAME, ns/packet to NAME.a / NAME.b and
# user-time ns/packet to NAME.ua / NAME.ub
measured_run() {
	local tool=$1 v a b ua ub
	shift
	want "$1" || return 0
	v=$(RUN=$1 CPU_HOOK=cpu "$tool" "$HA" "$HB" "$2" "$3")
	read -r a b ua ub <"$TEST_DIR/cpu"
	add "$1" "$v"
	add "$1.a" "$a"
	add "$1.b" "$b"
	add "$1.ua" "$ua"
	add "$1.ub" "$ub"
}
# espd_run NAME DST SRC: one iperf run through r2espd
espd_run() { measured_run iperf "$@"; }

espd_up
ns_exec a ping -c 1 -W 2 -I 203.0.113.1 203.0.113.2 >/dev/null ||
	echo "warning: r2espd tunnel does not answer ping" >&2

have_charon=0
if charon_available; then
	charon_start ca a --libipsec && charon_start cb b --libipsec &&
		have_charon=1
fi
if [ $have_charon = 1 ]; then
	for n in a b; do
		l=1 r=2; [ $n = b ] && l=2 r=1
		charon_conn $n bench local=198.51.100.$l remote=198.51.100.$r \
			local_id=host-$n.example remote_id=host-$([ $n = a ] && echo b || echo a).example \
			psk=0x6263a5c8e1f4d7b6a9c2e5f8d1b4a7c0 encap=yes \
			proposals=aes128gcm16-prfsha256-x25519 \
			esp_proposals=aes128gcm16 \
			local_ts=203.0.113.2$l/32 remote_ts=203.0.113.2$r/32
		charon_load $n
	done
	sw a --initiate --child bench >/dev/null 2>&1
	if ! wait_for "charon_child_installed a bench" 10 ||
	    ! wait_for "ns_exec ca ping -c 1 -W 1 -I 203.0.113.21 203.0.113.22" 10; then
		echo "warning: charon+libipsec tunnel not up (see $(charon_log a))" >&2
		have_charon=0
	fi
fi

# ---- r2espd + spmd + iked through a NAT (ESP-in-UDP negotiated) ----
# c1 (198.51.100.66/29, a road warrior asking for an address) -- nat
# (masquerade) -- gw (198.51.100.130/29, inner 203.0.113.1, pool
# 203.0.113.129-.190); iperf from c1's virtual address to 203.0.113.1
. "$TOP/tests/lib/racoon2.sh"
. "$TOP/tests/lib/topo.sh"
have_iked=0
IKED=$BUILD/src/ike/iked IKEDCTL=$BUILD/src/ike/ikedctl SPMD=$BUILD/src/spm/spmd
if [ -x "$IKED" ] && [ -x "$SPMD" ] && [ -x "$IKEDCTL" ]; then
	have_iked=1
	topo_nat 198.51.100.130/29 198.51.100.129/29 -
	topo_nat_client c1 vc vi 198.51.100.66/29 198.51.100.65/29
	R2_KERNEL=userspace
	RW_ALGS='
		kmp_enc_alg { aes128_gcm16; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { curve25519; };'
	RW_ESP='ipsec ipsec_esp { ipsec_sa_lifetime_time 1 hour; sa_index { esp_sa; }; };
sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_gcm16; }; esp_auth_alg { hmac_sha2_256; }; };'
	r2_init gw gw
	GWPSK=$(r2_psk gw bench-natt-psk-0123456789abcdef)
	{
		rw_gw_conf 198.51.100.130 "203.0.113.129 - 203.0.113.190"
		rw_gw_remote rw-c1 c1.example 203.0.113.1 203.0.113.128/26 198.51.100.130 "$GWPSK"
		printf '%s\n' "$RW_ESP"
	} >"$(r2_conf_path gw)"
	RW_KEEPALIVE= rw_client_conf c1 198.51.100.66 c1.example 198.51.100.130 203.0.113.1 \
		bench-natt-psk-0123456789abcdef
fi
vip() { topo_vip4 c1; }
# iked_up DIR: (re)start r2espd, spmd, iked of both hosts from build DIR
# and bring the tunnel up; 0 when it answers ping
iked_up() {
	local h
	for h in c1 gw; do r2_stop $h 2>/dev/null; done
	ESPD=$1/src/kernel/userspace/r2espd SPMD=$1/src/spm/spmd \
		IKED=$1/src/ike/iked
	for h in gw c1; do r2_up $h || return 1; done
	r2_ctl c1 initiate gw p-gw >/dev/null 2>&1
	wait_for '[ -n "$(vip)" ]' 10 &&
		wait_for "ns_exec c1 ping -c1 -W1 -I \$(vip) 203.0.113.1" 10
}
# ikeds_run NAME DIR: one iperf run c1 -> gw through iked's tunnel
ikeds_run() {
	iked_up "$2" || { echo "warning: iked tunnel ($2) not up" >&2; return; }
	HA=c1 HB=gw espd_run "$1" 203.0.113.1 "$(vip)"
}
BASEBUILD=
[ -n "$BASE" ] && [ -x "$BASE/../../ike/iked" ] && BASEBUILD=$(cd "$BASE/../../.." && pwd)

declare -A sum min max
mean() { [ -n "${sum[$1]:-}" ] && echo $(( sum[$1] / ROUNDS )) || echo 0; }
add() { # NAME VALUE
	sum[$1]=$(( ${sum[$1]:-0} + $2 ))
	[ -z "${min[$1]:-}" ] || [ "$2" -lt "${min[$1]}" ] && min[$1]=$2
	[ -z "${max[$1]:-}" ] || [ "$2" -gt "${max[$1]}" ] && max[$1]=$2
	return 0
}
# openssl bound: AES-128-GCM on 1024-byte blocks (kB/s -> Mbit/s), one
# core, or with -multi NCPU one process per CPU the tunnel runs on (the
# sum), measured in every round since it falls with the machine's load
ospeed() {
	openssl speed "$@" -evp aes-128-gcm -bytes 1024 -seconds 2 2>/dev/null |
		awk 'tolower($1) ~ /^(evp +)?aes-128-gcm/ { v = $NF; sub("k", "", v); printf "%.0f", v * 8 / 1000 }'
}
ncpu=$(nproc)
# veth_gso N: at most N segments per GSO packet on the r2espd link
veth_gso() { ns_exec a ip link set va gso_max_segs "$1"; ns_exec b ip link set vb gso_max_segs "$1"; }
# one round: each path with 1 stream, then with 8 (names suffixed P8)
for ((r = 1; r <= ROUNDS; r++)); do
	for STREAMS in 1 8; do
		sfx=; [ "$STREAMS" = 8 ] && sfx=P8
		want veth$sfx && add veth$sfx "$(iperf a b 198.51.100.2 198.51.100.1)"
		if [ -n "$BASE" ]; then
			BIN=$BASE; espd_up
			espd_run base50$sfx 203.0.113.2 203.0.113.1
			espd_run baseudp$sfx 203.0.113.12 203.0.113.11
			BIN=$NEW; espd_up
		fi
		espd_run esp50$sfx 203.0.113.2 203.0.113.1
		espd_run espudp$sfx 203.0.113.12 203.0.113.11
		# UDP_SEGMENT senders (one run, not per stream count)
		if [ -z "$sfx" ]; then
			if [ -n "$BASE" ]; then
				BIN=$BASE; espd_up
				blast_run baseblast 203.0.113.12 203.0.113.11
				BIN=$NEW; espd_up
			fi
			blast_run blast 203.0.113.12 203.0.113.11
		fi
		# the same with the GSO runs cut into datagrams by the
		# sender's kernel (software GSO, as for a NIC without UDP
		# segmentation offload) and so received one by one, UDP GRO
		# having nothing to merge on veth: the case of a real link
		if want espudpsw$sfx; then
			veth_gso 1
			espd_run espudpsw$sfx 203.0.113.12 203.0.113.11
			veth_gso 65535
		fi
		[ $have_charon = 1 ] && want libipsec$sfx &&
			add libipsec$sfx "$(iperf ca cb 203.0.113.22 203.0.113.21)"
		if [ $have_iked = 1 ]; then
			[ -n "$BASEBUILD" ] && want baseiked$sfx &&
				ikeds_run baseiked$sfx "$BASEBUILD"
			want iked$sfx && ikeds_run iked$sfx "$BUILD"
		fi
	done
	if ! want ossl; then :
	elif [ "$ncpu" -gt 1 ]; then add osslN "$(ospeed -multi "$ncpu")"
	else add osslN "$(ospeed)"; fi
done
STREAMS=1
espd_stats=$(ctl a stats | grep -E '^(tun_rx|tun_gso|esp_tx|send_fail) ' | tr '\n' ' ')
espd_stats_b=$(ctl b stats | grep -E '^(esp_rx|udp_rx|udp_gro|tun_tx|tun_gro|tun_write_fail) ' | tr '\n' ' ')
# the same r2espd without TUN offloads, to show what they bring
if want esp50n; then
	espd_up -n
	for ((r = 1; r <= ROUNDS; r++)); do
		espd_run esp50n 203.0.113.2 203.0.113.1
	done
fi
ossl=; want ossl && ossl=$(ospeed)
osslN=$(mean osslN)

row() { # LABEL NAME
	local a=- b=-
	[ -n "${sum[$2.a]:-}" ] && a=$(mean "$2.a") b=$(mean "$2.b")
	if [ -n "${sum[$2]:-}" ]; then
		printf '| %-44s | %7s | %13s | %6s | %6s |\n' "$1" "$(mean "$2")" \
			"${min[$2]}..${max[$2]}" "$a" "$b"
	else
		printf '| %-44s | %7s | %13s | %6s | %6s |\n' "$1" n/a "-" - -
	fi
}
echo
echo "1 and 8 TCP streams (iperf3 -P 8), TUN MTU 1400, ${SECS}s x $ROUNDS rounds, $ncpu CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ns/pkt: CPU time of the sending (A) / receiving (B) r2espd per ESP packet"
printf '| %-44s | %7s | %13s | %6s | %6s |\n' "path" "Mbit/s" "min..max" "A ns" "B ns"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "---------" "---------------" "--------" "--------"
for sfx in "" P8; do
	st="1 stream"; [ -n "$sfx" ] && st="8 streams"
	row "veth, no IPsec ($st)" veth$sfx
	if [ -n "$BASE" ]; then
		row "BASE r2espd ESP proto 50 ($st)" base50$sfx
		row "BASE r2espd ESP-in-UDP 4500 ($st)" baseudp$sfx
	fi
	row "r2espd ESP proto 50, GCM-128 ($st)" esp50$sfx
	row "r2espd ESP-in-UDP 4500, GCM-128 ($st)" espudp$sfx
	row "  same, GSO segmented by the sender ($st)" espudpsw$sfx
	if [ -z "$sfx" ]; then
		[ -n "$BASE" ] && row "BASE UDP_SEGMENT blast, UDP 4500, Mbit/s rx" baseblast
		row "UDP_SEGMENT blast (USO), UDP 4500, Mbit/s rx" blast
	fi
	row "charon+kernel-libipsec UDP 4500 ($st)" libipsec$sfx
	[ -n "$BASEBUILD" ] && row "BASE iked+r2espd, NAT, UDP 4500 ($st)" baseiked$sfx
	row "iked+r2espd, NAT, UDP 4500 ($st)" iked$sfx
done
row "r2espd -n (no TUN offloads), proto 50, 1 str" esp50n
printf '| %-44s | %7s | %13s | %6s | %6s |\n' "openssl speed aes-128-gcm 1 KiB, 1 core" "$ossl" "-" - -
printf '| %-44s | %7s | %13s | %6s | %6s |\n' "openssl speed aes-128-gcm 1 KiB, $ncpu cores" "$osslN" "-" - -
python3 - "$(mean esp50)" "$(mean espudp)" "$(mean libipsec)" "${ossl:-0}" "$(mean esp50n)" \
	"$(mean esp50.a)" "$(mean esp50.b)" "$(mean espudp.a)" "$(mean espudp.b)" \
	"$(mean base50.a)" "$(mean base50.b)" "$(mean baseudp.a)" "$(mean baseudp.b)" \
	"${osslN:-0}" "$ncpu" "$(mean esp50P8)" "$(mean espudpP8)" "$(mean libipsecP8)" \
	"$(mean esp50P8.a)" "$(mean esp50P8.b)" "$(mean espudpP8.a)" "$(mean espudpP8.b)" \
	"$(mean espudpsw.a)" "$(mean espudpsw.b)" \
	"$(mean iked)" "$(mean ikedP8)" "$(mean iked.a)" "$(mean iked.b)" \
	"$(mean baseiked)" "$(mean baseiked.a)" "$(mean baseiked.b)" <<'PY'
import sys
(e, u, l, o, n, ea, eb, ua, ub, ba, bb, bua, bub, oN, ncpu, e8, u8, l8,
 e8a, e8b, u8a, u8b, usa, usb, ik, ik8, ika, ikb, bik, bika, bikb) = map(float, sys.argv[1:])
def r(a, b):
    return "%.2f" % (a / b) if b else "n/a"
def pct(a, b):
    return "%.0f%%" % (100 * a / b) if b else "n/a"
bound = oN / 2
print()
print("openssl bound of the tunnel: %.0f Mbit/s = %d-core openssl %.0f / 2 "
      "(each byte encrypted and decrypted on the same cores)" % (bound, ncpu, oN))
print("share of the bound (goal >= 50%%): 1 stream proto 50 %s, UDP 4500 %s; "
      "8 streams proto 50 %s, UDP 4500 %s" %
      (pct(e, bound), pct(u, bound), pct(e8, bound), pct(u8, bound)))
print("r2espd UDP 4500 / libipsec:  1 stream %s x, 8 streams %s x   "
      "(proto 50 / libipsec: %s x, %s x)" % (r(u, l), r(u8, l8), r(e, l), r(e8, l8)))
print("r2espd proto 50 / openssl 1 core: %s     (UDP 4500: %s)" % (r(e, o), r(u, o)))
print("TUN offloads gain (proto 50): %s x" % r(e, n))
# the load-robust view: openssl's 1-core time to encrypt and decrypt one
# 1348-octet payload over r2espd's CPU time (A + B) per packet, i.e. the
# share of the openssl bound r2espd would reach with cores of its own
if o:
    c = 2 * 1348 * 8 * 1e3 / o
    print("openssl enc+dec of 1348 octets: %.0f ns; its share of r2espd's CPU per packet "
          "(A+B): proto 50 %s / %s, UDP 4500 %s / %s (1 / 8 streams)" %
          (c, pct(c, ea + eb) if ea else "n/a", pct(c, e8a + e8b) if e8a else "n/a",
           pct(c, ua + ub) if ua else "n/a", pct(c, u8a + u8b) if u8a else "n/a"))
if ik:
    print("share of the bound with iked (NAT, UDP 4500): 1 stream %s, 8 streams %s"
          % (pct(ik, bound), pct(ik8, bound)))
if o and ika and ikb:
    print("openssl enc+dec share of r2espd's CPU per packet with iked: %s%s"
          % (pct(c, ika + ikb), (" (BASE %s)" % pct(c, bika + bikb)) if bika and bikb else ""))
for name, a, b in (("UDP 4500, 1 stream", ua, ub), ("UDP 4500 GSO segmented, 1 stream", usa, usb), ("proto 50, 8 streams", e8a, e8b),
                   ("UDP 4500, 8 streams", u8a, u8b), ("iked UDP 4500, 1 stream", ika, ikb),
                   ("BASE iked UDP 4500, 1 stream", bika, bikb)):
    if a and b:
        print("r2espd CPU per packet, %s: A %.0f + B %.0f = %.0f ns" % (name, a, b, a + b))
if ea and eb:
    # 1 KiB of openssl's bound costs 8192/o us of one core; the tunnel
    # spends (A+B) ns of r2espd CPU on one ~1348-byte TCP payload
    print("r2espd CPU per packet, proto 50: A %.0f + B %.0f = %.0f ns "
          "(%.0f Mbit/s of payload per fully busy core)" %
          (ea, eb, ea + eb, 1348 * 8 * 1e3 / (ea + eb)))
if ba and ea:
    print("vs BASE: proto 50 A %+.0f%% B %+.0f%%, UDP 4500 A %+.0f%% B %+.0f%%" %
          (100 * (ea / ba - 1), 100 * (eb / bb - 1),
           100 * (ua / bua - 1) if bua else 0, 100 * (ub / bub - 1) if bub else 0))
PY
# user time alone per packet (r2espd's code and libcrypto; the rest of
# A ns / B ns is the kernel work done in its syscalls)
for n in esp50 espudp iked esp50P8 espudpP8 ikedP8 base50 baseudp baseiked \
	base50P8 baseudpP8 baseikedP8 blast baseblast; do
	[ -n "${sum[$n.ua]:-}" ] &&
		echo "r2espd user CPU per packet, $n: A $(mean "$n.ua") + B $(mean "$n.ub") = $(( $(mean "$n.ua") + $(mean "$n.ub") )) ns"
done
echo "r2espd A counters (offloads on): $espd_stats"
echo "r2espd B counters (offloads on): $espd_stats_b"
