/*
 * us_backend.c - the "userspace" kernel backend: every op is a request to
 * the data-plane daemon r2espd over its UNIX control socket (esp_msg.h).
 *
 * Policies and SAs therefore live in r2espd, one process that spmd, iked
 * and the tools all reach, and ESP is carried in user space over its TUN
 * device.  Two connections per struct kernel: one for synchronous
 * requests (blocking, 5 s timeout), one subscribed to events when opened
 * with K_OPEN_EVENTS.
 *
 * r2espd may restart under a running spmd/iked.  The daemons register
 * event_fd() in their loops once, so that descriptor must outlive any
 * connection: it is a private epoll set holding either the current event
 * connection or, while r2espd is away, a 1 s timerfd.  event_read() then
 * reconnects and subscribes again (ESPM_HELLO) by itself; it returns
 * -ECONNRESET once when the connection is lost so the daemon can log it.
 * Requests: one that could not be delivered (the old connection is dead,
 * EPIPE) is sent again on a fresh connection; one that was delivered but
 * got no answer is never repeated (it may have been applied) and fails
 * with -ECONNRESET.  The restarted r2espd starts empty; nothing is
 * replayed into it from here: instead, once the event connection is back,
 * event_read delivers one KEV_RESYNC and the owners (spmd, iked)
 * reinstall what they own.  The HELLO reply carries r2espd's instance id:
 * a new id means "r2espd restarted"; the same id means only the
 * connection was lost, but the events sent meanwhile are gone, so that is
 * a KEV_RESYNC too.  An r2espd that does not answer HELLO gives none.
 *
 * Ownership: k->priv (struct us_priv) is allocated by open and freed by
 * close, with every descriptor; request buffers are wr buffers wiped on
 * free (they carry keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "kernel/kernel.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	    "kernel"
#define US_RETRY_MS 1000 /* reconnect period while r2espd is away */

struct us_priv {
	int fd, evfd;
	int epfd, tfd; /* stable event_fd(); retry timer */
	uint32_t seq;
	uint32_t hello_seq; /* seq of the HELLO on the event connection */
	uint64_t instance;  /* r2espd's instance id, 0 = not known yet */
	bool reconnected;   /* event connection re-made, RESYNC pending */
	uint16_t sa_flags;  /* ESPM_F_STATIC_KEY / ESPM_F_FORCE_AEAD */
	bool fixed;	    /* k_open_channel: no path, never reconnect */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint8_t buf[ESPM_MAX];
	/* descriptors the next request carries (k_udp_give) */
	const int *give;
	size_t ngive;
};

static void us_err(struct kernel *k, const char *what, int e)
{
	snprintf(k->last_error, sizeof(k->last_error), "%s: %s", what,
		 strerror(e));
}

static int us_connect(struct kernel *k, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(k->last_error, sizeof(k->last_error),
			 "r2espd socket path too long");
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		close(fd);
		snprintf(k->last_error, sizeof(k->last_error),
			 "cannot reach r2espd at %s: %s (is r2espd running?)",
			 path, strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int us_send(int fd, struct wr *w, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * ESPM_UDP_SOCKS_MAX)];
	} cbuf;
	struct iovec iov = {.iov_base = w->buf, .iov_len = w->len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (wr_error(w))
		return wr_error(w);
	if (nfds > ESPM_UDP_SOCKS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == w->len ? 0 : -EMSGSIZE;
}

/* Starts a request: header with a fresh seq. */
static void us_begin(struct us_priv *p, struct wr *w, uint16_t type)
{
	struct espm_hdr h = {.type = type,
			     .seq = ++p->seq,
			     .flags = type == ESPM_SA_ADD ? p->sa_flags : 0};
	wr_init(w, ESPM_MAX);
	espm_put_hdr(w, &h);
}

typedef int (*item_cb)(struct rd *body, void *arg);

/*
 * Sends w and waits for the reply with the same seq.  ESPM_ITEMs go to
 * item (dumps); the reply body is left in *reply (points into p->buf).
 */
static int us_call(struct kernel *k, struct wr *w, item_cb item, void *arg,
		   struct rd *reply)
{
	struct us_priv *p = k->priv;
	struct espm_hdr h;
	uint32_t seq = p->seq;
	int rc = p->fd >= 0 ? us_send(p->fd, w, p->give, p->ngive) : -ENOTCONN,
	    item_rc = 0;

	if (!p->fixed &&
	    (rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN)) {
		/* Not delivered: r2espd restarted (or was away at the last
		 * call).  Safe to send on a new connection. */
		if (p->fd >= 0)
			close(p->fd);
		p->fd = us_connect(k, p->path);
		rc = p->fd >= 0 ? us_send(p->fd, w, p->give, p->ngive) : p->fd;
		if (rc == 0)
			log_info(MOD, "reconnected to r2espd at %s", p->path);
	}
	wr_free(w);
	if (rc < 0) {
		if (p->fd >= 0)
			us_err(k, "r2espd request failed", -rc);
		return rc;
	}
	for (;;) {
		ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), 0);
		struct rd r;
		if (n <= 0) {
			rc = n == 0 ? -ECONNRESET : -errno;
			/* delivered but unanswered: never repeated */
			snprintf(k->last_error, sizeof(k->last_error),
				 "r2espd did not answer (%s); the request may "
				 "or may not have been applied",
				 n == 0 ? "it closed the connection"
					: strerror(-rc));
			if (n == 0) {
				close(p->fd);
				p->fd = -1;
			}
			return rc;
		}
		r = rd_init(p->buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0 || h.seq != seq)
			continue; /* stale or foreign: ignore */
		if (h.type == ESPM_ITEM) {
			/* After a callback error keep draining until the
			 * final reply, then report that error. */
			if (item && !item_rc)
				item_rc = item(&r, arg);
			continue;
		}
		if (h.type != ESPM_REPLY)
			continue;
		if (h.status < 0) {
			/* The daemon sends its reason as the body. */
			char why[110];
			if (espm_get_str(&r, why, sizeof(why)) == 0)
				snprintf(k->last_error, sizeof(k->last_error),
					 "r2espd: %s", why);
			else
				us_err(k, "r2espd", -h.status);
			return h.status;
		}
		if (reply)
			*reply = r;
		return item_rc;
	}
}

/* Retry timer on (while r2espd is away) or off. */
static void us_retry_timer(struct us_priv *p, bool on)
{
	struct itimerspec its = {0};
	struct epoll_event ev = {.events = EPOLLIN};

	if (on) {
		its.it_value.tv_sec = US_RETRY_MS / 1000;
		its.it_value.tv_nsec = US_RETRY_MS % 1000 * 1000000L;
		its.it_interval = its.it_value;
	}
	timerfd_settime(p->tfd, 0, &its, NULL);
	epoll_ctl(p->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, p->tfd, &ev);
}

/* Open the event connection, subscribe, put it in the epoll set. */
static int us_subscribe(struct kernel *k, int given)
{
	struct us_priv *p = k->priv;
	struct espm_hdr h = {
	    .type = ESPM_HELLO, .flags = ESPM_F_EVENTS, .seq = ++p->seq};
	struct epoll_event ev = {.events = EPOLLIN};
	struct wr w;
	int fd = given >= 0 ? given : us_connect(k, p->path), rc;

	if (fd < 0)
		return fd;
	if (!h.seq) /* 0 means "no HELLO pending" below */
		h.seq = ++p->seq;
	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	wr_u32(&w, ESPM_VERSION);
	wr_u32(&w, ESPM_F_EVENTS);
	rc = us_send(fd, &w, NULL, 0);
	wr_free(&w);
	if (rc == 0 && epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		rc = -errno;
	if (rc < 0) {
		us_err(k, "r2espd event subscription", -rc);
		close(fd);
		return rc;
	}
	p->evfd = fd;
	p->hello_seq = h.seq;
	return 0;
}

/* The event connection is gone: drop it and start retrying. */
static void us_ev_lost(struct kernel *k)
{
	struct us_priv *p = k->priv;

	close(p->evfd); /* also leaves the epoll set */
	p->evfd = -1;
	p->reconnected = true;
	if (p->fixed) {
		snprintf(k->last_error, sizeof(k->last_error),
			 "the privileged parent closed the event channel");
		log_warn(MOD, "%s", k->last_error);
		return;
	}
	us_retry_timer(p, true);
	snprintf(k->last_error, sizeof(k->last_error),
		 "r2espd closed the event connection (restarted?); "
		 "reconnecting every %d ms",
		 US_RETRY_MS);
	log_warn(MOD, "%s", k->last_error);
}

static int us_open(struct kernel *k, unsigned flags)
{
	struct us_priv *p = calloc(1, sizeof(*p));
	const char *path = getenv(ESPM_SOCKET_ENV);
	int rc;

	if (!p)
		return -ENOMEM;
	if (!path || !*path)
		path = ESPM_DEFAULT_SOCKET;
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->evfd = -1;
	p->fd = us_connect(k, p->path);
	if (p->fd < 0) {
		rc = p->fd;
		free(p);
		return rc;
	}
	k->priv = p;
	p->epfd = p->tfd = -1;
	if (flags & K_OPEN_STATIC_KEYS)
		p->sa_flags |= ESPM_F_STATIC_KEY;
	if (flags & K_OPEN_FORCE_STATIC_AEAD)
		p->sa_flags |= ESPM_F_FORCE_AEAD;
	if (flags & K_OPEN_EVENTS) {
		p->epfd = epoll_create1(EPOLL_CLOEXEC);
		p->tfd =
		    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (p->epfd < 0 || p->tfd < 0) {
			rc = -errno;
			goto fail_fds;
		}
		if ((rc = us_subscribe(k, -1)) < 0)
			goto fail_fds;
	}
	return 0;
fail_fds:
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->tfd >= 0)
		close(p->tfd);
	close(p->fd);
	free(p);
	k->priv = NULL;
	return rc;
}

extern const struct kernel_ops kernel_userspace_ops;

int k_open_channel(struct kernel *k, int fd, int evfd,
		   const struct kernel_ops *plane)
{
	struct timeval tv = {.tv_sec = 10};
	struct us_priv *p = calloc(1, sizeof(*p));
	int rc;

	memset(k, 0, sizeof(*k));
	if (!p) {
		close(fd);
		close(evfd);
		return -ENOMEM;
	}
	k->ops = &kernel_userspace_ops;
	k->features = plane ? plane->features : kernel_userspace_ops.features;
	k->priv = p;
	p->fixed = true;
	p->evfd = p->tfd = -1;
	p->fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(p->path, sizeof(p->path), "(privileged parent)");
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		rc = -errno;
		close(evfd);
		goto fail;
	}
	if ((rc = us_subscribe(k, evfd)) < 0) /* closes evfd on failure */
		goto fail_ep;
	return 0;
fail_ep:
	close(p->epfd);
fail:
	close(fd);
	free(p);
	memset(k, 0, sizeof(*k));
	return rc;
}

static void us_close(struct kernel *k)
{
	struct us_priv *p = k->priv;
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	if (p->evfd >= 0)
		close(p->evfd);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->tfd >= 0)
		close(p->tfd);
	mem_wipe(p, sizeof(*p));
	free(p);
	k->priv = NULL;
}

static int us_getspi(struct kernel *k, uint8_t proto, const struct kaddr *src,
		     const struct kaddr *dst, uint32_t reqid, uint32_t *spi)
{
	struct wr w;
	struct rd r;
	int rc;

	us_begin(k->priv, &w, ESPM_GETSPI);
	wr_u8(&w, proto);
	espm_put_kaddr(&w, src);
	espm_put_kaddr(&w, dst);
	wr_u32(&w, reqid);
	rc = us_call(k, &w, NULL, NULL, &r);
	if (rc == 0 && rd_u32(&r, spi) < 0)
		rc = -EBADMSG;
	return rc;
}

static int us_sa_add(struct kernel *k, const struct ksa *sa)
{
	struct wr w;
	us_begin(k->priv, &w, ESPM_SA_ADD);
	espm_put_ksa(&w, sa, true);
	return us_call(k, &w, NULL, NULL, NULL);
}

static void put_said(struct wr *w, uint8_t proto, const struct kaddr *dst,
		     uint32_t spi)
{
	wr_u8(w, proto);
	espm_put_kaddr(w, dst);
	wr_u32(w, spi);
}

static int us_sa_del(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		     uint32_t spi)
{
	struct wr w;
	us_begin(k->priv, &w, ESPM_SA_DEL);
	put_said(&w, proto, dst, spi);
	return us_call(k, &w, NULL, NULL, NULL);
}

static int us_sa_query(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi, struct kcounters *out)
{
	struct wr w;
	struct rd r;
	int rc;

	us_begin(k->priv, &w, ESPM_SA_QUERY);
	put_said(&w, proto, dst, spi);
	rc = us_call(k, &w, NULL, NULL, &r);
	if (rc == 0 && espm_get_kcounters(&r, out) < 0)
		rc = -EBADMSG;
	return rc;
}

static int us_sa_get(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		     uint32_t spi, struct ksa *sa, struct kcounters *c)
{
	struct wr w;
	struct rd r;
	struct ksa tmp;
	struct kcounters ctmp;
	int rc;

	us_begin(k->priv, &w, ESPM_SA_GET);
	put_said(&w, proto, dst, spi);
	rc = us_call(k, &w, NULL, NULL, &r);
	if (rc == 0 &&
	    (espm_get_ksa(&r, &tmp) < 0 || espm_get_kcounters(&r, &ctmp) < 0))
		rc = -EBADMSG;
	if (rc == 0) {
		if (sa)
			*sa = tmp;
		if (c)
			*c = ctmp;
	}
	mem_wipe(&tmp, sizeof(tmp));
	mem_wipe(((struct us_priv *)k->priv)->buf, ESPM_MAX);
	return rc;
}

static int us_pol_send(struct kernel *k, uint16_t type, struct kpolicy *p)
{
	struct wr w;
	struct rd r;
	uint32_t index;
	int rc;

	us_begin(k->priv, &w, type);
	espm_put_kpolicy(&w, p);
	rc = us_call(k, &w, NULL, NULL, &r);
	if (rc == 0 && type != ESPM_POL_DEL && rd_u32(&r, &index) == 0)
		p->index = index;
	return rc;
}

static int us_pol_add(struct kernel *k, struct kpolicy *p)
{
	return us_pol_send(k, ESPM_POL_ADD, p);
}

static int us_pol_update(struct kernel *k, struct kpolicy *p)
{
	return us_pol_send(k, ESPM_POL_UPDATE, p);
}

static int us_pol_del(struct kernel *k, const struct kpolicy *p)
{
	struct kpolicy tmp = *p;
	return us_pol_send(k, ESPM_POL_DEL, &tmp);
}

static int us_migrate(struct kernel *k, const struct kmigrate_req *r)
{
	struct wr w;

	us_begin(k->priv, &w, ESPM_MIGRATE);
	espm_put_kmigrate(&w, r);
	return us_call(k, &w, NULL, NULL, NULL);
}

struct dump_ctx {
	kpol_cb cb;
	void *arg;
};

static int dump_item(struct rd *body, void *arg)
{
	struct dump_ctx *d = arg;
	struct kpolicy p;
	if (espm_get_kpolicy(body, &p) < 0)
		return -EBADMSG;
	return d->cb(&p, d->arg);
}

static int us_pol_dump(struct kernel *k, kpol_cb cb, void *arg)
{
	struct dump_ctx d = {cb, arg};
	struct wr w;
	us_begin(k->priv, &w, ESPM_POL_DUMP);
	return us_call(k, &w, dump_item, &d, NULL);
}

static int us_flush_own(struct kernel *k)
{
	struct wr w;
	us_begin(k->priv, &w, ESPM_FLUSH_OWN);
	return us_call(k, &w, NULL, NULL, NULL);
}

static const char *us_op_name(enum kop_type t)
{
	static const char *const names[] = {[KOP_GETSPI] = "getspi",
					    [KOP_SA_ADD] = "sa_add",
					    [KOP_SA_DEL] = "sa_del",
					    [KOP_POL_ADD] = "pol_add",
					    [KOP_POL_DEL] = "pol_del"};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) && names[t]
		   ? names[t]
		   : "?";
}

/* One request of a batch into w (header with a fresh seq). */
static void us_batch_put(struct us_priv *p, struct wr *w, const struct kop *o)
{
	switch (o->type) {
	case KOP_GETSPI:
		us_begin(p, w, ESPM_GETSPI);
		wr_u8(w, o->u.getspi.proto);
		espm_put_kaddr(w, &o->u.getspi.src);
		espm_put_kaddr(w, &o->u.getspi.dst);
		wr_u32(w, o->u.getspi.reqid);
		break;
	case KOP_SA_ADD:
		us_begin(p, w, ESPM_SA_ADD);
		espm_put_ksa(w, o->u.sa, true);
		break;
	case KOP_SA_DEL:
		us_begin(p, w, ESPM_SA_DEL);
		put_said(w, o->u.sa_del.proto, &o->u.sa_del.dst,
			 o->u.sa_del.spi);
		break;
	case KOP_POL_ADD:
		us_begin(p, w, ESPM_POL_ADD);
		espm_put_kpolicy(w, o->u.pol);
		break;
	case KOP_POL_DEL:
		us_begin(p, w, ESPM_POL_DEL);
		espm_put_kpolicy(w, o->u.pol);
		break;
	}
}

/* The first failure of a batch names its operation in last_error. */
static void us_batch_fail(struct kernel *k, bool *named, size_t i,
			  const struct kop *o, const char *why)
{
	if (*named)
		return;
	*named = true;
	snprintf(k->last_error, sizeof(k->last_error), "op %zu (%s): %s", i,
		 us_op_name(o->type), why);
}

/*
 * One reply r (header first) of a batch whose requests have seqs seq0..
 * seq0 + cnt - 1, for ops[idx[j]]: 0 when it answered one not answered
 * yet, 1 when it is not one of them (stale, foreign, an item).
 */
static int us_batch_reply(struct kernel *k, struct kop *ops, const size_t *idx,
			  uint32_t seq0, size_t cnt, bool *named, struct rd *r)
{
	struct espm_hdr h;
	struct kop *o;
	size_t j;

	if (espm_get_hdr(r, &h) < 0 || h.type != ESPM_REPLY ||
	    h.seq - seq0 >= cnt)
		return 1;
	j = h.seq - seq0;
	o = &ops[idx[j]];
	if (o->rc != KOP_TODO)
		return 1; /* answered already */
	if (h.status < 0) {
		char why[110];
		if (espm_get_str(r, why, sizeof(why)) < 0)
			snprintf(why, sizeof(why), "%s", strerror(-h.status));
		o->rc = h.status;
		us_batch_fail(k, named, idx[j], o, why);
		return 0;
	}
	o->rc = 0;
	if (o->type == KOP_GETSPI && rd_u32(r, &o->u.getspi.spi) < 0) {
		o->rc = -EBADMSG;
		us_batch_fail(k, named, idx[j], o, "short reply");
	} else if (o->type == KOP_POL_ADD) {
		uint32_t index;
		if (rd_u32(r, &index) == 0)
			o->u.pol->index = index;
	}
	return 0;
}

/*
 * Behind iked's privileged parent (a fixed channel): the batch as one
 * ESPM_BATCH datagram, answered by one (esp_msg.h), so that neither
 * process is woken once per request.  Returns -EMSGSIZE untouched when
 * the requests do not fit one message (the caller pipelines them).
 */
static int us_batch_one(struct kernel *k, struct kop *ops, const size_t *idx,
			size_t cnt, bool *named)
{
	struct us_priv *p = k->priv;
	struct wr w, one;
	struct espm_hdr h = {.type = ESPM_BATCH};
	uint32_t seq0, bseq;
	size_t left = cnt;
	int rc;

	wr_init(&w, ESPM_MAX);
	h.seq = bseq = ++p->seq;
	espm_put_hdr(&w, &h);
	wr_u8(&w, (uint8_t)cnt);
	seq0 = p->seq + 1;
	for (size_t j = 0; j < cnt; j++) {
		us_batch_put(p, &one, &ops[idx[j]]);
		wr_u16(&w, (uint16_t)one.len);
		wr_bytes(&w, one.buf, one.len);
		rc = wr_error(&one);
		wr_free(&one);
		if (rc < 0)
			break;
	}
	if (wr_error(&w) || rc < 0) {
		wr_free(&w);
		return -EMSGSIZE;
	}
	rc = p->fd >= 0 ? us_send(p->fd, &w, NULL, 0) : -ENOTCONN;
	wr_free(&w);
	if (rc < 0) {
		for (size_t j = 0; j < cnt; j++) {
			ops[idx[j]].rc = rc;
			us_batch_fail(k, named, idx[j], &ops[idx[j]],
				      "request not sent");
		}
		return 0;
	}
	for (;;) {
		ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), 0);
		struct rd r, body;
		uint16_t len;

		if (n <= 0) {
			rc = n == 0 ? -ECONNRESET : -errno;
			break;
		}
		r = rd_init(p->buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0 || h.type != ESPM_REPLY ||
		    h.seq != bseq)
			continue; /* stale or foreign */
		if (h.status < 0) {
			/* the framing was refused: nothing was applied */
			char why[110];
			if (espm_get_str(&r, why, sizeof(why)) < 0)
				snprintf(why, sizeof(why), "%s",
					 strerror(-h.status));
			for (size_t j = 0; j < cnt; j++) {
				ops[idx[j]].rc = h.status;
				us_batch_fail(k, named, idx[j], &ops[idx[j]],
					      why);
			}
			return 0;
		}
		while (left && rd_u16(&r, &len) == 0 &&
		       rd_sub(&r, len, &body) == 0)
			if (us_batch_reply(k, ops, idx, seq0, cnt, named,
					   &body) == 0)
				left--;
		rc = left ? -EBADMSG : 0;
		break;
	}
	/* delivered but (partly) unanswered: never repeated */
	for (size_t j = 0; rc < 0 && j < cnt; j++) {
		if (ops[idx[j]].rc != KOP_TODO)
			continue;
		ops[idx[j]].rc = rc;
		us_batch_fail(k, named, idx[j], &ops[idx[j]],
			      "no answer; the request may or may not have "
			      "been applied");
	}
	if (rc == -ECONNRESET) {
		close(p->fd);
		p->fd = -1;
	}
	return 0;
}

/*
 * k_batch (kernel.h): every request written at once (one sendmmsg), then
 * the replies read as they come, matched to their operation by seq; the
 * server (r2espd, iked's privileged parent) answers them in order.  As
 * in us_call: requests not delivered because the connection to r2espd
 * was dead are sent again on a new one; a delivered request whose reply
 * does not come fails with "may or may not have been applied".
 */
static void us_batch(struct kernel *k, struct kop *ops, size_t n)
{
	struct us_priv *p = k->priv;
	struct wr w[KBATCH_MAX];
	struct mmsghdr mm[KBATCH_MAX];
	struct iovec iov[KBATCH_MAX];
	size_t idx[KBATCH_MAX], cnt = 0, sent = 0, left;
	uint32_t seq0 = p->seq + 1;
	bool named = false, retried = false;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (ops[i].rc == KOP_TODO)
			idx[cnt++] = i;
	if (!cnt)
		return;
	if (p->fixed && us_batch_one(k, ops, idx, cnt, &named) == 0)
		return;
	memset(mm, 0, sizeof(mm));
	for (size_t j = 0; j < cnt; j++) {
		us_batch_put(p, &w[j], &ops[idx[j]]);
		if (wr_error(&w[j]) && !rc)
			rc = wr_error(&w[j]);
		iov[j].iov_base = w[j].buf;
		iov[j].iov_len = w[j].len;
		mm[j].msg_hdr.msg_iov = &iov[j];
		mm[j].msg_hdr.msg_iovlen = 1;
	}
	while (rc == 0 && sent < cnt) {
		int m = p->fd >= 0
			    ? sendmmsg(p->fd, mm + sent, (unsigned)(cnt - sent),
				       MSG_NOSIGNAL)
			    : (errno = ENOTCONN, -1);
		if (m > 0) {
			sent += (size_t)m;
			continue;
		}
		rc = m == 0 ? -EIO : -errno;
		if (rc == -EINTR) {
			rc = 0;
			continue;
		}
		if (!p->fixed && !sent && !retried &&
		    (rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN)) {
			/* nothing delivered: a new connection (us_call) */
			retried = true;
			if (p->fd >= 0)
				close(p->fd);
			p->fd = us_connect(k, p->path);
			if (p->fd < 0)
				break; /* us_connect said why */
			log_info(MOD, "reconnected to r2espd at %s", p->path);
			rc = 0;
		}
	}
	for (size_t j = 0; j < cnt; j++)
		wr_free(&w[j]);
	for (size_t j = sent; j < cnt; j++) {
		char why[80];
		ops[idx[j]].rc = rc < 0 ? rc : -EIO;
		snprintf(why, sizeof(why), "request not sent: %s",
			 strerror(-ops[idx[j]].rc));
		us_batch_fail(k, &named, idx[j], &ops[idx[j]], why);
	}
	for (left = sent; left > 0;) {
		ssize_t len = recv(p->fd, p->buf, sizeof(p->buf), 0);
		struct rd r;
		size_t j;

		if (len <= 0) {
			int e = len == 0 ? ECONNRESET : errno;
			/* delivered but unanswered: never repeated */
			for (j = 0; j < sent; j++) {
				if (ops[idx[j]].rc != KOP_TODO)
					continue;
				ops[idx[j]].rc = -e;
				us_batch_fail(
				    k, &named, idx[j], &ops[idx[j]],
				    "no answer; the request may or may not "
				    "have been applied");
			}
			if (len == 0) {
				close(p->fd);
				p->fd = -1;
			}
			break;
		}
		r = rd_init(p->buf, (size_t)len);
		if (us_batch_reply(k, ops, idx, seq0, sent, &named, &r) == 0)
			left--;
	}
}

static int us_event_fd(struct kernel *k)
{
	struct us_priv *p = k->priv;
	return p ? p->epfd : -1;
}

/*
 * The HELLO reply on the event connection: learn r2espd's instance and,
 * after a reconnect, tell the owner to resynchronise.  Returns true when
 * ev was filled with a KEV_RESYNC.
 */
static bool us_hello_reply(struct us_priv *p, struct rd *r, struct kevent *ev)
{
	uint32_t version;
	uint64_t inst;
	char why[KEV_RESYNC_REASON_MAX];

	if (rd_u32(r, &version) < 0 || rd_u64(r, &inst) < 0) {
		log_rl_warn(MOD, "malformed HELLO reply from r2espd ignored");
		return false;
	}
	if (p->reconnected) {
		if (p->instance && inst == p->instance)
			snprintf(why, sizeof(why),
				 "r2espd event connection was lost");
		else
			snprintf(why, sizeof(why), "r2espd restarted");
		log_warn(MOD,
			 "%s (instance %016llx): asking the daemon to "
			 "reinstall its policies and SAs",
			 why, (unsigned long long)inst);
		/* filled here, not with kevent_resync(): the tools and
		 * tests link this file without kernel.c */
		memset(ev, 0, sizeof(*ev));
		ev->type = KEV_RESYNC;
		memcpy(ev->u.resync.reason, why, sizeof(why));
	}
	p->instance = inst;
	p->reconnected = false;
	p->hello_seq = 0;
	return ev->type == KEV_RESYNC;
}

static int us_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	struct us_priv *p = k->priv;
	struct espm_hdr h;
	struct kevent ev;
	int count = 0;

	if (!p || p->epfd < 0)
		return -EINVAL;
	if (p->evfd < 0) {
		uint64_t ticks;
		/* r2espd away: try again when the timer says so */
		if (read(p->tfd, &ticks, sizeof(ticks)) < 0)
			return 0;
		if (p->fixed || us_subscribe(k, -1) < 0)
			return 0;
		us_retry_timer(p, false);
		log_info(MOD, "event connection to r2espd at %s restored",
			 p->path);
	}
	for (;;) {
		ssize_t n = recv(p->evfd, p->buf, sizeof(p->buf), MSG_DONTWAIT);
		struct rd r;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return count;
			us_ev_lost(k);
			return -ECONNRESET;
		}
		if (n == 0) {
			us_ev_lost(k);
			return -ECONNRESET;
		}
		r = rd_init(p->buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0)
			continue;
		memset(&ev, 0, sizeof(ev));
		if (h.type == ESPM_REPLY && p->hello_seq &&
		    h.seq == p->hello_seq && h.status == 0) {
			if (!us_hello_reply(p, &r, &ev))
				continue;
		} else if (h.type != ESPM_EVENT ||
			   espm_get_kevent(&r, &ev) < 0) {
			continue;
		}
		cb(&ev, arg);
		count++;
	}
}

/*
 * RFC 3948 §2.2 on the reuseport group of a NAT-T socket (index 0, bound
 * first: the KMP's) and its ESP sibling (index 1): the program sees the
 * UDP payload.  Shorter than 4 octets (a 0xff keepalive) or starting with
 * the zero non-ESP marker (IKE): 0; else ESP: 1.
 */
static struct sock_filter esp_steer_code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

int k_udp_esp_sock(const struct kernel *k, int ikefd, char *err, size_t errlen)
{
	static const struct sock_fprog prog = {
	    .len = sizeof(esp_steer_code) / sizeof(esp_steer_code[0]),
	    .filter = esp_steer_code,
	};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, on = 1, buf = 4 << 20, e;
	unsigned mark = ESPM_MARK;
	const char *what;

	if (!k || k->ops != &kernel_userspace_ops ||
	    (k->features & KF_UDP_DECAP_KERNEL))
		return -EOPNOTSUPP;
	if (getsockname(ikefd, (struct sockaddr *)&ss, &sl) < 0) {
		e = errno;
		snprintf(err, errlen, "getsockname: %s", strerror(e));
		return -e;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	/* r2espd's: its policy rules let the mark past its routes, and
	 * its outer packets must not fragment (as its raw sockets) */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		log_warn(MOD, "ESP-in-UDP socket: SO_MARK: %s",
			 strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	/* an optimisation: without it r2espd reads one datagram at a time */
	setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on));
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	if (ss.ss_family == AF_INET6) {
		what = "IPv6 options";
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) <
			0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
			       sizeof(on)) < 0)
			goto fail;
	} else {
		int pmtu = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
			   sizeof(pmtu));
		what = "IP_PKTINFO";
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
			goto fail;
	}
	/* bound after ikefd: index 1 of the group, for as long as the KMP
	 * holds both (r2espd restarting never reorders it) */
	what = "SO_REUSEPORT";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto fail;
	what = "bind beside the NAT-T socket";
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	what = "SO_ATTACH_REUSEPORT_CBPF";
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
		       sizeof(prog)) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	close(fd);
	return -e;
}

int k_udp_give(struct kernel *k, const int *fds, size_t n)
{
	struct us_priv *p;
	struct wr w;
	int rc;

	if (!k || k->ops != &kernel_userspace_ops)
		return -EOPNOTSUPP;
	if (!n || n > ESPM_UDP_SOCKS_MAX)
		return -EINVAL;
	p = k->priv;
	us_begin(p, &w, ESPM_UDP_SOCKS);
	wr_u8(&w, (uint8_t)n);
	p->give = fds;
	p->ngive = n;
	rc = us_call(k, &w, NULL, NULL, NULL);
	p->give = NULL;
	p->ngive = 0;
	return rc;
}

const struct kernel_ops kernel_userspace_ops = {
    .name = "userspace",
    .features = KF_FWD_POLICY,
    .open = us_open,
    .close = us_close,
    .getspi = us_getspi,
    .sa_add = us_sa_add,
    .sa_del = us_sa_del,
    .sa_query = us_sa_query,
    .pol_add = us_pol_add,
    .pol_update = us_pol_update,
    .pol_del = us_pol_del,
    .pol_dump = us_pol_dump,
    .flush_own = us_flush_own,
    .event_fd = us_event_fd,
    .event_read = us_event_read,
    .sa_get = us_sa_get,
    .migrate = us_migrate,
    .batch = us_batch,
};
