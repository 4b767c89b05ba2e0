# tests/lib/topo.sh - topologies and configurations shared by the netns
# scenarios and the benchmarks (one place instead of a prelude copied into
# each script).
#
# Needs tests/lib/netns.sh sourced first (netns_init called before the
# topology functions); r2_up and the rw_* configurations also need
# tests/lib/racoon2.sh; spmd_pairs_conf needs neither (python3 only).
#
# The road-warrior NAT topology (tests/netns/nat_mapping.sh, rw_nat.sh,
# bench/esp_throughput.sh):
#
#   CLIENT ADDR --- IF:NAT_IF nat NAT_ADDR | vo OUT_ADDR --- vg GW_ADDR gw
#   (default route via NAT_ADDR)   masquerade out of vo,      lo 203.0.113.1
#                                  mapped ports 10000-60000   (inner address)
#
#   topo_nat GW_ADDR/PLEN OUT_ADDR/PLEN [GW_OPT]
#       hosts gw and nat (nat forwards; gw too unless GW_OPT is "-", the
#       default being "forward"), veth gw:vg -- nat:vo, gw's lo 203.0.113.1,
#       the masquerade (nat_router nat vo); non-zero when the NAT failed
#   topo_nat_client NAME IF NAT_IF ADDR/PLEN NAT_ADDR/PLEN
#       host NAME behind nat (veth NAME:IF -- nat:NAT_IF), default route
#       via NAT_ADDR
#   topo_nat_remap [PORTS]
#       the NAT forgets every mapping: masquerade into PORTS (default
#       30000-40000) and conntrack flushed, so each client's next packet
#       leaves from a new port; non-zero when conntrack(8) failed
#   topo_vip4 HOST
#       the 203.0.113.x/32 address iked put on HOST's lo (its pool
#       address as a road warrior), or nothing
#
# racoon2 on those hosts (tests/lib/racoon2.sh):
#
#   r2_up HOST [NAME]
#       r2espd, spmd, iked of instance NAME (default HOST) in HOST, each
#       failure counted (fail) and returned
#   rw_gw_conf "ADDR..." POOL
#       the head of a gateway's racoon2.conf: IKE on each ADDR (ports 500
#       and 4500), spmd's socket, the userspace backend, $RW_ALGS as the
#       default IKEv2 algorithms, address pool rwpool = POOL
#   rw_gw_remote NAME PEER_ID OUR_SIDE ENVELOPE MY_SA PSK [PROVIDE]
#       remote NAME for road warriors (peers_ipaddr IP_RW, PSK auth, pool
#       rwpool plus PROVIDE, e.g. "dns 203.0.113.53;"), its selectors
#       OUR_SIDE <-> ENVELOPE and tunnel policy p-NAME from MY_SA
#   rw_client_conf NAME MYADDR ID GWADDR INNER_DST SECRET
#       the whole racoon2.conf of a road warrior NAME (r2_init and r2_psk
#       SECRET done here)
#       at MYADDR that asks GWADDR (identity gw.example) for an address of
#       MYADDR's family and tunnels any source -> INNER_DST; NAT keepalives
#       every $RW_KEEPALIVE (default "2 sec"; empty: the daemon's default)
#   They take $RW_ALGS (the kmp_* lines) and $RW_ESP (the ipsec/sa blocks,
#   ipsec ipsec_esp) from the caller; rw_gw_remote's PSK is the path
#   r2_psk returned.
#
# spmd with many policies (tests/netns/spmd_ctl_dump.sh,
# bench/spmd_policies.sh):
#
#   spmd_pairs_conf DIR PAIRS [BATCH]
#       DIR/racoon2.conf with PAIRS host-to-host selector pairs in
#       2001:db8::/32 (2001:db8:1::X <-> 2001:db8:2::X, transport ESP, one
#       policy "p"), spmd's socket DIR/spmif, the resolver off, PSK file
#       DIR/psk; with BATCH, also the same policies as `ip -batch` lines
#       (priority and reqid as spmd picks them) in that file

# ---- the road-warrior NAT topology ----

topo_nat() {
	local gw=$1 out=$2 opt=${3:-forward}
	[ "$opt" = - ] && opt=
	ns_add gw $opt
	ns_add nat forward
	ns_link gw vg nat vo
	ns_addr gw vg "$gw"
	ns_addr gw lo 203.0.113.1/32
	ns_addr nat vo "$out"
	nat_router nat vo
}

topo_nat_client() {
	local n=$1 dev=$2 ndev=$3 addr=$4 naddr=$5
	ns_add "$n"
	ns_link nat "$ndev" "$n" "$dev"
	ns_addr nat "$ndev" "$naddr"
	ns_addr "$n" "$dev" "$addr"
	ns_route "$n" default "${naddr%%/*}"
}

topo_nat_remap() {
	ns_exec nat nft flush ruleset
	nat_router nat vo "${1:-30000-40000}"
	ns_exec nat conntrack -F >/dev/null 2>&1
}

topo_vip4() {
	ip -n "$(ns "$1")" -4 addr show dev lo |
		sed -nE 's#.*inet (203\.0\.113\.[0-9]+)/32.*#\1#p' | head -1
}

# ---- racoon2 on it ----

r2_up() {
	local h=$1 n=${2:-$1}
	r2_start_espd "$h" "$n" || { fail "$n: r2espd start"; return 1; }
	r2_start_spmd "$h" "$n" || { fail "$n: spmd start"; return 1; }
	r2_start_iked "$h" "$n" || { fail "$n: iked start"; return 1; }
}

rw_gw_conf() {
	local a ike=
	for a in $1; do ike="$ike $a port 500; $a port 4500;"; done
	cat <<CONF
interface {
	ike {$ike };
	spmd { unix "/var/run/racoon2/spmif"; };
	kernel userspace;
};
default { remote { ikev2 {$RW_ALGS
}; }; };
addresspool rwpool { $2; };
CONF
}

rw_gw_remote() {
	cat <<CONF
remote $1 {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "gw.example";
		peers_id fqdn "$2";
		peers_ipaddr IP_RW;
		kmp_auth_method { psk; };
		pre_shared_key "$6";$RW_ALGS
		provide { addresspool rwpool;${7:+ $7} };
	};
	selector_index s-$1-out;
};
selector s-$1-out { direction outbound; src "$3"; dst "$4"; policy_index p-$1; };
selector s-$1-in { direction inbound; src "$4"; dst "$3"; policy_index p-$1; };
policy p-$1 {
	action auto_ipsec; remote_index $1; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "$5"; peers_sa_ipaddr IP_RW;
};
CONF
}

rw_client_conf() {
	local n=$1 any=0.0.0.0/0 req=ip4 ka=${RW_KEEPALIVE-2 sec} psk
	r2_init "$n" "$n"
	psk=$(r2_psk "$n" "$6")
	case "$2" in *:*) any=::/0; req=ip6 ;; esac
	[ -n "$ka" ] && ka="
		nat_keepalive_interval $ka;"
	cat >"$(r2_conf_path "$n")" <<CONF
interface {
	ike { $2 port 500; $2 port 4500; };
	spmd { unix "/var/run/racoon2/spmif"; };
	kernel userspace;
};
remote gw {
	acceptable_kmp { ikev2; };
	ikev2 {
		my_id fqdn "$3";
		peers_id fqdn "gw.example";
		peers_ipaddr "$4" port 500;
		kmp_auth_method { psk; };
		pre_shared_key "$psk";$RW_ALGS
		request { $req; };$ka
	};
	selector_index c-out;
};
selector c-out { direction outbound; src "$any"; dst "$5"; policy_index p-gw; };
selector c-in { direction inbound; src "$5"; dst "$any"; policy_index p-gw; };
policy p-gw {
	action auto_ipsec; remote_index gw; ipsec_mode tunnel;
	ipsec_index { ipsec_esp; }; ipsec_level require;
	my_sa_ipaddr "$2"; peers_sa_ipaddr "$4";
};
$RW_ESP
CONF
}

# ---- spmd with many policies ----

spmd_pairs_conf() {
	printf 'test-psk' >"$1/psk"
	chmod 600 "$1/psk"
	python3 - "$1" "$2" "${3:-}" <<'PY'
import sys
w, pairs, bpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def a(net, i):
    return "2001:db8:%x::%x:%x" % (net, i >> 16, i & 0xffff)
conf = open(w + "/racoon2.conf", "w")
conf.write('''interface { spmd { unix "%s/spmif"; }; };
resolver { resolver off; };
remote r { acceptable_kmp { ikev2; };
  ikev2 { peers_ipaddr "2001:db8:ffff::2" port 500; kmp_enc_alg { aes128_cbc; };
    kmp_prf_alg { hmac_sha2_256; }; kmp_hash_alg { hmac_sha2_256; };
    kmp_dh_group { modp2048; }; kmp_auth_method { psk; };
    pre_shared_key "%s/psk"; }; };
sa s { sa_protocol esp; esp_enc_alg { aes128_cbc; }; esp_auth_alg { hmac_sha1; }; };
ipsec i { sa_index s; };
policy p { action auto_ipsec; remote_index r; ipsec_mode transport;
  ipsec_index { i; }; ipsec_level require; };
''' % (w, w))
batch = open(bpath, "w") if bpath else None
for i in range(1, pairs + 1):
    src, dst = a(1, i), a(2, i)
    conf.write('selector o%d { direction outbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, src, dst))
    conf.write('selector i%d { direction inbound; src "%s"; dst "%s"; policy_index p; };\n' % (i, dst, src))
    if batch:
        # the same policies spmd installs (priority/reqid as spmd picks them)
        reqid = 4095 + i
        batch.write("xfrm policy add src %s/128 dst %s/128 dir out priority 1488 "
                    "tmpl proto esp reqid %d mode transport level required\n" % (src, dst, reqid))
        batch.write("xfrm policy add src %s/128 dst %s/128 dir in priority 1488 "
                    "tmpl proto esp reqid %d mode transport level required\n" % (dst, src, reqid))
conf.close()
if batch:
    batch.close()
PY
}
