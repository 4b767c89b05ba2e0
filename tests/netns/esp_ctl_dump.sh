#!/bin/bash
# esp_ctl_dump.sh - r2espd's control dumps at scale (issue 14): with
# 20,000 policies and 20,000 SAs (10,000 tunnels, installed through
# `r2espctl batch`), `r2espctl pol show` and `sa show` list every entry
# exactly, also when the reader is slow (its output goes through a pipe
# read only after a pause, so r2espd's socket fills many times over: the
# answer waits in r2espd's per-client queue, lib/outq.h, instead of being
# cut short on EAGAIN); meanwhile a client that sends dump requests and
# never reads does not keep a third client from its answer (1 s), and
# r2espd still serves once it is gone.
#
# usage: esp_ctl_dump.sh [BUILD_DIR]   (root; namespaces r2cd-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
BIN=$BUILD/src/kernel/userspace
N=10000 # tunnels: 2N policies, 2N SAs

. "$TOP/tests/lib/netns.sh"
netns_init r2cd esp_ctl_dump
need_cmd python3 timeout
[ -x "$BIN/r2espd" ] || skip_all "esp_ctl_dump: r2espd not built in $BUILD"

ns_add a
ns_addr a lo 198.51.100.1/32
SOCK=$TEST_DIR/a.sock
ctl() { ns_exec a "$BIN/r2espctl" -s "$SOCK" "$@"; }
start_bg espd-a ip netns exec "$(ns a)" "$BIN/r2espd" -u -s "$SOCK"
wait_for "ctl stats" 5 || { fail "r2espd did not start"; finish; }

# tunnel i: 203.0.113.S <-> 203.0.113.D (S in 10..109, D in 120..219),
# an SA each way (CBC + HMAC: static keys, no AEAD nonce question)
python3 - "$TEST_DIR/batch" "$N" <<'PY'
import sys
out, n = sys.argv[1], int(sys.argv[2])
k, a = "00" * 16, "11" * 32
with open(out, "w") as f:
    for i in range(n):
        s, d = "203.0.113.%d" % (10 + i // 100), "203.0.113.%d" % (120 + i % 100)
        spi, reqid = 0x10000 + 2 * i, 100 + i
        for x, y, z in (("198.51.100.1", "198.51.100.2", spi), ("198.51.100.2", "198.51.100.1", spi + 1)):
            f.write("sa add src %s dst %s spi %#x reqid %d enc aes-cbc-128 key %s auth sha256 akey %s\n" % (x, y, z, reqid, k, a))
        f.write("pol add dir out src %s dst %s tsrc 198.51.100.1 tdst 198.51.100.2 reqid %d\n" % (s, d, reqid))
        f.write("pol add dir in src %s dst %s tsrc 198.51.100.2 tdst 198.51.100.1 reqid %d\n" % (d, s, reqid))
PY
t0=$(date +%s%3N)
check "$((2 * N)) policies and $((2 * N)) SAs installed (r2espctl batch)" \
	to_file "$TEST_DIR/batch.out" ctl batch "$TEST_DIR/batch"
log "installed in $(($(date +%s%3N) - t0)) ms"

count() { ctl "$@" | grep -c .; }
n=$(count pol show)
[ "$n" = $((2 * N)) ] && pass "pol show lists all $n policies" ||
	fail "pol show lists $n of $((2 * N)) policies"
n=$(count sa show)
[ "$n" = $((2 * N)) ] && pass "sa show lists all $n SAs" ||
	fail "sa show lists $n of $((2 * N)) SAs"
# a slow reader: r2espctl blocks on its stdout pipe, so r2espd's socket
# stays full for a while and most of the dump must wait in its queue
n=$(ctl pol show | { sleep 1; grep -c .; })
st=${PIPESTATUS[0]}
[ "$n" = $((2 * N)) ] && [ "$st" = 0 ] && pass "slow reader: pol show lists all $n policies, status 0" ||
	fail "slow reader: pol show lists $n of $((2 * N)) policies (status $st)"

# a client that sends dump requests and never reads (SOCK_SEQPACKET,
# header: u16 type, u16 flags, u32 seq, u32 status; ESPM_POL_DUMP = 10)
READY=$TEST_DIR/stalled.ready
cat >"$TEST_DIR/stalled.py" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.setblocking(False)
for seq in range(1, 6):
    try:
        s.send(struct.pack("!HHII", 10, 0, seq, 0))
    except OSError:
        break
open(sys.argv[2], "w").close()
time.sleep(8)
PY
start_bg stalled ip netns exec "$(ns a)" python3 "$TEST_DIR/stalled.py" "$SOCK" "$READY"
wait_for "[ -e '$READY' ]" 10 || { fail "the stalled client did not start"; cat "$TEST_DIR/stalled.log" >&2; }
ctl stats >/dev/null 2>&1 # untimed: r2espd has read the first request
t0=$(date +%s%3N)
if timeout 1 ip netns exec "$(ns a)" "$BIN/r2espctl" -s "$SOCK" stats >/dev/null 2>&1; then
	pass "a client that never reads its dump: another client's stats answered in $(($(date +%s%3N) - t0)) ms (< 1 s)"
else
	fail "a client that never reads its dump: another client's stats not answered within 1 s"
fi
n=$(count pol show)
[ "$n" = $((2 * N)) ] && pass "pol show lists all $n policies while that client is stalled" ||
	fail "pol show lists $n of $((2 * N)) policies while a client is stalled"
stop_bg stalled TERM 5
check "r2espd alive after the stalled client" bg_alive espd-a
check "r2espd still serves" ctl stats >/dev/null
finish
