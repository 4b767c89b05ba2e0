/*
 * us_backend.c - the "userspace" kernel backend: every op is a request to
 * the data-plane daemon r2espd over its UNIX control socket (esp_msg.h).
 *
 * Policies and SAs therefore live in r2espd, one process that spmd, iked
 * and the tools all reach, and ESP is carried in user space over its TUN
 * device.  Two connections per struct kernel: one for synchronous
 * requests (blocking, 5 s timeout), one subscribed to events when opened
 * with K_OPEN_EVENTS; event_fd() returns the latter.
 *
 * Ownership: k->priv (struct us_priv) is allocated by open and freed by
 * close; request buffers are wr buffers wiped on free (they carry keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kernel/kernel.h"
#include "kernel/userspace/esp_msg.h"

struct us_priv {
	int fd, evfd;
	uint32_t seq;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint8_t buf[ESPM_MAX];
};

static void us_err(struct kernel *k, const char *what, int e)
{
	snprintf(k->last_error, sizeof(k->last_error), "%s: %s", what,
		 strerror(e));
}

static int us_connect(struct kernel *k, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
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

static int us_send(int fd, struct wr *w)
{
	ssize_t n;

	if (wr_error(w))
		return wr_error(w);
	n = send(fd, w->buf, w->len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == w->len ? 0 : -EMSGSIZE;
}

/* Starts a request: header with a fresh seq. */
static void us_begin(struct us_priv *p, struct wr *w, uint16_t type)
{
	struct espm_hdr h = { .type = type, .seq = ++p->seq };
	wr_init(w, ESPM_MAX);
	espm_put_hdr(w, &h);
}

typedef int (*item_cb)(struct rd *body, void *arg);

/*
 * Sends w and waits for the reply with the same seq.  ESPM_ITEMs go to
 * item (dumps); the reply body is left in *reply (points into p->buf).
 */
static int us_call(struct kernel *k, struct wr *w, item_cb item,
		   void *arg, struct rd *reply)
{
	struct us_priv *p = k->priv;
	struct espm_hdr h;
	uint32_t seq = p->seq;
	int rc = us_send(p->fd, w), item_rc = 0;

	wr_free(w);
	if (rc < 0) {
		us_err(k, "r2espd request failed", -rc);
		return rc;
	}
	for (;;) {
		ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), 0);
		struct rd r;
		if (n <= 0) {
			rc = n == 0 ? -ECONNRESET : -errno;
			us_err(k, "r2espd did not answer", -rc);
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

static int us_open(struct kernel *k, unsigned flags)
{
	struct us_priv *p = calloc(1, sizeof(*p));
	const char *path = getenv(ESPM_SOCKET_ENV);
	struct wr w;
	struct espm_hdr h = { .type = ESPM_HELLO };
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
	if (flags & K_OPEN_EVENTS) {
		p->evfd = us_connect(k, p->path);
		if (p->evfd < 0) {
			rc = p->evfd;
			goto fail_fd;
		}
		wr_init(&w, ESPM_MAX);
		h.flags = ESPM_F_EVENTS;
		espm_put_hdr(&w, &h);
		wr_u32(&w, ESPM_VERSION);
		wr_u32(&w, ESPM_F_EVENTS);
		rc = us_send(p->evfd, &w);
		wr_free(&w);
		if (rc < 0)
			goto fail_evfd;
	}
	return 0;
fail_evfd:
	close(p->evfd);
fail_fd:
	close(p->fd);
	free(p);
	k->priv = NULL;
	return rc;
}

static void us_close(struct kernel *k)
{
	struct us_priv *p = k->priv;
	if (!p)
		return;
	close(p->fd);
	if (p->evfd >= 0)
		close(p->evfd);
	OPENSSL_cleanse(p, sizeof(*p));
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

static int us_sa_query(struct kernel *k, uint8_t proto,
		       const struct kaddr *dst, uint32_t spi,
		       struct kcounters *out)
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
	if (rc == 0 && (espm_get_ksa(&r, &tmp) < 0 ||
			espm_get_kcounters(&r, &ctmp) < 0))
		rc = -EBADMSG;
	if (rc == 0) {
		if (sa)
			*sa = tmp;
		if (c)
			*c = ctmp;
	}
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	OPENSSL_cleanse(((struct us_priv *)k->priv)->buf, ESPM_MAX);
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
	struct dump_ctx d = { cb, arg };
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

static int us_event_fd(struct kernel *k)
{
	struct us_priv *p = k->priv;
	return p ? p->evfd : -1;
}

static int us_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	struct us_priv *p = k->priv;
	struct espm_hdr h;
	struct kevent ev;
	int count = 0;

	if (p->evfd < 0)
		return -EINVAL;
	for (;;) {
		ssize_t n = recv(p->evfd, p->buf, sizeof(p->buf),
				 MSG_DONTWAIT);
		struct rd r;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return count;
			return -errno;
		}
		if (n == 0) {
			snprintf(k->last_error, sizeof(k->last_error),
				 "r2espd closed the event connection");
			return -ECONNRESET;
		}
		r = rd_init(p->buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0 || h.type != ESPM_EVENT ||
		    espm_get_kevent(&r, &ev) < 0)
			continue;
		cb(&ev, arg);
		count++;
	}
}

const struct kernel_ops kernel_userspace_ops = {
	.name = "userspace",
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
};
