/*
 * net.c - iked's UDP sockets.
 *
 * One socket per configured `interface { ike { ADDR port N; }; }` entry
 * and, beside it, one on port 4500 of the same address for NAT-T framing
 * (RFC 3948 §2.2: IKE messages there start with a 4-octet zero non-ESP
 * marker).  strongSwan floats to 4500 after IKE_SA_INIT even without a
 * NAT (RFC 7296 §2.23 allows it), so both are always open.  Without any
 * interface entry we bind the wildcard of each family.
 *
 * IP_PKTINFO / IPV6_RECVPKTINFO tell which local address a packet was
 * sent to, so that we answer from that same address (a wildcard socket
 * would otherwise pick the source by route).
 *
 * Batching (issue 14: 100,000 SAs with DPD on, 3,333 checks/s): the
 * loop reads up to NET_RX_BATCH datagrams with one recvmmsg, and
 * net_send() queues small datagrams (copies) that go out with one
 * sendmmsg per run of datagrams for one socket when the loop has run
 * its callbacks and due timers (ev_set_flush: net_flush), e.g. the ~67
 * checks of one 20 ms DPD slot in one system call instead of 67.  The
 * order of the datagrams is kept: a datagram too large for a queue
 * slot, or a full queue, flushes what is queued first.
 *
 * Ownership: struct iked owns the descriptors and d->nio (net_io_init,
 * freed by net_close after a last flush); received datagrams live in
 * d->nio only for the duration of ike_input().
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/xfrm.h>

#include "ike/iked.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/log.h"
#include "lib/rd.h"

#define NET_RX_BATCH 16	       /* datagrams read per wakeup */
#define NET_RCVBUF   (2 << 20) /* receive queue of each IKE socket */
#define NET_TX_BATCH 64	       /* datagrams queued before a flush */
#define NET_TX_SLOT  2048      /* larger ones go out at once, alone */
#define MOD	     "ike"

union net_cmsg {
	struct cmsghdr align;
	uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		  CMSG_SPACE(sizeof(struct in_pktinfo))];
};

struct net_io {
	/* receive: one recvmmsg fills up to NET_RX_BATCH of these */
	struct mmsghdr rx_mm[NET_RX_BATCH];
	struct iovec rx_iov[NET_RX_BATCH];
	struct sockaddr_storage rx_from[NET_RX_BATCH];
	union net_cmsg rx_cmsg[NET_RX_BATCH];
	/* send queue, sent by net_flush() */
	unsigned tx_n;
	int tx_fd[NET_TX_BATCH];
	struct ike_ep tx_local[NET_TX_BATCH], tx_peer[NET_TX_BATCH];
	struct mmsghdr tx_mm[NET_TX_BATCH];
	struct iovec tx_iov[NET_TX_BATCH];
	struct sockaddr_storage tx_to[NET_TX_BATCH];
	union net_cmsg tx_cmsg[NET_TX_BATCH];
	uint8_t tx_buf[NET_TX_BATCH][NET_TX_SLOT];
	/* last: the receive buffers (pages untouched by small datagrams
	 * stay unallocated) */
	uint8_t rx_buf[NET_RX_BATCH][IKE_MAX_PKT + 1];
};

void ike_ep_to_ss(const struct ike_ep *ep, struct sockaddr_storage *ss,
		  socklen_t *sl)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->addr.af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		s6->sin6_addr = ep->addr.u.v6;
		*sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		s4->sin_addr = ep->addr.u.v4;
		*sl = sizeof(*s4);
	}
}

void ike_ep_from_ss(const struct sockaddr_storage *ss, struct ike_ep *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		/* A v4-mapped source on a dual-stack socket is IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ep->addr.af = AF_INET;
			memcpy(&ep->addr.u.v4, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			ep->addr.af = AF_INET6;
			ep->addr.u.v6 = s6->sin6_addr;
		}
		ep->port = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		ep->addr.af = AF_INET;
		ep->addr.u.v4 = s4->sin_addr;
		ep->port = ntohs(s4->sin_port);
	}
}

const char *ike_ep_str(const struct ike_ep *ep, char *buf, size_t len)
{
	char a[64];

	kaddr_str(&ep->addr, a, sizeof(a));
	if (ep->addr.af == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

/* One received datagram: local address from IP_PKTINFO, NAT-T framing,
 * then the IKE input path. */
static void net_rx_one(struct iked *d, const struct ike_sock *s,
		       struct msghdr *mh, uint8_t *buf, size_t n)
{
	struct ike_ep local, peer;
	struct cmsghdr *cm;
	struct rd r;

	if (mh->msg_flags & MSG_TRUNC) {
		log_rl_warn(MOD, "dropped oversized datagram");
		return;
	}
	ike_ep_from_ss(mh->msg_name, &peer);
	memset(&local, 0, sizeof(local));
	local.addr = s->addr;
	local.port = s->port;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local.addr.af = AF_INET;
			local.addr.u.v4 = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local.addr.af = AF_INET6;
			local.addr.u.v6 = pi.ipi6_addr;
		}
	}

	r = rd_init(buf, n);
	if (s->natt) {
		const uint8_t *m;
		/* RFC 3948 §2.3: a single 0xFF octet is a NAT
		 * keepalive; ignore it. */
		if (n == 1 && buf[0] == 0xff)
			return;
		/* RFC 3948 §2.2: IKE follows a 4-octet zero non-ESP
		 * marker; anything else is ESP, which the data plane
		 * (kernel/userspace) handles. */
		if (rd_ptr(&r, 4, &m) < 0 || (m[0] | m[1] | m[2] | m[3]) != 0)
			return;
	}
	ike_pcap_write(d, &peer, &local, buf, n);
	ike_input(d, &local, &peer, s->natt, r.p, r.len);
}

static void net_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct iked *d = arg;
	struct net_io *io = d->nio;
	struct ike_sock *s = NULL;
	size_t i;
	int n;

	(void)loop;
	(void)events;
	for (i = 0; i < d->nsock; i++)
		if (d->sock[i].fd == fd)
			s = &d->sock[i];
	if (!s || !io)
		return;

	/* At most NET_RX_BATCH datagrams per wakeup (one recvmmsg), then
	 * back to the (level-triggered) loop: under a flood the other
	 * sockets, the control socket and the timers still get their
	 * turn. */
	for (i = 0; i < NET_RX_BATCH; i++) {
		struct msghdr *mh = &io->rx_mm[i].msg_hdr;

		io->rx_iov[i].iov_base = io->rx_buf[i];
		io->rx_iov[i].iov_len = sizeof(io->rx_buf[i]);
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &io->rx_from[i];
		mh->msg_namelen = sizeof(io->rx_from[i]);
		mh->msg_iov = &io->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = io->rx_cmsg[i].b;
		mh->msg_controllen = sizeof(io->rx_cmsg[i].b);
	}
	n = recvmmsg(fd, io->rx_mm, NET_RX_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_rl_warn(MOD, "recvmmsg: %s", strerror(errno));
		return;
	}
	for (i = 0; i < (size_t)n; i++)
		net_rx_one(d, s, &io->rx_mm[i].msg_hdr, io->rx_buf[i],
			   io->rx_mm[i].msg_len);
}

bool net_rx_pending(const struct iked *d)
{
	for (size_t i = 0; i < d->nsock; i++) {
		uint8_t b;
		struct iovec iov = {&b, 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

		/* A peek with recvmsg, the call net_read() makes: the
		 * engine's seccomp filter refuses ioctl (FIONREAD). */
		if (d->sock[i].fd >= 0 &&
		    recvmsg(d->sock[i].fd, &mh, MSG_PEEK | MSG_DONTWAIT) >= 0)
			return true;
	}
	return false;
}

static int sock_open(struct iked *d, const struct kaddr *addr, int af,
		     uint16_t port, bool natt)
{
	struct sockaddr_storage ss;
	struct ike_ep ep;
	struct ike_sock *s;
	socklen_t sl;
	int fd, on = 1, rc;
	char buf[80];

	/* racoon2's -4 / -6: one family only */
	if (d->opts.only_af && af != d->opts.only_af)
		return 0;

	if (d->nsock >= IKE_SOCK_MAX)
		return -ENOSPC;
	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* The receive queue absorbs a flood while we are not scheduled
	 * (a legitimate IKE_SA_INIT queued behind it is not dropped); it
	 * is the kernel's, bounded by NET_RCVBUF (iked(8) "Resource
	 * limits").  FORCE needs CAP_NET_ADMIN; else rmem_max caps it. */
	{
		int sz = NET_RCVBUF;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz,
			       sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
				sizeof(on));
	} else {
		rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	}
	if (rc < 0)
		goto fail_fd;
	/* IKE itself must never be caught by an IPsec policy: per-socket
	 * bypass in both directions (as every Linux IKE daemon does). */
	{
		struct xfrm_userpolicy_info pol;
		int dir;
		for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
			memset(&pol, 0, sizeof(pol));
			pol.action = XFRM_POLICY_ALLOW;
			pol.sel.family = (uint16_t)af;
			pol.dir = (uint8_t)dir;
			pol.lft.soft_byte_limit = XFRM_INF;
			pol.lft.hard_byte_limit = XFRM_INF;
			pol.lft.soft_packet_limit = XFRM_INF;
			pol.lft.hard_packet_limit = XFRM_INF;
			if (setsockopt(
				fd, af == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
				af == AF_INET6 ? IPV6_XFRM_POLICY
					       : IP_XFRM_POLICY,
				&pol, sizeof(pol)) < 0)
				log_warn(MOD, "IKE socket policy bypass: %s",
					 strerror(errno));
		}
	}
	/*
	 * RFC 3948 §2.2: on 4500 ESP-in-UDP and IKE share the port.  The
	 * kernel layer keeps only IKE (non-ESP marker) and keepalives for
	 * this socket and leaves ESP to the data plane (XFRM's input, or
	 * r2espd's raw tap, which relies on iked never reading ESP here):
	 * kernel.h k_udp_decap().  Needed with every backend, so failing
	 * it is worth a loud warning.
	 */
	if (natt) {
		char why[160];

		if (k_udp_decap(d->kern_open ? &d->kern : NULL, fd, why,
				sizeof(why)) < 0)
			log_warn(MOD, "NAT-T socket: %s", why);
	}
	/* Bind even when the address is not (yet) on an interface. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));

	memset(&ep, 0, sizeof(ep));
	if (addr && addr->af)
		ep.addr = *addr;
	else
		ep.addr.af = (uint8_t)af;
	ep.port = port;
	ike_ep_to_ss(&ep, &ss, &sl);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail_fd;
	if (ev_add_fd(d->loop, fd, EPOLLIN, net_read, d) < 0) {
		errno = EIO;
		goto fail_fd;
	}
	s = &d->sock[d->nsock++];
	s->fd = fd;
	s->espfd = -1;
	if (natt && d->kern_open && !k_has(&d->kern, KF_UDP_DECAP_KERNEL)) {
		char why[160];
		int e = k_udp_esp_sock(&d->kern, fd, why, sizeof(why));

		if (e >= 0)
			s->espfd = e;
		else if (e != -EOPNOTSUPP)
			log_warn(MOD,
				 "ESP-in-UDP socket for r2espd: %s (it uses "
				 "its raw tap)",
				 why);
	}
	s->af = af;
	s->port = port;
	s->natt = natt;
	memset(&s->addr, 0, sizeof(s->addr));
	if (addr && addr->af)
		s->addr = *addr;
	log_info(MOD, "listening on %s%s", ike_ep_str(&ep, buf, sizeof(buf)),
		 natt ? " (NAT-T framing)" : "");
	return 0;

fail_fd:
	rc = -errno;
	log_err(MOD, "socket %s: %s", ike_ep_str(&ep, buf, sizeof(buf)),
		strerror(errno));
	close(fd);
	return rc;
}

int net_open(struct iked *d)
{
	const struct ike_cfg *cfg = d->cfg;
	size_t i;
	int rc;

	/* racoon2's -p PORT: the IKE port where the configuration gives
	 * none */
	uint16_t dport = d->opts.port ? d->opts.port : IKE_PORT;

	if ((rc = net_io_init(d)) < 0)
		return rc;
	if (cfg->niface == 0) {
		if ((rc = sock_open(d, NULL, AF_INET, dport, false)) < 0 ||
		    (rc = sock_open(d, NULL, AF_INET, IKE_NATT_PORT, true)) < 0)
			return rc;
		/* IPv6 may be disabled: not fatal. */
		if (sock_open(d, NULL, AF_INET6, dport, false) == 0)
			sock_open(d, NULL, AF_INET6, IKE_NATT_PORT, true);
		return 0;
	}
	for (i = 0; i < cfg->niface; i++) {
		const struct cfg_iface *f = &cfg->iface[i];
		uint16_t port = f->port_set && f->port ? f->port : dport;
		size_t j;
		bool have_natt = false;

		if (f->addr.af == 0) {
			sock_open(d, NULL, AF_INET, port,
				  port == IKE_NATT_PORT);
			sock_open(d, NULL, AF_INET6, port,
				  port == IKE_NATT_PORT);
			continue;
		}
		rc = sock_open(d, &f->addr, f->addr.af, port,
			       port == IKE_NATT_PORT);
		if (rc < 0)
			return rc;
		/* Pair each address with a 4500 socket unless listed. */
		for (j = 0; j < cfg->niface; j++)
			if (kaddr_eq(&cfg->iface[j].addr, &f->addr) &&
			    cfg->iface[j].port == IKE_NATT_PORT)
				have_natt = true;
		if (!have_natt && port != IKE_NATT_PORT) {
			rc = sock_open(d, &f->addr, f->addr.af, IKE_NATT_PORT,
				       true);
			if (rc < 0)
				return rc;
		}
	}
	return d->nsock ? 0 : -EADDRNOTAVAIL;
}

void net_close(struct iked *d)
{
	size_t i;

	net_flush(d); /* e.g. the DELETEs of the shutdown */
	if (d->nio)
		ev_set_flush(d->loop, NULL, NULL);
	for (i = 0; i < d->nsock; i++) {
		ev_del_fd(d->loop, d->sock[i].fd);
		close(d->sock[i].fd);
		if (d->sock[i].espfd >= 0)
			close(d->sock[i].espfd);
	}
	d->nsock = 0;
	free(d->nio);
	d->nio = NULL;
}

void net_give_esp(struct iked *d)
{
	int fds[ESPM_UDP_SOCKS_MAX];
	size_t n = 0, i;
	int rc;

	for (i = 0; i < d->nsock; i++) {
		if (!d->sock[i].natt)
			continue;
		/* all or none: r2espd stops its raw tap for a family it
		 * got a socket of */
		if (d->sock[i].espfd < 0 || n == ESPM_UDP_SOCKS_MAX)
			return;
		fds[n++] = d->sock[i].espfd;
	}
	if (!n)
		return;
	rc = k_udp_give(&d->kern, fds, n);
	if (rc < 0)
		log_info(MOD,
			 "ESP-in-UDP sockets not taken by r2espd (%s): "
			 "it uses its raw tap",
			 d->kern.last_error[0] ? d->kern.last_error
					       : strerror(-rc));
	else
		log_info(MOD,
			 "r2espd carries ESP-in-UDP on %zu socket%s "
			 "beside ours (UDP GSO/GRO)",
			 n, n == 1 ? "" : "s");
}

/* Bound to :: or 0.0.0.0 (no interface entry, or interface { ike
 * "::"; }): any local address, e.g. a mobile node's new care-of address
 * or a MOBIKE initiator's new address (addrmon.c). */
static bool sock_wildcard(const struct ike_sock *s)
{
	static const uint8_t any[16];

	return !s->addr.af ||
	       !memcmp(s->addr.u.b, any, s->addr.af == AF_INET ? 4 : 16);
}

static struct ike_sock *sock_pick(struct iked *d, const struct ike_ep *local,
				  bool natt)
{
	struct ike_sock *wild = NULL;
	size_t i;

	for (i = 0; i < d->nsock; i++) {
		struct ike_sock *s = &d->sock[i];
		bool wildcard = sock_wildcard(s);

		if (s->af != local->addr.af || s->natt != natt)
			continue;
		if (!wildcard && kaddr_eq(&s->addr, &local->addr) &&
		    (!local->port || s->port == local->port))
			return s;
		if (wildcard && (!local->port || s->port == local->port))
			wild = s;
	}
	return wild;
}

/* IP_PKTINFO / IPV6_PKTINFO naming the source address of a datagram
 * sent from a wildcard socket; the control length (0: none). */
static size_t pktinfo_put(union net_cmsg *cbuf, const struct ike_ep *local)
{
	struct cmsghdr *cm = (struct cmsghdr *)cbuf->b;

	memset(cbuf, 0, sizeof(*cbuf));
	if (local->addr.af == AF_INET6) {
		struct in6_pktinfo pi = {.ipi6_addr = local->addr.u.v6};
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	struct in_pktinfo pi = {.ipi_spec_dst = local->addr.u.v4};
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return CMSG_SPACE(sizeof(pi));
}

static void send_failed(const struct ike_ep *local, const struct ike_ep *peer,
			int e)
{
	char b1[80], b2[80];

	log_rl_warn(MOD, "send %s -> %s: %s", ike_ep_str(local, b1, sizeof(b1)),
		    ike_ep_str(peer, b2, sizeof(b2)), strerror(e));
}

void net_flush(struct iked *d)
{
	struct net_io *io = d->nio;
	unsigned i = 0;

	if (!io)
		return;
	while (i < io->tx_n) {
		unsigned run = 1;
		int n;

		/* Consecutive datagrams of one socket go out in one
		 * call, in queue order. */
		while (i + run < io->tx_n && io->tx_fd[i + run] == io->tx_fd[i])
			run++;
		n = sendmmsg(io->tx_fd[i], &io->tx_mm[i], run, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* This datagram failed (the calls on from the next
			 * would report it again): as one sendmsg failing,
			 * it is lost and the retransmission covers it. */
			send_failed(&io->tx_local[i], &io->tx_peer[i],
				    n < 0 ? errno : EIO);
			i++;
			continue;
		}
		i += (unsigned)n;
	}
	io->tx_n = 0;
}

static void net_flush_cb(struct ev_loop *loop, void *arg)
{
	(void)loop;
	net_flush(arg);
}

int net_io_init(struct iked *d)
{
	if (!d->nio) {
		d->nio = calloc(1, sizeof(*d->nio));
		if (!d->nio)
			return -ENOMEM;
	}
	ev_set_flush(d->loop, net_flush_cb, d);
	return 0;
}

/* Queue one datagram (the marker prefixed on 4500); false: it does not
 * fit a slot, the caller sends it now (after a flush, to keep order). */
static bool net_queue(struct iked *d, const struct ike_sock *s,
		      const struct ike_ep *local, const struct ike_ep *peer,
		      bool natt, const uint8_t *pkt, size_t len)
{
	struct net_io *io = d->nio;
	size_t off = natt ? 4 : 0;
	struct msghdr *mh;
	socklen_t tl;
	unsigned k;

	if (!io || len > NET_TX_SLOT - off)
		return false;
	if (io->tx_n == NET_TX_BATCH)
		net_flush(d);
	k = io->tx_n++;
	io->tx_fd[k] = s->fd;
	io->tx_local[k] = *local;
	io->tx_peer[k] = *peer;
	/* RFC 3948 §2.2: the non-ESP marker on 4500. */
	memset(io->tx_buf[k], 0, off);
	memcpy(io->tx_buf[k] + off, pkt, len);
	io->tx_iov[k].iov_base = io->tx_buf[k];
	io->tx_iov[k].iov_len = off + len;
	ike_ep_to_ss(peer, &io->tx_to[k], &tl);
	mh = &io->tx_mm[k].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &io->tx_to[k];
	mh->msg_namelen = tl;
	mh->msg_iov = &io->tx_iov[k];
	mh->msg_iovlen = 1;
	if (sock_wildcard(s) && local->addr.af) {
		mh->msg_control = io->tx_cmsg[k].b;
		mh->msg_controllen = pktinfo_put(&io->tx_cmsg[k], local);
	}
	return true;
}

int net_send(struct iked *d, const struct ike_ep *local,
	     const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	     size_t len)
{
	static const uint8_t marker[4];
	struct sockaddr_storage to;
	union net_cmsg cbuf;
	struct iovec iov[2];
	struct msghdr mh;
	struct ike_sock *s;
	socklen_t tl;
	char b1[80];

	if (d->send_hook)
		return d->send_hook(d, local, peer, pkt, len, d->send_hook_arg);
	s = sock_pick(d, local, natt);
	if (!s) {
		log_rl_warn(MOD, "no %s socket for %s", natt ? "NAT-T" : "IKE",
			    ike_ep_str(local, b1, sizeof(b1)));
		return -EADDRNOTAVAIL;
	}
	if (!net_queue(d, s, local, peer, natt, pkt, len)) {
		net_flush(d); /* what was queued goes first */
		ike_ep_to_ss(peer, &to, &tl);
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &to;
		mh.msg_namelen = tl;
		iov[0].iov_base = (void *)marker;
		iov[0].iov_len = 4;
		iov[1].iov_base = (void *)pkt;
		iov[1].iov_len = len;
		/* RFC 3948 §2.2: prefix the non-ESP marker on 4500. */
		mh.msg_iov = natt ? iov : iov + 1;
		mh.msg_iovlen = natt ? 2 : 1;
		/* A wildcard socket sends from the IKE SA's address
		 * (IP_PKTINFO / IPV6_PKTINFO), not from whatever the
		 * route would pick. */
		if (sock_wildcard(s) && local->addr.af) {
			mh.msg_control = cbuf.b;
			mh.msg_controllen = pktinfo_put(&cbuf, local);
		}
		if (sendmsg(s->fd, &mh, 0) < 0) {
			int e = errno;
			send_failed(local, peer, e);
			return -e;
		}
	}
	if (d->pcap_on) {
		struct ike_ep src = *local;
		static uint8_t buf[4 + 65535 - 48];

		if (!src.port)
			src.port = s->port;
		if (natt && len + 4 <= sizeof(buf)) {
			memset(buf, 0, 4);
			memcpy(buf + 4, pkt, len);
			ike_pcap_write(d, &src, peer, buf, len + 4);
		} else if (!natt) {
			ike_pcap_write(d, &src, peer, pkt, len);
		}
	}
	return 0;
}

/* The local port to use for a local address when none is known yet. */
uint16_t net_local_port(struct iked *d, const struct kaddr *a, bool natt)
{
	struct ike_ep ep = {.addr = *a, .port = 0};
	struct ike_sock *s = sock_pick(d, &ep, natt);

	return s ? s->port : (natt ? IKE_NATT_PORT : IKE_PORT);
}

bool net_can_send(struct iked *d, const struct ike_ep *local, bool natt)
{
	return d->send_hook || sock_pick(d, local, natt) != NULL;
}

int net_route_src(const struct kaddr *peer, struct kaddr *src)
{
	struct ike_ep ep = {.addr = *peer, .port = IKE_PORT};
	struct sockaddr_storage ss;
	struct ike_ep out;
	socklen_t sl;
	int fd, rc = 0;

	fd = socket(peer->af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ike_ep_to_ss(&ep, &ss, &sl);
	/* connect() on UDP sends nothing; it only resolves the route. */
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		rc = -errno;
		goto out_fd;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = -errno;
		goto out_fd;
	}
	ike_ep_from_ss(&ss, &out);
	*src = out.addr;
out_fd:
	close(fd);
	return rc;
}

int net_path_mtu(const struct kaddr *peer)
{
	struct ike_ep ep = {.addr = *peer, .port = IKE_PORT};
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, mtu = 0, rc;

	fd = socket(peer->af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ike_ep_to_ss(&ep, &ss, &sl);
	/* connect() resolves the route; IP_MTU / IPV6_MTU then give the
	 * MTU of the path (the PMTU cache when the kernel learnt one). */
	rc = connect(fd, (struct sockaddr *)&ss, sl);
	if (rc == 0) {
		sl = sizeof(mtu);
		rc = peer->af == AF_INET
			 ? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &sl)
			 : getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &sl);
	}
	rc = rc < 0 ? -errno : mtu;
	close(fd);
	return rc;
}
