/*
 * spd_conf.h - turn racoon2.conf selectors and policies into kernel
 * policies (struct spd_entry), for spmd's static set and for dynamic
 * (road warrior) policies requested over spmif.
 *
 * The struct conf is borrowed; the entries produced copy every name.
 */
#ifndef RACOON_SPD_CONF_H
#define RACOON_SPD_CONF_H

#include "conf/conf.h"
#include "lib/paths.h"
#include "spm/spd.h"

/*
 * Static set of c: for every selector whose policy has `install on`,
 * whose addresses are not IP_RW (nor its tunnel peer), the cross
 * product of its expanded src x dst addresses (same family) gives one
 * policy in the selector's direction, plus the fwd policy Linux needs
 * for inbound tunnel mode (none without KF_FWD_POLICY).  Reqids
 * come from spd (stable per selector pair across reloads).  Problems that make
 * a selector unusable are appended to errbuf and skipped; returns 0 or -ENOMEM.
 */
int spd_conf_build(struct spd *spd, const struct conf *c, struct spd_set *out,
		   char *errbuf, size_t errlen);

/* A POLICY ADD request after parsing. */
struct spd_dyn_req {
	const char *selector;
	uint64_t lifetime_sec;
	bool has_mode;
	enum kmode mode;
	struct kaddr sp_src, sp_dst;
	uint8_t src_plen, dst_plen;
	struct kaddr sa_src, sa_dst; /* af 0 = from the policy */
	bool has_proto, has_sport, has_dport;
	uint8_t proto;
	uint16_t sport, dport;
};

/*
 * Entries (2 or 3: both directions, fwd in tunnel mode if the backend
 * has a fwd SPD) for a dynamic
 * policy from the template selector req->selector.  Returns 0,
 * -ENOENT (no such selector), or -EINVAL with a reason in errbuf.
 */
int spd_conf_dynamic(struct spd *spd, const struct conf *c,
		     const struct spd_dyn_req *req, struct spd_entry e[3],
		     size_t *n, char *errbuf, size_t errlen);

/* The spmd socket path of c (first `spmd { unix ... }`) or default. */
const char *spd_conf_socket(const struct conf *c);
#define SPMD_DEFAULT_SOCKET R2_SPMIF_SOCKET

/* Priority of a selector: more specific = lower number = preferred. */
uint32_t spd_priority(const struct ksel *s);

#endif
