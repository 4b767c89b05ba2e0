/*
 * test_auth_sec.c - regression tests for the authentication and
 * robustness defects of issue 9 (defects 1, 4, 5, 6), with two iked
 * engines in one process (harness.c).
 *
 * Link-time wrapping (meson.build: -Wl,--wrap=...), never test hooks in
 * production code:
 *  - crypto_random: fails on demand (defect 6): every caller must abort
 *    the exchange, never go on with the bytes it did not get;
 *  - ikev2_auth_psk: an attacker's responder that answers with AUTH
 *    method 2 computed with an empty key, which our crypto layer refuses
 *    to compute (defect 1).
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
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "ike/auth_cert.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#include "harness.h"

/* ---- crypto_random failures on demand (defect 6) ---- */

int __real_crypto_random(void *buf, size_t n);
int __wrap_crypto_random(void *buf, size_t n);

static bool rnd_fail;	    /* fail once rnd_budget calls have passed */
static unsigned rnd_budget; /* successful calls left before failing */
static unsigned rnd_failed; /* failures returned since armed */

static void rnd_arm(unsigned budget)
{
	rnd_fail = true;
	rnd_budget = budget;
	rnd_failed = 0;
}

static void rnd_disarm(void)
{
	rnd_fail = false;
}

int __wrap_crypto_random(void *buf, size_t n)
{
	if (!rnd_fail)
		return __real_crypto_random(buf, n);
	if (rnd_budget) {
		rnd_budget--;
		return __real_crypto_random(buf, n);
	}
	/* A caller that loops until it gets a non-zero value without
	 * looking at the result never ends: stop it here. */
	if (++rnd_failed > 1000)
		fail_msg("crypto_random() failure ignored (caller loops)");
	/* What a failing RNG leaves behind is unspecified: zeros. */
	memset(buf, 0, n);
	return -EIO;
}

/* ---- an attacker's PSK AUTH with an empty key (defect 1) ---- */

int __real_ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
			  const uint8_t *octets, size_t octets_len,
			  uint8_t *out, size_t *out_len);
int __wrap_ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
			  const uint8_t *octets, size_t octets_len,
			  uint8_t *out, size_t *out_len);

static bool forge_empty_psk;

/* HMAC-SHA-256 / SHA-1 straight from OpenSSL, which takes an empty key. */
static void hmac(uint16_t prf, const uint8_t *key, size_t klen,
		 const uint8_t *d, size_t dlen, uint8_t *out, size_t *olen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	OSSL_PARAM p[2];
	const char *md = prf == IKEV2_PRF_HMAC_SHA1 ? "SHA1" : "SHA256";

	assert_true(prf == IKEV2_PRF_HMAC_SHA1 ||
		    prf == IKEV2_PRF_HMAC_SHA2_256);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						(char *)md, 0);
	p[1] = OSSL_PARAM_construct_end();
	assert_int_equal(
	    EVP_MAC_init(c, klen ? key : (const uint8_t *)"", klen, p), 1);
	assert_int_equal(EVP_MAC_update(c, d, dlen), 1);
	assert_int_equal(EVP_MAC_final(c, out, olen, CRYPTO_MAX_PRF_OUT), 1);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

int __wrap_ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
			  const uint8_t *octets, size_t octets_len,
			  uint8_t *out, size_t *out_len)
{
	static const char pad[] = "Key Pad for IKEv2";
	uint8_t k[CRYPTO_MAX_PRF_OUT];
	size_t kl;

	if (!forge_empty_psk)
		return __real_ikev2_auth_psk(prf, psk, psk_len, octets,
					     octets_len, out, out_len);
	/* RFC 7296 §2.15: prf(prf(Shared Secret, "Key Pad for IKEv2"),
	 * <octets>) with a 0-octet Shared Secret. */
	hmac(prf, NULL, 0, (const uint8_t *)pad, sizeof(pad) - 1, k, &kl);
	hmac(prf, k, kl, octets, octets_len, out, out_len);
	return 0;
}

/* ---- engines ---- */

static struct iked A, Bd;

static void set_psk(struct ike_remote *r, const char *psk)
{
	r->have_psk = true;
	r->psk_len = strlen(psk);
	memcpy(r->psk, psk, r->psk_len);
}

static int setup(void **st)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 1000};

	(void)st;
	h_log_init();
	h_setup(eng, 2, &o);
	h_peer_config(&A, "198.51.100.1", "198.51.100.2");
	h_peer_config(&Bd, "198.51.100.2", "198.51.100.1");
	set_psk(&A.cfg->remote[0], "s3cret-s3cret-s3cret");
	set_psk(&Bd.cfg->remote[0], "s3cret-s3cret-s3cret");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	rnd_disarm();
	forge_empty_psk = false;
	h_teardown();
	return 0;
}

static unsigned count_children(struct ike_sa *sa)
{
	struct child_sa *c;
	unsigned n = 0;

	for (c = sa ? sa->children : NULL; c; c = c->next)
		if (c->state == CHILD_S_INSTALLED)
			n++;
	return n;
}

static void establish(void)
{
	h_initiate(&A, "peer", NULL, NULL);
	assert_non_null(h_est(&A, NULL));
	assert_non_null(h_est(&Bd, NULL));
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

/* Run each engine's loop once (reapers) without delivering. */
static void settle(void)
{
	ev_run_once(A.loop, 0);
	ev_run_once(Bd.loop, 0);
}

/* ---- defect 6: crypto_random() failures abort ---- */

/* The initiator's SPIi and Ni (RFC 7296 §2.6, §2.10): whichever call
 * fails, nothing goes out and the SA is gone. */
static void test_rnd_init_initiator(void **st)
{
	char err[160];
	unsigned budget;

	(void)st;
	for (budget = 0; budget < 4; budget++) {
		h_sent = 0;
		rnd_arm(budget);
		(void)iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err));
		rnd_disarm();
		if (!rnd_failed) {
			/* Everything the INIT request needs succeeded. */
			h_drop_all();
			break;
		}
		assert_int_equal(h_sent, 0);
		settle();
		assert_int_equal(h_count_sas(&A), 0);
	}
	assert_true(budget > 1); /* SPIi and Ni both came from it */
	/* Nothing left that blocks a normal start. */
	h_teardown();
	setup(NULL);
	establish();
}

/* The responder's SPIr and Nr: no response, no state. */
static void test_rnd_init_responder(void **st)
{
	char err[160];
	struct h_pkt *k;
	unsigned budget;

	(void)st;
	for (budget = 0; budget < 4; budget++) {
		assert_int_equal(
		    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
		k = h_pop();
		assert_non_null(k);
		h_sent = 0;
		rnd_arm(budget);
		h_deliver(k);
		free(k);
		rnd_disarm();
		if (!rnd_failed) {
			h_drop_all();
			break;
		}
		assert_int_equal(h_sent, 0);
		settle();
		assert_int_equal(h_count_sas(&Bd), 0);
		assert_int_equal(Bd.half_open, 0);
		/* Start again from a clean initiator. */
		while (A.sas)
			ike_sa_free(A.sas);
	}
	assert_true(budget > 1);
}

/* The COOKIE secret (§2.6): a cookie made from an all-zero secret is
 * forgeable by anyone; without a secret, no cookie is sent. */
static void test_rnd_cookie_secret(void **st)
{
	char err[160];
	struct h_pkt *k;

	(void)st;
	Bd.cfg->remote[0].cookie_required = true;
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	k = h_pop();
	assert_non_null(k);
	h_sent = 0;
	rnd_arm(0);
	h_deliver(k);
	free(k);
	rnd_disarm();
	assert_true(rnd_failed > 0);
	assert_int_equal(h_sent, 0);
	assert_int_equal(h_count_sas(&Bd), 0);
	/* A later request gets a cookie from a real secret and the SA
	 * comes up. */
	while (A.sas)
		ike_sa_free(A.sas);
	establish();
}

/* The CBC IV of the first encrypted message (RFC 7296 §3.14): IKE_AUTH
 * is not sent and the half-made SA dies at once. */
static void test_rnd_auth_iv(void **st)
{
	char err[160];
	struct h_pkt *k;
	unsigned sent;

	(void)st;
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	k = h_pop(); /* INIT request to Bob */
	h_deliver(k);
	free(k);
	k = h_pop(); /* INIT response to Alice */
	assert_non_null(k);
	sent = h_sent;
	rnd_arm(0);
	h_deliver(k);
	free(k);
	rnd_disarm();
	assert_true(rnd_failed > 0);
	assert_int_equal(h_sent, sent);
	settle();
	assert_int_equal(h_count_sas(&A), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	h_drop_all();
}

/* Add "pol2" on both sides: a CREATE_CHILD_SA for a second child. */
static void second_policy(void)
{
	struct ike_policy *p;

	p = cfg_add_policy(A.cfg);
	*p = A.cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol2");
	p = cfg_add_policy(Bd.cfg);
	*p = Bd.cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol2");
}

/* CREATE_CHILD_SA initiator: Ni of the new child. */
static void test_rnd_child_initiator(void **st)
{
	char err[160];
	unsigned budget, sent;

	(void)st;
	establish();
	second_policy();
	for (budget = 0; budget < 4; budget++) {
		sent = h_sent;
		rnd_arm(budget);
		(void)iked_initiate(&A, "peer", "pol2", NULL, err, sizeof(err));
		rnd_disarm();
		if (!rnd_failed)
			break;
		assert_int_equal(h_sent, sent);
		assert_int_equal(count_children(h_est(&A, NULL)), 1);
		/* No larval SA left behind. */
		assert_int_equal(kfake_sa_count(&A.kern), 2);
	}
	assert_true(budget > 0);
	h_pump();
	assert_int_equal(count_children(h_est(&A, NULL)), 2);
	assert_int_equal(count_children(h_est(&Bd, NULL)), 2);
}

/* CREATE_CHILD_SA responder: Nr.  The child must not be installed with
 * a nonce nobody chose. */
static void test_rnd_child_responder(void **st)
{
	char err[160];
	struct h_pkt *k;

	(void)st;
	establish();
	second_policy();
	assert_int_equal(
	    iked_initiate(&A, "peer", "pol2", NULL, err, sizeof(err)), 0);
	k = h_pop();
	assert_non_null(k);
	rnd_arm(0);
	h_deliver(k);
	free(k);
	rnd_disarm();
	assert_true(rnd_failed > 0);
	h_drop_all();
	assert_int_equal(count_children(h_est(&Bd, NULL)), 1);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
	assert_non_null(h_est(&Bd, NULL));
}

/* IKE SA rekey initiator: new SPI and Ni. */
static void test_rnd_ike_rekey_initiator(void **st)
{
	struct ike_sa *a;
	unsigned budget, sent;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	for (budget = 0; budget < 3; budget++) {
		sent = h_sent;
		rnd_arm(budget);
		ike_queue_ike_rekey(a);
		rnd_disarm();
		if (!rnd_failed)
			break;
		assert_int_equal(h_sent, sent);
		assert_int_equal(a->state, IKE_S_ESTABLISHED);
	}
	assert_true(budget > 1);
	h_pump();
	assert_int_equal(h_count_est(&A), 1);
	assert_int_equal(h_count_est(&Bd), 1);
}

/* IKE SA rekey responder: new SPIr and Nr. */
static void test_rnd_ike_rekey_responder(void **st)
{
	struct h_pkt *k;

	(void)st;
	establish();
	ike_queue_ike_rekey(h_est(&A, NULL));
	k = h_pop();
	assert_non_null(k);
	rnd_arm(0);
	h_deliver(k);
	free(k);
	rnd_disarm();
	assert_true(rnd_failed > 0);
	h_drop_all();
	settle();
	assert_int_equal(h_count_sas(&Bd), 1);
	assert_non_null(h_est(&Bd, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_rnd_init_initiator),	     T(test_rnd_init_responder),
	    T(test_rnd_cookie_secret),	     T(test_rnd_auth_iv),
	    T(test_rnd_child_initiator),     T(test_rnd_child_responder),
	    T(test_rnd_ike_rekey_initiator), T(test_rnd_ike_rekey_responder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
