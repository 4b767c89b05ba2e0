/*
 * test_esp_msg.c - unit tests of the r2espd control protocol codec
 * (esp_msg.c: every structure round-trips, every truncation and bad enum
 * is refused) and of the flow parser (espd_flow.c: IPv4/IPv6, ports,
 * ICMP type/code, extension headers, fragments, bad lengths).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"

static void addr(struct kaddr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	a->af = strchr(s, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a->af, s, a->u.b), 1);
}

static void test_ksa_roundtrip(void **state)
{
	struct ksa a, b;
	struct wr w;
	memset(&a, 0, sizeof(a));
	a.proto = IPPROTO_ESP;
	a.spi = 0xdeadbeef;
	addr(&a.src, "198.51.100.1");
	addr(&a.dst, "198.51.100.2");
	a.mode = KMODE_TUNNEL;
	a.reqid = 7;
	a.encr_id = 20;
	a.encr_keybits = 256;
	a.enc_key_len = 36;
	memset(a.enc_key, 0xab, 36);
	a.esn = true;
	a.replay_window = 4096;
	a.encap.enabled = true;
	a.encap.sport = a.encap.dport = 4500;
	a.lft.hard_bytes = 1ull << 40;
	a.lft.soft_use_sec = 99;
	wr_init(&w, ESPM_MAX);
	espm_put_ksa(&w, &a, true);
	assert_int_equal(wr_error(&w), 0);
	struct rd r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_ksa(&r, &b), 0);
	assert_true(rd_empty(&r));
	assert_memory_equal(&a, &b, sizeof(a));
	/* every truncation fails cleanly */
	for (size_t n = 0; n < w.len; n++) {
		r = rd_init(w.buf, n);
		assert_int_equal(espm_get_ksa(&r, &b), -EBADMSG);
	}
	/* key length beyond KSA_MAX_KEY is refused */
	/* enc_key_len, after encr, keybits, integ and comp ids */
	size_t off = 1 + 4 + 17 + 17 + 1 + 4 + 50 + 8;
	w.buf[off] = 0;
	w.buf[off + 1] = 200;
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_ksa(&r, &b), -EBADMSG);
	wr_free(&w);
}

static void test_kpolicy_kevent(void **state)
{
	struct kpolicy p, q;
	struct kevent e, f;
	struct wr w;
	memset(&p, 0, sizeof(p));
	p.sel.af = AF_INET6;
	addr(&p.sel.src, "2001:db8:a::");
	addr(&p.sel.dst, "2001:db8:b::");
	p.sel.src_plen = p.sel.dst_plen = 48;
	p.dir = KDIR_FWD;
	p.priority = 5;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = KMODE_TUNNEL;
	addr(&p.tmpl[0].src, "2001:db8:1::1");
	addr(&p.tmpl[0].dst, "2001:db8:1::2");
	p.owned = true;
	wr_init(&w, ESPM_MAX);
	espm_put_kpolicy(&w, &p);
	struct rd r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kpolicy(&r, &q), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	/* prefix length 129 is refused */
	w.buf[3] = 129;
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kpolicy(&r, &q), -EBADMSG);
	wr_reset(&w);

	memset(&e, 0, sizeof(e));
	e.type = KEV_ACQUIRE;
	e.u.acquire.sel = p.sel;
	e.u.acquire.src = p.tmpl[0].src;
	e.u.acquire.dst = p.tmpl[0].dst;
	e.u.acquire.pol_index = 0xa2000009;
	e.u.acquire.dir = KDIR_OUT;
	e.u.acquire.tmpl = p.tmpl[0];
	espm_put_kevent(&w, &e);
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kevent(&r, &f), 0);
	assert_memory_equal(&e, &f, sizeof(e));
	w.buf[0] = 77; /* unknown event */
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kevent(&r, &f), -EBADMSG);

	/* RESYNC carries its reason; an over-long one is refused */
	wr_reset(&w);
	memset(&e, 0, sizeof(e));
	e.type = KEV_RESYNC;
	memcpy(e.u.resync.reason, "restarted", sizeof("restarted"));
	espm_put_kevent(&w, &e);
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kevent(&r, &f), 0);
	assert_memory_equal(&e, &f, sizeof(e));
	wr_reset(&w);
	wr_u8(&w, KEV_RESYNC);
	wr_u16(&w, KEV_RESYNC_REASON_MAX);
	for (int i = 0; i < KEV_RESYNC_REASON_MAX; i++)
		wr_u8(&w, 'x');
	r = rd_init(w.buf, w.len);
	assert_int_equal(espm_get_kevent(&r, &f), -EBADMSG);
	wr_free(&w);
}

static void test_flow(void **state)
{
	struct ksel f;
	/* IPv4 TCP 1234 -> 80 */
	static const uint8_t v4[] = {
	    0x45, 0, 0,	  40, 0,    1,	  0,	0,    64, 6,  0, 0, 203, 0,
	    113,  1, 203, 0,  113,  2,	  0x04, 0xd2, 0,  80, 0, 0, 0,	 0,
	    0,	  0, 0,	  0,  0x50, 0x02, 0x20, 0,    0,  0,  0, 0,
	};
	assert_int_equal(espd_flow(v4, sizeof(v4), &f), 40);
	assert_int_equal(f.af, AF_INET);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.sport, 1234);
	assert_int_equal(f.dport, 80);
	assert_int_equal(f.src.u.b[3], 1);
	/* total length beyond the buffer, IHL < 5, truncated */
	uint8_t bad[sizeof(v4)];
	memcpy(bad, v4, sizeof(v4));
	bad[3] = 41;
	assert_true(espd_flow(bad, sizeof(bad), &f) < 0);
	memcpy(bad, v4, sizeof(v4));
	bad[0] = 0x44;
	assert_true(espd_flow(bad, sizeof(bad), &f) < 0);
	for (size_t n = 0; n < 20; n++)
		assert_true(espd_flow(v4, n, &f) < 0);
	/* non-first fragment: no ports */
	memcpy(bad, v4, sizeof(v4));
	bad[6] = 0;
	bad[7] = 10;
	assert_int_equal(espd_flow(bad, sizeof(bad), &f), 40);
	assert_int_equal(f.sport_mask, 0);
	/* IPv6, hop-by-hop header, then ICMPv6 echo request (type 128) */
	uint8_t v6[40 + 8 + 8] = {0x60, 0, 0, 0, 0, 16, 0, 64};
	inet_pton(AF_INET6, "2001:db8:a::1", v6 + 8);
	inet_pton(AF_INET6, "2001:db8:b::1", v6 + 24);
	v6[40] = 58; /* next: ICMPv6 */
	v6[41] = 0;  /* 8 bytes */
	v6[48] = 128;
	assert_int_equal(espd_flow(v6, sizeof(v6), &f), 56);
	assert_int_equal(f.af, AF_INET6);
	assert_int_equal(f.proto, 58);
	assert_int_equal(f.sport, 128);
	assert_int_equal(f.dst_plen, 128);
	v6[41] = 5; /* extension header longer than the packet */
	assert_true(espd_flow(v6, sizeof(v6), &f) < 0);
	v6[5] = 200; /* payload length beyond the buffer */
	assert_true(espd_flow(v6, sizeof(v6), &f) < 0);
}

static void test_selector_match(void **state)
{
	struct ksel s, f;
	memset(&s, 0, sizeof(s));
	s.af = AF_INET;
	addr(&s.src, "203.0.113.0");
	s.src_plen = 24;
	addr(&s.dst, "198.51.100.128");
	s.dst_plen = 25;
	s.proto = 6;
	s.dport = 443;
	s.dport_mask = 0xffff;
	memset(&f, 0, sizeof(f));
	f.af = AF_INET;
	addr(&f.src, "203.0.113.77");
	addr(&f.dst, "198.51.100.200");
	f.proto = 6;
	f.dport = 443;
	assert_true(ksel_match_flow(&s, &f));
	f.dport = 80;
	assert_false(ksel_match_flow(&s, &f));
	f.dport = 443;
	addr(&f.dst, "198.51.100.100");
	assert_false(ksel_match_flow(&s, &f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ksa_roundtrip),
	    cmocka_unit_test(test_kpolicy_kevent),
	    cmocka_unit_test(test_flow),
	    cmocka_unit_test(test_selector_match),
	};
	return cmocka_run_group_tests_name("esp_msg", tests, NULL, NULL);
}
