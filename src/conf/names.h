/*
 * names.h - a small open-addressing hash table from names to array
 * indexes, internal to src/conf.  It makes duplicate-name checks,
 * reference resolution (*_index) and the conf_*_find() lookups O(1)
 * instead of a scan over every object, so a load stays linear in the
 * number of objects.
 *
 * Keys are borrowed: the table stores the caller's pointer (an object's
 * name, a setval variable's name) and its length, so the key must stay
 * valid and unchanged for the life of the table.  The slot array is
 * heap memory owned by the table; conf_names_free() releases it.  A
 * zeroed struct conf_names is an empty table.
 */
#ifndef RACOON_CONF_NAMES_H
#define RACOON_CONF_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define CONF_NAMES_NONE SIZE_MAX /* "not found" */

struct conf_name_slot {
	const char *key; /* NULL: free slot */
	size_t len;
	size_t idx;
	uint64_t hash;
};

struct conf_names {
	struct conf_name_slot *v;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

void conf_names_free(struct conf_names *t);

/* Index stored for key[0..len), or CONF_NAMES_NONE. */
size_t conf_names_getn(const struct conf_names *t, const char *key, size_t len);
size_t conf_names_get(const struct conf_names *t, const char *key);

/*
 * Add key (NUL-terminated, borrowed) -> idx.  Returns 0, -EEXIST when
 * the key is already present (then *old, if not NULL, is its index and
 * nothing changes), or -ENOMEM.
 */
int conf_names_put(struct conf_names *t, const char *key, size_t idx,
		   size_t *old);

/* Incremental reload (incr.c): remove key, change its index, make room
 * for `more` additions without allocating. */
void conf_names_del(struct conf_names *t, const char *key);
void conf_names_set(struct conf_names *t, const char *key, size_t idx);
int conf_names_reserve(struct conf_names *t, size_t more);

#endif
