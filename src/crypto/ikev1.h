/*
 * ikev1.h - IKEv1 key derivation and message protection (RFC 2409), on
 * the primitives of crypto.h (OpenSSL 3 EVP only):
 *   SKEYID for pre-shared keys and for signatures (§5), SKEYID_d/a/e,
 *   the cipher key from SKEYID_e (Appendix B), the Phase 1 IV and the
 *   per-exchange IVs of Quick Mode and Informational (Appendix B),
 *   CBC encryption with IV chaining and zero padding (Appendix B),
 *   HASH_I / HASH_R (§5), Quick Mode HASH(1)(2)(3) and KEYMAT with and
 *   without PFS (§5.5), the Informational HASH(1) (§5.7).
 *
 * The prf is the HMAC of the negotiated hash (§4: no PRF attribute is
 * supported), named by its IKEv2 PRF transform ID; ikev1_prf_of_hash()
 * maps the Phase 1 hash attribute to it.  struct ikev1_keys holds key
 * material: wipe it with ikev1_keys_wipe().  Returns 0 or a negative
 * errno (crypto.h conventions).
 */
#ifndef RACOON_CRYPTO_IKEV1_H
#define RACOON_CRYPTO_IKEV1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* Phase 1 hash attribute (RFC 2409 App. A, RFC 4868 §2.4) -> IKEV2_PRF_*
 * of its HMAC; 0 when unsupported. */
uint16_t ikev1_prf_of_hash(uint16_t p1_hash);
/* Phase 1 encryption attribute -> IKEV2_ENCR_* (CBC only); 0 if not. */
uint16_t ikev1_encr_of_p1(uint16_t p1_encr);

/* Plain hash with the digest under prf_id (MD5/SHA-1/SHA-2); out gets
 * the prf's out_len octets. */
int ikev1_hash(uint16_t prf_id, const struct cbuf *parts, size_t n,
	       uint8_t *out);

/* The keys of one ISAKMP SA. */
struct ikev1_keys {
	uint16_t prf;	  /* IKEV2_PRF_HMAC_* */
	uint16_t encr;	  /* IKEV2_ENCR_AES_CBC or IKEV2_ENCR_3DES */
	uint16_t keybits; /* cipher key bits */
	size_t hlen;	  /* prf output octets */
	size_t block;	  /* cipher block octets */
	uint8_t skeyid[CRYPTO_MAX_PRF_OUT];
	uint8_t skeyid_d[CRYPTO_MAX_PRF_OUT];
	uint8_t skeyid_a[CRYPTO_MAX_PRF_OUT];
	uint8_t skeyid_e[CRYPTO_MAX_PRF_OUT];
	uint8_t enc_key[CRYPTO_MAX_KEY]; /* keybits/8 octets */
	uint8_t iv[CRYPTO_MAX_BLOCK];	 /* Phase 1 chain: the last CBC block */
};

void ikev1_keys_wipe(struct ikev1_keys *k);

/* RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) (PSK) or
 * prf(Ni_b | Nr_b, g^xy) (signatures); out gets hlen octets. */
int ikev1_skeyid_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		     size_t nr_len, uint8_t *out);
int ikev1_skeyid_sig(uint16_t prf, const uint8_t *ni, size_t ni_len,
		     const uint8_t *nr, size_t nr_len, const uint8_t *gxy,
		     size_t gxy_len, uint8_t *out);

/*
 * From SKEYID (already in k->skeyid, k->prf/encr/keybits set):
 *   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 *   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 *   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 * the cipher key (App. B: the first bits of SKEYID_e, or of
 * K1 | K2 | ... with K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)),
 * and the Phase 1 IV = hash(g^xi | g^xr) truncated to the block size.
 * Cookies are the 8 header octets each.
 */
int ikev1_derive(struct ikev1_keys *k, const uint8_t *gxy, size_t gxy_len,
		 const uint8_t cky_i[8], const uint8_t cky_r[8],
		 const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
		 size_t gxr_len);

/*
 * RFC 2409 §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b |
 * IDii_b); HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b |
 * IDir_b).  initiator selects the order; gx_own/gx_peer are from the
 * point of view of the one whose hash it is (g^xi for HASH_I).
 */
int ikev1_hash_auth(const struct ikev1_keys *k, bool initiator,
		    const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
		    size_t gxr_len, const uint8_t cky_i[8],
		    const uint8_t cky_r[8], const uint8_t *sai_b,
		    size_t sai_len, const uint8_t *id_b, size_t id_len,
		    uint8_t *out);

/* App. B: the first IV of a Quick Mode or Informational exchange:
 * hash(last Phase 1 CBC block | M-ID) truncated to the block size. */
int ikev1_iv_exchange(const struct ikev1_keys *k, uint32_t msgid,
		      uint8_t iv[CRYPTO_MAX_BLOCK]);

/*
 * CBC with the exchange's IV (updated in place to the last ciphertext
 * block, App. B).  Encrypt: buf holds len plaintext octets and room for
 * the padding; the zero padding up to the block size is added and *out_len
 * gets the ciphertext length.  Decrypt: len must be a multiple of the
 * block size (else -EBADMSG).
 */
int ikev1_encrypt(const struct ikev1_keys *k, uint8_t iv[CRYPTO_MAX_BLOCK],
		  uint8_t *buf, size_t len, size_t cap, size_t *out_len);
int ikev1_decrypt(const struct ikev1_keys *k, uint8_t iv[CRYPTO_MAX_BLOCK],
		  uint8_t *buf, size_t len);

/*
 * §5.5 Quick Mode hashes, prf(SKEYID_a, ...):
 *   HASH(1) = prf(SKEYID_a, M-ID | rest)          (ni = nr = NULL)
 *   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest)   (ni set)
 *   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b) (use ikev1_qm_hash3)
 * rest = the message after the HASH payload; §5.7: the Informational
 * HASH(1) is HASH(1) over the Notify/Delete.
 */
int ikev1_qm_hash(const struct ikev1_keys *k, uint32_t msgid, const uint8_t *ni,
		  size_t ni_len, const uint8_t *rest, size_t rest_len,
		  uint8_t *out);
int ikev1_qm_hash3(const struct ikev1_keys *k, uint32_t msgid,
		   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		   size_t nr_len, uint8_t *out);

/*
 * §5.5 KEYMAT for one SA (the SPI its receiver chose):
 *   K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
 *   Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
 * out gets the first out_len octets of K1 | K2 | ...  gqm is NULL
 * without PFS.  out_len <= 255 * hlen.
 */
int ikev1_keymat(const struct ikev1_keys *k, const uint8_t *gqm, size_t gqm_len,
		 uint8_t proto, uint32_t spi, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, uint8_t *out,
		 size_t out_len);

#endif
