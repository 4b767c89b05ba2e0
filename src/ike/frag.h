/*
 * frag.h - reassembly of IKEv2 fragments (RFC 7383 §2.6), one message
 * at a time per direction of an IKE SA.  Pure: no sockets, keys or
 * clock of its own (the caller passes the time), so that it is unit
 * tested and fuzzed alone (tests/fuzz/ike_frag).
 *
 * Only fragments whose ICV verified reach it (input.c opens each SKF
 * first, §2.5.3), but the peer may still be hostile, so memory is
 * bounded: at most IKEV2_FRAG_MAX fragments and IKE_FRAG_MAX_BYTES of
 * plaintext per message, one message per direction, and a message not
 * completed within IKE_FRAG_TIMEOUT_MS is dropped.
 *
 * Ownership: struct ike_frag_rx owns the fragment copies (and a copy of
 * fragment 1's whole datagram, the identity of a retransmitted request);
 * ike_frag_reset() frees and wipes them.
 */
#ifndef RACOON_IKE_FRAG_H
#define RACOON_IKE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/codec/ikev2.h"

#define IKE_FRAG_MAX_BYTES  IKEV2_MAX_MSG
#define IKE_FRAG_TIMEOUT_MS 10000
/* The smallest IKE message a fragment may be (a configured or path MTU
 * below it is raised to it). */
#define IKE_FRAG_MIN_LEN 256

struct ike_frag_rx {
	bool active;
	uint32_t mid;
	uint16_t total, count;
	uint8_t first_np; /* fragment 1's Next Payload */
	size_t bytes;	  /* plaintext held */
	uint64_t start_ms;
	uint8_t *data[IKEV2_FRAG_MAX];
	uint16_t len[IKEV2_FRAG_MAX];
	uint8_t *first_raw; /* fragment 1 as received */
	size_t first_raw_len;
};

/* Results of ike_frag_add() besides 0 (stored, incomplete). */
#define IKE_FRAG_DONE 1

/*
 * Add a verified fragment (plaintext share data/len) of message mid.
 * raw/raw_len: the whole datagram (kept for fragment 1).  Returns
 * IKE_FRAG_DONE when every fragment is there, 0 when stored and more
 * are needed, or a refusal (nothing stored; an earlier partial message
 * is dropped only where said):
 *   -EINVAL   number 0, number > total, total 0 or > IKEV2_FRAG_MAX;
 *   -EALREADY a fragment number already held (duplicate or overlap:
 *             the first copy stays, RFC 7383 §2.6);
 *   -ESTALE   fewer Total Fragments than the message being reassembled
 *             (§2.6: an older fragmentation; a greater total restarts);
 *   -E2BIG    the message would exceed IKE_FRAG_MAX_BYTES (the partial
 *             message is dropped as well);
 *   -ENOMEM   out of memory (partial message dropped).
 * A fragment of another message ID, or arriving after the timeout,
 * drops the partial message and starts the new one.
 */
int ike_frag_add(struct ike_frag_rx *rx, uint32_t mid, uint16_t num,
		 uint16_t total, uint8_t np, const uint8_t *data, size_t len,
		 const uint8_t *raw, size_t raw_len, uint64_t now_ms);
/* After IKE_FRAG_DONE: the plaintext in order into out (cap octets);
 * returns its length or -ENOSPC.  The state stays until reset. */
long ike_frag_join(const struct ike_frag_rx *rx, uint8_t *out, size_t cap);
/* Drop a partial message older than the timeout; true if it did. */
bool ike_frag_expire(struct ike_frag_rx *rx, uint64_t now_ms);
void ike_frag_reset(struct ike_frag_rx *rx);

#endif
