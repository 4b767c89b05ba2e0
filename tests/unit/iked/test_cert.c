/*
 * test_cert.c - certificate authentication (auth_cert.c, crypto/sig.c).
 *
 * Keys and certificates are made at test time with OpenSSL EVP/X509
 * (RSA-2048, ECDSA P-256/384/521; a CA, end entities with SANs, expired
 * and not-yet-valid ones) and written as PEM into a temporary directory
 * that the group teardown removes.
 *
 * Covers: sign/verify for every AUTH method (1, 9, 10, 11, 14 with
 * RSASSA-PKCS1-v1_5, RSA-PSS and ECDSA), tampered octets, signatures
 * and wrong keys rejected, RFC 7427 AlgorithmIdentifiers (RFC 7427
 * Appendix A encodings, trailing bytes, unknown OIDs), method choice,
 * the ID <-> certificate matching table, configuration loading errors,
 * and two iked engines in one process (as test_iked.c) authenticating
 * with pinned certificates, a CA chain, a bare key, no CERT payload, and
 * failing with AUTHENTICATION_FAILED for an expired certificate, a
 * wrong pinned certificate, an untrusted CA and an ID that the
 * certificate does not name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/sig.h"
#include "ike/auth_cert.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "isakmp/isakmp.h"
#include "lib/log.h"

#include "harness.h"

/* ---- keys and certificates made at test time ---- */

static char tmpdir[64];
static EVP_PKEY *k_rsa, *k_rsa2, *k_p256, *k_p384, *k_p521, *k_ca;
static X509 *ca, *ca_other;
static EVP_PKEY *k_ca_other;
static long serial = 1;

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, bool is_ca, long nb, long na,
		       const char *san)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *e;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
				   (const unsigned char *)"racoon2 test", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (is_ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
					"critical,keyCertSign,cRLSign");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (san) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) >
		    0);
	return x;
}

static void write_pem(const char *name, X509 *x, X509 *x2, EVP_PKEY *key,
		      char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_true(PEM_write_X509(f, x));
	if (x2)
		assert_true(PEM_write_X509(f, x2));
	if (key)
		assert_true(
		    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
}

static int group_setup(void **st)
{
	(void)st;
	h_log_init();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r2cert.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	k_p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	k_ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	k_ca_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k_rsa || !k_rsa2 || !k_p256 || !k_p384 || !k_p521 || !k_ca ||
	    !k_ca_other)
		return -1;
	ca = make_cert(k_ca, "racoon2 test CA", NULL, NULL, true, -3600, 86400,
		       NULL);
	ca_other = make_cert(k_ca_other, "other CA", NULL, NULL, true, -3600,
			     86400, NULL);
	return 0;
}

static int group_teardown(void **st)
{
	char cmd[128];

	(void)st;
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa2);
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_p521);
	EVP_PKEY_free(k_ca);
	EVP_PKEY_free(k_ca_other);
	X509_free(ca);
	X509_free(ca_other);
	if (strncmp(tmpdir, "/tmp/r2cert.", 12) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return 0;
}

/* ---- signatures ---- */

static const uint8_t octets[] = "RealMessage | Nonce | prf(SK_p, ID)";

static void sign_check(EVP_PKEY *key, uint8_t method, uint32_t hashes, bool pss)
{
	struct auth_sig s;
	uint8_t bad[sizeof(octets)];
	char scheme[96];

	assert_int_equal(
	    auth_sig_make(key, method, hashes, pss, octets, sizeof(octets), &s),
	    0);
	assert_int_equal(s.method, method);
	assert_int_equal(auth_sig_check(key, method, s.data, s.len, octets,
					sizeof(octets), scheme, sizeof(scheme)),
			 0);
	/* Other octets (a different IKE_SA_INIT, nonce or ID). */
	memcpy(bad, octets, sizeof(bad));
	bad[3] ^= 0x40;
	assert_int_equal(auth_sig_check(key, method, s.data, s.len, bad,
					sizeof(bad), NULL, 0),
			 -EBADMSG);
	/* A flipped bit in the signature value (its last octet). */
	s.data[s.len - 1] ^= 1;
	assert_int_equal(auth_sig_check(key, method, s.data, s.len, octets,
					sizeof(octets), NULL, 0),
			 -EBADMSG);
	s.data[s.len - 1] ^= 1;
	/* Truncated. */
	assert_int_equal(auth_sig_check(key, method, s.data, s.len - 1, octets,
					sizeof(octets), NULL, 0),
			 -EBADMSG);
	/* Another method number for the same bytes. */
	assert_int_not_equal(
	    auth_sig_check(key,
			   method == IKEV2_AUTH_DIGSIG ? IKEV2_AUTH_RSA_SIG
						       : IKEV2_AUTH_DIGSIG,
			   s.data, s.len, octets, sizeof(octets), NULL, 0),
	    0);
	/* Someone else's key. */
	assert_int_equal(auth_sig_check(key == k_rsa ? k_rsa2 : k_rsa, method,
					s.data, s.len, octets, sizeof(octets),
					NULL, 0),
			 -EBADMSG);
	auth_sig_clear(&s);
}

#define H(x) (1u << (x))
#define SEEN (1u << 31)
#define ALLH (SEEN | H(2) | H(3) | H(4))

static void test_sig_methods(void **st)
{
	(void)st;
	sign_check(k_rsa, IKEV2_AUTH_RSA_SIG, 0, false);
	sign_check(k_rsa, IKEV2_AUTH_DIGSIG, ALLH, false);
	sign_check(k_rsa, IKEV2_AUTH_DIGSIG, ALLH, true);
	sign_check(k_rsa, IKEV2_AUTH_DIGSIG, SEEN | H(4), true);
	sign_check(k_rsa, IKEV2_AUTH_DIGSIG, SEEN | H(3), false);
	sign_check(k_p256, IKEV2_AUTH_ECDSA_256, 0, false);
	sign_check(k_p384, IKEV2_AUTH_ECDSA_384, 0, false);
	sign_check(k_p521, IKEV2_AUTH_ECDSA_521, 0, false);
	sign_check(k_p256, IKEV2_AUTH_DIGSIG, ALLH, false);
	sign_check(k_p384, IKEV2_AUTH_DIGSIG, ALLH, false);
	sign_check(k_p521, IKEV2_AUTH_DIGSIG, ALLH, false);
	sign_check(k_p256, IKEV2_AUTH_DIGSIG, SEEN | H(4), false);
}

static void test_sig_method_key_mismatch(void **st)
{
	struct auth_sig s;

	(void)st;
	/* RFC 4754: method 9 is P-256 only, and so on. */
	assert_int_not_equal(auth_sig_make(k_p384, IKEV2_AUTH_ECDSA_256, 0,
					   false, octets, sizeof(octets), &s),
			     0);
	assert_int_not_equal(auth_sig_make(k_rsa, IKEV2_AUTH_ECDSA_256, 0,
					   false, octets, sizeof(octets), &s),
			     0);
	assert_int_not_equal(auth_sig_make(k_p256, IKEV2_AUTH_RSA_SIG, 0, false,
					   octets, sizeof(octets), &s),
			     0);
	assert_int_not_equal(auth_sig_make(k_rsa, IKEV2_AUTH_PSK, 0, false,
					   octets, sizeof(octets), &s),
			     0);
	/* A P-256 signature presented as method 10 (P-384). */
	assert_int_equal(auth_sig_make(k_p256, IKEV2_AUTH_ECDSA_256, 0, false,
				       octets, sizeof(octets), &s),
			 0);
	assert_int_equal(s.len, 64); /* r | s, 32 octets each */
	assert_int_equal(auth_sig_check(k_p256, IKEV2_AUTH_ECDSA_384, s.data,
					s.len, octets, sizeof(octets), NULL, 0),
			 -EBADMSG);
	assert_int_equal(auth_sig_check(k_rsa, IKEV2_AUTH_ECDSA_256, s.data,
					s.len, octets, sizeof(octets), NULL, 0),
			 -EBADMSG);
	auth_sig_clear(&s);
	assert_int_equal(auth_sig_make(k_p521, IKEV2_AUTH_ECDSA_521, 0, false,
				       octets, sizeof(octets), &s),
			 0);
	assert_int_equal(s.len, 132); /* 66 + 66 */
	auth_sig_clear(&s);
	/* An empty or 1-octet method 14 payload. */
	assert_int_equal(auth_sig_check(k_rsa, IKEV2_AUTH_DIGSIG,
					(const uint8_t *)"", 0, octets,
					sizeof(octets), NULL, 0),
			 -EBADMSG);
	assert_int_equal(auth_sig_check(k_rsa, IKEV2_AUTH_DIGSIG,
					(const uint8_t *)"\x0f", 1, octets,
					sizeof(octets), NULL, 0),
			 -EBADMSG);
}

/* RFC 7427 Appendix A. */
static const uint8_t sha256rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
				    0x86, 0x48, 0x86, 0xf7, 0x0d,
				    0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t sha1rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
				  0x86, 0x48, 0x86, 0xf7, 0x0d,
				  0x01, 0x01, 0x05, 0x05, 0x00};
static const uint8_t ecdsa256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
				   0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t ecdsa512[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
				   0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
/* RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (RFC 4055 / RFC 8420). */
static const uint8_t pss256[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
    0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};

static void test_algid(void **st)
{
	static const struct sig_alg all[] = {
	    {SIG_KEY_RSA, SIG_FMT_PKCS1, SIG_HASH_SHA2_256, 0, 0},
	    {SIG_KEY_RSA, SIG_FMT_PKCS1, SIG_HASH_SHA2_384, 0, 0},
	    {SIG_KEY_RSA, SIG_FMT_PKCS1, SIG_HASH_SHA2_512, 0, 0},
	    {SIG_KEY_RSA, SIG_FMT_PSS, SIG_HASH_SHA2_256, 0, 0},
	    {SIG_KEY_RSA, SIG_FMT_PSS, SIG_HASH_SHA2_384, 0, 0},
	    {SIG_KEY_RSA, SIG_FMT_PSS, SIG_HASH_SHA2_512, SIG_HASH_SHA2_256,
	     40},
	    {SIG_KEY_EC, SIG_FMT_ECDSA_DER, SIG_HASH_SHA2_256, 0, 0},
	    {SIG_KEY_EC, SIG_FMT_ECDSA_DER, SIG_HASH_SHA2_384, 0, 0},
	    {SIG_KEY_EC, SIG_FMT_ECDSA_DER, SIG_HASH_SHA2_512, 0, 0},
	};
	uint8_t buf[128], junk[sizeof(sha256rsa) + 1];
	struct sig_alg a;
	size_t i, len;

	(void)st;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		uint16_t salt = all[i].salt_len;

		assert_int_equal(
		    sig_algid_encode(&all[i], buf, sizeof(buf), &len), 0);
		assert_int_equal(sig_algid_decode(buf, len, &a), 0);
		assert_int_equal(a.key, all[i].key);
		assert_int_equal(a.fmt, all[i].fmt);
		assert_int_equal(a.hash, all[i].hash);
		if (a.fmt == SIG_FMT_PSS) {
			assert_int_equal(a.mgf_hash, all[i].mgf_hash
							 ? all[i].mgf_hash
							 : all[i].hash);
			/* 0 = the hash length */
			if (!salt)
				salt = a.hash == SIG_HASH_SHA2_256   ? 32
				       : a.hash == SIG_HASH_SHA2_384 ? 48
								     : 64;
			assert_int_equal(a.salt_len, salt);
		}
	}
	/* Our encodings are the RFC 7427 Appendix A ones. */
	assert_int_equal(sig_algid_encode(&all[0], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(sha256rsa));
	assert_memory_equal(buf, sha256rsa, len);
	assert_int_equal(sig_algid_encode(&all[6], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(ecdsa256));
	assert_memory_equal(buf, ecdsa256, len);
	/* What peers send. */
	assert_int_equal(sig_algid_decode(sha1rsa, sizeof(sha1rsa), &a), 0);
	assert_int_equal(a.hash, SIG_HASH_SHA1);
	assert_int_equal(sig_algid_decode(ecdsa512, sizeof(ecdsa512), &a), 0);
	assert_int_equal(a.fmt, SIG_FMT_ECDSA_DER);
	assert_int_equal(a.hash, SIG_HASH_SHA2_512);
	assert_int_equal(sig_algid_decode(pss256, sizeof(pss256), &a), 0);
	assert_int_equal(a.fmt, SIG_FMT_PSS);
	assert_int_equal(a.hash, SIG_HASH_SHA2_256);
	assert_int_equal(a.mgf_hash, SIG_HASH_SHA2_256);
	assert_int_equal(a.salt_len, 32);
	/* Trailing octet, truncation, garbage, unknown algorithm. */
	memcpy(junk, sha256rsa, sizeof(sha256rsa));
	junk[sizeof(sha256rsa)] = 0;
	assert_int_not_equal(sig_algid_decode(junk, sizeof(junk), &a), 0);
	assert_int_not_equal(
	    sig_algid_decode(sha256rsa, sizeof(sha256rsa) - 1, &a), 0);
	assert_int_not_equal(
	    sig_algid_decode((const uint8_t *)"\x30\x00", 2, &a), 0);
	memcpy(junk, sha256rsa, sizeof(sha256rsa));
	junk[12] = 0x7f; /* 1.2.840.113549.1.1.127 */
	assert_int_not_equal(sig_algid_decode(junk, sizeof(sha256rsa), &a), 0);
	/* No AlgorithmIdentifier for raw ECDSA; PSS needs RSA. */
	a = all[6];
	a.fmt = SIG_FMT_ECDSA_RAW;
	assert_int_not_equal(sig_algid_encode(&a, buf, sizeof(buf), &len), 0);
	a = all[3];
	a.key = SIG_KEY_EC;
	assert_int_not_equal(sig_algid_encode(&a, buf, sizeof(buf), &len), 0);
	assert_int_equal(sig_algid_encode(&all[3], buf, 4, &len), -ENOSPC);
}

/* Method 14 with SHA-1 is refused (RFC 8247 §3.2), method 1 is not. */
static void test_digsig_sha1_refused(void **st)
{
	struct sig_alg a = {SIG_KEY_RSA, SIG_FMT_PKCS1, SIG_HASH_SHA1, 0, 0};
	uint8_t buf[512];
	uint8_t *s;
	size_t slen, alen;

	(void)st;
	assert_int_equal(sig_algid_encode(&a, buf + 1, sizeof(buf) - 1, &alen),
			 0);
	buf[0] = (uint8_t)alen;
	assert_int_equal(sig_sign(k_rsa, &a, octets, sizeof(octets), &s, &slen),
			 0);
	assert_true(1 + alen + slen <= sizeof(buf));
	memcpy(buf + 1 + alen, s, slen);
	assert_int_equal(sig_verify(k_rsa, &a, octets, sizeof(octets), s, slen),
			 0);
	assert_int_equal(auth_sig_check(k_rsa, IKEV2_AUTH_RSA_SIG, s, slen,
					octets, sizeof(octets), NULL, 0),
			 0);
	assert_int_equal(auth_sig_check(k_rsa, IKEV2_AUTH_DIGSIG, buf,
					1 + alen + slen, octets, sizeof(octets),
					NULL, 0),
			 -EBADMSG);
	free(s);
}

static void test_choose(void **st)
{
	(void)st;
	assert_int_equal(auth_sig_choose(k_rsa, 0), IKEV2_AUTH_RSA_SIG);
	assert_int_equal(auth_sig_choose(k_p256, 0), IKEV2_AUTH_ECDSA_256);
	assert_int_equal(auth_sig_choose(k_p384, 0), IKEV2_AUTH_ECDSA_384);
	assert_int_equal(auth_sig_choose(k_p521, 0), IKEV2_AUTH_ECDSA_521);
	assert_int_equal(auth_sig_choose(k_rsa, SEEN | H(2)),
			 IKEV2_AUTH_DIGSIG);
	assert_int_equal(auth_sig_choose(k_p384, SEEN | H(4)),
			 IKEV2_AUTH_DIGSIG);
	/* Only hashes we do not have (e.g. Identity, 5): RFC 7296. */
	assert_int_equal(auth_sig_choose(k_rsa, SEEN | H(5)),
			 IKEV2_AUTH_RSA_SIG);
	assert_int_equal(auth_sig_choose(k_p256, SEEN | H(1)),
			 IKEV2_AUTH_ECDSA_256);
}

/* ---- ID <-> certificate ---- */

static void id_set(struct ike_id *id, uint8_t type, const void *p, size_t len)
{
	memset(id, 0, sizeof(*id));
	id->type = type;
	id->len = (uint16_t)len;
	memcpy(id->data, p, len);
}

static void test_id_match(void **st)
{
	X509 *x =
	    make_cert(k_p256, "gw.example.com", ca, k_ca, false, -60, 3600,
		      "DNS:gw.example.com,email:admin@example.com,"
		      "IP:198.51.100.1,IP:2001:db8::1");
	X509 *bare = make_cert(k_p256, "bare.example.com", ca, k_ca, false, -60,
			       3600, NULL);
	static const uint8_t v4[] = {198, 51, 100, 1},
			     v4b[] = {198, 51, 100, 2};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	unsigned char *der = NULL;
	struct ike_id id;
	int n;
	struct {
		uint8_t type;
		const char *val;
		size_t len; /* 0: strlen */
		bool match;
	} t[] = {
	    {IKE_ID_FQDN, "gw.example.com", 0, true},
	    {IKE_ID_FQDN, "GW.Example.COM", 0, true},
	    {IKE_ID_FQDN, "gw.example.co", 0, false},
	    {IKE_ID_FQDN, "gw.example.com.evil", 0, false},
	    {IKE_ID_FQDN, "other.example.com", 0, false},
	    {IKE_ID_FQDN, "gw.example.com\0x", 16, false},
	    {IKE_ID_RFC822_ADDR, "admin@example.com", 0, true},
	    {IKE_ID_RFC822_ADDR, "root@example.com", 0, false},
	    /* a dNSName is not an rfc822Name and vice versa */
	    {IKE_ID_RFC822_ADDR, "gw.example.com", 0, false},
	    {IKE_ID_FQDN, "admin@example.com", 0, false},
	    {IKE_ID_IPV4_ADDR, (const char *)v4, 4, true},
	    {IKE_ID_IPV4_ADDR, (const char *)v4b, 4, false},
	    {IKE_ID_IPV6_ADDR, (const char *)v6, 16, true},
	    /* the IPv4 bytes as a (short) IPv6 ID */
	    {IKE_ID_IPV6_ADDR, (const char *)v4, 4, false},
	    {IKE_ID_KEY_ID, "gw.example.com", 0, false},
	    /* the CN is not consulted for an FQDN (RFC 4945 §3.1.2) */
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		id_set(&id, t[i].type, t[i].val,
		       t[i].len ? t[i].len : strlen(t[i].val));
		if (auth_cert_id_match(x, &id) != t[i].match)
			fail_msg("row %zu (%s): expected %d", i, t[i].val,
				 t[i].match);
	}
	id_set(&id, IKE_ID_FQDN, "bare.example.com", 16);
	assert_false(auth_cert_id_match(bare, &id));
	/* ID_DER_ASN1_DN: the subject, exactly. */
	n = i2d_X509_NAME(X509_get_subject_name(x), &der);
	assert_true(n > 0);
	id_set(&id, IKE_ID_DER_ASN1_DN, der, (size_t)n);
	assert_true(auth_cert_id_match(x, &id));
	assert_false(auth_cert_id_match(bare, &id));
	id.len--; /* truncated DER */
	assert_false(auth_cert_id_match(x, &id));
	id.len++;
	id.data[id.len++] = 0; /* trailing octet */
	assert_false(auth_cert_id_match(x, &id));
	id_set(&id, IKE_ID_DER_ASN1_DN, "\x30\x03\x02\x01\x01", 5);
	assert_false(auth_cert_id_match(x, &id));
	id_set(&id, IKE_ID_DER_ASN1_DN, "", 0);
	assert_false(auth_cert_id_match(x, &id));
	OPENSSL_free(der);
	X509_free(x);
	X509_free(bare);
}

/* ---- configuration loading ---- */

static void test_setup_errors(void **st)
{
	char cert[256], key[256], both[256], other[256], pub[256], err[256];
	struct auth_cert_params p;
	struct ike_remote r;
	X509 *x = make_cert(k_rsa, "a", NULL, NULL, false, -60, 3600, NULL);
	struct ike_id id;
	FILE *f;

	(void)st;
	write_pem("a.crt", x, NULL, NULL, cert, sizeof(cert));
	write_pem("a.key", NULL, NULL, k_rsa, key, sizeof(key));
	write_pem("a.both", x, NULL, k_rsa, both, sizeof(both));
	write_pem("b.key", NULL, NULL, k_rsa2, other, sizeof(other));
	snprintf(pub, sizeof(pub), "%s/a.pub", tmpdir);
	f = fopen(pub, "w");
	assert_non_null(f);
	assert_true(PEM_write_PUBKEY(f, k_rsa));
	fclose(f);

	cfg_remote_defaults(&r);
	memset(&p, 0, sizeof(p));
	p.sign = p.accept = true;
	p.cert = cert;
	p.key = key;
	p.peer = cert;
	assert_int_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	assert_true(auth_cert_signs(&r));
	assert_true(auth_cert_accepts(&r, IKEV2_AUTH_DIGSIG));
	assert_true(auth_cert_accepts(&r, IKEV2_AUTH_RSA_SIG));
	assert_false(auth_cert_accepts(&r, IKEV2_AUTH_PSK));
	/* Key in the certificate file (racoon2 allows it). */
	p.key = NULL;
	p.cert = both;
	assert_int_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	/* A bare public key as peers_public_key. */
	p.peer = pub;
	assert_int_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	/* Key of another certificate. */
	p.cert = cert;
	p.key = other;
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "does not match"));
	/* Missing files; a key file as certificate; no key at all. */
	p.key = key;
	p.cert = "/nonexistent/r2.crt";
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	p.cert = key;
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	p.cert = cert;
	p.key = cert;
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	p.key = key;
	p.peer = key; /* neither certificate nor public key */
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	/* Signing without my_public_key. */
	p.peer = cert;
	p.cert = NULL;
	assert_int_not_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	/* Verifying only. */
	p.sign = false;
	assert_int_equal(auth_cert_setup(&r, &p, err, sizeof(err)), 0);
	assert_false(auth_cert_signs(&r));
	/* x509_subject: the DN of the file's certificate. */
	assert_int_equal(auth_cert_subject_id(cert, &id), 0);
	assert_int_equal(id.type, IKE_ID_DER_ASN1_DN);
	assert_true(auth_cert_id_match(x, &id));
	assert_int_not_equal(auth_cert_subject_id(key, &id), 0);
	auth_cert_free(r.cert);
	X509_free(x);
}

/* ---- two engines (harness.c, as in test_iked.c) ---- */

static struct iked A, Bd;

static int setup(void **st)
{
	static struct iked *const engs[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 100};

	(void)st;
	h_setup(engs, 2, &o);
	h_peer_config(&A, "198.51.100.1", "198.51.100.2");
	h_peer_config(&Bd, "198.51.100.2", "198.51.100.1");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

/* One side's certificate material: files under tmpdir named by tag. */
static void side(struct iked *d, const char *tag, X509 *mine, X509 *extra,
		 EVP_PKEY *key, X509 *peer, X509 *peer2, bool send_cert)
{
	char c[256], k[256], pfile[256], name[64], err[256];
	struct auth_cert_params p;

	snprintf(name, sizeof(name), "%s.crt", tag);
	write_pem(name, mine, extra, NULL, c, sizeof(c));
	snprintf(name, sizeof(name), "%s.key", tag);
	write_pem(name, NULL, NULL, key, k, sizeof(k));
	snprintf(name, sizeof(name), "%s.peer", tag);
	write_pem(name, peer, peer2, NULL, pfile, sizeof(pfile));
	memset(&p, 0, sizeof(p));
	p.cert = c;
	p.key = k;
	p.peer = pfile;
	p.sign = p.accept = true;
	p.send_cert = send_cert;
	p.send_certreq = true;
	p.verify_id = true;
	if (auth_cert_setup(&d->cfg->remote[0], &p, err, sizeof(err)) != 0)
		fail_msg("auth_cert_setup: %s", err);
}

static bool try_establish(void)
{
	h_initiate(&A, "peer", NULL, NULL);
	return h_est_any(&A) && h_est_any(&Bd);
}

/* My IDs (RFC 7296 §3.5) instead of the subject DNs. */
static void my_ids(const char *alice, const char *bob)
{
	ike_id_parse(alice, &A.cfg->remote[0].my_id);
	ike_id_parse(bob, &Bd.cfg->remote[0].my_id);
}

/* IKE_AUTH fails and leaves nothing behind on either side. */
static void establish_fails(void)
{
	assert_false(try_establish());
	assert_null(h_est_any(&A));
	assert_null(h_est_any(&Bd));
	assert_int_equal(h_count_sas(&A), 0);
	assert_int_equal(h_count_sas(&Bd), 0);
	assert_int_equal(kfake_sa_count(&A.kern), 0);
	assert_int_equal(kfake_sa_count(&Bd.kern), 0);
}

static void test_e2e_rsa_pinned(void **st)
{
	X509 *xa =
	    make_cert(k_rsa, "alice", NULL, NULL, false, -60, 3600, NULL);
	X509 *xb = make_cert(k_rsa2, "bob", NULL, NULL, false, -60, 3600, NULL);
	struct ike_sa *a, *b;

	(void)st;
	side(&A, "ra", xa, NULL, k_rsa, xb, NULL, true);
	side(&Bd, "rb", xb, NULL, k_rsa2, xa, NULL, true);
	assert_true(try_establish());
	a = h_est_any(&A);
	b = h_est_any(&Bd);
	/* Default IDs are the subject DNs; both sides saw RFC 7427. */
	assert_int_equal(a->id_local.type, IKE_ID_DER_ASN1_DN);
	assert_int_equal(b->id_peer.type, IKE_ID_DER_ASN1_DN);
	assert_true(auth_cert_id_match(xa, &b->id_peer));
	assert_true(auth_cert_id_match(xb, &a->id_peer));
	assert_true(a->peer_sig_hashes != 0);
	assert_true(b->peer_sig_hashes != 0);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	X509_free(xa);
	X509_free(xb);
}

static void test_e2e_ecdsa_ca(void **st)
{
	X509 *xa = make_cert(k_p256, "alice", ca, k_ca, false, -60, 3600,
			     "DNS:alice.example");
	X509 *xb = make_cert(k_p521, "bob", ca, k_ca, false, -60, 3600,
			     "DNS:bob.example");

	(void)st;
	side(&A, "ea", xa, NULL, k_p256, ca, NULL, true);
	side(&Bd, "eb", xb, NULL, k_p521, ca, NULL, true);
	my_ids("fqdn:alice.example", "fqdn:bob.example");
	ike_id_parse("fqdn:bob.example", &A.cfg->remote[0].peer_id);
	assert_true(try_establish());
	assert_int_equal(h_est_any(&Bd)->id_peer.type, IKE_ID_FQDN);
	X509_free(xa);
	X509_free(xb);
}

/* An intermediate CA sent along: chain to the root in peers_public_key;
 * RSA end entity under an ECDSA CA. */
static void test_e2e_intermediate(void **st)
{
	X509 *mid =
	    make_cert(k_p384, "intermediate", ca, k_ca, true, -60, 3600, NULL);
	X509 *xa = make_cert(k_rsa, "alice", mid, k_p384, false, -60, 3600,
			     "DNS:alice.example");
	X509 *xb = make_cert(k_p256, "bob", ca, k_ca, false, -60, 3600,
			     "IP:198.51.100.2");

	(void)st;
	side(&A, "ia", xa, mid, k_rsa, ca, NULL, true);
	side(&Bd, "ib", xb, NULL, k_p256, ca, NULL, true);
	my_ids("fqdn:alice.example", "198.51.100.2");
	assert_true(try_establish());
	X509_free(mid);
	X509_free(xa);
	X509_free(xb);
}

/* racoon2's semantics: the peer's certificate is configured, nothing
 * needs to be sent. */
static void test_e2e_no_cert_payload(void **st)
{
	X509 *xa =
	    make_cert(k_p384, "alice", NULL, NULL, false, -60, 3600, NULL);
	X509 *xb = make_cert(k_rsa2, "bob", NULL, NULL, false, -60, 3600, NULL);

	(void)st;
	side(&A, "na", xa, NULL, k_p384, xb, NULL, false);
	side(&Bd, "nb", xb, NULL, k_rsa2, xa, NULL, false);
	assert_true(try_establish());
	X509_free(xa);
	X509_free(xb);
}

static void test_e2e_expired(void **st)
{
	X509 *xa = make_cert(k_p256, "alice", ca, k_ca, false, -7200, -3600,
			     "DNS:alice.example");
	X509 *xb = make_cert(k_p384, "bob", ca, k_ca, false, -60, 3600,
			     "DNS:bob.example");

	(void)st;
	side(&A, "xa", xa, NULL, k_p256, ca, NULL, true);
	side(&Bd, "xb", xb, NULL, k_p384, ca, NULL, true);
	my_ids("fqdn:alice.example", "fqdn:bob.example");
	establish_fails();
	X509_free(xa);
	X509_free(xb);
}

static void test_e2e_not_yet_valid_pinned(void **st)
{
	X509 *xa =
	    make_cert(k_p256, "alice", NULL, NULL, false, 3600, 7200, NULL);
	X509 *xb = make_cert(k_p384, "bob", NULL, NULL, false, -60, 3600, NULL);

	(void)st;
	side(&A, "ya", xa, NULL, k_p256, xb, NULL, true);
	side(&Bd, "yb", xb, NULL, k_p384, xa, NULL, true);
	establish_fails();
	X509_free(xa);
	X509_free(xb);
}

static void test_e2e_wrong_pinned(void **st)
{
	X509 *xa =
	    make_cert(k_p256, "alice", NULL, NULL, false, -60, 3600, NULL);
	X509 *xb = make_cert(k_p384, "bob", NULL, NULL, false, -60, 3600, NULL);
	X509 *xc =
	    make_cert(k_p521, "carol", NULL, NULL, false, -60, 3600, NULL);

	(void)st;
	/* The responder expects carol, not alice. */
	side(&A, "wa", xa, NULL, k_p256, xb, NULL, true);
	side(&Bd, "wb", xb, NULL, k_p384, xc, NULL, true);
	establish_fails();
	X509_free(xa);
	X509_free(xb);
	X509_free(xc);
}

static void test_e2e_untrusted_ca(void **st)
{
	X509 *xa = make_cert(k_p256, "alice", ca_other, k_ca_other, false, -60,
			     3600, "DNS:alice.example");
	X509 *xb = make_cert(k_p384, "bob", ca, k_ca, false, -60, 3600,
			     "DNS:bob.example");

	(void)st;
	side(&A, "ua", xa, NULL, k_p256, ca, NULL, true);
	side(&Bd, "ub", xb, NULL, k_p384, ca, NULL, true);
	my_ids("fqdn:alice.example", "fqdn:bob.example");
	establish_fails();
	X509_free(xa);
	X509_free(xb);
}

static void test_e2e_id_mismatch(void **st)
{
	X509 *xa = make_cert(k_p256, "alice", ca, k_ca, false, -60, 3600,
			     "DNS:alice.example");
	X509 *xb = make_cert(k_p384, "bob", ca, k_ca, false, -60, 3600,
			     "DNS:bob.example");

	(void)st;
	side(&A, "ma", xa, NULL, k_p256, ca, NULL, true);
	side(&Bd, "mb", xb, NULL, k_p384, ca, NULL, true);
	/* A valid certificate, but it does not name this identity. */
	my_ids("fqdn:mallory.example", "fqdn:bob.example");
	establish_fails();
	X509_free(xa);
	X509_free(xb);
}

/* Responder signs with a key that its certificate does not carry: the
 * initiator rejects the responder's AUTH. */
static void test_e2e_bad_responder_sig(void **st)
{
	X509 *xa =
	    make_cert(k_p256, "alice", NULL, NULL, false, -60, 3600, NULL);
	X509 *xb = make_cert(k_p384, "bob", NULL, NULL, false, -60, 3600, NULL);
	X509 *xb2 =
	    make_cert(k_p521, "bob", NULL, NULL, false, -60, 3600, NULL);

	(void)st;
	/* Alice pinned bob's P-384 certificate; bob presents no CERT and
	 * signs with P-521: the pinned key does not verify it. */
	side(&A, "sa", xa, NULL, k_p256, xb, NULL, true);
	side(&Bd, "sb", xb2, NULL, k_p521, xa, NULL, false);
	assert_false(try_establish());
	assert_null(h_est_any(&A));
	X509_free(xa);
	X509_free(xb);
	X509_free(xb2);
}

/* PSK on one side, certificate on the other (RFC 7296 §2.15 allows
 * each side its own method). */
static void test_e2e_mixed_psk(void **st)
{
	X509 *xb = make_cert(k_p256, "bob", NULL, NULL, false, -60, 3600, NULL);
	char c[256], k[256], err[256];
	struct auth_cert_params p;
	struct ike_remote *ra = &A.cfg->remote[0], *rb = &Bd.cfg->remote[0];

	(void)st;
	ra->have_psk = rb->have_psk = true;
	ra->psk_len = rb->psk_len = 6;
	memcpy(ra->psk, "s3cret", 6);
	memcpy(rb->psk, "s3cret", 6);
	/* Alice: PSK, accepts signatures with bob's pinned certificate. */
	write_pem("pb.crt", xb, NULL, NULL, c, sizeof(c));
	write_pem("pb.key", NULL, NULL, k_p256, k, sizeof(k));
	memset(&p, 0, sizeof(p));
	p.peer = c;
	p.accept = true;
	p.verify_id = true;
	assert_int_equal(auth_cert_setup(ra, &p, err, sizeof(err)), 0);
	/* Bob: signs, would verify a PSK. */
	memset(&p, 0, sizeof(p));
	p.cert = c;
	p.key = k;
	p.sign = true;
	p.send_cert = true;
	p.verify_id = true;
	assert_int_equal(auth_cert_setup(rb, &p, err, sizeof(err)), 0);
	assert_true(try_establish());
	X509_free(xb);
}

/* IKEv1 under privsep (priv.h PRIV_SIGN with AUTH_SIGN_IKEV1): the
 * parent signs an RFC 2409 §5.1 HASH_I/HASH_R prehashed with the key of
 * the remote's ikev1 block, and only a prf-sized hash; the engine's copy
 * of the configuration forgets that key. */
static void test_v1_sign_parent(void **st)
{
	static const size_t ok_len[] = {16, 20, 32, 48, 64};
	char cert[256], key[256], err[256];
	struct auth_cert_params p;
	struct ike_remote r;
	struct cfg_v1 v1;
	struct ike_cfg cfg;
	struct auth_sig s;
	uint8_t hash[80];
	X509 *x = make_cert(k_p256, "v1", NULL, NULL, false, -60, 3600, NULL);
	size_t i;

	(void)st;
	write_pem("v1.crt", x, NULL, NULL, cert, sizeof(cert));
	write_pem("v1.key", NULL, NULL, k_p256, key, sizeof(key));
	for (i = 0; i < sizeof(hash); i++)
		hash[i] = (uint8_t)(i * 7 + 1);
	cfg_remote_defaults(&r);
	memset(&v1, 0, sizeof(v1));
	memset(&p, 0, sizeof(p));
	p.sign = p.accept = p.send_cert = true;
	p.cert = cert;
	p.key = key;
	assert_int_equal(auth_cert_load("v1", &p, &v1.cert, err, sizeof(err)),
			 0);
	v1.auth_method = ISAKMP_P1_AUTH_ECDSA_256;
	/* no ikev1 block: nothing to sign with */
	assert_int_equal(
	    auth_cert_sign_parent(&r, AUTH_SIGN_IKEV1, hash, 32, &s), -ENOENT);
	r.v1 = &v1;
	for (i = 0; i < sizeof(ok_len) / sizeof(ok_len[0]); i++) {
		assert_int_equal(auth_cert_sign_parent(&r, AUTH_SIGN_IKEV1,
						       hash, ok_len[i], &s),
				 0);
		assert_int_equal(s.method, ISAKMP_P1_AUTH_ECDSA_256);
		assert_int_equal(s.len, 64); /* RFC 4754 §7: r | s */
		assert_int_equal(sig_verify_prehashed(k_p256, hash, ok_len[i],
						      s.data, s.len),
				 0);
		hash[0] ^= 1;
		assert_int_not_equal(sig_verify_prehashed(k_p256, hash,
							  ok_len[i], s.data,
							  s.len),
				     0);
		hash[0] ^= 1;
		auth_sig_clear(&s);
	}
	/* anything but a prf output is refused */
	assert_int_equal(
	    auth_cert_sign_parent(&r, AUTH_SIGN_IKEV1, hash, 33, &s), -EINVAL);
	assert_int_equal(
	    auth_cert_sign_parent(&r, AUTH_SIGN_IKEV1, hash, 80, &s), -EINVAL);
	/* the IKEv2 path does not reach the ikev1 key */
	assert_int_equal(auth_cert_sign_parent(&r, 0, hash, 32, &s), -ENOENT);
	/* the engine's copy holds no key: the parent must sign */
	memset(&cfg, 0, sizeof(cfg));
	cfg.remote = &r;
	cfg.nremote = 1;
	auth_cert_forget_keys(&cfg);
	{
		struct auth_cert_view cv;
		auth_cert_get_view(v1.cert, &cv);
		assert_null(cv.key);
		assert_true(cv.key_in_parent);
		assert_non_null(cv.cert);
	}
	assert_int_equal(
	    auth_cert_sign_parent(&r, AUTH_SIGN_IKEV1, hash, 32, &s), -ENOENT);
	auth_cert_free(v1.cert);
	auth_cert_free(r.cert);
	X509_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sig_methods),
	    cmocka_unit_test(test_sig_method_key_mismatch),
	    cmocka_unit_test(test_algid),
	    cmocka_unit_test(test_digsig_sha1_refused),
	    cmocka_unit_test(test_choose),
	    cmocka_unit_test(test_id_match),
	    cmocka_unit_test(test_setup_errors),
	    cmocka_unit_test(test_v1_sign_parent),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_e2e_rsa_pinned),
	    T(test_e2e_ecdsa_ca),
	    T(test_e2e_intermediate),
	    T(test_e2e_no_cert_payload),
	    T(test_e2e_expired),
	    T(test_e2e_not_yet_valid_pinned),
	    T(test_e2e_wrong_pinned),
	    T(test_e2e_untrusted_ca),
	    T(test_e2e_id_mismatch),
	    T(test_e2e_bad_responder_sig),
	    T(test_e2e_mixed_psk),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
