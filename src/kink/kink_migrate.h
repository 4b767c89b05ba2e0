/*
 * kink_migrate.h - kinkd follows a MIGRATE that spmd announces
 * ("602 MIGRATE", doc/spmif.7): the SA pairs and the peer move to the
 * new endpoints, the SAs are kept.
 */
#ifndef RACOON_KINK_MIGRATE_H
#define RACOON_KINK_MIGRATE_H

struct kinkd;
struct spmif_migrate_ev;

/* Moves every SA pair between the event's old endpoints (either
 * orientation: spmd sends one event per policy direction) with its
 * reqid (any, for reqid 0) to the new ones, and the peers at the old
 * remote address with them (port kept).  The backend has already moved
 * the SAs in place (spmd's MIGRATE).  Returns the pairs moved; a second
 * event for the same move finds nothing and changes nothing. */
unsigned kink_migrate(struct kinkd *d, const struct spmif_migrate_ev *m);

#endif
