# tests/lib/netns.sh - shared bash helpers for network-namespace test scripts.
#
# Source it from a test script (bash only), then call netns_init once:
#
#   . "$(dirname "$0")/../lib/netns.sh"
#   netns_init r2i selftest          # prefix "r2i", test name "selftest"
#   ns_add a; ns_add b
#   ns_link a va b vb
#   ns_addr a va 198.51.100.1/24; ns_addr b vb 198.51.100.2/24
#   start_bg peer-a "$(ns a)" sleep 100
#   wait_for "ns_exec a ping -c1 -W1 198.51.100.2" 5 && pass ping || fail ping
#   finish                            # prints the summary, exits 1 on any FAIL
#
# What it owns: the namespaces it created (named PREFIX-PID-NAME, listed in
# NS_CREATED), the processes started with start_bg (NS_PIDS), and the
# per-test temp dir $TEST_DIR (removed on success, kept and printed on
# failure or when KEEP=1).  cleanup() runs on EXIT/INT/TERM: it stops those
# processes, then any process still living in one of our namespaces, then
# deletes the namespaces.  Nothing outside our namespaces is touched; the
# root namespace's addresses and routes are never changed.
#
# Addresses are restricted to the documentation ranges 198.51.100.0/24,
# 203.0.113.0/24 and 2001:db8::/32 (ns_addr refuses anything else).

# Counters and state (global on purpose: the test script reads them).
NS_PASS=0
NS_FAIL=0
NS_SKIP=0
NS_PREFIX=
NS_CREATED=()
NS_PIDS=()
NS_PIDNAMES=()
NS_CLEANUP_HOOKS=()
TEST_DIR=
TEST_NAME=
NS_VERBOSE=${NS_VERBOSE:-0}

# log MSG... : progress line on stderr (not counted).
log() { printf '# %s\n' "$*" >&2; }

pass() { NS_PASS=$((NS_PASS + 1)); printf 'PASS: %s\n' "$*"; }
fail() { NS_FAIL=$((NS_FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
skip() { NS_SKIP=$((NS_SKIP + 1)); printf 'SKIP: %s\n' "$*"; }

# check NAME CMD... : run CMD, pass or fail NAME on its exit status.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; return 0; fi
	fail "$name"; return 1
}

# to_file FILE CMD... : run CMD with stdout+stderr into FILE (for check:
# "check NAME to_file F CMD" keeps the PASS/FAIL line on stdout).
to_file() {
	local f=$1; shift
	"$@" >"$f" 2>&1
}

# skip_all REASON : for a whole script that cannot run here; exits 77
# (the automake/meson "skipped" status: never 0, so that a script that did
# not run is never counted as passed; scripts/test.sh and meson both
# report rc 77 as a skip).
NS_RC_SKIP=77
skip_all() {
	printf 'SKIP: %s\n' "$*"
	exit "$NS_RC_SKIP"
}

# need_cmd CMD... : skip the whole script if a tool is missing.
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "${TEST_NAME:-test}: '$c' not installed"
	done
}

# netns_init PREFIX [TEST_NAME] : set up the prefix, temp dir and trap.
netns_init() {
	local prefix=${1:?netns_init PREFIX [NAME]}
	TEST_NAME=${2:-$(basename "$0" .sh)}
	[ "$(id -u)" -eq 0 ] || skip_all "$TEST_NAME: needs root (network namespaces)"
	command -v ip >/dev/null 2>&1 || skip_all "$TEST_NAME: iproute2 missing"
	NS_PREFIX="$prefix-$$"
	TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$prefix-$TEST_NAME.XXXXXX") ||
		{ echo "FAIL: $TEST_NAME: mktemp" ; exit 1; }
	chmod 700 "$TEST_DIR"
	trap 'cleanup' EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM
}

# on_cleanup CMD : run CMD (a string, eval'ed) first during cleanup.
on_cleanup() { NS_CLEANUP_HOOKS+=("$1"); }

# ns NAME : full namespace name for a short host name.
ns() { printf '%s-%s' "$NS_PREFIX" "$1"; }

# ns_exec NAME CMD... : run CMD inside host NAME.
ns_exec() {
	local n=$1; shift
	ip netns exec "$(ns "$n")" "$@"
}

# ns_add NAME [forward] : create host NAME with lo up; "forward" enables
# IPv4/IPv6 forwarding (routers, tunnel gateways).
ns_add() {
	local n=$1 full
	full=$(ns "$n")
	ip netns add "$full" || { fail "ns_add $n"; return 1; }
	NS_CREATED+=("$full")
	ip -n "$full" link set lo up
	# Keep IPv6 DAD from delaying the first packets.
	ip netns exec "$full" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1
	if [ "${2:-}" = forward ]; then
		ip netns exec "$full" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 >/dev/null
	fi
}

# ns_del NAME : delete host NAME again (for a script that builds a
# topology per case): what still runs in it is killed, then cleanup()
# forgets it.
ns_del() {
	local full p i
	full=$(ns "$1")
	for p in $(ip netns pids "$full" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$full" 2>/dev/null
	for i in "${!NS_CREATED[@]}"; do
		[ "${NS_CREATED[i]}" = "$full" ] && unset 'NS_CREATED[i]'
	done
	NS_CREATED=("${NS_CREATED[@]}")
	return 0
}

# ns_link HOST_A IF_A HOST_B IF_B : veth pair created directly inside the
# two namespaces (never in the root namespace, so names cannot collide).
ns_link() {
	local a=$1 ia=$2 b=$3 ib=$4
	ip link add "$ia" netns "$(ns "$a")" type veth peer name "$ib" \
		netns "$(ns "$b")" || { fail "ns_link $a:$ia-$b:$ib"; return 1; }
	ip -n "$(ns "$a")" link set "$ia" up
	ip -n "$(ns "$b")" link set "$ib" up
}

# addr_allowed ADDR[/PLEN] : true for our documentation ranges only.
addr_allowed() {
	local a=${1%%/*}
	case "$a" in
	198.51.100.*|203.0.113.*) return 0 ;;
	esac
	a=${a,,}
	case "$a" in
	2001:db8:*|2001:0db8:*) return 0 ;;
	esac
	return 1
}

# ns_addr HOST IF ADDR/PLEN : add an address ("lo" for a loopback alias).
ns_addr() {
	local n=$1 dev=$2 a=$3 extra=
	if ! addr_allowed "$a"; then
		fail "ns_addr: $a is outside 198.51.100/24, 203.0.113/24, 2001:db8::/32"
		return 1
	fi
	case "$a" in *:*) extra=nodad ;; esac
	ip -n "$(ns "$n")" addr add "$a" dev "$dev" $extra
}

# ns_route HOST DEST VIA [dev IF] : route inside a host (documentation
# ranges only for DEST, or "default").
ns_route() {
	local n=$1 dst=$2; shift 2
	if [ "$dst" != default ] && ! addr_allowed "$dst"; then
		fail "ns_route: $dst not allowed"; return 1
	fi
	case "$dst$*" in
	*:*) ip -n "$(ns "$n")" -6 route add "$dst" via "$@" ;;
	*) ip -n "$(ns "$n")" route add "$dst" via "$@" ;;
	esac
}

# nat_router NAME OUT_IF [PORTS] : masquerade (nftables) everything leaving
# OUT_IF of router NAME, whose namespace must have been created with
# "forward".  TCP/UDP source ports are always mapped into PORTS (default
# 10000-60000): above 4500, so tshark (which tries the lower port's
# dissector first) still decodes IKE and ESP-in-UDP rather than, say,
# TACACS on a mapped port 49.
nat_router() {
	local n=$1 out=$2 ports=${3:-10000-60000}
	ns_exec "$n" nft -f - <<-EOF || { fail "nat_router $n"; return 1; }
	table ip r2nat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "$out" meta l4proto { tcp, udp } masquerade to :$ports
			oifname "$out" masquerade
		}
	}
	EOF
}

# start_bg NAME CMD... : start CMD in the background, stdout+stderr into
# $TEST_DIR/NAME.log; the pid is tracked for cleanup and stored in
# $TEST_DIR/NAME.pid.  Use "ip netns exec" (or ns_exec) inside CMD.
start_bg() {
	local name=$1; shift
	"$@" >"$TEST_DIR/$name.log" 2>&1 </dev/null &
	local pid=$!
	NS_PIDS+=("$pid")
	NS_PIDNAMES+=("$name")
	echo "$pid" >"$TEST_DIR/$name.pid"
	[ "$NS_VERBOSE" = 1 ] && log "started $name (pid $pid): $*"
	return 0
}

# bg_pid NAME : pid of a process started with start_bg.
bg_pid() { cat "$TEST_DIR/$1.pid" 2>/dev/null; }

# bg_alive NAME : true while that process runs.
bg_alive() {
	local p
	p=$(bg_pid "$1") || return 1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# stop_bg NAME [SIGNAL] [TIMEOUT] : signal (TERM) and wait for the exit;
# SIGKILL after TIMEOUT seconds (default 5).
stop_bg() {
	local name=$1 sig=${2:-TERM} to=${3:-5} p i
	p=$(bg_pid "$name") || return 0
	[ -n "$p" ] || return 0
	kill -"$sig" "$p" 2>/dev/null || return 0
	for ((i = 0; i < to * 20; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$p" 2>/dev/null; then
		log "$name (pid $p) ignored SIG$sig, killing"
		kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	return 0
}

# wait_for CMD TIMEOUT : poll the shell command string CMD (eval'ed) every
# 0.1 s until it succeeds (return 0) or TIMEOUT seconds pass (return 1).
wait_for() {
	local cmd=$1 to=${2:-5} end ms
	ms=$(awk -v t="$to" 'BEGIN { printf "%d", t * 1000 }')
	end=$(($(date +%s%3N) + ms))
	while :; do
		eval "$cmd" >/dev/null 2>&1 && return 0
		[ "$(date +%s%3N)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# kernel_has_esp HOST : true when this kernel installs an ESP SA (XFRM with
# the esp4 type and cbc(aes)/hmac(sha256)); tried with a throw-away SA in
# HOST's namespace, deleted again.  Tests that would install SAs in the
# kernel expect "installed" when true, a clean "type not found" when false
# -- never only the refusal.
kernel_has_esp() {
	local n
	n=$(ns "$1")
	ip -n "$n" xfrm state add src 203.0.113.250 dst 203.0.113.251 proto esp \
		spi 0x7e570001 mode transport enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f \
		auth-trunc 'hmac(sha256)' 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128 \
		>/dev/null 2>&1 || return 1
	ip -n "$n" xfrm state del src 203.0.113.250 dst 203.0.113.251 proto esp \
		spi 0x7e570001 >/dev/null 2>&1
	return 0
}

# cleanup : stop tracked processes, anything left in our namespaces, delete
# the namespaces; keep TEST_DIR when a test failed (or KEEP=1).
cleanup() {
	local rc=$? i p nsn
	trap - EXIT INT TERM
	for ((i = ${#NS_CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${NS_CLEANUP_HOOKS[i]}" >/dev/null 2>&1
	done
	for p in "${NS_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 40; i++)); do
		local alive=0
		for p in "${NS_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.05
	done
	for p in "${NS_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	# Whatever still lives in one of our namespaces was started by this
	# test (children of daemons, helpers): those pids only.
	for nsn in "${NS_CREATED[@]}"; do
		for p in $(ip netns pids "$nsn" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for nsn in "${NS_CREATED[@]}"; do
		ip netns del "$nsn" 2>/dev/null
	done
	NS_CREATED=()
	wait 2>/dev/null
	if [ -n "$TEST_DIR" ] && [ -d "$TEST_DIR" ]; then
		if [ "$NS_FAIL" -gt 0 ] || [ "${KEEP:-0}" = 1 ] ||
		    { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; }; then
			printf '# %s: logs kept in %s\n' "$TEST_NAME" "$TEST_DIR" >&2
		else
			rm -rf "$TEST_DIR"
		fi
	fi
}

# finish : summary line and exit status: 1 if anything failed, 77 (skip)
# if nothing passed or failed (every check was skipped: the script did not
# really run), else 0.
finish() {
	printf '# %s: %d passed, %d failed, %d skipped\n' "$TEST_NAME" \
		"$NS_PASS" "$NS_FAIL" "$NS_SKIP" >&2
	[ "$NS_FAIL" -eq 0 ] || exit 1
	[ "$NS_PASS" -eq 0 ] && exit "$NS_RC_SKIP"
	exit 0
}
