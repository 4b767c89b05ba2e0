/*
 * ikev2_iana.h - the IANA IKEv2 registries racoon2 uses (RFC 7296 §3 and
 * the RFCs named at each entry; https://www.iana.org/assignments/ikev2-
 * parameters): exchange types, payload types, protocol IDs, transform
 * attributes, ID types, AUTH methods, certificate encodings, TS types,
 * configuration payload and attribute types, notify message types.  The
 * one definition of these numbers for the codec and the engine (and any
 * other user: include this header rather than repeat a number).
 * Constants only.
 */
#ifndef RACOON_IKEV2_IANA_H
#define RACOON_IKEV2_IANA_H

/* Exchange types (RFC 7296 §3.1). */
#define IKEV2_EXCH_IKE_SA_INIT	   34
#define IKEV2_EXCH_IKE_AUTH	   35
#define IKEV2_EXCH_CREATE_CHILD_SA 36
#define IKEV2_EXCH_INFORMATIONAL   37

/* Payload types (RFC 7296 §3.2, RFC 7383). */
#define IKEV2_PL_NONE	 0
#define IKEV2_PL_SA	 33
#define IKEV2_PL_KE	 34
#define IKEV2_PL_IDi	 35
#define IKEV2_PL_IDr	 36
#define IKEV2_PL_CERT	 37
#define IKEV2_PL_CERTREQ 38
#define IKEV2_PL_AUTH	 39
#define IKEV2_PL_NONCE	 40
#define IKEV2_PL_N	 41
#define IKEV2_PL_D	 42
#define IKEV2_PL_V	 43
#define IKEV2_PL_TSi	 44
#define IKEV2_PL_TSr	 45
#define IKEV2_PL_SK	 46
#define IKEV2_PL_CP	 47
#define IKEV2_PL_EAP	 48
#define IKEV2_PL_SKF	 53

/* Protocol IDs (RFC 7296 §3.3.1). */
#define IKEV2_PROTO_IKE 1
#define IKEV2_PROTO_AH	2
#define IKEV2_PROTO_ESP 3

/* Transform attribute types (RFC 7296 §3.3.5). */
#define IKEV2_ATTR_KEY_LENGTH 14
#define IKEV2_ATTR_TV	      0x8000

/* ID types (RFC 7296 §3.5). */
#define IKEV2_ID_IPV4_ADDR   1
#define IKEV2_ID_FQDN	     2
#define IKEV2_ID_RFC822_ADDR 3
#define IKEV2_ID_IPV6_ADDR   5
#define IKEV2_ID_DER_ASN1_DN 9
#define IKEV2_ID_DER_ASN1_GN 10
#define IKEV2_ID_KEY_ID	     11

/* AUTH methods (RFC 7296 §3.8). */
#define IKEV2_AUTH_RSA_SIG   1
#define IKEV2_AUTH_PSK	     2 /* Shared Key Message Integrity Code */
#define IKEV2_AUTH_DSS_SIG   3
#define IKEV2_AUTH_ECDSA_256 9	/* RFC 4754: SHA-256 on P-256 */
#define IKEV2_AUTH_ECDSA_384 10 /* SHA-384 on P-384 */
#define IKEV2_AUTH_ECDSA_521 11 /* SHA-512 on P-521 */
#define IKEV2_AUTH_DIGSIG    14 /* RFC 7427 Digital Signature */

/* Certificate encodings (RFC 7296 §3.6). */
#define IKEV2_CERT_X509_SIG 4 /* X.509 Certificate - Signature */

/* TS types (RFC 7296 §3.13.1). */
#define IKEV2_TS_IPV4_ADDR_RANGE 7
#define IKEV2_TS_IPV6_ADDR_RANGE 8

/* CP types (RFC 7296 §3.15). */
#define IKEV2_CFG_REQUEST 1
#define IKEV2_CFG_REPLY	  2
#define IKEV2_CFG_SET	  3
#define IKEV2_CFG_ACK	  4

/* Configuration attribute types (RFC 7296 §3.15.1). */
#define IKEV2_CFG_INTERNAL_IP4_ADDRESS 1
#define IKEV2_CFG_INTERNAL_IP4_NETMASK 2
#define IKEV2_CFG_INTERNAL_IP4_DNS     3
#define IKEV2_CFG_INTERNAL_IP6_ADDRESS 8
#define IKEV2_CFG_INTERNAL_IP6_DNS     10

/* Notify message types (RFC 7296 §3.10.1); errors < 16384. */
#define IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD  1
#define IKEV2_N_INVALID_IKE_SPI		      4
#define IKEV2_N_INVALID_MAJOR_VERSION	      5
#define IKEV2_N_INVALID_SYNTAX		      7
#define IKEV2_N_INVALID_MESSAGE_ID	      9
#define IKEV2_N_INVALID_SPI		      11
#define IKEV2_N_NO_PROPOSAL_CHOSEN	      14
#define IKEV2_N_INVALID_KE_PAYLOAD	      17
#define IKEV2_N_AUTHENTICATION_FAILED	      24
#define IKEV2_N_SINGLE_PAIR_REQUIRED	      34
#define IKEV2_N_NO_ADDITIONAL_SAS	      35
#define IKEV2_N_INTERNAL_ADDRESS_FAILURE      36
#define IKEV2_N_FAILED_CP_REQUIRED	      37
#define IKEV2_N_TS_UNACCEPTABLE		      38
#define IKEV2_N_INVALID_SELECTORS	      39
#define IKEV2_N_TEMPORARY_FAILURE	      43
#define IKEV2_N_CHILD_SA_NOT_FOUND	      44
#define IKEV2_N_INITIAL_CONTACT		      16384
#define IKEV2_N_SET_WINDOW_SIZE		      16385
#define IKEV2_N_ADDITIONAL_TS_POSSIBLE	      16386
#define IKEV2_N_IPCOMP_SUPPORTED	      16387
#define IKEV2_N_NAT_DETECTION_SOURCE_IP	      16388
#define IKEV2_N_NAT_DETECTION_DESTINATION_IP  16389
#define IKEV2_N_COOKIE			      16390
#define IKEV2_N_USE_TRANSPORT_MODE	      16391
#define IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED    16392
#define IKEV2_N_REKEY_SA		      16393
#define IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED 16394
#define IKEV2_N_NON_FIRST_FRAGMENTS_ALSO      16395
#define IKEV2_N_MOBIKE_SUPPORTED	      16396 /* RFC 4555 */
#define IKEV2_N_ADDITIONAL_IP4_ADDRESS	      16397 /* RFC 4555 */
#define IKEV2_N_ADDITIONAL_IP6_ADDRESS	      16398
#define IKEV2_N_NO_ADDITIONAL_ADDRESSES	      16399
#define IKEV2_N_UPDATE_SA_ADDRESSES	      16400
#define IKEV2_N_COOKIE2			      16401
#define IKEV2_N_NO_NATS_ALLOWED		      16402
#define IKEV2_N_REDIRECT_SUPPORTED	      16406 /* RFC 5685 */
#define IKEV2_N_REDIRECT		      16407
#define IKEV2_N_REDIRECTED_FROM		      16408
#define IKEV2_N_EAP_ONLY_AUTHENTICATION	      16417 /* RFC 5998 */
#define IKEV2_N_CHILDLESS_IKEV2_SUPPORTED     16418 /* RFC 6023 */
#define IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED 16430 /* RFC 7383 */
#define IKEV2_N_SIGNATURE_HASH_ALGORITHMS     16431 /* RFC 7427 */
#define IKEV2_N_ERROR_MAX		      16383

/* Transform types and IDs (RFC 7296 §3.3.2) are the crypto layer's one
 * registry (src/crypto), which names every algorithm by them for IKE,
 * the kernel backends and the configuration alike; ikev2.h includes it. */

#endif
