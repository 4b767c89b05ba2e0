#!/bin/bash
# single_instance.sh - one spmd, iked and r2espd per pid file and control
# socket, and who may talk to their control sockets (issue 9, defect 7):
#   - r2espd, spmd and iked are started (userspace backend, pid files);
#   - a second instance of each with the same pid file, and one with the
#     same control socket but another pid file, must exit non-zero with a
#     clear "another DAEMON ..." message, and the first must still answer
#     its control tool on the same socket file (same inode);
#   - each pid file holds its daemon's pid;
#   - with the socket files opened up to mode 0666 by hand, a client
#     running as uid 65534 is still refused by SO_PEERCRED (ikedctl,
#     r2espctl, spmdctl), and root still gets in;
#   - after kill -9 the stale socket is replaced by the next start, and a
#     clean stop removes socket and pid file.
# Before the fix the second iked unlinked the first one's socket (ikedctl
# could no longer reach it), and iked and r2espd served uid 65534 when
# the mode allowed it.
#
# usage: single_instance.sh [BUILD_DIR]   (root; namespaces r2s-PID-*)
set -u
TOP=${R2_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/racoon2.sh"
netns_init r2s single_instance
need_cmd setpriv
r2_us_bins "$BUILD"
r2_need_bins single_instance "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"

ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24

D=$TEST_DIR/a
mkdir -p "$D"
chmod 0711 "$TEST_DIR" "$D" # uid 65534 may reach the sockets
printf 'single-instance-psk\n' >"$D/psk"
chmod 600 "$D/psk"
r2_us_tunnel_conf a me=198.51.100.1 peer=198.51.100.2 \
	mynet=203.0.113.1/32 peernet=203.0.113.2/32 psk="$D/psk" \
	spmif="$D/spmif" >"$D/racoon2.conf"
export RACOON2_ESPD_SOCKET=$D/r2espd.sock

espctl() { ns_exec a "$ESPCTL" -s "$D/r2espd.sock" "$@"; }
spmctl() { ns_exec a "$SPMDCTL" -s "$D/spmif" "$@"; }
ikectl() { ns_exec a "$IKEDCTL" -s "$D/iked.sock" "$@"; }
# as uid 65534 (nobody), no groups
nobody() { ns_exec a setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

ESPD_ARGS=(-s "$D/r2espd.sock" -p "$D/r2espd.pid" -i r2tun0)
SPMD_ARGS=(-F -d -f "$D/racoon2.conf" -p "$D/spmd.pid")
IKED_ARGS=(-F -d -f "$D/racoon2.conf" --ctl-socket "$D/iked.sock" --pidfile "$D/iked.pid")

start_all() {
	start_bg espd ip netns exec "$(ns a)" "$ESPD" "${ESPD_ARGS[@]}"
	wait_for "espctl stats" 5 || return 1
	start_bg spmd ip netns exec "$(ns a)" "$SPMD" "${SPMD_ARGS[@]}"
	wait_for "spmctl status" 5 || return 1
	start_bg iked ip netns exec "$(ns a)" "$IKED" "${IKED_ARGS[@]}"
	wait_for "ikectl ping" 5
}
inode() { stat -c %i "$1" 2>/dev/null; }

check "r2espd, spmd and iked started" start_all
for n in espd spmd iked; do
	f=$D/$n.pid
	[ $n = espd ] && f=$D/r2espd.pid
	check "$n: the pid file holds its pid" \
		test "$(cat "$f" 2>/dev/null)" = "$(bg_pid $n)"
done

# second DAEMON NAME TOOLCHECK SOCKET MSG ARGS... : a second instance
# must fail with MSG and leave the first answering on the same file.
second() {
	local name=$1 tool=$2 sock=$3 msg=$4 before out rc
	shift 4
	before=$(inode "$sock")
	out=$(timeout 20 ip netns exec "$(ns a)" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$TEST_DIR/second-$name.log"
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$msg" <<<"$out"; then
		pass "$name: refused (\"$(grep -m1 -o -- "$msg.*" <<<"$out" | cut -c1-90)\")"
	else
		fail "$name: a second instance was not refused as it should (rc $rc)" \
			"$(tail -3 <<<"$out")"
	fi
	check "$name: the first one still answers" eval "$tool >/dev/null 2>&1"
	check "$name: its socket file is untouched" \
		test "$(inode "$sock")" = "$before"
}

second "r2espd, same pid file" "espctl stats" "$D/r2espd.sock" \
	"another r2espd (pid $(bg_pid espd)) holds the pid file" \
	"$ESPD" "${ESPD_ARGS[@]}"
second "r2espd, same socket" "espctl stats" "$D/r2espd.sock" \
	"another r2espd is serving $D/r2espd.sock" \
	"$ESPD" -s "$D/r2espd.sock" -p "$D/r2espd2.pid" -i r2tun1
second "spmd, same pid file" "spmctl status" "$D/spmif" \
	"another spmd (pid $(bg_pid spmd)) holds the pid file" \
	"$SPMD" "${SPMD_ARGS[@]}"
second "spmd, same socket" "spmctl status" "$D/spmif" \
	"another spmd is serving $D/spmif" \
	"$SPMD" -F -f "$D/racoon2.conf" -p "$D/spmd2.pid"
second "iked, same pid file" "ikectl ping" "$D/iked.sock" \
	"another iked (pid $(bg_pid iked)) holds the pid file" \
	"$IKED" "${IKED_ARGS[@]}"
second "iked, same socket" "ikectl ping" "$D/iked.sock" \
	"another iked is serving $D/iked.sock" \
	"$IKED" -F -f "$D/racoon2.conf" --ctl-socket "$D/iked.sock" --pidfile "$D/iked2.pid"
check "all three first instances still run" \
	eval 'bg_alive espd && bg_alive spmd && bg_alive iked'

# ---- peer credentials --------------------------------------------------------
for s in r2espd.sock spmif iked.sock; do
	check "$s is created mode 0600" test "$(stat -c %a "$D/$s")" = 600
done
# an administrator widens the modes: SO_PEERCRED must still keep a
# non-root client out (and root in)
chmod 0666 "$D/r2espd.sock" "$D/spmif" "$D/iked.sock"
check "iked: uid 65534 refused by SO_PEERCRED" \
	eval '! nobody "$IKEDCTL" -s "$D/iked.sock" ping >/dev/null 2>&1'
check "r2espd: uid 65534 refused by SO_PEERCRED" \
	eval '! nobody "$ESPCTL" -s "$D/r2espd.sock" stats >/dev/null 2>&1'
check "spmd: uid 65534 refused by SO_PEERCRED" \
	eval '! nobody "$SPMDCTL" -s "$D/spmif" status >/dev/null 2>&1'
check "iked logged the refusal" \
	grep -q "refused a client with uid 65534" "$TEST_DIR/iked.log"
check "r2espd logged the refusal" \
	grep -q "refused a client with uid 65534" "$TEST_DIR/espd.log"
check "root still gets in everywhere" \
	eval '{ ikectl ping && espctl stats && spmctl status; } >/dev/null 2>&1'
chmod 0600 "$D/r2espd.sock" "$D/spmif" "$D/iked.sock"

# ---- bounded output backlog -------------------------------------------------
# A client that sends requests and never reads: spmd keeps at most
# 256 KiB of unsent output for it (was 64 MiB), then disconnects it with
# a logged reason, and keeps serving everyone else.
cat >"$TEST_DIR/noread.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(3)
try:  # ~15 MB of STATUS replies asked for, in large writes
    s.sendall(b"STATUS\n" * 20000)
except (socket.timeout, BrokenPipeError, ConnectionResetError):
    pass
time.sleep(1.5)
s.setblocking(True)
s.settimeout(5)
got = 0
try:
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:  # closed with our requests unread
            break
        if not b:
            break
        got += len(b)
except Exception as e:
    print("no EOF:", e)
    sys.exit(1)
print("received", got)
sys.exit(0 if got < (1 << 20) else 1)
PY
check "spmd: a client that does not read is cut off below 1 MiB" \
	to_file "$TEST_DIR/noread.out" ns_exec a python3 "$TEST_DIR/noread.py" "$D/spmif"
check "spmd logged why" grep -q "output unread; disconnected" "$TEST_DIR/spmd.log"
check "spmd still answers others" eval 'spmctl status >/dev/null 2>&1'

# ---- stale sockets and clean stops -------------------------------------------
stop_bg iked KILL 2>/dev/null
check "iked: kill -9 leaves a stale socket" test -S "$D/iked.sock"
start_bg iked ip netns exec "$(ns a)" "$IKED" "${IKED_ARGS[@]}"
check "iked: the next start replaces the stale socket" \
	wait_for "ikectl ping" 5
stop_bg iked
stop_bg spmd
stop_bg espd
for f in iked.sock spmif r2espd.sock iked.pid spmd.pid r2espd.pid; do
	check "clean stop removed $f" test ! -e "$D/$f"
done

finish
