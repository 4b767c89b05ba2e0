/*
 * test_espd_spd.c - r2espd's hashed SPD and SAD (issue 14, espd.c): on
 * random sets of policies and SAs installed, updated and deleted through
 * espd_ctl_msg() (as spmd and iked do), every lookup the packet path
 * makes is compared with the linear lookup it replaced, kept here as the
 * reference:
 *   - espd_spd_lookup() for random flows, each direction: the same
 *     policy (lowest priority, then longest prefixes, then the newest);
 *   - espd_in_policy_ok() for one SA: the same answer, and the counter
 *     of the same policy (the newest satisfied) advanced;
 *   - espd_bundle_out(): the SA the linear template search chose
 *     (reqid templates through the reqid index, others by walking);
 *   - espd_sa_in(): every SA by SPI, none for absent SPIs;
 *   - the same inside a packet batch (espd_batch_begin), where one-entry
 *     caches answer repeated lookups, and a deletion clears them.
 * Selectors come from a small pool of IPv4 / IPv6 addresses and prefix
 * lengths (0..32 / 0..128, and family "any") so that many overlap;
 * protocol and ports are random too.  The packet path is stubbed as in
 * test_espd_migrate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"
#include "lib/ev.h"
#include "lib/log.h"

/* espd_net.c is not linked: tests/unit/esp/espd_net_stub.c */
static struct espd d;
static int req_peer = -1;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
/* how often the reference found something: the sets must overlap */
static unsigned hit_spd, hit_in, hit_sa, n_spd;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int setup(void **state)
{
	int sv[2];

	(void)state;
	memset(&d, 0, sizeof(d));
	log_init("test", LOG_TO_STDERR, LOG_LVL_ERR);
	d.loop = ev_new();
	assert_non_null(d.loop);
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	d.ctl_fd = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	d.cli[0].fd = sv[0];
	req_peer = sv[1];
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	espd_state_free(&d);
	assert_null(d.shapes);
	close(d.cli[0].fd);
	close(req_peer);
	ev_free(d.loop);
	return 0;
}

static int call(uint16_t type, const void *obj)
{
	struct espm_hdr h = {.type = type, .seq = 7};
	uint8_t buf[ESPM_MAX];
	struct wr w;
	ssize_t n;
	struct rd r;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (type == ESPM_SA_ADD) {
		espm_put_ksa(&w, obj, true);
	} else if (type == ESPM_SA_DEL) {
		/* u8 proto, kaddr dst, u32 spi */
		const struct ksa *k = obj;
		wr_u8(&w, k->proto);
		espm_put_kaddr(&w, &k->dst);
		wr_u32(&w, k->spi);
	} else
		espm_put_kpolicy(&w, obj);
	assert_false(wr_error(&w));
	espd_ctl_msg(&d, 0, w.buf, w.len);
	wr_free(&w);
	n = recv(req_peer, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0);
	r = rd_init(buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&r, &h), 0);
	return h.status;
}

/* A random address of family af from a pool of 8. */
static void rnd_addr(struct kaddr *a, uint8_t af)
{
	memset(a, 0, sizeof(*a));
	a->af = af;
	if (af == AF_INET) {
		static const uint8_t b[2][3] = {{198, 51, 100}, {203, 0, 113}};
		memcpy(a->u.b, b[rnd(2)], 3);
		a->u.b[3] = (uint8_t)(rnd(4) * 64 + rnd(3));
	} else {
		a->u.b[0] = 0x20;
		a->u.b[1] = 0x01;
		a->u.b[2] = 0x0d;
		a->u.b[3] = 0xb8;
		a->u.b[7] = (uint8_t)rnd(2);
		a->u.b[15] = (uint8_t)rnd(4);
	}
}

static uint8_t rnd_plen(uint8_t af)
{
	static const uint8_t p4[] = {0, 8, 24, 25, 26, 30, 31, 32, 32, 32};
	static const uint8_t p6[] = {0, 32, 56, 64, 126, 127, 128, 128};

	return af == AF_INET ? p4[rnd(sizeof(p4))] : p6[rnd(sizeof(p6))];
}

/* The prefix a/plen as a selector stores it (host bits zero). */
static void clear_host(struct kaddr *a, unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen > i * 8 ? plen - i * 8 : 0;
		if (keep < 8)
			a->u.b[i] &= (uint8_t)(0xff00 >> keep);
	}
}

static void rnd_sel(struct ksel *s)
{
	uint8_t af = rnd(2) ? AF_INET : AF_INET6;

	memset(s, 0, sizeof(*s));
	if (rnd(12) == 0) { /* any family: both prefixes /0 */
		s->af = 0;
		return;
	}
	s->af = af;
	rnd_addr(&s->src, af);
	rnd_addr(&s->dst, af);
	s->src_plen = rnd_plen(af);
	s->dst_plen = rnd_plen(af);
	clear_host(&s->src, s->src_plen);
	clear_host(&s->dst, s->dst_plen);
	if (rnd(3) == 0)
		s->proto = rnd(2) ? IPPROTO_UDP : IPPROTO_TCP;
	if (s->proto && rnd(2)) {
		s->dport = (uint16_t)(500 + rnd(2));
		s->dport_mask = 0xffff;
	}
}

static void rnd_flow(struct ksel *f)
{
	uint8_t af = rnd(2) ? AF_INET : AF_INET6;

	memset(f, 0, sizeof(*f));
	f->af = af;
	rnd_addr(&f->src, af);
	rnd_addr(&f->dst, af);
	f->src_plen = f->dst_plen = af == AF_INET ? 32 : 128;
	f->proto = rnd(2) ? IPPROTO_UDP : IPPROTO_TCP;
	f->sport = 1000;
	f->dport = (uint16_t)(500 + rnd(2));
	f->sport_mask = f->dport_mask = 0xffff;
}

static void rnd_pol(struct kpolicy *p)
{
	memset(p, 0, sizeof(*p));
	rnd_sel(&p->sel);
	p->dir = (enum kdir)rnd(3);
	p->priority = rnd(3) * 100;
	p->action = rnd(4) ? KPOL_IPSEC : (enum kaction)(1 + rnd(2));
	if (p->action == KPOL_IPSEC) {
		p->ntmpl = 1;
		p->tmpl[0].proto = IPPROTO_ESP;
		p->tmpl[0].mode = KMODE_TUNNEL;
		p->tmpl[0].reqid = rnd(3) ? 1 + rnd(8) : 0;
		rnd_addr(&p->tmpl[0].src, AF_INET);
		rnd_addr(&p->tmpl[0].dst, AF_INET);
	}
}

static struct ksa rnd_sa(uint32_t spi)
{
	struct ksa k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_ESP;
	k.spi = spi;
	rnd_addr(&k.src, AF_INET);
	rnd_addr(&k.dst, AF_INET);
	k.mode = KMODE_TUNNEL;
	k.reqid = rnd(4) ? 1 + rnd(8) : 0;
	k.encr_id = IKEV2_ENCR_AES_GCM_16;
	k.encr_keybits = 128;
	k.enc_key_len = 20;
	memset(k.enc_key, 0x42, 20);
	k.replay_window = 64;
	return k;
}

/* ---- the linear lookups the indexes replaced (espd.c before issue 14) */

static struct espd_pol *ref_spd_lookup(enum kdir dir, const struct ksel *flow)
{
	struct espd_pol *best = NULL;

	for (struct espd_pol *p = d.pols; p; p = p->next) {
		if (p->p.dir != dir || !ksel_match_flow(&p->p.sel, flow))
			continue;
		if (!best || p->p.priority < best->p.priority ||
		    (p->p.priority == best->p.priority &&
		     p->p.sel.src_plen + p->p.sel.dst_plen >
			 best->p.sel.src_plen + best->p.sel.dst_plen))
			best = p;
	}
	return best;
}

static bool ref_tmpl_has_sa(const struct ktmpl *t, const struct espd_sa *sa)
{
	return t->proto == sa->k.proto &&
	       (!t->reqid || t->reqid == sa->k.reqid) &&
	       (!t->src.af || espd_addr_eq(&t->src, &sa->k.src)) &&
	       (!t->dst.af || espd_addr_eq(&t->dst, &sa->k.dst));
}

/* the policy whose counter espd_in_policy_ok() advances, or NULL */
static struct espd_pol *ref_in_policy(struct espd_sa *sa,
				      const struct ksel *flow)
{
	for (struct espd_pol *p = d.pols; p; p = p->next) {
		if (p->p.dir == KDIR_OUT || p->p.action != KPOL_IPSEC ||
		    !ksel_match_flow(&p->p.sel, flow))
			continue;
		if (p->p.ntmpl == 1 && ref_tmpl_has_sa(&p->p.tmpl[0], sa))
			return p;
	}
	return NULL;
}

static struct espd_sa *ref_sa_for_tmpl(const struct ktmpl *t,
				       const struct ksel *flow)
{
	struct espd_sa *best = NULL;

	for (struct espd_sa *s = d.sas; s; s = s->next) {
		if (s->larval || s->esp.dead || s->k.proto != t->proto)
			continue;
		if (t->reqid && s->k.reqid != t->reqid)
			continue;
		if (t->mode == KMODE_TUNNEL &&
		    ((t->src.af && !espd_addr_eq(&s->k.src, &t->src)) ||
		     (t->dst.af && !espd_addr_eq(&s->k.dst, &t->dst))))
			continue;
		if (s->k.sel.af && !ksel_match_flow(&s->k.sel, flow))
			continue;
		if (!best || (best->esp.soft_done && !s->esp.soft_done))
			best = s;
	}
	return best;
}

/* ---- the comparisons ------------------------------------------------- */

/* batch: inside espd_batch_begin/end, so that the one-entry lookup
 * caches answer: every lookup is made twice in a row (the second from the
 * cache) and must still equal the reference. */
static void compare_all(unsigned nflows, bool batch)
{
	unsigned reps = batch ? 2 : 1;

	if (batch)
		espd_batch_begin(&d);
	for (unsigned i = 0; i < nflows; i++) {
		struct ksel f;

		rnd_flow(&f);
		for (int dir = KDIR_IN; dir <= KDIR_FWD; dir++) {
			struct espd_pol *want =
			    ref_spd_lookup((enum kdir)dir, &f);
			for (unsigned r = 0; r < reps; r++)
				assert_ptr_equal(
				    espd_spd_lookup(&d, (enum kdir)dir, &f),
				    want);
			hit_spd += want != NULL;
			n_spd++;
		}
	}
	/* inbound policy check, for SAs in turn */
	for (struct espd_sa *s = d.sas; s; s = s->next) {
		struct ksel f;
		struct espd_pol *want;
		uint64_t before;
		bool ok;

		rnd_flow(&f);
		want = ref_in_policy(s, &f);
		before = want ? want->p.cur_packets : 0;
		for (unsigned r = 0; r < reps; r++) {
			ok = espd_in_policy_ok(&d, &s, 1, &f);
			assert_int_equal(ok, want != NULL);
		}
		if (want)
			assert_int_equal(want->p.cur_packets, before + reps);
		hit_in += want != NULL;
		/* by SPI */
		for (unsigned r = 0; r < reps; r++)
			assert_ptr_equal(
			    espd_sa_in(&d, IPPROTO_ESP, s->k.spi, &s->k.dst),
			    s);
	}
	assert_null(espd_sa_in(&d, IPPROTO_ESP, 0x7fffffff, &d.sas->k.dst));
	if (batch) {
		/* a change clears the caches, even inside a batch: the
		 * policy just found for a flow and the SA just found by
		 * SPI, deleted, are found no more */
		struct espd_pol *p = NULL;
		struct ksel f;
		for (unsigned i = 0; i < 100 && !p; i++) {
			rnd_flow(&f);
			p = espd_spd_lookup(&d, KDIR_OUT, &f);
		}
		if (p) {
			struct kpolicy k = p->p;
			assert_int_equal(call(ESPM_POL_DEL, &k), 0);
			assert_ptr_equal(espd_spd_lookup(&d, KDIR_OUT, &f),
					 ref_spd_lookup(KDIR_OUT, &f));
		}
		if (d.sas && d.sas->next) {
			struct espd_sa *s = d.sas->next;
			struct ksa k = s->k;
			assert_ptr_equal(
			    espd_sa_in(&d, IPPROTO_ESP, k.spi, &k.dst), s);
			assert_int_equal(call(ESPM_SA_DEL, &k), 0);
			assert_null(espd_sa_in(&d, IPPROTO_ESP, k.spi, &k.dst));
		}
		espd_batch_end(&d);
	}
	/* outbound SA of each IPsec policy (the cache invalidated) */
	for (struct espd_pol *p = d.pols; p; p = p->next) {
		struct espd_bundle b;
		struct espd_sa *want;
		struct ksel f;
		unsigned missing;
		int rc;

		if (p->p.action != KPOL_IPSEC)
			continue;
		rnd_flow(&f);
		d.sa_gen++;
		want = ref_sa_for_tmpl(&p->p.tmpl[0], &f);
		rc = espd_bundle_out(&d, p, &f, &b, &missing);
		assert_int_equal(rc, want ? 0 : -ENOENT);
		if (want)
			assert_ptr_equal(b.sa[0], want);
		hit_sa += want != NULL;
	}
}

static void test_random_sets(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 30; round++) {
		unsigned npol = 20 + rnd(400), nsa = 5 + rnd(150);

		for (unsigned i = 0; i < nsa; i++) {
			struct ksa k = rnd_sa(0x1000 + round * 1000 + i);
			assert_int_equal(call(ESPM_SA_ADD, &k), 0);
		}
		for (unsigned i = 0; i < npol; i++) {
			struct kpolicy p;
			rnd_pol(&p);
			int rc = call(ESPM_POL_ADD, &p);
			assert_true(rc == 0 || rc == -EEXIST);
		}
		/* some soft-expired: no longer preferred for output */
		for (struct espd_sa *s = d.sas; s; s = s->next)
			s->esp.soft_done = rnd(4) == 0;
		compare_all(300, false);
		compare_all(300, true);
		/* updates (another priority, action or selector by index)
		 * and deletions, then again */
		for (struct espd_pol *p = d.pols, *next; p; p = next) {
			struct kpolicy k = p->p;
			next = p->next;
			switch (rnd(4)) {
			case 0:
				assert_int_equal(call(ESPM_POL_DEL, &k), 0);
				break;
			case 1:
				k.priority = rnd(3) * 100;
				rnd_sel(&k.sel);
				k.index = p->p.index; /* found by index */
				(void)call(ESPM_POL_UPDATE, &k);
				break;
			default:
				break;
			}
		}
		compare_all(300, round & 1);
		if (round % 3 == 2)
			espd_state_free(&d);
	}
	printf("# %u of %u SPD lookups found a policy; inbound checks "
	       "satisfied %u, outbound SAs found %u\n",
	       hit_spd, n_spd, hit_in, hit_sa);
	assert_true(hit_spd > n_spd / 4 && hit_in > 20 && hit_sa > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_random_sets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
