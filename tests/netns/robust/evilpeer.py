#!/usr/bin/env python3
"""evilpeer.py - a malicious IKEv2 peer for tests/netns/ike_malicious.sh.

Python 3 standard library only; the IKEv2 helpers (MODP-2048, PRF+,
AES-CBC through the openssl command, the payload codec, raw IPv4/UDP
sending) are those of r2fuzz.py next to it.  Every subcommand prints one
JSON object on stdout.  Addresses are the caller's (its own namespaces).

  responder  answers racoon2's IKE_SA_INIT properly (real DH, MODP-2048,
             AES-CBC-128, HMAC-SHA2-256) and its IKE_AUTH with an AUTH
             payload of method 2 (shared key MIC) computed with an EMPTY
             key (--key empty) or with a key it knows (--key FILE) although
             the remote does not allow PSK; then records what racoon2 sends
             (decrypted) -- issue 9, defect 1
  initiator  initiates to racoon2 and authenticates with AUTH method 2 and
             the right PSK for a remote whose kmp_auth_method is rsasig
             only; expects AUTHENTICATION_FAILED -- defect 1, responder
  init-error spoofs, from the real responder's address (raw socket), an
             IKE_SA_INIT response with an error notify for a known SPIi
             -- defect 4
  garbage    unauthenticated messages with known SPIs and message IDs: an
             unknown critical payload before SK, garbage SK/ICV, future and
             old message IDs; from our own address and spoofed from the
             peer's -- defect 2
  sniff      records the IKE datagrams (UDP 500/4500) entering the
             namespace's interfaces (ingress only) with the interface name
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r2fuzz as rf  # noqa: E402

N_NO_PROPOSAL, N_AUTH_FAILED, N_INVALID_SYNTAX = 14, 24, 7
AUTH_PSK = 2


def out(obj, ok=True):
    print(json.dumps(obj, sort_keys=True))
    sys.exit(0 if ok else 1)


def chain_of(pls):
    """[(type, crit, body)] -> [(type, body)] for rf.payloads."""
    return [(t, b) for t, _c, b in pls]


def first_of_each(prop_body):
    """One proposal substructure's body (after the 8-octet header and the
    SPI) -> its transforms, keeping the first of each type."""
    res, seen, off = [], set(), 0
    while off + 8 <= len(prop_body):
        _last, _r, tlen, ttype, _r2, tid = struct.unpack(
            "!BBHBBH", prop_body[off:off + 8])
        if tlen < 8:
            break
        if ttype not in seen:
            seen.add(ttype)
            res.append((ttype, tid, prop_body[off + 8:off + tlen]))
        off += tlen
    return res


def choose(sa_body, spi=None):
    """Answer an SA payload: its first proposal with one transform of each
    type (and our SPI for a CHILD SA)."""
    num, proto, spisz = sa_body[4], sa_body[5], sa_body[6]
    plen = struct.unpack("!H", sa_body[2:4])[0]
    trs = first_of_each(sa_body[8 + spisz:plen])
    if spi is None:
        spi = os.urandom(spisz)
    tb = b""
    for i, (t, tid, attr) in enumerate(trs):
        last = 0 if i == len(trs) - 1 else 3
        tb += struct.pack("!BBHBBH", last, 0, 8 + len(attr), t, 0, tid) + attr
    return struct.pack("!BBHBBBB", 0, 0, 8 + len(spi) + len(tb), num, proto,
                       len(spi), len(trs)) + spi + tb


def summary(pls):
    return rf.summary(pls)


class Responder:
    """The responder half of rf.Ike: same suite, same key schedule."""

    def __init__(self, sock):
        self.s = sock
        self.spi_r = random.getrandbits(64) | 1

    def keys(self):
        gir = pow(self.gi, self.y, rf.MODP2048).to_bytes(256, "big")
        skeyseed = rf.prf(self.ni + self.nr, gir)
        ks = rf.prf_plus(skeyseed, self.ni + self.nr +
                         struct.pack("!QQ", self.spi_i, self.spi_r),
                         32 * 5 + 16 * 2)
        self.sk_d, self.sk_ai, self.sk_ar = ks[0:32], ks[32:64], ks[64:96]
        self.sk_ei, self.sk_er = ks[96:112], ks[112:128]
        self.sk_pi, self.sk_pr = ks[128:160], ks[160:192]

    def answer_init(self, raw, m):
        self.spi_i, self.init_req = m["spi_i"], raw
        sa = None
        for t, _c, b in m["payloads"]:
            if t == rf.PL_SA:
                sa = b
            elif t == rf.PL_KE:
                group = struct.unpack("!H", b[:2])[0]
                self.gi = int.from_bytes(b[4:], "big")
            elif t == rf.PL_NONCE:
                self.ni = b
        if sa is None or group != 14:
            return "IKE_SA_INIT without SA or with KE group %s" % group
        self.y = random.getrandbits(2040) | 1
        gy = pow(2, self.y, rf.MODP2048).to_bytes(256, "big")
        self.nr = os.urandom(32)
        first, body = rf.payloads([(rf.PL_SA, choose(sa, spi=b"")),
                                   (rf.PL_KE, struct.pack("!HH", 14, 0) + gy),
                                   (rf.PL_NONCE, self.nr)])
        self.init_resp = rf.ike_hdr(self.spi_i, self.spi_r, first,
                                    rf.EXCH_INIT, rf.FLAG_R, 0,
                                    28 + len(body)) + body
        self.keys()
        return None

    def protect(self, exch, chain, mid, flags=rf.FLAG_R):
        ifirst, inner = rf.payloads(chain)
        padlen = (16 - (len(inner) + 1) % 16) % 16
        iv = os.urandom(16)
        ct = rf.aes_cbc(self.sk_er, iv, inner + b"\0" * padlen + bytes([padlen]))
        sk_len = 4 + 16 + len(ct) + 16
        hdr = rf.ike_hdr(self.spi_i, self.spi_r, rf.PL_SK, exch, flags, mid,
                         28 + sk_len)
        msg = hdr + struct.pack("!BBH", ifirst, 0, sk_len) + iv + ct
        return msg + hmac.new(self.sk_ar, msg, hashlib.sha256).digest()[:16]

    def open(self, raw):
        """Decrypt a message from the initiator -> [(type, crit, body)]."""
        off, nxt = 28, raw[16]
        while nxt != rf.PL_SK and off + 4 <= len(raw):
            nxt = raw[off]
            off += struct.unpack("!H", raw[off + 2:off + 4])[0]
        if nxt != rf.PL_SK:
            return None
        sk = raw[off:]
        if hmac.new(self.sk_ai, raw[:-16], hashlib.sha256).digest()[:16] != raw[-16:]:
            return None
        pt = rf.aes_cbc_dec(self.sk_ei, sk[4:20], sk[20:-16])
        pt = pt[:len(pt) - 1 - pt[-1]]
        res, nxt, o = [], sk[0], 0
        while nxt and o + 4 <= len(pt):
            n2, c, plen = struct.unpack("!BBH", pt[o:o + 4])
            if plen < 4:
                break
            res.append((nxt, c, pt[o + 4:o + plen]))
            nxt, o = n2, o + plen
        return res

    def auth_resp(self, req_pls, key, idr):
        got = {t: b for t, _c, b in req_pls}
        idr_body = struct.pack("!BBH", 2, 0, 0) + idr.encode()
        maced = rf.prf(self.sk_pr, idr_body)
        # RFC 7296 §2.15: AUTH = prf(prf(Shared Secret, "Key Pad for
        # IKEv2"), <ResponderSignedOctets>) -- here with the key given.
        k = rf.prf(key, b"Key Pad for IKEv2")
        auth = rf.prf(k, self.init_resp + self.ni + maced)
        chain = [(rf.PL_IDR, idr_body),
                 (rf.PL_AUTH, struct.pack("!BBH", AUTH_PSK, 0, 0) + auth)]
        if rf.PL_SA in got:
            chain.append((rf.PL_SA, choose(got[rf.PL_SA], spi=os.urandom(4))))
        for t in (rf.PL_TSI, rf.PL_TSR):
            if t in got:
                chain.append((t, got[t]))
        return self.protect(rf.EXCH_AUTH, chain, 1)


def recv_ike(s, secs, want=None):
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.time()))
        if not r:
            continue
        try:
            d, a = s.recvfrom(65535)
        except OSError:
            continue
        m = rf.parse_ike(d)
        if m and (want is None or want(m)):
            return d, m, a
    return None, None, None


def cmd_responder(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, 500))
    if a.ready:
        open(a.ready, "w").close()
    res = dict(got_init=False, sent_init=False, got_auth=False,
               sent_auth=False, after=[], key=a.key)
    raw, m, peer = recv_ike(s, a.secs, lambda m: m["exch"] == rf.EXCH_INIT
                            and not m["flags"] & rf.FLAG_R)
    if not m:
        out(res, False)
    res["got_init"] = True
    r = Responder(s)
    err = r.answer_init(raw, m)
    if err:
        res["error"] = err
        out(res, False)
    s.sendto(r.init_resp, peer)
    res["sent_init"] = True
    res["spi_i"], res["spi_r"] = "%016x" % r.spi_i, "%016x" % r.spi_r
    raw, m, peer = recv_ike(s, 5, lambda m: m["exch"] == rf.EXCH_AUTH and
                            m["spi_i"] == r.spi_i and not m["flags"] & rf.FLAG_R)
    if not m:
        out(res, False)
    res["got_auth"] = True
    req = r.open(raw)
    if req is None:
        res["error"] = "IKE_AUTH request does not verify with our keys"
        out(res, False)
    res["auth_request"] = summary(req)
    if a.key == "empty":
        key = b""
    else:
        with open(a.key, "rb") as f:
            key = f.read().rstrip(b"\r\n")
    resp = r.auth_resp(req, key, a.idr)
    s.sendto(resp, peer)
    res["sent_auth"] = True
    # What does racoon2 do next?  Record (decrypted) what it sends; answer
    # its requests with an empty response so that nothing retransmits.
    end = time.time() + a.linger
    while time.time() < end:
        raw, m, peer = recv_ike(s, end - time.time(),
                                lambda m: m["spi_i"] == r.spi_i)
        if not m:
            break
        if m["exch"] == rf.EXCH_AUTH and not m["flags"] & rf.FLAG_R:
            res["after"].append("IKE_AUTH retransmitted")
            continue
        pls = r.open(raw)
        res["after"].append("%s %s mid %d: %s" % (
            {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA",
             37: "INFORMATIONAL"}.get(m["exch"], str(m["exch"])),
            "response" if m["flags"] & rf.FLAG_R else "request", m["mid"],
            summary(pls)))
        if not m["flags"] & rf.FLAG_R and pls is not None:
            s.sendto(r.protect(m["exch"], [], m["mid"]), peer)
    out(res)


def cmd_initiator(a):
    """Initiate to racoon2 and authenticate with AUTH method 2 and the
    PSK in --psk, for a remote whose kmp_auth_method does not allow PSK.
    Expects IKE_AUTH answered without AUTH (AUTHENTICATION_FAILED)."""
    with open(a.psk, "rb") as f:
        psk = f.read().rstrip(b"\r\n")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 500))
    s.setblocking(False)
    k = rf.Ike(a.dst, 500, psk, a.idi.encode(), sock=s)
    err = k.init()
    if err:
        out(dict(error="IKE_SA_INIT: " + err), False)
    idb = struct.pack("!BBH", 2, 0, 0) + a.idi.encode()

    def sel(net):
        base, plen = net.split("/")
        lo = int.from_bytes(socket.inet_aton(base), "big")
        hi = lo | ((1 << (32 - int(plen))) - 1)
        return (7, 0, 0, 65535, lo.to_bytes(4, "big"), hi.to_bytes(4, "big"))
    chain = [(rf.PL_IDI, idb),
             (rf.PL_AUTH, struct.pack("!BBH", AUTH_PSK, 0, 0) + k.auth_data(idb)),
             (rf.PL_SA, rf.child_sa_body()),
             (rf.PL_TSI, rf.ts_body([sel(a.tsi)])),
             (rf.PL_TSR, rf.ts_body([sel(a.tsr)]))]
    ans = k.request(rf.EXCH_AUTH, chain)
    res = dict(answer=summary(ans), spi_i="%016x" % k.spi_i)
    authed = ans is not None and any(t == rf.PL_AUTH for t, _c, _b in ans)
    refused = ans is not None and any(
        t == rf.PL_NOTIFY and len(b) >= 4 and
        struct.unpack("!H", b[2:4])[0] == N_AUTH_FAILED for t, _c, b in ans)
    res["authenticated"], res["authentication_failed"] = authed, refused
    out(res, refused and not authed)


def cmd_init_error(a):
    spi_i = int(a.spi_i, 16)
    pkts = []
    for nt in a.notify:
        first, body = rf.payloads([(rf.PL_NOTIFY, struct.pack("!BBH", 0, 0, nt))])
        for spi_r in (0, random.getrandbits(64) | 1):
            msg = rf.ike_hdr(spi_i, spi_r, first, rf.EXCH_INIT, rf.FLAG_R, 0,
                             28 + len(body)) + body
            pkts.append(rf.udp4(a.src, a.dst, 500, 500, msg))
    out(dict(sent=rf.raw_send(pkts, a.count, 0.01), notifies=a.notify))


def garbage_msgs(spi_i, spi_r, flags, exch, mid, kind):
    """One unauthenticated message of the given kind."""
    sk_body = os.urandom(16) + os.urandom(32) + os.urandom(16)  # IV, 2 blocks, ICV
    if kind == "crit":
        # RFC 7296 §2.5: an unknown critical payload -- before SK, so
        # outside the integrity protection.
        chain = [(201, b"unknown-critical"), (rf.PL_SK, sk_body)]
        first, body = rf.payloads(chain, crit_types=(201,))
        # the SK generic header names the first inner payload: N
        body = body[:len(body) - len(sk_body) - 4] + struct.pack(
            "!BBH", rf.PL_NOTIFY, 0, 4 + len(sk_body)) + sk_body
    elif kind == "icv":
        first = rf.PL_SK
        body = struct.pack("!BBH", rf.PL_NOTIFY, 0, 4 + len(sk_body)) + sk_body
    else:  # "short": an SK payload too short to hold IV and ICV
        first = rf.PL_SK
        body = struct.pack("!BBH", rf.PL_NOTIFY, 0, 4 + 8) + os.urandom(8)
    return rf.ike_hdr(spi_i, spi_r, first, exch, flags, mid,
                      28 + len(body)) + body


def cmd_garbage(a):
    spi_i, spi_r = int(a.spi_i, 16), int(a.spi_r, 16)
    flags = rf.FLAG_I if a.initiator else 0
    if a.response:
        flags |= rf.FLAG_R
    msgs = []
    for mid in a.mid:
        for kind in a.kind:
            msgs.append((mid, kind, garbage_msgs(spi_i, spi_r, flags, a.exch,
                                                 mid, kind)))
    own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    own.bind((a.own, 500))
    own.setblocking(False)
    sent = 0
    for _mid, _kind, m in msgs:
        for _ in range(a.count):
            own.sendto(m, (a.dst, 500))
            sent += 1
    pkts = [rf.udp4(a.spoof, a.dst, 500, 500, m) for _mid, _kind, m in msgs] \
        if a.spoof else []
    sent += rf.raw_send(pkts, a.count, 0.002)
    got = rf.collect([own], a.wait)
    out(dict(sent=sent, exch=a.exch, mids=a.mid, kinds=a.kind,
             answers_to_own_address=len(got)), ok=not got)


def cmd_sniff(a):
    # ETH_P_ALL: on bridge ports only the "all" taps see a frame before
    # the bridge takes it; IPv4 is picked out below.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
    end = time.time() + a.secs
    seen = []
    if a.ready:
        open(a.ready, "w").close()
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if not r:
            if a.stop and os.path.exists(a.stop):
                break
            continue
        pkt, addr = s.recvfrom(65535)
        if addr[1] != 0x0800 or addr[2] == socket.PACKET_OUTGOING or \
                len(pkt) < 28 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        if dport not in (500, 4500) and sport not in (500, 4500):
            continue
        d = pkt[ihl + 8:]
        if dport == 4500 or sport == 4500:
            if d[:4] != b"\0\0\0\0":
                continue  # ESP in UDP, keepalive
            d = d[4:]
        m = rf.parse_ike(d)
        if not m:
            continue
        seen.append(dict(iface=addr[0], src=socket.inet_ntoa(pkt[12:16]),
                         dst=socket.inet_ntoa(pkt[16:20]), exch=m["exch"],
                         flags=m["flags"], mid=m["mid"],
                         spi_i="%016x" % m["spi_i"], t=round(time.time(), 3)))
    out(dict(packets=seen))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("responder")
    p.add_argument("--bind", required=True)
    p.add_argument("--key", required=True, help="'empty' or a PSK file")
    p.add_argument("--idr", required=True)
    p.add_argument("--secs", type=float, default=10)
    p.add_argument("--linger", type=float, default=3)
    p.add_argument("--ready")
    p.set_defaults(fn=cmd_responder)
    p = sub.add_parser("initiator")
    p.add_argument("--bind", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--psk", required=True)
    p.add_argument("--idi", required=True)
    p.add_argument("--tsi", required=True, help="our side, a.b.c.d/n")
    p.add_argument("--tsr", required=True)
    p.set_defaults(fn=cmd_initiator)
    p = sub.add_parser("init-error")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--spi-i", required=True)
    p.add_argument("--notify", type=int, action="append", default=[])
    p.add_argument("--count", type=int, default=2)
    p.set_defaults(fn=cmd_init_error)
    p = sub.add_parser("garbage")
    p.add_argument("--dst", required=True)
    p.add_argument("--own", required=True, help="our own address")
    p.add_argument("--spoof", help="also send from this (the peer's) address")
    p.add_argument("--spi-i", required=True)
    p.add_argument("--spi-r", required=True)
    p.add_argument("--initiator", action="store_true",
                   help="set the I flag (we pose as the original initiator)")
    p.add_argument("--response", action="store_true")
    p.add_argument("--exch", type=int, default=rf.EXCH_INFO)
    p.add_argument("--mid", type=int, action="append", required=True)
    p.add_argument("--kind", action="append", required=True,
                   choices=("crit", "icv", "short"))
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--wait", type=float, default=1.0)
    p.set_defaults(fn=cmd_garbage)
    p = sub.add_parser("sniff")
    p.add_argument("--secs", type=float, default=60)
    p.add_argument("--ready")
    p.add_argument("--stop", help="stop early once this file exists")
    p.set_defaults(fn=cmd_sniff)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
