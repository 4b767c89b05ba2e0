/*
 * names.c - open-addressing (linear probing) hash table from borrowed
 * names to array indexes; see names.h.  The table only grows during a
 * load; an incremental reload (incr.c) removes keys by backward shift
 * (no tombstones).  Its load factor stays at or below one half, and the
 * slot array is owned by the struct conf_names.
 *
 * The hash is FNV-1a with a 64-bit finaliser.  It is not keyed: the
 * configuration is written by the administrator, and the worst an
 * adversarial set of names can do is make lookups linear again (the
 * object count is bounded by CONF_MAX_OBJECTS), never wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/names.h"

#define NAMES_MIN_CAP 16

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	/* spread the low-entropy tail over the bits used as the index */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

void conf_names_free(struct conf_names *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}

static size_t find_slot(const struct conf_name_slot *v, size_t cap,
			const char *key, size_t len, uint64_t h)
{
	size_t mask = cap - 1;

	/* terminates: the load factor keeps at least half the slots free */
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		const struct conf_name_slot *s = &v[i];
		if (!s->key)
			return i;
		if (s->hash == h && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return i;
	}
}

size_t conf_names_getn(const struct conf_names *t, const char *key, size_t len)
{
	size_t i;

	if (!t->n)
		return CONF_NAMES_NONE;
	i = find_slot(t->v, t->cap, key, len, name_hash(key, len));
	return t->v[i].key ? t->v[i].idx : CONF_NAMES_NONE;
}

size_t conf_names_get(const struct conf_names *t, const char *key)
{
	return conf_names_getn(t, key, strlen(key));
}

static int rehash(struct conf_names *t, size_t ncap)
{
	struct conf_name_slot *nv;

	if (ncap > SIZE_MAX / sizeof(*nv))
		return -ENOMEM;
	nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct conf_name_slot *s = &t->v[i];
		if (s->key)
			nv[find_slot(nv, ncap, s->key, s->len, s->hash)] = *s;
	}
	free(t->v);
	t->v = nv;
	t->cap = ncap;
	return 0;
}

int conf_names_put(struct conf_names *t, const char *key, size_t idx,
		   size_t *old)
{
	size_t len = strlen(key), i;
	uint64_t h = name_hash(key, len);
	struct conf_name_slot *s;

	/* keep n + 1 <= cap / 2 so probing always meets a free slot */
	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : NAMES_MIN_CAP;
		if (ncap < t->cap)
			return -ENOMEM;
		int rc = rehash(t, ncap);
		if (rc < 0)
			return rc;
	}
	i = find_slot(t->v, t->cap, key, len, h);
	s = &t->v[i];
	if (s->key) {
		if (old)
			*old = s->idx;
		return -EEXIST;
	}
	s->key = key;
	s->len = len;
	s->idx = idx;
	s->hash = h;
	t->n++;
	return 0;
}

void conf_names_del(struct conf_names *t, const char *key)
{
	size_t len = strlen(key), mask, i, j;

	if (!t->n)
		return;
	mask = t->cap - 1;
	i = find_slot(t->v, t->cap, key, len, name_hash(key, len));
	if (!t->v[i].key)
		return;
	/* backward shift: move up every later entry of the probe run that
	 * may live in the hole */
	for (j = (i + 1) & mask; t->v[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)t->v[j].hash & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			i = j;
		}
	}
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->n--;
}

void conf_names_set(struct conf_names *t, const char *key, size_t idx)
{
	size_t len = strlen(key), i;

	if (!t->n)
		return;
	i = find_slot(t->v, t->cap, key, len, name_hash(key, len));
	if (t->v[i].key)
		t->v[i].idx = idx;
}

int conf_names_reserve(struct conf_names *t, size_t more)
{
	size_t ncap = t->cap ? t->cap : NAMES_MIN_CAP;

	while ((t->n + more + 1) * 2 > ncap) {
		if (ncap * 2 < ncap)
			return -ENOMEM;
		ncap *= 2;
	}
	return ncap == t->cap ? 0 : rehash(t, ncap);
}
