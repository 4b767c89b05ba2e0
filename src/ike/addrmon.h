/*
 * addrmon.h - iked's view of its own addresses (rtnetlink), and the
 * MOBIKE initiator's reaction when they change (RFC 4555 §3.5).
 *
 * The monitor is opened before the sandbox (it binds two NETLINK_ROUTE
 * sockets) when a remote has `mobike on`: one socket subscribed to the
 * address and route groups of both families, one for RTM_GETROUTE and
 * the initial RTM_GETADDR dump.  Every message is split by xnl_next()
 * and parsed by rtnl_parse() (one attribute table per message kind: size
 * bounds, no duplicates; a malformed message is dropped with a
 * rate-limited log line).  A change (re)arms a short settle timer; then
 * each established IKE SA that we initiated with MOBIKE asks the kernel
 * for the route to its peer: a different source address (the old one
 * deleted, or the route changed) starts mobike_update() from there.
 * No route to the peer: the peer's additional addresses are tried.
 *
 * The local address table (bounded, AM_ADDRS_MAX) gives the
 * ADDITIONAL_IP4/IP6_ADDRESS list we send (RFC 4555 §3.4, §3.6).
 */
#ifndef RACOON_IKE_ADDRMON_H
#define RACOON_IKE_ADDRMON_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "kernel/rtnl_msg.h"

struct iked;

#define AM_ADDRS_MAX 32 /* local addresses remembered */
#define AM_SETTLE_MS 100

/* Opens the monitor (and dumps the current addresses) when some remote
 * has MOBIKE on.  Failure is logged: MOBIKE then only answers. */
int addrmon_open(struct iked *d);
void addrmon_close(struct iked *d);

/* Feeds one event into the address table and arms the settle timer
 * (the event socket's reader calls it; tests call it directly). */
void addrmon_event(struct iked *d, const struct rtnl_ev *ev);

/* The route lookup the check uses: source address towards peer. */
typedef int (*addrmon_route_fn)(struct iked *d, const struct kaddr *peer,
				struct kaddr *src);

/* Checks every MOBIKE IKE SA we initiated and starts an update where
 * the source towards the peer is no longer the IKE SA's.  route NULL:
 * RTM_GETROUTE.  Returns the number of updates started. */
unsigned addrmon_check(struct iked *d, addrmon_route_fn route);

/* Our usable addresses other than in_use (global scope, not on the
 * loopback device, not tentative/deprecated, and with an IKE socket
 * that can send from them), at most max.  0 without a monitor. */
unsigned addrmon_additional(struct iked *d, const struct kaddr *in_use,
			    struct kaddr *out, unsigned max);

#endif
