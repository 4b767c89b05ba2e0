/*
 * rtnl_msg.h - the rtnetlink messages iked's address monitor reads
 * (src/ike/addrmon.c): RTM_NEWADDR/DELADDR and RTM_NEWROUTE/DELROUTE
 * (events and RTM_GETROUTE / RTM_GETADDR answers).  No socket, like
 * xfrm_msg.h: the unit tests and the netlink fuzz harness call it.
 *
 * Reads only through struct rd: the fixed header (struct ifaddrmsg /
 * struct rtmsg) field by field, then the attributes against the table of
 * the message's kind (include/uapi/linux/if_addr.h, rtnetlink.h): payload
 * size bounds, addresses exactly the family's size, no duplicates;
 * unknown attribute types are skipped.
 */
#ifndef RACOON_RTNL_MSG_H
#define RACOON_RTNL_MSG_H

#include <stdint.h>

#include "kernel/kernel.h"
#include "kernel/xfrm_msg.h"

/* One rtnetlink message as far as iked cares. */
struct rtnl_ev {
	uint16_t type;	   /* RTM_NEWADDR/DELADDR/NEWROUTE/DELROUTE */
	uint32_t ifindex;  /* address: ifa_index; route: RTA_OIF or 0 */
	uint8_t plen;	   /* prefix length (address or destination) */
	uint8_t scope;	   /* ifa_scope / rtm_scope */
	uint32_t flags;	   /* IFA_F_* (IFA_FLAGS when present) */
	struct kaddr addr; /* IFA_LOCAL, else IFA_ADDRESS; route: RTA_DST */
	struct kaddr src;  /* route: RTA_PREFSRC (af 0 when absent) */
};

/* Parses one rtnetlink message (split off by xnl_next()).  0: *ev
 * filled; -ENOENT: a type or family not watched; -EBADMSG: malformed. */
int rtnl_parse(const struct xnl_msg *m, struct rtnl_ev *ev);

#endif
