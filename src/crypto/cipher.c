/*
 * cipher.c - keyed cipher contexts for IKE SK payloads and ESP: AES-CBC,
 * 3DES-CBC, AES-CTR (RFC 3686/5930), AES-GCM (RFC 4106/5282) and
 * ChaCha20-Poly1305 (RFC 7634), through EVP_CIPHER_CTX.
 *
 * A context is keyed once (crypto_cipher_new) for one direction; each
 * packet only sets a new IV, so the per-packet path never allocates.
 * The context owns a copy of the salt; the key lives inside OpenSSL's
 * context, which EVP_CIPHER_CTX_free cleanses.
 */
#include "crypto/cache.h"
#include "crypto/crypto.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct crypto_cipher {
	const struct crypto_encr_alg *alg;
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *evp; /* borrowed from cache.h */
	bool encrypt;
	uint8_t salt[4];
};

static const char *evp_name(uint16_t id, size_t keybytes)
{
	switch (id) {
	case IKEV2_ENCR_3DES:
		return keybytes == 24 ? "DES-EDE3-CBC" : NULL;
	case IKEV2_ENCR_AES_CBC:
		return keybytes == 16	? "AES-128-CBC"
		       : keybytes == 24 ? "AES-192-CBC"
		       : keybytes == 32 ? "AES-256-CBC"
					: NULL;
	case IKEV2_ENCR_AES_CTR:
		return keybytes == 16	? "AES-128-CTR"
		       : keybytes == 24 ? "AES-192-CTR"
		       : keybytes == 32 ? "AES-256-CTR"
					: NULL;
	case IKEV2_ENCR_AES_GCM_8:
	case IKEV2_ENCR_AES_GCM_12:
	case IKEV2_ENCR_AES_GCM_16:
		return keybytes == 16	? "AES-128-GCM"
		       : keybytes == 24 ? "AES-192-GCM"
		       : keybytes == 32 ? "AES-256-GCM"
					: NULL;
	case IKEV2_ENCR_CHACHA20_POLY1305:
		return keybytes == 32 ? "ChaCha20-Poly1305" : NULL;
	default:
		return NULL;
	}
}

void crypto_cipher_free(struct crypto_cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	mem_wipe(c, sizeof(*c));
	free(c);
}

int crypto_cipher_new(uint16_t encr_id, const uint8_t *key, size_t keylen,
		      bool encrypt, struct crypto_cipher **out)
{
	const struct crypto_encr_alg *alg = crypto_encr_lookup(encr_id);
	struct crypto_cipher *c;
	const char *name;
	size_t kb;
	int rc = -EIO;

	*out = NULL;
	if (!alg || !key || keylen < alg->salt_len)
		return -EINVAL;
	kb = keylen - alg->salt_len;
	name = evp_name(encr_id, kb);
	if (!name)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->alg = alg;
	c->encrypt = encrypt;
	memcpy(c->salt, key + kb, alg->salt_len);
	c->evp = crypto_cached_cipher(name);
	if (!c->evp) {
		rc = -ENOTSUP;
		goto err_free;
	}
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx) {
		rc = -ENOMEM;
		goto err_free;
	}
	if (EVP_CipherInit_ex(c->ctx, c->evp, NULL, NULL, NULL, encrypt) != 1)
		goto err_free;
	if (alg->aead &&
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_IVLEN,
				alg->salt_len + alg->iv_len, NULL) != 1)
		goto err_free;
	if (EVP_CipherInit_ex(c->ctx, NULL, NULL, key, NULL, encrypt) != 1)
		goto err_free;
	/* RFC 7296 §3.14 / RFC 4303 §2.4: padding is ours, not PKCS#7. */
	EVP_CIPHER_CTX_set_padding(c->ctx, 0);
	*out = c;
	return 0;

err_free:
	crypto_cipher_free(c);
	return rc;
}

int crypto_cipher_rekey(struct crypto_cipher *c, const uint8_t *key,
			size_t keylen)
{
	size_t kb;

	if (!c || !key || keylen < c->alg->salt_len)
		return -EINVAL;
	kb = keylen - c->alg->salt_len;
	if ((size_t)EVP_CIPHER_CTX_get_key_length(c->ctx) != kb)
		return -EINVAL;
	memcpy(c->salt, key + kb, c->alg->salt_len);
	if (EVP_CipherInit_ex(c->ctx, NULL, NULL, key, NULL, c->encrypt) != 1)
		return -EIO;
	return 0;
}

/* Full IV/nonce/counter block from the wire IV. */
static size_t make_iv(const struct crypto_cipher *c, const uint8_t *iv,
		      uint8_t *full)
{
	const struct crypto_encr_alg *a = c->alg;

	if (a->id == IKEV2_ENCR_AES_CTR) {
		/* RFC 3686 §4: nonce(4) | IV(8) | counter(4) = 1 */
		memcpy(full, c->salt, 4);
		memcpy(full + 4, iv, 8);
		full[12] = full[13] = full[14] = 0;
		full[15] = 1;
		return 16;
	}
	if (a->salt_len) {
		/* RFC 4106 §4 / RFC 7634 §2: salt(4) | IV(8) */
		memcpy(full, c->salt, a->salt_len);
		memcpy(full + a->salt_len, iv, a->iv_len);
		return a->salt_len + a->iv_len;
	}
	memcpy(full, iv, a->iv_len);
	return a->iv_len;
}

static int cipher_run(struct crypto_cipher *c, bool encrypt, const uint8_t *iv,
		      const uint8_t *aad, size_t aadlen, const uint8_t *in,
		      size_t len, uint8_t *out, uint8_t *icv_out,
		      const uint8_t *icv_in)
{
	const struct crypto_encr_alg *a = c->alg;
	uint8_t full[16];
	int outl = 0, fl = 0;

	if (encrypt != c->encrypt || !iv || (len && (!in || !out)))
		return -EINVAL;
	if (len > INT_MAX || aadlen > INT_MAX)
		return -EINVAL;
	if (a->block > 1 && len % a->block)
		return -EINVAL;
	if (a->aead && (encrypt ? !icv_out : !icv_in))
		return -EINVAL;
	make_iv(c, iv, full);
	if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, full, -1) != 1)
		return -EIO;
	if (a->aead && aadlen &&
	    EVP_CipherUpdate(c->ctx, NULL, &outl, aad, (int)aadlen) != 1)
		return -EIO;
	if (len && EVP_CipherUpdate(c->ctx, out, &outl, in, (int)len) != 1)
		return -EIO;
	if (!len)
		outl = 0;
	if (a->aead && !encrypt &&
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, a->icv_len,
				(void *)icv_in) != 1)
		return -EIO;
	if (EVP_CipherFinal_ex(c->ctx, out ? out + outl : full, &fl) != 1)
		return a->aead && !encrypt ? -EBADMSG : -EIO;
	if (a->aead && encrypt &&
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, a->icv_len,
				icv_out) != 1)
		return -EIO;
	return 0;
}

int crypto_cipher_encrypt(struct crypto_cipher *c, const uint8_t *iv,
			  const uint8_t *aad, size_t aadlen, const uint8_t *in,
			  size_t len, uint8_t *out, uint8_t *icv)
{
	return cipher_run(c, true, iv, aad, aadlen, in, len, out, icv, NULL);
}

int crypto_cipher_decrypt(struct crypto_cipher *c, const uint8_t *iv,
			  const uint8_t *aad, size_t aadlen, const uint8_t *in,
			  size_t len, uint8_t *out, const uint8_t *icv)
{
	return cipher_run(c, false, iv, aad, aadlen, in, len, out, NULL, icv);
}
