/*
 * phase1.c - what Main Mode and Aggressive Mode (RFC 2409 §5) share:
 * cookies, the DH exchange and nonces, SKEYID and the keys, our ID
 * payload, the peer's ID (checked against the configured peers_id),
 * and the authentication payloads: HASH_I / HASH_R (§5.4), or the
 * signatures over them (§5.1, sigauth.c).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ikev1/ikev1_int.h"
#include "lib/util.h"

int p1_cookie(uint8_t c[8])
{
	/* RFC 2408 §2.5.3: a random, nonzero cookie */
	do {
		if (crypto_random(c, 8) != 0)
			return -EIO;
	} while (!(c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]));
	return 0;
}

int p1_keep_sai(struct ikev1_sa *sa, const struct isakmp_pl *pl)
{
	free(sa->sai_b);
	sa->sai_b = malloc(pl->len ? pl->len : 1);
	if (!sa->sai_b)
		return -ENOMEM;
	memcpy(sa->sai_b, pl->body, pl->len);
	sa->sai_len = pl->len;
	return 0;
}

int p1_make_ke_nonce(struct ikev1_sa *sa, uint8_t *gx, uint8_t *nonce,
		     size_t *nonce_len)
{
	const struct crypto_dh_alg *da = crypto_dh_lookup(sa->suite.group);
	int rc;

	if (!da)
		return -ENOTSUP;
	crypto_dh_free(sa->dh);
	sa->dh = NULL;
	rc = crypto_dh_new(sa->suite.group, &sa->dh);
	if (rc)
		return rc;
	sa->gx_len = da->pub_len;
	rc = crypto_dh_public(sa->dh, gx, sa->gx_len);
	if (rc)
		return rc;
	*nonce_len = IKEV1_NONCE_LEN;
	return crypto_random(nonce, IKEV1_NONCE_LEN) != 0 ? -EIO : 0;
}

int p1_take_ke_nonce(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	const struct isakmp_pl *ke = isakmp_msg_find(m, ISAKMP_NP_KE);
	const struct isakmp_pl *no = isakmp_msg_find(m, ISAKMP_NP_NONCE);
	uint8_t *peer_gx = sa->initiator ? sa->gxr : sa->gxi;
	uint8_t gxy[CRYPTO_MAX_DH_SECRET];
	const struct crypto_dh_alg *da = crypto_dh_lookup(sa->suite.group);
	uint8_t *peer_n = sa->initiator ? sa->nr : sa->ni;
	size_t *peer_n_len = sa->initiator ? &sa->nr_len : &sa->ni_len;
	int rc;

	/* RFC 2409 §5: both present; the KE the group's public value
	 * length (the codec bounds the nonce to 8..256 octets) */
	if (!ke || !no || !da || !sa->dh || ke->len != da->pub_len)
		return -EBADMSG;
	if (crypto_dh_compute(sa->dh, ke->body, ke->len, gxy, da->secret_len))
		return -EBADMSG;
	memcpy(peer_gx, ke->body, ke->len);
	memcpy(peer_n, no->body, no->len);
	*peer_n_len = no->len;
	/* RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) for a
	 * PSK, prf(Ni_b | Nr_b, g^xy) for signatures */
	if (p1_auth(sa->conf) == ISAKMP_P1_AUTH_PSK)
		rc = ikev1_skeyid_psk(sa->keys.prf, sa->conf->psk,
				      sa->conf->psk_len, sa->ni, sa->ni_len,
				      sa->nr, sa->nr_len, sa->keys.skeyid);
	else
		rc = ikev1_skeyid_sig(sa->keys.prf, sa->ni, sa->ni_len, sa->nr,
				      sa->nr_len, gxy, da->secret_len,
				      sa->keys.skeyid);
	if (!rc)
		rc = ikev1_derive(&sa->keys, gxy, da->secret_len, sa->cky_i,
				  sa->cky_r, sa->gxi, sa->gx_len, sa->gxr,
				  sa->gx_len);
	mem_wipe(gxy, sizeof(gxy));
	return rc;
}

void p1_our_id(const struct ikev1_sa *sa, struct isakmp_id1 *id,
	       uint8_t idb[4 + IKEV1_MAX_ID], size_t *idb_len)
{
	const struct ikev1_conf *c = sa->conf;
	size_t n = c->id_len <= IKEV1_MAX_ID ? c->id_len : IKEV1_MAX_ID;

	/* RFC 2407 §4.6.2: protocol UDP, port 500 (or 0) in Phase 1 */
	memset(id, 0, sizeof(*id));
	id->type = c->id_type;
	id->proto = 17;
	id->port = 500;
	id->data = c->id;
	id->len = n;
	idb[0] = id->type;
	idb[1] = id->proto;
	idb[2] = (uint8_t)(id->port >> 8);
	idb[3] = (uint8_t)id->port;
	memcpy(idb + 4, c->id, n);
	*idb_len = 4 + n;
}

int p1_take_peer_id(struct ikev1_sa *sa, const struct isakmp_msg *pm)
{
	const struct isakmp_pl *idp = isakmp_msg_find(pm, ISAKMP_NP_ID);
	const struct ikev1_conf *c = sa->conf;
	struct isakmp_id1 id;

	if (!idp || isakmp_get_id1(idp, &id) != 0 ||
	    id.body_len > sizeof(sa->peer_idb))
		return -EBADMSG;
	/* RFC 2409 §5: the key is the peer's; its identity must be the
	 * configured one */
	if (c->peer_id_type &&
	    (id.type != c->peer_id_type || id.len != c->peer_id_len ||
	     memcmp(id.data, c->peer_id, id.len) != 0))
		return -EACCES;
	memcpy(sa->peer_idb, id.body, id.body_len);
	sa->peer_idb_len = id.body_len;
	return 0;
}

int p1_put_auth(struct ikev1_sa *sa, struct isakmp_wr *b, const uint8_t *idb,
		size_t idb_len)
{
	uint8_t hash[CRYPTO_MAX_PRF_OUT];
	int rc;

	/* RFC 2409 §5: HASH_I (initiator) or HASH_R (responder) */
	rc = ikev1_hash_auth(&sa->keys, sa->initiator, sa->gxi, sa->gx_len,
			     sa->gxr, sa->gx_len, sa->cky_i, sa->cky_r,
			     sa->sai_b, sa->sai_len, idb, idb_len, hash);
	if (rc)
		return rc;
	/* §5.1: with signatures, [CERT,] SIG_I / SIG_R over that hash */
	if (p1_auth(sa->conf) != ISAKMP_P1_AUTH_PSK)
		return sigauth_put(sa, b, hash, sa->keys.hlen);
	return isakmp_put_raw(b, ISAKMP_NP_HASH, hash, sa->keys.hlen);
}

int p1_check_auth(struct ikev1_sa *sa, const struct isakmp_msg *pm)
{
	const struct isakmp_pl *hp = isakmp_msg_find(pm, ISAKMP_NP_HASH);
	uint8_t hash[CRYPTO_MAX_PRF_OUT];
	int rc;

	bool sig = p1_auth(sa->conf) != ISAKMP_P1_AUTH_PSK;

	/* RFC 2409 §5.4: a HASH of the prf's length; §5.1: a SIG, no HASH */
	if ((sig ? hp != NULL : !hp || hp->len != sa->keys.hlen) ||
	    !sa->peer_idb_len)
		return -EBADMSG;
	rc = ikev1_hash_auth(&sa->keys, !sa->initiator, sa->gxi, sa->gx_len,
			     sa->gxr, sa->gx_len, sa->cky_i, sa->cky_r,
			     sa->sai_b, sa->sai_len, sa->peer_idb,
			     sa->peer_idb_len, hash);
	if (rc)
		return rc;
	if (sig)
		return sigauth_check(sa, pm, hash, sa->keys.hlen);
	if (CRYPTO_memcmp(hash, hp->body, sa->keys.hlen) != 0) {
		sa->st.auth_failed++;
		return -EACCES;
	}
	return 0;
}

void p1_put_initial_contact(const struct ikev1_sa *sa, struct isakmp_wr *b)
{
	struct isakmp_notify n = {.doi = ISAKMP_DOI_IPSEC,
				  .proto = ISAKMP_PROTO_ISAKMP,
				  .spi_size = 16,
				  .type = ISAKMP_N_INITIAL_CONTACT};

	if (!sa->conf->initial_contact)
		return;
	/* RFC 2407 §4.6.3.3: the SPI is the two cookies */
	memcpy(n.spi, sa->cky_i, 8);
	memcpy(n.spi + 8, sa->cky_r, 8);
	isakmp_put_notify(b, &n);
}

/* The last Phase 1 message we send (Main Mode 5/6, Aggressive Mode 3):
 * INITIAL-CONTACT when configured, then sealed under the Phase 1 IV
 * (RFC 2409 §5: HDR*), which it advances. */
int p1_finish_sealed(struct ikev1_sa *sa, struct isakmp_wr *b, uint8_t **pkt,
		     size_t *len)
{
	int rc;

	p1_put_initial_contact(sa, b);
	rc = isakmp_wr_finish(b, pkt, len);
	if (rc)
		return rc;
	rc = sa_seal(sa, sa->keys.iv, pkt, len);
	if (rc)
		free(*pkt);
	return rc;
}

bool p1_initial_contact(const struct isakmp_msg *pm)
{
	for (int i = isakmp_msg_next(pm, ISAKMP_NP_N, -1); i >= 0;
	     i = isakmp_msg_next(pm, ISAKMP_NP_N, i)) {
		struct isakmp_notify n;

		if (isakmp_get_notify(&pm->pl[i], &n) == 0 &&
		    n.type == ISAKMP_N_INITIAL_CONTACT &&
		    n.proto == ISAKMP_PROTO_ISAKMP)
			return true;
	}
	return false;
}
