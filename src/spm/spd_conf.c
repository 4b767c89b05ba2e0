/*
 * spd_conf.c - racoon2.conf selectors/policies -> kernel policies.
 *
 * Mapping (racoon2 semantics, RFC 4301 §4.4.1 SPD entries):
 *   selector direction outbound -> one OUT policy (src -> dst);
 *   selector direction inbound  -> one IN policy (src -> dst, as
 *     written: src is the peer side) and, in tunnel mode, the FWD
 *     policy Linux checks for forwarded packets (not when the backend
 *     has no fwd SPD: kernel.h KF_FWD_POLICY, BSD PF_KEY);
 *   action auto_ipsec/static_ipsec -> IPsec templates from the first
 *     ipsec of ipsec_index: ipcomp (level use), esp, ah, innermost
 *     first; tunnel endpoints from my_sa_ipaddr/peers_sa_ipaddr;
 *   action discard -> block; action none -> bypass.
 * Every entry copies the selector/policy/remote names it came from.
 */
#include "spm/spd_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "spm/spmif_proto.h"

#define MOD	   "spd"
#define MAX_EXPAND 64 /* addresses per selector side (MY_IP on big hosts) */

struct xaddr {
	struct kaddr a;
	uint8_t plen;
	uint16_t port;
};

struct xlist {
	struct xaddr v[MAX_EXPAND];
	size_t n;
	bool truncated;
};

static int sa_to_kaddr(const struct sockaddr *sa, struct kaddr *a,
		       uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		a->af = AF_INET;
		a->u.v4 = s4->sin_addr;
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		a->af = AF_INET6;
		a->u.v6 = s6->sin6_addr;
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int expand_cb(const struct sockaddr *sa, socklen_t salen, unsigned plen,
		     void *arg)
{
	struct xlist *l = arg;
	struct xaddr x;

	if (sa_to_kaddr(sa, &x.a, &x.port) < 0)
		return 0;
	x.plen = (uint8_t)plen;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].a.af == x.a.af && l->v[i].plen == x.plen &&
		    !memcmp(l->v[i].a.u.b, x.a.u.b, 16))
			return 0;
	if (l->n >= MAX_EXPAND) {
		l->truncated = true;
		return 0;
	}
	l->v[l->n++] = x;
	return 0;
}

static int expand(const struct conf_addr *a, struct xlist *l)
{
	l->n = 0;
	l->truncated = false;
	if (a->kind == CONF_ADDR_UNSET) {
		/* racoon2: an omitted selector address is IP_ANY */
		struct conf_addr any = {.kind = CONF_ADDR_ANY};

		return conf_addr_expand(&any, expand_cb, l);
	}
	return conf_addr_expand(a, expand_cb, l);
}

/* First concrete address of a (preferring family af when non-zero). */
static bool first_addr(const struct conf_addr *a, uint8_t af, struct kaddr *out)
{
	struct xlist l;

	memset(out, 0, sizeof(*out));
	if (a->kind == CONF_ADDR_UNSET || a->kind == CONF_ADDR_RW ||
	    a->kind == CONF_ADDR_ANY)
		return false;
	if (expand(a, &l) < 0 || l.n == 0)
		return false;
	for (size_t i = 0; i < l.n; i++) {
		if (!af || l.v[i].a.af == af) {
			*out = l.v[i].a;
			return true;
		}
	}
	*out = l.v[0].a;
	return true;
}

uint32_t spd_priority(const struct ksel *s)
{
	/* XFRM picks the lowest priority first; more specific selectors
	 * must win over wildcards (RFC 4301 §4.4.1 ordered SPD). */
	uint32_t p = 2000;

	p -= 2u * (s->src_plen + s->dst_plen);
	if (s->proto)
		p -= 4;
	if (s->sport_mask)
		p -= 1;
	if (s->dport_mask)
		p -= 1;
	return p;
}

static enum spmif_kmp first_kmp(const struct conf_remote *r)
{
	if (!r || r->n_acceptable_kmp == 0)
		return 0;
	switch (r->acceptable_kmp[0]) {
	case CONF_KMP_IKEV2:
		return SPMIF_KMP_IKEV2;
	case CONF_KMP_IKEV1:
		return SPMIF_KMP_IKEV1;
	case CONF_KMP_KINK:
		return SPMIF_KMP_KINK;
	default:
		return 0;
	}
}

/* src truncated to fit, as snprintf("%s") did */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Names, action and templates; sel/dir filled by the caller. */
static int fill_common(const struct conf_selector *cs, const struct kaddr *my,
		       const struct kaddr *peer, bool sa_forward,
		       uint32_t reqid, struct spd_entry *e, char *errbuf,
		       size_t errlen)
{
	const struct conf_policy *p = cs->policy;
	const struct conf_ipsec *ip;
	const struct conf_sa *bundle[3];
	size_t nb = 0;

	copy_str(e->selector, sizeof(e->selector), cs->name);
	copy_str(e->policy, sizeof(e->policy), p->name);
	copy_str(e->remote, sizeof(e->remote),
		 p->remote ? p->remote->name : NULL);
	e->kmp = first_kmp(p->remote);
	switch (p->action) {
	case CONF_ACTION_DISCARD:
		e->kp.action = KPOL_DISCARD;
		return 0;
	case CONF_ACTION_NONE:
		e->kp.action = KPOL_BYPASS;
		return 0;
	case CONF_ACTION_AUTO_IPSEC:
	case CONF_ACTION_STATIC_IPSEC:
		e->kp.action = KPOL_IPSEC;
		break;
	}
	if (p->nipsec == 0 || !p->ipsec[0]) {
		spd_errf(errbuf, errlen, "%s:%u: policy %s has no ipsec\n",
			 p->loc.file, p->loc.line, p->name);
		return -EINVAL;
	}
	ip = p->ipsec[0];
	/* innermost first: compression, then ESP, then AH */
	if (ip->ipcomp)
		bundle[nb++] = ip->ipcomp;
	if (ip->esp)
		bundle[nb++] = ip->esp;
	if (ip->ah)
		bundle[nb++] = ip->ah;
	if (nb == 0) {
		spd_errf(errbuf, errlen, "%s:%u: ipsec %s has no sa\n",
			 ip->loc.file, ip->loc.line, ip->name);
		return -EINVAL;
	}
	for (size_t i = 0; i < nb; i++) {
		struct ktmpl *t = &e->kp.tmpl[i];

		switch (bundle[i]->sa_protocol) {
		case CONF_SA_ESP:
			t->proto = IPPROTO_ESP;
			break;
		case CONF_SA_AH:
			t->proto = IPPROTO_AH;
			break;
		case CONF_SA_IPCOMP:
			t->proto = IPPROTO_COMP;
			break;
		}
		switch (p->ipsec_level) {
		case CONF_LEVEL_REQUIRE:
			t->level = KLEVEL_REQUIRE;
			break;
		case CONF_LEVEL_USE:
			t->level = KLEVEL_USE;
			break;
		case CONF_LEVEL_UNIQUE:
			t->level = KLEVEL_UNIQUE;
			break;
		}
		/* RFC 3173 §2.1: small packets are sent uncompressed */
		if (t->proto == IPPROTO_COMP)
			t->level = KLEVEL_USE;
		t->reqid = reqid;
		/* a bundle has one tunnel: the innermost SA */
		if (p->ipsec_mode == CONF_MODE_TUNNEL && i == 0) {
			t->mode = KMODE_TUNNEL;
			t->src = sa_forward ? *my : *peer;
			t->dst = sa_forward ? *peer : *my;
		} else {
			t->mode = KMODE_TRANSPORT;
		}
	}
	e->kp.ntmpl = (unsigned)nb;
	return 0;
}

static void fill_sel(struct ksel *s, const struct xaddr *src,
		     const struct xaddr *dst, const struct conf_selector *cs)
{
	memset(s, 0, sizeof(*s));
	s->af = src->a.af;
	s->src = src->a;
	s->dst = dst->a;
	s->src_plen = src->plen;
	s->dst_plen = dst->plen;
	if (cs->upper_layer_protocol != CONF_PROTO_ANY)
		s->proto = (uint8_t)cs->upper_layer_protocol;
	if ((s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) &&
	    cs->ul_type >= 0) {
		/* XFRM carries the ICMP type/code in the port fields */
		s->sport = (uint16_t)cs->ul_type;
		s->sport_mask = 0xffff;
		if (cs->ul_code >= 0) {
			s->dport = (uint16_t)cs->ul_code;
			s->dport_mask = 0xffff;
		}
		return;
	}
	if (src->port) {
		s->sport = src->port;
		s->sport_mask = 0xffff;
	}
	if (dst->port) {
		s->dport = dst->port;
		s->dport_mask = 0xffff;
	}
}

/* One end of a selector in a reqid key: family, address (zero past its
 * length), prefix length, port (big endian). */
#define EP_LEN 20
static void pair_ep(uint8_t *o, const struct kaddr *a, uint8_t plen,
		    uint16_t port)
{
	size_t al = a->af == AF_INET ? 4 : a->af == AF_INET6 ? 16 : 0;

	memset(o, 0, EP_LEN);
	o[0] = a->af;
	memcpy(o + 1, a->u.b, al);
	o[17] = plen;
	o[18] = (uint8_t)(port >> 8);
	o[19] = (uint8_t)port;
}

/* Policy name, NUL, protocol, then the two ends in a fixed order: both
 * directions of a pair share a reqid.  Binary: no address is formatted
 * (a text key cost 1 us per selector at 100,000 policies). */
static uint32_t pair_reqid(struct spd *spd, const struct conf_selector *cs,
			   const struct ksel *s)
{
	uint8_t a[EP_LEN], b[EP_LEN], buf[256], *key = buf;
	size_t nl, n;
	uint32_t r;

	if (cs->has_reqid)
		return cs->reqid;
	nl = strlen(cs->policy->name);
	n = nl + 2 + 2 * EP_LEN;
	if (n > sizeof(buf) && !(key = malloc(n)))
		return spd_reqid_fresh(spd);
	pair_ep(a, &s->src, s->src_plen, s->sport);
	pair_ep(b, &s->dst, s->dst_plen, s->dport);
	memcpy(key, cs->policy->name, nl);
	key[nl] = '\0';
	key[nl + 1] = s->proto;
	if (memcmp(a, b, EP_LEN) > 0) {
		memcpy(key + nl + 2, b, EP_LEN);
		memcpy(key + nl + 2 + EP_LEN, a, EP_LEN);
	} else {
		memcpy(key + nl + 2, a, EP_LEN);
		memcpy(key + nl + 2 + EP_LEN, b, EP_LEN);
	}
	r = spd_reqid_for_key(spd, key, n);
	if (key != buf)
		free(key);
	return r;
}

static bool is_rw(const struct conf_addr *a)
{
	return a->kind == CONF_ADDR_RW;
}

static int build_selector(struct spd *spd, const struct conf_selector *cs,
			  struct spd_set *out, char *errbuf, size_t errlen)
{
	const struct conf_policy *p = cs->policy;
	bool tunnel = p->ipsec_mode == CONF_MODE_TUNNEL &&
		      (p->action == CONF_ACTION_AUTO_IPSEC ||
		       p->action == CONF_ACTION_STATIC_IPSEC);
	struct xlist *src = NULL, *dst = NULL;
	struct kaddr my, peer;
	int rc = 0;

	if (!p->install) {
		log_debug(MOD, "selector %s: policy %s has install off",
			  cs->name, p->name);
		return 0;
	}
	if (is_rw(&cs->src) || is_rw(&cs->dst) || is_rw(&p->peers_sa_ipaddr) ||
	    is_rw(&p->my_sa_ipaddr)) {
		log_debug(MOD,
			  "selector %s: road-warrior template, installed "
			  "on demand",
			  cs->name);
		return 0;
	}
	memset(&my, 0, sizeof(my));
	memset(&peer, 0, sizeof(peer));
	if (tunnel) {
		if (!first_addr(&p->peers_sa_ipaddr, 0, &peer)) {
			spd_errf(errbuf, errlen,
				 "%s:%u: policy %s: tunnel "
				 "mode needs a concrete peers_sa_ipaddr; "
				 "selector %s not installed\n",
				 p->loc.file, p->loc.line, p->name, cs->name);
			return 0;
		}
		if (!first_addr(&p->my_sa_ipaddr, peer.af, &my) ||
		    my.af != peer.af) {
			spd_errf(errbuf, errlen,
				 "%s:%u: policy %s: tunnel "
				 "mode needs my_sa_ipaddr of the same family "
				 "as peers_sa_ipaddr; selector %s not "
				 "installed\n",
				 p->loc.file, p->loc.line, p->name, cs->name);
			return 0;
		}
	}
	src = calloc(1, sizeof(*src));
	dst = calloc(1, sizeof(*dst));
	if (!src || !dst) {
		rc = -ENOMEM;
		goto free_lists;
	}
	if (expand(&cs->src, src) < 0 || expand(&cs->dst, dst) < 0 ||
	    src->n == 0 || dst->n == 0) {
		spd_errf(errbuf, errlen,
			 "%s:%u: selector %s: address does "
			 "not expand to anything; not installed\n",
			 cs->loc.file, cs->loc.line, cs->name);
		goto free_lists;
	}
	if (src->truncated || dst->truncated)
		log_warn(MOD,
			 "selector %s: more than %d addresses, extra ones "
			 "ignored",
			 cs->name, MAX_EXPAND);
	for (size_t i = 0; i < src->n; i++) {
		for (size_t j = 0; j < dst->n; j++) {
			struct spd_entry e;

			if (src->v[i].a.af != dst->v[j].a.af)
				continue;
			memset(&e, 0, sizeof(e));
			fill_sel(&e.kp.sel, &src->v[i], &dst->v[j], cs);
			e.kp.priority = spd_priority(&e.kp.sel);
			e.kp.dir = cs->direction == CONF_DIR_OUTBOUND ? KDIR_OUT
								      : KDIR_IN;
			rc = fill_common(cs, &my, &peer,
					 cs->direction == CONF_DIR_OUTBOUND, 0,
					 &e, errbuf, errlen);
			if (rc == -EINVAL) {
				rc = 0;
				goto free_lists;
			}
			if (e.kp.action == KPOL_IPSEC) {
				uint32_t r = pair_reqid(spd, cs, &e.kp.sel);

				for (unsigned t = 0; t < e.kp.ntmpl; t++)
					e.kp.tmpl[t].reqid = r;
			}
			if ((rc = spd_set_push(out, &e)) < 0)
				goto free_lists;
			/* BSD PF_KEY has no fwd SPD and refuses one */
			if (tunnel && e.kp.dir == KDIR_IN &&
			    k_has(spd->k, KF_FWD_POLICY)) {
				e.kp.dir = KDIR_FWD;
				if ((rc = spd_set_push(out, &e)) < 0)
					goto free_lists;
			}
		}
	}
free_lists:
	free(src);
	free(dst);
	return rc;
}

int spd_conf_build(struct spd *spd, const struct conf *c, struct spd_set *out,
		   char *errbuf, size_t errlen)
{
	int rc;

	/* explicit reqids first, so automatic ones avoid them */
	for (size_t i = 0; i < c->nselectors; i++)
		if (c->selectors[i]->has_reqid)
			spd_reqid_reserve(spd, c->selectors[i]->reqid);
	for (size_t i = 0; i < c->nselectors; i++) {
		const struct conf_selector *cs = c->selectors[i];

		if (!cs->policy)
			continue;
		rc = build_selector(spd, cs, out, errbuf, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void kaddr_to_sa(const struct kaddr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr = a->u.v4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = a->u.v6;
	}
}

int spd_conf_dynamic(struct spd *spd, const struct conf *c,
		     const struct spd_dyn_req *q, struct spd_entry e[3],
		     size_t *n, char *errbuf, size_t errlen)
{
	const struct conf_selector *cs = conf_selector_find(c, q->selector);
	const struct conf_policy *p;
	struct sockaddr_storage ss;
	struct xaddr src, dst;
	struct kaddr my, peer;
	enum kmode mode;
	bool outbound;
	uint32_t reqid;
	int rc;

	*n = 0;
	if (!cs) {
		spd_errf(errbuf, errlen, "no selector %s", q->selector);
		return -ENOENT;
	}
	p = cs->policy;
	if (q->sp_src.af != q->sp_dst.af) {
		spd_errf(errbuf, errlen, "src and dst of different families");
		return -EINVAL;
	}
	/* racoon2 spmif: SP_SRC/SP_DST have to match the selector */
	kaddr_to_sa(&q->sp_src, &ss);
	if (cs->src.kind != CONF_ADDR_UNSET &&
	    !conf_addr_match(&cs->src, (struct sockaddr *)&ss)) {
		spd_errf(errbuf, errlen, "src does not match selector %s",
			 cs->name);
		return -EINVAL;
	}
	kaddr_to_sa(&q->sp_dst, &ss);
	if (cs->dst.kind != CONF_ADDR_UNSET &&
	    !conf_addr_match(&cs->dst, (struct sockaddr *)&ss)) {
		spd_errf(errbuf, errlen, "dst does not match selector %s",
			 cs->name);
		return -EINVAL;
	}
	mode =
	    p->ipsec_mode == CONF_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	if (q->has_mode)
		mode = q->mode;
	outbound = cs->direction == CONF_DIR_OUTBOUND;
	memset(&my, 0, sizeof(my));
	memset(&peer, 0, sizeof(peer));
	if (mode == KMODE_TUNNEL && p->action != CONF_ACTION_DISCARD &&
	    p->action != CONF_ACTION_NONE) {
		/* sa_src/sa_dst are given in the selector's direction */
		if (q->sa_src.af && q->sa_dst.af) {
			my = outbound ? q->sa_src : q->sa_dst;
			peer = outbound ? q->sa_dst : q->sa_src;
		} else if (!first_addr(&p->peers_sa_ipaddr, 0, &peer)) {
			spd_errf(errbuf, errlen,
				 "tunnel mode needs sa_src "
				 "and sa_dst");
			return -EINVAL;
		} else {
			(void)first_addr(&p->my_sa_ipaddr, peer.af, &my);
		}
	}

	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	src.a = q->sp_src;
	src.plen = q->src_plen;
	dst.a = q->sp_dst;
	dst.plen = q->dst_plen;
	src.port = q->has_sport ? q->sport : cs->src.port;
	dst.port = q->has_dport ? q->dport : cs->dst.port;

	memset(e, 0, 3 * sizeof(*e));
	fill_sel(&e[0].kp.sel, &src, &dst, cs);
	if (q->has_proto)
		e[0].kp.sel.proto = q->proto;
	reqid = spd_reqid_fresh(spd);
	rc =
	    fill_common(cs, &my, &peer, outbound, reqid, &e[0], errbuf, errlen);
	if (rc < 0)
		return rc;
	for (unsigned t = 0; t < e[0].kp.ntmpl; t++) {
		struct ktmpl *tp = &e[0].kp.tmpl[t];

		tp->reqid = reqid;
		if (t == 0 && mode == KMODE_TUNNEL &&
		    e[0].kp.action == KPOL_IPSEC) {
			tp->mode = KMODE_TUNNEL;
			tp->src = outbound ? my : peer;
			tp->dst = outbound ? peer : my;
		} else {
			tp->mode = KMODE_TRANSPORT;
			memset(&tp->src, 0, sizeof(tp->src));
			memset(&tp->dst, 0, sizeof(tp->dst));
		}
	}
	e[0].kp.dir = outbound ? KDIR_OUT : KDIR_IN;
	e[0].kp.priority = spd_priority(&e[0].kp.sel);

	/* the reverse direction: swap selector and tunnel endpoints */
	e[1] = e[0];
	e[1].kp.dir = outbound ? KDIR_IN : KDIR_OUT;
	e[1].kp.sel.src = e[0].kp.sel.dst;
	e[1].kp.sel.dst = e[0].kp.sel.src;
	e[1].kp.sel.src_plen = e[0].kp.sel.dst_plen;
	e[1].kp.sel.dst_plen = e[0].kp.sel.src_plen;
	if (!(e[0].kp.sel.proto == IPPROTO_ICMP ||
	      e[0].kp.sel.proto == IPPROTO_ICMPV6)) {
		e[1].kp.sel.sport = e[0].kp.sel.dport;
		e[1].kp.sel.sport_mask = e[0].kp.sel.dport_mask;
		e[1].kp.sel.dport = e[0].kp.sel.sport;
		e[1].kp.sel.dport_mask = e[0].kp.sel.sport_mask;
	}
	for (unsigned t = 0; t < e[1].kp.ntmpl; t++) {
		struct ktmpl *tp = &e[1].kp.tmpl[t];
		struct kaddr x = tp->src;

		tp->src = tp->dst;
		tp->dst = x;
	}
	e[1].kp.priority = spd_priority(&e[1].kp.sel);
	*n = 2;
	if (mode == KMODE_TUNNEL && e[0].kp.action == KPOL_IPSEC &&
	    k_has(spd->k, KF_FWD_POLICY)) {
		/* Linux checks forwarded traffic against the fwd SPD (the
		 * BSDs have none: no KF_FWD_POLICY) */
		e[2] = e[0].kp.dir == KDIR_IN ? e[0] : e[1];
		e[2].kp.dir = KDIR_FWD;
		*n = 3;
	}
	for (size_t i = 0; i < *n; i++)
		e[i].kp.hard_add_expires_sec =
		    q->lifetime_sec ? q->lifetime_sec + 5 : 0;
	return 0;
}

const char *spd_conf_socket(const struct conf *c)
{
	for (size_t i = 0; i < c->iface.spmd.n; i++)
		if (c->iface.spmd.v[i].kind == CONF_ADDR_UNIX &&
		    c->iface.spmd.v[i].name)
			return c->iface.spmd.v[i].name;
	return SPMD_DEFAULT_SOCKET;
}
