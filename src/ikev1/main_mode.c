/*
 * main_mode.c - Main Mode (Identity Protection, RFC 2409 §5, §5.4; with
 * signatures §5.1: CR in messages 3/4, [CERT,] SIG instead of HASH in
 * 5/6, sigauth.c), initiator and responder:
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

int mm_start(struct ikev1_sa *sa, struct ikev1_out *out)
{
	struct isakmp_sa offer;
	struct isakmp_msg m;
	uint8_t *pkt;
	size_t len;
	int rc;

	if (sa->conf->n_p1 == 0)
		return -EINVAL;
	if (p1_cookie(sa->cky_i) != 0)
		return -EIO;
	sa->p1_exch = ISAKMP_EXCH_IDPROT;
	p1_offer(sa->conf, &offer);
	rc = build_sa_msg(sa, &offer, &pkt, &len);
	if (rc)
		return rc;
	if (isakmp_msg_parse(pkt, len, &m) != 0 || m.npl < 1 ||
	    p1_keep_sai(sa, &m.pl[0]) != 0) {
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
	if (p1_cookie(sa->cky_r) != 0)
		return -EIO;
	sa->p1_exch = ISAKMP_EXCH_IDPROT;
	rc = p1_keep_sai(sa, pl);
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
	/* RFC 2409 §5.1: the CAs we trust, so that the peer sends its
	 * certificate */
	if (natt_put_natd(sa, &b) != 0 || sigauth_put_cr(sa, &b) != 0) {
		isakmp_wr_abort(&b);
		return -EIO;
	}
	return isakmp_wr_finish(&b, pkt, len);
}

/* Messages 5 and 6: ID and HASH_I/HASH_R, encrypted. */
static int build_auth_msg(struct ikev1_sa *sa, uint8_t **pkt, size_t *len)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	struct isakmp_id1 id;
	uint8_t idb[4 + IKEV1_MAX_ID];
	size_t idb_len;
	int rc;

	p1_our_id(sa, &id, idb, &idb_len);
	sa_hdr(sa, &h, ISAKMP_EXCH_IDPROT, 0, true);
	isakmp_wr_begin(&b, &h);
	isakmp_put_id1(&b, &id);
	rc = p1_put_auth(sa, &b, idb, idb_len);
	if (rc) {
		isakmp_wr_abort(&b);
		return rc;
	}
	return p1_finish_sealed(sa, &b, pkt, len);
}

/* Verify the peer's message 5 or 6; commits the IV only on success. */
static int verify_auth_msg(struct ikev1_sa *sa, const struct isakmp_msg *m,
			   struct ikev1_out *out)
{
	struct isakmp_msg pm;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK];
	int rc;

	rc = sa_open(sa, m, sa->keys.iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	/* RFC 2409 §5.4: ID and HASH */
	rc = p1_take_peer_id(sa, &pm);
	if (!rc)
		rc = p1_check_auth(sa, &pm);
	if (!rc) {
		memcpy(sa->keys.iv, next_iv, sizeof(next_iv));
		out->initial_contact = p1_initial_contact(&pm);
	} else {
		sa->peer_idb_len = 0;
	}
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
		rc = p1_make_ke_nonce(sa, sa->gxi, sa->ni, &sa->ni_len);
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
			rc = p1_make_ke_nonce(sa, sa->gxr, sa->nr, &sa->nr_len);
		if (!rc)
			rc = p1_take_ke_nonce(sa, m);
		if (!rc)
			rc = build_ke_msg(sa, sa->gxr, sa->nr, sa->nr_len, &pkt,
					  &len);
		crypto_dh_free(sa->dh);
		sa->dh = NULL;
		if (rc)
			return rc;
		sa->state = IKEV1_MM_R4;
		break;
	case IKEV1_MM_I3:
		if (m->hdr.flags & ISAKMP_FLAG_E)
			return -EBADMSG;
		rc = natt_check_natd(sa, m);
		if (!rc)
			rc = p1_take_ke_nonce(sa, m);
		if (!rc)
			rc = build_auth_msg(sa, &pkt, &len);
		if (rc)
			return rc;
		crypto_dh_free(sa->dh);
		sa->dh = NULL;
		sa->state = IKEV1_MM_I5;
		/* RFC 3947 §4: the initiator moves to port 4500 now */
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		break;
	case IKEV1_MM_R4:
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		rc = verify_auth_msg(sa, m, out);
		if (!rc)
			rc = build_auth_msg(sa, &pkt, &len);
		if (rc)
			return rc;
		sa->state = IKEV1_ESTABLISHED;
		out->established = true;
		break;
	case IKEV1_MM_I5:
		rc = verify_auth_msg(sa, m, out);
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
