/*
 * test_mobike.c - MOBIKE (RFC 4555, src/ike/mobike.c) on two engines in
 * one process (fake kernel backend, transport-mode policies installed as
 * spmd would):
 *
 *  - MOBIKE_SUPPORTED in IKE_AUTH both ways when both have `mobike on`,
 *    neither way otherwise;
 *  - the initiator moves to a new address: its UPDATE_SA_ADDRESSES
 *    request goes out from there with NAT-D and COOKIE2, the responder
 *    moves its IKE SA to the request's addresses, echoes COOKIE2, and
 *    both sides move their CHILD SA in place (same SPIs, the SAs now
 *    between the new addresses in the fake kernels, nothing rekeyed), the
 *    responder's next request goes to the new address;
 *  - without MOBIKE negotiated, nothing moves.
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

#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#include "harness.h"

static struct iked A, Bd;

static struct kaddr AD(const char *s) {
	struct kaddr a;

	assert_int_equal(kaddr_parse(s, &a), 0);
	return a;
}

/* Transport policies between me and peer (reqid 7), as spmd installs. */
static void
policies(struct iked *d, const char *me, const char *peer)
{
	for (int dir = KDIR_IN; dir <= KDIR_OUT; dir++) {
		struct kpolicy p;

		memset(&p, 0, sizeof(p));
		p.sel.af = AF_INET;
		p.sel.src = AD(dir == KDIR_OUT ? me : peer);
		p.sel.dst = AD(dir == KDIR_OUT ? peer : me);
		p.sel.src_plen = p.sel.dst_plen = 32;
		p.dir = (enum kdir)dir;
		p.action = KPOL_IPSEC;
		p.ntmpl = 1;
		p.tmpl[0].proto = IPPROTO_ESP;
		p.tmpl[0].mode = KMODE_TRANSPORT;
		p.tmpl[0].reqid = 7;
		assert_int_equal(k_pol_add(&d->kern, &p), 0);
	}
}

static void config(struct iked *d, const char *me, const char *peer,
		   bool mobike)
{
	struct ike_remote *r;

	h_peer_config(d, me, peer);
	r = &d->cfg->remote[0];
	ike_id_parse(me, &r->my_id);
	ike_id_parse(peer, &r->peer_id);
	r->have_psk = true;
	r->psk_len = 6;
	memcpy(r->psk, "s3cret", 6);
	r->mobike = mobike;
	policies(d, me, peer);
}

static int setup(void **st)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 1000};

	(void)st;
	h_log_init();
	h_setup(eng, 2, &o);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

static void test_negotiation(void **st)
{
	(void)st;
	config(&A, "198.51.100.1", "198.51.100.2", true);
	config(&Bd, "198.51.100.2", "198.51.100.1", false);
	h_initiate(&A, "peer", NULL, NULL);
	assert_false(h_est(&A, NULL)->mobike);
	assert_false(h_est(&Bd, NULL)->mobike);
	/* Without MOBIKE no update is started. */
	{
		struct ike_ep ep = {AD("198.51.100.11"), 500};
		assert_int_equal(mobike_update(h_est(&A, NULL), &ep, NULL),
				 -EOPNOTSUPP);
	}
}

static void test_move(void **st)
{
	struct ike_sa *a, *b;
	struct ike_ep moved = {AD("198.51.100.11"), 500};
	struct child_sa *ca, *cb;
	uint32_t in_a, out_a;
	struct h_pkt *k;
	struct ksa s;
	char buf[80];

	(void)st;
	config(&A, "198.51.100.1", "198.51.100.2", true);
	config(&Bd, "198.51.100.2", "198.51.100.1", true);
	h_initiate(&A, "peer", NULL, NULL);
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	assert_true(a->mobike);
	assert_true(b->mobike);
	ca = a->children;
	cb = b->children;
	assert_non_null(ca);
	assert_non_null(cb);
	in_a = ca->spi_in;
	out_a = ca->spi_out;
	assert_int_equal(kfake_sa_count(&A.kern), 2);

	assert_int_equal(mobike_update(a, &moved, NULL), 0);
	k = h_pop();
	assert_non_null(k);
	/* §3.5: the request leaves from the new address. */
	assert_string_equal(ike_ep_str(&k->from, buf, sizeof(buf)),
			    "198.51.100.11:500");
	h_deliver(k);
	free(k);
	/* The responder moved at once, the response goes there. */
	assert_true(kaddr_eq(&b->peer.addr, &moved.addr));
	assert_int_equal(b->mobike_updates, 1);
	assert_int_equal(b->children_moved, 1);
	h_pump();
	assert_int_equal(a->mobike_updates, 1);
	assert_int_equal(a->children_moved, 1);
	assert_true(kaddr_eq(&a->local.addr, &moved.addr));
	/* In place: the same CHILD SAs, SPIs and number of kernel SAs. */
	assert_ptr_equal(a->children, ca);
	assert_null(ca->next);
	assert_ptr_equal(b->children, cb);
	assert_int_equal(ca->spi_in, in_a);
	assert_int_equal(ca->spi_out, out_a);
	assert_int_equal(ca->state, CHILD_S_INSTALLED);
	assert_int_equal(cb->state, CHILD_S_INSTALLED);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
	/* The SAs are now between the new addresses, both sides. */
	assert_int_equal(
	    k_sa_get(&A.kern, IPPROTO_ESP, &moved.addr, in_a, &s, NULL), 0);
	assert_true(kaddr_eq(&s.src, &b->local.addr));
	ksa_wipe(&s);
	assert_int_equal(
	    k_sa_get(&Bd.kern, IPPROTO_ESP, &moved.addr, out_a, &s, NULL), 0);
	assert_true(kaddr_eq(&s.src, &b->local.addr));
	ksa_wipe(&s);
	{
		struct kaddr old = AD("198.51.100.1");
		assert_int_not_equal(
		    k_sa_get(&Bd.kern, IPPROTO_ESP, &old, out_a, &s, NULL), 0);
	}
	/* The responder's own requests now go to the new address. */
	task_queue(b, task_new(TASK_DPD));
	task_run(b);
	k = h_pop();
	assert_non_null(k);
	assert_string_equal(ike_ep_str(&k->dst, buf, sizeof(buf)),
			    "198.51.100.11:500");
	h_deliver(k);
	free(k);
	h_pump();
	assert_false(b->req_out);
	assert_int_equal(h_count_est(&A), 1);
	assert_int_equal(h_count_est(&Bd), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_move, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
