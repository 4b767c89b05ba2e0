#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/isakmp (writes ../../corpus/isakmp/): the
codec test vectors as datagrams, the encrypted-body ones with the E flag
set and the plaintext chain as the 'ciphertext' (the harness parses it so)."""
import os, struct, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '../../unit/ikev1'))
import gen_codec_vectors as v

def wrap(np, exch, body):
    return struct.pack('>QQBBBBII', 0x0102030405060708, 0x1112131415161718, np, 0x10,
                       exch, 1, 0x01020304, 28 + len(body)) + body

out = os.path.join(here, '../../corpus/isakmp')
os.makedirs(out, exist_ok=True)
seeds = {'mm1': v.mm1, 'mm3': v.mm3,
         'mm5_enc': wrap(5, 2, v.mm5_plain),
         'qm1_enc': wrap(8, 32, v.qm1_plain),
         'info_enc': wrap(8, 5, v.info_plain)}
for name, b in seeds.items():
    open(os.path.join(out, name), 'wb').write(b)
