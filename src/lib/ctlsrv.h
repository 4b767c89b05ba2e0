/*
 * ctlsrv.h - the one request/answer server on a control socket: iked's
 * (ikedctl) and kinkd's (kinkctl) accept, read, answer and close through
 * here; the socket itself is lib/ctlsock.h (lock, stale-socket probe,
 * mode before bind, SO_PEERCRED).  spmif and r2espd keep their
 * connections open (events) and use ctlsock.h directly.
 *
 * Each client sends one request and gets one answer, then is closed:
 *  - SOCK_STREAM: the request ends at LF, at EOF, or when req_max + 1
 *    octets came without one (the handler sees len > req_max and must
 *    refuse it: never run a truncated request);
 *  - SOCK_SEQPACKET: one datagram (a longer one arrives as req_max + 1
 *    octets, same rule).
 * The handler appends the answer to out (bounded by out_max: a writer
 * error means no answer, the client is just closed).  The answer is a
 * snapshot: what the socket does not take at once waits in the client's
 * lib/outq.h queue and is written when the socket is writable again
 * (EPOLLOUT), so a large answer is never cut short on EAGAIN; a stream
 * answer goes in pieces, a datagram answer in one send.
 *
 * Limits: at most max_clients at once (when full, the oldest client that
 * has not sent its request yet is dropped, else the new one); each
 * client has timeout_ms from its accept to send its request, then
 * timeout_ms again each time it stops reading its answer (any progress
 * restarts that clock): a client that stops reading is dropped, logged.
 * Its memory is the one answer (out_max): nothing more is read from it.
 *
 * Ownership: struct ctlsrv is embedded in the daemon's state and owns the
 * listening socket and the client connections; ctlsrv_close() frees them.
 */
#ifndef RACOON_CTLSRV_H
#define RACOON_CTLSRV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ctlsock.h"
#include "lib/wr.h"

struct ev_loop;
struct ctlsrv_conn;

typedef void (*ctlsrv_fn)(void *arg, const uint8_t *req, size_t len,
			  struct wr *out);

struct ctlsrv_opts {
	struct ctlsock_opts sock; /* path, daemon, type, refuse, ... */
	unsigned max_clients;	  /* 0: CTLSOCK_MAX_CLIENTS */
	size_t req_max;		  /* request octets (line without LF) */
	size_t out_max;		  /* answer octets */
	unsigned timeout_ms;	  /* per client */
	ctlsrv_fn handle;
	void *arg;
};

struct ctlsrv {
	struct ctlsock ls;
	struct ev_loop *loop;
	struct ctlsrv_opts o;
	struct ctlsrv_conn *conns; /* oldest first */
	unsigned nconns;
};

/* Mark s closed (before ctlsrv_open; ctlsrv_close is then harmless). */
void ctlsrv_init(struct ctlsrv *s);

/* ctlsock_open() plus the accept handler on loop.  0 or negative errno
 * with why[] (one line for the daemon's log). */
int ctlsrv_open(struct ctlsrv *s, struct ev_loop *loop,
		const struct ctlsrv_opts *o, char *why, size_t whylen);

/* Drop every client, close and unlink the socket (ctlsock_close). */
void ctlsrv_close(struct ctlsrv *s);

#endif
