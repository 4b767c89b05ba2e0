#!/bin/bash
# esp_wire.sh - r2espd's ESP on the wire, checked by an independent
# implementation, and a rekey under traffic:
#   - tshark on the veth between two hosts decrypts every ESP packet
#     (IP proto 50 and UDP 4500, IPv4 and IPv6 outer, AES-GCM-128 and
#     AES-CBC + HMAC-SHA-256) with the keys read back by `r2espctl sa get`
#     through Wireshark's esp_sa UAT, every ICV verifies, and no frame is
#     malformed or carries an expert error; inner IP and TCP checksums are
#     verified too, so the TSO segments r2espd cuts (espd_off.c) are valid
#     on the wire.  The TCP transfer must show TUN offloads in use; UDP
#     sent with UDP_SEGMENT (USO super-packets r2espd cuts itself) must
#     arrive whole, with valid inner UDP checksums.
#   - static rekey under a steady UDP stream (iperf3): install the new SA
#     pair (receiver first), outbound switches to the newest SA, delete
#     the old pair; the datagrams lost are measured and printed next to a
#     run without rekey, and must stay within a few.
#
# usage: esp_wire.sh [BUILD_DIR]   (root; namespaces r2p-PID-*)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-${R2_BUILD:-$TOP/build}}" && pwd)
BIN=$BUILD/src/kernel/userspace
[ -x "$BIN/r2espd" ] || BIN=$BUILD/tests/unit/esp

. "$TOP/tests/lib/netns.sh"
. "$TOP/tests/lib/tshark.sh"
netns_init r2p esp_wire
need_cmd iperf3 python3 ping
[ -x "$BIN/r2espd" ] || skip_all "esp_wire: r2espd not built in $BUILD"

ns_add a; ns_add b
ns_link a vA b vB
ns_addr a vA 198.51.100.1/24; ns_addr b vB 198.51.100.2/24
ns_addr a vA 2001:db8:1::1/64; ns_addr b vB 2001:db8:1::2/64
ns_addr a lo 203.0.113.1/32; ns_addr b lo 203.0.113.2/32
ns_addr a lo 203.0.113.11/32; ns_addr b lo 203.0.113.12/32
ns_addr a lo 2001:db8:a::1/128; ns_addr b lo 2001:db8:b::1/128
# r2espd -u sends runs of ESP-in-UDP packets as one UDP GSO send; veth
# would carry the run unsegmented (the peer's GRO socket takes it as
# is), so the capture would show one frame that no wire carries.  The
# kernel segments it in software when the link lacks the offload, as
# before a NIC without UDP segmentation: the capture then shows the
# datagrams a wire would.
ns_exec a ip link set vA gso_max_segs 1
ns_exec b ip link set vB gso_max_segs 1

# static test keys, each used by one SA pair only: AEAD needs the flag
ctl() { local h=$1; shift; ns_exec "$h" "$BIN/r2espctl" -s "$TEST_DIR/$h.sock" --force-static-aead "$@"; }
for h in a b; do
	start_bg espd-$h ip netns exec "$(ns $h)" "$BIN/r2espd" -u \
		-s "$TEST_DIR/$h.sock"
done
check "r2espd started in both hosts" \
	wait_for "[ -S $TEST_DIR/a.sock ] && [ -S $TEST_DIR/b.sock ]" 5 ||
	finish

GCM1=000102030405060708090a0b0c0d0e0f10111213
GCM2=101112131415161718191a1b1c1d1e1f20212223
CBC=0f0e0d0c0b0a09080706050403020100
SHA=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

# sa_pair LEFT-OUT RIGHT-OUT SPI REQID ALG-ARGS...: SPI for left->right,
# SPI+1 for right->left, in both hosts
sa_pair() {
	local lo=$1 ro=$2 spi=$3 q="reqid $4"; shift 4
	local h
	for h in b a; do # receiver of left->right first
		ctl $h sa add src "$lo" dst "$ro" spi $spi $q "$@" || return 1
	done
	for h in a b; do
		ctl $h sa add src "$ro" dst "$lo" spi $((spi + 1)) $q "$@" ||
			return 1
	done
}
# pols LEFT-IN RIGHT-IN LEFT-OUT RIGHT-OUT REQID
pols() {
	local li=$1 ri=$2 lo=$3 ro=$4 q="reqid $5"
	ctl a pol add dir out src "$li" dst "$ri" tsrc "$lo" tdst "$ro" $q &&
	ctl a pol add dir in src "$ri" dst "$li" tsrc "$ro" tdst "$lo" $q &&
	ctl b pol add dir out src "$ri" dst "$li" tsrc "$ro" tdst "$lo" $q &&
	ctl b pol add dir in src "$li" dst "$ri" tsrc "$lo" tdst "$ro" $q
} >/dev/null

check "v4-in-v4 proto 50 AES-GCM-128 tunnel" \
	eval 'sa_pair 198.51.100.1 198.51.100.2 0x1000 1 enc aes-gcm-128 key $GCM1 &&
	      pols 203.0.113.1 203.0.113.2 198.51.100.1 198.51.100.2 1'
check "v6-in-v6 UDP 4500 AES-GCM-128 tunnel" \
	eval 'sa_pair 2001:db8:1::1 2001:db8:1::2 0x2000 2 enc aes-gcm-128 key $GCM2 encap 4500 4500 &&
	      pols 2001:db8:a::1 2001:db8:b::1 2001:db8:1::1 2001:db8:1::2 2'
check "v4-in-v4 UDP 4500 AES-CBC-128 + HMAC-SHA-256 tunnel" \
	eval 'sa_pair 198.51.100.1 198.51.100.2 0x3000 3 enc aes-cbc-128 key $CBC auth sha256 akey $SHA encap 4500 4500 &&
	      pols 203.0.113.11 203.0.113.12 198.51.100.1 198.51.100.2 3'

# ---- tshark decrypts what r2espd sent -------------------------------

if ts_available; then
	cap_start wire b vB "esp or udp port 4500" 198.51.100.1 ||
		fail "capture on vB"
	ns_exec a ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2 >/dev/null
	ns_exec a ping -6 -c 3 -i 0.2 -W 2 -I 2001:db8:a::1 2001:db8:b::1 >/dev/null
	ns_exec a ping -c 3 -i 0.2 -W 2 -s 1300 -I 203.0.113.11 203.0.113.12 >/dev/null
	gso0=$(ctl a stats | awk '$1 == "tun_gso" { print $2 }')
	for d in "203.0.113.2 203.0.113.1" "2001:db8:b::1 2001:db8:a::1"; do
		set -- $d
		start_bg iperf-s ip netns exec "$(ns b)" iperf3 -s -1 -B "$1"
		sleep 0.3
		ns_exec a iperf3 -c "$1" -B "$2" -n 1M >>"$TEST_DIR/iperf.log" 2>&1 ||
			fail "TCP 1 MB to $1"
		stop_bg iperf-s
	done
	gso1=$(ctl a stats | awk '$1 == "tun_gso" { print $2 }')
	# UDP super-packets (UDP_SEGMENT sends: USO, TUN_F_USO4/6): 3
	# sends of 5,300 octets in 1,000-octet datagrams each way, 18
	# datagrams per family, cut by r2espd, checked at the receiver
	# (sizes, content) and below by tshark (inner UDP checksums)
	uso0=$gso1
	cat >"$TEST_DIR/uso_rx.py" <<-'PY'
	import socket, sys
	af = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
	s = socket.socket(af, socket.SOCK_DGRAM)
	s.bind((sys.argv[1], 7777))
	s.settimeout(3)
	sizes = []
	try:
	    while len(sizes) < 18:
	        b = s.recv(65535)
	        want = bytes((len(sizes) % 6 * 1000 + i) % 251 for i in range(len(b)))
	        sizes.append(len(b) if b == want else -1)
	except socket.timeout:
	    pass
	open(sys.argv[2], "w").write(" ".join(map(str, sizes)))
	PY
	cat >"$TEST_DIR/uso_tx.py" <<-'PY'
	import socket, sys, time
	af = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
	s = socket.socket(af, socket.SOCK_DGRAM)
	s.bind((sys.argv[2], 0))
	s.setsockopt(socket.IPPROTO_UDP, 103, 1000)  # UDP_SEGMENT
	buf = bytes(i % 251 for i in range(5300))
	for _ in range(3):
	    s.sendto(buf, (sys.argv[1], 7777))
	    time.sleep(0.05)
	PY
	for d in "203.0.113.2 203.0.113.1" "2001:db8:b::1 2001:db8:a::1"; do
		set -- $d
		start_bg udp-r ip netns exec "$(ns b)" python3 \
			"$TEST_DIR/uso_rx.py" "$1" "$TEST_DIR/uso-$1"
		sleep 0.5
		ns_exec a python3 "$TEST_DIR/uso_tx.py" "$1" "$2" \
			>>"$TEST_DIR/uso.log" 2>&1 || fail "UDP_SEGMENT sends to $1"
		wait_for "[ -s $TEST_DIR/uso-$1 ]" 5
		stop_bg udp-r
		check "USO to $1: 18 datagrams, 5 x 1000 + 300 per send, intact ($(cat "$TEST_DIR/uso-$1" 2>/dev/null))" \
			test "$(cat "$TEST_DIR/uso-$1" 2>/dev/null)" = \
			"1000 1000 1000 1000 1000 300 1000 1000 1000 1000 1000 300 1000 1000 1000 1000 1000 300"
	done
	uso1=$(ctl a stats | awk '$1 == "tun_gso" { print $2 }')
	cap_stop wire || fail "capture stopped"

	# esp_sa UAT rows from the SAs as r2espd holds them (host a)
	uat=$TEST_DIR/esp_sa
	: >"$uat"
	for s in "198.51.100.1 198.51.100.2 0x1000 IPv4 gcm" \
		 "198.51.100.2 198.51.100.1 0x1001 IPv4 gcm" \
		 "2001:db8:1::1 2001:db8:1::2 0x2000 IPv6 gcm" \
		 "2001:db8:1::2 2001:db8:1::1 0x2001 IPv6 gcm" \
		 "198.51.100.1 198.51.100.2 0x3000 IPv4 cbc" \
		 "198.51.100.2 198.51.100.1 0x3001 IPv4 cbc"; do
		set -- $s
		line=$(ctl a sa get dst "$2" spi "$3") || { fail "sa get $3"; continue; }
		ek=$(sed -n 's/.* enc_key \(0x[0-9a-f]*\).*/\1/p' <<<"$line")
		ak=$(sed -n 's/.* auth_key \(0x[0-9a-f]*\).*/\1/p' <<<"$line")
		if [ "$5" = gcm ]; then
			printf '"%s","%s","%s","%s","AES-GCM with 16 octet ICV [RFC4106]","%s","NULL",""\n' \
				"$4" "$1" "$2" "$3" "$ek" >>"$uat"
		else
			printf '"%s","%s","%s","%s","AES-CBC [RFC3602]","%s","HMAC-SHA-256-128 [RFC4868]","%s"\n' \
				"$4" "$1" "$2" "$3" "$ek" "$ak" >>"$uat"
		fi
	done
	kd=$(ts_keydir esp "" "$uat")
	cat >>"$kd/preferences" <<-EOF
	ip.check_checksum: TRUE
	tcp.check_checksum: TRUE
	udp.check_checksum: TRUE
	EOF
	pcap=$(cap_file wire)
	res=$(ts_check_esp_decrypt "$kd" "$pcap")
	rc=$?
	log "tshark: $res"
	check "tshark decrypts every ESP packet, ICVs good ($res)" test $rc = 0
	read -r n50 nudp n6 ncbc tcp badcs < <(ts_counts "$kd" "$pcap" \
		'esp && !udp' 'udp.port == 4500 && esp' 'ipv6 && esp' \
		'esp.spi == 0x3000 || esp.spi == 0x3001' 'tcp.len > 1000' \
		'ip.checksum.status == 0 || tcp.checksum.status == 0' | tr '\n' ' ')
	log "proto50=$n50 udp4500=$nudp ipv6=$n6 cbc=$ncbc tcp-full=$tcp bad-csum=$badcs"
	check "capture has proto 50, UDP 4500, IPv6 outer and CBC+HMAC ESP" \
		test "${n50:-0}" -gt 0 -a "${nudp:-0}" -gt 0 -a "${n6:-0}" -gt 0 -a "${ncbc:-0}" -gt 0
	check "decrypted TCP segments (from TSO super-packets) have valid checksums" \
		test "${tcp:-0}" -gt 100 -a "${badcs:-1}" = 0
	check "TUN offloads used for the TCP transfers (tun_gso $gso0 -> $gso1)" \
		test "${gso1:-0}" -gt "${gso0:-0}"
	# the kernel hands r2espd the UDP sends whole where it has USO
	# (Linux >= 6.2; r2espd falls back to TSO alone elsewhere)
	kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
	if [ "$kv" -ge 6002 ]; then
		check "USO: the 6 UDP_SEGMENT sends came as super-packets (tun_gso $uso0 -> $uso1)" \
			test "$((uso1 - uso0))" -ge 6
	else
		skip "USO: kernel $(uname -r) has no TUN_F_USO4/6 (before 6.2)"
	fi
	# (status 1 = good; with IPv6 the outer UDP 4500 checksum is left
	# to the "NIC", status 0, see below, so count the good ones)
	read -r nuso gooduso < <(ts_counts "$kd" "$pcap" 'udp.port == 7777' \
		'udp.port == 7777 && udp.checksum.status == 1' | tr '\n' ' ')
	check "decrypted USO datagrams ($nuso) have valid UDP checksums (good: $gooduso)" \
		test "${nuso:-0}" = 36 -a "${gooduso:-0}" = 36
	# (the capture canary, UDP to port 9 sent by b, leaves before its
	# checksum is filled in by the veth offload: not ours, not ESP; so
	# does ESP-in-UDP that r2espd -u sends through its UDP 4500 socket,
	# whose checksum the kernel leaves to the "NIC": their ESP is
	# checked above, and they may not be malformed)
	bad=$(ts "$kd" "$pcap" -Y '(_ws.malformed || (_ws.expert.severity >= error && !(udp.port == 4500 && udp.checksum.status == 0))) && !(udp.port == 9)')
	[ -n "$bad" ] && printf '%s\n' "$bad" | head -10 >&2
	check "tshark: no malformed frame, no expert error" test -z "$bad"
else
	skip "tshark/dumpcap not installed: ESP decryption check"
fi

# ---- rekey under traffic --------------------------------------------

# udp_run SECONDS [rekey] -> "lost total" of an iperf3 UDP stream a -> b
# through the 0x1000 tunnel (2,000 datagrams/s of 1,000 bytes)
udp_run() {
	local secs=$1 out
	start_bg iperf-u ip netns exec "$(ns b)" iperf3 -s -1 -B 203.0.113.2
	sleep 0.3
	ns_exec a iperf3 -u -c 203.0.113.2 -B 203.0.113.1 -b 16M -l 1000 \
		-t "$secs" -J >"$TEST_DIR/udp.json" 2>/dev/null &
	local cli=$!
	if [ "${2:-}" = rekey ]; then
		sleep 1
		rekey
	fi
	wait $cli
	stop_bg iperf-u
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))["end"]["sum"]
print(d["lost_packets"], d["packets"])' "$TEST_DIR/udp.json" 2>/dev/null || echo "-1 0"
}

# new pair 0x1100/0x1101 (receivers first), both hosts switch outbound
# at once (newest SA of the reqid wins), then the old pair goes
rekey() {
	sa_pair 198.51.100.1 198.51.100.2 0x1100 1 enc aes-gcm-128 key $GCM2 \
		>>"$TEST_DIR/rekey.log" 2>&1 || echo "rekey: add failed" >>"$TEST_DIR/rekey.log"
	sleep 0.2 # packets already encrypted with the old SA drain
	for h in a b; do
		ctl $h sa del dst 198.51.100.2 spi 0x1000
		ctl $h sa del dst 198.51.100.1 spi 0x1001
	done >>"$TEST_DIR/rekey.log" 2>&1
}

read -r base_lost base_total <<<"$(udp_run 3)"
read -r lost total <<<"$(udp_run 4 rekey)"
echo "# rekey under traffic: lost $lost of $total datagrams (without rekey: $base_lost of $base_total)"
check "UDP stream measured (with and without rekey)" \
	test "${total:-0}" -gt 1000 -a "${base_total:-0}" -gt 1000 -a "$lost" -ge 0
check "rekey under traffic loses at most 5 datagrams more than without ($lost vs $base_lost)" \
	test $(( lost - base_lost )) -le 5
check "new SA carried the traffic after the rekey" \
	bash -c "$(declare -f ctl ns_exec ns); NS_PREFIX=$NS_PREFIX TEST_DIR=$TEST_DIR BIN=$BIN;
		 ctl b sa query dst 198.51.100.2 spi 0x1100 | grep -qv '^bytes 0 '"
check "old SAs deleted" \
	bash -c "! $BIN/r2espctl -s $TEST_DIR/a.sock sa show | grep -q 'spi 0x0000100[01]'"
check "tunnel still answers after the rekey" \
	eval 'ns_exec a ping -c 2 -i 0.2 -W 2 -I 203.0.113.1 203.0.113.2 >/dev/null'

finish
