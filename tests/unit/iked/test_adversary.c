/*
 * test_adversary.c - seeded adversarial campaigns against two iked
 * engines (adv.h): alice (198.51.100.1) initiates to bob
 * (198.51.100.2) with a pre-shared key while the adversary owns the
 * network between them; the RNG and the clock are deterministic
 * (det.h), so a seed replays a campaign exactly.
 *
 * Oracles:
 *  - outsider campaigns (drop, duplicate, reorder, replay, bit flips,
 *    forged unauthenticated messages, engines starting exchanges, time
 *    moving): after the adversary stops and the engines settle with
 *    timers advanced, both ends have the same IKE SAs, agree on message
 *    IDs and hold the same CHILD SAs by SPI pair; every SA in each fake
 *    kernel belongs to a live CHILD SA; a DELETE of every IKE SA leaves
 *    both kernels empty;
 *  - insider campaigns (also mutations re-sealed with the real SK keys,
 *    so they pass the ICV and reach the state machine): no crash or
 *    sanitizer error, no SA leak in the kernels, nothing left after
 *    teardown;
 *  - credential campaigns: the peer ("mallory", an engine) has a wrong
 *    or an empty pre-shared key and the adversary helps it with every
 *    power: nothing becomes ESTABLISHED at any step, on either side,
 *    and alice's kernel stays empty.
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

#include "adv.h"
#include "det.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#include "harness.h"

static struct iked A, Bd;

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
	/* Dead peers found within the settling time (RFC 7296 §2.4). */
	r->dpd_delay_sec = 5;
	r->dpd_max_fail = 2;
	r->max_retry = 3;
}

static void start(uint64_t seed, const char *psk_a, const char *psk_b)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 2000,
					.kill_on_teardown = true,
					.expect_empty_kernel = true};

	det_start(seed);
	h_setup(eng, 2, &o);
	peer_config(&A, "198.51.100.1", "198.51.100.2", psk_a);
	peer_config(&Bd, "198.51.100.2", "198.51.100.1", psk_b);
}

static void stop(struct adv *a)
{
	adv_free(a);
	h_teardown();
	det_stop();
}

static void report(const char *what, uint64_t seed, const struct adv *a)
{
	if (!getenv("IKED_TEST_DEBUG"))
		return;
	fprintf(stderr,
		"%s seed %llu: %u steps, %u delivered, %u dropped, %u dup, "
		"%u held, %u replayed, %u flipped, %u forged, %u resealed, "
		"%u injected, %u ctl, %u clock; est %u/%u\n",
		what, (unsigned long long)seed, a->st.steps, a->st.delivered,
		a->st.dropped, a->st.duplicated, a->st.held, a->st.replayed,
		a->st.flipped, a->st.forged, a->st.resealed,
		a->st.injected_sealed, a->st.ctl, a->st.clock, h_count_est(&A),
		h_count_est(&Bd));
}

/* Every IKE SA deleted through the protocol, then nothing is left. */
static void delete_all(struct adv *a, bool strict)
{
	for (int i = 0; i < 2; i++)
		for (struct ike_sa *sa = h_eng(i)->sas; sa; sa = sa->next)
			if (sa->state == IKE_S_ESTABLISHED) {
				ike_queue_ike_delete(sa);
				task_run(sa);
			}
	adv_settle(a, 60000);
	adv_check_kernel(&A);
	adv_check_kernel(&Bd);
	if (strict) {
		assert_int_equal(h_count_sas(&A), 0);
		assert_int_equal(h_count_sas(&Bd), 0);
		assert_int_equal(kfake_sa_count(&A.kern), 0);
		assert_int_equal(kfake_sa_count(&Bd.kern), 0);
	}
}

static void campaign(uint64_t seed, unsigned powers, unsigned steps)
{
	struct adv a;
	char err[160];
	bool insider = powers & ADV_SEALED;

	if (getenv("IKED_TEST_DEBUG"))
		fprintf(stderr, "campaign seed %llu powers %#x\n",
			(unsigned long long)seed, powers);
	start(seed, "s3cret", "s3cret");
	adv_init(&a, powers, seed, NULL, 0);
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	for (unsigned i = 0; i < steps; i++)
		adv_step(&a);
	adv_settle(&a, 120000);
	report(insider ? "insider" : "outsider", seed, &a);
	adv_check_kernel(&A);
	adv_check_kernel(&Bd);
	if (!insider)
		adv_check_agree(&A, &Bd);
	delete_all(&a, !insider);
	stop(&a);
}

/* Each seed is a campaign: the seed list is fixed so failures replay. */
static void test_outsider(void **st)
{
	(void)st;
	for (uint64_t s = 1; s <= 16; s++)
		campaign(s, ADV_NET | ADV_PLAIN | ADV_CTL | ADV_CLOCK, 300);
}

static void test_outsider_net_only(void **st)
{
	(void)st;
	for (uint64_t s = 101; s <= 108; s++)
		campaign(s, ADV_NET | ADV_CTL | ADV_CLOCK, 300);
}

static void test_insider(void **st)
{
	(void)st;
	for (uint64_t s = 201; s <= 216; s++)
		campaign(s, ADV_ALL, 300);
}

/* alice and mallory (engine 1, bob's place) do not share the key. */
static void cred_campaign(uint64_t seed, const char *psk_m,
			  bool mallory_initiates)
{
	struct adv a;
	char err[160];

	start(seed, "s3cret", psk_m);
	if (!*psk_m) { /* "no key": an empty one, as defect 1 computes */
		Bd.cfg->remote[0].have_psk = true;
		Bd.cfg->remote[0].psk_len = 0;
	}
	adv_init(&a, ADV_ALL, seed, NULL, 0);
	assert_int_equal(iked_initiate(mallory_initiates ? &Bd : &A, "peer",
				       NULL, NULL, err, sizeof(err)),
			 0);
	for (unsigned i = 0; i < 200; i++) {
		adv_step(&a);
		assert_int_equal(h_count_est(&A), 0);
		assert_int_equal(h_count_est(&Bd), 0);
	}
	adv_settle(&a, 120000);
	report("credential", seed, &a);
	assert_int_equal(h_count_est(&A), 0);
	assert_int_equal(h_count_est(&Bd), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	adv_check_kernel(&Bd);
	stop(&a);
}

static void test_wrong_psk(void **st)
{
	(void)st;
	for (uint64_t s = 301; s <= 306; s++) {
		cred_campaign(s, "guess", false);
		cred_campaign(s, "guess", true);
	}
}

static void test_empty_psk(void **st)
{
	(void)st;
	for (uint64_t s = 401; s <= 406; s++) {
		cred_campaign(s, "", false);
		cred_campaign(s, "", true);
	}
}

/* Without an adversary the harness establishes: the oracles hold on a
 * clean run, and the clock really is the fake one. */
static void test_clean(void **st)
{
	struct adv a;

	(void)st;
	start(7, "s3cret", "s3cret");
	adv_init(&a, 0, 7, NULL, 0);
	h_initiate(&A, "peer", NULL, NULL);
	assert_int_equal(h_count_est(&A), 1);
	assert_int_equal(h_count_est(&Bd), 1);
	assert_int_equal(ev_now_ms(), det_now_ms());
	adv_settle(&a, 60000);
	adv_check_agree(&A, &Bd);
	adv_check_kernel(&A);
	adv_check_kernel(&Bd);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	delete_all(&a, true);
	stop(&a);
}

/* ---- regression tests for what the campaigns found ---- */

static struct adv quiet; /* no powers: settle() and the oracles only */

static void fixed_start(void)
{
	start(11, "s3cret", "s3cret");
	adv_init(&quiet, 0, 11, NULL, 0);
}

static void fixed_establish(struct ike_sa **a, struct ike_sa **b)
{
	fixed_start();
	h_initiate(&A, "peer", NULL, NULL);
	*a = h_est(&A, NULL);
	*b = h_est(&Bd, NULL);
	assert_non_null(*a);
	assert_non_null(*b);
	assert_non_null((*a)->children);
}

/* Settle, then both ends agree, nothing leaks, and a DELETE of all
 * leaves nothing. */
static void fixed_finish(void)
{
	adv_settle(&quiet, 120000);
	adv_check_agree(&A, &Bd);
	adv_check_kernel(&A);
	adv_check_kernel(&Bd);
	delete_all(&quiet, true);
	stop(&quiet);
}

static void deliver_one(void)
{
	struct h_pkt *k = h_pop();

	assert_non_null(k);
	h_deliver(k);
	free(k);
}

/* The responder deletes the CHILD SA of IKE_AUTH before its IKE_AUTH
 * response reached the initiator (reordered): the initiator must not
 * answer the DELETE while it has no CHILD SA yet and then install it. */
static void test_request_before_auth_response(void **st)
{
	struct h_pkt *auth_resp;
	struct ike_sa *b;
	char err[160];

	(void)st;
	fixed_start();
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	deliver_one(); /* IKE_SA_INIT request */
	deliver_one(); /* response; alice sends IKE_AUTH */
	deliver_one(); /* IKE_AUTH request: bob is established */
	auth_resp = h_pop();
	assert_non_null(auth_resp);
	b = h_est(&Bd, NULL);
	assert_non_null(b);
	assert_non_null(b->children);
	ike_queue_child_delete(b, b->children);
	task_run(b);
	deliver_one(); /* the DELETE, to alice in AUTH_SENT */
	h_requeue(auth_resp);
	fixed_finish();
}

/* The peer rekeys the IKE SA while our DELETE of a CHILD SA is out on
 * it (RFC 7296 §2.25): the rekey must wait (TEMPORARY_FAILURE), else the
 * DELETE's answer arrives on the old SA and our half stays DELETING. */
static void test_ike_rekey_during_child_delete(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *del;

	(void)st;
	fixed_establish(&a, &b);
	ike_queue_child_delete(b, b->children);
	task_run(b);
	del = h_pop(); /* bob's DELETE, held */
	assert_non_null(del);
	ike_queue_ike_rekey(a);
	task_run(a);
	deliver_one(); /* alice's rekey request reaches bob */
	h_requeue(del);
	fixed_finish();
}

/* A CHILD SA deleted (ikedctl, a kernel expire) while our request that
 * creates it is out: the peer installs its half, so ours must follow
 * with a DELETE instead of vanishing silently. */
static void test_delete_child_while_creating(void **st)
{
	struct ike_sa *a, *b;
	struct child_sa *c;
	struct task *t;

	(void)st;
	fixed_establish(&a, &b);
	t = task_new(TASK_CHILD_CREATE);
	assert_non_null(t);
	snprintf(t->policy, sizeof(t->policy), "pol-peer");
	task_queue(a, t);
	task_run(a);
	/* Being negotiated, it is the task's (not yet in a->children). */
	assert_non_null(a->active);
	c = ((struct child_nego *)a->active->state)->child;
	assert_non_null(c);
	assert_int_equal(c->state, CHILD_S_CREATING);
	ike_queue_child_delete(a, c);
	fixed_finish();
}

/*
 * Both ends rekey the IKE SA at once (RFC 7296 §2.8.2): each answers the
 * other's request, and both answers are held back.  col->theirs is the
 * SA the peer's rekey made on Alice's side (on_alice) or Bob's, for the
 * caller to act on before collision_resolve() delivers the answers,
 * Alice's rekey resolving first when alice_first.
 */
struct collision {
	struct h_pkt *ra, *rb; /* the responses to Alice's and Bob's rekey */
	struct ike_sa *theirs;
};

static void collision_start(bool on_alice, struct collision *col)
{
	struct ike_sa *a, *b, *old;
	struct iked *d;

	fixed_establish(&a, &b);
	ike_queue_ike_rekey(a);
	task_run(a);
	ike_queue_ike_rekey(b);
	task_run(b);
	deliver_one();
	deliver_one();
	col->rb = h_pop();
	col->ra = h_pop();
	assert_non_null(col->ra);
	assert_non_null(col->rb);
	d = on_alice ? &A : &Bd;
	old = on_alice ? a : b;
	col->theirs = NULL;
	for (struct ike_sa *s = d->sas; s; s = s->next)
		if (s->id == old->rekeyed_to)
			col->theirs = s;
	assert_non_null(col->theirs);
}

static void collision_resolve(bool alice_first, struct collision *col)
{
	h_requeue(alice_first ? col->rb : col->ra);
	h_pump(); /* that side resolves; its DELETE (if it lost) goes on */
	h_requeue(alice_first ? col->ra : col->rb);
	fixed_finish();
}

/* Simultaneous IKE rekey (RFC 7296 §2.8.2) where the loser's DELETE of
 * its redundant SA reaches the winner before the winner's own rekey
 * response: the CHILD SAs must end up on the surviving SA at both ends.
 * Which side wins depends on the nonces, so both orders are run. */
static void simultaneous_rekey(bool alice_first)
{
	struct collision col;

	collision_start(true, &col);
	assert_int_equal(col.rb->to, 0); /* bob's answer goes to alice */
	collision_resolve(alice_first, &col);
}

static void test_simultaneous_rekey_a(void **st)
{
	(void)st;
	simultaneous_rekey(true);
}

static void test_simultaneous_rekey_b(void **st)
{
	(void)st;
	simultaneous_rekey(false);
}

/* During a simultaneous IKE rekey, a CHILD SA creation started on the
 * SA the peer's rekey made (an ACQUIRE, ikedctl): if that SA turns out
 * redundant, the CHILD SA being created stays with it (and dies with
 * it) instead of moving, half made, to the survivor.  Every side and
 * order is run (which SA wins depends on the nonces). */
static void rekey_collision_create(bool alice_first, bool on_alice)
{
	struct collision col;
	struct task *t;

	collision_start(on_alice, &col);
	t = task_new(TASK_CHILD_CREATE);
	assert_non_null(t);
	snprintf(t->policy, sizeof(t->policy), "pol-peer");
	task_queue(col.theirs, t);
	task_run(col.theirs);
	collision_resolve(alice_first, &col);
}

static void test_rekey_collision_create(void **st)
{
	(void)st;
	for (int i = 0; i < 4; i++)
		rekey_collision_create(i & 1, i & 2);
}

/* During a simultaneous IKE rekey, the operator deletes the SA the
 * peer's rekey made (the CHILD SAs moved there when we answered) before
 * our own rekey's response arrives (found by the iked_engine fuzzer).
 * If our new SA survives (RFC 7296 §2.8.2) the CHILD SAs must move to
 * it although the peer's is DELETING: the peer keeps them on the
 * survivor.  Every side and order is run (the nonces pick the winner). */
static void rekey_collision_delete(bool alice_first, bool on_alice)
{
	struct collision col;

	collision_start(on_alice, &col);
	ike_queue_ike_delete(col.theirs);
	task_run(col.theirs);
	collision_resolve(alice_first, &col);
}

static void test_rekey_collision_delete(void **st)
{
	(void)st;
	for (int i = 0; i < 4; i++)
		rekey_collision_delete(i & 1, i & 2);
}

/* During a simultaneous IKE rekey, a CHILD SA delete (or rekey) of ours
 * is out on the SA the peer's rekey made (the CHILD SAs moved there when
 * we answered) and its request is lost; then our own new SA survives
 * (RFC 7296 §2.8.2) and the peer deletes its redundant one, taking our
 * exchange with it.  The CHILD SA moved to the survivor in DELETING (or
 * REKEYING) state must not stay so while the peer keeps its half: the
 * delete (or rekey) is asked again there (found by the iked_engine
 * fuzzer, tests/corpus/iked_engine/deleting-vs-installed and
 * rekeying-vs-installed).  Every side and order is run. */
static void rekey_collision_child_task(bool alice_first, bool on_alice,
				       bool rekey)
{
	struct collision col;
	struct child_sa *c;
	struct h_pkt *lost;

	collision_start(on_alice, &col);
	c = col.theirs->children;
	assert_non_null(c);
	if (rekey)
		assert_int_equal(ike_queue_child_rekey(col.theirs, c), 0);
	else
		assert_int_equal(ike_queue_child_delete(col.theirs, c), 0);
	task_run(col.theirs);
	lost = h_pop();
	assert_non_null(lost);
	free(lost);
	collision_resolve(alice_first, &col);
}

static void test_rekey_collision_child_delete(void **st)
{
	(void)st;
	for (int i = 0; i < 4; i++)
		rekey_collision_child_task(i & 1, i & 2, false);
}

static void test_rekey_collision_child_rekey(void **st)
{
	(void)st;
	for (int i = 0; i < 4; i++)
		rekey_collision_child_task(i & 1, i & 2, true);
}

/* The responder deletes the CHILD SA it just created for our
 * CREATE_CHILD_SA, and its DELETE overtakes its response (RFC 7296
 * §2.25): we answered the DELETE knowing no such SA, so the response
 * must not install it afterwards. */
static void test_delete_overtakes_create_response(void **st)
{
	struct ike_sa *a, *b;
	struct child_sa *c, *newest = NULL;
	struct h_pkt *resp;
	struct task *t;

	(void)st;
	fixed_establish(&a, &b);
	t = task_new(TASK_CHILD_CREATE);
	assert_non_null(t);
	snprintf(t->policy, sizeof(t->policy), "pol-peer");
	task_queue(a, t);
	task_run(a);
	deliver_one(); /* bob installs it and answers */
	resp = h_pop();
	assert_non_null(resp);
	for (c = b->children; c; c = c->next)
		if (!newest || c->id > newest->id)
			newest = c;
	assert_non_null(newest);
	ike_queue_child_delete(b, newest);
	task_run(b);
	deliver_one(); /* the DELETE reaches alice first */
	h_requeue(resp);
	fixed_finish();
}

/* The rekey initiator never got our response and gave up: the old SA
 * that we keep (REKEYED) waiting for its DELETE must not stay forever. */
static void test_rekeyed_sa_times_out(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	fixed_establish(&a, &b);
	ike_queue_ike_rekey(a);
	task_run(a);
	deliver_one();			/* bob answers, his old SA is REKEYED */
	for (int i = 0; i < 100; i++) { /* everything else is lost */
		h_drop_all();
		det_advance_ms(100);
		h_pump();
	}
	h_drop_all();
	fixed_finish();
}

/* A CHILD rekey finishes while an IKE rekey is queued behind it: the
 * DELETE of the old CHILD SA, queued after the IKE rekey, must move to
 * the new IKE SA with the CHILD SAs instead of dying with the old one
 * (the peer would keep the old CHILD SA). */
static void test_child_tasks_follow_ike_rekey(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	fixed_establish(&a, &b);
	ike_queue_child_rekey(a, a->children);
	ike_queue_ike_rekey(a);
	task_run(a);
	fixed_finish();
}

int main(void)
{
	/* ADV_SEED=n[:last] [ADV_POWERS=mask] [ADV_STEPS=n]: those
	 * campaigns alone (to replay or explore). */
	if (getenv("ADV_SEED")) {
		const char *p = getenv("ADV_POWERS"), *n = getenv("ADV_STEPS");
		char *end;
		uint64_t s = strtoull(getenv("ADV_SEED"), &end, 0), last = s;

		if (*end == ':')
			last = strtoull(end + 1, NULL, 0);
		h_log_init();
		for (; s <= last; s++)
			campaign(s, p ? (unsigned)strtoul(p, NULL, 0) : ADV_ALL,
				 n ? (unsigned)strtoul(n, NULL, 0) : 300);
		return 0;
	}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_request_before_auth_response),
	    cmocka_unit_test(test_ike_rekey_during_child_delete),
	    cmocka_unit_test(test_delete_child_while_creating),
	    cmocka_unit_test(test_simultaneous_rekey_a),
	    cmocka_unit_test(test_simultaneous_rekey_b),
	    cmocka_unit_test(test_rekey_collision_create),
	    cmocka_unit_test(test_rekey_collision_delete),
	    cmocka_unit_test(test_rekey_collision_child_delete),
	    cmocka_unit_test(test_rekey_collision_child_rekey),
	    cmocka_unit_test(test_delete_overtakes_create_response),
	    cmocka_unit_test(test_rekeyed_sa_times_out),
	    cmocka_unit_test(test_child_tasks_follow_ike_rekey),
	    cmocka_unit_test(test_outsider_net_only),
	    cmocka_unit_test(test_outsider),
	    cmocka_unit_test(test_insider),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test(test_empty_psk),
	};

	h_log_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
