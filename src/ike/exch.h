/*
 * exch.h - internal interface between the SA/task core (sa.c), the
 * exchange modules (ike_init.c, ike_auth.c, child.c, info.c) and the
 * daemon glue (iked.c).  Not for use outside src/ike.
 */
#ifndef IKED_EXCH_H
#define IKED_EXCH_H

#include "ike/iked.h"

const char *exch_name(uint8_t exch);

/*
 * Build and send the request of task t (sa->active == t on entry).
 * Returns 0 when a request is out (the response comes back through
 * the exchange's response handler), 1 when the task has nothing to do
 * any more, or a negative errno.
 */
int task_initiate(struct ike_sa *sa, struct task *t);

/* Timers. */
void ike_life_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
/* ---- liveness checks, RFC 7296 §2.4 (dpd.c) ---- */
void ike_dpd_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
/* (Re)start the check timer of an established SA (dpd_delay). */
void ike_dpd_arm(struct ike_sa *sa);
/* An authenticated message from the peer: it is alive. */
void dpd_heard(struct ike_sa *sa);
int dpd_initiate(struct ike_sa *sa, struct task *t);
void dpd_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m);
void child_timer_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
/* A random share of base in [0, base * pct / 100] (0 without random
 * bytes): spreads periodic timers of SAs set up in a burst. */
uint64_t ike_jitter_ms(uint64_t base, unsigned pct);
/*
 * Deadlines of an IKE or CHILD SA established at now with a lifetime of
 * life ms (0: none, both deadlines 0): expiry at the end, rekey at 90%
 * minus up to 10% jitter so that both ends rarely start at once (RFC
 * 7296 §2.8.1 still handles it when they do).
 */
void life_deadlines(uint64_t now, uint64_t life, uint64_t *rekey_ms,
		    uint64_t *expire_ms);
/* (Re)start t for the earlier of rekey_ms (while ahead) and expire_ms;
 * stopped when neither is set (0). */
void life_timer_arm(struct ev_loop *loop, struct ev_timer *t, uint64_t rekey_ms,
		    uint64_t expire_ms);

/* The IKE SA goes away: remove its children from the kernel, run the
 * down scripts.  Called once from ike_sa_kill(). */
void ike_sa_down(struct ike_sa *sa);

/* Start timers once an SA is established (rekey/expiry/dpd). */
void ike_sa_established(struct ike_sa *sa);
/* Timers only (rekeyed successors: no "up" script). */
void ike_established_quiet(struct ike_sa *sa);
/* Remove a child now (kernel, script, memory). */
void child_remove(struct child_sa *c, const char *why);
void child_established(struct child_sa *c, const struct ike_policy *p);

/* Queue work on an SA and kick the task manager. */
int ike_queue_child_rekey(struct ike_sa *sa, struct child_sa *c);
int ike_queue_child_delete(struct ike_sa *sa, struct child_sa *c);
/* Is c the child our request out on sa (IKE_AUTH, CREATE_CHILD_SA) is
 * creating, still owned by that task (not in sa->children)? */
bool child_creation_in_flight(const struct ike_sa *sa,
			      const struct child_sa *c);
int ike_queue_ike_rekey(struct ike_sa *sa);
int ike_queue_ike_delete(struct ike_sa *sa);

/* Remove a child's SAs from the kernel (both directions). */
void child_uninstall(struct child_sa *c);
/*
 * Removes the SA pairs v[0..npairs) (at most 3: ESP, AH, the IPComp
 * pair) of a CHILD SA and then the caller's operations more[0..nmore)
 * (its dynamic policies' KOP_POL_DEL, rw_child_gone) from the kernel in
 * one k_batch (two beyond KBATCH_MAX), logging failures; clears the
 * pairs' installed flags.
 */
struct child_pair {
	uint8_t proto;
	uint32_t spi_in, spi_out;
	bool *in_installed, *out_installed;
};
void child_pairs_del(struct iked *d, uint32_t child_id,
		     const struct kaddr *local, const struct kaddr *peer,
		     const struct child_pair *v, size_t npairs,
		     const struct kop *more, size_t nmore);
/* Removes one SA pair of a CHILD SA (ESP, AH or the IPComp pair; IKEv2
 * and IKEv1 alike) from the kernel, logging failures; clears the flags. */
void child_pair_del(struct iked *d, uint32_t child_id, uint8_t proto,
		    const struct kaddr *local, const struct kaddr *peer,
		    uint32_t spi_in, uint32_t spi_out, bool *in_installed,
		    bool *out_installed);

/* Kernel EXPIRE event for one of our inbound/outbound SAs. */
void child_kernel_expire(struct iked *d, uint32_t spi, bool hard);

/* ---- message helpers (input.c) ---- */
int msg_start(struct ike_sa *sa, struct ikev2_wr *b, uint8_t exch,
	      bool response, uint32_t mid, bool encrypted);
int msg_send_request(struct ike_sa *sa, struct ikev2_wr *b, uint8_t exch);
int msg_send_response(struct ike_sa *sa, struct ikev2_wr *b, uint32_t mid);
void send_error_response(struct ike_sa *sa, uint8_t exch, uint32_t mid,
			 uint16_t notify, const void *data, size_t len);
void send_init_notify(struct iked *d, const struct ike_ep *local,
		      const struct ike_ep *peer, bool natt,
		      const struct ikev2_hdr *req, uint16_t notify,
		      const void *data, size_t len);
/* Hand a response to the task that sent the request (tasks.c). */
void task_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m);
/* A verified response the codec refused for its exchange's payload rules
 * (why says which): the task fails as it would on a refusal. */
void task_rejected(struct ike_sa *sa, struct task *t, const struct ike_msg *m,
		   const char *why);

/* ---- IKE_SA_INIT (ike_init.c) ---- */
void prefs_ike(const struct ike_remote *r, struct ikev2_prefs *p);
int ike_sa_keys_setup(struct ike_sa *sa, const struct ikev2_sa_keys *k,
		      bool as_init);
int ike_init_initiate(struct ike_sa *sa, struct task *t);
/* input.c, before an IKE_SA_INIT response is taken as the answer: false
 * when it is to be ignored (RFC 7296 §2.21.1), the request stays out. */
bool ike_init_response_usable(const struct ike_sa *sa, const struct ike_msg *m);
void ike_init_process_i(struct ike_sa *sa, struct task *t,
			const struct ike_msg *m);
void ike_init_process_r(struct iked *d, const struct ike_ep *local,
			const struct ike_ep *peer, bool natt,
			const struct ike_msg *m);
void ike_sa_nego_timer(struct ike_sa *sa);

/* ---- IKE_AUTH (ike_auth.c) ---- */
int ike_auth_initiate(struct ike_sa *sa, struct task *t);
void ike_auth_process_i(struct ike_sa *sa, struct task *t,
			const struct ike_msg *m);
void ike_auth_process_r(struct ike_sa *sa, const struct ike_msg *m);

/* ---- CHILD SAs (child.c) ---- */
struct child_nego {
	struct child_sa *child; /* ours until child_complete() attaches it */
	struct ikev2_sa offer;
	struct ikev2_ts_list tsi, tsr;
	bool transport;
	/* IPCOMP_SUPPORTED offered (§2.22) with child->cpi_in, in order */
	uint8_t ipcomp[4];
	unsigned n_ipcomp;
	uint8_t ni[IKE_NONCE_MAX];
	size_t ni_len;
	struct crypto_dh *dh;	 /* PFS */
	uint32_t rekey_child_id; /* CHILD_REKEY: the SA replaced */
};

struct child_result {
	struct ikev2_sa sa;
	struct ikev2_ts_list tsi, tsr;
	bool transport;
	bool has_ipcomp; /* answer IPCOMP_SUPPORTED with ipcomp (§2.22) */
	struct ikev2_ipcomp ipcomp;
	struct child_sa *child;
	uint16_t want_group;
};

void prefs_esp(const struct ike_policy *p, const struct ike_remote *r,
	       bool responder, bool with_dh, struct ikev2_prefs *out);
void policy_ts(const struct ike_policy *p, const struct ike_sa *sa,
	       struct ikev2_ts_list *local, struct ikev2_ts_list *remote);
/* The reqid spmd gave policy p (child.c): configured, or asked from spmd
 * (spmif REQID); 0 without either.  IKEv1 (v1.c) shares it. */
uint32_t policy_reqid(struct iked *d, const struct ike_policy *p);
void child_nego_free(void *p);
int child_prepare(struct ike_sa *sa, struct task *t, bool with_ke);
void child_put_sa_ts(struct ikev2_wr *b, const struct child_nego *cn,
		     bool sa_only);
struct child_sa *child_complete(struct ike_sa *sa, struct child_nego *cn,
				const struct ike_msg *m, const uint8_t *gir,
				size_t gir_len, const uint8_t *ni,
				size_t ni_len, const uint8_t *nr,
				size_t nr_len);
int child_process_r(struct ike_sa *sa, const struct ike_msg *m,
		    const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		    size_t ni_len, const uint8_t *nr, size_t nr_len,
		    bool with_dh, uint16_t ke_group, struct child_result *res);
void child_put_result(struct ikev2_wr *b, const struct child_result *res,
		      bool sa_only);
/* The CHILD SA's notifies beside SA/TSi/TSr: USE_TRANSPORT_MODE and
 * IPCOMP_SUPPORTED (§1.3.1, §2.22), of a request and of a response. */
void child_put_offer_notifies(struct ikev2_wr *b, const struct child_nego *cn);
void child_put_result_notifies(struct ikev2_wr *b,
			       const struct child_result *res);
int create_child_initiate(struct ike_sa *sa, struct task *t);
void create_child_rejected_i(struct ike_sa *sa, struct task *t,
			     const struct ike_msg *m, const char *why);
void create_child_process_i(struct ike_sa *sa, struct task *t,
			    const struct ike_msg *m);
void create_child_process_r(struct ike_sa *sa, const struct ike_msg *m);
/* Tell the peer to delete the child whose inbound SPI is spi_in. */
void queue_child_delete_spi(struct ike_sa *sa, uint32_t spi_in);

/* ---- IKE rekey (rekey.c) ---- */
int ike_rekey_initiate(struct ike_sa *sa, struct task *t);
/* The peer deletes the SA its colliding rekey made (§2.8.2). */
void ike_rekey_lost_by_peer(struct ike_sa *sa);
void ike_rekey_process_i(struct ike_sa *sa, struct task *t,
			 const struct ike_msg *m);
void ike_rekey_process_r(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ikev2_sa *offer,
			 const struct ikev2_nonce *ni);

/* ---- INFORMATIONAL (info.c) ---- */
int info_initiate(struct ike_sa *sa, struct task *t);
void info_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m);
void info_process_r(struct ike_sa *sa, const struct ike_msg *m);

#endif
