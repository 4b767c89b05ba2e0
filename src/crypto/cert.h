/*
 * cert.h - X.509 checks shared by IKEv2 (src/ike/auth_cert.c) and IKEv1
 * (src/ikev1) certificate authentication, over OpenSSL 3:
 *   - does an IKE/ISAKMP ID name a certificate's holder (RFC 4945 §3.1;
 *     the ID type numbers are the same in IKEv1 and IKEv2: 1 IPv4, 2
 *     FQDN, 3 USER_FQDN/RFC822, 5 IPv6, 9 DER_ASN1_DN, 11 KEY_ID);
 *   - validity dates (RFC 5280 §4.1.2.5);
 *   - trust in an end-entity certificate under racoon2's
 *     peers_public_key: its key pinned (a bare key or a certificate of
 *     the file), or a chain to a CA certificate of the file;
 *   - the subject as an RFC 4514 string for log lines.
 * Nothing here keeps a pointer to what it is given.
 */
#ifndef RACOON_CERT_H
#define RACOON_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERT_ID_IPV4_ADDR   1
#define CERT_ID_FQDN	    2
#define CERT_ID_RFC822_ADDR 3
#define CERT_ID_IPV6_ADDR   5
#define CERT_ID_DER_ASN1_DN 9

/* RFC 4945 §3.1: DN: the subject; FQDN / USER_FQDN / IPv4 / IPv6: a
 * subjectAltName dNSName / rfc822Name / iPAddress (names compared
 * without case); other types name no certificate field. */
bool cert_id_match(X509 *cert, uint8_t type, const uint8_t *data, size_t len);

/* 0 when now is within notBefore..notAfter; else -1 and why. */
int cert_check_dates(X509 *x, char *why, size_t whylen);

/* The peer's trust configuration (peers_public_key): peer_key a bare
 * public key, peer_certs pinned certificates and CA certificates.
 * 0 when ee is trusted (*how says why, for the log), else -1 and why.
 * untrusted: further certificates the peer sent (chain building). */
int cert_check_trust(EVP_PKEY *peer_key, STACK_OF(X509) * peer_certs, X509 *ee,
		     STACK_OF(X509) * untrusted, const char **how, char *why,
		     size_t whylen);

/* RFC 4514 string of a name (empty on failure); returns buf. */
const char *cert_name_str(const X509_NAME *n, char *buf, size_t len);

#endif
