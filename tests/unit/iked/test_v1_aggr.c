/*
 * test_v1_aggr.c - iked's IKEv1 initiator (src/ike/v1.c) after
 * Aggressive Mode: the first Quick Mode follows Aggressive Mode's third
 * message at once, and nothing answers that message (RFC 2409 §5.4), so
 * a responder may take up the Quick Mode first and drop it (strongSwan
 * 5.9 does: its job queue runs Quick Mode jobs ahead of Aggressive Mode
 * ones, and task_manager_v1.c ignores a Quick Mode "while phase 1 is
 * incomplete").  iked resends that Quick Mode once after
 * V1_AM_QM_EARLY_MS (1 s) instead of waiting interval_to_send (10 s),
 * without counting the resend against max_retry_to_send; after Main
 * Mode, whose last message is the responder's, the schedule is the
 * usual one.
 *
 * Two engines on the harness (tests/unit/iked/harness.c), configured
 * from racoon2.conf text; net_route_src is wrapped (link option) so the
 * initiator picks its address without the host's routes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "ike/cfg.h"
#include "ike/iked.h"
#include "ike/v1.h"
#include "isakmp/isakmp.h"
#include "lib/ev.h"
#include "lib/log.h"

#include "harness.h"

#define ADDR_A "198.51.100.1"
#define ADDR_B "198.51.100.2"

static struct iked A, Bd;
static char dir[64];

int __wrap_net_route_src(const struct kaddr *peer, struct kaddr *src);
int __wrap_net_route_src(const struct kaddr *peer, struct kaddr *src)
{
	struct kaddr b;

	assert_int_equal(kaddr_parse(ADDR_B, &b), 0);
	return kaddr_parse(kaddr_eq(peer, &b) ? ADDR_A : ADDR_B, src);
}

/* racoon2.conf of one side; mode: "aggressive; main;" or "main;" */
static void load_conf(struct iked *d, const char *me, const char *peer,
		      const char *id, const char *peer_id, const char *mode)
{
	/* tunnel between the hosts' inner addresses */
	const char *net = !strcmp(me, ADDR_A) ? "203.0.113.1" : "203.0.113.2";
	const char *pnet = !strcmp(me, ADDR_A) ? "203.0.113.2" : "203.0.113.1";
	char path[128], err[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"interface { ike { \"%s\" port 500; }; };\n"
		"ipsec esp { sa_index { esp_sa; }; };\n"
		"sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_cbc; }; "
		"esp_auth_alg { hmac_sha2_256; }; };\n"
		"remote peer {\n"
		"  acceptable_kmp { ikev1; };\n"
		"  ikev1 {\n"
		"    my_id fqdn \"%s\"; peers_id fqdn \"%s\";\n"
		"    peers_ipaddr \"%s\" port 500;\n"
		"    kmp_enc_alg { aes128_cbc; }; kmp_hash_alg { sha2_256; };\n"
		"    kmp_dh_group { modp2048; }; kmp_auth_method { psk; };\n"
		"    pre_shared_key \"%s/psk\";\n"
		"    exchange_mode { %s };\n"
		"    interval_to_send 10 sec; max_retry_to_send 3;\n"
		"  };\n"
		"  selector_index s_out;\n"
		"};\n"
		"selector s_out { direction outbound; src \"%s/32\"; "
		"dst \"%s/32\"; policy_index pol; };\n"
		"selector s_in { direction inbound; src \"%s/32\"; "
		"dst \"%s/32\"; policy_index pol; };\n"
		"policy pol { action auto_ipsec; remote_index peer; "
		"ipsec_mode tunnel; ipsec_index { esp; }; "
		"ipsec_level require; my_sa_ipaddr \"%s\"; "
		"peers_sa_ipaddr \"%s\"; };\n",
		me, id, peer_id, peer, dir, mode, net, pnet, pnet, net, me,
		peer);
	assert_int_equal(fclose(f), 0);
	if (cfg_load(path, &d->cfg, err, sizeof(err)) != 0)
		fail_msg("cfg_load %s: %s", path, err);
}

static void setup_mode(const char *mode)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 1000};
	char path[128];
	FILE *f;
	int fd;

	h_log_init();
	snprintf(dir, sizeof(dir), "/tmp/r2-v1aggr.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/psk", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600); /* iked refuses
							     * more */
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("v1-aggr-test-psk\n", f);
	assert_int_equal(fclose(f), 0);
	h_setup(eng, 2, &o);
	load_conf(&A, ADDR_A, ADDR_B, "host-a.example", "host-b.example", mode);
	load_conf(&Bd, ADDR_B, ADDR_A, "host-b.example", "host-a.example",
		  mode);
}

static int setup_aggr(void **st)
{
	(void)st;
	setup_mode("aggressive; main;");
	return 0;
}

static int setup_main(void **st)
{
	(void)st;
	setup_mode("main;");
	return 0;
}

static int teardown(void **st)
{
	char path[128];

	(void)st;
	v1_shutdown(&A);
	v1_shutdown(&Bd);
	h_teardown();
	snprintf(path, sizeof(path), "%s/psk", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/host-a.example.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/host-b.example.conf", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* ISAKMP header (RFC 2408 §3.1): exchange type at octet 18 */
static unsigned exch_of(const struct h_pkt *k)
{
	return k->len >= 28 ? k->data[18] : 0;
}

/* Deliver queued packets until one of exchange `exch` from engine A
 * (to index 1) is at the head; returns it popped (not delivered). */
static struct h_pkt *run_until_from_a(unsigned exch)
{
	struct h_pkt *k;

	while ((k = h_pop())) {
		if (k->to == 1 && exch_of(k) == exch)
			return k;
		h_deliver(k);
		free(k);
	}
	return NULL;
}

static struct v1_sa *the_sa(struct iked *d)
{
	assert_non_null(d->v1sas);
	assert_null(d->v1sas->next);
	return d->v1sas;
}

/* ms until t fires */
static uint64_t due_in(const struct ev_timer *t)
{
	assert_true(ev_timer_active(t));
	return t->when_ms - ev_now_ms();
}

static void fire_rtx(struct v1_sa *v)
{
	v->rtx.cb(A.loop, &v->rtx, v->rtx.arg);
}

static void initiate(void)
{
	char err[160];

	assert_int_equal(
	    iked_initiate(&A, "peer", "pol", NULL, err, sizeof(err)), 0);
}

/* The first Quick Mode after Aggressive Mode 3 is lost (as strongSwan
 * drops it): iked resends it identical after 1 s, uncounted, then keeps
 * its 10 s schedule; the resend completes the Quick Mode. */
static void test_aggr_qm_resent_early(void **st)
{
	struct h_pkt *am3, *qm1, *k;
	struct v1_sa *v;
	uint64_t w;

	(void)st;
	initiate();
	am3 = run_until_from_a(ISAKMP_EXCH_AGGRESSIVE);
	assert_non_null(am3); /* AM1 */
	h_deliver(am3);
	free(am3);
	am3 = run_until_from_a(ISAKMP_EXCH_AGGRESSIVE);
	assert_non_null(am3); /* AM3, after B's AM2 */
	v = the_sa(&A);
	assert_true(v->established && v->aggressive && v->initiator);
	qm1 = h_pop();
	assert_non_null(qm1);
	assert_int_equal(exch_of(qm1), ISAKMP_EXCH_QUICK);
	assert_int_equal(qm1->to, 1);
	/* the Quick Mode overtakes AM3 at the responder, which drops it */
	free(qm1);
	h_deliver(am3);
	free(am3);
	assert_null(h_pop()); /* AM3 is not answered */
	assert_true(the_sa(&Bd)->established);

	w = due_in(&v->rtx);
	assert_true(w <= 1000 && w >= 990);
	fire_rtx(v);
	k = h_pop();
	assert_non_null(k);
	assert_int_equal(exch_of(k), ISAKMP_EXCH_QUICK);
	assert_int_equal(v->tries, 0); /* not counted */
	w = due_in(&v->rtx);
	assert_true(w <= 9000 && w >= 8990); /* 10 s after the first */
	assert_null(h_pop());
	h_requeue(k);
	h_pump();
	assert_non_null(v->children);
	assert_non_null(the_sa(&Bd)->children);
	assert_false(v->am3_unheard); /* B's Quick Mode 2 was heard */
}

/* Nothing lost: B's Quick Mode 2 arrives within the second, the early
 * timer finds nothing outstanding and resends nothing. */
static void test_aggr_no_loss_no_resend(void **st)
{
	struct v1_sa *v;

	(void)st;
	initiate();
	h_pump();
	v = the_sa(&A);
	assert_true(v->established && v->aggressive);
	assert_non_null(v->children);
	if (ev_timer_active(&v->rtx))
		fire_rtx(v);
	assert_null(h_pop());
}

/* With no answer at all, the early resend changes neither the number
 * of counted retransmissions nor the give-up: 1 s (early), then 10 s,
 * 20 s, 40 s (three counted), then the SA is given up. */
static void test_aggr_give_up_unchanged(void **st)
{
	struct h_pkt *k;
	struct v1_sa *v;
	unsigned i;

	(void)st;
	initiate();
	k = run_until_from_a(ISAKMP_EXCH_AGGRESSIVE);
	h_deliver(k);
	free(k);
	k = run_until_from_a(ISAKMP_EXCH_AGGRESSIVE);
	free(k); /* AM3 lost: B never established, drops Quick Mode */
	h_drop_all();
	v = the_sa(&A);
	assert_true(due_in(&v->rtx) <= 1000);
	fire_rtx(v);
	h_drop_all();
	assert_int_equal(v->tries, 0);
	for (i = 1; i <= 3; i++) {
		fire_rtx(v);
		assert_int_equal(v->tries, i);
		k = h_pop();
		assert_non_null(k); /* the Quick Mode again */
		assert_int_equal(exch_of(k), ISAKMP_EXCH_QUICK);
		free(k);
		h_drop_all();
	}
	fire_rtx(v);
	assert_true(v->dead);
}

/* After Main Mode (its last message is the responder's) the first
 * Quick Mode is resent on the usual 10 s schedule. */
static void test_main_usual_schedule(void **st)
{
	struct h_pkt *qm1;
	struct v1_sa *v;
	uint64_t w;

	(void)st;
	initiate();
	qm1 = run_until_from_a(ISAKMP_EXCH_QUICK);
	assert_non_null(qm1);
	free(qm1);
	v = the_sa(&A);
	assert_true(v->established && !v->aggressive);
	assert_false(v->am3_unheard);
	w = due_in(&v->rtx);
	assert_true(w <= 10000 && w >= 9990);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_aggr_qm_resent_early,
					    setup_aggr, teardown),
	    cmocka_unit_test_setup_teardown(test_aggr_no_loss_no_resend,
					    setup_aggr, teardown),
	    cmocka_unit_test_setup_teardown(test_aggr_give_up_unchanged,
					    setup_aggr, teardown),
	    cmocka_unit_test_setup_teardown(test_main_usual_schedule,
					    setup_main, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
