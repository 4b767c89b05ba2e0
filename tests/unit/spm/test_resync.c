/*
 * test_resync.c - cmocka tests of spmd's reaction to KEV_RESYNC
 * (spd_resync) on the fake kernel backend, and of the fwd capability:
 *   - the fake backend loses its whole state (kfake_lose_state, as a
 *     restarted r2espd does) and queues one KEV_RESYNC; spd_resync puts
 *     every static and dynamic policy back under its old index, foreign
 *     policies excepted;
 *   - a mixed state: one policy missing, one changed behind spmd's back,
 *     one stale tagged policy spmd does not know, one foreign policy:
 *     reinstalled, updated, removed, untouched;
 *   - a kernel failure during the resync is reported (the caller retries)
 *     and the next resync completes;
 *   - nothing to do: all present, the backend is not written to;
 *   - a backend without a fwd SPD (no KF_FWD_POLICY, BSD PF_KEY) gets no fwd
 *     policies for tunnel mode, static or dynamic; with fwd it does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "spm/spd.h"
#include "spm/spd_conf.h"
#include "spm/spmif_proto.h"
#include "spdtest.h"

static struct spd_entry mk(const char *src, const char *dst, enum kdir dir,
			   uint32_t reqid)
{
	struct spd_entry e = spdt_entry(src, dst, dir, KPOL_IPSEC, reqid);

	snprintf(e.selector, sizeof(e.selector), "s-%s-%d", src, (int)dir);
	snprintf(e.policy, sizeof(e.policy), "pol");
	return e;
}

static void make_set(struct spd_set *s, int n)
{
	spd_set_init(s);
	for (int i = 0; i < n; i++) {
		char a[32], b[32];
		struct spd_entry e;

		snprintf(a, sizeof(a), "198.51.100.%d/32", i + 1);
		snprintf(b, sizeof(b), "203.0.113.%d/32", i + 1);
		e = mk(a, b, KDIR_OUT, 100 + (uint32_t)i);
		assert_int_equal(spd_set_push(s, &e), 0);
		e = mk(b, a, KDIR_IN, 100 + (uint32_t)i);
		assert_int_equal(spd_set_push(s, &e), 0);
	}
}

/* What the backend holds: owned/foreign counts, and the content the
 * backend has under index `want` (found = false if none). */
struct look {
	uint32_t want;
	bool found;
	struct kpolicy kp;
	size_t owned, foreign, fwd;
};

static int look_cb(const struct kpolicy *kp, void *arg)
{
	struct look *l = arg;

	if (kp->owned)
		l->owned++;
	else
		l->foreign++;
	if (kp->dir == KDIR_FWD)
		l->fwd++;
	if (l->want && kp->index == l->want) {
		l->found = true;
		l->kp = *kp;
	}
	return 0;
}

static struct look look(struct kernel *k, uint32_t want)
{
	struct look l = {.want = want};

	assert_int_equal(k_pol_dump(k, look_cb, &l), 0);
	return l;
}

/* Every policy spd owns is in the backend under its index, same key. */
static void assert_all_there(struct kernel *k, struct spd *spd)
{
	for (size_t i = 0; i < spd->stat.n; i++) {
		struct look l = look(k, spd->stat.v[i].kp.index);
		struct spd_entry x;

		assert_true(l.found);
		memset(&x, 0, sizeof(x));
		x.kp = l.kp;
		assert_int_equal(spd_key_cmp(&x, &spd->stat.v[i]), 0);
		assert_true(spd_content_eq(&l.kp, &spd->stat.v[i].kp));
	}
	for (struct spd_dyn *d = spd->dyn; d; d = d->next)
		for (size_t i = 0; i < d->n; i++)
			assert_true(look(k, d->e[i].kp.index).found);
}

static int nresync;
static char reason[KEV_RESYNC_REASON_MAX];
static void on_event(const struct kevent *ev, void *arg)
{
	(void)arg;
	if (ev->type == KEV_RESYNC) {
		nresync++;
		memcpy(reason, ev->u.resync.reason, sizeof(reason));
	}
}

static void test_lost_state(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_entry e[2];
	struct spd_dyn *dyn;
	struct spd_resync_counts n;
	uint32_t idx[20];
	char err[1024] = "";
	int owner;
	(void)state;

	assert_int_equal(k_open(&k, "fake", K_OPEN_EVENTS), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 10);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	e[0] = mk("198.51.100.200/32", "203.0.113.0/24", KDIR_IN, 9000);
	e[1] = mk("203.0.113.0/24", "198.51.100.200/32", KDIR_OUT, 9000);
	assert_int_equal(
	    spd_dyn_add(&spd, &owner, 0, e, 2, &dyn, err, sizeof(err)), 0);
	for (size_t i = 0; i < 20; i++)
		idx[i] = spd.stat.v[i].kp.index;
	assert_int_equal(look(&k, 0).owned, 22);

	/* the data plane restarts empty and says so */
	assert_int_equal(kfake_lose_state(&k, "r2espd restarted"), 0);
	assert_int_equal(kfake_pol_count(&k), 0);
	nresync = 0;
	assert_int_equal(k_event_read(&k, on_event, NULL), 1);
	assert_int_equal(nresync, 1);
	assert_string_equal(reason, "r2espd restarted");

	assert_int_equal(spd_resync(&spd, reason, &n), 0);
	assert_int_equal(n.reinstalled, 22);
	assert_int_equal(n.present, 0);
	assert_int_equal(n.updated, 0);
	assert_int_equal(n.removed, 0);
	assert_int_equal(n.failed, 0);
	assert_int_equal(look(&k, 0).owned, 22);
	/* the same indexes as before */
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(spd.stat.v[i].kp.index, idx[i]);
	assert_all_there(&k, &spd);
	assert_int_equal(spd.st.resyncs, 1);
	assert_int_equal(spd.st.resync_reinstalled, 22);

	/* a second resync finds everything in place */
	assert_int_equal(spd_resync(&spd, "again", &n), 0);
	assert_int_equal(n.present, 22);
	assert_int_equal(n.reinstalled + n.updated + n.removed, 0);

	/* exit still removes exactly what spmd owns */
	spd_remove_all(&spd);
	assert_int_equal(kfake_pol_count(&k), 0);
	spd_free(&spd);
	k_close(&k);
}

static void test_mixed(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_entry foreign, stale, changed;
	struct spd_resync_counts n;
	struct look l;
	char err[1024] = "";
	(void)state;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	foreign = mk("192.0.2.0/24", "192.0.2.128/25", KDIR_OUT, 1);
	foreign.kp.index = 0x1001; /* untagged: somebody else's */
	assert_int_equal(k_pol_add(&k, &foreign.kp), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 5);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);

	/* 1. one of ours disappears (admin, lost event...) */
	assert_int_equal(k_pol_del(&k, &spd.stat.v[0].kp), 0);
	/* 2. one is changed behind our back */
	changed = spd.stat.v[1];
	changed.kp.tmpl[0].level = KLEVEL_USE;
	assert_int_equal(k_pol_update(&k, &changed.kp), 0);
	/* 3. a tagged policy spmd does not know (an earlier spmd's) */
	stale = mk("198.51.100.99/32", "203.0.113.99/32", KDIR_OUT, 7);
	stale.kp.index = KPOL_INDEX_MAGIC << 24 | 0x1234 << 3 | KDIR_OUT;
	assert_int_equal(k_pol_add(&k, &stale.kp), 0);
	assert_true(look(&k, stale.kp.index).found);

	assert_int_equal(spd_resync(&spd, "event overflow", &n), 0);
	assert_int_equal(n.present, 8);
	assert_int_equal(n.reinstalled, 1);
	assert_int_equal(n.updated, 1);
	assert_int_equal(n.removed, 1);
	assert_int_equal(n.failed, 0);
	assert_false(look(&k, stale.kp.index).found);
	assert_all_there(&k, &spd);
	l = look(&k, spd.stat.v[1].kp.index);
	assert_int_equal(l.kp.tmpl[0].level, KLEVEL_REQUIRE);
	/* the foreign policy is never touched */
	l = look(&k, 0x1001);
	assert_true(l.found);
	assert_int_equal(l.foreign, 1);
	assert_int_equal(l.owned, 10);

	/* 4. a stale tagged policy holding one of our selectors under
	 *    another index: replaced by ours, under our index */
	assert_int_equal(k_pol_del(&k, &spd.stat.v[2].kp), 0);
	stale = spd.stat.v[2];
	stale.kp.index =
	    KPOL_INDEX_MAGIC << 24 | 0x4321 << 3 | (uint32_t)stale.kp.dir;
	assert_int_equal(k_pol_add(&k, &stale.kp), 0);
	assert_int_equal(spd_resync(&spd, "test", &n), 0);
	assert_int_equal(n.reinstalled, 1);
	assert_false(look(&k, stale.kp.index).found);
	assert_all_there(&k, &spd);
	assert_int_equal(look(&k, 0).owned, 10);

	spd_remove_all(&spd);
	assert_int_equal(look(&k, 0).foreign, 1);
	spd_free(&spd);
	k_close(&k);
}

static void test_failure_then_retry(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_resync_counts n;
	char err[1024] = "";
	(void)state;

	assert_int_equal(k_open(&k, "fake", K_OPEN_EVENTS), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 3);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	assert_int_equal(kfake_lose_state(&k, "r2espd restarted"), 0);
	/* the first two writes fail: reported, the rest still installed */
	kfake_fail_next(&k, EIO, 2);
	assert_true(spd_resync(&spd, "r2espd restarted", &n) < 0);
	assert_int_equal(n.failed, 2);
	assert_int_equal(n.reinstalled, 4);
	assert_int_equal(look(&k, 0).owned, 4);
	/* the retry completes, nothing is duplicated */
	assert_int_equal(spd_resync(&spd, "retry", &n), 0);
	assert_int_equal(n.reinstalled, 2);
	assert_int_equal(n.present, 4);
	assert_int_equal(look(&k, 0).owned, 6);
	assert_all_there(&k, &spd);
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

static const char tunnel_conf[] =
    "interface { spmd { unix \"/tmp/r2y-test-spmif\"; }; };\n"
    "remote peer {\n"
    "	acceptable_kmp { ikev2; };\n"
    "	ikev2 { peers_ipaddr \"198.51.100.2\" port 500;\n"
    "		kmp_enc_alg { aes128_cbc; };\n"
    "		kmp_prf_alg { hmac_sha2_256; };\n"
    "		kmp_hash_alg { hmac_sha2_256; };\n"
    "		kmp_dh_group { modp2048; };\n"
    "		kmp_auth_method { psk; };\n"
    "		pre_shared_key \"/nonexistent/psk\"; };\n"
    "	selector_index sel_out;\n"
    "};\n"
    "selector sel_out { direction outbound; src \"203.0.113.0/25\";\n"
    "	dst \"203.0.113.128/25\"; policy_index pol; };\n"
    "selector sel_in { direction inbound; src \"203.0.113.128/25\";\n"
    "	dst \"203.0.113.0/25\"; policy_index pol; };\n"
    "policy pol { action auto_ipsec; remote_index peer;\n"
    "	ipsec_mode tunnel; ipsec_index { esp; };\n"
    "	ipsec_level require;\n"
    "	my_sa_ipaddr \"198.51.100.1\";\n"
    "	peers_sa_ipaddr \"198.51.100.2\"; };\n"
    "ipsec esp { sa_index { esp_sa; }; };\n"
    "sa esp_sa { sa_protocol esp; esp_enc_alg { aes128_gcm16; }; };\n";

static size_t count_dir(const struct spd_set *s, enum kdir dir)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].kp.dir == dir;
	return n;
}

static void fwd_case(bool no_fwd)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct conf *c = NULL;
	struct conf_diag dg;
	struct spd_dyn_req req;
	struct spd_entry e[3];
	size_t n = 0;
	char err[1024] = "";

	int rc;

	conf_diag_init(&dg);
	rc = conf_load_buffer("t.conf", tunnel_conf, strlen(tunnel_conf),
			      CONF_LOAD_NO_INCLUDE | CONF_LOAD_NO_FILECHECK |
				  CONF_LOAD_NO_ENV,
			      &c, &dg);
	for (size_t i = 0; rc < 0 && i < dg.n; i++)
		print_error("%s:%u:%u: %s\n", dg.v[i].file, dg.v[i].line,
			    dg.v[i].col, dg.v[i].msg);
	assert_int_equal(rc, 0);
	conf_diag_free(&dg);
	assert_int_equal(k_open(&k, "fake", 0), 0);
	if (no_fwd)
		k.features &= ~(unsigned)KF_FWD_POLICY;
	assert_int_equal(k_has(&k, KF_FWD_POLICY), !no_fwd);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	spd_set_init(&s);
	assert_int_equal(spd_conf_build(&spd, c, &s, err, sizeof(err)), 0);
	assert_int_equal(count_dir(&s, KDIR_OUT), 1);
	assert_int_equal(count_dir(&s, KDIR_IN), 1);
	assert_int_equal(count_dir(&s, KDIR_FWD), no_fwd ? 0 : 1);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	assert_int_equal(look(&k, 0).fwd, no_fwd ? 0 : 1);

	/* a dynamic (road warrior) policy from the same template */
	memset(&req, 0, sizeof(req));
	req.selector = "sel_out";
	req.has_mode = true;
	req.mode = KMODE_TUNNEL;
	assert_int_equal(
	    spmif_parse_prefix("203.0.113.1/32", &req.sp_src, &req.src_plen),
	    0);
	assert_int_equal(
	    spmif_parse_prefix("203.0.113.200/32", &req.sp_dst, &req.dst_plen),
	    0);
	assert_int_equal(kaddr_parse("198.51.100.1", &req.sa_src), 0);
	assert_int_equal(kaddr_parse("198.51.100.9", &req.sa_dst), 0);
	assert_int_equal(
	    spd_conf_dynamic(&spd, c, &req, e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, no_fwd ? 2 : 3);
	for (size_t i = 0; i < n; i++)
		assert_true(e[i].kp.dir != KDIR_FWD || !no_fwd);

	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
	conf_free(c);
}

static void test_no_fwd(void **state)
{
	(void)state;
	fwd_case(true);
}

static void test_with_fwd(void **state)
{
	(void)state;
	fwd_case(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lost_state),
	    cmocka_unit_test(test_mixed),
	    cmocka_unit_test(test_failure_then_retry),
	    cmocka_unit_test(test_no_fwd),
	    cmocka_unit_test(test_with_fwd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
