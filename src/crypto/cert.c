/*
 * cert.c - X.509 checks shared by IKEv2 and IKEv1 certificate
 * authentication (see cert.h): ID matching (RFC 4945 §3.1), validity
 * dates, and trust under racoon2's peers_public_key (pinned key or
 * certificate, or a chain to one of its CA certificates).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"

const char *cert_name_str(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int k;

	if (!len)
		return buf;
	buf[0] = 0;
	if (!b)
		return buf;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		k = BIO_read(b, buf, (int)len - 1);
		buf[k > 0 ? k : 0] = 0;
	}
	BIO_free(b);
	return buf;
}

static bool asn1_ieq(const ASN1_STRING *s, const uint8_t *p, size_t len)
{
	return (size_t)ASN1_STRING_length(s) == len &&
	       strncasecmp((const char *)ASN1_STRING_get0_data(s),
			   (const char *)p, len) == 0 &&
	       memchr(p, 0, len) == NULL;
}

bool cert_id_match(X509 *cert, uint8_t type, const uint8_t *data, size_t len)
{
	GENERAL_NAMES *gens;
	bool ok = false;
	int i;

	if (!cert || !len)
		return false;
	if (type == CERT_ID_DER_ASN1_DN) {
		const unsigned char *p = data;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);

		/* RFC 4945 §3.1.5: the ID equals the subject field. */
		ok = n && p == data + len &&
		     X509_NAME_cmp(n, X509_get_subject_name(cert)) == 0;
		X509_NAME_free(n);
		ERR_clear_error();
		return ok;
	}
	if (type != CERT_ID_FQDN && type != CERT_ID_RFC822_ADDR &&
	    type != CERT_ID_IPV4_ADDR && type != CERT_ID_IPV6_ADDR)
		return false; /* KEY_ID names no certificate field */
	/* RFC 4945 §3.1.1-3.1.3: these IDs match subjectAltName. */
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		switch (g->type) {
		case GEN_DNS:
			ok = type == CERT_ID_FQDN &&
			     asn1_ieq(g->d.dNSName, data, len);
			break;
		case GEN_EMAIL:
			ok = type == CERT_ID_RFC822_ADDR &&
			     asn1_ieq(g->d.rfc822Name, data, len);
			break;
		case GEN_IPADD:
			ok =
			    (type == CERT_ID_IPV4_ADDR ||
			     type == CERT_ID_IPV6_ADDR) &&
			    (size_t)ASN1_STRING_length(g->d.iPAddress) == len &&
			    len == (type == CERT_ID_IPV4_ADDR ? 4 : 16) &&
			    memcmp(ASN1_STRING_get0_data(g->d.iPAddress), data,
				   len) == 0;
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return ok;
}

int cert_check_dates(X509 *x, char *why, size_t whylen)
{
	/* RFC 5280 §4.1.2.5 */
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		snprintf(why, whylen, "certificate not valid yet");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		snprintf(why, whylen, "certificate expired");
		return -1;
	}
	return 0;
}

int cert_check_trust(EVP_PKEY *peer_key, STACK_OF(X509) * peer_certs, X509 *ee,
		     STACK_OF(X509) * untrusted, const char **how, char *why,
		     size_t whylen)
{
	EVP_PKEY *pk = X509_get0_pubkey(ee);
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	bool have_ca = false;
	int i, rc = -1;

	if (!pk) {
		snprintf(why, whylen, "certificate public key unreadable");
		return -1;
	}
	if (peer_key && EVP_PKEY_eq(pk, peer_key) == 1) {
		*how = "pinned key";
		return cert_check_dates(ee, why, whylen);
	}
	for (i = 0; i < sk_X509_num(peer_certs); i++) {
		X509 *p = sk_X509_value(peer_certs, i);
		EVP_PKEY *ppk = X509_get0_pubkey(p);

		if (ppk && EVP_PKEY_eq(pk, ppk) == 1) {
			*how = "pinned certificate";
			return cert_check_dates(ee, why, whylen);
		}
		if (X509_check_ca(p) > 0)
			have_ca = true;
	}
	ERR_clear_error();
	if (!have_ca) {
		snprintf(why, whylen,
			 "certificate is not the one in "
			 "peers_public_key");
		return -1;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_num(peer_certs); i++)
		if (X509_check_ca(sk_X509_value(peer_certs, i)) > 0)
			X509_STORE_add_cert(store,
					    sk_X509_value(peer_certs, i));
	/* An intermediate CA in peers_public_key is a trust anchor too. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_init(ctx, store, ee, untrusted) != 1) {
		snprintf(why, whylen, "cannot set up chain verification");
		goto out;
	}
	if (X509_verify_cert(ctx) == 1) {
		*how = "chain to a CA of peers_public_key";
		rc = 0;
	} else {
		snprintf(why, whylen, "certificate chain: %s",
			 X509_verify_cert_error_string(
			     X509_STORE_CTX_get_error(ctx)));
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}
