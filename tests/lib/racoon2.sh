# tests/lib/racoon2.sh - racoon2's daemons (iked, spmd) as test hosts in a
# namespace.
#
# Needs tests/lib/netns.sh sourced first.  Each instance NAME lives in
# $TEST_DIR/r2-NAME/:
#   racoon2.conf     written by the test (r2_conf_path NAME gives the path)
#   psk              pre-shared key file (r2_psk NAME SECRET)
#   keys             iked's key export (Wireshark UAT lines), when enabled
#   run/             bind-mounted on /run inside the daemons' private mount
#                    namespaces, so the compiled-in defaults
#                    /var/run/racoon2/{iked.sock,spmif,*.pid} are private to
#                    the instance and visible from outside as run/racoon2/
#
#   r2_find_bins                     sets IKED IKEDCTL SPMD SPMDCTL ESPD or ""
#   r2_us_bins BUILD                 sets IKED IKEDCTL SPMD SPMDCTL ESPD ESPCTL
#   r2_need_bins NAME PATH...        skip_all unless each PATH is executable
#   r2_start_espd HOST NAME [ARGS]   r2espd (userspace ESP data plane, the
#                                    "kernel userspace" backend's daemon)
#   r2_start_iked HOST NAME [ARGS]   iked -F -f CONF [-k $R2_KERNEL] [export]
#   r2_start_spmd HOST NAME [ARGS]   spmd -F -f CONF [-k $R2_KERNEL]
#   r2_ctl NAME ARGS...              ikedctl -s run/racoon2/iked.sock ARGS
#   r2_json NAME                     ikedctl show sa --json
#   r2_q NAME PYEXPR                 evaluate PYEXPR on that JSON (as d)
#   r2_stop NAME
#   r2_us_tunnel_conf HOST K=V...    racoon2.conf of a userspace-ESP pair
#   r2_sa_eval JSON PYEXPR           PYEXPR on "show sa --json" output
#
# Environment: R2_BUILD (meson build dir, default <repo>/build), R2_KERNEL
# (backend for -k, default: the configuration's), IKED_EXPORT_FLAG (the
# iked option taking the key export file; default: found in "iked -h").
#
# Owns: files under $TEST_DIR/r2-NAME and the daemons (tracked by start_bg
# as iked-NAME / spmd-NAME; cleanup() stops them).

R2_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
R2_BUILD=${R2_BUILD:-$R2_ROOT/build}
declare -A R2_HOST=()

r2_find_bins() {
	local b=$R2_BUILD
	IKED='' IKEDCTL='' SPMD='' SPMDCTL=''
	[ -x "$b/src/ike/iked" ] && IKED=$b/src/ike/iked
	local c
	for c in "$b/src/ctl/ikedctl" "$b/src/ike/ikedctl"; do
		[ -x "$c" ] && { IKEDCTL=$c; break; }
	done
	[ -x "$b/src/spm/spmd" ] && SPMD=$b/src/spm/spmd
	ESPD=''
	[ -x "$b/src/kernel/userspace/r2espd" ] && ESPD=$b/src/kernel/userspace/r2espd
	for c in "$b/src/ctl/spmdctl" "$b/src/spm/spmdctl"; do
		[ -x "$c" ] && { SPMDCTL=$c; break; }
	done
	return 0
}

# r2_us_bins BUILD : IKED IKEDCTL SPMD SPMDCTL ESPD ESPCTL in the build
# directory BUILD (the control tools in src/ike|src/spm, else src/ctl);
# the caller checks they are executable.
r2_us_bins() {
	local b=$1
	IKED=$b/src/ike/iked
	IKEDCTL=$b/src/ike/ikedctl
	[ -x "$IKEDCTL" ] || IKEDCTL=$b/src/ctl/ikedctl
	SPMD=$b/src/spm/spmd
	SPMDCTL=$b/src/spm/spmdctl
	[ -x "$SPMDCTL" ] || SPMDCTL=$b/src/ctl/spmdctl
	ESPD=$b/src/kernel/userspace/r2espd
	ESPCTL=$b/src/kernel/userspace/r2espctl
}

# r2_need_bins NAME PATH... : skip the whole test NAME (skip_all, exit 77)
# unless every PATH is an executable, e.g. the ones r2_us_bins set.
r2_need_bins() {
	local name=$1 b
	shift
	for b in "$@"; do
		[ -x "$b" ] || skip_all "$name: $b not built"
	done
}

r2_dir() { printf '%s/r2-%s' "$TEST_DIR" "$1"; }
r2_conf_path() { printf '%s/racoon2.conf' "$(r2_dir "$1")"; }
r2_sock() { printf '%s/run/racoon2/iked.sock' "$(r2_dir "$1")"; }
r2_keys() { printf '%s/keys' "$(r2_dir "$1")"; }

# r2_init NAME HOST : create the instance directory.
r2_init() {
	local d
	d=$(r2_dir "$1")
	mkdir -p "$d/run/racoon2"
	chmod 700 "$d" "$d/run/racoon2"
	R2_HOST[$1]=$2
}

# r2_psk NAME SECRET : write the pre-shared key file (mode 0600).
r2_psk() {
	local f
	f="$(r2_dir "$1")/psk"
	(umask 077; printf '%s\n' "$2" >"$f")
	printf '%s' "$f"
}

# r2_export_flag : the iked option that names the key export file, from
# IKED_EXPORT_FLAG or iked's usage text ("-K FILE ... export ...").
r2_export_flag() {
	if [ -n "${IKED_EXPORT_FLAG:-}" ]; then
		printf '%s' "$IKED_EXPORT_FLAG"
		return 0
	fi
	local u
	u=$("$IKED" -h 2>&1)
	# "usage: iked ... [-K keyfile]" or a help line mentioning the export
	grep -o -E '\[-[A-Za-z] key[a-z_-]*\]' <<<"$u" | head -1 | grep -o -E -- '-[A-Za-z]' && return 0
	grep -i -E 'export|wireshark|keylog' <<<"$u" |
		grep -o -E '(^|[[:space:]])-[A-Za-z]([[:space:]]|$)|--[a-z-]+' |
		head -1 | tr -d '[:space:]'
}

# r2_check_conf NAME : iked --check on the instance's configuration.
r2_check_conf() {
	"$IKED" --check -f "$(r2_conf_path "$1")" >"$(r2_dir "$1")/check.log" 2>&1
}

# R2_WRAP: run "BIN ARGS..." with DIR/run bind-mounted over /run; used as
#   ip netns exec NS sh -c "$R2_WRAP" sh DIR BIN ARGS...
# (ip netns exec and sh both exec, so start_bg tracks the daemon's pid).
R2_WRAP='d=$1; shift; mount --bind "$d/run" /run && exec "$@"'

# r2_start_iked HOST NAME [EXTRA ARGS] : iked in the foreground with the
# instance's racoon2.conf, the key export on, -d; waits for its socket.
r2_start_iked() {
	local host=$1 name=$2; shift 2
	local d args=() flag
	d=$(r2_dir "$name")
	[ -d "$d" ] || r2_init "$name" "$host"
	R2_HOST[$name]=$host
	args=(-F -d -f "$(r2_conf_path "$name")")
	[ -n "${R2_KERNEL:-}" ] && args+=(-k "$R2_KERNEL")
	flag=$(r2_export_flag)
	[ -n "$flag" ] && args+=("$flag" "$(r2_keys "$name")")
	"$IKED" -h 2>&1 | grep -q -- '--ctl-socket' && args+=(--ctl-socket "$(r2_sock "$name")")
	start_bg "iked-$name" ip netns exec "$(ns "$host")" sh -c "$R2_WRAP" \
		sh "$d" "$IKED" "${args[@]}" "$@"
	if ! wait_for "[ -S '$(r2_sock "$name")' ] && r2_ctl '$name' ping" 10; then
		echo "r2_start_iked: $name did not come up:" >&2
		tail -20 "$TEST_DIR/iked-$name.log" >&2
		return 1
	fi
}

# r2_start_spmd HOST NAME [EXTRA ARGS] : spmd with the same configuration.
r2_start_spmd() {
	local host=$1 name=$2; shift 2
	local d args=()
	d=$(r2_dir "$name")
	[ -d "$d" ] || r2_init "$name" "$host"
	R2_HOST[$name]=$host
	args=(-F -d -f "$(r2_conf_path "$name")")
	[ -n "${R2_KERNEL:-}" ] && args+=(--kernel "$R2_KERNEL")
	start_bg "spmd-$name" ip netns exec "$(ns "$host")" sh -c "$R2_WRAP" \
		sh "$d" "$SPMD" "${args[@]}" "$@"
	# spmd is ready when its spmif socket exists.
	wait_for "ls '$d/run/racoon2/' | grep -q spmif" 10
}

# r2_start_espd HOST NAME [EXTRA ARGS] : r2espd for the userspace backend;
# its default socket /run/racoon2/r2espd.sock lands in the instance's run/.
r2_start_espd() {
	local host=$1 name=$2; shift 2
	local d
	d=$(r2_dir "$name")
	[ -d "$d" ] || r2_init "$name" "$host"
	R2_HOST[$name]=$host
	start_bg "espd-$name" ip netns exec "$(ns "$host")" sh -c "$R2_WRAP" \
		sh "$d" "$ESPD" -d "$@"
	wait_for "[ -S '$d/run/racoon2/r2espd.sock' ]" 10
}

# r2_ctl NAME ARGS... : ikedctl against instance NAME.
r2_ctl() {
	local name=$1; shift
	ip netns exec "$(ns "${R2_HOST[$name]}")" \
		"$IKEDCTL" -s "$(r2_sock "$name")" "$@"
}

r2_json() { r2_ctl "$1" show sa --json; }

# r2_q NAME PYEXPR : e.g. r2_q a 'len(d["ike_sas"])'. Prints the value
# (lists space-separated); exit 1 if the JSON cannot be read.
r2_q() {
	local j
	j=$(r2_json "$1" 2>/dev/null) || return 1
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
ike = [s for s in d.get("ike_sas", [])]
est = [s for s in ike if s.get("state") == "ESTABLISHED"]
kids = [c for s in est for c in s.get("children", [])]
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$j" "$2"
}

r2_stop() {
	stop_bg "iked-$1" TERM 5
	stop_bg "spmd-$1" TERM 5
	stop_bg "espd-$1" TERM 5
}

# r2_alglist NAME... : "{ a; b; }" for racoon2.conf (empty names dropped).
r2_alglist() {
	local out='' x
	for x in "$@"; do [ -n "$x" ] && out="$out $x;"; done
	[ -n "$out" ] && printf '{%s }' "$out"
}

# r2_write_conf NAME key=value... : a one-peer racoon2.conf.
#   my_gw= peer_gw=  (peer_gw=IP_RW for road warriors)  my_net= peer_net=
#   (selectors: my_net/peer_net, else the gateways: transport mode)
#   my_id= peer_id= (fqdn)  psk=SECRET  remote=NAME (default peer)
#   kenc= kprf= khash= kdh= eenc= eauth= (space-separated lists)
#   mode=tunnel|transport  kernel=xfrm|userspace|fake  spmd=yes|no
#   ports="500 4500"  natt=on|off
r2_write_conf() {
	local name=$1; shift
	local -A o=([remote]=peer [mode]=tunnel [spmd]=no [ports]="500 4500"
		[kenc]=aes128_cbc [kprf]=hmac_sha2_256 [khash]=hmac_sha2_256
		[kdh]=modp2048 [eenc]=aes128_cbc [eauth]=hmac_sha2_256
		[my_id]=a.example [peer_id]=b.example [psk]=racoon2-test-psk)
	local kv p d psk
	for kv in "$@"; do o[${kv%%=*}]=${kv#*=}; done
	d=$(r2_dir "$name")
	psk=$(r2_psk "$name" "${o[psk]}")
	{
		printf '# generated by tests/lib/racoon2.sh\ninterface {\n\tike {'
		for p in ${o[ports]}; do printf ' %s port %s;' "${o[my_gw]}" "$p"; done
		printf ' };\n'
		[ "${o[spmd]}" = yes ] &&
			printf '\tspmd { unix "/var/run/racoon2/spmif"; };\n'
		[ -n "${o[kernel]:-}" ] && printf '\tkernel %s;\n' "${o[kernel]}"
		printf '};\n'
		printf 'remote %s {\n\tacceptable_kmp { ikev2; };\n\tikev2 {\n' "${o[remote]}"
		printf '\t\tmy_id fqdn "%s";\n\t\tpeers_id fqdn "%s";\n' "${o[my_id]}" "${o[peer_id]}"
		if [ "${o[peer_gw]}" = IP_RW ]; then
			printf '\t\tpeers_ipaddr IP_RW;\n'
		else
			printf '\t\tpeers_ipaddr "%s" port 500;\n' "${o[peer_gw]}"
		fi
		# shellcheck disable=SC2086
		printf '\t\tkmp_enc_alg %s;\n' "$(r2_alglist ${o[kenc]})"
		printf '\t\tkmp_prf_alg %s;\n' "$(r2_alglist ${o[kprf]})"
		[ -n "${o[khash]}" ] && printf '\t\tkmp_hash_alg %s;\n' "$(r2_alglist ${o[khash]})"
		printf '\t\tkmp_dh_group %s;\n' "$(r2_alglist ${o[kdh]})"
		[ -n "${o[natt]:-}" ] && printf '\t\tnat_traversal %s;\n' "${o[natt]}"
		printf '\t\tkmp_auth_method { psk; };\n\t\tpre_shared_key "%s";\n' "$psk"
		printf '\t};\n\tselector_index sel_out;\n};\n'
		# Selectors take addresses only (IP_RW is for peers_ipaddr and
		# the policy's SA addresses): a road-warrior policy's selector
		# is its envelope, given as peer_net.
		local srcq=${o[my_net]:-${o[my_gw]}} dstq=${o[peer_net]:-${o[peer_gw]}}
		printf 'selector sel_out {\n\tdirection outbound;\n\tsrc "%s";\n\tdst "%s";\n\tpolicy_index pol;\n};\n' "$srcq" "$dstq"
		printf 'selector sel_in {\n\tdirection inbound;\n\tsrc "%s";\n\tdst "%s";\n\tpolicy_index pol;\n};\n' "$dstq" "$srcq"
		printf 'policy pol {\n\taction auto_ipsec;\n\tremote_index %s;\n' "${o[remote]}"
		printf '\tipsec_mode %s;\n\tipsec_index { ipsec_esp; };\n\tipsec_level require;\n' "${o[mode]}"
		if [ "${o[mode]}" = tunnel ]; then
			printf '\tmy_sa_ipaddr "%s";\n' "${o[my_gw]}"
			if [ "${o[peer_gw]}" = IP_RW ]; then
				printf '\tpeers_sa_ipaddr IP_RW;\n'
			else
				printf '\tpeers_sa_ipaddr "%s";\n' "${o[peer_gw]}"
			fi
		fi
		printf '};\nipsec ipsec_esp {\n\tipsec_sa_lifetime_time 1 hour;\n\tsa_index { esp_sa; };\n};\n'
		printf 'sa esp_sa {\n\tsa_protocol esp;\n\tesp_enc_alg %s;\n' "$(r2_alglist ${o[eenc]})"
		[ -n "${o[eauth]}" ] && printf '\tesp_auth_alg %s;\n' "$(r2_alglist ${o[eauth]})"
		printf '};\n'
	} >"$d/racoon2.conf"
}

# r2_us_tunnel_conf HOST key=value... : on stdout, the racoon2.conf of host
# a or b of a pair that each run r2espd + spmd + iked (`kernel userspace`),
# with an IKEv2 PSK tunnel between their networks (ids host-a.example and
# host-b.example; the pre-shared key file must exist, mode 0600):
#   me= peer= (gateways)  mynet= peernet=  psk=FILE  spmif=SOCKET
#   ports="500" (iked's ports on me)  kenc="aes128_gcm16 aes128_cbc"
#   eenc=aes128_gcm16  bytes= (ipsec_sa_lifetime_byte; none by default)
#   extra= (more lines inside ikev2 { })  mode=tunnel|transport (for
#   transport, mynet/peernet are the hosts' own addresses)
r2_us_tunnel_conf() {
	local h=$1; shift
	local -A o=([ports]=500 [kenc]="aes128_gcm16 aes128_cbc"
		[eenc]=aes128_gcm16 [bytes]='' [extra]='' [mode]=tunnel)
	local kv p ike='' bytes='' extra='' other=b
	for kv in "$@"; do o[${kv%%=*}]=${kv#*=}; done
	[ "$h" = b ] && other=a
	for p in ${o[ports]}; do ike="$ike \"${o[me]}\" port $p;"; done
	[ -n "${o[bytes]}" ] &&
		bytes=$'\t'"ipsec_sa_lifetime_byte ${o[bytes]};"$'\n'
	[ -n "${o[extra]}" ] && extra=$'\n'"${o[extra]}"
	# shellcheck disable=SC2086
	cat <<EOF
interface {
	ike {$ike };
	spmd { unix "${o[spmif]}"; };
	kernel userspace;
};
remote peer {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "host-$h.example";
		peers_id fqdn "host-$other.example";
		peers_ipaddr "${o[peer]}" port 500;
		kmp_enc_alg $(r2_alglist ${o[kenc]});
		kmp_prf_alg { hmac_sha2_256; };
		kmp_hash_alg { hmac_sha2_256; };
		kmp_dh_group { curve25519; modp2048; };
		kmp_auth_method { psk; };
		pre_shared_key "${o[psk]}";$extra
	};
	selector_index sel_out;
};
selector sel_out {
	direction outbound;
	src "${o[mynet]}";
	dst "${o[peernet]}";
	policy_index pol;
};
selector sel_in {
	direction inbound;
	src "${o[peernet]}";
	dst "${o[mynet]}";
	policy_index pol;
};
policy pol {
	action auto_ipsec;
	remote_index peer;
	ipsec_mode ${o[mode]};
	ipsec_index { esp; };
	ipsec_level require;
	my_sa_ipaddr "${o[me]}";
	peers_sa_ipaddr "${o[peer]}";
};
ipsec esp {
	ipsec_sa_lifetime_time 1 hour;
${bytes}	sa_index { esp_sa; };
};
sa esp_sa {
	sa_protocol esp;
	esp_enc_alg $(r2_alglist ${o[eenc]});
	esp_auth_alg { hmac_sha2_256; };
};
EOF
}

# r2_sa_eval JSON PYEXPR : PYEXPR on iked's "show sa --json" output, with
# d = the document, ike = its ESTABLISHED IKE SAs, kids = their INSTALLED
# CHILD SAs.  Prints the value (lists space-separated).
r2_sa_eval() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
ike = [s for s in d.get("ike_sas", []) if s.get("state") == "ESTABLISHED"]
kids = [c for s in ike for c in s.get("children", []) if c.get("state") == "INSTALLED"]
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
' "$1" "$2"
}

# r2_export_split NAME IKE_OUT ESP_OUT : iked's key export (-K PATH) as the
# two UAT files.  PATH may be a directory holding "ikev2_decryption_table"
# and "esp_sa" (what iked writes) or one file with both kinds of lines.
r2_export_split() {
	local k
	k=$(r2_keys "$1")
	: >"$2"; : >"$3"
	if [ -d "$k" ]; then
		[ -f "$k/ikev2_decryption_table" ] && grep -v '^#' "$k/ikev2_decryption_table" >"$2"
		[ -f "$k/esp_sa" ] && grep -v '^#' "$k/esp_sa" >"$3"
	elif [ -f "$k" ]; then
		python3 "$(dirname "${BASH_SOURCE[0]}")/keys.py" split-export \
			"$k" "$2" "$3" >/dev/null
	fi
	[ -s "$2" ] || [ -s "$3" ]
}

# r2_export_modes NAME : the distinct octal modes of the export file(s).
r2_export_modes() {
	local k
	k=$(r2_keys "$1")
	if [ -d "$k" ]; then
		stat -c %a "$k"/* 2>/dev/null | sort -u | tr '\n' ' ' | sed 's/ $//'
	else
		stat -c %a "$k" 2>/dev/null
	fi
}

# Daemons with their sockets in one directory DIR (no /run bind mount: the
# layout of iked_privsep.sh, iked_userspace.sh, mip6_migrate.sh): DIR holds
# racoon2.conf (its spmd socket DIR/spmif), r2espd.sock, spmd.pid and
# iked.sock; logs are $TEST_DIR/{espd,spmd,iked}-TAG.log (start_bg).
#   r2_dir_espd_spmd HOST DIR TAG          r2espd -i r2tun0, then spmd -d
#   r2_dir_iked HOST DIR TAG [ARGS...]     iked -d ARGS, until it answers
#                                          and is registered with spmd
r2_dir_espd_spmd() {
	local h=$1 d=$2 tag=$3
	start_bg "espd-$tag" ip netns exec "$(ns "$h")" "$ESPD" -s "$d/r2espd.sock" -i r2tun0
	wait_for "test -S '$d/r2espd.sock'" 5 || return 1
	start_bg "spmd-$tag" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		ip netns exec "$(ns "$h")" "$SPMD" -F -d -f "$d/racoon2.conf" -p "$d/spmd.pid"
	wait_for "test -S '$d/spmif'" 5
}
r2_dir_iked() {
	local h=$1 d=$2 tag=$3
	shift 3
	start_bg "iked-$tag" env RACOON2_ESPD_SOCKET="$d/r2espd.sock" \
		ip netns exec "$(ns "$h")" "$IKED" -F -d -f "$d/racoon2.conf" \
		--ctl-socket "$d/iked.sock" "$@"
	wait_for "ip netns exec '$(ns "$h")' '$IKEDCTL' -s '$d/iked.sock' ping" 5 || return 1
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-$tag.log'" 5
}
