#!/usr/bin/env python3
"""ahcheck.py - an AH (RFC 4302) oracle that shares nothing with r2espd.

Wireshark 4.0 dissects AH but cannot verify its ICV (no AH SA table, no
ICV preference), so this script does, from the RFC alone:

  ahcheck.py verify PCAP AH_SA
      every AH packet of PCAP (libpcap, Ethernet) whose SPI has a line in
      AH_SA (iked -K's ah_sa file: esp_sa's UAT format, or lines built from
      "r2espctl sa get ... proto ah") has its ICV recomputed: the IP header
      with the mutable fields zeroed (IPv4 TOS, flags, fragment offset,
      TTL, checksum, options other than the immutable ones of Appendix A;
      IPv6 traffic class, flow label, hop limit, data of hop-by-hop /
      destination options with the change-en-route bit; a routing header
      as it is), AH with the ICV
      zeroed, the payload.  Prints "N verified, B bad, U unknown SPI";
      exit 0 when N > 0 and B == U == 0.

  ahcheck.py forge PCAP SRC DST tamper|replay|replay,tamper
      takes the last AH packet from SRC to DST in PCAP and sends it again
      through a raw socket (IP_HDRINCL, r2espd's fwmark so that a
      transport-mode route into the TUN device does not catch it):
      "replay" unchanged, "tamper" with its sequence number moved far
      ahead and its ICV left as it was (the receiver must fail the ICV,
      not the replay window).  IPv6: AH onward through an IPPROTO_AH raw
      socket (the kernel writes an IPv6 header with the same immutable
      fields; only packets without extension headers are taken).
"""
import hashlib
import hmac
import socket
import struct
import sys

AUTH = {
    "HMAC-SHA-1-96": (hashlib.sha1, 12),
    "HMAC-SHA-256-128": (hashlib.sha256, 16),
    "HMAC-SHA-384-192": (hashlib.sha384, 24),
    "HMAC-SHA-512-256": (hashlib.sha512, 32),
}
V4_IMMUTABLE = {0, 1, 130, 133, 134, 148, 149}
FWMARK = 0x72326573  # r2espd's SO_MARK (espd.h ESPD_MARK)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        raise SystemExit("ahcheck: %s is not a libpcap file" % path)
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if link == 1:  # Ethernet
            if len(frame) < 14:
                continue
            et = struct.unpack(">H", frame[12:14])[0]
            if et not in (0x0800, 0x86DD):
                continue
            yield frame[14:]
        elif link in (101, 228, 229):  # raw IP
            yield frame


def ah_of(pkt):
    """(ah offset, family) of an IP packet carrying AH, or None."""
    if not pkt:
        return None
    v = pkt[0] >> 4
    if v == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        if pkt[9] == 51 and len(pkt) >= ihl + 12:
            return ihl, 4
    elif v == 6 and len(pkt) >= 40:
        nh, off = pkt[6], 40
        while nh in (0, 43, 60) and off + 8 <= len(pkt):
            nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
        if nh == 51 and len(pkt) >= off + 12:
            return off, 6
    return None


def zero_mutable(pkt, off, fam):
    z = bytearray(pkt[:off])
    if fam == 4:
        z[1] = 0
        z[6:8] = b"\0\0"
        z[8] = 0
        z[10:12] = b"\0\0"
        i = 20
        while i < off:
            t = z[i]
            if t == 0:
                break
            if t == 1:
                i += 1
                continue
            n = z[i + 1]
            if t not in V4_IMMUTABLE:
                z[i:i + n] = bytes(n)
            i += max(n, 2)
    else:
        z[0] &= 0xF0
        z[1:4] = b"\0\0\0"
        z[7] = 0
        i, nh = 40, z[6]
        while i < off:
            n = (z[i + 1] + 1) * 8
            typ, nh, j = nh, z[i], i + 2
            if typ == 43:  # routing: as at the destination (App. A.2)
                i += n
                continue
            while j < i + n:
                if z[j] == 0:
                    j += 1
                    continue
                t, ln = z[j], z[j + 1]
                if t & 0x20:
                    z[j + 2:j + 2 + ln] = bytes(ln)
                j += 2 + ln
            i += n
    return bytes(z)


def load_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            cols = [c.strip().strip('"') for c in line.strip().split('","')]
            if len(cols) < 8:
                continue
            spi = int(cols[3], 16)
            name = cols[6].split(" ")[0]
            if name not in AUTH:
                continue
            keys[(cols[2], spi)] = (AUTH[name], bytes.fromhex(cols[7][2:]))
    return keys


def addr(pkt, fam, which):
    if fam == 4:
        b = pkt[12:16] if which == "src" else pkt[16:20]
        return socket.inet_ntop(socket.AF_INET, b)
    b = pkt[8:24] if which == "src" else pkt[24:40]
    return socket.inet_ntop(socket.AF_INET6, b)


def verify(pcap, keyfile):
    keys = load_keys(keyfile)
    ok = bad = unknown = 0
    for pkt in read_pcap(pcap):
        a = ah_of(pkt)
        if not a:
            continue
        off, fam = a
        spi = struct.unpack(">I", pkt[off + 4:off + 8])[0]
        k = keys.get((addr(pkt, fam, "dst"), spi))
        if not k:
            unknown += 1
            continue
        (md, icvlen), key = k
        ahlen = (pkt[off + 1] + 2) * 4
        ah = bytearray(pkt[off:off + ahlen])
        icv = bytes(ah[12:12 + icvlen])
        ah[12:12 + icvlen] = bytes(icvlen)
        calc = hmac.new(key, zero_mutable(pkt, off, fam) + bytes(ah) + pkt[off + ahlen:], md).digest()[:icvlen]
        if hmac.compare_digest(calc, icv):
            ok += 1
        else:
            bad += 1
    print("%d verified, %d bad, %d unknown SPI" % (ok, bad, unknown))
    return 0 if ok and not bad and not unknown else 1


def forge(pcap, src, dst, hows):
    last = None
    fam = 6 if ":" in dst else 4
    for pkt in read_pcap(pcap):
        a = ah_of(pkt)
        if a and a[1] == fam and addr(pkt, fam, "src") == src and addr(pkt, fam, "dst") == dst and \
                (fam == 4 or a[0] == 40):
            last = (bytearray(pkt), a[0])
    if not last:
        print("no AH packet %s -> %s" % (src, dst))
        return 1
    orig, off = last
    if fam == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 51)
        s.bind((src, 0))
    s.setsockopt(socket.SOL_SOCKET, 36, FWMARK)  # SO_MARK
    for how in hows.split(","):
        pkt = bytearray(orig)
        if how == "tamper":
            seq = struct.unpack(">I", pkt[off + 8:off + 12])[0]
            pkt[off + 8:off + 12] = struct.pack(">I", seq + 1000)
        s.sendto(bytes(pkt if fam == 4 else pkt[off:]), (dst, 0))
        print("sent %s AH packet of %d octets" % (how, len(pkt)))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "verify":
        return verify(argv[2], argv[3])
    if len(argv) == 6 and argv[1] == "forge" and set(argv[5].split(",")) <= {"tamper", "replay"}:
        return forge(argv[2], argv[3], argv[4], argv[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
