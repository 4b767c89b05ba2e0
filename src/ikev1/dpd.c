/*
 * dpd.c - Dead Peer Detection for IKEv1 (RFC 3706): both sides announce
 * the DPD vendor ID in Main Mode (§5); then either may send, in an
 * authenticated Informational, Notify R-U-THERE (36136) naming the ISAKMP
 * SA (protocol ISAKMP, SPI = the cookie pair) with a 32-bit sequence
 * number, answered by R-U-THERE-ACK (36137) with the same number (§5.1).
 * The first number is random (§7), then it only grows; an ACK that does
 * not match our outstanding R-U-THERE is ignored.  When to probe and when
 * to give up is the caller's (the dpd_* keys of racoon2.conf).
 */
#include <errno.h>
#include <string.h>

#include "ikev1/ikev1_int.h"

void dpd_vids(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	for (int i = isakmp_msg_next(m, ISAKMP_NP_VID, -1); i >= 0;
	     i = isakmp_msg_next(m, ISAKMP_NP_VID, i))
		if (isakmp_vid_lookup(m->pl[i].body, m->pl[i].len) ==
		    ISAKMP_VID_DPD)
			sa->dpd_vid = true;
}

static void dpd_fill(const struct ikev1_sa *sa, struct isakmp_notify *n,
		     uint16_t type, uint32_t seq, uint8_t data[4])
{
	memset(n, 0, sizeof(*n));
	n->doi = ISAKMP_DOI_IPSEC;
	n->proto = ISAKMP_PROTO_ISAKMP;
	n->spi_size = 16;
	memcpy(n->spi, sa->cky_i, 8);
	memcpy(n->spi + 8, sa->cky_r, 8);
	n->type = type;
	data[0] = (uint8_t)(seq >> 24);
	data[1] = (uint8_t)(seq >> 16);
	data[2] = (uint8_t)(seq >> 8);
	data[3] = (uint8_t)seq;
	n->data = data;
	n->data_len = 4;
}

int ikev1_dpd(struct ikev1_sa *sa, struct ikev1_out *out)
{
	struct isakmp_notify n;
	uint8_t data[4];
	int rc;

	memset(out, 0, sizeof(*out));
	if (sa->state != IKEV1_ESTABLISHED)
		return -EAGAIN;
	if (!sa->dpd_vid)
		return -ENOTSUP;
	if (sa->dpd_seq == 0) {
		/* RFC 3706 §7: a random start, below 2^31 to leave room */
		if (crypto_random(&sa->dpd_seq, sizeof(sa->dpd_seq)) != 0)
			return -EIO;
		sa->dpd_seq = (sa->dpd_seq & 0x7fffffffu) | 1u;
	} else {
		sa->dpd_seq++;
	}
	dpd_fill(sa, &n, ISAKMP_N_DPD_R_U_THERE, sa->dpd_seq, data);
	rc = info_send(sa, &n, NULL, out);
	if (!rc)
		sa->dpd_pending = true;
	return rc;
}

int dpd_notify(struct ikev1_sa *sa, const struct isakmp_notify *n,
	       struct ikev1_out *out)
{
	uint32_t seq;

	if (n->type != ISAKMP_N_DPD_R_U_THERE &&
	    n->type != ISAKMP_N_DPD_R_U_THERE_ACK)
		return 0;
	/* RFC 3706 §5.1: about this ISAKMP SA, with a sequence number */
	if (n->proto != ISAKMP_PROTO_ISAKMP || n->spi_size != 16 ||
	    memcmp(n->spi, sa->cky_i, 8) != 0 ||
	    memcmp(n->spi + 8, sa->cky_r, 8) != 0 || n->data_len != 4)
		return 0;
	seq = (uint32_t)n->data[0] << 24 | (uint32_t)n->data[1] << 16 |
	      (uint32_t)n->data[2] << 8 | n->data[3];
	if (n->type == ISAKMP_N_DPD_R_U_THERE_ACK) {
		if (sa->dpd_pending && seq == sa->dpd_seq) {
			sa->dpd_pending = false;
			out->dpd_ack = true;
		}
		return 0;
	}
	if (out->pkt)
		return 0; /* one answer per message */
	{
		struct isakmp_notify ack;
		uint8_t data[4];

		dpd_fill(sa, &ack, ISAKMP_N_DPD_R_U_THERE_ACK, seq, data);
		return info_send(sa, &ack, NULL, out);
	}
}
