/*
 * conf_int.h - internals shared by the files of src/conf (not for the
 * daemons): the syntax tree produced by parse.c and consumed by
 * interp.c, and diagnostic helpers.
 *
 * The tree is owned by struct pctx: the top block and its statement
 * array are heap memory (freed by conf_tree_free()); everything below
 * them -- nested blocks, every statement's item array, item text,
 * substituted strings -- lives in pctx->arena and is freed at once
 * with it at the end of the load (pctx_done).  Nothing of the tree may
 * outlive the load: the interpreter copies what the struct conf keeps
 * (incr.c's partial reload builds a struct conf of its own the same
 * way and splices conf objects, never tree nodes).  File names live in
 * pctx->files and move into struct conf at the end of a load
 * (conf_loc.file points at them), so locations stay valid as long as
 * the struct conf.
 */
#ifndef RACOON_CONF_INT_H
#define RACOON_CONF_INT_H

#include <sys/types.h>

#include "conf/conf.h"
#include "conf/names.h"

#define CONF_MAX_DEPTH	     32	 /* nesting of { } */
#define CONF_INCLUDE_DEPTH   10	 /* as racoon2 */
#define CONF_MAX_FILES	     256 /* files read in one load */
#define CONF_MAX_FILE_SIZE   (16u << 20)
#define CONF_MAX_TOKEN	     65536 /* longest word or string */
#define CONF_MAX_SUBST_DEPTH 16	   /* ${A} -> ${B} -> ... */
/*
 * Sanity limits on counts (racoon2.conf(5)).  Reaching one is an error
 * at the file:line:col of the first object or value over it; nothing is
 * ever dropped silently.  Objects: per kind (remote, selector, policy,
 * ipsec, sa, addresspool), some 2-3 KB of memory each while loading.
 * Lists: values of one key (addresses, algorithms, names, ids, ranges).
 */
#define CONF_MAX_OBJECTS 1000000
#define CONF_MAX_LIST	 65536
/* CONF_MAX_OBJECTS; lowered only by the unit tests */
extern size_t conf_max_objects;

enum item_kind { I_WORD, I_STRING, I_COMMA, I_BLOCK };

/* arena.c: one load's bump allocator; everything is freed at once. */
struct conf_arena_chunk;
struct conf_arena {
	struct conf_arena_chunk *chunks;
	unsigned char *next; /* free bytes of the current chunk */
	size_t left;
	size_t bytes; /* total held, for tests */
};
void *conf_arena_alloc(struct conf_arena *a, size_t n, size_t align);
char *conf_arena_strndup(struct conf_arena *a, const char *s, size_t n);
void conf_arena_free(struct conf_arena *a);

struct block;

/* One per token of the file: kept small (40 bytes), there are many. */
struct item {
	struct conf_loc loc;
	char *text; /* word, or string (raw until substituted); arena */
	struct block *block; /* I_BLOCK */
	enum item_kind kind;
	bool substituted; /* string text is final */
};

struct stmt {
	struct item *items; /* arena, exactly n */
	size_t n;
	bool broken; /* a syntax error was reported inside: skip quietly */
};

struct block {
	struct stmt *stmts; /* arena, exactly n; the top block: heap, cap */
	size_t n, cap;
	/* the last statement had no ';' before '}' (at nosemi): accepted
	 * in a statement block, an error in a value list, as racoon2 */
	bool has_nosemi;
	struct conf_loc nosemi;
};

struct setvar {
	char *name;
	struct item *val; /* borrowed from the tree */
	struct conf_loc loc;
	int state; /* 0 idle, 1 expanding (loop detection) */
	char *expanded;
};

struct incl_id {
	dev_t dev;
	ino_t ino;
};

struct pctx {
	struct conf_diag *diag;
	struct conf_diag own_diag; /* used when the caller passed NULL */
	unsigned flags;
	char **files;
	size_t nfiles;
	struct incl_id stack[CONF_INCLUDE_DEPTH + 1];
	int depth;
	struct block *top;
	struct setvar *vars;
	size_t nvars, capvars;
	struct conf_names varnames; /* setval name -> index in vars */
	int quiet; /* >0: do not report (re-interpretation of defaults) */
	/* CONF_LOAD_SRCINDEX: the main file's bytes, for conf_srcidx */
	uint8_t *main_buf;
	size_t main_len;
	/* the tree below the top block (see above) */
	struct conf_arena arena;
	/* parse.c's work stacks: the items of the statements and the
	 * statements of the blocks being read (nested ones above their
	 * parents'), copied into the arena, exactly sized, when complete */
	struct item *istk;
	size_t nistk, capistk;
	struct stmt *sstk;
	size_t nsstk, capsstk;
};

/* Named object kinds, each with its own name space. */
enum conf_nkind {
	NK_REMOTE,
	NK_SELECTOR,
	NK_POLICY,
	NK_IPSEC,
	NK_SA,
	NK_ADDRPOOL,
	NK_COUNT
};

/*
 * Every struct conf is allocated as the first member of a conf_full
 * (by conf_interpret, freed by conf_free), so the name indexes travel
 * with it without changing the public struct.  names[k] maps an
 * object's name (borrowed from the object) to its index in the
 * corresponding array of struct conf.
 */
struct conf_srcidx;
struct conf_full {
	struct conf c;
	struct conf_names names[NK_COUNT];
	/* CONF_LOAD_SRCINDEX: the main file's top-level statements (incr.c) */
	struct conf_srcidx *src;
};

static inline struct conf_full *conf_full_of(struct conf *c)
{
	return (struct conf_full *)(void *)c; /* c is the first member */
}

static inline const struct conf_full *conf_cfull_of(const struct conf *c)
{
	return (const struct conf_full *)(const void *)c;
}

/* diag.c-ish helpers (conf.c) */
void conf_err(struct pctx *p, const struct conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conf_warn(struct pctx *p, const struct conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Out of memory at loc: reported even in quiet mode, so a load that
 * lost something to a failed allocation never succeeds. */
void conf_nomem(struct pctx *p, const struct conf_loc *loc);
const char *conf_pctx_file(struct pctx *p, const char *name);

/* parse.c */
int conf_parse_file(struct pctx *p, const char *path,
		    const struct conf_loc *from);
int conf_parse_buffer(struct pctx *p, const char *name, const void *buf,
		      size_t len);
void conf_substitute(struct pctx *p);
void conf_tree_free(struct block *b);

/* interp.c */
struct conf *conf_interpret(struct pctx *p);

/* addr.c */
int conf_addr_parse(const char *text, struct conf_addr *a, char *err,
		    size_t errlen);

/* conf.c */
void conf_addr_list_free(struct conf_addr_list *l);
void conf_alg_list_free(struct conf_alg_list *l);
void conf_kmp_params_free(struct conf_kmp_params *k);
void conf_remote_free(struct conf_remote *r);
void conf_policy_free(struct conf_policy *p);
void conf_selector_free(struct conf_selector *s);
void conf_ipsec_free(struct conf_ipsec *i);
void conf_sa_free(struct conf_sa *s);

/* incr.c: index of the top-level statements of buf (NULL if the text
 * is not one that conf_delta_prepare can handle), and its release. */
struct conf_srcidx *conf_srcidx_build(const uint8_t *buf, size_t len,
				      unsigned flags, const struct conf *c);
void conf_srcidx_free(struct conf_srcidx *x);

/* dump.c: quote s for racoon2 syntax (always in "..."). */
void conf_dump_string(FILE *f, const char *s);

#endif
