/*
 * det.c - deterministic crypto_random(), clock_gettime() and time() for
 * the iked test harnesses; see det.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "det.h"

/* Each wrapper needs a prototype (-Wmissing-prototypes). */
int __real_crypto_random(void *buf, size_t n);
int __wrap_crypto_random(void *buf, size_t n);
int __real_clock_gettime(clockid_t c, struct timespec *ts);
int __wrap_clock_gettime(clockid_t c, struct timespec *ts);
time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);

/* Thread-local: libFuzzer's watchdog thread keeps the real clock. */
static _Thread_local bool det_on;
static _Thread_local uint64_t det_rng, det_ms;

/* A fixed start, far from 0 so that "now - x" never wraps. */
#define DET_START_MS 1000000000ull
#define DET_EPOCH_S  1800000000ull /* what time() and CLOCK_REALTIME say */

void det_start(uint64_t seed)
{
	det_on = true;
	det_rng = seed;
	det_ms = DET_START_MS;
}

void det_stop(void)
{
	det_on = false;
}

void det_advance_ms(uint64_t ms)
{
	det_ms += ms;
}

uint64_t det_now_ms(void)
{
	return det_ms;
}

/* splitmix64 */
static uint64_t det_next(void)
{
	uint64_t z = (det_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int __wrap_crypto_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	if (!det_on)
		return __real_crypto_random(buf, n);
	while (n) {
		uint64_t v = det_next();
		size_t k = n < sizeof(v) ? n : sizeof(v);

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
	return 0;
}

int __wrap_clock_gettime(clockid_t c, struct timespec *ts)
{
	uint64_t ms = det_ms;

	if (!det_on)
		return __real_clock_gettime(c, ts);
	if (c == CLOCK_REALTIME)
		ms += DET_EPOCH_S * 1000;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
	return 0;
}

time_t __wrap_time(time_t *t)
{
	time_t now;

	if (!det_on)
		return __real_time(t);
	now = (time_t)(DET_EPOCH_S + det_ms / 1000);
	if (t)
		*t = now;
	return now;
}
