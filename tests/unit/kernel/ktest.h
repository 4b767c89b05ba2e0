/*
 * ktest.h - fixtures shared by the kernel layer's unit tests
 * (test_kernel.c, test_pfkey.c): addresses from text, key filler, and the
 * comparison of two SAs field by field.  Nothing here allocates.
 */
#ifndef RACOON_TEST_KTEST_H
#define RACOON_TEST_KTEST_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

/* The address s (the test fails if it does not parse). */
struct kaddr A(const char *s);

/* p[i] = seed + 7i: recognisable key bytes. */
void fill(uint8_t *p, size_t n, uint8_t seed);

/*
 * Every field of a and b that both backends' messages carry must be
 * equal (cmocka assertions): addresses, mode, reqid, algorithms, keys,
 * ESN, window, NAT-T, lifetimes.  Not the selector: the caller compares
 * it where its encoding carries one.
 */
void assert_sa_equal(const struct ksa *a, const struct ksa *b);

#endif
