/*
 * adv.h - an adversary between two iked engines of the harness
 * (harness.h), for test_adversary.c and the iked_engine fuzz harness.
 *
 * It owns the network: each step takes one decision from its source (a
 * seeded RNG, or the bytes of a fuzz input) and delivers, drops,
 * duplicates, holds back (reorders) or replays packets; it flips bits
 * (outsider: the ICV must catch them), forges unauthenticated messages
 * for SPIs it saw in clear (garbage SK, an unknown critical payload
 * before SK, IKE_SA_INIT error notifies), and as an insider decrypts
 * protected messages with the engines' own SK keys, mutates the inner
 * payloads (flip, drop, duplicate, reorder, truncate, insert, change
 * message ID / exchange / flags / notify types / SPIs, swap in payloads
 * of earlier messages) and re-seals them so that they reach the state
 * machine.  It also makes the engines start exchanges (CHILD SA create,
 * rekey and delete, IKE rekey and delete, liveness checks, new IKE SAs)
 * and moves the deterministic clock (det.h).
 *
 * Oracles (they fail through cmocka; a fuzz harness sets
 * CMOCKA_TEST_ABORT=1 so that a failure aborts): adv_settle() stops the
 * adversary and runs the engines to quiescence with timers advanced;
 * adv_check_agree() (both ends have the same IKE SAs, message IDs and
 * CHILD SAs by SPI pair), adv_check_kernel() (every SA in the fake
 * backend belongs to a live CHILD SA).
 *
 * Ownership: struct adv owns the packets it holds back and its copies
 * of seen packets and plaintexts; adv_free() releases them.
 */
#ifndef TESTS_UNIT_IKED_ADV_H
#define TESTS_UNIT_IKED_ADV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* What the adversary may do (struct adv_opts.powers). */
#define ADV_NET	   0x01 /* drop, duplicate, reorder, replay */
#define ADV_PLAIN  0x02 /* bit flips, forged unauthenticated messages */
#define ADV_SEALED 0x04 /* mutations re-sealed with the real SK keys */
#define ADV_CTL	   0x08 /* make the engines start exchanges */
#define ADV_CLOCK  0x10 /* move the clock while packets are in flight */
#define ADV_ALL	   0x1f

#define ADV_HELD  8
#define ADV_SEEN  16
#define ADV_DICT  12
#define ADV_MAXPL 24

struct adv_pl {
	uint8_t type;
	bool critical;
	uint16_t len;
	uint8_t *body;
};

/* A protected message's inner payloads, as the adversary read them. */
struct adv_plist {
	uint8_t exch, flags;
	unsigned n;
	struct adv_pl pl[ADV_MAXPL];
};

struct adv_stats {
	unsigned steps, delivered, dropped, duplicated, held, replayed;
	unsigned flipped, forged, resealed, injected_sealed, ctl, clock;
};

struct adv {
	unsigned powers;
	/* Decisions: from data (a fuzz input; 0 when exhausted) or rng. */
	const uint8_t *data;
	size_t len, pos;
	uint64_t rng;
	struct h_pkt *held[ADV_HELD];
	unsigned nheld;
	struct h_pkt *seen[ADV_SEEN];
	unsigned seen_next;
	struct adv_plist dict[ADV_DICT];
	unsigned dict_next;
	bool have_ep[2];
	struct ike_ep ep_from[2], ep_dst[2]; /* as seen arriving at engine i */
	struct adv_stats st;
};

void adv_init(struct adv *a, unsigned powers, uint64_t seed,
	      const uint8_t *data, size_t len);
void adv_free(struct adv *a);
/* One decision; returns false when a fuzz input is used up. */
bool adv_step(struct adv *a);
/* Drop what is held, then pump and advance the clock in steps until
 * every exchange has finished or timed out (total_ms of fake time). */
void adv_settle(struct adv *a, uint64_t total_ms);

/* Oracles on engines 0 and 1 after adv_settle(). */
void adv_check_agree(struct iked *x, struct iked *y);
void adv_check_kernel(struct iked *d);
/* The engine's IKE and CHILD SAs on stderr (when an oracle fails). */
void adv_dump(struct iked *d);

#endif
