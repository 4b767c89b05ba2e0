/*
 * rw.c - road warriors: address pool leases, the responder's TS envelope
 * narrowing and overlap rule, dynamic policies tied to CHILD SAs, the
 * uniqueness rule for a returning road warrior.  The rules themselves are
 * documented in rw.h.
 *
 * Ownership: struct rw_state (d->rw) owns leases, bindings and per-IKE-SA
 * records (struct rw_sa); all refer to SAs by id.  Nothing here holds a
 * pointer to an ike_sa or child_sa beyond one call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "ike/rw_int.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	      "ike"
#define POOL_SCAN_MAX 65536u /* addresses tried per range */

/* ---- state ---- */

struct rw_state *rw_get(struct iked *d)
{
	if (!d->rw) {
		d->rw = calloc(1, sizeof(*d->rw));
		if (d->rw) {
			d->rw->next_reqid = 0x7e000000u;
			ev_timer_init(&d->rw->ka_timer, NULL, NULL);
		}
	}
	return d->rw;
}

void rw_free(struct iked *d)
{
	struct rw_state *st = d->rw;
	struct rw_sa *s;

	if (!st)
		return;
	natt_stop(d);
	rw_binds_free(&st->binds);
	while ((s = st->sas)) {
		st->sas = s->next;
		free(s);
	}
	hidx_free(&st->by_sa_rec);
	rw_pool_free(&st->pool);
	free(st);
	d->rw = NULL;
}

void rw_set_ops(struct iked *d, const struct rw_dynpol_ops *ops)
{
	struct rw_state *st = rw_get(d);

	if (st)
		st->ops = ops;
}

static uint32_t id_hash(uint32_t id)
{
	return hidx_hash(&id, sizeof(id), 0);
}

struct rw_sa *rw_sa_rec(struct iked *d, uint32_t sa_id, bool create)
{
	struct rw_state *st = rw_get(d);
	struct hidx_it it;
	struct rw_sa *s;
	uintptr_t v;
	bool more;

	if (!st)
		return NULL;
	for (more = hidx_first(&st->by_sa_rec, &it, id_hash(sa_id), &v); more;
	     more = hidx_next(&st->by_sa_rec, &it, &v))
		if ((s = (struct rw_sa *)v)->sa_id == sa_id)
			return s;
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->sa_id = sa_id;
	if (hidx_add(&st->by_sa_rec, id_hash(sa_id), (uintptr_t)s) < 0) {
		free(s);
		return NULL;
	}
	s->next = st->sas;
	if (st->sas)
		st->sas->prev = s;
	st->sas = s;
	return s;
}

static void rw_sa_drop(struct iked *d, uint32_t sa_id)
{
	struct rw_state *st = d->rw;
	struct rw_sa *s = st ? rw_sa_rec(d, sa_id, false) : NULL;

	if (!s)
		return;
	hidx_del(&st->by_sa_rec, id_hash(sa_id), (uintptr_t)s);
	if (s->prev)
		s->prev->next = s->next;
	else
		st->sas = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

const struct kaddr *rw_sa_lease(struct iked *d, uint32_t sa_id, uint8_t af)
{
	struct rw_sa *s = d->rw ? rw_sa_rec(d, sa_id, false) : NULL;

	if (!s)
		return NULL;
	if (af == AF_INET && s->lease4.af)
		return &s->lease4;
	if (af == AF_INET6 && s->lease6.af)
		return &s->lease6;
	return NULL;
}

/* ---- address pool ---- */

static size_t alen(uint8_t af)
{
	return af == AF_INET6 ? 16 : 4;
}

static int addr_cmp(const struct kaddr *a, const struct kaddr *b)
{
	return memcmp(a->u.b, b->u.b, alen(a->af));
}

static bool addr_inc(struct kaddr *a)
{
	size_t i = alen(a->af);

	while (i-- > 0)
		if (++a->u.b[i] != 0)
			return true;
	return false; /* wrapped */
}

static bool in_ranges(const struct cfg_range *r, size_t n,
		      const struct kaddr *a)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].start.af == a->af && addr_cmp(a, &r[i].start) >= 0 &&
		    addr_cmp(a, &r[i].end) <= 0)
			return true;
	return false;
}

static struct rw_lease *lease_find(struct rw_pool_set *ps, const char *name,
				   const struct kaddr *a)
{
	struct rw_lease *l;

	for (l = ps->leases; l; l = l->next)
		if (strcmp(l->pool, name) == 0 && kaddr_eq(&l->addr, a))
			return l;
	return NULL;
}

static int lease_take(struct rw_pool_set *ps, struct rw_lease *l,
		      const char *name, const struct kaddr *a,
		      const struct ike_id *id, uint32_t sa_id,
		      struct kaddr *out)
{
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		str_copy(l->pool, name, sizeof(l->pool));
		l->addr = *a;
		l->next = ps->leases;
		ps->leases = l;
	}
	l->owner = *id;
	l->sa_id = sa_id;
	*out = l->addr;
	return 0;
}

int rw_pool_alloc(struct rw_pool_set *ps, const char *name,
		  const struct cfg_range *ranges, size_t nranges, uint8_t af,
		  const struct kaddr *want, const struct ike_id *id,
		  uint32_t sa_id, struct kaddr *out)
{
	struct rw_lease *l, *stale = NULL;
	bool have_af = false;
	size_t i;

	for (i = 0; i < nranges; i++)
		if (ranges[i].start.af == af)
			have_af = true;
	if (!have_af)
		return -ENOENT;
	/* RFC 7296 §3.15.1: the client may suggest an address. */
	if (want && want->af == af && in_ranges(ranges, nranges, want)) {
		l = lease_find(ps, name, want);
		if (!l || !l->sa_id)
			return lease_take(ps, l, name, want, id, sa_id, out);
	}
	/* The same identity gets its previous address back. */
	for (l = ps->leases; l; l = l->next)
		if (!l->sa_id && l->addr.af == af &&
		    strcmp(l->pool, name) == 0 && ike_id_eq(&l->owner, id))
			return lease_take(ps, l, name, &l->addr, id, sa_id,
					  out);
	/* Never used first, then the oldest released one. */
	for (i = 0; i < nranges; i++) {
		struct kaddr a = ranges[i].start;
		unsigned n = 0;

		if (a.af != af)
			continue;
		do {
			l = lease_find(ps, name, &a);
			if (!l)
				return lease_take(ps, NULL, name, &a, id, sa_id,
						  out);
			if (!l->sa_id)
				stale = l;
		} while (++n < POOL_SCAN_MAX &&
			 addr_cmp(&a, &ranges[i].end) < 0 && addr_inc(&a));
	}
	if (stale)
		return lease_take(ps, stale, name, &stale->addr, id, sa_id,
				  out);
	return -ENOSPC;
}

size_t rw_pool_release(struct rw_pool_set *ps, uint32_t sa_id)
{
	struct rw_lease *l;
	size_t n = 0;

	/* Kept with sa_id 0: remembered for the same identity. */
	for (l = ps->leases; l; l = l->next)
		if (sa_id && l->sa_id == sa_id) {
			l->sa_id = 0;
			n++;
		}
	return n;
}

void rw_pool_move(struct rw_pool_set *ps, uint32_t from_sa, uint32_t to_sa)
{
	struct rw_lease *l;

	for (l = ps->leases; l; l = l->next)
		if (from_sa && l->sa_id == from_sa)
			l->sa_id = to_sa;
}

size_t rw_pool_count(const struct rw_pool_set *ps)
{
	const struct rw_lease *l;
	size_t n = 0;

	for (l = ps->leases; l; l = l->next)
		if (l->sa_id)
			n++;
	return n;
}

void rw_pool_free(struct rw_pool_set *ps)
{
	struct rw_lease *l;

	while ((l = ps->leases)) {
		ps->leases = l->next;
		free(l);
	}
}

/* ---- narrowing ---- */

/* Reduce a list to the first CIDR block of its first selector: the
 * kernel policy and the negotiated TS are then the same thing. */
static int first_block(struct ikev2_ts_list *l)
{
	struct ikev2_ts blk[IKEV2_MAX_TS];
	int n;

	if (!l->n)
		return IKEV2_N_TS_UNACCEPTABLE;
	n = ikev2_ts_split(&l->ts[0], blk, IKEV2_MAX_TS);
	if (n < 1) {
		/* More blocks than we can list: the first is still a
		 * correct (narrower) answer. */
		struct ikev2_ts big[128];
		n = ikev2_ts_split(&l->ts[0], big, 128);
		if (n < 1)
			return IKEV2_N_TS_UNACCEPTABLE;
		blk[0] = big[0];
	}
	l->ts[0] = blk[0];
	l->n = 1;
	return 0;
}

int rw_narrow(const struct ikev2_ts_list *peer_ts,
	      const struct ikev2_ts_list *our_ts,
	      const struct ikev2_ts_list *env_peer,
	      const struct ikev2_ts_list *env_ours, const struct kaddr *lease,
	      struct ikev2_ts_list *peer_out, struct ikev2_ts_list *our_out)
{
	struct ikev2_ts_list tmp;
	int rc;

	/* RFC 7296 §2.9: the configured selector is the envelope. */
	if ((rc = ikev2_ts_narrow(peer_ts, env_peer, &tmp)) != 0)
		return rc;
	if (lease && lease->af) {
		/* §3.15.1 / §2.9: a client with an assigned address gets
		 * exactly that address as TSi. */
		struct ikev2_ts_list one;
		one.n = 1;
		if (ikev2_ts_from_prefix(&one.ts[0], lease->af, lease->u.b,
					 lease->af == AF_INET6 ? 128 : 32, 0,
					 0) < 0)
			return IKEV2_N_TS_UNACCEPTABLE;
		if ((rc = ikev2_ts_narrow(&tmp, &one, peer_out)) != 0)
			return rc;
	} else {
		*peer_out = tmp;
	}
	if ((rc = ikev2_ts_narrow(our_ts, env_ours, our_out)) != 0)
		return rc;
	if ((rc = first_block(peer_out)) != 0)
		return rc;
	return first_block(our_out);
}

/* ---- the binding set and the overlap rule ---- */

static bool ts_overlap(const struct ikev2_ts *a, const struct ikev2_ts *b)
{
	return ikev2_ts_intersect(a, b, NULL);
}

static size_t ts_alen(const struct ikev2_ts *ts)
{
	return ts->type == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 4;
}

static bool ts_ip(const struct ikev2_ts *ts)
{
	return ts->type == IKEV2_TS_IPV4_ADDR_RANGE ||
	       ts->type == IKEV2_TS_IPV6_ADDR_RANGE;
}

/* One address (any protocol and ports): the host index's key. */
static bool ts_host(const struct ikev2_ts *ts)
{
	return ts_ip(ts) && memcmp(ts->start, ts->end, ts_alen(ts)) == 0;
}

static uint32_t host_hash(uint8_t type, const uint8_t *addr, size_t alen)
{
	return hidx_hash(addr, alen, type);
}

int rw_binds_add(struct rw_binds *s, struct rw_bind *b)
{
	size_t al = ts_alen(&b->peer_ts);

	b->host = ts_host(&b->peer_ts);
	if (hidx_add(&s->by_child, id_hash(b->child_id), (uintptr_t)b) < 0)
		goto fail;
	if (hidx_add(&s->by_sa, id_hash(b->sa_id), (uintptr_t)b) < 0)
		goto unindex_child;
	if (b->host &&
	    hidx_add(&s->by_host,
		     host_hash(b->peer_ts.type, b->peer_ts.start, al),
		     (uintptr_t)b) < 0)
		goto unindex_sa;
	b->seq = ++s->seq;
	b->prev = NULL;
	b->next = s->all;
	if (s->all)
		s->all->prev = b;
	s->all = b;
	b->rprev = b->rnext = NULL;
	if (!b->host) {
		b->rnext = s->ranges;
		if (s->ranges)
			s->ranges->rprev = b;
		s->ranges = b;
	} else {
		s->nhost++;
	}
	s->n++;
	return 0;
unindex_sa:
	hidx_del(&s->by_sa, id_hash(b->sa_id), (uintptr_t)b);
unindex_child:
	hidx_del(&s->by_child, id_hash(b->child_id), (uintptr_t)b);
fail:
	return -ENOMEM;
}

void rw_binds_del(struct rw_binds *s, struct rw_bind *b)
{
	hidx_del(&s->by_child, id_hash(b->child_id), (uintptr_t)b);
	hidx_del(&s->by_sa, id_hash(b->sa_id), (uintptr_t)b);
	if (b->host) {
		hidx_del(&s->by_host,
			 host_hash(b->peer_ts.type, b->peer_ts.start,
				   ts_alen(&b->peer_ts)),
			 (uintptr_t)b);
		s->nhost--;
	} else {
		if (b->rprev)
			b->rprev->rnext = b->rnext;
		else
			s->ranges = b->rnext;
		if (b->rnext)
			b->rnext->rprev = b->rprev;
	}
	if (b->prev)
		b->prev->next = b->next;
	else
		s->all = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->next = b->prev = b->rnext = b->rprev = NULL;
	s->n--;
}

struct rw_bind *rw_binds_child(const struct rw_binds *s, uint32_t child_id)
{
	struct hidx_it it;
	uintptr_t v;
	bool more;

	for (more = hidx_first(&s->by_child, &it, id_hash(child_id), &v); more;
	     more = hidx_next(&s->by_child, &it, &v))
		if (((struct rw_bind *)v)->child_id == child_id)
			return (struct rw_bind *)v;
	return NULL;
}

struct rw_bind *rw_binds_sa_next(const struct rw_binds *s, uint32_t sa_id,
				 struct hidx_it *it, bool first)
{
	uintptr_t v;
	bool more;

	for (more = first ? hidx_first(&s->by_sa, it, id_hash(sa_id), &v)
			  : hidx_next(&s->by_sa, it, &v);
	     more; more = hidx_next(&s->by_sa, it, &v))
		if (((struct rw_bind *)v)->sa_id == sa_id)
			return (struct rw_bind *)v;
	return NULL;
}

int rw_binds_set_ids(struct rw_binds *s, struct rw_bind *b, uint32_t child_id,
		     uint32_t sa_id)
{
	/* add the new entries first: a failed add leaves b as it was */
	if (child_id != b->child_id &&
	    hidx_add(&s->by_child, id_hash(child_id), (uintptr_t)b) < 0)
		return -ENOMEM;
	if (sa_id != b->sa_id &&
	    hidx_add(&s->by_sa, id_hash(sa_id), (uintptr_t)b) < 0) {
		if (child_id != b->child_id)
			hidx_del(&s->by_child, id_hash(child_id), (uintptr_t)b);
		return -ENOMEM;
	}
	if (child_id != b->child_id) {
		hidx_del(&s->by_child, id_hash(b->child_id), (uintptr_t)b);
		b->child_id = child_id;
	}
	if (sa_id != b->sa_id) {
		hidx_del(&s->by_sa, id_hash(b->sa_id), (uintptr_t)b);
		b->sa_id = sa_id;
	}
	return 0;
}

void rw_binds_free(struct rw_binds *s)
{
	struct rw_bind *b;

	while ((b = s->all)) {
		s->all = b->next;
		free(b);
	}
	hidx_free(&s->by_child);
	hidx_free(&s->by_sa);
	hidx_free(&s->by_host);
	memset(s, 0, sizeof(*s));
}

struct conflict {
	const struct ike_id *id;
	uint32_t sa_id;
	const struct ikev2_ts *ts;
	const struct rw_bind *refuse, *replace;
};

/* The linear rule visited the newest binding first and stopped at the
 * first of another identity; of the same identity it kept the last
 * (oldest) one: the add order decides, not the index's. */
static void conflict_check(struct conflict *k, const struct rw_bind *b)
{
	struct ike_id id;

	if (b->sa_id == k->sa_id || !ts_overlap(&b->peer_ts, k->ts))
		return;
	rw_bind_peer_id(b, &id);
	if (!ike_id_eq(&id, k->id)) {
		if (!k->refuse || b->seq > k->refuse->seq)
			k->refuse = b;
	} else if (!k->replace || b->seq < k->replace->seq) {
		k->replace = b;
	}
}

static void conflict_host(struct conflict *k, const struct rw_binds *s,
			  const uint8_t *addr)
{
	uint8_t type = k->ts->type;
	size_t al = ts_alen(k->ts);
	struct hidx_it it;
	uintptr_t v;
	bool more;

	for (more = hidx_first(&s->by_host, &it, host_hash(type, addr, al), &v);
	     more; more = hidx_next(&s->by_host, &it, &v)) {
		const struct rw_bind *b = (const struct rw_bind *)v;
		if (b->peer_ts.type == type &&
		    memcmp(b->peer_ts.start, addr, al) == 0)
			conflict_check(k, b);
	}
}

/* end - start + 1 when that is at most max, else 0 (start <= end). */
static uint64_t range_count(const struct ikev2_ts *ts, uint64_t max)
{
	size_t al = ts_alen(ts), i;
	uint8_t diff[16];
	unsigned borrow = 0;
	uint64_t n = 0;

	for (i = al; i-- > 0;) {
		unsigned d = (unsigned)ts->end[i] - ts->start[i] - borrow;
		borrow = d > 0xff;
		diff[i] = (uint8_t)d;
	}
	for (i = 0; i < al; i++) {
		if (n > (max >> 8))
			return 0;
		n = n << 8 | diff[i];
	}
	return n < max ? n + 1 : 0;
}

static void addr_next(uint8_t *a, size_t al)
{
	while (al-- > 0)
		if (++a[al] != 0)
			return;
}

enum rw_conflict rw_ts_conflict(const struct rw_binds *s,
				const struct ike_id *id, uint32_t sa_id,
				const struct ikev2_ts *peer_ts, uint32_t *other)
{
	struct conflict k = {.id = id, .sa_id = sa_id, .ts = peer_ts};
	const struct rw_bind *b;
	uint64_t n;

	*other = 0;
	if (!s || !s->n)
		return RW_OK;
	if (!ts_ip(peer_ts) ||
	    memcmp(peer_ts->start, peer_ts->end, ts_alen(peer_ts)) > 0) {
		/* not an address range we index, or empty: every binding */
		for (b = s->all; b; b = b->next)
			conflict_check(&k, b);
	} else {
		for (b = s->ranges; b; b = b->rnext)
			conflict_check(&k, b);
		if (ts_host(peer_ts)) {
			conflict_host(&k, s, peer_ts->start);
		} else if (s->nhost &&
			   (n = range_count(peer_ts, s->nhost)) != 0) {
			/* fewer addresses than host bindings: look each up */
			uint8_t a[16];
			memcpy(a, peer_ts->start, sizeof(a));
			while (n--) {
				conflict_host(&k, s, a);
				addr_next(a, ts_alen(peer_ts));
			}
		} else if (s->nhost) {
			for (b = s->all; b; b = b->next)
				if (b->host)
					conflict_check(&k, b);
		}
	}
	if (k.refuse) {
		*other = k.refuse->sa_id;
		return RW_REFUSE; /* never hijack another identity */
	}
	if (k.replace) {
		*other = k.replace->sa_id;
		return RW_REPLACE;
	}
	return RW_OK;
}

/* ---- dynamic policies ---- */

static void ts_to_half(const struct ikev2_ts *ts, struct kaddr *a,
		       uint8_t *plen, uint16_t *port, uint16_t *mask)
{
	int af = 0;
	unsigned pl = 0;

	memset(a, 0, sizeof(*a));
	if (ikev2_ts_to_prefix(ts, &af, a->u.b, &pl) == 0) {
		a->af = (uint8_t)af;
		*plen = (uint8_t)pl;
	}
	*port = 0;
	*mask = 0;
	if (ts->sport == ts->eport) {
		*port = ts->sport;
		*mask = 0xffff;
	}
}

void rw_polreq_fill(struct rw_polreq *q, const struct ike_policy *p,
		    const struct ike_sa *sa, const struct ikev2_ts *peer,
		    const struct ikev2_ts *ours)
{
	memset(q, 0, sizeof(*q));
	q->selector = p->sel_name;
	q->sel_inbound = p->sel_inbound;
	q->mode = p->mode;
	q->proto = peer->proto ? peer->proto : ours->proto;
	ts_to_half(ours, &q->local.src, &q->local.src_plen, &q->local.sport,
		   &q->local.sport_mask);
	ts_to_half(peer, &q->peer.dst, &q->peer.dst_plen, &q->peer.dport,
		   &q->peer.dport_mask);
	q->local.af = q->local.src.af;
	q->peer.af = q->peer.dst.af;
	q->sa_local = sa->local.addr;
	if (p->mode == KMODE_TUNNEL && p->my_sa.af == sa->local.addr.af)
		q->sa_local = p->my_sa;
	q->sa_peer = sa->peer.addr;
}

struct rw_bind *rw_bind_new(const struct ike_id *id)
{
	size_t len = id ? id->len : 0;
	struct rw_bind *b;

	if (len > CFG_ID_MAX)
		len = CFG_ID_MAX;
	b = calloc(1, sizeof(*b) + len);
	if (!b)
		return NULL;
	if (id) {
		b->id_type = id->type;
		b->id_len = (uint16_t)len;
		memcpy(b->id, id->data, len);
	}
	return b;
}

void rw_bind_peer_id(const struct rw_bind *b, struct ike_id *out)
{
	memset(out, 0, sizeof(*out));
	out->type = b->id_type;
	out->len = b->id_len;
	memcpy(out->data, b->id, b->id_len);
}

void rw_bind_kpol(const struct rw_bind *b, unsigned i, struct kpolicy *kp)
{
	const struct ksel *o = &b->sel;
	bool out = i == 0;

	memset(kp, 0, sizeof(*kp));
	kp->dir = i == 0 ? KDIR_OUT : i == 1 ? KDIR_IN : KDIR_FWD;
	kp->action = KPOL_IPSEC;
	kp->priority = 1000;
	kp->index = i < RW_KPOL_MAX ? b->kidx[i] : 0;
	kp->sel = *o;
	if (!out) { /* in and fwd: the out selector mirrored */
		kp->sel.src = o->dst;
		kp->sel.dst = o->src;
		kp->sel.src_plen = o->dst_plen;
		kp->sel.dst_plen = o->src_plen;
		kp->sel.sport = o->dport;
		kp->sel.dport = o->sport;
		kp->sel.sport_mask = o->dport_mask;
		kp->sel.dport_mask = o->sport_mask;
	}
	kp->ntmpl = 1;
	kp->tmpl[0].proto = IPPROTO_ESP;
	kp->tmpl[0].mode = (enum kmode)b->mode;
	kp->tmpl[0].level = KLEVEL_REQUIRE;
	kp->tmpl[0].reqid = b->reqid;
	if (b->mode == KMODE_TUNNEL) {
		kp->tmpl[0].src = out ? b->tun_local : b->tun_peer;
		kp->tmpl[0].dst = out ? b->tun_peer : b->tun_local;
	}
}

/* The KOP_POL_DEL of b's directly installed policies into ops (the
 * policies in pol); returns how many.  b holds none afterwards. */
static size_t kern_del_ops(struct rw_bind *b, struct kop *ops,
			   struct kpolicy *pol)
{
	size_t n = 0;

	for (unsigned i = 0; i < b->nk && i < RW_KPOL_MAX; i++) {
		rw_bind_kpol(b, i, &pol[n]);
		memset(&ops[n], 0, sizeof(ops[n]));
		ops[n].type = KOP_POL_DEL;
		ops[n].u.pol = &pol[n];
		n++;
	}
	b->nk = 0;
	return n;
}

static void kern_del(struct iked *d, struct rw_bind *b)
{
	struct kpolicy pol[RW_KPOL_MAX];
	struct kop ops[RW_KPOL_MAX];
	size_t n = kern_del_ops(b, ops, pol);

	/* one batch (kernel.h k_batch): one round trip to the parent */
	if (n && d->kern_open && k_batch(&d->kern, ops, n) < 0)
		for (size_t j = 0; j < n; j++)
			if (ops[j].rc < 0)
				log_warn(MOD, "dynamic policy index %08x: %s",
					 pol[j].index, strerror(-ops[j].rc));
}

/* Without spmd: out, in and (tunnel) fwd policies straight through the
 * kernel ops, with owned indexes (kernel.h). */
static int kern_add(struct iked *d, struct rw_bind *b,
		    const struct rw_polreq *q, struct kop *spi)
{
	struct rw_state *st = rw_get(d);
	struct kpolicy kpol[RW_KPOL_MAX];
	struct kop ops[RW_KPOL_MAX + 1];
	unsigned i, n = q->mode == KMODE_TUNNEL ? 3u : 2u;
	struct ksel *o = &b->sel;
	int rc;

	if (!d->kern_open)
		return -ENODEV;
	b->reqid = st->next_reqid++;
	b->mode = (uint8_t)q->mode;
	memset(o, 0, sizeof(*o));
	o->af = q->local.af;
	o->proto = q->proto;
	o->src = q->local.src;
	o->src_plen = q->local.src_plen;
	o->dst = q->peer.dst;
	o->dst_plen = q->peer.dst_plen;
	o->sport = q->local.sport;
	o->sport_mask = q->local.sport_mask;
	o->dport = q->peer.dport;
	o->dport_mask = q->peer.dport_mask;
	memset(&b->tun_local, 0, sizeof(b->tun_local));
	memset(&b->tun_peer, 0, sizeof(b->tun_peer));
	if (q->mode == KMODE_TUNNEL) {
		b->tun_local = q->sa_local;
		b->tun_peer = q->sa_peer;
	}
	memset(b->kidx, 0, sizeof(b->kidx));
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n; i++) {
		rw_bind_kpol(b, i, &kpol[i]);
		ops[i].type = KOP_POL_ADD;
		ops[i].u.pol = &kpol[i];
	}
	/* one batch (kernel.h k_batch): one round trip to the privileged
	 * parent, with the child's SPI when asked (it needs the reqid);
	 * on any failure the policies added go again (one more batch) */
	if (spi) {
		spi->u.getspi.reqid = b->reqid;
		ops[n] = *spi;
	}
	rc = k_batch(&d->kern, ops, n + (spi ? 1 : 0));
	if (spi) {
		spi->u.getspi.spi = ops[n].u.getspi.spi;
		spi->rc = ops[n].rc;
		rc = 0;
		for (i = 0; i < n && !rc; i++)
			rc = ops[i].rc;
	}
	for (i = 0; i < n; i++)
		if (ops[i].rc == 0)
			b->kidx[i] = kpol[i].index;
	if (rc < 0) {
		char why[sizeof(d->kern.last_error)];
		struct kop undo[RW_KPOL_MAX];
		size_t m = 0;

		memcpy(why, d->kern.last_error, sizeof(why));
		memset(undo, 0, sizeof(undo));
		for (i = 0; i < n; i++)
			if (ops[i].rc == 0) {
				undo[m].type = KOP_POL_DEL;
				undo[m++].u.pol = &kpol[i];
			}
		if (m)
			k_batch(&d->kern, undo, m);
		memcpy(d->kern.last_error, why, sizeof(why));
		b->nk = 0;
		return rc;
	}
	b->nk = (uint8_t)n;
	return 0;
}

static bool use_ops(struct iked *d)
{
	struct rw_state *st = d->rw;

	return st && st->ops && (!st->ops->usable || st->ops->usable(d));
}

/* b goes: through spmd now; installed directly, its policies' deletes
 * go into ops/pol for the caller's batch when ops is given (returns how
 * many), else now. */
static size_t bind_remove_ops(struct iked *d, struct rw_bind *b,
			      struct kop *ops, struct kpolicy *pol)
{
	struct rw_state *st = d->rw;
	size_t n = 0;

	if (b->dyn_id) {
		if (st->ops)
			st->ops->del(d, b->dyn_id);
		log_info(MOD, "dynamic policy #%u (reqid %u) removed",
			 b->dyn_id, b->reqid);
	} else {
		if (ops)
			n = kern_del_ops(b, ops, pol);
		else
			kern_del(d, b);
		log_info(MOD, "dynamic policies of reqid %u removed", b->reqid);
	}
	st->policies_removed++;
	rw_binds_del(&st->binds, b);
	free(b);
	return n;
}

static void bind_remove(struct iked *d, struct rw_bind *b)
{
	bind_remove_ops(d, b, NULL, NULL);
}

static int bind_add(struct iked *d, const struct rw_polreq *q, uint32_t sa_id,
		    const struct ike_id *peer_id, uint32_t child_id,
		    const struct ikev2_ts *peer_ts, uint32_t *reqid, char *err,
		    size_t errlen, struct kop *spi)
{
	struct rw_state *st = rw_get(d);
	struct rw_bind *b;
	int rc;

	if (!st)
		return -ENOMEM;
	b = rw_bind_new(peer_id);
	if (!b)
		return -ENOMEM;
	b->child_id = child_id;
	b->sa_id = sa_id;
	b->peer_ts = *peer_ts;
	if (use_ops(d)) {
		rc = st->ops->add(d, q, &b->dyn_id, &b->reqid, err, errlen);
		if (rc == 0 && !b->dyn_id)
			rc = -EPROTO;
	} else {
		rc = kern_add(d, b, q, spi);
		if (rc < 0)
			snprintf(err, errlen, "%s", d->kern.last_error);
	}
	if (rc == 0 && (rc = rw_binds_add(&st->binds, b)) < 0) {
		snprintf(err, errlen, "no memory for the binding's indexes");
		if (b->dyn_id) {
			if (st->ops)
				st->ops->del(d, b->dyn_id);
		} else {
			kern_del(d, b);
		}
	}
	if (rc < 0) {
		free(b);
		return rc;
	}
	st->policies_added++;
	*reqid = b->reqid;
	return 0;
}

int rw_bind_add(struct iked *d, const struct rw_polreq *q,
		const struct ike_sa *sa, uint32_t child_id,
		const struct ikev2_ts *peer_ts, uint32_t *reqid, char *err,
		size_t errlen, struct kop *spi)
{
	return bind_add(d, q, sa->id, &sa->id_peer, child_id, peer_ts, reqid,
			err, errlen, spi);
}

int rw_v1_bind(struct iked *d, uint32_t sa_id, uint32_t child_id,
	       const struct ike_policy *p, const struct ksel *local_ts,
	       const struct ksel *peer_ts, const struct kaddr *sa_local,
	       const struct kaddr *sa_peer, uint32_t *reqid, char *err,
	       size_t errlen)
{
	struct ikev2_ts pts;
	struct rw_polreq q;
	struct rw_bind *b;
	uint32_t other;

	if (ikev2_ts_from_prefix(&pts, peer_ts->af, peer_ts->dst.u.b,
				 peer_ts->dst_plen, peer_ts->proto,
				 peer_ts->dport_mask ? peer_ts->dport : 0) !=
	    0) {
		snprintf(err, errlen, "peer's IDci is not one prefix");
		return -EINVAL;
	}
	/* a Quick Mode renewing a CHILD SA of the same ISAKMP SA: the
	 * policies stay and now belong to the new one */
	if (d->rw) {
		struct rw_bind *renew = NULL;
		struct hidx_it it;
		/* the newest, as the list walk found */
		for (b = rw_binds_sa_next(&d->rw->binds, sa_id, &it, true); b;
		     b = rw_binds_sa_next(&d->rw->binds, sa_id, &it, false))
			if (ts_overlap(&b->peer_ts, &pts) &&
			    (!renew || b->seq > renew->seq))
				renew = b;
		if (renew) {
			if (rw_binds_set_ids(&d->rw->binds, renew, child_id,
					     sa_id) < 0) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			*reqid = renew->reqid;
			return 0;
		}
	}
	/* rw.h rule 1 without identities to compare: first come, first
	 * served (an IKEv1 SA never takes over another SA's selectors) */
	if (rw_ts_conflict(d->rw ? &d->rw->binds : NULL, &(struct ike_id){0},
			   sa_id, &pts, &other) != RW_OK) {
		snprintf(err, errlen, "selectors owned by SA #%u", other);
		return -EEXIST;
	}
	if (!p->sel_name[0] && use_ops(d)) {
		snprintf(err, errlen, "policy %s has no selector for spmd",
			 p->name);
		return -EINVAL;
	}
	memset(&q, 0, sizeof(q));
	q.selector = p->sel_name;
	q.sel_inbound = p->sel_inbound;
	q.mode = p->mode;
	q.proto = peer_ts->proto ? peer_ts->proto : local_ts->proto;
	q.local = *local_ts;
	q.local.af = local_ts->src.af;
	q.peer = *peer_ts;
	q.peer.af = peer_ts->dst.af;
	q.sa_local = *sa_local;
	q.sa_peer = *sa_peer;
	return bind_add(d, &q, sa_id, NULL, child_id, &pts, reqid, err, errlen,
			NULL);
}

void rw_v1_unbind(struct iked *d, uint32_t child_id)
{
	struct rw_bind *b = rw_bind_find(d, child_id);

	if (b)
		bind_remove(d, b);
}

struct rw_bind *rw_bind_find(struct iked *d, uint32_t child_id)
{
	return d->rw ? rw_binds_child(&d->rw->binds, child_id) : NULL;
}

/* ---- engine hooks ---- */

void rw_auth_established(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct ike_sa *o;
	char b1[300];

	if (r && r->peer_any) {
		/* rw.h rule 2: a returning road warrior replaces its old
		 * IKE SA (and with it CHILD SAs, dynamic policies, lease). */
		struct hidx_it it;

		/* killing does not free (the reaper does): the index stays
		 * unchanged during the walk */
		for (o = ike_sa_by_peer_first(sa->d, &it, sa->remote,
					      &sa->id_peer);
		     o; o = ike_sa_by_peer_next(sa->d, &it, sa->remote,
						&sa->id_peer)) {
			if (o == sa || o->state == IKE_S_DEAD)
				continue;
			log_info(MOD,
				 "IKE SA #%u: road warrior %s is back "
				 "(IKE SA #%u), replacing it",
				 o->id,
				 ike_id_str(&sa->id_peer, b1, sizeof(b1)),
				 sa->id);
			ike_sa_kill(o, "replaced by the same identity");
		}
	}
	(void)cp_handle_request(sa, m);
}

static uint32_t rekey_spi(const struct ike_msg *m)
{
	struct ikev2_notify n;

	if (!ikev2_msg_find_notify(m, IKEV2_N_REKEY_SA, &n) ||
	    n.proto != IKEV2_PROTO_ESP || n.spi_len != 4)
		return 0;
	return ikev2_spi32_get(n.spi);
}

int rw_child_process_r(struct ike_sa *sa, const struct ike_policy *p,
		       const struct ike_msg *m, struct child_sa *c,
		       struct ikev2_ts_list *peer_ts,
		       struct ikev2_ts_list *our_ts, struct kop *spi_op)
{
	struct iked *d = sa->d;
	struct rw_sa *rec = d->rw ? rw_sa_rec(d, sa->id, false) : NULL;
	const struct kaddr *lease = NULL;
	struct ikev2_ts_list env_ours, env_peer, pn, on;
	struct rw_polreq q;
	struct rw_bind *ob;
	struct child_sa *old;
	uint32_t spi, other, reqid = 0;
	char err[256] = "", b1[300];
	int rc;

	if (!p->peer_sa_rw && !(rec && (rec->lease4.af || rec->lease6.af)))
		return 0; /* an ordinary policy: nothing of ours */
	if (rec && rec->cp_err && !rec->lease4.af && !rec->lease6.af)
		return rec->cp_err; /* §3.15.4: no address, no child */
	/* §2.8: a rekeyed child keeps its predecessor's policies. */
	if ((spi = rekey_spi(m)) != 0 &&
	    (old = child_find_spi(sa, spi, false)) != NULL &&
	    (ob = rw_bind_find(d, old->id)) != NULL) {
		c->reqid = ob->reqid;
		peer_ts->n = 1;
		peer_ts->ts[0] = ob->peer_ts;
		return first_block(our_ts);
	}
	if (peer_ts->n)
		lease = rw_sa_lease(
		    d, sa->id,
		    peer_ts->ts[0].type == IKEV2_TS_IPV6_ADDR_RANGE ? AF_INET6
								    : AF_INET);
	if (!lease && rec && (rec->lease4.af || rec->lease6.af))
		return IKEV2_N_TS_UNACCEPTABLE; /* other family than leased */
	policy_ts(p, sa, &env_ours, &env_peer);
	rc = rw_narrow(peer_ts, our_ts, &env_peer, &env_ours, lease, &pn, &on);
	if (rc != 0) {
		log_warn(MOD,
			 "IKE SA #%u: peer's TSi outside the envelope "
			 "of policy %s%s",
			 sa->id, p->name,
			 lease ? " or not its leased address" : "");
		return rc;
	}
	*peer_ts = pn;
	*our_ts = on;
	if (!p->peer_sa_rw)
		return 0;

	switch (rw_ts_conflict(d->rw ? &d->rw->binds : NULL, &sa->id_peer,
			       sa->id, &pn.ts[0], &other)) {
	case RW_REFUSE:
		log_warn(MOD,
			 "IKE SA #%u: %s proposes traffic selectors "
			 "owned by IKE SA #%u (another identity): refused",
			 sa->id, ike_id_str(&sa->id_peer, b1, sizeof(b1)),
			 other);
		return IKEV2_N_TS_UNACCEPTABLE;
	case RW_REPLACE: {
		struct ike_sa *o;
		for (o = d->sas; o; o = o->next)
			if (o->id == other && o->state != IKE_S_DEAD)
				ike_sa_kill(o, "its traffic selectors were "
					       "taken over by the same "
					       "identity");
		break;
	}
	case RW_OK:
		break;
	}
	if (!p->sel_name[0] && use_ops(d)) {
		log_warn(MOD, "policy %s has no selector for spmd", p->name);
		return IKEV2_N_TS_UNACCEPTABLE;
	}
	rw_polreq_fill(&q, p, sa, &pn.ts[0], &on.ts[0]);
	rc = rw_bind_add(d, &q, sa, c->id, &pn.ts[0], &reqid, err, sizeof(err),
			 spi_op);
	if (rc < 0) {
		log_warn(MOD, "IKE SA #%u: dynamic policy for %s: %s%s%s",
			 sa->id, p->name, strerror(-rc), err[0] ? ": " : "",
			 err);
		return rc == -EEXIST || rc == -EINVAL
			   ? IKEV2_N_TS_UNACCEPTABLE
			   : IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	c->reqid = reqid;
	log_info(MOD,
		 "IKE SA #%u: dynamic policy for %s installed "
		 "(reqid %u)",
		 sa->id, p->name, reqid);
	return 0;
}

void rw_child_rekey(const struct child_sa *old, struct child_sa *c,
		    struct ikev2_ts_list *tsi, struct ikev2_ts_list *tsr)
{
	struct rw_bind *b = rw_bind_find(old->ike->d, old->id);

	if (!b)
		return;
	/* §2.8: the rekey proposes the TS of the SA it replaces. */
	c->reqid = b->reqid;
	tsr->n = 1;
	tsr->ts[0] = b->peer_ts;
	if (old->ts_local.af &&
	    ikev2_ts_from_prefix(
		&tsi->ts[0], old->ts_local.af, old->ts_local.src.u.b,
		old->ts_local.src_plen, old->ts_local.proto,
		old->ts_local.sport_mask == 0xffff ? old->ts_local.sport : 0) ==
		0)
		tsi->n = 1;
}

size_t rw_child_gone(struct child_sa *c, struct kop *ops, struct kpolicy *pol)
{
	struct iked *d = c->ike->d;
	struct rw_bind *b = rw_bind_find(d, c->id);
	struct child_sa *succ;

	if (!b)
		return 0;
	succ = c->rekeyed_by ? child_find_id(d, c->rekeyed_by) : NULL;
	if (succ && succ != c && succ->state == CHILD_S_INSTALLED &&
	    succ->reqid == b->reqid) {
		/* The policies stay: they now belong to the new child. */
		if (rw_binds_set_ids(&d->rw->binds, b, succ->id,
				     succ->ike->id) == 0)
			return 0;
		log_warn(MOD,
			 "CHILD SA #%u: out of memory handing its dynamic "
			 "policies to CHILD SA #%u: removed",
			 c->id, succ->id);
	}
	return bind_remove_ops(d, b, ops, pol);
}

static bool sa_alive(const struct iked *d, uint32_t id)
{
	for (const struct ike_sa *o = d->sas; o; o = o->next)
		if (o->id == id && o->state != IKE_S_DEAD)
			return true;
	return false;
}

void rw_ike_down(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	struct rw_state *st = d->rw;
	struct rw_sa *rec;
	struct rw_bind *b;
	char a[64];

	if (!st)
		return;
	rec = rw_sa_rec(d, sa->id, false);
	/* The successor may have died first (e.g. rekeyed again, then the
	 * peer stopped answering): then nothing moves, all is released --
	 * a lease held by a dead SA id would never come back. */
	if (sa->rekeyed_to && sa_alive(d, sa->rekeyed_to)) {
		/* §2.8: the children moved to the new IKE SA; so do the
		 * lease, the applied address and the bindings. */
		struct rw_sa *n;
		struct hidx_it it;
		/* each move changes the index: restart the walk */
		while ((b = rw_binds_sa_next(&st->binds, sa->id, &it, true)))
			if (rw_binds_set_ids(&st->binds, b, b->child_id,
					     sa->rekeyed_to) < 0) {
				/* the child still finds it by child id */
				log_warn(MOD,
					 "IKE SA #%u: out of memory moving "
					 "dynamic policies to IKE SA #%u",
					 sa->id, sa->rekeyed_to);
				break;
			}
		rw_pool_move(&st->pool, sa->id, sa->rekeyed_to);
		if (rec && (n = rw_sa_rec(d, sa->rekeyed_to, true))) {
			uint32_t keep = n->sa_id;
			struct rw_sa *next = n->next, *prev = n->prev;
			*n = *rec;
			n->sa_id = keep;
			n->next = next;
			n->prev = prev;
			memset(&rec->vip4, 0, sizeof(rec->vip4));
			memset(&rec->vip6, 0, sizeof(rec->vip6));
		}
		rw_sa_drop(d, sa->id);
		return;
	}
	/* Children normally went through child_uninstall already. */
	{
		struct hidx_it it;
		while ((b = rw_binds_sa_next(&st->binds, sa->id, &it, true)))
			bind_remove(d, b);
	}
	if (rw_pool_release(&st->pool, sa->id))
		log_info(MOD, "IKE SA #%u: address lease released", sa->id);
	if (rec) {
		if (rec->vip4.af) {
			cp_addr_apply(&rec->vip4, rec->ifname, false);
			log_info(MOD, "IKE SA #%u: removed assigned address %s",
				 sa->id, kaddr_str(&rec->vip4, a, sizeof(a)));
		}
		if (rec->vip6.af)
			cp_addr_apply(&rec->vip6, rec->ifname, false);
	}
	rw_sa_drop(d, sa->id);
}
