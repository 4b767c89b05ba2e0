/*
 * kink_prop.h - the IPsec bundles kinkd negotiates (issue 16): racoon2's
 * sa_index { ah; esp; ipcomp; } as the ISAKMP proposals of one number
 * (RFC 2408 §4.2: same number = ANDed; RFC 2407 §4.4: AH transform ID with
 * its AUTH_ALG attribute, IPComp with a 2-octet CPI and IPCOMP_DEFLATE)
 * through isakmp/bundle.h, and the negotiated bundle as kinkd's SA pairs.
 * Pure functions, unit-tested in tests/unit/kink/test_kink_prop.c.
 */
#ifndef RACOON_KINK_PROP_H
#define RACOON_KINK_PROP_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "isakmp/bundle.h"
#include "kink/kinkd.h"

/* The ipsec of a policy kinkd negotiates: its first (ipsec_index), whose
 * templates spmd installs (spd_conf.c fill_common). */
const struct conf_ipsec *kink_policy_ipsec(const struct conf_policy *p);

/*
 * The bundle policy pol asks for as proposals: every esp_enc_alg x
 * esp_auth_alg combination, every ah_auth_alg, IPComp DEFLATE; mode from
 * ipsec_mode, lifetime from the ipsec, PFS group (0 = none) in every
 * keyed transform.  Returns 0, or -ENOENT with *why (a constant string)
 * when KINK cannot key it (no usable algorithm of a protocol it lists,
 * IPComp alone).
 */
int kink_policy_bundle(const struct conf_policy *pol, uint16_t group,
		       struct isakmp_bundle_conf *bc, const char **why);

/* The SA pairs of negotiated bundle b (ESP first: it names the bundle,
 * then AH, then IPComp); ours: our inbound SPIs, b->peer the peer's. */
void kink_child_from_bundle(struct kchild *c, const struct isakmp_bundle *b,
			    const struct isakmp_bundle_spis *ours);

/* RFC 4430 §4.2.1: the responder took the first proposal (number) of in
 * and, for each of its protocols, the first transform: optimistic. */
bool kink_bundle_first(const struct isakmp_sa *in,
		       const struct isakmp_bundle *b);

/* IPPROTO_AH/ESP/COMP -> ISAKMP_PROTO_* (RFC 2407 §4.4.1), and its name. */
uint8_t kink_isakmp_proto(uint8_t ipproto);
const char *kink_proto_name(uint8_t ipproto);

#endif
