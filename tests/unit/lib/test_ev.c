/*
 * test_ev.c - the event loop (src/lib/ev.h): timer order (also for equal
 * deadlines), stop/restart/free inside callbacks, 1000 random timers,
 * descriptor readiness with pipes (including deletion during a batch),
 * signal delivery through signalfd, ev_stop, the flush hook (run
 * after the callbacks and timers of each iteration), and coarse (wheel)
 * timers on the real clock.
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

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ev.h"

#define NREC 2048

static int rec[NREC];
static int nrec;

struct tmr {
	struct ev_timer t;
	int id;
	int restarts; /* how many more times to restart */
	uint64_t restart_ms;
	struct tmr *victim; /* timer to stop from the callback */
	bool stop_loop;
	bool free_self;
	uint64_t fired_at;
	uint64_t seq; /* start order, for the random test */
};

static void record(int id)
{
	if (nrec < NREC)
		rec[nrec] = id;
	nrec++;
}

static void tmr_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct tmr *m = arg;

	assert_ptr_equal(&m->t, t);
	assert_false(ev_timer_active(t)); /* unlinked before the call */
	m->fired_at = ev_now_ms();
	assert_true(m->fired_at >= t->when_ms);
	record(m->id);
	if (m->victim) {
		ev_timer_stop(loop, &m->victim->t);
		assert_false(ev_timer_active(&m->victim->t));
	}
	ev_timer_stop(loop, t); /* stopping an idle timer is harmless */
	if (m->restarts > 0) {
		m->restarts--;
		assert_int_equal(ev_timer_start(loop, t, m->restart_ms), 0);
		assert_true(ev_timer_active(t));
	}
	if (m->stop_loop)
		ev_stop(loop);
	if (m->free_self)
		free(m);
}

static void tmr_init(struct tmr *m, int id)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	ev_timer_init(&m->t, tmr_cb, m);
}

static int setup(void **state)
{
	struct ev_loop *loop = ev_new();

	if (!loop)
		return -1;
	nrec = 0;
	*state = loop;
	return 0;
}

static int teardown(void **state)
{
	ev_free(*state);
	return 0;
}

/* Run until `want` records or a 5 s safety limit. */
static void run_until(struct ev_loop *loop, int want)
{
	uint64_t deadline = ev_now_ms() + 5000;

	while (nrec < want && ev_now_ms() < deadline)
		assert_true(ev_run_once(loop, 100) >= 0);
}

static void test_timer_basics(void **state)
{
	struct ev_loop *loop = *state;
	struct ev_timer t;
	struct tmr a;

	ev_timer_init(&t, NULL, NULL);
	assert_false(ev_timer_active(&t));
	assert_true(t.heap_idx == SIZE_MAX);
	assert_int_equal(ev_timer_start(loop, &t, 1), -EINVAL);
	ev_timer_stop(loop, &t); /* not running: harmless */
	tmr_init(&a, 1);
	assert_int_equal(ev_timer_start(loop, &a.t, 10), 0);
	assert_true(ev_timer_active(&a.t));
	ev_timer_stop(loop, &a.t);
	ev_timer_stop(loop, &a.t);
	assert_false(ev_timer_active(&a.t));
	/* Nothing pending: run_once honours its max wait. */
	{
		uint64_t t0 = ev_now_ms();
		assert_int_equal(ev_run_once(loop, 30), 0);
		assert_true(ev_now_ms() - t0 >= 29);
	}
	assert_int_equal(nrec, 0);
	/* Huge delays saturate instead of wrapping into the past. */
	assert_int_equal(ev_timer_start(loop, &a.t, UINT64_MAX), 0);
	assert_true(a.t.when_ms == UINT64_MAX);
	assert_int_equal(ev_run_once(loop, 0), 0);
	ev_timer_stop(loop, &a.t);
}

static void test_timer_order(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr t[5];
	static const uint64_t after[5] = {40, 10, 30, 20, 0};
	int i;

	for (i = 0; i < 5; i++) {
		tmr_init(&t[i], i);
		assert_int_equal(ev_timer_start(loop, &t[i].t, after[i]), 0);
	}
	run_until(loop, 5);
	assert_int_equal(nrec, 5);
	assert_int_equal(rec[0], 4);
	assert_int_equal(rec[1], 1);
	assert_int_equal(rec[2], 3);
	assert_int_equal(rec[3], 2);
	assert_int_equal(rec[4], 0);
	for (i = 0; i < 5; i++)
		assert_false(ev_timer_active(&t[i].t));
}

/* Equal deadlines fire in start order, and all due timers fire at once. */
static void test_timer_equal_when(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr t[50];
	int i;

	for (i = 0; i < 50; i++) {
		tmr_init(&t[i], i);
		assert_int_equal(ev_timer_start(loop, &t[i].t, 0), 0);
	}
	/* Restarting moves a timer to the back of its deadline's queue. */
	assert_int_equal(ev_timer_start(loop, &t[0].t, 0), 0);
	usleep(2000);
	assert_int_equal(ev_run_once(loop, 0), 50);
	assert_int_equal(nrec, 50);
	for (i = 0; i < 49; i++)
		assert_int_equal(rec[i], i + 1);
	assert_int_equal(rec[49], 0);
}

static void test_stop_inside_callback(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a, b, c;

	tmr_init(&a, 1);
	tmr_init(&b, 2);
	tmr_init(&c, 3);
	a.victim = &b; /* a stops b, which is already due */
	assert_int_equal(ev_timer_start(loop, &a.t, 5), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 5), 0);
	assert_int_equal(ev_timer_start(loop, &c.t, 15), 0);
	run_until(loop, 2);
	assert_int_equal(nrec, 2);
	assert_int_equal(rec[0], 1);
	assert_int_equal(rec[1], 3);
	assert_false(ev_timer_active(&b.t));
}

static void test_restart_inside_callback(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a, b;

	tmr_init(&a, 1);
	tmr_init(&b, 2);
	a.restarts = 3;
	a.restart_ms = 100; /* wide margins: the machine may be loaded */
	assert_int_equal(ev_timer_start(loop, &a.t, 1), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 150), 0);
	run_until(loop, 5);
	assert_int_equal(nrec, 5);
	/* a at 1, 101, (b at 150), 201, 301 */
	assert_int_equal(rec[0], 1);
	assert_int_equal(rec[1], 1);
	assert_int_equal(rec[2], 2);
	assert_int_equal(rec[3], 1);
	assert_int_equal(rec[4], 1);
	assert_false(ev_timer_active(&a.t));
}

/* A 0 ms re-arm fires once per iteration, never looping in place. */
static void test_zero_restart_no_starvation(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a;

	tmr_init(&a, 1);
	a.restarts = 1000000;
	a.restart_ms = 0;
	assert_int_equal(ev_timer_start(loop, &a.t, 0), 0);
	assert_int_equal(ev_run_once(loop, 0), 1);
	assert_int_equal(ev_run_once(loop, 0), 1);
	assert_int_equal(nrec, 2);
	assert_true(ev_timer_active(&a.t));
	ev_timer_stop(loop, &a.t);
}

static void test_free_inside_callback(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	assert_non_null(a);
	assert_non_null(b);
	tmr_init(a, 1);
	tmr_init(b, 2);
	a->free_self = true;
	b->free_self = true;
	assert_int_equal(ev_timer_start(loop, &a->t, 1), 0);
	assert_int_equal(ev_timer_start(loop, &b->t, 1), 0);
	run_until(loop, 2); /* ASan catches any later touch */
	assert_int_equal(nrec, 2);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct tmr *rnd_prev;
static int rnd_bad;

static void rnd_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct tmr *m = arg;

	(void)loop;
	/* Strictly increasing (when, start seq) across all firings. */
	if (rnd_prev &&
	    (rnd_prev->t.when_ms > t->when_ms ||
	     (rnd_prev->t.when_ms == t->when_ms && rnd_prev->seq > m->seq)))
		rnd_bad++;
	if (ev_now_ms() < t->when_ms)
		rnd_bad++;
	rnd_prev = m;
	record(m->id);
}

static void test_random_timers(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr *t = calloc(1000, sizeof(*t));
	uint64_t *whens = calloc(1000, sizeof(*whens));
	uint64_t seq = 0;
	int i, live = 0, k;

	assert_non_null(t);
	assert_non_null(whens);
	srand(12345);
	rnd_prev = NULL;
	rnd_bad = 0;
	for (i = 0; i < 1000; i++) {
		t[i].id = i;
		ev_timer_init(&t[i].t, rnd_cb, &t[i]);
		t[i].seq = seq++;
		assert_int_equal(
		    ev_timer_start(loop, &t[i].t, (uint64_t)(rand() % 60)), 0);
	}
	/* Shuffle the heap: restart 200, stop 150 at random. */
	for (k = 0; k < 200; k++) {
		i = rand() % 1000;
		t[i].seq = seq++;
		assert_int_equal(
		    ev_timer_start(loop, &t[i].t, (uint64_t)(rand() % 60)), 0);
	}
	for (k = 0; k < 150; k++)
		ev_timer_stop(loop, &t[rand() % 1000].t);
	for (i = 0; i < 1000; i++)
		if (ev_timer_active(&t[i].t))
			whens[live++] = t[i].t.when_ms;
	assert_true(live > 800);
	run_until(loop, live);
	assert_int_equal(nrec, live);
	assert_int_equal(rnd_bad, 0);
	/* Exactly the live set fired, in deadline order. */
	qsort(whens, (size_t)live, sizeof(*whens), cmp_u64);
	for (k = 0; k < live; k++)
		assert_true(t[rec[k]].t.when_ms == whens[k]);
	for (i = 0; i < 1000; i++)
		assert_false(ev_timer_active(&t[i].t));
	/* Nothing fires twice. */
	assert_int_equal(ev_run_once(loop, 0), 0);
	free(whens);
	free(t);
}

/* ---- descriptors ---- */

struct io {
	int fd;
	int calls;
	uint32_t events;
	struct io *other; /* deletes other->fd when called */
	bool del_self;
};

static void io_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct io *io = arg;
	char buf[16];

	assert_int_equal(fd, io->fd);
	io->calls++;
	io->events = events;
	if (events & EPOLLIN)
		(void)!read(fd, buf, sizeof(buf));
	if (io->other)
		assert_int_equal(ev_del_fd(loop, io->other->fd), 0);
	if (io->del_self)
		assert_int_equal(ev_del_fd(loop, fd), 0);
}

static void test_fd_pipe(void **state)
{
	struct ev_loop *loop = *state;
	struct io rd_io = {0}, wr_io = {0};
	int p[2];

	assert_int_equal(pipe(p), 0);
	rd_io.fd = p[0];
	wr_io.fd = p[1];
	assert_int_equal(ev_add_fd(loop, p[0], EPOLLIN, io_cb, &rd_io), 0);
	assert_int_equal(ev_add_fd(loop, p[0], EPOLLIN, io_cb, &rd_io),
			 -EEXIST);
	assert_int_equal(ev_add_fd(loop, -1, EPOLLIN, io_cb, &rd_io), -EBADF);
	assert_int_equal(ev_add_fd(loop, p[1], EPOLLOUT, NULL, NULL), -EINVAL);
	/* Not readable yet. */
	assert_int_equal(ev_run_once(loop, 10), 0);
	assert_int_equal(rd_io.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(rd_io.calls, 1);
	assert_true(rd_io.events & EPOLLIN);
	/* Drained by the callback: quiet again. */
	assert_int_equal(ev_run_once(loop, 10), 0);
	/* Write end: writable at once; then modified to nothing. */
	assert_int_equal(ev_add_fd(loop, p[1], EPOLLOUT, io_cb, &wr_io), 0);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(wr_io.calls, 1);
	assert_true(wr_io.events & EPOLLOUT);
	assert_int_equal(ev_mod_fd(loop, p[1], 0), 0);
	assert_int_equal(ev_run_once(loop, 10), 0);
	assert_int_equal(ev_mod_fd(loop, 99999, EPOLLIN), -ENOENT);
	/* Delete from inside its own callback. */
	rd_io.del_self = true;
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(rd_io.calls, 2);
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(ev_run_once(loop, 10), 0);
	assert_int_equal(rd_io.calls, 2);
	assert_int_equal(ev_del_fd(loop, p[0]), -ENOENT);
	/* Re-add after delete works. */
	rd_io.del_self = false;
	assert_int_equal(ev_add_fd(loop, p[0], EPOLLIN, io_cb, &rd_io), 0);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(rd_io.calls, 3);
	assert_int_equal(ev_del_fd(loop, p[0]), 0);
	/* Closed before delete: the slot is still released. */
	close(p[1]);
	assert_int_equal(ev_del_fd(loop, p[1]), 0);
	close(p[0]);
}

/* Two ready fds whose callbacks delete each other: exactly one runs. */
static void test_fd_delete_during_batch(void **state)
{
	struct ev_loop *loop = *state;
	struct io a = {0}, b = {0};
	int p[2], q[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	a.fd = p[0];
	b.fd = q[0];
	a.other = &b;
	b.other = &a;
	assert_int_equal(ev_add_fd(loop, p[0], EPOLLIN, io_cb, &a), 0);
	assert_int_equal(ev_add_fd(loop, q[0], EPOLLIN, io_cb, &b), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(write(q[1], "x", 1), 1);
	usleep(1000);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	/* The survivor was deleted by the one that ran; the ran one not. */
	if (a.calls)
		assert_int_equal(ev_del_fd(loop, p[0]), 0);
	else
		assert_int_equal(ev_del_fd(loop, q[0]), 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* ---- signals ---- */

static int sig_got[65];

static void sig_cb(struct ev_loop *loop, int signo, void *arg)
{
	(void)loop;
	assert_ptr_equal(arg, &sig_got);
	if (signo > 0 && signo < 65)
		sig_got[signo]++;
}

static void test_signal(void **state)
{
	struct ev_loop *loop = *state;
	uint64_t deadline;

	memset(sig_got, 0, sizeof(sig_got));
	assert_int_equal(ev_signal(loop, SIGUSR1, sig_cb, sig_got), 0);
	assert_int_equal(ev_signal(loop, SIGUSR2, sig_cb, sig_got), 0);
	assert_int_equal(ev_signal(loop, 0, sig_cb, NULL), -EINVAL);
	assert_int_equal(ev_signal(loop, SIGKILL, sig_cb, NULL), -EINVAL);
	assert_int_equal(ev_signal(loop, 65, sig_cb, NULL), -EINVAL);
	assert_int_equal(ev_signal(loop, SIGHUP, NULL, NULL), -EINVAL);
	/* Blocked now: raise() queues it instead of killing us. */
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(sig_got[SIGUSR1], 1);
	/* Both signals through the one signalfd. */
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	deadline = ev_now_ms() + 2000;
	while ((sig_got[SIGUSR1] < 2 || sig_got[SIGUSR2] < 1) &&
	       ev_now_ms() < deadline)
		assert_true(ev_run_once(loop, 100) >= 0);
	assert_int_equal(sig_got[SIGUSR1], 2);
	assert_int_equal(sig_got[SIGUSR2], 1);
	/* Re-registering replaces the handler's argument; still delivered. */
	assert_int_equal(ev_signal(loop, SIGUSR1, sig_cb, sig_got), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(sig_got[SIGUSR1], 3);
}

/* ---- ev_stop / ev_run ---- */

static void stop_sig_cb(struct ev_loop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	record(100);
	ev_stop(loop);
}

static void test_ev_stop(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a, b, c;

	tmr_init(&a, 1);
	tmr_init(&b, 2);
	tmr_init(&c, 3);
	a.restarts = 2;
	a.restart_ms = 5;
	b.stop_loop = true;
	assert_int_equal(ev_timer_start(loop, &a.t, 1), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 100), 0);
	assert_int_equal(ev_timer_start(loop, &c.t, 10000), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(nrec, 4);
	assert_int_equal(rec[3], 2);
	assert_true(ev_timer_active(&c.t)); /* untouched */
	/* ev_run can be entered again, and stopped from a signal. */
	assert_int_equal(ev_signal(loop, SIGUSR2, stop_sig_cb, NULL), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(rec[nrec - 1], 100);
	/* ev_stop before ev_run: returns at once (c would block 10 s). */
	ev_stop(loop);
	assert_int_equal(ev_run(loop), 0);
	ev_timer_stop(loop, &c.t);
}

static void test_free_with_active_timers(void **state)
{
	struct ev_loop *loop = ev_new();
	struct tmr a;

	(void)state;
	assert_non_null(loop);
	tmr_init(&a, 1);
	assert_int_equal(ev_timer_start(loop, &a.t, 1000), 0);
	ev_free(loop);
	assert_false(ev_timer_active(&a.t));
}

static int flush_calls, flush_saw;

static void flush_cb(struct ev_loop *loop, void *arg)
{
	(void)loop;
	assert_ptr_equal(arg, &flush_calls);
	flush_calls++;
	flush_saw = nrec; /* what the iteration's callbacks recorded */
}

/* The flush hook runs once per iteration, after the descriptor
 * callbacks and the due timers of that iteration (what they queued is
 * then complete), also when nothing was dispatched; NULL removes it. */
static void test_flush_hook(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a, b;

	tmr_init(&a, 1);
	tmr_init(&b, 2);
	flush_calls = flush_saw = 0;
	ev_set_flush(loop, flush_cb, &flush_calls);
	assert_int_equal(ev_timer_start(loop, &a.t, 0), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 0), 0);
	assert_int_equal(ev_run_once(loop, 100), 2);
	assert_int_equal(flush_calls, 1);
	assert_int_equal(flush_saw, 2); /* both timers ran before it */
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(flush_calls, 2);
	ev_set_flush(loop, NULL, NULL);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(flush_calls, 2);
}

/* Coarse (wheel) timers on the real clock, beside heap timers: each
 * fires once, not before after_ms, within EV_COARSE_MS of its grid
 * point; the loop sleeps until then (tests/unit/lib/test_ev_wheel.c
 * proves the wheel on a simulated clock). */
static void test_coarse_timers(void **state)
{
	struct ev_loop *loop = *state;
	struct tmr a, b, c;
	uint64_t t0 = ev_now_ms();

	tmr_init(&a, 1);
	tmr_init(&b, 2);
	tmr_init(&c, 3);
	assert_int_equal(ev_timer_start_coarse(loop, &a.t, 30), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 10), 0);
	assert_int_equal(ev_timer_start_coarse(loop, &c.t, 0), 0);
	assert_true(ev_timer_active(&a.t));
	assert_int_equal(a.t.when_ms % EV_COARSE_MS, 0);
	assert_true(a.t.when_ms > t0 + 30 - 1);
	assert_true(a.t.when_ms <= t0 + 30 + EV_COARSE_MS);
	run_until(loop, 3);
	assert_int_equal(nrec, 3);
	assert_true(a.fired_at >= t0 + 30);
	assert_true(c.fired_at >= c.t.when_ms);
	assert_false(ev_timer_active(&a.t));
	/* Stopped before due: never fires. */
	assert_int_equal(ev_timer_start_coarse(loop, &a.t, 10), 0);
	ev_timer_stop(loop, &a.t);
	assert_false(ev_timer_active(&a.t));
	assert_int_equal(ev_run_once(loop, 60), 0);
	assert_int_equal(nrec, 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_timer_basics),
	    T(test_timer_order),
	    T(test_timer_equal_when),
	    T(test_stop_inside_callback),
	    T(test_restart_inside_callback),
	    T(test_zero_restart_no_starvation),
	    T(test_free_inside_callback),
	    T(test_random_timers),
	    T(test_fd_pipe),
	    T(test_fd_delete_during_batch),
	    T(test_signal),
	    T(test_ev_stop),
	    T(test_free_with_active_timers),
	    T(test_flush_hook),
	    T(test_coarse_timers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
