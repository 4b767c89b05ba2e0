/*
 * crypto.h - every cryptographic primitive racoon2 uses, over OpenSSL 3
 * EVP only: the IKEv2 transform registry (RFC 7296 §3.3.2), ciphers
 * (CBC, CTR, AEAD), PRFs and prf+ (RFC 7296 §2.13), integrity MACs,
 * Diffie-Hellman (MODP, ECP, Curve25519/448) and random bytes.
 *
 * Algorithms are named by their IKEv2 IANA transform IDs everywhere.
 *
 * Contexts (struct crypto_cipher, crypto_mac, crypto_dh) are opaque and
 * owned by whoever created them; *_free() wipes all key material
 * (mem_wipe) and accepts NULL.  A cipher or MAC context is keyed
 * once and then reused for any number of packets: the per-packet calls
 * (crypto_cipher_encrypt/decrypt, crypto_mac_compute/verify) never
 * allocate, so the userspace ESP data plane can use them directly.
 * Contexts are not thread-safe; use one per thread.
 *
 * All functions return 0 or a negative errno:
 *   -EINVAL   bad arguments (unknown ID, wrong key length, bad length)
 *   -ENOTSUP  algorithm known but not usable here
 *   -EBADMSG  authentication failed (AEAD tag, ICV) or peer DH value
 *             rejected
 *   -ENOMEM   allocation failed;  -EIO  an OpenSSL call failed
 */
#ifndef RACOON_CRYPTO_H
#define RACOON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IKEv2 transform IDs: the one registry (crypto/xform.h). */
#include "crypto/xform.h"

/* Upper bounds, for fixed-size buffers. */
#define CRYPTO_MAX_KEY	     64 /* any ENCR key incl. salt, MAC or PRF key */
#define CRYPTO_MAX_PRF_OUT   64 /* HMAC-SHA2-512 */
#define CRYPTO_MAX_ICV	     32 /* HMAC-SHA2-512-256 */
#define CRYPTO_MAX_IV	     16 /* wire IV (AES-CBC) */
#define CRYPTO_MAX_BLOCK     16
#define CRYPTO_MAX_DH_PUB    1024 /* MODP 8192 */
#define CRYPTO_MAX_DH_SECRET 1024

/* A piece of a message to MAC/PRF/hash: lists avoid concatenation. */
struct cbuf {
	const void *p;
	size_t len;
};

/* ---- Registry ---- */

struct crypto_encr_alg {
	uint16_t id;
	const char *name;    /* "aes-cbc", "aes-gcm-16", ... */
	bool aead;	     /* combined mode: no INTEG transform */
	bool keylen_attr;    /* Key Length attribute required (AES) */
	uint16_t fixed_bits; /* key bits when !keylen_attr (3DES, ChaCha) */
	uint8_t block;	     /* padding alignment for SK/ESP (1 = none) */
	uint8_t iv_len;	     /* IV octets on the wire */
	uint8_t salt_len;    /* keying material octets after the key */
	uint8_t icv_len;     /* AEAD tag octets, 0 otherwise */
};

struct crypto_prf_alg {
	uint16_t id;
	const char *name;
	uint8_t out_len; /* PRF output octets */
	uint8_t key_len; /* preferred key length (RFC 7296 §2.13) */
	bool fixed_key;	 /* XCBC/CMAC: 128-bit key (RFC 4434/4615) */
};

struct crypto_integ_alg {
	uint16_t id;
	const char *name;
	uint8_t key_len; /* key octets */
	uint8_t icv_len; /* truncated output octets */
};

struct crypto_dh_alg {
	uint16_t id;
	const char *name;
	uint16_t pub_len;    /* KE payload data octets (RFC 5903: x||y) */
	uint16_t secret_len; /* shared secret octets, zero-padded */
};

/* NULL when the ID is unknown/unsupported. */
const struct crypto_encr_alg *crypto_encr_lookup(uint16_t id);
const struct crypto_prf_alg *crypto_prf_lookup(uint16_t id);
const struct crypto_integ_alg *crypto_integ_lookup(uint16_t id);
const struct crypto_dh_alg *crypto_dh_lookup(uint16_t id);

/*
 * Key bits for an ENCR transform given its Key Length attribute
 * (0 = absent): returns the effective key bits, or -EINVAL when the
 * attribute is missing/forbidden/not a valid size (AES: 128/192/256).
 */
int crypto_encr_keybits(uint16_t id, uint16_t keylen_attr);
/* Keying-material octets (key + salt) for ENCR id with key bits; 0 if bad. */
size_t crypto_encr_keymat_len(uint16_t id, uint16_t keybits);

/* Names for logs and ikedctl; "unknown(N)" style for unknown IDs
 * (returned in a static per-call-site-unsafe buffer; log use only). */
const char *crypto_encr_name(uint16_t id);
const char *crypto_prf_name(uint16_t id);
/* OpenSSL digest name of an HMAC-based PRF (IKEv1 uses them as its hash
 * functions too), NULL for others. */
const char *crypto_prf_digest(uint16_t prf_id);
const char *crypto_integ_name(uint16_t id);
const char *crypto_dh_name(uint16_t id);

/* ---- Ciphers ---- */

struct crypto_cipher;

/*
 * Key a cipher for one direction.  key is the full keying material of
 * crypto_encr_keymat_len() octets: the cipher key followed by the salt
 * for AES-CTR (RFC 5930/3686 nonce), AES-GCM (RFC 5282/4106) and
 * ChaCha20-Poly1305 (RFC 7634).  The key is copied; caller wipes its own.
 */
int crypto_cipher_new(uint16_t encr_id, const uint8_t *key, size_t keylen,
		      bool encrypt, struct crypto_cipher **out);
void crypto_cipher_free(struct crypto_cipher *c);
/* Re-key c (same algorithm, direction and key length as made) without a
 * new context: a context shared by many SAs keyed per message (IKE's SK
 * payloads, ikev2_sk_ctx).  0, -EINVAL (other length), -EIO. */
int crypto_cipher_rekey(struct crypto_cipher *c, const uint8_t *key,
			size_t keylen);

/*
 * Encrypt len octets in -> out (in == out allowed).  iv is the wire IV
 * (alg->iv_len octets; the salt is prepended internally).  CBC: len must
 * be a multiple of alg->block (no padding is added).  AEAD: aad/aadlen
 * are authenticated, icv receives alg->icv_len octets; for non-AEAD
 * algorithms aad and icv are ignored (may be NULL).
 */
int crypto_cipher_encrypt(struct crypto_cipher *c, const uint8_t *iv,
			  const uint8_t *aad, size_t aadlen, const uint8_t *in,
			  size_t len, uint8_t *out, uint8_t *icv);
/* Decrypt; AEAD: verifies icv, returns -EBADMSG on mismatch (out is then
 * garbage and must not be used). */
int crypto_cipher_decrypt(struct crypto_cipher *c, const uint8_t *iv,
			  const uint8_t *aad, size_t aadlen, const uint8_t *in,
			  size_t len, uint8_t *out, const uint8_t *icv);

/* ---- PRF and integrity MACs ---- */

struct crypto_mac;

/*
 * A keyed PRF (RFC 7296 §2.13).  Any key length is accepted: HMAC takes
 * it as is, AES-XCBC-PRF-128 and AES-CMAC-PRF-128 apply the RFC 4434 /
 * RFC 4615 rule (pad short keys with zeros, hash long keys to 128 bits).
 */
int crypto_prf_new(uint16_t prf_id, const uint8_t *key, size_t keylen,
		   struct crypto_mac **out);
/* An integrity MAC (key length must equal alg->key_len). */
int crypto_integ_new(uint16_t integ_id, const uint8_t *key, size_t keylen,
		     struct crypto_mac **out);
void crypto_mac_free(struct crypto_mac *m);
/* Re-key an integrity MAC made by crypto_integ_new (same algorithm, a key
 * of its length) without a new context, as crypto_cipher_rekey. */
int crypto_mac_rekey(struct crypto_mac *m, const uint8_t *key, size_t keylen);
/* Output octets: PRF out_len or INTEG icv_len (truncated). */
size_t crypto_mac_len(const struct crypto_mac *m);

/* MAC over the concatenation of parts[0..n); out gets crypto_mac_len(). */
int crypto_mac_compute(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		       uint8_t *out);
/* Recompute and compare (CRYPTO_memcmp): 0 or -EBADMSG. */
int crypto_mac_verify(struct crypto_mac *m, const struct cbuf *parts, size_t n,
		      const uint8_t *icv);

/* One-shot prf(key, parts...) into out (alg->out_len octets). */
int crypto_prf(uint16_t prf_id, const uint8_t *key, size_t keylen,
	       const struct cbuf *parts, size_t n, uint8_t *out);
/*
 * prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n),
 * output the first outlen octets of T1 | T2 | ...  S is the
 * concatenation of seed[0..n).  outlen <= 255 * out_len.
 */
int crypto_prf_plus(uint16_t prf_id, const uint8_t *key, size_t keylen,
		    const struct cbuf *seed, size_t n, uint8_t *out,
		    size_t outlen);

/* SHA-1 of the concatenation (NAT-D, RFC 7296 §2.23; cert hashes). */
int crypto_sha1(const struct cbuf *parts, size_t n, uint8_t out[20]);

/* ---- Diffie-Hellman ---- */

struct crypto_dh;

/* Generate an ephemeral key pair for group (IKEV2_DH_*). */
int crypto_dh_new(uint16_t group, struct crypto_dh **out);
/*
 * Test vectors only: load a fixed private key.  MODP: big-endian
 * exponent; ECP: big-endian scalar; X25519/X448: the RFC 7748 scalar.
 */
int crypto_dh_new_private(uint16_t group, const uint8_t *priv, size_t len,
			  struct crypto_dh **out);
void crypto_dh_free(struct crypto_dh *dh);
uint16_t crypto_dh_group(const struct crypto_dh *dh);
/* Our public value as carried in the KE payload (alg->pub_len octets:
 * MODP zero-padded to the prime length, ECP x||y (RFC 5903 §7),
 * Curve25519/448 the raw u-coordinate (RFC 8031 §3.1)). */
int crypto_dh_public(const struct crypto_dh *dh, uint8_t *out, size_t len);
/*
 * Check the peer's public value and compute the shared secret into
 * secret (alg->secret_len octets, zero-padded on the left for MODP).
 * Checks: length exact; MODP 1 < y < p-1 (RFC 7296 §5, RFC 6989 §2.1);
 * ECP point on the curve and not infinity (RFC 6989 §2.3); X25519/X448
 * all-zero shared secret rejected (RFC 8031 §2.2).  -EBADMSG when the
 * peer value is rejected.
 */
int crypto_dh_compute(struct crypto_dh *dh, const uint8_t *peer,
		      size_t peer_len, uint8_t *secret, size_t secret_len);

/* ---- Random ---- */

/* Cryptographically strong random bytes (RAND_bytes).  0 or -EIO; on
 * failure buf holds nothing usable: every caller must check (the
 * compiler enforces it) and abort what needed the bytes (issue 9). */
int crypto_random(void *buf, size_t n) __attribute__((warn_unused_result));

/* ---- Process-wide caches ---- */

/*
 * The crypto layer builds some read-only objects once and shares them
 * between threads (each DH group's parameters, fetched algorithms).
 * crypto_cleanup() frees them: call it once at exit, when no other
 * thread uses the crypto layer; nothing may use it afterwards.
 */
void crypto_cleanup(void);

#endif
