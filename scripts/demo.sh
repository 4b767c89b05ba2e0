#!/usr/bin/env bash
# scripts/demo.sh - racoon2's main job in one command.
#
# Builds racoon2, creates two hosts (network namespaces joined by a
# virtual cable), starts the userspace ESP data plane (r2espd), the policy
# manager (spmd) and the IKEv2 daemon (iked) on each with the shipped
# configurations examples/demo/host-{a,b}.conf, then lets a ping from a
# machine behind host A to one behind host B trigger the negotiation and
# shows the result.  Everything it creates is removed at the end, also on
# failure or Ctrl-C.
#
#   ./scripts/demo.sh            (as root, from the repository)
#
# Environment: DEMO_BUILD=DIR  build directory (default: build)
#              R2_BIN=DIR      use the installed binaries in DIR (e.g. an
#                              extracted package's usr/sbin); no build
#              DEMO_NO_DEPS=1  do not run scripts/deps.sh
#              DEMO_KEEP=1     keep the run directory (logs) at the end
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DEMO_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
NA=r2j-$$-demo-a
NB=r2j-$$-demo-b
RUN=""
declare -A PID=()

bold=$'\e[1m' green=$'\e[32m' red=$'\e[31m' dim=$'\e[2m' off=$'\e[0m'
[ -t 1 ] || bold='' green='' red='' dim='' off=''
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
say() { printf '%s\n' "$*"; }
# on a|b CMD ARGS... : run a racoon2 tool or a command on host A or B,
# printed the way one would type it there, output indented.
on() {
	local h=$1 ns=$NA tool=$2 real
	shift 2
	[ "$h" = b ] && ns=$NB
	case $tool in
	ikedctl) real=("$IKEDCTL" -s "$RUN/host-$h.iked") ;;
	spmdctl) real=("$SPMDCTL" -s "$RUN/host-$h.spmif") ;;
	r2espctl) real=("$ESPCTL" -s "$RUN/host-$h.r2espd") ;;
	*) real=("$tool") ;;
	esac
	printf '%shost-%s# %s %s%s\n' "$dim" "$h" "$tool" "$*" "$off"
	ip netns exec "$ns" "${real[@]}" "$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}
die() { printf '%sdemo failed: %s%s\n' "$red" "$*" "$off" >&2; exit 1; }

cleanup() {
	local rc=$? k p
	trap - EXIT INT TERM
	step "Cleaning up"
	# iked first (it deletes its SAs and tells the peer), then spmd
	# (it removes its policies), then the data planes.
	for k in iked-a iked-b spmd-a spmd-b espd-a espd-b; do
		p=${PID[$k]:-}
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null || true
		for _ in $(seq 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
	if [ -n "$RUN" ]; then
		if [ -n "${DEMO_KEEP:-}" ] || [ $rc != 0 ]; then
			say "logs kept in $RUN"
		else
			rm -rf "$RUN"
		fi
	fi
	say "namespaces and daemons removed."
	exit $rc
}

[ "$(id -u)" = 0 ] || die "run me as root (network namespaces need it)"

step "1. Packages (scripts/deps.sh)"
if [ -z "${DEMO_NO_DEPS:-}" ]; then
	"$ROOT/scripts/deps.sh" || die "installing the Debian packages failed"
fi
say "build and demo dependencies are installed."

if [ -n "${R2_BIN:-}" ]; then
step "2. Using the binaries in $R2_BIN"
IKED=$R2_BIN/iked IKEDCTL=$R2_BIN/ikedctl SPMD=$R2_BIN/spmd SPMDCTL=$R2_BIN/spmdctl
ESPD=$R2_BIN/r2espd ESPCTL=$R2_BIN/r2espctl
for b in "$IKED" "$SPMD" "$ESPD"; do [ -x "$b" ] || die "$b is missing"; done
else
step "2. Building racoon2 into ${BUILD#"$ROOT"/}"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" >"$ROOT/.demo-meson.log" 2>&1 ||
		{ tail -20 "$ROOT/.demo-meson.log"; die "meson setup failed"; }
	rm -f "$ROOT/.demo-meson.log"
fi
TARGETS=(src/ike/iked src/ike/ikedctl src/spm/spmd src/spm/spmdctl
	src/kernel/userspace/r2espd src/kernel/userspace/r2espctl)
ninja -C "$BUILD" "${TARGETS[@]}" >/dev/null ||
	die "the build failed (run: ninja -C $BUILD)"
IKED=$BUILD/src/ike/iked IKEDCTL=$BUILD/src/ike/ikedctl
SPMD=$BUILD/src/spm/spmd SPMDCTL=$BUILD/src/spm/spmdctl
ESPD=$BUILD/src/kernel/userspace/r2espd ESPCTL=$BUILD/src/kernel/userspace/r2espctl
say "built iked, spmd, r2espd and their control tools."
fi

trap cleanup EXIT
trap 'exit 130' INT TERM
RUN=$(mktemp -d /tmp/racoon2-demo.XXXXXX)

step "3. Two hosts"
cat <<EOF
    host A  198.51.100.1  ==== virtual cable ====  198.51.100.2  host B
    protects 203.0.113.0/25                        protects 203.0.113.128/25
    (machine 203.0.113.1 behind it)                (machine 203.0.113.129)

  The traffic between the two networks must be ESP-protected (tunnel mode),
  with keys negotiated by IKEv2 and a pre-shared key.  This kernel may have
  no ESP at all: racoon2 carries ESP itself, in r2espd, over a TUN device
  ("interface { kernel userspace; };" in the configuration).
EOF
ip netns add "$NA"
ip netns add "$NB"
ip link add "r2j$$a" type veth peer name "r2j$$b"
ip link set "r2j$$a" netns "$NA" name eth0
ip link set "r2j$$b" netns "$NB" name eth0
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" addr add 198.51.100.1/24 dev eth0
ip -n "$NB" addr add 198.51.100.2/24 dev eth0
ip -n "$NA" link set eth0 up
ip -n "$NB" link set eth0 up
# The machines behind each gateway, as an address of the gateway itself.
ip -n "$NA" addr add 203.0.113.1/32 dev lo
ip -n "$NB" addr add 203.0.113.129/32 dev lo
say "  namespaces $NA and $NB created."

step "4. Starting racoon2 on each host"
# Both hosts share one freshly generated pre-shared key.
(umask 077; od -An -tx1 -N24 /dev/urandom | tr -d " \n" >"$RUN/demo.psk")
for h in a b; do
	sed "s|@DIR@|$RUN|g" "$ROOT/examples/demo/host-$h.conf" >"$RUN/host-$h.conf"
done
start() {
	local h=$1 ns=$2
	local sock=$RUN/host-$h.r2espd
	export RACOON2_ESPD_SOCKET=$sock
	ip netns exec "$ns" "$ESPD" -s "$sock" -i r2tun0 >"$RUN/r2espd-$h.log" 2>&1 &
	PID[espd-$h]=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	ip netns exec "$ns" "$SPMD" -F -d -f "$RUN/host-$h.conf" \
		-p "$RUN/spmd-$h.pid" >"$RUN/spmd-$h.log" 2>&1 &
	PID[spmd-$h]=$!
	for _ in $(seq 50); do [ -S "$RUN/host-$h.spmif" ] && break; sleep 0.1; done
	ip netns exec "$ns" "$IKED" -F -d -f "$RUN/host-$h.conf" \
		--ctl-socket "$RUN/host-$h.iked" >"$RUN/iked-$h.log" 2>&1 &
	PID[iked-$h]=$!
	for _ in $(seq 50); do
		grep -q "registered with spmd" "$RUN/iked-$h.log" 2>/dev/null && return 0
		sleep 0.1
	done
	tail -5 "$RUN"/*-"$h".log >&2
	die "racoon2 did not start on host $h"
}
start a "$NA"
start b "$NB"
say "  r2espd, spmd and iked are running on both hosts (configuration:"
say "  examples/demo/host-a.conf and host-b.conf)."
say ""
say "spmd installed the configured policies in the data plane; no SA yet:"
on a spmdctl policy show
say ""
say "and r2espd routes host B's network into its TUN device by itself:"
on a ip route show 203.0.113.128/25

step "5. Traffic from 203.0.113.1 to 203.0.113.129 triggers the negotiation"
say "  r2espd holds the first packet and raises an ACQUIRE; spmd hands it"
say "  to iked, which runs IKE_SA_INIT + IKE_AUTH with host B and installs"
say "  the ESP SAs in r2espd; the held packet then goes out."
on a ping -c 3 -i 0.5 -W 2 -I 203.0.113.1 203.0.113.129 ||
	die "the ping was not answered (logs: $RUN)"
grep -h "ACQUIRE for policy\|IKE SA #.* established\|CHILD SA #.* installed" \
	"$RUN/iked-a.log" | sed -E 's/^[^ ]+ iked\[[0-9]+\] [A-Z]+ [a-z]+: /    iked on host A: /' | head -4 || true

step "6. The security associations"
say "on host A:"
on a ikedctl show sa
say "on host B:"
on b ikedctl show sa
say "in host A's data plane (r2espd):"
on a r2espctl sa show
say "spmd's view of the policies now:"
on a spmdctl policy show

step "7. Protected traffic"
cap=""
if command -v tshark >/dev/null; then
	cap=$RUN/wire.pcap
	ip netns exec "$NB" tshark -q -i eth0 -f ip -w "$cap" -a duration:4 \
		>/dev/null 2>&1 &
	capp=$!
	sleep 1.5
fi
on a ping -c 4 -i 0.3 -W 2 -I 203.0.113.1 203.0.113.129 ||
	die "the ping through the tunnel failed (logs: $RUN)"
if [ -n "$cap" ]; then
	wait "$capp" 2>/dev/null || true
	say ""
	say "what the cable between the hosts carried meanwhile (tshark):"
	tshark -r "$cap" -n 2>/dev/null | sed 's/^/    /' | head -12
	say "  only ESP between the gateways: the ICMP inside is encrypted."
fi
rx=$(ip netns exec "$NB" "$ESPCTL" -s "$RUN/host-b.r2espd" stats |
	awk '$1 == "esp_rx" { print $2 }')
printf '\n%sSUCCESS:%s the pings were answered through an IKEv2-keyed ESP tunnel\n' \
	"$green$bold" "$off"
say "(host B's r2espd decrypted ${rx:-?} ESP packets)."
