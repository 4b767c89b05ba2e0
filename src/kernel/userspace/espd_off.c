/*
 * espd_off.c - TUN offloads for r2espd: the virtio-net header that a TUN
 * device opened with IFF_VNET_HDR puts in front of every packet, TCP
 * segmentation of the super-packets the kernel hands us once TSO is
 * enabled (TUNSETOFFLOAD), checksum completion for CHECKSUM_PARTIAL
 * packets, and the reverse on the way in: consecutive decrypted segments
 * of one TCP flow are coalesced into one super-packet written with GSO
 * metadata, so the local stack runs once per burst instead of once per
 * segment.  The rules follow what Linux GRO and tcp_gso_segment() do.
 *
 * Pure functions: no sockets, no daemon state, so they are unit-tested
 * and fuzzed on their own.  Packets (from the TUN device, or out of an
 * ESP payload that authenticated) are read only through struct rd;
 * headers we emit are written byte by byte.  Nothing is allocated: the
 * caller owns every buffer (struct off_gro.buf included).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "kernel/userspace/espd.h"
#include "lib/rd.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- Internet checksum (RFC 1071) --------------------------------- */

/*
 * One's complement sum in host byte order (RFC 1071 §2(B): the sum is
 * byte-order independent) with end-around carry, into a 64-bit value that
 * off_csum_fold() reduces.  Pieces must start at an even offset of the
 * checksummed data; only the last piece may have an odd length.  The TSO
 * segmenter and the coalescer run this over every payload byte (perf:
 * the largest item of r2espd's own code), so whole 32-octet blocks go
 * through blocks_sum(): with SSE2 (every x86-64) 32-bit words are added
 * into 64-bit vector lanes, which no packet can overflow (2^32 words),
 * so there is no carry to chase; elsewhere four independent 64-bit carry
 * chains.
 */
static inline uint64_t add_carry(uint64_t s, uint64_t v)
{
	s += v;
	return s + (s < v); /* 2^64 = 1 in one's complement mod 2^16-1 */
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* nb blocks of 32 octets from src, copied to dst unless dst is NULL */
static inline uint64_t blocks_sum(const uint8_t *src, uint8_t *dst, size_t nb)
{
	__m128i z = _mm_setzero_si128(), a = z, b = z, c = z, d = z;
	uint64_t l[2];

	for (size_t i = 0; i < nb; i++, src += 32) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)src);
		__m128i y =
		    _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
		if (dst) {
			_mm_storeu_si128((__m128i *)(void *)dst, x);
			_mm_storeu_si128((__m128i *)(void *)(dst + 16), y);
			dst += 32;
		}
		a = _mm_add_epi64(a, _mm_unpacklo_epi32(x, z));
		b = _mm_add_epi64(b, _mm_unpackhi_epi32(x, z));
		c = _mm_add_epi64(c, _mm_unpacklo_epi32(y, z));
		d = _mm_add_epi64(d, _mm_unpackhi_epi32(y, z));
	}
	a = _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d));
	_mm_storeu_si128((__m128i *)(void *)l, a);
	return add_carry(l[0], l[1]);
}
#else
static inline uint64_t blocks_sum(const uint8_t *src, uint8_t *dst, size_t nb)
{
	uint64_t a = 0, b = 0, c = 0, d = 0, w[4];

	for (size_t i = 0; i < nb; i++, src += 32) {
		memcpy(w, src, 32);
		if (dst) {
			memcpy(dst, w, 32);
			dst += 32;
		}
		a = add_carry(a, w[0]);
		b = add_carry(b, w[1]);
		c = add_carry(c, w[2]);
		d = add_carry(d, w[3]);
	}
	return add_carry(add_carry(a, b), add_carry(c, d));
}
#endif

uint64_t off_csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint32_t v;
	uint16_t h;

	sum = add_carry(sum, blocks_sum(p, NULL, n / 32));
	p += n & ~(size_t)31;
	n &= 31;
	while (n >= 4) {
		memcpy(&v, p, 4);
		sum = add_carry(sum, v);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&h, p, 2);
		sum = add_carry(sum, h);
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {p[0], 0};
		memcpy(&h, last, 2);
		sum = add_carry(sum, h);
	}
	return sum;
}

/*
 * off_csum_add() over src while copying it to dst (n octets, no overlap):
 * one pass over the payload instead of a memcpy and a sum.  The TSO
 * segmenter copies each segment's payload out of the super-packet and the
 * coalescer copies each merged payload into its buffer; both need the sum
 * of exactly those octets.  The same rules for pieces as off_csum_add().
 */
uint64_t off_csum_copy(uint64_t sum, uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t whole = n & ~(size_t)31;

	sum = add_carry(sum, blocks_sum(src, dst, n / 32));
	memcpy(dst + whole, src + whole, n - whole);
	return off_csum_add(sum, src + whole, n - whole);
}

/* Folded 16-bit sum, in host order as stored in memory by memcpy. */
uint16_t off_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 793 §3.1 / RFC 8200 §8.1: pseudo-header of the L4 checksum.  l3 is
 * the IP header, l4len the upper-layer length. */
static uint64_t pseudo_sum(const uint8_t *l3, uint8_t proto, size_t l4len)
{
	uint8_t tail[8] = {0};
	uint64_t sum;

	if (l3[0] >> 4 == 4) {
		sum = off_csum_add(0, l3 + 12, 8);
		tail[1] = proto;
		put16(tail + 2, (uint16_t)l4len);
		return off_csum_add(sum, tail, 4);
	}
	sum = off_csum_add(0, l3 + 8, 32);
	put32(tail, (uint32_t)l4len);
	tail[7] = proto;
	return off_csum_add(sum, tail, 8);
}

static void ipv4_fix_csum(uint8_t *ip, size_t ihl)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = (uint16_t)~off_csum_fold(off_csum_add(0, ip, ihl));
	memcpy(ip + 10, &c, 2);
}

/* ---- virtio-net header -------------------------------------------- */

int off_vnet_parse(const uint8_t *buf, size_t len, struct off_vnet *h)
{
	struct rd r = rd_init(buf, len);

	/* struct virtio_net_hdr: little-endian on x86 hosts (legacy virtio
	 * is native-endian and TUN follows it unless TUNSETVNETLE). */
	if (rd_u8(&r, &h->flags) < 0 || rd_u8(&r, &h->gso_type) < 0 ||
	    rd_h16(&r, &h->hdr_len) < 0 || rd_h16(&r, &h->gso_size) < 0 ||
	    rd_h16(&r, &h->csum_start) < 0 || rd_h16(&r, &h->csum_offset) < 0)
		return -EBADMSG;
	return 0;
}

void off_vnet_put(uint8_t *buf, const struct off_vnet *h)
{
	buf[0] = h->flags;
	buf[1] = h->gso_type;
	memcpy(buf + 2, &h->hdr_len, 2);
	memcpy(buf + 4, &h->gso_size, 2);
	memcpy(buf + 6, &h->csum_start, 2);
	memcpy(buf + 8, &h->csum_offset, 2);
}

/* CHECKSUM_PARTIAL: the field at start+off holds the folded pseudo-header
 * sum; add the data from start on and store the complement. */
int off_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t off)
{
	uint16_t c;

	if (start >= len || off > len - start || len - start - off < 2)
		return -EBADMSG;
	c = (uint16_t)~off_csum_fold(off_csum_add(0, pkt + start, len - start));
	/* RFC 768: a computed UDP checksum of zero is sent as all ones;
	 * harmless for TCP, whose sum cannot fold to zero here. */
	if (c == 0)
		c = 0xffff;
	memcpy(pkt + start + off, &c, 2);
	return 0;
}

/* ---- parsing one TCP packet --------------------------------------- */

struct tcpinfo {
	uint8_t af;
	size_t iphl, thl, plen; /* IP header, TCP header, payload */
	uint32_t seq;
	uint8_t flags;
};

/*
 * The IP header of a packet of len octets read from r: plain IPv4 (no
 * options, not a fragment) or IPv6 (no extension header) carrying
 * proto, with lengths that agree with len.  Sets *af and *iphl and
 * leaves r at the transport header.  Returns 0, -EBADMSG (malformed)
 * or -ENOENT (well formed, but not such a packet).
 */
static int ip_parse(struct rd *r, size_t len, uint8_t want, uint8_t *af,
		    size_t *iphl)
{
	uint8_t vihl, proto;
	uint16_t total, frag;

	if (rd_u8(r, &vihl) < 0)
		return -EBADMSG;
	if (vihl >> 4 == 4) {
		/* RFC 791 §3.1 */
		if (rd_skip(r, 1) < 0 || rd_u16(r, &total) < 0 ||
		    rd_skip(r, 2) < 0 || rd_u16(r, &frag) < 0 ||
		    rd_skip(r, 1) < 0 || rd_u8(r, &proto) < 0 ||
		    rd_skip(r, 10) < 0)
			return -EBADMSG;
		if ((vihl & 15) != 5 || total != len || (frag & 0x3fff) ||
		    proto != want)
			return -ENOENT;
		*af = AF_INET;
		*iphl = 20;
		return 0;
	}
	if (vihl >> 4 == 6) {
		/* RFC 8200 §3 */
		if (rd_skip(r, 3) < 0 || rd_u16(r, &total) < 0 ||
		    rd_u8(r, &proto) < 0 || rd_skip(r, 33) < 0)
			return -EBADMSG;
		if ((size_t)total + 40 != len || proto != want)
			return -ENOENT;
		*af = AF_INET6;
		*iphl = 40;
		return 0;
	}
	return -EBADMSG;
}

/*
 * A plain IPv4 (no options, not a fragment) or IPv6 (no extension
 * header) TCP packet whose lengths agree with len.  Returns 0,
 * -EBADMSG (malformed) or -ENOENT (not a TCP packet we handle).
 */
static int tcp_parse(const uint8_t *pkt, size_t len, struct tcpinfo *t)
{
	struct rd r = rd_init(pkt, len);
	uint8_t doff, flags;
	int rc = ip_parse(&r, len, IPPROTO_TCP, &t->af, &t->iphl);

	if (rc < 0)
		return rc;
	/* RFC 793 §3.1: ports, seq, ack, data offset, flags ... */
	if (rd_skip(&r, 4) < 0 || rd_u32(&r, &t->seq) < 0 ||
	    rd_skip(&r, 4) < 0 || rd_u8(&r, &doff) < 0 || rd_u8(&r, &flags) < 0)
		return -EBADMSG;
	t->thl = (size_t)(doff >> 4) * 4;
	if (t->thl < 20 || t->thl > len - t->iphl)
		return -EBADMSG;
	t->plen = len - t->iphl - t->thl;
	t->flags = flags;
	return 0;
}

/* RFC 793 §3.1 / RFC 8200 §8.1: the TCP checksum of pkt holds; its
 * payload is summed while it is copied to dst. */
static bool tcp_csum_copy_ok(const uint8_t *pkt, const struct tcpinfo *t,
			     uint8_t *dst)
{
	size_t hl = t->iphl + t->thl;
	uint64_t s = pseudo_sum(pkt, IPPROTO_TCP, t->thl + t->plen);

	s = off_csum_add(s, pkt + t->iphl, t->thl);
	return off_csum_fold(off_csum_copy(s, dst, pkt + hl, t->plen)) ==
	       0xffff;
}

/* ---- segmentation (TUN read side) --------------------------------- */

/*
 * Split one TSO super-packet like tcp_gso_segment(): every segment gets
 * the headers of the first with its own IP length (and IPv4 ID and
 * header checksum), sequence number and TCP checksum; FIN and PSH stay
 * on the last segment only, CWR on the first only.
 */
static int segment_tcp(const struct off_vnet *h, const uint8_t *pkt, size_t len,
		       off_buf_cb getbuf, void *barg, off_seg_cb cb, void *arg)
{
	struct tcpinfo t;
	size_t hl, off = 0, mss = h->gso_size, cap;
	uint8_t *scratch;
	uint16_t id = 0;
	unsigned i = 0;
	int rc;

	if (tcp_parse(pkt, len, &t) < 0)
		return -EBADMSG;
	/* the kernel says where TCP starts; it must agree with us */
	if ((h->flags & OFF_F_NEEDS_CSUM) &&
	    (h->csum_start != t.iphl || h->csum_offset != 16))
		return -EBADMSG;
	if ((h->gso_type & ~OFF_GSO_ECN) !=
		(t.af == AF_INET ? OFF_GSO_TCPV4 : OFF_GSO_TCPV6) ||
	    mss == 0)
		return -EBADMSG;
	hl = t.iphl + t.thl;
	if (t.af == AF_INET)
		id = get16(pkt + 4);
	while (off < t.plen || (t.plen == 0 && i == 0)) {
		size_t n = t.plen - off < mss ? t.plen - off : mss;
		bool last = off + n >= t.plen;
		uint8_t *tcp, fl = t.flags;
		uint16_t c;

		/* each segment may go to a buffer of its own (r2espd builds
		 * it where it will be encrypted in place) */
		scratch = getbuf(barg, &cap);
		if (!scratch || hl + mss > cap)
			return -EMSGSIZE;
		tcp = scratch + t.iphl;
		memcpy(scratch, pkt, hl);
		if (t.af == AF_INET) {
			put16(scratch + 2, (uint16_t)(hl + n));
			put16(scratch + 4, (uint16_t)(id + i));
			ipv4_fix_csum(scratch, t.iphl);
		} else {
			put16(scratch + 4, (uint16_t)(t.thl + n));
		}
		put32(tcp + 4, t.seq + (uint32_t)off);
		if (!last)
			fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i)
			fl &= (uint8_t)~TCP_CWR;
		tcp[13] = fl;
		tcp[16] = tcp[17] = 0;
		/* header, then the payload summed as it is copied (the
		 * header is a multiple of 4 octets long: an even offset) */
		c = (uint16_t)~off_csum_fold(off_csum_copy(
		    off_csum_add(pseudo_sum(scratch, IPPROTO_TCP, t.thl + n),
				 tcp, t.thl),
		    scratch + hl, pkt + hl + off, n));
		memcpy(tcp + 16, &c, 2);
		if ((rc = cb(arg, scratch, hl + n)) < 0)
			return rc;
		off += n;
		i++;
		if (t.plen == 0)
			break;
	}
	return (int)i;
}

/*
 * A plain IPv4 (no options, not a fragment) or IPv6 (no extension
 * header) UDP packet whose lengths agree with len; *iphl and *plen (UDP
 * payload) out.
 */
static int udp_parse(const uint8_t *pkt, size_t len, uint8_t *af, size_t *iphl,
		     size_t *plen)
{
	struct rd r = rd_init(pkt, len);

	/* a USO super-packet that is not plain UDP is malformed */
	if (ip_parse(&r, len, IPPROTO_UDP, af, iphl) < 0)
		return -EBADMSG;
	/* RFC 768: the 8-octet header */
	if (rd_skip(&r, 8) < 0)
		return -EBADMSG;
	*plen = len - *iphl - 8;
	return 0;
}

/*
 * Split one USO super-packet (a UDP_SEGMENT send; Linux
 * __udp_gso_segment()): datagrams of gso_size payload octets, the last
 * possibly shorter, each with the headers of the first, its own IP
 * length (IPv4: ID + 1 per datagram, header checksum) and its own UDP
 * length and checksum (RFC 768: zero is sent as all ones; mandatory in
 * IPv6, RFC 8200 §8.1).
 */
static int segment_udp(const struct off_vnet *h, const uint8_t *pkt, size_t len,
		       off_buf_cb getbuf, void *barg, off_seg_cb cb, void *arg)
{
	size_t iphl, plen, hl, off = 0, mss = h->gso_size, cap;
	uint8_t af;
	uint16_t id = 0;
	unsigned i = 0;
	int rc;

	if (udp_parse(pkt, len, &af, &iphl, &plen) < 0 || mss == 0)
		return -EBADMSG;
	if ((h->flags & OFF_F_NEEDS_CSUM) &&
	    (h->csum_start != iphl || h->csum_offset != 6))
		return -EBADMSG;
	hl = iphl + 8;
	if (af == AF_INET)
		id = get16(pkt + 4);
	while (off < plen || (plen == 0 && i == 0)) {
		size_t n = plen - off < mss ? plen - off : mss;
		uint8_t *scratch = getbuf(barg, &cap), *udp;
		uint16_t c;

		if (!scratch || hl + mss > cap)
			return -EMSGSIZE;
		udp = scratch + iphl;
		memcpy(scratch, pkt, hl);
		if (af == AF_INET) {
			put16(scratch + 2, (uint16_t)(hl + n));
			put16(scratch + 4, (uint16_t)(id + i));
			ipv4_fix_csum(scratch, iphl);
		} else {
			put16(scratch + 4, (uint16_t)(8 + n));
		}
		put16(udp + 4, (uint16_t)(8 + n));
		udp[6] = udp[7] = 0;
		c = (uint16_t)~off_csum_fold(off_csum_copy(
		    off_csum_add(pseudo_sum(scratch, IPPROTO_UDP, 8 + n), udp,
				 8),
		    scratch + hl, pkt + hl + off, n));
		if (c == 0)
			c = 0xffff;
		memcpy(udp + 6, &c, 2);
		if ((rc = cb(arg, scratch, hl + n)) < 0)
			return rc;
		off += n;
		i++;
		if (plen == 0)
			break;
	}
	return (int)i;
}

int off_segment_to(const struct off_vnet *h, uint8_t *pkt, size_t len,
		   off_buf_cb getbuf, void *barg, off_seg_cb cb, void *arg)
{
	int rc;

	if (h->gso_type == OFF_GSO_NONE) {
		if ((h->flags & OFF_F_NEEDS_CSUM) &&
		    off_csum_complete(pkt, len, h->csum_start, h->csum_offset) <
			0)
			return -EBADMSG;
		rc = cb(arg, pkt, len);
		return rc < 0 ? rc : 1;
	}
	/* We announce TSO (TUN_F_TSO4/6/ECN) and, where the kernel has it,
	 * USO (TUN_F_USO4/6); never UFO (IP fragments). */
	if (h->gso_type == OFF_GSO_UDP_L4)
		return segment_udp(h, pkt, len, getbuf, barg, cb, arg);
	if ((h->gso_type & ~OFF_GSO_ECN) != OFF_GSO_TCPV4 &&
	    (h->gso_type & ~OFF_GSO_ECN) != OFF_GSO_TCPV6)
		return -EBADMSG;
	return segment_tcp(h, pkt, len, getbuf, barg, cb, arg);
}

struct fixed_buf {
	uint8_t *p;
	size_t cap;
};

static uint8_t *fixed_getbuf(void *arg, size_t *cap)
{
	struct fixed_buf *b = arg;

	*cap = b->cap;
	return b->p;
}

int off_segment(const struct off_vnet *h, uint8_t *pkt, size_t len,
		uint8_t *scratch, size_t cap, off_seg_cb cb, void *arg)
{
	struct fixed_buf b = {scratch, cap};

	return off_segment_to(h, pkt, len, fixed_getbuf, &b, cb, arg);
}

/* ---- coalescing (TUN write side) ---------------------------------- */

void off_gro_init(struct off_gro *g, uint8_t *buf, size_t cap)
{
	memset(g, 0, sizeof(*g));
	g->buf = buf;
	g->cap = cap;
}

/* Same flow, headers equal but for length/ID/checksum/seq/flags. */
static bool can_merge(const struct off_gro *g, const uint8_t *pkt,
		      const struct tcpinfo *t)
{
	const uint8_t *cur = g->buf + OFF_VNET_LEN;

	if (g->closed || t->af != g->af || t->thl != g->thl ||
	    t->seq != g->next_seq || t->plen > g->mss)
		return false;
	if (g->len + t->plen > g->cap - OFF_VNET_LEN ||
	    g->len - g->iphl + t->plen > 0xffff || g->nseg >= OFF_GRO_MAX)
		return false;
	if (t->af == AF_INET) {
		/* version/IHL, TOS, flags (DF), TTL, protocol, addresses;
		 * ID must go up by one unless DF (RFC 6864 §4.1) */
		if (cur[0] != pkt[0] || cur[1] != pkt[1] || cur[6] != pkt[6] ||
		    cur[8] != pkt[8] || memcmp(cur + 12, pkt + 12, 8) != 0)
			return false;
		if (!(pkt[6] & 0x40) &&
		    get16(pkt + 4) != (uint16_t)(g->last_id + 1))
			return false;
	} else {
		/* version, traffic class, flow label, next header, hop
		 * limit, addresses */
		if (memcmp(cur, pkt, 4) != 0 || cur[6] != pkt[6] ||
		    cur[7] != pkt[7] || memcmp(cur + 8, pkt + 8, 32) != 0)
			return false;
	}
	/* ports, ack number, flags, window, urgent pointer and options
	 * must match; seq was checked above */
	cur += g->iphl;
	pkt += t->iphl;
	return memcmp(cur, pkt, 4) == 0 && memcmp(cur + 8, pkt + 8, 5) == 0 &&
	       ((cur[13] ^ pkt[13]) & (uint8_t)~TCP_PSH) == 0 &&
	       memcmp(cur + 14, pkt + 14, 2) == 0 &&
	       memcmp(cur + 18, pkt + 18, t->thl - 18) == 0;
}

static int gro_emit(struct off_gro *g, off_write_cb cb, void *arg)
{
	struct off_vnet h = {0};
	uint8_t *pkt = g->buf + OFF_VNET_LEN, *tcp = pkt + g->iphl;
	size_t l4 = g->len - g->iphl;
	int rc;

	if (!g->len)
		return 0;
	if (g->nseg > 1) {
		uint16_t c;
		if (g->af == AF_INET) {
			put16(pkt + 2, (uint16_t)g->len);
			ipv4_fix_csum(pkt, g->iphl);
			h.gso_type = OFF_GSO_TCPV4;
		} else {
			put16(pkt + 4, (uint16_t)l4);
			h.gso_type = OFF_GSO_TCPV6;
		}
		tcp[13] |= g->psh;
		/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header
		 * sum; every segment was verified before it was merged. */
		c = off_csum_fold(pseudo_sum(pkt, IPPROTO_TCP, l4));
		memcpy(tcp + 16, &c, 2);
		h.flags = OFF_F_NEEDS_CSUM;
		h.hdr_len = (uint16_t)(g->iphl + g->thl);
		h.gso_size = (uint16_t)g->mss;
		h.csum_start = (uint16_t)g->iphl;
		h.csum_offset = 16;
	}
	off_vnet_put(g->buf, &h);
	rc = cb(arg, g->buf, OFF_VNET_LEN + g->len, g->nseg);
	g->len = 0;
	g->nseg = 0;
	return rc;
}

int off_gro_flush(struct off_gro *g, off_write_cb cb, void *arg)
{
	return gro_emit(g, cb, arg);
}

/* The packet already at g->buf + OFF_VNET_LEN (len octets), as is, with
 * an empty virtio-net header in front. */
static int write_alone(struct off_gro *g, off_write_cb cb, void *arg,
		       size_t len)
{
	struct off_vnet h = {0};

	off_vnet_put(g->buf, &h);
	return cb(arg, g->buf, OFF_VNET_LEN + len, 1);
}

int off_gro_push(struct off_gro *g, const uint8_t *pkt, size_t len,
		 off_write_cb cb, void *arg)
{
	struct tcpinfo t;
	int rc = 0;

	/* Only pure data segments with ACK (and PSH) are merged; anything
	 * else (SYN, FIN, RST, URG, ECE/CWR, no payload, bad checksum,
	 * not TCP) goes out on its own, after what is pending. */
	if (tcp_parse(pkt, len, &t) == 0 && t.plen &&
	    (t.flags & ~TCP_PSH) == TCP_ACK && len + OFF_VNET_LEN <= g->cap) {
		if (g->len && can_merge(g, pkt, &t)) {
			/* the payload is summed as it is copied behind the
			 * burst (room checked by can_merge); it counts only
			 * once its checksum holds (RFC 793 §3.1) */
			if (!tcp_csum_copy_ok(pkt, &t,
					      g->buf + OFF_VNET_LEN + g->len))
				goto alone;
			g->len += t.plen;
			g->nseg++;
			g->next_seq = t.seq + (uint32_t)t.plen;
			if (t.af == AF_INET)
				g->last_id = get16(pkt + 4);
			/* a short segment or PSH ends the burst */
			if (t.plen < g->mss || (t.flags & TCP_PSH)) {
				g->closed = true;
				g->psh |= t.flags & TCP_PSH;
			}
			return 0;
		}
		if ((rc = gro_emit(g, cb, arg)) < 0)
			return rc;
		/* the first segment of a burst: copied whole, summed as
		 * it is copied; a bad checksum is written on its own (the
		 * local stack drops it and counts it) */
		memcpy(g->buf + OFF_VNET_LEN, pkt, t.iphl + t.thl);
		if (!tcp_csum_copy_ok(pkt, &t,
				      g->buf + OFF_VNET_LEN + t.iphl + t.thl))
			return write_alone(g, cb, arg, len);
		g->len = len;
		g->nseg = 1;
		g->af = t.af;
		g->iphl = t.iphl;
		g->thl = t.thl;
		g->mss = t.plen;
		g->next_seq = t.seq + (uint32_t)t.plen;
		g->last_id = t.af == AF_INET ? get16(pkt + 4) : 0;
		g->psh = 0;
		g->closed = (t.flags & TCP_PSH) != 0;
		/* the first segment keeps its PSH in its own header */
		return 0;
	}
alone:
	if ((rc = gro_emit(g, cb, arg)) < 0)
		return rc;
	if (len > g->cap - OFF_VNET_LEN)
		return -EMSGSIZE;
	memmove(g->buf + OFF_VNET_LEN, pkt, len);
	return write_alone(g, cb, arg, len);
}
