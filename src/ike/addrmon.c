/*
 * addrmon.c - local address changes (rtnetlink) and the MOBIKE initiator
 * moving its IKE SAs (RFC 4555 §3.5); see addrmon.h.
 *
 * Sockets.  iked sends from a moved IKE SA's new address through a
 * wildcard IKE socket (no `interface` entry, or `ike { 0.0.0.0; :: }`)
 * with IP_PKTINFO / IPV6_PKTINFO (net.c); it opens no socket per
 * address: the engine runs without privileges after start-up (port 500
 * would need the parent) and the kernel would have to be asked to
 * re-bind on each change.  An IKE SA whose new address no socket can
 * send from (iked bound to specific addresses) is not moved; that is
 * logged.
 *
 * Trust.  Only messages from the kernel (sender port id 0) are read;
 * each is bounded by xnl_next() and parsed by rtnl_parse()
 * (kernel/rtnl_msg.c: fixed header read field by field, attributes
 * checked against the table of its kind).  Nothing
 * from the network reaches this file: the kernel's own tables decide
 * where we move, and the move itself is an authenticated exchange.
 */
#include "ike/addrmon.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "ike/iked.h"
#include "kernel/rtnl_msg.h"
#include "kernel/xfrm_msg.h"
#include "lib/log.h"

#define MOD "ike"

#define AM_RBUF		 16384
#define AM_Q_WAIT	 500 /* ms for an RTM_GETROUTE / dump answer */
#define LOOPBACK_IFINDEX 1   /* the kernel's, in every namespace */

struct am_addr {
	struct kaddr a;
	uint32_t ifindex;
	uint32_t flags;
	uint8_t scope;
};

struct addrmon {
	int ev_fd, q_fd;
	uint32_t q_seq;
	struct ev_timer settle;
	struct am_addr addrs[AM_ADDRS_MAX];
	unsigned naddrs;
	bool resync; /* events were lost (ENOBUFS): dump the table again */
	uint64_t events, bad, updates;
};

static uint8_t am_rbuf[AM_RBUF];

/* ---- the address table ------------------------------------------------ */

static struct am_addr *table_find(struct addrmon *am, const struct kaddr *a)
{
	for (unsigned i = 0; i < am->naddrs; i++)
		if (kaddr_eq(&am->addrs[i].a, a))
			return &am->addrs[i];
	return NULL;
}

static void table_apply(struct addrmon *am, const struct rtnl_ev *ev)
{
	struct am_addr *e = table_find(am, &ev->addr);

	if (ev->type == RTM_DELADDR) {
		if (e)
			*e = am->addrs[--am->naddrs];
		return;
	}
	if (!e) {
		if (am->naddrs >= AM_ADDRS_MAX) {
			log_rl_warn(MOD,
				    "address monitor: more than %d local "
				    "addresses, the rest not listed",
				    AM_ADDRS_MAX);
			return;
		}
		e = &am->addrs[am->naddrs++];
	}
	e->a = ev->addr;
	e->ifindex = ev->ifindex;
	e->flags = ev->flags;
	e->scope = ev->scope;
}

static bool addr_usable(const struct am_addr *e)
{
	return e->scope == RT_SCOPE_UNIVERSE &&
	       e->ifindex != LOOPBACK_IFINDEX &&
	       !(e->flags &
		 (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED));
}

unsigned addrmon_additional(struct iked *d, const struct kaddr *in_use,
			    struct kaddr *out, unsigned max)
{
	struct addrmon *am = d->am;
	unsigned n = 0;

	if (!am)
		return 0;
	for (unsigned i = 0; i < am->naddrs && n < max; i++) {
		const struct am_addr *e = &am->addrs[i];
		struct ike_ep ep = {.addr = e->a, .port = 0};

		if (!addr_usable(e) || (in_use && kaddr_eq(&e->a, in_use)))
			continue;
		if (!net_can_send(d, &ep, false))
			continue;
		out[n++] = e->a;
	}
	return n;
}

/* ---- the check -------------------------------------------------------- */

static bool mobike_pending(const struct ike_sa *sa)
{
	if (sa->active && sa->active->type == TASK_MOBIKE_UPDATE)
		return true;
	for (const struct task *t = sa->queue; t; t = t->next)
		if (t->type == TASK_MOBIKE_UPDATE)
			return true;
	return false;
}

static int route_query(struct iked *d, const struct kaddr *peer,
		       struct kaddr *src);

/* The peer's address to move to when the current one has no route:
 * one of its additional addresses (§3.4) we have a route to. */
static bool other_peer(struct iked *d, struct ike_sa *sa,
		       addrmon_route_fn route, struct kaddr *peer,
		       struct kaddr *src)
{
	for (unsigned i = 0; i < sa->npeer_addrs; i++) {
		if (kaddr_eq(&sa->peer_addrs[i], &sa->peer.addr))
			continue;
		if (route(d, &sa->peer_addrs[i], src) == 0 && src->af) {
			*peer = sa->peer_addrs[i];
			return true;
		}
	}
	return false;
}

unsigned addrmon_check(struct iked *d, addrmon_route_fn route)
{
	unsigned n = 0;
	bool retry = false;

	if (!route)
		route = route_query;
	for (struct ike_sa *sa = d->sas; sa; sa = sa->next) {
		struct ike_ep nl, np;
		struct kaddr src, peer = sa->peer.addr;
		char a[80], b[80];

		if (!sa->mobike || !sa->initiator ||
		    sa->state != IKE_S_ESTABLISHED)
			continue;
		if (mobike_pending(sa)) {
			retry = true; /* look again once it is done */
			continue;
		}
		memset(&src, 0, sizeof(src));
		if ((route(d, &peer, &src) < 0 || !src.af) &&
		    !other_peer(d, sa, route, &peer, &src)) {
			log_rl_warn(MOD,
				    "IKE SA #%u: MOBIKE: no route to the peer "
				    "from any local address; waiting",
				    sa->id);
			continue;
		}
		if (kaddr_eq(&src, &sa->local.addr) &&
		    kaddr_eq(&peer, &sa->peer.addr))
			continue;
		nl = sa->local;
		nl.addr = src;
		np = sa->peer;
		np.addr = peer;
		if (!net_can_send(d, &nl, sa->natt)) {
			log_rl_warn(
			    MOD,
			    "IKE SA #%u: MOBIKE: no IKE socket can send "
			    "from %s (iked bound to specific "
			    "addresses); not moved",
			    sa->id, ike_ep_str(&nl, a, sizeof(a)));
			continue;
		}
		log_info(MOD,
			 "IKE SA #%u: MOBIKE: path to the peer now %s -> %s",
			 sa->id, ike_ep_str(&nl, a, sizeof(a)),
			 ike_ep_str(&np, b, sizeof(b)));
		if (mobike_update(sa, &nl, &np) == 0) {
			n++;
			if (d->am)
				d->am->updates++;
		}
	}
	if (retry && d->am)
		ev_timer_start(d->loop, &d->am->settle, 1000);
	return n;
}

static int dump_addrs(struct addrmon *am);

static void settle_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct iked *d = arg;
	int rc;

	(void)loop;
	(void)t;
	if (d->am && d->am->resync) {
		d->am->resync = false;
		d->am->naddrs = 0;
		if ((rc = dump_addrs(d->am)) < 0)
			log_rl_warn(MOD,
				    "address monitor: dump of local "
				    "addresses: %s",
				    strerror(-rc));
	}
	addrmon_check(d, NULL);
}

void addrmon_event(struct iked *d, const struct rtnl_ev *ev)
{
	struct addrmon *am = d->am;

	if (!am)
		return;
	am->events++;
	if (ev->type == RTM_NEWADDR || ev->type == RTM_DELADDR)
		table_apply(am, ev);
	/* Changes come in bursts (address, prefix route, ...): look once
	 * they have settled. */
	ev_timer_stop(d->loop, &am->settle);
	ev_timer_start(d->loop, &am->settle, AM_SETTLE_MS);
}

/* ---- sockets ---------------------------------------------------------- */

/* One datagram from the kernel (nl_pid 0); -EPERM: one that was not
 * the kernel's or was cut (dropped); else -errno. */
static ssize_t nl_read(int fd, int flags)
{
	struct sockaddr_nl from;
	struct iovec iov = {am_rbuf, sizeof(am_rbuf)};
	struct msghdr mh = {
	    .msg_name = &from,
	    .msg_namelen = sizeof(from),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	ssize_t n = recvmsg(fd, &mh, flags);

	if (n < 0)
		return -errno;
	if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0 ||
	    (mh.msg_flags & MSG_TRUNC))
		return -EPERM;
	return n;
}

static void ev_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct iked *d = arg;
	bool any = false;

	(void)loop;
	(void)events;
	for (int batch = 0; batch < 16; batch++) {
		ssize_t n = nl_read(fd, MSG_DONTWAIT);
		struct rd stream;
		struct xnl_msg m;
		int more;

		if (n == -EPERM) {
			log_rl_warn(MOD, "rtnetlink datagram not from the "
					 "kernel (or cut) dropped");
			continue;
		}
		if (n == -ENOBUFS) {
			/* events lost: dump the addresses again, then look */
			d->am->resync = true;
			any = true;
			continue;
		}
		if (n <= 0)
			break;
		stream = rd_init(am_rbuf, (size_t)n);
		while ((more = xnl_next(&stream, &m)) > 0) {
			struct rtnl_ev ev;
			int rc = rtnl_parse(&m, &ev);

			if (rc == -EBADMSG) {
				d->am->bad++;
				log_rl_warn(MOD, "malformed rtnetlink message "
						 "dropped");
				continue;
			}
			if (rc == 0) {
				addrmon_event(d, &ev);
				any = true;
			}
		}
		if (more < 0) {
			d->am->bad++;
			log_rl_warn(MOD,
				    "malformed rtnetlink datagram dropped");
		}
	}
	if (any && !ev_timer_active(&d->am->settle))
		ev_timer_start(d->loop, &d->am->settle, AM_SETTLE_MS);
}

static int nl_socket(uint32_t groups)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Sends req on the query socket and hands each answer of its sequence
 * to cb until NLMSG_DONE / NLMSG_ERROR, or one answer without
 * NLM_F_MULTI.  Waits at most AM_Q_WAIT per datagram. */
static int query(struct addrmon *am, struct nlmsghdr *req,
		 void (*cb)(struct addrmon *, const struct rtnl_ev *, void *),
		 void *arg)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};

	req->nlmsg_seq = ++am->q_seq;
	if (sendto(am->q_fd, req, req->nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	for (int dgrams = 0; dgrams < 256; dgrams++) {
		struct pollfd p = {.fd = am->q_fd, .events = POLLIN};
		struct rd stream;
		struct xnl_msg m;
		ssize_t n;
		int more;

		if (poll(&p, 1, AM_Q_WAIT) <= 0)
			return -ETIMEDOUT;
		n = nl_read(am->q_fd, MSG_DONTWAIT);
		if (n == -EAGAIN || n == -EPERM)
			continue;
		if (n < 0)
			return (int)n;
		stream = rd_init(am_rbuf, (size_t)n);
		while ((more = xnl_next(&stream, &m)) > 0) {
			struct rtnl_ev ev;
			int rc;

			if (m.seq != am->q_seq)
				continue; /* an older answer */
			if (m.type == NLMSG_DONE)
				return 0;
			if (m.type == NLMSG_ERROR) {
				int err = 0;

				if (xnl_parse_error(&m, &err, NULL, 0) < 0)
					return -EBADMSG;
				return err;
			}
			rc = rtnl_parse(&m, &ev);
			if (rc == -EBADMSG) {
				am->bad++;
				return -EBADMSG;
			}
			if (rc == 0 && cb)
				cb(am, &ev, arg);
			if (!(m.flags & NLM_F_MULTI))
				return 0;
		}
		if (more < 0)
			return -EBADMSG;
	}
	return -ETIMEDOUT;
}

static void route_cb(struct addrmon *am, const struct rtnl_ev *ev, void *arg)
{
	(void)am;
	if (ev->type == RTM_NEWROUTE && ev->src.af)
		*(struct kaddr *)arg = ev->src;
}

/* RTM_GETROUTE to peer: RTA_PREFSRC of the answer is the source the
 * kernel would use (ip route get). */
static int route_query(struct iked *d, const struct kaddr *peer,
		       struct kaddr *src)
{
	union {
		struct nlmsghdr h;
		uint8_t b[NLMSG_SPACE(sizeof(struct rtmsg)) + RTA_SPACE(16)];
	} req;
	struct rtmsg *rt;
	struct rtattr *a;
	size_t alen = peer->af == AF_INET ? 4 : 16;
	int rc;

	memset(src, 0, sizeof(*src));
	if (!d->am)
		return net_route_src(peer, src);
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	rt = NLMSG_DATA(&req.h);
	rt->rtm_family = peer->af;
	rt->rtm_dst_len = (uint8_t)(alen * 8);
	a = (struct rtattr *)(req.b + NLMSG_ALIGN(req.h.nlmsg_len));
	a->rta_type = RTA_DST;
	a->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(a), peer->u.b, alen);
	req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_SPACE(alen);
	rc = query(d->am, &req.h, route_cb, src);
	if (rc < 0)
		return rc; /* no route (-ENETUNREACH) or no answer */
	if (!src->af)
		return net_route_src(peer, src);
	return 0;
}

static void dump_cb(struct addrmon *am, const struct rtnl_ev *ev, void *arg)
{
	(void)arg;
	if (ev->type == RTM_NEWADDR)
		table_apply(am, ev);
}

/* The addresses there are now (RTM_GETADDR dump, both families). */
static int dump_addrs(struct addrmon *am)
{
	union {
		struct nlmsghdr h;
		uint8_t b[NLMSG_SPACE(sizeof(struct ifaddrmsg))];
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	return query(am, &req.h, dump_cb, NULL);
}

static bool want_monitor(const struct ike_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nremote; i++)
		if (cfg->remote[i].mobike)
			return true;
	return false;
}

int addrmon_open(struct iked *d)
{
	struct addrmon *am;
	int rc;

	if (d->am || !want_monitor(d->cfg))
		return 0;
	am = calloc(1, sizeof(*am));
	if (!am)
		return -ENOMEM;
	am->q_fd = -1;
	ev_timer_init(&am->settle, settle_cb, d);
	am->ev_fd = nl_socket(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			      RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE);
	if (am->ev_fd < 0) {
		rc = am->ev_fd;
		goto fail_am;
	}
	am->q_fd = nl_socket(0);
	if (am->q_fd < 0) {
		rc = am->q_fd;
		goto fail_ev;
	}
	if (ev_add_fd(d->loop, am->ev_fd, EPOLLIN, ev_read, d) < 0) {
		rc = -EIO;
		goto fail_q;
	}
	d->am = am;
	if ((rc = dump_addrs(am)) < 0)
		log_warn(MOD, "address monitor: dump of local addresses: %s",
			 strerror(-rc));
	log_info(MOD,
		 "address monitor: watching local addresses and routes "
		 "(MOBIKE), %u address(es) now",
		 am->naddrs);
	return 0;

fail_q:
	close(am->q_fd);
fail_ev:
	close(am->ev_fd);
fail_am:
	free(am);
	log_warn(MOD,
		 "address monitor (rtnetlink): %s; MOBIKE will not follow "
		 "local address changes",
		 strerror(-rc));
	return rc;
}

void addrmon_close(struct iked *d)
{
	struct addrmon *am = d->am;

	if (!am)
		return;
	ev_timer_stop(d->loop, &am->settle);
	ev_del_fd(d->loop, am->ev_fd);
	close(am->ev_fd);
	close(am->q_fd);
	free(am);
	d->am = NULL;
}
