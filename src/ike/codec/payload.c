/*
 * payload.c - decoders and builders of each IKEv2 payload body (RFC 7296
 * §3.3-§3.16, RFC 7383 §2.5 for SKF).  Decoders read only through the
 * rd cursor and fill views that borrow the payload's memory; builders
 * append to a struct ikev2_wr (see msg.c for the chaining).
 */
#include "ike/codec/codec_int.h"

#include <errno.h>
#include <string.h>

#define SYNTAX IKEV2_N_INVALID_SYNTAX

/* ---- SA (§3.3) ---- */

/* §3.3.5: attributes; only Key Length (TV, type 14) is defined. */
static int parse_attrs(struct rd a, struct ikev2_xform *x)
{
	while (!rd_empty(&a)) {
		uint16_t t, v;

		if (rd_u16(&a, &t) || rd_u16(&a, &v))
			return SYNTAX;
		if (t & IKEV2_ATTR_TV) {
			if ((t & 0x7fff) == IKEV2_ATTR_KEY_LENGTH)
				x->keylen = v;
			else
				x->bad_attr = true; /* §3.3.6: unknown */
		} else {
			/* TLV: v is the value's length. */
			if (rd_skip(&a, v))
				return SYNTAX;
			x->bad_attr = true;
		}
	}
	return 0;
}

/* §3.3.2: one Transform substructure. */
static int parse_xform(struct rd *r, bool *last, struct ikev2_xform *x)
{
	uint8_t more, res, res2;
	uint16_t len;
	struct rd attrs;

	memset(x, 0, sizeof(*x));
	if (rd_u8(r, &more) || rd_u8(r, &res) || rd_u16(r, &len))
		return SYNTAX;
	/* §3.3.2: 0 = last, 3 = more; length covers header + attributes */
	if ((more != 0 && more != 3) || len < 8 || rd_sub(r, len - 4, &attrs))
		return SYNTAX;
	if (rd_u8(&attrs, &x->type) || rd_u8(&attrs, &res2) ||
	    rd_u16(&attrs, &x->id))
		return SYNTAX;
	*last = more == 0;
	return parse_attrs(attrs, x);
}

/* §3.3.1: one Proposal substructure; p may be NULL (validate only). */
static int parse_proposal(struct rd *r, bool *last, struct ikev2_proposal *p)
{
	struct ikev2_proposal tmp;
	uint8_t more, res, num, proto, spi_len, nxf;
	uint16_t len;
	struct rd body;

	if (!p)
		p = &tmp;
	if (rd_u8(r, &more) || rd_u8(r, &res) || rd_u16(r, &len))
		return SYNTAX;
	/* §3.3.1: 0 = last, 2 = more */
	if ((more != 0 && more != 2) || len < 8 || rd_sub(r, len - 4, &body))
		return SYNTAX;
	if (rd_u8(&body, &num) || rd_u8(&body, &proto) ||
	    rd_u8(&body, &spi_len) || rd_u8(&body, &nxf))
		return SYNTAX;
	*last = more == 0;
	/* §3.3.1: SPI size 0 or 8 (IKE), 4 (ESP/AH). */
	if ((proto == IKEV2_PROTO_IKE && spi_len != 0 && spi_len != 8) ||
	    ((proto == IKEV2_PROTO_ESP || proto == IKEV2_PROTO_AH) &&
	     spi_len != 4) ||
	    spi_len > 8)
		return SYNTAX;
	p->num = num;
	p->proto = proto;
	p->spi_len = spi_len;
	p->nxf = 0;
	p->truncated = false;
	memset(p->spi, 0, sizeof(p->spi));
	if (rd_bytes(&body, p->spi, spi_len))
		return SYNTAX;
	/* §3.3.1: exactly nxf transforms fill the proposal. */
	for (unsigned i = 0; i < nxf; i++) {
		struct ikev2_xform x;
		bool xlast;

		if (parse_xform(&body, &xlast, &x))
			return SYNTAX;
		if (xlast != (i + 1 == nxf))
			return SYNTAX;
		if (p->nxf < IKEV2_MAX_XFORMS)
			p->xf[p->nxf++] = x;
		else
			p->truncated = true;
	}
	if (!rd_empty(&body) || nxf == 0)
		return SYNTAX;
	return 0;
}

static int sa_decode(struct rd body, struct ikev2_sa *out)
{
	bool last = false;

	if (out)
		out->nprop = 0;
	while (!last) {
		struct ikev2_proposal *p = NULL;

		if (out && out->nprop < IKEV2_MAX_PROPOSALS)
			p = &out->prop[out->nprop];
		if (parse_proposal(&body, &last, p))
			return SYNTAX;
		if (p)
			out->nprop++;
	}
	/* §3.3.1: the last proposal ends the SA payload. */
	return rd_empty(&body) ? 0 : SYNTAX;
}

/* ---- the simple payloads ---- */

static int ke_decode(struct rd b, struct ikev2_ke *k)
{
	uint16_t res;

	/* §3.4: DH Group Num, RESERVED, Key Exchange Data */
	if (rd_u16(&b, &k->group) || rd_u16(&b, &res) || rd_empty(&b))
		return SYNTAX;
	k->len = rd_left(&b);
	return rd_ptr(&b, k->len, &k->data) ? SYNTAX : 0;
}

static int id_decode(struct rd b, struct ikev2_id *id)
{
	id->body = b.p;
	id->body_len = b.len;
	/* §3.5: ID Type, 3 RESERVED, data */
	if (rd_u8(&b, &id->type) || rd_skip(&b, 3) || rd_empty(&b))
		return SYNTAX;
	id->len = rd_left(&b);
	if ((id->type == IKEV2_ID_IPV4_ADDR && id->len != 4) ||
	    (id->type == IKEV2_ID_IPV6_ADDR && id->len != 16))
		return SYNTAX;
	return rd_ptr(&b, id->len, &id->data) ? SYNTAX : 0;
}

static int cert_decode(struct rd b, struct ikev2_cert *c)
{
	/* §3.6 / §3.7: Encoding, data */
	if (rd_u8(&b, &c->encoding))
		return SYNTAX;
	c->len = rd_left(&b);
	return rd_ptr(&b, c->len, &c->data) ? SYNTAX : 0;
}

static int auth_decode(struct rd b, struct ikev2_auth *a)
{
	/* §3.8: Auth Method, 3 RESERVED, data */
	if (rd_u8(&b, &a->method) || rd_skip(&b, 3) || rd_empty(&b))
		return SYNTAX;
	a->len = rd_left(&b);
	return rd_ptr(&b, a->len, &a->data) ? SYNTAX : 0;
}

static int nonce_decode(struct rd b, struct ikev2_nonce *n)
{
	/* §3.9: 16 to 256 octets */
	if (rd_left(&b) < IKEV2_NONCE_MIN || rd_left(&b) > IKEV2_NONCE_MAX)
		return SYNTAX;
	n->len = rd_left(&b);
	return rd_ptr(&b, n->len, &n->data) ? SYNTAX : 0;
}

static int notify_decode(struct rd b, struct ikev2_notify *n)
{
	/* §3.10: Protocol ID, SPI Size, Notify Message Type, SPI, data */
	if (rd_u8(&b, &n->proto) || rd_u8(&b, &n->spi_len) ||
	    rd_u16(&b, &n->type) || rd_ptr(&b, n->spi_len, &n->spi))
		return SYNTAX;
	n->len = rd_left(&b);
	return rd_ptr(&b, n->len, &n->data) ? SYNTAX : 0;
}

static int delete_decode(struct rd b, struct ikev2_delete *d)
{
	/* §3.11: Protocol ID, SPI Size, # of SPIs, SPIs */
	if (rd_u8(&b, &d->proto) || rd_u8(&b, &d->spi_len) ||
	    rd_u16(&b, &d->nspi))
		return SYNTAX;
	/* §3.11: IKE: SPI size 0 and no SPIs; ESP/AH: 4-octet SPIs. */
	if (d->proto == IKEV2_PROTO_IKE) {
		if (d->spi_len != 0 || d->nspi != 0)
			return SYNTAX;
	} else if (d->proto == IKEV2_PROTO_ESP || d->proto == IKEV2_PROTO_AH) {
		if (d->spi_len != 4)
			return SYNTAX;
	} else {
		return SYNTAX;
	}
	if (rd_left(&b) != (size_t)d->nspi * d->spi_len)
		return SYNTAX;
	return rd_ptr(&b, rd_left(&b), &d->spis) ? SYNTAX : 0;
}

static int vendor_decode(struct rd b, struct ikev2_vendor *v)
{
	v->len = rd_left(&b);
	return rd_ptr(&b, v->len, &v->data) ? SYNTAX : 0;
}

/* §3.13: Number of TSs, 3 RESERVED, selectors (§3.13.1). */
static int ts_decode(struct rd b, struct ikev2_ts_list *l)
{
	uint8_t n;

	l->n = 0;
	if (rd_u8(&b, &n) || rd_skip(&b, 3) || n == 0)
		return SYNTAX;
	for (unsigned i = 0; i < n; i++) {
		uint8_t type, proto;
		uint16_t len, sp, ep;
		struct rd s;
		size_t alen;

		if (rd_u8(&b, &type) || rd_u8(&b, &proto) || rd_u16(&b, &len))
			return SYNTAX;
		if (len < 4 || rd_sub(&b, len - 4, &s))
			return SYNTAX;
		if (type == IKEV2_TS_IPV4_ADDR_RANGE)
			alen = 4;
		else if (type == IKEV2_TS_IPV6_ADDR_RANGE)
			alen = 16;
		else
			continue; /* §2.9: unknown TS types are ignored */
		/* §3.13.1: 16 (IPv4) or 40 (IPv6) octets */
		if (len != 8 + 2 * alen)
			return SYNTAX;
		if (rd_u16(&s, &sp) || rd_u16(&s, &ep))
			return SYNTAX;
		if (l->n < IKEV2_MAX_TS) {
			struct ikev2_ts *t = &l->ts[l->n++];
			memset(t, 0, sizeof(*t));
			t->type = type;
			t->proto = proto;
			t->sport = sp;
			t->eport = ep;
			if (rd_bytes(&s, t->start, alen) ||
			    rd_bytes(&s, t->end, alen))
				return SYNTAX;
		}
	}
	return rd_empty(&b) ? 0 : SYNTAX;
}

static int cp_decode(struct rd b, struct ikev2_cp *cp)
{
	/* §3.15: CFG Type, 3 RESERVED, attributes (§3.15.1) */
	cp->nattr = 0;
	if (rd_u8(&b, &cp->type) || rd_skip(&b, 3))
		return SYNTAX;
	if (cp->type < IKEV2_CFG_REQUEST || cp->type > IKEV2_CFG_ACK)
		return SYNTAX;
	while (!rd_empty(&b)) {
		uint16_t t, len;
		const uint8_t *v;

		if (rd_u16(&b, &t) || rd_u16(&b, &len) || rd_ptr(&b, len, &v))
			return SYNTAX;
		if (cp->nattr < IKEV2_MAX_CP_ATTRS) {
			cp->attr[cp->nattr].type = t & 0x7fff;
			cp->attr[cp->nattr].data = v;
			cp->attr[cp->nattr].len = len;
			cp->nattr++;
		}
	}
	return 0;
}

static int eap_decode(struct rd b, struct ikev2_eap *e)
{
	/* §3.16 / RFC 3748 §4: Code, Identifier, Length, [Type, data] */
	memset(e, 0, sizeof(*e));
	if (rd_u8(&b, &e->code) || rd_u8(&b, &e->ident) ||
	    rd_u16(&b, &e->length))
		return SYNTAX;
	if (e->length != rd_left(&b) + 4)
		return SYNTAX;
	if (e->code == 1 || e->code == 2) { /* Request / Response */
		if (rd_u8(&b, &e->type))
			return SYNTAX;
	} else if (e->code != 3 && e->code != 4) { /* Success / Failure */
		return SYNTAX;
	}
	e->len = rd_left(&b);
	return rd_ptr(&b, e->len, &e->data) ? SYNTAX : 0;
}

/* RFC 7383 §2.5: Fragment Number, Total Fragments, then IV/data/ICV. */
static int skf_check(struct rd b)
{
	uint16_t num, total;

	if (rd_u16(&b, &num) || rd_u16(&b, &total))
		return SYNTAX;
	return (num == 0 || total == 0 || num > total) ? SYNTAX : 0;
}

int ikev2_check_body(uint8_t type, struct rd body)
{
	union {
		struct ikev2_ke ke;
		struct ikev2_id id;
		struct ikev2_cert cert;
		struct ikev2_auth auth;
		struct ikev2_nonce nonce;
		struct ikev2_notify n;
		struct ikev2_delete d;
		struct ikev2_vendor v;
		struct ikev2_ts_list ts;
		struct ikev2_cp cp;
		struct ikev2_eap eap;
	} u;

	switch (type) {
	case IKEV2_PL_SA:
		return sa_decode(body, NULL);
	case IKEV2_PL_KE:
		return ke_decode(body, &u.ke);
	case IKEV2_PL_IDi:
	case IKEV2_PL_IDr:
		return id_decode(body, &u.id);
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		return cert_decode(body, &u.cert);
	case IKEV2_PL_AUTH:
		return auth_decode(body, &u.auth);
	case IKEV2_PL_NONCE:
		return nonce_decode(body, &u.nonce);
	case IKEV2_PL_N:
		return notify_decode(body, &u.n);
	case IKEV2_PL_D:
		return delete_decode(body, &u.d);
	case IKEV2_PL_V:
		return vendor_decode(body, &u.v);
	case IKEV2_PL_TSi:
	case IKEV2_PL_TSr:
		return ts_decode(body, &u.ts);
	case IKEV2_PL_CP:
		return cp_decode(body, &u.cp);
	case IKEV2_PL_EAP:
		return eap_decode(body, &u.eap);
	case IKEV2_PL_SKF:
		return skf_check(body);
	case IKEV2_PL_SK:
		return 0; /* checked when opened (sk.c) */
	}
	return 0;
}

/* ---- public decoders ---- */

#define GET(fn, ptype_ok, dec)                                                 \
	int fn                                                                 \
	{                                                                      \
		if (!pl || !(ptype_ok))                                        \
			return SYNTAX;                                         \
		return dec;                                                    \
	}

GET(ikev2_get_sa(const struct ikev2_pl *pl, struct ikev2_sa *out),
    pl->type == IKEV2_PL_SA, sa_decode(pl->body, out))
GET(ikev2_get_ke(const struct ikev2_pl *pl, struct ikev2_ke *out),
    pl->type == IKEV2_PL_KE, ke_decode(pl->body, out))
GET(ikev2_get_id(const struct ikev2_pl *pl, struct ikev2_id *out),
    pl->type == IKEV2_PL_IDi || pl->type == IKEV2_PL_IDr,
    id_decode(pl->body, out))
GET(ikev2_get_cert(const struct ikev2_pl *pl, struct ikev2_cert *out),
    pl->type == IKEV2_PL_CERT || pl->type == IKEV2_PL_CERTREQ,
    cert_decode(pl->body, out))
GET(ikev2_get_auth(const struct ikev2_pl *pl, struct ikev2_auth *out),
    pl->type == IKEV2_PL_AUTH, auth_decode(pl->body, out))
GET(ikev2_get_nonce(const struct ikev2_pl *pl, struct ikev2_nonce *out),
    pl->type == IKEV2_PL_NONCE, nonce_decode(pl->body, out))
GET(ikev2_get_notify(const struct ikev2_pl *pl, struct ikev2_notify *out),
    pl->type == IKEV2_PL_N, notify_decode(pl->body, out))
GET(ikev2_get_delete(const struct ikev2_pl *pl, struct ikev2_delete *out),
    pl->type == IKEV2_PL_D, delete_decode(pl->body, out))
GET(ikev2_get_vendor(const struct ikev2_pl *pl, struct ikev2_vendor *out),
    pl->type == IKEV2_PL_V, vendor_decode(pl->body, out))
GET(ikev2_get_ts(const struct ikev2_pl *pl, struct ikev2_ts_list *out),
    pl->type == IKEV2_PL_TSi || pl->type == IKEV2_PL_TSr,
    ts_decode(pl->body, out))
GET(ikev2_get_cp(const struct ikev2_pl *pl, struct ikev2_cp *out),
    pl->type == IKEV2_PL_CP, cp_decode(pl->body, out))
GET(ikev2_get_eap(const struct ikev2_pl *pl, struct ikev2_eap *out),
    pl->type == IKEV2_PL_EAP, eap_decode(pl->body, out))

/* ---- builders ---- */

int ikev2_put_sa(struct ikev2_wr *b, const struct ikev2_sa *sa)
{
	size_t st;

	if (!sa->nprop)
		return b->err = b->err ? b->err : -EINVAL;
	if (ikev2_pl_begin(b, IKEV2_PL_SA, false, &st))
		return b->err;
	for (unsigned i = 0; i < sa->nprop; i++) {
		const struct ikev2_proposal *p = &sa->prop[i];
		size_t poff = b->w.len;

		/* §3.3.1 */
		wr_u8(&b->w, i + 1 == sa->nprop ? 0 : 2);
		wr_u8(&b->w, 0);
		wr_u16(&b->w, 0); /* patched */
		wr_u8(&b->w, p->num);
		wr_u8(&b->w, p->proto);
		wr_u8(&b->w, p->spi_len);
		wr_u8(&b->w, p->nxf);
		wr_bytes(&b->w, p->spi, p->spi_len);
		for (unsigned j = 0; j < p->nxf; j++) {
			const struct ikev2_xform *x = &p->xf[j];

			/* §3.3.2, §3.3.5 (Key Length as TV) */
			wr_u8(&b->w, j + 1 == p->nxf ? 0 : 3);
			wr_u8(&b->w, 0);
			wr_u16(&b->w, x->keylen ? 12 : 8);
			wr_u8(&b->w, x->type);
			wr_u8(&b->w, 0);
			wr_u16(&b->w, x->id);
			if (x->keylen) {
				wr_u16(&b->w,
				       IKEV2_ATTR_TV | IKEV2_ATTR_KEY_LENGTH);
				wr_u16(&b->w, x->keylen);
			}
		}
		if (!wr_error(&b->w) && b->w.len - poff > 0xffff)
			return b->err = -EMSGSIZE;
		wr_patch_u16(&b->w, poff + 2, (uint16_t)(b->w.len - poff));
	}
	return ikev2_pl_end(b, st);
}

int ikev2_put_ke(struct ikev2_wr *b, uint16_t group, const uint8_t *data,
		 size_t len)
{
	size_t st;

	if (ikev2_pl_begin(b, IKEV2_PL_KE, false, &st))
		return b->err;
	wr_u16(&b->w, group);
	wr_u16(&b->w, 0);
	wr_bytes(&b->w, data, len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_id(struct ikev2_wr *b, uint8_t type, const struct ikev2_id *id)
{
	size_t st;

	if (type != IKEV2_PL_IDi && type != IKEV2_PL_IDr)
		return b->err = b->err ? b->err : -EINVAL;
	if (ikev2_pl_begin(b, type, false, &st))
		return b->err;
	wr_u8(&b->w, id->type);
	wr_zero(&b->w, 3);
	wr_bytes(&b->w, id->data, id->len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_cert(struct ikev2_wr *b, uint8_t type, const struct ikev2_cert *c)
{
	size_t st;

	if (type != IKEV2_PL_CERT && type != IKEV2_PL_CERTREQ)
		return b->err = b->err ? b->err : -EINVAL;
	if (ikev2_pl_begin(b, type, false, &st))
		return b->err;
	wr_u8(&b->w, c->encoding);
	wr_bytes(&b->w, c->data, c->len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_auth(struct ikev2_wr *b, uint8_t method, const uint8_t *data,
		   size_t len)
{
	size_t st;

	if (ikev2_pl_begin(b, IKEV2_PL_AUTH, false, &st))
		return b->err;
	wr_u8(&b->w, method);
	wr_zero(&b->w, 3);
	wr_bytes(&b->w, data, len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_nonce(struct ikev2_wr *b, const uint8_t *data, size_t len)
{
	return ikev2_put_raw(b, IKEV2_PL_NONCE, false, data, len);
}

int ikev2_put_notify(struct ikev2_wr *b, const struct ikev2_notify *n)
{
	size_t st;

	if (ikev2_pl_begin(b, IKEV2_PL_N, false, &st))
		return b->err;
	wr_u8(&b->w, n->proto);
	wr_u8(&b->w, n->spi_len);
	wr_u16(&b->w, n->type);
	wr_bytes(&b->w, n->spi, n->spi_len);
	wr_bytes(&b->w, n->data, n->len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_notify_simple(struct ikev2_wr *b, uint16_t type, const void *data,
			    size_t len)
{
	struct ikev2_notify n = {.type = type, .data = data, .len = len};
	return ikev2_put_notify(b, &n);
}

/* ---- IPCOMP_SUPPORTED (§2.22, §3.10.1) ---- */

int ikev2_get_ipcomp(const struct ikev2_notify *n, struct ikev2_ipcomp *out)
{
	struct rd r;

	/* §3.10: a notify about no particular SA has SPI Size 0 */
	if (n->type != IKEV2_N_IPCOMP_SUPPORTED || n->spi_len != 0)
		return SYNTAX;
	/* §3.10.1: CPI (2) and Transform ID (1), then attributes */
	r = rd_init(n->data, n->len);
	if (rd_u16(&r, &out->cpi) || rd_u8(&r, &out->xform))
		return SYNTAX;
	/* RFC 3173 §3.3: only 256-61439 are negotiated */
	if (out->cpi < IKEV2_CPI_MIN || out->cpi > IKEV2_CPI_MAX)
		return SYNTAX;
	return 0;
}

int ikev2_put_ipcomp(struct ikev2_wr *b, const struct ikev2_ipcomp *ic)
{
	uint8_t d[3] = {(uint8_t)(ic->cpi >> 8), (uint8_t)ic->cpi, ic->xform};

	return ikev2_put_notify_simple(b, IKEV2_N_IPCOMP_SUPPORTED, d,
				       sizeof(d));
}

bool ikev2_ipcomp_choose(const struct ike_msg *m, const uint8_t *accept,
			 size_t n_accept, struct ikev2_ipcomp *out,
			 unsigned *n_bad)
{
	bool found = false;

	if (n_bad)
		*n_bad = 0;
	for (size_t a = 0; a < n_accept && !found; a++) {
		for (int i = ikev2_msg_next(m, IKEV2_PL_N, -1); i >= 0;
		     i = ikev2_msg_next(m, IKEV2_PL_N, i)) {
			struct ikev2_notify n;
			struct ikev2_ipcomp ic;

			if (ikev2_get_notify(&m->pl[i], &n) != 0 ||
			    n.type != IKEV2_N_IPCOMP_SUPPORTED)
				continue;
			if (ikev2_get_ipcomp(&n, &ic) != 0) {
				if (n_bad && a == 0)
					(*n_bad)++;
				continue;
			}
			if (ic.xform == accept[a]) {
				*out = ic;
				found = true;
				break;
			}
		}
	}
	return found;
}

int ikev2_put_delete(struct ikev2_wr *b, const struct ikev2_delete *d)
{
	size_t st;

	if (ikev2_pl_begin(b, IKEV2_PL_D, false, &st))
		return b->err;
	wr_u8(&b->w, d->proto);
	wr_u8(&b->w, d->spi_len);
	wr_u16(&b->w, d->nspi);
	wr_bytes(&b->w, d->spis, (size_t)d->nspi * d->spi_len);
	return ikev2_pl_end(b, st);
}

int ikev2_put_vendor(struct ikev2_wr *b, const void *data, size_t len)
{
	return ikev2_put_raw(b, IKEV2_PL_V, false, data, len);
}

int ikev2_put_ts(struct ikev2_wr *b, uint8_t type,
		 const struct ikev2_ts_list *ts)
{
	size_t st;

	if ((type != IKEV2_PL_TSi && type != IKEV2_PL_TSr) || ts->n == 0 ||
	    ts->n > IKEV2_MAX_TS)
		return b->err = b->err ? b->err : -EINVAL;
	if (ikev2_pl_begin(b, type, false, &st))
		return b->err;
	wr_u8(&b->w, ts->n);
	wr_zero(&b->w, 3);
	for (unsigned i = 0; i < ts->n; i++) {
		const struct ikev2_ts *t = &ts->ts[i];
		size_t alen = t->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;

		/* §3.13.1 */
		wr_u8(&b->w, t->type);
		wr_u8(&b->w, t->proto);
		wr_u16(&b->w, (uint16_t)(8 + 2 * alen));
		wr_u16(&b->w, t->sport);
		wr_u16(&b->w, t->eport);
		wr_bytes(&b->w, t->start, alen);
		wr_bytes(&b->w, t->end, alen);
	}
	return ikev2_pl_end(b, st);
}

int ikev2_put_cp(struct ikev2_wr *b, const struct ikev2_cp *cp)
{
	size_t st;

	if (ikev2_pl_begin(b, IKEV2_PL_CP, false, &st))
		return b->err;
	wr_u8(&b->w, cp->type);
	wr_zero(&b->w, 3);
	for (unsigned i = 0; i < cp->nattr; i++) {
		wr_u16(&b->w, cp->attr[i].type & 0x7fff);
		wr_u16(&b->w, cp->attr[i].len);
		wr_bytes(&b->w, cp->attr[i].data, cp->attr[i].len);
	}
	return ikev2_pl_end(b, st);
}
