/*
 * cwork.h - the IKE engine's crypto workers: a pool of threads that run
 * self-contained jobs (Diffie-Hellman key generation and derivation,
 * SKEYSEED and the SK_* keys for a responder's IKE_SA_INIT) while the
 * event loop goes on; each finished job is handed back to the loop
 * through an eventfd and its `done` runs there.
 *
 * Ownership (ARCHITECTURE.md "iked threads"): the event loop owns every
 * IKE SA; a job owns copies of what it reads (never a pointer into an
 * SA) and names its SA by id + SPIs, which `done` looks up again -- an
 * SA freed or replaced meanwhile is simply not found, and the result is
 * wiped.  Workers touch nothing but their job and libcrypto.
 *
 * With 0 workers (cwork_start not called, or n = 0) cwork_submit runs
 * the job and its `done` at once, in the caller: the same code path,
 * synchronous (unit tests, one-CPU hosts).
 *
 * Memory: a submitted job belongs to the pool until its `done` returns;
 * the pool then wipes (job->size bytes: it may hold keys) and frees it.
 */
#ifndef R2_IKE_CWORK_H
#define R2_IKE_CWORK_H

#include <stddef.h>

struct iked;
struct cwork_job;

typedef void (*cwork_run_fn)(struct cwork_job *j);
typedef void (*cwork_done_fn)(struct iked *d, struct cwork_job *j);

struct cwork_job {
	struct cwork_job *next;
	size_t size;	    /* of the whole allocation, for the wipe */
	cwork_run_fn run;   /* in a worker */
	cwork_done_fn done; /* in the event loop */
};

#define CWORK_MAX 64

/* Default worker count: the CPUs this process may run on (affinity),
 * 0 when that is one (the loop does the work itself). */
unsigned cwork_default(void);
/* Starts n workers (n <= CWORK_MAX) on d's loop: 0 or -errno. */
int cwork_start(struct iked *d, unsigned n);
/* Stops and joins the workers; queued jobs are wiped unrun. */
void cwork_stop(struct iked *d);
/* Takes j (malloc'd, j->size set); runs it now when there are no
 * workers. */
void cwork_submit(struct iked *d, struct cwork_job *j);
/* Jobs submitted and not yet done (tests, ikedctl). */
unsigned cwork_pending(const struct iked *d);

#endif
