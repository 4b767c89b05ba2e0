/*
 * wr.c - growable message writer; see wr.h.  The writer owns its buffer
 * until wr_steal(); every buffer it lets go of (growth, wr_free) is wiped
 * first because messages carry keys.
 */
#include "lib/wr.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void wr_init(struct wr *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void wr_free(struct wr *w)
{
	if (w->buf) {
		mem_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = NULL;
	w->len = w->cap = 0;
}

void wr_reset(struct wr *w)
{
	w->len = 0;
	w->err = 0;
}

/* Buffers given back with wr_release(), each WR_POOL_BUF bytes (or
 * more): the writer's first allocation is WR_POOL_BUF and only doubles. */
static _Thread_local struct {
	uint8_t *b[WR_POOL_MAX];
	unsigned n;
} pool;

void wr_release(uint8_t *buf)
{
	if (!buf)
		return;
	if (pool.n < WR_POOL_MAX)
		pool.b[pool.n++] = buf;
	else
		free(buf);
}

static int wr_grow(struct wr *w, size_t n)
{
	size_t need, ncap;
	uint8_t *nb;

	if (w->err)
		return w->err;
	if (n > SIZE_MAX - w->len)
		return w->err = -EOVERFLOW;
	need = w->len + n;
	if (w->max && need > w->max)
		return w->err = -EMSGSIZE;
	if (need <= w->cap)
		return 0;
	if (!w->buf && need <= WR_POOL_BUF && pool.n > 0) {
		w->buf = pool.b[--pool.n];
		w->cap = WR_POOL_BUF;
		return 0;
	}
	ncap = w->cap ? w->cap : WR_POOL_BUF;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	nb = malloc(ncap);
	if (!nb)
		return w->err = -ENOMEM;
	/* Copy-and-wipe rather than realloc: old buffers may hold keys. */
	if (w->buf) {
		memcpy(nb, w->buf, w->len);
		mem_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

int wr_bytes(struct wr *w, const void *p, size_t n)
{
	int rc = wr_grow(w, n);
	if (rc)
		return rc;
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

int wr_zero(struct wr *w, size_t n)
{
	int rc = wr_grow(w, n);
	if (rc)
		return rc;
	if (n)
		memset(w->buf + w->len, 0, n);
	w->len += n;
	return 0;
}

int wr_u8(struct wr *w, uint8_t v)
{
	return wr_bytes(w, &v, 1);
}

int wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return wr_bytes(w, b, 2);
}

int wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	return wr_bytes(w, b, 4);
}

int wr_u64(struct wr *w, uint64_t v)
{
	uint8_t b[8];
	int i;

	/* One put, so a cap failure never leaves half a value behind. */
	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return wr_bytes(w, b, 8);
}

int wr_reserve(struct wr *w, size_t n, size_t *off)
{
	size_t at = w->len;
	int rc = wr_zero(w, n);
	if (rc == 0)
		*off = at;
	return rc;
}

int wr_patch_bytes(struct wr *w, size_t off, const void *p, size_t n)
{
	if (w->err)
		return w->err;
	if (off > w->len || n > w->len - off)
		return w->err = -ERANGE;
	if (n)
		memcpy(w->buf + off, p, n);
	return 0;
}

int wr_patch_u8(struct wr *w, size_t off, uint8_t v)
{
	return wr_patch_bytes(w, off, &v, 1);
}

int wr_patch_u16(struct wr *w, size_t off, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return wr_patch_bytes(w, off, b, 2);
}

int wr_patch_u32(struct wr *w, size_t off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	return wr_patch_bytes(w, off, b, 4);
}

uint8_t *wr_steal(struct wr *w, size_t *len)
{
	uint8_t *b = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return b;
}
