#!/bin/bash
# kink_conf.sh RACOON2-CONF: the config checker flags a remote that lists
# kink first without both principals, and is quiet when they are there.
set -u
tool=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
printf 'remote r { acceptable_kmp { kink; }; kink { peers_ipaddr "198.51.100.2"; }; };\n' >"$t/no.conf"
printf 'remote r { acceptable_kmp { kink; }; kink { my_principal "kink/a@R"; peers_principal "kink/b@R"; peers_ipaddr "198.51.100.2"; }; };\n' >"$t/ok.conf"
fails=0
if "$tool" -f "$t/no.conf" -t 2>&1 | grep -q "kink needs my_principal and peers_principal"; then
	echo "PASS: kink remote without principals flagged"
else
	echo "FAIL: kink remote without principals not flagged"; fails=1
fi
if "$tool" -f "$t/ok.conf" -t 2>&1 | grep -q "principal"; then
	echo "FAIL: warning despite principals"; fails=1
else
	echo "PASS: no warning with both principals"
fi
exit $fails
