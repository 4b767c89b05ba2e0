/*
 * input.c - inbound IKE message routing and the message-building
 * helpers shared by the exchanges.
 *
 * ike_input() parses the header and payload chain (codec), finds the
 * IKE SA by SPIs, applies the message ID rules (sa.c), opens the SK
 * payload and dispatches: responses to the task that sent the request,
 * requests to the responder side of their exchange.
 *
 * Ownership: the received datagram and the decrypted plaintext are
 * borrowed for the duration of the dispatch only (struct ike_msg points
 * into them); handlers copy what they keep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/util.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "ike/v1.h"
#include "lib/log.h"

#define MOD "ike"

const char *exch_name(uint8_t exch)
{
	return ikev2_exch_name(exch);
}

int msg_start(struct ike_sa *sa, struct ikev2_wr *b, uint8_t exch,
	      bool response, uint32_t mid, bool encrypted)
{
	struct ikev2_hdr h;
	int rc;

	memset(&h, 0, sizeof(h));
	h.spi_i = sa->spi_i;
	h.spi_r = sa->spi_r;
	h.version = IKEV2_VERSION;
	h.exch = exch;
	/* RFC 7296 §3.1: I is set by the original initiator of the SA,
	 * R on responses. */
	h.flags = (sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
		  (response ? IKEV2_FLAG_RESPONSE : 0);
	h.msgid = mid;
	rc = ikev2_wr_begin(b, &h);
	if (rc == 0 && encrypted)
		rc = ikev2_sk_begin(b, &sa->sk_out);
	return rc;
}

/*
 * RFC 7383 §2.5.1: the largest IKE message of a fragment: the
 * configured IP datagram size (or 576 for IPv4, 1280 for IPv6), lowered
 * to the path MTU the kernel knows towards the peer, less the IP and
 * UDP headers and the non-ESP marker.  0: no fragmentation on this SA.
 */
static size_t frag_len(const struct ike_sa *sa)
{
	const struct ike_remote *r;
	bool v4 = sa->peer.addr.af == AF_INET;
	size_t size, hdrs = (v4 ? 20 : 40) + 8 + (sa->natt ? 4 : 0);
	int mtu;

	if (!sa->frag)
		return 0;
	r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	size = r && r->fragment_size ? r->fragment_size : v4 ? 576 : 1280;
	mtu = sa->d->send_hook ? 0 : net_path_mtu(&sa->peer.addr);
	if (mtu > 0 && (size_t)mtu < size)
		size = (size_t)mtu;
	if (size < hdrs + IKE_FRAG_MIN_LEN)
		size = hdrs + IKE_FRAG_MIN_LEN;
	return size - hdrs;
}

static int msg_finish(struct ike_sa *sa, struct ikev2_wr *b, uint8_t **pkt,
		      size_t *len)
{
	unsigned nfrag;
	int rc;

	rc = ikev2_wr_finish_frag(b, frag_len(sa), pkt, len, &nfrag);
	if (rc == 0 && nfrag > 1) {
		sa->frags_sent += nfrag;
		log_debug(MOD, "IKE SA #%u: message sent as %u fragments",
			  sa->id, nfrag);
	}
	return rc;
}

int msg_send_request(struct ike_sa *sa, struct ikev2_wr *b, uint8_t exch)
{
	uint8_t *pkt;
	size_t len;
	int rc = msg_finish(sa, b, &pkt, &len);

	if (rc < 0)
		return rc;
	log_debug(MOD, "IKE SA #%u: sending %s request %u (%zu octets)", sa->id,
		  exch_name(exch), sa->mid_next, len);
	return sa_send_request(sa, exch, pkt, len);
}

int msg_send_response(struct ike_sa *sa, struct ikev2_wr *b, uint32_t mid)
{
	uint8_t *pkt;
	size_t len;
	int rc = msg_finish(sa, b, &pkt, &len);

	if (rc < 0)
		return rc;
	return sa_send_response(sa, mid, pkt, len);
}

/* A protected response carrying only an error notify (§2.21.2). */
void send_error_response(struct ike_sa *sa, uint8_t exch, uint32_t mid,
			 uint16_t notify, const void *data, size_t len)
{
	struct ikev2_wr b;

	log_info(MOD, "IKE SA #%u: answering %s request %u with %s", sa->id,
		 exch_name(exch), mid, ikev2_notify_name(notify));
	if (msg_start(sa, &b, exch, true, mid, sa->keys_ready) < 0) {
		ikev2_wr_abort(&b);
		return;
	}
	ikev2_put_notify_simple(&b, notify, data, len);
	msg_send_response(sa, &b, mid);
}

/* Unprotected notify answer to an IKE_SA_INIT request (§2.21.1): no
 * state is kept, nothing cached. */
void send_init_notify(struct iked *d, const struct ike_ep *local,
		      const struct ike_ep *peer, bool natt,
		      const struct ikev2_hdr *req, uint16_t notify,
		      const void *data, size_t len)
{
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t plen;

	memset(&h, 0, sizeof(h));
	h.spi_i = req->spi_i;
	h.spi_r = 0;
	h.version = IKEV2_VERSION;
	h.exch = req->exch;
	h.flags = IKEV2_FLAG_RESPONSE;
	h.msgid = req->msgid;
	if (ikev2_wr_begin(&b, &h) < 0) {
		ikev2_wr_abort(&b);
		return;
	}
	ikev2_put_notify_simple(&b, notify, data, len);
	if (ikev2_wr_finish(&b, &pkt, &plen) < 0)
		return;
	net_send(d, local, peer, natt, pkt, plen);
	free(pkt);
}

static uint8_t plain[IKEV2_MAX_MSG];
/* RFC 7383: one fragment's plaintext; fragment 1 of the reassembled
 * message (its identity for retransmissions, sa_request_verified()). */
static uint8_t frag_plain[IKEV2_MAX_MSG];
static uint8_t frag_first[IKEV2_MAX_MSG];

static const char *frag_refusal(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "bad fragment number or too many fragments";
	case -EALREADY:
		return "duplicate or overlapping fragment";
	case -ESTALE:
		return "fragment of an older fragmentation";
	case -E2BIG:
		return "reassembled message too large";
	default:
		return strerror(-rc);
	}
}

/*
 * RFC 7383 §2.6: an SKF fragment of a message whose message ID passed
 * sa_check_mid().  Its ICV is verified on its own (§2.5.3) before
 * anything is kept; refused fragments change nothing but the partial
 * message where frag.h says so.  Returns true when m is now the whole
 * message, parsed as ikev2_sk_open() would (*prc its result), with
 * m->raw = fragment 1; false when more is needed or it was dropped.
 */
static bool frag_input(struct ike_sa *sa, struct ike_msg *m, bool response,
		       int *prc)
{
	struct ike_frag_rx *rx;
	char why[160];
	size_t n = 0;
	long joined;
	int rc;

	if (!sa->frag) {
		/* §2.5: only after both announced the support. */
		log_rl_warn(MOD,
			    "IKE SA #%u: SKF fragment without negotiated "
			    "fragmentation, dropped",
			    sa->id);
		return false;
	}
	rc = ikev2_skf_open(&sa->sk_in, m, frag_plain, sizeof(frag_plain), &n);
	if (rc < 0) {
		log_rl_warn(MOD,
			    "IKE SA #%u: %s fragment %u/%u of %u failed "
			    "integrity check (%s), dropped",
			    sa->id, exch_name(m->hdr.exch), m->skf_num,
			    m->skf_total, m->hdr.msgid,
			    m->reject ? ikev2_reject_str(m, why, sizeof(why))
				      : strerror(-rc));
		return false;
	}
	rx = sa_frag_rx(sa, response);
	if (!rx) {
		mem_wipe(frag_plain, n);
		sa->frags_refused++;
		log_rl_warn(MOD,
			    "IKE SA #%u: %s fragment %u/%u of %u refused: %s",
			    sa->id, exch_name(m->hdr.exch), m->skf_num,
			    m->skf_total, m->hdr.msgid, strerror(ENOMEM));
		return false;
	}
	rc = ike_frag_add(rx, m->hdr.msgid, m->skf_num, m->skf_total,
			  m->sk_first, frag_plain, n, m->raw, m->raw_len,
			  ev_now_ms());
	mem_wipe(frag_plain, n);
	if (rc < 0) {
		sa->frags_refused++;
		log_rl_warn(MOD,
			    "IKE SA #%u: %s fragment %u/%u of %u refused: %s",
			    sa->id, exch_name(m->hdr.exch), m->skf_num,
			    m->skf_total, m->hdr.msgid, frag_refusal(rc));
		sa_frag_timer(sa, sa->d->loop);
		return false;
	}
	sa->frags_rcvd++;
	if (rc != IKE_FRAG_DONE) {
		sa_frag_timer(sa, sa->d->loop);
		return false;
	}
	joined = ike_frag_join(rx, plain, sizeof(plain));
	if (joined < 0 || rx->first_raw_len > sizeof(frag_first)) {
		ike_frag_reset(rx);
		sa_frag_timer(sa, sa->d->loop);
		return false;
	}
	memcpy(frag_first, rx->first_raw, rx->first_raw_len);
	m->raw = frag_first;
	m->raw_len = rx->first_raw_len;
	*prc =
	    ikev2_msg_open_reassembled(m, rx->first_np, plain, (size_t)joined);
	log_debug(MOD, "IKE SA #%u: %s %u reassembled from %u fragments",
		  sa->id, exch_name(m->hdr.exch), m->hdr.msgid, rx->total);
	ike_frag_reset(rx);
	sa_frag_timer(sa, sa->d->loop);
	return true;
}

static void dispatch_response(struct ike_sa *sa, struct ike_msg *m)
{
	struct task *t = sa->active;

	sa->active = NULL;
	sa_request_done(sa);
	if (t) {
		task_process_i(sa, t, m);
		task_free(t);
	}
	if (sa->state != IKE_S_DEAD)
		task_run(sa);
}

/* A verified response without the payloads its exchange requires (the
 * codec's rules): the exchange ends as the task's refusal path. */
static void dispatch_rejected(struct ike_sa *sa, struct ike_msg *m,
			      const char *why)
{
	struct task *t = sa->active;

	sa->active = NULL;
	sa_request_done(sa);
	if (t) {
		task_rejected(sa, t, m, why);
		task_free(t);
	}
	if (sa->state != IKE_S_DEAD)
		task_run(sa);
}

static void dispatch_request(struct ike_sa *sa, struct ike_msg *m)
{
	switch (m->hdr.exch) {
	case IKEV2_EXCH_IKE_AUTH:
		ike_auth_process_r(sa, m);
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		create_child_process_r(sa, m);
		break;
	case IKEV2_EXCH_INFORMATIONAL:
		info_process_r(sa, m);
		break;
	default:
		/* §2.21.2: protected, but nothing we implement. */
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		break;
	}
	if (sa->state != IKE_S_DEAD)
		task_run(sa);
}

void ike_input(struct iked *d, const struct ike_ep *local,
	       const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	       size_t len)
{
	static struct ike_msg m;
	const struct ike_path from = {*local, *peer, natt};
	struct ike_sa *sa;
	bool response;
	char pb[80], sum[256], why[160];
	int rc;

	/* RFC 2408 §3.1 / RFC 7296 §3.1: the major version picks the
	 * protocol; IKEv1 goes to v1.c */
	if (v1_is_ikev1(pkt, len)) {
		v1_input(d, local, peer, natt, pkt, len);
		return;
	}
	rc = ikev2_msg_parse(pkt, len, &m);
	if (rc == -EBADMSG || (rc < 0 && len < IKEV2_HDR_LEN)) {
		log_rl_warn(MOD, "IKE message from %s dropped: %s",
			    ike_ep_str(peer, pb, sizeof(pb)),
			    ikev2_reject_str(&m, why, sizeof(why)));
		return;
	}
	response = m.hdr.flags & IKEV2_FLAG_RESPONSE;
	if (rc < 0) {
		log_rl_warn(MOD, "IKE message from %s dropped: %s",
			    ike_ep_str(peer, pb, sizeof(pb)), strerror(-rc));
		return;
	}
	if (m.hdr.exch == IKEV2_EXCH_IKE_SA_INIT && !response) {
		if (rc > 0) {
			/* §2.21.1: errors in IKE_SA_INIT requests are
			 * answered in the clear. */
			uint8_t crit = m.bad_critical;
			log_rl_warn(MOD, "IKE_SA_INIT from %s: %s (%s)",
				    ike_ep_str(peer, pb, sizeof(pb)),
				    ikev2_notify_name((uint16_t)rc),
				    ikev2_reject_str(&m, why, sizeof(why)));
			send_init_notify(
			    d, local, peer, natt, &m.hdr, (uint16_t)rc, &crit,
			    rc == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0);
			return;
		}
		if (m.hdr.spi_r != 0 || m.hdr.msgid != 0) {
			log_rl_warn(MOD,
				    "IKE_SA_INIT from %s with SPIr/msgid "
				    "set dropped",
				    ike_ep_str(peer, pb, sizeof(pb)));
			return;
		}
		log_debug(MOD, "received IKE_SA_INIT request from %s %s",
			  ike_ep_str(peer, pb, sizeof(pb)),
			  ikev2_msg_summary(&m, sum, sizeof(sum)));
		sa = ike_sa_find_init(d, m.hdr.spi_i, peer);
		if (sa) {
			/* §2.1: a retransmitted IKE_SA_INIT request is the
			 * exact request we answered; anything else with
			 * its SPIi changes nothing. */
			if (sa->state == IKE_S_INIT_DONE && sa->init &&
			    sa->init->init_req &&
			    sa->init->init_req_len == len &&
			    memcmp(sa->init->init_req, pkt, len) == 0)
				sa_resend_response(sa, 0, NULL);
			else if (sa->init_pending)
				; /* still in a crypto worker (cwork.h) */
			else
				log_rl_warn(MOD,
					    "IKE SA #%u: IKE_SA_INIT "
					    "from %s for a known SPIi but not "
					    "the request answered, dropped",
					    sa->id,
					    ike_ep_str(peer, pb, sizeof(pb)));
			return;
		}
		ike_init_process_r(d, local, peer, natt, &m);
		return;
	}

	sa = ike_sa_find(d, m.hdr.spi_i, m.hdr.spi_r);
	if (!sa) {
		/* §2.21.4: unknown SPI; answering is optional and would
		 * make us a reflector, so only log. */
		log_rl_warn(MOD,
			    "%s %s from %s for unknown SPIs "
			    "%016llx/%016llx",
			    exch_name(m.hdr.exch),
			    response ? "response" : "request",
			    ike_ep_str(peer, pb, sizeof(pb)),
			    (unsigned long long)m.hdr.spi_i,
			    (unsigned long long)m.hdr.spi_r);
		return;
	}
	/* §3.1: the I flag names the original initiator; a message
	 * claiming our role is not for this SA. */
	if (!!(m.hdr.flags & IKEV2_FLAG_INITIATOR) == sa->initiator) {
		log_rl_warn(MOD, "IKE SA #%u: message with wrong I flag",
			    sa->id);
		return;
	}
	if (m.hdr.exch == IKEV2_EXCH_IKE_SA_INIT) {
		if (!response || !sa->initiator ||
		    sa->state != IKE_S_INIT_SENT ||
		    !sa_check_mid(sa, &m, &from))
			return;
		if (rc > 0) {
			log_rl_warn(MOD,
				    "IKE SA #%u: bad IKE_SA_INIT "
				    "response (%s), ignored",
				    sa->id,
				    ikev2_reject_str(&m, why, sizeof(why)));
			return;
		}
		/* §2.21.1: unauthenticated; an answer that would not be
		 * acted on leaves the request outstanding (ike_init.c). */
		if (!ike_init_response_usable(sa, &m))
			return;
		sa->bytes_in += len;
		dispatch_response(sa, &m);
		return;
	}
	if (!sa->keys_ready) {
		log_rl_warn(MOD, "IKE SA #%u: %s before keys, dropped", sa->id,
			    exch_name(m.hdr.exch));
		return;
	}
	/*
	 * RFC 7296 §2.21.2, §3.14: until the SK payload verifies, the
	 * message is anyone's.  Nothing but retransmission detection
	 * happens before that: a message whose outer chain does not parse
	 * (unknown critical payload, a payload not allowed outside SK,
	 * another major version) cannot be verified at all, so it is
	 * dropped like one with a bad ICV -- no answer, no cache entry, no
	 * message ID change, no SA deletion, no timer change.
	 */
	if (rc > 0) {
		log_rl_warn(MOD,
			    "IKE SA #%u: unauthenticated %s %s %u from %s "
			    "with a bad outer payload chain (%s), dropped",
			    sa->id, exch_name(m.hdr.exch),
			    response ? "response" : "request", m.hdr.msgid,
			    ike_ep_str(peer, pb, sizeof(pb)),
			    ikev2_reject_str(&m, why, sizeof(why)));
		return;
	}
	/* RFC 7296 §1.3, §1.4: CREATE_CHILD_SA and INFORMATIONAL follow
	 * the initial exchanges.  The responder may start one as soon as it
	 * sent its IKE_AUTH response; until that response reached us, such
	 * a request is dropped unprocessed (its retransmission is answered
	 * once we are established), or e.g. a DELETE would miss the CHILD
	 * SA that the response creates. */
	if (!response && sa->state == IKE_S_AUTH_SENT) {
		log_rl_warn(MOD,
			    "IKE SA #%u: %s request before our IKE_AUTH "
			    "completed, dropped",
			    sa->id, exch_name(m.hdr.exch));
		return;
	}
	if (!sa_check_mid(sa, &m, &from))
		return;
	/* RFC 6023 §3: the codec's IKE_AUTH rule (msg.c) needs to know. */
	m.childless_ok = sa->childless;
	if (m.skf) {
		if (!frag_input(sa, &m, response, &rc))
			return;
	} else {
		rc = ikev2_sk_open(&sa->sk_in, &m, plain, sizeof(plain));
	}
	if (rc < 0) {
		/* §2.21.2: integrity failures are dropped silently. */
		log_rl_warn(MOD,
			    "IKE SA #%u: %s %u failed integrity check "
			    "(%s), dropped",
			    sa->id, exch_name(m.hdr.exch), m.hdr.msgid,
			    m.reject ? ikev2_reject_str(&m, why, sizeof(why))
				     : strerror(-rc));
		return;
	}
	/* From here on the message is the peer's (it holds SK_a/SK_e). */
	sa->bytes_in += len;
	if (!response)
		sa_request_verified(sa, &m, &from);
	log_debug(MOD, "IKE SA #%u: received %s %s %u %s", sa->id,
		  exch_name(m.hdr.exch), response ? "response" : "request",
		  m.hdr.msgid, ikev2_msg_summary(&m, sum, sizeof(sum)));
	if (rc > 0) {
		/* A verified message the codec refused (inner chain syntax
		 * or the exchange's payload rules). */
		ikev2_reject_str(&m, why, sizeof(why));
		if (!response) {
			uint8_t crit = m.bad_critical;
			log_rl_warn(
			    MOD, "IKE SA #%u: %s request %u refused: %s",
			    sa->id, exch_name(m.hdr.exch), m.hdr.msgid, why);
			send_error_response(
			    sa, m.hdr.exch, m.hdr.msgid, (uint16_t)rc, &crit,
			    rc == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0);
			/* RFC 7296 §2.21.2: a malformed IKE_AUTH request
			 * ends the not yet authenticated IKE SA. */
			if (m.hdr.exch == IKEV2_EXCH_IKE_AUTH &&
			    sa->state == IKE_S_INIT_DONE)
				ike_sa_kill(sa, "malformed IKE_AUTH request");
		} else if (ikev2_reject_required(&m)) {
			/* RFC 7296 §1.2-§1.4: well formed but without what
			 * the exchange needs: the exchange failed. */
			log_rl_warn(MOD, "IKE SA #%u: %s response %u: %s",
				    sa->id, exch_name(m.hdr.exch), m.hdr.msgid,
				    why);
			dispatch_rejected(sa, &m, why);
		} else {
			log_rl_warn(MOD,
				    "IKE SA #%u: malformed %s response "
				    "(%s), dropped",
				    sa->id, exch_name(m.hdr.exch), why);
		}
		sa->rx_req_valid = false;
		return;
	}
	/* Authenticated: the peer is alive, and (RFC 7296 §2.23) it may
	 * have floated to port 4500. */
	dpd_heard(sa);
	if (natt && !sa->natt) {
		log_info(MOD, "IKE SA #%u: peer moved to %s (NAT-T port)",
			 sa->id, ike_ep_str(peer, pb, sizeof(pb)));
		sa->natt = true;
		sa->peer = *peer;
		sa->local = *local;
	} else if (natt && sa->natt && (sa->nat_local || sa->nat_peer) &&
		   (sa->peer.port != peer->port ||
		    !kaddr_eq(&sa->peer.addr, &peer->addr))) {
		/* RFC 7296 §2.23: a NAT mapping changed. */
		struct ike_ep old = sa->peer;

		log_info(MOD, "IKE SA #%u: peer NAT mapping now %s", sa->id,
			 ike_ep_str(peer, pb, sizeof(pb)));
		sa->peer = *peer;
		natt_peer_moved(sa, &old); /* CHILD SAs follow (natt.c) */
	}
	if (response)
		dispatch_response(sa, &m);
	else
		dispatch_request(sa, &m);
	sa->rx_req_valid = false;
}
