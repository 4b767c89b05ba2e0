/*
 * kink_migrate.c - kinkd follows a MIGRATE (see kink_migrate.h).
 *
 * Nothing here comes from the network: the event is spmd's (root, its
 * socket checked with SO_PEERCRED), already checked by the spmif
 * parser (spmif_migrate_parse: addresses of one family, known
 * direction and mode).  The SA pairs keep their SPIs, keys and
 * counters: only kinkd's record of where they are changes, so that a
 * later rekey, DELETE or STATUS goes to the new address.
 */
#include "kink/kink_migrate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "kink/kinkd.h"
#include "lib/log.h"
#include "spm/spmif_client.h"

#define MOD "kink"

static bool peer_at(const struct kpeer *p, const struct kaddr *a)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	if (a->af == AF_INET && p->addr.ss_family == AF_INET) {
		memcpy(&s4, &p->addr, sizeof(s4));
		return !memcmp(&s4.sin_addr, &a->u.v4, 4);
	}
	if (a->af == AF_INET6 && p->addr.ss_family == AF_INET6) {
		memcpy(&s6, &p->addr, sizeof(s6));
		return !memcmp(&s6.sin6_addr, &a->u.v6, 16);
	}
	return false;
}

/* The peer's address becomes a (same family: the parser refuses mixed
 * pairs), its port kept. */
static void peer_move(struct kpeer *p, const struct kaddr *a)
{
	if (a->af == AF_INET) {
		struct sockaddr_in s4;

		memcpy(&s4, &p->addr, sizeof(s4));
		s4.sin_addr = a->u.v4;
		memcpy(&p->addr, &s4, sizeof(s4));
	} else {
		struct sockaddr_in6 s6;

		memcpy(&s6, &p->addr, sizeof(s6));
		s6.sin6_addr = a->u.v6;
		memcpy(&p->addr, &s6, sizeof(s6));
	}
}

unsigned kink_migrate(struct kinkd *d, const struct spmif_migrate_ev *m)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];
	unsigned n = 0;

	for (struct kchild *c = d->children; c; c = c->next) {
		const struct kaddr *nl, *nr;
		struct kpeer *p = c->peer;

		if (m->reqid && c->reqid != m->reqid)
			continue;
		if (kaddr_eq(&c->local, &m->old_src) &&
		    kaddr_eq(&c->remote, &m->old_dst)) {
			nl = &m->new_src;
			nr = &m->new_dst;
		} else if (kaddr_eq(&c->local, &m->old_dst) &&
			   kaddr_eq(&c->remote, &m->old_src)) {
			nl = &m->new_dst;
			nr = &m->new_src;
		} else {
			continue;
		}
		log_info(MOD,
			 "SA pair in %08x out %08x: MIGRATE (selector %s) "
			 "%s <-> %s now %s <-> %s; SAs kept",
			 c->sa[0].spi_in, c->sa[0].spi_out, m->selector,
			 kaddr_str(&c->local, a, sizeof(a)),
			 kaddr_str(&c->remote, b, sizeof(b)),
			 kaddr_str(nl, x, sizeof(x)),
			 kaddr_str(nr, y, sizeof(y)));
		/* the peer this pair talks to follows (KINK messages) */
		if (p && peer_at(p, &c->remote))
			peer_move(p, nr);
		c->local = *nl;
		c->remote = *nr;
		n++;
	}
	if (!n)
		log_debug(MOD,
			  "MIGRATE (selector %s): no SA pair at those "
			  "endpoints",
			  m->selector);
	return n;
}
