/*
 * test_net.c - iked's batched IKE socket output (src/ike/net.c, issue
 * 14): net_send() queues small datagrams and the loop's flush hook sends
 * them with sendmmsg, in order; a full queue, a datagram too large for a
 * queue slot and net_close() flush first; the NAT-T socket prefixes the
 * non-ESP marker (RFC 3948 §2.2).  Real UDP sockets on 127.0.0.1.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ike/iked.h"

struct net_t {
	struct iked d;
	int rx; /* the peer's socket */
	struct ike_ep local, peer;
};

static int udp_bound(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void sock_add(struct iked *d, bool natt)
{
	struct ike_sock *s = &d->sock[d->nsock++];

	memset(s, 0, sizeof(*s));
	s->fd = udp_bound(&s->port);
	s->espfd = -1; /* no ESP sibling (net.c k_udp_esp_sock) */
	s->af = AF_INET;
	s->natt = natt;
	s->addr.af = AF_INET;
	s->addr.u.v4.s_addr = htonl(INADDR_LOOPBACK);
}

static int setup(void **state)
{
	struct net_t *t = calloc(1, sizeof(*t));
	uint16_t port;

	assert_non_null(t);
	t->d.loop = ev_new();
	assert_non_null(t->d.loop);
	sock_add(&t->d, false);
	sock_add(&t->d, true);
	assert_int_equal(net_io_init(&t->d), 0);
	t->rx = udp_bound(&port);
	t->local.addr = t->d.sock[0].addr;
	t->peer.addr = t->local.addr;
	t->peer.port = port;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct net_t *t = *state;

	net_close(&t->d);
	ev_free(t->d.loop);
	close(t->rx);
	free(t);
	return 0;
}

/* A datagram of len octets tagged with i. */
static void pkt_make(uint8_t *p, size_t len, unsigned i)
{
	memset(p, (int)(i & 0xff), len);
	p[0] = (uint8_t)(i >> 8);
	p[1] = (uint8_t)i;
}

static int send_one(struct net_t *t, unsigned i, size_t len, bool natt)
{
	uint8_t p[4000];
	struct ike_ep l = t->local;

	l.port = t->d.sock[natt ? 1 : 0].port;
	pkt_make(p, len, i);
	return net_send(&t->d, &l, &t->peer, natt, p, len);
}

/* Read what arrived; tags[] in arrival order; returns the count. */
static int drain(struct net_t *t, unsigned *tags, size_t *lens, int max,
		 bool natt)
{
	uint8_t b[5000];
	int n = 0;

	for (;;) {
		ssize_t r = recv(t->rx, b, sizeof(b), MSG_DONTWAIT);
		size_t off = natt ? 4 : 0;

		if (r < 0) {
			assert_int_equal(errno, EAGAIN);
			return n;
		}
		assert_true(n < max);
		assert_true((size_t)r >= off + 2);
		if (natt)
			assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
		tags[n] = (unsigned)b[off] << 8 | b[off + 1];
		lens[n] = (size_t)r - off;
		n++;
	}
}

/* 100 small datagrams: 64 (a full queue) go out at the 65th send, the
 * other 36 when the loop iteration ends; all in order, intact. */
static void test_batch_order(void **state)
{
	struct net_t *t = *state;
	unsigned tags[128];
	size_t lens[128];
	int i, n;

	for (i = 0; i < 100; i++)
		assert_int_equal(
		    send_one(t, (unsigned)i, 40 + (size_t)i, false), 0);
	n = drain(t, tags, lens, 128, false);
	assert_int_equal(n, 64);
	assert_true(ev_run_once(t->d.loop, 0) >= 0);
	n += drain(t, tags + n, lens + n, 128 - n, false);
	assert_int_equal(n, 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(tags[i], (unsigned)i);
		assert_int_equal(lens[i], 40 + (size_t)i);
	}
	/* Nothing left queued: another iteration sends nothing. */
	assert_true(ev_run_once(t->d.loop, 0) >= 0);
	assert_int_equal(drain(t, tags, lens, 128, false), 0);
}

/* A datagram larger than a queue slot goes out at once, after what was
 * queued before it. */
static void test_large_keeps_order(void **state)
{
	struct net_t *t = *state;
	unsigned tags[8];
	size_t lens[8];

	assert_int_equal(send_one(t, 1, 100, false), 0);
	assert_int_equal(send_one(t, 2, 100, false), 0);
	assert_int_equal(send_one(t, 3, 3000, false), 0);
	assert_int_equal(drain(t, tags, lens, 8, false), 3);
	assert_int_equal(tags[0], 1);
	assert_int_equal(tags[1], 2);
	assert_int_equal(tags[2], 3);
	assert_int_equal(lens[2], 3000);
}

/* On the NAT-T socket each datagram carries the 4-octet zero marker,
 * queued (small) and sent at once (large) alike. */
static void test_natt_marker(void **state)
{
	struct net_t *t = *state;
	unsigned tags[8];
	size_t lens[8];

	assert_int_equal(send_one(t, 7, 60, true), 0);
	assert_int_equal(send_one(t, 8, 3000, true), 0);
	assert_int_equal(drain(t, tags, lens, 8, true), 2);
	assert_int_equal(tags[0], 7);
	assert_int_equal(lens[0], 60);
	assert_int_equal(tags[1], 8);
	assert_int_equal(lens[1], 3000);
}

/* net_close() sends what is still queued (the DELETEs of a shutdown). */
static void test_close_flushes(void **state)
{
	struct net_t *t = *state;
	unsigned tags[8];
	size_t lens[8];

	assert_int_equal(send_one(t, 5, 50, false), 0);
	assert_int_equal(send_one(t, 6, 50, false), 0);
	assert_int_equal(drain(t, tags, lens, 8, false), 0);
	net_close(&t->d);
	assert_int_equal(drain(t, tags, lens, 8, false), 2);
	assert_int_equal(tags[0], 5);
	assert_int_equal(tags[1], 6);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_batch_order),
	    T(test_large_keeps_order),
	    T(test_natt_marker),
	    T(test_close_flushes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
