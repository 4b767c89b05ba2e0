/*
 * info.c - the INFORMATIONAL exchange (RFC 7296 §1.4): DELETE of CHILD
 * and IKE SAs (§1.4.1), and the responder side of every INFORMATIONAL
 * request (an empty one is a liveness check, §2.4: see dpd.c for ours).
 *
 * Ownership: nothing kept beyond the exchange; children and IKE SAs are
 * removed through child_free()/ike_sa_kill().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

int info_initiate(struct ike_sa *sa, struct task *t)
{
	struct ikev2_wr b;
	struct ikev2_delete del;
	struct child_sa *c = NULL;
	uint8_t spi[4];
	int rc;

	memset(&del, 0, sizeof(del));
	if (t->type == TASK_CHILD_DELETE) {
		uint32_t s = t->spi;
		if (t->child_id) {
			c = child_find_id(sa->d, t->child_id);
			if (!c || c->ike != sa)
				return 1;
			s = c->spi_in;
			child_set_state(c, CHILD_S_DELETING);
		}
		if (!s)
			return 1;
		/* §3.11: ESP and AH SAs are named by our inbound SPI. */
		ikev2_spi32_put(spi, s);
		del.proto = c ? child_ike_proto(c) : IKEV2_PROTO_ESP;
		del.spi_len = 4;
		del.nspi = 1;
		del.spis = spi;
	} else if (t->type == TASK_IKE_DELETE) {
		del.proto = IKEV2_PROTO_IKE;
		ike_sa_set_state(sa, IKE_S_DELETING);
	}
	rc = msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, false, sa->mid_next,
		       true);
	ikev2_put_delete(&b, &del);
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return rc;
	}
	if (t->type == TASK_IKE_DELETE)
		log_info(MOD, "IKE SA #%u: sending DELETE", sa->id);
	else if (c)
		log_info(MOD, "IKE SA #%u: deleting CHILD SA #%u", sa->id,
			 c->id);
	return msg_send_request(sa, &b, IKEV2_EXCH_INFORMATIONAL);
}

void info_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m)
{
	struct child_sa *c;

	(void)m;
	switch (t->type) {
	case TASK_IKE_DELETE:
		/* §1.4.1: the response completes the IKE SA's deletion. */
		ike_sa_kill(sa, "deleted");
		break;
	case TASK_CHILD_DELETE:
		c = t->child_id ? child_find_id(sa->d, t->child_id) : NULL;
		if (c && c->ike == sa)
			child_remove(c, "deleted by us");
		break;
	default:
		break;
	}
}

void info_process_r(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ikev2_wr b;
	/* our inbound SPIs to answer with, [0] ESP and [1] AH (§1.4.1) */
	uint8_t out_spis[2][4 * 64];
	uint16_t nout[2] = {0, 0};
	bool delete_ike = false;
	int i = -1, rc;

	/* §2.21.2: AUTHENTICATION_FAILED in the INFORMATIONAL immediately
	 * following IKE_AUTH (the initiator's first request after it, so
	 * message ID 2) means the initiator did not accept our AUTH: the
	 * IKE SA is deleted without a Delete payload. */
	if (!sa->initiator && m->hdr.msgid == 2 &&
	    ikev2_msg_find_notify(m, IKEV2_N_AUTHENTICATION_FAILED, NULL)) {
		if (msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, true,
			      m->hdr.msgid, true) < 0)
			ikev2_wr_abort(&b);
		else
			msg_send_response(sa, &b, m->hdr.msgid);
		ike_sa_kill(sa, "the initiator refused our authentication");
		return;
	}
	while ((i = ikev2_msg_next(m, IKEV2_PL_D, i)) >= 0) {
		struct ikev2_delete del;
		uint16_t k;

		if (ikev2_get_delete(&m->pl[i], &del) != 0)
			continue;
		if (del.proto == IKEV2_PROTO_IKE) {
			delete_ike = true;
			continue;
		}
		if ((del.proto != IKEV2_PROTO_ESP &&
		     del.proto != IKEV2_PROTO_AH) ||
		    del.spi_len != 4)
			continue; /* §3.11 */
		for (k = 0; k < del.nspi; k++) {
			uint32_t spi =
			    ikev2_spi32_get(del.spis + 4 * (size_t)k);
			/* The peer names its inbound SPI = our outbound. */
			struct child_sa *c = child_find_spi(sa, spi, false);
			if (c && child_ike_proto(c) != del.proto)
				c = NULL; /* §3.11: SPIs are per protocol */
			if (!c) {
				/* §2.25: perhaps the CHILD SA our request
				 * creates, which the peer installed and now
				 * deletes before its response reached us. */
				if (sa->req_out &&
				    sa->n_early_del <
					sizeof(sa->early_del) /
					    sizeof(*sa->early_del))
					sa->early_del[sa->n_early_del++] = spi;
				continue;
			}
			/* §1.4.1: answer with our inbound SPI, unless we
			 * are deleting it ourselves already. */
			unsigned x = del.proto == IKEV2_PROTO_AH;
			if (c->state != CHILD_S_DELETING &&
			    nout[x] < sizeof(out_spis[x]) / 4) {
				ikev2_spi32_put(out_spis[x] + 4 * nout[x],
						c->spi_in);
				nout[x]++;
			}
			child_remove(c, "deleted by peer");
		}
	}
	rc = msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, true, m->hdr.msgid,
		       true);
	for (unsigned x = 0; x < 2 && !delete_ike; x++) {
		struct ikev2_delete d = {.proto = x ? IKEV2_PROTO_AH
						    : IKEV2_PROTO_ESP,
					 .spi_len = 4,
					 .nspi = nout[x],
					 .spis = out_spis[x]};
		if (nout[x])
			ikev2_put_delete(&b, &d);
	}
	if (rc == 0 && !delete_ike)
		mobike_info_r(sa, m, &b); /* RFC 4555 (mobike.c) */
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return;
	}
	msg_send_response(sa, &b, m->hdr.msgid);
	if (delete_ike) {
		ike_rekey_lost_by_peer(sa);
		ike_sa_kill(sa, "deleted by peer");
	}
}
