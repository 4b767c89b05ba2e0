/*
 * test_ev_wheel.c - the event loop's wheel of coarse timers
 * (ev_timer_start_coarse, src/lib/ev.c) on a simulated clock: ev.c is
 * compiled into this test with a tiny wheel (8 slots of EV_COARSE_MS, one
 * turn = 160 ms) so that deadlines many turns ahead are the common case,
 * and clock_gettime is replaced so that hours pass in microseconds.
 *
 * Proves: deadlines are the first grid point after now + after_ms and
 * fire neither before it nor after it (once the clock reaches it);
 * timers many turns ahead wait for their own turn; a long sleep fires
 * everything due; stop/restart/free inside callbacks of timers in the
 * same slot skip no due timer and fire no stopped one; a zero-delay
 * restart does not fire in the same pass; next_timeout() wakes the loop
 * for the earliest one; a random mix of heap and wheel timers (starts,
 * restarts, stops, moves between the two) against a reference model; a
 * death wave of 20,000 stops leaves the wheel empty; ev_free marks
 * wheel timers idle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

/* The simulated clock, in ms (CLOCK_MONOTONIC in ev.c). */
static uint64_t fake_ms;

static int fake_clock_gettime(clockid_t id, struct timespec *ts)
{
	(void)id;
	ts->tv_sec = (time_t)(fake_ms / 1000u);
	ts->tv_nsec = (long)(fake_ms % 1000u) * 1000000L;
	return 0;
}

#define clock_gettime fake_clock_gettime
#define EV_WHEEL_BITS 3
#include "../../../src/lib/ev.c"
#undef clock_gettime

#define NT 20000

struct wt {
	struct ev_timer t;
	int id;
	int fired;
	uint64_t fired_at;
	uint64_t due; /* reference: when it must fire (0: must not) */
	int restart;  /* restart from the callback with this delay (-1: no) */
	struct wt *victim;
	bool victim_coarse_restart; /* restart the victim instead of stop */
	bool free_self;
};

static struct wt *ts;
static int nfired;

static void wt_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct wt *w = arg;

	assert_ptr_equal(&w->t, t);
	assert_false(ev_timer_active(t));
	assert_true(fake_ms >= t->when_ms);
	w->fired++;
	w->fired_at = fake_ms;
	nfired++;
	if (w->victim) {
		if (w->victim_coarse_restart)
			assert_int_equal(
			    ev_timer_start_coarse(loop, &w->victim->t, 0), 0);
		else
			ev_timer_stop(loop, &w->victim->t);
		w->victim = NULL; /* once */
	}
	if (w->restart >= 0) {
		int r = w->restart;

		w->restart = -1;
		assert_int_equal(ev_timer_start_coarse(loop, t, (uint64_t)r),
				 0);
	}
	if (w->free_self)
		test_free(w);
}

static void wt_init(struct wt *w, int id)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->restart = -1;
	ev_timer_init(&w->t, wt_cb, w);
}

static int setup(void **state)
{
	struct ev_loop *loop;
	int i;

	fake_ms = 1000005; /* not on the grid */
	loop = ev_new();
	if (!loop)
		return -1;
	ts = calloc(NT, sizeof(*ts));
	if (!ts) {
		ev_free(loop);
		return -1;
	}
	for (i = 0; i < NT; i++)
		wt_init(&ts[i], i);
	nfired = 0;
	*state = loop;
	return 0;
}

static int teardown(void **state)
{
	ev_free(*state);
	free(ts);
	return 0;
}

static uint64_t grid_after(uint64_t now, uint64_t after)
{
	return ((now + after) / EV_COARSE_MS + 1) * EV_COARSE_MS;
}

/* One loop turn at the current simulated time (never sleeps). */
static int turn(struct ev_loop *loop)
{
	int n = ev_run_once(loop, 0);

	assert_true(n >= 0);
	return n;
}

static void test_grid_and_exact_fire(void **state)
{
	struct ev_loop *loop = *state;
	const uint64_t afters[] = {0, 1, 14, 15, 19, 20, 95, 159, 160, 161};
	size_t i, n = sizeof(afters) / sizeof(afters[0]);
	uint64_t start = fake_ms, end = 0;

	for (i = 0; i < n; i++) {
		assert_int_equal(
		    ev_timer_start_coarse(loop, &ts[i].t, afters[i]), 0);
		assert_true(ev_timer_active(&ts[i].t));
		ts[i].due = grid_after(start, afters[i]);
		assert_int_equal(ts[i].t.when_ms, ts[i].due);
		assert_true(ts[i].due > start + afters[i] - 1);
		assert_true(ts[i].due <= start + afters[i] + EV_COARSE_MS);
		if (ts[i].due > end)
			end = ts[i].due;
	}
	/* Not due in the pass that started them, even with 0 ms. */
	assert_int_equal(turn(loop), 0);
	for (; fake_ms <= end + 1; fake_ms++) {
		uint64_t want = 0;

		for (i = 0; i < n; i++)
			if (!ts[i].fired && (want == 0 || ts[i].due < want))
				want = ts[i].due;
		if (want)
			assert_int_equal(next_timeout(loop, -1),
					 (int)(want - fake_ms));
		turn(loop);
		for (i = 0; i < n; i++)
			assert_int_equal(ts[i].fired, fake_ms >= ts[i].due);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(ts[i].fired_at, ts[i].due);
	assert_int_equal(next_timeout(loop, -1), -1);
	assert_int_equal(next_timeout(loop, 7), 7);
}

/* Deadlines many turns of the 160 ms wheel ahead share slots with near
 * ones and must wait for their own time. */
static void test_many_turns(void **state)
{
	struct ev_loop *loop = *state;
	uint64_t start = fake_ms;
	int i;

	for (i = 0; i < 64; i++) {
		uint64_t after = (uint64_t)i * 97 % 5000;

		assert_int_equal(ev_timer_start_coarse(loop, &ts[i].t, after),
				 0);
		ts[i].due = grid_after(start, after);
	}
	while (nfired < 64) {
		fake_ms += 7;
		turn(loop);
		for (i = 0; i < 64; i++) {
			if (fake_ms < ts[i].due)
				assert_int_equal(ts[i].fired, 0);
			else
				assert_int_equal(ts[i].fired, 1);
		}
		assert_true(fake_ms < start + 6000);
	}
	for (i = 0; i < 64; i++)
		assert_true(ts[i].fired_at < ts[i].due + 7);
	assert_int_equal(loop->wheel->count, 0);
}

/* Asleep for hours: one turn fires all that is due, nothing twice. */
static void test_long_sleep(void **state)
{
	struct ev_loop *loop = *state;
	int i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(
		    ev_timer_start_coarse(loop, &ts[i].t, (uint64_t)i * 13), 0);
	assert_int_equal(
	    ev_timer_start_coarse(loop, &ts[1000].t, 10ull * 3600 * 1000), 0);
	fake_ms += 3600ull * 1000;
	assert_int_equal(turn(loop), 1000);
	assert_int_equal(turn(loop), 0);
	assert_true(ev_timer_active(&ts[1000].t));
	fake_ms += 9ull * 3600 * 1000 + EV_COARSE_MS;
	assert_int_equal(turn(loop), 1);
	for (i = 0; i <= 1000; i++)
		assert_int_equal(ts[i].fired, 1);
}

/*
 * 100 timers in one slot; every callback stops or restarts (into the
 * same slot's next turn or the current grid point's successor) other
 * timers of that slot: no due timer is skipped, no stopped one fires,
 * a timer freed by its own callback is never touched again.
 */
static void test_mutation_in_slot(void **state)
{
	struct ev_loop *loop = *state;
	uint64_t start = fake_ms;
	struct wt *f = test_malloc(sizeof(*f));
	int i;

	for (i = 0; i < 100; i++)
		assert_int_equal(ev_timer_start_coarse(loop, &ts[i].t, 30), 0);
	/* A self-freeing timer in the same slot. */
	wt_init(f, -1);
	f->free_self = true;
	assert_int_equal(ev_timer_start_coarse(loop, &f->t, 30), 0);
	/* Even ids stop the next odd one; every 10th restarts a victim
	 * instead; every 7th restarts itself with 0 ms. */
	for (i = 0; i < 100; i += 2) {
		ts[i].victim = &ts[i + 1];
		ts[i].victim_coarse_restart = i % 10 == 0;
	}
	for (i = 0; i < 100; i += 7)
		ts[i].restart = 0;
	fake_ms = grid_after(start, 30);
	turn(loop);
	for (i = 0; i < 100; i++) {
		/* Each odd one either fired first (then its stopper's stop was
		 * harmless) or was stopped / restarted before it could. */
		if (i % 2 == 0)
			assert_int_equal(ts[i].fired, 1);
		assert_true(ts[i].fired <= 1);
	}
	/* Nothing restarted fires in the same pass. */
	assert_int_equal(turn(loop), 0);
	fake_ms += EV_COARSE_MS;
	turn(loop);
	for (i = 0; i < 100; i++) {
		bool restarted =
		    i % 7 == 0 || (i % 2 == 1 && (i - 1) % 10 == 0);
		bool stopped = i % 2 == 1 && (i - 1) % 10 != 0;

		if (stopped)
			assert_true(ts[i].fired <= 1);
		else if (restarted && ts[i].fired == 0)
			fail_msg("timer %d restarted but never fired", i);
		assert_false(ev_timer_active(&ts[i].t));
	}
	assert_int_equal(loop->wheel->count, 0);
}

/*
 * The reference model: random starts (heap or wheel), restarts, stops
 * and clock steps; each timer fires once per start, not before its
 * deadline, and (wheel) at the first turn at or after it.
 */
static void test_random_model(void **state)
{
	struct ev_loop *loop = *state;
	const int n = 3000;
	unsigned seed = 12345;
	int step, i;

	srand(seed);
	for (step = 0; step < 20000; step++) {
		int k = rand() % n, op = rand() % 10;

		if (op < 5) {
			uint64_t after = (uint64_t)(rand() % 3000);
			bool coarse = rand() % 4 != 0;

			if (coarse) {
				assert_int_equal(ev_timer_start_coarse(
						     loop, &ts[k].t, after),
						 0);
				ts[k].due = grid_after(fake_ms, after);
			} else {
				assert_int_equal(
				    ev_timer_start(loop, &ts[k].t, after), 0);
				ts[k].due = fake_ms + after;
			}
			ts[k].fired = 0;
		} else if (op < 7) {
			ev_timer_stop(loop, &ts[k].t);
			ts[k].due = 0;
			ts[k].fired = 0;
		} else {
			fake_ms += (uint64_t)(rand() % 50);
			turn(loop);
			for (i = 0; i < n; i++) {
				if (!ts[i].due)
					continue;
				if (ts[i].due <= fake_ms) {
					assert_int_equal(ts[i].fired, 1);
					/* every turn fires all that is due */
					assert_true(ts[i].fired_at >=
						    ts[i].due);
					assert_int_equal(ts[i].fired_at,
							 fake_ms);
					assert_false(ev_timer_active(&ts[i].t));
					ts[i].due = 0;
					ts[i].fired = 0;
				} else {
					assert_int_equal(ts[i].fired, 0);
					assert_true(ev_timer_active(&ts[i].t));
				}
			}
		}
	}
}

/* A death wave: 20,000 wheel timers stopped in random order. */
static void test_death_wave(void **state)
{
	struct ev_loop *loop = *state;
	int *order = malloc(NT * sizeof(*order)), i;

	assert_non_null(order);
	for (i = 0; i < NT; i++) {
		assert_int_equal(ev_timer_start_coarse(loop, &ts[i].t,
						       (uint64_t)(i % 30000)),
				 0);
		order[i] = i;
	}
	assert_int_equal(loop->wheel->count, NT);
	for (i = NT - 1; i > 0; i--) {
		int j = rand() % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (i = 0; i < NT; i++) {
		ev_timer_stop(loop, &ts[order[i]].t);
		assert_false(ev_timer_active(&ts[order[i]].t));
		if (i % 997 == 0) { /* the survivors still know their place */
			int k;

			for (k = i + 1; k < NT; k += 1009)
				assert_true(ev_timer_active(&ts[order[k]].t));
		}
	}
	free(order);
	assert_int_equal(loop->wheel->count, 0);
	for (i = 0; i < (int)(sizeof(loop->wheel->busy) /
			      sizeof(loop->wheel->busy[0]));
	     i++)
		assert_int_equal(loop->wheel->busy[i], 0);
	assert_int_equal(next_timeout(loop, -1), -1);
	fake_ms += 60000;
	assert_int_equal(turn(loop), 0);
}

/* Moving a timer between the heap and the wheel, and a stale index. */
static void test_kind_change_and_stale(void **state)
{
	struct ev_loop *loop = *state;
	struct ev_timer copy;

	assert_int_equal(ev_timer_start(loop, &ts[0].t, 5), 0);
	assert_int_equal(ev_timer_start_coarse(loop, &ts[0].t, 5), 0);
	assert_int_equal(loop->nheap, 0);
	assert_int_equal(loop->wheel->count, 1);
	assert_int_equal(ev_timer_start(loop, &ts[0].t, 5), 0);
	assert_int_equal(loop->nheap, 1);
	assert_int_equal(loop->wheel->count, 0);
	assert_int_equal(ev_timer_start_coarse(loop, &ts[0].t, 5), 0);
	/* A copy claims the same place: stopping it must not unlink the
	 * real one. */
	copy = ts[0].t;
	ev_timer_stop(loop, &copy);
	assert_false(ev_timer_active(&copy));
	assert_true(ev_timer_active(&ts[0].t));
	assert_int_equal(loop->wheel->count, 1);
	/* No callback: refused. */
	ev_timer_init(&copy, NULL, NULL);
	assert_int_equal(ev_timer_start_coarse(loop, &copy, 5), -EINVAL);
	fake_ms += 100;
	assert_int_equal(turn(loop), 1);
}

static void test_free_with_wheel_timers(void **state)
{
	struct ev_loop *loop = *state;
	int i;

	for (i = 0; i < 50; i++)
		assert_int_equal(
		    ev_timer_start_coarse(loop, &ts[i].t, (uint64_t)i * 40), 0);
	ev_free(loop);
	for (i = 0; i < 50; i++)
		assert_false(ev_timer_active(&ts[i].t));
	*state = ev_new();
	assert_non_null(*state);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_grid_and_exact_fire),
	    T(test_many_turns),
	    T(test_long_sleep),
	    T(test_mutation_in_slot),
	    T(test_random_model),
	    T(test_death_wave),
	    T(test_kind_change_and_stale),
	    T(test_free_with_wheel_timers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
