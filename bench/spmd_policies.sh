#!/bin/bash
# spmd_policies.sh - benchmark: install N (default 10,000) IPsec policies
# through spmd (config parse + XFRM install, until spmd answers on its
# socket) and the same N policies with `ip -batch`, in one run, each in
# a fresh network namespace; prints both times and the ratios.  Then
# spmd's reloads: one selector pair changed (5 times, median), nothing
# changed, a pair inserted mid-file and removed, a policy changed (the
# full reload) -- wall time through spmdctl, spmd's own time and CPU;
# spmd's RSS per policy; the load average.  CPU as well as wall: spmd's
# until it answers (schedstat; its own log line splits load / install),
# ip -batch's user + system (on a busy machine wall times mostly measure
# the scheduler).  Issue 14: install phase
# ~0.4 x ip -batch, a one-policy reload at 100,000 < 100 ms.
# Not part of the test suite.
#
# The start is measured RUNS times (-r, default 3), alternating spmd,
# ip -batch and (with -B BUILD) another build's spmd, each in a fresh
# namespace; the figures are the median and the range, and the CPU
# ratio is the median of each run's spmd / ip -batch: the kernel's
# XFRM work varies from run to run (bench/RESULTS.md), so one run's
# ratio decides nothing.  Every spmd is stopped with SIGTERM and its
# CPU for removing its policies is measured too (bash's `times` of
# the wrapper that waited for it).  Before each load the previous
# namespaces' policies are flushed synchronously (`ip xfrm policy
# flush`, not timed), so no namespace teardown of an earlier run runs
# in the kernel's workers during the next one.
#
# usage: bench/spmd_policies.sh [-r RUNS] [-B BUILD] [N] [SPMD] [SPMDCTL]
set -eu

RUNS=3
BASE=
while getopts r:B: o; do
	case $o in
	r) RUNS=$OPTARG ;;
	B) BASE=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
N=${1:-10000}
TOP=$(cd "$(dirname "$0")/.." && pwd)
SPMD=${2:-$TOP/build-spmd/src/spm/spmd}
SPMDCTL=${3:-$TOP/build-spmd/src/spm/spmdctl}
PAIRS=$((N / 2))
NS1=r2b-$$-spmd
NS2=r2b-$$-ip
W=$(mktemp -d /tmp/r2b-$$.XXXXXX)
SPMD_PID=

cleanup() {
	[ -n "$SPMD_PID" ] && kill -9 "$SPMD_PID" 2>/dev/null
	ip netns del "$NS1" 2>/dev/null || true
	ip netns del "$NS2" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM

ip netns add "$NS1"
ip netns add "$NS2"
# N/2 selector pairs, host to host in 2001:db8::/32 (documentation
# space), transport-mode ESP, all with one policy; the same policies as
# ip -batch lines in $W/batch
. "$TOP/tests/lib/topo.sh"
spmd_pairs_conf "$W" "$PAIRS" "$W/batch"
cp "$W/racoon2.conf" "$W/racoon2.conf.orig"

now() { date +%s.%N; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# spmd's CPU time in ns (schedstat: not rounded to 10 ms ticks)
cpu_ns() { awk '{print $1}' "/proc/$SPMD_PID/schedstat"; }
count() { ip -n "$1" xfrm policy list | grep -c '^src' || true; }

# spmd_up SPMD SPMDCTL: start that spmd in NS1 (its policies flushed
# first, untimed), wait until it answers on its socket; sets SPMD_PID,
# WRAP_PID and START (wall s, CPU ms until it answered, its log's config
# load and install ms and their CPU, policies installed).  spmd runs
# under a bash that prints its CPU with `times` once it exited.
spmd_up() {
	local a b
	ip -n "$NS1" xfrm policy flush
	rm -f "$W/spmd.pid" "$W/spmd.cpu"
	a=$(now)
	ip netns exec "$NS1" bash -c '"$@" >"$0.log" 2>&1; times >"$0.cpu"' \
		"$W/spmd" "$1" -F -f "$W/racoon2.conf" -p "$W/spmd.pid" &
	WRAP_PID=$!
	# spmd serves its socket only once the install loop has finished
	# (spmif is a path: spmdctl needs no `ip netns exec`, whose mount
	# namespace setup would cost more than the reloads it measures)
	until "$2" -s "$W/spmif" status >/dev/null 2>&1; do
		kill -0 "$WRAP_PID" 2>/dev/null || { cat "$W/spmd.log"; exit 1; }
		[ "$(now | cut -d. -f1)" -lt "$(($(printf %.0f "$a") + 600))" ] ||
			{ echo "spmd did not answer in 600 s" >&2; exit 1; }
		sleep 0.005
	done
	b=$(now)
	SPMD_PID=$(cat "$W/spmd.pid")
	# spmd's CPU until it answered (schedstat, ns): load + build +
	# install, for any spmd (an older one logs no CPU of its own)
	START="$(echo "$b - $a" | bc -l) $(($(cpu_ns) / 1000000))"
	START="$START $(sed -n 's/.*config loaded in \([0-9]*\) ms, policies built and installed in \([0-9]*\) ms.*/\1 \2/p' "$W/spmd.log" | head -1 | grep . || echo -1 -1)"
	START="$START $(sed -n 's/.*policies built and installed in [0-9]* ms (CPU \([0-9]*\) + \([0-9]*\) ms).*/\1 \2/p' "$W/spmd.log" | head -1 | grep . || echo -1 -1)"
	START="$START $(count "$NS1")"
}

# spmd_down: SIGTERM; STOP = wall s, spmd's CPU from then to its exit
# (ms), policies left behind
spmd_down() {
	local a b c0 total
	c0=$(cpu_ns)
	a=$(now)
	kill -TERM "$SPMD_PID"
	wait "$WRAP_PID" || true
	b=$(now)
	SPMD_PID=
	# times: the shell's line, then its children's "XmY.YYYs XmY.YYYs"
	total=$(sed -n 2p "$W/spmd.cpu" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] }
		printf "%d", t * 1000 }')
	STOP="$(echo "$b - $a" | bc -l) $((total - c0 / 1000000)) $(count "$NS1")"
}

# ip_run: the same policies through ip -batch into NS2 (flushed before
# and after, untimed); its CPU, user + system: the kernel's XFRM work
# runs in its syscalls, as spmd's does in spmd's
ip_run() {
	local a b
	ip -n "$NS2" xfrm policy flush
	TIMEFORMAT='%U %S'
	a=$(now)
	{ time ip -n "$NS2" -batch "$W/batch"; } 2>"$W/ip.cpu"
	b=$(now)
	IPR="$(echo "$b - $a" | bc -l) $(awk '{printf "%d", ($1 + $2) * 1000}' "$W/ip.cpu") $(count "$NS2")"
	ip -n "$NS2" xfrm policy flush
}

# --- reloads -------------------------------------------------------------------
# spmd's own figure: the sum of the phases of its "reloaded" log line.
spmd_ms() {
	sed -n 's/.*reloaded .*config loaded in \([0-9]*\) ms, policies built in \([0-9]*\) ms, applied in \([0-9]*\) ms.*/\1 \2 \3/p' \
		"$W/spmd.log" | tail -1 | awk '{print $1 + $2 + $3}'
}
# reload NAME: spmdctl reload, append "NAME wall_ms spmd_ms cpu_ms" to $W/reloads
reload() {
	local c0 c1 a b
	c0=$(cpu_ns)
	a=$(now)
	"$SPMDCTL" -s "$W/spmif" reload >"$W/reload.out" 2>&1 ||
		{ cat "$W/reload.out"; exit 1; }
	b=$(now)
	c1=$(cpu_ns)
	echo "$1 $(echo "($b - $a) * 1000" | bc -l) $(spmd_ms) $(((c1 - c0) / 1000000))" >>"$W/reloads"
}
reloads() {
	: >"$W/reloads"
	# the client's own cost (exec, connect, one round trip) under this
	# load: `spmdctl status` answered without work, the anchor of the
	# reload walls
	for r in 1 2 3 4 5; do
		a=$(now)
		"$SPMDCTL" -s "$W/spmif" status >/dev/null
		b=$(now)
		echo "status $(echo "($b - $a) * 1000" | bc -l) -1 0" >>"$W/reloads"
	done
	# one policy pair changed among N (issue 14: < 100 ms): o1/i1 get
	# another peer address each time (one delete + one add per direction)
	for r in 1 2 3 4 5; do
		sed -i "s|^\(selector o1 { direction outbound; src \"[^\"]*\"; dst \"\)[^\"]*\"|\12001:db8:3::$r\"|" "$W/racoon2.conf"
		sed -i "s|^\(selector i1 { direction inbound; src \"\)[^\"]*\"|\12001:db8:3::$r\"|" "$W/racoon2.conf"
		reload change
	done
	moved=$(ip -n "$NS1" xfrm policy list | grep -c '2001:db8:3::5' || true)
	reload nothing
	# a new pair in the middle (the lines after it move), then removed again
	sed -i "s|^\(selector o$((PAIRS / 2)) .*\)$|\1\nselector on { direction outbound; src \"2001:db8:4::1\"; dst \"2001:db8:4::2\"; policy_index p; };\nselector in { direction inbound; src \"2001:db8:4::2\"; dst \"2001:db8:4::1\"; policy_index p; };|" "$W/racoon2.conf"
	reload insert
	added=$(ip -n "$NS1" xfrm policy list | grep -c '2001:db8:4::1' || true)
	sed -i '/^selector o[n] \|^selector i[n] /d' "$W/racoon2.conf"
	reload remove
	# a change outside the selectors (the policy's level): the full reload
	sed -i 's|ipsec_level require; };|ipsec_level use; };|' "$W/racoon2.conf"
	reload full
	sed -i 's|ipsec_level use; };|ipsec_level require; };|' "$W/racoon2.conf"
	reload full
	rss2_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SPMD_PID/status")
	partial=$("$SPMDCTL" -s "$W/spmif" status |
		sed -n 's/^reloads_partial[: ]*\([0-9]*\).*/\1/p')
	cp "$W/racoon2.conf.orig" "$W/racoon2.conf"
}

# --- the runs: spmd, ip -batch, BASE's spmd, alternated -------------------------
# $W/runs: "KIND wall_s cpu_ms load_ms inst_ms load_cpu inst_cpu got stop_wall stop_cpu left"
# (KIND spmd or base) and "ip wall_s cpu_ms got"
: >"$W/runs"
for run in $(seq "$RUNS"); do
	spmd_up "$SPMD" "$SPMDCTL"
	if [ "$run" = 1 ]; then
		rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SPMD_PID/status")
		reloads
	fi
	s=$START
	spmd_down
	echo "spmd $s $STOP" >>"$W/runs"
	ip_run
	echo "ip $IPR" >>"$W/runs"
	if [ -n "$BASE" ]; then
		spmd_up "$BASE/src/spm/spmd" "$BASE/src/spm/spmdctl"
		s=$START
		spmd_down
		echo "base $s $STOP" >>"$W/runs"
	fi
done

load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$W/runs" "$W/reloads" "$N" "$moved" "$added" "$rss_kb" "$rss2_kb" \
	"${partial:-0}" "$load0" "$load1" "$BASE" <<'PY'
import sys, statistics
runs = [l.split() for l in open(sys.argv[1])]
rel = {}
for line in open(sys.argv[2]):
    k, wall, own, cpu = line.split()
    rel.setdefault(k, []).append((float(wall), float(own or -1), float(cpu)))
n, moved, added, rss_kb, rss2_kb, partial = map(int, sys.argv[3:9])
load0, load1, base = sys.argv[9], sys.argv[10], sys.argv[11]
def col(kind, i):
    return [float(r[i]) for r in runs if r[0] == kind]
def span(v, fmt="%.0f"):
    if not v:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v), min(v), max(v))
ip_cpu = col("ip", 2)
print("load average: %s at the start, %s at the end (2 shared cores)" % (load0, load1))
print("%d policies, %d runs; median (min-max) over the runs" % (n, len(ip_cpu)))
got = {k: col(k, 7) for k in ("spmd", "base")}
got["ip"] = col("ip", 3)
kinds = ["spmd"] + (["base"] if base else [])
for k in kinds:
    who = "spmd" if k == "spmd" else "BASE spmd (%s)" % base
    cpu, wall = col(k, 2), col(k, 1)
    ratio = [c / max(i, 1) for c, i in zip(cpu, ip_cpu)]
    print("%s:" % who)
    print("  start CPU until it answered %s ms, wall %s s" % (span(cpu), span(wall, "%.2f")))
    lc, ic = col(k, 5), col(k, 6)
    if lc and min(lc) >= 0:
        print("    of which config load CPU %s ms, build + install CPU %s ms" % (span(lc), span(ic)))
    print("  CPU ratio spmd / ip -batch, per run: %s (issue 14: ~0.4)" % span(ratio, "%.2f"))
    print("    per run: %s" % " ".join("%.2f" % r for r in ratio))
    print("  removal on SIGTERM: CPU %s ms, wall %s s, %s left"
          % (span(col(k, 9)), span(col(k, 8), "%.2f"), span(col(k, 10))))
print("ip -batch: CPU %s ms, wall %s s" % (span(ip_cpu), span(col("ip", 1), "%.2f")))
def show(k, what):
    v = rel.get(k, [])
    if not v:
        return
    med = lambda i: statistics.median(x[i] for x in v)
    print("reload, %-24s %7.1f ms wall (spmdctl), spmd %5.0f ms, spmd CPU %4.0f ms%s"
          % (what + ":", med(0), med(1), med(2),
             " (median of %d)" % len(v) if len(v) > 1 else ""))
v = rel.pop("status", [])
if v:
    print("spmdctl status (no work):       %7.1f ms wall (median of %d): the client's own cost"
          % (statistics.median(x[0] for x in v), len(v)))
show("change", "1 policy pair changed")
print("  (%d policies moved; goal < 100 ms)" % moved)
show("nothing", "nothing changed")
show("insert", "1 pair inserted mid-file")
print("  (%d policies added)" % added)
show("remove", "that pair removed")
show("full", "a policy changed (full)")
print("reloads taken incrementally:    %d of %d" % (partial, sum(len(v) for v in rel.values())))
print("spmd RSS with %d policies:      %d KiB (%.0f B/policy); after the reloads %d KiB (%.0f B/policy)"
      % (n, rss_kb, rss_kb * 1024.0 / n, rss2_kb, rss2_kb * 1024.0 / n))
if any(g != n for v in got.values() for g in v):
    print("WARNING: not all policies were installed")
left = col("spmd", 10) + col("base", 10)
if any(left):
    print("WARNING: policies left after SIGTERM")
PY
