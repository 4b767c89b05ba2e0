/*
 * ev.h - single-threaded event loop: epoll for descriptors, a 4-ary
 * heap of timers (millisecond resolution, CLOCK_MONOTONIC), a wheel of
 * coarse timers (EV_COARSE_MS grid, O(1) start/stop), and signalfd for
 * signals.
 *
 * Timers are embedded by their owner (struct ev_timer inside the object
 * that needs it); the loop never allocates or frees them.  Stopping a
 * timer that is not running is harmless, and a callback may stop, start
 * or free its own timer.  File descriptors are owned by the caller; the
 * loop only watches them.
 */
#ifndef RACOON_EV_H
#define RACOON_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ev_timer;

typedef void (*ev_io_cb)(struct ev_loop *loop, int fd, uint32_t events,
			 void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t,
			    void *arg);
typedef void (*ev_signal_cb)(struct ev_loop *loop, int signo, void *arg);
typedef void (*ev_flush_cb)(struct ev_loop *loop, void *arg);

struct ev_timer {
	uint64_t when_ms;
	size_t heap_idx; /* SIZE_MAX when not running; heap or wheel place */
	ev_timer_cb cb;
	void *arg;
};

struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *loop);

/* events: EPOLLIN / EPOLLOUT etc. */
int ev_add_fd(struct ev_loop *loop, int fd, uint32_t events, ev_io_cb cb,
	      void *arg);
int ev_mod_fd(struct ev_loop *loop, int fd, uint32_t events);
int ev_del_fd(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms);
/*
 * A coarse timer: due at the first multiple of EV_COARSE_MS after
 * now + after_ms (never earlier than after_ms, at most EV_COARSE_MS
 * later), kept in a timing wheel: starting and stopping are O(1) at any
 * number of timers, and the timers due at one grid point fire in one
 * wakeup.  For per-SA timers that need no millisecond precision
 * (liveness checks, retransmissions, lifetimes).  ev_timer_stop() and
 * ev_timer_active() work on either kind; a restart may change the kind.
 */
#define EV_COARSE_MS 20u
int ev_timer_start_coarse(struct ev_loop *loop, struct ev_timer *t,
			  uint64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
static inline bool ev_timer_active(const struct ev_timer *t)
{
	return t->heap_idx != (size_t)-1;
}

/* Blocks signo and delivers it through the loop. */
int ev_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg);

/* Runs until ev_stop(); returns 0, or negative errno on loop failure. */
int ev_run(struct ev_loop *loop);
/*
 * One iteration, waiting at most max_wait_ms (-1 = until something).
 * Returns the number of callbacks run (>= 0), or negative errno.
 */
int ev_run_once(struct ev_loop *loop, int max_wait_ms);
void ev_stop(struct ev_loop *loop);

/*
 * One flush hook per loop (NULL: none), run at the end of every
 * ev_run_once(), after the descriptor callbacks and the due timers:
 * output the callbacks queued goes out there in one batch (iked's IKE
 * sockets: one sendmmsg for the checks of one DPD slot).
 */
void ev_set_flush(struct ev_loop *loop, ev_flush_cb cb, void *arg);

uint64_t ev_now_ms(void);

#endif
