/*
 * info.c - Informational exchanges on an established ISAKMP SA (RFC 2409
 * §5.7): HDR*, HASH(1), D or N, with HASH(1) = prf(SKEYID_a, M-ID | D/N)
 * and an IV of its own (App. B).  Sent: Delete of one of our CHILD SAs
 * (named by our inbound SPI, RFC 2408 §3.15) or of the ISAKMP SA (the
 * cookie pair).  Received: verified, then Deletes are reported; a
 * message ID seen before is a replay and dropped.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/util.h"

int info_send(struct ikev1_sa *sa, const struct isakmp_notify *n,
	      const struct isakmp_delete *d, struct ikev1_out *out)
{
	return info_send_dels(sa, n, d, d ? 1 : 0, out);
}

int info_send_dels(struct ikev1_sa *sa, const struct isakmp_notify *n,
		   const struct isakmp_delete *d, unsigned n_d,
		   struct ikev1_out *out)
{
	struct isakmp_hdr h;
	struct isakmp_wr b;
	uint8_t hash[CRYPTO_MAX_PRF_OUT], iv[CRYPTO_MAX_BLOCK];
	uint8_t *pkt;
	size_t off, len;
	uint32_t mid;
	int rc;

	rc = sa_new_mid(sa, &mid);
	if (!rc)
		rc = ikev1_iv_exchange(&sa->keys, mid, iv);
	if (rc)
		return rc;
	sa_hdr(sa, &h, ISAKMP_EXCH_INFO, mid, true);
	isakmp_wr_begin(&b, &h);
	isakmp_put_reserve(&b, ISAKMP_NP_HASH, sa->keys.hlen, &off);
	if (n)
		isakmp_put_notify(&b, n);
	for (unsigned i = 0; i < n_d; i++)
		isakmp_put_delete(&b, &d[i]);
	rc = isakmp_wr_finish(&b, &pkt, &len);
	if (rc)
		return rc;
	/* RFC 2409 §5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D) */
	rc = ikev1_qm_hash(&sa->keys, mid, NULL, 0, pkt + off + sa->keys.hlen,
			   len - off - sa->keys.hlen, hash);
	if (!rc) {
		memcpy(pkt + off, hash, sa->keys.hlen);
		rc = sa_seal(sa, iv, &pkt, &len);
	}
	if (rc) {
		free(pkt);
		return rc;
	}
	sa_mid_add(sa, mid);
	out->pkt = pkt;
	out->len = len;
	return 0;
}

int info_delete(struct ikev1_sa *sa, uint32_t spi_in, struct ikev1_out *out)
{
	struct isakmp_delete d = {.doi = ISAKMP_DOI_IPSEC, .n_spi = 1};
	uint8_t spis[16];
	int rc;

	if (spi_in) {
		d.proto = ISAKMP_PROTO_ESP;
		d.spi_size = 4;
		spis[0] = (uint8_t)(spi_in >> 24);
		spis[1] = (uint8_t)(spi_in >> 16);
		spis[2] = (uint8_t)(spi_in >> 8);
		spis[3] = (uint8_t)spi_in;
	} else {
		/* RFC 2408 §3.15: the ISAKMP SA's SPI is the cookie pair */
		d.proto = ISAKMP_PROTO_ISAKMP;
		d.spi_size = 16;
		memcpy(spis, sa->cky_i, 8);
		memcpy(spis + 8, sa->cky_r, 8);
	}
	d.spis = spis;
	rc = info_send(sa, NULL, &d, out);
	if (!rc && !spi_in)
		sa->state = IKEV1_DEAD;
	return rc;
}

static void be32_to(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 2408 §3.15: one Delete payload per protocol of the bundle. */
int info_delete_bundle(struct ikev1_sa *sa, uint32_t esp_spi, uint32_t ah_spi,
		       uint16_t cpi, struct ikev1_out *out)
{
	struct isakmp_delete d[3];
	uint8_t spis[3][4];
	unsigned n = 0;

	memset(d, 0, sizeof(d));
	if (ah_spi) {
		be32_to(spis[n], ah_spi);
		d[n] = (struct isakmp_delete){ISAKMP_DOI_IPSEC, ISAKMP_PROTO_AH,
					      4, 1, spis[n]};
		n++;
	}
	if (esp_spi) {
		be32_to(spis[n], esp_spi);
		d[n] = (struct isakmp_delete){ISAKMP_DOI_IPSEC,
					      ISAKMP_PROTO_ESP, 4, 1, spis[n]};
		n++;
	}
	if (cpi) {
		/* RFC 3173 §4.1: the CPI, 2 octets as in the proposal */
		spis[n][0] = (uint8_t)(cpi >> 8);
		spis[n][1] = (uint8_t)cpi;
		d[n] = (struct isakmp_delete){
		    ISAKMP_DOI_IPSEC, ISAKMP_PROTO_IPCOMP, 2, 1, spis[n]};
		n++;
	}
	if (!n || (!ah_spi && !esp_spi))
		return -EINVAL;
	return info_send_dels(sa, NULL, d, n, out);
}

int info_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	       struct ikev1_out *out)
{
	struct isakmp_msg pm;
	uint8_t *plain, next_iv[CRYPTO_MAX_BLOCK], iv[CRYPTO_MAX_BLOCK];
	uint8_t hash[CRYPTO_MAX_PRF_OUT];
	const uint8_t *rest;
	size_t rest_len;
	int rc;

	/* RFC 2409 §5.7: a fresh, nonzero message ID */
	if (m->hdr.msgid == 0 || sa_mid_seen(sa, m->hdr.msgid)) {
		sa->st.replayed++;
		return -EBADMSG;
	}
	rc = ikev1_iv_exchange(&sa->keys, m->hdr.msgid, iv);
	if (!rc)
		rc = sa_open(sa, m, iv, &plain, &pm, next_iv);
	if (rc)
		return rc;
	rc = -EBADMSG;
	/* RFC 2409 §5.7: HASH(1) first (the codec enforces nothing for
	 * Informational, whose clear form has no HASH) */
	if (pm.pl[0].type != ISAKMP_NP_HASH || pm.pl[0].len != sa->keys.hlen)
		goto cleanup_plain;
	sa_after_hash(&pm, plain, m->enc_len, &rest, &rest_len);
	if (ikev1_qm_hash(&sa->keys, m->hdr.msgid, NULL, 0, rest, rest_len,
			  hash) != 0)
		goto cleanup_plain;
	if (CRYPTO_memcmp(hash, pm.pl[0].body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		goto cleanup_plain;
	}
	sa_mid_add(sa, m->hdr.msgid);
	rc = 0;
	for (int i = isakmp_msg_next(&pm, ISAKMP_NP_N, -1); i >= 0;
	     i = isakmp_msg_next(&pm, ISAKMP_NP_N, i)) {
		struct isakmp_notify n;

		if (isakmp_get_notify(&pm.pl[i], &n) == 0 &&
		    dpd_notify(sa, &n, out) < 0)
			break;
	}
	for (int i = isakmp_msg_next(&pm, ISAKMP_NP_D, -1); i >= 0;
	     i = isakmp_msg_next(&pm, ISAKMP_NP_D, i)) {
		struct isakmp_delete d;

		if (isakmp_get_delete(&pm.pl[i], &d) != 0)
			continue;
		if ((d.proto == ISAKMP_PROTO_ESP ||
		     d.proto == ISAKMP_PROTO_AH) &&
		    d.spi_size == 4) {
			/* one SA per event (a bundle goes whole with any of
			 * its SAs); further SPIs are rare and are left to
			 * expire */
			if (out->deleted_proto)
				continue;
			out->deleted_proto = d.proto;
			out->deleted_spi = (uint32_t)d.spis[0] << 24 |
					   (uint32_t)d.spis[1] << 16 |
					   (uint32_t)d.spis[2] << 8 | d.spis[3];
		} else if (d.proto == ISAKMP_PROTO_IPCOMP && d.spi_size == 2) {
			if (out->deleted_proto)
				continue;
			out->deleted_proto = d.proto;
			out->deleted_spi = (uint32_t)d.spis[0] << 8 | d.spis[1];
		} else if (d.proto == ISAKMP_PROTO_ISAKMP && d.spi_size == 16 &&
			   memcmp(d.spis, sa->cky_i, 8) == 0 &&
			   memcmp(d.spis + 8, sa->cky_r, 8) == 0) {
			out->deleted_proto = ISAKMP_PROTO_ISAKMP;
			sa->state = IKEV1_DEAD;
			break;
		}
	}
cleanup_plain:
	mem_wipe(plain, m->enc_len);
	free(plain);
	return rc;
}
