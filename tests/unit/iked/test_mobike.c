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
 *  - without MOBIKE negotiated, nothing moves;
 *  - the address monitor (addrmon.c): rtnetlink address and route
 *    messages parsed and malformed ones refused; when the route to the
 *    peer has a new source, the initiator's IKE SA moves there by
 *    itself (and not while the source is unchanged, nor as responder).
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

#include "ike/addrmon.h"
#include "ike/exch.h"
#include "kernel/xfrm_msg.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
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

/* ---- addrmon.c ---- */

/* Builds one netlink message: header, fixed part, then attributes. */
struct nlb {
	uint8_t b[512];
	size_t len;
};

static void nlb_start(struct nlb *n, uint16_t type, const void *fixed,
		      size_t flen)
{
	uint32_t len = 0;
	uint16_t flags = 0;
	uint32_t z = 0;

	memset(n, 0, sizeof(*n));
	memcpy(n->b + 4, &type, 2);
	memcpy(n->b + 6, &flags, 2);
	memcpy(n->b + 8, &z, 4);
	memcpy(n->b + 12, &z, 4);
	memcpy(n->b + 16, fixed, flen);
	n->len = 16 + flen;
	memcpy(n->b, &len, 4);
}

static void nlb_attr(struct nlb *n, uint16_t type, const void *p, size_t l)
{
	uint16_t al = (uint16_t)(4 + l);

	memcpy(n->b + n->len, &al, 2);
	memcpy(n->b + n->len + 2, &type, 2);
	memcpy(n->b + n->len + 4, p, l);
	n->len += (4 + l + 3) & ~(size_t)3;
}

static int nlb_parse(struct nlb *n, struct rtnl_ev *ev)
{
	uint32_t len = (uint32_t)n->len;
	struct rd stream;
	struct xnl_msg m;

	memcpy(n->b, &len, 4);
	stream = rd_init(n->b, n->len);
	if (xnl_next(&stream, &m) != 1)
		return -EBADMSG;
	return rtnl_parse(&m, ev);
}

static void test_rtnl_parse(void **st)
{
	uint8_t ifa[8] = {AF_INET, 24, 0, 0, 2, 0, 0, 0}; /* index 2 */
	uint8_t rtm[12] = {AF_INET6, 128, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0};
	struct kaddr v4 = AD("198.51.100.3"), v6 = AD("2001:db8::5");
	uint32_t flags = IFA_F_TENTATIVE, oif = 3;
	struct rtnl_ev ev;
	struct nlb n;
	char buf[64];

	(void)st;
	nlb_start(&n, RTM_NEWADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_ADDRESS, v4.u.b, 4);
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	nlb_attr(&n, IFA_LABEL, "vb", 3);
	nlb_attr(&n, IFA_FLAGS, &flags, 4);
	assert_int_equal(nlb_parse(&n, &ev), 0);
	assert_int_equal(ev.type, RTM_NEWADDR);
	assert_int_equal(ev.ifindex, 2);
	assert_int_equal(ev.plen, 24);
	assert_int_equal(ev.flags, IFA_F_TENTATIVE);
	assert_string_equal(kaddr_str(&ev.addr, buf, sizeof(buf)),
			    "198.51.100.3");
	/* an IPv6 address in an IPv4 message */
	nlb_start(&n, RTM_DELADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_LOCAL, v6.u.b, 16);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* no address at all */
	nlb_start(&n, RTM_DELADDR, ifa, sizeof(ifa));
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* a duplicate attribute */
	nlb_start(&n, RTM_NEWADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* IFA_FLAGS of the wrong size */
	nlb_start(&n, RTM_NEWADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	nlb_attr(&n, IFA_FLAGS, &flags, 2);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* an attribute longer than the message */
	nlb_start(&n, RTM_NEWADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	n.b[n.len - 8] = 200;
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* a cut fixed header */
	nlb_start(&n, RTM_NEWADDR, ifa, 5);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* a prefix length beyond the family */
	ifa[1] = 33;
	nlb_start(&n, RTM_NEWADDR, ifa, sizeof(ifa));
	nlb_attr(&n, IFA_LOCAL, v4.u.b, 4);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* routes: RTA_DST, RTA_PREFSRC, RTA_OIF; unknown types skipped */
	nlb_start(&n, RTM_NEWROUTE, rtm, sizeof(rtm));
	nlb_attr(&n, RTA_DST, v6.u.b, 16);
	nlb_attr(&n, RTA_PREFSRC, v6.u.b, 16);
	nlb_attr(&n, RTA_OIF, &oif, 4);
	nlb_attr(&n, 200, &oif, 1);
	assert_int_equal(nlb_parse(&n, &ev), 0);
	assert_int_equal(ev.ifindex, 3);
	assert_true(kaddr_eq(&ev.src, &v6));
	assert_true(kaddr_eq(&ev.addr, &v6));
	nlb_start(&n, RTM_NEWROUTE, rtm, sizeof(rtm));
	nlb_attr(&n, RTA_PREFSRC, v4.u.b, 4);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	nlb_start(&n, RTM_NEWROUTE, rtm, sizeof(rtm));
	nlb_attr(&n, RTA_OIF, &oif, 2);
	assert_int_equal(nlb_parse(&n, &ev), -EBADMSG);
	/* other families and types are not ours */
	rtm[0] = AF_BRIDGE;
	nlb_start(&n, RTM_NEWROUTE, rtm, sizeof(rtm));
	assert_int_equal(nlb_parse(&n, &ev), -ENOENT);
	nlb_start(&n, RTM_NEWLINK, rtm, sizeof(rtm));
	assert_int_equal(nlb_parse(&n, &ev), -ENOENT);
}

static struct kaddr fake_src;
static unsigned fake_calls;

static int fake_route(struct iked *d, const struct kaddr *peer,
		      struct kaddr *src)
{
	(void)d;
	(void)peer;
	fake_calls++;
	*src = fake_src;
	return fake_src.af ? 0 : -ENETUNREACH;
}

static void test_addrmon_moves(void **st)
{
	struct ike_sa *a, *b;
	uint32_t in_a;
	struct h_pkt *k;
	char buf[80];

	(void)st;
	config(&A, "198.51.100.1", "198.51.100.2", true);
	config(&Bd, "198.51.100.2", "198.51.100.1", true);
	h_initiate(&A, "peer", NULL, NULL);
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	in_a = a->children->spi_in;
	/* the same source: nothing to do; no route: wait */
	fake_src = AD("198.51.100.1");
	assert_int_equal(addrmon_check(&A, fake_route), 0);
	memset(&fake_src, 0, sizeof(fake_src));
	assert_int_equal(addrmon_check(&A, fake_route), 0);
	assert_null(h_pop());
	/* the responder never moves on its own (§3.5) */
	fake_src = AD("198.51.100.12");
	fake_calls = 0;
	assert_int_equal(addrmon_check(&Bd, fake_route), 0);
	assert_int_equal(fake_calls, 0);
	/* the old address went away: the route now leaves from .11 */
	fake_src = AD("198.51.100.11");
	assert_int_equal(addrmon_check(&A, fake_route), 1);
	/* one update at a time */
	assert_int_equal(addrmon_check(&A, fake_route), 0);
	k = h_pop();
	assert_non_null(k);
	assert_string_equal(ike_ep_str(&k->from, buf, sizeof(buf)),
			    "198.51.100.11:500");
	h_deliver(k);
	free(k);
	h_pump();
	assert_int_equal(a->mobike_updates, 1);
	assert_int_equal(b->mobike_updates, 1);
	assert_true(kaddr_eq(&a->local.addr, &fake_src));
	assert_true(kaddr_eq(&b->peer.addr, &fake_src));
	assert_int_equal(a->children->spi_in, in_a);
	assert_int_equal(a->children_moved, 1);
	assert_int_equal(h_count_est(&A), 1);
	/* settled: nothing more */
	assert_int_equal(addrmon_check(&A, fake_route), 0);
	assert_null(h_pop());
}

/* The responder rekeys a CHILD SA right after answering the update (as
 * charon with kernel-libipsec does) and its CREATE_CHILD_SA overtakes
 * the response: the new CHILD SA is installed at the new endpoints
 * already and is not moved again; the old one is moved, nothing is
 * rekeyed by us. */
static void test_child_during_update(void **st)
{
	struct ike_sa *a, *b;
	struct ike_ep moved = {AD("198.51.100.11"), 500};
	struct h_pkt *req, *resp, *ck;
	uint32_t ids;
	struct ksa s;

	(void)st;
	config(&A, "198.51.100.1", "198.51.100.2", true);
	config(&Bd, "198.51.100.2", "198.51.100.1", true);
	h_initiate(&A, "peer", NULL, NULL);
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	assert_int_equal(mobike_update(a, &moved, NULL), 0);
	req = h_pop();
	assert_non_null(req);
	h_deliver(req);
	free(req);
	resp = h_pop(); /* held back */
	assert_non_null(resp);
	assert_int_equal(ike_queue_child_rekey(b, b->children), 0);
	task_run(b);
	ck = h_pop();
	assert_non_null(ck);
	h_deliver(ck); /* A answers the CREATE_CHILD_SA first */
	free(ck);
	ids = A.next_child_id; /* B's rekey made one; no more from here */
	h_deliver(resp);
	free(resp);
	h_pump();
	assert_int_equal(a->mobike_updates, 1);
	assert_int_equal(a->children_moved, 1);
	assert_int_equal(A.next_child_id, ids);
	/* every CHILD SA of A's is between the new addresses */
	for (struct child_sa *c = a->children; c; c = c->next) {
		if (c->state != CHILD_S_INSTALLED)
			continue;
		assert_int_equal(k_sa_get(&A.kern, IPPROTO_ESP, &moved.addr,
					  c->spi_in, &s, NULL),
				 0);
		assert_true(kaddr_eq(&s.src, &b->local.addr));
		ksa_wipe(&s);
	}
	assert_int_equal(h_count_est(&A), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_move, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_during_update, setup,
					    teardown),
	    cmocka_unit_test(test_rtnl_parse),
	    cmocka_unit_test_setup_teardown(test_addrmon_moves, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
