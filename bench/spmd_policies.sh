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
# usage: bench/spmd_policies.sh [N] [SPMD] [SPMDCTL]
set -eu

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

now() { date +%s.%N; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- spmd ---------------------------------------------------------------------
t0=$(now)
ip netns exec "$NS1" "$SPMD" -F -f "$W/racoon2.conf" -p "$W/spmd.pid" \
	>"$W/spmd.log" 2>&1 &
SPMD_PID=$!
# spmd serves its socket only once the install loop has finished
[ -x "$SPMDCTL" ] || { echo "no spmdctl at $SPMDCTL" >&2; exit 1; }
# (spmif is a path: spmdctl needs no `ip netns exec`, whose mount
# namespace setup would cost more than the reload it measures)
until "$SPMDCTL" -s "$W/spmif" status >/dev/null 2>&1; do
	kill -0 "$SPMD_PID" 2>/dev/null || { cat "$W/spmd.log"; exit 1; }
	[ "$(now | cut -d. -f1)" -lt "$(($(printf %.0f "$t0") + 600))" ] ||
		{ echo "spmd did not answer in 600 s" >&2; exit 1; }
	sleep 0.005
done
t1=$(now)
# spmd's CPU until it answered (schedstat, ns): load + build + install,
# for any spmd (an older one logs no CPU of its own)
start_cpu_ms=$(awk '{printf "%d", $1 / 1000000}' "/proc/$SPMD_PID/schedstat")
n1=$(ip -n "$NS1" xfrm policy count | sed -n 's/.*SPD IN  *\([0-9]*\).*/\1/p')
got=$(ip -n "$NS1" xfrm policy list | grep -c '^src')

rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SPMD_PID/status")

# --- reloads -------------------------------------------------------------------
# spmd's own figure: the sum of the phases of its "reloaded" log line.
spmd_ms() {
	sed -n 's/.*reloaded .*config loaded in \([0-9]*\) ms, policies built in \([0-9]*\) ms, applied in \([0-9]*\) ms.*/\1 \2 \3/p' \
		"$W/spmd.log" | tail -1 | awk '{print $1 + $2 + $3}'
}
# spmd's CPU time in ns (schedstat: not rounded to 10 ms ticks)
cpu_ns() { awk '{print $1}' "/proc/$SPMD_PID/schedstat"; }
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
: >"$W/reloads"
# the client's own cost (exec, connect, one round trip) under this load:
# `spmdctl status` answered without work, as the anchor of the reload walls
for r in 1 2 3 4 5; do
	a=$(now)
	"$SPMDCTL" -s "$W/spmif" status >/dev/null
	b=$(now)
	echo "status $(echo "($b - $a) * 1000" | bc -l) -1 0" >>"$W/reloads"
done
# one policy pair changed among N (issue 14: < 100 ms): o1/i1 get another
# peer address each time (one delete + one add per direction)
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

# --- ip -batch ----------------------------------------------------------------
t2=$(now)
# its CPU (user + system: the kernel's XFRM work runs in its syscalls,
# as spmd's does in spmd's), the anchor of spmd's CPU on a busy machine
TIMEFORMAT='%U %S'
{ time ip -n "$NS2" -batch "$W/batch"; } 2>"$W/ip.cpu"
t3=$(now)
ipcpu=$(awk '{printf "%d", ($1 + $2) * 1000}' "$W/ip.cpu")
got2=$(ip -n "$NS2" xfrm policy list | grep -c '^src')

# spmd's removal on SIGTERM, for information
t4=$(now)
kill -TERM "$SPMD_PID"
wait "$SPMD_PID" || true
SPMD_PID=
t5=$(now)
left=$(ip -n "$NS1" xfrm policy list | grep -c '^src' || true)

phases=$(sed -n 's/.*config loaded in \([0-9]*\) ms, policies built and installed in \([0-9]*\) ms.*/\1 \2/p' "$W/spmd.log")
# spmd's CPU in the two phases (its log line has them since issue 14's
# arena; an older spmd: none)
cpus=$(sed -n 's/.*policies built and installed in [0-9]* ms (CPU \([0-9]*\) + \([0-9]*\) ms).*/\1 \2/p' "$W/spmd.log")
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$got" "$got2" "$left" "$N" \
	"$W/reloads" "$moved" "$added" "$rss_kb" "$rss2_kb" "${partial:-0}" \
	"$load0" "$load1" "${cpus:--1 -1} $ipcpu $start_cpu_ms" $phases <<'PY'
import sys, statistics
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[1:7])
got, got2, left, n = map(int, sys.argv[7:11])
rel = {}
for line in open(sys.argv[11]):
    k, wall, own, cpu = line.split()
    rel.setdefault(k, []).append((float(wall), float(own or -1), float(cpu)))
moved, added, rss_kb, rss2_kb, partial = map(int, sys.argv[12:17])
load0, load1 = sys.argv[17], sys.argv[18]
cpu_load, cpu_inst, cpu_ip, cpu_start = map(int, sys.argv[19].split())
load_ms, inst_ms = (map(int, sys.argv[20:22]) if len(sys.argv) > 21
                    else (-1, -1))
a, b = t1 - t0, t3 - t2
print("load average: %s at the start, %s at the end (2 shared cores)" % (load0, load1))
print("policies: spmd installed %d, ip -batch installed %d (wanted %d)" % (got, got2, n))
print("spmd (parse config + install):  %.3f s" % a)
print("  of which config load %d ms, policy build + kernel install %d ms"
      % (load_ms, inst_ms))
print("  spmd CPU until it answered %d ms; ip -batch CPU %d ms: CPU ratio %.2f"
      % (cpu_start, cpu_ip, cpu_start / max(cpu_ip, 1)))
if cpu_load >= 0:
    print("  spmd CPU: config load %d ms, build + install %d ms (install phase %.2f of ip -batch's CPU)"
          % (cpu_load, cpu_inst, cpu_inst / max(cpu_ip, 1)))
print("ip -batch:                      %.3f s" % b)
print("ratio spmd / ip -batch:         %.2f" % (a / b))
print("ratio install phase / ip -batch: %.2f (issue 14: ~0.4, keep it)"
      % (inst_ms / 1000.0 / b))
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
print("spmd removal on SIGTERM:        %.3f s (%d left)" % (t5 - t4, left))
if got != n or got2 != n:
    print("WARNING: not all policies were installed")
PY
