/*
 * priv_client.c - the engine's side of the priv channel (priv.h): the
 * privileged things it asks its parent to do.  Calls are synchronous
 * (the parent answers at once; blocking is bounded by SO_RCVTIMEO).
 *
 * Ownership: nothing kept but priv_fd; messages are built in wr buffers
 * (wiped on free).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ike/auth_cert.h"
#include "ike/priv.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/filesrc.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "privsep"

int priv_fd = -1;
static uint32_t priv_seq;

int priv_sendmsg(int fd, const void *buf, size_t len, int pass_fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *c;
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.b;
		m.msg_controllen = sizeof(cm.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

ssize_t priv_recvmsg(int fd, void *buf, size_t len, int *got_fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cm.b,
			   .msg_controllen = sizeof(cm.b)};
	struct cmsghdr *c;
	ssize_t n;

	if (got_fd)
		*got_fd = -1;
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int pfd;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&pfd, CMSG_DATA(c), sizeof(int));
		/* only a caller that expects one keeps it */
		if (got_fd && *got_fd < 0)
			*got_fd = pfd;
		else
			close(pfd);
	}
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

static void begin(struct wr *w, uint16_t type, size_t max)
{
	struct espm_hdr h = {.type = type, .seq = ++priv_seq};

	wr_init(w, max);
	espm_put_hdr(w, &h);
}

static struct rd last_body; /* body of the last REPLY (in call's buf) */

/* Sends w (freed) and waits for the REPLY of the same seq; items go to
 * item(); *fd_out receives a passed descriptor. */
static int call(struct wr *w, int (*item)(struct rd *r, void *arg), void *arg,
		int *fd_out, char *err, size_t errlen)
{
	static uint8_t buf[PRIV_MAX];
	uint32_t seq = priv_seq;
	int rc = wr_error(w);

	if (fd_out)
		*fd_out = -1;
	if (priv_fd < 0)
		rc = -ENOTCONN;
	if (rc == 0)
		rc = priv_sendmsg(priv_fd, w->buf, w->len, -1);
	wr_free(w);
	if (rc < 0)
		return rc;
	for (;;) {
		struct espm_hdr h;
		struct rd r;
		int pfd;
		ssize_t n = priv_recvmsg(priv_fd, buf, sizeof(buf), &pfd);

		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
		r = rd_init(buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0 || h.seq != seq) {
			if (pfd >= 0)
				close(pfd);
			continue;
		}
		if (h.type == ESPM_ITEM) {
			if (pfd >= 0)
				close(pfd);
			if (item && rc == 0)
				rc = item(&r, arg);
			continue;
		}
		if (h.type != ESPM_REPLY) {
			if (pfd >= 0)
				close(pfd);
			continue;
		}
		if (h.status < 0) {
			if (pfd >= 0)
				close(pfd);
			if (err && espm_get_str(&r, err, errlen) < 0)
				snprintf(err, errlen, "%s",
					 strerror(-h.status));
			return h.status;
		}
		if (fd_out)
			*fd_out = pfd;
		else if (pfd >= 0)
			close(pfd);
		last_body = r;
		return rc;
	}
}

/* call() that leaves the reply body in *body (valid until the next
 * call). */
static int call_reply(struct wr *w, struct rd *body, char *err, size_t errlen)
{
	int rc = call(w, NULL, NULL, NULL, err, errlen);

	*body = last_body;
	return rc;
}

int priv_send_ready(void)
{
	struct wr w;
	int rc;

	begin(&w, PRIV_READY, 64);
	rc = wr_error(&w) ? wr_error(&w)
			  : priv_sendmsg(priv_fd, w.buf, w.len, -1);
	wr_free(&w);
	return rc;
}

int priv_spmd_connect(void)
{
	char why[256] = "";
	struct wr w;
	int fd, rc;

	begin(&w, PRIV_SPMD, 64);
	rc = call(&w, NULL, NULL, &fd, why, sizeof(why));
	if (rc < 0) {
		if (why[0])
			log_warn(MOD, "spmd connection: %s", why);
		return rc;
	}
	if (fd < 0)
		return -EBADMSG;
	return fd;
}

void priv_script(unsigned which, const char *remote, const struct priv_env *env)
{
	struct wr w;

	begin(&w, PRIV_SCRIPT, PRIV_MAX);
	wr_u8(&w, (uint8_t)which);
	espm_put_str(&w, remote);
	wr_u8(&w, (uint8_t)env->n);
	for (size_t i = 0; i < env->n; i++) {
		espm_put_str(&w, env->name[i]);
		espm_put_str(&w, env->value[i]);
	}
	if (!wr_error(&w))
		priv_sendmsg(priv_fd, w.buf, w.len, -1);
	wr_free(&w);
}

int priv_addr(const struct kaddr *a, const char *ifname, bool add)
{
	char why[256] = "";
	struct wr w;
	int rc;

	begin(&w, PRIV_ADDR, 256);
	wr_u8(&w, add);
	espm_put_kaddr(&w, a);
	espm_put_str(&w, ifname);
	rc = call(&w, NULL, NULL, NULL, why, sizeof(why));
	if (rc < 0 && why[0])
		log_warn(MOD, "address %s: %s", add ? "add" : "delete", why);
	return rc;
}

int priv_sign(const char *remote, uint32_t hashes, const uint8_t *octets,
	      size_t len, struct auth_sig *out)
{
	char why[256] = "";
	struct wr w;
	struct rd r;
	const uint8_t *p;
	uint8_t method;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	begin(&w, PRIV_SIGN, PRIV_MAX);
	espm_put_str(&w, remote);
	wr_u32(&w, hashes);
	wr_bytes(&w, octets, len);
	rc = call_reply(&w, &r, why, sizeof(why));
	if (rc < 0) {
		if (why[0])
			log_warn(MOD, "signature by the parent: %s", why);
		return rc;
	}
	n = rd_left(&r);
	if (rd_u8(&r, &method) < 0 || n < 2 || n > 4096 ||
	    rd_ptr(&r, n - 1, &p) < 0)
		return -EBADMSG;
	out->data = malloc(n - 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, p, n - 1);
	out->len = n - 1;
	out->method = method;
	return 0;
}

static int reload_item(struct rd *r, void *arg)
{
	(void)arg;
	return filesrc_replay_item(r);
}

int priv_reload_files(char *err, size_t errlen)
{
	struct wr w;
	int rc;

	filesrc_replay_reset();
	begin(&w, PRIV_RELOAD, 64);
	rc = call(&w, reload_item, NULL, NULL, err, errlen);
	if (rc < 0 && err && !err[0])
		snprintf(err, errlen, "reading the configuration: %s",
			 strerror(-rc));
	return rc;
}
