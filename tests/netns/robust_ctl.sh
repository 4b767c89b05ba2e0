#!/usr/bin/env bash
# robust_ctl.sh - control sockets under bad clients (robustness scenario 2).
#
# Hosts a and b (r2espd + spmd + iked, userspace data plane) with an
# established SA.  Against each of a's control sockets -- spmd's spmif
# (stream, line protocol), iked's ikedctl socket (stream, one request
# line per connection) and r2espd's (seqpacket, binary) -- the tool
# tests/netns/robust/r2fuzz.py sends: random bytes, an over-long request,
# half requests then close, many connections at once that stay idle, a
# client that sends requests and never reads its answers, and a client
# that trickles one byte at a time.  While each abusive client is still
# connected, a normal query (spmdctl status, ikedctl show sa, r2espctl
# stats) must answer within 1 s; afterwards the daemon is alive, still
# serves, and the SA and the tunnel are intact.
#
#   robust_ctl.sh [BUILD_DIR]
# PASS/FAIL lines; exit 1 on any failure; SKIP without root or binaries.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init robust_ctl "${1:-}"

rb_net || { fail "namespaces"; finish; }
rb_conf a
rb_conf b
if ! rb_start a || ! rb_start b; then
	fail "r2espd, spmd, iked start on a and b"
	finish
fi
check "IKE and CHILD SA established" rb_up || finish
SA0=$(rb_q a '[c["spi_in"] for c in kids]')

D=$(rb_dir a)
fz() { ns_exec a python3 "$RB_HERE/r2fuzz.py" ctl "$@"; }

# query DAEMON [SECONDS] : the normal client's request for that daemon,
# which must succeed within SECONDS (default 1).
query() {
	local t=${2:-1} n
	n=$(ns a)
	case $1 in
	spmd) timeout "$t" ip netns exec "$n" "$SPMDCTL" -s "$D/spmif" status ;;
	iked) timeout "$t" ip netns exec "$n" "$IKEDCTL" -s "$D/iked.sock" show sa ;;
	espd) timeout "$t" ip netns exec "$n" "$ESPCTL" -s "$D/r2espd.sock" stats ;;
	esac >/dev/null 2>&1
}
path_of() {
	case $1 in
	spmd) echo "$D/spmif" ;;
	iked) echo "$D/iked.sock" ;;
	espd) echo "$D/r2espd.sock" ;;
	esac
}
kind_of() { [ "$1" = espd ] && echo seqpacket || echo stream; }
# a request that is valid for that daemon (text for the line protocols;
# r2espd gets bytes that parse as a header)
req_of() {
	case $1 in
	spmd) printf 'STATUS\n' ;;
	iked) printf 'show sa\n' ;;
	espd) printf 'xxxxxxxxxxxxxxxx' ;;
	esac
}

# while_held NAME DAEMON MODE [ARGS] : start the abusive client, wait
# until its connections are up, then the normal query must answer in 1 s.
while_held() {
	local name=$1 dm=$2 mode=$3; shift 3
	local ready=$TEST_DIR/ready.$dm.$mode t0 t1
	rm -f "$ready"
	start_bg "ab-$dm-$mode" ip netns exec "$(ns a)" python3 "$RB_HERE/r2fuzz.py" ctl \
		--path "$(path_of "$dm")" --kind "$(kind_of "$dm")" --mode "$mode" \
		--ready "$ready" --request "$(req_of "$dm")" "$@"
	wait_for "[ -e '$ready' ]" 5
	sleep 0.2
	t0=$(date +%s%3N)
	if query "$dm" 1; then
		t1=$(date +%s%3N)
		pass "$name: $dm still answers a normal query within 1 s ($((t1 - t0)) ms)"
	else
		fail "$name: $dm did not answer a normal query within 1 s"
	fi
	stop_bg "ab-$dm-$mode" TERM 10
}

for dm in spmd iked espd; do
	P=$(path_of "$dm")
	K=$(kind_of "$dm")
	# random bytes, 30 connections
	to_file "$TEST_DIR/o.$dm.random" fz --path "$P" --kind "$K" --mode random -n 30
	check "$dm: random bytes on 30 connections: alive and answering" \
		eval "rb_alive a $dm && query $dm"
	log "$dm random: $(tail -1 "$TEST_DIR/o.$dm.random")"
	# an over-long request (1 MB for the stream sockets; the largest
	# datagram the socket takes for seqpacket)
	if [ "$K" = stream ]; then
		to_file "$TEST_DIR/o.$dm.long" fz --path "$P" --mode long --size 1048576
	else
		to_file "$TEST_DIR/o.$dm.long" fz --path "$P" --kind seqpacket --mode long --size 200000
	fi
	log "$dm long: $(tail -1 "$TEST_DIR/o.$dm.long")"
	check "$dm: over-long request: alive and answering" \
		eval "rb_alive a $dm && query $dm"
	if [ "$dm" != espd ]; then
		check "$dm: over-long request gets an error answer" \
			grep -q -E '"answer": "(1 |5[0-9][0-9] |220 [^"]*\\n5[0-9][0-9] )' "$TEST_DIR/o.$dm.long"
	fi
	# half requests, then close
	to_file "$TEST_DIR/o.$dm.half" fz --path "$P" --kind "$K" --mode half -n 50 \
		--request "$(req_of "$dm")"
	check "$dm: 50 half requests then close: alive and answering" \
		eval "rb_alive a $dm && query $dm"
	# many idle connections held open; a client that never reads; one
	# that trickles bytes
	while_held "20 idle connections" "$dm" many -n 20 --hold 4
	while_held "a client that never reads" "$dm" noread -n 1 --repeat 2000 --hold 4
	while_held "5 clients trickling one byte per 0.2 s" "$dm" trickle -n 5 --hold 4
	check "$dm: alive after the abuse" rb_alive a "$dm"
done

# more connections than the daemons accept: refused cleanly, then served
while_held "100 idle connections (spmd's limit is 64)" spmd many -n 100 --hold 3
check "spmd serves again after the connection flood" query spmd
while_held "100 idle connections (iked)" iked many -n 100 --hold 3
check "iked serves again after the connection flood" query iked

check "all daemons alive on a" eval "rb_alive a spmd && rb_alive a iked && rb_alive a espd"
check "iked still registered with spmd (status lists it)" \
	eval "rb_spm a status | grep -i -q ikev2"
check "the CHILD SA is unchanged" \
	eval "[ \"\$(rb_q a '[c[\"spi_in\"] for c in kids]')\" = '$SA0' ]"
check "spmd still lists its policies" eval "rb_spm a policy show | grep -q sel_out"
check "traffic passes the tunnel" rb_ping_ok
rb_finish
