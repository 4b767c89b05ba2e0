/*
 * ikev1.c - IKEv1 key derivation, IVs, CBC protection and hashes (RFC
 * 2409 §5, §5.5, §5.7, Appendix B).  See ikev1.h.
 */
#include "crypto/ikev1.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

uint16_t ikev1_prf_of_hash(uint16_t p1_hash)
{
	/* RFC 2409 App. A hash IDs, RFC 4868 §2.4 for SHA-2 */
	switch (p1_hash) {
	case 1:
		return IKEV2_PRF_HMAC_MD5;
	case 2:
		return IKEV2_PRF_HMAC_SHA1;
	case 4:
		return IKEV2_PRF_HMAC_SHA2_256;
	case 5:
		return IKEV2_PRF_HMAC_SHA2_384;
	case 6:
		return IKEV2_PRF_HMAC_SHA2_512;
	}
	return 0;
}

uint16_t ikev1_encr_of_p1(uint16_t p1_encr)
{
	/* RFC 2409 App. A: 5 = 3DES-CBC; RFC 3602 §5: 7 = AES-CBC */
	switch (p1_encr) {
	case 5:
		return IKEV2_ENCR_3DES;
	case 7:
		return IKEV2_ENCR_AES_CBC;
	}
	return 0;
}

int ikev1_hash(uint16_t prf_id, const struct cbuf *parts, size_t n,
	       uint8_t *out)
{
	const char *name = crypto_prf_digest(prf_id);
	EVP_MD *md;
	EVP_MD_CTX *c;
	unsigned int ol;
	int rc = -EIO;

	if (!name)
		return -EINVAL;
	md = EVP_MD_fetch(NULL, name, NULL);
	if (!md)
		return -ENOTSUP;
	c = EVP_MD_CTX_new();
	if (!c) {
		EVP_MD_free(md);
		return -ENOMEM;
	}
	if (EVP_DigestInit_ex(c, md, NULL) != 1)
		goto cleanup_ctx;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len &&
		    EVP_DigestUpdate(c, parts[i].p, parts[i].len) != 1)
			goto cleanup_ctx;
	if (EVP_DigestFinal_ex(c, out, &ol) != 1)
		goto cleanup_ctx;
	rc = 0;
cleanup_ctx:
	EVP_MD_CTX_free(c);
	EVP_MD_free(md);
	return rc;
}

void ikev1_keys_wipe(struct ikev1_keys *k)
{
	mem_wipe(k, sizeof(*k));
}

int ikev1_skeyid_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		     size_t nr_len, uint8_t *out)
{
	const struct cbuf parts[] = {{ni, ni_len}, {nr, nr_len}};

	/* RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) */
	return crypto_prf(prf, psk, psk_len, parts, NELEM(parts), out);
}

int ikev1_skeyid_sig(uint16_t prf, const uint8_t *ni, size_t ni_len,
		     const uint8_t *nr, size_t nr_len, const uint8_t *gxy,
		     size_t gxy_len, uint8_t *out)
{
	uint8_t key[2 * 256];
	const struct cbuf parts[] = {{gxy, gxy_len}};
	int rc;

	/* RFC 2409 §5: SKEYID = prf(Ni_b | Nr_b, g^xy) */
	if (ni_len > 256 || nr_len > 256)
		return -EINVAL;
	memcpy(key, ni, ni_len);
	memcpy(key + ni_len, nr, nr_len);
	rc = crypto_prf(prf, key, ni_len + nr_len, parts, NELEM(parts), out);
	mem_wipe(key, sizeof(key));
	return rc;
}

int ikev1_derive(struct ikev1_keys *k, const uint8_t *gxy, size_t gxy_len,
		 const uint8_t cky_i[8], const uint8_t cky_r[8],
		 const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
		 size_t gxr_len)
{
	const struct crypto_prf_alg *pa = crypto_prf_lookup(k->prf);
	const struct crypto_encr_alg *ea = crypto_encr_lookup(k->encr);
	const uint8_t zero = 0, one = 1, two = 2;
	uint8_t ka[CRYPTO_MAX_KEY + CRYPTO_MAX_PRF_OUT];
	uint8_t dig[CRYPTO_MAX_PRF_OUT];
	size_t keylen, have;
	int rc;

	if (!pa || !crypto_prf_digest(k->prf) || !ea || ea->aead)
		return -EINVAL;
	keylen = k->keybits / 8u;
	if (keylen == 0 || keylen > CRYPTO_MAX_KEY || ea->block == 0 ||
	    ea->block > CRYPTO_MAX_BLOCK)
		return -EINVAL;
	k->hlen = pa->out_len;
	k->block = ea->block;
	{
		/* RFC 2409 §5 */
		const struct cbuf d[] = {
		    {gxy, gxy_len}, {cky_i, 8}, {cky_r, 8}, {&zero, 1}};
		const struct cbuf a[] = {{k->skeyid_d, k->hlen},
					 {gxy, gxy_len},
					 {cky_i, 8},
					 {cky_r, 8},
					 {&one, 1}};
		const struct cbuf e[] = {{k->skeyid_a, k->hlen},
					 {gxy, gxy_len},
					 {cky_i, 8},
					 {cky_r, 8},
					 {&two, 1}};

		rc = crypto_prf(k->prf, k->skeyid, k->hlen, d, NELEM(d),
				k->skeyid_d);
		if (!rc)
			rc = crypto_prf(k->prf, k->skeyid, k->hlen, a, NELEM(a),
					k->skeyid_a);
		if (!rc)
			rc = crypto_prf(k->prf, k->skeyid, k->hlen, e, NELEM(e),
					k->skeyid_e);
		if (rc)
			return rc;
	}
	/* Appendix B: the cipher key */
	if (k->hlen >= keylen) {
		memcpy(k->enc_key, k->skeyid_e, keylen);
	} else {
		const struct cbuf z[] = {{&zero, 1}};

		rc = crypto_prf(k->prf, k->skeyid_e, k->hlen, z, 1, ka);
		for (have = k->hlen; !rc && have < keylen; have += k->hlen) {
			const struct cbuf prev[] = {
			    {ka + have - k->hlen, k->hlen}};
			rc = crypto_prf(k->prf, k->skeyid_e, k->hlen, prev, 1,
					ka + have);
		}
		if (!rc)
			memcpy(k->enc_key, ka, keylen);
		mem_wipe(ka, sizeof(ka));
		if (rc)
			return rc;
	}
	/* Appendix B: Phase 1 IV = hash(g^xi | g^xr) */
	{
		const struct cbuf iv[] = {{gxi, gxi_len}, {gxr, gxr_len}};

		rc = ikev1_hash(k->prf, iv, NELEM(iv), dig);
		if (rc)
			return rc;
		memcpy(k->iv, dig, k->block);
	}
	return 0;
}

int ikev1_hash_auth(const struct ikev1_keys *k, bool initiator,
		    const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
		    size_t gxr_len, const uint8_t cky_i[8],
		    const uint8_t cky_r[8], const uint8_t *sai_b,
		    size_t sai_len, const uint8_t *id_b, size_t id_len,
		    uint8_t *out)
{
	/* RFC 2409 §5 */
	const struct cbuf hi[] = {{gxi, gxi_len},   {gxr, gxr_len},
				  {cky_i, 8},	    {cky_r, 8},
				  {sai_b, sai_len}, {id_b, id_len}};
	const struct cbuf hr[] = {{gxr, gxr_len},   {gxi, gxi_len},
				  {cky_r, 8},	    {cky_i, 8},
				  {sai_b, sai_len}, {id_b, id_len}};

	return crypto_prf(k->prf, k->skeyid, k->hlen, initiator ? hi : hr, 6,
			  out);
}

int ikev1_iv_exchange(const struct ikev1_keys *k, uint32_t msgid,
		      uint8_t iv[CRYPTO_MAX_BLOCK])
{
	uint8_t mid[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16),
			  (uint8_t)(msgid >> 8), (uint8_t)msgid};
	const struct cbuf parts[] = {{k->iv, k->block}, {mid, 4}};
	uint8_t dig[CRYPTO_MAX_PRF_OUT];
	int rc;

	/* Appendix B: hash(last Phase 1 CBC block | M-ID) */
	if (k->block == 0 || k->block > CRYPTO_MAX_BLOCK)
		return -EINVAL;
	rc = ikev1_hash(k->prf, parts, NELEM(parts), dig);
	if (!rc)
		memcpy(iv, dig, k->block);
	return rc;
}

static int cbc(const struct ikev1_keys *k, bool enc, uint8_t iv[16],
	       uint8_t *buf, size_t len)
{
	struct crypto_cipher *c;
	uint8_t next[CRYPTO_MAX_BLOCK];
	int rc;

	if (len == 0 || len % k->block)
		return -EBADMSG;
	rc = crypto_cipher_new(k->encr, k->enc_key, k->keybits / 8u, enc, &c);
	if (rc)
		return rc;
	if (!enc)
		memcpy(next, buf + len - k->block, k->block);
	rc = enc ? crypto_cipher_encrypt(c, iv, NULL, 0, buf, len, buf, NULL)
		 : crypto_cipher_decrypt(c, iv, NULL, 0, buf, len, buf, NULL);
	crypto_cipher_free(c);
	if (rc)
		return rc;
	/* Appendix B: the next IV is the last ciphertext block */
	memcpy(iv, enc ? buf + len - k->block : next, k->block);
	return 0;
}

int ikev1_encrypt(const struct ikev1_keys *k, uint8_t iv[CRYPTO_MAX_BLOCK],
		  uint8_t *buf, size_t len, size_t cap, size_t *out_len)
{
	size_t padded;

	if (k->block == 0)
		return -EINVAL;
	/* Appendix B: padded with 0x00 up to the block size */
	padded = len + (k->block - len % k->block) % k->block;
	if (padded == 0)
		padded = k->block;
	if (padded > cap)
		return -EMSGSIZE;
	memset(buf + len, 0, padded - len);
	*out_len = padded;
	return cbc(k, true, iv, buf, padded);
}

int ikev1_decrypt(const struct ikev1_keys *k, uint8_t iv[CRYPTO_MAX_BLOCK],
		  uint8_t *buf, size_t len)
{
	if (k->block == 0)
		return -EINVAL;
	return cbc(k, false, iv, buf, len);
}

int ikev1_qm_hash(const struct ikev1_keys *k, uint32_t msgid, const uint8_t *ni,
		  size_t ni_len, const uint8_t *rest, size_t rest_len,
		  uint8_t *out)
{
	uint8_t mid[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16),
			  (uint8_t)(msgid >> 8), (uint8_t)msgid};
	const struct cbuf parts[] = {
	    {mid, 4}, {ni, ni ? ni_len : 0}, {rest, rest_len}};

	/* RFC 2409 §5.5 HASH(1)/HASH(2), §5.7 */
	return crypto_prf(k->prf, k->skeyid_a, k->hlen, parts, NELEM(parts),
			  out);
}

int ikev1_qm_hash3(const struct ikev1_keys *k, uint32_t msgid,
		   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		   size_t nr_len, uint8_t *out)
{
	const uint8_t zero = 0;
	uint8_t mid[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16),
			  (uint8_t)(msgid >> 8), (uint8_t)msgid};
	const struct cbuf parts[] = {
	    {&zero, 1}, {mid, 4}, {ni, ni_len}, {nr, nr_len}};

	/* RFC 2409 §5.5 HASH(3) */
	return crypto_prf(k->prf, k->skeyid_a, k->hlen, parts, NELEM(parts),
			  out);
}

int ikev1_keymat(const struct ikev1_keys *k, const uint8_t *gqm, size_t gqm_len,
		 uint8_t proto, uint32_t spi, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, uint8_t *out, size_t out_len)
{
	uint8_t s[4] = {(uint8_t)(spi >> 24), (uint8_t)(spi >> 16),
			(uint8_t)(spi >> 8), (uint8_t)spi};
	uint8_t t[CRYPTO_MAX_PRF_OUT];
	size_t done = 0;
	int rc = 0;

	if (k->hlen == 0 || out_len > 255 * k->hlen)
		return -EINVAL;
	/* RFC 2409 §5.5 */
	for (unsigned n = 0; done < out_len; n++) {
		const struct cbuf parts[] = {
		    {t, n ? k->hlen : 0}, {gqm, gqm ? gqm_len : 0},
		    {&proto, 1},	  {s, 4},
		    {ni, ni_len},	  {nr, nr_len}};
		size_t take;

		rc = crypto_prf(k->prf, k->skeyid_d, k->hlen, parts,
				NELEM(parts), t);
		if (rc)
			break;
		take = out_len - done < k->hlen ? out_len - done : k->hlen;
		memcpy(out + done, t, take);
		done += take;
	}
	mem_wipe(t, sizeof(t));
	return rc;
}
