#!/usr/bin/env python3
"""first_packet.py - the timing half of bench/first_packet.sh (not a test).

  first_packet.py recv ADDR PORT
      Answers every datagram "SEQ T0_NS TRY" with "SEQ TRY LAT_US FIRST_TRY"
      where LAT_US = arrival of the first datagram of SEQ - T0_NS
      (CLOCK_MONOTONIC: the namespaces share the kernel's clock) and
      FIRST_TRY = which try arrived first.  Runs until killed.
  first_packet.py trigger SRC DST PORT
      Sends one datagram and prints its CLOCK_REALTIME send time in ms
      (for daemons whose data plane cannot deliver it: the time is matched
      with their log's timestamps).
  first_packet.py send SRC DST PORT SEQ RETRY_MS
      Sends the triggering datagram (try 0) at T0, then, while no answer
      came, one more every RETRY_MS (an application's retransmission);
      prints "LAT_US FIRST_TRY" (first delivery through the tunnel, and
      whether the triggering datagram itself was the one delivered: 0) or
      "timeout" after 10 s.
"""
import select
import socket
import sys
import time


def recv(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    seen = {}
    while True:
        data, peer = s.recvfrom(256)
        now = time.monotonic_ns()
        try:
            seq, t0, tr = (int(x) for x in data.split())
        except ValueError:
            continue
        if seq not in seen:
            seen[seq] = ((now - t0) // 1000, tr)
        lat, first = seen[seq]
        s.sendto(b"%d %d %d %d" % (seq, tr, lat, first), peer)


def send(src, dst, port, seq, retry_ms):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0))
    t0 = time.monotonic_ns()
    end = t0 + 10 * 10**9
    tr = 0
    nxt = t0
    while True:
        now = time.monotonic_ns()
        if now >= end:
            print("timeout")
            return 1
        if now >= nxt:
            s.sendto(b"%d %d %d" % (seq, t0, tr), (dst, port))
            tr += 1
            nxt = t0 + tr * retry_ms * 10**6
        r, _, _ = select.select([s], [], [], max(0.0, (min(nxt, end) - now) / 1e9))
        if r:
            data = s.recv(256)
            f = data.split()
            if len(f) == 4 and int(f[0]) == seq:
                print(int(f[2]), int(f[3]))
                return 0


def trigger(src, dst, port):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0))
    t = time.time_ns()
    try:
        s.sendto(b"0 0 0", (dst, port))
    except OSError:
        pass  # a dropping data plane may refuse it: the ACQUIRE is what counts
    print("%.3f" % (t / 1e6))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "recv" and len(a) == 3:
        recv(a[1], int(a[2]))
    elif a and a[0] == "trigger" and len(a) == 4:
        trigger(a[1], a[2], int(a[3]))
    elif a and a[0] == "send" and len(a) == 6:
        sys.exit(send(a[1], a[2], int(a[3]), int(a[4]), int(a[5])))
    else:
        sys.exit(__doc__)
