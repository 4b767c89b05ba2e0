/*
 * quick_mode.c - Quick Mode (RFC 2409 §5.5) in tunnel mode with optional
 * PFS, initiator and responder, for a bundle of AH, ESP and IPComp
 * (isakmp/bundle.h: one SPI per protocol, KEYMAT per protocol):
 *   I -> R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]
 *   I <- R  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
 *   I -> R  HDR*, HASH(3)
 * Each exchange has its own IV (App. B) and message ID; a message ID
 * seen before never starts a new exchange (replay protection): an exact
 * retransmission gets our last answer again, anything else is dropped.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/util.h"

void qm_free(struct ikev1_qm *q)
{
	crypto_dh_free(q->dh);
	free(q->last_sent);
	mem_wipe(q, sizeof(*q));
}

static struct ikev1_qm *qm_find(struct ikev1_sa *sa, uint32_t mid)
{
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		if (sa->qm[i].state != QM_FREE && sa->qm[i].msgid == mid)
			return &sa->qm[i];
	return NULL;
}

/* A free slot; a finished exchange is reused (its message ID stays in
 * the SA's window). */
static struct ikev1_qm *qm_slot(struct ikev1_sa *sa)
{
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		if (sa->qm[i].state == QM_FREE)
			return &sa->qm[i];
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		if (sa->qm[i].state == QM_DONE) {
			qm_free(&sa->qm[i]);
			return &sa->qm[i];
		}
	return NULL;
}

/* Build a message whose first payload is HASH: the payloads after it
 * come from put(), then the HASH is computed (with or without Ni_b),
 * patched, and the message sealed with the exchange's IV. */
static int qm_send(struct ikev1_sa *sa, struct ikev1_qm *q,
		   const struct isakmp_sa *s, bool with_ni_in_hash, bool ids,
		   struct ikev1_out *out)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	uint8_t hash[CRYPTO_MAX_PRF_OUT], *pkt;
	size_t off, len;
	int rc;

	sa_hdr(sa, &h, ISAKMP_EXCH_QUICK, q->msgid, true);
	isakmp_wr_begin(&b, &h);
	isakmp_put_reserve(&b, ISAKMP_NP_HASH, sa->keys.hlen, &off);
	isakmp_put_sa(&b, s);
	if (q->initiator)
		isakmp_put_raw(&b, ISAKMP_NP_NONCE, q->ni, q->ni_len);
	else
		isakmp_put_raw(&b, ISAKMP_NP_NONCE, q->nr, q->nr_len);
	if (q->group) {
		const struct crypto_dh_alg *da = crypto_dh_lookup(q->group);
		uint8_t gx[CRYPTO_MAX_DH_PUB];

		if (!da || crypto_dh_public(q->dh, gx, da->pub_len) != 0) {
			isakmp_wr_abort(&b);
			return -EIO;
		}
		isakmp_put_raw(&b, ISAKMP_NP_KE, gx, da->pub_len);
	}
	if (ids) {
		isakmp_put_id(&b, &q->idci);
		isakmp_put_id(&b, &q->idcr);
	}
	if (!q->initiator && q->resp_life) {
		/* RFC 2407 §4.6.3.1: RESPONDER-LIFETIME, our SPI */
		struct isakmp_notify n = {
		    .doi = ISAKMP_DOI_IPSEC,
		    .proto = q->b.has_esp ? ISAKMP_PROTO_ESP : ISAKMP_PROTO_AH,
		    .spi_size = 4,
		    .type = ISAKMP_N_RESPONDER_LIFETIME};
		uint8_t *data;
		size_t dlen;

		n.spi[0] = (uint8_t)(q->spi_in >> 24);
		n.spi[1] = (uint8_t)(q->spi_in >> 16);
		n.spi[2] = (uint8_t)(q->spi_in >> 8);
		n.spi[3] = (uint8_t)q->spi_in;
		if (isakmp_lifetime_encode(q->resp_life, 0, &data, &dlen)) {
			isakmp_wr_abort(&b);
			return -ENOMEM;
		}
		n.data = data;
		n.data_len = dlen;
		isakmp_put_notify(&b, &n);
		free(data);
	}
	rc = isakmp_wr_finish(&b, &pkt, &len);
	if (rc)
		return rc;
	/* RFC 2409 §5.5: HASH(1) = prf(SKEYID_a, M-ID | SA | Ni ...),
	 * HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr ...) */
	rc = ikev1_qm_hash(&sa->keys, q->msgid, with_ni_in_hash ? q->ni : NULL,
			   q->ni_len, pkt + off + sa->keys.hlen,
			   len - off - sa->keys.hlen, hash);
	if (!rc) {
		memcpy(pkt + off, hash, sa->keys.hlen);
		rc = sa_seal(sa, q->iv, &pkt, &len);
	}
	if (rc) {
		free(pkt);
		return rc;
	}
	return sa_emit(&q->last_sent, &q->last_len, pkt, len, out);
}

/* Our inbound SPI for proto (ISAKMP_PROTO_*): ESP through getspi, AH
 * and IPComp through getspi_proto (AH falls back to getspi). */
static int qm_getspi(const struct ikev1_conf *c, uint8_t proto, uint32_t *spi)
{
	*spi = 0;
	if (proto != ISAKMP_PROTO_ESP && c->getspi_proto)
		return c->getspi_proto(c->arg, proto, spi);
	if (proto == ISAKMP_PROTO_IPCOMP || !c->getspi)
		return -ENOTSUP;
	return c->getspi(c->arg, spi);
}

/* A CPI for IPComp, or 0: RFC 3173 §2.1 makes IPComp optional, so
 * without one we go on without it. */
static uint16_t qm_cpi(const struct ikev1_conf *c)
{
	uint32_t cpi = 0;

	if (!c->ipcomp || qm_getspi(c, ISAKMP_PROTO_IPCOMP, &cpi) != 0 ||
	    cpi < 256 || cpi > 61439)
		return 0;
	return (uint16_t)cpi;
}

int qm_start(struct ikev1_sa *sa, uint32_t replaces, struct ikev1_out *out)
{
	const struct ikev1_conf *c = sa->conf;
	struct ikev1_qm *q = qm_slot(sa);
	struct isakmp_sa offer;
	int rc;

	if (!q)
		return -EBUSY;
	memset(q, 0, sizeof(*q));
	q->initiator = true;
	q->replaces = replaces;
	rc = sa_new_mid(sa, &q->msgid);
	if (!rc)
		rc = ikev1_iv_exchange(&sa->keys, q->msgid, q->iv);
	/* RFC 2409 §5.5: an SPI of ours for each protocol of the bundle */
	if (!rc && c->n_p2 && qm_getspi(c, ISAKMP_PROTO_ESP, &q->ours.esp))
		rc = -EIO;
	if (!rc && c->n_ah && qm_getspi(c, ISAKMP_PROTO_AH, &q->ours.ah))
		rc = -EIO;
	if (!rc && !c->n_p2 && !c->n_ah)
		rc = -EINVAL;
	if (rc)
		goto fail;
	q->ours.cpi = qm_cpi(c);
	q->spi_in = c->n_p2 ? q->ours.esp : q->ours.ah;
	q->ni_len = IKEV1_NONCE_LEN;
	if (crypto_random(q->ni, q->ni_len) != 0) {
		rc = -EIO;
		goto fail;
	}
	q->group = c->pfs_group;
	if (q->group && (rc = crypto_dh_new(q->group, &q->dh)) != 0)
		goto fail;
	q->idci = c->ts_local;
	q->idcr = c->ts_remote;
	rc = p2_offer(c, &q->ours, q->group, natt_encap(sa), &offer);
	if (!rc)
		rc = qm_send(sa, q, &offer, false, true, out);
	if (rc)
		goto fail;
	sa_mid_add(sa, q->msgid);
	q->state = QM_I1;
	return 0;
fail:
	qm_free(q);
	return rc;
}

static bool id_eq(const struct isakmp_id *a, const struct isakmp_id *b)
{
	return a->type == b->type && a->proto == b->proto &&
	       a->port == b->port && a->len == b->len &&
	       memcmp(a->data, b->data, a->len) == 0;
}

/* KEYMAT for both directions of one SA (RFC 2409 §5.5: protocol and
 * SPI in the prf input, so AH and ESP of a bundle have keys of their
 * own). */
static int qm_keymat(struct ikev1_sa *sa, struct ikev1_qm *q, uint8_t proto,
		     uint32_t spi_in, uint32_t spi_out, uint8_t *key_in,
		     uint8_t *key_out, size_t len)
{
	const uint8_t *gqm = q->group ? q->gqm : NULL;
	int rc;

	rc = ikev1_keymat(&sa->keys, gqm, q->gqm_len, proto, spi_in, q->ni,
			  q->ni_len, q->nr, q->nr_len, key_in, len);
	if (!rc)
		rc = ikev1_keymat(&sa->keys, gqm, q->gqm_len, proto, spi_out,
				  q->ni, q->ni_len, q->nr, q->nr_len, key_out,
				  len);
	return rc;
}

/* The bundle's keys into the event. */
static int qm_keys(struct ikev1_sa *sa, struct ikev1_qm *q,
		   struct ikev1_out *out)
{
	struct ikev1_child *ch = &out->child;
	const struct isakmp_bundle *b = &q->b;
	int rc;

	memset(ch, 0, sizeof(*ch));
	if (b->has_esp) {
		ch->proto = ISAKMP_PROTO_ESP;
		rc = p2_algs(&q->suite, &ch->encr, &ch->integ, &ch->keylen);
		ch->keybits =
		    q->suite.esp_id == ISAKMP_ESP_3DES ? 192 : q->suite.keybits;
		ch->spi_in = q->ours.esp;
		ch->spi_out = b->peer.esp;
	} else {
		/* AH alone names the CHILD SA: integrity only */
		ch->proto = ISAKMP_PROTO_AH;
		rc = p2_integ(b->ah_x.auth, &ch->integ, &ch->keylen);
		ch->spi_in = q->ours.ah;
		ch->spi_out = b->peer.ah;
	}
	if (!rc && b->has_esp && b->has_ah) {
		ch->ah = true;
		ch->ah_spi_in = q->ours.ah;
		ch->ah_spi_out = b->peer.ah;
		rc = p2_integ(b->ah_x.auth, &ch->ah_integ, &ch->ah_keylen);
	}
	if (rc || (!b->has_esp && !b->has_ah) ||
	    ch->keylen > sizeof(ch->key_in) ||
	    ch->ah_keylen > sizeof(ch->ah_key_in))
		return rc ? rc : -ENOTSUP;
	if (b->has_ipcomp) {
		ch->ipcomp = b->ipcomp_x.id;
		ch->cpi_in = q->ours.cpi;
		ch->cpi_out = b->peer.cpi;
	}
	ch->life_sec = q->suite.life_sec;
	ch->replaces = q->replaces;
	if (q->initiator && ch->life_sec) {
		/* rekey ahead of the expiry: 85-90% of the lifetime */
		uint32_t r = 0;

		if (crypto_random(&r, sizeof(r)) != 0)
			r = 0; /* then simply at 90% */
		ch->soft_sec =
		    ch->life_sec - ch->life_sec / 10 -
		    (uint32_t)((uint64_t)r * (ch->life_sec / 20 + 1) >> 32);
	}
	ch->pfs = q->group != 0;
	ch->udp_encap = natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
	/* the initiator's IDci is its local side */
	ch->ts_local = q->initiator ? q->idci : q->idcr;
	ch->ts_remote = q->initiator ? q->idcr : q->idci;
	rc = qm_keymat(sa, q, ch->proto, ch->spi_in, ch->spi_out, ch->key_in,
		       ch->key_out, ch->keylen);
	if (!rc && ch->ah)
		rc = qm_keymat(sa, q, ISAKMP_PROTO_AH, ch->ah_spi_in,
			       ch->ah_spi_out, ch->ah_key_in, ch->ah_key_out,
			       ch->ah_keylen);
	if (rc) {
		mem_wipe(ch, sizeof(*ch));
		return rc;
	}
	out->child_ready = true;
	return 0;
}

/* Payloads of QM1/QM2 other than HASH: SA, Nonce, KE, IDs. */
struct qm_body {
	struct isakmp_sa sa;
	const struct isakmp_pl *nonce, *ke;
	struct isakmp_id id[2];
	unsigned n_id;
};

static int qm_body(const struct isakmp_msg *pm, struct qm_body *qb)
{
	const struct isakmp_pl *sap = isakmp_msg_find(pm, ISAKMP_NP_SA);

	memset(qb, 0, sizeof(*qb));
	qb->nonce = isakmp_msg_find(pm, ISAKMP_NP_NONCE);
	qb->ke = isakmp_msg_find(pm, ISAKMP_NP_KE);
	if (!sap || !qb->nonce || isakmp_get_sa(sap, &qb->sa) != 0)
		return -EBADMSG;
	for (int i = isakmp_msg_next(pm, ISAKMP_NP_ID, -1); i >= 0;
	     i = isakmp_msg_next(pm, ISAKMP_NP_ID, i)) {
		/* RFC 2409 §5.5: IDci then IDcr, both or none */
		if (qb->n_id >= 2 ||
		    isakmp_get_id(&pm->pl[i], &qb->id[qb->n_id]))
			return -EBADMSG;
		qb->n_id++;
	}
	return qb->n_id == 1 ? -EBADMSG : 0;
}

/* PFS: the peer's KE with the group of the transform. */
static int qm_dh(struct ikev1_qm *q, const struct isakmp_pl *ke)
{
	const struct crypto_dh_alg *da;

	if (!q->group)
		return ke ? -EBADMSG : 0; /* RFC 2409 §5.5: KE iff PFS */
	da = crypto_dh_lookup(q->group);
	if (!ke || !da || ke->len != da->pub_len)
		return -EBADMSG;
	if (crypto_dh_compute(q->dh, ke->body, ke->len, q->gqm,
			      da->secret_len) != 0)
		return -EBADMSG;
	q->gqm_len = da->secret_len;
	return 0;
}

static int qm_respond(struct ikev1_sa *sa, const struct isakmp_msg *m,
		      struct ikev1_out *out)
{
	const struct ikev1_conf *c = sa->conf;
	struct ikev1_qm tmp, *q;
	struct isakmp_msg pm;
	struct qm_body qb;
	struct isakmp_sa reply;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK], hash[CRYPTO_MAX_PRF_OUT];
	const uint8_t *rest;
	size_t rest_len;
	int rc;

	/* RFC 2409 §5.5: a new exchange needs a fresh, nonzero M-ID */
	if (m->hdr.msgid == 0 || sa_mid_seen(sa, m->hdr.msgid)) {
		sa->st.replayed++;
		return -EBADMSG;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.msgid = m->hdr.msgid;
	if (ikev1_iv_exchange(&sa->keys, tmp.msgid, tmp.iv) != 0)
		return -EIO;
	rc = sa_open(sa, m, tmp.iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	rc = -EBADMSG;
	if (pm.pl[0].len != sa->keys.hlen)
		goto cleanup_plain;
	sa_after_hash(&pm, plain, m->enc_len, &rest, &rest_len);
	if (ikev1_qm_hash(&sa->keys, tmp.msgid, NULL, 0, rest, rest_len,
			  hash) != 0)
		goto cleanup_plain;
	if (CRYPTO_memcmp(hash, pm.pl[0].body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		goto cleanup_plain;
	}
	/* authenticated from here on */
	if (qm_body(&pm, &qb) != 0 || qb.nonce->len > ISAKMP_NONCE_MAX)
		goto cleanup_plain;
	/* tunnel mode needs the selectors */
	if (qb.n_id != 2)
		goto cleanup_plain;
	/* IDs other than ours, or no proposal we take: -ENOENT, "not for
	 * this policy" (the caller may try another one) */
	rc = -ENOENT;
	if (!id_eq(&qb.id[0], &c->ts_remote) || !id_eq(&qb.id[1], &c->ts_local))
		goto cleanup_plain;
	if (p2_choose(c, &qb.sa, natt_encap(sa), c->ipcomp != 0, &tmp) != 0)
		goto cleanup_plain;
	/* our inbound SPIs only for a bundle we take; IPComp is optional
	 * (RFC 3173 §2.1): without a CPI, the peer's set without it */
	if (tmp.b.has_ipcomp) {
		tmp.ours.cpi = qm_cpi(c);
		if (!tmp.ours.cpi &&
		    p2_choose(c, &qb.sa, natt_encap(sa), false, &tmp) != 0)
			goto cleanup_plain;
	}
	if ((tmp.b.has_esp &&
	     qm_getspi(c, ISAKMP_PROTO_ESP, &tmp.ours.esp) != 0) ||
	    (tmp.b.has_ah &&
	     qm_getspi(c, ISAKMP_PROTO_AH, &tmp.ours.ah) != 0)) {
		rc = -EIO;
		goto cleanup_plain;
	}
	tmp.spi_in = tmp.b.has_esp ? tmp.ours.esp : tmp.ours.ah;
	/* RFC 2408 §4.2: the chosen AND-set, as received, our SPIs */
	if (isakmp_bundle_reply(&qb.sa, &tmp.b, &tmp.ours, &reply) != 0) {
		rc = -EIO;
		goto cleanup_plain;
	}
	q = qm_slot(sa);
	if (!q) {
		rc = -EBUSY;
		goto cleanup_plain;
	}
	*q = tmp;
	memcpy(q->iv, next_iv, sizeof(next_iv));
	q->idci = qb.id[0];
	q->idcr = qb.id[1];
	memcpy(q->ni, qb.nonce->body, qb.nonce->len);
	q->ni_len = qb.nonce->len;
	q->nr_len = IKEV1_NONCE_LEN;
	rc = crypto_random(q->nr, q->nr_len) != 0 ? -EIO : 0;
	if (!rc && q->group)
		rc = crypto_dh_new(q->group, &q->dh);
	if (!rc)
		rc = qm_dh(q, qb.ke);
	if (!rc)
		rc = qm_send(sa, q, &reply, true, true, out);
	if (rc) {
		qm_free(q);
		goto cleanup_plain;
	}
	sa_digest(m->raw, m->raw_len, q->last_rcvd);
	q->have_rcvd = true;
	sa_mid_add(sa, q->msgid);
	q->state = QM_R2;
cleanup_plain:
	mem_wipe(plain, m->enc_len);
	free(plain);
	return rc;
}

/* RFC 2407 §4.6.3.1: the responder's shorter lifetime (authenticated
 * by HASH(2)) is the SA's; a longer one, or garbage, changes nothing. */
static void qm_responder_lifetime(struct ikev1_qm *q,
				  const struct isakmp_msg *pm)
{
	for (int i = isakmp_msg_next(pm, ISAKMP_NP_N, -1); i >= 0;
	     i = isakmp_msg_next(pm, ISAKMP_NP_N, i)) {
		struct isakmp_notify n;
		uint32_t sec, kb;

		if (isakmp_get_notify(&pm->pl[i], &n) != 0 ||
		    n.type != ISAKMP_N_RESPONDER_LIFETIME ||
		    (n.proto != ISAKMP_PROTO_ESP &&
		     n.proto != ISAKMP_PROTO_AH) ||
		    isakmp_lifetime_decode(n.data, n.data_len, &sec, &kb) != 0)
			continue;
		if (sec && (!q->suite.life_sec || sec < q->suite.life_sec))
			q->suite.life_sec = sec;
	}
}

/* Initiator: QM2 -> keys, QM3. */
static int qm_finish_i(struct ikev1_sa *sa, struct ikev1_qm *q,
		       const struct isakmp_msg *m, struct ikev1_out *out)
{
	struct ikev1_qm save = *q;
	struct isakmp_msg pm;
	struct qm_body qb;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK], hash[CRYPTO_MAX_PRF_OUT];
	const uint8_t *rest;
	size_t rest_len;
	int rc;

	rc = sa_open(sa, m, q->iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	rc = -EBADMSG;
	if (pm.pl[0].len != sa->keys.hlen)
		goto cleanup_plain;
	sa_after_hash(&pm, plain, m->enc_len, &rest, &rest_len);
	if (ikev1_qm_hash(&sa->keys, q->msgid, q->ni, q->ni_len, rest, rest_len,
			  hash) != 0)
		goto cleanup_plain;
	if (CRYPTO_memcmp(hash, pm.pl[0].body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		goto cleanup_plain;
	}
	if (qm_body(&pm, &qb) != 0 || qb.nonce->len > ISAKMP_NONCE_MAX)
		goto cleanup_plain;
	/* RFC 2409 §5.5: the responder echoes the IDs it was sent */
	if (qb.n_id == 2 &&
	    (!id_eq(&qb.id[0], &q->idci) || !id_eq(&qb.id[1], &q->idcr)))
		goto cleanup_plain;
	if (p2_accept(sa->conf, &qb.sa, natt_encap(sa), q) != 0)
		goto cleanup_plain;
	qm_responder_lifetime(q, &pm);
	memcpy(q->nr, qb.nonce->body, qb.nonce->len);
	q->nr_len = qb.nonce->len;
	if (qm_dh(q, qb.ke) != 0)
		goto restore;
	memcpy(q->iv, next_iv, sizeof(next_iv));
	rc = qm_keys(sa, q, out);
	if (!rc) {
		/* RFC 2409 §5.5: HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b |
		 * Nr_b), alone */
		struct isakmp_hdr h;
		struct isakmp_wr b;
		uint8_t *pkt;
		size_t len;

		rc = ikev1_qm_hash3(&sa->keys, q->msgid, q->ni, q->ni_len,
				    q->nr, q->nr_len, hash);
		sa_hdr(sa, &h, ISAKMP_EXCH_QUICK, q->msgid, true);
		isakmp_wr_begin(&b, &h);
		isakmp_put_raw(&b, ISAKMP_NP_HASH, hash, sa->keys.hlen);
		if (!rc)
			rc = isakmp_wr_finish(&b, &pkt, &len);
		else
			isakmp_wr_abort(&b);
		if (!rc && (rc = sa_seal(sa, q->iv, &pkt, &len)) != 0)
			free(pkt);
		if (!rc)
			rc =
			    sa_emit(&q->last_sent, &q->last_len, pkt, len, out);
	}
	if (rc) {
		mem_wipe(&out->child, sizeof(out->child));
		out->child_ready = false;
		goto restore;
	}
	sa_digest(m->raw, m->raw_len, q->last_rcvd);
	q->have_rcvd = true;
	crypto_dh_free(q->dh);
	q->dh = NULL;
	mem_wipe(save.gqm, sizeof(save.gqm));
	q->state = QM_DONE;
	goto cleanup_plain;
restore:
	/* nothing of a failed message stays */
	save.last_sent = q->last_sent;
	save.last_len = q->last_len;
	*q = save;
	mem_wipe(&save, sizeof(save));
cleanup_plain:
	mem_wipe(plain, m->enc_len);
	free(plain);
	return rc;
}

/* Responder: QM3 -> keys. */
static int qm_finish_r(struct ikev1_sa *sa, struct ikev1_qm *q,
		       const struct isakmp_msg *m, struct ikev1_out *out)
{
	struct isakmp_msg pm;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK], hash[CRYPTO_MAX_PRF_OUT];
	int rc;

	rc = sa_open(sa, m, q->iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	rc = -EBADMSG;
	/* RFC 2409 §5.5: HASH(3) only */
	if (pm.npl != 1 || pm.pl[0].len != sa->keys.hlen ||
	    ikev1_qm_hash3(&sa->keys, q->msgid, q->ni, q->ni_len, q->nr,
			   q->nr_len, hash) != 0)
		goto cleanup_plain;
	if (CRYPTO_memcmp(hash, pm.pl[0].body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		goto cleanup_plain;
	}
	rc = qm_keys(sa, q, out);
	if (rc)
		goto cleanup_plain;
	memcpy(q->iv, next_iv, sizeof(next_iv));
	crypto_dh_free(q->dh);
	q->dh = NULL;
	free(q->last_sent);
	q->last_sent = NULL;
	sa_digest(m->raw, m->raw_len, q->last_rcvd);
	q->state = QM_DONE;
cleanup_plain:
	mem_wipe(plain, m->enc_len);
	free(plain);
	return rc;
}

int qm_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out)
{
	struct ikev1_qm *q = qm_find(sa, m->hdr.msgid);
	uint8_t dig[20];

	if (!q)
		return qm_respond(sa, m, out);
	sa_digest(m->raw, m->raw_len, dig);
	if (q->have_rcvd && memcmp(dig, q->last_rcvd, 20) == 0) {
		/* the exact message again: our answer again, if any */
		sa->st.replayed++;
		if (q->last_sent && (q->state == QM_R2 ||
				     (q->state == QM_DONE && q->initiator))) {
			out->pkt = malloc(q->last_len);
			if (!out->pkt)
				return -ENOMEM;
			memcpy(out->pkt, q->last_sent, q->last_len);
			out->len = q->last_len;
			sa->st.resent++;
		}
		return -EALREADY;
	}
	if (q->state == QM_I1 && q->initiator)
		return qm_finish_i(sa, q, m, out);
	if (q->state == QM_R2 && !q->initiator)
		return qm_finish_r(sa, q, m, out);
	sa->st.replayed++;
	return -EBADMSG;
}
