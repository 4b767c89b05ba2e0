/*
 * test_unitdh.c - r2load -G (unitdh.c): for every group it supports,
 * the shared secret r2load takes without arithmetic equals what a
 * responder derives (crypto_dh_compute) from its fresh key pair and
 * r2load's public value, i.e. the keys of both sides agree; the public
 * value passes the responder's RFC 6989 checks (crypto_dh_compute
 * refuses it otherwise); ECP's G equals 1 x G as computed by
 * crypto_dh_new_private; X25519/X448 are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "unitdh.h"

static void agree(uint16_t group)
{
	const struct crypto_dh_alg *alg = crypto_dh_lookup(group);
	uint8_t gpub[CRYPTO_MAX_DH_PUB], rpub[CRYPTO_MAX_DH_PUB];
	uint8_t sr[CRYPTO_MAX_DH_SECRET], sg[CRYPTO_MAX_DH_SECRET];
	struct crypto_dh *resp;

	assert_non_null(alg);
	assert_int_equal(unitdh_public(group, gpub, alg->pub_len), 0);
	/* a few responders: each derivation is the responder's own */
	for (int k = 0; k < 4; k++) {
		assert_int_equal(crypto_dh_new(group, &resp), 0);
		assert_int_equal(crypto_dh_public(resp, rpub, alg->pub_len), 0);
		assert_int_equal(crypto_dh_compute(resp, gpub, alg->pub_len, sr,
						   alg->secret_len),
				 0);
		assert_int_equal(unitdh_secret(group, rpub, alg->pub_len, sg,
					       alg->secret_len),
				 0);
		assert_memory_equal(sr, sg, alg->secret_len);
		crypto_dh_free(resp);
	}
	assert_int_equal(
	    unitdh_secret(group, rpub, alg->pub_len - 1, sg, alg->secret_len),
	    -EBADMSG);
}

static void test_ecp(void **state)
{
	static const uint16_t grp[] = {IKEV2_DH_ECP256, IKEV2_DH_ECP384,
				       IKEV2_DH_ECP521};
	static const uint8_t one[1] = {1};

	(void)state;
	for (size_t i = 0; i < sizeof(grp) / sizeof(grp[0]); i++) {
		const struct crypto_dh_alg *alg = crypto_dh_lookup(grp[i]);
		uint8_t gpub[CRYPTO_MAX_DH_PUB], p1[CRYPTO_MAX_DH_PUB];
		struct crypto_dh *d1;

		agree(grp[i]);
		/* G (EC_GROUP_get0_generator) = 1 x G (EC_POINT_mul) */
		assert_int_equal(unitdh_public(grp[i], gpub, alg->pub_len), 0);
		assert_int_equal(crypto_dh_new_private(grp[i], one, 1, &d1), 0);
		assert_int_equal(crypto_dh_public(d1, p1, alg->pub_len), 0);
		assert_memory_equal(gpub, p1, alg->pub_len);
		crypto_dh_free(d1);
	}
}

static void test_modp(void **state)
{
	(void)state;
	agree(IKEV2_DH_MODP2048);
	agree(IKEV2_DH_MODP3072);
}

static void test_xdh_refused(void **state)
{
	uint8_t out[CRYPTO_MAX_DH_PUB];

	(void)state;
	assert_int_equal(unitdh_public(IKEV2_DH_CURVE25519, out, 32), -ENOTSUP);
	assert_int_equal(unitdh_public(IKEV2_DH_CURVE448, out, 56), -ENOTSUP);
	assert_int_equal(unitdh_public(0xffff, out, 32), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ecp),
	    cmocka_unit_test(test_modp),
	    cmocka_unit_test(test_xdh_refused),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	crypto_cleanup();
	return rc;
}
