/*
 * interp_list.c - values that are lists ("x" or "{ x; y; }"): addresses,
 * algorithms, enum and string lists, identities, public keys, scripts,
 * configuration payload requests, upper-layer protocols.
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
/* lists: "x" or "{ x; y; }"                                           */
/* ------------------------------------------------------------------ */

/*
 * Call one() for the single inline value, or for each statement of a
 * { } block.  one() parses from its own cursor and must consume it.
 */
static bool for_list(struct sc *c, bool (*one)(struct sc *c, void *arg),
		     void *arg)
{
	const struct item *it = sc_peek(c);
	bool ok = true;

	if (!it) {
		sc_expected(c, "a value or '{'");
		return false;
	}
	if (it->kind != I_BLOCK)
		return one(c, arg);
	c->i++;
	if (it->block->has_nosemi) {
		/* racoon2's grammar: every value of a list ends with ';'
		 * (a statement block may omit the last one) */
		conf_err(c->x->p, &it->block->nosemi,
			 "missing ';' after the last value of '%s'", c->key);
		ok = false;
	}
	for (size_t i = 0; i < it->block->n; i++) {
		struct sc sub = *c;
		sub.s = &it->block->stmts[i];
		sub.i = 0;
		if (sub.s->broken) {
			ok = false;
			continue;
		}
		if (!one(&sub, arg) || !sc_end(&sub))
			ok = false;
	}
	return ok;
}

/*
 * Make room for element n of the array *v (n elements in use).  The
 * capacity is implicit, the next power of two >= n (the public structs
 * carry counts only), so every array appended to here must have been
 * built only by conf_grow(), starting from NULL.  Appending is amortised
 * O(1); counts are bounded by the callers' CONF_MAX_* checks, not here.
 */
bool conf_grow(void **v, size_t n, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n & (n - 1))
		return true; /* n is not a power of two: room left */
	ncap = n ? n * 2 : 1;
	if (ncap < n || ncap > SIZE_MAX / sz)
		return false;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return false;
	*v = nv;
	return true;
}

/*
 * conf_grow() for the values of one key, with the list limit.  Reports the
 * error at loc (the value that does not fit) and returns false.
 */
static bool list_grow(struct sc *c, void **v, size_t n, size_t sz,
		      const struct conf_loc *loc)
{
	if (n >= CONF_MAX_LIST) {
		conf_err(c->x->p, loc, "too many values for '%s' (limit %d)",
			 c->key, CONF_MAX_LIST);
		return false;
	}
	if (!conf_grow(v, n, sz)) {
		conf_nomem(c->x->p, loc);
		return false;
	}
	return true;
}

/* ---- addresses ---- */

static const char *addr_kind_name(const struct conf_addr *a)
{
	switch (a->kind) {
	case CONF_ADDR_RW:
		return "IP_RW";
	case CONF_ADDR_ANY:
		return "IP_ANY";
	case CONF_ADDR_NAME:
		return "a host name";
	default:
		return "MY_IP macros";
	}
}

static bool parse_port(struct sc *c, struct conf_addr *a)
{
	static const struct {
		const char *name;
		uint16_t port;
	} known[] = {{"isakmp", 500},
		     {"ipsec-nat-t", 4500},
		     {"kink", 910},
		     {"domain", 53}};
	const struct item *it;
	uint64_t v;

	c->i++; /* "port" */
	it = sc_peek(c);
	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, "a port number, service name or 'any'");
		return false;
	}
	c->i++;
	a->has_port = true;
	if (strcmp(it->text, "any") == 0) {
		a->port = CONF_PORT_ANY;
		return true;
	}
	if (parse_u64(it->text, &v)) {
		if (v > 65535) {
			conf_err(c->x->p, &it->loc,
				 "port %s out of range (0..65535)", it->text);
			return false;
		}
		a->port = (uint16_t)v;
		return true;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(it->text, known[i].name) == 0) {
			a->port = known[i].port;
			return true;
		}
	}
	if (!(c->x->p->flags & CONF_LOAD_NO_ENV)) {
		struct servent *se = getservbyname(it->text, NULL);
		if (se) {
			a->port = ntohs((uint16_t)se->s_port);
			return true;
		}
	}
	conf_err(c->x->p, &it->loc, "unknown port or service '%s'", it->text);
	return false;
}

/* One address [port P] | unix PATH, checked against flags (AF_*). */
static bool parse_addr1(struct sc *c, unsigned fl, struct conf_addr *a)
{
	const struct item *it = sc_peek(c);
	char err[256];

	memset(a, 0, sizeof(*a));
	if (it && it->kind == I_WORD && strcmp(it->text, "unix") == 0) {
		const char *path;
		if (!(fl & AF_UNIXOK)) {
			conf_err(c->x->p, &it->loc,
				 "'unix' sockets are only "
				 "valid in interface spmd");
			return false;
		}
		c->i++;
		path = sc_text(c, "a socket path");
		if (!path)
			return false;
		if (!*path) {
			conf_err(c->x->p, &c->s->items[c->i - 1].loc,
				 "empty socket path");
			return false;
		}
		a->kind = CONF_ADDR_UNIX;
		a->loc = it->loc;
		a->name = strdup(path);
		if (!a->name)
			conf_nomem(c->x->p, &it->loc);
		return a->name != NULL;
	}
	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, "an address");
		return false;
	}
	c->i++;
	if (conf_addr_parse(it->text, a, err, sizeof(err)) < 0) {
		conf_err(c->x->p, &it->loc, "%s", err);
		return false;
	}
	a->loc = it->loc;
	if ((a->kind == CONF_ADDR_RW && !(fl & AF_RWOK)) ||
	    (a->kind == CONF_ADDR_ANY && !(fl & AF_ANYOK)) ||
	    (a->kind == CONF_ADDR_NAME && !(fl & AF_NAMEOK)) ||
	    (conf_addr_is_macro(a) && !(fl & AF_MACROOK))) {
		conf_err(c->x->p, &it->loc, "%s %s not valid in '%s'%s",
			 addr_kind_name(a),
			 a->kind == CONF_ADDR_NAME || conf_addr_is_macro(a)
			     ? "are"
			     : "is",
			 c->key,
			 a->kind == CONF_ADDR_RW
			     ? " (IP_RW is only valid in peers_ipaddr, "
			       "my_sa_ipaddr and peers_sa_ipaddr)"
			     : "");
		free(a->name);
		a->name = NULL;
		return false;
	}
	if (a->has_plen && !(fl & AF_PREFIXOK)) {
		conf_err(c->x->p, &it->loc,
			 "a prefix length is not valid in "
			 "'%s'",
			 c->key);
		return false;
	}
	if (sc_is_word(c, "port")) {
		if (!(fl & AF_PORTOK)) {
			conf_err(c->x->p, &c->s->items[c->i].loc,
				 "a port is not valid in '%s'", c->key);
			return false;
		}
		if (!parse_port(c, a))
			return false;
	}
	return true;
}

/* As parse_addr1, and on failure nothing stays allocated in *a. */
static bool parse_addr(struct sc *c, unsigned fl, struct conf_addr *a)
{
	if (parse_addr1(c, fl, a))
		return true;
	free(a->name);
	a->name = NULL;
	return false;
}

struct addrlist_arg {
	unsigned fl;
	struct conf_addr_list l;
};

static bool addr_one(struct sc *c, void *arg)
{
	struct addrlist_arg *a = arg;
	const struct conf_loc *at = sc_where(c);
	struct conf_addr ad;

	if (!parse_addr(c, a->fl, &ad))
		return false;
	if (!list_grow(c, (void **)&a->l.v, a->l.n, sizeof(ad), at)) {
		free(ad.name);
		return false;
	}
	a->l.v[a->l.n++] = ad;
	return true;
}

bool p_addrlist(struct sc *c, const struct kdef *k, void *f)
{
	struct addrlist_arg a = {k->uarg, {NULL, 0}};
	if (!for_list(c, addr_one, &a)) {
		conf_addr_list_free(&a.l);
		return false;
	}
	if (a.l.n == 0) {
		conf_err(c->x->p, &c->keyloc, "empty address list in '%s'",
			 c->key);
		return false;
	}
	conf_addr_list_free(f);
	*(struct conf_addr_list *)f = a.l;
	return true;
}

bool p_addr(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_addr a;
	if (!parse_addr(c, k->uarg, &a))
		return false;
	free(((struct conf_addr *)f)->name);
	*(struct conf_addr *)f = a;
	return true;
}

/* ---- algorithms ---- */

static const char *slot_key(unsigned slot)
{
	switch (slot) {
	case CONF_SLOT_KMP_ENC:
		return "kmp_enc_alg";
	case CONF_SLOT_KMP_PRF:
		return "kmp_prf_alg";
	case CONF_SLOT_KMP_HASH:
		return "kmp_hash_alg";
	case CONF_SLOT_KMP_DH:
		return "kmp_dh_group";
	case CONF_SLOT_ESP_ENC:
		return "esp_enc_alg";
	case CONF_SLOT_ESP_AUTH:
		return "esp_auth_alg";
	case CONF_SLOT_AH_AUTH:
		return "ah_auth_alg";
	default:
		return "ipcomp_alg";
	}
}

struct alglist_arg {
	unsigned slot;
	struct conf_alg_list l;
};

static bool key_bits_ok(const struct conf_alg_info *ai, uint64_t bits)
{
	switch (ai->alg) {
	case CONF_ALG_RIJNDAEL_CBC:
	case CONF_ALG_AES_CTR:
		return bits == 128 || bits == 192 || bits == 256;
	case CONF_ALG_BLOWFISH_CBC:
	case CONF_ALG_CAST128_CBC:
	case CONF_ALG_RC5_CBC:
	case CONF_ALG_TWOFISH_CBC:
		return bits >= 40 && bits <= 448 && bits % 8 == 0;
	default:
		return ai->key_bits && bits == ai->key_bits;
	}
}

/* The key size in bits of a MAC with a fixed key (RFC 2403, 2404, 4868
 * §2.1.1, 3566, 4494), 0 for others.  racoon2's grammar lets any
 * algorithm carry a key length ("hmac_sha2_256, 256"); for these it can
 * only be the fixed size, so it is checked and then ignored (no Key
 * Length attribute goes on an INTEG or PRF transform, RFC 7296
 * §3.3.5). */
static unsigned mac_key_bits(enum conf_alg alg)
{
	switch (alg) {
	case CONF_ALG_HMAC_MD5:
	case CONF_ALG_AES_XCBC:
	case CONF_ALG_AES_CMAC:
		return 128;
	case CONF_ALG_HMAC_SHA1:
		return 160;
	case CONF_ALG_HMAC_SHA2_256:
		return 256;
	case CONF_ALG_HMAC_SHA2_384:
		return 384;
	case CONF_ALG_HMAC_SHA2_512:
		return 512;
	default:
		return 0;
	}
}

static bool alg_one(struct sc *c, void *arg)
{
	struct alglist_arg *a = arg;
	const struct item *it = sc_peek(c);
	const struct conf_alg_info *ai = NULL;
	struct conf_alg_spec sp = {0};
	uint64_t num;

	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, "an algorithm name");
		return false;
	}
	c->i++;
	if (a->slot == CONF_SLOT_KMP_DH && parse_u64(it->text, &num)) {
		ai = num <= 0xffff ? conf_alg_by_dh_group((unsigned)num) : NULL;
		if (!ai) {
			conf_err(c->x->p, &it->loc,
				 "unknown Diffie-Hellman "
				 "group number %s",
				 it->text);
			return false;
		}
	} else {
		ai = conf_alg_by_name(it->text);
	}
	if (!ai) {
		conf_err(c->x->p, &it->loc, "unknown algorithm '%s' in '%s'",
			 it->text, c->key);
		return false;
	}
	if (!(ai->slots & a->slot)) {
		conf_err(c->x->p, &it->loc,
			 "algorithm '%s' cannot be used in"
			 " '%s'",
			 ai->name, slot_key(a->slot));
		return false;
	}
	sp.alg = ai->alg;
	if (sc_peek(c) && sc_peek(c)->kind == I_COMMA) {
		c->i++;
		if (sc_peek(c) && sc_peek(c)->kind != I_COMMA) {
			const struct conf_loc *at = sc_where(c);
			if (!sc_number(c, "a key length in bits", &num))
				return false;
			if (mac_key_bits(ai->alg)) {
				if (num != mac_key_bits(ai->alg)) {
					conf_err(c->x->p, at,
						 "key length "
						 "%llu is not valid for '%s' "
						 "(its key is %u bits)",
						 (unsigned long long)num,
						 ai->name,
						 mac_key_bits(ai->alg));
					return false;
				}
			} else if (!key_bits_ok(ai, num)) {
				conf_err(c->x->p, at,
					 "key length %llu is not "
					 "valid for '%s'",
					 (unsigned long long)num, ai->name);
				return false;
			} else {
				sp.key_bits = (uint32_t)num;
			}
		}
		if (sc_peek(c) && sc_peek(c)->kind == I_COMMA) {
			const char *key;
			c->i++;
			key = sc_text(c, "a key");
			if (!key)
				return false;
			sp.key = strdup(key);
			if (!sp.key) {
				conf_nomem(c->x->p, &it->loc);
				return false;
			}
		}
	}
	if (!list_grow(c, (void **)&a->l.v, a->l.n, sizeof(sp), &it->loc)) {
		free(sp.key);
		return false;
	}
	a->l.v[a->l.n++] = sp;
	return true;
}

bool p_alglist(struct sc *c, const struct kdef *k, void *f)
{
	struct alglist_arg a = {k->uarg, {NULL, 0}};
	if (!for_list(c, alg_one, &a)) {
		conf_alg_list_free(&a.l);
		return false;
	}
	if (a.l.n == 0) {
		conf_err(c->x->p, &c->keyloc, "empty algorithm list in '%s'",
			 c->key);
		return false;
	}
	conf_alg_list_free(f);
	*(struct conf_alg_list *)f = a.l;
	return true;
}

/* ---- generic enum lists (auth methods, kmp, exchange modes) ---- */

struct elist_arg {
	const struct enumdef *e;
	int *v;
	size_t n, max;
};

static bool elist_one(struct sc *c, void *arg)
{
	struct elist_arg *a = arg;
	struct kdef k = {0};
	int val;

	k.arg = a->e;
	if (!p_enum(c, &k, &val))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i] == val) {
			conf_err(c->x->p, &c->s->items[c->i - 1].loc,
				 "'%s' listed twice in '%s'",
				 c->s->items[c->i - 1].text, c->key);
			return false;
		}
	}
	if (a->n >= a->max) {
		conf_err(c->x->p, &c->s->items[c->i - 1].loc,
			 "too many entries in '%s' (at most %zu)", c->key,
			 a->max);
		return false;
	}
	a->v[a->n++] = val;
	return true;
}

/* A non-empty list of at most max values of e into v; *n is the count. */
static bool p_elist(struct sc *c, const struct enumdef *e, int *v, size_t max,
		    size_t *n)
{
	struct elist_arg a = {e, v, 0, max};
	if (!for_list(c, elist_one, &a))
		return false;
	if (a.n == 0) {
		conf_err(c->x->p, &c->keyloc, "empty list in '%s'", c->key);
		return false;
	}
	*n = a.n;
	return true;
}

static const struct enumv auth_v[] = {
    {"psk", CONF_AUTH_PSK},	      {"dss", CONF_AUTH_DSS},
    {"rsasig", CONF_AUTH_RSASIG},     {"rsaenc", CONF_AUTH_RSAENC},
    {"rsarev", CONF_AUTH_RSAREV},     {"gssapi_krb", CONF_AUTH_GSSAPI_KRB},
    {"ecdsa256", CONF_AUTH_ECDSA256}, {"ecdsa384", CONF_AUTH_ECDSA384},
    {"ecdsa521", CONF_AUTH_ECDSA521}, {"digital_signature", CONF_AUTH_DIGSIG},
};
static const struct enumdef auth_e = {auth_v, 10};

bool p_authlist(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_kmp_params *kp =
	    (void *)((char *)f -
		     offsetof(struct conf_kmp_params, kmp_auth_method));
	int v[16];
	size_t n;
	(void)k;
	if (!p_elist(c, &auth_e, v, 16, &n))
		return false;
	free(kp->kmp_auth_method);
	kp->kmp_auth_method = calloc(n, sizeof(*kp->kmp_auth_method));
	if (!kp->kmp_auth_method) {
		kp->n_kmp_auth_method = 0;
		conf_nomem(c->x->p, &c->keyloc);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		kp->kmp_auth_method[i] = (enum conf_auth_method)v[i];
	kp->n_kmp_auth_method = n;
	return true;
}

static const struct enumv kmp_v[] = {
    {"ikev2", CONF_KMP_IKEV2},
    {"ikev1", CONF_KMP_IKEV1},
    {"kink", CONF_KMP_KINK},
};
static const struct enumdef kmp_e = {kmp_v, 3};

bool p_kmplist(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_remote *r = f;
	int v[3];
	size_t n;
	(void)k;
	if (!p_elist(c, &kmp_e, v, 3, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		r->acceptable_kmp[i] = (enum conf_kmp)v[i];
	r->n_acceptable_kmp = n;
	return true;
}

static const struct enumv exmode_v[] = {
    {"main", CONF_EXMODE_MAIN},
    {"aggressive", CONF_EXMODE_AGGRESSIVE},
    {"base", CONF_EXMODE_BASE},
};
static const struct enumdef exmode_e = {exmode_v, 3};

bool p_exmode(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_kmp_params *kp =
	    (void *)((char *)f -
		     offsetof(struct conf_kmp_params, exchange_mode));
	int v[3];
	size_t n;
	(void)k;
	if (!p_elist(c, &exmode_e, v, 3, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		kp->exchange_mode[i] = (enum conf_exmode)v[i];
	kp->n_exchange_mode = n;
	return true;
}

/* ---- string lists (ipsec_index, sa_index, next_header_including) ---- */

struct slist_arg {
	char **v;
	size_t n;
};

static bool slist_one(struct sc *c, void *arg)
{
	struct slist_arg *a = arg;
	const struct conf_loc *at = sc_where(c);
	const char *t = sc_text(c, "a name");
	char *d;
	if (!t)
		return false;
	if (!*t) {
		conf_err(c->x->p, at, "empty name in '%s'", c->key);
		return false;
	}
	if (!list_grow(c, (void **)&a->v, a->n, sizeof(char *), at))
		return false;
	d = strdup(t);
	if (!d) {
		conf_nomem(c->x->p, at);
		return false;
	}
	a->v[a->n++] = d;
	return true;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* f points at a char ** immediately followed (by layout) elsewhere;
 * k->uarg gives the offset of the count relative to f. */
bool p_strlist(struct sc *c, const struct kdef *k, void *f)
{
	struct slist_arg a = {NULL, 0};
	size_t *np = (size_t *)((char *)f + k->uarg);
	if (!for_list(c, slist_one, &a)) {
		strv_free(a.v, a.n);
		return false;
	}
	if (a.n == 0) {
		conf_err(c->x->p, &c->keyloc, "empty list in '%s'", c->key);
		return false;
	}
	strv_free(*(char ***)f, *np);
	*(char ***)f = a.v;
	*np = a.n;
	return true;
}

/* ---- identities ---- */

static const struct enumv idt_v[] = {
    {"ipaddr", CONF_ID_IPADDR},
    {"email", CONF_ID_EMAIL},
    {"fqdn", CONF_ID_FQDN},
    {"keyid", CONF_ID_KEYID},
    {"x509_subject", CONF_ID_X509_SUBJECT},
};
static const struct enumdef idt_e = {idt_v, 5};

static bool id_one(struct sc *c, void *arg)
{
	struct conf_id_list *l = arg;
	struct conf_id id = {0};
	struct kdef k = {0};
	const struct item *vi;
	int t;

	k.arg = &idt_e;
	if (!p_enum(c, &k, &t))
		return false;
	id.type = (enum conf_id_type)t;
	if (sc_is_word(c, "file") || sc_is_word(c, "tag")) {
		const struct item *q = sc_next(c);
		if (id.type != CONF_ID_KEYID) {
			conf_err(c->x->p, &q->loc,
				 "'%s' qualifier is only "
				 "valid with keyid",
				 q->text);
			return false;
		}
		id.qual =
		    strcmp(q->text, "file") == 0 ? CONF_IDQ_FILE : CONF_IDQ_TAG;
	}
	vi = sc_peek(c);
	if (!sc_text(c, "an identity value"))
		return false;
	if (!*vi->text) {
		conf_err(c->x->p, &vi->loc, "empty identity in '%s'", c->key);
		return false;
	}
	if (id.type == CONF_ID_IPADDR) {
		struct conf_addr a;
		char err[200];
		if (conf_addr_parse(vi->text, &a, err, sizeof(err)) < 0 ||
		    a.kind != CONF_ADDR_IP || a.has_plen) {
			free(a.name);
			conf_err(c->x->p, &vi->loc,
				 "ipaddr identity '%s' is "
				 "not an IP address",
				 vi->text);
			return false;
		}
	}
	if (id.type == CONF_ID_EMAIL && !strchr(vi->text, '@'))
		conf_warn(c->x->p, &vi->loc, "email identity '%s' has no '@'",
			  vi->text);
	if (!list_grow(c, (void **)&l->v, l->n, sizeof(id), &vi->loc))
		return false;
	id.value = strdup(vi->text);
	if (!id.value) {
		conf_nomem(c->x->p, &vi->loc);
		return false;
	}
	l->v[l->n++] = id;
	return true;
}

static void idlist_free(struct conf_id_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].value);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool p_idlist(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_id_list l = {NULL, 0};
	(void)k;
	if (!for_list(c, id_one, &l) || l.n == 0) {
		idlist_free(&l);
		return false;
	}
	idlist_free(f);
	*(struct conf_id_list *)f = l;
	return true;
}

/* ---- public keys ---- */

static const struct enumv keyf_v[] = {
    {"x509pem", CONF_KEYF_X509PEM},
    {"pkcs12", CONF_KEYF_PKCS12},
    {"ascii", CONF_KEYF_ASCII},
};
static const struct enumdef keyf_e = {keyf_v, 3};

bool p_pubkey(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_pubkey pk = {0};
	struct kdef ek = {0};
	const char *pub, *priv = NULL;
	int fmt;

	ek.arg = &keyf_e;
	if (!p_enum(c, &ek, &fmt))
		return false;
	pub = sc_text(c, "a public key file");
	if (!pub)
		return false;
	if (sc_peek(c)) {
		priv = sc_text(c, "a private key file");
		if (!priv)
			return false;
	} else if (k->uarg) {
		sc_expected(c, "a private key file");
		return false;
	}
	pk.format = (enum conf_key_format)fmt;
	pk.pub = strdup(pub);
	/* peers_public_key: racoon2 accepted (and ignored) a 2nd file */
	if (k->uarg && priv)
		pk.priv = strdup(priv);
	if (!pk.pub || (k->uarg && priv && !pk.priv)) {
		free(pk.pub);
		free(pk.priv);
		conf_nomem(c->x->p, &c->keyloc);
		return false;
	}
	free(((struct conf_pubkey *)f)->pub);
	free(((struct conf_pubkey *)f)->priv);
	*(struct conf_pubkey *)f = pk;
	return true;
}

/* ---- scripts ---- */

static const struct enumv script_v[] = {
    {"phase1_up", CONF_SCRIPT_PHASE1_UP},
    {"phase1_down", CONF_SCRIPT_PHASE1_DOWN},
    {"phase1_rekey", CONF_SCRIPT_PHASE1_REKEY},
    {"phase2_up", CONF_SCRIPT_PHASE2_UP},
    {"phase2_down", CONF_SCRIPT_PHASE2_DOWN},
    {"phase2_rekey", CONF_SCRIPT_PHASE2_REKEY},
    {"migration", CONF_SCRIPT_MIGRATION},
    {"ike_sa_up", CONF_SCRIPT_PHASE1_UP},
    {"ike_sa_down", CONF_SCRIPT_PHASE1_DOWN},
    {"ike_sa_rekey", CONF_SCRIPT_PHASE1_REKEY},
    {"child_up", CONF_SCRIPT_PHASE2_UP},
    {"child_down", CONF_SCRIPT_PHASE2_DOWN},
    {"child_rekey", CONF_SCRIPT_PHASE2_REKEY},
};
static const struct enumdef script_e = {script_v, 13};

static bool script_one(struct sc *c, void *arg)
{
	char **v = arg;
	struct kdef k = {0};
	const char *path;
	int t;

	k.arg = &script_e;
	if (!p_enum(c, &k, &t))
		return false;
	if (v[t]) {
		conf_err(c->x->p, &c->s->items[c->i - 1].loc,
			 "script '%s' given twice", conf_script_name(t));
		return false;
	}
	path = sc_text(c, "a script path");
	if (!path)
		return false;
	if (!*path) {
		conf_err(c->x->p, &c->s->items[c->i - 1].loc,
			 "empty script path");
		return false;
	}
	v[t] = strdup(path);
	if (!v[t])
		conf_nomem(c->x->p, &c->keyloc);
	return v[t] != NULL;
}

bool p_script(struct sc *c, const struct kdef *k, void *f)
{
	char *v[CONF_SCRIPT_COUNT] = {0};
	char **dst = f;
	bool ok = for_list(c, script_one, v);
	(void)k;
	for (int i = 0; i < CONF_SCRIPT_COUNT; i++) {
		if (ok) {
			free(dst[i]);
			dst[i] = v[i];
		} else {
			free(v[i]);
		}
	}
	return ok;
}

/* ---- request / provide (IKEv2 configuration payload) ---- */

static const struct enumv req_v[] = {
    {"ip4", CONF_REQ_IP4_ADDRESS},
    {"ip6", CONF_REQ_IP6_ADDRESS},
    {"ip", CONF_REQ_IP4_ADDRESS | CONF_REQ_IP6_ADDRESS},
    {"ip4_dns", CONF_REQ_IP4_DNS},
    {"ip6_dns", CONF_REQ_IP6_DNS},
    {"dns", CONF_REQ_IP4_DNS | CONF_REQ_IP6_DNS},
    {"ip4_dhcp", CONF_REQ_IP4_DHCP},
    {"ip6_dhcp", CONF_REQ_IP6_DHCP},
    {"dhcp", CONF_REQ_IP4_DHCP | CONF_REQ_IP6_DHCP},
    {"application_version", CONF_REQ_APPLICATION_VERSION},
    {"mip6_home_prefix", CONF_REQ_MIP6_HOME_PREFIX},
};
static const struct enumdef req_e = {req_v, 11};

static bool req_one(struct sc *c, void *arg)
{
	struct kdef k = {0};
	int v;
	k.arg = &req_e;
	if (!p_enum(c, &k, &v))
		return false;
	*(unsigned *)arg |= (unsigned)v;
	return true;
}

bool p_request(struct sc *c, const struct kdef *k, void *f)
{
	unsigned bits = 0;
	const struct item *it = sc_peek(c);
	(void)k;
	if (!it || it->kind != I_BLOCK) {
		sc_expected(c, "'{'");
		return false;
	}
	if (!for_list(c, req_one, &bits))
		return false;
	*(unsigned *)f = bits;
	return true;
}

static const struct kdef provide_tab[] = {
    {"addresspool", NULL, 0, 1, p_str, d_str,
     offsetof(struct conf_provide, addresspool_name), NULL, 1},
    {"dns", NULL, 1, 1, p_addrlist, d_addrlist,
     offsetof(struct conf_provide, dns), NULL, 0},
    {"dhcp", NULL, 2, 1, p_addrlist, d_addrlist,
     offsetof(struct conf_provide, dhcp), NULL, 0},
    {"application_version", NULL, 3, 1, p_str, d_str,
     offsetof(struct conf_provide, application_version), NULL, 0},
    {"mip6_home_prefix", NULL, 4, 1, p_addrlist, d_addrlist,
     offsetof(struct conf_provide, mip6_home_prefix), NULL, AF_PREFIXOK},
};

bool p_provide(struct sc *c, const struct kdef *k, void *f)
{
	const struct item *it = sc_peek(c);
	uint64_t set = 0;
	struct conf_loc locs[NLOCS];
	unsigned before = c->x->p->diag->nerrors;
	(void)k;
	if (!it || it->kind != I_BLOCK) {
		sc_expected(c, "'{'");
		return false;
	}
	c->i++;
	conf_provide_free(f);
	interp_block(c->x, it->block, provide_tab,
		     sizeof(provide_tab) / sizeof(provide_tab[0]), 1,
		     "provide block", f, &set, locs, NLOCS, false, -1);
	return c->x->p->diag->nerrors == before || c->x->p->quiet;
}

/* ---- selector upper_layer_protocol ---- */

static const struct {
	const char *name;
	int proto;
} protos[] = {
    {"any", CONF_PROTO_ANY},
    {"icmp", 1},
    {"igmp", 2},
    {"ipencap", 4},
    {"ipip", 4},
    {"tcp", 6},
    {"udp", 17},
    {"ipv6", 41},
    {"gre", 47},
    {"esp", 50},
    {"ah", 51},
    {"icmp6", 58},
    {"ipv6-icmp", 58},
    {"ospf", 89},
    {"ipcomp", 108},
    {"sctp", 132},
    {"mh", 135},
    {"ipv6-mh", 135},
    {"udplite", 136},
};

bool conf_proto_by_name(const char *name, int *proto)
{
	uint64_t v;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(protos[i].name, name) == 0) {
			*proto = protos[i].proto;
			return true;
		}
	}
	if (parse_u64(name, &v)) {
		if (v > 255)
			return false;
		*proto = (int)v;
		return true;
	}
	return false;
}

bool p_ulproto(struct sc *c, const struct kdef *k, void *f)
{
	struct conf_selector *s = f;
	const struct item *it = sc_peek(c);
	int proto;
	uint64_t v;
	(void)k;

	if (!sc_text(c, "a protocol name or number"))
		return false;
	if (!conf_proto_by_name(it->text, &proto)) {
		struct protoent *pe = NULL;
		if (!(c->x->p->flags & CONF_LOAD_NO_ENV))
			pe = getprotobyname(it->text);
		if (!pe) {
			conf_err(c->x->p, &it->loc,
				 "unknown protocol '%s' in"
				 " upper_layer_protocol",
				 it->text);
			return false;
		}
		proto = pe->p_proto;
	}
	s->upper_layer_protocol = proto;
	free(s->upper_layer_name);
	s->upper_layer_name = strdup(it->text);
	if (!s->upper_layer_name) {
		conf_nomem(c->x->p, &it->loc);
		return false;
	}
	s->ul_type = s->ul_code = -1;
	if (sc_peek(c)) {
		const struct conf_loc *at = sc_where(c);
		if (proto != 1 && proto != 58 && proto != 135) {
			conf_err(c->x->p, at,
				 "a type/code is only valid with "
				 "icmp, icmp6 or mh");
			return false;
		}
		if (!sc_number(c, "a type", &v))
			return false;
		if (v > 255) {
			conf_err(c->x->p, at, "type %llu out of range (0..255)",
				 (unsigned long long)v);
			return false;
		}
		s->ul_type = (int)v;
		if (sc_peek(c)) {
			at = sc_where(c);
			if (!sc_number(c, "a code", &v))
				return false;
			if (v > 255) {
				conf_err(c->x->p, at,
					 "code %llu out of range "
					 "(0..255)",
					 (unsigned long long)v);
				return false;
			}
			s->ul_code = (int)v;
		}
	}
	return true;
}
