/*
 * mac.c - PRFs (RFC 7296 §2.13) and integrity MACs: HMAC (RFC 2104 via
 * EVP_MAC), AES-CMAC (RFC 4493 via EVP_MAC, PRF key rule RFC 4615) and
 * AES-XCBC-MAC (RFC 3566, PRF key rule RFC 4434; OpenSSL has no XCBC, so
 * it is built here on one AES-128-ECB EVP_CIPHER_CTX), prf+, SHA-1 and
 * random bytes.
 *
 * A struct crypto_mac is keyed once and reused; it owns its OpenSSL
 * contexts and the XCBC subkeys, all cleansed on free.  Note: OpenSSL 3.0
 * itself allocates inside EVP_MAC_init() for HMAC re-initialisation; our
 * code adds no per-packet allocation.
 */
#include "crypto/cache.h"
#include "crypto/crypto.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

enum mac_kind { MAC_HMAC, MAC_CMAC, MAC_XCBC };

struct crypto_mac {
	enum mac_kind kind;
	size_t out_len;	 /* truncated output */
	size_t full_len; /* untruncated MAC size */
	EVP_MAC_CTX *mctx;
	/* XCBC only: E() keyed with K1, and the final-block subkeys. */
	EVP_CIPHER_CTX *cctx;
	uint8_t k2[16], k3[16];
};

const char *crypto_prf_digest(uint16_t prf_id)
{
	switch (prf_id) {
	case IKEV2_PRF_HMAC_MD5:
		return "MD5";
	case IKEV2_PRF_HMAC_SHA1:
		return "SHA1";
	case IKEV2_PRF_HMAC_SHA2_256:
		return "SHA256";
	case IKEV2_PRF_HMAC_SHA2_384:
		return "SHA384";
	case IKEV2_PRF_HMAC_SHA2_512:
		return "SHA512";
	}
	return NULL;
}

static const char *hmac_digest(uint16_t id, bool prf)
{
	if (prf)
		return crypto_prf_digest(id);
	switch (id) {
	case IKEV2_INTEG_HMAC_MD5_96:
		return "MD5";
	case IKEV2_INTEG_HMAC_SHA1_96:
		return "SHA1";
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return "SHA256";
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return "SHA384";
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return "SHA512";
	}
	return NULL;
}

void crypto_mac_free(struct crypto_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->mctx);
	EVP_CIPHER_CTX_free(m->cctx);
	mem_wipe(m, sizeof(*m));
	free(m);
}

size_t crypto_mac_len(const struct crypto_mac *m)
{
	return m->out_len;
}

/* One AES block with the ECB context (no allocation). */
static int ecb_block(EVP_CIPHER_CTX *c, const uint8_t in[16], uint8_t out[16])
{
	int outl;

	if (EVP_EncryptUpdate(c, out, &outl, in, 16) != 1 || outl != 16)
		return -EIO;
	return 0;
}

/* RFC 3566 §4: K1 = E(K, 0x01..), K2 = E(K, 0x02..), K3 = E(K, 0x03..). */
static int xcbc_setkey(struct crypto_mac *m, const uint8_t key[16])
{
	EVP_CIPHER *ecb = crypto_cached_cipher("AES-128-ECB");
	uint8_t k1[16], c[16];
	int rc = -EIO;

	if (!ecb)
		return -ENOTSUP;
	m->cctx = EVP_CIPHER_CTX_new();
	if (!m->cctx)
		return -ENOMEM;
	if (EVP_EncryptInit_ex(m->cctx, ecb, NULL, key, NULL) != 1)
		return -EIO;
	EVP_CIPHER_CTX_set_padding(m->cctx, 0);
	memset(c, 0x01, 16);
	if (ecb_block(m->cctx, c, k1) < 0)
		goto out;
	memset(c, 0x02, 16);
	if (ecb_block(m->cctx, c, m->k2) < 0)
		goto out;
	memset(c, 0x03, 16);
	if (ecb_block(m->cctx, c, m->k3) < 0)
		goto out;
	if (EVP_EncryptInit_ex(m->cctx, NULL, NULL, k1, NULL) != 1)
		goto out;
	rc = 0;
out:
	mem_wipe(k1, sizeof(k1));
	return rc;
}

/* RFC 3566 §4: CBC-MAC; the last block is XORed with K2 when complete,
 * else padded 10* and XORed with K3.  The last block must be known
 * before it is processed, hence the one-block lag. */
static int xcbc_run(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		    uint8_t out[16])
{
	uint8_t e[16] = {0}, blk[16];
	size_t blen = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = parts[i].p;
		size_t left = parts[i].len;

		while (left) {
			size_t take;

			if (blen == 16) {
				for (int j = 0; j < 16; j++)
					e[j] ^= blk[j];
				if ((rc = ecb_block(m->cctx, e, e)) < 0)
					goto out;
				blen = 0;
			}
			take = 16 - blen < left ? 16 - blen : left;
			memcpy(blk + blen, p, take);
			blen += take;
			p += take;
			left -= take;
		}
	}
	if (blen == 16) {
		for (int j = 0; j < 16; j++)
			e[j] ^= blk[j] ^ m->k2[j];
	} else {
		blk[blen] = 0x80;
		memset(blk + blen + 1, 0, 15 - blen);
		for (int j = 0; j < 16; j++)
			e[j] ^= blk[j] ^ m->k3[j];
	}
	rc = ecb_block(m->cctx, e, out);
out:
	mem_wipe(e, sizeof(e));
	mem_wipe(blk, sizeof(blk));
	return rc;
}

static int evp_mac_setup(struct crypto_mac *m, const char *alg,
			 const char *pname, const char *pval,
			 const uint8_t *key, size_t keylen)
{
	EVP_MAC *mac = crypto_cached_mac(alg);
	OSSL_PARAM params[2];

	if (!mac)
		return -ENOTSUP;
	m->mctx = EVP_MAC_CTX_new(mac);
	if (!m->mctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(pname, (char *)pval, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!key || !keylen)
		return -EINVAL; /* no MAC without a key */
	if (EVP_MAC_init(m->mctx, key, keylen, params) != 1)
		return -EIO;
	m->full_len = EVP_MAC_CTX_get_mac_size(m->mctx);
	return 0;
}

static int mac_run(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		   uint8_t *full)
{
	size_t ol;

	if (m->kind == MAC_XCBC)
		return xcbc_run(m, parts, n, full);
	/* NULL key: restart with the key set at creation. */
	if (EVP_MAC_init(m->mctx, NULL, 0, NULL) != 1)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len &&
		    EVP_MAC_update(m->mctx, parts[i].p, parts[i].len) != 1)
			return -EIO;
	if (EVP_MAC_final(m->mctx, full, &ol, CRYPTO_MAX_PRF_OUT) != 1)
		return -EIO;
	return 0;
}

/* Derive a 128-bit key from any-length key: RFC 4434 §2 (XCBC: pad
 * short keys with zeros, else XCBC(0^128, K)), RFC 4615 §3 (CMAC:
 * exactly 128 bits as is, else CMAC(0^128, K)). */
static int fixed_key(uint16_t prf_id, const uint8_t *key, size_t keylen,
		     uint8_t out[16])
{
	static const uint8_t zero[16];
	struct crypto_mac *z;
	struct cbuf part = {key, keylen};
	uint8_t full[CRYPTO_MAX_PRF_OUT];
	int rc;

	if (keylen == 16) {
		memcpy(out, key, 16);
		return 0;
	}
	if (prf_id == IKEV2_PRF_AES128_XCBC && keylen < 16) {
		memset(out, 0, 16);
		if (keylen)
			memcpy(out, key, keylen);
		return 0;
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	if (prf_id == IKEV2_PRF_AES128_XCBC) {
		z->kind = MAC_XCBC;
		rc = xcbc_setkey(z, zero);
	} else {
		z->kind = MAC_CMAC;
		rc = evp_mac_setup(z, "CMAC", OSSL_MAC_PARAM_CIPHER,
				   "AES-128-CBC", zero, 16);
	}
	if (rc == 0)
		rc = mac_run(z, &part, 1, full);
	if (rc == 0)
		memcpy(out, full, 16);
	mem_wipe(full, sizeof(full));
	crypto_mac_free(z);
	return rc;
}

int crypto_prf_new(uint16_t prf_id, const uint8_t *key, size_t keylen,
		   struct crypto_mac **out)
{
	const struct crypto_prf_alg *a = crypto_prf_lookup(prf_id);
	struct crypto_mac *m;
	uint8_t k[16];
	int rc;

	*out = NULL;
	/* Every IKEv2 PRF key is a secret (SKEYSEED, SK_d, SK_p, Ni|Nr,
	 * the PSK): an empty key is a caller bug or an absent PSK, and
	 * with it anyone computes the same output (issue 9). */
	if (!a || !key || !keylen)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->out_len = a->out_len;
	if (prf_id == IKEV2_PRF_AES128_XCBC ||
	    prf_id == IKEV2_PRF_AES128_CMAC) {
		rc = fixed_key(prf_id, key, keylen, k);
		if (rc == 0 && prf_id == IKEV2_PRF_AES128_XCBC) {
			m->kind = MAC_XCBC;
			m->full_len = 16;
			rc = xcbc_setkey(m, k);
		} else if (rc == 0) {
			m->kind = MAC_CMAC;
			rc = evp_mac_setup(m, "CMAC", OSSL_MAC_PARAM_CIPHER,
					   "AES-128-CBC", k, 16);
		}
		mem_wipe(k, sizeof(k));
	} else {
		m->kind = MAC_HMAC;
		rc = evp_mac_setup(m, "HMAC", OSSL_MAC_PARAM_DIGEST,
				   hmac_digest(prf_id, true), key, keylen);
	}
	if (rc < 0) {
		crypto_mac_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int crypto_integ_new(uint16_t integ_id, const uint8_t *key, size_t keylen,
		     struct crypto_mac **out)
{
	const struct crypto_integ_alg *a = crypto_integ_lookup(integ_id);
	struct crypto_mac *m;
	int rc;

	*out = NULL;
	if (!a || !key || keylen != a->key_len)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->out_len = a->icv_len;
	if (integ_id == IKEV2_INTEG_AES_XCBC_96) {
		m->kind = MAC_XCBC;
		m->full_len = 16;
		rc = xcbc_setkey(m, key);
	} else {
		m->kind = MAC_HMAC;
		rc = evp_mac_setup(m, "HMAC", OSSL_MAC_PARAM_DIGEST,
				   hmac_digest(integ_id, false), key, keylen);
	}
	if (rc < 0) {
		crypto_mac_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int crypto_mac_rekey(struct crypto_mac *m, const uint8_t *key, size_t keylen)
{
	if (!m || !key || !keylen)
		return -EINVAL;
	if (m->kind == MAC_XCBC) {
		/* RFC 3566 §4: K1, K2 and K3 all come from the key. */
		if (keylen != 16)
			return -EINVAL;
		EVP_CIPHER_CTX_free(m->cctx);
		m->cctx = NULL;
		return xcbc_setkey(m, key);
	}
	if (m->kind != MAC_HMAC)
		return -EINVAL;
	return EVP_MAC_init(m->mctx, key, keylen, NULL) == 1 ? 0 : -EIO;
}

int crypto_mac_compute(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		       uint8_t *out)
{
	uint8_t full[CRYPTO_MAX_PRF_OUT];
	int rc = mac_run(m, parts, n, full);

	if (rc == 0)
		memcpy(out, full, m->out_len);
	mem_wipe(full, sizeof(full));
	return rc;
}

int crypto_mac_verify(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		      const uint8_t *icv)
{
	uint8_t full[CRYPTO_MAX_PRF_OUT];
	int rc = mac_run(m, parts, n, full);

	if (rc == 0 && CRYPTO_memcmp(full, icv, m->out_len) != 0)
		rc = -EBADMSG;
	mem_wipe(full, sizeof(full));
	return rc;
}

int crypto_prf(uint16_t prf_id, const uint8_t *key, size_t keylen,
	       const struct cbuf *parts, size_t n, uint8_t *out)
{
	struct crypto_mac *m;
	int rc = crypto_prf_new(prf_id, key, keylen, &m);

	if (rc < 0)
		return rc;
	rc = crypto_mac_compute(m, parts, n, out);
	crypto_mac_free(m);
	return rc;
}

#define PRF_PLUS_MAX_PARTS 16

int crypto_prf_plus(uint16_t prf_id, const uint8_t *key, size_t keylen,
		    const struct cbuf *seed, size_t n, uint8_t *out,
		    size_t outlen)
{
	const struct crypto_prf_alg *a = crypto_prf_lookup(prf_id);
	struct cbuf parts[PRF_PLUS_MAX_PARTS + 2];
	uint8_t t[CRYPTO_MAX_PRF_OUT];
	struct crypto_mac *m;
	uint8_t ctr;
	size_t done = 0;
	int rc;

	if (!a || n > PRF_PLUS_MAX_PARTS || outlen > 255 * (size_t)a->out_len)
		return -EINVAL;
	rc = crypto_prf_new(prf_id, key, keylen, &m);
	if (rc < 0)
		return rc;
	/* RFC 7296 §2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) */
	for (ctr = 1; done < outlen; ctr++) {
		size_t np = 0, take;

		if (ctr > 1)
			parts[np++] = (struct cbuf){t, a->out_len};
		for (size_t i = 0; i < n; i++)
			parts[np++] = seed[i];
		parts[np++] = (struct cbuf){&ctr, 1};
		rc = crypto_mac_compute(m, parts, np, t);
		if (rc < 0)
			break;
		take = outlen - done < a->out_len ? outlen - done : a->out_len;
		memcpy(out + done, t, take);
		done += take;
	}
	mem_wipe(t, sizeof(t));
	crypto_mac_free(m);
	return rc;
}

int crypto_sha1(const struct cbuf *parts, size_t n, uint8_t out[20])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int ol;
	int rc = -EIO;

	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len &&
		    EVP_DigestUpdate(c, parts[i].p, parts[i].len) != 1)
			goto out;
	if (EVP_DigestFinal_ex(c, out, &ol) != 1 || ol != 20)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

/*
 * Small requests (SPIs, nonces, counters' starting points, jitter) are
 * served from a per-thread block of RAND_BLOCK octets drawn from OpenSSL
 * at once: each RAND_bytes call costs a getpid(2) (OpenSSL's fork check)
 * and the DRBG's lock, a few microseconds per IKE SA (issue 14).  Octets
 * are wiped from the block as they are handed out, so it holds only
 * octets nobody has seen; a fork empties the forking thread's block in
 * the child (the only thread there), so parent and child never share
 * octets.  Larger requests go to RAND_bytes directly.
 */
#define RAND_BLOCK 256

static _Thread_local struct {
	uint8_t b[RAND_BLOCK];
	size_t left; /* unused octets at the end of b */
} rand_block;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_forget(void)
{
	mem_wipe(&rand_block, sizeof(rand_block));
}

static void rand_init(void)
{
	(void)pthread_atfork(NULL, NULL, rand_forget);
}

int crypto_random(void *buf, size_t n)
{
	uint8_t *p;

	if (n > INT32_MAX)
		return -EINVAL;
	if (!n)
		return 0;
	if (n > RAND_BLOCK / 4)
		return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
	if (pthread_once(&rand_once, rand_init) != 0)
		return -EIO;
	if (rand_block.left < n) {
		if (RAND_bytes(rand_block.b, RAND_BLOCK) != 1) {
			rand_forget();
			return -EIO;
		}
		rand_block.left = RAND_BLOCK;
	}
	p = rand_block.b + RAND_BLOCK - rand_block.left;
	memcpy(buf, p, n);
	mem_wipe(p, n);
	rand_block.left -= n;
	return 0;
}
