#!/usr/bin/env python3
"""kinkcheck.py - an independent check of KINK (RFC 4430) messages on the wire.

Nothing here comes from racoon2's code: RFC 3961 / RFC 3962
(aes128/aes256-cts-hmac-sha1-96, enctypes 17 and 18) is implemented from the
RFCs over AES-ECB and HMAC-SHA1, the keytab and DER parsers are our own.

From a capture (pcap or pcapng) and the responder's keytab:
  * every KINK_AP_REQ's ticket is decrypted with the service key from the
    keytab (key usage 2) -> the session key (EncTicketPart.key);
  * the AP_REQ authenticator (usage 11) and the AP_REP (usage 12) decrypt
    with that key;
  * every message's Cksum is verified (RFC 3961 get_mic, key usage 40,
    over the message with Length = length without the Cksum, CksumLen 0);
  * every KINK_ENCRYPT is decrypted (key usage 39); its plaintext is
    InnerNextPload(1) RESERVED2(3) and a chain of KINK payloads;
  * KINK_ISAKMP payloads are walked down to the IKEv1 Quick Mode payloads.
A REPLY/ACK/... without an AP_REQ uses the session key of the AP_REQ with
the same XID (the exchange's request).

Usage:
  kinkcheck.py [-p PORT] [-k KEYTAB]... [--json] FILE.pcap
        prints one line per KINK message; exit 1 if any Cksum is bad, an
        ENCRYPT does not decrypt, a message is malformed, or a message that
        must carry a Cksum (a key is known) has none.
  kinkcheck.py selftest    RFC 3961/3962 test vectors (exit 0 when right)
"""
import hashlib
import hmac
import json
import struct
import sys

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:  # pragma: no cover
    Cipher = None

KU_TICKET = 2
KU_AP_REQ_AUTH = 11
KU_AP_REP = 12
KU_KINK_ENCRYPT = 39
KU_KINK_CKSUM = 40

MSG_TYPES = {0: "RESERVED", 1: "CREATE", 2: "DELETE", 3: "REPLY",
             4: "GETTGT", 5: "ACK", 6: "STATUS"}
PL_TYPES = {0: "DONE", 1: "AP_REQ", 2: "AP_REP", 3: "KRB_ERROR",
            4: "TGT_REQ", 5: "TGT_REP", 6: "ISAKMP", 7: "ENCRYPT",
            8: "ERROR"}
KINK_ERRORS = {0: "OK", 1: "PROTOERR", 2: "INVDOI", 3: "INVMAJ",
               4: "INVMIN", 5: "INTERR", 6: "BADQMVERS"}
ISAKMP_PL = {1: "SA", 2: "P", 3: "T", 4: "KE", 5: "ID", 6: "CERT",
             7: "CR", 8: "HASH", 9: "SIG", 10: "NONCE", 11: "N", 12: "D",
             13: "VID"}


class Malformed(Exception):
    pass


# ---------------------------------------------------------------- RFC 3961

def _aes_ecb(key, block, decrypt=False):
    c = Cipher(algorithms.AES(key), modes.ECB())
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(block) + op.finalize()


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def nfold(data, nbytes):
    """RFC 3961 §5.1 n-fold: replicate the input, rotating each copy
    13 bits right, to lcm(len, n) octets, then add n-octet chunks with
    one's-complement (end-around carry) addition."""
    inlen = len(data)
    inbits = inlen * 8
    lcm = inlen * nbytes // _gcd(inlen, nbytes)
    bigint = int.from_bytes(data, "big")
    copies = []
    for i in range(lcm // inlen):
        r = (13 * i) % inbits
        rot = ((bigint >> r) | (bigint << (inbits - r))) & ((1 << inbits) - 1)
        copies.append(rot.to_bytes(inlen, "big"))
    buf = b"".join(copies)
    mod = 1 << (nbytes * 8)
    acc = 0
    for i in range(0, lcm, nbytes):
        acc += int.from_bytes(buf[i:i + nbytes], "big")
        while acc >= mod:
            acc = (acc & (mod - 1)) + (acc >> (nbytes * 8))
    return acc.to_bytes(nbytes, "big")


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def aes_cts_encrypt(key, plain, iv=bytes(16)):
    """RFC 3962 §5: CBC with ciphertext stealing, the last two blocks
    swapped (CS3); a single block is plain CBC."""
    if len(plain) < 16:
        raise ValueError("CTS needs at least one block")
    blocks = [plain[i:i + 16] for i in range(0, len(plain), 16)]
    out = []
    prev = iv
    for b in blocks[:-1]:
        prev = _aes_ecb(key, _xor(b.ljust(16, b"\0"), prev))
        out.append(prev)
    last = blocks[-1]
    if len(blocks) == 1:
        return _aes_ecb(key, _xor(last, prev))
    n = len(last)
    en_1 = out.pop()  # E(P[n-1])
    cn = _aes_ecb(key, _xor(last.ljust(16, b"\0"), en_1))
    return b"".join(out) + cn + en_1[:n]


def aes_cts_decrypt(key, ct, iv=bytes(16)):
    if len(ct) < 16:
        raise ValueError("CTS needs at least one block")
    if len(ct) == 16:
        return _xor(_aes_ecb(key, ct, True), iv)
    nfull = (len(ct) - 1) // 16  # blocks before the partial/last one
    head = ct[:16 * (nfull - 1)]
    cn_1 = ct[16 * (nfull - 1):16 * nfull]  # the swapped: E of last block
    cn = ct[16 * nfull:]  # partial: head of E(P[n-1])
    n = len(cn)
    out = []
    prev = iv
    for i in range(0, len(head), 16):
        blk = head[i:i + 16]
        out.append(_xor(_aes_ecb(key, blk, True), prev))
        prev = blk
    d = _aes_ecb(key, cn_1, True)  # = Pn(padded) xor E(P[n-1])
    en_1 = cn + d[n:]  # the full E(P[n-1])
    pn = _xor(d[:n], cn)
    out.append(_xor(_aes_ecb(key, en_1, True), prev))
    out.append(pn)
    return b"".join(out)


ENCTYPES = {17: ("aes128-cts-hmac-sha1-96", 16),
            18: ("aes256-cts-hmac-sha1-96", 32)}
CKSUMTYPES = {17: 15, 18: 16}  # hmac-sha1-96-aes128/-aes256


def derive_key(key, constant):
    """RFC 3961 §5.1 DK(Key, Constant) = random-to-key(DR(Key, Constant)),
    DR = k-truncate(E(Key, n-fold(Constant)) || E(Key, E(...)) ...)."""
    ki = nfold(constant, 16)
    out = b""
    while len(out) < len(key):
        ki = aes_cts_encrypt(key, ki)
        out += ki
    return out[:len(key)]  # AES random-to-key is the identity


def usage_keys(key, usage):
    u = struct.pack(">I", usage)
    return (derive_key(key, u + b"\xaa"), derive_key(key, u + b"\x55"),
            derive_key(key, u + b"\x99"))  # Ke, Ki, Kc


def krb_encrypt(etype, key, usage, plain, confounder=None):
    """RFC 3961 §5.3 simplified profile: E(Ke, conf|plain) | H(Ki, ...)[:12]."""
    if etype not in ENCTYPES:
        raise ValueError("enctype %d not supported" % etype)
    ke, ki, _ = usage_keys(key, usage)
    import os
    conf = confounder if confounder is not None else os.urandom(16)
    data = conf + plain
    mac = hmac.new(ki, data, hashlib.sha1).digest()[:12]
    return aes_cts_encrypt(ke, data) + mac


def krb_decrypt(etype, key, usage, ct):
    """Returns the plaintext, or None when the integrity check fails."""
    if etype not in ENCTYPES:
        raise ValueError("enctype %d not supported" % etype)
    if len(ct) < 16 + 12:
        return None
    ke, ki, _ = usage_keys(key, usage)
    data = aes_cts_decrypt(ke, ct[:-12])
    mac = hmac.new(ki, data, hashlib.sha1).digest()[:12]
    if not hmac.compare_digest(mac, ct[-12:]):
        return None
    return data[16:]


def krb_checksum(etype, key, usage, msg):
    """RFC 3961 §5.4 / RFC 3962: hmac-sha1-96-aes, HMAC(Kc, msg)[:12]."""
    _, _, kc = usage_keys(key, usage)
    return hmac.new(kc, msg, hashlib.sha1).digest()[:12]


def string_to_key(etype, password, salt, iterations=4096):
    """RFC 3962 §4 (for the self test): DK(PBKDF2-HMAC-SHA1, "kerberos")."""
    klen = ENCTYPES[etype][1]
    tkey = hashlib.pbkdf2_hmac("sha1", password, salt, iterations, klen)
    return derive_key(tkey, b"kerberos")


# ---------------------------------------------------------------- DER

def der_read(buf, off):
    """(tag, value, next_offset) of the TLV at off."""
    if off + 2 > len(buf):
        raise Malformed("DER: truncated TLV")
    tag = buf[off]
    if tag & 0x1f == 0x1f:
        raise Malformed("DER: long tag")
    ln = buf[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7f
        if n == 0 or n > 4 or off + n > len(buf):
            raise Malformed("DER: bad length")
        ln = int.from_bytes(buf[off:off + n], "big")
        off += n
    if off + ln > len(buf):
        raise Malformed("DER: value beyond its container")
    return tag, buf[off:off + ln], off + ln


def der_fields(seq):
    """Context-tagged fields [n] of a SEQUENCE body -> {n: inner value}."""
    out = {}
    off = 0
    while off < len(seq):
        tag, val, off = der_read(seq, off)
        if tag & 0xe0 == 0xa0:
            out[tag & 0x1f] = val
    return out


def der_unwrap(buf, want_tag):
    tag, val, _ = der_read(buf, 0)
    if tag != want_tag:
        raise Malformed("DER: tag 0x%02x, expected 0x%02x" % (tag, want_tag))
    return val


def der_int(explicit):
    tag, val, _ = der_read(explicit, 0)
    if tag != 0x02:
        raise Malformed("DER: INTEGER expected")
    return int.from_bytes(val, "big", signed=True)


def der_octets(explicit):
    tag, val, _ = der_read(explicit, 0)
    if tag not in (0x04, 0x1b):  # OCTET STRING, GeneralString
        raise Malformed("DER: OCTET STRING expected")
    return val


def encrypted_data(explicit):
    """EncryptedData ::= SEQUENCE { etype [0], kvno [1] OPTIONAL,
    cipher [2] } (RFC 4120 §5.2.9) -> (etype, kvno, cipher)."""
    f = der_fields(der_unwrap(explicit, 0x30))
    return der_int(f[0]), der_int(f[1]) if 1 in f else None, der_octets(f[2])


def principal_name(explicit):
    f = der_fields(der_unwrap(explicit, 0x30))
    seq = der_unwrap(f[1], 0x30)
    parts, off = [], 0
    while off < len(seq):
        _, v, off = der_read(seq, off)
        parts.append(v.decode("utf-8", "replace"))
    return "/".join(parts)


def parse_ap_req(der):
    """KRB_AP_REQ (RFC 4120 §5.5.1, [APPLICATION 14]) -> dict with the
    service principal, the ticket's EncryptedData and the authenticator."""
    f = der_fields(der_unwrap(der_unwrap(der, 0x6e), 0x30))
    if der_int(f[1]) != 14:
        raise Malformed("AP_REQ: msg-type is not 14")
    t = der_fields(der_unwrap(der_unwrap(f[3], 0x61), 0x30))
    realm = der_octets(t[1]).decode("utf-8", "replace")
    return {"sname": principal_name(t[2]) + "@" + realm,
            "ticket": encrypted_data(t[3]),
            "authenticator": encrypted_data(f[4])}


def parse_ap_rep(der):
    f = der_fields(der_unwrap(der_unwrap(der, 0x6f), 0x30))
    if der_int(f[1]) != 15:
        raise Malformed("AP_REP: msg-type is not 15")
    return encrypted_data(f[2])


def parse_krb_error(der):
    f = der_fields(der_unwrap(der_unwrap(der, 0x7e), 0x30))
    return der_int(f[6])


KRB_ERR = {37: "KRB_AP_ERR_SKEW", 31: "KRB_AP_ERR_BAD_INTEGRITY",
           34: "KRB_AP_ERR_REPEAT", 41: "KRB_AP_ERR_MODIFIED",
           32: "KRB_AP_ERR_TKT_EXPIRED", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN"}


def ticket_session_key(enc_ticket_part):
    """EncTicketPart ([APPLICATION 3]) -> (keytype, keyvalue)."""
    f = der_fields(der_unwrap(der_unwrap(enc_ticket_part, 0x63), 0x30))
    k = der_fields(der_unwrap(f[1], 0x30))
    return der_int(k[0]), der_octets(k[1])


# ---------------------------------------------------------------- keytab

def read_keytab(path):
    """MIT keytab v2 (0x0502): [(principal@REALM, kvno, enctype, key)]."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x05\x02":
        raise Malformed("%s: not a v2 keytab" % path)
    out, off = [], 2
    while off + 4 <= len(data):
        (size,) = struct.unpack(">i", data[off:off + 4])
        off += 4
        if size <= 0:  # a hole
            off += -size
            continue
        e = data[off:off + size]
        off += size
        p = 0

        def counted(p):
            (n,) = struct.unpack(">H", e[p:p + 2])
            return e[p + 2:p + 2 + n], p + 2 + n
        (ncomp,) = struct.unpack(">H", e[p:p + 2])
        p += 2
        realm, p = counted(p)
        comps = []
        for _ in range(ncomp):
            c, p = counted(p)
            comps.append(c.decode())
        p += 4 + 4  # name type, timestamp
        kvno = e[p]
        p += 1
        etype, klen = struct.unpack(">HH", e[p:p + 4])
        key = e[p + 4:p + 4 + klen]
        p += 4 + klen
        if p + 4 <= len(e):
            (kv32,) = struct.unpack(">I", e[p:p + 4])
            if kv32:
                kvno = kv32
        out.append(("/".join(comps) + "@" + realm.decode(), kvno, etype, key))
    return out


# ---------------------------------------------------------------- capture

def read_capture(path):
    """(frame, src, dst, sport, dport, udp payload) for each UDP datagram of
    a pcap or pcapng file (Ethernet, Linux cooked, raw IP)."""
    with open(path, "rb") as f:
        data = f.read()
    frames = []
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        off, e, links = 0, "<", []
        while off + 12 <= len(data):
            if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
                e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            btype, blen = struct.unpack(e + "II", data[off:off + 8])
            if blen < 12:
                break
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6:
                ifid, _, _, cap, _ = struct.unpack(e + "IIIII", body[:20])
                frames.append((links[ifid], body[20:20 + cap]))
            elif btype == 3:
                frames.append((links[0], body[4:]))
            off += blen
    else:
        e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        link = struct.unpack(e + "I", data[20:24])[0]
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
            frames.append((link, data[off + 16:off + 16 + incl]))
            off += 16 + incl
    import ipaddress
    for n, (link, pkt) in enumerate(frames, 1):
        if link == 1:
            et, l3 = struct.unpack(">H", pkt[12:14])[0], pkt[14:]
            while et == 0x8100 and len(l3) >= 4:
                et, l3 = struct.unpack(">H", l3[2:4])[0], l3[4:]
        elif link == 113:
            et, l3 = struct.unpack(">H", pkt[14:16])[0], pkt[16:]
        elif link in (101, 12, 228, 229):
            l3 = pkt
            et = 0x0800 if pkt and pkt[0] >> 4 == 4 else 0x86dd
        else:
            continue
        if et == 0x0800 and len(l3) >= 20 and l3[9] == 17:
            ihl = (l3[0] & 15) * 4
            src, dst = ipaddress.ip_address(l3[12:16]), ipaddress.ip_address(l3[16:20])
            udp = l3[ihl:]
        elif et == 0x86dd and len(l3) >= 40 and l3[6] == 17:
            src, dst = ipaddress.ip_address(l3[8:24]), ipaddress.ip_address(l3[24:40])
            udp = l3[40:]
        else:
            continue
        if len(udp) < 8:
            continue
        sp, dp, ulen = struct.unpack(">HHH", udp[:6])
        yield n, str(src), str(dst), sp, dp, udp[8:ulen] if ulen >= 8 else udp[8:]


# ---------------------------------------------------------------- KINK

def isakmp_chain(first, buf):
    """IKEv1 payload chain (RFC 2408 §3.2) -> ['SA(P(T,T))', 'NONCE', ...]."""
    out, t, off = [], first, 0
    while t != 0:
        if off + 4 > len(buf):
            raise Malformed("ISAKMP: truncated payload header")
        nxt, _, ln = struct.unpack(">BBH", buf[off:off + 4])
        if ln < 4 or off + ln > len(buf):
            raise Malformed("ISAKMP: payload length %d" % ln)
        body = buf[off + 4:off + ln]
        name = ISAKMP_PL.get(t, "?%d" % t)
        if t == 1 and len(body) >= 8:  # SA: DOI, situation, proposals
            name += "(" + ",".join(_proposals(body[8:])) + ")"
        elif t == 11 and len(body) >= 8:
            name += "(%d)" % struct.unpack(">H", body[6:8])[0]
        elif t == 12 and len(body) >= 8:
            nspi = struct.unpack(">H", body[6:8])[0]
            name += "(%d SPI)" % nspi
        out.append(name)
        off += ln
        t = nxt
    if off != len(buf):
        raise Malformed("ISAKMP: %d octets after the last payload" % (len(buf) - off))
    return out


def _proposals(buf):
    out, off, nxt = [], 0, 2
    while nxt == 2 and off + 8 <= len(buf):
        nxt, _, ln = struct.unpack(">BBH", buf[off:off + 4])
        if ln < 8 or off + ln > len(buf):
            raise Malformed("ISAKMP: proposal length %d" % ln)
        num, proto, spisz, ntr = buf[off + 4:off + 8]
        spi = buf[off + 8:off + 8 + spisz].hex()
        out.append("P#%d proto %d spi %s %d T" % (num, proto, spi, ntr))
        off += ln
    return out


def parse_kink(msg):
    """-> header dict and the outer payload list [(type, body)]."""
    if len(msg) < 16:
        raise Malformed("shorter than the header")
    typ, ver, length, doi, xid, first, flags, cklen = struct.unpack(
        ">BBHIIBBH", msg[:16])
    h = {"type": typ, "version": ver, "length": length, "doi": doi,
         "xid": xid, "first": first, "ackreq": bool(flags & 0x80),
         "flags": flags, "cksum_len": cklen}
    if length != len(msg):
        raise Malformed("Length %d, datagram %d" % (length, len(msg)))
    if cklen > length - 16:
        raise Malformed("CksumLen %d beyond the message" % cklen)
    h["covered"] = length - cklen
    h["payloads"] = payload_chain(first, msg[16:length - cklen], outer=True)
    return h


def payload_chain(first, buf, outer):
    out, t, off = [], first, 0
    while t != 0:
        if off + 4 > len(buf):
            raise Malformed("truncated payload header (%s)" % PL_TYPES.get(t, t))
        nxt, _, ln = struct.unpack(">BBH", buf[off:off + 4])
        if ln < 4 or off + ln > len(buf):
            raise Malformed("%s: PayloadLength %d" % (PL_TYPES.get(t, t), ln))
        out.append((t, buf[off + 4:off + ln]))
        off += ln
        pad = (-ln) % 4
        if nxt != 0 and off + pad > len(buf):
            raise Malformed("padding missing before the next payload")
        if any(buf[off:off + pad]):
            raise Malformed("non-zero padding after %s" % PL_TYPES.get(t, t))
        off = min(off + pad, len(buf))
        if t == 7 and nxt != 0:
            raise Malformed("KINK_ENCRYPT is not the last payload")
        t = nxt
    if outer and off != len(buf):
        raise Malformed("%d octets after the last payload" % (len(buf) - off))
    return out


def describe(pls, key, notes):
    """Payload names, with the details that need the session key."""
    names = []
    for t, body in pls:
        name = PL_TYPES.get(t, "?%d" % t)
        if t == 6:
            if len(body) < 4:
                raise Malformed("KINK_ISAKMP shorter than 4")
            if body[1] != 0x10:
                notes.append("QMVersion 0x%02x" % body[1])
            name += "{" + " ".join(isakmp_chain(body[0], body[4:])) + "}"
        elif t == 8:
            if len(body) != 4:
                raise Malformed("KINK_ERROR length %d" % len(body))
            code = struct.unpack(">I", body)[0]
            name += "(%s)" % KINK_ERRORS.get(code, code)
        elif t == 3:
            try:
                code = parse_krb_error(body)
                name += "(%s)" % KRB_ERR.get(code, code)
            except (Malformed, KeyError):
                name += "(?)"
        names.append(name)
    return names


class Checker:
    def __init__(self, keytabs):
        self.keys = []
        for kt in keytabs:
            self.keys += read_keytab(kt)
        self.by_xid = {}  # xid -> (etype, session key)

    def service_key(self, sname, etype, kvno):
        for p, kv, et, k in self.keys:
            if p == sname and et == etype and (kvno is None or kv == kvno):
                return k
        return None

    def check(self, frame, src, dst, msg):
        r = {"frame": frame, "src": src, "dst": dst, "ok": True,
             "problems": []}
        try:
            h = parse_kink(msg)
        except Malformed as e:
            r.update(ok=False, type="?", problems=["malformed: %s" % e])
            return r
        r["type"] = MSG_TYPES.get(h["type"], "?%d" % h["type"])
        r["xid"] = h["xid"]
        r["ackreq"] = h["ackreq"]
        if h["version"] != 0x10:
            r["problems"].append("version 0x%02x" % h["version"])
        if h["doi"] != 1:
            r["problems"].append("DOI %d" % h["doi"])
        pls = h["payloads"]
        types = [t for t, _ in pls]
        if len(set(types)) != len(types):
            r["problems"].append("a payload type twice")
        key = None
        try:
            for t, body in pls:
                if t == 1:
                    if len(body) < 5:
                        raise Malformed("AP_REQ too short")
                    r["epoch"] = struct.unpack(">I", body[:4])[0]
                    ap = parse_ap_req(body[4:])
                    et, kvno, ct = ap["ticket"]
                    r["sname"] = ap["sname"]
                    sk = self.service_key(ap["sname"], et, kvno)
                    if sk is None:
                        r["problems"].append("no key for %s etype %d kvno %s in the keytab"
                                             % (ap["sname"], et, kvno))
                        continue
                    etp = krb_decrypt(et, sk, KU_TICKET, ct)
                    if etp is None:
                        r["problems"].append("ticket does not decrypt with the keytab")
                        continue
                    key = ticket_session_key(etp)
                    aet, _, act = ap["authenticator"]
                    if krb_decrypt(aet, key[1], KU_AP_REQ_AUTH, act) is None:
                        r["problems"].append("authenticator does not decrypt with the session key")
                    r["ticket"] = "ok"
                    r["session_key"] = key[1].hex()
                    self.by_xid[h["xid"]] = key
                elif t == 2:
                    if len(body) < 5:
                        raise Malformed("AP_REP too short")
                    r["epoch"] = struct.unpack(">I", body[:4])[0]
            if key is None:
                key = self.by_xid.get(h["xid"])
            for t, body in pls:
                if t == 2 and key is not None:
                    et, _, ct = parse_ap_rep(body[4:])
                    ok = krb_decrypt(et, key[1], KU_AP_REP, ct) is not None
                    r["ap_rep"] = "ok" if ok else "BAD"
                    if not ok:
                        r["problems"].append("AP_REP does not decrypt with the session key")
            # Cksum (RFC 4430 §5.1)
            if h["cksum_len"] == 0:
                r["cksum"] = "none"
                # RFC 4430 §5.1 (kink.md): a Cksum whenever a key is known,
                # i.e. with AP_REQ or AP_REP; a REPLY with only KRB_ERROR
                # or KINK_ERROR (the AP_REQ was refused) has none
                if 1 in types or 2 in types:
                    r["problems"].append("AP_REQ/AP_REP without Cksum")
            elif key is None:
                r["cksum"] = "no key"
                r["problems"].append("Cksum but no session key for XID %08x" % h["xid"])
            else:
                cov = bytearray(msg[:h["covered"]])
                cov[2:4] = struct.pack(">H", h["covered"])
                cov[14:16] = b"\0\0"
                want = krb_checksum(key[0], key[1], KU_KINK_CKSUM, bytes(cov))
                good = (h["cksum_len"] == len(want) and
                        hmac.compare_digest(want, msg[h["covered"]:]))
                r["cksum"] = "OK" if good else "BAD"
                if not good:
                    r["problems"].append("Cksum does not verify")
            names = describe(pls, key, r["problems"])
            for i, (t, body) in enumerate(pls):
                if t != 7:
                    continue
                if key is None:
                    names[i] = "ENCRYPT{?}"
                    r["problems"].append("ENCRYPT but no session key")
                    continue
                plain = krb_decrypt(key[0], key[1], KU_KINK_ENCRYPT, body)
                if plain is None:
                    names[i] = "ENCRYPT{BAD}"
                    r["problems"].append("ENCRYPT does not decrypt")
                    continue
                if len(plain) < 4:
                    raise Malformed("ENCRYPT plaintext shorter than 4")
                inner = payload_chain(plain[0], plain[4:], outer=False)
                if any(t2 in (1, 2, 7) for t2, _ in inner):
                    r["problems"].append("AP_REQ/AP_REP/ENCRYPT inside ENCRYPT")
                names[i] = "ENCRYPT{" + " ".join(describe(inner, key, r["problems"])) + "}"
            r["payloads"] = names
        except (Malformed, KeyError, IndexError, ValueError) as e:
            r["problems"].append("malformed: %s" % (e or type(e).__name__))
        r["ok"] = not r["problems"]
        return r


def fmt(r):
    s = "%d %s -> %s %s" % (r["frame"], r["src"], r["dst"], r.get("type", "?"))
    if "xid" in r:
        s += " xid=%08x" % r["xid"]
    if r.get("ackreq"):
        s += " ACKREQ"
    if "session_key" in r:
        s += " sk=%s..." % r["session_key"][:8]
    if "cksum" in r:
        s += " cksum=%s" % r["cksum"]
    if "payloads" in r:
        s += " [" + " ".join(r["payloads"]) + "]"
    if r["problems"]:
        s += " PROBLEMS: " + "; ".join(r["problems"])
    return s


# ---------------------------------------------------------------- self test

def selftest():
    fails = 0

    def eq(name, got, want):
        nonlocal fails
        if got != want:
            fails += 1
            print("FAIL: %s\n  got  %s\n  want %s" % (name, got.hex(), want.hex()))
        else:
            print("ok: %s" % name)

    # RFC 3961 Appendix A.1 n-fold
    eq("nfold 64 '012345'", nfold(b"012345", 8), bytes.fromhex("be072631276b1955"))
    eq("nfold 56 'password'", nfold(b"password", 7), bytes.fromhex("78a07b6caf85fa"))
    eq("nfold 64 'Rough Consensus, and Running Code'",
       nfold(b"Rough Consensus, and Running Code", 8), bytes.fromhex("bb6ed30870b7f0e0"))
    eq("nfold 168 'password'", nfold(b"password", 21),
       bytes.fromhex("59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"))
    eq("nfold 192 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY'",
       nfold(b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY", 24),
       bytes.fromhex("db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"))
    eq("nfold 64 'kerberos'", nfold(b"kerberos", 8), bytes.fromhex("6b65726265726f73"))
    eq("nfold 128 'kerberos'", nfold(b"kerberos", 16),
       bytes.fromhex("6b65726265726f737b9b5b2b93132b93"))
    # RFC 3962 Appendix B: string-to-key (PBKDF2 + DK(tkey, "kerberos"))
    salt = b"ATHENA.MIT.EDUraeburn"
    for it, k128, k256 in [
            (1, "42263c6e89f4fc28b8df68ee09799f15",
             "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"),
            (2, "c651bf29e2300ac27fa469d693bdda13",
             "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"),
            (1200, "4c01cd46d632d01e6dbe230a01ed642a",
             "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a")]:
        eq("string-to-key aes128 iter %d" % it,
           string_to_key(17, b"password", salt, it), bytes.fromhex(k128))
        eq("string-to-key aes256 iter %d" % it,
           string_to_key(18, b"password", salt, it), bytes.fromhex(k256))
    # RFC 3962 Appendix B: AES-CTS, key "chicken teriyaki", IV 0
    key = b"chicken teriyaki"
    pt = b"I would like the General Gau's Chicken, please, and wonton soup."
    for n, ct in [
            (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
            (31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"),
            (32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"),
            (47, "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e"
                 "39312523a78662d5be7fcbcc98ebf5"),
            (48, "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd8"
                 "39312523a78662d5be7fcbcc98ebf5a8"),
            (64, "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8"
                 "4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8")]:
        eq("aes-cts encrypt %d" % n, aes_cts_encrypt(key, pt[:n]), bytes.fromhex(ct))
        eq("aes-cts decrypt %d" % n, aes_cts_decrypt(key, bytes.fromhex(ct)), pt[:n])
    # round trips through the profile, every length across block edges
    for et in (17, 18):
        k = bytes(range(ENCTYPES[et][1]))
        for n in (0, 1, 15, 16, 17, 31, 32, 33, 100):
            p = bytes(range(n))
            c = krb_encrypt(et, k, 39, p)
            if krb_decrypt(et, k, 39, c) != p:
                fails += 1
                print("FAIL: encrypt/decrypt round trip etype %d len %d" % (et, n))
            bad = bytearray(c)
            bad[0] ^= 1
            if krb_decrypt(et, k, 39, bytes(bad)) is not None:
                fails += 1
                print("FAIL: a flipped bit decrypts, etype %d len %d" % (et, n))
    print("selftest: %s" % ("FAIL" if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    if argv[1:2] == ["selftest"]:
        return selftest()
    import argparse
    ap = argparse.ArgumentParser(description="check KINK messages in a capture")
    ap.add_argument("-p", "--port", type=int, default=910)
    ap.add_argument("-k", "--keytab", action="append", default=[])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("pcap")
    a = ap.parse_args(argv[1:])
    if Cipher is None:
        print("kinkcheck: python3 cryptography is missing", file=sys.stderr)
        return 2
    ck = Checker(a.keytab)
    results = []
    for frame, src, dst, sp, dp, payload in read_capture(a.pcap):
        if a.port not in (sp, dp):
            continue
        r = ck.check(frame, src, dst, payload)
        results.append(r)
        if not a.json:
            print(fmt(r))
    if a.json:
        print(json.dumps(results, indent=1))
    bad = [r for r in results if not r["ok"]]
    if not a.json:
        print("kinkcheck: %d messages, %d with problems" % (len(results), len(bad)))
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
