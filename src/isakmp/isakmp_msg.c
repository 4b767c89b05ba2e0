/*
 * isakmp_msg.c - whole ISAKMP messages (RFC 2408 §3.1, §3.2, §5.1) for
 * IKEv1 (RFC 2409): the header, the payload table and the one loop that
 * enforces the generic rules on every received chain, the typed views of
 * the payload bodies, the known Vendor IDs, and the message builder.
 * The Quick Mode body decoders are shared with kinkd (isakmp.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isakmp/isakmp.h"
#include "isakmp/isakmp_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Where a payload may appear (RFC 2409 §5, §5.4-§5.7, RFC 2408 §4.8,
 * RFC 3947 §3.2/§5.2, RFC 3706 §5). */
#define W_MAIN	0x01 /* Identity Protection (Main Mode) */
#define W_AGGR	0x02 /* Aggressive Mode */
#define W_QUICK 0x04 /* Quick Mode */
#define W_INFO	0x08 /* Informational */
#define W_P1	(W_MAIN | W_AGGR)
#define W_ALL	(W_MAIN | W_AGGR | W_QUICK | W_INFO)

struct pl_desc {
	uint8_t type;
	uint8_t where;
	bool repeat;	  /* may appear more than once */
	uint16_t min_len; /* body octets after the generic header */
};

/*
 * The payload table.  Minimum body lengths: the fixed parts of RFC 2408
 * §3.4-§3.16 and RFC 2407 §4.6 (SA: DOI + Situation; ID: type, protocol,
 * port + one octet; Notify/Delete: DOI, protocol, SPI size, type/count),
 * Nonce RFC 2409 §5 (8..256), NAT-OA RFC 3947 §5.2 (type, reserved, an
 * IPv4 address at least).  Proposal and Transform payloads only appear
 * inside an SA (RFC 2408 §3.4), never in the message chain.  The full
 * syntax of each body is checked by check_body().
 */
static const struct pl_desc pl_table[] = {
    {ISAKMP_NP_SA, W_P1 | W_QUICK, false, 8},
    {ISAKMP_NP_KE, W_P1 | W_QUICK, false, 1},
    {ISAKMP_NP_ID, W_P1 | W_QUICK, true, 5},
    {ISAKMP_NP_CERT, W_P1, true, 1},
    {ISAKMP_NP_CR, W_P1, true, 1},
    {ISAKMP_NP_HASH, W_ALL, false, 1},
    {ISAKMP_NP_SIG, W_P1, false, 1},
    {ISAKMP_NP_NONCE, W_P1 | W_QUICK, false, ISAKMP_NONCE_MIN},
    {ISAKMP_NP_N, W_ALL, true, 8},
    {ISAKMP_NP_D, W_INFO, true, 8},
    {ISAKMP_NP_VID, W_ALL, true, 1},
    {ISAKMP_NP_NATD, W_P1, true, 1},
    {ISAKMP_NP_NATOA, W_QUICK, true, 8},
};

static const struct pl_desc *pl_lookup(uint8_t type)
{
	for (size_t i = 0; i < NELEM(pl_table); i++)
		if (pl_table[i].type == type)
			return &pl_table[i];
	return NULL;
}

/* The exchange's bit; 0 = an exchange we do not carry. */
static uint8_t exch_where(uint8_t exch)
{
	switch (exch) {
	case ISAKMP_EXCH_IDPROT:
		return W_MAIN;
	case ISAKMP_EXCH_AGGRESSIVE:
		return W_AGGR;
	case ISAKMP_EXCH_QUICK:
		return W_QUICK;
	case ISAKMP_EXCH_INFO:
		return W_INFO;
	}
	return 0;
}

/* ---- typed body decoders ---- */

static int sa_decode(struct rd b, struct isakmp_sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	switch (isakmp_parse_sa(b, sa)) {
	case 0:
		return 0;
	case -ENOTSUP:
		/* RFC 2408 §5.4: DOI, then Situation */
		return sa->doi != ISAKMP_DOI_IPSEC
			   ? ISAKMP_N_DOI_NOT_SUPPORTED
			   : ISAKMP_N_SITUATION_NOT_SUPPORTED;
	case -E2BIG:
		/* more proposals/transforms than we keep: none chosen */
		return ISAKMP_N_NO_PROPOSAL_CHOSEN;
	default:
		return ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	}
}

/* RFC 2407 §4.6.2.1: the length of the identification data by type;
 * 0 = variable (at least one octet); -1 = unknown type. */
static int id_data_len(uint8_t type)
{
	switch (type) {
	case ISAKMP_ID_IPV4_ADDR:
		return 4;
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
	case ISAKMP_ID_IPV4_ADDR_RANGE:
		return 8;
	case ISAKMP_ID_IPV6_ADDR:
		return 16;
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
	case ISAKMP_ID_IPV6_ADDR_RANGE:
		return 32;
	case ISAKMP_ID_FQDN:
	case ISAKMP_ID_USER_FQDN:
	case ISAKMP_ID_DER_ASN1_DN:
	case ISAKMP_ID_DER_ASN1_GN:
	case ISAKMP_ID_KEY_ID:
		return 0;
	}
	return -1;
}

static int id1_decode(struct rd b, struct isakmp_id1 *id)
{
	int want;

	memset(id, 0, sizeof(*id));
	id->body = b.p;
	id->body_len = b.len;
	/* RFC 2407 §4.6.2: ID Type, Protocol ID, Port, data */
	if (rd_u8(&b, &id->type) || rd_u8(&b, &id->proto) ||
	    rd_u16(&b, &id->port) || rd_empty(&b))
		return ISAKMP_N_PAYLOAD_MALFORMED;
	want = id_data_len(id->type);
	if (want < 0)
		return ISAKMP_N_INVALID_ID_INFORMATION;
	if (want > 0 && rd_left(&b) != (size_t)want)
		return ISAKMP_N_INVALID_ID_INFORMATION;
	id->len = rd_left(&b);
	return rd_ptr(&b, id->len, &id->data) ? ISAKMP_N_PAYLOAD_MALFORMED : 0;
}

static int cert_decode(struct rd b, struct isakmp_cert *c)
{
	/* RFC 2408 §3.9/§3.10: encoding or type, then data */
	if (rd_u8(&b, &c->encoding))
		return ISAKMP_N_PAYLOAD_MALFORMED;
	c->len = rd_left(&b);
	return rd_ptr(&b, c->len, &c->data) ? ISAKMP_N_PAYLOAD_MALFORMED : 0;
}

static int notify_decode(struct rd b, struct isakmp_notify *n)
{
	memset(n, 0, sizeof(*n));
	if (isakmp_parse_notify(b, n))
		return ISAKMP_N_PAYLOAD_MALFORMED;
	/* RFC 2408 §3.14: DOI 0 (ISAKMP) or the IPsec DOI */
	if (n->doi != 0 && n->doi != ISAKMP_DOI_IPSEC)
		return ISAKMP_N_DOI_NOT_SUPPORTED;
	return 0;
}

static int delete_decode(struct rd b, struct isakmp_delete *d)
{
	memset(d, 0, sizeof(*d));
	switch (isakmp_parse_delete(b, d, true)) {
	case 0:
		return 0;
	case -ENOTSUP:
		return ISAKMP_N_DOI_NOT_SUPPORTED;
	default:
		return ISAKMP_N_PAYLOAD_MALFORMED;
	}
}

static int natoa_decode(struct rd b, struct isakmp_natoa *oa)
{
	uint8_t res[3];

	memset(oa, 0, sizeof(*oa));
	/* RFC 3947 §5.2: ID Type, RESERVED (3, zero), IPv4 or IPv6 address */
	if (rd_u8(&b, &oa->id_type) || rd_bytes(&b, res, 3) ||
	    (res[0] | res[1] | res[2]) != 0)
		return ISAKMP_N_PAYLOAD_MALFORMED;
	if (oa->id_type == ISAKMP_ID_IPV4_ADDR)
		oa->len = 4;
	else if (oa->id_type == ISAKMP_ID_IPV6_ADDR)
		oa->len = 16;
	else
		return ISAKMP_N_PAYLOAD_MALFORMED;
	if (rd_left(&b) != oa->len)
		return ISAKMP_N_PAYLOAD_MALFORMED;
	return rd_bytes(&b, oa->addr, oa->len) ? ISAKMP_N_PAYLOAD_MALFORMED : 0;
}

static int check_body(uint8_t type, struct rd b)
{
	union {
		struct isakmp_sa sa;
		struct isakmp_id1 id;
		struct isakmp_cert c;
		struct isakmp_notify n;
		struct isakmp_delete d;
		struct isakmp_natoa oa;
	} u;

	switch (type) {
	case ISAKMP_NP_SA:
		return sa_decode(b, &u.sa);
	case ISAKMP_NP_ID:
		return id1_decode(b, &u.id);
	case ISAKMP_NP_CERT:
	case ISAKMP_NP_CR:
		return cert_decode(b, &u.c);
	case ISAKMP_NP_NONCE:
		/* RFC 2409 §5: 8 to 256 octets */
		return rd_left(&b) > ISAKMP_NONCE_MAX
			   ? ISAKMP_N_PAYLOAD_MALFORMED
			   : 0;
	case ISAKMP_NP_N:
		return notify_decode(b, &u.n);
	case ISAKMP_NP_D:
		return delete_decode(b, &u.d);
	case ISAKMP_NP_NATOA:
		return natoa_decode(b, &u.oa);
	}
	return 0; /* KE, HASH, SIG, VID, NAT-D: opaque data */
}

/* ---- header and chain ---- */

int isakmp_hdr_parse(struct rd *r, struct isakmp_hdr *h)
{
	struct rd save = *r;

	/* RFC 2408 §3.1: fixed 28-octet header */
	if (rd_u64(r, &h->icookie) || rd_u64(r, &h->rcookie) ||
	    rd_u8(r, &h->np) || rd_u8(r, &h->version) || rd_u8(r, &h->exch) ||
	    rd_u8(r, &h->flags) || rd_u32(r, &h->msgid) ||
	    rd_u32(r, &h->length)) {
		*r = save;
		return -EBADMSG;
	}
	return 0;
}

int isakmp_msg_parse_chain(struct isakmp_msg *m, const uint8_t *p, size_t len,
			   bool padded)
{
	struct rd r = rd_init(p, len);
	uint8_t where = exch_where(m->hdr.exch);
	uint8_t seen[256 / 8] = {0};
	uint8_t type = m->hdr.np;

	m->npl = 0;
	m->pad_len = 0;
	while (type != ISAKMP_NP_NONE) {
		const struct pl_desc *d = pl_lookup(type);
		uint8_t np, res;
		uint16_t plen;
		struct rd body;
		int rc;

		/* RFC 2408 §5.1: an unknown or misplaced Next Payload value
		 * is INVALID-PAYLOAD-TYPE (there is no critical bit) */
		if (!d || !(d->where & where))
			return ISAKMP_N_INVALID_PAYLOAD_TYPE;
		/* RFC 2408 §3.2: Next Payload, RESERVED (must be 0),
		 * Payload Length (includes the generic header) */
		if (rd_u8(&r, &np) || rd_u8(&r, &res) || rd_u16(&r, &plen))
			return ISAKMP_N_PAYLOAD_MALFORMED;
		if (res != 0)
			return ISAKMP_N_PAYLOAD_MALFORMED;
		if (plen < ISAKMP_GENHDR_LEN ||
		    rd_sub(&r, plen - ISAKMP_GENHDR_LEN, &body))
			return ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS;
		if (rd_left(&body) < d->min_len)
			return ISAKMP_N_PAYLOAD_MALFORMED;
		if (!d->repeat && (seen[type / 8] & (1u << (type % 8))))
			return ISAKMP_N_PAYLOAD_MALFORMED;
		/* RFC 2409 §5: the SA payload precedes all others in Phase 1;
		 * §5.5: HASH(1..3) immediately follows the header */
		if (m->npl > 0 &&
		    ((type == ISAKMP_NP_SA && where != W_QUICK) ||
		     (type == ISAKMP_NP_HASH && where == W_QUICK)))
			return ISAKMP_N_PAYLOAD_MALFORMED;
		if (m->npl == 0 && where == W_QUICK && type != ISAKMP_NP_HASH)
			return ISAKMP_N_PAYLOAD_MALFORMED;
		seen[type / 8] |= (uint8_t)(1u << (type % 8));
		rc = check_body(type, body);
		if (rc)
			return rc;
		if (m->npl >= ISAKMP_MAX_PAYLOADS)
			return ISAKMP_N_PAYLOAD_MALFORMED;
		m->pl[m->npl].type = type;
		m->pl[m->npl].body = body.p;
		m->pl[m->npl].len = body.len;
		m->npl++;
		type = np;
	}
	/* RFC 2408 §3.1: the chain fills the message; an encrypted body
	 * may carry padding after it (RFC 2409 §5.3, Appendix B) */
	if (padded ? rd_left(&r) > ISAKMP_MAX_PAD : !rd_empty(&r))
		return ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS;
	m->pad_len = rd_left(&r);
	return 0;
}

int isakmp_msg_parse(const uint8_t *buf, size_t len, struct isakmp_msg *m)
{
	struct rd r = rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	m->raw = buf;
	m->raw_len = len;
	if (isakmp_hdr_parse(&r, &m->hdr) < 0)
		return -EBADMSG;
	/* RFC 2408 §5.1: lower versions are not ours to answer; a higher
	 * major version is INVALID-MAJOR-VERSION (IKEv2 is routed before
	 * this is called) */
	if ((m->hdr.version >> 4) < 1)
		return -EBADMSG;
	if ((m->hdr.version >> 4) > 1)
		return ISAKMP_N_INVALID_MAJOR_VERSION;
	/* RFC 2408 §3.1: Length is the total message length */
	if (m->hdr.length != len)
		return -EBADMSG;
	/* RFC 2408 §5.1: the initiator cookie is never zero */
	if (m->hdr.icookie == 0)
		return ISAKMP_N_INVALID_COOKIE;
	if ((m->hdr.version & 0x0f) != 0)
		return ISAKMP_N_INVALID_MINOR_VERSION;
	if (m->hdr.exch == 0 ||
	    (m->hdr.exch > ISAKMP_EXCH_INFO && m->hdr.exch < ISAKMP_EXCH_QUICK))
		return ISAKMP_N_INVALID_EXCHANGE_TYPE;
	if (!exch_where(m->hdr.exch))
		return ISAKMP_N_UNSUPPORTED_EXCHANGE_TYPE;
	/* RFC 2408 §3.1: only E, C and A are defined */
	if (m->hdr.flags & ~(ISAKMP_FLAG_E | ISAKMP_FLAG_C | ISAKMP_FLAG_A))
		return ISAKMP_N_INVALID_FLAGS;
	if (m->hdr.flags & ISAKMP_FLAG_E) {
		/* RFC 2409 §5.3: the body is CBC ciphertext; decrypted and
		 * parsed by the caller */
		m->enc_len = rd_left(&r);
		if (m->enc_len == 0 || rd_ptr(&r, m->enc_len, &m->enc))
			return ISAKMP_N_PAYLOAD_MALFORMED;
		return 0;
	}
	return isakmp_msg_parse_chain(m, r.p, r.len, false);
}

int isakmp_msg_next(const struct isakmp_msg *m, uint8_t type, int from)
{
	for (int i = from < 0 ? 0 : from + 1; i < (int)m->npl; i++)
		if (m->pl[i].type == type)
			return i;
	return -1;
}

const struct isakmp_pl *isakmp_msg_find(const struct isakmp_msg *m,
					uint8_t type)
{
	int i = isakmp_msg_next(m, type, -1);
	return i < 0 ? NULL : &m->pl[i];
}

/* ---- typed views ---- */

static struct rd pl_rd(const struct isakmp_pl *pl)
{
	return rd_init(pl->body, pl->len);
}

int isakmp_get_sa(const struct isakmp_pl *pl, struct isakmp_sa *sa)
{
	return sa_decode(pl_rd(pl), sa);
}

int isakmp_get_id1(const struct isakmp_pl *pl, struct isakmp_id1 *id)
{
	return id1_decode(pl_rd(pl), id);
}

int isakmp_get_id(const struct isakmp_pl *pl, struct isakmp_id *id)
{
	memset(id, 0, sizeof(*id));
	switch (isakmp_parse_id(pl_rd(pl), id)) {
	case 0:
		return 0;
	case -ENOTSUP:
		return ISAKMP_N_INVALID_ID_INFORMATION;
	default:
		return ISAKMP_N_PAYLOAD_MALFORMED;
	}
}

int isakmp_get_cert(const struct isakmp_pl *pl, struct isakmp_cert *c)
{
	return cert_decode(pl_rd(pl), c);
}

int isakmp_get_notify(const struct isakmp_pl *pl, struct isakmp_notify *n)
{
	return notify_decode(pl_rd(pl), n);
}

int isakmp_get_delete(const struct isakmp_pl *pl, struct isakmp_delete *d)
{
	return delete_decode(pl_rd(pl), d);
}

int isakmp_get_natoa(const struct isakmp_pl *pl, struct isakmp_natoa *oa)
{
	return natoa_decode(pl_rd(pl), oa);
}

/* ---- Vendor IDs ---- */

/* RFC 3947 §3.1: MD5("RFC 3947"); RFC 3706 §5: the DPD vendor ID. */
static const uint8_t vid_rfc3947[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03,
					0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2,
					0x0e, 0x95, 0x45, 0x2f};
static const uint8_t vid_dpd[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1,
				    0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc,
				    0x77, 0x57, 0x01, 0x00};

const uint8_t *isakmp_vid_bytes(enum isakmp_vid v, size_t *len)
{
	*len = 16;
	switch (v) {
	case ISAKMP_VID_RFC3947:
		return vid_rfc3947;
	case ISAKMP_VID_DPD:
		return vid_dpd;
	default:
		*len = 0;
		return NULL;
	}
}

enum isakmp_vid isakmp_vid_lookup(const uint8_t *p, size_t len)
{
	if (len == 16 && memcmp(p, vid_rfc3947, 16) == 0)
		return ISAKMP_VID_RFC3947;
	/* RFC 3706 §5: the last two octets are the version (1.0) */
	if (len == 16 && memcmp(p, vid_dpd, 14) == 0)
		return ISAKMP_VID_DPD;
	return ISAKMP_VID_UNKNOWN;
}

/* ---- builder ---- */

int isakmp_wr_begin(struct isakmp_wr *b, const struct isakmp_hdr *h)
{
	memset(b, 0, sizeof(*b));
	wr_init(&b->w, ISAKMP_MAX_MSG);
	/* RFC 2408 §3.1; Next Payload and Length are patched later */
	wr_u64(&b->w, h->icookie);
	wr_u64(&b->w, h->rcookie);
	b->np_off = b->w.len;
	wr_u8(&b->w, ISAKMP_NP_NONE);
	wr_u8(&b->w, h->version ? h->version : ISAKMP_VERSION);
	wr_u8(&b->w, h->exch);
	wr_u8(&b->w, h->flags);
	wr_u32(&b->w, h->msgid);
	wr_u32(&b->w, 0);
	b->err = wr_error(&b->w);
	return b->err;
}

/* Start a payload: patch the previous Next Payload, write the generic
 * header with a zero length; returns its offset. */
static size_t pl_begin(struct isakmp_wr *b, uint8_t type)
{
	size_t off = 0;

	wr_patch_u8(&b->w, b->np_off, type);
	wr_reserve(&b->w, ISAKMP_GENHDR_LEN, &off);
	b->np_off = off;
	return off;
}

static int pl_finish(struct isakmp_wr *b, size_t off)
{
	isakmp_pl_end(&b->w, off);
	if (!b->err)
		b->err = wr_error(&b->w);
	return b->err;
}

int isakmp_put_raw(struct isakmp_wr *b, uint8_t type, const void *body,
		   size_t len)
{
	size_t off = pl_begin(b, type);

	wr_bytes(&b->w, body, len);
	return pl_finish(b, off);
}

int isakmp_put_reserve(struct isakmp_wr *b, uint8_t type, size_t len,
		       size_t *off)
{
	size_t h = pl_begin(b, type);

	wr_reserve(&b->w, len, off);
	return pl_finish(b, h);
}

int isakmp_put_sa(struct isakmp_wr *b, const struct isakmp_sa *sa)
{
	size_t off = pl_begin(b, ISAKMP_NP_SA);

	isakmp_write_sa(&b->w, sa);
	return pl_finish(b, off);
}

int isakmp_put_id1(struct isakmp_wr *b, const struct isakmp_id1 *id)
{
	size_t off = pl_begin(b, ISAKMP_NP_ID);

	wr_u8(&b->w, id->type);
	wr_u8(&b->w, id->proto);
	wr_u16(&b->w, id->port);
	wr_bytes(&b->w, id->data, id->len);
	return pl_finish(b, off);
}

int isakmp_put_id(struct isakmp_wr *b, const struct isakmp_id *id)
{
	size_t off = pl_begin(b, ISAKMP_NP_ID);

	wr_u8(&b->w, id->type);
	wr_u8(&b->w, id->proto);
	wr_u16(&b->w, id->port);
	wr_bytes(&b->w, id->data,
		 id->len <= sizeof(id->data) ? id->len : sizeof(id->data));
	return pl_finish(b, off);
}

int isakmp_put_cert(struct isakmp_wr *b, uint8_t type,
		    const struct isakmp_cert *c)
{
	size_t off = pl_begin(b, type);

	wr_u8(&b->w, c->encoding);
	wr_bytes(&b->w, c->data, c->len);
	return pl_finish(b, off);
}

int isakmp_put_notify(struct isakmp_wr *b, const struct isakmp_notify *n)
{
	size_t off = pl_begin(b, ISAKMP_NP_N);

	/* RFC 2408 §3.14: DOI, Protocol, SPI Size, Type, SPI, data */
	wr_u32(&b->w, n->doi);
	wr_u8(&b->w, n->proto);
	wr_u8(&b->w, n->spi_size);
	wr_u16(&b->w, n->type);
	if (n->spi_size > ISAKMP_MAX_SPI && !b->w.err)
		b->w.err = -EINVAL;
	else
		wr_bytes(&b->w, n->spi, n->spi_size);
	wr_bytes(&b->w, n->data, n->data_len);
	return pl_finish(b, off);
}

int isakmp_put_delete(struct isakmp_wr *b, const struct isakmp_delete *d)
{
	size_t off = pl_begin(b, ISAKMP_NP_D);

	/* RFC 2408 §3.15 */
	wr_u32(&b->w, d->doi);
	wr_u8(&b->w, d->proto);
	wr_u8(&b->w, d->spi_size);
	wr_u16(&b->w, d->n_spi);
	wr_bytes(&b->w, d->spis, (size_t)d->n_spi * d->spi_size);
	return pl_finish(b, off);
}

int isakmp_put_natoa(struct isakmp_wr *b, const struct isakmp_natoa *oa)
{
	size_t off = pl_begin(b, ISAKMP_NP_NATOA);

	/* RFC 3947 §5.2 */
	wr_u8(&b->w, oa->id_type);
	wr_zero(&b->w, 3);
	wr_bytes(&b->w, oa->addr, oa->len <= 16 ? oa->len : 16);
	return pl_finish(b, off);
}

int isakmp_wr_finish(struct isakmp_wr *b, uint8_t **pkt, size_t *len)
{
	if (!b->err)
		b->err = wr_error(&b->w);
	if (b->err) {
		int err = b->err;
		wr_free(&b->w);
		return err;
	}
	/* RFC 2408 §3.1: total length, header included */
	wr_patch_u32(&b->w, 24, (uint32_t)b->w.len);
	*pkt = wr_steal(&b->w, len);
	return *pkt ? 0 : -ENOMEM;
}

void isakmp_wr_abort(struct isakmp_wr *b)
{
	wr_free(&b->w);
}

/* ---- names (logs) ---- */

const char *isakmp_exch_name(uint8_t exch)
{
	switch (exch) {
	case ISAKMP_EXCH_BASE:
		return "Base";
	case ISAKMP_EXCH_IDPROT:
		return "Main Mode";
	case ISAKMP_EXCH_AUTH_ONLY:
		return "Authentication Only";
	case ISAKMP_EXCH_AGGRESSIVE:
		return "Aggressive Mode";
	case ISAKMP_EXCH_INFO:
		return "Informational";
	case ISAKMP_EXCH_QUICK:
		return "Quick Mode";
	case ISAKMP_EXCH_NEW_GROUP:
		return "New Group Mode";
	}
	return "?";
}

const char *isakmp_notify_name(uint16_t type)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
	    {ISAKMP_N_INVALID_PAYLOAD_TYPE, "INVALID-PAYLOAD-TYPE"},
	    {ISAKMP_N_DOI_NOT_SUPPORTED, "DOI-NOT-SUPPORTED"},
	    {ISAKMP_N_SITUATION_NOT_SUPPORTED, "SITUATION-NOT-SUPPORTED"},
	    {ISAKMP_N_INVALID_COOKIE, "INVALID-COOKIE"},
	    {ISAKMP_N_INVALID_MAJOR_VERSION, "INVALID-MAJOR-VERSION"},
	    {ISAKMP_N_INVALID_MINOR_VERSION, "INVALID-MINOR-VERSION"},
	    {ISAKMP_N_INVALID_EXCHANGE_TYPE, "INVALID-EXCHANGE-TYPE"},
	    {ISAKMP_N_INVALID_FLAGS, "INVALID-FLAGS"},
	    {ISAKMP_N_INVALID_MESSAGE_ID, "INVALID-MESSAGE-ID"},
	    {ISAKMP_N_INVALID_PROTOCOL_ID, "INVALID-PROTOCOL-ID"},
	    {ISAKMP_N_INVALID_SPI, "INVALID-SPI"},
	    {ISAKMP_N_INVALID_TRANSFORM_ID, "INVALID-TRANSFORM-ID"},
	    {ISAKMP_N_ATTRIBUTES_NOT_SUPPORTED, "ATTRIBUTES-NOT-SUPPORTED"},
	    {ISAKMP_N_NO_PROPOSAL_CHOSEN, "NO-PROPOSAL-CHOSEN"},
	    {ISAKMP_N_BAD_PROPOSAL_SYNTAX, "BAD-PROPOSAL-SYNTAX"},
	    {ISAKMP_N_PAYLOAD_MALFORMED, "PAYLOAD-MALFORMED"},
	    {ISAKMP_N_INVALID_KEY_INFORMATION, "INVALID-KEY-INFORMATION"},
	    {ISAKMP_N_INVALID_ID_INFORMATION, "INVALID-ID-INFORMATION"},
	    {ISAKMP_N_INVALID_CERT_ENCODING, "INVALID-CERT-ENCODING"},
	    {ISAKMP_N_INVALID_CERTIFICATE, "INVALID-CERTIFICATE"},
	    {ISAKMP_N_CERT_TYPE_UNSUPPORTED, "CERT-TYPE-UNSUPPORTED"},
	    {ISAKMP_N_INVALID_CERT_AUTHORITY, "INVALID-CERT-AUTHORITY"},
	    {ISAKMP_N_INVALID_HASH_INFORMATION, "INVALID-HASH-INFORMATION"},
	    {ISAKMP_N_AUTHENTICATION_FAILED, "AUTHENTICATION-FAILED"},
	    {ISAKMP_N_INVALID_SIGNATURE, "INVALID-SIGNATURE"},
	    {ISAKMP_N_ADDRESS_NOTIFICATION, "ADDRESS-NOTIFICATION"},
	    {ISAKMP_N_NOTIFY_SA_LIFETIME, "NOTIFY-SA-LIFETIME"},
	    {ISAKMP_N_CERTIFICATE_UNAVAILABLE, "CERTIFICATE-UNAVAILABLE"},
	    {ISAKMP_N_UNSUPPORTED_EXCHANGE_TYPE, "UNSUPPORTED-EXCHANGE-TYPE"},
	    {ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS, "UNEQUAL-PAYLOAD-LENGTHS"},
	    {ISAKMP_N_CONNECTED, "CONNECTED"},
	    {ISAKMP_N_RESPONDER_LIFETIME, "RESPONDER-LIFETIME"},
	    {ISAKMP_N_REPLAY_STATUS, "REPLAY-STATUS"},
	    {ISAKMP_N_INITIAL_CONTACT, "INITIAL-CONTACT"},
	    {ISAKMP_N_DPD_R_U_THERE, "R-U-THERE"},
	    {ISAKMP_N_DPD_R_U_THERE_ACK, "R-U-THERE-ACK"},
	};

	for (size_t i = 0; i < NELEM(names); i++)
		if (names[i].type == type)
			return names[i].name;
	return "?";
}
