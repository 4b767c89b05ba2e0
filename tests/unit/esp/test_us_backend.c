/*
 * test_us_backend.c - unit tests of the "userspace" kernel backend
 * (src/kernel/userspace/us_backend.c) against a scripted stand-in for
 * r2espd (a child process on a temporary UNIX socket) that drops the
 * connection the way a restarting r2espd does:
 *   - a request that could not be delivered is sent again on a new
 *     connection and succeeds;
 *   - a request that was delivered but not answered fails with
 *     -ECONNRESET and is NOT sent again;
 *   - the event descriptor stays the same across a lost event connection;
 *     event_read reports the loss once, reconnects by itself (timer), and
 *     events from the new connection are delivered;
 *   - with an r2espd that answers HELLO with its instance id, each
 *     reconnect gives exactly one KEV_RESYNC: "restarted" for a new
 *     instance, "connection was lost" for the same one; the initial
 *     connection gives none.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/kernel.h"
#include "kernel/userspace/esp_msg.h"

extern const struct kernel_ops kernel_userspace_ops;

static char path[108];
static int lfd = -1;

/* ---- the stand-in server (child process) ---- */

static int srv_accept(void)
{
	return accept(lfd, NULL, NULL);
}

/* receive one message; returns its header type (or -1) */
static int srv_recv(int fd, struct espm_hdr *h)
{
	uint8_t buf[ESPM_MAX];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	struct rd r;

	if (n <= 0)
		return -1;
	r = rd_init(buf, (size_t)n);
	if (espm_get_hdr(&r, h) < 0)
		return -1;
	return h->type;
}

static void srv_send(int fd, uint16_t type, uint32_t seq,
		     const struct kevent *ev)
{
	struct espm_hdr h = {.type = type, .seq = seq};
	struct wr w;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (ev)
		espm_put_kevent(&w, ev);
	if (send(fd, w.buf, w.len, MSG_NOSIGNAL) < 0)
		_exit(10);
	wr_free(&w);
}

/* HELLO reply as r2espd sends it: version, instance id. */
static void srv_hello_reply(int fd, uint32_t seq, uint64_t instance)
{
	struct espm_hdr h = {.type = ESPM_REPLY, .seq = seq};
	struct wr w;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	wr_u32(&w, ESPM_VERSION);
	wr_u64(&w, instance);
	if (send(fd, w.buf, w.len, MSG_NOSIGNAL) < 0)
		_exit(10);
	wr_free(&w);
}

/* Script for one test; the child exits with the number of requests it
 * saw on the dropped connection (for test 2) or 0. */
static pid_t server(int script, int sync_w)
{
	pid_t pid = fork();
	struct espm_hdr h;
	int c1, c2, c3, c4;

	if (pid != 0)
		return pid;
	switch (script) {
	case 1: /* restart before the request */
		c1 = srv_accept();
		close(c1);
		if (write(sync_w, "x", 1) != 1)
			_exit(11);
		c2 = srv_accept();
		if (srv_recv(c2, &h) != ESPM_FLUSH_OWN)
			_exit(12);
		srv_send(c2, ESPM_REPLY, h.seq, NULL);
		srv_recv(c2, &h); /* until the client closes */
		_exit(0);
	case 2: { /* dies after reading the request */
		int n = 0;
		c1 = srv_accept();
		if (srv_recv(c1, &h) == ESPM_FLUSH_OWN)
			n++;
		close(c1);
		/* a resend would come on a new connection: count it */
		c2 = srv_accept();
		while (srv_recv(c2, &h) > 0) {
			if (h.type == ESPM_FLUSH_OWN && n++ >= 1)
				srv_send(c2, ESPM_REPLY, h.seq, NULL);
			else if (h.type == ESPM_POL_DUMP)
				srv_send(c2, ESPM_REPLY, h.seq, NULL);
		}
		_exit(n);
	}
	case 3: { /* event connection dropped, then events on the new one */
		struct kevent ev = {.type = KEV_EXPIRE};
		ev.u.expire.proto = IPPROTO_ESP;
		ev.u.expire.spi = 0x4242;
		ev.u.expire.dst.af = AF_INET;
		c1 = srv_accept(); /* requests */
		c2 = srv_accept(); /* events */
		if (srv_recv(c2, &h) != ESPM_HELLO)
			_exit(13);
		close(c2); /* "restart" */
		c3 = srv_accept();
		if (srv_recv(c3, &h) != ESPM_HELLO)
			_exit(14);
		srv_send(c3, ESPM_EVENT, 0, &ev);
		c4 = srv_recv(c3, &h); /* until the client closes */
		(void)c4;
		(void)c1;
		_exit(0);
	}
	case 4: { /* instance ids: A, A again (drop only), B (restart) */
		struct kevent ev = {.type = KEV_EXPIRE};
		ev.u.expire.proto = IPPROTO_ESP;
		ev.u.expire.spi = 0x4343;
		ev.u.expire.dst.af = AF_INET;
		c1 = srv_accept(); /* requests */
		c2 = srv_accept(); /* events */
		if (srv_recv(c2, &h) != ESPM_HELLO)
			_exit(13);
		srv_hello_reply(c2, h.seq, 0xaaaa);
		usleep(300000);
		close(c2); /* connection lost */
		c3 = srv_accept();
		if (srv_recv(c3, &h) != ESPM_HELLO)
			_exit(14);
		srv_hello_reply(c3, h.seq, 0xaaaa);
		usleep(300000);
		close(c3); /* "restart" */
		c3 = srv_accept();
		if (srv_recv(c3, &h) != ESPM_HELLO)
			_exit(15);
		srv_hello_reply(c3, h.seq, 0xbbbb);
		srv_send(c3, ESPM_EVENT, 0, &ev);
		srv_recv(c3, &h); /* until the client closes */
		(void)c1;
		_exit(0);
	}
	case 5: { /* a batch: every request read before any is answered */
		struct espm_hdr q[3];
		struct wr w;
		c1 = srv_accept();
		for (int i = 0; i < 3; i++)
			if (srv_recv(c1, &q[i]) < 0)
				_exit(16);
		if (q[0].type != ESPM_POL_ADD || q[1].type != ESPM_GETSPI ||
		    q[2].type != ESPM_SA_DEL)
			_exit(17);
		for (int i = 0; i < 3; i++) {
			struct espm_hdr h2 = {.type = ESPM_REPLY,
					      .seq = q[i].seq};
			wr_init(&w, ESPM_MAX);
			if (i == 2)
				h2.status = -ENOENT;
			espm_put_hdr(&w, &h2);
			if (i == 0)
				wr_u32(&w, 0xa2000011);
			else if (i == 1)
				wr_u32(&w, 0x12345678);
			else
				espm_put_str(&w, "no such SA");
			if (send(c1, w.buf, w.len, MSG_NOSIGNAL) < 0)
				_exit(10);
			wr_free(&w);
		}
		srv_recv(c1, &h); /* until the client closes */
		_exit(0);
	}
	}
	_exit(99);
}

static int setup(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	(void)state;

	snprintf(path, sizeof(path), "/tmp/r2p-usb-%d.sock", (int)getpid());
	unlink(path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(lfd, 8) < 0)
		return -1;
	setenv(ESPM_SOCKET_ENV, path, 1);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(lfd);
	unlink(path);
	return 0;
}

static int child_status(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_resend_undelivered(void **state)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	int sync[2];
	char x;
	pid_t pid;
	(void)state;

	assert_int_equal(pipe(sync), 0);
	pid = server(1, sync[1]);
	assert_int_equal(k.ops->open(&k, 0), 0);
	assert_int_equal(read(sync[0], &x, 1), 1); /* server dropped us */
	usleep(50000);
	assert_int_equal(k.ops->flush_own(&k), 0);
	k.ops->close(&k);
	assert_int_equal(child_status(pid), 0);
	close(sync[0]);
	close(sync[1]);
}

/* k_batch straight to r2espd (no privsep parent): the requests are all
 * written before the first reply is read (the server reads all three
 * first), and each gets its own answer, matched by seq. */
static void test_batch_pipelined(void **state)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	struct kpolicy pol;
	struct kop ops[3];
	pid_t pid = server(5, -1);
	(void)state;

	memset(ops, 0, sizeof(ops));
	memset(&pol, 0, sizeof(pol));
	pol.sel.af = AF_INET;
	pol.dir = KDIR_OUT;
	ops[0].type = KOP_POL_ADD;
	ops[0].u.pol = &pol;
	ops[1].type = KOP_GETSPI;
	ops[1].u.getspi.proto = IPPROTO_ESP;
	ops[1].u.getspi.dst.af = AF_INET;
	ops[2].type = KOP_SA_DEL;
	ops[2].u.sa_del.proto = IPPROTO_ESP;
	ops[2].u.sa_del.dst.af = AF_INET;
	ops[2].u.sa_del.spi = 0x4444;
	for (int i = 0; i < 3; i++)
		ops[i].rc = KOP_TODO;
	assert_int_equal(k.ops->open(&k, 0), 0);
	k.ops->batch(&k, ops, 3);
	assert_int_equal(ops[0].rc, 0);
	assert_int_equal(pol.index, 0xa2000011);
	assert_int_equal(ops[1].rc, 0);
	assert_int_equal(ops[1].u.getspi.spi, 0x12345678);
	assert_int_equal(ops[2].rc, -ENOENT);
	assert_non_null(strstr(k.last_error, "op 2 (sa_del): no such SA"));
	k.ops->close(&k);
	assert_int_equal(child_status(pid), 0);
}

static void test_no_replay_after_delivery(void **state)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	pid_t pid = server(2, -1);
	(void)state;

	assert_int_equal(k.ops->open(&k, 0), 0);
	assert_int_equal(k.ops->flush_own(&k), -ECONNRESET);
	assert_non_null(strstr(k.last_error, "may or may not"));
	/* the next request works on a fresh connection */
	assert_int_equal(k.ops->pol_dump(&k, NULL, NULL), 0);
	k.ops->close(&k);
	/* exactly one FLUSH_OWN reached the server */
	assert_int_equal(child_status(pid), 1);
}

static int got_spi;
static void on_event(const struct kevent *ev, void *arg)
{
	(void)arg;
	if (ev->type == KEV_EXPIRE)
		got_spi = (int)ev->u.expire.spi;
}

static void test_event_reconnect(void **state)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	pid_t pid = server(3, -1);
	int efd, lost = 0;
	time_t end;
	(void)state;

	assert_int_equal(k.ops->open(&k, K_OPEN_EVENTS), 0);
	efd = k.ops->event_fd(&k);
	assert_true(efd >= 0);
	end = time(NULL) + 5;
	got_spi = 0;
	while (!got_spi && time(NULL) < end) {
		struct pollfd p = {.fd = efd, .events = POLLIN};
		int rc;
		if (poll(&p, 1, 200) <= 0)
			continue;
		rc = k.ops->event_read(&k, on_event, NULL);
		if (rc == -ECONNRESET)
			lost++;
		else
			assert_true(rc >= 0);
		/* the descriptor the daemon registered never changes */
		assert_int_equal(k.ops->event_fd(&k), efd);
	}
	assert_int_equal(lost, 1);
	assert_int_equal(got_spi, 0x4242);
	k.ops->close(&k);
	assert_int_equal(child_status(pid), 0);
}

static int resyncs, resync_lost, resync_restart, got_after;
static void on_event4(const struct kevent *ev, void *arg)
{
	(void)arg;
	if (ev->type == KEV_RESYNC) {
		resyncs++;
		/* NUL-terminated within the field */
		assert_true(memchr(ev->u.resync.reason, 0,
				   sizeof(ev->u.resync.reason)) != NULL);
		if (strstr(ev->u.resync.reason, "restarted"))
			resync_restart++;
		else if (strstr(ev->u.resync.reason, "lost"))
			resync_lost++;
	} else if (ev->type == KEV_EXPIRE && ev->u.expire.spi == 0x4343) {
		/* the RESYNC comes before the new instance's events */
		got_after = resync_restart;
	}
}

static void test_resync_on_reconnect(void **state)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	pid_t pid = server(4, -1);
	int efd, lost = 0;
	time_t end;
	(void)state;

	resyncs = resync_lost = resync_restart = 0;
	got_after = -1;
	assert_int_equal(k.ops->open(&k, K_OPEN_EVENTS), 0);
	efd = k.ops->event_fd(&k);
	end = time(NULL) + 8;
	while (got_after < 0 && time(NULL) < end) {
		struct pollfd p = {.fd = efd, .events = POLLIN};
		int rc;
		if (poll(&p, 1, 200) <= 0)
			continue;
		rc = k.ops->event_read(&k, on_event4, NULL);
		if (rc == -ECONNRESET)
			lost++;
		else
			assert_true(rc >= 0);
	}
	assert_int_equal(lost, 2);
	assert_int_equal(resyncs, 2);
	assert_int_equal(resync_lost, 1);
	assert_int_equal(resync_restart, 1);
	assert_int_equal(got_after, 1);
	k.ops->close(&k);
	assert_int_equal(child_status(pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resend_undelivered),
	    cmocka_unit_test(test_batch_pipelined),
	    cmocka_unit_test(test_no_replay_after_delivery),
	    cmocka_unit_test(test_event_reconnect),
	    cmocka_unit_test(test_resync_on_reconnect),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
