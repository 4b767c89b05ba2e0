/*
 * aggressive.c - Aggressive Mode with pre-shared keys (RFC 2409 §5,
 * §5.4), initiator and responder:
 *   I -> R  HDR, SA, KE, Ni, IDii
 *   I <- R  HDR, SA, KE, Nr, IDir, HASH_R
 *   I -> R  HDR*, HASH_I
 * NAT-T (RFC 3947 §3.2): NAT-D payloads in messages 2 and 3; the
 * initiator floats to port 4500 for message 3 (§4).
 *
 * Message 2 carries HASH_R = prf(SKEYID, ...) with SKEYID = prf(PSK,
 * Ni_b | Nr_b) before the initiator proved anything: whoever sees it (or
 * merely sends a message 1) can test PSK guesses offline.  Both roles
 * are therefore refused unless the configuration sets aggressive, and
 * each use is logged as a warning.  The group is fixed by the KE of
 * message 1: every transform we offer has that group (§5.4), and the
 * responder's choice must have it too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "ikev1"

static void am_warn(const char *role)
{
	log_warn(MOD,
		 "Aggressive Mode with a pre-shared key (%s): HASH_R lets "
		 "an eavesdropper test PSK guesses offline (RFC 2409 §5.4); "
		 "enabled by the configuration",
		 role);
}

/* The initiator's SA: only the transforms of the first suite's group. */
static void am_offer(const struct ikev1_conf *c, struct isakmp_sa *s)
{
	struct isakmp_prop *p = &s->p[0];
	unsigned n = 0;

	p1_offer(c, s);
	for (unsigned i = 0; i < p->n_xforms; i++)
		if (p->x[i].group == c->p1[0].group)
			p->x[n++] = p->x[i];
	p->n_xforms = (uint8_t)n;
}

static void put_vids(const struct ikev1_sa *sa, struct isakmp_wr *b)
{
	size_t vlen;
	const uint8_t *vid = isakmp_vid_bytes(ISAKMP_VID_DPD, &vlen);

	/* RFC 3706 §5: we answer R-U-THERE */
	isakmp_put_raw(b, ISAKMP_NP_VID, vid, vlen);
	natt_put_vid(sa, b);
}

int am_start(struct ikev1_sa *sa, struct ikev1_out *out)
{
	const struct ikev1_conf *c = sa->conf;
	struct isakmp_sa offer;
	struct isakmp_hdr h;
	struct isakmp_wr b;
	struct isakmp_msg m;
	struct isakmp_id1 id;
	uint8_t idb[4 + IKEV1_MAX_ID], *pkt;
	size_t idb_len, len;
	int rc;

	if (c->n_p1 == 0)
		return -EINVAL;
	if (!c->aggressive)
		return -EPERM;
	if (p1_auth(c) != ISAKMP_P1_AUTH_PSK)
		return -ENOTSUP; /* signatures: Main Mode only */
	am_warn("initiator");
	if (p1_cookie(sa->cky_i) != 0)
		return -EIO;
	sa->p1_exch = ISAKMP_EXCH_AGGRESSIVE;
	sa->suite = c->p1[0]; /* the group of our KE */
	am_offer(c, &offer);
	rc = p1_make_ke_nonce(sa, sa->gxi, sa->ni, &sa->ni_len);
	if (rc)
		return rc;
	p1_our_id(sa, &id, idb, &idb_len);
	sa_hdr(sa, &h, ISAKMP_EXCH_AGGRESSIVE, 0, false);
	isakmp_wr_begin(&b, &h);
	isakmp_put_sa(&b, &offer);
	isakmp_put_raw(&b, ISAKMP_NP_KE, sa->gxi, sa->gx_len);
	isakmp_put_raw(&b, ISAKMP_NP_NONCE, sa->ni, sa->ni_len);
	isakmp_put_id1(&b, &id);
	put_vids(sa, &b);
	rc = isakmp_wr_finish(&b, &pkt, &len);
	if (rc)
		return rc;
	if (isakmp_msg_parse(pkt, len, &m) != 0 || m.npl < 1 ||
	    p1_keep_sai(sa, &m.pl[0]) != 0) {
		free(pkt);
		return -EINVAL;
	}
	sa->state = IKEV1_AM_I1;
	return sa_emit(&sa->last_sent, &sa->last_len, pkt, len, out);
}

int am_respond1(struct ikev1_sa *sa, const struct isakmp_msg *m,
		struct ikev1_out *out)
{
	const struct ikev1_conf *c = sa->conf;
	const struct isakmp_pl *pl = isakmp_msg_find(m, ISAKMP_NP_SA);
	struct isakmp_sa in, reply;
	struct isakmp_hdr h;
	struct isakmp_wr b;
	struct isakmp_id1 id;
	uint8_t idb[4 + IKEV1_MAX_ID], *pkt;
	size_t idb_len, len;
	int rc;

	/* refused unless configured: no state, a notify at most */
	if (!c->aggressive)
		return ISAKMP_N_INVALID_EXCHANGE_TYPE;
	if (p1_auth(c) != ISAKMP_P1_AUTH_PSK)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	/* RFC 2409 §5: SA, KE, Ni, IDii */
	if (!pl || !isakmp_msg_find(m, ISAKMP_NP_KE) ||
	    !isakmp_msg_find(m, ISAKMP_NP_NONCE) ||
	    !isakmp_msg_find(m, ISAKMP_NP_ID))
		return ISAKMP_N_PAYLOAD_MALFORMED;
	rc = isakmp_get_sa(pl, &in);
	if (rc)
		return rc;
	rc = p1_choose(c, &in, &reply, &sa->suite);
	if (rc)
		return rc;
	if (p1_keys_setup(&sa->suite, &sa->keys) != 0)
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	am_warn("responder");
	sa->p1_exch = ISAKMP_EXCH_AGGRESSIVE;
	for (int i = 0; i < 8; i++)
		sa->cky_i[i] = (uint8_t)(m->hdr.icookie >> (56 - 8 * i));
	if (p1_cookie(sa->cky_r) != 0)
		return -EIO;
	rc = p1_keep_sai(sa, pl);
	if (rc)
		return rc;
	natt_vids(sa, m);
	dpd_vids(sa, m);
	/* the KE must be of the chosen transform's group (§5.4: all
	 * transforms of Aggressive Mode carry the same one) */
	rc = p1_make_ke_nonce(sa, sa->gxr, sa->nr, &sa->nr_len);
	if (!rc)
		rc = p1_take_ke_nonce(sa, m);
	if (rc)
		return rc == -EBADMSG ? ISAKMP_N_INVALID_KEY_INFORMATION : rc;
	crypto_dh_free(sa->dh);
	sa->dh = NULL;
	rc = p1_take_peer_id(sa, m);
	if (rc)
		return rc == -EACCES ? ISAKMP_N_INVALID_ID_INFORMATION
				     : ISAKMP_N_PAYLOAD_MALFORMED;
	sa_digest(m->raw, m->raw_len, sa->last_rcvd);
	sa->have_rcvd = true;
	p1_our_id(sa, &id, idb, &idb_len);
	sa_hdr(sa, &h, ISAKMP_EXCH_AGGRESSIVE, 0, false);
	isakmp_wr_begin(&b, &h);
	isakmp_put_sa(&b, &reply);
	isakmp_put_raw(&b, ISAKMP_NP_KE, sa->gxr, sa->gx_len);
	isakmp_put_raw(&b, ISAKMP_NP_NONCE, sa->nr, sa->nr_len);
	isakmp_put_id1(&b, &id);
	if (natt_put_natd(sa, &b) != 0 ||
	    p1_put_auth(sa, &b, idb, idb_len) != 0) {
		isakmp_wr_abort(&b);
		return -EIO;
	}
	put_vids(sa, &b);
	rc = isakmp_wr_finish(&b, &pkt, &len);
	if (rc)
		return rc;
	sa->state = IKEV1_AM_R2;
	return sa_emit(&sa->last_sent, &sa->last_len, pkt, len, out);
}

/* Initiator: message 2, all of it checked before anything is kept (it
 * is unauthenticated until HASH_R verifies); then message 3. */
static int am_take2(struct ikev1_sa *sa, const struct isakmp_msg *m,
		    uint8_t **pkt, size_t *len)
{
	const struct isakmp_pl *pl = isakmp_msg_find(m, ISAKMP_NP_SA);
	struct isakmp_sa in;
	struct isakmp_hdr h;
	struct isakmp_wr b;
	uint16_t group = sa->suite.group;
	int rc;

	if ((m->hdr.flags & ISAKMP_FLAG_E) || !pl ||
	    isakmp_get_sa(pl, &in) != 0 ||
	    p1_accept(sa->conf, &in, &sa->suite) != 0 ||
	    sa->suite.group != group ||
	    p1_keys_setup(&sa->suite, &sa->keys) != 0)
		return -EBADMSG;
	for (int i = 0; i < 8; i++)
		sa->cky_r[i] = (uint8_t)(m->hdr.rcookie >> (56 - 8 * i));
	natt_vids(sa, m);
	dpd_vids(sa, m);
	rc = p1_take_ke_nonce(sa, m);
	if (!rc)
		rc = p1_take_peer_id(sa, m);
	if (!rc)
		rc = p1_check_auth(sa, m);
	if (!rc)
		rc = natt_check_natd(sa, m);
	if (rc)
		return rc;
	sa_hdr(sa, &h, ISAKMP_EXCH_AGGRESSIVE, 0, true);
	isakmp_wr_begin(&b, &h);
	{
		struct isakmp_id1 id;
		uint8_t idb[4 + IKEV1_MAX_ID];
		size_t idb_len;

		p1_our_id(sa, &id, idb, &idb_len);
		rc = p1_put_auth(sa, &b, idb, idb_len);
	}
	if (!rc)
		rc = natt_put_natd(sa, &b);
	if (rc) {
		isakmp_wr_abort(&b);
		return rc;
	}
	/* RFC 2409 §5: HDR* - sent encrypted, so that its last block
	 * starts the IV chain of Phase 2 on both sides */
	return p1_finish_sealed(sa, &b, pkt, len);
}

/* Responder: message 3, encrypted or not (RFC 2409 §5: the last
 * message "MAY NOT" be protected); the IV advances only on success. */
static int am_take3(struct ikev1_sa *sa, const struct isakmp_msg *m,
		    struct ikev1_out *out)
{
	struct isakmp_msg pm;
	uint8_t *plain = NULL, next_iv[CRYPTO_MAX_BLOCK];
	bool enc = m->hdr.flags & ISAKMP_FLAG_E;
	int rc;

	if (enc) {
		rc = sa_open(sa, m, sa->keys.iv, &plain, &pm, next_iv);
		if (rc)
			return rc;
	} else {
		pm = *m;
	}
	rc = p1_check_auth(sa, &pm);
	if (!rc)
		rc = natt_check_natd(sa, &pm);
	if (!rc && enc)
		memcpy(sa->keys.iv, next_iv, sizeof(next_iv));
	/* only under encryption is a notify authenticated here */
	if (!rc && enc)
		out->initial_contact = p1_initial_contact(&pm);
	if (plain) {
		mem_wipe(plain, m->enc_len);
		free(plain);
	}
	return rc;
}

int am_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out)
{
	uint8_t dig[20], *pkt = NULL;
	size_t len = 0;
	int rc;

	/* RFC 2409 §5: Phase 1 runs under message ID 0 */
	if (m->hdr.msgid != 0 || sa->p1_exch != ISAKMP_EXCH_AGGRESSIVE)
		return -EBADMSG;
	sa_digest(m->raw, m->raw_len, dig);
	if (sa->have_rcvd && memcmp(dig, sa->last_rcvd, 20) == 0) {
		/* the responder did not get message 3: the same again */
		sa->st.replayed++;
		if (!sa->initiator || !sa->last_sent)
			return -EALREADY;
		sa->st.resent++;
		out->pkt = malloc(sa->last_len);
		if (!out->pkt)
			return -ENOMEM;
		memcpy(out->pkt, sa->last_sent, sa->last_len);
		out->len = sa->last_len;
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		return -EALREADY;
	}
	switch (sa->state) {
	case IKEV1_AM_I1: {
		/* unauthenticated: a copy to fall back to (our DH stays
		 * until HASH_R verifies, so the real message 2 still can) */
		struct ikev1_sa *save = malloc(sizeof(*sa));

		if (!save)
			return -ENOMEM;
		memcpy(save, sa, sizeof(*sa));
		rc = am_take2(sa, m, &pkt, &len);
		if (rc) {
			struct ikev1_stats st = sa->st;

			memcpy(sa, save, sizeof(*sa));
			sa->st = st;
			mem_wipe(save, sizeof(*sa));
			free(save);
			return rc;
		}
		mem_wipe(save, sizeof(*sa));
		free(save);
		crypto_dh_free(sa->dh);
		sa->dh = NULL;
		sa->state = IKEV1_ESTABLISHED;
		out->established = true;
		/* RFC 3947 §4: message 3 goes to port 4500 */
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
		break;
	}
	case IKEV1_AM_R2:
		rc = am_take3(sa, m, out);
		if (rc)
			return rc;
		sa->state = IKEV1_ESTABLISHED;
		out->established = true;
		out->float_4500 = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
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
