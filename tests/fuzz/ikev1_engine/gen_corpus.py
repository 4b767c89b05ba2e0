#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/ikev1_engine (writes ../../corpus/ikev1_engine/):
mode 0 = Main Mode datagrams to a responder, mode 1 = plaintext records on
an established pair (the harness adds headers, HASH and encryption)."""
import os, struct, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '../../unit/ikev1'))
import gen_codec_vectors as v

def pl(nxt, body):
    return struct.pack('>BBH', nxt, 0, 4 + len(body)) + body
def tv(t, val):
    return struct.pack('>HH', 0x8000 | t, val)
SA, KE, ID, HASH, NONCE, N, D = 1, 4, 5, 8, 10, 11, 12

# mode 0: an MM1 the harness's responder accepts (AES-128, SHA1, ECP-256,
# PSK), then a message 3 with a bad KE
t = bytes([1, 1, 0, 0]) + tv(1, 7) + tv(14, 128) + tv(2, 2) + tv(4, 19) + tv(3, 1) + tv(11, 1) + tv(12, 3600)
prop = bytes([1, 1, 0, 1]) + pl(0, t)
sa = struct.pack('>II', 1, 1) + pl(0, prop)
def hdr(np, exch, flags, mid, body, rc=0):
    return struct.pack('>QQBBBBII', 0x0102030405060708, rc, np, 0x10, exch, flags, mid, 28 + len(body)) + body
mm1 = hdr(SA, 2, 0, 0, pl(0, sa))
mm3 = hdr(KE, 2, 0, 0, pl(NONCE, bytes(64)) + pl(0, bytes(16)), rc=0x1112131415161718)
# ... and the same with NAT-T (RFC 3947 VID in MM1, two NAT-D in MM3)
VID, NATD_ = 13, 20
mm1_natt = hdr(SA, 2, 0, 0, pl(VID, sa) + pl(0, bytes.fromhex('4a131c81070358455c5728f20e95452f')))
mm3_natt = hdr(KE, 2, 0, 0, pl(NONCE, bytes(64)) + pl(NATD_, bytes(16)) + pl(NATD_, bytes(20)) + pl(0, bytes(20)),
               rc=0x1112131415161718)
def dgrams(*ms):
    return bytes([0]) + b''.join(struct.pack('>H', len(m)) + m for m in ms)

# mode 1: a Quick Mode 1 the responder accepts (IDs mirror its
# selectors, ESP AES-128 + SHA1 tunnel, PFS group 19 with the P-256
# generator as KE), an Informational Delete, a R-U-THERE
G = bytes.fromhex('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'
                  '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5')
qx = bytes([1, 12, 0, 0]) + tv(1, 1) + tv(2, 600) + tv(3, 19) + tv(4, 1) + tv(5, 2) + tv(6, 128)
qprop = bytes([1, 3, 4, 1]) + b'\xc0\x00\x00\x01' + pl(0, qx)
qsa = struct.pack('>II', 1, 1) + pl(0, qprop)
idci = bytes([1, 0, 0, 0, 1, 0, 0, 0])
idcr = bytes([1, 0, 0, 0, 2, 0, 0, 0])
qm1 = pl(SA, bytes(20)) + pl(NONCE, qsa) + pl(KE, bytes(range(32))) + pl(ID, G) + pl(ID, idci) + pl(0, idcr)
dele = pl(D, bytes(20)) + pl(0, struct.pack('>IBBH', 1, 3, 4, 1) + b'\xc0\x00\x00\x01')
rut = pl(N, bytes(20)) + pl(0, struct.pack('>IBBH', 1, 1, 16, 36136) + bytes(16) + b'\0\0\0\1')
def rec(exch, mid, first, chain):
    return struct.pack('>BIBH', exch, mid, first, len(chain)) + chain

# modes 2 and 3: the last Phase 1 message sealed by the harness: an ID,
# a CERT (garbage DER) and a SIG of P-256's size; HASH_I with NAT-D and
# INITIAL-CONTACT
CERT, SIG, NATD = 6, 9, 20
idii = bytes([1, 17, 1, 244, 1, 0, 0, 0])
last5 = pl(CERT, idii) + pl(SIG, bytes([4]) + bytes(range(40))) + pl(0, bytes(64))
ic = struct.pack('>IBBH', 1, 1, 16, 24578) + bytes(16)
last3 = pl(N, bytes(20)) + pl(0, ic)
def rec3(first, chain):
    return struct.pack('>BH', first, len(chain)) + chain

out = os.path.join(here, '../../corpus/ikev1_engine')
os.makedirs(out, exist_ok=True)
seeds = {
    'mm_raw': dgrams(mm1, mm3),
    'mm_natt': dgrams(mm1_natt, mm3_natt),
    'mm_codec_vector': dgrams(v.mm1, v.mm3),
    'qm1': bytes([1]) + rec(32, 0x11223344, HASH, qm1),
    'qm1_then_replay': bytes([1]) + rec(32, 0x11223344, HASH, qm1) + rec(32, 0x11223344, HASH, qm1),
    'delete_to_initiator': bytes([1]) + rec(0x85, 0x55667788, HASH, dele),
    'info_rut': bytes([1]) + rec(5, 0x01020304, HASH, rut),
    'mm5_sig': bytes([2]) + rec3(ID, last5),
    'am3_hash': bytes([3]) + rec3(HASH, last3),
    'am1_raw': dgrams(hdr(SA, 4, 0, 0, pl(KE, sa) + pl(NONCE, bytes(256)) + pl(ID, bytes(32)) + pl(0, idii))),
}
for name, b in seeds.items():
    open(os.path.join(out, name), 'wb').write(b)
