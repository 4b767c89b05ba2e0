/*
 * main_mode.c - Main Mode (Identity Protection) with pre-shared keys
 * (RFC 2409 §5, §5.4), initiator and responder:
 *   I -> R  HDR, SA
 *   I <- R  HDR, SA
 *   I -> R  HDR, KE, Ni
 *   I <- R  HDR, KE, Nr
 *   I -> R  HDR*, IDii, HASH_I
 *   I <- R  HDR*, IDir, HASH_R
 * Messages 1-4 are unauthenticated by design; 5 and 6 change nothing
 * until their HASH verifies.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/util.h"

static int build_sa_msg(struct ikev1_sa *sa, const struct isakmp_sa *s,
			uint8_t **pkt, size_t *len)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	size_t vlen;
	const uint8_t *vid = isakmp_vid_bytes(ISAKMP_VID_DPD, &vlen);

	sa_hdr(sa, &h, ISAKMP_EXCH_IDPROT, 0, false);
	isakmp_wr_begin(&b, &h);
	isakmp_put_sa(&b, s);
	/* RFC 3706 §5: we answer R-U-THERE */
	isakmp_put_raw(&b, ISAKMP_NP_VID, vid, vlen);
	natt_put_vid(sa, &b);
	return isakmp_wr_finish(&b, pkt, len);
}

/* Keep the initiator's SA payload body (SAi_b) for HASH_I/HASH_R. */
static int keep_sai(struct ikev1_sa *sa, const struct isakmp_pl *pl)
{
	free(sa->sai_b);
	sa->sai_b = malloc(pl->len ? pl->len : 1);
	if (!sa->sai_b)
		return -ENOMEM;
	memcpy(sa->sai_b, pl->body, pl->len);
	sa->sai_len = pl->len;
	return 0;
}

int mm_start(struct ikev1_sa *sa, struct ikev1_out *out)
{
	struct isakmp_sa offer;
	struct isakmp_msg m;
	uint8_t *pkt;
	size_t len;
	int rc;

	/* RFC 2408 §2.5.3: a random, nonzero initiator cookie */
	do {
		if (crypto_random(sa->cky_i, 8) != 0)
			return -EIO;
	} while (!(sa->cky_i[0] | sa->cky_i[1] | sa->cky_i[2] | sa->cky_i[3] |
		   sa->cky_i[4] | sa->cky_i[5] | sa->cky_i[6] | sa->cky_i[7]));
	if (sa->conf->n_p1 == 0)
		return -EINVAL;
	p1_offer(sa->conf, &offer);
	rc = build_sa_msg(sa, &offer, &pkt, &len);
	if (rc)
		return rc;
	if (isakmp_msg_parse(pkt, len, &m) != 0 || m.npl < 1 ||
	    keep_sai(sa, &m.pl[0]) != 0) {
		free(pkt);
		return -EINVAL;
	}
	sa->state = IKEV1_MM_I1;
	return sa_emit(&sa->last_sent, &sa->last_len, pkt, len, out);
}

int mm_respond1(struct ikev1_sa *sa, const struct isakmp_msg *m,
		struct ikev1_out *out)
{
	const struct isakmp_pl *pl = isakmp_msg_find(m, ISAKMP_NP_SA);
	struct isakmp_sa in, reply;
	uint8_t *pkt;
	size_t len;
	int rc;

	if (!pl)
		return ISAKMP_N_PAYLOAD_MALFORMED;
	rc = isakmp_get_sa(pl, &in);
	if (rc)
		return rc;
	rc = p1_choose(sa->conf, &in, &reply, &sa->suite);
	if (rc)
		return rc;
	if (p1_keys_setup(&sa->suite, &sa->keys) != 0)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	for (int i = 0; i < 8; i++)
		sa->cky_i[i] = (uint8_t)(m->hdr.icookie >> (56 - 8 * i));
	do {
		if (crypto_random(sa->cky_r, 8) != 0)
			return -EIO;
	} while (!(sa->cky_r[0] | sa->cky_r[1] | sa->cky_r[2] | sa->cky_r[3] |
		   sa->cky_r[4] | sa->cky_r[5] | sa->cky_r[6] | sa->cky_r[7]));
	rc = keep_sai(sa, pl);
	if (rc)
		return rc;
	natt_vids(sa, m);
	dpd_vids(sa, m);
	sa_digest(m->raw, m->raw_len, sa->last_rcvd);
	sa->have_rcvd = true;
	rc = build_sa_msg(sa, &reply, &pkt, &len);
	if (rc)
		return rc;
	sa->state = IKEV1_MM_R2;
	return sa_emit(&sa->last_sent, &sa->last_len, pkt, len, out);
}

/* Our KE and nonce (RFC 2409 §5: KE, Ni/Nr). */
static int make_ke_nonce(struct ikev1_sa *sa, uint8_t *gx, uint8_t *nonce,
			 size_t *nonce_len)
{
	const struct crypto_dh_alg *da = crypto_dh_lookup(sa->suite.group);
	int rc;

	if (!da)
		return -ENOTSUP;
	rc = crypto_dh_new(sa->suite.group, &sa->dh);
	if (rc)
		return rc;
	sa->gx_len = da->pub_len;
	rc = crypto_dh_public(sa->dh, gx, sa->gx_len);
	if (rc)
		return rc;
	*nonce_len = IKEV1_NONCE_LEN;
	return crypto_random(nonce, IKEV1_NONCE_LEN) != 0 ? -EIO : 0;
}

static int build_ke_msg(struct ikev1_sa *sa, const uint8_t *gx,
			const uint8_t *nonce, size_t nonce_len, uint8_t **pkt,
			size_t *len)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;

	sa_hdr(sa, &h, ISAKMP_EXCH_IDPROT, 0, false);
	isakmp_wr_begin(&b, &h);
	isakmp_put_raw(&b, ISAKMP_NP_KE, gx, sa->gx_len);
	isakmp_put_raw(&b, ISAKMP_NP_NONCE, nonce, nonce_len);
	if (natt_put_natd(sa, &b) != 0) {
		isakmp_wr_abort(&b);
		return -EIO;
	}
	return isakmp_wr_finish(&b, pkt, len);
}

/* The peer's KE and nonce; g^xy and every key. */
static int take_ke_nonce(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	const struct isakmp_pl *ke = isakmp_msg_find(m, ISAKMP_NP_KE);
	const struct isakmp_pl *no = isakmp_msg_find(m, ISAKMP_NP_NONCE);
	uint8_t *peer_gx = sa->initiator ? sa->gxr : sa->gxi;
	uint8_t gxy[CRYPTO_MAX_DH_SECRET];
	const struct crypto_dh_alg *da = crypto_dh_lookup(sa->suite.group);
	uint8_t *peer_n = sa->initiator ? sa->nr : sa->ni;
	size_t *peer_n_len = sa->initiator ? &sa->nr_len : &sa->ni_len;
	int rc;

	/* RFC 2409 §5: both present; KE the group's length (RFC 2409
	 * §5: "the Diffie-Hellman public value") */
	if (!ke || !no || !da || ke->len != da->pub_len)
		return -EBADMSG;
	if (crypto_dh_compute(sa->dh, ke->body, ke->len, gxy, da->secret_len))
		return -EBADMSG;
	memcpy(peer_gx, ke->body, ke->len);
	memcpy(peer_n, no->body, no->len);
	*peer_n_len = no->len;
	/* RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) */
	rc = ikev1_skeyid_psk(sa->keys.prf, sa->conf->psk, sa->conf->psk_len,
			      sa->ni, sa->ni_len, sa->nr, sa->nr_len,
			      sa->keys.skeyid);
	if (!rc)
		rc = ikev1_derive(&sa->keys, gxy, da->secret_len, sa->cky_i,
				  sa->cky_r, sa->gxi, sa->gx_len, sa->gxr,
				  sa->gx_len);
	mem_wipe(gxy, sizeof(gxy));
	if (!rc) {
		crypto_dh_free(sa->dh);
		sa->dh = NULL;
	}
	return rc;
}

/* Messages 5 and 6: ID and HASH_I/HASH_R, encrypted. */
static int build_auth_msg(struct ikev1_sa *sa, uint8_t **pkt, size_t *len)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	struct isakmp_id1 id = {.type = sa->conf->id_type,
				.proto = 17, /* RFC 2407 §4.6.2: UDP 500 */
				.port = 500,
				.data = sa->conf->id,
				.len = sa->conf->id_len};
	uint8_t idb[4 + IKEV1_MAX_ID], hash[CRYPTO_MAX_PRF_OUT];
	int rc;

	idb[0] = id.type;
	idb[1] = id.proto;
	idb[2] = (uint8_t)(id.port >> 8);
	idb[3] = (uint8_t)id.port;
	memcpy(idb + 4, id.data, id.len);
	rc = ikev1_hash_auth(&sa->keys, sa->initiator, sa->gxi, sa->gx_len,
			     sa->gxr, sa->gx_len, sa->cky_i, sa->cky_r,
			     sa->sai_b, sa->sai_len, idb, 4 + id.len, hash);
	if (rc)
		return rc;
	sa_hdr(sa, &h, ISAKMP_EXCH_IDPROT, 0, true);
	isakmp_wr_begin(&b, &h);
	isakmp_put_id1(&b, &id);
	isakmp_put_raw(&b, ISAKMP_NP_HASH, hash, sa->keys.hlen);
	rc = isakmp_wr_finish(&b, pkt, len);
	if (rc)
		return rc;
	rc = sa_seal(sa, sa->keys.iv, pkt, len);
	if (rc)
		free(*pkt);
	return rc;
}

/* Verify the peer's message 5 or 6; commits the IV only on success. */
static int verify_auth_msg(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	struct isakmp_msg pm;
	struct isakmp_id1 id;
	const struct isakmp_pl *idp, *hp;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK];
	uint8_t hash[CRYPTO_MAX_PRF_OUT];
	const struct ikev1_conf *c = sa->conf;
	int rc;

	rc = sa_open(sa, m, sa->keys.iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	rc = -EBADMSG;
	idp = isakmp_msg_find(&pm, ISAKMP_NP_ID);
	hp = isakmp_msg_find(&pm, ISAKMP_NP_HASH);
	/* RFC 2409 §5.4: ID and HASH (certificates are not used) */
	if (!idp || !hp || hp->len != sa->keys.hlen ||
	    isakmp_get_id1(idp, &id) != 0)
		goto cleanup_plain;
	/* the PSK is the peer's: its identity must be the configured one */
	if (c->peer_id_type &&
	    (id.type != c->peer_id_type || id.len != c->peer_id_len ||
	     memcmp(id.data, c->peer_id, id.len) != 0))
		goto cleanup_plain;
	rc =
	    ikev1_hash_auth(&sa->keys, !sa->initiator, sa->gxi, sa->gx_len,
			    sa->gxr, sa->gx_len, sa->cky_i, sa->cky_r,
			    sa->sai_b, sa->sai_len, id.body, id.body_len, hash);
	if (rc)
		goto cleanup_plain;
	if (CRYPTO_memcmp(hash, hp->body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		rc = -EACCES;
		goto cleanup_plain;
	}
	memcpy(sa->keys.iv, next_iv, sizeof(next_iv));
	rc = 0;
cleanup_plain:
	mem_wipe(plain, m->enc_len);
	free(plain);
	return rc;
}

int mm_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out)
{
	uint8_t dig[20], *pkt;
	size_t len;
	int rc;

	/* RFC 2409 §5: Main Mode runs under message ID 0 */
	if (m->hdr.msgid != 0)
		return -EBADMSG;
	sa_digest(m->raw, m->raw_len, dig);
	if (sa->have_rcvd && memcmp(dig, sa->last_rcvd, 20) == 0) {
		/* the peer did not get our answer: the same again */
		sa->st.replayed++;
		if (sa->initiator || !sa->last_sent)
			return -EALREADY;
		sa->st.resent++;
		out->pkt = malloc(sa->last_len);
		if (!out->pkt)
			return -ENOMEM;
		memcpy(out->pkt, sa->last_sent, sa->last_len);
		out->len = sa->last_len;
		return -EALREADY;
	}
	switch (sa->state) {
	case IKEV1_MM_I1: {
		const struct isakmp_pl *pl = isakmp_msg_find(m, ISAKMP_NP_SA);
		struct isakmp_sa in;

		if ((m->hdr.flags & ISAKMP_FLAG_E) || !pl ||
		    isakmp_get_sa(pl, &in) != 0 ||
		    p1_accept(sa->conf, &in, &sa->suite) != 0 ||
		    p1_keys_setup(&sa->suite, &sa->keys) != 0)
			return -EBADMSG;
		for (int i = 0; i < 8; i++)
			sa->cky_r[i] =
			    (uint8_t)(m->hdr.rcookie >> (56 - 8 * i));
		natt_vids(sa, m);
		dpd_vids(sa, m);
		rc = make_ke_nonce(sa, sa->gxi, sa->ni, &sa->ni_len);
		if (!rc)
			rc = build_ke_msg(sa, sa->gxi, sa->ni, sa->ni_len, &pkt,
					  &len);
		if (rc)
			return rc;
		sa->state = IKEV1_MM_I3;
		break;
	}
	case IKEV1_MM_R2:
		if (m->hdr.flags & ISAKMP_FLAG_E)
			return -EBADMSG;
		rc = natt_check_natd(sa, m);
		if (!rc)
			rc = make_ke_nonce(sa, sa->gxr, sa->nr, &sa->nr_len);
		if (!rc)
			rc = take_ke_nonce(sa, m);
		if (!rc)
			rc = build_ke_msg(sa, sa->gxr, sa->nr, sa->nr_len, &pkt,
					  &len);
		if (rc) {
			crypto_dh_free(sa->dh);
			sa->dh = NULL;
			return rc;
		}
		sa->state = IKEV1_MM_R4;
		break;
	case IKEV1_MM_I3:
		if (m->hdr.flags & ISAKMP_FLAG_E)
			return -EBADMSG;
		rc = natt_check_natd(sa, m);
		if (!rc)
			rc = take_ke_nonce(sa, m);
		if (!rc)
			rc = build_auth_msg(sa, &pkt, &len);
		if (rc)
			return rc;
		sa->state = IKEV1_MM_I5;
		/* RFC 3947 §4: the initiator moves to port 4500 now */
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		break;
	case IKEV1_MM_R4:
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		rc = verify_auth_msg(sa, m);
		if (!rc)
			rc = build_auth_msg(sa, &pkt, &len);
		if (rc)
			return rc;
		sa->state = IKEV1_ESTABLISHED;
		out->established = true;
		break;
	case IKEV1_MM_I5:
		rc = verify_auth_msg(sa, m);
		if (rc)
			return rc;
		sa->state = IKEV1_ESTABLISHED;
		out->established = true;
		memcpy(sa->last_rcvd, dig, 20);
		sa->have_rcvd = true;
		free(sa->last_sent);
		sa->last_sent = NULL;
		return 0;
	default:
		return -EBADMSG;
	}
	memcpy(sa->last_rcvd, dig, 20);
	sa->have_rcvd = true;
	return sa_emit(&sa->last_sent, &sa->last_len, pkt, len, out);
}
