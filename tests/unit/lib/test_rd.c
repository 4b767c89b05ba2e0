/*
 * test_rd.c - every bounds case of the read cursor (src/lib/rd.h):
 * empty and NULL input, exactly n, n + 1, n = SIZE_MAX, sub-cursors,
 * and that every failed read leaves the cursor unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/rd.h"

static const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05,
			       0x06, 0x07, 0x08, 0x09, 0x0a};

/* The cursor is exactly (p, len). */
#define assert_at(r, base, off, left)                                          \
	do {                                                                   \
		assert_ptr_equal((r).p, (base) + (off));                       \
		assert_int_equal(rd_left(&(r)), (left));                       \
	} while (0)

static void test_init_null(void **state)
{
	struct rd r = rd_init(NULL, 100);
	const uint8_t *p = (const uint8_t *)1;
	uint8_t u8 = 0x55, buf[4];
	uint16_t u16 = 0x5555;
	uint32_t u32 = 0x55555555;
	uint64_t u64 = 0x5555555555555555ull;
	struct rd sub;

	(void)state;
	/* NULL input is empty whatever length was claimed. */
	assert_int_equal(rd_left(&r), 0);
	assert_true(rd_empty(&r));
	assert_int_equal(rd_u8(&r, &u8), -EBADMSG);
	assert_int_equal(rd_u16(&r, &u16), -EBADMSG);
	assert_int_equal(rd_u32(&r, &u32), -EBADMSG);
	assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
	assert_int_equal(rd_bytes(&r, buf, 1), -EBADMSG);
	assert_int_equal(rd_ptr(&r, 1, &p), -EBADMSG);
	assert_int_equal(rd_sub(&r, 1, &sub), -EBADMSG);
	assert_int_equal(rd_skip(&r, 1), -EBADMSG);
	/* Outputs untouched on failure. */
	assert_int_equal(u8, 0x55);
	assert_int_equal(u16, 0x5555);
	assert_int_equal(u32, 0x55555555);
	assert_true(u64 == 0x5555555555555555ull);
	assert_ptr_equal(p, (const uint8_t *)1);
	/* Zero-length reads of nothing succeed. */
	assert_int_equal(rd_skip(&r, 0), 0);
	assert_int_equal(rd_bytes(&r, buf, 0), 0);
	assert_int_equal(rd_sub(&r, 0, &sub), 0);
	assert_true(rd_empty(&sub));
	assert_int_equal(rd_left(&r), 0);
}

static void test_empty(void **state)
{
	struct rd r = rd_init(data, 0), rest;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	assert_true(rd_empty(&r));
	assert_int_equal(rd_u8(&r, &u8), -EBADMSG);
	assert_int_equal(rd_u16(&r, &u16), -EBADMSG);
	assert_int_equal(rd_u32(&r, &u32), -EBADMSG);
	assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
	assert_int_equal(rd_h16(&r, &u16), -EBADMSG);
	assert_int_equal(rd_h32(&r, &u32), -EBADMSG);
	assert_at(r, data, 0, 0);
	rest = rd_rest(&r);
	assert_int_equal(rd_left(&rest), 0);
	assert_int_equal(rd_left(&r), 0);
}

static void test_ints_exact(void **state)
{
	struct rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	r = rd_init(data, 1);
	assert_int_equal(rd_u8(&r, &u8), 0);
	assert_int_equal(u8, 0x01);
	assert_at(r, data, 1, 0);

	r = rd_init(data, 2);
	assert_int_equal(rd_u16(&r, &u16), 0);
	assert_int_equal(u16, 0x0102);
	assert_at(r, data, 2, 0);

	r = rd_init(data, 4);
	assert_int_equal(rd_u32(&r, &u32), 0);
	assert_int_equal(u32, 0x01020304);
	assert_at(r, data, 4, 0);

	r = rd_init(data, 8);
	assert_int_equal(rd_u64(&r, &u64), 0);
	assert_true(u64 == 0x0102030405060708ull);
	assert_at(r, data, 8, 0);

	/* High bit set: no sign extension anywhere. */
	{
		static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc,
					      0xfb, 0xfa, 0xf9, 0xf8};
		r = rd_init(ff, 8);
		assert_int_equal(rd_u64(&r, &u64), 0);
		assert_true(u64 == 0xfffefdfcfbfaf9f8ull);
		r = rd_init(ff, 4);
		assert_int_equal(rd_u32(&r, &u32), 0);
		assert_true(u32 == 0xfffefdfcu);
		r = rd_init(ff, 2);
		assert_int_equal(rd_u16(&r, &u16), 0);
		assert_int_equal(u16, 0xfffe);
	}
}

static void test_ints_short(void **state)
{
	struct rd r;
	uint16_t u16 = 0xaaaa;
	uint32_t u32 = 0xaaaaaaaa;
	uint64_t u64 = 1;
	size_t n;

	(void)state;
	/* One byte short of each width: fail, cursor unchanged. */
	r = rd_init(data, 1);
	assert_int_equal(rd_u16(&r, &u16), -EBADMSG);
	assert_at(r, data, 0, 1);
	assert_int_equal(u16, 0xaaaa);
	assert_int_equal(rd_h16(&r, &u16), -EBADMSG);
	assert_at(r, data, 0, 1);

	for (n = 0; n < 4; n++) {
		r = rd_init(data, n);
		assert_int_equal(rd_u32(&r, &u32), -EBADMSG);
		assert_at(r, data, 0, n);
		assert_int_equal(rd_h32(&r, &u32), -EBADMSG);
		assert_at(r, data, 0, n);
	}
	assert_true(u32 == 0xaaaaaaaau);

	/*
	 * u64 reads two halves; with 4..7 bytes the first half succeeds
	 * internally and must be rolled back.
	 */
	for (n = 0; n < 8; n++) {
		r = rd_init(data, n);
		assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
		assert_at(r, data, 0, n);
		assert_true(u64 == 1);
	}
	/* After a skip, too: the rollback restores the skipped position. */
	r = rd_init(data, 10);
	assert_int_equal(rd_skip(&r, 2), 0);
	assert_int_equal(rd_u64(&r, &u64), 0);
	assert_true(u64 == 0x030405060708090aull);
	assert_at(r, data, 10, 0);
	u64 = 1;
	r = rd_init(data, 10);
	assert_int_equal(rd_skip(&r, 4), 0);
	assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
	assert_at(r, data, 4, 6);
	assert_true(u64 == 1);
}

static void test_ptr_bounds(void **state)
{
	struct rd r = rd_init(data, sizeof(data));
	const uint8_t *p = NULL;

	(void)state;
	/* n + 1 */
	assert_int_equal(rd_ptr(&r, sizeof(data) + 1, &p), -EBADMSG);
	assert_null(p);
	assert_at(r, data, 0, sizeof(data));
	/* SIZE_MAX and other huge sizes must not wrap any sum. */
	assert_int_equal(rd_ptr(&r, SIZE_MAX, &p), -EBADMSG);
	assert_int_equal(rd_ptr(&r, SIZE_MAX - 1, &p), -EBADMSG);
	assert_int_equal(rd_ptr(&r, SIZE_MAX / 2 + 1, &p), -EBADMSG);
	assert_int_equal(rd_skip(&r, SIZE_MAX), -EBADMSG);
	assert_at(r, data, 0, sizeof(data));
	/* Zero bytes: succeeds, pointer is the current position. */
	assert_int_equal(rd_ptr(&r, 0, &p), 0);
	assert_ptr_equal(p, data);
	assert_at(r, data, 0, sizeof(data));
	/* Partial then huge after advancing. */
	assert_int_equal(rd_ptr(&r, 3, &p), 0);
	assert_ptr_equal(p, data);
	assert_at(r, data, 3, sizeof(data) - 3);
	assert_int_equal(rd_ptr(&r, SIZE_MAX, &p), -EBADMSG);
	assert_int_equal(rd_ptr(&r, sizeof(data) - 2, &p), -EBADMSG);
	assert_ptr_equal(p, data);
	assert_at(r, data, 3, sizeof(data) - 3);
	/* Exactly what is left. */
	assert_int_equal(rd_ptr(&r, sizeof(data) - 3, &p), 0);
	assert_ptr_equal(p, data + 3);
	assert_true(rd_empty(&r));
	assert_int_equal(rd_ptr(&r, 1, &p), -EBADMSG);
	assert_int_equal(rd_ptr(&r, 0, &p), 0);
}

static void test_bytes_skip(void **state)
{
	struct rd r = rd_init(data, sizeof(data));
	uint8_t buf[sizeof(data) + 1];
	volatile size_t huge = SIZE_MAX;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(rd_bytes(&r, buf, sizeof(data) + 1), -EBADMSG);
	assert_int_equal(buf[0], 0xee); /* nothing copied on failure */
	/* volatile: keep gcc from warning about the (refused) memcpy bound */
	assert_int_equal(rd_bytes(&r, buf, huge), -EBADMSG);
	assert_at(r, data, 0, sizeof(data));
	assert_int_equal(rd_bytes(&r, buf, 2), 0);
	assert_memory_equal(buf, data, 2);
	assert_int_equal(rd_skip(&r, sizeof(data) - 1), -EBADMSG);
	assert_at(r, data, 2, sizeof(data) - 2);
	assert_int_equal(rd_skip(&r, sizeof(data) - 3), 0);
	assert_at(r, data, sizeof(data) - 1, 1);
	assert_int_equal(rd_bytes(&r, buf, 1), 0);
	assert_int_equal(buf[0], data[sizeof(data) - 1]);
	assert_true(rd_empty(&r));
	assert_int_equal(rd_skip(&r, 1), -EBADMSG);
	assert_int_equal(rd_skip(&r, 0), 0);
}

static void test_sub(void **state)
{
	struct rd r = rd_init(data, sizeof(data)), sub = {0}, sub2 = {0};
	const struct rd zero = {0};
	uint32_t u32;
	uint8_t u8;

	(void)state;
	/* n + 1 and SIZE_MAX: fail, neither cursor touched. */
	assert_int_equal(rd_sub(&r, sizeof(data) + 1, &sub), -EBADMSG);
	assert_int_equal(rd_sub(&r, SIZE_MAX, &sub), -EBADMSG);
	assert_memory_equal(&sub, &zero, sizeof(sub));
	assert_at(r, data, 0, sizeof(data));
	/* A 3-byte sub-cursor: the parent skips it. */
	assert_int_equal(rd_u8(&r, &u8), 0);
	assert_int_equal(rd_sub(&r, 3, &sub), 0);
	assert_at(sub, data, 1, 3);
	assert_at(r, data, 4, sizeof(data) - 4);
	/* The sub-cursor cannot read past its own end into the parent. */
	assert_int_equal(rd_u32(&sub, &u32), -EBADMSG);
	assert_at(sub, data, 1, 3);
	assert_int_equal(rd_skip(&sub, 4), -EBADMSG);
	assert_int_equal(rd_sub(&sub, 4, &sub2), -EBADMSG);
	/* Nested: exactly its length. */
	assert_int_equal(rd_sub(&sub, 3, &sub2), 0);
	assert_at(sub2, data, 1, 3);
	assert_true(rd_empty(&sub));
	assert_int_equal(rd_u8(&sub, &u8), -EBADMSG);
	/* Reading the sub does not move the parent. */
	assert_int_equal(rd_skip(&sub2, 3), 0);
	assert_at(r, data, 4, sizeof(data) - 4);
	/* Exactly the rest of the parent. */
	assert_int_equal(rd_sub(&r, sizeof(data) - 4, &sub), 0);
	assert_at(sub, data, 4, sizeof(data) - 4);
	assert_true(rd_empty(&r));
	/* Zero-length sub of an empty cursor. */
	assert_int_equal(rd_sub(&r, 0, &sub), 0);
	assert_true(rd_empty(&sub));
	assert_int_equal(rd_sub(&r, 1, &sub), -EBADMSG);
}

static void test_rest(void **state)
{
	struct rd r = rd_init(data, sizeof(data)), rest;

	(void)state;
	assert_int_equal(rd_skip(&r, 6), 0);
	rest = rd_rest(&r);
	assert_at(rest, data, 6, sizeof(data) - 6);
	assert_true(rd_empty(&r));
	assert_ptr_equal(r.p, data + sizeof(data));
	rest = rd_rest(&r);
	assert_true(rd_empty(&rest));
}

static void test_host_order(void **state)
{
	uint16_t h16 = 0x1234, v16;
	uint32_t h32 = 0x12345678, v32;
	uint8_t buf[6];
	struct rd r;

	(void)state;
	memcpy(buf, &h16, 2);
	memcpy(buf + 2, &h32, 4);
	r = rd_init(buf, sizeof(buf));
	assert_int_equal(rd_h16(&r, &v16), 0);
	assert_int_equal(v16, 0x1234);
	assert_int_equal(rd_h32(&r, &v32), 0);
	assert_int_equal(v32, 0x12345678);
	assert_true(rd_empty(&r));
}

/* Walk every prefix of a buffer: each read either fits or changes nothing. */
static void test_all_prefixes(void **state)
{
	size_t len, n;

	(void)state;
	for (len = 0; len <= sizeof(data); len++) {
		for (n = 0; n <= sizeof(data) + 1; n++) {
			struct rd r = rd_init(data, len), sub;
			const uint8_t *p;
			int rc = rd_ptr(&r, n, &p);

			if (n <= len) {
				assert_int_equal(rc, 0);
				assert_at(r, data, n, len - n);
			} else {
				assert_int_equal(rc, -EBADMSG);
				assert_at(r, data, 0, len);
			}
			r = rd_init(data, len);
			rc = rd_sub(&r, n, &sub);
			assert_int_equal(rc, n <= len ? 0 : -EBADMSG);
			if (rc == 0)
				assert_at(sub, data, 0, n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_null),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_ints_exact),
	    cmocka_unit_test(test_ints_short),
	    cmocka_unit_test(test_ptr_bounds),
	    cmocka_unit_test(test_bytes_skip),
	    cmocka_unit_test(test_sub),
	    cmocka_unit_test(test_rest),
	    cmocka_unit_test(test_host_order),
	    cmocka_unit_test(test_all_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
