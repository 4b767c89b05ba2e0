/*
 * test_wr.c - the growable writer (src/lib/wr.h): growth across many
 * sizes, the size cap and its sticky error, reserve + back-patch, patch
 * out of range, steal, that every buffer is wiped before free(), and the
 * pool of released buffers (wr_release).
 *
 * free() is wrapped at link time (-Wl,--wrap=free) for the objects of
 * this executable and libr2lib.a, so the test can look at a buffer's
 * bytes just before the writer releases it.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wr.h"

void __real_free(void *p);
void __wrap_free(void *p);

/* Buffers the test wants checked: pointer and the bytes to check. */
static const void *watch_ptr;
static size_t watch_len;
static int watch_freed, watch_was_wiped, frees_checked, frees_dirty;
static bool check_all;
static size_t check_all_len;

void __wrap_free(void *p)
{
	if (p && p == watch_ptr) {
		const uint8_t *b = p;
		size_t i;

		watch_freed = 1;
		watch_was_wiped = 1;
		for (i = 0; i < watch_len; i++)
			if (b[i])
				watch_was_wiped = 0;
		watch_ptr = NULL;
	} else if (p && check_all) {
		const uint8_t *b = p;
		size_t i;

		frees_checked++;
		for (i = 0; i < check_all_len; i++)
			if (b[i]) {
				frees_dirty++;
				break;
			}
	}
	__real_free(p);
}

static void watch(const void *p, size_t len)
{
	watch_ptr = p;
	watch_len = len;
	watch_freed = watch_was_wiped = 0;
}

static void test_init_empty(void **state)
{
	struct wr w;
	size_t len = 99;
	uint8_t *b;

	(void)state;
	wr_init(&w, 0);
	assert_null(w.buf);
	assert_int_equal(w.len, 0);
	assert_int_equal(wr_error(&w), 0);
	assert_int_equal(wr_bytes(&w, NULL, 0), 0);
	assert_int_equal(wr_zero(&w, 0), 0);
	assert_int_equal(w.len, 0);
	b = wr_steal(&w, &len);
	assert_int_equal(len, 0);
	free(b);
	wr_free(&w);
	wr_free(&w); /* twice is harmless */
}

static void test_ints(void **state)
{
	static const uint8_t want[] = {0xab, 0x12, 0x34, 0xde, 0xad,
				       0xbe, 0xef, 0x01, 0x02, 0x03,
				       0x04, 0x05, 0x06, 0x07, 0x08};
	struct wr w;

	(void)state;
	wr_init(&w, 0);
	assert_int_equal(wr_u8(&w, 0xab), 0);
	assert_int_equal(wr_u16(&w, 0x1234), 0);
	assert_int_equal(wr_u32(&w, 0xdeadbeef), 0);
	assert_int_equal(wr_u64(&w, 0x0102030405060708ull), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.buf, want, sizeof(want));
	wr_free(&w);
}

/* Growth: every size from 0 to 2100 and some large ones, content intact. */
static void test_growth(void **state)
{
	static const size_t big[] = {4095,  4096,  4097,     65535,
				     65536, 65537, 1u << 20, (1u << 20) + 1};
	struct wr w;
	size_t n, i, k;

	(void)state;
	for (n = 0; n <= 2100; n += (n < 600 ? 1 : 37)) {
		wr_init(&w, 0);
		for (i = 0; i < n; i++)
			assert_int_equal(wr_u8(&w, (uint8_t)(i * 7)), 0);
		assert_int_equal(w.len, n);
		assert_true(w.cap >= n);
		for (i = 0; i < n; i++)
			assert_int_equal(w.buf[i], (uint8_t)(i * 7));
		wr_free(&w);
	}
	for (k = 0; k < sizeof(big) / sizeof(big[0]); k++) {
		uint8_t *chunk = malloc(big[k]);

		assert_non_null(chunk);
		for (i = 0; i < big[k]; i++)
			chunk[i] = (uint8_t)(i ^ (i >> 8));
		wr_init(&w, 0);
		assert_int_equal(wr_u8(&w, 0x5a), 0);
		assert_int_equal(wr_bytes(&w, chunk, big[k]), 0);
		assert_int_equal(wr_u8(&w, 0xa5), 0);
		assert_int_equal(w.len, big[k] + 2);
		assert_int_equal(w.buf[0], 0x5a);
		assert_memory_equal(w.buf + 1, chunk, big[k]);
		assert_int_equal(w.buf[big[k] + 1], 0xa5);
		wr_free(&w);
		free(chunk);
	}
}

static void test_max_cap(void **state)
{
	static const uint8_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct wr w;
	size_t off;

	(void)state;
	wr_init(&w, 10);
	assert_int_equal(wr_bytes(&w, ten, 10), 0); /* exactly max */
	assert_int_equal(w.len, 10);
	assert_int_equal(wr_u8(&w, 11), -EMSGSIZE); /* max + 1 */
	assert_int_equal(w.len, 10);
	assert_int_equal(wr_error(&w), -EMSGSIZE);
	/* Sticky: even puts that would fit (0 bytes) are refused. */
	assert_int_equal(wr_zero(&w, 0), -EMSGSIZE);
	assert_int_equal(wr_u16(&w, 1), -EMSGSIZE);
	assert_int_equal(wr_reserve(&w, 0, &off), -EMSGSIZE);
	assert_int_equal(wr_patch_u8(&w, 0, 0xff), -EMSGSIZE);
	assert_int_equal(w.len, 10);
	assert_memory_equal(w.buf, ten, 10);
	/* wr_reset clears the error and keeps the buffer. */
	wr_reset(&w);
	assert_int_equal(wr_error(&w), 0);
	assert_int_equal(w.len, 0);
	assert_non_null(w.buf);
	assert_int_equal(wr_u32(&w, 1), 0);
	/* A multi-byte put that crosses the cap fails as a whole. */
	assert_int_equal(wr_u64(&w, 2), -EMSGSIZE);
	assert_int_equal(w.len, 4);
	wr_free(&w);

	/* Cap on a single huge put, and one that would overflow size_t. */
	wr_init(&w, 100);
	assert_int_equal(wr_zero(&w, 101), -EMSGSIZE);
	assert_int_equal(w.len, 0);
	wr_free(&w);
	wr_init(&w, 0);
	assert_int_equal(wr_u8(&w, 1), 0);
	assert_int_equal(wr_bytes(&w, ten, SIZE_MAX), -EOVERFLOW);
	assert_int_equal(wr_error(&w), -EOVERFLOW);
	assert_int_equal(w.len, 1);
	wr_free(&w);
}

static void test_reserve_patch(void **state)
{
	static const uint8_t want[] = {0x00, 0x00, 0x00, 0x0b, 0x7e,
				       0x12, 0x34, 'h',	 'e',  'l',
				       'l',  'o',  0x00, 0x00, 0xcc};
	struct wr w;
	size_t len_off, hdr_off, tail_off;

	(void)state;
	wr_init(&w, 0);
	assert_int_equal(wr_reserve(&w, 4, &len_off), 0);
	assert_int_equal(len_off, 0);
	assert_int_equal(wr_reserve(&w, 3, &hdr_off), 0);
	assert_int_equal(hdr_off, 4);
	assert_int_equal(wr_bytes(&w, "hello", 5), 0);
	assert_int_equal(wr_reserve(&w, 3, &tail_off), 0);
	assert_int_equal(tail_off, 12);
	/* Reserved bytes are zero. */
	assert_int_equal(w.buf[4], 0);
	assert_int_equal(w.buf[14], 0);
	assert_int_equal(wr_patch_u32(&w, len_off, (uint32_t)(w.len - 4)), 0);
	assert_int_equal(wr_patch_u8(&w, hdr_off, 0x7e), 0);
	assert_int_equal(wr_patch_u16(&w, hdr_off + 1, 0x1234), 0);
	/* Patch ending exactly at len is in range. */
	assert_int_equal(wr_patch_u8(&w, w.len - 1, 0xcc), 0);
	assert_int_equal(wr_patch_bytes(&w, w.len, NULL, 0), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.buf, want, sizeof(want));
	/* Reserve 0 gives the current offset. */
	assert_int_equal(wr_reserve(&w, 0, &tail_off), 0);
	assert_int_equal(tail_off, w.len);
	wr_free(&w);
}

static void test_patch_out_of_range(void **state)
{
	struct wr w;
	size_t len;

	(void)state;
	/* Each case on a fresh 8-byte writer: the error is sticky. */
	static const struct {
		size_t off;
		int width;
	} bad[] = {
	    {8, 1},
	    {7, 2},
	    {5, 4},
	    {6, 4},
	    {8, 4},
	    {9, 1},
	    {SIZE_MAX, 1},
	    {SIZE_MAX - 1, 2},
	    {SIZE_MAX - 3, 4},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		wr_init(&w, 0);
		assert_int_equal(wr_u64(&w, 0x1122334455667788ull), 0);
		if (bad[i].width == 1)
			rc = wr_patch_u8(&w, bad[i].off, 0xff);
		else if (bad[i].width == 2)
			rc = wr_patch_u16(&w, bad[i].off, 0xffff);
		else
			rc = wr_patch_u32(&w, bad[i].off, 0xffffffff);
		assert_int_equal(rc, -ERANGE);
		assert_int_equal(wr_error(&w), -ERANGE);
		/* Nothing written anywhere. */
		assert_int_equal(w.len, 8);
		assert_int_equal(w.buf[0], 0x11);
		assert_int_equal(w.buf[7], 0x88);
		assert_int_equal(wr_u8(&w, 1), -ERANGE);
		wr_free(&w);
	}
	/* Length overflow in the range check. */
	wr_init(&w, 0);
	assert_int_equal(wr_u32(&w, 0), 0);
	assert_int_equal(wr_patch_bytes(&w, 2, "x", SIZE_MAX), -ERANGE);
	wr_free(&w);
	/* Patching an empty writer. */
	wr_init(&w, 0);
	assert_int_equal(wr_patch_u8(&w, 0, 1), -ERANGE);
	(void)len;
	wr_free(&w);
}

static void test_steal(void **state)
{
	struct wr w;
	uint8_t *b;
	size_t len;

	(void)state;
	wr_init(&w, 0);
	assert_int_equal(wr_bytes(&w, "abcdef", 6), 0);
	b = wr_steal(&w, &len);
	assert_non_null(b);
	assert_int_equal(len, 6);
	assert_memory_equal(b, "abcdef", 6);
	/* The writer no longer owns it: free must not touch b. */
	assert_null(w.buf);
	assert_int_equal(w.len, 0);
	assert_int_equal(w.cap, 0);
	watch(b, 6);
	wr_free(&w);
	assert_int_equal(watch_freed, 0);
	/* And the writer is reusable. */
	assert_int_equal(wr_u8(&w, 1), 0);
	assert_int_equal(w.len, 1);
	wr_free(&w);
	assert_memory_equal(b, "abcdef", 6);
	watch_ptr = NULL;
	free(b);
}

static void test_wipe_on_free(void **state)
{
	struct wr w;
	size_t i;

	(void)state;
	wr_init(&w, 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(wr_u8(&w, 0xa5), 0);
	watch(w.buf, w.cap);
	wr_free(&w);
	assert_int_equal(watch_freed, 1);
	assert_int_equal(watch_was_wiped, 1);
	assert_null(w.buf);

	/* The buffer is wiped even after an error. */
	wr_init(&w, 50);
	assert_int_equal(wr_bytes(&w, "secretsecret", 12), 0);
	assert_int_equal(wr_zero(&w, 100), -EMSGSIZE);
	watch(w.buf, w.cap);
	wr_free(&w);
	assert_int_equal(watch_freed, 1);
	assert_int_equal(watch_was_wiped, 1);
}

/* Old buffers left behind by growth are wiped too (they may hold keys). */
static void test_wipe_on_grow(void **state)
{
	struct wr w;
	size_t i;

	(void)state;
	wr_init(&w, 0);
	assert_int_equal(wr_u8(&w, 0xff), 0);
	frees_checked = frees_dirty = 0;
	check_all = true;
	check_all_len = 256; /* first capacity */
	for (i = 0; i < 256 * 16; i++) {
		assert_int_equal(wr_u8(&w, 0xff), 0);
		/* Only the smallest old buffer's size is known; fine. */
	}
	check_all = false;
	assert_true(frees_checked >= 4); /* 256 -> 512 -> ... -> 8192 */
	assert_int_equal(frees_dirty, 0);
	wr_free(&w);
}

/*
 * wr_release(): a sent message's buffer becomes the next writer's first
 * buffer (no malloc), growth past it still copies, wipes and frees it,
 * and the pool keeps at most WR_POOL_MAX (the rest are freed at once).
 */
static void test_release_pool(void **state)
{
	static uint8_t *bufs[WR_POOL_MAX + 72];
	const unsigned n = WR_POOL_MAX + 72;
	struct wr w;
	uint8_t *b;
	size_t len;
	unsigned i, k;

	(void)state;
	wr_release(NULL); /* ignored */
	wr_init(&w, 0);
	assert_int_equal(wr_bytes(&w, "check", 5), 0);
	b = wr_steal(&w, &len);
	wr_release(b);
	wr_init(&w, 0);
	assert_int_equal(wr_u8(&w, 7), 0);
	assert_ptr_equal(w.buf, b); /* reused, no malloc */
	assert_int_equal(w.cap, WR_POOL_BUF);
	assert_int_equal(w.len, 1);
	/* Growing beyond it: the pooled buffer is wiped and freed. */
	watch(b, WR_POOL_BUF);
	assert_int_equal(wr_zero(&w, WR_POOL_BUF + 10), 0);
	assert_int_equal(watch_freed, 1);
	assert_int_equal(watch_was_wiped, 1);
	wr_free(&w);
	/* Bounded: of n released, WR_POOL_MAX are kept, the rest freed. */
	for (i = 0; i < n; i++) {
		wr_init(&w, 0);
		assert_int_equal(wr_u32(&w, i), 0);
		bufs[i] = wr_steal(&w, &len);
		assert_non_null(bufs[i]);
	}
	frees_checked = 0;
	check_all = true;
	check_all_len = 0;
	for (i = 0; i < n; i++)
		wr_release(bufs[i]);
	check_all = false;
	assert_int_equal(frees_checked, n - WR_POOL_MAX);
	/* The next WR_POOL_MAX writers get the kept buffers, then malloc. */
	for (k = 0; k <= WR_POOL_MAX; k++) {
		bool pooled = false;

		wr_init(&w, 0);
		assert_int_equal(wr_u8(&w, 1), 0);
		for (i = 0; i < WR_POOL_MAX; i++)
			if (w.buf == bufs[i])
				pooled = true;
		assert_int_equal(pooled, k < WR_POOL_MAX);
		wr_free(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_empty),
	    cmocka_unit_test(test_ints),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_max_cap),
	    cmocka_unit_test(test_reserve_patch),
	    cmocka_unit_test(test_patch_out_of_range),
	    cmocka_unit_test(test_steal),
	    cmocka_unit_test(test_wipe_on_free),
	    cmocka_unit_test(test_wipe_on_grow),
	    cmocka_unit_test(test_release_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
