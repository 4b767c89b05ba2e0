/*
 * conf_int.h - internals shared by the files of src/conf (not for the
 * daemons): the syntax tree produced by parse.c and consumed by
 * interp.c, and diagnostic helpers.
 *
 * The tree is owned by struct pctx and freed by tree_free(); item text
 * is heap memory owned by its item.  File names live in pctx->files and
 * move into struct conf at the end of a load (conf_loc.file points at
 * them), so locations stay valid as long as the struct conf.
 */
#ifndef RACOON_CONF_INT_H
#define RACOON_CONF_INT_H

#include <sys/types.h>

#include "conf/conf.h"

#define CONF_MAX_DEPTH 32        /* nesting of { } */
#define CONF_INCLUDE_DEPTH 10    /* as racoon2 */
#define CONF_MAX_FILES 256       /* files read in one load */
#define CONF_MAX_FILE_SIZE (16u << 20)
#define CONF_MAX_TOKEN 65536     /* longest word or string */
#define CONF_MAX_SUBST_DEPTH 16  /* ${A} -> ${B} -> ... */

enum item_kind { I_WORD, I_STRING, I_COMMA, I_BLOCK };

struct block;

struct item {
	enum item_kind kind;
	struct conf_loc loc;
	char *text;           /* word, or string (raw until substituted) */
	bool substituted;     /* string text is final */
	struct block *block;  /* I_BLOCK */
	struct conf_loc end;  /* I_BLOCK: location of the '}' */
};

struct stmt {
	struct item *items;
	size_t n, cap;
	bool broken; /* a syntax error was reported inside: skip quietly */
};

struct block {
	struct stmt *stmts;
	size_t n, cap;
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
	size_t nvars;
	int quiet; /* >0: do not report (re-interpretation of defaults) */
};

/* diag.c-ish helpers (conf.c) */
void conf_err(struct pctx *p, const struct conf_loc *loc, const char *fmt,
	      ...) __attribute__((format(printf, 3, 4)));
void conf_warn(struct pctx *p, const struct conf_loc *loc, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));
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
void conf_ipsec_free(struct conf_ipsec *i);
void conf_sa_free(struct conf_sa *s);

/* dump.c: quote s for racoon2 syntax (always in "..."). */
void conf_dump_string(FILE *f, const char *s);

#endif
