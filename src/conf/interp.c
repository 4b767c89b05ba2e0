/*
 * interp.c - gives meaning to the syntax tree of parse.c.
 *
 * Each kind of block (interface, remote, ikev2, selector, policy, ...)
 * is described by a table of keys (struct kdef): name, where it is
 * valid, how its value is parsed and dumped, and where it is stored.
 * One loop (interp_block) enforces the generic rules for all of them:
 * known key, valid in this block, not given twice, value well formed,
 * nothing after the value.  Defaults from `default { ... }` are applied
 * by running the same loop over the default's statements in "inherit"
 * mode (quiet, skipping keys already set).  Then references are
 * resolved and the semantic checks run, each with its own message.
 *
 * Scale: names are checked and resolved through per-kind hash indexes
 * (names.c) kept in the struct conf_full, arrays grow geometrically,
 * and the counts are bounded by CONF_MAX_OBJECTS / CONF_MAX_LIST with a
 * located error, so a load is linear in the size of the configuration
 * and never drops an object or a value without an error.
 *
 * The struct conf built here is returned to conf.c, which owns it from
 * then on; everything in it is heap memory freed by conf_free().
 *
 * Files: this one has the loop (interp_block), the top level (objects,
 * references, limits) and conf_interpret(); interp_scalar.c the statement
 * cursor and scalar values; interp_list.c list and structured values;
 * interp_keys.c the key tables; interp_defaults.c inheritance from
 * `default`; interp_check.c the semantic checks.  interp_int.h is what
 * they share.
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
/* the one loop                                                        */
/* ------------------------------------------------------------------ */

static const struct kdef *kfind(const struct kdef *tab, size_t n,
				const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0 ||
		    (tab[i].alias && strcmp(tab[i].alias, name) == 0))
			return &tab[i];
	return NULL;
}

/*
 * Interpret the statements of b against tab.  In inherit mode (values
 * from `default`), keys already set or not valid in ctx are skipped and
 * nothing is reported (the default block itself was checked once).
 * only >= 0 restricts to that key id.
 */
void interp_block(struct ictx *x, const struct block *b, const struct kdef *tab,
		  size_t ntab, unsigned ctx, const char *what, void *base,
		  uint64_t *set, struct conf_loc *locs, size_t nlocs,
		  bool inherit, int only)
{
	unsigned errs0 = x->p->diag->nerrors;

	if (inherit)
		x->p->quiet++;
	for (size_t i = 0; i < b->n; i++) {
		const struct stmt *s = &b->stmts[i];
		const struct item *k0 = &s->items[0];
		const struct kdef *k;
		unsigned errs;
		struct sc c;

		if (s->broken) {
			/* already reported; the object is incomplete */
			locs[BAD(nlocs)].line = 1;
			continue;
		}
		if (k0->kind != I_WORD) {
			conf_err(x->p, &k0->loc,
				 "expected a directive name in"
				 " %s, got %s%s%s",
				 what, k0->kind == I_STRING ? "\"" : "",
				 item_desc(k0),
				 k0->kind == I_STRING ? "\"" : "");
			continue;
		}
		k = kfind(tab, ntab, k0->text);
		if (!k) {
			conf_err(x->p, &k0->loc,
				 "unknown directive '%s' in "
				 "%s",
				 k0->text, what);
			continue;
		}
		if (only >= 0 && k->id != only)
			continue;
		if (!(k->ctx & ctx)) {
			if (!inherit)
				conf_err(x->p, &k0->loc,
					 "'%s' is not valid in"
					 " %s",
					 k->name, what);
			continue;
		}
		if ((*set >> k->id) & 1u) {
			if (!inherit)
				conf_err(x->p, &k0->loc,
					 "duplicate '%s' in %s"
					 " (first at line %u)",
					 k->name, what, locs[k->id].line);
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.x = x;
		c.s = s;
		c.i = 1;
		c.key = k->name;
		c.keyloc = k0->loc;
		errs = x->p->diag->nerrors;
		if (!k->parse(&c, k, (char *)base + k->off) || !sc_end(&c)) {
			/* every failure must be reported: a value that is
			 * quietly left out would change the meaning */
			if (!inherit && x->p->diag->nerrors == errs)
				conf_err(x->p, &k0->loc,
					 "invalid value for "
					 "'%s'",
					 k->name);
			locs[BAD(nlocs)].line = 1;
			continue;
		}
		*set |= 1ull << k->id;
		locs[k->id] = k0->loc;
	}
	if (inherit)
		x->p->quiet--;
	if (x->p->diag->nerrors != errs0)
		locs[BAD(nlocs)].line = 1;
}

/* ------------------------------------------------------------------ */
/* top level                                                           */
/* ------------------------------------------------------------------ */

bool append_ptr(void *arrp, size_t *n, void *obj)
{
	void ***arr = arrp;
	if (!conf_grow((void **)arr, *n, sizeof(void *)))
		return false;
	(*arr)[(*n)++] = obj;
	return true;
}

static void kmp_init(struct conf_kmp_params *k, bool v2)
{
	k->verify_id = k->verify_pubkey = true;
	k->send_cert = k->send_cert_req = true;
	k->nonce_size = 16;
	k->initial_contact = true;
	k->nat_traversal = true;
	k->nat_keepalive = 20;
	k->fragmentation = true;
	k->random_pad_content = k->random_padlen = true;
	k->max_padlen = 50;
	k->max_retry_to_send = 3;
	k->interval_to_send = 10;
	k->times_per_send = 1;
	k->kmp_sa_nego_time_limit = 60;
	k->kmp_sa_grace_period = 40;
	k->ipsec_sa_nego_time_limit = 40;
	k->exchange_mode[0] = CONF_EXMODE_MAIN;
	k->n_exchange_mode = 1;
	k->dpd = true;
	k->dpd_retry = 5;
	k->dpd_maxfail = 5;
	k->dpd_delay = v2 ? 3600 : 0;
}

static struct conf_remote *remote_new(const char *name,
				      const struct conf_loc *loc)
{
	struct conf_remote *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->name = strdup(name);
	if (!r->name) {
		free(r);
		return NULL;
	}
	r->loc = *loc;
	kmp_init(&r->ikev1, false);
	kmp_init(&r->ikev2, true);
	kmp_init(&r->kink, false);
	return r;
}

static struct conf_policy *policy_new(const char *name,
				      const struct conf_loc *loc)
{
	struct conf_policy *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name))) {
		free(p);
		return NULL;
	}
	p->loc = *loc;
	p->install = true;
	return p;
}

static struct conf_ipsec *ipsec_new(const char *name,
				    const struct conf_loc *loc)
{
	struct conf_ipsec *i = calloc(1, sizeof(*i));
	if (!i || !(i->name = strdup(name))) {
		free(i);
		return NULL;
	}
	i->loc = *loc;
	i->replay_window = 64;
	return i;
}

static struct conf_sa *sa_new(const char *name, const struct conf_loc *loc)
{
	struct conf_sa *s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	s->loc = *loc;
	return s;
}

static void *loc_array(void)
{
	return calloc(NLOCS_OBJ, sizeof(struct conf_loc));
}

/*
 * policy, ipsec and sa: a named block of keys from one table, made the
 * same way at top level and in default.  Offsets locate the array, its
 * count and the default in struct conf, and name / loc / set in the
 * object.
 */
const struct flat_kind conf_flat_kinds[FLAT_COUNT] = {
#define FLAT(nk, w, ctx, arr, n)                                               \
	{                                                                      \
		nk, #w, "default " #w, conf_##w##_tab, &conf_##w##_ntab, ctx,  \
		    offsetof(struct conf, arr), offsetof(struct conf, n),      \
		    offsetof(struct conf, default_##w),                        \
		    offsetof(struct conf_##w, name),                           \
		    offsetof(struct conf_##w, loc),                            \
		    offsetof(struct conf_##w, set)                             \
	}
    [FLAT_POLICY] = FLAT(NK_POLICY, policy, 1, policies, npolicies),
    [FLAT_IPSEC] = FLAT(NK_IPSEC, ipsec, 1, ipsecs, nipsecs),
    [FLAT_SA] = FLAT(NK_SA, sa, 7, sas, nsas),
#undef FLAT
};

static void *flat_new(int kind, const char *name, const struct conf_loc *l)
{
	switch (kind) {
	case FLAT_POLICY:
		return policy_new(name, l);
	case FLAT_IPSEC:
		return ipsec_new(name, l);
	default:
		return sa_new(name, l);
	}
}

static void flat_free(int kind, void *o)
{
	switch (kind) {
	case FLAT_POLICY:
		conf_policy_free(o);
		break;
	case FLAT_IPSEC:
		conf_ipsec_free(o);
		break;
	default:
		conf_sa_free(o);
	}
}

/* Field at offset off of base (the offsets of conf_flat_kinds). */
void *at_off(void *base, size_t off)
{
	return (char *)base + off;
}

static void **flat_arr(struct conf *c, int kind)
{
	return *(void ***)at_off(c, conf_flat_kinds[kind].arr);
}

static size_t flat_n(struct conf *c, int kind)
{
	return *(size_t *)at_off(c, conf_flat_kinds[kind].n);
}

/* FLAT_* of a section keyword, or -1. */
static int flat_kind_of(const char *kw)
{
	for (int k = 0; k < FLAT_COUNT; k++)
		if (strcmp(kw, conf_flat_kinds[k].what) == 0)
			return k;
	return -1;
}

/* Interpret b (not inheriting) into the new object o of kind. */
static void flat_interp(struct ictx *x, int kind, const struct block *b,
			const char *what, void *o, struct conf_loc *locs)
{
	const struct flat_kind *fk = &conf_flat_kinds[kind];
	uint64_t set = 0;

	interp_block(x, b, fk->tab, *fk->ntab, fk->ctx, what, o, &set, locs,
		     NLOCS_OBJ, false, -1);
	*(uint32_t *)at_off(o, fk->set) = (uint32_t)set;
}

/* Name of a `remote NAME { }` statement or NULL after an error. */
static const char *named_section(struct ictx *x, const struct stmt *s,
				 const struct block **blk)
{
	const char *kw = s->items[0].text;
	if (s->n != 3 ||
	    (s->items[1].kind != I_WORD && s->items[1].kind != I_STRING) ||
	    s->items[2].kind != I_BLOCK) {
		const struct item *bad = s->n > 1 ? &s->items[1] : &s->items[0];
		if (s->n >= 2 && s->items[1].kind == I_BLOCK)
			conf_err(x->p, &bad->loc, "expected a name after '%s'",
				 kw);
		else if (s->n > 3)
			conf_err(x->p, &s->items[3].loc,
				 "unexpected %s after the '%s' block "
				 "(missing ';'?)",
				 item_desc(&s->items[3]), kw);
		else
			conf_err(x->p, &bad->loc, "expected: %s NAME { ... };",
				 kw);
		return NULL;
	}
	if (!s->items[1].text[0]) {
		conf_err(x->p, &s->items[1].loc, "empty %s name", kw);
		return NULL;
	}
	*blk = s->items[2].block;
	return s->items[1].text;
}

static const char *const nkind_name[NK_COUNT] = {
    "remote", "selector", "policy", "ipsec", "sa", "addresspool",
};

/*
 * May a new object of kind k named nm (at l) be defined?  Its name must
 * be new in its kind (arr[i] + loc_off is where the first one was
 * defined, for the message) and the kind must be under the limit.
 * Reports and returns false otherwise.  O(1) through the name index.
 */
static bool obj_admit(struct ictx *x, enum conf_nkind k, void *const *arr,
		      size_t n, size_t loc_off, const char *nm,
		      const struct conf_loc *l)
{
	size_t i = conf_names_get(&x->names[k], nm);

	if (i < n) {
		const struct conf_loc *ol =
		    (const void *)((const char *)arr[i] + loc_off);
		conf_err(x->p, l,
			 "duplicate %s '%s' (first defined at "
			 "%s:%u)",
			 nkind_name[k], nm, ol->file, ol->line);
		return false;
	}
	if (n >= conf_max_objects) {
		/* once: the rest of this kind is not interpreted */
		if (!x->over[k])
			conf_err(x->p, l,
				 "too many %s sections (limit %zu); "
				 "'%s' and later ones are not loaded",
				 nkind_name[k], conf_max_objects, nm);
		x->over[k] = true;
		return false;
	}
	return true;
}

#define ADMIT(x, k, arr, n, T, nm, l)                                          \
	obj_admit(x, k, (void *const *)(arr), n, offsetof(T, loc), nm, l)

/*
 * Store obj (named name, borrowed by the index) as element *n of *arrp
 * and its key locations locs (may be NULL) as the same element of
 * *locsp, then index it.  On failure reports at l and stores nothing;
 * the caller still owns obj and locs.
 */
static bool obj_add(struct ictx *x, enum conf_nkind k, void *arrp, size_t *n,
		    void *obj, void *locsp, void *locs, const char *name,
		    const struct conf_loc *l)
{
	void ***arr = arrp, ***la = locsp;

	if (!conf_grow((void **)arr, *n, sizeof(void *)) ||
	    (la && !conf_grow((void **)la, *n, sizeof(void *))) ||
	    conf_names_put(&x->names[k], name, *n, NULL) < 0) {
		conf_nomem(x->p, l);
		return false;
	}
	(*arr)[*n] = obj;
	if (la)
		(*la)[*n] = locs;
	(*n)++;
	return true;
}

/* A reference to kind k was not found: worth an error unless objects
 * of that kind were left out over the limit (already reported). */
bool report_missing(const struct ictx *x, enum conf_nkind k)
{
	return !x->over[k];
}

/* The object of kind k named nm, or NULL. */
void *obj_find(const struct ictx *x, enum conf_nkind k, void *const *arr,
	       size_t n, const char *nm)
{
	size_t i = conf_names_get(&x->names[k], nm);
	return i < n ? arr[i] : NULL;
}

static const struct item *single_block(struct ictx *x, const struct stmt *s)
{
	if (s->n != 2 || s->items[1].kind != I_BLOCK) {
		const struct item *bad = s->n > 1 ? &s->items[1] : &s->items[0];
		conf_err(x->p, &bad->loc, "expected: %s { ... };",
			 s->items[0].text);
		return NULL;
	}
	return &s->items[1];
}

static void do_default(struct ictx *x, const struct block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct stmt *s = &b->stmts[i];
		const struct item *bi;
		const char *kw;
		if (s->broken)
			continue;
		kw = s->items[0].kind == I_WORD ? s->items[0].text : "";
		if (strcmp(kw, "remote") && strcmp(kw, "policy") &&
		    strcmp(kw, "ipsec") && strcmp(kw, "sa")) {
			conf_err(x->p, &s->items[0].loc,
				 "unknown directive "
				 "'%s' in default (expected remote, policy, "
				 "ipsec or sa)",
				 item_desc(&s->items[0]));
			continue;
		}
		bi = single_block(x, s);
		if (!bi)
			continue;
		if (strcmp(kw, "remote") == 0) {
			uint64_t set = 0;
			struct conf_remote *r;
			if (x->def_remote) {
				conf_err(x->p, &s->items[0].loc,
					 "duplicate "
					 "remote in default");
				continue;
			}
			r = remote_new("default", &s->items[0].loc);
			if (!r)
				continue;
			x->def_remote = bi->block;
			x->c->default_remote = r;
			x->cur_rlocs = &x->def_rl;
			interp_block(x, bi->block, conf_remote_tab,
				     conf_remote_ntab, 1, "default remote", r,
				     &set, x->def_rl.top, NLOCS, false, -1);
			for (size_t j = 0; j < bi->block->n; j++) {
				const struct stmt *ks = &bi->block->stmts[j];
				const char *n = ks->items[0].kind == I_WORD
						    ? ks->items[0].text
						    : "";
				if (ks->broken || ks->n != 2 ||
				    ks->items[1].kind != I_BLOCK)
					continue;
				if (!strcmp(n, "ikev1"))
					x->def_kmp[0] = ks->items[1].block;
				else if (!strcmp(n, "ikev2"))
					x->def_kmp[1] = ks->items[1].block;
				else if (!strcmp(n, "kink"))
					x->def_kmp[2] = ks->items[1].block;
			}
		} else {
			int k = flat_kind_of(kw);
			const struct flat_kind *fk = &conf_flat_kinds[k];
			void **def = at_off(x->c, fk->def);
			if (x->def_flat[k]) {
				conf_err(x->p, &s->items[0].loc,
					 "duplicate "
					 "%s in default",
					 kw);
				continue;
			}
			x->def_flat[k] = bi->block;
			*def = flat_new(k, "default", &s->items[0].loc);
			if (!*def)
				continue;
			flat_interp(x, k, bi->block, fk->defwhat, *def,
				    x->def_fl[k]);
		}
	}
}

/* A `policy|ipsec|sa NAME { }` section: admit, make, index, interpret. */
static void do_flat(struct ictx *x, int k, const char *nm,
		    const struct conf_loc *l, const struct block *b)
{
	const struct flat_kind *fk = &conf_flat_kinds[k];
	void *o, *ll;

	if (!obj_admit(x, fk->nk, flat_arr(x->c, k), flat_n(x->c, k), fk->loc,
		       nm, l))
		return;
	o = flat_new(k, nm, l);
	ll = loc_array();
	if (!o || !ll)
		conf_nomem(x->p, l);
	if (!o || !ll ||
	    !obj_add(x, fk->nk, at_off(x->c, fk->arr), at_off(x->c, fk->n), o,
		     &x->fl[k], ll, *(char **)at_off(o, fk->name), l)) {
		flat_free(k, o);
		free(ll);
		return;
	}
	flat_interp(x, k, b, fk->what, o, ll);
}

static void do_addrpool(struct ictx *x, const char *nm,
			const struct conf_loc *l, const struct block *b)
{
	struct conf_addrpool *ap;

	if (!ADMIT(x, NK_ADDRPOOL, x->c->addrpools, x->c->naddrpools,
		   struct conf_addrpool, nm, l))
		return;
	ap = calloc(1, sizeof(*ap));
	if (!ap || !(ap->name = strdup(nm))) {
		free(ap);
		conf_nomem(x->p, l);
		return;
	}
	ap->loc = *l;
	if (!obj_add(x, NK_ADDRPOOL, &x->c->addrpools, &x->c->naddrpools, ap,
		     NULL, NULL, ap->name, l)) {
		free(ap->name);
		free(ap);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct stmt *s = &b->stmts[i];
		struct conf_addr_range r;
		char err[256];
		const struct item *it;
		if (s->broken)
			continue;
		if (s->n != 3 ||
		    (s->items[0].kind != I_WORD &&
		     s->items[0].kind != I_STRING) ||
		    s->items[1].kind != I_WORD ||
		    strcmp(s->items[1].text, "-") != 0 ||
		    (s->items[2].kind != I_WORD &&
		     s->items[2].kind != I_STRING)) {
			conf_err(x->p, &s->items[0].loc,
				 "expected: ADDRESS - "
				 "ADDRESS; (with spaces around '-')");
			continue;
		}
		memset(&r, 0, sizeof(r));
		it = &s->items[0];
		if (conf_addr_parse(it->text, &r.start, err, sizeof(err)) < 0 ||
		    r.start.kind != CONF_ADDR_IP || r.start.has_plen) {
			free(r.start.name);
			conf_err(x->p, &it->loc, "'%s' is not an IP address",
				 it->text);
			continue;
		}
		it = &s->items[2];
		if (conf_addr_parse(it->text, &r.end, err, sizeof(err)) < 0 ||
		    r.end.kind != CONF_ADDR_IP || r.end.has_plen) {
			free(r.end.name);
			conf_err(x->p, &it->loc, "'%s' is not an IP address",
				 it->text);
			continue;
		}
		r.start.loc = s->items[0].loc;
		r.end.loc = it->loc;
		if (r.start.af != r.end.af) {
			conf_err(x->p, &it->loc,
				 "address range mixes IPv4 and"
				 " IPv6");
			continue;
		}
		if (memcmp(r.start.u.b, r.end.u.b,
			   r.start.af == AF_INET ? 4 : 16) > 0) {
			conf_err(x->p, &it->loc,
				 "address range ends before it"
				 " starts");
			continue;
		}
		if (ap->n >= CONF_MAX_LIST) {
			conf_err(x->p, &s->items[0].loc,
				 "too many ranges in "
				 "addresspool '%s' (limit %d)",
				 ap->name, CONF_MAX_LIST);
			break;
		}
		if (!conf_grow((void **)&ap->v, ap->n, sizeof(r))) {
			conf_nomem(x->p, &s->items[0].loc);
			break;
		}
		ap->v[ap->n++] = r;
	}
}

static void top_level(struct ictx *x)
{
	const struct block *top = x->p->top;
	struct conf *c = x->c;
	struct conf_loc iface_loc = {0}, res_loc = {0};

	if (!top)
		return;
	for (size_t i = 0; i < top->n; i++) {
		const struct stmt *s = &top->stmts[i];
		const struct item *k0 = &s->items[0];
		const struct item *bi;
		const struct block *b;
		const char *kw, *nm;
		const struct conf_loc *l;
		int k;

		if (s->broken)
			continue;
		if (k0->kind != I_WORD) {
			conf_err(x->p, &k0->loc,
				 "expected a directive, got "
				 "%s",
				 item_desc(k0));
			continue;
		}
		kw = k0->text;
		if (strcmp(kw, "setval") == 0)
			continue;
		if (strcmp(kw, "interface") == 0 ||
		    strcmp(kw, "resolver") == 0 || strcmp(kw, "default") == 0) {
			bool is_if = kw[0] == 'i', is_res = kw[0] == 'r';
			struct conf_loc *first = is_if	  ? &iface_loc
						 : is_res ? &res_loc
							  : &x->def_loc;
			uint64_t set = 0;
			struct conf_loc locs[NLOCS];
			if (!(bi = single_block(x, s)))
				continue;
			if (first->line) {
				conf_err(x->p, &k0->loc,
					 "duplicate %s section"
					 " (first at %s:%u)",
					 kw, first->file, first->line);
				continue;
			}
			*first = k0->loc;
			if (is_if) {
				c->iface.present = true;
				interp_block(x, bi->block, conf_iface_tab,
					     conf_iface_ntab, 1,
					     "interface section", &c->iface,
					     &set, x->iflocs, NLOCS, false, -1);
				c->iface.has_application_bypass =
				    (set >> FK_BYPASS) & 1u;
				c->iface.ike_limits_set =
				    (uint32_t)((set >> FK_COOKIE) & 0xffu);
			} else if (is_res) {
				c->resolver.present = true;
				interp_block(x, bi->block, conf_resolver_tab,
					     conf_resolver_ntab, 1,
					     "resolver section", &c->resolver,
					     &set, locs, NLOCS, false, -1);
			} else {
				do_default(x, bi->block);
			}
			continue;
		}
		if (strcmp(kw, "remote") && strcmp(kw, "selector") &&
		    strcmp(kw, "policy") && strcmp(kw, "ipsec") &&
		    strcmp(kw, "sa") && strcmp(kw, "addresspool")) {
			conf_err(x->p, &k0->loc,
				 "unknown directive '%s' "
				 "(expected include, setval, default, "
				 "interface, resolver, remote, selector, "
				 "policy, ipsec, sa or addresspool)",
				 kw);
			continue;
		}
		nm = named_section(x, s, &b);
		if (!nm)
			continue;
		l = &s->items[1].loc;
		if (strcmp(kw, "remote") == 0) {
			struct conf_remote *r;
			struct rlocs *rl;
			uint64_t set = 0;
			if (!ADMIT(x, NK_REMOTE, c->remotes, c->nremotes,
				   struct conf_remote, nm, l))
				continue;
			r = remote_new(nm, l);
			rl = calloc(1, sizeof(*rl));
			if (!r || !rl)
				conf_nomem(x->p, l);
			if (!r || !rl ||
			    !obj_add(x, NK_REMOTE, &c->remotes, &c->nremotes, r,
				     &x->rl, rl, r->name, l)) {
				conf_remote_free(r);
				free(rl);
				continue;
			}
			x->cur_rlocs = rl;
			interp_block(x, b, conf_remote_tab, conf_remote_ntab, 1,
				     "remote", r, &set, rl->top, NLOCS, false,
				     -1);
		} else if (strcmp(kw, "selector") == 0) {
			struct conf_selector *sel;
			void *ll;
			uint64_t set = 0;
			if (!ADMIT(x, NK_SELECTOR, c->selectors, c->nselectors,
				   struct conf_selector, nm, l))
				continue;
			sel = calloc(1, sizeof(*sel));
			ll = loc_array();
			if (!sel || !ll || !(sel->name = strdup(nm)))
				conf_nomem(x->p, l);
			if (!sel || !ll || !sel->name ||
			    !obj_add(x, NK_SELECTOR, &c->selectors,
				     &c->nselectors, sel, &x->sl, ll, sel->name,
				     l)) {
				if (sel)
					free(sel->name);
				free(sel);
				free(ll);
				continue;
			}
			sel->loc = *l;
			sel->upper_layer_protocol = CONF_PROTO_ANY;
			sel->ul_type = sel->ul_code = -1;
			interp_block(x, b, conf_selector_tab,
				     conf_selector_ntab, 1, "selector", sel,
				     &set, ll, NLOCS_OBJ, false, -1);
			sel->has_order = (set >> SK_ORDER) & 1u;
			sel->has_reqid = (set >> SK_REQID) & 1u;
			/* direction/policy_index presence is checked later
			 * through the loc array */
		} else if ((k = flat_kind_of(kw)) >= 0) {
			do_flat(x, k, nm, l, b);
		} else {
			do_addrpool(x, nm, l, b);
		}
	}
}

static void fill_ports(struct conf_addr_list *l, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].has_port && l->v[i].kind != CONF_ADDR_UNIX)
			l->v[i].port = port;
}

static void ictx_free(struct ictx *x)
{
	for (size_t i = 0; i < x->c->nremotes; i++)
		free(x->rl[i]);
	free(x->rl);
	for (size_t i = 0; i < x->c->nselectors; i++)
		free(x->sl[i]);
	free(x->sl);
	for (int k = 0; k < FLAT_COUNT; k++) {
		for (size_t i = 0; i < flat_n(x->c, k); i++)
			free(x->fl[k][i]);
		free(x->fl[k]);
	}
	conf_names_free(&x->checked_idx);
	for (size_t i = 0; i < x->nchecked; i++)
		free(x->checked[i]);
	free(x->checked);
}

struct conf *conf_interpret(struct pctx *p)
{
	struct ictx x;
	struct conf_full *cf = calloc(1, sizeof(*cf));
	struct conf *c;

	if (!cf)
		return NULL;
	c = &cf->c;
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.c = c;
	x.names = cf->names;
	c->iface.application_bypass = true;

	top_level(&x);

	for (size_t i = 0; i < c->nremotes; i++)
		inherit_remote(&x, c->remotes[i], x.rl[i]);
	for (int k = 0; k < FLAT_COUNT; k++)
		for (size_t i = 0; i < flat_n(c, k); i++)
			inherit_flat(&x, k, flat_arr(c, k)[i], x.fl[k][i]);

	fill_ports(&c->iface.ike, 500);
	fill_ports(&c->iface.kink, 910);
	fill_ports(&c->resolver.nameserver, 53);
	fill_ports(&c->resolver.dns_query, 53);

	if (c->default_remote)
		check_remote(&x, c->default_remote, &x.def_rl, true);
	if (c->default_sa)
		check_sa(&x, c->default_sa, x.def_fl[FLAT_SA], true);
	for (size_t i = 0; i < c->nremotes; i++)
		check_remote(&x, c->remotes[i], x.rl[i], false);
	for (size_t i = 0; i < c->nsas; i++)
		check_sa(&x, c->sas[i], x.fl[FLAT_SA][i], false);
	for (size_t i = 0; i < c->nipsecs; i++)
		check_ipsec(&x, c->ipsecs[i], x.fl[FLAT_IPSEC][i]);
	for (size_t i = 0; i < c->npolicies; i++)
		check_policy(&x, c->policies[i], x.fl[FLAT_POLICY][i]);
	for (size_t i = 0; i < c->nselectors; i++)
		check_selector(&x, c->selectors[i], x.sl[i]);
	if (c->iface.spmd_password)
		check_file(&x, c->iface.spmd_password, &x.iflocs[FK_PASSWD],
			   "spmd_password", true);
	ictx_free(&x);
	return c;
}
