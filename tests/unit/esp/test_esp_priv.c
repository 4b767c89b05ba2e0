/*
 * test_esp_priv.c - the privileged parent's check of route requests from
 * r2espd's unprivileged worker (espd_priv.c: espd_rt_check).  The
 * worker is assumed compromised: every field is checked, anything odd
 * is refused.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "kernel/userspace/espd.h"

/* version, op, af, dst_plen, src_plen, flags, pad[2], dst[16], src[16] */
static void req(uint8_t *b, uint8_t op, uint8_t af, uint8_t dplen,
		uint8_t splen, const uint8_t *dst, const uint8_t *src)
{
	memset(b, 0, 40);
	b[0] = 1;
	b[1] = op;
	b[2] = af;
	b[3] = dplen;
	b[4] = splen;
	memcpy(b + 8, dst, af == AF_INET ? 4 : 16);
	if (src)
		memcpy(b + 24, src, af == AF_INET ? 4 : 16);
}

struct rt {
	uint8_t op, af, dst_plen, src_plen, flags;
	struct kaddr dst, src;
};

static int check(const uint8_t *b, size_t n)
{
	struct rt r;
	const char *why = NULL;
	int rc = espd_rt_check(b, n, &r, &why);

	if (rc < 0)
		assert_non_null(why);
	return rc;
}

static void test_valid(void **state)
{
	static const uint8_t d4[16] = {203, 0, 113, 0}, s4[16] = {198, 51};
	static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xb};
	uint8_t b[41];
	struct rt r;
	const char *why;

	(void)state;
	req(b, 1, AF_INET, 24, 16, d4, s4);
	assert_int_equal(espd_rt_check(b, 40, &r, &why), 0);
	assert_int_equal(r.af, AF_INET);
	assert_int_equal(r.dst_plen, 24);
	assert_int_equal(r.src_plen, 16);
	assert_memory_equal(r.dst.u.b, d4, 4);
	req(b, 2, AF_INET, 32, 0, d4, NULL);
	assert_int_equal(check(b, 40), 0);
	req(b, 1, AF_INET6, 48, 0, d6, NULL);
	assert_int_equal(check(b, 40), 0);
	req(b, 2, AF_INET6, 128, 128, d6, d6);
	assert_int_equal(check(b, 40), 0);
	/* transport mode: the route goes to r2espd's own table */
	req(b, 1, AF_INET, 32, 32, d4, s4);
	b[5] = 1;
	assert_int_equal(espd_rt_check(b, 40, &r, &why), 0);
	assert_int_equal(r.flags, 1);
}

static void test_refused(void **state)
{
	static const uint8_t d4[16] = {203, 0, 113, 0};
	static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint8_t b[41];

	(void)state;
	/* length: short, long */
	req(b, 1, AF_INET, 24, 0, d4, NULL);
	assert_int_equal(check(b, 39), -EINVAL);
	assert_int_equal(check(b, 41), -EINVAL);
	assert_int_equal(check(b, 0), -EINVAL);
	/* version */
	b[0] = 2;
	assert_int_equal(check(b, 40), -EINVAL);
	/* padding */
	req(b, 1, AF_INET, 24, 0, d4, NULL);
	b[6] = 1;
	assert_int_equal(check(b, 40), -EINVAL);
	/* unknown flags */
	req(b, 1, AF_INET, 24, 0, d4, NULL);
	b[5] = 2;
	assert_int_equal(check(b, 40), -EINVAL);
	/* operation */
	req(b, 0, AF_INET, 24, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 3, AF_INET, 24, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	/* family */
	req(b, 1, AF_UNIX, 24, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, 0, 24, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	/* prefix lengths */
	req(b, 1, AF_INET, 33, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, AF_INET, 24, 33, d4, d4);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, AF_INET6, 129, 0, d6, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	/* a default route (length 0) is never ours */
	req(b, 1, AF_INET, 0, 0, (const uint8_t[16]){0}, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 2, AF_INET6, 0, 0, (const uint8_t[16]){0}, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	/* host bits set */
	req(b, 1, AF_INET, 23, 0, d4, NULL); /* 203.0.113.0/23: .113 odd */
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, AF_INET, 8, 0, d4, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, AF_INET6, 16, 0, d6, NULL);
	assert_int_equal(check(b, 40), -EINVAL);
	/* IPv4 with bytes beyond its 4 octets */
	req(b, 1, AF_INET, 24, 0, d4, NULL);
	b[8 + 5] = 1;
	assert_int_equal(check(b, 40), -EINVAL);
	req(b, 1, AF_INET, 24, 8, d4, d4);
	b[24 + 15] = 1;
	assert_int_equal(check(b, 40), -EINVAL);
}

/* Every single-byte change of a valid request is either still valid
 * and the same request in another form, or refused; never a crash. */
static void test_mutations(void **state)
{
	static const uint8_t d4[16] = {203, 0, 113, 0};
	uint8_t b[40], m[40];
	unsigned ok = 0;

	(void)state;
	req(b, 1, AF_INET, 24, 0, d4, NULL);
	for (size_t i = 0; i < sizeof(b); i++)
		for (unsigned v = 0; v < 256; v++) {
			memcpy(m, b, sizeof(m));
			m[i] = (uint8_t)v;
			if (check(m, sizeof(m)) == 0)
				ok++;
		}
	/* still valid: the unchanged request once per byte (40), any
	 * network octet of dst (3 x 255 more), op 2, af AF_INET6 (the same
	 * 16 octets are a valid /24 there), dst_plen 25..32, src_plen
	 * 1..32, flags 1 (transport), and any source address while
	 * src_plen is 0 (it is then not used) - nothing else */
	assert_int_equal(ok, 40 + 3 * 255 + 1 + 1 + 8 + 32 + 1 + 4 * 255);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
