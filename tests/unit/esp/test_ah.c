/*
 * test_ah.c - the AH engine (src/kernel/userspace/ah.c, RFC 4302):
 * known ICVs (ah_vectors.h, computed by gen_ah_vectors.py with Python's
 * hmac from the RFC alone) for IPv4 with a mutable and an immutable
 * option and for IPv6 with a hop-by-hop option that may change en route
 * (with and without ESN); every immutable octet mutated fails the ICV,
 * every mutable field mutated still verifies; replay, lengths, next
 * header, fragments and routing headers; all four integrity algorithms
 * and their ICV padding.  Issue 16: IPv6 with hop-by-hop, destination
 * options and a routing header (segments left 0) in front of AH (vector
 * ah_v6x_icv, mutations), routing headers with segments left > 0
 * refused (AH_E_ROUTING), and ah6_ext_span() for transport-mode output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/userspace/ah.h"

#include "ah_vectors.h"

static const uint8_t v4_opts[12] = {148, 4, 0, 0, 7, 7, 4, 192, 0, 2, 1, 0};

static void sa_make(struct esp_sa *sa, uint32_t spi, uint16_t integ,
		    uint8_t first, size_t klen, bool esn, uint32_t window)
{
	struct ksa k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_AH;
	k.mode = KMODE_TUNNEL;
	k.spi = spi;
	k.integ_id = integ;
	k.auth_key_len = (uint16_t)klen;
	for (size_t i = 0; i < klen; i++)
		k.auth_key[i] = (uint8_t)(first + i);
	k.esn = esn;
	k.replay_window = window;
	k.src.af = k.dst.af = AF_INET;
	assert_int_equal(esp_sa_init(sa, &k, 1, NULL, 0), 0);
}

/* The IPv4 packet of gen_ah_vectors.py: IHL 8 (Router Alert, Record
 * Route, EOL), AH for HMAC-SHA1-96, 20 octets of payload. */
static size_t v4_build(uint8_t *p)
{
	size_t tot = 32 + 24 + 20;

	memset(p, 0, tot);
	p[0] = 0x48;
	p[1] = 0x10;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[4] = 0x12;
	p[5] = 0x34;
	p[6] = 0x40;
	p[8] = 64;
	p[9] = 51;
	p[10] = 0xab;
	p[11] = 0xcd;
	memcpy(p + 12, (uint8_t[]){198, 51, 100, 1, 198, 51, 100, 2}, 8);
	memcpy(p + 20, v4_opts, sizeof(v4_opts));
	for (int i = 0; i < 20; i++)
		p[56 + i] = (uint8_t)(0x40 + i);
	return tot;
}

/* The IPv6 packet: hop-by-hop header with option 0x3e (changes en
 * route), AH for HMAC-SHA2-256-128 (28 octets padded to 32), payload. */
static size_t v6_build(uint8_t *p)
{
	static const uint8_t hbh[8] = {51, 0, 0x3e, 4, 0xde, 0xad, 0xbe, 0xef};
	size_t plen = 8 + 32 + 20;

	memset(p, 0, 40 + plen);
	p[0] = 0x6b;
	p[1] = 0x81;
	p[2] = 0x23;
	p[3] = 0x45;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = 0;
	p[7] = 255;
	p[8] = 0x20;
	p[9] = 0x01;
	p[10] = 0x0d;
	p[11] = 0xb8;
	p[13] = 1;
	p[23] = 1;
	memcpy(p + 24, p + 8, 16);
	p[39] = 2;
	memcpy(p + 40, hbh, 8);
	for (int i = 0; i < 20; i++)
		p[80 + i] = (uint8_t)(0x40 + i);
	return 40 + plen;
}

/* gen_ah_vectors.py's v6x packet: hop-by-hop (0x3e mutable, PadN),
 * destination options (0x1e immutable, 0x3e mutable, PadN), routing
 * header type 0 with segments left 0, then AH (HMAC-SHA2-256-128, next
 * header UDP) at 88 and 20 octets of payload. */
static size_t v6x_build(uint8_t *p)
{
	static const uint8_t ext[48] = {
	    60,	  0,	0x3e, 2,    0xaa, 0xbb, 1,    0,    /* hop-by-hop */
	    43,	  1,	0x1e, 4,    0x11, 0x22, 0x33, 0x44, /* dest. opts */
	    0x3e, 4,	0x55, 0x66, 0x77, 0x88, 1,    0,    /* ... */
	    51,	  2,	0,    0,    0,	  0,	0,    0,    /* routing */
	    0x20, 0x01, 0x0d, 0xb8, 0,	  1,	0,    0,    /* its address */
	    0,	  0,	0,    0,    0,	  0,	0,    2,
	};
	size_t len = v6_build(p), plen = 48 + 32 + 20;

	memmove(p + 88, p + 48, 52);
	memcpy(p + 40, ext, sizeof(ext));
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = 0;
	return len + 40;
}

static int verify(struct esp_sa *rx, const uint8_t *p, size_t len)
{
	size_t off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev;
	int rc = ah_peek(p, len, &off, &spi, &seq);

	if (rc < 0)
		return rc;
	return ah_decap(rx, p, len, off, &nh, &pay, 2, &ev);
}

static void test_v4_vector(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128];
	size_t len = v4_build(p), off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 64);
	sa_make(&rx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 64);
	assert_int_equal(ah_hdr_len(&tx, AF_INET), 24);
	assert_int_equal(ah_encap(&tx, p, len, 32, 6, 1, &ev), 0);
	/* §2: next header, length 24/4 - 2, reserved, SPI, sequence 1 */
	assert_memory_equal(
	    p + 32, ((uint8_t[]){6, 4, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 1}), 12);
	assert_memory_equal(p + 44, ah_v4_icv, sizeof(ah_v4_icv));
	assert_int_equal(ah_peek(p, len, &off, &spi, &seq), 0);
	assert_int_equal(off, 32);
	assert_int_equal(spi, 0x1000);
	assert_int_equal(seq, 1);
	assert_int_equal(ah_decap(&rx, p, len, off, &nh, &pay, 2, &ev), 0);
	assert_int_equal(nh, 6);
	assert_int_equal(pay, 56);
	assert_int_equal(rx.cnt.packets, 1);
	assert_int_equal(rx.cnt.bytes, 20);
	/* §3.4.3: the same packet again is a replay */
	assert_int_equal(verify(&rx, p, len), ESP_E_REPLAY);
	assert_int_equal(rx.cnt.replay_drops, 1);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

static void test_v6_vector(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128];
	size_t len = v6_build(p), off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false,
		64);
	sa_make(&rx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false,
		64);
	/* §3.3.3.2.1: 12 + 16 padded to a multiple of 8 octets */
	assert_int_equal(ah_hdr_len(&tx, AF_INET6), 32);
	assert_int_equal(ah_encap(&tx, p, len, 48, 6, 1, &ev), 0);
	assert_int_equal(p[49], 6);
	assert_memory_equal(p + 60, ah_v6_icv, sizeof(ah_v6_icv));
	assert_memory_equal(p + 76, ((uint8_t[]){0, 0, 0, 0}), 4);
	assert_int_equal(ah_peek(p, len, &off, &spi, &seq), 0);
	assert_int_equal(off, 48);
	assert_int_equal(ah_decap(&rx, p, len, off, &nh, &pay, 2, &ev), 0);
	assert_int_equal(pay, 80);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

/* §2.5.1: with ESN the high half is in the ICV, not on the wire */
static void test_v6_esn(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128];
	size_t len = v6_build(p);
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, true, 64);
	sa_make(&rx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, true, 64);
	tx.seq_out = 0x100000000ull;
	assert_int_equal(ah_encap(&tx, p, len, 48, 6, 1, &ev), 0);
	assert_memory_equal(p + 56, ((uint8_t[]){0, 0, 0, 1}), 4);
	assert_memory_equal(p + 60, ah_v6_icv_esn1, sizeof(ah_v6_icv_esn1));
	/* a receiver whose window is in the same subspace verifies ... */
	rx.rpl_top = 0x100000000ull;
	assert_int_equal(verify(&rx, p, len), 0);
	assert_int_equal(rx.rpl_top, 0x100000001ull);
	/* ... one that infers another high half does not */
	esp_sa_free(&rx);
	sa_make(&rx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, true, 64);
	rx.rpl_top = 0x200000000ull;
	assert_int_equal(verify(&rx, p, len), ESP_E_AUTH);
	assert_int_equal(rx.cnt.integrity_drops, 1);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

/* Is octet i of the IPv4 vector mutable (RFC 4302 §3.3.3.1.1.1, A.1)? */
static bool v4_mutable(size_t i)
{
	return i == 1 || i == 6 || i == 7 || i == 8 || i == 10 || i == 11 ||
	       (i >= 26 && i < 31); /* Record Route's pointer and data */
}

static void test_v4_mutations(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128], q[128];
	size_t len = v4_build(p);
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 0);
	/* window 0: no replay check, one receiver for every variant */
	sa_make(&rx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 0);
	assert_int_equal(ah_encap(&tx, p, len, 32, 6, 1, &ev), 0);
	assert_int_equal(verify(&rx, p, len), 0);
	for (size_t i = 0; i < len; i++) {
		memcpy(q, p, len);
		q[i] ^= 0x01;
		/* a flipped MF bit / offset makes it a fragment: ah_peek
		 * refuses; ah_decap alone zeroes them (mutable) */
		if (i == 6 || i == 7) {
			size_t pay;
			uint8_t nh;
			assert_int_equal(
			    ah_decap(&rx, q, len, 32, &nh, &pay, 2, &ev), 0);
			continue;
		}
		/* Record Route's type and length are zeroed too, but a
		 * changed length moves the option framing: covered by
		 * test_malformed */
		if (i == 24 || i == 25)
			continue;
		if (v4_mutable(i))
			assert_int_equal(verify(&rx, q, len), 0);
		else
			assert_int_not_equal(verify(&rx, q, len), 0);
	}
	/* the whole mutable fields, not one bit: TOS, flags + offset
	 * (a fragment: ah_peek refuses it, RFC 4302 §3.4.1), TTL */
	memcpy(q, p, len);
	q[1] = 0xff;
	q[8] = 1;
	q[10] = q[11] = 0;
	assert_int_equal(verify(&rx, q, len), 0);
	q[6] = 0x20;
	assert_int_equal(verify(&rx, q, len), -EOPNOTSUPP);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

static void test_v6_mutations(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128], q[128];
	size_t len = v6_build(p);
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false, 0);
	sa_make(&rx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false, 0);
	assert_int_equal(ah_encap(&tx, p, len, 48, 6, 1, &ev), 0);
	for (size_t i = 0; i < len; i++) {
		/* §3.3.3.1.2: traffic class, flow label, hop limit, and the
		 * data of the option with the change-en-route bit */
		bool mut = (i >= 1 && i <= 3) || i == 7 || (i >= 44 && i < 48);
		memcpy(q, p, len);
		q[i] ^= 0x01;
		if (i == 0)
			q[i] ^= 0x10; /* class high bits AND the version */
		if (mut)
			assert_int_equal(verify(&rx, q, len), 0);
		else
			assert_int_not_equal(verify(&rx, q, len), 0);
	}
	/* traffic class alone (high nibble of octet 0 is the version) */
	memcpy(q, p, len);
	q[0] = 0x60;
	assert_int_equal(verify(&rx, q, len), 0);
	/* the option's type without the en-route bit: its data counts */
	memcpy(q, p, len);
	q[42] = 0x1e;
	assert_int_not_equal(verify(&rx, q, len), 0);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

/* RFC 4302 §3.3.3.1.2: extension headers in front of AH */
static void test_v6_ext_headers(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[200], q[200];
	size_t len = v6x_build(p), off, pay, end, last;
	uint32_t spi, seq;
	uint8_t nh, up;
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false, 0);
	sa_make(&rx, 0x2000, IKEV2_INTEG_HMAC_SHA2_256_128, 0x20, 32, false, 0);
	assert_int_equal(len, 140);
	assert_int_equal(ah_encap(&tx, p, len, 88, 17, 1, &ev), 0);
	assert_memory_equal(p + 100, ah_v6x_icv, sizeof(ah_v6x_icv));
	assert_int_equal(ah_peek(p, len, &off, &spi, &seq), 0);
	assert_int_equal(off, 88);
	assert_int_equal(ah_decap(&rx, p, len, off, &nh, &pay, 2, &ev), 0);
	assert_int_equal(nh, 17);
	assert_int_equal(pay, 120);
	for (size_t i = 0; i < len; i++) {
		/* mutable: traffic class, flow label, hop limit, the data
		 * of the two options with the change-en-route bit */
		bool mut = (i >= 1 && i <= 3) || i == 7 || i == 44 || i == 45 ||
			   (i >= 58 && i < 62);
		memcpy(q, p, len);
		q[i] ^= 0x01;
		if (i == 0)
			q[i] ^= 0x10;
		if (mut)
			assert_int_equal(verify(&rx, q, len), 0);
		else
			assert_int_not_equal(verify(&rx, q, len), 0);
	}
	/* the routing header with segments left 1: refused, whatever the
	 * ICV */
	memcpy(q, p, len);
	q[67] = 1;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), AH_E_ROUTING);
	assert_int_equal(ah_decap(&rx, q, len, 88, &nh, &pay, 2, &ev),
			 AH_E_ROUTING);
	/* a fragment header instead of the destination options */
	memcpy(q, p, len);
	q[40] = 44;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), -EOPNOTSUPP);
	/* hop-by-hop anywhere but first */
	memcpy(q, p, len);
	q[6] = 60;
	q[40] = 0;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* a chain that skips AH (next header UDP in the routing header) */
	memcpy(q, p, len);
	q[64] = 17;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* extension headers beyond AH_MAX_IPHDR: 30 empty destination
	 * options headers (bounded walk) */
	memset(q, 0, sizeof(q));
	memcpy(q, p, 40);
	q[4] = 0;
	q[5] = 160;
	q[6] = 60;
	for (size_t i = 0; i < 20; i++) {
		q[40 + 8 * i] = 60;
		q[40 + 8 * i + 2] = 1; /* PadN, 4 octets */
		q[40 + 8 * i + 3] = 4;
	}
	assert_int_equal(ah_peek(q, 200, &off, &spi, &seq), ESP_E_SHORT);
	/* output: the headers that stay in front of AH of the packet before
	 * protection (next header UDP where AH will go) */
	memcpy(q, p, 88);
	q[64] = 17;
	memcpy(q + 88, p + 120, 20);
	assert_int_equal(ah6_ext_span(q, 108, &end, &last, &up), 0);
	assert_int_equal(end, 88);
	assert_int_equal(last, 64);
	assert_int_equal(up, 17);
	/* none: the IPv6 header's own next header */
	q[6] = 17;
	assert_int_equal(ah6_ext_span(q, 108, &end, &last, &up), 0);
	assert_int_equal(end, 40);
	assert_int_equal(last, 6);
	q[6] = 0;
	q[67] = 2;
	assert_int_equal(ah6_ext_span(q, 108, &end, &last, &up), AH_E_ROUTING);
	q[67] = 0;
	q[48] = 44;
	assert_int_equal(ah6_ext_span(q, 108, &end, &last, &up), -EOPNOTSUPP);
	q[48] = 43;
	/* truncated inside the routing header, inside the IPv6 header */
	assert_int_equal(ah6_ext_span(q, 70, &end, &last, &up), ESP_E_SHORT);
	assert_int_equal(ah6_ext_span(q, 30, &end, &last, &up), ESP_E_SHORT);
	assert_string_not_equal(ah_strerror(AH_E_ROUTING), "unknown");
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

static void test_malformed(void **state)
{
	struct esp_sa tx, rx;
	uint8_t p[128], q[160];
	size_t len = v4_build(p), off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev;

	(void)state;
	sa_make(&tx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 0);
	sa_make(&rx, 0x1000, IKEV2_INTEG_HMAC_SHA1_96, 1, 20, false, 0);
	assert_int_equal(ah_encap(&tx, p, len, 32, 6, 1, &ev), 0);
	/* truncated anywhere: refused before any state changes */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(verify(&rx, p, n), 0);
	assert_int_equal(rx.cnt.packets, 0);
	/* AH length field: too short for the ICV, too long, odd */
	for (unsigned l = 0; l < 256; l++) {
		if (l == 4)
			continue;
		memcpy(q, p, len);
		q[33] = (uint8_t)l;
		assert_int_not_equal(
		    ah_decap(&rx, q, len, 32, &nh, &pay, 2, &ev), 0);
	}
	/* next header 0 (hop-by-hop) or 51 (AH in AH) */
	memcpy(q, p, len);
	q[32] = 0;
	assert_int_equal(ah_decap(&rx, q, len, 32, &nh, &pay, 2, &ev),
			 ESP_E_SHORT);
	/* SPI of another SA, reserved SPIs */
	memcpy(q, p, len);
	q[39] = 0x01;
	assert_int_equal(ah_decap(&rx, q, len, 32, &nh, &pay, 2, &ev),
			 ESP_E_SHORT);
	memcpy(q, p, len);
	memset(q + 36, 0, 4);
	q[39] = 0xff;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* IPv4: total length other than the packet's, IHL < 5, a bad
	 * option length, not AH */
	memcpy(q, p, len);
	assert_int_equal(ah_peek(q, len - 1, &off, &spi, &seq), ESP_E_SHORT);
	q[0] = 0x44;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	memcpy(q, p, len);
	q[25] = 40;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	memcpy(q, p, len);
	q[25] = 1;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	memcpy(q, p, len);
	q[9] = 50;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* IPv6: a routing header with segments left 4 (the hop-by-hop
	 * header read as one), a fragment header in front of AH */
	len = v6_build(q);
	q[6] = 43;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), AH_E_ROUTING);
	q[6] = 44;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), -EOPNOTSUPP);
	q[6] = 17;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* hop-by-hop whose length runs past the packet */
	len = v6_build(q);
	q[41] = 200;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* an option running past its header */
	len = v6_build(q);
	q[43] = 9;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	/* a garbage version */
	q[0] = 0x50;
	assert_int_equal(ah_peek(q, len, &off, &spi, &seq), ESP_E_SHORT);
	assert_int_equal(rx.cnt.packets, 0);
	esp_sa_free(&tx);
	esp_sa_free(&rx);
}

/* Every integrity algorithm iked negotiates for AH, both families: the
 * header length (ICV + padding) and a round trip; a wrong key fails. */
static void test_algorithms(void **state)
{
	static const struct {
		uint16_t id;
		size_t klen, v4, v6;
	} a[] = {
	    {IKEV2_INTEG_HMAC_SHA1_96, 20, 24, 24},
	    {IKEV2_INTEG_HMAC_SHA2_256_128, 32, 28, 32},
	    {IKEV2_INTEG_HMAC_SHA2_384_192, 48, 36, 40},
	    {IKEV2_INTEG_HMAC_SHA2_512_256, 64, 44, 48},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		struct esp_sa tx, rx, bad;
		uint8_t p[200];
		unsigned ev;
		size_t len;

		sa_make(&tx, 0x3000, a[i].id, 7, a[i].klen, false, 64);
		sa_make(&rx, 0x3000, a[i].id, 7, a[i].klen, false, 64);
		sa_make(&bad, 0x3000, a[i].id, 8, a[i].klen, false, 64);
		assert_int_equal(ah_hdr_len(&tx, AF_INET), a[i].v4);
		assert_int_equal(ah_hdr_len(&tx, AF_INET6), a[i].v6);
		/* a plain IPv4 header + AH + 30 octets */
		len = 20 + a[i].v4 + 30;
		memset(p, 0x5a, len);
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[6] = p[7] = 0;
		p[9] = 51;
		assert_int_equal(ah_encap(&tx, p, len, 20, 4, 1, &ev), 0);
		assert_int_equal(verify(&bad, p, len), ESP_E_AUTH);
		assert_int_equal(verify(&rx, p, len), 0);
		esp_sa_free(&tx);
		esp_sa_free(&rx);
		esp_sa_free(&bad);
	}
}

/* The SA set-up: AH takes no encryption, needs a known integrity
 * transform with its key length; 2^32 - 1 packets without ESN. */
static void test_sa_rules(void **state)
{
	struct esp_sa sa;
	struct ksa k;
	uint8_t p[128];
	size_t len = v4_build(p);
	unsigned ev;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_AH;
	k.spi = 0x1000;
	assert_int_equal(esp_sa_init(&sa, &k, 1, NULL, 0), -ENOTSUP);
	k.integ_id = IKEV2_INTEG_HMAC_SHA1_96;
	k.auth_key_len = 19;
	assert_int_equal(esp_sa_init(&sa, &k, 1, NULL, 0), -EINVAL);
	k.auth_key_len = 20;
	k.encr_id = IKEV2_ENCR_NULL;
	assert_int_equal(esp_sa_init(&sa, &k, 1, NULL, 0), -EINVAL);
	k.encr_id = 0;
	assert_int_equal(esp_sa_init(&sa, &k, 1, NULL, 0), 0);
	sa.seq_out = UINT32_MAX;
	assert_int_equal(ah_encap(&sa, p, len, 32, 6, 1, &ev), ESP_E_DEAD);
	assert_int_equal(ev, ESP_EV_HARD);
	esp_sa_free(&sa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_vector),
	    cmocka_unit_test(test_v6_vector),
	    cmocka_unit_test(test_v6_esn),
	    cmocka_unit_test(test_v4_mutations),
	    cmocka_unit_test(test_v6_mutations),
	    cmocka_unit_test(test_v6_ext_headers),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_algorithms),
	    cmocka_unit_test(test_sa_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
