#!/bin/bash
# racoon2_samples.sh - racoon2's own sample configurations (issue 13) START
# with our daemons in a namespace, not just pass -t.
#
# The samples are read from $R2_TOP/../shared/racoon2-samples or
# /work/shared/racoon2-samples (read-only: copied into the test's temp
# directory first).  @prefix@ and vals.conf are instantiated with test
# addresses (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), sockets in
# the temp directory, PSK / password files made by pskgen (mode 0600).
# Per scenario (racoon2.conf with one include line enabled, as the sample's
# comments tell the user): spmd + iked (spmd + kinkd for the KINK samples)
# in a namespace on the backend the sample implies (no `kernel` line: the
# kernel, i.e. XFRM), each daemon answers its control tool (spmdctl -f
# CONF status / policy show lists the sample's selectors; ikedctl show sa;
# kinkctl show sa), XFRM holds the policies; then TERM stops them and no
# policy is left.  Every sample also runs on the userspace data plane
# (r2espd, -k userspace), transport ones included.
#
# usage: racoon2_samples.sh   (binaries from $R2_BUILD or build/)
# Prints PASS:/FAIL:/SKIP: lines; exit 1 on a failure, 77 if it cannot run.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${R2_TOP:-$(cd "$HERE/../.." && pwd)}
B=${R2_BUILD:-$TOP/build}
SPMD=$B/src/spm/spmd
SPMDCTL=$B/src/spm/spmdctl
IKED=$B/src/ike/iked
IKEDCTL=$B/src/ike/ikedctl
[ -x "$IKEDCTL" ] || IKEDCTL=$B/src/ctl/ikedctl
[ -x "$SPMDCTL" ] || SPMDCTL=$B/src/ctl/spmdctl
KINKD=$B/src/kink/kinkd
KINKCTL=$B/src/kink/kinkctl
ESPD=$B/src/kernel/userspace/r2espd
PSKGEN=$B/src/ctl/pskgen

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: racoon2_samples (needs root for network namespaces)"
	exit 77
fi
SAMPLES=
for d in "$TOP/../shared/racoon2-samples" /work/shared/racoon2-samples; do
	[ -f "$d/racoon2.conf.in" ] && { SAMPLES=$d; break; }
done
if [ -z "$SAMPLES" ]; then
	echo "SKIP: racoon2_samples: samples not found ($TOP/../shared/racoon2-samples)"
	exit 77
fi
for b in "$SPMD" "$SPMDCTL" "$IKED" "$IKEDCTL"; do
	if [ ! -x "$b" ]; then
		echo "SKIP: racoon2_samples: $b not built"
		exit 77
	fi
done

W=$(mktemp -d /tmp/r2samples-$$.XXXXXX)
NS=r2smp-$$-a
FAILS=0
declare -A PID=()

stop() { # NAME : TERM, then KILL after 5 s; 0 if it exited on TERM
	local p=${PID[$1]:-} i
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		PID[$1]=
		return 1
	fi
	wait "$p" 2>/dev/null
	PID[$1]=
	return 0
}
cleanup() {
	local n
	for n in "${!PID[@]}"; do stop "$n"; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	FAILS=$((FAILS + 1))
	[ $# -gt 1 ] && printf '%s\n' "$2" | tail -15 | sed 's/^/    /'
}
wait_for() { # TENTHS COMMAND...
	local n=$1 i
	shift
	for i in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# ---- the namespace: the sample's own addresses (vals.conf) on a veth pair
ip netns add "$NS" || { echo "SKIP: racoon2_samples: cannot create a namespace"; exit 77; }
ip link add r2s$$a netns "$NS" type veth peer name r2s$$b netns "$NS" ||
	{ echo "SKIP: racoon2_samples: cannot create a veth pair"; exit 77; }
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.51.100.1/24 dev r2s$$a
ip -n "$NS" addr add 198.51.100.10/24 dev r2s$$a
ip -n "$NS" addr add 203.0.113.1/25 dev r2s$$a
ip -n "$NS" addr add 2001:db8:5::1/64 dev r2s$$a nodad
ip -n "$NS" link set r2s$$a up
ip -n "$NS" link set r2s$$b up

# ---- instantiate the templates in a copy ---------------------------------
mkdir -p "$W/src" "$W/etc/racoon2/psk" "$W/etc/racoon2/cert" "$W/etc/racoon2/hook" "$W/run"
cp "$SAMPLES"/* "$W/src/"
chmod -R u+w "$W/src"
ETC=$W/etc/racoon2
for f in "$W"/src/*.conf "$W"/src/*.conf.in; do
	b=$(basename "$f" .in)
	sed -e "s|@prefix@|$W|g" \
		-e "s|/var/run/racoon2/|$W/run/|g" \
		-e 's|"192\.168\.0\.1"|"198.51.100.1"|g' \
		-e 's|"192\.168\.1\.1"|"198.51.100.2"|g' \
		-e 's|192\.168\.2\.67|198.51.100.67|g' \
		-e 's|"123\.202\.64\.33"|"198.51.100.10"|g' \
		-e 's|"10\.0\.0\.1"|"203.0.113.130"|g' \
		-e 's|"10\.0\.0\.0/24"|"203.0.113.0/25"|g' \
		-e 's|"10\.0\.1\.0/24"|"203.0.113.128/25"|g' \
		-e 's|"10\.7\.73\.128"|"203.0.113.200"|g' \
		-e 's|"10\.7\.73\.254"|"203.0.113.254"|g' \
		-e 's|"10\.7\.73\.1"|"203.0.113.53"|g' \
		-e 's|"fd01::1000"|"2001:db8:7::1000"|g' \
		-e 's|"fd02::2000"|"2001:db8:7::2000"|g' \
		"$f" >"$ETC/$b"
done
if grep -rn -E '@[a-z_]+@|192\.168\.|10\.[0-9]+\.[0-9]+\.[0-9]|fd0[12]:|/var/run' "$ETC"/*.conf |
	grep -v '^[^:]*:[0-9]*:[[:space:]]*#' >"$W/leftover"; then
	fail "samples instantiated (no placeholder or non-test address left)" "$(cat "$W/leftover")"
else
	pass "samples instantiated (no placeholder or non-test address left)"
fi
cmp -s "$SAMPLES/racoon2.conf.in" "$W/src/racoon2.conf.in" ||
	fail "the copy matches the read-only samples"

# keys: pskgen as racoon2's USAGE says (random PSKs, the spmd password)
mkpsk() { # FILE
	if [ -x "$PSKGEN" ]; then
		(umask 000; "$PSKGEN" -r -o "$1")
	else
		(umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
	fi
}
for f in psk/test.psk psk/wildcard.psk spmd.pwd; do mkpsk "$ETC/$f"; done
for f in cert/my_pub.pem cert/my_pri.pem cert/peers_pub.pem; do
	(umask 077; printf 'not used: the samples use psk\n' >"$ETC/$f")
done
bad=$(find "$ETC" -type f \( -name '*.psk' -o -name '*.pwd' \) ! -perm 0600)
[ -z "$bad" ] && [ -s "$ETC/psk/test.psk" ] && pass "PSK and password files made (pskgen), mode 0600" ||
	fail "PSK and password files made (pskgen), mode 0600" "$bad"

# Kerberos for kinkd: a keytab made offline (ktutil; no KDC is needed to
# start, only to negotiate)
KRB_OK=0
if [ -x "$KINKD" ] && command -v ktutil >/dev/null; then
	cat >"$W/krb5.conf" <<EOF
[libdefaults]
	default_realm = EXAMPLE.COM
	dns_lookup_kdc = false
[realms]
	EXAMPLE.COM = { kdc = 198.51.100.88 }
EOF
	printf 'addent -password -p kink/myname.example.com@EXAMPLE.COM -k 1 -e aes256-cts-hmac-sha1-96\nsample-secret\nwkt %s\nquit\n' \
		"$W/kink.keytab" | KRB5_CONFIG=$W/krb5.conf ktutil >/dev/null 2>&1 &&
		[ -s "$W/kink.keytab" ] && KRB_OK=1
fi

# ---- per scenario --------------------------------------------------------
# scenario CONF: racoon2.conf with one include enabled (+ NAT-T port)
mkconf() { # SCENARIO [natt]
	local s=$1 base=$1 out=$ETC/r-$1.conf
	[ "$s" = transport_ike_with_natt ] && base=transport_ike
	sed "s|^# include \"\(.*\)/$base.conf\";|include \"\1/$base.conf\";|" "$ETC/racoon2.conf" >"$out"
	if [ "$s" = transport_ike_with_natt ]; then
		sed -i 's|^#\(\s*MY_IP port 4500;\)|\1|' "$out"
		sed "s|^# include \"\(.*\)/transport_ike_natt.conf\";|include \"\1/transport_ike_natt.conf\";|" \
			"$ETC/transport_ike.conf" >"$ETC/transport_ike_with_natt.conf"
		sed -i "s|^include \"\(.*\)/transport_ike.conf\";|include \"\1/transport_ike_with_natt.conf\";|" "$out"
	elif [ "$s" = tunnel_ike_natt ]; then
		sed -i 's|^#\(\s*MY_IP port 4500;\)|\1|' "$out"
	fi
	grep -q "^include .*/$base.conf\|^include .*/$s.conf" "$out"
}
# the selectors the sample defines (names), from its own files
selectors() { # SCENARIO
	local f=$ETC/$1.conf
	[ "$1" = transport_ike_with_natt ] && f="$ETC/transport_ike.conf $ETC/transport_ike_natt.conf"
	# shellcheck disable=SC2086
	grep -h -o '^selector [A-Za-z0-9_]*' $f | awk '{print $2}'
}
# IP_RW policies (peers_sa_ipaddr IP_RW: a road warrior's address, known
# only when it negotiates) are templates: spmd installs nothing for them
# at start, as racoon2's spmd; iked installs them per peer.
rw_sample() { grep -q '^[[:space:]]*peers_sa_ipaddr IP_RW;' "$ETC/$1.conf"; }

WRAP='d=$1; shift; mount --bind "$d" /run && exec "$@"'
start() { # NAME LOG BIN ARGS... (inside the namespace, /run private)
	local n=$1 log=$2
	shift 2
	ip netns exec "$NS" sh -c "$WRAP" sh "$RUN" "$@" >"$log" 2>&1 &
	PID[$n]=$!
}

run_sample() { # SCENARIO BACKEND(xfrm|userspace)
	local s=$1 be=$2 tag="$1 ($2)" conf=$ETC/r-$1.conf kmp=iked out sel missing n
	local kargs=() skargs=() env=() rw
	case $s in *kink*) kmp=kinkd ;; esac
	RUN=$W/run-$s-$be
	mkdir -p "$RUN/racoon2"
	chmod 700 "$RUN" "$RUN/racoon2"
	if ! mkconf "$s"; then
		fail "$tag: no include line to enable"
		return
	fi
	if [ "$kmp" = kinkd ]; then
		if [ ! -x "$KINKD" ]; then
			echo "SKIP: $tag: kinkd not built (needs MIT krb5 development files)"
			return
		fi
		if [ "$KRB_OK" != 1 ]; then
			echo "SKIP: $tag: no keytab (ktutil missing or failed)"
			return
		fi
	fi
	# the socket each daemon's control tool talks to, in the test dir
	sed -i "s|$W/run/spmif|$RUN/spmif|" "$conf"
	if [ "$be" = userspace ]; then
		kargs=(-k userspace)
		skargs=(--kernel userspace)
		env=(RACOON2_ESPD_SOCKET="$RUN/r2espd.sock")
		start "espd-$s" "$RUN/espd.log" "$ESPD" -d -s "$RUN/r2espd.sock"
		if ! wait_for 100 test -S "$RUN/r2espd.sock"; then
			# r2espd's socket option may differ: default path under /run
			if [ -S "$RUN/racoon2/r2espd.sock" ]; then
				env=(RACOON2_ESPD_SOCKET="$RUN/racoon2/r2espd.sock")
			else
				fail "$tag: r2espd up" "$(cat "$RUN/espd.log")"
				stop "espd-$s"
				return
			fi
		fi
	fi
	start "spmd-$s" "$RUN/spmd.log" env "${env[@]}" "$SPMD" -F -d -f "$conf" -p "$RUN/spmd.pid" "${skargs[@]}"
	if wait_for 100 ip netns exec "$NS" "$SPMDCTL" -f "$conf" status; then
		out=$(ip netns exec "$NS" "$SPMDCTL" -f "$conf" status 2>&1)
		pass "$tag: spmd up, spmdctl -f CONF status answers ($(tr '\n' ' ' <<<"$out" | cut -c1-60))"
	else
		fail "$tag: spmd up, spmdctl -f CONF status answers" "$(cat "$RUN/spmd.log")"
		stop "spmd-$s"
		stop "espd-$s"
		return
	fi
	out=$(ip netns exec "$NS" "$SPMDCTL" -f "$conf" policy show 2>&1)
	if rw_sample "$s"; then
		[ -z "$(grep 'selector=' <<<"$out")" ] &&
			pass "$tag: policy show: no static policy for the IP_RW (road warrior) selectors" ||
			fail "$tag: policy show: no static policy for the IP_RW selectors" "$out"
		rw=1
	else
		rw=0
	fi
	missing=
	[ $rw = 1 ] || for sel in $(selectors "$s"); do
		grep -q "selector=$sel spid=" <<<"$out" || missing="$missing $sel"
	done
	[ $rw = 1 ] || { [ -z "$missing" ] && pass "$tag: policy show lists the sample's selectors ($(selectors "$s" | tr '\n' ' '))" ||
		fail "$tag: policy show lists the sample's selectors (missing:$missing)" "$out"; }
	if [ "$be" = xfrm ] && [ $rw = 0 ]; then
		n=$(ip -n "$NS" xfrm policy list | grep -c '^src ')
		[ "$n" -ge 1 ] && pass "$tag: XFRM holds the policies ($n)" ||
			fail "$tag: XFRM holds the policies" "$(ip -n "$NS" xfrm policy list)"
	fi
	if [ "$kmp" = iked ]; then
		start "iked-$s" "$RUN/iked.log" env "${env[@]}" "$IKED" -F -d -f "$conf" --ctl-socket "$RUN/iked.sock" \
			--pidfile "$RUN/iked.pid" "${kargs[@]}"
		if wait_for 100 ip netns exec "$NS" "$IKEDCTL" -s "$RUN/iked.sock" show sa; then
			out=$(ip netns exec "$NS" "$IKEDCTL" -s "$RUN/iked.sock" show sa 2>&1)
			kill -0 "${PID[iked-$s]}" 2>/dev/null &&
				pass "$tag: iked up, ikedctl show sa answers" ||
				fail "$tag: iked up, ikedctl show sa answers" "$(cat "$RUN/iked.log")"
		else
			fail "$tag: iked up, ikedctl show sa answers" "$(cat "$RUN/iked.log")"
		fi
		stop "iked-$s" && pass "$tag: iked stopped on TERM" ||
			fail "$tag: iked stopped on TERM (needed KILL)" "$(tail -5 "$RUN/iked.log")"
	else
		start "kinkd-$s" "$RUN/kinkd.log" env KRB5_CONFIG="$W/krb5.conf" \
			KRB5_KTNAME="FILE:$W/kink.keytab" KRB5RCACHEDIR="$RUN" "${env[@]}" \
			"$KINKD" -F -d -f "$conf" -S "$RUN/kinkd.sock" -p "$RUN/kinkd.pid" "${kargs[@]}"
		if wait_for 100 ip netns exec "$NS" "$KINKCTL" -s "$RUN/kinkd.sock" show sa &&
			kill -0 "${PID[kinkd-$s]}" 2>/dev/null; then
			pass "$tag: kinkd up, kinkctl show sa answers"
		else
			fail "$tag: kinkd up, kinkctl show sa answers" "$(cat "$RUN/kinkd.log")"
		fi
		stop "kinkd-$s" && pass "$tag: kinkd stopped on TERM" ||
			fail "$tag: kinkd stopped on TERM (needed KILL)" "$(tail -5 "$RUN/kinkd.log")"
	fi
	stop "spmd-$s" && pass "$tag: spmd stopped on TERM" ||
		fail "$tag: spmd stopped on TERM (needed KILL)" "$(tail -5 "$RUN/spmd.log")"
	stop "espd-$s"
	n=$(ip -n "$NS" xfrm policy list | grep -c '^src ')
	left=$(ls "$RUN/spmif" "$RUN/iked.sock" "$RUN/kinkd.sock" 2>/dev/null)
	if [ "$n" = 0 ]; then
		pass "$tag: nothing left (no XFRM policy)"
	else
		fail "$tag: nothing left ($n XFRM policies)" "$(ip -n "$NS" xfrm policy list)"
		ip -n "$NS" xfrm policy flush
	fi
	[ -z "$left" ] || echo "# $tag: sockets left behind: $left"
}

for s in tunnel_ike tunnel_ike_natt transport_ike transport_ike_with_natt local-test \
	tunnel_kink transport_kink; do
	run_sample "$s" xfrm
done
if [ -x "$ESPD" ]; then
	for s in tunnel_ike tunnel_ike_natt transport_ike transport_ike_with_natt \
		local-test tunnel_kink transport_kink; do
		run_sample "$s" userspace
	done
else
	echo "SKIP: userspace variants: r2espd not built"
fi

[ "$FAILS" = 0 ] || { echo "racoon2_samples: $FAILS failure(s)"; exit 1; }
exit 0
