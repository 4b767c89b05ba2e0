/*
 * codec_int.h - helpers shared by the files of src/ike/codec only (not
 * part of the engine's API).
 */
#ifndef RACOON_IKEV2_CODEC_INT_H
#define RACOON_IKEV2_CODEC_INT_H

#include "ike/codec/ikev2.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Open a payload: chain it from the previous one, write the generic
 * header; *start receives its offset for pl_end().  Fails once SK is
 * closed (nothing may follow SK, RFC 7296 §3.14). */
int ikev2_pl_begin(struct ikev2_wr *b, uint8_t type, bool critical,
		   size_t *start);
/* Back-patch the payload length (RFC 7296 §3.2: includes the header). */
int ikev2_pl_end(struct ikev2_wr *b, size_t start);

/* Syntax validators used by the payload table (0 or INVALID_SYNTAX). */
int ikev2_check_body(uint8_t type, struct rd body);

/* Walk one payload chain (outer or SK contents); see msg.c. */
int ikev2_parse_chain(struct ike_msg *m, uint8_t first, struct rd r,
		      bool inner);
/* Record why m was refused outside the chain walk (sk.c). */
void ikev2_msg_reject(struct ike_msg *m, enum ikev2_reject why);

/* A 64-bit big-endian counter (IVs); SPIs: ikev2_spi64_put(). */
static inline void put_be64(uint8_t *p, uint64_t v)
{
	ikev2_spi64_put(p, v);
}

#endif
