#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/kink (run from tests/fuzz/kink: writes
../../corpus/kink/).  Mode 0 = KINK datagram, mode 1 = Quick Mode chain.
For mode 0 the KINK_ENCRYPT body is plaintext, as the harness reads it."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../unit/kink'))

def pl(nxt, body):
    return struct.pack('>BBH', nxt, 0, 4 + len(body)) + body
def pad4(b):
    return b + b'\0' * ((-len(b)) % 4)
def msg(typ, first, body, flags=0, ck=b''):
    n = 16 + len(body) + len(ck)
    return struct.pack('>BBHIIBBH', typ, 0x10, n, 1, 0x1234, first, flags, len(ck)) + body + ck

attrs = b''.join(struct.pack('>HH', 0x8000 | t, v) for t, v in
                 [(1, 1), (2, 3600), (4, 2), (5, 2), (6, 256)])
def xf(last, num, tid):
    return pl(0 if last else 3, bytes([num, tid, 0, 0]) + attrs)
prop = pl(0, bytes([1, 3, 4, 2]) + b'\x11\x22\x33\x44' + xf(False, 1, 12) + xf(True, 2, 3))
sa = pl(10, struct.pack('>II', 1, 1) + prop)
nonce = pl(5, bytes(range(16)))
idci = pl(5, bytes([4, 0, 0, 0, 198, 51, 100, 0, 255, 255, 255, 0]))
idcr = pl(0, bytes([4, 0, 0, 0, 203, 0, 113, 0, 255, 255, 255, 0]))
qm_create = sa + nonce + idci + idcr
dele = pl(0, struct.pack('>IBBH', 1, 3, 4, 1) + b'\0\0\x10\x01')
notify = pl(0, struct.pack('>IBBH', 1, 3, 4, 24) + b'\xaa\xbb\xcc\xdd' + struct.pack('>HHI', 0x8001, 1, 0))
ke = pl(0, bytes(range(64)))

def isakmp_pl(nxt, first, chain):
    return pl(nxt, bytes([first, 0x10, 0, 0]) + chain)
def enc(inner_first, inner):
    return pl(0, bytes([inner_first, 0, 0, 0]) + inner)

out = os.path.join(os.path.dirname(__file__), '../../corpus/kink')
os.makedirs(out, exist_ok=True)
seeds = {}
apreq = pl(7, struct.pack('>I', 1700000000) + bytes.fromhex('6e820100') + bytes(60))
seeds['create'] = msg(1, 1, pad4(apreq) + enc(6, isakmp_pl(0, 1, qm_create)), ck=bytes(12))
apreq_i = pl(6, struct.pack('>I', 1) + bytes.fromhex('6e8201'))
seeds['create_clear'] = msg(1, 1, pad4(apreq_i) + isakmp_pl(0, 1, qm_create))
aprep = pl(7, struct.pack('>I', 1700000001) + bytes.fromhex('6f81') + bytes(30))
seeds['reply'] = msg(3, 2, pad4(aprep) + enc(6, isakmp_pl(0, 1, sa + pl(0, bytes(16)))), ck=bytes(12))
seeds['reply_ackreq'] = msg(3, 2, pad4(aprep) + enc(6, isakmp_pl(0, 1, pl(0, sa[4:]))), flags=0x80, ck=bytes(12))
seeds['delete'] = msg(2, 1, pad4(apreq) + enc(6, isakmp_pl(0, 12, dele)), ck=bytes(12))
seeds['ack'] = msg(5, 1, pad4(pl(0, struct.pack('>I', 5) + b'\x6e\x00')), ck=bytes(12))
seeds['status'] = msg(6, 1, pad4(pl(0, struct.pack('>I', 5) + b'\x6e\x00')), ck=bytes(12))
seeds['krb_error'] = msg(3, 3, pad4(pl(0, bytes.fromhex('7e81') + bytes(20))))
seeds['kink_error'] = msg(3, 8, pl(0, struct.pack('>I', 1)))
seeds['tgt_req'] = msg(4, 4, pad4(pl(0, b'kink/host.example@EXAMPLE')))
seeds['tgt_rep'] = msg(3, 5, pad4(pl(0, bytes(40))))
seeds['enc_error'] = msg(3, 2, pad4(aprep) + enc(8, pl(0, struct.pack('>I', 5))), ck=bytes(8))
for k, v in seeds.items():
    open(os.path.join(out, k), 'wb').write(b'\0' + v)
qms = {'qm_create': (1, qm_create), 'qm_delete': (12, dele),
       'qm_notify': (11, notify), 'qm_pfs': (1, sa[:1].replace(b'\x0a', b'\x04') + sa[1:] + ke)}
for k, (f, v) in qms.items():
    open(os.path.join(out, k), 'wb').write(bytes([1, f]) + v)
