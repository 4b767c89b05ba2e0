/*
 * test_kink_migrate.c - kinkd follows spmd's 602 MIGRATE
 * (src/kink/kink_migrate.c): the SA pairs between the old endpoints
 * (either orientation) with the event's reqid move to the new ones,
 * their peer's address follows (port kept), SPIs and everything else
 * kept; other pairs, other reqids and a repeated event change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "kink/kink_migrate.h"
#include "kink/kinkd.h"
#include "spm/spmif_client.h"

static struct kaddr AD(const char *s) {
	struct kaddr a;

	assert_int_equal(kaddr_parse(s, &a), 0);
	return a;
}

static void
peer_set(struct kpeer *p, const char *addr, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	memset(&p->addr, 0, sizeof(p->addr));
	memcpy(&p->addr, &s, sizeof(s));
	p->alen = sizeof(s);
}

static void peer_is(const struct kpeer *p, const char *addr, uint16_t port)
{
	struct sockaddr_in s;
	char b[INET_ADDRSTRLEN];

	memcpy(&s, &p->addr, sizeof(s));
	assert_int_equal(s.sin_family, AF_INET);
	assert_int_equal(ntohs(s.sin_port), port);
	assert_string_equal(inet_ntop(AF_INET, &s.sin_addr, b, sizeof(b)),
			    addr);
}

static struct spmif_migrate_ev ev(const char *os, const char *od,
				  const char *ns, const char *nd,
				  uint32_t reqid)
{
	struct spmif_migrate_ev m;

	memset(&m, 0, sizeof(m));
	strcpy(m.selector, "sel");
	m.reqid = reqid;
	m.dir = KDIR_OUT;
	m.mode = KMODE_TRANSPORT;
	m.old_src = AD(os);
	m.old_dst = AD(od);
	m.new_src = AD(ns);
	m.new_dst = AD(nd);
	return m;
}

static void test_migrate(void **st)
{
	struct kinkd d;
	struct kpeer p1, p2;
	struct kchild c1, c2, c3;
	struct spmif_migrate_ev m;

	(void)st;
	memset(&d, 0, sizeof(d));
	memset(&p1, 0, sizeof(p1));
	memset(&p2, 0, sizeof(p2));
	peer_set(&p1, "198.51.100.2", 910);
	peer_set(&p2, "198.51.100.9", 910);
	memset(&c1, 0, sizeof(c1));
	c1.peer = &p1;
	c1.local = AD("198.51.100.1");
	c1.remote = AD("198.51.100.2");
	c1.reqid = 5;
	c1.sa[0].spi_in = 0x1111;
	c1.sa[0].spi_out = 0x2222;
	c2 = c1; /* a second pair with the same peer and reqid */
	c2.sa[0].spi_in = 0x3333;
	c2.sa[0].spi_out = 0x4444;
	memset(&c3, 0, sizeof(c3));
	c3.peer = &p2;
	c3.local = AD("198.51.100.1");
	c3.remote = AD("198.51.100.9");
	c3.reqid = 6;
	d.children = &c1;
	c1.next = &c2;
	c2.next = &c3;
	d.peers = &p1;
	p1.next = &p2;

	/* another reqid: nothing */
	m = ev("198.51.100.1", "198.51.100.2", "198.51.100.11", "198.51.100.2",
	       7);
	assert_int_equal(kink_migrate(&d, &m), 0);
	assert_true(kaddr_eq(&c1.local, &m.old_src));
	/* the inbound direction's event (old_src = the peer): both pairs
	 * of reqid 5 move, the peer follows, its port kept */
	m = ev("198.51.100.2", "198.51.100.1", "198.51.100.12", "198.51.100.11",
	       5);
	assert_int_equal(kink_migrate(&d, &m), 2);
	assert_true(kaddr_eq(&c1.local, &m.new_dst));
	assert_true(kaddr_eq(&c1.remote, &m.new_src));
	assert_true(kaddr_eq(&c2.local, &m.new_dst));
	assert_true(kaddr_eq(&c2.remote, &m.new_src));
	assert_int_equal(c1.sa[0].spi_in, 0x1111);
	assert_int_equal(c2.sa[0].spi_out, 0x4444);
	peer_is(&p1, "198.51.100.12", 910);
	/* untouched: another peer's pair */
	assert_true(kaddr_eq(&c3.local, &m.old_dst));
	peer_is(&p2, "198.51.100.9", 910);
	/* the outbound direction's event for the same move: nothing left
	 * at the old endpoints */
	m = ev("198.51.100.1", "198.51.100.2", "198.51.100.11", "198.51.100.12",
	       5);
	assert_int_equal(kink_migrate(&d, &m), 0);
	/* reqid 0: any pair at those endpoints */
	m = ev("198.51.100.1", "198.51.100.9", "198.51.100.1", "198.51.100.19",
	       0);
	assert_int_equal(kink_migrate(&d, &m), 1);
	peer_is(&p2, "198.51.100.19", 910);
	assert_true(kaddr_eq(&c3.remote, &m.new_dst));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
