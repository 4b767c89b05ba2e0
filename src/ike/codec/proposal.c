/*
 * proposal.c - SA payload negotiation (RFC 7296 §2.7, §3.3): building
 * our offer from configured algorithm lists, the responder's choice of
 * the first acceptable proposal, and the initiator's check that the
 * answer is one of the things it offered.  Pure functions over caller
 * structures; nothing is allocated.
 */
#include "ike/codec/codec_int.h"

#include <errno.h>
#include <string.h>

/* §3.3.3: which transform types a protocol negotiates. */
static bool type_used(uint8_t proto, uint8_t type)
{
	switch (type) {
	case IKEV2_XF_ENCR:
		return proto != IKEV2_PROTO_AH;
	case IKEV2_XF_PRF:
		return proto == IKEV2_PROTO_IKE;
	case IKEV2_XF_INTEG:
	case IKEV2_XF_DH:
		return true;
	case IKEV2_XF_ESN:
		return proto != IKEV2_PROTO_IKE;
	}
	return false;
}

static int add_xf(struct ikev2_proposal *p, uint8_t type, uint16_t id,
		  uint16_t keylen)
{
	if (p->nxf >= IKEV2_MAX_XFORMS)
		return -ENOSPC;
	p->xf[p->nxf].type = type;
	p->xf[p->nxf].id = id;
	p->xf[p->nxf].keylen = keylen;
	p->xf[p->nxf].bad_attr = false;
	p->nxf++;
	return 0;
}

/* Fill one proposal with the ciphers of the given AEAD-ness and all
 * other lists; returns the number of ciphers added (0 = skip). */
static int fill_proposal(const struct ikev2_prefs *pr, bool aead,
			 struct ikev2_proposal *p)
{
	static const uint16_t aes_bits[] = {256, 192, 128};
	int nenc = 0, rc = 0;

	for (unsigned i = 0; i < pr->n_encr; i++) {
		const struct crypto_encr_alg *a =
		    crypto_encr_lookup(pr->encr[i].id);

		if (!a)
			return -EINVAL;
		if (a->aead != aead)
			continue;
		if (!a->keylen_attr) {
			rc |= add_xf(p, IKEV2_XF_ENCR, a->id, 0);
		} else if (pr->encr[i].keybits) {
			if (crypto_encr_keybits(a->id, pr->encr[i].keybits) < 0)
				return -EINVAL;
			rc |= add_xf(p, IKEV2_XF_ENCR, a->id,
				     pr->encr[i].keybits);
		} else {
			for (unsigned k = 0; k < NELEM(aes_bits); k++)
				rc |= add_xf(p, IKEV2_XF_ENCR, a->id,
					     aes_bits[k]);
		}
		nenc++;
	}
	/* §3.3.3: AH has no ENCR; its one proposal is the non-AEAD pass */
	if (pr->proto == IKEV2_PROTO_AH)
		nenc = aead ? 0 : (int)pr->n_integ;
	if (!nenc)
		return 0;
	if (pr->proto == IKEV2_PROTO_IKE) {
		for (unsigned i = 0; i < pr->n_prf; i++) {
			if (!crypto_prf_lookup(pr->prf[i]))
				return -EINVAL;
			rc |= add_xf(p, IKEV2_XF_PRF, pr->prf[i], 0);
		}
	}
	/* RFC 5282 §8: AEAD proposals carry no integrity transform. */
	if (!aead) {
		for (unsigned i = 0; i < pr->n_integ; i++) {
			if (pr->integ[i] == IKEV2_INTEG_NONE)
				continue;
			if (!crypto_integ_lookup(pr->integ[i]))
				return -EINVAL;
			rc |= add_xf(p, IKEV2_XF_INTEG, pr->integ[i], 0);
		}
	}
	for (unsigned i = 0; i < pr->n_dh; i++) {
		if (pr->dh[i] != IKEV2_DH_NONE && !crypto_dh_lookup(pr->dh[i]))
			return -EINVAL;
		rc |= add_xf(p, IKEV2_XF_DH, pr->dh[i], 0);
	}
	if (pr->proto != IKEV2_PROTO_IKE) {
		/* §3.3.3: ESN is mandatory in ESP/AH proposals. */
		if (pr->n_esn == 0)
			rc |= add_xf(p, IKEV2_XF_ESN, IKEV2_ESN_NO, 0);
		for (unsigned i = 0; i < pr->n_esn && i < 2; i++)
			rc |= add_xf(p, IKEV2_XF_ESN, pr->esn[i], 0);
	}
	return rc ? -ENOSPC : nenc;
}

int ikev2_sa_build(const struct ikev2_prefs *pr, const uint8_t *spi,
		   size_t spi_len, struct ikev2_sa *out)
{
	memset(out, 0, sizeof(*out));
	if (spi_len > 8 || (spi_len && !spi) ||
	    (pr->proto == IKEV2_PROTO_AH ? !pr->n_integ : !pr->n_encr))
		return -EINVAL;
	if (pr->proto == IKEV2_PROTO_IKE && (!pr->n_prf || !pr->n_dh))
		return -EINVAL;
	/* §3.3: AEAD and non-AEAD ciphers in separate proposals. */
	for (int pass = 0; pass < 2; pass++) {
		struct ikev2_proposal *p = &out->prop[out->nprop];
		int n;

		memset(p, 0, sizeof(*p));
		p->num = out->nprop + 1; /* §3.3.1: 1, 2, ... */
		p->proto = pr->proto;
		p->spi_len = (uint8_t)spi_len;
		if (spi_len)
			memcpy(p->spi, spi, spi_len);
		n = fill_proposal(pr, pass == 0, p);
		if (n < 0)
			return n;
		if (n == 0)
			continue;
		if (pass == 1 && pr->proto != IKEV2_PROTO_AH) {
			/* non-AEAD needs an integrity algorithm */
			bool has = false;
			for (unsigned i = 0; i < p->nxf; i++)
				has |= p->xf[i].type == IKEV2_XF_INTEG;
			if (!has)
				return -EINVAL;
		}
		out->nprop++;
	}
	return out->nprop ? 0 : -EINVAL;
}

/* Is transform x of type acceptable to us? */
static bool acceptable(const struct ikev2_prefs *pr,
		       const struct ikev2_xform *x)
{
	switch (x->type) {
	case IKEV2_XF_ENCR:
		for (unsigned i = 0; i < pr->n_encr; i++) {
			int kb;

			if (pr->encr[i].id != x->id)
				continue;
			/* §3.3.5: Key Length must be valid for the cipher. */
			kb = crypto_encr_keybits(x->id, x->keylen);
			if (kb < 0)
				return false;
			if (!pr->encr[i].keybits || pr->encr[i].keybits == kb)
				return true;
		}
		return false;
	case IKEV2_XF_PRF:
		for (unsigned i = 0; i < pr->n_prf; i++)
			if (pr->prf[i] == x->id)
				return crypto_prf_lookup(x->id) != NULL;
		return false;
	case IKEV2_XF_INTEG:
		if (x->id == IKEV2_INTEG_NONE)
			return true; /* decided together with the cipher */
		for (unsigned i = 0; i < pr->n_integ; i++)
			if (pr->integ[i] == x->id)
				return crypto_integ_lookup(x->id) != NULL;
		return false;
	case IKEV2_XF_DH:
		if (x->id == IKEV2_DH_NONE && pr->n_dh == 0)
			return true;
		for (unsigned i = 0; i < pr->n_dh; i++)
			if (pr->dh[i] == x->id)
				return x->id == IKEV2_DH_NONE ||
				       crypto_dh_lookup(x->id) != NULL;
		return false;
	case IKEV2_XF_ESN:
		if (pr->n_esn == 0)
			return x->id == IKEV2_ESN_NO;
		for (unsigned i = 0; i < pr->n_esn && i < 2; i++)
			if (pr->esn[i] == x->id)
				return true;
		return false;
	}
	return false;
}

static bool ours_allow_none(const struct ikev2_prefs *pr, uint8_t type)
{
	switch (type) {
	case IKEV2_XF_DH:
		if (pr->n_dh == 0)
			return true;
		for (unsigned i = 0; i < pr->n_dh; i++)
			if (pr->dh[i] == IKEV2_DH_NONE)
				return true;
		return false;
	case IKEV2_XF_ESN:
		if (pr->n_esn == 0)
			return true;
		for (unsigned i = 0; i < pr->n_esn && i < 2; i++)
			if (pr->esn[i] == IKEV2_ESN_NO)
				return true;
		return false;
	}
	return false;
}

/* Try to choose a suite from proposal p; 0 on success. */
static int choose(const struct ikev2_proposal *p, const struct ikev2_prefs *pr,
		  uint16_t prefer_dh, struct ikev2_suite *s)
{
	const struct ikev2_xform *pick[6] = {NULL};
	bool present[6] = {false};
	const struct crypto_encr_alg *enc = NULL;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < p->nxf; i++) {
		const struct ikev2_xform *x = &p->xf[i];

		/* RFC 7296 §3.3.6: a proposal with a Transform Type we do
		 * not understand (e.g. RFC 9370 additional key exchanges) is
		 * unacceptable as a whole, not selectable without it. */
		if (x->type < 1 || x->type > 5)
			return -1;
		present[x->type] = true;
		if (x->bad_attr || !acceptable(pr, x))
			continue; /* §3.3.6: skip unusable transforms */
		if (x->type == IKEV2_XF_DH && prefer_dh && x->id == prefer_dh) {
			pick[x->type] = x; /* avoid INVALID_KE_PAYLOAD */
			continue;
		}
		if (x->type == IKEV2_XF_INTEG && x->id == IKEV2_INTEG_NONE)
			continue; /* same as absent; see below */
		if (!pick[x->type])
			pick[x->type] = x;
	}
	/* §3.3.3: AH takes INTEG (mandatory), never ENCR. */
	if (p->proto == IKEV2_PROTO_AH) {
		if (present[IKEV2_XF_ENCR] || present[IKEV2_XF_PRF] ||
		    !pick[IKEV2_XF_INTEG])
			return -1;
		s->integ = pick[IKEV2_XF_INTEG]->id;
		goto child;
	}
	/* ENCR: mandatory for IKE and ESP (§3.3.3). */
	if (!type_used(p->proto, IKEV2_XF_ENCR) || !pick[IKEV2_XF_ENCR])
		return -1;
	enc = crypto_encr_lookup(pick[IKEV2_XF_ENCR]->id);
	s->encr = enc->id;
	s->encr_keybits =
	    (uint16_t)crypto_encr_keybits(enc->id, pick[IKEV2_XF_ENCR]->keylen);
	/* The pick is the first cipher; its AEAD-ness decides INTEG.  An
	 * initiator must not mix them in one proposal (§3.3); if it does we
	 * honour the first cipher. */
	if (enc->aead) {
		/* RFC 5282 §8: INTEG absent or NONE. */
		for (unsigned i = 0; i < p->nxf; i++)
			if (p->xf[i].type == IKEV2_XF_INTEG &&
			    p->xf[i].id != IKEV2_INTEG_NONE)
				return -1;
		s->integ = IKEV2_INTEG_NONE;
	} else {
		if (!pick[IKEV2_XF_INTEG])
			return -1;
		s->integ = pick[IKEV2_XF_INTEG]->id;
	}
	if (p->proto == IKEV2_PROTO_IKE) {
		/* §3.3.3: IKE needs PRF and D-H; no ESN. */
		if (!pick[IKEV2_XF_PRF] || !pick[IKEV2_XF_DH] ||
		    pick[IKEV2_XF_DH]->id == IKEV2_DH_NONE ||
		    present[IKEV2_XF_ESN])
			return -1;
		s->prf = pick[IKEV2_XF_PRF]->id;
		s->dh = pick[IKEV2_XF_DH]->id;
	} else {
	child:
		if (present[IKEV2_XF_PRF])
			return -1;
		/* D-H optional (PFS): absent means NONE. */
		if (pick[IKEV2_XF_DH])
			s->dh = pick[IKEV2_XF_DH]->id;
		else if (present[IKEV2_XF_DH] ||
			 !ours_allow_none(pr, IKEV2_XF_DH))
			return -1;
		else
			s->dh = IKEV2_DH_NONE;
		/* §3.3.3: ESN mandatory for ESP/AH; tolerate absence as
		 * "no ESN". */
		if (pick[IKEV2_XF_ESN])
			s->esn = pick[IKEV2_XF_ESN]->id;
		else if (present[IKEV2_XF_ESN] ||
			 !ours_allow_none(pr, IKEV2_XF_ESN))
			return -1;
		else
			s->esn = IKEV2_ESN_NO;
	}
	s->proto = p->proto;
	s->num = p->num;
	s->spi_len = p->spi_len;
	memcpy(s->spi, p->spi, sizeof(s->spi));
	return 0;
}

int ikev2_sa_select(const struct ikev2_sa *offer, const struct ikev2_prefs *pr,
		    uint16_t prefer_dh, struct ikev2_suite *out)
{
	/* §2.7: the first acceptable proposal, in the initiator's order. */
	for (unsigned i = 0; i < offer->nprop; i++) {
		const struct ikev2_proposal *p = &offer->prop[i];

		if (p->proto != pr->proto || p->truncated)
			continue;
		if (choose(p, pr, prefer_dh, out) == 0)
			return 0;
	}
	memset(out, 0, sizeof(*out));
	return IKEV2_N_NO_PROPOSAL_CHOSEN;
}

int ikev2_suite_to_sa(const struct ikev2_suite *s, const uint8_t *spi,
		      size_t spi_len, struct ikev2_sa *out)
{
	const struct crypto_encr_alg *enc = crypto_encr_lookup(s->encr);
	struct ikev2_proposal *p = &out->prop[0];

	memset(out, 0, sizeof(*out));
	if ((!enc && s->proto != IKEV2_PROTO_AH) || spi_len > 8 ||
	    (spi_len && !spi))
		return -EINVAL;
	out->nprop = 1;
	/* §3.3.6: the accepted proposal keeps its number. */
	p->num = s->num ? s->num : 1;
	p->proto = s->proto;
	p->spi_len = (uint8_t)spi_len;
	if (spi_len)
		memcpy(p->spi, spi, spi_len);
	if (s->proto != IKEV2_PROTO_AH) /* §3.3.3: AH has no ENCR */
		add_xf(p, IKEV2_XF_ENCR, s->encr,
		       enc->keylen_attr ? s->encr_keybits : 0);
	if (s->proto == IKEV2_PROTO_IKE)
		add_xf(p, IKEV2_XF_PRF, s->prf, 0);
	if (s->proto == IKEV2_PROTO_AH || !enc->aead)
		add_xf(p, IKEV2_XF_INTEG, s->integ, 0);
	if (s->proto == IKEV2_PROTO_IKE || s->dh != IKEV2_DH_NONE)
		add_xf(p, IKEV2_XF_DH, s->dh, 0);
	if (s->proto != IKEV2_PROTO_IKE)
		add_xf(p, IKEV2_XF_ESN, s->esn, 0);
	return 0;
}

static bool offered_has(const struct ikev2_proposal *p,
			const struct ikev2_xform *x)
{
	for (unsigned i = 0; i < p->nxf; i++) {
		const struct ikev2_xform *o = &p->xf[i];
		if (o->type == x->type && o->id == x->id &&
		    o->keylen == x->keylen)
			return true;
	}
	return false;
}

static bool offered_type(const struct ikev2_proposal *p, uint8_t type)
{
	for (unsigned i = 0; i < p->nxf; i++)
		if (p->xf[i].type == type)
			return true;
	return false;
}

int ikev2_sa_check_reply(const struct ikev2_sa *offered,
			 const struct ikev2_sa *reply, struct ikev2_suite *out)
{
	const struct ikev2_proposal *r, *o = NULL;
	const struct ikev2_xform *pick[6] = {NULL};
	struct ikev2_prefs all;

	memset(out, 0, sizeof(*out));
	/* §2.7: the responder returns exactly one proposal. */
	if (reply->nprop != 1)
		return -EBADMSG;
	r = &reply->prop[0];
	for (unsigned i = 0; i < offered->nprop; i++)
		if (offered->prop[i].num == r->num &&
		    offered->prop[i].proto == r->proto)
			o = &offered->prop[i];
	if (!o || r->truncated)
		return -EBADMSG;
	/* §3.3.6: one transform of each type, each one we offered. */
	for (unsigned i = 0; i < r->nxf; i++) {
		const struct ikev2_xform *x = &r->xf[i];

		if (x->type < 1 || x->type > 5 || pick[x->type] || x->bad_attr)
			return -EBADMSG;
		if (!offered_has(o, x) &&
		    !(x->type == IKEV2_XF_INTEG && x->id == IKEV2_INTEG_NONE) &&
		    !(x->type == IKEV2_XF_DH && x->id == IKEV2_DH_NONE &&
		      !offered_type(o, IKEV2_XF_DH)))
			return -EBADMSG;
		pick[x->type] = x;
	}
	/* Validate the suite with a "everything we offered" preference set,
	 * reusing the responder logic for the mandatory-type rules. */
	memset(&all, 0, sizeof(all));
	all.proto = r->proto;
	for (unsigned i = 0; i < o->nxf; i++) {
		const struct ikev2_xform *x = &o->xf[i];
		switch (x->type) {
		case IKEV2_XF_ENCR:
			if (all.n_encr < IKEV2_PREF_MAX) {
				all.encr[all.n_encr].id = x->id;
				all.encr[all.n_encr++].keybits = 0;
			}
			break;
		case IKEV2_XF_PRF:
			if (all.n_prf < IKEV2_PREF_MAX)
				all.prf[all.n_prf++] = x->id;
			break;
		case IKEV2_XF_INTEG:
			if (all.n_integ < IKEV2_PREF_MAX)
				all.integ[all.n_integ++] = x->id;
			break;
		case IKEV2_XF_DH:
			if (all.n_dh < IKEV2_PREF_MAX)
				all.dh[all.n_dh++] = x->id;
			break;
		case IKEV2_XF_ESN:
			if (all.n_esn < 2)
				all.esn[all.n_esn++] = x->id;
			break;
		}
	}
	if (choose(r, &all, 0, out) != 0)
		return -EBADMSG;
	return 0;
}
