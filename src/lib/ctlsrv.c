/*
 * ctlsrv.c - one request, one answer per client on a control socket
 * (see ctlsrv.h).
 */
#include "lib/ctlsrv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/outq.h"
#include "lib/util.h"

#define MOD "ctl"

struct ctlsrv_conn {
	struct ctlsrv *s;
	int fd;
	bool answering; /* request read, answer being written */
	uint8_t *buf;	/* req_max + 1 octets */
	size_t got;
	struct outq out; /* the answer's unsent rest (lib/outq.h) */
	struct ev_timer timer;
	struct ctlsrv_conn *next;
};

static void conn_free(struct ctlsrv_conn *c)
{
	struct ctlsrv *s = c->s;
	struct ctlsrv_conn **pp;

	for (pp = &s->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = c->next;
		s->nconns--;
	}
	ev_timer_stop(s->loop, &c->timer);
	ev_del_fd(s->loop, c->fd);
	close(c->fd);
	outq_free(&c->out);
	mem_wipe(c->buf, s->o.req_max + 1);
	free(c->buf);
	free(c);
}

/* Write what the socket takes; true when the connection is finished
 * (answer sent, or the client gone).  While the client reads, its clock
 * restarts: the timeout drops a client that stops reading, never one
 * that reads a long answer slowly but steadily. */
static bool conn_flush(struct ctlsrv_conn *c)
{
	size_t before = outq_pending(&c->out);
	int rc = outq_flush(&c->out, c->fd);

	if (rc == 0 && outq_pending(&c->out) < before)
		ev_timer_start(c->s->loop, &c->timer, c->s->o.timeout_ms);
	return rc != 0;
}

static void conn_answer(struct ctlsrv_conn *c)
{
	struct ctlsrv *s = c->s;
	struct wr out;
	int rc = 0;

	wr_init(&out, s->o.out_max);
	s->o.handle(s->o.arg, c->buf, c->got, &out);
	/* no answer rather than a cut one; the whole answer is queued (it
	 * is bounded by out_max, and nothing more is read from this
	 * client) */
	if (!wr_error(&out) && out.len)
		rc = outq_send(&c->out, c->fd, out.buf, out.len, SIZE_MAX);
	mem_wipe(out.buf, out.len);
	wr_free(&out);
	c->answering = true;
	if (rc == 0 && outq_pending(&c->out)) {
		/* the rest when the client reads (EPOLLOUT) */
		ev_timer_start(s->loop, &c->timer, s->o.timeout_ms);
		ev_mod_fd(s->loop, c->fd, EPOLLOUT);
		return;
	}
	conn_free(c);
}

static void conn_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ctlsrv_conn *c = arg;
	size_t cap = c->s->o.req_max + 1;

	(void)loop;
	(void)fd;
	if (c->answering) {
		if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
		    conn_flush(c))
			conn_free(c);
		return;
	}
	if (c->s->o.sock.type == SOCK_SEQPACKET) {
		ssize_t n;

		do
			n = recv(c->fd, c->buf, cap, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		c->got = (size_t)n;
		conn_answer(c);
		return;
	}
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->got, cap - c->got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the rest of the line later */
		if (n < 0 || (n == 0 && c->got == 0)) {
			conn_free(c);
			return;
		}
		c->got += (size_t)n;
		/* Answer at the end of the line, when the buffer is full,
		 * or at EOF (a request without LF). */
		if (n == 0 || c->got == cap || memchr(c->buf, '\n', c->got))
			break;
	}
	conn_answer(c);
}

static void conn_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct ctlsrv_conn *c = arg;

	(void)loop;
	(void)t;
	log_rl_warn(MOD, "%s: control client too slow (%s), dropped",
		    c->s->ls.daemon,
		    c->answering ? "not reading its answer" : "no request");
	conn_free(c);
}

static void srv_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ctlsrv *s = arg;
	struct ctlsrv_conn *c, **pp;
	int cfd;

	(void)events;
	(void)fd;
	/* SO_PEERCRED: root or the daemon's euid, others are refused
	 * (ctlsock.h, logged) */
	while ((cfd = ctlsock_accept(&s->ls, NULL, NULL)) >= 0 ||
	       cfd == -EACCES) {
		if (cfd < 0)
			continue;
		if (s->nconns >= s->o.max_clients) {
			/* Make room: the oldest client still silent. */
			for (c = s->conns; c && c->answering; c = c->next)
				;
			if (!c) {
				log_rl_warn(MOD, "%s: too many control clients",
					    s->ls.daemon);
				close(cfd);
				continue;
			}
			log_rl_warn(MOD,
				    "%s: too many control clients, dropping "
				    "the oldest idle one",
				    s->ls.daemon);
			conn_free(c);
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->buf = malloc(s->o.req_max + 1);
		if (!c || !c->buf) {
			free(c);
			close(cfd);
			continue;
		}
		c->s = s;
		c->fd = cfd;
		outq_init(&c->out, s->o.sock.type != SOCK_SEQPACKET);
		ev_timer_init(&c->timer, conn_timeout, c);
		if (ev_add_fd(loop, cfd, EPOLLIN, conn_cb, c) < 0) {
			close(cfd);
			free(c->buf);
			free(c);
			continue;
		}
		ev_timer_start(loop, &c->timer, s->o.timeout_ms);
		for (pp = &s->conns; *pp; pp = &(*pp)->next)
			;
		*pp = c;
		s->nconns++;
	}
}

void ctlsrv_init(struct ctlsrv *s)
{
	memset(s, 0, sizeof(*s));
	ctlsock_init(&s->ls);
}

int ctlsrv_open(struct ctlsrv *s, struct ev_loop *loop,
		const struct ctlsrv_opts *o, char *why, size_t whylen)
{
	int rc;

	ctlsrv_init(s);
	if (!o->handle || !o->req_max || !o->out_max || !o->timeout_ms) {
		if (why && whylen)
			str_copy(why, "control server: incomplete options",
				 whylen);
		return -EINVAL;
	}
	s->o = *o;
	s->o.sock.path = NULL; /* ctlsock keeps its own copy */
	if (!s->o.max_clients)
		s->o.max_clients = CTLSOCK_MAX_CLIENTS;
	s->loop = loop;
	rc = ctlsock_open(&s->ls, &o->sock, why, whylen);
	if (rc < 0)
		return rc;
	if (ev_add_fd(loop, s->ls.fd, EPOLLIN, srv_accept, s) < 0) {
		if (why && whylen)
			str_copy(why, "control socket: cannot watch it",
				 whylen);
		ctlsock_close(&s->ls);
		return -EIO;
	}
	return 0;
}

void ctlsrv_close(struct ctlsrv *s)
{
	while (s->conns)
		conn_free(s->conns);
	if (s->loop && s->ls.fd >= 0)
		ev_del_fd(s->loop, s->ls.fd);
	ctlsock_close(&s->ls);
}
