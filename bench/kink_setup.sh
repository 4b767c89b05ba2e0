#!/usr/bin/env bash
# kink_setup.sh - benchmark (not a test; the test suite does not run it):
# KINK CREATE exchanges per second and CPU per SA of racoon2's kinkd
# against IKEv2 setups of racoon2's iked, on the same machine in the same
# run, with the same ESP algorithms.
#
# KINK: two namespaces (initiator a 198.51.100.1, responder b .2) and an
# MIT KDC (tests/netns/kink_kdc.sh) on a's address, port 88.  Each kinkd
# runs with -k fake (racoon2's in-memory kernel, as iked's benchmark) and
# N tunnel-mode policies towards one remote (distinct selectors
# 2001:db8:aK::/64 === 2001:db8:bK::/64, each with its own reqid): the
# responder finds the policy by the CREATE's IDci/IDcr.  A Python
# controller sends "initiate pK" to kinkd's control socket (as kinkctl
# initiate does) with at most WINDOW CREATEs in flight and counts
# "CREATE with peer done" in the initiator's log.  The service ticket is
# fetched once (warm-up CREATE) and cached, as in any kinkd; every CREATE
# still carries a fresh AP_REQ, checked with the keytab and the replay
# cache (KRB5RCACHEDIR in the run directory), an AP_REP, KINK_ENCRYPT and
# Cksum both ways.
#
# IKEv2: bench/ike_setup.sh -o r2 with the same suite, N and WINDOW, run
# in this same invocation (racoon2's iked -n -k fake on both sides: one
# IKE SA with one CHILD SA per setup, PSK).
#
# Figures: setups/s (N / wall time from the first initiate to the N-th
# completion on the initiator), CPU ms per SA (utime+stime of both
# daemons and their child processes, e.g. iked's privilege-separated
# engine, over the N setups / N), and the KINK/IKEv2 ratios (goal: KINK
# at least 5 times the IKEv2 rate).
#
# usage: bench/kink_setup.sh [-b BUILD_DIR] [-n "200 1000"] [-s "cbc gcm"]
#                            [-w WINDOW] [-o kink|both]
#   suites (ESP): cbc = AES-CBC-128/HMAC-SHA2-256-128 (IKEv2 SA:
#   AES-CBC-128/SHA2-256/MODP-2048); gcm = AES-GCM-16-256 (IKEv2 SA:
#   AES-GCM-16-256/ECP-256), as ike_setup.sh.  Root, krb5kdc; namespaces
#   r2kb-PID-*, removed on exit (KEEP=1 keeps the logs).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
NS_LIST="200 1000"
SUITES="cbc"
WINDOW=10
ONLY=both
while getopts b:n:s:w:o:h opt; do
	case $opt in
	b) BUILD=$(cd "$OPTARG" && pwd) ;;
	n) NS_LIST=$OPTARG ;;
	s) SUITES=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	o) ONLY=$OPTARG ;;
	*) sed -n '2,40p' "$0"; exit 2 ;;
	esac
done
KINKD=$BUILD/src/kink/kinkd
[ -x "$KINKD" ] || { echo "no kinkd in $BUILD (ninja -C $BUILD src/kink/kinkd)" >&2; exit 1; }
command -v krb5kdc >/dev/null || { echo "krb5kdc not installed" >&2; exit 1; }

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/netns/kink_kdc.sh"
netns_init r2kb kink_setup
need_cmd python3
REALM=BENCH.KINK
HZ=$(getconf CLK_TCK)

ns_add a; ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24

# suite -> kinkd esp_enc_alg | esp_auth_alg | label
declare -A SUITE=(
	[cbc]='aes128_cbc|hmac_sha2_256|AES-CBC-128/HMAC-SHA2-256'
	[gcm]='aes256_gcm16||AES-GCM-16-256'
)

# ---- the KDC (in a's namespace; used for the TGTs and one ticket) ----
log "KDC"
KDC_LISTEN_ALL=1 kdc_setup "$TEST_DIR/kdc" $REALM 198.51.100.1 88 \
	"kink/a.bench@$REALM" "kink/b.bench@$REALM" || { echo "kdc_setup failed" >&2; exit 1; }
kdc_start "$TEST_DIR/kdc" $REALM "$(ns a)" || { echo "krb5kdc did not start" >&2; exit 1; }
on_cleanup 'kdc_stop "$TEST_DIR/kdc"'

# ---- controller: initiate with a window, count completions ----
cat >"$TEST_DIR/ctl.py" <<'EOF'
"""usage: ctl.py SOCKET LOGFILE N W FIRST -> wall seconds for N CREATEs."""
import socket
import sys
import time

path, logf, n, w, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
    done += sum(1 for ln in lines if b'CREATE with peer done' in ln)
    return True


def initiate(k):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(b'initiate p%d' % k)
    out = s.recv(4096)
    s.close()
    if not out.startswith(b'0') or b'CREATE sent' not in out:
        sys.exit('initiate p%d: %r' % (k, out[:200]))


t0 = time.monotonic()
last = t0
issued = 0
while done < n:
    while issued < n and issued - done < w:
        initiate(first + issued)
        issued += 1
    if poll():
        last = time.monotonic()
    elif time.monotonic() - last > 20:
        sys.exit('stalled: %d/%d done, %d issued' % (done, n, issued))
    else:
        time.sleep(0.0005)
print('%.3f' % (time.monotonic() - t0))
EOF

# kink_conf SIDE N SUITE
kink_conf() {
	local side=$1 n=$2 s=$3 me peer my pe k enc auth authl='' x
	IFS='|' read -r enc auth _ <<<"${SUITE[$s]}"
	[ -n "$auth" ] && authl="esp_auth_alg { $auth; };"
	if [ "$side" = a ]; then me=198.51.100.1 peer=198.51.100.2 my=a pe=b
	else me=198.51.100.2 peer=198.51.100.1 my=b pe=a; fi
	{
		cat <<-EOF
		interface { kink { "$me" port 910; }; };
		remote peer {
			acceptable_kmp { kink; };
			kink {
				my_principal "kink/$my.bench@$REALM";
				peers_principal "kink/$pe.bench@$REALM";
				peers_ipaddr "$peer" port 910;
			};
		};
		ipsec esp { ipsec_sa_lifetime_time 86400 sec; sa_index { esp_sa; }; };
		sa esp_sa { sa_protocol esp; esp_enc_alg { $enc; }; $authl };
		EOF
		# printf only (no subshell per line: 1000 policies in a second)
		for ((k = 0; k <= n; k++)); do
			printf -v x '%x' "$k"
			printf 'selector s%do { direction outbound; src "2001:db8:%s%s::/64"; dst "2001:db8:%s%s::/64"; policy_index p%d; reqid %d; };\n' \
				"$k" "$my" "$x" "$pe" "$x" "$k" $((k + 1))
			printf 'selector s%di { direction inbound; src "2001:db8:%s%s::/64"; dst "2001:db8:%s%s::/64"; policy_index p%d; reqid %d; };\n' \
				"$k" "$pe" "$x" "$my" "$x" "$k" $((k + 1))
			printf 'policy p%d { action auto_ipsec; remote_index peer; ipsec_mode tunnel; ipsec_index { esp; }; ipsec_level require; my_sa_ipaddr "%s"; peers_sa_ipaddr "%s"; };\n' \
				"$k" "$me" "$peer"
		done
	} >"$TEST_DIR/kink-$side.conf"
}

kink_up() { # SIDE
	local side=$1
	rm -f "$TEST_DIR/kink-$side.sock"
	mkdir -p "$TEST_DIR/rc-$side"
	start_bg "kinkd-$side" ip netns exec "$(ns "$side")" env \
		KRB5_CONFIG="$TEST_DIR/kdc/krb5.conf" \
		KRB5_KTNAME="FILE:$TEST_DIR/kdc/$side.bench.keytab" \
		KRB5RCACHEDIR="$TEST_DIR/rc-$side" \
		"$KINKD" -F -k fake -f "$TEST_DIR/kink-$side.conf" -S "$TEST_DIR/kink-$side.sock"
	wait_for "[ -S '$TEST_DIR/kink-$side.sock' ]" 60
}

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
declare -A R

measure_kink() { # SUITE N
	local s=$1 n=$2 pa pb c0a c0b secs
	log "kink $s N=$n: configuring"
	kink_conf a "$n" "$s"; kink_conf b "$n" "$s"
	kink_up b && kink_up a || { log "kinkd did not start"; return 1; }
	pa=$(bg_pid kinkd-a) pb=$(bg_pid kinkd-b)
	# warm-up: TGTs and the service ticket
	ns_exec a python3 "$TEST_DIR/ctl.py" "$TEST_DIR/kink-a.sock" \
		"$TEST_DIR/kinkd-a.log" 1 1 0 >/dev/null || log "kink $s: warm-up CREATE failed"
	sleep 0.5
	c0a=$(cpu_ticks "$pa") c0b=$(cpu_ticks "$pb")
	log "kink $s N=$n: initiating (window $WINDOW)"
	secs=$(ns_exec a python3 "$TEST_DIR/ctl.py" "$TEST_DIR/kink-a.sock" \
		"$TEST_DIR/kinkd-a.log" "$n" "$WINDOW" 1) || { log "kink $s N=$n: $secs"; secs=0; }
	sleep 0.5
	R[kink,$s,$n,secs]=$secs
	R[kink,$s,$n,rate]=$(awk -v n="$n" -v t="$secs" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }')
	R[kink,$s,$n,cpu_a]=$(awk -v a="$(cpu_ticks "$pa")" -v b="$c0a" -v h="$HZ" 'BEGIN { printf "%.2f", (a - b) / h }')
	R[kink,$s,$n,cpu_b]=$(awk -v a="$(cpu_ticks "$pb")" -v b="$c0b" -v h="$HZ" 'BEGIN { printf "%.2f", (a - b) / h }')
	R[kink,$s,$n,cpu_ms]=$(awk -v a="${R[kink,$s,$n,cpu_a]}" -v b="${R[kink,$s,$n,cpu_b]}" -v n="$n" 'BEGIN { printf "%.2f", (a + b) * 1000 / n }')
	R[kink,$s,$n,ok]="$(grep -c 'CREATE with peer done' "$TEST_DIR/kinkd-a.log")/$(grep -c 'CREATE from peer: 2-way' "$TEST_DIR/kinkd-b.log") CREATEs done (a/b)"
	stop_bg kinkd-a; stop_bg kinkd-b
	mv "$TEST_DIR/kinkd-a.log" "$TEST_DIR/kinkd-a.$s.$n.log"
	mv "$TEST_DIR/kinkd-b.log" "$TEST_DIR/kinkd-b.$s.$n.log"
	log "kink $s N=$n: ${secs}s, ${R[kink,$s,$n,ok]}"
}

# IKEv2 through bench/ike_setup.sh (racoon2 only), its Speed table parsed:
# | suite | N | racoon2 | setups/s | CPU s init | CPU s resp | CPU ms/SA |
measure_ike() { # SUITE N
	local s=$1 n=$2 out row
	log "ikev2 $s N=$n: bench/ike_setup.sh -o r2"
	out=$(bash "$TOP/bench/ike_setup.sh" -b "$BUILD" -o r2 -s "$s" -n "$n" -w "$WINDOW" 2>"$TEST_DIR/ike-$s-$n.err")
	printf '%s\n' "$out" >"$TEST_DIR/ike-$s-$n.out"
	row=$(grep -m1 -E "^\| .*\| +$n \| racoon2 \|" <<<"$out")
	[ -n "$row" ] || { log "ike_setup.sh gave no figures (see $TEST_DIR/ike-$s-$n.*)"; return 1; }
	IFS='|' read -r _ _ _ _ rate cpu_a cpu_b cpu_ms _ <<<"$row"
	R[ike,$s,$n,rate]=$(echo $rate)
	R[ike,$s,$n,cpu_a]=$(echo $cpu_a)
	R[ike,$s,$n,cpu_b]=$(echo $cpu_b)
	R[ike,$s,$n,cpu_ms]=$(echo $cpu_ms)
	R[ike,$s,$n,secs]=1
}

for s in $SUITES; do
	for n in $NS_LIST; do
		measure_kink "$s" "$n"
		[ "$ONLY" = kink ] || measure_ike "$s" "$n"
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
printf '\n%s, %s cores, window %s; kinkd and iked -k fake, ESP as listed\n' \
	"$(uname -r)" "$(nproc)" "$WINDOW"
printf '| %-26s | %5s | %-12s | %9s | %10s | %10s | %9s |\n' "ESP" N exchange \
	"setups/s" "CPU s init" "CPU s resp" "CPU ms/SA"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------------------------- ------- -------------- \
	----------- ------------ ------------ -----------
for s in $SUITES; do
	IFS='|' read -r _ _ label <<<"${SUITE[$s]}"
	for n in $NS_LIST; do
		for k in kink ike; do
			[ -n "${R[$k,$s,$n,secs]:-}" ] || continue
			printf '| %-26s | %5s | %-12s | %9s | %10s | %10s | %9s |\n' "$label" "$n" \
				"$([ $k = kink ] && echo "KINK CREATE" || echo "IKEv2 (iked)")" \
				"${R[$k,$s,$n,rate]}" "${R[$k,$s,$n,cpu_a]}" "${R[$k,$s,$n,cpu_b]}" "${R[$k,$s,$n,cpu_ms]}"
		done
		[ -n "${R[ike,$s,$n,secs]:-}" ] || continue
		printf '| %-26s | %5s | %-12s | %9s | %10s | %10s | %9s |\n' "$label" "$n" "KINK/IKEv2" \
			"$(ratio "${R[kink,$s,$n,rate]}" "${R[ike,$s,$n,rate]}")" "" "" \
			"$(ratio "${R[kink,$s,$n,cpu_ms]}" "${R[ike,$s,$n,cpu_ms]}")"
	done
done
printf '\n'
for s in $SUITES; do
	for n in $NS_LIST; do
		printf '  kink %s N=%s: %s\n' "$s" "$n" "${R[kink,$s,$n,ok]:-}"
		[ -n "${R[ike,$s,$n,secs]:-}" ] || continue
		r=$(ratio "${R[kink,$s,$n,rate]}" "${R[ike,$s,$n,rate]}")
		printf '  %s N=%s: KINK/IKEv2 setup rate %s (goal >= 5): %s\n' "$s" "$n" "$r" \
			"$(awk -v r="$r" 'BEGIN { print (r + 0 >= 5 ? "met" : "NOT met") }')"
	done
done
