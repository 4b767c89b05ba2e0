/*
 * adv.c - the adversary of the stateful iked harness; see adv.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include <openssl/crypto.h>

#include "adv.h"
#include "det.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/rd.h"
#include "lib/util.h"

/* ---- decisions ---- */

static uint8_t adv_byte(struct adv *a)
{
	uint64_t z;

	if (a->data)
		return a->pos < a->len ? a->data[a->pos++] : 0;
	/* xorshift64* */
	a->rng ^= a->rng >> 12;
	a->rng ^= a->rng << 25;
	a->rng ^= a->rng >> 27;
	z = a->rng * 0x2545f4914f6cdd1dull;
	return (uint8_t)(z >> 56);
}

static unsigned adv_below(struct adv *a, unsigned n)
{
	unsigned v;

	if (n <= 1)
		return 0;
	v = adv_byte(a);
	if (n > 256)
		v = v << 8 | adv_byte(a);
	return v % n;
}

static uint32_t adv_u32(struct adv *a)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | adv_byte(a);
	return v;
}

/* ---- bookkeeping ---- */

static void plist_clear(struct adv_plist *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->pl[i].body);
	memset(l, 0, sizeof(*l));
}

static bool plist_add(struct adv_plist *l, uint8_t type, bool crit,
		      const uint8_t *body, size_t len)
{
	struct adv_pl *p;

	if (l->n >= ADV_MAXPL || len > 0xfff0)
		return false;
	p = &l->pl[l->n];
	p->body = malloc(len ? len : 1);
	assert_non_null(p->body);
	if (len)
		memcpy(p->body, body, len);
	p->type = type;
	p->critical = crit;
	p->len = (uint16_t)len;
	l->n++;
	return true;
}

static void plist_copy(struct adv_plist *dst, const struct adv_plist *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->exch = src->exch;
	dst->flags = src->flags;
	for (unsigned i = 0; i < src->n; i++)
		plist_add(dst, src->pl[i].type, src->pl[i].critical,
			  src->pl[i].body, src->pl[i].len);
}

static void plist_del(struct adv_plist *l, unsigned i)
{
	free(l->pl[i].body);
	memmove(&l->pl[i], &l->pl[i + 1], (l->n - i - 1) * sizeof(l->pl[0]));
	l->n--;
}

void adv_init(struct adv *a, unsigned powers, uint64_t seed,
	      const uint8_t *data, size_t len)
{
	memset(a, 0, sizeof(*a));
	a->powers = powers;
	/* splitmix64 of the seed: every seed its own nonzero stream */
	a->rng = (seed + 1) * 0x9e3779b97f4a7c15ull;
	a->rng ^= a->rng >> 31;
	if (!a->rng)
		a->rng = 1;
	a->data = data;
	a->len = len;
	if (data && !len)
		a->data = (const uint8_t *)""; /* used up at once */
}

static void drop_held(struct adv *a)
{
	for (unsigned i = 0; i < a->nheld; i++)
		free(a->held[i]);
	a->nheld = 0;
}

void adv_free(struct adv *a)
{
	drop_held(a);
	for (unsigned i = 0; i < ADV_SEEN; i++)
		free(a->seen[i]);
	for (unsigned i = 0; i < ADV_DICT; i++)
		plist_clear(&a->dict[i]);
	memset(a, 0, sizeof(*a));
}

static struct h_pkt *pkt_copy(const struct h_pkt *k)
{
	struct h_pkt *c = malloc(sizeof(*k) + k->len);

	assert_non_null(c);
	memcpy(c, k, sizeof(*k) + k->len);
	c->next = NULL;
	return c;
}

static void remember(struct adv *a, const struct h_pkt *k)
{
	unsigned i = a->seen_next++ % ADV_SEEN;

	free(a->seen[i]);
	a->seen[i] = pkt_copy(k);
	if (k->to == 0 || k->to == 1) {
		a->have_ep[k->to] = true;
		a->ep_from[k->to] = k->from;
		a->ep_dst[k->to] = k->dst;
	}
}

/* ---- the engines' keys ---- */

struct adv_keys {
	uint16_t encr, integ;
	uint8_t ek[CRYPTO_MAX_KEY], ak[CRYPTO_MAX_KEY];
	size_t elen, alen;
};

/* The keys protecting messages of SA (spi_i, spi_r) sent by the
 * original initiator (from_init) or the responder; false if no engine
 * has them. */
static bool find_keys(uint64_t spi_i, uint64_t spi_r, bool from_init,
		      struct adv_keys *k)
{
	for (int i = 0; i < h_count(); i++) {
		struct ike_sa *sa;

		for (sa = h_eng(i)->sas; sa; sa = sa->next) {
			/* The keys of the initiator's messages: the
			 * sending context of the side that keyed as
			 * initiator (sa->initiator), the receiving one of
			 * the other. */
			const struct ikev2_sk_ctx *sk =
			    sa->initiator == from_init ? &sa->sk_out
						       : &sa->sk_in;

			if (sa->spi_i != spi_i || sa->spi_r != spi_r ||
			    !sa->keys_ready)
				continue;
			k->encr = sa->algs.encr;
			k->integ = sa->algs.integ;
			k->elen = sk->elen;
			k->alen = sk->alen;
			memcpy(k->ek, sk->ekey, sizeof(k->ek));
			memcpy(k->ak, sk->akey, sizeof(k->ak));
			return true;
		}
	}
	return false;
}

static bool parse_hdr(const uint8_t *p, size_t len, struct ikev2_hdr *h)
{
	struct rd r = rd_init(p, len);

	return ikev2_hdr_parse(&r, h) == 0;
}

/* Decrypt k's SK payload with the real keys into *l (header in *h). */
static bool unseal(const struct h_pkt *k, struct ikev2_hdr *h,
		   struct adv_keys *keys, struct adv_plist *l)
{
	struct ikev2_sk_ctx sk;
	struct ike_msg *m;
	uint8_t *plain;
	bool ok = false;

	memset(l, 0, sizeof(*l));
	if (!parse_hdr(k->data, k->len, h) ||
	    h->exch == IKEV2_EXCH_IKE_SA_INIT ||
	    !find_keys(h->spi_i, h->spi_r, h->flags & IKEV2_FLAG_INITIATOR,
		       keys))
		return false;
	m = malloc(sizeof(*m));
	plain = malloc(k->len);
	assert_non_null(m);
	assert_non_null(plain);
	if (ikev2_sk_init(&sk, keys->encr, keys->integ, keys->ek, keys->elen,
			  keys->ak, keys->alen, false) == 0) {
		if (ikev2_msg_parse(k->data, k->len, m) == 0 && !m->skf &&
		    ikev2_sk_open(&sk, m, plain, k->len) == 0) {
			ok = true;
			l->exch = h->exch;
			l->flags = h->flags;
			for (unsigned i = 0; i < m->npl; i++)
				if (m->pl[i].inner)
					plist_add(
					    l, m->pl[i].type, m->pl[i].critical,
					    m->pl[i].body.p, m->pl[i].body.len);
		}
		ikev2_sk_free(&sk);
	}
	mem_wipe(plain, k->len);
	free(plain);
	free(m);
	return ok;
}

/* Build header h + SK{l} with keys; caller frees *pkt. */
static bool seal(const struct ikev2_hdr *h, const struct adv_keys *keys,
		 const struct adv_plist *l, uint8_t **pkt, size_t *len)
{
	struct ikev2_sk_ctx sk;
	struct ikev2_wr b;
	int rc;

	if (ikev2_sk_init(&sk, keys->encr, keys->integ, keys->ek, keys->elen,
			  keys->ak, keys->alen, true) != 0)
		return false;
	rc = ikev2_wr_begin(&b, h);
	if (rc == 0)
		rc = ikev2_sk_begin(&b, &sk);
	for (unsigned i = 0; rc == 0 && i < l->n; i++)
		rc = ikev2_put_raw(&b, l->pl[i].type, l->pl[i].critical,
				   l->pl[i].body, l->pl[i].len);
	if (rc == 0)
		rc = ikev2_sk_end(&b);
	if (rc == 0)
		rc = ikev2_wr_finish(&b, pkt, len);
	else
		ikev2_wr_abort(&b);
	ikev2_sk_free(&sk);
	return rc == 0;
}

/* ---- what the adversary knows about the engines ---- */

/* A CHILD SA SPI of any engine (or a random one). */
static uint32_t some_child_spi(struct adv *a)
{
	uint32_t spis[32];
	unsigned n = 0;

	for (int i = 0; i < h_count(); i++)
		for (struct ike_sa *sa = h_eng(i)->sas; sa; sa = sa->next)
			for (struct child_sa *c = sa->children; c && n < 30;
			     c = c->next) {
				spis[n++] = c->spi_in;
				spis[n++] = c->spi_out;
			}
	return n ? spis[adv_below(a, n)] : adv_u32(a);
}

/* A live IKE SA of engine i (random pick), or NULL. */
static struct ike_sa *some_sa(struct adv *a, int i, bool with_keys)
{
	struct ike_sa *sa, *pick = NULL;
	unsigned n = 0;

	for (sa = h_eng(i)->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD && (!with_keys || sa->keys_ready))
			n++;
	if (!n)
		return NULL;
	n = adv_below(a, n);
	for (sa = h_eng(i)->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD && (!with_keys || sa->keys_ready) &&
		    !n--) {
			pick = sa;
			break;
		}
	return pick;
}

static const uint16_t notify_types[] = {
    IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
    IKEV2_N_INVALID_IKE_SPI,
    IKEV2_N_INVALID_SYNTAX,
    IKEV2_N_INVALID_MESSAGE_ID,
    IKEV2_N_INVALID_SPI,
    IKEV2_N_NO_PROPOSAL_CHOSEN,
    IKEV2_N_INVALID_KE_PAYLOAD,
    IKEV2_N_AUTHENTICATION_FAILED,
    IKEV2_N_SINGLE_PAIR_REQUIRED,
    IKEV2_N_NO_ADDITIONAL_SAS,
    IKEV2_N_INTERNAL_ADDRESS_FAILURE,
    IKEV2_N_FAILED_CP_REQUIRED,
    IKEV2_N_TS_UNACCEPTABLE,
    IKEV2_N_TEMPORARY_FAILURE,
    IKEV2_N_CHILD_SA_NOT_FOUND,
    IKEV2_N_INITIAL_CONTACT,
    IKEV2_N_SET_WINDOW_SIZE,
    IKEV2_N_NAT_DETECTION_SOURCE_IP,
    IKEV2_N_COOKIE,
    IKEV2_N_USE_TRANSPORT_MODE,
    IKEV2_N_REKEY_SA,
    IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED,
    IKEV2_N_NON_FIRST_FRAGMENTS_ALSO,
    IKEV2_N_SIGNATURE_HASH_ALGORITHMS,
};

#define N_NOTIFY (sizeof(notify_types) / sizeof(notify_types[0]))

static const uint8_t pl_types[] = {
    IKEV2_PL_SA,   IKEV2_PL_KE,	   IKEV2_PL_IDi, IKEV2_PL_IDr, IKEV2_PL_CERT,
    IKEV2_PL_AUTH, IKEV2_PL_NONCE, IKEV2_PL_N,	 IKEV2_PL_D,   IKEV2_PL_V,
    IKEV2_PL_TSi,  IKEV2_PL_TSr,   IKEV2_PL_CP,	 IKEV2_PL_EAP, 60 /* unknown */
};

/* ---- insider: mutate a plaintext payload list ---- */

static void mutate_plist(struct adv *a, struct ikev2_hdr *h,
			 struct adv_plist *l)
{
	unsigned op = adv_below(a, 12), i, j;
	struct adv_pl *p;
	uint32_t spi;

	i = adv_below(a, l->n ? l->n : 1);
	p = l->n ? &l->pl[i] : NULL;
	switch (op) {
	case 0: /* flip bits in a body */
		if (p && p->len)
			for (unsigned f = 1 + adv_below(a, 4); f; f--)
				p->body[adv_below(a, p->len)] ^=
				    (uint8_t)(1u << adv_below(a, 8));
		break;
	case 1: /* drop a payload */
		if (p)
			plist_del(l, i);
		break;
	case 2: /* duplicate one */
		if (p)
			plist_add(l, p->type, p->critical, p->body, p->len);
		break;
	case 3: /* swap two (reorder) */
		j = adv_below(a, l->n ? l->n : 1);
		if (p) {
			struct adv_pl t = l->pl[i];

			l->pl[i] = l->pl[j];
			l->pl[j] = t;
		}
		break;
	case 4: /* another message ID */
		switch (adv_below(a, 4)) {
		case 0:
			h->msgid++;
			break;
		case 1:
			h->msgid--;
			break;
		case 2:
			h->msgid += 1 + adv_below(a, 16);
			break;
		default:
			h->msgid = adv_u32(a);
		}
		break;
	case 5: /* another exchange type or flags */
		if (adv_byte(a) & 1)
			h->exch =
			    (uint8_t)(IKEV2_EXCH_IKE_AUTH + adv_below(a, 3));
		else
			h->flags ^= IKEV2_FLAG_RESPONSE;
		break;
	case 6: /* another notify type */
		for (j = 0; j < l->n; j++) {
			p = &l->pl[(i + j) % l->n];
			if (p->type == IKEV2_PL_N && p->len >= 4) {
				uint16_t t =
				    notify_types[adv_below(a, N_NOTIFY)];

				p->body[2] = (uint8_t)(t >> 8);
				p->body[3] = (uint8_t)t;
				break;
			}
		}
		break;
	case 7: /* truncate a body */
		if (p && p->len)
			p->len = (uint16_t)adv_below(a, p->len);
		break;
	case 8: { /* insert a payload of some type, small random body */
		uint8_t body[64];
		size_t n = adv_below(a, sizeof(body));

		for (size_t k = 0; k < n; k++)
			body[k] = adv_byte(a);
		plist_add(l, pl_types[adv_below(a, sizeof(pl_types))],
			  adv_byte(a) & 1, body, n);
		break;
	}
	case 9: /* a known CHILD SPI where an SPI lives: D, N(REKEY_SA),
		 * proposals; else at a random 4-aligned offset */
		spi = some_child_spi(a);
		if (p && p->len >= 4) {
			size_t off = p->type == IKEV2_PL_D && p->len >= 8
					 ? 4
					 : (adv_below(a, p->len - 3) & ~3u);

			p->body[off] = (uint8_t)(spi >> 24);
			p->body[off + 1] = (uint8_t)(spi >> 16);
			p->body[off + 2] = (uint8_t)(spi >> 8);
			p->body[off + 3] = (uint8_t)spi;
		}
		break;
	case 10: { /* payloads of an earlier message (replay inside SK) */
		struct adv_plist *d = &a->dict[adv_below(a, ADV_DICT)];

		if (d->n) {
			plist_clear(l);
			plist_copy(l, d);
			if (adv_byte(a) & 1) {
				h->exch = d->exch;
				h->flags =
				    (uint8_t)((h->flags &
					       IKEV2_FLAG_INITIATOR) |
					      (d->flags & IKEV2_FLAG_RESPONSE));
			}
		}
		break;
	}
	default: /* a payload from an earlier message */
		if (a->dict[0].n) {
			struct adv_plist *d = &a->dict[adv_below(a, ADV_DICT)];

			if (d->n) {
				struct adv_pl *q = &d->pl[adv_below(a, d->n)];

				plist_add(l, q->type, q->critical, q->body,
					  q->len);
			}
		}
	}
}

static void dict_add(struct adv *a, const struct adv_plist *l)
{
	struct adv_plist *d = &a->dict[a->dict_next++ % ADV_DICT];

	plist_clear(d);
	plist_copy(d, l);
}

/* Re-seal a mutation of k; true if k was replaced in place (*kp). */
static bool reseal(struct adv *a, struct h_pkt **kp)
{
	struct h_pkt *k = *kp, *n;
	struct ikev2_hdr h;
	struct adv_keys keys;
	struct adv_plist l;
	uint8_t *pkt;
	size_t len;
	bool ok;

	if (!unseal(k, &h, &keys, &l)) {
		mem_wipe(&keys, sizeof(keys));
		return false;
	}
	for (unsigned m = 1 + adv_below(a, 3); m; m--)
		mutate_plist(a, &h, &l);
	ok = seal(&h, &keys, &l, &pkt, &len);
	mem_wipe(&keys, sizeof(keys));
	plist_clear(&l);
	if (!ok)
		return false;
	n = malloc(sizeof(*n) + len);
	assert_non_null(n);
	*n = *k;
	n->len = len;
	memcpy(n->data, pkt, len);
	free(pkt);
	free(k);
	*kp = n;
	a->st.resealed++;
	return true;
}

/* Insider: a new protected message on a live SA, made of payloads seen
 * earlier, with the message ID the receiver expects (or near it). */
static void inject_sealed(struct adv *a)
{
	int to = (int)adv_below(a, 2);
	struct ike_sa *rsa = some_sa(a, to, true);
	struct adv_plist *d = &a->dict[adv_below(a, ADV_DICT)];
	struct adv_plist l;
	struct adv_keys keys;
	struct ikev2_hdr h;
	uint8_t *pkt;
	size_t len;
	bool resp = adv_byte(a) & 1;

	if (!rsa || !d->n || !a->have_ep[to])
		return;
	memset(&h, 0, sizeof(h));
	h.spi_i = rsa->spi_i;
	h.spi_r = rsa->spi_r;
	h.version = IKEV2_VERSION;
	h.exch = d->exch;
	/* Sent by the receiver's peer: I set when the receiver is not the
	 * original initiator. */
	h.flags = (uint8_t)((rsa->initiator ? 0 : IKEV2_FLAG_INITIATOR) |
			    (resp ? IKEV2_FLAG_RESPONSE : 0));
	h.msgid = resp ? rsa->req_mid : rsa->peer_mid_next;
	if (!find_keys(h.spi_i, h.spi_r, !rsa->initiator, &keys))
		return;
	plist_copy(&l, d);
	if (adv_byte(a) & 1)
		mutate_plist(a, &h, &l);
	if (seal(&h, &keys, &l, &pkt, &len)) {
		h_push(to, &a->ep_from[to], &a->ep_dst[to], pkt, len);
		free(pkt);
		a->st.injected_sealed++;
	}
	mem_wipe(&keys, sizeof(keys));
	plist_clear(&l);
}

/* ---- outsider: bit flips and forged messages ---- */

static void flip(struct adv *a, struct h_pkt *k)
{
	unsigned op = adv_below(a, 3);

	if (!k->len)
		return;
	if (op == 0) { /* anywhere */
		for (unsigned f = 1 + adv_below(a, 8); f; f--)
			k->data[adv_below(a, (unsigned)k->len)] ^=
			    (uint8_t)(1u << adv_below(a, 8));
	} else if (op == 1) { /* the header: SPIs, types, flags, msgid */
		unsigned n = k->len < 28 ? (unsigned)k->len : 28;

		k->data[adv_below(a, n)] ^= (uint8_t)(1u << adv_below(a, 8));
	} else if (k->len > 28) { /* the first payload's header */
		k->data[28 + adv_below(a, 4)] ^=
		    (uint8_t)(1u << adv_below(a, 8));
	}
	a->st.flipped++;
}

/* Header (28 octets) for an SA of engine `to`, as its peer would send. */
static void forged_hdr(struct adv *a, const struct ike_sa *rsa, uint8_t *p,
		       uint8_t exch, bool resp, uint32_t mid, uint8_t np)
{
	uint8_t flags = (uint8_t)((rsa->initiator ? 0 : IKEV2_FLAG_INITIATOR) |
				  (resp ? IKEV2_FLAG_RESPONSE : 0));

	(void)a;
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(rsa->spi_i >> (56 - 8 * i));
		p[8 + i] = (uint8_t)(rsa->spi_r >> (56 - 8 * i));
	}
	p[16] = np;
	p[17] = IKEV2_VERSION;
	p[18] = exch;
	p[19] = flags;
	p[20] = (uint8_t)(mid >> 24);
	p[21] = (uint8_t)(mid >> 16);
	p[22] = (uint8_t)(mid >> 8);
	p[23] = (uint8_t)mid;
}

static void put_len(uint8_t *p, size_t len)
{
	p[24] = (uint8_t)(len >> 24);
	p[25] = (uint8_t)(len >> 16);
	p[26] = (uint8_t)(len >> 8);
	p[27] = (uint8_t)len;
}

/* An unauthenticated message for an SA the adversary saw (RFC 7296
 * §2.21.2: nothing may change before the ICV verifies). */
static void forge(struct adv *a)
{
	int to = (int)adv_below(a, 2);
	struct ike_sa *rsa = some_sa(a, to, false);
	uint8_t p[256];
	size_t len = 28, body;
	bool resp = adv_byte(a) & 1;
	uint32_t mid;
	uint8_t exch;

	if (!rsa || !a->have_ep[to])
		return;
	mid = resp ? rsa->req_mid : rsa->peer_mid_next;
	if (adv_byte(a) & 1)
		mid += adv_below(a, 3);
	exch = (uint8_t)(IKEV2_EXCH_IKE_AUTH + adv_below(a, 3));
	switch (adv_below(a, 3)) {
	case 0: /* SK with garbage: fails the ICV */
		forged_hdr(a, rsa, p, exch, resp, mid, IKEV2_PL_SK);
		body = 4 + 16 + adv_below(a, 96);
		p[28] = IKEV2_PL_TSi; /* first inner payload */
		p[29] = 0;
		p[30] = (uint8_t)(body >> 8);
		p[31] = (uint8_t)body;
		for (size_t i = 32; i < 28 + body; i++)
			p[i] = adv_byte(a);
		len += body;
		break;
	case 1: /* an unknown critical payload before a garbage SK */
		forged_hdr(a, rsa, p, exch, resp, mid, 60);
		p[28] = IKEV2_PL_SK;
		p[29] = 0x80;
		p[30] = 0;
		p[31] = 4;
		body = 4 + 16 + adv_below(a, 64);
		p[32] = IKEV2_PL_N;
		p[33] = 0;
		p[34] = (uint8_t)(body >> 8);
		p[35] = (uint8_t)body;
		for (size_t i = 36; i < 32 + body; i++)
			p[i] = adv_byte(a);
		len = 32 + body;
		break;
	default: { /* IKE_SA_INIT response: an error notify (§2.21.1) */
		uint16_t t = notify_types[adv_below(a, 14)];

		forged_hdr(a, rsa, p, IKEV2_EXCH_IKE_SA_INIT, true, 0,
			   IKEV2_PL_N);
		if (adv_byte(a) & 1)
			memset(p + 8, 0, 8);
		p[28] = 0;
		p[29] = 0;
		p[30] = 0;
		p[31] = 8 + 2;
		p[32] = 0;
		p[33] = 0;
		p[34] = (uint8_t)(t >> 8);
		p[35] = (uint8_t)t;
		p[36] = 0;
		p[37] = 19; /* INVALID_KE: group 19; COOKIE: data */
		len = 38;
	}
	}
	put_len(p, len);
	h_push(to, &a->ep_from[to], &a->ep_dst[to], p, len);
	a->st.forged++;
}

/* ---- engine actions ---- */

static void ctl(struct adv *a)
{
	int e = (int)adv_below(a, 2);
	struct iked *d = h_eng(e);
	struct ike_sa *sa = some_sa(a, e, false);
	struct child_sa *c = NULL;
	unsigned n = 0, op = adv_below(a, 7);
	char err[160];

	h_log_as(e);
	if (sa && sa->state == IKE_S_ESTABLISHED) {
		for (c = sa->children; c; c = c->next)
			n++;
		n = adv_below(a, n ? n : 1);
		for (c = sa->children; c && n; c = c->next)
			n--;
	}
	a->st.ctl++;
	if (op == 6 || !sa || sa->state != IKE_S_ESTABLISHED) {
		/* A new IKE SA (the first policy of remote "peer"). */
		if (adv_below(a, 4) == 0 || !sa)
			(void)iked_initiate(d, "peer", NULL, NULL, err,
					    sizeof(err));
		return;
	}
	switch (op) {
	case 0:
		if (c)
			ike_queue_child_rekey(sa, c);
		break;
	case 1:
		if (c)
			ike_queue_child_delete(sa, c);
		break;
	case 2:
		ike_queue_ike_rekey(sa);
		break;
	case 3:
		if (adv_below(a, 4) == 0)
			ike_queue_ike_delete(sa);
		break;
	case 4: {
		struct task *t = task_new(TASK_DPD);

		if (t)
			task_queue(sa, t);
		break;
	}
	default: {
		struct task *t = task_new(TASK_CHILD_CREATE);

		if (t) {
			snprintf(t->policy, sizeof(t->policy), "pol-peer");
			task_queue(sa, t);
		}
	}
	}
	task_run(sa);
}

static void run_loops(void)
{
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < h_count(); i++) {
			h_log_as(i);
			ev_run_once(h_eng(i)->loop, 0);
		}
}

static void deliver(struct adv *a, struct h_pkt *k)
{
	h_deliver(k);
	free(k);
	a->st.delivered++;
}

bool adv_step(struct adv *a)
{
	struct h_pkt *k;
	unsigned op;

	if (a->data && a->pos >= a->len)
		return false;
	a->st.steps++;
	op = adv_byte(a);
	/* Mostly the network as it is; the rest split among powers. */
	if (op < 96) {
		k = h_pop();
		if (!k) {
			run_loops();
			return true;
		}
		remember(a, k);
		if (a->powers & ADV_SEALED) {
			struct ikev2_hdr h;
			struct adv_keys keys;
			struct adv_plist l;

			if (unseal(k, &h, &keys, &l)) {
				dict_add(a, &l);
				plist_clear(&l);
			}
			mem_wipe(&keys, sizeof(keys));
		}
		deliver(a, k);
		return true;
	}
	op = adv_below(a, 10);
	switch (op) {
	case 0: /* drop */
	case 1: /* duplicate */
	case 2: /* hold back (reorder) */
		if (!(a->powers & ADV_NET) || !(k = h_pop()))
			break;
		remember(a, k);
		if (op == 0) {
			free(k);
			a->st.dropped++;
		} else if (op == 1) {
			h_requeue(pkt_copy(k));
			deliver(a, k);
			a->st.duplicated++;
		} else if (a->nheld < ADV_HELD) {
			a->held[a->nheld++] = k;
			a->st.held++;
		} else {
			deliver(a, k);
		}
		break;
	case 3: /* release a held packet (or replay a seen one) */
		if (!(a->powers & ADV_NET))
			break;
		if (a->nheld && (adv_byte(a) & 1)) {
			unsigned i = adv_below(a, a->nheld);

			k = a->held[i];
			a->held[i] = a->held[--a->nheld];
			deliver(a, k);
		} else {
			struct h_pkt *s = a->seen[adv_below(a, ADV_SEEN)];

			if (s) {
				k = pkt_copy(s);
				if (adv_byte(a) & 1) /* to the other engine */
					k->to = !k->to;
				if (a->have_ep[k->to]) {
					k->from = a->ep_from[k->to];
					k->dst = a->ep_dst[k->to];
				}
				deliver(a, k);
				a->st.replayed++;
			}
		}
		break;
	case 4: /* bit flips, then on */
		if (!(a->powers & ADV_PLAIN) || !(k = h_pop()))
			break;
		remember(a, k);
		flip(a, k);
		deliver(a, k);
		break;
	case 5:
		if (a->powers & ADV_PLAIN)
			forge(a);
		break;
	case 6: /* insider: mutate and re-seal the next message */
		if (!(a->powers & ADV_SEALED) || !(k = h_pop()))
			break;
		remember(a, k);
		(void)reseal(a, &k);
		deliver(a, k);
		break;
	case 7:
		if (a->powers & ADV_SEALED)
			inject_sealed(a);
		break;
	case 8:
		if (a->powers & ADV_CTL)
			ctl(a);
		break;
	default:
		if (a->powers & ADV_CLOCK) {
			static const unsigned ms[] = {10, 100, 700, 3000};

			det_advance_ms(ms[adv_below(a, 4)]);
			run_loops();
			a->st.clock++;
		}
	}
	return true;
}

void adv_settle(struct adv *a, uint64_t total_ms)
{
	drop_held(a);
	/* Fine steps while retransmissions run, then coarser ones for the
	 * DPD and negotiation time limits (timers fire late, not never). */
	for (uint64_t t = 0, step = 250; t < total_ms; t += step) {
		h_pump();
		if (t >= 5000)
			step = 1000;
		det_advance_ms(step);
		run_loops();
	}
	h_pump();
	run_loops();
	h_pump();
}

/* ---- oracles ---- */

void adv_dump(struct iked *d)
{
	static const char *const addrs[] = {"198.51.100.1", "198.51.100.2"};
	struct ksa k;

	fprintf(stderr, "engine %d:", h_index(d));
	/* The fake kernel numbers its SPIs from c0000100 (fake.c). */
	for (uint32_t spi = 0xc0000100; spi < 0xc0000180; spi++)
		for (int i = 0; i < 2; i++) {
			struct kaddr dst;

			if (kaddr_parse(addrs[i], &dst) == 0 &&
			    k_sa_get(&d->kern, IPPROTO_ESP, &dst, spi, &k,
				     NULL) == 0)
				fprintf(stderr, " %08x->%s", spi, addrs[i]);
			ksa_wipe(&k);
		}
	fprintf(stderr, "\n");
	for (struct ike_sa *sa = d->sas; sa; sa = sa->next) {
		fprintf(stderr,
			"  IKE SA #%u %016llx/%016llx %s %s mid_next %u "
			"peer_mid_next %u req_out %d\n",
			sa->id, (unsigned long long)sa->spi_i,
			(unsigned long long)sa->spi_r,
			sa->initiator ? "I" : "R", ike_state_name(sa->state),
			sa->mid_next, sa->peer_mid_next, sa->req_out);
		for (struct child_sa *c = sa->children; c; c = c->next)
			fprintf(stderr,
				"    CHILD #%u in %08x%s out %08x%s %s\n",
				c->id, c->spi_in, c->in_installed ? "*" : "",
				c->spi_out, c->out_installed ? "*" : "",
				child_state_name(c->state));
	}
}

static struct ike_sa *find_sa(struct iked *d, uint64_t spi_i, uint64_t spi_r)
{
	for (struct ike_sa *sa = d->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD && sa->spi_i == spi_i &&
		    sa->spi_r == spi_r)
			return sa;
	return NULL;
}

static unsigned count_children(const struct ike_sa *sa)
{
	unsigned n = 0;

	for (const struct child_sa *c = sa->children; c; c = c->next)
		n++;
	return n;
}

static struct iked *adv_x, *adv_y;

/* Both engines on stderr, then fail. */
#define AGREE_FAIL(...)                                                        \
	do {                                                                   \
		adv_dump(adv_x);                                               \
		adv_dump(adv_y);                                               \
		fail_msg(__VA_ARGS__);                                         \
	} while (0)

static void agree_one_way(struct iked *x, struct iked *y)
{
	for (struct ike_sa *sa = x->sas; sa; sa = sa->next) {
		struct ike_sa *o;

		if (sa->state == IKE_S_DEAD)
			continue;
		/* Quiescent: no exchange half done. */
		if (sa->state != IKE_S_ESTABLISHED)
			AGREE_FAIL("IKE SA #%u %016llx/%016llx in state %s "
				   "after settling",
				   sa->id, (unsigned long long)sa->spi_i,
				   (unsigned long long)sa->spi_r,
				   ike_state_name(sa->state));
		if (sa->req_out)
			AGREE_FAIL("IKE SA #%u: request %u still out", sa->id,
				   sa->req_mid);
		o = find_sa(y, sa->spi_i, sa->spi_r);
		if (!o)
			AGREE_FAIL("IKE SA #%u %016llx/%016llx: the peer has "
				   "no such SA",
				   sa->id, (unsigned long long)sa->spi_i,
				   (unsigned long long)sa->spi_r);
		if (o->state != IKE_S_ESTABLISHED ||
		    o->initiator == sa->initiator)
			AGREE_FAIL("IKE SA #%u: the peer's SA #%u is %s (%s)",
				   sa->id, o->id, ike_state_name(o->state),
				   o->initiator ? "I" : "R");
		/* RFC 7296 §2.3: each side's next request is what the
		 * other expects. */
		if (sa->mid_next != o->peer_mid_next ||
		    o->mid_next != sa->peer_mid_next)
			AGREE_FAIL(
			    "IKE SA #%u: message IDs disagree: ours next "
			    "%u (peer expects %u), peer's next %u (we "
			    "expect %u)",
			    sa->id, sa->mid_next, o->peer_mid_next, o->mid_next,
			    sa->peer_mid_next);
		if (count_children(sa) != count_children(o))
			AGREE_FAIL("IKE SA #%u: %u CHILD SAs here, %u at the "
				   "peer",
				   sa->id, count_children(sa),
				   count_children(o));
		for (struct child_sa *c = sa->children; c; c = c->next) {
			struct child_sa *p;

			for (p = o->children; p; p = p->next)
				if (p->spi_in == c->spi_out &&
				    p->spi_out == c->spi_in)
					break;
			if (!p)
				AGREE_FAIL(
				    "IKE SA #%u: CHILD SA %08x/%08x (%s) "
				    "has no peer half",
				    sa->id, c->spi_in, c->spi_out,
				    child_state_name(c->state));
			if (c->state != CHILD_S_INSTALLED ||
			    p->state != CHILD_S_INSTALLED)
				AGREE_FAIL("IKE SA #%u: CHILD SA %08x/%08x %s, "
					   "peer's half %s",
					   sa->id, c->spi_in, c->spi_out,
					   child_state_name(c->state),
					   child_state_name(p->state));
		}
	}
}

void adv_check_agree(struct iked *x, struct iked *y)
{
	adv_x = x;
	adv_y = y;
	agree_one_way(x, y);
	agree_one_way(y, x);
}

void adv_check_kernel(struct iked *d)
{
	size_t want = 0;
	struct ksa k;

	memset(&k, 0, sizeof(k));
	for (struct ike_sa *sa = d->sas; sa; sa = sa->next) {
		if (sa->state == IKE_S_DEAD)
			continue;
		for (struct child_sa *c = sa->children; c; c = c->next) {
			if (c->in_installed) {
				want++;
				if (k_sa_get(&d->kern, IPPROTO_ESP,
					     &sa->local.addr, c->spi_in, &k,
					     NULL) != 0)
					fail_msg("CHILD SA #%u: inbound SA "
						 "%08x not in the kernel",
						 c->id, c->spi_in);
				ksa_wipe(&k);
			}
			if (c->out_installed) {
				want++;
				if (k_sa_get(&d->kern, IPPROTO_ESP,
					     &sa->peer.addr, c->spi_out, &k,
					     NULL) != 0)
					fail_msg("CHILD SA #%u: outbound SA "
						 "%08x not in the kernel",
						 c->id, c->spi_out);
				ksa_wipe(&k);
			}
		}
	}
	/* Anything more is an SA no live CHILD SA owns (a leak). */
	if (kfake_sa_count(&d->kern) != want) {
		adv_dump(d);
		fail_msg("fake kernel holds %zu SAs, live CHILD SAs own %zu",
			 kfake_sa_count(&d->kern), want);
	}
}
