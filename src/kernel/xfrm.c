/*
 * xfrm.c - the Linux XFRM netlink backend ("xfrm").
 *
 * Two NETLINK_XFRM sockets (libmnl): a command socket for synchronous
 * request/reply (every write carries NLM_F_ACK, extended ACKs are on so
 * the kernel's reason reaches last_error), and, with K_OPEN_EVENTS, an
 * event socket joined to XFRMNLGRP_ACQUIRE, _EXPIRE (SA and policy
 * expiry), _MIGRATE and _MAPPING.  Messages are built and parsed in
 * xfrm_msg.c; replies are accepted only from the kernel (nl_pid 0) and
 * only with our sequence number and port id.
 *
 * Policy ownership: see KPOL_INDEX_* in kernel.h.  pol_add picks an index
 * in racoon2's range from a serial allocator that is seeded, on first
 * use, from a dump of the SPD (so indexes left by a crashed spmd are not
 * reused: the kernel would silently give a colliding policy a generated
 * index).  pol_dump reports owned = true for that range, flush_own
 * deletes exactly those policies by index.  Linux checks
 * index & 7 == dir and keeps an existing policy's index on UPDPOLICY.
 *
 * Tunnel mode on Linux: forwarded traffic that arrives through a tunnel
 * needs a policy in the FWD direction as well as IN; this backend
 * installs exactly what it is given, so adding the FWD policy is the
 * caller's (spmd's) decision.
 *
 * Memory: struct xfrm_priv (k->priv) owns both sockets and the receive
 * buffer; request buffers live on the stack and are wiped when they
 * carried keys.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "kernel/xfrm_msg.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#define XFRM_RBUF	(64 * 1024)
#define XFRM_EVT_RCVBUF (4 * 1024 * 1024)

struct xfrm_priv {
	struct mnl_socket *cmd;
	struct mnl_socket *evt; /* NULL without K_OPEN_EVENTS */
	uint32_t portid;
	uint32_t seq;
	uint8_t *rbuf; /* XFRM_RBUF bytes */
	struct kpol_serials serials;
	bool serials_seeded;
};

static struct xfrm_priv *P(struct kernel *k)
{
	return k->priv;
}

/* ---- transport --------------------------------------------------------- */

/* Receives one datagram from the kernel; -EAGAIN if nonblocking and
 * nothing is there. */
static ssize_t nl_recv(struct mnl_socket *nl, uint8_t *buf, size_t len,
		       int flags)
{
	struct sockaddr_nl sa;
	struct iovec iov = {buf, len};
	struct msghdr mh = {
	    .msg_name = &sa,
	    .msg_namelen = sizeof(sa),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	ssize_t n;

	for (;;) {
		n = recvmsg(mnl_socket_get_fd(nl), &mh, flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		/* only the kernel may talk to us */
		if (mh.msg_namelen != sizeof(sa) ||
		    sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
			continue;
		return n;
	}
}

typedef int (*reply_cb)(struct kernel *k, const struct xnl_msg *m, void *arg);

static void set_kernel_error(struct kernel *k, const char *what, int err,
			     const char *ext)
{
	if (ext && ext[0])
		kerr_set(k->last_error, sizeof(k->last_error), "%s: %s (%s)",
			 what, strerror(-err), ext);
	else
		kerr_set(k->last_error, sizeof(k->last_error), "%s: %s", what,
			 strerror(-err));
}

/*
 * Sends one request and consumes its answers: reply messages of
 * reply_type go to cb; an NLMSG_ERROR ends the exchange with its code;
 * NLMSG_DONE ends a dump.  A request without NLM_F_ACK that is not a
 * dump ends with its first reply.
 */
static int transact(struct kernel *k, const char *what, void *req, size_t len,
		    uint16_t reply_type, reply_cb cb, void *arg)
{
	struct xfrm_priv *x = P(k);
	struct nlmsghdr *nlh = req;
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	bool ack = (nlh->nlmsg_flags & NLM_F_ACK) != 0;
	bool intr = false;
	int rc = 0;

	nlh->nlmsg_seq = ++x->seq;
	nlh->nlmsg_pid = 0;
	if (mnl_socket_sendto(x->cmd, req, len) < 0) {
		rc = -errno;
		set_kernel_error(k, what, rc, "sending to the kernel");
		return rc;
	}
	for (;;) {
		ssize_t n = nl_recv(x->cmd, x->rbuf, XFRM_RBUF, 0);
		struct rd stream;
		struct xnl_msg m;
		int more;

		if (n < 0) {
			set_kernel_error(k, what, (int)n, "receiving reply");
			return (int)n;
		}
		stream = rd_init(x->rbuf, (size_t)n);
		while ((more = xnl_next(&stream, &m)) > 0) {
			if (m.seq != x->seq || m.pid != x->portid)
				continue; /* stale answer to an older request */
			if (m.flags & NLM_F_DUMP_INTR)
				intr = true;
			if (m.type == NLMSG_ERROR) {
				char ext[96];
				int err = 0;

				if (xnl_parse_error(&m, &err, ext,
						    sizeof(ext)) < 0) {
					kerr_set(k->last_error,
						 sizeof(k->last_error),
						 "%s: malformed kernel error",
						 what);
					return -EBADMSG;
				}
				if (err < 0)
					set_kernel_error(k, what, err, ext);
				return err < 0 ? err : rc;
			}
			if (m.type == NLMSG_DONE) {
				struct rd r = m.payload;
				uint32_t e;

				if (rd_h32(&r, &e) == 0 && (int32_t)e < 0) {
					set_kernel_error(k, what, (int32_t)e,
							 NULL);
					return (int32_t)e;
				}
				/* the SPD changed while we dumped it */
				return intr && !rc ? -EAGAIN : rc;
			}
			if (m.type != reply_type)
				continue;
			if (cb) {
				int crc = cb(k, &m, arg);
				if (crc < 0 && !rc)
					rc = crc;
			}
			if (!dump && !ack)
				return rc;
		}
		if (more < 0) {
			log_rl_warn("xfrm",
				    "%s: malformed netlink reply "
				    "dropped",
				    what);
			kerr_set(k->last_error, sizeof(k->last_error),
				 "%s: malformed netlink reply", what);
			return -EBADMSG;
		}
	}
}

/* ---- open/close -------------------------------------------------------- */

static struct mnl_socket *nl_open(struct kernel *k)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);
	int one = 1, e;

	if (!nl) {
		e = errno;
		kerr_set(k->last_error, sizeof(k->last_error),
			 "XFRM netlink not available on this kernel: %s",
			 strerror(e));
		errno = e;
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		kerr_set(k->last_error, sizeof(k->last_error),
			 "bind XFRM netlink socket: %s", strerror(e));
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	/* Best effort: older kernels lack them and still work. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

static void xfrm_close(struct kernel *k)
{
	struct xfrm_priv *x = P(k);

	if (!x)
		return;
	if (x->cmd)
		mnl_socket_close(x->cmd);
	if (x->evt)
		mnl_socket_close(x->evt);
	kpol_serials_free(&x->serials);
	if (x->rbuf) {
		mem_wipe(x->rbuf, XFRM_RBUF); /* GETSA replies: keys */
		free(x->rbuf);
	}
	free(x);
	k->priv = NULL;
}

static int xfrm_open(struct kernel *k, unsigned flags)
{
	static const unsigned groups[] = {
	    XFRMNLGRP_ACQUIRE,
	    XFRMNLGRP_EXPIRE,
	    XFRMNLGRP_MIGRATE,
	    XFRMNLGRP_MAPPING,
	};
	struct xfrm_priv *x = calloc(1, sizeof(*x));
	int rc = -ENOMEM;

	if (!x)
		return -ENOMEM;
	k->priv = x;
	x->rbuf = malloc(XFRM_RBUF);
	if (!x->rbuf || kpol_serials_init(&x->serials) < 0)
		goto undo_alloc;
	x->cmd = nl_open(k);
	if (!x->cmd) {
		rc = errno ? -errno : -EIO;
		goto undo_alloc;
	}
	x->portid = mnl_socket_get_portid(x->cmd);
	x->seq = (uint32_t)time(NULL);
	if (flags & K_OPEN_EVENTS) {
		int sz = XFRM_EVT_RCVBUF;

		x->evt = nl_open(k);
		if (!x->evt) {
			rc = -EIO;
			goto undo_alloc;
		}
		/* Bursts of ACQUIREs must not overflow the queue. */
		if (setsockopt(mnl_socket_get_fd(x->evt), SOL_SOCKET,
			       SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(mnl_socket_get_fd(x->evt), SOL_SOCKET,
				   SO_RCVBUF, &sz, sizeof(sz));
		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]);
		     i++) {
			unsigned g = groups[i];

			if (mnl_socket_setsockopt(x->evt,
						  NETLINK_ADD_MEMBERSHIP, &g,
						  sizeof(g)) < 0) {
				rc = -errno;
				kerr_set(k->last_error, sizeof(k->last_error),
					 "join XFRM multicast group %u: %s", g,
					 strerror(errno));
				goto undo_alloc;
			}
		}
	}
	return 0;
undo_alloc:
	xfrm_close(k);
	return rc;
}

/* ---- SAs --------------------------------------------------------------- */

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_ESP    ? "ESP"
	       : proto == IPPROTO_AH   ? "AH"
	       : proto == IPPROTO_COMP ? "IPComp"
				       : "IPsec";
}

struct sa_reply {
	struct ksa *sa;
	struct kcounters *c;
	bool got;
};

static int on_sa(struct kernel *k, const struct xnl_msg *m, void *arg)
{
	struct sa_reply *r = arg;
	int rc = xnl_parse_sa(m, r->sa, r->c);

	if (rc < 0) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "malformed SA in kernel reply: %s", strerror(-rc));
		return rc;
	}
	r->got = true;
	return 0;
}

static int xfrm_getspi(struct kernel *k, uint8_t proto, const struct kaddr *src,
		       const struct kaddr *dst, uint32_t reqid, uint32_t *spi)
{
	uint8_t buf[XNL_REQ_MAX];
	struct ksa sa;
	struct sa_reply r = {&sa, NULL, false};
	int len, rc;

	len = xnl_build_allocspi(buf, sizeof(buf), 0, proto, src, dst, reqid,
				 K_SPI_MIN, k_spi_max(proto));
	if (len < 0) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "getspi: bad addresses");
		return len;
	}
	rc = transact(k, "getspi", buf, (size_t)len, XFRM_MSG_NEWSA, on_sa, &r);
	if (rc == 0 && !r.got)
		rc = -EBADMSG;
	if (rc == 0)
		*spi = sa.spi;
	ksa_wipe(&sa);
	return rc;
}

static int xfrm_sa_add(struct kernel *k, const struct ksa *sa)
{
	uint8_t buf[XNL_REQ_MAX];
	int len, rc;

	len = xnl_build_sa(buf, sizeof(buf), 0, sa, k->last_error,
			   sizeof(k->last_error));
	if (len < 0)
		return len;
	rc = transact(k, sa->update ? "update SA" : "add SA", buf, (size_t)len,
		      0, NULL, NULL);
	mem_wipe(buf, sizeof(buf));
	if (rc == -EPROTONOSUPPORT || rc == -ENOSYS) {
		/* The kernel parsed and validated the whole message and then
		 * missed a type or algorithm: say which, in plain words. */
		char ext[sizeof(k->last_error)];
		const char *why;

		memcpy(ext, k->last_error, sizeof(ext));
		why = strstr(ext, "Requested");
		if (rc == -EPROTONOSUPPORT && strstr(ext, "type not found"))
			kerr_set(k->last_error, sizeof(k->last_error),
				 "kernel has no %s support (Requested type "
				 "not found)",
				 proto_name(sa->proto));
		else if (rc == -ENOSYS && why)
			kerr_set(k->last_error, sizeof(k->last_error),
				 "kernel lacks the crypto algorithm of "
				 "transform %u (%.*s)",
				 sa->encr_id, (int)strcspn(why, ")"), why);
	}
	return rc;
}

static int xfrm_sa_del(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi)
{
	uint8_t buf[XNL_REQ_MAX];
	int len;

	len = xnl_build_sa_id(buf, sizeof(buf), 0, XFRM_MSG_DELSA, proto, dst,
			      spi);
	if (len < 0)
		return len;
	return transact(k, "delete SA", buf, (size_t)len, 0, NULL, NULL);
}

static int xfrm_sa_get(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi, struct ksa *sa, struct kcounters *c)
{
	uint8_t buf[XNL_REQ_MAX];
	struct sa_reply r = {sa, c, false};
	int len, rc;

	len = xnl_build_sa_id(buf, sizeof(buf), 0, XFRM_MSG_GETSA, proto, dst,
			      spi);
	if (len < 0)
		return len;
	rc = transact(k, "query SA", buf, (size_t)len, XFRM_MSG_NEWSA, on_sa,
		      &r);
	if (rc == 0 && !r.got)
		rc = -EBADMSG;
	return rc;
}

static int xfrm_sa_query(struct kernel *k, uint8_t proto,
			 const struct kaddr *dst, uint32_t spi,
			 struct kcounters *out)
{
	return xfrm_sa_get(k, proto, dst, spi, NULL, out);
}

/* ---- policies ---------------------------------------------------------- */

struct pol_list {
	struct kpolicy *v;
	size_t n, cap;
	unsigned skipped;
};

static int on_policy(struct kernel *k, const struct xnl_msg *m, void *arg)
{
	struct pol_list *l = arg;
	struct kpolicy p;
	int rc = xnl_parse_policy(m, &p);

	if (rc == -ENOENT)
		return 0; /* sub-policy or socket policy: not ours to show */
	if (rc < 0) {
		/* one bad entry must not hide the others */
		l->skipped++;
		log_rl_warn("xfrm", "policy dump: entry skipped (%s)",
			    strerror(-rc));
		return 0;
	}
	if (p.owned)
		kpol_serials_mark(&P(k)->serials, kpol_index_serial(p.index),
				  true);
	if (kvec_grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = p;
	return 0;
}

/* Whole SPD into memory first, so that callbacks may modify the SPD. */
static int dump_all(struct kernel *k, struct pol_list *l)
{
	uint8_t buf[XNL_REQ_MAX];
	int len, rc;

	for (int tries = 0;; tries++) {
		memset(l, 0, sizeof(*l));
		len = xnl_build_poldump(buf, sizeof(buf), 0);
		if (len < 0)
			return len;
		rc = transact(k, "dump policies", buf, (size_t)len,
			      XFRM_MSG_NEWPOLICY, on_policy, l);
		if (rc == 0)
			break;
		free(l->v);
		memset(l, 0, sizeof(*l));
		/* an interrupted dump may miss entries: take it again */
		if (rc != -EAGAIN || tries == 3)
			return rc;
	}
	P(k)->serials_seeded = true;
	return 0;
}

static int seed_serials(struct kernel *k)
{
	struct pol_list l;
	int rc;

	if (P(k)->serials_seeded)
		return 0;
	rc = dump_all(k, &l);
	free(l.v);
	return rc;
}

static int pol_write(struct kernel *k, struct kpolicy *p, uint16_t type)
{
	struct xfrm_priv *x = P(k);
	uint8_t buf[XNL_REQ_MAX];
	uint32_t serial = 0, want = p->index;
	int len, rc;

	if (!want) {
		rc = seed_serials(k);
		if (rc < 0)
			return rc;
	}
	rc = kpol_index_take(k, &x->serials, p, &serial);
	if (rc < 0)
		return rc;
	len = xnl_build_policy(buf, sizeof(buf), 0, type, p, k->last_error,
			       sizeof(k->last_error));
	if (len < 0) {
		rc = len;
		goto undo_index;
	}
	rc = transact(
	    k, type == XFRM_MSG_NEWPOLICY ? "add policy" : "update policy", buf,
	    (size_t)len, 0, NULL, NULL);
	if (rc < 0)
		goto undo_index;
	if (want && kpol_index_owned(want))
		kpol_serials_mark(&x->serials, kpol_index_serial(want), true);
	return 0;
undo_index:
	kpol_index_undo(&x->serials, p, serial, want);
	return rc;
}

static int xfrm_pol_add(struct kernel *k, struct kpolicy *p)
{
	return pol_write(k, p, XFRM_MSG_NEWPOLICY);
}

/*
 * Many NEWPOLICYs (spmd's start and full reloads) or DELPOLICYs (its
 * exit and reloads) per sendmsg: only the last request of a batch asks
 * for an ACK; the kernel handles the requests of one sendmsg in order
 * before it returns and reports an error for each one it refuses
 * (netlink_rcv_skb), so reading up to the last one's ACK collects every
 * result.  rc[i] is 0 or the kernel's errno (its extended message is
 * not kept: the caller retries a refused policy alone for it).  Saves
 * one send, one ACK and one receive per policy.
 */
#define XFRM_BATCH (32 * 1024)

static int pol_many(struct kernel *k, uint16_t type, struct kpolicy *const *v,
		    size_t n, int *rc)
{
	struct xfrm_priv *x = P(k);
	const char *what =
	    type == XFRM_MSG_NEWPOLICY ? "add policies" : "delete policies";
	bool add = type == XFRM_MSG_NEWPOLICY;
	uint8_t *buf = NULL, *one = NULL;
	uint32_t *serial = NULL, *want = NULL, *seq = NULL;
	size_t i = 0;
	int err = 0;

	if (n == 0)
		return 0;
	for (size_t j = 0; add && j < n; j++)
		if (!v[j]->index) {
			err = seed_serials(k);
			break;
		}
	buf = malloc(XFRM_BATCH);
	one = malloc(XNL_REQ_MAX);
	serial = calloc(n, sizeof(*serial));
	want = calloc(n, sizeof(*want));
	seq = calloc(n, sizeof(*seq));
	if (!err && (!buf || !one || !serial || !want || !seq))
		err = -ENOMEM;
	if (err < 0) {
		for (size_t j = 0; j < n; j++)
			rc[j] = err;
		goto free_bufs;
	}
	while (i < n) {
		size_t first = i, off = 0, nsent = 0, done;
		struct nlmsghdr *last = NULL;
		bool acked = false;

		for (; i < n && XFRM_BATCH - off >= XNL_REQ_MAX; i++) {
			int len;

			rc[i] = 0;
			seq[i] = 0;
			want[i] = v[i]->index;
			if (add) {
				rc[i] = kpol_index_take(k, &x->serials, v[i],
							&serial[i]);
				if (rc[i] < 0)
					continue;
			}
			/* built in malloc-aligned memory, then copied: a
			 * message in the batch starts 4-aligned only
			 * (NLMSG_ALIGN), and xfrm_userpolicy_info holds
			 * 64-bit fields */
			if (add)
				len = xnl_build_policy(
				    one, XNL_REQ_MAX, 0, XFRM_MSG_NEWPOLICY,
				    v[i], k->last_error, sizeof(k->last_error));
			else
				len =
				    xnl_build_poldel(one, XNL_REQ_MAX, 0, v[i]);
			if (len < 0) {
				rc[i] = len;
				if (add)
					kpol_index_undo(&x->serials, v[i],
							serial[i], want[i]);
				continue;
			}
			memcpy(buf + off, one, (size_t)len);
			memset(buf + off + len, 0,
			       NLMSG_ALIGN((size_t)len) - (size_t)len);
			last = (struct nlmsghdr *)(buf + off);
			last->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
			last->nlmsg_seq = seq[i] = ++x->seq;
			last->nlmsg_pid = 0;
			off += NLMSG_ALIGN((size_t)len);
			nsent++;
		}
		done = i;
		if (!nsent)
			continue;
		last->nlmsg_flags |= NLM_F_ACK;
		if (mnl_socket_sendto(x->cmd, buf, off) < 0) {
			err = -errno;
			set_kernel_error(k, what, err, "sending to the kernel");
			for (size_t j = first; j < done; j++)
				if (seq[j])
					rc[j] = err;
			goto settle;
		}
		while (!acked) {
			ssize_t got = nl_recv(x->cmd, x->rbuf, XFRM_RBUF, 0);
			struct rd stream;
			struct xnl_msg m;
			int more;

			if (got < 0) {
				err = (int)got;
				set_kernel_error(k, what, err,
						 "receiving replies");
				break;
			}
			stream = rd_init(x->rbuf, (size_t)got);
			while ((more = xnl_next(&stream, &m)) > 0) {
				char ext[96];
				int e = 0;

				if (m.type != NLMSG_ERROR ||
				    m.pid != x->portid || m.seq > x->seq)
					continue;
				if (xnl_parse_error(&m, &e, ext, sizeof(ext)) <
				    0)
					continue;
				if (m.seq == last->nlmsg_seq)
					acked = true;
				if (e >= 0)
					continue;
				/* the request with that sequence number */
				for (size_t j = first; j < done; j++)
					if (seq[j] && seq[j] == m.seq) {
						rc[j] = e;
						break;
					}
			}
			if (more < 0) {
				err = -EBADMSG;
				kerr_set(k->last_error, sizeof(k->last_error),
					 "%s: malformed netlink reply", what);
				break;
			}
		}
		if (err < 0) /* results unknown: report all as failed */
			for (size_t j = first; j < done; j++)
				if (seq[j] && rc[j] == 0)
					rc[j] = err;
	settle:
		for (size_t j = first; j < done; j++) {
			if (!seq[j])
				continue;
			if (!add) {
				if (rc[j] == 0 && kpol_index_owned(want[j]))
					kpol_serials_mark(
					    &x->serials,
					    kpol_index_serial(want[j]), false);
			} else if (rc[j] < 0) {
				kpol_index_undo(&x->serials, v[j], serial[j],
						want[j]);
			} else if (want[j] && kpol_index_owned(want[j])) {
				kpol_serials_mark(&x->serials,
						  kpol_index_serial(want[j]),
						  true);
			}
		}
		if (err < 0) {
			for (size_t j = done; j < n; j++)
				rc[j] = err;
			break;
		}
	}
free_bufs:
	free(buf);
	free(one);
	free(serial);
	free(want);
	free(seq);
	return err;
}

static int xfrm_pol_add_many(struct kernel *k, struct kpolicy *const *v,
			     size_t n, int *rc)
{
	return pol_many(k, XFRM_MSG_NEWPOLICY, v, n, rc);
}

static int xfrm_pol_del_many(struct kernel *k, struct kpolicy *const *v,
			     size_t n, int *rc)
{
	return pol_many(k, XFRM_MSG_DELPOLICY, v, n, rc);
}

/*
 * UPDPOLICY replacing an existing policy keeps that policy's index (the
 * kernel's rule), so the index is read back afterwards: p->index always
 * tells the truth, and updating a foreign policy leaves it foreign.
 */
static int on_one_policy(struct kernel *k, const struct xnl_msg *m, void *arg)
{
	(void)k;
	return xnl_parse_policy(m, arg);
}

static int xfrm_pol_update(struct kernel *k, struct kpolicy *p)
{
	uint8_t buf[XNL_REQ_MAX];
	struct kpolicy q = *p;
	uint32_t asked;
	int len, rc = pol_write(k, p, XFRM_MSG_UPDPOLICY);

	if (rc < 0)
		return rc;
	asked = p->index;
	q.index = 0; /* look up by selector: the index may differ */
	len = xnl_build_polget(buf, sizeof(buf), 0, &q);
	memset(&q, 0, sizeof(q));
	if (len < 0 ||
	    transact(k, "read back policy", buf, (size_t)len,
		     XFRM_MSG_NEWPOLICY, on_one_policy, &q) < 0 ||
	    !q.index) {
		k->last_error[0] = '\0';
		return 0; /* the update itself succeeded */
	}
	p->index = q.index;
	if (p->index != asked && kpol_index_owned(asked))
		kpol_serials_mark(&P(k)->serials, kpol_index_serial(asked),
				  false);
	return 0;
}

static int xfrm_pol_del(struct kernel *k, const struct kpolicy *p)
{
	uint8_t buf[XNL_REQ_MAX];
	int len, rc;

	len = xnl_build_poldel(buf, sizeof(buf), 0, p);
	if (len < 0)
		return len;
	rc = transact(k, "delete policy", buf, (size_t)len, 0, NULL, NULL);
	if (rc == 0 && kpol_index_owned(p->index))
		kpol_serials_mark(&P(k)->serials, kpol_index_serial(p->index),
				  false);
	return rc;
}

static int xfrm_pol_dump(struct kernel *k, kpol_cb cb, void *arg)
{
	struct pol_list l;
	int rc = dump_all(k, &l);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = cb(&l.v[i], arg);
	free(l.v);
	return rc;
}

/* Returns the number of policies removed. */
static int xfrm_flush_own(struct kernel *k)
{
	struct pol_list l;
	int rc = dump_all(k, &l), removed = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		int drc;

		if (!l.v[i].owned)
			continue;
		drc = xfrm_pol_del(k, &l.v[i]);
		if (drc == 0)
			removed++;
		else if (drc != -ENOENT && !rc)
			rc = drc; /* keep going: remove what we can */
	}
	free(l.v);
	return rc < 0 ? rc : removed;
}

/* ---- events ------------------------------------------------------------ */

static int xfrm_event_fd(struct kernel *k)
{
	struct xfrm_priv *x = P(k);
	return x->evt ? mnl_socket_get_fd(x->evt) : -1;
}

static const char *event_name(uint16_t type)
{
	switch (type) {
	case XFRM_MSG_ACQUIRE:
		return "ACQUIRE";
	case XFRM_MSG_EXPIRE:
		return "EXPIRE";
	case XFRM_MSG_POLEXPIRE:
		return "POLEXPIRE";
	case XFRM_MSG_MIGRATE:
		return "MIGRATE";
	case XFRM_MSG_MAPPING:
		return "MAPPING";
	default:
		return "netlink";
	}
}

/* Reads every pending datagram; returns the number of events passed to
 * cb.  Malformed messages are dropped with a rate-limited warning.  An
 * overflow of the socket's queue (ENOBUFS) lost events nobody can ask
 * for again: it becomes one KEV_RESYNC (reason "event overflow"). */
static int xfrm_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	struct xfrm_priv *x = P(k);
	bool overflow = false;
	int count = 0;

	if (!x->evt) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "backend opened without K_OPEN_EVENTS");
		return -EBADF;
	}
	for (;;) {
		ssize_t n = nl_recv(x->evt, x->rbuf, XFRM_RBUF, MSG_DONTWAIT);
		struct rd stream;
		struct xnl_msg m;
		int more;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		if (n == -ENOBUFS) {
			log_rl_warn("xfrm", "event queue overflowed: kernel "
					    "events were lost; asking the "
					    "daemon to resynchronise");
			count += kevent_overflow(&overflow, cb, arg);
			continue;
		}
		if (n < 0) {
			set_kernel_error(k, "read events", (int)n, NULL);
			return (int)n;
		}
		stream = rd_init(x->rbuf, (size_t)n);
		while ((more = xnl_next(&stream, &m)) > 0) {
			struct kevent ev;
			int rc = xnl_parse_event(&m, &ev);

			if (rc == -ENOENT)
				continue;
			if (rc < 0) {
				log_rl_warn("xfrm",
					    "malformed %s message "
					    "dropped (%s)",
					    event_name(m.type), strerror(-rc));
				continue;
			}
			count++;
			cb(&ev, arg);
		}
		if (more < 0)
			log_rl_warn("xfrm", "malformed netlink datagram "
					    "dropped");
	}
	return count;
}

/* XFRM_MSG_MIGRATE: the kernel moves the policy's templates and the
 * first SA of each pair (CONFIG_XFRM_MIGRATE; without it the kernel
 * answers ENOPROTOOPT), then announces it on XFRMNLGRP_MIGRATE. */
static int xfrm_migrate(struct kernel *k, const struct kmigrate_req *r)
{
	uint8_t buf[XNL_REQ_MAX];
	int len;

	len = xnl_build_migrate(buf, sizeof(buf), 0, r, k->last_error,
				sizeof(k->last_error));
	if (len < 0)
		return len;
	return transact(k, "migrate", buf, (size_t)len, 0, NULL, NULL);
}

const struct kernel_ops kernel_xfrm_ops = {
    .name = "xfrm",
    .features = KF_FWD_POLICY | KF_UDP_DECAP_KERNEL,
    .open = xfrm_open,
    .close = xfrm_close,
    .getspi = xfrm_getspi,
    .sa_add = xfrm_sa_add,
    .sa_del = xfrm_sa_del,
    .sa_query = xfrm_sa_query,
    .sa_get = xfrm_sa_get,
    .pol_add = xfrm_pol_add,
    .pol_add_many = xfrm_pol_add_many,
    .pol_del_many = xfrm_pol_del_many,
    .pol_update = xfrm_pol_update,
    .pol_del = xfrm_pol_del,
    .pol_dump = xfrm_pol_dump,
    .flush_own = xfrm_flush_own,
    .event_fd = xfrm_event_fd,
    .event_read = xfrm_event_read,
    .migrate = xfrm_migrate,
};
