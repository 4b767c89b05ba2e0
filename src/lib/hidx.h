/*
 * hidx.h - the one hash index of the tree: a growable multimap from a
 * 32-bit hash to a uintptr_t value (a pointer or an array position),
 * open addressing with linear probing and backward-shift deletion (no
 * tombstones), grown at 1/2 load.  The caller computes the hash with
 * hidx_hash() (SipHash-2-4 under a per-process random key, so that
 * peer-chosen keys -- SPIs, identities, selectors -- cannot be made to
 * collide on purpose) and checks each candidate the index yields: equal
 * hashes are not equal keys.
 *
 * Iteration: hidx_first()/hidx_next() visit every value stored under a
 * hash; the index must not change during a walk (stop the walk, or
 * restart it, after hidx_add/hidx_del).
 *
 * Memory: the index owns its slot array only; hidx_free() releases it,
 * and so does removing the last entry (an owner that empties its index
 * need not free it).
 */
#ifndef R2_LIB_HIDX_H
#define R2_LIB_HIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hidx_slot {
	uintptr_t v;
	uint32_t h;
	uint32_t used;
};

struct hidx {
	struct hidx_slot *s;
	size_t mask; /* capacity - 1 (capacity a power of two) or 0 */
	size_t n;
};

struct hidx_it {
	size_t i;
	uint32_t h;
};

void hidx_init(struct hidx *x);
void hidx_free(struct hidx *x);
/* 0, or -ENOMEM (the index is unchanged). */
int hidx_add(struct hidx *x, uint32_t h, uintptr_t v);
/* Removes one (h, v) entry; false when absent. */
bool hidx_del(struct hidx *x, uint32_t h, uintptr_t v);
/* Replaces the value of the (h, from) entry by to; false when absent. */
bool hidx_move(struct hidx *x, uint32_t h, uintptr_t from, uintptr_t to);
bool hidx_first(const struct hidx *x, struct hidx_it *it, uint32_t h,
		uintptr_t *v);
bool hidx_next(const struct hidx *x, struct hidx_it *it, uintptr_t *v);
static inline size_t hidx_count(const struct hidx *x)
{
	return x->n;
}

/* Keyed hash of n bytes, chained through seed (0 to start): hash a
 * composite key field by field, h = hidx_hash(f2, n2, hidx_hash(f1, n1,
 * 0)).  The key is drawn from getrandom() on first use. */
uint32_t hidx_hash(const void *p, size_t n, uint32_t seed);

#endif
