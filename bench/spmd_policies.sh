#!/bin/bash
# spmd_policies.sh - benchmark: install N (default 10,000) IPsec policies
# through spmd (config parse + XFRM install, until spmd answers on its
# socket) and the same N policies with `ip -batch`, in one run, each in
# a fresh network namespace; prints both times and the ratio (goal:
# spmd <= 1.5 x ip -batch).  Not part of the test suite.
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
printf 'bench-psk' >"$W/psk"
chmod 600 "$W/psk"

# N/2 selector pairs, host to host in 2001:db8::/32 (documentation
# space), transport-mode ESP, all with one policy.
python3 - "$W" "$PAIRS" <<'PY'
import sys
w, pairs = sys.argv[1], int(sys.argv[2])
def a(net, i):
    return "2001:db8:%x::%x:%x" % (net, i >> 16, i & 0xffff)
conf = open(w + "/racoon2.conf", "w")
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
batch = open(w + "/batch", "w")
for i in range(1, pairs + 1):
    src, dst = a(1, i), a(2, i)
    conf.write('selector o%d { direction outbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, src, dst))
    conf.write('selector i%d { direction inbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, dst, src))
    # the same policies spmd installs (priority/reqid as spmd picks them)
    reqid = 4095 + i
    batch.write("xfrm policy add src %s/128 dst %s/128 dir out priority 1488 "
                "tmpl proto esp reqid %d mode transport level required\n" % (src, dst, reqid))
    batch.write("xfrm policy add src %s/128 dst %s/128 dir in priority 1488 "
                "tmpl proto esp reqid %d mode transport level required\n" % (dst, src, reqid))
PY

now() { date +%s.%N; }

# --- spmd ---------------------------------------------------------------------
t0=$(now)
ip netns exec "$NS1" "$SPMD" -F -f "$W/racoon2.conf" -p "$W/spmd.pid" \
	>"$W/spmd.log" 2>&1 &
SPMD_PID=$!
# spmd serves its socket only once the install loop has finished
[ -x "$SPMDCTL" ] || { echo "no spmdctl at $SPMDCTL" >&2; exit 1; }
until ip netns exec "$NS1" "$SPMDCTL" -s "$W/spmif" status >/dev/null 2>&1; do
	kill -0 "$SPMD_PID" 2>/dev/null || { cat "$W/spmd.log"; exit 1; }
	[ "$(now | cut -d. -f1)" -lt "$(($(printf %.0f "$t0") + 600))" ] ||
		{ echo "spmd did not answer in 600 s" >&2; exit 1; }
	sleep 0.005
done
t1=$(now)
n1=$(ip -n "$NS1" xfrm policy count | sed -n 's/.*SPD IN  *\([0-9]*\).*/\1/p')
got=$(ip -n "$NS1" xfrm policy list | grep -c '^src')

rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SPMD_PID/status")

# --- reload: one policy changed among N ---------------------------------------
# o1/i1 get another peer address: one delete + one add each direction
# (issue 14: < 100 ms); then a reload with nothing changed.
sed -i 's|^\(selector o1 { direction outbound; src "[^"]*"; dst "\)[^"]*"|\12001:db8:3::1"|' "$W/racoon2.conf"
sed -i 's|^\(selector i1 { direction inbound; src "\)[^"]*"|\12001:db8:3::1"|' "$W/racoon2.conf"
t6=$(now)
ip netns exec "$NS1" "$SPMDCTL" -s "$W/spmif" reload >"$W/reload1.out" 2>&1
t7=$(now)
ip netns exec "$NS1" "$SPMDCTL" -s "$W/spmif" reload >"$W/reload2.out" 2>&1
t8=$(now)
moved=$(ip -n "$NS1" xfrm policy list | grep -c '2001:db8:3::1' || true)

# --- ip -batch ----------------------------------------------------------------
t2=$(now)
ip -n "$NS2" -batch "$W/batch"
t3=$(now)
got2=$(ip -n "$NS2" xfrm policy list | grep -c '^src')

# spmd's removal on SIGTERM, for information
t4=$(now)
kill -TERM "$SPMD_PID"
wait "$SPMD_PID" || true
SPMD_PID=
t5=$(now)
left=$(ip -n "$NS1" xfrm policy list | grep -c '^src' || true)

phases=$(sed -n 's/.*config loaded in \([0-9]*\) ms, policies built and installed in \([0-9]*\) ms.*/\1 \2/p' "$W/spmd.log")
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$got" "$got2" "$left" "$N" \
	"$t6" "$t7" "$t8" "$moved" "$rss_kb" $phases <<'PY'
import sys
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[1:7])
got, got2, left, n = map(int, sys.argv[7:11])
t6, t7, t8 = map(float, sys.argv[11:14])
moved, rss_kb = map(int, sys.argv[14:16])
load_ms, inst_ms = (map(int, sys.argv[16:18]) if len(sys.argv) > 17
                    else (-1, -1))
a, b = t1 - t0, t3 - t2
print("policies: spmd installed %d, ip -batch installed %d (wanted %d)" % (got, got2, n))
print("spmd (parse config + install):  %.3f s" % a)
print("  of which config load %d ms, policy build + kernel install %d ms"
      % (load_ms, inst_ms))
print("ip -batch:                      %.3f s" % b)
print("ratio spmd / ip -batch:         %.2f (goal <= 1.5)" % (a / b))
print("ratio install phase / ip -batch: %.2f" % (inst_ms / 1000.0 / b))
print("reload, 1 policy pair changed:  %.1f ms (%d policies moved; goal < 100 ms)"
      % ((t7 - t6) * 1000, moved))
print("reload, nothing changed:        %.1f ms" % ((t8 - t7) * 1000))
print("spmd RSS with %d policies:      %d KiB (%.0f B/policy)"
      % (n, rss_kb, rss_kb * 1024.0 / n))
print("spmd removal on SIGTERM:        %.3f s (%d left)" % (t5 - t4, left))
if got != n or got2 != n:
    print("WARNING: not all policies were installed")
PY
