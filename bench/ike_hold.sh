#!/usr/bin/env bash
# ike_hold.sh - benchmark (not a test; the test suite does not run it):
# a responder holding N IKE SA + CHILD SA (100,000 by default) with dead
# peer detection on -- iked and strongSwan's charon driven the same way by
# tools/r2load (issue 14), measured in one run:
#   memory: VmRSS delta / established SAs (the daemon and its children);
#   idle:   the responder's CPU while it holds the SAs and r2load only
#           answers its liveness checks (r2load -H: empty INFORMATIONAL
#           responses, RFC 7296 §2.4), over HOLD seconds sampled once a
#           second: mean and highest 1-s share of one core (a timer storm
#           shows as a high maximum), and the checks answered per second
#           (mean, min, max over the hold: N / DPD s is the even rate).
# Topology, daemons and suites as bench/ike_load.sh (namespaces g with
# r2load, r with the responder on core 1; iked -n -k fake, charon +
# kernel-libipsec; ECP-256, AES-GCM-256 IKE, ESP AES-CBC-128/HMAC-SHA2-256,
# r2load -U), plus DPD: iked `dpd_delay DPD sec;` (checks when the SA
# was quiet that long, jittered by up to 10 %), charon `dpd_delay = DPDs`
# (dpd_action = clear).  No rekeying (86400 s lifetimes / rekey_time = 0).
#
# usage: bench/ike_hold.sh [-b BUILD_DIR] [-o r2|charon|both] [-n N]
#                          [-d DPD_SEC] [-H HOLD_SEC] [-w WINDOW] [-C]
#   -C: childless IKE SAs (RFC 6023): the IKE SAs alone, no CHILD SA and
#   no per-peer dynamic policy
#   defaults: N=100000, DPD 30 s, HOLD 90 s, window 256.  Root; namespaces
#   r2h-PID-*, removed on exit (KEEP=1 keeps the logs).  RUN_LIMIT (1200):
#   seconds the setups may take; figures are per SA established.
#   PROFILE=1 records the responder during the hold with perf
#   (perf.IMPL.data in the log directory; use with KEEP=1).
# CPU attribution: a veth transmit runs the peer's receive (IP, UDP,
# socket queueing) in the sender's softirq, and this kernel charges
# softirq time to the task it interrupts (no IRQ_TIME_ACCOUNTING), so
# r2load's receive of every check was charged to the responder (~11
# points of its ~25 % "UDP send" in the profile).  RPS on r2load's veth
# (vg rx-0 -> CPU 0, r2load's core) moves that receive to core 0: the
# responder is charged for its own send (down to the veth) and reads,
# as on a NIC.  The answers' receive runs in r2load's send on core 0, as
# before.  RPS_G=0 keeps the old attribution.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
ONLY=both
N=100000
DPD=30
HOLD=90
W=256
CHILDLESS=
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$(cd "$2" && pwd); shift ;;
	-o) ONLY=$2; shift ;;
	-n) N=$2; shift ;;
	-d) DPD=$2; shift ;;
	-H) HOLD=$2; shift ;;
	-w) W=$2; shift ;;
	-C) CHILDLESS=1 ;;
	*) sed -n '2,37p' "$0"; exit 2 ;;
	esac
	shift
done
RUN_LIMIT=${RUN_LIMIT:-1200}
IKED=$BUILD/src/ike/iked
IKEDCTL=$BUILD/src/ike/ikedctl
R2LOAD=$BUILD/tools/r2load/r2load
for b in "$IKED" "$R2LOAD"; do
	[ -x "$b" ] || { echo "no $b (ninja -C $BUILD)" >&2; exit 1; }
done

. "$TOP/tests/lib/netns.sh"
netns_init r2h ike_hold
CHARON_BIN=${CHARON_BIN:-/usr/lib/ipsec/charon}
if [ "$ONLY" != r2 ] && { [ ! -x "$CHARON_BIN" ] || ! command -v swanctl >/dev/null; }; then
	log "charon/swanctl not installed: racoon2 only"
	ONLY=r2
fi

G_ADDR=198.51.100.1 R_ADDR=198.51.100.2 PLEN=25
SRC_NET=198.51.100.128/25 SRC0=198.51.100.129
ns_add g; ns_add r
ns_link g vg r vr
ns_addr g vg $G_ADDR/$PLEN
ns_addr r vr $R_ADDR/$PLEN
ip -n "$(ns g)" route add local $SRC_NET dev lo
ns_route r $SRC_NET $G_ADDR
for n in g r; do
	ns_exec $n sysctl -qw net.core.rmem_max=8388608 net.core.wmem_max=8388608 \
		net.ipv6.route.max_size=1048576 >/dev/null 2>&1
done
if [ "${RPS_G:-1}" != 0 ]; then
	ns_exec g sh -c 'echo 1 >/sys/class/net/vg/queues/rx-0/rps_cpus' ||
		log "RPS on vg not set: r2load's receive is charged to the responder"
fi
ns_exec g ping -c1 -W2 $R_ADDR >/dev/null 2>&1

PSK=ike-hold-bench-psk-0123456789
printf '%s\n' "$PSK" >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"
HZ=$(getconf CLK_TCK)

cpu_ticks() { # PID: utime+stime of it and its descendants
	local t c
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for c in $(ps -o pid= --ppid "$1"); do
		t=$((t + $(cpu_ticks "$c")))
	done
	echo "$t"
}
rss_kb() { # PID: VmRSS of it and its descendants (iked: parent + engine)
	local t c
	t=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
	for c in $(ps -o pid= --ppid "$1"); do
		t=$((t + $(rss_kb "$c")))
	done
	echo "$t"
}

r2load_pid() { # PID: the r2load process below it (wrappers in between)
	local c
	for c in $(ps -o pid= --ppid "$1"); do
		if [ "$(cat /proc/$c/comm 2>/dev/null)" = r2load ]; then echo "$c"; return; fi
		r2load_pid "$c"
	done
}
r2_up() {
	cat >"$TEST_DIR/r2.conf" <<-EOF2
	interface { ike { $R_ADDR port 500; };
		ike_cookie_threshold 1000000; ike_half_open_max 1000000;
		ike_half_open_per_addr 1000000; ike_half_open_per_prefix 1000000;
		ike_sa_per_id 1000000; };
	default { remote { ikev2 {
		kmp_enc_alg { aes256_gcm16; }; kmp_prf_alg { hmac_sha2_256; };
		kmp_dh_group { ecp256; };
		kmp_sa_lifetime_time 86400 sec;
		dpd_delay $DPD sec;
	}; }; };
	remote load { acceptable_kmp { ikev2; }; ikev2 {
		my_id fqdn "resp.bench";
		peers_ipaddr IP_RW;
		kmp_auth_method { psk; }; pre_shared_key "$TEST_DIR/psk";
	}; selector_index sl-out; };
	selector sl-out { direction outbound; src "::/0"; dst "2001:db8:ff00::/40"; policy_index pl; };
	selector sl-in { direction inbound; src "2001:db8:ff00::/40"; dst "::/0"; policy_index pl; };
	policy pl { action auto_ipsec; remote_index load; ipsec_mode tunnel;
		ipsec_index { ipsec_esp; }; ipsec_level require;
		my_sa_ipaddr "$R_ADDR"; peers_sa_ipaddr IP_RW; };
	ipsec ipsec_esp { ipsec_sa_lifetime_time 86400 sec; sa_index esp_01; };
	sa esp_01 { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha2_256; }; };
	EOF2
	rm -f "$TEST_DIR/r2.sock"
	start_bg resp ip netns exec "$(ns r)" taskset -c 1 "$IKED" -F -n -k fake \
		-f "$TEST_DIR/r2.conf" --ctl-socket "$TEST_DIR/r2.sock"
	wait_for "ns_exec r '$IKEDCTL' -s '$TEST_DIR/r2.sock' ping" 30
}
charon_up() {
	local d=$TEST_DIR/charon
	rm -rf "$d"; mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<-EOF2
	charon {
		load_modular = no
		load = random nonce openssl hmac kdf kernel-libipsec kernel-netlink socket-default vici
		port = 500
		port_nat_t = 4500
		install_routes = no
		install_virtual_ip = no
		cookie_threshold = 1000000
		block_threshold = 1000000
		init_limit_half_open = 0
		syslog { daemon { default = -1 } }
		filelog { main { path = $d/charon.log
			default = 0 } }
		plugins { vici { socket = unix://$d/charon.vici } }
	}
	swanctl {
		load = random openssl pem pkcs1 pkcs8 x509
		socket = unix://$d/charon.vici
	}
	EOF2
	cat >"$d/swanctl.conf" <<-EOF2
	connections { load {
		version = 2
		local_addrs = $R_ADDR
		remote_addrs = %any
		proposals = aes256gcm16-prfsha256-ecp256
		rekey_time = 0
		reauth_time = 0
		dpd_delay = ${DPD}s
		mobike = no
		unique = never
		childless = allow
		local { auth = psk
			id = resp.bench }
		remote { auth = psk
			id = %any }
		children { load {
			mode = tunnel
			esp_proposals = aes128-sha256
			rekey_time = 0
			dpd_action = clear
			local_ts = ::/0
			remote_ts = 2001:db8:ff00::/40
		} }
	} }
	secrets { ike-any { secret = "$PSK" } }
	EOF2
	start_bg resp ip netns exec "$(ns r)" sh -c \
		'd=$1 bin=$2; mount --bind "$d/run" /run &&
		 exec env STRONGSWAN_CONF="$d/strongswan.conf" taskset -c 1 "$bin"' \
		sh "$d" "$CHARON_BIN"
	wait_for "[ -S '$d/charon.vici' ]" 20 || return 1
	ip netns exec "$(ns r)" env STRONGSWAN_CONF="$d/strongswan.conf" \
		swanctl --load-all --noprompt --file "$d/swanctl.conf" \
		--uri "unix://$d/charon.vici" >"$d/load.out" 2>&1
}
field() { # LINE KEY
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

declare -A R
rss_each() { # PID: "comm pid KB" of it and each descendant, one line each
	local c
	printf '%s %s %s\n' "$(cat "/proc/$1/comm" 2>/dev/null)" "$1" \
		"$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)"
	for c in $(ps -o pid= --ppid "$1"); do rss_each "$c"; done
}

measure() { # IMPL
	local impl=$1 pid r0 r1 out hold_line k t0 c_prev c_now cpu_max=0 cpu_sum=0 s=0
	log "$impl: $N SAs, DPD ${DPD}s, hold ${HOLD}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	if [ "$impl" = r2 ]; then r2_up; else charon_up; fi ||
		{ log "$impl did not start"; stop_bg resp TERM 20; return 1; }
	pid=$(bg_pid resp)
	sleep 1
	r0=$(rss_kb "$pid")
	rss_each "$pid" >"$TEST_DIR/rss0.$impl"
	# r2load holds HOLD + 15 s after the last setup: 5 s settle, HOLD measured
	ns_exec g timeout -s TERM $((RUN_LIMIT + HOLD + 60)) taskset -c 0 "$R2LOAD" \
		-t $R_ADDR -s $SRC0 -a 100 -c "$W" -n "$N" -g ecp256 -k "$TEST_DIR/psk" \
		-T 3000 -N 4 -E aes128 -U -H $((HOLD + 15)) ${CHILDLESS:+-C} \
		>"$TEST_DIR/r2load.$impl.out" 2>"$TEST_DIR/r2load.$impl.err" &
	local lpid=$!
	t0=$(date +%s)
	while ! grep -q 'holding' "$TEST_DIR/r2load.$impl.err" 2>/dev/null; do
		kill -0 $lpid 2>/dev/null || break
		if [ $(($(date +%s) - t0)) -gt "$RUN_LIMIT" ]; then
			# no new setups; the hold begins once those in flight end
			log "  setups cut at RUN_LIMIT"; kill -USR1 "$(r2load_pid $lpid)"
			while ! grep -q 'holding' "$TEST_DIR/r2load.$impl.err" 2>/dev/null &&
				kill -0 $lpid 2>/dev/null; do sleep 1; done
			break
		fi
		sleep 1
	done
	R[$impl,load_setup]=$(cut -d' ' -f1 /proc/loadavg)
	sleep 5
	r1=$(rss_kb "$pid")
	# which process holds the memory (iked: privsep parent and engine)
	rss_each "$pid" | while read -r comm p kb; do
		log "  rss $comm[$p] $kb kB (at start $(awk -v p="$p" '$2 == p { print $3 }' "$TEST_DIR/rss0.$impl") kB)"
	done
	local perfpid=
	if [ -n "${PROFILE:-}" ] && command -v perf >/dev/null; then
		perf record -q -F 499 -g -o "$TEST_DIR/perf.$impl.data" \
			-p "$(echo "$pid" $(ps -o pid= --ppid "$pid") | tr -s ' ' ',')" \
			>/dev/null 2>&1 &
		perfpid=$!
	fi
	c_prev=$(cpu_ticks "$pid")
	local c_first=$c_prev
	for ((s = 0; s < HOLD; s++)); do
		sleep 1
		c_now=$(cpu_ticks "$pid")
		[ $((c_now - c_prev)) -gt "$cpu_max" ] && cpu_max=$((c_now - c_prev))
		c_prev=$c_now
	done
	R[$impl,load_hold]=$(cut -d' ' -f1 /proc/loadavg)
	if [ -n "$perfpid" ]; then
		kill -INT "$perfpid" 2>/dev/null; wait "$perfpid" 2>/dev/null
	fi
	R[$impl,rss_hold]=$(rss_kb "$pid")
	wait $lpid
	out=$(grep '^r2load: n=' "$TEST_DIR/r2load.$impl.out")
	hold_line=$(grep '^r2load-hold:' "$TEST_DIR/r2load.$impl.out")
	log "  $out"
	log "  $hold_line"
	for k in setups_per_s established failed secs; do R[$impl,$k]=$(field "$out" "$k"); done
	for k in answered answered_per_s other bad; do R[$impl,h_$k]=$(field "$hold_line" "$k"); done
	# answered per second over the measured window (r2load's hold lines 6..HOLD+5)
	R[$impl,ans_minmax]=$(grep -a 'r2load: hold' "$TEST_DIR/r2load.$impl.err" |
		sed -n "6,$((HOLD + 5))p" | sed 's/.*(\([0-9]*\)\/s).*/\1/' |
		awk 'NR == 1 { mn = $1; mx = $1 } { if ($1 < mn) mn = $1; if ($1 > mx) mx = $1 }
		     END { printf "%s-%s", mn, mx }')
	local ne=${R[$impl,established]:-0}
	[ "${ne:-0}" -gt 0 ] 2>/dev/null || ne=1
	R[$impl,bpsa]=$(awk -v a="$r1" -v b="$r0" -v n="$ne" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
	R[$impl,rss_mb]=$(awk -v k="$r1" 'BEGIN { printf "%.1f", k / 1024 }')
	R[$impl,cpu_mean]=$(awk -v c="$((c_prev - c_first))" -v h="$HZ" -v s="$HOLD" \
		'BEGIN { printf "%.1f", 100 * c / h / s }')
	R[$impl,cpu_max]=$(awk -v c="$cpu_max" -v h="$HZ" 'BEGIN { printf "%.0f", 100 * c / h }')
	R[$impl,ok]=1
	stop_bg resp TERM 60
	[ "$impl" = r2 ] && mv "$TEST_DIR/resp.log" "$TEST_DIR/iked.log" 2>/dev/null
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "-" }'; }

T0=$(date +%s)
case $ONLY in r2) IMPLS=r2 ;; charon) IMPLS=charon ;; *) IMPLS="r2 charon" ;; esac
for impl in $IMPLS; do measure "$impl"; done

printf '\n%s, %s cores (%s), %s UTC; racoon2 = iked -n -k fake, charon %s + kernel-libipsec; responder on core 1, r2load on core 0\n' \
	"$(uname -r)" "$(nproc)" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	"$(date -u '+%Y-%m-%d %H:%M')" "$("$CHARON_BIN" --version 2>/dev/null | head -1 | awk '{ print $NF }')"
printf 'N=%s IKE SA%s (ECP-256), DPD %s s, idle hold %s s\n' "$N" \
	"$([ -n "$CHILDLESS" ] && echo ' (childless)' || echo ' + CHILD SA')" "$DPD" "$HOLD"
printf '| %-7s | %11s | %8s | %7s | %8s | %9s | %8s | %8s | %11s | %9s |\n' \
	daemon established setups/s "RSS MB" "B/SA" "idle CPU" "max 1 s" "checks/s" "min-max/s" "load avg"
printf '|%s|\n' "---------|-------------|----------|---------|----------|-----------|----------|----------|-------------|-----------"
for impl in $IMPLS; do
	[ -n "${R[$impl,ok]:-}" ] || continue
	printf '| %-7s | %11s | %8s | %7s | %8s | %8s%% | %7s%% | %8s | %11s | %9s |\n' \
		"$([ $impl = r2 ] && echo iked || echo charon)" "${R[$impl,established]}" \
		"${R[$impl,setups_per_s]}" "${R[$impl,rss_mb]}" "${R[$impl,bpsa]}" \
		"${R[$impl,cpu_mean]}" "${R[$impl,cpu_max]}" "${R[$impl,h_answered_per_s]}" \
		"${R[$impl,ans_minmax]}" "${R[$impl,load_setup]}/${R[$impl,load_hold]}"
done
if [ -n "${R[r2,ok]:-}" ] && [ -n "${R[charon,ok]:-}" ]; then
	printf '| %-7s | %11s | %8s | %7s | %8s | %9s | %8s | %8s | %11s | %9s |\n' iked/ch "" \
		"$(ratio "${R[r2,setups_per_s]}" "${R[charon,setups_per_s]}")" \
		"$(ratio "${R[r2,rss_mb]}" "${R[charon,rss_mb]}")" \
		"$(ratio "${R[r2,bpsa]}" "${R[charon,bpsa]}")" \
		"$(ratio "${R[r2,cpu_mean]}" "${R[charon,cpu_mean]}")" "" "" "" ""
fi
printf 'idle CPU = mean share of one core over the hold; checks/s = DPD requests r2load answered (even rate N/DPD = %s/s)\n' \
	"$(awk -v n="$N" -v d="$DPD" 'BEGIN { printf "%.0f", n / d }')"
printf 'total %s s; logs in %s (KEEP=1 keeps them)\n' "$(($(date +%s) - T0))" "$TEST_DIR"
