/*
 * keys.c - IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18),
 * PSK authentication (§2.15) and NAT detection hashes (§2.23).
 *
 * All outputs go to caller-owned buffers; intermediate secrets on the
 * stack are cleansed before returning.
 */
#include "ike/codec/codec_int.h"
#include "lib/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/crypto.h>

void ikev2_sa_keys_wipe(struct ikev2_sa_keys *k)
{
	mem_wipe(k, sizeof(*k));
}

/* Sizes of the seven keys for a suite (§2.14). */
static int key_sizes(const struct ikev2_suite *s, struct ikev2_sa_keys *k)
{
	const struct crypto_prf_alg *prf = crypto_prf_lookup(s->prf);
	const struct crypto_encr_alg *enc = crypto_encr_lookup(s->encr);

	if (!prf || !enc)
		return -EINVAL;
	k->prf_len = prf->key_len;
	k->encr_len = crypto_encr_keymat_len(s->encr, s->encr_keybits);
	if (!k->encr_len)
		return -EINVAL;
	if (enc->aead) {
		k->integ_len = 0;
	} else {
		const struct crypto_integ_alg *in =
		    crypto_integ_lookup(s->integ);
		if (!in)
			return -EINVAL;
		k->integ_len = in->key_len;
	}
	return 0;
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *	= prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)   (§2.14) */
static int expand(const struct ikev2_suite *s, const uint8_t *ni, size_t ni_len,
		  const uint8_t *nr, size_t nr_len, uint64_t spi_i,
		  uint64_t spi_r, struct ikev2_sa_keys *k)
{
	uint8_t spis[16], km[7 * CRYPTO_MAX_KEY];
	struct cbuf seed[3] = {{ni, ni_len}, {nr, nr_len}, {spis, 16}};
	size_t total, o = 0;
	int rc;

	ikev2_spi64_put(spis, spi_i);
	ikev2_spi64_put(spis + 8, spi_r);
	total = 3 * k->prf_len + 2 * k->integ_len + 2 * k->encr_len;
	rc = crypto_prf_plus(s->prf, k->skeyseed, k->skeyseed_len, seed, 3, km,
			     total);
	if (rc == 0) {
		memcpy(k->sk_d, km + o, k->prf_len), o += k->prf_len;
		memcpy(k->sk_ai, km + o, k->integ_len), o += k->integ_len;
		memcpy(k->sk_ar, km + o, k->integ_len), o += k->integ_len;
		memcpy(k->sk_ei, km + o, k->encr_len), o += k->encr_len;
		memcpy(k->sk_er, km + o, k->encr_len), o += k->encr_len;
		memcpy(k->sk_pi, km + o, k->prf_len), o += k->prf_len;
		memcpy(k->sk_pr, km + o, k->prf_len);
	}
	mem_wipe(km, sizeof(km));
	return rc;
}

int ikev2_derive_ike_keys(const struct ikev2_suite *s, const uint8_t *gir,
			  size_t gir_len, const uint8_t *ni, size_t ni_len,
			  const uint8_t *nr, size_t nr_len, uint64_t spi_i,
			  uint64_t spi_r, struct ikev2_sa_keys *out)
{
	const struct crypto_prf_alg *prf = crypto_prf_lookup(s->prf);
	struct cbuf data = {gir, gir_len};
	uint8_t key[2 * IKEV2_NONCE_MAX];
	size_t klen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!prf || !gir || !ni || !nr || ni_len > IKEV2_NONCE_MAX ||
	    nr_len > IKEV2_NONCE_MAX)
		return -EINVAL;
	if ((rc = key_sizes(s, out)) < 0)
		return rc;
	if (prf->fixed_key) {
		/* §2.14: a fixed-length-key PRF takes half its key from the
		 * start of Ni and half from the start of Nr (64 bits each). */
		if (ni_len < 8 || nr_len < 8)
			return -EINVAL;
		memcpy(key, ni, 8);
		memcpy(key + 8, nr, 8);
		klen = 16;
	} else {
		/* §2.14: SKEYSEED = prf(Ni | Nr, g^ir) */
		memcpy(key, ni, ni_len);
		memcpy(key + ni_len, nr, nr_len);
		klen = ni_len + nr_len;
	}
	rc = crypto_prf(s->prf, key, klen, &data, 1, out->skeyseed);
	mem_wipe(key, sizeof(key));
	if (rc < 0)
		goto err;
	out->skeyseed_len = prf->out_len;
	rc = expand(s, ni, ni_len, nr, nr_len, spi_i, spi_r, out);
	if (rc < 0)
		goto err;
	return 0;
err:
	ikev2_sa_keys_wipe(out);
	return rc;
}

int ikev2_derive_ike_rekey(const struct ikev2_suite *s, uint16_t old_prf,
			   const uint8_t *old_sk_d, size_t old_sk_d_len,
			   const uint8_t *gir, size_t gir_len,
			   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			   size_t nr_len, uint64_t spi_i, uint64_t spi_r,
			   struct ikev2_sa_keys *out)
{
	const struct crypto_prf_alg *op = crypto_prf_lookup(old_prf);
	struct cbuf data[3] = {{gir, gir_len}, {ni, ni_len}, {nr, nr_len}};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!op || !crypto_prf_lookup(s->prf) || !gir || !ni || !nr)
		return -EINVAL;
	if ((rc = key_sizes(s, out)) < 0)
		return rc;
	/* §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with
	 * the PRF of the old IKE SA. */
	rc =
	    crypto_prf(old_prf, old_sk_d, old_sk_d_len, data, 3, out->skeyseed);
	if (rc < 0)
		goto err;
	out->skeyseed_len = op->out_len;
	/* The new SA's keys: as §2.14 with its own PRF.  (SKEYSEED is the
	 * new PRF's key, so its length need not match the new PRF.) */
	rc = expand(s, ni, ni_len, nr, nr_len, spi_i, spi_r, out);
	if (rc < 0)
		goto err;
	return 0;
err:
	ikev2_sa_keys_wipe(out);
	return rc;
}

size_t ikev2_child_keymat_len(const struct ikev2_suite *s, size_t *encr_len,
			      size_t *integ_len)
{
	const struct crypto_encr_alg *enc = crypto_encr_lookup(s->encr);
	size_t e, i = 0;

	if (s->proto == IKEV2_PROTO_AH) {
		/* RFC 4302 §2.6 / RFC 7296 §2.17: AH keys integrity only */
		const struct crypto_integ_alg *in =
		    crypto_integ_lookup(s->integ);
		if (!in || s->encr)
			return 0;
		if (encr_len)
			*encr_len = 0;
		if (integ_len)
			*integ_len = in->key_len;
		return in->key_len;
	}
	if (!enc)
		return 0;
	e = crypto_encr_keymat_len(s->encr, s->encr_keybits);
	if (!e)
		return 0;
	if (!enc->aead) {
		const struct crypto_integ_alg *in =
		    crypto_integ_lookup(s->integ);
		if (!in)
			return 0;
		i = in->key_len;
	} else if (s->integ != IKEV2_INTEG_NONE) {
		return 0; /* RFC 5282 §8 / RFC 4106 §5: AEAD has no INTEG */
	}
	if (encr_len)
		*encr_len = e;
	if (integ_len)
		*integ_len = i;
	return e + i;
}

int ikev2_derive_child_keys(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len,
			    const uint8_t *gir, size_t gir_len,
			    const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			    size_t nr_len, uint8_t *keymat, size_t keymat_len)
{
	struct cbuf seed[3];
	size_t n = 0;

	if (!sk_d || !ni || !nr || !keymat)
		return -EINVAL;
	/* §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); the i->r keys
	 * are taken first, then r->i, each encryption key then integrity
	 * key. */
	if (gir)
		seed[n++] = (struct cbuf){gir, gir_len};
	seed[n++] = (struct cbuf){ni, ni_len};
	seed[n++] = (struct cbuf){nr, nr_len};
	return crypto_prf_plus(prf, sk_d, sk_d_len, seed, n, keymat,
			       keymat_len);
}

int ikev2_signed_octets(uint16_t prf, const uint8_t *msg, size_t msg_len,
			const uint8_t *nonce, size_t nonce_len,
			const uint8_t *sk_p, size_t sk_p_len,
			const uint8_t *id_body, size_t id_body_len,
			struct wr *out)
{
	uint8_t maced[CRYPTO_MAX_PRF_OUT];
	const struct crypto_prf_alg *p = crypto_prf_lookup(prf);
	struct cbuf id = {id_body, id_body_len};
	int rc;

	if (!p || !msg || !nonce || !sk_p || !id_body)
		return -EINVAL;
	/* §2.15: RealMessage | NonceData | prf(SK_p, RestOfIDPayload) */
	rc = crypto_prf(prf, sk_p, sk_p_len, &id, 1, maced);
	if (rc == 0) {
		wr_bytes(out, msg, msg_len);
		wr_bytes(out, nonce, nonce_len);
		wr_bytes(out, maced, p->out_len);
		rc = wr_error(out);
	}
	mem_wipe(maced, sizeof(maced));
	return rc;
}

static const char key_pad[] = "Key Pad for IKEv2"; /* §2.15, 17 octets */

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
		   const uint8_t *octets, size_t octets_len, uint8_t *out,
		   size_t *out_len)
{
	const struct crypto_prf_alg *p = crypto_prf_lookup(prf);
	struct cbuf pad = {key_pad, sizeof(key_pad) - 1};
	struct cbuf msg = {octets, octets_len};
	uint8_t k[CRYPTO_MAX_PRF_OUT];
	int rc;

	if (!p || !psk || !octets)
		return -EINVAL;
	/* §2.15: the shared secret must not be empty (issue 9: a MIC with
	 * a 0-octet key is one anybody computes).  HMAC (RFC 2104 §2) and
	 * AES-XCBC-PRF (RFC 4434 §2) pad a short key with zero octets, so
	 * a key of zero octets only is that same empty key: refused too. */
	if (psk_len == 0 || is_zero(psk, psk_len))
		return -EKEYREJECTED;
	/* §2.15: AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"),
	 *                    <SignedOctets>) */
	rc = crypto_prf(prf, psk, psk_len, &pad, 1, k);
	if (rc == 0)
		rc = crypto_prf(prf, k, p->out_len, &msg, 1, out);
	if (rc == 0 && out_len)
		*out_len = p->out_len;
	mem_wipe(k, sizeof(k));
	return rc;
}

int ikev2_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
			  const uint8_t *octets, size_t octets_len,
			  const uint8_t *auth, size_t auth_len)
{
	uint8_t want[CRYPTO_MAX_PRF_OUT];
	size_t wl = 0;
	int rc;

	rc = ikev2_auth_psk(prf, psk, psk_len, octets, octets_len, want, &wl);
	if (rc < 0)
		return rc;
	rc = (auth_len == wl && CRYPTO_memcmp(want, auth, wl) == 0)
		 ? 0
		 : IKEV2_N_AUTHENTICATION_FAILED;
	mem_wipe(want, sizeof(want));
	return rc;
}

int ikev2_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct sockaddr *addr,
		    uint8_t out[20])
{
	uint8_t spis[16];
	struct cbuf parts[3] = {{spis, 16}};

	ikev2_spi64_put(spis, spi_i);
	ikev2_spi64_put(spis + 8, spi_r);
	/* §2.23: SHA-1(SPIi | SPIr | IP | Port), network byte order */
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)addr;
		parts[1] = (struct cbuf){&s->sin_addr, 4};
		parts[2] = (struct cbuf){&s->sin_port, 2};
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)addr;
		parts[1] = (struct cbuf){&s->sin6_addr, 16};
		parts[2] = (struct cbuf){&s->sin6_port, 2};
	} else {
		return -EAFNOSUPPORT;
	}
	return crypto_sha1(parts, 3, out);
}

/* RFC 7296 §2.8.1, §2.8.2: the lowest nonce decides a collision. */
int ikev2_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
		    size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	if (c)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

size_t ikev2_nonce_lowest(const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			  size_t nr_len, uint8_t *out, size_t cap)
{
	const uint8_t *m = ni;
	size_t ml = ni_len;

	if (ikev2_nonce_cmp(nr, nr_len, ni, ni_len) < 0) {
		m = nr;
		ml = nr_len;
	}
	if (ml > cap)
		return 0;
	memcpy(out, m, ml);
	return ml;
}
