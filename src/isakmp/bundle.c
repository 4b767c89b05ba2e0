/*
 * bundle.c - IPsec SA bundles (AH, ESP, IPComp ANDed) in Phase 2 SA
 * payloads: our offer, the responder's choice and reply, the
 * initiator's check of the reply (see bundle.h).
 */
#include <errno.h>
#include <string.h>

#include "isakmp/bundle.h"

uint16_t isakmp_ah_auth(uint8_t ah_id)
{
	/* RFC 2407 §4.4.3, RFC 4868 §2.4: AH_x needs Auth Alg HMAC-x */
	switch (ah_id) {
	case ISAKMP_AH_MD5:
		return ISAKMP_AUTH_HMAC_MD5;
	case ISAKMP_AH_SHA:
		return ISAKMP_AUTH_HMAC_SHA1;
	case ISAKMP_AH_SHA2_256:
		return ISAKMP_AUTH_HMAC_SHA2_256;
	case ISAKMP_AH_SHA2_384:
		return ISAKMP_AUTH_HMAC_SHA2_384;
	case ISAKMP_AH_SHA2_512:
		return ISAKMP_AUTH_HMAC_SHA2_512;
	default:
		return 0;
	}
}

static void put_spi(struct isakmp_prop *p, uint32_t spi, uint8_t size)
{
	p->spi_size = size;
	for (unsigned i = 0; i < size; i++)
		p->spi[i] = (uint8_t)(spi >> (8 * (size - 1 - i)));
}

static uint32_t get_spi(const struct isakmp_prop *p)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < p->spi_size && i < 4; i++)
		v = v << 8 | p->spi[i];
	return v;
}

static void xf_common(const struct isakmp_bundle_conf *c,
		      struct isakmp_xform *x, uint8_t num)
{
	x->num = num;
	x->encap = c->encap;
	x->group = c->group;
	x->life_sec = c->life_sec;
}

/* One AND-set numbered num: AH, ESP, then IPComp when with_comp. */
static int put_set(const struct isakmp_bundle_conf *c,
		   const struct isakmp_bundle_spis *ours, uint8_t num,
		   bool with_comp, struct isakmp_sa *sa)
{
	struct isakmp_prop *p;

	if (c->n_ah) {
		if (sa->n_props >= ISAKMP_MAX_PROPS)
			return -EINVAL;
		p = &sa->p[sa->n_props++];
		p->num = num;
		p->proto = ISAKMP_PROTO_AH;
		put_spi(p, ours->ah, 4);
		for (unsigned i = 0; i < c->n_ah; i++) {
			struct isakmp_xform *x = &p->x[p->n_xforms++];

			xf_common(c, x, (uint8_t)(i + 1));
			x->id = c->ah[i].id;
			x->auth = c->ah[i].auth;
		}
	}
	if (c->n_esp) {
		if (sa->n_props >= ISAKMP_MAX_PROPS)
			return -EINVAL;
		p = &sa->p[sa->n_props++];
		p->num = num;
		p->proto = ISAKMP_PROTO_ESP;
		put_spi(p, ours->esp, 4);
		for (unsigned i = 0; i < c->n_esp; i++) {
			struct isakmp_xform *x = &p->x[p->n_xforms++];

			xf_common(c, x, (uint8_t)(i + 1));
			x->id = c->esp[i].id;
			x->auth = c->esp[i].auth;
			x->keylen = c->esp[i].keybits;
		}
	}
	if (with_comp) {
		if (sa->n_props >= ISAKMP_MAX_PROPS)
			return -EINVAL;
		p = &sa->p[sa->n_props++];
		p->num = num;
		p->proto = ISAKMP_PROTO_IPCOMP;
		/* RFC 3173 §4.1: the CPI as a 2-octet SPI */
		put_spi(p, ours->cpi, 2);
		p->n_xforms = 1;
		xf_common(c, &p->x[0], 1);
		/* no PFS group on a transform without keys */
		p->x[0].group = 0;
		p->x[0].id = c->ipcomp;
	}
	return 0;
}

int isakmp_bundle_offer(const struct isakmp_bundle_conf *c,
			const struct isakmp_bundle_spis *ours,
			struct isakmp_sa *sa)
{
	bool comp = c->ipcomp && ours->cpi;
	int rc;

	memset(sa, 0, sizeof(*sa));
	sa->doi = ISAKMP_DOI_IPSEC;
	sa->sit = ISAKMP_SIT_IDENTITY_ONLY;
	if ((!c->n_esp && !c->n_ah) || c->n_esp > ISAKMP_MAX_XFORMS ||
	    c->n_ah > ISAKMP_MAX_XFORMS ||
	    c->n_esp > ISAKMP_BUNDLE_MAX_SUITES ||
	    c->n_ah > ISAKMP_BUNDLE_MAX_SUITES)
		return -EINVAL;
	rc = put_set(c, ours, 1, comp, sa);
	/* RFC 3173 §2.1: IPComp is optional: the same set without it */
	if (!rc && comp)
		rc = put_set(c, ours, 2, false, sa);
	return rc;
}

/* RFC 2407 §4.5: attributes all protocols of the set share.  life_kb
 * and unknown attributes: not a transform we take. */
static bool xf_common_ok(const struct isakmp_bundle_conf *c,
			 const struct isakmp_xform *x, bool keyless)
{
	if (x->unknown_attr || x->life_kb)
		return false;
	/* IPComp (no keys) may leave out mode and group */
	if (keyless)
		return (!x->encap || x->encap == c->encap) &&
		       (!x->group || x->group == c->group);
	/* RFC 2409 §5.5: PFS as configured, no other group */
	return x->encap == c->encap && x->group == c->group;
}

static bool esp_ok(const struct isakmp_bundle_conf *c,
		   const struct isakmp_xform *x)
{
	if (!xf_common_ok(c, x, false))
		return false;
	for (unsigned i = 0; i < c->n_esp; i++)
		if (c->esp[i].id == x->id && c->esp[i].auth == x->auth &&
		    c->esp[i].keybits == x->keylen)
			return true;
	return false;
}

static bool ah_ok(const struct isakmp_bundle_conf *c,
		  const struct isakmp_xform *x)
{
	/* RFC 2407 §4.4.3: the attribute must name the ID's hash */
	if (!xf_common_ok(c, x, false) || x->keylen ||
	    x->auth != isakmp_ah_auth(x->id))
		return false;
	for (unsigned i = 0; i < c->n_ah; i++)
		if (c->ah[i].id == x->id && c->ah[i].auth == x->auth)
			return true;
	return false;
}

static bool comp_ok(const struct isakmp_bundle_conf *c,
		    const struct isakmp_xform *x)
{
	return c->ipcomp && x->id == c->ipcomp && !x->auth && !x->keylen &&
	       xf_common_ok(c, x, true);
}

/* RFC 3173 §3.3: negotiated CPIs are 256-61439; RFC 3173 §4.1: the
 * 4-octet form has the CPI in its low-order octets. */
static bool cpi_ok(const struct isakmp_prop *p)
{
	uint32_t v = get_spi(p);

	return (p->spi_size == 2 || p->spi_size == 4) && v >= 256 && v <= 61439;
}

static bool spi_ok(const struct isakmp_prop *p)
{
	if (p->proto == ISAKMP_PROTO_IPCOMP)
		return cpi_ok(p);
	/* RFC 2407 §4.4.1: 4 octets; RFC 4303 §2.1: 1-255 reserved */
	return p->spi_size == 4 && get_spi(p) >= 256;
}

static void life_min(struct isakmp_bundle *b, const struct isakmp_xform *x)
{
	if (x->life_sec && (!b->life_sec || x->life_sec < b->life_sec))
		b->life_sec = x->life_sec;
}

/* Proposals [from, to) of one number: AND-set, the first transform of
 * each protocol that c accepts.  true: b filled. */
static bool set_choose(const struct isakmp_bundle_conf *c,
		       const struct isakmp_sa *in, unsigned from, unsigned to,
		       struct isakmp_bundle *b)
{
	memset(b, 0, sizeof(*b));
	b->num = in->p[from].num;
	b->life_sec = c->life_sec;
	b->group = c->group;
	for (unsigned pi = from; pi < to; pi++) {
		const struct isakmp_prop *p = &in->p[pi];
		const struct isakmp_xform *x = NULL;
		bool (*ok)(const struct isakmp_bundle_conf *,
			   const struct isakmp_xform *);
		bool *has;

		switch (p->proto) {
		case ISAKMP_PROTO_AH:
			ok = ah_ok;
			has = &b->has_ah;
			break;
		case ISAKMP_PROTO_ESP:
			ok = esp_ok;
			has = &b->has_esp;
			break;
		case ISAKMP_PROTO_IPCOMP:
			ok = comp_ok;
			has = &b->has_ipcomp;
			break;
		default:
			return false;
		}
		/* a protocol twice in one AND-set is not a bundle */
		if (*has || !spi_ok(p))
			return false;
		for (unsigned i = 0; i < p->n_xforms && !x; i++)
			if (ok(c, &p->x[i]))
				x = &p->x[i];
		if (!x)
			return false;
		*has = true;
		life_min(b, x);
		switch (p->proto) {
		case ISAKMP_PROTO_AH:
			b->ah_x = *x;
			b->peer.ah = get_spi(p);
			break;
		case ISAKMP_PROTO_ESP:
			b->esp_x = *x;
			b->peer.esp = get_spi(p);
			break;
		default:
			b->ipcomp_x = *x;
			b->peer.cpi = (uint16_t)get_spi(p);
			break;
		}
	}
	/* exactly the bundle's AH and ESP; IPComp optional */
	return b->has_ah == (c->n_ah != 0) && b->has_esp == (c->n_esp != 0);
}

int isakmp_bundle_choose(const struct isakmp_bundle_conf *c,
			 const struct isakmp_sa *in, struct isakmp_bundle *b)
{
	unsigned from = 0;

	while (from < in->n_props) {
		unsigned to = from + 1;

		while (to < in->n_props && in->p[to].num == in->p[from].num)
			to++;
		if (set_choose(c, in, from, to, b))
			return 0;
		from = to;
	}
	memset(b, 0, sizeof(*b));
	return ISAKMP_N_NO_PROPOSAL_CHOSEN;
}

static void reply_prop(struct isakmp_sa *r, uint8_t num, uint8_t proto,
		       uint32_t spi, uint8_t spi_size,
		       const struct isakmp_xform *x)
{
	struct isakmp_prop *p = &r->p[r->n_props++];

	p->num = num;
	p->proto = proto;
	put_spi(p, spi, spi_size);
	p->n_xforms = 1;
	p->x[0] = *x;
}

int isakmp_bundle_reply(const struct isakmp_sa *in,
			const struct isakmp_bundle *b,
			const struct isakmp_bundle_spis *ours,
			struct isakmp_sa *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (b->has_ipcomp && ours->cpi < 256)
		return -EINVAL;
	/* RFC 2408 §4.2: the chosen proposals, one transform each, numbers
	 * and attributes as received; our SPIs */
	reply->doi = in->doi;
	reply->sit = in->sit;
	if (b->has_ah)
		reply_prop(reply, b->num, ISAKMP_PROTO_AH, ours->ah, 4,
			   &b->ah_x);
	if (b->has_esp)
		reply_prop(reply, b->num, ISAKMP_PROTO_ESP, ours->esp, 4,
			   &b->esp_x);
	if (b->has_ipcomp)
		reply_prop(reply, b->num, ISAKMP_PROTO_IPCOMP, ours->cpi, 2,
			   &b->ipcomp_x);
	return reply->n_props ? 0 : -EINVAL;
}

/* The reply's transform x must be one of p's (what we offered),
 * attribute for attribute (a responder echoes it, RFC 2408 §4.2). */
static bool xf_offered(const struct isakmp_prop *p,
		       const struct isakmp_xform *x)
{
	if (x->unknown_attr || x->life_kb)
		return false;
	for (unsigned i = 0; i < p->n_xforms; i++) {
		const struct isakmp_xform *o = &p->x[i];

		if (o->id == x->id && o->auth == x->auth &&
		    o->keylen == x->keylen && o->encap == x->encap &&
		    o->group == x->group &&
		    (!x->life_sec || !o->life_sec ||
		     x->life_sec <= o->life_sec))
			return true;
	}
	return false;
}

int isakmp_bundle_accept(const struct isakmp_bundle_conf *c,
			 const struct isakmp_bundle_spis *ours,
			 const struct isakmp_sa *reply, struct isakmp_bundle *b)
{
	struct isakmp_sa offer;
	bool seen[ISAKMP_MAX_PROPS] = {false};
	unsigned from = ISAKMP_MAX_PROPS, to = 0;

	memset(b, 0, sizeof(*b));
	if (reply->n_props == 0 || isakmp_bundle_offer(c, ours, &offer) != 0)
		return ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	/* RFC 2408 §4.2: one proposal number, one transform each */
	for (unsigned i = 0; i < reply->n_props; i++)
		if (reply->p[i].num != reply->p[0].num ||
		    reply->p[i].n_xforms != 1 || !spi_ok(&reply->p[i]))
			return ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	/* the AND-set we offered under that number */
	for (unsigned i = 0; i < offer.n_props; i++)
		if (offer.p[i].num == reply->p[0].num) {
			if (from == ISAKMP_MAX_PROPS)
				from = i;
			to = i + 1;
		}
	if (from == ISAKMP_MAX_PROPS || to - from != reply->n_props)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	b->num = reply->p[0].num;
	b->life_sec = c->life_sec;
	b->group = c->group;
	for (unsigned i = 0; i < reply->n_props; i++) {
		const struct isakmp_prop *p = &reply->p[i];
		const struct isakmp_xform *x = &p->x[0];
		unsigned j;

		/* every protocol of the set exactly once */
		for (j = from; j < to; j++)
			if (offer.p[j].proto == p->proto)
				break;
		if (j == to || seen[j - from])
			return ISAKMP_N_NO_PROPOSAL_CHOSEN;
		seen[j - from] = true;
		if (!xf_offered(&offer.p[j], x)) {
			memset(b, 0, sizeof(*b));
			return ISAKMP_N_NO_PROPOSAL_CHOSEN;
		}
		life_min(b, x);
		switch (p->proto) {
		case ISAKMP_PROTO_AH:
			b->has_ah = true;
			b->ah_x = *x;
			b->peer.ah = get_spi(p);
			break;
		case ISAKMP_PROTO_ESP:
			b->has_esp = true;
			b->esp_x = *x;
			b->peer.esp = get_spi(p);
			break;
		default:
			b->has_ipcomp = true;
			b->ipcomp_x = *x;
			b->peer.cpi = (uint16_t)get_spi(p);
			break;
		}
	}
	return 0;
}
