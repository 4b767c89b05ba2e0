/*
 * test_iked.c - the iked engine end to end in one process: two struct
 * iked ("alice" initiates, "bob" responds) on the fake kernel backend,
 * their packets carried by the send hook through a queue that a test
 * can inspect, drop or duplicate.  Covers IKE_SA_INIT/IKE_AUTH with a
 * CHILD SA, INVALID_KE_PAYLOAD retry (IKE_SA_INIT, CHILD with PFS, IKE
 * rekey), COOKIE, retransmission and the
 * response cache, CHILD and IKE rekey from either side, simultaneous
 * CHILD rekey (RFC 7296 §2.8.1), DELETE from either side, wrong PSK,
 * the responder's default-remote fallback with selection by ID, the
 * ACQUIRE packet as first TS (§2.9) and kernel byte-lifetime EXPIREs.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ike/cwork.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/v1.h"
#include "lib/log.h"

#include "harness.h"
/* src/ike/meson.build builds this file alone (see meson.build here). */

static struct iked A, Bd;

/* Alice's and Bob's "peer" remotes know each other by address and PSK. */
static void peer_config(struct iked *d, const char *me, const char *peer,
			const char *psk)
{
	struct ike_remote *r;

	h_peer_config(d, me, peer);
	r = &d->cfg->remote[0];
	ike_id_parse(me, &r->my_id);
	ike_id_parse(peer, &r->peer_id);
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
	peer_config(&A, "198.51.100.1", "198.51.100.2", "s3cret");
	peer_config(&Bd, "198.51.100.2", "198.51.100.1", "s3cret");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

/* The one established IKE SA (fails if two). */
static struct ike_sa *live_sa(struct iked *d)
{
	return h_est(d, NULL);
}

static unsigned count_children(struct ike_sa *sa, enum child_state st)
{
	struct child_sa *c;
	unsigned n = 0;

	for (c = sa ? sa->children : NULL; c; c = c->next)
		if (c->state == st)
			n++;
	return n;
}

static void establish(void)
{
	struct ike_sa *a, *b;

	h_initiate(&A, "peer", NULL, NULL);
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->initiator);
	assert_false(b->initiator);
	assert_int_equal(a->spi_i, b->spi_i);
	assert_int_equal(a->spi_r, b->spi_r);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	assert_int_equal(a->children->spi_out, b->children->spi_in);
	assert_int_equal(a->children->reqid, 7);
	/* IKE_AUTH done: the IKE_SA_INIT material is freed at both ends;
	 * the CHILD SA keeps a copy of its exchange's lowest nonce (the
	 * same at both ends, §2.8.1), no longer an inline 256 octets. */
	assert_null(a->init);
	assert_null(b->init);
	/* Kept of the key expansion: SK_d (the same at both ends) and the
	 * SK contexts' keys, crossed (SK_ei/SK_ai out at the initiator, in
	 * at the responder). */
	assert_true(a->keys.prf_len > 0);
	assert_int_equal(a->keys.prf_len, b->keys.prf_len);
	assert_memory_equal(a->keys.sk_d, b->keys.sk_d, a->keys.prf_len);
	assert_int_equal(a->sk_out.elen, b->sk_in.elen);
	assert_memory_equal(a->sk_out.ekey, b->sk_in.ekey, a->sk_out.elen);
	assert_memory_equal(a->sk_in.ekey, b->sk_out.ekey, a->sk_in.elen);
	assert_memory_not_equal(a->sk_in.ekey, a->sk_out.ekey, a->sk_in.elen);
	assert_non_null(a->children->nonce_min);
	assert_true(a->children->nonce_min_len >= 16);
	assert_int_equal(a->children->nonce_min_len,
			 b->children->nonce_min_len);
	assert_memory_equal(a->children->nonce_min, b->children->nonce_min,
			    a->children->nonce_min_len);
	/* in + out on each side, in each fake kernel */
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static void test_establish(void **st)
{
	(void)st;
	establish();
	/* IKE_SA_INIT + IKE_AUTH: four messages, nothing else. */
	assert_int_equal(h_sent, 4);
}

/* RFC 6023: both announce CHILDLESS_IKEV2_SUPPORTED; with `childless
 * on` the initiator's IKE_AUTH carries no CHILD SA, which follows in
 * CREATE_CHILD_SA. */
static void test_childless(void **st)
{
	(void)st;
	A.cfg->remote[0].childless = true;
	establish();
	assert_true(live_sa(&A)->childless);
	assert_true(live_sa(&Bd)->childless);
	/* INIT, AUTH and CREATE_CHILD_SA: six messages */
	assert_int_equal(h_sent, 6);
	assert_int_equal(live_sa(&A)->mid_next, 3);
}

static void test_invalid_ke(void **st)
{
	struct ike_remote *rb = &Bd.cfg->remote[0];

	(void)st;
	/* Alice offers MODP-2048 first, Bob only takes ECP-256. */
	rb->dh.n = 1;
	rb->dh.a[0].id = 19;
	establish();
	assert_int_equal(live_sa(&A)->algs.dh, 19);
	assert_int_equal(h_sent, 6); /* INIT, INVALID_KE, INIT, resp, AUTH */
}

static void test_cookie(void **st)
{
	(void)st;
	Bd.cfg->remote[0].cookie_required = true;
	establish();
	assert_int_equal(h_sent, 6);
	assert_int_equal(Bd.dos.st.cookies_sent, 1);
	/* IKE_AUTH done: the IKE_SA_INIT material (cookie included) is
	 * freed at both ends. */
	assert_null(live_sa(&A)->init);
	assert_null(live_sa(&Bd)->init);
}

static void test_retransmit_and_cache(void **st)
{
	struct ike_sa *a;
	struct h_pkt *k;
	unsigned before;
	char err[64];

	(void)st;
	establish();
	a = live_sa(&A);
	/* A liveness check: a request that leaves the SA in place. */
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	/* Lose the response once. */
	k = h_pop();
	assert_non_null(k);
	h_deliver(k);
	free(k);
	h_drop_all();
	assert_true(a->req_out);
	/* Timer fires: same request again; Bob answers from his cache. */
	before = h_sent;
	a->rtx.cb(A.loop, &a->rtx, a->rtx.arg);
	assert_int_equal(h_sent, before + 1);
	h_pump();
	assert_false(a->req_out);
	assert_int_equal(a->mid_next, 3);
	assert_int_equal(live_sa(&Bd)->peer_mid_next, 3);
	(void)err;
	assert_non_null(live_sa(&A));
	assert_non_null(live_sa(&Bd));
	assert_int_equal(h_count_sas(&A), 1);
	assert_int_equal(h_count_sas(&Bd), 1);
}

/* Crypto workers (cwork.h): the responder's DH and key derivation run
 * in two threads and come back through the loop's eventfd; an SA that
 * dies while its job is out is not answered, and nothing leaks. */
static void settle_workers(void)
{
	for (int i = 0; i < 500; i++) {
		ev_run_once(Bd.loop, 5);
		if (!h_pump() && !cwork_pending(&Bd) && h_count_est(&Bd) &&
		    h_count_est(&A))
			return;
	}
}

static void test_workers(void **st)
{
	struct ike_sa *sa, *b;
	unsigned before;

	(void)st;
	assert_int_equal(cwork_start(&Bd, 2), 0);
	h_initiate(&A, "peer", NULL, NULL);
	/* the IKE_SA_INIT request is in a worker: no answer yet */
	for (sa = Bd.sas; sa && !sa->init_pending; sa = sa->next)
		;
	if (sa) /* (a fast worker may be done already) */
		assert_int_equal(sa->state, IKE_S_NEW);
	settle_workers();
	assert_int_equal(cwork_pending(&Bd), 0);
	b = live_sa(&Bd);
	assert_non_null(b);
	assert_non_null(live_sa(&A));
	assert_int_equal(live_sa(&A)->spi_r, b->spi_r);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);

	/* a second negotiation whose responder SA is killed and freed
	 * while its job is out: the job's result finds no SA */
	while (A.sas)
		ike_sa_free(A.sas);
	A.cfg->remote[0].initial_contact = false;
	before = h_count_sas(&Bd);
	{
		char err[160];
		assert_int_equal(
		    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	}
	{
		struct h_pkt *k = h_pop(); /* A's IKE_SA_INIT, to Bd */
		assert_non_null(k);
		h_deliver(k);
		free(k);
	}
	for (sa = Bd.sas; sa && !sa->init_pending; sa = sa->next)
		;
	if (sa) {
		ike_sa_kill(sa, "test");
		ike_sa_free(sa);
		for (int i = 0; i < 200 && cwork_pending(&Bd); i++)
			ev_run_once(Bd.loop, 5);
		assert_int_equal(cwork_pending(&Bd), 0);
		assert_null(h_pop()); /* nothing answered */
		assert_int_equal(h_count_sas(&Bd), before);
	}
	h_drop_all();
	cwork_stop(&Bd);
	assert_int_equal(cwork_pending(&Bd), 0);
}

static void test_giveup(void **st)
{
	struct ike_sa *a;
	unsigned i;

	(void)st;
	establish();
	a = live_sa(&A);
	ike_queue_ike_rekey(a);
	h_drop_all();
	for (i = 0; i <= A.cfg->remote[0].max_retry; i++) {
		assert_int_equal(a->state, IKE_S_ESTABLISHED);
		a->rtx.cb(A.loop, &a->rtx, a->rtx.arg);
		h_drop_all();
	}
	assert_int_equal(a->state, IKE_S_DEAD);
	/* Its children left the kernel. */
	assert_int_equal(kfake_sa_count(&A.kern), 0);
}

static void test_child_rekey(void **st, bool from_a)
{
	struct ike_sa *a, *b;
	uint32_t old_in;

	(void)st;
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	old_in = a->children->spi_in;
	ike_queue_child_rekey(from_a ? a : b,
			      from_a ? a->children : b->children);
	h_pump();
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_int_equal(a->children->next, NULL);
	assert_int_not_equal(a->children->spi_in, old_in);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static void test_child_rekey_a(void **st)
{
	test_child_rekey(st, true);
}

static void test_child_rekey_b(void **st)
{
	test_child_rekey(st, false);
}

static void test_child_rekey_collision(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	/* Both start before seeing the other's request. */
	ike_queue_child_rekey(a, a->children);
	ike_queue_child_rekey(b, b->children);
	h_pump();
	/* §2.8.1: one surviving pair, redundant and old SAs gone. */
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_null(a->children->next);
	assert_null(b->children->next);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static void test_ike_rekey(void **st, bool from_a)
{
	struct ike_sa *a, *b;
	uint64_t old_spi;

	(void)st;
	establish();
	a = live_sa(&A);
	old_spi = a->spi_i;
	ike_queue_ike_rekey(from_a ? a : live_sa(&Bd));
	h_pump();
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_not_equal(a->spi_i, old_spi);
	assert_int_equal(a->spi_i, b->spi_i);
	assert_int_equal(a->initiator, from_a);
	assert_int_equal(h_count_sas(&A), 1);
	assert_int_equal(h_count_sas(&Bd), 1);
	/* §2.8.2: the successor's lowest nonce, the same at both ends. */
	assert_non_null(a->nonce_min);
	assert_int_equal(a->nonce_min_len, b->nonce_min_len);
	assert_memory_equal(a->nonce_min, b->nonce_min, a->nonce_min_len);
	/* The children moved and still work: rekey one over the new SA. */
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	ike_queue_child_rekey(a, a->children);
	h_pump();
	assert_int_equal(count_children(live_sa(&Bd), CHILD_S_INSTALLED), 1);
}

static void test_ike_rekey_a(void **st)
{
	test_ike_rekey(st, true);
}

static void test_ike_rekey_b(void **st)
{
	test_ike_rekey(st, false);
}

static void test_ike_rekey_collision(void **st)
{
	(void)st;
	establish();
	ike_queue_ike_rekey(live_sa(&A));
	ike_queue_ike_rekey(live_sa(&Bd));
	h_pump();
	assert_int_equal(h_count_sas(&A), 1);
	assert_int_equal(h_count_sas(&Bd), 1);
	assert_int_equal(live_sa(&A)->spi_i, live_sa(&Bd)->spi_i);
	assert_int_equal(count_children(live_sa(&A), CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(live_sa(&Bd), CHILD_S_INSTALLED), 1);
}

static void test_delete(void **st, bool from_a, bool child)
{
	struct ike_sa *a, *b;

	(void)st;
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	if (child)
		ike_queue_child_delete(from_a ? a : b,
				       from_a ? a->children : b->children);
	else
		ike_queue_ike_delete(from_a ? a : b);
	h_pump();
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
	if (child) {
		assert_null(a->children);
		assert_null(b->children);
	} else {
		assert_int_equal(h_count_sas(&A), 0);
		assert_int_equal(h_count_sas(&Bd), 0);
	}
}

/* An AH policy (sa_index { ah; }) on both ends. */
static void ah_policy(struct iked *d, uint16_t integ)
{
	struct ike_policy *p = &d->cfg->policy[0];

	p->ipsec_proto = IPPROTO_AH;
	p->esp_encr.n = 0;
	p->esp_integ.n = 1;
	p->esp_integ.a[0].id = integ;
	p->esp_integ.a[0].keybits = 0;
}

/* The SA of a CHILD SA in a fake kernel: AH, integrity only. */
static void assert_ah_sa(struct iked *d, const char *dst, uint32_t spi,
			 uint16_t integ)
{
	struct ksa k;
	struct kaddr a;

	assert_int_equal(kaddr_parse(dst, &a), 0);
	assert_int_equal(k_sa_get(&d->kern, IPPROTO_AH, &a, spi, &k, NULL), 0);
	assert_int_equal(k.proto, IPPROTO_AH);
	assert_int_equal(k.encr_id, 0);
	assert_int_equal(k.enc_key_len, 0);
	assert_int_equal(k.integ_id, integ);
	assert_int_equal(k.auth_key_len, 32);
	ksa_wipe(&k);
}

/* RFC 7296 §3.3 protocol 2: an AH CHILD SA negotiated in IKE_AUTH,
 * installed as AH SAs on both ends with the same integrity keys, rekeyed
 * (REKEY_SA names protocol AH) and deleted (Delete payload of protocol
 * AH), the kernels empty after. */
static void test_ah_child(void **st)
{
	struct ike_sa *a, *b;
	struct ksa ka, kb;
	struct kaddr addr_b;
	uint32_t old_in;

	(void)st;
	ah_policy(&A, IKEV2_INTEG_HMAC_SHA2_256_128);
	ah_policy(&Bd, IKEV2_INTEG_HMAC_SHA2_256_128);
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_int_equal(a->children->proto, IPPROTO_AH);
	assert_int_equal(b->children->proto, IPPROTO_AH);
	assert_int_equal(a->children->algs.proto, IKEV2_PROTO_AH);
	assert_ah_sa(&A, "198.51.100.1", a->children->spi_in,
		     IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_ah_sa(&A, "198.51.100.2", a->children->spi_out,
		     IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_ah_sa(&Bd, "198.51.100.2", b->children->spi_in,
		     IKEV2_INTEG_HMAC_SHA2_256_128);
	/* A's outbound key is B's inbound key (RFC 7296 §2.17) */
	assert_int_equal(kaddr_parse("198.51.100.2", &addr_b), 0);
	assert_int_equal(k_sa_get(&A.kern, IPPROTO_AH, &addr_b,
				  a->children->spi_out, &ka, NULL),
			 0);
	assert_int_equal(k_sa_get(&Bd.kern, IPPROTO_AH, &addr_b,
				  b->children->spi_in, &kb, NULL),
			 0);
	assert_memory_equal(ka.auth_key, kb.auth_key, 32);
	ksa_wipe(&ka);
	ksa_wipe(&kb);

	old_in = a->children->spi_in;
	ike_queue_child_rekey(b, b->children);
	h_pump();
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_not_equal(a->children->spi_in, old_in);
	assert_int_equal(a->children->proto, IPPROTO_AH);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);

	ike_queue_child_delete(a, a->children);
	h_pump();
	assert_null(a->children);
	assert_null(b->children);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

/* An AH offer to an ESP-only responder: no CHILD SA (NO_PROPOSAL_CHOSEN,
 * §3.10.1), nothing installed, the IKE SA stays. */
static void test_ah_vs_esp(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	ah_policy(&A, IKEV2_INTEG_HMAC_SHA2_256_128);
	h_initiate(&A, "peer", NULL, NULL);
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 0);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

/* ESP + IPComp (sa_index { esp; ipcomp; }): DEFLATE offered. */
static void ipcomp_policy(struct iked *d)
{
	struct ike_policy *p = &d->cfg->policy[0];

	p->ipcomp[0] = IKEV2_IPCOMP_DEFLATE;
	p->n_ipcomp = 1;
}

/* The IPComp SA of cpi at dst in a fake kernel. */
static void assert_comp_sa(struct iked *d, const char *dst, uint16_t cpi)
{
	struct ksa k;
	struct kaddr a;

	assert_int_equal(kaddr_parse(dst, &a), 0);
	assert_int_equal(k_sa_get(&d->kern, IPPROTO_COMP, &a, cpi, &k, NULL),
			 0);
	assert_int_equal(k.proto, IPPROTO_COMP);
	assert_int_equal(k.comp_id, IKEV2_IPCOMP_DEFLATE);
	assert_int_equal(k.enc_key_len + k.auth_key_len, 0);
	ksa_wipe(&k);
}

/* RFC 7296 §2.22: IPCOMP_SUPPORTED in IKE_AUTH and CREATE_CHILD_SA; each
 * end installs an IPComp pair beside the ESP SAs, the peer's CPI
 * outbound; a rekey negotiates new CPIs, the old pair goes with the old
 * ESP SA; a Delete of the ESP SA removes its IPComp SAs (§3.11). */
static void test_ipcomp_child(void **st)
{
	struct ike_sa *a, *b;
	uint16_t old_cpi;

	(void)st;
	ipcomp_policy(&A);
	ipcomp_policy(&Bd);
	h_initiate(&A, "peer", NULL, NULL);
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_int_equal(a->children->ipcomp, IKEV2_IPCOMP_DEFLATE);
	assert_int_equal(b->children->ipcomp, IKEV2_IPCOMP_DEFLATE);
	assert_int_equal(a->children->cpi_out, b->children->cpi_in);
	assert_int_equal(b->children->cpi_out, a->children->cpi_in);
	assert_in_range(a->children->cpi_in, 256, 61439);
	assert_comp_sa(&A, "198.51.100.1", a->children->cpi_in);
	assert_comp_sa(&A, "198.51.100.2", a->children->cpi_out);
	assert_comp_sa(&Bd, "198.51.100.2", b->children->cpi_in);
	assert_comp_sa(&Bd, "198.51.100.1", b->children->cpi_out);
	assert_int_equal(kfake_sa_count(&A.kern), 4);
	assert_int_equal(kfake_sa_count(&Bd.kern), 4);

	old_cpi = a->children->cpi_in;
	ike_queue_child_rekey(b, b->children);
	h_pump();
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(a->children->ipcomp, IKEV2_IPCOMP_DEFLATE);
	assert_int_not_equal(a->children->cpi_in, old_cpi);
	assert_int_equal(a->children->cpi_in, b->children->cpi_out);
	assert_int_equal(a->children->cpi_out, b->children->cpi_in);
	assert_int_equal(kfake_sa_count(&A.kern), 4);
	assert_int_equal(kfake_sa_count(&Bd.kern), 4);

	ike_queue_child_delete(a, a->children);
	h_pump();
	assert_null(a->children);
	assert_null(b->children);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

/* The responder's CHILD SA install (one k_batch, child.c) fails in the
 * middle: the SAs of the batch that were added, and the larval ones of
 * getspi, are all removed; the child is not made, the IKE SA stays. */
static const struct kernel_ops *fail_real;
static bool (*fail_when)(const struct ksa *sa);

static int fail_sa_add(struct kernel *k, const struct ksa *sa)
{
	if (fail_when(sa)) {
		snprintf(k->last_error, sizeof(k->last_error), "test: refused");
		return -ENOBUFS;
	}
	return fail_real->sa_add(k, sa);
}

static bool fail_esp_in(const struct ksa *sa)
{
	return sa->proto == IPPROTO_ESP && sa->update;
}

static bool fail_comp_out(const struct ksa *sa)
{
	return sa->proto == IPPROTO_COMP && !sa->update;
}

static void install_fails(bool (*when)(const struct ksa *sa), bool comp)
{
	static struct kernel_ops wrap;
	struct ike_sa *b;

	if (comp) {
		ipcomp_policy(&A);
		ipcomp_policy(&Bd);
	}
	fail_real = Bd.kern.ops;
	wrap = *fail_real;
	wrap.sa_add = fail_sa_add;
	wrap.batch = NULL;
	fail_when = when;
	Bd.kern.ops = &wrap;
	h_initiate(&A, "peer", NULL, NULL);
	b = live_sa(&Bd);
	assert_non_null(b);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
	assert_int_equal(count_children(live_sa(&A), CHILD_S_INSTALLED), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	Bd.kern.ops = fail_real;
}

static void test_install_fails_in(void **st)
{
	(void)st;
	install_fails(fail_esp_in, false);
}

static void test_install_fails_comp_out(void **st)
{
	(void)st;
	install_fails(fail_comp_out, true);
}

/* A peer whose policy has no IPComp ignores IPCOMP_SUPPORTED (§2.22):
 * the CHILD SA is ESP alone on both ends, the initiator's larval CPI is
 * gone; the same from the other side (an offer nobody asked for). */
static void test_ipcomp_declined(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	ipcomp_policy(&A);
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(a->children->ipcomp, 0);
	assert_int_equal(a->children->cpi_in, 0);
	assert_int_equal(b->children->ipcomp, 0);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
	/* B now wants IPComp, A does not: B's CREATE_CHILD_SA rekey */
	A.cfg->policy[0].n_ipcomp = 0;
	ipcomp_policy(&Bd);
	ike_queue_child_rekey(b, b->children);
	h_pump();
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_int_equal(b->children->ipcomp, 0);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static void test_delete_ike_a(void **st)
{
	test_delete(st, true, false);
}
static void test_delete_ike_b(void **st)
{
	test_delete(st, false, false);
}
static void test_delete_child_a(void **st)
{
	test_delete(st, true, true);
}
static void test_delete_child_b(void **st)
{
	test_delete(st, false, true);
}

static void test_wrong_psk(void **st)
{
	(void)st;
	Bd.cfg->remote[0].psk[0] ^= 1;
	h_initiate(&A, "peer", NULL, NULL);
	assert_int_equal(h_count_sas(&A), 0);
	assert_int_equal(h_count_sas(&Bd), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
}

static void test_default_remote(void **st)
{
	struct ike_remote *d, *r = &Bd.cfg->remote[0];

	(void)st;
	/* Bob does not know Alice's address: IKE_SA_INIT is handled by
	 * `default`, IKE_AUTH picks "peer" by Alice's ID. */
	r->peer_any = true;
	d = cfg_add_remote(Bd.cfg);
	snprintf(d->name, sizeof(d->name), "default");
	d->is_default = true;
	establish();
	assert_string_equal(live_sa(&Bd)->remote, "peer");
}

/* An IP_RW remote without peers_id takes any identity that proves its
 * PSK (a group PSK), after every remote that names the identity or the
 * address; a wrong PSK is still refused. */
static void test_rw_any_identity(void **st, bool right_psk)
{
	struct ike_remote *d, *r = &Bd.cfg->remote[0];

	r->peer_any = true;
	memset(&r->peer_id, 0, sizeof(r->peer_id));
	if (!right_psk)
		memcpy(r->psk, "S3cret", 6);
	d = cfg_add_remote(Bd.cfg);
	snprintf(d->name, sizeof(d->name), "default");
	d->is_default = true;
	if (right_psk) {
		establish();
		assert_string_equal(live_sa(&Bd)->remote, "peer");
	} else {
		h_initiate(&A, "peer", NULL, NULL);
		assert_int_equal(h_count_est(&A), 0);
		assert_int_equal(h_count_est(&Bd), 0);
	}
	(void)st;
}

static void test_rw_any_identity_ok(void **st)
{
	test_rw_any_identity(st, true);
}

static void test_rw_any_identity_bad_psk(void **st)
{
	test_rw_any_identity(st, false);
}

static void test_second_child_and_dpd(void **st)
{
	struct ike_policy *p;
	struct ike_sa *a;
	struct task *t;

	(void)st;
	establish();
	/* A second policy gives a CREATE_CHILD_SA for a new child. */
	p = cfg_add_policy(A.cfg);
	*p = A.cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol2");
	p = cfg_add_policy(Bd.cfg);
	*p = Bd.cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol2");
	h_initiate(&A, "peer", "pol2", NULL);
	a = live_sa(&A);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 2);
	assert_int_equal(count_children(live_sa(&Bd), CHILD_S_INSTALLED), 2);
	/* A liveness check is an empty INFORMATIONAL. */
	t = task_new(TASK_DPD);
	task_queue(a, t);
	task_run(a);
	assert_int_equal(h_pump(), 2);
	assert_int_equal(a->state, IKE_S_ESTABLISHED);
}

/* A coarse timer (ev.h): in the loop's wheel (the top bit of heap_idx,
 * src/lib/ev.c), its deadline on the EV_COARSE_MS grid. */
static bool coarse_timer(const struct ev_timer *t)
{
	return ev_timer_active(t) &&
	       t->heap_idx >> (sizeof(size_t) * 8 - 1) == 1 &&
	       t->when_ms % EV_COARSE_MS == 0;
}

/* t is due `ms` after t0, give or take the coarse grid (and 5 ms of
 * clock between the two readings) */
static bool due_in(const struct ev_timer *t, uint64_t t0, uint64_t ms)
{
	return t->when_ms - t0 >= ms - 5 &&
	       t->when_ms - t0 <= ms + EV_COARSE_MS + 5;
}

/* The check timer (dpd.c): due dpd_delay after the SA went quiet, plus
 * up to 10 % jitter so that SAs set up together spread out (a coarse
 * timer: on the 20 ms grid, in the wheel); a fire after something was
 * heard waits only for the rest of dpd_delay.  The check's
 * retransmission timer and the SA's lifetime timer are coarse too, and
 * the answer stops the retransmission timer. */
static void test_dpd_timer_jitter(void **st)
{
	struct ike_sa *a;
	uint64_t lo = UINT64_MAX, hi = 0, t0;
	int i;

	(void)st;
	A.cfg->remote[0].dpd_delay_sec = 30;
	establish();
	a = live_sa(&A);
	assert_true(ev_timer_active(&a->dpd));
	assert_true(coarse_timer(&a->dpd));
	assert_true(!ev_timer_active(&a->life) || coarse_timer(&a->life));
	for (i = 0; i < 200; i++) {
		uint64_t w;

		t0 = ev_now_ms();
		ike_dpd_arm(a);
		w = a->dpd.when_ms - t0;
		assert_true(coarse_timer(&a->dpd));
		assert_true(w >= 30000 - 5 && w <= 33000 + 25);
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	/* 200 draws over 3,000 ms: not one instant */
	assert_true(hi - lo > 1000);
	/* Heard from 10 s ago: the next check is ~20 s away, no check now. */
	a->last_recv_ms = ev_now_ms() - 10000;
	t0 = ev_now_ms();
	ike_dpd_fire(A.loop, &a->dpd, a);
	assert_false(a->req_out);
	assert_true(a->dpd.when_ms - t0 >= 20000 - 5 &&
		    a->dpd.when_ms - t0 <= 23000 + 25);
	/* Quiet for dpd_delay: an empty INFORMATIONAL goes out and is
	 * answered; the next round is a full dpd_delay away. */
	a->last_recv_ms = ev_now_ms() - 30000;
	t0 = ev_now_ms();
	ike_dpd_fire(A.loop, &a->dpd, a);
	assert_true(a->req_out);
	assert_true(coarse_timer(&a->rtx));
	assert_true(a->dpd.when_ms - t0 >= 30000 - 5);
	assert_int_equal(h_pump(), 2);
	assert_false(a->req_out);
	assert_false(ev_timer_active(&a->rtx));
	assert_true(coarse_timer(&a->dpd));
	assert_int_equal(a->state, IKE_S_ESTABLISHED);
	/* Not established any more: no timer. */
	A.cfg->remote[0].dpd_delay_sec = 0;
	ike_dpd_arm(a);
	assert_false(ev_timer_active(&a->dpd));
}

/* IKEv1 on both engines' remote and policy (what v1_conf.c makes of
 * `acceptable_kmp { ikev1; }`): Main Mode PSK, AES-CBC-128/SHA2-256,
 * MODP-2048, ESP AES-CBC-128/HMAC-SHA2-256, dpd_delay 30 s. */
static void v1_config(struct iked *d, bool responder)
{
	struct ike_remote *r = &d->cfg->remote[0];
	struct ike_policy *p = &d->cfg->policy[0];
	struct cfg_v1 *c1 = calloc(1, sizeof(*c1));

	assert_non_null(c1);
	/* the harness's packets come from its own addresses: the
	 * responder takes any peer */
	c1->peer_any = responder;
	c1->peer_addr = r->peer_addr;
	memcpy(c1->psk, "v1-dpd-psk", 10);
	c1->psk_len = 10;
	c1->auth_method = ISAKMP_P1_AUTH_PSK;
	c1->p1[0] = (struct cfg_v1_p1){ISAKMP_P1_ENCR_AES_CBC, 128,
				       ISAKMP_P1_HASH_SHA2_256, 14};
	c1->n_p1 = 1;
	c1->lifetime_sec = 3600;
	c1->max_retry = 3;
	c1->interval_ms = 100;
	c1->nego_limit_sec = 60;
	c1->dpd_delay_sec = 30;
	c1->dpd_retry_sec = 5;
	c1->dpd_max_fail = 3;
	r->ikev1 = true;
	r->v1 = c1;
	p->v1 = true;
	p->v1_esp[0] = ISAKMP_ESP_AES_CBC;
	p->v1_esp_bits[0] = 128;
	p->v1_auth[0] = ISAKMP_AUTH_HMAC_SHA2_256;
	p->n_v1_esp = 1;
}

static struct v1_sa *v1_live(struct iked *d)
{
	struct v1_sa *v;

	for (v = d->v1sas; v; v = v->next)
		if (v->established && !v->dead)
			return v;
	return NULL;
}

/* RFC 3706 DPD (v1.c): the timer is a coarse one (in the wheel, on the
 * 20 ms grid) from the ISAKMP SA's establishment on, through a fire
 * that finds the SA heard from recently (the rest of dpd_delay), an
 * R-U-THERE (dpd_retry), its ACK (dpd_delay again), and unanswered
 * R-U-THEREs until dpd_maxfail declares the peer dead. */
static void test_v1_dpd_timer_coarse(void **st)
{
	char err[160];
	struct v1_sa *a;
	uint64_t t0;
	int i;

	(void)st;
	v1_config(&A, false);
	v1_config(&Bd, true);
	assert_int_equal(v1_initiate(&A, &A.cfg->remote[0], &A.cfg->policy[0],
				     0, err, sizeof(err)),
			 0);
	h_pump();
	a = v1_live(&A);
	assert_non_null(a);
	assert_non_null(v1_live(&Bd));
	assert_true(coarse_timer(&a->dpd));
	t0 = ev_now_ms();
	assert_true(due_in(&a->dpd, t0, 30000));
	/* heard from 10 s ago: no R-U-THERE, the rest of dpd_delay */
	a->last_recv_ms = t0 - 10000;
	a->dpd.cb(A.loop, &a->dpd, a);
	assert_false(a->dpd_out);
	assert_true(coarse_timer(&a->dpd));
	assert_true(due_in(&a->dpd, t0, 20000));
	/* quiet for dpd_delay: R-U-THERE, retry in dpd_retry; the ACK
	 * re-arms dpd_delay */
	a->last_recv_ms = t0 - 30000;
	a->dpd.cb(A.loop, &a->dpd, a);
	assert_true(a->dpd_out);
	assert_true(coarse_timer(&a->dpd));
	assert_true(due_in(&a->dpd, t0, 5000));
	h_pump();
	assert_false(a->dpd_out);
	assert_true(coarse_timer(&a->dpd));
	assert_true(a->dpd.when_ms - t0 >= 30000 - 5);
	/* the peer stops answering (nothing is delivered): the first
	 * R-U-THERE, then dpd_maxfail (3) unanswered rounds kill the
	 * ISAKMP SA */
	a->last_recv_ms = t0 - 30000;
	for (i = 0; i < 4; i++) {
		assert_false(a->dead);
		a->dpd.cb(A.loop, &a->dpd, a);
		assert_true(a->dead || coarse_timer(&a->dpd));
	}
	assert_true(a->dead);
	assert_false(ev_timer_active(&a->dpd));
	/* the harness frees IKEv2 state only: iked's exit path for v1 */
	v1_shutdown(&A);
	v1_shutdown(&Bd);
}

/* Freed tasks are reused (sa.c's pool: a DPD slot's checks cost no
 * malloc), cleared, with their state freed on the way. */
static void free_marker(void *p)
{
	*(int *)p = 1;
}

static void test_task_pool(void **st)
{
	struct task *t1, *t2;
	int freed = 0;

	(void)st;
	t1 = task_new(TASK_DPD);
	assert_non_null(t1);
	t1->spi = 5;
	t1->child_id = 9;
	t1->state = &freed;
	t1->free_state = free_marker;
	task_free(t1);
	assert_int_equal(freed, 1);
	t2 = task_new(TASK_IKE_DELETE);
	assert_ptr_equal(t2, t1);
	assert_int_equal(t2->type, TASK_IKE_DELETE);
	assert_int_equal(t2->spi, 0);
	assert_int_equal(t2->child_id, 0);
	assert_null(t2->state);
	assert_null(t2->free_state);
	assert_null(t2->next);
	task_free(t2);
}

/* The last retransmission ran out while an answer may sit unread in an
 * IKE socket (a loop busy with 100,000 SAs reads NET_RX_BATCH per
 * wakeup): the verdict waits in 100 ms steps, and falls once the input
 * is drained. */
static void test_rtx_waits_for_unread_input(void **st)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	struct ike_sa *a;
	int rx, tx;
	char b;

	(void)st;
	A.cfg->remote[0].dpd_delay_sec = 30;
	establish();
	a = live_sa(&A);
	/* a DPD request Bob never gets to answer */
	a->last_recv_ms = ev_now_ms() - 30000;
	ike_dpd_fire(A.loop, &a->dpd, a);
	assert_true(a->req_out);
	a->req_tries = A.cfg->remote[0].max_retry;
	/* one datagram waiting in an IKE socket of A's */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(rx >= 0 && tx >= 0);
	assert_int_equal(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&sin, &sl), 0);
	assert_int_equal(
	    sendto(tx, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin)), 1);
	A.sock[A.nsock].fd = rx;
	A.sock[A.nsock].af = AF_INET;
	A.nsock++;
	ev_timer_start(A.loop, &a->rtx, 0);
	ev_run_once(A.loop, 0);
	assert_int_equal(a->state, IKE_S_ESTABLISHED);
	assert_int_equal(a->req_reprieve_ms, 100);
	assert_true(ev_timer_active(&a->rtx));
	/* read: nothing is pending any more, the next look gives up */
	assert_int_equal(recv(rx, &b, 1, 0), 1);
	ev_timer_start(A.loop, &a->rtx, 0);
	ev_run_once(A.loop, 0);
	assert_int_equal(a->state, IKE_S_DEAD);
	A.nsock--;
	close(rx);
	close(tx);
}

/* need_pfs with different preferences: Bob answers the CHILD rekey's
 * KE with INVALID_KE_PAYLOAD, Alice starts it again with his group. */
static void test_child_pfs_invalid_ke(void **st)
{
	struct ike_sa *a, *b;
	uint32_t old_in;
	unsigned before;

	(void)st;
	A.cfg->policy[0].pfs_group = 14;
	Bd.cfg->policy[0].pfs_group = 19;
	Bd.cfg->remote[0].dh.n = 1;
	Bd.cfg->remote[0].dh.a[0].id = 19;
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	old_in = a->children->spi_in;
	before = h_sent;
	ike_queue_child_rekey(a, a->children);
	h_pump();
	/* CREATE_CHILD_SA + INVALID_KE, again + response, DELETE pair. */
	assert_int_equal(h_sent - before, 6);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_null(a->children->next);
	assert_int_not_equal(a->children->spi_in, old_in);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

/* IKE rekey: Bob now wants ECP-256 only; Alice offered MODP-2048 with
 * ECP-256 as an alternative and retries with it. */
static void test_ike_rekey_invalid_ke(void **st)
{
	struct ike_sa *a;
	unsigned before;

	(void)st;
	establish();
	assert_int_equal(live_sa(&A)->algs.dh, 14);
	Bd.cfg->remote[0].dh.n = 1;
	Bd.cfg->remote[0].dh.a[0].id = 19;
	before = h_sent;
	ike_queue_ike_rekey(live_sa(&A));
	h_pump();
	/* rekey + INVALID_KE, rekey + response, DELETE of the old pair */
	assert_int_equal(h_sent - before, 6);
	a = live_sa(&A);
	assert_non_null(a);
	assert_int_equal(a->algs.dh, 19);
	assert_int_equal(live_sa(&Bd)->algs.dh, 19);
	assert_int_equal(h_count_sas(&A), 1);
	assert_int_equal(h_count_sas(&Bd), 1);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
}

static void sel_set(struct ksel *s, const char *src, unsigned splen,
		    const char *dst, unsigned dplen)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(kaddr_parse(src, &s->src), 0);
	assert_int_equal(kaddr_parse(dst, &s->dst), 0);
	s->af = s->src.af;
	s->src_plen = (uint8_t)splen;
	s->dst_plen = (uint8_t)dplen;
}

/* RFC 7296 §2.9: the packet that caused an ACQUIRE goes first in
 * TSi/TSr; a responder with two narrower policies picks the one that
 * contains it (without it, the first policy would win). */
static void acquire_ts(bool with_packet)
{
	struct ike_policy *p;
	struct ksel pkt;
	struct ike_sa *a, *b;

	/* (transport mode keeps the IKE address off the routing table) */
	p = &A.cfg->policy[0];
	sel_set(&p->sel, "10.0.0.0", 16, "10.1.0.0", 16);
	p = &Bd.cfg->policy[0];
	sel_set(&p->sel, "10.1.5.0", 24, "10.0.0.0", 16);
	p = cfg_add_policy(Bd.cfg);
	*p = Bd.cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol-six");
	sel_set(&p->sel, "10.1.6.0", 24, "10.0.0.0", 16);

	sel_set(&pkt, "10.0.1.1", 32, "10.1.6.7", 32);
	pkt.proto = IPPROTO_UDP;
	pkt.sport = 4000;
	pkt.sport_mask = 0xffff;
	pkt.dport = 53;
	pkt.dport_mask = 0xffff;
	h_initiate(&A, "peer", "pol-peer", with_packet ? &pkt : NULL);
	a = live_sa(&A);
	b = live_sa(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_string_equal(b->children->policy,
			    with_packet ? "pol-six" : "pol-peer");
	/* Alice's view of the remote side: the narrowed /24. */
	assert_int_equal(a->children->ts_remote.dst_plen, 24);
	assert_int_equal(a->children->ts_remote.dst.u.b[2],
			 with_packet ? 6 : 5);
}

static void test_acquire_packet_ts(void **st)
{
	(void)st;
	acquire_ts(true);
}

static void test_no_packet_ts(void **st)
{
	(void)st;
	acquire_ts(false);
}

/* Byte lifetimes: the policy's limit reaches the kernel SA; a soft
 * EXPIRE from the kernel rekeys, a hard one deletes (both ends). */
static void test_kernel_expire(void **st)
{
	struct ike_sa *a, *b;
	struct ksa k;
	uint32_t old_in;

	(void)st;
	A.cfg->policy[0].lifetime_bytes = 100000;
	establish();
	a = live_sa(&A);
	b = live_sa(&Bd);
	old_in = a->children->spi_in;
	assert_int_equal(
	    k_sa_get(&A.kern, IPPROTO_ESP, &a->local.addr, old_in, &k, NULL),
	    0);
	assert_int_equal(k.lft.hard_bytes, 100000);
	assert_true(k.lft.soft_bytes > 0 && k.lft.soft_bytes < 100000);
	ksa_wipe(&k);
	child_kernel_expire(&A, old_in, false);
	h_pump();
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_null(a->children->next);
	assert_int_not_equal(a->children->spi_in, old_in);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
	/* hard: the SA is gone, the peer is told */
	child_kernel_expire(&A, a->children->spi_out, true);
	h_pump();
	assert_null(a->children);
	assert_null(b->children);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
	assert_non_null(live_sa(&A));
}

/* Garbage and truncations never crash and never change state. */
static void test_garbage(void **st)
{
	struct ike_ep l = {.port = 500}, p = {.port = 500};
	uint8_t buf[600];
	size_t i;

	(void)st;
	kaddr_parse("198.51.100.2", &l.addr);
	kaddr_parse("198.51.100.1", &p.addr);
	establish();
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)rand() % sizeof(buf);
		size_t k;
		for (k = 0; k < n; k++)
			buf[k] = (uint8_t)rand();
		if (n >= 28 && (i & 1)) {
			/* Make it look like IKEv2 to get deeper. */
			buf[17] = 0x20;
			buf[18] = (uint8_t)(34 + (i / 2) % 4);
			buf[24] = (uint8_t)(n >> 24);
			buf[25] = (uint8_t)(n >> 16);
			buf[26] = (uint8_t)(n >> 8);
			buf[27] = (uint8_t)n;
		}
		ike_input(&Bd, &l, &p, false, buf, n);
	}
	h_drop_all();
	assert_non_null(live_sa(&Bd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_establish),
	    T(test_childless),
	    T(test_invalid_ke),
	    T(test_cookie),
	    T(test_retransmit_and_cache),
	    T(test_workers),
	    T(test_giveup),
	    T(test_child_rekey_a),
	    T(test_child_rekey_b),
	    T(test_child_rekey_collision),
	    T(test_ike_rekey_a),
	    T(test_ike_rekey_b),
	    T(test_ike_rekey_collision),
	    T(test_ah_child),
	    T(test_ah_vs_esp),
	    T(test_ipcomp_child),
	    T(test_ipcomp_declined),
	    T(test_install_fails_in),
	    T(test_install_fails_comp_out),
	    T(test_delete_ike_a),
	    T(test_delete_ike_b),
	    T(test_delete_child_a),
	    T(test_delete_child_b),
	    T(test_wrong_psk),
	    T(test_default_remote),
	    T(test_rw_any_identity_ok),
	    T(test_rw_any_identity_bad_psk),
	    T(test_second_child_and_dpd),
	    T(test_dpd_timer_jitter),
	    T(test_v1_dpd_timer_coarse),
	    T(test_task_pool),
	    T(test_rtx_waits_for_unread_input),
	    T(test_garbage),
	    T(test_child_pfs_invalid_ke),
	    T(test_ike_rekey_invalid_ke),
	    T(test_acquire_packet_ts),
	    T(test_no_packet_ts),
	    T(test_kernel_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
