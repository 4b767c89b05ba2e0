/*
 * pfkey.c - the PF_KEY v2 backend ("pfkey": RFC 2367 with the KAME
 * extensions of FreeBSD and NetBSD; the Linux dialect when built there).
 *
 * Two PF_KEY sockets: a command socket for request/reply, and with
 * K_OPEN_EVENTS an event socket that is SADB_REGISTERed for ESP and AH
 * (the KAME kernels send ACQUIRE and EXPIRE to registered sockets only).
 * Messages are built and parsed in pfkey_msg.c.  PF_KEY broadcasts the
 * echo of every socket's ADD/DELETE/SPDADD... to all PF_KEY sockets, so a
 * reply is taken only with our sadb_msg_pid, sequence number and type,
 * and the event reader drops everything that is not an event.
 *
 * Policy ownership: see PFK_TAG_BASE in pfkey_msg.h (racoon2's index is
 * kept in the policy's idle-time lifetime, since the kernel picks
 * sadb_x_policy_id).  This backend maps racoon2 indexes to kernel ids
 * (polmap); the map is rebuilt from SPDDUMP whenever a lookup misses, so
 * it survives a restart.  DELETE and GET need the SA's source address,
 * which the ops table does not pass: SAs added here remember it (sa
 * cache), others are found with SADB_DUMP.
 *
 * Status: compiled and exercised only through the message layer here;
 * this project's reference kernel has no PF_KEY sockets (open fails with
 * a clear reason).
 *
 * Memory: struct pfk_priv (k->priv) owns the sockets, the receive buffer
 * (wiped: GET replies carry keys), the maps and the serial bitmap.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "kernel/pfkey_msg.h"
#include "lib/log.h"
#include "lib/wr.h"
#include "lib/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PF_KEY
#define PF_KEY 15 /* Linux; the BSDs define it in <sys/socket.h> */
#endif
#define PFK_SOCK_V2    2		 /* PF_KEY_V2 protocol number */
#define PFK_RBUF       (PFK_MSG_MAX + 1) /* one message per datagram */
#define PFK_TIMEOUT_MS 5000 /* replies are synchronous: never wait long */
#define PFK_EVT_RCVBUF (1024 * 1024)

struct polmap {
	uint32_t index, kid;
};

struct sa_src {
	uint8_t proto;
	uint32_t spi;
	struct kaddr src, dst;
};

struct pfk_priv {
	int cmd, evt;
	const struct pfk_flavor *fl;
	uint32_t seq, pid;
	uint8_t *rbuf;
	struct kpol_serials serials;
	bool seeded;
	struct polmap *map;
	size_t nmap, capmap;
	struct sa_src *sas;
	size_t nsas, capsas;
};

static struct pfk_priv *P(struct kernel *k)
{
	return k->priv;
}

static void set_err(struct kernel *k, const char *what, int err)
{
	kerr_set(k->last_error, sizeof(k->last_error), "%s: %s", what,
		 strerror(-err));
}

/* ---- transport ---------------------------------------------------------- */

/* Receives one datagram; -EAGAIN when nonblocking and nothing is there,
 * -ETIMEDOUT when a reply does not come. */
static ssize_t pfk_recv(int fd, uint8_t *buf, size_t len, bool wait)
{
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	for (;;) {
		if (wait) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int rc = poll(&pfd, 1, PFK_TIMEOUT_MS);

			if (rc < 0 && errno == EINTR)
				continue;
			if (rc < 0)
				return -errno;
			if (rc == 0)
				return -ETIMEDOUT;
		}
		n = recvmsg(fd, &mh, wait ? 0 : MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		return n;
	}
}

typedef int (*reply_cb)(struct kernel *k, const struct pfk_msg *m, void *arg);

/*
 * Sends the message in w and consumes its answer(s): the reply of the
 * same type with our pid and sequence number goes to cb; a dump ends
 * with the message whose sadb_msg_seq is 0 (KAME counts down).  A reply
 * carrying sadb_msg_errno ends the exchange with that error.
 */
static int transact_on(struct kernel *k, int fd, const char *what, struct wr *w,
		       reply_cb cb, void *arg)
{
	struct pfk_priv *x = P(k);
	struct pfk_msg sent;
	bool dump;
	int rc;

	if (wr_error(w) || pfk_parse(w->buf, w->len, &sent) < 0) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "%s: could not build request", what);
		return -EINVAL;
	}
	dump = sent.type == PFK_DUMP || sent.type == PFK_X_SPDDUMP;
	if (send(fd, w->buf, w->len, 0) < 0) {
		rc = -errno;
		set_err(k, what, rc);
		return rc;
	}
	for (;;) {
		ssize_t n = pfk_recv(fd, x->rbuf, PFK_RBUF, true);
		struct pfk_msg m;

		if (n < 0) {
			set_err(k, what, (int)n);
			return (int)n;
		}
		if (pfk_parse(x->rbuf, (size_t)n, &m) < 0) {
			log_rl_warn("pfkey",
				    "%s: malformed PF_KEY message "
				    "dropped",
				    what);
			continue;
		}
		if (m.type != sent.type || m.pid != x->pid ||
		    (!dump && m.seq != sent.seq))
			continue; /* another socket's echo, or an old reply */
		if (m.err) {
			/* an empty SAD/SPD answers a dump with ENOENT */
			if (dump && m.err == ENOENT)
				return 0;
			rc = pfk_msg_error(&m);
			set_err(k, what, rc);
			return rc;
		}
		rc = cb ? cb(k, &m, arg) : 0;
		if (rc < 0 || !dump || m.seq == 0)
			return rc;
	}
}

static int transact(struct kernel *k, const char *what, struct wr *w,
		    reply_cb cb, void *arg)
{
	return transact_on(k, P(k)->cmd, what, w, cb, arg);
}

static struct pfk_req req(struct kernel *k)
{
	struct pfk_priv *x = P(k);
	struct pfk_req r = {x->fl, ++x->seq, x->pid};

	return r;
}

/* ---- open/close --------------------------------------------------------- */

static int pfk_socket(struct kernel *k)
{
	int fd = socket(PF_KEY, SOCK_RAW | SOCK_CLOEXEC, PFK_SOCK_V2);

	if (fd < 0) {
		int e = errno;

		kerr_set(k->last_error, sizeof(k->last_error),
			 "PF_KEY not available on this kernel: %s",
			 strerror(e));
		return -e;
	}
	return fd;
}

static void pfkey_close(struct kernel *k)
{
	struct pfk_priv *x = P(k);

	if (!x)
		return;
	if (x->cmd >= 0)
		close(x->cmd);
	if (x->evt >= 0)
		close(x->evt);
	kpol_serials_free(&x->serials);
	if (x->rbuf) {
		mem_wipe(x->rbuf, PFK_RBUF);
		free(x->rbuf);
	}
	free(x->map);
	free(x->sas);
	free(x);
	k->priv = NULL;
}

/* SADB_REGISTER on the event socket: ACQUIREs for satype come there. */
static int register_satype(struct kernel *k, uint8_t satype)
{
	struct pfk_priv *x = P(k);
	struct pfk_req r = req(k);
	struct wr w;
	int rc;

	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_base(&w, &r, PFK_REGISTER, satype);
	/* the reply (supported algorithms) comes on that socket */
	if (rc == 0)
		rc = transact_on(k, x->evt, "register", &w, NULL, NULL);
	wr_free(&w);
	return rc;
}

static int pfkey_open(struct kernel *k, unsigned flags)
{
	struct pfk_priv *x = calloc(1, sizeof(*x));
	int rc = -ENOMEM;

	if (!x)
		return -ENOMEM;
	x->cmd = x->evt = -1;
	k->priv = x;
	x->fl = pfk_flavor_native();
	/* the BSDs have no forward SPD and refuse fwd policies: tell the
	 * daemons not to install any */
	if (!x->fl->fwd)
		k->features &= ~(unsigned)KF_FWD_POLICY;
	x->pid = (uint32_t)getpid();
	x->seq = (uint32_t)time(NULL);
	x->rbuf = malloc(PFK_RBUF);
	if (!x->rbuf || kpol_serials_init(&x->serials) < 0)
		goto undo_alloc;
	rc = pfk_socket(k);
	if (rc < 0)
		goto undo_alloc;
	x->cmd = rc;
	if (flags & K_OPEN_EVENTS) {
		int sz = PFK_EVT_RCVBUF;

		rc = pfk_socket(k);
		if (rc < 0)
			goto undo_alloc;
		x->evt = rc;
		/* bursts of ACQUIREs must not overflow the queue */
		setsockopt(x->evt, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if ((rc = register_satype(k, PFK_SATYPE_ESP)) < 0 ||
		    (rc = register_satype(k, PFK_SATYPE_AH)) < 0)
			goto undo_alloc;
	}
	return 0;
undo_alloc:
	pfkey_close(k);
	return rc;
}

/* ---- SA source cache ---------------------------------------------------- */

static struct sa_src *sa_find(struct pfk_priv *x, uint8_t proto,
			      const struct kaddr *dst, uint32_t spi)
{
	for (size_t i = 0; i < x->nsas; i++)
		if (x->sas[i].proto == proto && x->sas[i].spi == spi &&
		    kaddr_eq(&x->sas[i].dst, dst))
			return &x->sas[i];
	return NULL;
}

static void sa_remember(struct pfk_priv *x, uint8_t proto,
			const struct kaddr *src, const struct kaddr *dst,
			uint32_t spi)
{
	struct sa_src *s = sa_find(x, proto, dst, spi);

	if (!s) {
		if (kvec_grow((void **)&x->sas, &x->capsas, x->nsas,
			      sizeof(*x->sas)) < 0)
			return; /* SADB_DUMP finds it later */
		s = &x->sas[x->nsas++];
	}
	s->proto = proto;
	s->spi = spi;
	s->src = *src;
	s->dst = *dst;
}

static void sa_forget(struct pfk_priv *x, uint8_t proto,
		      const struct kaddr *dst, uint32_t spi)
{
	struct sa_src *s = sa_find(x, proto, dst, spi);

	if (s)
		*s = x->sas[--x->nsas];
}

struct sa_hunt {
	uint8_t proto;
	uint32_t spi;
	const struct kaddr *dst;
	struct kaddr src;
	bool found;
};

static int on_dump_sa(struct kernel *k, const struct pfk_msg *m, void *arg)
{
	struct sa_hunt *h = arg;
	struct ksa sa;

	/* one odd entry must not end the dump */
	if (pfk_parse_sa(P(k)->fl, m, &sa, NULL) == 0) {
		if (!h->found && sa.proto == h->proto && sa.spi == h->spi &&
		    kaddr_eq(&sa.dst, h->dst)) {
			h->src = sa.src;
			h->found = true;
		}
		ksa_wipe(&sa);
	}
	return 0;
}

/* The SA's source address: from the cache, else from SADB_DUMP. */
static int sa_source(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		     uint32_t spi, struct kaddr *src)
{
	struct pfk_priv *x = P(k);
	struct sa_src *s = sa_find(x, proto, dst, spi);
	struct sa_hunt h = {proto, spi, dst, {0}, false};
	struct pfk_req r;
	struct wr w;
	int rc;

	if (s) {
		*src = s->src;
		return 0;
	}
	if (!pfk_satype(proto))
		return -EINVAL;
	r = req(k);
	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_base(&w, &r, PFK_DUMP, pfk_satype(proto));
	if (rc == 0)
		rc = transact(k, "dump SAs", &w, on_dump_sa, &h);
	wr_free(&w);
	if (rc < 0)
		return rc;
	if (!h.found) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "SA 0x%08x not found", spi);
		return -ESRCH;
	}
	*src = h.src;
	sa_remember(x, proto, &h.src, dst, spi);
	return 0;
}

/* ---- SAs ---------------------------------------------------------------- */

struct sa_reply {
	struct ksa *sa;
	struct kcounters *c;
	bool got;
};

static int on_sa(struct kernel *k, const struct pfk_msg *m, void *arg)
{
	struct sa_reply *r = arg;
	int rc = pfk_parse_sa(P(k)->fl, m, r->sa, r->c);

	if (rc < 0) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "malformed SA in kernel reply: %s", strerror(-rc));
		return rc;
	}
	r->got = true;
	return 0;
}

static int pfkey_getspi(struct kernel *k, uint8_t proto,
			const struct kaddr *src, const struct kaddr *dst,
			uint32_t reqid, uint32_t *spi)
{
	struct pfk_req r = req(k);
	struct ksa sa;
	struct sa_reply rep = {&sa, NULL, false};
	struct wr w;
	int rc;

	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_getspi(&w, &r, proto, src, dst, reqid, K_SPI_MIN,
			      k_spi_max(proto), k->last_error,
			      sizeof(k->last_error));
	if (rc == 0)
		rc = transact(k, "getspi", &w, on_sa, &rep);
	wr_free(&w);
	if (rc == 0 && !rep.got)
		rc = -EBADMSG;
	if (rc == 0) {
		*spi = sa.spi;
		sa_remember(P(k), proto, src, dst, sa.spi);
	}
	ksa_wipe(&sa);
	return rc;
}

static int pfkey_sa_add(struct kernel *k, const struct ksa *sa)
{
	struct pfk_req r = req(k);
	struct wr w;
	int rc;

	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_sa(&w, &r, sa, k->last_error, sizeof(k->last_error));
	if (rc == 0)
		rc = transact(k, sa->update ? "update SA" : "add SA", &w, NULL,
			      NULL);
	wr_free(&w); /* wipes the keys */
	if (rc == 0)
		sa_remember(P(k), sa->proto, &sa->src, &sa->dst, sa->spi);
	return rc;
}

/* DELETE or GET (type) of one SA, found by its source address. */
static int sa_id_request(struct kernel *k, uint8_t type, const char *what,
			 uint8_t proto, const struct kaddr *dst, uint32_t spi,
			 reply_cb cb, void *arg)
{
	struct kaddr src;
	struct pfk_req r;
	struct wr w;
	int rc = sa_source(k, proto, dst, spi, &src);

	if (rc < 0)
		return rc;
	r = req(k);
	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_sa_id(&w, &r, type, proto, &src, dst, spi, k->last_error,
			     sizeof(k->last_error));
	if (rc == 0)
		rc = transact(k, what, &w, cb, arg);
	wr_free(&w);
	return rc;
}

static int pfkey_sa_del(struct kernel *k, uint8_t proto,
			const struct kaddr *dst, uint32_t spi)
{
	int rc = sa_id_request(k, PFK_DELETE, "delete SA", proto, dst, spi,
			       NULL, NULL);

	if (rc == 0 || rc == -ESRCH || rc == -ENOENT)
		sa_forget(P(k), proto, dst, spi);
	return rc;
}

static int pfkey_sa_get(struct kernel *k, uint8_t proto,
			const struct kaddr *dst, uint32_t spi, struct ksa *sa,
			struct kcounters *c)
{
	struct sa_reply rep = {sa, c, false};
	int rc =
	    sa_id_request(k, PFK_GET, "query SA", proto, dst, spi, on_sa, &rep);

	if (rc == 0 && !rep.got)
		rc = -EBADMSG;
	return rc;
}

static int pfkey_sa_query(struct kernel *k, uint8_t proto,
			  const struct kaddr *dst, uint32_t spi,
			  struct kcounters *out)
{
	return pfkey_sa_get(k, proto, dst, spi, NULL, out);
}

/* ---- policy id map ------------------------------------------------------ */

static struct polmap *map_find(struct pfk_priv *x, uint32_t index)
{
	for (size_t i = 0; i < x->nmap; i++)
		if (x->map[i].index == index)
			return &x->map[i];
	return NULL;
}

static int map_set(struct pfk_priv *x, uint32_t index, uint32_t kid)
{
	struct polmap *e = map_find(x, index);

	if (!e) {
		if (kvec_grow((void **)&x->map, &x->capmap, x->nmap,
			      sizeof(*x->map)) < 0)
			return -ENOMEM;
		e = &x->map[x->nmap++];
	}
	e->index = index;
	e->kid = kid;
	return 0;
}

static void map_del(struct pfk_priv *x, uint32_t index)
{
	struct polmap *e = map_find(x, index);

	if (e)
		*e = x->map[--x->nmap];
}

/* ---- policies ----------------------------------------------------------- */

struct pol_entry {
	struct kpolicy p;
	uint32_t kid;
};

struct pol_list {
	struct pol_entry *v;
	size_t n, cap;
};

static int on_policy(struct kernel *k, const struct pfk_msg *m, void *arg)
{
	struct pfk_priv *x = P(k);
	struct pol_list *l = arg;
	struct pol_entry e;
	int rc = pfk_parse_policy(x->fl, m, &e.p, &e.kid);

	if (rc == -ENOENT)
		return 0; /* socket/interface/"any" policies: not shown */
	if (rc < 0) {
		log_rl_warn("pfkey", "policy dump: entry skipped (%s)",
			    strerror(-rc));
		return 0;
	}
	if (e.p.owned) {
		kpol_serials_mark(&x->serials, kpol_index_serial(e.p.index),
				  true);
		if (map_set(x, e.p.index, e.kid) < 0)
			return -ENOMEM;
	}
	if (kvec_grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = e;
	return 0;
}

/* Whole SPD into memory (callbacks may then modify the SPD); refreshes
 * the index map from what the kernel really holds. */
static int dump_all(struct kernel *k, struct pol_list *l)
{
	struct pfk_priv *x = P(k);
	struct pfk_req r = req(k);
	struct wr w;
	int rc;

	memset(l, 0, sizeof(*l));
	x->nmap = 0;
	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_base(&w, &r, PFK_X_SPDDUMP, PFK_SATYPE_UNSPEC);
	if (rc == 0)
		rc = transact(k, "dump policies", &w, on_policy, l);
	wr_free(&w);
	if (rc < 0) {
		free(l->v);
		memset(l, 0, sizeof(*l));
		return rc;
	}
	x->seeded = true;
	return 0;
}

static int seed(struct kernel *k)
{
	struct pol_list l;
	int rc;

	if (P(k)->seeded)
		return 0;
	rc = dump_all(k, &l);
	free(l.v);
	return rc;
}

struct one_pol {
	struct kpolicy *p;
	uint32_t kid;
	bool got;
};

static int on_one_policy(struct kernel *k, const struct pfk_msg *m, void *arg)
{
	struct one_pol *o = arg;
	int rc = pfk_parse_policy(P(k)->fl, m, o->p, &o->kid);

	if (rc == 0)
		o->got = true;
	return rc == -ENOENT ? 0 : rc;
}

static int pol_write(struct kernel *k, struct kpolicy *p, uint8_t type)
{
	struct pfk_priv *x = P(k);
	struct kpolicy echo;
	struct one_pol o = {&echo, 0, false};
	uint32_t serial = 0, want = p->index;
	struct pfk_req r;
	struct wr w;
	int rc;

	rc = seed(k);
	if (rc < 0)
		return rc;
	rc = kpol_index_take(k, &x->serials, p, &serial);
	if (rc < 0)
		return rc;
	r = req(k);
	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_policy(&w, &r, type, p, k->last_error,
			      sizeof(k->last_error));
	if (rc == 0)
		rc = transact(
		    k, type == PFK_X_SPDADD ? "add policy" : "update policy",
		    &w, on_one_policy, &o);
	wr_free(&w);
	if (rc < 0)
		goto undo_index;
	if (kpol_index_owned(p->index)) {
		kpol_serials_mark(&x->serials, kpol_index_serial(p->index),
				  true);
		if (o.got)
			map_set(x, p->index, o.kid);
	} else if (o.got) {
		/* untagged: the kernel's id is the only handle there is */
		p->index = o.kid;
	}
	return 0;
undo_index:
	kpol_index_undo(&x->serials, p, serial, want);
	return rc;
}

static int pfkey_pol_add(struct kernel *k, struct kpolicy *p)
{
	return pol_write(k, p, PFK_X_SPDADD);
}

static int pfkey_pol_update(struct kernel *k, struct kpolicy *p)
{
	return pol_write(k, p, PFK_X_SPDUPDATE);
}

/* Kernel id of an owned index: the map, else a fresh dump. */
static int kid_of(struct kernel *k, uint32_t index, uint32_t *kid)
{
	struct pfk_priv *x = P(k);
	struct polmap *e = map_find(x, index);
	struct pol_list l;
	int rc;

	if (!e) {
		rc = dump_all(k, &l);
		free(l.v);
		if (rc < 0)
			return rc;
		e = map_find(x, index);
	}
	if (!e) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "policy 0x%x not in the kernel", index);
		return -ENOENT;
	}
	*kid = e->kid;
	return 0;
}

static int del_by_kid(struct kernel *k, uint32_t kid, enum kdir dir)
{
	struct pfk_req r = req(k);
	struct wr w;
	int rc;

	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_spdid(&w, &r, PFK_X_SPDDELETE2, kid, dir);
	if (rc == 0)
		rc = transact(k, "delete policy", &w, NULL, NULL);
	wr_free(&w);
	return rc;
}

static int pfkey_pol_del(struct kernel *k, const struct kpolicy *p)
{
	struct pfk_priv *x = P(k);
	struct pfk_req r;
	struct wr w;
	uint32_t kid;
	int rc;

	if (kpol_index_owned(p->index)) {
		rc = kid_of(k, p->index, &kid);
		if (rc < 0)
			return rc;
		rc = del_by_kid(k, kid, p->dir);
		if (rc == 0 || rc == -ENOENT) {
			map_del(x, p->index);
			kpol_serials_mark(&x->serials,
					  kpol_index_serial(p->index), false);
		}
		return rc;
	}
	if (p->index)
		return del_by_kid(k, p->index, p->dir);
	r = req(k);
	wr_init(&w, PFK_REQ_MAX);
	rc = pfk_build_spddelete(&w, &r, p, k->last_error,
				 sizeof(k->last_error));
	if (rc == 0)
		rc = transact(k, "delete policy", &w, NULL, NULL);
	wr_free(&w);
	return rc;
}

static int pfkey_pol_dump(struct kernel *k, kpol_cb cb, void *arg)
{
	struct pol_list l;
	int rc = dump_all(k, &l);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = cb(&l.v[i].p, arg);
	free(l.v);
	return rc;
}

/* Returns the number of policies removed. */
static int pfkey_flush_own(struct kernel *k)
{
	struct pfk_priv *x = P(k);
	struct pol_list l;
	int rc = dump_all(k, &l), removed = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		const struct pol_entry *e = &l.v[i];
		int drc;

		if (!e->p.owned)
			continue;
		drc = del_by_kid(k, e->kid, e->p.dir);
		if (drc == 0 || drc == -ENOENT) {
			removed += drc == 0;
			map_del(x, e->p.index);
			kpol_serials_mark(&x->serials,
					  kpol_index_serial(e->p.index), false);
		} else if (!rc) {
			rc = drc; /* keep going: remove what we can */
		}
	}
	free(l.v);
	return rc < 0 ? rc : removed;
}

/* ---- events ------------------------------------------------------------- */

static int pfkey_event_fd(struct kernel *k)
{
	return P(k)->evt;
}

/* ACQUIRE names the kernel's policy id only: read that policy for its
 * selector and racoon2 index (best effort: the event goes out anyway). */
static void acquire_resolve(struct kernel *k, struct kevent *ev, uint32_t kid)
{
	struct kpolicy p;
	struct one_pol o = {&p, 0, false};
	struct pfk_req r;
	struct wr w;

	if (!kid)
		return;
	r = req(k);
	wr_init(&w, PFK_REQ_MAX);
	if (pfk_build_spdid(&w, &r, PFK_X_SPDGET, kid, ev->u.acquire.dir) ==
		0 &&
	    transact(k, "look up policy", &w, on_one_policy, &o) == 0 &&
	    o.got) {
		ev->u.acquire.sel = p.sel;
		ev->u.acquire.pol_index = p.index;
		ev->u.acquire.dir = p.dir;
	}
	wr_free(&w);
	k->last_error[0] = '\0';
}

static const char *event_name(uint8_t type)
{
	switch (type) {
	case PFK_ACQUIRE:
		return "ACQUIRE";
	case PFK_EXPIRE:
		return "EXPIRE";
	case PFK_X_SPDEXPIRE:
		return "SPDEXPIRE";
	case PFK_X_MIGRATE:
		return "MIGRATE";
	case PFK_X_NAT_T_NEW_MAPPING:
		return "NAT_T_NEW_MAPPING";
	default:
		return "PF_KEY";
	}
}

/* Reads every pending message; returns the number of events passed to
 * cb.  Malformed ones are dropped with a rate-limited warning. */
static int pfkey_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	struct pfk_priv *x = P(k);
	bool overflow = false;
	int count = 0;

	if (x->evt < 0) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "backend opened without K_OPEN_EVENTS");
		return -EBADF;
	}
	for (;;) {
		ssize_t n = pfk_recv(x->evt, x->rbuf, PFK_RBUF, false);
		struct pfk_msg m;
		struct kevent ev;
		uint32_t kid;
		int rc;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		if (n == -ENOBUFS) {
			log_rl_warn("pfkey", "event queue overflowed: kernel "
					     "events were lost; asking the "
					     "daemon to resynchronise");
			count += kevent_overflow(&overflow, cb, arg);
			continue;
		}
		if (n < 0) {
			set_err(k, "read events", (int)n);
			return (int)n;
		}
		if (pfk_parse(x->rbuf, (size_t)n, &m) < 0) {
			log_rl_warn("pfkey", "malformed PF_KEY message "
					     "dropped");
			continue;
		}
		rc = pfk_parse_event(x->fl, &m, &ev, &kid);
		if (rc == -ENOENT)
			continue; /* echoes of requests, our own included */
		if (rc < 0) {
			log_rl_warn("pfkey", "malformed %s dropped (%s)",
				    event_name(m.type), strerror(-rc));
			continue;
		}
		if (ev.type == KEV_ACQUIRE)
			acquire_resolve(k, &ev, kid);
		count++;
		cb(&ev, arg);
	}
	return count;
}

/* SADB_X_MIGRATE (Linux af_key with CONFIG_XFRM_MIGRATE, KAME MIPv6):
 * the kernel moves the policy and the SAs and announces it. */
static int pfkey_migrate(struct kernel *k, const struct kmigrate_req *mr)
{
	struct pfk_req r = req(k);
	struct wr w;
	int rc;

	wr_init(&w, PFK_REQ_MAX);
	rc =
	    pfk_build_migrate(&w, &r, mr, k->last_error, sizeof(k->last_error));
	if (rc == 0)
		rc = transact(k, "migrate", &w, NULL, NULL);
	wr_free(&w);
	return rc;
}

const struct kernel_ops kernel_pfkey_ops = {
    .name = "pfkey",
    .features = KF_FWD_POLICY | KF_UDP_DECAP_KERNEL,
    .open = pfkey_open,
    .close = pfkey_close,
    .getspi = pfkey_getspi,
    .sa_add = pfkey_sa_add,
    .sa_del = pfkey_sa_del,
    .sa_query = pfkey_sa_query,
    .sa_get = pfkey_sa_get,
    .pol_add = pfkey_pol_add,
    .pol_update = pfkey_pol_update,
    .pol_del = pfkey_pol_del,
    .pol_dump = pfkey_pol_dump,
    .flush_own = pfkey_flush_own,
    .event_fd = pfkey_event_fd,
    .event_read = pfkey_event_read,
    .migrate = pfkey_migrate,
};
