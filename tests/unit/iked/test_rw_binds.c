/*
 * test_rw_binds.c - the road-warrior binding set (rw.h struct rw_binds):
 * the indexed overlap rule (host selectors hashed, ranges listed) must
 * give exactly what the linear rule gave -- same verdict, same SA named --
 * over thousands of random host and range selectors (IPv4 and IPv6,
 * protocols, ports), while bindings come and go by child, by IKE SA
 * (rw_ike_down) and move between SAs (rekeys); the indexes by child id
 * and by IKE SA id stay consistent with a plain array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "ike/iked.h"
#include "ike/rw.h"

/* xorshift64*: reproducible (the seed is printed on failure paths) */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32) % n;
}

#define NIDS   4
#define NSAS   60
#define SPACE  3000u /* addresses a selector may touch: many overlaps */
#define MAXREF 700

static struct ike_id ids[NIDS];

static void put_addr(uint8_t *a, bool v6, uint32_t off)
{
	memset(a, 0, 16);
	if (v6) {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		a[14] = (uint8_t)(off >> 8);
		a[15] = (uint8_t)off;
	} else {
		a[0] = 10;
		a[2] = (uint8_t)(off >> 8);
		a[3] = (uint8_t)off;
	}
}

/* bindings: mostly single hosts, some small and medium ranges;
 * queries also whole-space ranges */
static struct ikev2_ts rand_ts(bool v6, bool host_bias)
{
	struct ikev2_ts ts;
	uint32_t s, e;
	static const uint8_t protos[] = {0, 0, 6, 17};

	memset(&ts, 0, sizeof(ts));
	ts.type = v6 ? IKEV2_TS_IPV6_ADDR_RANGE : IKEV2_TS_IPV4_ADDR_RANGE;
	ts.proto = protos[rnd(4)];
	switch (rnd(4)) {
	case 0:
		ts.sport = ts.eport = (uint16_t)(1000 + rnd(4));
		break;
	case 1:
		ts.sport = (uint16_t)(1000 + rnd(3));
		ts.eport = (uint16_t)(ts.sport + rnd(3));
		break;
	default:
		ts.sport = 0;
		ts.eport = 0xffff;
	}
	s = rnd(SPACE);
	if (host_bias && rnd(10) < 8) {
		e = s;
	} else {
		switch (rnd(host_bias ? 2 : 4)) {
		case 0:
			e = s + rnd(4);
			break;
		case 1:
			e = s + rnd(100);
			break;
		case 2:
			s = 0;
			e = SPACE + rnd(200);
			break;
		default:
			e = s;
		}
	}
	put_addr(ts.start, v6, s);
	put_addr(ts.end, v6, e);
	return ts;
}

/* the reference: the array in add order, checked newest first exactly
 * as the linear list was */
static struct rw_bind *ref[MAXREF];
static size_t nref;

static enum rw_conflict lin_conflict(const struct ike_id *id, uint32_t sa_id,
				     const struct ikev2_ts *ts, uint32_t *other)
{
	enum rw_conflict res = RW_OK;

	*other = 0;
	for (size_t i = nref; i-- > 0;) {
		const struct rw_bind *b = ref[i];
		if (b->sa_id == sa_id ||
		    !ikev2_ts_intersect(&b->peer_ts, ts, NULL))
			continue;
		*other = b->sa_id;
		struct ike_id bid;
		rw_bind_peer_id(b, &bid);
		if (!ike_id_eq(&bid, id))
			return RW_REFUSE;
		res = RW_REPLACE;
	}
	return res;
}

static void ref_drop(size_t i)
{
	memmove(&ref[i], &ref[i + 1], (nref - i - 1) * sizeof(ref[0]));
	nref--;
}

static unsigned n_refuse, n_replace, n_ok;

static void check_query(struct rw_binds *s, const struct ikev2_ts *ts)
{
	const struct ike_id *id = &ids[rnd(NIDS)];
	uint32_t sa = 1 + rnd(NSAS), o1, o2;
	enum rw_conflict r1 = rw_ts_conflict(s, id, sa, ts, &o1);
	enum rw_conflict r2 = lin_conflict(id, sa, ts, &o2);

	assert_int_equal(r1, r2);
	assert_int_equal(o1, o2);
	n_refuse += r1 == RW_REFUSE;
	n_replace += r1 == RW_REPLACE;
	n_ok += r1 == RW_OK;
}

static void check_indexes(struct rw_binds *s)
{
	size_t per_sa[NSAS + 2] = {0}, hosts = 0;
	struct hidx_it it;
	struct rw_bind *b;

	assert_int_equal(s->n, nref);
	for (size_t i = 0; i < nref; i++) {
		assert_ptr_equal(rw_binds_child(s, ref[i]->child_id), ref[i]);
		per_sa[ref[i]->sa_id]++;
		hosts += ref[i]->host;
	}
	assert_int_equal(s->nhost, hosts);
	for (uint32_t sa = 1; sa <= NSAS + 1; sa++) {
		size_t n = 0;
		for (b = rw_binds_sa_next(s, sa, &it, true); b;
		     b = rw_binds_sa_next(s, sa, &it, false)) {
			assert_int_equal(b->sa_id, sa);
			n++;
		}
		assert_int_equal(n, per_sa[sa]);
	}
	/* the list is the add order, newest first */
	b = s->all;
	for (size_t i = nref; i-- > 0; b = b->next)
		assert_ptr_equal(b, ref[i]);
	assert_null(b);
}

static void run(bool v6, unsigned ops)
{
	struct rw_binds s;
	uint32_t next_child = 1;
	struct hidx_it it;
	struct rw_bind *b;

	memset(&s, 0, sizeof(s));
	nref = 0;
	for (unsigned op = 0; op < ops; op++) {
		unsigned r = rnd(100);
		bool full = nref >= MAXREF - 1 || (nref > 400 && rnd(2));

		if (r < 55 && !full) {
			/* a new CHILD SA: the check, then its binding */
			struct ikev2_ts ts = rand_ts(v6, true);
			check_query(&s, &ts);
			b = rw_bind_new(&ids[rnd(NIDS)]);
			assert_non_null(b);
			b->child_id = next_child++;
			b->sa_id = 1 + rnd(NSAS);
			b->peer_ts = ts;
			assert_int_equal(rw_binds_add(&s, b), 0);
			ref[nref++] = b;
		} else if (r < 75) {
			struct ikev2_ts ts = rand_ts(v6, false);
			check_query(&s, &ts);
		} else if (r < 88 && nref) {
			/* one CHILD SA gone (rw_child_gone) */
			size_t i = rnd((uint32_t)nref);
			b = rw_binds_child(&s, ref[i]->child_id);
			assert_ptr_equal(b, ref[i]);
			rw_binds_del(&s, b);
			free(b);
			ref_drop(i);
		} else if (r < 94) {
			/* an IKE SA down (rw_ike_down): all of its bindings */
			uint32_t sa = 1 + rnd(NSAS);
			while ((b = rw_binds_sa_next(&s, sa, &it, true))) {
				size_t i;
				for (i = 0; i < nref && ref[i] != b; i++)
					;
				assert_true(i < nref);
				rw_binds_del(&s, b);
				free(b);
				ref_drop(i);
			}
			for (size_t i = 0; i < nref; i++)
				assert_int_not_equal(ref[i]->sa_id, sa);
		} else if (nref) {
			/* a rekey: new child id, maybe a new IKE SA */
			b = ref[rnd((uint32_t)nref)];
			uint32_t old = b->child_id, c = next_child++;
			uint32_t sa = rnd(2) ? b->sa_id : 1 + rnd(NSAS);
			assert_int_equal(rw_binds_set_ids(&s, b, c, sa), 0);
			assert_int_equal(b->child_id, c);
			assert_int_equal(b->sa_id, sa);
			assert_null(rw_binds_child(&s, old));
		}
		if (op % 257 == 0)
			check_indexes(&s);
	}
	check_indexes(&s);
	/* every remaining selector, queried as itself: the hosts hit */
	for (size_t i = 0; i < nref; i++)
		check_query(&s, &ref[i]->peer_ts);
	rw_binds_free(&s);
	assert_null(s.all);
	assert_int_equal(hidx_count(&s.by_child), 0);
}

static void test_equiv_v4(void **st)
{
	(void)st;
	run(false, 20000);
}

static void test_equiv_v6(void **st)
{
	(void)st;
	run(true, 20000);
	print_message("refuse %u replace %u ok %u\n", n_refuse, n_replace,
		      n_ok);
	/* the rule's three outcomes all occurred */
	assert_true(n_refuse > 100 && n_replace > 100 && n_ok > 100);
}

/* many hosts (the 100,000 road warriors case, scaled down): lookups
 * go through the host index, a wide query still finds them */
static void test_many_hosts(void **st)
{
	struct rw_binds s;
	struct rw_bind *b;
	struct ikev2_ts q;
	uint32_t o;

	(void)st;
	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < 20000; i++) {
		b = rw_bind_new(&ids[i % NIDS]);
		assert_non_null(b);
		b->child_id = i + 1;
		b->sa_id = i + 1;
		b->peer_ts.type = IKEV2_TS_IPV6_ADDR_RANGE;
		b->peer_ts.eport = 0xffff;
		put_addr(b->peer_ts.start, true, i);
		put_addr(b->peer_ts.end, true, i);
		assert_int_equal(rw_binds_add(&s, b), 0);
	}
	assert_int_equal(s.nhost, 20000);
	assert_null(s.ranges);
	q = rw_binds_child(&s, 4242)->peer_ts;
	assert_int_equal(rw_ts_conflict(&s, &ids[4241 % NIDS], 1, &q, &o),
			 RW_REPLACE);
	assert_int_equal(o, 4242);
	assert_int_equal(rw_ts_conflict(&s, &ids[(4241 + 1) % NIDS], 1, &q, &o),
			 RW_REFUSE);
	assert_int_equal(o, 4242);
	/* a range over all of them (walks), and one over 3 (looks up) */
	put_addr(q.start, true, 0);
	put_addr(q.end, true, 0xffff);
	assert_int_equal(rw_ts_conflict(&s, &ids[0], 0, &q, &o), RW_REFUSE);
	assert_int_equal(o, 20000); /* the newest other identity */
	put_addr(q.start, true, 100);
	put_addr(q.end, true, 102);
	assert_int_equal(rw_ts_conflict(&s, &ids[0], 0, &q, &o), RW_REFUSE);
	assert_int_equal(o, 103);
	assert_int_equal(rw_ts_conflict(&s, &ids[100 % NIDS], 101, &q, &o),
			 RW_REFUSE);
	put_addr(q.start, true, 30000);
	put_addr(q.end, true, 30002);
	assert_int_equal(rw_ts_conflict(&s, &ids[0], 0, &q, &o), RW_OK);
	assert_int_equal(o, 0);
	rw_binds_free(&s);
}

static int setup(void **st)
{
	(void)st;
	for (int i = 0; i < NIDS; i++) {
		char n[32];
		snprintf(n, sizeof(n), "fqdn:c%d.example", i);
		if (ike_id_parse(n, &ids[i]) != 0)
			return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equiv_v4),
	    cmocka_unit_test(test_equiv_v6),
	    cmocka_unit_test(test_many_hosts),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
