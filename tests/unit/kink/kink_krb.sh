#!/bin/bash
# kink_krb.sh KINK-KRBTEST: src/kink/krb.c against a real MIT KDC on
# loopback (no namespaces needed).  SKIP when krb5kdc is missing.
set -u
tool=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v krb5kdc >/dev/null || PATH=$PATH:/usr/sbin
command -v krb5kdc >/dev/null || { echo "SKIP: no krb5kdc"; exit 77; }
. "$here/../../netns/kink_kdc.sh"
dir=$(mktemp -d /tmp/kink-krb.XXXXXX)
trap 'kdc_stop "$dir"; rm -rf "$dir"' EXIT
realm=KINK.TEST
port=$((20000 + $$ % 20000))
kdc_setup "$dir" $realm 127.0.0.1 $port kink/a.example@$realm \
	kink/b.example@$realm || { echo "FAIL: kdc setup"; exit 1; }
kdc_start "$dir" $realm || { echo "FAIL: kdc start"; exit 1; }
mkdir -p "$dir/rc"
# b's TGT in a ccache, for the User-to-User part (no keytab there)
KRB5CCNAME=FILE:$dir/ccb kinit -k -t "$dir/all.keytab" kink/b.example@$realm ||
	{ echo "FAIL: kinit"; exit 1; }
KRB5_KTNAME=FILE:$dir/all.keytab KRB5RCACHEDIR=$dir/rc \
	"$tool" kink/a.example@$realm kink/b.example@$realm "FILE:$dir/ccb"
