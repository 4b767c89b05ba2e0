/*
 * harness.c - iked engines in one process for the unit tests; see
 * harness.h for who owns what.  State is static: one harness per test
 * executable, set up and torn down around each test.
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

#include "harness.h"
#include "ike/exch.h"
#include "ike/rw.h"
#include "lib/log.h"

unsigned h_sent;
unsigned h_keepalives[H_MAX_ENG];

static struct iked *h_engs[H_MAX_ENG];
static int h_neng;
static struct h_opts h_opt;
static struct h_pkt *h_qhead, **h_qtail = &h_qhead;

static bool h_debug;

void h_log_as(int i)
{
	static const char *const names[H_MAX_ENG] = {"eng0", "eng1", "eng2",
						     "eng3"};

	if (h_debug && i >= 0 && i < H_MAX_ENG)
		log_init(names[i], LOG_TO_STDERR, LOG_LVL_DEBUG);
}

void h_log_init(void)
{
	h_debug = getenv("IKED_TEST_DEBUG") != NULL;
	log_init("test", LOG_TO_STDERR,
		 getenv("IKED_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
}

int h_index(const struct iked *d)
{
	for (int i = 0; i < h_neng; i++)
		if (d == h_engs[i])
			return i;
	fail();
	return -1;
}

static int h_hook(struct iked *d, const struct ike_ep *from,
		  const struct ike_ep *to, const uint8_t *p, size_t len,
		  void *arg)
{
	struct h_pkt *k;
	int me = h_index(d);

	(void)arg;
	/* RFC 3948 §2.3: a NAT-keepalive is one 0xff octet. */
	if (h_opt.count_keepalives && len == 1 && p[0] == 0xff) {
		h_keepalives[me]++;
		return 0;
	}
	k = malloc(sizeof(*k) + len);
	assert_non_null(k);
	k->from = *from;
	k->dst = *to;
	k->to = h_opt.route ? h_opt.route(me, &k->from, &k->dst) : !me;
	k->len = len;
	memcpy(k->data, p, len);
	h_requeue(k);
	h_sent++;
	return 0;
}

void h_requeue(struct h_pkt *k)
{
	k->next = NULL;
	*h_qtail = k;
	h_qtail = &k->next;
}

void h_push(int to, const struct ike_ep *from, const struct ike_ep *dst,
	    const uint8_t *p, size_t len)
{
	struct h_pkt *k = malloc(sizeof(*k) + len);

	assert_non_null(k);
	assert_true(to >= 0 && to < h_neng);
	k->to = to;
	k->from = *from;
	k->dst = *dst;
	k->len = len;
	memcpy(k->data, p, len);
	h_requeue(k);
}

struct iked *h_eng(int i)
{
	assert_true(i >= 0 && i < h_neng);
	return h_engs[i];
}

int h_count(void)
{
	return h_neng;
}

static void h_reaper_cb(struct ev_loop *l, struct ev_timer *t, void *arg)
{
	struct iked *d = arg;
	struct ike_sa *sa, *n;

	(void)l;
	(void)t;
	for (sa = d->sas; sa; sa = n) {
		n = sa->next;
		if (sa->state == IKE_S_DEAD)
			ike_sa_free(sa);
	}
}

static void h_engine_init(struct iked *d)
{
	memset(d, 0, sizeof(*d));
	d->loop = ev_new();
	assert_non_null(d->loop);
	d->ctl_fd = -1;
	assert_int_equal(k_open(&d->kern, "fake", 0), 0);
	d->kern_open = true;
	d->send_hook = h_hook;
	ev_timer_init(&d->reaper, h_reaper_cb, d);
}

void h_setup(struct iked *const *e, int n, const struct h_opts *o)
{
	assert_true(n > 0 && n <= H_MAX_ENG);
	/* Without a route, packets go to "the other" engine. */
	assert_true(o->route || n == 2);
	h_opt = *o;
	h_neng = n;
	h_sent = 0;
	for (int i = 0; i < n; i++) {
		h_engs[i] = e[i];
		h_engine_init(e[i]);
		h_keepalives[i] = 0;
	}
}

void h_teardown(void)
{
	h_drop_all();
	for (int i = 0; i < h_neng; i++) {
		struct iked *d = h_engs[i];

		while (d->sas) {
			if (h_opt.kill_on_teardown)
				ike_sa_kill(d->sas, "teardown");
			ike_sa_free(d->sas);
		}
		if (h_opt.expect_empty_kernel)
			assert_int_equal(kfake_sa_count(&d->kern), 0);
		h_drop_all(); /* what a kill may have sent */
		rw_free(d);
		k_close(&d->kern);
		cfg_free(d->cfg);
		ev_free(d->loop);
	}
	h_neng = 0;
}

struct h_pkt *h_pop(void)
{
	struct h_pkt *k = h_qhead;

	if (k) {
		h_qhead = k->next;
		if (!h_qhead)
			h_qtail = &h_qhead;
	}
	return k;
}

void h_deliver(const struct h_pkt *k)
{
	h_log_as(k->to);
	ike_input(h_engs[k->to], &k->dst, &k->from,
		  k->dst.port == IKE_NATT_PORT, k->data, k->len);
}

void h_drop_all(void)
{
	struct h_pkt *k;

	while ((k = h_pop()))
		free(k);
}

unsigned h_pump(void)
{
	struct h_pkt *k;
	unsigned n = 0;

	while ((k = h_pop())) {
		h_deliver(k);
		free(k);
		/* A loop between the engines, not a long exchange. */
		assert_true(++n < h_opt.pump_limit);
	}
	for (int i = 0; i < h_neng; i++) {
		h_log_as(i);
		ev_run_once(h_engs[i]->loop, 0);
	}
	return n;
}

void h_initiate(struct iked *d, const char *remote, const char *policy,
		const struct ksel *pkt)
{
	char err[160];

	assert_int_equal(
	    iked_initiate(d, remote, policy, pkt, err, sizeof(err)), 0);
	h_pump();
}

void h_peer_config(struct iked *d, const char *me, const char *peer)
{
	struct ike_remote *r;
	struct ike_policy *p;

	d->cfg = cfg_new();
	assert_non_null(d->cfg);
	r = cfg_add_remote(d->cfg);
	p = cfg_add_policy(d->cfg);
	assert_non_null(r);
	assert_non_null(p);
	snprintf(r->name, sizeof(r->name), "peer");
	r->peer_any = false;
	assert_int_equal(kaddr_parse(peer, &r->peer_addr), 0);
	r->interval_ms = 100;
	snprintf(p->name, sizeof(p->name), "pol-peer");
	snprintf(p->remote, sizeof(p->remote), "peer");
	p->reqid = 7;
	/* Our address without asking the (root namespace's) routes. */
	assert_int_equal(kaddr_parse(me, &p->my_sa), 0);
	p->lifetime_sec = 3600;
}

struct ike_sa *h_est(struct iked *d, const char *remote)
{
	struct ike_sa *sa, *found = NULL;

	for (sa = d->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED &&
		    (!remote || !strcmp(sa->remote, remote))) {
			assert_null(found); /* exactly one */
			found = sa;
		}
	return found;
}

struct ike_sa *h_est_any(struct iked *d)
{
	struct ike_sa *sa;

	for (sa = d->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED)
			return sa;
	return NULL;
}

unsigned h_count_sas(struct iked *d)
{
	struct ike_sa *sa;
	unsigned n = 0;

	for (sa = d->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD)
			n++;
	return n;
}

unsigned h_count_est(struct iked *d)
{
	struct ike_sa *sa;
	unsigned n = 0;

	for (sa = d->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED)
			n++;
	return n;
}

/* The daemon's reload needs the config parser; not linked here. */
int iked_reload(struct iked *d, char *err, size_t errlen)
{
	(void)d;
	snprintf(err, errlen, "not in tests");
	return -ENOTSUP;
}
