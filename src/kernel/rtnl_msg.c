/*
 * rtnl_msg.c - parse the rtnetlink address and route messages (see
 * rtnl_msg.h).  No allocation, no socket.
 */
#include "kernel/rtnl_msg.h"

#include <errno.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

struct nrule {
	uint16_t min, max; /* payload bytes; max 0: not read, skipped */
};

struct nslot {
	bool present;
	struct rd r;
};

#define NR_MAX 32

/* RFC-less, so the source is include/uapi/linux/if_addr.h. */
static const struct nrule ifa_rules[NR_MAX] = {
    [IFA_ADDRESS] = {4, 16},  [IFA_LOCAL] = {4, 16},
    [IFA_LABEL] = {1, 16},    [IFA_BROADCAST] = {4, 4},
    [IFA_ANYCAST] = {16, 16}, [IFA_CACHEINFO] = {16, 16},
    [IFA_FLAGS] = {4, 4},
};

/* include/uapi/linux/rtnetlink.h */
static const struct nrule rta_rules[NR_MAX] = {
    [RTA_DST] = {4, 16},     [RTA_SRC] = {4, 16},     [RTA_IIF] = {4, 4},
    [RTA_OIF] = {4, 4},	     [RTA_GATEWAY] = {4, 16}, [RTA_PRIORITY] = {4, 4},
    [RTA_PREFSRC] = {4, 16}, [RTA_TABLE] = {4, 4},    [RTA_MARK] = {4, 4},
    [RTA_UID] = {4, 4},
};

/* The generic rules: header fits, nla_len >= 4 and within the message,
 * payload within the table's bounds, no duplicates; unknown types are
 * skipped (newer kernels). */
static int nattrs_parse(struct rd r, const struct nrule *rules,
			struct nslot tb[NR_MAX])
{
	memset(tb, 0, NR_MAX * sizeof(tb[0]));
	while (!rd_empty(&r)) {
		uint16_t len, type;
		struct rd payload;
		size_t pad;

		if (rd_h16(&r, &len) < 0 || rd_h16(&r, &type) < 0)
			return -EBADMSG;
		if (len < NLA_HDRLEN ||
		    rd_sub(&r, (size_t)len - NLA_HDRLEN, &payload) < 0)
			return -EBADMSG;
		pad = NLA_ALIGN(len) - len;
		if (pad > rd_left(&r))
			pad = rd_left(&r);
		rd_skip(&r, pad);
		type &= NLA_TYPE_MASK;
		if (type >= NR_MAX || rules[type].max == 0)
			continue;
		if (payload.len < rules[type].min ||
		    payload.len > rules[type].max || tb[type].present)
			return -EBADMSG;
		tb[type].present = true;
		tb[type].r = payload;
	}
	return 0;
}

/* An address attribute: exactly the family's size. */
static int nattr_addr(const struct nslot *s, uint8_t af, struct kaddr *a)
{
	struct rd r = s->r;
	size_t n = af == AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	if (!s->present)
		return 0;
	if (r.len != n || rd_bytes(&r, a->u.b, n) < 0)
		return -EBADMSG;
	a->af = af;
	return 0;
}

static int nattr_u32(const struct nslot *s, uint32_t *v)
{
	struct rd r = s->r;

	if (!s->present)
		return 0;
	return rd_h32(&r, v);
}

static int parse_addr(struct rd r, struct rtnl_ev *ev)
{
	struct nslot tb[NR_MAX];
	struct kaddr local, address;
	uint8_t af, flags8;

	/* struct ifaddrmsg: family, prefixlen, flags, scope, index */
	if (rd_u8(&r, &af) < 0 || rd_u8(&r, &ev->plen) < 0 ||
	    rd_u8(&r, &flags8) < 0 || rd_u8(&r, &ev->scope) < 0 ||
	    rd_h32(&r, &ev->ifindex) < 0)
		return -EBADMSG;
	if (af != AF_INET && af != AF_INET6)
		return -ENOENT;
	if (ev->plen > (af == AF_INET ? 32 : 128))
		return -EBADMSG;
	ev->flags = flags8;
	if (nattrs_parse(r, ifa_rules, tb) < 0 ||
	    nattr_addr(&tb[IFA_LOCAL], af, &local) < 0 ||
	    nattr_addr(&tb[IFA_ADDRESS], af, &address) < 0 ||
	    nattr_u32(&tb[IFA_FLAGS], &ev->flags) < 0)
		return -EBADMSG;
	/* IFA_LOCAL is the address on a point-to-point link, where
	 * IFA_ADDRESS is the peer's; otherwise they are the same. */
	ev->addr = local.af ? local : address;
	if (!ev->addr.af)
		return -EBADMSG;
	return 0;
}

static int parse_route(struct rd r, struct rtnl_ev *ev)
{
	struct nslot tb[NR_MAX];
	uint8_t af, src_len, tos, table, proto, type;
	uint32_t rflags;

	/* struct rtmsg: family, dst_len, src_len, tos, table, protocol,
	 * scope, type, flags */
	if (rd_u8(&r, &af) < 0 || rd_u8(&r, &ev->plen) < 0 ||
	    rd_u8(&r, &src_len) < 0 || rd_u8(&r, &tos) < 0 ||
	    rd_u8(&r, &table) < 0 || rd_u8(&r, &proto) < 0 ||
	    rd_u8(&r, &ev->scope) < 0 || rd_u8(&r, &type) < 0 ||
	    rd_h32(&r, &rflags) < 0)
		return -EBADMSG;
	if (af != AF_INET && af != AF_INET6)
		return -ENOENT;
	if (ev->plen > (af == AF_INET ? 32 : 128) ||
	    src_len > (af == AF_INET ? 32 : 128))
		return -EBADMSG;
	if (nattrs_parse(r, rta_rules, tb) < 0 ||
	    nattr_addr(&tb[RTA_DST], af, &ev->addr) < 0 ||
	    nattr_addr(&tb[RTA_PREFSRC], af, &ev->src) < 0 ||
	    nattr_u32(&tb[RTA_OIF], &ev->ifindex) < 0)
		return -EBADMSG;
	if (tb[RTA_GATEWAY].present) {
		struct kaddr gw;

		if (nattr_addr(&tb[RTA_GATEWAY], af, &gw) < 0)
			return -EBADMSG;
	}
	ev->addr.af = af; /* a default route has no RTA_DST */
	return 0;
}

int rtnl_parse(const struct xnl_msg *m, struct rtnl_ev *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = m->type;
	switch (m->type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return parse_addr(m->payload, ev);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return parse_route(m->payload, ev);
	default:
		return -ENOENT;
	}
}
