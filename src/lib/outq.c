/*
 * outq.c - per-connection output queue of the control servers (see
 * outq.h).
 */
#include "lib/outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/util.h"

#define OUTQ_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
#define OUTQ_KEEP  (64u << 10) /* an emptied buffer up to this is kept */
#define OUTQ_REC   sizeof(uint32_t)

void outq_init(struct outq *q, bool stream)
{
	memset(q, 0, sizeof(*q));
	q->stream = stream;
}

void outq_free(struct outq *q)
{
	bool stream = q->stream;

	if (q->buf) {
		mem_wipe(q->buf, q->cap);
		free(q->buf);
	}
	outq_init(q, stream);
}

/* Room for n more octets at the end: compact, then grow (a fresh buffer,
 * the old one wiped, rather than realloc leaving copies behind). */
static int reserve(struct outq *q, size_t n)
{
	size_t used = q->len - q->head, cap;
	uint8_t *nb;

	if (q->cap - q->len >= n)
		return 0;
	if (q->head && q->cap - used >= n) {
		memmove(q->buf, q->buf + q->head, used);
		mem_wipe(q->buf + used, q->cap - used);
		q->head = 0;
		q->len = used;
		return 0;
	}
	if (n > SIZE_MAX / 2 - used)
		return -ENOMEM;
	cap = q->cap ? q->cap : 4096;
	while (cap < used + n)
		cap *= 2;
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (used)
		memcpy(nb, q->buf + q->head, used);
	if (q->buf) {
		mem_wipe(q->buf, q->cap);
		free(q->buf);
	}
	q->buf = nb;
	q->cap = cap;
	q->head = 0;
	q->len = used;
	return 0;
}

/* The queue just emptied: start over, and give a large buffer back. */
static void emptied(struct outq *q)
{
	if (q->cap > OUTQ_KEEP) {
		outq_free(q);
		return;
	}
	q->head = q->len = 0;
}

static ssize_t send_some(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	do
		w = send(fd, p, n, OUTQ_FLAGS);
	while (w < 0 && errno == EINTR);
	return w;
}

int outq_send(struct outq *q, int fd, const void *p, size_t n, size_t limit)
{
	const uint8_t *b = p;

	if (!outq_pending(q)) {
		ssize_t w = send_some(fd, b, n);

		if (w >= 0) {
			/* a datagram goes whole (SOCK_SEQPACKET) */
			if (!q->stream || (size_t)w == n)
				return 0;
			b += w;
			n -= (size_t)w;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
	}
	return outq_put(q, b, n, limit);
}

int outq_put(struct outq *q, const void *p, size_t n, size_t limit)
{
	const uint8_t *b = p;
	size_t need;
	int rc;

	if (!q->stream && n > UINT32_MAX)
		return -EMSGSIZE;
	need = n + (q->stream ? 0 : OUTQ_REC);
	if (need > limit || outq_pending(q) > limit - need)
		return -ENOBUFS;
	rc = reserve(q, need);
	if (rc < 0)
		return rc;
	if (!q->stream) {
		uint32_t rl = (uint32_t)n;

		memcpy(q->buf + q->len, &rl, OUTQ_REC);
		q->len += OUTQ_REC;
	}
	if (n)
		memcpy(q->buf + q->len, b, n);
	q->len += n;
	return 0;
}

int outq_flush(struct outq *q, int fd)
{
	while (q->head < q->len) {
		const uint8_t *p = q->buf + q->head;
		size_t n = q->len - q->head, rec = 0;
		ssize_t w;

		if (!q->stream) {
			uint32_t rl;

			memcpy(&rl, p, OUTQ_REC);
			rec = OUTQ_REC;
			p += rec;
			n = rl;
		}
		w = send_some(fd, p, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		/* a datagram goes whole */
		q->head += q->stream ? (size_t)w : rec + n;
	}
	emptied(q);
	return 1;
}
