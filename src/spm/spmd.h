/*
 * spmd.h - state of the spmd daemon shared between its main loop
 * (spmd.c) and the spmif server (spmif_server.c).
 *
 * struct spmd owns the event loop, the kernel handle, the policy
 * database and the current struct conf (replaced as a whole on reload).
 */
#ifndef RACOON_SPMD_H
#define RACOON_SPMD_H

#include <stdint.h>

#include "conf/conf.h"
#include "kernel/kernel.h"
#include "lib/ev.h"
#include "spm/spd.h"

struct spmif_server;
struct resolver;

/* Nameservers of the resolver section (racoon2's `resolver {
 * nameserver { ADDR [port N]; }; }`), the first one in use; changed
 * live by spmif NS ADD/DELETE/CHANGE (spmdctl ns). */
#define SPMD_NS_MAX 16
struct spmd_ns {
	struct kaddr addr;
	uint16_t port;
};

struct spmd {
	struct ev_loop *loop;
	struct kernel k;
	struct spd spd;
	struct conf *conf;
	const char *conf_path;
	const char *backend;
	struct spmif_server *srv;
	uint64_t started_ms;
	uint64_t acquire_seq;
	bool reload_pending;
	/* conf for which builds_same() held (spmd_core.c): a partial
	 * reload keeps it true (the run is checked), a full one resets it;
	 * saves a walk over every selector at each reload */
	const struct conf *conf_same;
	/* KEV_RESYNC that could not be completed: retried with backoff */
	struct ev_timer resync_timer;
	unsigned resync_delay_ms;
	char resync_reason[KEV_RESYNC_REASON_MAX];
	struct spmd_ns ns[SPMD_NS_MAX];
	size_t nns;
	/* FQDN list, cache and DNS proxy (resolver.h); NULL in tests */
	struct resolver *resolver;
};

/* Give the memory a full load freed back to the system (glibc). */
void spmd_trim(void);

/* Load the nameserver list from the configuration's resolver section. */
void spmd_ns_from_conf(struct spmd *d, const struct conf *c);

/* Rebuild the static policies from the running configuration (host
 * names resolved again, e.g. when the resolver's cache changed). */
void spmd_rebuild(struct spmd *d, const char *why);

/* Kernel said it lost state or events: reconcile the policies now, and
 * again later (backoff) until that succeeds. */
void spmd_resync(struct spmd *d, const char *reason);
/* Once, before the loop runs (sets up the retry timer). */
void spmd_resync_init(struct spmd *d);

/*
 * Re-read the configuration and apply the difference.  On a broken
 * configuration or a kernel failure the running state is kept and a
 * description (one problem per line) is left in errbuf.
 */
int spmd_reload(struct spmd *d, char *errbuf, size_t errlen,
		struct spd_plan *counts);

/* spmif server (spmif_server.c) */
struct spmif_server *spmif_server_new(struct spmd *d, const char *path,
				      const char *password_file, int *err);
void spmif_server_free(struct spmif_server *s);
/*
 * Test/fuzz hook: run data (request lines) through a new connection
 * whose replies go to fd (which it closes), then close it as a client
 * disconnect would.  path == NULL in spmif_server_new gives a server
 * without a listening socket for this use.
 */
int spmif_server_feed(struct spmif_server *s, int fd, const uint8_t *data,
		      size_t len, bool authed);
/*
 * Idle limit of spmif clients (spmif_server.c): an unfinished request
 * line, or an unregistered client without a request, is dropped after
 * ms milliseconds (0 = the default, 10 s).  For tests and tuning.
 */
void spmif_server_set_idle_ms(struct spmif_server *s, unsigned ms);
/* Route a kernel ACQUIRE to the KMP that owns the policy. */
void spmif_server_acquire(struct spmif_server *s, const struct kevent *ev);
/* A KEV_MIGRATE from the backend (spmd's own MIGRATE or a mobility
 * daemon's): the entry's templates follow and "602 MIGRATE" goes to the
 * KMP registered for the selector's remote (and to monitors). */
void spmif_server_migrate(struct spmif_server *s, const struct kevent *ev);
/* Tell the owner of d that spmd removed it. */
void spmif_server_dyn_gone(struct spd *spd, const struct spd_dyn *d,
			   const char *reason, void *arg);

#endif
