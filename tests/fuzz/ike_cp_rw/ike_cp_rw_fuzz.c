/*
 * ike_cp_rw_fuzz.c - libFuzzer harness for the configuration payload
 * and road-warrior handling (src/ike/cp.c, rw.c).  Byte 0 picks:
 *
 *   0  TS narrowing (rw_narrow, RFC 7296 §2.9): four TS payload bodies
 *      (the peer's TSi, our TSr, the policy envelope of each side) and a
 *      lease from the input; on success the result must lie inside the
 *      envelope and inside what was asked, and not be empty;
 *   1  the address pool (rw_pool_alloc/release/move): a sequence of
 *      operations on two ranges per family; every lease inside its
 *      ranges, no address leased twice, a wanted free address granted;
 *   2  the whole path: a gateway engine with an addresspool and a
 *      road-warrior client that sends CFG_REQUEST, with the adversary of
 *      tests/unit/iked/adv.c between them (every power, re-sealed
 *      mutations of CP attributes and TS included) driven by the rest
 *      of the input; no SA leak in the fake kernels, no lease left once
 *      every IKE SA is gone, nothing left after teardown.
 *
 * The client applies the CFG_REPLY address to "lo" over netlink, so the
 * harness moves itself into a new network namespace first (when it is
 * allowed to; otherwise the kernel refuses the address change).  All
 * state (pool, engines, kernels, configurations, RNG and clock) is made
 * and freed per input.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "adv.h"
#include "det.h"
#include "harness.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/rd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,     \
				#x);                                           \
			abort();                                               \
		}                                                              \
	} while (0)

/* ---- 0: TS narrowing ---- */

static bool get_ts(struct rd *r, struct ikev2_ts_list *l)
{
	struct ikev2_pl pl;
	uint8_t n;
	size_t len;
	const uint8_t *p;

	memset(&pl, 0, sizeof(pl));
	if (rd_u8(r, &n) != 0)
		return false;
	len = n < rd_left(r) ? n : rd_left(r);
	if (rd_ptr(r, len, &p) != 0)
		return false;
	pl.type = IKEV2_PL_TSi;
	pl.body = rd_init(p, len);
	return ikev2_get_ts(&pl, l) == 0 && l->n > 0;
}

static void fuzz_narrow(const uint8_t *data, size_t size)
{
	struct ikev2_ts_list peer, ours, envp, envo, po, oo;
	struct kaddr lease;
	struct rd r = rd_init(data, size);
	uint8_t la;
	const uint8_t *lp;

	memset(&lease, 0, sizeof(lease));
	if (!get_ts(&r, &peer) || !get_ts(&r, &ours) || !get_ts(&r, &envp) ||
	    !get_ts(&r, &envo))
		return;
	if (rd_u8(&r, &la) == 0 && (la & 1) && rd_ptr(&r, 4, &lp) == 0) {
		lease.af = AF_INET;
		memcpy(lease.u.b, lp, 4);
	}
	memset(&po, 0, sizeof(po));
	memset(&oo, 0, sizeof(oo));
	if (rw_narrow(&peer, &ours, &envp, &envo, &lease, &po, &oo) != 0)
		return;
	/* §2.9: the responder only narrows, into its policy. */
	CHECK(po.n > 0 && oo.n > 0);
	CHECK(ikev2_ts_list_within(&po, &envp));
	CHECK(ikev2_ts_list_within(&oo, &envo));
	CHECK(ikev2_ts_list_within(&po, &peer));
	CHECK(ikev2_ts_list_within(&oo, &ours));
}

/* ---- 1: the pool ---- */

static bool in_ranges(const struct kaddr *a, const struct cfg_range *rg,
		      size_t n)
{
	size_t len = a->af == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		if (rg[i].start.af == a->af &&
		    memcmp(a->u.b, rg[i].start.u.b, len) >= 0 &&
		    memcmp(a->u.b, rg[i].end.u.b, len) <= 0)
			return true;
	return false;
}

static void fuzz_pool(const uint8_t *data, size_t size)
{
	struct rw_pool_set ps = {0};
	struct cfg_range rg[4];
	struct rd r = rd_init(data, size);
	uint8_t op;

	memset(rg, 0, sizeof(rg));
	kaddr_parse("203.0.113.129", &rg[0].start);
	kaddr_parse("203.0.113.134", &rg[0].end);
	kaddr_parse("198.51.100.200", &rg[1].start);
	kaddr_parse("198.51.100.201", &rg[1].end);
	kaddr_parse("2001:db8::10", &rg[2].start);
	kaddr_parse("2001:db8::13", &rg[2].end);
	kaddr_parse("2001:db8:1::", &rg[3].start);
	kaddr_parse("2001:db8:1::1", &rg[3].end);
	while (rd_u8(&r, &op) == 0) {
		uint8_t sa = op >> 3 & 7, x = 0;
		const uint8_t *w;
		struct kaddr want, out;
		struct ike_id id;
		int rc;

		(void)rd_u8(&r, &x);
		switch (op & 7) {
		case 0:
		case 1:
		case 2: { /* alloc, maybe wanting an address */
			uint8_t af = (op & 1) ? AF_INET6 : AF_INET;
			size_t wl = af == AF_INET ? 4 : 16;

			memset(&want, 0, sizeof(want));
			if ((op & 2) && rd_ptr(&r, wl, &w) == 0) {
				want.af = af;
				memcpy(want.u.b, w, wl);
			}
			memset(&id, 0, sizeof(id));
			id.type = IKE_ID_FQDN;
			id.len = 1;
			id.data[0] = x;
			rc = rw_pool_alloc(&ps, (x & 0x80) ? "other" : "p", rg,
					   4, af, &want, &id, sa, &out);
			if (rc != 0)
				break;
			CHECK(out.af == af && in_ranges(&out, rg, 4));
			for (struct rw_lease *l = ps.leases; l; l = l->next)
				for (struct rw_lease *m = l->next; m;
				     m = m->next)
					CHECK(strcmp(l->pool, m->pool) ||
					      !kaddr_eq(&l->addr, &m->addr));
			break;
		}
		case 3:
		case 4:
			(void)rw_pool_release(&ps, sa);
			break;
		case 5:
			rw_pool_move(&ps, sa, x & 7);
			break;
		default:
			(void)rw_pool_count(&ps);
		}
	}
	rw_pool_free(&ps);
}

/* ---- 2: gateway and client under the adversary ---- */

static struct iked GW, CL;

static void psk(struct ike_remote *r)
{
	r->have_psk = true;
	r->psk_len = 6;
	memcpy(r->psk, "rwpsk!", 6);
	r->interval_ms = 100;
	r->max_retry = 3;
	r->dpd_delay_sec = 5;
	r->dpd_max_fail = 2;
	r->dh.n = 1;
	r->dh.a[0].id = 31;
}

static void gw_config(void)
{
	struct ike_cfg *c = cfg_new();
	struct ike_remote *r;
	struct ike_policy *p;

	CHECK(c);
	r = cfg_add_remote(c);
	snprintf(r->name, sizeof(r->name), "default");
	r->is_default = true;
	psk(r);
	r = cfg_add_remote(c);
	snprintf(r->name, sizeof(r->name), "rw-c1");
	psk(r);
	ike_id_parse("fqdn:gw.example", &r->my_id);
	ike_id_parse("fqdn:c1.example", &r->peer_id);
	snprintf(r->pool_name, sizeof(r->pool_name), "rwpool");
	kaddr_parse("203.0.113.129", &r->pool[0].start);
	kaddr_parse("203.0.113.131", &r->pool[0].end);
	kaddr_parse("2001:db8::10", &r->pool[1].start);
	kaddr_parse("2001:db8::11", &r->pool[1].end);
	r->npool = 2;
	kaddr_parse("203.0.113.53", &r->dns[0]);
	r->ndns = 1;
	p = cfg_add_policy(c);
	snprintf(p->name, sizeof(p->name), "p-c1");
	snprintf(p->remote, sizeof(p->remote), "rw-c1");
	snprintf(p->sel_name, sizeof(p->sel_name), "s-c1");
	p->mode = KMODE_TUNNEL;
	p->peer_sa_rw = true;
	kaddr_parse("198.51.100.1", &p->my_sa);
	p->lifetime_sec = 3600;
	p->sel.af = AF_INET;
	kaddr_parse("203.0.113.1", &p->sel.src);
	p->sel.src_plen = 32;
	kaddr_parse("203.0.113.128", &p->sel.dst);
	p->sel.dst_plen = 26;
	GW.cfg = c;
}

static void client_config(void)
{
	struct ike_cfg *c = cfg_new();
	struct ike_remote *r;
	struct ike_policy *p;

	CHECK(c);
	r = cfg_add_remote(c);
	snprintf(r->name, sizeof(r->name), "gw");
	psk(r);
	r->peer_any = false;
	kaddr_parse("198.51.100.1", &r->peer_addr);
	ike_id_parse("fqdn:c1.example", &r->my_id);
	ike_id_parse("fqdn:gw.example", &r->peer_id);
	r->cp_request = RW_REQ_IP4 | RW_REQ_IP4_DNS | RW_REQ_IP6;
	p = cfg_add_policy(c);
	snprintf(p->name, sizeof(p->name), "to-gw");
	snprintf(p->remote, sizeof(p->remote), "gw");
	p->mode = KMODE_TUNNEL;
	p->reqid = 9;
	kaddr_parse("203.0.113.66", &p->my_sa);
	kaddr_parse("198.51.100.1", &p->peer_sa);
	p->lifetime_sec = 3600;
	p->sel.af = AF_INET;
	kaddr_parse("0.0.0.0", &p->sel.src);
	p->sel.src_plen = 0;
	kaddr_parse("203.0.113.1", &p->sel.dst);
	p->sel.dst_plen = 32;
	CL.cfg = c;
}

static void fuzz_engines(const uint8_t *data, size_t size)
{
	static struct iked *const eng[] = {&GW, &CL};
	static const struct h_opts o = {.pump_limit = 4000,
					.kill_on_teardown = true,
					.expect_empty_kernel = true};
	struct adv a;
	char err[160];

	det_start(1);
	h_setup(eng, 2, &o);
	gw_config();
	client_config();
	adv_init(&a, ADV_ALL, 0, data, size > 1600 ? 1600 : size);
	if (iked_initiate(&CL, "gw", NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "initiate: %s\n", err);
		abort();
	}
	while (adv_step(&a))
		;
	adv_settle(&a, 90000);
	adv_check_kernel(&GW);
	adv_check_kernel(&CL);
	for (int i = 0; i < 2; i++)
		for (struct ike_sa *sa = h_eng(i)->sas; sa; sa = sa->next)
			if (sa->state == IKE_S_ESTABLISHED) {
				ike_queue_ike_delete(sa);
				task_run(sa);
			}
	adv_settle(&a, 30000);
	adv_check_kernel(&GW);
	adv_check_kernel(&CL);
	/* A lease lives only as long as an IKE SA holds it. */
	if (!h_count_sas(&GW) && GW.rw)
		CHECK(rw_pool_count(&GW.rw->pool) == 0);
	adv_free(&a);
	h_teardown();
	det_stop();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("CMOCKA_TEST_ABORT", "1", 1);
	log_init("fuzz", getenv("IKED_TEST_DEBUG") ? LOG_TO_STDERR : 0,
		 LOG_LVL_DEBUG);
	/* cp_read_reply() adds the assigned address to "lo": only to our
	 * own namespace's, where the client's tunnel-mode source address
	 * (initiate.c asks the routing table) needs a route.  Without the
	 * privilege to unshare, the kernel refuses the address change. */
	if (unshare(CLONE_NEWNET) == 0 &&
	    system("ip link set lo up && "
		   "ip addr add 203.0.113.66/32 dev lo && "
		   "ip route add 198.51.100.0/24 dev lo src 203.0.113.66") != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;

	if (!init) { /* replay.c does not call LLVMFuzzerInitialize */
		LLVMFuzzerInitialize(NULL, NULL);
		init = true;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_narrow(data + 1, size - 1);
		break;
	case 1:
		fuzz_pool(data + 1, size - 1);
		break;
	default:
		fuzz_engines(data + 1, size - 1);
	}
	return 0;
}
