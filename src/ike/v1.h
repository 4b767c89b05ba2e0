/*
 * v1.h - IKEv1 inside iked: the glue between the IKEv1 engine
 * (src/ikev1, no sockets/timers/kernel) and the daemon.
 *
 *   v1_conf.c  the `ikev1 {}` block of a remote and the IKEv1 view of
 *              its policies (struct cfg_v1, ike_policy.v1_*); what the
 *              engine cannot do is a configuration error with file:line
 *   v1.c       version dispatch target (ISAKMP major version 1 on 500
 *              and, after the non-ESP marker, 4500), the IKEv1 SA table,
 *              retransmission with back-off, lifetimes, DPD, CHILD SAs
 *              installed and deleted through the kernel ops table,
 *              initiation (ACQUIRE for a remote whose acceptable_kmp
 *              starts with ikev1), key export
 *
 * Ownership: struct iked owns the list of struct v1_sa (d->v1sas); each
 * v1_sa owns its engine SA (ikev1_sa_free wipes the keys), its timers
 * and its CHILD SAs; a CHILD SA removes what it has in the kernel before
 * it is freed.  Remotes and policies are referred to by name.
 */
#ifndef IKED_V1_H
#define IKED_V1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/iked.h"
#include "ikev1/ikev1.h"

struct conf_remote;
struct conf_policy;
struct conf_id_list;
struct wr;

/* ---- v1_conf.c ---- */
int v1_conf_remote(struct ike_remote *r, const struct conf_remote *cr,
		   char *err, size_t errlen);
int v1_conf_policy(struct ike_cfg *cfg, const struct conf_policy *cp, char *err,
		   size_t errlen);
/* cfg_conf.c helpers shared with v1_conf.c */
int cfg_id_from(struct ike_id *out, const struct conf_id_list *l);
bool cfg_psk_load(const char *remote, const char *path, uint8_t *psk,
		  size_t *psk_len);

/* ---- v1.c ---- */
struct v1_child {
	struct v1_child *next;
	uint32_t id; /* unique, shared with IKEv2 CHILD SA ids */
	char policy[CFG_NAME_MAX];
	uint32_t reqid;
	/* the SA that names the bundle: IPPROTO_ESP, or IPPROTO_AH when
	 * there is no ESP (sa_index { ah; }) */
	uint8_t proto;
	uint32_t spi_in, spi_out;
	bool in_installed, out_installed;
	uint16_t encr, keybits, integ; /* IKEv2 transform IDs */
	/* AH beside ESP (sa_index { ah; esp; }): its own SA pair */
	bool ah;
	uint32_t ah_spi_in, ah_spi_out;
	uint16_t ah_integ;
	bool ah_in_installed, ah_out_installed;
	/* IPComp (RFC 3173): IKEV2_IPCOMP_* (same numbers as RFC 2407
	 * §4.4.5), 0 = none; CPIs in and out */
	uint8_t ipcomp;
	uint16_t cpi_in, cpi_out;
	bool cpi_in_installed, cpi_out_installed;
	bool pfs, udp_encap;
	struct ksel ts_local, ts_remote;
	uint64_t created_ms, rekey_ms, expire_ms;
	bool rekeying; /* a new Quick Mode replaces it */
	bool ours;     /* we initiated its Quick Mode: we renew it */
	char install_err[128];
};

/* larval SAs (getspi) of Quick Modes in flight: ESP or AH and a CPI */
#define V1_LARVAL_MAX (IKEV1_MAX_QM * 3)

struct v1_sa {
	struct v1_sa *next;
	struct iked *d;
	uint32_t id;
	bool initiator;
	bool dead;
	bool established;
	bool aggressive; /* Phase 1 in Aggressive Mode (RFC 2409 §5.4) */
	char remote[CFG_NAME_MAX];
	char policy[CFG_NAME_MAX]; /* the policy of its Quick Modes */
	uint32_t reqid;
	struct ike_ep local, peer;
	bool natt;	     /* port 4500 framing (RFC 3947 §4) */
	uint64_t natt_ka_ms; /* natt.c: last NAT keepalive sent */

	struct ikev1_conf conf; /* the engine borrows it */
	uint8_t psk[CFG_PSK_MAX];
	struct ikev1_sa *e;

	/* our last message waits for an answer: resend with back-off */
	bool waiting;
	unsigned tries;
	unsigned rtx_ms;
	struct ev_timer rtx;
	/* We sent Aggressive Mode's last message (nothing answers it, RFC
	 * 2409 §5.4) and have heard nothing from the peer since: our first
	 * Quick Mode may reach it before that message is processed and be
	 * dropped (strongSwan does), so it is resent once after
	 * V1_AM_QM_EARLY_MS (rtx_early) ahead of the usual schedule. */
	bool am3_unheard;
	bool rtx_early;
	struct ev_timer life; /* negotiation limit, then ISAKMP lifetime */
	struct ev_timer dpd;
	struct ev_timer child_timer; /* CHILD SA rekey/expiry sweep */
	unsigned dpd_fails;
	bool dpd_out;
	bool qm_queued; /* start a Quick Mode once established */
	/* Phase 1 re-authentication: the SA we initiated starts a new Main
	 * Mode at 90 % of its lifetime (reauth_started); the new one
	 * (reauth_of = our id) renews our CHILD SAs by Quick Modes, then
	 * Deletes us */
	bool reauth_started;
	uint32_t reauth_of;
	uint32_t larval[V1_LARVAL_MAX]; /* getspi SPIs not yet in a child */
	uint8_t larval_proto[V1_LARVAL_MAX]; /* IPPROTO_ESP/AH/COMP */
	unsigned n_larval;

	uint64_t created_ms, established_ms, last_recv_ms, expire_ms;
	uint64_t bytes_in, bytes_out;
	struct v1_child *children;
};

/* ISAKMP header, major version 1 (RFC 2408 §3.1): the octet after
 * the next-payload octet. */
static inline bool v1_is_ikev1(const uint8_t *pkt, size_t len)
{
	return len >= 28 && (pkt[17] >> 4) == 1;
}

void v1_input(struct iked *d, const struct ike_ep *local,
	      const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	      size_t len);
/* Main Mode + Quick Mode for policy p of remote r (an ISAKMP SA to the
 * remote is reused).  reqid 0: the policy's. */
int v1_initiate(struct iked *d, const struct ike_remote *r,
		const struct ike_policy *p, uint32_t reqid, char *err,
		size_t errlen);
/* Kernel EXPIRE of an IKEv1 CHILD SA: true if it was one. */
bool v1_kernel_expire(struct iked *d, uint32_t spi, bool hard);
/* Exit: Deletes to the peers, kernel state removed, all freed. */
void v1_shutdown(struct iked *d);
/* Free the SAs marked dead (the reaper). */
void v1_reap(struct iked *d);
/* ikedctl: delete the ISAKMP SA (with its children) or, with child,
 * the CHILD SA of that id; -ENOENT. */
int v1_delete_id(struct iked *d, uint32_t id, bool child);
unsigned v1_count(const struct iked *d, bool established_only);

#endif
