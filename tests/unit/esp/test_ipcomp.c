/*
 * test_ipcomp.c - the IPComp engine (RFC 3173, DEFLATE RFC 2394):
 * round trips, the no-compression rules (§2.1, §2.2), and malformed
 * input: short headers, bad DEFLATE, trailing octets, nested IPComp,
 * decompression bombs (output bounded), a CPI that is not the SA's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <zlib.h>

#include "crypto/xform.h"
#include "kernel/userspace/ipcomp.h"

static void sa_make(struct esp_sa *sa, uint32_t cpi)
{
	struct ksa k;
	char err[128];

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_COMP;
	k.spi = cpi;
	k.comp_id = IKEV2_IPCOMP_DEFLATE;
	assert_int_equal(ipcomp_sa_init(sa, &k, 1, err, sizeof(err)), 0);
}

/* raw DEFLATE of in (what a peer would send) into out, its length */
static size_t raw_deflate(const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(
	    deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	len = cap - z.avail_out;
	deflateEnd(&z);
	return len;
}

static void test_roundtrip(void **st)
{
	static uint8_t pl[1400], wire[2000], back[2000];
	struct esp_sa a, b;
	size_t wl = 0, bl = 0;
	unsigned ev = 9;
	uint32_t cpi, seq;
	uint8_t nh = 0;

	(void)st;
	sa_make(&a, 0x1234);
	sa_make(&b, 0x1234);
	memset(pl, 0, sizeof(pl)); /* ping -p 00 */
	pl[0] = 0x45;
	assert_int_equal(ipcomp_out(&a, pl, sizeof(pl), IPPROTO_IPIP, wire,
				    sizeof(wire), &wl, 1, &ev),
			 0);
	assert_int_equal(ev, 0);
	assert_true(wl < 100); /* 1400 zeros shrink to a few octets */
	/* RFC 3173 §2.2: next header, flags 0, CPI */
	assert_int_equal(wire[0], IPPROTO_IPIP);
	assert_int_equal(wire[1], 0);
	assert_int_equal(wire[2], 0x12);
	assert_int_equal(wire[3], 0x34);
	assert_int_equal(ipcomp_peek(wire, wl, &cpi, &seq), 0);
	assert_int_equal(cpi, 0x1234);
	assert_int_equal(seq, 0);
	assert_int_equal(
	    ipcomp_in(&b, wire, wl, back, sizeof(back), &bl, &nh, 1, &ev), 0);
	assert_int_equal(nh, IPPROTO_IPIP);
	assert_int_equal(bl, sizeof(pl));
	assert_memory_equal(back, pl, sizeof(pl));
	/* each datagram on its own (RFC 2394 §2): the same packet again
	 * gives the same bytes */
	{
		uint8_t w2[2000];
		size_t l2 = 0;
		assert_int_equal(ipcomp_out(&a, pl, sizeof(pl), IPPROTO_IPIP,
					    w2, sizeof(w2), &l2, 1, &ev),
				 0);
		assert_int_equal(l2, wl);
		assert_memory_equal(w2, wire, wl);
	}
	/* a peer's maximum-compression stream inflates too */
	wire[0] = IPPROTO_UDP;
	wl = IPCOMP_HDR_LEN + raw_deflate(pl, 500, wire + IPCOMP_HDR_LEN,
					  sizeof(wire) - IPCOMP_HDR_LEN);
	wire[1] = 0xff; /* §2.2: flags ignored on receipt */
	assert_int_equal(
	    ipcomp_in(&b, wire, wl, back, sizeof(back), &bl, &nh, 1, &ev), 0);
	assert_int_equal(nh, IPPROTO_UDP);
	assert_int_equal(bl, 500);
	ipcomp_sa_free(&a);
	ipcomp_sa_free(&b);
}

/* §2.1: small payloads; §2.2: payloads that do not shrink */
static void test_not_compressed(void **st)
{
	static uint8_t pl[1400], wire[2000];
	struct esp_sa a;
	size_t wl = 0;
	unsigned ev;
	uint32_t x = 2463534242u;

	(void)st;
	sa_make(&a, 0x1234);
	memset(pl, 0, sizeof(pl));
	assert_int_equal(ipcomp_out(&a, pl, IPCOMP_MIN_LEN - 1, IPPROTO_UDP,
				    wire, sizeof(wire), &wl, 1, &ev),
			 1);
	assert_int_equal(ipcomp_out(&a, pl, IPCOMP_MIN_LEN, IPPROTO_UDP, wire,
				    sizeof(wire), &wl, 1, &ev),
			 0);
	for (size_t i = 0; i < sizeof(pl); i++) { /* xorshift: random */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pl[i] = (uint8_t)x;
	}
	assert_int_equal(ipcomp_out(&a, pl, sizeof(pl), IPPROTO_UDP, wire,
				    sizeof(wire), &wl, 1, &ev),
			 1);
	/* no room for anything smaller: not compressed either */
	memset(pl, 0, sizeof(pl));
	assert_int_equal(
	    ipcomp_out(&a, pl, sizeof(pl), IPPROTO_UDP, wire, 4, &wl, 1, &ev),
	    1);
	ipcomp_sa_free(&a);
}

static void test_malformed(void **st)
{
	static uint8_t pl[3000], wire[4000], back[2000];
	struct esp_sa b;
	size_t wl, bl;
	unsigned ev;
	uint32_t cpi, seq;
	uint8_t nh;

	(void)st;
	sa_make(&b, 0x1234);
	/* headers of 0..4 octets: nothing to inflate */
	memset(wire, 0, sizeof(wire));
	wire[2] = 0x12;
	wire[3] = 0x34;
	for (size_t l = 0; l <= IPCOMP_HDR_LEN; l++)
		assert_int_equal(ipcomp_in(&b, wire, l, back, sizeof(back), &bl,
					   &nh, 1, &ev),
				 ESP_E_SHORT);
	assert_int_equal(ipcomp_peek(wire, 3, &cpi, &seq), ESP_E_SHORT);
	/* garbage that is not DEFLATE */
	memset(wire + 4, 0xff, 64);
	assert_int_equal(
	    ipcomp_in(&b, wire, 68, back, sizeof(back), &bl, &nh, 1, &ev),
	    IPCOMP_E_DATA);
	/* a good stream cut short, and one with octets after its end */
	memset(pl, 'a', 1000);
	wire[0] = IPPROTO_UDP;
	wl = IPCOMP_HDR_LEN + raw_deflate(pl, 1000, wire + 4, 2000);
	assert_int_equal(
	    ipcomp_in(&b, wire, wl - 1, back, sizeof(back), &bl, &nh, 1, &ev),
	    IPCOMP_E_DATA);
	wire[wl] = 0;
	assert_int_equal(
	    ipcomp_in(&b, wire, wl + 1, back, sizeof(back), &bl, &nh, 1, &ev),
	    IPCOMP_E_DATA);
	/* another SA's CPI */
	wire[3] = 0x35;
	assert_int_equal(
	    ipcomp_in(&b, wire, wl, back, sizeof(back), &bl, &nh, 1, &ev),
	    ESP_E_SHORT);
	wire[3] = 0x34;
	/* RFC 3173 §3.2: IPComp in IPComp */
	wire[0] = IPPROTO_COMP;
	assert_int_equal(
	    ipcomp_in(&b, wire, wl, back, sizeof(back), &bl, &nh, 1, &ev),
	    IPCOMP_E_NESTED);
	/* a bomb: 3000 octets into a 2000-octet bound, and a 1000-octet
	 * one into a 999-octet buffer */
	wire[0] = IPPROTO_UDP;
	memset(pl, 0, sizeof(pl));
	wl = IPCOMP_HDR_LEN + raw_deflate(pl, sizeof(pl), wire + 4, 2000);
	assert_true(wl < 100);
	assert_int_equal(
	    ipcomp_in(&b, wire, wl, back, sizeof(back), &bl, &nh, 1, &ev),
	    IPCOMP_E_BOMB);
	wl = IPCOMP_HDR_LEN + raw_deflate(pl, 1000, wire + 4, 2000);
	assert_int_equal(ipcomp_in(&b, wire, wl, back, 999, &bl, &nh, 1, &ev),
			 IPCOMP_E_BOMB);
	assert_int_equal(ipcomp_in(&b, wire, wl, back, 1000, &bl, &nh, 1, &ev),
			 0);
	assert_int_equal(bl, 1000);
	ipcomp_sa_free(&b);
}

/* only DEFLATE, CPIs of 16 bits above 255 */
static void test_sa_init(void **st)
{
	struct esp_sa sa;
	struct ksa k;

	(void)st;
	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_COMP;
	k.spi = 0x1234;
	k.comp_id = IKEV2_IPCOMP_LZS;
	assert_int_equal(ipcomp_sa_init(&sa, &k, 0, NULL, 0), -ENOTSUP);
	k.comp_id = IKEV2_IPCOMP_DEFLATE;
	k.spi = 255;
	assert_int_equal(ipcomp_sa_init(&sa, &k, 0, NULL, 0), -EINVAL);
	k.spi = 0x10000;
	assert_int_equal(ipcomp_sa_init(&sa, &k, 0, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_not_compressed),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_sa_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
