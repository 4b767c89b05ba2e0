/*
 * outq.h - the one per-connection output queue of the control servers
 * (lib/ctlsrv.c for iked and kinkd, r2espd's control clients): answers
 * are written to a non-blocking socket as far as it takes them, and the
 * unsent rest is kept here, a snapshot of serialized octets, until the
 * socket is writable again (the owner watches EPOLLOUT through lib/ev.h
 * while outq_pending() and calls outq_flush()).  Nothing is ever dropped
 * on EAGAIN: an answer is either delivered whole, or the connection is
 * closed (a client never sees a short dump reported as success).
 *
 * Two framings:
 *  - stream (SOCK_STREAM): octets, sent in as many pieces as the socket
 *    takes;
 *  - datagram (SOCK_SEQPACKET): each outq_send() is one message, queued
 *    as a record and sent whole, in order.
 * A zeroed struct outq is an empty datagram queue (outq_init sets the
 * framing explicitly).
 *
 * Memory bound: each outq_send() names the limit of queued octets it may
 * bring the queue to (-ENOBUFS beyond, nothing queued): the owner decides
 * what a client may hold (e.g. one answer whole, since it stops reading a
 * client's requests while its queue is not empty, but only a bounded
 * backlog of unsolicited events) and disconnects it with a logged reason
 * when that is exceeded.
 *
 * Only send(2) (MSG_DONTWAIT | MSG_NOSIGNAL) is used: allowed by every
 * sandboxed process's seccomp filter that serves a control socket.
 *
 * Ownership: the queue owns its buffer (grown as needed, given back
 * when a large queue empties); outq_free() wipes and frees it.
 */
#ifndef RACOON_OUTQ_H
#define RACOON_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq {
	uint8_t *buf;
	size_t head; /* first unsent octet (datagram: first record) */
	size_t len;  /* end of the queued octets */
	size_t cap;
	bool stream; /* false: datagram records ([u32 length][message]) */
};

void outq_init(struct outq *q, bool stream);
void outq_free(struct outq *q);

/* Queued octets not yet sent (datagram: including record headers). */
static inline size_t outq_pending(const struct outq *q)
{
	return q->len - q->head;
}

/*
 * Send p[n] on fd, or queue what the socket does not take now.  With an
 * empty queue the socket is tried first (the common case queues
 * nothing); otherwise the octets go behind what waits, in order.
 * Returns 0 (sent or queued), -ENOBUFS when queueing would pass limit
 * octets (nothing queued), -ENOMEM, -EMSGSIZE (a datagram the socket can
 * never take), or another -errno from send() (the connection is broken).
 */
int outq_send(struct outq *q, int fd, const void *p, size_t n, size_t limit);

/*
 * Queue p[n] behind what waits without trying the socket (the owner
 * writes a batch with outq_flush()).  0, -ENOBUFS past limit (nothing
 * queued), -ENOMEM, -EMSGSIZE.
 */
int outq_put(struct outq *q, const void *p, size_t n, size_t limit);

/*
 * Write what the socket takes from the queue.  Returns 1 when the queue
 * is empty, 0 when the socket is full again (the rest stays queued:
 * watch EPOLLOUT), or -errno when the connection is broken.
 */
int outq_flush(struct outq *q, int fd);

#endif
