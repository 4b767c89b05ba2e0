/*
 * test_hidx.c - src/lib/hidx.h: add/del/move against a reference table
 * under heavy collisions (hashes from a small range, runs that wrap the
 * slot array), iteration yields exactly the values of one hash, growth
 * keeps every entry, the keyed hash is deterministic within a process
 * and chains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/hidx.h"

#define NREF 4000

static unsigned count(const struct hidx *x, uint32_t h, uintptr_t v)
{
	struct hidx_it it;
	uintptr_t got;
	unsigned n = 0;
	bool ok;

	for (ok = hidx_first(x, &it, h, &got); ok; ok = hidx_next(x, &it, &got))
		n += got == v;
	return n;
}

static void test_reference(void **state)
{
	static uint32_t hs[NREF];
	static bool in[NREF];
	struct hidx x;
	size_t live = 0;
	unsigned i, step;

	(void)state;
	hidx_init(&x);
	assert_false(hidx_del(&x, 1, 1));
	assert_int_equal(count(&x, 1, 1), 0);
	srand(7);
	for (i = 0; i < NREF; i++)
		hs[i] = (uint32_t)rand() % 37; /* many equal hashes */
	for (step = 0; step < 40000; step++) {
		i = (unsigned)rand() % NREF;
		if (in[i]) {
			assert_true(hidx_del(&x, hs[i], i + 1));
			in[i] = false;
			live--;
		} else {
			assert_int_equal(hidx_add(&x, hs[i], i + 1), 0);
			in[i] = true;
			live++;
		}
		assert_int_equal(hidx_count(&x), live);
		if (step % 997 == 0)
			for (unsigned j = 0; j < NREF; j++)
				assert_int_equal(count(&x, hs[j], j + 1),
						 in[j]);
	}
	for (i = 0; i < NREF; i++)
		assert_int_equal(count(&x, hs[i], i + 1), in[i]);
	/* move: the value changes, the hash stays */
	for (i = 0; i < NREF && !in[i]; i++)
		;
	assert_true(i < NREF);
	assert_true(hidx_move(&x, hs[i], i + 1, 100000));
	assert_int_equal(count(&x, hs[i], i + 1), 0);
	assert_int_equal(count(&x, hs[i], 100000), 1);
	assert_false(hidx_move(&x, hs[i], i + 1, 5));
	hidx_free(&x);
	assert_int_equal(hidx_count(&x), 0);
}

/* Hashes at the top of the slot array: runs wrap to slot 0, and deleting
 * inside a wrapped run keeps every other entry reachable. */
static void test_wrap(void **state)
{
	struct hidx x;
	uintptr_t v;
	struct hidx_it it;

	(void)state;
	hidx_init(&x);
	for (uintptr_t i = 1; i <= 6; i++)
		assert_int_equal(hidx_add(&x, 15, i), 0); /* capacity 16 */
	assert_int_equal(hidx_add(&x, 0, 99), 0);
	assert_int_equal(hidx_add(&x, 1, 98), 0);
	assert_true(hidx_del(&x, 15, 1));
	assert_true(hidx_del(&x, 15, 4));
	for (uintptr_t i = 2; i <= 6; i++)
		assert_int_equal(count(&x, 15, i), i != 4);
	assert_int_equal(count(&x, 0, 99), 1);
	assert_int_equal(count(&x, 1, 98), 1);
	assert_true(hidx_first(&x, &it, 0, &v));
	assert_int_equal(v, 99);
	assert_false(hidx_next(&x, &it, &v));
	hidx_free(&x);
}

static void test_hash(void **state)
{
	const char a[] = "r2load-1.bench", b[] = "r2load-2.bench";
	uint32_t ha = hidx_hash(a, sizeof(a) - 1, 0);

	(void)state;
	assert_int_equal(ha, hidx_hash(a, sizeof(a) - 1, 0));
	assert_int_not_equal(ha, hidx_hash(b, sizeof(b) - 1, 0));
	assert_int_not_equal(ha, hidx_hash(a, sizeof(a) - 1, 1));
	assert_int_not_equal(hidx_hash("", 0, 0), hidx_hash("\0", 1, 0));
	assert_int_equal(hidx_hash(b, 3, ha), hidx_hash(b, 3, ha));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
