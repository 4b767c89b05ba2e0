/*
 * alg.c - the IKEv2 transform registry (RFC 7296 §3.3.2): which IDs
 * racoon2 implements and their sizes.  Tables are static and read-only;
 * lookups return pointers into them.
 */
#include "crypto/crypto.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>

/*
 * Wire IV, salt and padding sizes: AES-CBC RFC 3602 (16-octet IV), 3DES
 * RFC 2451 (8), AES-CTR RFC 5930/3686 (8-octet IV + 4-octet nonce salt),
 * AES-GCM RFC 5282/4106 (8 + 4 salt), ChaCha20-Poly1305 RFC 7634 (8 + 4).
 * Counter and AEAD modes need no padding (block 1).
 */
static const struct crypto_encr_alg encr_algs[] = {
    {IKEV2_ENCR_3DES, "3des-cbc", false, false, 192, 8, 8, 0, 0},
    {IKEV2_ENCR_AES_CBC, "aes-cbc", false, true, 0, 16, 16, 0, 0},
    {IKEV2_ENCR_AES_CTR, "aes-ctr", false, true, 0, 1, 8, 4, 0},
    {IKEV2_ENCR_AES_GCM_8, "aes-gcm-8", true, true, 0, 1, 8, 4, 8},
    {IKEV2_ENCR_AES_GCM_12, "aes-gcm-12", true, true, 0, 1, 8, 4, 12},
    {IKEV2_ENCR_AES_GCM_16, "aes-gcm-16", true, true, 0, 1, 8, 4, 16},
    {IKEV2_ENCR_CHACHA20_POLY1305, "chacha20-poly1305", true, false, 256, 1, 8,
     4, 16},
};

/* RFC 7296 §2.13: HMAC preferred key length = output length; XCBC and
 * CMAC take 128-bit keys (RFC 4434 §2, RFC 4615 §3). */
static const struct crypto_prf_alg prf_algs[] = {
    {IKEV2_PRF_HMAC_MD5, "prf-hmac-md5", 16, 16, false},
    {IKEV2_PRF_HMAC_SHA1, "prf-hmac-sha1", 20, 20, false},
    {IKEV2_PRF_AES128_XCBC, "prf-aes128-xcbc", 16, 16, true},
    {IKEV2_PRF_HMAC_SHA2_256, "prf-hmac-sha2-256", 32, 32, false},
    {IKEV2_PRF_HMAC_SHA2_384, "prf-hmac-sha2-384", 48, 48, false},
    {IKEV2_PRF_HMAC_SHA2_512, "prf-hmac-sha2-512", 64, 64, false},
    {IKEV2_PRF_AES128_CMAC, "prf-aes128-cmac", 16, 16, true},
};

/* RFC 2403/2404 (96-bit), RFC 3566 (XCBC-96), RFC 4868 (SHA-2). */
static const struct crypto_integ_alg integ_algs[] = {
    {IKEV2_INTEG_HMAC_MD5_96, "hmac-md5-96", 16, 12},
    {IKEV2_INTEG_HMAC_SHA1_96, "hmac-sha1-96", 20, 12},
    {IKEV2_INTEG_AES_XCBC_96, "aes-xcbc-96", 16, 12},
    {IKEV2_INTEG_HMAC_SHA2_256_128, "hmac-sha2-256-128", 32, 16},
    {IKEV2_INTEG_HMAC_SHA2_384_192, "hmac-sha2-384-192", 48, 24},
    {IKEV2_INTEG_HMAC_SHA2_512_256, "hmac-sha2-512-256", 64, 32},
};

/* MODP: RFC 2409 §6.2, RFC 3526; ECP: RFC 5903 §7 (x||y); Curve25519 and
 * Curve448: RFC 8031 §3.1 (raw u). */
static const struct crypto_dh_alg dh_algs[] = {
    {IKEV2_DH_MODP1024, "modp1024", 128, 128},
    {IKEV2_DH_MODP1536, "modp1536", 192, 192},
    {IKEV2_DH_MODP2048, "modp2048", 256, 256},
    {IKEV2_DH_MODP3072, "modp3072", 384, 384},
    {IKEV2_DH_MODP4096, "modp4096", 512, 512},
    {IKEV2_DH_MODP6144, "modp6144", 768, 768},
    {IKEV2_DH_MODP8192, "modp8192", 1024, 1024},
    {IKEV2_DH_ECP256, "ecp256", 64, 32},
    {IKEV2_DH_ECP384, "ecp384", 96, 48},
    {IKEV2_DH_ECP521, "ecp521", 132, 66},
    {IKEV2_DH_CURVE25519, "curve25519", 32, 32},
    {IKEV2_DH_CURVE448, "curve448", 56, 56},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const struct crypto_encr_alg *crypto_encr_lookup(uint16_t id)
{
	for (size_t i = 0; i < NELEM(encr_algs); i++)
		if (encr_algs[i].id == id)
			return &encr_algs[i];
	return NULL;
}

const struct crypto_prf_alg *crypto_prf_lookup(uint16_t id)
{
	for (size_t i = 0; i < NELEM(prf_algs); i++)
		if (prf_algs[i].id == id)
			return &prf_algs[i];
	return NULL;
}

const struct crypto_integ_alg *crypto_integ_lookup(uint16_t id)
{
	for (size_t i = 0; i < NELEM(integ_algs); i++)
		if (integ_algs[i].id == id)
			return &integ_algs[i];
	return NULL;
}

const struct crypto_dh_alg *crypto_dh_lookup(uint16_t id)
{
	for (size_t i = 0; i < NELEM(dh_algs); i++)
		if (dh_algs[i].id == id)
			return &dh_algs[i];
	return NULL;
}

int crypto_encr_keybits(uint16_t id, uint16_t keylen_attr)
{
	const struct crypto_encr_alg *a = crypto_encr_lookup(id);

	if (!a)
		return -EINVAL;
	if (!a->keylen_attr) {
		/* RFC 7296 §3.3.5: fixed-length ciphers take no Key Length
		 * attribute; accept one that states the fixed length. */
		if (keylen_attr && keylen_attr != a->fixed_bits)
			return -EINVAL;
		return a->fixed_bits;
	}
	/* RFC 7296 §3.3.5: AES variants MUST carry the attribute. */
	if (keylen_attr != 128 && keylen_attr != 192 && keylen_attr != 256)
		return -EINVAL;
	return keylen_attr;
}

size_t crypto_encr_keymat_len(uint16_t id, uint16_t keybits)
{
	const struct crypto_encr_alg *a = crypto_encr_lookup(id);
	int bits;

	if (!a)
		return 0;
	bits = crypto_encr_keybits(id, a->keylen_attr ? keybits : 0);
	if (bits < 0)
		return 0;
	return (size_t)bits / 8 + a->salt_len;
}

static const char *unknown_name(char *buf, size_t len, uint16_t id)
{
	snprintf(buf, len, "unknown(%u)", id);
	return buf;
}

const char *crypto_encr_name(uint16_t id)
{
	static char buf[24];
	const struct crypto_encr_alg *a = crypto_encr_lookup(id);
	return a ? a->name : unknown_name(buf, sizeof(buf), id);
}

const char *crypto_prf_name(uint16_t id)
{
	static char buf[24];
	const struct crypto_prf_alg *a = crypto_prf_lookup(id);
	return a ? a->name : unknown_name(buf, sizeof(buf), id);
}

const char *crypto_integ_name(uint16_t id)
{
	static char buf[24];
	const struct crypto_integ_alg *a = crypto_integ_lookup(id);
	if (id == IKEV2_INTEG_NONE)
		return "none";
	return a ? a->name : unknown_name(buf, sizeof(buf), id);
}

const char *crypto_dh_name(uint16_t id)
{
	static char buf[24];
	const struct crypto_dh_alg *a = crypto_dh_lookup(id);
	if (id == IKEV2_DH_NONE)
		return "none";
	return a ? a->name : unknown_name(buf, sizeof(buf), id);
}
