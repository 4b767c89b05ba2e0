/*
 * test_kproxy.c - the privileged parent's kernel proxy (src/ike/kproxy.c)
 * refuses what the IKE engine may not do (issue 9, privilege separation).
 *
 * Requests are built with the esp_msg codec, as the engine's userspace
 * backend client builds them, and served on one end of a socketpair; the
 * reply is read from the other end.  Behind the proxy: the fake backend,
 * where a "foreign" SA and policy (spmd's, a static one) are installed
 * directly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ike/kproxy.h"
#include "kernel/userspace/esp_msg.h"

struct fx {
	struct kernel k;
	struct kproxy *kp;
	int srv, cli;
	uint32_t seq;
	uint8_t buf[ESPM_MAX];
	struct rd body; /* last reply's body */
};

static int setup(void **state)
{
	static struct fx f;
	int sv[2];

	memset(&f, 0, sizeof(f));
	assert_int_equal(k_open(&f.k, "fake", K_OPEN_EVENTS), 0);
	f.kp = kproxy_new(&f.k);
	assert_non_null(f.kp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	f.srv = sv[0];
	f.cli = sv[1];
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	kproxy_free(f->kp);
	k_close(&f->k);
	close(f->srv);
	close(f->cli);
	return 0;
}

static void begin(struct fx *f, struct wr *w, uint16_t type)
{
	struct espm_hdr h = {.type = type, .seq = ++f->seq};

	wr_init(w, ESPM_MAX);
	espm_put_hdr(w, &h);
}

/* Serves w; returns the reply status (items are skipped). */
static int serve(struct fx *f, struct wr *w)
{
	struct espm_hdr h;

	kproxy_request(f->kp, f->srv, w->buf, w->len);
	wr_free(w);
	for (;;) {
		ssize_t n = recv(f->cli, f->buf, sizeof(f->buf), 0);
		assert_true(n > 0);
		f->body = rd_init(f->buf, (size_t)n);
		assert_int_equal(espm_get_hdr(&f->body, &h), 0);
		if (h.type == ESPM_ITEM)
			continue;
		assert_int_equal(h.type, ESPM_REPLY);
		return h.status;
	}
}

static struct kaddr A(const char *s) {
	struct kaddr a;
	assert_int_equal(kaddr_parse(s, &a), 0);
	return a;
}

static int
getspi(struct fx *f, uint32_t *spi)
{
	struct kaddr src = A("198.51.100.2"), dst = A("198.51.100.1");
	struct wr w;
	int rc;

	begin(f, &w, ESPM_GETSPI);
	wr_u8(&w, IPPROTO_ESP);
	espm_put_kaddr(&w, &src);
	espm_put_kaddr(&w, &dst);
	wr_u32(&w, 7);
	rc = serve(f, &w);
	if (rc == 0)
		assert_int_equal(rd_u32(&f->body, spi), 0);
	return rc;
}

static void mk_sa(struct ksa *sa, const char *src, const char *dst,
		  uint32_t spi, bool update)
{
	memset(sa, 0, sizeof(*sa));
	sa->proto = IPPROTO_ESP;
	sa->spi = spi;
	sa->src = A(src);
	sa->dst = A(dst);
	sa->mode = KMODE_TUNNEL;
	sa->reqid = 7;
	sa->encr_id = 20; /* AES-GCM-16 */
	sa->encr_keybits = 128;
	sa->enc_key_len = 20;
	memset(sa->enc_key, 0x42, 20);
	sa->update = update;
}

static int sa_add(struct fx *f, const struct ksa *sa)
{
	struct wr w;

	begin(f, &w, ESPM_SA_ADD);
	espm_put_ksa(&w, sa, true);
	return serve(f, &w);
}

static int sa_op(struct fx *f, uint16_t type, const char *dst, uint32_t spi)
{
	struct kaddr d = A(dst);
	struct wr w;

	begin(f, &w, type);
	wr_u8(&w, IPPROTO_ESP);
	espm_put_kaddr(&w, &d);
	wr_u32(&w, spi);
	return serve(f, &w);
}

/* The engine's own SAs: allocate, complete, add the outbound one,
 * query, delete. */
static void test_own_sas(void **state)
{
	struct fx *f = *state;
	struct ksa sa;
	uint32_t spi;

	assert_int_equal(getspi(f, &spi), 0);
	mk_sa(&sa, "198.51.100.2", "198.51.100.1", spi, true);
	assert_int_equal(sa_add(f, &sa), 0);
	mk_sa(&sa, "198.51.100.1", "198.51.100.2", 0x1234567, false);
	assert_int_equal(sa_add(f, &sa), 0);
	assert_int_equal(kproxy_sa_count(f->kp), 2);
	assert_int_equal(sa_op(f, ESPM_SA_QUERY, "198.51.100.1", spi), 0);
	assert_int_equal(sa_op(f, ESPM_SA_DEL, "198.51.100.1", spi), 0);
	assert_int_equal(sa_op(f, ESPM_SA_DEL, "198.51.100.2", 0x1234567), 0);
	assert_int_equal(kproxy_sa_count(f->kp), 0);
	assert_int_equal(kfake_sa_count(&f->k), 0);
}

/* An SA the engine did not create cannot be deleted, queried, read or
 * overwritten through the proxy. */
static void test_foreign_sa_refused(void **state)
{
	struct fx *f = *state;
	struct ksa sa;
	uint32_t spi;

	mk_sa(&sa, "198.51.100.2", "198.51.100.1", 0x51515151, false);
	assert_int_equal(k_sa_add(&f->k, &sa), 0); /* a static SA */
	assert_int_equal(sa_op(f, ESPM_SA_DEL, "198.51.100.1", 0x51515151),
			 -EPERM);
	assert_int_equal(sa_op(f, ESPM_SA_QUERY, "198.51.100.1", 0x51515151),
			 -EPERM);
	assert_int_equal(sa_op(f, ESPM_SA_GET, "198.51.100.1", 0x51515151),
			 -EPERM);
	/* "update" of an SPI it did not allocate */
	mk_sa(&sa, "198.51.100.2", "198.51.100.1", 0x51515151, true);
	assert_int_equal(sa_add(f, &sa), -EPERM);
	assert_int_equal(kfake_sa_count(&f->k), 1);
	/* its own larval SA can be completed once, not added twice */
	assert_int_equal(getspi(f, &spi), 0);
	mk_sa(&sa, "198.51.100.2", "198.51.100.1", spi, false);
	assert_int_equal(sa_add(f, &sa), -EEXIST);
	/* the parent cleans up the engine's SAs, not the static one */
	assert_int_equal(kproxy_cleanup(f->kp), 1);
	assert_int_equal(kfake_sa_count(&f->k), 1);
	assert_int_equal(k_sa_del(&f->k, IPPROTO_ESP, &sa.dst, 0x51515151), 0);
}

static void mk_pol(struct kpolicy *p, uint32_t index)
{
	memset(p, 0, sizeof(*p));
	p->sel.af = AF_INET;
	p->sel.src = A("203.0.113.1");
	p->sel.dst = A("203.0.113.129");
	p->sel.src_plen = p->sel.dst_plen = 32;
	p->dir = KDIR_OUT;
	p->action = KPOL_IPSEC;
	p->index = index;
	p->ntmpl = 1;
	p->tmpl[0].proto = IPPROTO_ESP;
	p->tmpl[0].mode = KMODE_TRANSPORT;
	p->tmpl[0].reqid = 9;
}

static int pol_req(struct fx *f, uint16_t type, const struct kpolicy *p)
{
	struct wr w;

	begin(f, &w, type);
	espm_put_kpolicy(&w, p);
	return serve(f, &w);
}

/* Policies: only index 0 (the backend picks an owned one); only its own
 * may be updated or deleted; spmd's are out of reach. */
static void test_policies(void **state)
{
	struct fx *f = *state;
	struct kpolicy spmd, p;
	uint32_t idx = 0;

	mk_pol(&spmd, 0);
	spmd.sel.dport = 80;
	spmd.sel.dport_mask = 0xffff;
	spmd.sel.proto = IPPROTO_TCP;
	assert_int_equal(k_pol_add(&f->k, &spmd), 0); /* spmd's */
	assert_int_equal(pol_req(f, ESPM_POL_DEL, &spmd), -EPERM);
	assert_int_equal(pol_req(f, ESPM_POL_UPDATE, &spmd), -EPERM);
	mk_pol(&p, spmd.index + 8);
	assert_int_equal(pol_req(f, ESPM_POL_ADD, &p), -EPERM);
	mk_pol(&p, 0);
	assert_int_equal(pol_req(f, ESPM_POL_ADD, &p), 0);
	assert_int_equal(rd_u32(&f->body, &idx), 0);
	assert_true(kpol_index_owned(idx));
	assert_int_equal(kfake_pol_count(&f->k), 2);
	p.index = idx;
	assert_int_equal(pol_req(f, ESPM_POL_DUMP, &p), -EPERM);
	assert_int_equal(pol_req(f, ESPM_POL_DEL, &p), 0);
	assert_int_equal(kfake_pol_count(&f->k), 1);
	assert_int_equal(kproxy_pol_count(f->kp), 0);
}

/* Requests the engine never needs, and garbage. */
static void test_refused_and_malformed(void **state)
{
	struct fx *f = *state;
	static const uint16_t no[] = {
	    ESPM_FLUSH_OWN, ESPM_SA_DUMP, ESPM_POL_DUMP, ESPM_STATS, 0,
	    0x7f,	    ESPM_EVENT};
	struct espm_hdr h;
	struct wr w;
	ssize_t n;

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		begin(f, &w, no[i]);
		assert_int_equal(serve(f, &w), -EPERM);
	}
	/* truncated header: refused with a reply, nothing done */
	kproxy_request(f->kp, f->srv, (const uint8_t *)"\x00\x03", 2);
	n = recv(f->cli, f->buf, sizeof(f->buf), 0);
	assert_true(n > 0);
	f->body = rd_init(f->buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&f->body, &h), 0);
	assert_int_equal(h.status, -EBADMSG);
	/* truncated bodies */
	begin(f, &w, ESPM_GETSPI);
	wr_u8(&w, IPPROTO_ESP);
	assert_int_equal(serve(f, &w), -EBADMSG);
	begin(f, &w, ESPM_SA_ADD);
	wr_u32(&w, 1);
	assert_int_equal(serve(f, &w), -EBADMSG);
	begin(f, &w, ESPM_SA_DEL);
	assert_int_equal(serve(f, &w), -EBADMSG);
	/* a bad protocol */
	{
		struct kaddr a = A("198.51.100.1");
		begin(f, &w, ESPM_GETSPI);
		wr_u8(&w, IPPROTO_UDP);
		espm_put_kaddr(&w, &a);
		espm_put_kaddr(&w, &a);
		wr_u32(&w, 0);
		assert_int_equal(serve(f, &w), -EINVAL);
	}
	assert_int_equal(kfake_sa_count(&f->k), 0);
	assert_int_equal(kproxy_sa_count(f->kp), 0);
}

/* Events reach the engine; HELLO on the event channel is answered. */
static void test_events(void **state)
{
	struct fx *f = *state;
	struct kevent ev, got;
	struct espm_hdr h;
	struct wr w;
	ssize_t n;

	begin(f, &w, ESPM_HELLO);
	assert_int_equal(kproxy_event_request(f->kp, f->srv, w.buf, w.len), 0);
	wr_free(&w);
	n = recv(f->cli, f->buf, sizeof(f->buf), 0);
	assert_true(n > 0);
	f->body = rd_init(f->buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&f->body, &h), 0);
	assert_int_equal(h.type, ESPM_REPLY);
	memset(&ev, 0, sizeof(ev));
	ev.type = KEV_EXPIRE;
	ev.u.expire.proto = IPPROTO_ESP;
	ev.u.expire.spi = 0x1000;
	ev.u.expire.dst = A("198.51.100.1");
	ev.u.expire.hard = true;
	assert_int_equal(kproxy_forward(f->kp, f->srv, &ev), 0);
	n = recv(f->cli, f->buf, sizeof(f->buf), 0);
	f->body = rd_init(f->buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&f->body, &h), 0);
	assert_int_equal(h.type, ESPM_EVENT);
	assert_int_equal(espm_get_kevent(&f->body, &got), 0);
	assert_int_equal(got.type, KEV_EXPIRE);
	assert_int_equal(got.u.expire.spi, 0x1000);
}

static struct kmigrate_req mig(const char *os, const char *od, const char *ns,
			       const char *nd, uint32_t reqid)
{
	struct kmigrate_req r;

	memset(&r, 0, sizeof(r));
	r.sel.af = AF_INET;
	r.sel.src = A("203.0.113.1");
	r.sel.dst = A("203.0.113.129");
	r.sel.src_plen = r.sel.dst_plen = 32;
	r.dir = KDIR_OUT;
	r.n = 1;
	r.m[0].proto = IPPROTO_ESP;
	r.m[0].mode = KMODE_TUNNEL;
	r.m[0].reqid = reqid;
	r.m[0].old_src = A(os);
	r.m[0].old_dst = A(od);
	r.m[0].new_src = A(ns);
	r.m[0].new_dst = A(nd);
	return r;
}

static int mig_req(struct fx *f, const struct kmigrate_req *r)
{
	struct wr w;

	begin(f, &w, ESPM_MIGRATE);
	espm_put_kmigrate(&w, r);
	return serve(f, &w);
}

static struct kaddr fwd_tmpl_dst;

static int fwd_tmpl_cb(const struct kpolicy *p, void *arg)
{
	(void)arg;
	if (p->dir == KDIR_FWD && p->ntmpl == 1)
		fwd_tmpl_dst = p->tmpl[0].dst;
	return 0;
}

/* MIGRATE from the engine: only its own SAs (reqid, protocol, old
 * endpoints of an installed one); its table follows the move, also when
 * the move came from elsewhere (a KEV_MIGRATE event). */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct kmigrate_req r;
	struct kpolicy p;
	struct ksa sa;
	struct kevent ev;

	mk_pol(&p, 0);
	p.tmpl[0].mode = KMODE_TUNNEL;
	p.tmpl[0].reqid = 7;
	p.tmpl[0].src = A("198.51.100.1");
	p.tmpl[0].dst = A("198.51.100.2");
	assert_int_equal(k_pol_add(&f->k, &p), 0); /* spmd's */
	mk_sa(&sa, "198.51.100.1", "198.51.100.2", 0x2222, false);
	assert_int_equal(sa_add(f, &sa), 0);
	/* a static SA with the same reqid is not the engine's */
	mk_sa(&sa, "198.51.100.7", "198.51.100.2", 0x3333, false);
	assert_int_equal(k_sa_add(&f->k, &sa), 0);
	r = mig("198.51.100.7", "198.51.100.2", "198.51.100.9", "198.51.100.2",
		7);
	assert_int_equal(mig_req(f, &r), -EPERM);
	/* reqid 0 ("any") would reach foreign SAs */
	r = mig("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.2",
		0);
	assert_int_equal(mig_req(f, &r), -EPERM);
	/* malformed and invalid */
	{
		struct wr w;

		begin(f, &w, ESPM_MIGRATE);
		wr_u8(&w, 1);
		assert_int_equal(serve(f, &w), -EBADMSG);
	}
	r = mig("198.51.100.1", "198.51.100.2", "0.0.0.0", "198.51.100.2", 7);
	assert_int_equal(mig_req(f, &r), -EINVAL);
	/* its own: moved, and still its own at the new address */
	r = mig("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4",
		7);
	assert_int_equal(mig_req(f, &r), 0);
	assert_int_equal(sa_op(f, ESPM_SA_QUERY, "198.51.100.4", 0x2222), 0);
	assert_int_equal(sa_op(f, ESPM_SA_QUERY, "198.51.100.2", 0x2222),
			 -EPERM);
	/* the forward policy follows SAs the engine already moved (its
	 * template only; nothing of the engine's at the old endpoints) */
	{
		struct kpolicy fp;

		mk_pol(&fp, 0);
		fp.dir = KDIR_FWD;
		fp.tmpl[0].mode = KMODE_TUNNEL;
		fp.tmpl[0].reqid = 7;
		fp.tmpl[0].src = A("198.51.100.1");
		fp.tmpl[0].dst = A("198.51.100.2");
		assert_int_equal(k_pol_add(&f->k, &fp), 0); /* spmd's */
		r = mig("198.51.100.1", "198.51.100.2", "198.51.100.3",
			"198.51.100.4", 7);
		/* not for the in or out direction: those move SAs */
		r.dir = KDIR_OUT;
		assert_int_equal(mig_req(f, &r), -EPERM);
		/* not for a reqid it has no SA of at the new endpoints */
		r.dir = KDIR_FWD;
		r.m[0].reqid = 8;
		assert_int_equal(mig_req(f, &r), -EPERM);
		r.m[0].reqid = 7;
		r.m[0].new_src = A("198.51.100.5");
		assert_int_equal(mig_req(f, &r), -EPERM);
		r.m[0].new_src = A("198.51.100.3");
		assert_int_equal(mig_req(f, &r), 0);
		/* the template moved */
		fwd_tmpl_dst.af = 0;
		assert_int_equal(k_pol_dump(&f->k, fwd_tmpl_cb, NULL), 0);
		assert_true(kaddr_eq(&fwd_tmpl_dst, &r.m[0].new_dst));
		assert_int_equal(k_pol_del(&f->k, &fp), 0);
	}
	/* moved back by someone else (spmd): the event updates the table */
	ev.type = KEV_MIGRATE;
	ev.u.migrate = mig("198.51.100.3", "198.51.100.4", "198.51.100.1",
			   "198.51.100.2", 7);
	assert_int_equal(k_migrate(&f->k, &ev.u.migrate), 0);
	assert_int_equal(kproxy_forward(f->kp, f->srv, &ev), 0);
	assert_true(recv(f->cli, f->buf, sizeof(f->buf), 0) > 0);
	assert_int_equal(sa_op(f, ESPM_SA_DEL, "198.51.100.2", 0x2222), 0);
	assert_int_equal(kproxy_sa_count(f->kp), 0);
}

/* ---- batches (k_batch through the channel, kproxy_batch_*) ---- */

/* Held replies go out at kproxy_batch_end, all of them, in order. */
static void test_batch_replies_held(void **state)
{
	struct fx *f = *state;
	struct kpolicy p;
	struct espm_hdr h;
	struct wr w;
	uint32_t seq0 = f->seq + 1;

	kproxy_batch_begin(f->kp);
	for (int i = 0; i < 3; i++) {
		mk_pol(&p, i == 1 ? 0x1231 : 0); /* the 2nd is refused */
		p.sel.dport = (uint16_t)(1000 + i);
		p.sel.dport_mask = 0xffff;
		p.sel.proto = IPPROTO_TCP;
		begin(f, &w, ESPM_POL_ADD);
		espm_put_kpolicy(&w, &p);
		kproxy_request(f->kp, f->srv, w.buf, w.len);
		wr_free(&w);
	}
	/* nothing sent yet */
	assert_true(recv(f->cli, f->buf, sizeof(f->buf), MSG_DONTWAIT) < 0);
	assert_int_equal(kproxy_batch_end(f->kp), 0);
	for (uint32_t i = 0; i < 3; i++) {
		assert_true(recv(f->cli, f->buf, sizeof(f->buf), 0) > 0);
		f->body = rd_init(f->buf, ESPM_MAX);
		assert_int_equal(espm_get_hdr(&f->body, &h), 0);
		assert_int_equal(h.seq, seq0 + i);
		assert_int_equal(h.status, i == 1 ? -EPERM : 0);
	}
	assert_int_equal(kproxy_pol_count(f->kp), 2);
	/* and not held any more */
	mk_pol(&p, 0x1231);
	assert_int_equal(pol_req(f, ESPM_POL_ADD, &p), -EPERM);
}

/* ESPM_BATCH framing: a batch whose framing does not check (count 0,
 * a request cut short, trailing bytes) or one inside a batch is refused
 * whole, nothing applied; a good one answers each request in order in
 * one reply, a refused request among them with its own status. */
static void test_batch_framing(void **state)
{
	struct fx *f = *state;
	struct kpolicy p;
	struct wr w, one;
	struct rd sub;
	struct espm_hdr h;
	uint16_t len = 0;

	begin(f, &w, ESPM_BATCH);
	wr_u8(&w, 0);
	assert_int_equal(serve(f, &w), -EBADMSG);
	begin(f, &w, ESPM_BATCH);
	wr_u8(&w, 2);
	wr_u16(&w, 40); /* 40 bytes announced, none there */
	assert_int_equal(serve(f, &w), -EBADMSG);
	/* one good request, then trailing bytes: nothing applied */
	mk_pol(&p, 0);
	begin(f, &one, ESPM_POL_ADD);
	espm_put_kpolicy(&one, &p);
	begin(f, &w, ESPM_BATCH);
	wr_u8(&w, 1);
	wr_u16(&w, (uint16_t)one.len);
	wr_bytes(&w, one.buf, one.len);
	wr_u8(&w, 0);
	assert_int_equal(serve(f, &w), -EBADMSG);
	assert_int_equal(kproxy_pol_count(f->kp), 0);
	/* a batch in a batch */
	begin(f, &w, ESPM_BATCH);
	wr_u8(&w, 1);
	{
		struct wr in;
		begin(f, &in, ESPM_BATCH);
		wr_u8(&in, 1);
		wr_u16(&in, (uint16_t)one.len);
		wr_bytes(&in, one.buf, one.len);
		wr_u16(&w, (uint16_t)in.len);
		wr_bytes(&w, in.buf, in.len);
		wr_free(&in);
	}
	assert_int_equal(serve(f, &w), 0);
	assert_int_equal(rd_u16(&f->body, &len), 0);
	assert_int_equal(rd_sub(&f->body, len, &sub), 0);
	assert_int_equal(espm_get_hdr(&sub, &h), 0);
	assert_int_equal(h.status, -EPERM);
	assert_int_equal(kproxy_pol_count(f->kp), 0);
	/* good: the policy, then one with an index (refused) */
	begin(f, &w, ESPM_BATCH);
	wr_u8(&w, 2);
	wr_u16(&w, (uint16_t)one.len);
	wr_bytes(&w, one.buf, one.len);
	wr_free(&one);
	mk_pol(&p, 0x1231);
	begin(f, &one, ESPM_POL_ADD);
	espm_put_kpolicy(&one, &p);
	wr_u16(&w, (uint16_t)one.len);
	wr_bytes(&w, one.buf, one.len);
	wr_free(&one);
	assert_int_equal(serve(f, &w), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rd_u16(&f->body, &len), 0);
		assert_int_equal(rd_sub(&f->body, len, &sub), 0);
		assert_int_equal(espm_get_hdr(&sub, &h), 0);
		assert_int_equal(h.type, ESPM_REPLY);
		assert_int_equal(h.status, i == 0 ? 0 : -EPERM);
	}
	assert_true(rd_empty(&f->body));
	assert_int_equal(kproxy_pol_count(f->kp), 1);
}

/* The parent's side of the channel in a child process, served as
 * priv.c does (a batch per wakeup); at EOF it reports the proxy's and
 * the backend's counts, then cleans up and reports them again. */
struct chan {
	struct kernel ck; /* the engine's client */
	pid_t pid;
	int res;
};

static void serve_child(struct fx *f, int fd, int out)
{
	uint8_t buf[ESPM_MAX];
	size_t v[4];
	bool eof = false;

	while (!eof) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 10000) <= 0)
			_exit(2);
		kproxy_batch_begin(f->kp);
		for (int i = 0; i < KPROXY_BATCH; i++) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0)
				eof = true;
			if (n <= 0)
				break;
			kproxy_request(f->kp, fd, buf, (size_t)n);
		}
		kproxy_batch_end(f->kp);
	}
	for (int round = 0; round < 2; round++) {
		if (round)
			kproxy_cleanup(f->kp);
		v[0] = kproxy_sa_count(f->kp);
		v[1] = kproxy_pol_count(f->kp);
		v[2] = kfake_sa_count(&f->k);
		v[3] = kfake_pol_count(&f->k);
		if (write(out, v, sizeof(v)) != (ssize_t)sizeof(v))
			_exit(3);
	}
	_exit(0);
}

static void chan_open(struct fx *f, struct chan *c)
{
	int rq[2], ev[2], res[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, rq), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ev), 0);
	assert_int_equal(pipe(res), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(rq[1]);
		close(ev[1]);
		close(res[0]);
		serve_child(f, rq[0], res[1]);
	}
	close(rq[0]);
	close(ev[0]);
	close(res[1]);
	c->res = res[0];
	assert_int_equal(k_open_channel(&c->ck, rq[1], ev[1], f->k.ops), 0);
}

/* Closes the client; v: counts before and after kproxy_cleanup. */
static void chan_close(struct chan *c, size_t v[8])
{
	size_t got = 0;
	int st;

	k_close(&c->ck);
	while (got < 8 * sizeof(size_t)) {
		ssize_t n =
		    read(c->res, (uint8_t *)v + got, 8 * sizeof(size_t) - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(c->res);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void op_sa(struct kop *o, struct ksa *sa, const char *src,
		  const char *dst, uint32_t spi, bool update)
{
	mk_sa(sa, src, dst, spi, update);
	memset(o, 0, sizeof(*o));
	o->type = KOP_SA_ADD;
	o->u.sa = sa;
}

/* A CHILD SA's worth through the channel: GETSPI, then inbound update
 * and outbound add and three policies in batches; all applied, the
 * outputs (SPI, indexes) returned, and all removed by the cleanup. */
static void test_batch_channel(void **state)
{
	struct fx *f = *state;
	struct chan c;
	struct kop ops[KBATCH_MAX];
	struct ksa in, out;
	struct kpolicy p[3];
	size_t v[8];
	uint32_t spi;

	chan_open(f, &c);
	memset(ops, 0, sizeof(ops));
	ops[0].type = KOP_GETSPI;
	ops[0].u.getspi.proto = IPPROTO_ESP;
	ops[0].u.getspi.src = A("198.51.100.2");
	ops[0].u.getspi.dst = A("198.51.100.1");
	ops[0].u.getspi.reqid = 7;
	assert_int_equal(k_batch(&c.ck, ops, 1), 0);
	spi = ops[0].u.getspi.spi;
	assert_true(spi >= K_SPI_MIN);
	for (int i = 0; i < 3; i++) {
		mk_pol(&p[i], 0);
		p[i].dir = (enum kdir)i;
		ops[i].type = KOP_POL_ADD;
		ops[i].u.pol = &p[i];
	}
	assert_int_equal(k_batch(&c.ck, ops, 3), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ops[i].rc, 0);
		assert_true(kpol_index_owned(p[i].index));
	}
	assert_int_not_equal(p[0].index, p[1].index);
	op_sa(&ops[0], &in, "198.51.100.2", "198.51.100.1", spi, true);
	op_sa(&ops[1], &out, "198.51.100.1", "198.51.100.2", 0x5555, false);
	assert_int_equal(k_batch(&c.ck, ops, 2), 0);
	chan_close(&c, v);
	assert_int_equal(v[0], 2); /* proxy: 2 SAs, 3 policies */
	assert_int_equal(v[1], 3);
	assert_int_equal(v[2], 2); /* backend */
	assert_int_equal(v[3], 3);
	for (int i = 4; i < 8; i++) /* nothing left after the cleanup */
		assert_int_equal(v[i], 0);
}

/* A refusal in the middle of a batch: the others are applied, each op
 * says how it went, last_error names the failed one; requests of one
 * batch are applied in order (an SA added then deleted in one batch). */
static void test_batch_error_mid(void **state)
{
	struct fx *f = *state;
	struct chan c;
	struct kop ops[4];
	struct ksa a, b, upd;
	size_t v[8];

	chan_open(f, &c);
	op_sa(&ops[0], &a, "198.51.100.1", "198.51.100.2", 0x1001, false);
	/* not a larval SA of the engine's: refused by the parent */
	op_sa(&ops[1], &upd, "198.51.100.2", "198.51.100.1", 0x1002, true);
	op_sa(&ops[2], &b, "198.51.100.1", "198.51.100.2", 0x1003, false);
	memset(&ops[3], 0, sizeof(ops[3]));
	ops[3].type = KOP_SA_DEL;
	ops[3].u.sa_del.proto = IPPROTO_ESP;
	ops[3].u.sa_del.dst = A("198.51.100.2");
	ops[3].u.sa_del.spi = 0x1003; /* added by op 2 of this batch */
	assert_int_equal(k_batch(&c.ck, ops, 4), -EPERM);
	assert_int_equal(ops[0].rc, 0);
	assert_int_equal(ops[1].rc, -EPERM);
	assert_int_equal(ops[2].rc, 0);
	assert_int_equal(ops[3].rc, 0);
	assert_non_null(strstr(c.ck.last_error, "op 1 (sa_add)"));
	/* in order the other way round: deleting first fails */
	ops[0].type = KOP_SA_DEL;
	ops[0].u.sa_del = ops[3].u.sa_del;
	op_sa(&ops[1], &b, "198.51.100.1", "198.51.100.2", 0x1003, false);
	assert_int_equal(k_batch(&c.ck, ops, 2), -EPERM);
	assert_int_equal(ops[0].rc, -EPERM);
	assert_int_equal(ops[1].rc, 0);
	/* a request the client's own checks refuse is not sent */
	op_sa(&ops[0], &a, "198.51.100.1", "198.51.100.2", 0x1004, false);
	op_sa(&ops[1], &b, "198.51.100.1", "198.51.100.2", 0x1005, false);
	b.encr_id = 0xfff; /* unknown cipher */
	assert_int_equal(k_batch(&c.ck, ops, 2), -EINVAL);
	assert_int_equal(ops[0].rc, 0);
	assert_int_equal(ops[1].rc, -EINVAL);
	assert_non_null(strstr(c.ck.last_error, "op 1"));
	chan_close(&c, v);
	assert_int_equal(v[0], 3); /* 0x1001, 0x1003, 0x1004 */
	assert_int_equal(v[2], 3);
	assert_int_equal(v[4], 0);
	assert_int_equal(v[6], 0);
}

/* The same batch straight on a backend (no privilege separation): the
 * same results, one code path for the callers; a failure of the backend
 * in the middle (fault injection) leaves the others applied. */
static void test_batch_direct(void **state)
{
	struct fx *f = *state;
	struct kop ops[3];
	struct kpolicy p[3];

	for (int i = 0; i < 3; i++) {
		mk_pol(&p[i], 0);
		p[i].dir = (enum kdir)i;
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].type = KOP_POL_ADD;
		ops[i].u.pol = &p[i];
	}
	kfake_fail_next(&f->k, ENOBUFS, 1);
	assert_int_equal(k_batch(&f->k, ops, 3), -ENOBUFS);
	assert_int_equal(ops[0].rc, -ENOBUFS);
	assert_int_equal(ops[1].rc, 0);
	assert_int_equal(ops[2].rc, 0);
	assert_non_null(strstr(f->k.last_error, "op 0 (pol_add)"));
	assert_int_equal(kfake_pol_count(&f->k), 2);
	/* the caller's undo (rw.c kern_add) */
	for (int i = 1; i < 3; i++) {
		ops[i - 1].type = KOP_POL_DEL;
		ops[i - 1].u.pol = &p[i];
	}
	assert_int_equal(k_batch(&f->k, ops, 2), 0);
	assert_int_equal(kfake_pol_count(&f->k), 0);
	/* bounds */
	assert_int_equal(k_batch(&f->k, ops, 0), -EINVAL);
	assert_int_equal(k_batch(&f->k, ops, KBATCH_MAX + 1), -EINVAL);
	ops[0].type = (enum kop_type)99;
	assert_int_equal(k_batch(&f->k, ops, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_own_sas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_sa_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_and_malformed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_replies_held, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_framing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_channel, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_error_mid, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_direct, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
