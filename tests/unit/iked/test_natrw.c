/*
 * test_natrw.c - NAT-T and road warriors in the iked engine (issue 6):
 *
 *  - the address pool: distinct leases, exhaustion, release, the same
 *    identity getting its address back, a requested address, IPv6;
 *  - the responder's TS envelope as a table of cases (inside, partly
 *    outside -> narrowed, fully outside -> TS_UNACCEPTABLE, lease, non-CIDR
 *    ranges, IPv6) and the overlap rule between two road warriors;
 *  - end to end in one process: a gateway (default remote + IP_RW
 *    remotes, addresspool) and two clients behind a simulated NAPT (the
 *    send hook rewrites their source endpoints), on the fake kernel
 *    backend: NAT detection and the float to 4500, CP leases, dynamic
 *    policies (kernel-direct mode) tied to the CHILD SAs, UDP
 *    encapsulation in the SAs, keepalives from the clients only, a NAT
 *    mapping change, a returning road warrior, disconnects, and the
 *    no-pool overlap rule (same private address behind two NATs).
 *
 * Ownership: three static engines, run by harness.c and torn down after
 * each test.
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
#include "ike/rw.h"
#include "lib/log.h"

#include "harness.h"

/* ---------------------------------------------------------------- */
/* pure parts                                                         */
/* ---------------------------------------------------------------- */

static struct kaddr A(const char *s) {
	struct kaddr a;

	assert_int_equal(kaddr_parse(s, &a), 0);
	return a;
}

static struct ike_id
ID(const char *s) {
	struct ike_id id;

	assert_int_equal(ike_id_parse(s, &id), 0);
	return id;
}

static void
test_pool(void **st)
{
	struct cfg_range r[2] = {{A("203.0.113.130"), A("203.0.113.132")},
				 {A("2001:db8:7::10"), A("2001:db8:7::11")}};
	struct rw_pool_set ps = {0};
	struct ike_id c1 = ID("fqdn:c1.example"), c2 = ID("fqdn:c2.example"),
		      c3 = ID("fqdn:c3.example"), c4 = ID("fqdn:c4.example");
	struct kaddr a1, a2, a3, x, want;
	char b[64];

	(void)st;
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, NULL, &c1, 1, &a1), 0);
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, NULL, &c2, 2, &a2), 0);
	assert_false(kaddr_eq(&a1, &a2));
	assert_string_equal(kaddr_str(&a1, b, sizeof(b)), "203.0.113.130");
	/* A wanted address inside the pool and free is granted. */
	want = A("203.0.113.132");
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, &want, &c3, 3, &a3), 0);
	assert_true(kaddr_eq(&a3, &want));
	/* Exhausted. */
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, NULL, &c4, 4, &x), -ENOSPC);
	assert_int_equal(rw_pool_count(&ps), 3);
	/* A wanted address held by someone else is not given away. */
	assert_int_equal(rw_pool_release(&ps, 3), 1);
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, &a1, &c4, 4, &x), 0);
	assert_true(kaddr_eq(&x, &a3)); /* the only free one */
	/* Release, and the same identity gets its address back even
	 * after another client took a different one. */
	assert_int_equal(rw_pool_release(&ps, 1), 1);
	assert_int_equal(rw_pool_release(&ps, 4), 1);
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, NULL, &c3, 5, &x), 0);
	assert_true(kaddr_eq(&x, &a3)); /* c3's old one */
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET, NULL, &c1, 6, &x), 0);
	assert_true(kaddr_eq(&x, &a1));
	/* IKE SA rekeyed: the lease follows. */
	rw_pool_move(&ps, 6, 7);
	assert_int_equal(rw_pool_release(&ps, 6), 0);
	assert_int_equal(rw_pool_release(&ps, 7), 1);
	/* IPv6 range; no range of a family -> -ENOENT; other pool name
	 * is independent. */
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 2, AF_INET6, NULL, &c1, 8, &x), 0);
	assert_string_equal(kaddr_str(&x, b, sizeof(b)), "2001:db8:7::10");
	assert_int_equal(
	    rw_pool_alloc(&ps, "p", r, 1, AF_INET6, NULL, &c1, 9, &x), -ENOENT);
	assert_int_equal(
	    rw_pool_alloc(&ps, "q", r, 1, AF_INET, NULL, &c4, 9, &x), 0);
	assert_string_equal(kaddr_str(&x, b, sizeof(b)), "203.0.113.130");
	rw_pool_free(&ps);
}

/* "a-b" range or "a/plen" prefix, optional ":proto:port". */
static struct ikev2_ts T(const char *s) {
	struct ikev2_ts ts;
	char buf[128], *dash, *slash;
	struct kaddr a, e;

	snprintf(buf, sizeof(buf), "%s", s);
	memset(&ts, 0, sizeof(ts));
	if ((dash = strchr(buf, '-'))) {
		*dash = 0;
		a = A(buf);
		e = A(dash + 1);
		assert_int_equal(
		    ikev2_ts_from_prefix(&ts, a.af, a.u.b,
					 a.af == AF_INET ? 32 : 128, 0, 0),
		    0);
		memcpy(ts.end, e.u.b, a.af == AF_INET ? 4 : 16);
	} else {
		slash = strchr(buf, '/');
		*slash = 0;
		a = A(buf);
		assert_int_equal(ikev2_ts_from_prefix(&ts, a.af, a.u.b,
						      (unsigned)atoi(slash + 1),
						      0, 0),
				 0);
	}
	return ts;
}

static struct ikev2_ts_list
L1(const char *s) {
	struct ikev2_ts_list l = {.n = 1};

	l.ts[0] = T(s);
	return l;
}

static void
test_ts_envelope_table(void **st)
{
	static const struct {
		const char *name, *tsi, *env, *lease, *want;
	} cases[] = {
	    {"inside: unchanged", "203.0.113.130/32", "203.0.113.128/26", NULL,
	     "203.0.113.130/32"},
	    {"all of IPv4 (vips): narrowed to the envelope", "0.0.0.0/0",
	     "203.0.113.128/26", NULL, "203.0.113.128/26"},
	    {"partly outside: narrowed", "203.0.113.0/24", "203.0.113.128/26",
	     NULL, "203.0.113.128/26"},
	    {"fully outside: TS_UNACCEPTABLE", "198.51.100.0/24",
	     "203.0.113.128/26", NULL, NULL},
	    {"with a lease: the lease", "0.0.0.0/0", "203.0.113.128/26",
	     "203.0.113.131", "203.0.113.131/32"},
	    {"lease not in what the peer proposed: TS_UNACCEPTABLE",
	     "203.0.113.140/32", "203.0.113.128/26", "203.0.113.131", NULL},
	    {"non-CIDR range: first block", "203.0.113.130-203.0.113.141",
	     "203.0.113.128/26", NULL, "203.0.113.130/31"},
	    {"IPv6 inside", "2001:db8:7::5/128", "2001:db8:7::/64", NULL,
	     "2001:db8:7::5/128"},
	    {"IPv6 all: narrowed", "::/0", "2001:db8:7::/64", NULL,
	     "2001:db8:7::/64"},
	    {"IPv6 with a lease", "::/0", "2001:db8:7::/64", "2001:db8:7::10",
	     "2001:db8:7::10/128"},
	    {"family mismatch: TS_UNACCEPTABLE", "::/0", "203.0.113.128/26",
	     NULL, NULL},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ikev2_ts_list peer = L1(cases[i].tsi),
				     env = L1(cases[i].env),
				     ours = L1("203.0.113.1/32"),
				     envo = L1("203.0.113.0/24"), po, oo;
		struct kaddr lease = {0};
		int rc;

		if (env.ts[0].type == IKEV2_TS_IPV6_ADDR_RANGE) {
			ours = L1("2001:db8:1::1/128");
			envo = L1("2001:db8:1::/64");
		}
		if (cases[i].lease)
			lease = A(cases[i].lease);
		rc = rw_narrow(&peer, &ours, &env, &envo, &lease, &po, &oo);
		print_message("case %zu: %s -> %d\n", i, cases[i].name, rc);
		if (!cases[i].want) {
			assert_int_equal(rc, IKEV2_N_TS_UNACCEPTABLE);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(po.n, 1);
		struct ikev2_ts want = T(cases[i].want);
		assert_memory_equal(&po.ts[0], &want, sizeof(want));
		assert_int_equal(oo.n, 1);
	}
}

static void test_overlap_rule(void **st)
{
	struct rw_bind *pb1, *pb2;
	struct rw_binds set;
	struct ike_id c1 = ID("fqdn:c1.example"), c2 = ID("fqdn:c2.example");
	struct ikev2_ts same = T("10.0.0.5/32"), other = T("10.0.0.6/32"),
			wide = T("10.0.0.0/24");
	uint32_t o;

	(void)st;
	memset(&set, 0, sizeof(set));
	pb1 = rw_bind_new(&c1);
	pb2 = rw_bind_new(&c2);
	assert_non_null(pb1);
	assert_non_null(pb2);
	pb1->sa_id = 1;
	pb1->child_id = 11;
	pb1->peer_ts = same;
	pb2->sa_id = 2;
	pb2->child_id = 12;
	pb2->peer_ts = T("10.0.1.0/24");
	assert_int_equal(rw_binds_add(&set, pb2), 0);
	assert_int_equal(rw_binds_add(&set, pb1), 0);
	/* Another identity, same private address: refused. */
	assert_int_equal(rw_ts_conflict(&set, &c2, 3, &same, &o), RW_REFUSE);
	assert_int_equal(o, 1);
	/* ... also when only overlapping. */
	assert_int_equal(rw_ts_conflict(&set, &c2, 3, &wide, &o), RW_REFUSE);
	/* Same identity from a new IKE SA: replacement. */
	assert_int_equal(rw_ts_conflict(&set, &c1, 3, &same, &o), RW_REPLACE);
	assert_int_equal(o, 1);
	/* The same SA (another child) or disjoint: fine. */
	assert_int_equal(rw_ts_conflict(&set, &c1, 1, &same, &o), RW_OK);
	assert_int_equal(rw_ts_conflict(&set, &c2, 3, &other, &o), RW_OK);
	assert_int_equal(rw_ts_conflict(NULL, &c2, 3, &same, &o), RW_OK);
	rw_binds_del(&set, pb1);
	rw_binds_del(&set, pb2);
	assert_int_equal(rw_ts_conflict(&set, &c2, 3, &same, &o), RW_OK);
	assert_null(set.all);
	free(pb1);
	free(pb2);
}

/* ---------------------------------------------------------------- */
/* engines: gateway G, clients C1 and C2 behind a NAPT                */
/* ---------------------------------------------------------------- */

#define NENG 3
static struct iked E[NENG]; /* 0 = gateway, 1 = c1, 2 = c2 */
#define G (&E[0])
static const char *const eaddr[NENG] = {"198.51.100.1", "203.0.113.66",
					"203.0.113.74"};
static const char *const NAT_ADDR = "198.51.100.254";
static uint16_t nat_base[NENG] = {0, 10000, 20000};
static bool behind_nat = true;
static struct ike_ep seen[NENG];

/* The NAPT in front of the clients, or (behind_nat false) none: the
 * gateway answers whatever source a client's packets came from. */
static int nat_route(int me, struct ike_ep *from, struct ike_ep *dst)
{
	int to;

	if (me != 0 && behind_nat) {
		/* NAPT: source becomes NAT_ADDR, port by (client, port). */
		from->addr = A(NAT_ADDR);
		from->port = (uint16_t)(nat_base[me] + from->port);
		to = 0;
	} else if (me != 0) {
		to = 0;
		seen[me] = *from; /* no NAT: answers go back there */
	} else if (behind_nat) {
		struct kaddr n = A(NAT_ADDR);
		assert_true(kaddr_eq(&dst->addr, &n));
		to = dst->port >= 20000 ? 2 : 1;
		dst->addr = A(eaddr[to]);
		dst->port = (uint16_t)(dst->port - nat_base[to]);
	} else {
		to = -1;
		for (int i = 1; i < NENG; i++)
			if (kaddr_eq(&seen[i].addr, &dst->addr) &&
			    seen[i].port == dst->port)
				to = i;
		assert_true(to > 0);
	}
	return to;
}

static void psk_set(struct ike_remote *r)
{
	r->have_psk = true;
	r->psk_len = 6;
	memcpy(r->psk, "rwpsk!", 6);
	r->interval_ms = 100;
}

/* Gateway: default remote, one IP_RW remote per client identity, each
 * with a tunnel policy whose selector is the envelope 203.0.113.1 <->
 * 203.0.113.128/26 (with_pool) or 10.0.0.0/8 (without). */
static void gw_config(bool with_pool)
{
	struct ike_cfg *c = cfg_new();
	struct ike_remote *r;
	struct ike_policy *p;

	assert_non_null(c);
	r = cfg_add_remote(c);
	snprintf(r->name, sizeof(r->name), "default");
	r->is_default = true;
	psk_set(r);
	for (int i = 1; i < NENG; i++) {
		r = cfg_add_remote(c);
		snprintf(r->name, sizeof(r->name), "rw-c%d", i);
		psk_set(r);
		r->my_id = ID("fqdn:gw.example");
		snprintf((char *)r->peer_id.data, sizeof(r->peer_id.data),
			 "c%d.example", i);
		r->peer_id.type = IKE_ID_FQDN;
		r->peer_id.len = (uint16_t)strlen((char *)r->peer_id.data);
		if (with_pool) {
			snprintf(r->pool_name, sizeof(r->pool_name), "rwpool");
			r->pool[0].start = A("203.0.113.129");
			r->pool[0].end = A("203.0.113.190");
			r->npool = 1;
			r->dns[0] = A("203.0.113.53");
			r->ndns = 1;
		}
		p = cfg_add_policy(c);
		snprintf(p->name, sizeof(p->name), "p-c%d", i);
		snprintf(p->remote, sizeof(p->remote), "rw-c%d", i);
		snprintf(p->sel_name, sizeof(p->sel_name), "s-c%d", i);
		p->mode = KMODE_TUNNEL;
		p->peer_sa_rw = true;
		p->my_sa = A("198.51.100.1");
		p->lifetime_sec = 3600;
		p->sel.af = AF_INET;
		p->sel.src = A("203.0.113.1");
		p->sel.src_plen = 32;
		p->sel.dst = A(with_pool ? "203.0.113.128" : "10.0.0.0");
		p->sel.dst_plen = with_pool ? 26 : 8;
	}
	G->cfg = c;
}

/* Client i: remote "gw", tunnel policy any <-> 203.0.113.1, or the
 * fixed inner address `inner` without a pool. */
static void client_config(int i, bool request, const char *inner)
{
	struct ike_cfg *c = cfg_new();
	struct ike_remote *r;
	struct ike_policy *p;
	char id[64];

	assert_non_null(c);
	r = cfg_add_remote(c);
	snprintf(r->name, sizeof(r->name), "gw");
	psk_set(r);
	r->peer_any = false;
	r->peer_addr = A("198.51.100.1");
	snprintf(id, sizeof(id), "fqdn:c%d.example", i);
	r->my_id = ID(id);
	r->peer_id = ID("fqdn:gw.example");
	r->cp_request = request ? RW_REQ_IP4 | RW_REQ_IP4_DNS : 0;
	r->nat_keepalive_sec = 20;
	p = cfg_add_policy(c);
	snprintf(p->name, sizeof(p->name), "to-gw");
	snprintf(p->remote, sizeof(p->remote), "gw");
	p->mode = KMODE_TUNNEL;
	p->reqid = 9;
	p->my_sa = A(eaddr[i]);
	p->peer_sa = A("198.51.100.1");
	p->lifetime_sec = 3600;
	p->sel.af = AF_INET;
	p->sel.src = A(inner ? inner : "0.0.0.0");
	p->sel.src_plen = inner ? 32 : 0;
	p->sel.dst = A("203.0.113.1");
	p->sel.dst_plen = 32;
	E[i].cfg = c;
}

static int setup(void **st)
{
	static struct iked *const engs[NENG] = {&E[0], &E[1], &E[2]};
	static const struct h_opts o = {.pump_limit = 2000,
					.count_keepalives = true,
					.kill_on_teardown = true,
					.route = nat_route};

	(void)st;
	h_log_init();
	h_setup(engs, NENG, &o);
	nat_base[1] = 10000;
	nat_base[2] = 20000;
	behind_nat = true;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

/* The fake backend hands out SPIs from one counter per kernel: two
 * clients behind the same NAT address would pick the same inbound SPI,
 * and the gateway's outbound SAs (same destination, same SPI) collide.
 * Real SPIs are random; skew the counter of client i. */
static void spi_skew(int i)
{
	struct kaddr a = A(eaddr[i]), b = A("198.51.100.1");
	uint32_t spi;

	for (int n = 0; n < 16; n++)
		assert_int_equal(
		    k_getspi(&E[i].kern, IPPROTO_ESP, &b, &a, 0, &spi), 0);
}

static void connect_client(int i)
{
	h_initiate(&E[i], "gw", "to-gw", NULL);
}

/* The gateway with its pool, both clients asking for an address. */
static void connect_pool_clients(void)
{
	gw_config(true);
	client_config(1, true, NULL);
	client_config(2, true, NULL);
	spi_skew(2);
	connect_client(1);
	connect_client(2);
}

static const struct kaddr *client_vip(int i)
{
	struct ike_sa *sa = h_est(&E[i], "gw");

	assert_non_null(sa);
	/* The gateway leased it and narrowed our TSi to it. */
	assert_non_null(sa->children);
	return &sa->children->ts_local.src;
}

static void test_two_clients_nat_pool(void **st)
{
	struct ike_sa *g1, *g2, *s1;
	struct kaddr v1, v2;
	struct ksa k;
	char b[64];

	(void)st;
	connect_pool_clients();
	assert_int_equal(h_count_est(G), 2);
	g1 = h_est(G, "rw-c1");
	g2 = h_est(G, "rw-c2");
	assert_non_null(g1);
	assert_non_null(g2);
	/* NAT detected on both sides, both floated to 4500. */
	assert_true(g1->natt && g1->nat_peer && !g1->nat_local);
	s1 = h_est(&E[1], "gw");
	assert_true(s1->natt && s1->nat_local);
	assert_int_equal(s1->peer.port, IKE_NATT_PORT);
	assert_int_equal(g1->peer.port, nat_base[1] + IKE_NATT_PORT);
	/* Each client its own pool address, TSi narrowed to it. */
	v1 = *client_vip(1);
	v2 = *client_vip(2);
	assert_false(kaddr_eq(&v1, &v2));
	assert_string_equal(kaddr_str(&v1, b, sizeof(b)), "203.0.113.129");
	assert_int_equal(E[1].sas->children->ts_local.src_plen, 32);
	assert_non_null(rw_sa_lease(G, g1->id, AF_INET));
	assert_true(kaddr_eq(rw_sa_lease(G, g1->id, AF_INET), &v1));
	assert_int_equal(rw_pool_count(&G->rw->pool), 2);
	/* Dynamic policies: out/in/fwd per client, tied to the child. */
	assert_int_equal(kfake_pol_count(&G->kern), 6);
	assert_int_equal(g1->children->state, CHILD_S_INSTALLED);
	assert_int_not_equal(g1->children->reqid, g2->children->reqid);
	/* UDP encapsulation towards the NAT's mapped port. */
	assert_int_equal(k_sa_get(&G->kern, IPPROTO_ESP, &g1->peer.addr,
				  g1->children->spi_out, &k, NULL),
			 0);
	assert_true(k.encap.enabled);
	assert_int_equal(k.encap.dport, g1->peer.port);
	assert_int_equal(k.encap.sport, IKE_NATT_PORT);
	assert_int_equal(k.reqid, g1->children->reqid);
	ksa_wipe(&k);

	/* Keepalives: from the clients (behind the NAT), never from the
	 * gateway; the first a full interval after the float. */
	uint64_t t0 = ev_now_ms();
	for (int i = 0; i < NENG; i++)
		natt_keepalive_scan(&E[i], t0);
	for (int i = 0; i < NENG; i++)
		natt_keepalive_scan(&E[i], t0 + 21000);
	assert_int_equal(h_keepalives[0], 0);
	assert_int_equal(h_keepalives[1], 1);
	assert_int_equal(h_keepalives[2], 1);
	natt_keepalive_scan(&E[1], t0 + 22000); /* not yet due again */
	assert_int_equal(h_keepalives[1], 1);

	/* c1 disconnects: its policies and lease vanish, c2's stay. */
	assert_int_equal(ike_queue_ike_delete(s1), 0);
	h_pump();
	assert_int_equal(h_count_est(G), 1);
	assert_int_equal(kfake_pol_count(&G->kern), 3);
	assert_int_equal(rw_pool_count(&G->rw->pool), 1);
	/* c2 too: nothing left. */
	assert_int_equal(ike_queue_ike_delete(h_est(&E[2], "gw")), 0);
	h_pump();
	assert_int_equal(h_count_est(G), 0);
	assert_int_equal(kfake_pol_count(&G->kern), 0);
	assert_int_equal(kfake_sa_count(&G->kern), 0);
	assert_int_equal(rw_pool_count(&G->rw->pool), 0);
}

static void test_returning_rw(void **st)
{
	struct ike_sa *old_g, *new_g, *sa;
	struct kaddr v_old, v_new;
	uint32_t old_id;

	(void)st;
	connect_pool_clients();
	old_g = h_est(G, "rw-c1");
	assert_non_null(old_g);
	old_id = old_g->id;
	v_old = *client_vip(1);
	/* c1 "reboots" and comes back through a new NAT mapping: its old
	 * state is gone on its side (no DELETE reaches the gateway). */
	while ((sa = E[1].sas)) {
		ike_sa_kill(sa, "client reboot");
		ike_sa_free(sa);
	}
	/* Without INITIAL_CONTACT: the uniqueness rule alone (rw.h). */
	E[1].cfg->remote[0].initial_contact = false;
	nat_base[1] = 11000;
	connect_client(1);
	/* The gateway replaced the old IKE SA: one per client. */
	assert_int_equal(h_count_est(G), 2);
	new_g = h_est(G, "rw-c1");
	assert_int_not_equal(new_g->id, old_id);
	for (sa = G->sas; sa; sa = sa->next)
		assert_true(sa->id != old_id || sa->state == IKE_S_DEAD);
	assert_int_equal(new_g->peer.port, 11000 + IKE_NATT_PORT);
	/* Old dynamic policies gone, new ones in: still 2 x 3. */
	assert_int_equal(kfake_pol_count(&G->kern), 6);
	assert_int_equal(G->rw->policies_added, 3);
	assert_int_equal(G->rw->policies_removed, 1);
	/* Same identity, same address back. */
	v_new = *client_vip(1);
	assert_true(kaddr_eq(&v_old, &v_new));
	/* Old SAs of the first c1 gone: 2 clients x 2 SAs. */
	assert_int_equal(kfake_sa_count(&G->kern), 4);
}

static void test_mapping_change(void **st)
{
	struct ike_sa *g1, *c1;
	struct ksa k;
	uint16_t before;

	(void)st;
	gw_config(true);
	client_config(1, true, NULL);
	connect_client(1);
	g1 = h_est(G, "rw-c1");
	c1 = h_est(&E[1], "gw");
	before = g1->peer.port;
	uint32_t spi_in = g1->children->spi_in, spi_out = g1->children->spi_out;
	unsigned nsa = kfake_sa_count(&G->kern);
	/* The NAT forgets and maps c1 to a new port: its next (DPD)
	 * message arrives from there. */
	nat_base[1] = 12000;
	task_queue(c1, task_new(TASK_DPD));
	task_run(c1);
	h_pump();
	assert_int_not_equal(g1->peer.port, before);
	assert_int_equal(g1->peer.port, 12000 + IKE_NATT_PORT);
	/* RFC 7296 §2.23: the CHILD SA moved in place (same SPIs, no
	 * rekey), its SAs carry the new mapping both ways. */
	assert_int_equal(g1->children_moved, 1);
	assert_non_null(g1->children);
	assert_null(g1->children->next);
	assert_int_equal(g1->children->state, CHILD_S_INSTALLED);
	assert_int_equal(g1->children->spi_in, spi_in);
	assert_int_equal(g1->children->spi_out, spi_out);
	assert_int_equal(kfake_sa_count(&G->kern), nsa);
	assert_int_equal(
	    k_sa_get(&G->kern, IPPROTO_ESP, &g1->peer.addr, spi_out, &k, NULL),
	    0);
	assert_true(k.encap.enabled);
	assert_int_equal(k.encap.dport, g1->peer.port);
	assert_int_equal(k.encap.sport, g1->local.port);
	ksa_wipe(&k);
	assert_int_equal(
	    k_sa_get(&G->kern, IPPROTO_ESP, &g1->local.addr, spi_in, &k, NULL),
	    0);
	assert_int_equal(k.encap.sport, g1->peer.port);
	assert_int_equal(k.encap.dport, g1->local.port);
	ksa_wipe(&k);
	/* Policies unchanged in number. */
	assert_int_equal(kfake_pol_count(&G->kern), 3);
}

static void test_no_pool_overlap(void **st)
{
	struct ike_sa *sa;

	(void)st;
	gw_config(false);
	/* The same private address behind different NATs. */
	client_config(1, false, "10.0.0.5");
	client_config(2, false, "10.0.0.5");
	nat_base[2] = 20000;
	connect_client(1);
	connect_client(2);
	/* Both IKE SAs stand, but c2's CHILD SA is refused. */
	assert_int_equal(h_count_est(G), 2);
	sa = h_est(&E[1], "gw");
	assert_non_null(sa->children);
	assert_int_equal(sa->children->state, CHILD_S_INSTALLED);
	sa = h_est(&E[2], "gw");
	assert_true(!sa->children || sa->children->state != CHILD_S_INSTALLED);
	assert_int_equal(kfake_pol_count(&G->kern), 3);
	sa = h_est(G, "rw-c1");
	assert_string_equal((char *)sa->id_peer.data, "c1.example");
	assert_int_equal(sa->children->ts_remote.dst_plen, 32);
	/* Outside the envelope: refused too. */
	cfg_free(E[2].cfg);
	client_config(2, false, "192.0.2.9");
	while ((sa = E[2].sas)) {
		ike_sa_kill(sa, "again");
		ike_sa_free(sa);
	}
	connect_client(2);
	sa = h_est(&E[2], "gw");
	assert_non_null(sa);
	assert_true(!sa->children || sa->children->state != CHILD_S_INSTALLED);
	assert_int_equal(kfake_pol_count(&G->kern), 3);
}

static void test_ipv6_no_nat(void **st)
{
	struct ike_sa *g1;

	(void)st;
	behind_nat = false;
	gw_config(true);
	/* IPv6 pool envelope for c1. */
	G->cfg->remote[1].pool[1].start = A("2001:db8:7::10");
	G->cfg->remote[1].pool[1].end = A("2001:db8:7::1f");
	G->cfg->remote[1].npool = 2;
	struct ike_policy *p = &G->cfg->policy[0];
	p->sel.af = AF_INET6;
	p->sel.src = A("2001:db8:1::1");
	p->sel.src_plen = 128;
	p->sel.dst = A("2001:db8:7::");
	p->sel.dst_plen = 64;
	p->my_sa = A("198.51.100.1");
	client_config(1, false, NULL);
	E[1].cfg->remote[0].cp_request = RW_REQ_IP6;
	p = &E[1].cfg->policy[0];
	p->sel.af = AF_INET6;
	p->sel.src = A("::");
	p->sel.src_plen = 0;
	p->sel.dst = A("2001:db8:1::1");
	p->sel.dst_plen = 128;
	connect_client(1);
	g1 = h_est(G, "rw-c1");
	assert_non_null(g1);
	assert_false(g1->natt && (g1->nat_peer || g1->nat_local));
	assert_non_null(g1->children);
	assert_int_equal(g1->children->state, CHILD_S_INSTALLED);
	char b[64];
	assert_string_equal(
	    kaddr_str(&g1->children->ts_remote.dst, b, sizeof(b)),
	    "2001:db8:7::10");
	assert_int_equal(kfake_pol_count(&G->kern), 3);
}

/* The gateway's dynamic policies and its SPI for the CHILD SA go to the
 * kernel as one batch (rw.c kern_add, kernel.h k_batch); when the
 * forward policy of that batch fails, the out and in policies of the
 * same batch and the larval SA of its GETSPI are all removed: nothing
 * is left, the client's IKE SA stays without a CHILD SA. */
static const struct kernel_ops *polfail_real;

static int polfail_add(struct kernel *k, struct kpolicy *p)
{
	if (p->dir == KDIR_FWD) {
		snprintf(k->last_error, sizeof(k->last_error), "test: refused");
		return -ENOBUFS;
	}
	return polfail_real->pol_add(k, p);
}

static void test_policy_batch_fails(void **st)
{
	static struct kernel_ops wrap;
	struct ike_sa *g1;

	(void)st;
	gw_config(true);
	client_config(1, true, NULL);
	polfail_real = G->kern.ops;
	wrap = *polfail_real;
	wrap.pol_add = polfail_add;
	wrap.batch = NULL;
	G->kern.ops = &wrap;
	connect_client(1);
	g1 = h_est(G, "rw-c1");
	assert_non_null(g1);
	assert_null(g1->children);
	assert_int_equal(kfake_pol_count(&G->kern), 0);
	assert_int_equal(kfake_sa_count(&G->kern), 0);
	G->kern.ops = polfail_real;
	/* and with the kernel willing, the next client gets its child:
	 * policies, and the SPI of the same batch completed by the SAs */
	client_config(2, true, NULL);
	spi_skew(2);
	connect_client(2);
	g1 = h_est(G, "rw-c2");
	assert_non_null(g1);
	assert_non_null(g1->children);
	assert_int_equal(g1->children->state, CHILD_S_INSTALLED);
	assert_int_equal(kfake_pol_count(&G->kern), 3);
	assert_int_equal(kfake_sa_count(&G->kern), 2);
}

/* IKEv1 road warriors (v1.c): the responder's dynamic policies for a
 * Quick Mode CHILD SA, straight through the kernel ops here. */
static void test_v1_bind(void **st)
{
	const struct ike_policy *p;
	struct ksel l, r;
	struct kaddr gl = A("198.51.100.1"), nat = A(NAT_ADDR);
	uint32_t reqid = 0, reqid2 = 0;
	char err[160] = "";

	(void)st;
	gw_config(false);
	p = cfg_policy_by_name(G->cfg, "p-c1");
	assert_non_null(p);
	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	l.af = r.af = AF_INET;
	l.src = A("203.0.113.1");
	l.src_plen = 32;
	r.dst = A("10.1.2.3");
	r.dst_plen = 32;
	assert_int_equal(rw_v1_bind(G, 7, 100, p, &l, &r, &gl, &nat, &reqid,
				    err, sizeof(err)),
			 0);
	assert_int_not_equal(reqid, 0);
	assert_int_equal(G->rw->policies_added, 1);
	/* another ISAKMP SA proposing the same inner address: refused */
	assert_int_equal(rw_v1_bind(G, 8, 101, p, &l, &r, &gl, &nat, &reqid2,
				    err, sizeof(err)),
			 -EEXIST);
	/* a renewing Quick Mode of the same SA takes the policies over */
	assert_int_equal(rw_v1_bind(G, 7, 102, p, &l, &r, &gl, &nat, &reqid2,
				    err, sizeof(err)),
			 0);
	assert_int_equal(reqid2, reqid);
	assert_int_equal(G->rw->policies_added, 1);
	rw_v1_unbind(G, 100); /* the replaced child has none any more */
	assert_int_equal(G->rw->policies_removed, 0);
	rw_v1_unbind(G, 102);
	assert_int_equal(G->rw->policies_removed, 1);
	/* now free for another SA */
	assert_int_equal(rw_v1_bind(G, 8, 103, p, &l, &r, &gl, &nat, &reqid2,
				    err, sizeof(err)),
			 0);
	rw_v1_unbind(G, 103);
	assert_int_equal(G->rw->policies_removed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_ts_envelope_table),
	    cmocka_unit_test(test_overlap_rule),
	    cmocka_unit_test_setup_teardown(test_two_clients_nat_pool, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_returning_rw, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mapping_change, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_no_pool_overlap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_no_nat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_bind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy_batch_fails, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
