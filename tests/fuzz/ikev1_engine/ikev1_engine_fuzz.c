/*
 * ikev1_engine_fuzz.c - libFuzzer harness on the IKEv1 engine (src/ikev1)
 * with the peer's messages under the fuzzer's control.  The first octet
 * selects:
 *   0: a fresh responder (NAT-T on, fixed addresses for the NAT-D
 *      hashes): the rest is a sequence of datagrams (2-octet length
 *      each) for Main Mode; the first creates the SA, the others get
 *      its cookies;
 *   1: an established pair (a real Main Mode, ECP-256): the rest is a
 *      sequence of records [exchange, M-ID (4), first payload, length
 *      (2), plaintext chain]; each is given an ISAKMP header, its HASH
 *      (a first HASH payload of the right size) is made valid, it is
 *      encrypted with the exchange's IV and handed to the responder or,
 *      with the exchange octet's top bit set, the initiator.  This reaches what
 * only an authenticated peer can send: Quick Mode and Informational bodies.
 *   2: Main Mode with ECDSA P-256 signatures and pinned certificates run
 *      to message 4; the rest is records [first payload, length (2),
 *      plaintext chain], each sealed as message 5 with the responder's
 *      Phase 1 IV and given to it: ID/CERT/SIG/N under the real keys
 *      (certificate parsing, trust, ID match, signature check);
 *   3: Aggressive Mode (PSK) run to message 2; the records are sealed as
 *      message 3 to the responder (HASH_I, NAT-D, INITIAL-CONTACT).
 * Mode 0's responder accepts Aggressive Mode too.
 * Nothing may crash, leak or hang; the SA must stay usable (a Quick Mode
 * still completes afterwards in mode 1; in modes 2 and 3 the genuine
 * last message still establishes the SA).
 * The starting states of modes 1-3 are negotiated once per process and
 * each input gets a copy (clone_sa): the DH and signature operations of
 * a fresh Phase 1 would otherwise take most of every run.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ikev1/ikev1_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_getspi(void *arg, uint32_t *spi)
{
	static uint32_t n = 0x1000;
	(void)arg;
	*spi = n++;
	return 0;
}

static void conf_init(struct ikev1_conf *c, uint8_t me, uint8_t peer)
{
	memset(c, 0, sizeof(*c));
	c->psk = (const uint8_t *)"fuzz";
	c->psk_len = 4;
	c->id_type = ISAKMP_ID_IPV4_ADDR;
	c->id[0] = me;
	c->id_len = 4;
	c->peer_id_type = ISAKMP_ID_IPV4_ADDR;
	c->peer_id[0] = peer;
	c->peer_id_len = 4;
	c->p1[c->n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 128, ISAKMP_P1_HASH_SHA1, 19, 3600};
	c->p2[c->n_p2++] = (struct ikev1_p2_suite){ISAKMP_ESP_AES_CBC, 128,
						   ISAKMP_AUTH_HMAC_SHA1, 600};
	c->pfs_group = 19;
	c->ts_local.type = ISAKMP_ID_IPV4_ADDR;
	c->ts_local.len = 4;
	c->ts_local.data[0] = me;
	c->ts_remote.type = ISAKMP_ID_IPV4_ADDR;
	c->ts_remote.len = 4;
	c->ts_remote.data[0] = peer;
	c->getspi = fz_getspi;
}

static void mode_raw(const uint8_t *p, size_t n)
{
	struct ikev1_conf c;
	struct ikev1_sa *sa = NULL;
	struct ikev1_out o;

	struct sockaddr_in sl = {.sin_family = AF_INET,
				 .sin_port = htons(4500)};
	struct sockaddr_in sp = {.sin_family = AF_INET, .sin_port = htons(500)};

	uint8_t *buf;

	conf_init(&c, 2, 1);
	c.aggressive = true;
	c.natt = true; /* RFC 3947: VIDs, NAT-D in messages 3/4 */
	sl.sin_addr.s_addr = htonl(0xc6336401);
	sp.sin_addr.s_addr = htonl(0xcb007142);
	while (n >= 2) {
		size_t len = (size_t)p[0] << 8 | p[1];
		struct isakmp_msg m;

		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		memset(&o, 0, sizeof(o));
		if (!sa) {
			if (isakmp_msg_parse(p, len, &m) == 0 &&
			    ikev1_sa_new_responder_at(
				&c, &m, (struct sockaddr *)&sl,
				(struct sockaddr *)&sp, &sa, &o) == 0)
				(void)ikev1_sa_set_addrs(
				    sa, (struct sockaddr *)&sl,
				    (struct sockaddr *)&sp);
		} else if (len >= 16 && (buf = malloc(len))) {
			/* the SA's cookies (the responder's is random): the
			 * later messages reach Main Mode 3/5 processing */
			memcpy(buf, p, len);
			memcpy(buf, sa->cky_i, 8);
			memcpy(buf + 8, sa->cky_r, 8);
			(void)ikev1_input(sa, buf, len, &o);
			free(buf);
		} else {
			(void)ikev1_input(sa, p, len, &o);
		}
		ikev1_out_clear(&o);
		p += len;
		n -= len;
	}
	ikev1_sa_free(sa);
}

/* A real Main Mode between two engines. */
static int establish(const struct ikev1_conf *ci, const struct ikev1_conf *cr,
		     struct ikev1_sa **i, struct ikev1_sa **r)
{
	struct ikev1_out a, b;
	struct isakmp_msg m;

	*i = *r = NULL;
	if (ikev1_sa_new_initiator(ci, i, &a) != 0)
		return -1;
	if (isakmp_msg_parse(a.pkt, a.len, &m) != 0 ||
	    ikev1_sa_new_responder(cr, &m, r, &b) != 0) {
		ikev1_out_clear(&a);
		return -1;
	}
	ikev1_out_clear(&a);
	for (int step = 0; step < 5; step++) {
		if (ikev1_input(step % 2 ? *r : *i, b.pkt, b.len, &a) != 0) {
			ikev1_out_clear(&b);
			return -1;
		}
		ikev1_out_clear(&b);
		b = a;
	}
	ikev1_out_clear(&b);
	return ikev1_sa_state(*i) == IKEV1_ESTABLISHED &&
		       ikev1_sa_state(*r) == IKEV1_ESTABLISHED
		   ? 0
		   : -1;
}

/* A copy of an SA between exchanges (no DH pair, no Quick Mode under
 * way: what clone_sa cannot copy makes it return NULL). */
static struct ikev1_sa *clone_sa(const struct ikev1_sa *s)
{
	struct ikev1_sa *c;

	if (!s || s->dh)
		return NULL;
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		if (s->qm[i].state != QM_FREE || s->qm[i].dh ||
		    s->qm[i].last_sent)
			return NULL;
	c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	memcpy(c, s, sizeof(*c));
	c->sai_b = NULL;
	c->last_sent = NULL;
	if (s->sai_b && (c->sai_b = malloc(s->sai_len)))
		memcpy(c->sai_b, s->sai_b, s->sai_len);
	if (s->last_sent && (c->last_sent = malloc(s->last_len)))
		memcpy(c->last_sent, s->last_sent, s->last_len);
	if ((s->sai_b && !c->sai_b) || (s->last_sent && !c->last_sent)) {
		ikev1_sa_free(c);
		return NULL;
	}
	return c;
}

/* Header + chain, valid HASH(1) when the first payload is one, sealed. */
static void inject(struct ikev1_sa *to, uint8_t exch, uint32_t mid,
		   uint8_t first, const uint8_t *chain, size_t len)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	uint8_t iv[CRYPTO_MAX_BLOCK], *pkt;
	size_t plen, hl = to->keys.hlen;
	struct ikev1_out o;
	struct ikev1_qm *q = NULL;

	sa_hdr(to, &h, exch, mid, true);
	h.np = first;
	isakmp_wr_begin(&b, &h);
	wr_bytes(&b.w, chain, len);
	if (isakmp_wr_finish(&b, &pkt, &plen) != 0)
		return;
	pkt[16] = first;
	if (first == ISAKMP_NP_HASH && len >= 4 + hl && chain[2] == 0 &&
	    chain[3] == 4 + hl)
		(void)ikev1_qm_hash(
		    &to->keys, mid, NULL, 0, pkt + ISAKMP_HDR_LEN + 4 + hl,
		    plen - ISAKMP_HDR_LEN - 4 - hl, pkt + ISAKMP_HDR_LEN + 4);
	for (int i = 0; i < IKEV1_MAX_QM; i++)
		if (to->qm[i].state != QM_FREE && to->qm[i].msgid == mid)
			q = &to->qm[i];
	if (q)
		memcpy(iv, q->iv, sizeof(iv));
	else if (ikev1_iv_exchange(&to->keys, mid, iv) != 0) {
		free(pkt);
		return;
	}
	if (sa_seal(to, iv, &pkt, &plen) == 0) {
		(void)ikev1_input(to, pkt, plen, &o);
		ikev1_out_clear(&o);
	}
	free(pkt);
}

static void mode_established(const uint8_t *p, size_t n)
{
	static struct ikev1_conf ci, cr;
	static struct ikev1_sa *i0, *r0;
	struct ikev1_sa *i, *r;
	struct ikev1_out a, b, c, d;

	if (!i0) {
		conf_init(&ci, 1, 2);
		conf_init(&cr, 2, 1);
		if (establish(&ci, &cr, &i0, &r0) != 0)
			abort();
	}
	i = clone_sa(i0);
	r = clone_sa(r0);
	if (!i || !r)
		abort();
	while (n >= 8) {
		uint8_t exch = p[0], first = p[5];
		uint32_t mid = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 8 | p[4];
		size_t len = (size_t)p[6] << 8 | p[7];

		p += 8;
		n -= 8;
		if (len > n)
			len = n;
		inject(exch & 0x80 ? i : r, exch & 0x7f, mid, first, p, len);
		p += len;
		n -= len;
	}
	/* the ISAKMP SA still works, unless the fuzzer deleted it */
	if (ikev1_sa_state(i) == IKEV1_ESTABLISHED &&
	    ikev1_sa_state(r) == IKEV1_ESTABLISHED &&
	    ikev1_quick_start(i, &a) == 0) {
		if (ikev1_input(r, a.pkt, a.len, &b) == 0 && b.pkt &&
		    ikev1_input(i, b.pkt, b.len, &c) == 0 && c.child_ready &&
		    ikev1_input(r, c.pkt, c.len, &d) == 0) {
			if (!d.child_ready)
				abort();
			ikev1_out_clear(&d);
		}
		ikev1_out_clear(&a);
		ikev1_out_clear(&b);
		ikev1_out_clear(&c);
	}
	ikev1_sa_free(i);
	ikev1_sa_free(r);
}

/* ---- modes 2 and 3: the last Phase 1 message under the real keys ---- */

static EVP_PKEY *fz_key[2];
static X509 *fz_cert[2];
static STACK_OF(X509) * fz_trust[2];

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
	X509 *x = X509_new();

	if (!x)
		return NULL;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_sign(x, k, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Once per process: two P-256 keys with self-signed certificates, each
 * side pinning the other's (kept for the life of the fuzzer). */
static int pki_once(void)
{
	if (fz_trust[1])
		return 0;
	for (int k = 0; k < 2; k++) {
		fz_key[k] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		fz_cert[k] =
		    fz_key[k] ? self_signed(fz_key[k], k ? "r" : "i") : NULL;
		if (!fz_cert[k])
			return -1;
	}
	for (int k = 0; k < 2; k++) {
		fz_trust[k] = sk_X509_new_null();
		if (!fz_trust[k] || !sk_X509_push(fz_trust[k], fz_cert[!k]))
			return -1;
	}
	return 0;
}

/* Run Phase 1 until the responder waits for the initiator's last
 * message (Main Mode 5 / Aggressive Mode 3); *last = that message. */
static int to_last(const struct ikev1_conf *ci, const struct ikev1_conf *cr,
		   struct ikev1_sa **i, struct ikev1_sa **r,
		   struct ikev1_out *last)
{
	struct ikev1_out a, b;
	struct isakmp_msg m;
	int steps = ci->aggressive_initiate ? 1 : 3;

	*i = *r = NULL;
	if (ikev1_sa_new_initiator(ci, i, &a) != 0)
		return -1;
	if (isakmp_msg_parse(a.pkt, a.len, &m) != 0 ||
	    ikev1_sa_new_responder(cr, &m, r, &b) != 0) {
		ikev1_out_clear(&a);
		return -1;
	}
	ikev1_out_clear(&a);
	for (int step = 0; step < steps; step++) {
		if (ikev1_input(step % 2 ? *r : *i, b.pkt, b.len, &a) != 0) {
			ikev1_out_clear(&b);
			return -1;
		}
		ikev1_out_clear(&b);
		b = a;
	}
	*last = b;
	return 0;
}

/* Once per process and mode: Phase 1 run to the responder's wait for
 * the last message; *r0 and *last0 are kept. */
static void last_once(bool aggressive, struct ikev1_sa **r0,
		      struct ikev1_out *last0)
{
	static struct ikev1_conf cconf[2][2];
	struct ikev1_conf *ci = &cconf[aggressive][0],
			  *cr = &cconf[aggressive][1];
	struct ikev1_sa *i;

	conf_init(ci, 1, 2);
	conf_init(cr, 2, 1);
	if (aggressive) {
		ci->aggressive = ci->aggressive_initiate = cr->aggressive =
		    true;
		ci->initial_contact = true;
	} else {
		if (pki_once() != 0)
			abort();
		for (int k = 0; k < 2; k++) {
			struct ikev1_conf *c = k ? cr : ci;
			c->auth_method = ISAKMP_P1_AUTH_ECDSA_256;
			c->cert = fz_cert[k];
			c->key = fz_key[k];
			c->peer_certs = fz_trust[k];
			c->verify_id = false; /* IPv4 IDs, no subjectAltName */
		}
	}
	if (to_last(ci, cr, &i, r0, last0) != 0)
		abort();
	ikev1_sa_free(i);
}

static void mode_last(const uint8_t *p, size_t n, bool aggressive)
{
	static struct ikev1_sa *r0[2];
	static struct ikev1_out last0[2];
	struct ikev1_sa *r;
	struct ikev1_out o;
	uint8_t exch = aggressive ? ISAKMP_EXCH_AGGRESSIVE : ISAKMP_EXCH_IDPROT;

	if (!r0[aggressive])
		last_once(aggressive, &r0[aggressive], &last0[aggressive]);
	r = clone_sa(r0[aggressive]);
	if (!r)
		abort();
	while (n >= 3) {
		uint8_t first = p[0], iv[CRYPTO_MAX_BLOCK], *pkt;
		size_t len = (size_t)p[1] << 8 | p[2], plen;
		struct isakmp_hdr h;
		struct isakmp_wr b;

		p += 3;
		n -= 3;
		if (len > n)
			len = n;
		sa_hdr(r, &h, exch, 0, true);
		h.np = first;
		isakmp_wr_begin(&b, &h);
		wr_bytes(&b.w, p, len);
		if (isakmp_wr_finish(&b, &pkt, &plen) == 0) {
			pkt[16] = first;
			memcpy(iv, r->keys.iv, sizeof(iv));
			if (sa_seal(r, iv, &pkt, &plen) == 0) {
				(void)ikev1_input(r, pkt, plen, &o);
				ikev1_out_clear(&o);
			}
			free(pkt);
		}
		p += len;
		n -= len;
	}
	/* nothing of the forgeries stayed: the genuine message works,
	 * unless a forgery (signed with the real key?) cannot exist */
	if (ikev1_sa_state(r) != IKEV1_ESTABLISHED) {
		if (ikev1_input(r, last0[aggressive].pkt, last0[aggressive].len,
				&o) != 0 ||
		    !o.established)
			abort();
		ikev1_out_clear(&o);
	}
	ikev1_sa_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0)
		mode_raw(data + 1, size - 1);
	else if (data[0] == 2)
		mode_last(data + 1, size - 1, false);
	else if (data[0] == 3)
		mode_last(data + 1, size - 1, true);
	else
		mode_established(data + 1, size - 1);
	return 0;
}
