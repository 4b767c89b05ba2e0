/*
 * interp.h - key tables shared by interp.c (parsing) and dump.c
 * (printing), so that what is printed is exactly what is parsed.
 * Internal to src/conf.  All tables are static const data.
 */
#ifndef RACOON_CONF_INTERP_H
#define RACOON_CONF_INTERP_H

#include "conf/conf_int.h"

struct ictx;

/* A cursor over the items of one statement. */
struct sc {
	struct ictx *x;
	const struct stmt *s;
	size_t i;
	const char *key;
	struct conf_loc keyloc;
};

struct kdef;
typedef bool (*kparse_fn)(struct sc *c, const struct kdef *k, void *field);
typedef void (*kdump_fn)(FILE *f, const struct kdef *k, const void *field);

struct kdef {
	const char *name;
	const char *alias;
	int id;	      /* bit in the object's set mask */
	unsigned ctx; /* contexts where valid (CTX_* or sa protocols) */
	kparse_fn parse;
	kdump_fn dump;
	size_t off;	 /* field offset in the object */
	const void *arg; /* enumdef / u32range */
	size_t uarg;	 /* slot, address flags, count offset, ... */
};

struct enumv {
	const char *name;
	int val;
};
struct enumdef {
	const struct enumv *v;
	size_t n;
};
struct u32range {
	uint32_t min, max;
};

/* KMP block contexts */
#define CTX_IKEV1 1u
#define CTX_IKEV2 2u
#define CTX_KINK  4u

/* address flags (kdef.uarg of address keys) */
#define AF_RWOK	    0x01u
#define AF_ANYOK    0x02u
#define AF_MACROOK  0x04u
#define AF_NAMEOK   0x08u
#define AF_PREFIXOK 0x10u
#define AF_PORTOK   0x20u
#define AF_UNIXOK   0x40u

extern const struct kdef conf_kmp_tab[];
extern const size_t conf_kmp_ntab;
extern const struct kdef conf_remote_tab[];
extern const struct kdef conf_selector_tab[];
extern const size_t conf_selector_ntab;
extern const struct kdef conf_policy_tab[];
extern const size_t conf_policy_ntab;
extern const struct kdef conf_ipsec_tab[];
extern const size_t conf_ipsec_ntab;
extern const struct kdef conf_sa_tab[];
extern const size_t conf_sa_ntab;
extern const struct kdef conf_iface_tab[];
extern const size_t conf_iface_ntab;
extern const struct kdef conf_resolver_tab[];
extern const size_t conf_resolver_ntab;

bool conf_proto_by_name(const char *name, int *proto);

/* dump.c: value printers, one per value kind */
void d_bool(FILE *f, const struct kdef *k, const void *v);
void d_time(FILE *f, const struct kdef *k, const void *v);
void d_bytes(FILE *f, const struct kdef *k, const void *v);
void d_u32(FILE *f, const struct kdef *k, const void *v);
void d_str(FILE *f, const struct kdef *k, const void *v);
void d_enum(FILE *f, const struct kdef *k, const void *v);
void d_addr(FILE *f, const struct kdef *k, const void *v);
void d_addrlist(FILE *f, const struct kdef *k, const void *v);
void d_alglist(FILE *f, const struct kdef *k, const void *v);
void d_authlist(FILE *f, const struct kdef *k, const void *v);
void d_exmode(FILE *f, const struct kdef *k, const void *v);
void d_strlist(FILE *f, const struct kdef *k, const void *v);
void d_idlist(FILE *f, const struct kdef *k, const void *v);
void d_pubkey(FILE *f, const struct kdef *k, const void *v);
void d_script(FILE *f, const struct kdef *k, const void *v);
void d_request(FILE *f, const struct kdef *k, const void *v);
void d_provide(FILE *f, const struct kdef *k, const void *v);
void d_ulproto(FILE *f, const struct kdef *k, const void *v);

void conf_provide_free(struct conf_provide *p);

#endif
