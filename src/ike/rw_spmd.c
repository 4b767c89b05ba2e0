/*
 * rw_spmd.c - road-warrior dynamic policies through spmd (spmif POLICY
 * ADD / POLICY DELETE / MIGRATE) and the reqid of static policies (spmif
 * REQID), the daemon's choice over the engine's
 * default of installing them straight through the kernel ops.  Linked
 * into the iked executable only (the engine library has no spmif).
 *
 * A POLICY ADD is made with a blocking spmif_call because the CHILD SA
 * must be installed with the reqid spmd picked; iked calls it from its
 * socket handlers, never from an spmif reply callback.  spmd ties the
 * policies to iked's connection, so they also vanish if iked dies.
 *
 * Ownership: nothing kept; replies are freed before returning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "spm/spmif_client.h"

#define MOD		"ike"
#define SPMD_TIMEOUT_MS 3000

static bool spmd_usable(struct iked *d)
{
	return d->spm != NULL;
}

static int spmd_add(struct iked *d, const struct rw_polreq *q, uint32_t *dyn_id,
		    uint32_t *reqid, char *err, size_t errlen)
{
	struct spmif_policy_req r;
	struct spmif_reply rep;
	char line[1024], v[32];
	bool in = q->sel_inbound;
	int rc;

	memset(&r, 0, sizeof(r));
	r.selector = q->selector;
	r.mode = q->mode;
	/* spmif: addresses in the selector's direction. */
	r.sp_src = in ? q->peer.dst : q->local.src;
	r.sp_src_plen = in ? q->peer.dst_plen : q->local.src_plen;
	r.sp_dst = in ? q->local.src : q->peer.dst;
	r.sp_dst_plen = in ? q->local.src_plen : q->peer.dst_plen;
	if (q->mode == KMODE_TUNNEL) {
		r.sa_src = in ? q->sa_peer : q->sa_local;
		r.sa_dst = in ? q->sa_local : q->sa_peer;
	}
	r.proto = q->proto;
	r.sport = in ? q->peer.dport : q->local.sport;
	r.dport = in ? q->local.sport : q->peer.dport;
	rc = spmif_policy_add_line(&r, line, sizeof(line));
	if (rc < 0) {
		snprintf(err, errlen, "cannot build POLICY ADD");
		return rc;
	}
	rc = spmif_call(d->spm, line, SPMD_TIMEOUT_MS, &rep);
	if (rc < 0) {
		snprintf(err, errlen, "spmd: %s", strerror(-rc));
		return rc;
	}
	if (rep.code != SPMIF_OK) {
		snprintf(err, errlen, "spmd %d %s", rep.code,
			 rep.text ? rep.text : "");
		rc = rep.code == SPMIF_E_EXISTS	    ? -EEXIST
		     : rep.code == SPMIF_E_NOTFOUND ? -ENOENT
		     : rep.code == SPMIF_E_FAILED   ? -EINVAL
						    : -EPROTO;
		goto out;
	}
	if (spmif_reply_id(&rep, dyn_id) < 0 || !rep.text ||
	    !spmif_kv(rep.text, "reqid", v, sizeof(v))) {
		snprintf(err, errlen, "spmd reply without id/reqid");
		rc = -EPROTO;
		goto out;
	}
	*reqid = (uint32_t)strtoul(v, NULL, 0);
	log_debug(MOD, "spmd: %s -> %s", line, rep.text);
	rc = 0;
out:
	spmif_reply_free(&rep);
	return rc;
}

static void spmd_del(struct iked *d, uint32_t dyn_id)
{
	/* Without a connection spmd already dropped them (owner gone). */
	if (d->spm && spmif_policy_delete(d->spm, dyn_id, NULL, NULL) < 0)
		log_warn(MOD, "spmd: POLICY DELETE id=%u could not be sent",
			 dyn_id);
}

static void spmd_migrate(struct iked *d, uint32_t dyn_id,
			 const struct kaddr *old_local,
			 const struct kaddr *old_peer,
			 const struct kaddr *new_local,
			 const struct kaddr *new_peer)
{
	char sel[16];

	if (!d->spm)
		return;
	snprintf(sel, sizeof(sel), "#%u", dyn_id);
	if (spmif_migrate(d->spm, sel, old_local, old_peer, new_local, new_peer,
			  NULL, NULL) < 0)
		log_warn(MOD, "spmd: MIGRATE %s could not be sent", sel);
}

/* spmif REQID by the policy's name and outbound selector (src = ours),
 * answered from spmd's tables: no SPD dump, and the same answer while a
 * backend is being refilled after a RESYNC. */
static uint32_t spmd_reqid(struct iked *d, const struct ike_policy *p)
{
	uint32_t reqid = 0;
	int rc;

	if (!d->spm)
		return 0;
	rc = spmif_reqid(d->spm, NULL, p->name, &p->sel, SPMD_TIMEOUT_MS,
			 &reqid);
	if (rc == -ENOENT) /* e.g. a road-warrior template: rw.c's */
		log_debug(MOD, "spmd: no static policy %s with a reqid",
			  p->name);
	else if (rc < 0)
		log_rl_warn(MOD, "spmd: no reqid for policy %s: %s", p->name,
			    strerror(-rc));
	return rc < 0 ? 0 : reqid;
}

static const struct rw_dynpol_ops spmd_ops = {
    .add = spmd_add,
    .del = spmd_del,
    .migrate = spmd_migrate,
    .usable = spmd_usable,
    .reqid = spmd_reqid,
};

void rw_daemon_init(struct iked *d)
{
	rw_set_ops(d, &spmd_ops);
	natt_start(d);
}
