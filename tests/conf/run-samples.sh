#!/bin/bash
# run-samples.sh RACOON2_CONF SOURCE_ROOT - racoon2's own sample configs.
#
# The samples are read from /work/shared/racoon2-samples or
# SOURCE_ROOT/../shared/racoon2-samples (never copied into the project).
# @prefix@ is replaced by a scratch directory, the PSK / certificate /
# password files they name are created there with mode 0600, and then
# racoon2.conf is checked once per scenario (each commented include line
# enabled in turn, plus NAT-T transport).  Each must pass -t and its dump
# must be a fixed point (dump -> parse -> dump).  Exit 77 = skipped.
set -u
bin=$(realpath "$1")
src=${2:-.}
samples=
for d in "$src/../shared/racoon2-samples" /work/shared/racoon2-samples; do
	[ -f "$d/racoon2.conf.in" ] && { samples=$d; break; }
done
if [ -z "$samples" ]; then
	echo "SKIP: racoon2 samples not found ($src/../shared/racoon2-samples)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
etc=$tmp/etc/racoon2
mkdir -p "$etc/psk" "$etc/cert" "$etc/hook"
for f in "$samples"/*.conf "$samples"/*.conf.in; do
	b=$(basename "$f" .in)
	sed "s|@prefix@|$tmp|g" "$f" > "$etc/$b"
done
for f in psk/test.psk psk/wildcard.psk spmd.pwd cert/my_pub.pem \
	 cert/my_pri.pem cert/peers_pub.pem; do
	printf 'racoon2-test-secret\n' > "$etc/$f"
	chmod 0600 "$etc/$f"
done
# transport_ike with its NAT-T include enabled
sed 's|^# include "\(.*\)/transport_ike_natt.conf";|include "\1/transport_ike_natt.conf";|' \
	"$etc/transport_ike.conf" > "$etc/transport_ike_with_natt.conf"
pass=0 fail=0
check() { # name file
	local d1=$tmp/$1.d1 d2=$tmp/$1.d2 out
	if ! out=$("$bin" -f "$2" -t 2>&1); then
		echo "FAIL: sample $1"; echo "$out" | sed 's/^/    /'
		fail=$((fail+1)); return
	fi
	if ! "$bin" -f "$2" dump > "$d1" 2>"$tmp/err" ||
	   ! "$bin" -f "$d1" dump > "$d2" 2>>"$tmp/err" || ! cmp -s "$d1" "$d2"; then
		echo "FAIL: sample $1 (dump is not a fixed point)"
		sed 's/^/    /' "$tmp/err"; diff "$d1" "$d2" | head -20
		fail=$((fail+1)); return
	fi
	echo "PASS: sample $1"; pass=$((pass+1))
}
check racoon2.conf "$etc/racoon2.conf"
for s in transport_ike tunnel_ike tunnel_ike_natt transport_kink tunnel_kink \
	 local-test transport_ike_with_natt; do
	base=$s
	[ $s = transport_ike_with_natt ] && base=transport_ike
	sed "s|^# include \"\(.*\)/$base.conf\";|include \"\1/$s.conf\";|" \
		"$etc/racoon2.conf" > "$etc/r-$s.conf"
	if ! grep -q "^include .*/$s.conf" "$etc/r-$s.conf"; then
		echo "FAIL: sample $s (no include line to enable)"; fail=$((fail+1))
		continue
	fi
	check "$s" "$etc/r-$s.conf"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
