#!/usr/bin/env bash
# tests/interop/esp_libipsec.sh - issue 5 interop: racoon2's userspace ESP
# data plane (interface { kernel userspace; }) against strongSwan charon +
# kernel-libipsec.  Ping both directions through the tunnel; tshark on the
# veth sees only UDP-encapsulated ESP on port 4500 (libipsec always
# encapsulates, RFC 3948) and decrypts it with racoon2's exported esp_sa
# keys, every ICV correct; the exported ESP keys equal charon's log.
#
#   host a: r2espd + spmd (when built) + iked, kernel userspace, 198.51.100.1,
#           protected 203.0.113.1
#   host b: charon --libipsec, 198.51.100.2, protected 203.0.113.2
#
# Skips (exit 77) while iked is not built or its configuration check
# refuses "kernel userspace".
# Usage: R2_BUILD=build-dir tests/interop/esp_libipsec.sh   (KEEP=1)

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/netns.sh"
. "$LIB/charon.sh"
. "$LIB/tshark.sh"
. "$LIB/racoon2.sh"
KEYS="python3 $LIB/keys.py"

r2_find_bins
[ -n "$IKED" ] || skip_all "esp_libipsec: iked not built ($R2_BUILD/src/ike/iked)"
[ -n "$IKEDCTL" ] || skip_all "esp_libipsec: ikedctl not built"
[ -n "$ESPD" ] || skip_all "esp_libipsec: r2espd (userspace ESP daemon) not built"
netns_init r2ie esp_libipsec
need_cmd python3 tshark dumpcap swanctl ping
charon_available || skip_all "esp_libipsec: strongSwan charon not installed"

PSK='interop-esp-psk-0123456789abcdef'
ns_add a
ns_add b
ns_link a va b vb
ns_addr a va 198.51.100.1/24
ns_addr b vb 198.51.100.2/24
ns_addr a lo 203.0.113.1/32
ns_addr b lo 203.0.113.2/32

spmd=no
[ -n "$SPMD" ] && spmd=yes
r2_init r2 a
r2_write_conf r2 remote=charon my_gw=198.51.100.1 peer_gw=198.51.100.2 \
	my_net=203.0.113.1/32 peer_net=203.0.113.2/32 psk="$PSK" \
	kenc=aes256_gcm16 khash= kdh=ecp256 eenc=aes256_gcm16 eauth= \
	kernel=userspace spmd=$spmd
r2_check_conf r2 ||
	skip_all "esp_libipsec: iked -t refuses kernel userspace: $(head -1 "$(r2_dir r2)/check.log")"

charon_start b c --libipsec --keys || fail "charon start"
charon_conn c c local=198.51.100.2 remote=198.51.100.1 local_id=b.example \
	remote_id=a.example psk="$PSK" proposals=aes256gcm16-prfsha256-ecp256 \
	esp_proposals=aes256gcm16 local_ts=203.0.113.2/32 \
	remote_ts=203.0.113.1/32
charon_load c || fail "swanctl --load-all"
cap_start esp a va "" 198.51.100.2 || fail "capture"
r2_start_espd a r2 || fail "r2espd start"
if [ $spmd = yes ]; then
	r2_start_spmd a r2 || fail "spmd start"
fi
r2_start_iked a r2 || { fail "iked start"; finish; }

# Traffic-triggered when spmd runs (ACQUIRE from the userspace engine),
# else explicit.
if [ $spmd = yes ]; then
	ns_exec a ping -c1 -W1 -I 203.0.113.1 203.0.113.2 >/dev/null 2>&1
else
	r2_ctl r2 initiate charon >"$TEST_DIR/ctl.log" 2>&1
fi
check "IKE and CHILD SA up (charon INSTALLED)" \
	wait_for "charon_child_installed c c" 8
check "ping racoon2 -> charon through the tunnel" \
	wait_for "ns_exec a ping -c1 -W2 -I 203.0.113.1 203.0.113.2" 5
check "ping charon -> racoon2 through the tunnel" \
	wait_for "ns_exec b ping -c1 -W2 -I 203.0.113.2 203.0.113.1" 5
cap_stop esp || fail "capture empty"
r2_stop r2
charon_stop c

d=$TEST_DIR/keys
mkdir -p "$d"
f=$(cap_file esp)
$KEYS esp-uat --all "$(charon_log c)" >"$d/charon.esp" 2>/dev/null
r2_export_split r2 "$d/r2.ike" "$d/r2.esp" || fail "racoon2 key export written"
check "racoon2's ESP keys equal charon's" \
	to_file "$d/cmp-esp.out" $KEYS cmp-esp "$d/charon.esp" "$d/r2.esp"
$KEYS filter-uat ike "$d/r2.ike" >"$d/ws.ike" 2>/dev/null
$KEYS filter-uat esp "$d/r2.esp" >"$d/ws.esp" 2>/dev/null
kd=$(ts_keydir esp "$d/ws.ike" "$d/ws.esp")
check "tshark: no malformed or expert-error packets" ts_check_clean "$kd" "$f"
read -r raw udp <<<"$(ts_counts "$kd" "$f" 'esp && !udp' \
	'esp && udp.port == 4500' | tr '\n' ' ')"
[ "$raw" = 0 ] && [ "${udp:-0}" -gt 0 ] &&
	pass "only UDP-encapsulated ESP on the wire ($udp packets)" ||
	fail "only UDP-encapsulated ESP on the wire (raw=$raw udp=$udp)"
r=$(ts_check_esp_decrypt "$kd" "$f") &&
	pass "tshark decrypts every ESP packet with racoon2's esp_sa keys ($r)" ||
	fail "tshark decrypts every ESP packet with racoon2's esp_sa keys ($r)"
n=$(ts_counts "$kd" "$f" 'esp && icmp' | head -1)
[ "${n:-0}" -ge 4 ] && pass "decrypted ESP carries the pings ($n ICMP)" ||
	fail "decrypted ESP carries the pings ($n ICMP)"
finish
