/*
 * sk.c - the Encrypted payload SK{...} (RFC 7296 §3.14): CBC/CTR cipher
 * + integrity checksum over the whole message, or AEAD (AES-GCM RFC
 * 5282, ChaCha20-Poly1305 RFC 7634) with the IKE header through the SK
 * generic header as associated data (RFC 5282 §5.1).
 *
 * struct ikev2_sk_ctx owns its cipher and MAC contexts (freed and wiped
 * by ikev2_sk_free).  Sealing encrypts in place inside the builder's
 * buffer; opening writes the plaintext into the caller's buffer, which
 * the inner payload views then point into.
 */
#include "ike/codec/codec_int.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

int ikev2_sk_init(struct ikev2_sk_ctx *sk, uint16_t encr_id, uint16_t integ_id,
		  const uint8_t *ekey, size_t elen, const uint8_t *akey,
		  size_t alen, bool encrypt)
{
	int rc;

	memset(sk, 0, sizeof(*sk));
	sk->encr = crypto_encr_lookup(encr_id);
	if (!sk->encr)
		return -EINVAL;
	rc = crypto_cipher_new(encr_id, ekey, elen, encrypt, &sk->cipher);
	if (rc < 0)
		goto err;
	if (sk->encr->block == 1) {
		/* Counter IVs start at a random point so that a context
		 * re-created under the same key does not repeat them. */
		rc = crypto_random(&sk->iv_seq, sizeof(sk->iv_seq));
		if (rc < 0)
			goto err;
		sk->iv_seq >>= 1;
	}
	if (sk->encr->aead) {
		/* RFC 5282 §8: no separate integrity transform. */
		sk->icv_len = sk->encr->icv_len;
	} else {
		rc = crypto_integ_new(integ_id, akey, alen, &sk->integ);
		if (rc < 0)
			goto err;
		sk->icv_len = crypto_mac_len(sk->integ);
	}
	return 0;
err:
	ikev2_sk_free(sk);
	return rc;
}

void ikev2_sk_free(struct ikev2_sk_ctx *sk)
{
	if (!sk)
		return;
	crypto_cipher_free(sk->cipher);
	crypto_mac_free(sk->integ);
	memset(sk, 0, sizeof(*sk));
}

int ikev2_sk_begin(struct ikev2_wr *b, struct ikev2_sk_ctx *sk)
{
	size_t st, ivoff;

	if (b->err)
		return b->err;
	if (!sk || !sk->cipher || b->sk_off != SIZE_MAX)
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

int ikev2_sk_end(struct ikev2_wr *b)
{
	struct ikev2_sk_ctx *sk = b->sk;
	const struct crypto_encr_alg *a;
	size_t hdr_end, ct_off, ct_len, pad, icv_off;
	uint8_t iv[CRYPTO_MAX_IV];
	int rc;

	if (b->err)
		return b->err;
	if (!sk || b->sk_off == SIZE_MAX || b->sk_done)
		return b->err = -EINVAL;
	a = sk->encr;
	hdr_end = b->sk_off + IKEV2_GENHDR_LEN;
	ct_off = hdr_end + a->iv_len;
	/* RFC 7296 §3.14: minimal padding so that payloads | Padding |
	 * Pad Length is a multiple of the block size. */
	ct_len = b->w.len - ct_off + 1;
	pad = (a->block - ct_len % a->block) % a->block;
	wr_zero(&b->w, pad);
	wr_u8(&b->w, (uint8_t)pad);
	ct_len += pad;
	icv_off = b->w.len;
	wr_zero(&b->w, sk->icv_len);
	if ((rc = wr_error(&b->w)) != 0)
		return b->err = rc;
	b->sk_done = true;
	if ((rc = ikev2_pl_end(b, b->sk_off)) != 0)
		return rc;
	/* The ICV/AAD cover the header: its Length must be final now. */
	if (b->w.len > 0xffffffffu)
		return b->err = -EMSGSIZE;
	wr_patch_u32(&b->w, 24, (uint32_t)b->w.len);

	if (a->block > 1) {
		/* RFC 7296 §3.14: CBC needs an unpredictable IV. */
		rc = crypto_random(iv, a->iv_len);
	} else {
		/* CTR/GCM/ChaCha20 (RFC 5930 §2, RFC 5282 §3.1, RFC 7634
		 * §2): the IV must never repeat under one key; a counter
		 * guarantees it. */
		if (sk->iv_seq == UINT64_MAX)
			return b->err = -EOVERFLOW;
		sk->iv_seq++;
		put_be64(iv, sk->iv_seq);
		rc = 0;
	}
	if (rc < 0)
		return b->err = rc;
	memcpy(b->w.buf + hdr_end, iv, a->iv_len);
	if (a->aead) {
		rc = crypto_cipher_encrypt(
		    sk->cipher, iv, b->w.buf, hdr_end, b->w.buf + ct_off,
		    ct_len, b->w.buf + ct_off, b->w.buf + icv_off);
	} else {
		struct cbuf part = {b->w.buf, icv_off};

		rc = crypto_cipher_encrypt(sk->cipher, iv, NULL, 0,
					   b->w.buf + ct_off, ct_len,
					   b->w.buf + ct_off, NULL);
		/* RFC 7296 §3.14: checksum over the encrypted message from
		 * the IKE header through Pad Length. */
		if (rc == 0)
			rc = crypto_mac_compute(sk->integ, &part, 1,
						b->w.buf + icv_off);
	}
	mem_wipe(iv, sizeof(iv));
	return b->err = rc;
}

int ikev2_sk_open(struct ikev2_sk_ctx *sk, struct ike_msg *m, uint8_t *plain,
		  size_t plain_cap)
{
	const struct crypto_encr_alg *a;
	const struct ikev2_pl *pl;
	const uint8_t *iv, *ct, *icv;
	size_t body_off, ct_len, inner_len;
	uint8_t pad;
	int rc;

	if (m->sk_index < 0 || m->skf)
		return -ENOENT;
	if (m->sk_opened || !sk || !sk->cipher)
		return -EINVAL;
	a = sk->encr;
	pl = &m->pl[m->sk_index];
	body_off = (size_t)(pl->body.p - m->raw);
	/* RFC 7296 §3.14: IV | ciphertext (>= Pad Length octet) | ICV. */
	if (pl->body.len < a->iv_len + sk->icv_len + 1 ||
	    (a->block > 1 &&
	     (pl->body.len - a->iv_len - sk->icv_len) % a->block)) {
		ikev2_msg_reject(m, IKEV2_REJ_SK_SHORT);
		return -EBADMSG;
	}
	ct_len = pl->body.len - a->iv_len - sk->icv_len;
	if (plain_cap < ct_len)
		return -EINVAL;
	iv = pl->body.p;
	ct = iv + a->iv_len;
	icv = ct + ct_len;

	if (a->aead) {
		/* RFC 5282 §5.1: AAD = IKE header .. SK generic header. */
		rc = crypto_cipher_decrypt(sk->cipher, iv, m->raw, body_off, ct,
					   ct_len, plain, icv);
	} else {
		struct cbuf part = {m->raw, (size_t)(icv - m->raw)};

		/* RFC 7296 §3.14: verify before decrypting; §2.21.2: a bad
		 * checksum means drop silently. */
		rc = crypto_mac_verify(sk->integ, &part, 1, icv);
		if (rc == 0)
			rc = crypto_cipher_decrypt(sk->cipher, iv, NULL, 0, ct,
						   ct_len, plain, NULL);
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
	inner_len = ct_len - pad - 1;
	m->sk_opened = true;
	return ikev2_parse_chain(m, m->sk_first, rd_init(plain, inner_len),
				 true);
}
