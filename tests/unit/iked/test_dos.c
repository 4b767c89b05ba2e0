/*
 * test_dos.c - iked's resource limits (src/ike/dos.c) in one process:
 * "bob" responds, "alice" is the legitimate initiator and "flood" is an
 * attacker engine whose packets leave from whatever address the test
 * chooses (the route function rewrites their source), that answers
 * COOKIEs like a real initiator and never sends IKE_AUTH, so every
 * IKE_SA_INIT it completes leaves a half-open SA at bob.
 *
 * Covers: the configurable cookie threshold, half-open SAs per address,
 * per /24 and per /64, the full table (a legitimate peer displaces an
 * attacker entry, displacement only evens out the shares), the timeout
 * that shrinks as the table fills, IKE SAs per identity, CHILD SAs per
 * IKE SA, and the counters.
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

enum { ALICE, BOB, FLOOD };
static struct iked A, Bd, F;
static struct kaddr flood_src; /* where the flood's next packets come from */
static struct kaddr alice_addr, bob_addr;

static int route(int me, struct ike_ep *from, struct ike_ep *dst)
{
	if (me == FLOOD) {
		from->addr = flood_src;
		return BOB;
	}
	if (me == ALICE)
		return BOB;
	/* bob answers whoever it believes sent the request */
	return kaddr_eq(&dst->addr, &alice_addr) ? ALICE : FLOOD;
}

static void psk_remote(struct ike_remote *r, const char *me, const char *peer)
{
	ike_id_parse(me, &r->my_id);
	if (peer)
		ike_id_parse(peer, &r->peer_id);
	r->have_psk = true;
	r->psk_len = 6;
	memcpy(r->psk, "s3cret", 6);
	/* ECP-256 only: quick, and every engine agrees at once */
	r->dh.n = 1;
	r->dh.a[0].id = 19;
}

static int setup(void **st)
{
	static struct iked *const eng[] = {&A, &Bd, &F};
	static const struct h_opts o = {.pump_limit = 100000, .route = route};
	struct ike_remote *r;

	(void)st;
	h_log_init();
	h_setup(eng, 3, &o);
	h_peer_config(&A, "198.51.100.1", "198.51.100.2");
	psk_remote(&A.cfg->remote[0], "198.51.100.1", "198.51.100.2");
	h_peer_config(&Bd, "198.51.100.2", "198.51.100.1");
	psk_remote(&Bd.cfg->remote[0], "198.51.100.2", "198.51.100.1");
	/* bob answers IKE_SA_INIT from anywhere (the default remote) */
	r = cfg_add_remote(Bd.cfg);
	assert_non_null(r);
	snprintf(r->name, sizeof(r->name), "default");
	r->is_default = true;
	psk_remote(r, "198.51.100.2", NULL);
	h_peer_config(&F, "192.0.2.1", "198.51.100.2");
	psk_remote(&F.cfg->remote[0], "192.0.2.1", "198.51.100.2");
	assert_int_equal(kaddr_parse("198.51.100.1", &alice_addr), 0);
	assert_int_equal(kaddr_parse("198.51.100.2", &bob_addr), 0);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

/* Deliver everything but the flood's IKE_AUTH requests (so that its
 * SAs stay half-open at bob). */
static void pump(void)
{
	struct h_pkt *k;
	unsigned n = 0;

	while ((k = h_pop())) {
		/* RFC 7296 §3.1: exchange type at octet 18 */
		bool flood_auth = k->to == BOB && k->len > 18 &&
				  k->data[18] == IKEV2_EXCH_IKE_AUTH &&
				  !kaddr_eq(&k->from.addr, &alice_addr);
		if (!flood_auth)
			h_deliver(k);
		free(k);
		assert_true(++n < 100000);
	}
	ev_run_once(A.loop, 0);
	ev_run_once(Bd.loop, 0);
	ev_run_once(F.loop, 0);
}

/* One IKE_SA_INIT exchange (with the COOKIE round if asked) from src. */
static void flood_one(const char *src)
{
	char err[160];

	/* A fresh IKE SA each time (iked_initiate reuses one). */
	while (F.sas)
		ike_sa_free(F.sas);
	assert_int_equal(kaddr_parse(src, &flood_src), 0);
	assert_int_equal(
	    iked_initiate(&F, "peer", NULL, NULL, err, sizeof(err)), 0);
	pump();
}

static void alice_connect(void)
{
	char err[160];

	/* A new IKE SA, with no INITIAL_CONTACT (see test_sa_per_id):
	 * alice forgets hers, bob keeps his. */
	while (A.sas)
		ike_sa_free(A.sas);
	A.cfg->remote[0].initial_contact = false;
	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	pump();
}

static unsigned half_open_from(const char *addr)
{
	struct kaddr a;

	assert_int_equal(kaddr_parse(addr, &a), 0);
	return dos_count_addr(&Bd, &a);
}

/* The list and the counter agree, and each SA on it is half-open. */
static void check_table(void)
{
	const struct ike_sa *sa;
	unsigned n = 0;

	for (sa = Bd.dos.oldest; sa; sa = sa->ho.next) {
		assert_true(sa->half_open);
		assert_int_not_equal(sa->state, IKE_S_DEAD);
		assert_int_not_equal(sa->state, IKE_S_ESTABLISHED);
		n++;
	}
	assert_int_equal(n, Bd.half_open);
}

static void test_cookie_threshold(void **st)
{
	(void)st;
	/* Default (16): an idle responder asks nobody for a cookie. */
	alice_connect();
	assert_non_null(h_est(&Bd, "peer"));
	assert_int_equal(Bd.dos.st.cookies_sent, 0);
	assert_int_equal(h_sent, 4);
	/* 0: every IKE_SA_INIT must carry one; alice answers it. */
	Bd.cfg->cookie_threshold = 0;
	flood_one("203.0.113.7");
	assert_int_equal(Bd.dos.st.cookies_sent, 1);
	assert_int_equal(half_open_from("203.0.113.7"), 1);
	check_table();
}

/* A source holding half its quota must answer a COOKIE (whatever the
 * total), so that a single address cannot take its quota without one. */
static void test_cookie_per_source(void **st)
{
	(void)st;
	for (int i = 0; i < 4; i++)
		flood_one("203.0.113.5");
	assert_int_equal(Bd.dos.st.cookies_sent, 0);
	flood_one("203.0.113.5"); /* holds 4 of 8 */
	assert_int_equal(Bd.dos.st.cookies_sent, 1);
	assert_int_equal(half_open_from("203.0.113.5"), 5);
	/* Another address of the prefix does not need one yet. */
	flood_one("203.0.113.6");
	assert_int_equal(Bd.dos.st.cookies_sent, 1);
	check_table();
}

static void test_per_addr(void **st)
{
	(void)st;
	Bd.cfg->half_open_per_addr = 3;
	for (int i = 0; i < 5; i++)
		flood_one("203.0.113.9");
	assert_int_equal(half_open_from("203.0.113.9"), 3);
	assert_int_equal(Bd.dos.st.refused_addr, 2);
	/* Its neighbour is another address. */
	flood_one("203.0.113.10");
	assert_int_equal(half_open_from("203.0.113.10"), 1);
	assert_int_equal(Bd.half_open, 4);
	check_table();
}

static void test_per_prefix_v4(void **st)
{
	char a[32];

	(void)st;
	Bd.cfg->half_open_per_prefix = 4;
	for (int i = 1; i <= 6; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i);
		flood_one(a);
	}
	assert_int_equal(Bd.half_open, 4);
	assert_int_equal(Bd.dos.st.refused_prefix, 2);
	/* 203.0.112.0/24 is another prefix. */
	flood_one("203.0.112.1");
	assert_int_equal(Bd.half_open, 5);
	assert_int_equal(Bd.dos.nbuckets, 2);
	/* alice (198.51.100.0/24) is not held back by either. */
	alice_connect();
	assert_non_null(h_est(&Bd, "peer"));
	check_table();
}

static void test_per_prefix_v6(void **st)
{
	(void)st;
	Bd.cfg->half_open_per_prefix = 2;
	flood_one("2001:db8:0:1::a");
	flood_one("2001:db8:0:1::b");
	flood_one("2001:db8:0:1:ffff::c"); /* same /64 */
	assert_int_equal(Bd.half_open, 2);
	assert_int_equal(Bd.dos.st.refused_prefix, 1);
	flood_one("2001:db8:0:2::a"); /* next /64 */
	assert_int_equal(Bd.half_open, 3);
	check_table();
}

/*
 * The attack of issue 9 in small: the flood fills the whole table from
 * two prefixes, answering cookies.  Before dos.c, alice was dropped
 * ("too many half-open IKE SAs") until the flood's entries timed out.
 */
static void fill_two_prefixes(void)
{
	char a[32];

	Bd.cfg->half_open_max = 16;
	Bd.cfg->cookie_threshold = 4;
	Bd.cfg->half_open_per_addr = 2;
	Bd.cfg->half_open_per_prefix = 8;
	for (int i = 1; i <= 8; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i % 4 + 1);
		flood_one(a);
		snprintf(a, sizeof(a), "192.0.2.%d", i % 4 + 1);
		flood_one(a);
	}
	assert_int_equal(Bd.half_open, 16);
	assert_int_equal(Bd.dos.st.half_open_peak, 16);
	assert_true(Bd.dos.st.cookies_sent >= 12);
}

static void test_full_table_displace(void **st)
{
	(void)st;
	fill_two_prefixes();
	alice_connect();
	assert_non_null(h_est(&Bd, "peer"));
	assert_int_equal(Bd.dos.st.displaced, 1);
	/* The victim was the oldest entry of a loaded prefix. */
	assert_int_equal(Bd.half_open, 15);
	check_table();
}

static void test_displace_only_evens_out(void **st)
{
	(void)st;
	fill_two_prefixes();
	/* A third prefix takes a share: one displacement each time. */
	flood_one("198.18.0.1");
	flood_one("198.18.0.2");
	assert_int_equal(Bd.dos.st.displaced, 2);
	assert_int_equal(Bd.half_open, 16);
	assert_int_equal(dos_count_addr(&Bd, &flood_src), 1);
	/* 203.0.113/24 and 192.0.2/24 now hold 7 each, 198.18.0/24 two:
	 * a loaded prefix cannot take from an equally loaded one. */
	flood_one("203.0.113.2"); /* the address that lost its entry */
	assert_int_equal(Bd.dos.st.refused_table, 1);
	assert_int_equal(Bd.dos.st.refused_addr, 0);
	assert_int_equal(Bd.dos.st.displaced, 2);
	check_table();
}

static void test_lone_entry_never_displaced(void **st)
{
	char a[32];

	(void)st;
	Bd.cfg->half_open_max = 8;
	Bd.cfg->cookie_threshold = 0;
	for (int i = 1; i <= 8; i++) {
		snprintf(a, sizeof(a), "10.%d.0.1", i);
		flood_one(a);
	}
	assert_int_equal(Bd.half_open, 8);
	flood_one("10.99.0.1");
	assert_int_equal(Bd.dos.st.refused_table, 1);
	assert_int_equal(Bd.dos.st.displaced, 0);
	assert_int_equal(Bd.half_open, 8);
	check_table();
}

static void test_rate_under_pressure(void **st)
{
	char a[32];

	(void)st;
	Bd.cfg->cookie_threshold = 0; /* pressure from the start */
	Bd.cfg->half_open_rate = 3;
	for (int i = 1; i <= 6; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i);
		flood_one(a);
	}
	/* The first of the prefix is free, then 3 tokens. */
	assert_int_equal(Bd.half_open, 4);
	assert_int_equal(Bd.dos.st.refused_rate, 2);
	/* A newcomer prefix is not queued behind the flood. */
	alice_connect();
	assert_non_null(h_est(&Bd, "peer"));
	/* A second later the bucket is full again. */
	Bd.dos.tokens_ms -= 1000;
	flood_one("203.0.113.7");
	assert_int_equal(Bd.half_open, 5);
	assert_int_equal(Bd.dos.st.refused_rate, 2);
	check_table();
}

/* Age every half-open SA at bob by ms. */
static void age_all(uint64_t ms)
{
	struct ike_sa *sa;

	for (sa = Bd.dos.oldest; sa; sa = sa->ho.next)
		sa->ho.since_ms -= ms;
}

static void test_timeout_shrinks(void **st)
{
	char a[32];

	(void)st;
	Bd.cfg->half_open_max = 40;
	Bd.cfg->half_open_timeout_ms = 30000;
	Bd.cfg->cookie_threshold = 0;
	for (int i = 1; i <= 36; i++) {
		snprintf(a, sizeof(a), "10.%d.0.1", i);
		flood_one(a);
	}
	assert_int_equal(Bd.half_open, 36);
	/* 90 % full: 30 s shrinks to 6 s. */
	assert_int_equal(dos_ho_timeout_ms(&Bd), 6000);
	/* Entries 29 s old live under a 30 s timeout, not under
	 * pressure: the next request removes the oldest until the
	 * timeout (1.5 s per free slot) passes 29 s, at 20 entries. */
	age_all(29000);
	flood_one("10.200.0.1");
	assert_int_equal(Bd.dos.st.expired, 16);
	assert_int_equal(Bd.half_open, 21); /* 20 old + the new one */
	check_table();
	/* Without pressure nothing that young goes. */
	Bd.cfg->half_open_max = 1000;
	assert_int_equal(dos_ho_timeout_ms(&Bd), 30000);
	flood_one("10.201.0.1");
	assert_int_equal(Bd.dos.st.expired, 16);
	/* Older than the full timeout: gone in any case. */
	age_all(2000);
	flood_one("10.202.0.1");
	assert_int_equal(Bd.dos.st.expired, 36);
	assert_int_equal(Bd.half_open, 3);
	check_table();
	/* The floor: a full table still gives a peer two seconds. */
	Bd.cfg->half_open_max = 3;
	assert_int_equal(dos_ho_timeout_ms(&Bd), DOS_HO_MIN_MS);
}

static void test_sa_per_id(void **st)
{
	(void)st;
	Bd.cfg->sa_per_id = 1;
	alice_connect();
	assert_int_equal(h_count_est(&Bd), 1);
	/* A second IKE SA of the same identity (no INITIAL_CONTACT) is
	 * refused after its AUTH verified. */
	alice_connect();
	assert_int_equal(h_count_est(&Bd), 1);
	assert_int_equal(Bd.dos.st.refused_id, 1);
	assert_int_equal(Bd.half_open, 0);
	Bd.cfg->sa_per_id = 2;
	alice_connect();
	assert_int_equal(h_count_est(&Bd), 2);
}

static struct ike_sa *est_at(struct iked *d)
{
	return h_est_any(d);
}

static unsigned live_children(const struct ike_sa *sa)
{
	const struct child_sa *c;
	unsigned n = 0;

	for (c = sa->children; c; c = c->next)
		n += c->state == CHILD_S_INSTALLED;
	return n;
}

static void test_child_per_sa(void **st)
{
	struct ike_sa *a, *b;
	struct task *t;

	(void)st;
	Bd.cfg->child_per_sa = 1;
	alice_connect();
	a = est_at(&A);
	b = est_at(&Bd);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(live_children(b), 1);
	/* Another CHILD SA: NO_ADDITIONAL_SAS (RFC 7296 §3.10.1). */
	t = task_new(TASK_CHILD_CREATE);
	assert_non_null(t);
	snprintf(t->policy, sizeof(t->policy), "pol-peer");
	task_queue(a, t);
	task_run(a);
	pump();
	assert_int_equal(live_children(b), 1);
	assert_int_equal(Bd.dos.st.refused_child, 1);
	assert_non_null(est_at(&Bd)); /* the IKE SA stands */
	/* A rekey replaces a child, it is not another one. */
	t = task_new(TASK_CHILD_REKEY);
	assert_non_null(t);
	t->child_id = a->children->id;
	task_queue(a, t);
	task_run(a);
	pump();
	pump();
	assert_int_equal(Bd.dos.st.refused_child, 1);
	assert_int_equal(live_children(b), 1);
}

/* An IKE_SA_INIT request over DOS_INIT_MAX (padded with an unknown
 * non-critical payload, RFC 7296 §2.5) is not kept. */
static void test_init_too_big(void **st)
{
	struct h_pkt *k, *big;
	size_t o = 28, last = 0, pl = DOS_INIT_MAX;
	uint8_t next;
	char err[160];

	(void)st;
	assert_int_equal(kaddr_parse("203.0.113.9", &flood_src), 0);
	assert_int_equal(
	    iked_initiate(&F, "peer", NULL, NULL, err, sizeof(err)), 0);
	k = h_pop();
	assert_non_null(k);
	assert_int_equal(k->to, BOB);
	for (next = k->data[16]; next;
	     o += (size_t)k->data[o + 2] << 8 | k->data[o + 3]) {
		last = o;
		next = k->data[o];
	}
	assert_int_equal(o, k->len);
	big = calloc(1, sizeof(*big) + k->len + pl);
	assert_non_null(big);
	memcpy(big, k, sizeof(*k) + k->len);
	big->data[last] = 200; /* private use, not critical */
	big->data[k->len + 2] = (uint8_t)(pl >> 8);
	big->data[k->len + 3] = (uint8_t)pl;
	big->len = k->len + pl;
	big->data[26] = (uint8_t)(big->len >> 8);
	big->data[27] = (uint8_t)big->len;
	h_deliver(big);
	assert_int_equal(Bd.dos.st.refused_size, 1);
	assert_int_equal(Bd.half_open, 0);
	/* The same request at its normal size is answered. */
	h_deliver(k);
	assert_int_equal(Bd.half_open, 1);
	free(big);
	free(k);
	h_drop_all();
}

/* The per-SA task queue is bounded (IKE_TASK_MAX): a backstop behind
 * its deduplicating feeders. */
static void test_task_queue_bounded(void **st)
{
	struct ike_sa *a;
	const struct task *t;
	unsigned n = 0;

	(void)st;
	alice_connect();
	a = est_at(&A);
	assert_non_null(a);
	for (int i = 0; i < IKE_TASK_MAX + 50; i++) {
		struct task *nt = task_new(TASK_DPD);

		assert_non_null(nt);
		task_queue(a, nt); /* not run: they pile up */
	}
	for (t = a->queue; t; t = t->next)
		n++;
	assert_int_equal(n, IKE_TASK_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cookie_threshold, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cookie_per_source, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_per_addr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_per_prefix_v4, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_per_prefix_v6, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_full_table_displace, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_displace_only_evens_out, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lone_entry_never_displaced,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_under_pressure, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_shrinks, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sa_per_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_task_queue_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_child_per_sa, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
