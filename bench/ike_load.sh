#!/usr/bin/env bash
# ike_load.sh - benchmark (not a test; the test suite does not run it):
# how many peers per second a RESPONDER takes, with how much CPU and
# memory per SA, on 1 and 2 cores -- iked and strongSwan's charon driven
# the same way by tools/r2load (issue 14), measured in one run.
#
# Two namespaces: g (r2load; sources 198.51.100.129.. through an AnyIP
# local route for 198.51.100.128/25, 100 addresses, one socket each: SAs
# are told apart by SPI, so the count is not limited by addresses; OUTER=6
# uses 2001:db8:100::/64) and r (the responder, 198.51.100.2).  The
# responder is
#   - racoon2: iked -n -k fake (CHILD SAs in the in-memory fake backend),
#     privilege separated as users run it, no debug log; one IP_RW remote
#     without peers_id (any identity proving the group PSK) with a tunnel
#     policy whose envelope is 2001:db8:ff00::/40 (each SA's TSi is a /128
#     of its own, so no two peers' selectors overlap);
#   - charon 5.9 with kernel-libipsec (CHILD SAs and policies in charon's
#     own userspace SAD/SPD, no routes: its in-memory counterpart; the
#     kernel-netlink path cannot install an ESP SA on this kernel), one
#     connection for %any with the same PSK, unique = never,
#     childless = allow.
# kernel-libipsec takes only UDP-encapsulated ESP SAs, so r2load claims a
# NAT (-U: NAT-D notifies, IKE_AUTH onward on port 4500) against both.
# Both: AES-GCM-16-256 / PRF-HMAC-SHA2-256 / the group, ESP AES-CBC-128 /
# HMAC-SHA2-256-128 (as bench/ike_setup.sh's cbc suite), no
# cookies (thresholds raised), no rekeying, no DPD.  r2load uses one
# identity per SA (r2load-K.bench), one reused DH key pair, a window of
# W negotiations in flight, as fast as possible.
#
# Figures (each next to its anchor from the same run, with the ratio):
#   speed: setups/s (r2load: N / wall time) and responder CPU ms per SA
#          (utime+stime of the daemon and its children, delta / N), for
#          ECP-256, Curve25519 and MODP-2048, childless IKE SAs (RFC 6023:
#          the IKE work alone) and IKE SA + CHILD SA; latency p50/p99;
#   cores: ECP-256 childless and with a CHILD SA (CORE_MODES), the
#          responder on 1 core (taskset -c 1) and on 2 (taskset -c 0,1);
#          r2load runs on core 0 in both, so in the 2-core case it
#          competes with the responder (stated); iked runs with its
#          default --workers (CPUs in its affinity mask: none on 1 core,
#          2 crypto workers on 2).  These rows (only these) run r2load
#          with -G (CORE_GEN; tools/r2load/README.md): DH private value 1,
#          so r2load sends the curve's base point and takes the
#          responder's public x-coordinate as g^ir, no EC arithmetic of
#          its own.  With its reused key pair r2load needs ~0.10 ms CPU
#          per SA (one ECDH derivation), nearly the responder's own, and
#          the pair could not go past ~2 / (0.12 + 0.10) ms on two cores;
#          with -G ~0.05 ms (the UDP send/receive, veth delivery, PRF,
#          AEAD).  The responder's work is the same (its key generation
#          and derivation against a valid point).  The Speed rows keep the
#          reused pair: r2load has its own core there, and the rows stay
#          comparable with earlier runs.  The table shows r2load's CPU
#          per SA (gen ms) for each run, and "pair cap/s" = 2 x 1000 /
#          (responder ms + gen ms): what the two cores allow the pair at
#          the 2-core run's CPU costs; "2c/pair" near 1 means the
#          responder took all the CPU the generator left it;
#   bound: `openssl speed` ECDH/FFDH op/s for each group on this machine
#          (one core); a responder does one key generation and one
#          derivation per SA, counted as 2 ops, so the bound is
#          op/s / 2 per core, and the share is setups/s / bound;
#   cap:   1000 / CPU ms per SA, the rate the responder's CPU cost
#          allows on one saturated core, and its share of the bound
#          ("cap sh"); on a busy machine r2load (core 0) may not drive
#          the responder to saturation: then setups/s measures r2load
#          and cap/s is the responder's figure (iked/ch in the cap/s
#          column: charon's CPU per SA / iked's);
#   memory: VmRSS delta / N of the responder holding N IKE SA + CHILD SA
#          (ECP-256): N = 10,000, and 100,000 with --full.
#
#   gen ms: r2load's own CPU ms per SA (it must stay well below the
#          responder's, or the responder is not what saturates).
#
# usage: bench/ike_load.sh [--quick|--full] [-b BUILD_DIR] [-B BASE_BUILD]
#                          [-o r2|charon|both] [-g "ecp256 curve25519 modp2048"]
#                          [-n N] [-w W]
#   -B: also run iked from BASE_BUILD ("iked-B" rows, "iked/B" ratios:
#   before/after in one run); -w: negotiations in flight (128).
#   --quick: N=1000 per speed run, memory at 10,000 (about 5 minutes);
#   default: N=5000; --full: N=10000 and memory at 10,000 and 100,000.
#   Root; namespaces r2l-PID-*, removed on exit (KEEP=1 keeps the logs).
#   PROFILE=1 records each measured run of the responder with perf
#   (perf.IMPL.GROUP.MODE.CPUS.N.data in the log directory, CPUS 1 or
#   0-1; use with KEEP=1).
#   R2LOAD_ARGS adds r2load flags (e.g. "-R 2 -D": rekeys and DELETE).
#   STRACE=1 counts iked's privileged parent's wakeups (epoll_wait calls,
#   strace -c) per SA; with -w 1 one per batch of kernel requests.
#   RUN_LIMIT (120 --quick, 300, 1800 --full): seconds one r2load run
#   may take; CPU ms and bytes
#   are per SA established, and the established/failed counts are shown.
#   NICE (-20): see below; MODES ("childless child"; "" = no speed
#   runs: the memory part alone, with NO_2CORE=1), NO_2CORE=1,
#   MEM_NS_OVERRIDE="" (no memory runs) run parts only; CORE_MODES
#   ("childless child") the Cores rows' modes, CORE_GEN (-G; "" = r2load's
#   reused key pair, as before 2026-12-08) their r2load DH; PERF_CG (fp;
#   "dwarf,16384" for a build without frame pointers) is perf's
#   --call-graph; R2LOAD_WRAP prefixes r2load (e.g. perf record).
set -u
# NICE (-20): the bench (responder, r2load, openssl speed) runs in a
# session of its own whose autogroup gets this niceness, and each process
# too, so that on a shared machine other sessions on the same cores take
# little of its time (the kernel weighs autogroups, not processes, when
# sched_autogroup is on; a plain `nice` would change nothing). NICE=0:
# as started.
NICE=${NICE:--20}
if [ "$NICE" != 0 ] && [ -z "${IKE_LOAD_SESSION:-}" ] && [ -w /proc/self/autogroup ]; then
	IKE_LOAD_SESSION=1 exec setsid -w "$0" "$@"
fi
[ "$NICE" != 0 ] && echo "$NICE" >/proc/self/autogroup 2>/dev/null
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
MODE=default
ONLY=both
GROUPS_="ecp256 curve25519 modp2048"
N=
BASE=
W=128
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick ;;
	--full) MODE=full ;;
	-b) BUILD=$(cd "$2" && pwd); shift ;;
	-o) ONLY=$2; shift ;;
	-B) BASE=$(cd "$2" && pwd); shift ;;
	-g) GROUPS_=$2; shift ;;
	-n) N=$2; shift ;;
	-w) W=$2; shift ;;
	*) sed -n '2,95p' "$0"; exit 2 ;;
	esac
	shift
done
case $MODE in
quick) N=${N:-1000}; MEM_NS="10000"; RUN_LIMIT=${RUN_LIMIT:-120} ;;
full) N=${N:-10000}; MEM_NS="10000 100000"; RUN_LIMIT=${RUN_LIMIT:-1800} ;;
*) N=${N:-5000}; MEM_NS="10000"; RUN_LIMIT=${RUN_LIMIT:-300} ;;
esac
MEM_NS=${MEM_NS_OVERRIDE-$MEM_NS}
MODES=${MODES-childless child}
IKED=$BUILD/src/ike/iked
IKEDCTL=$BUILD/src/ike/ikedctl
R2LOAD=$BUILD/tools/r2load/r2load
BASE_IKED=${BASE:+$BASE/src/ike/iked}
for b in "$IKED" "$R2LOAD" $BASE_IKED; do
	[ -x "$b" ] || { echo "no $b (ninja -C $BUILD)" >&2; exit 1; }
done

. "$TOP/tests/lib/netns.sh"
netns_init r2l ike_load
CHARON_BIN=${CHARON_BIN:-/usr/lib/ipsec/charon}
if [ "$ONLY" != r2 ] && { [ ! -x "$CHARON_BIN" ] || ! command -v swanctl >/dev/null; }; then
	log "charon/swanctl not installed: racoon2 only"
	ONLY=r2
fi
NCPU=$(nproc)

# outer addresses: IPv4 by default (OUTER=6: IPv6, 2001:db8:100::/64)
if [ "${OUTER:-4}" = 6 ]; then
	G_ADDR=2001:db8:1::1 R_ADDR=2001:db8:1::2 PLEN=64
	SRC_NET=2001:db8:100::/64 SRC0=2001:db8:100::1
else
	G_ADDR=198.51.100.1 R_ADDR=198.51.100.2 PLEN=25
	SRC_NET=198.51.100.128/25 SRC0=198.51.100.129
fi
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
# neighbours resolved before the first measurement
ns_exec g ping -c1 -W2 $R_ADDR >/dev/null 2>&1

PSK=ike-load-bench-psk-0123456789
printf '%s\n' "$PSK" >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"
HZ=$(getconf CLK_TCK)
# group -> charon proposal name
declare -A CH_DH=([ecp256]=ecp256 [curve25519]=x25519 [modp2048]=modp2048)
declare -A LABEL=([ecp256]=ECP-256 [curve25519]=Curve25519 [modp2048]=MODP-2048)

cpu_ticks() { # PID: utime+stime of it and its descendants
	local t c
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for c in $(ps -o pid= --ppid "$1"); do
		t=$((t + $(cpu_ticks "$c")))
	done
	echo "$t"
}
vcsw() { # PID: its voluntary context switches (iked's privileged parent:
	# one per wakeup, i.e. per batch of the engine's kernel requests)
	awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
rss_kb() { # PID: VmRSS of it and its descendants (iked: parent + engine)
	local t c
	t=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
	for c in $(ps -o pid= --ppid "$1"); do
		t=$((t + $(rss_kb "$c")))
	done
	echo "$t"
}

# ---- responders ----
r2_conf() { # GROUP
	cat >"$TEST_DIR/r2.conf" <<-EOF
	interface { ike { $R_ADDR port 500; };
		ike_cookie_threshold 1000000; ike_half_open_max 1000000;
		ike_half_open_per_addr 1000000; ike_half_open_per_prefix 1000000;
		ike_sa_per_id 1000000; };
	default { remote { ikev2 {
		kmp_enc_alg { aes256_gcm16; }; kmp_prf_alg { hmac_sha2_256; };
		kmp_dh_group { $1; };
		kmp_sa_lifetime_time 86400 sec;
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
	EOF
}
r2_up() { # CPUS GROUP [IKED]
	local bin=${3:-$IKED}
	r2_conf "$2"
	rm -f "$TEST_DIR/r2.sock"
	start_bg resp ip netns exec "$(ns r)" nice -n "$NICE" taskset -c "$1" "$bin" -F -n -k fake \
		-f "$TEST_DIR/r2.conf" --ctl-socket "$TEST_DIR/r2.sock"
	wait_for "ns_exec r '$IKEDCTL' -s '$TEST_DIR/r2.sock' ping" 30
}
charon_up() { # CPUS GROUP
	local d=$TEST_DIR/charon
	rm -rf "$d"; mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<-EOF
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
			default = 0
			ike = ${CH_LOG:-0}
			cfg = ${CH_LOG:-0}
			knl = ${CH_LOG:-0}
			chd = ${CH_LOG:-0}
			esp = ${CH_LOG:-0}
			lib = ${CH_LOG:-0} } }
		plugins { vici { socket = unix://$d/charon.vici } }
	}
	swanctl {
		load = random openssl pem pkcs1 pkcs8 x509
		socket = unix://$d/charon.vici
	}
	EOF
	cat >"$d/swanctl.conf" <<-EOF
	connections { load {
		version = 2
		local_addrs = $R_ADDR
		remote_addrs = %any
		proposals = aes256gcm16-prfsha256-${CH_DH[$2]}
		rekey_time = 0
		reauth_time = 0
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
			local_ts = ::/0
			remote_ts = 2001:db8:ff00::/40
		} }
	} }
	secrets { ike-any { secret = "$PSK" } }
	EOF
	start_bg resp ip netns exec "$(ns r)" sh -c \
		'd=$1 bin=$2 cpus=$3; mount --bind "$d/run" /run &&
		 exec env STRONGSWAN_CONF="$d/strongswan.conf" nice -n "$4" taskset -c "$cpus" "$bin"' \
		sh "$d" "$CHARON_BIN" "$1" "$NICE"
	wait_for "[ -S '$d/charon.vici' ]" 20 || return 1
	ip netns exec "$(ns r)" env STRONGSWAN_CONF="$d/strongswan.conf" \
		swanctl --load-all --noprompt --file "$d/swanctl.conf" \
		--uri "unix://$d/charon.vici" >"$d/load.out" 2>&1
}
resp_pid() { # the daemon (not taskset/sh wrappers: they exec)
	bg_pid resp
}

# ---- one run ----
# R[key] = value; key = impl,group,mode,cores,n,field
declare -A R
load() { # N MODE(childless|child) GROUP [extra r2load args]
	local n=$1 mode=$2 grp=$3; shift 3
	local extra=()
	[ "$mode" = childless ] && extra+=(-C)
	# RUN_LIMIT: seconds a run may take (r2load prints what it reached)
	ns_exec g timeout -s TERM "${RUN_LIMIT:-300}" nice -n "$NICE" taskset -c 0 ${R2LOAD_WRAP:-} "$R2LOAD" -q -t $R_ADDR -s $SRC0 \
		-a 100 -c "$W" -n "$n" -g "$grp" -k "$TEST_DIR/psk" -T 3000 -N 4 \
		-E aes128 -U "${extra[@]}" ${GEN:-} ${R2LOAD_ARGS:-} "$@"
}
field() { # SUMMARY KEY
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}
measure() { # IMPL GROUP MODE CPUS N (GEN: r2load's DH flag, in the key)
	local impl=$1 grp=$2 mode=$3 cpus=$4 n=$5 pid c0 c1 r0 r1 v0 v1 out k
	local key="$impl,$grp,$mode,$cpus,$n${GEN:+,$GEN}"
	log "$impl ${LABEL[$grp]} $mode cores $cpus N=$n${GEN:+ r2load $GEN}"
	case $impl in
	r2) r2_up "$cpus" "$grp" ;;
	base) r2_up "$cpus" "$grp" "$BASE_IKED" ;;
	*) charon_up "$cpus" "$grp" ;;
	esac ||
		{ log "$impl did not start"; stop_bg resp TERM 20; return 1; }
	pid=$(resp_pid)
	# warm-up outside the figures (first allocations, threads)
	load 20 "$mode" "$grp" -I "warm-%u.bench" -i 2001:db8:ffff:ffff:: >/dev/null 2>&1
	sleep 1
	c0=$(cpu_ticks "$pid") r0=$(rss_kb "$pid") v0=$(vcsw "$pid")
	local perfpid=
	if [ -n "${PROFILE:-}" ] && command -v perf >/dev/null; then
		# PROFILE=1: perf record of the responder (and iked's engine)
		perf record -q -F 999 --call-graph "${PERF_CG:-fp}" -o "$TEST_DIR/perf.$impl.$grp.$mode.${cpus/,/-}.$n.data" \
			-p "$(echo "$pid" $(ps -o pid= --ppid "$pid") | tr -s ' ' ',')" \
			>/dev/null 2>&1 &
		perfpid=$!
		sleep 0.5
	fi
	local stpid= stfile=$TEST_DIR/strace.$impl.$grp.$mode.$n
	if [ -n "${STRACE:-}" ] && [ "$impl" != charon ] && command -v strace >/dev/null; then
		# STRACE=1: the privileged parent's loop iterations (one
		# epoll_wait each: its wakeups), counted by strace -c
		strace -q -c -e trace=epoll_wait -o "$stfile" -p "$pid" 2>/dev/null &
		stpid=$!
		sleep 0.5
	fi
	out=$(load "$n" "$mode" "$grp" 2>"$TEST_DIR/r2load.err")
	if [ -n "$stpid" ]; then
		sleep 0.5
		kill -INT "$stpid" 2>/dev/null; wait "$stpid" 2>/dev/null
	fi
	if [ -n "$perfpid" ]; then
		kill -INT "$perfpid" 2>/dev/null; wait "$perfpid" 2>/dev/null
	fi
	sleep 1 # the responder's last installs
	c1=$(cpu_ticks "$pid") r1=$(rss_kb "$pid") v1=$(vcsw "$pid")
	stop_bg resp TERM 30
	[ "$impl" = charon ] && mv "$TEST_DIR/charon/charon.log" \
		"$TEST_DIR/charon.$grp.$mode.$cpus.$n.log" 2>/dev/null
	[ "$impl" != charon ] && mv "$TEST_DIR/resp.log" "$TEST_DIR/$impl.$grp.$mode.$cpus.$n.log"
	log "  $out"
	for k in setups_per_s established failed p50_ms p99_ms secs gen_cpu_ms; do
		R[$key,$k]=$(field "$out" "$k")
	done
	# per established SA (a run cut by RUN_LIMIT or with failures)
	local ne=${R[$key,established]:-0}
	[ "${ne:-0}" -gt 0 ] 2>/dev/null || ne=$n
	R[$key,cpu_ms]=$(awk -v a="$c1" -v b="$c0" -v h="$HZ" -v n="$ne" \
		'BEGIN { printf "%.3f", (a - b) * 1000 / h / n }')
	R[$key,rss_mb]=$(awk -v k="$r1" 'BEGIN { printf "%.1f", k / 1024 }')
	R[$key,bpsa]=$(awk -v a="$r1" -v b="$r0" -v n="$ne" \
		'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
	R[$key,vcsw]=$(awk -v a="$v1" -v b="$v0" -v n="$ne" \
		'BEGIN { printf "%.2f", (a - b) / n }')
	# iked: the privileged parent's wakeups per SA (charon: its main
	# thread's voluntary switches, not comparable)
	log "  voluntary context switches of pid $pid per SA: ${R[$key,vcsw]} (bytes/SA ${R[$key,bpsa]})"
	if [ -n "$stpid" ] && [ -s "$stfile" ]; then
		R[$key,wakeups]=$(awk -v n="$ne" '$NF == "epoll_wait" { printf "%.2f", $4 / n }' "$stfile")
		log "  privileged parent: epoll_wait calls (wakeups) per SA: ${R[$key,wakeups]}"
	fi
	R[$key,ok]=1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "-" }'; }

# ---- openssl speed: the DH bound per core ----
declare -A OPS
ossl_ops() { # GROUP: op/s of one derivation on one core
	local alg
	case $1 in
	ecp256) alg=ecdhp256 ;;
	curve25519) alg=ecdhx25519 ;;
	modp2048) alg=ffdh2048 ;;
	esac
	nice -n "$NICE" taskset -c 1 openssl speed -seconds 2 "$alg" 2>/dev/null |
		awk '/op\/s/ { hdr = 1; next } hdr && NF { print $(NF); exit }'
}

impls() {
	case $ONLY in r2) echo r2 ;; charon) echo charon ;; *) echo r2 charon ;; esac
	[ -n "$BASE" ] && echo base
}
name() { # impl -> the table's daemon name
	case $1 in r2) echo iked ;; base) echo iked-B ;; *) echo charon ;; esac
}

# ---- runs ----
T0=$(date +%s)
LOAD0=$(uptime | sed 's/.*load average: //')
for grp in $GROUPS_; do
	OPS[$grp]=$(ossl_ops "$grp")
	for mode in $MODES; do
		for impl in $(impls); do
			measure "$impl" "$grp" "$mode" 1 "$N"
		done
	done
done
CORE_MODES=${CORE_MODES-childless child}
CORE_GEN=${CORE_GEN--G}
if [ "$NCPU" -ge 2 ] && [ -z "${NO_2CORE:-}" ]; then
	for mode in $CORE_MODES; do
		for impl in $(impls); do
			GEN=$CORE_GEN measure "$impl" ecp256 "$mode" 1 "$N"
			GEN=$CORE_GEN measure "$impl" ecp256 "$mode" 0,1 "$N"
		done
	done
fi
for m in $MEM_NS; do
	for impl in $(impls); do
		W=256 measure "$impl" ecp256 child 1 "$m"
	done
done

# ---- tables ----
printf '\n%s, %s cores (%s), %s; racoon2 = iked -n -k fake, charon %s + kernel-libipsec; window %s, r2load on core 0\n' \
	"$(uname -r)" "$NCPU" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	"$(date -u +%Y-%m-%d)" "$("$CHARON_BIN" --version 2>/dev/null | head -1 | awk '{ print $NF }')" "$W"
printf '\nSpeed: responder on 1 core (taskset -c 1), N=%s; bound = openssl speed op/s / 2 (keygen + derive per SA)\n' "$N"
printf '| %-10s | %-9s | %-7s | %9s | %8s | %7s | %7s | %7s | %7s | %9s | %7s | %7s | %7s |\n' \
	group mode daemon setups/s "CPU ms" "gen ms" "p50 ms" "p99 ms" failed "bound/s" share cap/s "cap sh"
printf '|%s|\n' "------------|-----------|---------|-----------|----------|---------|---------|---------|---------|-----------|---------|---------|---------"
for grp in $GROUPS_; do
	bound=$(awk -v o="${OPS[$grp]:-0}" 'BEGIN { printf "%.0f", o / 2 }')
	for mode in childless child; do
		for impl in $(impls); do
			k="$impl,$grp,$mode,1,$N"
			[ -n "${R[$k,ok]:-}" ] || continue
			cap=$(awk -v c="${R[$k,cpu_ms]}" 'BEGIN { if (c > 0) printf "%.0f", 1000 / c; else print "-" }')
			printf '| %-10s | %-9s | %-7s | %9s | %8s | %7s | %7s | %7s | %7s | %9s | %7s | %7s | %7s |\n' \
				"${LABEL[$grp]}" "$mode" "$(name $impl)" \
				"${R[$k,setups_per_s]}" "${R[$k,cpu_ms]}" "${R[$k,gen_cpu_ms]:--}" "${R[$k,p50_ms]}" \
				"${R[$k,p99_ms]}" "${R[$k,failed]}" "$bound" \
				"$(awk -v a="${R[$k,setups_per_s]}" -v b="$bound" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')" \
				"$cap" "$(awk -v a="$cap" -v b="$bound" 'BEGIN { if (b > 0 && a + 0 > 0) printf "%.0f%%", 100 * a / b; else print "-" }')"
		done
		for b in charon base; do
			a="r2,$grp,$mode,1,$N" b="$b,$grp,$mode,1,$N"
			[ -n "${R[$a,ok]:-}" ] && [ -n "${R[$b,ok]:-}" ] || continue
			printf '| %-10s | %-9s | %-7s | %9s | %8s | %7s | %7s | %7s | %7s | %9s | %7s | %7s | %7s |\n' \
				"${LABEL[$grp]}" "$mode" "$([ "${b%%,*}" = base ] && echo iked/B || echo iked/ch)" \
				"$(ratio "${R[$a,setups_per_s]}" "${R[$b,setups_per_s]}")" \
				"$(ratio "${R[$a,cpu_ms]}" "${R[$b,cpu_ms]}")" "" \
				"$(ratio "${R[$a,p50_ms]}" "${R[$b,p50_ms]}")" \
				"$(ratio "${R[$a,p99_ms]}" "${R[$b,p99_ms]}")" "" "" "" \
				"$(ratio "${R[$b,cpu_ms]}" "${R[$a,cpu_ms]}")" ""
		done
	done
done
if [ "$NCPU" -ge 2 ] && [ -z "${NO_2CORE:-}" ]; then
	printf '\nCores: ECP-256, N=%s, r2load %s on core 0 (2 cores: r2load shares core 0)\n' "$N" "${CORE_GEN:-with its reused key pair}"
	printf '(gen ms = r2load CPU ms per SA; cap = 1000 / CPU ms (1c), 2 x 1000 / CPU ms (2c); pair cap/s = 2 x 1000 / (2c ms + 2c gen ms))\n'
	printf '| %-9s | %-7s | %9s | %9s | %6s | %6s | %6s | %7s | %7s | %8s | %8s | %7s | %10s | %7s |\n' mode daemon "1 core /s" "2 cores/s" "2c/1c" \
		"1c ms" "2c ms" "1c gen" "2c gen" "1c cap/s" "2c cap/s" "cap 2/1" "pair cap/s" "2c/pair"
	printf '|%s|\n' "-----------|---------|-----------|-----------|--------|--------|--------|---------|---------|----------|----------|---------|------------|---------"
	for mode in $CORE_MODES; do
		for impl in $(impls); do
			a="$impl,ecp256,$mode,1,$N${CORE_GEN:+,$CORE_GEN}" b="$impl,ecp256,$mode,0,1,$N${CORE_GEN:+,$CORE_GEN}"
			[ -n "${R[$a,ok]:-}" ] || continue
			c1=$(awk -v c="${R[$a,cpu_ms]}" 'BEGIN { if (c > 0) printf "%.0f", 1000 / c; else print "-" }')
			c2=$(awk -v c="${R[$b,cpu_ms]:-0}" 'BEGIN { if (c > 0) printf "%.0f", 2000 / c; else print "-" }')
			pc=$(awk -v c="${R[$b,cpu_ms]:-0}" -v g="${R[$b,gen_cpu_ms]:-0}" 'BEGIN { if (c + g > 0) printf "%.0f", 2000 / (c + g); else print "-" }')
			printf '| %-9s | %-7s | %9s | %9s | %6s | %6s | %6s | %7s | %7s | %8s | %8s | %7s | %10s | %7s |\n' "$mode" "$(name $impl)" \
				"${R[$a,setups_per_s]}" "${R[$b,setups_per_s]:-}" \
				"$(ratio "${R[$b,setups_per_s]:-}" "${R[$a,setups_per_s]}")" \
				"${R[$a,cpu_ms]}" "${R[$b,cpu_ms]:-}" "${R[$a,gen_cpu_ms]:--}" "${R[$b,gen_cpu_ms]:--}" \
				"$c1" "$c2" "$(ratio "$c2" "$c1")" "$pc" "$(ratio "${R[$b,setups_per_s]:-}" "$pc")"
		done
	done
fi
printf '\nMemory: responder holding N IKE SA + CHILD SA (ECP-256), VmRSS of the daemon and its children\n'
printf '| %7s | %-7s | %9s | %9s | %9s | %7s |\n' N daemon "RSS MB" "B/SA" established failed
printf '|%s|\n' "---------|---------|-----------|-----------|-----------|---------"
for m in $MEM_NS; do
	for impl in $(impls); do
		k="$impl,ecp256,child,1,$m"
		[ -n "${R[$k,ok]:-}" ] || continue
		printf '| %7s | %-7s | %9s | %9s | %9s | %7s |\n' "$m" \
			"$(name $impl)" "${R[$k,rss_mb]}" \
			"${R[$k,bpsa]}" "${R[$k,established]}" "${R[$k,failed]}"
	done
	a="r2,ecp256,child,1,$m" b="charon,ecp256,child,1,$m"
	[ -n "${R[$a,ok]:-}" ] && [ -n "${R[$b,ok]:-}" ] &&
		printf '| %7s | %-7s | %9s | %9s | %9s | %7s |\n' "$m" "iked/ch" \
			"$(ratio "${R[$a,rss_mb]}" "${R[$b,rss_mb]}")" \
			"$(ratio "${R[$a,bpsa]}" "${R[$b,bpsa]}")" "" ""
done
printf '\nopenssl speed (1 core):'
for grp in $GROUPS_; do printf ' %s %s op/s;' "${LABEL[$grp]}" "${OPS[$grp]:-?}"; done
printf '\nload average (1, 5, 15 min): %s at the start, %s at the end; bench at nice %s (own autogroup)\n' \
	"$LOAD0" "$(uptime | sed 's/.*load average: //')" "$NICE"
printf '\ntotal %s s; logs in %s (KEEP=1 keeps them)\n' "$(($(date +%s) - T0))" "$TEST_DIR"
