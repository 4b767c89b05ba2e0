/*
 * det.h - a deterministic RNG and clock for the iked test harnesses,
 * by link-time wrapping (no hook in production code): executables that
 * link det.c pass -Wl,--wrap=crypto_random,--wrap=clock_gettime,
 * --wrap=time (see meson.build), so every call from the statically
 * linked engine, codec, crypto glue, event loop and log code reaches
 * det.c.  Outside det_start() .. det_stop() (and on other threads,
 * e.g. libFuzzer's) the real functions answer.
 *
 * The clock starts at a fixed point and moves only by det_advance_ms();
 * crypto_random() returns a splitmix64 stream from the seed.  DH and
 * signature keys come from OpenSSL's own generator inside libcrypto and
 * stay random: they change key bytes, never the control flow the
 * harnesses drive.
 */
#ifndef TESTS_UNIT_IKED_DET_H
#define TESTS_UNIT_IKED_DET_H

#include <stdint.h>

void det_start(uint64_t seed);
void det_stop(void);
void det_advance_ms(uint64_t ms);
uint64_t det_now_ms(void);

#endif
