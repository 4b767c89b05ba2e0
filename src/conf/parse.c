/*
 * parse.c - lexer and generic parser of racoon2.conf, `include`, and
 * `setval` / environment substitution.
 *
 * The lexer reads each file through a struct rd cursor (src/lib/rd.h),
 * so no byte past the buffer is ever touched whatever the input.  The
 * parser builds a generic tree: a block is a list of statements, a
 * statement a list of items (word, quoted string, comma, block) ended by
 * ';'.  Meaning is given later by interp.c from tables.  Nesting is
 * limited (CONF_MAX_DEPTH); deeper input is skipped iteratively after
 * one error, so no input can exhaust the stack.  Every error carries the
 * file:line:column of the file it is in and the parser always continues
 * to the end, so one run reports all syntax errors.
 *
 * Memory: the tree hangs off pctx->top; below the top block it is
 * carved from pctx->arena (conf_int.h): token text is copied once from
 * the file into the arena, a statement's items and a block's statements
 * are gathered on pctx's work stacks and copied, exactly sized, when
 * they are complete.  conf_tree_free() frees the top block, the arena
 * the rest; file contents are freed as soon as a file is parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdint.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_int.h"
#include "lib/filesrc.h"
#include "lib/rd.h"

enum tok { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_COMMA };

struct token {
	enum tok t;
	struct conf_loc loc;
	char *text; /* T_WORD, T_STRING: in pctx->arena */
	bool bad;   /* an error was reported for this token */
};

/* ---------------- growable byte buffer ---------------- */

struct sbuf {
	char *s;
	size_t len, cap;
	bool overflow;
};

struct lex {
	struct pctx *p;
	struct rd r;
	const char *file;
	unsigned line, col;
	struct token cur;
	struct sbuf tb; /* a string with escapes or errors, reused */
};

static bool sb_putc(struct sbuf *b, char c)
{
	if (b->overflow)
		return false;
	if (b->len + 2 > CONF_MAX_TOKEN * 4) {
		b->overflow = true;
		return false;
	}
	if (b->len + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 32;
		char *n = realloc(b->s, ncap);
		if (!n) {
			b->overflow = true;
			return false;
		}
		b->s = n;
		b->cap = ncap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return true;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

static char *sb_take(struct sbuf *b)
{
	char *s = b->s;
	if (!s)
		s = strdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

/* ---------------- lexer ---------------- */

static int lx_peek(const struct lex *L)
{
	struct rd r = L->r;
	uint8_t c;
	if (rd_u8(&r, &c) < 0)
		return -1;
	return c;
}

static int lx_get(struct lex *L)
{
	uint8_t c;
	if (rd_u8(&L->r, &c) < 0)
		return -1;
	if (c == '\n') {
		L->line++;
		L->col = 1;
	} else {
		L->col++;
	}
	return c;
}

static bool is_word_char(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	switch (c) {
	case '%':
	case '*':
	case '-':
	case '.':
	case '/':
	case ':':
	case '?':
	case '@':
	case '_':
		return true;
	default:
		return false;
	}
}

static char empty_text[1];

/* The token's text: n bytes at s copied into the arena.  Out of memory
 * is reported (the load fails) and leaves an empty text. */
static char *lx_text(struct lex *L, const char *s, size_t n)
{
	char *t = conf_arena_strndup(&L->p->arena, s, n);

	if (!t) {
		conf_nomem(L->p, &L->cur.loc);
		L->cur.bad = true;
		return empty_text;
	}
	return t;
}

/* Length of the word at the cursor (no byte of it is a newline). */
static size_t lx_word_len(const struct lex *L)
{
	struct rd r = L->r;
	size_t n = 0;
	uint8_t c;

	while (rd_u8(&r, &c) == 0 && is_word_char(c))
		n++;
	return n;
}

/* After the opening '"': the length of a string that ends at the next
 * '"' with no escape, NUL or newline before it, or SIZE_MAX. */
static size_t lx_plain_string_len(const struct lex *L)
{
	struct rd r = L->r;
	size_t n = 0;
	uint8_t c;

	while (rd_u8(&r, &c) == 0) {
		if (c == '"')
			return n;
		if (c == '\\' || c == '\n' || c == '\0')
			return SIZE_MAX;
		n++;
	}
	return SIZE_MAX;
}

static struct conf_loc lx_loc(const struct lex *L)
{
	struct conf_loc l = {L->file, L->line, L->col};
	return l;
}

static void lx_next(struct lex *L)
{
	struct pctx *p = L->p;
	struct sbuf *b = &L->tb;
	int c;

	L->cur.text = NULL;
	L->cur.bad = false;
again:
	for (;;) {
		c = lx_peek(L);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\f' || c == '\v') {
			lx_get(L);
			continue;
		}
		if (c == '#') {
			while ((c = lx_peek(L)) >= 0 && c != '\n')
				lx_get(L);
			continue;
		}
		break;
	}
	L->cur.loc = lx_loc(L);
	switch (c) {
	case -1:
		L->cur.t = T_EOF;
		return;
	case '{':
		lx_get(L);
		L->cur.t = T_LBRACE;
		return;
	case '}':
		lx_get(L);
		L->cur.t = T_RBRACE;
		return;
	case ';':
		lx_get(L);
		L->cur.t = T_SEMI;
		return;
	case ',':
		lx_get(L);
		L->cur.t = T_COMMA;
		return;
	case '"': {
		bool nul_reported = false;
		const uint8_t *s = NULL;
		size_t n;

		lx_get(L);
		n = lx_plain_string_len(L);
		if (n != SIZE_MAX) {
			/* the common case: copied once, straight from the
			 * file (no newline inside: only the column moves) */
			(void)rd_ptr(&L->r, n, &s);
			(void)rd_skip(&L->r, 1);
			L->col += (unsigned)n + 1;
			if (n > CONF_MAX_TOKEN) {
				conf_err(p, &L->cur.loc,
					 "string too long (limit %u bytes)",
					 CONF_MAX_TOKEN);
				L->cur.bad = true;
				n = CONF_MAX_TOKEN;
			}
			L->cur.t = T_STRING;
			L->cur.text = lx_text(L, (const char *)s, n);
			return;
		}
		b->len = 0;
		b->overflow = false;
		for (;;) {
			c = lx_peek(L);
			if (c < 0 || c == '\n') {
				L->cur.bad = true;
				conf_err(p, &L->cur.loc,
					 "unterminated string (missing '\"' "
					 "before end of %s)",
					 c < 0 ? "file" : "line");
				break;
			}
			lx_get(L);
			if (c == '"')
				break;
			if (c == '\0') {
				if (!nul_reported) {
					struct conf_loc l = lx_loc(L);
					l.col--;
					conf_err(p, &l, "NUL byte in string");
					nul_reported = true;
					L->cur.bad = true;
				}
				continue;
			}
			if (c == '\\') {
				int e = lx_peek(L);
				if (e < 0 || e == '\n')
					continue; /* reported as unterminated */
				lx_get(L);
				if (e == '\0')
					continue;
				sb_putc(b, '\\');
				sb_putc(b, (char)e);
				continue;
			}
			sb_putc(b, (char)c);
		}
		if (b->overflow || b->len > CONF_MAX_TOKEN) {
			conf_err(p, &L->cur.loc,
				 "string too long (limit %u bytes)",
				 CONF_MAX_TOKEN);
			L->cur.bad = true;
		}
		L->cur.t = T_STRING;
		L->cur.text = lx_text(L, b->s ? b->s : "", b->len);
		return;
	}
	default:
		break;
	}
	if (is_word_char(c)) {
		const uint8_t *s = NULL;
		size_t n = lx_word_len(L);

		(void)rd_ptr(&L->r, n, &s);
		L->col += (unsigned)n; /* a word has no newline */
		if (n > CONF_MAX_TOKEN) {
			conf_err(p, &L->cur.loc,
				 "word too long (limit %u bytes)",
				 CONF_MAX_TOKEN);
			L->cur.bad = true;
			n = CONF_MAX_TOKEN;
		}
		L->cur.t = T_WORD;
		L->cur.text = lx_text(L, (const char *)s, n);
		return;
	}
	/* A run of unexpected bytes gives one error. */
	if (c == '$')
		conf_err(p, &L->cur.loc,
			 "unexpected '$': variables are only substituted "
			 "inside quoted strings, e.g. \"${NAME}\"");
	else if (c >= 0x21 && c < 0x7f)
		conf_err(p, &L->cur.loc, "unexpected character '%c'", c);
	else
		conf_err(p, &L->cur.loc, "unexpected byte 0x%02x", c);
	lx_get(L);
	for (;;) {
		c = lx_peek(L);
		if (c <= 0 || is_word_char(c) || strchr(" \t\r\n{};,\"#", c))
			break;
		lx_get(L);
	}
	goto again;
}

/* ---------------- tree ---------------- */

/* An item of the statement being read, on pctx's item stack. */
static bool push_item(struct pctx *p, const struct item *it)
{
	if (p->nistk == p->capistk) {
		size_t ncap = p->capistk ? p->capistk * 2 : 64;
		struct item *n = ncap <= SIZE_MAX / sizeof(*n)
				     ? realloc(p->istk, ncap * sizeof(*n))
				     : NULL;
		if (!n)
			return false;
		p->istk = n;
		p->capistk = ncap;
	}
	p->istk[p->nistk++] = *it;
	return true;
}

/* The statement is complete: its items (the stack above base) move
 * into the arena, exactly sized.  False (nothing kept) when out of
 * memory. */
static bool stmt_close(struct pctx *p, struct stmt *s, size_t base)
{
	size_t n = p->nistk - base;

	p->nistk = base;
	s->n = 0;
	s->items = NULL;
	if (n == 0)
		return true;
	s->items = conf_arena_alloc(&p->arena, n * sizeof(*s->items),
				    alignof(struct item));
	if (!s->items)
		return false;
	memcpy(s->items, p->istk + base, n * sizeof(*s->items));
	s->n = n;
	return true;
}

/* A statement of a nested block, on pctx's statement stack; the top
 * block's statements (an include adds to them from inside another
 * file) go straight to its own heap array. */
static bool push_stmt(struct pctx *p, struct block *b, bool top,
		      const struct stmt *s)
{
	struct stmt **v = top ? &b->stmts : &p->sstk;
	size_t *n = top ? &b->n : &p->nsstk;
	size_t *cap = top ? &b->cap : &p->capsstk;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : (top ? 64 : 16);
		struct stmt *nv = ncap <= SIZE_MAX / sizeof(*nv)
				      ? realloc(*v, ncap * sizeof(*nv))
				      : NULL;
		if (!nv)
			return false;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *s;
	return true;
}

/* A nested block is closed: its statements (the stack above base) move
 * into the arena, exactly sized. */
static void block_close(struct pctx *p, struct block *b, size_t base,
			const struct conf_loc *at)
{
	size_t n = p->nsstk - base;

	p->nsstk = base;
	b->n = b->cap = 0;
	b->stmts = NULL;
	if (n == 0)
		return;
	b->stmts = conf_arena_alloc(&p->arena, n * sizeof(*b->stmts),
				    alignof(struct stmt));
	if (!b->stmts) {
		conf_nomem(p, at);
		return;
	}
	memcpy(b->stmts, p->sstk + base, n * sizeof(*b->stmts));
	b->n = b->cap = n;
}

/* The top block (heap); everything below it is in pctx->arena. */
void conf_tree_free(struct block *b)
{
	if (!b)
		return;
	free(b->stmts);
	free(b);
}

/* Skip a { ... } group whose '{' is the current token, iteratively. */
static void skip_balanced(struct lex *L)
{
	size_t depth = 0;

	for (;;) {
		if (L->cur.t == T_EOF)
			return;
		if (L->cur.t == T_LBRACE)
			depth++;
		else if (L->cur.t == T_RBRACE && --depth == 0) {
			lx_next(L);
			return;
		}
		lx_next(L);
	}
}

static void handle_include(struct pctx *p, struct lex *L, struct stmt *s);

static void parse_block(struct lex *L, struct block *b, int depth, bool top,
			const struct conf_loc *open, struct conf_loc *end)
{
	struct pctx *p = L->p;
	size_t sbase = p->nsstk;

	for (;;) {
		struct stmt s = {0};
		bool done = false;
		size_t ibase = p->nistk;
		struct conf_loc sloc = L->cur.loc;

		switch (L->cur.t) {
		case T_EOF:
			if (!top)
				conf_err(p, &L->cur.loc,
					 "missing '}' to close the block opened"
					 " at line %u, column %u",
					 open->line, open->col);
			goto out;
		case T_RBRACE:
			if (!top) {
				*end = L->cur.loc;
				lx_next(L);
				goto out;
			}
			conf_err(p, &L->cur.loc,
				 "unexpected '}' with no open block");
			lx_next(L);
			continue;
		case T_SEMI:
			conf_warn(p, &L->cur.loc,
				  "empty statement (stray ';')");
			lx_next(L);
			continue;
		default:
			break;
		}

		while (!done) {
			struct item it = {0};
			struct conf_loc bend = {0}; /* '}' of a block */
			it.loc = L->cur.loc;
			switch (L->cur.t) {
			case T_WORD:
			case T_STRING:
				it.kind =
				    L->cur.t == T_WORD ? I_WORD : I_STRING;
				it.text = L->cur.text;
				if (L->cur.bad)
					s.broken = true;
				if (!push_item(p, &it)) {
					conf_nomem(p, &it.loc);
					s.broken = true;
				}
				lx_next(L);
				break;
			case T_COMMA:
				it.kind = I_COMMA;
				if (!push_item(p, &it)) {
					conf_nomem(p, &it.loc);
					s.broken = true;
				}
				lx_next(L);
				break;
			case T_LBRACE:
				if (depth + 1 > CONF_MAX_DEPTH) {
					conf_err(p, &it.loc,
						 "blocks nested too deeply "
						 "(limit %d levels)",
						 CONF_MAX_DEPTH);
					skip_balanced(L);
					s.broken = true;
				} else {
					it.kind = I_BLOCK;
					it.block = conf_arena_alloc(
					    &p->arena, sizeof(*it.block),
					    alignof(struct block));
					lx_next(L);
					if (!it.block) {
						conf_nomem(p, &it.loc);
						s.broken = true;
						skip_balanced(L);
						break;
					}
					memset(it.block, 0, sizeof(*it.block));
					parse_block(L, it.block, depth + 1,
						    false, &it.loc, &bend);
					if (!push_item(p, &it)) {
						conf_nomem(p, &it.loc);
						s.broken = true;
					}
				}
				if (L->cur.t == T_SEMI) {
					lx_next(L);
					done = true;
				} else if (L->cur.t == T_EOF && !top) {
					done = true; /* reported: no '}' */
				} else if (L->cur.t == T_EOF &&
					   it.kind == I_BLOCK &&
					   bend.line == 0) {
					done = true; /* reported: no '}' */
				} else if (L->cur.t == T_RBRACE && !top) {
					/* racoon2 accepts it after a
					 * statement (interp.c decides) */
					b->has_nosemi = true;
					b->nosemi = L->cur.loc;
					done = true;
				} else {
					conf_err(p, &L->cur.loc,
						 "expected ';' after '}' of the"
						 " block opened at line %u, "
						 "column %u",
						 it.loc.line, it.loc.col);
					done = true;
				}
				break;
			case T_SEMI:
				lx_next(L);
				done = true;
				break;
			case T_RBRACE:
				if (!top) {
					b->has_nosemi = true;
					b->nosemi = L->cur.loc;
				} else {
					conf_err(p, &L->cur.loc,
						 "unexpected '}' with no open "
						 "block");
					lx_next(L);
					s.broken = true;
				}
				done = true;
				break;
			case T_EOF:
				conf_err(p, &L->cur.loc,
					 "expected ';' before end of file");
				done = true;
				break;
			}
		}
		if (!stmt_close(p, &s, ibase)) {
			conf_nomem(p, &sloc);
			continue;
		}
		if (s.n == 0)
			continue;
		if (top && s.items[0].kind == I_WORD &&
		    strcmp(s.items[0].text, "include") == 0) {
			if (!s.broken)
				handle_include(p, L, &s);
			continue;
		}
		if (!push_stmt(p, b, top, &s))
			conf_err(p, &s.items[0].loc, "out of memory");
	}
out:
	if (!top)
		block_close(p, b, sbase, open);
}

/* ---------------- substitution ---------------- */

static struct setvar *var_find(struct pctx *p, const char *name, size_t len)
{
	size_t i = conf_names_getn(&p->varnames, name, len);
	return i < p->nvars ? &p->vars[i] : NULL;
}

/*
 * Expand escapes, ${NAME} (when vars) and $[ENV] in raw.  Returns a heap
 * string, or NULL after reporting an error at loc.
 */
static char *expand(struct pctx *p, const char *raw, const struct conf_loc *loc,
		    bool vars, int depth)
{
	struct sbuf b = {0};
	bool ok = true;

	if (depth > CONF_MAX_SUBST_DEPTH) {
		conf_err(p, loc,
			 "setval variables nested too deeply "
			 "(limit %d)",
			 CONF_MAX_SUBST_DEPTH);
		return NULL;
	}
	for (const char *s = raw; *s && ok; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'n':
				sb_putc(&b, '\n');
				break;
			case 't':
				sb_putc(&b, '\t');
				break;
			case '"':
			case '\\':
			case '$':
				sb_putc(&b, *s);
				break;
			default:
				sb_putc(&b, '\\');
				sb_putc(&b, *s);
				break;
			}
			continue;
		}
		if (*s != '$' || (s[1] != '{' && s[1] != '[')) {
			sb_putc(&b, *s);
			continue;
		}
		char close = s[1] == '{' ? '}' : ']';
		const char *name = s + 2;
		const char *e = strchr(name, close);
		size_t len;
		if (!e) {
			conf_err(p, loc,
				 "unterminated '$%c' in string "
				 "(missing '%c')",
				 s[1], close);
			ok = false;
			break;
		}
		len = (size_t)(e - name);
		if (len == 0 || len > 256) {
			conf_err(p, loc, "bad variable name in '$%c...%c'",
				 s[1], close);
			ok = false;
			break;
		}
		if (close == ']') {
			char env[257];
			const char *v;
			memcpy(env, name, len);
			env[len] = '\0';
			if (p->flags & CONF_LOAD_NO_ENV) {
				conf_err(p, loc,
					 "environment variables are "
					 "disabled here ('$[%s]')",
					 env);
				ok = false;
				break;
			}
			v = getenv(env);
			if (!v) {
				conf_err(p, loc,
					 "environment variable '%s' is"
					 " not set",
					 env);
				ok = false;
				break;
			}
			sb_puts(&b, v);
		} else if (!vars) {
			conf_err(p, loc,
				 "setval variables cannot be used "
				 "here ('${%.*s}'); only $[ENV] can",
				 (int)len, name);
			ok = false;
			break;
		} else {
			struct setvar *v = var_find(p, name, len);
			if (!v) {
				conf_err(p, loc,
					 "undefined variable '${%.*s}'"
					 " (not defined by setval)",
					 (int)len, name);
				ok = false;
				break;
			}
			if (v->state == 2) {
				ok = false; /* already reported */
				break;
			}
			if (v->state == 1) {
				conf_err(p, loc,
					 "setval variable '%s' refers "
					 "to itself",
					 v->name);
				ok = false;
				break;
			}
			if (!v->expanded) {
				v->state = 1;
				v->expanded =
				    expand(p, v->val->text, &v->val->loc, true,
					   depth + 1);
				v->state = v->expanded ? 0 : 2;
				if (!v->expanded) {
					/* make later uses fail quietly */
					ok = false;
					break;
				}
			}
			sb_puts(&b, v->expanded);
		}
		s = e;
	}
	if (ok && b.overflow) {
		conf_err(p, loc, "string too long after substitution");
		ok = false;
	}
	if (!ok) {
		free(b.s);
		return NULL;
	}
	return sb_take(&b);
}

static bool valid_var_name(const char *s)
{
	if (!(*s >= 'A' && *s <= 'Z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static void add_var(struct pctx *p, struct stmt *s, size_t at)
{
	struct item *name, *val;
	struct setvar *v, *nv;

	if (s->n - at != 2 ||
	    (s->items[at].kind != I_WORD && s->items[at].kind != I_STRING) ||
	    (s->items[at + 1].kind != I_WORD &&
	     s->items[at + 1].kind != I_STRING)) {
		conf_err(p, &s->items[at < s->n ? at : 0].loc,
			 "expected NAME \"value\" in setval");
		s->broken = true;
		return;
	}
	name = &s->items[at];
	val = &s->items[at + 1];
	if (!valid_var_name(name->text)) {
		conf_err(p, &name->loc,
			 "bad setval name '%s' (must start "
			 "with A-Z, then A-Z, 0-9 or '_')",
			 name->text);
		return;
	}
	v = var_find(p, name->text, strlen(name->text));
	if (v) {
		conf_err(p, &name->loc,
			 "duplicate setval variable '%s' "
			 "(first defined at %s:%u)",
			 name->text, v->loc.file, v->loc.line);
		return;
	}
	if (p->nvars == p->capvars) {
		size_t ncap = p->capvars ? p->capvars * 2 : 16;
		nv = ncap <= SIZE_MAX / sizeof(*nv)
			 ? realloc(p->vars, ncap * sizeof(*nv))
			 : NULL;
		if (!nv) {
			conf_nomem(p, &name->loc);
			return;
		}
		p->vars = nv;
		p->capvars = ncap;
	}
	v = &p->vars[p->nvars];
	memset(v, 0, sizeof(*v));
	v->name = strdup(name->text);
	/* the index borrows v->name, which moves with the array but is
	 * itself never reallocated */
	if (!v->name ||
	    conf_names_put(&p->varnames, v->name, p->nvars, NULL) < 0) {
		free(v->name);
		conf_nomem(p, &name->loc);
		return;
	}
	v->val = val;
	v->loc = name->loc;
	p->nvars++;
}

static void subst_block(struct pctx *p, struct block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct stmt *s = &b->stmts[i];
		for (size_t j = 0; j < s->n; j++) {
			struct item *it = &s->items[j];
			if (it->kind == I_BLOCK) {
				subst_block(p, it->block);
			} else if (it->kind == I_STRING && !it->substituted) {
				char *x;
				/* nothing to expand: expand() would copy it
				 * unchanged (most strings, e.g. addresses) */
				if (!strpbrk(it->text, "\\$")) {
					it->substituted = true;
					continue;
				}
				x = expand(p, it->text, &it->loc, true, 0);
				if (!x) {
					s->broken = true;
					continue;
				}
				it->text =
				    conf_arena_strndup(&p->arena, x, strlen(x));
				free(x);
				if (!it->text) {
					conf_nomem(p, &it->loc);
					it->text = empty_text;
					s->broken = true;
					continue;
				}
				it->substituted = true;
			}
		}
	}
}

void conf_substitute(struct pctx *p)
{
	struct block *top = p->top;

	if (!top)
		return;
	for (size_t i = 0; i < top->n; i++) {
		struct stmt *s = &top->stmts[i];
		if (s->broken || s->items[0].kind != I_WORD ||
		    strcmp(s->items[0].text, "setval") != 0)
			continue;
		if (s->n == 2 && s->items[1].kind == I_BLOCK) {
			struct block *sb = s->items[1].block;
			for (size_t j = 0; j < sb->n; j++)
				if (!sb->stmts[j].broken)
					add_var(p, &sb->stmts[j], 0);
		} else if (s->n >= 2 && s->items[1].kind != I_BLOCK) {
			add_var(p, s, 1);
		} else {
			conf_err(p, &s->items[0].loc,
				 "expected '{' or NAME \"value\" after setval");
			s->broken = true;
		}
	}
	subst_block(p, top);
}

/* ---------------- files and include ---------------- */

static int parse_text(struct pctx *p, const char *file, const void *buf,
		      size_t len)
{
	struct lex L;
	struct conf_loc end;

	memset(&L, 0, sizeof(L));
	L.p = p;
	L.r = rd_init(buf, len);
	L.file = file;
	L.line = 1;
	L.col = 1;
	if (!p->top) {
		p->top = calloc(1, sizeof(*p->top));
		if (!p->top)
			return -ENOMEM;
	}
	lx_next(&L);
	parse_block(&L, p->top, 0, true, NULL, &end);
	free(L.tb.s);
	return 0;
}

int conf_parse_buffer(struct pctx *p, const char *name, const void *buf,
		      size_t len)
{
	const char *file = conf_pctx_file(p, name);
	if (!file)
		return -ENOMEM;
	return parse_text(p, file, buf, len);
}

int conf_parse_file(struct pctx *p, const char *path,
		    const struct conf_loc *from)
{
	struct conf_loc here = {path, 0, 0};
	const struct conf_loc *at = from ? from : &here;
	struct stat st;
	char *buf = NULL;
	uint8_t *ubuf = NULL;
	size_t got = 0;
	const char *file;
	int rc = 0;

	if (p->depth >= CONF_INCLUDE_DEPTH) {
		conf_err(p, at,
			 "includes nested too deeply (limit %d) at "
			 "'%s'",
			 CONF_INCLUDE_DEPTH, path);
		return -ELOOP;
	}
	if (p->nfiles >= CONF_MAX_FILES) {
		conf_err(p, at, "too many configuration files (limit %d)",
			 CONF_MAX_FILES);
		return -EMFILE;
	}
	/* lib/filesrc.h: the file system, or (iked's engine) the bytes
	 * its privileged parent read */
	rc = filesrc_read(path, 0, CONF_MAX_FILE_SIZE, &ubuf, &got, &st, NULL,
			  0);
	if (rc == -EINVAL) {
		conf_err(p, at, "'%s' is not a regular file", path);
		return rc;
	}
	if (rc == -EFBIG) {
		conf_err(p, at, "'%s' is too large (limit %u bytes)", path,
			 CONF_MAX_FILE_SIZE);
		return rc;
	}
	if (rc < 0) {
		conf_err(p, at, "cannot open '%s': %s", path, strerror(-rc));
		return rc;
	}
	buf = (char *)ubuf;
	for (int i = 0; i < p->depth; i++) {
		if (st.st_dev && p->stack[i].dev == st.st_dev &&
		    p->stack[i].ino == st.st_ino) {
			conf_err(p, at,
				 "include loop: '%s' is already being "
				 "read",
				 path);
			free(buf);
			return -ELOOP;
		}
	}
	file = conf_pctx_file(p, path);
	if (!file) {
		free(buf);
		return -ENOMEM;
	}
	p->stack[p->depth].dev = st.st_dev;
	p->stack[p->depth].ino = st.st_ino;
	p->depth++;
	rc = parse_text(p, file, buf, got);
	p->depth--;
	if (p->depth == 0 && (p->flags & CONF_LOAD_SRCINDEX) && !p->main_buf) {
		p->main_buf = ubuf; /* kept for conf_srcidx_build */
		p->main_len = got;
		return rc;
	}
	free(buf);
	return rc;
}

static void handle_include(struct pctx *p, struct lex *L, struct stmt *s)
{
	const struct item *it;
	char *path, *full = NULL;
	char **gv = NULL;
	size_t gn = 0;
	int grc;

	if (s->n != 2 ||
	    (s->items[1].kind != I_STRING && s->items[1].kind != I_WORD)) {
		conf_err(p, &s->items[0].loc, "expected: include \"FILE\";");
		return;
	}
	it = &s->items[1];
	if (p->flags & CONF_LOAD_NO_INCLUDE) {
		conf_err(p, &s->items[0].loc, "include is disabled here");
		return;
	}
	path = expand(p, it->text, &it->loc, false, 0);
	if (!path)
		return;
	if (path[0] == '\0') {
		conf_err(p, &it->loc, "empty include path");
		free(path);
		return;
	}
	/* A relative path is taken from the including file's directory. */
	if (path[0] != '/' && path[0] != '~') {
		const char *slash = strrchr(L->file, '/');
		if (slash) {
			size_t dl = (size_t)(slash - L->file) + 1;
			full = malloc(dl + strlen(path) + 1);
			if (!full) {
				free(path);
				return;
			}
			memcpy(full, L->file, dl);
			strcpy(full + dl, path);
			free(path);
			path = full;
		}
	}
	grc = filesrc_glob(path, &gv, &gn);
	if (grc == -ENOENT) {
		if (strpbrk(path, "*?["))
			conf_warn(p, &it->loc,
				  "no file matches include "
				  "pattern '%s'",
				  path);
		else
			conf_err(p, &it->loc,
				 "cannot open include file "
				 "'%s': No such file or directory",
				 path);
	} else if (grc != 0) {
		conf_err(p, &it->loc, "cannot read include path '%s'", path);
	} else {
		for (size_t i = 0; i < gn; i++)
			conf_parse_file(p, gv[i], &it->loc);
	}
	filesrc_glob_free(gv, gn);
	free(path);
}
