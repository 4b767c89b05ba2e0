/*
 * initiate.c - starting negotiations (ikedctl initiate, ACQUIRE): reuse
 * an IKE SA to the remote when there is one (CREATE_CHILD_SA), else
 * create one with IKE_SA_INIT + IKE_AUTH carrying the first CHILD SA;
 * and the reaper that frees dead SAs from the event loop.
 *
 * Ownership: new SAs go into the daemon's table (sa.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "ike/v1.h"
#include "lib/log.h"

#define MOD "iked"

void iked_reap(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct iked *d = arg;
	struct ike_sa *sa, *next;

	(void)loop;
	(void)t;
	/* ike_sa_free takes each off d->dead */
	while (d->ndead)
		ike_sa_free(d->dead[d->ndead - 1]);
	if (d->dead_all) {
		d->dead_all = false;
		for (sa = d->sas; sa; sa = next) {
			next = sa->next;
			if (sa->state == IKE_S_DEAD)
				ike_sa_free(sa);
		}
	}
	v1_reap(d);
}

void iked_schedule_reap(struct iked *d)
{
	if (!ev_timer_active(&d->reaper))
		ev_timer_start(d->loop, &d->reaper, 0);
}

/* ---- initiate ---- */

static struct ike_sa *sa_for_remote(struct iked *d, const char *remote)
{
	struct ike_sa *sa, *best = NULL;

	for (sa = d->sas; sa; sa = sa->next) {
		if (strcmp(sa->remote, remote) != 0 ||
		    sa->state == IKE_S_DEAD || sa->state == IKE_S_DELETING ||
		    sa->state == IKE_S_REKEYED)
			continue;
		if (!best || sa->state == IKE_S_ESTABLISHED)
			best = sa;
	}
	return best;
}

static bool child_exists(const struct ike_sa *sa, const char *policy)
{
	const struct child_sa *c;
	const struct task *t;

	for (c = sa->children; c; c = c->next)
		if (strcmp(c->policy, policy) == 0 &&
		    (c->state == CHILD_S_INSTALLED ||
		     c->state == CHILD_S_CREATING ||
		     c->state == CHILD_S_REKEYING))
			return true;
	if (sa->active && strcmp(sa->active->policy, policy) == 0 &&
	    (sa->active->type == TASK_CHILD_CREATE ||
	     sa->active->type == TASK_IKE_AUTH))
		return true;
	for (t = sa->queue; t; t = t->next)
		if ((t->type == TASK_CHILD_CREATE ||
		     t->type == TASK_IKE_AUTH) &&
		    strcmp(t->policy, policy) == 0)
			return true;
	return false;
}

int iked_initiate(struct iked *d, const char *remote, const char *policy,
		  const struct ksel *acq_sel, char *err, size_t errlen)
{
	return iked_initiate_acquire(d, remote, policy, acq_sel, 0, err,
				     errlen);
}

int iked_initiate_acquire(struct iked *d, const char *remote,
			  const char *policy, const struct ksel *acq_sel,
			  uint32_t reqid, char *err, size_t errlen)
{
	const struct ike_remote *r = cfg_remote_by_name(d->cfg, remote);
	const struct ike_policy *p = NULL;
	struct ike_sa *sa;
	struct task *t;
	char b[80];
	int rc;

	if (!r || r->is_default || (!r->ikev2 && !r->ikev1)) {
		snprintf(err, errlen, "no IKE remote '%s'", remote);
		return -ENOENT;
	}
	if (policy) {
		p = cfg_policy_by_name(d->cfg, policy);
		if (!p || strcmp(p->remote, remote) != 0) {
			snprintf(err, errlen, "no policy '%s' for remote %s",
				 policy, remote);
			return -ENOENT;
		}
	} else {
		p = cfg_policy_for_remote(d->cfg, remote, NULL);
	}
	/* the first of acceptable_kmp: IKEv1 (v1.c), unless the policy is
	 * one iked's IKEv1 cannot negotiate (v1_conf.c: IKEv2 then) */
	if (!r->ikev2 || (r->v1_first && (!p || p->v1)))
		return v1_initiate(d, r, p, reqid, err, errlen);
	sa = sa_for_remote(d, remote);
	if (sa) {
		if (!p || child_exists(sa, p->name))
			return 0; /* already there or on its way */
		t = task_new(TASK_CHILD_CREATE);
		if (!t)
			return -ENOMEM;
		snprintf(t->policy, sizeof(t->policy), "%s", p->name);
		if (acq_sel) {
			t->acq_sel = *acq_sel;
			t->have_acq_sel = true;
		}
		if (policy)
			t->acq_reqid = reqid;
		task_queue(sa, t);
		task_run(sa);
		return 0;
	}
	if (r->peer_any) {
		snprintf(err, errlen,
			 "remote %s has no peers_ipaddr to "
			 "initiate to",
			 remote);
		return -EINVAL;
	}
	sa = ike_sa_new(d, true);
	if (!sa)
		return -ENOMEM;
	snprintf(sa->remote, sizeof(sa->remote), "%s", remote);
	sa->peer.addr = r->peer_addr;
	/* racoon2's -t PORT: the peers' port where none is written */
	sa->peer.port = r->peer_port	      ? r->peer_port
			: d->opts.target_port ? d->opts.target_port
					      : IKE_PORT;
	if (p && p->my_sa.af == r->peer_addr.af && p->mode == KMODE_TRANSPORT)
		sa->local.addr = p->my_sa;
	else if (net_route_src(&r->peer_addr, &sa->local.addr) < 0) {
		snprintf(err, errlen, "no route to %s",
			 kaddr_str(&r->peer_addr, b, sizeof(b)));
		ike_sa_kill(sa, "no route");
		return -EHOSTUNREACH;
	}
	sa->natt = sa->peer.port == IKE_NATT_PORT;
	if (!sa->natt && natt_only_4500(d, &sa->local.addr)) {
		/* Only port 4500 configured: NAT-T framing from the start
		 * (RFC 7296 §2.23). */
		sa->natt = true;
		sa->peer.port = IKE_NATT_PORT;
	}
	sa->local.port = net_local_port(d, &sa->local.addr, sa->natt);
	/* RFC 7296 §2.6: SPIi must be random (and not 0); without random
	 * bytes there is nothing to initiate with. */
	do
		rc = crypto_random(&sa->spi_i, sizeof(sa->spi_i));
	while (rc == 0 && !sa->spi_i);
	if (rc < 0) {
		sa->spi_i = 0;
		snprintf(err, errlen, "no random bytes for the IKE SPI");
		ike_sa_kill(sa, "no random bytes");
		return rc;
	}
	if (ike_sa_rehash(sa) < 0) {
		snprintf(err, errlen, "out of memory");
		ike_sa_kill(sa, "out of memory");
		return -ENOMEM;
	}
	sa->our_window = r->window_size ? r->window_size : 1;
	if (sa->our_window > IKE_WINDOW_MAX)
		sa->our_window = IKE_WINDOW_MAX;
	sa->half_open = false;
	ike_sa_nego_timer(sa);

	t = task_new(TASK_IKE_INIT);
	if (!t) {
		ike_sa_kill(sa, "out of memory");
		return -ENOMEM;
	}
	task_queue(sa, t);
	t = task_new(TASK_IKE_AUTH);
	if (!t) {
		ike_sa_kill(sa, "out of memory");
		return -ENOMEM;
	}
	if (p)
		snprintf(t->policy, sizeof(t->policy), "%s", p->name);
	if (p && acq_sel) {
		/* §2.9: the first CHILD SA carries the packet's TS first. */
		t->acq_sel = *acq_sel;
		t->have_acq_sel = true;
	}
	if (policy)
		t->acq_reqid = reqid;
	task_queue(sa, t);
	/* IKE_AUTH goes to the front of the queue; INIT must precede. */
	{
		struct task *init = sa->queue->next;
		sa->queue->next = NULL;
		init->next = sa->queue;
		sa->queue = init;
	}
	log_info(MOD, "initiating IKE SA #%u to %s (%s)%s%s", sa->id, remote,
		 ike_ep_str(&sa->peer, b, sizeof(b)), p ? " for policy " : "",
		 p ? p->name : "");
	task_run(sa);
	return 0;
}
