/*
 * resolver.h - spmd's resolver (racoon2's `resolver { ... }` section).
 *
 * The parent half (resolver.c) lives in spmd: the FQDN list and its
 * address cache (spmif FQDN ADD/DEL/QUERY/LIST), the nameserver list it
 * hands to the child (spmif NS), and the host names of the
 * configuration, resolved through the cache when `resolver on;`.  The
 * child half (resolver_child.c) is the DNS proxy, forked at start into
 * a sandbox; the two speak resolver_msg.h over a socketpair.
 */
#ifndef RACOON_SPM_RESOLVER_H
#define RACOON_SPM_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "kernel/kernel.h"
#include "lib/ev.h"

struct spmd;
struct resolver;

#define RESOLVER_FQDN_MAX 256

/*
 * Always returns the FQDN list object (NULL only on -ENOMEM in *err).
 * With `resolver on;` it binds the dns_query sockets (as root), forks
 * the sandboxed proxy (closing keep_closed in the child) and makes the
 * configuration's host names resolve through the cache; *err < 0 when
 * that fails (the caller exits).
 */
struct resolver *resolver_new(struct spmd *d, const struct conf *c,
			      int keep_closed, int *err);
/* After the event loop exists: watch the child, start the timers. */
int resolver_attach(struct resolver *r, struct ev_loop *loop);
/* Stops the child (closes the socketpair, reaps it) and frees. */
void resolver_free(struct resolver *r);
/* The nameserver list of struct spmd changed: tell the child. */
void resolver_ns_changed(struct resolver *r);
bool resolver_running(const struct resolver *r);

/* spmif FQDN: 0; -EINVAL not a host name, -EEXIST/-ENOENT, -ENOSPC */
int resolver_fqdn_add(struct resolver *r, const char *name);
int resolver_fqdn_del(struct resolver *r, const char *name);
size_t resolver_fqdn_count(const struct resolver *r);
const char *resolver_fqdn_name(const struct resolver *r, size_t i);
/* The FQDN whose cached addresses hold a, or NULL. */
const char *resolver_fqdn_query(const struct resolver *r,
				const struct kaddr *a);

/* The child process (resolver_child.c); returns its exit status. */
int resolver_child_run(int ctl, const int *lfd, size_t nlfd, int up4, int up6,
		       const char *user, const char *chroot_dir);

/* Test hook: feed one message as if the child had sent it. */
int resolver_child_msg(struct resolver *r, const uint8_t *p, size_t n);

#endif
