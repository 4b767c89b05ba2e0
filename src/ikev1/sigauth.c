/*
 * sigauth.c - Main Mode authenticated with signatures (RFC 2409 §5.1)
 * and X.509 certificates: RSA (method 3) and ECDSA on P-256/384/521
 * (RFC 4754 §3: methods 9, 10, 11):
 *   I -> R  HDR, SA                      I <- R  HDR, SA
 *   I -> R  HDR, KE, Ni [, CR]           I <- R  HDR, KE, Nr [, CR]
 *   I -> R  HDR*, IDii, [CERT,] SIG_I    I <- R  HDR*, IDir, [CERT,] SIG_R
 * SKEYID = prf(Ni_b | Nr_b, g^xy) (phase1.c); SIG_I/SIG_R sign HASH_I /
 * HASH_R itself: RSA PKCS#1 v1.5 without DigestInfo, ECDSA with the
 * hash as the digest and r | s on the wire (RFC 4754 §7).
 *
 * The peer's certificate is checked as IKEv2 checks it (src/crypto/
 * cert.c): the first X.509 CERT is the end entity, the others help the
 * chain; it must be pinned or chain to a CA of peers_public_key, be
 * within its dates, carry a key that fits the negotiated method and,
 * with verify_id, be named by the peer's ID (RFC 4945 §3.1).  Without a
 * CERT payload a pinned key, or a pinned certificate the ID names, is
 * used.  Nothing is kept from a message that fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"
#include "crypto/sig.h"
#include "ikev1/ikev1_int.h"
#include "lib/log.h"

#define MOD	       "ikev1"
#define PEER_CERTS_MAX 8

/* Does key fit the Phase 1 method (RFC 2409 App. A, RFC 4754 §3)? */
bool sigauth_key_fits(uint16_t method, EVP_PKEY *key)
{
	enum sig_key kt;
	int bits;

	if (!key || sig_key_info(key, &kt, &bits) < 0)
		return false;
	switch (method) {
	case ISAKMP_P1_AUTH_RSA_SIG:
		return kt == SIG_KEY_RSA;
	case ISAKMP_P1_AUTH_ECDSA_256:
		return kt == SIG_KEY_EC && bits == 256;
	case ISAKMP_P1_AUTH_ECDSA_384:
		return kt == SIG_KEY_EC && bits == 384;
	case ISAKMP_P1_AUTH_ECDSA_521:
		return kt == SIG_KEY_EC && bits == 521;
	default:
		return false;
	}
}

int sigauth_put_cr(const struct ikev1_sa *sa, struct isakmp_wr *b)
{
	const struct ikev1_conf *c = sa->conf;

	if (!c->send_certreq)
		return 0;
	/* RFC 2408 §3.10, RFC 4945 §3.2.4: X.509 signature, the CA's DN */
	for (int i = 0; i < sk_X509_num(c->peer_certs); i++) {
		X509 *x = sk_X509_value(c->peer_certs, i);
		unsigned char *der = NULL;
		struct isakmp_cert cr = {.encoding = ISAKMP_CERT_X509_SIG};
		int n;

		if (X509_check_ca(x) <= 0)
			continue;
		n = i2d_X509_NAME(X509_get_subject_name(x), &der);
		if (n <= 0) {
			ERR_clear_error();
			return -EIO;
		}
		cr.data = der;
		cr.len = (size_t)n;
		isakmp_put_cert(b, ISAKMP_NP_CR, &cr);
		OPENSSL_free(der);
	}
	ERR_clear_error();
	return 0;
}

int sigauth_put(struct ikev1_sa *sa, struct isakmp_wr *b, const uint8_t *hash,
		size_t hlen)
{
	const struct ikev1_conf *c = sa->conf;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (c->cert) {
		unsigned char *der = NULL;
		struct isakmp_cert ce = {.encoding = ISAKMP_CERT_X509_SIG};
		int n = i2d_X509(c->cert, &der);

		if (n <= 0) {
			ERR_clear_error();
			return -EIO;
		}
		ce.data = der;
		ce.len = (size_t)n;
		isakmp_put_cert(b, ISAKMP_NP_CERT, &ce);
		OPENSSL_free(der);
	}
	if (c->sign)
		rc = c->sign(c->arg, hash, hlen, &sig, &sig_len);
	else if (sigauth_key_fits(p1_auth(c), c->key))
		rc = sig_sign_prehashed(c->key, hash, hlen, &sig, &sig_len);
	else
		rc = -EINVAL;
	if (rc) {
		log_rl_warn(MOD, "cannot sign HASH_%c: %d",
			    sa->initiator ? 'I' : 'R', rc);
		return rc;
	}
	rc = isakmp_put_raw(b, ISAKMP_NP_SIG, sig, sig_len);
	free(sig);
	return rc;
}

static void certs_free(STACK_OF(X509) * sk)
{
	sk_X509_pop_free(sk, X509_free);
}

/* CERT payloads of pm: the first X.509 one is the end entity. */
static int read_certs(const struct isakmp_msg *pm, X509 **ee,
		      STACK_OF(X509) * untrusted)
{
	int n = 0;

	*ee = NULL;
	for (int i = isakmp_msg_next(pm, ISAKMP_NP_CERT, -1); i >= 0;
	     i = isakmp_msg_next(pm, ISAKMP_NP_CERT, i)) {
		struct isakmp_cert ce;
		const unsigned char *p;
		X509 *x;

		if (++n > PEER_CERTS_MAX)
			break;
		/* RFC 4945 §3.3: X.509 Certificate - Signature (4) */
		if (isakmp_get_cert(&pm->pl[i], &ce) != 0 ||
		    ce.encoding != ISAKMP_CERT_X509_SIG)
			continue;
		p = ce.data;
		x = d2i_X509(NULL, &p, (long)ce.len);
		if (!x || p != ce.data + ce.len) {
			X509_free(x);
			ERR_clear_error();
			return -EBADMSG;
		}
		if (!*ee)
			*ee = x;
		else if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return 0;
}

int sigauth_check(struct ikev1_sa *sa, const struct isakmp_msg *pm,
		  const uint8_t *hash, size_t hlen)
{
	const struct ikev1_conf *c = sa->conf;
	const struct isakmp_pl *sp = isakmp_msg_find(pm, ISAKMP_NP_SIG);
	const uint8_t *id = sa->peer_idb + 4;
	size_t id_len = sa->peer_idb_len - 4;
	uint8_t id_type = sa->peer_idb[0];
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *ee = NULL, *used = NULL;
	EVP_PKEY *key = NULL;
	const char *how = "";
	char why[160] = "", subj[256] = "(public key)";
	int rc = -EACCES;

	/* RFC 2409 §5.1: SIG_I / SIG_R */
	if (!sp || !untrusted || sa->peer_idb_len < 4) {
		certs_free(untrusted);
		return -EBADMSG;
	}
	if (read_certs(pm, &ee, untrusted) != 0) {
		snprintf(why, sizeof(why), "CERT is not a DER certificate");
		goto out;
	}
	if (ee) {
		if (cert_check_trust(c->peer_key, c->peer_certs, ee, untrusted,
				     &how, why, sizeof(why)) < 0)
			goto out;
		used = ee;
	} else if (c->peer_key) {
		key = c->peer_key;
		how = "pinned key";
	} else {
		/* a pinned certificate the peer's ID names */
		for (int i = 0; i < sk_X509_num(c->peer_certs); i++) {
			X509 *x = sk_X509_value(c->peer_certs, i);
			char tmp[80];

			if (X509_check_ca(x) > 0 ||
			    !cert_id_match(x, id_type, id, id_len) ||
			    cert_check_dates(x, tmp, sizeof(tmp)) < 0)
				continue;
			used = x;
			how = "pinned certificate (not sent by the peer)";
			break;
		}
		if (!used) {
			snprintf(why, sizeof(why),
				 "no CERT payload and no pinned "
				 "certificate names the peer");
			goto out;
		}
	}
	if (used) {
		key = X509_get0_pubkey(used);
		cert_name_str(X509_get_subject_name(used), subj, sizeof(subj));
		/* RFC 4945 §3.1: the ID is bound to the key by the
		 * certificate */
		if (c->verify_id && !cert_id_match(used, id_type, id, id_len)) {
			snprintf(why, sizeof(why),
				 "the peer's ID does not name %s", subj);
			goto out;
		}
	}
	if (!sigauth_key_fits(p1_auth(c), key)) {
		snprintf(why, sizeof(why),
			 "the key of %s does not fit method %u", subj,
			 p1_auth(c));
		goto out;
	}
	if (sig_verify_prehashed(key, hash, hlen, sp->body, sp->len) != 0) {
		snprintf(why, sizeof(why), "SIG does not verify with %s", subj);
		goto out;
	}
	log_info(MOD,
		 "ISAKMP SA: peer authenticated by signature (method %u), "
		 "%s, %s",
		 p1_auth(c), subj, how);
	rc = 0;
out:
	if (rc) {
		sa->st.auth_failed++;
		log_rl_warn(
		    MOD, "ISAKMP SA: signature authentication failed: %s", why);
	}
	X509_free(ee);
	certs_free(untrusted);
	ERR_clear_error();
	return rc;
}
