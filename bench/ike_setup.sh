#!/usr/bin/env bash
# ike_setup.sh - benchmark (not a test; the test suite does not run it):
# IKEv2 setup rate, CPU and memory of racoon2's iked against strongSwan's
# charon, measured in one run so that both share the machine's load.
#
# For each suite and each N, two namespaces (initiator a, responder b,
# 198.51.100.1 <-> .2) establish N IKE SAs, each with one tunnel-mode
# CHILD SA (distinct traffic selectors 2001:db8:aK::/64 ===
# 2001:db8:bK::/64, distinct IDs a-K.bench / b-K.bench, one PSK):
#   - racoon2: iked -n -k fake on both sides (N remotes + N policies in a
#     generated racoon2.conf), started through iked's control socket
#     ("initiate rK", as ikedctl sends it);
#   - strongSwan charon 5.9 on both sides with kernel-libipsec (CHILD SAs
#     and policies kept in charon's own userspace SAD/SPD, routes not
#     installed: the counterpart of racoon2's in-memory fake backend; the
#     kernel-netlink path cannot install an ESP SA on this kernel), N
#     swanctl connections, started with vici "initiate" (timeout -1: no
#     wait, as iked's control command).
# Both controllers run in one Python process (no ikedctl/swanctl process
# per SA) and keep at most WINDOW negotiations in flight; completion is
# read from each initiator's log ("CHILD SA ... installed" for iked at
# -d, "CHILD_SA ... established" for charon at ike=1).  Cookies are kept
# out of the way on both sides (WINDOW stays below iked's COOKIE
# threshold of 16 half-open SAs, and the per-address and per-prefix
# half-open limits are raised: every SA comes from one address; charon's
# cookie/block thresholds are raised), rekeying and DPD are off.
#
# Figures per daemon: setups/s (N / wall time from the first initiate to
# the N-th CHILD SA on the initiator), CPU seconds (utime+stime from
# /proc/PID/stat of the daemon and its children -- iked's privsep engine
# -- delta over the run), VmRSS after N SAs (/proc/PID/status)
# and bytes per SA ((RSS after - RSS before the first initiate) / N), with
# racoon2/charon ratios.
#
# usage: bench/ike_setup.sh [-b BUILD_DIR] [-n "200 1000"] [-s "gcm cbc"]
#                           [-w WINDOW] [-o r2|charon|both] [-r ROUNDS]
#   ROUNDS (default 1): each measurement is repeated, racoon2 and charon
#   interleaved, and the round with the median setup rate is shown (a
#   single lost IKE_SA_INIT costs a 2 s retransmission in short runs).
#   suites: gcm = AES-GCM-16-256 / PRF-HMAC-SHA2-256 / ECP-256 (ESP
#   AES-GCM-16-256); cbc = AES-CBC-128 / HMAC-SHA2-256-128 / MODP-2048
#   (ESP AES-CBC-128/HMAC-SHA2-256-128).  Root; namespaces r2b-PID-*,
#   removed on exit (KEEP=1 keeps the logs).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build-ikebench
NS_LIST="200 1000"
SUITES="gcm cbc"
WINDOW=10
ONLY=both
ROUNDS=1
while getopts b:n:s:w:o:r:h opt; do
	case $opt in
	b) BUILD=$(cd "$OPTARG" && pwd) ;;
	n) NS_LIST=$OPTARG ;;
	s) SUITES=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	o) ONLY=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) sed -n '2,40p' "$0"; exit 2 ;;
	esac
done
IKED=$BUILD/src/ike/iked
IKEDCTL=$BUILD/src/ike/ikedctl
[ -x "$IKED" ] || { echo "no iked in $BUILD (ninja -C $BUILD src/ike/iked)" >&2; exit 1; }

. "$TOP/tests/lib/netns.sh"
netns_init r2b ike_setup
need_cmd python3
CHARON_BIN=${CHARON_BIN:-/usr/lib/ipsec/charon}
if [ "$ONLY" != r2 ] && { [ ! -x "$CHARON_BIN" ] || ! command -v swanctl >/dev/null; }; then
	log "charon/swanctl not installed: racoon2 only"
	ONLY=r2
fi

ns_add a; ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
# Each host owns one address in each of its protected subnets, as a
# gateway would: kernel-libipsec routes an outbound policy only with a
# local address inside the local traffic selector (the same addresses
# are there for iked, which does not need them).
lan_addrs() { # SIDE MAXN
	local k
	for ((k = 0; k <= $2; k++)); do
		printf 'address add 2001:db8:%s%x::1/128 dev lo\n' "$1" "$k"
	done | ip -n "$(ns "$1")" -b -
}

PSK=ike-setup-bench-psk-0123456789
printf '%s\n' "$PSK" >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"
HZ=$(getconf CLK_TCK)

# suite -> racoon2 kmp_enc|kmp_prf|kmp_hash|kmp_dh|esp_enc|esp_auth|
#          charon ike proposal|charon esp proposal
declare -A SUITE=(
	[gcm]='aes256_gcm16|hmac_sha2_256||ecp256|aes256_gcm16||aes256gcm16-prfsha256-ecp256|aes256gcm16'
	[cbc]='aes128_cbc|hmac_sha2_256|hmac_sha2_256|modp2048|aes128_cbc|hmac_sha2_256|aes128-sha256-modp2048|aes128-sha256'
)
declare -A LABEL=(
	[gcm]='AES-GCM-16-256/ECP-256'
	[cbc]='AES-CBC-128/SHA2-256/MODP-2048'
)

# ---- the controller: initiates with a window, counts completions ----
cat >"$TEST_DIR/ctl.py" <<'EOF'
"""Drive N initiations with at most W in flight; print wall seconds.

usage: ctl.py r2|vici SOCKET LOGFILE N W [FIRST]
Initiates connections FIRST..FIRST+N-1 (FIRST defaults to 1).
Completion = lines in the initiator's log matching the CHILD SA regex;
each initiate is sent over the daemon's own control socket (iked: one
text line per connection; charon: vici "initiate" with timeout -1 on one
connection).  Exit 1 on a stall of 20 s without progress.
"""
import re
import socket
import struct
import sys
import time

mode, path, logf, n, w = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
first = int(sys.argv[6]) if len(sys.argv) > 6 else 1
RE = {
    'r2': re.compile(rb'CHILD SA #\d+ \(p\d+\) installed'),
    'vici': re.compile(rb'CHILD_SA c\d+\{\d+\} established'),
}[mode]

log = open(logf, 'rb')
log.seek(0, 2)
buf = b''
done = 0


def poll():
    global buf, done
    data = log.read()
    if not data:
        return False
    buf += data
    lines = buf.split(b'\n')
    buf = lines.pop()
    for ln in lines:
        if RE.search(ln):
            done += 1
    return True


def r2_initiate(k):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'initiate r%d\n' % k)
    out = b''
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    if not out.startswith(b'0'):
        sys.exit('initiate r%d: %r' % (k, out[:200]))


vs = None


def vici_kv(k, v):
    k, v = k.encode(), v.encode()
    return bytes([3, len(k)]) + k + struct.pack('!H', len(v)) + v


def vici_recv():
    hdr = b''
    while len(hdr) < 4:
        d = vs.recv(4 - len(hdr))
        if not d:
            sys.exit('vici: closed')
        hdr += d
    ln = struct.unpack('!I', hdr)[0]
    body = b''
    while len(body) < ln:
        d = vs.recv(ln - len(body))
        if not d:
            sys.exit('vici: closed')
        body += d
    return body


def vici_initiate(k):
    global vs
    if vs is None:
        vs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        vs.connect(path)
    name = b'initiate'
    msg = (vici_kv('child', 'c%d' % k) + vici_kv('ike', 'c%d' % k) +
           vici_kv('timeout', '-1'))
    pkt = bytes([0, len(name)]) + name + msg       # CMD_REQUEST
    vs.sendall(struct.pack('!I', len(pkt)) + pkt)
    r = vici_recv()
    if r[0] != 1 or b'success\x00\x03yes' not in r:  # CMD_RESPONSE
        sys.exit('initiate c%d: %r' % (k, r[:200]))


initiate = r2_initiate if mode == 'r2' else vici_initiate
t0 = time.monotonic()
last = t0
issued = 0
while done < n:
    while issued < n and issued - done < w:
        initiate(first + issued)
        issued += 1
    if poll():
        last = time.monotonic()
    else:
        if time.monotonic() - last > 20:
            sys.exit('stalled: %d/%d done, %d issued' % (done, n, issued))
        time.sleep(0.0005)
t1 = time.monotonic()
print('%.3f' % (t1 - t0))
EOF

# ---- heap probe ----
# RSS alone cannot give bytes per SA: memory the configuration parser
# freed stays in the process and the SAs reuse it (iked's RSS barely
# moves).  heapq.so, preloaded into both daemons, runs one idle thread
# that answers each line written to $HEAPQ_FIFO with mallinfo2()'s bytes
# in use (arenas + mmapped chunks) in $HEAPQ_OUT; it does not allocate.
cat >"$TEST_DIR/heapq.c" <<'HEAPQ_EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fifo[512], out[512];

static void *heapq(void *arg)
{
	char b[64];
	int fd, o, n;

	(void)arg;
	for (;;) {
		fd = open(fifo, O_RDONLY);
		if (fd < 0)
			return NULL;
		while (read(fd, b, sizeof(b)) > 0) {
			struct mallinfo2 m = mallinfo2();
			n = snprintf(b, sizeof(b), "%zu\n", m.uordblks + m.hblkhd);
			o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (o >= 0) {
				if (write(o, b, (size_t)n) < 0)
					n = 0;
				close(o);
			}
		}
		close(fd);
	}
}

__attribute__((constructor)) static void heapq_init(void)
{
	const char *f = getenv("HEAPQ_FIFO"), *o = getenv("HEAPQ_OUT");
	pthread_t t;
	sigset_t all, old;

	if (!f || !o || strlen(f) >= sizeof(fifo) || strlen(o) >= sizeof(out))
		return;
	strcpy(fifo, f);
	strcpy(out, o);
	/* the daemon's signals stay with its own threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, heapq, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
HEAPQ_EOF
HEAPQ=
if gcc -O2 -shared -fPIC -o "$TEST_DIR/heapq.so" "$TEST_DIR/heapq.c" \
    -lpthread 2>"$TEST_DIR/heapq.err"; then
	HEAPQ=$TEST_DIR/heapq.so
else
	log "heap probe did not build, no heap figures: $(head -3 "$TEST_DIR/heapq.err")"
fi
# heapq_env NAME : env(1) assignments that load the probe into daemon NAME
heapq_env() {
	[ -n "$HEAPQ" ] || return 0
	rm -f "$TEST_DIR/heapq-$1.fifo" "$TEST_DIR/heapq-$1.out"
	mkfifo -m 600 "$TEST_DIR/heapq-$1.fifo"
	printf '%s ' "LD_PRELOAD=$HEAPQ" "HEAPQ_FIFO=$TEST_DIR/heapq-$1.fifo" \
		"HEAPQ_OUT=$TEST_DIR/heapq-$1.out"
}
# heap_bytes NAME : bytes in use in that daemon's heap (0 without probe)
heap_bytes() {
	local i
	if [ -z "$HEAPQ" ] || [ ! -p "$TEST_DIR/heapq-$1.fifo" ]; then
		echo 0; return 0
	fi
	rm -f "$TEST_DIR/heapq-$1.out"
	timeout 5 sh -c 'echo q >"$1"' sh "$TEST_DIR/heapq-$1.fifo" || { echo 0; return 0; }
	for ((i = 0; i < 100; i++)); do
		[ -s "$TEST_DIR/heapq-$1.out" ] && break
		sleep 0.02
	done
	cat "$TEST_DIR/heapq-$1.out" 2>/dev/null || echo 0
}

# ---- per-process figures ----
# utime+stime of a process and its descendants (iked's IKE work is done
# in its privilege-separated child, not in the pid we started)
cpu_ticks() {
	local t c
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for c in $(ps -o pid= --ppid "$1"); do
		t=$((t + $(cpu_ticks "$c")))
	done
	echo "$t"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- racoon2 ----
# r2_conf SIDE N SUITE : racoon2.conf for side a (initiator) or b
r2_conf() {
	local side=$1 n=$2 s=$3 me peer my pe k
	local kenc kprf khash kdh eenc eauth _
	local hashl='' authl=''
	IFS='|' read -r kenc kprf khash kdh eenc eauth _ _ <<<"${SUITE[$s]}"
	[ -n "$khash" ] && hashl="kmp_hash_alg { $khash; };"
	[ -n "$eauth" ] && authl="esp_auth_alg { $eauth; };"
	if [ "$side" = a ]; then me=198.51.100.1 peer=198.51.100.2 my=a pe=b
	else me=198.51.100.2 peer=198.51.100.1 my=b pe=a; fi
	{
		cat <<-EOF
		interface { ike { $me port 500; };
			ike_half_open_per_addr 1024; ike_half_open_per_prefix 1024; };
		default { remote { ikev2 {
			kmp_enc_alg { $kenc; }; kmp_prf_alg { $kprf; };
			$hashl
			kmp_dh_group { $kdh; };
			max_retry_to_send 5; interval_to_send 2 sec;
			kmp_sa_lifetime_time 86400 sec;
		}; }; };
		ipsec ipsec_esp { ipsec_sa_lifetime_time 86400 sec; sa_index esp_01; };
		sa esp_01 { sa_protocol esp; esp_enc_alg { $eenc; };
			$authl };
		EOF
		for ((k = 0; k <= n; k++)); do
			cat <<-EOF
			remote r$k { acceptable_kmp { ikev2; }; ikev2 {
				my_id fqdn "$my-$k.bench"; peers_id fqdn "$pe-$k.bench";
				peers_ipaddr "$peer" port 500;
				kmp_auth_method { psk; }; pre_shared_key "$TEST_DIR/psk";
			}; selector_index s${k}i; };
			selector s${k}o { direction outbound; src "2001:db8:$my$(printf %x "$k")::/64";
				dst "2001:db8:$pe$(printf %x "$k")::/64"; policy_index p$k; };
			selector s${k}i { direction inbound; src "2001:db8:$pe$(printf %x "$k")::/64";
				dst "2001:db8:$my$(printf %x "$k")::/64"; policy_index p$k; };
			policy p$k { action auto_ipsec; remote_index r$k; ipsec_mode tunnel;
				ipsec_index { ipsec_esp; }; ipsec_level require;
				my_sa_ipaddr "$me"; peers_sa_ipaddr "$peer"; };
			EOF
		done
	} >"$TEST_DIR/r2-$side.conf"
}

r2_up() { # SIDE
	local side=$1
	rm -f "$TEST_DIR/r2-$side.sock"
	# shellcheck disable=SC2046 # heapq_env: words on purpose
	start_bg "iked-$side" ip netns exec "$(ns "$side")" \
		env $(heapq_env "iked-$side") "$IKED" -F -d -n \
		-k fake -f "$TEST_DIR/r2-$side.conf" --ctl-socket "$TEST_DIR/r2-$side.sock"
	wait_for "ns_exec $side '$IKEDCTL' -s '$TEST_DIR/r2-$side.sock' ping" 60
}
r2_count() { # SIDE REGEX
	ns_exec "$1" "$IKEDCTL" -s "$TEST_DIR/r2-$1.sock" show sa 2>/dev/null |
		grep -Ec "$2"
}

# ---- charon ----
charon_files() { # SIDE N SUITE
	local side=$1 n=$2 s=$3 me peer my pe k d=$TEST_DIR/charon-$1 ike esp
	IFS='|' read -r _ _ _ _ _ _ ike esp <<<"${SUITE[$s]}"
	if [ "$side" = a ]; then me=198.51.100.1 peer=198.51.100.2 my=a pe=b
	else me=198.51.100.2 peer=198.51.100.1 my=b pe=a; fi
	rm -rf "$d"
	mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
		load_modular = no
		load = random nonce openssl hmac kdf kernel-libipsec kernel-netlink socket-default vici
		port = 500
		port_nat_t = 4500
		install_routes = no
		install_virtual_ip = no
		cookie_threshold = 100000
		block_threshold = 100000
		retransmit_timeout = 2
		retransmit_tries = 5
		syslog { daemon { default = -1 } }
		filelog {
			main {
				path = $d/charon.log
				time_format = %H:%M:%S
				append = no
				flush_line = yes
				default = 0
				ike = 1
				knl = ${CHARON_KNL:-0}
			}
		}
		plugins { vici { socket = unix://$d/charon.vici } }
	}
	swanctl {
		load = random openssl pem pkcs1 pkcs8 x509
		socket = unix://$d/charon.vici
	}
	EOF
	{
		printf 'connections {\n'
		for ((k = 0; k <= n; k++)); do
			cat <<-EOF
			c$k {
				version = 2
				local_addrs = $me
				remote_addrs = $peer
				proposals = $ike
				rekey_time = 0
				reauth_time = 0
				mobike = no
				unique = no
				local { auth = psk
					id = $my-$k.bench }
				remote { auth = psk
					id = $pe-$k.bench }
				children { c$k {
					mode = tunnel
					esp_proposals = $esp
					rekey_time = 0
					local_ts = 2001:db8:$my$(printf %x "$k")::/64
					remote_ts = 2001:db8:$pe$(printf %x "$k")::/64
				} }
			}
			EOF
		done
		printf '}\nsecrets {\n\tike-all {\n\t\tsecret = "%s"\n\t}\n}\n' "$PSK"
	} >"$d/swanctl.conf"
}
sw() { # SIDE ARGS...
	local side=$1; shift
	local d=$TEST_DIR/charon-$side
	ip netns exec "$(ns "$side")" env STRONGSWAN_CONF="$d/strongswan.conf" \
		swanctl "$@" --uri "unix://$d/charon.vici"
}
charon_up() { # SIDE
	local side=$1 d=$TEST_DIR/charon-$1
	start_bg "charon-$side" ip netns exec "$(ns "$side")" sh -c \
		'd=$1 bin=$2; shift 2; mount --bind "$d/run" /run &&
		 exec env STRONGSWAN_CONF="$d/strongswan.conf" "$@" "$bin"' \
		sh "$d" "$CHARON_BIN" $(heapq_env "charon-$side")
	wait_for "[ -S '$d/charon.vici' ] && sw $side --stats" 20 || return 1
	sw "$side" --load-all --noprompt --file "$d/swanctl.conf" >"$d/load.out" 2>&1
}
charon_cnt() { # SIDE ike|child
	local pat='^[^ ].*: #[0-9]+, ESTABLISHED'
	[ "$2" = child ] && pat='^ +[^ ].*: #[0-9]+, reqid [0-9]+, INSTALLED'
	sw "$1" --list-sas 2>/dev/null | grep -Ec "$pat"
}

# drive IMPL N WINDOW FIRST : run the controller in the initiator's
# namespace; prints the wall seconds.
drive() {
	if [ "$1" = r2 ]; then
		ns_exec a python3 "$TEST_DIR/ctl.py" r2 "$TEST_DIR/r2-a.sock" \
			"$TEST_DIR/iked-a.log" "$2" "$3" "$4"
	else
		ns_exec a python3 "$TEST_DIR/ctl.py" vici \
			"$TEST_DIR/charon-a/charon.vici" "$TEST_DIR/charon-a/charon.log" \
			"$2" "$3" "$4"
	fi
}

# ---- one measurement ----
# Results: R[impl,suite,n,field]; fields: load (s from start to a loaded
# configuration), secs, rate, cpu_a/cpu_b (s), rss0_*/rss_* (kB before/
# after), rbpsa_* (RSS B/SA), hbpsa_* (heap B/SA), ok, lines.
declare -A R
now_ms() { date +%s%3N; }
persa() { # AFTER BEFORE N [MULT]
	awk -v a="$1" -v b="$2" -v n="$3" -v m="${4:-1}" 'BEGIN { printf "%.0f", (a - b) * m / n }'
}
measure() { # IMPL SUITE N
	local impl=$1 s=$2 n=$3 pa pb c0a c0b r0a r0b h0a h0b secs ia ib ca cb t0 da db
	log "$impl $s N=$n: configuring"
	if [ "$impl" = r2 ]; then
		da=iked-a db=iked-b
		r2_conf a "$n" "$s"; r2_conf b "$n" "$s"
		t0=$(now_ms)
		r2_up b && r2_up a || { log "iked did not start"; return 1; }
	else
		da=charon-a db=charon-b
		charon_files a "$n" "$s"; charon_files b "$n" "$s"
		t0=$(now_ms)
		charon_up b && charon_up a || { log "charon did not start"; return 1; }
	fi
	R[$impl,$s,$n,load]=$(awk -v a="$(now_ms)" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 2000 }')
	pa=$(bg_pid $da) pb=$(bg_pid $db)
	# Warm-up: one SA (index 0) outside the figures, so that one-time
	# costs (library initialisation, first allocations, thread start-up)
	# are in the "before" figures rather than spread over the N SAs.
	drive "$impl" 1 1 0 >/dev/null || log "$impl $s: warm-up SA failed"
	sleep 1 # settle: threads idle
	h0a=$(heap_bytes $da) h0b=$(heap_bytes $db)
	r0a=$(rss_kb "$pa") r0b=$(rss_kb "$pb")
	c0a=$(cpu_ticks "$pa") c0b=$(cpu_ticks "$pb")
	log "$impl $s N=$n: initiating (window $WINDOW)"
	secs=$(drive "$impl" "$n" "$WINDOW" 1)
	local rc=$?
	sleep 0.5 # let the responder finish its last installs
	R[$impl,$s,$n,cpu_a]=$(awk -v a="$(cpu_ticks "$pa")" -v b="$c0a" -v h="$HZ" 'BEGIN { printf "%.2f", (a - b) / h }')
	R[$impl,$s,$n,cpu_b]=$(awk -v a="$(cpu_ticks "$pb")" -v b="$c0b" -v h="$HZ" 'BEGIN { printf "%.2f", (a - b) / h }')
	R[$impl,$s,$n,cpu_ms]=$(awk -v a="${R[$impl,$s,$n,cpu_a]}" -v b="${R[$impl,$s,$n,cpu_b]}" -v n="$n" 'BEGIN { printf "%.2f", (a + b) * 1000 / n }')
	R[$impl,$s,$n,rss0_a]=$r0a
	R[$impl,$s,$n,rss0_b]=$r0b
	R[$impl,$s,$n,rss_a]=$(rss_kb "$pa")
	R[$impl,$s,$n,rss_b]=$(rss_kb "$pb")
	R[$impl,$s,$n,rbpsa_a]=$(persa "${R[$impl,$s,$n,rss_a]}" "$r0a" "$n" 1024)
	R[$impl,$s,$n,rbpsa_b]=$(persa "${R[$impl,$s,$n,rss_b]}" "$r0b" "$n" 1024)
	R[$impl,$s,$n,hbpsa_a]=$(persa "$(heap_bytes $da)" "$h0a" "$n")
	R[$impl,$s,$n,hbpsa_b]=$(persa "$(heap_bytes $db)" "$h0b" "$n")
	if [ $rc -ne 0 ] || [ -z "$secs" ]; then
		log "$impl $s N=$n: controller failed: $secs"
		secs=0
	fi
	R[$impl,$s,$n,secs]=$secs
	R[$impl,$s,$n,rate]=$(awk -v n="$n" -v t="$secs" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }')
	# What both ends hold (outside the timed part): N + the warm-up SA.
	if [ "$impl" = r2 ]; then
		ia=$(r2_count a 'IKE #[0-9]+ ESTABLISHED') ib=$(r2_count b 'IKE #[0-9]+ ESTABLISHED')
		ca=$(r2_count a 'CHILD #[0-9]+ INSTALLED') cb=$(r2_count b 'CHILD #[0-9]+ INSTALLED')
		R[$impl,$s,$n,lines]=$(grep -c . "$TEST_DIR/iked-a.log")
		R[$impl,$s,$n,rtx]=$(cat "$TEST_DIR/iked-a.log" "$TEST_DIR/iked-b.log" | grep -c ': retransmit ')
		stop_bg iked-a; stop_bg iked-b
		mv "$TEST_DIR/iked-a.log" "$TEST_DIR/iked-a.$s.$n.$ROUND.log"
		mv "$TEST_DIR/iked-b.log" "$TEST_DIR/iked-b.$s.$n.$ROUND.log"
	else
		ia=$(charon_cnt a ike) ib=$(charon_cnt b ike)
		ca=$(charon_cnt a child) cb=$(charon_cnt b child)
		R[$impl,$s,$n,lines]=$(grep -c . "$TEST_DIR/charon-a/charon.log")
		R[$impl,$s,$n,rtx]=$(cat "$TEST_DIR/charon-a/charon.log" "$TEST_DIR/charon-b/charon.log" | grep -c '\] retransmit ')
		stop_bg charon-a TERM 20; stop_bg charon-b TERM 20
		mv "$TEST_DIR/charon-a/charon.log" "$TEST_DIR/charon-a.$s.$n.$ROUND.log"
		mv "$TEST_DIR/charon-b/charon.log" "$TEST_DIR/charon-b.$s.$n.$ROUND.log"
	fi
	R[$impl,$s,$n,ok]="$ia/$ib IKE, $ca/$cb CHILD"
	log "$impl $s N=$n: ${secs}s, a/b: ${R[$impl,$s,$n,ok]}"
}

MAXN=0
for n in $NS_LIST; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
lan_addrs a "$MAXN"
lan_addrs b "$MAXN"

FIELDS="load secs rate cpu_a cpu_b cpu_ms rss0_a rss0_b rss_a rss_b rbpsa_a rbpsa_b hbpsa_a hbpsa_b ok lines rtx"
# keep_round IMPL SUITE N ROUND : save this round's figures
keep_round() {
	local f
	for f in $FIELDS; do R[$1,$2,$3,$4,$f]=${R[$1,$2,$3,$f]:-}; done
}
# pick_median IMPL SUITE N : the round with the median rate becomes the result
pick_median() {
	local r best f
	[ -n "${R[$1,$2,$3,1,secs]:-}" ] || return 0
	best=$(for ((r = 1; r <= ROUNDS; r++)); do
		printf '%s %s\n' "${R[$1,$2,$3,$r,rate]:-0}" "$r"; done |
		sort -n | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
	for f in $FIELDS; do R[$1,$2,$3,$f]=${R[$1,$2,$3,$best,$f]}; done
	R[$1,$2,$3,rates]=$(for ((r = 1; r <= ROUNDS; r++)); do
		printf '%s ' "${R[$1,$2,$3,$r,rate]:-0}"; done)
}

for s in $SUITES; do
	for n in $NS_LIST; do
		for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
			if [ "$ONLY" != charon ]; then
				measure r2 "$s" "$n" && keep_round r2 "$s" "$n" $ROUND
			fi
			if [ "$ONLY" != r2 ]; then
				measure charon "$s" "$n" && keep_round charon "$s" "$n" $ROUND
			fi
		done
		pick_median r2 "$s" "$n"
		pick_median charon "$s" "$n"
	done
done

# ---- tables ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# table TITLE "HEADER|..." FIELD... : one row per daemon, then r2/charon
table() {
	local title=$1 hdr=$2 s n impl f line; shift 2
	local -a h
	IFS='|' read -r -a h <<<"$hdr"
	printf '\n%s\n| %-30s | %5s | %-7s |' "$title" suite N daemon
	for f in "${h[@]}"; do printf ' %10s |' "$f"; done
	printf '\n|%s|%s|%s|' "--------------------------------" "-------" "---------"
	for f in "${h[@]}"; do printf '%s|' "------------"; done
	printf '\n'
	for s in $SUITES; do
		for n in $NS_LIST; do
			for impl in r2 charon; do
				[ -n "${R[$impl,$s,$n,secs]:-}" ] || continue
				printf '| %-30s | %5s | %-7s |' "${LABEL[$s]}" "$n" \
					"$([ $impl = r2 ] && echo racoon2 || echo charon)"
				for f in "$@"; do
					case $f in
					rss*) printf ' %10s |' "$(mb "${R[$impl,$s,$n,$f]}")" ;;
					*) printf ' %10s |' "${R[$impl,$s,$n,$f]}" ;;
					esac
				done
				printf '\n'
			done
			[ -n "${R[r2,$s,$n,secs]:-}" ] && [ -n "${R[charon,$s,$n,secs]:-}" ] || continue
			printf '| %-30s | %5s | %-7s |' "${LABEL[$s]}" "$n" "r2/ch"
			for f in "$@"; do
				printf ' %10s |' "$(ratio "${R[r2,$s,$n,$f]}" "${R[charon,$s,$n,$f]}")"
			done
			printf '\n'
		done
	done
}
printf '\n%s, %s cores, window %s; racoon2 = iked -n -k fake, charon %s + kernel-libipsec\n' \
	"$(uname -r)" "$(nproc)" "$WINDOW" \
	"$("$CHARON_BIN" --version 2>/dev/null | head -1 | awk '{ print $NF }')"
table "Speed (CPU: utime+stime during the N setups; ms/SA = both daemons)" \
	"setups/s|CPU s init|CPU s resp|CPU ms/SA" rate cpu_a cpu_b cpu_ms
table "Memory (MB = VmRSS after N SAs; B/SA = growth over the N SAs)" \
	"RSS0 init|RSS init|RSS resp|heapB/SA i|heapB/SA r|RSS B/SA i|RSS B/SA r" \
	rss0_a rss_a rss_b hbpsa_a hbpsa_b rbpsa_a rbpsa_b
table "Configuration (s: start of both daemons to N+1 connections loaded, per daemon)" \
	"load s" load
printf '\nSAs held at the end (initiator/responder, N + 1 warm-up), initiator log lines,\n'
printf 'IKE retransmissions (both daemons) of the round shown; setups/s of every round:\n'
for s in $SUITES; do
	for n in $NS_LIST; do
		for impl in r2 charon; do
			[ -n "${R[$impl,$s,$n,ok]:-}" ] || continue
			printf '  %-6s %-4s N=%-5s %s; %s log lines; %s retransmits; rates %s\n' \
				"$impl" "$s" "$n" "${R[$impl,$s,$n,ok]}" "${R[$impl,$s,$n,lines]}" \
				"${R[$impl,$s,$n,rtx]}" "${R[$impl,$s,$n,rates]:-}"
		done
	done
done
