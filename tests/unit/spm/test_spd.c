/*
 * test_spd.c - cmocka tests of spmd's policy database on the fake
 * kernel backend: reload planning, adoption after a crash, foreign
 * policies left alone, rollback on kernel failure, dynamic policies,
 * reqid stability, MIGRATE, REQID lookup.
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

#include "crypto/xform.h"
#include "spm/spd.h"
#include "spm/spmif_proto.h"
#include "spdtest.h"

static struct spd_entry mk(const char *src, const char *dst, enum kdir dir,
			   enum kaction act, uint32_t reqid)
{
	struct spd_entry e = spdt_entry(src, dst, dir, act, reqid);

	snprintf(e.selector, sizeof(e.selector), "%s-%s-%d", src, dst,
		 (int)dir);
	snprintf(e.policy, sizeof(e.policy), "pol");
	e.kmp = SPMIF_KMP_IKEV2;
	return e;
}

static void push(struct spd_set *s, struct spd_entry e)
{
	assert_int_equal(spd_set_push(s, &e), 0);
}

/* Kernel index of the policy with this selector+dir, 0 if none. */
struct find {
	const struct spd_entry *want;
	uint32_t index;
	size_t owned, foreign;
};

static int find_cb(const struct kpolicy *kp, void *arg)
{
	struct find *f = arg;
	struct spd_entry e;

	memset(&e, 0, sizeof(e));
	e.kp = *kp;
	if (kp->owned)
		f->owned++;
	else
		f->foreign++;
	if (f->want && spd_key_cmp(&e, f->want) == 0)
		f->index = kp->index;
	return 0;
}

static uint32_t kindex(struct kernel *k, const struct spd_entry *e)
{
	struct find f = {.want = e};

	assert_int_equal(k_pol_dump(k, find_cb, &f), 0);
	return f.index;
}

static void counts(struct kernel *k, size_t *owned, size_t *foreign)
{
	struct find f = {0};

	assert_int_equal(k_pol_dump(k, find_cb, &f), 0);
	*owned = f.owned;
	*foreign = f.foreign;
}

static void test_plan(void **state)
{
	struct spd_set old, new;
	struct spd_plan p;
	struct spd_entry b2;

	spd_set_init(&old);
	spd_set_init(&new);
	push(&old, mk("10.0.0.0/24", "10.0.1.0/24", KDIR_OUT, KPOL_IPSEC, 1));
	push(&old, mk("10.0.1.0/24", "10.0.0.0/24", KDIR_IN, KPOL_IPSEC, 1));
	push(&old, mk("10.9.0.0/16", "0.0.0.0/0", KDIR_OUT, KPOL_DISCARD, 0));

	push(&new, mk("10.0.0.0/24", "10.0.1.0/24", KDIR_OUT, KPOL_IPSEC, 1));
	b2 = mk("10.0.1.0/24", "10.0.0.0/24", KDIR_IN, KPOL_IPSEC, 1);
	b2.kp.tmpl[0].level = KLEVEL_USE; /* content change */
	push(&new, b2);
	push(&new,
	     mk("2001:db8::/64", "2001:db8:1::/64", KDIR_OUT, KPOL_BYPASS, 0));
	/* a duplicate key is dropped */
	push(&new, mk("10.0.0.0/24", "10.0.1.0/24", KDIR_OUT, KPOL_IPSEC, 1));

	assert_int_equal(spd_plan_make(&old, &new, &p), 0);
	assert_int_equal(p.nkeep, 1);
	assert_int_equal(p.nupd, 1);
	assert_int_equal(p.nadd, 1);
	assert_int_equal(p.ndel, 1);
	assert_int_equal(p.ndup, 1);
	assert_int_equal(p.keep[0].o, 0);
	assert_int_equal(p.keep[0].n, 0);
	assert_int_equal(p.upd[0].o, 1);
	assert_int_equal(p.add[0], 2);
	assert_int_equal(p.del[0], 2);
	spd_plan_free(&p);

	/* the same key in another direction is another policy */
	struct spd_entry x =
	    mk("10.0.0.0/24", "10.0.1.0/24", KDIR_OUT, KPOL_IPSEC, 1);
	struct spd_entry y = x;

	y.kp.dir = KDIR_FWD;
	assert_true(spd_key_cmp(&x, &y) != 0);
	/* masked-out port bits do not matter */
	y = x;
	y.kp.sel.sport = 99;
	assert_int_equal(spd_key_cmp(&x, &y), 0);
	spd_set_free(&old);
	spd_set_free(&new);
}

static void make_set(struct spd_set *s, int n, uint32_t base_reqid)
{
	spd_set_init(s);
	for (int i = 0; i < n; i++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "10.%d.%d.0/24", i / 256, i % 256);
		snprintf(b, sizeof(b), "172.16.%d.%d/32", i / 256, i % 256);
		push(s,
		     mk(a, b, KDIR_OUT, KPOL_IPSEC, base_reqid + (uint32_t)i));
		push(s,
		     mk(b, a, KDIR_IN, KPOL_IPSEC, base_reqid + (uint32_t)i));
	}
}

static void test_start_foreign_remove(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_entry foreign;
	char err[1024] = "";
	size_t owned, fgn;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	/* somebody else's policy, added before spmd starts */
	foreign = mk("192.0.2.0/24", "0.0.0.0/0", KDIR_OUT, KPOL_BYPASS, 0);
	foreign.kp.index = 0x1001; /* (index & 7) == out */
	assert_int_equal(k_pol_add(&k, &foreign.kp), 0);

	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 10, 100);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	assert_int_equal(spd.stat.n, 20);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 20);
	assert_int_equal(fgn, 1);
	for (size_t i = 0; i < spd.stat.n; i++) {
		assert_true(kpol_index_owned(spd.stat.v[i].kp.index));
		assert_int_equal(spd.stat.v[i].kp.index & 7,
				 spd.stat.v[i].kp.dir);
		assert_int_equal(kindex(&k, &spd.stat.v[i]),
				 spd.stat.v[i].kp.index);
	}
	spd_remove_all(&spd);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 0);
	assert_int_equal(fgn, 1); /* never touched */
	assert_int_equal(kindex(&k, &foreign), 0x1001);
	spd_free(&spd);
	k_close(&k);
}

static void test_restart_adopts(void **state)
{
	struct kernel k;
	struct spd a, b;
	struct spd_set s;
	char err[1024] = "";
	uint32_t idx[20];
	size_t owned, fgn;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&a, &k, NULL), 0);
	make_set(&s, 10, 100);
	assert_int_equal(spd_start(&a, &s, err, sizeof(err)), 0);
	for (size_t i = 0; i < 20; i++)
		idx[i] = a.stat.v[i].kp.index;
	/* "kill -9": the kernel keeps everything, spmd forgets */
	spd_free(&a);

	/* restart with one policy fewer and one changed */
	assert_int_equal(spd_init(&b, &k, NULL), 0);
	make_set(&s, 10, 100);
	s.v[0].kp.tmpl[0].level = KLEVEL_USE;
	s.n--; /* drop the last (in of pair 9) */
	assert_int_equal(spd_start(&b, &s, err, sizeof(err)), 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 19); /* no duplicates, stale one gone */
	assert_int_equal(b.stat.n, 19);
	for (size_t i = 0; i < 19; i++)
		assert_int_equal(b.stat.v[i].kp.index, idx[i]);
	/* a new policy must not reuse an adopted serial */
	struct spd_set more;

	make_set(&more, 11, 100);
	assert_int_equal(spd_reload(&b, &more, err, sizeof(err), NULL), 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 22);
	for (size_t i = 0; i < b.stat.n; i++)
		for (size_t j = i + 1; j < b.stat.n; j++)
			assert_true(b.stat.v[i].kp.index !=
				    b.stat.v[j].kp.index);
	spd_remove_all(&b);
	spd_free(&b);
	k_close(&k);
}

static void test_reload_diff(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_plan c;
	char err[1024] = "";
	uint32_t idx[20];
	size_t owned, fgn;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 10, 100);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	for (size_t i = 0; i < 20; i++)
		idx[i] = spd.stat.v[i].kp.index;

	/* edit: pair 0 changes level (update in place), pair 9 removed,
	 * pairs 10 and 11 added */
	make_set(&s, 12, 100);
	s.v[0].kp.tmpl[0].level = KLEVEL_USE;
	memmove(&s.v[18], &s.v[20], 4 * sizeof(s.v[0]));
	s.n -= 2;
	assert_int_equal(spd_reload(&spd, &s, err, sizeof(err), &c), 0);
	assert_int_equal(c.nadd, 4);
	assert_int_equal(c.nupd, 1);
	assert_int_equal(c.ndel, 2);
	assert_int_equal(c.nkeep, 17);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 22);
	/* unchanged and updated policies kept their kernel index */
	for (size_t i = 0; i < 18; i++) {
		assert_int_equal(spd.stat.v[i].kp.index, idx[i]);
		assert_int_equal(kindex(&k, &spd.stat.v[i]), idx[i]);
	}
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

static void test_reload_rollback(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	char err[1024] = "";
	uint32_t idx[20];
	size_t owned, fgn;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 10, 100);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	for (size_t i = 0; i < 20; i++)
		idx[i] = spd.stat.v[i].kp.index;

	/* 1: the first kernel write fails */
	make_set(&s, 13, 100);
	s.v[0].kp.tmpl[0].level = KLEVEL_USE;
	kfake_fail_next(&k, -EIO, 1);
	assert_true(spd_reload(&spd, &s, err, sizeof(err), NULL) < 0);
	assert_true(strstr(err, "add") != NULL);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 20);
	assert_int_equal(spd.stat.n, 20);

	/* 2: a foreign policy holds the selector of one of the new ones,
	 * so that add fails after others went in: all are undone */
	struct spd_set probe;
	struct spd_entry foreign;

	make_set(&probe, 12, 100);
	foreign = probe.v[22]; /* out of pair 11 */
	foreign.kp.index = 0x2001;
	assert_int_equal(k_pol_add(&k, &foreign.kp), 0);
	spd_set_free(&probe);
	make_set(&s, 13, 100);
	s.v[0].kp.tmpl[0].level = KLEVEL_USE;
	err[0] = '\0';
	assert_true(spd_reload(&spd, &s, err, sizeof(err), NULL) < 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 20);
	assert_int_equal(fgn, 1);
	for (size_t i = 0; i < 20; i++) {
		assert_int_equal(spd.stat.v[i].kp.index, idx[i]);
		assert_int_equal(kindex(&k, &spd.stat.v[i]), idx[i]);
		assert_int_equal(spd.stat.v[i].kp.tmpl[0].level,
				 KLEVEL_REQUIRE);
	}
	foreign.kp.index = 0x2001;
	assert_int_equal(k_pol_del(&k, &foreign.kp), 0);
	/* the same reload works once the kernel behaves */
	make_set(&s, 13, 100);
	err[0] = '\0';
	assert_int_equal(spd_reload(&spd, &s, err, sizeof(err), NULL), 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 26);
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

static void test_dynamic(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_entry e[2];
	struct spd_dyn *d1, *d2;
	const struct spd_dyn *dy;
	const struct spd_entry *f;
	char err[1024] = "";
	int owner1, owner2;
	size_t owned, fgn;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	make_set(&s, 2, 100);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);

	e[0] =
	    mk("198.51.100.7/32", "203.0.113.0/24", KDIR_IN, KPOL_IPSEC, 9000);
	e[1] =
	    mk("203.0.113.0/24", "198.51.100.7/32", KDIR_OUT, KPOL_IPSEC, 9000);
	assert_int_equal(
	    spd_dyn_add(&spd, &owner1, 0, e, 2, &d1, err, sizeof(err)), 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 6);
	f = spd_find_index(&spd, d1->e[1].kp.index, &dy);
	assert_non_null(f);
	assert_ptr_equal(dy, d1);
	/* the same selector again is refused */
	assert_int_equal(
	    spd_dyn_add(&spd, &owner2, 0, e, 2, &d2, err, sizeof(err)),
	    -EEXIST);
	/* shadowing a static policy is refused */
	assert_int_equal(spd_dyn_add(&spd, &owner2, 0, &spd.stat.v[0], 1, &d2,
				     err, sizeof(err)),
			 -EEXIST);
	e[0] =
	    mk("198.51.100.8/32", "203.0.113.0/24", KDIR_IN, KPOL_IPSEC, 9001);
	e[1] =
	    mk("203.0.113.0/24", "198.51.100.8/32", KDIR_OUT, KPOL_IPSEC, 9001);
	assert_int_equal(
	    spd_dyn_add(&spd, &owner2, 0, e, 2, &d2, err, sizeof(err)), 0);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 8);

	/* owner 1 disconnects: only its policies go */
	assert_int_equal(spd_dyn_drop_owner(&spd, &owner1), 1);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 6);
	assert_null(spd_dyn_find(&spd, 1));
	/* kernel expiry of one half removes the other */
	spd_pol_expired(&spd, d2->e[0].kp.index);
	counts(&k, &owned, &fgn);
	assert_int_equal(owned, 5); /* fake did not really expire e[0] */
	assert_null(spd.dyn);
	assert_int_equal(spd_dyn_del(&spd, 42), -ENOENT);
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

static void test_migrate(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	char err[256] = "";
	struct kaddr os, od, ns, nd;
	struct spd_entry e;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	spd_set_init(&s);
	e = mk("10.1.0.0/16", "10.2.0.0/16", KDIR_OUT, KPOL_IPSEC, 5);
	e.kp.tmpl[0].mode = KMODE_TUNNEL;
	assert_int_equal(spmif_parse_addr("198.51.100.1", &os), 0);
	assert_int_equal(spmif_parse_addr("198.51.100.2", &od), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.1", &ns), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.2", &nd), 0);
	e.kp.tmpl[0].src = os;
	e.kp.tmpl[0].dst = od;
	snprintf(e.selector, sizeof(e.selector), "tun");
	push(&s, e);
	e = mk("10.2.0.0/16", "10.1.0.0/16", KDIR_IN, KPOL_IPSEC, 5);
	e.kp.tmpl[0].mode = KMODE_TUNNEL;
	e.kp.tmpl[0].src = od;
	e.kp.tmpl[0].dst = os;
	snprintf(e.selector, sizeof(e.selector), "tun");
	push(&s, e);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	assert_int_equal(spd_migrate(&spd, "tun", &os, &od, &ns, &nd), 2);
	assert_true(kaddr_eq(&spd.stat.v[0].kp.tmpl[0].dst, &nd));
	assert_true(kaddr_eq(&spd.stat.v[1].kp.tmpl[0].src, &nd));
	assert_int_equal(spd_migrate(&spd, "tun", &os, &od, &ns, &nd), 0);
	assert_int_equal(spd_migrate(&spd, "nope", &os, &od, &ns, &nd),
			 -ENOENT);
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

/* A transport policy whose SAs run between care-of and home-agent
 * addresses (HoA in the selector): MIGRATE moves the SAs of both
 * directions through the backend, in place; the policy stays. */
static void test_migrate_transport(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	char err[256] = "";
	struct kaddr coa1, ha, coa2;
	struct spd_entry e;
	struct ksa sa, back;

	(void)state;
	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	spd_set_init(&s);
	e = mk("10.1.0.5/32", "10.9.0.1/32", KDIR_OUT, KPOL_IPSEC, 5);
	e.kp.tmpl[0].mode = KMODE_TRANSPORT;
	snprintf(e.selector, sizeof(e.selector), "mn_out");
	push(&s, e);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);
	assert_int_equal(spmif_parse_addr("198.51.100.5", &coa1), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.1", &ha), 0);
	assert_int_equal(spmif_parse_addr("198.51.100.77", &coa2), 0);
	for (int dir = 0; dir < 2; dir++) {
		memset(&sa, 0, sizeof(sa));
		sa.proto = IPPROTO_ESP;
		sa.spi = 0x100 + (uint32_t)dir;
		sa.src = dir ? ha : coa1;
		sa.dst = dir ? coa1 : ha;
		sa.mode = KMODE_TRANSPORT;
		sa.reqid = e.kp.tmpl[0].reqid;
		sa.encr_id = IKEV2_ENCR_AES_GCM_16;
		sa.encr_keybits = 128;
		sa.enc_key_len = 20;
		assert_int_equal(k_sa_add(&k, &sa), 0);
	}
	/* the orientation of the request does not matter */
	assert_int_equal(spd_migrate(&spd, "mn_out", &ha, &coa1, &ha, &coa2),
			 1);
	assert_int_equal(k_sa_get(&k, IPPROTO_ESP, &ha, 0x100, &back, NULL), 0);
	assert_true(kaddr_eq(&back.src, &coa2));
	assert_int_equal(k_sa_get(&k, IPPROTO_ESP, &coa2, 0x101, &back, NULL),
			 0);
	assert_true(kaddr_eq(&back.src, &ha));
	assert_false(spd.stat.v[0].kp.tmpl[0].src.af);
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

static void test_reqid(void **state)
{
	struct kernel k;
	struct spd spd;
	uint32_t a, b;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	spd_reqid_reserve(&spd, SPD_REQID_BASE + 1);
	a = spd_reqid_for(&spd, "p|0|a|b");
	b = spd_reqid_for(&spd, "p|0|c|d");
	assert_int_equal(a, SPD_REQID_BASE);
	assert_int_equal(b, SPD_REQID_BASE + 2); /* skips the reserved one */
	assert_int_equal(spd_reqid_for(&spd, "p|0|a|b"), a);
	for (int i = 0; i < 2000; i++) {
		char key[32];

		snprintf(key, sizeof(key), "k%d", i);
		(void)spd_reqid_for(&spd, key);
	}
	assert_int_equal(spd_reqid_for(&spd, "p|0|c|d"), b);
	/* binary keys (pair_reqid's): a NUL inside never meets a string
	 * key, nor a shorter key with the same bytes */
	{
		static const uint8_t k1[] = {'p', 0, 6, 10, 0, 0, 1};
		uint32_t c1 = spd_reqid_for_key(&spd, k1, sizeof(k1));
		uint32_t c2 = spd_reqid_for_key(&spd, k1, 1);

		assert_int_not_equal(c1, c2);
		assert_int_equal(spd_reqid_for(&spd, "p"), c2);
		assert_int_equal(spd_reqid_for_key(&spd, k1, sizeof(k1)), c1);
		assert_int_not_equal(c1, a);
		assert_int_not_equal(c1, b);
	}
	spd_free(&spd);
	k_close(&k);
}

/* spmif REQID: by selector or policy name, optionally by traffic
 * selector seen from our side (an inbound entry mirrored). */
static void test_find_reqid(void **state)
{
	struct kernel k;
	struct spd spd;
	struct spd_set s;
	struct spd_entry e;
	struct ksel q;
	char err[256] = "";
	uint32_t r = 0;

	assert_int_equal(k_open(&k, "fake", 0), 0);
	assert_int_equal(spd_init(&spd, &k, NULL), 0);
	spd_set_init(&s);
	e = mk("10.1.0.0/16", "10.2.0.0/16", KDIR_IN, KPOL_IPSEC, 7);
	snprintf(e.selector, sizeof(e.selector), "s_in");
	snprintf(e.policy, sizeof(e.policy), "p1");
	push(&s, e);
	e = mk("10.3.0.0/16", "10.4.0.0/16", KDIR_OUT, KPOL_IPSEC, 9);
	snprintf(e.selector, sizeof(e.selector), "s_out");
	snprintf(e.policy, sizeof(e.policy), "p1");
	push(&s, e);
	e = mk("10.5.0.0/16", "10.6.0.0/16", KDIR_OUT, KPOL_BYPASS, 0);
	snprintf(e.selector, sizeof(e.selector), "s_bypass");
	push(&s, e);
	assert_int_equal(spd_start(&spd, &s, err, sizeof(err)), 0);

	assert_non_null(spd_find_reqid(&spd, "s_out", NULL, NULL, &r));
	assert_int_equal(r, 9);
	assert_non_null(spd_find_reqid(&spd, NULL, "p1", NULL, &r));
	assert_int_equal(r, 7); /* the first entry of the policy */
	memset(&q, 0, sizeof(q));
	assert_int_equal(spmif_parse_prefix("10.3.0.0/16", &q.src, &q.src_plen),
			 0);
	assert_int_equal(spmif_parse_prefix("10.4.0.0/16", &q.dst, &q.dst_plen),
			 0);
	q.af = q.src.af;
	assert_non_null(spd_find_reqid(&spd, NULL, "p1", &q, &r));
	assert_int_equal(r, 9);
	/* ours = the inbound entry's destination */
	assert_int_equal(spmif_parse_prefix("10.2.0.0/16", &q.src, &q.src_plen),
			 0);
	assert_int_equal(spmif_parse_prefix("10.1.0.0/16", &q.dst, &q.dst_plen),
			 0);
	assert_non_null(spd_find_reqid(&spd, NULL, "p1", &q, &r));
	assert_int_equal(r, 7);
	q.proto = 6; /* another protocol: no match */
	assert_null(spd_find_reqid(&spd, NULL, "p1", &q, &r));
	assert_null(spd_find_reqid(&spd, "s_bypass", NULL, NULL, &r));
	assert_null(spd_find_reqid(&spd, "nope", NULL, NULL, &r));
	assert_null(spd_find_reqid(&spd, NULL, NULL, NULL, &r));
	spd_remove_all(&spd);
	spd_free(&spd);
	k_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_start_foreign_remove),
	    cmocka_unit_test(test_restart_adopts),
	    cmocka_unit_test(test_reload_diff),
	    cmocka_unit_test(test_reload_rollback),
	    cmocka_unit_test(test_dynamic),
	    cmocka_unit_test(test_migrate),
	    cmocka_unit_test(test_migrate_transport),
	    cmocka_unit_test(test_reqid),
	    cmocka_unit_test(test_find_reqid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
