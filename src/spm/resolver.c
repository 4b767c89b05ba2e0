/*
 * resolver.c - spmd's DNS proxy (racoon2's `resolver { resolver on; }`).
 *
 * spmd listens for DNS queries on the `dns_query` addresses (UDP) and
 * forwards each one to the first entry of the live nameserver list
 * (struct spmd ns[], changed by spmif NS ADD/DELETE/CHANGE); without an
 * answer within RES_TIMEOUT_MS it fails over to the next nameserver.
 * Answers go back to the client with the client's DNS ID.
 *
 * Kept small and strict because this is network input to a root daemon:
 *  - only the 12-byte header and the one question are parsed, through
 *    the rd cursor; the rest of a message is relayed as opaque bytes;
 *  - each forwarded query gets a fresh random ID, unique among the
 *    pending ones; the table of pending queries is bounded (RES_PENDING)
 *    and every entry expires;
 *  - an answer is accepted only from the address and port it was sent
 *    to, with the expected ID and the same question (RFC 5452 section
 *    9.1); anything else is dropped with a rate-limited log line.
 */
#include "spm/resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/rd.h"
#include "spm/spmd.h"

#define MOD "resolver"

#define RES_LISTEN_MAX 8
#define RES_PENDING    256
#define RES_MSG_MAX    4096 /* EDNS0 sizes (RFC 6891 section 6.2.5) */
#define RES_NAME_MAX   255  /* RFC 1035 section 2.3.4 */
#define RES_TIMEOUT_MS 2000
#define RES_TRIES_MAX  4

struct res_q {
	bool used;
	uint16_t client_id, out_id;
	int lfd; /* listening socket the query came in on */
	struct sockaddr_storage client;
	socklen_t client_len;
	struct sockaddr_storage ns; /* where it was sent */
	socklen_t ns_len;
	unsigned tries;
	uint8_t qname[RES_NAME_MAX];
	size_t qname_len;
	uint16_t qtype, qclass;
	uint8_t *msg; /* the query as received, for failover */
	size_t msg_len;
	struct ev_timer timer;
	struct resolver *r;
};

struct resolver {
	struct spmd *d;
	int lfd[RES_LISTEN_MAX];
	size_t nlfd;
	int up4, up6; /* upstream sockets */
	struct res_q q[RES_PENDING];
	uint64_t forwarded, answered, dropped, timeouts;
};

struct dns_hdr_q {
	uint16_t id, flags;
	uint8_t qname[RES_NAME_MAX];
	size_t qname_len;
	uint16_t qtype, qclass;
};

/*
 * Header (RFC 1035 section 4.1.1) and exactly one question (4.1.2)
 * whose name is uncompressed labels (a question is the first name of a
 * message: nothing earlier to point at).  The name is kept lowercased
 * for comparison (RFC 4343 section 3).
 */
static int parse_hdr_q(const uint8_t *p, size_t n, struct dns_hdr_q *h)
{
	struct rd r = rd_init(p, n);
	uint16_t qd, an, ns, ar;
	uint8_t len;

	if (rd_u16(&r, &h->id) < 0 || rd_u16(&r, &h->flags) < 0 ||
	    rd_u16(&r, &qd) < 0 || rd_u16(&r, &an) < 0 || rd_u16(&r, &ns) < 0 ||
	    rd_u16(&r, &ar) < 0)
		return -EBADMSG;
	(void)an;
	(void)ns;
	(void)ar;
	if (qd != 1)
		return -EBADMSG;
	h->qname_len = 0;
	for (;;) {
		const uint8_t *lab;

		if (rd_u8(&r, &len) < 0)
			return -EBADMSG;
		/* 4.1.4: top bits 11 = pointer, 01/10 reserved */
		if (len & 0xc0)
			return -EBADMSG;
		if (h->qname_len + 1 + len > RES_NAME_MAX)
			return -EBADMSG;
		h->qname[h->qname_len++] = len;
		if (len == 0)
			break;
		if (rd_ptr(&r, len, &lab) < 0)
			return -EBADMSG;
		for (size_t i = 0; i < len; i++) {
			uint8_t c = lab[i];

			h->qname[h->qname_len++] =
			    (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
	}
	if (rd_u16(&r, &h->qtype) < 0 || rd_u16(&r, &h->qclass) < 0)
		return -EBADMSG;
	return 0;
}

static bool sa_eq(const struct sockaddr_storage *a, socklen_t al,
		  const struct sockaddr_storage *b, socklen_t bl)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;

		(void)al;
		(void)bl;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static socklen_t kaddr_sa(const struct kaddr *a, uint16_t port,
			  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr = a->u.v4;
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (void *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr = a->u.v6;
	return sizeof(*s6);
}

static void q_free(struct resolver *r, struct res_q *q)
{
	if (ev_timer_active(&q->timer))
		ev_timer_stop(r->d->loop, &q->timer);
	free(q->msg);
	q->msg = NULL;
	q->used = false;
}

static bool out_id_used(const struct resolver *r, uint16_t id)
{
	for (size_t i = 0; i < RES_PENDING; i++)
		if (r->q[i].used && r->q[i].out_id == id)
			return true;
	return false;
}

/* Send q to nameserver number q->tries of the live list (0 = in use).
 * Returns 0, or -ENOENT when the list is exhausted. */
static int q_send(struct resolver *r, struct res_q *q)
{
	struct spmd *d = r->d;

	while (q->tries < d->nns && q->tries < RES_TRIES_MAX) {
		const struct spmd_ns *ns = &d->ns[q->tries++];
		int fd = ns->addr.af == AF_INET ? r->up4 : r->up6;
		uint16_t id;

		if (fd < 0)
			continue;
		do {
			if (getrandom(&id, sizeof(id), 0) != sizeof(id))
				return -EIO;
		} while (out_id_used(r, id));
		q->out_id = id;
		q->msg[0] = (uint8_t)(id >> 8);
		q->msg[1] = (uint8_t)id;
		q->ns_len = kaddr_sa(&ns->addr, ns->port, &q->ns);
		if (sendto(fd, q->msg, q->msg_len, 0,
			   (const struct sockaddr *)&q->ns, q->ns_len) < 0) {
			log_rl_warn(MOD, "sending a query upstream: %s",
				    strerror(errno));
			continue;
		}
		r->forwarded++;
		ev_timer_start(d->loop, &q->timer, RES_TIMEOUT_MS);
		return 0;
	}
	return -ENOENT;
}

static void q_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct res_q *q = arg;
	struct resolver *r = q->r;

	(void)loop;
	(void)t;
	r->timeouts++;
	if (q_send(r, q) < 0) {
		log_rl_warn(MOD, "no nameserver answered a query (%u tried)",
			    q->tries);
		q_free(r, q);
	}
}

static void on_query(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct resolver *r = arg;
	uint8_t buf[RES_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_hdr_q h;
	struct res_q *q = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (n < 0)
		return;
	/* RFC 1035 4.1.1: QR=0 for a query; only standard queries (OPCODE
	 * 0) are forwarded */
	if ((size_t)n > sizeof(buf) || parse_hdr_q(buf, (size_t)n, &h) < 0 ||
	    (h.flags & 0x8000) || ((h.flags >> 11) & 0xf) != 0) {
		r->dropped++;
		log_rl_warn(MOD, "malformed DNS query (%zd bytes) dropped", n);
		return;
	}
	if (r->d->nns == 0) {
		log_rl_warn(MOD, "query dropped: no nameserver configured");
		return;
	}
	for (size_t i = 0; i < RES_PENDING; i++)
		if (!r->q[i].used) {
			q = &r->q[i];
			break;
		}
	if (!q) {
		r->dropped++;
		log_rl_warn(MOD, "%d queries pending: query dropped",
			    RES_PENDING);
		return;
	}
	q->msg = malloc((size_t)n);
	if (!q->msg)
		return;
	memcpy(q->msg, buf, (size_t)n);
	q->msg_len = (size_t)n;
	q->used = true;
	q->r = r;
	q->lfd = fd;
	q->client = from;
	q->client_len = fl;
	q->client_id = h.id;
	q->tries = 0;
	memcpy(q->qname, h.qname, h.qname_len);
	q->qname_len = h.qname_len;
	q->qtype = h.qtype;
	q->qclass = h.qclass;
	ev_timer_init(&q->timer, q_timeout, q);
	if (q_send(r, q) < 0) {
		log_rl_warn(MOD, "query could not be forwarded");
		q_free(r, q);
	}
}

static void on_answer(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct resolver *r = arg;
	uint8_t buf[RES_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_hdr_q h;
	struct res_q *q = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) || parse_hdr_q(buf, (size_t)n, &h) < 0 ||
	    !(h.flags & 0x8000)) {
		r->dropped++;
		log_rl_warn(MOD, "malformed DNS answer (%zd bytes) dropped", n);
		return;
	}
	/* RFC 5452 section 9.1: source address and port, ID and question
	 * must all be those of a query we sent */
	for (size_t i = 0; i < RES_PENDING; i++) {
		struct res_q *c = &r->q[i];

		if (c->used && c->out_id == h.id &&
		    sa_eq(&c->ns, c->ns_len, &from, fl) &&
		    c->qname_len == h.qname_len &&
		    memcmp(c->qname, h.qname, h.qname_len) == 0 &&
		    c->qtype == h.qtype && c->qclass == h.qclass) {
			q = c;
			break;
		}
	}
	if (!q) {
		r->dropped++;
		log_rl_warn(MOD, "unexpected DNS answer (id %u) dropped",
			    (unsigned)h.id);
		return;
	}
	buf[0] = (uint8_t)(q->client_id >> 8);
	buf[1] = (uint8_t)q->client_id;
	if (sendto(q->lfd, buf, (size_t)n, 0,
		   (const struct sockaddr *)&q->client, q->client_len) < 0)
		log_rl_warn(MOD, "relaying an answer: %s", strerror(errno));
	else
		r->answered++;
	q_free(r, q);
}

static int udp_socket(int af, const struct sockaddr_storage *bind_to,
		      socklen_t bl)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (af == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind_to && bind(fd, (const struct sockaddr *)bind_to, bl) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

struct resolver *resolver_new(struct spmd *d, const struct conf *c, int *err)
{
	const struct conf_addr_list *l = &c->resolver.dns_query;
	struct resolver *r;
	char buf[INET6_ADDRSTRLEN + 8];
	int rc = 0;

	*err = 0;
	if (!c->resolver.enabled)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->d = d;
	r->up4 = r->up6 = -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct conf_addr *a = &l->v[i];
		struct sockaddr_storage ss;
		struct kaddr k = {0};
		socklen_t sl;
		int fd;

		if (a->kind != CONF_ADDR_IP)
			continue;
		if (r->nlfd == RES_LISTEN_MAX) {
			log_warn(MOD, "at most %d dns_query addresses",
				 RES_LISTEN_MAX);
			break;
		}
		k.af = a->af;
		memcpy(&k.u, &a->u, a->af == AF_INET ? 4 : 16);
		sl = kaddr_sa(
		    &k, a->has_port && a->port != CONF_PORT_ANY ? a->port : 53,
		    &ss);
		fd = udp_socket(a->af, &ss, sl);
		conf_addr_str(a, buf, sizeof(buf));
		if (fd < 0) {
			log_err(MOD, "dns_query %s: %s", buf, strerror(-fd));
			rc = fd;
			goto close_all;
		}
		r->lfd[r->nlfd++] = fd;
		if (ev_add_fd(d->loop, fd, EPOLLIN, on_query, r) < 0) {
			rc = -ENOMEM;
			goto close_all;
		}
		log_info(MOD, "DNS proxy listening on %s", buf);
	}
	r->up4 = udp_socket(AF_INET, NULL, 0);
	r->up6 = udp_socket(AF_INET6, NULL, 0);
	if (r->up4 >= 0 &&
	    ev_add_fd(d->loop, r->up4, EPOLLIN, on_answer, r) < 0)
		rc = -ENOMEM;
	if (r->up6 >= 0 &&
	    ev_add_fd(d->loop, r->up6, EPOLLIN, on_answer, r) < 0)
		rc = -ENOMEM;
	if (rc < 0 || (r->up4 < 0 && r->up6 < 0)) {
		rc = rc < 0 ? rc : -EAFNOSUPPORT;
		goto close_all;
	}
	if (r->nlfd == 0)
		log_warn(MOD, "resolver on but no dns_query address: the "
			      "proxy does not listen");
	return r;

close_all:
	resolver_free(r);
	*err = rc;
	return NULL;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < RES_PENDING; i++)
		if (r->q[i].used)
			q_free(r, &r->q[i]);
	for (size_t i = 0; i < r->nlfd; i++) {
		(void)ev_del_fd(r->d->loop, r->lfd[i]);
		close(r->lfd[i]);
	}
	if (r->up4 >= 0) {
		(void)ev_del_fd(r->d->loop, r->up4);
		close(r->up4);
	}
	if (r->up6 >= 0) {
		(void)ev_del_fd(r->d->loop, r->up6);
		close(r->up6);
	}
	log_info(MOD,
		 "DNS proxy: %" PRIu64 " forwarded, %" PRIu64
		 " answered, %" PRIu64 " timeouts, %" PRIu64 " dropped",
		 r->forwarded, r->answered, r->timeouts, r->dropped);
	free(r);
}
