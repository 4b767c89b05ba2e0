/*
 * kmigrate.c - the MIGRATE rules every backend applies (kernel.h, struct
 * kmigrate_req): what Linux net/xfrm refuses and which templates and SAs
 * a request moves.  Self-contained (no other kernel-layer code) so that
 * r2espd, which links no backend, applies exactly the same rules.
 */
#include "kernel/kernel.h"
#include "lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static size_t alen(uint8_t af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

static bool addr_fam_ok(const struct kaddr *a)
{
	return a->af == AF_INET || a->af == AF_INET6;
}

static bool addr_eq(const struct kaddr *a, const struct kaddr *b)
{
	return a->af == b->af && memcmp(a->u.b, b->u.b, alen(a->af)) == 0;
}

static bool kaddr_zero(const struct kaddr *a)
{
	static const uint8_t z[16];

	return memcmp(a->u.b, z, alen(a->af)) == 0;
}

/* The checks of Linux xfrm_migrate_check() and copy_from_user_migrate(),
 * so that every backend refuses the same requests. */
int kmigrate_validate(const struct kmigrate_req *r, char *err, size_t errlen)
{
	if (!r) {
		why_set(err, errlen, "migrate: no request");
		return -EINVAL;
	}
	if ((r->sel.af != AF_INET && r->sel.af != AF_INET6) ||
	    (r->sel.src.af && r->sel.src.af != r->sel.af) ||
	    (r->sel.dst.af && r->sel.dst.af != r->sel.af) ||
	    r->sel.src_plen > (r->sel.af == AF_INET ? 32 : 128) ||
	    r->sel.dst_plen > (r->sel.af == AF_INET ? 32 : 128)) {
		why_set(err, errlen, "migrate: bad selector");
		return -EINVAL;
	}
	if (r->dir != KDIR_IN && r->dir != KDIR_OUT && r->dir != KDIR_FWD) {
		why_set(err, errlen, "migrate: bad direction %d", (int)r->dir);
		return -EINVAL;
	}
	if (r->n == 0 || r->n > KMIGRATE_MAX) {
		why_set(err, errlen, "migrate: %u pairs (1 to %d)", r->n,
			KMIGRATE_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < r->n; i++) {
		const struct kmigrate *m = &r->m[i];

		if (m->proto != IPPROTO_ESP && m->proto != IPPROTO_AH &&
		    m->proto != IPPROTO_COMP) {
			why_set(err, errlen, "migrate: bad protocol %u",
				m->proto);
			return -EINVAL;
		}
		if (m->mode != KMODE_TRANSPORT && m->mode != KMODE_TUNNEL) {
			why_set(err, errlen, "migrate: bad mode %d",
				(int)m->mode);
			return -EINVAL;
		}
		if (!addr_fam_ok(&m->old_src) ||
		    m->old_src.af != m->old_dst.af ||
		    !addr_fam_ok(&m->new_src) ||
		    m->new_src.af != m->new_dst.af) {
			why_set(err, errlen,
				"migrate: each endpoint pair needs two "
				"addresses of one family");
			return -EINVAL;
		}
		if (kaddr_zero(&m->new_src) || kaddr_zero(&m->new_dst)) {
			why_set(err, errlen,
				"migrate: new endpoints cannot be unspecified");
			return -EINVAL;
		}
		for (unsigned j = i + 1; j < r->n; j++) {
			const struct kmigrate *o = &r->m[j];

			if (o->proto == m->proto && o->mode == m->mode &&
			    o->reqid == m->reqid &&
			    addr_eq(&o->old_src, &m->old_src) &&
			    addr_eq(&o->old_dst, &m->old_dst)) {
				why_set(err, errlen,
					"migrate: pairs %u and %u name the "
					"same SA",
					i, j);
				return -EINVAL;
			}
		}
	}
	if (r->has_encap && r->encap.enabled &&
	    (!r->encap.sport || !r->encap.dport)) {
		why_set(err, errlen, "migrate: UDP encapsulation needs ports");
		return -EINVAL;
	}
	return 0;
}

/* net/xfrm/xfrm_policy.c migrate_tmpl_match(): a transport template
 * holds no endpoints, so proto, mode and reqid decide. */
const struct kmigrate *kmigrate_tmpl(const struct kmigrate_req *r,
				     const struct ktmpl *t)
{
	for (unsigned i = 0; i < r->n && i < KMIGRATE_MAX; i++) {
		const struct kmigrate *m = &r->m[i];

		if (t->proto != m->proto || t->mode != m->mode ||
		    (m->reqid && t->reqid != m->reqid))
			continue;
		if (t->mode == KMODE_TUNNEL &&
		    (!addr_eq(&t->src, &m->old_src) ||
		     !addr_eq(&t->dst, &m->old_dst)))
			continue;
		return m;
	}
	return NULL;
}

const struct kmigrate *kmigrate_sa(const struct kmigrate_req *r,
				   const struct ksa *sa)
{
	for (unsigned i = 0; i < r->n && i < KMIGRATE_MAX; i++) {
		const struct kmigrate *m = &r->m[i];

		if (sa->proto == m->proto && sa->mode == m->mode &&
		    (!m->reqid || sa->reqid == m->reqid) &&
		    addr_eq(&sa->src, &m->old_src) &&
		    addr_eq(&sa->dst, &m->old_dst))
			return m;
	}
	return NULL;
}

void kmigrate_apply_tmpl(const struct kmigrate *m, struct ktmpl *t)
{
	/* Linux writes the new endpoints into every matched template;
	 * a transport template stays without them */
	if (t->mode == KMODE_TUNNEL) {
		t->src = m->new_src;
		t->dst = m->new_dst;
	}
}

void kmigrate_apply_sa(const struct kmigrate_req *r, const struct kmigrate *m,
		       struct ksa *sa)
{
	sa->src = m->new_src;
	sa->dst = m->new_dst;
	if (r->has_encap)
		sa->encap = r->encap;
}
