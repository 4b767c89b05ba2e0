/*
 * spmd_core.c - spmd's reload logic, shared by the daemon and the spmif
 * fuzz harness: load the configuration again, build the desired static
 * set and let spd apply the difference.  struct spmd (spmd.h) owns the
 * configuration that is replaced on success.
 */
#include "spm/spmd.h"

#include <errno.h>
#include <stdio.h>
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
	log_info(MOD, "reloaded %s: %zu added, %zu updated, %zu unchanged, "
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
