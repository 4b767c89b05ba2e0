/*
 * isakmp.h - the ISAKMP codec (RFC 2408) with the IPsec DOI (RFC 2407),
 * shared by kinkd and iked's IKEv1 (RFC 2409).  Two layers:
 *
 *  - the Quick Mode payload chain without an ISAKMP header
 *    (isakmp_qm_parse/build, struct isakmp_qm): what KINK carries in
 *    KINK_ISAKMP (RFC 4430 §5.2.6);
 *  - whole ISAKMP messages (isakmp_msg_parse, struct isakmp_msg, the
 *    isakmp_wr builder): header, the payload table of RFC 2408 §3 and
 *    RFC 3947 (NAT-D, NAT-OA), Phase 1 SA attributes (RFC 2409 App. A),
 *    typed views of every payload body.  Used by src/ikev1.
 *
 * Parsing borrows the caller's buffer: pointers in the parsed views
 * point into it.  Only the IPsec DOI (1) is understood.
 */
#ifndef RACOON_ISAKMP_H
#define RACOON_ISAKMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rd.h"
#include "lib/wr.h"

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
	ISAKMP_NP_NATD = 20,  /* RFC 3947 §3.2 */
	ISAKMP_NP_NATOA = 21, /* RFC 3947 §5.2 */
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

/* IPsec AH transform IDs (RFC 2407 §4.4.3, RFC 4868 §2.4, IANA); each
 * names the integrity algorithm its AUTH_ALG attribute must repeat. */
enum {
	ISAKMP_AH_MD5 = 2,
	ISAKMP_AH_SHA = 3,
	ISAKMP_AH_SHA2_256 = 5,
	ISAKMP_AH_SHA2_384 = 6,
	ISAKMP_AH_SHA2_512 = 7
};

/* IPCOMP transform IDs (RFC 2407 §4.4.5); the proposal's SPI is the
 * 2-octet CPI (RFC 2407 §4.4.1, RFC 3173 §4.1). */
enum {
	ISAKMP_IPCOMP_OUI = 1,
	ISAKMP_IPCOMP_DEFLATE = 2,
	ISAKMP_IPCOMP_LZS = 3
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
#define ISAKMP_MAX_XFORMS 32 /* charon sends one per Phase 1 combination */
#define ISAKMP_MAX_NOTIFY 4
#define ISAKMP_MAX_DELETE 4
#define ISAKMP_MAX_SPI	  16 /* octets; IPsec SPIs are 4, ISAKMP 16 */
#define ISAKMP_NONCE_MIN  8  /* RFC 2409 §5: 8..256 */
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
	/* Phase 1 only (proposal protocol ISAKMP, transform KEY_IKE; RFC
	 * 2409 Appendix A); group, keylen and life_* are shared. */
	uint16_t encr;	      /* ISAKMP_P1_ENCR_* */
	uint16_t hash;	      /* ISAKMP_P1_HASH_* */
	uint16_t auth_method; /* ISAKMP_P1_AUTH_* */
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

/* ------------------------------------------------------------------ */
/* ISAKMP messages (IKEv1)                                             */
/* ------------------------------------------------------------------ */

#define ISAKMP_HDR_LEN	    28	 /* RFC 2408 §3.1 */
#define ISAKMP_GENHDR_LEN   4	 /* RFC 2408 §3.2 */
#define ISAKMP_VERSION	    0x10 /* major 1, minor 0 */
#define ISAKMP_MAX_MSG	    65535
#define ISAKMP_MAX_PAYLOADS 32
#define ISAKMP_MAX_PAD	    255 /* trailing octets after a decrypted chain */

/* Exchange types (RFC 2408 §3.1, RFC 2409 §5, §5.5, §5.6). */
enum {
	ISAKMP_EXCH_BASE = 1,
	ISAKMP_EXCH_IDPROT = 2, /* Main Mode */
	ISAKMP_EXCH_AUTH_ONLY = 3,
	ISAKMP_EXCH_AGGRESSIVE = 4,
	ISAKMP_EXCH_INFO = 5,
	ISAKMP_EXCH_QUICK = 32,
	ISAKMP_EXCH_NEW_GROUP = 33,
};

/* Header flags (RFC 2408 §3.1). */
#define ISAKMP_FLAG_E 0x01 /* encryption */
#define ISAKMP_FLAG_C 0x02 /* commit */
#define ISAKMP_FLAG_A 0x04 /* authentication only */

/* Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3, RFC 3706). */
enum {
	ISAKMP_N_INVALID_PAYLOAD_TYPE = 1,
	ISAKMP_N_DOI_NOT_SUPPORTED = 2,
	ISAKMP_N_SITUATION_NOT_SUPPORTED = 3,
	ISAKMP_N_INVALID_COOKIE = 4,
	ISAKMP_N_INVALID_MAJOR_VERSION = 5,
	ISAKMP_N_INVALID_MINOR_VERSION = 6,
	ISAKMP_N_INVALID_EXCHANGE_TYPE = 7,
	ISAKMP_N_INVALID_FLAGS = 8,
	ISAKMP_N_INVALID_MESSAGE_ID = 9,
	ISAKMP_N_INVALID_PROTOCOL_ID = 10,
	ISAKMP_N_INVALID_SPI = 11,
	ISAKMP_N_INVALID_TRANSFORM_ID = 12,
	ISAKMP_N_ATTRIBUTES_NOT_SUPPORTED = 13,
	ISAKMP_N_NO_PROPOSAL_CHOSEN = 14,
	ISAKMP_N_BAD_PROPOSAL_SYNTAX = 15,
	ISAKMP_N_PAYLOAD_MALFORMED = 16,
	ISAKMP_N_INVALID_KEY_INFORMATION = 17,
	ISAKMP_N_INVALID_ID_INFORMATION = 18,
	ISAKMP_N_INVALID_CERT_ENCODING = 19,
	ISAKMP_N_INVALID_CERTIFICATE = 20,
	ISAKMP_N_CERT_TYPE_UNSUPPORTED = 21,
	ISAKMP_N_INVALID_CERT_AUTHORITY = 22,
	ISAKMP_N_INVALID_HASH_INFORMATION = 23,
	ISAKMP_N_AUTHENTICATION_FAILED = 24,
	ISAKMP_N_INVALID_SIGNATURE = 25,
	ISAKMP_N_ADDRESS_NOTIFICATION = 26,
	ISAKMP_N_NOTIFY_SA_LIFETIME = 27,
	ISAKMP_N_CERTIFICATE_UNAVAILABLE = 28,
	ISAKMP_N_UNSUPPORTED_EXCHANGE_TYPE = 29,
	ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS = 30,
	ISAKMP_N_CONNECTED = 16384,
	ISAKMP_N_RESPONDER_LIFETIME = 24576,
	ISAKMP_N_REPLAY_STATUS = 24577,
	ISAKMP_N_INITIAL_CONTACT = 24578,
	ISAKMP_N_DPD_R_U_THERE = 36136, /* RFC 3706 §5 */
	ISAKMP_N_DPD_R_U_THERE_ACK = 36137,
};

/* Phase 1 transform ID (RFC 2407 §4.4.2). */
#define ISAKMP_KEY_IKE 1

/* Phase 1 SA attributes (RFC 2409 Appendix A). */
enum {
	ISAKMP_P1_ATTR_ENCR = 1,
	ISAKMP_P1_ATTR_HASH = 2,
	ISAKMP_P1_ATTR_AUTH = 3,
	ISAKMP_P1_ATTR_GROUP_DESC = 4,
	ISAKMP_P1_ATTR_GROUP_TYPE = 5,
	ISAKMP_P1_ATTR_LIFE_TYPE = 11,
	ISAKMP_P1_ATTR_LIFE_DURATION = 12,
	ISAKMP_P1_ATTR_PRF = 13,
	ISAKMP_P1_ATTR_KEY_LENGTH = 14,
};
/* Values (RFC 2409 Appendix A, RFC 3602 §5 (AES), RFC 4868 §2.4). */
enum {
	ISAKMP_P1_ENCR_DES = 1,
	ISAKMP_P1_ENCR_3DES = 5,
	ISAKMP_P1_ENCR_AES_CBC = 7,
};
enum {
	ISAKMP_P1_HASH_MD5 = 1,
	ISAKMP_P1_HASH_SHA1 = 2,
	ISAKMP_P1_HASH_SHA2_256 = 4,
	ISAKMP_P1_HASH_SHA2_384 = 5,
	ISAKMP_P1_HASH_SHA2_512 = 6,
};
enum {
	ISAKMP_P1_AUTH_PSK = 1,
	ISAKMP_P1_AUTH_DSS = 2,
	ISAKMP_P1_AUTH_RSA_SIG = 3,
	ISAKMP_P1_AUTH_ECDSA_256 = 9, /* RFC 4754 §3 */
	ISAKMP_P1_AUTH_ECDSA_384 = 10,
	ISAKMP_P1_AUTH_ECDSA_521 = 11,
};

/* More ID types (RFC 2407 §4.6.2.1) for Phase 1 identities. */
enum {
	ISAKMP_ID_IPV4_ADDR_RANGE = 7,
	ISAKMP_ID_IPV6_ADDR_RANGE = 8,
	ISAKMP_ID_DER_ASN1_DN = 9,
	ISAKMP_ID_DER_ASN1_GN = 10,
	ISAKMP_ID_KEY_ID = 11,
};

/* Certificate encodings (RFC 2408 §3.9). */
#define ISAKMP_CERT_X509_SIG 4

/* ISAKMP header (RFC 2408 §3.1); cookies as 64-bit big-endian values. */
struct isakmp_hdr {
	uint64_t icookie, rcookie;
	uint8_t np;
	uint8_t version; /* major << 4 | minor */
	uint8_t exch;
	uint8_t flags;
	uint32_t msgid;
	uint32_t length;
};

/* One payload of a parsed chain: its type and body (after the generic
 * header); body borrows the message or the caller's plaintext. */
struct isakmp_pl {
	uint8_t type;
	const uint8_t *body;
	size_t len;
};

/*
 * A parsed message.  With the E flag clear, pl[] holds the whole chain.
 * With E set, only the header is parsed: enc/enc_len is the ciphertext
 * (everything after the header) and the caller parses the plaintext
 * with isakmp_msg_parse_chain() once it has decrypted it.
 */
struct isakmp_msg {
	struct isakmp_hdr hdr;
	const uint8_t *raw; /* the whole message (borrowed) */
	size_t raw_len;
	const uint8_t *enc; /* E flag: ciphertext after the header */
	size_t enc_len;
	size_t pad_len; /* trailing octets after the decrypted chain */
	unsigned npl;
	struct isakmp_pl pl[ISAKMP_MAX_PAYLOADS];
};

/*
 * Header only (28 octets), no checks but length; to route a message.
 * Returns 0 or -EBADMSG.
 */
int isakmp_hdr_parse(struct rd *r, struct isakmp_hdr *h);

/*
 * Parse a received datagram (without a NAT-T non-ESP marker).  Header
 * checks (RFC 2408 §5.1, §3.1): Length equals the datagram length, major
 * version 1 (higher: ISAKMP_N_INVALID_MAJOR_VERSION; lower: -EBADMSG),
 * minor 0, known exchange type, no unknown flag, nonzero initiator
 * cookie; then, unless encrypted, the payload chain with the table rules
 * of isakmp_msg_parse_chain().  Returns 0, -EBADMSG (not ISAKMP: drop
 * without a word), or a positive ISAKMP_N_* to report (RFC 2408 §5).
 */
int isakmp_msg_parse(const uint8_t *buf, size_t len, struct isakmp_msg *m);

/*
 * Parse the chain starting with m->hdr.np over p/len (the decrypted
 * body of an encrypted message, or the clear body).  For every payload
 * (RFC 2408 §3.2, §5.1): a whole generic header with RESERVED zero,
 * 4 <= Payload Length <= what is left, the table's minimum body length,
 * a type the exchange may carry (else ISAKMP_N_INVALID_PAYLOAD_TYPE),
 * non-repeatable types at most once, body syntax (typed decoders below).
 * padded: up to ISAKMP_MAX_PAD octets may follow the chain (RFC 2409
 * §5.3 padding of the encrypted body); otherwise it must end exactly.
 */
int isakmp_msg_parse_chain(struct isakmp_msg *m, const uint8_t *p, size_t len,
			   bool padded);

/* Payload lookup: index of the next payload of type after from (-1 to
 * start), or -1; first payload of type or NULL. */
int isakmp_msg_next(const struct isakmp_msg *m, uint8_t type, int from);
const struct isakmp_pl *isakmp_msg_find(const struct isakmp_msg *m,
					uint8_t type);

/* ---- typed views of payload bodies (borrowing) ---- */

/* Phase 1 ID payload (RFC 2407 §4.6.2); body/body_len is what the
 * hashes cover (IDii_b/IDir_b, RFC 2409 §5). */
struct isakmp_id1 {
	uint8_t type;
	uint8_t proto;
	uint16_t port;
	const uint8_t *data;
	size_t len;
	const uint8_t *body;
	size_t body_len;
};

/* CERT (RFC 2408 §3.9) and CR (§3.10): encoding/type and data (CR data
 * may be empty: any CA). */
struct isakmp_cert {
	uint8_t encoding;
	const uint8_t *data;
	size_t len;
};

/* NAT-OA (RFC 3947 §5.2): an IPv4 or IPv6 address. */
struct isakmp_natoa {
	uint8_t id_type; /* ISAKMP_ID_IPV4_ADDR or ISAKMP_ID_IPV6_ADDR */
	uint8_t addr[16];
	uint8_t len;
};

/* Decoders: 0 or a positive ISAKMP_N_* (the payload is malformed). */
int isakmp_get_sa(const struct isakmp_pl *pl, struct isakmp_sa *sa);
/* RESPONDER-LIFETIME data (RFC 2407 §4.6.3.1): Life Type / Duration
 * attribute pairs; encode gives a malloc()ed buffer, decode accepts
 * nothing else (0 = that life type absent). */
int isakmp_lifetime_encode(uint32_t life_sec, uint32_t life_kb, uint8_t **out,
			   size_t *len);
int isakmp_lifetime_decode(const uint8_t *p, size_t len, uint32_t *life_sec,
			   uint32_t *life_kb);
int isakmp_get_id1(const struct isakmp_pl *pl, struct isakmp_id1 *id);
int isakmp_get_id(const struct isakmp_pl *pl, struct isakmp_id *id);
int isakmp_get_cert(const struct isakmp_pl *pl, struct isakmp_cert *c);
int isakmp_get_notify(const struct isakmp_pl *pl, struct isakmp_notify *n);
int isakmp_get_delete(const struct isakmp_pl *pl, struct isakmp_delete *d);
int isakmp_get_natoa(const struct isakmp_pl *pl, struct isakmp_natoa *oa);

/* Vendor IDs we recognise (RFC 3947 §3.1, RFC 3706 §5). */
enum isakmp_vid {
	ISAKMP_VID_UNKNOWN = 0,
	ISAKMP_VID_RFC3947,
	ISAKMP_VID_DPD,
};
enum isakmp_vid isakmp_vid_lookup(const uint8_t *p, size_t len);
/* The bytes of a known VID (16 octets) or NULL. */
const uint8_t *isakmp_vid_bytes(enum isakmp_vid v, size_t *len);

/* ---- message builder ---- */

/*
 * Usage:
 *   struct isakmp_wr b;
 *   isakmp_wr_begin(&b, &hdr);           header (np and length patched)
 *   isakmp_put_sa(&b, &sa); isakmp_put_raw(&b, ISAKMP_NP_NONCE, n, nl);
 *   isakmp_wr_finish(&b, &pkt, &len);    caller owns pkt (free())
 * Errors are sticky; finish reports the first one and frees the buffer.
 * isakmp_put_reserve() leaves a zeroed body to patch later (HASH(1) of
 * Quick Mode covers the payloads after it, RFC 2409 §5.5): *off is the
 * body's offset in b.w.buf.
 */
struct isakmp_wr {
	struct wr w;
	size_t np_off; /* offset of the Next Payload octet to patch */
	int err;
};

int isakmp_wr_begin(struct isakmp_wr *b, const struct isakmp_hdr *h);
int isakmp_wr_finish(struct isakmp_wr *b, uint8_t **pkt, size_t *len);
void isakmp_wr_abort(struct isakmp_wr *b);
int isakmp_put_raw(struct isakmp_wr *b, uint8_t type, const void *body,
		   size_t len);
int isakmp_put_reserve(struct isakmp_wr *b, uint8_t type, size_t len,
		       size_t *off);
int isakmp_put_sa(struct isakmp_wr *b, const struct isakmp_sa *sa);
int isakmp_put_id1(struct isakmp_wr *b, const struct isakmp_id1 *id);
int isakmp_put_id(struct isakmp_wr *b, const struct isakmp_id *id);
int isakmp_put_cert(struct isakmp_wr *b, uint8_t type,
		    const struct isakmp_cert *c);
int isakmp_put_notify(struct isakmp_wr *b, const struct isakmp_notify *n);
int isakmp_put_delete(struct isakmp_wr *b, const struct isakmp_delete *d);
int isakmp_put_natoa(struct isakmp_wr *b, const struct isakmp_natoa *oa);

const char *isakmp_exch_name(uint8_t exch);
const char *isakmp_notify_name(uint16_t type);

#endif
