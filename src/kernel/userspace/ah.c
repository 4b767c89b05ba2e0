/*
 * ah.c - AH engine (RFC 4302) for the userspace data plane; see ah.h.
 *
 * The ICV is computed over a copy of the IP header (at most
 * AH_MAX_IPHDR octets) in which the mutable fields are zeroed, a copy of
 * the AH header with the ICV zeroed, then the payload where it lies.
 * Nothing is allocated per packet.  Received packets are parsed only
 * through struct rd.
 */
#include "kernel/userspace/ah.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/rd.h"

#define IPPROTO_AH_ 51

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t ah_hdr_len(const struct esp_sa *sa, int af)
{
	size_t n = 12u + sa->icv_len, align = af == AF_INET6 ? 8 : 4;

	return (n + align - 1) / align * align;
}

/* RFC 4302 Appendix A.1: IPv4 options that are immutable; every other
 * option is zeroed in its entirety (type and length included). */
static bool v4opt_immutable(uint8_t type)
{
	switch (type) {
	case 0:	  /* End of Options List */
	case 1:	  /* No Operation */
	case 130: /* Security */
	case 133: /* Extended Security */
	case 134: /* Commercial Security */
	case 148: /* Router Alert */
	case 149: /* Sender Directed Multi-Destination Delivery */
		return true;
	default:
		return false;
	}
}

/* IPv4 header of ihl octets: check the options' framing and, when z is
 * set, zero the mutable fields of z (a copy) - RFC 4302 §3.3.3.1.1. */
static int v4_walk(const uint8_t *h, size_t ihl, uint8_t *z)
{
	struct rd r = rd_init(h + 20, ihl - 20);

	if (z) {
		z[1] = 0;	   /* TOS / DSCP + ECN */
		z[6] = z[7] = 0;   /* flags, fragment offset */
		z[8] = 0;	   /* TTL */
		z[10] = z[11] = 0; /* header checksum */
	}
	while (rd_left(&r)) {
		size_t at = ihl - rd_left(&r);
		uint8_t type, olen;

		if (rd_u8(&r, &type) < 0)
			return ESP_E_SHORT;
		if (type == 0) /* EOL: the rest is padding, kept */
			break;
		if (type == 1)
			continue;
		/* RFC 791: type, length (>= 2, covering type and length) */
		if (rd_u8(&r, &olen) < 0 || olen < 2 ||
		    rd_skip(&r, (size_t)olen - 2) < 0)
			return ESP_E_SHORT;
		if (z && !v4opt_immutable(type))
			memset(z + at, 0, olen);
	}
	return 0;
}

/* IPv6 hop-by-hop / destination options header body (after the first two
 * octets), len octets at h: RFC 8200 §4.2 framing; with z, zero the data
 * of options whose type has the change-en-route bit (0x20) set - RFC
 * 4302 §3.3.3.1.2.2. */
static int v6_opts_walk(const uint8_t *h, size_t len, uint8_t *z)
{
	struct rd r = rd_init(h, len);

	while (rd_left(&r)) {
		uint8_t type, olen;
		size_t at;

		if (rd_u8(&r, &type) < 0)
			return ESP_E_SHORT;
		if (type == 0) /* Pad1 */
			continue;
		if (rd_u8(&r, &olen) < 0)
			return ESP_E_SHORT;
		at = len - rd_left(&r);
		if (rd_skip(&r, olen) < 0)
			return ESP_E_SHORT;
		if (z && (type & 0x20))
			memset(z + at, 0, olen);
	}
	return 0;
}

/*
 * One IPv6 extension header that may precede AH, of type nh at off in
 * pkt (RFC 4302 §3.1.1: hop-by-hop, routing, destination options; a
 * fragment header is not, §3.4.1: AH is verified after reassembly):
 * *n its length, *next its next header.  With z (a copy of pkt's
 * headers), the data of options that change en route is zeroed
 * (§3.3.3.1.2.2).  A routing header is in the ICV as it will be at the
 * destination (Appendix A.2: mutable but predictable); with segments
 * left 0 that is as it is, otherwise we would have to compute the final
 * address order per routing type: refused (AH_E_ROUTING).
 */
static int v6_ext(const uint8_t *pkt, size_t len, size_t off, uint8_t nh,
		  size_t *n, uint8_t *next, uint8_t *z)
{
	struct rd e;
	uint8_t elen, rtype, left;

	if (nh == 44)
		return -EOPNOTSUPP;
	if ((nh != 0 && nh != 43 && nh != 60) || off > len)
		return ESP_E_SHORT;
	/* RFC 8200 §4.3: hop-by-hop only right after the IPv6 header */
	if (nh == 0 && off != 40)
		return ESP_E_SHORT;
	e = rd_init(pkt + off, len - off);
	/* RFC 8200 §4.3-4.6: next header, length in 8 octets minus 1 */
	if (rd_u8(&e, next) < 0 || rd_u8(&e, &elen) < 0)
		return ESP_E_SHORT;
	*n = ((size_t)elen + 1) * 8;
	if (*n > len - off || off + *n > AH_MAX_IPHDR)
		return ESP_E_SHORT;
	if (nh == 43) {
		/* RFC 8200 §4.4: routing type, segments left */
		if (rd_u8(&e, &rtype) < 0 || rd_u8(&e, &left) < 0)
			return ESP_E_SHORT;
		return left ? AH_E_ROUTING : 0;
	}
	if (v6_opts_walk(pkt + off + 2, *n - 2, z ? z + off + 2 : NULL) < 0)
		return ESP_E_SHORT;
	return 0;
}

int ah6_ext_span(const uint8_t *pkt, size_t len, size_t *end, size_t *last,
		 uint8_t *upper)
{
	size_t off = 40, n;
	uint8_t nh, next;
	int rc;

	if (len < 40 || pkt[0] >> 4 != 6)
		return ESP_E_SHORT;
	nh = pkt[6];
	*last = 6;
	/* bounded: every header is at least 8 octets, all of them within
	 * AH_MAX_IPHDR */
	while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
		if ((rc = v6_ext(pkt, len, off, nh, &n, &next, NULL)) < 0)
			return rc;
		*last = off;
		off += n;
		nh = next;
	}
	*end = off;
	*upper = nh;
	return 0;
}

const char *ah_strerror(int err)
{
	switch (err) {
	case AH_E_ROUTING:
		return "routing header with segments left > 0 in front of AH "
		       "(its final form for the ICV is not computed, RFC 4302 "
		       "Appendix A.2)";
	case -EOPNOTSUPP:
		return "AH on a fragment (RFC 4302 §3.4.1)";
	case ESP_E_SHORT:
		return "malformed or truncated AH packet";
	default:
		return esp_strerror(err);
	}
}

/*
 * Walk the IP header of pkt up to AH: *ah_off.  With z (a copy of the
 * first *ah_off octets, filled by the caller after a first call without
 * z), zero the mutable fields.  IPv6: hop-by-hop, destination options
 * and routing headers (segments left 0) may precede AH (v6_ext).
 */
static int ip_walk(const uint8_t *pkt, size_t len, size_t *ah_off, uint8_t *z)
{
	struct rd r = rd_init(pkt, len);
	uint8_t vihl, nh;
	uint16_t tot;

	if (rd_u8(&r, &vihl) < 0)
		return ESP_E_SHORT;
	if (vihl >> 4 == 4) {
		size_t ihl = (size_t)(vihl & 15) * 4;
		/* RFC 791: IHL >= 5; total length is the packet's */
		if (ihl < 20 || ihl > len || rd_skip(&r, 1) < 0 ||
		    rd_u16(&r, &tot) < 0 || tot != len || rd_skip(&r, 5) < 0 ||
		    rd_u8(&r, &nh) < 0 || nh != IPPROTO_AH_)
			return ESP_E_SHORT;
		*ah_off = ihl;
		return v4_walk(pkt, ihl, z);
	}
	if (vihl >> 4 == 6) {
		size_t off = 40, n;
		uint8_t next;
		int rc;
		if (len < 40 || rd_skip(&r, 3) < 0 || rd_u16(&r, &tot) < 0 ||
		    (size_t)tot + 40 != len || rd_u8(&r, &nh) < 0)
			return ESP_E_SHORT;
		if (z) {
			z[0] &= 0xf0;		/* traffic class (high) */
			z[1] = z[2] = z[3] = 0; /* class, flow label */
			z[7] = 0;		/* hop limit */
		}
		/* bounded: each header >= 8 octets, all in AH_MAX_IPHDR */
		while (nh != IPPROTO_AH_) {
			if ((rc = v6_ext(pkt, len, off, nh, &n, &next, z)) < 0)
				return rc;
			off += n;
			nh = next;
		}
		*ah_off = off;
		return 0;
	}
	return ESP_E_SHORT;
}

/* ICV of pkt (AH at ah_off, ahlen octets) into icv. */
static int ah_icv(const struct esp_sa *sa, void *mctx, const uint8_t *pkt,
		  size_t len, size_t ah_off, size_t ahlen, uint32_t seq_hi,
		  uint8_t *icv)
{
	uint8_t z[AH_MAX_IPHDR], a[AH_MAX_HDR], hi[4], full[EVP_MAX_MD_SIZE];
	size_t off, n = 0;
	int rc;

	if (ah_off > sizeof(z) || ahlen > sizeof(a) || ah_off + ahlen > len)
		return ESP_E_SHORT;
	memcpy(z, pkt, ah_off);
	if ((rc = ip_walk(pkt, len, &off, z)) < 0)
		return rc;
	if (off != ah_off)
		return ESP_E_SHORT;
	/* §3.3.3.1: the ICV field is zero for the computation; explicit
	 * padding behind it (§3.3.3.2.1) is included as sent */
	memcpy(a, pkt + ah_off, ahlen);
	memset(a + 12, 0, sa->icv_len);
	put32(hi, seq_hi);
	if (!EVP_MAC_init(mctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(mctx, z, ah_off) ||
	    !EVP_MAC_update(mctx, a, ahlen) ||
	    (len > ah_off + ahlen && !EVP_MAC_update(mctx, pkt + ah_off + ahlen,
						     len - ah_off - ahlen)) ||
	    /* §2.5.1: ESN high-order bits appended, not transmitted */
	    (sa->k.esn && !EVP_MAC_update(mctx, hi, 4)) ||
	    !EVP_MAC_final(mctx, full, &n, sizeof(full)) || n < sa->icv_len)
		return ESP_E_CRYPTO;
	memcpy(icv, full, sa->icv_len);
	return 0;
}

int ah_encap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t iphl,
	     uint8_t nh, uint64_t now, unsigned *events)
{
	int af = pkt[0] >> 4 == 6 ? AF_INET6 : AF_INET;
	size_t ahlen = ah_hdr_len(sa, af);
	uint8_t *ah = pkt + iphl;
	uint64_t seq;
	int rc;

	*events = 0;
	if (sa->dead)
		return ESP_E_DEAD;
	if (!sa->mac_enc || iphl + ahlen > len)
		return ESP_E_SPACE;
	/* RFC 4302 §2.5: the counter never cycles; without ESN the SA is
	 * dead after 2^32 - 1 packets. */
	if ((!sa->k.esn && sa->seq_out >= UINT32_MAX) ||
	    sa->seq_out == UINT64_MAX) {
		sa->dead = true;
		*events = ESP_EV_HARD;
		return ESP_E_DEAD;
	}
	seq = ++sa->seq_out;
	/* §2: next header, payload length (32-bit words - 2), reserved
	 * (zero), SPI, sequence number, ICV (+ padding, zero) */
	ah[0] = nh;
	ah[1] = (uint8_t)(ahlen / 4 - 2);
	ah[2] = ah[3] = 0;
	put32(ah + 4, sa->k.spi);
	put32(ah + 8, (uint32_t)seq);
	memset(ah + 12, 0, ahlen - 12);
	rc = ah_icv(sa, sa->mac_enc, pkt, len, iphl, ahlen,
		    (uint32_t)(seq >> 32), ah + 12);
	if (rc < 0)
		return rc;
	sa->cnt.packets++;
	sa->cnt.bytes += len - iphl - ahlen;
	sa->cnt.use_time = now;
	*events = esp_lifetime_check(sa);
	if (!sa->soft_done && !sa->k.esn &&
	    sa->seq_out >= (uint64_t)UINT32_MAX - ESP_SEQ_SOFT_MARGIN) {
		sa->soft_done = true;
		*events |= ESP_EV_SOFT;
	}
	return 0;
}

int ah_peek(const uint8_t *pkt, size_t len, size_t *ah_off, uint32_t *spi,
	    uint32_t *seq)
{
	struct rd r;
	int rc = ip_walk(pkt, len, ah_off, NULL);

	if (rc < 0)
		return rc;
	/* RFC 4302 §3.4.1: AH is verified on whole datagrams (MF or a
	 * fragment offset: a fragment) */
	if (pkt[0] >> 4 == 4 && ((pkt[6] & 0x3f) || pkt[7]))
		return -EOPNOTSUPP;
	r = rd_init(pkt + *ah_off, len - *ah_off);
	/* §2: next header, length, reserved, SPI, sequence number */
	if (rd_skip(&r, 4) < 0 || rd_u32(&r, spi) < 0 || rd_u32(&r, seq) < 0)
		return ESP_E_SHORT;
	/* §2.4: SPI 0 is reserved, 1..255 reserved by IANA */
	if (*spi < 256)
		return ESP_E_SHORT;
	return 0;
}

int ah_decap(struct esp_sa *sa, const uint8_t *pkt, size_t len, size_t ah_off,
	     uint8_t *nh, size_t *pay_off, uint64_t now, unsigned *events)
{
	struct rd r = rd_init(pkt, len);
	int af = len && pkt[0] >> 4 == 6 ? AF_INET6 : AF_INET;
	size_t ahlen, want = ah_hdr_len(sa, af);
	uint8_t next, plen, calc[EVP_MAX_MD_SIZE];
	uint32_t spi, seq_lo;
	const uint8_t *icv;
	uint64_t seq;
	int rc;

	*events = 0;
	if (sa->dead)
		return ESP_E_DEAD;
	if (!sa->mac_dec || rd_skip(&r, ah_off) < 0 || rd_u8(&r, &next) < 0 ||
	    rd_u8(&r, &plen) < 0 || rd_skip(&r, 2) < 0 ||
	    rd_u32(&r, &spi) < 0 || rd_u32(&r, &seq_lo) < 0)
		return ESP_E_SHORT;
	/* §2.2: length in 32-bit words minus 2; it must hold the ICV of
	 * this SA's algorithm, padded to 32 (IPv4) / 64 (IPv6) bits, and
	 * at most one alignment unit of padding more */
	ahlen = ((size_t)plen + 2) * 4;
	if (spi != sa->k.spi || ahlen < want ||
	    ahlen > want + (af == AF_INET6 ? 8 : 4) ||
	    (af == AF_INET6 && ahlen % 8) ||
	    rd_ptr(&r, sa->icv_len, &icv) < 0 || ah_off + ahlen > len)
		return ESP_E_SHORT;
	/* §2.1: next header; hop-by-hop may only follow the IPv6 header,
	 * and we do not nest AH in AH */
	if (next == 0 || next == IPPROTO_AH_)
		return ESP_E_SHORT;
	/* §3.4.3: the replay check before the ICV (cheap), the window
	 * update only after it verified */
	rc = esp_replay_check(sa, seq_lo, &seq);
	if (rc < 0) {
		sa->cnt.replay_drops++;
		return rc;
	}
	rc = ah_icv(sa, sa->mac_dec, pkt, len, ah_off, ahlen,
		    (uint32_t)(seq >> 32), calc);
	if (rc < 0)
		return rc;
	/* §3.4.4: constant-time compare */
	if (CRYPTO_memcmp(calc, icv, sa->icv_len) != 0) {
		sa->cnt.integrity_drops++;
		return ESP_E_AUTH;
	}
	esp_replay_update(sa, seq);
	*nh = next;
	*pay_off = ah_off + ahlen;
	sa->cnt.packets++;
	sa->cnt.bytes += len - *pay_off;
	sa->cnt.use_time = now;
	*events = esp_lifetime_check(sa);
	return 0;
}
