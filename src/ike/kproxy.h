/*
 * kproxy.h - iked's privileged parent serving kernel operations to the
 * unprivileged IKE engine (privilege separation, see priv.h).
 *
 * The engine opens the "userspace" backend's client over a socketpair
 * (k_open_channel); the parent answers the same protocol (esp_msg.h) by
 * calling the real backend (xfrm, pfkey, userspace), after checking each
 * request against what this engine may do:
 *   GETSPI             ESP/AH, both addresses of one family; the SPI it
 *                      gets is remembered as the engine's (larval).
 *   SA_ADD             update: only a larval SA of its own; new (the
 *                      outbound SA of a negotiation): only an SA that is
 *                      not already known; validated (ksa_validate).
 *   SA_DEL, SA_QUERY   only SAs of its own.
 *   POL_ADD            index 0 only (the backend allocates an owned
 *                      index, so the engine cannot name spmd's); the
 *                      index is remembered.
 *   POL_UPDATE/DEL     only policies of its own (by index).
 *   MIGRATE            only when every pair names, by reqid, protocol
 *                      and old endpoints, an installed SA of its own;
 *                      its table follows (also on a KEV_MIGRATE event,
 *                      when spmd or a mobility daemon moved them).
 *   HELLO              allowed (read only).
 *   POL_DUMP, SA_GET, SA_DUMP, FLUSH_OWN, STATS and anything else:
 *                      refused (EPERM); the engine never needs keys read
 *                      back, and it has a policy's reqid from spmd
 *                      (ACQUIRE, spmif REQID), not from the host's SPD.
 * A refused or malformed request gets an error reply with the reason and
 * a rate-limited log line; it changes nothing.  Kernel events are
 * forwarded to the engine unchanged.  The engine sends a k_batch
 * (kernel.h) as one ESPM_BATCH (esp_msg.h): its framing is checked whole,
 * then each request is served in order, checked as if alone, and the
 * replies go back in one datagram.  Several datagrams read in one wakeup
 * are answered together too (kproxy_batch_begin/_end).
 *
 * Ownership: struct kproxy borrows the kernel handle and owns its tables
 * of the engine's SAs and policies (bounded: KPROXY_MAX_SA entries);
 * kproxy_cleanup() removes whatever the engine left behind (after it
 * exited or crashed).
 */
#ifndef IKED_KPROXY_H
#define IKED_KPROXY_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

/* Enough for 131,072 CHILD SAs of road warriors: an inbound and an
 * outbound SA each, and three dynamic policies (out, in, fwd). */
#define KPROXY_MAX_SA  262144
#define KPROXY_MAX_POL 393216

/* Replies held at most between kproxy_batch_begin and _end (more are
 * sent as they fill): the parent reads up to this many requests per
 * wakeup (priv.c). */
#define KPROXY_BATCH 32

struct kproxy;

struct kproxy *kproxy_new(struct kernel *k);
void kproxy_free(struct kproxy *kp);

/*
 * Serves one request datagram read from fd (the request channel) and
 * sends the reply (and dump items) on fd.  Returns 0 when the request
 * was applied, a negative errno when it was refused or failed (the reply
 * says so), -EIO when the reply could not be sent.
 */
int kproxy_request(struct kproxy *kp, int fd, const uint8_t *req, size_t len);
/*
 * A request that came with descriptors: only ESPM_UDP_SOCKS (u8 n, the
 * engine's ESP-in-UDP sockets, kernel.h k_udp_esp_sock), passed on to
 * the backend with k_udp_give.  The descriptors are closed here either
 * way (r2espd checks each is a UDP socket bound to port 4500; the engine
 * could bind such sockets itself).  Returns as kproxy_request.
 */
int kproxy_request_fds(struct kproxy *kp, int fd, const uint8_t *req,
		       size_t len, int *fds, size_t nfds);
/*
 * A batch of requests (the engine's k_batch writes several at once):
 * between kproxy_batch_begin and kproxy_batch_end the replies of
 * kproxy_request(_fds) are held, in order, and _end sends them all with
 * one sendmmsg (the engine wakes once, not once per reply).  Each
 * request is still checked and applied on its own, in order, exactly as
 * alone.  _end returns 0 or -EIO when the replies could not be sent.
 */
void kproxy_batch_begin(struct kproxy *kp);
int kproxy_batch_end(struct kproxy *kp);
/* Serves a datagram on the event channel (only HELLO is expected). */
int kproxy_event_request(struct kproxy *kp, int evfd, const uint8_t *req,
			 size_t len);
/* Forwards one kernel event to the engine; 0 or negative errno. */
int kproxy_forward(struct kproxy *kp, int evfd, const struct kevent *ev);

/* Deletes every SA and policy the engine still owns; returns how many. */
size_t kproxy_cleanup(struct kproxy *kp);
size_t kproxy_sa_count(const struct kproxy *kp);
size_t kproxy_pol_count(const struct kproxy *kp);

#endif
