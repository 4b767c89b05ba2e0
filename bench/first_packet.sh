#!/usr/bin/env bash
# first_packet.sh - benchmark (not a test; the test suite does not run it):
# first-packet latency through a tunnel that does not exist yet (issue 14):
# an application's UDP datagram hits a policy with no SA, the data plane
# raises an ACQUIRE, the IKE daemon negotiates IKE_SA_INIT + IKE_AUTH, the
# SAs are installed, and the datagram -- queued, or retransmitted by the
# application when the data plane dropped it -- reaches the other host.
# Measured ROUNDS times (100 tunnels, one after the other: each round
# deletes the IKE SA from the initiator and waits until both data planes
# hold no SA), for racoon2 and for strongSwan in the same run:
#   - racoon2: r2espd (userspace ESP over TUN; it queues up to 4 packets
#     per policy waiting for an SA and sends them once it arrives, as the
#     kernel's larval queue does) + spmd + iked on each host, `kernel
#     userspace;`, no debug log;
#   - charon 5.9 + kernel-libipsec (userspace ESP over its TUN ipsec0,
#     UDP-encapsulated: all it can install here), `start_action = trap`:
#     libipsec drops a packet without an SA and raises no ACQUIRE
#     (src/libipsec/ipsec_processor.c: "TODO-IPSEC: send an acquire"), so
#     no tunnel comes up on demand; the run stops after 3 rounds;
#   - charon 5.9 + kernel XFRM, `start_action = trap`: the kernel raises
#     the ACQUIRE, but without an ESP type here the SAs cannot be
#     installed; measured up to the initiator parsing the IKE_AUTH
#     response (charon's log, ms): a lower bound of charon's latency;
#   - racoon2 (spmd + iked, `kernel xfrm;`) measured the same way, from
#     the kernel's ACQUIRE: the triggering datagram to the IKE_AUTH
#     response on the wire (a capture of a's link; the responder answers
#     NO_PROPOSAL_CHOSEN, having no ESP type to install): the like-for-
#     like comparison with charon's bound.
# Two namespaces a (198.51.100.1, protected 203.0.113.1) and b
# (198.51.100.2, 203.0.113.129); tunnel 203.0.113.0/25 <-> /25 with
# AES-GCM-128 / PRF-HMAC-SHA2-256 / Curve25519 IKE and AES-GCM-128 ESP on
# both.  bench/first_packet.py sends the datagram (try 0) from a with its
# CLOCK_MONOTONIC send time, and again every RETRY_MS while unanswered (an
# application's retransmission, 1000 ms = TCP's initial RTO, RFC 6298);
# b's receiver answers with the time from try 0 to the first arrival.
# Printed per implementation: p50 / p99 / max of that latency, how many
# triggering datagrams (try 0) were themselves delivered, and the ratio.
#
# -t (racoon2 only) also captures a's link and TUN device and b's TUN
# device during the rounds (dumpcap) and prints where the time goes: the
# wire times of IKE_SA_INIT, IKE_AUTH, the first ESP packet and the
# delivery, per hop p50 / p90 / max (first_packet.py trace), and each
# daemon's CPU time and run-queue wait per tunnel (/proc/PID/schedstat of
# the daemon and its children: time spent waiting for a core after a
# wake-up is the machine's load, not the daemon's work).  The capture
# costs CPU on this machine: the untraced figures are the ones to quote.
#
# usage: bench/first_packet.sh [-b BUILD_DIR] [-o r2|charon|chx|both] [-n ROUNDS]
#                              [-r RETRY_MS] [-t]
#   defaults: 100 rounds, 1000 ms.  Root; namespaces r2f-PID-*, removed on
#   exit (KEEP=1 keeps the logs).  -o r2|charon|chx|r2x runs one of them.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
ONLY=both
ROUNDS=100
RETRY_MS=1000
TRACE=0
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$(cd "$2" && pwd); shift ;;
	-o) ONLY=$2; shift ;;
	-n) ROUNDS=$2; shift ;;
	-r) RETRY_MS=$2; shift ;;
	-t) TRACE=1 ;;
	*) sed -n '2,46p' "$0"; exit 2 ;;
	esac
	shift
done
FP=$TOP/bench/first_packet.py

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/racoon2.sh"
. "$TOP/tests/lib/charon.sh"
netns_init r2f first_packet
r2_us_bins "$BUILD"
for b in "$IKED" "$IKEDCTL" "$SPMD" "$ESPD" "$ESPCTL"; do
	[ -x "$b" ] || { echo "no $b (ninja -C $BUILD)" >&2; exit 1; }
done
if [ "$ONLY" != r2 ] && ! charon_available; then
	log "charon/swanctl not installed: racoon2 only"
	ONLY=r2
fi

ns_add a; ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/25
ns_addr b vb 198.51.100.2/25
ip -n "$(ns a)" addr add 203.0.113.1/32 dev lo
ip -n "$(ns b)" addr add 203.0.113.129/32 dev lo
ns_exec a ping -c1 -W2 198.51.100.2 >/dev/null 2>&1
PSK=first-packet-bench-psk-0123456789
PORT=5000

start_bg recv ip netns exec "$(ns b)" python3 "$FP" recv 203.0.113.129 $PORT

declare -A R
# lat_stats IMPL: R[IMPL,stats] = "p50 p99 max n" in ms of $TEST_DIR/lat.IMPL
# (lines "LAT_US FIRST_TRY" or "timeout")
lat_stats() {
	R[$1,stats]=$(awk '$1 != "timeout" { print $1 }' "$TEST_DIR/lat.$1" | sort -n | awk '
		{ v[NR] = $1 }
		END { if (!NR) { print "- - - 0"; exit }
		      printf "%.1f %.1f %.1f %d", v[int((NR - 1) * 0.5) + 1] / 1000,
			v[int((NR - 1) * 0.99) + 1] / 1000, v[NR] / 1000, NR }')
}
# rounds IMPL RESET_CMD: ROUNDS measurements; RESET_CMD removes the SAs
rounds() {
	local impl=$1 reset=$2 i out lat first
	: >"$TEST_DIR/lat.$impl"
	R[$impl,load0]=$(cut -d' ' -f1 /proc/loadavg)
	for ((i = 1; i <= ROUNDS; i++)); do
		out=$(ns_exec a python3 "$FP" send 203.0.113.1 203.0.113.129 $PORT \
			"$RANDOM$i" "$RETRY_MS")
		read -r lat first <<<"$out"
		if [ "$lat" = timeout ] || [ -z "$lat" ]; then
			echo "timeout" >>"$TEST_DIR/lat.$impl"
		else
			echo "$lat $first" >>"$TEST_DIR/lat.$impl"
		fi
		$reset || { log "$impl: SAs not removed after round $i"; break; }
		if [ "$i" -ge 3 ] && ! grep -qv timeout "$TEST_DIR/lat.$impl"; then
			log "$impl: nothing delivered in 3 rounds, stopping"
			break
		fi
	done
	R[$impl,load1]=$(cut -d' ' -f1 /proc/loadavg)
	lat_stats $impl
	R[$impl,first]=$(awk '$2 == 0' "$TEST_DIR/lat.$impl" | wc -l)
	R[$impl,timeouts]=$(grep -c timeout "$TEST_DIR/lat.$impl")
	log "$impl: p50 p99 max ms, delivered: ${R[$impl,stats]}; try 0 delivered ${R[$impl,first]}/$ROUNDS"
}

# ---- racoon2 ----
# sched_snap: "NAME CPU_NS WAIT_NS RUNS" for each racoon2 daemon (with its
# privsep children), from /proc/PID/schedstat
R2_DAEMONS="espd-a spmd-a iked-a espd-b spmd-b iked-b"
sched_snap() {
	local n p c w r a b k
	for n in $R2_DAEMONS; do
		p=$(bg_pid "$n")
		c=0 w=0 r=0
		for p in $p $(pgrep -P "$p"); do
			read -r a b k <"/proc/$p/schedstat" 2>/dev/null || continue
			c=$((c + a)) w=$((w + b)) r=$((r + k))
		done
		echo "$n $c $w $r"
	done
}
espd_sas() { ip netns exec "$(ns "$1")" "$ESPCTL" -s "$(r2_dir "$1")/run/racoon2/r2espd.sock" \
	sa show 2>/dev/null | grep -ci spi; }
r2_clear() {
	r2_ctl a delete all >/dev/null 2>&1
	wait_for "[ \"\$(espd_sas a)\" = 0 ] && [ \"\$(espd_sas b)\" = 0 ]" 10
}
# r2_pair_up PREFIX KERNEL: racoon2 instances PREFIXa / PREFIXb on hosts
# a / b (`kernel KERNEL;`, r2espd first for userspace), spmd and iked
# without debug logs, the tunnel 203.0.113.0/25 <-> 203.0.113.128/25
r2_pair_up() {
	local x=$1 kern=$2 h me peer mynet peernet
	for h in a b; do
		if [ $h = a ]; then me=198.51.100.1 peer=198.51.100.2 mynet=203.0.113.0/25 peernet=203.0.113.128/25
		else me=198.51.100.2 peer=198.51.100.1 mynet=203.0.113.128/25 peernet=203.0.113.0/25; fi
		r2_init $x$h $h
		r2_us_tunnel_conf $h me=$me peer=$peer mynet=$mynet peernet=$peernet \
			psk="$(r2_psk $x$h "$PSK")" spmif=/var/run/racoon2/spmif \
			kenc=aes128_gcm16 eenc=aes128_gcm16 |
			sed "s/kernel userspace;/kernel $kern;/" >"$(r2_conf_path $x$h)"
		if [ "$kern" = userspace ]; then r2_start_espd $h $x$h || return 1; fi
		start_bg "spmd-$x$h" ip netns exec "$(ns $h)" sh -c "$R2_WRAP" \
			sh "$(r2_dir $x$h)" "$SPMD" -F -f "$(r2_conf_path $x$h)"
		wait_for "ls '$(r2_dir $x$h)/run/racoon2/' | grep -q spmif" 10 || return 1
		start_bg "iked-$x$h" ip netns exec "$(ns $h)" sh -c "$R2_WRAP" \
			sh "$(r2_dir $x$h)" "$IKED" -F -f "$(r2_conf_path $x$h)" \
			--ctl-socket "$(r2_sock $x$h)"
		wait_for "r2_ctl $x$h ping" 10 || return 1
	done
	sleep 1 # iked registers with spmd (logged at info level only)
}
r2_run() {
	r2_pair_up "" userspace || return 1
	# warm-up tunnel outside the figures (first allocations, ARP)
	ns_exec a python3 "$FP" send 203.0.113.1 203.0.113.129 $PORT 0 "$RETRY_MS" >/dev/null
	r2_clear
	if [ $TRACE = 1 ]; then
		start_bg cap-a ip netns exec "$(ns a)" dumpcap -q -i va -i r2tun0 \
			-f 'udp port 500 or udp port 4500 or ip proto 50 or udp port 5000' \
			-w "$TEST_DIR/trace-a.pcapng"
		start_bg cap-b ip netns exec "$(ns b)" dumpcap -q -i r2tun0 \
			-f 'udp port 5000' -w "$TEST_DIR/trace-b.pcapng"
		sleep 1
		sched_snap >"$TEST_DIR/sched0"
	fi
	rounds r2 r2_clear
	if [ $TRACE = 1 ]; then
		sched_snap >"$TEST_DIR/sched1"
		sleep 0.5
		stop_bg cap-a INT; stop_bg cap-b INT
		python3 "$FP" trace "$TEST_DIR/trace-a.pcapng" "$TEST_DIR/trace-b.pcapng" \
			>"$TEST_DIR/trace.txt" 2>&1
		{
			echo
			echo "per tunnel (trigger, IKE, SAs, delivery and the SA deletion between rounds):"
			echo "| daemon (with its privsep child)  | CPU ms | waiting for a core ms | runs | wait per run us |"
			echo "|----------------------------------|--------|-----------------------|------|-----------------|"
			paste -d' ' "$TEST_DIR/sched0" "$TEST_DIR/sched1" | awk -v n="$ROUNDS" '{
				r = $8 - $4
				printf "| %-32s | %6.2f | %21.2f | %4.1f | %15.0f |\n", $1, ($6 - $2) / n / 1e6,
					($7 - $3) / n / 1e6, r / n, r ? ($7 - $3) / r / 1e3 : 0 }'
		} >>"$TEST_DIR/trace.txt"
	fi
	local h
	for h in a b; do r2_stop $h; done
}

# ---- charon ----
ch_clear() {
	sw ca --terminate --ike fp --force >/dev/null 2>&1
	wait_for "[ \"\$(charon_count ca child)\" = 0 ] && [ \"\$(charon_count cb child)\" = 0 ] &&
		[ \"\$(charon_count ca ike)\" = 0 ] && [ \"\$(charon_count cb ike)\" = 0 ]" 10
}
ch_run() {
	charon_start a ca --libipsec --log "ike=1 chd=1 cfg=1 mgr=0 net=0" &&
		charon_start b cb --libipsec --log "ike=1 chd=1 cfg=1 mgr=0 net=0" || return 1
	charon_conn ca fp local=198.51.100.1 remote=198.51.100.2 local_id=host-a.example \
		remote_id=host-b.example psk="$PSK" encap=yes start_action=trap \
		proposals=aes128gcm16-prfsha256-x25519 esp_proposals=aes128gcm16 \
		local_ts=203.0.113.0/25 remote_ts=203.0.113.128/25
	charon_conn cb fp local=198.51.100.2 remote=198.51.100.1 local_id=host-b.example \
		remote_id=host-a.example psk="$PSK" encap=yes start_action=trap \
		proposals=aes128gcm16-prfsha256-x25519 esp_proposals=aes128gcm16 \
		local_ts=203.0.113.128/25 remote_ts=203.0.113.0/25
	charon_load ca && charon_load cb || return 1
	ns_exec a python3 "$FP" send 203.0.113.1 203.0.113.129 $PORT 0 "$RETRY_MS" >/dev/null
	ch_clear
	rounds charon ch_clear
	charon_stop ca; charon_stop cb
}

# ---- charon + kernel XFRM: control plane only ----
# The kernel raises the ACQUIRE from charon's trap policy, but has no ESP
# type here, so the responder's SA install fails (it answers IKE_AUTH with
# NO_PROPOSAL_CHOSEN): what is measured is the time from the triggering
# datagram to the initiator parsing the IKE_AUTH response, after which it
# would install its SAs (its log, millisecond timestamps): a lower bound
# of charon's first-packet latency, without the install and the ESP.
CHX_PAT='parsed IKE_AUTH response'
chx_count() { grep -Ec "$CHX_PAT" "$(charon_log cxa)" 2>/dev/null; }
chx_clear() {
	sw cxa --terminate --ike fp --force >/dev/null 2>&1
	wait_for "[ \"\$(charon_count cxa ike)\" = 0 ] && [ \"\$(charon_count cxb ike)\" = 0 ]" 10 || return 1
	# the kernel's larval (acquire) state would hold back the next ACQUIRE
	ip -n "$(ns a)" xfrm state flush
	sleep 0.2
}
chx_run() {
	local i n0 t0 ts
	ns_exec a sysctl -qw net.core.xfrm_acq_expires=1
	# the kernel looks the policy up after the route (charon installs none
	# without a virtual IP)
	ip -n "$(ns a)" route add 203.0.113.128/25 via 198.51.100.2
	ip -n "$(ns b)" route add 203.0.113.0/25 via 198.51.100.1
	charon_start a cxa --log "ike=1 chd=1 cfg=1 knl=1 mgr=0 net=0 time_format=%s time_add_ms=yes" &&
		charon_start b cxb --log "ike=1 chd=1 cfg=1 mgr=0 net=0" || return 1
	charon_conn cxa fp local=198.51.100.1 remote=198.51.100.2 local_id=host-a.example \
		remote_id=host-b.example psk="$PSK" start_action=trap \
		proposals=aes128gcm16-prfsha256-x25519 esp_proposals=aes128gcm16 \
		local_ts=203.0.113.0/25 remote_ts=203.0.113.128/25
	charon_conn cxb fp local=198.51.100.2 remote=198.51.100.1 local_id=host-b.example \
		remote_id=host-a.example psk="$PSK" \
		proposals=aes128gcm16-prfsha256-x25519 esp_proposals=aes128gcm16 \
		local_ts=203.0.113.128/25 remote_ts=203.0.113.0/25
	charon_load cxa && charon_load cxb || return 1
	: >"$TEST_DIR/lat.chx"
	R[chx,load0]=$(cut -d' ' -f1 /proc/loadavg)
	for ((i = 0; i <= ROUNDS; i++)); do
		n0=$(chx_count)
		t0=$(ns_exec a python3 "$FP" trigger 203.0.113.1 203.0.113.129 $PORT)
		if wait_for "[ \"\$(chx_count)\" -gt $n0 ]" 10; then
			ts=$(grep -E "$CHX_PAT" "$(charon_log cxa)" | tail -1 | awk '{ print $1 }')
			# round 0 is the warm-up
			[ $i -gt 0 ] && awk -v a="$ts" -v b="$t0" 'BEGIN { printf "%d 1\n", (a * 1000 - b) * 1000 }' \
				>>"$TEST_DIR/lat.chx"
		else
			[ $i -gt 0 ] && echo timeout >>"$TEST_DIR/lat.chx"
		fi
		chx_clear || { log "chx: SAs not removed after round $i"; break; }
	done
	R[chx,load1]=$(cut -d' ' -f1 /proc/loadavg)
	lat_stats chx
	R[chx,first]='n/a (no ESP)'
	log "chx: p50 p99 max ms, n: ${R[chx,stats]}"
	charon_stop cxa; charon_stop cxb
	ip -n "$(ns a)" route del 203.0.113.128/25 via 198.51.100.2
	ip -n "$(ns b)" route del 203.0.113.0/25 via 198.51.100.1
}

# ---- racoon2 + kernel XFRM: control plane only, like chx ----
# spmd installs the policies in the kernel, whose ACQUIRE goes through
# spmd to iked; the IKE_AUTH response's arrival on a's link (dumpcap) is
# the end point, as charon's log line is chx's.
r2x_auth() { # the capture's IKE_AUTH responses to a: epoch seconds, one a line
	tshark -r "$TEST_DIR/r2x.pcapng" -Y 'isakmp.exchangetype == 35 && isakmp.flag_r == 1 && ip.dst == 198.51.100.1' \
		-T fields -e frame.time_epoch 2>/dev/null
}
r2x_clear() {
	r2_ctl xa delete all >/dev/null 2>&1
	wait_for "[ \"\$(r2_q xa 'len(ike)')\" = 0 ] && [ \"\$(r2_q xb 'len(ike)')\" = 0 ]" 10 ||
		return 1
	# the kernel's larval (acquire) state would hold back the next ACQUIRE
	ip -n "$(ns a)" xfrm state flush
	ip -n "$(ns b)" xfrm state flush
	sleep 0.2
}
r2x_run() {
	local h i t0
	ns_exec a sysctl -qw net.core.xfrm_acq_expires=1
	ip -n "$(ns a)" route add 203.0.113.128/25 via 198.51.100.2
	ip -n "$(ns b)" route add 203.0.113.0/25 via 198.51.100.1
	r2_pair_up x xfrm || return 1
	start_bg cap-x ip netns exec "$(ns a)" dumpcap -q -i va -f 'udp port 500 or udp port 4500' \
		-w "$TEST_DIR/r2x.pcapng"
	sleep 1
	: >"$TEST_DIR/lat.r2x"
	: >"$TEST_DIR/r2x.t0"
	R[r2x,load0]=$(cut -d' ' -f1 /proc/loadavg)
	for ((i = 0; i <= ROUNDS; i++)); do
		t0=$(ns_exec a python3 "$FP" trigger 203.0.113.1 203.0.113.129 $PORT)
		# round 0 is the warm-up
		[ $i -gt 0 ] && echo "$t0" >>"$TEST_DIR/r2x.t0"
		wait_for "[ \"\$(r2_q xa 'len(est)')\" = 1 ]" 10
		r2x_clear || { log "r2x: SAs not removed after round $i"; break; }
	done
	R[r2x,load1]=$(cut -d' ' -f1 /proc/loadavg)
	sleep 0.5
	stop_bg cap-x INT
	r2x_auth >"$TEST_DIR/r2x.auth"
	# each trigger to the first IKE_AUTH response after it
	python3 - "$TEST_DIR/r2x.t0" "$TEST_DIR/r2x.auth" >"$TEST_DIR/lat.r2x" <<'PY'
import sys
t0 = [float(x) / 1e3 for x in open(sys.argv[1]) if x.strip()]
au = sorted(float(x) for x in open(sys.argv[2]) if x.strip())
for i, t in enumerate(t0):
    end = t0[i + 1] if i + 1 < len(t0) else float("inf")
    r = next((a for a in au if t <= a < end), None)
    print("timeout" if r is None else "%d 1" % round((r - t) * 1e6))
PY
	lat_stats r2x
	R[r2x,first]='n/a (no ESP)'
	log "r2x: p50 p99 max ms, n: ${R[r2x,stats]}"
	for h in a b; do stop_bg iked-x$h; stop_bg spmd-x$h; done
	ip -n "$(ns a)" route del 203.0.113.128/25 via 198.51.100.2
	ip -n "$(ns b)" route del 203.0.113.0/25 via 198.51.100.1
}

declare -A LABEL=([r2]='racoon2 (iked + spmd + r2espd)'
	[charon]='charon + kernel-libipsec (trap)'
	[chx]='charon + XFRM: to SA install (bound)'
	[r2x]='racoon2 + XFRM: to SA install (bound)')
T0=$(date +%s)
case $ONLY in r2 | charon | chx | r2x) IMPLS=$ONLY ;; *) IMPLS="r2 charon chx r2x" ;; esac
for impl in $IMPLS; do
	case $impl in
	r2) r2_run || log "racoon2 did not run" ;;
	charon) ch_run || log "charon + kernel-libipsec did not run" ;;
	chx) chx_run || log "charon + kernel XFRM did not run" ;;
	r2x) r2x_run || log "racoon2 + kernel XFRM did not run" ;;
	esac
done

printf '\n%s, %s cores (%s), %s UTC; %s tunnels one after the other, application retry %s ms\n' \
	"$(uname -r)" "$(nproc)" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	"$(date -u '+%Y-%m-%d %H:%M')" "$ROUNDS" "$RETRY_MS"
printf '| %-38s | %7s | %7s | %7s | %9s | %16s | %9s |\n' \
	"first packet through a new tunnel" "p50 ms" "p99 ms" "max ms" delivered "try 0 delivered" "load avg"
printf '|%s|\n' "----------------------------------------|---------|---------|---------|-----------|------------------|-----------"
for impl in $IMPLS; do
	[ -n "${R[$impl,stats]:-}" ] || continue
	read -r p50 p99 mx nd <<<"${R[$impl,stats]}"
	printf '| %-38s | %7s | %7s | %7s | %9s | %16s | %9s |\n' \
		"${LABEL[$impl]}" \
		"$p50" "$p99" "$mx" "$nd/$ROUNDS" \
		"$(case $impl in chx | r2x) echo "${R[$impl,first]}" ;; *) echo "${R[$impl,first]}/$ROUNDS" ;; esac)" \
		"${R[$impl,load0]}/${R[$impl,load1]}"
done
# the ratios against what charon reached: its delivery, else its bound;
# r2x / chx is the like-for-like one (both from the kernel's ACQUIRE to
# the IKE_AUTH response)
declare -A RLABEL=([r2:charon]='racoon2 / charon + libipsec'
	[r2:chx]='racoon2 / charon + XFRM (bound)'
	[r2x:chx]='racoon2 + XFRM / charon + XFRM')
for pair in r2:charon r2:chx r2x:chx; do
	a=${pair%%:*} c=${pair#*:}
	[ -n "${R[$a,stats]:-}" ] && [ -n "${R[$c,stats]:-}" ] || continue
	read -r a50 a99 _ na <<<"${R[$a,stats]}"
	read -r b50 b99 _ nb <<<"${R[$c,stats]}"
	[ "$na" -gt 0 ] 2>/dev/null && [ "$nb" -gt 0 ] 2>/dev/null || continue
	printf '| %-38s | %7s | %7s | %7s | %9s | %16s | %9s |\n' "${RLABEL[$pair]}" \
		"$(awk -v a="$a50" -v b="$b50" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
		"$(awk -v a="$a99" -v b="$b99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" "" "" "" ""
done
[ -s "$TEST_DIR/trace.txt" ] && { echo; cat "$TEST_DIR/trace.txt"; }
printf 'total %s s; logs in %s (KEEP=1 keeps them)\n' "$(($(date +%s) - T0))" "$TEST_DIR"
