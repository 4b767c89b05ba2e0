/*
 * tasks.c - the task manager's dispatch table and the IKE SA life
 * cycle: which exchange each task runs, lifetimes with jitter, the
 * negotiation time limit and the helpers that queue rekeys and deletes
 * (liveness checks: dpd.c).
 *
 * Ownership: queued tasks belong to their IKE SA (sa.c frees them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"

#define MOD "ike"

int task_initiate(struct ike_sa *sa, struct task *t)
{
	switch (t->type) {
	case TASK_IKE_INIT:
		return ike_init_initiate(sa, t);
	case TASK_IKE_AUTH:
		return ike_auth_initiate(sa, t);
	case TASK_CHILD_CREATE:
	case TASK_CHILD_REKEY:
		return create_child_initiate(sa, t);
	case TASK_IKE_REKEY:
		return ike_rekey_initiate(sa, t);
	case TASK_CHILD_DELETE:
	case TASK_IKE_DELETE:
		return info_initiate(sa, t);
	case TASK_DPD:
		return dpd_initiate(sa, t);
	case TASK_MOBIKE_UPDATE:
		return mobike_update_initiate(sa, t);
	}
	return -EINVAL;
}

void task_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m)
{
	switch (t->type) {
	case TASK_IKE_INIT:
		ike_init_process_i(sa, t, m);
		break;
	case TASK_IKE_AUTH:
		ike_auth_process_i(sa, t, m);
		break;
	case TASK_CHILD_CREATE:
	case TASK_CHILD_REKEY:
		create_child_process_i(sa, t, m);
		break;
	case TASK_IKE_REKEY:
		ike_rekey_process_i(sa, t, m);
		break;
	case TASK_CHILD_DELETE:
	case TASK_IKE_DELETE:
		info_process_i(sa, t, m);
		break;
	case TASK_DPD:
		dpd_process_i(sa, t, m);
		break;
	case TASK_MOBIKE_UPDATE:
		mobike_update_process_i(sa, t, m);
		break;
	}
}

void task_rejected(struct ike_sa *sa, struct task *t, const struct ike_msg *m,
		   const char *why)
{
	char buf[200];

	switch (t->type) {
	case TASK_IKE_INIT:
	case TASK_IKE_AUTH:
		snprintf(buf, sizeof(buf), "%s response rejected: %s",
			 exch_name(m->hdr.exch), why);
		ike_sa_kill(sa, buf);
		break;
	case TASK_CHILD_CREATE:
	case TASK_CHILD_REKEY:
		create_child_rejected_i(sa, t, m, why);
		break;
	case TASK_IKE_REKEY:
		log_warn(MOD, "IKE SA #%u: bad IKE rekey response: %s", sa->id,
			 why);
		break;
	case TASK_CHILD_DELETE:
	case TASK_IKE_DELETE:
	case TASK_DPD:
	case TASK_MOBIKE_UPDATE:
		break; /* INFORMATIONAL requires nothing (§1.4) */
	}
}

static int queue(struct ike_sa *sa, enum task_type type, uint32_t child_id)
{
	struct task *t;

	if (sa->state == IKE_S_DEAD)
		return -ENOENT;
	t = task_new(type);
	if (!t)
		return -ENOMEM;
	t->child_id = child_id;
	task_queue(sa, t);
	task_run(sa);
	return 0;
}

int ike_queue_child_rekey(struct ike_sa *sa, struct child_sa *c)
{
	struct task *t;

	for (t = sa->queue; t; t = t->next)
		if (t->type == TASK_CHILD_REKEY && t->child_id == c->id)
			return 0;
	return queue(sa, TASK_CHILD_REKEY, c->id);
}

/* Is c the child that our request in flight (IKE_AUTH,
 * CREATE_CHILD_SA) is creating, still owned by that task? */
bool child_creation_in_flight(const struct ike_sa *sa, const struct child_sa *c)
{
	const struct task *t = sa->active;

	return sa->req_out && t && t->free_state == child_nego_free &&
	       t->state && ((const struct child_nego *)t->state)->child == c;
}

static bool child_attached(const struct ike_sa *sa, const struct child_sa *c)
{
	const struct child_sa *i;

	for (i = sa->children; i; i = i->next)
		if (i == c)
			return true;
	return false;
}

int ike_queue_child_delete(struct ike_sa *sa, struct child_sa *c)
{
	struct task *t;

	if (!child_attached(sa, c)) {
		/* Still its negotiating task's (child_new() in child.c): with
		 * the request out, the DELETE follows the response (the peer
		 * may install its half); otherwise the task frees it. */
		if (child_creation_in_flight(sa, c))
			return queue(sa, TASK_CHILD_DELETE, c->id);
		return 0;
	}
	if (c->state == CHILD_S_FAILED || c->state == CHILD_S_CREATING) {
		/* Nothing in the kernel, nothing to tell -- unless our
		 * request creating it is out: the peer may install its half,
		 * so the DELETE (RFC 7296 §1.4.1) follows the response. */
		if (!c->spi_out && !child_creation_in_flight(sa, c)) {
			child_remove(c, "never established");
			return 0;
		}
	}
	for (t = sa->queue; t; t = t->next)
		if (t->type == TASK_CHILD_DELETE && t->child_id == c->id)
			return 0;
	return queue(sa, TASK_CHILD_DELETE, c->id);
}

void queue_child_delete_spi(struct ike_sa *sa, uint32_t spi_in)
{
	struct child_sa *c = child_find_spi(sa, spi_in, true);
	struct task *t;

	if (c) {
		ike_queue_child_delete(sa, c);
		return;
	}
	t = task_new(TASK_CHILD_DELETE);
	if (!t)
		return;
	t->spi = spi_in;
	task_queue(sa, t);
	task_run(sa);
}

int ike_queue_ike_rekey(struct ike_sa *sa)
{
	if (sa->state != IKE_S_ESTABLISHED || task_queued(sa, TASK_IKE_REKEY))
		return 0;
	return queue(sa, TASK_IKE_REKEY, 0);
}

int ike_queue_ike_delete(struct ike_sa *sa)
{
	if (sa->state < IKE_S_ESTABLISHED) {
		/* Not established: nothing to tell the peer. */
		ike_sa_kill(sa, "deleted before it was established");
		return 0;
	}
	if (task_queued(sa, TASK_IKE_DELETE))
		return 0;
	/* A pending request of ours would hold the delete back; a
	 * deleted SA needs no answer to it. */
	return queue(sa, TASK_IKE_DELETE, 0);
}

/* ---- timers ---- */

uint64_t ike_jitter_ms(uint64_t base, unsigned pct)
{
	uint32_t rnd = 0;

	if (!base)
		return 0;
	/* Jitter only spreads timers in time; it is no secret, so without
	 * random bytes there is simply none. */
	if (crypto_random(&rnd, sizeof(rnd)) < 0)
		return 0;
	return (uint64_t)rnd % (base * pct / 100 + 1);
}

void life_deadlines(uint64_t now, uint64_t life, uint64_t *rekey_ms,
		    uint64_t *expire_ms)
{
	*rekey_ms = *expire_ms = 0;
	if (!life)
		return;
	*expire_ms = now + life;
	*rekey_ms = now + life * 9 / 10 - ike_jitter_ms(life, 10);
}

void life_timer_arm(struct ev_loop *loop, struct ev_timer *t, uint64_t rekey_ms,
		    uint64_t expire_ms)
{
	uint64_t now = ev_now_ms(), next = 0;

	if (rekey_ms && rekey_ms > now)
		next = rekey_ms;
	if (expire_ms && (!next || expire_ms < next))
		next = expire_ms;
	ev_timer_stop(loop, t);
	/* Coarse (ev.h): O(1) at 100,000 SAs, never early, at most
	 * EV_COARSE_MS late -- nothing next to a lifetime's jitter. */
	if (next)
		ev_timer_start_coarse(loop, t, next > now ? next - now : 0);
}

static void life_arm(struct ike_sa *sa)
{
	life_timer_arm(sa->d->loop, &sa->life, sa->rekey_ms, sa->expire_ms);
}

void ike_sa_nego_timer(struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	unsigned lim = r ? r->nego_limit_sec : 60;

	/* kmp_sa_nego_time_limit: a half-open SA does not linger. */
	sa->expire_ms = ev_now_ms() + (uint64_t)lim * 1000;
	sa->rekey_ms = 0;
	life_arm(sa);
}

void ike_established_quiet(struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	uint64_t life = r ? r->lifetime_sec * 1000 : 0;
	uint64_t now = ev_now_ms();

	sa->established_ms = now;
	life_deadlines(now, life, &sa->rekey_ms, &sa->expire_ms);
	life_arm(sa);
	ike_dpd_arm(sa);
}

void ike_sa_established(struct ike_sa *sa)
{
	ike_established_quiet(sa);
	script_run(sa->d, sa, NULL, SCRIPT_IKE_UP);
}

void ike_life_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	uint64_t now = ev_now_ms();

	(void)loop;
	(void)t;
	if (sa->state == IKE_S_DEAD)
		return;
	if (sa->expire_ms && now >= sa->expire_ms) {
		if (sa->state < IKE_S_ESTABLISHED) {
			ike_sa_kill(sa, "negotiation time limit reached");
			return;
		}
		log_info(MOD, "IKE SA #%u: lifetime expired", sa->id);
		sa->expire_ms = 0;
		if (sa->state == IKE_S_ESTABLISHED ||
		    sa->state == IKE_S_REKEYED)
			ike_queue_ike_delete(sa);
		else
			ike_sa_kill(sa, "lifetime expired");
		return;
	}
	if (sa->rekey_ms && now >= sa->rekey_ms) {
		sa->rekey_ms = 0;
		ike_queue_ike_rekey(sa);
	}
	life_arm(sa);
}

void ike_sa_down(struct ike_sa *sa)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next) {
		child_uninstall(c);
		if (c->state == CHILD_S_INSTALLED ||
		    c->state == CHILD_S_REKEYING)
			script_run(sa->d, sa, c, SCRIPT_CHILD_DOWN);
	}
	if (sa->established_ms && !sa->rekeyed_to)
		script_run(sa->d, sa, NULL, SCRIPT_IKE_DOWN);
	rw_ike_down(sa); /* lease, applied address (rw.c) */
}
