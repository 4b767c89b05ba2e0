#!/bin/bash
# run-valid.sh RACOON2_CONF - every tests/conf/valid/*.conf must pass -t
# and its dump must be a fixed point.  $R2TEST_DIR holds ok.psk (0600).
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export R2TEST_DIR=$tmp
printf 'secret\n' > "$tmp/ok.psk"; chmod 0600 "$tmp/ok.psk"
pass=0 fail=0
cd "$here/valid" || exit 1
for f in *.conf; do
	if ! out=$("$bin" -f "$f" -t 2>&1); then
		echo "FAIL: valid/$f"; echo "$out" | sed 's/^/    /'
		fail=$((fail+1)); continue
	fi
	"$bin" -f "$f" dump > "$tmp/d1" && "$bin" -f "$tmp/d1" dump > "$tmp/d2"
	if ! cmp -s "$tmp/d1" "$tmp/d2"; then
		echo "FAIL: valid/$f (dump is not a fixed point)"
		diff "$tmp/d1" "$tmp/d2" | head -20; fail=$((fail+1)); continue
	fi
	echo "PASS: valid/$f"; pass=$((pass+1))
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
