/*
 * esp.c - ESP engine (RFC 4303) for the userspace data plane.
 *
 * Algorithms are described in two tables (encryption, integrity); one
 * init function turns a struct ksa into OpenSSL contexts and enforces the
 * generic rules (key lengths, AEAD without integrity, no ESP without
 * integrity).  Per packet nothing is allocated: AEAD contexts get a new
 * nonce, HMAC contexts are re-keyed from the key they already hold.
 *
 * Received packets are parsed only through struct rd.  See esp.h for
 * ownership.
 */
#include "kernel/userspace/esp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lib/rd.h"
#include "lib/util.h"

enum esp_kind { ESP_K_AEAD, ESP_K_CBC, ESP_K_NULL };

struct esp_alg {
	uint16_t encr_id;
	enum esp_kind kind;
	uint8_t iv_len, block, icv_len, salt_len;
	/* OpenSSL names for 128/192/256-bit keys (NULL = not allowed). */
	const char *name128, *name192, *name256;
	const char *rfc;
};

/* RFC 4303 §2.4: payload is padded so that pad length and next header
 * end on a 4-byte boundary, or the cipher's block size if larger. */
static const struct esp_alg esp_algs[] = {
    {IKEV2_ENCR_AES_GCM_16, ESP_K_AEAD, 8, 4, 16, 4, "AES-128-GCM",
     "AES-192-GCM", "AES-256-GCM", "RFC 4106"},
    {IKEV2_ENCR_AES_GCM_12, ESP_K_AEAD, 8, 4, 12, 4, "AES-128-GCM",
     "AES-192-GCM", "AES-256-GCM", "RFC 4106"},
    {IKEV2_ENCR_AES_GCM_8, ESP_K_AEAD, 8, 4, 8, 4, "AES-128-GCM", "AES-192-GCM",
     "AES-256-GCM", "RFC 4106"},
    {IKEV2_ENCR_CHACHA20_POLY1305, ESP_K_AEAD, 8, 4, 16, 4, NULL, NULL,
     "ChaCha20-Poly1305", "RFC 7634"},
    {IKEV2_ENCR_AES_CBC, ESP_K_CBC, 16, 16, 0, 0, "AES-128-CBC", "AES-192-CBC",
     "AES-256-CBC", "RFC 3602"},
    {IKEV2_ENCR_NULL, ESP_K_NULL, 0, 4, 0, 0, NULL, NULL, NULL, "RFC 2410"},
};

struct esp_integ {
	uint16_t id;
	const char *digest;
	uint8_t key_len, trunc_len;
};

/* RFC 2404 (SHA-1-96), RFC 4868 (SHA-2, truncated to half). */
static const struct esp_integ esp_integs[] = {
    {IKEV2_INTEG_HMAC_SHA1_96, "SHA1", 20, 12},
    {IKEV2_INTEG_HMAC_SHA2_256_128, "SHA256", 32, 16},
    {IKEV2_INTEG_HMAC_SHA2_384_192, "SHA384", 48, 24},
    {IKEV2_INTEG_HMAC_SHA2_512_256, "SHA512", 64, 32},
};

const char *esp_strerror(int err)
{
	switch (err) {
	case ESP_OK:
		return "ok";
	case ESP_E_SHORT:
		return "malformed or truncated ESP packet";
	case ESP_E_REPLAY:
		return "replayed or too old sequence number";
	case ESP_E_AUTH:
		return "integrity check failed";
	case ESP_E_PAD:
		return "bad padding";
	case ESP_E_SPACE:
		return "buffer too small";
	case ESP_E_DEAD:
		return "SA expired";
	case ESP_E_CRYPTO:
		return "crypto library failure";
	default:
		return err < 0 ? strerror(-err) : "unknown";
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static const struct esp_alg *alg_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(esp_algs) / sizeof(esp_algs[0]); i++)
		if (esp_algs[i].encr_id == id)
			return &esp_algs[i];
	return NULL;
}

static const struct esp_integ *integ_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(esp_integs) / sizeof(esp_integs[0]); i++)
		if (esp_integs[i].id == id)
			return &esp_integs[i];
	return NULL;
}

static void *cipher_new(const char *name, const uint8_t *key, int enc)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = NULL;

	if (!c)
		return NULL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL))
		goto fail_ctx;
	/* CBC: RFC 4303 §2.4 padding is ours, never PKCS#7.  Stream and
	 * AEAD modes (block size 1: GCM, ChaCha20-Poly1305, CTR) have none
	 * to turn off, and the flag would cost a provider parameter call
	 * (strcmp under OSSL_PARAM_locate) on every later EVP_CipherInit_ex,
	 * i.e. for every packet's IV. */
	if (EVP_CIPHER_get_block_size(c) > 1)
		EVP_CIPHER_CTX_set_padding(ctx, 0);
	EVP_CIPHER_free(c);
	return ctx;
fail_ctx:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return NULL;
}

static void *mac_new(const char *digest, const uint8_t *key, size_t klen)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];

	if (!m)
		return NULL;
	ctx = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);
	if (!ctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, klen, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

#define SAERR(...)                                                             \
	do {                                                                   \
		if (err && errlen)                                             \
			snprintf(err, errlen, __VA_ARGS__);                    \
	} while (0)

static void replay_setup(struct esp_sa *sa, const struct ksa *k)
{
	sa->window = k->replay_window;
	sa->rpl_bits = 64;
	while (sa->rpl_bits < sa->window)
		sa->rpl_bits <<= 1;
}

/* RFC 4302: AH has an integrity transform only (RFC 7296 §3.3.3: no
 * ENCR, INTEG mandatory); the same HMAC contexts, sequence numbers and
 * replay window as ESP.  The ICV itself is ah.c's. */
static int ah_sa_init(struct esp_sa *sa, const struct ksa *k, uint64_t now_sec,
		      char *err, size_t errlen)
{
	const struct esp_integ *integ = integ_find(k->integ_id);

	if (k->encr_id || k->enc_key_len) {
		SAERR("AH takes no encryption transform");
		return -EINVAL;
	}
	if (!integ) {
		SAERR("AH integrity transform %u not supported", k->integ_id);
		return -ENOTSUP;
	}
	if (k->auth_key_len != integ->key_len) {
		SAERR("integrity key is %u bytes, %s needs %u", k->auth_key_len,
		      integ->digest, integ->key_len);
		return -EINVAL;
	}
	if (k->replay_window > ESP_REPLAY_MAX) {
		SAERR("replay window %u > %u", k->replay_window,
		      ESP_REPLAY_MAX);
		return -EINVAL;
	}
	sa->k = *k;
	replay_setup(sa, k);
	sa->mac_enc = mac_new(integ->digest, k->auth_key, k->auth_key_len);
	sa->mac_dec = mac_new(integ->digest, k->auth_key, k->auth_key_len);
	if (!sa->mac_enc || !sa->mac_dec) {
		SAERR("OpenSSL cannot set up HMAC-%s", integ->digest);
		esp_sa_free(sa);
		return -ENOTSUP;
	}
	sa->icv_len = sa->mac_len = integ->trunc_len;
	mem_wipe(sa->k.auth_key, sizeof(sa->k.auth_key));
	sa->cnt.add_time = now_sec;
	return 0;
}

int esp_sa_init(struct esp_sa *sa, const struct ksa *k, uint64_t now_sec,
		char *err, size_t errlen)
{
	const struct esp_alg *alg;
	const struct esp_integ *integ = NULL;
	const char *name = NULL;
	size_t ekey, bits;
	int rc = -EINVAL;

	memset(sa, 0, sizeof(*sa));
	if (k->proto == IPPROTO_AH)
		return ah_sa_init(sa, k, now_sec, err, errlen);
	if (k->proto != IPPROTO_ESP) {
		SAERR("only ESP and AH are supported (proto %u)", k->proto);
		return -EPROTONOSUPPORT;
	}
	alg = alg_find(k->encr_id);
	if (!alg) {
		SAERR("encryption transform %u not supported", k->encr_id);
		return -ENOTSUP;
	}
	if (k->enc_key_len > KSA_MAX_KEY || k->auth_key_len > KSA_MAX_KEY) {
		SAERR("key too long");
		return -EINVAL;
	}
	ekey = k->enc_key_len;
	if (ekey < alg->salt_len) {
		SAERR("encryption key too short");
		return -EINVAL;
	}
	bits = k->encr_keybits ? k->encr_keybits : (ekey - alg->salt_len) * 8;
	if (bits != (ekey - alg->salt_len) * 8) {
		SAERR("key length %zu does not match %zu bits (+%u salt)", ekey,
		      bits, alg->salt_len);
		return -EINVAL;
	}
	if (alg->kind != ESP_K_NULL) {
		name = bits == 128   ? alg->name128
		       : bits == 192 ? alg->name192
		       : bits == 256 ? alg->name256
				     : NULL;
		if (!name) {
			SAERR("%zu-bit key not allowed for transform %u", bits,
			      k->encr_id);
			return -EINVAL;
		}
	} else if (ekey) {
		SAERR("ENCR_NULL takes no key");
		return -EINVAL;
	}
	if (alg->kind == ESP_K_AEAD) {
		/* RFC 4106 §8 / RFC 7634 §2: combined mode, no integrity
		 * transform. */
		if (k->integ_id) {
			SAERR("AEAD transform with an integrity transform");
			return -EINVAL;
		}
	} else {
		/* RFC 4303 §3.2: we refuse confidentiality-only ESP. */
		integ = integ_find(k->integ_id);
		if (!integ) {
			SAERR("integrity transform %u not supported",
			      k->integ_id);
			return -ENOTSUP;
		}
		if (k->auth_key_len != integ->key_len) {
			SAERR("integrity key is %u bytes, %s needs %u",
			      k->auth_key_len, integ->digest, integ->key_len);
			return -EINVAL;
		}
	}
	if (k->replay_window > ESP_REPLAY_MAX) {
		SAERR("replay window %u > %u", k->replay_window,
		      ESP_REPLAY_MAX);
		return -EINVAL;
	}

	sa->k = *k;
	sa->alg = alg;
	sa->iv_len = alg->iv_len;
	sa->block = alg->block;
	replay_setup(sa, k);
	if (alg->salt_len)
		memcpy(sa->salt, k->enc_key + ekey - alg->salt_len,
		       alg->salt_len);
	if (name) {
		sa->cipher_enc = cipher_new(name, k->enc_key, 1);
		sa->cipher_dec = cipher_new(name, k->enc_key, 0);
		if (!sa->cipher_enc || !sa->cipher_dec) {
			SAERR("OpenSSL cannot set up %s", name);
			rc = -ENOTSUP;
			goto fail_free;
		}
		/* RFC 4106 §4: nonce = salt || explicit IV.  GCM contexts
		 * can hold the salt and take only the explicit part per
		 * packet (the TLS-style "fixed IV" of OpenSSL); used for
		 * decryption, where it saves a re-initialisation. */
		if (alg->kind == ESP_K_AEAD &&
		    alg->encr_id != IKEV2_ENCR_CHACHA20_POLY1305)
			sa->gcm_iv_inv =
			    EVP_CIPHER_CTX_ctrl(sa->cipher_dec,
						EVP_CTRL_GCM_SET_IV_FIXED, 4,
						sa->salt) == 1;
	}
	if (integ) {
		sa->mac_enc =
		    mac_new(integ->digest, k->auth_key, k->auth_key_len);
		sa->mac_dec =
		    mac_new(integ->digest, k->auth_key, k->auth_key_len);
		if (!sa->mac_enc || !sa->mac_dec) {
			SAERR("OpenSSL cannot set up HMAC-%s", integ->digest);
			rc = -ENOTSUP;
			goto fail_free;
		}
		sa->icv_len = integ->trunc_len;
		sa->mac_len = integ->trunc_len;
	} else {
		sa->icv_len = alg->icv_len;
	}
	/* The contexts hold the keys now; do not keep a second copy. */
	mem_wipe(sa->k.enc_key, sizeof(sa->k.enc_key));
	mem_wipe(sa->k.auth_key, sizeof(sa->k.auth_key));
	sa->cnt.add_time = now_sec;
	return 0;
fail_free:
	esp_sa_free(sa);
	return rc;
}

void esp_sa_free(struct esp_sa *sa)
{
	EVP_CIPHER_CTX_free(sa->cipher_enc);
	EVP_CIPHER_CTX_free(sa->cipher_dec);
	EVP_MAC_CTX_free(sa->mac_enc);
	EVP_MAC_CTX_free(sa->mac_dec);
	mem_wipe(sa, sizeof(*sa));
}

size_t esp_encap_len(const struct esp_sa *sa, size_t len)
{
	size_t body = len + 2;

	body = (body + sa->block - 1) / sa->block * sa->block;
	return 8 + sa->iv_len + body + sa->icv_len;
}

unsigned esp_lifetime_check(struct esp_sa *sa)
{
	const struct klifetime *l = &sa->k.lft;
	const struct kcounters *c = &sa->cnt;

	if (sa->dead)
		return 0;
	if ((l->hard_bytes && c->bytes >= l->hard_bytes) ||
	    (l->hard_packets && c->packets >= l->hard_packets)) {
		sa->dead = true;
		return ESP_EV_HARD;
	}
	if (!sa->soft_done &&
	    ((l->soft_bytes && c->bytes >= l->soft_bytes) ||
	     (l->soft_packets && c->packets >= l->soft_packets))) {
		sa->soft_done = true;
		return ESP_EV_SOFT;
	}
	return 0;
}

unsigned esp_sa_tick(struct esp_sa *sa, uint64_t now)
{
	const struct klifetime *l = &sa->k.lft;
	uint64_t age = now - sa->cnt.add_time;
	uint64_t idle = sa->cnt.use_time ? now - sa->cnt.use_time : 0;

	if (sa->dead)
		return 0;
	if ((l->hard_add_sec && age >= l->hard_add_sec) ||
	    (l->hard_use_sec && sa->cnt.use_time && idle >= l->hard_use_sec)) {
		sa->dead = true;
		return ESP_EV_HARD;
	}
	if (!sa->soft_done && ((l->soft_add_sec && age >= l->soft_add_sec) ||
			       (l->soft_use_sec && sa->cnt.use_time &&
				idle >= l->soft_use_sec))) {
		sa->soft_done = true;
		return ESP_EV_SOFT;
	}
	return 0;
}

/* HMAC over the pieces, truncated ICV into icv. */
static int mac_compute(void *mctx, const uint8_t *a, size_t alen,
		       const uint8_t *b, size_t blen, const uint8_t *hi,
		       size_t hilen, uint8_t *icv, size_t icv_len)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t n = 0;

	if (!EVP_MAC_init(mctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(mctx, a, alen) ||
	    (blen && !EVP_MAC_update(mctx, b, blen)) ||
	    (hilen && !EVP_MAC_update(mctx, hi, hilen)) ||
	    !EVP_MAC_final(mctx, full, &n, sizeof(full)) || n < icv_len)
		return ESP_E_CRYPTO;
	memcpy(icv, full, icv_len);
	return 0;
}

size_t esp_hdr_len(const struct esp_sa *sa)
{
	return 8u + sa->iv_len;
}

/* GCM/ChaCha20-Poly1305 tag in or out: the provider parameter directly,
 * one step less than EVP_CIPHER_CTX_ctrl() (which builds the same
 * OSSL_PARAM array on every call). */
static int aead_tag(void *ctx, uint8_t *tag, size_t len, bool set)
{
	OSSL_PARAM p[2];

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
						 tag, len);
	p[1] = OSSL_PARAM_construct_end();
	return set ? EVP_CIPHER_CTX_set_params(ctx, p)
		   : EVP_CIPHER_CTX_get_params(ctx, p);
}

/*
 * Encrypt payload (len bytes) and the trailer (tlen bytes) into dst.  In
 * place (payload == dst) the trailer has been copied behind the payload
 * and one cipher call covers both; otherwise the payload goes from its
 * own buffer and the trailer from the caller's (a CBC context holds back
 * partial blocks, so the trailer cannot be encrypted where it lies).
 */
static int encrypt_body(void *ctx, const uint8_t *payload, size_t len,
			const uint8_t *trailer, size_t tlen, uint8_t *dst)
{
	int n1 = 0, n2 = 0, n3 = 0;

	if (payload == dst) {
		if (!EVP_CipherUpdate(ctx, dst, &n1, dst, (int)(len + tlen)))
			return ESP_E_CRYPTO;
	} else if (!EVP_CipherUpdate(ctx, dst, &n1, payload, (int)len) ||
		   !EVP_CipherUpdate(ctx, dst + n1, &n2, trailer, (int)tlen)) {
		return ESP_E_CRYPTO;
	}
	if (!EVP_CipherFinal_ex(ctx, dst + n1 + n2, &n3) ||
	    (size_t)(n1 + n2 + n3) != len + tlen)
		return ESP_E_CRYPTO;
	return 0;
}

int esp_encap(struct esp_sa *sa, const uint8_t *payload, size_t len, uint8_t nh,
	      uint8_t *out, size_t outcap, size_t *outlen, uint64_t now,
	      unsigned *events)
{
	uint8_t trailer[16 + 2], aad[12], nonce[12], *body_p;
	size_t total = esp_encap_len(sa, len);
	size_t body = total - 8 - sa->iv_len - sa->icv_len;
	size_t padlen = body - len - 2, hdrlen = 8 + sa->iv_len;
	uint64_t seq;
	uint32_t seq_hi;
	int n1 = 0;

	*events = 0;
	if (sa->dead)
		return ESP_E_DEAD;
	if (total > outcap || len > 0xffff)
		return ESP_E_SPACE;
	body_p = out + hdrlen;
	/* The payload is either where the ciphertext goes (in place) or in
	 * a buffer of its own; a partial overlap would corrupt it. */
	if (payload != body_p && (uintptr_t)payload < (uintptr_t)out + total &&
	    (uintptr_t)payload + len > (uintptr_t)out)
		return ESP_E_SPACE;
	/* RFC 4303 §3.3.3: the sequence number must never cycle; without
	 * ESN the SA is dead after 2^32 - 1 packets. */
	if ((!sa->k.esn && sa->seq_out >= UINT32_MAX) ||
	    sa->seq_out == UINT64_MAX) {
		sa->dead = true;
		*events = ESP_EV_HARD;
		return ESP_E_DEAD;
	}
	seq = ++sa->seq_out;
	seq_hi = (uint32_t)(seq >> 32);

	put32(out, sa->k.spi);
	put32(out + 4, (uint32_t)seq);
	/* RFC 4303 §2.4: default padding bytes are 1, 2, 3, ... */
	for (size_t i = 0; i < padlen; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[padlen] = (uint8_t)padlen;
	trailer[padlen + 1] = nh;
	if (payload == body_p || sa->alg->kind == ESP_K_NULL)
		memcpy(body_p + len, trailer, padlen + 2);

	switch (sa->alg->kind) {
	case ESP_K_AEAD: {
		/* RFC 4106 §3.1 / RFC 7634 §2: the explicit IV only has to
		 * be unique per key; the sequence number is. */
		uint8_t *iv = out + 8;
		size_t aadlen = 0;
		put32(iv, seq_hi);
		put32(iv + 4, (uint32_t)seq);
		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, iv, 8);
		/* RFC 4106 §5 / RFC 7634 §2.1: AAD is SPI || [ESN high]
		 * || seq low. */
		put32(aad, sa->k.spi);
		if (sa->k.esn) {
			put32(aad + 4, seq_hi);
			put32(aad + 8, (uint32_t)seq);
			aadlen = 12;
		} else {
			put32(aad + 4, (uint32_t)seq);
			aadlen = 8;
		}
		if (!EVP_CipherInit_ex(sa->cipher_enc, NULL, NULL, NULL, nonce,
				       1) ||
		    !EVP_CipherUpdate(sa->cipher_enc, NULL, &n1, aad,
				      (int)aadlen) ||
		    encrypt_body(sa->cipher_enc, payload, len, trailer,
				 padlen + 2, body_p) ||
		    !aead_tag(sa->cipher_enc, body_p + body, sa->icv_len,
			      false))
			return ESP_E_CRYPTO;
		break;
	}
	case ESP_K_CBC:
	case ESP_K_NULL: {
		uint8_t hi[4];
		if (sa->alg->kind == ESP_K_CBC) {
			/* RFC 3602 §2.3: the IV must be unpredictable. */
			if (RAND_bytes(out + 8, 16) != 1)
				return ESP_E_CRYPTO;
			if (!EVP_CipherInit_ex(sa->cipher_enc, NULL, NULL, NULL,
					       out + 8, 1) ||
			    encrypt_body(sa->cipher_enc, payload, len, trailer,
					 padlen + 2, body_p))
				return ESP_E_CRYPTO;
		} else if (payload != body_p) {
			memcpy(body_p, payload, len);
		}
		/* RFC 4303 §2.2.1 / §3.3.2.1: the ICV covers the ESN high
		 * bits, which are not transmitted. */
		put32(hi, seq_hi);
		if (mac_compute(sa->mac_enc, out, hdrlen + body, NULL, 0, hi,
				sa->k.esn ? 4 : 0, body_p + body,
				sa->icv_len) < 0)
			return ESP_E_CRYPTO;
		break;
	}
	}
	*outlen = total;
	sa->cnt.packets++;
	sa->cnt.bytes += len;
	sa->cnt.use_time = now;
	*events = esp_lifetime_check(sa);
	if (!sa->soft_done && !sa->k.esn &&
	    sa->seq_out >= (uint64_t)UINT32_MAX - ESP_SEQ_SOFT_MARGIN) {
		sa->soft_done = true;
		*events |= ESP_EV_SOFT;
	}
	return 0;
}

int esp_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq)
{
	struct rd r = rd_init(pkt, len);

	/* RFC 4303 §2.1: SPI 0 is reserved; 1..255 are IANA reserved and
	 * never sent by IKE. */
	if (rd_u32(&r, spi) < 0 || rd_u32(&r, seq) < 0)
		return ESP_E_SHORT;
	if (*spi < 256)
		return ESP_E_SHORT;
	return 0;
}

int esp_replay_check(const struct esp_sa *sa, uint32_t seq_lo,
		     uint64_t *seq_full)
{
	uint64_t t = sa->rpl_top, full;
	uint32_t th = (uint32_t)(t >> 32), tl = (uint32_t)t;
	uint32_t w = sa->window ? sa->window : ESP_REPLAY_DEFAULT;

	if (!sa->k.esn) {
		full = seq_lo;
	} else if (tl >= w - 1) {
		/* RFC 4303 Appendix A2.1, case A: window in one subspace. */
		full = (uint64_t)(seq_lo >= tl - w + 1 ? th : th + 1ull) << 32 |
		       seq_lo;
	} else {
		/* Case B: window spans two subspaces. */
		if (seq_lo >= (uint32_t)(tl - w + 1)) {
			if (th == 0)
				return ESP_E_REPLAY; /* before the start */
			full = (uint64_t)(th - 1) << 32 | seq_lo;
		} else {
			full = (uint64_t)th << 32 | seq_lo;
		}
	}
	*seq_full = full;
	/* RFC 4303 §3.3.3: the first packet sent has sequence number 1. */
	if (full == 0)
		return ESP_E_REPLAY;
	if (!sa->window || full > t)
		return 0;
	if (t - full >= sa->window)
		return ESP_E_REPLAY;
	if (sa->rpl_map[(full & (sa->rpl_bits - 1)) / 64] >> (full & 63) & 1)
		return ESP_E_REPLAY;
	return 0;
}

void esp_replay_update(struct esp_sa *sa, uint64_t full)
{
	uint64_t mask = sa->rpl_bits - 1, b;

	if (full > sa->rpl_top) {
		uint64_t diff = full - sa->rpl_top;
		if (diff >= sa->rpl_bits) {
			memset(sa->rpl_map, 0, sa->rpl_bits / 8);
		} else {
			for (uint64_t s = sa->rpl_top + 1; s <= full; s++) {
				b = s & mask;
				sa->rpl_map[b / 64] &= ~(1ull << (b & 63));
			}
		}
		sa->rpl_top = full;
	}
	b = full & mask;
	sa->rpl_map[b / 64] |= 1ull << (b & 63);
}

int esp_decap(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out,
	      size_t outcap, size_t *outlen, uint8_t *nh, uint64_t now,
	      unsigned *events)
{
	struct rd r = rd_init(pkt, len), h;
	const uint8_t *hdr, *iv, *ct, *icv;
	uint8_t aad[12], nonce[12], hi[4];
	uint32_t spi, seq_lo;
	uint64_t seq;
	size_t ctlen, aadlen, hdrlen = 8 + sa->iv_len;
	uint8_t padlen;
	int n1 = 0, n2 = 0, rc;

	*events = 0;
	if (sa->dead)
		return ESP_E_DEAD;
	/* RFC 4303 §2: SPI, sequence number, IV, payload+trailer, ICV. */
	if (rd_ptr(&r, hdrlen, &hdr) < 0)
		return ESP_E_SHORT;
	h = rd_init(hdr, hdrlen);
	if (rd_u32(&h, &spi) < 0 || rd_u32(&h, &seq_lo) < 0 ||
	    rd_ptr(&h, sa->iv_len, &iv) < 0)
		return ESP_E_SHORT;
	if (spi != sa->k.spi)
		return ESP_E_SHORT;
	if (rd_left(&r) < (size_t)sa->icv_len + 2)
		return ESP_E_SHORT;
	ctlen = rd_left(&r) - sa->icv_len;
	if (rd_ptr(&r, ctlen, &ct) < 0 || rd_ptr(&r, sa->icv_len, &icv) < 0)
		return ESP_E_SHORT;
	/* RFC 4303 §2.4: ciphertext ends on a block boundary (4 bytes for
	 * stream and combined modes is not enforced, peers differ). */
	if (sa->alg->kind == ESP_K_CBC && ctlen % sa->block)
		return ESP_E_SHORT;
	if (ctlen > outcap)
		return ESP_E_SPACE;
	/* RFC 4303 §3.4.3: reject duplicates before spending crypto. */
	rc = esp_replay_check(sa, seq_lo, &seq);
	if (rc < 0) {
		sa->cnt.replay_drops++;
		return rc;
	}
	put32(hi, (uint32_t)(seq >> 32));

	switch (sa->alg->kind) {
	case ESP_K_AEAD:
		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, iv, 8);
		put32(aad, spi);
		if (sa->k.esn) {
			memcpy(aad + 4, hi, 4);
			put32(aad + 8, seq_lo);
			aadlen = 12;
		} else {
			put32(aad + 4, seq_lo);
			aadlen = 8;
		}
		if (sa->gcm_iv_inv) {
			/* the salt is in the context (esp_sa_init): the
			 * explicit IV and the tag in one parameter call,
			 * cheaper than a re-init with the whole nonce */
			OSSL_PARAM p[3];
			p[0] = OSSL_PARAM_construct_octet_string(
			    OSSL_CIPHER_PARAM_AEAD_TAG, (void *)icv,
			    sa->icv_len);
			p[1] = OSSL_PARAM_construct_octet_string(
			    OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV, (void *)iv,
			    8);
			p[2] = OSSL_PARAM_construct_end();
			if (!EVP_CIPHER_CTX_set_params(sa->cipher_dec, p))
				return ESP_E_CRYPTO;
		} else if (!EVP_CipherInit_ex(sa->cipher_dec, NULL, NULL, NULL,
					      nonce, 0) ||
			   !aead_tag(sa->cipher_dec, (uint8_t *)icv,
				     sa->icv_len, true)) {
			return ESP_E_CRYPTO;
		}
		if (!EVP_CipherUpdate(sa->cipher_dec, NULL, &n1, aad,
				      (int)aadlen) ||
		    !EVP_CipherUpdate(sa->cipher_dec, out, &n1, ct, (int)ctlen))
			return ESP_E_CRYPTO;
		if (EVP_CipherFinal_ex(sa->cipher_dec, out + n1, &n2) != 1) {
			sa->cnt.integrity_drops++;
			return ESP_E_AUTH;
		}
		break;
	case ESP_K_CBC:
	case ESP_K_NULL: {
		uint8_t calc[32];
		/* RFC 4303 §3.4.4: verify the ICV before decrypting. */
		if (mac_compute(sa->mac_dec, hdr, hdrlen, ct, ctlen, hi,
				sa->k.esn ? 4 : 0, calc, sa->icv_len) < 0)
			return ESP_E_CRYPTO;
		if (CRYPTO_memcmp(calc, icv, sa->icv_len) != 0) {
			sa->cnt.integrity_drops++;
			return ESP_E_AUTH;
		}
		if (sa->alg->kind == ESP_K_NULL) {
			memmove(out, ct, ctlen); /* out may be ct (in place) */
		} else if (!EVP_CipherInit_ex(sa->cipher_dec, NULL, NULL, NULL,
					      iv, 0) ||
			   !EVP_CipherUpdate(sa->cipher_dec, out, &n1, ct,
					     (int)ctlen) ||
			   !EVP_CipherFinal_ex(sa->cipher_dec, out + n1, &n2)) {
			return ESP_E_CRYPTO;
		}
		break;
	}
	}
	/* RFC 4303 §2.4-2.6: pad length and next header end the payload. */
	padlen = out[ctlen - 2];
	*nh = out[ctlen - 1];
	if ((size_t)padlen + 2 > ctlen)
		return ESP_E_PAD;
	*outlen = ctlen - 2 - padlen;
	esp_replay_update(sa, seq);
	sa->cnt.packets++;
	sa->cnt.bytes += *outlen;
	sa->cnt.use_time = now;
	*events = esp_lifetime_check(sa);
	return 0;
}
