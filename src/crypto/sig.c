/*
 * sig.c - RSA (PKCS#1 v1.5, PSS) and ECDSA signatures over OpenSSL 3
 * EVP (EVP_DigestSign/EVP_DigestVerify), the RFC 4754 raw r|s form of
 * ECDSA used by IKEv2 methods 9-11, and the RFC 7427 §3
 * AlgorithmIdentifier.  See sig.h for the contract and ownership.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/sig.h"

/* One row per hash: RFC 7427 id, EVP name and the signature OIDs that
 * combine it with RSA PKCS#1 v1.5 and ECDSA (RFC 7427 Appendix A). */
static const struct sig_hash {
	uint16_t id;
	const char *md;
	int md_nid;
	size_t len;
	int rsa_nid;
	int ecdsa_nid;
} hashes[] = {
    {SIG_HASH_SHA1, "SHA1", NID_sha1, 20, NID_sha1WithRSAEncryption,
     NID_ecdsa_with_SHA1},
    {SIG_HASH_SHA2_256, "SHA256", NID_sha256, 32, NID_sha256WithRSAEncryption,
     NID_ecdsa_with_SHA256},
    {SIG_HASH_SHA2_384, "SHA384", NID_sha384, 48, NID_sha384WithRSAEncryption,
     NID_ecdsa_with_SHA384},
    {SIG_HASH_SHA2_512, "SHA512", NID_sha512, 64, NID_sha512WithRSAEncryption,
     NID_ecdsa_with_SHA512},
};

static const struct sig_hash *hash_by_id(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].id == id)
			return &hashes[i];
	return NULL;
}

static const struct sig_hash *hash_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].md_nid == nid)
			return &hashes[i];
	return NULL;
}

const char *sig_hash_name(uint16_t hash)
{
	static const char *const names[] = {"?", "SHA1", "SHA256", "SHA384",
					    "SHA512"};

	return hash < sizeof(names) / sizeof(names[0]) ? names[hash] : "?";
}

int sig_key_info(EVP_PKEY *key, enum sig_key *type, int *bits)
{
	char group[64];
	size_t glen = 0;
	int nid;

	*type = SIG_KEY_NONE;
	*bits = 0;
	if (!key)
		return -EINVAL;
	if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
		*type = SIG_KEY_RSA;
		*bits = EVP_PKEY_get_bits(key);
		return 0;
	}
	if (!EVP_PKEY_is_a(key, "EC"))
		return -ENOTSUP;
	*type = SIG_KEY_EC;
	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
		return 0;
	nid = OBJ_sn2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	if (nid == NID_X9_62_prime256v1)
		*bits = 256;
	else if (nid == NID_secp384r1)
		*bits = 384;
	else if (nid == NID_secp521r1)
		*bits = 521;
	return 0;
}

/* Does scheme a fit key?  Returns the field size for raw ECDSA. */
static int check_fit(EVP_PKEY *key, const struct sig_alg *a, size_t *field)
{
	enum sig_key kt;
	int bits;

	if (!hash_by_id(a->hash) || sig_key_info(key, &kt, &bits) < 0 ||
	    kt != a->key)
		return -EINVAL;
	if (kt == SIG_KEY_RSA && a->fmt != SIG_FMT_PKCS1 &&
	    a->fmt != SIG_FMT_PSS)
		return -EINVAL;
	if (kt == SIG_KEY_EC && a->fmt != SIG_FMT_ECDSA_DER &&
	    a->fmt != SIG_FMT_ECDSA_RAW)
		return -EINVAL;
	if (a->fmt == SIG_FMT_PSS && a->mgf_hash && !hash_by_id(a->mgf_hash))
		return -EINVAL;
	*field = bits > 0 ? ((size_t)bits + 7) / 8 : 0;
	if (a->fmt == SIG_FMT_ECDSA_RAW && !*field)
		return -EINVAL;
	return 0;
}

static int set_padding(EVP_PKEY_CTX *pctx, const struct sig_alg *a)
{
	const struct sig_hash *h = hash_by_id(a->hash);
	const struct sig_hash *mh;

	if (a->key != SIG_KEY_RSA)
		return 0;
	if (a->fmt == SIG_FMT_PKCS1)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
			       1
			   ? 0
			   : -EIO;
	mh = hash_by_id(a->mgf_hash ? a->mgf_hash : a->hash);
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(
		pctx, a->salt_len ? a->salt_len : (int)h->len) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, mh->md, NULL) != 1)
		return -EIO;
	return 0;
}

/* DER Ecdsa-Sig-Value -> r | s, each field octets (RFC 4754 §7). */
static int ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field,
			    uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int rc = -EIO;

	if (!es)
		return -EIO;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)field) == (int)field &&
	    BN_bn2binpad(s, out + field, (int)field) == (int)field)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

/* r | s -> DER; *der is allocated by OpenSSL (OPENSSL_free). */
static int ecdsa_raw_to_der(const uint8_t *raw, size_t field, uint8_t **der,
			    size_t *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)field, NULL);
	BIGNUM *s = BN_bin2bn(raw + field, (int)field, NULL);
	unsigned char *buf = NULL;
	int n;

	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -ENOMEM;
	}
	n = i2d_ECDSA_SIG(es, &buf);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return -EIO;
	*der = buf;
	*der_len = (size_t)n;
	return 0;
}

/* Hands a DER signature to the caller, as r | s (RFC 4754 §7) when
 * field is non-zero. Takes ownership of der. */
static int sig_output(uint8_t *der, size_t n, size_t field, uint8_t **sig,
		      size_t *sig_len)
{
	uint8_t *raw;
	int rc;

	if (!field) {
		*sig = der;
		*sig_len = n;
		return 0;
	}
	raw = malloc(2 * field);
	if (!raw) {
		free(der);
		return -ENOMEM;
	}
	rc = ecdsa_der_to_raw(der, n, field, raw);
	free(der);
	if (rc < 0) {
		free(raw);
		return rc;
	}
	*sig = raw;
	*sig_len = 2 * field;
	return 0;
}

/* The reverse for a received r | s: RFC 4754 §7 wants exactly two
 * field-sized integers. On success *der (freed by the caller with
 * OPENSSL_free) replaces the signature. */
static int sig_input(const uint8_t **sig, size_t *sig_len, size_t field,
		     uint8_t **der)
{
	if (*sig_len != 2 * field ||
	    ecdsa_raw_to_der(*sig, field, der, sig_len) < 0)
		return -EBADMSG;
	*sig = *der;
	return 0;
}

int sig_sign(EVP_PKEY *key, const struct sig_alg *a, const uint8_t *data,
	     size_t len, uint8_t **sig, size_t *sig_len)
{
	const struct sig_hash *h = hash_by_id(a->hash);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t n = 0, field = 0;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	rc = check_fit(key, a, &field);
	if (rc < 0)
		return rc;
	mctx = EVP_MD_CTX_new();
	if (!mctx)
		return -ENOMEM;
	rc = -EIO;
	if (EVP_DigestSignInit_ex(mctx, &pctx, h->md, NULL, NULL, key, NULL) !=
	    1)
		goto out_ctx;
	if ((rc = set_padding(pctx, a)) < 0)
		goto out_ctx;
	rc = -EIO;
	if (EVP_DigestSign(mctx, NULL, &n, data, len) != 1)
		goto out_ctx;
	buf = malloc(n ? n : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_ctx;
	}
	if (EVP_DigestSign(mctx, buf, &n, data, len) != 1)
		goto out_buf;
	rc = sig_output(buf, n, a->fmt == SIG_FMT_ECDSA_RAW ? field : 0, sig,
			sig_len);
	EVP_MD_CTX_free(mctx);
	return rc;

out_buf:
	free(buf);
out_ctx:
	EVP_MD_CTX_free(mctx);
	return rc;
}

int sig_verify(EVP_PKEY *key, const struct sig_alg *a, const uint8_t *data,
	       size_t len, const uint8_t *sig, size_t sig_len)
{
	const struct sig_hash *h = hash_by_id(a->hash);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	size_t field = 0;
	int rc;

	if (check_fit(key, a, &field) < 0 || !sig || !sig_len)
		return -EBADMSG;
	if (a->fmt == SIG_FMT_ECDSA_RAW &&
	    sig_input(&sig, &sig_len, field, &der) < 0)
		return -EBADMSG;
	mctx = EVP_MD_CTX_new();
	if (!mctx) {
		rc = -ENOMEM;
		goto out_der;
	}
	rc = -EBADMSG;
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, h->md, NULL, NULL, key,
				    NULL) != 1 ||
	    set_padding(pctx, a) < 0)
		goto out_ctx;
	if (EVP_DigestVerify(mctx, sig, sig_len, data, len) == 1)
		rc = 0;
out_ctx:
	EVP_MD_CTX_free(mctx);
out_der:
	OPENSSL_free(der);
	return rc;
}

/* The field size of an EC key on P-256/384/521, or 0 for RSA; -1 for
 * any other key. */
static int prehashed_field(EVP_PKEY *key, size_t *field)
{
	enum sig_key kt;
	int bits;

	if (sig_key_info(key, &kt, &bits) < 0)
		return -1;
	if (kt == SIG_KEY_RSA) {
		*field = 0;
		return 0;
	}
	if (kt != SIG_KEY_EC || bits <= 0)
		return -1;
	*field = ((size_t)bits + 7) / 8;
	return 0;
}

int sig_sign_prehashed(EVP_PKEY *key, const uint8_t *data, size_t len,
		       uint8_t **sig, size_t *sig_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t n = 0, field = 0;
	int rc = -EIO;

	*sig = NULL;
	*sig_len = 0;
	if (!data || !len || prehashed_field(key, &field) < 0)
		return -EINVAL;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!pctx)
		return -ENOMEM;
	/* no signature digest: RSA pads data as is (PKCS#1 v1.5 type 1,
	 * no DigestInfo), ECDSA takes data as the digest */
	if (EVP_PKEY_sign_init(pctx) != 1 ||
	    (!field &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_sign(pctx, NULL, &n, data, len) != 1)
		goto out_ctx;
	buf = malloc(n ? n : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_ctx;
	}
	if (EVP_PKEY_sign(pctx, buf, &n, data, len) != 1)
		goto out_buf;
	rc = sig_output(buf, n, field, sig, sig_len);
	EVP_PKEY_CTX_free(pctx);
	return rc;
out_buf:
	free(buf);
out_ctx:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int sig_verify_prehashed(EVP_PKEY *key, const uint8_t *data, size_t len,
			 const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	size_t field = 0;
	int rc = -EBADMSG;

	if (!data || !len || !sig || !sig_len ||
	    prehashed_field(key, &field) < 0)
		return -EBADMSG;
	if (field && sig_input(&sig, &sig_len, field, &der) < 0)
		return -EBADMSG;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (pctx && EVP_PKEY_verify_init(pctx) == 1 &&
	    (field ||
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	    EVP_PKEY_verify(pctx, sig, sig_len, data, len) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(der);
	return rc;
}

/* RSASSA-PSS-params (RFC 4055 §3.1) as an AlgorithmIdentifier. */
static int pss_algor(const struct sig_alg *a, X509_ALGOR *alg)
{
	const struct sig_hash *h = hash_by_id(a->hash);
	const struct sig_hash *mh =
	    hash_by_id(a->mgf_hash ? a->mgf_hash : a->hash);
	RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
	X509_ALGOR *mgfh = X509_ALGOR_new();
	ASN1_STRING *mgfs = NULL, *pps = NULL;
	int salt = a->salt_len ? a->salt_len : (int)h->len;
	int rc = -ENOMEM;

	if (!pp || !mgfh)
		goto out;
	/* DER: fields equal to their DEFAULT (SHA-1, salt 20) are left
	 * out; we only build SHA-2 schemes. */
	if (h->id == SIG_HASH_SHA1 || mh->id == SIG_HASH_SHA1 || salt == 20) {
		rc = -ENOTSUP;
		goto out;
	}
	pp->hashAlgorithm = X509_ALGOR_new();
	pp->maskGenAlgorithm = X509_ALGOR_new();
	pp->saltLength = ASN1_INTEGER_new();
	if (!pp->hashAlgorithm || !pp->maskGenAlgorithm || !pp->saltLength)
		goto out;
	if (X509_ALGOR_set0(pp->hashAlgorithm, OBJ_nid2obj(h->md_nid),
			    V_ASN1_UNDEF, NULL) != 1 ||
	    X509_ALGOR_set0(mgfh, OBJ_nid2obj(mh->md_nid), V_ASN1_UNDEF,
			    NULL) != 1 ||
	    ASN1_INTEGER_set(pp->saltLength, salt) != 1)
		goto out;
	mgfs = ASN1_item_pack(mgfh, ASN1_ITEM_rptr(X509_ALGOR), NULL);
	if (!mgfs)
		goto out;
	if (X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1),
			    V_ASN1_SEQUENCE, mgfs) != 1)
		goto out;
	mgfs = NULL;
	pps = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
	if (!pps)
		goto out;
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
			    pps) != 1)
		goto out;
	pps = NULL;
	rc = 0;
out:
	ASN1_STRING_free(pps);
	ASN1_STRING_free(mgfs);
	X509_ALGOR_free(mgfh);
	RSA_PSS_PARAMS_free(pp);
	return rc;
}

int sig_algid_encode(const struct sig_alg *a, uint8_t *out, size_t cap,
		     size_t *len)
{
	const struct sig_hash *h = hash_by_id(a->hash);
	X509_ALGOR *alg;
	unsigned char *p = out;
	int n, rc = 0;

	if (!h)
		return -EINVAL;
	alg = X509_ALGOR_new();
	if (!alg)
		return -ENOMEM;
	switch (a->fmt) {
	case SIG_FMT_PKCS1:
		/* RFC 7427 A.1: parameters NULL. */
		if (a->key != SIG_KEY_RSA ||
		    X509_ALGOR_set0(alg, OBJ_nid2obj(h->rsa_nid), V_ASN1_NULL,
				    NULL) != 1)
			rc = -EINVAL;
		break;
	case SIG_FMT_ECDSA_DER:
		/* RFC 7427 A.3 (RFC 5758 §3.2): parameters absent. */
		if (a->key != SIG_KEY_EC ||
		    X509_ALGOR_set0(alg, OBJ_nid2obj(h->ecdsa_nid),
				    V_ASN1_UNDEF, NULL) != 1)
			rc = -EINVAL;
		break;
	case SIG_FMT_PSS:
		rc = a->key == SIG_KEY_RSA ? pss_algor(a, alg) : -EINVAL;
		break;
	default:
		rc = -EINVAL; /* raw ECDSA has no AlgorithmIdentifier */
	}
	if (rc == 0) {
		n = i2d_X509_ALGOR(alg, NULL);
		if (n <= 0)
			rc = -EIO;
		else if ((size_t)n > cap)
			rc = -ENOSPC;
		else if (i2d_X509_ALGOR(alg, &p) != n)
			rc = -EIO;
		else
			*len = (size_t)n;
	}
	X509_ALGOR_free(alg);
	return rc;
}

static int pss_decode(const ASN1_STRING *params, struct sig_alg *a)
{
	RSA_PSS_PARAMS *pp;
	const struct sig_hash *h = hash_by_id(SIG_HASH_SHA1);
	const struct sig_hash *mh = h;
	long salt = 20;
	int rc = -ENOTSUP;

	pp = ASN1_item_unpack(params, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
	if (!pp)
		return -EINVAL;
	/* RFC 4055 §3.1: absent fields take their DEFAULT values. */
	if (pp->hashAlgorithm &&
	    !(h = hash_by_nid(OBJ_obj2nid(pp->hashAlgorithm->algorithm))))
		goto out;
	if (pp->maskGenAlgorithm) {
		const ASN1_TYPE *mp = pp->maskGenAlgorithm->parameter;
		X509_ALGOR *mgfh;

		/* RFC 4055 §3.1: MGF1's parameter is the hash's
		 * AlgorithmIdentifier. */
		if (OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) != NID_mgf1 ||
		    !mp || mp->type != V_ASN1_SEQUENCE)
			goto out;
		mgfh = ASN1_item_unpack(mp->value.sequence,
					ASN1_ITEM_rptr(X509_ALGOR));
		if (!mgfh)
			goto out;
		mh = hash_by_nid(OBJ_obj2nid(mgfh->algorithm));
		X509_ALGOR_free(mgfh);
		if (!mh)
			goto out;
	}
	if (pp->saltLength)
		salt = ASN1_INTEGER_get(pp->saltLength);
	if (salt < 0 || salt > 1024)
		goto out;
	if (pp->trailerField && ASN1_INTEGER_get(pp->trailerField) != 1)
		goto out;
	a->key = SIG_KEY_RSA;
	a->fmt = SIG_FMT_PSS;
	a->hash = h->id;
	a->mgf_hash = mh->id;
	a->salt_len = (uint16_t)salt;
	if (salt == 0)
		rc = -ENOTSUP; /* our 0 means "hash length" */
	else
		rc = 0;
out:
	RSA_PSS_PARAMS_free(pp);
	return rc;
}

int sig_algid_decode(const uint8_t *der, size_t len, struct sig_alg *a)
{
	const unsigned char *p = der;
	const ASN1_OBJECT *obj;
	const void *pval;
	X509_ALGOR *alg;
	size_t i;
	int nid, ptype, rc = -ENOTSUP;

	memset(a, 0, sizeof(*a));
	if (!der || len == 0 || len > 1024)
		return -EINVAL;
	alg = d2i_X509_ALGOR(NULL, &p, (long)len);
	if (!alg)
		return -EINVAL;
	if (p != der + len) {
		X509_ALGOR_free(alg);
		return -EINVAL; /* trailing octets */
	}
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsassaPss) {
		rc = ptype == V_ASN1_SEQUENCE ? pss_decode(pval, a) : -EINVAL;
		goto out;
	}
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		if (nid == hashes[i].rsa_nid) {
			/* RFC 8017 A.2.4: NULL; absent is seen too. */
			if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
				rc = -EINVAL;
				goto out;
			}
			a->key = SIG_KEY_RSA;
			a->fmt = SIG_FMT_PKCS1;
			a->hash = hashes[i].id;
			rc = 0;
			goto out;
		}
		if (nid == hashes[i].ecdsa_nid) {
			/* RFC 5758 §3.2: absent (NULL tolerated). */
			if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
				rc = -EINVAL;
				goto out;
			}
			a->key = SIG_KEY_EC;
			a->fmt = SIG_FMT_ECDSA_DER;
			a->hash = hashes[i].id;
			rc = 0;
			goto out;
		}
	}
out:
	X509_ALGOR_free(alg);
	if (rc < 0)
		memset(a, 0, sizeof(*a));
	return rc;
}

const char *sig_alg_str(const struct sig_alg *a, char *buf, size_t len)
{
	switch (a->fmt) {
	case SIG_FMT_PKCS1:
		snprintf(buf, len, "RSA-PKCS1-%s", sig_hash_name(a->hash));
		break;
	case SIG_FMT_PSS:
		snprintf(buf, len, "RSA-PSS-%s(MGF1-%s,salt %u)",
			 sig_hash_name(a->hash),
			 sig_hash_name(a->mgf_hash ? a->mgf_hash : a->hash),
			 (unsigned)a->salt_len);
		break;
	case SIG_FMT_ECDSA_DER:
		snprintf(buf, len, "ECDSA-%s", sig_hash_name(a->hash));
		break;
	case SIG_FMT_ECDSA_RAW:
		snprintf(buf, len, "ECDSA-%s(raw)", sig_hash_name(a->hash));
		break;
	default:
		snprintf(buf, len, "?");
	}
	return buf;
}
