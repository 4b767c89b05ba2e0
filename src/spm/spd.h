/*
 * spd.h - spmd's security policy database: what spmd installed in the
 * kernel, the difference between two desired sets (reload), and the
 * dynamic (road warrior) policies the key daemons add over spmif.
 *
 * A struct spd_entry is one kernel policy (one direction) plus the
 * racoon2.conf names it came from; names are copied, so a set outlives
 * the struct conf it was built from.  struct spd owns its sets, its
 * dynamic policies and the serial bitmap; the struct kernel it drives
 * is borrowed.
 *
 * Ownership tag: every policy spmd installs gets an explicit kernel
 * index KPOL_INDEX_MAGIC << 24 | serial << 3 | dir (kernel.h).  spmd
 * picks the serials itself (bitmap below) so that an index never
 * collides with a policy already in the kernel - Linux would silently
 * pick another, untagged index on a collision.
 */
#ifndef RACOON_SPD_H
#define RACOON_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "lib/ev.h"
#include "spm/spmif_client.h"

struct spd_entry {
	struct kpolicy kp; /* desired content; kp.index once installed */
	char selector[SPMIF_NAME_MAX];
	char policy[SPMIF_NAME_MAX];
	char remote[SPMIF_NAME_MAX];
	enum spmif_kmp kmp; /* first acceptable_kmp of the remote, 0 none */
	uint32_t dyn_id;    /* 0 = static */
	bool installed;
};

struct spd_set {
	struct spd_entry *v; /* owned */
	size_t n, cap;
};

void spd_set_init(struct spd_set *s);
void spd_set_free(struct spd_set *s);
int spd_set_push(struct spd_set *s, const struct spd_entry *e);

/* Identity of a kernel policy: direction + selector (as XFRM). */
int spd_key_cmp(const struct spd_entry *a, const struct spd_entry *b);
/* Same kernel content (action, priority, templates)? */
bool spd_content_eq(const struct kpolicy *a, const struct kpolicy *b);

/*
 * Plan to go from set `old` (installed) to set `new` (desired):
 * keep[i] / upd[i] pair an old index with a new one, add[] are new
 * indexes, del[] old ones.  Pure function, no kernel access.
 */
struct spd_pair {
	size_t o, n;
};
struct spd_plan {
	size_t *add, nadd;
	size_t *del, ndel;
	struct spd_pair *upd, *keep;
	size_t nupd, nkeep;
	size_t ndup; /* duplicate keys dropped from new (first one wins) */
};
int spd_plan_make(const struct spd_set *old, struct spd_set *new,
		  struct spd_plan *p);
void spd_plan_free(struct spd_plan *p);

/* A dynamic policy: up to 3 kernel policies (out, in, fwd). */
struct spd_dyn {
	uint32_t id;
	void *owner; /* spmif connection, NULL = persistent */
	uint64_t lifetime_sec;
	uint64_t expires_ms; /* 0 = never */
	struct ev_timer timer;
	struct spd *spd;
	size_t n;
	struct spd_entry e[3];
	struct spd_dyn *next;
};

struct spd_stats {
	uint64_t acquires, acquires_routed, acquires_dropped;
	uint64_t reloads, reload_failures;
	uint64_t reloads_partial; /* of reloads: only changed selectors */
	uint64_t dyn_added, dyn_removed;
	uint64_t kernel_errors;
	uint64_t resyncs, resync_reinstalled, resync_removed;
};

/* Called when a dynamic policy disappears other than by its owner's
 * request (lifetime, kernel expiry). */
typedef void (*spd_dyn_gone_cb)(struct spd *spd, const struct spd_dyn *d,
				const char *reason, void *arg);

struct spd {
	struct kernel *k;     /* borrowed */
	struct ev_loop *loop; /* borrowed, may be NULL (tests) */
	struct spd_set stat;  /* installed static policies */
	/* stat is every configured static policy, in configuration order
	 * (none failed, no duplicate dropped): spd_reload_part() may apply */
	bool stat_exact;
	struct spd_dyn *dyn;
	uint32_t next_dyn_id;
	uint8_t *serials; /* KPOL_INDEX_SERIAL_MAX + 1 bits */
	uint32_t next_serial;
	/* reqids: auto-assigned ones are stable per key across reloads */
	struct spd_reqid *reqids;
	size_t nreqids, capreqids;
	uint32_t next_reqid;
	struct spd_stats st;
	spd_dyn_gone_cb gone_cb;
	void *gone_arg;
};

#define SPD_REQID_BASE 0x1000u

/*
 * Incremental reload (spmd_core.c): the static entries stat[from, to)
 * -- those of a run of selectors -- become `desired` (the entries of the
 * selectors replacing them).  Same plan and all-or-nothing apply as
 * spd_reload() on the two runs; -EAGAIN, with nothing done, when the
 * result could differ from a full reload: stat not exact, a duplicate
 * key in desired, or a key of desired also outside [from, to).
 */
int spd_reload_part(struct spd *spd, size_t from, size_t to,
		    struct spd_set *desired, char *errbuf, size_t errlen,
		    struct spd_plan *counts);

int spd_init(struct spd *spd, struct kernel *k, struct ev_loop *loop);
/* Does not touch the kernel (see spd_remove_all). */
void spd_free(struct spd *spd);

/* Reqid for a selector pair key (auto-assigned, stable): n bytes,
 * binary (NULs too), or a string.  Keys with a NUL never equal a
 * string key, nor the "=N" keys of explicit reqids. */
uint32_t spd_reqid_for_key(struct spd *spd, const void *key, size_t n);
uint32_t spd_reqid_for(struct spd *spd, const char *key);
/* Mark an explicitly configured reqid as taken. */
void spd_reqid_reserve(struct spd *spd, uint32_t reqid);
uint32_t spd_reqid_fresh(struct spd *spd);

/*
 * Startup: make the kernel hold exactly `desired`.  Racoon2's own
 * policies left by an earlier spmd (recognised by the index tag) that
 * match an entry are adopted, changed ones are updated in place, the
 * rest are deleted; foreign policies are never touched.  Consumes
 * desired (moves it into spd->stat).  errbuf receives a summary of
 * failures.  Returns 0, or negative errno when some entry failed (the
 * others are still installed).
 */
int spd_start(struct spd *spd, struct spd_set *desired, char *errbuf,
	      size_t errlen);

/*
 * Reload: apply only the difference between the installed static set
 * and desired.  New policies are added and changed ones updated in
 * place before stale ones are deleted, so no traffic is unprotected in
 * between.  On a kernel failure in the add/update phase everything done
 * so far is rolled back and the old state is kept (-errno).  Consumes
 * desired on success; on failure desired is freed.  *plan_out (optional)
 * receives the counts.
 */
int spd_reload(struct spd *spd, struct spd_set *desired, char *errbuf,
	       size_t errlen, struct spd_plan *counts);

/* Exit: delete every policy spmd installed (static and dynamic). */
void spd_remove_all(struct spd *spd);

/*
 * Resynchronisation (kernel event KEV_RESYNC: the backend lost state or
 * events, e.g. r2espd restarted empty).  The backend's policies are
 * dumped and made to match what spmd owns: every static and dynamic
 * policy that is missing is installed again under its index, one whose
 * content differs is updated, and policies with racoon2's ownership tag
 * that spmd does not know are deleted (after the reinstalls, so nothing
 * is unprotected in between).  Foreign policies are never touched.
 * Returns 0, or negative errno when the dump failed or some policy
 * could not be put back (the caller retries later); *counts (optional)
 * receives what was done and a summary is logged.
 */
struct spd_resync_counts {
	size_t present, reinstalled, updated, removed, failed;
};
int spd_resync(struct spd *spd, const char *reason,
	       struct spd_resync_counts *counts);

/* Lookups by kernel index: NULL if not ours. */
const struct spd_entry *spd_find_index(const struct spd *spd, uint32_t index,
				       const struct spd_dyn **dyn);

/*
 * The reqid a key daemon installs a CHILD SA with (spmif REQID): the
 * first IPsec entry (installed or not: a backend being refilled after a
 * RESYNC must not change it) (static, then dynamic) made from selector
 * `selector` or from policy `policy` (NULL = any; not both NULL) whose
 * traffic selector is *sel (addresses, prefix lengths and protocol; an
 * inbound entry's mirrored; NULL = any) and whose template carries a
 * reqid.  Both directions of a pair share their reqid (spd_conf.c).
 * NULL if none; *reqid set otherwise.
 */
const struct spd_entry *spd_find_reqid(const struct spd *spd,
				       const char *selector, const char *policy,
				       const struct ksel *sel, uint32_t *reqid);

/* Dynamic policies. */
int spd_dyn_add(struct spd *spd, void *owner, uint64_t lifetime_sec,
		const struct spd_entry *e, size_t n, struct spd_dyn **out,
		char *errbuf, size_t errlen);
int spd_dyn_del(struct spd *spd, uint32_t id);
struct spd_dyn *spd_dyn_find(struct spd *spd, uint32_t id);
/* Remove every dynamic policy owned by owner (client disconnect). */
size_t spd_dyn_drop_owner(struct spd *spd, void *owner);
/* Kernel says a policy expired: forget it if it is a dynamic one. */
void spd_pol_expired(struct spd *spd, uint32_t index);

/*
 * MIGRATE (racoon2's spmif MIGRATE): for every installed entry of
 * selector or policy `name` (static) or of dynamic policy "#id", the
 * backend's MIGRATE (k_migrate) moves the kernel policy and the SAs of
 * its templates from old_src/old_dst to new_src/new_dst in place (either
 * orientation; transport templates by proto, mode and reqid); the
 * entry's templates follow.  Returns the number of kernel policies
 * moved (0: none of them had those endpoints), -ENOENT for an unknown
 * name, or negative errno.  The backend announces each move as a
 * KEV_MIGRATE event, which spmd forwards to the KMP (spmd.c).
 */
int spd_migrate(struct spd *spd, const char *name, const struct kaddr *os,
		const struct kaddr *od, const struct kaddr *ns,
		const struct kaddr *nd);
/* The entry's templates after a MIGRATE r (idempotent). */
void spd_migrated_entry(struct spd_entry *e, const struct kmigrate_req *r);
/* The installed entry with exactly this selector and direction. */
struct spd_entry *spd_find_sel(struct spd *spd, const struct ksel *sel,
			       enum kdir dir, const struct spd_dyn **dyn);

/*
 * Appends a formatted reason to the string in buf[len] (the errbuf of
 * the functions above and of spd_conf.c): what does not fit is dropped,
 * a NULL or full buffer is left alone.
 */
void spd_errf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocate a tagged index for dir (0 when exhausted). */
uint32_t spd_index_alloc(struct spd *spd, enum kdir dir);
void spd_index_release(struct spd *spd, uint32_t index);

#endif
