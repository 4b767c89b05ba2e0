/*
 * sa.c - the IKE SA table, message ID windows, retransmission, the
 * response cache and the per-SA task queue.
 *
 * RFC 7296 §2.1: the initiator of an exchange retransmits its request
 * until it sees the response; the responder never retransmits on its
 * own but answers a retransmitted request with the response it cached.
 * §2.2/§2.3: message IDs count requests per direction; with the default
 * window of 1 only one request of ours is outstanding at a time.
 *
 * Ownership: struct iked owns every ike_sa through d->sas; ike_sa owns
 * its request/response buffers, children and tasks.  ike_sa_kill() only
 * marks an SA dead; the reaper frees it from the event loop so that a
 * callback can kill the SA it is running for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/wr.h"

#define MOD "ike"

static const char *const state_names[] = {
    [IKE_S_NEW] = "NEW",
    [IKE_S_INIT_SENT] = "INIT_SENT",
    [IKE_S_INIT_DONE] = "INIT_DONE",
    [IKE_S_AUTH_SENT] = "AUTH_SENT",
    [IKE_S_ESTABLISHED] = "ESTABLISHED",
    [IKE_S_REKEYED] = "REKEYED",
    [IKE_S_DELETING] = "DELETING",
    [IKE_S_DEAD] = "DEAD",
};

const char *ike_state_name(enum ike_state st)
{
	if ((size_t)st < sizeof(state_names) / sizeof(state_names[0]) &&
	    state_names[st])
		return state_names[st];
	return "?";
}

const char *child_state_name(enum child_state st)
{
	switch (st) {
	case CHILD_S_CREATING:
		return "CREATING";
	case CHILD_S_INSTALLED:
		return "INSTALLED";
	case CHILD_S_FAILED:
		return "INSTALL_FAILED";
	case CHILD_S_REKEYING:
		return "REKEYING";
	case CHILD_S_REKEYED:
		return "REKEYED";
	case CHILD_S_DELETING:
		return "DELETING";
	}
	return "?";
}

const char *task_name(enum task_type t)
{
	switch (t) {
	case TASK_IKE_INIT:
		return "IKE_INIT";
	case TASK_IKE_AUTH:
		return "IKE_AUTH";
	case TASK_CHILD_CREATE:
		return "CHILD_CREATE";
	case TASK_CHILD_REKEY:
		return "CHILD_REKEY";
	case TASK_CHILD_DELETE:
		return "CHILD_DELETE";
	case TASK_IKE_REKEY:
		return "IKE_REKEY";
	case TASK_IKE_DELETE:
		return "IKE_DELETE";
	case TASK_DPD:
		return "DPD";
	case TASK_MOBIKE_UPDATE:
		return "MOBIKE_UPDATE";
	}
	return "?";
}

static uint32_t hash_spi(uint64_t spi)
{
	return hidx_hash(&spi, sizeof(spi), 0);
}

/* by_peer key: remote name, identity type and bytes.  DNs compare by
 * name, not bytes (ike_id_eq, auth_cert.c): they hash by type alone. */
static uint32_t hash_peer(const char *remote, const struct ike_id *id)
{
	uint32_t h = hidx_hash(remote, strlen(remote), id->type);

	if (id->type != IKE_ID_DER_ASN1_DN)
		h = hidx_hash(id->data, id->len, h);
	return h;
}

static void rtx_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);

/* RFC 7383 §2.6: a fragmented message not completed in time is dropped
 * with what was held of it. */
static void frag_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	uint64_t now = ev_now_ms();
	int i;

	(void)t;
	if (!sa->fragst)
		return;
	for (i = 0; i < 2; i++) {
		struct ike_frag_rx *rx = &sa->fragst->rx[i];
		uint32_t mid = rx->mid;
		uint16_t have = rx->count, total = rx->total;

		if (ike_frag_expire(rx, now))
			log_rl_warn(MOD,
				    "IKE SA #%u: fragmented %s %u never "
				    "completed (%u of %u fragments), dropped",
				    sa->id, i ? "response" : "request", mid,
				    have, total);
	}
	sa_frag_timer(sa, loop);
}

static void frag_free(struct ike_sa *sa)
{
	if (!sa->fragst)
		return;
	ev_timer_stop(sa->d->loop, &sa->fragst->timer);
	ike_frag_reset(&sa->fragst->rx[0]);
	ike_frag_reset(&sa->fragst->rx[1]);
	free(sa->fragst);
	sa->fragst = NULL;
}

struct ike_frag_rx *sa_frag_rx(struct ike_sa *sa, bool response)
{
	if (!sa->fragst) {
		sa->fragst = calloc(1, sizeof(*sa->fragst));
		if (!sa->fragst)
			return NULL;
		ev_timer_init(&sa->fragst->timer, frag_fire, sa);
	}
	return &sa->fragst->rx[response ? 1 : 0];
}

void sa_frag_timer(struct ike_sa *sa, struct ev_loop *loop)
{
	uint64_t now = ev_now_ms(), due = UINT64_MAX;
	int i;

	if (!sa->fragst)
		return;
	ev_timer_stop(loop, &sa->fragst->timer);
	for (i = 0; i < 2; i++) {
		const struct ike_frag_rx *rx = &sa->fragst->rx[i];
		if (rx->active && rx->start_ms + IKE_FRAG_TIMEOUT_MS < due)
			due = rx->start_ms + IKE_FRAG_TIMEOUT_MS;
	}
	if (due == UINT64_MAX)
		frag_free(sa);
	else
		ev_timer_start(loop, &sa->fragst->timer,
			       due > now ? due - now + 1 : 1);
}

int ike_nonce_min_set(uint8_t **dst, size_t *dlen, const uint8_t *ni,
		      size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	size_t n = ni_len > nr_len ? ni_len : nr_len;
	uint8_t *p;

	free(*dst);
	*dst = NULL;
	*dlen = 0;
	p = malloc(n ? n : 1);
	if (!p)
		return -ENOMEM;
	*dlen = ikev2_nonce_lowest(ni, ni_len, nr, nr_len, p, n);
	*dst = p;
	return 0;
}

struct ike_sa_init *ike_sa_init_get(struct ike_sa *sa)
{
	if (!sa->init)
		sa->init = calloc(1, sizeof(*sa->init));
	return sa->init;
}

void ike_sa_init_free(struct ike_sa *sa)
{
	struct ike_sa_init *in = sa->init;

	if (!in)
		return;
	free(in->init_req);
	free(in->init_resp);
	mem_wipe(in, sizeof(*in));
	free(in);
	sa->init = NULL;
}

struct ike_sa *ike_sa_new(struct iked *d, bool initiator)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->d = d;
	sa->initiator = initiator;
	sa->id = ++d->next_sa_id;
	sa->our_window = 1;
	sa->peer_window = 1;
	sa->created_ms = ev_now_ms();
	sa->last_recv_ms = sa->created_ms;
	ev_timer_init(&sa->rtx, rtx_fire, sa);
	ev_timer_init(&sa->life, ike_life_fire, sa);
	ev_timer_init(&sa->dpd, ike_dpd_fire, sa);
	sa->next = d->sas;
	if (d->sas)
		d->sas->pprev = &sa->next;
	sa->pprev = &d->sas;
	d->sas = sa;
	return sa;
}

static void hash_unlink(struct ike_sa *sa)
{
	if (sa->spi_indexed)
		hidx_del(&sa->d->by_spi, sa->spi_h, (uintptr_t)sa);
	sa->spi_indexed = false;
	if (sa->peer_indexed)
		hidx_del(&sa->d->by_peer, sa->peer_h, (uintptr_t)sa);
	sa->peer_indexed = false;
}

int ike_sa_rehash(struct ike_sa *sa)
{
	int rc;

	if (sa->spi_indexed)
		hidx_del(&sa->d->by_spi, sa->spi_h, (uintptr_t)sa);
	sa->spi_indexed = false;
	sa->spi_h = hash_spi(sa->spi_i);
	rc = hidx_add(&sa->d->by_spi, sa->spi_h, (uintptr_t)sa);
	if (rc < 0) {
		log_rl_warn(MOD, "IKE SA #%u: SPI index: %s", sa->id,
			    strerror(-rc));
		return rc;
	}
	sa->spi_indexed = true;
	return 0;
}

struct ike_sa *ike_sa_find(struct iked *d, uint64_t spi_i, uint64_t spi_r)
{
	struct hidx_it it;
	uintptr_t v;
	bool ok;

	for (ok = hidx_first(&d->by_spi, &it, hash_spi(spi_i), &v); ok;
	     ok = hidx_next(&d->by_spi, &it, &v)) {
		struct ike_sa *sa = (struct ike_sa *)v;
		if (sa->spi_i != spi_i || sa->state == IKE_S_DEAD)
			continue;
		/* Our initiator SA learns spi_r from the INIT response. */
		if (sa->spi_r == spi_r || (sa->spi_r == 0 && sa->initiator))
			return sa;
	}
	return NULL;
}

struct ike_sa *ike_sa_find_init(struct iked *d, uint64_t spi_i,
				const struct ike_ep *peer)
{
	struct hidx_it it;
	uintptr_t v;
	bool ok;

	for (ok = hidx_first(&d->by_spi, &it, hash_spi(spi_i), &v); ok;
	     ok = hidx_next(&d->by_spi, &it, &v)) {
		struct ike_sa *sa = (struct ike_sa *)v;
		if (sa->spi_i == spi_i && !sa->initiator &&
		    kaddr_eq(&sa->peer.addr, &peer->addr) &&
		    sa->state != IKE_S_DEAD)
			return sa;
	}
	return NULL;
}

struct ike_sa *ike_sa_find_id(struct iked *d, uint64_t spi_i, uint32_t id)
{
	struct hidx_it it;
	uintptr_t v;
	bool ok;

	for (ok = hidx_first(&d->by_spi, &it, hash_spi(spi_i), &v); ok;
	     ok = hidx_next(&d->by_spi, &it, &v)) {
		struct ike_sa *sa = (struct ike_sa *)v;
		if (sa->spi_i == spi_i && sa->id == id &&
		    sa->state != IKE_S_DEAD)
			return sa;
	}
	return NULL;
}

static struct ike_sa *by_peer_scan(struct iked *d, struct hidx_it *it, bool ok,
				   uintptr_t v, const char *remote,
				   const struct ike_id *id)
{
	for (; ok; ok = hidx_next(&d->by_peer, it, &v)) {
		struct ike_sa *sa = (struct ike_sa *)v;
		if (strcmp(sa->remote, remote) == 0 &&
		    ike_id_eq(&sa->id_peer, id))
			return sa;
	}
	return NULL;
}

struct ike_sa *ike_sa_by_peer_first(struct iked *d, struct hidx_it *it,
				    const char *remote, const struct ike_id *id)
{
	uintptr_t v = 0;
	bool ok = hidx_first(&d->by_peer, it, hash_peer(remote, id), &v);

	return by_peer_scan(d, it, ok, v, remote, id);
}

struct ike_sa *ike_sa_by_peer_next(struct iked *d, struct hidx_it *it,
				   const char *remote, const struct ike_id *id)
{
	uintptr_t v = 0;
	bool ok = hidx_next(&d->by_peer, it, &v);

	return by_peer_scan(d, it, ok, v, remote, id);
}

/* An SA entering ESTABLISHED joins by_peer (it stays until freed: the
 * walkers filter by state).  No memory: the SA is not counted by
 * ike_sa_per_id nor replaced as a returning road warrior (logged). */
static void peer_index(struct ike_sa *sa)
{
	int rc;

	if (sa->peer_indexed)
		return;
	sa->peer_h = hash_peer(sa->remote, &sa->id_peer);
	rc = hidx_add(&sa->d->by_peer, sa->peer_h, (uintptr_t)sa);
	if (rc < 0) {
		log_rl_warn(MOD, "IKE SA #%u: identity index: %s", sa->id,
			    strerror(-rc));
		return;
	}
	sa->peer_indexed = true;
}

/*
 * The IKE SA's life cycle (after OpenBSD iked's sa_state()): from each
 * state, the states it may go to.  ike_sa_set_state() is the only
 * writer of sa->state.  A rekeyed SA (replaced by its successor, RFC 7296
 * §1.3.2) may still be deleted (our DELETE: DELETING) or die; nothing
 * comes back to ESTABLISHED.
 */
#define S(x) (1u << (x))
static const unsigned ike_next[] = {
    [IKE_S_NEW] = S(IKE_S_INIT_SENT) | S(IKE_S_INIT_DONE) |
		  S(IKE_S_ESTABLISHED) /* a rekey's successor */ |
		  S(IKE_S_DEAD),
    [IKE_S_INIT_SENT] = S(IKE_S_AUTH_SENT) | S(IKE_S_DEAD),
    [IKE_S_INIT_DONE] = S(IKE_S_ESTABLISHED) | S(IKE_S_DEAD),
    [IKE_S_AUTH_SENT] = S(IKE_S_ESTABLISHED) | S(IKE_S_DEAD),
    [IKE_S_ESTABLISHED] = S(IKE_S_REKEYED) | S(IKE_S_DELETING) | S(IKE_S_DEAD),
    [IKE_S_REKEYED] = S(IKE_S_DELETING) | S(IKE_S_DEAD),
    [IKE_S_DELETING] = S(IKE_S_DEAD),
    [IKE_S_DEAD] = 0,
};

bool ike_sa_set_state(struct ike_sa *sa, enum ike_state st)
{
	if (sa->state == st)
		return true;
	if ((size_t)sa->state >= sizeof(ike_next) / sizeof(ike_next[0]) ||
	    !(ike_next[sa->state] & S(st))) {
		log_warn(MOD,
			 "IKE SA #%u: illegal state change %s -> %s refused",
			 sa->id, ike_state_name(sa->state), ike_state_name(st));
		return false;
	}
	log_debug(MOD, "IKE SA #%u %s -> %s", sa->id, ike_state_name(sa->state),
		  ike_state_name(st));
	sa->state = st;
	if (st >= IKE_S_ESTABLISHED)
		dos_ho_del(sa);
	if (st == IKE_S_ESTABLISHED)
		peer_index(sa);
	return true;
}
#undef S

static void free_cache(struct ike_sa *sa)
{
	size_t i;

	for (i = 0; i < sa->ncache; i++)
		free(sa->cache[i].pkt);
	free(sa->cache);
	sa->cache = NULL;
	sa->ncache = 0;
}

void ike_sa_free(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	struct task *t;

	ev_timer_stop(d->loop, &sa->rtx);
	ev_timer_stop(d->loop, &sa->life);
	ev_timer_stop(d->loop, &sa->dpd);
	frag_free(sa);
	while (sa->children)
		child_free(sa->children);
	if (sa->active)
		task_free(sa->active);
	while ((t = sa->queue)) {
		sa->queue = t->next;
		task_free(t);
	}
	hash_unlink(sa);
	if (sa->dead_slot) {
		struct ike_sa *last = d->dead[--d->ndead];
		d->dead[sa->dead_slot - 1] = last;
		last->dead_slot = sa->dead_slot;
		sa->dead_slot = 0;
		if (!d->ndead) {
			free(d->dead);
			d->dead = NULL;
			d->capdead = 0;
		}
	}
	*sa->pprev = sa->next;
	if (sa->next)
		sa->next->pprev = sa->pprev;
	dos_ho_del(sa);
	wr_release(sa->req_pkt); /* from the writer (wr.h) */
	free_cache(sa);
	ike_sa_init_free(sa);
	free(sa->nonce_min);
	crypto_dh_free(sa->dh);
	ikev2_sk_free(&sa->sk_in);
	ikev2_sk_free(&sa->sk_out);
	mem_wipe(&sa->keys, sizeof(sa->keys));
	mem_wipe(sa, sizeof(*sa));
	free(sa);
}

/* The reaper's list (iked.h struct iked dead). */
static void dead_add(struct ike_sa *sa)
{
	struct iked *d = sa->d;

	if (sa->dead_slot || d->dead_all)
		return;
	if (d->ndead == d->capdead) {
		size_t cap = d->capdead ? d->capdead * 2 : 64;
		struct ike_sa **n = reallocarray(d->dead, cap, sizeof(*n));
		if (!n) {
			d->dead_all = true; /* the reaper walks every SA */
			return;
		}
		d->dead = n;
		d->capdead = cap;
	}
	d->dead[d->ndead++] = sa;
	sa->dead_slot = (uint32_t)d->ndead;
}

static void sa_kill(struct ike_sa *sa, const char *why, bool quiet)
{
	if (sa->state == IKE_S_DEAD)
		return;
	if (quiet)
		log_debug(MOD, "IKE SA #%u (%s) removed: %s", sa->id,
			  sa->remote, why);
	else
		log_info(MOD, "IKE SA #%u (%s) removed: %s", sa->id, sa->remote,
			 why);
	/* A dead SA no longer holds a half-open slot (dos.c), even before
	 * the reaper frees it. */
	dos_ho_del(sa);
	ike_sa_down(sa);
	ike_sa_set_state(sa, IKE_S_DEAD);
	ev_timer_stop(sa->d->loop, &sa->rtx);
	ev_timer_stop(sa->d->loop, &sa->life);
	ev_timer_stop(sa->d->loop, &sa->dpd);
	if (sa->fragst)
		ev_timer_stop(sa->d->loop, &sa->fragst->timer);
	dead_add(sa);
	iked_schedule_reap(sa->d);
}

void ike_sa_kill(struct ike_sa *sa, const char *why)
{
	sa_kill(sa, why, false);
}

void ike_sa_drop(struct ike_sa *sa, const char *why)
{
	sa_kill(sa, why, true);
}

/* ---- tasks ---- */

/*
 * Freed tasks kept for reuse: a DPD slot starts 67 checks at once at
 * 100,000 SAs (30 s), more than malloc's per-thread cache holds, and
 * their answers free them in a burst; from this list a task costs no
 * malloc.  Per thread (tasks live on the loop's thread).
 */
#define TASK_POOL_MAX 128
static _Thread_local struct {
	struct task *t[TASK_POOL_MAX];
	unsigned n;
} task_pool;

struct task *task_new(enum task_type type)
{
	struct task *t;

	if (task_pool.n > 0) {
		t = task_pool.t[--task_pool.n];
		memset(t, 0, sizeof(*t));
	} else {
		t = calloc(1, sizeof(*t));
	}
	if (t)
		t->type = type;
	return t;
}

void task_free(struct task *t)
{
	if (!t)
		return;
	if (t->state && t->free_state)
		t->free_state(t->state);
	/* policy names, selectors, SPIs: nothing secret (state held that) */
	if (task_pool.n < TASK_POOL_MAX)
		task_pool.t[task_pool.n++] = t;
	else
		free(t);
}

void task_free_state(struct task *t)
{
	if (t->state && t->free_state)
		t->free_state(t->state);
	t->state = NULL;
	t->free_state = NULL;
}

void task_queue(struct ike_sa *sa, struct task *t)
{
	struct task **pp = &sa->queue;
	unsigned n = 0;

	/* IKE_AUTH and deletes go first: nothing else can run before the
	 * SA exists, and nothing should run on an SA being deleted. */
	if (t->type == TASK_IKE_DELETE || t->type == TASK_IKE_AUTH) {
		t->next = sa->queue;
		sa->queue = t;
		return;
	}
	while (*pp) {
		pp = &(*pp)->next;
		n++;
	}
	if (n >= IKE_TASK_MAX) {
		/* Bounded memory: the queue is deduplicated by its feeders
		 * (one task per policy or CHILD SA and kind); this is the
		 * backstop.  The task is dropped, not queued. */
		log_rl_warn(MOD, "IKE SA #%u: %u tasks queued, %s dropped",
			    sa->id, n, task_name(t->type));
		task_free(t);
		return;
	}
	t->next = NULL;
	*pp = t;
}

bool task_queued(const struct ike_sa *sa, enum task_type type)
{
	const struct task *t;

	if (sa->active && sa->active->type == type)
		return true;
	for (t = sa->queue; t; t = t->next)
		if (t->type == type)
			return true;
	return false;
}

void task_run(struct ike_sa *sa)
{
	while (!sa->req_out && !sa->active && sa->queue &&
	       sa->state != IKE_S_DEAD) {
		struct task *t = sa->queue;
		int rc;

		/* Only INIT/AUTH may run before the SA is established. */
		if (sa->state < IKE_S_ESTABLISHED && t->type != TASK_IKE_INIT &&
		    t->type != TASK_IKE_AUTH)
			return;
		if (sa->state == IKE_S_DELETING || sa->state == IKE_S_REKEYED) {
			if (t->type != TASK_IKE_DELETE)
				return;
		}
		sa->queue = t->next;
		t->next = NULL;
		sa->active = t;
		rc = task_initiate(sa, t);
		if (rc != 0) {
			/* Nothing to send (task obsolete) or failed. */
			if (sa->active == t)
				sa->active = NULL;
			if (rc < 0)
				log_warn(MOD, "IKE SA #%u: task %s failed: %s",
					 sa->id, task_name(t->type),
					 strerror(-rc));
			task_free(t);
		}
	}
}

/* ---- requests and retransmission ---- */

/* How long a give-up may wait for unread input, and in what steps. */
#define RTX_REPRIEVE_MS	     5000
#define RTX_REPRIEVE_STEP_MS 100

static unsigned rtx_timeout(const struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	unsigned base = r ? r->interval_ms : 2000;
	unsigned shift = sa->req_tries > 6 ? 6 : sa->req_tries;

	/* RFC 7296 §2.1: exponential back-off. */
	return base << shift;
}

static unsigned rtx_limit(const struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);

	return r ? r->max_retry : 3;
}

/* pkt is one IKE message or the fragments of one (RFC 7383,
 * ikev2_wr_finish_frag()) back to back, each delimited by its header's
 * Length: each goes out as its own datagram. */
static void sa_transmit_to(struct ike_sa *sa, const struct ike_path *to,
			   const uint8_t *pkt, size_t len)
{
	size_t off = 0;

	while (len - off >= IKEV2_HDR_LEN) {
		const uint8_t *p = pkt + off;
		size_t n = (size_t)p[24] << 24 | (size_t)p[25] << 16 |
			   (size_t)p[26] << 8 | p[27];

		if (n < IKEV2_HDR_LEN || n > len - off)
			n = len - off; /* one message (never happens) */
		net_send(sa->d, &to->local, &to->peer, to->natt, p, n);
		off += n;
	}
	sa->bytes_out += len;
}

static void sa_transmit(struct ike_sa *sa, const uint8_t *pkt, size_t len)
{
	const struct ike_path p = {sa->local, sa->peer, sa->natt};

	sa_transmit_to(sa, &p, pkt, len);
}

int sa_send_request(struct ike_sa *sa, uint8_t exch, uint8_t *pkt, size_t len)
{
	wr_release(sa->req_pkt); /* from the writer (wr.h) */
	sa->req_pkt = pkt;
	sa->req_len = len;
	sa->req_exch = exch;
	sa->n_early_del = 0; /* they concern the previous request only */
	sa->req_mid = sa->mid_next;
	sa->req_out = true;
	sa->req_tries = 0;
	sa->req_reprieve_ms = 0;
	sa->req_first_ms = ev_now_ms();
	sa_transmit(sa, pkt, len);
	/* Coarse (ev.h): every liveness check starts it and its answer
	 * stops it; O(1) in the wheel, at most EV_COARSE_MS late. */
	ev_timer_start_coarse(sa->d->loop, &sa->rtx, rtx_timeout(sa));
	return 0;
}

void sa_request_done(struct ike_sa *sa)
{
	ev_timer_stop(sa->d->loop, &sa->rtx);
	if (sa->req_out)
		sa->mid_next = sa->req_mid + 1;
	sa->req_out = false;
	wr_release(sa->req_pkt); /* from the writer (wr.h) */
	sa->req_pkt = NULL;
	sa->req_len = 0;
}

static void rtx_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct ike_sa *sa = arg;

	(void)t;
	if (!sa->req_out || sa->state == IKE_S_DEAD)
		return;
	if (sa->req_tries >= rtx_limit(sa)) {
		/* An overloaded loop may not have read the answer yet (it
		 * reads NET_RX_BATCH datagrams per wakeup): while input
		 * waits, look again shortly, for at most RTX_REPRIEVE_MS,
		 * before declaring a live peer dead. */
		if (sa->req_reprieve_ms < RTX_REPRIEVE_MS &&
		    net_rx_pending(sa->d)) {
			sa->req_reprieve_ms += RTX_REPRIEVE_STEP_MS;
			ev_timer_start_coarse(loop, &sa->rtx,
					      RTX_REPRIEVE_STEP_MS);
			return;
		}
		log_warn(MOD,
			 "IKE SA #%u: no response to %s request %u "
			 "after %u retransmissions, giving up",
			 sa->id, exch_name(sa->req_exch), sa->req_mid,
			 sa->req_tries);
		ike_sa_kill(sa, "peer not responding");
		return;
	}
	sa->req_tries++;
	log_info(MOD, "IKE SA #%u: retransmit %s request %u (%u)", sa->id,
		 exch_name(sa->req_exch), sa->req_mid, sa->req_tries);
	sa_transmit(sa, sa->req_pkt, sa->req_len);
	ev_timer_start_coarse(loop, &sa->rtx, rtx_timeout(sa));
}

/* SHA-1 of a whole received message: §2.1 retransmission identity
 * (second-preimage resistance is what matters here). */
static int req_hash(const struct ike_msg *m, uint8_t out[IKE_REQ_HASH_LEN])
{
	struct cbuf part = {m->raw, m->raw_len};

	return crypto_sha1(&part, 1, out);
}

void sa_request_verified(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ike_path *from)
{
	sa->rx_req_valid = req_hash(m, sa->rx_req_hash) == 0;
	sa->rx_req_mid = m->hdr.msgid;
	sa->rx_req_len = m->raw_len;
	sa->rx_req_from_set = from != NULL;
	if (from)
		sa->rx_req_from = *from;
}

int sa_send_response(struct ike_sa *sa, uint32_t mid, uint8_t *pkt, size_t len)
{
	uint32_t w = sa->our_window ? sa->our_window : 1;
	struct ike_path to;
	struct resp_cache *c;

	if (w > IKE_WINDOW_MAX)
		w = IKE_WINDOW_MAX;
	/* RFC 7296 §2.11: the response goes to the address and port the
	 * request came from (and from the address it was sent to), which
	 * after a move of the peer is not sa->peer. */
	if (sa->rx_req_from_set && sa->rx_req_mid == mid) {
		to = sa->rx_req_from;
	} else {
		to.local = sa->local;
		to.peer = sa->peer;
		to.natt = sa->natt;
	}
	if (mid >= sa->peer_mid_next)
		sa->peer_mid_next = mid + 1;
	if (sa->ncache < w) {
		/* RFC 7296 §2.1: one cached response per message ID of the
		 * window (our_window is fixed when the SA is made, so this
		 * runs once per SA). */
		struct resp_cache *n = reallocarray(sa->cache, w, sizeof(*n));
		if (!n) {
			log_rl_warn(MOD,
				    "IKE SA #%u: no memory for the response "
				    "cache: response %u sent, not kept",
				    sa->id, mid);
			sa_transmit_to(sa, &to, pkt, len);
			free(pkt);
			return -ENOMEM;
		}
		memset(n + sa->ncache, 0, (w - sa->ncache) * sizeof(*n));
		sa->cache = n;
		sa->ncache = w;
	}
	c = &sa->cache[mid % w];
	free(c->pkt);
	c->pkt = pkt;
	c->len = len;
	c->mid = mid;
	c->valid = true;
	/* The request this answers (ike_input verified it); without its
	 * hash the response is never resent. */
	c->req_known = sa->rx_req_valid && sa->rx_req_mid == mid;
	if (c->req_known) {
		c->req_len = sa->rx_req_len;
		memcpy(c->req_hash, sa->rx_req_hash, sizeof(c->req_hash));
	}
	c->to = to;
	sa_transmit_to(sa, &c->to, pkt, len);
	return 0;
}

/* RFC 7296 §2.1 leaves the resend policy to us: at most
 * IKE_RESEND_PER_SEC cached responses per SA and second, so that
 * replayed requests cannot make the cache an amplifier. */
static bool resend_allowed(struct ike_sa *sa)
{
	uint64_t now = ev_now_ms();

	if (now - sa->resend_since_ms >= 1000) {
		sa->resend_since_ms = now;
		sa->resends = 0;
	}
	if (sa->resends >= IKE_RESEND_PER_SEC)
		return false;
	sa->resends++;
	return true;
}

void sa_resend_response(struct ike_sa *sa, uint32_t mid,
			const struct ike_path *to)
{
	size_t i;

	for (i = 0; i < sa->ncache; i++) {
		struct resp_cache *c = &sa->cache[i];

		if (!c->valid || c->mid != mid)
			continue;
		if (!resend_allowed(sa)) {
			log_rl_warn(MOD,
				    "IKE SA #%u: retransmitted request "
				    "%u: resend limit reached, dropped",
				    sa->id, mid);
			return;
		}
		log_debug(MOD,
			  "IKE SA #%u: retransmitted request %u, "
			  "resending response",
			  sa->id, mid);
		/* §2.11: to where the retransmission came from. */
		sa_transmit_to(sa, to ? to : &c->to, c->pkt, c->len);
		return;
	}
}

bool sa_check_mid(struct ike_sa *sa, const struct ike_msg *m,
		  const struct ike_path *from)
{
	uint32_t w = sa->our_window ? sa->our_window : 1;
	uint32_t mid = m->hdr.msgid;
	uint8_t h[IKE_REQ_HASH_LEN];
	size_t i;

	if (m->hdr.flags & IKEV2_FLAG_RESPONSE) {
		/* RFC 7296 §2.3: a response must match our request. */
		if (sa->req_out && mid == sa->req_mid)
			return true;
		log_rl_warn(MOD, "IKE SA #%u: unexpected response mid %u",
			    sa->id, mid);
		return false;
	}
	if (mid < sa->peer_mid_next) {
		/* RFC 7296 §2.1: a retransmitted request gets the cached
		 * response again, it is not processed twice.  Only the
		 * exact request is a retransmission: same message ID, same
		 * octets (compared by hash).  Not yet authenticated, so
		 * anything else changes nothing. */
		/* RFC 7383 §2.6.1: a fragmented request is recognised
		 * by its first fragment (the whole response is resent);
		 * the other fragments of a retransmission are dropped. */
		if (m->skf && m->skf_num != 1) {
			log_debug(MOD,
				  "IKE SA #%u: fragment %u of retransmitted "
				  "request %u dropped",
				  sa->id, m->skf_num, mid);
			return false;
		}
		for (i = 0; i < sa->ncache; i++) {
			struct resp_cache *c = &sa->cache[i];

			if (!c->valid || c->mid != mid)
				continue;
			if (c->req_known && c->req_len == m->raw_len &&
			    req_hash(m, h) == 0 &&
			    CRYPTO_memcmp(h, c->req_hash, sizeof(h)) == 0) {
				sa_resend_response(sa, mid, from);
				return false;
			}
			break;
		}
		log_rl_warn(MOD,
			    "IKE SA #%u: request mid %u is not a "
			    "retransmission of the one answered, dropped",
			    sa->id, mid);
		return false;
	}
	if (mid - sa->peer_mid_next >= w) {
		/* RFC 7296 §2.3: outside the window we advertised. */
		log_rl_warn(MOD, "IKE SA #%u: request mid %u outside window",
			    sa->id, mid);
		return false;
	}
	return true;
}
