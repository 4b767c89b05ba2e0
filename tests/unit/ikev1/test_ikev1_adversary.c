/*
 * test_ikev1_adversary.c - seeded adversarial campaigns against two IKEv1
 * engines (src/ikev1) running Aggressive Mode (PSK) and Main Mode with
 * ECDSA certificates, while the adversary owns the network: it drops,
 * duplicates, reorders, replays old datagrams, flips bits and truncates,
 * and the retransmission timers fire at random.  A seed replays the
 * adversary's choices (the engines' own randomness differs, which does
 * not change the oracles).
 *
 * Oracles:
 *  - no crash or sanitizer error, whatever arrives;
 *  - an SA that says ESTABLISHED has the same keys as its peer's, if
 *    that is established too: tampering never yields two ends that
 *    disagree;
 *  - after the adversary stops and the network delivers faithfully
 *    (with retransmissions), a campaign that only dropped, duplicated,
 *    reordered or replayed ends with both sides ESTABLISHED and a Quick
 *    Mode completes;
 *  - credential campaigns (another PSK, an untrusted certificate):
 *    nothing is ESTABLISHED on either side at any step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ikev1/ikev1.h"

#define QMAX  32
#define HMAX  64
#define STEPS 120

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: the adversary's choices only */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32) % (n ? n : 1);
}

static int getspi(void *arg, uint32_t *spi)
{
	static uint32_t n = 0xc0000001;
	(void)arg;
	*spi = n++;
	return 0;
}

struct dgram {
	uint8_t *p;
	size_t len;
	int to; /* 0 initiator, 1 responder */
};

struct net {
	struct dgram q[QMAX];
	unsigned nq;
	struct dgram hist[HMAX]; /* everything ever sent, for replays */
	unsigned nh;
};

static void put(struct net *n, const uint8_t *p, size_t len, int to)
{
	if (!p || !len)
		return;
	if (n->nq < QMAX) {
		n->q[n->nq].p = malloc(len);
		memcpy(n->q[n->nq].p, p, len);
		n->q[n->nq].len = len;
		n->q[n->nq].to = to;
		n->nq++;
	}
	if (n->nh < HMAX) {
		n->hist[n->nh].p = malloc(len);
		memcpy(n->hist[n->nh].p, p, len);
		n->hist[n->nh].len = len;
		n->hist[n->nh].to = to;
		n->nh++;
	}
}

static void net_free(struct net *n)
{
	for (unsigned k = 0; k < n->nq; k++)
		free(n->q[k].p);
	for (unsigned k = 0; k < n->nh; k++)
		free(n->hist[k].p);
	memset(n, 0, sizeof(*n));
}

struct side {
	const struct ikev1_conf *c;
	struct ikev1_sa *sa;
	bool established;
};

static void deliver(struct net *n, struct side s[2], const uint8_t *p,
		    size_t len, int to)
{
	struct ikev1_out o;
	struct isakmp_msg m;

	memset(&o, 0, sizeof(o));
	if (!s[to].sa) {
		/* only the responder is created by a message */
		if (to == 1 && isakmp_msg_parse(p, len, &m) == 0 &&
		    ikev1_sa_new_responder(s[1].c, &m, &s[1].sa, &o) == 0)
			put(n, o.pkt, o.len, 0);
		ikev1_out_clear(&o);
		return;
	}
	(void)ikev1_input(s[to].sa, p, len, &o);
	if (o.established)
		s[to].established = true;
	put(n, o.pkt, o.len, !to);
	ikev1_out_clear(&o);
}

/* Both established: the same Phase 1 keys and IV chain. */
static void agree(struct side s[2])
{
	const struct ikev1_keys *a, *b;

	if (!s[0].sa || !s[1].sa ||
	    ikev1_sa_state(s[0].sa) != IKEV1_ESTABLISHED ||
	    ikev1_sa_state(s[1].sa) != IKEV1_ESTABLISHED)
		return;
	a = ikev1_sa_keys(s[0].sa);
	b = ikev1_sa_keys(s[1].sa);
	assert_memory_equal(a->skeyid_d, b->skeyid_d, a->hlen);
	assert_memory_equal(a->enc_key, b->enc_key, a->keybits / 8u);
}

/* powers: bit 0 drop/dup/reorder/replay, bit 1 mutate */
static void campaign(const struct ikev1_conf *ci, const struct ikev1_conf *cr,
		     uint64_t seed, unsigned powers, bool must_fail)
{
	struct net n;
	struct side s[2] = {{ci, NULL, false}, {cr, NULL, false}};
	struct ikev1_out o;

	memset(&n, 0, sizeof(n));
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	assert_int_equal(ikev1_sa_new_initiator(ci, &s[0].sa, &o), 0);
	put(&n, o.pkt, o.len, 1);
	ikev1_out_clear(&o);
	for (int step = 0; step < STEPS; step++) {
		unsigned act = rnd(10);

		if (n.nq == 0 || act == 9) {
			/* a retransmission timer fires */
			int who = (int)rnd(2);
			if (s[who].sa && ikev1_retransmit(s[who].sa, &o) == 0)
				put(&n, o.pkt, o.len, !who);
			ikev1_out_clear(&o);
			continue;
		}
		unsigned k = (powers & 1) ? rnd(n.nq) : 0;
		struct dgram d = n.q[k];
		memmove(&n.q[k], &n.q[k + 1], (n.nq - k - 1) * sizeof(d));
		n.nq--;
		if ((powers & 1) && act == 0) {
			free(d.p); /* dropped */
			continue;
		}
		if ((powers & 1) && act == 1)
			put(&n, d.p, d.len, d.to); /* duplicated */
		if ((powers & 1) && act == 2 && n.nh) {
			struct dgram *h = &n.hist[rnd(n.nh)];
			deliver(&n, s, h->p, h->len, h->to); /* replay */
		}
		if ((powers & 2) && act == 3)
			d.p[rnd((uint32_t)d.len)] ^= (uint8_t)(1u << rnd(8));
		if ((powers & 2) && act == 4)
			d.len = rnd((uint32_t)d.len);
		deliver(&n, s, d.p, d.len, d.to);
		free(d.p);
		if (must_fail) {
			assert_false(s[0].established);
			assert_false(s[1].established);
		}
		agree(s);
	}
	/* the adversary stops: faithful delivery with retransmissions */
	for (int round = 0; round < 12 && !must_fail; round++) {
		while (n.nq) {
			struct dgram d = n.q[0];
			memmove(&n.q[0], &n.q[1], (n.nq - 1) * sizeof(d));
			n.nq--;
			deliver(&n, s, d.p, d.len, d.to);
			free(d.p);
			agree(s);
		}
		for (int who = 0; who < 2; who++) {
			if (s[who].sa && ikev1_retransmit(s[who].sa, &o) == 0)
				put(&n, o.pkt, o.len, !who);
			ikev1_out_clear(&o);
		}
	}
	if (must_fail) {
		assert_false(s[0].established);
		assert_false(s[1].established);
	} else if (!(powers & 2)) {
		/* nothing was forged: both ends got there, and agree */
		assert_non_null(s[1].sa);
		assert_int_equal(ikev1_sa_state(s[0].sa), IKEV1_ESTABLISHED);
		assert_int_equal(ikev1_sa_state(s[1].sa), IKEV1_ESTABLISHED);
		agree(s);
		struct ikev1_out q1, q2, q3, q4;
		assert_int_equal(ikev1_quick_start(s[0].sa, &q1), 0);
		assert_int_equal(ikev1_input(s[1].sa, q1.pkt, q1.len, &q2), 0);
		assert_int_equal(ikev1_input(s[0].sa, q2.pkt, q2.len, &q3), 0);
		assert_true(q3.child_ready);
		assert_int_equal(ikev1_input(s[1].sa, q3.pkt, q3.len, &q4), 0);
		assert_true(q4.child_ready);
		ikev1_out_clear(&q1);
		ikev1_out_clear(&q2);
		ikev1_out_clear(&q3);
		ikev1_out_clear(&q4);
	}
	ikev1_sa_free(s[0].sa);
	ikev1_sa_free(s[1].sa);
	net_free(&n);
}

static void conf_base(struct ikev1_conf *c, bool left)
{
	static const uint8_t a[4] = {198, 51, 100, 1}, b[4] = {198, 51, 100, 2};
	static const uint8_t na[4] = {203, 0, 113, 1}, nb[4] = {203, 0, 113, 2};

	memset(c, 0, sizeof(*c));
	c->psk = (const uint8_t *)"adversary-psk";
	c->psk_len = 13;
	c->id_type = c->peer_id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c->id, left ? a : b, 4);
	memcpy(c->peer_id, left ? b : a, 4);
	c->id_len = c->peer_id_len = 4;
	c->p1[c->n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 128, ISAKMP_P1_HASH_SHA2_256, 19, 3600};
	c->p2[c->n_p2++] = (struct ikev1_p2_suite){
	    ISAKMP_ESP_AES_CBC, 128, ISAKMP_AUTH_HMAC_SHA2_256, 600};
	c->pfs_group = 19;
	assert_int_equal(
	    isakmp_id_from_prefix(&c->ts_local, 2, left ? na : nb, 32, 0, 0),
	    0);
	assert_int_equal(
	    isakmp_id_from_prefix(&c->ts_remote, 2, left ? nb : na, 32, 0, 0),
	    0);
	c->getspi = getspi;
}

static void aggressive(void **state)
{
	struct ikev1_conf ci, cr;

	(void)state;
	conf_base(&ci, true);
	conf_base(&cr, false);
	ci.aggressive = ci.aggressive_initiate = cr.aggressive = true;
	for (uint64_t seed = 1; seed <= 25; seed++) {
		campaign(&ci, &cr, seed, 1, false); /* outsider, no forgery */
		campaign(&ci, &cr, seed, 3, false); /* with mutations */
	}
	/* credential campaign: another PSK */
	cr.psk = (const uint8_t *)"mallory";
	cr.psk_len = 7;
	for (uint64_t seed = 1; seed <= 10; seed++)
		campaign(&ci, &cr, seed, 3, true);
}

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
	X509 *x = X509_new();

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static void certificates(void **state)
{
	struct ikev1_conf ci, cr;
	EVP_PKEY *k[3];
	X509 *x[3];
	STACK_OF(X509) * t[2];

	(void)state;
	for (int j = 0; j < 3; j++) {
		k[j] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_non_null(k[j]);
		x[j] = self_signed(k[j], j == 0	  ? "i"
					 : j == 1 ? "r"
						  : "mallory");
	}
	t[0] = sk_X509_new_null();
	t[1] = sk_X509_new_null();
	sk_X509_push(t[0], x[1]); /* the initiator pins r */
	sk_X509_push(t[1], x[0]); /* the responder pins i */
	conf_base(&ci, true);
	conf_base(&cr, false);
	ci.auth_method = cr.auth_method = ISAKMP_P1_AUTH_ECDSA_256;
	ci.psk = cr.psk = NULL;
	ci.psk_len = cr.psk_len = 0;
	ci.cert = x[0];
	ci.key = k[0];
	ci.peer_certs = t[0];
	cr.cert = x[1];
	cr.key = k[1];
	cr.peer_certs = t[1];
	for (uint64_t seed = 1; seed <= 15; seed++) {
		campaign(&ci, &cr, seed, 1, false);
		campaign(&ci, &cr, seed, 3, false);
	}
	/* credential campaign: mallory's certificate and key */
	ci.cert = x[2];
	ci.key = k[2];
	for (uint64_t seed = 1; seed <= 8; seed++)
		campaign(&ci, &cr, seed, 3, true);
	sk_X509_free(t[0]);
	sk_X509_free(t[1]);
	for (int j = 0; j < 3; j++) {
		X509_free(x[j]);
		EVP_PKEY_free(k[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(aggressive),
	    cmocka_unit_test(certificates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
