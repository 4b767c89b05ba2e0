#!/usr/bin/env python3
# gen_corpus.py DIR - seed inputs for esprx_fuzz.c (see its header for the
# record format): valid packets for every SA (kind 5), replays, garbage
# ESP, TUN reads with and without the virtio-net header, for SAs and for
# a policy without SA (ACQUIRE, queue).
import os, struct, sys

def rec(kind, payload):
    return struct.pack(">BH", kind, len(payload)) + payload

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto=1, payload=b"\x08\x00\xf7\xff\x00\x01\x00\x01" + b"x" * 32):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64,
                    proto, 0, bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload

def ip6(src, dst, nh=58, payload=b"\x80\x00\x00\x00\x00\x01\x00\x01" + b"y" * 24):
    import ipaddress
    return struct.pack(">IHBB", 6 << 28, len(payload), nh, 64) + \
        ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload

def tcp4(src, dst, n, seq=1, flags=0x10):
    t = struct.pack(">HHIIBBHHH", 1234, 80, seq, 0, 5 << 4, flags, 65535, 0, 0) + b"z" * n
    return ip4(src, dst, 6, t)

vnet = bytes(10)
in4 = ip4("203.0.113.1", "203.0.113.129")
in6 = ip6("2001:db8:a::1", "2001:db8:b::1")
out4 = ip4("203.0.113.129", "203.0.113.1")
out6 = ip6("2001:db8:b::1", "2001:db8:a::1")
acq4 = ip4("203.0.113.129", "192.0.2.1")
disc6 = ip6("2001:db8:b::1", "2001:db8:c::1")

seeds = {}
def valid(idx, seq, inner):
    return rec(5, struct.pack(">BI", idx, seq) + inner)
seeds["valid-all"] = b"\1" + valid(0, 1, in4) + valid(1, 1, in4) + valid(2, 1, in4) + \
    valid(3, 1, in6) + valid(4, 1, in6) + rec(6, b"")
seeds["valid-replay"] = b"\0" + valid(0, 5, in4) + valid(0, 5, in4) + valid(0, 4, in4) + \
    valid(0, 200, in4) + valid(0, 5, in4)
seeds["valid-gro"] = b"\1" + b"".join(valid(0, i + 1, tcp4("203.0.113.1", "203.0.113.129", 1000, 1 + 1000 * i))
                                      for i in range(4)) + rec(6, b"")
seeds["valid-policy-mismatch"] = b"\1" + valid(0, 1, ip4("203.0.113.1", "192.0.2.9")) + \
    valid(3, 1, in4)
seeds["tun-out"] = b"\1" + rec(4, vnet + out4) + rec(4, vnet + out6) + rec(6, b"")
seeds["tun-out-nooff"] = b"\0" + rec(4, out4) + rec(4, out6) + rec(4, acq4) + rec(4, disc6)
seeds["tun-acquire"] = b"\1" + rec(4, vnet + acq4) * 6 + rec(7, b"\x05")
tso = struct.pack("<BBHHHH", 1, 1, 40, 500, 20, 16) + tcp4("203.0.113.129", "203.0.113.1", 3000)
seeds["tun-tso"] = b"\1" + rec(4, tso) + rec(6, b"")
esp_garbage = ip4("198.51.100.1", "198.51.100.2", 50, struct.pack(">II", 0x100, 1) + bytes(40))
seeds["esp-garbage"] = b"\0" + rec(0, esp_garbage) + \
    rec(0, ip4("198.51.100.1", "198.51.100.2", 50, struct.pack(">II", 0x999, 1) + bytes(40)))
udp = struct.pack(">HHHH", 4500, 4500, 56, 0) + struct.pack(">II", 0x101, 1) + bytes(40)
seeds["udp-garbage"] = b"\0" + rec(1, ip4("198.51.100.1", "198.51.100.2", 17, udp)) + \
    rec(1, ip4("198.51.100.1", "198.51.100.2", 17, struct.pack(">HHHH", 4500, 4500, 12, 0) + bytes(4)))
import ipaddress
a6 = ipaddress.IPv6Address("2001:db8:1::1").packed
b6 = ipaddress.IPv6Address("2001:db8:1::2").packed
seeds["esp6-garbage"] = b"\0" + rec(2, a6 + b6 + struct.pack(">II", 0x103, 1) + bytes(48)) + \
    rec(3, a6 + b6 + struct.pack(">HHHH", 4500, 4500, 56, 0) + struct.pack(">II", 0x104, 1) + bytes(40))
seeds["short"] = b"\0" + rec(0, b"\x45") + rec(2, bytes(10)) + rec(4, b"")

# AH (issue 16): kind 9 valid AH packets (0: IPv4 tunnel, reqid 6;
# 1: IPv6 tunnel, reqid 7; 2: the ESP+AH bundle, reqid 8), a replay, a
# packet for the wrong policy, garbage on the IPv4 AH socket (kind 0,
# protocol 51) and the IPv6 one (kind 8), TUN reads for the AH policies
def valid_ah(idx, seq, inner):
    return rec(9, struct.pack(">BI", idx, seq) + inner)
ah4 = ip4("198.51.100.129", "198.51.100.193")
ah6 = ip6("2001:db8:e::1", "2001:db8:f::1")
ahb = ip4("198.51.100.65", "198.51.100.97")
seeds["ah-valid"] = b"\1" + valid_ah(0, 1, ah4) + valid_ah(1, 1, ah6) + valid_ah(2, 1, ahb) + \
    valid_ah(0, 2, tcp4("198.51.100.129", "198.51.100.193", 1000)) + rec(6, b"")
seeds["ah-replay"] = b"\0" + valid_ah(0, 5, ah4) + valid_ah(0, 5, ah4) + valid_ah(2, 7, ahb) + \
    valid_ah(2, 7, ahb) + valid_ah(1, 3, ip4("198.51.100.129", "198.51.100.193"))
ah_hdr = struct.pack(">BBHII", 4, 4, 0, 0x300, 1) + bytes(16)
seeds["ah-garbage"] = b"\0" + rec(0, ip4("198.51.100.1", "198.51.100.2", 51, ah_hdr + bytes(20))) + \
    rec(0, ip4("198.51.100.1", "198.51.100.2", 51, struct.pack(">BBHII", 4, 200, 0, 0x300, 1))) + \
    rec(0, ip4("198.51.100.1", "198.51.100.2", 51, struct.pack(">BBHII", 4, 4, 0, 0x999, 1) + bytes(40))) + \
    rec(8, a6 + b6 + struct.pack(">BBHII", 4, 3, 0, 0x301, 1) + bytes(40)) + \
    rec(8, a6 + b6 + bytes(6))
seeds["ah-tun-out"] = b"\1" + rec(4, vnet + ip4("198.51.100.193", "198.51.100.129")) + \
    rec(4, vnet + ip6("2001:db8:f::1", "2001:db8:e::1")) + \
    rec(4, vnet + ip4("198.51.100.97", "198.51.100.65")) + rec(6, b"")

# IPComp (issue 16): kind 10 bundles - 0: ESP+IPComp IPv4 (reqid 10),
# 1: AH+IPComp IPv6 (reqid 11), 2: reqid 10's ESP around an IPComp header
# followed by raw bytes (bad DEFLATE, a decompression bomb, a truncated
# stream), 3: the IPComp SA no policy names; compressible and small or
# incompressible inner packets (sent without IPComp, RFC 3173 §2.2); TUN
# reads for the IPComp policies
import random, zlib
def valid_comp(idx, seq, inner):
    return rec(10, struct.pack(">BI", idx, seq) + inner)
def deflate(b):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()
rnd = random.Random(16)
big4 = ip4("198.51.100.33", "198.51.100.49", 17, struct.pack(">HHHH", 9, 9, 1208, 0) + b"A" * 1200)
small4 = ip4("198.51.100.33", "198.51.100.49")
noise4 = ip4("198.51.100.33", "198.51.100.49", 17, bytes(rnd.getrandbits(8) for _ in range(600)))
big6 = ip6("2001:db8:c0::1", "2001:db8:c1::1", 17, struct.pack(">HHHH", 9, 9, 1008, 0) + b"B" * 1000)
seeds["comp-valid"] = b"\1" + valid_comp(0, 1, big4) + valid_comp(0, 2, small4) + \
    valid_comp(0, 3, noise4) + valid_comp(1, 1, big6) + valid_comp(1, 2, ip6("2001:db8:c0::1", "2001:db8:c1::1")) + \
    valid_comp(0, 3, big4) + rec(6, b"")
seeds["comp-garbage"] = b"\0" + valid_comp(2, 1, deflate(big4)) + \
    valid_comp(2, 2, deflate(bytes(200000))) + valid_comp(2, 3, deflate(big4)[:-9]) + \
    valid_comp(2, 4, deflate(big4) + b"trailing") + valid_comp(2, 5, b"\xff" * 40) + \
    valid_comp(3, 6, big4) + valid_comp(0, 7, ip4("198.51.100.33", "198.51.100.50", 17, b"C" * 1000))
seeds["comp-tun-out"] = b"\1" + rec(4, vnet + ip4("198.51.100.49", "198.51.100.33", 17, b"D" * 1200)) + \
    rec(4, vnet + ip4("198.51.100.49", "198.51.100.33")) + \
    rec(4, vnet + ip6("2001:db8:c1::1", "2001:db8:c0::1", 17, b"E" * 1000)) + \
    rec(4, vnet + ip4("198.51.100.25", "198.51.100.17", 17, b"F" * 1000)) + rec(6, b"")
seeds["comp-tun-out-nooff"] = b"\0" + rec(4, ip4("198.51.100.49", "198.51.100.33", 17, b"D" * 1200)) + \
    rec(4, ip6("2001:db8:c1::1", "2001:db8:c0::1", 17, b"E" * 1000))

# IPv6 AH with extension headers in front (issue 16): kind 9 index 3
# (valid, hop-by-hop + destination options as ancillary data), kind 11
# raw: a consistent chain, a routing header with segments left 1 and 0,
# lengths that disagree with the header, a chain that misses AH
def ext_ah6(exts, ah):
    b = a6 + b6 + bytes([len(exts)])
    for t, h in exts:
        b += bytes([t, len(h)]) + h
    return rec(11, b + ah)
hbh = bytes([60, 0, 0x3e, 4, 1, 2, 3, 4])
dsto = bytes([43, 0, 0x1e, 4, 5, 6, 7, 8])
rth0 = bytes([51, 2, 0, 0, 0, 0, 0, 0]) + b6
rth1 = bytes([51, 2, 0, 1, 0, 0, 0, 0]) + b6
ah301 = struct.pack(">BBHII", 4, 4, 0, 0x301, 9) + bytes(12) + bytes(20)
seeds["ah6-ext"] = b"\1" + valid_ah(3, 1, ah6) + valid_ah(3, 2, ah6) + valid_ah(3, 2, ah6) + \
    ext_ah6([(0, hbh), (1, dsto), (2, rth0)], ah301) + ext_ah6([(0, hbh), (1, dsto), (2, rth1)], ah301) + \
    ext_ah6([(0, hbh[:6])], ah301) + ext_ah6([(0, bytes([51, 1]) + bytes(6))], ah301) + \
    ext_ah6([(1, bytes([17, 0]) + bytes(6))], ah301) + ext_ah6([(0, hbh), (0, hbh)], ah301) + rec(6, b"")

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
