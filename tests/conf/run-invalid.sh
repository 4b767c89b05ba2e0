#!/bin/bash
# run-invalid.sh RACOON2_CONF - check every tests/conf/invalid/*.conf.
#
# The first line of each case is "# expect: FILE:LINE:COL: MESSAGE".
# racoon2-conf -t must exit 1 and print exactly that error (FILE is the
# file the error is in, e.g. an included one).  @DIR@ stands for a
# scratch directory (also exported as $R2TEST_DIR) holding open.psk
# (mode 0644) and ok.psk (mode 0600).
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export R2TEST_DIR=$scratch
printf 'secret\n' > "$scratch/open.psk"; chmod 0644 "$scratch/open.psk"
printf 'secret\n' > "$scratch/ok.psk"; chmod 0600 "$scratch/ok.psk"
unset R2TEST_SURELY_UNSET_VAR
pass=0 fail=0
cd "$here/invalid" || exit 1
for f in *.conf; do
	exp=$(head -n1 "$f" | sed -n 's/^# expect: //p')
	exp=${exp//@DIR@/$scratch}
	if [ -z "$exp" ]; then
		echo "FAIL: invalid/$f (no '# expect:' line)"; fail=$((fail+1)); continue
	fi
	want="${exp%%: *}: error: ${exp#*: }"
	out=$(timeout 20 "$bin" -f "$f" -t 2>&1); rc=$?
	if [ $rc -ne 1 ]; then
		echo "FAIL: invalid/$f (exit $rc, want 1)"; echo "$out" | sed 's/^/    /'
		fail=$((fail+1))
	elif ! grep -qF -- "racoon2-conf: $want" <<<"$out"; then
		echo "FAIL: invalid/$f (missing: $want)"; echo "$out" | sed 's/^/    /'
		fail=$((fail+1))
	else
		echo "PASS: invalid/$f"; pass=$((pass+1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -ge 40 ]
