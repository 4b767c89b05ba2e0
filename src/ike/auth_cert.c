/*
 * auth_cert.c - IKEv2 certificate authentication: our certificate and
 * key, CERT/CERTREQ payloads, SIGNATURE_HASH_ALGORITHMS, signing and
 * checking AUTH (RFC 7296 §2.15/§3.8 methods 1, 9-11; RFC 7427 method
 * 14) and the verification of the peer's certificate: pinned
 * (racoon2's peers_public_key = the peer's certificate or key) or
 * chained to a CA certificate given in that same file, validity dates,
 * and the IKE ID against the certificate (RFC 4945 §3.1); those checks
 * are src/crypto/cert.c's, shared with IKEv1.
 *
 * Ownership: struct auth_cert_cfg belongs to its ike_remote (freed by
 * auth_cert_free from cfg_free).  Certificates parsed from a message
 * live only inside auth_cert_verify().  AUTH data built here is
 * malloc()ed into struct auth_sig and released by auth_sig_clear().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "crypto/cert.h"
#include "crypto/sig.h"
#include "ike/auth_cert.h"
#include "lib/filesrc.h"
#include "ike/iked.h"
#include "ike/priv.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/wr.h"

#define MOD "ike"

/* Bit 31 of ike_sa.peer_sig_hashes: the peer sent the notify at all
 * (its list may hold only hashes we do not know). */
#define SIGHASH_SEEN (1u << 31)
#define SIGHASH_OURS                                                           \
	((1u << SIG_HASH_SHA2_256) | (1u << SIG_HASH_SHA2_384) |               \
	 (1u << SIG_HASH_SHA2_512))

#define PEER_CERTS_MAX 8 /* CERT payloads we look at per message */

struct auth_cert_cfg {
	EVP_PKEY *key;		     /* our private key */
	bool key_in_parent;	     /* privsep: the parent signs (priv.h) */
	X509 *cert;		     /* our certificate */
	STACK_OF(X509) * chain;	     /* further certificates we send */
	STACK_OF(X509) * peer_certs; /* peers_public_key: pinned + CAs */
	EVP_PKEY *peer_key;	     /* peers_public_key as a bare key */
	uint8_t *certreq;	     /* SHA-1(SPKI) of each CA (§3.7) */
	size_t certreq_len;
	bool sign, accept, send_cert, send_certreq, verify_id;
};

static void certs_free(STACK_OF(X509) * sk)
{
	sk_X509_pop_free(sk, X509_free);
}

static X509_NAME *dn_decode(const struct ike_id *id)
{
	const unsigned char *p = id->data;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, id->len);

	if (n && p != id->data + id->len) {
		X509_NAME_free(n);
		n = NULL;
	}
	ERR_clear_error();
	return n;
}

bool auth_cert_dn_eq(const struct ike_id *a, const struct ike_id *b)
{
	X509_NAME *na, *nb;
	bool eq;

	if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
		return true;
	na = dn_decode(a);
	nb = dn_decode(b);
	eq = na && nb && X509_NAME_cmp(na, nb) == 0;
	X509_NAME_free(na);
	X509_NAME_free(nb);
	return eq;
}

bool auth_cert_dn_str(const struct ike_id *id, char *buf, size_t len)
{
	const unsigned char *p = id->data;
	X509_NAME *n;

	if (id->type != IKE_ID_DER_ASN1_DN || !len)
		return false;
	n = d2i_X509_NAME(NULL, &p, id->len);
	if (!n || p != id->data + id->len) {
		X509_NAME_free(n);
		ERR_clear_error();
		return false;
	}
	cert_name_str(n, buf, len);
	X509_NAME_free(n);
	return true;
}

void auth_cert_free(struct auth_cert_cfg *c)
{
	if (!c)
		return;
	EVP_PKEY_free(c->key); /* OpenSSL wipes private key material */
	X509_free(c->cert);
	certs_free(c->chain);
	certs_free(c->peer_certs);
	EVP_PKEY_free(c->peer_key);
	free(c->certreq);
	free(c);
}

void auth_sig_clear(struct auth_sig *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* ---- loading ---- */

static void ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "no PEM data");
	ERR_clear_error();
}

/* A memory BIO with the file's bytes, read through lib/filesrc.h (in
 * the privilege-separated engine: the bytes the parent read). */
static BIO *bio_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;

	if (filesrc_read(path, 0, 1u << 20, &buf, &len, NULL, NULL, 0) < 0)
		return NULL;
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		bio = BIO_new(BIO_s_mem());
	if (bio && BIO_write(bio, buf, (int)len) != (int)len) {
		BIO_free(bio);
		bio = NULL;
	}
	filesrc_free_buf(buf, len);
	return bio;
}

/* Every certificate of a PEM file, in order.  0 with an empty stack
 * when the file holds none. */
static int load_certs(const char *path, STACK_OF(X509) * *out, char *err,
		      size_t errlen)
{
	STACK_OF(X509) * sk;
	BIO *bio;
	X509 *x;

	*out = NULL;
	bio = bio_file(path);
	if (!bio) {
		snprintf(err, errlen, "%s: cannot open", path);
		ERR_clear_error();
		return -ENOENT;
	}
	sk = sk_X509_new_null();
	if (!sk) {
		BIO_free(bio);
		return -ENOMEM;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			certs_free(sk);
			BIO_free(bio);
			return -ENOMEM;
		}
	}
	ERR_clear_error(); /* the end of the file is "no start line" */
	BIO_free(bio);
	*out = sk;
	return 0;
}

/* No passphrase prompt in a daemon: encrypted keys are refused. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int load_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	char why[128];
	BIO *bio = bio_file(path);

	*out = NULL;
	if (!bio) {
		snprintf(err, errlen, "%s: cannot open", path);
		ERR_clear_error();
		return -ENOENT;
	}
	*out = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	if (!*out) {
		ossl_reason(why, sizeof(why));
		snprintf(err, errlen,
			 "%s: no usable private key (%s; "
			 "encrypted keys are not supported)",
			 path, why);
		return -EINVAL;
	}
	return 0;
}

static int load_pubkey(const char *path, EVP_PKEY **out)
{
	BIO *bio = bio_file(path);

	*out = NULL;
	if (!bio) {
		ERR_clear_error();
		return -ENOENT;
	}
	*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return *out ? 0 : -EINVAL;
}

static bool key_usable(EVP_PKEY *k)
{
	enum sig_key t;
	int bits;

	if (sig_key_info(k, &t, &bits) < 0)
		return false;
	return t == SIG_KEY_RSA ? bits >= 1024 : bits != 0;
}

/* RFC 7296 §3.7: CERTREQ "Certification Authority" = concatenated
 * SHA-1 hashes of the trust anchors' SubjectPublicKeyInfo. */
static int build_certreq(struct auth_cert_cfg *c)
{
	int i, n = sk_X509_num(c->peer_certs);
	uint8_t *buf;
	size_t len = 0;

	if (n <= 0)
		return 0;
	buf = malloc((size_t)n * 20);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(c->peer_certs, i);
		unsigned char *der = NULL;
		int dl;

		if (X509_check_ca(x) <= 0)
			continue;
		dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
		if (dl <= 0 || !EVP_Q_digest(NULL, "SHA1", NULL, der,
					     (size_t)dl, buf + len, NULL)) {
			OPENSSL_free(der);
			free(buf);
			ERR_clear_error();
			return -EIO;
		}
		OPENSSL_free(der);
		len += 20;
	}
	if (!len) {
		free(buf);
		return 0;
	}
	c->certreq = buf;
	c->certreq_len = len;
	return 0;
}

int auth_cert_setup(struct ike_remote *r, const struct auth_cert_params *p,
		    char *err, size_t errlen)
{
	struct auth_cert_cfg *c = NULL;
	int rc = auth_cert_load(r->name, p, &c, err, errlen);

	if (rc < 0)
		return rc;
	auth_cert_free(r->cert);
	r->cert = c;
	return 0;
}

int auth_cert_load(const char *rname, const struct auth_cert_params *p,
		   struct auth_cert_cfg **out, char *err, size_t errlen)
{
	struct auth_cert_cfg *c;
	STACK_OF(X509) *mine = NULL;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sign = p->sign;
	c->accept = p->accept;
	c->send_cert = p->send_cert;
	c->send_certreq = p->send_certreq;
	c->verify_id = p->verify_id;
	if (p->cert && *p->cert) {
		rc = load_certs(p->cert, &mine, err, errlen);
		if (rc < 0)
			goto out_free;
		if (sk_X509_num(mine) < 1) {
			snprintf(err, errlen, "%s: no PEM certificate",
				 p->cert);
			rc = -EINVAL;
			goto out_free;
		}
		c->cert = sk_X509_shift(mine);
		c->chain = mine;
		mine = NULL;
		/* The privilege-separated engine never sees the key: the
		 * parent withholds it (filesrc.h) and signs for it (priv.h),
		 * having checked it here in its own load. */
		if (filesrc_mode() == 2) {
			c->key_in_parent = true;
			goto peer;
		}
		/* racoon2 allows key and certificate in one file. */
		rc = load_key(p->key && *p->key ? p->key : p->cert, &c->key,
			      err, errlen);
		if (rc < 0)
			goto out_free;
		if (X509_check_private_key(c->cert, c->key) != 1) {
			ERR_clear_error();
			snprintf(err, errlen,
				 "%s: private key does not match "
				 "the certificate",
				 p->key ? p->key : p->cert);
			rc = -EINVAL;
			goto out_free;
		}
		if (!key_usable(c->key)) {
			snprintf(err, errlen,
				 "%s: key type not supported "
				 "(RSA >= 1024 bits, ECDSA P-256/384/521)",
				 p->cert);
			rc = -ENOTSUP;
			goto out_free;
		}
	} else if (p->sign) {
		snprintf(err, errlen,
			 "signature authentication needs "
			 "my_public_key");
		rc = -EINVAL;
		goto out_free;
	}
peer:
	if (p->peer && *p->peer) {
		rc = load_certs(p->peer, &c->peer_certs, err, errlen);
		if (rc < 0)
			goto out_free;
		if (sk_X509_num(c->peer_certs) == 0 &&
		    load_pubkey(p->peer, &c->peer_key) < 0) {
			snprintf(err, errlen,
				 "%s: neither a PEM certificate "
				 "nor a PEM public key",
				 p->peer);
			rc = -EINVAL;
			goto out_free;
		}
		if ((rc = build_certreq(c)) < 0) {
			snprintf(err, errlen, "%s: cannot hash CA keys",
				 p->peer);
			goto out_free;
		}
	} else if (p->accept) {
		log_warn(MOD,
			 "remote %s: signature authentication without "
			 "peers_public_key: peers cannot be verified",
			 rname);
	}
	*out = c;
	return 0;

out_free:
	certs_free(mine);
	auth_cert_free(c);
	return rc;
}

static bool is_sig_method(enum conf_auth_method m)
{
	return m == CONF_AUTH_RSASIG || m == CONF_AUTH_ECDSA256 ||
	       m == CONF_AUTH_ECDSA384 || m == CONF_AUTH_ECDSA521 ||
	       m == CONF_AUTH_DIGSIG;
}

int auth_cert_conf(struct ike_remote *r, const struct conf_kmp_params *k,
		   char *err, size_t errlen)
{
	struct auth_cert_params p;
	size_t i, first_sig = (size_t)-1, first_psk = (size_t)-1;
	int rc;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < k->n_kmp_auth_method; i++) {
		enum conf_auth_method m = k->kmp_auth_method[i];
		if (is_sig_method(m) && first_sig == (size_t)-1)
			first_sig = i;
		if (m == CONF_AUTH_PSK && first_psk == (size_t)-1)
			first_psk = i;
		if (m == CONF_AUTH_DSS)
			log_warn(MOD,
				 "remote %s: kmp_auth_method dss is not "
				 "supported; use rsasig or ecdsa",
				 r->name);
	}
	if (first_sig == (size_t)-1 && !k->my_public_key.format &&
	    !k->peers_public_key.format)
		return 0; /* PSK only */
	if ((k->my_public_key.format &&
	     k->my_public_key.format != CONF_KEYF_X509PEM) ||
	    (k->peers_public_key.format &&
	     k->peers_public_key.format != CONF_KEYF_X509PEM)) {
		snprintf(err, errlen,
			 "remote %s: only x509pem keys are "
			 "supported",
			 r->name);
		return -ENOTSUP;
	}
	p.accept = first_sig != (size_t)-1;
	/* We sign when a signature method comes before psk, or when
	 * there is no usable PSK (the first method decides, racoon2). */
	p.sign = p.accept && k->my_public_key.format &&
		 (first_sig < first_psk || !r->have_psk);
	p.cert = k->my_public_key.format ? k->my_public_key.pub : NULL;
	p.key = k->my_public_key.format ? k->my_public_key.priv : NULL;
	p.peer = k->peers_public_key.format ? k->peers_public_key.pub : NULL;
	p.send_cert = k->send_cert;
	p.send_certreq = k->send_cert_req;
	p.verify_id = k->verify_id;
	rc = auth_cert_setup(r, &p, err, errlen);
	if (rc < 0) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "remote %s: %s", r->name, err);
		snprintf(err, errlen, "%s", tmp);
	}
	return rc;
}

int auth_cert_subject_id(const char *path, struct ike_id *id)
{
	STACK_OF(X509) *sk = NULL;
	unsigned char *der = NULL;
	char err[128];
	int n, rc;

	rc = load_certs(path, &sk, err, sizeof(err));
	if (rc < 0)
		return rc;
	if (sk_X509_num(sk) < 1) {
		certs_free(sk);
		return -EINVAL;
	}
	n = i2d_X509_NAME(X509_get_subject_name(sk_X509_value(sk, 0)), &der);
	certs_free(sk);
	if (n <= 0)
		return -EINVAL;
	if ((size_t)n > CFG_ID_MAX) {
		OPENSSL_free(der);
		return -ENAMETOOLONG;
	}
	memset(id, 0, sizeof(*id));
	id->type = IKE_ID_DER_ASN1_DN;
	id->len = (uint16_t)n;
	memcpy(id->data, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* ---- small queries ---- */

bool auth_cert_method(uint8_t m)
{
	return m == IKEV2_AUTH_RSA_SIG || m == IKEV2_AUTH_ECDSA_256 ||
	       m == IKEV2_AUTH_ECDSA_384 || m == IKEV2_AUTH_ECDSA_521 ||
	       m == IKEV2_AUTH_DIGSIG;
}

bool auth_cert_signs(const struct ike_remote *r)
{
	return r && r->cert && r->cert->sign &&
	       (r->cert->key || r->cert->key_in_parent);
}

bool auth_cert_accepts(const struct ike_remote *r, uint8_t m)
{
	return r && r->cert && r->cert->accept && auth_cert_method(m);
}

void auth_cert_default_id(const struct ike_remote *r, struct ike_id *id)
{
	unsigned char *der = NULL;
	int n;

	if (!r || r->my_id.type || !r->cert || !r->cert->cert)
		return;
	/* Like other IKEv2 implementations, a certificate's holder is
	 * its subject DN unless my_id says otherwise. */
	n = i2d_X509_NAME(X509_get_subject_name(r->cert->cert), &der);
	if (n > 0 && (size_t)n <= CFG_ID_MAX) {
		memset(id, 0, sizeof(*id));
		id->type = IKE_ID_DER_ASN1_DN;
		id->len = (uint16_t)n;
		memcpy(id->data, der, (size_t)n);
	}
	OPENSSL_free(der);
}

/* ---- IKE_SA_INIT: SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) ---- */

void auth_cert_init_put(struct ikev2_wr *b, struct ike_sa *sa,
			const struct ike_remote *r)
{
	static const uint8_t ours[] = {
	    0, SIG_HASH_SHA2_256, 0, SIG_HASH_SHA2_384, 0, SIG_HASH_SHA2_512};

	/* RFC 7296 §1.2: the responder's CERTREQ goes in IKE_SA_INIT;
	 * peers that send CERT only when asked (strongSwan's default) need
	 * it to present a certificate we can chain to our CA. */
	if (!sa->initiator && r && r->cert && r->cert->accept &&
	    r->cert->send_certreq && r->cert->certreq_len) {
		struct ikev2_cert cr = {IKEV2_CERT_X509_SIG, r->cert->certreq,
					r->cert->certreq_len};
		ikev2_put_cert(b, IKEV2_PL_CERTREQ, &cr);
	}
	/* RFC 7427 §4: the initiator announces when it may use
	 * signatures; the responder answers an announcement (its real
	 * remote is only known in IKE_AUTH). */
	if (sa->initiator ? !(r && r->cert) : !sa->peer_sig_hashes)
		return;
	ikev2_put_notify_simple(b, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, ours,
				sizeof(ours));
}

void auth_cert_init_read(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ikev2_notify n;
	struct rd rd;
	uint32_t mask = SIGHASH_SEEN;
	uint16_t h;

	sa->peer_sig_hashes = 0;
	if (!ikev2_msg_find_notify(m, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, &n))
		return;
	/* RFC 7427 §4: a list of 2-octet Hash Algorithm Identifiers. */
	if (n.len == 0 || n.len % 2) {
		log_rl_warn(MOD,
			    "IKE SA #%u: malformed "
			    "SIGNATURE_HASH_ALGORITHMS (%zu octets) ignored",
			    sa->id, n.len);
		return;
	}
	rd = rd_init(n.data, n.len);
	while (rd_u16(&rd, &h) == 0)
		if (h < 31)
			mask |= 1u << h;
	sa->peer_sig_hashes = mask;
}

/* ---- AUTH data ---- */

static uint16_t curve_hash(int bits)
{
	return bits == 521   ? SIG_HASH_SHA2_512
	       : bits == 384 ? SIG_HASH_SHA2_384
			     : SIG_HASH_SHA2_256;
}

/* RFC 4754 §3: methods 9-11 fix curve and hash together. */
static uint8_t ecdsa_method(int bits)
{
	return bits == 256   ? IKEV2_AUTH_ECDSA_256
	       : bits == 384 ? IKEV2_AUTH_ECDSA_384
	       : bits == 521 ? IKEV2_AUTH_ECDSA_521
			     : 0;
}

uint8_t auth_sig_choose(EVP_PKEY *key, uint32_t hashes)
{
	enum sig_key t;
	int bits;

	if (sig_key_info(key, &t, &bits) < 0)
		return 0;
	/* RFC 7427 §4: once the peer listed hashes we can use, method 14
	 * with one of them; else the RFC 7296 methods. */
	if ((hashes & SIGHASH_SEEN) && (hashes & SIGHASH_OURS))
		return IKEV2_AUTH_DIGSIG;
	if (t == SIG_KEY_RSA)
		return IKEV2_AUTH_RSA_SIG;
	return ecdsa_method(bits) ? ecdsa_method(bits) : IKEV2_AUTH_DIGSIG;
}

int auth_sig_make(EVP_PKEY *key, uint8_t method, uint32_t hashes, bool pss,
		  const uint8_t *octets, size_t len, struct auth_sig *out)
{
	struct sig_alg a;
	enum sig_key t;
	uint8_t algid[128];
	size_t alen = 0, slen = 0;
	uint8_t *s = NULL;
	int bits, rc;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if ((rc = sig_key_info(key, &t, &bits)) < 0)
		return rc;
	a.key = t;
	switch (method) {
	case IKEV2_AUTH_RSA_SIG:
		/* RFC 7296 §3.8: RSASSA-PKCS1-v1_5 with SHA-1. */
		if (t != SIG_KEY_RSA)
			return -EINVAL;
		a.fmt = SIG_FMT_PKCS1;
		a.hash = SIG_HASH_SHA1;
		break;
	case IKEV2_AUTH_ECDSA_256:
	case IKEV2_AUTH_ECDSA_384:
	case IKEV2_AUTH_ECDSA_521:
		if (t != SIG_KEY_EC || ecdsa_method(bits) != method)
			return -EINVAL;
		a.fmt = SIG_FMT_ECDSA_RAW;
		a.hash = curve_hash(bits);
		break;
	case IKEV2_AUTH_DIGSIG: {
		uint16_t want =
		    t == SIG_KEY_EC ? curve_hash(bits) : SIG_HASH_SHA2_256;
		uint16_t h;

		/* RFC 7427 §4: a hash the peer listed, ours first. */
		a.hash = want;
		if ((hashes & SIGHASH_SEEN) && !(hashes & (1u << want)))
			for (h = SIG_HASH_SHA2_256; h <= SIG_HASH_SHA2_512; h++)
				if (hashes & (1u << h)) {
					a.hash = h;
					break;
				}
		a.fmt = t == SIG_KEY_EC ? SIG_FMT_ECDSA_DER
			: pss		? SIG_FMT_PSS
					: SIG_FMT_PKCS1;
		rc = sig_algid_encode(&a, algid, sizeof(algid), &alen);
		if (rc < 0)
			return rc;
		break;
	}
	default:
		return -EINVAL;
	}
	rc = sig_sign(key, &a, octets, len, &s, &slen);
	if (rc < 0)
		return rc;
	if (method != IKEV2_AUTH_DIGSIG) {
		out->data = s;
		out->len = slen;
	} else {
		/* RFC 7427 §3: ASN.1 Length | AlgorithmIdentifier |
		 * Signature Value. */
		out->data = malloc(1 + alen + slen);
		if (!out->data) {
			free(s);
			return -ENOMEM;
		}
		out->data[0] = (uint8_t)alen;
		memcpy(out->data + 1, algid, alen);
		memcpy(out->data + 1 + alen, s, slen);
		out->len = 1 + alen + slen;
		free(s);
	}
	out->method = method;
	return 0;
}

int auth_sig_check(EVP_PKEY *key, uint8_t method, const uint8_t *data,
		   size_t len, const uint8_t *octets, size_t octets_len,
		   char *scheme, size_t scheme_len)
{
	struct rd rd = rd_init(data, len);
	const uint8_t *algid = data, *sig = data;
	struct sig_alg a;
	enum sig_key t;
	uint8_t alen;
	char tmp[64];
	int bits;

	memset(&a, 0, sizeof(a));
	if (scheme && scheme_len)
		snprintf(scheme, scheme_len, "method %u", method);
	if (sig_key_info(key, &t, &bits) < 0)
		return -EBADMSG;
	a.key = t;
	switch (method) {
	case IKEV2_AUTH_RSA_SIG:
		a.fmt = SIG_FMT_PKCS1;
		a.hash = SIG_HASH_SHA1;
		break;
	case IKEV2_AUTH_ECDSA_256:
	case IKEV2_AUTH_ECDSA_384:
	case IKEV2_AUTH_ECDSA_521:
		/* RFC 4754 §3: the method names the curve. */
		if (t != SIG_KEY_EC || ecdsa_method(bits) != method)
			return -EBADMSG;
		a.fmt = SIG_FMT_ECDSA_RAW;
		a.hash = curve_hash(bits);
		break;
	case IKEV2_AUTH_DIGSIG:
		/* RFC 7427 §3: ASN.1 Length, AlgorithmIdentifier, then
		 * the signature. */
		if (rd_u8(&rd, &alen) < 0 || alen == 0 ||
		    rd_ptr(&rd, alen, &algid) < 0 || rd_empty(&rd) ||
		    sig_algid_decode(algid, alen, &a) < 0)
			return -EBADMSG;
		len = rd_left(&rd);
		(void)rd_ptr(&rd, len, &sig);
		/* SHA-1 is not good enough for new signatures (RFC 7427
		 * §4 lets us choose; RFC 8247 §3.2 says SHOULD NOT). */
		if (a.hash == SIG_HASH_SHA1 ||
		    (a.fmt == SIG_FMT_PSS && a.mgf_hash == SIG_HASH_SHA1)) {
			if (scheme && scheme_len)
				snprintf(scheme, scheme_len, "%s (refused)",
					 sig_alg_str(&a, tmp, sizeof(tmp)));
			return -EBADMSG;
		}
		break;
	default:
		return -EBADMSG;
	}
	if (scheme && scheme_len)
		snprintf(scheme, scheme_len, "%s",
			 sig_alg_str(&a, tmp, sizeof(tmp)));
	if (a.key != t)
		return -EBADMSG;
	return sig_verify(key, &a, octets, octets_len, sig, len) == 0
		   ? 0
		   : -EBADMSG;
}

/* ---- IKE_AUTH ---- */

int auth_signed_octets(const struct ike_sa *sa, bool initiator_side,
		       const uint8_t *idb, size_t idb_len, struct wr *o)
{
	const struct ike_sa_init *in = sa->init;
	int rc;

	/* RFC 7296 §2.15: the signer's IKE_SA_INIT message and the other
	 * side's nonce, kept until IKE_AUTH is done (ike_sa_init_free). */
	if (!in)
		return -EINVAL;
	rc = ikev2_signed_octets(
	    sa->algs.prf, initiator_side ? in->init_req : in->init_resp,
	    initiator_side ? in->init_req_len : in->init_resp_len,
	    initiator_side ? in->nr : in->ni,
	    initiator_side ? in->nr_len : in->ni_len,
	    initiator_side ? in->sk_pi : in->sk_pr, sa->keys.prf_len, idb,
	    idb_len, o);
	return rc ? rc : wr_error(o);
}

int auth_cert_sign(const struct ike_sa *sa, const struct ike_remote *r,
		   bool initiator_side, const uint8_t *idb, size_t idb_len,
		   struct auth_sig *out)
{
	struct wr o;
	uint8_t method;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!auth_cert_signs(r))
		return -ENOENT;
	method = r->cert->key
		     ? auth_sig_choose(r->cert->key, sa->peer_sig_hashes)
		     : 0;
	wr_init(&o, 0);
	rc = auth_signed_octets(sa, initiator_side, idb, idb_len, &o);
	if (rc == 0 && !r->cert->key) /* the parent holds the key */
		rc = priv_sign(r->name, sa->peer_sig_hashes, o.buf, o.len, out);
	else if (rc == 0)
		rc = auth_sig_make(r->cert->key, method, sa->peer_sig_hashes,
				   false, o.buf, o.len, out);
	wr_free(&o);
	if (rc < 0)
		log_warn(MOD, "IKE SA #%u: cannot sign AUTH (method %u): %s",
			 sa->id, method, strerror(-rc));
	return rc;
}

void auth_cert_get_view(const struct auth_cert_cfg *c, struct auth_cert_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!c)
		return;
	v->cert = c->send_cert ? c->cert : NULL;
	v->key = c->key;
	v->key_in_parent = c->key_in_parent;
	v->peer_certs = c->peer_certs;
	v->peer_key = c->peer_key;
	v->sign = c->sign;
	v->verify_id = c->verify_id;
	v->send_certreq = c->send_certreq;
}

EVP_PKEY *auth_cert_pubkey(const struct auth_cert_cfg *c)
{
	return c && c->cert ? X509_get0_pubkey(c->cert) : NULL;
}

/* RFC 2409 §5.1: SIG_I/SIG_R are signatures of HASH_I/HASH_R, outputs of
 * the negotiated prf (HMAC-MD5 16 ... HMAC-SHA2-512 64 octets). */
static int sign_ikev1(const struct ike_remote *r, const uint8_t *hash,
		      size_t len, struct auth_sig *out)
{
	const struct auth_cert_cfg *c = r && r->v1 ? r->v1->cert : NULL;
	uint8_t *sig = NULL;
	size_t n = 0;
	int rc;

	if (!c || !c->sign || !c->key)
		return -ENOENT;
	if (len != 16 && len != 20 && len != 32 && len != 48 && len != 64)
		return -EINVAL;
	rc = sig_sign_prehashed(c->key, hash, len, &sig, &n);
	if (rc < 0)
		return rc;
	out->data = sig;
	out->len = n;
	out->method = (uint8_t)r->v1->auth_method;
	return 0;
}

int auth_cert_sign_parent(const struct ike_remote *r, uint32_t hashes,
			  const uint8_t *octets, size_t len,
			  struct auth_sig *out)
{
	uint8_t method;

	memset(out, 0, sizeof(*out));
	if (hashes & AUTH_SIGN_IKEV1)
		return sign_ikev1(r, octets, len, out);
	if (!r || !r->cert || !r->cert->sign || !r->cert->key)
		return -ENOENT;
	method = auth_sig_choose(r->cert->key, hashes);
	return auth_sig_make(r->cert->key, method, hashes, false, octets, len,
			     out);
}

static void forget_key(struct auth_cert_cfg *c)
{
	if (!c || !c->key)
		return;
	EVP_PKEY_free(c->key); /* OpenSSL wipes the key material */
	c->key = NULL;
	c->key_in_parent = true;
}

void auth_cert_forget_keys(struct ike_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nremote; i++) {
		forget_key(cfg->remote[i].cert);
		if (cfg->remote[i].v1)
			forget_key(cfg->remote[i].v1->cert); /* IKEv1's */
	}
}

static void put_one_cert(struct ikev2_wr *b, X509 *x)
{
	struct ikev2_cert c;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return;
	c.encoding = IKEV2_CERT_X509_SIG;
	c.data = der;
	c.len = (size_t)n;
	ikev2_put_cert(b, IKEV2_PL_CERT, &c);
	OPENSSL_free(der);
}

void auth_cert_put_certs(struct ikev2_wr *b, const struct ike_remote *r,
			 bool certreq)
{
	const struct auth_cert_cfg *c = r ? r->cert : NULL;
	int i;

	if (!c)
		return;
	/* §3.6: our certificate first, then what helps the peer build
	 * the chain. */
	if (c->send_cert && c->sign && c->cert) {
		put_one_cert(b, c->cert);
		for (i = 0; i < sk_X509_num(c->chain); i++)
			put_one_cert(b, sk_X509_value(c->chain, i));
	}
	if (certreq && c->send_certreq && c->certreq_len) {
		struct ikev2_cert cr = {IKEV2_CERT_X509_SIG, c->certreq,
					c->certreq_len};
		ikev2_put_cert(b, IKEV2_PL_CERTREQ, &cr);
	}
}

bool auth_cert_id_match(X509 *cert, const struct ike_id *id)
{
	/* IKEv2 ID types have the numbers cert.h expects */
	return cert_id_match(cert, id->type, id->data, id->len);
}

/* CERT payloads of m: the first X.509 one is the end entity (§3.6),
 * the others help build the chain. */
static int read_certs(const struct ike_msg *m, X509 **ee,
		      STACK_OF(X509) * untrusted, char *why, size_t whylen)
{
	struct ikev2_cert c;
	int i = -1, n = 0;

	*ee = NULL;
	while ((i = ikev2_msg_next(m, IKEV2_PL_CERT, i)) >= 0) {
		const unsigned char *p;
		X509 *x;

		if (++n > PEER_CERTS_MAX)
			break;
		if (ikev2_get_cert(&m->pl[i], &c) != 0)
			continue;
		if (c.encoding != IKEV2_CERT_X509_SIG) {
			log_debug(MOD, "CERT encoding %u ignored", c.encoding);
			continue;
		}
		p = c.data;
		x = d2i_X509(NULL, &p, (long)c.len);
		if (!x || p != c.data + c.len) {
			X509_free(x);
			ERR_clear_error();
			snprintf(why, whylen,
				 "CERT payload is not a DER "
				 "X.509 certificate");
			return -1;
		}
		if (!*ee)
			*ee = x;
		else if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int auth_cert_verify(const struct ike_sa *sa, const struct ike_remote *r,
		     const struct ike_msg *m, const struct ikev2_auth *auth,
		     bool peer_initiator, const uint8_t *idb, size_t idb_len,
		     char *why, size_t whylen)
{
	const struct auth_cert_cfg *c = r ? r->cert : NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *ee = NULL, *used = NULL;
	EVP_PKEY *key = NULL;
	const char *how = "";
	char scheme[96], subj[256], tmp[160];
	struct wr o;
	int i, rc = IKEV2_N_AUTHENTICATION_FAILED;

	wr_init(&o, 0);
	if (!c || !c->accept) {
		snprintf(why, whylen,
			 "certificate authentication not "
			 "configured for remote %s",
			 r ? r->name : "?");
		goto out;
	}
	if (!c->peer_certs && !c->peer_key) {
		snprintf(why, whylen, "no peers_public_key to verify against");
		goto out;
	}
	if (auth_signed_octets(sa, peer_initiator, idb, idb_len, &o) != 0) {
		snprintf(why, whylen, "cannot compute signed octets");
		goto out;
	}
	untrusted = sk_X509_new_null();
	if (!untrusted) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (read_certs(m, &ee, untrusted, why, whylen) < 0)
		goto out;
	if (ee) {
		if (cert_check_trust(c->peer_key, c->peer_certs, ee, untrusted,
				     &how, tmp, sizeof(tmp)) < 0) {
			snprintf(why, whylen, "%s (subject %s)", tmp,
				 cert_name_str(X509_get_subject_name(ee), subj,
					       sizeof(subj)));
			goto out;
		}
		used = ee;
	} else if (c->peer_key) {
		/* No certificate, a bare key: nothing to match the ID
		 * against (peers_id does that). */
		key = c->peer_key;
		how = "pinned key";
	} else {
		/* racoon2: peers_public_key is the peer's certificate;
		 * use the one that names the peer. */
		snprintf(tmp, sizeof(tmp),
			 "no CERT payload and no "
			 "certificate in peers_public_key names the peer");
		for (i = 0; i < sk_X509_num(c->peer_certs); i++) {
			X509 *x = sk_X509_value(c->peer_certs, i);

			if (c->verify_id &&
			    !auth_cert_id_match(x, &sa->id_peer))
				continue;
			if (cert_check_dates(x, tmp, sizeof(tmp)) < 0)
				continue;
			used = x;
			how = "pinned certificate (not sent by the peer)";
			break;
		}
		if (!used) {
			snprintf(why, whylen, "%s", tmp);
			goto out;
		}
	}
	if (used) {
		key = X509_get0_pubkey(used);
		cert_name_str(X509_get_subject_name(used), subj, sizeof(subj));
		/* RFC 7296 §2.15 / RFC 4945 §3.1: the ID must be bound to
		 * the key by the certificate. */
		if (c->verify_id && !auth_cert_id_match(used, &sa->id_peer)) {
			snprintf(why, whylen,
				 "peer IKE ID %s does not match "
				 "certificate %s",
				 ike_id_str(&sa->id_peer, tmp, sizeof(tmp)),
				 subj);
			goto out;
		}
	} else {
		snprintf(subj, sizeof(subj), "(public key)");
	}
	if (auth->method == IKEV2_AUTH_DIGSIG) {
		/* Issue 9: method 14 names no key type; kmp_auth_method
		 * (rsasig, ecdsa256/384/521) still limits it unless
		 * digital_signature is listed. */
		enum sig_key kt = SIG_KEY_NONE;
		int bits = 0;

		if (sig_key_info(key, &kt, &bits) != 0 ||
		    !cfg_auth_allows_key(r, kt == SIG_KEY_RSA,
					 kt == SIG_KEY_EC ? bits : 0)) {
			snprintf(why, whylen,
				 "the key of %s is of a type "
				 "kmp_auth_method does not allow",
				 subj);
			goto out;
		}
	}
	if (auth_sig_check(key, auth->method, auth->data, auth->len, o.buf,
			   o.len, scheme, sizeof(scheme)) != 0) {
		snprintf(why, whylen,
			 "AUTH signature (%s) does not verify "
			 "with the key of %s",
			 scheme, subj);
		goto out;
	}
	log_info(MOD, "IKE SA #%u: peer authenticated by %s, %s, %s", sa->id,
		 scheme, subj, how);
	rc = 0;
out:
	X509_free(ee);
	certs_free(untrusted);
	wr_free(&o);
	ERR_clear_error();
	return rc;
}
