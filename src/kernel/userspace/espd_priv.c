/*
 * espd_priv.c - r2espd's privilege separation and its route operations.
 *
 * r2espd parses ESP from the network, so the process that does it must
 * not be root.  After main() has opened everything as root (pid file,
 * control socket, TUN device, raw sockets, netlink socket, stale routes
 * purged), espd_privsep() forks:
 *
 *   parent ("privileged", uid 0, capabilities reduced to CAP_NET_ADMIN
 *   and CAP_KILL, no_new_privs): keeps only the netlink socket, the pid
 *   file and the control socket's file (to remove them at exit); it
 *   closes the TUN device and the raw sockets.  It serves one request
 *   type over a SOCK_SEQPACKET socketpair: "add / delete the route to
 *   prefix P through our TUN device" (struct below).  Every field is
 *   checked; the route is always rtm_protocol ESPD_RTPROT, table main
 *   (or ESPD_TABLE for transport mode: espd_rules below),
 *   output interface = the TUN device, never a prefix of length 0, added
 *   with NLM_F_EXCL (it never replaces a route someone else installed)
 *   and deleted only if it is ours (the kernel matches protocol and
 *   device on delete); at most ESPD_MAX_ROUTES at a time.  When the
 *   worker dies (any reason) the parent removes the routes left on the
 *   device, the control socket file and the pid file, and exits; on
 *   SIGTERM/SIGINT it asks the worker to stop first (SIGKILL after 5 s).
 *
 *   worker (the rest of r2espd: SPD, SAD, packet path, control
 *   requests): src/lib/sandbox.h - uid/gid _racoon2, chroot to an empty
 *   directory, no capabilities, no_new_privs, non-dumpable,
 *   parent-death signal SIGKILL, and a seccomp allowlist (below) that
 *   kills the process on anything else.
 *
 * Why a parent and not a kept CAP_NET_ADMIN: with CAP_NET_ADMIN the
 * worker could rewrite any route, address, firewall rule or XFRM state
 * of the namespace; through the parent it can only point prefixes at its
 * own TUN device, which is what its policies do anyway.
 *
 * Without privsep (-P, or in tests and fuzzers) the same route code runs
 * in-process on d->nl.
 */
#include "kernel/userspace/espd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <libmnl/libmnl.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/sandbox.h"

#define MOD "espd"

/*
 * Request, 40 octets: u8 version (1), u8 op (1 add, 2 delete), u8 af,
 * u8 dst_plen, u8 src_plen, u8 flags (RT_F_TRANSPORT: the route goes to
 * table ESPD_TABLE instead of main, see espd_rules), 2 octets zero, dst[16],
 * src[16] (IPv4: 4 octets then zeros; dst with its host bits zero).
 * src/src_plen is the policy's source selector: the parent picks a local
 * address in it as the route's preferred source.  Reply: i32 status (0 or
 * -errno), big endian.
 */
#define RT_REQ_LEN 40
#define RT_VERSION 1
#define RT_ADD	   1
#define RT_DEL	   2

#define RT_F_TRANSPORT 1 /* octet 5: the route goes to ESPD_TABLE */

struct rt_req {
	uint8_t op, af, dst_plen, src_plen, flags;
	struct kaddr dst, src;
};

/* ---- netlink route operations (run where the netlink socket is) ---- */

static bool in_prefix(const struct kaddr *p, unsigned plen,
		      const struct kaddr *a)
{
	struct ksel s = {.af = p->af, .src = *p, .src_plen = (uint8_t)plen};
	struct ksel f = {.af = a->af, .src = *a};
	return ksel_match_flow(&s, &f);
}

static bool local_in_prefix(const struct kaddr *p, unsigned plen,
			    struct kaddr *out)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (!p->af || !plen || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct kaddr a = {0};
		if (!i->ifa_addr || i->ifa_addr->sa_family != p->af)
			continue;
		a.af = p->af;
		if (p->af == AF_INET)
			memcpy(a.u.b,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
			       4);
		else
			memcpy(a.u.b,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		if (in_prefix(p, plen, &a)) {
			*out = a;
			found = true;
		}
	}
	freeifaddrs(ifa);
	return found;
}

static int route_msg(struct mnl_socket *nl, uint32_t *nl_seq, int ifindex,
		     const struct rt_req *r, const struct kaddr *prefsrc)
{
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	unsigned alen = r->af == AF_INET ? 4 : 16;
	uint32_t seq = ++*nl_seq;
	bool add = r->op == RT_ADD;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* NLM_F_EXCL: never replace a route we did not install */
	nlh->nlmsg_flags =
	    NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->af;
	rtm->rtm_dst_len = r->dst_plen;
	rtm->rtm_table =
	    (r->flags & RT_F_TRANSPORT) ? ESPD_TABLE : RT_TABLE_MAIN;
	rtm->rtm_protocol = ESPD_RTPROT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, alen, r->dst.u.b);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, RTA_TABLE, rtm->rtm_table);
	if (prefsrc)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, prefsrc->u.b);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL,
			NULL);
	return rc < 0 ? -errno : 0;
}

static int rt_apply(struct mnl_socket *nl, uint32_t *nl_seq, int ifindex,
		    const struct rt_req *r)
{
	struct kaddr src;
	int rc = -ENOENT;

	if (r->op == RT_DEL)
		return route_msg(nl, nl_seq, ifindex, r, NULL);
	if (local_in_prefix(&r->src, r->src_plen, &src))
		rc = route_msg(nl, nl_seq, ifindex, r, &src);
	if (rc < 0 && rc != -EEXIST)
		rc = route_msg(nl, nl_seq, ifindex, r, NULL);
	return rc;
}

/* ---- the request: built by the worker, checked by the parent ---- */

static void rt_req_make(struct rt_req *r, bool add, bool transport,
			const struct ksel *s)
{
	unsigned full = s->dst_plen / 8, rest = s->dst_plen % 8;

	memset(r, 0, sizeof(*r));
	r->op = add ? RT_ADD : RT_DEL;
	r->flags = transport ? RT_F_TRANSPORT : 0;
	r->af = s->af;
	r->dst_plen = s->dst_plen;
	r->dst.af = s->af;
	memcpy(r->dst.u.b, s->dst.u.b, full);
	if (rest)
		r->dst.u.b[full] =
		    s->dst.u.b[full] & (uint8_t)(0xff << (8 - rest));
	if (s->src_plen) {
		r->src_plen = s->src_plen;
		r->src.af = s->af;
		memcpy(r->src.u.b, s->src.u.b, s->af == AF_INET ? 4 : 16);
	}
}

static void rt_req_put(const struct rt_req *r, uint8_t out[RT_REQ_LEN])
{
	memset(out, 0, RT_REQ_LEN);
	out[0] = RT_VERSION;
	out[1] = r->op;
	out[2] = r->af;
	out[3] = r->dst_plen;
	out[4] = r->src_plen;
	out[5] = r->flags;
	memcpy(out + 8, r->dst.u.b, 16);
	memcpy(out + 24, r->src.u.b, 16);
}

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * The parent's check of a request from the (untrusted) worker: every
 * field, fail closed.  0 or -EINVAL with the reason in *why.
 */
int espd_rt_check(const uint8_t *buf, size_t len, void *out, const char **why)
{
	struct rt_req *r = out;
	struct rd rd = rd_init(buf, len);
	uint8_t ver, pad[2];
	unsigned alen, max, full, rest;

	memset(r, 0, sizeof(*r));
	*why = "malformed";
	if (len != RT_REQ_LEN || rd_u8(&rd, &ver) < 0 ||
	    rd_u8(&rd, &r->op) < 0 || rd_u8(&rd, &r->af) < 0 ||
	    rd_u8(&rd, &r->dst_plen) < 0 || rd_u8(&rd, &r->src_plen) < 0 ||
	    rd_u8(&rd, &r->flags) < 0 || rd_bytes(&rd, pad, 2) < 0 ||
	    rd_bytes(&rd, r->dst.u.b, 16) < 0 ||
	    rd_bytes(&rd, r->src.u.b, 16) < 0 || ver != RT_VERSION ||
	    !zero(pad, 2))
		return -EINVAL;
	if (r->flags & ~RT_F_TRANSPORT) {
		*why = "unknown flags";
		return -EINVAL;
	}
	if (r->op != RT_ADD && r->op != RT_DEL) {
		*why = "unknown operation";
		return -EINVAL;
	}
	if (r->af != AF_INET && r->af != AF_INET6) {
		*why = "unknown address family";
		return -EINVAL;
	}
	alen = r->af == AF_INET ? 4 : 16;
	max = alen * 8;
	if (r->dst_plen > max || r->src_plen > max) {
		*why = "prefix length too long";
		return -EINVAL;
	}
	/* a default route through the TUN device would capture IKE and
	 * ESP themselves (and everything else) */
	if (r->dst_plen == 0) {
		*why = "prefix length 0";
		return -EINVAL;
	}
	if (!zero(r->dst.u.b + alen, 16 - alen) ||
	    !zero(r->src.u.b + alen, 16 - alen)) {
		*why = "address longer than its family";
		return -EINVAL;
	}
	full = r->dst_plen / 8;
	rest = r->dst_plen % 8;
	if ((rest && (r->dst.u.b[full] & (0xff >> rest))) ||
	    !zero(r->dst.u.b + full + (rest ? 1 : 0),
		  alen - full - (rest ? 1 : 0))) {
		*why = "host bits set in the prefix";
		return -EINVAL;
	}
	r->dst.af = r->af;
	r->src.af = r->src_plen ? r->af : 0;
	*why = NULL;
	return 0;
}

int espd_rt_request(struct espd *d, bool add, bool transport,
		    const struct ksel *s)
{
	uint8_t buf[RT_REQ_LEN], rep[4];
	struct rt_req r, chk;
	const char *why;
	ssize_t n;
	int rc;

	rt_req_make(&r, add, transport, s);
	rt_req_put(&r, buf);
	if (d->priv_fd < 0) {
		/* in-process (no privsep): the parent's rules all the same */
		if (!d->nl)
			return -ENOTCONN;
		rc = espd_rt_check(buf, sizeof(buf), &chk, &why);
		if (rc < 0) {
			log_rl_warn(MOD, "route request refused: %s", why);
			return rc;
		}
		return rt_apply(d->nl, &d->nl_seq, d->tun_ifindex, &chk);
	}
	if (send(d->priv_fd, buf, sizeof(buf), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(buf))
		return -EIO;
	/* SO_RCVTIMEO bounds the wait (espd_privsep) */
	do
		n = recv(d->priv_fd, rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		return -EIO;
	return (int)((uint32_t)rep[0] << 24 | (uint32_t)rep[1] << 16 |
		     (uint32_t)rep[2] << 8 | rep[3]);
}

/*
 * Delete routes a previous r2espd left behind: rtm_protocol ESPD_RTPROT
 * through the TUN device.  They normally vanish with the device when
 * r2espd exits; a device made persistent (ip tuntap) outlives it and
 * keeps them.  Routes of another r2espd running in this namespace with
 * another device (-i) are not touched.  Netlink replies are parsed
 * through struct rd; the dump is collected first, then each route is
 * deleted.
 */
/* RTA_OIF of a route's attributes (struct rtattr: u16 len, u16 type,
 * host order, 4-byte aligned), 0 if absent or malformed. */
static uint32_t route_oif(struct rd *a)
{
	uint16_t alen, atype;
	uint32_t oif;
	struct rd v;

	while (rd_h16(a, &alen) == 0 && rd_h16(a, &atype) == 0) {
		if (alen < 4 || rd_sub(a, alen - 4U, &v) < 0)
			return 0;
		if (atype == RTA_OIF && rd_h32(&v, &oif) == 0)
			return oif;
		if (rd_skip(a, RTA_ALIGN(alen) - alen) < 0)
			return 0;
	}
	return 0;
}

unsigned espd_purge_routes(void *nlsock, uint32_t *nl_seq, int ifindex)
{
	struct mnl_socket *nl = nlsock;
	static uint8_t buf[32768];
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	uint8_t *del = NULL;
	size_t ndel = 0, dcap = 0, off;
	uint32_t seq = ++*nl_seq, portid = mnl_socket_get_portid(nl);
	uint32_t oif = (uint32_t)ifindex;
	bool done = false;
	unsigned purged = 0;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return 0;
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		struct rd r;
		if (n <= 0)
			break;
		r = rd_init(buf, (size_t)n);
		while (rd_left(&r) >= 16 && !done) {
			uint32_t len, mseq;
			uint16_t type;
			const uint8_t *msg;
			struct rd m;
			uint8_t proto;
			/* struct nlmsghdr, host order (netlink(7)) */
			m = r;
			if (rd_h32(&m, &len) < 0 || rd_h16(&m, &type) < 0 ||
			    rd_skip(&m, 2) < 0 || rd_h32(&m, &mseq) < 0 ||
			    len < 16 || rd_ptr(&r, len, &msg) < 0) {
				done = true;
				break;
			}
			/* padding to the next message (absent at the end) */
			if (rd_skip(&r, NLMSG_ALIGN(len) - len) < 0)
				r = rd_init(NULL, 0);
			if (mseq != seq || type == NLMSG_DONE ||
			    type == NLMSG_ERROR) {
				done =
				    type == NLMSG_DONE || type == NLMSG_ERROR;
				continue;
			}
			/* struct rtmsg: family, dst_len, src_len, tos, table,
			 * protocol, scope, type, flags (12 bytes) */
			m = rd_init(msg + 16, len - 16);
			if (type != RTM_NEWROUTE || rd_skip(&m, 5) < 0 ||
			    rd_u8(&m, &proto) < 0 || proto != ESPD_RTPROT ||
			    rd_skip(&m, 6) < 0 || route_oif(&m) != oif)
				continue;
			if (ndel + len > dcap) {
				size_t nc = (dcap ? dcap * 2 : 4096) + len;
				uint8_t *nd = realloc(del, nc);
				if (!nd)
					continue;
				del = nd;
				dcap = nc;
			}
			memcpy(del + ndel, msg, len);
			ndel += NLMSG_ALIGN(len);
		}
	}
	for (off = 0; off + 16 <= ndel;) {
		/* the route as dumped, sent back as RTM_DELROUTE: rewrite
		 * type, flags, seq and pid of its nlmsghdr */
		uint8_t *h = del + off;
		uint32_t len, dseq = ++*nl_seq, pid = 0;
		uint16_t type = RTM_DELROUTE, fl = NLM_F_REQUEST | NLM_F_ACK;
		memcpy(&len, h, 4);
		memcpy(h + 4, &type, 2);
		memcpy(h + 6, &fl, 2);
		memcpy(h + 8, &dseq, 4);
		memcpy(h + 12, &pid, 4);
		if (mnl_socket_sendto(nl, h, len) >= 0) {
			ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			if (n > 0 && mnl_cb_run(buf, (size_t)n, dseq, portid,
						NULL, NULL) >= 0)
				purged++;
		}
		off += NLMSG_ALIGN(len);
	}
	free(del);
	return purged;
}

/*
 * Transport mode (ARCHITECTURE.md): the route to a transport peer's own
 * address cannot go in table main - it would capture IKE, KINK and the
 * ESP packets themselves.  It goes in table ESPD_TABLE, consulted by the
 * last of these rules (both families, priorities ESPD_RULE_PRIO + i,
 * protocol ESPD_RTPROT, before main at 32766); the rules before it send
 * the key-management and ESP traffic to main first:
 *   fwmark ESPD_MARK    r2espd's own sockets (SO_MARK, espd_net.c):
 *                       ESP and ESP-in-UDP, whatever the ports
 *   udp sport/dport 500, 4500   IKE (iked binds 500 and 4500)
 *   udp sport/dport 910         KINK (RFC 4430 §7)
 *   lookup ESPD_TABLE   everything else: the transport peers via TUN
 * Port rules instead of marking iked's and kinkd's sockets: SO_MARK needs
 * CAP_NET_ADMIN, which neither keeps.  ESPD_TABLE is empty until a
 * transport policy is added, so the rules change nothing before that.
 * Added at start (an existing rule is kept), removed at exit.
 */
static const struct {
	uint8_t ipproto;
	uint16_t sport, dport;
	bool mark, table;
} espd_rule_tab[] = {
    {0, 0, 0, true, false},
    {IPPROTO_UDP, 500, 0, false, false},
    {IPPROTO_UDP, 0, 500, false, false},
    {IPPROTO_UDP, 4500, 0, false, false},
    {IPPROTO_UDP, 0, 4500, false, false},
    {IPPROTO_UDP, 910, 0, false, false},
    {IPPROTO_UDP, 0, 910, false, false},
    {0, 0, 0, false, true},
};

int espd_rules(void *nlsock, uint32_t *nl_seq, bool add)
{
	static const uint8_t fams[] = {AF_INET, AF_INET6};
	struct mnl_socket *nl = nlsock;
	int ret = 0;

	for (size_t f = 0; f < sizeof(fams); f++)
		for (size_t i = 0;
		     i < sizeof(espd_rule_tab) / sizeof(espd_rule_tab[0]);
		     i++) {
			char buf[512];
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
			struct fib_rule_hdr *h;
			uint32_t seq = ++*nl_seq;
			ssize_t n;

			nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
			nlh->nlmsg_flags =
			    NLM_F_REQUEST | NLM_F_ACK |
			    (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
			nlh->nlmsg_seq = seq;
			h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
			h->family = fams[f];
			h->action = FR_ACT_TO_TBL;
			h->table =
			    espd_rule_tab[i].table ? ESPD_TABLE : RT_TABLE_MAIN;
			mnl_attr_put_u32(nlh, FRA_TABLE, h->table);
			mnl_attr_put_u32(nlh, FRA_PRIORITY,
					 ESPD_RULE_PRIO + (uint32_t)i);
			mnl_attr_put_u8(nlh, FRA_PROTOCOL, ESPD_RTPROT);
			if (espd_rule_tab[i].mark) {
				mnl_attr_put_u32(nlh, FRA_FWMARK, ESPD_MARK);
				mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
			}
			if (espd_rule_tab[i].ipproto)
				mnl_attr_put_u8(nlh, FRA_IP_PROTO,
						espd_rule_tab[i].ipproto);
			if (espd_rule_tab[i].sport) {
				struct fib_rule_port_range pr = {
				    espd_rule_tab[i].sport,
				    espd_rule_tab[i].sport};
				mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(pr),
					     &pr);
			}
			if (espd_rule_tab[i].dport) {
				struct fib_rule_port_range pr = {
				    espd_rule_tab[i].dport,
				    espd_rule_tab[i].dport};
				mnl_attr_put(nlh, FRA_DPORT_RANGE, sizeof(pr),
					     &pr);
			}
			if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
				return -errno;
			n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			if (n < 0)
				return -errno;
			if (mnl_cb_run(buf, (size_t)n, seq,
				       mnl_socket_get_portid(nl), NULL,
				       NULL) < 0 &&
			    errno != EEXIST && errno != ENOENT && !ret)
				ret = -errno;
		}
	return ret;
}

/* ---- the worker's sandbox ---------------------------------------------- */

/*
 * What the worker does after the fork, beyond sandbox_syscalls_base:
 * packets (recvmmsg/sendmmsg on the raw sockets, read/write on TUN),
 * control clients (accept4, SO_PEERCRED getsockopt, send/recv), the
 * route requests to the parent.  Nothing opens a file or a socket.
 */
/* clang-format off */
static const int worker_syscalls[] = {
	/* packets: raw sockets, TUN */
	SYS_recvmmsg, SYS_sendmmsg, SYS_recvfrom, SYS_recvmsg, SYS_sendmsg,
	/* control clients */
	SYS_accept4, SYS_getsockopt, SYS_shutdown,
	/* the IKE daemon's ESP-in-UDP sockets (ESPM_UDP_SOCKS): checked
	 * with getsockname; while they carry ESP-in-UDP the raw UDP taps
	 * get a drop-all filter (SO_ATTACH_FILTER; without capabilities
	 * setsockopt cannot set marks, priorities or buffers beyond the
	 * sysctl limits) */
	SYS_getsockname, SYS_setsockopt,
	/* the event loop's signalfd and SIGPIPE, set up after the fork */
	SYS_signalfd4, SYS_rt_sigaction,
	SYS_sched_yield,
#ifdef SYS_recv
	SYS_recv,
#endif
#ifdef SYS_send
	SYS_send,
#endif
};
/* clang-format on */

/* Load every cipher and MAC the engine may use now: the chroot and the
 * filter forbid the files a lazy first use might look for. */
static void crypto_preload(void)
{
	static const struct {
		uint16_t encr, bits, integ;
	} algs[] = {
	    {IKEV2_ENCR_AES_GCM_16, 128, 0},
	    {IKEV2_ENCR_AES_GCM_16, 192, 0},
	    {IKEV2_ENCR_AES_GCM_16, 256, 0},
	    {IKEV2_ENCR_CHACHA20_POLY1305, 256, 0},
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA1_96},
	    {IKEV2_ENCR_AES_CBC, 192, IKEV2_INTEG_HMAC_SHA2_256_128},
	    {IKEV2_ENCR_AES_CBC, 256, IKEV2_INTEG_HMAC_SHA2_384_192},
	    {IKEV2_ENCR_NULL, 0, IKEV2_INTEG_HMAC_SHA2_512_256},
	};
	static const uint8_t alen[] = {[IKEV2_INTEG_HMAC_SHA1_96] = 20,
				       [IKEV2_INTEG_HMAC_SHA2_256_128] = 32,
				       [IKEV2_INTEG_HMAC_SHA2_384_192] = 48,
				       [IKEV2_INTEG_HMAC_SHA2_512_256] = 64};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct ksa k;
		struct esp_sa sa;

		memset(&k, 0, sizeof(k));
		k.proto = IPPROTO_ESP;
		k.spi = 0x1000;
		k.mode = KMODE_TUNNEL;
		k.encr_id = algs[i].encr;
		k.encr_keybits = algs[i].bits;
		k.enc_key_len =
		    (uint16_t)(algs[i].bits / 8 +
			       (esp_encr_is_aead(k.encr_id) ? 4 : 0));
		k.integ_id = algs[i].integ;
		k.auth_key_len = alen[algs[i].integ];
		k.replay_window = 64;
		if (esp_sa_init(&sa, &k, 0, NULL, 0) == 0)
			esp_sa_free(&sa);
	}
}

/* ---- the privileged parent ------------------------------------------- */

struct parent {
	struct espd *d;
	pid_t child;
	int sp, sigfd;
	unsigned routes;
	bool stopping;
	uint64_t kill_at_ms;
};

/* One request from the worker; false when the worker closed its end. */
static bool parent_request(struct parent *p)
{
	uint8_t buf[RT_REQ_LEN + 1], rep[4];
	struct rt_req r;
	const char *why;
	char b[INET6_ADDRSTRLEN];
	ssize_t n = recv(p->sp, buf, sizeof(buf), MSG_DONTWAIT);
	int rc;

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	rc = espd_rt_check(buf, (size_t)n, &r, &why);
	if (rc < 0) {
		log_rl_warn(MOD, "privileged parent: route request refused: %s",
			    why);
	} else if (r.op == RT_ADD && p->routes >= ESPD_MAX_ROUTES) {
		log_rl_warn(MOD, "privileged parent: route limit (%u) reached",
			    ESPD_MAX_ROUTES);
		rc = -ENOSPC;
	} else {
		rc = rt_apply(p->d->nl, &p->d->nl_seq, p->d->tun_ifindex, &r);
		if (rc == 0 && r.op == RT_ADD)
			p->routes++;
		else if (rc == 0 && p->routes)
			p->routes--;
		log_debug(MOD, "privileged parent: route %s %s/%u: %s",
			  r.op == RT_ADD ? "add" : "del",
			  inet_ntop(r.af, r.dst.u.b, b, sizeof(b)) ? b : "?",
			  r.dst_plen, rc ? strerror(-rc) : "ok");
	}
	rep[0] = (uint8_t)((uint32_t)rc >> 24);
	rep[1] = (uint8_t)((uint32_t)rc >> 16);
	rep[2] = (uint8_t)((uint32_t)rc >> 8);
	rep[3] = (uint8_t)rc;
	(void)send(p->sp, rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
	return true;
}

/* Serves the worker until it is gone; returns its wait status. */
static int parent_loop(struct parent *p)
{
	int status = 0;

	for (;;) {
		struct pollfd pf[2] = {{.fd = p->sp, .events = POLLIN},
				       {.fd = p->sigfd, .events = POLLIN}};
		int timeout = p->sp < 0 ? 100 : -1;
		struct signalfd_siginfo si;

		if (p->stopping && p->kill_at_ms != UINT64_MAX) {
			uint64_t now = ev_now_ms();
			int left = now >= p->kill_at_ms
				       ? 0
				       : (int)(p->kill_at_ms - now);
			if (timeout < 0 || left < timeout)
				timeout = left;
		}
		if (poll(pf, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p->sp >= 0 &&
		    (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !parent_request(p)) {
			/* the worker closed its end: it is exiting */
			close(p->sp);
			p->sp = -1;
		}
		while (read(p->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if ((si.ssi_signo == SIGTERM ||
			     si.ssi_signo == SIGINT) &&
			    !p->stopping) {
				log_info(MOD, "signal %u: stopping the worker",
					 si.ssi_signo);
				kill(p->child, SIGTERM);
				p->stopping = true;
				p->kill_at_ms = ev_now_ms() + 5000;
			}
		}
		if (p->stopping && p->kill_at_ms != UINT64_MAX &&
		    ev_now_ms() >= p->kill_at_ms) {
			log_warn(MOD, "worker did not stop: SIGKILL");
			kill(p->child, SIGKILL);
			p->kill_at_ms = UINT64_MAX;
		}
		if (waitpid(p->child, &status, WNOHANG) == p->child)
			break;
	}
	return status;
}

/* The parent: never returns. */
static void parent_run(struct espd *d, pid_t child, int sp, int sigfd,
		       const struct espd_privsep_opts *o)
{
	struct parent p = {.d = d, .child = child, .sp = sp, .sigfd = sigfd};
	char why[256];
	unsigned purged;
	int status, rc;

	/* The packet path is the worker's: keep only the netlink socket. */
	if (d->tun_fd >= 0)
		close(d->tun_fd);
	d->tun_fd = -1;
	for (int g = 0; g < OUT_N; g++) {
		if (d->out_fd[g] >= 0)
			close(d->out_fd[g]);
		d->out_fd[g] = -1;
	}
	if (d->sink4 >= 0)
		close(d->sink4);
	if (d->sink6 >= 0)
		close(d->sink6);
	d->sink4 = d->sink6 = -1;
	ev_free(d->loop);
	d->loop = NULL;
	/* Root, but only what the route requests and the worker's
	 * shutdown need. */
	rc = sandbox_caps((UINT64_C(1) << CAP_NET_ADMIN) |
			      (UINT64_C(1) << CAP_KILL),
			  why, sizeof(why));
	if (rc < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		if (o->cleanup)
			o->cleanup(o->cleanup_arg);
		fatal(MOD, "privileged parent: %s", why);
	}
	status = parent_loop(&p);
	if (WIFSIGNALED(status))
		log_err(MOD, "worker %d killed by signal %d%s", (int)child,
			WTERMSIG(status),
			WTERMSIG(status) == SIGSYS ? " (seccomp: a system call "
						     "outside its allowlist)"
						   : "");
	else if (!p.stopping)
		log_err(MOD, "worker %d exited (status %d): exiting",
			(int)child, WEXITSTATUS(status));
	purged = espd_purge_routes(d->nl, &d->nl_seq, d->tun_ifindex);
	espd_rules(d->nl, &d->nl_seq, false);
	if (purged)
		log_info(MOD, "removed %u route%s the worker left", purged,
			 purged == 1 ? "" : "s");
	if (o->cleanup)
		o->cleanup(o->cleanup_arg);
	mnl_socket_close(d->nl);
	exit(WIFEXITED(status) && p.stopping ? WEXITSTATUS(status) : 1);
}

int espd_privsep(struct espd *d, const struct espd_privsep_opts *o)
{
	sigset_t mask, old;
	int sp[2], sigfd;
	pid_t parent = getpid(), child;
	struct timeval tv = {.tv_sec = 5};
	char why[256];
	struct sandbox_opts so = {
	    .user = o->user,
	    .chroot_dir = o->chroot_dir,
	    .pdeathsig = SIGKILL,
	    .parent = parent,
	    .seccomp = o->on_violation >= 0,
	    .base = true,
	    .allow = worker_syscalls,
	    .nallow = sizeof(worker_syscalls) / sizeof(worker_syscalls[0]),
	    .on_violation = o->on_violation >= 0
				? (enum sandbox_violation)o->on_violation
				: SANDBOX_KILL,
	};
	uid_t uid;
	gid_t gid;
	int rc;

	/* Fail before forking if the user is missing. */
	rc = sandbox_lookup_user(o->user, &uid, &gid, why, sizeof(why));
	if (rc < 0)
		return rc;
	crypto_preload();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	child = fork();
	if (child < 0) {
		rc = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sp[0]);
		close(sp[1]);
		return rc;
	}
	if (child > 0) {
		close(sp[1]);
		sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
		if (sigfd < 0) {
			kill(child, SIGKILL);
			fatal(MOD, "privileged parent: signalfd: %s",
			      strerror(errno));
		}
		parent_run(d, child, sp[0], sigfd, o);
	}
	/* the worker */
	close(sp[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	d->priv_fd = sp[1];
	setsockopt(d->priv_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	mnl_socket_close(d->nl);
	d->nl = NULL;
	rc = sandbox_enter(&so, why, sizeof(why));
	if (rc < 0)
		fatal(MOD, "worker sandbox: %s", why);
	log_info(MOD, "worker %d: user %s, %s%s, no capabilities, seccomp %s",
		 (int)getpid(), o->user ? o->user : SANDBOX_USER,
		 o->chroot_dir ? "chroot " : "no chroot",
		 o->chroot_dir ? o->chroot_dir : "", so.seccomp ? "on" : "off");
	return 0;
}
