#!/bin/bash
# run-scale.sh RACOON2_CONF [N] - a configuration of N (default 10,000)
# selectors over 100 policies, the shape bench/spmd_policies.sh
# generates, must pass -t with every object kept: the dump holds all N
# selectors and is a fixed point.  Prints the -t time for information.
# (Before the loader's fix, objects past 4,096 were dropped silently.)
set -u
bin=$(realpath "$1")
n=${2:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'scale-psk' > "$tmp/psk"; chmod 0600 "$tmp/psk"
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass+1)); }
ko() { echo "FAIL: $1"; fail=$((fail+1)); }

awk -v n="$n" -v dir="$tmp" 'BEGIN {
	printf "remote r { acceptable_kmp { ikev2; };\n"
	printf "  ikev2 { peers_ipaddr \"2001:db8:ffff::2\" port 500;\n"
	printf "    kmp_enc_alg { aes128_cbc; }; kmp_prf_alg { hmac_sha2_256; };\n"
	printf "    kmp_hash_alg { hmac_sha2_256; }; kmp_dh_group { modp2048; };\n"
	printf "    kmp_auth_method { psk; }; pre_shared_key \"%s/psk\"; }; };\n", dir
	printf "sa s { sa_protocol esp; esp_enc_alg { aes128_cbc; };\n"
	printf "  esp_auth_alg { hmac_sha1; }; };\n"
	printf "ipsec i { sa_index s; };\n"
	for (p = 0; p < 100; p++)
		printf "policy p%d { action auto_ipsec; remote_index r;\n" \
		       "  ipsec_mode transport; ipsec_index { i; };\n" \
		       "  ipsec_level require; };\n", p
	for (i = 1; i <= n / 2; i++) {
		a = sprintf("2001:db8:1::%x:%x", int(i / 65536), i % 65536)
		b = sprintf("2001:db8:2::%x:%x", int(i / 65536), i % 65536)
		printf "selector o%d { direction outbound; src \"%s\"; " \
		       "dst \"%s\"; policy_index p%d; };\n", i, a, b, i % 100
		printf "selector i%d { direction inbound; src \"%s\"; " \
		       "dst \"%s\"; policy_index p%d; };\n", i, b, a, i % 100
	}
}' > "$tmp/scale.conf"

t0=$(date +%s%N)
if out=$("$bin" -f "$tmp/scale.conf" -t 2>&1); then
	ok "scale: $n selectors pass -t"
else
	ko "scale: $n selectors pass -t"; echo "$out" | head -5 | sed 's/^/    /'
fi
t1=$(date +%s%N)
echo "# racoon2-conf -t of $n selectors: $(( (t1 - t0) / 1000000 )) ms"

"$bin" -f "$tmp/scale.conf" dump > "$tmp/d1" 2>&1
got=$(grep -c '^selector ' "$tmp/d1")
want=$(( n / 2 * 2 ))
if [ "$got" -eq "$want" ] &&
   [ "$(grep -c '^policy ' "$tmp/d1")" -eq 100 ]; then
	ok "scale: dump holds all $want selectors and 100 policies"
else
	ko "scale: dump holds $got selectors, want $want"
fi
"$bin" -f "$tmp/d1" dump > "$tmp/d2" 2>&1
if cmp -s "$tmp/d1" "$tmp/d2"; then
	ok "scale: dump is a fixed point"
else
	ko "scale: dump is a fixed point"; diff "$tmp/d1" "$tmp/d2" | head -5
fi

# a duplicate at the very end is still found, with the first place
echo 'selector o4999 { direction outbound; policy_index p1; };' \
	>> "$tmp/scale.conf"
line=$(wc -l < "$tmp/scale.conf")
first=$(grep -n '^selector o4999 ' "$tmp/scale.conf" | head -1 | cut -d: -f1)
want="scale.conf:$line:10: error: duplicate selector 'o4999' (first defined at $tmp/scale.conf:$first)"
out=$("$bin" -f "$tmp/scale.conf" -t 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -qF "$want" <<<"$out"; then
	ok "scale: late duplicate located"
else
	ko "scale: late duplicate located (exit $rc)"
	echo "$out" | head -5 | sed 's/^/    /'
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
