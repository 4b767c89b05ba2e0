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
  first_packet.py trace A_PCAP B_PCAP
      Where the time goes (first_packet.sh -t): A_PCAP holds host a's
      outer link and TUN device, B_PCAP host b's TUN device.  For each
      triggering datagram (try 0 on a's TUN) the wire times of the next
      IKE_SA_INIT and IKE_AUTH request and response, the first ESP packet
      out of a, and the datagram's arrival on b's TUN (matched by its
      sequence number); prints each hop's p50 / p90 in ms.
"""
import subprocess
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


def tshark(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "frame.interface_name", "-e", "ip.src",
         "-e", "ip.proto", "-e", "udp.dstport", "-e", "isakmp.exchangetype",
         "-e", "isakmp.flag_r", "-e", "data.data"],
        capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        f = line.split("|")
        if len(f) == 8:
            yield float(f[0]), f[1], f[2], f[3], f[4], f[5], f[6], f[7]


def payload(hexdata):
    try:
        seq, _t0, tr = bytes.fromhex(hexdata.replace(":", "")).split()
        return int(seq), int(tr)
    except ValueError:
        return None, None


def trace(apath, bpath):
    trig = []  # (t, seq)
    events = []  # (t, kind)
    for t, ifn, src, proto, dport, exch, resp, data in tshark(apath):
        if ifn != "va":
            if dport == "5000":
                seq, tr = payload(data)
                if tr == 0:
                    trig.append((t, seq))
            continue
        if proto == "50" and src == "198.51.100.1":
            events.append((t, "esp"))
        elif exch in ("34", "35"):
            r = resp.lower() in ("1", "true")
            events.append((t, ("init" if exch == "34" else "auth") + ("_r" if r else "_q")))
    seen = {}
    for t, ifn, src, proto, dport, exch, resp, data in tshark(bpath):
        if dport == "5000":
            seq, _tr = payload(data)
            seen.setdefault(seq, t)
    hops = [("init_q", "trigger -> IKE_SA_INIT request (ACQUIRE, spmd, iked: DH key, message)"),
            ("init_r", "-> IKE_SA_INIT response (responder: DH key, message)"),
            ("auth_q", "-> IKE_AUTH request (initiator: DH, keys, AUTH, SPI)"),
            ("auth_r", "-> IKE_AUTH response (responder: AUTH, SAs installed)"),
            ("esp", "-> first ESP out of a (initiator: SAs installed, queue sent)"),
            ("dlv", "-> datagram out of b's TUN (decrypted)")]
    per = {k: [] for k, _ in hops}
    total, to_auth = [], []
    for i, (t0, seq) in enumerate(trig):
        tend = trig[i + 1][0] if i + 1 < len(trig) else float("inf")
        prev, times = t0, {}
        for k, _ in hops[:-1]:
            nxt = next((t for t, kind in events if kind == k and prev <= t < tend), None)
            if nxt is None:
                break
            times[k] = nxt
            prev = nxt
        if len(times) < len(hops) - 1 or seq not in seen:
            continue
        times["dlv"] = seen[seq]
        prev = t0
        for k, _ in hops:
            per[k].append((times[k] - prev) * 1e3)
            prev = times[k]
        total.append((times["dlv"] - t0) * 1e3)
        to_auth.append((times["auth_r"] - t0) * 1e3)

    def pct(v, q):
        v = sorted(v)
        return v[int((len(v) - 1) * q)] if v else float("nan")
    print("where the time goes (wire times; %d of %d tunnels traced completely):"
          % (len(total), len(trig)))
    row = "| %-70s | %7s | %7s | %7s |"
    print(row % ("hop", "p50 ms", "p90 ms", "max ms"))
    print("|%s|---------|---------|---------|" % ("-" * 72))
    for label, v in [(label, per[k]) for k, label in hops] + [
            ("trigger -> delivery (sum)", total),
            ("trigger -> IKE_AUTH response (what charon + XFRM's bound measures)", to_auth)]:
        print(row % (label, "%.2f" % pct(v, 0.5), "%.2f" % pct(v, 0.9), "%.2f" % pct(v, 1.0)))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "recv" and len(a) == 3:
        recv(a[1], int(a[2]))
    elif a and a[0] == "trigger" and len(a) == 4:
        trigger(a[1], a[2], int(a[3]))
    elif a and a[0] == "trace" and len(a) == 3:
        trace(a[1], a[2])
    elif a and a[0] == "send" and len(a) == 6:
        sys.exit(send(a[1], a[2], int(a[3]), int(a[4]), int(a[5])))
    else:
        sys.exit(__doc__)
