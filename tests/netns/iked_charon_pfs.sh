#!/usr/bin/env bash
# tests/netns/iked_charon_pfs.sh - CREATE_CHILD_SA with PFS against
# strongSwan charon when the two prefer different groups (RFC 7296 §1.3.1,
# §1.2): racoon2 (need_pfs on, kmp_dh_group { modp2048; ecp256; }) offers
# MODP-2048 first with ECP-256 as an alternative; charon takes only
# ECP-256 for ESP and answers the KE with INVALID_KE_PAYLOAD(ECP_256).
# iked must start the CHILD rekey again with ECP-256, and charon must end
# up with an INSTALLED CHILD SA using ECP_256.  Then charon rekeys the
# CHILD SA itself (KE ECP-256, which racoon2 accepts as responder).
#
# host a: iked on the fake backend (-n -k fake; no ESP in this kernel)
# host b: charon + kernel-libipsec
# Uses the interop helpers of tests/lib.  Skips (exit 77) when iked or
# charon is missing.  Usage: R2_BUILD=build-dir tests/netns/iked_charon_pfs.sh
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/racoon2.sh"

r2_find_bins
[ -n "$IKED" ] || skip_all "iked_charon_pfs: iked not built ($R2_BUILD)"
[ -n "$IKEDCTL" ] || skip_all "iked_charon_pfs: ikedctl not built"
netns_init r2j iked_charon_pfs
need_cmd python3 swanctl
charon_available || skip_all "iked_charon_pfs: strongSwan charon not installed"

PSK='pfs-interop-psk-0123456789abcdef'
ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

r2_init r2 a
r2_write_conf r2 remote=charon my_gw=198.51.100.1 peer_gw=198.51.100.2 \
	my_net=203.0.113.1/32 peer_net=203.0.113.2/32 psk="$PSK" \
	kdh="modp2048 ecp256" mode=tunnel
# need_pfs in the remote's ikev2 block: the PFS group is the first
# kmp_dh_group (MODP-2048).
sed -i 's/^\t\tkmp_auth_method/\t\tneed_pfs on;\n&/' "$(r2_conf_path r2)"
grep -q need_pfs "$(r2_conf_path r2)" || fail "need_pfs written"
r2_check_conf r2 || fail "racoon2.conf with need_pfs accepted"

charon_start b c --libipsec || fail "charon start"
charon_conn c c local=198.51.100.2 remote=198.51.100.1 local_id=b.example \
	remote_id=a.example psk="$PSK" proposals=aes128-sha256-modp2048-ecp256 \
	esp_proposals=aes128-sha256-ecp256 local_ts=203.0.113.2/32 \
	remote_ts=203.0.113.1/32
charon_load c || fail "swanctl --load-all"
R2_KERNEL=fake r2_start_iked a r2 -n || { fail "iked start"; finish; }

r2_ctl r2 initiate charon >>"$TEST_DIR/ctl.log" 2>&1
check "IKE SA and first CHILD SA up (no KE in IKE_AUTH)" \
	wait_for "charon_child_installed c c" 8

id=$(r2_q r2 '([c["id"] for c in kids] or [""])[-1]')
old=$(charon_child_spis c)
r2_ctl r2 rekey child "$id" >>"$TEST_DIR/ctl.log" 2>&1
check "CHILD rekey by racoon2 succeeds after INVALID_KE_PAYLOAD" \
	wait_for "[ \"\$(charon_child_spis c)\" != '$old' ] && charon_child_installed c c" 8
check "charon asked for ECP_256 (INVALID_KE_PAYLOAD)" \
	grep -q "MODP_2048 unacceptable, requesting ECP_256" "$(charon_log c)"
check "iked retried with the named group" \
	grep -q "peer wants PFS group 19; starting the CREATE_CHILD_SA again" \
	"$TEST_DIR/iked-r2.log"
check "the new CHILD SA uses ECP_256 (swanctl --list-sas)" \
	eval "sw c --list-sas | grep INSTALLED | grep -q ECP_256"

old=$(r2_q r2 '[c["spi_in"] for c in kids]')
sw c --rekey --child c >>"$TEST_DIR/swanctl.log" 2>&1
check "CHILD rekey by charon with PFS (ECP-256) accepted" \
	wait_for "[ -n \"\$(r2_q r2 '[c[\"spi_in\"] for c in kids]')\" ] && [ \"\$(r2_q r2 '[c[\"spi_in\"] for c in kids]')\" != '$old' ] && charon_child_installed c c" 8
r2_stop r2
charon_stop c
finish
