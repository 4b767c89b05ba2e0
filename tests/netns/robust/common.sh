# tests/netns/robust/common.sh - shared set-up for the robust_*.sh scenario
# scripts: two racoon2 hosts and an attacker on one bridge.
#
#   . "$HERE/robust/common.sh"
#   rb_init NAME [BUILD_DIR]       finds the binaries (SKIP when missing),
#                                  netns_init r2r NAME (trap, $TEST_DIR)
#   rb_net                         namespaces r2r-PID-{sw,a,b,c}: bridge
#                                  "br0" in sw, a=198.51.100.1, b=.2, c=.3
#                                  (the attacker); protected addresses
#                                  203.0.113.1 (a) and 203.0.113.129 (b)
#   rb_conf H [key=value...]       racoon2.conf for host H (a or b)
#   rb_start H                     r2espd, spmd, iked on H (userspace data
#                                  plane), in that order
#   rb_setup [KEY=VALUE...]        rb_net, rb_conf a (options) and b,
#                                  rb_start a and b (FAIL + finish if not)
#   rb_up                          ikedctl initiate on a; waits for IKE
#                                  ESTABLISHED + CHILD INSTALLED on both
#   rb_ike H ARGS / rb_spm H ARGS / rb_esp H ARGS   the control tools
#   rb_q H PYEXPR                  PYEXPR on "show sa --json" (d, ike, kids)
#   rb_tool ARGS                   python3 robust/r2fuzz.py ARGS
#   rb_ping                        one ping 203.0.113.1 -> .129 (tunnel)
#   rb_rss H DAEMON                VmRSS in kB of iked|spmd|r2espd on H
#
# Owns: the namespaces (cleaned up by tests/lib/netns.sh's trap), the
# daemons started here (tracked with start_bg) and $TEST_DIR.

RB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$RB_HERE/../../lib/netns.sh"
. "$RB_HERE/../../lib/racoon2.sh"

RB_A=198.51.100.1
RB_B=198.51.100.2
RB_C=198.51.100.3
RB_IA=203.0.113.1
RB_IB=203.0.113.129

rb_init() {
	local name=$1 build=${2:-${R2_BUILD:-$RB_HERE/../../../build}}
	BUILD=$(cd "$build" 2>/dev/null && pwd) || skip_all "$name (no build dir $build)"
	r2_us_bins "$BUILD"
	RCONF=$BUILD/src/conf/racoon2-conf
	local b
	for b in "$IKED" "$IKEDCTL" "$SPMD" "$SPMDCTL" "$ESPD" "$ESPCTL"; do
		[ -x "$b" ] || skip_all "$name ($b not built)"
	done
	need_cmd python3 ping
	netns_init r2r "$name"
}

rb_net() {
	ns_add sw && ns_add a && ns_add b && ns_add c || return 1
	ns_exec sw ip link add br0 type bridge || return 1
	ns_exec sw ip link set br0 up
	local h
	for h in a b c; do
		ns_link "$h" "v$h" sw "p$h" || return 1
		ns_exec sw ip link set "p$h" master br0
	done
	ns_addr a va "$RB_A/24" && ns_addr b vb "$RB_B/24" &&
		ns_addr c vc "$RB_C/24" || return 1
	ns_addr a lo "$RB_IA/32" && ns_addr b lo "$RB_IB/32"
}

rb_dir() { printf '%s/%s' "$TEST_DIR" "$1"; }

# rb_conf H [cookie=on] [psk=FILE] [extra=TEXT (inside ikev2 {})]
#   [fuzzpeer=yes] : also a remote "fuzz" for c (198.51.100.3, id
#   fuzz.example, same PSK) with the selectors 203.0.113.64/28 (a side)
#   <-> 203.0.113.96/28 (c side), for r2fuzz.py auth-fuzz.
rb_conf() {
	local h=$1; shift
	local -A o=([cookie]='' [psk]='' [extra]='' [fuzzpeer]='')
	local kv d me peer mynet peernet
	for kv in "$@"; do o[${kv%%=*}]=${kv#*=}; done
	d=$(rb_dir "$h")
	mkdir -p "$d"
	chmod 700 "$d"
	if [ "$h" = a ]; then
		me=$RB_A peer=$RB_B mynet=203.0.113.0/25 peernet=203.0.113.128/25
	else
		me=$RB_B peer=$RB_A mynet=203.0.113.128/25 peernet=203.0.113.0/25
	fi
	if [ -z "${o[psk]}" ]; then
		o[psk]=$TEST_DIR/psk
		[ -f "${o[psk]}" ] || (umask 077; printf 'robust-psk-%s\n' "$$" >"${o[psk]}")
	fi
	local ex=$'\t\tmax_retry_to_send 3;\n\t\tinterval_to_send 1 sec;\n'
	[ -n "${o[cookie]}" ] && ex+=$'\t\t'"cookie_required ${o[cookie]};"
	ex+=$'\n'"${o[extra]}"
	r2_us_tunnel_conf "$h" me="$me" peer="$peer" mynet="$mynet" \
		peernet="$peernet" psk="${o[psk]}" spmif="$d/spmif" \
		ports="500 4500" kenc=aes128_cbc eenc=aes128_cbc extra="$ex" \
		>"$d/racoon2.conf"
	[ "${o[fuzzpeer]}" = yes ] || return 0
	cat >>"$d/racoon2.conf" <<EOF
remote fuzz {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "host-$h.example";
		peers_id fqdn "fuzz.example";
		peers_ipaddr "$RB_C" port 500;
		kmp_enc_alg { aes128_cbc; };
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "${o[psk]}";
	};
	selector_index fz_out;
};
selector fz_out {
	direction outbound;
	src "203.0.113.64/28";
	dst "203.0.113.96/28";
	policy_index fz_pol;
};
selector fz_in {
	direction inbound;
	src "203.0.113.96/28";
	dst "203.0.113.64/28";
	policy_index fz_pol;
};
policy fz_pol {
	action auto_ipsec;
	remote_index fuzz;
	ipsec_mode tunnel;
	ipsec_index { esp; };
	ipsec_level require;
	my_sa_ipaddr "$me";
	peers_sa_ipaddr "$RB_C";
};
EOF
}

# rb_start H [IKED_ARGS...] : r2espd, spmd, iked on host H.
rb_start() {
	local h=$1 d; shift
	d=$(rb_dir "$h")
	export RACOON2_ESPD_SOCKET=$d/r2espd.sock
	start_bg "espd-$h" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" \
		-i r2tun0
	wait_for "[ -S '$d/r2espd.sock' ]" 5 || { log "r2espd $h did not start"; return 1; }
	start_bg "spmd-$h" ip netns exec "$(ns "$h")" "$SPMD" -F -f "$d/racoon2.conf" \
		-p "$d/spmd.pid"
	wait_for "[ -S '$d/spmif' ]" 5 || { log "spmd $h did not start"; return 1; }
	start_bg "iked-$h" ip netns exec "$(ns "$h")" "$IKED" -F -d \
		-f "$d/racoon2.conf" --ctl-socket "$d/iked.sock" -K "$d/keys" "$@"
	wait_for "rb_ike $h ping" 5 || { log "iked $h did not start"; return 1; }
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$h.log'" 5
}

# rb_setup [KEY=VALUE...] : rb_net, rb_conf a (with these options) and b,
# rb_start a and b; a FAIL line and finish when any of it fails.
rb_setup() {
	rb_net || { fail "namespaces"; finish; }
	rb_conf a "$@"
	rb_conf b
	if ! rb_start a || ! rb_start b; then
		fail "r2espd, spmd, iked start on a and b"
		finish
	fi
}

rb_ike() { local h=$1; shift; ns_exec "$h" "$IKEDCTL" -s "$(rb_dir "$h")/iked.sock" "$@"; }
rb_spm() { local h=$1; shift; ns_exec "$h" "$SPMDCTL" -s "$(rb_dir "$h")/spmif" "$@"; }
rb_esp() { local h=$1; shift; ns_exec "$h" "$ESPCTL" -s "$(rb_dir "$h")/r2espd.sock" "$@"; }
rb_tool() { python3 "$RB_HERE/r2fuzz.py" "$@"; }

rb_q() {
	local j
	j=$(rb_ike "$1" show sa --json 2>/dev/null) || return 1
	r2_sa_eval "$j" "$2"
}
rb_is() { [ "$(rb_q "$1" "$2")" = "$3" ]; }
rb_both_up() {
	rb_is a 'len(ike)' 1 && rb_is b 'len(ike)' 1 &&
		rb_is a 'len(kids)' 1 && rb_is b 'len(kids)' 1
}

rb_up() {
	rb_ike a initiate peer >/dev/null 2>&1
	wait_for rb_both_up 10
}

rb_ping() {
	ns_exec a ping -c 1 -W 1 -I "$RB_IA" "$RB_IB" >/dev/null 2>&1
}

# rb_ping_ok : a few pings, at least one answered.
rb_ping_ok() {
	ns_exec a ping -c 3 -i 0.2 -W 1 -I "$RB_IA" "$RB_IB" 2>/dev/null |
		grep -q -E ' [1-9][0-9]* received'
}

rb_rss() {
	local p
	p=$(bg_pid "$2-$1") || return 1
	awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null
}

# rb_alive H DAEMON : process still running.
rb_alive() { bg_alive "$2-$1"; }

# rb_timed SECONDS CMD... : CMD must finish (successfully) within SECONDS.
rb_timed() {
	local t=$1; shift
	timeout "$t" "$@" >/dev/null 2>&1
}

# rb_finish : stop the daemons in order (iked, spmd, r2espd; so that leak
# reports of sanitizer builds reach the logs), fail on any sanitizer or
# assertion report in their logs, then finish.
rb_finish() {
	local h dm
	for dm in iked spmd espd; do
		for h in a b; do stop_bg "$dm-$h" TERM 5; done
	done
	if grep -l -E 'Sanitizer|runtime error:|Assertion|stack smashing' \
		"$TEST_DIR"/iked-?.log "$TEST_DIR"/spmd-?.log \
		"$TEST_DIR"/espd-?.log >"$TEST_DIR/sanitizer.txt" 2>/dev/null; then
		fail "sanitizer reports in $(tr '\n' ' ' <"$TEST_DIR/sanitizer.txt")"
	else
		pass "no sanitizer or assertion reports in the daemons' logs"
	fi
	finish
}
