/*
 * rw.h - road warriors (peers_ipaddr IP_RW / peers_sa_ipaddr IP_RW),
 * the configuration payload (RFC 7296 §3.15) with racoon2's addresspool,
 * and NAT-T completion (keepalives, mapping changes; RFC 7296 §2.23,
 * RFC 3948).  Implemented in rw.c, cp.c, natt.c (engine) and rw_conf.c,
 * rw_spmd.c (daemon only).
 *
 * The two open problems of the 2006 seed and the rules chosen:
 *
 * 1. Selectors under the responder's control.  The selector of a road
 *    warrior policy is an ENVELOPE, not a fixed address.  The initiator's
 *    TSi/TSr are narrowed into it (RFC 7296 §2.9); what lies entirely
 *    outside is refused with TS_UNACCEPTABLE.  When the IKE SA holds an
 *    address lease (CP), TSi is further narrowed to that single address.
 *    Each side is then reduced to its first CIDR block, so the negotiated
 *    TS is exactly what the kernel policy says.  The CHILD SA's policies
 *    are added through spmd as dynamic policies (POLICY ADD, tied to the
 *    SA: deleted with it, and by spmd if iked goes away); without spmd
 *    iked installs them itself through the kernel ops (owned indexes).
 *
 *    OVERLAP RULE (two road warriors proposing the same inner address,
 *    e.g. the same private address behind different NATs):
 *      - with an addresspool every IKE SA gets its own lease and TSi is
 *        narrowed to it, so the peers' selectors can never overlap;
 *      - without a pool, a peer-side TS that overlaps a TS already bound
 *        to a CHILD SA of another IKE SA is refused with TS_UNACCEPTABLE
 *        if that SA authenticated a DIFFERENT identity (first come, first
 *        served: nobody can hijack another's traffic), and REPLACES it
 *        (the older IKE SA, its CHILD SAs and dynamic policies are
 *        removed) if it is the SAME identity.
 *
 * 2. A returning road warrior.  When an IKE SA of an IP_RW remote is
 *    authenticated, every other IKE SA of the same remote and the same
 *    peer identity is removed (uniqueness "replace", as INITIAL_CONTACT
 *    does), with its CHILD SAs, its dynamic policies (by the ids spmd
 *    returned: static policies are never named, so never touched) and
 *    its lease.  The same identity gets the same pool address back when
 *    it is free.
 *
 * Ownership: struct rw_state hangs off struct iked (d->rw, created on
 * first use, freed by rw_free()); it owns leases, policy bindings and
 * per-IKE-SA records.  Records refer to SAs by id, never by pointer.
 */
#ifndef IKED_RW_H
#define IKED_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/cfg.h"
#include "ike/codec/ikev2.h"
#include "kernel/kernel.h"
#include "lib/ev.h"
#include "lib/hidx.h"

struct iked;
struct ike_sa;
struct child_sa;
struct ike_msg;
struct ikev2_wr;
struct kevent;
struct ike_ep;
struct conf_kmp_params;
struct conf_policy;

/* ---- configuration (rw_conf.c, daemon only) ---- */
/* `request` bits (same values as conf.h's CONF_REQ_*; checked there). */
#define RW_REQ_IP4     0x001u
#define RW_REQ_IP6     0x002u
#define RW_REQ_IP4_DNS 0x004u
#define RW_REQ_IP6_DNS 0x008u
void rw_conf_remote(struct ike_remote *r, const struct conf_kmp_params *k);
void rw_conf_policy(struct ike_policy *p, const struct conf_policy *cp);

/* ---- address pool (rw.c; pure, unit-tested) ---- */
struct rw_lease {
	struct rw_lease *next;
	char pool[CFG_NAME_MAX];
	struct kaddr addr;
	struct ike_id owner; /* identity it was given to */
	uint32_t sa_id;	     /* IKE SA holding it */
};

struct rw_pool_set {
	struct rw_lease *leases;
};

/*
 * Lease an address of family af from the ranges of pool `name` to the
 * IKE SA sa_id of identity id.  want (may be NULL or af 0) is the
 * address the client asked for: granted when inside the pool and free.
 * Otherwise the first free address.  Returns 0 and *out, -ENOENT if the
 * pool has no range of that family, -ENOSPC if it is exhausted.
 */
int rw_pool_alloc(struct rw_pool_set *ps, const char *name,
		  const struct cfg_range *ranges, size_t nranges, uint8_t af,
		  const struct kaddr *want, const struct ike_id *id,
		  uint32_t sa_id, struct kaddr *out);
/* Release every lease of sa_id; returns how many. */
size_t rw_pool_release(struct rw_pool_set *ps, uint32_t sa_id);
/* Move the leases of from_sa to to_sa (IKE SA rekeyed). */
void rw_pool_move(struct rw_pool_set *ps, uint32_t from_sa, uint32_t to_sa);
size_t rw_pool_count(const struct rw_pool_set *ps);
void rw_pool_free(struct rw_pool_set *ps);

/*
 * Responder narrowing of the peer's TS (TSi) and ours (TSr) into the
 * policy envelope (§2.9), then TSi to the lease when lease->af != 0, then
 * each side to its first CIDR block.  Returns 0 or IKEV2_N_TS_UNACCEPTABLE.
 */
int rw_narrow(const struct ikev2_ts_list *peer_ts,
	      const struct ikev2_ts_list *our_ts,
	      const struct ikev2_ts_list *env_peer,
	      const struct ikev2_ts_list *env_ours, const struct kaddr *lease,
	      struct ikev2_ts_list *peer_out, struct ikev2_ts_list *our_out);

/* ---- bindings: dynamic policies tied to CHILD SAs (rw.c) ---- */
#define RW_KPOL_MAX 3 /* out, in, fwd */

/*
 * A CHILD SA's dynamic policies.  Installed directly (dyn_id 0), only
 * what deletes or moves them is kept, not the three struct kpolicy
 * (1,032 octets): the out policy's selector (in and fwd mirror it), the
 * mode, the tunnel endpoints and each one's index; rw_bind_kpol()
 * rebuilds policy i exactly as it was installed.  The peer's identity
 * (for the overlap rule) is stored at its length after the structure:
 * allocate with rw_bind_new().
 */
struct rw_bind {
	struct rw_bind *next, *prev;   /* rw_binds.all, newest first */
	struct rw_bind *rnext, *rprev; /* rw_binds.ranges (!host) */
	uint64_t seq;		       /* add order (overlap rule ties) */
	uint32_t child_id, sa_id;
	uint32_t reqid;
	uint32_t dyn_id; /* spmd's id, 0 = installed directly */
	bool host;	 /* peer_ts is one IP address */
	uint8_t nk;	 /* direct install: policies out, in, (fwd) */
	uint8_t mode;	 /* enum kmode */
	uint32_t kidx[RW_KPOL_MAX];	  /* their indexes */
	struct ksel sel;		  /* the out policy's selector */
	struct kaddr tun_local, tun_peer; /* tunnel mode's endpoints */
	struct ikev2_ts peer_ts;	  /* the peer's side of the CHILD SA */
	uint8_t id_type;		  /* the peer's identity, */
	uint16_t id_len;		  /* id_len octets in id[] */
	uint8_t id[];
};

/* A binding for identity id (NULL: none), zeroed otherwise; free(). */
struct rw_bind *rw_bind_new(const struct ike_id *id);
/* The peer identity b was made with. */
void rw_bind_peer_id(const struct rw_bind *b, struct ike_id *out);
/* Policy i (0 out, 1 in, 2 fwd; i < b->nk) of a direct install, as
 * installed, with its index. */
void rw_bind_kpol(const struct rw_bind *b, unsigned i, struct kpolicy *kp);

/*
 * The set of bindings with its indexes (pure, unit-tested): by child id,
 * by IKE SA id, and for the overlap rule by the address of a peer TS that
 * is a single host (the road-warrior case: a leased or /32, /128 inner
 * address), beside a list of the others (ranges, usually few).  Each
 * lookup is O(1) expected for host selectors; a range query looks up each
 * address of the range when it has fewer addresses than there are host
 * bindings, else walks them all.  The set does not own the bindings'
 * policies, only the indexes; rw_binds_free() frees the bindings.
 */
struct rw_binds {
	struct rw_bind *all;	/* newest first */
	struct rw_bind *ranges; /* !host, newest first */
	struct hidx by_child, by_sa, by_host;
	size_t n, nhost;
	uint64_t seq;
};

/* 0, or -ENOMEM (b is then in no index).  b's child_id, sa_id and
 * peer_ts must be set, its identity given to rw_bind_new(). */
int rw_binds_add(struct rw_binds *s, struct rw_bind *b);
void rw_binds_del(struct rw_binds *s, struct rw_bind *b);
struct rw_bind *rw_binds_child(const struct rw_binds *s, uint32_t child_id);
/* The bindings of IKE SA sa_id: first = true for the first, then false
 * with the same it; the index must not change during the walk (start
 * again after rw_binds_del or rw_binds_set_ids). */
struct rw_bind *rw_binds_sa_next(const struct rw_binds *s, uint32_t sa_id,
				 struct hidx_it *it, bool first);
/* Change b's child id and IKE SA id: 0, or -ENOMEM (b unchanged). */
int rw_binds_set_ids(struct rw_binds *s, struct rw_bind *b, uint32_t child_id,
		     uint32_t sa_id);
void rw_binds_free(struct rw_binds *s);

enum rw_conflict {
	RW_OK = 0,
	RW_REFUSE,  /* overlaps a TS of another identity */
	RW_REPLACE, /* overlaps a TS of the same identity on another SA */
};

/* Overlap rule (see the top of this file); *other gets that SA's id:
 * with several overlapping bindings, REFUSE names the newest binding of
 * another identity, REPLACE the oldest of the same identity. */
enum rw_conflict rw_ts_conflict(const struct rw_binds *s,
				const struct ike_id *id, uint32_t sa_id,
				const struct ikev2_ts *peer_ts,
				uint32_t *other);

/* How dynamic policies are installed: through spmd (rw_spmd.c) or, by
 * default, straight through the kernel ops. */
struct rw_polreq {
	const char *selector; /* policy's selector name */
	bool sel_inbound;     /* that selector is inbound */
	enum kmode mode;
	struct ksel local, peer; /* src half = local TS, dst half = peer TS */
	struct kaddr sa_local, sa_peer; /* tunnel endpoints */
	uint8_t proto;
};

struct rw_dynpol_ops {
	/* 0 and *dyn_id, *reqid; or negative errno (-EEXIST, ...). */
	int (*add)(struct iked *d, const struct rw_polreq *q, uint32_t *dyn_id,
		   uint32_t *reqid, char *err, size_t errlen);
	void (*del)(struct iked *d, uint32_t dyn_id);
	/* Move the tunnel endpoints (NAT mapping change); may be NULL. */
	void (*migrate)(struct iked *d, uint32_t dyn_id,
			const struct kaddr *old_local,
			const struct kaddr *old_peer,
			const struct kaddr *new_local,
			const struct kaddr *new_peer);
	/* true when this method can be used now (spmd connected). */
	bool (*usable)(struct iked *d);
	/* The reqid spmd gave static policy p (spmif REQID), 0 when none
	 * or spmd is not there; may be NULL (child.c policy_reqid). */
	uint32_t (*reqid)(struct iked *d, const struct ike_policy *p);
};

struct rw_sa;

struct rw_state {
	struct rw_pool_set pool;
	struct rw_binds binds;
	struct rw_sa *sas; /* and by_sa_rec, by IKE SA id */
	struct hidx by_sa_rec;
	const struct rw_dynpol_ops *ops; /* NULL = kernel */
	uint32_t next_reqid;		 /* direct installs */
	uint32_t policies_added, policies_removed;
	struct ev_timer ka_timer; /* NAT keepalive scan (natt.c) */
	bool ka_running;
	unsigned keepalives_sent;
};

struct rw_state *rw_get(struct iked *d);
void rw_free(struct iked *d);
void rw_set_ops(struct iked *d, const struct rw_dynpol_ops *ops);
/* Daemon start (rw_spmd.c): spmd ops, NAT keepalive timer. */
void rw_daemon_init(struct iked *d);

/* ---- hooks called by the engine ---- */

/* ike_auth.c responder, once the peer is authenticated: uniqueness
 * rule, CP request (lease allocation). */
void rw_auth_established(struct ike_sa *sa, const struct ike_msg *m);
/* child.c child_process_r: narrowing to the lease, overlap rule, dynamic
 * policies and reqid.  Returns 0 or an error notify type.  spi (may be
 * NULL): the child's KOP_GETSPI (kernel.h), rc KOP_TODO; when the
 * policies go straight to the kernel it rides in their batch with the
 * new reqid (one round trip to the privileged parent for both) and gets
 * its rc; else it stays KOP_TODO.  A larval SA it made is the caller's,
 * also when this fails. */
int rw_child_process_r(struct ike_sa *sa, const struct ike_policy *p,
		       const struct ike_msg *m, struct child_sa *c,
		       struct ikev2_ts_list *peer_ts,
		       struct ikev2_ts_list *our_ts, struct kop *spi);
/* child.c create_child_initiate: our rekey of old keeps its reqid/TS. */
void rw_child_rekey(const struct child_sa *old, struct child_sa *c,
		    struct ikev2_ts_list *tsi, struct ikev2_ts_list *tsr);
/* child.c child_uninstall: remove the child's dynamic policies (or hand
 * them to the child that rekeyed it).  Through spmd they go now; when
 * installed directly their KOP_POL_DEL go into ops (policies in pol, up
 * to RW_KPOL_MAX each) for the caller's batch with the child's SAs:
 * returns how many (0 when nothing is left to delete). */
size_t rw_child_gone(struct child_sa *c, struct kop *ops, struct kpolicy *pol);
/* v1.c, IKEv1 responder: the dynamic policies of a Quick Mode CHILD SA of
 * a peers_sa_ipaddr IP_RW policy (local_ts: src half, peer_ts: dst half,
 * as v1_child keeps them); *reqid is the one for its SAs.  0 or a
 * negative errno (-EEXIST: the peer's selectors belong to another SA). */
int rw_v1_bind(struct iked *d, uint32_t sa_id, uint32_t child_id,
	       const struct ike_policy *p, const struct ksel *local_ts,
	       const struct ksel *peer_ts, const struct kaddr *sa_local,
	       const struct kaddr *sa_peer, uint32_t *reqid, char *err,
	       size_t errlen);
/* ... and their removal with the CHILD SA (nothing if it had none). */
void rw_v1_unbind(struct iked *d, uint32_t child_id);
/* tasks.c ike_sa_down: release the lease, remove an applied address. */
void rw_ike_down(struct ike_sa *sa);
/* The lease of an IKE SA (af 0 if none). */
const struct kaddr *rw_sa_lease(struct iked *d, uint32_t sa_id, uint8_t af);

/* ---- configuration payload (cp.c) ---- */
/* Initiator: CFG_REQUEST for the remote's `request` bits. */
void cp_put_request(struct ikev2_wr *b, struct ike_sa *sa,
		    const struct ike_remote *r);
/* Initiator: read CFG_REPLY, apply the address (rw.c record). */
void cp_read_reply(struct ike_sa *sa, const struct ike_msg *m);
/* Responder: parse the CFG_REQUEST, lease addresses.  Returns 0, or
 * IKEV2_N_INTERNAL_ADDRESS_FAILURE (the IKE SA still stands). */
int cp_handle_request(struct ike_sa *sa, const struct ike_msg *m);
/* Responder: CFG_REPLY when a request was handled. */
void cp_put_reply(struct ikev2_wr *b, struct ike_sa *sa);
/* Add/remove a /32 (/128) address on an interface (netlink). */
/* Where leased CP addresses go (the parent allows no other, priv.h). */
#define CP_IFNAME "lo"
int cp_addr_apply(const struct kaddr *a, const char *ifname, bool add);

/* ---- NAT-T (natt.c) ---- */

/* NAT-D (RFC 7296 §2.23): our two NAT_DETECTION notifies (source = us,
 * destination = the peer). */
struct ikev2_wr;
void natt_put_natd_v2(struct ikev2_wr *b, const struct ike_sa *sa);
/* The peer's NAT-D notifies of an IKE_SA_INIT message m: sets
 * sa->nat_local / sa->nat_peer (nothing when the peer sent none). */
struct ike_msg;
void natt_check_natd_v2(struct ike_sa *sa, const struct ike_msg *m);
/* Start the 1 s keepalive scan (daemon). */
void natt_start(struct iked *d);
void natt_stop(struct iked *d);
/* One scan: send due keepalives (tests call it with a fake clock). */
unsigned natt_keepalive_scan(struct iked *d, uint64_t now_ms);
/* The peer's address/port changed on an authenticated message: move
 * the CHILD SAs (encap ports, outer address) and dynamic policies. */
void natt_peer_moved(struct ike_sa *sa, const struct ike_ep *old_peer);
/* Kernel KEV_MAPPING (XFRM / userspace data plane). */
void natt_kernel_mapping(struct iked *d, const struct kevent *ev);
/* Only port 4500 is configured for this local address. */
bool natt_only_4500(struct iked *d, const struct kaddr *local);

#endif
