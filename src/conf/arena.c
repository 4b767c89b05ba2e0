/*
 * arena.c - the bump allocator of one configuration load (struct
 * conf_arena, conf_int.h): the syntax tree (blocks, statement and item
 * arrays, token text) is carved from 64 KiB chunks and freed in one
 * pass by conf_arena_free() when the load ends.  Nothing is freed
 * piecemeal, so a 100,000-policy file costs a few hundred mallocs
 * instead of a million, and its tree leaves no scattered holes behind
 * in the heap of the daemon that keeps running.
 *
 * Chunks stay below glibc's mmap threshold (128 KiB) on purpose: they
 * come from the heap, and freeing an mmapped chunk would raise the
 * threshold for the rest of the process.  A request larger than a
 * quarter chunk gets a chunk of its own.
 *
 * Under AddressSanitizer every allocation is a chunk of its own, sized
 * exactly, so an overflow of a tree array or a token is still caught.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#define ARENA_CHUNK (64u << 10)

struct conf_arena_chunk {
	struct conf_arena_chunk *next;
	alignas(max_align_t) unsigned char data[];
};

static void *chunk_new(struct conf_arena *a, size_t size)
{
	struct conf_arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = a->chunks;
	a->chunks = c;
	a->bytes += size;
	return c->data;
}

void *conf_arena_alloc(struct conf_arena *a, size_t n, size_t align)
{
	if (n == 0)
		n = 1;
#ifdef ARENA_ASAN
	(void)align;
	return chunk_new(a, n);
#else
	uintptr_t at, pad;
	unsigned char *d;

	at = (uintptr_t)a->next;
	pad = (align - (at & (align - 1))) & (align - 1);
	if (a->next && pad <= a->left && n <= a->left - pad) {
		d = a->next + pad;
		a->next = d + n;
		a->left -= pad + n;
		return d;
	}
	if (n > ARENA_CHUNK / 4)
		return chunk_new(a, n); /* the current chunk stays current */
	d = chunk_new(a, ARENA_CHUNK - sizeof(struct conf_arena_chunk));
	if (!d)
		return NULL;
	/* data[] is max_align_t aligned: no padding at a chunk's start */
	a->next = d + n;
	a->left = ARENA_CHUNK - sizeof(struct conf_arena_chunk) - n;
	return d;
#endif
}

char *conf_arena_strndup(struct conf_arena *a, const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = conf_arena_alloc(a, n + 1, 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void conf_arena_free(struct conf_arena *a)
{
	struct conf_arena_chunk *c = a->chunks;

	while (c) {
		struct conf_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	memset(a, 0, sizeof(*a));
}
