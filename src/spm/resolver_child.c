/*
 * resolver_child.c - spmd's DNS proxy, run in a sandboxed child process
 * (resolver.c forks it): the only part of spmd that reads DNS from the
 * network.
 *
 * It receives from spmd (over the socketpair `ctl`) the live nameserver
 * list and names to resolve; it listens on the dns_query sockets spmd
 * bound for it, forwards each query to the first nameserver of the list
 * and fails over to the next one on timeout; answers go back to the
 * client with the client's ID.  It tells spmd, as one fixed-layout
 * message each (resolver_msg.h), the addresses of every A/AAAA answer
 * it relays and the results of spmd's own queries.
 *
 * Network input:
 *  - parsed only by dns_parse() (dns.c, rd cursor); a query must be a
 *    standard query with one question, an answer must parse in full
 *    (header, question, answer section) or it is dropped;
 *  - each forwarded query gets a fresh random ID unique among pending
 *    ones; the pending table is bounded and every entry expires;
 *  - an answer is accepted only from the address and port the query
 *    went to, with the expected ID and the same question (RFC 5452
 *    section 9.1); anything else is dropped with a rate-limited log.
 *
 * Sandbox: user _racoon2, chroot to the empty run directory, no
 * capability, seccomp (lib/sandbox.h) allowing only datagram I/O on the
 * sockets it already holds.
 */
#include "spm/resolver.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "spm/dns.h"
#include "spm/resolver_msg.h"

#define MOD "resolver"

#define RC_PENDING    256
#define RC_TIMEOUT_MS 2000
#define RC_TRIES_MAX  4

struct rchild;

struct rc_q {
	bool used;
	bool own;	/* spmd's own query (token), not a client's */
	uint32_t token; /* own */
	uint16_t client_id, out_id;
	int lfd; /* listening socket the client's query came in on */
	struct sockaddr_storage client;
	socklen_t client_len;
	struct sockaddr_storage ns; /* where it was sent */
	socklen_t ns_len;
	unsigned tries;
	uint8_t qname[DNS_WIRE_MAX];
	size_t qname_len;
	uint16_t qtype, qclass;
	uint8_t *msg; /* the query, for failover */
	size_t msg_len;
	struct ev_timer timer;
	struct rchild *rc;
};

struct rchild {
	struct ev_loop *loop;
	int ctl;
	const int *lfd;
	size_t nlfd;
	int up4, up6;
	struct res_ns ns[RES_NS_MAX];
	size_t nns;
	struct rc_q q[RC_PENDING];
	uint64_t forwarded, answered, dropped, timeouts;
};

/* What the child may do besides sandbox_syscalls_base: datagrams on the
 * sockets it holds, messages on the socketpair. */
static const int child_allow[] = {
    SYS_recvfrom, SYS_recvmsg, SYS_sendmsg,
#ifdef SYS_recv
    SYS_recv,
#endif
#ifdef SYS_send
    SYS_send,
#endif
};

static socklen_t ns_sa(const struct res_ns *n, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (n->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(n->port);
		memcpy(&s->sin_addr, n->a, 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(n->port);
	memcpy(&s6->sin6_addr, n->a, 16);
	return sizeof(*s6);
}

static bool sa_eq(const struct sockaddr_storage *a,
		  const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static void send_result(struct rchild *rc, uint32_t token, uint16_t qtype,
			const uint8_t *name, size_t name_len, uint8_t status,
			const struct dns_msg *m)
{
	struct res_result x;
	struct wr w;
	size_t k = 0;

	memset(&x, 0, sizeof(x));
	x.token = token;
	x.qtype = qtype;
	x.status = status;
	memcpy(x.name, name, name_len);
	x.name_len = name_len;
	if (m && status == RES_ST_OK) {
		uint8_t want = qtype == DNS_TYPE_A ? AF_INET : AF_INET6;

		x.ttl = m->ttl;
		for (size_t i = 0; i < m->naddr; i++)
			if (m->addr[i].af == want)
				x.addr[k++] = m->addr[i];
	}
	x.naddr = k;
	wr_init(&w, RES_MSG_CAP);
	if (res_enc_result(&w, &x) == 0 &&
	    send(rc->ctl, w.buf, w.len, MSG_DONTWAIT) < 0)
		log_rl_warn(MOD, "telling spmd a result: %s", strerror(errno));
	wr_free(&w);
}

static void q_free(struct rchild *rc, struct rc_q *q)
{
	if (ev_timer_active(&q->timer))
		ev_timer_stop(rc->loop, &q->timer);
	free(q->msg);
	q->msg = NULL;
	q->used = false;
}

static bool out_id_used(const struct rchild *rc, uint16_t id)
{
	for (size_t i = 0; i < RC_PENDING; i++)
		if (rc->q[i].used && rc->q[i].out_id == id)
			return true;
	return false;
}

static struct rc_q *q_alloc(struct rchild *rc)
{
	for (size_t i = 0; i < RC_PENDING; i++)
		if (!rc->q[i].used)
			return &rc->q[i];
	return NULL;
}

/* Send q to the nameserver number q->tries of the list (0 is the one in
 * use).  0, or -ENOENT when none is left. */
static int q_send(struct rchild *rc, struct rc_q *q)
{
	while (q->tries < rc->nns && q->tries < RC_TRIES_MAX) {
		const struct res_ns *ns = &rc->ns[q->tries++];
		int fd = ns->af == AF_INET ? rc->up4 : rc->up6;
		uint16_t id;

		if (fd < 0)
			continue;
		do {
			if (getrandom(&id, sizeof(id), 0) != sizeof(id))
				return -EIO;
		} while (out_id_used(rc, id));
		q->out_id = id;
		q->msg[0] = (uint8_t)(id >> 8);
		q->msg[1] = (uint8_t)id;
		q->ns_len = ns_sa(ns, &q->ns);
		if (sendto(fd, q->msg, q->msg_len, 0,
			   (const struct sockaddr *)&q->ns, q->ns_len) < 0) {
			log_rl_warn(MOD, "sending a query upstream: %s",
				    strerror(errno));
			continue;
		}
		rc->forwarded++;
		ev_timer_start(rc->loop, &q->timer, RC_TIMEOUT_MS);
		return 0;
	}
	return -ENOENT;
}

static void q_give_up(struct rchild *rc, struct rc_q *q)
{
	if (q->own)
		send_result(rc, q->token, q->qtype, q->qname, q->qname_len,
			    RES_ST_FAIL, NULL);
	q_free(rc, q);
}

static void q_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct rc_q *q = arg;
	struct rchild *rc = q->rc;

	(void)loop;
	(void)t;
	rc->timeouts++;
	if (q_send(rc, q) < 0) {
		log_rl_warn(MOD, "no nameserver answered a query (%u tried)",
			    q->tries);
		q_give_up(rc, q);
	}
}

static void q_start(struct rchild *rc, struct rc_q *q)
{
	q->used = true;
	q->rc = rc;
	q->tries = 0;
	ev_timer_init(&q->timer, q_timeout, q);
	if (q_send(rc, q) < 0) {
		log_rl_warn(MOD,
			    "query could not be forwarded (%zu "
			    "nameservers)",
			    rc->nns);
		q_give_up(rc, q);
	}
}

static void on_query(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct rchild *rc = arg;
	uint8_t buf[DNS_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_msg m;
	struct rc_q *q;
	ssize_t n;

	(void)loop;
	(void)events;
	n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (n < 0)
		return;
	/* RFC 1035 section 4.1.1: QR = 0, OPCODE 0 (standard query) */
	if ((size_t)n > sizeof(buf) ||
	    dns_parse(buf, (size_t)n, false, &m) < 0 || m.qr || m.opcode != 0) {
		rc->dropped++;
		log_rl_warn(MOD, "malformed DNS query (%zd bytes) dropped", n);
		return;
	}
	q = q_alloc(rc);
	if (!q) {
		rc->dropped++;
		log_rl_warn(MOD, "%d queries pending: query dropped",
			    RC_PENDING);
		return;
	}
	memset(q, 0, sizeof(*q));
	q->msg = malloc((size_t)n);
	if (!q->msg)
		return;
	memcpy(q->msg, buf, (size_t)n);
	q->msg_len = (size_t)n;
	q->lfd = fd;
	q->client = from;
	q->client_len = fl;
	q->client_id = m.id;
	memcpy(q->qname, m.qname, m.qname_len);
	q->qname_len = m.qname_len;
	q->qtype = m.qtype;
	q->qclass = m.qclass;
	q_start(rc, q);
}

static void on_answer(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct rchild *rc = arg;
	uint8_t buf[DNS_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_msg m;
	struct rc_q *q = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	memset(&from, 0, sizeof(from));
	n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) ||
	    dns_parse(buf, (size_t)n, true, &m) < 0 || !m.qr) {
		rc->dropped++;
		log_rl_warn(MOD, "malformed DNS answer (%zd bytes) dropped", n);
		return;
	}
	/* RFC 5452 section 9.1: source address and port, ID and question
	 * must all be those of a query we sent */
	for (size_t i = 0; i < RC_PENDING; i++) {
		struct rc_q *c = &rc->q[i];

		if (c->used && c->out_id == m.id && sa_eq(&c->ns, &from) &&
		    c->qname_len == m.qname_len &&
		    memcmp(c->qname, m.qname, m.qname_len) == 0 &&
		    c->qtype == m.qtype && c->qclass == m.qclass) {
			q = c;
			break;
		}
	}
	if (!q) {
		rc->dropped++;
		log_rl_warn(MOD, "unexpected DNS answer (id %u) dropped",
			    (unsigned)m.id);
		return;
	}
	/* what spmd learns: A/AAAA answers of class IN for host names */
	if ((m.qtype == DNS_TYPE_A || m.qtype == DNS_TYPE_AAAA) &&
	    m.qclass == DNS_CLASS_IN && dns_wire_valid(m.qname, m.qname_len) &&
	    (m.rcode == DNS_RCODE_NOERROR || m.rcode == DNS_RCODE_NXDOMAIN))
		send_result(
		    rc, q->own ? q->token : 0, m.qtype, m.qname, m.qname_len,
		    m.rcode == DNS_RCODE_NXDOMAIN ? RES_ST_NONAME : RES_ST_OK,
		    &m);
	else if (q->own)
		send_result(rc, q->token, q->qtype, q->qname, q->qname_len,
			    RES_ST_FAIL, NULL);
	if (!q->own) {
		buf[0] = (uint8_t)(q->client_id >> 8);
		buf[1] = (uint8_t)q->client_id;
		if (sendto(q->lfd, buf, (size_t)n, 0,
			   (const struct sockaddr *)&q->client,
			   q->client_len) < 0)
			log_rl_warn(MOD, "relaying an answer: %s",
				    strerror(errno));
		else
			rc->answered++;
	} else {
		rc->answered++;
	}
	q_free(rc, q);
}

static void own_query(struct rchild *rc, const struct res_query *rq)
{
	uint8_t buf[DNS_HDR_LEN + DNS_WIRE_MAX + 4];
	struct rc_q *q = q_alloc(rc);
	int len;

	if (!q) {
		log_rl_warn(MOD, "%d queries pending: spmd's query dropped",
			    RC_PENDING);
		send_result(rc, rq->token, rq->qtype, rq->name, rq->name_len,
			    RES_ST_FAIL, NULL);
		return;
	}
	len = dns_build_query(buf, sizeof(buf), 0, rq->name, rq->name_len,
			      rq->qtype);
	memset(q, 0, sizeof(*q));
	if (len < 0 || !(q->msg = malloc((size_t)len)))
		return;
	memcpy(q->msg, buf, (size_t)len);
	q->msg_len = (size_t)len;
	q->own = true;
	q->token = rq->token;
	memcpy(q->qname, rq->name, rq->name_len);
	q->qname_len = rq->name_len;
	q->qtype = rq->qtype;
	q->qclass = DNS_CLASS_IN;
	q_start(rc, q);
}

static void on_ctl(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct rchild *rc = arg;
	uint8_t buf[RES_MSG_CAP];
	ssize_t n;

	(void)events;
	n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* spmd closed its end: it is going away */
		ev_stop(loop);
		return;
	}
	if ((size_t)n > sizeof(buf)) {
		log_err(MOD, "oversized message from spmd");
		ev_stop(loop);
		return;
	}
	if (buf[0] == 'N') {
		size_t nn;

		if (res_dec_ns(buf, (size_t)n, rc->ns, &nn) < 0) {
			log_err(MOD, "bad nameserver list from spmd");
			ev_stop(loop);
			return;
		}
		rc->nns = nn;
	} else {
		struct res_query rq;

		if (res_dec_query(buf, (size_t)n, &rq) < 0) {
			log_err(MOD, "bad message from spmd");
			ev_stop(loop);
			return;
		}
		own_query(rc, &rq);
	}
}

int resolver_child_run(int ctl, const int *lfd, size_t nlfd, int up4, int up6,
		       const char *user, const char *chroot_dir)
{
	struct rchild *rc = calloc(1, sizeof(*rc));
	struct sandbox_opts so = {
	    .user = user,
	    .chroot_dir = chroot_dir,
	    .pdeathsig = SIGKILL,
	    .parent = getppid(),
	    .seccomp = true,
	    .base = true,
	    .allow = child_allow,
	    .nallow = sizeof(child_allow) / sizeof(child_allow[0]),
	    .on_violation = SANDBOX_KILL,
	};
	char why[256];
	int rc_ev;

	if (!rc)
		return 1;
	rc->ctl = ctl;
	rc->lfd = lfd;
	rc->nlfd = nlfd;
	rc->up4 = up4;
	rc->up6 = up6;
	rc->loop = ev_new();
	if (!rc->loop)
		return 1;
	for (size_t i = 0; i < nlfd; i++)
		if (ev_add_fd(rc->loop, lfd[i], EPOLLIN, on_query, rc) < 0)
			return 1;
	if ((up4 >= 0 &&
	     ev_add_fd(rc->loop, up4, EPOLLIN, on_answer, rc) < 0) ||
	    (up6 >= 0 &&
	     ev_add_fd(rc->loop, up6, EPOLLIN, on_answer, rc) < 0) ||
	    ev_add_fd(rc->loop, ctl, EPOLLIN, on_ctl, rc) < 0)
		return 1;
	if (sandbox_enter(&so, why, sizeof(why)) < 0) {
		log_err(MOD, "resolver sandbox: %s", why);
		return 1;
	}
	/* tell spmd the sandbox holds (resolver_msg.h: 'S') */
	if (send(ctl, "S", 1, 0) != 1)
		return 1;
	log_info(MOD,
		 "DNS proxy process %d: user %s, chroot %s, no capabilities, "
		 "seccomp on; %zu dns_query sockets",
		 (int)getpid(), user ? user : SANDBOX_USER,
		 chroot_dir ? chroot_dir : "none", nlfd);
	rc_ev = ev_run(rc->loop);
	log_info(MOD,
		 "DNS proxy: %" PRIu64 " forwarded, %" PRIu64
		 " answered, %" PRIu64 " timeouts, %" PRIu64 " dropped",
		 rc->forwarded, rc->answered, rc->timeouts, rc->dropped);
	return rc_ev < 0 ? 1 : 0;
}
