/*
 * kproxy.c - the privileged parent's server of kernel operations for the
 * IKE engine (see kproxy.h for the rules each request is held to).
 *
 * The engine is not trusted: every request is decoded with the esp_msg
 * decoders (which check every length and enum), then checked against the
 * tables of what this engine created; nothing is passed to the backend
 * before both succeed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ike/kproxy.h"
#include "kernel/kernel_priv.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	"privsep"
#define KP_HASH 16384 /* chains of ~20 at the limits */

struct kp_sa {
	struct kp_sa *next;
	uint8_t proto;
	struct kaddr dst;
	uint32_t spi;
	bool larval; /* from GETSPI, not completed by SA_ADD yet */
	/* from SA_ADD, what a MIGRATE names an SA by */
	struct kaddr src;
	enum kmode mode;
	uint32_t reqid;
};

struct kp_pol {
	struct kp_pol *next;
	uint32_t index;
	struct kpolicy p; /* as installed, for the cleanup */
};

struct kproxy {
	struct kernel *k;
	struct kp_sa *sa[KP_HASH];
	struct kp_pol *pol[KP_HASH];
	size_t nsa, npol;
	uint64_t instance;
	/* replies held between kproxy_batch_begin and _end (one sendmmsg
	 * per batch of requests), in the order of the requests */
	bool defer;
	int out_fd;
	size_t nout;
	struct wr out[KPROXY_BATCH];
};

struct kp_req {
	struct espm_hdr h;
	int fd;
	char why[110];
	struct wr body; /* reply body */
};

#define WHY(q, ...) snprintf((q)->why, sizeof((q)->why), __VA_ARGS__)

static unsigned sa_hash(uint32_t spi)
{
	return (spi ^ spi >> 10 ^ spi >> 20) % KP_HASH;
}

static struct kp_sa **sa_find(struct kproxy *kp, uint8_t proto,
			      const struct kaddr *dst, uint32_t spi)
{
	struct kp_sa **pp = &kp->sa[sa_hash(spi)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->spi == spi && (*pp)->proto == proto &&
		    kaddr_eq(&(*pp)->dst, dst))
			return pp;
	return NULL;
}

static int sa_remember(struct kproxy *kp, uint8_t proto,
		       const struct kaddr *dst, uint32_t spi, bool larval)
{
	struct kp_sa *s;

	if (kp->nsa >= KPROXY_MAX_SA)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->proto = proto;
	s->dst = *dst;
	s->spi = spi;
	s->larval = larval;
	s->next = kp->sa[sa_hash(spi)];
	kp->sa[sa_hash(spi)] = s;
	kp->nsa++;
	return 0;
}

static void sa_forget(struct kproxy *kp, struct kp_sa **pp)
{
	struct kp_sa *s = *pp;

	*pp = s->next;
	free(s);
	kp->nsa--;
}

static struct kp_pol **pol_find(struct kproxy *kp, uint32_t index)
{
	struct kp_pol **pp = &kp->pol[sa_hash(index)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->index == index)
			return pp;
	return NULL;
}

struct kproxy *kproxy_new(struct kernel *k)
{
	struct kproxy *kp = calloc(1, sizeof(*kp));

	if (!kp)
		return NULL;
	kp->k = k;
	if (RAND_bytes((unsigned char *)&kp->instance, sizeof(kp->instance)) !=
	    1)
		kp->instance = 1;
	return kp;
}

void kproxy_free(struct kproxy *kp)
{
	if (!kp)
		return;
	for (size_t i = 0; i < kp->nout; i++)
		wr_free(&kp->out[i]);
	for (size_t i = 0; i < KP_HASH; i++) {
		while (kp->sa[i])
			sa_forget(kp, &kp->sa[i]);
		while (kp->pol[i]) {
			struct kp_pol *p = kp->pol[i];
			kp->pol[i] = p->next;
			free(p);
		}
	}
	free(kp);
}

size_t kproxy_sa_count(const struct kproxy *kp)
{
	return kp->nsa;
}

size_t kproxy_pol_count(const struct kproxy *kp)
{
	return kp->npol;
}

/* ---- replies ---- */

static int send_msg(int fd, uint16_t type, uint32_t seq, int status,
		    const char *why, const struct wr *body)
{
	struct espm_hdr h = {.type = type, .seq = seq, .status = status};
	struct wr w;
	int rc = 0;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (status < 0)
		espm_put_str(&w, why && why[0] ? why : strerror(-status));
	else if (body && body->len)
		wr_bytes(&w, body->buf, body->len);
	if (wr_error(&w) || send(fd, w.buf, w.len, MSG_NOSIGNAL) < 0)
		rc = -EIO;
	wr_free(&w);
	return rc;
}

/* The replies held (kproxy_batch_begin) go out in one sendmmsg. */
static int out_flush(struct kproxy *kp)
{
	struct mmsghdr mm[KPROXY_BATCH];
	struct iovec iov[KPROXY_BATCH];
	size_t done = 0;
	int rc = 0;

	memset(mm, 0, sizeof(mm));
	for (size_t i = 0; i < kp->nout; i++) {
		iov[i].iov_base = kp->out[i].buf;
		iov[i].iov_len = kp->out[i].len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < kp->nout) {
		int m = sendmmsg(kp->out_fd, mm + done,
				 (unsigned)(kp->nout - done), MSG_NOSIGNAL);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			rc = -EIO;
			break;
		}
		done += (size_t)m;
	}
	for (size_t i = 0; i < kp->nout; i++)
		wr_free(&kp->out[i]);
	kp->nout = 0;
	return rc;
}

/* A reply message w to the engine's request channel: held while a batch
 * of requests is read (kproxy_batch_begin), else sent now. */
static int reply_raw(struct kproxy *kp, int fd, const struct wr *w)
{
	int rc = 0;

	if (!kp->defer)
		return send(fd, w->buf, w->len, MSG_NOSIGNAL) < 0 ? -EIO : 0;
	if (kp->nout && (kp->out_fd != fd || kp->nout == KPROXY_BATCH))
		rc = out_flush(kp);
	kp->out_fd = fd;
	wr_init(&kp->out[kp->nout], ESPM_MAX);
	wr_bytes(&kp->out[kp->nout], w->buf, w->len);
	if (wr_error(&kp->out[kp->nout])) {
		wr_free(&kp->out[kp->nout]);
		return -EIO;
	}
	kp->nout++;
	return rc;
}

static void put_reply(struct wr *w, uint32_t seq, int status, const char *why,
		      const struct wr *body);

static int reply_msg(struct kproxy *kp, int fd, uint32_t seq, int status,
		     const char *why, const struct wr *body)
{
	struct wr w;
	int rc;

	wr_init(&w, ESPM_MAX);
	put_reply(&w, seq, status, why, body);
	rc = wr_error(&w) ? -EIO : reply_raw(kp, fd, &w);
	wr_free(&w);
	return rc;
}

void kproxy_batch_begin(struct kproxy *kp)
{
	kp->defer = true;
}

int kproxy_batch_end(struct kproxy *kp)
{
	int rc = kp->nout ? out_flush(kp) : 0;

	kp->defer = false;
	return rc;
}

/* ---- requests ---- */

/* The SAs a KMP makes: ESP, AH, and IPComp (CPIs, RFC 7296 §2.22) */
static bool proto_ok(uint8_t proto)
{
	return proto == IPPROTO_ESP || proto == IPPROTO_AH ||
	       proto == IPPROTO_COMP;
}

static int req_getspi(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct kaddr src, dst;
	uint32_t reqid, spi = 0;
	uint8_t proto;
	int rc;

	if (rd_u8(r, &proto) < 0 || espm_get_kaddr(r, &src) < 0 ||
	    espm_get_kaddr(r, &dst) < 0 || rd_u32(r, &reqid) < 0)
		return -EBADMSG;
	if (!proto_ok(proto) || !dst.af || (src.af && src.af != dst.af)) {
		WHY(q, "GETSPI: bad protocol or addresses");
		return -EINVAL;
	}
	if (kp->nsa >= KPROXY_MAX_SA) {
		WHY(q, "GETSPI: the engine holds %u SAs already",
		    KPROXY_MAX_SA);
		return -ENOSPC;
	}
	rc = k_getspi(kp->k, proto, &src, &dst, reqid, &spi);
	if (rc < 0) {
		str_copy(q->why, kp->k->last_error, sizeof(q->why));
		return rc;
	}
	if (sa_find(kp, proto, &dst, spi)) {
		/* the backend handed out an SPI we still hold: impossible
		 * unless it lost state; keep the one entry */
		log_warn(MOD, "backend reused SPI %08x", spi);
	} else if ((rc = sa_remember(kp, proto, &dst, spi, true)) < 0) {
		k_sa_del(kp->k, proto, &dst, spi);
		return rc;
	}
	wr_u32(&q->body, spi);
	return 0;
}

static int req_sa_add(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct ksa sa;
	struct kp_sa **pp;
	int rc;

	if (espm_get_ksa(r, &sa) < 0) {
		rc = -EBADMSG;
		goto wipe;
	}
	if ((rc = ksa_validate(&sa, q->why, sizeof(q->why))) < 0)
		goto wipe;
	if (!proto_ok(sa.proto)) {
		WHY(q, "SA_ADD: protocol %u refused", sa.proto);
		rc = -EINVAL;
		goto wipe;
	}
	pp = sa_find(kp, sa.proto, &sa.dst, sa.spi);
	if (sa.update && (!pp || !(*pp)->larval)) {
		/* Only an SPI this engine allocated may be completed. */
		WHY(q, "SA_ADD: SPI %08x was not allocated by this engine",
		    sa.spi);
		rc = -EPERM;
		goto wipe;
	}
	if (!sa.update && pp) {
		WHY(q, "SA_ADD: SA %08x exists already", sa.spi);
		rc = -EEXIST;
		goto wipe;
	}
	if (!sa.update && kp->nsa >= KPROXY_MAX_SA) {
		WHY(q, "SA_ADD: the engine holds %u SAs already",
		    KPROXY_MAX_SA);
		rc = -ENOSPC;
		goto wipe;
	}
	rc = k_sa_add(kp->k, &sa);
	if (rc < 0) {
		str_copy(q->why, kp->k->last_error, sizeof(q->why));
		goto wipe;
	}
	if (sa.update)
		(*pp)->larval = false;
	else if ((rc = sa_remember(kp, sa.proto, &sa.dst, sa.spi, false)) < 0)
		k_sa_del(kp->k, sa.proto, &sa.dst, sa.spi);
	if (rc == 0 && (pp = sa_find(kp, sa.proto, &sa.dst, sa.spi))) {
		(*pp)->src = sa.src;
		(*pp)->mode = sa.mode;
		(*pp)->reqid = sa.reqid;
	}
wipe:
	ksa_wipe(&sa);
	return rc;
}

static int req_sa(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct kaddr dst;
	struct kcounters c;
	struct kp_sa **pp;
	uint32_t spi;
	uint8_t proto;
	int rc;

	if (rd_u8(r, &proto) < 0 || espm_get_kaddr(r, &dst) < 0 ||
	    rd_u32(r, &spi) < 0)
		return -EBADMSG;
	pp = sa_find(kp, proto, &dst, spi);
	if (!pp) {
		WHY(q, "%s: SA %08x was not created by this engine",
		    q->h.type == ESPM_SA_DEL ? "SA_DEL" : "SA_QUERY", spi);
		return -EPERM;
	}
	if (q->h.type == ESPM_SA_QUERY) {
		rc = k_sa_query(kp->k, proto, &dst, spi, &c);
		if (rc == 0)
			espm_put_kcounters(&q->body, &c);
	} else {
		rc = k_sa_del(kp->k, proto, &dst, spi);
		/* gone either way (a hard expiry may have removed it) */
		if (rc == 0 || rc == -ENOENT || rc == -ESRCH)
			sa_forget(kp, pp);
	}
	if (rc < 0)
		str_copy(q->why, kp->k->last_error, sizeof(q->why));
	return rc;
}

static int req_pol(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct kpolicy p;
	struct kp_pol **pp, *n;
	int rc;

	if (espm_get_kpolicy(r, &p) < 0)
		return -EBADMSG;
	if ((rc = kpolicy_validate(&p, q->why, sizeof(q->why))) < 0)
		return rc;
	if (q->h.type == ESPM_POL_ADD) {
		if (p.index != 0) {
			/* the backend picks an owned index: the engine
			 * cannot name a policy of spmd's */
			WHY(q, "POL_ADD: an index may not be requested");
			return -EPERM;
		}
		if (kp->npol >= KPROXY_MAX_POL) {
			WHY(q, "POL_ADD: the engine holds %u policies",
			    KPROXY_MAX_POL);
			return -ENOSPC;
		}
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		rc = k_pol_add(kp->k, &p);
		if (rc < 0 || pol_find(kp, p.index)) {
			free(n);
			if (rc < 0)
				str_copy(q->why, kp->k->last_error,
					 sizeof(q->why));
			else
				wr_u32(&q->body, p.index);
			return rc;
		}
		n->index = p.index;
		n->p = p;
		n->next = kp->pol[sa_hash(p.index)];
		kp->pol[sa_hash(p.index)] = n;
		kp->npol++;
		wr_u32(&q->body, p.index);
		return 0;
	}
	pp = p.index ? pol_find(kp, p.index) : NULL;
	if (!pp) {
		WHY(q, "%s: policy index %08x is not this engine's",
		    q->h.type == ESPM_POL_DEL ? "POL_DEL" : "POL_UPDATE",
		    p.index);
		return -EPERM;
	}
	if (q->h.type == ESPM_POL_UPDATE) {
		rc = k_pol_update(kp->k, &p);
		if (rc == 0) {
			(*pp)->p = p;
			wr_u32(&q->body, p.index);
		}
	} else {
		rc = k_pol_del(kp->k, &p);
		if (rc == 0 || rc == -ENOENT) {
			n = *pp;
			*pp = n->next;
			free(n);
			kp->npol--;
		}
	}
	if (rc < 0)
		str_copy(q->why, kp->k->last_error, sizeof(q->why));
	return rc;
}

/* The engine's SAs a MIGRATE moved get their new endpoints (the
 * backend has moved them; the table names them by destination). */
static void sa_migrated(struct kproxy *kp, const struct kmigrate_req *r)
{
	for (size_t h = 0; h < KP_HASH; h++) {
		for (struct kp_sa *s = kp->sa[h]; s; s = s->next) {
			struct ksa k = {.proto = s->proto,
					.src = s->src,
					.dst = s->dst,
					.mode = s->mode,
					.reqid = s->reqid};
			const struct kmigrate *m;

			if (s->larval || !(m = kmigrate_sa(r, &k)))
				continue;
			s->src = m->new_src;
			s->dst = m->new_dst;
		}
	}
}

/* An installed SA of the engine with m's reqid and protocol between
 * src and dst. */
static bool own_sa_at(const struct kproxy *kp, const struct kmigrate *m,
		      const struct kaddr *src, const struct kaddr *dst)
{
	if (!m->reqid)
		return false; /* "any" would reach foreign SAs */
	for (size_t h = 0; h < KP_HASH; h++)
		for (const struct kp_sa *s = kp->sa[h]; s; s = s->next)
			if (!s->larval && s->reqid == m->reqid &&
			    s->proto == m->proto && kaddr_eq(&s->src, src) &&
			    kaddr_eq(&s->dst, dst))
				return true;
	return false;
}

/* MIGRATE from the engine (an IKE SA whose CHILD SAs move in place):
 * only SAs of its own, named by a reqid one of its installed SAs of
 * that protocol and those old endpoints carries.  A forward policy has
 * no SA of its own: its template names the inbound SAs, which the
 * engine's MIGRATE of the in direction has just moved; so for
 * direction fwd a pair is also the engine's when one of its SAs of
 * that reqid already sits at the pair's new endpoints (the template
 * follows its SAs; nothing else is named). */
static int req_migrate(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct kmigrate_req mr;
	int rc;

	if (espm_get_kmigrate(r, &mr) < 0)
		return -EBADMSG;
	if ((rc = kmigrate_validate(&mr, q->why, sizeof(q->why))) < 0)
		return rc;
	for (unsigned i = 0; i < mr.n; i++) {
		const struct kmigrate *m = &mr.m[i];
		bool own = own_sa_at(kp, m, &m->old_src, &m->old_dst) ||
			   (mr.dir == KDIR_FWD &&
			    own_sa_at(kp, m, &m->new_src, &m->new_dst));

		if (!own) {
			WHY(q, "MIGRATE: pair %u names no SA of this engine",
			    i);
			return -EPERM;
		}
	}
	rc = k_migrate(kp->k, &mr);
	if (rc < 0) {
		str_copy(q->why, kp->k->last_error, sizeof(q->why));
		return rc;
	}
	sa_migrated(kp, &mr);
	return 0;
}

static void put_hello(struct kproxy *kp, struct wr *w)
{
	wr_u32(w, ESPM_VERSION);
	wr_u64(w, kp->instance);
}

/* One reply message (header, then the reason or the body) into w. */
static void put_reply(struct wr *w, uint32_t seq, int status, const char *why,
		      const struct wr *body)
{
	struct espm_hdr h = {.type = ESPM_REPLY, .seq = seq, .status = status};

	espm_put_hdr(w, &h);
	if (status < 0)
		espm_put_str(w, why && why[0] ? why : strerror(-status));
	else if (body && body->len)
		wr_bytes(w, body->buf, body->len);
}

static int serve_batch(struct kproxy *kp, struct kp_req *q, struct rd *r);

/*
 * Serves one request message (buf, len) and appends its reply message
 * to out.  in_batch: inside an ESPM_BATCH (no nested batch).  Returns
 * the request's result.
 */
static int serve(struct kproxy *kp, const uint8_t *buf, size_t len,
		 struct wr *out, bool in_batch)
{
	struct rd r = rd_init(buf, len);
	struct kp_req q = {.fd = -1};
	int rc;

	if (espm_get_hdr(&r, &q.h) < 0) {
		log_rl_warn(MOD,
			    "engine sent a malformed kernel request "
			    "(%zu bytes); refused",
			    len);
		put_reply(out, 0, -EBADMSG, "malformed request", NULL);
		return -EBADMSG;
	}
	wr_init(&q.body, ESPM_MAX);
	switch (q.h.type) {
	case ESPM_HELLO:
		put_hello(kp, &q.body);
		rc = 0;
		break;
	case ESPM_GETSPI:
		rc = req_getspi(kp, &q, &r);
		break;
	case ESPM_SA_ADD:
		rc = req_sa_add(kp, &q, &r);
		break;
	case ESPM_SA_DEL:
	case ESPM_SA_QUERY:
		rc = req_sa(kp, &q, &r);
		break;
	case ESPM_POL_ADD:
	case ESPM_POL_UPDATE:
	case ESPM_POL_DEL:
		rc = req_pol(kp, &q, &r);
		break;
	case ESPM_MIGRATE:
		rc = req_migrate(kp, &q, &r);
		break;
	case ESPM_BATCH:
		if (!in_batch) {
			rc = serve_batch(kp, &q, &r);
		} else {
			WHY(&q, "BATCH: no batch in a batch");
			rc = -EPERM;
		}
		break;
	default:
		WHY(&q, "request type %u is not allowed to the engine",
		    q.h.type);
		rc = -EPERM;
		break;
	}
	if (rc == -EBADMSG && !q.why[0])
		WHY(&q, "malformed request");
	if (rc < 0) {
		if (rc == -EPERM || rc == -EBADMSG || rc == -EINVAL)
			log_rl_warn(MOD, "engine request %u refused: %s",
				    q.h.type, q.why);
		else
			log_info(MOD, "engine request %u failed: %s", q.h.type,
				 q.why[0] ? q.why : strerror(-rc));
	}
	/* a batch's own result is its framing's: its requests' results
	 * are in their replies */
	put_reply(out, q.h.seq, q.h.type == ESPM_BATCH && rc > 0 ? 0 : rc,
		  q.why, &q.body);
	wr_free(&q.body);
	mem_wipe(q.why, sizeof(q.why));
	return rc;
}

/*
 * ESPM_BATCH (esp_msg.h): u8 n (1..ESPM_BATCH_MAX), n x (u16 length,
 * request message).  The framing is checked whole first (a malformed
 * batch changes nothing); then each request is served in order exactly
 * as alone, and its reply goes into the batch reply's body as (u16
 * length, reply message).  Returns 1 (served; the requests' results are
 * in their replies) or a negative errno for the framing.
 */
static int serve_batch(struct kproxy *kp, struct kp_req *q, struct rd *r)
{
	struct rd check = *r, sub;
	uint8_t n;
	uint16_t len;

	if (rd_u8(r, &n) < 0 || n == 0 || n > ESPM_BATCH_MAX) {
		WHY(q, "BATCH: bad count");
		return -EBADMSG;
	}
	check = *r;
	for (unsigned i = 0; i < n; i++)
		if (rd_u16(&check, &len) < 0 || rd_sub(&check, len, &sub) < 0) {
			WHY(q, "BATCH: request %u truncated", i);
			return -EBADMSG;
		}
	if (!rd_empty(&check)) {
		WHY(q, "BATCH: trailing bytes");
		return -EBADMSG;
	}
	for (unsigned i = 0; i < n; i++) {
		struct wr one;
		rd_u16(r, &len);
		rd_sub(r, len, &sub);
		wr_init(&one, ESPM_MAX);
		serve(kp, sub.p, rd_left(&sub), &one, true);
		wr_u16(&q->body, (uint16_t)one.len);
		wr_bytes(&q->body, one.buf, one.len);
		wr_free(&one);
	}
	if (wr_error(&q->body)) {
		/* the replies do not fit one message: the requests were
		 * applied; the engine learns that the answers are lost */
		wr_reset(&q->body);
		WHY(q, "BATCH: the replies do not fit one message");
		return -EMSGSIZE;
	}
	return 1;
}

int kproxy_request(struct kproxy *kp, int fd, const uint8_t *buf, size_t len)
{
	struct wr out;
	int rc;

	wr_init(&out, ESPM_MAX);
	rc = serve(kp, buf, len, &out, false);
	if (wr_error(&out) || reply_raw(kp, fd, &out) < 0)
		rc = -EIO;
	wr_free(&out);
	return rc > 0 ? 0 : rc;
}

int kproxy_request_fds(struct kproxy *kp, int fd, const uint8_t *buf,
		       size_t len, int *fds, size_t nfds)
{
	struct rd r = rd_init(buf, len);
	struct espm_hdr h = {0};
	uint8_t n = 0;
	int rc;

	if (espm_get_hdr(&r, &h) < 0 || h.type != ESPM_UDP_SOCKS ||
	    rd_u8(&r, &n) < 0 || n != nfds) {
		log_rl_warn(MOD, "engine sent descriptors with a request "
				 "other than its ESP-in-UDP sockets; refused");
		rc = -EPERM;
	} else {
		rc = k_udp_give(kp->k, fds, nfds);
		if (rc < 0)
			log_info(MOD,
				 "ESP-in-UDP sockets not given to the data "
				 "plane: %s",
				 kp->k->last_error[0] ? kp->k->last_error
						      : strerror(-rc));
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (reply_msg(kp, fd, h.seq, rc, NULL, NULL) < 0)
		rc = -EIO;
	return rc;
}

int kproxy_event_request(struct kproxy *kp, int evfd, const uint8_t *buf,
			 size_t len)
{
	struct rd r = rd_init(buf, len);
	struct espm_hdr h;
	struct wr body;
	int rc;

	if (espm_get_hdr(&r, &h) < 0 || h.type != ESPM_HELLO) {
		log_rl_warn(MOD, "engine sent an unexpected message on the "
				 "event channel; ignored");
		return -EBADMSG;
	}
	wr_init(&body, 64);
	put_hello(kp, &body);
	rc = send_msg(evfd, ESPM_REPLY, h.seq, 0, NULL, &body);
	wr_free(&body);
	return rc;
}

int kproxy_forward(struct kproxy *kp, int evfd, const struct kevent *ev)
{
	struct wr w;
	int rc;

	/* spmd (or mip6d) moved SAs of the engine: keep naming them */
	if (ev->type == KEV_MIGRATE)
		sa_migrated(kp, &ev->u.migrate);
	wr_init(&w, ESPM_MAX);
	espm_put_kevent(&w, ev);
	rc = send_msg(evfd, ESPM_EVENT, 0, 0, NULL, &w);
	wr_free(&w);
	return rc;
}

size_t kproxy_cleanup(struct kproxy *kp)
{
	size_t n = 0;

	for (size_t i = 0; i < KP_HASH; i++) {
		while (kp->sa[i]) {
			struct kp_sa *s = kp->sa[i];
			if (k_sa_del(kp->k, s->proto, &s->dst, s->spi) == 0)
				n++;
			sa_forget(kp, &kp->sa[i]);
		}
		while (kp->pol[i]) {
			struct kp_pol *p = kp->pol[i];
			if (k_pol_del(kp->k, &p->p) == 0)
				n++;
			kp->pol[i] = p->next;
			free(p);
			kp->npol--;
		}
	}
	return n;
}
