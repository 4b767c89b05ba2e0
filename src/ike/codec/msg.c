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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pl_desc {
	uint8_t type;
	uint16_t min_len; /* body octets after the generic header */
};

/*
 * The payload table.  Minimum body lengths: fixed parts of §3.3-§3.16;
 * Nonce §3.9 (16..256 octets); SKF RFC 7383 §2.5 (4 octets of fragment
 * numbers).  The full syntax of each body is checked by
 * ikev2_check_body() (payload.c); where each may appear and how often is
 * the exchange rules' business (below).
 */
static const struct pl_desc pl_table[] = {
    {IKEV2_PL_SA, 8},	{IKEV2_PL_KE, 4},
    {IKEV2_PL_IDi, 4},	{IKEV2_PL_IDr, 4},
    {IKEV2_PL_CERT, 1}, {IKEV2_PL_CERTREQ, 1},
    {IKEV2_PL_AUTH, 4}, {IKEV2_PL_NONCE, IKEV2_NONCE_MIN},
    {IKEV2_PL_N, 4},	{IKEV2_PL_D, 4},
    {IKEV2_PL_V, 0},	{IKEV2_PL_TSi, 4},
    {IKEV2_PL_TSr, 4},	{IKEV2_PL_SK, 0},
    {IKEV2_PL_CP, 4},	{IKEV2_PL_EAP, 4},
    {IKEV2_PL_SKF, 4},
};

static const struct pl_desc *pl_lookup(uint8_t type)
{
	for (size_t i = 0; i < NELEM(pl_table); i++)
		if (pl_table[i].type == type)
			return &pl_table[i];
	return NULL;
}

/*
 * Exchange payload rules (after strongSwan's encoding/message.c): for
 * each exchange, direction and chain (outer, or inside SK), the minimum
 * and maximum count of every payload type that may appear; a type not
 * listed may not appear.  RFC 7296 §1.2-§1.5 give the payloads of each
 * exchange.  Minimums are waived in a response that carries an error
 * notify, or a COOKIE in IKE_SA_INIT (§1.2, §2.6, §2.21: such a response
 * carries just the notify).  G_CHILD payloads come all together or not
 * at all (§1.2 IKE_AUTH SAi2/TSi/TSr, §1.3.1 TSi/TSr: absent for an IKE
 * SA rekey, §1.3.2).  In an IKE_AUTH request (child_required) the group
 * may be absent only when both peers announced childless IKE SAs
 * (RFC 6023 §3: m->childless_ok, set by the caller from IKE_SA_INIT);
 * the response's group follows the request's, a context check of the
 * initiator (ike_auth.c).
 *
 * What the table cannot see stays with the exchange as a context check:
 * KE in CREATE_CHILD_SA (required for an IKE rekey, and by the
 * initiator exactly when it asked for PFS), TSi/TSr required when the
 * CREATE_CHILD_SA proposal is ESP/AH, REKEY_SA's SPI, AUTH in an
 * IKE_AUTH response that also carries an error notify.
 */
#define MANY	255
#define G_CHILD 0x01

struct pl_rule {
	uint8_t type;
	uint8_t min, max;
	uint8_t group;
};

struct exch_rule {
	uint8_t exch;
	bool response;
	bool inner; /* inside SK */
	const struct pl_rule *pl;
	size_t npl;
	bool child_required; /* G_CHILD needed unless m->childless_ok */
};

/* §1.2: HDR, SAi1, KEi, Ni [, N(...)] / HDR, SAr1, KEr, Nr, [CERTREQ] */
static const struct pl_rule init_rules[] = {
    {IKEV2_PL_SA, 1, 1, 0},    {IKEV2_PL_KE, 1, 1, 0},
    {IKEV2_PL_NONCE, 1, 1, 0}, {IKEV2_PL_N, 0, MANY, 0},
    {IKEV2_PL_V, 0, MANY, 0},  {IKEV2_PL_CERTREQ, 0, MANY, 0},
};

/* §3.14, RFC 7383: the outer chain of a protected message is SK (or an
 * SKF fragment), possibly after notifies. */
static const struct pl_rule outer_rules[] = {
    {IKEV2_PL_SK, 0, 1, 0},
    {IKEV2_PL_SKF, 0, 1, 0},
    {IKEV2_PL_N, 0, MANY, 0},
};

/* §1.2: SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr}, and
 * CP (§2.19), EAP (§2.16). */
static const struct pl_rule auth_req_rules[] = {
    {IKEV2_PL_IDi, 1, 1, 0},	    {IKEV2_PL_AUTH, 1, 1, 0},
    {IKEV2_PL_IDr, 0, 1, 0},	    {IKEV2_PL_CERT, 0, MANY, 0},
    {IKEV2_PL_CERTREQ, 0, MANY, 0}, {IKEV2_PL_SA, 0, 1, G_CHILD},
    {IKEV2_PL_TSi, 0, 1, G_CHILD},  {IKEV2_PL_TSr, 0, 1, G_CHILD},
    {IKEV2_PL_CP, 0, 1, 0},	    {IKEV2_PL_EAP, 0, 1, 0},
    {IKEV2_PL_N, 0, MANY, 0},	    {IKEV2_PL_V, 0, MANY, 0},
};

/* §1.2: SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr}. */
static const struct pl_rule auth_resp_rules[] = {
    {IKEV2_PL_IDr, 1, 1, 0},	    {IKEV2_PL_AUTH, 1, 1, 0},
    {IKEV2_PL_IDi, 0, 1, 0},	    {IKEV2_PL_CERT, 0, MANY, 0},
    {IKEV2_PL_CERTREQ, 0, MANY, 0}, {IKEV2_PL_SA, 0, 1, G_CHILD},
    {IKEV2_PL_TSi, 0, 1, G_CHILD},  {IKEV2_PL_TSr, 0, 1, G_CHILD},
    {IKEV2_PL_CP, 0, 1, 0},	    {IKEV2_PL_EAP, 0, 1, 0},
    {IKEV2_PL_N, 0, MANY, 0},	    {IKEV2_PL_V, 0, MANY, 0},
};

/* §1.3: SK {[N(REKEY_SA)], SA, Ni, [KEi], [TSi, TSr]} (and the same
 * shape in the response). */
static const struct pl_rule child_rules[] = {
    {IKEV2_PL_SA, 1, 1, 0},	   {IKEV2_PL_NONCE, 1, 1, 0},
    {IKEV2_PL_KE, 0, 1, 0},	   {IKEV2_PL_TSi, 0, 1, G_CHILD},
    {IKEV2_PL_TSr, 0, 1, G_CHILD}, {IKEV2_PL_N, 0, MANY, 0},
    {IKEV2_PL_V, 0, MANY, 0},
};

/* §1.4: SK {[N,] [D,] [CP,] ...}; all optional (an empty one is a
 * liveness check, §2.4). */
static const struct pl_rule info_rules[] = {
    {IKEV2_PL_N, 0, MANY, 0},
    {IKEV2_PL_D, 0, MANY, 0},
    {IKEV2_PL_CP, 0, 1, 0},
    {IKEV2_PL_V, 0, MANY, 0},
};

#define RULE(e, resp, in, t)                                                   \
	{                                                                      \
		e, resp, in, t, NELEM(t), false                                \
	}
/* RFC 7296 §1.2 / RFC 6023 §3: the CHILD SA group is required unless
 * childless IKE SAs were negotiated. */
#define RULE_CHILD(e, resp, in, t)                                             \
	{                                                                      \
		e, resp, in, t, NELEM(t), true                                 \
	}
static const struct exch_rule exch_rules[] = {
    RULE(IKEV2_EXCH_IKE_SA_INIT, false, false, init_rules),
    RULE(IKEV2_EXCH_IKE_SA_INIT, true, false, init_rules),
    RULE(IKEV2_EXCH_IKE_AUTH, false, false, outer_rules),
    RULE(IKEV2_EXCH_IKE_AUTH, true, false, outer_rules),
    RULE_CHILD(IKEV2_EXCH_IKE_AUTH, false, true, auth_req_rules),
    RULE(IKEV2_EXCH_IKE_AUTH, true, true, auth_resp_rules),
    RULE(IKEV2_EXCH_CREATE_CHILD_SA, false, false, outer_rules),
    RULE(IKEV2_EXCH_CREATE_CHILD_SA, true, false, outer_rules),
    RULE(IKEV2_EXCH_CREATE_CHILD_SA, false, true, child_rules),
    RULE(IKEV2_EXCH_CREATE_CHILD_SA, true, true, child_rules),
    RULE(IKEV2_EXCH_INFORMATIONAL, false, false, outer_rules),
    RULE(IKEV2_EXCH_INFORMATIONAL, true, false, outer_rules),
    RULE(IKEV2_EXCH_INFORMATIONAL, false, true, info_rules),
    RULE(IKEV2_EXCH_INFORMATIONAL, true, true, info_rules),
};

/* The rules of a chain; NULL = unknown exchange (not restricted). */
static const struct exch_rule *exch_rule(const struct ike_msg *m, bool inner)
{
	bool response = m->hdr.flags & IKEV2_FLAG_RESPONSE;

	for (size_t i = 0; i < NELEM(exch_rules); i++)
		if (exch_rules[i].exch == m->hdr.exch &&
		    exch_rules[i].response == response &&
		    exch_rules[i].inner == inner)
			return &exch_rules[i];
	return NULL;
}

static const struct pl_rule *pl_rule(const struct exch_rule *er, uint8_t type)
{
	for (size_t i = 0; i < er->npl; i++)
		if (er->pl[i].type == type && er->pl[i].max)
			return &er->pl[i];
	return NULL;
}

static int reject(struct ike_msg *m, enum ikev2_reject why, uint8_t type,
		  bool inner, int rc)
{
	m->reject = why;
	m->reject_pl = type;
	m->reject_inner = inner;
	return rc;
}

/* §1.2, §2.6, §2.21: a response made of an error (or a COOKIE request)
 * need not carry the exchange's payloads. */
static bool minimums_waived(const struct ike_msg *m)
{
	struct ikev2_notify n;

	if (!(m->hdr.flags & IKEV2_FLAG_RESPONSE))
		return false;
	for (unsigned i = 0; i < m->npl; i++) {
		if (m->pl[i].type != IKEV2_PL_N ||
		    ikev2_get_notify(&m->pl[i], &n) != 0)
			continue;
		if (n.type <= IKEV2_N_ERROR_MAX ||
		    (m->hdr.exch == IKEV2_EXCH_IKE_SA_INIT &&
		     n.type == IKEV2_N_COOKIE))
			return true;
	}
	return false;
}

/* End of a chain: minimum counts and groups of the exchange's rules. */
static int rules_check_end(struct ike_msg *m, const struct exch_rule *er,
			   const uint8_t *count, bool inner)
{
	unsigned in_group = 0, groups = 0;
	uint8_t absent = 0;

	if (!er || minimums_waived(m))
		return 0;
	for (size_t i = 0; i < er->npl; i++) {
		const struct pl_rule *r = &er->pl[i];

		if (count[r->type] < r->min)
			return reject(m, IKEV2_REJ_MISSING, r->type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		if (r->group) {
			groups++;
			if (count[r->type])
				in_group++;
			else if (!absent)
				absent = r->type;
		}
	}
	if (in_group && in_group != groups)
		return reject(m, IKEV2_REJ_INCOMPLETE, absent, inner,
			      IKEV2_N_INVALID_SYNTAX);
	/* RFC 6023 §3: no CHILD SA only when both announced support. */
	if (er->child_required && groups && !in_group && !m->childless_ok)
		return reject(m, IKEV2_REJ_CHILDLESS, IKEV2_PL_SA, inner,
			      IKEV2_N_INVALID_SYNTAX);
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
 * this exchange, direction and chain), the exchange's maximum count,
 * body syntax; unknown types are skipped unless critical.  The chain
 * must end exactly at the end of r; then the exchange's minimum counts
 * apply.  Every refusal records its reason in m.
 */
int ikev2_parse_chain(struct ike_msg *m, uint8_t first, struct rd r, bool inner)
{
	const struct exch_rule *er = exch_rule(m, inner);
	uint8_t count[256] = {0};
	uint8_t type = first;

	while (type != IKEV2_PL_NONE) {
		const struct pl_desc *d = pl_lookup(type);
		const struct pl_rule *ru;
		uint8_t np, flags;
		uint16_t plen;
		struct rd body;
		struct ikev2_pl *pl;
		int rc;

		/* RFC 7296 §3.2: Next Payload, C, Payload Length. */
		if (rd_u8(&r, &np) || rd_u8(&r, &flags) || rd_u16(&r, &plen) ||
		    plen < IKEV2_GENHDR_LEN ||
		    rd_sub(&r, plen - IKEV2_GENHDR_LEN, &body))
			return reject(m, IKEV2_REJ_GENHDR, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		if (!d) {
			/* RFC 7296 §2.5: unknown + critical rejects the
			 * whole message; unknown non-critical is skipped. */
			if (flags & IKEV2_CRITICAL) {
				m->bad_critical = type;
				return reject(
				    m, IKEV2_REJ_CRITICAL, type, inner,
				    IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
			}
			type = np;
			continue;
		}
		/* RFC 7296 §3.2: known types ignore the critical bit. */
		if (rd_left(&body) < d->min_len)
			return reject(m, IKEV2_REJ_BODY_SHORT, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		if (inner && (type == IKEV2_PL_SK || type == IKEV2_PL_SKF))
			return reject(m, IKEV2_REJ_NESTED, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		/* The exchange's rules: allowed here, at most max times. */
		ru = er ? pl_rule(er, type) : NULL;
		if (er && !ru)
			return reject(m, IKEV2_REJ_NOT_ALLOWED, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		if (count[type] < MANY)
			count[type]++;
		if (ru && ru->max != MANY && count[type] > ru->max)
			return reject(m, IKEV2_REJ_TOO_MANY, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		rc = ikev2_check_body(type, body);
		if (rc)
			return reject(m, IKEV2_REJ_BODY, type, inner, rc);
		if (m->npl >= IKEV2_MAX_PAYLOADS)
			return reject(m, IKEV2_REJ_TOO_LONG, type, inner,
				      IKEV2_N_INVALID_SYNTAX);
		pl = &m->pl[m->npl];
		pl->type = type;
		pl->critical = flags & IKEV2_CRITICAL;
		pl->inner = inner;
		pl->body = body;
		m->npl++;
		if (type == IKEV2_PL_SK || type == IKEV2_PL_SKF) {
			/* RFC 7296 §3.14 / RFC 7383 §2.5: last payload; its
			 * Next Payload names the first inner payload. */
			if (!rd_empty(&r))
				return reject(m, IKEV2_REJ_SK_NOT_LAST, type,
					      inner, IKEV2_N_INVALID_SYNTAX);
			m->sk_index = (int)m->npl - 1;
			m->sk_first = np;
			if (type == IKEV2_PL_SKF) {
				struct rd f = body;
				m->skf = true;
				(void)rd_u16(&f, &m->skf_num);
				(void)rd_u16(&f, &m->skf_total);
			}
			return rules_check_end(m, er, count, inner);
		}
		type = np;
	}
	/* RFC 7296 §3.2: the chain ends with Next Payload 0 exactly at the
	 * end of the message (or of the SK plaintext). */
	if (!rd_empty(&r))
		return reject(m, IKEV2_REJ_TRAILING, 0, inner,
			      IKEV2_N_INVALID_SYNTAX);
	return rules_check_end(m, er, count, inner);
}

int ikev2_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m)
{
	struct rd r = rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	m->sk_index = -1;
	m->raw = buf;
	m->raw_len = len;
	if (ikev2_hdr_parse(&r, &m->hdr) < 0)
		return reject(m, IKEV2_REJ_SHORT, 0, false, -EBADMSG);
	/* RFC 7296 §3.1: Length is the total message length. */
	if (m->hdr.length != len)
		return reject(m, IKEV2_REJ_LENGTH, 0, false, -EBADMSG);
	/* RFC 7296 §2.5: a higher major version gets INVALID_MAJOR_VERSION;
	 * lower ones (IKEv1) are not ours. */
	if ((m->hdr.version >> 4) > 2)
		return reject(m, IKEV2_REJ_VERSION, 0, false,
			      IKEV2_N_INVALID_MAJOR_VERSION);
	if ((m->hdr.version >> 4) < 2)
		return reject(m, IKEV2_REJ_VERSION, 0, false, -EBADMSG);
	/* RFC 7296 §3.1: the initiator's SPI is never zero. */
	if (m->hdr.spi_i == 0)
		return reject(m, IKEV2_REJ_SPI_I, 0, false, -EBADMSG);
	return ikev2_parse_chain(m, m->hdr.next_payload, r, false);
}

void ikev2_msg_reject(struct ike_msg *m, enum ikev2_reject why)
{
	(void)reject(m, why, 0, true, 0);
}

bool ikev2_reject_required(const struct ike_msg *m)
{
	return m->reject == IKEV2_REJ_MISSING ||
	       m->reject == IKEV2_REJ_INCOMPLETE;
}

const char *ikev2_reject_str(const struct ike_msg *m, char *buf, size_t len)
{
	static const char *const what[] = {
	    [IKEV2_REJ_NONE] = "no error",
	    [IKEV2_REJ_SHORT] = "shorter than the IKE header",
	    [IKEV2_REJ_LENGTH] = "Length field is not the datagram length",
	    [IKEV2_REJ_VERSION] = "not IKE major version 2",
	    [IKEV2_REJ_SPI_I] = "initiator's SPI is zero",
	    [IKEV2_REJ_GENHDR] = "payload header cut or bad Payload Length",
	    [IKEV2_REJ_CRITICAL] = "unknown payload marked critical",
	    [IKEV2_REJ_BODY_SHORT] = "payload shorter than its fixed part",
	    [IKEV2_REJ_BODY] = "payload body malformed",
	    [IKEV2_REJ_NOT_ALLOWED] = "payload not allowed in",
	    [IKEV2_REJ_TOO_MANY] = "payload repeated in",
	    [IKEV2_REJ_MISSING] = "payload missing from",
	    [IKEV2_REJ_INCOMPLETE] = "payload missing (SA/TSi/TSr go "
				     "together) from",
	    [IKEV2_REJ_SK_NOT_LAST] = "payloads after SK",
	    [IKEV2_REJ_NESTED] = "SK inside SK",
	    [IKEV2_REJ_TOO_LONG] = "too many payloads",
	    [IKEV2_REJ_TRAILING] = "octets after the last payload",
	    [IKEV2_REJ_SK_SHORT] = "SK payload too short or not whole blocks",
	    [IKEV2_REJ_ICV] = "integrity check failed",
	    [IKEV2_REJ_PADDING] = "SK padding longer than the plaintext",
	    [IKEV2_REJ_CHILDLESS] = "without a CHILD SA (SA/TSi/TSr) while "
				    "childless IKE SAs were not negotiated "
				    "(RFC 6023)",
	};
	const char *w = (size_t)m->reject < NELEM(what) && what[m->reject]
			    ? what[m->reject]
			    : "unknown reason";
	const char *dir =
	    m->hdr.flags & IKEV2_FLAG_RESPONSE ? "response" : "request";

	switch (m->reject) {
	case IKEV2_REJ_NOT_ALLOWED:
	case IKEV2_REJ_TOO_MANY:
	case IKEV2_REJ_MISSING:
	case IKEV2_REJ_INCOMPLETE:
		snprintf(buf, len, "%s %s %s %s%s",
			 ikev2_payload_name(m->reject_pl), w,
			 ikev2_exch_name(m->hdr.exch), dir,
			 m->reject_inner ? " (inside SK)" : "");
		break;
	case IKEV2_REJ_CHILDLESS:
		snprintf(buf, len, "%s %s %s", ikev2_exch_name(m->hdr.exch),
			 dir, w);
		break;
	case IKEV2_REJ_GENHDR:
	case IKEV2_REJ_CRITICAL:
	case IKEV2_REJ_BODY_SHORT:
	case IKEV2_REJ_BODY:
	case IKEV2_REJ_NESTED:
	case IKEV2_REJ_SK_NOT_LAST:
		snprintf(buf, len, "%s: %s%s", ikev2_payload_name(m->reject_pl),
			 w, m->reject_inner ? " (inside SK)" : "");
		break;
	default:
		snprintf(buf, len, "%s", w);
		break;
	}
	return buf;
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
