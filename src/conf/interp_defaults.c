/*
 * interp_defaults.c - values inherited from `default { ... }`.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/interp_int.h"
#include "lib/filesrc.h"
#include "lib/util.h"

/* ------------------------------------------------------------------ */
/* defaults                                                            */
/* ------------------------------------------------------------------ */

static bool kmp_listed(const struct conf_remote *r, enum conf_kmp k)
{
	for (size_t i = 0; i < r->n_acceptable_kmp; i++)
		if (r->acceptable_kmp[i] == k)
			return true;
	return false;
}

struct conf_kmp_params *kmp_of(struct conf_remote *r, int idx)
{
	return idx == 0 ? &r->ikev1 : idx == 1 ? &r->ikev2 : &r->kink;
}

const enum conf_kmp conf_kmp_by_idx[3] = {CONF_KMP_IKEV1, CONF_KMP_IKEV2,
					  CONF_KMP_KINK};
static const unsigned ctx_by_idx[3] = {CTX_IKEV1, CTX_IKEV2, CTX_KINK};

void inherit_remote(struct ictx *x, struct conf_remote *r, struct rlocs *rl)
{
	const struct conf_remote *d = x->c->default_remote;

	if (d && r->n_acceptable_kmp == 0 && d->n_acceptable_kmp) {
		memcpy(r->acceptable_kmp, d->acceptable_kmp,
		       sizeof(r->acceptable_kmp));
		r->n_acceptable_kmp = d->n_acceptable_kmp;
		rl->top[RK_ACCEPTABLE_KMP] = x->def_rl.top[RK_ACCEPTABLE_KMP];
	}
	for (int i = 0; i < 3; i++) {
		struct conf_kmp_params *kp = kmp_of(r, i);
		if (kmp_listed(r, conf_kmp_by_idx[i]))
			kp->present = true;
		if (!kp->present)
			continue;
		if (!kp->loc.file)
			kp->loc = r->loc;
		if (x->def_kmp[i])
			interp_block(x, x->def_kmp[i], conf_kmp_tab,
				     conf_kmp_ntab, ctx_by_idx[i], "default",
				     kp, &kp->set, rl->kmp[i], NLOCS, true, -1);
	}
}

void inherit_flat(struct ictx *x, int k, void *o, struct conf_loc *locs)
{
	const struct flat_kind *fk = &conf_flat_kinds[k];
	const struct block *b = x->def_flat[k];
	uint32_t *setp = at_off(o, fk->set);
	uint64_t set = *setp;
	unsigned ctx = fk->ctx;

	if (!b)
		return;
	if (k == FLAT_SA) {
		/* the protocol first: it decides which other keys apply */
		interp_block(x, b, fk->tab, *fk->ntab, ctx, "default", o, &set,
			     locs, NLOCS_OBJ, true, CS_SA_PROTOCOL);
		ctx = (set >> CS_SA_PROTOCOL) & 1u
			  ? 1u << ((struct conf_sa *)o)->sa_protocol
			  : 0;
	}
	if (ctx)
		interp_block(x, b, fk->tab, *fk->ntab, ctx, "default", o, &set,
			     locs, NLOCS_OBJ, true, -1);
	*setp = (uint32_t)set;
}
