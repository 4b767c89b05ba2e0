/*
 * dos.h - iked's resource limits against denial of service (dos.c).
 *
 * Half-open IKE SAs (a responder SA between IKE_SA_INIT and a verified
 * IKE_AUTH) are the only state an unauthenticated peer can make iked
 * keep.  They are bounded four ways: in total (half_open_max), per
 * source address, per source prefix (/24 for IPv4, /64 for IPv6: what
 * one site or one customer typically holds) and in age (a timeout that
 * shrinks as the table fills).  When the table is full a new request
 * displaces the oldest entry of the most loaded prefix, but only when
 * its own prefix holds fewer entries, so displacement always moves the
 * table towards an even share per prefix and never lets one prefix
 * evict another that holds less.
 *
 * Authenticated state is bounded by established IKE SAs per peer
 * identity and CHILD SAs per IKE SA.  Every refusal is counted
 * (struct dos_stats, `ikedctl show stats`) and logged rate-limited.
 *
 * Ownership: struct dos lives in struct iked; the buckets are owned by
 * it (one per prefix with at least one half-open SA, freed when the
 * last one leaves).  Each half-open ike_sa is linked into the global
 * age list and its bucket's list through its struct dos_link; sa.c
 * calls dos_ho_del() before it kills or frees one.
 */
#ifndef IKED_DOS_H
#define IKED_DOS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"

struct iked;
struct ike_sa;
struct ike_remote;

#define DOS_HASH      256
#define DOS_PREFIX4   24    /* IPv4 bits that make one prefix */
#define DOS_PREFIX6   64    /* IPv6 bits that make one prefix */
#define DOS_HO_MIN_MS 2000  /* shortest half-open timeout */
#define DOS_INIT_MAX  16384 /* largest IKE_SA_INIT request kept */

struct dos_bucket {
	struct dos_bucket *next;    /* hash chain */
	struct kaddr prefix;	    /* source address, host bits zero */
	unsigned n;		    /* half-open SAs in this prefix */
	struct ike_sa *head, *tail; /* oldest first */
};

/* Embedded in struct ike_sa while it is half-open. */
struct dos_link {
	struct ike_sa *prev, *next;   /* global age list */
	struct ike_sa *pprev, *pnext; /* its bucket's list */
	struct dos_bucket *b;
	uint64_t since_ms;
};

struct dos_stats {
	uint64_t cookies_sent;	 /* COOKIE notifies sent (§2.6) */
	uint64_t cookies_bad;	 /* requests with a wrong cookie */
	uint64_t refused_addr;	 /* half-open limit per address */
	uint64_t refused_prefix; /* half-open limit per prefix */
	uint64_t refused_table;	 /* table full, nothing to displace */
	uint64_t refused_rate;	 /* creation rate under pressure */
	uint64_t refused_size;	 /* IKE_SA_INIT larger than DOS_INIT_MAX */
	uint64_t displaced;	 /* half-open SAs displaced */
	uint64_t expired;	 /* half-open SAs timed out (dos sweep) */
	uint64_t refused_id;	 /* IKE SAs per identity */
	uint64_t refused_child;	 /* CHILD SAs per IKE SA */
	unsigned half_open_peak;
};

struct dos {
	struct dos_bucket *hash[DOS_HASH];
	struct ike_sa *oldest, *youngest; /* half-open SAs by age */
	unsigned nbuckets;
	uint64_t tokens_ms; /* creation rate limit: last refill */
	uint32_t tokens;    /* new half-open SAs allowed now */
	struct dos_stats st;
};

/* §2.6: must this IKE_SA_INIT carry a valid COOKIE?  Yes with
 * cookie_required, from cookie_threshold half-open SAs on, and when its
 * source address or prefix holds half its quota. */
bool dos_cookie_needed(const struct iked *d, const struct ike_remote *r,
		       const struct kaddr *src);
/*
 * IKE_SA_INIT admission, after the cookie check and before any DH
 * work: expire old half-open SAs, then apply the per-address,
 * per-prefix and table limits (displacing one entry if that is fair).
 * Returns true if a new half-open SA may be created for src.
 */
bool dos_init_admit(struct iked *d, const struct kaddr *src, size_t len);
/* The part of dos_init_admit() that does not depend on the cookie,
 * called before the COOKIE check (a source over its limits gets no
 * COOKIE either). */
bool dos_init_precheck(struct iked *d, const struct kaddr *src, size_t len);
/* Account sa (responder, peer address set) as half-open. */
int dos_ho_add(struct ike_sa *sa);
/* No longer half-open (established, killed or freed). */
void dos_ho_del(struct ike_sa *sa);
/* Remove half-open SAs older than the current timeout. */
void dos_sweep(struct iked *d);
/* The half-open timeout for the current fill (ms, 0 = none). */
unsigned dos_ho_timeout_ms(const struct iked *d);
/* The prefix a source address is counted in. */
void dos_prefix(const struct kaddr *a, struct kaddr *out);
/* Half-open SAs from this address / its prefix. */
unsigned dos_count_addr(const struct iked *d, const struct kaddr *a);
unsigned dos_count_prefix(const struct iked *d, const struct kaddr *a);

/* IKE_AUTH responder: may sa (peer ID known) become established? */
bool dos_id_admit(struct ike_sa *sa);
/* CREATE_CHILD_SA responder: may the peer add a (non-rekey) child? */
bool dos_child_admit(struct ike_sa *sa);

/* Free every bucket (daemon exit; the SAs are freed separately). */
void dos_free(struct iked *d);

#endif
