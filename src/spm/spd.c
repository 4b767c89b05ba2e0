/*
 * spd.c - spmd's policy database: install/diff/remove of static
 * policies, dynamic policies with lifetimes, serial (index) and reqid
 * allocation.  See spd.h for the ownership rules.
 */
#include "spm/spd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "spm/spmif_proto.h"

#define MOD "spd"

struct spd_reqid {
	uint8_t *key; /* NULL = empty slot; klen bytes (any, NUL too) */
	uint32_t klen;
	uint32_t reqid;
};

/* ---- sets -------------------------------------------------------------- */

void spd_set_init(struct spd_set *s)
{
	s->v = NULL;
	s->n = s->cap = 0;
}

void spd_set_free(struct spd_set *s)
{
	free(s->v);
	spd_set_init(s);
}

int spd_set_push(struct spd_set *s, const struct spd_entry *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct spd_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* ---- identity and content --------------------------------------------- */

static size_t af_len(uint8_t af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

/* Serialise the identity so that struct padding never matters. */
struct key {
	uint8_t b[56];
};

static void make_key(const struct spd_entry *e, struct key *k)
{
	const struct ksel *s = &e->kp.sel;
	size_t al = af_len(s->af);
	uint16_t sp = s->sport & s->sport_mask, dp = s->dport & s->dport_mask;
	uint8_t *p = k->b;

	memset(k, 0, sizeof(*k));
	p[0] = (uint8_t)e->kp.dir;
	p[1] = s->af;
	p[2] = s->proto;
	p[3] = s->src_plen;
	p[4] = s->dst_plen;
	memcpy(p + 5, s->src.u.b, al);
	memcpy(p + 21, s->dst.u.b, al);
	p[37] = (uint8_t)(sp >> 8);
	p[38] = (uint8_t)sp;
	p[39] = (uint8_t)(s->sport_mask >> 8);
	p[40] = (uint8_t)s->sport_mask;
	p[41] = (uint8_t)(dp >> 8);
	p[42] = (uint8_t)dp;
	p[43] = (uint8_t)(s->dport_mask >> 8);
	p[44] = (uint8_t)s->dport_mask;
	p[45] = (uint8_t)(s->ifindex >> 24);
	p[46] = (uint8_t)(s->ifindex >> 16);
	p[47] = (uint8_t)(s->ifindex >> 8);
	p[48] = (uint8_t)s->ifindex;
}

int spd_key_cmp(const struct spd_entry *a, const struct spd_entry *b)
{
	struct key ka, kb;

	make_key(a, &ka);
	make_key(b, &kb);
	return memcmp(ka.b, kb.b, sizeof(ka.b));
}

static bool addr_eq(const struct kaddr *a, const struct kaddr *b)
{
	if (a->af != b->af)
		return false;
	return memcmp(a->u.b, b->u.b, af_len(a->af)) == 0;
}

bool spd_content_eq(const struct kpolicy *a, const struct kpolicy *b)
{
	if (a->action != b->action || a->priority != b->priority ||
	    a->ntmpl != b->ntmpl)
		return false;
	for (unsigned i = 0; i < a->ntmpl && i < KPOL_MAX_TMPL; i++) {
		const struct ktmpl *x = &a->tmpl[i], *y = &b->tmpl[i];

		if (x->proto != y->proto || x->mode != y->mode ||
		    x->level != y->level || x->reqid != y->reqid)
			return false;
		if (x->mode == KMODE_TUNNEL &&
		    (!addr_eq(&x->src, &y->src) || !addr_eq(&x->dst, &y->dst)))
			return false;
	}
	return true;
}

/* ---- plan -------------------------------------------------------------- */

struct keyed {
	struct key k;
	size_t i;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = memcmp(x->k.b, y->k.b, sizeof(x->k.b));

	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i; /* stable: first wins */
}

static int key_only(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	return memcmp(x->k.b, y->k.b, sizeof(x->k.b));
}

static struct keyed *sorted_keys(const struct spd_set *s)
{
	struct keyed *v = calloc(s->n ? s->n : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		make_key(&s->v[i], &v[i].k);
		v[i].i = i;
	}
	qsort(v, s->n, sizeof(*v), keyed_cmp);
	return v;
}

void spd_plan_free(struct spd_plan *p)
{
	free(p->add);
	free(p->del);
	free(p->upd);
	free(p->keep);
	memset(p, 0, sizeof(*p));
}

int spd_plan_make(const struct spd_set *old, struct spd_set *new,
		  struct spd_plan *p)
{
	struct keyed *ko, *kn;
	size_t a = 0, b = 0;

	memset(p, 0, sizeof(*p));
	ko = sorted_keys(old);
	kn = sorted_keys(new);
	p->add = calloc(new->n + 1, sizeof(size_t));
	p->del = calloc(old->n + 1, sizeof(size_t));
	p->upd = calloc(new->n + 1, sizeof(struct spd_pair));
	p->keep = calloc(new->n + 1, sizeof(struct spd_pair));
	if (!ko || !kn || !p->add || !p->del || !p->upd || !p->keep) {
		free(ko);
		free(kn);
		spd_plan_free(p);
		return -ENOMEM;
	}
	while (a < old->n || b < new->n) {
		int c;

		/* drop later duplicates of the same key in new */
		if (b > 0 && b < new->n &&
		    memcmp(kn[b].k.b, kn[b - 1].k.b, sizeof(kn[b].k.b)) == 0) {
			p->ndup++;
			b++;
			continue;
		}
		if (a >= old->n)
			c = 1;
		else if (b >= new->n)
			c = -1;
		else
			c = memcmp(ko[a].k.b, kn[b].k.b, sizeof(ko[a].k.b));
		if (c < 0) {
			p->del[p->ndel++] = ko[a++].i;
		} else if (c > 0) {
			p->add[p->nadd++] = kn[b++].i;
		} else {
			struct spd_pair pr = {.o = ko[a].i, .n = kn[b].i};

			if (spd_content_eq(&old->v[pr.o].kp, &new->v[pr.n].kp))
				p->keep[p->nkeep++] = pr;
			else
				p->upd[p->nupd++] = pr;
			a++;
			b++;
		}
	}
	free(ko);
	free(kn);
	return 0;
}

/* ---- serials and reqids ----------------------------------------------- */

static bool serial_used(const struct spd *spd, uint32_t s)
{
	return spd->serials[s / 8] & (1u << (s % 8));
}

static void serial_mark(struct spd *spd, uint32_t s, bool used)
{
	if (used)
		spd->serials[s / 8] |= (uint8_t)(1u << (s % 8));
	else
		spd->serials[s / 8] &= (uint8_t) ~(1u << (s % 8));
}

uint32_t spd_index_alloc(struct spd *spd, enum kdir dir)
{
	for (uint32_t n = 0; n < KPOL_INDEX_SERIAL_MAX; n++) {
		uint32_t s = spd->next_serial;

		spd->next_serial = s >= KPOL_INDEX_SERIAL_MAX ? 1 : s + 1;
		if (!serial_used(spd, s)) {
			serial_mark(spd, s, true);
			return KPOL_INDEX_MAGIC << 24 | s << 3 | (uint32_t)dir;
		}
	}
	return 0;
}

void spd_index_release(struct spd *spd, uint32_t index)
{
	if (kpol_index_owned(index))
		serial_mark(spd, (index >> 3) & KPOL_INDEX_SERIAL_MAX, false);
}

static void index_mark(struct spd *spd, uint32_t index)
{
	if (kpol_index_owned(index))
		serial_mark(spd, (index >> 3) & KPOL_INDEX_SERIAL_MAX, true);
}

static uint64_t key_hash(const uint8_t *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static bool key_eq(const struct spd_reqid *r, const uint8_t *key, size_t n)
{
	return r->klen == n && memcmp(r->key, key, n) == 0;
}

static int reqid_grow(struct spd *spd)
{
	size_t cap = spd->capreqids ? 2 * spd->capreqids : 256;
	struct spd_reqid *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < spd->capreqids; i++) {
		struct spd_reqid *r = &spd->reqids[i];
		size_t j;

		if (!r->key)
			continue;
		for (j = key_hash(r->key, r->klen) % cap; v[j].key;
		     j = (j + 1) % cap)
			;
		v[j] = *r;
	}
	free(spd->reqids);
	spd->reqids = v;
	spd->capreqids = cap;
	return 0;
}

uint32_t spd_reqid_fresh(struct spd *spd)
{
	/* auto reqids only ever grow, so a linear probe for explicit
	 * ones is rare: they are recorded under "=N" keys */
	for (;;) {
		uint32_t r = spd->next_reqid++;
		char k[24];
		size_t j, kn;
		bool hit = false;

		if (r == 0)
			continue;
		if (!spd->capreqids)
			return r;
		kn = (size_t)snprintf(k, sizeof(k), "=%" PRIu32, r);
		for (j = key_hash((const uint8_t *)k, kn) % spd->capreqids;
		     spd->reqids[j].key; j = (j + 1) % spd->capreqids) {
			if (key_eq(&spd->reqids[j], (const uint8_t *)k, kn)) {
				hit = true;
				break;
			}
		}
		if (!hit)
			return r;
	}
}

static struct spd_reqid *reqid_slot(struct spd *spd, const uint8_t *key,
				    size_t n)
{
	size_t j;

	if (spd->nreqids * 2 >= spd->capreqids && reqid_grow(spd) < 0)
		return NULL;
	for (j = key_hash(key, n) % spd->capreqids; spd->reqids[j].key;
	     j = (j + 1) % spd->capreqids)
		if (key_eq(&spd->reqids[j], key, n))
			return &spd->reqids[j];
	return &spd->reqids[j];
}

/* Record key (n bytes) in the empty slot r. */
static bool reqid_set_key(struct spd *spd, struct spd_reqid *r, const void *key,
			  size_t n)
{
	r->key = n <= UINT32_MAX ? malloc(n ? n : 1) : NULL;
	if (!r->key)
		return false;
	if (n)
		memcpy(r->key, key, n);
	r->klen = (uint32_t)n;
	spd->nreqids++;
	return true;
}

uint32_t spd_reqid_for_key(struct spd *spd, const void *key, size_t n)
{
	struct spd_reqid *r = reqid_slot(spd, key, n);

	if (!r)
		return spd_reqid_fresh(spd);
	if (r->key)
		return r->reqid;
	if (!reqid_set_key(spd, r, key, n))
		return spd_reqid_fresh(spd);
	r->reqid = spd_reqid_fresh(spd);
	return r->reqid;
}

uint32_t spd_reqid_for(struct spd *spd, const char *key)
{
	return spd_reqid_for_key(spd, key, strlen(key));
}

void spd_reqid_reserve(struct spd *spd, uint32_t reqid)
{
	char k[24];
	size_t kn = (size_t)snprintf(k, sizeof(k), "=%" PRIu32, reqid);
	struct spd_reqid *r = reqid_slot(spd, (const uint8_t *)k, kn);

	if (!r || r->key)
		return;
	if (reqid_set_key(spd, r, k, kn))
		r->reqid = reqid;
}

/* ---- life cycle ------------------------------------------------------- */

int spd_init(struct spd *spd, struct kernel *k, struct ev_loop *loop)
{
	memset(spd, 0, sizeof(*spd));
	spd->k = k;
	spd->loop = loop;
	spd->next_dyn_id = 1;
	spd->next_serial = 1;
	spd->next_reqid = SPD_REQID_BASE;
	spd_set_init(&spd->stat);
	spd->serials = calloc(1, (KPOL_INDEX_SERIAL_MAX + 1) / 8);
	return spd->serials ? 0 : -ENOMEM;
}

static void dyn_free(struct spd_dyn *d)
{
	if (d->spd->loop)
		ev_timer_stop(d->spd->loop, &d->timer);
	free(d);
}

void spd_free(struct spd *spd)
{
	struct spd_dyn *d, *n;

	for (d = spd->dyn; d; d = n) {
		n = d->next;
		dyn_free(d);
	}
	spd->dyn = NULL;
	spd_set_free(&spd->stat);
	for (size_t i = 0; i < spd->capreqids; i++)
		free(spd->reqids[i].key);
	free(spd->reqids);
	free(spd->serials);
	spd->reqids = NULL;
	spd->serials = NULL;
}

void spd_errf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!buf || !len)
		return;
	used = strnlen(buf, len);
	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *entry_str(const struct spd_entry *e, char *buf, size_t len)
{
	char sel[160];

	snprintf(buf, len, "%s %s (selector %s)", spmif_dir_str(e->kp.dir),
		 ksel_str(&e->kp.sel, sel, sizeof(sel)), e->selector);
	return buf;
}

static int pol_del(struct spd *spd, struct spd_entry *e)
{
	char what[256];
	int rc = k_pol_del(spd->k, &e->kp);

	if (rc == -ENOENT || rc == -ESRCH)
		rc = 0; /* already gone (kernel lifetime, admin) */
	if (rc < 0) {
		spd->st.kernel_errors++;
		log_err(MOD, "delete %s: %s", entry_str(e, what, sizeof(what)),
			spd->k->last_error);
	} else {
		log_debug(MOD, "deleted %s index 0x%x",
			  entry_str(e, what, sizeof(what)), e->kp.index);
	}
	spd_index_release(spd, e->kp.index);
	e->installed = false;
	return rc;
}

/*
 * pol_del of e[0..n) through k_pol_del_many (XFRM: many per system
 * call; other backends one by one).  A delete the batch saw refused is
 * tried again alone through pol_del, which logs the kernel's own
 * message and counts the error as before.
 */
static void del_all(struct spd *spd, struct spd_entry **e, size_t n)
{
	struct kpolicy **v = NULL;
	int *rc = NULL;
	char what[256];
	size_t i;

	if (n > 1) {
		v = malloc(n * sizeof(*v));
		rc = malloc(n * sizeof(*rc));
	}
	if (!v || !rc) {
		for (i = 0; i < n; i++)
			pol_del(spd, e[i]);
		goto free_bufs;
	}
	for (i = 0; i < n; i++)
		v[i] = &e[i]->kp;
	if (k_pol_del_many(spd->k, v, n, rc) == -EOPNOTSUPP) {
		for (i = 0; i < n; i++)
			pol_del(spd, e[i]);
		goto free_bufs;
	}
	for (i = 0; i < n; i++) {
		if (rc[i] < 0 && rc[i] != -ENOENT && rc[i] != -ESRCH) {
			pol_del(spd, e[i]); /* for the kernel's words */
			continue;
		}
		log_debug(MOD, "deleted %s index 0x%x",
			  entry_str(e[i], what, sizeof(what)), e[i]->kp.index);
		spd_index_release(spd, e[i]->kp.index);
		e[i]->installed = false;
	}
free_bufs:
	free(v);
	free(rc);
}

static int pol_add(struct spd *spd, struct spd_entry *e, char *errbuf,
		   size_t errlen)
{
	char what[256];
	int rc;

	e->kp.index = spd_index_alloc(spd, e->kp.dir);
	if (!e->kp.index) {
		spd_errf(errbuf, errlen, "no free policy index\n");
		return -ENOSPC;
	}
	rc = k_pol_add(spd->k, &e->kp);
	if (rc < 0) {
		spd->st.kernel_errors++;
		spd_errf(errbuf, errlen, "add %s: %s\n",
			 entry_str(e, what, sizeof(what)), spd->k->last_error);
		spd_index_release(spd, e->kp.index);
		e->kp.index = 0;
		return rc;
	}
	index_mark(spd, e->kp.index); /* in case the backend chose another */
	e->installed = true;
	log_debug(MOD, "added %s index 0x%x", entry_str(e, what, sizeof(what)),
		  e->kp.index);
	return 0;
}

/*
 * The plan's additions, in order, through k_pol_add_many (XFRM: many
 * per system call; other backends one by one, as before).  A policy the
 * batch could not add is tried again alone through pol_add, which gives
 * the kernel's own message and counts the error as before (a transient
 * refusal, e.g. ENOBUFS, may then succeed).  Returns the first error;
 * with strict, it stops at the first policy that fails alone (the ones
 * added stay marked installed, for the caller's undo).
 */
static int add_all(struct spd *spd, struct spd_set *new,
		   const struct spd_plan *p, bool strict, char *errbuf,
		   size_t errlen)
{
	struct kpolicy **v = NULL;
	int *rc = NULL, first = 0;
	size_t i, n = p->nadd, nidx = 0;
	char what[256];

	if (n > 1) {
		v = malloc(n * sizeof(*v));
		rc = malloc(n * sizeof(*rc));
	}
	if (v && rc) {
		for (nidx = 0; nidx < n; nidx++) {
			struct spd_entry *e = &new->v[p->add[nidx]];

			e->kp.index = spd_index_alloc(spd, e->kp.dir);
			if (!e->kp.index)
				break;
			v[nidx] = &e->kp;
		}
	}
	if (nidx == n && n > 1 &&
	    k_pol_add_many(spd->k, v, n, rc) != -EOPNOTSUPP) {
		/* every rc[i] is set, even when the batch failed as a
		 * whole: those are tried again alone below */
		for (i = 0; i < n; i++) {
			struct spd_entry *e = &new->v[p->add[i]];

			if (rc[i] < 0) {
				spd_index_release(spd, e->kp.index);
				e->kp.index = 0;
				continue;
			}
			index_mark(spd, e->kp.index);
			e->installed = true;
			log_debug(MOD, "added %s index 0x%x",
				  entry_str(e, what, sizeof(what)),
				  e->kp.index);
		}
	} else {
		/* one by one (one policy, no memory for the batch, or a
		 * backend without a batch path) */
		for (i = 0; i < nidx; i++) {
			struct spd_entry *e = &new->v[p->add[i]];

			spd_index_release(spd, e->kp.index);
			e->kp.index = 0;
		}
	}
	for (i = 0; i < n; i++) {
		struct spd_entry *e = &new->v[p->add[i]];
		int r;

		if (e->installed)
			continue;
		r = pol_add(spd, e, errbuf, errlen);
		if (r < 0) {
			if (!first)
				first = r;
			if (strict)
				break;
		}
	}
	free(v);
	free(rc);
	return first;
}

static int pol_update(struct spd *spd, struct spd_entry *e, uint32_t index,
		      char *errbuf, size_t errlen)
{
	char what[256];
	int rc;

	e->kp.index = index;
	rc = k_pol_update(spd->k, &e->kp);
	if (rc < 0) {
		spd->st.kernel_errors++;
		spd_errf(errbuf, errlen, "update %s: %s\n",
			 entry_str(e, what, sizeof(what)), spd->k->last_error);
		return rc;
	}
	e->installed = true;
	log_debug(MOD, "updated %s index 0x%x",
		  entry_str(e, what, sizeof(what)), e->kp.index);
	return 0;
}

/* Keep the entries of new that the plan installed, in order. */
static void compact(struct spd_set *new)
{
	size_t o = 0;

	for (size_t i = 0; i < new->n; i++)
		if (new->v[i].installed)
			new->v[o++] = new->v[i];
	new->n = o;
}

/*
 * Carry out plan.  strict: any add/update failure rolls everything
 * back (reload); otherwise failures are reported and skipped (start).
 */
static int apply(struct spd *spd, struct spd_set *old, struct spd_set *new,
		 const struct spd_plan *p, bool strict, char *errbuf,
		 size_t errlen)
{
	size_t i, nadded = 0, nupdated = 0;
	int rc, first = 0;

	for (i = 0; i < new->n; i++)
		new->v[i].installed = false;

	/* 1. additions: the new protection exists before anything goes */
	rc = add_all(spd, new, p, strict, errbuf, errlen);
	if (rc < 0) {
		first = rc;
		if (strict) {
			nadded = p->nadd; /* undo checks e->installed */
			goto undo_adds;
		}
	}
	/* 2. changes in place: XFRM's update keeps the index */
	for (i = 0; i < p->nupd; i++) {
		struct spd_entry *o = &old->v[p->upd[i].o];
		struct spd_entry *n = &new->v[p->upd[i].n];

		rc = pol_update(spd, n, o->kp.index, errbuf, errlen);
		if (rc < 0) {
			if (!first)
				first = rc;
			if (strict)
				goto undo_updates;
			/* the old content is still in place: keep it
			 * (a later reload retries the update) */
			n->kp = o->kp;
			n->installed = true;
		}
		nupdated = i + 1;
	}
	for (i = 0; i < p->nkeep; i++) {
		struct spd_entry *o = &old->v[p->keep[i].o];
		struct spd_entry *n = &new->v[p->keep[i].n];

		n->kp.index = o->kp.index;
		n->installed = true;
	}
	/* 3. only now remove what is no longer wanted */
	if (p->ndel) {
		struct spd_entry **d = malloc(p->ndel * sizeof(*d));

		for (i = 0; i < p->ndel; i++)
			if (d)
				d[i] = &old->v[p->del[i]];
			else
				pol_del(spd, &old->v[p->del[i]]);
		if (d)
			del_all(spd, d, p->ndel);
		free(d);
	}
	compact(new);
	return first;

undo_updates:
	while (nupdated-- > 0) {
		struct spd_entry *o = &old->v[p->upd[nupdated].o];

		if (k_pol_update(spd->k, &o->kp) < 0)
			log_err(MOD, "rollback of update failed: %s",
				spd->k->last_error);
	}
	nadded = p->nadd;
undo_adds:
	while (nadded-- > 0) {
		struct spd_entry *e = &new->v[p->add[nadded]];

		if (e->installed)
			pol_del(spd, e);
	}
	return first;
}

struct dump_ctx {
	struct spd *spd;
	struct spd_set *cur;
	int err;
};

static int collect_owned(const struct kpolicy *kp, void *arg)
{
	struct dump_ctx *c = arg;
	struct spd_entry e;

	if (!kp->owned && !kpol_index_owned(kp->index))
		return 0; /* foreign: never touched */
	memset(&e, 0, sizeof(e));
	e.kp = *kp;
	e.installed = true;
	snprintf(e.selector, sizeof(e.selector), "(stale)");
	index_mark(c->spd, kp->index);
	if (spd_set_push(c->cur, &e) < 0)
		c->err = -ENOMEM;
	return 0;
}

int spd_start(struct spd *spd, struct spd_set *desired, char *errbuf,
	      size_t errlen)
{
	struct spd_set cur;
	struct spd_plan p;
	struct dump_ctx c = {.spd = spd, .cur = &cur};
	int rc;

	spd_set_init(&cur);
	rc = k_pol_dump(spd->k, collect_owned, &c);
	if (rc < 0 || c.err < 0) {
		/* cannot see what is there: fall back to a flush */
		log_warn(MOD, "policy dump failed (%s); flushing our own",
			 rc < 0 ? spd->k->last_error : "out of memory");
		spd_set_free(&cur);
		rc = k_flush_own(spd->k);
		if (rc < 0)
			log_err(MOD, "flush of stale policies failed: %s",
				spd->k->last_error);
	}
	if (cur.n)
		log_info(MOD, "found %zu policies of an earlier spmd", cur.n);
	rc = spd_plan_make(&cur, desired, &p);
	if (rc < 0) {
		spd_set_free(&cur);
		spd_set_free(desired);
		return rc;
	}
	if (p.ndup)
		log_warn(MOD,
			 "%zu duplicate policies in the configuration "
			 "ignored",
			 p.ndup);
	log_info(MOD,
		 "start: %zu to add, %zu adopted, %zu updated, %zu stale "
		 "removed",
		 p.nadd, p.nkeep, p.nupd, p.ndel);
	/* adopted entries take their names from the config */
	rc = apply(spd, &cur, desired, &p, false, errbuf, errlen);
	spd->stat_exact = rc == 0 && p.ndup == 0;
	spd_plan_free(&p);
	spd_set_free(&cur);
	spd_set_free(&spd->stat);
	spd->stat = *desired;
	spd_set_init(desired);
	return rc;
}

int spd_reload(struct spd *spd, struct spd_set *desired, char *errbuf,
	       size_t errlen, struct spd_plan *counts)
{
	struct spd_plan p;
	int rc;

	rc = spd_plan_make(&spd->stat, desired, &p);
	if (rc < 0) {
		spd_set_free(desired);
		return rc;
	}
	if (p.ndup)
		log_warn(MOD,
			 "%zu duplicate policies in the configuration "
			 "ignored",
			 p.ndup);
	log_info(MOD,
		 "reload: %zu to add, %zu to update, %zu unchanged, "
		 "%zu to delete",
		 p.nadd, p.nupd, p.nkeep, p.ndel);
	rc = apply(spd, &spd->stat, desired, &p, true, errbuf, errlen);
	if (counts) {
		memset(counts, 0, sizeof(*counts));
		counts->nadd = p.nadd;
		counts->nupd = p.nupd;
		counts->nkeep = p.nkeep;
		counts->ndel = p.ndel;
		counts->ndup = p.ndup;
	}
	spd_plan_free(&p);
	if (rc < 0) {
		spd_set_free(desired);
		return rc;
	}
	spd_set_free(&spd->stat);
	spd->stat = *desired;
	spd->stat_exact = p.ndup == 0;
	spd_set_init(desired);
	return 0;
}

/*
 * A filter for spd_reload_part: entries with equal keys (make_key) get
 * the same value, from a few of the key's bytes, cheaper than the key.
 */
#define KEY_SEEN_BITS 4096
static uint32_t key_seen_hash(const struct spd_entry *e)
{
	const struct ksel *s = &e->kp.sel;
	size_t al = af_len(s->af);
	uint32_t a = 0, b = 0, h;

	if (al) {
		memcpy(&a, s->src.u.b + al - 4, 4);
		memcpy(&b, s->dst.u.b + al - 4, 4);
	}
	h = (a ^ (b << 13 | b >> 19) ^ (uint32_t)e->kp.dir << 7 ^ s->af) *
	    0x9e3779b1u;
	return h >> (32 - 12); /* KEY_SEEN_BITS */
}

int spd_reload_part(struct spd *spd, size_t from, size_t to,
		    struct spd_set *desired, char *errbuf, size_t errlen,
		    struct spd_plan *counts)
{
	struct spd_set old = {.v = spd->stat.v + from, .n = to - from};
	size_t n = spd->stat.n, k;
	struct spd_plan p;
	int rc;

	if (!spd->stat_exact || from > to || to > n)
		return -EAGAIN;
	/* a key of the new run held outside it: which one a full
	 * reload keeps depends on the order; let it decide */
	if (desired->n) {
		struct keyed *kd = sorted_keys(desired), x;
		uint64_t seen[KEY_SEEN_BITS / 64] = {0};

		if (!kd)
			return -ENOMEM;
		for (size_t i = 0; i < desired->n; i++) {
			uint32_t h = key_seen_hash(&desired->v[i]);

			seen[h / 64] |= 1ull << (h % 64);
		}
		for (size_t i = 0; i < n; i++) {
			uint32_t h;

			if (i == from && to > from) {
				i = to - 1;
				continue;
			}
			h = key_seen_hash(&spd->stat.v[i]);
			if (!(seen[h / 64] & 1ull << (h % 64)))
				continue; /* no key of desired can be equal */
			make_key(&spd->stat.v[i], &x.k);
			if (bsearch(&x, kd, desired->n, sizeof(*kd),
				    key_only)) {
				free(kd);
				return -EAGAIN;
			}
		}
		free(kd);
	}
	rc = spd_plan_make(&old, desired, &p);
	if (rc < 0)
		return rc;
	if (p.ndup) {
		spd_plan_free(&p);
		return -EAGAIN;
	}
	if (desired->n > old.n && n + desired->n - old.n > spd->stat.cap) {
		size_t cap = n + desired->n - old.n;
		struct spd_entry *v = realloc(spd->stat.v, cap * sizeof(*v));

		if (!v) {
			spd_plan_free(&p);
			return -ENOMEM;
		}
		spd->stat.v = v;
		spd->stat.cap = cap;
		old.v = v + from;
	}
	log_info(MOD,
		 "reload: %zu to add, %zu to update, %zu unchanged, "
		 "%zu to delete (in a run of %zu of %zu)",
		 p.nadd, p.nupd, p.nkeep, p.ndel, old.n, n);
	rc = apply(spd, &old, desired, &p, true, errbuf, errlen);
	if (counts) {
		memset(counts, 0, sizeof(*counts));
		counts->nadd = p.nadd;
		counts->nupd = p.nupd;
		counts->nkeep = p.nkeep + (n - old.n);
		counts->ndel = p.ndel;
	}
	spd_plan_free(&p);
	if (rc < 0)
		return rc;
	/* splice: stat[from, to) := desired */
	k = desired->n;
	memmove(spd->stat.v + from + k, spd->stat.v + to,
		(n - to) * sizeof(*spd->stat.v));
	if (k)
		memcpy(spd->stat.v + from, desired->v, k * sizeof(*desired->v));
	spd->stat.n = n - old.n + k;
	spd_set_free(desired);
	return 0;
}

/* ---- dynamic policies -------------------------------------------------- */

static void dyn_unlink(struct spd *spd, struct spd_dyn *d)
{
	for (struct spd_dyn **pp = &spd->dyn; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			return;
		}
	}
}

static void dyn_remove(struct spd *spd, struct spd_dyn *d)
{
	/* out first: stop sending before we stop accepting */
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].installed)
			pol_del(spd, &d->e[i]);
	dyn_unlink(spd, d);
	spd->st.dyn_removed++;
	dyn_free(d);
}

static void dyn_timer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct spd_dyn *d = arg;
	struct spd *spd = d->spd;

	log_info(MOD, "dynamic policy %u (%s) lifetime ended", d->id,
		 d->e[0].selector);
	if (spd->gone_cb)
		spd->gone_cb(spd, d, "lifetime", spd->gone_arg);
	dyn_remove(spd, d);
}

int spd_dyn_add(struct spd *spd, void *owner, uint64_t lifetime_sec,
		const struct spd_entry *e, size_t n, struct spd_dyn **out,
		char *errbuf, size_t errlen)
{
	struct spd_dyn *d;
	int rc;

	if (n == 0 || n > 3)
		return -EINVAL;
	/* a dynamic policy must not shadow one we already hold */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < spd->stat.n; j++) {
			if (spd_key_cmp(&spd->stat.v[j], &e[i]) == 0) {
				spd_errf(errbuf, errlen,
					 "selector already "
					 "installed by static policy %s\n",
					 spd->stat.v[j].selector);
				return -EEXIST;
			}
		}
		for (struct spd_dyn *x = spd->dyn; x; x = x->next) {
			for (size_t j = 0; j < x->n; j++) {
				if (spd_key_cmp(&x->e[j], &e[i]) == 0) {
					spd_errf(errbuf, errlen,
						 "selector "
						 "already installed by dynamic "
						 "policy %u\n",
						 x->id);
					return -EEXIST;
				}
			}
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->spd = spd;
	d->owner = owner;
	d->lifetime_sec = lifetime_sec;
	d->n = n;
	d->id = spd->next_dyn_id++;
	if (spd->next_dyn_id == 0)
		spd->next_dyn_id = 1;
	ev_timer_init(&d->timer, dyn_timer, d);
	for (size_t i = 0; i < n; i++) {
		d->e[i] = e[i];
		d->e[i].dyn_id = d->id;
		d->e[i].installed = false;
		rc = pol_add(spd, &d->e[i], errbuf, errlen);
		if (rc < 0) {
			while (i-- > 0)
				pol_del(spd, &d->e[i]);
			free(d);
			return rc;
		}
	}
	if (lifetime_sec && spd->loop) {
		uint64_t ms = lifetime_sec > UINT64_MAX / 1000
				  ? UINT64_MAX
				  : lifetime_sec * 1000;

		d->expires_ms = ev_now_ms() + ms;
		ev_timer_start(spd->loop, &d->timer, ms);
	}
	d->next = spd->dyn;
	spd->dyn = d;
	spd->st.dyn_added++;
	if (out)
		*out = d;
	log_info(MOD,
		 "dynamic policy %u added from selector %s (%zu kernel "
		 "policies, lifetime %" PRIu64 "s)",
		 d->id, e[0].selector, n, lifetime_sec);
	return 0;
}

struct spd_dyn *spd_dyn_find(struct spd *spd, uint32_t id)
{
	for (struct spd_dyn *d = spd->dyn; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

int spd_dyn_del(struct spd *spd, uint32_t id)
{
	struct spd_dyn *d = spd_dyn_find(spd, id);

	if (!d)
		return -ENOENT;
	log_info(MOD, "dynamic policy %u deleted", id);
	dyn_remove(spd, d);
	return 0;
}

size_t spd_dyn_drop_owner(struct spd *spd, void *owner)
{
	struct spd_dyn *d, *n;
	size_t count = 0;

	for (d = spd->dyn; d; d = n) {
		n = d->next;
		if (owner && d->owner == owner) {
			dyn_remove(spd, d);
			count++;
		}
	}
	if (count)
		log_info(MOD,
			 "removed %zu dynamic policies of a closed KMP "
			 "connection",
			 count);
	return count;
}

void spd_pol_expired(struct spd *spd, uint32_t index)
{
	for (struct spd_dyn *d = spd->dyn; d; d = d->next) {
		for (size_t i = 0; i < d->n; i++) {
			if (d->e[i].kp.index != index)
				continue;
			d->e[i].installed = false;
			spd_index_release(spd, index);
			log_info(MOD,
				 "kernel expired a policy of dynamic "
				 "policy %u; removing the rest",
				 d->id);
			if (spd->gone_cb)
				spd->gone_cb(spd, d, "expired", spd->gone_arg);
			dyn_remove(spd, d);
			return;
		}
	}
}

void spd_remove_all(struct spd *spd)
{
	size_t n = spd->stat.n;
	struct spd_entry **d = n ? malloc(n * sizeof(*d)) : NULL;

	while (spd->dyn)
		dyn_remove(spd, spd->dyn);
	/* outbound first, so nothing leaves unprotected while inbound
	 * protection still drops the replies; each pass in batches */
	for (int pass = 0; pass < 2; pass++) {
		size_t nd = 0;

		for (size_t i = 0; i < spd->stat.n; i++) {
			struct spd_entry *e = &spd->stat.v[i];

			if (!e->installed ||
			    (pass == 0 && e->kp.dir != KDIR_OUT))
				continue;
			if (d)
				d[nd++] = e;
			else
				pol_del(spd, e);
		}
		if (d)
			del_all(spd, d, nd);
	}
	free(d);
	spd->stat.n = 0;
	log_info(MOD, "removed %zu static policies", n);
}

/* ---- resynchronisation ------------------------------------------------ */

/* One owned policy as the backend reported it. */
struct rs_pol {
	struct kpolicy kp;
	bool matched; /* one of ours, or already dealt with */
};

struct rs_ctx {
	struct rs_pol *v; /* owned, sorted by index after the dump */
	size_t n, cap;
	int err;
};

static int rs_collect(const struct kpolicy *kp, void *arg)
{
	struct rs_ctx *c = arg;

	if (!kp->owned && !kpol_index_owned(kp->index))
		return 0; /* foreign: never touched */
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct rs_pol *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			c->err = -ENOMEM;
			return -ENOMEM;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].kp = *kp;
	c->v[c->n].matched = false;
	c->n++;
	return 0;
}

static int rs_cmp(const void *a, const void *b)
{
	const struct rs_pol *x = a, *y = b;

	return x->kp.index < y->kp.index ? -1 : x->kp.index > y->kp.index;
}

static struct rs_pol *rs_find(struct rs_ctx *c, uint32_t index)
{
	struct rs_pol key = {.kp.index = index};

	if (!c->n)
		return NULL;
	return bsearch(&key, c->v, c->n, sizeof(*c->v), rs_cmp);
}

/* An owned policy nobody claimed yet with e's selector and direction. */
static struct rs_pol *rs_find_key(struct rs_ctx *c, const struct spd_entry *e)
{
	for (size_t i = 0; i < c->n; i++) {
		struct spd_entry x;

		if (c->v[i].matched)
			continue;
		memset(&x, 0, sizeof(x));
		x.kp = c->v[i].kp;
		if (spd_key_cmp(&x, e) == 0)
			return &c->v[i];
	}
	return NULL;
}

/* Delete a stale owned policy (not ours any more). */
static int rs_delete(struct spd *spd, struct rs_pol *o)
{
	char sel[160];
	int rc = k_pol_del(spd->k, &o->kp);

	o->matched = true;
	if (rc == -ENOENT || rc == -ESRCH)
		return 0;
	if (rc < 0) {
		spd->st.kernel_errors++;
		log_err(MOD, "resync: delete stale policy index 0x%x (%s): %s",
			o->kp.index, ksel_str(&o->kp.sel, sel, sizeof(sel)),
			spd->k->last_error);
		return rc;
	}
	log_debug(MOD, "resync: deleted stale policy index 0x%x (%s)",
		  o->kp.index, ksel_str(&o->kp.sel, sel, sizeof(sel)));
	return 0;
}

/* Put e back under its index. */
static int rs_reinstall(struct spd *spd, struct rs_ctx *c, struct spd_entry *e)
{
	struct kpolicy kp = e->kp;
	struct rs_pol *o;
	char what[256];
	int rc;

	rc = k_pol_add(spd->k, &kp);
	if (rc == -EEXIST && (o = rs_find_key(c, e)) != NULL) {
		/* a stale policy of ours holds the selector: replace it */
		rs_delete(spd, o);
		kp = e->kp;
		rc = k_pol_add(spd->k, &kp);
	}
	if (rc < 0) {
		spd->st.kernel_errors++;
		log_err(MOD, "resync: reinstall %s index 0x%x: %s",
			entry_str(e, what, sizeof(what)), e->kp.index,
			spd->k->last_error);
		return rc;
	}
	if (kp.index != e->kp.index) {
		/* the backend chose another index: follow it */
		log_warn(MOD, "resync: %s came back as index 0x%x, not 0x%x",
			 entry_str(e, what, sizeof(what)), kp.index,
			 e->kp.index);
		spd_index_release(spd, e->kp.index);
		index_mark(spd, kp.index);
		e->kp.index = kp.index;
	}
	log_debug(MOD, "resync: reinstalled %s index 0x%x",
		  entry_str(e, what, sizeof(what)), e->kp.index);
	return 0;
}

/* Make the backend hold e: present, updated or reinstalled. */
static int rs_entry(struct spd *spd, struct rs_ctx *c, struct spd_entry *e,
		    struct spd_resync_counts *n)
{
	struct rs_pol *o;
	struct spd_entry x;
	char what[256];
	int rc;

	if (!e->installed)
		return 0;
	o = rs_find(c, e->kp.index);
	if (o) {
		memset(&x, 0, sizeof(x));
		x.kp = o->kp;
		if (spd_key_cmp(&x, e) != 0) {
			/* our index on another selector: stale, and in
			 * the way of ours (Linux would not keep the index
			 * we ask for while it is taken) */
			rs_delete(spd, o);
			o = NULL;
		}
	}
	if (o) {
		o->matched = true;
		if (spd_content_eq(&o->kp, &e->kp)) {
			n->present++;
			return 0;
		}
		rc = k_pol_update(spd->k, &e->kp);
		if (rc < 0) {
			spd->st.kernel_errors++;
			log_err(MOD, "resync: update %s: %s",
				entry_str(e, what, sizeof(what)),
				spd->k->last_error);
			n->failed++;
			return rc;
		}
		n->updated++;
		return 0;
	}
	rc = rs_reinstall(spd, c, e);
	if (rc < 0) {
		n->failed++;
		return rc;
	}
	n->reinstalled++;
	return 0;
}

int spd_resync(struct spd *spd, const char *reason,
	       struct spd_resync_counts *counts)
{
	struct spd_resync_counts n = {0};
	struct rs_ctx c = {0};
	int rc, first = 0;

	spd->st.resyncs++;
	rc = k_pol_dump(spd->k, rs_collect, &c);
	if (rc < 0 || c.err < 0) {
		log_err(MOD,
			"resync (%s): cannot read the backend's policies: "
			"%s",
			reason ? reason : "?",
			rc < 0 ? spd->k->last_error : strerror(-c.err));
		free(c.v);
		return rc < 0 ? rc : c.err;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), rs_cmp);
	/* 1. ours: present, updated or put back */
	for (size_t i = 0; i < spd->stat.n; i++) {
		rc = rs_entry(spd, &c, &spd->stat.v[i], &n);
		if (rc < 0 && !first)
			first = rc;
	}
	for (struct spd_dyn *d = spd->dyn; d; d = d->next) {
		for (size_t i = 0; i < d->n; i++) {
			rc = rs_entry(spd, &c, &d->e[i], &n);
			if (rc < 0 && !first)
				first = rc;
		}
	}
	/* 2. only then: tagged policies we do not know are stale */
	for (size_t i = 0; i < c.n; i++) {
		if (c.v[i].matched)
			continue;
		if (rs_delete(spd, &c.v[i]) == 0)
			n.removed++;
		else if (!first)
			first = -EIO;
	}
	free(c.v);
	spd->st.resync_reinstalled += n.reinstalled;
	spd->st.resync_removed += n.removed;
	if (counts)
		*counts = n;
	log_info(MOD,
		 "resync (%s): %zu policies present, %zu reinstalled, "
		 "%zu updated, %zu stale removed, %zu failed",
		 reason ? reason : "?", n.present, n.reinstalled, n.updated,
		 n.removed, n.failed);
	return first;
}

const struct spd_entry *spd_find_index(const struct spd *spd, uint32_t index,
				       const struct spd_dyn **dyn)
{
	if (dyn)
		*dyn = NULL;
	if (!index)
		return NULL;
	for (size_t i = 0; i < spd->stat.n; i++)
		if (spd->stat.v[i].kp.index == index)
			return &spd->stat.v[i];
	for (const struct spd_dyn *d = spd->dyn; d; d = d->next) {
		for (size_t i = 0; i < d->n; i++) {
			if (d->e[i].kp.index == index) {
				if (dyn)
					*dyn = d;
				return &d->e[i];
			}
		}
	}
	return NULL;
}

/* Address a of family af (an unset address is the family's "any"). */
static bool sel_addr_eq(uint8_t af, const struct kaddr *a, uint8_t alen,
			const struct kaddr *b, uint8_t blen)
{
	size_t n = af == AF_INET6 ? 16 : 4;

	return alen == blen && memcmp(a->u.b, b->u.b, n) == 0;
}

static bool reqid_entry_matches(const struct spd_entry *e, const char *selector,
				const char *policy, const struct ksel *q,
				uint32_t *reqid)
{
	const struct ksel *s = &e->kp.sel;
	bool in = e->kp.dir == KDIR_IN;

	/* installed or not: the reqid is spmd's, not the backend's */
	if (e->kp.action != KPOL_IPSEC || e->kp.dir == KDIR_FWD)
		return false;
	if ((selector && strcmp(e->selector, selector) != 0) ||
	    (policy && strcmp(e->policy, policy) != 0))
		return false;
	if (q && (s->af != q->af || s->proto != q->proto ||
		  !sel_addr_eq(q->af, in ? &s->dst : &s->src,
			       in ? s->dst_plen : s->src_plen, &q->src,
			       q->src_plen) ||
		  !sel_addr_eq(q->af, in ? &s->src : &s->dst,
			       in ? s->src_plen : s->dst_plen, &q->dst,
			       q->dst_plen)))
		return false;
	for (unsigned i = 0; i < e->kp.ntmpl && i < KPOL_MAX_TMPL; i++)
		if (e->kp.tmpl[i].reqid) {
			*reqid = e->kp.tmpl[i].reqid;
			return true;
		}
	return false;
}

const struct spd_entry *spd_find_reqid(const struct spd *spd,
				       const char *selector, const char *policy,
				       const struct ksel *sel, uint32_t *reqid)
{
	if (!selector && !policy)
		return NULL;
	for (size_t i = 0; i < spd->stat.n; i++)
		if (reqid_entry_matches(&spd->stat.v[i], selector, policy, sel,
					reqid))
			return &spd->stat.v[i];
	for (const struct spd_dyn *d = spd->dyn; d; d = d->next)
		for (size_t i = 0; i < d->n; i++)
			if (reqid_entry_matches(&d->e[i], selector, policy, sel,
						reqid))
				return &d->e[i];
	return NULL;
}

static void mig_pair(struct kmigrate_req *r, const struct ktmpl *t,
		     const struct kaddr *os, const struct kaddr *od,
		     const struct kaddr *ns, const struct kaddr *nd)
{
	struct kmigrate *m;

	for (unsigned i = 0; i < r->n; i++)
		if (r->m[i].proto == t->proto && r->m[i].mode == t->mode &&
		    r->m[i].reqid == t->reqid &&
		    addr_eq(&r->m[i].old_src, os) &&
		    addr_eq(&r->m[i].old_dst, od))
			return; /* named already */
	if (r->n == KMIGRATE_MAX)
		return;
	m = &r->m[r->n++];
	m->proto = t->proto;
	m->mode = t->mode;
	m->reqid = t->reqid;
	m->old_src = *os;
	m->old_dst = *od;
	m->new_src = *ns;
	m->new_dst = *nd;
}

/*
 * One entry's MIGRATE through the kernel ops (racoon2's spmd_migrate():
 * the selector's policy, its reqid and mode), so that the backend moves
 * the SAs in place together with the policy.  The endpoints may be given
 * in either orientation: a tunnel template is named by the orientation
 * it has; a transport template holds no endpoints, so both orientations
 * are named and the SAs of both directions between the old endpoints
 * move (a mobile node's care-of address, RFC 6275 §11.3.1 / RFC 4877).
 * 1 when the backend moved something, 0 when nothing of this entry
 * matched, negative errno.
 */
static int migrate_entry(struct spd *spd, struct spd_entry *e,
			 const struct kaddr *os, const struct kaddr *od,
			 const struct kaddr *ns, const struct kaddr *nd)
{
	struct kmigrate_req r;
	int rc;

	if (!e->installed || e->kp.action != KPOL_IPSEC)
		return 0;
	memset(&r, 0, sizeof(r));
	r.sel = e->kp.sel;
	r.dir = e->kp.dir;
	for (unsigned i = 0; i < e->kp.ntmpl && i < KPOL_MAX_TMPL; i++) {
		const struct ktmpl *t = &e->kp.tmpl[i];

		if (t->mode == KMODE_TUNNEL) {
			if (addr_eq(&t->src, os) && addr_eq(&t->dst, od))
				mig_pair(&r, t, os, od, ns, nd);
			else if (addr_eq(&t->src, od) && addr_eq(&t->dst, os))
				mig_pair(&r, t, od, os, nd, ns);
		} else {
			mig_pair(&r, t, os, od, ns, nd);
			mig_pair(&r, t, od, os, nd, ns);
		}
	}
	if (r.n == 0)
		return 0;
	rc = k_migrate(spd->k, &r);
	if (rc == -ENODATA)
		return 0;
	if (rc < 0) {
		spd->st.kernel_errors++;
		log_err(MOD, "migrate of index 0x%x: %s", e->kp.index,
			spd->k->last_error);
		return rc == -EINVAL ? rc : -EIO;
	}
	spd_migrated_entry(e, &r);
	log_info(MOD, "selector %s (index 0x%x): migrated", e->selector,
		 e->kp.index);
	return 1;
}

void spd_migrated_entry(struct spd_entry *e, const struct kmigrate_req *r)
{
	for (unsigned i = 0; i < e->kp.ntmpl && i < KPOL_MAX_TMPL; i++) {
		const struct kmigrate *m = kmigrate_tmpl(r, &e->kp.tmpl[i]);

		if (m)
			kmigrate_apply_tmpl(m, &e->kp.tmpl[i]);
	}
}

struct spd_entry *spd_find_sel(struct spd *spd, const struct ksel *sel,
			       enum kdir dir, const struct spd_dyn **dyn)
{
	if (dyn)
		*dyn = NULL;
	for (size_t i = 0; i < spd->stat.n; i++) {
		struct spd_entry *e = &spd->stat.v[i];

		if (e->installed && e->kp.dir == dir &&
		    ksel_eq(&e->kp.sel, sel))
			return e;
	}
	for (struct spd_dyn *d = spd->dyn; d; d = d->next) {
		for (size_t i = 0; i < d->n; i++) {
			struct spd_entry *e = &d->e[i];

			if (e->installed && e->kp.dir == dir &&
			    ksel_eq(&e->kp.sel, sel)) {
				if (dyn)
					*dyn = d;
				return e;
			}
		}
	}
	return NULL;
}

int spd_migrate(struct spd *spd, const char *name, const struct kaddr *os,
		const struct kaddr *od, const struct kaddr *ns,
		const struct kaddr *nd)
{
	int count = 0, rc;
	bool found = false;

	if (name[0] == '#') {
		uint64_t id = strtoull(name + 1, NULL, 10);
		struct spd_dyn *d = spd_dyn_find(spd, (uint32_t)id);

		if (!d)
			return -ENOENT;
		for (size_t i = 0; i < d->n; i++) {
			rc = migrate_entry(spd, &d->e[i], os, od, ns, nd);
			if (rc < 0)
				return rc;
			count += rc;
		}
		return count;
	}
	/* a name is a selector or a policy (all its selectors) */
	for (size_t i = 0; i < spd->stat.n; i++) {
		if (strcmp(spd->stat.v[i].selector, name) != 0 &&
		    strcmp(spd->stat.v[i].policy, name) != 0)
			continue;
		found = true;
		rc = migrate_entry(spd, &spd->stat.v[i], os, od, ns, nd);
		if (rc < 0)
			return rc;
		count += rc;
	}
	for (struct spd_dyn *d = spd->dyn; d; d = d->next) {
		for (size_t i = 0; i < d->n; i++) {
			if (strcmp(d->e[i].selector, name) != 0 &&
			    strcmp(d->e[i].policy, name) != 0)
				continue;
			found = true;
			rc = migrate_entry(spd, &d->e[i], os, od, ns, nd);
			if (rc < 0)
				return rc;
			count += rc;
		}
	}
	return found ? count : -ENOENT;
}
