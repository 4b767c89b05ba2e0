/*
 * ike_auth.c - the IKE_AUTH exchange with pre-shared keys (RFC 7296
 * §1.2, §2.15), both roles, carrying the first CHILD SA.
 *
 * Responder remote selection follows the seed's design: IKE_SA_INIT was
 * handled by the remote matching the peer's address (or `default`);
 * here the remote whose peers_id equals IDi is chosen and its PSK,
 * proposals and policies apply from now on.
 *
 * Ownership: the initiator's CHILD negotiation state is the task state
 * (struct child_nego, child.c); PSKs stay in the configuration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/auth_cert.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/wr.h"
#include "lib/util.h"

#define MOD "ike"

static void our_id(const struct ike_remote *r, const struct ike_sa *sa,
		   struct ike_id *id)
{
	if (r && r->my_id.type)
		*id = r->my_id;
	else
		ike_id_from_addr(&sa->local.addr, id);
}

/* RestOfIDPayload (§2.15): type, 3 reserved octets, data. */
static size_t id_body(const struct ike_id *id, uint8_t *out, size_t cap)
{
	if (4 + (size_t)id->len > cap)
		return 0;
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4 + (size_t)id->len;
}

static void put_id(struct ikev2_wr *b, uint8_t type, const struct ike_id *id)
{
	struct ikev2_id v;

	memset(&v, 0, sizeof(v));
	v.type = id->type;
	v.data = id->data;
	v.len = id->len;
	ikev2_put_id(b, type, &v);
}

/*
 * AUTH value (§2.15) for one side.  initiator_side: the IKE_SA_INIT
 * request, Nr and SK_pi; otherwise the response, Ni and SK_pr.
 */
static int auth_compute(const struct ike_sa *sa, const struct ike_remote *r,
			bool initiator_side, const uint8_t *idb, size_t idb_len,
			uint8_t *out, size_t *out_len, const uint8_t *verify,
			size_t verify_len)
{
	struct wr oct;
	int rc;

	wr_init(&oct, 0);
	rc = auth_signed_octets(sa, initiator_side, idb, idb_len, &oct);
	if (rc == 0) {
		if (verify)
			rc = ikev2_auth_psk_verify(sa->algs.prf, r->psk,
						   r->psk_len, oct.buf, oct.len,
						   verify, verify_len);
		else
			rc = ikev2_auth_psk(sa->algs.prf, r->psk, r->psk_len,
					    oct.buf, oct.len, out, out_len);
	}
	wr_free(&oct);
	return rc;
}

static bool read_id(const struct ike_msg *m, uint8_t type, struct ike_id *id,
		    const uint8_t **body, size_t *body_len)
{
	struct ikev2_id v;

	if (ikev2_get_id(ikev2_msg_find(m, type), &v) != 0 ||
	    v.len > CFG_ID_MAX)
		return false;
	memset(id, 0, sizeof(*id));
	id->type = v.type;
	id->len = (uint16_t)v.len;
	memcpy(id->data, v.data, v.len);
	*body = v.body;
	*body_len = v.body_len;
	return true;
}

/* Another established IKE SA with the same remote and peer ID? */
static bool have_other_sa(const struct ike_sa *sa)
{
	const struct ike_sa *o;

	for (o = sa->d->sas; o; o = o->next)
		if (o != sa && o->state == IKE_S_ESTABLISHED &&
		    strcmp(o->remote, sa->remote) == 0)
			return true;
	return false;
}

/* §2.4: INITIAL_CONTACT: every other IKE SA with this peer identity is
 * stale (the peer rebooted); remove them without notifying. */
static void initial_contact(struct ike_sa *sa)
{
	struct ike_sa *o;
	struct hidx_it it;

	/* the SAs that reached ESTABLISHED (an identity is proven only
	 * there); killing does not free, so the index holds still */
	for (o = ike_sa_by_peer_first(sa->d, &it, sa->remote, &sa->id_peer); o;
	     o = ike_sa_by_peer_next(sa->d, &it, sa->remote, &sa->id_peer)) {
		if (o == sa || o->state == IKE_S_DEAD)
			continue;
		ike_sa_kill(o, "INITIAL_CONTACT from the peer");
	}
}

/* ---- initiator ---- */

/*
 * §2.21.2: the responder's AUTH does not verify (or uses a method we do
 * not allow): tell it in the INFORMATIONAL immediately following
 * IKE_AUTH (AUTHENTICATION_FAILED deletes the IKE SA without a Delete
 * payload), sent once, and drop the SA.
 */
static void responder_auth_failed(struct ike_sa *sa, const char *why)
{
	struct ikev2_wr b;

	if (msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, false, sa->mid_next,
		      true) < 0) {
		ikev2_wr_abort(&b);
	} else {
		ikev2_put_notify_simple(&b, IKEV2_N_AUTHENTICATION_FAILED, NULL,
					0);
		(void)msg_send_request(sa, &b, IKEV2_EXCH_INFORMATIONAL);
	}
	ike_sa_kill(sa, why); /* stops the retransmission timer */
}

/* §2.3: SET_WINDOW_SIZE when we take more than one request in flight. */
static void put_window(struct ikev2_wr *b, const struct ike_sa *sa)
{
	if (sa->our_window > 1) {
		uint8_t w[4] = {(uint8_t)(sa->our_window >> 24),
				(uint8_t)(sa->our_window >> 16),
				(uint8_t)(sa->our_window >> 8),
				(uint8_t)sa->our_window};
		ikev2_put_notify_simple(b, IKEV2_N_SET_WINDOW_SIZE, w, 4);
	}
}

int ike_auth_initiate(struct ike_sa *sa, struct task *t)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct child_nego *cn = NULL;
	struct auth_sig sig = {0};
	struct ikev2_wr b;
	uint8_t idb[4 + CFG_ID_MAX], auth[CRYPTO_MAX_PRF_OUT];
	size_t idb_len, auth_len = 0;
	int rc;

	if (!r || (!cfg_psk_usable(r) && !auth_cert_signs(r))) {
		ike_sa_kill(sa, "no pre-shared key or certificate for this "
				"remote");
		return 1;
	}
	our_id(r, sa, &sa->id_local);
	if (auth_cert_signs(r)) /* certificate subject DN (auth_cert.c) */
		auth_cert_default_id(r, &sa->id_local);
	idb_len = id_body(&sa->id_local, idb, sizeof(idb));
	if (auth_cert_signs(r)) /* signature AUTH (auth_cert.c) */
		rc = auth_cert_sign(sa, r, true, idb, idb_len, &sig);
	else
		rc = auth_compute(sa, r, true, idb, idb_len, auth, &auth_len,
				  NULL, 0);
	if (rc != 0)
		return rc < 0 ? rc : -EINVAL;
	/* RFC 6023 §3: with `childless on` and the responder's support,
	 * the CHILD SA follows IKE_AUTH in its own CREATE_CHILD_SA (on
	 * failure to queue it, it goes into IKE_AUTH as usual). */
	if (t->policy[0] && r->childless && sa->childless) {
		struct task *ct = task_new(TASK_CHILD_CREATE);

		if (ct) {
			memcpy(ct->policy, t->policy, sizeof(ct->policy));
			ct->acq_sel = t->acq_sel;
			ct->have_acq_sel = t->have_acq_sel;
			task_queue(sa, ct);
			t->policy[0] = '\0';
			t->have_acq_sel = false;
		}
	}
	if (t->policy[0]) {
		rc = child_prepare(sa, t, false);
		if (rc < 0) {
			log_warn(MOD,
				 "IKE SA #%u: cannot prepare CHILD SA "
				 "for %s: %s",
				 sa->id, t->policy, strerror(-rc));
			task_free_state(t);
		}
		cn = t->state;
	}
	rc = msg_start(sa, &b, IKEV2_EXCH_IKE_AUTH, false, sa->mid_next, true);
	put_id(&b, IKEV2_PL_IDi, &sa->id_local);
	auth_cert_put_certs(&b, r, true); /* CERT, CERTREQ (auth_cert.c) */
	if (r->initial_contact && !have_other_sa(sa)) {
		ikev2_put_notify_simple(&b, IKEV2_N_INITIAL_CONTACT, NULL, 0);
		sa->initial_contact_sent = true;
	}
	/* §3.5: IDr tells the responder whom we want to talk to. */
	if (r->peer_id.type)
		put_id(&b, IKEV2_PL_IDr, &r->peer_id);
	if (sig.data)
		ikev2_put_auth(&b, sig.method, sig.data, sig.len);
	else
		ikev2_put_auth(&b, IKEV2_AUTH_PSK, auth, auth_len);
	auth_sig_clear(&sig);
	mem_wipe(auth, sizeof(auth));
	cp_put_request(&b, sa, r); /* CFG_REQUEST (cp.c) */
	if (cn) {
		child_put_offer_notifies(&b, cn);
		child_put_sa_ts(&b, cn, true);
		child_put_sa_ts(&b, cn, false);
	}
	put_window(&b, sa);
	mobike_put_auth(&b, sa, r); /* RFC 4555 §3.3 (mobike.c) */
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return rc;
	}
	ike_sa_set_state(sa, IKE_S_AUTH_SENT);
	rc = msg_send_request(sa, &b, IKEV2_EXCH_IKE_AUTH);
	if (rc < 0) /* nothing went out (e.g. no random IV) */
		ike_sa_kill(sa, "cannot send IKE_AUTH");
	return rc;
}

static void read_window(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ikev2_notify n;

	/* §2.3: the peer can take this many requests in flight; we send
	 * one at a time anyway, but record it. */
	if (ikev2_msg_find_notify(m, IKEV2_N_SET_WINDOW_SIZE, &n) &&
	    n.len == 4) {
		uint32_t w = (uint32_t)n.data[0] << 24 |
			     (uint32_t)n.data[1] << 16 |
			     (uint32_t)n.data[2] << 8 | n.data[3];
		if (w >= 1)
			sa->peer_window = w;
	}
}

void ike_auth_process_i(struct ike_sa *sa, struct task *t,
			const struct ike_msg *m)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct ikev2_auth auth;
	struct ikev2_notify n;
	const uint8_t *idb;
	size_t idb_len;
	char why[128], b1[300];
	int i = -1;

	if (!r) {
		ike_sa_kill(sa, "configuration gone");
		return;
	}
	if (!sa->init) {
		/* Only an SA in AUTH_SENT runs this task; it has the
		 * IKE_SA_INIT material until established. */
		ike_sa_kill(sa, "IKE_AUTH response without IKE_SA_INIT");
		return;
	}
	if (!ikev2_msg_find(m, IKEV2_PL_AUTH)) {
		/* Context check: the codec requires AUTH unless the
		 * response carries an error; then the IKE SA failed
		 * (§2.21.2). */
		while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0)
			if (ikev2_get_notify(&m->pl[i], &n) == 0 &&
			    n.type <= IKEV2_N_ERROR_MAX)
				break;
		snprintf(why, sizeof(why), "IKE_AUTH refused by peer: %s",
			 i >= 0 ? ikev2_notify_name(n.type) : "no AUTH");
		ike_sa_kill(sa, why);
		return;
	}
	if (!read_id(m, IKEV2_PL_IDr, &sa->id_peer, &idb, &idb_len)) {
		ike_sa_kill(sa, "IKE_AUTH response without a valid IDr");
		return;
	}
	if (r->peer_id.type && !ike_id_eq(&r->peer_id, &sa->id_peer)) {
		snprintf(why, sizeof(why), "peer identity %s is not peers_id",
			 ike_id_str(&sa->id_peer, b1, sizeof(b1)));
		ike_sa_kill(sa, why);
		return;
	}
	if (ikev2_get_auth(ikev2_msg_find(m, IKEV2_PL_AUTH), &auth) != 0) {
		responder_auth_failed(sa, "malformed AUTH payload from the "
					  "responder");
		return;
	}
	/* Fail closed (issue 9): the responder's AUTH method must be one
	 * this remote allows (kmp_auth_method) and has the credential for;
	 * a PSK MIC is never checked against an absent (0-octet) key. */
	if (!cfg_auth_allows(r, auth.method) ||
	    (auth_cert_method(auth.method) &&
	     !auth_cert_accepts(r, auth.method))) {
		log_warn(MOD,
			 "IKE SA #%u: responder authenticates with AUTH "
			 "method %u, which remote %s does not allow%s",
			 sa->id, auth.method, r->name,
			 auth.method == IKEV2_AUTH_PSK ? " (no usable "
							 "pre_shared_key)"
						       : "");
		responder_auth_failed(sa, "responder's AUTH method not "
					  "allowed");
		return;
	}
	if (auth_cert_method(auth.method)) {
		char cwhy[512];
		/* §2.15 signature by the responder (auth_cert.c) */
		if (auth_cert_verify(sa, r, m, &auth, false, idb, idb_len, cwhy,
				     sizeof(cwhy)) != 0) {
			log_warn(MOD,
				 "IKE SA #%u: authentication of the "
				 "responder failed: %s",
				 sa->id, cwhy);
			responder_auth_failed(sa, "peer certificate "
						  "authentication failed");
			return;
		}
	} else if (auth.method != IKEV2_AUTH_PSK ||
		   auth_compute(sa, r, false, idb, idb_len, NULL, NULL,
				auth.data, auth.len) != 0) {
		/* §2.15: the responder's AUTH does not verify. */
		responder_auth_failed(sa, "peer AUTH payload does not "
					  "verify (PSK mismatch?)");
		return;
	}
	read_window(sa, m);
	mobike_read_auth(sa, m, r);
	ike_sa_set_state(sa, IKE_S_ESTABLISHED);
	log_info(MOD,
		 "IKE SA #%u (%s) established between %s and %s "
		 "(initiator)",
		 sa->id, sa->remote,
		 ike_id_str(&sa->id_local, why, sizeof(why)),
		 ike_id_str(&sa->id_peer, b1, sizeof(b1)));
	ike_sa_established(sa);
	cp_read_reply(sa, m); /* assigned address (cp.c) */
	if (t->state)
		child_complete(sa, t->state, m, NULL, 0, sa->init->ni,
			       sa->init->ni_len, sa->init->nr,
			       sa->init->nr_len);
	/* Nothing reads the IKE_SA_INIT material from here on. */
	ike_sa_init_free(sa);
}

/* ---- responder ---- */

/*
 * Issue 9: IKE_SA_INIT chose the IKE suite with the remote found by
 * address (or `default`); the remote IDi selects must accept that suite
 * too, as if it had been offered to it: the negotiated transforms as a
 * one-proposal offer, run through the same selection (ikev2_sa_select).
 */
static bool suite_allowed(const struct ike_remote *r,
			  const struct ikev2_suite *s)
{
	struct ikev2_prefs prefs;
	struct ikev2_sa offer;
	struct ikev2_suite got;

	prefs_ike(r, &prefs);
	if (ikev2_suite_to_sa(s, NULL, 0, &offer) < 0 ||
	    ikev2_sa_select(&offer, &prefs, s->dh, &got) != 0)
		return false;
	return got.encr == s->encr && got.encr_keybits == s->encr_keybits &&
	       got.prf == s->prf && got.integ == s->integ && got.dh == s->dh;
}

void ike_auth_process_r(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_remote *r;
	struct ikev2_auth auth;
	struct child_result res;
	struct auth_sig sig = {0};
	struct ikev2_wr b;
	struct ike_id idr_req;
	const uint8_t *idb, *idrb;
	uint8_t myidb[4 + CFG_ID_MAX], mac[CRYPTO_MAX_PRF_OUT];
	size_t idb_len, idrb_len, myidb_len, mac_len = 0;
	char b1[300], b2[300];
	int child_rc = -1, rc;
	bool have_child;

	if (sa->state != IKE_S_INIT_DONE || m->hdr.msgid != 1 || !sa->init) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	/* §1.2: IDi and AUTH are there (the codec's rules, msg.c); IDi
	 * must fit our identities. */
	if (!read_id(m, IKEV2_PL_IDi, &sa->id_peer, &idb, &idb_len) ||
	    ikev2_get_auth(ikev2_msg_find(m, IKEV2_PL_AUTH), &auth) != 0) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		ike_sa_kill(sa, "IKE_AUTH without IDi/AUTH");
		return;
	}
	/* The seed's rule: the real remote is chosen by the peer's ID. */
	r = cfg_remote_by_id(sa->d->cfg, &sa->id_peer, &sa->peer.addr);
	if (!r) {
		r = cfg_remote_by_name(sa->d->cfg, sa->remote);
		if (r && r->peer_id.type &&
		    !ike_id_eq(&r->peer_id, &sa->id_peer))
			r = NULL;
		if (r && r->is_default && !cfg_auth_allows(r, auth.method))
			r = NULL;
	}
	/* Fail closed (issue 9): the initiator's AUTH method must be one
	 * the selected remote allows (kmp_auth_method) and has the
	 * credential for. */
	if (r && (!cfg_auth_allows(r, auth.method) ||
		  (auth_cert_method(auth.method) &&
		   !auth_cert_accepts(r, auth.method)))) {
		log_warn(MOD,
			 "IKE SA #%u: %s (%s) authenticates with AUTH "
			 "method %u, which remote %s does not allow%s",
			 sa->id, ike_id_str(&sa->id_peer, b1, sizeof(b1)),
			 ike_ep_str(&sa->peer, b2, sizeof(b2)), auth.method,
			 r->name,
			 auth.method == IKEV2_AUTH_PSK ? " (no usable "
							 "pre_shared_key)"
						       : "");
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_kill(sa, "AUTH method not allowed");
		return;
	}
	if (r && auth_cert_method(auth.method)) {
		char cwhy[512];
		/* §2.15 signature by the initiator (auth_cert.c) */
		if (auth_cert_verify(sa, r, m, &auth, true, idb, idb_len, cwhy,
				     sizeof(cwhy)) != 0) {
			log_warn(MOD,
				 "IKE SA #%u: authentication of %s (%s) "
				 "failed: %s",
				 sa->id,
				 ike_id_str(&sa->id_peer, b1, sizeof(b1)),
				 ike_ep_str(&sa->peer, b2, sizeof(b2)), cwhy);
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_AUTHENTICATION_FAILED, NULL,
					    0);
			ike_sa_kill(sa, "authentication failed");
			return;
		}
	} else if (!r || !cfg_psk_usable(r) || auth.method != IKEV2_AUTH_PSK ||
		   auth_compute(sa, r, true, idb, idb_len, NULL, NULL,
				auth.data, auth.len) != 0) {
		log_warn(MOD, "IKE SA #%u: authentication of %s (%s) failed%s",
			 sa->id, ike_id_str(&sa->id_peer, b1, sizeof(b1)),
			 ike_ep_str(&sa->peer, b2, sizeof(b2)),
			 !r		      ? ": no remote for this ID"
			 : !cfg_psk_usable(r) ? ": no pre_shared_key"
			 : auth.method != IKEV2_AUTH_PSK ? ": not PSK"
							 : "");
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_kill(sa, "authentication failed");
		return;
	}
	if (strcmp(sa->remote, r->name) != 0) {
		log_info(MOD, "IKE SA #%u: peer %s selects remote %s", sa->id,
			 ike_id_str(&sa->id_peer, b1, sizeof(b1)), r->name);
		/* Issue 9: the suite IKE_SA_INIT chose must be one this
		 * remote accepts.  AUTHENTICATION_FAILED, not
		 * NO_PROPOSAL_CHOSEN: in an IKE_AUTH response the latter
		 * means that only the CHILD SA failed and the IKE SA
		 * stands (RFC 7296 §1.2, §2.21.2), while this identity may
		 * not have this IKE SA at all (RFC 4301 §4.4.3: the peer's
		 * entry decides). */
		if (!suite_allowed(r, &sa->algs)) {
			log_warn(
			    MOD,
			    "IKE SA #%u: IKE suite %s-%u/%s/%s/%s "
			    "of IKE_SA_INIT (remote %s) is not in the "
			    "proposals of remote %s",
			    sa->id, crypto_encr_name(sa->algs.encr),
			    sa->algs.encr_keybits,
			    crypto_prf_name(sa->algs.prf),
			    sa->algs.integ ? crypto_integ_name(sa->algs.integ)
					   : "aead",
			    crypto_dh_name(sa->algs.dh), sa->remote, r->name);
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_AUTHENTICATION_FAILED, NULL,
					    0);
			ike_sa_kill(sa, "IKE suite not allowed for this "
					"identity");
			return;
		}
		snprintf(sa->remote, sizeof(sa->remote), "%s", r->name);
	}
	our_id(r, sa, &sa->id_local);
	if (auth_cert_signs(r)) /* certificate subject DN (auth_cert.c) */
		auth_cert_default_id(r, &sa->id_local);
	/* §3.5: an IDr we are not is refused, not ignored. */
	if (read_id(m, IKEV2_PL_IDr, &idr_req, &idrb, &idrb_len) &&
	    r->my_id.type && !ike_id_eq(&idr_req, &sa->id_local)) {
		log_warn(MOD,
			 "IKE SA #%u: peer asks for identity %s, we are "
			 "%s",
			 sa->id, ike_id_str(&idr_req, b1, sizeof(b1)),
			 ike_id_str(&sa->id_local, b2, sizeof(b2)));
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_kill(sa, "IDr mismatch");
		return;
	}
	/* ike_sa_per_id (dos.c); INITIAL_CONTACT replaces the others. */
	if (!ikev2_msg_find_notify(m, IKEV2_N_INITIAL_CONTACT, NULL) &&
	    !dos_id_admit(sa)) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_kill(sa, "too many IKE SAs for this identity");
		return;
	}
	myidb_len = id_body(&sa->id_local, myidb, sizeof(myidb));
	if (auth_cert_signs(r)) /* signature AUTH (auth_cert.c) */
		rc = auth_cert_sign(sa, r, false, myidb, myidb_len, &sig);
	else if (!cfg_psk_usable(r))
		rc = -ENOKEY; /* peer signed, we have nothing to answer */
	else
		rc = auth_compute(sa, r, false, myidb, myidb_len, mac, &mac_len,
				  NULL, 0);
	if (rc != 0) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_kill(sa, "cannot compute AUTH");
		return;
	}
	read_window(sa, m);
	mobike_read_auth(sa, m, r);
	sa->peer_sent_initial_contact =
	    ikev2_msg_find_notify(m, IKEV2_N_INITIAL_CONTACT, NULL);
	ike_sa_set_state(sa, IKE_S_ESTABLISHED);
	if (sa->peer_sent_initial_contact)
		initial_contact(sa);
	rw_auth_established(sa, m); /* uniqueness, CP request (rw.c) */

	have_child = ikev2_msg_find(m, IKEV2_PL_SA) != NULL;
	if (have_child)
		child_rc = child_process_r(
		    sa, m, NULL, 0, sa->init->ni, sa->init->ni_len,
		    sa->init->nr, sa->init->nr_len, false, IKEV2_DH_NONE, &res);

	rc = msg_start(sa, &b, IKEV2_EXCH_IKE_AUTH, true, m->hdr.msgid, true);
	put_id(&b, IKEV2_PL_IDr, &sa->id_local);
	auth_cert_put_certs(&b, r, false); /* CERT (auth_cert.c) */
	if (sig.data)
		ikev2_put_auth(&b, sig.method, sig.data, sig.len);
	else
		ikev2_put_auth(&b, IKEV2_AUTH_PSK, mac, mac_len);
	auth_sig_clear(&sig);
	mem_wipe(mac, sizeof(mac));
	cp_put_reply(&b, sa); /* CFG_REPLY (cp.c) */
	if (have_child && child_rc == 0) {
		child_put_result_notifies(&b, &res);
		child_put_result(&b, &res, true);
		ikev2_put_ts(&b, IKEV2_PL_TSi, &res.tsi);
		ikev2_put_ts(&b, IKEV2_PL_TSr, &res.tsr);
	} else if (have_child) {
		/* §1.2: the IKE SA stands, the child failed. */
		ikev2_put_notify_simple(&b, (uint16_t)child_rc, NULL, 0);
	}
	put_window(&b, sa);
	mobike_put_auth(&b, sa, r); /* RFC 4555 §3.3 (mobike.c) */
	if (rc < 0) {
		ikev2_wr_abort(&b);
		ike_sa_kill(sa, "cannot build IKE_AUTH response");
		return;
	}
	msg_send_response(sa, &b, m->hdr.msgid);
	log_info(MOD,
		 "IKE SA #%u (%s) established between %s and %s "
		 "(responder)",
		 sa->id, sa->remote, ike_id_str(&sa->id_local, b1, sizeof(b1)),
		 ike_id_str(&sa->id_peer, b2, sizeof(b2)));
	ike_sa_established(sa);
	/* The response is cached (a retransmitted IKE_AUTH request gets it
	 * again, RFC 7296 §2.1): nothing reads the IKE_SA_INIT material
	 * from here on. */
	ike_sa_init_free(sa);
}
