/*
 * test_espd_migrate.c - r2espd's MIGRATE request (espd.c req_migrate,
 * kernel.h struct kmigrate_req) through espd_ctl_msg(), the function each
 * control datagram goes through:
 *   - a tunnel SA and its policy move from the old to the new endpoints
 *     in place: the SA keeps its SPI and its whole ESP engine state
 *     (sequence number, replay window, counters: compared byte for byte
 *     after traffic went through it), the policy keeps its index;
 *   - every event subscriber gets one KEV_MIGRATE carrying the request;
 *   - a transport SA whose endpoints differ from its selector (a mobile
 *     node's care-of address) moves by its pair; its template (no
 *     endpoints) matches by protocol, mode and reqid;
 *   - refused, changing nothing: no policy with that selector (ENOENT),
 *     no template named (ENODATA), a malformed body, an invalid request
 *     (no pair, unspecified new address, duplicate pairs).
 * The packet path is stubbed as in tests/fuzz/espctl.
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
static int req_peer = -1, ev_peer = -1;

static struct kaddr A(const char *s) {
	struct kaddr a;

	memset(&a, 0, sizeof(a));
	a.af = strchr(s, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.af, s, a.u.b), 1);
	return a;
}

static bool
aeq(const struct kaddr *a, const struct kaddr *b)
{
	return a->af == b->af && memcmp(a->u.b, b->u.b, 16) == 0;
}

static bool addr_is(const struct kaddr *a, const char *s)
{
	struct kaddr b = A(s);

	return aeq(a, &b);
}

static bool sel_same(const struct ksel *a, const struct ksel *b)
{
	return a->af == b->af && aeq(&a->src, &b->src) &&
	       aeq(&a->dst, &b->dst) && a->src_plen == b->src_plen &&
	       a->dst_plen == b->dst_plen;
}

static int setup(void **state)
{
	int sv[2], ev[2];

	(void)state;
	memset(&d, 0, sizeof(d));
	log_init("test", LOG_TO_STDERR, LOG_LVL_ERR);
	d.loop = ev_new();
	assert_non_null(d.loop);
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	d.ctl_fd = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ev), 0);
	d.cli[0].fd = sv[0];
	req_peer = sv[1];
	d.cli[1].fd = ev[0];
	d.cli[1].events = true;
	ev_peer = ev[1];
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	espd_state_free(&d);
	for (int i = 0; i < 2; i++)
		if (d.cli[i].fd >= 0)
			close(d.cli[i].fd);
	close(req_peer);
	close(ev_peer);
	ev_free(d.loop);
	return 0;
}

/* Sends one request built by body(arg); returns the reply status. */
static int call(uint16_t type, void (*body)(struct wr *, const void *),
		const void *arg)
{
	struct espm_hdr h = {.type = type, .seq = 7};
	uint8_t buf[ESPM_MAX];
	struct wr w;
	ssize_t n;
	struct rd r;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (body)
		body(&w, arg);
	assert_false(wr_error(&w));
	espd_ctl_msg(&d, 0, w.buf, w.len);
	wr_free(&w);
	n = recv(req_peer, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0);
	r = rd_init(buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&r, &h), 0);
	assert_int_equal(h.type, ESPM_REPLY);
	return h.status;
}

/* The next event on the subscriber's connection (-1 if none). */
static int next_event(struct kevent *ev)
{
	uint8_t buf[ESPM_MAX];
	ssize_t n = recv(ev_peer, buf, sizeof(buf), MSG_DONTWAIT);
	struct espm_hdr h;
	struct rd r;

	if (n <= 0)
		return -1;
	r = rd_init(buf, (size_t)n);
	assert_int_equal(espm_get_hdr(&r, &h), 0);
	assert_int_equal(h.type, ESPM_EVENT);
	return espm_get_kevent(&r, ev);
}

static void b_sa(struct wr *w, const void *arg)
{
	espm_put_ksa(w, arg, true);
}

static void b_pol(struct wr *w, const void *arg)
{
	espm_put_kpolicy(w, arg);
}

static void b_mig(struct wr *w, const void *arg)
{
	espm_put_kmigrate(w, arg);
}

static void b_raw(struct wr *w, const void *arg)
{
	const struct wr *src = arg;

	wr_bytes(w, src->buf, src->len);
}

static struct ksa mk_sa(uint32_t spi, const char *src, const char *dst,
			enum kmode mode)
{
	struct ksa k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_ESP;
	k.spi = spi;
	k.src = A(src);
	k.dst = A(dst);
	k.mode = mode;
	k.reqid = 5;
	k.encr_id = IKEV2_ENCR_AES_GCM_16;
	k.encr_keybits = 128;
	k.enc_key_len = 20;
	memset(k.enc_key, 0x42, 20);
	k.replay_window = 64;
	return k;
}

static struct kpolicy mk_pol(const char *ss, const char *ds, enum kdir dir,
			     enum kmode mode, const char *ts, const char *td)
{
	struct kpolicy p;

	memset(&p, 0, sizeof(p));
	p.sel.src = A(ss);
	p.sel.dst = A(ds);
	p.sel.af = p.sel.src.af;
	p.sel.src_plen = p.sel.dst_plen = p.sel.af == AF_INET ? 32 : 128;
	p.dir = dir;
	p.action = KPOL_IPSEC;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = mode;
	p.tmpl[0].reqid = 5;
	if (mode == KMODE_TUNNEL) {
		p.tmpl[0].src = A(ts);
		p.tmpl[0].dst = A(td);
	}
	return p;
}

static struct kmigrate_req mk_mig(const struct kpolicy *p, enum kmode mode,
				  const char *os, const char *od,
				  const char *ns, const char *nd)
{
	struct kmigrate_req r;

	memset(&r, 0, sizeof(r));
	r.sel = p->sel;
	r.dir = p->dir;
	r.n = 1;
	r.m[0].proto = IPPROTO_ESP;
	r.m[0].mode = mode;
	r.m[0].reqid = 5;
	r.m[0].old_src = A(os);
	r.m[0].old_dst = A(od);
	r.m[0].new_src = A(ns);
	r.m[0].new_dst = A(nd);
	return r;
}

static struct espd_sa *find_sa(uint32_t spi)
{
	for (struct espd_sa *s = d.sas; s; s = s->next)
		if (s->k.spi == spi)
			return s;
	return NULL;
}

static void test_tunnel_moves_in_place(void **state)
{
	struct ksa sa =
	    mk_sa(0x2000, "2001:db8:a::1", "2001:db8:f::1", KMODE_TUNNEL);
	struct kpolicy p =
	    mk_pol("2001:db8:1::1", "2001:db8:2::1", KDIR_OUT, KMODE_TUNNEL,
		   "2001:db8:a::1", "2001:db8:f::1");
	struct kmigrate_req r =
	    mk_mig(&p, KMODE_TUNNEL, "2001:db8:a::1", "2001:db8:f::1",
		   "2001:db8:b::1", "2001:db8:f::1");
	uint8_t pkt[64] = {0}, out[256];
	struct esp_sa before;
	struct espd_sa *s;
	struct kevent ev;
	uint32_t index;
	size_t olen;
	unsigned evs = 0;

	(void)state;
	assert_int_equal(call(ESPM_SA_ADD, b_sa, &sa), 0);
	assert_int_equal(call(ESPM_POL_ADD, b_pol, &p), 0);
	index = d.pols->p.index;
	s = find_sa(0x2000);
	assert_non_null(s);
	/* traffic: the sequence number and counters move */
	for (int i = 0; i < 3; i++)
		assert_int_equal(esp_encap(&s->esp, pkt, sizeof(pkt), 4, out,
					   sizeof(out), &olen, 1, &evs),
				 0);
	assert_int_equal(s->esp.seq_out, 3);
	memcpy(&before, &s->esp, sizeof(before));

	assert_int_equal(call(ESPM_MIGRATE, b_mig, &r), 0);
	s = find_sa(0x2000);
	assert_non_null(s);
	assert_true(aeq(&s->k.src, &r.m[0].new_src));
	assert_true(aeq(&s->k.dst, &r.m[0].new_dst));
	/* same engine state: keys, sequence number, replay window */
	assert_memory_equal(&before, &s->esp, sizeof(before));
	assert_int_equal(d.pols->p.index, index);
	assert_true(aeq(&d.pols->p.tmpl[0].src, &r.m[0].new_src));
	/* announced once, with the request */
	assert_int_equal(next_event(&ev), 0);
	assert_int_equal(ev.type, KEV_MIGRATE);
	assert_int_equal(ev.u.migrate.n, 1);
	assert_true(aeq(&ev.u.migrate.m[0].new_src, &r.m[0].new_src));
	assert_true(sel_same(&ev.u.migrate.sel, &p.sel));
	assert_int_equal(next_event(&ev), -1);
	/* the same request again: nothing at the old endpoints any more,
	 * and the template (now at the new endpoints) no longer matches */
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &r), -ENODATA);
	assert_int_equal(next_event(&ev), -1);
}

static void test_transport_coa(void **state)
{
	/* a mobile node: selector home address <-> home agent, SA from
	 * its care-of address */
	struct ksa sa =
	    mk_sa(0x3000, "2001:db8:c1::2", "2001:db8:a0::1", KMODE_TRANSPORT);
	struct kpolicy p = mk_pol("2001:db8:b0::2", "2001:db8:a0::1", KDIR_OUT,
				  KMODE_TRANSPORT, NULL, NULL);
	struct kmigrate_req r =
	    mk_mig(&p, KMODE_TRANSPORT, "2001:db8:c1::2", "2001:db8:a0::1",
		   "2001:db8:c2::2", "2001:db8:a0::1");
	struct espd_sa *s;
	struct kevent ev;

	(void)state;
	sa.sel = p.sel;
	assert_int_equal(call(ESPM_SA_ADD, b_sa, &sa), 0);
	assert_int_equal(call(ESPM_POL_ADD, b_pol, &p), 0);
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &r), 0);
	s = find_sa(0x3000);
	assert_true(aeq(&s->k.src, &r.m[0].new_src));
	assert_true(sel_same(&s->k.sel, &p.sel)); /* still the home address */
	assert_false(d.pols->p.tmpl[0].src.af);	  /* transport: none */
	assert_int_equal(next_event(&ev), 0);
	/* a reqid that does not match leaves the SA where it is */
	r = mk_mig(&p, KMODE_TRANSPORT, "2001:db8:c2::2", "2001:db8:a0::1",
		   "2001:db8:c3::2", "2001:db8:a0::1");
	r.m[0].reqid = 6;
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &r), -ENODATA);
	assert_true(addr_is(&find_sa(0x3000)->k.src, "2001:db8:c2::2"));
}

static void test_refused(void **state)
{
	struct ksa sa =
	    mk_sa(0x4000, "198.51.100.1", "198.51.100.2", KMODE_TUNNEL);
	struct kpolicy p = mk_pol("203.0.113.1", "203.0.113.2", KDIR_OUT,
				  KMODE_TUNNEL, "198.51.100.1", "198.51.100.2");
	struct kmigrate_req r =
	    mk_mig(&p, KMODE_TUNNEL, "198.51.100.1", "198.51.100.2",
		   "198.51.100.9", "198.51.100.2");
	struct kmigrate_req bad;
	struct kevent ev;
	struct wr raw;

	(void)state;
	assert_int_equal(call(ESPM_SA_ADD, b_sa, &sa), 0);
	assert_int_equal(call(ESPM_POL_ADD, b_pol, &p), 0);
	/* no such policy: the other direction */
	bad = r;
	bad.dir = KDIR_IN;
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &bad), -ENOENT);
	/* invalid requests */
	bad = r;
	bad.n = 2;
	bad.m[1] = bad.m[0]; /* the same SA twice */
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &bad), -EINVAL);
	bad = r;
	memset(bad.m[0].new_src.u.b, 0, 16); /* 0.0.0.0 */
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &bad), -EINVAL);
	bad = r;
	bad.m[0].new_dst = A("2001:db8::1"); /* mixed families */
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &bad), -EINVAL);
	bad = r;
	bad.m[0].proto = IPPROTO_UDP;
	assert_int_equal(call(ESPM_MIGRATE, b_mig, &bad), -EINVAL);
	/* malformed bodies: truncated at every length, a pair count of 0
	 * and of KMIGRATE_MAX + 1 */
	wr_init(&raw, ESPM_MAX);
	espm_put_kmigrate(&raw, &r);
	for (size_t cut = 0; cut < raw.len; cut++) {
		struct wr part;

		wr_init(&part, ESPM_MAX);
		wr_bytes(&part, raw.buf, cut);
		assert_int_equal(call(ESPM_MIGRATE, b_raw, &part), -EBADMSG);
		wr_free(&part);
	}
	{
		/* n sits after the selector and the direction */
		struct wr sel;
		size_t at;

		wr_init(&sel, ESPM_MAX);
		espm_put_ksel(&sel, &r.sel);
		at = sel.len + 1;
		wr_free(&sel);
		raw.buf[at] = 0;
		assert_int_equal(call(ESPM_MIGRATE, b_raw, &raw), -EBADMSG);
		raw.buf[at] = KMIGRATE_MAX + 1;
		assert_int_equal(call(ESPM_MIGRATE, b_raw, &raw), -EBADMSG);
	}
	wr_free(&raw);
	/* nothing moved, nothing announced */
	assert_true(addr_is(&find_sa(0x4000)->k.src, "198.51.100.1"));
	assert_true(addr_is(&d.pols->p.tmpl[0].src, "198.51.100.1"));
	assert_int_equal(next_event(&ev), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tunnel_moves_in_place, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_transport_coa, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
