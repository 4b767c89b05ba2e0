/*
 * resolver.h - spmd's DNS proxy (resolver.c): with `resolver on;` it
 * listens on the dns_query addresses and forwards each query to the
 * live nameserver list of struct spmd.
 */
#ifndef RACOON_SPM_RESOLVER_H
#define RACOON_SPM_RESOLVER_H

#include "conf/conf.h"

struct spmd;
struct resolver;

/* NULL with *err == 0 when the resolver is off; NULL with *err < 0 when
 * a dns_query socket could not be opened.  Listens on c's dns_query
 * addresses (read at start only). */
struct resolver *resolver_new(struct spmd *d, const struct conf *c, int *err);
void resolver_free(struct resolver *r);

#endif
