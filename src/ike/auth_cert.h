/*
 * auth_cert.h - IKEv2 certificate authentication (RFC 7296 §2.15, §3.6,
 * §3.7, §3.8; RFC 7427; RFC 4945 for ID/certificate matching).
 *
 * Configuration (racoon2.conf, per remote, ikev2 block):
 *   kmp_auth_method { rsasig; };           (or ecdsa256/384/521,
 *                                            digital_signature)
 *   my_public_key x509pem "CERT" "KEY";    our certificate (+ chain)
 *   peers_public_key x509pem "FILE" "";    the peer's certificate
 *       (pinned, racoon2's meaning), a public key, or CA
 *       certificate(s): the peer's certificate must then chain to one.
 *
 * What goes out: CERT (X.509 Certificate - Signature, encoding 4) with
 * our certificate and any further certificates of the my_public_key
 * file, CERTREQ with the SHA-1 hashes of the SubjectPublicKeyInfo of
 * the CAs in peers_public_key, and AUTH: method 14 (RFC 7427) when the
 * peer announced SIGNATURE_HASH_ALGORITHMS, else method 1 (RSA, SHA-1)
 * or 9/10/11 (ECDSA on P-256/384/521).
 *
 * Ownership: struct auth_cert_cfg (keys, certificates, trust list) is
 * owned by its struct ike_remote and freed by auth_cert_free() from
 * cfg_free().  Nothing here keeps pointers into packets.
 */
#ifndef IKED_AUTH_CERT_H
#define IKED_AUTH_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ike/cfg.h"
#include "ike/codec/ikev2.h"

struct ike_sa;
struct ike_msg;
struct conf_kmp_params;
struct wr;

/* What the configuration asks for (also filled by unit tests). */
struct auth_cert_params {
	const char *cert;  /* my_public_key certificate file (PEM) */
	const char *key;   /* its private key (PEM); NULL: in cert */
	const char *peer;  /* peers_public_key file, NULL = none */
	bool sign;	   /* we authenticate with a signature */
	bool accept;	   /* peer may authenticate with a signature */
	bool send_cert;	   /* [on] */
	bool send_certreq; /* [on] */
	bool verify_id;	   /* [on] IKE ID must match the certificate */
};

/* Load the files named in p into r->cert.  Returns 0 or a negative
 * errno with a message in err. */
int auth_cert_setup(struct ike_remote *r, const struct auth_cert_params *p,
		    char *err, size_t errlen);
/* The same into *out (NULL when nothing is configured is not special:
 * out is always a new struct); rname names the remote in messages.
 * IKEv1 (v1_conf.c) keeps its own in struct cfg_v1.cert. */
int auth_cert_load(const char *rname, const struct auth_cert_params *p,
		   struct auth_cert_cfg **out, char *err, size_t errlen);
/* What IKEv1's engine borrows (src/ikev1/ikev1.h struct ikev1_conf):
 * pointers into c, valid while c lives; key is NULL in the privilege-
 * separated engine (key_in_parent: sign through priv_sign with
 * AUTH_SIGN_IKEV1). */
struct auth_cert_view {
	X509 *cert; /* NULL unless send_cert */
	EVP_PKEY *key;
	bool key_in_parent;
	STACK_OF(X509) * peer_certs;
	EVP_PKEY *peer_key;
	bool sign, verify_id, send_certreq;
};
void auth_cert_get_view(const struct auth_cert_cfg *c,
			struct auth_cert_view *v);
/* The public key of our certificate (NULL without one). */
EVP_PKEY *auth_cert_pubkey(const struct auth_cert_cfg *c);
/* cfg_conf.c hook: the same from a remote's ikev2 block (no-op when
 * no signature method and no keys are configured). */
int auth_cert_conf(struct ike_remote *r, const struct conf_kmp_params *k,
		   char *err, size_t errlen);
void auth_cert_free(struct auth_cert_cfg *c);

/* ID_DER_ASN1_DN of the subject of the first certificate of a PEM
 * file (racoon2 `x509_subject FILE`). */
int auth_cert_subject_id(const char *path, struct ike_id *id);

/* ike_id_str() helper: an ID_DER_ASN1_DN as an RFC 4514 string;
 * false if id is not a well-formed DN. */
bool auth_cert_dn_str(const struct ike_id *id, char *buf, size_t len);

/* ike_id_eq() helper for two ID_DER_ASN1_DN: RFC 5280 §7.1 name
 * comparison (X509_NAME_cmp on the canonical encoding), so that a DN
 * encoded with PrintableString by one peer equals the UTF8String one of
 * a certificate.  Malformed DNs compare by their octets. */
bool auth_cert_dn_eq(const struct ike_id *a, const struct ike_id *b);

/* Is m an AUTH method handled here (1, 9, 10, 11, 14)? */
bool auth_cert_method(uint8_t m);
/* We sign (AUTH from our certificate's key) for this remote. */
bool auth_cert_signs(const struct ike_remote *r);
/* A peer AUTH with method m is checked by auth_cert_verify(). */
bool auth_cert_accepts(const struct ike_remote *r, uint8_t m);

/* IKE_SA_INIT (RFC 7427 §4): announce SIGNATURE_HASH_ALGORITHMS
 * (initiator: when r uses certificates; responder: when the peer
 * announced it) and record the peer's list.  The responder also puts
 * its CERTREQ here (RFC 7296 §1.2) when r trusts CAs. */
void auth_cert_init_put(struct ikev2_wr *b, struct ike_sa *sa,
			const struct ike_remote *r);
void auth_cert_init_read(struct ike_sa *sa, const struct ike_msg *m);

/* Our IKE ID when my_id is not set: the certificate's subject DN. */
void auth_cert_default_id(const struct ike_remote *r, struct ike_id *id);

/* An AUTH payload we send: method and data (malloc()ed, free with
 * auth_sig_clear). */
struct auth_sig {
	uint8_t method;
	uint8_t *data;
	size_t len;
};
void auth_sig_clear(struct auth_sig *s);
/*
 * Privilege separation (priv.h): the parent signs AUTH octets with the
 * remote's key (method chosen from the peer's hashes, RFC 7427 §4) for
 * the engine, which holds no private key: auth_cert_forget_keys() frees
 * the keys of a configuration inherited from the parent, and a
 * configuration loaded by replay never has them.
 */
/* In hashes: sign for the remote's IKEv1 (struct cfg_v1.cert) the
 * HASH_I/HASH_R of RFC 2409 §5.1 given as octets (a prf output, 16 to 64
 * octets: nothing else is accepted), prehashed as sig_sign_prehashed()
 * does; out->method is the Phase 1 method (RFC 2409 App. A, RFC 4754).
 * RFC 7427 hash bits never use it (bit 31 is SIGHASH_SEEN). */
#define AUTH_SIGN_IKEV1 (1u << 30)
int auth_cert_sign_parent(const struct ike_remote *r, uint32_t hashes,
			  const uint8_t *octets, size_t len,
			  struct auth_sig *out);
void auth_cert_forget_keys(struct ike_cfg *cfg);

/* The §2.15 signed octets of one side, appended to o: initiator_side
 * selects the IKE_SA_INIT request, Nr and SK_pi, otherwise the response,
 * Ni and SK_pr; idb is that side's RestOfIDPayload.  0 or negative
 * errno (o's sticky error included).  Shared by PSK and signatures. */
int auth_signed_octets(const struct ike_sa *sa, bool initiator_side,
		       const uint8_t *idb, size_t idb_len, struct wr *o);

/* Sign the §2.15 octets for our side (initiator_side: we are the
 * original initiator).  idb is our RestOfIDPayload. */
int auth_cert_sign(const struct ike_sa *sa, const struct ike_remote *r,
		   bool initiator_side, const uint8_t *idb, size_t idb_len,
		   struct auth_sig *out);
/* CERT payloads (send_cert) and, when certreq, CERTREQ (send_cert_req
 * and CAs configured). */
void auth_cert_put_certs(struct ikev2_wr *b, const struct ike_remote *r,
			 bool certreq);

/* Verify the peer: certificate (CERT payloads or pinned), trust,
 * validity, ID match, then the AUTH signature over the peer's §2.15
 * octets (peer_initiator: the peer is the original initiator).
 * Returns 0, or IKEV2_N_AUTHENTICATION_FAILED with a reason in why. */
int auth_cert_verify(const struct ike_sa *sa, const struct ike_remote *r,
		     const struct ike_msg *m, const struct ikev2_auth *auth,
		     bool peer_initiator, const uint8_t *idb, size_t idb_len,
		     char *why, size_t whylen);

/* ---- building blocks, exposed for the unit tests ---- */

/* RFC 4945 §3.1 / RFC 7296 §3.5: does IKE ID id name cert's holder?
 * DN: subject; FQDN/USER_FQDN/IPV4/IPV6: subjectAltName dNSName,
 * rfc822Name, iPAddress. */
bool auth_cert_id_match(X509 *cert, const struct ike_id *id);

/* AUTH data for method over octets with key (method 14 carries the
 * RFC 7427 AlgorithmIdentifier).  hashes: the peer's RFC 7427 hash
 * bitmask (bit n = hash id n) for method 14, pss: use RSA-PSS. */
int auth_sig_make(EVP_PKEY *key, uint8_t method, uint32_t hashes, bool pss,
		  const uint8_t *octets, size_t len, struct auth_sig *out);
/* Check AUTH data of method against key.  0 or -EBADMSG; a short
 * description of the scheme goes to scheme (may be NULL). */
int auth_sig_check(EVP_PKEY *key, uint8_t method, const uint8_t *data,
		   size_t len, const uint8_t *octets, size_t octets_len,
		   char *scheme, size_t scheme_len);
/* Choose the method to sign with, given our key and the peer's hash
 * bitmask (0 = no RFC 7427). */
uint8_t auth_sig_choose(EVP_PKEY *key, uint32_t hashes);

#endif
