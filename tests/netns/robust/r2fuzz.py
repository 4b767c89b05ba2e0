#!/usr/bin/env python3
"""r2fuzz.py - bad-input generators for the robust_*.sh scenario scripts.

Python 3 standard library only (AES-CBC for the one encrypted IKE message
goes through the openssl command-line tool).  Every subcommand prints one
JSON object on stdout with what it sent and received, and exits 0 unless
its own expectation (documented per subcommand) failed.

Addresses are the caller's business: the scripts only pass addresses of
their own namespaces (198.51.100.0/24, 203.0.113.0/24).

  udp        random datagrams to one port (optionally behind the non-ESP
             marker) from many source ports
  ike-bad    a battery of malformed IKE messages (truncated headers, absurd
             lengths, bad payload chains, unknown SPIs, marker-only, NAT
             keepalives, wrong versions)
  ike-crit   IKE_SA_INIT with an unknown critical payload; expects the
             clear UNSUPPORTED_CRITICAL_PAYLOAD notify naming it (exit 1
             otherwise)
  init-flood IKE_SA_INIT requests from many source ports; counts the
             answers; with --cookie-check, retries one COOKIE answer with
             its cookie and expects a real IKE_SA_INIT response
  sk-crit    one protected INFORMATIONAL request holding an unknown
             critical payload, built with exported keys (iked -K)
  auth-fuzz  a minimal IKEv2 initiator (MODP-2048, AES-CBC, HMAC-SHA2-256,
             PSK) that completes IKE_SA_INIT and sends IKE_AUTH variants
             with broken IDs, AUTH, SA proposals, traffic selectors,
             notifies and CP; then, on a valid SA, malformed DELETEs,
             CREATE_CHILD_SA and INFORMATIONAL requests; exit 1 when the
             valid case or the final liveness check gets no answer
  sniff      record IPv4 packets seen on an interface (AF_PACKET) as hex
  replay     re-send recorded packets verbatim (raw socket, IP_HDRINCL)
  esp        random / truncated / unknown-SPI ESP (proto 50) and ESP-in-UDP
  ctl        abuse a UNIX control socket (stream or seqpacket)
"""
import argparse
import binascii
import hashlib
import hmac
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

PL_SA, PL_KE, PL_NONCE, PL_NOTIFY, PL_SK = 33, 34, 40, 41, 46
EXCH_INIT, EXCH_AUTH, EXCH_CHILD, EXCH_INFO = 34, 35, 36, 37
N_UNSUPPORTED_CRIT, N_INVALID_SYNTAX, N_NO_PROPOSAL = 1, 7, 14
N_INVALID_KE, N_COOKIE = 17, 16390
FLAG_I, FLAG_R = 0x08, 0x20


def out(obj, ok=True):
    print(json.dumps(obj, sort_keys=True))
    sys.exit(0 if ok else 1)


def ike_hdr(spi_i, spi_r, nxt, exch, flags, mid, length):
    return struct.pack("!QQBBBBII", spi_i, spi_r, nxt, 0x20, exch, flags,
                       mid, length)


def payloads(chain, crit_types=()):
    """chain: list of (type, body). Returns (first type, bytes)."""
    b = b""
    for i, (t, body) in enumerate(chain):
        nxt = chain[i + 1][0] if i + 1 < len(chain) else 0
        c = 0x80 if t in crit_types else 0
        b += struct.pack("!BBH", nxt, c, 4 + len(body)) + body
    return (chain[0][0] if chain else 0), b


def sa_body(dh=31):
    tr = [
        (1, 12, struct.pack("!HH", 0x800E, 128)),  # ENCR AES-CBC 128
        (2, 5, b""),                               # PRF HMAC-SHA2-256
        (3, 12, b""),                              # INTEG SHA2-256-128
        (4, dh, b""),                              # DH
    ]
    tb = b""
    for i, (t, tid, attr) in enumerate(tr):
        last = 0 if i == len(tr) - 1 else 3
        tb += struct.pack("!BBHBBH", last, 0, 8 + len(attr), t, 0, tid) + attr
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(tb), 1, 1, 0, len(tr)) + tb
    return prop


def init_msg(spi_i, extra_first=None, extra_last=None, crit_types=(),
             dh=31, cookie=None, ke_len=32, nonce=None, ke_group=None):
    chain = []
    if cookie is not None:
        chain.append((PL_NOTIFY, struct.pack("!BBH", 0, 0, N_COOKIE) + cookie))
    if extra_first:
        chain.append(extra_first)
    chain.append((PL_SA, sa_body(dh)))
    chain.append((PL_KE, struct.pack("!HH", ke_group or dh, 0) + os.urandom(ke_len)))
    chain.append((PL_NONCE, nonce if nonce is not None else os.urandom(32)))
    if extra_last:
        chain.append(extra_last)
    first, body = payloads(chain, crit_types)
    return ike_hdr(spi_i, 0, first, EXCH_INIT, FLAG_I, 0, 28 + len(body)) + body


def parse_ike(pkt):
    """-> dict(hdr..., payloads=[(type, crit, body)]) or None."""
    if len(pkt) < 28:
        return None
    spi_i, spi_r, nxt, ver, exch, flags, mid, length = struct.unpack(
        "!QQBBBBII", pkt[:28])
    pls, off = [], 28
    while nxt and off + 4 <= len(pkt):
        n2, c, plen = struct.unpack("!BBH", pkt[off:off + 4])
        if plen < 4 or off + plen > len(pkt):
            break
        pls.append((nxt, c, pkt[off + 4:off + plen]))
        if nxt == PL_SK:
            break
        nxt, off = n2, off + plen
    return dict(spi_i=spi_i, spi_r=spi_r, exch=exch, flags=flags, mid=mid,
                length=length, payloads=pls)


def notifies(m):
    res = []
    for t, _c, body in m["payloads"]:
        if t == PL_NOTIFY and len(body) >= 4:
            _p, spisz, nt = struct.unpack("!BBH", body[:4])
            res.append((nt, body[4 + spisz:]))
    return res


def udp_sock(dst, port=0, bind_addr=""):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((bind_addr, port))
    s.setblocking(False)
    return s


def collect(socks, secs):
    """Gather datagrams arriving on socks for secs seconds."""
    got = []
    end = time.time() + secs
    while True:
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            try:
                while True:
                    d, a = s.recvfrom(65535)
                    got.append((s, d, a))
            except (BlockingIOError, ConnectionRefusedError):
                pass
    return got


def strip_marker(d, natt):
    if natt:
        if len(d) >= 4 and d[:4] == b"\0\0\0\0":
            return d[4:]
        return None
    return d


# ---------------------------------------------------------------- udp
def cmd_udp(a):
    rnd = random.Random(a.seed)
    socks = [udp_sock(a.dst) for _ in range(a.ports)]
    sent = 0
    for i in range(a.count):
        n = rnd.randint(a.min, a.max)
        d = bytes(rnd.getrandbits(8) for _ in range(n))
        if a.marker:
            d = b"\0\0\0\0" + d
        try:
            socks[i % len(socks)].sendto(d, (a.dst, a.port))
            sent += 1
        except OSError:
            pass
        if a.rate and i % a.rate == a.rate - 1:
            time.sleep(0.01)
    got = collect(socks, 0.3)
    out(dict(sent=sent, answers=len(got)))


# ---------------------------------------------------------------- ike-bad
def bad_messages(rnd, known_spi_i=0, known_spi_r=0):
    """(name, bytes) pairs of malformed or unexpected IKE messages."""
    good = init_msg(rnd.getrandbits(64) | 1)
    msgs = []
    for n in (1, 4, 8, 16, 20, 27):
        msgs.append(("trunc-hdr-%d" % n, good[:n]))
    spi = rnd.getrandbits(64) | 1
    for ln in (0, 1, 27, 29, 1000, 65535, 0x7FFFFFFF, 0xFFFFFFFF):
        msgs.append(("hdr-len-%d" % ln,
                     ike_hdr(spi, 0, PL_NONCE, EXCH_INIT, FLAG_I, 0, ln) +
                     struct.pack("!BBH", 0, 0, 36) + os.urandom(32)))
    # datagram longer than the header's length / shorter
    msgs.append(("len-short-of-dgram", good[:-10]))
    msgs.append(("len-trailing-junk", good + b"JUNKJUNK"))
    # payload lengths: 0, 1, 3, past the end, 65535
    for pl in (0, 1, 3, 5000, 65535):
        body = struct.pack("!BBH", 0, 0, pl) + os.urandom(32)
        msgs.append(("pl-len-%d" % pl,
                     ike_hdr(spi, 0, PL_NONCE, EXCH_INIT, FLAG_I, 0,
                             28 + len(body)) + body))
    # a long chain of empty payloads, a chain looping through VIDs
    body = b"".join(struct.pack("!BBH", 43, 0, 4) for _ in range(2000))
    body = body[:-4] + struct.pack("!BBH", 0, 0, 4)
    msgs.append(("vid-chain-2000", ike_hdr(spi, 0, 43, EXCH_INIT, FLAG_I, 0,
                                           28 + len(body)) + body))
    # SA payload internals
    for name, sab in (("sa-empty", b""),
                      ("sa-prop-len0", struct.pack("!BBHBBBB", 0, 0, 0, 1, 1, 0, 1)),
                      ("sa-prop-len-big", struct.pack("!BBHBBBB", 0, 0, 4000, 1, 1, 0, 1)),
                      ("sa-255-transforms", struct.pack("!BBHBBBB", 0, 0, 8, 1, 1, 0, 255)),
                      ("sa-spisize-255", struct.pack("!BBHBBBB", 0, 0, 8, 1, 1, 255, 0)),
                      ("sa-attr-loop", struct.pack("!BBHBBBB", 0, 0, 20, 1, 1, 0, 1) +
                       struct.pack("!BBHBBH", 0, 0, 12, 1, 0, 12) +
                       struct.pack("!HH", 0x000E, 0xFFFF))):
        first, b = payloads([(PL_SA, sab),
                             (PL_KE, struct.pack("!HH", 31, 0) + os.urandom(32)),
                             (PL_NONCE, os.urandom(32))])
        msgs.append((name, ike_hdr(rnd.getrandbits(64) | 1, 0, first, EXCH_INIT,
                                   FLAG_I, 0, 28 + len(b)) + b))
    # KE with absurd sizes, nonce too short / too long, group 0 / 65535
    for name, ke, nonce in (("ke-empty", struct.pack("!HH", 31, 0), os.urandom(32)),
                            ("ke-huge", struct.pack("!HH", 31, 0) + os.urandom(3000), os.urandom(32)),
                            ("ke-group0", struct.pack("!HH", 0, 0) + os.urandom(32), os.urandom(32)),
                            ("ke-group65535", struct.pack("!HH", 65535, 0) + os.urandom(32), os.urandom(32)),
                            ("nonce-short", struct.pack("!HH", 31, 0) + os.urandom(32), b"x"),
                            ("nonce-huge", struct.pack("!HH", 31, 0) + os.urandom(32), os.urandom(1000))):
        first, b = payloads([(PL_SA, sa_body()), (PL_KE, ke), (PL_NONCE, nonce)])
        msgs.append((name, ike_hdr(rnd.getrandbits(64) | 1, 0, first, EXCH_INIT,
                                   FLAG_I, 0, 28 + len(b)) + b))
    # notify with absurd SPI size, a zero-length cookie, a 5000-byte one
    for name, nb in (("notify-spisize", struct.pack("!BBH", 1, 200, 16390)),
                     ("cookie-empty", struct.pack("!BBH", 0, 0, N_COOKIE)),
                     ("cookie-long", struct.pack("!BBH", 0, 0, N_COOKIE) + os.urandom(5000))):
        msgs.append((name, init_msg(rnd.getrandbits(64) | 1,
                                    extra_first=(PL_NOTIFY, nb))))
    # wrong version numbers, exchange types, flags
    for name, ver in (("ver-1.0", 0x10), ("ver-3.0", 0x30), ("ver-2.15", 0x2F)):
        m = bytearray(init_msg(rnd.getrandbits(64) | 1))
        m[17] = ver
        msgs.append((name, bytes(m)))
    for exch in (0, 33, 38, 255):
        m = bytearray(init_msg(rnd.getrandbits(64) | 1))
        m[18] = exch
        msgs.append(("exch-%d" % exch, bytes(m)))
    m = bytearray(init_msg(rnd.getrandbits(64) | 1))
    m[19] = 0xFF
    msgs.append(("flags-all", bytes(m)))
    m = bytearray(init_msg(0))
    msgs.append(("spi-i-zero", bytes(m)))
    m = bytearray(init_msg(rnd.getrandbits(64) | 1))
    m[20:24] = struct.pack("!I", 7)
    msgs.append(("init-mid-7", bytes(m)))
    # unknown SPIs: protected exchanges with an SK payload of junk
    for exch in (EXCH_AUTH, EXCH_CHILD, EXCH_INFO):
        for flags in (FLAG_I, 0, FLAG_R, FLAG_I | FLAG_R):
            sk = os.urandom(64)
            body = struct.pack("!BBH", 41, 0, 4 + len(sk)) + sk
            msgs.append(("unknown-spi-%d-%x" % (exch, flags),
                         ike_hdr(rnd.getrandbits(64) | 1, rnd.getrandbits(64) | 1,
                                 PL_SK, exch, flags, rnd.randint(0, 5),
                                 28 + len(body)) + body))
    # the established SA's SPIs with junk: must fail the ICV, nothing more
    if known_spi_i:
        for mid in (0, 1, 2, 3, 100, 0xFFFFFFFF):
            for flags in (FLAG_I, 0, FLAG_R, FLAG_I | FLAG_R):
                for sklen in (0, 15, 16, 31, 48, 200):
                    sk = os.urandom(sklen)
                    body = struct.pack("!BBH", 41, 0, 4 + len(sk)) + sk
                    msgs.append(("known-spi-mid%d-f%x-sk%d" % (mid, flags, sklen),
                                 ike_hdr(known_spi_i, known_spi_r, PL_SK, EXCH_INFO,
                                         flags, mid, 28 + len(body)) + body))
        m = init_msg(known_spi_i)
        msgs.append(("init-known-spi", m))
    return msgs


def cmd_ike_bad(a):
    rnd = random.Random(a.seed)
    spi_i = int(a.spi_i, 16) if a.spi_i else 0
    spi_r = int(a.spi_r, 16) if a.spi_r else 0
    msgs = bad_messages(rnd, spi_i, spi_r)
    s = udp_sock(a.dst)
    sent = 0
    for _rep in range(a.repeat):
        for _name, m in msgs:
            d = (b"\0\0\0\0" + m) if a.natt else m
            try:
                s.sendto(d, (a.dst, a.port))
                sent += 1
            except OSError:
                pass
        time.sleep(0.02)
    # marker-only, keepalive, marker+short, on the NAT-T port
    if a.natt:
        for d in (b"\0\0\0\0", b"\xff", b"\0\0\0", b"\0\0\0\0\0", b"\xff\xff"):
            s.sendto(d, (a.dst, a.port))
            sent += 1
    got = collect([s], 0.5)
    kinds = {}
    for _s, d, _a in got:
        m = parse_ike(strip_marker(d, a.natt) or b"")
        k = "unparsed"
        if m:
            ns = notifies(m)
            k = "N(%d)" % ns[0][0] if ns else "exch%d" % m["exch"]
        kinds[k] = kinds.get(k, 0) + 1
    out(dict(kinds=len(msgs), sent=sent, answers=len(got), answer_types=kinds))


# ---------------------------------------------------------------- ike-crit
def cmd_ike_crit(a):
    s = udp_sock(a.dst)
    spi = random.getrandbits(64) | 1
    m = init_msg(spi, extra_last=(a.ptype, b"critical-junk"),
                 crit_types=() if a.noncrit else (a.ptype,))
    d = (b"\0\0\0\0" + m) if a.natt else m
    s.sendto(d, (a.dst, a.port))
    got = collect([s], 1.0)
    res = dict(sent=1, answers=len(got))
    ok = False
    for _s, d, _a in got:
        mm = parse_ike(strip_marker(d, a.natt) or b"")
        if not mm:
            continue
        res["notifies"] = [(n, binascii.hexlify(v).decode()) for n, v in notifies(mm)]
        res["spi_i_echoed"] = mm["spi_i"] == spi
        res["spi_r"] = mm["spi_r"]
        for n, v in notifies(mm):
            if n == N_UNSUPPORTED_CRIT and v == bytes([a.ptype]) and \
               mm["spi_i"] == spi and mm["flags"] & FLAG_R:
                ok = True
    if a.noncrit:
        # §2.5: a non-critical unknown payload is skipped: any answer
        # but UNSUPPORTED_CRITICAL_PAYLOAD.
        ok = len(got) > 0 and "notifies" in res and \
            all(n != N_UNSUPPORTED_CRIT for n, _v in res["notifies"])
    res["ok"] = ok
    out(res, ok)


# ---------------------------------------------------------------- init-flood
def cmd_init_flood(a):
    socks = [udp_sock(a.dst) for _ in range(a.ports)]
    spis = {}
    sent = 0
    t0 = time.time()
    for i in range(a.count):
        s = socks[i % len(socks)]
        spi = random.getrandbits(64) | 1
        nonce = os.urandom(32)
        m = init_msg(spi, nonce=nonce, dh=a.dh, ke_group=a.ke_group)
        spis[spi] = (s, nonce)
        try:
            s.sendto((b"\0\0\0\0" + m) if a.natt else m, (a.dst, a.port))
            sent += 1
        except OSError:
            pass
        if a.rate and i % a.rate == a.rate - 1:
            time.sleep(0.01)
    got = collect(socks, 1.0)
    kinds = {"cookie": 0, "sa_init": 0, "other": 0}
    cookie_one = None
    for s, d, _addr in got:
        m = parse_ike(strip_marker(d, a.natt) or b"")
        if not m:
            kinds["other"] += 1
            continue
        ns = dict(notifies(m))
        if N_COOKIE in ns:
            kinds["cookie"] += 1
            if cookie_one is None and m["spi_i"] in spis:
                cookie_one = (m["spi_i"], ns[N_COOKIE])
        elif any(t == PL_SA for t, _c, _b in m["payloads"]):
            kinds["sa_init"] += 1
        else:
            kinds["other"] += 1
    res = dict(sent=sent, answers=len(got), secs=round(time.time() - t0, 2),
               **kinds)
    ok = True
    if a.cookie_check:
        ok = False
        if cookie_one:
            spi, ck = cookie_one
            s, nonce = spis[spi]
            m = init_msg(spi, cookie=ck, nonce=nonce)
            s.sendto((b"\0\0\0\0" + m) if a.natt else m, (a.dst, a.port))
            for _s, d, _addr in collect([s], 1.0):
                mm = parse_ike(strip_marker(d, a.natt) or b"")
                if mm and mm["spi_i"] == spi and mm["spi_r"] and \
                   any(t == PL_SA for t, _c, _b in mm["payloads"]):
                    ok = True
        res["cookie_retry_answered"] = ok
    out(res, ok)


# ---------------------------------------------------------------- sk-crit
def aes_cbc(key, iv, data):
    p = subprocess.run(["openssl", "enc", "-aes-%d-cbc" % (len(key) * 8),
                        "-K", key.hex(), "-iv", iv.hex(), "-nopad"],
                       input=data, stdout=subprocess.PIPE, check=True)
    return p.stdout


def cmd_sk_crit(a):
    """Keys line: SPIi,SPIr,SK_ei,SK_er,"encr",SK_ai,SK_ar,"integ".  The
    message is sent as the peer of the exporting side: as responder when
    --sender responder (uses SK_er/SK_ar), else as initiator."""
    with open(a.keys) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    if a.spi_i:
        lines = [l for l in lines if l.split(",")[0].lower().endswith(a.spi_i.lower())]
    fld = [x.strip('"') for x in lines[-1].split(",")]
    spi_i, spi_r = int(fld[0], 16), int(fld[1], 16)
    ek = bytes.fromhex(fld[3] if a.sender == "responder" else fld[2])
    ak = bytes.fromhex(fld[6] if a.sender == "responder" else fld[5])
    # inner payloads: one unknown critical payload
    inner_first, inner = payloads([(a.ptype, b"crit-inside-sk")],
                                  crit_types=(a.ptype,))
    padlen = (16 - (len(inner) + 1) % 16) % 16
    plain = inner + b"\0" * padlen + bytes([padlen])
    iv = os.urandom(16)
    ct = aes_cbc(ek, iv, plain)
    sk_len = 4 + 16 + len(ct) + 16
    flags = FLAG_I if a.sender == "initiator" else 0
    hdr = ike_hdr(spi_i, spi_r, PL_SK, EXCH_INFO, flags, a.mid, 28 + sk_len)
    msg = hdr + struct.pack("!BBH", inner_first, 0, sk_len) + iv + ct
    icv = hmac.new(ak, msg, hashlib.sha256).digest()[:16]
    msg += icv
    s = udp_sock(a.dst)
    s.sendto(msg, (a.dst, a.port))
    out(dict(sent=1, mid=a.mid, spi_i="%016x" % spi_i))


# ---------------------------------------------------------------- auth-fuzz
MODP2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
PL_IDI, PL_IDR, PL_AUTH, PL_TSI, PL_TSR, PL_DEL, PL_CP = 35, 36, 39, 44, 45, 42, 47


def prf(k, d):
    return hmac.new(k, d, hashlib.sha256).digest()


def prf_plus(k, s, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(k, t + s + bytes([i]))
        out += t
        i += 1
    return out[:n]


def aes_cbc_dec(key, iv, data):
    p = subprocess.run(["openssl", "enc", "-d", "-aes-%d-cbc" % (len(key) * 8),
                        "-K", key.hex(), "-iv", iv.hex(), "-nopad"],
                       input=data, stdout=subprocess.PIPE, check=True)
    return p.stdout


def child_sa_body(spi=None, proto=3, spisize=4, transforms=None, pnum=1):
    if transforms is None:
        transforms = [(1, 12, struct.pack("!HH", 0x800E, 128)), (3, 12, b""),
                      (5, 0, b"")]
    if spi is None:
        spi = os.urandom(spisize)
    tb = b""
    for i, (t, tid, attr) in enumerate(transforms):
        last = 0 if i == len(transforms) - 1 else 3
        tb += struct.pack("!BBHBBH", last, 0, 8 + len(attr), t, 0, tid) + attr
    return struct.pack("!BBHBBBB", 0, 0, 8 + len(spi) + len(tb), pnum, proto,
                       len(spi), len(transforms)) + spi + tb


def ts_body(sels):
    """sels: (type, proto, sport, eport, start, end) with addresses as
    bytes, or raw bytes for a broken selector."""
    b = b""
    for x in sels:
        if isinstance(x, bytes):
            b += x
            continue
        t, pr, sp, ep, st, en = x
        b += struct.pack("!BBHHH", t, pr, 8 + len(st) + len(en), sp, ep) + st + en
    return struct.pack("!BBH", len(sels), 0, 0) + b


def v4(a):
    return socket.inet_aton(a)


TSI_OK = [(7, 0, 0, 65535, v4("203.0.113.96"), v4("203.0.113.111"))]
TSR_OK = [(7, 0, 0, 65535, v4("203.0.113.64"), v4("203.0.113.79"))]


class Ike:
    """A minimal IKEv2 initiator: MODP-2048, AES-CBC-128, HMAC-SHA2-256,
    PSK.  Enough to reach iked's authenticated code paths."""

    def __init__(self, dst, port, psk, idi, sock=None):
        self.dst, self.port, self.psk, self.idi = dst, port, psk, idi
        self.s = sock or udp_sock(dst)
        self.mid = 0
        self.spi_i = random.getrandbits(64) | 1
        self.spi_r = 0

    def xchg(self, msg, secs=0.7):
        """Send (once more after secs without answer); the first response
        for this SA, or (None, None)."""
        for _ in range(2):
            self.s.sendto(msg, (self.dst, self.port))
            end = time.time() + secs
            while time.time() < end:
                r, _, _ = select.select([self.s], [], [], end - time.time())
                if not r:
                    continue
                try:
                    d, _a = self.s.recvfrom(65535)
                except OSError:
                    continue
                m = parse_ike(d)
                if m and m["spi_i"] == self.spi_i and m["flags"] & FLAG_R:
                    return d, m
        return None, None

    def init(self):
        self.x = random.getrandbits(2040) | 1
        gx = pow(2, self.x, MODP2048).to_bytes(256, "big")
        self.ni = os.urandom(32)
        cookie = None
        for _ in range(3):
            chain = []
            if cookie:
                chain.append((PL_NOTIFY, struct.pack("!BBH", 0, 0, N_COOKIE) + cookie))
            chain += [(PL_SA, sa_body(14)), (PL_KE, struct.pack("!HH", 14, 0) + gx),
                      (PL_NONCE, self.ni)]
            first, body = payloads(chain)
            msg = ike_hdr(self.spi_i, 0, first, EXCH_INIT, FLAG_I, 0, 28 + len(body)) + body
            raw, m = self.xchg(msg)
            if not m:
                return "no answer"
            ns = dict(notifies(m))
            if N_COOKIE in ns:
                cookie = ns[N_COOKIE]
                continue
            break
        if not any(t == PL_KE for t, _c, _b in m["payloads"]):
            return "answer %s" % list(ns)
        self.init_req, self.init_resp = msg, raw
        self.spi_r = m["spi_r"]
        for t, _c, b in m["payloads"]:
            if t == PL_KE:
                gy = int.from_bytes(b[4:], "big")
            if t == PL_NONCE:
                self.nr = b
        gir = pow(gy, self.x, MODP2048).to_bytes(256, "big")
        skeyseed = prf(self.ni + self.nr, gir)
        ks = prf_plus(skeyseed, self.ni + self.nr +
                      struct.pack("!QQ", self.spi_i, self.spi_r), 32 * 5 + 16 * 2)
        (self.sk_d, self.sk_ai, self.sk_ar) = ks[0:32], ks[32:64], ks[64:96]
        self.sk_ei, self.sk_er = ks[96:112], ks[112:128]
        self.sk_pi, self.sk_pr = ks[128:160], ks[160:192]
        self.mid = 1
        return None

    def auth_data(self, idbody):
        maced = prf(self.sk_pi, idbody)
        key = prf(self.psk, b"Key Pad for IKEv2")
        return prf(key, self.init_req + self.nr + maced)

    def protect(self, exch, chain, crit=(), mid=None, flags=FLAG_I, raw_inner=None,
                first=None):
        if raw_inner is not None:
            ifirst, inner = first, raw_inner
        else:
            ifirst, inner = payloads(chain, crit)
        padlen = (16 - (len(inner) + 1) % 16) % 16
        iv = os.urandom(16)
        ct = aes_cbc(self.sk_ei, iv, inner + b"\0" * padlen + bytes([padlen]))
        sk_len = 4 + 16 + len(ct) + 16
        hdr = ike_hdr(self.spi_i, self.spi_r, PL_SK, exch, flags,
                      self.mid if mid is None else mid, 28 + sk_len)
        msg = hdr + struct.pack("!BBH", ifirst, 0, sk_len) + iv + ct
        return msg + hmac.new(self.sk_ai, msg, hashlib.sha256).digest()[:16]

    def open(self, raw, m):
        """Decrypt a response -> list of (type, crit, body), or None."""
        off = 28
        if not m["payloads"] or m["payloads"][-1][0] != PL_SK:
            return None
        # locate the SK payload: the last one parse_ike saw
        while off + 4 <= len(raw):
            nxt_here = raw[off:off + 4]
            plen = struct.unpack("!H", nxt_here[2:4])[0]
            if off + plen == len(raw):
                break
            off += plen
        # the generic header of SK holds the first inner type
        sk = raw[off:]
        if hmac.new(self.sk_ar, raw[:-16], hashlib.sha256).digest()[:16] != raw[-16:]:
            return None
        ifirst = sk[0]
        iv, ct = sk[4:20], sk[20:-16]
        pt = aes_cbc_dec(self.sk_er, iv, ct)
        pt = pt[:len(pt) - 1 - pt[-1]]
        res, nxt, o = [], ifirst, 0
        while nxt and o + 4 <= len(pt):
            n2, c, plen = struct.unpack("!BBH", pt[o:o + 4])
            if plen < 4:
                break
            res.append((nxt, c, pt[o + 4:o + plen]))
            nxt, o = n2, o + plen
        return res

    def request(self, exch, chain=None, crit=(), mid=None, **kw):
        msg = self.protect(exch, chain or [], crit, mid, **kw)
        raw, m = self.xchg(msg)
        if not m:
            return None
        pls = self.open(raw, m)
        # our next message ID follows the answered one (§2.3); an
        # unprotected answer (to a message taken for an IKE_SA_INIT)
        # does not consume it
        if pls is not None and m["mid"] == self.mid:
            self.mid += 1
        return pls


def summary(pls):
    if pls is None:
        return "no answer"
    out_ = []
    for t, _c, b in pls:
        if t == PL_NOTIFY and len(b) >= 4:
            out_.append("N(%d)" % struct.unpack("!H", b[2:4])[0])
        else:
            out_.append(str(t))
    return " ".join(out_) or "empty"


def auth_cases():
    """(name, builder(ike) -> (chain, crit)) for IKE_AUTH variants."""
    idb = struct.pack("!BBH", 2, 0, 0) + b"fuzz.example"

    def std(ike, sa=None, tsi=None, tsr=None, extra=(), idbody=idb, auth=None,
            method=2, drop=()):
        a = auth if auth is not None else ike.auth_data(idbody)
        chain = [(PL_IDI, idbody), (PL_AUTH, struct.pack("!BBH", method, 0, 0) + a),
                 (PL_SA, sa if sa is not None else child_sa_body()),
                 (PL_TSI, tsi if tsi is not None else ts_body(TSI_OK)),
                 (PL_TSR, tsr if tsr is not None else ts_body(TSR_OK))]
        chain = [c for c in chain if c[0] not in drop] + list(extra)
        return chain
    big = v4("255.255.255.255")
    z = v4("0.0.0.0")
    cases = [
        ("valid", lambda k: std(k)),
        ("wrong-auth", lambda k: std(k, auth=os.urandom(32))),
        ("auth-empty", lambda k: std(k, auth=b"")),
        ("auth-method-0", lambda k: std(k, method=0)),
        ("auth-method-255", lambda k: std(k, method=255)),
        ("auth-huge", lambda k: std(k, auth=os.urandom(3000))),
        ("id-type-0", lambda k: std(k, idbody=struct.pack("!BBH", 0, 0, 0) + b"x")),
        ("id-type-255", lambda k: std(k, idbody=struct.pack("!BBH", 255, 0, 0) + b"x")),
        ("id-empty", lambda k: std(k, idbody=b"")),
        ("id-ipv4-short", lambda k: std(k, idbody=struct.pack("!BBH", 1, 0, 0) + b"\x01")),
        ("id-ipv6-short", lambda k: std(k, idbody=struct.pack("!BBH", 5, 0, 0) + b"\x01" * 5)),
        ("id-fqdn-nul", lambda k: std(k, idbody=struct.pack("!BBH", 2, 0, 0) + b"fuzz\0.example")),
        ("id-fqdn-3000", lambda k: std(k, idbody=struct.pack("!BBH", 2, 0, 0) + b"a" * 3000)),
        ("id-der-junk", lambda k: std(k, idbody=struct.pack("!BBH", 9, 0, 0) + os.urandom(50))),
        ("no-sa", lambda k: std(k, drop=(PL_SA,))),
        ("no-tsi", lambda k: std(k, drop=(PL_TSI,))),
        ("no-ts", lambda k: std(k, drop=(PL_TSI, PL_TSR))),
        ("no-auth", lambda k: std(k, drop=(PL_AUTH,))),
        ("no-idi", lambda k: std(k, drop=(PL_IDI,))),
        ("dup-auth", lambda k: std(k, extra=[(PL_AUTH, struct.pack("!BBH", 2, 0, 0) + b"x")])),
        ("dup-sa", lambda k: std(k, extra=[(PL_SA, child_sa_body())])),
        ("sa-empty", lambda k: std(k, sa=b"")),
        ("sa-spisize0", lambda k: std(k, sa=child_sa_body(spisize=0))),
        ("sa-spisize8", lambda k: std(k, sa=child_sa_body(spisize=8))),
        ("sa-spi-zero", lambda k: std(k, sa=child_sa_body(spi=b"\0\0\0\0"))),
        ("sa-proto-ah", lambda k: std(k, sa=child_sa_body(proto=2, transforms=[(3, 12, b""), (5, 0, b"")]))),
        ("sa-proto-ike", lambda k: std(k, sa=child_sa_body(proto=1, spisize=0))),
        ("sa-proto-0", lambda k: std(k, sa=child_sa_body(proto=0))),
        ("sa-no-transforms", lambda k: std(k, sa=child_sa_body(transforms=[]))),
        ("sa-keylen-7", lambda k: std(k, sa=child_sa_body(transforms=[(1, 12, struct.pack("!HH", 0x800E, 7)), (3, 12, b"")]))),
        ("sa-keylen-65535", lambda k: std(k, sa=child_sa_body(transforms=[(1, 12, struct.pack("!HH", 0x800E, 65535)), (3, 12, b"")]))),
        ("sa-type-200", lambda k: std(k, sa=child_sa_body(transforms=[(200, 1, b""), (1, 12, struct.pack("!HH", 0x800E, 128)), (3, 12, b"")]))),
        ("sa-aead-plus-integ", lambda k: std(k, sa=child_sa_body(transforms=[(1, 20, struct.pack("!HH", 0x800E, 128)), (3, 12, b"")]))),
        ("sa-dh-in-child", lambda k: std(k, sa=child_sa_body(transforms=[(1, 12, struct.pack("!HH", 0x800E, 128)), (3, 12, b""), (4, 14, b"")]))),
        ("sa-esn-only", lambda k: std(k, sa=child_sa_body(transforms=[(1, 12, struct.pack("!HH", 0x800E, 128)), (3, 12, b""), (5, 1, b"")]))),
        ("sa-pnum-0", lambda k: std(k, sa=child_sa_body(pnum=0))),
        ("sa-100-proposals", lambda k: std(k, sa=b"".join(
            bytes([2 if i < 99 else 0]) + child_sa_body(pnum=i + 1)[1:] for i in range(100)))),
        ("ts-zero", lambda k: std(k, tsi=ts_body([]))),
        ("ts-count-lie", lambda k: std(k, tsi=struct.pack("!BBH", 255, 0, 0) + ts_body(TSI_OK)[4:])),
        ("ts-type-99", lambda k: std(k, tsi=ts_body([(99, 0, 0, 65535, z, big)]))),
        ("ts-v6-in-v4", lambda k: std(k, tsi=ts_body([(8, 0, 0, 65535, z, big)]))),
        ("ts-start-gt-end", lambda k: std(k, tsi=ts_body([(7, 0, 0, 65535, v4("203.0.113.111"), v4("203.0.113.96"))]))),
        ("ts-port-gt", lambda k: std(k, tsi=ts_body([(7, 6, 9000, 80, v4("203.0.113.96"), v4("203.0.113.111"))]))),
        ("ts-sel-len-0", lambda k: std(k, tsi=ts_body([struct.pack("!BBHHH", 7, 0, 0, 0, 65535)]))),
        ("ts-sel-len-200", lambda k: std(k, tsi=ts_body([struct.pack("!BBHHH", 7, 0, 200, 0, 65535) + os.urandom(8)]))),
        ("ts-all", lambda k: std(k, tsi=ts_body([(7, 0, 0, 65535, z, big)]), tsr=ts_body([(7, 0, 0, 65535, z, big)]))),
        ("ts-outside", lambda k: std(k, tsi=ts_body([(7, 0, 0, 65535, v4("198.51.100.0"), v4("198.51.100.255"))]))),
        ("ts-200-selectors", lambda k: std(k, tsi=ts_body(TSI_OK * 200), tsr=ts_body(TSR_OK * 200))),
        ("ts-icmp-ports", lambda k: std(k, tsi=ts_body([(7, 1, 0x0800, 0x08ff, v4("203.0.113.96"), v4("203.0.113.111"))]))),
        ("n-set-window-0", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBHI", 0, 0, 16385, 0))])),
        ("n-set-window-max", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBHI", 0, 0, 16385, 0xFFFFFFFF))])),
        ("n-set-window-short", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 0, 0, 16385) + b"\1")])),
        ("n-transport", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 0, 0, 16391) + b"junk")])),
        ("n-rekey-sa-nospi", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 3, 0, 16393))])),
        ("n-spisize-lie", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 3, 40, 16393) + b"ab")])),
        ("n-ipcomp", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 0, 0, 16387) + b"\0\1\2")])),
        ("n-many", lambda k: std(k, extra=[(PL_NOTIFY, struct.pack("!BBH", 0, 0, 40000 + i)) for i in range(300)])),
        ("cp-junk", lambda k: std(k, extra=[(PL_CP, b"\1\0\0\0" + struct.pack("!HH", 1, 200) + b"x")])),
        ("cp-request", lambda k: std(k, extra=[(PL_CP, b"\1\0\0\0" + b"".join(struct.pack("!HH", t, 0) for t in (1, 2, 3, 8, 10, 13, 0x7fff)))])),
        ("cp-type-0", lambda k: std(k, extra=[(PL_CP, b"\0\0\0\0" + struct.pack("!HH", 1, 4) + b"\1\2\3\4")])),
        ("cp-short", lambda k: std(k, extra=[(PL_CP, b"\1")])),
        ("del-in-auth", lambda k: std(k, extra=[(PL_DEL, struct.pack("!BBH", 3, 4, 3) + b"\1\2\3\4")])),
        ("sk-inside-sk", lambda k: std(k, extra=[(PL_SK, os.urandom(40))])),
        ("eap-no-auth", lambda k: std(k, drop=(PL_AUTH,), extra=[(48, b"\2\1\0\5\1")])),
    ]
    return cases


def info_cases():
    """INFORMATIONAL / CREATE_CHILD_SA requests on an established SA."""
    def d(proto, spisz, n, data=None):
        body = struct.pack("!BBH", proto, spisz, n)
        return (PL_DEL, body + (data if data is not None else os.urandom(spisz * n)))
    ke = struct.pack("!HH", 14, 0) + pow(2, 12345, MODP2048).to_bytes(256, "big")
    return [
        ("info-empty", EXCH_INFO, []),
        ("del-esp-0", EXCH_INFO, [d(3, 4, 0)]),
        ("del-esp-lie-65535", EXCH_INFO, [d(3, 4, 65535, os.urandom(8))]),
        ("del-esp-unknown", EXCH_INFO, [d(3, 4, 50)]),
        ("del-esp-spisize8", EXCH_INFO, [d(3, 8, 2)]),
        ("del-esp-spisize0", EXCH_INFO, [d(3, 0, 5, b"")]),
        ("del-ah", EXCH_INFO, [d(2, 4, 1)]),
        ("del-proto-9", EXCH_INFO, [d(9, 4, 1)]),
        ("del-ike-with-spis", EXCH_INFO, [d(1, 8, 1)]),
        ("del-truncated", EXCH_INFO, [(PL_DEL, b"\3")]),
        ("n-unknown-status", EXCH_INFO, [(PL_NOTIFY, struct.pack("!BBH", 0, 0, 50000))]),
        ("n-unknown-error", EXCH_INFO, [(PL_NOTIFY, struct.pack("!BBH", 0, 0, 8000))]),
        ("n-auth-failed", EXCH_INFO, [(PL_NOTIFY, struct.pack("!BBH", 0, 0, 24))]),
        ("n-update-sa-addresses", EXCH_INFO, [(PL_NOTIFY, struct.pack("!BBH", 0, 0, 16400))]),
        ("cp-in-info", EXCH_INFO, [(PL_CP, b"\1\0\0\0" + struct.pack("!HH", 1, 0))]),
        ("ts-in-info", EXCH_INFO, [(PL_TSI, ts_body(TSI_OK))]),
        ("ccsa-empty", EXCH_CHILD, []),
        ("ccsa-no-nonce", EXCH_CHILD, [(PL_SA, child_sa_body()), (PL_TSI, ts_body(TSI_OK)), (PL_TSR, ts_body(TSR_OK))]),
        ("ccsa-nonce-only", EXCH_CHILD, [(PL_NONCE, os.urandom(32))]),
        ("ccsa-rekey-unknown", EXCH_CHILD, [(PL_NOTIFY, struct.pack("!BBH", 3, 4, 16393) + b"\1\2\3\4"),
                                            (PL_SA, child_sa_body()), (PL_NONCE, os.urandom(32)),
                                            (PL_TSI, ts_body(TSI_OK)), (PL_TSR, ts_body(TSR_OK))]),
        ("ccsa-ke-unasked", EXCH_CHILD, [(PL_SA, child_sa_body()), (PL_NONCE, os.urandom(32)), (PL_KE, ke),
                                         (PL_TSI, ts_body(TSI_OK)), (PL_TSR, ts_body(TSR_OK))]),
        ("ccsa-ke-bad-group", EXCH_CHILD, [(PL_SA, child_sa_body()), (PL_NONCE, os.urandom(32)),
                                           (PL_KE, struct.pack("!HH", 31, 0) + b"\0" * 32),
                                           (PL_TSI, ts_body(TSI_OK)), (PL_TSR, ts_body(TSR_OK))]),
        ("ccsa-ike-rekey-junk", EXCH_CHILD, [(PL_SA, sa_body(14)), (PL_NONCE, os.urandom(32)),
                                             (PL_KE, struct.pack("!HH", 14, 0) + b"\0" * 256)]),
        ("ccsa-ike-rekey-ke1", EXCH_CHILD, [(PL_SA, struct.pack("!BBHBBBB", 0, 0, 8 + 8 + 8 + 8 + 8 + 4, 1, 1, 8, 4)
                                              + os.urandom(8) + sa_body(14)[8:]),
                                             (PL_NONCE, os.urandom(32)),
                                             (PL_KE, struct.pack("!HH", 14, 0) + (1).to_bytes(256, "big"))]),
        ("ccsa-ts-outside", EXCH_CHILD, [(PL_SA, child_sa_body()), (PL_NONCE, os.urandom(32)),
                                         (PL_TSI, ts_body([(7, 0, 0, 65535, v4("198.51.100.0"), v4("198.51.100.255"))])),
                                         (PL_TSR, ts_body(TSR_OK))]),
        ("ccsa-valid", EXCH_CHILD, [(PL_SA, child_sa_body()), (PL_NONCE, os.urandom(32)),
                                    (PL_TSI, ts_body(TSI_OK)), (PL_TSR, ts_body(TSR_OK))]),
        ("exch-99", 99, [(PL_NOTIFY, struct.pack("!BBH", 0, 0, 50000))]),
        ("exch-init-protected", EXCH_INIT, [(PL_NONCE, os.urandom(32))]),
    ]


def cmd_auth_fuzz(a):
    with open(a.psk, "rb") as f:
        psk = f.read()
    if psk.endswith(b"\n"):
        psk = psk[:-1]
    res, ok = {}, True
    names = set(a.case or [])
    for name, build in auth_cases():
        if names and name not in names:
            continue
        k = Ike(a.dst, a.port, psk, b"fuzz.example")
        err = k.init()
        if err:
            res[name] = "INIT: " + err
            if name == "valid":
                ok = False
            continue
        ans = k.request(EXCH_AUTH, build(k))
        res[name] = summary(ans)
        if name == "valid":
            good = ans is not None and any(t == PL_AUTH for t, _c, _b in ans)
            ok = ok and good
            if good and not names:
                # exercise the established SA, then delete it
                for iname, exch, chain in info_cases():
                    res[iname] = summary(k.request(exch, chain))
                # protocol rule breakers on the same SA
                res["mid-jump"] = summary(k.request(EXCH_INFO, [], mid=k.mid + 50))
                res["resp-flag"] = summary(k.request(EXCH_INFO, [], flags=FLAG_I | FLAG_R))
                res["liveness-after"] = summary(k.request(EXCH_INFO, []))
                ok = ok and res["liveness-after"] != "no answer"
                res["delete-ike"] = summary(k.request(EXCH_INFO, [(PL_DEL, struct.pack("!BBH", 1, 0, 0))]))
        else:
            # leave nothing behind: delete the IKE SA if it was created
            if ans is not None and any(t == PL_AUTH for t, _c, _b in ans):
                k.request(EXCH_INFO, [(PL_DEL, struct.pack("!BBH", 1, 0, 0))])
    out(dict(ok=ok, results=res), ok)


# ---------------------------------------------------------------- sniff
def cmd_sniff(a):
    """Record IPv4 packets on IFACE with protocol PROTO (17 + port filter
    or 50) until --secs pass; one hex line per packet."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    s.bind((a.iface, 0))
    if a.ready:  # tell the caller the socket sees packets from now on
        open(a.ready, "w").close()
    end = time.time() + a.secs
    n = 0
    with open(a.out, "w") as f:
        while time.time() < end:
            r, _, _ = select.select([s], [], [], 0.2)
            if not r:
                continue
            pkt, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING and not a.outgoing:
                continue
            if len(pkt) < 20 or pkt[9] != a.proto:
                continue
            ihl = (pkt[0] & 15) * 4
            if a.proto == 17:
                if len(pkt) < ihl + 8:
                    continue
                sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
                if a.port and dport != a.port:
                    continue
            if a.src and socket.inet_ntoa(pkt[12:16]) != a.src:
                continue
            f.write(pkt.hex() + "\n")
            f.flush()
            n += 1
    out(dict(captured=n))


# ---------------------------------------------------------------- replay
def raw_send(pkts, count=1, gap=0.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sent = 0
    for _ in range(count):
        for p in pkts:
            dst = socket.inet_ntoa(p[16:20])
            try:
                s.sendto(p, (dst, 0))
                sent += 1
            except OSError:
                pass
            if gap:
                time.sleep(gap)
    return sent


def cmd_replay(a):
    with open(a.infile) as f:
        pkts = [bytes.fromhex(l.strip()) for l in f if l.strip()]
    if a.last:
        pkts = pkts[-a.last:]
    out(dict(packets=len(pkts), sent=raw_send(pkts, a.count, a.gap)))


# ---------------------------------------------------------------- esp
def ip4(src, dst, proto, payload, ident=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000,
                    64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    c = 0
    for i in range(0, 20, 2):
        c += (h[i] << 8) | h[i + 1]
    c = (c & 0xFFFF) + (c >> 16)
    c = (c & 0xFFFF) + (c >> 16)
    h = h[:10] + struct.pack("!H", ~c & 0xFFFF) + h[12:]
    return h + payload


def udp4(src, dst, sport, dport, payload):
    return ip4(src, dst, 17, struct.pack("!HHHH", sport, dport,
                                         8 + len(payload), 0) + payload)


def cmd_esp(a):
    rnd = random.Random(a.seed)
    pkts = []
    spis = [int(x, 16) for x in a.spi] if a.spi else []
    for i in range(a.count):
        kind = i % 6
        if kind == 0:      # random SPI, random body
            body = struct.pack("!II", rnd.getrandbits(32) | 256, i + 1) + \
                os.urandom(rnd.randint(0, 200))
        elif kind == 1:    # truncated: fewer than SPI+seq
            body = os.urandom(rnd.randint(0, 7))
        elif kind == 2:    # reserved SPIs 0..255
            body = struct.pack("!II", rnd.randint(0, 255), 1) + os.urandom(64)
        elif kind == 3 and spis:   # live SPI, junk (bad ICV), short / long;
            # 48, 64, 96, 1424 are well-formed lengths for AES-CBC +
            # a 16-octet ICV (IV + n blocks + ICV), so the ICV is checked
            body = struct.pack("!II", rnd.choice(spis), rnd.getrandbits(32)) + \
                os.urandom(rnd.choice((0, 1, 15, 16, 17, 31, 32, 100, 1400,
                                       48, 64, 96, 1424, 48, 64)))
        elif kind == 4 and spis:   # live SPI, sequence 0
            body = struct.pack("!II", rnd.choice(spis), 0) + os.urandom(64)
        else:              # random everything
            body = os.urandom(rnd.randint(0, 300))
        if a.udp:
            if len(body) >= 4 and body[:4] == b"\0\0\0\0":
                body = b"\0\0\0\1" + body[4:]   # not the non-ESP marker
            pkts.append(udp4(a.src, a.dst, a.sport, 4500, body))
        else:
            pkts.append(ip4(a.src, a.dst, 50, body, ident=i & 0xFFFF))
    out(dict(sent=raw_send(pkts, 1, a.gap)))


# ---------------------------------------------------------------- ctl
def ctl_connect(path, kind):
    t = socket.SOCK_SEQPACKET if kind == "seqpacket" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_UNIX, t)
    s.settimeout(3)
    s.connect(path)
    return s


def read_some(s, secs=1.0):
    s.settimeout(secs)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if len(data) > 1 << 22:
                break
    except (socket.timeout, OSError):
        pass
    return data


def cmd_ctl(a):
    """Modes: random (random bytes, then close after reading the answer),
    long (an over-long line), half (half a request, then close), many
    (N idle connections held HOLD seconds), noread (send REQUEST N times
    over one connection, never read, hold HOLD seconds), trickle (one
    byte per 0.2 s).  Prints what each connection got back."""
    res = dict(mode=a.mode)
    if a.mode == "random":
        rnd = random.Random(a.seed)
        answers = 0
        for i in range(a.n):
            try:
                s = ctl_connect(a.path, a.kind)
                s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 600))) +
                          (b"\n" if a.kind == "stream" else b""))
                if read_some(s, 0.5):
                    answers += 1
                s.close()
            except OSError:
                pass
        res.update(sent=a.n, answers=answers)
    elif a.mode == "long":
        s = ctl_connect(a.path, a.kind)
        size = a.size
        try:
            if a.kind == "seqpacket":
                s.send(b"A" * size)
            else:
                s.sendall(b"A" * size + b"\n")
        except OSError as e:
            res["send_error"] = str(e)
        d = read_some(s, 1.5)
        res.update(size=size, answer=d[:120].decode("latin-1"))
        s.close()
    elif a.mode == "half":
        for i in range(a.n):
            try:
                s = ctl_connect(a.path, a.kind)
                s.send(a.request.encode()[: max(1, len(a.request) // 2)])
                s.close()
            except OSError:
                pass
        res.update(sent=a.n)
    elif a.mode in ("many", "noread", "trickle"):
        conns = []
        for i in range(a.n):
            try:
                s = ctl_connect(a.path, a.kind)
                if a.mode == "noread":
                    s.setblocking(False)
                    for _ in range(a.repeat):
                        try:
                            s.send(a.request.encode())
                        except OSError:
                            break
                conns.append(s)
            except OSError as e:
                res["connect_error"] = str(e)
                break
        res["connected"] = len(conns)
        if a.ready:
            open(a.ready, "w").close()
        end = time.time() + a.hold
        while time.time() < end:
            if a.mode == "trickle":
                for s in conns:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass
            time.sleep(0.2)
        for s in conns:
            s.close()
    out(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("udp")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--ports", type=int, default=32)
    p.add_argument("--min", type=int, default=0)
    p.add_argument("--max", type=int, default=1500)
    p.add_argument("--marker", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=int, default=100)
    p.set_defaults(fn=cmd_udp)

    p = sub.add_parser("ike-bad")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=500)
    p.add_argument("--natt", action="store_true")
    p.add_argument("--spi-i")
    p.add_argument("--spi-r")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--seed", type=int, default=2)
    p.set_defaults(fn=cmd_ike_bad)

    p = sub.add_parser("ike-crit")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=500)
    p.add_argument("--natt", action="store_true")
    p.add_argument("--ptype", type=int, default=200)
    p.add_argument("--noncrit", action="store_true")
    p.set_defaults(fn=cmd_ike_crit)

    p = sub.add_parser("init-flood")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=500)
    p.add_argument("--natt", action="store_true")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--ports", type=int, default=200)
    p.add_argument("--rate", type=int, default=50)
    p.add_argument("--cookie-check", action="store_true")
    p.add_argument("--dh", type=int, default=31,
                   help="DH transform offered (31 = curve25519)")
    p.add_argument("--ke-group", type=int, default=0,
                   help="KE payload group, when not the offered one")
    p.set_defaults(fn=cmd_init_flood)

    p = sub.add_parser("sk-crit")
    p.add_argument("--keys", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=500)
    p.add_argument("--mid", type=int, required=True)
    p.add_argument("--sender", choices=("initiator", "responder"), required=True)
    p.add_argument("--spi-i")
    p.add_argument("--ptype", type=int, default=201)
    p.set_defaults(fn=cmd_sk_crit)

    p = sub.add_parser("auth-fuzz")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=500)
    p.add_argument("--psk", required=True)
    p.add_argument("--case", action="append")
    p.set_defaults(fn=cmd_auth_fuzz)

    p = sub.add_parser("sniff")
    p.add_argument("--iface", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--secs", type=float, default=10)
    p.add_argument("--proto", type=int, default=17)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--src")
    p.add_argument("--outgoing", action="store_true")
    p.add_argument("--ready", help="file created once the socket is bound")
    p.set_defaults(fn=cmd_sniff)

    p = sub.add_parser("replay")
    p.add_argument("--in", dest="infile", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--last", type=int, default=0)
    p.add_argument("--gap", type=float, default=0.0)
    p.set_defaults(fn=cmd_replay)

    p = sub.add_parser("esp")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--count", type=int, default=600)
    p.add_argument("--udp", action="store_true")
    p.add_argument("--sport", type=int, default=4500)
    p.add_argument("--spi", action="append")
    p.add_argument("--gap", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=3)
    p.set_defaults(fn=cmd_esp)

    p = sub.add_parser("ctl")
    p.add_argument("--path", required=True)
    p.add_argument("--kind", choices=("stream", "seqpacket"), default="stream")
    p.add_argument("--mode", required=True,
                   choices=("random", "long", "half", "many", "noread", "trickle"))
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--size", type=int, default=1 << 20)
    p.add_argument("--request", default="show sa\n")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--hold", type=float, default=3)
    p.add_argument("--ready")
    p.add_argument("--seed", type=int, default=4)
    p.set_defaults(fn=cmd_ctl)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
