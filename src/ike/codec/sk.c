/*
 * sk.c - the Encrypted payload SK{...} (RFC 7296 §3.14): CBC/CTR cipher
 * + integrity checksum over the whole message, or AEAD (AES-GCM RFC
 * 5282, ChaCha20-Poly1305 RFC 7634) with the IKE header through the SK
 * generic header as associated data (RFC 5282 §5.1).
 *
 * struct ikev2_sk_ctx holds its keys (wiped by ikev2_sk_free); the
 * cipher and MAC contexts are the calling thread's, keyed per message.  Sealing
 * encrypts in place inside the builder's buffer; opening writes the plaintext
 * into the caller's buffer, which the inner payload views then point into.
 */
#include "ike/codec/codec_int.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

/*
 * The calling thread's contexts: one cipher per direction, one MAC,
 * keyed from an ikev2_sk_ctx for each message (made again when the
 * algorithm or key length changes).  IKE messages are few per SA (setup,
 * liveness checks, rekeys), so a key schedule per message (~0.2-1 us)
 * buys back ~2.4 KB per IKE SA.
 */
static _Thread_local struct {
	struct crypto_cipher *c[2]; /* [encrypt] */
	uint16_t c_id[2];
	size_t c_len[2];
	struct crypto_mac *m;
	uint16_t m_id;
} scratch;

static int sk_cipher(const struct ikev2_sk_ctx *sk, struct crypto_cipher **out)
{
	int i = sk->encrypt ? 1 : 0, rc;

	if (scratch.c[i] && scratch.c_id[i] == sk->encr_id &&
	    scratch.c_len[i] == sk->elen &&
	    crypto_cipher_rekey(scratch.c[i], sk->ekey, sk->elen) == 0) {
		*out = scratch.c[i];
		return 0;
	}
	crypto_cipher_free(scratch.c[i]);
	scratch.c[i] = NULL;
	rc = crypto_cipher_new(sk->encr_id, sk->ekey, sk->elen, sk->encrypt,
			       &scratch.c[i]);
	if (rc < 0)
		return rc;
	scratch.c_id[i] = sk->encr_id;
	scratch.c_len[i] = sk->elen;
	*out = scratch.c[i];
	return 0;
}

static int sk_integ(const struct ikev2_sk_ctx *sk, struct crypto_mac **out)
{
	int rc;

	if (scratch.m && scratch.m_id == sk->integ_id &&
	    crypto_mac_rekey(scratch.m, sk->akey, sk->alen) == 0) {
		*out = scratch.m;
		return 0;
	}
	crypto_mac_free(scratch.m);
	scratch.m = NULL;
	rc = crypto_integ_new(sk->integ_id, sk->akey, sk->alen, &scratch.m);
	if (rc < 0)
		return rc;
	scratch.m_id = sk->integ_id;
	*out = scratch.m;
	return 0;
}

void ikev2_sk_thread_done(void)
{
	crypto_cipher_free(scratch.c[0]);
	crypto_cipher_free(scratch.c[1]);
	crypto_mac_free(scratch.m);
	memset(&scratch, 0, sizeof(scratch));
}

int ikev2_sk_init(struct ikev2_sk_ctx *sk, uint16_t encr_id, uint16_t integ_id,
		  const uint8_t *ekey, size_t elen, const uint8_t *akey,
		  size_t alen, bool encrypt)
{
	const struct crypto_encr_alg *encr = crypto_encr_lookup(encr_id);
	struct crypto_cipher *c;
	struct crypto_mac *m;
	int rc;

	memset(sk, 0, sizeof(*sk));
	if (!encr || !ekey || elen > sizeof(sk->ekey))
		return -EINVAL;
	sk->encr_id = encr_id;
	sk->encrypt = encrypt;
	sk->elen = (uint8_t)elen;
	memcpy(sk->ekey, ekey, elen);
	/* Keyed once here so that a bad key or algorithm fails now. */
	rc = sk_cipher(sk, &c);
	if (rc < 0)
		goto err;
	if (encr->block == 1 && encrypt) {
		/* Counter IVs start at a random point so that a context
		 * re-created under the same key does not repeat them (a
		 * decrypting context takes the IV from the message). */
		rc = crypto_random(&sk->iv_seq, sizeof(sk->iv_seq));
		if (rc < 0)
			goto err;
		sk->iv_seq >>= 1;
	}
	if (encr->aead) {
		/* RFC 5282 §8: no separate integrity transform. */
		sk->icv_len = encr->icv_len;
	} else {
		if (!akey || alen > sizeof(sk->akey)) {
			rc = -EINVAL;
			goto err;
		}
		sk->integ_id = integ_id;
		sk->alen = (uint8_t)alen;
		memcpy(sk->akey, akey, alen);
		rc = sk_integ(sk, &m);
		if (rc < 0)
			goto err;
		sk->icv_len = crypto_mac_len(m);
	}
	sk->encr = encr;
	return 0;
err:
	ikev2_sk_free(sk);
	return rc;
}

void ikev2_sk_free(struct ikev2_sk_ctx *sk)
{
	if (!sk)
		return;
	mem_wipe(sk, sizeof(*sk));
}

int ikev2_sk_begin(struct ikev2_wr *b, struct ikev2_sk_ctx *sk)
{
	size_t st, ivoff;

	if (b->err)
		return b->err;
	if (!sk || !sk->encr || b->sk_off != SIZE_MAX)
		return b->err = -EINVAL;
	if (ikev2_pl_begin(b, IKEV2_PL_SK, false, &st))
		return b->err;
	b->sk_off = st;
	b->sk = sk;
	/* IV filled in by sk_end; the first inner payload patches SK's Next
	 * Payload (RFC 7296 §3.2: it names the first embedded payload). */
	wr_reserve(&b->w, sk->encr->iv_len, &ivoff);
	return b->err = wr_error(&b->w);
}

/* RFC 7296 §3.14: minimal padding so that payloads | Padding | Pad
 * Length is a multiple of the block size, then room for the ICV.  The
 * IV sits at iv_off, the plaintext follows it up to the end of w. */
static int sk_pad(struct wr *w, const struct ikev2_sk_ctx *sk, size_t iv_off,
		  size_t *icv_off)
{
	const struct crypto_encr_alg *a = sk->encr;
	size_t ct_len = w->len - (iv_off + a->iv_len) + 1;
	size_t pad = (a->block - ct_len % a->block) % a->block;

	wr_zero(w, pad);
	wr_u8(w, (uint8_t)pad);
	*icv_off = w->len;
	wr_zero(w, sk->icv_len);
	return wr_error(w);
}

/* Encrypt iv_off + iv_len .. icv_off in place and fill IV and ICV; the
 * lengths (IKE header, payload) must be final: they are covered. */
static int sk_crypt(struct wr *w, struct ikev2_sk_ctx *sk, size_t iv_off,
		    size_t icv_off)
{
	const struct crypto_encr_alg *a = sk->encr;
	size_t ct_off = iv_off + a->iv_len, ct_len = icv_off - ct_off;
	uint8_t iv[CRYPTO_MAX_IV];
	struct crypto_cipher *c;
	struct crypto_mac *mac = NULL;
	int rc;

	rc = sk_cipher(sk, &c);
	if (rc == 0 && !a->aead)
		rc = sk_integ(sk, &mac);
	if (rc < 0)
		return rc;

	if (a->block > 1) {
		/* RFC 7296 §3.14: CBC needs an unpredictable IV. */
		rc = crypto_random(iv, a->iv_len);
	} else {
		/* CTR/GCM/ChaCha20 (RFC 5930 §2, RFC 5282 §3.1, RFC 7634
		 * §2): the IV must never repeat under one key; a counter
		 * guarantees it. */
		if (sk->iv_seq == UINT64_MAX)
			return -EOVERFLOW;
		sk->iv_seq++;
		put_be64(iv, sk->iv_seq);
		rc = 0;
	}
	if (rc < 0)
		return rc;
	memcpy(w->buf + iv_off, iv, a->iv_len);
	if (a->aead) {
		/* RFC 5282 §5.1 (RFC 7383 §2.5: for SKF the AAD also
		 * covers Fragment Number and Total Fragments): everything
		 * before the IV. */
		rc = crypto_cipher_encrypt(c, iv, w->buf, iv_off,
					   w->buf + ct_off, ct_len,
					   w->buf + ct_off, w->buf + icv_off);
	} else {
		struct cbuf part = {w->buf, icv_off};

		rc = crypto_cipher_encrypt(c, iv, NULL, 0, w->buf + ct_off,
					   ct_len, w->buf + ct_off, NULL);
		/* RFC 7296 §3.14: checksum over the encrypted message from
		 * the IKE header through Pad Length. */
		if (rc == 0)
			rc =
			    crypto_mac_compute(mac, &part, 1, w->buf + icv_off);
	}
	mem_wipe(iv, sizeof(iv));
	return rc;
}

int ikev2_sk_end(struct ikev2_wr *b)
{
	struct ikev2_sk_ctx *sk = b->sk;
	size_t iv_off, icv_off;
	int rc;

	if (b->err)
		return b->err;
	if (!sk || b->sk_off == SIZE_MAX || b->sk_done)
		return b->err = -EINVAL;
	iv_off = b->sk_off + IKEV2_GENHDR_LEN;
	if ((rc = sk_pad(&b->w, sk, iv_off, &icv_off)) != 0)
		return b->err = rc;
	b->sk_done = true;
	if ((rc = ikev2_pl_end(b, b->sk_off)) != 0)
		return rc;
	/* The ICV/AAD cover the header: its Length must be final now. */
	if (b->w.len > 0xffffffffu)
		return b->err = -EMSGSIZE;
	wr_patch_u32(&b->w, 24, (uint32_t)b->w.len);
	return b->err = sk_crypt(&b->w, sk, iv_off, icv_off);
}

/* Octets an SK or SKF payload adds to n octets of plaintext. */
static size_t sk_overhead(const struct ikev2_sk_ctx *sk, size_t n)
{
	const struct crypto_encr_alg *a = sk->encr;
	size_t ct = n + 1;

	return a->iv_len + (a->block - ct % a->block) % a->block + 1 +
	       sk->icv_len;
}

/*
 * RFC 7383 §2.5: one fragment message: the original IKE header (Next
 * Payload SKF, its own Length), the SKF payload (Next Payload = the
 * first inner payload type in fragment 1, zero in the others; Fragment
 * Number, Total Fragments), then the chunk of the original plaintext
 * encrypted and protected on its own (§2.5.3).  Appended to out.
 */
static int skf_seal_one(struct ikev2_sk_ctx *sk, const uint8_t *hdr, uint8_t np,
			uint16_t num, uint16_t total, const uint8_t *chunk,
			size_t clen, struct wr *out)
{
	struct wr w;
	size_t icv_off, iv_off = IKEV2_HDR_LEN + IKEV2_GENHDR_LEN + 4, ivr;
	int rc;

	wr_init(&w, IKEV2_MAX_MSG);
	wr_bytes(&w, hdr, IKEV2_HDR_LEN);
	wr_patch_u8(&w, 16, IKEV2_PL_SKF);
	wr_u8(&w, num == 1 ? np : IKEV2_PL_NONE);
	wr_u8(&w, 0);
	wr_u16(&w, 0);
	wr_u16(&w, num);
	wr_u16(&w, total);
	wr_reserve(&w, sk->encr->iv_len, &ivr);
	wr_bytes(&w, chunk, clen);
	rc = wr_error(&w);
	if (rc == 0)
		rc = sk_pad(&w, sk, iv_off, &icv_off);
	if (rc == 0 && w.len - IKEV2_HDR_LEN > 0xffff)
		rc = -EMSGSIZE;
	if (rc == 0) {
		wr_patch_u16(&w, IKEV2_HDR_LEN + 2,
			     (uint16_t)(w.len - IKEV2_HDR_LEN));
		wr_patch_u32(&w, 24, (uint32_t)w.len);
		rc = sk_crypt(&w, sk, iv_off, icv_off);
	}
	if (rc == 0) {
		wr_bytes(out, w.buf, w.len);
		rc = wr_error(out);
	}
	wr_free(&w);
	return rc;
}

int ikev2_wr_finish_frag(struct ikev2_wr *b, size_t frag_len, uint8_t **pkt,
			 size_t *len, unsigned *nfrag)
{
	struct ikev2_sk_ctx *sk = b->sk;
	const uint8_t *inner;
	size_t inner_off, inner_len, room, chunk, off;
	unsigned total, i;
	struct wr out;
	uint8_t np;
	int rc;

	*nfrag = 1;
	if (b->err || !sk || b->sk_off == SIZE_MAX || b->sk_done)
		goto whole;
	inner_off = b->sk_off + IKEV2_GENHDR_LEN + sk->encr->iv_len;
	inner_len = b->w.len - inner_off;
	/* Small enough as one message: no fragments (§2.5). */
	if (frag_len == 0 ||
	    b->w.len + sk_overhead(sk, inner_len) - sk->encr->iv_len <=
		frag_len)
		goto whole;
	/* Plaintext room per fragment: what is left of frag_len after
	 * the headers, IV, ICV and the Pad Length octet, in whole
	 * cipher blocks. */
	room = IKEV2_HDR_LEN + IKEV2_GENHDR_LEN + 4 + sk->encr->iv_len +
	       sk->icv_len + 1;
	if (frag_len <= room + sk->encr->block)
		goto whole;
	chunk = frag_len - room;
	if (sk->encr->block > 1)
		chunk = (chunk + 1) / sk->encr->block * sk->encr->block - 1;
	if (chunk == 0)
		goto whole;
	total = (unsigned)((inner_len + chunk - 1) / chunk);
	if (total < 2 || total > IKEV2_FRAG_MAX)
		goto whole;
	inner = b->w.buf + inner_off;
	np = b->w.buf[b->sk_off]; /* the first inner payload's type */
	wr_init(&out, (size_t)total * frag_len);
	rc = 0;
	for (i = 1, off = 0; i <= total && rc == 0; i++, off += chunk) {
		size_t n = inner_len - off < chunk ? inner_len - off : chunk;

		rc = skf_seal_one(sk, b->w.buf, np, (uint16_t)i,
				  (uint16_t)total, inner + off, n, &out);
	}
	wr_free(&b->w); /* wipes the plaintext */
	b->err = -ECANCELED;
	if (rc) {
		wr_free(&out);
		*pkt = NULL;
		*len = 0;
		return rc;
	}
	*nfrag = total;
	*pkt = wr_steal(&out, len);
	return 0;
whole:
	if (b->sk_off != SIZE_MAX && !b->sk_done &&
	    (rc = ikev2_sk_end(b)) != 0) {
		ikev2_wr_abort(b);
		*pkt = NULL;
		*len = 0;
		return rc;
	}
	return ikev2_wr_finish(b, pkt, len);
}

/* Verify and decrypt the Encrypted (or Encrypted Fragment) payload whose
 * IV starts at body (blen octets: IV | ciphertext | ICV); everything of
 * m->raw before body is the AAD / in the checksum. */
static int sk_decrypt(struct ikev2_sk_ctx *sk, struct ike_msg *m,
		      const uint8_t *body, size_t blen, uint8_t *plain,
		      size_t plain_cap, size_t *inner_len)
{
	const struct crypto_encr_alg *a = sk->encr;
	const uint8_t *iv, *ct, *icv;
	size_t body_off = (size_t)(body - m->raw), ct_len;
	struct crypto_cipher *c;
	struct crypto_mac *mac = NULL;
	uint8_t pad;
	int rc;

	/* RFC 7296 §3.14: IV | ciphertext (>= Pad Length octet) | ICV. */
	if (blen < a->iv_len + sk->icv_len + 1 ||
	    (a->block > 1 && (blen - a->iv_len - sk->icv_len) % a->block)) {
		ikev2_msg_reject(m, IKEV2_REJ_SK_SHORT);
		return -EBADMSG;
	}
	ct_len = blen - a->iv_len - sk->icv_len;
	if (plain_cap < ct_len)
		return -EINVAL;
	iv = body;
	ct = iv + a->iv_len;
	icv = ct + ct_len;
	rc = sk_cipher(sk, &c);
	if (rc == 0 && !a->aead)
		rc = sk_integ(sk, &mac);
	if (rc < 0)
		return rc;

	if (a->aead) {
		/* RFC 5282 §5.1: AAD = IKE header .. SK generic header
		 * (RFC 7383 §2.5: .. Total Fragments for SKF). */
		rc = crypto_cipher_decrypt(c, iv, m->raw, body_off, ct, ct_len,
					   plain, icv);
	} else {
		struct cbuf part = {m->raw, (size_t)(icv - m->raw)};

		/* RFC 7296 §3.14: verify before decrypting; §2.21.2: a bad
		 * checksum means drop silently. */
		rc = crypto_mac_verify(mac, &part, 1, icv);
		if (rc == 0)
			rc = crypto_cipher_decrypt(c, iv, NULL, 0, ct, ct_len,
						   plain, NULL);
	}
	if (rc < 0) {
		if (rc == -EBADMSG)
			ikev2_msg_reject(m, IKEV2_REJ_ICV);
		return rc == -EBADMSG ? -EBADMSG : rc;
	}
	/* RFC 7296 §3.14: any Pad Length that fits is accepted. */
	pad = plain[ct_len - 1];
	if ((size_t)pad + 1 > ct_len) {
		ikev2_msg_reject(m, IKEV2_REJ_PADDING);
		return -EBADMSG;
	}
	*inner_len = ct_len - pad - 1;
	return 0;
}

int ikev2_sk_open(struct ikev2_sk_ctx *sk, struct ike_msg *m, uint8_t *plain,
		  size_t plain_cap)
{
	const struct ikev2_pl *pl;
	size_t inner_len;
	int rc;

	if (m->sk_index < 0 || m->skf)
		return -ENOENT;
	if (m->sk_opened || !sk || !sk->encr)
		return -EINVAL;
	pl = &m->pl[m->sk_index];
	rc = sk_decrypt(sk, m, pl->body.p, pl->body.len, plain, plain_cap,
			&inner_len);
	if (rc < 0)
		return rc;
	m->sk_opened = true;
	return ikev2_parse_chain(m, m->sk_first, rd_init(plain, inner_len),
				 true);
}

int ikev2_skf_open(struct ikev2_sk_ctx *sk, struct ike_msg *m, uint8_t *plain,
		   size_t plain_cap, size_t *inner_len)
{
	const struct ikev2_pl *pl;

	if (m->sk_index < 0 || !m->skf)
		return -ENOENT;
	if (m->sk_opened || !sk || !sk->encr)
		return -EINVAL;
	pl = &m->pl[m->sk_index];
	/* The codec checked the 4 octets of Fragment Number and Total
	 * Fragments (payload.c skf_check). */
	if (pl->body.len < 4)
		return -EBADMSG;
	return sk_decrypt(sk, m, pl->body.p + 4, pl->body.len - 4, plain,
			  plain_cap, inner_len);
}

int ikev2_msg_open_reassembled(struct ike_msg *m, uint8_t first,
			       const uint8_t *plain, size_t len)
{
	if (!m->skf || m->sk_opened)
		return -EINVAL;
	m->sk_opened = true;
	m->sk_first = first;
	return ikev2_parse_chain(m, first, rd_init(plain, len), true);
}
