/*
 * test_outq.c - the control servers' output queue (src/lib/outq.h) and
 * its use by the one request/answer server (src/lib/ctlsrv.h): partial
 * writes are simulated with socketpairs whose buffers are small
 * (SO_SNDBUF / SO_RCVBUF), so that most of an answer waits in the queue.
 * Checked: a stream answer arrives whole and in order however the
 * socket cuts it; 20,000 datagrams (a dump) arrive whole, each once, in
 * order; the memory limit refuses (and queues nothing) rather than
 * dropping; outq_put queues without writing; a broken peer is an error, never a
 * silent success; a large buffer is given back once emptied; ctlsrv delivers a
 * 900 KiB answer to a slow reader and serves a third client while a second
 * never reads.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ctlsrv.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/outq.h"

static void small_bufs(int a, int b)
{
	int sz = 4096;

	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)),
			 0);
	assert_int_equal(setsockopt(b, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)),
			 0);
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 8));
}

static void test_stream_whole(void **state)
{
	enum { TOTAL = 1 << 20, CHUNK = 1000 };
	struct outq q;
	int sv[2];
	uint8_t *src = malloc(TOTAL), *dst = malloc(TOTAL), buf[1500];
	size_t put = 0, got = 0;
	int queued = 0;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = pat(i);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	small_bufs(sv[0], sv[1]);
	outq_init(&q, true);
	/* the writer produces everything before the reader reads anything */
	while (put < TOTAL) {
		size_t n = TOTAL - put < CHUNK ? TOTAL - put : CHUNK;

		assert_int_equal(outq_send(&q, sv[0], src + put, n, SIZE_MAX),
				 0);
		put += n;
		queued += outq_pending(&q) != 0;
	}
	assert_true(queued > 0);
	assert_true(outq_pending(&q) > TOTAL / 2); /* most of it waits */
	/* the reader reads in small bites; the writer flushes as it can */
	while (got < TOTAL) {
		ssize_t r = recv(sv[1], buf, 700, MSG_DONTWAIT);
		int rc;

		if (r > 0) {
			assert_true(got + (size_t)r <= TOTAL);
			memcpy(dst + got, buf, (size_t)r);
			got += (size_t)r;
		}
		rc = outq_flush(&q, sv[0]);
		assert_true(rc >= 0);
	}
	assert_int_equal(outq_flush(&q, sv[0]), 1);
	assert_int_equal(outq_pending(&q), 0);
	assert_memory_equal(src, dst, TOTAL);
	/* a large emptied buffer is given back */
	assert_null(q.buf);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
	free(src);
	free(dst);
}

static void test_dgram_dump(void **state)
{
	enum { N = 20000 };
	struct outq q;
	int sv[2];
	uint8_t msg[400], buf[600];
	unsigned next = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	small_bufs(sv[0], sv[1]);
	outq_init(&q, false);
	for (unsigned i = 0; i < N; i++) {
		size_t len = 8 + i % 300;

		memset(msg, (int)(i & 0xff), len);
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(outq_send(&q, sv[0], msg, len, SIZE_MAX), 0);
	}
	assert_true(outq_pending(&q) > 0);
	while (next < N) {
		ssize_t r = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		unsigned idx;

		if (r > 0) {
			/* every message whole, once, in order */
			assert_int_equal((size_t)r, 8 + next % 300);
			memcpy(&idx, buf, sizeof(idx));
			assert_int_equal(idx, next);
			assert_int_equal(buf[r - 1], next & 0xff);
			next++;
		}
		assert_true(outq_flush(&q, sv[0]) >= 0);
	}
	assert_int_equal(outq_flush(&q, sv[0]), 1);
	assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
}

static void test_limit_and_broken(void **state)
{
	struct outq q;
	int sv[2], rc;
	uint8_t msg[1000];
	size_t before;

	(void)state;
	memset(msg, 0x5a, sizeof(msg));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	small_bufs(sv[0], sv[1]);
	memset(&q, 0, sizeof(q)); /* zeroed: an empty datagram queue */
	/* the peer never reads: the queue grows to the limit, then refuses
	 * without queueing anything of the refused message */
	for (;;) {
		before = outq_pending(&q);
		rc = outq_send(&q, sv[0], msg, sizeof(msg), 20000);
		if (rc < 0)
			break;
	}
	assert_int_equal(rc, -ENOBUFS);
	assert_int_equal(outq_pending(&q), before);
	assert_true(before <= 20000 && before > 20000 - 2 * sizeof(msg));
	/* the peer goes away: an error, not a success */
	close(sv[1]);
	rc = outq_flush(&q, sv[0]);
	assert_true(rc == -EPIPE || rc == -ECONNRESET);
	outq_free(&q);
	assert_int_equal(outq_pending(&q), 0);
	rc = outq_send(&q, sv[0], msg, sizeof(msg), SIZE_MAX);
	assert_true(rc == -EPIPE || rc == -ECONNRESET);
	close(sv[0]);
}

static void test_put_then_flush(void **state)
{
	struct outq q;
	int sv[2];
	char buf[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	outq_init(&q, true);
	/* outq_put only queues: nothing reaches the socket before a flush */
	assert_int_equal(outq_put(&q, "250-a", 5, SIZE_MAX), 0);
	assert_int_equal(outq_put(&q, "\n", 1, SIZE_MAX), 0);
	assert_int_equal(outq_put(&q, "250 ok\n", 7, 13), 0);
	assert_int_equal(outq_put(&q, "x", 1, 13), -ENOBUFS);
	assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(outq_flush(&q, sv[0]), 1);
	assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 13);
	assert_memory_equal(buf, "250-a\n250 ok\n", 13);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
}

/* ---- ctlsrv: a large answer, a client that never reads ---------------- */

#define BIG (900u << 10)

static void big_answer(void *arg, const uint8_t *req, size_t len,
		       struct wr *out)
{
	(void)arg;
	(void)req;
	(void)len;
	for (size_t i = 0; i < BIG; i++)
		wr_u8(out, pat(i));
}

static int client(const char *path, bool small)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int sz = 4096;

	assert_true(fd >= 0);
	if (small)
		assert_int_equal(
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "dump\n", 5), 5);
	return fd;
}

/* Read fd's whole answer, running the server's loop meanwhile. */
static size_t read_all(struct ev_loop *loop, int fd, uint8_t *dst, size_t max,
		       size_t bite)
{
	size_t got = 0;

	for (int spins = 0; spins < 200000; spins++) {
		ssize_t r;

		(void)ev_run_once(loop, 1);
		r = read(fd, dst + got, max - got < bite ? max - got : bite);
		if (r == 0)
			return got;
		if (r > 0)
			got += (size_t)r;
		else
			assert_int_equal(errno, EAGAIN);
	}
	fail_msg("no EOF after %zu octets", got);
	return got;
}

static void test_ctlsrv_slow_and_stalled(void **state)
{
	char dir[] = "/tmp/test-outq-XXXXXX", path[64];
	struct ev_loop *loop = ev_new();
	struct ctlsrv s;
	uint8_t *dst = malloc(BIG + 1);
	char why[256];
	int stalled, slow, other;

	(void)state;
	assert_non_null(loop);
	assert_non_null(dst);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	assert_int_equal(ctlsrv_open(&s, loop,
				     &(struct ctlsrv_opts){
					 .sock = {.path = path,
						  .daemon = "test",
						  .type = SOCK_STREAM},
					 .req_max = 64,
					 .out_max = BIG + 1,
					 .timeout_ms = 5000,
					 .handle = big_answer,
				     },
				     why, sizeof(why)),
			 0);
	/* a client that asks and never reads: most of its answer waits */
	stalled = client(path, true);
	for (int i = 0; i < 50; i++)
		(void)ev_run_once(loop, 1);
	/* a slow reader (small bites) gets every octet, in order */
	slow = client(path, true);
	assert_int_equal(read_all(loop, slow, dst, BIG + 1, 512), BIG);
	for (size_t i = 0; i < BIG; i++)
		if (dst[i] != pat(i))
			fail_msg("octet %zu differs", i);
	/* and another client is answered while the stalled one waits */
	other = client(path, false);
	assert_int_equal(read_all(loop, other, dst, BIG + 1, 65536), BIG);
	assert_int_equal(s.nconns, 1); /* the stalled one, still held */
	close(stalled);
	close(slow);
	close(other);
	ctlsrv_close(&s);
	ev_free(loop);
	rmdir(dir);
	free(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_whole),
	    cmocka_unit_test(test_dgram_dump),
	    cmocka_unit_test(test_limit_and_broken),
	    cmocka_unit_test(test_put_then_flush),
	    cmocka_unit_test(test_ctlsrv_slow_and_stalled),
	};

	log_init("test", LOG_TO_STDERR, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
