/*
 * proposal.c - the SA payloads of IKEv1: what we offer in Main Mode
 * (RFC 2409 §5, App. A attributes) and Quick Mode (RFC 2407 §4.5), and
 * the choice among the peer's.  A responder answers with the one
 * proposal and transform it chose, numbers and attributes as received
 * (RFC 2408 §4.2); an initiator accepts only a transform it offered.
 */
#include <errno.h>
#include <string.h>

#include "ikev1/ikev1_int.h"

/* 3DES has a fixed key and no Key Length attribute (RFC 2409 App. A);
 * AES needs one (RFC 3602 §5). */
static uint16_t p1_keybits(const struct ikev1_p1_suite *s)
{
	return s->encr == ISAKMP_P1_ENCR_3DES ? 192 : s->keybits;
}

void p1_offer(const struct ikev1_conf *c, struct isakmp_sa *sa)
{
	struct isakmp_prop *p = &sa->p[0];

	memset(sa, 0, sizeof(*sa));
	sa->doi = ISAKMP_DOI_IPSEC;
	sa->sit = ISAKMP_SIT_IDENTITY_ONLY;
	sa->n_props = 1;
	p->num = 1;
	p->proto = ISAKMP_PROTO_ISAKMP;
	for (unsigned i = 0; i < c->n_p1 && i < ISAKMP_MAX_XFORMS; i++) {
		const struct ikev1_p1_suite *s = &c->p1[i];
		struct isakmp_xform *x = &p->x[p->n_xforms++];

		x->num = (uint8_t)(i + 1);
		x->id = ISAKMP_KEY_IKE;
		x->encr = s->encr;
		x->keylen = s->encr == ISAKMP_P1_ENCR_3DES ? 0 : s->keybits;
		x->hash = s->hash;
		x->group = s->group;
		x->auth_method = p1_auth(c);
		x->life_sec = s->life_sec;
	}
}

static const struct ikev1_p1_suite *p1_match(const struct ikev1_conf *c,
					     const struct isakmp_xform *x)
{
	/* RFC 2407 §4.5 / RFC 2409 App. A: an unknown attribute, another
	 * transform ID or authentication method, life in kilobytes: not
	 * this transform */
	if (x->unknown_attr || x->id != ISAKMP_KEY_IKE ||
	    x->auth_method != p1_auth(c) || x->life_kb)
		return NULL;
	for (unsigned i = 0; i < c->n_p1; i++) {
		const struct ikev1_p1_suite *s = &c->p1[i];
		uint16_t kb = x->encr == ISAKMP_P1_ENCR_3DES ? 0 : x->keylen;

		if (s->encr == x->encr && s->hash == x->hash &&
		    s->group == x->group &&
		    (s->encr == ISAKMP_P1_ENCR_3DES ? kb == 0
						    : kb == s->keybits))
			return s;
	}
	return NULL;
}

int p1_choose(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      struct isakmp_sa *reply, struct ikev1_p1_suite *chosen)
{
	/* RFC 2409 §5: one proposal (protocol ISAKMP) in Phase 1 */
	if (in->n_props != 1 || in->p[0].proto != ISAKMP_PROTO_ISAKMP)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	for (unsigned i = 0; i < in->p[0].n_xforms; i++) {
		const struct isakmp_xform *x = &in->p[0].x[i];
		const struct ikev1_p1_suite *s = p1_match(c, x);

		if (!s)
			continue;
		*chosen = *s;
		/* the shorter of the two lifetimes */
		if (x->life_sec && (!s->life_sec || x->life_sec < s->life_sec))
			chosen->life_sec = x->life_sec;
		*reply = *in;
		reply->p[0].n_xforms = 1;
		reply->p[0].x[0] = *x;
		return 0;
	}
	return ISAKMP_N_NO_PROPOSAL_CHOSEN;
}

int p1_accept(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      struct ikev1_p1_suite *chosen)
{
	const struct ikev1_p1_suite *s;

	/* RFC 2408 §4.2: exactly one proposal with one transform */
	if (in->n_props != 1 || in->p[0].proto != ISAKMP_PROTO_ISAKMP ||
	    in->p[0].n_xforms != 1)
		return ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	s = p1_match(c, &in->p[0].x[0]);
	if (!s)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	*chosen = *s;
	if (in->p[0].x[0].life_sec)
		chosen->life_sec = in->p[0].x[0].life_sec;
	return 0;
}

int p1_keys_setup(const struct ikev1_p1_suite *s, struct ikev1_keys *k)
{
	const struct crypto_prf_alg *pa;

	k->prf = ikev1_prf_of_hash(s->hash);
	k->encr = ikev1_encr_of_p1(s->encr);
	k->keybits = p1_keybits(s);
	pa = crypto_prf_lookup(k->prf);
	if (!pa || !k->encr || !k->keybits)
		return -ENOTSUP;
	k->hlen = pa->out_len; /* NAT-D hashes come before the keys */
	return 0;
}

/* ---- Phase 2: bundles (isakmp/bundle.c) ---- */

void p2_bundle_conf(const struct ikev1_conf *c, uint16_t group, uint16_t encap,
		    bool with_comp, struct isakmp_bundle_conf *bc)
{
	memset(bc, 0, sizeof(*bc));
	for (unsigned i = 0; i < c->n_p2 && i < ISAKMP_BUNDLE_MAX_SUITES; i++) {
		const struct ikev1_p2_suite *s = &c->p2[i];

		/* 3DES has no Key Length attribute (RFC 2451 §2.2) */
		bc->esp[bc->n_esp++] = (struct isakmp_esp_suite){
		    s->esp_id, s->esp_id == ISAKMP_ESP_3DES ? 0 : s->keybits,
		    s->auth};
	}
	for (unsigned i = 0; i < c->n_ah && i < ISAKMP_BUNDLE_MAX_SUITES; i++)
		bc->ah[bc->n_ah++] = c->ah[i];
	bc->ipcomp = with_comp ? c->ipcomp : 0;
	bc->encap = encap;
	bc->group = group;
	bc->life_sec = c->p2_life_sec ? c->p2_life_sec
		       : c->n_p2      ? c->p2[0].life_sec
				      : 0;
}

int p2_offer(const struct ikev1_conf *c, const struct isakmp_bundle_spis *ours,
	     uint16_t group, uint16_t encap, struct isakmp_sa *sa)
{
	struct isakmp_bundle_conf bc;

	p2_bundle_conf(c, group, encap, ours->cpi != 0, &bc);
	return isakmp_bundle_offer(&bc, ours, sa);
}

/* q's suite, main SPI and group from its bundle q->b */
static int p2_take(const struct ikev1_conf *c, struct ikev1_qm *q)
{
	const struct isakmp_xform *x = q->b.has_esp ? &q->b.esp_x : &q->b.ah_x;

	memset(&q->suite, 0, sizeof(q->suite));
	if (q->b.has_esp) {
		/* the configured suite (3DES: 192-bit key) */
		for (unsigned i = 0; i < c->n_p2; i++)
			if (c->p2[i].esp_id == x->id &&
			    c->p2[i].auth == x->auth &&
			    (x->id == ISAKMP_ESP_3DES ||
			     c->p2[i].keybits == x->keylen))
				q->suite = c->p2[i];
		if (!q->suite.esp_id)
			return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	}
	q->suite.life_sec = q->b.life_sec;
	q->group = q->b.group;
	q->prop_num = q->b.num;
	q->spi_out = q->b.has_esp ? q->b.peer.esp : q->b.peer.ah;
	return 0;
}

int p2_choose(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      uint16_t encap, bool with_comp, struct ikev1_qm *q)
{
	struct isakmp_bundle_conf bc;
	const struct isakmp_xform *x;
	int rc;

	/* RFC 2409 §5.5: PFS as configured, no other group */
	p2_bundle_conf(c, c->pfs_group, encap, with_comp, &bc);
	rc = isakmp_bundle_choose(&bc, in, &q->b);
	if (!rc)
		rc = p2_take(c, q);
	if (rc)
		return rc;
	/* RFC 2407 §4.6.3.1: ours is shorter than the offer: tell the
	 * initiator */
	x = q->b.has_esp ? &q->b.esp_x : &q->b.ah_x;
	q->resp_life = q->suite.life_sec != x->life_sec ? q->suite.life_sec : 0;
	return 0;
}

int p2_accept(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      uint16_t encap, struct ikev1_qm *q)
{
	struct isakmp_bundle_conf bc;
	int rc;

	p2_bundle_conf(c, q->group, encap, q->ours.cpi != 0, &bc);
	rc = isakmp_bundle_accept(&bc, &q->ours, in, &q->b);
	return rc ? rc : p2_take(c, q);
}

/* RFC 2407 §4.5, RFC 4868 §2.4: truncated HMACs as in IKEv2 */
int p2_integ(uint16_t auth, uint16_t *integ, size_t *keylen)
{
	const struct crypto_integ_alg *ia;

	switch (auth) {
	case ISAKMP_AUTH_HMAC_MD5:
		*integ = IKEV2_INTEG_HMAC_MD5_96;
		break;
	case ISAKMP_AUTH_HMAC_SHA1:
		*integ = IKEV2_INTEG_HMAC_SHA1_96;
		break;
	case ISAKMP_AUTH_HMAC_SHA2_256:
		*integ = IKEV2_INTEG_HMAC_SHA2_256_128;
		break;
	case ISAKMP_AUTH_HMAC_SHA2_384:
		*integ = IKEV2_INTEG_HMAC_SHA2_384_192;
		break;
	case ISAKMP_AUTH_HMAC_SHA2_512:
		*integ = IKEV2_INTEG_HMAC_SHA2_512_256;
		break;
	default:
		return -ENOTSUP;
	}
	ia = crypto_integ_lookup(*integ);
	if (!ia)
		return -ENOTSUP;
	*keylen = ia->key_len;
	return 0;
}

int p2_algs(const struct ikev1_p2_suite *s, uint16_t *encr, uint16_t *integ,
	    size_t *keylen)
{
	uint16_t bits;
	size_t ilen;

	switch (s->esp_id) {
	case ISAKMP_ESP_AES_CBC:
		*encr = IKEV2_ENCR_AES_CBC;
		bits = s->keybits;
		break;
	case ISAKMP_ESP_3DES:
		*encr = IKEV2_ENCR_3DES;
		bits = 192;
		break;
	default:
		return -ENOTSUP;
	}
	if (p2_integ(s->auth, integ, &ilen) != 0 ||
	    crypto_encr_keybits(*encr, *encr == IKEV2_ENCR_3DES ? 0 : bits) < 0)
		return -ENOTSUP;
	*keylen = bits / 8u + ilen;
	return 0;
}
