/*
 * resync.c - iked's reaction to KEV_RESYNC: the kernel backend lost
 * state or events (r2espd restarted empty, the netlink event queue
 * overflowed), so the CHILD SAs iked negotiated may be missing from the
 * data plane while both IKE daemons still think they are up.
 *
 * For each INSTALLED CHILD SA of an ESTABLISHED IKE SA both of its SAs
 * are looked up (sa_query).  Present: nothing to do (an overflow usually
 * loses events, not SAs).  Missing: iked cannot simply add them again,
 * because it does not keep ESP keys after the install (iked.h: struct
 * child_sa holds none, the key material is wiped once the SAs are in the
 * kernel; keeping it only for this would widen what a memory disclosure
 * reveals).  It therefore starts a CHILD SA rekey (RFC 7296 §2.8,
 * CREATE_CHILD_SA with REKEY_SA): fresh keys from SK_d, new SAs on both
 * ends, and the peer deletes its half of the old pair when we delete it.
 * The directions found missing are marked as not installed so that the
 * final delete of the old CHILD SA does not complain about them.
 *
 * Memory: nothing is allocated here; the SA table is iked's.
 */
#include "ike/resync.h"

#include <errno.h>
#include <string.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

/* The SA endpoints of c, as child.c installs them (tunnel endpoints of
 * the policy when configured, else the IKE addresses). */
static void sa_endpoints(struct iked *d, const struct child_sa *c,
			 struct kaddr *local, struct kaddr *peer)
{
	const struct ike_policy *p = cfg_policy_by_name(d->cfg, c->policy);

	*local = c->ike->local.addr;
	*peer = c->ike->peer.addr;
	if (p && p->mode == KMODE_TUNNEL) {
		if (p->my_sa.af == local->af)
			*local = p->my_sa;
		if (p->peer_sa.af == peer->af && !p->peer_sa_rw)
			*peer = p->peer_sa;
	}
}

/* Is the SA (proto, dst, spi) in the backend?  Only a definite "no"
 * (ENOENT/ESRCH) counts as missing. */
static bool sa_missing(struct iked *d, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi)
{
	struct kcounters kc;
	int rc = k_sa_query(&d->kern, proto, dst, spi, &kc);

	if (rc == -ENOENT || rc == -ESRCH)
		return true;
	if (rc < 0)
		log_warn(MOD, "resync: cannot query SA %08x: %s", spi,
			 d->kern.last_error);
	return false;
}

void iked_resync(struct iked *d, const char *reason)
{
	unsigned intact = 0, rekeyed = 0, failed = 0;
	struct ike_sa *sa;
	struct child_sa *c;

	if (!d->kern_open)
		return;
	log_warn(MOD,
		 "kernel backend lost state or events (%s): checking "
		 "the CHILD SAs",
		 reason ? reason : "?");
	for (sa = d->sas; sa; sa = sa->next) {
		if (sa->state != IKE_S_ESTABLISHED)
			continue;
		for (c = sa->children; c; c = c->next) {
			struct kaddr local, peer;
			bool in_gone, out_gone;

			if (c->state != CHILD_S_INSTALLED)
				continue;
			sa_endpoints(d, c, &local, &peer);
			in_gone = c->in_installed &&
				  sa_missing(d, c->proto, &local, c->spi_in);
			out_gone = c->out_installed &&
				   sa_missing(d, c->proto, &peer, c->spi_out);
			if (!in_gone && !out_gone) {
				intact++;
				continue;
			}
			log_info(MOD,
				 "CHILD SA #%u (%s): %s%s%s SA gone from "
				 "the kernel backend; rekeying",
				 c->id, c->policy, in_gone ? "inbound" : "",
				 in_gone && out_gone ? " and " : "",
				 out_gone ? "outbound" : "");
			if (in_gone)
				c->in_installed = false;
			if (out_gone)
				c->out_installed = false;
			/* no keys kept: new ones by CREATE_CHILD_SA */
			if (ike_queue_child_rekey(sa, c) < 0) {
				failed++;
				log_err(MOD,
					"CHILD SA #%u: cannot queue the "
					"rekey",
					c->id);
				continue;
			}
			rekeyed++;
		}
	}
	log_info(MOD,
		 "resync (%s): %u CHILD SAs intact, %u being rekeyed, "
		 "%u failed",
		 reason ? reason : "?", intact, rekeyed, failed);
}
