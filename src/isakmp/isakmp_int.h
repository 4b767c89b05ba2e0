/*
 * isakmp_int.h - what isakmp.c (Quick Mode chain, payload bodies) shares
 * with isakmp_msg.c (whole ISAKMP messages).  Not for other modules.
 */
#ifndef RACOON_ISAKMP_INT_H
#define RACOON_ISAKMP_INT_H

#include "isakmp/isakmp.h"

/* Body decoders: 0, -EBADMSG (malformed), -ENOTSUP (DOI, situation or
 * ID type not understood), -E2BIG (over the view's limits). */
int isakmp_parse_sa(struct rd b, struct isakmp_sa *sa);
int isakmp_parse_id(struct rd b, struct isakmp_id *id);
int isakmp_parse_notify(struct rd b, struct isakmp_notify *n);
int isakmp_parse_delete(struct rd b, struct isakmp_delete *d, bool doi0);

/* Body writers. */
void isakmp_write_sa(struct wr *w, const struct isakmp_sa *sa);
/* Patch the Payload Length of the payload whose generic header is at off. */
void isakmp_pl_end(struct wr *w, size_t off);

#endif
