/*
 * rekey.c - IKE SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.2,
 * §2.18), both roles, and the simultaneous-rekey rule (§2.8.2): when
 * both ends rekey at once, the new IKE SA created with the lowest of
 * the four nonces is redundant and is deleted by the node that created
 * it; the other one inherits the CHILD SAs.
 *
 * The new IKE SA's initiator is whoever initiated the rekey (§2.18), so
 * the I flag and key direction follow that, not the original SA.
 * Ownership: the new SA is created in the table directly; CHILD SAs
 * are moved (relinked) to it; the old one waits for its DELETE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	  "ike"
#define NONCE_LEN 32

struct rekey_state {
	uint64_t new_spi;
	uint8_t ni[NONCE_LEN];
	struct crypto_dh *dh;
	struct ikev2_sa offer;
};

static void rekey_state_free(void *p)
{
	struct rekey_state *st = p;

	if (!st)
		return;
	crypto_dh_free(st->dh);
	mem_wipe(st, sizeof(*st));
	free(st);
}

/* Does our offer list DH group g? */
static bool offered_dh(const struct ikev2_sa *offer, uint16_t g)
{
	unsigned i, j;

	for (i = 0; i < offer->nprop; i++)
		for (j = 0; j < offer->prop[i].nxf; j++)
			if (offer->prop[i].xf[j].type == IKEV2_XF_DH &&
			    offer->prop[i].xf[j].id == g)
				return true;
	return false;
}

/* Create the successor of old with the negotiated suite and keys. */
static struct ike_sa *successor(struct ike_sa *old, bool initiator,
				const struct ikev2_suite *suite, uint64_t spi_i,
				uint64_t spi_r, const uint8_t *gir,
				size_t gir_len, const uint8_t *ni,
				size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	struct ike_sa *n = ike_sa_new(old->d, initiator);
	struct ikev2_sa_keys keys;
	int rc;

	if (!n)
		return NULL;
	snprintf(n->remote, sizeof(n->remote), "%s", old->remote);
	n->local = old->local;
	n->peer = old->peer;
	n->natt = old->natt;
	n->nat_local = old->nat_local;
	if (n->nat_local)
		old->d->ka_dirty = true;
	n->nat_peer = old->nat_peer;
	n->frag = old->frag; /* RFC 7383: negotiated once per IKE SA chain */
	n->mobike = old->mobike; /* RFC 4555 */
	n->moved = old->moved;
	n->id_local = old->id_local;
	n->id_peer = old->id_peer;
	n->spi_i = spi_i;
	n->spi_r = spi_r;
	n->algs = *suite;
	n->peer_window = old->peer_window;
	n->our_window = old->our_window;
	rc = ike_sa_rehash(n);
	/* §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr). */
	if (rc == 0)
		rc = ikev2_derive_ike_rekey(
		    suite, old->algs.prf, old->keys.sk_d, old->keys.prf_len,
		    gir, gir_len, ni, ni_len, nr, nr_len, spi_i, spi_r, &keys);
	if (rc == 0)
		rc = ike_sa_keys_setup(n, &keys, initiator);
	ikev2_sa_keys_wipe(&keys);
	if (rc < 0) {
		ike_sa_kill(n, "rekey key derivation failed");
		return NULL;
	}
	if (ike_nonce_min_set(&n->nonce_min, &n->nonce_min_len, ni, ni_len, nr,
			      nr_len) < 0)
		log_warn(MOD, "IKE SA #%u: no memory for its lowest nonce",
			 n->id);
	ike_sa_set_state(n, IKE_S_ESTABLISHED);
	return n;
}

/*
 * A CHILD SA delete or rekey of ours that is out on `from` dies with
 * it, while the CHILD SA it concerns moved to `to`: left alone, that
 * one would stay DELETING or REKEYING on the survivor while the peer,
 * who may not have seen the request, keeps it INSTALLED.  Ask again on
 * the survivor (queued, run by the caller).  A delete the peer already
 * carried out is answered empty (RFC 7296 §1.4.1); a CHILD SA the
 * peer's rekey made on `from` dies with that IKE SA on both ends.  A
 * late response on `from` no longer finds the CHILD SA there.
 */
static void requeue_in_flight(struct ike_sa *from, struct ike_sa *to)
{
	const struct task *t = from->active;
	const struct child_nego *cn;
	struct child_sa *old;
	struct task *again;

	if (!from->req_out || !t)
		return;
	if (t->type == TASK_CHILD_DELETE) {
		again = task_new(TASK_CHILD_DELETE);
		if (!again)
			return;
		again->child_id = t->child_id;
		again->spi = t->spi;
		task_queue(to, again);
		return;
	}
	if (t->type != TASK_CHILD_REKEY || t->free_state != child_nego_free ||
	    !(cn = t->state))
		return;
	old = child_find_id(from->d, cn->rekey_child_id);
	if (!old || old->ike != to || old->state != CHILD_S_REKEYING)
		return;
	old->state = CHILD_S_INSTALLED;
	again = task_new(TASK_CHILD_REKEY);
	if (!again)
		return;
	again->child_id = old->id;
	task_queue(to, again);
}

/* The CHILD SAs move to the new IKE SA (RFC 7296 §2.8), and so do the
 * queued, not yet started CHILD SA tasks (create, rekey, delete): left
 * behind, they would die with the old SA, e.g. the DELETE of a CHILD SA
 * we rekeyed, which the peer then keeps as REKEYED forever. */
static void move_children(struct ike_sa *from, struct ike_sa *to)
{
	struct child_sa *c, **cp = &from->children;
	struct task **pp = &from->queue, *t;

	while ((c = *cp)) {
		/* One whose creating request is out on `from` belongs to
		 * that exchange: it stays, and lives or dies with it. */
		if (child_creation_in_flight(from, c)) {
			cp = &c->next;
			continue;
		}
		*cp = c->next;
		c->ike = to;
		c->next = to->children;
		to->children = c;
	}
	while ((t = *pp)) {
		if (t->type != TASK_CHILD_CREATE &&
		    t->type != TASK_CHILD_REKEY &&
		    t->type != TASK_CHILD_DELETE) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		task_queue(to, t);
	}
	requeue_in_flight(from, to);
}

/*
 * RFC 7296 §2.8.2: the peer deletes the IKE SA that its rekey of `old`
 * made (we answered it and moved the CHILD SAs there) while our own
 * rekey of `old` is still out: the peer's rekey lost the collision.
 * The children go back to `old`, which hands them to our new SA when
 * our response arrives; otherwise they would die with the redundant SA
 * while the peer keeps them on the survivor.
 */
void ike_rekey_lost_by_peer(struct ike_sa *sa)
{
	struct ike_sa *old;

	for (old = sa->d->sas; old; old = old->next)
		if (old != sa && old->rekeyed_to == sa->id &&
		    old->state == IKE_S_ESTABLISHED && old->active &&
		    old->active->type == TASK_IKE_REKEY) {
			log_info(MOD,
				 "IKE SA #%u: the peer's rekey into #%u "
				 "lost the collision; its CHILD SAs wait for "
				 "ours",
				 old->id, sa->id);
			move_children(sa, old);
			return;
		}
}

int ike_rekey_initiate(struct ike_sa *sa, struct task *t)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	const struct crypto_dh_alg *da;
	struct rekey_state *st;
	struct ikev2_prefs prefs;
	struct ikev2_wr b;
	uint8_t spi[8], ke[CRYPTO_MAX_DH_PUB];
	uint16_t group;
	int rc;

	if (!r || sa->state != IKE_S_ESTABLISHED)
		return 1;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	t->state = st;
	t->free_state = rekey_state_free;
	/* §2.6, §2.10: the new SPI and Ni are random or not at all; the
	 * rekey is then abandoned (the task fails, nothing is sent). */
	do
		rc = crypto_random(&st->new_spi, sizeof(st->new_spi));
	while (rc == 0 && !st->new_spi);
	if (rc == 0)
		rc = crypto_random(st->ni, sizeof(st->ni));
	if (rc < 0)
		return rc;
	ikev2_spi64_put(spi, st->new_spi);
	prefs_ike(r, &prefs);
	/* Offer the current group first (no INVALID_KE round trip), or
	 * the group the peer named in INVALID_KE_PAYLOAD on a retry. */
	group = t->ke_group ? t->ke_group : sa->algs.dh;
	if (prefs.n_dh && prefs.dh[0] != group) {
		size_t i;
		for (i = 1; i < prefs.n_dh; i++)
			if (prefs.dh[i] == group) {
				prefs.dh[i] = prefs.dh[0];
				prefs.dh[0] = group;
			}
	}
	rc = ikev2_sa_build(&prefs, spi, 8, &st->offer);
	if (rc < 0)
		return rc;
	rc = crypto_dh_new(group, &st->dh);
	da = crypto_dh_lookup(group);
	if (rc < 0 || !da || crypto_dh_public(st->dh, ke, da->pub_len) < 0)
		return rc < 0 ? rc : -EINVAL;
	rc = msg_start(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA, false, sa->mid_next,
		       true);
	ikev2_put_sa(&b, &st->offer);
	ikev2_put_nonce(&b, st->ni, sizeof(st->ni));
	ikev2_put_ke(&b, group, ke, da->pub_len);
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return rc;
	}
	log_info(MOD, "IKE SA #%u: rekeying", sa->id);
	return msg_send_request(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA);
}

void ike_rekey_process_i(struct ike_sa *sa, struct task *t,
			 const struct ike_msg *m)
{
	struct rekey_state *st = t->state;
	const struct crypto_dh_alg *da;
	struct ikev2_sa reply;
	struct ikev2_suite suite;
	struct ikev2_nonce nr;
	struct ikev2_ke ke;
	struct ike_sa *n, *theirs = NULL, *o;
	struct ikev2_notify nt_ke;
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	int rc;

	if (!st)
		return;
	/* §1.3.2 / §2.7: INVALID_KE_PAYLOAD names the responder's group;
	 * rekey again with it when we offered it (at most twice). */
	if (ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &nt_ke) &&
	    nt_ke.len == 2) {
		uint16_t g = (uint16_t)(nt_ke.data[0] << 8 | nt_ke.data[1]);
		struct task *nt;

		if (g != crypto_dh_group(st->dh) && offered_dh(&st->offer, g) &&
		    t->ke_retries < 2 && (nt = task_new(TASK_IKE_REKEY))) {
			nt->ke_group = g;
			nt->ke_retries = (uint8_t)(t->ke_retries + 1);
			log_info(MOD,
				 "IKE SA #%u: peer wants DH group %u for "
				 "the rekey; starting it again with it",
				 sa->id, g);
			nt->next = sa->queue;
			sa->queue = nt;
			return;
		}
	}
	if (ikev2_msg_find_notify(m, IKEV2_N_TEMPORARY_FAILURE, NULL) ||
	    ikev2_msg_find_notify(m, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL) ||
	    ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, NULL)) {
		log_warn(MOD, "IKE SA #%u: peer refused the rekey", sa->id);
		return;
	}
	/* SA and Nr: the codec's rules (msg.c); KE is a context check
	 * (§1.3.2: an IKE SA rekey always carries one). */
	if (ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &reply) != 0 ||
	    ikev2_sa_check_reply(&st->offer, &reply, &suite) != 0 ||
	    reply.prop[0].spi_len != 8 ||
	    ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &nr) != 0 ||
	    ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0 ||
	    ke.group != suite.dh || suite.dh != crypto_dh_group(st->dh) ||
	    !(da = crypto_dh_lookup(suite.dh))) {
		log_warn(MOD, "IKE SA #%u: bad IKE rekey response", sa->id);
		return;
	}
	rc = crypto_dh_compute(st->dh, ke.data, ke.len, gir, da->secret_len);
	if (rc < 0) {
		log_warn(MOD, "IKE SA #%u: rekey KE rejected", sa->id);
		return;
	}
	n = successor(sa, true, &suite, st->new_spi,
		      ikev2_spi64_get(reply.prop[0].spi), gir, da->secret_len,
		      st->ni, sizeof(st->ni), nr.data, nr.len);
	mem_wipe(gir, sizeof(gir));
	if (!n)
		return;
	/* §2.8.2: did the peer rekey this SA at the same time? Their new
	 * SA counts even when it is already being deleted (e.g. by the
	 * operator): the CHILD SAs moved there when we answered, and the
	 * peer keeps them on the survivor, so they must not die with it. */
	for (o = sa->d->sas; o; o = o->next)
		if (o->id == sa->rekeyed_to && (o->state == IKE_S_ESTABLISHED ||
						o->state == IKE_S_DELETING))
			theirs = o;
	if (theirs &&
	    ikev2_nonce_cmp(n->nonce_min, n->nonce_min_len, theirs->nonce_min,
			    theirs->nonce_min_len) < 0) {
		log_info(MOD,
			 "IKE SA #%u: rekey collision, our new SA #%u is "
			 "redundant",
			 sa->id, n->id);
		ike_established_quiet(n);
		ike_queue_ike_delete(n);
		move_children(sa, theirs); /* what is still queued here */
		task_run(theirs);
		return;
	}
	if (theirs) {
		log_info(MOD,
			 "IKE SA #%u: rekey collision, our new SA #%u "
			 "survives",
			 sa->id, n->id);
		move_children(theirs, n);
	}
	move_children(sa, n);
	sa->rekeyed_to = n->id;
	log_info(MOD, "IKE SA #%u rekeyed into #%u (SPIs %016llx/%016llx)",
		 sa->id, n->id, (unsigned long long)n->spi_i,
		 (unsigned long long)n->spi_r);
	ike_established_quiet(n);
	task_run(n); /* the CHILD SA tasks that moved */
	script_run(sa->d, n, NULL, SCRIPT_IKE_REKEY);
	/* §1.3.2: the rekey initiator deletes the old SA: REKEYED, then
	 * DELETING once the DELETE is out (both legal from ESTABLISHED). */
	ike_sa_set_state(sa, IKE_S_REKEYED);
	ike_queue_ike_delete(sa);
}

void ike_rekey_process_r(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ikev2_sa *offer,
			 const struct ikev2_nonce *ni)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	const struct crypto_dh_alg *da;
	struct ikev2_prefs prefs;
	struct ikev2_suite suite;
	struct ikev2_sa answer;
	struct ikev2_ke ke;
	struct crypto_dh *dh = NULL;
	struct ikev2_wr b;
	struct ike_sa *n;
	uint8_t nr[NONCE_LEN], spi[8], kebuf[CRYPTO_MAX_DH_PUB];
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	uint64_t new_spi;
	int rc;

	/* Context check (§1.3.2): an IKE SA rekey carries KE. */
	if (!r || ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	/* §2.25: children being created, rekeyed or deleted by a request
	 * of ours on this SA would be orphaned (the response, or its
	 * retransmission, comes back on this SA after they moved to the
	 * new one); let the peer retry later. */
	if (sa->active && (sa->active->type == TASK_CHILD_CREATE ||
			   sa->active->type == TASK_CHILD_REKEY ||
			   sa->active->type == TASK_CHILD_DELETE)) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	prefs_ike(r, &prefs);
	if (ikev2_sa_select(offer, &prefs, ke.group, &suite) != 0 ||
	    suite.spi_len != 8) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (suite.dh != ke.group) {
		uint8_t g[2] = {(uint8_t)(suite.dh >> 8), (uint8_t)suite.dh};
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}
	da = crypto_dh_lookup(suite.dh);
	if (!da || crypto_dh_new(suite.dh, &dh) < 0 ||
	    crypto_dh_public(dh, kebuf, da->pub_len) < 0 ||
	    crypto_dh_compute(dh, ke.data, ke.len, gir, da->secret_len) < 0) {
		crypto_dh_free(dh);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	do
		rc = crypto_random(&new_spi, sizeof(new_spi));
	while (rc == 0 && !new_spi);
	if (rc == 0)
		rc = crypto_random(nr, sizeof(nr));
	if (rc < 0) {
		/* §2.25: no random bytes now; the peer may retry later. */
		mem_wipe(gir, sizeof(gir));
		crypto_dh_free(dh);
		log_rl_warn(MOD, "IKE SA #%u: no random bytes for the rekey",
			    sa->id);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	n = successor(sa, false, &suite, ikev2_spi64_get(suite.spi), new_spi,
		      gir, da->secret_len, ni->data, ni->len, nr, sizeof(nr));
	mem_wipe(gir, sizeof(gir));
	if (!n) {
		crypto_dh_free(dh);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	ikev2_spi64_put(spi, new_spi);
	rc = ikev2_suite_to_sa(&suite, spi, 8, &answer);
	rc = rc < 0 ? rc
		    : msg_start(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA, true,
				m->hdr.msgid, true);
	ikev2_put_sa(&b, &answer);
	ikev2_put_nonce(&b, nr, sizeof(nr));
	ikev2_put_ke(&b, suite.dh, kebuf, da->pub_len);
	crypto_dh_free(dh);
	if (rc < 0) {
		ikev2_wr_abort(&b);
		ike_sa_kill(n, "cannot answer rekey");
		return;
	}
	msg_send_response(sa, &b, m->hdr.msgid);
	if (task_queued(sa, TASK_IKE_REKEY) && sa->active &&
	    sa->active->type == TASK_IKE_REKEY)
		log_info(MOD, "IKE SA #%u: simultaneous rekey", sa->id);
	move_children(sa, n);
	sa->rekeyed_to = n->id;
	log_info(MOD, "IKE SA #%u rekeyed by peer into #%u", sa->id, n->id);
	ike_established_quiet(n);
	/* The CHILD SA tasks that moved start now -- unless our own rekey
	 * of sa is out (§2.8.2): until it is resolved, n may be the
	 * redundant SA, and a request started on it would die with it. */
	if (!(sa->active && sa->active->type == TASK_IKE_REKEY))
		task_run(n);
	script_run(sa->d, n, NULL, SCRIPT_IKE_REKEY);
	/* The old SA stays until the peer's DELETE (§1.3.2); no more
	 * requests of ours on it, except a pending rekey's response. */
	if (!(sa->active && sa->active->type == TASK_IKE_REKEY)) {
		ike_sa_set_state(sa, IKE_S_REKEYED);
		/* Not forever: if the peer never saw our response (and gave
		 * up), the old SA goes after the negotiation time limit. */
		ike_sa_nego_timer(sa);
	}
}
