/*
 * test_esp_off.c - unit tests of r2espd's TUN offloads
 * (src/kernel/userspace/espd_off.c): TSO super-packets split into valid
 * segments (IPv4 and IPv6, checksums checked with an independent plain
 * RFC 1071 implementation), segments coalesced back into one GSO write
 * with the virtio-net metadata the kernel needs, what must not be merged
 * (bad checksum, gaps, SYN/FIN, other flows, non-TCP), partial checksum
 * completion, malformed virtio-net headers refused, and USO (UDP
 * super-packets, TUN_F_USO4/6) cut into datagrams with right checksums.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/userspace/espd.h"

/* ---- independent reference checksum (big-endian 16-bit words) ---- */

static uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* true when the TCP/UDP checksum of an IPv4/IPv6 packet verifies */
static bool ref_l4_ok(const uint8_t *pkt, size_t len, uint8_t proto)
{
	size_t ihl = pkt[0] >> 4 == 4 ? 20 : 40, l4 = len - ihl;
	uint32_t s = 0;

	if (ihl == 20)
		s = ref_sum(s, pkt + 12, 8);
	else
		s = ref_sum(s, pkt + 8, 32);
	s += proto + (uint32_t)l4;
	s = ref_sum(s, pkt + ihl, l4);
	return ref_fold(s) == 0xffff;
}

static bool ref_ip4_ok(const uint8_t *pkt)
{
	return ref_fold(ref_sum(0, pkt, 20)) == 0xffff;
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void p32(uint8_t *p, uint32_t v)
{
	p16(p, (uint16_t)(v >> 16));
	p16(p + 2, (uint16_t)v);
}

/* ---- packet builders ---- */

#define THL 32 /* TCP header with 12 bytes of options (NOP NOP TS) */

/* IPv4 or IPv6 TCP packet, payload pattern from seq; valid checksums. */
static size_t mk_tcp(uint8_t *buf, bool v6, uint32_t seq, size_t plen,
		     uint8_t flags, uint16_t id)
{
	size_t ihl = v6 ? 40 : 20, len = ihl + THL + plen;
	uint8_t *t = buf + ihl;
	uint32_t s = 0;

	memset(buf, 0, ihl + THL);
	if (v6) {
		buf[0] = 0x60;
		p16(buf + 4, (uint16_t)(THL + plen));
		buf[6] = 6;
		buf[7] = 64;
		buf[8] = 0x20;
		buf[9] = 0x01;
		buf[10] = 0x0d;
		buf[11] = 0xb8;
		buf[23] = 1;
		buf[24] = 0x20;
		buf[25] = 0x01;
		buf[26] = 0x0d;
		buf[27] = 0xb8;
		buf[39] = 2;
	} else {
		buf[0] = 0x45;
		p16(buf + 2, (uint16_t)len);
		p16(buf + 4, id);
		buf[6] = 0x40; /* DF */
		buf[8] = 64;
		buf[9] = 6;
		buf[12] = 203;
		buf[13] = 0;
		buf[14] = 113;
		buf[15] = 1;
		buf[16] = 203;
		buf[17] = 0;
		buf[18] = 113;
		buf[19] = 2;
		p16(buf + 10, (uint16_t)~ref_fold(ref_sum(0, buf, 20)));
	}
	p16(t, 40000);
	p16(t + 2, 5201);
	p32(t + 4, seq);
	p32(t + 8, 0x11223344);
	t[12] = (THL / 4) << 4;
	t[13] = flags;
	p16(t + 14, 512);
	t[20] = 1;
	t[21] = 1;
	t[22] = 8;
	t[23] = 10;
	p32(t + 24, 0xaabbccdd);
	p32(t + 28, 0x01020304);
	for (size_t i = 0; i < plen; i++)
		t[THL + i] = (uint8_t)((seq + i) * 7);
	if (v6) {
		s = ref_sum(s, buf + 8, 32);
	} else {
		s = ref_sum(s, buf + 12, 8);
	}
	s += 6 + (uint32_t)(THL + plen);
	s = ref_sum(s, t, THL + plen);
	p16(t + 16, (uint16_t)~ref_fold(s));
	return len;
}

/* ---- segmentation ---- */

struct segs {
	unsigned n;
	uint8_t pkt[64][2048];
	size_t len[64];
};

static int seg_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct segs *s = arg;
	if (s->n >= 64 || len > 2048)
		return -ENOSPC;
	memcpy(s->pkt[s->n], pkt, len);
	s->len[s->n++] = len;
	return 0;
}

static uint8_t big[70000], scratch[2048];

/* off_segment of the first len octets of big, through scratch, into *s */
static int seg_big(const struct off_vnet *h, size_t len, struct segs *s)
{
	return off_segment(h, big, len, scratch, sizeof(scratch), seg_cb, s);
}

/* off_segment_to: a buffer of its own per segment (r2espd's TX slots) */
struct slots {
	uint8_t buf[8][2048];
	unsigned next;
	uint8_t *given[8];
};

static uint8_t *slot_getbuf(void *arg, size_t *cap)
{
	struct slots *sl = arg;
	if (sl->next >= 8)
		return NULL;
	*cap = sizeof(sl->buf[0]) - 100;
	sl->given[sl->next] = sl->buf[sl->next] + 24;
	return sl->given[sl->next++];
}

struct seen {
	struct segs *s;
	struct slots *sl;
};

static int seen_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct seen *w = arg;
	/* built where the last getbuf said */
	if (pkt != w->sl->given[w->sl->next - 1])
		return -EFAULT;
	return seg_cb(w->s, pkt, len);
}

static void check_segments(bool v6, bool to)
{
	static struct segs s;
	size_t ihl = v6 ? 40 : 20, plen = 10000, mss = 1360;
	size_t len = mk_tcp(big, v6, 1000, plen, 0x18 /* PSH|ACK */, 77);
	struct off_vnet h = {
	    .flags = OFF_F_NEEDS_CSUM,
	    .gso_type = v6 ? OFF_GSO_TCPV6 : OFF_GSO_TCPV4,
	    .hdr_len = (uint16_t)(ihl + THL),
	    .gso_size = (uint16_t)mss,
	    .csum_start = (uint16_t)ihl,
	    .csum_offset = 16,
	};
	size_t off = 0;

	/* the kernel leaves only the pseudo-header sum: garble it */
	big[ihl + 16] ^= 0x5a;
	memset(&s, 0, sizeof(s));
	if (to) {
		static struct slots sl;
		struct seen w = {&s, &sl};
		memset(&sl, 0, sizeof(sl));
		assert_int_equal(
		    off_segment_to(&h, big, len, slot_getbuf, &sl, seen_cb, &w),
		    8);
		assert_int_equal(sl.next, 8);
		/* one buffer short: -EMSGSIZE after 7 segments */
		big[ihl + 16] ^= 0x5a;
		memset(&s, 0, sizeof(s));
		sl.next = 1;
		assert_int_equal(
		    off_segment_to(&h, big, len, slot_getbuf, &sl, seen_cb, &w),
		    -EMSGSIZE);
		assert_int_equal(s.n, 7);
		big[ihl + 16] ^= 0x5a;
		memset(&s, 0, sizeof(s));
		sl.next = 0;
		assert_int_equal(
		    off_segment_to(&h, big, len, slot_getbuf, &sl, seen_cb, &w),
		    8);
	} else {
		assert_int_equal(off_segment(&h, big, len, scratch,
					     sizeof(scratch), seg_cb, &s),
				 8);
	}
	assert_int_equal(s.n, 8);
	for (unsigned i = 0; i < s.n; i++) {
		const uint8_t *p = s.pkt[i], *t = p + ihl;
		size_t n = i < 7 ? mss : plen - 7 * mss;
		assert_int_equal(s.len[i], ihl + THL + n);
		if (v6) {
			assert_int_equal(g16(p + 4), THL + n);
		} else {
			assert_int_equal(g16(p + 2), s.len[i]);
			assert_int_equal(g16(p + 4), 77 + i);
			assert_true(ref_ip4_ok(p));
		}
		assert_true(ref_l4_ok(p, s.len[i], 6));
		assert_int_equal(g32(t + 4), 1000 + off);
		/* PSH only on the last segment */
		assert_int_equal(t[13], i == 7 ? 0x18 : 0x10);
		assert_memory_equal(t + 20, big + ihl + 20, THL - 20);
		assert_memory_equal(t + THL, big + ihl + THL + off, n);
		off += n;
	}
}

static void test_segment_v4(void **state)
{
	(void)state;
	check_segments(false, false);
	check_segments(false, true);
}
static void test_segment_v6(void **state)
{
	(void)state;
	check_segments(true, false);
	check_segments(true, true);
}

static void test_segment_plain(void **state)
{
	static struct segs s;
	uint8_t udp[64] = {0x45, 0, 0,	 40, 0,	  1, 0x40, 0,  64,  17,
			   0,	 0, 198, 51, 100, 1, 198,  51, 100, 2};
	struct off_vnet h = {
	    .flags = OFF_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
	uint32_t ps;
	(void)state;

	/* UDP 20 bytes: ports, length, partial checksum = pseudo sum */
	p16(udp + 20, 1234);
	p16(udp + 22, 53);
	p16(udp + 24, 20);
	for (int i = 28; i < 40; i++)
		udp[i] = (uint8_t)i;
	ps = ref_sum(0, udp + 12, 8) + 17 + 20;
	p16(udp + 26, ref_fold(ps));
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    off_segment(&h, udp, 40, scratch, sizeof(scratch), seg_cb, &s), 1);
	assert_int_equal(s.n, 1);
	assert_true(ref_l4_ok(s.pkt[0], 40, 17));

	/* no flags: passed as is */
	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    off_segment(&h, udp, 40, scratch, sizeof(scratch), seg_cb, &s), 1);
	assert_memory_equal(s.pkt[0], udp, 40);
}

/* a UDP packet of plen payload octets (IPv4 ID id), checksum left to
 * the segmenter as the kernel does (pseudo-header sum only: garbled) */
static size_t mk_udp(uint8_t *buf, bool v6, size_t plen, uint16_t id)
{
	size_t ihl = v6 ? 40 : 20, len = ihl + 8 + plen;

	/* the same IP header as mk_tcp's, protocol UDP */
	mk_tcp(buf, v6, 0, 0, 0x10, id);
	if (v6) {
		p16(buf + 4, (uint16_t)(8 + plen));
		buf[6] = 17;
	} else {
		p16(buf + 2, (uint16_t)len);
		buf[9] = 17;
		p16(buf + 10, 0);
		p16(buf + 10, (uint16_t)~ref_fold(ref_sum(0, buf, 20)));
	}
	p16(buf + ihl, 4500);
	p16(buf + ihl + 2, 443);
	p16(buf + ihl + 4, (uint16_t)(8 + plen));
	p16(buf + ihl + 6, 0x1234);
	for (size_t i = 0; i < plen; i++)
		buf[ihl + 8 + i] = (uint8_t)(i * 13 + 5);
	return len;
}

/* USO: datagrams of gso_size payload, the last shorter, each with its
 * own lengths, IPv4 ID and header checksum, UDP checksum right */
static void check_segments_udp(bool v6)
{
	static struct segs s;
	size_t ihl = v6 ? 40 : 20, plen = 3 * 1200 + 77, mss = 1200;
	size_t len = mk_udp(big, v6, plen, 900);
	struct off_vnet h = {
	    .flags = OFF_F_NEEDS_CSUM,
	    .gso_type = OFF_GSO_UDP_L4,
	    .hdr_len = (uint16_t)(ihl + 8),
	    .gso_size = (uint16_t)mss,
	    .csum_start = (uint16_t)ihl,
	    .csum_offset = 6,
	};

	memset(&s, 0, sizeof(s));
	assert_int_equal(seg_big(&h, len, &s), 4);
	for (unsigned i = 0; i < s.n; i++) {
		const uint8_t *p = s.pkt[i], *u = p + ihl;
		size_t n = i < 3 ? mss : 77;
		assert_int_equal(s.len[i], ihl + 8 + n);
		if (v6) {
			assert_int_equal(g16(p + 4), 8 + n);
		} else {
			assert_int_equal(g16(p + 2), s.len[i]);
			assert_int_equal(g16(p + 4), 900 + i);
			assert_true(ref_ip4_ok(p));
		}
		assert_int_equal(g16(u), 4500);
		assert_int_equal(g16(u + 2), 443);
		assert_int_equal(g16(u + 4), 8 + n);
		assert_true(g16(u + 6) != 0);
		assert_true(ref_l4_ok(p, s.len[i], 17));
		assert_memory_equal(u + 8, big + ihl + 8 + i * mss, n);
	}
	/* exactly one segment's worth, and an empty payload: one each */
	len = mk_udp(big, v6, mss, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(seg_big(&h, len, &s), 1);
	assert_true(ref_l4_ok(s.pkt[0], s.len[0], 17));
	len = mk_udp(big, v6, 0, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(seg_big(&h, len, &s), 1);
	assert_int_equal(s.len[0], ihl + 8);
	assert_true(ref_l4_ok(s.pkt[0], s.len[0], 17));
}

static void test_segment_udp(void **state)
{
	(void)state;
	check_segments_udp(false);
	check_segments_udp(true);
}

/* USO metadata that does not fit the packet is refused whole */
static void test_segment_udp_bad(void **state)
{
	static struct segs s;
	size_t len = mk_udp(big, false, 3000, 1);
	struct off_vnet h = {.flags = OFF_F_NEEDS_CSUM,
			     .gso_type = OFF_GSO_UDP_L4,
			     .gso_size = 1000,
			     .csum_start = 20,
			     .csum_offset = 6};
	(void)state;

	memset(&s, 0, sizeof(s));
	h.csum_offset = 16; /* TCP's */
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.csum_offset = 6;
	h.gso_size = 0;
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.gso_size = 1000;
	/* a TCP packet with the UDP type */
	len = mk_tcp(big, false, 1, 3000, 0x10, 1);
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	/* IP length disagreeing with what was read; truncated header */
	len = mk_udp(big, false, 3000, 1);
	assert_int_equal(seg_big(&h, len - 1, &s), -EBADMSG);
	assert_int_equal(seg_big(&h, 24, &s), -EBADMSG);
	/* segment larger than the buffer */
	h.gso_size = 4000;
	assert_int_equal(off_segment(&h, big, len, scratch, 2048, seg_cb, &s),
			 -EMSGSIZE);
	assert_int_equal(s.n, 0);
}

static void test_segment_bad(void **state)
{
	static struct segs s;
	size_t len = mk_tcp(big, false, 1, 3000, 0x10, 1);
	struct off_vnet h = {.flags = OFF_F_NEEDS_CSUM,
			     .gso_type = OFF_GSO_TCPV4,
			     .gso_size = 1000,
			     .csum_start = 20,
			     .csum_offset = 16};
	struct off_vnet t;
	uint8_t raw[10] = {1, 1};
	(void)state;

	memset(&s, 0, sizeof(s));
	h.gso_size = 0;
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.gso_size = 1000;
	h.csum_start = 24;
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.csum_start = 20;
	h.gso_type = OFF_GSO_TCPV6; /* IPv4 packet */
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.gso_type = 3; /* UFO: never announced */
	assert_int_equal(seg_big(&h, len, &s), -EBADMSG);
	h.gso_type = OFF_GSO_TCPV4;
	assert_int_equal(seg_big(&h, 60, &s), -EBADMSG); /* truncated */
	h.gso_size = 4000; /* larger than the scratch segment */
	assert_int_equal(off_segment(&h, big, len, scratch, 2048, seg_cb, &s),
			 -EMSGSIZE);
	assert_int_equal(s.n, 0);
	/* partial checksum pointing outside the packet */
	memset(&h, 0, sizeof(h));
	h.flags = OFF_F_NEEDS_CSUM;
	h.csum_start = 50;
	h.csum_offset = 16;
	assert_int_equal(seg_big(&h, 60, &s), -EBADMSG);
	assert_int_equal(off_vnet_parse(raw, 9, &t), -EBADMSG);
	assert_int_equal(off_vnet_parse(raw, 10, &t), 0);
	assert_int_equal(t.flags, 1);
	assert_int_equal(t.gso_type, 1);
}

/* ---- coalescing ---- */

struct writes {
	unsigned n;
	uint8_t buf[8][70000];
	size_t len[8];
	unsigned nseg[8];
};

static int wr_cb(void *arg, uint8_t *buf, size_t len, unsigned nseg)
{
	struct writes *w = arg;
	if (w->n >= 8)
		return -ENOSPC;
	memcpy(w->buf[w->n], buf, len);
	w->len[w->n] = len;
	w->nseg[w->n++] = nseg;
	return 0;
}

static struct writes W;
static uint8_t grobuf[OFF_VNET_LEN + 65535];

static void check_roundtrip(bool v6)
{
	static struct segs s;
	struct off_gro g;
	struct off_vnet h = {
	    .flags = OFF_F_NEEDS_CSUM,
	    .gso_type = v6 ? OFF_GSO_TCPV6 : OFF_GSO_TCPV4,
	    .gso_size = 1360,
	    .csum_start = v6 ? 40 : 20,
	    .csum_offset = 16,
	};
	size_t ihl = v6 ? 40 : 20, len = mk_tcp(big, v6, 5, 10000, 0x18, 9);
	const uint8_t *p;
	struct off_vnet out;
	uint32_t ps = 0;

	memset(&s, 0, sizeof(s));
	memset(&W, 0, sizeof(W));
	assert_int_equal(seg_big(&h, len, &s), 8);
	off_gro_init(&g, grobuf, sizeof(grobuf));
	for (unsigned i = 0; i < s.n; i++)
		assert_int_equal(
		    off_gro_push(&g, s.pkt[i], s.len[i], wr_cb, &W), 0);
	assert_int_equal(W.n, 0); /* still pending */
	assert_int_equal(off_gro_flush(&g, wr_cb, &W), 0);
	assert_int_equal(W.n, 1);
	assert_int_equal(W.nseg[0], 8);
	assert_int_equal(W.len[0], OFF_VNET_LEN + len);
	assert_int_equal(off_vnet_parse(W.buf[0], W.len[0], &out), 0);
	assert_int_equal(out.flags, OFF_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, h.gso_type);
	assert_int_equal(out.gso_size, 1360);
	assert_int_equal(out.hdr_len, ihl + THL);
	assert_int_equal(out.csum_start, ihl);
	assert_int_equal(out.csum_offset, 16);
	p = W.buf[0] + OFF_VNET_LEN;
	/* same bytes as the original super-packet but for the checksum
	 * field, which holds the pseudo-header sum (CHECKSUM_PARTIAL) */
	assert_memory_equal(p, big, ihl + 16);
	assert_memory_equal(p + ihl + 18, big + ihl + 18, len - ihl - 18);
	if (v6)
		ps = ref_sum(ps, p + 8, 32);
	else
		ps = ref_sum(ps, p + 12, 8);
	ps += 6 + (uint32_t)(len - ihl);
	assert_int_equal(g16(p + ihl + 16), ref_fold(ps));
	if (!v6)
		assert_true(ref_ip4_ok(p));
}

static void test_gro_v4(void **state)
{
	(void)state;
	check_roundtrip(false);
}
static void test_gro_v6(void **state)
{
	(void)state;
	check_roundtrip(true);
}

static void test_gro_no_merge(void **state)
{
	static uint8_t a[2048], b[2048], c[2048], u[64];
	struct off_gro g;
	size_t la, lb, lc;
	(void)state;

	off_gro_init(&g, grobuf, sizeof(grobuf));
	memset(&W, 0, sizeof(W));
	/* gap in the sequence: two writes of one segment each */
	la = mk_tcp(a, false, 100, 1000, 0x10, 1);
	lb = mk_tcp(b, false, 100 + 1001, 1000, 0x10, 2);
	off_gro_push(&g, a, la, wr_cb, &W);
	off_gro_push(&g, b, lb, wr_cb, &W);
	off_gro_flush(&g, wr_cb, &W);
	assert_int_equal(W.n, 2);
	assert_int_equal(W.nseg[0], 1);
	assert_int_equal(W.nseg[1], 1);
	/* single segments go out unchanged with an empty vnet header */
	assert_memory_equal(W.buf[0] + OFF_VNET_LEN, a, la);
	for (int i = 0; i < OFF_VNET_LEN; i++)
		assert_int_equal(W.buf[0][i], 0);

	/* bad checksum: not merged (the kernel will drop it) */
	memset(&W, 0, sizeof(W));
	la = mk_tcp(a, false, 100, 1000, 0x10, 1);
	lb = mk_tcp(b, false, 1100, 1000, 0x10, 2);
	b[20 + 40] ^= 1;
	off_gro_push(&g, a, la, wr_cb, &W);
	off_gro_push(&g, b, lb, wr_cb, &W);
	off_gro_flush(&g, wr_cb, &W);
	assert_int_equal(W.n, 2);
	assert_memory_equal(W.buf[1] + OFF_VNET_LEN, b, lb);

	/* FIN, and a different flow: each alone, order kept */
	memset(&W, 0, sizeof(W));
	la = mk_tcp(a, false, 100, 1000, 0x10, 1);
	lb = mk_tcp(b, false, 1100, 1000, 0x11, 2);
	lc = mk_tcp(c, false, 2100, 1000, 0x10, 3);
	c[20 + 1] ^= 1; /* other source port, checksum now wrong too */
	off_gro_push(&g, a, la, wr_cb, &W);
	off_gro_push(&g, b, lb, wr_cb, &W);
	off_gro_push(&g, c, lc, wr_cb, &W);
	off_gro_flush(&g, wr_cb, &W);
	assert_int_equal(W.n, 3);
	assert_memory_equal(W.buf[1] + OFF_VNET_LEN, b, lb);

	/* a short segment ends the burst; a non-TCP packet flushes first */
	memset(&W, 0, sizeof(W));
	la = mk_tcp(a, false, 100, 1000, 0x10, 1);
	lb = mk_tcp(b, false, 1100, 500, 0x10, 2);
	lc = mk_tcp(c, false, 1600, 500, 0x10, 3);
	memcpy(u, a, 20);
	u[9] = 17;
	p16(u + 2, 28);
	off_gro_push(&g, a, la, wr_cb, &W);
	off_gro_push(&g, b, lb, wr_cb, &W);
	off_gro_push(&g, c, lc, wr_cb, &W);
	off_gro_push(&g, u, 28, wr_cb, &W);
	off_gro_flush(&g, wr_cb, &W);
	assert_int_equal(W.n, 3);
	assert_int_equal(W.nseg[0], 2);
	assert_int_equal(W.nseg[1], 1);
	assert_int_equal(W.len[2], OFF_VNET_LEN + 28);
}

static void test_gro_limits(void **state)
{
	static uint8_t a[2048];
	struct off_gro g;
	unsigned total = 0;
	(void)state;

	/* 100 full segments of 1000 bytes: IPv4 caps at 64 KiB */
	off_gro_init(&g, grobuf, sizeof(grobuf));
	memset(&W, 0, sizeof(W));
	for (unsigned i = 0; i < 100; i++) {
		size_t l = mk_tcp(a, false, 1000 * i, 1000, 0x10, (uint16_t)i);
		assert_int_equal(off_gro_push(&g, a, l, wr_cb, &W), 0);
	}
	off_gro_flush(&g, wr_cb, &W);
	for (unsigned i = 0; i < W.n; i++) {
		assert_true(W.len[i] - OFF_VNET_LEN <= 65535);
		assert_true(W.nseg[i] <= OFF_GRO_MAX);
		total += W.nseg[i];
	}
	assert_int_equal(total, 100);
	assert_true(W.n >= 2);
}

/* off_csum_add against the reference: every length 0..300 at every even
 * start, worst-case bytes (all 0xff: maximal carries), random bytes, and
 * a sum accumulated over pieces. */
static void test_csum_ref(void **state)
{
	static uint8_t buf[2048];
	uint32_t rnd = 12345;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			rnd = rnd * 1103515245u + 12345u;
			buf[i] = pass ? (uint8_t)(rnd >> 16) : 0xff;
		}
		for (size_t off = 0; off < 16; off += 2)
			for (size_t n = 0; n <= 300; n++) {
				uint16_t got = off_csum_fold(
				    off_csum_add(0, buf + off, n));
				uint16_t want =
				    ref_fold(ref_sum(0, buf + off, n));
				/* ours is in memory (host) order */
				uint8_t b[2];
				memcpy(b, &got, 2);
				got = (uint16_t)(b[0] << 8 | b[1]);
				if (got != want && !(got == 0xffff && !want) &&
				    !(want == 0xffff && !got))
					fail_msg(
					    "csum off %zu len %zu: %04x != "
					    "%04x",
					    off, n, got, want);
			}
		/* pieces of even length, then an odd tail */
		{
			uint64_t s = 0;
			uint16_t got, want;
			uint8_t b[2];
			s = off_csum_add(s, buf, 100);
			s = off_csum_add(s, buf + 100, 1302);
			s = off_csum_add(s, buf + 1402, 33);
			got = off_csum_fold(s);
			memcpy(b, &got, 2);
			got = (uint16_t)(b[0] << 8 | b[1]);
			want = ref_fold(ref_sum(0, buf, 1435));
			assert_int_equal(got, want);
		}
	}
}

/* off_csum_copy: the same sum as off_csum_add (from a non-zero start
 * too), the octets copied, nothing written past n. */
static void test_csum_copy(void **state)
{
	static uint8_t src[2048], dst[2048];
	uint32_t rnd = 777;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++) {
		rnd = rnd * 1103515245u + 12345u;
		src[i] = (uint8_t)(rnd >> 16);
	}
	for (size_t off = 0; off < 16; off += 2)
		for (size_t n = 0; n <= 1500; n += n < 300 ? 1 : 97) {
			uint64_t seed = n * 0x9e3779b9u;
			memset(dst, 0xa5, sizeof(dst));
			assert_int_equal(
			    off_csum_fold(off_csum_copy(seed, dst + off + 2,
							src + off, n)),
			    off_csum_fold(off_csum_add(seed, src + off, n)));
			assert_memory_equal(dst + off + 2, src + off, n);
			assert_int_equal(dst[off + 2 + n], 0xa5);
			assert_int_equal(dst[off + 1], 0xa5);
		}
	/* the largest IP packet, all ones (every lane and carry at its
	 * maximum) and random, against the reference */
	{
		static uint8_t huge[65535], bdst[65535];
		for (int pass = 0; pass < 2; pass++) {
			uint16_t got, want;
			uint8_t b[2];
			for (size_t i = 0; i < sizeof(huge); i++) {
				rnd = rnd * 1103515245u + 12345u;
				huge[i] = pass ? (uint8_t)(rnd >> 16) : 0xff;
			}
			got = off_csum_fold(
			    off_csum_copy(0, bdst, huge, sizeof(huge)));
			assert_memory_equal(bdst, huge, sizeof(huge));
			memcpy(b, &got, 2);
			got = (uint16_t)(b[0] << 8 | b[1]);
			want = ref_fold(ref_sum(0, huge, sizeof(huge)));
			assert_true(got == want || (got == 0xffff && !want) ||
				    (want == 0xffff && !got));
			assert_int_equal(
			    off_csum_fold(off_csum_add(0, huge, sizeof(huge))),
			    off_csum_fold(
				off_csum_copy(0, bdst, huge, sizeof(huge))));
		}
	}
}

/* A first segment with a bad checksum is written alone and unchanged;
 * the good segments behind it still merge. */
static void test_gro_bad_first(void **state)
{
	static uint8_t a[2048], b[2048], c[2048];
	struct off_gro g;
	size_t la, lb, lc;
	(void)state;

	off_gro_init(&g, grobuf, sizeof(grobuf));
	memset(&W, 0, sizeof(W));
	la = mk_tcp(a, false, 100, 1000, 0x10, 1);
	lb = mk_tcp(b, false, 1100, 1000, 0x10, 2);
	lc = mk_tcp(c, false, 2100, 1000, 0x10, 3);
	a[20 + THL + 999] ^= 0x40; /* last payload octet */
	off_gro_push(&g, a, la, wr_cb, &W);
	off_gro_push(&g, b, lb, wr_cb, &W);
	off_gro_push(&g, c, lc, wr_cb, &W);
	off_gro_flush(&g, wr_cb, &W);
	assert_int_equal(W.n, 2);
	assert_int_equal(W.nseg[0], 1);
	assert_int_equal(W.len[0], OFF_VNET_LEN + la);
	assert_memory_equal(W.buf[0] + OFF_VNET_LEN, a, la);
	for (int i = 0; i < OFF_VNET_LEN; i++)
		assert_int_equal(W.buf[0][i], 0);
	assert_int_equal(W.nseg[1], 2);
	assert_int_equal(W.len[1], OFF_VNET_LEN + 20 + THL + 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_ref),
	    cmocka_unit_test(test_csum_copy),
	    cmocka_unit_test(test_gro_bad_first),
	    cmocka_unit_test(test_segment_v4),
	    cmocka_unit_test(test_segment_v6),
	    cmocka_unit_test(test_segment_plain),
	    cmocka_unit_test(test_segment_bad),
	    cmocka_unit_test(test_segment_udp),
	    cmocka_unit_test(test_segment_udp_bad),
	    cmocka_unit_test(test_gro_v4),
	    cmocka_unit_test(test_gro_v6),
	    cmocka_unit_test(test_gro_no_merge),
	    cmocka_unit_test(test_gro_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
