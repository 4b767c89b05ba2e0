/*
 * sa.c - the ISAKMP SA of IKEv1 (RFC 2409): creation, dispatch of a
 * received message to its exchange task, CBC sealing/opening with the
 * IV of the exchange (App. B), retransmission of our last message, and
 * the Phase 2 message-ID window that refuses replays.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/util.h"

void sa_digest(const uint8_t *p, size_t len, uint8_t out[20])
{
	const struct cbuf part = {p, len};

	if (crypto_sha1(&part, 1, out) != 0)
		memset(out, 0, 20);
}

void sa_hdr(const struct ikev1_sa *sa, struct isakmp_hdr *h, uint8_t exch,
	    uint32_t msgid, bool encrypted)
{
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 8; i++) {
		h->icookie = h->icookie << 8 | sa->cky_i[i];
		h->rcookie = h->rcookie << 8 | sa->cky_r[i];
	}
	h->version = ISAKMP_VERSION;
	h->exch = exch;
	h->msgid = msgid;
	h->flags = encrypted ? ISAKMP_FLAG_E : 0;
}

int sa_seal(const struct ikev1_sa *sa, uint8_t iv[CRYPTO_MAX_BLOCK],
	    uint8_t **pkt, size_t *len)
{
	size_t cap = *len + sa->keys.block, body;
	uint8_t *p = realloc(*pkt, cap);
	int rc;

	if (!p)
		return -ENOMEM;
	*pkt = p;
	/* RFC 2409 App. B: the body after the header is encrypted, padded
	 * with zeros; the header Length includes the padding */
	rc = ikev1_encrypt(&sa->keys, iv, p + ISAKMP_HDR_LEN,
			   *len - ISAKMP_HDR_LEN, cap - ISAKMP_HDR_LEN, &body);
	if (rc)
		return rc;
	*len = ISAKMP_HDR_LEN + body;
	p[24] = (uint8_t)(*len >> 24);
	p[25] = (uint8_t)(*len >> 16);
	p[26] = (uint8_t)(*len >> 8);
	p[27] = (uint8_t)*len;
	return 0;
}

int sa_open(const struct ikev1_sa *sa, const struct isakmp_msg *m,
	    const uint8_t iv[CRYPTO_MAX_BLOCK], uint8_t **plain,
	    struct isakmp_msg *pm, uint8_t next_iv[CRYPTO_MAX_BLOCK])
{
	uint8_t *p;
	int rc;

	*plain = NULL;
	/* RFC 2409 §5.3: encrypted once the keys exist */
	if (!(m->hdr.flags & ISAKMP_FLAG_E) || !m->enc || sa->keys.block == 0)
		return -EBADMSG;
	p = malloc(m->enc_len);
	if (!p)
		return -ENOMEM;
	memcpy(p, m->enc, m->enc_len);
	memcpy(next_iv, iv, CRYPTO_MAX_BLOCK);
	rc = ikev1_decrypt(&sa->keys, next_iv, p, m->enc_len);
	if (rc)
		goto fail_free;
	memset(pm, 0, sizeof(*pm));
	pm->hdr = m->hdr;
	pm->raw = m->raw;
	pm->raw_len = m->raw_len;
	rc = isakmp_msg_parse_chain(pm, p, m->enc_len, true);
	if (rc) {
		rc = -EBADMSG;
		goto fail_free;
	}
	*plain = p;
	return 0;
fail_free:
	mem_wipe(p, m->enc_len);
	free(p);
	return rc;
}

void sa_after_hash(const struct isakmp_msg *pm, const uint8_t *plain,
		   size_t plain_len, const uint8_t **rest, size_t *rest_len)
{
	/* the HASH body ends where the next payload starts */
	const uint8_t *end = pm->pl[0].body + pm->pl[0].len;
	size_t used = (size_t)(end - plain);

	*rest = end;
	*rest_len = plain_len - pm->pad_len - used;
}

int sa_emit(uint8_t **keep, size_t *keep_len, uint8_t *pkt, size_t len,
	    struct ikev1_out *out)
{
	uint8_t *copy = malloc(len);

	if (!copy) {
		free(pkt);
		return -ENOMEM;
	}
	memcpy(copy, pkt, len);
	free(*keep);
	*keep = pkt;
	*keep_len = len;
	out->pkt = copy;
	out->len = len;
	return 0;
}

bool sa_mid_seen(const struct ikev1_sa *sa, uint32_t mid)
{
	/* a full list refuses everything: no ID can be told fresh */
	if (sa->n_mids >= IKEV1_MID_WINDOW)
		return true;
	for (unsigned i = 0; i < sa->n_mids; i++)
		if (sa->mids[i] == mid)
			return true;
	return false;
}

void sa_mid_add(struct ikev1_sa *sa, uint32_t mid)
{
	if (sa->n_mids < IKEV1_MID_WINDOW)
		sa->mids[sa->n_mids++] = mid;
}

int sa_new_mid(struct ikev1_sa *sa, uint32_t *mid)
{
	if (sa->n_mids >= IKEV1_MID_WINDOW)
		return -ENOSPC;
	/* RFC 2408 §3.1 / RFC 2409 §5.5: a random, unique, nonzero ID */
	for (int tries = 0; tries < 16; tries++) {
		if (crypto_random(mid, sizeof(*mid)) != 0)
			return -EIO;
		if (*mid != 0 && !sa_mid_seen(sa, *mid))
			return 0;
	}
	return -EAGAIN;
}

static struct ikev1_sa *sa_alloc(const struct ikev1_conf *conf, bool initiator)
{
	struct ikev1_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->conf = conf;
	sa->initiator = initiator;
	return sa;
}

int ikev1_sa_new_initiator(const struct ikev1_conf *conf,
			   struct ikev1_sa **out_sa, struct ikev1_out *out)
{
	struct ikev1_sa *sa = sa_alloc(conf, true);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sa)
		return -ENOMEM;
	rc = conf->aggressive_initiate ? am_start(sa, out) : mm_start(sa, out);
	if (rc) {
		ikev1_sa_free(sa);
		return rc;
	}
	*out_sa = sa;
	return 0;
}

int ikev1_sa_new_responder_at(const struct ikev1_conf *conf,
			      const struct isakmp_msg *m,
			      const struct sockaddr *local,
			      const struct sockaddr *peer,
			      struct ikev1_sa **out_sa, struct ikev1_out *out)
{
	struct ikev1_sa *sa;
	int rc;

	memset(out, 0, sizeof(*out));
	/* RFC 2409 §5: message 1 of Main or Aggressive Mode */
	if ((m->hdr.exch != ISAKMP_EXCH_IDPROT &&
	     m->hdr.exch != ISAKMP_EXCH_AGGRESSIVE) ||
	    m->hdr.rcookie != 0 || m->hdr.msgid != 0 ||
	    (m->hdr.flags & ISAKMP_FLAG_E))
		return -EBADMSG;
	sa = sa_alloc(conf, false);
	if (!sa)
		return -ENOMEM;
	if (local && peer && ikev1_sa_set_addrs(sa, local, peer) != 0) {
		ikev1_sa_free(sa);
		return -EINVAL;
	}
	rc = m->hdr.exch == ISAKMP_EXCH_AGGRESSIVE ? am_respond1(sa, m, out)
						   : mm_respond1(sa, m, out);
	if (rc) {
		ikev1_sa_free(sa);
		ikev1_out_clear(out);
		return rc;
	}
	*out_sa = sa;
	return 0;
}

int ikev1_sa_new_responder(const struct ikev1_conf *conf,
			   const struct isakmp_msg *m, struct ikev1_sa **out_sa,
			   struct ikev1_out *out)
{
	return ikev1_sa_new_responder_at(conf, m, NULL, NULL, out_sa, out);
}

void ikev1_sa_free(struct ikev1_sa *sa)
{
	if (!sa)
		return;
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		qm_free(&sa->qm[i]);
	crypto_dh_free(sa->dh);
	free(sa->sai_b);
	free(sa->last_sent);
	mem_wipe(sa, sizeof(*sa));
	free(sa);
}

void ikev1_out_clear(struct ikev1_out *out)
{
	free(out->pkt);
	mem_wipe(out, sizeof(*out));
}

static bool cookies_match(const struct ikev1_sa *sa, const struct isakmp_hdr *h)
{
	struct isakmp_hdr mine;

	sa_hdr(sa, &mine, 0, 0, false);
	if (h->icookie != mine.icookie)
		return false;
	/* the initiator learns the responder cookie from message 2 */
	if (sa->initiator &&
	    (sa->state == IKEV1_MM_I1 || sa->state == IKEV1_AM_I1))
		return h->rcookie != 0;
	return h->rcookie == mine.rcookie;
}

int ikev1_input(struct ikev1_sa *sa, const uint8_t *pkt, size_t len,
		struct ikev1_out *out)
{
	struct isakmp_msg m;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = isakmp_msg_parse(pkt, len, &m);
	if (rc != 0 || !cookies_match(sa, &m.hdr) || sa->state == IKEV1_DEAD) {
		sa->st.dropped++;
		return -EBADMSG;
	}
	switch (m.hdr.exch) {
	case ISAKMP_EXCH_IDPROT:
		rc = sa->p1_exch == ISAKMP_EXCH_IDPROT ? mm_input(sa, &m, out)
						       : -EBADMSG;
		break;
	case ISAKMP_EXCH_AGGRESSIVE:
		rc = am_input(sa, &m, out);
		break;
	case ISAKMP_EXCH_QUICK:
		rc = sa->state == IKEV1_ESTABLISHED ? qm_input(sa, &m, out)
						    : -EBADMSG;
		break;
	case ISAKMP_EXCH_INFO:
		rc = sa->state == IKEV1_ESTABLISHED ? info_input(sa, &m, out)
						    : -EBADMSG;
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	if (rc < 0 && rc != -EALREADY)
		sa->st.dropped++;
	if (rc == -EALREADY)
		rc = 0; /* a retransmission answered */
	return rc;
}

int ikev1_quick_start(struct ikev1_sa *sa, struct ikev1_out *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED)
		return -EAGAIN;
	return qm_start(sa, 0, out);
}

int ikev1_quick_rekey(struct ikev1_sa *sa, uint32_t old_spi_in,
		      struct ikev1_out *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED)
		return -EAGAIN;
	if (!old_spi_in)
		return -EINVAL;
	return qm_start(sa, old_spi_in, out);
}

int ikev1_delete(struct ikev1_sa *sa, uint32_t spi_in, struct ikev1_out *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED)
		return -EAGAIN;
	return info_delete(sa, spi_in, out);
}

int ikev1_delete_bundle(struct ikev1_sa *sa, uint32_t esp_spi, uint32_t ah_spi,
			uint16_t cpi, struct ikev1_out *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED)
		return -EAGAIN;
	return info_delete_bundle(sa, esp_spi, ah_spi, cpi, out);
}

static int resend(uint8_t *p, size_t len, struct ikev1_out *out)
{
	out->pkt = malloc(len);
	if (!out->pkt)
		return -ENOMEM;
	memcpy(out->pkt, p, len);
	out->len = len;
	return 0;
}

int ikev1_retransmit(struct ikev1_sa *sa, struct ikev1_out *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED && sa->state != IKEV1_DEAD &&
	    sa->last_sent) {
		sa->st.resent++;
		return resend(sa->last_sent, sa->last_len, out);
	}
	for (int i = 0; i < IKEV1_MAX_QM; i++) {
		struct ikev1_qm *q = &sa->qm[i];
		if (q->state == QM_I1 || q->state == QM_R2) {
			sa->st.resent++;
			return resend(q->last_sent, q->last_len, out);
		}
	}
	return -ENOENT;
}

enum ikev1_state ikev1_sa_state(const struct ikev1_sa *sa)
{
	return sa->state;
}

void ikev1_sa_cookies(const struct ikev1_sa *sa, uint64_t *icookie,
		      uint64_t *rcookie)
{
	struct isakmp_hdr h;

	sa_hdr(sa, &h, 0, 0, false);
	*icookie = h.icookie;
	*rcookie = h.rcookie;
}

const struct ikev1_stats *ikev1_sa_stats(const struct ikev1_sa *sa)
{
	return &sa->st;
}

const struct ikev1_keys *ikev1_sa_keys(const struct ikev1_sa *sa)
{
	return &sa->keys;
}
