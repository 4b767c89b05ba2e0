/*
 * mobike.c - MOBIKE (RFC 4555): IKE SA and CHILD SA addresses that move
 * without a new negotiation.
 *
 *  - negotiation (§3.3): MOBIKE_SUPPORTED in the IKE_AUTH request and,
 *    when the request had it and `mobike on`, in the response; with it
 *    our address list: ADDITIONAL_IP4/IP6_ADDRESS for each other usable
 *    local address the address monitor knows (addrmon.c), else
 *    NO_ADDITIONAL_ADDRESSES; the same list in UPDATE_SA_ADDRESSES.  The peer's
 * ADDITIONAL_IP4/IP6_ADDRESS notifies (or NO_ADDITIONAL_ADDRESSES) are kept as
 * its list (§3.4, §3.6), in IKE_AUTH and in any later INFORMATIONAL.
 *  - responder (§3.5): an authenticated INFORMATIONAL request carrying
 *    UPDATE_SA_ADDRESSES moves the IKE SA to the addresses the request
 *    came from and went to (input.c keeps them as sa->rx_req_from), the
 *    NAT state follows the request's NAT-D notifies, the CHILD SAs move
 *    in place (child_migrate(): the backend's MIGRATE, sequence numbers
 *    kept, never a rekey), and the response carries NAT-D for the new
 *    addresses.  COOKIE2 (§3.8) in any INFORMATIONAL request is echoed.
 *  - initiator (§3.5): mobike_update() moves our end of the IKE SA to a
 *    new local address (addrmon.c calls it when the kernel's route to
 *    the peer has a new source): an INFORMATIONAL request from there with
 *    UPDATE_SA_ADDRESSES, NAT-D and a fresh COOKIE2; when the response
 *    echoes the COOKIE2 (return routability, §3.8), the CHILD SAs move.
 *
 * Only the original initiator sends UPDATE_SA_ADDRESSES (§3.5); the
 * responder never moves on its own.  Nothing unauthenticated is acted
 * on: all of this runs on requests and responses whose ICV verified.
 *
 * Ownership: the task's state (struct mobike_upd) belongs to the task
 * and is freed with it; the peer's address list lives in the IKE SA.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/addrmon.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"

#define MOD "ike"

/* ---- negotiation (§3.3) and address lists (§3.4, §3.6) ---- */

/* §3.4, §3.6: our addresses other than the IKE SA's (addrmon.c: usable,
 * with a socket to send from), or NO_ADDITIONAL_ADDRESSES. */
static void put_addresses(struct ikev2_wr *b, const struct ike_sa *sa)
{
	struct kaddr add[IKE_MOBIKE_ADDRS];
	unsigned n =
	    addrmon_additional(sa->d, &sa->local.addr, add, IKE_MOBIKE_ADDRS);

	if (!n) {
		ikev2_put_notify_simple(b, IKEV2_N_NO_ADDITIONAL_ADDRESSES,
					NULL, 0);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		ikev2_put_notify_simple(
		    b,
		    add[i].af == AF_INET ? IKEV2_N_ADDITIONAL_IP4_ADDRESS
					 : IKEV2_N_ADDITIONAL_IP6_ADDRESS,
		    add[i].u.b, add[i].af == AF_INET ? 4 : 16);
}

void mobike_put_auth(struct ikev2_wr *b, const struct ike_sa *sa,
		     const struct ike_remote *r)
{
	/* The responder answers only an initiator that offered it. */
	if (!r || !r->mobike || (!sa->initiator && !sa->mobike))
		return;
	ikev2_put_notify_simple(b, IKEV2_N_MOBIKE_SUPPORTED, NULL, 0);
	put_addresses(b, sa);
}

/* §3.6: the peer's full list, replacing the previous one. */
static void read_addresses(struct ike_sa *sa, const struct ike_msg *m)
{
	unsigned n = 0;
	bool any = false;
	int i = -1;

	while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0) {
		struct ikev2_notify nt;
		struct kaddr a;

		if (ikev2_get_notify(&m->pl[i], &nt) != 0)
			continue;
		if (nt.type == IKEV2_N_NO_ADDITIONAL_ADDRESSES) {
			any = true;
			continue;
		}
		memset(&a, 0, sizeof(a));
		if (nt.type == IKEV2_N_ADDITIONAL_IP4_ADDRESS && nt.len == 4)
			a.af = AF_INET;
		else if (nt.type == IKEV2_N_ADDITIONAL_IP6_ADDRESS &&
			 nt.len == 16)
			a.af = AF_INET6;
		else
			continue;
		any = true;
		memcpy(a.u.b, nt.data, nt.len);
		if (n < IKE_MOBIKE_ADDRS)
			sa->peer_addrs[n++] = a;
	}
	if (any)
		sa->npeer_addrs = n;
}

void mobike_read_auth(struct ike_sa *sa, const struct ike_msg *m,
		      const struct ike_remote *r)
{
	if (!r || !r->mobike ||
	    !ikev2_msg_find_notify(m, IKEV2_N_MOBIKE_SUPPORTED, NULL))
		return;
	sa->mobike = true;
	read_addresses(sa, m);
	log_info(MOD,
		 "IKE SA #%u: MOBIKE negotiated (peer lists %u more "
		 "address(es))",
		 sa->id, sa->npeer_addrs);
}

/* The CHILD SAs of sa follow its endpoints in place; a CHILD SA the
 * backend cannot move is rekeyed (it still works afterwards).  CHILD SAs
 * with an id above last_old (0: none) were created while our update was
 * out, at the new endpoints already (e.g. the peer rekeyed right after
 * answering): they stay where they are. */
static void children_follow(struct ike_sa *sa, const struct ike_ep *old_local,
			    const struct ike_ep *old_peer, uint32_t last_old)
{
	struct child_sa *c;
	unsigned moved = 0, rekeyed = 0;
	char lb[80], pb[80];

	for (c = sa->children; c; c = c->next) {
		if (c->state != CHILD_S_INSTALLED ||
		    (last_old && c->id > last_old))
			continue;
		if (child_migrate(c, old_local, old_peer) == 0) {
			moved++;
			sa->children_moved++;
		} else if (ike_queue_child_rekey(sa, c) == 0) {
			rekeyed++;
		}
	}
	log_info(MOD,
		 "IKE SA #%u: MOBIKE: now %s <-> %s, %u CHILD SA(s) moved in "
		 "place%s",
		 sa->id, ike_ep_str(&sa->local, lb, sizeof(lb)),
		 ike_ep_str(&sa->peer, pb, sizeof(pb)), moved,
		 rekeyed ? ", others rekeyed" : "");
}

static bool ep_eq(const struct ike_ep *a, const struct ike_ep *b)
{
	return a->port == b->port && kaddr_eq(&a->addr, &b->addr);
}

/* ---- responder (§3.5, §3.8) ---- */

void mobike_info_r(struct ike_sa *sa, const struct ike_msg *m,
		   struct ikev2_wr *b)
{
	struct ikev2_notify ck;
	bool update;

	if (!sa->mobike)
		return;
	read_addresses(sa, m);
	update = ikev2_msg_find_notify(m, IKEV2_N_UPDATE_SA_ADDRESSES, NULL);
	if (update && !sa->initiator && sa->rx_req_from_set &&
	    sa->rx_req_mid == m->hdr.msgid) {
		struct ike_ep old_local = sa->local, old_peer = sa->peer;
		const struct ike_path *p = &sa->rx_req_from;

		sa->local = p->local;
		sa->peer = p->peer;
		sa->natt = sa->natt || p->natt;
		/* §3.5: NAT detection again, for the new addresses. */
		natt_check_natd_v2(sa, m);
		sa->mobike_updates++;
		if (!ep_eq(&old_local, &sa->local) ||
		    !ep_eq(&old_peer, &sa->peer))
			children_follow(sa, &old_local, &old_peer, 0);
		else
			log_info(MOD,
				 "IKE SA #%u: MOBIKE: UPDATE_SA_ADDRESSES, "
				 "addresses unchanged",
				 sa->id);
		natt_put_natd_v2(b, sa);
	} else if (update) {
		log_rl_warn(MOD,
			    "IKE SA #%u: UPDATE_SA_ADDRESSES from the "
			    "responder ignored (RFC 4555 §3.5)",
			    sa->id);
	}
	/* §3.8: COOKIE2 is copied into the response. */
	if (ikev2_msg_find_notify(m, IKEV2_N_COOKIE2, &ck) && ck.len >= 8 &&
	    ck.len <= 64)
		ikev2_put_notify_simple(b, IKEV2_N_COOKIE2, ck.data, ck.len);
}

/* ---- initiator (§3.5) ---- */

struct mobike_upd {
	struct ike_ep old_local, old_peer;
	uint8_t cookie2[16];
	uint32_t last_child; /* CHILD SA ids up to it are at the old ends */
	bool was_moved;	     /* sa->moved before the request went out */
};

static void upd_free(void *p)
{
	free(p);
}

int mobike_update(struct ike_sa *sa, const struct ike_ep *new_local,
		  const struct ike_ep *new_peer)
{
	struct task *t;
	struct mobike_upd *u;

	if (!sa->mobike || !sa->initiator || sa->state != IKE_S_ESTABLISHED)
		return -EOPNOTSUPP;
	t = task_new(TASK_MOBIKE_UPDATE);
	u = calloc(1, sizeof(*u));
	if (!t || !u) {
		free(u);
		if (t)
			task_free(t);
		return -ENOMEM;
	}
	u->old_local = *new_local; /* filled for real when it starts */
	if (new_peer)
		u->old_peer = *new_peer;
	t->state = u;
	t->free_state = upd_free;
	/* The addresses to move to travel in the task's state until it
	 * runs: old_local/old_peer hold the new ones until then. */
	task_queue(sa, t);
	task_run(sa);
	return 0;
}

int mobike_update_initiate(struct ike_sa *sa, struct task *t)
{
	struct mobike_upd *u = t->state;
	struct ike_ep to_local, to_peer;
	struct ikev2_wr b;
	int rc;

	if (!u)
		return -EINVAL;
	to_local = u->old_local;
	to_peer = u->old_peer.addr.af ? u->old_peer : sa->peer;
	u->old_local = sa->local;
	u->old_peer = sa->peer;
	if (crypto_random(u->cookie2, sizeof(u->cookie2)) < 0)
		return -EIO;
	/* §3.5: the request goes out from the new address already, and
	 * CHILD SAs created from now on are installed there. */
	u->last_child = sa->d->next_child_id;
	u->was_moved = sa->moved;
	sa->moved = true; /* child.c endpoints(): the IKE SA's */
	sa->local = to_local;
	sa->peer = to_peer;
	if (to_local.port == IKE_NATT_PORT)
		sa->natt = true;
	rc = msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, false, sa->mid_next,
		       true);
	ikev2_put_notify_simple(&b, IKEV2_N_UPDATE_SA_ADDRESSES, NULL, 0);
	natt_put_natd_v2(&b, sa);
	put_addresses(&b, sa);
	ikev2_put_notify_simple(&b, IKEV2_N_COOKIE2, u->cookie2,
				sizeof(u->cookie2));
	if (rc < 0) {
		ikev2_wr_abort(&b);
		sa->local = u->old_local;
		sa->peer = u->old_peer;
		sa->moved = u->was_moved;
		return rc;
	}
	log_info(MOD, "IKE SA #%u: MOBIKE: sending UPDATE_SA_ADDRESSES",
		 sa->id);
	return msg_send_request(sa, &b, IKEV2_EXCH_INFORMATIONAL);
}

void mobike_update_process_i(struct ike_sa *sa, struct task *t,
			     const struct ike_msg *m)
{
	struct mobike_upd *u = t->state;
	struct ikev2_notify ck;

	if (!u)
		return;
	/* §3.8: the response must echo our COOKIE2 (return routability);
	 * it verified, so it is the peer's. */
	if (!ikev2_msg_find_notify(m, IKEV2_N_COOKIE2, &ck) ||
	    ck.len != sizeof(u->cookie2) ||
	    CRYPTO_memcmp(ck.data, u->cookie2, sizeof(u->cookie2)) != 0) {
		log_warn(MOD,
			 "IKE SA #%u: MOBIKE: response without our COOKIE2, "
			 "addresses not updated",
			 sa->id);
		sa->local = u->old_local;
		sa->peer = u->old_peer;
		sa->moved = u->was_moved;
		return;
	}
	read_addresses(sa, m);
	natt_check_natd_v2(sa, m);
	sa->mobike_updates++;
	/* child_migrate() finds the older CHILD SAs where they were. */
	sa->moved = u->was_moved;
	children_follow(sa, &u->old_local, &u->old_peer, u->last_child);
}
