/*
 * interp_scalar.c - the cursor over one statement's items and the parsers
 * of scalar values (booleans, times, sizes, numbers, strings, enums).
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
/* statement cursor and scalar parsers                                 */
/* ------------------------------------------------------------------ */

const struct item *sc_peek(struct sc *c)
{
	return c->i < c->s->n ? &c->s->items[c->i] : NULL;
}

const struct item *sc_next(struct sc *c)
{
	const struct item *it = sc_peek(c);
	if (it)
		c->i++;
	return it;
}

const char *item_desc(const struct item *it)
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
const struct conf_loc *sc_where(struct sc *c)
{
	const struct item *it = sc_peek(c);
	return it ? &it->loc : &c->keyloc;
}

void sc_expected(struct sc *c, const char *what)
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
const char *sc_text(struct sc *c, const char *what)
{
	const struct item *it = sc_peek(c);
	if (!it || (it->kind != I_WORD && it->kind != I_STRING)) {
		sc_expected(c, what);
		return NULL;
	}
	c->i++;
	return it->text;
}

bool sc_is_word(struct sc *c, const char *w)
{
	const struct item *it = sc_peek(c);
	return it && it->kind == I_WORD && strcmp(it->text, w) == 0;
}

bool sc_end(struct sc *c)
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
bool parse_u64(const char *s, uint64_t *out)
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

bool sc_number(struct sc *c, const char *what, uint64_t *v)
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

bool p_bool(struct sc *c, const struct kdef *k, void *f)
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

bool p_time(struct sc *c, const struct kdef *k, void *f)
{
	(void)k;
	return p_scaled(c, f, true);
}

bool p_bytes(struct sc *c, const struct kdef *k, void *f)
{
	(void)k;
	return p_scaled(c, f, false);
}

bool p_u32(struct sc *c, const struct kdef *k, void *f)
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

bool p_str(struct sc *c, const struct kdef *k, void *f)
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

bool p_enum(struct sc *c, const struct kdef *k, void *f)
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
