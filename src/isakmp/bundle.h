/*
 * bundle.h - IPsec SA bundles in the Phase 2 SA payload of ISAKMP, shared
 * by iked's IKEv1 Quick Mode (src/ikev1) and kinkd (KINK_ISAKMP).
 *
 * A bundle is racoon2's `sa_index { ah; esp; ipcomp; }`: the protocols
 * applied together to one flow.  RFC 2408 §4.2: proposal payloads with
 * the SAME proposal number are ANDed (e.g. AH+ESP is two proposals
 * numbered 1), the transforms inside one proposal are alternatives (OR).
 * RFC 2407 §4.4: an AH proposal's transform ID names the hash and
 * repeats it as the Authentication Algorithm attribute (§4.5); an IPComp
 * proposal carries the CPI as a 2-octet SPI (RFC 3173 §4.1) and the
 * transform IPCOMP_DEFLATE (§4.4.5); every transform has the
 * encapsulation mode, the lifetime and (PFS) the group.
 *
 * Our offer: one AND-set of every protocol of the bundle (proposal 1);
 * with IPComp, the same set without IPComp follows as proposal 2, since
 * IPComp is optional (RFC 3173 §2.1; strongSwan offers the same two).
 * A responder takes the first AND-set it accepts in the peer's order:
 * exactly the bundle's AH and ESP, IPComp only if configured (and not
 * required: a set without it is fine).  The initiator accepts only a
 * reply that echoes one of its AND-sets, every protocol with exactly one
 * of the transforms offered there; everything else fails closed.
 */
#ifndef RACOON_ISAKMP_BUNDLE_H
#define RACOON_ISAKMP_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "isakmp/isakmp.h"

#define ISAKMP_BUNDLE_MAX_SUITES 16

/* One ESP alternative (RFC 2407 §4.4.4 transform ID, §4.5 attributes). */
struct isakmp_esp_suite {
	uint8_t id;	  /* ISAKMP_ESP_* */
	uint16_t keybits; /* Key Length attribute, 0 = absent (3DES) */
	uint16_t auth;	  /* ISAKMP_AUTH_* */
};

/* One AH alternative (RFC 2407 §4.4.3): transform ID and the matching
 * Authentication Algorithm attribute (isakmp_ah_auth()). */
struct isakmp_ah_suite {
	uint8_t id;    /* ISAKMP_AH_* */
	uint16_t auth; /* ISAKMP_AUTH_* */
};

/* What we offer and accept for one policy. */
struct isakmp_bundle_conf {
	struct isakmp_esp_suite esp[ISAKMP_BUNDLE_MAX_SUITES];
	unsigned n_esp; /* 0: no ESP in the bundle */
	struct isakmp_ah_suite ah[ISAKMP_BUNDLE_MAX_SUITES];
	unsigned n_ah;	   /* 0: no AH in the bundle */
	uint8_t ipcomp;	   /* ISAKMP_IPCOMP_DEFLATE, 0: no IPComp */
	uint16_t encap;	   /* ISAKMP_ENCAP_* (or the RFC 3947 UDP ones) */
	uint16_t group;	   /* PFS group, 0 = none */
	uint32_t life_sec; /* 0: no lifetime attribute */
};

/* The inbound SPIs of one end (the receiver chooses them). */
struct isakmp_bundle_spis {
	uint32_t esp, ah;
	uint16_t cpi; /* 0: no IPComp (no CPI to offer) */
};

/* One negotiated bundle. */
struct isakmp_bundle {
	uint8_t num; /* the chosen proposal number */
	bool has_esp, has_ah, has_ipcomp;
	/* the transforms as received (echoed by a responder) */
	struct isakmp_xform esp_x, ah_x, ipcomp_x;
	/* the peer's inbound SPIs (our outbound ones) */
	struct isakmp_bundle_spis peer;
	uint32_t life_sec; /* the shortest of ours and the transforms' */
	uint16_t group;
};

/* RFC 2407 §4.4.3: the Authentication Algorithm attribute an AH
 * transform ID implies (0: unknown). */
uint16_t isakmp_ah_auth(uint8_t ah_id);

/* Our offer with our inbound SPIs (ours->cpi 0: no IPComp even if
 * configured).  Returns 0, or -EINVAL (empty bundle, too many suites). */
int isakmp_bundle_offer(const struct isakmp_bundle_conf *c,
			const struct isakmp_bundle_spis *ours,
			struct isakmp_sa *sa);

/* Responder: the first AND-set of in that c accepts, into *b.  Returns 0
 * or ISAKMP_N_NO_PROPOSAL_CHOSEN. */
int isakmp_bundle_choose(const struct isakmp_bundle_conf *c,
			 const struct isakmp_sa *in, struct isakmp_bundle *b);

/* Responder: the reply to in (doi, situation) echoing b's AND-set with
 * our inbound SPIs (ours->cpi must be set when b->has_ipcomp; else
 * -EINVAL). */
int isakmp_bundle_reply(const struct isakmp_sa *in,
			const struct isakmp_bundle *b,
			const struct isakmp_bundle_spis *ours,
			struct isakmp_sa *reply);

/* Initiator: the responder's reply against what isakmp_bundle_offer(c,
 * ours) sent.  Returns 0 (b filled), ISAKMP_N_BAD_PROPOSAL_SYNTAX (not
 * one proposal number, a protocol twice, not one transform each, bad SPI
 * sizes) or ISAKMP_N_NO_PROPOSAL_CHOSEN (not an AND-set or a transform
 * we offered). */
int isakmp_bundle_accept(const struct isakmp_bundle_conf *c,
			 const struct isakmp_bundle_spis *ours,
			 const struct isakmp_sa *reply,
			 struct isakmp_bundle *b);

#endif
