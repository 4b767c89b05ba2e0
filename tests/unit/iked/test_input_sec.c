/*
 * test_input_sec.c - issue 9, defects 2 and 3, on two engines in one
 * process ("alice" initiates, "bob" responds; fake kernel backend).
 *
 * Defect 2 (RFC 7296 §2.21.2, §3.14): for a half-open or established
 * IKE SA nothing but retransmission detection happens before the SK
 * payload verifies.  Forged copies of real messages (unknown critical
 * payload before SK, a payload not allowed outside SK, a higher major
 * version, a bad ICV, a flipped ciphertext octet, no SK at all) must be
 * dropped without a response, a cache entry, a message ID change, an SA
 * deletion or a timer change; the real message then completes the
 * exchange.  Forged responses must neither complete nor kill our
 * request.  A retransmitted request is answered from the cache only when
 * it is the exact request (§2.1), and at most IKE_RESEND_PER_SEC times
 * a second.
 *
 * Defect 3: a response with another IPsec mode than requested (here a
 * real response re-sealed with the real SK keys plus
 * USE_TRANSPORT_MODE) must delete our larval SA and send a DELETE for
 * our inbound SPI, so that the peer drops its half and neither kernel
 * keeps anything (IKE_AUTH, CREATE_CHILD_SA, CHILD rekey).
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

/* ---- packets ---- */

static struct h_pkt *pkt_copy(const struct h_pkt *k, size_t extra)
{
	struct h_pkt *c = malloc(sizeof(*c) + k->len + extra);

	assert_non_null(c);
	memcpy(c, k, sizeof(*c) + k->len);
	c->next = NULL;
	return c;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void set_len(struct h_pkt *k)
{
	put32(k->data + 24, (uint32_t)k->len); /* RFC 7296 §3.1 Length */
}

/* Insert a payload (generic header + body) in front of the chain. */
static struct h_pkt *insert_first(const struct h_pkt *k, uint8_t type,
				  bool critical, size_t body_len)
{
	struct h_pkt *c = pkt_copy(k, 4 + body_len);
	uint8_t *p = c->data + IKEV2_HDR_LEN;

	memmove(p + 4 + body_len, p, k->len - IKEV2_HDR_LEN);
	p[0] = k->data[16]; /* its Next Payload: the old first payload */
	p[1] = critical ? 0x80 : 0;
	p[2] = (uint8_t)((4 + body_len) >> 8);
	p[3] = (uint8_t)(4 + body_len);
	memset(p + 4, 0x5a, body_len);
	c->data[16] = type;
	c->len = k->len + 4 + body_len;
	set_len(c);
	return c;
}

enum forgery {
	F_UNKNOWN_CRITICAL, /* §2.5: unknown critical payload before SK */
	F_MISPLACED,	    /* a Nonce outside SK (INVALID_SYNTAX) */
	F_MAJOR,	    /* major version 3 (INVALID_MAJOR_VERSION) */
	F_BAD_ICV,	    /* last octet of the ICV flipped */
	F_CIPHERTEXT,	    /* an octet in the middle flipped */
	F_NO_SK,	    /* a lone notify, no SK payload */
	F_COUNT
};

static struct h_pkt *forge(const struct h_pkt *k, enum forgery f)
{
	struct h_pkt *c;

	switch (f) {
	case F_UNKNOWN_CRITICAL:
		return insert_first(k, 200, true, 0);
	case F_MISPLACED:
		return insert_first(k, IKEV2_PL_NONCE, false, 16);
	case F_MAJOR:
		c = pkt_copy(k, 0);
		c->data[17] = 0x30;
		return c;
	case F_BAD_ICV:
		c = pkt_copy(k, 0);
		c->data[c->len - 1] ^= 1;
		return c;
	case F_CIPHERTEXT:
		c = pkt_copy(k, 0);
		c->data[IKEV2_HDR_LEN + (c->len - IKEV2_HDR_LEN) / 2] ^= 0x40;
		return c;
	case F_NO_SK:
		c = pkt_copy(k, 0);
		c->len = IKEV2_HDR_LEN + 8;
		c->data[16] = IKEV2_PL_N;
		memset(c->data + IKEV2_HDR_LEN, 0, 8);
		c->data[IKEV2_HDR_LEN + 3] = 8; /* payload length */
		c->data[IKEV2_HDR_LEN + 7] = IKEV2_N_INVALID_SYNTAX;
		set_len(c);
		return c;
	case F_COUNT:
		break;
	}
	fail();
	return NULL;
}

/* The same message with another message ID (still unauthenticated:
 * the ICV covers the header). */
static struct h_pkt *with_mid(struct h_pkt *k, uint32_t mid)
{
	put32(k->data + 20, mid);
	return k;
}

enum extra {
	X_OTHER_MODE,	    /* USE_TRANSPORT_MODE added, or removed */
	X_UNKNOWN_CRITICAL, /* unknown payload type 200, critical */
};

/*
 * Re-seal: open the protected message k with the receiver's keys (rx)
 * and build it again with the sender's (tx), inner payloads unchanged,
 * changed as asked.  What a peer that means it would send: it
 * passes the ICV and reaches the state machine.
 */
static struct h_pkt *reseal(const struct h_pkt *k, struct ike_sa *rx,
			    struct ike_sa *tx, enum extra x)
{
	static struct ike_msg m;
	static uint8_t plain[IKEV2_MAX_MSG];
	struct ikev2_wr b;
	struct h_pkt *c;
	uint8_t *pkt;
	size_t len;
	struct ikev2_notify n;
	bool transport = false;
	unsigned i;

	assert_int_equal(ikev2_msg_parse(k->data, k->len, &m), 0);
	assert_int_equal(ikev2_sk_open(&rx->sk_in, &m, plain, sizeof(plain)),
			 0);
	assert_int_equal(msg_start(tx, &b, m.hdr.exch,
				   m.hdr.flags & IKEV2_FLAG_RESPONSE,
				   m.hdr.msgid, true),
			 0);
	for (i = 0; i < m.npl; i++) {
		if (!m.pl[i].inner)
			continue;
		if (x == X_OTHER_MODE && m.pl[i].type == IKEV2_PL_N &&
		    ikev2_get_notify(&m.pl[i], &n) == 0 &&
		    n.type == IKEV2_N_USE_TRANSPORT_MODE) {
			transport = true; /* §1.3.1: now tunnel mode */
			continue;
		}
		ikev2_put_raw(&b, m.pl[i].type, m.pl[i].critical,
			      m.pl[i].body.p, m.pl[i].body.len);
	}
	if (x == X_UNKNOWN_CRITICAL)
		ikev2_put_raw(&b, 200, true, NULL, 0);
	else if (!transport)
		ikev2_put_notify_simple(&b, IKEV2_N_USE_TRANSPORT_MODE, NULL,
					0);
	assert_int_equal(ikev2_sk_end(&b), 0);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	c = malloc(sizeof(*c) + len);
	assert_non_null(c);
	*c = *k;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, pkt, len);
	free(pkt);
	return c;
}

/* ---- state snapshots: "changes nothing" ---- */

struct snap {
	enum ike_state state;
	uint32_t mid_next, peer_mid_next;
	bool req_out;
	uint32_t req_mid;
	unsigned req_tries, dpd_fails;
	uint64_t last_recv_ms, bytes_in;
	uint64_t rtx_when, life_when, dpd_when;
	bool natt;
	struct {
		bool valid;
		uint32_t mid;
		size_t len;
		uint8_t first[64];
	} cache[IKE_WINDOW_MAX];
	unsigned nchildren;
	size_t kernel_sas;
};

static void snap_take(struct ike_sa *sa, struct snap *s)
{
	struct child_sa *c;

	memset(s, 0, sizeof(*s));
	s->state = sa->state;
	s->mid_next = sa->mid_next;
	s->peer_mid_next = sa->peer_mid_next;
	s->req_out = sa->req_out;
	s->req_mid = sa->req_mid;
	s->req_tries = sa->req_tries;
	s->dpd_fails = sa->dpd_fails;
	s->last_recv_ms = sa->last_recv_ms;
	s->bytes_in = sa->bytes_in;
	s->rtx_when = ev_timer_active(&sa->rtx) ? sa->rtx.when_ms : 0;
	s->life_when = ev_timer_active(&sa->life) ? sa->life.when_ms : 0;
	s->dpd_when = ev_timer_active(&sa->dpd) ? sa->dpd.when_ms : 0;
	s->natt = sa->natt;
	for (unsigned i = 0; i < IKE_WINDOW_MAX; i++) {
		if ((uint32_t)i >= sa->ncache)
			continue;
		s->cache[i].valid = sa->cache[i].valid;
		s->cache[i].mid = sa->cache[i].mid;
		s->cache[i].len = sa->cache[i].len;
		if (sa->cache[i].valid)
			memcpy(s->cache[i].first, sa->cache[i].pkt,
			       sa->cache[i].len < 64 ? sa->cache[i].len : 64);
	}
	for (c = sa->children; c; c = c->next)
		s->nchildren++;
	s->kernel_sas = kfake_sa_count(&sa->d->kern);
}

static void snap_same(struct ike_sa *sa, const struct snap *before)
{
	struct snap now;

	snap_take(sa, &now);
	assert_int_equal(now.state, before->state);
	assert_int_equal(now.mid_next, before->mid_next);
	assert_int_equal(now.peer_mid_next, before->peer_mid_next);
	assert_int_equal(now.req_out, before->req_out);
	assert_int_equal(now.req_tries, before->req_tries);
	assert_int_equal(now.last_recv_ms, before->last_recv_ms);
	assert_int_equal(now.bytes_in, before->bytes_in);
	assert_int_equal(now.rtx_when, before->rtx_when);
	assert_int_equal(now.life_when, before->life_when);
	assert_int_equal(now.dpd_when, before->dpd_when);
	assert_int_equal(now.nchildren, before->nchildren);
	assert_int_equal(now.kernel_sas, before->kernel_sas);
	assert_memory_equal(now.cache, before->cache, sizeof(now.cache));
	assert_memory_equal(&now, before, sizeof(now));
}

/* Deliver a forgery: nothing may be sent, nothing may change. */
static void deliver_ignored(struct h_pkt *f, struct ike_sa *sa)
{
	struct snap s;
	unsigned before = h_sent;

	snap_take(sa, &s);
	h_deliver(f);
	free(f);
	assert_int_equal(h_sent, before);
	snap_same(sa, &s);
}

static struct h_pkt *pop(void)
{
	struct h_pkt *k = h_pop();

	assert_non_null(k);
	return k;
}

static void deliver_free(struct h_pkt *k)
{
	h_deliver(k);
	free(k);
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

static void start(void)
{
	char err[160];

	assert_int_equal(
	    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
}

/* IKE_SA_INIT both ways; returns alice's IKE_AUTH request. */
static struct h_pkt *to_ike_auth(void)
{
	start();
	deliver_free(pop()); /* IKE_SA_INIT request */
	deliver_free(pop()); /* response */
	return pop();	     /* IKE_AUTH request */
}

static void established_pair(void)
{
	struct ike_sa *a = h_est(&A, NULL), *b = h_est(&Bd, NULL);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->mid_next, b->peer_mid_next);
	assert_int_equal(b->mid_next, a->peer_mid_next);
	assert_int_equal(count_children(a, CHILD_S_INSTALLED), 1);
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 1);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static void establish(void)
{
	h_initiate(&A, "peer", NULL, NULL);
	established_pair();
}

/* ---- defect 2: before the ICV ---- */

/* Forged IKE_AUTH requests on bob's half-open SA: dropped, the SA
 * survives and the real IKE_AUTH completes it. */
static void test_half_open_forged_auth(void **st)
{
	struct h_pkt *k = to_ike_auth();
	struct ike_sa *b = Bd.sas;

	(void)st;
	assert_non_null(b);
	assert_int_equal(b->state, IKE_S_INIT_DONE);
	for (int f = 0; f < F_COUNT; f++) {
		deliver_ignored(forge(k, (enum forgery)f), b);
		/* The same with a message ID ahead in the window. */
		deliver_ignored(with_mid(forge(k, (enum forgery)f), 2), b);
	}
	assert_int_equal(b->state, IKE_S_INIT_DONE);
	deliver_free(k);
	h_pump();
	established_pair();
}

/* Forged requests on an established SA with the next message ID: no
 * answer, no message ID change; alice's real request with that ID then
 * gets its real answer. */
static void test_established_forged_request(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *k;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	k = pop(); /* INFORMATIONAL request 2 */
	assert_int_equal(b->peer_mid_next, 2);
	for (int f = 0; f < F_COUNT; f++) {
		deliver_ignored(forge(k, (enum forgery)f), b);
		deliver_ignored(with_mid(forge(k, (enum forgery)f), 3), b);
	}
	/* Unprotected replay of the header under another exchange. */
	{
		struct h_pkt *c = forge(k, F_UNKNOWN_CRITICAL);
		c->data[18] = IKEV2_EXCH_CREATE_CHILD_SA;
		deliver_ignored(c, b);
	}
	deliver_free(k);
	h_pump();
	assert_false(a->req_out);
	assert_int_equal(a->mid_next, 3);
	assert_int_equal(b->peer_mid_next, 3);
	established_pair();
	/* And the SA still works both ways. */
	ike_queue_child_rekey(b, b->children);
	h_pump();
	established_pair();
}

/* Forged responses to alice's outstanding request: the request stays
 * outstanding (same retransmission timer), the real response ends it. */
static void test_forged_response(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *k, *r;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	k = pop();
	deliver_free(k);
	r = pop(); /* bob's response */
	assert_int_equal(b->peer_mid_next, 3);
	for (int f = 0; f < F_COUNT; f++)
		deliver_ignored(forge(r, (enum forgery)f), a);
	deliver_ignored(with_mid(pkt_copy(r, 0), 3), a);
	assert_true(a->req_out);
	deliver_free(r);
	h_pump();
	assert_false(a->req_out);
	assert_int_equal(a->mid_next, 3);
	established_pair();
}

/* Forged IKE_AUTH response on alice's half-open SA: it neither
 * completes nor kills the exchange. */
static void test_half_open_forged_auth_response(void **st)
{
	struct h_pkt *k = to_ike_auth(), *r;
	struct ike_sa *a = A.sas;

	(void)st;
	deliver_free(k);
	r = pop();
	assert_int_equal(a->state, IKE_S_AUTH_SENT);
	for (int f = 0; f < F_COUNT; f++)
		deliver_ignored(forge(r, (enum forgery)f), a);
	assert_int_equal(a->state, IKE_S_AUTH_SENT);
	deliver_free(r);
	h_pump();
	established_pair();
}

/* After the ICV a malformed inner chain is the peer's own message: it
 * gets its protected error answer (§2.21.2, §3.2) and uses up its
 * message ID, on both ends alike. */
static void test_verified_malformed_request(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *k;
	unsigned before;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	k = pop();
	before = h_sent;
	deliver_free(reseal(k, b, a, X_UNKNOWN_CRITICAL));
	free(k);
	assert_int_equal(h_sent, before + 1);
	assert_int_equal(b->peer_mid_next, 3);
	h_pump();
	assert_false(a->req_out);
	established_pair();
}

/* ---- retransmissions (RFC 7296 §2.1) ---- */

static void test_retransmit_exact_only(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *k, *r;
	unsigned before, answers, i;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	k = pop();
	h_deliver(k);
	r = pop();
	/* The exact request again: answered from the cache. */
	before = h_sent;
	h_deliver(k);
	assert_int_equal(h_sent, before + 1);
	h_drop_all();
	/* Same message ID, other octets: never answered. */
	{
		struct h_pkt *c = forge(k, F_CIPHERTEXT);
		deliver_ignored(c, b);
		c = forge(k, F_BAD_ICV);
		deliver_ignored(c, b);
		c = forge(k, F_UNKNOWN_CRITICAL);
		deliver_ignored(c, b);
		c = pkt_copy(k, 0);
		c->data[19] ^= IKEV2_FLAG_VERSION; /* flags differ */
		deliver_ignored(c, b);
	}
	/* A flood of exact copies is answered at most
	 * IKE_RESEND_PER_SEC times a second (two windows at most here). */
	before = h_sent;
	for (i = 0; i < 200; i++)
		h_deliver(k);
	answers = h_sent - before;
	h_drop_all();
	assert_true(answers >= 1);
	assert_true(answers <= 2 * IKE_RESEND_PER_SEC);
	free(k);
	deliver_free(r);
	h_pump();
	assert_false(a->req_out);
	assert_int_equal(b->peer_mid_next, 3);
	established_pair();
}

/* RFC 7296 §2.11: the response goes to the address and port the
 * request came from, also after the peer moved (without MOBIKE the IKE
 * SA itself stays where it is), and so does a resent response. */
static void test_response_to_request_source(void **st)
{
	struct ike_sa *a, *b;
	struct ike_ep old_peer, moved, moved2;
	struct h_pkt *k, *r;
	char buf[80];

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	old_peer = b->peer;
	assert_int_equal(kaddr_parse("198.51.100.77", &moved.addr), 0);
	moved.port = 40500;
	assert_int_equal(kaddr_parse("198.51.100.78", &moved2.addr), 0);
	moved2.port = 40600;
	task_queue(a, task_new(TASK_DPD));
	task_run(a);
	k = pop();
	k->from = moved;
	h_deliver(k);
	r = pop();
	assert_int_equal(r->to, 0);
	assert_string_equal(ike_ep_str(&r->dst, buf, sizeof(buf)),
			    ike_ep_str(&moved, (char[80]){0}, 80));
	assert_true(kaddr_eq(&r->from.addr, &b->local.addr));
	/* The IKE SA did not move (no MOBIKE, no NAT). */
	assert_true(kaddr_eq(&b->peer.addr, &old_peer.addr));
	assert_int_equal(b->peer.port, old_peer.port);
	/* The retransmission from elsewhere: the cached response goes
	 * there. */
	k->from = moved2;
	h_deliver(k);
	free(r);
	r = pop();
	assert_string_equal(ike_ep_str(&r->dst, buf, sizeof(buf)),
			    ike_ep_str(&moved2, (char[80]){0}, 80));
	free(k);
	deliver_free(r);
	h_pump();
	assert_false(a->req_out);
	established_pair();
	/* Our own requests still go to the peer's address of the SA. */
	task_queue(b, task_new(TASK_DPD));
	task_run(b);
	k = pop();
	assert_string_equal(ike_ep_str(&k->dst, buf, sizeof(buf)),
			    ike_ep_str(&old_peer, (char[80]){0}, 80));
	deliver_free(k);
	h_pump();
	established_pair();
}

/* IKE_SA_INIT: only the exact request is a retransmission. */
static void test_init_retransmit_exact_only(void **st)
{
	struct h_pkt *k, *r, *c;
	struct ike_sa *b;
	unsigned before, answers, i;

	(void)st;
	start();
	k = pop();
	h_deliver(k);
	r = pop();
	b = Bd.sas;
	assert_non_null(b);
	before = h_sent;
	h_deliver(k);
	assert_int_equal(h_sent, before + 1);
	h_drop_all();
	c = pkt_copy(k, 0);
	c->data[c->len - 1] ^= 1;
	deliver_ignored(c, b);
	before = h_sent;
	for (i = 0; i < 200; i++)
		h_deliver(k);
	answers = h_sent - before;
	h_drop_all();
	assert_true(answers <= 2 * IKE_RESEND_PER_SEC);
	free(k);
	deliver_free(r);
	h_pump();
	established_pair();
}

/* ---- defect 3: another IPsec mode in the response ---- */

/* IKE_AUTH: the IKE SA stands, the child is refused, alice's larval SA
 * is gone and bob was told (DELETE of alice's inbound SPI). */
static void test_mode_mismatch_auth(void **st)
{
	struct h_pkt *k = to_ike_auth(), *r;
	struct ike_sa *a = A.sas, *b = Bd.sas;

	(void)st;
	deliver_free(k);
	r = pop();
	deliver_free(reseal(r, a, b, X_OTHER_MODE));
	free(r);
	h_pump();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(a->children);
	assert_null(b->children);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
	assert_int_equal(a->mid_next, b->peer_mid_next);
	assert_int_equal(b->mid_next, a->peer_mid_next);
}

static void add_pol2(struct iked *d)
{
	struct ike_policy *p = cfg_add_policy(d->cfg);

	assert_non_null(p);
	*p = d->cfg->policy[0];
	snprintf(p->name, sizeof(p->name), "pol2");
}

/* CREATE_CHILD_SA for a second policy. */
static void test_mode_mismatch_create_child(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *r;
	char err[160];

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	add_pol2(&A);
	add_pol2(&Bd);
	assert_int_equal(
	    iked_initiate(&A, "peer", "pol2", NULL, err, sizeof(err)), 0);
	deliver_free(pop()); /* CREATE_CHILD_SA request */
	assert_int_equal(count_children(b, CHILD_S_INSTALLED), 2);
	r = pop();
	deliver_free(reseal(r, a, b, X_OTHER_MODE));
	free(r);
	h_pump();
	established_pair();
	assert_null(a->children->next);
	assert_null(b->children->next);
	assert_string_equal(a->children->policy, "pol-peer");
}

/* CHILD rekey: the new child is refused, the old one stays in use. */
static void test_mode_mismatch_rekey(void **st)
{
	struct ike_sa *a, *b;
	struct h_pkt *r;
	uint32_t old_in;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	old_in = a->children->spi_in;
	ike_queue_child_rekey(a, a->children);
	deliver_free(pop());
	r = pop();
	deliver_free(reseal(r, a, b, X_OTHER_MODE));
	free(r);
	h_pump();
	established_pair();
	assert_int_equal(a->children->spi_in, old_in);
	assert_int_equal(b->children->spi_out, old_in);
	/* A later rekey still works. */
	ike_queue_child_rekey(a, a->children);
	h_pump();
	established_pair();
	assert_int_not_equal(a->children->spi_in, old_in);
	assert_int_equal(a->children->spi_in, b->children->spi_out);
}

/* A CHILD SA the peer refuses (an error notify, nothing installed on
 * its side): our larval SA does not stay behind, nothing is deleted at
 * the peer, in CREATE_CHILD_SA and in IKE_AUTH. */
static void test_refused_child_no_leak(void **st)
{
	struct ike_sa *a;
	struct ike_policy *p;
	char err[160];
	unsigned before;

	(void)st;
	establish();
	a = h_est(&A, NULL);
	add_pol2(&A);
	p = &A.cfg->policy[A.cfg->npolicy - 1];
	p->mode = KMODE_TUNNEL; /* bob has transport only */
	before = h_sent;
	assert_int_equal(
	    iked_initiate(&A, "peer", "pol2", NULL, err, sizeof(err)), 0);
	h_pump();
	assert_int_equal(h_sent - before, 2); /* request, refusal */
	established_pair();
	assert_null(a->children->next);
}

static void test_refused_child_in_auth_no_leak(void **st)
{
	(void)st;
	Bd.cfg->policy[0].mode = KMODE_TUNNEL; /* alice asks transport */
	h_initiate(&A, "peer", NULL, NULL);
	assert_non_null(h_est(&A, NULL));
	assert_non_null(h_est(&Bd, NULL));
	assert_null(h_est(&A, NULL)->children);
	assert_null(h_est(&Bd, NULL)->children);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_half_open_forged_auth),
	    T(test_established_forged_request),
	    T(test_forged_response),
	    T(test_half_open_forged_auth_response),
	    T(test_verified_malformed_request),
	    T(test_retransmit_exact_only),
	    T(test_init_retransmit_exact_only),
	    T(test_response_to_request_source),
	    T(test_mode_mismatch_auth),
	    T(test_mode_mismatch_create_child),
	    T(test_mode_mismatch_rekey),
	    T(test_refused_child_no_leak),
	    T(test_refused_child_in_auth_no_leak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
