# kink_kdc.sh - sourced: an MIT KDC for the KINK tests, all in one dir.
# kdc_setup DIR REALM ADDR PORT PRINC...   (writes DIR/krb5.conf with
#   kdc = ADDR:PORT, and a KDC that listens on PORT of every address when
#   KDC_LISTEN_ALL=1, else on ADDR:PORT only; DIR/krb5.conf,
#   DIR/kdc.conf, DIR/<princ-host>.keytab per principal, DIR/all.keytab)
# kdc_start DIR REALM [NETNS]   starts krb5kdc (pid in DIR/kdc.pid)
# kdc_stop DIR
kdc_setup() {
	local dir=$1 realm=$2 addr=$3 port=$4 listen
	shift 4
	listen=$addr:$port
	[ "${KDC_LISTEN_ALL:-0}" = 1 ] && listen=$port
	mkdir -p "$dir"
	cat >"$dir/krb5.conf" <<EOC
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	clockskew = 300
[realms]
	$realm = {
		kdc = $addr:$port
	}
EOC
	cat >"$dir/kdc.conf" <<EOC
[kdcdefaults]
	kdc_listen = $listen
	kdc_tcp_listen = $listen
[realms]
	$realm = {
		database_name = $dir/principal
		key_stash_file = $dir/stash
		acl_file = $dir/kadm5.acl
	}
[logging]
	kdc = FILE:$dir/kdc.log
EOC
	: >"$dir/kadm5.acl"
	export KRB5_CONFIG=$dir/krb5.conf KRB5_KDC_PROFILE=$dir/kdc.conf
	kdb5_util -r "$realm" -P "kdcpw-$$-$RANDOM" create -s >/dev/null 2>&1 ||
		return 1
	local p h
	for p in "$@"; do
		h=${p#*/}
		h=${h%%@*}
		kadmin.local -r "$realm" -q "addprinc -randkey $p" >/dev/null 2>&1 ||
			return 1
		kadmin.local -r "$realm" -q "ktadd -k $dir/$h.keytab $p" \
			>/dev/null 2>&1 || return 1
		ktutil >/dev/null 2>&1 <<EOK
rkt $dir/$h.keytab
wkt $dir/all.keytab
EOK
	done
}

kdc_start() {
	local dir=$1 realm=$2 ns=${3:-}
	if [ -n "$ns" ]; then
		ip netns exec "$ns" env KRB5_CONFIG="$dir/krb5.conf" \
			KRB5_KDC_PROFILE="$dir/kdc.conf" \
			krb5kdc -r "$realm" -P "$dir/kdc.pid"
	else
		KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf" \
			krb5kdc -r "$realm" -P "$dir/kdc.pid"
	fi
	local i
	for i in $(seq 50); do
		[ -s "$dir/kdc.pid" ] && return 0
		sleep 0.1
	done
	return 1
}

kdc_stop() {
	local dir=$1
	[ -s "$dir/kdc.pid" ] && kill "$(cat "$dir/kdc.pid")" 2>/dev/null
	rm -f "$dir/kdc.pid"
}
