/*
 * conf.c - public entry points of the configuration module: loading,
 * diagnostics, freeing, lookups, iteration, and the command line
 * helper shared by every daemon's `-f FILE -t`.
 *
 * A load runs parse.c (syntax tree, includes, substitution), then
 * interp.c (meaning, defaults, checks).  Any error makes the load fail
 * and nothing is returned; on success the caller owns the struct conf.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"
#include "conf/interp.h"

size_t conf_max_objects = CONF_MAX_OBJECTS;

/* ---------------- diagnostics ---------------- */

void conf_diag_init(struct conf_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void conf_diag_free(struct conf_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void conf_diag_print(FILE *f, const struct conf_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct conf_diag_entry *e = &d->v[i];
		const char *sev =
		    e->sev == CONF_DIAG_ERROR ? "error" : "warning";
		if (e->line)
			fprintf(f, "%s:%u:%u: %s: %s\n", e->file, e->line,
				e->col, sev, e->msg);
		else
			fprintf(f, "%s: %s: %s\n", e->file, sev, e->msg);
	}
	if (d->nerrors + d->nwarnings > d->n)
		fprintf(f, "(%u more messages not shown)\n",
			d->nerrors + d->nwarnings - (unsigned)d->n);
}

static void __attribute__((format(printf, 4, 0)))
vdiag(struct pctx *p, enum conf_severity sev, const struct conf_loc *loc,
      const char *fmt, va_list ap)
{
	struct conf_diag *d = p->diag;
	struct conf_diag_entry *e;
	char buf[1024];

	if (p->quiet)
		return;
	if (sev == CONF_DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= CONF_DIAG_MAX)
		return;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct conf_diag_entry *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			return;
		d->v = nv;
		d->cap = ncap;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	e = &d->v[d->n];
	e->sev = sev;
	e->file = strdup(loc && loc->file ? loc->file : "(config)");
	e->line = loc ? loc->line : 0;
	e->col = loc ? loc->col : 0;
	e->msg = strdup(buf);
	if (!e->file || !e->msg) {
		free(e->file);
		free(e->msg);
		return;
	}
	d->n++;
}

void conf_err(struct pctx *p, const struct conf_loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(p, CONF_DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void conf_warn(struct pctx *p, const struct conf_loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(p, CONF_DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

void conf_nomem(struct pctx *p, const struct conf_loc *loc)
{
	int quiet = p->quiet;

	p->quiet = 0;
	conf_err(p, loc, "out of memory");
	p->quiet = quiet;
}

const char *conf_pctx_file(struct pctx *p, const char *name)
{
	char **nv;
	char *d;

	for (size_t i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i], name) == 0)
			return p->files[i];
	d = strdup(name);
	nv = d ? realloc(p->files, (p->nfiles + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(d);
		return NULL;
	}
	p->files = nv;
	p->files[p->nfiles++] = d;
	return d;
}

/* ---------------- freeing ---------------- */

void conf_addr_list_free(struct conf_addr_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void conf_alg_list_free(struct conf_alg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void conf_provide_free(struct conf_provide *p)
{
	free(p->addresspool_name);
	free(p->application_version);
	conf_addr_list_free(&p->dns);
	conf_addr_list_free(&p->dhcp);
	conf_addr_list_free(&p->mip6_home_prefix);
	memset(p, 0, sizeof(*p));
}

void conf_kmp_params_free(struct conf_kmp_params *k)
{
	free(k->logfile);
	conf_addr_list_free(&k->peers_ipaddr);
	free(k->peers_kmp_port);
	for (size_t i = 0; i < k->my_id.n; i++)
		free(k->my_id.v[i].value);
	free(k->my_id.v);
	for (size_t i = 0; i < k->peers_id.n; i++)
		free(k->peers_id.v[i].value);
	free(k->peers_id.v);
	conf_alg_list_free(&k->kmp_enc_alg);
	conf_alg_list_free(&k->kmp_hash_alg);
	conf_alg_list_free(&k->kmp_prf_alg);
	conf_alg_list_free(&k->kmp_dh_group);
	free(k->kmp_auth_method);
	for (int i = 0; i < CONF_SCRIPT_COUNT; i++)
		free(k->script[i]);
	free(k->my_gssapi_id);
	free(k->my_public_key.pub);
	free(k->my_public_key.priv);
	free(k->peers_public_key.pub);
	free(k->peers_public_key.priv);
	free(k->pre_shared_key);
	conf_provide_free(&k->provide);
	free(k->my_principal);
	free(k->peers_principal);
}

void conf_remote_free(struct conf_remote *r)
{
	if (!r)
		return;
	free(r->name);
	conf_kmp_params_free(&r->ikev1);
	conf_kmp_params_free(&r->ikev2);
	conf_kmp_params_free(&r->kink);
	free(r->selector_name);
	free(r->policies);
	free(r);
}

void conf_selector_free(struct conf_selector *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->src.name);
	free(s->dst.name);
	free(s->upper_layer_name);
	strv_free(s->next_header_including, s->n_next_header_including);
	free(s->tagged);
	free(s->policy_name);
	free(s);
}

void conf_policy_free(struct conf_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->remote_name);
	strv_free(p->ipsec_names, p->nipsec);
	free(p->ipsec);
	free(p->my_sa_ipaddr.name);
	free(p->peers_sa_ipaddr.name);
	free(p->selectors);
	free(p);
}

void conf_ipsec_free(struct conf_ipsec *i)
{
	if (!i)
		return;
	free(i->name);
	strv_free(i->sa_names, i->nsa);
	free(i->sa);
	free(i);
}

void conf_sa_free(struct conf_sa *s)
{
	if (!s)
		return;
	free(s->name);
	conf_alg_list_free(&s->esp_enc_alg);
	conf_alg_list_free(&s->esp_auth_alg);
	conf_alg_list_free(&s->ah_auth_alg);
	conf_alg_list_free(&s->ipcomp_alg);
	free(s);
}

void conf_free(struct conf *c)
{
	struct conf_full *cf;

	if (!c)
		return;
	cf = conf_full_of(c);
	for (int k = 0; k < NK_COUNT; k++)
		conf_names_free(&cf->names[k]);
	conf_srcidx_free(cf->src);
	free(c->path);
	conf_addr_list_free(&c->iface.ike);
	conf_addr_list_free(&c->iface.kink);
	conf_addr_list_free(&c->iface.spmd);
	free(c->iface.spmd_password);
	free(c->iface.kernel_socket);
	conf_addr_list_free(&c->resolver.nameserver);
	conf_addr_list_free(&c->resolver.dns_query);
	conf_remote_free(c->default_remote);
	conf_policy_free(c->default_policy);
	conf_ipsec_free(c->default_ipsec);
	conf_sa_free(c->default_sa);
	for (size_t i = 0; i < c->nremotes; i++)
		conf_remote_free(c->remotes[i]);
	free(c->remotes);
	for (size_t i = 0; i < c->nselectors; i++)
		conf_selector_free(c->selectors[i]);
	free(c->selectors);
	for (size_t i = 0; i < c->npolicies; i++)
		conf_policy_free(c->policies[i]);
	free(c->policies);
	for (size_t i = 0; i < c->nipsecs; i++)
		conf_ipsec_free(c->ipsecs[i]);
	free(c->ipsecs);
	for (size_t i = 0; i < c->nsas; i++)
		conf_sa_free(c->sas[i]);
	free(c->sas);
	for (size_t i = 0; i < c->naddrpools; i++) {
		struct conf_addrpool *ap = c->addrpools[i];
		free(ap->name);
		free(ap->v);
		free(ap);
	}
	free(c->addrpools);
	strv_free(c->files, c->nfiles);
	free(cf);
}

/* ---------------- loading ---------------- */

static void pctx_done(struct pctx *p)
{
	conf_tree_free(p->top);
	conf_arena_free(&p->arena);
	free(p->istk);
	free(p->sstk);
	for (size_t i = 0; i < p->nvars; i++) {
		free(p->vars[i].name);
		free(p->vars[i].expanded);
	}
	free(p->vars);
	conf_names_free(&p->varnames);
	strv_free(p->files, p->nfiles);
	conf_diag_free(&p->own_diag);
	free(p->main_buf);
}

static int finish(struct pctx *p, unsigned errs0, const char *path,
		  struct conf **out)
{
	struct conf *c = NULL;

	conf_substitute(p);
	c = conf_interpret(p);
	if (!c) {
		pctx_done(p);
		return -ENOMEM;
	}
	/* file names referenced by conf_loc move into the conf */
	c->files = p->files;
	c->nfiles = p->nfiles;
	p->files = NULL;
	p->nfiles = 0;
	c->path = strdup(path);
	if (p->diag->nerrors != errs0 || !c->path) {
		conf_free(c);
		pctx_done(p);
		return -EINVAL;
	}
	if (p->main_buf && c->nfiles == 1)
		conf_full_of(c)->src =
		    conf_srcidx_build(p->main_buf, p->main_len, p->flags, c);
	pctx_done(p);
	*out = c;
	return 0;
}

/* Start a load into *p; returns the error count before it, for finish(). */
static unsigned load_start(struct pctx *p, unsigned flags, struct conf **out,
			   struct conf_diag *diag)
{
	*out = NULL;
	memset(p, 0, sizeof(*p));
	p->diag = diag ? diag : &p->own_diag;
	p->flags = flags;
	return p->diag->nerrors;
}

int conf_load_ex(const char *path, unsigned flags, struct conf **out,
		 struct conf_diag *diag)
{
	struct pctx p;
	unsigned errs0 = load_start(&p, flags, out, diag);

	conf_parse_file(&p, path, NULL);
	return finish(&p, errs0, path, out);
}

int conf_load(const char *path, struct conf **out, struct conf_diag *diag)
{
	return conf_load_ex(path, 0, out, diag);
}

int conf_load_buffer(const char *name, const void *buf, size_t len,
		     unsigned flags, struct conf **out, struct conf_diag *diag)
{
	struct pctx p;
	unsigned errs0 = load_start(&p, flags, out, diag);

	if (len > CONF_MAX_FILE_SIZE) {
		struct conf_loc l = {name, 0, 0};
		conf_err(&p, &l, "configuration too large");
	} else {
		conf_parse_buffer(&p, name, buf, len);
	}
	return finish(&p, errs0, name, out);
}

/* ---------------- lookups ---------------- */

/* O(1) through the name index built while loading (see conf_full). */
#define FIND(kind, arr, n, nm)                                                 \
	do {                                                                   \
		size_t i_ =                                                    \
		    conf_names_get(&conf_cfull_of(c)->names[kind], nm);        \
		return i_ < (n) ? (arr)[i_] : NULL;                            \
	} while (0)

const struct conf_remote *conf_remote_find(const struct conf *c,
					   const char *name)
{
	FIND(NK_REMOTE, c->remotes, c->nremotes, name);
}

const struct conf_selector *conf_selector_find(const struct conf *c,
					       const char *name)
{
	FIND(NK_SELECTOR, c->selectors, c->nselectors, name);
}

const struct conf_policy *conf_policy_find(const struct conf *c,
					   const char *name)
{
	FIND(NK_POLICY, c->policies, c->npolicies, name);
}

const struct conf_ipsec *conf_ipsec_find(const struct conf *c, const char *name)
{
	FIND(NK_IPSEC, c->ipsecs, c->nipsecs, name);
}

const struct conf_sa *conf_sa_find(const struct conf *c, const char *name)
{
	FIND(NK_SA, c->sas, c->nsas, name);
}

const struct conf_addrpool *conf_addrpool_find(const struct conf *c,
					       const char *name)
{
	FIND(NK_ADDRPOOL, c->addrpools, c->naddrpools, name);
}

const struct conf_kmp_params *conf_remote_kmp(const struct conf_remote *r,
					      enum conf_kmp k)
{
	switch (k) {
	case CONF_KMP_IKEV1:
		return &r->ikev1;
	case CONF_KMP_IKEV2:
		return &r->ikev2;
	case CONF_KMP_KINK:
		return &r->kink;
	default:
		return NULL;
	}
}

/*
 * The first remote with an acceptable KMP (kmp, or any for
 * CONF_KMP_NONE) whose parameters satisfy match(k, arg), else the
 * default remote.
 */
static const struct conf_remote *
remote_where(const struct conf *c, enum conf_kmp kmp,
	     bool (*match)(const struct conf_kmp_params *k, const void *arg),
	     const void *arg)
{
	for (size_t i = 0; i < c->nremotes; i++) {
		const struct conf_remote *r = c->remotes[i];
		for (size_t j = 0; j < r->n_acceptable_kmp; j++) {
			if (kmp != CONF_KMP_NONE && r->acceptable_kmp[j] != kmp)
				continue;
			if (match(conf_remote_kmp(r, r->acceptable_kmp[j]),
				  arg))
				return r;
		}
	}
	return c->default_remote;
}

static bool peer_addr_match(const struct conf_kmp_params *k, const void *sa)
{
	for (size_t a = 0; a < k->peers_ipaddr.n; a++) {
		const struct conf_addr *ad = &k->peers_ipaddr.v[a];
		/* IP_RW is learnt, not matched */
		if (ad->kind == CONF_ADDR_RW)
			continue;
		if (conf_addr_match(ad, sa))
			return true;
	}
	return false;
}

const struct conf_remote *conf_remote_by_addr(const struct conf *c,
					      enum conf_kmp kmp,
					      const struct sockaddr *sa)
{
	return remote_where(c, kmp, peer_addr_match, sa);
}

static bool id_equal(const struct conf_id *id, enum conf_id_type type,
		     const void *value, size_t len)
{
	if (id->type != type)
		return false;
	if (type == CONF_ID_IPADDR) {
		struct conf_addr a;
		char err[64];
		bool eq;
		if (conf_addr_parse(id->value, &a, err, sizeof(err)) < 0 ||
		    a.kind != CONF_ADDR_IP) {
			free(a.name);
			return false;
		}
		eq = (a.af == AF_INET && len == 4) ||
		     (a.af == AF_INET6 && len == 16);
		return eq && memcmp(a.u.b, value, len) == 0;
	}
	if (type == CONF_ID_FQDN || type == CONF_ID_EMAIL)
		return strlen(id->value) == len &&
		       strncasecmp(id->value, value, len) == 0;
	return strlen(id->value) == len && memcmp(id->value, value, len) == 0;
}

struct id_arg {
	enum conf_id_type type;
	const void *value;
	size_t len;
};

static bool peer_id_match(const struct conf_kmp_params *k, const void *arg)
{
	const struct id_arg *id = arg;
	for (size_t a = 0; a < k->peers_id.n; a++)
		if (id_equal(&k->peers_id.v[a], id->type, id->value, id->len))
			return true;
	return false;
}

const struct conf_remote *conf_remote_by_id(const struct conf *c,
					    enum conf_kmp kmp,
					    enum conf_id_type type,
					    const void *value, size_t len)
{
	const struct id_arg id = {type, value, len};
	return remote_where(c, kmp, peer_id_match, &id);
}

/* ---------------- command line ---------------- */

int conf_cli_load(const char *progname, const char *path, struct conf **out)
{
	return conf_cli_load_ex(progname, path, 0, out);
}

int conf_cli_load_ex(const char *progname, const char *path, unsigned flags,
		     struct conf **out)
{
	struct conf_diag d;
	struct conf *c = NULL;
	int rc;

	if (!path)
		path = CONF_DEFAULT_PATH;
	conf_diag_init(&d);
	rc = conf_load_ex(path, flags, &c, &d);
	for (size_t i = 0; i < d.n; i++) {
		const struct conf_diag_entry *e = &d.v[i];
		const char *sev =
		    e->sev == CONF_DIAG_ERROR ? "error" : "warning";
		if (e->line)
			fprintf(stderr, "%s: %s:%u:%u: %s: %s\n", progname,
				e->file, e->line, e->col, sev, e->msg);
		else
			fprintf(stderr, "%s: %s: %s: %s\n", progname, e->file,
				sev, e->msg);
	}
	if (rc < 0)
		fprintf(stderr,
			"%s: %s: %u error%s, configuration not "
			"loaded\n",
			progname, path, d.nerrors, d.nerrors == 1 ? "" : "s");
	conf_diag_free(&d);
	if (rc < 0)
		return 1;
	if (out)
		*out = c;
	else
		conf_free(c);
	return 0;
}
