/*
 * msg.c - IKEv2 message header and payload chain (RFC 7296 §3.1, §3.2,
 * §2.5): the payload table and the one loop that enforces the generic
 * rules on every received chain, plus the builder core (header, payload
 * chaining with back-patched lengths).
 *
 * Parsing borrows the caller's buffer (struct ike_msg points into it);
 * the builder owns its struct wr until ikev2_wr_finish() hands it over.
 */
#include "ike/codec/codec_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Where a payload may appear: exchange and inside/outside SK (RFC 7296
 * §1.2-§1.5 list the payloads of each exchange). */
#define W_INIT	     0x01 /* IKE_SA_INIT (never encrypted) */
#define W_AUTH	     0x02 /* inside SK of IKE_AUTH */
#define W_CHILD	     0x04 /* inside SK of CREATE_CHILD_SA */
#define W_INFO	     0x08 /* inside SK of INFORMATIONAL */
#define W_CLEAR	     0x10 /* outer chain of IKE_AUTH/CREATE_CHILD_SA/INFO */
#define W_INFO_CLEAR 0x20 /* outer chain of INFORMATIONAL (§1.5) */
#define W_ANY	     0x3f

struct pl_desc {
	uint8_t type;
	uint8_t where;
	bool repeat;	  /* may appear more than once */
	uint16_t min_len; /* body octets after the generic header */
};

/*
 * The payload table.  Minimum body lengths: fixed parts of §3.3-§3.16;
 * Nonce §3.9 (16..256 octets); SKF RFC 7383 §2.5 (4 octets of fragment
 * numbers).  The full syntax of each body is checked by
 * ikev2_check_body() (payload.c).
 */
static const struct pl_desc pl_table[] = {
    {IKEV2_PL_SA, W_INIT | W_AUTH | W_CHILD, false, 8},
    {IKEV2_PL_KE, W_INIT | W_CHILD, false, 4},
    {IKEV2_PL_IDi, W_AUTH, false, 4},
    {IKEV2_PL_IDr, W_AUTH, false, 4},
    {IKEV2_PL_CERT, W_AUTH, true, 1},
    {IKEV2_PL_CERTREQ, W_INIT | W_AUTH, true, 1},
    {IKEV2_PL_AUTH, W_AUTH, false, 4},
    {IKEV2_PL_NONCE, W_INIT | W_CHILD, false, IKEV2_NONCE_MIN},
    {IKEV2_PL_N, W_ANY, true, 4},
    {IKEV2_PL_D, W_INFO, true, 4},
    {IKEV2_PL_V, W_INIT | W_AUTH | W_CHILD | W_INFO, true, 0},
    {IKEV2_PL_TSi, W_AUTH | W_CHILD, false, 4},
    {IKEV2_PL_TSr, W_AUTH | W_CHILD, false, 4},
    {IKEV2_PL_SK, W_CLEAR | W_INFO_CLEAR, false, 0},
    {IKEV2_PL_CP, W_AUTH | W_INFO, false, 4},
    {IKEV2_PL_EAP, W_AUTH, false, 4},
    {IKEV2_PL_SKF, W_CLEAR | W_INFO_CLEAR, false, 4},
};

static const struct pl_desc *pl_lookup(uint8_t type)
{
	for (size_t i = 0; i < NELEM(pl_table); i++)
		if (pl_table[i].type == type)
			return &pl_table[i];
	return NULL;
}

/* The context bit of a chain; 0 = unknown exchange (not restricted). */
static uint8_t chain_where(uint8_t exch, bool inner)
{
	switch (exch) {
	case IKEV2_EXCH_IKE_SA_INIT:
		return W_INIT;
	case IKEV2_EXCH_IKE_AUTH:
		return inner ? W_AUTH : W_CLEAR;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		return inner ? W_CHILD : W_CLEAR;
	case IKEV2_EXCH_INFORMATIONAL:
		return inner ? W_INFO : W_INFO_CLEAR;
	}
	return 0;
}

int ikev2_hdr_parse(struct rd *r, struct ikev2_hdr *h)
{
	struct rd save = *r;

	/* RFC 7296 §3.1: fixed 28-octet header. */
	if (rd_u64(r, &h->spi_i) || rd_u64(r, &h->spi_r) ||
	    rd_u8(r, &h->next_payload) || rd_u8(r, &h->version) ||
	    rd_u8(r, &h->exch) || rd_u8(r, &h->flags) || rd_u32(r, &h->msgid) ||
	    rd_u32(r, &h->length)) {
		*r = save;
		return -EBADMSG;
	}
	return 0;
}

/*
 * The generic loop (RFC 7296 §2.5, §3.2): walks the chain starting with
 * type `first` over r, appending known payloads to m->pl.  Enforces for
 * every payload: a whole generic header, 4 <= Payload Length <= what is
 * left, the table's minimum body length, placement (SK last, allowed in
 * this exchange), repetition, body syntax; unknown types are skipped
 * unless critical.  The chain must end exactly at the end of r.
 */
int ikev2_parse_chain(struct ike_msg *m, uint8_t first, struct rd r, bool inner)
{
	uint8_t where = chain_where(m->hdr.exch, inner);
	uint8_t seen[256 / 8] = {0};
	uint8_t type = first;

	while (type != IKEV2_PL_NONE) {
		const struct pl_desc *d = pl_lookup(type);
		uint8_t np, flags;
		uint16_t plen;
		struct rd body;
		struct ikev2_pl *pl;
		int rc;

		/* RFC 7296 §3.2: Next Payload, C, Payload Length. */
		if (rd_u8(&r, &np) || rd_u8(&r, &flags) || rd_u16(&r, &plen))
			return IKEV2_N_INVALID_SYNTAX;
		if (plen < IKEV2_GENHDR_LEN ||
		    rd_sub(&r, plen - IKEV2_GENHDR_LEN, &body))
			return IKEV2_N_INVALID_SYNTAX;
		if (!d) {
			/* RFC 7296 §2.5: unknown + critical rejects the
			 * whole message; unknown non-critical is skipped. */
			if (flags & IKEV2_CRITICAL) {
				m->bad_critical = type;
				return IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
			}
			type = np;
			continue;
		}
		/* RFC 7296 §3.2: known types ignore the critical bit. */
		if (rd_left(&body) < d->min_len)
			return IKEV2_N_INVALID_SYNTAX;
		if (where && !(d->where & where))
			return IKEV2_N_INVALID_SYNTAX;
		if (!d->repeat && (seen[type / 8] & (1u << (type % 8))))
			return IKEV2_N_INVALID_SYNTAX;
		seen[type / 8] |= (uint8_t)(1u << (type % 8));
		if (inner && (type == IKEV2_PL_SK || type == IKEV2_PL_SKF))
			return IKEV2_N_INVALID_SYNTAX; /* no nesting */
		rc = ikev2_check_body(type, body);
		if (rc)
			return rc;
		if (m->npl >= IKEV2_MAX_PAYLOADS)
			return IKEV2_N_INVALID_SYNTAX;
		pl = &m->pl[m->npl];
		pl->type = type;
		pl->critical = flags & IKEV2_CRITICAL;
		pl->inner = inner;
		pl->body = body;
		if (type == IKEV2_PL_SK || type == IKEV2_PL_SKF) {
			/* RFC 7296 §3.14 / RFC 7383 §2.5: last payload; its
			 * Next Payload names the first inner payload. */
			if (!rd_empty(&r))
				return IKEV2_N_INVALID_SYNTAX;
			m->sk_index = (int)m->npl;
			m->sk_first = np;
			if (type == IKEV2_PL_SKF) {
				struct rd f = body;
				m->skf = true;
				(void)rd_u16(&f, &m->skf_num);
				(void)rd_u16(&f, &m->skf_total);
			}
			m->npl++;
			return 0;
		}
		m->npl++;
		type = np;
	}
	/* RFC 7296 §3.2: the chain ends with Next Payload 0 exactly at the
	 * end of the message (or of the SK plaintext). */
	if (!rd_empty(&r))
		return IKEV2_N_INVALID_SYNTAX;
	return 0;
}

int ikev2_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m)
{
	struct rd r = rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	m->sk_index = -1;
	m->raw = buf;
	m->raw_len = len;
	if (ikev2_hdr_parse(&r, &m->hdr) < 0)
		return -EBADMSG;
	/* RFC 7296 §3.1: Length is the total message length. */
	if (m->hdr.length != len)
		return -EBADMSG;
	/* RFC 7296 §2.5: a higher major version gets INVALID_MAJOR_VERSION;
	 * lower ones (IKEv1) are not ours. */
	if ((m->hdr.version >> 4) > 2)
		return IKEV2_N_INVALID_MAJOR_VERSION;
	if ((m->hdr.version >> 4) < 2)
		return -EBADMSG;
	/* RFC 7296 §3.1: the initiator's SPI is never zero. */
	if (m->hdr.spi_i == 0)
		return -EBADMSG;
	return ikev2_parse_chain(m, m->hdr.next_payload, r, false);
}

int ikev2_msg_next(const struct ike_msg *m, uint8_t type, int from)
{
	for (int i = from < 0 ? 0 : from + 1; i < (int)m->npl; i++)
		if (m->pl[i].type == type)
			return i;
	return -1;
}

const struct ikev2_pl *ikev2_msg_find(const struct ike_msg *m, uint8_t type)
{
	int i = ikev2_msg_next(m, type, -1);
	return i < 0 ? NULL : &m->pl[i];
}

bool ikev2_msg_find_notify(const struct ike_msg *m, uint16_t ntype,
			   struct ikev2_notify *n)
{
	struct ikev2_notify tmp;

	for (int i = ikev2_msg_next(m, IKEV2_PL_N, -1); i >= 0;
	     i = ikev2_msg_next(m, IKEV2_PL_N, i)) {
		if (ikev2_get_notify(&m->pl[i], &tmp) == 0 &&
		    tmp.type == ntype) {
			if (n)
				*n = tmp;
			return true;
		}
	}
	return false;
}

/* ---- builder core ---- */

int ikev2_wr_begin(struct ikev2_wr *b, const struct ikev2_hdr *h)
{
	memset(b, 0, sizeof(*b));
	wr_init(&b->w, IKEV2_MAX_MSG);
	b->sk_off = SIZE_MAX;
	/* RFC 7296 §3.1; Next Payload and Length are patched later. */
	wr_u64(&b->w, h->spi_i);
	wr_u64(&b->w, h->spi_r);
	b->np_off = b->w.len;
	wr_u8(&b->w, IKEV2_PL_NONE);
	wr_u8(&b->w, h->version ? h->version : IKEV2_VERSION);
	wr_u8(&b->w, h->exch);
	wr_u8(&b->w, h->flags);
	wr_u32(&b->w, h->msgid);
	wr_u32(&b->w, 0);
	b->err = wr_error(&b->w);
	return b->err;
}

int ikev2_pl_begin(struct ikev2_wr *b, uint8_t type, bool critical,
		   size_t *start)
{
	if (b->err)
		return b->err;
	if (b->sk_done) /* RFC 7296 §3.14: SK is the last payload */
		return b->err = -EINVAL;
	wr_patch_u8(&b->w, b->np_off, type);
	*start = b->w.len;
	b->np_off = b->w.len;
	wr_u8(&b->w, IKEV2_PL_NONE);
	wr_u8(&b->w, critical ? IKEV2_CRITICAL : 0);
	wr_u16(&b->w, 0);
	return b->err = wr_error(&b->w);
}

int ikev2_pl_end(struct ikev2_wr *b, size_t start)
{
	size_t len;

	if (b->err)
		return b->err;
	len = b->w.len - start;
	if (len > 0xffff)
		return b->err = -EMSGSIZE;
	wr_patch_u16(&b->w, start + 2, (uint16_t)len);
	return b->err = wr_error(&b->w);
}

int ikev2_put_raw(struct ikev2_wr *b, uint8_t type, bool critical,
		  const void *body, size_t len)
{
	size_t st;

	if (ikev2_pl_begin(b, type, critical, &st))
		return b->err;
	wr_bytes(&b->w, body, len);
	return ikev2_pl_end(b, st);
}

int ikev2_wr_finish(struct ikev2_wr *b, uint8_t **pkt, size_t *len)
{
	int rc = b->err;

	*pkt = NULL;
	*len = 0;
	if (!rc && b->sk_off != SIZE_MAX && !b->sk_done)
		rc = -EINVAL; /* SK opened but never closed */
	if (!rc && b->w.len > 0xffffffffu)
		rc = -EMSGSIZE;
	if (!rc)
		rc = wr_patch_u32(&b->w, 24, (uint32_t)b->w.len);
	if (rc) {
		wr_free(&b->w);
		return rc;
	}
	*pkt = wr_steal(&b->w, len);
	return 0;
}

void ikev2_wr_abort(struct ikev2_wr *b)
{
	wr_free(&b->w);
	b->err = -ECANCELED;
}
