/*
 * spmd_core.c - spmd's reload logic, shared by the daemon and the spmif
 * fuzz harness: load the configuration again, build the desired static
 * set and let spd apply the difference.  struct spmd (spmd.h) owns the
 * configuration that is replaced on success.  Also the reaction to
 * KEV_RESYNC: reconcile the backend with spd (spd_resync) and retry with
 * backoff while that fails (e.g. r2espd went away again).
 */
#include "spm/spmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "spm/spd_conf.h"

#define MOD "spmd"

static void diag_to(char *errbuf, size_t errlen, const struct conf_diag *dg)
{
	size_t used = strnlen(errbuf, errlen);

	for (size_t i = 0; i < dg->n && used + 1 < errlen; i++) {
		const struct conf_diag_entry *e = &dg->v[i];

		snprintf(errbuf + used, errlen - used, "%s:%u:%u: %s: %s\n",
			 e->file, e->line, e->col,
			 e->sev == CONF_DIAG_ERROR ? "error" : "warning",
			 e->msg);
		used = strnlen(errbuf, errlen);
	}
}

int spmd_reload(struct spmd *d, char *errbuf, size_t errlen,
		struct spd_plan *counts)
{
	struct conf_diag dg;
	struct conf *nc = NULL;
	struct spd_set desired;
	int rc;

	errbuf[0] = '\0';
	memset(counts, 0, sizeof(*counts));
	d->spd.st.reloads++;
	conf_diag_init(&dg);
	rc = conf_load(d->conf_path, &nc, &dg);
	if (rc < 0) {
		diag_to(errbuf, errlen, &dg);
		conf_diag_free(&dg);
		d->spd.st.reload_failures++;
		log_err(MOD, "reload: %s has errors; running state kept:\n%s",
			d->conf_path, errbuf);
		return rc;
	}
	conf_diag_free(&dg);
	if (strcmp(spd_conf_socket(nc), spd_conf_socket(d->conf)) != 0)
		log_warn(MOD, "reload: the spmd socket path changed; it takes "
			      "effect at the next restart");
	spd_set_init(&desired);
	rc = spd_conf_build(&d->spd, nc, &desired, errbuf, errlen);
	if (rc < 0)
		goto fail;
	if (errbuf[0])
		log_warn(MOD, "reload: %s", errbuf);
	rc = spd_reload(&d->spd, &desired, errbuf, errlen, counts);
	if (rc < 0)
		goto fail;
	conf_free(d->conf);
	d->conf = nc;
	log_info(MOD,
		 "reloaded %s: %zu added, %zu updated, %zu unchanged, "
		 "%zu deleted",
		 d->conf_path, counts->nadd, counts->nupd, counts->nkeep,
		 counts->ndel);
	return 0;

fail:
	spd_set_free(&desired);
	conf_free(nc);
	d->spd.st.reload_failures++;
	log_err(MOD, "reload failed, running state kept: %s", errbuf);
	return rc;
}

void spmd_rebuild(struct spmd *d, const char *why)
{
	struct spd_set desired;
	struct spd_plan counts;
	char *errbuf = calloc(1, 16384);
	int rc;

	if (!errbuf || !d->conf) {
		free(errbuf);
		return;
	}
	spd_set_init(&desired);
	rc = spd_conf_build(&d->spd, d->conf, &desired, errbuf, 16384);
	if (rc < 0) {
		spd_set_free(&desired);
		log_err(MOD, "rebuilding the policies: %s", strerror(-rc));
		goto free_errbuf;
	}
	if (errbuf[0])
		log_warn(MOD, "%s", errbuf);
	errbuf[0] = '\0';
	memset(&counts, 0, sizeof(counts));
	rc = spd_reload(&d->spd, &desired, errbuf, 16384, &counts);
	if (rc < 0) {
		spd_set_free(&desired);
		log_err(MOD, "rebuilding the policies (%s) failed: %s", why,
			errbuf);
		goto free_errbuf;
	}
	log_info(MOD,
		 "policies rebuilt (%s): %zu added, %zu updated, %zu "
		 "unchanged, %zu deleted",
		 why, counts.nadd, counts.nupd, counts.nkeep, counts.ndel);
free_errbuf:
	free(errbuf);
}

#define RESYNC_RETRY_MIN_MS 1000
#define RESYNC_RETRY_MAX_MS 30000

static void resync_retry(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct spmd *d = arg;
	char reason[KEV_RESYNC_REASON_MAX];

	(void)loop;
	(void)t;
	memcpy(reason, d->resync_reason, sizeof(reason));
	spmd_resync(d, reason);
}

void spmd_resync_init(struct spmd *d)
{
	ev_timer_init(&d->resync_timer, resync_retry, d);
	d->resync_delay_ms = 0;
}

void spmd_resync(struct spmd *d, const char *reason)
{
	struct spd_resync_counts n;
	int rc;

	if (!d->resync_timer.cb) /* a zeroed struct spmd (tests) */
		spmd_resync_init(d);
	snprintf(d->resync_reason, sizeof(d->resync_reason), "%s",
		 reason ? reason : "backend state lost");
	if (d->loop && ev_timer_active(&d->resync_timer))
		ev_timer_stop(d->loop, &d->resync_timer);
	log_warn(MOD,
		 "kernel backend %s lost state or events (%s): "
		 "reconciling the policies",
		 d->backend ? d->backend : "?", d->resync_reason);
	rc = spd_resync(&d->spd, d->resync_reason, &n);
	if (rc == 0) {
		d->resync_delay_ms = 0;
		return;
	}
	if (!d->loop)
		return;
	d->resync_delay_ms =
	    d->resync_delay_ms ? 2 * d->resync_delay_ms : RESYNC_RETRY_MIN_MS;
	if (d->resync_delay_ms > RESYNC_RETRY_MAX_MS)
		d->resync_delay_ms = RESYNC_RETRY_MAX_MS;
	log_warn(MOD, "resync incomplete (%s); trying again in %u ms",
		 strerror(-rc), d->resync_delay_ms);
	ev_timer_start(d->loop, &d->resync_timer, d->resync_delay_ms);
}

void spmd_ns_from_conf(struct spmd *d, const struct conf *c)
{
	const struct conf_addr_list *l = &c->resolver.nameserver;

	d->nns = 0;
	for (size_t i = 0; i < l->n && d->nns < SPMD_NS_MAX; i++) {
		const struct conf_addr *a = &l->v[i];
		struct spmd_ns *ns = &d->ns[d->nns];

		if (a->kind != CONF_ADDR_IP)
			continue; /* the grammar allows only addresses here */
		memset(ns, 0, sizeof(*ns));
		ns->addr.af = a->af;
		memcpy(&ns->addr.u, &a->u, a->af == AF_INET ? 4 : 16);
		ns->port =
		    a->has_port && a->port != CONF_PORT_ANY ? a->port : 53;
		d->nns++;
	}
}
