/*
 * unitdh.c - r2load -G (see unitdh.h): DH with private value 1.
 *
 * A load generator must cost less per SA than the responder it drives
 * (issue 14).  With one reused key pair r2load still does one DH
 * derivation per SA (ECP-256: most of its ~0.12 ms), about as much as
 * iked's whole setup, so two cores cannot hold both at saturation.  With
 * private value 1 the public value is the generator g and g^ir = (g^r)^1
 * is the responder's public value as received: a copy.  The responder
 * sees an ordinary, valid public value (RFC 6989: G is on the curve and
 * not the point at infinity; 1 < 2 < p-1) and does its key generation
 * and derivation as for any peer.  Not for anything but a benchmark:
 * the "secret" is public.
 */
#include "unitdh.h"

#include "crypto/crypto.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>

static int ecp_nid(uint16_t group)
{
	switch (group) {
	case IKEV2_DH_ECP256:
		return NID_X9_62_prime256v1;
	case IKEV2_DH_ECP384:
		return NID_secp384r1;
	case IKEV2_DH_ECP521:
		return NID_secp521r1;
	}
	return NID_undef;
}

static bool is_xdh(uint16_t group)
{
	return group == IKEV2_DH_CURVE25519 || group == IKEV2_DH_CURVE448;
}

/* G from OpenSSL's curve (EC_GROUP_get0_generator), uncompressed:
 * 0x04 || x || y, the octet dropped (RFC 5903 §7). */
static int ecp_generator(int nid, uint8_t *out, size_t len)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(nid);
	uint8_t pt[1 + 2 * 66];
	size_t n = 0;

	if (grp)
		n = EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp),
				       POINT_CONVERSION_UNCOMPRESSED, pt,
				       sizeof(pt), NULL);
	EC_GROUP_free(grp);
	if (n != len + 1 || pt[0] != 0x04)
		return -EIO;
	memcpy(out, pt + 1, len);
	return 0;
}

int unitdh_public(uint16_t group, uint8_t *out, size_t len)
{
	const struct crypto_dh_alg *alg = crypto_dh_lookup(group);

	if (!alg || len != alg->pub_len)
		return -EINVAL;
	if (is_xdh(group))
		return -ENOTSUP;
	if (ecp_nid(group) != NID_undef)
		return ecp_generator(ecp_nid(group), out, len);
	/* RFC 3526 / RFC 2409 §6.2: every MODP group's generator is 2 */
	memset(out, 0, len);
	out[len - 1] = 2;
	return 0;
}

int unitdh_secret(uint16_t group, const uint8_t *peer, size_t peer_len,
		  uint8_t *secret, size_t secret_len)
{
	const struct crypto_dh_alg *alg = crypto_dh_lookup(group);

	if (!alg || is_xdh(group))
		return -EINVAL;
	/* RFC 7296 §3.4: the KE data length is fixed by the group */
	if (peer_len != alg->pub_len || secret_len != alg->secret_len)
		return -EBADMSG;
	/* ECP: x of the responder's point (secret_len = half the KE data);
	 * MODP: g^r itself, already as long as the prime (§2.14) */
	memcpy(secret, peer, secret_len);
	return 0;
}
