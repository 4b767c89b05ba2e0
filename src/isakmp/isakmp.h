/*
 * isakmp.h - IKEv1 Quick Mode payloads (RFC 2408 §3, RFC 2407 §4.6,
 * RFC 2409 §5.5) as a chain of ISAKMP payloads without the ISAKMP
 * header.  KINK carries such a chain in KINK_ISAKMP (RFC 4430 §5.2.6);
 * an IKEv1 daemon will carry the same chain after its ISAKMP header.
 * This header does not depend on KINK.
 *
 * Parsing borrows the caller's buffer: pointers in struct isakmp_qm
 * point into it.  Only the IPsec DOI (1) is understood.
 */
#ifndef RACOON_ISAKMP_H
#define RACOON_ISAKMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wr;

/* Payload types (RFC 2408 §3.1). */
enum {
	ISAKMP_NP_NONE = 0,
	ISAKMP_NP_SA = 1,
	ISAKMP_NP_P = 2,
	ISAKMP_NP_T = 3,
	ISAKMP_NP_KE = 4,
	ISAKMP_NP_ID = 5,
	ISAKMP_NP_CERT = 6,
	ISAKMP_NP_CR = 7,
	ISAKMP_NP_HASH = 8,
	ISAKMP_NP_SIG = 9,
	ISAKMP_NP_NONCE = 10,
	ISAKMP_NP_N = 11,
	ISAKMP_NP_D = 12,
	ISAKMP_NP_VID = 13,
};

#define ISAKMP_DOI_IPSEC	 1
#define ISAKMP_SIT_IDENTITY_ONLY 1

/* Protocol IDs (RFC 2407 §4.4.1). */
enum {
	ISAKMP_PROTO_ISAKMP = 1,
	ISAKMP_PROTO_AH = 2,
	ISAKMP_PROTO_ESP = 3,
	ISAKMP_PROTO_IPCOMP = 4
};

/* IPsec ESP transform IDs (RFC 2407 §4.4.4, IANA). */
enum {
	ISAKMP_ESP_3DES = 3,
	ISAKMP_ESP_NULL = 11,
	ISAKMP_ESP_AES_CBC = 12,
	ISAKMP_ESP_AES_CTR = 13,
	ISAKMP_ESP_AES_GCM_16 = 20
};

/* IPsec SA attributes (RFC 2407 §4.5). */
enum {
	ISAKMP_ATTR_LIFE_TYPE = 1,
	ISAKMP_ATTR_LIFE_DURATION = 2,
	ISAKMP_ATTR_GROUP_DESC = 3,
	ISAKMP_ATTR_ENCAP_MODE = 4,
	ISAKMP_ATTR_AUTH_ALG = 5,
	ISAKMP_ATTR_KEY_LENGTH = 6,
	ISAKMP_ATTR_KEY_ROUNDS = 7,
};
enum { ISAKMP_LIFE_SECONDS = 1, ISAKMP_LIFE_KILOBYTES = 2 };
enum { ISAKMP_ENCAP_TUNNEL = 1, ISAKMP_ENCAP_TRANSPORT = 2 };
/* Authentication algorithms (RFC 2407 §4.5, RFC 4868 §2.4). */
enum {
	ISAKMP_AUTH_HMAC_MD5 = 1,
	ISAKMP_AUTH_HMAC_SHA1 = 2,
	ISAKMP_AUTH_HMAC_SHA2_256 = 5,
	ISAKMP_AUTH_HMAC_SHA2_384 = 6,
	ISAKMP_AUTH_HMAC_SHA2_512 = 7
};

/* Notify message types used in Quick Mode (RFC 2408 §3.14.1). */
enum {
	ISAKMP_N_NO_PROPOSAL_CHOSEN = 14,
	ISAKMP_N_BAD_PROPOSAL_SYNTAX = 16,
	ISAKMP_N_INVALID_KEY_INFORMATION = 17,
	ISAKMP_N_INVALID_ID_INFORMATION = 18,
};

/* ID types (RFC 2407 §4.6.2.1). */
enum {
	ISAKMP_ID_IPV4_ADDR = 1,
	ISAKMP_ID_FQDN = 2,
	ISAKMP_ID_USER_FQDN = 3,
	ISAKMP_ID_IPV4_ADDR_SUBNET = 4,
	ISAKMP_ID_IPV6_ADDR = 5,
	ISAKMP_ID_IPV6_ADDR_SUBNET = 6
};

#define ISAKMP_MAX_PROPS  8
#define ISAKMP_MAX_XFORMS 8
#define ISAKMP_MAX_NOTIFY 4
#define ISAKMP_MAX_DELETE 4
#define ISAKMP_MAX_SPI	  8 /* octets; IPsec SPIs are 4 */
#define ISAKMP_NONCE_MIN  8 /* RFC 2409 §5: 8..256 */
#define ISAKMP_NONCE_MAX  256

/* One IPsec transform; has_* say which attributes were present. */
struct isakmp_xform {
	uint8_t num;
	uint8_t id;
	uint16_t encap;	   /* ISAKMP_ENCAP_* or 0 */
	uint16_t auth;	   /* ISAKMP_AUTH_* or 0 */
	uint16_t keylen;   /* bits, 0 = absent */
	uint16_t group;	   /* 0 = no PFS group */
	uint32_t life_sec; /* 0 = absent */
	uint32_t life_kb;  /* 0 = absent */
	bool unknown_attr; /* carried an attribute we do not know: the
			      transform must not be chosen (RFC 2407 §4.5) */
};

struct isakmp_prop {
	uint8_t num;
	uint8_t proto;
	uint8_t spi_size;
	uint8_t n_xforms;
	uint8_t spi[ISAKMP_MAX_SPI];
	struct isakmp_xform x[ISAKMP_MAX_XFORMS];
};

struct isakmp_sa {
	uint32_t doi;
	uint32_t sit;
	uint8_t n_props;
	struct isakmp_prop p[ISAKMP_MAX_PROPS];
};

struct isakmp_id {
	uint8_t type;
	uint8_t proto;
	uint16_t port;
	uint8_t len;
	uint8_t data[32]; /* address or address+mask/range */
};

struct isakmp_notify {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	uint8_t spi[ISAKMP_MAX_SPI];
	const uint8_t *data; /* borrowed (parse) */
	size_t data_len;
};

struct isakmp_delete {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t n_spi;
	const uint8_t *spis; /* n_spi * spi_size octets, borrowed (parse) */
};

/* The payloads of one Quick Mode message body. */
struct isakmp_qm {
	bool has_sa;
	struct isakmp_sa sa;
	const uint8_t *nonce;
	size_t nonce_len;
	const uint8_t *ke;
	size_t ke_len;
	uint8_t n_id; /* 0 or 2: IDci then IDcr (RFC 2409 §5.5) */
	struct isakmp_id id[2];
	uint8_t n_notify;
	struct isakmp_notify notify[ISAKMP_MAX_NOTIFY];
	uint8_t n_delete;
	struct isakmp_delete del[ISAKMP_MAX_DELETE];
};

/*
 * Parse a chain whose first payload type is `first`.  Returns 0 or
 * -EBADMSG (malformed), -ENOTSUP (unknown DOI / payload that Quick Mode
 * does not carry), -E2BIG (more proposals/transforms/notifies than the
 * limits above).  *out is zeroed first.
 */
int isakmp_qm_parse(uint8_t first, const uint8_t *p, size_t len,
		    struct isakmp_qm *out);

/* Append the chain for qm to w (order: SA, Nonce, KE, IDci, IDcr,
 * Notify..., Delete...); *first receives the first payload type.
 * Returns 0 or a negative errno (also sticky in w). */
int isakmp_qm_build(struct wr *w, const struct isakmp_qm *qm, uint8_t *first);

/* Fill an ID payload from an address prefix (family AF_INET/AF_INET6);
 * a full-length prefix gives ADDR, otherwise ADDR_SUBNET. */
int isakmp_id_from_prefix(struct isakmp_id *id, int family, const void *addr,
			  unsigned plen, uint8_t proto, uint16_t port);

const char *isakmp_np_name(uint8_t np);

#endif
