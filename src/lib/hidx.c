/*
 * hidx.c - hash index (hidx.h): linear probing, backward-shift delete,
 * SipHash-2-4 (Aumasson, Bernstein 2012) as the keyed hash.
 */
#include "lib/hidx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void hidx_init(struct hidx *x)
{
	memset(x, 0, sizeof(*x));
}

void hidx_free(struct hidx *x)
{
	free(x->s);
	hidx_init(x);
}

static void put(struct hidx_slot *s, size_t mask, uint32_t h, uintptr_t v)
{
	size_t i = h & mask;

	while (s[i].used)
		i = (i + 1) & mask;
	s[i].h = h;
	s[i].v = v;
	s[i].used = 1;
}

static int grow(struct hidx *x)
{
	size_t cap = x->s ? (x->mask + 1) * 2 : 16, i;
	struct hidx_slot *ns;

	if (cap < 16 || cap > SIZE_MAX / 2 / sizeof(*ns))
		return -ENOMEM;
	ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	if (x->s)
		for (i = 0; i <= x->mask; i++)
			if (x->s[i].used)
				put(ns, cap - 1, x->s[i].h, x->s[i].v);
	free(x->s);
	x->s = ns;
	x->mask = cap - 1;
	return 0;
}

int hidx_add(struct hidx *x, uint32_t h, uintptr_t v)
{
	if (!x->s || (x->n + 1) * 2 > x->mask + 1) {
		int rc = grow(x);
		if (rc < 0)
			return rc;
	}
	put(x->s, x->mask, h, v);
	x->n++;
	return 0;
}

static struct hidx_slot *find(const struct hidx *x, uint32_t h, uintptr_t v)
{
	size_t i;

	if (!x->s)
		return NULL;
	for (i = h & x->mask; x->s[i].used; i = (i + 1) & x->mask)
		if (x->s[i].h == h && x->s[i].v == v)
			return &x->s[i];
	return NULL;
}

bool hidx_del(struct hidx *x, uint32_t h, uintptr_t v)
{
	struct hidx_slot *s = find(x, h, v);
	size_t i, j, home;

	if (!s)
		return false;
	/* backward shift: pull later entries of the run into the hole
	 * when their home slot does not lie in (hole, their slot] */
	i = (size_t)(s - x->s);
	for (j = (i + 1) & x->mask; x->s[j].used; j = (j + 1) & x->mask) {
		home = x->s[j].h & x->mask;
		if (((j - home) & x->mask) >= ((j - i) & x->mask)) {
			x->s[i] = x->s[j];
			i = j;
		}
	}
	memset(&x->s[i], 0, sizeof(x->s[i]));
	if (--x->n == 0)
		hidx_free(x); /* an empty index holds no memory */
	return true;
}

bool hidx_move(struct hidx *x, uint32_t h, uintptr_t from, uintptr_t to)
{
	struct hidx_slot *s = find(x, h, from);

	if (!s)
		return false;
	s->v = to;
	return true;
}

static bool scan(const struct hidx *x, struct hidx_it *it, uintptr_t *v)
{
	for (; x->s[it->i].used; it->i = (it->i + 1) & x->mask)
		if (x->s[it->i].h == it->h) {
			*v = x->s[it->i].v;
			return true;
		}
	return false;
}

bool hidx_first(const struct hidx *x, struct hidx_it *it, uint32_t h,
		uintptr_t *v)
{
	if (!x->s)
		return false;
	it->h = h;
	it->i = h & x->mask;
	return scan(x, it, v);
}

bool hidx_next(const struct hidx *x, struct hidx_it *it, uintptr_t *v)
{
	it->i = (it->i + 1) & x->mask;
	return scan(x, it, v);
}

/* ---- SipHash-2-4 ---- */

static uint64_t sip_k0, sip_k1;
static bool sip_keyed;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static void sip_key(void)
{
	uint64_t k[2];

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* no entropy yet (early boot): still per-process */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		       (uint64_t)getpid();
		k[1] = (uint64_t)ts.tv_sec ^ (uintptr_t)&ts;
	}
	sip_k0 = k[0];
	sip_k1 = k[1];
	sip_keyed = true;
}

uint32_t hidx_hash(const void *p, size_t n, uint32_t seed)
{
	const uint8_t *in = p;
	uint64_t v0, v1, v2, v3, b = (uint64_t)n << 56, m;
	size_t i, left = n & 7;

	if (!sip_keyed)
		sip_key();
	v0 = 0x736f6d6570736575ull ^ sip_k0;
	v1 = 0x646f72616e646f6dull ^ sip_k1 ^ seed;
	v2 = 0x6c7967656e657261ull ^ sip_k0;
	v3 = 0x7465646279746573ull ^ sip_k1;
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)in[n - left + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	b = v0 ^ v1 ^ v2 ^ v3;
	return (uint32_t)(b ^ (b >> 32));
}
