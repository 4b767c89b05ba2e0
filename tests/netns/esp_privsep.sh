#!/bin/bash
# esp_privsep.sh - r2espd's privilege separation (issue 9), with the
# default options:
#   - the packet-processing worker runs as _racoon2 (Uid/Gid), with
#     NoNewPrivs 1, Seccomp 2 (filter), no capabilities (CapEff, CapPrm,
#     CapBnd 0), chrooted to an empty directory, not dumpable;
#   - the privileged parent stays root with only CAP_NET_ADMIN and
#     CAP_KILL and no_new_privs;
#   - traffic flows through the worker; routes appear and disappear with
#     policies (installed by the parent on the worker's request);
#   - when the worker dies the parent removes routes, control socket and
#     pid file and exits; when the parent dies the worker dies too;
#   - a missing user is a clear error that leaves nothing behind.
#
# usage: esp_privsep.sh [BUILD_DIR]   (root; namespaces r2s-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
BIN=$BUILD/src/kernel/userspace
[ -x "$BIN/r2espd" ] || BIN=$BUILD/tests/unit/esp

. "$TOP/tests/lib/netns.sh"
netns_init r2s esp_privsep
need_cmd ping
[ -x "$BIN/r2espd" ] || skip_all "esp_privsep: r2espd not built in $BUILD"
getent passwd _racoon2 >/dev/null ||
	skip_all "esp_privsep: no user _racoon2 (scripts/deps.sh creates it)"
R2UID=$(id -u _racoon2)
R2GID=$(id -g _racoon2)

ns_add a; ns_add b
ns_link a vA b vB
ns_addr a vA 198.51.100.1/24; ns_addr b vB 198.51.100.2/24
ns_addr a lo 203.0.113.1/32; ns_addr b lo 203.0.113.2/32

ctl() { local h=$1; shift; ns_exec "$h" "$BIN/r2espctl" -s "$TEST_DIR/$h.sock" "$@"; }
K=000102030405060708090a0b0c0d0e0f
A=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

espd_start() { # HOST [options]
	local h=$1; shift
	start_bg espd-$h ip netns exec "$(ns $h)" "$BIN/r2espd" -u \
		-s "$TEST_DIR/$h.sock" -p "$TEST_DIR/$h.pidfile" "$@"
	wait_for "ctl $h stats" 5
}
setup() { # HOST
	local h=$1 l=1 r=2
	[ $h = b ] && l=2 r=1
	ctl $h sa add src 198.51.100.1 dst 198.51.100.2 spi 0x1000 reqid 1 enc aes-cbc-128 key $K auth sha256 akey $A &&
	ctl $h sa add src 198.51.100.2 dst 198.51.100.1 spi 0x1001 reqid 1 enc aes-cbc-128 key $K auth sha256 akey $A &&
	ctl $h pol add dir out src 203.0.113.$l dst 203.0.113.$r tsrc 198.51.100.$l tdst 198.51.100.$r reqid 1 &&
	ctl $h pol add dir in src 203.0.113.$r dst 203.0.113.$l tsrc 198.51.100.$r tdst 198.51.100.$l reqid 1
} >/dev/null
ping_ok() { ns_exec a ping -q -c 2 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1; }
our_routes() { ip -n "$(ns $1)" route show proto 154 2>/dev/null; }
# the worker: the parent's only child
worker_of() { pgrep -P "$1" | head -1; }
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' ' | sed 's/ $//'; }

check "r2espd started in both hosts" eval 'espd_start a && espd_start b'
PA=$(bg_pid espd-a)
WA=$(worker_of "$PA")
echo "parent $PA worker $WA" >>"$TEST_DIR/log"
check "a worker process runs under the parent" test -n "$WA"
check "worker runs as _racoon2 (all uids)" \
	test "$(field "$WA" Uid)" = "$R2UID $R2UID $R2UID $R2UID"
check "worker runs with _racoon2's group only" \
	eval 'test "$(field "$WA" Gid)" = "$R2GID $R2GID $R2GID $R2GID" &&
	      test "$(field "$WA" Groups)" = "$R2GID"'
check "worker: NoNewPrivs 1" test "$(field "$WA" NoNewPrivs)" = 1
check "worker: Seccomp 2 (filter)" test "$(field "$WA" Seccomp)" = 2
check "worker: CapEff 0" test "$(field "$WA" CapEff)" = 0000000000000000
check "worker: CapPrm and CapBnd 0" \
	eval 'test "$(field "$WA" CapPrm)" = 0000000000000000 &&
	      test "$(field "$WA" CapBnd)" = 0000000000000000'
check "worker: chrooted to the empty directory" \
	test "$(readlink "/proc/$WA/root")" = /run/racoon2/empty
check "parent: root with only CAP_NET_ADMIN and CAP_KILL" \
	eval 'test "$(field "$PA" Uid)" = "0 0 0 0" &&
	      test "$(field "$PA" CapEff)" = 0000000000001020 &&
	      test "$(field "$PA" CapBnd)" = 0000000000001020 &&
	      test "$(field "$PA" NoNewPrivs)" = 1'
check "pid file names the parent" test "$(cat "$TEST_DIR/a.pidfile")" = "$PA"

check "tunnel set up through the worker" eval 'setup a && setup b'
check "route for the remote selector installed (via the parent)" \
	eval 'our_routes a | grep -q "203.0.113.2 dev r2tun0"'
check "ping through the tunnel" ping_ok
check "traffic counted by the worker" \
	eval 'ctl b sa query dst 198.51.100.2 spi 0x1000 | grep -qv "packets 0 "'
ctl a pol del dir out src 203.0.113.1 dst 203.0.113.2 >/dev/null
check "route removed with its policy" eval '[ -z "$(our_routes a)" ]'
ctl a pol add dir out src 203.0.113.1 dst 203.0.113.2 tsrc 198.51.100.1 tdst 198.51.100.2 reqid 1 >/dev/null
check "route back with the policy" eval 'our_routes a | grep -q 203.0.113.2'
check "worker still alive (nothing outside its allowlist)" kill -0 "$WA"

# ---- the worker dies: the parent cleans up and exits ----
kill -KILL "$WA"
for i in $(seq 50); do kill -0 "$PA" 2>/dev/null || break; sleep 0.1; done
check "parent exits when the worker dies" eval '! kill -0 "$PA" 2>/dev/null'
check "... and says so" grep -q "worker $WA killed by signal 9" "$TEST_DIR/espd-a.log"
check "... control socket removed" test ! -e "$TEST_DIR/a.sock"
check "... pid file removed" test ! -e "$TEST_DIR/a.pidfile"
check "... no route left" eval '[ -z "$(our_routes a)" ]'

# ---- the parent dies: the worker follows (PR_SET_PDEATHSIG) ----
espd_start a
PA=$(bg_pid espd-a)
WA=$(worker_of "$PA")
check "restarted with a new worker" test -n "$WA"
kill -KILL "$PA"
for i in $(seq 50); do kill -0 "$WA" 2>/dev/null || break; sleep 0.1; done
check "worker exits when the parent dies" eval '! kill -0 "$WA" 2>/dev/null'
rm -f "$TEST_DIR/a.sock"

# ---- SIGTERM: orderly stop of both ----
espd_start a
setup a
PA=$(bg_pid espd-a)
WA=$(worker_of "$PA")
stop_bg espd-a TERM 5
check "SIGTERM stops parent and worker" \
	eval '! kill -0 "$PA" 2>/dev/null && ! kill -0 "$WA" 2>/dev/null'
check "SIGTERM: socket, pid file and routes removed" \
	eval 'test ! -e "$TEST_DIR/a.sock" && test ! -e "$TEST_DIR/a.pidfile" &&
	      [ -z "$(our_routes a)" ]'
check "SIGTERM: clean exit status" \
	eval '! grep -q "killed by signal\|exited (status" "$TEST_DIR/espd-a.log"'

# ---- a missing user: a clear error, nothing left behind ----
out=$(ns_exec a "$BIN/r2espd" -u -s "$TEST_DIR/x.sock" -i r2tunx -U r2-no-such-user 2>&1)
rc=$?
echo "$out" >>"$TEST_DIR/log"
check "missing user refused with a clear message" \
	eval '[ $rc -ne 0 ] && grep -q "user r2-no-such-user does not exist" <<<"$out"'
check "... and no control socket left" test ! -e "$TEST_DIR/x.sock"

finish
