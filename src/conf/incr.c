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

/* the file's hashes in pieces of CHUNK bytes, from its start and from
 * its end: a reload finds the unchanged head and tail of the file with
 * them and splits only what lies between */
size_t conf_srcidx_chunk = 4096;
#define CHUNK conf_srcidx_chunk

struct conf_srcidx {
	struct conf_stmt *v;
	size_t n;
	unsigned flags; /* of the load */
	bool pct;	/* a '%' (fe80::1%eth0, MY_IP%eth0: if_nametoindex) */
	size_t len;	/* of the file */
	uint64_t *head, *tail; /* (len + CHUNK - 1) / CHUNK each */
};

void conf_srcidx_free(struct conf_srcidx *x)
{
	if (!x)
		return;
	free(x->v);
	free(x->head);
	free(x->tail);
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

/* A hash of a long text, four words at a time (four independent lanes,
 * each step invertible in the lane as in text_hash; the lanes are then
 * hashed as a text: texts differing in one word never collide) */
static uint64_t lane(uint64_t h, const uint8_t *p)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t w;

	/* one multiply on the lane's path (w * k2 is not): invertible in h */
	memcpy(&w, p, 8);
	return rotl(h + w * k2, 31) * k1;
}

static uint64_t chunk_hash(const uint8_t *b, size_t len)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t h0 = len * k2, h1 = len * k1, h2 = ~len * k2, h3 = ~len * k1;
	uint64_t h[5];
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		h0 = lane(h0, b + i);
		h1 = lane(h1, b + i + 8);
		h2 = lane(h2, b + i + 16);
		h3 = lane(h3, b + i + 24);
	}
	h[0] = h0, h[1] = h1, h[2] = h2, h[3] = h3;
	h[4] = text_hash(b + i, len - i);
	return text_hash((const uint8_t *)h, sizeof(h));
}

/* x->head and x->tail of the file b[len] */
static int chunks(struct conf_srcidx *x, const uint8_t *b, size_t len)
{
	size_t n = (len + CHUNK - 1) / CHUNK;

	x->len = len;
	x->head = malloc((n + 1) * sizeof(*x->head));
	x->tail = malloc((n + 1) * sizeof(*x->tail));
	if (!x->head || !x->tail)
		return -ENOMEM;
	/* one pass: the tail pieces ending in a head piece are hashed
	 * right after it, while its bytes are in the cache */
	for (size_t k = 0, t = n; k < n; k++) {
		size_t at = k * CHUNK,
		       hend = len - at < CHUNK ? len : at + CHUNK;

		x->head[k] = chunk_hash(b + at, hend - at);
		while (t > 0 && len - (t - 1) * CHUNK <= hend) {
			size_t end = len - --t * CHUNK;

			x->tail[t] =
			    chunk_hash(b + (end > CHUNK ? end - CHUNK : 0),
				       end > CHUNK ? CHUNK : end);
		}
	}
	return 0;
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

/*
 * Where a reload's split meets the old file again: new offsets from
 * `tail` on hold the old file's last bytes; a statement boundary there
 * that is also one of the old file (the split restarts from the same
 * state at each boundary) ends the split, the old statements follow.
 */
struct resync {
	const struct conf_srcidx *old;
	size_t tail;   /* new offset where the identical tail starts */
	size_t j;      /* next old statement */
	size_t ostart; /* its offset in the old file */
};

/* The old statements from the boundary at new offset e, if it is one of
 * the identical tail's; 0 if not; -ENOMEM. */
static int resync_at(struct resync *rs, struct conf_srcidx *x, size_t *cap,
		     size_t e, size_t len)
{
	const struct conf_srcidx *o = rs->old;
	size_t eo, k;

	if (!rs->old || e < rs->tail)
		return 0;
	eo = e + o->len - len;
	while (rs->j < o->n && rs->ostart < eo)
		rs->ostart += o->v[rs->j++].len;
	if (rs->ostart != eo)
		return 0;
	k = o->n - rs->j;
	if (x->n + k > *cap) {
		struct conf_stmt *v = realloc(x->v, (x->n + k) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		*cap = x->n + k;
	}
	memcpy(x->v + x->n, o->v + rs->j, k * sizeof(*x->v));
	x->n += k;
	return 1;
}

/*
 * Split b[len] into statements from offset i (a statement boundary; x
 * holds those before it); NULL if out of memory or unusual text.  With
 * rs, stops where the text is the old file's again.
 */
static struct conf_srcidx *split_from(struct conf_srcidx *x, size_t cap,
				      const uint8_t *b, size_t len, size_t i,
				      struct resync *rs)
{
	size_t start = i, after_nl = 0;
	uint32_t nl = 0;
	int depth = 0, ntok = 0, r;
	bool sel = false;

	cls_init();
	if (len >= CONF_MAX_FILE_SIZE)
		goto fail;
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
			r = rs ? resync_at(rs, x, &cap, i, len) : 0;
			if (r < 0)
				goto fail;
			if (r > 0)
				return x;
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
	if (!rs && chunks(x, b, len) < 0)
		goto fail; /* (resplit has them) */
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

/* The index of b[len], the file of old changed (flags: of its load):
 * only what lies between the unchanged head and tail is split again. */
static struct conf_srcidx *resplit(const struct conf_srcidx *old,
				   const uint8_t *b, size_t len)
{
	struct conf_srcidx *x = calloc(1, sizeof(*x));
	size_t n = (len + CHUNK - 1) / CHUNK,
	       on = (old->len + CHUNK - 1) / CHUNK;
	size_t head = 0, tail = 0, k, at = 0, i0 = 0, cap;
	struct resync rs = {.old = old};

	if (!x || chunks(x, b, len) < 0)
		goto fail;
	x->flags = old->flags;
	/* identical pieces (a shorter last piece hashes otherwise) */
	for (k = 0; k < n && k < on && x->head[k] == old->head[k]; k++)
		head += len - k * CHUNK < CHUNK ? len - k * CHUNK : CHUNK;
	for (k = 0; k < n && k < on && x->tail[k] == old->tail[k]; k++)
		tail += len - k * CHUNK < CHUNK ? len - k * CHUNK : CHUNK;
	if (head > old->len || head > len)
		head = len < old->len ? len : old->len;
	if (head + tail > len || head + tail > old->len)
		tail = (len < old->len ? len : old->len) - head;
	/* the old statements decided by the identical head alone (the
	 * split looks at the byte after a statement's end) */
	while (i0 < old->n && at + old->v[i0].len < head)
		at += old->v[i0++].len;
	cap = old->n + old->n / 64 + 64;
	x->v = malloc(cap * sizeof(*x->v));
	if (!x->v)
		goto fail;
	memcpy(x->v, old->v, i0 * sizeof(*x->v));
	x->n = i0;
	rs.tail = len - tail;
	rs.j = i0;
	rs.ostart = at;
	return split_from(x, cap, b, len, at, &rs);
fail:
	conf_srcidx_free(x);
	return NULL;
}

struct conf_srcidx *conf_srcidx_build(const uint8_t *buf, size_t len,
				      unsigned flags, const struct conf *c)
{
	struct conf_srcidx *x = calloc(1, sizeof(*x));
	size_t nsel = 0;

	if (x) {
		x->flags = flags;
		x = split_from(x, 0, buf, len, 0, NULL);
	}

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

bool conf_srcidx_same(const struct conf *a, const struct conf *b)
{
	const struct conf_srcidx *x = conf_cfull_of(a)->src,
				 *y = conf_cfull_of(b)->src;
	size_t nch;

	if (!x || !y)
		return x == y;
	nch = (x->len + CHUNK - 1) / CHUNK;
	if (x->n != y->n || x->len != y->len || x->pct != y->pct ||
	    x->flags != y->flags)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].h != y->v[i].h || x->v[i].len != y->v[i].len ||
		    x->v[i].nl != y->v[i].nl || x->v[i].sel != y->v[i].sel ||
		    x->v[i].tail != y->v[i].tail)
			return false;
	return !memcmp(x->head, y->head, nch * sizeof(*x->head)) &&
	       !memcmp(x->tail, y->tail, nch * sizeof(*x->tail));
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
	nx = resplit(ox, buf, len);
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
