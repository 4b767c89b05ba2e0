#!/bin/bash
# run-by: meson (registered in src/spm/meson.build; scripts/test.sh does not run it again)
# spmd_policies.sh - spmd scenario tests in network namespaces (issue 3):
#   static policies (IPv4+IPv6, transport+tunnel, discard, bypass,
#   install off) -> exactly the expected XFRM SPD; foreign policy kept;
#   ACQUIRE routed to the right KMP (ikev2 vs kink); dynamic policies
#   over spmif (persistent and connection-bound); SIGHUP with an edited
#   config changes only the difference (unchanged keep their index); a
#   broken config is rejected and the state kept; SIGTERM removes all of
#   ours; kill -9 + restart gives no duplicates.
#
# usage: spmd_policies.sh [SPMD [SPMDCTL]]   (defaults: $R2_BUILD or build/)
# Prints PASS:/FAIL: lines; exit status 1 if anything failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SPMD=${1:-${R2_BUILD:-$TOP/build}/src/spm/spmd}
SPMDCTL=${2:-${R2_BUILD:-$TOP/build}/src/spm/spmdctl}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: spmd_policies (needs root for network namespaces)"
	exit 77
fi
for b in "$SPMD" "$SPMDCTL"; do
	if [ ! -x "$b" ]; then
		echo "FAIL: spmd_policies: $b not built"
		exit 1
	fi
done

NS=r2s-$$-a
PEER=r2s-$$-b
W=$(mktemp -d /tmp/r2s-$$.XXXXXX)
SOCK=$W/spmif
FAILS=0
SPMD_PID=

cleanup() {
	[ -n "$SPMD_PID" ] && kill -9 "$SPMD_PID" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	ip netns del "$NS-ip" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	FAILS=$((FAILS + 1))
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'
}
check() { # name, command...
	local n=$1
	shift
	if "$@"; then pass "$n"; else fail "$n"; fi
}

ctl() { ip netns exec "$NS" "$SPMDCTL" -s "$SOCK" "$@"; }

# One line per kernel policy: "dir D SELECTOR action A [tmpl ...] #index"
spd() {
	ip -s -n "$NS" xfrm policy list | awk '
	function flush() { if (line != "") print line " #" idx; line = "" }
	/^src / { flush(); sel = $0; sub(/ uid [0-9]+$/, "", sel); next }
	/^\tdir / {
		for (i = 1; i <= NF; i++) {
			if ($i == "dir") d = $(i + 1)
			if ($i == "action") a = $(i + 1)
			if ($i == "index") idx = $(i + 1)
		}
		line = "dir " d " " sel " action " a
		next
	}
	/^\ttmpl / { line = line " tmpl " $3 ">" $5; next }
	/^\t\tproto / { r = $6; sub(/\(.*/, "", r)
		line = line " " $2 " reqid " r " mode " $8; next }
	/^\t\tlevel / { line = line " level " $2 " share " $4; next }
	END { flush() }' | sort
}
spd_noidx() { spd | sed 's/ #[0-9]*$//'; }
count_ours() { spd | awk '{ i = $NF; sub(/#/, "", i);
	if (int(i / 16777216) == 162) n++ } END { print n + 0 }'; }

wait_sock() {
	for _ in $(seq 50); do
		[ -S "$SOCK" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

start_spmd() { # conf
	ip netns exec "$NS" "$SPMD" -F -d -f "$1" -p "$W/spmd.pid" \
		>>"$W/spmd.log" 2>&1 &
	SPMD_PID=$!
	wait_sock
}

stop_spmd() { # signal
	kill -"$1" "$SPMD_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$SPMD_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SPMD_PID" 2>/dev/null
	SPMD_STATUS=$?
	SPMD_PID=
}

# ---- hosts --------------------------------------------------------------
ip netns add "$NS" && ip netns add "$PEER" || {
	echo "FAIL: spmd_policies: cannot create namespaces"
	exit 1
}
ip link add r2s$$a netns "$NS" type veth peer name r2s$$b netns "$PEER"
ip -n "$NS" link set lo up
ip -n "$PEER" link set lo up
ip -n "$NS" addr add 198.51.100.1/24 dev r2s$$a
ip -n "$PEER" addr add 198.51.100.2/24 dev r2s$$b
ip -n "$NS" addr add 2001:db8:1::1/64 dev r2s$$a nodad
ip -n "$PEER" addr add 2001:db8:1::2/64 dev r2s$$b nodad
ip -n "$NS" link set r2s$$a up
ip -n "$PEER" link set r2s$$b up

printf 'spmd-test-psk' >"$W/psk"
chmod 600 "$W/psk"

# ---- configuration ------------------------------------------------------
write_conf() { # file, variant (base|edited)
	local v=$2 kinklevel=use extra_sel=
	if [ "$v" = edited ]; then
		kinklevel=require
		extra_sel='selector s4b_out { direction outbound; src "198.51.100.1"; dst "198.51.100.4"; policy_index p_trans4; };'
	fi
	cat >"$1" <<EOF
interface {
	ike { 198.51.100.1 port 500; };
	spmd { unix "$SOCK"; };
};
resolver { resolver off; };
remote r_ike {
	acceptable_kmp { ikev2; ikev1; };
	ikev2 {
		peers_ipaddr "198.51.100.2" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$W/psk";
	};
	ikev1 {
		peers_ipaddr "198.51.100.2" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_hash_alg { sha1; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "$W/psk";
	};
};
remote r_kink {
	acceptable_kmp { kink; };
	kink { peers_principal "spmd/test"; };
};
sa sa_esp {
	sa_protocol esp;
	esp_enc_alg { aes128_cbc; };
	esp_auth_alg { hmac_sha1; };
};
ipsec ipsec_esp { sa_index sa_esp; };
policy p_trans4 { action auto_ipsec; remote_index r_ike; ipsec_mode transport;
	ipsec_index { ipsec_esp; }; ipsec_level require; };
policy p_trans6 { action auto_ipsec; remote_index r_ike; ipsec_mode transport;
	ipsec_index { ipsec_esp; }; ipsec_level require; };
policy p_tun4 { action auto_ipsec; remote_index r_ike; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "198.51.100.1"; peers_sa_ipaddr "198.51.100.2"; };
policy p_tun6 { action auto_ipsec; remote_index r_ike; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level unique;
	my_sa_ipaddr "2001:db8:1::1"; peers_sa_ipaddr "2001:db8:1::2"; };
policy p_kink { action auto_ipsec; remote_index r_kink; ipsec_mode transport;
	ipsec_index { ipsec_esp; }; ipsec_level $kinklevel; };
policy p_drop { action discard; };
policy p_none { action none; };
policy p_off { action auto_ipsec; remote_index r_ike; install off;
	ipsec_index { ipsec_esp; }; };
policy p_rw { action auto_ipsec; remote_index r_ike; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "198.51.100.1"; peers_sa_ipaddr IP_RW; };
selector s4_out { direction outbound; src "198.51.100.1"; dst "198.51.100.2";
	upper_layer_protocol "udp"; policy_index p_trans4; };
selector s4_in { direction inbound; src "198.51.100.2"; dst "198.51.100.1";
	upper_layer_protocol "udp"; policy_index p_trans4; };
selector s6_out { direction outbound; src "2001:db8:1::1"; dst "2001:db8:1::2";
	policy_index p_trans6; };
selector s6_in { direction inbound; src "2001:db8:1::2"; dst "2001:db8:1::1";
	policy_index p_trans6; };
selector t4_out { direction outbound; src "203.0.113.0/25"; dst "203.0.113.128/25";
	policy_index p_tun4; };
selector t4_in { direction inbound; src "203.0.113.128/25"; dst "203.0.113.0/25";
	policy_index p_tun4; };
selector t6_out { direction outbound; src "2001:db8:a::/48"; dst "2001:db8:b::/48";
	policy_index p_tun6; };
selector t6_in { direction inbound; src "2001:db8:b::/48"; dst "2001:db8:a::/48";
	policy_index p_tun6; };
selector k_out { direction outbound; src "198.51.100.1"; dst "198.51.100.3";
	upper_layer_protocol "tcp"; policy_index p_kink; };
$( [ "$v" = base ] && echo 'selector d_out { direction outbound; src "198.51.100.1"; dst "198.51.100.9"; policy_index p_drop; };' )
selector n_out { direction outbound; src "198.51.100.1" port 500; dst IP_ANY;
	upper_layer_protocol "udp"; policy_index p_none; };
selector off_out { direction outbound; src "198.51.100.1"; dst "198.51.100.8";
	policy_index p_off; };
selector rw_in { direction inbound; src IP_ANY; dst "203.0.113.0/24";
	policy_index p_rw; };
$extra_sel
EOF
}
write_conf "$W/base.conf" base
write_conf "$W/edited.conf" edited
cp "$W/base.conf" "$W/racoon2.conf"

# The exact SPD the base configuration must give (reqids are assigned
# per selector pair in file order from 4096).
cat >"$W/expected" <<'EOF'
dir out src 198.51.100.1/32 dst 198.51.100.2/32 proto udp action allow tmpl 0.0.0.0>0.0.0.0 esp reqid 4096 mode transport level required share any
dir in src 198.51.100.2/32 dst 198.51.100.1/32 proto udp action allow tmpl 0.0.0.0>0.0.0.0 esp reqid 4096 mode transport level required share any
dir out src 2001:db8:1::1/128 dst 2001:db8:1::2/128 action allow tmpl ::>:: esp reqid 4097 mode transport level required share any
dir in src 2001:db8:1::2/128 dst 2001:db8:1::1/128 action allow tmpl ::>:: esp reqid 4097 mode transport level required share any
dir out src 203.0.113.0/25 dst 203.0.113.128/25 action allow tmpl 198.51.100.1>198.51.100.2 esp reqid 4098 mode tunnel level required share any
dir in src 203.0.113.128/25 dst 203.0.113.0/25 action allow tmpl 198.51.100.2>198.51.100.1 esp reqid 4098 mode tunnel level required share any
dir fwd src 203.0.113.128/25 dst 203.0.113.0/25 action allow tmpl 198.51.100.2>198.51.100.1 esp reqid 4098 mode tunnel level required share any
dir out src 2001:db8:a::/48 dst 2001:db8:b::/48 action allow tmpl 2001:db8:1::1>2001:db8:1::2 esp reqid 4099 mode tunnel level required share unique
dir in src 2001:db8:b::/48 dst 2001:db8:a::/48 action allow tmpl 2001:db8:1::2>2001:db8:1::1 esp reqid 4099 mode tunnel level required share unique
dir fwd src 2001:db8:b::/48 dst 2001:db8:a::/48 action allow tmpl 2001:db8:1::2>2001:db8:1::1 esp reqid 4099 mode tunnel level required share unique
dir out src 198.51.100.1/32 dst 198.51.100.3/32 proto tcp action allow tmpl 0.0.0.0>0.0.0.0 esp reqid 4100 mode transport level use share any
dir out src 198.51.100.1/32 dst 198.51.100.9/32 action block
dir out src 198.51.100.1/32 dst 0.0.0.0/0 proto udp sport 500 action allow
EOF
FOREIGN='dir out src 203.0.113.200/32 dst 203.0.113.201/32 action allow'

# ---- 1. static policies --------------------------------------------------
ip -n "$NS" xfrm policy add src 203.0.113.200/32 dst 203.0.113.201/32 \
	dir out action allow
check "spmd -t accepts the test configuration" \
	ip netns exec "$NS" "$SPMD" -t -f "$W/racoon2.conf"
if ! start_spmd "$W/racoon2.conf"; then
	fail "spmd starts" "$(tail -20 "$W/spmd.log")"
	exit 1
fi
pass "spmd starts and answers on its socket"

sort "$W/expected" >"$W/expected.sorted"
(cat "$W/expected"; echo "$FOREIGN") | sort >"$W/expected.all"
spd_noidx >"$W/actual"
if diff -u "$W/expected.all" "$W/actual" >"$W/diff"; then
	pass "SPD holds exactly the expected policies (v4/v6, transport/tunnel+fwd, levels, discard, bypass; install off and IP_RW skipped)"
else
	fail "SPD holds exactly the expected policies" "$(cat "$W/diff")"
fi
check "socket is mode 0600" \
	test "$(stat -c %a "$SOCK")" = 600
n=$(ctl policy show all | grep -c "^static")
check "spmdctl policy show lists the 13 static policies" test "$n" = 13
ctl --json policy show >"$W/show.json"
check "spmdctl --json policy show is valid JSON with kernel state" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==13 and all(p["state"]=="installed" and "packets" in p for p in d)' "$W/show.json"

# ---- 2. ACQUIRE routing ---------------------------------------------------
ctl register ikev2 -n 1 >"$W/ikev2.out" 2>&1 &
IKE_PID=$!
ctl register kink -n 1 >"$W/kink.out" 2>&1 &
KINK_PID=$!
for _ in $(seq 30); do
	grep -q READY "$W/ikev2.out" && grep -q READY "$W/kink.out" && break
	sleep 0.1
done
check "a second ikev2 registration is refused" \
	bash -c "! ip netns exec $NS $SPMDCTL -s $SOCK register ikev2 -n 1 >/dev/null 2>&1"
ip netns exec "$NS" bash -c 'echo x >/dev/udp/198.51.100.2/4000' 2>/dev/null
timeout 2 ip netns exec "$NS" bash -c 'echo x >/dev/tcp/198.51.100.3/80' \
	2>/dev/null
for _ in $(seq 30); do
	grep -q ACQUIRE "$W/ikev2.out" && grep -q ACQUIRE "$W/kink.out" && break
	sleep 0.1
done
kill $IKE_PID $KINK_PID 2>/dev/null
wait $IKE_PID $KINK_PID 2>/dev/null
if grep -q 'ACQUIRE kmp=ikev2 .*selector=s4_out policy=p_trans4 remote=r_ike src=198.51.100.1/32 dst=198.51.100.2/32 proto=17 .*sa_src=198.51.100.1 sa_dst=198.51.100.2 reqid=4096 mode=transport' "$W/ikev2.out"; then
	pass "UDP packet -> ikev2 client gets ACQUIRE with selector s4_out, remote r_ike"
else
	fail "UDP packet -> ikev2 ACQUIRE" "$(cat "$W/ikev2.out")"
fi
if grep -q 'ACQUIRE kmp=kink .*selector=k_out .*remote=r_kink src=198.51.100.1/32 dst=198.51.100.3/32 proto=6' "$W/kink.out" &&
	! grep -q 'selector=k_out' "$W/ikev2.out"; then
	pass "kink policy's ACQUIRE goes to the kink client only"
else
	fail "kink ACQUIRE routing" "$(cat "$W/ikev2.out" "$W/kink.out")"
fi
idx=$(spd | grep 'dir out src 198.51.100.1/32 dst 198.51.100.2/32' | sed 's/.*#//')
check "SLID by kernel index names selector, policy and remote" \
	bash -c "ip netns exec $NS $SPMDCTL -s $SOCK slid $idx | grep -q 'selector=s4_out policy=p_trans4 remote=r_ike'"
check "REQID by policy and selector gives the ACQUIRE's reqid" \
	bash -c "ip netns exec $NS $SPMDCTL -s $SOCK raw 'REQID policy=p_trans4 src=198.51.100.1/32 dst=198.51.100.2/32 proto=17' | grep -q '^250 reqid=4096 selector=s4_out policy=p_trans4'"
check "REQID by the inbound selector's name: the pair's reqid" \
	bash -c "ip netns exec $NS $SPMDCTL -s $SOCK raw 'REQID selector=s4_in' | grep -q '^250 reqid=4096 '"
check "REQID of an unknown selector is 551" \
	bash -c "ip netns exec $NS $SPMDCTL -s $SOCK raw 'REQID selector=nope' | grep -q '^551 '"

# ---- 3. dynamic policies ----------------------------------------------------
out=$(ctl policy add selector=rw_in src=198.51.100.77 dst=203.0.113.0/24 \
	sa_src=198.51.100.77 sa_dst=198.51.100.1 lifetime=600 2>&1)
dyn_id=$(echo "$out" | sed -n 's/^id=\([0-9]*\).*/\1/p')
n=$(spd | grep -c '198.51.100.77/32')
if [ -n "$dyn_id" ] && [ "$n" = 3 ] &&
	spd | grep -q 'dir out src 203.0.113.0/24 dst 198.51.100.77/32 action allow tmpl 198.51.100.1>198.51.100.77 esp'; then
	pass "dynamic policy add -> in/out/fwd tunnel policies in the kernel"
else
	fail "dynamic policy add" "$out"$'\n'"$(spd)"
fi
n=$(ctl policy show dynamic | grep -c "id $dyn_id")
check "dynamic policy visible in spmdctl policy show" test "$n" = 3
check "dynamic policy delete" bash -c "ip netns exec $NS $SPMDCTL -s $SOCK policy delete id=$dyn_id >/dev/null"
check "dynamic policy gone from the kernel" \
	test "$(spd | grep -c 198.51.100.77)" = 0
check "dynamic policy gone from policy show" \
	test "$(ctl policy show dynamic | grep -c dynamic)" = 0
# without persist the policy is tied to the (short) connection
out=$(ctl raw POLICY ADD selector=rw_in src=198.51.100.78 dst=203.0.113.0/24 \
	sa_src=198.51.100.78 sa_dst=198.51.100.1)
sleep 0.3
if echo "$out" | grep -q '^250 id=' && [ "$(spd | grep -c 198.51.100.78)" = 0 ]; then
	pass "KMP disconnect removes its dynamic policies"
else
	fail "KMP disconnect removes its dynamic policies" "$out"$'\n'"$(spd)"
fi
out=$(ctl policy add selector=rw_in src=198.51.100.79 dst=203.0.113.0/24 \
	sa_src=198.51.100.79 sa_dst=198.51.100.1 lifetime=1)
sleep 2.5
check "dynamic policy removed when its lifetime ends" \
	test "$(spd | grep -c 198.51.100.79)" = 0
out=$(ctl policy add selector=nosuch src=198.51.100.7 dst=203.0.113.0/24 2>&1)
rc=$?
check "policy add with unknown selector fails with exit 1 and a message" \
	bash -c "[ $rc = 1 ] && echo '$out' | grep -q 'no selector nosuch'"

# ---- 4. malformed requests ------------------------------------------------
bad=0
for req in "POLICY" "POLICY ADD selector=rw_in" "POLICY ADD selector=rw_in src=1.2.3.4 dst=::1" \
	"SLID index=x" "FOO bar" "POLICY DUMP kind=%00" "REGISTER" "MIGRATE selector=a" \
	"MIGRATE a 198.51.100.1 198.51.100.2" "MIGRATE a 198.51.100.1 ::1 198.51.100.3 198.51.100.2" \
	"MIGRATE a x 198.51.100.2 198.51.100.3 198.51.100.2" \
	"MIGRATE a 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.2 extra" \
	"MIGRATE a 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.2 old_src=198.51.100.1" \
	"MIGRATE nosuch 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.2" \
	"MIGRATE selector=nosuch old_src=198.51.100.1 old_dst=198.51.100.2 new_src=0.0.0.0 new_dst=198.51.100.2"; do
	out=$(ctl raw $req 2>&1)
	case "$out" in 5[0-9][0-9]\ *) ;; *) bad=1; echo "    $req -> $out" ;; esac
done
python3 - "$SOCK" "$NS" <<'PY' || bad=1
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
f.readline()  # banner
for req in [b"STATUS\x01\n", b"\xff\xfe\n", b"A" * 5000 + b"\n", b"POLICY ADD " + b"k=v " * 40 + b"\n"]:
    s.sendall(req)
    line = f.readline()
    assert line[:1] == b"5", (req[:20], line)
s.sendall(b"STATUS\n")
while True:
    line = f.readline()
    assert line, "connection closed"
    if line.startswith(b"250 "):
        break
PY
check "malformed requests get 5xx replies and spmd keeps serving" test $bad = 0
check "spmd still alive after bad input" kill -0 "$SPMD_PID"

# ---- 5. reload ---------------------------------------------------------------
spd >"$W/before"
cp "$W/edited.conf" "$W/racoon2.conf"
kill -HUP "$SPMD_PID"
sleep 0.5
spd >"$W/after"
# unchanged policies: same line including the kernel index
unchanged_ok=1
while read -r l; do
	case "$l" in
	*198.51.100.9/32*|*198.51.100.3/32*) ;;
	*) grep -qxF "$l" "$W/after" || { unchanged_ok=0; echo "    lost: $l"; } ;;
	esac
done <"$W/before"
check "SIGHUP: unchanged policies kept with the same kernel index" test $unchanged_ok = 1
check "SIGHUP: removed selector's policy deleted" \
	bash -c "! grep -q '198.51.100.9/32' '$W/after'"
old_k=$(grep '198.51.100.3/32' "$W/before" | sed 's/.*#//')
new_k=$(grep '198.51.100.3/32' "$W/after")
if echo "$new_k" | grep -q "level required .*#$old_k\$"; then
	pass "SIGHUP: changed policy updated in place (same index, new level)"
else
	fail "SIGHUP: changed policy updated in place" "before #$old_k"$'\n'"after $new_k"
fi
check "SIGHUP: new selector's policy added" \
	grep -q 'dir out src 198.51.100.1/32 dst 198.51.100.4/32' "$W/after"
check "SIGHUP: foreign policy untouched" grep -q "^$FOREIGN" "$W/after"
check "SIGHUP: exactly one policy more minus one (13 -> 13 + foreign)" \
	test "$(wc -l <"$W/after")" = 14

printf 'remote broken {\n\tacceptable_kmp { ikev9; };\n' >>"$W/racoon2.conf"
out=$(ctl reload 2>&1)
rc=$?
spd >"$W/after2"
if [ $rc = 1 ] && echo "$out" | grep -q 'racoon2.conf:[0-9]*:[0-9]*:' &&
	diff -q "$W/after" "$W/after2" >/dev/null; then
	pass "broken config on reload: rejected with file:line errors, state kept"
else
	fail "broken config on reload" "rc=$rc $out"
fi
cp "$W/base.conf" "$W/racoon2.conf"
out=$(ctl reload 2>&1)
check "spmdctl reload back to the base config" \
	bash -c "echo '$out' | grep -q 'added=1 updated=1 unchanged=11 deleted=1'"

# ---- 6. SIGTERM -----------------------------------------------------------------
stop_spmd TERM
check "SIGTERM: spmd exits with status 0" test "$SPMD_STATUS" = 0
spd_noidx >"$W/final"
if [ "$(cat "$W/final")" = "$FOREIGN" ]; then
	pass "SIGTERM: all of spmd's policies removed, foreign policy still there"
else
	fail "SIGTERM cleanup" "$(cat "$W/final")"
fi
check "SIGTERM: socket and pid file removed" \
	bash -c "[ ! -e '$SOCK' ] && [ ! -e '$W/spmd.pid' ]"

# ---- 7. kill -9 and restart ----------------------------------------------------
start_spmd "$W/racoon2.conf" || fail "restart" "$(tail "$W/spmd.log")"
spd >"$W/run1"
stop_spmd 9
check "kill -9 leaves the policies in the kernel" \
	test "$(count_ours)" = 13
rm -f "$SOCK"
start_spmd "$W/racoon2.conf" || fail "restart after kill -9" "$(tail "$W/spmd.log")"
spd >"$W/run2"
if [ "$(count_ours)" = 13 ] && diff -q "$W/run1" "$W/run2" >/dev/null; then
	pass "restart after kill -9: no duplicates, policies adopted with their indexes"
else
	fail "restart after kill -9" "$(diff "$W/run1" "$W/run2")"
fi
# a stale socket file is replaced, a second spmd is refused
out=$(ip netns exec "$NS" "$SPMD" -F -f "$W/racoon2.conf" -p "$W/spmd2.pid" 2>&1)
rc=$?
check "a second spmd on the same socket is refused" \
	bash -c "[ $rc != 0 ] && [ $(count_ours) = 13 ]"
stop_spmd TERM
check "final SIGTERM leaves only the foreign policy" \
	test "$(spd_noidx)" = "$FOREIGN"

# ---- 8. access control: password challenge, non-root clients -----------------
printf 'spmd-test-password\n' >"$W/spmd.pwd"
chmod 600 "$W/spmd.pwd"
sed "s#spmd { unix \"$SOCK\"; };#&\n\tspmd_password \"$W/spmd.pwd\";#" \
	"$W/base.conf" >"$W/pw.conf"
start_spmd_pw() {
	ip netns exec "$NS" "$SPMD" -F -f "$W/pw.conf" -p "$W/spmd.pid" \
		>>"$W/spmd.log" 2>&1 &
	SPMD_PID=$!
	for _ in $(seq 50); do
		ip netns exec "$NS" "$SPMDCTL" -s "$SOCK" -P "$W/spmd.pwd" \
			status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
if start_spmd_pw; then
	pass "spmd with spmd_password: client with the password logs in"
	out=$(ctl status 2>&1)
	rc=$?
	check "spmd_password: client without the password is refused" \
		test $rc = 1
	printf 'wrong\n' >"$W/wrong.pwd"
	chmod 644 "$W/wrong.pwd"
	out2=$(ctl -P "$W/wrong.pwd" status 2>&1)
	check "spmd_password: a password file others can read is refused" \
		grep -q "accessible by group or other" <<<"$out2"
	chmod 600 "$W/wrong.pwd"
	out=$(ctl -P "$W/wrong.pwd" status 2>&1)
	rc=$?
	check "spmd_password: wrong password is refused" test $rc = 1
	if command -v setpriv >/dev/null; then
		out=$(ip netns exec "$NS" setpriv --reuid 65534 --regid 65534 \
			--clear-groups "$SPMDCTL" -s "$SOCK" -P "$W/spmd.pwd" \
			status 2>&1)
		rc=$?
		check "non-root client cannot use the socket" test $rc != 0
	fi
	stop_spmd TERM
else
	fail "spmd with spmd_password" "$(tail "$W/spmd.log")"
fi
# the password file gets the owner/mode check of PSK files (issue 9)
chmod 644 "$W/spmd.pwd"
out=$(timeout 10 ip netns exec "$NS" "$SPMD" -F -f "$W/pw.conf" \
	-p "$W/spmd.pid" 2>&1)
rc=$?
check "spmd refuses an spmd_password file others can read" \
	eval '[ $rc = 1 ] && grep -q "accessible by group or other" <<<"$out"'

# ---- 9. a refusal inside an install batch (issue 14) -----------------------
# spmd adds many policies per netlink message batch; a foreign policy
# holding the selector of one pair in the middle makes the kernel refuse
# that one: it is reported alone with the kernel's words (as the
# one-by-one install did), every other one is installed.
. "$TOP/tests/lib/topo.sh"
mkdir -p "$W/batch"
spmd_pairs_conf "$W/batch" 1000 "$W/batch/ipbatch" >/dev/null
sed -i "s#unix \"[^\"]*\"#unix \"$SOCK\"#" "$W/batch/racoon2.conf"
held=$(sed -n 999p "$W/batch/ipbatch") # pair 500's outbound policy
ip -n "$NS" ${held/priority 1488/priority 7}
: >"$W/spmd.log"
if start_spmd "$W/batch/racoon2.conf"; then
	n=$(count_ours)
	check "batched install: 1,999 of 2,000 policies installed" test "$n" = 1999
	check "batched install: the refusal reported for selector o500 with the kernel's words" \
		grep -q 'some policies could not be installed:.*selector o500): add policy: File exists' "$W/spmd.log"
	# the kernel's view of all 2,000 (1,999 ours + the foreign holder)
	# against the same lines ip -batch installs in another namespace
	ip netns add "$NS-ip" &&
		ip -n "$NS-ip" -batch "$W/batch/ipbatch" 2>/dev/null
	ip -n "$NS-ip" xfrm policy list | grep -v '^\s*\(mark\|lastused\)' |
		awk '/^src /{s=$0} /^\tdir /{print s, $2} /proto esp/{print s, $4, $6}' |
		sort >"$W/batch/ip.want"
	ip -n "$NS" xfrm policy list | grep -v '^\s*\(mark\|lastused\)' |
		awk '/^src /{s=$0} /^\tdir /{print s, $2} /proto esp/{print s, $4, $6}' |
		grep -v '^src 203.0.113.200' | sort >"$W/batch/spmd.got"
	ip netns del "$NS-ip" 2>/dev/null
	check "batched install: selectors, directions and reqids as ip -batch's" \
		diff -q "$W/batch/ip.want" "$W/batch/spmd.got"
	# a reload that adds o500 (its holder gone) and three pairs, the
	# middle one's outbound held by another foreign policy: refused as a
	# whole, the other six additions of the batch undone, the running
	# set kept
	cp "$W/batch/racoon2.conf" "$W/batch/racoon2.conf.1"
	for i in 2001 2002 2003; do
		printf 'selector x%d { direction outbound; src "2001:db8:5::%x"; dst "2001:db8:6::%x"; policy_index p; };\n' $i $i $i
		printf 'selector y%d { direction inbound; src "2001:db8:6::%x"; dst "2001:db8:5::%x"; policy_index p; };\n' $i $i $i
	done >>"$W/batch/racoon2.conf"
	ip -n "$NS" xfrm policy add src 2001:db8:5::7d2/128 dst 2001:db8:6::7d2/128 \
		dir out priority 7 tmpl proto esp mode transport
	# o500 is free now
	ip -n "$NS" xfrm policy del $(echo "$held" | awk '{print $4, $5, $6, $7}') dir out
	spd_noidx >"$W/batch/before"
	out=$(ctl reload 2>&1)
	rc=$?
	spd_noidx >"$W/batch/after"
	if [ $rc != 0 ] && echo "$out" | grep -q 'selector x2002): add policy: File exists' &&
		diff -q "$W/batch/before" "$W/batch/after" >/dev/null; then
		pass "batched reload: a refusal undoes the batch's other additions, state kept"
	else
		fail "batched reload: a refusal undoes the batch" "rc=$rc $out"$'\n'"$(diff "$W/batch/before" "$W/batch/after" | head)"
	fi
	ip -n "$NS" xfrm policy del src 2001:db8:5::7d2/128 dst 2001:db8:6::7d2/128 dir out
	out=$(ctl reload 2>&1)
	check "batched reload: the same reload once the selector is free adds 7" \
		test "$(count_ours)" = 2006
	stop_spmd TERM
	check "batched install: SIGTERM removes them all (the foreign one stays)" \
		test "$(count_ours)" = 0
else
	fail "spmd starts with 2,000 policies" "$(tail "$W/spmd.log")"
fi

if [ $FAILS -ne 0 ]; then
	echo "spmd log (tail):"
	tail -30 "$W/spmd.log" | sed 's/^/    /'
	exit 1
fi
exit 0
