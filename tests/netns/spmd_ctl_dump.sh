#!/bin/bash
# spmd_ctl_dump.sh - spmd's control dump at scale (issue 14): with 20,000
# static policies, `spmdctl policy show all` lists every one (before the
# per-client queue, lib/outq.h, spmd hung up once 256 KiB were unread and
# the dump failed); a client that asks for a dump and never reads keeps
# its answer queued while another client is answered within 1 s; one
# that pipelines POLICY DUMPs and never reads is disconnected with a
# logged reason once a second answer would pile up behind the first.
#
# usage: spmd_ctl_dump.sh [BUILD_DIR]   (root; namespaces r2sd-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
SPMD=$BUILD/src/spm/spmd
SPMDCTL=$BUILD/src/spm/spmdctl
PAIRS=10000

. "$TOP/tests/lib/netns.sh"
netns_init r2sd spmd_ctl_dump
need_cmd python3 timeout
[ -x "$SPMD" ] && [ -x "$SPMDCTL" ] || skip_all "spmd_ctl_dump: spmd not built in $BUILD"

ns_add a
printf 'test-psk' >"$TEST_DIR/psk"
chmod 600 "$TEST_DIR/psk"
# PAIRS host-to-host selector pairs in 2001:db8::/32, transport ESP
python3 - "$TEST_DIR" "$PAIRS" <<'PY'
import sys
w, pairs = sys.argv[1], int(sys.argv[2])
def a(net, i):
    return "2001:db8:%x::%x:%x" % (net, i >> 16, i & 0xffff)
with open(w + "/racoon2.conf", "w") as conf:
    conf.write('''interface { spmd { unix "%s/spmif"; }; };
resolver { resolver off; };
remote r { acceptable_kmp { ikev2; };
  ikev2 { peers_ipaddr "2001:db8:ffff::2" port 500; kmp_enc_alg { aes128_cbc; };
    kmp_prf_alg { hmac_sha2_256; }; kmp_hash_alg { hmac_sha2_256; };
    kmp_dh_group { modp2048; }; kmp_auth_method { psk; };
    pre_shared_key "%s/psk"; }; };
sa s { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha1; }; };
ipsec i { sa_index s; };
policy p { action auto_ipsec; remote_index r; ipsec_mode transport;
  ipsec_index { i; }; ipsec_level require; };
''' % (w, w))
    for i in range(1, pairs + 1):
        src, dst = a(1, i), a(2, i)
        conf.write('selector o%d { direction outbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, src, dst))
        conf.write('selector i%d { direction inbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, dst, src))
PY
SOCK=$TEST_DIR/spmif
ctl() { ns_exec a "$SPMDCTL" -s "$SOCK" "$@"; }
start_bg spmd ip netns exec "$(ns a)" "$SPMD" -F -f "$TEST_DIR/racoon2.conf" -p "$TEST_DIR/spmd.pid"
wait_for "ctl status >/dev/null 2>&1" 60 || { fail "spmd did not start"; finish; }

n=$(ctl policy show all | grep -c '^static')
[ "$n" = $((2 * PAIRS)) ] && pass "policy show lists all $n policies" ||
	fail "policy show lists $n of $((2 * PAIRS)) policies"

# stalled.py PATH READY N: a client that asks for N dumps at once and
# never reads
cat >"$TEST_DIR/stalled.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"POLICY DUMP\n" * int(sys.argv[3]))
open(sys.argv[2], "w").close()
time.sleep(10)
PY
stalled() { # NAME N
	start_bg "$1" ip netns exec "$(ns a)" python3 "$TEST_DIR/stalled.py" "$SOCK" "$TEST_DIR/$1.ready" "$2"
	wait_for "[ -e '$TEST_DIR/$1.ready' ]" 10 ||
		{ fail "the stalled client $1 did not start"; cat "$TEST_DIR/$1.log" >&2; }
}
stalled one 1
# spmd builds a dump in one go (tens of ms per 1,000 policies): wait that
# out with an untimed query, then time one while the answer waits unread
ctl status >/dev/null 2>&1
t0=$(date +%s%3N)
if timeout 1 ip netns exec "$(ns a)" "$SPMDCTL" -s "$SOCK" status >/dev/null 2>&1; then
	pass "a client that never reads its dump: another client's status answered in $(($(date +%s%3N) - t0)) ms (< 1 s)"
else
	fail "a client that never reads its dump: another client's status not answered within 1 s"
fi
check "that client's unread answer is held (it is not disconnected)" \
	eval "! grep -q 'octets of output unread; disconnected' '$TEST_DIR/spmd.log'"
stalled three 3
check "a client that asks for three dumps at once and never reads is disconnected with a logged reason" \
	wait_for "grep -q 'octets of output unread; disconnected' '$TEST_DIR/spmd.log'" 10
stop_bg one TERM 5
stop_bg three TERM 5
check "spmd alive" bg_alive spmd
n=$(ctl policy show all | grep -c '^static')
[ "$n" = $((2 * PAIRS)) ] && pass "policy show still lists all $n policies" ||
	fail "policy show then lists $n of $((2 * PAIRS)) policies"
finish
