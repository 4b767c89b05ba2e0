/*
 * kink_prop.c - kinkd's bundles as ISAKMP proposals (see kink_prop.h):
 * racoon2.conf's sa_index -> isakmp/bundle.h, and the negotiated bundle
 * -> kinkd's SA pairs.  No Kerberos, no kernel, no sockets.
 */
#include "kink/kink_prop.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/xform.h"

static uint16_t integ_v2_to_v1(uint16_t id)
{
	switch (id) {
	case IKEV2_INTEG_HMAC_MD5_96:
		return ISAKMP_AUTH_HMAC_MD5;
	case IKEV2_INTEG_HMAC_SHA1_96:
		return ISAKMP_AUTH_HMAC_SHA1;
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return ISAKMP_AUTH_HMAC_SHA2_256;
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return ISAKMP_AUTH_HMAC_SHA2_384;
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return ISAKMP_AUTH_HMAC_SHA2_512;
	}
	return 0;
}

static uint16_t integ_v1_to_v2(uint16_t id)
{
	for (uint16_t v2 = 1; v2 < 16; v2++)
		if (integ_v2_to_v1(v2) == id && id)
			return v2;
	return 0;
}

/* ESP transforms of a conf sa: every enc x auth combination, in the
 * configured order (IKEv1 ESP transform IDs equal IKEv2 ENCR IDs for
 * the algorithms racoon2 implements: 3DES 3, NULL 11, AES-CBC 12, AES-CTR
 * 13, AES-GCM 18-20). */
static unsigned esp_transforms(const struct conf_sa *sa, uint16_t *encr,
			       uint16_t *keybits, uint16_t *integ, unsigned max)
{
	unsigned n = 0;

	if (!sa)
		return 0;
	for (size_t i = 0; i < sa->esp_enc_alg.n; i++) {
		const struct conf_alg_info *e =
		    conf_alg_info(sa->esp_enc_alg.v[i].alg);
		uint32_t kb;
		if (!e || !e->encr_id)
			continue;
		kb = sa->esp_enc_alg.v[i].key_bits
			 ? sa->esp_enc_alg.v[i].key_bits
			 : e->key_bits;
		if (e->flags & CONF_ALGF_AEAD) {
			if (n < max) {
				encr[n] = e->encr_id;
				keybits[n] = (uint16_t)kb;
				integ[n++] = 0;
			}
			continue;
		}
		for (size_t j = 0; j < sa->esp_auth_alg.n; j++) {
			const struct conf_alg_info *a =
			    conf_alg_info(sa->esp_auth_alg.v[j].alg);
			if (!a || !integ_v2_to_v1(a->integ_id) || n >= max)
				continue;
			encr[n] = e->encr_id;
			keybits[n] = (uint16_t)kb;
			integ[n++] = a->integ_id;
		}
	}
	return n;
}

/* The ipsec of a policy kinkd negotiates: its first, whose templates
 * spmd installs (spd_conf.c fill_common). */
const struct conf_ipsec *kink_policy_ipsec(const struct conf_policy *p)
{
	return p && p->nipsec ? p->ipsec[0] : NULL;
}

/* RFC 2407 §4.4.3: the AH transform ID whose hash is auth (0: none). */
static uint8_t ah_id_for(uint16_t auth)
{
	for (uint8_t id = ISAKMP_AH_MD5; id <= ISAKMP_AH_SHA2_512; id++)
		if (auth && isakmp_ah_auth(id) == auth)
			return id;
	return 0;
}

/*
 * The bundle a policy asks for (racoon2's sa_index: AH, ESP, IPComp) as
 * ISAKMP proposals (isakmp/bundle.h): every esp_enc_alg x esp_auth_alg
 * combination, every ah_auth_alg, IPComp DEFLATE; the mode, lifetime and
 * PFS group are the same in every transform.  Returns 0, or -ENOENT with
 * *why set when KINK cannot key it.
 */
int kink_policy_bundle(const struct conf_policy *pol, uint16_t group,
		       struct isakmp_bundle_conf *bc, const char **why)
{
	const struct conf_ipsec *ip = kink_policy_ipsec(pol);
	uint16_t e[ISAKMP_BUNDLE_MAX_SUITES], k[ISAKMP_BUNDLE_MAX_SUITES],
	    g[ISAKMP_BUNDLE_MAX_SUITES];
	unsigned n;

	memset(bc, 0, sizeof(*bc));
	*why = "no ipsec";
	if (!ip)
		return -ENOENT;
	n = esp_transforms(ip->esp, e, k, g, ISAKMP_BUNDLE_MAX_SUITES);
	for (unsigned i = 0; i < n; i++) {
		struct isakmp_esp_suite *s = &bc->esp[bc->n_esp++];
		/* IKEv1 ESP transform IDs are IKEv2's ENCR IDs (above);
		 * Key Length only for the variable-key ciphers (RFC 3602
		 * §5.1 and friends) */
		s->id = (uint8_t)e[i];
		s->keybits =
		    e[i] == 12 || e[i] == 13 || (e[i] >= 18 && e[i] <= 20)
			? k[i]
			: 0;
		s->auth = integ_v2_to_v1(g[i]);
	}
	for (size_t i = 0; ip->ah && i < ip->ah->ah_auth_alg.n &&
			   bc->n_ah < ISAKMP_BUNDLE_MAX_SUITES;
	     i++) {
		const struct conf_alg_info *a =
		    conf_alg_info(ip->ah->ah_auth_alg.v[i].alg);
		uint16_t auth = a ? integ_v2_to_v1(a->integ_id) : 0;
		if (!ah_id_for(auth))
			continue;
		bc->ah[bc->n_ah].id = ah_id_for(auth);
		bc->ah[bc->n_ah++].auth = auth;
	}
	for (size_t i = 0; ip->ipcomp && i < ip->ipcomp->ipcomp_alg.n; i++) {
		const struct conf_alg_info *a =
		    conf_alg_info(ip->ipcomp->ipcomp_alg.v[i].alg);
		if (a && a->ipcomp_id == ISAKMP_IPCOMP_DEFLATE)
			bc->ipcomp = ISAKMP_IPCOMP_DEFLATE;
	}
	if (ip->esp && !bc->n_esp) {
		*why = "no ESP transform usable with KINK";
		return -ENOENT;
	}
	if (ip->ah && !bc->n_ah) {
		*why = "no AH algorithm usable with KINK";
		return -ENOENT;
	}
	if (ip->ipcomp && !bc->ipcomp) {
		*why = "no IPComp algorithm usable with KINK (deflate)";
		return -ENOENT;
	}
	/* the data planes send IPComp only inside ESP or AH */
	if (!bc->n_esp && !bc->n_ah) {
		*why = "IPComp alone (no ESP or AH in sa_index)";
		return -ENOENT;
	}
	bc->encap = pol->ipsec_mode == CONF_MODE_TUNNEL
			? ISAKMP_ENCAP_TUNNEL
			: ISAKMP_ENCAP_TRANSPORT;
	bc->group = group;
	bc->life_sec = (uint32_t)ip->ipsec_sa_lifetime_time;
	return 0;
}

uint8_t kink_isakmp_proto(uint8_t ipproto)
{
	return ipproto == IPPROTO_AH	 ? ISAKMP_PROTO_AH
	       : ipproto == IPPROTO_COMP ? ISAKMP_PROTO_IPCOMP
					 : ISAKMP_PROTO_ESP;
}

const char *kink_proto_name(uint8_t ipproto)
{
	return ipproto == IPPROTO_AH	 ? "AH"
	       : ipproto == IPPROTO_COMP ? "IPComp"
					 : "ESP";
}

/* The SAs of a negotiated bundle: ESP first (it names the bundle), then
 * AH, then IPComp; ours = our inbound SPIs, b->peer the peer's. */
void kink_child_from_bundle(struct kchild *c, const struct isakmp_bundle *b,
			    const struct isakmp_bundle_spis *ours)
{
	struct kchild_sa *s;

	c->nsa = 0;
	memset(c->sa, 0, sizeof(c->sa));
	if (b->has_esp) {
		int kb;
		s = &c->sa[c->nsa++];
		s->proto = IPPROTO_ESP;
		s->spi_in = ours->esp;
		s->spi_out = b->peer.esp;
		s->encr_id = b->esp_x.id;
		kb = crypto_encr_keybits(s->encr_id, b->esp_x.keylen);
		s->encr_keybits = b->esp_x.keylen ? b->esp_x.keylen
				  : kb > 0	  ? (uint16_t)kb
						  : 0;
		s->integ_id = integ_v1_to_v2(b->esp_x.auth);
	}
	if (b->has_ah) {
		s = &c->sa[c->nsa++];
		s->proto = IPPROTO_AH;
		s->spi_in = ours->ah;
		s->spi_out = b->peer.ah;
		s->integ_id = integ_v1_to_v2(b->ah_x.auth);
	}
	if (b->has_ipcomp) {
		s = &c->sa[c->nsa++];
		s->proto = IPPROTO_COMP;
		s->spi_in = ours->cpi;
		s->spi_out = b->peer.cpi;
		/* IPCOMP_DEFLATE is 2 in both registries (RFC 2407
		 * §4.4.5, RFC 7296 §3.10.1) */
		s->comp_id = b->ipcomp_x.id;
	}
}

/* RFC 4430 §4.2.1: optimistic when the responder takes the first
 * proposal (number) and, for each of its protocols, the first
 * transform. */
bool kink_bundle_first(const struct isakmp_sa *in,
		       const struct isakmp_bundle *b)
{
	if (!in->n_props || in->p[0].num != b->num)
		return false;
	for (unsigned i = 0; i < in->n_props && in->p[i].num == b->num; i++) {
		const struct isakmp_prop *p = &in->p[i];
		const struct isakmp_xform *x =
		    p->proto == ISAKMP_PROTO_AH	   ? &b->ah_x
		    : p->proto == ISAKMP_PROTO_ESP ? &b->esp_x
						   : &b->ipcomp_x;
		if (x->num != p->x[0].num)
			return false;
	}
	return true;
}
