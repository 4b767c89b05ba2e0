/*
 * migrate.c - an IKE SA follows a MIGRATE (see migrate.h).
 *
 * The IKE SA is the one between the pair's old endpoints (either
 * orientation: spmd sends one event per policy direction) that holds a
 * CHILD SA of the pair's reqid (any, for reqid 0).  Its local and peer
 * addresses become the new ones, ports stay; the CHILD SAs' SA endpoints
 * are the IKE SA's (child.c endpoints()), so they follow without being
 * touched: the backend has already moved them in place.  A second event
 * for the same move finds nothing at the old endpoints and changes
 * nothing.  Nothing here comes from the network: spmd is trusted (root,
 * SO_PEERCRED-checked), and its event was checked by the spmif parser.
 */
#include "ike/migrate.h"

#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

static bool has_reqid(const struct ike_sa *sa, uint32_t reqid)
{
	if (!reqid)
		return true;
	for (const struct child_sa *c = sa->children; c; c = c->next)
		if (c->reqid == reqid)
			return true;
	return false;
}

unsigned ike_migrate(struct iked *d, const struct spmif_migrate_ev *m)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];
	unsigned n = 0;

	for (struct ike_sa *sa = d->sas; sa; sa = sa->next) {
		const struct kaddr *nl, *np;

		if (sa->state == IKE_S_DEAD || !has_reqid(sa, m->reqid))
			continue;
		if (kaddr_eq(&sa->local.addr, &m->old_src) &&
		    kaddr_eq(&sa->peer.addr, &m->old_dst)) {
			nl = &m->new_src;
			np = &m->new_dst;
		} else if (kaddr_eq(&sa->local.addr, &m->old_dst) &&
			   kaddr_eq(&sa->peer.addr, &m->old_src)) {
			nl = &m->new_dst;
			np = &m->new_src;
		} else {
			continue;
		}
		log_info(MOD,
			 "IKE SA #%u: MIGRATE (selector %s) %s <-> %s now "
			 "%s <-> %s; CHILD SAs kept",
			 sa->id, m->selector,
			 kaddr_str(&sa->local.addr, a, sizeof(a)),
			 kaddr_str(&sa->peer.addr, b, sizeof(b)),
			 kaddr_str(nl, x, sizeof(x)),
			 kaddr_str(np, y, sizeof(y)));
		sa->local.addr = *nl;
		sa->peer.addr = *np;
		n++;
	}
	if (!n)
		log_debug(MOD,
			  "MIGRATE (selector %s): no IKE SA at those "
			  "endpoints",
			  m->selector);
	return n;
}
