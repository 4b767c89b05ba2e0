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

rb_setup
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

# more connections than the daemons accept: spmd (64 slots) drops the
# longest idle client for each new one, iked refuses; both serve after
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

# ---- spmif idle limits (src/spm/spmif_server.c) ----
# iked dies, a local process then holds 64 idle connections: spmd's
# whole table.  spmdctl must still be answered and a new iked must get in
# and register (each takes the slot of the longest idle client).
# status_val KEY : that value of spmdctl status on a
status_val() { rb_spm a status 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
cat >"$TEST_DIR/flood.py" <<'EOF'
"""Hold N spmif connections, each accepted (banner read) before the
next; print how many are still open after HOLD seconds."""
import socket, sys, time
path, n, hold, ready = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
conns = []
while len(conns) < n:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.settimeout(2)
        if not s.recv(200).startswith(b"220"):
            raise OSError("no banner")
    except OSError:
        s.close()
        time.sleep(0.01)
        continue
    conns.append(s)
open(ready, "w").close()
time.sleep(hold)
alive = 0
for s in conns:
    s.setblocking(False)
    try:
        s.recv(200)  # "421 ..." or EOF: spmd dropped it
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("held", n, "still open", alive, flush=True)
EOF
IKED_ARGS=(-F -d -f "$D/racoon2.conf" --ctl-socket "$D/iked.sock" -K "$D/keys")
stop_bg iked-a TERM 5
if grep -q -E 'Sanitizer|runtime error:|Assertion' "$TEST_DIR/iked-a.log"; then
	fail "first iked on a: sanitizer report in its log"
fi
mv "$TEST_DIR/iked-a.log" "$TEST_DIR/iked-a.first.log"
rm -f "$TEST_DIR/ready.flood64"
start_bg ab-spmd-flood64 ip netns exec "$(ns a)" python3 "$TEST_DIR/flood.py" \
	"$D/spmif" 64 6 "$TEST_DIR/ready.flood64"
wait_for "[ -e '$TEST_DIR/ready.flood64' ]" 10
# the table is full: iked first, then spmdctl, each evict an idle client
RACOON2_ESPD_SOCKET=$D/r2espd.sock start_bg iked-a ip netns exec "$(ns a)" \
	"$IKED" "${IKED_ARGS[@]}"
check "a new iked registers with spmd while 64 idle connections fill its table" \
	wait_for "grep -q 'registered with spmd' '$TEST_DIR/iked-a.log'" 5
check "64 idle spmif connections + iked: spmdctl status answers within 1 s" \
	query spmd
check "spmd's table was full (64 clients) and it dropped idle ones for both" \
	eval "[ \"\$(status_val clients)\" = 64 ] && [ \"\$(status_val clients_evicted)\" -ge 2 ]"
check "spmd's status names the new iked as the IKEv2 daemon" \
	eval "[ \"\$(status_val kmp_ikev2)\" = pid:\$(bg_pid iked-a) ]"
wait_for "! bg_alive ab-spmd-flood64" 10
log "flood: $(cat "$TEST_DIR/ab-spmd-flood64.log")"
check "only idle flood connections were dropped to make room (a few, not all)" \
	eval "grep -q -E 'still open (5[0-9]|6[0-3])\$' '$TEST_DIR/ab-spmd-flood64.log'"
check "the new iked establishes IKE and CHILD SAs again" \
	wait_for "rb_ike a initiate peer >/dev/null 2>&1; rb_is a 'len(kids)' 1" 15
check "traffic passes the tunnel after the iked restart" \
	wait_for rb_ping_ok 10

# Idle timeout (10 s): a client that never sends a request and one that
# leaves a line unfinished are dropped with a 421 line; a MONITOR client
# and the registered iked, which legitimately wait, stay.
ns_exec a python3 - "$D/spmif" >"$TEST_DIR/o.spmd.idle" 2>&1 <<'EOF'
import json, socket, sys, time
path = sys.argv[1]
def conn(first=b""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if first:
        s.sendall(first)
    s.setblocking(False)
    return s
c = {"idle": conn(), "partial": conn(b"STAT"), "monitor": conn(b"MONITOR\n")}
got = {k: b"" for k in c}
eof = {}
t0 = time.time()
while time.time() - t0 < 14 and len(eof) < 2:
    for k, s in c.items():
        if k in eof:
            continue
        try:
            d = s.recv(4096)
            if not d:
                eof[k] = round(time.time() - t0, 1)
            got[k] += d
        except BlockingIOError:
            pass
        except OSError:
            eof[k] = round(time.time() - t0, 1)
    time.sleep(0.1)
print(json.dumps({k: {"eof": eof.get(k), "got": got[k].decode("latin-1")}
                  for k in c}))
EOF
idle_q() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	"$TEST_DIR/o.spmd.idle" "$1" 2>/dev/null; }
log "idle clients: $(cat "$TEST_DIR/o.spmd.idle")"
check "an spmif client without a request is dropped after ~10 s (421 idle timeout)" \
	eval "[ \"\$(idle_q 'd[\"idle\"][\"eof\"] is not None and 9 <= d[\"idle\"][\"eof\"] <= 13 and \"421 idle timeout\" in d[\"idle\"][\"got\"]')\" = True ]"
check "an unfinished request line is dropped after ~10 s (421)" \
	eval "[ \"\$(idle_q 'd[\"partial\"][\"eof\"] is not None and \"421 request not completed\" in d[\"partial\"][\"got\"]')\" = True ]"
check "a MONITOR client stays connected while idle" \
	eval "[ \"\$(idle_q 'd[\"monitor\"][\"eof\"] is None')\" = True ]"
check "the registered iked stays registered while idle between requests" \
	eval "[ \"\$(status_val kmp_ikev2)\" = pid:\$(bg_pid iked-a) ]"
rb_finish
