/*
 * kink_msg.c - KINK message codec (RFC 4430 §5): header checks, the
 * payload table and the one loop that walks every payload chain (outer
 * and inside KINK_ENCRYPT), plus the builder with padding, KINK_ENCRYPT
 * and the Cksum.  See kink_msg.h.
 */
#include "kink/kink_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rd.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define W_OUTER 0x01 /* may appear in the clear chain */
#define W_INNER 0x02 /* may appear inside KINK_ENCRYPT */

struct kink_pl_desc {
	uint8_t type;
	uint8_t where;
	uint16_t min_len; /* body octets after the generic header */
	uint16_t max_len; /* 0 = no limit */
	const char *name;
};

/*
 * The payload table (§5.2.1-§5.2.9).  Minimum bodies: AP_REQ/AP_REP
 * EPOCH(4) + a DER value; ISAKMP InnerNextPload, QMVersion, RESERVED;
 * ERROR exactly ErrorCode(4).  KINK_ENCRYPT may not nest (§5.2.8).
 */
static const struct kink_pl_desc pl_table[] = {
    {KINK_PL_AP_REQ, W_OUTER, 5, 0, "AP_REQ"},
    {KINK_PL_AP_REP, W_OUTER, 5, 0, "AP_REP"},
    {KINK_PL_KRB_ERROR, W_OUTER | W_INNER, 1, 0, "KRB_ERROR"},
    {KINK_PL_TGT_REQ, W_OUTER | W_INNER, 1, 0, "TGT_REQ"},
    {KINK_PL_TGT_REP, W_OUTER | W_INNER, 1, 0, "TGT_REP"},
    {KINK_PL_ISAKMP, W_OUTER | W_INNER, 4, 0, "ISAKMP"},
    {KINK_PL_ENCRYPT, W_OUTER, 1, 0, "ENCRYPT"},
    {KINK_PL_ERROR, W_OUTER | W_INNER, 4, 4, "ERROR"},
};

static const struct kink_pl_desc *pl_lookup(uint8_t type)
{
	for (size_t i = 0; i < NELEM(pl_table); i++)
		if (pl_table[i].type == type)
			return &pl_table[i];
	return NULL;
}

static int store(struct kink_msg *m, uint8_t type, struct rd b, bool inner)
{
	const uint8_t *p;
	struct kink_blob *dst = NULL;

	switch (type) {
	case KINK_PL_AP_REQ:
	case KINK_PL_AP_REP:
		/* §5.2.2/§5.2.3: EPOCH then the DER message */
		if (rd_u32(&b, &m->epoch) < 0)
			return KINK_ERR_PROTOERR;
		dst = type == KINK_PL_AP_REQ ? &m->ap_req : &m->ap_rep;
		break;
	case KINK_PL_KRB_ERROR:
		dst = &m->krb_error;
		break;
	case KINK_PL_TGT_REQ:
		dst = &m->tgt_req;
		break;
	case KINK_PL_TGT_REP:
		dst = &m->tgt_rep;
		break;
	case KINK_PL_ISAKMP: {
		uint16_t res;
		/* §5.2.6: InnerNextPload, QMVersion, RESERVED */
		if (rd_u8(&b, &m->isakmp_first) < 0 ||
		    rd_u8(&b, &m->qm_version) < 0 || rd_u16(&b, &res) < 0)
			return KINK_ERR_PROTOERR;
		if (m->qm_version != KINK_QM_VERSION)
			return KINK_ERR_BADQMVERS;
		dst = &m->isakmp;
		break;
	}
	case KINK_PL_ENCRYPT:
		dst = &m->encrypt;
		break;
	case KINK_PL_ERROR:
		if (rd_u32(&b, &m->error_code) < 0)
			return KINK_ERR_PROTOERR;
		break;
	}
	if (dst) {
		dst->len = rd_left(&b);
		if (rd_ptr(&b, dst->len, &p) < 0)
			return KINK_ERR_PROTOERR;
		dst->p = p;
	}
	m->present |= (uint16_t)(1u << type);
	if (inner)
		m->encrypted |= (uint16_t)(1u << type);
	return 0;
}

/*
 * Walk one chain.  §5.2: PayloadLength counts the generic header and
 * not the padding; each payload is padded to a multiple of 4 octets.
 * Every payload type at most once; unknown types are a PROTOERR.
 */
static int parse_chain(struct kink_msg *m, uint8_t first, struct rd r,
		       bool inner)
{
	uint8_t type = first, next, res;
	uint16_t plen;
	struct rd b;
	int err;

	while (type != KINK_PL_DONE) {
		const struct kink_pl_desc *d = pl_lookup(type);

		if (!d || !(d->where & (inner ? W_INNER : W_OUTER)))
			return KINK_ERR_PROTOERR;
		if (kink_has(m, type))
			return KINK_ERR_PROTOERR; /* duplicate */
		if (rd_u8(&r, &next) < 0 || rd_u8(&r, &res) < 0 ||
		    rd_u16(&r, &plen) < 0 || plen < 4 ||
		    rd_sub(&r, (size_t)plen - 4, &b) < 0)
			return KINK_ERR_PROTOERR;
		if (rd_left(&b) < d->min_len ||
		    (d->max_len && rd_left(&b) > d->max_len))
			return KINK_ERR_PROTOERR;
		/* §5.2.8: KINK_ENCRYPT, if present, is the last payload */
		if (type == KINK_PL_ENCRYPT && next != KINK_PL_DONE)
			return KINK_ERR_PROTOERR;
		err = store(m, type, b, inner);
		if (err)
			return err;
		/* padding to 4 octets, which the last payload may omit */
		size_t pad = (4 - (plen & 3)) & 3;
		if (rd_left(&r) < pad) {
			if (next != KINK_PL_DONE)
				return KINK_ERR_PROTOERR;
			pad = rd_left(&r);
		}
		rd_skip(&r, pad);
		type = next;
	}
	/* outer: nothing but the last padding may follow (checked above);
	 * inner: the enctype may have padded the plaintext (RFC 3961 §5.3) */
	if (!inner && !rd_empty(&r))
		return KINK_ERR_PROTOERR;
	return 0;
}

int kink_msg_parse(const uint8_t *pkt, size_t len, struct kink_msg *m)
{
	struct rd r = rd_init(pkt, len), body;
	uint8_t flags = 0;
	const uint8_t *ck;

	memset(m, 0, sizeof(*m));
	if (len < KINK_HDR_LEN)
		return KINK_ERR_PROTOERR;
	rd_u8(&r, &m->type);
	rd_u8(&r, &m->version);
	rd_u16(&r, &m->length);
	rd_u32(&r, &m->doi);
	rd_u32(&r, &m->xid);
	rd_u8(&r, &m->first);
	rd_u8(&r, &flags);
	rd_u16(&r, &m->cksum_len);
	m->ackreq = flags & KINK_FLAG_ACKREQ;

	/* §5.1: version, then DOI */
	if ((m->version >> 4) != (KINK_VERSION >> 4))
		return KINK_ERR_INVMAJ;
	if ((m->version & 0x0f) != (KINK_VERSION & 0x0f))
		return KINK_ERR_INVMIN;
	if (m->doi != KINK_DOI_IPSEC)
		return KINK_ERR_INVDOI;
	/* §5.1: Length is the whole message including the Cksum; one
	 * message is one datagram */
	if (m->length != len || m->length < KINK_HDR_LEN ||
	    m->cksum_len > m->length - KINK_HDR_LEN)
		return KINK_ERR_PROTOERR;
	if (m->type == KINK_TYPE_RESERVED || m->type > KINK_TYPE_STATUS)
		return KINK_ERR_PROTOERR;
	m->covered_len = (size_t)m->length - m->cksum_len;
	if (rd_sub(&r, m->covered_len - KINK_HDR_LEN, &body) < 0 ||
	    rd_ptr(&r, m->cksum_len, &ck) < 0)
		return KINK_ERR_PROTOERR;
	m->cksum.p = ck;
	m->cksum.len = m->cksum_len;
	return parse_chain(m, m->first, body, false);
}

int kink_msg_parse_inner(const uint8_t *plain, size_t len, struct kink_msg *m)
{
	struct rd r = rd_init(plain, len);
	uint8_t first, res;
	uint16_t res2;

	/* §5.2.8: InnerNextPload and RESERVED2 are encrypted too */
	if (rd_u8(&r, &first) < 0 || rd_u8(&r, &res) < 0 ||
	    rd_u16(&r, &res2) < 0)
		return KINK_ERR_PROTOERR;
	return parse_chain(m, first, rd_rest(&r), true);
}

int kink_msg_cksum_input(const uint8_t *pkt, const struct kink_msg *m,
			 uint8_t **out, size_t *out_len)
{
	size_t n = m->covered_len;
	uint8_t *b;

	if (n < KINK_HDR_LEN || n > m->length)
		return -EINVAL;
	b = malloc(n);
	if (!b)
		return -ENOMEM;
	memcpy(b, pkt, n);
	/* §5.1: Length as without the Cksum, CksumLen zero */
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	b[14] = b[15] = 0;
	*out = b;
	*out_len = n;
	return 0;
}

/* ---- builder ---- */

static void pad4(struct wr *w)
{
	wr_zero(w, (4 - (w->len & 3)) & 3);
}

void kink_wr_begin(struct kink_wr *k, enum kink_type type, uint32_t xid,
		   bool ackreq)
{
	memset(k, 0, sizeof(*k));
	wr_init(&k->w, KINK_MSG_MAX);
	wr_u8(&k->w, (uint8_t)type);
	wr_u8(&k->w, KINK_VERSION);
	wr_u16(&k->w, 0); /* Length, patched by finish */
	wr_u32(&k->w, KINK_DOI_IPSEC);
	wr_u32(&k->w, xid);
	k->next_off = k->w.len;
	wr_u8(&k->w, KINK_PL_DONE);
	wr_u8(&k->w, ackreq ? KINK_FLAG_ACKREQ : 0);
	wr_u16(&k->w, 0); /* CksumLen */
}

void kink_wr_payload(struct kink_wr *k, enum kink_pl type, const void *pre,
		     size_t pre_len, const void *body, size_t body_len)
{
	struct wr *w = &k->w;
	size_t off = 0, n = 4 + pre_len + body_len;

	if (k->closed || n > 0xffff) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	pad4(w);
	wr_patch_u8(w, k->next_off, (uint8_t)type);
	wr_reserve(w, 4, &off);
	k->next_off = off;
	wr_patch_u16(w, off + 2, (uint16_t)n);
	if (pre_len)
		wr_bytes(w, pre, pre_len);
	if (body_len)
		wr_bytes(w, body, body_len);
}

static void be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void kink_wr_ap_req(struct kink_wr *k, uint32_t epoch, const void *der,
		    size_t len)
{
	uint8_t e[4];

	be32(e, epoch);
	kink_wr_payload(k, KINK_PL_AP_REQ, e, 4, der, len);
}

void kink_wr_ap_rep(struct kink_wr *k, uint32_t epoch, const void *der,
		    size_t len)
{
	uint8_t e[4];

	be32(e, epoch);
	kink_wr_payload(k, KINK_PL_AP_REP, e, 4, der, len);
}

void kink_wr_isakmp(struct kink_wr *k, uint8_t first, const void *chain,
		    size_t len)
{
	uint8_t h[4] = {first, KINK_QM_VERSION, 0, 0};

	kink_wr_payload(k, KINK_PL_ISAKMP, h, 4, chain, len);
}

void kink_wr_error(struct kink_wr *k, uint32_t code)
{
	uint8_t e[4];

	be32(e, code);
	kink_wr_payload(k, KINK_PL_ERROR, e, 4, NULL, 0);
}

void kink_wr_encrypt_begin(struct kink_wr *k)
{
	struct wr *w = &k->w;
	size_t off = 0;

	if (k->closed || k->in_encrypt) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	pad4(w);
	wr_patch_u8(w, k->next_off, KINK_PL_ENCRYPT);
	wr_reserve(w, 4, &off); /* generic header; next stays DONE */
	k->enc_off = off;
	k->next_off = w->len; /* InnerNextPload */
	wr_zero(w, 4);
	k->in_encrypt = true;
}

int kink_wr_encrypt_end(struct kink_wr *k, kink_seal_fn enc, void *ctx)
{
	struct wr *w = &k->w;
	size_t start = k->enc_off + 4, ct_len = 0;
	uint8_t *ct = NULL;
	int err;

	if (!k->in_encrypt)
		return -EINVAL;
	pad4(w);
	if ((err = wr_error(w)))
		return err;
	err = enc(ctx, w->buf + start, w->len - start, &ct, &ct_len);
	if (err)
		return w->err = err;
	if (4 + ct_len > 0xffff) {
		free(ct);
		return w->err = -EMSGSIZE;
	}
	/* the ciphertext is longer than the plaintext it overwrites */
	w->len = start;
	wr_bytes(w, ct, ct_len);
	free(ct);
	wr_patch_u16(w, k->enc_off + 2, (uint16_t)(4 + ct_len));
	k->in_encrypt = false;
	k->closed = true;
	return wr_error(w);
}

int kink_wr_finish(struct kink_wr *k, kink_seal_fn mic, void *ctx,
		   uint8_t **out, size_t *out_len)
{
	struct wr *w = &k->w;
	uint8_t *ck = NULL;
	size_t ck_len = 0, covered;
	int err;

	if (k->in_encrypt)
		w->err = w->err ? w->err : -EINVAL;
	pad4(w);
	covered = w->len;
	if ((err = wr_error(w)))
		goto fail;
	if (covered > 0xffff) {
		err = -EMSGSIZE;
		goto fail;
	}
	/* §5.1: the Cksum covers the message as if it had none */
	wr_patch_u16(w, 2, (uint16_t)covered);
	if (mic) {
		err = mic(ctx, w->buf, covered, &ck, &ck_len);
		if (err)
			goto fail;
		if (ck_len > 0xffff - covered) {
			free(ck);
			err = -EMSGSIZE;
			goto fail;
		}
		wr_bytes(w, ck, ck_len);
		free(ck);
		wr_patch_u16(w, 14, (uint16_t)ck_len);
		wr_patch_u16(w, 2, (uint16_t)(covered + ck_len));
	}
	if ((err = wr_error(w)))
		goto fail;
	*out = wr_steal(w, out_len);
	return *out ? 0 : -ENOMEM;
fail:
	wr_free(w);
	return err;
}

void kink_wr_abort(struct kink_wr *k)
{
	wr_free(&k->w);
}

const char *kink_type_name(uint8_t type)
{
	static const char *const names[] = {
	    "RESERVED", "CREATE", "DELETE", "REPLY", "GETTGT", "ACK", "STATUS"};

	return type < NELEM(names) ? names[type] : "?";
}

const char *kink_pl_name(uint8_t type)
{
	const struct kink_pl_desc *d = pl_lookup(type);

	return type == KINK_PL_DONE ? "DONE" : d ? d->name : "?";
}

const char *kink_err_name(uint32_t code)
{
	static const char *const names[] = {"OK",	"PROTOERR", "INVDOI",
					    "INVMAJ",	"INVMIN",   "INTERR",
					    "BADQMVERS"};

	return code < NELEM(names) ? names[code] : "?";
}
