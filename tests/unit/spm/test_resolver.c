/*
 * test_resolver.c - cmocka tests of spmd's resolver pieces that need no
 * network: the DNS parser (answers with CNAME chains and compression,
 * the malformed forms it must refuse), host names in text and wire form,
 * the child -> spmd message decoder (every field checked), and spmd's
 * FQDN list and cache fed with child messages (resolver_child_msg):
 * only listed names are kept, a message that does not decode is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "lib/wr.h"
#include "spm/dns.h"
#include "spm/resolver.h"
#include "spm/resolver_msg.h"
#include "spm/spmd.h"

/* header, question www.example.test A IN, then the answers */
static size_t mk_answer(uint8_t *b, uint16_t ancount)
{
	static const uint8_t hq[] = {
	    0x12, 0x34, 0x81, 0x80, 0,	 1,   0,   0,	0,   0,	  0,   0,
	    3,	  'w',	'w',  'w',  7,	 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	    4,	  't',	'e',  's',  't', 0,   0,   1,	0,   1};

	memcpy(b, hq, sizeof(hq));
	b[7] = (uint8_t)ancount;
	return sizeof(hq);
}

static size_t rr(uint8_t *b, const uint8_t *name, size_t nl, uint16_t type,
		 const uint8_t *data, uint16_t dl)
{
	size_t n = 0;

	memcpy(b, name, nl);
	n += nl;
	b[n++] = (uint8_t)(type >> 8);
	b[n++] = (uint8_t)type;
	b[n++] = 0;
	b[n++] = 1; /* IN */
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 0x01;
	b[n++] = 0x2c; /* TTL 300 */
	b[n++] = (uint8_t)(dl >> 8);
	b[n++] = (uint8_t)dl;
	memcpy(b + n, data, dl);
	return n + dl;
}

static void test_cname_chain(void **state)
{
	static const uint8_t ptr_q[] = {0xc0, 12};
	/* web.<example.test at offset 16> */
	static const uint8_t web[] = {3, 'w', 'e', 'b', 0xc0, 16};
	static const uint8_t a4[] = {198, 51, 100, 7};
	uint8_t b[512];
	size_t n = mk_answer(b, 2), web_off;
	struct dns_msg m;

	(void)state;
	n += rr(b + n, ptr_q, 2, DNS_TYPE_CNAME, web, sizeof(web));
	web_off = n - sizeof(web);
	/* the A record's owner points at the CNAME's target */
	{
		uint8_t p[2] = {(uint8_t)(0xc0 | (web_off >> 8)),
				(uint8_t)web_off};

		n += rr(b + n, p, 2, DNS_TYPE_A, a4, 4);
	}
	assert_int_equal(dns_parse(b, n, true, &m), 0);
	assert_true(m.qr);
	assert_int_equal(m.naddr, 1);
	assert_int_equal(m.addr[0].af, AF_INET);
	assert_memory_equal(m.addr[0].a, a4, 4);
	assert_int_equal(m.ttl, 300);
}

static void test_malformed(void **state)
{
	static const uint8_t self[] = {0xc0, 34};
	static const uint8_t a4[] = {1, 2, 3, 4};
	uint8_t b[512];
	struct dns_msg m;
	size_t n;

	(void)state;
	/* an owner name that points at itself (RFC 1035 4.1.4 loop) */
	n = mk_answer(b, 1);
	n += rr(b + n, self, 2, DNS_TYPE_A, a4, 4);
	assert_int_equal(dns_parse(b, n, true, &m), -EBADMSG);
	/* the header alone parses as a query but not with the answer */
	assert_int_equal(dns_parse(b, n, false, &m), 0);
	/* an A record of 3 octets */
	n = mk_answer(b, 1);
	{
		static const uint8_t q[] = {0xc0, 12};

		n += rr(b + n, q, 2, DNS_TYPE_A, a4, 3);
	}
	assert_int_equal(dns_parse(b, n, true, &m), -EBADMSG);
	/* cut in the middle of the record */
	assert_int_equal(dns_parse(b, n - 5, true, &m), -EBADMSG);
	/* a pointer in the question */
	n = mk_answer(b, 0);
	b[12] = 0xc0;
	b[13] = 12;
	assert_int_equal(dns_parse(b, 18, false, &m), -EBADMSG);
	/* two questions */
	n = mk_answer(b, 0);
	b[5] = 2;
	assert_int_equal(dns_parse(b, n, false, &m), -EBADMSG);
}

static void test_names(void **state)
{
	uint8_t w[DNS_WIRE_MAX];
	char t[DNS_TEXT_MAX];
	char long_label[80];
	int n;

	(void)state;
	n = dns_name_from_text("Host.Example.TEST.", w, sizeof(w));
	assert_int_equal(n, 19);
	assert_true(dns_wire_valid(w, (size_t)n));
	assert_int_equal(dns_name_to_text(w, (size_t)n, t, sizeof(t)), 0);
	assert_string_equal(t, "host.example.test");
	assert_int_equal(dns_name_from_text("a..b", w, sizeof(w)), -EINVAL);
	assert_int_equal(dns_name_from_text("", w, sizeof(w)), -EINVAL);
	assert_int_equal(dns_name_from_text("a b", w, sizeof(w)), -EINVAL);
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_int_equal(dns_name_from_text(long_label, w, sizeof(w)), -EINVAL);
	/* uppercase or a space in wire form is not valid for spmd */
	{
		static const uint8_t up[] = {1, 'A', 0};
		static const uint8_t sp[] = {3, 'a', ' ', 'b', 0};

		assert_false(dns_wire_valid(up, sizeof(up)));
		assert_false(dns_wire_valid(sp, sizeof(sp)));
	}
}

static size_t enc_result(uint8_t *out, const struct res_result *x)
{
	struct wr w;
	size_t n;

	wr_init(&w, RES_MSG_CAP);
	assert_int_equal(res_enc_result(&w, x), 0);
	n = w.len;
	memcpy(out, w.buf, n);
	wr_free(&w);
	return n;
}

static struct res_result result(const char *name, uint16_t qtype,
				const uint8_t *a, size_t alen)
{
	struct res_result x;
	int n;

	memset(&x, 0, sizeof(x));
	x.qtype = qtype;
	x.ttl = 60;
	n = dns_name_from_text(name, x.name, sizeof(x.name));
	assert_true(n > 0);
	x.name_len = (size_t)n;
	if (a) {
		x.naddr = 1;
		x.addr[0].af = alen == 4 ? AF_INET : AF_INET6;
		memcpy(x.addr[0].a, a, alen);
	}
	return x;
}

static void test_msg_decode(void **state)
{
	static const uint8_t a4[] = {198, 51, 100, 11};
	struct res_result x = result("h.test", DNS_TYPE_A, a4, 4), y;
	uint8_t b[RES_MSG_CAP];
	size_t n;

	(void)state;
	n = enc_result(b, &x);
	assert_int_equal(res_dec_result(b, n, &y), 0);
	assert_int_equal(y.naddr, 1);
	/* trailing octet, short message */
	b[n] = 0;
	assert_int_equal(res_dec_result(b, n + 1, &y), -EBADMSG);
	assert_int_equal(res_dec_result(b, n - 1, &y), -EBADMSG);
	/* an A result carrying an IPv6 family */
	x.addr[0].af = AF_INET6;
	n = enc_result(b, &x);
	assert_int_equal(res_dec_result(b, n, &y), -EBADMSG);
	/* a failure with addresses */
	x.addr[0].af = AF_INET;
	x.status = RES_ST_FAIL;
	n = enc_result(b, &x);
	assert_int_equal(res_dec_result(b, n, &y), -EBADMSG);
	/* junk after an IPv4 address */
	x.status = RES_ST_OK;
	x.addr[0].a[9] = 1;
	n = enc_result(b, &x);
	assert_int_equal(res_dec_result(b, n, &y), -EBADMSG);
}

static void test_cache(void **state)
{
	static const uint8_t a4[] = {198, 51, 100, 11};
	static const uint8_t b4[] = {198, 51, 100, 12};
	struct spmd d;
	struct resolver *r;
	struct res_result x;
	struct kaddr k;
	uint8_t b[RES_MSG_CAP];
	size_t n;
	int err;

	(void)state;
	memset(&d, 0, sizeof(d));
	r = resolver_new(&d, NULL, -1, &err);
	assert_non_null(r);
	d.resolver = r;
	assert_int_equal(resolver_fqdn_add(r, "Host.Example.TEST."), 0);
	assert_int_equal(resolver_fqdn_add(r, "host.example.test"), -EEXIST);
	assert_int_equal(resolver_fqdn_add(r, "bad name"), -EINVAL);
	assert_int_equal(resolver_fqdn_count(r), 1);
	assert_string_equal(resolver_fqdn_name(r, 0), "host.example.test");

	/* a relayed answer for the listed name fills the cache */
	x = result("host.example.test", DNS_TYPE_A, a4, 4);
	n = enc_result(b, &x);
	assert_int_equal(resolver_child_msg(r, b, n), 0);
	memset(&k, 0, sizeof(k));
	k.af = AF_INET;
	memcpy(k.u.b, a4, 4);
	assert_non_null(resolver_fqdn_query(r, &k));
	assert_string_equal(resolver_fqdn_query(r, &k), "host.example.test");
	/* one for a name not listed is not kept */
	x = result("other.example.test", DNS_TYPE_A, b4, 4);
	n = enc_result(b, &x);
	assert_int_equal(resolver_child_msg(r, b, n), 0);
	memcpy(k.u.b, b4, 4);
	assert_null(resolver_fqdn_query(r, &k));
	/* a result for a token nobody asked for is ignored */
	x = result("host.example.test", DNS_TYPE_A, b4, 4);
	x.token = 99;
	n = enc_result(b, &x);
	assert_int_equal(resolver_child_msg(r, b, n), 0);
	assert_null(resolver_fqdn_query(r, &k));
	/* a message that does not decode is refused */
	b[0] = 'X';
	assert_int_equal(resolver_child_msg(r, b, n), -EBADMSG);
	/* NXDOMAIN empties the set */
	x = result("host.example.test", DNS_TYPE_A, NULL, 0);
	x.status = RES_ST_NONAME;
	n = enc_result(b, &x);
	assert_int_equal(resolver_child_msg(r, b, n), 0);
	memcpy(k.u.b, a4, 4);
	assert_null(resolver_fqdn_query(r, &k));
	assert_int_equal(resolver_fqdn_del(r, "HOST.example.test."), 0);
	assert_int_equal(resolver_fqdn_del(r, "host.example.test"), -ENOENT);
	assert_int_equal(resolver_fqdn_count(r), 0);
	resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cname_chain),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_msg_decode),
	    cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
