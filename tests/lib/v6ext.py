#!/usr/bin/env python3
"""v6ext.py - IPv6 UDP datagrams with extension headers, for the AH
extension-header case of tests/netns/ah_userspace.sh (issue 16).

  v6ext.py send SRC DST PORT
      from SRC to DST:PORT (root: sticky options and raw sockets need
      CAP_NET_RAW), three datagrams of each kind, payload "v6ext KIND N":
        hbh    UDP socket with IPV6_HOPOPTS (RFC 3542 §9): option 0x3e
               (its change-en-route bit set, RFC 8200 §4.2) + 0x1e
        dst    UDP socket with IPV6_DSTOPTS: the same two options
        all    IPPROTO_RAW socket (the whole packet ours): hop-by-hop,
               destination options, a routing header type 0 with
               segments left 0 (RFC 8200 §4.4), UDP (checksum computed)
      and one "rthdr1" (routing header with segments left 1) that the
      sender's r2espd must refuse (RFC 4302 Appendix A.2).
  v6ext.py recv ADDR PORT N SECONDS
      counts datagrams whose payload starts with "v6ext " on [ADDR]:PORT
      until N arrived or SECONDS passed; prints "received K: KIND..." and
      exits 0 when K == N.
"""
import socket
import struct
import sys
import time

OPTS = bytes([0x3E, 4, 0xDE, 0xAD, 0xBE, 0xEF, 0x1E, 4, 1, 2, 3, 4])


def ext(nh, body):
    """An options header: next header, length, options padded to 8n."""
    b = bytes([nh, 0]) + body
    pad = -len(b) % 8
    if pad == 1:
        b += b"\0"
    elif pad:
        b += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([nh, len(b) // 8 - 1]) + b[2:]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp6(src, dst, sport, dport, payload):
    ln = 8 + len(payload)
    ph = src + dst + struct.pack("!IxxxB", ln, 17)
    u = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    c = csum(ph + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def raw_packet(src, dst, dport, payload, left):
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    u = udp6(s, d, 40000, dport, payload)
    # routing header type 0 (RFC 8200 §4.4; as at the destination: the
    # last address is the destination's) with one address
    rth = bytes([17, 2, 0, left, 0, 0, 0, 0]) + d
    hbh = ext(60, OPTS)
    dsto = ext(43, OPTS)
    body = hbh + dsto + rth + u
    hdr = struct.pack("!IHBB", 6 << 28, len(body), 0, 64) + s + d
    return hdr + body


def send(src, dst, port):
    port = int(port)
    for kind, opt in (("hbh", socket.IPV6_HOPOPTS), ("dst", socket.IPV6_DSTOPTS)):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setsockopt(socket.IPPROTO_IPV6, opt, ext(17, OPTS))
        for i in range(3):
            s.sendto(("v6ext %s %d" % (kind, i)).encode(), (dst, port))
            time.sleep(0.05)
        s.close()
    r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(3):
        r.sendto(raw_packet(src, dst, port, ("v6ext all %d" % i).encode(), 0), (dst, 0))
        time.sleep(0.05)
    r.sendto(raw_packet(src, dst, port, b"v6ext rthdr1 0", 1), (dst, 0))
    print("sent 9 datagrams with extension headers and 1 with segments left 1")
    return 0


def recv(addr, port, n, secs):
    n, end = int(n), time.time() + float(secs)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    got = []
    while len(got) < n and time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        if data.startswith(b"v6ext "):
            got.append(data.split()[1].decode())
    print("received %d: %s" % (len(got), " ".join(got)), flush=True)
    return 0 if len(got) == n else 1


def main(argv):
    if len(argv) == 5 and argv[1] == "send":
        return send(argv[2], argv[3], argv[4])
    if len(argv) == 6 and argv[1] == "recv":
        return recv(argv[2], argv[3], argv[4], argv[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
