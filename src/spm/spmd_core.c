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
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "spm/spd_conf.h"

#define MOD "spmd"

void spmd_trim(void)
{
#ifdef __GLIBC__
	/* a full load's syntax tree and the old configuration are freed
	 * memory glibc would otherwise keep: some 40 % of the RSS at
	 * 100,000 policies */
	malloc_trim(0);
#endif
}

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

/*
 * Would the policies of an unchanged selector come out otherwise from a
 * full reload?  Host names and MY_IP* are expanded at each build, and
 * spd entries carry selector names cut at SPMIF_NAME_MAX.
 */
static bool builds_same(const struct conf *c)
{
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct conf_policy *p = c->policies[i];

		if (p->my_sa_ipaddr.kind == CONF_ADDR_NAME ||
		    conf_addr_is_macro(&p->my_sa_ipaddr) ||
		    p->peers_sa_ipaddr.kind == CONF_ADDR_NAME ||
		    conf_addr_is_macro(&p->peers_sa_ipaddr))
			return false;
	}
	for (size_t i = 0; i < c->nselectors; i++) {
		const struct conf_selector *s = c->selectors[i];

		if (s->src.kind == CONF_ADDR_NAME ||
		    conf_addr_is_macro(&s->src) ||
		    s->dst.kind == CONF_ADDR_NAME ||
		    conf_addr_is_macro(&s->dst) ||
		    !memchr(s->name, '\0', SPMIF_NAME_MAX))
			return false;
	}
	return true;
}

/* First static entry (in configuration order) of selector idx or later. */
static size_t stat_lower(const struct spmd *d, size_t idx, bool *bad)
{
	const struct spd_set *s = &d->spd.stat;
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t at = conf_selector_index(d->conf, s->v[mid].selector);

		if (at == SIZE_MAX)
			*bad = true;
		if (at < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The incremental reload (ARCHITECTURE.md "spmd reload"): only the
 * selectors whose statements changed are interpreted, built and
 * applied.  -EAGAIN when it cannot be sure to give the full reload's
 * result (then nothing was done).
 */
static int reload_part(struct spmd *d, char *errbuf, size_t errlen,
		       struct spd_plan *counts)
{
	uint64_t t0 = ev_now_ms(), t_load, t_build;
	struct conf_delta cd;
	struct spd_set desired;
	size_t from, to;
	bool bad = false;
	int rc;

	if (!d->conf || !d->spd.stat_exact)
		return -EAGAIN;
	if (d->conf_same != d->conf) {
		if (!builds_same(d->conf))
			return -EAGAIN;
		d->conf_same = d->conf;
	}
	if (conf_delta_prepare(d->conf, &cd) < 0)
		return -EAGAIN;
	t_load = ev_now_ms();
	from = stat_lower(d, cd.from, &bad);
	to = stat_lower(d, cd.to, &bad);
	spd_set_init(&desired);
	if (bad || !builds_same(cd.part)) {
		rc = -EAGAIN;
		goto free_delta;
	}
	rc = spd_conf_build(&d->spd, cd.part, &desired, errbuf, errlen);
	if (rc < 0)
		goto free_delta;
	if (errbuf[0])
		log_warn(MOD, "reload: %s", errbuf);
	errbuf[0] = '\0';
	t_build = ev_now_ms();
	rc = spd_reload_part(&d->spd, from, to, &desired, errbuf, errlen,
			     counts);
	if (rc < 0)
		goto free_delta;
	log_info(MOD,
		 "reloaded %s: selectors %zu-%zu replaced by %zu; %zu added, "
		 "%zu updated, %zu unchanged, %zu deleted; config loaded in "
		 "%" PRIu64 " ms, policies built in %" PRIu64
		 " ms, applied in %" PRIu64 " ms",
		 d->conf_path, cd.from, cd.to, cd.part->nselectors,
		 counts->nadd, counts->nupd, counts->nkeep, counts->ndel,
		 t_load - t0, t_build - t_load, ev_now_ms() - t_build);
	conf_delta_commit(d->conf, &cd);
	d->spd.st.reloads_partial++;
	return 0;

free_delta:
	spd_set_free(&desired);
	conf_delta_free(&cd);
	return rc;
}

int spmd_reload(struct spmd *d, char *errbuf, size_t errlen,
		struct spd_plan *counts)
{
	struct conf_diag dg;
	struct conf *nc = NULL;
	struct spd_set desired;
	uint64_t t0 = ev_now_ms(), t_load, t_build, t_apply;
	int rc;

	errbuf[0] = '\0';
	memset(counts, 0, sizeof(*counts));
	d->spd.st.reloads++;
	conf_diag_init(&dg);
	rc = reload_part(d, errbuf, errlen, counts);
	if (rc != -EAGAIN) {
		if (rc < 0) {
			d->spd.st.reload_failures++;
			log_err(MOD, "reload failed, running state kept: %s",
				errbuf);
		}
		return rc;
	}
	errbuf[0] = '\0';
	memset(counts, 0, sizeof(*counts));
	rc = conf_load_ex(d->conf_path, CONF_LOAD_SRCINDEX, &nc, &dg);
	if (rc < 0) {
		diag_to(errbuf, errlen, &dg);
		conf_diag_free(&dg);
		spmd_trim();
		d->spd.st.reload_failures++;
		log_err(MOD, "reload: %s has errors; running state kept:\n%s",
			d->conf_path, errbuf);
		return rc;
	}
	conf_diag_free(&dg);
	t_load = ev_now_ms();
	if (strcmp(spd_conf_socket(nc), spd_conf_socket(d->conf)) != 0)
		log_warn(MOD, "reload: the spmd socket path changed; it takes "
			      "effect at the next restart");
	spd_set_init(&desired);
	rc = spd_conf_build(&d->spd, nc, &desired, errbuf, errlen);
	if (rc < 0)
		goto fail;
	if (errbuf[0])
		log_warn(MOD, "reload: %s", errbuf);
	t_build = ev_now_ms();
	rc = spd_reload(&d->spd, &desired, errbuf, errlen, counts);
	if (rc < 0)
		goto fail;
	t_apply = ev_now_ms();
	d->conf_same = NULL;
	conf_free(d->conf);
	d->conf = nc;
	spmd_trim();
	log_info(MOD,
		 "reloaded %s: %zu added, %zu updated, %zu unchanged, "
		 "%zu deleted; config loaded in %" PRIu64
		 " ms, policies built in %" PRIu64 " ms, applied in %" PRIu64
		 " ms, old config freed in %" PRIu64 " ms",
		 d->conf_path, counts->nadd, counts->nupd, counts->nkeep,
		 counts->ndel, t_load - t0, t_build - t_load, t_apply - t_build,
		 ev_now_ms() - t_apply);
	return 0;

fail:
	spd_set_free(&desired);
	conf_free(nc);
	spmd_trim();
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
