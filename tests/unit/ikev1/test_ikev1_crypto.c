/*
 * test_ikev1_crypto.c - src/crypto/ikev1.c against known answers computed
 * independently (gen_crypto_vectors.py: hashlib/hmac, pow() over the RFC
 * 3526 group, `cryptography` for CBC): SKEYID for PSK and signatures,
 * SKEYID_d/a/e, the Appendix B key expansion, the Phase 1 and exchange
 * IVs, CBC with chaining, HASH_I/HASH_R, Quick Mode HASH(1)(2)(3) and
 * KEYMAT with and without PFS.  g^xy is computed by the generator (crypto_dh
 * cannot load a fixed MODP private key; the DH primitive has its own tests).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/ikev1.h"
#include "ikev1_crypto_vectors.h"

static void keys_setup(struct ikev1_keys *k, uint16_t prf, uint16_t encr,
		       uint16_t bits)
{
	memset(k, 0, sizeof(*k));
	k->prf = prf;
	k->encr = encr;
	k->keybits = bits;
}

static void psk_sha1_aes128(void **state)
{
	struct ikev1_keys k;
	uint8_t out[64];

	(void)state;
	assert_int_equal(ikev1_prf_of_hash(2), IKEV2_PRF_HMAC_SHA1);
	assert_int_equal(ikev1_encr_of_p1(7), IKEV2_ENCR_AES_CBC);
	keys_setup(&k, IKEV2_PRF_HMAC_SHA1, IKEV2_ENCR_AES_CBC, 128);
	assert_int_equal(ikev1_skeyid_psk(k.prf, v_psk, sizeof(v_psk), v_ni,
					  sizeof(v_ni), v_nr, sizeof(v_nr),
					  k.skeyid),
			 0);
	assert_memory_equal(k.skeyid, a_skeyid, sizeof(a_skeyid));
	assert_int_equal(ikev1_derive(&k, v_gxy, sizeof(v_gxy), v_ckyi, v_ckyr,
				      v_gxi, sizeof(v_gxi), v_gxr,
				      sizeof(v_gxr)),
			 0);
	assert_int_equal(k.hlen, 20);
	assert_int_equal(k.block, 16);
	assert_memory_equal(k.skeyid_d, a_d, 20);
	assert_memory_equal(k.skeyid_a, a_a, 20);
	assert_memory_equal(k.skeyid_e, a_e, 20);
	assert_memory_equal(k.enc_key, a_key, 16);
	assert_memory_equal(k.iv, a_iv, 16);

	assert_int_equal(ikev1_hash_auth(&k, true, v_gxi, 256, v_gxr, 256,
					 v_ckyi, v_ckyr, v_sai_b,
					 sizeof(v_sai_b), v_idii_b,
					 sizeof(v_idii_b), out),
			 0);
	assert_memory_equal(out, a_hash_i, 20);
	assert_int_equal(ikev1_hash_auth(&k, false, v_gxi, 256, v_gxr, 256,
					 v_ckyi, v_ckyr, v_sai_b,
					 sizeof(v_sai_b), v_idir_b,
					 sizeof(v_idir_b), out),
			 0);
	assert_memory_equal(out, a_hash_r, 20);

	/* Main Mode message 5: zero padding, CBC, IV chaining */
	uint8_t buf[64], iv[16];
	size_t n;
	memcpy(buf, a_pt, sizeof(a_pt));
	memcpy(iv, k.iv, 16);
	assert_int_equal(ikev1_encrypt(&k, iv, buf, sizeof(a_pt), 40, &n),
			 -EMSGSIZE);
	assert_int_equal(
	    ikev1_encrypt(&k, iv, buf, sizeof(a_pt), sizeof(buf), &n), 0);
	assert_int_equal(n, sizeof(a_ct));
	assert_memory_equal(buf, a_ct, n);
	assert_memory_equal(iv, a_ct + n - 16, 16);
	/* the receiver's side */
	memcpy(iv, k.iv, 16);
	assert_int_equal(ikev1_decrypt(&k, iv, buf, 47), -EBADMSG);
	assert_int_equal(ikev1_decrypt(&k, iv, buf, n), 0);
	assert_memory_equal(buf, a_pt, sizeof(a_pt));
	assert_memory_equal(iv, a_ct + n - 16, 16);
	for (size_t i = sizeof(a_pt); i < n; i++)
		assert_int_equal(buf[i], 0);

	/* Quick Mode IV from the last Phase 1 block and the M-ID */
	memcpy(k.iv, iv, 16);
	assert_int_equal(ikev1_iv_exchange(&k, 0x12345678, iv), 0);
	assert_memory_equal(iv, a_iv_qm, 16);

	assert_int_equal(
	    ikev1_qm_hash(&k, 0x12345678, NULL, 0, v_rest, sizeof(v_rest), out),
	    0);
	assert_memory_equal(out, a_hash1, 20);
	assert_int_equal(ikev1_qm_hash(&k, 0x12345678, v_nqi, sizeof(v_nqi),
				       v_rest, sizeof(v_rest), out),
			 0);
	assert_memory_equal(out, a_hash2, 20);
	assert_int_equal(ikev1_qm_hash3(&k, 0x12345678, v_nqi, sizeof(v_nqi),
					v_nqr, sizeof(v_nqr), out),
			 0);
	assert_memory_equal(out, a_hash3, 20);

	assert_int_equal(ikev1_keymat(&k, NULL, 0, 3, 0xc0010203, v_nqi,
				      sizeof(v_nqi), v_nqr, sizeof(v_nqr), out,
				      36),
			 0);
	assert_memory_equal(out, a_keymat, 36);
	assert_int_equal(ikev1_keymat(&k, v_gqm, sizeof(v_gqm), 3, 0xc0010203,
				      v_nqi, sizeof(v_nqi), v_nqr,
				      sizeof(v_nqr), out, 64),
			 0);
	assert_memory_equal(out, a_keymat_pfs, 64);
	ikev1_keys_wipe(&k);
	assert_int_equal(k.skeyid[0] | k.enc_key[0] | k.skeyid_e[19], 0);
}

static void psk_sha1_aes256_expansion(void **state)
{
	struct ikev1_keys k;

	(void)state;
	keys_setup(&k, IKEV2_PRF_HMAC_SHA1, IKEV2_ENCR_AES_CBC, 256);
	memcpy(k.skeyid, a_skeyid, 20);
	assert_int_equal(ikev1_derive(&k, v_gxy, sizeof(v_gxy), v_ckyi, v_ckyr,
				      v_gxi, sizeof(v_gxi), v_gxr,
				      sizeof(v_gxr)),
			 0);
	assert_memory_equal(k.enc_key, b_key, 32);
	ikev1_keys_wipe(&k);
}

static void sig_sha256_3des(void **state)
{
	struct ikev1_keys k;
	uint8_t out[64], buf[32], iv[16];
	size_t n;

	(void)state;
	assert_int_equal(ikev1_prf_of_hash(4), IKEV2_PRF_HMAC_SHA2_256);
	assert_int_equal(ikev1_encr_of_p1(5), IKEV2_ENCR_3DES);
	keys_setup(&k, IKEV2_PRF_HMAC_SHA2_256, IKEV2_ENCR_3DES, 192);
	assert_int_equal(ikev1_skeyid_sig(k.prf, v_ni, sizeof(v_ni), v_nr,
					  sizeof(v_nr), v_gxy, sizeof(v_gxy),
					  k.skeyid),
			 0);
	assert_memory_equal(k.skeyid, c_skeyid, 32);
	assert_int_equal(ikev1_derive(&k, v_gxy, sizeof(v_gxy), v_ckyi, v_ckyr,
				      v_gxi, sizeof(v_gxi), v_gxr,
				      sizeof(v_gxr)),
			 0);
	assert_int_equal(k.block, 8);
	assert_memory_equal(k.skeyid_d, c_d, 32);
	assert_memory_equal(k.skeyid_a, c_a, 32);
	assert_memory_equal(k.skeyid_e, c_e, 32);
	assert_memory_equal(k.enc_key, c_key, 24);
	assert_memory_equal(k.iv, c_iv, 8);
	assert_int_equal(ikev1_hash_auth(&k, true, v_gxi, 256, v_gxr, 256,
					 v_ckyi, v_ckyr, v_sai_b,
					 sizeof(v_sai_b), v_idii_b,
					 sizeof(v_idii_b), out),
			 0);
	assert_memory_equal(out, c_hash_i, 32);
	memcpy(buf, c_pt, sizeof(c_pt));
	memcpy(iv, k.iv, 8);
	assert_int_equal(
	    ikev1_encrypt(&k, iv, buf, sizeof(c_pt), sizeof(buf), &n), 0);
	assert_int_equal(n, sizeof(c_ct));
	assert_memory_equal(buf, c_ct, n);
	memcpy(k.iv, iv, 8);
	assert_int_equal(ikev1_iv_exchange(&k, 0xdeadbeef, iv), 0);
	assert_memory_equal(iv, c_iv_info, 8);
	ikev1_keys_wipe(&k);
}

static void refused(void **state)
{
	struct ikev1_keys k;

	(void)state;
	assert_int_equal(ikev1_prf_of_hash(3), 0); /* Tiger */
	assert_int_equal(ikev1_encr_of_p1(1), 0);  /* DES */
	keys_setup(&k, IKEV2_PRF_AES128_XCBC, IKEV2_ENCR_AES_CBC, 128);
	assert_int_equal(ikev1_derive(&k, v_gxy, 256, v_ckyi, v_ckyr, v_gxi,
				      256, v_gxr, 256),
			 -EINVAL);
	keys_setup(&k, IKEV2_PRF_HMAC_SHA1, IKEV2_ENCR_AES_GCM_16, 128);
	assert_int_equal(ikev1_derive(&k, v_gxy, 256, v_ckyi, v_ckyr, v_gxi,
				      256, v_gxr, 256),
			 -EINVAL);
	keys_setup(&k, IKEV2_PRF_HMAC_SHA1, IKEV2_ENCR_AES_CBC, 0);
	assert_int_equal(ikev1_derive(&k, v_gxy, 256, v_ckyi, v_ckyr, v_gxi,
				      256, v_gxr, 256),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(psk_sha1_aes128),
	    cmocka_unit_test(psk_sha1_aes256_expansion),
	    cmocka_unit_test(sig_sha256_3des),
	    cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
