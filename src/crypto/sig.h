/*
 * sig.h - digital signatures for IKEv2 authentication, over OpenSSL 3
 * EVP only: RSASSA-PKCS1-v1_5, RSASSA-PSS and ECDSA with SHA-1 and
 * SHA-2 (RFC 7296 §3.8 methods 1 and 9-11, RFC 7427 method 14), and the
 * RFC 7427 §3 AlgorithmIdentifier that names a scheme on the wire.
 *
 * Ownership: keys are EVP_PKEYs owned by the caller (never freed here).
 * sig_sign() returns a malloc()ed signature the caller free()s.
 *
 * Return values: 0 or a negative errno (-EINVAL bad arguments or a
 * scheme that does not fit the key, -ENOTSUP unknown algorithm,
 * -EBADMSG signature does not verify, -ENOMEM, -EIO OpenSSL failure).
 */
#ifndef RACOON_SIG_H
#define RACOON_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Hash Algorithm Identifiers (RFC 7427 §4, IANA registry). */
#define SIG_HASH_SHA1	  1
#define SIG_HASH_SHA2_256 2
#define SIG_HASH_SHA2_384 3
#define SIG_HASH_SHA2_512 4

enum sig_key {
	SIG_KEY_NONE = 0,
	SIG_KEY_RSA,
	SIG_KEY_EC,
};

enum sig_fmt {
	SIG_FMT_PKCS1 = 0, /* RSASSA-PKCS1-v1_5 (with DigestInfo) */
	SIG_FMT_PSS,	   /* RSASSA-PSS, MGF1 */
	SIG_FMT_ECDSA_DER, /* Ecdsa-Sig-Value DER (RFC 7427, X.509) */
	SIG_FMT_ECDSA_RAW, /* r | s, each the field size (RFC 4754 §7) */
};

struct sig_alg {
	enum sig_key key;
	enum sig_fmt fmt;
	uint16_t hash;	   /* SIG_HASH_* */
	uint16_t mgf_hash; /* PSS: MGF1 hash (0 = same as hash) */
	uint16_t salt_len; /* PSS: salt octets (0 = hash length) */
};

/* Key type and size (RSA modulus bits, or EC field bits 256/384/521;
 * *bits = 0 for an EC curve other than P-256/384/521). */
int sig_key_info(EVP_PKEY *key, enum sig_key *type, int *bits);

int sig_sign(EVP_PKEY *key, const struct sig_alg *a, const uint8_t *data,
	     size_t len, uint8_t **sig, size_t *sig_len);
/* 0 if sig is a valid signature of data by key under scheme a;
 * -EBADMSG if not (also when the scheme does not fit the key). */
int sig_verify(EVP_PKEY *key, const struct sig_alg *a, const uint8_t *data,
	       size_t len, const uint8_t *sig, size_t sig_len);

/* IKEv1 (RFC 2409 §5.1, RFC 4754 §7): data already is the hash (HASH_I
 * or HASH_R).  RSA: PKCS#1 v1.5 padding of data itself (no
 * DigestInfo); ECDSA (P-256/384/521): data is the digest, the signature
 * r | s each the field size.  Same returns as sig_sign/sig_verify. */
int sig_sign_prehashed(EVP_PKEY *key, const uint8_t *data, size_t len,
		       uint8_t **sig, size_t *sig_len);
int sig_verify_prehashed(EVP_PKEY *key, const uint8_t *data, size_t len,
			 const uint8_t *sig, size_t sig_len);

/* RFC 7427 §3: DER AlgorithmIdentifier of a (PKCS1, PSS, ECDSA_DER). */
int sig_algid_encode(const struct sig_alg *a, uint8_t *out, size_t cap,
		     size_t *len);
/* Parse an AlgorithmIdentifier received from a peer (untrusted):
 * only the schemes above with SHA-1/SHA-2 are recognised. */
int sig_algid_decode(const uint8_t *der, size_t len, struct sig_alg *a);

const char *sig_hash_name(uint16_t hash);
/* "RSA-PSS-SHA256(MGF1-SHA256,salt 32)", "ECDSA-SHA384" ... */
const char *sig_alg_str(const struct sig_alg *a, char *buf, size_t len);

#endif
