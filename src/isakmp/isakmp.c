/*
 * isakmp.c - IKEv1 Quick Mode payload chain (RFC 2408 §3.2-§3.15, IPsec
 * DOI RFC 2407 §4.4-§4.6): parser through the rd cursor and builder on
 * a struct wr.  See isakmp.h.
 */
#include "isakmp/isakmp.h"
#include "isakmp/isakmp_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/rd.h"
#include "lib/wr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 2408 §3.2: generic payload header, 4 octets. */
static int rd_generic(struct rd *r, uint8_t *next, struct rd *body)
{
	struct rd save = *r;
	uint8_t res;
	uint16_t len;

	if (rd_u8(r, next) < 0 || rd_u8(r, &res) < 0 || rd_u16(r, &len) < 0 ||
	    len < 4 || rd_sub(r, (size_t)len - 4, body) < 0) {
		*r = save;
		return -EBADMSG;
	}
	return 0;
}

/* RFC 2408 §3.3: TV (AF=1) or TLV attribute.  Values longer than four
 * octets are kept only if they fit in 32 bits (life durations). */
static int rd_attr(struct rd *r, uint16_t *type, uint32_t *val)
{
	uint16_t t, v16;

	if (rd_u16(r, &t) < 0 || rd_u16(r, &v16) < 0)
		return -EBADMSG;
	*type = t & 0x7fff;
	if (t & 0x8000) {
		*val = v16;
		return 0;
	}
	const uint8_t *vp;
	if (v16 == 0 || rd_ptr(r, v16, &vp) < 0)
		return -EBADMSG;
	uint64_t acc = 0;
	for (size_t i = 0; i < v16; i++) {
		if (acc >> 24)
			acc = UINT32_MAX + 1ULL; /* saturate below */
		else
			acc = acc << 8 | vp[i];
	}
	*val = acc > UINT32_MAX ? UINT32_MAX : (uint32_t)acc;
	return 0;
}

/* Life type / duration pairs, the same in Phase 1 (RFC 2409 App. A)
 * and in the IPsec DOI (RFC 2407 §4.5): a duration applies to the life
 * type given just before it, and is an error without one. */
static void attr_life_type(struct isakmp_xform *x, uint32_t val,
			   uint16_t *last_life)
{
	if (val != ISAKMP_LIFE_SECONDS && val != ISAKMP_LIFE_KILOBYTES)
		x->unknown_attr = true;
	*last_life = (uint16_t)val;
}

static int attr_life_duration(struct isakmp_xform *x, uint32_t val,
			      uint16_t last_life)
{
	if (last_life == ISAKMP_LIFE_SECONDS)
		x->life_sec = val;
	else if (last_life == ISAKMP_LIFE_KILOBYTES)
		x->life_kb = val;
	else
		return -EBADMSG;
	return 0;
}

/* A key length in bits: never 0, and it must fit the 16-bit field. */
static int attr_key_length(struct isakmp_xform *x, uint32_t val)
{
	if (val == 0 || val > 0xffff)
		return -EBADMSG;
	x->keylen = (uint16_t)val;
	return 0;
}

/* RFC 2408 §3.5 transform body with RFC 2407 §4.5 attributes. */
static int parse_ipsec_attr(struct isakmp_xform *x, uint16_t type, uint32_t val,
			    uint16_t *last_life)
{
	switch (type) {
	case ISAKMP_ATTR_LIFE_TYPE:
		attr_life_type(x, val, last_life);
		break;
	case ISAKMP_ATTR_LIFE_DURATION:
		return attr_life_duration(x, val, *last_life);
	case ISAKMP_ATTR_GROUP_DESC:
		x->group = (uint16_t)val;
		break;
	case ISAKMP_ATTR_ENCAP_MODE:
		x->encap = (uint16_t)val;
		break;
	case ISAKMP_ATTR_AUTH_ALG:
		x->auth = (uint16_t)val;
		break;
	case ISAKMP_ATTR_KEY_LENGTH:
		return attr_key_length(x, val);
	default:
		x->unknown_attr = true;
		break;
	}
	return 0;
}

/* RFC 2409 Appendix A: Phase 1 attributes.  Private groups (group type,
 * prime, generators, curves) and a PRF are not supported: the transform
 * is then not chosen. */
static int parse_p1_attr(struct isakmp_xform *x, uint16_t type, uint32_t val,
			 uint16_t *last_life)
{
	switch (type) {
	case ISAKMP_P1_ATTR_ENCR:
		x->encr = (uint16_t)val;
		break;
	case ISAKMP_P1_ATTR_HASH:
		x->hash = (uint16_t)val;
		break;
	case ISAKMP_P1_ATTR_AUTH:
		x->auth_method = (uint16_t)val;
		break;
	case ISAKMP_P1_ATTR_GROUP_DESC:
		x->group = (uint16_t)val;
		break;
	case ISAKMP_P1_ATTR_LIFE_TYPE:
		attr_life_type(x, val, last_life);
		break;
	case ISAKMP_P1_ATTR_LIFE_DURATION:
		return attr_life_duration(x, val, *last_life);
	case ISAKMP_P1_ATTR_KEY_LENGTH:
		return attr_key_length(x, val);
	default:
		x->unknown_attr = true;
		break;
	}
	return 0;
}

static int parse_xform(struct rd b, uint8_t proto, struct isakmp_xform *x)
{
	uint16_t res, type, last_life = 0;
	uint32_t val;

	if (rd_u8(&b, &x->num) < 0 || rd_u8(&b, &x->id) < 0 ||
	    rd_u16(&b, &res) < 0)
		return -EBADMSG;
	while (!rd_empty(&b)) {
		int err;

		if (rd_attr(&b, &type, &val) < 0)
			return -EBADMSG;
		if (proto == ISAKMP_PROTO_ISAKMP)
			err = parse_p1_attr(x, type, val, &last_life);
		else
			err = parse_ipsec_attr(x, type, val, &last_life);
		if (err)
			return err;
	}
	return 0;
}

/* RFC 2408 §3.4 proposal body; its transforms are a chain of T
 * payloads whose count must match #Transforms. */
static int parse_prop(struct rd b, struct isakmp_prop *p)
{
	uint8_t ntrans, next = ISAKMP_NP_T;
	struct rd tb;
	int err;

	if (rd_u8(&b, &p->num) < 0 || rd_u8(&b, &p->proto) < 0 ||
	    rd_u8(&b, &p->spi_size) < 0 || rd_u8(&b, &ntrans) < 0)
		return -EBADMSG;
	if (p->spi_size > ISAKMP_MAX_SPI ||
	    rd_bytes(&b, p->spi, p->spi_size) < 0)
		return -EBADMSG;
	if (ntrans == 0)
		return -EBADMSG;
	if (ntrans > ISAKMP_MAX_XFORMS)
		return -E2BIG;
	while (!rd_empty(&b)) {
		if (next != ISAKMP_NP_T || p->n_xforms >= ntrans)
			return -EBADMSG;
		if (rd_generic(&b, &next, &tb) < 0)
			return -EBADMSG;
		if (next != ISAKMP_NP_T && next != ISAKMP_NP_NONE)
			return -EBADMSG;
		err = parse_xform(tb, p->proto, &p->x[p->n_xforms]);
		if (err)
			return err;
		p->n_xforms++;
	}
	if (next != ISAKMP_NP_NONE || p->n_xforms != ntrans)
		return -EBADMSG;
	return 0;
}

/* RFC 2408 §3.4 + RFC 2407 §4.6.1: SA with IPsec DOI, SIT_IDENTITY_ONLY. */
int isakmp_parse_sa(struct rd b, struct isakmp_sa *sa)
{
	uint8_t next = ISAKMP_NP_P;
	struct rd pb;
	int err;

	if (rd_u32(&b, &sa->doi) < 0 || rd_u32(&b, &sa->sit) < 0)
		return -EBADMSG;
	if (sa->doi != ISAKMP_DOI_IPSEC)
		return -ENOTSUP;
	/* §4.6.1: only SIT_IDENTITY_ONLY has no labeled-domain fields */
	if (sa->sit != ISAKMP_SIT_IDENTITY_ONLY)
		return -ENOTSUP;
	while (!rd_empty(&b)) {
		if (next != ISAKMP_NP_P)
			return -EBADMSG;
		if (sa->n_props >= ISAKMP_MAX_PROPS)
			return -E2BIG;
		if (rd_generic(&b, &next, &pb) < 0)
			return -EBADMSG;
		if (next != ISAKMP_NP_P && next != ISAKMP_NP_NONE)
			return -EBADMSG;
		err = parse_prop(pb, &sa->p[sa->n_props]);
		if (err)
			return err;
		/* RFC 2408 §3.4: proposal numbers are non-decreasing */
		if (sa->n_props &&
		    sa->p[sa->n_props].num < sa->p[sa->n_props - 1].num)
			return -EBADMSG;
		sa->n_props++;
	}
	if (sa->n_props == 0 || next != ISAKMP_NP_NONE)
		return -EBADMSG;
	return 0;
}

/* RFC 2407 §4.6.2 identification payload body. */
int isakmp_parse_id(struct rd b, struct isakmp_id *id)
{
	size_t want;

	if (rd_u8(&b, &id->type) < 0 || rd_u8(&b, &id->proto) < 0 ||
	    rd_u16(&b, &id->port) < 0)
		return -EBADMSG;
	switch (id->type) {
	case ISAKMP_ID_IPV4_ADDR:
		want = 4;
		break;
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
		want = 8;
		break;
	case ISAKMP_ID_IPV6_ADDR:
		want = 16;
		break;
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
		want = 32;
		break;
	default:
		return -ENOTSUP;
	}
	if (rd_left(&b) != want)
		return -EBADMSG;
	id->len = (uint8_t)want;
	return rd_bytes(&b, id->data, want);
}

/* RFC 2408 §3.14 notification payload body. */
int isakmp_parse_notify(struct rd b, struct isakmp_notify *n)
{
	if (rd_u32(&b, &n->doi) < 0 || rd_u8(&b, &n->proto) < 0 ||
	    rd_u8(&b, &n->spi_size) < 0 || rd_u16(&b, &n->type) < 0)
		return -EBADMSG;
	if (n->spi_size > ISAKMP_MAX_SPI ||
	    rd_bytes(&b, n->spi, n->spi_size) < 0)
		return -EBADMSG;
	n->data_len = rd_left(&b);
	return rd_ptr(&b, n->data_len, &n->data);
}

/* RFC 2408 §3.15 delete payload body: exactly #SPIs * SPI size.  The
 * DOI is 1, or 0 for an ISAKMP SA when doi0 (§3.15: "For ISAKMP, this
 * value is zero"; KINK deletes only IPsec SAs). */
int isakmp_parse_delete(struct rd b, struct isakmp_delete *d, bool doi0)
{
	if (rd_u32(&b, &d->doi) < 0 || rd_u8(&b, &d->proto) < 0 ||
	    rd_u8(&b, &d->spi_size) < 0 || rd_u16(&b, &d->n_spi) < 0)
		return -EBADMSG;
	if (d->doi != ISAKMP_DOI_IPSEC && !(doi0 && d->doi == 0))
		return -ENOTSUP;
	if (d->spi_size == 0 || d->spi_size > ISAKMP_MAX_SPI || d->n_spi == 0 ||
	    rd_left(&b) != (size_t)d->n_spi * d->spi_size)
		return -EBADMSG;
	return rd_ptr(&b, rd_left(&b), &d->spis);
}

int isakmp_qm_parse(uint8_t first, const uint8_t *p, size_t len,
		    struct isakmp_qm *out)
{
	struct rd r = rd_init(p, len), b;
	uint8_t np = first, next;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (np != ISAKMP_NP_NONE) {
		if (rd_generic(&r, &next, &b) < 0)
			return -EBADMSG;
		switch (np) {
		case ISAKMP_NP_SA:
			if (out->has_sa)
				return -EBADMSG;
			out->has_sa = true;
			err = isakmp_parse_sa(b, &out->sa);
			break;
		case ISAKMP_NP_NONCE:
			/* RFC 2409 §5: 8 to 256 octets */
			if (out->nonce || rd_left(&b) < ISAKMP_NONCE_MIN ||
			    rd_left(&b) > ISAKMP_NONCE_MAX)
				return -EBADMSG;
			out->nonce_len = rd_left(&b);
			err = rd_ptr(&b, out->nonce_len, &out->nonce);
			break;
		case ISAKMP_NP_KE:
			if (out->ke || rd_empty(&b))
				return -EBADMSG;
			out->ke_len = rd_left(&b);
			err = rd_ptr(&b, out->ke_len, &out->ke);
			break;
		case ISAKMP_NP_ID:
			/* RFC 2409 §5.5: IDci then IDcr, both or none */
			if (out->n_id >= 2)
				return -EBADMSG;
			err = isakmp_parse_id(b, &out->id[out->n_id++]);
			break;
		case ISAKMP_NP_N:
			if (out->n_notify >= ISAKMP_MAX_NOTIFY)
				return -E2BIG;
			err = isakmp_parse_notify(
			    b, &out->notify[out->n_notify++]);
			break;
		case ISAKMP_NP_D:
			if (out->n_delete >= ISAKMP_MAX_DELETE)
				return -E2BIG;
			err = isakmp_parse_delete(b, &out->del[out->n_delete++],
						  false);
			break;
		case ISAKMP_NP_VID:
			break; /* informational only */
		default:
			/* HASH, certificates, ... are not part of KINK's
			 * Quick Mode (RFC 4430 §4.2.1) */
			return -ENOTSUP;
		}
		if (err)
			return err;
		np = next;
	}
	if (out->n_id == 1)
		return -EBADMSG;
	/* RFC 2408 §3.1: the chain ends the message body */
	if (!rd_empty(&r))
		return -EBADMSG;
	return 0;
}

/* ---- builder ---- */

struct chain {
	struct wr *w;
	size_t prev_next; /* offset of the previous payload's next field */
	bool have_prev;
	uint8_t first;
};

static size_t pl_begin(struct chain *c, uint8_t type)
{
	size_t off = 0;

	if (c->have_prev)
		wr_patch_u8(c->w, c->prev_next, type);
	else
		c->first = type;
	c->have_prev = true;
	wr_reserve(c->w, 4, &off);
	c->prev_next = off;
	return off;
}

void isakmp_pl_end(struct wr *w, size_t off)
{
	size_t n = w->len - off;

	if (n > 0xffff && !w->err)
		w->err = -EMSGSIZE;
	wr_patch_u16(w, off + 2, (uint16_t)n);
}

static void put_attr(struct wr *w, uint16_t type, uint32_t val)
{
	if (val <= 0xffff) {
		wr_u16(w, 0x8000 | type);
		wr_u16(w, (uint16_t)val);
	} else {
		wr_u16(w, type);
		wr_u16(w, 4);
		wr_u32(w, val);
	}
}

/* RFC 2407 §4.6.3.1: the data of RESPONDER-LIFETIME, SA Life Type /
 * SA Life Duration pairs as in a transform (§4.5). */
int isakmp_lifetime_encode(uint32_t life_sec, uint32_t life_kb, uint8_t **out,
			   size_t *len)
{
	struct wr w;

	wr_init(&w, 64);
	if (life_sec) {
		put_attr(&w, ISAKMP_ATTR_LIFE_TYPE, ISAKMP_LIFE_SECONDS);
		put_attr(&w, ISAKMP_ATTR_LIFE_DURATION, life_sec);
	}
	if (life_kb) {
		put_attr(&w, ISAKMP_ATTR_LIFE_TYPE, ISAKMP_LIFE_KILOBYTES);
		put_attr(&w, ISAKMP_ATTR_LIFE_DURATION, life_kb);
	}
	if (wr_error(&w)) {
		wr_free(&w);
		return -ENOMEM;
	}
	*out = wr_steal(&w, len);
	return *out ? 0 : -ENOMEM;
}

int isakmp_lifetime_decode(const uint8_t *p, size_t len, uint32_t *life_sec,
			   uint32_t *life_kb)
{
	struct rd r = rd_init(p, len);
	struct isakmp_xform x;
	uint16_t type, last_life = 0;
	uint32_t val;

	memset(&x, 0, sizeof(x));
	while (!rd_empty(&r)) {
		if (rd_attr(&r, &type, &val) < 0)
			return -EBADMSG;
		if (type == ISAKMP_ATTR_LIFE_TYPE)
			attr_life_type(&x, val, &last_life);
		else if (type != ISAKMP_ATTR_LIFE_DURATION ||
			 attr_life_duration(&x, val, last_life) < 0)
			return -EBADMSG; /* only lifetimes belong here */
	}
	if (x.unknown_attr)
		return -EBADMSG;
	*life_sec = x.life_sec;
	*life_kb = x.life_kb;
	return 0;
}

/* RFC 2409 Appendix A attributes, in the order racoon and strongSwan
 * send them. */
static void put_p1_attrs(struct wr *w, const struct isakmp_xform *x)
{
	if (x->encr)
		put_attr(w, ISAKMP_P1_ATTR_ENCR, x->encr);
	if (x->keylen)
		put_attr(w, ISAKMP_P1_ATTR_KEY_LENGTH, x->keylen);
	if (x->hash)
		put_attr(w, ISAKMP_P1_ATTR_HASH, x->hash);
	if (x->group)
		put_attr(w, ISAKMP_P1_ATTR_GROUP_DESC, x->group);
	if (x->auth_method)
		put_attr(w, ISAKMP_P1_ATTR_AUTH, x->auth_method);
	if (x->life_sec) {
		put_attr(w, ISAKMP_P1_ATTR_LIFE_TYPE, ISAKMP_LIFE_SECONDS);
		put_attr(w, ISAKMP_P1_ATTR_LIFE_DURATION, x->life_sec);
	}
	if (x->life_kb) {
		put_attr(w, ISAKMP_P1_ATTR_LIFE_TYPE, ISAKMP_LIFE_KILOBYTES);
		put_attr(w, ISAKMP_P1_ATTR_LIFE_DURATION, x->life_kb);
	}
}

static void put_xform(struct wr *w, uint8_t proto, const struct isakmp_xform *x,
		      bool last)
{
	size_t off = 0;

	wr_reserve(w, 4, &off);
	wr_patch_u8(w, off, last ? ISAKMP_NP_NONE : ISAKMP_NP_T);
	wr_u8(w, x->num);
	wr_u8(w, x->id);
	wr_u16(w, 0);
	if (proto == ISAKMP_PROTO_ISAKMP) {
		put_p1_attrs(w, x);
		isakmp_pl_end(w, off);
		return;
	}
	if (x->life_sec) {
		put_attr(w, ISAKMP_ATTR_LIFE_TYPE, ISAKMP_LIFE_SECONDS);
		put_attr(w, ISAKMP_ATTR_LIFE_DURATION, x->life_sec);
	}
	if (x->life_kb) {
		put_attr(w, ISAKMP_ATTR_LIFE_TYPE, ISAKMP_LIFE_KILOBYTES);
		put_attr(w, ISAKMP_ATTR_LIFE_DURATION, x->life_kb);
	}
	if (x->group)
		put_attr(w, ISAKMP_ATTR_GROUP_DESC, x->group);
	if (x->encap)
		put_attr(w, ISAKMP_ATTR_ENCAP_MODE, x->encap);
	if (x->auth)
		put_attr(w, ISAKMP_ATTR_AUTH_ALG, x->auth);
	if (x->keylen)
		put_attr(w, ISAKMP_ATTR_KEY_LENGTH, x->keylen);
	isakmp_pl_end(w, off);
}

void isakmp_write_sa(struct wr *w, const struct isakmp_sa *sa)
{
	wr_u32(w, sa->doi ? sa->doi : ISAKMP_DOI_IPSEC);
	wr_u32(w, sa->sit ? sa->sit : ISAKMP_SIT_IDENTITY_ONLY);
	for (size_t i = 0; i < sa->n_props && i < ISAKMP_MAX_PROPS; i++) {
		const struct isakmp_prop *p = &sa->p[i];
		size_t off = 0;
		uint8_t n = p->n_xforms;

		if (n > ISAKMP_MAX_XFORMS || p->spi_size > ISAKMP_MAX_SPI) {
			if (!w->err)
				w->err = -EINVAL;
			return;
		}
		wr_reserve(w, 4, &off);
		wr_patch_u8(w, off,
			    i + 1 < sa->n_props ? ISAKMP_NP_P : ISAKMP_NP_NONE);
		wr_u8(w, p->num);
		wr_u8(w, p->proto);
		wr_u8(w, p->spi_size);
		wr_u8(w, n);
		wr_bytes(w, p->spi, p->spi_size);
		for (uint8_t j = 0; j < n; j++)
			put_xform(w, p->proto, &p->x[j], j + 1 == n);
		isakmp_pl_end(w, off);
	}
}

int isakmp_qm_build(struct wr *w, const struct isakmp_qm *qm, uint8_t *first)
{
	struct chain c = {.w = w};
	size_t off;

	if (qm->has_sa) {
		off = pl_begin(&c, ISAKMP_NP_SA);
		isakmp_write_sa(w, &qm->sa);
		isakmp_pl_end(w, off);
	}
	if (qm->nonce) {
		off = pl_begin(&c, ISAKMP_NP_NONCE);
		wr_bytes(w, qm->nonce, qm->nonce_len);
		isakmp_pl_end(w, off);
	}
	if (qm->ke) {
		off = pl_begin(&c, ISAKMP_NP_KE);
		wr_bytes(w, qm->ke, qm->ke_len);
		isakmp_pl_end(w, off);
	}
	for (size_t i = 0; i < qm->n_id && i < 2; i++) {
		const struct isakmp_id *id = &qm->id[i];
		off = pl_begin(&c, ISAKMP_NP_ID);
		wr_u8(w, id->type);
		wr_u8(w, id->proto);
		wr_u16(w, id->port);
		wr_bytes(w, id->data, id->len <= 32 ? id->len : 32);
		isakmp_pl_end(w, off);
	}
	for (size_t i = 0; i < qm->n_notify && i < ISAKMP_MAX_NOTIFY; i++) {
		const struct isakmp_notify *n = &qm->notify[i];
		off = pl_begin(&c, ISAKMP_NP_N);
		wr_u32(w, n->doi ? n->doi : ISAKMP_DOI_IPSEC);
		wr_u8(w, n->proto);
		wr_u8(w, n->spi_size);
		wr_u16(w, n->type);
		wr_bytes(w, n->spi,
			 n->spi_size <= ISAKMP_MAX_SPI ? n->spi_size : 0);
		wr_bytes(w, n->data, n->data_len);
		isakmp_pl_end(w, off);
	}
	for (size_t i = 0; i < qm->n_delete && i < ISAKMP_MAX_DELETE; i++) {
		const struct isakmp_delete *d = &qm->del[i];
		off = pl_begin(&c, ISAKMP_NP_D);
		wr_u32(w, d->doi ? d->doi : ISAKMP_DOI_IPSEC);
		wr_u8(w, d->proto);
		wr_u8(w, d->spi_size);
		wr_u16(w, d->n_spi);
		wr_bytes(w, d->spis, (size_t)d->n_spi * d->spi_size);
		isakmp_pl_end(w, off);
	}
	*first = c.have_prev ? c.first : ISAKMP_NP_NONE;
	return wr_error(w);
}

int isakmp_id_from_prefix(struct isakmp_id *id, int family, const void *addr,
			  unsigned plen, uint8_t proto, uint16_t port)
{
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	const uint8_t *a = addr;

	if (!alen || plen > alen * 8)
		return -EINVAL;
	memset(id, 0, sizeof(*id));
	id->proto = proto;
	id->port = port;
	memcpy(id->data, a, alen);
	if (plen == alen * 8) {
		id->type = family == AF_INET ? ISAKMP_ID_IPV4_ADDR
					     : ISAKMP_ID_IPV6_ADDR;
		id->len = (uint8_t)alen;
		return 0;
	}
	id->type = family == AF_INET ? ISAKMP_ID_IPV4_ADDR_SUBNET
				     : ISAKMP_ID_IPV6_ADDR_SUBNET;
	id->len = (uint8_t)(2 * alen);
	for (size_t i = 0; i < alen; i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)i * 8 : 0;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		id->data[i] &= m;
		id->data[alen + i] = m;
	}
	return 0;
}

const char *isakmp_np_name(uint8_t np)
{
	static const char *const names[] = {
	    "NONE", "SA",   "P",   "T",	    "KE", "ID", "CERT",
	    "CR",   "HASH", "SIG", "NONCE", "N",  "D",	"VID"};

	if (np == ISAKMP_NP_NATD)
		return "NAT-D";
	if (np == ISAKMP_NP_NATOA)
		return "NAT-OA";
	return np < NELEM(names) ? names[np] : "?";
}
