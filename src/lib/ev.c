/*
 * ev.c - the event loop: epoll for descriptors, a 4-ary min-heap of
 * timers ordered by (when_ms, start sequence), a hashed wheel of coarse
 * timers (EV_COARSE_MS slots, O(1) start/stop), and one signalfd shared
 * by every signal the loop handles.
 *
 * Ownership: the loop owns its epoll fd, its signalfd, the fd table, the
 * heap array and the wheel (all released by ev_free).  Timers belong to
 * their owners; heap and wheel only point at them, and a timer's
 * heap_idx says where (SIZE_MAX when idle).  Watched descriptors belong
 * to the caller.
 *
 * Order: one pass fires the heap's due timers in (when, start) order,
 * then the wheel's due timers (a coarse timer's deadline is a grid
 * point; among those due in one pass the order is unspecified).
 *
 * Re-entrancy: callbacks may add/modify/delete descriptors and
 * start/stop/free timers, including the one running.  Each fd slot has a
 * generation number carried in the epoll data, so an event already
 * collected for a descriptor that a previous callback in the same batch
 * removed (or removed and re-added) is dropped instead of delivered to
 * the wrong owner.  A timer is unlinked before its callback runs, and
 * timers started during a firing pass wait for the next iteration, so a
 * zero-delay restart cannot starve descriptors.
 *
 * Signals handled here stay blocked after ev_free() (unblocking would let
 * a pending signal take its default action).
 */
#include "lib/ev.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define EV_MAX_EVENTS 64
#define EV_NSIG	      65 /* signals 1..64 */

struct ev_fd {
	ev_io_cb cb;
	void *arg;
	uint32_t events;
	uint32_t gen;
	bool used;
	bool internal; /* the signalfd */
};

struct ev_heap_ent {
	uint64_t when;
	uint64_t seq; /* start order: equal `when` fire first-started first */
	struct ev_timer *t;
};

struct ev_sig {
	ev_signal_cb cb;
	void *arg;
};

/* ---- the coarse timers' wheel (see "timers: the wheel" below) ---- */
#ifndef EV_WHEEL_BITS
#define EV_WHEEL_BITS 12 /* 4096 slots of EV_COARSE_MS: 81.9 s a turn */
#endif
#define EV_WHEEL_SLOTS ((size_t)1 << EV_WHEEL_BITS)
#define EV_WHEEL_MASK  (EV_WHEEL_SLOTS - 1)
#define EV_WORD_BITS   64u
/* Slots one busy word covers (fewer in a test's tiny wheel). */
#define EV_WORD_SPAN                                                           \
	(EV_WHEEL_SLOTS < EV_WORD_BITS ? EV_WHEEL_SLOTS : EV_WORD_BITS)

/* A wheel timer's heap_idx: WIDX_FLAG | slot << WIDX_POS_BITS | position
 * (never SIZE_MAX: positions stop one short of all ones). */
#define SIZE_BITS     (sizeof(size_t) * 8u)
#define WIDX_FLAG     (((size_t)-1 >> 1) + 1)
#define WIDX_POS_BITS (SIZE_BITS - 1u - EV_WHEEL_BITS)
#define WIDX_POS_MAX  ((((size_t)1 << WIDX_POS_BITS) - 1u) - 1u)

struct ev_wslot {
	struct ev_heap_ent *v; /* unordered; seq unused */
	uint32_t n, cap;
	uint64_t min_when; /* <= every entry's when (UINT64_MAX: empty) */
};

struct ev_wheel {
	struct ev_wslot slot[EV_WHEEL_SLOTS];
	uint64_t busy[EV_WHEEL_SLOTS / EV_WORD_BITS + 1]; /* n > 0 */
	uint64_t tick; /* next tick to fire (ticks before it are done) */
	size_t count;  /* timers in the wheel */
};

struct ev_loop {
	int epfd;
	struct ev_fd *fds;
	size_t nfds; /* slots allocated (indexed by fd) */
	struct ev_heap_ent *heap;
	size_t nheap, capheap;
	uint64_t next_seq;
	struct ev_wheel *wheel; /* coarse timers; allocated on first use */
	int sigfd;
	sigset_t sigmask;
	struct ev_sig sigs[EV_NSIG];
	ev_flush_cb flush;
	void *flush_arg;
	bool stop;
};

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct ev_loop *ev_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;
		free(loop);
		errno = e;
		return NULL;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	return loop;
}

void ev_free(struct ev_loop *loop)
{
	size_t i;

	if (!loop)
		return;
	/* Timers outlive the loop (their owners free them): mark idle. */
	for (i = 0; i < loop->nheap; i++)
		loop->heap[i].t->heap_idx = SIZE_MAX;
	if (loop->wheel) {
		for (i = 0; i < EV_WHEEL_SLOTS; i++) {
			struct ev_wslot *w = &loop->wheel->slot[i];
			uint32_t k;

			for (k = 0; k < w->n; k++)
				w->v[k].t->heap_idx = SIZE_MAX;
			free(w->v);
		}
		free(loop->wheel);
	}
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop->heap);
	free(loop->fds);
	free(loop);
}

/* ---- descriptors ---- */

static int fd_slot_grow(struct ev_loop *loop, int fd)
{
	size_t want = (size_t)fd + 1, ncap;
	struct ev_fd *n;

	if (want <= loop->nfds)
		return 0;
	ncap = loop->nfds ? loop->nfds : 16;
	while (ncap < want)
		ncap *= 2;
	n = realloc(loop->fds, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + loop->nfds, 0, (ncap - loop->nfds) * sizeof(*n));
	loop->fds = n;
	loop->nfds = ncap;
	return 0;
}

static struct ev_fd *fd_slot(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].used)
		return NULL;
	return &loop->fds[fd];
}

static int fd_add(struct ev_loop *loop, int fd, uint32_t events, ev_io_cb cb,
		  void *arg, bool internal)
{
	struct epoll_event ev;
	struct ev_fd *s;
	int rc;

	if (fd < 0)
		return -EBADF;
	if (!cb)
		return -EINVAL;
	if (fd_slot(loop, fd))
		return -EEXIST;
	rc = fd_slot_grow(loop, fd);
	if (rc < 0)
		return rc;
	s = &loop->fds[fd];
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->cb = cb;
	s->arg = arg;
	s->events = events;
	s->used = true;
	s->internal = internal;
	return 0;
}

int ev_add_fd(struct ev_loop *loop, int fd, uint32_t events, ev_io_cb cb,
	      void *arg)
{
	return fd_add(loop, fd, events, cb, arg, false);
}

int ev_mod_fd(struct ev_loop *loop, int fd, uint32_t events)
{
	struct ev_fd *s = fd_slot(loop, fd);
	struct epoll_event ev;

	if (!s || s->internal)
		return -ENOENT;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	s->events = events;
	return 0;
}

int ev_del_fd(struct ev_loop *loop, int fd)
{
	struct ev_fd *s = fd_slot(loop, fd);

	if (!s || s->internal)
		return -ENOENT;
	/*
	 * If the caller already closed fd, epoll dropped it by itself
	 * (EBADF/ENOENT here); the slot must be released either way.
	 */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	s->used = false;
	s->cb = NULL;
	s->arg = NULL;
	s->gen++;
	return 0;
}

/* ---- timers: 4-ary min-heap on (when, seq) ----
 *
 * Four children per node: half the depth of a binary heap, and each
 * level moved means a write to the moved timer's heap_idx, a cache miss
 * into its owner (an IKE SA) at 100,000 SAs -- removing the earliest
 * timer (every DPD check) was ~9 % of iked's CPU with a binary heap.
 * The four children sit side by side in the array (one or two cache
 * lines). */
#define HEAP_D 4

static bool ent_less(const struct ev_heap_ent *a, const struct ev_heap_ent *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->seq < b->seq;
}

static void heap_set(struct ev_loop *loop, size_t i, struct ev_heap_ent e)
{
	loop->heap[i] = e;
	e.t->heap_idx = i;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_heap_ent e = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / HEAP_D;
		if (!ent_less(&e, &loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, e);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_heap_ent e = loop->heap[i];
	size_t n = loop->nheap;

	for (;;) {
		size_t c = HEAP_D * i + 1, k, end;
		if (c >= n)
			break;
		end = n - c < HEAP_D ? n : c + HEAP_D;
		for (k = c + 1; k < end; k++)
			if (ent_less(&loop->heap[k], &loop->heap[c]))
				c = k;
		if (!ent_less(&loop->heap[c], &e))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, e);
}

static void heap_remove(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i].t;
	size_t last = --loop->nheap;

	t->heap_idx = SIZE_MAX;
	if (i == last)
		return;
	heap_set(loop, i, loop->heap[last]);
	if (i > 0 && ent_less(&loop->heap[i], &loop->heap[(i - 1) / HEAP_D]))
		heap_up(loop, i);
	else
		heap_down(loop, i);
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	t->when_ms = 0;
	t->heap_idx = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
}

static void wheel_stop(struct ev_loop *loop, struct ev_timer *t);

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx;

	if (i == SIZE_MAX)
		return;
	if (i & WIDX_FLAG) {
		wheel_stop(loop, t);
		return;
	}
	/* Tolerate a timer that is not (or no longer) in this heap. */
	if (i >= loop->nheap || loop->heap[i].t != t) {
		t->heap_idx = SIZE_MAX;
		return;
	}
	heap_remove(loop, i);
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms)
{
	struct ev_heap_ent e;
	uint64_t now = ev_now_ms();

	if (!t->cb)
		return -EINVAL;
	ev_timer_stop(loop, t); /* restart = stop + start */
	if (loop->nheap == loop->capheap) {
		size_t ncap = loop->capheap ? loop->capheap * 2 : 16;
		struct ev_heap_ent *n;

		if (ncap > SIZE_MAX / sizeof(*n))
			return -ENOMEM;
		n = realloc(loop->heap, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		loop->heap = n;
		loop->capheap = ncap;
	}
	t->when_ms = after_ms > UINT64_MAX - now ? UINT64_MAX : now + after_ms;
	e.when = t->when_ms;
	e.seq = loop->next_seq++;
	e.t = t;
	loop->nheap++;
	heap_set(loop, loop->nheap - 1, e);
	heap_up(loop, loop->nheap - 1);
	return 0;
}

/* ---- timers: the wheel ----
 *
 * Coarse timers (ev_timer_start_coarse) go into a hashed timing wheel
 * instead of the heap: EV_WHEEL_SLOTS slots of EV_COARSE_MS, a timer in
 * slot (deadline / EV_COARSE_MS) mod EV_WHEEL_SLOTS, its deadline
 * rounded up to the grid.  A slot is an unordered array of (deadline,
 * timer); the timer's heap_idx holds WIDX_FLAG | slot | position, so a
 * start is an append and a stop a swap with the slot's last entry: O(1),
 * and at most one other timer (the one moved) is written -- a heap
 * removal writes one per level, each a cache miss into another SA.
 * Deadlines further than one turn share slots with nearer ones and stay
 * until their turn comes (their stored deadline decides, not the slot).
 *
 * A coarse deadline is the first grid point after now + after_ms, so
 * it is never due in the pass that started it (a zero-delay restart
 * cannot keep the loop in timers_run), and it fires at most
 * EV_COARSE_MS late.  Timers due at one grid point fire in one wakeup:
 * iked's liveness checks of one slot leave in one sendmmsg.
 */

static size_t widx(size_t slot, size_t pos)
{
	return WIDX_FLAG | slot << WIDX_POS_BITS | pos;
}

/* No position left for the encoding (32-bit size_t only). */
static bool slot_full(size_t n)
{
	return n >= WIDX_POS_MAX;
}

static void wheel_busy(struct ev_wheel *w, size_t slot, bool on)
{
	uint64_t bit = (uint64_t)1 << (slot % EV_WORD_BITS);

	if (on)
		w->busy[slot / EV_WORD_BITS] |= bit;
	else
		w->busy[slot / EV_WORD_BITS] &= ~bit;
}

static void wheel_remove_at(struct ev_wheel *w, size_t slot, uint32_t pos)
{
	struct ev_wslot *ws = &w->slot[slot];
	uint32_t last = --ws->n;

	ws->v[pos].t->heap_idx = SIZE_MAX;
	if (pos != last) {
		ws->v[pos] = ws->v[last];
		ws->v[pos].t->heap_idx = widx(slot, pos);
	}
	w->count--;
	if (ws->n == 0) {
		ws->min_when = UINT64_MAX;
		wheel_busy(w, slot, false);
	}
}

static void wheel_stop(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx & ~WIDX_FLAG;
	size_t slot = i >> WIDX_POS_BITS;
	size_t pos = i & (((size_t)1 << WIDX_POS_BITS) - 1u);
	struct ev_wheel *w = loop->wheel;

	/* Tolerate a timer that is not (or no longer) in this wheel. */
	if (!w || slot >= EV_WHEEL_SLOTS || pos >= w->slot[slot].n ||
	    w->slot[slot].v[pos].t != t) {
		t->heap_idx = SIZE_MAX;
		return;
	}
	wheel_remove_at(w, slot, (uint32_t)pos);
}

int ev_timer_start_coarse(struct ev_loop *loop, struct ev_timer *t,
			  uint64_t after_ms)
{
	uint64_t now = ev_now_ms(), tick;
	struct ev_wslot *ws;
	struct ev_wheel *w;
	size_t slot;

	if (!t->cb)
		return -EINVAL;
	/* Beyond any useful horizon (and grid overflow): the heap. */
	if (after_ms > (uint64_t)1 << 40)
		return ev_timer_start(loop, t, after_ms);
	ev_timer_stop(loop, t); /* restart = stop + start */
	if (!loop->wheel) {
		loop->wheel = calloc(1, sizeof(*loop->wheel));
		if (!loop->wheel)
			return -ENOMEM;
		for (slot = 0; slot < EV_WHEEL_SLOTS; slot++)
			loop->wheel->slot[slot].min_when = UINT64_MAX;
		loop->wheel->tick = now / EV_COARSE_MS;
	}
	w = loop->wheel;
	tick = (now + after_ms) / EV_COARSE_MS + 1;
	slot = (size_t)(tick & EV_WHEEL_MASK);
	ws = &w->slot[slot];
	if (slot_full(ws->n))
		return ev_timer_start(loop, t, after_ms);
	if (ws->n == ws->cap) {
		uint32_t ncap = ws->cap ? ws->cap * 2 : 8;
		struct ev_heap_ent *n;

		if (ncap <= ws->cap)
			return -ENOMEM;
		n = realloc(ws->v, (size_t)ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ws->v = n;
		ws->cap = ncap;
	}
	t->when_ms = tick * EV_COARSE_MS;
	ws->v[ws->n].when = t->when_ms;
	ws->v[ws->n].seq = 0;
	ws->v[ws->n].t = t;
	t->heap_idx = widx(slot, ws->n);
	ws->n++;
	w->count++;
	if (t->when_ms < ws->min_when)
		ws->min_when = t->when_ms;
	wheel_busy(w, slot, true);
	return 0;
}

/*
 * Fires the slot's timers due at `now`.  Walked from the end: a callback
 * that stops a timer moves the slot's last entry into its place, and the
 * last entry is one already looked at (or, once all those are gone, one
 * still ahead at a lower index), so no due timer is skipped; timers
 * started by callbacks are appended and are not due.
 */
static int wheel_fire_slot(struct ev_loop *loop, size_t slot, uint64_t now)
{
	struct ev_wheel *w = loop->wheel;
	struct ev_wslot *ws = &w->slot[slot];
	uint64_t min = UINT64_MAX;
	uint32_t i = ws->n;
	int fired = 0;

	/* Every due timer is in memory nothing else touched lately (a
	 * liveness check's IKE SA, once per dpd_delay): ask for them all
	 * before the first callback, so that their misses overlap instead
	 * of stalling one callback after the other. */
	for (i = 0; i < ws->n; i++)
		if (ws->v[i].when <= now)
			__builtin_prefetch(ws->v[i].t, 1);
	i = ws->n;
	while (i > 0) {
		struct ev_timer *t;

		if (i > ws->n)
			i = ws->n;
		if (i == 0)
			break;
		i--;
		if (ws->v[i].when > now)
			continue;
		t = ws->v[i].t;
		wheel_remove_at(w, slot, i);
		fired++;
		/* After this call `t` may be restarted or freed. */
		t->cb(loop, t, t->arg);
	}
	for (i = 0; i < ws->n; i++)
		if (ws->v[i].when < min)
			min = ws->v[i].when;
	ws->min_when = min;
	return fired;
}

static int wheel_run(struct ev_loop *loop, uint64_t now)
{
	struct ev_wheel *w = loop->wheel;
	uint64_t now_tick = now / EV_COARSE_MS, tick;
	int fired = 0;

	if (!w || w->tick > now_tick)
		return 0;
	tick = w->tick;
	/* Asleep for more than a turn: every slot once is enough (the
	 * stored deadline decides what is due). */
	if (now_tick - tick >= EV_WHEEL_SLOTS)
		tick = now_tick - EV_WHEEL_SLOTS + 1;
	for (; tick <= now_tick && w->count > 0; tick++) {
		size_t slot = (size_t)(tick & EV_WHEEL_MASK);

		if (w->busy[slot / EV_WORD_BITS] >> (slot % EV_WORD_BITS) & 1)
			fired += wheel_fire_slot(loop, slot, now);
	}
	w->tick = now_tick + 1;
	return fired;
}

/*
 * The earliest grid point at which a wheel timer may be due
 * (UINT64_MAX: none): the first busy slot from the current tick whose
 * lower bound is not beyond its tick in this turn; when no slot has
 * anything this turn, the smallest lower bound.
 */
static uint64_t wheel_next(const struct ev_loop *loop)
{
	const struct ev_wheel *w = loop->wheel;
	uint64_t best = UINT64_MAX;
	size_t d;

	if (!w || w->count == 0)
		return UINT64_MAX;
	for (d = 0; d < EV_WHEEL_SLOTS;) {
		uint64_t tick = w->tick + d;
		size_t slot = (size_t)(tick & EV_WHEEL_MASK);
		uint64_t word =
		    w->busy[slot / EV_WORD_BITS] >> (slot % EV_WORD_BITS);
		const struct ev_wslot *ws;

		if (!word) { /* skip to the next word */
			d += EV_WORD_SPAN - slot % EV_WORD_SPAN;
			continue;
		}
		if (!(word & 1)) {
			d += (size_t)__builtin_ctzll(word);
			continue;
		}
		ws = &w->slot[slot];
		if (ws->min_when <= tick * EV_COARSE_MS)
			return tick * EV_COARSE_MS;
		if (ws->min_when < best)
			best = ws->min_when;
		d++;
	}
	return best;
}

/*
 * Fire due timers in (when, start) order.  Only timers started before
 * this pass are eligible, so a callback re-arming with 0 ms cannot keep
 * the loop here forever.
 */
static int timers_run(struct ev_loop *loop)
{
	uint64_t now = ev_now_ms(), limit = loop->next_seq;
	int fired = 0;

	while (loop->nheap > 0) {
		struct ev_heap_ent top = loop->heap[0];

		if (top.when > now || top.seq >= limit)
			break;
		heap_remove(loop, 0);
		fired++;
		/* After this call `top.t` may be restarted or freed. */
		top.t->cb(loop, top.t, top.t->arg);
	}
	/* Then the wheel's (coarse) timers due by the same `now`. */
	return fired + wheel_run(loop, now);
}

static int next_timeout(struct ev_loop *loop, int max_wait_ms)
{
	uint64_t now, when = wheel_next(loop), d;

	if (loop->nheap > 0 && loop->heap[0].when < when)
		when = loop->heap[0].when;
	if (when == UINT64_MAX)
		return max_wait_ms < 0 ? -1 : max_wait_ms;
	now = ev_now_ms();
	d = when > now ? when - now : 0;
	if (d > (uint64_t)INT32_MAX)
		d = INT32_MAX;
	if (max_wait_ms >= 0 && d > (uint64_t)max_wait_ms)
		d = (uint64_t)max_wait_ms;
	return (int)d;
}

/* ---- signals ---- */

static void sigfd_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	ssize_t n;

	(void)events;
	(void)arg;
	for (;;) {
		n = read(fd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break; /* EAGAIN: drained */
		if (si.ssi_signo < EV_NSIG && loop->sigs[si.ssi_signo].cb)
			loop->sigs[si.ssi_signo].cb(
			    loop, (int)si.ssi_signo,
			    loop->sigs[si.ssi_signo].arg);
	}
}

int ev_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg)
{
	sigset_t one, nmask;
	int fd, rc;

	if (signo <= 0 || signo >= EV_NSIG || signo == SIGKILL ||
	    signo == SIGSTOP || !cb)
		return -EINVAL;
	nmask = loop->sigmask;
	if (sigaddset(&nmask, signo) < 0)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	/* Block first, so the signal is queued for signalfd, not delivered. */
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -errno;
	fd = signalfd(loop->sigfd, &nmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		rc = fd_add(loop, fd, EPOLLIN, sigfd_cb, NULL, true);
		if (rc < 0) {
			close(fd);
			return rc;
		}
		loop->sigfd = fd;
	}
	loop->sigmask = nmask;
	loop->sigs[signo].cb = cb;
	loop->sigs[signo].arg = arg;
	return 0;
}

/* ---- running ---- */

int ev_run_once(struct ev_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[EV_MAX_EVENTS];
	int n, i, timeout, dispatched = 0;

	timeout = next_timeout(loop, max_wait_ms);
	n = epoll_wait(loop->epfd, evs, EV_MAX_EVENTS, timeout);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	/* The whole batch is delivered even after ev_stop(): nothing lost. */
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct ev_fd *s = fd_slot(loop, fd);

		/* Deleted (or replaced) by an earlier callback this batch. */
		if (!s || s->gen != gen)
			continue;
		s->cb(loop, fd, evs[i].events, s->arg);
		dispatched++;
	}
	dispatched += timers_run(loop);
	if (loop->flush)
		loop->flush(loop, loop->flush_arg);
	return dispatched;
}

void ev_set_flush(struct ev_loop *loop, ev_flush_cb cb, void *arg)
{
	loop->flush = cb;
	loop->flush_arg = cb ? arg : NULL;
}

int ev_run(struct ev_loop *loop)
{
	int rc = 0;

	while (!loop->stop) {
		rc = ev_run_once(loop, -1);
		if (rc < 0)
			break;
		rc = 0;
	}
	/* Consumed: a later ev_run() runs again. */
	loop->stop = false;
	return rc;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
