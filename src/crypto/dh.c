/*
 * dh.c - ephemeral Diffie-Hellman for IKEv2 KE payloads through EVP_PKEY:
 * MODP groups (RFC 2409 §6.2, RFC 3526; generator 2), NIST ECP groups
 * (RFC 5903) and Curve25519/Curve448 (RFC 8031 / RFC 7748), with the
 * public-value checks of RFC 7296 §5, RFC 6989 and RFC 8031 §2.2.
 *
 * struct crypto_dh owns its EVP_PKEY (private key, freed with
 * EVP_PKEY_free which cleanses it).  BIGNUM is used only to express the
 * group prime and to range-check the peer's MODP value.
 *
 * Cost per SA (issue 14): each MODP/ECP group's domain parameters are
 * built once, on first use (pthread_once), as a parameters-only EVP_PKEY
 * that every thread then only reads (EVP_PKEY is safe for concurrent
 * read-only use): key generation is EVP_PKEY_keygen on a context made
 * from it and the peer's value is imported into a copy of it, instead of
 * looking the group up by name (provider fetch, OSSL_PARAM decoding) per
 * call.  The peer checks are the RFC ones, done here once
 * (EVP_PKEY_public_check_quick: on the curve, not infinity; the MODP
 * range), and the derivation is told not to repeat OpenSSL's full check
 * (EVP_PKEY_derive_set_peer_ex(.., 0)): for these prime-order curves and
 * safe-prime groups the full check adds only the order test n*Q = O
 * (ECP) or y^q = 1 mod p (MODP), which RFC 6989 §2.1/§2.3 do not need
 * and which cost 4x (ECP-256) to 7x (MODP-2048) the derivation itself.
 * crypto_cleanup() frees the parameters at exit.
 */
#include "crypto/cache.h"
#include "crypto/crypto.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

enum dh_kind { DH_MODP, DH_ECP, DH_XDH };

/* Idle key generation contexts kept per group (EVP_PKEY_CTX_new_from_pkey
 * costs a provider lookup; a context is used by one thread at a time). */
#define DH_IDLE_CTX 8

/* A group's shared, read-only domain parameters (MODP, ECP; none for
 * X25519/X448) and its idle keygen contexts. */
struct dh_params {
	uint16_t id;
	EVP_PKEY *params; /* parameters only: keygen template, peer import */
	BIGNUM *p, *pm1;  /* MODP: the prime and p - 1 (RFC 6989 §2.1) */
	/* keygen contexts (they hold the parameters, no key), under mu */
	pthread_mutex_t mu;
	EVP_PKEY_CTX *idle[DH_IDLE_CTX];
	unsigned nidle;
};

static struct dh_params dh_params[] = {
    {.id = IKEV2_DH_MODP1024, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP1536, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP2048, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP3072, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP4096, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP6144, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_MODP8192, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_ECP256, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_ECP384, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_ECP521, .mu = PTHREAD_MUTEX_INITIALIZER},
    /* no parameters: only the idle keygen contexts */
    {.id = IKEV2_DH_CURVE25519, .mu = PTHREAD_MUTEX_INITIALIZER},
    {.id = IKEV2_DH_CURVE448, .mu = PTHREAD_MUTEX_INITIALIZER},
};
#define DH_NPARAMS (sizeof(dh_params) / sizeof(dh_params[0]))
static pthread_once_t dh_params_once = PTHREAD_ONCE_INIT;

struct crypto_dh {
	const struct crypto_dh_alg *alg;
	enum dh_kind kind;
	EVP_PKEY *key;
	const struct dh_params *dp; /* MODP, ECP */
};

static enum dh_kind kind_of(uint16_t g)
{
	switch (g) {
	case IKEV2_DH_ECP256:
	case IKEV2_DH_ECP384:
	case IKEV2_DH_ECP521:
		return DH_ECP;
	case IKEV2_DH_CURVE25519:
	case IKEV2_DH_CURVE448:
		return DH_XDH;
	default:
		return DH_MODP;
	}
}

static const char *curve_name(uint16_t g)
{
	switch (g) {
	case IKEV2_DH_ECP256:
		return "P-256";
	case IKEV2_DH_ECP384:
		return "P-384";
	case IKEV2_DH_ECP521:
		return "P-521";
	case IKEV2_DH_CURVE25519:
		return "X25519";
	case IKEV2_DH_CURVE448:
		return "X448";
	}
	return NULL;
}

static BIGNUM *modp_prime(uint16_t g)
{
	switch (g) {
	case IKEV2_DH_MODP1024:
		return BN_get_rfc2409_prime_1024(NULL);
	case IKEV2_DH_MODP1536:
		return BN_get_rfc3526_prime_1536(NULL);
	case IKEV2_DH_MODP2048:
		return BN_get_rfc3526_prime_2048(NULL);
	case IKEV2_DH_MODP3072:
		return BN_get_rfc3526_prime_3072(NULL);
	case IKEV2_DH_MODP4096:
		return BN_get_rfc3526_prime_4096(NULL);
	case IKEV2_DH_MODP6144:
		return BN_get_rfc3526_prime_6144(NULL);
	case IKEV2_DH_MODP8192:
		return BN_get_rfc3526_prime_8192(NULL);
	}
	return NULL;
}

void crypto_dh_free(struct crypto_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

uint16_t crypto_dh_group(const struct crypto_dh *dh)
{
	return dh->alg->id;
}

/* An EVP_PKEY of type DH from p, g = 2 and optionally pub. */
static EVP_PKEY *modp_pkey(const BIGNUM *p, const BIGNUM *pub, int selection)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *g = BN_new();

	if (!bld || !g || !BN_set_word(g, 2))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) ||
	    (pub && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, selection, params) != 1)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(g);
	return pk;
}

/* An EC parameters-only key for the curve. */
static EVP_PKEY *ecp_params(uint16_t g)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)curve_name(g), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* Every group's parameters, once; a group whose build failed keeps
 * NULLs and its keys are refused (-EIO) rather than built otherwise. */
static void dh_params_init(void)
{
	for (size_t i = 0; i < DH_NPARAMS; i++) {
		struct dh_params *dp = &dh_params[i];

		if (kind_of(dp->id) == DH_XDH)
			continue;
		if (kind_of(dp->id) == DH_ECP) {
			dp->params = ecp_params(dp->id);
			continue;
		}
		dp->p = modp_prime(dp->id);
		dp->pm1 = dp->p ? BN_dup(dp->p) : NULL;
		if (!dp->pm1 || !BN_sub_word(dp->pm1, 1))
			continue;
		dp->params = modp_pkey(dp->p, NULL, EVP_PKEY_KEY_PARAMETERS);
	}
}

static struct dh_params *dh_params_get(uint16_t g)
{
	if (pthread_once(&dh_params_once, dh_params_init) != 0)
		return NULL;
	for (size_t i = 0; i < DH_NPARAMS; i++)
		if (dh_params[i].id == g)
			return dh_params[i].params || kind_of(g) == DH_XDH
				   ? &dh_params[i]
				   : NULL;
	return NULL;
}

void crypto_dh_cleanup(void)
{
	for (size_t i = 0; i < DH_NPARAMS; i++) {
		while (dh_params[i].nidle)
			EVP_PKEY_CTX_free(
			    dh_params[i].idle[--dh_params[i].nidle]);
		EVP_PKEY_free(dh_params[i].params);
		BN_free(dh_params[i].p);
		BN_free(dh_params[i].pm1);
		dh_params[i].params = NULL;
		dh_params[i].p = dh_params[i].pm1 = NULL;
	}
}

/* A fresh key pair on a context made from the group's parameters: an
 * idle one, or a new one that is kept idle afterwards. */
static EVP_PKEY *params_keygen(struct dh_params *dp)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&dp->mu);
	if (dp->nidle)
		ctx = dp->idle[--dp->nidle];
	pthread_mutex_unlock(&dp->mu);
	if (!ctx) {
		/* X25519/X448 have no parameters: a context by name */
		ctx = dp->params
			  ? EVP_PKEY_CTX_new_from_pkey(NULL, dp->params, NULL)
			  : EVP_PKEY_CTX_new_from_name(NULL, curve_name(dp->id),
						       NULL);
		if (!ctx || EVP_PKEY_keygen_init(ctx) != 1) {
			EVP_PKEY_CTX_free(ctx);
			return NULL;
		}
	}
	if (EVP_PKEY_keygen(ctx, &pk) != 1) {
		EVP_PKEY_CTX_free(ctx); /* not reused after an error */
		return NULL;
	}
	pthread_mutex_lock(&dp->mu);
	if (dp->nidle < DH_IDLE_CTX) {
		dp->idle[dp->nidle++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&dp->mu);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

int crypto_dh_new(uint16_t group, struct crypto_dh **out)
{
	const struct crypto_dh_alg *alg = crypto_dh_lookup(group);
	struct dh_params *dp;
	struct crypto_dh *dh;
	int rc = 0;

	*out = NULL;
	if (!alg)
		return -EINVAL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->alg = alg;
	dh->kind = kind_of(group);
	switch (dh->kind) {
	case DH_MODP:
	case DH_ECP:
		dp = dh_params_get(group);
		if (dp)
			dh->key = params_keygen(dp);
		dh->dp = dp;
		break;
	case DH_XDH:
		dp = dh_params_get(group);
		if (dp)
			dh->key = params_keygen(dp);
		break;
	}
	if (rc == 0 && !dh->key)
		rc = -EIO;
	if (rc < 0) {
		crypto_dh_free(dh);
		return rc;
	}
	*out = dh;
	return 0;
}

/* EC key from a private scalar: the public point is computed with the
 * (non-deprecated) EC_POINT API, then imported through EVP. */
static EVP_PKEY *ecp_from_priv(uint16_t group, const uint8_t *priv, size_t len)
{
	int nid = group == IKEV2_DH_ECP256   ? NID_X9_62_prime256v1
		  : group == IKEV2_DH_ECP384 ? NID_secp384r1
					     : NID_secp521r1;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
	EC_POINT *pt = NULL;
	BIGNUM *d = BN_bin2bn(priv, (int)len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t pub[1 + 2 * 66];
	size_t publen;

	if (!g || !d || !bld)
		goto out;
	pt = EC_POINT_new(g);
	if (!pt || !EC_POINT_mul(g, pt, d, NULL, NULL, NULL))
		goto out;
	publen = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub,
				    sizeof(pub), NULL);
	if (!publen)
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     curve_name(group), 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					      publen) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	BN_clear_free(d);
	return pk;
}

int crypto_dh_new_private(uint16_t group, const uint8_t *priv, size_t len,
			  struct crypto_dh **out)
{
	const struct crypto_dh_alg *alg = crypto_dh_lookup(group);
	struct crypto_dh *dh;

	*out = NULL;
	if (!alg || !priv || !len || len > INT32_MAX)
		return -EINVAL;
	if (kind_of(group) == DH_MODP)
		return -ENOTSUP;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->alg = alg;
	dh->kind = kind_of(group);
	if (dh->kind == DH_ECP && !(dh->dp = dh_params_get(group))) {
		crypto_dh_free(dh);
		return -EIO;
	}
	if (dh->kind == DH_XDH)
		dh->key = EVP_PKEY_new_raw_private_key(
		    group == IKEV2_DH_CURVE25519 ? EVP_PKEY_X25519
						 : EVP_PKEY_X448,
		    NULL, priv, len);
	else
		dh->key = ecp_from_priv(group, priv, len);
	if (!dh->key) {
		crypto_dh_free(dh);
		return -EINVAL;
	}
	*out = dh;
	return 0;
}

int crypto_dh_public(const struct crypto_dh *dh, uint8_t *out, size_t len)
{
	uint8_t pt[1 + 2 * 66];
	BIGNUM *y = NULL;
	size_t ol = 0;
	int rc = -EIO;

	if (len != dh->alg->pub_len)
		return -EINVAL;
	switch (dh->kind) {
	case DH_MODP:
		/* RFC 7296 §3.4: zero-padded to the prime's length. */
		if (EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY,
					  &y) == 1 &&
		    BN_bn2binpad(y, out, (int)len) == (int)len)
			rc = 0;
		BN_free(y);
		return rc;
	case DH_ECP:
		/* RFC 5903 §7: x || y, without the 0x04 point format octet. */
		if (EVP_PKEY_get_octet_string_param(dh->key,
						    OSSL_PKEY_PARAM_PUB_KEY, pt,
						    sizeof(pt), &ol) != 1 ||
		    ol != len + 1 || pt[0] != 0x04)
			return -EIO;
		memcpy(out, pt + 1, len);
		return 0;
	case DH_XDH:
		ol = len;
		if (EVP_PKEY_get_raw_public_key(dh->key, out, &ol) != 1 ||
		    ol != len)
			return -EIO;
		return 0;
	}
	return -EINVAL;
}

/* A copy of the group's parameters with the peer's public value (the
 * encoded form: MODP big-endian y, ECP the uncompressed point). */
static EVP_PKEY *peer_pkey(const struct crypto_dh *dh, const uint8_t *enc,
			   size_t len)
{
	EVP_PKEY *pk = EVP_PKEY_dup(dh->dp->params);

	if (pk && EVP_PKEY_set1_encoded_public_key(pk, enc, len) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

/* RFC 7296 §5 / RFC 6989 §2.1: 1 < y < p-1, which for the safe-prime
 * MODP groups is the whole check (§2.2). */
static EVP_PKEY *modp_peer(const struct crypto_dh *dh, const uint8_t *peer,
			   size_t len)
{
	BIGNUM *y = BN_bin2bn(peer, (int)len, NULL);
	EVP_PKEY *pk = NULL;

	if (!y)
		goto out;
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, dh->dp->pm1) >= 0)
		goto out;
	pk = peer_pkey(dh, peer, len);
out:
	BN_free(y);
	return pk;
}

/* RFC 5903 §7: x || y -> uncompressed point; RFC 6989 §2.3: a point off
 * the curve fails the import, EVP_PKEY_public_check_quick rejects the
 * point at infinity too (the curves have prime order: nothing more). */
static EVP_PKEY *ecp_peer(const struct crypto_dh *dh, const uint8_t *peer,
			  size_t len)
{
	uint8_t pt[1 + 2 * 66];
	EVP_PKEY_CTX *chk = NULL;
	EVP_PKEY *pk;

	pt[0] = 0x04;
	memcpy(pt + 1, peer, len);
	pk = peer_pkey(dh, pt, len + 1);
	if (!pk)
		return NULL;
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk || EVP_PKEY_public_check_quick(chk) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(chk);
	return pk;
}

int crypto_dh_compute(struct crypto_dh *dh, const uint8_t *peer,
		      size_t peer_len, uint8_t *secret, size_t secret_len)
{
	static const uint8_t zero[CRYPTO_MAX_DH_SECRET];
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t ol = secret_len;
	int rc = -EBADMSG;

	/* RFC 7296 §3.4: the KE data length is fixed by the group. */
	if (!peer || peer_len != dh->alg->pub_len)
		return -EBADMSG;
	if (secret_len != dh->alg->secret_len)
		return -EINVAL;
	switch (dh->kind) {
	case DH_MODP:
		pk = modp_peer(dh, peer, peer_len);
		break;
	case DH_ECP:
		pk = ecp_peer(dh, peer, peer_len);
		break;
	case DH_XDH:
		pk = EVP_PKEY_new_raw_public_key(
		    dh->alg->id == IKEV2_DH_CURVE25519 ? EVP_PKEY_X25519
						       : EVP_PKEY_X448,
		    NULL, peer, peer_len);
		break;
	}
	if (!pk)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1) {
		rc = -EIO;
		goto out;
	}
	/* RFC 7296 §2.14: g^ir is as long as the prime, leading zeros kept. */
	if (dh->kind == DH_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1) {
		rc = -EIO;
		goto out;
	}
	/* checked above, per group (RFC 6989): no second, full check */
	if (EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1)
		goto out;
	if (EVP_PKEY_derive(ctx, secret, &ol) != 1)
		goto out; /* includes X25519/X448 all-zero output */
	if (ol != secret_len) {
		rc = -EIO;
		goto out;
	}
	/* RFC 8031 §2.2 (and defence in depth for all groups): reject an
	 * all-zero shared secret. */
	if (CRYPTO_memcmp(secret, zero, secret_len) == 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		mem_wipe(secret, secret_len);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}
