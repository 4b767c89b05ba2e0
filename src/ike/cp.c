/*
 * cp.c - the IKEv2 configuration payload (RFC 7296 §3.15) in IKE_AUTH:
 * the responder leases INTERNAL_IP4/IP6_ADDRESS from the remote's
 * `provide { addresspool ...; dns ...; }` and answers CFG_REPLY; the
 * initiator sends CFG_REQUEST for its `request { ... }` bits and adds the
 * assigned address to an interface (lo by default; the userspace data
 * plane routes the remote selectors into its TUN device, and the source
 * address just has to be local).
 *
 * Ownership: leases and applied addresses are recorded in struct rw_sa
 * (rw_int.h) and undone by rw_ike_down().  The CP payload views borrow
 * the received message.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/priv.h"
#include "ike/rw.h"
#include "ike/rw_int.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "ike"

/* Attribute types: IKEV2_CFG_INTERNAL_* (ike/codec/ikev2_iana.h). */

/* One table drives the length checks of both directions (§3.15.1):
 * a request carries an empty value or a suggestion of this size. */
static const struct cpa_def {
	uint16_t type;
	uint8_t len; /* value length when not empty */
} cpa_defs[] = {
    {IKEV2_CFG_INTERNAL_IP4_ADDRESS, 4}, {IKEV2_CFG_INTERNAL_IP4_NETMASK, 4},
    {IKEV2_CFG_INTERNAL_IP4_DNS, 4},	 {IKEV2_CFG_INTERNAL_IP6_ADDRESS, 17},
    {IKEV2_CFG_INTERNAL_IP6_DNS, 16},
};

static const struct cpa_def *cpa_def(uint16_t type)
{
	for (size_t i = 0; i < sizeof(cpa_defs) / sizeof(cpa_defs[0]); i++)
		if (cpa_defs[i].type == type)
			return &cpa_defs[i];
	return NULL;
}

/* The first CP payload of type want, length-checked; false if none. */
static bool cp_find(const struct ike_msg *m, uint8_t want, struct ikev2_cp *cp)
{
	const struct ikev2_pl *pl = ikev2_msg_find(m, IKEV2_PL_CP);

	if (!pl || ikev2_get_cp(pl, cp) != 0 || cp->type != want)
		return false;
	for (unsigned i = 0; i < cp->nattr; i++) {
		const struct cpa_def *def = cpa_def(cp->attr[i].type);
		/* §3.15.1: unknown attributes are ignored; known ones
		 * must have their size. */
		if (def && cp->attr[i].len && cp->attr[i].len != def->len) {
			log_rl_warn(MOD,
				    "CP attribute %u with length %u "
				    "ignored",
				    cp->attr[i].type, cp->attr[i].len);
			cp->attr[i].type = 0;
		}
	}
	return true;
}

/* ---- responder ---- */

int cp_handle_request(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct rw_state *st;
	struct kaddr want4, want6;
	struct ikev2_cp cp;
	struct rw_sa *rec;
	char a[64], b1[300];
	int rc;

	if (!r || !cp_find(m, IKEV2_CFG_REQUEST, &cp))
		return 0;
	if (!(st = rw_get(sa->d)))
		return IKEV2_N_INTERNAL_ADDRESS_FAILURE;
	rec = rw_sa_rec(sa->d, sa->id, true);
	if (!rec)
		return IKEV2_N_INTERNAL_ADDRESS_FAILURE;
	rec->cp_req = true;
	memset(&want4, 0, sizeof(want4));
	memset(&want6, 0, sizeof(want6));
	for (unsigned i = 0; i < cp.nattr; i++) {
		const struct ikev2_cp_attr *at = &cp.attr[i];
		switch (at->type) {
		case IKEV2_CFG_INTERNAL_IP4_ADDRESS:
			rec->cp_v4 = true;
			if (at->len == 4) {
				want4.af = AF_INET;
				memcpy(want4.u.b, at->data, 4);
				if (!want4.u.v4.s_addr)
					want4.af = 0; /* 0.0.0.0: any */
			}
			break;
		case IKEV2_CFG_INTERNAL_IP6_ADDRESS:
			rec->cp_v6 = true;
			if (at->len == 17) {
				static const uint8_t zero[16];
				want6.af = AF_INET6;
				memcpy(want6.u.b, at->data, 16);
				if (!memcmp(want6.u.b, zero, 16))
					want6.af = 0;
			}
			break;
		case IKEV2_CFG_INTERNAL_IP4_DNS:
			rec->cp_dns4 = true;
			break;
		case IKEV2_CFG_INTERNAL_IP6_DNS:
			rec->cp_dns6 = true;
			break;
		default:
			break;
		}
	}
	if (rec->cp_v4 && !rec->lease4.af) {
		rc = rw_pool_alloc(&st->pool, r->pool_name, r->pool, r->npool,
				   AF_INET, &want4, &sa->id_peer, sa->id,
				   &rec->lease4);
		if (rc < 0)
			memset(&rec->lease4, 0, sizeof(rec->lease4));
	}
	if (rec->cp_v6 && !rec->lease6.af) {
		rc = rw_pool_alloc(&st->pool, r->pool_name, r->pool, r->npool,
				   AF_INET6, &want6, &sa->id_peer, sa->id,
				   &rec->lease6);
		if (rc < 0)
			memset(&rec->lease6, 0, sizeof(rec->lease6));
	}
	if ((rec->cp_v4 || rec->cp_v6) && !rec->lease4.af && !rec->lease6.af) {
		/* §3.15.4: nothing to give; the IKE SA stands, the child
		 * is refused with INTERNAL_ADDRESS_FAILURE. */
		log_warn(MOD, "IKE SA #%u: no address for %s (pool %s %s)",
			 sa->id, ike_id_str(&sa->id_peer, b1, sizeof(b1)),
			 r->pool_name[0] ? r->pool_name : "-",
			 r->npool ? "exhausted" : "not configured");
		rec->cp_err = IKEV2_N_INTERNAL_ADDRESS_FAILURE;
		return rec->cp_err;
	}
	if (rec->lease4.af)
		log_info(MOD, "IKE SA #%u: leased %s to %s", sa->id,
			 kaddr_str(&rec->lease4, a, sizeof(a)),
			 ike_id_str(&sa->id_peer, b1, sizeof(b1)));
	if (rec->lease6.af)
		log_info(MOD, "IKE SA #%u: leased %s to %s", sa->id,
			 kaddr_str(&rec->lease6, a, sizeof(a)),
			 ike_id_str(&sa->id_peer, b1, sizeof(b1)));
	return 0;
}

void cp_put_reply(struct ikev2_wr *b, struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct rw_sa *rec = sa->d->rw ? rw_sa_rec(sa->d, sa->id, false) : NULL;
	uint8_t v6[CFG_DNS_MAX + 1][17];
	struct ikev2_cp cp;
	size_t i, nv6 = 0;

	if (!rec || !rec->cp_req || rec->cp_err)
		return;
	memset(&cp, 0, sizeof(cp));
	cp.type = IKEV2_CFG_REPLY;
	if (rec->lease4.af)
		cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
		    IKEV2_CFG_INTERNAL_IP4_ADDRESS, rec->lease4.u.b, 4};
	if (rec->lease6.af) {
		/* §3.15.1: address followed by the prefix length. */
		memcpy(v6[nv6], rec->lease6.u.b, 16);
		v6[nv6][16] = 128;
		cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
		    IKEV2_CFG_INTERNAL_IP6_ADDRESS, v6[nv6++], 17};
	}
	for (i = 0; r && i < r->ndns && cp.nattr < IKEV2_MAX_CP_ATTRS; i++) {
		const struct kaddr *a = &r->dns[i];
		if (a->af == AF_INET && rec->cp_dns4)
			cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
			    IKEV2_CFG_INTERNAL_IP4_DNS, a->u.b, 4};
		else if (a->af == AF_INET6 && rec->cp_dns6)
			cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
			    IKEV2_CFG_INTERNAL_IP6_DNS, a->u.b, 16};
	}
	ikev2_put_cp(b, &cp);
}

/* ---- initiator ---- */

void cp_put_request(struct ikev2_wr *b, struct ike_sa *sa,
		    const struct ike_remote *r)
{
	struct ikev2_cp cp;
	struct rw_sa *rec;

	if (!r || !(r->cp_request & (RW_REQ_IP4 | RW_REQ_IP6 | RW_REQ_IP4_DNS |
				     RW_REQ_IP6_DNS)))
		return;
	memset(&cp, 0, sizeof(cp));
	cp.type = IKEV2_CFG_REQUEST;
	/* §3.15.1: empty values ask the responder to choose. */
	if (r->cp_request & RW_REQ_IP4)
		cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
		    IKEV2_CFG_INTERNAL_IP4_ADDRESS, NULL, 0};
	if (r->cp_request & RW_REQ_IP6)
		cp.attr[cp.nattr++] = (struct ikev2_cp_attr){
		    IKEV2_CFG_INTERNAL_IP6_ADDRESS, NULL, 0};
	if (r->cp_request & RW_REQ_IP4_DNS)
		cp.attr[cp.nattr++] =
		    (struct ikev2_cp_attr){IKEV2_CFG_INTERNAL_IP4_DNS, NULL, 0};
	if (r->cp_request & RW_REQ_IP6_DNS)
		cp.attr[cp.nattr++] =
		    (struct ikev2_cp_attr){IKEV2_CFG_INTERNAL_IP6_DNS, NULL, 0};
	ikev2_put_cp(b, &cp);
	rec = rw_sa_rec(sa->d, sa->id, true);
	if (rec)
		rec->cp_sent = true;
}

void cp_read_reply(struct ike_sa *sa, const struct ike_msg *m)
{
	struct rw_sa *rec = sa->d->rw ? rw_sa_rec(sa->d, sa->id, false) : NULL;
	struct ikev2_cp cp;
	char a[64];

	if (!rec || !rec->cp_sent)
		return;
	if (!cp_find(m, IKEV2_CFG_REPLY, &cp)) {
		log_warn(MOD, "IKE SA #%u: no CFG_REPLY to our request",
			 sa->id);
		return;
	}
	str_copy(rec->ifname, CP_IFNAME, sizeof(rec->ifname));
	for (unsigned i = 0; i < cp.nattr; i++) {
		const struct ikev2_cp_attr *at = &cp.attr[i];
		struct kaddr v;

		memset(&v, 0, sizeof(v));
		if (at->type == IKEV2_CFG_INTERNAL_IP4_ADDRESS &&
		    at->len == 4 && !rec->vip4.af) {
			v.af = AF_INET;
			memcpy(v.u.b, at->data, 4);
		} else if (at->type == IKEV2_CFG_INTERNAL_IP6_ADDRESS &&
			   at->len == 17 && !rec->vip6.af) {
			v.af = AF_INET6;
			memcpy(v.u.b, at->data, 16);
		} else if ((at->type == IKEV2_CFG_INTERNAL_IP4_DNS &&
			    at->len == 4) ||
			   (at->type == IKEV2_CFG_INTERNAL_IP6_DNS &&
			    at->len == 16)) {
			v.af = at->len == 4 ? AF_INET : AF_INET6;
			memcpy(v.u.b, at->data, at->len);
			log_info(MOD, "IKE SA #%u: DNS server %s", sa->id,
				 kaddr_str(&v, a, sizeof(a)));
			continue;
		} else {
			continue;
		}
		if (cp_addr_apply(&v, rec->ifname, true) < 0) {
			log_warn(MOD,
				 "IKE SA #%u: cannot add assigned "
				 "address %s to %s",
				 sa->id, kaddr_str(&v, a, sizeof(a)),
				 rec->ifname);
			continue;
		}
		if (v.af == AF_INET)
			rec->vip4 = v;
		else
			rec->vip6 = v;
		log_info(MOD, "IKE SA #%u: assigned address %s added to %s",
			 sa->id, kaddr_str(&v, a, sizeof(a)), rec->ifname);
	}
}

/* ---- netlink: RTM_NEWADDR / RTM_DELADDR ---- */

int cp_addr_apply(const struct kaddr *a, const char *ifname, bool add)
{
	uint8_t buf[8192];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned idx;
	uint32_t seq = (uint32_t)time(NULL);
	int rc = 0;
	ssize_t n;

	/* privilege separation: the parent does it (priv.h) */
	if (priv_fd >= 0)
		return priv_addr(a, ifname, add);
	idx = if_nametoindex(ifname);
	if (!idx || !a->af)
		return -ENODEV;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out_nl;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->af;
	ifa->ifa_prefixlen = a->af == AF_INET6 ? 128 : 32;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	if (a->af == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, a->af == AF_INET6 ? 16 : 4, a->u.b);
	mnl_attr_put(nlh, IFA_ADDRESS, a->af == AF_INET6 ? 16 : 4, a->u.b);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out_nl;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		rc = -errno;
	else if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl),
			    NULL, NULL) < 0 &&
		 !(errno == EEXIST && add) && !(errno == EADDRNOTAVAIL && !add))
		rc = -errno;
out_nl:
	mnl_socket_close(nl);
	return rc;
}
