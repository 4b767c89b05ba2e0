/*
 * interp_int.h - what the files of the configuration interpreter
 * (interp*.c) share: the interpretation context and the functions one
 * section calls in another.  Internal to src/conf; see interp.c for how
 * the sections fit together.
 */
#ifndef RACOON_CONF_INTERP_INT_H
#define RACOON_CONF_INTERP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf_int.h"
#include "conf/interp.h"

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

/* The kinds that are one flat block of keys, handled alike by conf_flat_kinds.
 */
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

/* remote block key ids (kdef.id of conf_remote_tab) */
enum { RK_ACCEPTABLE_KMP, RK_SELECTOR_INDEX, RK_IKEV1, RK_IKEV2, RK_KINK };

/* selector and interface key ids (kdef.id of their tables) */
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

/* the kinds of flat blocks: table, array, default and field offsets */
struct flat_kind {
	enum conf_nkind nk;
	const char *what, *defwhat;
	const struct kdef *tab;
	const size_t *ntab;
	unsigned ctx;
	size_t arr, n, def;
	size_t name, loc, set;
};
extern const struct flat_kind conf_flat_kinds[FLAT_COUNT];
extern const size_t conf_remote_ntab;
extern const struct enumv conf_saproto_v[];
extern const enum conf_kmp conf_kmp_by_idx[3];

/* interp_scalar.c: statement cursor and scalar values */
const struct item *sc_peek(struct sc *c);
const struct item *sc_next(struct sc *c);
const char *item_desc(const struct item *it);
const struct conf_loc *sc_where(struct sc *c);
void sc_expected(struct sc *c, const char *what);
const char *sc_text(struct sc *c, const char *what);
bool sc_is_word(struct sc *c, const char *w);
bool sc_end(struct sc *c);
bool parse_u64(const char *s, uint64_t *out);
bool sc_number(struct sc *c, const char *what, uint64_t *v);
bool p_bool(struct sc *c, const struct kdef *k, void *f);
bool p_time(struct sc *c, const struct kdef *k, void *f);
bool p_bytes(struct sc *c, const struct kdef *k, void *f);
bool p_u32(struct sc *c, const struct kdef *k, void *f);
bool p_str(struct sc *c, const struct kdef *k, void *f);
bool p_enum(struct sc *c, const struct kdef *k, void *f);

/* interp_list.c: lists and the structured values */
bool conf_grow(void **v, size_t n, size_t sz);
bool p_addrlist(struct sc *c, const struct kdef *k, void *f);
bool p_addr(struct sc *c, const struct kdef *k, void *f);
bool p_alglist(struct sc *c, const struct kdef *k, void *f);
bool p_authlist(struct sc *c, const struct kdef *k, void *f);
bool p_kmplist(struct sc *c, const struct kdef *k, void *f);
bool p_exmode(struct sc *c, const struct kdef *k, void *f);
bool p_strlist(struct sc *c, const struct kdef *k, void *f);
bool p_idlist(struct sc *c, const struct kdef *k, void *f);
bool p_pubkey(struct sc *c, const struct kdef *k, void *f);
bool p_script(struct sc *c, const struct kdef *k, void *f);
bool p_request(struct sc *c, const struct kdef *k, void *f);
bool p_provide(struct sc *c, const struct kdef *k, void *f);
bool p_ulproto(struct sc *c, const struct kdef *k, void *f);

/* interp.c: the one loop and the top level */
void interp_block(struct ictx *x, const struct block *b, const struct kdef *tab,
		  size_t ntab, unsigned ctx, const char *what, void *base,
		  uint64_t *set, struct conf_loc *locs, size_t nlocs,
		  bool inherit, int only);
bool append_ptr(void *arrp, size_t *n, void *obj);
void *at_off(void *base, size_t off);
bool report_missing(const struct ictx *x, enum conf_nkind k);
void *obj_find(const struct ictx *x, enum conf_nkind k, void *const *arr,
	       size_t n, const char *nm);

/* interp_defaults.c: values from default { } */
struct conf_kmp_params *kmp_of(struct conf_remote *r, int idx);
void inherit_remote(struct ictx *x, struct conf_remote *r, struct rlocs *rl);
void inherit_flat(struct ictx *x, int k, void *o, struct conf_loc *locs);

/* interp_check.c: semantic checks */
void check_file(struct ictx *x, const char *path, const struct conf_loc *loc,
		const char *what, bool secret);
void check_remote(struct ictx *x, struct conf_remote *r, struct rlocs *rl,
		  bool is_default);
void check_selector(struct ictx *x, struct conf_selector *s,
		    const struct conf_loc *locs);
void check_policy(struct ictx *x, struct conf_policy *p,
		  const struct conf_loc *locs);
void check_ipsec(struct ictx *x, struct conf_ipsec *ip,
		 const struct conf_loc *locs);
void check_sa(struct ictx *x, struct conf_sa *sa, const struct conf_loc *locs,
	      bool is_default);

#endif
