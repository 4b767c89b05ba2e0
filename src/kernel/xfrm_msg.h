/*
 * xfrm_msg.h - XFRM netlink message encoding and decoding, without any
 * socket: xfrm.c sends and receives, the unit tests and the fuzz harness
 * call these directly.
 *
 * Builders write one complete netlink message into a caller-provided
 * buffer (libmnl checked puts: a message that does not fit fails with
 * -EMSGSIZE, never overruns) and return its length or a negative errno.
 * Messages that carry keys must be wiped by the caller after sending.
 *
 * Parsers read only through struct rd: each netlink header and every
 * attribute is checked (type, length bounds from one table, duplicates)
 * before use; a malformed message yields -EBADMSG and nothing else.
 * Outputs are plain structs owned by the caller.
 */
#ifndef RACOON_XFRM_MSG_H
#define RACOON_XFRM_MSG_H

#include "kernel/kernel.h"
#include "lib/rd.h"

#include <stddef.h>
#include <stdint.h>

/* Largest request we build (an SA with keys is ~600 bytes). */
#define XNL_REQ_MAX 2048

/* Linux's name of the IPComp DEFLATE algorithm (XFRMA_ALG_COMP). */
#define XNL_COMP_DEFLATE "deflate"

/* One netlink message split off a datagram. */
struct xnl_msg {
	uint16_t type, flags;
	uint32_t seq, pid;
	struct rd payload; /* after struct nlmsghdr */
};

/* Splits the next message off *stream.  Returns 1 with *m filled, 0 at
 * end of stream, -EBADMSG if the header or its length is bad. */
int xnl_next(struct rd *stream, struct xnl_msg *m);

/* NLMSG_ERROR: *err = 0 (ACK) or negative errno; the extended-ACK text
 * (if any) is copied, sanitised, to msg. */
int xnl_parse_error(const struct xnl_msg *m, int *err, char *msg,
		    size_t msglen);

/* XFRM_MSG_NEWSA (GETSA/ALLOCSPI reply).  sa and c may be NULL. */
int xnl_parse_sa(const struct xnl_msg *m, struct ksa *sa, struct kcounters *c);

/* XFRM_MSG_NEWPOLICY (dump entry).  -ENOENT for sub-policies (MIPv6),
 * which racoon2 neither installs nor reports. */
int xnl_parse_policy(const struct xnl_msg *m, struct kpolicy *p);

/* Events: ACQUIRE, EXPIRE, POLEXPIRE, MIGRATE, MAPPING.  -ENOENT for
 * message types that are not events. */
int xnl_parse_event(const struct xnl_msg *m, struct kevent *ev);

/* Builders.  seq goes into nlmsg_seq; err (may be NULL) gets a reason. */
int xnl_build_sa(void *buf, size_t len, uint32_t seq, const struct ksa *sa,
		 char *err, size_t errlen);
int xnl_build_allocspi(void *buf, size_t len, uint32_t seq, uint8_t proto,
		       const struct kaddr *src, const struct kaddr *dst,
		       uint32_t reqid, uint32_t min, uint32_t max);
/* type: XFRM_MSG_DELSA or XFRM_MSG_GETSA */
int xnl_build_sa_id(void *buf, size_t len, uint32_t seq, uint16_t type,
		    uint8_t proto, const struct kaddr *dst, uint32_t spi);
/* type: XFRM_MSG_NEWPOLICY or XFRM_MSG_UPDPOLICY */
int xnl_build_policy(void *buf, size_t len, uint32_t seq, uint16_t type,
		     const struct kpolicy *p, char *err, size_t errlen);
/* By index when p->index != 0, else by selector and direction. */
int xnl_build_poldel(void *buf, size_t len, uint32_t seq,
		     const struct kpolicy *p);
/* GETPOLICY for one policy, by index or by selector and direction;
 * the kernel answers with XFRM_MSG_NEWPOLICY. */
int xnl_build_polget(void *buf, size_t len, uint32_t seq,
		     const struct kpolicy *p);
int xnl_build_poldump(void *buf, size_t len, uint32_t seq);
/* XFRM_MSG_MIGRATE for r (checked with kmigrate_validate). */
int xnl_build_migrate(void *buf, size_t len, uint32_t seq,
		      const struct kmigrate_req *r, char *err, size_t errlen);

#endif
