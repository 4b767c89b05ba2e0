#!/usr/bin/env python3
"""tests/lib/keys.py - IKEv2/ESP key material for capture decryption and
cross-checks (python3 standard library only).

Parses strongSwan charon logs written at level 4 for "ike"/"chd" and level 2
for "mgr" (tests/lib/charon.sh --keys sets that): SKEYSEED, SK_d/ai/ar/ei/er/
pi/pr per IKE SA (also the ones made by IKE rekeys) with their SPIs, and the
CHILD SA encryption/integrity keys with SPIs and addresses.  Writes them in
Wireshark's UAT formats, i.e. the files "ikev2_decryption_table" and "esp_sa"
that Wireshark keeps in its personal configuration directory (the same lines
are accepted one by one by tshark -o "uat:NAME:LINE"):

  ikev2_decryption_table: SPIi,SPIr,SK_ei,SK_er,"ENCR",SK_ai,SK_ar,"INTEG"
      SPIs and keys are byte fields: bare hex, no quotes, no 0x (a quoted
      value would be taken as ASCII text); ENCR/INTEG are Wireshark's enum
      names, quoted,
      e.g. "AES-CBC-128 [RFC3602]", "HMAC_SHA2_256_128 [RFC4868]"; AEAD
      ciphers use the key with its salt appended and INTEG "NONE [RFC4306]".
  esp_sa: "IPv4","SRC","DST","0xSPI","ENCR","0xKEY","AUTH","0xKEY"
      protocol "IPv4"/"IPv6"/"Any", addresses or "*", e.g.
      "AES-GCM with 16 octet ICV [RFC4106]" with "NULL" authentication.

Commands (output on stdout; a diagnostic on stderr for what cannot be
expressed in this Wireshark version, e.g. ChaCha20-Poly1305 under 4.0):
  keys.py ike-uat [--all] LOG...  ikev2_decryption_table lines (--all: also
                                SAs whose algorithms this Wireshark cannot
                                decrypt, named as charon names them; for
                                key comparisons only)
  keys.py esp-uat [--all] LOG...  esp_sa lines
  keys.py json LOG...           everything parsed, as JSON
  keys.py cmp-ike REF OTHER     every row of REF (e.g. charon's) present with
                                equal keys in OTHER (e.g. racoon2's export),
                                matched by SPI pair; exit 1 on mismatch or
                                when REF is empty (algorithm names ignored)
  keys.py cmp-esp REF OTHER     same for esp_sa rows, matched by SPI
  keys.py verify-sk PCAP UAT    decrypt every IKEv2 SK payload protected by
                                ChaCha20-Poly1305 (RFC 7634) and check its
                                tag: the oracle tshark 4.0 lacks; exit 1
                                unless every SK payload verified
  keys.py pcap-has-udp PCAP PORT  exit 0 if a UDP datagram to PORT is in
                                the (possibly still growing) capture
  keys.py split-export FILE IKE_OUT ESP_OUT
                                split a mixed key export into the two UATs
  keys.py filter-uat ike|esp FILE  only lines this Wireshark can use
  keys.py cmp-logs LOG_A LOG_B  the IKE SAs (SKEYSEED, every SK_*) and CHILD
                                SAs (keys by SPI) both logs have, equal
  keys.py corrupt-ike FILE      the UAT with one bit of every row's SK_ai
                                (SK_ei for AEAD) flipped: negative control
  keys.py uat-args NAME FILE    one "-o" "uat:NAME:LINE" pair per line (NUL
                                separated) for tshark command lines
  keys.py ike-payloads JSON     one line per IKEv2 message of a "tshark -T
                                json" dump ("-" = stdin), the SK payload's
                                decrypted contents included:
                                FRAME EXCH request|response MID SRC
                                PAYLOAD... (SRC: the sender's address)
                                with payloads named SA KE Ni IDi IDr AUTH
                                SK CP ..., notifies as N(TYPE), deletes as
                                D(PROTOCOL) (numbers: 1 IKE, 3 ESP),
                                traffic selectors as TSi(START-END/PROTO/
                                PORTLO-PORTHI,...) and an SK payload that
                                was not decrypted as SK?

Nothing here keeps state; the parsed secrets only go to stdout.
"""

import csv
import json
import re
import sys

# charon transform names -> Wireshark 4.0 IKEv2 UAT enum strings.
IKE_ENCR = {
    "AES_CBC_128": "AES-CBC-128 [RFC3602]",
    "AES_CBC_192": "AES-CBC-192 [RFC3602]",
    "AES_CBC_256": "AES-CBC-256 [RFC3602]",
    "AES_CTR_128": "AES-CTR-128 [RFC5930]",
    "AES_CTR_192": "AES-CTR-192 [RFC5930]",
    "AES_CTR_256": "AES-CTR-256 [RFC5930]",
    "3DES_CBC": "3DES [RFC2451]",
    "NULL": "NULL [RFC2410]",
}
for _icv in (8, 12, 16):
    for _k in (128, 192, 256):
        IKE_ENCR["AES_GCM_%d_%d" % (_icv, _k)] = \
            "AES-GCM-%d with %d octet ICV [RFC5282]" % (_k, _icv)
        IKE_ENCR["AES_CCM_%d_%d" % (_icv, _k)] = \
            "AES-CCM-%d with %d octet ICV [RFC5282]" % (_k, _icv)
IKE_INTEG = {
    "HMAC_MD5_96": "HMAC_MD5_96 [RFC2403]",
    "HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]",
    None: "NONE [RFC4306]",
}
# charon ESP names (prefix match on the cipher) -> Wireshark esp_sa enums.
ESP_ENCR = [
    ("AES_GCM_16", "AES-GCM with 16 octet ICV [RFC4106]"),
    ("AES_GCM_12", "AES-GCM with 12 octet ICV [RFC4106]"),
    ("AES_GCM_8", "AES-GCM with 8 octet ICV [RFC4106]"),
    ("AES_CBC", "AES-CBC [RFC3602]"),
    ("AES_CTR", "AES-CTR [RFC3686]"),
    ("3DES_CBC", "TripleDES-CBC [RFC2451]"),
    ("NULL", "NULL"),
]
ESP_AUTH = {
    "HMAC_SHA1_96": "HMAC-SHA-1-96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC-SHA-256-128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC-SHA-384-192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC-SHA-512-256 [RFC4868]",
    "HMAC_MD5_96": "HMAC-MD5-96 [RFC2403]",
    None: "NULL",
}

# "08:27:23 02[IKE] <c|1> Sk_ei secret => 16 bytes @ 0x7fcc14001ee0"
LINE = re.compile(r"^\S+ (\d+)\[(\w+)\] (?:<[^>]*> )?(.*)$")
DUMP_HEAD = re.compile(r"^(.*?) => (\d+) bytes @ 0x[0-9a-f]+$")
DUMP_LINE = re.compile(r"^\s+\d+: (.*)$")
IKE_KEYS = {"SKEYSEED": "skeyseed", "Sk_d secret": "sk_d",
            "Sk_ai secret": "sk_ai", "Sk_ar secret": "sk_ar",
            "Sk_ei secret": "sk_ei", "Sk_er secret": "sk_er",
            "Sk_pi secret": "sk_pi", "Sk_pr secret": "sk_pr"}
CHILD_KEYS = {"encryption initiator key": "encr_i",
              "encryption responder key": "encr_r",
              "integrity initiator key": "integ_i",
              "integrity responder key": "integ_r"}


def split_proposal(text):
    """'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048' ->
    dict(encr, integ, prf, dh, esn)."""
    proto, _, algs = text.partition(":")
    out = {"proto": proto, "encr": None, "integ": None, "prf": None,
           "dh": None, "esn": None}
    for a in algs.split("/"):
        if a.startswith("PRF_"):
            out["prf"] = a
        elif a.startswith(("HMAC_", "AES_XCBC", "AES_CMAC")):
            out["integ"] = a
        elif a.startswith(("MODP_", "ECP_", "CURVE_", "ECP", "MODP")):
            out["dh"] = a
        elif a in ("NO_EXT_SEQ", "EXT_SEQ"):
            out["esn"] = a
        elif out["encr"] is None:
            out["encr"] = a
    return out


def parse_charon(path):
    """Return (ike_sas, child_sas) found in one charon log."""
    ikes, children = [], []
    pend_dump = {}            # thread -> [name, remaining, bytearray]
    cur_ike = {}              # thread -> IKE key record being filled
    cur_child = {}            # thread -> CHILD record being filled
    last_ike_prop = {}        # thread -> proposal dict
    last_esp_prop = {}
    last_parsed = {}          # thread -> "request" | "response"
    waiting_uid = []          # IKE records waiting for "=> ESTABLISHED"
    by_uid = {}               # unique id -> IKE record
    glob_ike_prop = None
    glob_esp_prop = None

    def finish_dump(th, name, data):
        hexs = data.hex()
        if name in IKE_KEYS:
            rec = cur_ike.get(th)
            if name == "SKEYSEED" or rec is None or IKE_KEYS[name] in rec:
                rec = {"proposal": last_ike_prop.get(th, glob_ike_prop)}
                cur_ike[th] = rec
                ikes.append(rec)
                waiting_uid.append(rec)
            rec[IKE_KEYS[name]] = hexs
        elif name in CHILD_KEYS:
            rec = cur_child.get(th)
            if rec is None or CHILD_KEYS[name] in rec or "done" in rec:
                rec = {"proposal": last_esp_prop.get(th, glob_esp_prop),
                       "initiator": last_parsed.get(th) == "response"}
                cur_child[th] = rec
                children.append(rec)
            rec[CHILD_KEYS[name]] = hexs

    pending_sa_dir = {}
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            th, _grp, msg = m.groups()
            if th in pend_dump:
                name, remaining, buf = pend_dump[th]
                dm = DUMP_LINE.match(msg)
                if dm:
                    toks = dm.group(1).split(" ")
                    take = min(16, remaining)
                    got = 0
                    for t in toks:
                        if got == take:
                            break
                        if re.fullmatch(r"[0-9A-Fa-f]{2}", t):
                            buf.append(int(t, 16))
                            got += 1
                        elif t == "":
                            continue
                        else:
                            break
                    remaining -= got
                    if remaining <= 0:
                        del pend_dump[th]
                        finish_dump(th, name, buf)
                    else:
                        pend_dump[th] = [name, remaining, buf]
                    continue
                del pend_dump[th]   # truncated dump: drop it
            dh = DUMP_HEAD.match(msg)
            if dh:
                name, n = dh.group(1).strip(), int(dh.group(2))
                if name in IKE_KEYS or name in CHILD_KEYS:
                    if n == 0:
                        finish_dump(th, name, bytearray())
                    else:
                        pend_dump[th] = [name, n, bytearray()]
                continue
            pm = re.search(r"selected proposal: ((IKE|ESP|AH):\S+)", msg)
            if pm:
                p = split_proposal(pm.group(1))
                if pm.group(2) == "IKE":
                    last_ike_prop[th] = glob_ike_prop = p
                else:
                    last_esp_prop[th] = glob_esp_prop = p
                continue
            pm = re.search(r"parsed \S+ (request|response) \d+", msg)
            if pm:
                last_parsed[th] = pm.group(1)
                continue
            pm = re.search(r"IKE_SA \S*\[(\d+)\] state change: \S+ => "
                           r"ESTABLISHED", msg)
            if pm:
                uid = pm.group(1)
                if uid not in by_uid and waiting_uid:
                    rec = waiting_uid.pop(0)
                    rec["uid"] = uid
                    by_uid[uid] = rec
                continue
            pm = re.search(r"checkin IKEv2 SA \S*\[(\d+)\] with SPIs "
                           r"([0-9a-f]{16})_i ([0-9a-f]{16})_r", msg)
            if pm:
                rec = by_uid.get(pm.group(1))
                if rec is not None and pm.group(3) != "0" * 16 and \
                        "spi_i" not in rec:
                    rec["spi_i"], rec["spi_r"] = pm.group(2), pm.group(3)
                continue
            pm = re.search(r"(?:adding|registering) (inbound|outbound) (ESP|AH) SA", msg)
            if pm:
                pending_sa_dir[th] = pm.group(1)
                continue
            pm = re.search(r"SPI 0x([0-9a-f]{8}), src (\S+) dst (\S+)", msg)
            if pm and th in pending_sa_dir:
                d = pending_sa_dir.pop(th)
                rec = cur_child.get(th)
                # make_before_break: the outbound SA is "registered" with
                # the keys and "added" later, maybe by another thread that
                # once derived other keys; the first mention wins.
                if rec is not None and d not in rec:
                    rec[d] = {"spi": pm.group(1), "src": pm.group(2),
                              "dst": pm.group(3)}
                    if "inbound" in rec and "outbound" in rec:
                        rec["done"] = True
                continue
    for rec in ikes:
        rec.pop("done", None)
    for rec in children:
        rec.pop("done", None)
    return ikes, children


def ike_uat_lines(ikes, everything=False):
    out = []
    for r in ikes:
        if "spi_i" not in r:
            print("keys.py: IKE SA without SPIs (mgr log level < 2?)",
                  file=sys.stderr)
            continue
        p = r.get("proposal") or {}
        enc = IKE_ENCR.get(p.get("encr"))
        integ = IKE_INTEG.get(p.get("integ"), None) \
            if p.get("integ") else IKE_INTEG[None]
        if everything:
            enc = enc or p.get("encr")
            integ = integ or p.get("integ")
        if enc is None or integ is None:
            print("keys.py: %s/%s not decryptable by this Wireshark; "
                  "SPIs %s %s skipped" % (p.get("encr"), p.get("integ"),
                                          r["spi_i"], r["spi_r"]),
                  file=sys.stderr)
            continue
        out.append('%s,%s,%s,%s,"%s",%s,%s,"%s"' % (
            r["spi_i"], r["spi_r"], r.get("sk_ei", ""), r.get("sk_er", ""),
            enc, r.get("sk_ai", ""), r.get("sk_ar", ""), integ))
    return out


def esp_enc_name(encr):
    for prefix, name in ESP_ENCR:
        if encr and encr.startswith(prefix):
            return name
    return None


def esp_uat_lines(children, everything=False):
    out = []
    for c in children:
        p = c.get("proposal") or {}
        enc = esp_enc_name(p.get("encr"))
        auth = ESP_AUTH.get(p.get("integ")) if p.get("integ") \
            else ESP_AUTH[None]
        if everything:
            enc = enc or p.get("encr")
            auth = auth or p.get("integ")
        if enc is None or auth is None:
            print("keys.py: ESP %s/%s not decryptable by this Wireshark"
                  % (p.get("encr"), p.get("integ")), file=sys.stderr)
            continue
        # The child initiator's outbound SA uses the initiator keys.
        for d in ("outbound", "inbound"):
            sa = c.get(d)
            if not sa:
                continue
            ini = (d == "outbound") == c.get("initiator", False)
            ek = c.get("encr_i" if ini else "encr_r", "")
            ak = c.get("integ_i" if ini else "integ_r", "")
            fam = "IPv6" if ":" in sa["src"] else "IPv4"
            out.append('"%s","%s","%s","0x%s","%s","0x%s","%s","%s"' % (
                fam, sa["src"], sa["dst"], sa["spi"], enc, ek, auth,
                ("0x" + ak) if ak else ""))
    return out


def read_uat(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for r in csv.reader([line]):
                rows.append([x.strip() for x in r])
    return rows


def cmp_uat(ref, other, key, cols):
    """Rows of REF must be in OTHER (matched by key) with equal cols;
    algorithm names are not compared (each side spells them its way)."""
    # Empty keys may be written "" or "0x" (AEAD has no integrity key).
    norm = lambda x: "" if x.lower() in ("", "0x") else x.lower()
    low = lambda rows: [[norm(x) for x in r] for r in rows if len(r) >= 8]
    a, b = low(read_uat(ref)), low(read_uat(other))
    idx = {key(r): r for r in b}
    bad = 0
    for r in a:
        o = idx.get(key(r))
        if o is None:
            print("missing in %s: %s" % (other, " ".join(key(r))))
            bad += 1
        elif [r[i] for i in cols] != [o[i] for i in cols]:
            print("differs for %s:\n  ref   %s\n  other %s"
                  % (" ".join(key(r)), r, o))
            bad += 1
    print("%d of %d rows equal" % (len(a) - bad, len(a)))
    return 1 if bad or not a else 0


def split_export(path, ike_out, esp_out):
    """An export file may hold both kinds of lines: ikev2_decryption_table
    lines start with the bare 16-hex-digit SPIi, esp_sa lines with the
    quoted protocol ("IPv4", "IPv6", "Any")."""
    n_ike = n_esp = 0
    with open(path) as f, open(ike_out, "w") as fi, open(esp_out, "w") as fe:
        for line in f:
            t = line.strip()
            if re.match(r"^[0-9a-fA-F]{16},", t):
                fi.write(t + "\n")
                n_ike += 1
            elif re.match(r'^"(IPv4|IPv6|Any)",', t):
                fe.write(t + "\n")
                n_esp += 1
    print("%d ikev2_decryption_table lines, %d esp_sa lines" % (n_ike, n_esp))
    return 0


def filter_uat(kind, path):
    """Keep the lines whose algorithm names this Wireshark knows (an unknown
    enum value would make it reject the whole UAT file)."""
    if kind == "ike":
        ok_e, ok_i, ie, ii = set(IKE_ENCR.values()), set(IKE_INTEG.values()), 4, 7
    else:
        ok_e = set(n for _, n in ESP_ENCR)
        ok_i, ie, ii = set(ESP_AUTH.values()), 4, 6
    for r in read_uat(path):
        if len(r) >= 8 and r[ie] in ok_e and r[ii] in ok_i:
            if kind == "ike":
                print('%s,%s,%s,%s,"%s",%s,%s,"%s"' % tuple(r[:8]))
            else:
                print(",".join('"%s"' % x for x in r[:8]))
        else:
            print("keys.py: not for this Wireshark: %s" % ",".join(r[:2]),
                  file=sys.stderr)
    return 0


def cmp_logs(pa, pb):
    ia, ca = parse_charon(pa)
    ib, cb = parse_charon(pb)
    fields = ("skeyseed", "sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er",
              "sk_pi", "sk_pr")
    bi = {(r.get("spi_i"), r.get("spi_r")): r for r in ib}
    bad = 0
    for r in ia:
        k = (r.get("spi_i"), r.get("spi_r"))
        o = bi.get(k)
        if o is None:
            print("IKE SA %s_i %s_r only in %s" % (k + (pa,)))
            bad += 1
        else:
            diff = [f for f in fields if r.get(f) != o.get(f)]
            if diff:
                print("IKE SA %s_i %s_r: %s differ" % (k + (",".join(diff),)))
                bad += 1

    def child_map(children):
        m = {}
        for c in children:
            for d in ("inbound", "outbound"):
                if d in c:
                    ini = (d == "outbound") == c.get("initiator", False)
                    m[c[d]["spi"]] = (c.get("encr_i" if ini else "encr_r"),
                                      c.get("integ_i" if ini else "integ_r"))
        return m
    ma, mb = child_map(ca), child_map(cb)
    for spi, keys in ma.items():
        if mb.get(spi) != keys:
            print("ESP SA %s: keys differ or missing" % spi)
            bad += 1
    print("%d IKE SAs, %d ESP SAs compared, %d differences"
          % (len(ia), len(ma), bad))
    return 1 if bad or not ia else 0


def corrupt_ike(path):
    rows = read_uat(path)
    if not rows:
        return 1
    for r in rows:
        i = 5 if r[5] else 2
        r[i] = "%x" % (int(r[i][0], 16) ^ 1) + r[i][1:]
        print('%s,%s,%s,%s,"%s",%s,%s,"%s"' % tuple(r))
    return 0


# ---- ChaCha20-Poly1305 (RFC 8439) for IKEv2 SK payloads (RFC 7634), which
# tshark 4.0 cannot decrypt.  Pure Python: slow, but IKE captures are small.

def _rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def _chacha_block(key, counter, nonce):
    import struct
    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    st += list(struct.unpack("<8L", key)) + [counter]
    st += list(struct.unpack("<3L", nonce))
    x = st[:]

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xffffffff; x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xffffffff; x[b] = _rotl(x[b] ^ x[c], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<16L", *[(a + b) & 0xffffffff for a, b in zip(x, st)])


def _chacha_xor(key, counter, nonce, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = _chacha_block(key, counter + i // 64, nonce)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], ks))
    return bytes(out)


def _poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s_ = int.from_bytes(key[16:32], "little")
    p, acc = (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        n = int.from_bytes(msg[i:i + 16] + b"\x01", "little")
        acc = (acc + n) * r % p
    return ((acc + s_) & ((1 << 128) - 1)).to_bytes(16, "little")


def chacha20poly1305_open(key, nonce, aad, ct, tag):
    """Plaintext, or None when the tag is wrong."""
    import hmac
    otk = _chacha_block(key, 0, nonce)[:32]
    pad = lambda b: b"\x00" * (-len(b) % 16)
    mac = aad + pad(aad) + ct + pad(ct) + len(aad).to_bytes(8, "little") \
        + len(ct).to_bytes(8, "little")
    if not hmac.compare_digest(_poly1305(otk, mac), tag):
        return None
    return _chacha_xor(key, 1, nonce, ct)


def pcap_udp(path):
    """(frame, sport, dport, payload) for each UDP datagram in a classic
    pcap file (Ethernet, Linux cooked or raw IP link types)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(e + "L", data[20:24])[0]
    off, frame = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(e + "L", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        frame += 1
        if link == 1:
            et, l3 = struct.unpack(">H", pkt[12:14])[0], pkt[14:]
            while et == 0x8100 and len(l3) >= 4:
                et, l3 = struct.unpack(">H", l3[2:4])[0], l3[4:]
        elif link == 113:
            et, l3 = struct.unpack(">H", pkt[14:16])[0], pkt[16:]
        elif link in (101, 12):
            l3 = pkt
            et = 0x0800 if pkt and pkt[0] >> 4 == 4 else 0x86dd
        else:
            return
        if et == 0x0800 and len(l3) >= 20:
            ihl = (l3[0] & 15) * 4
            if l3[9] != 17:
                continue
            udp = l3[ihl:]
        elif et == 0x86dd and len(l3) >= 40:
            if l3[6] != 17:    # no extension headers in our tests
                continue
            udp = l3[40:]
        else:
            continue
        if len(udp) < 8:
            continue
        sp, dp = struct.unpack(">HH", udp[:4])
        yield frame, sp, dp, udp[8:]


def verify_sk(pcap, uat):
    """Decrypt every IKEv2 SK payload protected by ChaCha20-Poly1305 with
    the keys of UAT; the others are counted as "other"."""
    import struct
    keys = {}
    for r in read_uat(uat):
        if len(r) >= 8:
            keys[(r[0].lower(), r[1].lower())] = r
    n = ok = bad = nokey = other = 0
    for frame, sp, dp, pl in pcap_udp(pcap):
        if 4500 in (sp, dp):
            if pl[:4] != b"\x00\x00\x00\x00":
                continue          # ESP in UDP (RFC 3948) or keepalive
            pl = pl[4:]
        elif 500 not in (sp, dp):
            continue
        if len(pl) < 28:
            continue
        spi_i, spi_r = pl[:8].hex(), pl[8:16].hex()
        np_, flags = pl[16], pl[19]
        off = 28
        # RFC 7296 §3.2: walk the generic payload headers up to SK (46).
        while np_ not in (0, 46) and off + 4 <= len(pl):
            nxt, plen = pl[off], struct.unpack(">H", pl[off + 2:off + 4])[0]
            if plen < 4:
                break
            np_, off = nxt, off + plen
        if np_ != 46 or off + 4 > len(pl):
            continue
        n += 1
        row = keys.get((spi_i, spi_r))
        if row is None:
            nokey += 1
            continue
        if "chacha" not in row[4].lower():
            other += 1
            continue
        plen = struct.unpack(">H", pl[off + 2:off + 4])[0]
        body = pl[off + 4:off + plen]
        # RFC 5282 §5.1 / RFC 7634 §3: AAD = IKE header .. SK header.
        aad, iv, ct, tag = pl[:off + 4], body[:8], body[8:-16], body[-16:]
        km = bytes.fromhex(row[2] if flags & 0x08 else row[3])
        pt = chacha20poly1305_open(km[:32], km[32:36] + iv, aad, ct, tag)
        if pt is None:
            bad += 1
            print("frame %d: ICV (Poly1305 tag) incorrect" % frame)
        else:
            ok += 1
    print("sk=%d verified=%d badicv=%d nokey=%d other=%d"
          % (n, ok, bad, nokey, other))
    return 0 if n and ok == n else 1


# RFC 7296 §3.2 payload types -> short names (as charon logs them).
PAYLOAD_NAMES = {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT",
                 38: "CERTREQ", 39: "AUTH", 40: "No", 41: "N", 42: "D",
                 43: "V", 44: "TSi", 45: "TSr", 46: "SK", 47: "CP",
                 48: "EAP", 53: "SKF"}
EXCH_NAMES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA",
              37: "INFORMATIONAL"}


def _pairs(v):
    """tshark -T json repeats keys in one object: parsed with
    object_pairs_hook=list every object is a list of (key, value)."""
    return v if isinstance(v, list) and all(
        isinstance(x, tuple) for x in v) else []


def _first(pairs, key):
    for k, v in pairs:
        if k == key:
            return v
    return None


def _ts_text(tree):
    out = []
    for k, v in tree:
        if k != "isakmp.ts.data":
            continue
        f = dict((a, b) for a, b in _pairs(v) if not isinstance(b, list))
        lo = f.get("isakmp.ts.start_ipv4", f.get("isakmp.ts.start_ipv6"))
        hi = f.get("isakmp.ts.end_ipv4", f.get("isakmp.ts.end_ipv6"))
        out.append("%s-%s/%s/%s-%s" % (lo, hi, f.get("isakmp.ts.protoid"),
                                       f.get("isakmp.ts.start_port"),
                                       f.get("isakmp.ts.end_port")))
    return ",".join(out)


def _payloads(pairs):
    """Names of the payloads listed in one isakmp (or decrypted SK) tree."""
    names = []
    cur = None
    for k, v in pairs:
        if k == "isakmp.typepayload":
            cur = int(v)
            continue
        if k != "isakmp.typepayload_tree" or cur is None:
            continue
        tree = _pairs(v)
        if cur == 41:
            names.append("N(%s)" % _first(tree, "isakmp.notify.msgtype"))
        elif cur == 42:
            names.append("D(%s)" % _first(tree, "isakmp.delete.protoid"))
        elif cur in (44, 45):
            names.append("%s(%s)" % (PAYLOAD_NAMES[cur], _ts_text(tree)))
        elif cur == 46:
            dec = _first(tree, "isakmp.enc.decrypted")
            if dec is None:
                names.append("SK?")
            else:
                # An empty SK (e.g. a liveness check) has no "contained".
                names.append("SK")
                inner = _first(_pairs(dec), "isakmp.enc.contained")
                names += _payloads(_pairs(inner)) if inner else []
        else:
            names.append(PAYLOAD_NAMES.get(cur, str(cur)))
        cur = None
    return names


def ike_payloads(path):
    f = sys.stdin if path == "-" else open(path)
    with f:
        frames = json.load(f, object_pairs_hook=list)
    for fr in frames:
        src = _first(_pairs(fr), "_source")
        layers = _pairs(_first(_pairs(src), "layers"))
        num = _first(_pairs(_first(layers, "frame")), "frame.number")
        src = _first(_pairs(_first(layers, "ip")), "ip.src") or \
            _first(_pairs(_first(layers, "ipv6")), "ipv6.src")
        for k, v in layers:
            if k != "isakmp":
                continue
            top = _pairs(v)
            x = int(_first(top, "isakmp.exchangetype") or 0)
            fl = int(_first(top, "isakmp.flags") or "0", 16)
            mid = int(_first(top, "isakmp.messageid") or "0", 16)
            print("%s %s %s %d %s %s" % (
                num, EXCH_NAMES.get(x, str(x)),
                "response" if fl & 0x20 else "request", mid, src,
                " ".join(_payloads(top))))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    everything = "--all" in args
    args = [a for a in args if a != "--all"]
    if cmd in ("ike-uat", "esp-uat", "json"):
        ikes, children = [], []
        for p in args:
            i, c = parse_charon(p)
            ikes += i
            children += c
        if cmd == "ike-uat":
            lines = ike_uat_lines(ikes, everything)
        elif cmd == "esp-uat":
            lines = esp_uat_lines(children, everything)
        else:
            lines = [json.dumps({"ike": ikes, "child": children}, indent=1)]
        for ln in lines:
            print(ln)
        return 0
    if cmd == "cmp-ike" and len(args) == 2:
        return cmp_uat(args[0], args[1], lambda r: (r[0], r[1]),
                       (0, 1, 2, 3, 5, 6))
    if cmd == "cmp-esp" and len(args) == 2:
        return cmp_uat(args[0], args[1], lambda r: (r[3],), (1, 2, 3, 5, 7))
    if cmd == "pcap-has-udp" and len(args) == 2:
        try:
            return 0 if any(dp == int(args[1]) for _, _, dp, _ in
                            pcap_udp(args[0])) else 1
        except (OSError, IndexError, ValueError):
            return 1
    if cmd == "verify-sk" and len(args) == 2:
        return verify_sk(args[0], args[1])
    if cmd == "split-export" and len(args) == 3:
        return split_export(*args)
    if cmd == "filter-uat" and len(args) == 2 and args[0] in ("ike", "esp"):
        return filter_uat(args[0], args[1])
    if cmd == "cmp-logs" and len(args) == 2:
        return cmp_logs(args[0], args[1])
    if cmd == "corrupt-ike" and len(args) == 1:
        return corrupt_ike(args[0])
    if cmd == "ike-payloads" and len(args) == 1:
        return ike_payloads(args[0])
    if cmd == "uat-args" and len(args) == 2:
        with open(args[1]) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    sys.stdout.write("-o\0uat:%s:%s\0" % (args[0], line))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
