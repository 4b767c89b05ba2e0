/*
 * spmif_client.c - spmif client library for iked, kinkd and spmdctl.
 *
 * The client owns one UNIX stream socket (non-blocking), an input
 * buffer that is cut into lines, an output struct wr, and a FIFO of
 * reply handlers (spmd answers requests in order).  Event lines (6xx)
 * may arrive between replies and are dispatched to the callbacks.
 * A reply that spans several lines ("250-..." then "250 ...") is
 * collected into malloc'd lines owned by the client until the final
 * line has been delivered.
 */
#include "spm/spmif_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "spm/spmif_proto.h"
#include "lib/util.h"

#define MOD		"spmif"
#define MAX_REPLY_LINES 200000 /* a POLICY DUMP of a very large SPD */

struct pending {
	spmif_reply_cb cb;
	void *arg;
	struct pending *next;
};

/* An event that arrived during a blocking call (spmif_call), handed to
 * the callbacks from the event loop afterwards. */
struct deferred {
	struct deferred *next;
	int code;
	size_t len;
	char line[];
};
#define MAX_DEFERRED 256

struct spmif_client {
	int fd;
	struct ev_loop *loop;
	struct spmif_callbacks cbs;
	void *arg;

	uint8_t in[2 * SPMIF_LINE_MAX];
	size_t inlen;
	struct wr out;
	size_t out_off; /* bytes of out already written */
	bool want_out;

	struct pending *head, *tail;
	char **lines; /* continuation lines of the reply being read */
	size_t nlines, caplines;

	int depth; /* callback nesting, to defer free */
	bool dead; /* free requested during a callback */
	bool closed;

	int calling; /* inside spmif_call: events are deferred */
	struct deferred *dhead, *dtail;
	size_t ndeferred;
	struct ev_timer dtimer; /* dispatches them from the loop */
};

struct spmif_client *spmif_client_new(const struct spmif_callbacks *cbs,
				      void *arg)
{
	struct spmif_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	if (cbs)
		c->cbs = *cbs;
	ev_timer_init(&c->dtimer, NULL, NULL);
	c->arg = arg;
	wr_init(&c->out, 0);
	return c;
}

static void free_lines(struct spmif_client *c)
{
	for (size_t i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	c->nlines = 0;
}

/* Close the socket and fail every pending request (once). */
static void shut(struct spmif_client *c, int err, bool notify)
{
	struct pending *p;
	struct spmif_reply r = {.code = SPMIF_E_CLOSED,
				.text = "connection to spmd lost"};

	if (c->closed)
		return;
	c->closed = true;
	if (c->fd >= 0) {
		if (c->loop)
			ev_del_fd(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->depth++;
	while ((p = c->head) != NULL) {
		c->head = p->next;
		if (p->cb)
			p->cb(c, &r, p->arg);
		free(p);
	}
	c->tail = NULL;
	if (notify && c->cbs.closed)
		c->cbs.closed(c, err, c->arg);
	c->depth--;
}

void spmif_client_free(struct spmif_client *c)
{
	if (!c)
		return;
	if (c->depth > 0) {
		c->dead = true;
		return;
	}
	shut(c, 0, false);
	if (c->loop)
		ev_timer_stop(c->loop, &c->dtimer);
	while (c->dhead) {
		struct deferred *e = c->dhead;

		c->dhead = e->next;
		free(e);
	}
	free_lines(c);
	free(c->lines);
	wr_free(&c->out);
	free(c);
}

void spmif_reply_free(struct spmif_reply *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	free((char *)r->text);
	memset(r, 0, sizeof(*r));
}

const char *spmif_kv(const char *line, const char *key, char *buf, size_t len)
{
	return spmif_line_kv(line, strlen(line), key, buf, len);
}

const char *spmif_kmp_name(enum spmif_kmp kmp)
{
	switch (kmp) {
	case SPMIF_KMP_IKEV2:
		return "ikev2";
	case SPMIF_KMP_IKEV1:
		return "ikev1";
	case SPMIF_KMP_KINK:
		return "kink";
	}
	return "?";
}

int spmif_kmp_parse(const char *name, enum spmif_kmp *kmp)
{
	if (strcasecmp(name, "ikev2") == 0)
		*kmp = SPMIF_KMP_IKEV2;
	else if (strcasecmp(name, "ikev1") == 0)
		*kmp = SPMIF_KMP_IKEV1;
	else if (strcasecmp(name, "kink") == 0)
		*kmp = SPMIF_KMP_KINK;
	else
		return -EINVAL;
	return 0;
}

static void copy_name(char *dst, const char *line, size_t len, const char *key)
{
	if (!spmif_line_kv(line, len, key, dst, SPMIF_NAME_MAX))
		dst[0] = '\0';
}

int spmif_acquire_parse(const char *line, size_t len, struct spmif_acquire *a)
{
	char buf[SPMIF_VAL_MAX];
	uint64_t v;

	memset(a, 0, sizeof(*a));
	if (len < 12 || memcmp(line, "600 ACQUIRE ", 12) != 0)
		return -EBADMSG;
	if (spmif_line_sel(line, len, &a->sel) < 0 ||
	    spmif_line_pkt(line, len, &a->pkt) < 0)
		return -EBADMSG;
	if (!spmif_line_kv(line, len, "index", buf, sizeof(buf)) ||
	    spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
		return -EBADMSG;
	a->pol_index = (uint32_t)v;
	if (spmif_line_kv(line, len, "seq", buf, sizeof(buf)) &&
	    spmif_parse_u64(buf, UINT64_MAX, &v) == 0)
		a->seq = v;
	a->dir = KDIR_OUT;
	if (spmif_line_kv(line, len, "dir", buf, sizeof(buf)) &&
	    spmif_parse_dir(buf, &a->dir) < 0)
		return -EBADMSG;
	copy_name(a->selector, line, len, "selector");
	copy_name(a->policy, line, len, "policy");
	copy_name(a->remote, line, len, "remote");
	if (spmif_line_kv(line, len, "sa_src", buf, sizeof(buf)) &&
	    spmif_parse_addr(buf, &a->sa_src) < 0)
		return -EBADMSG;
	if (spmif_line_kv(line, len, "sa_dst", buf, sizeof(buf)) &&
	    spmif_parse_addr(buf, &a->sa_dst) < 0)
		return -EBADMSG;
	if (spmif_line_kv(line, len, "reqid", buf, sizeof(buf))) {
		if (spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
			return -EBADMSG;
		a->reqid = (uint32_t)v;
	}
	a->mode = KMODE_TRANSPORT;
	if (spmif_line_kv(line, len, "mode", buf, sizeof(buf)) &&
	    spmif_parse_mode(buf, &a->mode) < 0)
		return -EBADMSG;
	a->ipsec_proto = IPPROTO_ESP;
	if (spmif_line_kv(line, len, "ipsec", buf, sizeof(buf)) &&
	    spmif_parse_ipproto(buf, &a->ipsec_proto) < 0)
		return -EBADMSG;
	if (spmif_line_kv(line, len, "kmp", buf, sizeof(buf)) &&
	    spmif_kmp_parse(buf, &a->kmp) < 0)
		return -EBADMSG;
	return 0;
}

int spmif_migrate_parse(const char *line, size_t len,
			struct spmif_migrate_ev *m)
{
	static const char *const keys[] = {"old_src", "old_dst", "new_src",
					   "new_dst"};
	struct kaddr *addrs[] = {&m->old_src, &m->old_dst, &m->new_src,
				 &m->new_dst};
	char buf[SPMIF_VAL_MAX];
	uint64_t v;

	memset(m, 0, sizeof(*m));
	if (len < 12 || memcmp(line, "602 MIGRATE ", 12) != 0)
		return -EBADMSG;
	if (spmif_line_sel(line, len, &m->sel) < 0)
		return -EBADMSG;
	if (spmif_line_kv(line, len, "index", buf, sizeof(buf))) {
		if (spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
			return -EBADMSG;
		m->pol_index = (uint32_t)v;
	}
	if (!spmif_line_kv(line, len, "dir", buf, sizeof(buf)) ||
	    spmif_parse_dir(buf, &m->dir) < 0)
		return -EBADMSG;
	copy_name(m->selector, line, len, "selector");
	copy_name(m->policy, line, len, "policy");
	copy_name(m->remote, line, len, "remote");
	if (!spmif_line_kv(line, len, "reqid", buf, sizeof(buf)) ||
	    spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
		return -EBADMSG;
	m->reqid = (uint32_t)v;
	if (!spmif_line_kv(line, len, "mode", buf, sizeof(buf)) ||
	    spmif_parse_mode(buf, &m->mode) < 0)
		return -EBADMSG;
	m->ipsec_proto = IPPROTO_ESP;
	if (spmif_line_kv(line, len, "ipsec", buf, sizeof(buf)) &&
	    spmif_parse_ipproto(buf, &m->ipsec_proto) < 0)
		return -EBADMSG;
	for (int i = 0; i < 4; i++)
		if (!spmif_line_kv(line, len, keys[i], buf, sizeof(buf)) ||
		    spmif_parse_addr(buf, addrs[i]) < 0)
			return -EBADMSG;
	if (m->old_src.af != m->old_dst.af || m->new_src.af != m->new_dst.af)
		return -EBADMSG;
	return 0;
}

static void handle_event(struct spmif_client *c, int code, const char *line,
			 size_t len)
{
	if (code == SPMIF_EV_ACQUIRE) {
		struct spmif_acquire a;

		if (spmif_acquire_parse(line, len, &a) < 0) {
			log_rl_warn(MOD, "malformed ACQUIRE event from spmd");
			return;
		}
		if (c->cbs.acquire)
			c->cbs.acquire(c, &a, c->arg);
	} else if (code == SPMIF_EV_MIGRATE) {
		struct spmif_migrate_ev m;

		if (spmif_migrate_parse(line, len, &m) < 0) {
			log_rl_warn(MOD, "malformed MIGRATE event from spmd");
			return;
		}
		if (c->cbs.migrate)
			c->cbs.migrate(c, &m, c->arg);
	} else if (code == SPMIF_EV_POLICY_GONE) {
		struct spmif_policy_gone g;
		char buf[32];
		uint64_t v;

		memset(&g, 0, sizeof(g));
		if (!spmif_line_kv(line, len, "id", buf, sizeof(buf)) ||
		    spmif_parse_u64(buf, UINT32_MAX, &v) < 0) {
			log_rl_warn(MOD, "malformed POLICY-GONE from spmd");
			return;
		}
		g.id = (uint32_t)v;
		copy_name(g.selector, line, len, "selector");
		if (!spmif_line_kv(line, len, "reason", g.reason,
				   sizeof(g.reason)))
			g.reason[0] = '\0';
		if (c->cbs.policy_gone)
			c->cbs.policy_gone(c, &g, c->arg);
	} else {
		log_debug(MOD, "ignoring event %d", code);
	}
}

/*
 * An event read while the caller waits in spmif_call: the callbacks run
 * later from the loop, never inside the caller's stack (an ACQUIRE must
 * not start an exchange in the middle of the one that asked spmd).
 * Bounded: beyond MAX_DEFERRED the event is dropped and logged (the
 * kernel repeats an ACQUIRE whose SA does not come).
 */
static void defer_event(struct spmif_client *c, int code, const char *line,
			size_t len)
{
	struct deferred *e;

	if (c->ndeferred >= MAX_DEFERRED ||
	    !(e = malloc(sizeof(*e) + len + 1))) {
		log_rl_warn(MOD, "event %d from spmd dropped during a request",
			    code);
		return;
	}
	e->next = NULL;
	e->code = code;
	e->len = len;
	memcpy(e->line, line, len);
	e->line[len] = '\0';
	if (c->dtail)
		c->dtail->next = e;
	else
		c->dhead = e;
	c->dtail = e;
	c->ndeferred++;
}

static void deferred_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct spmif_client *c = arg;

	(void)loop;
	(void)t;
	c->depth++;
	while (c->dhead && !c->dead) {
		struct deferred *e = c->dhead;

		c->dhead = e->next;
		if (!c->dhead)
			c->dtail = NULL;
		c->ndeferred--;
		handle_event(c, e->code, e->line, e->len);
		free(e);
	}
	c->depth--;
	if (c->dead && c->depth == 0)
		spmif_client_free(c);
}

/* One complete line (without LF).  Returns <0 on protocol violation. */
static int handle_line(struct spmif_client *c, const char *line, size_t len)
{
	int code;
	char sep;
	struct pending *p;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 3 || line[0] < '1' || line[0] > '6' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -EBADMSG;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	sep = len > 3 ? line[3] : ' ';
	if (sep != ' ' && sep != '-')
		return -EBADMSG;

	if (code >= 600) {
		if (c->calling && c->loop)
			defer_event(c, code, line, len);
		else
			handle_event(c, code, line, len);
		return 0;
	}
	if (sep == '-') {
		if (c->nlines >= MAX_REPLY_LINES)
			return -E2BIG;
		if (c->nlines == c->caplines) {
			size_t n = c->caplines ? 2 * c->caplines : 16;
			char **l = realloc(c->lines, n * sizeof(*l));

			if (!l)
				return -ENOMEM;
			c->lines = l;
			c->caplines = n;
		}
		c->lines[c->nlines] = strndup(line + 4, len - 4);
		if (!c->lines[c->nlines])
			return -ENOMEM;
		c->nlines++;
		return 0;
	}

	p = c->head;
	if (!p)
		return -EPROTO; /* a reply nobody asked for */
	c->head = p->next;
	if (!c->head)
		c->tail = NULL;

	char text[SPMIF_LINE_MAX];
	size_t tl = len > 4 ? len - 4 : 0;

	memcpy(text, line + (len > 4 ? 4 : len), tl);
	text[tl] = '\0';
	struct spmif_reply r = {
	    .code = code, .text = text, .nlines = c->nlines, .lines = c->lines};
	if (p->cb)
		p->cb(c, &r, p->arg);
	free(p);
	free_lines(c);
	return 0;
}

/*
 * Cut complete lines out of the input buffer, one at a time, each removed
 * from c->in before it is handled: a handler (an ACQUIRE's) may make a
 * synchronous call, which reads and drains c->in itself.  Offsets kept
 * across the handler would then point into moved bytes.
 */
static int drain_lines(struct spmif_client *c)
{
	while (!c->closed && !c->dead) {
		char line[SPMIF_LINE_MAX];
		const uint8_t *nl = memchr(c->in, '\n', c->inlen);
		size_t n;
		int rc;

		if (!nl)
			break;
		n = (size_t)(nl - c->in);
		if (n >= sizeof(line))
			return -E2BIG;
		memcpy(line, c->in, n);
		line[n] = '\0';
		memmove(c->in, nl + 1, c->inlen - n - 1);
		c->inlen -= n + 1;
		rc = handle_line(c, line, n);
		if (rc < 0)
			return rc;
	}
	if (c->closed || c->dead)
		return 0;
	if (c->inlen >= SPMIF_LINE_MAX)
		return -E2BIG; /* a line longer than the protocol allows */
	return 0;
}

static int do_read(struct spmif_client *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	c->inlen += (size_t)n;
	return drain_lines(c);
}

static int do_write(struct spmif_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		c->out_off += (size_t)n;
	}
	wr_reset(&c->out);
	c->out_off = 0;
	return 0;
}

static void update_interest(struct spmif_client *c)
{
	bool want = c->out_off < c->out.len;

	if (!c->loop || c->fd < 0 || want == c->want_out)
		return;
	c->want_out = want;
	ev_mod_fd(c->loop, c->fd, EPOLLIN | (want ? EPOLLOUT : 0));
}

static void io_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct spmif_client *c = arg;
	int rc = 0;

	c->depth++;
	if (events & EPOLLOUT)
		rc = do_write(c);
	if (rc == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = do_read(c);
	if (rc < 0) {
		if (rc != -ECONNRESET)
			log_err(MOD, "spmd connection: %s", strerror(-rc));
		else
			log_warn(MOD, "spmd closed the connection");
		shut(c, rc == -ECONNRESET ? 0 : rc, true);
	} else {
		update_interest(c);
	}
	c->depth--;
	if (c->dead && c->depth == 0)
		spmif_client_free(c);
}

int spmif_send(struct spmif_client *c, const char *line, spmif_reply_cb cb,
	       void *arg)
{
	size_t len = strlen(line);
	struct pending *p;

	if (c->closed || c->fd < 0)
		return -ENOTCONN;
	if (len == 0 || len >= SPMIF_LINE_MAX - 2 || strpbrk(line, "\r\n"))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	wr_bytes(&c->out, line, len);
	wr_u8(&c->out, '\n');
	if (wr_error(&c->out)) {
		free(p);
		return wr_error(&c->out);
	}
	p->cb = cb;
	p->arg = arg;
	if (c->tail)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	if (c->loop) {
		int rc = do_write(c);

		if (rc < 0)
			return rc; /* io_cb will notice the broken socket */
		update_interest(c);
	}
	return 0;
}

struct sync_wait {
	bool done;
	struct spmif_reply *out;
	int err;
};

static void sync_cb(struct spmif_client *c, const struct spmif_reply *r,
		    void *arg)
{
	struct sync_wait *w = arg;
	struct spmif_reply *o = w->out;

	w->done = true;
	o->code = r->code;
	o->text = strdup(r->text ? r->text : "");
	o->nlines = 0;
	o->lines = NULL;
	if (!o->text) {
		w->err = -ENOMEM;
		return;
	}
	if (r->nlines) {
		o->lines = calloc(r->nlines, sizeof(char *));
		if (!o->lines) {
			w->err = -ENOMEM;
			return;
		}
		for (size_t i = 0; i < r->nlines; i++) {
			o->lines[i] = r->lines[i];
			r->lines[i] = NULL; /* steal; free_lines skips NULL */
		}
		o->nlines = r->nlines;
	}
}

int spmif_call(struct spmif_client *c, const char *line, int timeout_ms,
	       struct spmif_reply *out)
{
	struct sync_wait w = {.out = out};
	uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = spmif_send(c, line, sync_cb, &w);
	if (rc < 0)
		return rc;
	c->depth++;
	c->calling++;
	while (!w.done && !c->closed) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		uint64_t now = ev_now_ms();
		int n;

		if (c->out_off < c->out.len)
			pfd.events |= POLLOUT;
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (n <= 0)
			continue;
		if (pfd.revents & POLLOUT)
			rc = do_write(c);
		if (rc == 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			rc = do_read(c);
		if (rc < 0) {
			shut(c, rc == -ECONNRESET ? 0 : rc, true);
			break;
		}
	}
	update_interest(c);
	c->calling--;
	if (c->dhead && c->loop && !c->calling &&
	    !ev_timer_active(&c->dtimer)) {
		ev_timer_init(&c->dtimer, deferred_cb, c);
		ev_timer_start(c->loop, &c->dtimer, 0);
	}
	c->depth--;
	if (rc == -ETIMEDOUT) {
		/* the reply may still come: detach our stack frame */
		for (struct pending *p = c->head; p; p = p->next)
			if (p->arg == &w)
				p->cb = NULL;
	}
	if (!w.done && rc == 0)
		rc = -ECONNRESET;
	if (w.done && out->code == SPMIF_E_CLOSED && rc == 0)
		rc = -ECONNRESET;
	if (rc == 0 && w.err)
		rc = w.err;
	if (rc < 0)
		spmif_reply_free(out);
	if (c->dead && c->depth == 0) {
		spmif_client_free(c);
		return rc < 0 ? rc : -ECONNRESET;
	}
	return rc;
}

/* Read the banner line synchronously (before any request). */
static int read_banner(struct spmif_client *c, char *line, size_t len,
		       int timeout_ms)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		for (size_t i = 0; i < c->inlen; i++) {
			if (c->in[i] != '\n')
				continue;
			if (i >= len)
				return -E2BIG;
			memcpy(line, c->in, i);
			line[i] = '\0';
			if (i > 0 && line[i - 1] == '\r')
				line[i - 1] = '\0';
			memmove(c->in, c->in + i + 1, c->inlen - i - 1);
			c->inlen -= i + 1;
			return 0;
		}
		if (c->inlen >= len)
			return -E2BIG;

		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		uint64_t now = ev_now_ms();
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			c->inlen += (size_t)n;
	}
}

int spmif_connect(struct spmif_client *c, const char *path,
		  const char *password_file)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char banner[SPMIF_LINE_MAX], chal[SPMIF_VAL_MAX];
	int rc;

	if (c->fd >= 0)
		return -EISCONN;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	c->closed = false;
	c->inlen = 0;
	/* connect on a local socket completes or fails at once */
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		goto close_fd;
	}
	rc = read_banner(c, banner, sizeof(banner), 5000);
	if (rc < 0)
		goto close_fd;
	if (strncmp(banner, "220 ", 4) != 0) {
		log_err(MOD, "spmd refused the connection: %s", banner);
		rc = strncmp(banner, "530", 3) == 0 ? -EACCES : -EPROTO;
		goto close_fd;
	}
	if (spmif_line_kv(banner, strlen(banner), "challenge", chal,
			  sizeof(chal))) {
		char *pw = NULL, resp[2 * 32 + 1], line[128];
		size_t pwlen = 0;
		struct spmif_reply r;

		if (!password_file) {
			log_err(MOD, "spmd asks for a password but no "
				     "spmd_password file is configured");
			rc = -EACCES;
			goto close_fd;
		}
		rc = spmif_read_password(password_file, &pw, &pwlen);
		if (rc < 0) {
			log_err(MOD, "%s: %s", password_file, strerror(-rc));
			goto close_fd;
		}
		rc = spmif_login_response(pw, pwlen, chal, resp, sizeof(resp));
		mem_wipe(pw, pwlen);
		free(pw);
		if (rc < 0)
			goto close_fd;
		snprintf(line, sizeof(line), "LOGIN %s", resp);
		rc = spmif_call(c, line, 5000, &r);
		if (rc < 0)
			return rc; /* spmif_call already closed on error */
		if (r.code != SPMIF_OK) {
			log_err(MOD, "spmd login refused: %d %s", r.code,
				r.text);
			spmif_reply_free(&r);
			rc = -EACCES;
			goto close_fd;
		}
		spmif_reply_free(&r);
	}
	return 0;

close_fd:
	close(c->fd);
	c->fd = -1;
	c->closed = true;
	return rc;
}

int spmif_connect_fd(struct spmif_client *c, int fd)
{
	int fl;

	if (c->fd >= 0)
		return -EISCONN;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	c->fd = fd;
	c->closed = false;
	c->inlen = 0;
	return 0;
}

int spmif_release_fd(struct spmif_client *c)
{
	int fd = c->fd;

	if (c->loop || c->inlen || c->head)
		return -EBUSY; /* attached, or a conversation under way */
	c->fd = -1;
	c->closed = true;
	return fd;
}

int spmif_register(struct spmif_client *c, enum spmif_kmp kmp)
{
	char line[64];
	struct spmif_reply r;
	int rc;

	snprintf(line, sizeof(line), "REGISTER %s", spmif_kmp_name(kmp));
	rc = spmif_call(c, line, 5000, &r);
	if (rc < 0)
		return rc;
	switch (r.code) {
	case SPMIF_OK:
		rc = 0;
		break;
	case SPMIF_E_EXISTS:
		rc = -EEXIST;
		break;
	case SPMIF_E_AUTH:
		rc = -EACCES;
		break;
	default:
		rc = -EPROTO;
	}
	if (rc < 0)
		log_err(MOD, "REGISTER %s: %d %s", spmif_kmp_name(kmp), r.code,
			r.text);
	spmif_reply_free(&r);
	return rc;
}

int spmif_attach(struct spmif_client *c, struct ev_loop *loop)
{
	int rc;

	if (c->fd < 0)
		return -ENOTCONN;
	if (c->loop)
		return -EALREADY;
	c->want_out = c->out_off < c->out.len;
	rc = ev_add_fd(loop, c->fd, EPOLLIN | (c->want_out ? EPOLLOUT : 0),
		       io_cb, c);
	if (rc < 0)
		return rc;
	c->loop = loop;
	/* lines already buffered (events that came with a reply) */
	c->depth++;
	rc = drain_lines(c);
	c->depth--;
	if (rc < 0)
		shut(c, rc, true);
	if (c->dead && c->depth == 0) {
		spmif_client_free(c);
		return -ECONNRESET;
	}
	return rc;
}

int spmif_policy_add_line(const struct spmif_policy_req *q, char *buf,
			  size_t len)
{
	struct wr w;
	size_t n;

	if (!q->selector || !q->selector[0] || !q->sp_src.af ||
	    q->sp_src.af != q->sp_dst.af)
		return -EINVAL;
	wr_init(&w, SPMIF_LINE_MAX - 2);
	wr_bytes(&w, "POLICY ADD", 10);
	spmif_put_str(&w, "selector", q->selector);
	if (q->lifetime_sec)
		spmif_put_u64(&w, "lifetime", q->lifetime_sec);
	spmif_put_str(&w, "mode", spmif_mode_str(q->mode));
	spmif_put_prefix(&w, "src", &q->sp_src,
			 q->sp_src_plen ? q->sp_src_plen
					: (q->sp_src.af == AF_INET ? 32 : 128));
	spmif_put_prefix(&w, "dst", &q->sp_dst,
			 q->sp_dst_plen ? q->sp_dst_plen
					: (q->sp_dst.af == AF_INET ? 32 : 128));
	if (q->sa_src.af)
		spmif_put_addr(&w, "sa_src", &q->sa_src);
	if (q->sa_dst.af)
		spmif_put_addr(&w, "sa_dst", &q->sa_dst);
	if (q->proto)
		spmif_put_u64(&w, "proto", q->proto);
	if (q->sport)
		spmif_put_u64(&w, "sport", q->sport);
	if (q->dport)
		spmif_put_u64(&w, "dport", q->dport);
	if (q->persist)
		spmif_put_str(&w, "persist", "yes");
	if (wr_error(&w) || w.len >= len) {
		wr_free(&w);
		return -ENOSPC;
	}
	n = w.len;
	memcpy(buf, w.buf, n);
	buf[n] = '\0';
	wr_free(&w);
	return 0;
}

int spmif_policy_add(struct spmif_client *c, const struct spmif_policy_req *q,
		     spmif_reply_cb cb, void *arg)
{
	char line[SPMIF_LINE_MAX];
	int rc = spmif_policy_add_line(q, line, sizeof(line));

	if (rc < 0)
		return rc;
	return spmif_send(c, line, cb, arg);
}

int spmif_policy_delete(struct spmif_client *c, uint32_t id, spmif_reply_cb cb,
			void *arg)
{
	char line[64];

	snprintf(line, sizeof(line), "POLICY DELETE id=%u", id);
	return spmif_send(c, line, cb, arg);
}

int spmif_reply_id(const struct spmif_reply *r, uint32_t *id)
{
	char buf[32];
	uint64_t v;

	if (!r->text || !spmif_kv(r->text, "id", buf, sizeof(buf)) ||
	    spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
		return -EBADMSG;
	*id = (uint32_t)v;
	return 0;
}

int spmif_slid_parse(const struct spmif_reply *r, struct spmif_slid *out)
{
	char buf[32];
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (r->code == SPMIF_E_NOTFOUND)
		return -ENOENT;
	if (r->code != SPMIF_OK || !r->text)
		return -EPROTO;
	if (!spmif_kv(r->text, "selector", out->selector,
		      sizeof(out->selector)))
		return -EBADMSG;
	if (!spmif_kv(r->text, "policy", out->policy, sizeof(out->policy)))
		out->policy[0] = '\0';
	if (!spmif_kv(r->text, "remote", out->remote, sizeof(out->remote)))
		out->remote[0] = '\0';
	if (spmif_kv(r->text, "id", buf, sizeof(buf)) &&
	    spmif_parse_u64(buf, UINT32_MAX, &v) == 0)
		out->dyn_id = (uint32_t)v;
	return 0;
}

int spmif_slid(struct spmif_client *c, uint32_t pol_index, int timeout_ms,
	       struct spmif_slid *out)
{
	char line[48];
	struct spmif_reply r;
	int rc;

	snprintf(line, sizeof(line), "SLID index=%u", pol_index);
	rc = spmif_call(c, line, timeout_ms, &r);
	if (rc < 0)
		return rc;
	rc = spmif_slid_parse(&r, out);
	spmif_reply_free(&r);
	return rc;
}

int spmif_reqid(struct spmif_client *c, const char *selector,
		const char *policy, const struct ksel *sel, int timeout_ms,
		uint32_t *reqid)
{
	char line[SPMIF_LINE_MAX], buf[32];
	struct spmif_reply r;
	struct kaddr src, dst;
	uint64_t v;
	struct wr w;
	int rc;

	if (!selector && !policy)
		return -EINVAL;
	wr_init(&w, SPMIF_LINE_MAX - 2);
	wr_bytes(&w, "REQID", 5);
	if (selector)
		spmif_put_str(&w, "selector", selector);
	if (policy)
		spmif_put_str(&w, "policy", policy);
	if (sel) {
		src = sel->src;
		dst = sel->dst;
		src.af = dst.af = sel->af;
		spmif_put_prefix(&w, "src", &src, sel->src_plen);
		spmif_put_prefix(&w, "dst", &dst, sel->dst_plen);
		spmif_put_u64(&w, "proto", sel->proto);
	}
	if (wr_error(&w)) {
		wr_free(&w);
		return -ENOSPC;
	}
	memcpy(line, w.buf, w.len);
	line[w.len] = '\0';
	wr_free(&w);
	rc = spmif_call(c, line, timeout_ms, &r);
	if (rc < 0)
		return rc;
	if (r.code == SPMIF_E_NOTFOUND)
		rc = -ENOENT;
	else if (r.code != SPMIF_OK || !r.text)
		rc = -EPROTO;
	else if (!spmif_kv(r.text, "reqid", buf, sizeof(buf)) ||
		 spmif_parse_u64(buf, UINT32_MAX, &v) < 0 || !v)
		rc = -EBADMSG;
	else
		*reqid = (uint32_t)v;
	spmif_reply_free(&r);
	return rc;
}

int spmif_migrate(struct spmif_client *c, const char *selector,
		  const struct kaddr *old_src, const struct kaddr *old_dst,
		  const struct kaddr *new_src, const struct kaddr *new_dst,
		  spmif_reply_cb cb, void *arg)
{
	struct wr w;
	char line[SPMIF_LINE_MAX];
	int rc;

	wr_init(&w, SPMIF_LINE_MAX - 2);
	wr_bytes(&w, "MIGRATE", 7);
	spmif_put_str(&w, "selector", selector);
	spmif_put_addr(&w, "old_src", old_src);
	spmif_put_addr(&w, "old_dst", old_dst);
	spmif_put_addr(&w, "new_src", new_src);
	spmif_put_addr(&w, "new_dst", new_dst);
	if (wr_error(&w)) {
		wr_free(&w);
		return -ENOSPC;
	}
	memcpy(line, w.buf, w.len);
	line[w.len] = '\0';
	wr_free(&w);
	rc = spmif_send(c, line, cb, arg);
	return rc;
}
