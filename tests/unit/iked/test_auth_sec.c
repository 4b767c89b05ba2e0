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

/* ---- certificates made at test time (defect 1) ---- */

static char tmpdir[64];
static EVP_PKEY *k_rsa_a, *k_rsa_b, *k_p256_a, *k_p256_b;

static int group_setup(void **st)
{
	(void)st;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r2authsec.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	k_rsa_a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_rsa_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_p256_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_p256_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return k_rsa_a && k_rsa_b && k_p256_a && k_p256_b ? 0 : -1;
}

static int group_teardown(void **st)
{
	char cmd[128];

	(void)st;
	EVP_PKEY_free(k_rsa_a);
	EVP_PKEY_free(k_rsa_b);
	EVP_PKEY_free(k_p256_a);
	EVP_PKEY_free(k_p256_b);
	if (strncmp(tmpdir, "/tmp/r2authsec.", 15) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return 0;
}

/* A self-signed certificate for key, CN=cn, written as tmpdir/cn.crt
 * (certificate) and tmpdir/cn.key (private key). */
static void make_cert(EVP_PKEY *key, const char *cn)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n;
	char path[256];
	FILE *f;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/%s.crt", tmpdir, cn);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509(f, x));
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", tmpdir, cn);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(x);
}

/* Certificate material of d's remote: sign with mine (NULL: do not
 * sign), accept signatures verified with the pinned certificate peer
 * (NULL: accept none). */
static void certs(struct iked *d, const char *mine, const char *peer)
{
	char c[256], k[256], pc[256], err[256];
	struct auth_cert_params p;

	memset(&p, 0, sizeof(p));
	snprintf(c, sizeof(c), "%s/%s.crt", tmpdir, mine ? mine : "");
	snprintf(k, sizeof(k), "%s/%s.key", tmpdir, mine ? mine : "");
	snprintf(pc, sizeof(pc), "%s/%s.crt", tmpdir, peer ? peer : "");
	p.cert = mine ? c : NULL;
	p.key = mine ? k : NULL;
	p.peer = peer ? pc : NULL;
	p.sign = mine != NULL;
	p.accept = peer != NULL;
	p.send_cert = true;
	p.verify_id = true;
	if (auth_cert_setup(&d->cfg->remote[0], &p, err, sizeof(err)) != 0)
		fail_msg("auth_cert_setup: %s", err);
}

static void no_psk(struct ike_remote *r)
{
	r->have_psk = false;
	r->psk_len = 0;
	memset(r->psk, 0, sizeof(r->psk));
}

/* Nothing established, nothing left on either side. */
static void establish_fails(void)
{
	h_initiate(&A, "peer", NULL, NULL);
	settle();
	assert_null(h_est_any(&A));
	assert_null(h_est_any(&Bd));
	assert_int_equal(h_count_sas(&A), 0);
	assert_int_equal(h_count_sas(&Bd), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

/* ---- defect 1: no PSK AUTH without a PSK, kmp_auth_method ---- */

/*
 * The man in the middle: Alice is certificate-only (no PSK), the
 * responder answers her IKE_SA_INIT and sends AUTH method 2 computed with
 * an empty key.  Alice must not take it.
 */
static void forged_empty_psk(unsigned alice_methods)
{
	make_cert(k_rsa_a, "alice");
	make_cert(k_rsa_b, "bob");
	no_psk(&A.cfg->remote[0]);
	A.cfg->remote[0].auth_methods = alice_methods;
	certs(&A, "alice", "bob");
	/* The attacker's engine: verifies Alice (it need not), answers
	 * with a PSK MIC (wrapped ikev2_auth_psk: 0-octet key). */
	certs(&Bd, NULL, "alice");
	set_psk(&Bd.cfg->remote[0], "x");
	forge_empty_psk = true;
	establish_fails();
}

static void test_forged_psk_cert_only(void **st)
{
	(void)st;
	forged_empty_psk(0); /* credentials decide: certificates only */
}

static void test_forged_psk_rsasig_only(void **st)
{
	(void)st;
	forged_empty_psk(CFG_AUTH_SET | CFG_AUTH_RSASIG);
}

/* kmp_auth_method { psk; rsasig; } but the PSK file was refused
 * (cfg_conf.c leaves have_psk false, psk_len 0). */
static void test_forged_psk_file_refused(void **st)
{
	(void)st;
	forged_empty_psk(CFG_AUTH_SET | CFG_AUTH_PSK | CFG_AUTH_RSASIG);
}

/* The same against a certificate-only responder: the initiator's AUTH
 * method 2 with the empty key is refused (AUTHENTICATION_FAILED). */
static void test_forged_psk_to_responder(void **st)
{
	(void)st;
	make_cert(k_rsa_a, "alice");
	make_cert(k_rsa_b, "bob");
	no_psk(&Bd.cfg->remote[0]);
	certs(&Bd, "bob", "alice");
	certs(&A, NULL, "bob");
	set_psk(&A.cfg->remote[0], "x");
	forge_empty_psk = true;
	establish_fails();
}

/* RFC 7296 §2.15: the crypto layer refuses an empty PSK, and one of
 * zero octets only (HMAC and AES-XCBC pad the key with zeros: it is
 * the empty key). */
static void test_crypto_empty_key(void **st)
{
	static const uint8_t zero[4], key[4] = {1, 2, 3, 4};
	uint8_t out[CRYPTO_MAX_PRF_OUT], mac[CRYPTO_MAX_PRF_OUT];
	struct cbuf part = {(const uint8_t *)"abc", 3};
	size_t ol = 0;

	(void)st;
	assert_int_not_equal(
	    crypto_prf(IKEV2_PRF_HMAC_SHA2_256, zero, 0, &part, 1, out), 0);
	assert_int_not_equal(
	    crypto_prf(IKEV2_PRF_AES128_XCBC, zero, 0, &part, 1, out), 0);
	assert_int_equal(
	    crypto_prf(IKEV2_PRF_HMAC_SHA2_256, key, 4, &part, 1, out), 0);
	assert_int_not_equal(ikev2_auth_psk(IKEV2_PRF_HMAC_SHA2_256, zero, 0,
					    (const uint8_t *)"abc", 3, out,
					    &ol),
			     0);
	assert_int_not_equal(ikev2_auth_psk(IKEV2_PRF_HMAC_SHA2_256, zero, 4,
					    (const uint8_t *)"abc", 3, out,
					    &ol),
			     0);
	/* The MIC an attacker makes with the empty key never verifies. */
	hmac(IKEV2_PRF_HMAC_SHA2_256, NULL, 0,
	     (const uint8_t *)"Key Pad for IKEv2", 17, out, &ol);
	hmac(IKEV2_PRF_HMAC_SHA2_256, out, ol, (const uint8_t *)"abc", 3, mac,
	     &ol);
	assert_int_not_equal(
	    ikev2_auth_psk_verify(IKEV2_PRF_HMAC_SHA2_256, zero, 0,
				  (const uint8_t *)"abc", 3, mac, ol),
	    0);
	assert_int_equal(ikev2_auth_psk(IKEV2_PRF_HMAC_SHA2_256, key, 4,
					(const uint8_t *)"abc", 3, out, &ol),
			 0);
}

/* Initiator: kmp_auth_method { rsasig; } with a PSK configured anyway;
 * the responder answers with the right PSK: refused (the method is not
 * allowed), before and whatever the key. */
static void test_initiator_psk_not_allowed(void **st)
{
	(void)st;
	make_cert(k_rsa_a, "alice");
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_RSASIG;
	certs(&A, "alice", NULL);
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_RSASIG;
	/* Bob: PSK for his AUTH, verifies Alice's certificate. */
	certs(&Bd, NULL, "alice");
	establish_fails();
}

/* Responder: kmp_auth_method { rsasig; } with a PSK configured anyway;
 * Alice authenticates with the right PSK: AUTHENTICATION_FAILED. */
static void test_responder_psk_not_allowed(void **st)
{
	(void)st;
	make_cert(k_rsa_b, "bob");
	Bd.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_RSASIG;
	certs(&Bd, "bob", NULL);
	establish_fails();
}

/* Initiator allows ecdsa256 only; the responder signs with RSA (method
 * 14 or 1): refused. */
static void test_initiator_sig_type_not_allowed(void **st)
{
	(void)st;
	make_cert(k_p256_a, "alice");
	make_cert(k_rsa_b, "bob");
	no_psk(&A.cfg->remote[0]);
	no_psk(&Bd.cfg->remote[0]);
	certs(&A, "alice", "bob");
	certs(&Bd, "bob", "alice");
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_ECDSA256;
	establish_fails();
}

/* Responder allows rsasig only; the initiator signs with ECDSA P-256:
 * AUTHENTICATION_FAILED. */
static void test_responder_sig_type_not_allowed(void **st)
{
	(void)st;
	make_cert(k_p256_a, "alice");
	make_cert(k_rsa_b, "bob");
	no_psk(&A.cfg->remote[0]);
	no_psk(&Bd.cfg->remote[0]);
	certs(&A, "alice", "bob");
	certs(&Bd, "bob", "alice");
	Bd.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_RSASIG;
	establish_fails();
}

/* What is allowed still works: rsasig / ecdsa256 on each side (RFC 7427
 * method 14 with a key of the listed type), digital_signature for any
 * key, psk with a PSK. */
static void test_allowed_methods_work(void **st)
{
	(void)st;
	make_cert(k_p256_a, "alice");
	make_cert(k_rsa_b, "bob");
	no_psk(&A.cfg->remote[0]);
	no_psk(&Bd.cfg->remote[0]);
	certs(&A, "alice", "bob");
	certs(&Bd, "bob", "alice");
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_RSASIG;
	Bd.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_ECDSA256;
	establish();
	h_teardown();
	setup(NULL);
	certs(&A, "alice", "bob");
	certs(&Bd, "bob", "alice");
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_DIGSIG;
	Bd.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_DIGSIG;
	establish();
	h_teardown();
	setup(NULL);
	A.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_PSK;
	Bd.cfg->remote[0].auth_methods = CFG_AUTH_SET | CFG_AUTH_PSK;
	establish();
}

/* ---- defect 4: unauthenticated IKE_SA_INIT error notifies ---- */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Someone on the path answers Alice's IKE_SA_INIT request req before
 * Bob does: an unprotected notify (sent through Bob's engine, so that
 * it looks exactly like one of his). */
static void forge_init_answer(const struct h_pkt *req, uint16_t notify,
			      const void *data, size_t len)
{
	struct ikev2_hdr h;

	memset(&h, 0, sizeof(h));
	h.spi_i = be64(req->data);
	h.exch = IKEV2_EXCH_IKE_SA_INIT;
	send_init_notify(&Bd, &req->dst, &req->from, false, &h, notify, data,
			 len);
}

/* The forged answer is ignored: Alice still waits for the request she
 * sent, and Bob's genuine response then completes the SA. */
static void forged_then_genuine(uint16_t notify, const void *data, size_t len)
{
	char err[160];
	struct h_pkt *req;
	struct ike_sa *a;

	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	req = h_pop();
	assert_non_null(req);
	forge_init_answer(req, notify, data, len);
	h_pump(); /* the forgery reaches Alice */
	a = A.sas;
	assert_non_null(a);
	assert_int_equal(a->state, IKE_S_INIT_SENT);
	assert_true(a->req_out);
	assert_int_equal(a->mid_next, 0);
	/* Bob's real answer arrives later. */
	h_deliver(req);
	free(req);
	h_pump();
	assert_non_null(h_est(&A, NULL));
	assert_non_null(h_est(&Bd, NULL));
	assert_int_equal(kfake_sa_count(&A.kern), 2);
}

static void test_init_forged_no_proposal(void **st)
{
	(void)st;
	forged_then_genuine(IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
}

static void test_init_forged_other_errors(void **st)
{
	static const uint16_t errs[] = {IKEV2_N_INVALID_SYNTAX,
					IKEV2_N_AUTHENTICATION_FAILED,
					IKEV2_N_TEMPORARY_FAILURE, 8191};
	/* INVALID_KE_PAYLOAD naming a group Alice does not accept
	 * (MODP-768) or the one she already uses (MODP-2048). */
	static const uint8_t g_bad[2] = {0, 1}, g_same[2] = {0, 14};
	static const uint8_t big_cookie[65] = {1};

	(void)st;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		forged_then_genuine(errs[i], NULL, 0);
		h_teardown();
		setup(NULL);
	}
	forged_then_genuine(IKEV2_N_INVALID_KE_PAYLOAD, g_bad, 2);
	h_teardown();
	setup(NULL);
	forged_then_genuine(IKEV2_N_INVALID_KE_PAYLOAD, g_same, 2);
	h_teardown();
	setup(NULL);
	forged_then_genuine(IKEV2_N_COOKIE, big_cookie, sizeof(big_cookie));
}

/* With no genuine answer, the forgery does not end the SA either: the
 * request is retransmitted until the normal timeout. */
static void test_init_forged_then_timeout(void **st)
{
	char err[160];
	struct h_pkt *req;
	struct ike_sa *a;
	unsigned i, sent;

	(void)st;
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	req = h_pop();
	forge_init_answer(req, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
	free(req);
	h_pump();
	a = A.sas;
	assert_non_null(a);
	for (i = 0; i < A.cfg->remote[0].max_retry; i++) {
		assert_int_equal(a->state, IKE_S_INIT_SENT);
		sent = h_sent;
		a->rtx.cb(A.loop, &a->rtx, a->rtx.arg);
		assert_int_equal(h_sent, sent + 1); /* retransmitted */
		h_drop_all();
	}
	a->rtx.cb(A.loop, &a->rtx, a->rtx.arg);
	assert_int_equal(a->state, IKE_S_DEAD);
}

/* COOKIE and INVALID_KE_PAYLOAD for an acceptable group are still acted
 * on (§2.6, §1.2). */
static void test_init_cookie_invalid_ke_still_work(void **st)
{
	struct ike_remote *rb = &Bd.cfg->remote[0];

	(void)st;
	rb->cookie_required = true;
	rb->dh.n = 1;
	rb->dh.a[0].id = 19;
	establish();
	assert_int_equal(h_est(&A, NULL)->algs.dh, 19);
	assert_true(Bd.dos.st.cookies_sent >= 1);
}

/* ---- defect 5: the remote chosen by IDi re-checks the IKE suite ---- */

/* Bob does not know Alice's address: IKE_SA_INIT is handled by
 * `default` (default proposals), IKE_AUTH selects "peer" by her ID. */
static struct ike_remote *by_id_config(void)
{
	struct ike_remote *d, *r = &Bd.cfg->remote[0];

	r->peer_any = true;
	assert_int_equal(ike_id_parse("198.51.100.1", &r->peer_id), 0);
	d = cfg_add_remote(Bd.cfg);
	snprintf(d->name, sizeof(d->name), "default");
	d->is_default = true;
	return &Bd.cfg->remote[0]; /* cfg_add_remote may move the array */
}

static void test_switch_remote_dh_not_allowed(void **st)
{
	struct ike_remote *r;

	(void)st;
	r = by_id_config();
	/* "peer" only takes ECP-256; INIT chose MODP-2048 (default). */
	r->dh.n = 1;
	r->dh.a[0].id = 19;
	establish_fails();
}

static void test_switch_remote_encr_not_allowed(void **st)
{
	struct ike_remote *r;

	(void)st;
	r = by_id_config();
	/* "peer" only takes AES-CBC-256; INIT chose AES-CBC-128. */
	r->encr.n = 1;
	r->encr.a[0].id = 12;
	r->encr.a[0].keybits = 256;
	establish_fails();
}

static void test_switch_remote_prf_integ_not_allowed(void **st)
{
	struct ike_remote *r;

	(void)st;
	r = by_id_config();
	r->prf.n = 1;
	r->prf.a[0].id = IKEV2_PRF_HMAC_SHA1;
	establish_fails();
	h_teardown();
	setup(NULL);
	r = by_id_config();
	r->integ.n = 1;
	r->integ.a[0].id = IKEV2_INTEG_HMAC_SHA1_96;
	establish_fails();
}

/* The same suite (in another order) is fine. */
static void test_switch_remote_suite_allowed(void **st)
{
	struct ike_remote *r;

	(void)st;
	r = by_id_config();
	r->dh.n = 2;
	r->dh.a[0].id = 19;
	r->dh.a[1].id = 14;
	establish();
	assert_string_equal(h_est(&Bd, NULL)->remote, "peer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    /* clang-format off */
		T(test_rnd_init_initiator),
		T(test_rnd_init_responder),
		T(test_rnd_cookie_secret),
		T(test_rnd_auth_iv),
		T(test_rnd_child_initiator),
		T(test_rnd_child_responder),
		T(test_rnd_ike_rekey_initiator),
		T(test_rnd_ike_rekey_responder),
		T(test_forged_psk_cert_only),
		T(test_forged_psk_rsasig_only),
		T(test_forged_psk_file_refused),
		T(test_forged_psk_to_responder),
		cmocka_unit_test(test_crypto_empty_key),
		T(test_initiator_psk_not_allowed),
		T(test_responder_psk_not_allowed),
		T(test_initiator_sig_type_not_allowed),
		T(test_responder_sig_type_not_allowed),
		T(test_allowed_methods_work),
		T(test_init_forged_no_proposal),
		T(test_init_forged_other_errors),
		T(test_init_forged_then_timeout),
		T(test_init_cookie_invalid_ke_still_work),
		T(test_switch_remote_dh_not_allowed),
		T(test_switch_remote_encr_not_allowed),
		T(test_switch_remote_prf_integ_not_allowed),
		T(test_switch_remote_suite_allowed),
	    /* clang-format on */
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
