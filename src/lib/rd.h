/*
 * rd.h - the one read cursor for untrusted input.
 *
 * Every parser of packets, netlink replies and control requests reads
 * through a struct rd.  The cursor never forms a pointer past its end:
 * each accessor compares the wanted size with what is left (n > len)
 * before touching memory, and a failed read leaves the cursor unchanged.
 * The cursor does not own the memory it points into.
 */
#ifndef RACOON_RD_H
#define RACOON_RD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t *p;
	size_t len;
};

static inline struct rd rd_init(const void *p, size_t len)
{
	struct rd r = {.p = p, .len = p ? len : 0};
	return r;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->len;
}
static inline bool rd_empty(const struct rd *r)
{
	return r->len == 0;
}

/* Borrow n bytes: *out points into the input. */
static inline int rd_ptr(struct rd *r, size_t n, const uint8_t **out)
{
	if (n > r->len)
		return -EBADMSG;
	*out = r->p;
	/* n == 0 may mean p == NULL (rd_init(NULL, ...)): NULL + 0 is UB. */
	if (n) {
		r->p += n;
		r->len -= n;
	}
	return 0;
}

static inline int rd_skip(struct rd *r, size_t n)
{
	const uint8_t *unused;
	return rd_ptr(r, n, &unused);
}

static inline int rd_bytes(struct rd *r, void *dst, size_t n)
{
	const uint8_t *s;
	if (rd_ptr(r, n, &s) < 0)
		return -EBADMSG;
	if (n)
		memcpy(dst, s, n);
	return 0;
}

/* Split off the next n bytes as a cursor of their own. */
static inline int rd_sub(struct rd *r, size_t n, struct rd *sub)
{
	const uint8_t *s;
	if (rd_ptr(r, n, &s) < 0)
		return -EBADMSG;
	*sub = rd_init(s, n);
	return 0;
}

/* Everything that is left, as a cursor; r becomes empty. */
static inline struct rd rd_rest(struct rd *r)
{
	struct rd sub = *r;
	if (r->len) {
		r->p += r->len;
		r->len = 0;
	}
	return sub;
}

static inline int rd_u8(struct rd *r, uint8_t *v)
{
	if (r->len < 1)
		return -EBADMSG;
	*v = r->p[0];
	r->p++;
	r->len--;
	return 0;
}

/* Multi-byte reads are network byte order (big endian). */
static inline int rd_u16(struct rd *r, uint16_t *v)
{
	const uint8_t *s;
	if (rd_ptr(r, 2, &s) < 0)
		return -EBADMSG;
	*v = (uint16_t)((uint16_t)s[0] << 8 | s[1]);
	return 0;
}

static inline int rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *s;
	if (rd_ptr(r, 4, &s) < 0)
		return -EBADMSG;
	*v = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 |
	     s[3];
	return 0;
}

static inline int rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;
	struct rd save = *r;
	if (rd_u32(r, &hi) < 0 || rd_u32(r, &lo) < 0) {
		*r = save;
		return -EBADMSG;
	}
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* Little/host-endian reads for kernel (netlink) structures. */
static inline int rd_h16(struct rd *r, uint16_t *v)
{
	return rd_bytes(r, v, 2);
}

static inline int rd_h32(struct rd *r, uint32_t *v)
{
	return rd_bytes(r, v, 4);
}

#endif
