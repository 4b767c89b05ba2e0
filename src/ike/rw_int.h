/*
 * rw_int.h - internals shared by rw.c, cp.c and natt.c (not for the
 * rest of iked).
 *
 * Ownership: struct rw_sa records live in d->rw->sas, one per IKE SA id
 * that has road-warrior state (a lease, a CP exchange, an applied
 * address); rw_ike_down() drops them.
 */
#ifndef IKED_RW_INT_H
#define IKED_RW_INT_H

#include "ike/rw.h"

struct rw_sa {
	struct rw_sa *next, *prev;
	uint32_t sa_id;
	/* responder: what the CFG_REQUEST asked for, what we leased */
	bool cp_req, cp_v4, cp_v6, cp_dns4, cp_dns6;
	uint16_t cp_err; /* INTERNAL_ADDRESS_FAILURE, 0 = ok */
	struct kaddr lease4, lease6;
	/* initiator: the address(es) the responder assigned, applied */
	bool cp_sent;
	struct kaddr vip4, vip6;
	char ifname[16];
};

struct rw_sa *rw_sa_rec(struct iked *d, uint32_t sa_id, bool create);
void rw_polreq_fill(struct rw_polreq *q, const struct ike_policy *p,
		    const struct ike_sa *sa, const struct ikev2_ts *peer,
		    const struct ikev2_ts *ours);
int rw_bind_add(struct iked *d, const struct rw_polreq *q,
		const struct ike_sa *sa, uint32_t child_id,
		const struct ikev2_ts *peer_ts, uint32_t *reqid, char *err,
		size_t errlen, struct kop *spi);
struct rw_bind *rw_bind_find(struct iked *d, uint32_t child_id);

#endif
