/*
 * wr.h - growable writer for building messages.
 *
 * Errors are sticky: once a put fails (allocation, or the optional size
 * cap), every later put is a no-op and wr_error() reports it, so a
 * builder checks once at the end.  Lengths that are known only later are
 * written by reserving space (wr_reserve) and back-patching (wr_patch_*).
 * The writer owns buf; wr_free() wipes it, since messages carry keys.
 */
#ifndef RACOON_WR_H
#define RACOON_WR_H

#include <stddef.h>
#include <stdint.h>

struct wr {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
	int err;    /* 0 or negative errno, sticky */
};

void wr_init(struct wr *w, size_t max);
void wr_free(struct wr *w);  /* wipes and frees */
void wr_reset(struct wr *w); /* len = 0, err = 0, keeps buffer */
static inline int wr_error(const struct wr *w)
{
	return w->err;
}

int wr_bytes(struct wr *w, const void *p, size_t n);
int wr_zero(struct wr *w, size_t n);
int wr_u8(struct wr *w, uint8_t v);
int wr_u16(struct wr *w, uint16_t v); /* big endian */
int wr_u32(struct wr *w, uint32_t v);
int wr_u64(struct wr *w, uint64_t v);

/* Reserve n zero bytes; *off receives their offset for wr_patch_*. */
int wr_reserve(struct wr *w, size_t n, size_t *off);
int wr_patch_u8(struct wr *w, size_t off, uint8_t v);
int wr_patch_u16(struct wr *w, size_t off, uint16_t v);
int wr_patch_u32(struct wr *w, size_t off, uint32_t v);
int wr_patch_bytes(struct wr *w, size_t off, const void *p, size_t n);

/* Detach the buffer: caller owns *buf afterwards (free it). */
uint8_t *wr_steal(struct wr *w, size_t *len);
/*
 * Gives back a buffer wr_steal() returned, once its message has gone out
 * (it holds only what went on the wire): up to WR_POOL_MAX such buffers
 * are kept per thread and become the first buffer of the thread's next
 * writers, so that small messages sent in bursts (iked's liveness
 * checks, 67 per 20 ms slot at 100,000 SAs) cost no malloc/free; the
 * rest are freed.  NULL is ignored.  Never pass a buffer of another
 * allocator: a pooled buffer is assumed to hold WR_POOL_BUF bytes.
 */
#define WR_POOL_BUF 256u
#define WR_POOL_MAX 128u
void wr_release(uint8_t *buf);

#endif
