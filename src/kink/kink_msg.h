/*
 * kink_msg.h - KINK message codec (RFC 4430 §5): the 16-octet header,
 * the payload table, padding, KINK_ENCRYPT and the Cksum.  No Kerberos
 * here: encryption and the checksum are callbacks, so that the codec is
 * testable with fixed vectors and fuzzable without a KDC.
 *
 * Parsing borrows the caller's buffer: struct kink_msg points into it
 * (and, after kink_msg_parse_inner(), into the decrypted plaintext).
 */
#ifndef RACOON_KINK_MSG_H
#define RACOON_KINK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wr.h"

#define KINK_PORT	 910
#define KINK_HDR_LEN	 16
#define KINK_VERSION	 0x10 /* major 1, minor 0 (§5.1) */
#define KINK_QM_VERSION	 0x10 /* KINK_ISAKMP QMVersion 1.0 (§5.2.6) */
#define KINK_DOI_IPSEC	 1
#define KINK_FLAG_ACKREQ 0x80
#define KINK_MSG_MAX	 65535

/* Message types (§5.1). */
enum kink_type {
	KINK_TYPE_RESERVED = 0,
	KINK_TYPE_CREATE = 1,
	KINK_TYPE_DELETE = 2,
	KINK_TYPE_REPLY = 3,
	KINK_TYPE_GETTGT = 4,
	KINK_TYPE_ACK = 5,
	KINK_TYPE_STATUS = 6,
};

/* Payload types (§5.2). */
enum kink_pl {
	KINK_PL_DONE = 0,
	KINK_PL_AP_REQ = 1,
	KINK_PL_AP_REP = 2,
	KINK_PL_KRB_ERROR = 3,
	KINK_PL_TGT_REQ = 4,
	KINK_PL_TGT_REP = 5,
	KINK_PL_ISAKMP = 6,
	KINK_PL_ENCRYPT = 7,
	KINK_PL_ERROR = 8,
	KINK_PL_MAX = 8,
};

/* KINK_ERROR codes (§5.2.9). */
enum kink_err {
	KINK_ERR_OK = 0,
	KINK_ERR_PROTOERR = 1,
	KINK_ERR_INVDOI = 2,
	KINK_ERR_INVMAJ = 3,
	KINK_ERR_INVMIN = 4,
	KINK_ERR_INTERR = 5,
	KINK_ERR_BADQMVERS = 6,
};

/* RFC 3961 key usages of KINK (§5.2.8, §5.1). */
#define KINK_KU_ENCRYPT 39
#define KINK_KU_CKSUM	40

struct kink_blob {
	const uint8_t *p;
	size_t len;
};

struct kink_msg {
	/* header */
	uint8_t type;
	uint8_t version;
	uint16_t length;
	uint32_t doi;
	uint32_t xid;
	uint8_t first;
	bool ackreq;
	uint16_t cksum_len;
	struct kink_blob cksum;
	size_t covered_len; /* octets before the Cksum */

	/* payloads: presence bit (1 << type), where (1 << type set if
	 * it came from inside KINK_ENCRYPT) */
	uint16_t present;
	uint16_t encrypted;
	uint32_t epoch;		 /* from AP_REQ or AP_REP */
	struct kink_blob ap_req; /* DER KRB_AP_REQ (after EPOCH) */
	struct kink_blob ap_rep; /* DER KRB_AP_REP (after EPOCH) */
	struct kink_blob krb_error;
	struct kink_blob tgt_req;
	struct kink_blob tgt_rep;
	uint8_t isakmp_first; /* InnerNextPload of KINK_ISAKMP */
	uint8_t qm_version;
	struct kink_blob isakmp;  /* the Quick Mode payload chain */
	struct kink_blob encrypt; /* ciphertext (InnerNextPload onward) */
	uint32_t error_code;	  /* KINK_ERROR */
};

static inline bool kink_has(const struct kink_msg *m, enum kink_pl t)
{
	return (m->present >> t) & 1;
}

/*
 * Parse a datagram.  Returns 0, or a KINK_ERR_* code (> 0) that the
 * responder may answer with KINK_ERROR (§5.1: INVMAJ, INVMIN, INVDOI,
 * PROTOERR, BADQMVERS).  m->xid and m->type are valid whenever at least
 * the header was readable (returns KINK_ERR_PROTOERR otherwise with
 * m->length == 0).
 */
int kink_msg_parse(const uint8_t *pkt, size_t len, struct kink_msg *m);

/* Parse the plaintext of KINK_ENCRYPT (InnerNextPload, RESERVED2, then
 * a padded payload chain) into m.  0 or a KINK_ERR_* code. */
int kink_msg_parse_inner(const uint8_t *plain, size_t len, struct kink_msg *m);

/*
 * The octets the Cksum covers (§5.1): the message up to the Cksum with
 * Length set to that length and CksumLen 0.  Copies into a malloc'ed
 * buffer *out (free it).  0 or -errno.
 */
int kink_msg_cksum_input(const uint8_t *pkt, const struct kink_msg *m,
			 uint8_t **out, size_t *out_len);

/* ---- builder ---- */

/* Crypto callbacks: produce a malloc'ed output.  0 or negative errno. */
typedef int (*kink_seal_fn)(void *ctx, const uint8_t *in, size_t in_len,
			    uint8_t **out, size_t *out_len);

struct kink_wr {
	struct wr w;
	size_t next_off; /* where the next payload type is patched */
	size_t enc_off;	 /* start of KINK_ENCRYPT's generic header */
	bool in_encrypt;
	bool closed; /* KINK_ENCRYPT written: nothing may follow */
};

void kink_wr_begin(struct kink_wr *k, enum kink_type type, uint32_t xid,
		   bool ackreq);
/* A payload whose body is pre || body (pre may be NULL). */
void kink_wr_payload(struct kink_wr *k, enum kink_pl type, const void *pre,
		     size_t pre_len, const void *body, size_t body_len);
void kink_wr_ap_req(struct kink_wr *k, uint32_t epoch, const void *der,
		    size_t len);
void kink_wr_ap_rep(struct kink_wr *k, uint32_t epoch, const void *der,
		    size_t len);
void kink_wr_isakmp(struct kink_wr *k, uint8_t first, const void *chain,
		    size_t len);
void kink_wr_error(struct kink_wr *k, uint32_t code);
/* Payloads written between these two go inside KINK_ENCRYPT. */
void kink_wr_encrypt_begin(struct kink_wr *k);
int kink_wr_encrypt_end(struct kink_wr *k, kink_seal_fn enc, void *ctx);
/* Close the message; with mic != NULL append the Cksum (§5.1).  On
 * success *out (malloc'ed) is the datagram.  0 or negative errno. */
int kink_wr_finish(struct kink_wr *k, kink_seal_fn mic, void *ctx,
		   uint8_t **out, size_t *out_len);
void kink_wr_abort(struct kink_wr *k);

const char *kink_type_name(uint8_t type);
const char *kink_pl_name(uint8_t type);
const char *kink_err_name(uint32_t code);

#endif
