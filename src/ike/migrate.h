/*
 * migrate.h - iked's side of MIGRATE (Mobile IPv6 movement, RFC 4877;
 * racoon2's iked sadb_x_migrate_callback): spmd tells the KMP that owns
 * a selector that its SA endpoints moved (spmif "602 MIGRATE", after the
 * kernel backend moved the policies and the SAs in place); the IKE SA
 * between the old endpoints moves to the new ones and keeps its CHILD
 * SAs, without any exchange.
 */
#ifndef IKED_MIGRATE_H
#define IKED_MIGRATE_H

#include "spm/spmif_client.h"

struct iked;

/* Returns how many IKE SAs moved. */
unsigned ike_migrate(struct iked *d, const struct spmif_migrate_ev *m);

#endif
