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
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf_int.h"
#include "conf/interp.h"
#include "lib/filesrc.h"
#include "lib/util.h"

/*
 * Key locations of one block, indexed by kdef.id, in an array of NLOCS
 * (remote, KMP, interface: many keys) or NLOCS_OBJ (selector, policy,
 * ipsec, sa: there can be very many of them, so keep them small).  The
 * last entry is a flag: locs[BAD(n)].line != 0 means the block had
 * errors, so "required" checks are skipped.
 */
#define NLOCS	   64
#define NLOCS_OBJ  16
#define BAD(nlocs) ((nlocs)-1)
#define LOC_BAD	   BAD(NLOCS)
#define OBJ_BAD	   BAD(NLOCS_OBJ)
_Static_assert(CK_COUNT < NLOCS && CP_COUNT < NLOCS_OBJ &&
		   CI_COUNT < NLOCS_OBJ && CS_COUNT < NLOCS_OBJ,
	       "a key id would overwrite the error flag");

struct rlocs {
	struct conf_loc top[NLOCS];
	struct conf_loc kmp[3][NLOCS];
};

/* The kinds that are one flat block of keys, handled alike by flat_kinds. */
enum { FLAT_POLICY, FLAT_IPSEC, FLAT_SA, FLAT_COUNT };

struct ictx {
	struct pctx *p;
	struct conf *c;
	/* default { } sub-blocks, NULL when absent */
	const struct block *def_remote, *def_kmp[3], *def_flat[FLAT_COUNT];
	struct conf_loc def_loc;
	struct rlocs *cur_rlocs;
	/* key locations per object, parallel to the conf arrays */
	struct rlocs **rl;
	struct conf_loc **sl, **fl[FLAT_COUNT];
	struct conf_loc iflocs[NLOCS];
	struct rlocs def_rl;
	struct conf_loc def_fl[FLAT_COUNT][NLOCS];
	/* files already checked (PSK / keys), to report once */
	char **checked;
	size_t nchecked;
	struct conf_names checked_idx; /* path -> index in checked */
	/* name index per kind: the one in the conf_full being built */
	struct conf_names *names;
	/* the kind went over conf_max_objects (reported once) */
	bool over[NK_COUNT];
};

/* ------------------------------------------------------------------ */
/* statement cursor and scalar parsers                                 */
/* ------------------------------------------------------------------ */

static const struct item *sc_peek(struct sc *c)
{
	return c->i < c->s->n ? &c->s->items[c->i] : NULL;
}

static const struct item *sc_next(struct sc *c)
{
	const struct item *it = sc_peek(c);
	if (it)
		c->i++;
	return it;
}

static const char *item_desc(const struct item *it)
{
	switch (it->kind) {
	case I_COMMA:
		return "','";
	case I_BLOCK:
		return "'{'";
	default:
		return it->text;
	}
}

/* Location for "expected X": the next item, else the key. */
static const struct conf_loc *sc_where(struct sc *c)
{
	const struct item *it = sc_peek(c);
	return it ? &it->loc : &c->keyloc;
}

static void sc_expected(struct sc *c, const char *what)
{
	const struct item *it = sc_peek(c);
	if (it && (it->kind == I_WORD || it->kind == I_STRING))
		conf_err(c->x->p, &it->loc, "expected %s after '%s', got '%s'",
			 what, c->key, it->text);
	else if (it)
		conf_err(c->x->p, &it->loc, "expected %s after '%s', got %s",
			 what, c->key, item_desc(it));
	else
		conf_err(c->x->p, &c->keyloc, "expected %s after '%s'", what,
			 c->key);
}

/* A word or a quoted string. */
static const char *sc_text(struct sc *c, const char *what)
{
	const struct item *it = sc_peek(c);
	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, what);
		return NULL;
	}
	c->i++;
	return it->text;
}

static bool sc_is_word(struct sc *c, const char *w)
{
	const struct item *it = sc_peek(c);
	return it && it->kind == I_WORD && strcmp(it->text, w) == 0;
}

static bool sc_end(struct sc *c)
{
	const struct item *it = sc_peek(c);
	if (!it)
		return true;
	conf_err(c->x->p, &it->loc,
		 "unexpected %s%s%s after the value of '%s' (missing ';'?)",
		 it->kind == I_WORD || it->kind == I_STRING ? "'" : "",
		 item_desc(it),
		 it->kind == I_WORD || it->kind == I_STRING ? "'" : "", c->key);
	return false;
}

/* Decimal or 0x hex, no sign, overflow checked. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool sc_number(struct sc *c, const char *what, uint64_t *v)
{
	const struct item *it = sc_peek(c);
	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, what);
		return false;
	}
	if (!parse_u64(it->text, v)) {
		bool digits = it->text[0] >= '0' && it->text[0] <= '9';
		conf_err(c->x->p, &it->loc, "%s '%s' for '%s'",
			 digits ? "number out of range or malformed"
				: "expected a number, got",
			 it->text, c->key);
		return false;
	}
	c->i++;
	return true;
}

static bool p_bool(struct sc *c, const struct kdef *k, void *f)
{
	static const char *const on[] = {"on", "yes", "enable"};
	static const char *const off[] = {"off", "no", "disable"};
	const char *t = sc_text(c, "on or off");
	(void)k;
	if (!t)
		return false;
	for (int i = 0; i < 3; i++) {
		if (strcmp(t, on[i]) == 0) {
			*(bool *)f = true;
			return true;
		}
		if (strcmp(t, off[i]) == 0) {
			*(bool *)f = false;
			return true;
		}
	}
	c->i--;
	sc_expected(c, "on or off");
	return false;
}

static const struct {
	const char *name;
	uint64_t mul;
} time_units[] =
    {
	{"sec", 1},	{"secs", 1},	 {"second", 1},	 {"seconds", 1},
	{"min", 60},	{"mins", 60},	 {"minute", 60}, {"minutes", 60},
	{"hour", 3600}, {"hours", 3600}, {"day", 86400}, {"days", 86400},
},
  byte_units[] = {
      {"B", 1},	    {"byte", 1},	 {"bytes", 1},
      {"KB", 1024}, {"MB", 1024 * 1024}, {"GB", 1024ull * 1024 * 1024},
};

static bool p_scaled(struct sc *c, uint64_t *out, bool time)
{
	uint64_t v, mul = 1;
	const struct item *u;
	size_t n = time ? sizeof(time_units) / sizeof(time_units[0])
			: sizeof(byte_units) / sizeof(byte_units[0]);

	if (sc_is_word(c, "infinite")) {
		c->i++;
		*out = 0;
		return true;
	}
	if (!sc_number(c,
		       time ? "a time (e.g. 30 sec, infinite)"
			    : "a size (e.g. 100 KB, infinite)",
		       &v))
		return false;
	u = sc_peek(c);
	if (u && u->kind == I_WORD) {
		bool found = false;
		for (size_t i = 0; i < n; i++) {
			const char *un =
			    time ? time_units[i].name : byte_units[i].name;
			if (strcmp(u->text, un) == 0) {
				mul = time ? time_units[i].mul
					   : byte_units[i].mul;
				found = true;
				break;
			}
		}
		if (!found) {
			sc_expected(c, time ? "a time unit (sec, min, hour, "
					      "day)"
					    : "a size unit (B, KB, MB, GB)");
			return false;
		}
		c->i++;
	}
	if (mul && v > UINT64_MAX / mul) {
		conf_err(c->x->p, &c->keyloc, "value of '%s' is too large",
			 c->key);
		return false;
	}
	*out = v * mul;
	return true;
}

static bool p_time(struct sc *c, const struct kdef *k, void *f)
{
	(void)k;
	return p_scaled(c, f, true);
}

static bool p_bytes(struct sc *c, const struct kdef *k, void *f)
{
	(void)k;
	return p_scaled(c, f, false);
}

static bool p_u32(struct sc *c, const struct kdef *k, void *f)
{
	uint64_t v;
	const struct u32range *r = k->arg;
	const struct conf_loc *at = sc_where(c);

	if (!sc_number(c, "a number", &v))
		return false;
	if (r && (v < r->min || v > r->max)) {
		conf_err(c->x->p, at,
			 "value %llu of '%s' is out of range "
			 "(%u..%u)",
			 (unsigned long long)v, c->key, r->min, r->max);
		return false;
	}
	if (!r && v > UINT32_MAX) {
		conf_err(c->x->p, at, "value of '%s' is out of range", c->key);
		return false;
	}
	*(uint32_t *)f = (uint32_t)v;
	return true;
}

static bool p_str(struct sc *c, const struct kdef *k, void *f)
{
	const char *t = sc_text(c, k->uarg ? "a name" : "a string");
	char *d;
	if (!t)
		return false;
	if (k->uarg && !*t) {
		conf_err(c->x->p, &c->s->items[c->i - 1].loc,
			 "empty name after '%s'", c->key);
		return false;
	}
	d = strdup(t);
	if (!d) {
		conf_nomem(c->x->p, &c->s->items[c->i - 1].loc);
		return false;
	}
	free(*(char **)f);
	*(char **)f = d;
	return true;
}

static bool p_enum(struct sc *c, const struct kdef *k, void *f)
{
	const struct enumdef *e = k->arg;
	const char *t = sc_text(c, "a value");
	char list[256];
	size_t n = 0;

	if (!t)
		return false;
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(t, e->v[i].name) == 0) {
			*(int *)f = e->v[i].val;
			return true;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < e->n && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? (i + 1 == e->n ? " or " : ", ") : "",
				      e->v[i].name);
	c->i--;
	sc_expected(c, list);
	return false;
}

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
 * built only by grow(), starting from NULL.  Appending is amortised
 * O(1); counts are bounded by the callers' CONF_MAX_* checks, not here.
 */
static bool grow(void **v, size_t n, size_t sz)
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
 * grow() for the values of one key, with the list limit.  Reports the
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
	if (!grow(v, n, sz)) {
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

static bool p_addrlist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_addr(struct sc *c, const struct kdef *k, void *f)
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

static bool p_alglist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_authlist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_kmplist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_exmode(struct sc *c, const struct kdef *k, void *f)
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
static bool p_strlist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_idlist(struct sc *c, const struct kdef *k, void *f)
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

static bool p_pubkey(struct sc *c, const struct kdef *k, void *f)
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

static bool p_script(struct sc *c, const struct kdef *k, void *f)
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

static bool p_request(struct sc *c, const struct kdef *k, void *f)
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

static void interp_block(struct ictx *x, const struct block *b,
			 const struct kdef *tab, size_t ntab, unsigned ctx,
			 const char *what, void *base, uint64_t *set,
			 struct conf_loc *locs, size_t nlocs, bool inherit,
			 int only);

static bool p_provide(struct sc *c, const struct kdef *k, void *f)
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

static bool p_ulproto(struct sc *c, const struct kdef *k, void *f)
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

/* ------------------------------------------------------------------ */
/* key tables                                                          */
/* ------------------------------------------------------------------ */

#define X1    CTX_IKEV1
#define X2    CTX_IKEV2
#define XK    CTX_KINK
#define XA    (X1 | X2 | XK)
#define KO(f) offsetof(struct conf_kmp_params, f)

static const struct enumv logmode_v[] = {{"normal", CONF_LOGMODE_NORMAL},
					 {"debug", CONF_LOGMODE_DEBUG}};
static const struct enumdef logmode_e = {logmode_v, 2};
static const struct enumv selchk_v[] = {{"obey", CONF_CHECK_OBEY},
					{"exact", CONF_CHECK_EXACT}};
static const struct enumdef selchk_e = {selchk_v, 2};
static const struct enumv propchk_v[] = {
    {"obey", CONF_CHECK_OBEY},
    {"strict", CONF_CHECK_STRICT},
    {"claim", CONF_CHECK_CLAIM},
    {"exact", CONF_CHECK_EXACT},
};
static const struct enumdef propchk_e = {propchk_v, 4};
static const struct enumv mob_v[] = {{"agent", CONF_MOB_AGENT},
				     {"mobile", CONF_MOB_MOBILE},
				     {"correspondent", CONF_MOB_CORRESPONDENT}};
static const struct enumdef mob_e = {mob_v, 3};
static const struct u32range r_any = {0, UINT32_MAX};
static const struct u32range r_retry = {0, 1000};

#define PEER_AF (AF_RWOK | AF_ANYOK | AF_NAMEOK | AF_PORTOK)

const struct kdef conf_kmp_tab[] = {
    {"logmode", NULL, CK_LOGMODE, XA, p_enum, d_enum, KO(logmode), &logmode_e,
     0},
    {"logfile", NULL, CK_LOGFILE, XA, p_str, d_str, KO(logfile), NULL, 0},
    {"passive", NULL, CK_PASSIVE, XA, p_bool, d_bool, KO(passive), NULL, 0},
    {"use_coa", NULL, CK_USE_COA, XA, p_bool, d_bool, KO(use_coa), NULL, 0},
    {"peers_ipaddr", NULL, CK_PEERS_IPADDR, XA, p_addrlist, d_addrlist,
     KO(peers_ipaddr), NULL, PEER_AF},
    {"peers_kmp_port", NULL, CK_PEERS_KMP_PORT, XA, p_str, d_str,
     KO(peers_kmp_port), NULL, 1},
    {"verify_id", NULL, CK_VERIFY_ID, XA, p_bool, d_bool, KO(verify_id), NULL,
     0},
    {"verify_pubkey", NULL, CK_VERIFY_PUBKEY, XA, p_bool, d_bool,
     KO(verify_pubkey), NULL, 0},
    {"send_cert", NULL, CK_SEND_CERT, XA, p_bool, d_bool, KO(send_cert), NULL,
     0},
    {"send_cert_req", NULL, CK_SEND_CERT_REQ, XA, p_bool, d_bool,
     KO(send_cert_req), NULL, 0},
    {"nonce_size", NULL, CK_NONCE_SIZE, XA, p_bytes, d_bytes, KO(nonce_size),
     NULL, 0},
    {"initial_contact", NULL, CK_INITIAL_CONTACT, XA, p_bool, d_bool,
     KO(initial_contact), NULL, 0},
    {"support_proxy", NULL, CK_SUPPORT_PROXY, XA, p_bool, d_bool,
     KO(support_proxy), NULL, 0},
    {"nat_traversal", NULL, CK_NAT_TRAVERSAL, XA, p_bool, d_bool,
     KO(nat_traversal), NULL, 0},
    {"nat_keepalive_interval", NULL, CK_NAT_KEEPALIVE, XA, p_time, d_time,
     KO(nat_keepalive), NULL, 0},
    {"my_id", NULL, CK_MY_ID, XA, p_idlist, d_idlist, KO(my_id), NULL, 0},
    {"peers_id", NULL, CK_PEERS_ID, XA, p_idlist, d_idlist, KO(peers_id), NULL,
     0},
    {"selector_check", NULL, CK_SELECTOR_CHECK, XA, p_enum, d_enum,
     KO(selector_check), &selchk_e, 0},
    {"proposal_check", NULL, CK_PROPOSAL_CHECK, XA, p_enum, d_enum,
     KO(proposal_check), &propchk_e, 0},
    {"random_pad_content", NULL, CK_RANDOM_PAD_CONTENT, XA, p_bool, d_bool,
     KO(random_pad_content), NULL, 0},
    {"random_padlen", "padlen_random", CK_RANDOM_PADLEN, XA, p_bool, d_bool,
     KO(random_padlen), NULL, 0},
    {"max_padlen", NULL, CK_MAX_PADLEN, XA, p_bytes, d_bytes, KO(max_padlen),
     NULL, 0},
    {"max_retry_to_send", NULL, CK_MAX_RETRY_TO_SEND, XA, p_u32, d_u32,
     KO(max_retry_to_send), &r_retry, 0},
    {"interval_to_send", NULL, CK_INTERVAL_TO_SEND, XA, p_time, d_time,
     KO(interval_to_send), NULL, 0},
    {"times_per_send", NULL, CK_TIMES_PER_SEND, XA, p_u32, d_u32,
     KO(times_per_send), &r_retry, 0},
    {"kmp_sa_lifetime_time", NULL, CK_KMP_SA_LIFETIME_TIME, XA, p_time, d_time,
     KO(kmp_sa_lifetime_time), NULL, 0},
    {"kmp_sa_lifetime_byte", NULL, CK_KMP_SA_LIFETIME_BYTE, XA, p_bytes,
     d_bytes, KO(kmp_sa_lifetime_byte), NULL, 0},
    {"kmp_sa_nego_time_limit", NULL, CK_KMP_SA_NEGO_TIME_LIMIT, XA, p_time,
     d_time, KO(kmp_sa_nego_time_limit), NULL, 0},
    {"kmp_sa_grace_period", NULL, CK_KMP_SA_GRACE_PERIOD, XA, p_time, d_time,
     KO(kmp_sa_grace_period), NULL, 0},
    {"ipsec_sa_nego_time_limit", NULL, CK_IPSEC_SA_NEGO_TIME_LIMIT, XA, p_time,
     d_time, KO(ipsec_sa_nego_time_limit), NULL, 0},
    {"kmp_enc_alg", NULL, CK_KMP_ENC_ALG, XA, p_alglist, d_alglist,
     KO(kmp_enc_alg), NULL, CONF_SLOT_KMP_ENC},
    {"kmp_hash_alg", NULL, CK_KMP_HASH_ALG, XA, p_alglist, d_alglist,
     KO(kmp_hash_alg), NULL, CONF_SLOT_KMP_HASH},
    {"kmp_prf_alg", NULL, CK_KMP_PRF_ALG, XA, p_alglist, d_alglist,
     KO(kmp_prf_alg), NULL, CONF_SLOT_KMP_PRF},
    {"kmp_auth_method", NULL, CK_KMP_AUTH_METHOD, XA, p_authlist, d_authlist,
     KO(kmp_auth_method), NULL, 0},
    {"kmp_dh_group", NULL, CK_KMP_DH_GROUP, XA, p_alglist, d_alglist,
     KO(kmp_dh_group), NULL, CONF_SLOT_KMP_DH},
    {"mobility_role", NULL, CK_MOBILITY_ROLE, XA, p_enum, d_enum,
     KO(mobility_role), &mob_e, 0},
    {"script", NULL, CK_SCRIPT, XA, p_script, d_script, KO(script), NULL, 0},
    {"exchange_mode", NULL, CK_EXCHANGE_MODE, X1, p_exmode, d_exmode,
     KO(exchange_mode), NULL, 0},
    {"my_gssapi_id", NULL, CK_MY_GSSAPI_ID, X1, p_str, d_str, KO(my_gssapi_id),
     NULL, 0},
    {"need_pfs", NULL, CK_NEED_PFS, XA, p_bool, d_bool, KO(need_pfs), NULL, 0},
    {"my_public_key", NULL, CK_MY_PUBLIC_KEY, X1 | X2, p_pubkey, d_pubkey,
     KO(my_public_key), NULL, 1},
    {"peers_public_key", NULL, CK_PEERS_PUBLIC_KEY, X1 | X2, p_pubkey, d_pubkey,
     KO(peers_public_key), NULL, 0},
    {"pre_shared_key", NULL, CK_PRE_SHARED_KEY, X1 | X2, p_str, d_str,
     KO(pre_shared_key), NULL, 1},
    {"dpd", NULL, CK_DPD, X1, p_bool, d_bool, KO(dpd), NULL, 0},
    {"dpd_delay", NULL, CK_DPD_DELAY, XA, p_time, d_time, KO(dpd_delay), NULL,
     0},
    {"dpd_retry", NULL, CK_DPD_RETRY, X1, p_time, d_time, KO(dpd_retry), NULL,
     0},
    {"dpd_maxfail", NULL, CK_DPD_MAXFAIL, X1, p_u32, d_u32, KO(dpd_maxfail),
     &r_retry, 0},
    {"cookie_required", NULL, CK_COOKIE_REQUIRED, X2, p_bool, d_bool,
     KO(cookie_required), NULL, 0},
    {"send_peers_id", NULL, CK_SEND_PEERS_ID, X2, p_bool, d_bool,
     KO(send_peers_id), NULL, 0},
    {"request", NULL, CK_REQUEST, X2, p_request, d_request, KO(request), NULL,
     0},
    {"provide", NULL, CK_PROVIDE, X2, p_provide, d_provide, KO(provide), NULL,
     0},
    {"my_principal", NULL, CK_MY_PRINCIPAL, XK, p_str, d_str, KO(my_principal),
     NULL, 1},
    {"peers_principal", NULL, CK_PEERS_PRINCIPAL, XK, p_str, d_str,
     KO(peers_principal), NULL, 1},
};
const size_t conf_kmp_ntab = sizeof(conf_kmp_tab) / sizeof(conf_kmp_tab[0]);

static bool p_kmpblock(struct sc *c, const struct kdef *k, void *f)
{
	const struct item *it = sc_peek(c);
	struct conf_kmp_params *kp = f;
	int idx = k->uarg == X1 ? 0 : k->uarg == X2 ? 1 : 2;

	if (!it || it->kind != I_BLOCK) {
		sc_expected(c, "'{'");
		return false;
	}
	c->i++;
	kp->present = true;
	kp->loc = c->keyloc;
	interp_block(c->x, it->block, conf_kmp_tab, conf_kmp_ntab, k->uarg,
		     k->name, kp, &kp->set, c->x->cur_rlocs->kmp[idx], NLOCS,
		     false, -1);
	return c->x->cur_rlocs->kmp[idx][LOC_BAD].line == 0;
}

#define RO(f) offsetof(struct conf_remote, f)
enum { RK_ACCEPTABLE_KMP, RK_SELECTOR_INDEX, RK_IKEV1, RK_IKEV2, RK_KINK };

const struct kdef conf_remote_tab[] = {
    {"acceptable_kmp", NULL, RK_ACCEPTABLE_KMP, 1, p_kmplist, NULL, 0, NULL, 0},
    {"selector_index", NULL, RK_SELECTOR_INDEX, 1, p_str, NULL,
     RO(selector_name), NULL, 1},
    {"ikev1", NULL, RK_IKEV1, 1, p_kmpblock, NULL, RO(ikev1), NULL, X1},
    {"ikev2", NULL, RK_IKEV2, 1, p_kmpblock, NULL, RO(ikev2), NULL, X2},
    {"kink", NULL, RK_KINK, 1, p_kmpblock, NULL, RO(kink), NULL, XK},
};
static const size_t remote_ntab =
    sizeof(conf_remote_tab) / sizeof(conf_remote_tab[0]);

#define SO(f) offsetof(struct conf_selector, f)
static const struct enumv dir_v[] = {{"outbound", CONF_DIR_OUTBOUND},
				     {"inbound", CONF_DIR_INBOUND}};
static const struct enumdef dir_e = {dir_v, 2};
static const struct u32range r_reqid = {1, UINT32_MAX};
#define SEL_AF (AF_ANYOK | AF_MACROOK | AF_NAMEOK | AF_PREFIXOK | AF_PORTOK)
enum {
	SK_ORDER,
	SK_DIRECTION,
	SK_SRC,
	SK_DST,
	SK_ULP,
	SK_NHI,
	SK_TAGGED,
	SK_POLICY_INDEX,
	SK_REQID
};
_Static_assert(SK_REQID < OBJ_BAD, "selector key ids must fit NLOCS_OBJ");

const struct kdef conf_selector_tab[] = {
    {"order", NULL, SK_ORDER, 1, p_u32, d_u32, SO(order), &r_any, 0},
    {"direction", NULL, SK_DIRECTION, 1, p_enum, d_enum, SO(direction), &dir_e,
     0},
    {"src", NULL, SK_SRC, 1, p_addr, d_addr, SO(src), NULL, SEL_AF},
    {"dst", NULL, SK_DST, 1, p_addr, d_addr, SO(dst), NULL, SEL_AF},
    {"upper_layer_protocol", NULL, SK_ULP, 1, p_ulproto, d_ulproto, 0, NULL, 0},
    {"next_header_including", NULL, SK_NHI, 1, p_strlist, d_strlist,
     SO(next_header_including), NULL,
     SO(n_next_header_including) - SO(next_header_including)},
    {"tagged", NULL, SK_TAGGED, 1, p_str, d_str, SO(tagged), NULL, 1},
    {"policy_index", NULL, SK_POLICY_INDEX, 1, p_str, d_str, SO(policy_name),
     NULL, 1},
    {"reqid", NULL, SK_REQID, 1, p_u32, d_u32, SO(reqid), &r_reqid, 0},
};
const size_t conf_selector_ntab =
    sizeof(conf_selector_tab) / sizeof(conf_selector_tab[0]);

#define PO(f) offsetof(struct conf_policy, f)
static const struct enumv action_v[] = {
    {"auto_ipsec", CONF_ACTION_AUTO_IPSEC},
    {"static_ipsec", CONF_ACTION_STATIC_IPSEC},
    {"discard", CONF_ACTION_DISCARD},
    {"none", CONF_ACTION_NONE},
    {"bypass", CONF_ACTION_NONE},
};
static const struct enumdef action_e = {action_v, 5};
static const struct enumv mode_v[] = {{"transport", CONF_MODE_TRANSPORT},
				      {"tunnel", CONF_MODE_TUNNEL}};
static const struct enumdef mode_e = {mode_v, 2};
static const struct enumv level_v[] = {{"require", CONF_LEVEL_REQUIRE},
				       {"use", CONF_LEVEL_USE},
				       {"unique", CONF_LEVEL_UNIQUE}};
static const struct enumdef level_e = {level_v, 3};

const struct kdef conf_policy_tab[] = {
    {"action", NULL, CP_ACTION, 1, p_enum, d_enum, PO(action), &action_e, 0},
    {"install", NULL, CP_INSTALL, 1, p_bool, d_bool, PO(install), NULL, 0},
    {"remote_index", NULL, CP_REMOTE_INDEX, 1, p_str, d_str, PO(remote_name),
     NULL, 1},
    {"ipsec_index", NULL, CP_IPSEC_INDEX, 1, p_strlist, d_strlist,
     PO(ipsec_names), NULL, PO(nipsec) - PO(ipsec_names)},
    {"ipsec_mode", NULL, CP_IPSEC_MODE, 1, p_enum, d_enum, PO(ipsec_mode),
     &mode_e, 0},
    {"my_sa_ipaddr", NULL, CP_MY_SA_IPADDR, 1, p_addr, d_addr, PO(my_sa_ipaddr),
     NULL, AF_RWOK | AF_MACROOK | AF_NAMEOK},
    {"peers_sa_ipaddr", NULL, CP_PEERS_SA_IPADDR, 1, p_addr, d_addr,
     PO(peers_sa_ipaddr), NULL, AF_RWOK | AF_NAMEOK},
    {"ipsec_level", NULL, CP_IPSEC_LEVEL, 1, p_enum, d_enum, PO(ipsec_level),
     &level_e, 0},
};
const size_t conf_policy_ntab =
    sizeof(conf_policy_tab) / sizeof(conf_policy_tab[0]);

#define IO(f) offsetof(struct conf_ipsec, f)
static const struct u32range r_replay = {0, 4096};
const struct kdef conf_ipsec_tab[] = {
    {"ipsec_sa_lifetime_time", NULL, CI_LIFETIME_TIME, 1, p_time, d_time,
     IO(ipsec_sa_lifetime_time), NULL, 0},
    {"ipsec_sa_lifetime_byte", NULL, CI_LIFETIME_BYTE, 1, p_bytes, d_bytes,
     IO(ipsec_sa_lifetime_byte), NULL, 0},
    {"ext_sequence", NULL, CI_EXT_SEQUENCE, 1, p_bool, d_bool, IO(ext_sequence),
     NULL, 0},
    {"sa_index", NULL, CI_SA_INDEX, 1, p_strlist, d_strlist, IO(sa_names), NULL,
     IO(nsa) - IO(sa_names)},
    {"replay_window", NULL, CI_REPLAY_WINDOW, 1, p_u32, d_u32,
     IO(replay_window), &r_replay, 0},
};
const size_t conf_ipsec_ntab =
    sizeof(conf_ipsec_tab) / sizeof(conf_ipsec_tab[0]);

#define AO(f)	 offsetof(struct conf_sa, f)
#define C_ESP	 1u
#define C_AH	 2u
#define C_IPCOMP 4u
static const struct enumv saproto_v[] = {
    {"esp", CONF_SA_ESP}, {"ah", CONF_SA_AH}, {"ipcomp", CONF_SA_IPCOMP}};
static const struct enumdef saproto_e = {saproto_v, 3};
static const struct u32range r_spi = {256, UINT32_MAX};
const struct kdef conf_sa_tab[] = {
    {"sa_protocol", NULL, CS_SA_PROTOCOL, 7, p_enum, d_enum, AO(sa_protocol),
     &saproto_e, 0},
    {"esp_enc_alg", NULL, CS_ESP_ENC_ALG, C_ESP, p_alglist, d_alglist,
     AO(esp_enc_alg), NULL, CONF_SLOT_ESP_ENC},
    {"esp_auth_alg", NULL, CS_ESP_AUTH_ALG, C_ESP, p_alglist, d_alglist,
     AO(esp_auth_alg), NULL, CONF_SLOT_ESP_AUTH},
    {"ah_auth_alg", NULL, CS_AH_AUTH_ALG, C_AH, p_alglist, d_alglist,
     AO(ah_auth_alg), NULL, CONF_SLOT_AH_AUTH},
    {"ipcomp_alg", NULL, CS_IPCOMP_ALG, C_IPCOMP, p_alglist, d_alglist,
     AO(ipcomp_alg), NULL, CONF_SLOT_IPCOMP},
    /* RFC 4303 §2.1: SPIs 1-255 are reserved */
    {"spi", NULL, CS_SPI, 7, p_u32, d_u32, AO(spi), &r_spi, 0},
};
const size_t conf_sa_ntab = sizeof(conf_sa_tab) / sizeof(conf_sa_tab[0]);

#define FO(f) offsetof(struct conf_interface, f)
static const struct enumv kernel_v[] = {
    {"xfrm", CONF_KERNEL_XFRM},
    {"pfkey", CONF_KERNEL_PFKEY},
    {"userspace", CONF_KERNEL_USERSPACE},
};
static const struct enumdef kernel_e = {kernel_v, 3};
#define IF_AF (AF_ANYOK | AF_MACROOK | AF_PORTOK)
enum {
	FK_IKE,
	FK_KINK,
	FK_SPMD,
	FK_PASSWD,
	FK_BYPASS,
	FK_KERNEL,
	/* iked resource limits: keep in the order of ike_limits_set */
	FK_COOKIE,
	FK_HO_MAX,
	FK_HO_ADDR,
	FK_HO_PREFIX,
	FK_HO_TIMEOUT,
	FK_SA_PER_ID,
	FK_CHILD_PER_SA,
	FK_HO_RATE,
	FK_KSOCK,
};
static const struct u32range r_limit = {1, 1000000};
static const struct u32range r_cookie = {0, 1000000};
const struct kdef conf_iface_tab[] = {
    {"ike", NULL, FK_IKE, 1, p_addrlist, d_addrlist, FO(ike), NULL, IF_AF},
    {"kink", NULL, FK_KINK, 1, p_addrlist, d_addrlist, FO(kink), NULL, IF_AF},
    {"spmd", NULL, FK_SPMD, 1, p_addrlist, d_addrlist, FO(spmd), NULL,
     IF_AF | AF_UNIXOK},
    {"spmd_password", NULL, FK_PASSWD, 1, p_str, d_str, FO(spmd_password), NULL,
     1},
    {"application_bypass", NULL, FK_BYPASS, 1, p_bool, d_bool,
     FO(application_bypass), NULL, 0},
    {"kernel", NULL, FK_KERNEL, 1, p_enum, d_enum, FO(kernel), &kernel_e, 0},
    {"ike_cookie_threshold", NULL, FK_COOKIE, 1, p_u32, d_u32,
     FO(ike_cookie_threshold), &r_cookie, 0},
    {"ike_half_open_max", NULL, FK_HO_MAX, 1, p_u32, d_u32,
     FO(ike_half_open_max), &r_limit, 0},
    {"ike_half_open_per_addr", NULL, FK_HO_ADDR, 1, p_u32, d_u32,
     FO(ike_half_open_per_addr), &r_limit, 0},
    {"ike_half_open_per_prefix", NULL, FK_HO_PREFIX, 1, p_u32, d_u32,
     FO(ike_half_open_per_prefix), &r_limit, 0},
    {"ike_half_open_timeout", NULL, FK_HO_TIMEOUT, 1, p_time, d_time,
     FO(ike_half_open_timeout), NULL, 0},
    {"ike_sa_per_id", NULL, FK_SA_PER_ID, 1, p_u32, d_u32, FO(ike_sa_per_id),
     &r_limit, 0},
    {"child_sa_per_ike_sa", NULL, FK_CHILD_PER_SA, 1, p_u32, d_u32,
     FO(ike_child_sa_per_ike_sa), &r_limit, 0},
    {"ike_half_open_rate", NULL, FK_HO_RATE, 1, p_u32, d_u32,
     FO(ike_half_open_rate), &r_cookie, 0},
    /* r2espd's control socket for `kernel userspace` (the environment
     * variable RACOON2_ESPD_SOCKET, when set, overrides it) */
    {"kernel_socket", NULL, FK_KSOCK, 1, p_str, d_str, FO(kernel_socket), NULL,
     1},
};
const size_t conf_iface_ntab =
    sizeof(conf_iface_tab) / sizeof(conf_iface_tab[0]);

#define VO(f) offsetof(struct conf_resolver, f)
const struct kdef conf_resolver_tab[] = {
    {"resolver", NULL, 0, 1, p_bool, d_bool, VO(enabled), NULL, 0},
    {"nameserver", NULL, 1, 1, p_addrlist, d_addrlist, VO(nameserver), NULL,
     AF_PORTOK},
    {"dns_query", NULL, 2, 1, p_addrlist, d_addrlist, VO(dns_query), NULL,
     AF_PORTOK | AF_ANYOK | AF_MACROOK},
};
const size_t conf_resolver_ntab =
    sizeof(conf_resolver_tab) / sizeof(conf_resolver_tab[0]);

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
static void interp_block(struct ictx *x, const struct block *b,
			 const struct kdef *tab, size_t ntab, unsigned ctx,
			 const char *what, void *base, uint64_t *set,
			 struct conf_loc *locs, size_t nlocs, bool inherit,
			 int only)
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

static bool append_ptr(void *arrp, size_t *n, void *obj)
{
	void ***arr = arrp;
	if (!grow((void **)arr, *n, sizeof(void *)))
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
static const struct flat_kind {
	enum conf_nkind nk;
	const char *what, *defwhat;
	const struct kdef *tab;
	const size_t *ntab;
	unsigned ctx;
	size_t arr, n, def;
	size_t name, loc, set;
} flat_kinds[FLAT_COUNT] = {
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

/* Field at offset off of base (the offsets of flat_kinds). */
static void *at_off(void *base, size_t off)
{
	return (char *)base + off;
}

static void **flat_arr(struct conf *c, int kind)
{
	return *(void ***)at_off(c, flat_kinds[kind].arr);
}

static size_t flat_n(struct conf *c, int kind)
{
	return *(size_t *)at_off(c, flat_kinds[kind].n);
}

/* FLAT_* of a section keyword, or -1. */
static int flat_kind_of(const char *kw)
{
	for (int k = 0; k < FLAT_COUNT; k++)
		if (strcmp(kw, flat_kinds[k].what) == 0)
			return k;
	return -1;
}

/* Interpret b (not inheriting) into the new object o of kind. */
static void flat_interp(struct ictx *x, int kind, const struct block *b,
			const char *what, void *o, struct conf_loc *locs)
{
	const struct flat_kind *fk = &flat_kinds[kind];
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

	if (!grow((void **)arr, *n, sizeof(void *)) ||
	    (la && !grow((void **)la, *n, sizeof(void *))) ||
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
static bool report_missing(const struct ictx *x, enum conf_nkind k)
{
	return !x->over[k];
}

/* The object of kind k named nm, or NULL. */
static void *obj_find(const struct ictx *x, enum conf_nkind k, void *const *arr,
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
			interp_block(x, bi->block, conf_remote_tab, remote_ntab,
				     1, "default remote", r, &set,
				     x->def_rl.top, NLOCS, false, -1);
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
			const struct flat_kind *fk = &flat_kinds[k];
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
	const struct flat_kind *fk = &flat_kinds[k];
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
		if (!grow((void **)&ap->v, ap->n, sizeof(r))) {
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
			interp_block(x, b, conf_remote_tab, remote_ntab, 1,
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

static struct conf_kmp_params *kmp_of(struct conf_remote *r, int idx)
{
	return idx == 0 ? &r->ikev1 : idx == 1 ? &r->ikev2 : &r->kink;
}

static const enum conf_kmp kmp_by_idx[3] = {CONF_KMP_IKEV1, CONF_KMP_IKEV2,
					    CONF_KMP_KINK};
static const unsigned ctx_by_idx[3] = {X1, X2, XK};

static void inherit_remote(struct ictx *x, struct conf_remote *r,
			   struct rlocs *rl)
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
		if (kmp_listed(r, kmp_by_idx[i]))
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

static void inherit_flat(struct ictx *x, int k, void *o, struct conf_loc *locs)
{
	const struct flat_kind *fk = &flat_kinds[k];
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

/* ------------------------------------------------------------------ */
/* semantic checks                                                     */
/* ------------------------------------------------------------------ */

static const struct conf_loc *kloc(const struct conf_loc *locs, int id,
				   const struct conf_loc *fallback)
{
	return locs[id].file ? &locs[id] : fallback;
}

/* PSK and private keys: must exist, be regular files, and be readable
 * by their owner only (like OpenBSD iked, we refuse otherwise). */
static void check_file(struct ictx *x, const char *path,
		       const struct conf_loc *loc, const char *what,
		       bool secret)
{
	struct stat st;
	int src;

	if (x->p->flags & CONF_LOAD_NO_FILECHECK)
		return;
	if (conf_names_get(&x->checked_idx, path) != CONF_NAMES_NONE)
		return;
	if (grow((void **)&x->checked, x->nchecked, sizeof(char *))) {
		/* remembering is only an optimisation: on failure the
		 * file is checked (and reported) again, nothing is lost */
		char *d = strdup(path);
		if (d &&
		    conf_names_put(&x->checked_idx, d, x->nchecked, NULL) == 0)
			x->checked[x->nchecked++] = d;
		else
			free(d);
	}
	if (!*path) {
		conf_err(x->p, loc, "%s: empty file name", what);
		return;
	}
	if ((src = filesrc_stat(path, &st)) != 0) {
		conf_err(x->p, loc, "%s file '%s': %s", what, path,
			 strerror(-src));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(x->p, loc, "%s file '%s' is not a regular file", what,
			 path);
		return;
	}
	if (secret) {
		/* the one owner/mode rule of secret files (lib/util.h),
		 * the same the daemons apply when they read them */
		char why[512];

		if (check_stat_secret(path, &st, why, sizeof(why)) < 0)
			conf_err(x->p, loc, "%s file refused: %s", what, why);
	}
}

static bool has_auth(const struct conf_kmp_params *k, enum conf_auth_method m)
{
	for (size_t i = 0; i < k->n_kmp_auth_method; i++)
		if (k->kmp_auth_method[i] == m)
			return true;
	return false;
}

static void check_kmp(struct ictx *x, struct conf_remote *r, int idx,
		      const struct conf_loc *locs, bool is_default, bool bad)
{
	struct conf_kmp_params *k = kmp_of(r, idx);
	enum conf_kmp kmp = kmp_by_idx[idx];
	const char *kn = conf_kmp_name(kmp);
	bool v2 = kmp == CONF_KMP_IKEV2, v1 = kmp == CONF_KMP_IKEV1;
	bool non_aead = false;
	const struct conf_loc *at;

	if (!k->present)
		return;
	/* kinkd serves the remotes that list kink first: without both
	 * principals it can neither initiate nor authorise a peer */
	if (kmp == CONF_KMP_KINK && !is_default && !bad &&
	    r->n_acceptable_kmp && r->acceptable_kmp[0] == CONF_KMP_KINK &&
	    (!k->my_principal || !k->peers_principal))
		conf_warn(x->p, &k->loc,
			  "remote '%s': kink needs my_principal "
			  "and peers_principal (here or in default)",
			  r->name);
	if (v1 || v2) {
		at = kloc(locs, CK_KMP_ENC_ALG, &k->loc);
		for (size_t i = 0; i < k->kmp_enc_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_enc_alg.v[i].alg);
			if (!(ai->flags & CONF_ALGF_AEAD))
				non_aead = true;
			/* RFC 7296 §3.3.2: only ENCR transforms with an
			 * IKEv2 number can be proposed */
			if (v2 &&
			    (!ai->encr_id || (ai->flags & CONF_ALGF_V1_ONLY))) {
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 "
					 "encryption algorithm (kmp_enc_alg in"
					 " %s)",
					 ai->name, kn);
			}
			if (v1 && (ai->flags & CONF_ALGF_AEAD))
				conf_err(x->p, at,
					 "AEAD cipher '%s' is not "
					 "available in IKEv1 (kmp_enc_alg)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_HASH_ALG, &k->loc);
		for (size_t i = 0; i < k->kmp_hash_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_hash_alg.v[i].alg);
			if (v2 && !ai->integ_id)
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 "
					 "integrity algorithm (kmp_hash_alg in"
					 " ikev2; use e.g. hmac_sha2_256)",
					 ai->name);
			if (v1 && !(ai->flags & CONF_ALGF_V1_HASH))
				conf_err(x->p, at,
					 "'%s' is not an IKEv1 hash "
					 "algorithm (kmp_hash_alg in ikev1; use"
					 " md5, sha1 or sha2_*)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_PRF_ALG, &k->loc);
		for (size_t i = 0; v2 && i < k->kmp_prf_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_prf_alg.v[i].alg);
			if (!ai->prf_id)
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 PRF "
					 "(kmp_prf_alg)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_DH_GROUP, &k->loc);
		for (size_t i = 0; v2 && i < k->kmp_dh_group.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_dh_group.v[i].alg);
			if (ai->flags & CONF_ALGF_V1_ONLY)
				conf_err(x->p, at,
					 "group '%s' is not defined "
					 "for IKEv2 (kmp_dh_group)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_AUTH_METHOD, &k->loc);
		for (size_t i = 0; v2 && i < k->n_kmp_auth_method; i++) {
			enum conf_auth_method m = k->kmp_auth_method[i];
			if (m == CONF_AUTH_RSAENC || m == CONF_AUTH_RSAREV ||
			    m == CONF_AUTH_GSSAPI_KRB)
				conf_err(x->p, at,
					 "authentication method '%s'"
					 " exists only in IKEv1",
					 conf_auth_method_name(m));
		}
	}
	if (k->pre_shared_key)
		check_file(x, k->pre_shared_key,
			   kloc(locs, CK_PRE_SHARED_KEY, &k->loc),
			   "pre_shared_key", true);
	if (k->my_public_key.format) {
		at = kloc(locs, CK_MY_PUBLIC_KEY, &k->loc);
		check_file(x, k->my_public_key.pub, at, "my_public_key", false);
		if (k->my_public_key.priv)
			check_file(x, k->my_public_key.priv, at, "private key",
				   true);
	}
	if (k->peers_public_key.format)
		check_file(x, k->peers_public_key.pub,
			   kloc(locs, CK_PEERS_PUBLIC_KEY, &k->loc),
			   "peers_public_key", false);
	if (k->provide.addresspool_name) {
		const struct conf_addrpool *ap =
		    obj_find(x, NK_ADDRPOOL, (void *const *)x->c->addrpools,
			     x->c->naddrpools, k->provide.addresspool_name);
		if (!ap && report_missing(x, NK_ADDRPOOL))
			conf_err(x->p, kloc(locs, CK_PROVIDE, &k->loc),
				 "provide: addresspool '%s' is not defined",
				 k->provide.addresspool_name);
		k->provide.addresspool = (struct conf_addrpool *)ap;
	}
	if (is_default || !(v1 || v2) || bad)
		return;
	/* Completeness of a real remote (own values + default). */
	if (!k->kmp_enc_alg.n)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs kmp_enc_alg "
			 "(not set here nor in default)",
			 r->name, kn);
	/* RFC 7296 §3.3: an AEAD cipher carries its own integrity, so
	 * kmp_hash_alg is needed only if some cipher is not AEAD. */
	if (non_aead && !k->kmp_hash_alg.n)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs kmp_hash_alg "
			 "for its non-AEAD ciphers",
			 r->name, kn);
	if (v2 && !k->kmp_prf_alg.n)
		conf_err(x->p, &k->loc, "remote '%s': ikev2 needs kmp_prf_alg",
			 r->name);
	if (!k->kmp_dh_group.n)
		conf_err(x->p, &k->loc, "remote '%s': %s needs kmp_dh_group",
			 r->name, kn);
	if (!k->n_kmp_auth_method)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs "
			 "kmp_auth_method",
			 r->name, kn);
	if (has_auth(k, CONF_AUTH_PSK) && !k->pre_shared_key)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s uses psk "
			 "authentication but has no pre_shared_key",
			 r->name, kn);
}

static void check_remote(struct ictx *x, struct conf_remote *r,
			 struct rlocs *rl, bool is_default)
{
	bool bad = rl->top[LOC_BAD].line != 0;

	if (!is_default && !bad && r->n_acceptable_kmp == 0)
		conf_err(x->p, &r->loc,
			 "remote '%s': acceptable_kmp is "
			 "required (here or in default)",
			 r->name);
	for (int i = 0; i < 3; i++)
		check_kmp(x, r, i, rl->kmp[i], is_default, bad);
	if (r->selector_name) {
		r->selector =
		    obj_find(x, NK_SELECTOR, (void *const *)x->c->selectors,
			     x->c->nselectors, r->selector_name);
		if (!r->selector && report_missing(x, NK_SELECTOR))
			conf_err(x->p,
				 kloc(rl->top, RK_SELECTOR_INDEX, &r->loc),
				 "selector_index '%s' does not name a "
				 "selector",
				 r->selector_name);
	}
}

static bool both_literal_differ(const struct conf_addr *a,
				const struct conf_addr *b)
{
	return a->kind == CONF_ADDR_IP && b->kind == CONF_ADDR_IP &&
	       a->af != b->af;
}

static bool port_proto(int p)
{
	return p == CONF_PROTO_ANY || p == 6 || p == 17 || p == 132 || p == 136;
}

static void check_selector(struct ictx *x, struct conf_selector *s,
			   const struct conf_loc *locs)
{
	bool bad = locs[OBJ_BAD].line != 0;

	if (!locs[SK_DIRECTION].file && !bad)
		conf_err(x->p, &s->loc, "selector '%s': direction is required",
			 s->name);
	if (s->src.kind == CONF_ADDR_UNSET) {
		s->src.kind = CONF_ADDR_ANY;
		s->src.loc = s->loc;
	}
	if (s->dst.kind == CONF_ADDR_UNSET) {
		s->dst.kind = CONF_ADDR_ANY;
		s->dst.loc = s->loc;
	}
	if (both_literal_differ(&s->src, &s->dst))
		conf_err(x->p, kloc(locs, SK_DST, &s->loc),
			 "selector '%s': "
			 "src and dst are of different address families",
			 s->name);
	if ((s->src.port || s->dst.port) &&
	    !port_proto(s->upper_layer_protocol))
		conf_err(x->p, kloc(locs, SK_ULP, &s->loc),
			 "selector '%s': "
			 "ports need upper_layer_protocol tcp, udp, sctp or "
			 "udplite",
			 s->name);
	if (!s->policy_name) {
		if (!bad)
			conf_err(x->p, &s->loc,
				 "selector '%s': "
				 "policy_index is required",
				 s->name);
		return;
	}
	s->policy = obj_find(x, NK_POLICY, (void *const *)x->c->policies,
			     x->c->npolicies, s->policy_name);
	if (!s->policy) {
		if (report_missing(x, NK_POLICY))
			conf_err(x->p, kloc(locs, SK_POLICY_INDEX, &s->loc),
				 "policy_index '%s' does not name a policy",
				 s->policy_name);
		return;
	}
	if (!append_ptr(&s->policy->selectors, &s->policy->nselectors, s))
		conf_nomem(x->p, &s->loc);
}

static bool sa_addr_given(const struct conf_addr *a)
{
	return a->kind != CONF_ADDR_UNSET;
}

static void check_policy(struct ictx *x, struct conf_policy *p,
			 const struct conf_loc *locs)
{
	bool needs_ipsec = p->action == CONF_ACTION_AUTO_IPSEC ||
			   p->action == CONF_ACTION_STATIC_IPSEC;
	bool bad = locs[OBJ_BAD].line != 0;

	if (bad && !((p->set >> CP_ACTION) & 1u))
		return;
	if (!((p->set >> CP_ACTION) & 1u))
		conf_err(x->p, &p->loc, "policy '%s': action is required",
			 p->name);
	if (p->remote_name) {
		p->remote = obj_find(x, NK_REMOTE, (void *const *)x->c->remotes,
				     x->c->nremotes, p->remote_name);
		if (!p->remote) {
			if (report_missing(x, NK_REMOTE))
				conf_err(x->p,
					 kloc(locs, CP_REMOTE_INDEX, &p->loc),
					 "remote_index '%s' does not name a "
					 "remote",
					 p->remote_name);
		} else if (!append_ptr(&p->remote->policies,
				       &p->remote->npolicies, p)) {
			conf_nomem(x->p, &p->loc);
		}
	} else if (p->action == CONF_ACTION_AUTO_IPSEC) {
		conf_err(x->p, &p->loc,
			 "policy '%s': action auto_ipsec needs "
			 "remote_index",
			 p->name);
	}
	if (needs_ipsec && !p->nipsec)
		conf_err(x->p, &p->loc,
			 "policy '%s': action %s needs "
			 "ipsec_index",
			 p->name,
			 p->action == CONF_ACTION_AUTO_IPSEC ? "auto_ipsec"
							     : "static_ipsec");
	if (p->nipsec) {
		p->ipsec = calloc(p->nipsec, sizeof(*p->ipsec));
		if (!p->ipsec)
			conf_nomem(x->p, &p->loc);
		for (size_t i = 0; p->ipsec && i < p->nipsec; i++) {
			p->ipsec[i] =
			    obj_find(x, NK_IPSEC, (void *const *)x->c->ipsecs,
				     x->c->nipsecs, p->ipsec_names[i]);
			if (!p->ipsec[i] && report_missing(x, NK_IPSEC))
				conf_err(x->p,
					 kloc(locs, CP_IPSEC_INDEX, &p->loc),
					 "ipsec_index '%s' does not name an "
					 "ipsec",
					 p->ipsec_names[i]);
		}
	}
	if (both_literal_differ(&p->my_sa_ipaddr, &p->peers_sa_ipaddr))
		conf_err(x->p, kloc(locs, CP_PEERS_SA_IPADDR, &p->loc),
			 "policy '%s': my_sa_ipaddr and peers_sa_ipaddr are of"
			 " different address families",
			 p->name);
	/* RFC 4301 §4.1: a tunnel needs its two outer endpoints; IP_RW
	 * (racoon2) means one end is learnt from the IKE SA. */
	if (needs_ipsec && p->ipsec_mode == CONF_MODE_TUNNEL) {
		bool rw = p->peers_sa_ipaddr.kind == CONF_ADDR_RW ||
			  p->my_sa_ipaddr.kind == CONF_ADDR_RW;
		if (!sa_addr_given(&p->peers_sa_ipaddr) && !rw)
			conf_err(x->p, &p->loc,
				 "policy '%s': tunnel mode "
				 "needs peers_sa_ipaddr (an address or IP_RW)",
				 p->name);
		if (!sa_addr_given(&p->my_sa_ipaddr) && !rw)
			conf_err(x->p, &p->loc,
				 "policy '%s': tunnel mode "
				 "needs my_sa_ipaddr",
				 p->name);
	}
	if (p->my_sa_ipaddr.kind == CONF_ADDR_RW &&
	    p->peers_sa_ipaddr.kind == CONF_ADDR_RW)
		conf_err(x->p, kloc(locs, CP_MY_SA_IPADDR, &p->loc),
			 "policy '%s': IP_RW can stand for only one end",
			 p->name);
}

static void check_ipsec(struct ictx *x, struct conf_ipsec *ip,
			const struct conf_loc *locs)
{
	const struct conf_loc *at = kloc(locs, CI_SA_INDEX, &ip->loc);

	if (!ip->nsa) {
		if (locs[OBJ_BAD].line)
			return;
		conf_err(x->p, &ip->loc, "ipsec '%s': sa_index is required",
			 ip->name);
		return;
	}
	if (ip->nsa > 3) {
		conf_err(x->p, at,
			 "ipsec '%s': at most 3 SAs (ah, esp, "
			 "ipcomp) in a bundle",
			 ip->name);
		return;
	}
	ip->sa = calloc(ip->nsa, sizeof(*ip->sa));
	if (!ip->sa) {
		conf_nomem(x->p, &ip->loc);
		return;
	}
	for (size_t i = 0; i < ip->nsa; i++) {
		struct conf_sa *sa =
		    obj_find(x, NK_SA, (void *const *)x->c->sas, x->c->nsas,
			     ip->sa_names[i]);
		struct conf_sa **slot;
		ip->sa[i] = sa;
		if (!sa) {
			if (report_missing(x, NK_SA))
				conf_err(x->p, at,
					 "sa_index '%s' does not "
					 "name an sa",
					 ip->sa_names[i]);
			continue;
		}
		slot = sa->sa_protocol == CONF_SA_AH	? &ip->ah
		       : sa->sa_protocol == CONF_SA_ESP ? &ip->esp
							: &ip->ipcomp;
		if (*slot) {
			conf_err(x->p, at,
				 "ipsec '%s': two %s SAs in one "
				 "bundle ('%s' and '%s')",
				 ip->name, saproto_v[sa->sa_protocol].name,
				 (*slot)->name, sa->name);
			continue;
		}
		*slot = sa;
	}
}

static void check_sa(struct ictx *x, struct conf_sa *sa,
		     const struct conf_loc *locs, bool is_default)
{
	bool non_aead = false, null_enc = false, has_auth_alg;

	if (!((sa->set >> CS_SA_PROTOCOL) & 1u)) {
		if (!is_default && !locs[OBJ_BAD].line)
			conf_err(x->p, &sa->loc,
				 "sa '%s': sa_protocol is "
				 "required",
				 sa->name);
		return;
	}
	for (size_t i = 0; i < conf_sa_ntab; i++) {
		const struct kdef *k = &conf_sa_tab[i];
		if (((sa->set >> k->id) & 1u) &&
		    !(k->ctx & (1u << sa->sa_protocol)))
			conf_err(x->p, kloc(locs, k->id, &sa->loc),
				 "'%s' is not valid in an sa with sa_protocol"
				 " %s",
				 k->name, saproto_v[sa->sa_protocol].name);
	}
	if (is_default || locs[OBJ_BAD].line)
		return;
	switch (sa->sa_protocol) {
	case CONF_SA_ESP:
		if (!sa->esp_enc_alg.n) {
			conf_err(x->p, &sa->loc,
				 "sa '%s': esp needs "
				 "esp_enc_alg",
				 sa->name);
			break;
		}
		for (size_t i = 0; i < sa->esp_enc_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(sa->esp_enc_alg.v[i].alg);
			if (ai->alg == CONF_ALG_NULL_ENC)
				null_enc = true;
			else if (!(ai->flags & CONF_ALGF_AEAD))
				non_aead = true;
		}
		has_auth_alg = false;
		for (size_t i = 0; i < sa->esp_auth_alg.n; i++)
			if (sa->esp_auth_alg.v[i].alg != CONF_ALG_NON_AUTH)
				has_auth_alg = true;
		/* RFC 4303 §3.2: NULL encryption with no integrity would
		 * give neither service. */
		if (null_enc && !has_auth_alg)
			conf_err(x->p, kloc(locs, CS_ESP_ENC_ALG, &sa->loc),
				 "sa '%s': null_enc needs an esp_auth_alg "
				 "other than non_auth",
				 sa->name);
		else if (non_aead && !sa->esp_auth_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': non-AEAD ciphers "
				 "need esp_auth_alg (or write non_auth)",
				 sa->name);
		break;
	case CONF_SA_AH:
		if (!sa->ah_auth_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': ah needs "
				 "ah_auth_alg",
				 sa->name);
		break;
	case CONF_SA_IPCOMP:
		if (!sa->ipcomp_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': ipcomp needs "
				 "ipcomp_alg",
				 sa->name);
		break;
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
