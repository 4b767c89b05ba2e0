/*
 * harness.h - iked engines talking to each other in one process, for
 * the iked unit tests (test_iked.c, test_cert.c, test_natrw.c).
 *
 * The test owns the struct iked engines (static storage) and hands the
 * harness pointers to them; h_setup() initialises them (event loop,
 * fake kernel backend, the send hook, a reaper for dead SAs) but not
 * their configuration, which the test adds (h_peer_config() for the
 * common "peer" remote).  Packets sent by an engine go into one FIFO
 * queue owned by the harness (each struct h_pkt is malloc'd; whoever
 * pops one frees it); h_pump() delivers until the queue is empty.
 * h_teardown() frees the queue, the SAs, the kernels, the
 * configurations and the loops.
 */
#ifndef TESTS_UNIT_IKED_HARNESS_H
#define TESTS_UNIT_IKED_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/iked.h"

#define H_MAX_ENG 4

/* A packet in flight: to engine index `to`, as the receiver sees it. */
struct h_pkt {
	struct h_pkt *next;
	int to;
	struct ike_ep from, dst;
	size_t len;
	uint8_t data[];
};

/*
 * Where a packet sent by engine `me` goes: returns the receiving
 * engine's index and may rewrite the packet's source and destination
 * on the way (a simulated NAT).  NULL: two engines, each sends to the
 * other.
 */
typedef int h_route_fn(int me, struct ike_ep *from, struct ike_ep *dst);

struct h_opts {
	unsigned pump_limit;	  /* h_pump() fails when it moves this many */
	bool count_keepalives;	  /* NAT-T keepalives counted, not queued */
	bool kill_on_teardown;	  /* ike_sa_kill() each SA before freeing */
	bool expect_empty_kernel; /* teardown: no SA left in a fake kernel
				   * once every IKE SA is killed and freed */
	h_route_fn *route;
};

extern unsigned h_sent;			 /* packets queued since h_setup() */
extern unsigned h_keepalives[H_MAX_ENG]; /* per sender (count_keepalives) */

/* log_init() for a test, debug output when IKED_TEST_DEBUG is set. */
void h_log_init(void);
/* With IKED_TEST_DEBUG, log lines from now on are tagged "eng<i>". */
void h_log_as(int i);

void h_setup(struct iked *const *eng, int n, const struct h_opts *o);
void h_teardown(void);

/* The index of an engine given to h_setup(). */
int h_index(const struct iked *d);

struct h_pkt *h_pop(void);
/* Queue a copy of p (len octets) for engine `to` (an injection). */
void h_push(int to, const struct ike_ep *from, const struct ike_ep *dst,
	    const uint8_t *p, size_t len);
/* Put k (popped) back at the tail of the queue. */
void h_requeue(struct h_pkt *k);
struct iked *h_eng(int i);
int h_count(void); /* engines given to h_setup() */
void h_deliver(const struct h_pkt *k);
void h_drop_all(void);
/* Deliver everything (and what it triggers), then run each loop once
 * (reapers, zero timers); returns the packets moved. */
unsigned h_pump(void);

/* iked_initiate() must succeed; then pump. */
void h_initiate(struct iked *d, const char *remote, const char *policy,
		const struct ksel *pkt);

/* A new configuration for d: remote "peer" at address `peer`, policy
 * "pol-peer" (reqid 7) from `me`; no authentication. */
void h_peer_config(struct iked *d, const char *me, const char *peer);

/* The established IKE SA (to `remote` unless NULL); fails if two. */
struct ike_sa *h_est(struct iked *d, const char *remote);
/* The first established IKE SA, without the uniqueness check. */
struct ike_sa *h_est_any(struct iked *d);
unsigned h_count_sas(struct iked *d); /* not dead */
unsigned h_count_est(struct iked *d); /* established */

#endif
