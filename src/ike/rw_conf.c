/*
 * rw_conf.c - the road-warrior / NAT-T part of turning racoon2.conf into
 * iked's struct ike_cfg: nat_keepalive_interval, `request`, `provide`
 * (addresspool ranges, DNS servers) per remote, and the outbound selector
 * name of a policy (spmd's dynamic policies are built from it).
 *
 * Called from cfg_conf.c.  Ownership: reads the conf model only; copies
 * everything into the fixed-size arrays of struct ike_remote/ike_policy.
 */
#include <string.h>

#include "conf/conf.h"
#include "ike/cfg.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "ike"

_Static_assert(RW_REQ_IP4 == CONF_REQ_IP4_ADDRESS &&
		   RW_REQ_IP6 == CONF_REQ_IP6_ADDRESS &&
		   RW_REQ_IP4_DNS == CONF_REQ_IP4_DNS &&
		   RW_REQ_IP6_DNS == CONF_REQ_IP6_DNS,
	       "rw.h request bits follow conf.h");

static void addr_copy(struct kaddr *out, const struct conf_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->af = a->af;
	memcpy(out->u.b, a->u.b, 16);
}

void rw_conf_remote(struct ike_remote *r, const struct conf_kmp_params *k)
{
	const struct conf_provide *pv = &k->provide;
	size_t i;

	r->nat_keepalive_sec = (unsigned)k->nat_keepalive;
	r->cp_request = k->request;
	r->npool = r->ndns = 0;
	r->pool_name[0] = '\0';
	if (pv->addresspool) {
		const struct conf_addrpool *ap = pv->addresspool;

		str_copy(r->pool_name, ap->name ? ap->name : "pool",
			 sizeof(r->pool_name));
		for (i = 0; i < ap->n && r->npool < CFG_POOL_MAX; i++) {
			if (ap->v[i].start.kind != CONF_ADDR_IP ||
			    ap->v[i].end.kind != CONF_ADDR_IP ||
			    ap->v[i].start.af != ap->v[i].end.af)
				continue;
			addr_copy(&r->pool[r->npool].start, &ap->v[i].start);
			addr_copy(&r->pool[r->npool].end, &ap->v[i].end);
			r->npool++;
		}
		if (ap->n > CFG_POOL_MAX)
			log_warn(MOD,
				 "remote %s: addresspool %s: only the "
				 "first %d ranges are used",
				 r->name, r->pool_name, CFG_POOL_MAX);
	}
	for (i = 0; i < pv->dns.n && r->ndns < CFG_DNS_MAX; i++)
		if (pv->dns.v[i].kind == CONF_ADDR_IP)
			addr_copy(&r->dns[r->ndns++], &pv->dns.v[i]);
}

void rw_conf_policy(struct ike_policy *p, const struct conf_policy *cp)
{
	size_t i;

	p->sel_name[0] = '\0';
	for (i = 0; i < cp->nselectors; i++) {
		const struct conf_selector *s = cp->selectors[i];

		if (s->direction == CONF_DIR_OUTBOUND && s->name) {
			str_copy(p->sel_name, s->name, sizeof(p->sel_name));
			return;
		}
	}
	/* Only inbound selectors: spmd mirrors from that one. */
	for (i = 0; i < cp->nselectors; i++)
		if (cp->selectors[i]->name) {
			str_copy(p->sel_name, cp->selectors[i]->name,
				 sizeof(p->sel_name));
			p->sel_inbound = true;
			return;
		}
}
