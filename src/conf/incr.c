/*
 * incr.c - incremental reload of a one-file configuration (conf.h,
 * conf_delta_prepare): spmd's reload of 100,000 selectors when one of
 * them changed re-reads and re-interprets only that one.
 *
 * The index (struct conf_srcidx) lists the file's top-level statements
 * in order: a 64-bit hash of each statement's bytes (word at a time,
 * an invertible multiply-rotate step per word: statements differing in
 * one word never collide; not keyed -- the file is the administrator's,
 * and the hash only ever decides between two texts of the same file) with the
 * whitespace and comments before it and the rest of its last line, its length,
 * its newline count and whether it is a `selector` statement.  The split
 * follows the lexer (parse.c): words, "strings" with backslash escapes, #
 * comments, braces, ';' at depth 0 ends a statement.  Anything the
 * lexer would complain about makes the index unavailable (a full load
 * then reports it).
 *
 * A reload compares the new index with the old one from both ends.
 * What differs must be a run of selector statements on both sides, and
 * either span as many lines or be followed by selectors only (their
 * lines are then shifted).  The new run is interpreted together with
 * every non-selector statement of the new file -- identical to the old
 * ones -- in a copy of the file where each other selector statement is
 * replaced by its newlines (and spaces for the columns), so locations
 * and messages are those of a full load.  Whatever the shortcut cannot
 * prove equal to a full load gives -EAGAIN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"
#include "lib/filesrc.h"

struct conf_stmt {
	uint64_t h;
	uint32_t len;
	uint32_t nl : 31; /* newlines in it */
	uint32_t sel : 1; /* a `selector` statement */
	uint32_t tail;	  /* bytes after its last newline */
};

struct conf_srcidx {
	struct conf_stmt *v;
	size_t n;
	unsigned flags; /* of the load */
	bool pct;	/* a '%' (fe80::1%eth0, MY_IP%eth0: if_nametoindex) */
};

void conf_srcidx_free(struct conf_srcidx *x)
{
	if (!x)
		return;
	free(x->v);
	free(x);
}

/* byte classes of the lexer (parse.c is_word_char, lx_next); C_PCT is
 * a word byte too (bit 0) */
enum { C_BAD = 0, C_WORD = 1, C_SPACE = 2, C_PCT = 3 };
static uint8_t cls[256];
/* bytes a "string" cannot simply run over */
static uint8_t strstop[256];

static void cls_init(void)
{
	const char *w = "*-./:?@_";

	if (cls['a'])
		return;
	for (int c = '0'; c <= '9'; c++)
		cls[c] = C_WORD;
	for (int c = 'a'; c <= 'z'; c++)
		cls[c] = cls[c - 'a' + 'A'] = C_WORD;
	for (; *w; w++)
		cls[(uint8_t)*w] = C_WORD;
	cls['%'] = C_PCT;
	cls[' '] = cls['\t'] = cls['\r'] = cls['\n'] = cls['\f'] = cls['\v'] =
	    C_SPACE;
	strstop['"'] = strstop['\\'] = strstop['\n'] = strstop['\0'] =
	    strstop['%'] = 1;
}

static uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t text_hash(const uint8_t *b, size_t len)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t h = len * k2, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);
		h = rotl((h ^ w) * k1, 31) * k2;
	}
	w = 0;
	memcpy(&w, b + i, len - i);
	h = rotl((h ^ w ^ (uint64_t)(len - i) << 59) * k1, 31) * k2;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static int push(struct conf_srcidx *x, size_t *cap, const uint8_t *b,
		size_t len, bool sel, uint32_t nl, size_t after_nl)
{
	struct conf_stmt *s;

	if (x->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		struct conf_stmt *v = realloc(x->v, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		*cap = nc;
	}
	s = &x->v[x->n++];
	s->h = text_hash(b, len);
	s->len = (uint32_t)len;
	s->nl = nl;
	s->sel = sel;
	s->tail = (uint32_t)(len - after_nl); /* after_nl: 0 if none */
	return 0;
}

/* Split buf into statements; NULL if out of memory or unusual text. */
static struct conf_srcidx *split(const uint8_t *b, size_t len, unsigned flags,
				 size_t hint)
{
	struct conf_srcidx *x = calloc(1, sizeof(*x));
	size_t cap = 0, i = 0, start = 0, after_nl = 0;
	uint32_t nl = 0;
	int depth = 0, ntok = 0;
	bool sel = false;

	cls_init();
	if (!x || len >= CONF_MAX_FILE_SIZE)
		goto fail;
	x->flags = flags;
	if (hint) {
		/* the old file's count and some: no copying while growing */
		x->v = malloc((hint + hint / 64 + 64) * sizeof(*x->v));
		if (!x->v)
			goto fail;
		cap = hint + hint / 64 + 64;
	}
	while (i < len) {
		uint8_t c = b[i];

		if (cls[c] == C_SPACE) {
			if (c == '\n')
				nl++, after_nl = i + 1 - start;
			i++;
		} else if (c == '#') {
			while (i < len && b[i] != '\n')
				i++;
		} else if (c == '"') {
			for (i++;; i++) {
				while (i < len && !strstop[b[i]])
					i++;
				if (i < len && b[i] == '%')
					x->pct = true;
				if (i >= len || b[i] == '\n' || b[i] == '\0')
					goto fail; /* the lexer reports it */
				if (b[i] == '"')
					break;
				if (b[i] == '\\' &&
				    (i + 1 >= len || b[i + 1] == '\n' ||
				     b[i + 1] == '\0'))
					goto fail;
				if (b[i] == '\\')
					i++;
			}
			i++;
			ntok++;
		} else if (cls[c] & 1) { /* C_WORD, C_PCT */
			size_t w = i;
			uint8_t k = 0;

			while (i < len && cls[b[i]] & 1)
				k |= cls[b[i++]];
			x->pct |= k == C_PCT;
			if (ntok++ == 0 && depth == 0)
				sel =
				    i - w == 8 && !memcmp(b + w, "selector", 8);
		} else if (c == '{') {
			depth++, i++, ntok++;
		} else if (c == '}') {
			if (depth-- == 0)
				goto fail;
			i++, ntok++;
		} else if (c == ',') {
			i++, ntok++;
		} else if (c == ';') {
			i++, ntok++;
			if (depth)
				continue;
			/* the rest of the line goes with the statement */
			while (i < len &&
			       (b[i] == ' ' || b[i] == '\t' || b[i] == '\r'))
				i++;
			if (i < len && b[i] == '\n')
				nl++, after_nl = ++i - start;
			if (push(x, &cap, b + start, i - start, sel, nl,
				 after_nl) < 0)
				goto fail;
			start = i;
			nl = 0;
			after_nl = 0;
			ntok = 0;
			sel = false;
		} else {
			goto fail; /* unexpected byte: the lexer reports it */
		}
	}
	if (depth || ntok)
		goto fail; /* an unfinished statement */
	if (start < len &&
	    push(x, &cap, b + start, len - start, false, nl, after_nl) < 0)
		goto fail; /* trailing whitespace and comments */
	if (cap > x->n + x->n / 32 + 64) {
		/* kept with the conf: give back the doubling's slack */
		struct conf_stmt *v = realloc(x->v, (x->n + 1) * sizeof(*v));

		if (v)
			x->v = v;
	}
	return x;
fail:
	conf_srcidx_free(x);
	return NULL;
}

struct conf_srcidx *conf_srcidx_build(const uint8_t *buf, size_t len,
				      unsigned flags, const struct conf *c)
{
	struct conf_srcidx *x = split(buf, len, flags, 0);
	size_t nsel = 0;

	if (!x)
		return NULL;
	for (size_t i = 0; i < x->n; i++)
		nsel += x->v[i].sel;
	/* one selector object per selector statement, in order */
	if (nsel != c->nselectors) {
		conf_srcidx_free(x);
		return NULL;
	}
	return x;
}

size_t conf_selector_index(const struct conf *c, const char *name)
{
	return conf_names_get(&conf_cfull_of(c)->names[NK_SELECTOR], name);
}

static bool same(const struct conf_stmt *a, const struct conf_stmt *b)
{
	return a->h == b->h && a->len == b->len && a->sel == b->sel;
}

void conf_delta_free(struct conf_delta *d)
{
	conf_free(d->part);
	conf_srcidx_free(d->src);
	free(d->sel);
	memset(d, 0, sizeof(*d));
}

/* A remote's selector_index names one of the n selectors? */
static bool remote_names(const struct conf_remote *r,
			 struct conf_selector *const *v, size_t n)
{
	if (!r || !r->selector_name)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r->selector_name, v[i]->name))
			return true;
	return false;
}

static bool remotes_name(const struct conf *c, struct conf_selector *const *v,
			 size_t n)
{
	if (remote_names(c->default_remote, v, n))
		return true;
	for (size_t i = 0; i < c->nremotes; i++)
		if (remote_names(c->remotes[i], v, n))
			return true;
	return false;
}

/* The text to interpret: buf with the selectors outside [m0, m1) of x
 * reduced to their newlines and the columns after the last one. */
static uint8_t *blanked(const uint8_t *buf, const struct conf_srcidx *x,
			size_t m0, size_t m1, size_t *outlen)
{
	size_t o = 0, at = 0, len = 0;
	uint8_t *out;

	for (size_t i = 0; i < x->n; i++)
		len += x->v[i].len;
	out = malloc(len + 1); /* only what is written is touched */
	for (size_t i = 0; out && i < x->n; i++) {
		const struct conf_stmt *s = &x->v[i];
		const uint8_t *p = buf + at;
		bool blank = s->sel && (i < m0 || i >= m1);
		size_t want = blank ? s->nl + s->tail : s->len;

		at += s->len;
		if (!blank) {
			memcpy(out + o, p, want);
		} else {
			memset(out + o, '\n', s->nl);
			memset(out + o + s->nl, ' ', want - s->nl);
		}
		o += want;
	}
	*outlen = o;
	return out;
}

int conf_delta_prepare(struct conf *old, struct conf_delta *d)
{
	struct conf_full *of = conf_full_of(old);
	const struct conf_srcidx *ox = of->src;
	struct conf_srcidx *nx = NULL;
	uint8_t *buf = NULL, *text = NULL;
	size_t len = 0, tlen = 0, pre = 0, osuf, nsuf, a = 0, k, n;
	long onl = 0, nnl = 0;
	bool suffix_sel = true;
	int rc = -EAGAIN;

	memset(d, 0, sizeof(*d));
	/* interface indexes are looked up at each load */
	if (!ox || old->nfiles != 1 || ox->pct)
		return -EAGAIN;
	rc = filesrc_read(old->files[0], 0, CONF_MAX_FILE_SIZE, &buf, &len,
			  NULL, NULL, 0);
	if (rc < 0)
		return -EAGAIN; /* the full load reports it */
	rc = -EAGAIN;
	nx = split(buf, len, ox->flags, ox->n);
	if (!nx || nx->pct)
		goto out;
	while (pre < ox->n && pre < nx->n && same(&ox->v[pre], &nx->v[pre]))
		pre++;
	osuf = ox->n;
	nsuf = nx->n;
	while (osuf > pre && nsuf > pre &&
	       same(&ox->v[osuf - 1], &nx->v[nsuf - 1]))
		osuf--, nsuf--;
	for (size_t i = pre; i < osuf; i++) {
		if (!ox->v[i].sel)
			goto out;
		onl += ox->v[i].nl;
	}
	for (size_t i = pre; i < nsuf; i++) {
		if (!nx->v[i].sel)
			goto out;
		nnl += nx->v[i].nl;
	}
	for (size_t i = osuf; i < ox->n; i++)
		suffix_sel &= ox->v[i].sel;
	if (nnl != onl) {
		/* the selectors after the run move to other lines: their
		 * columns must not move */
		bool onl_end = osuf > 0 ? ox->v[osuf - 1].tail == 0 : true;
		bool nnl_end = nsuf > 0 ? nx->v[nsuf - 1].tail == 0 : true;

		if (osuf < ox->n && (!suffix_sel || !onl_end || !nnl_end))
			goto out;
	}
	for (size_t i = 0; i < pre; i++)
		a += ox->v[i].sel;
	d->from = a;
	d->to = a + (osuf - pre);
	d->line_shift = nnl - onl;
	k = nsuf - pre;
	n = old->nselectors - (d->to - d->from) + k;
	if (n > conf_max_objects)
		goto out;
	for (size_t i = d->from; i < d->to; i++)
		if (old->selectors[i]->has_reqid)
			goto out; /* explicit reqids are reserved first */
	if (remotes_name(old, old->selectors + d->from, d->to - d->from))
		goto out;

	text = blanked(buf, nx, pre, nsuf, &tlen);
	rc = -ENOMEM;
	if (!text)
		goto out;
	rc = -EAGAIN;
	if (conf_load_buffer(old->files[0], text, tlen, ox->flags, &d->part,
			     NULL) < 0)
		goto out; /* errors: the full load reports them */
	if (d->part->nselectors != k || d->part->nremotes != old->nremotes ||
	    d->part->npolicies != old->npolicies ||
	    d->part->nipsecs != old->nipsecs || d->part->nsas != old->nsas ||
	    d->part->naddrpools != old->naddrpools)
		goto out;
	if (remotes_name(old, d->part->selectors, k))
		goto out;
	for (size_t i = 0; i < k; i++) {
		const struct conf_selector *s = d->part->selectors[i];
		size_t at = conf_selector_index(old, s->name);

		if (s->has_reqid)
			goto out;
		if (at != SIZE_MAX && (at < d->from || at >= d->to))
			goto out; /* a duplicate name: the full load says so */
		if (!conf_policy_find(old, s->policy->name))
			goto out;
	}
	/* everything commit needs, so that it cannot fail */
	rc = -ENOMEM;
	d->sel = calloc(n + 1, sizeof(*d->sel));
	if (!d->sel)
		goto out;
	if (conf_names_reserve(&of->names[NK_SELECTOR], k) < 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		struct conf_policy *p = (struct conf_policy *)conf_policy_find(
		    old, d->part->selectors[i]->policy->name);
		void *v = realloc(p->selectors, (p->nselectors + k + 1) *
						    sizeof(*p->selectors));

		if (!v)
			goto out;
		p->selectors = v; /* room only: old is unchanged */
	}
	d->src = nx;
	nx = NULL;
	rc = 0;
out:
	if (rc < 0) {
		conf_free(d->part);
		d->part = NULL;
		free(d->sel);
		d->sel = NULL;
	}
	conf_srcidx_free(nx);
	free(text);
	free(buf);
	return rc;
}

static void policy_unlink(struct conf_selector *s)
{
	struct conf_policy *p = s->policy;

	for (size_t i = 0; p && i < p->nselectors; i++) {
		if (p->selectors[i] == s) {
			memmove(p->selectors + i, p->selectors + i + 1,
				(p->nselectors - i - 1) *
				    sizeof(*p->selectors));
			p->nselectors--;
			return;
		}
	}
}

/* Insert s into its policy's list, which is in configuration order. */
static void policy_link(struct conf *c, struct conf_selector *s, size_t idx)
{
	struct conf_policy *p = s->policy;
	size_t lo = 0, hi = p->nselectors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (conf_selector_index(c, p->selectors[mid]->name) < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(p->selectors + lo + 1, p->selectors + lo,
		(p->nselectors - lo) * sizeof(*p->selectors));
	p->selectors[lo] = s;
	p->nselectors++;
}

static void shift_loc(struct conf_loc *l, long by)
{
	if (l->line)
		l->line = (unsigned)((long)l->line + by);
}

void conf_delta_commit(struct conf *old, struct conf_delta *d)
{
	struct conf_full *of = conf_full_of(old);
	struct conf_names *names = &of->names[NK_SELECTOR];
	struct conf *part = d->part;
	size_t k = part->nselectors, from = d->from, to = d->to;
	size_t tail = old->nselectors - to, n = from + k + tail;
	const char *file = old->files[0];

	for (size_t i = from; i < to; i++) {
		struct conf_selector *s = old->selectors[i];

		policy_unlink(s);
		conf_names_del(names, s->name);
		conf_selector_free(s);
	}
	memcpy(d->sel, old->selectors, from * sizeof(*d->sel));
	memcpy(d->sel + from + k, old->selectors + to, tail * sizeof(*d->sel));
	for (size_t i = 0; i < k; i++) {
		struct conf_selector *s = part->selectors[i];

		s->policy = (struct conf_policy *)conf_policy_find(
		    old, s->policy->name);
		s->loc.file = s->src.loc.file = s->dst.loc.file = file;
		d->sel[from + i] = s;
	}
	if (k != to - from)
		for (size_t i = from + k; i < n; i++)
			conf_names_set(names, d->sel[i]->name, i);
	if (d->line_shift)
		for (size_t i = from + k; i < n; i++) {
			shift_loc(&d->sel[i]->loc, d->line_shift);
			shift_loc(&d->sel[i]->src.loc, d->line_shift);
			shift_loc(&d->sel[i]->dst.loc, d->line_shift);
		}
	free(old->selectors);
	old->selectors = d->sel;
	old->nselectors = n;
	d->sel = NULL;
	for (size_t i = 0; i < k; i++) {
		/* reserved by prepare: no allocation */
		(void)conf_names_put(names, part->selectors[i]->name, from + i,
				     NULL);
		policy_link(old, part->selectors[i], from + i);
	}
	part->nselectors = 0; /* moved */
	conf_srcidx_free(of->src);
	of->src = d->src;
	d->src = NULL;
	conf_delta_free(d);
}
