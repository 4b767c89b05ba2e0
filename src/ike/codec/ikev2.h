/*
 * ikev2.h - IKEv2 wire format (RFC 7296): message header, payload chain
 * parsing and generation, the Encrypted (SK) payload, key derivation,
 * PSK authentication, NAT-D hashes, proposal selection and traffic
 * selector narrowing.  The iked engine (state machine, sockets) is built
 * on top of this; nothing here keeps state between calls.
 *
 * Memory: parsed structures (struct ike_msg and the ikev2_* views) BORROW
 * pointers into the buffers they were parsed from (the received packet,
 * or the caller's plaintext buffer for SK contents); they stay valid only
 * as long as those buffers.  Nothing is allocated by the parsers.
 * Builders write into a struct ikev2_wr which owns its buffer until
 * ikev2_wr_finish() hands it over (caller frees; it may hold nothing
 * secret after encryption, but wr_free() wipes anyway).
 * Key structures (struct ikev2_sa_keys) are owned by the caller and must
 * be wiped with ikev2_sa_keys_wipe().
 *
 * Return conventions: 0 on success; a negative errno means "drop the
 * message silently" (or a local failure); a POSITIVE value is an IKEv2
 * error Notify Message Type (IKEV2_N_*) that the caller should send back
 * when the message was a request (RFC 7296 §2.21).
 */
#ifndef RACOON_IKEV2_H
#define RACOON_IKEV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/crypto.h"
#include "ike/codec/ikev2_iana.h"
#include "lib/rd.h"
#include "lib/wr.h"

/* ------------------------------------------------------------------ */
/* Constants                                                           */
/* ------------------------------------------------------------------ */

#define IKEV2_HDR_LEN	 28   /* RFC 7296 §3.1 */
#define IKEV2_GENHDR_LEN 4    /* RFC 7296 §3.2 */
#define IKEV2_VERSION	 0x20 /* major 2, minor 0 */
#define IKEV2_MAX_MSG	 65535

/* The IANA registries (exchange, payload, notify, ID, transform ...
 * numbers): ikev2_iana.h, the one definition. */

/* Header flags (RFC 7296 §3.1). */
#define IKEV2_FLAG_INITIATOR 0x08
#define IKEV2_FLAG_VERSION   0x10
#define IKEV2_FLAG_RESPONSE  0x20

#define IKEV2_CRITICAL 0x80 /* generic header flag (RFC 7296 §3.2) */

/* Limits of the parsed views (larger inputs: see each parser). */
#define IKEV2_MAX_PAYLOADS  64 /* per message, outer + inner */
#define IKEV2_MAX_PROPOSALS 16
#define IKEV2_MAX_XFORMS    64 /* per proposal */
#define IKEV2_MAX_TS	    16
#define IKEV2_MAX_CP_ATTRS  32
#define IKEV2_NONCE_MIN	    16 /* RFC 7296 §3.9 */
#define IKEV2_NONCE_MAX	    256

/* ------------------------------------------------------------------ */
/* Header and payload chain                                            */
/* ------------------------------------------------------------------ */

/* IKE header (RFC 7296 §3.1); SPIs as 64-bit big-endian values. */
struct ikev2_hdr {
	uint64_t spi_i, spi_r;
	uint8_t next_payload;
	uint8_t version; /* major << 4 | minor */
	uint8_t exch;
	uint8_t flags;
	uint32_t msgid;
	uint32_t length;
};

/* One payload of the chain: its type, critical bit and body (the octets
 * after the 4-octet generic header).  body borrows the message. */
struct ikev2_pl {
	uint8_t type;
	bool critical;
	bool inner; /* came from inside SK */
	struct rd body;
};

/*
 * A parsed message.  After ikev2_msg_parse() pl[] holds the outer chain
 * (for IKE_SA_INIT: everything; otherwise normally just SK).  After
 * ikev2_sk_open() the inner payloads are appended (inner = true) and the
 * SK entry remains.  Unknown non-critical payloads are skipped and not
 * listed (RFC 7296 §2.5).
 */
/*
 * Why the codec refused a message (struct ike_msg.reject), so that the
 * caller can log the reason (ikev2_reject_str()) rather than
 * "malformed".  reject_pl names the payload type concerned.
 */
enum ikev2_reject {
	IKEV2_REJ_NONE = 0,
	IKEV2_REJ_SHORT,       /* shorter than the IKE header (§3.1) */
	IKEV2_REJ_LENGTH,      /* Length field != datagram length (§3.1) */
	IKEV2_REJ_VERSION,     /* major version not 2 (§2.5) */
	IKEV2_REJ_SPI_I,       /* initiator's SPI zero (§3.1) */
	IKEV2_REJ_GENHDR,      /* generic header cut or bad length (§3.2) */
	IKEV2_REJ_CRITICAL,    /* unknown payload with critical bit (§2.5) */
	IKEV2_REJ_BODY_SHORT,  /* shorter than the type's fixed part */
	IKEV2_REJ_BODY,	       /* body syntax (§3.3-§3.16) */
	IKEV2_REJ_NOT_ALLOWED, /* not in this exchange/direction/chain */
	IKEV2_REJ_TOO_MANY,    /* more than the exchange's maximum */
	IKEV2_REJ_MISSING,     /* fewer than the exchange's minimum */
	IKEV2_REJ_INCOMPLETE,  /* part of a must-come-together group */
	IKEV2_REJ_SK_NOT_LAST, /* SK/SKF followed by more (§3.14) */
	IKEV2_REJ_NESTED,      /* SK inside SK */
	IKEV2_REJ_TOO_LONG,    /* more than IKEV2_MAX_PAYLOADS */
	IKEV2_REJ_TRAILING,    /* octets after the last payload (§3.2) */
	IKEV2_REJ_SK_SHORT,    /* SK body too short / not whole blocks */
	IKEV2_REJ_ICV,	       /* integrity check failed (§2.21.2) */
	IKEV2_REJ_PADDING,     /* Pad Length beyond the plaintext */
	IKEV2_REJ_CHILDLESS,   /* IKE_AUTH without a CHILD SA, RFC 6023
				* support not announced by both */
};

struct ike_msg {
	struct ikev2_hdr hdr;
	const uint8_t *raw; /* the whole message (borrowed) */
	size_t raw_len;
	unsigned npl;
	struct ikev2_pl pl[IKEV2_MAX_PAYLOADS];
	int sk_index;	  /* index of SK in pl[], -1 if none */
	uint8_t sk_first; /* SK's Next Payload = first inner type */
	bool sk_opened;
	bool skf; /* an SKF fragment (RFC 7383): not reassembled */
	uint16_t skf_num, skf_total;
	uint8_t bad_critical; /* type for UNSUPPORTED_CRITICAL_PAYLOAD data */
	enum ikev2_reject reject; /* why the last parse/open failed */
	uint8_t reject_pl;	  /* the payload type concerned, or 0 */
	bool reject_inner;	  /* ... in the SK plaintext */
	/* Set by the caller before ikev2_sk_open() (and
	 * ikev2_msg_open_reassembled()): both peers sent
	 * CHILDLESS_IKEV2_SUPPORTED in IKE_SA_INIT (RFC 6023 §3), so an
	 * IKE_AUTH request may leave out SA, TSi and TSr.  Otherwise the
	 * request must carry them (RFC 7296 §1.2). */
	bool childless_ok;
};

/*
 * "KE missing from IKE_SA_INIT request", "2 SA payloads in
 * CREATE_CHILD_SA response (at most 1)", ... for m->reject (into buf).
 */
const char *ikev2_reject_str(const struct ike_msg *m, char *buf, size_t len);

/*
 * Is the failure of m a violation of the exchange's payload rules
 * (a required payload missing, or an incomplete group) rather than of
 * the syntax?  A verified response failing so ends its exchange.
 */
bool ikev2_reject_required(const struct ike_msg *m);

/*
 * Parse the IKE header only (28 octets) from r.  Does not validate
 * anything beyond length; used to route a message before full parsing.
 */
int ikev2_hdr_parse(struct rd *r, struct ikev2_hdr *h);

/*
 * Parse a whole received message: header checks (RFC 7296 §3.1: length
 * field == datagram length, major version 2 (else
 * IKEV2_N_INVALID_MAJOR_VERSION)), then the payload chain with the
 * generic rules of §2.5/§3.2 from the payload table: per-type minimum
 * length, payload length within message, chain ends exactly at the
 * message end, unknown payload with critical bit ->
 * IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD (m->bad_critical set), SK must be
 * last (§3.14), each known payload's body syntax valid, and the
 * exchange's payload rules (msg.c: per exchange, request/response and
 * outer/SK chain, the minimum and maximum count of each payload type;
 * IKE_SA_INIT's here, the others' SK contents in ikev2_sk_open()) (else
 * IKEV2_N_INVALID_SYNTAX).  Returns 0, -EBADMSG (not IKEv2 / not worth an
 * answer: drop), or a positive notify type; on failure m->reject says
 * why.  m->hdr is valid whenever the return value is not -EBADMSG with a
 * short buffer.
 */
int ikev2_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m);

/* Find the first payload of type after index *from (start with -1);
 * returns the index or -1.  Searches inner and outer payloads. */
int ikev2_msg_next(const struct ike_msg *m, uint8_t type, int from);
/* First payload of type, or NULL. */
const struct ikev2_pl *ikev2_msg_find(const struct ike_msg *m, uint8_t type);
/* First Notify of notify type ntype (decoded into *n if non-NULL). */
struct ikev2_notify;
bool ikev2_msg_find_notify(const struct ike_msg *m, uint16_t ntype,
			   struct ikev2_notify *n);

/* ------------------------------------------------------------------ */
/* Typed payload views (decoders) and builders                         */
/* ------------------------------------------------------------------ */

/* SA payload (RFC 7296 §3.3). */
struct ikev2_xform {
	uint8_t type; /* IKEV2_XF_* */
	uint16_t id;
	uint16_t keylen; /* Key Length attribute in bits, 0 = absent */
	bool bad_attr;	 /* unknown attribute: transform unusable (§3.3.6) */
};

struct ikev2_proposal {
	uint8_t num;	 /* Proposal Num (1-based, §3.3.1) */
	uint8_t proto;	 /* IKEV2_PROTO_* */
	uint8_t spi_len; /* 0, 4 or 8 */
	uint8_t spi[8];
	uint8_t nxf;
	bool truncated; /* more than IKEV2_MAX_XFORMS: do not select */
	struct ikev2_xform xf[IKEV2_MAX_XFORMS];
};

struct ikev2_sa {
	uint8_t nprop;
	struct ikev2_proposal prop[IKEV2_MAX_PROPOSALS];
};

struct ikev2_ke {
	uint16_t group;
	const uint8_t *data;
	size_t len;
};

/* IDi/IDr (§3.5): body is the whole payload body ("RestOfIDPayload",
 * ID type + 3 reserved + data) as used by the AUTH computation. */
struct ikev2_id {
	uint8_t type;
	const uint8_t *data;
	size_t len;
	const uint8_t *body;
	size_t body_len;
};

/* CERT and CERTREQ (§3.6, §3.7). */
struct ikev2_cert {
	uint8_t encoding;
	const uint8_t *data;
	size_t len;
};

struct ikev2_auth {
	uint8_t method;
	const uint8_t *data;
	size_t len;
};

struct ikev2_nonce {
	const uint8_t *data;
	size_t len;
};

struct ikev2_notify {
	uint8_t proto;
	uint8_t spi_len;
	const uint8_t *spi;
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

struct ikev2_delete {
	uint8_t proto;
	uint8_t spi_len; /* 0 for IKE, 4 for ESP/AH */
	uint16_t nspi;
	const uint8_t *spis; /* nspi * spi_len octets */
};

struct ikev2_vendor {
	const uint8_t *data;
	size_t len;
};

/* One traffic selector (§3.13.1), addresses in network byte order. */
struct ikev2_ts {
	uint8_t type;		    /* IKEV2_TS_IPV4/6_ADDR_RANGE */
	uint8_t proto;		    /* IP protocol, 0 = any */
	uint16_t sport, eport;	    /* host order, inclusive */
	uint8_t start[16], end[16]; /* 4 octets used for IPv4 */
};

struct ikev2_ts_list {
	uint8_t n;
	struct ikev2_ts ts[IKEV2_MAX_TS];
};

struct ikev2_cp_attr {
	uint16_t type;
	const uint8_t *data;
	uint16_t len;
};

struct ikev2_cp {
	uint8_t type;
	uint8_t nattr;
	struct ikev2_cp_attr attr[IKEV2_MAX_CP_ATTRS];
};

struct ikev2_eap {
	uint8_t code, ident;
	uint16_t length;
	uint8_t type;	     /* 0 when absent (Success/Failure) */
	const uint8_t *data; /* after the Type octet */
	size_t len;
};

/*
 * Decoders: parse the body of payload pl into the view.  Return 0 or
 * IKEV2_N_INVALID_SYNTAX.  (ikev2_msg_parse already ran them once, so on
 * a parsed message they only fail for the wrong payload type.)
 * SA: proposals beyond IKEV2_MAX_PROPOSALS are ignored.
 * TS: more than IKEV2_MAX_TS selectors or unknown TS types -> only the
 * known ones are kept (unknown types skipped, §3.13.1).
 */
int ikev2_get_sa(const struct ikev2_pl *pl, struct ikev2_sa *out);
int ikev2_get_ke(const struct ikev2_pl *pl, struct ikev2_ke *out);
int ikev2_get_id(const struct ikev2_pl *pl, struct ikev2_id *out);
int ikev2_get_cert(const struct ikev2_pl *pl, struct ikev2_cert *out);
int ikev2_get_auth(const struct ikev2_pl *pl, struct ikev2_auth *out);
int ikev2_get_nonce(const struct ikev2_pl *pl, struct ikev2_nonce *out);
int ikev2_get_notify(const struct ikev2_pl *pl, struct ikev2_notify *out);
int ikev2_get_delete(const struct ikev2_pl *pl, struct ikev2_delete *out);
int ikev2_get_vendor(const struct ikev2_pl *pl, struct ikev2_vendor *out);
int ikev2_get_ts(const struct ikev2_pl *pl, struct ikev2_ts_list *out);
int ikev2_get_cp(const struct ikev2_pl *pl, struct ikev2_cp *out);
int ikev2_get_eap(const struct ikev2_pl *pl, struct ikev2_eap *out);

/*
 * Message builder.  Usage:
 *   struct ikev2_wr b;
 *   ikev2_wr_begin(&b, &hdr);            header (length patched later)
 *   ikev2_put_sa(&b, &sa); ...           payloads, chained in order
 *   -- for protected exchanges --
 *   ikev2_sk_begin(&b, sk_out);          SK header + IV; following
 *   ikev2_put_*(&b, ...);                 payloads go inside SK
 *   ikev2_sk_end(&b);                    pad, encrypt, ICV
 *   ikev2_wr_finish(&b, &pkt, &len);     caller owns pkt (free())
 * Errors are sticky: each put returns the writer's error, and finish
 * reports the first one (then frees the buffer).  Call ikev2_wr_abort()
 * to discard a builder without finishing.
 */
struct ikev2_sk_ctx;

struct ikev2_wr {
	struct wr w;
	size_t np_off; /* offset of the Next Payload octet to patch */
	size_t sk_off; /* offset of the SK generic header, or SIZE_MAX */
	struct ikev2_sk_ctx *sk;
	bool sk_done; /* SK closed: nothing may follow */
	int err;
};

int ikev2_wr_begin(struct ikev2_wr *b, const struct ikev2_hdr *h);
int ikev2_wr_finish(struct ikev2_wr *b, uint8_t **pkt, size_t *len);
void ikev2_wr_abort(struct ikev2_wr *b);

/* Generic: a payload of type with a raw body (e.g. unknown types in
 * tests, or anything the typed builders do not cover). */
int ikev2_put_raw(struct ikev2_wr *b, uint8_t type, bool critical,
		  const void *body, size_t len);
int ikev2_put_sa(struct ikev2_wr *b, const struct ikev2_sa *sa);
int ikev2_put_ke(struct ikev2_wr *b, uint16_t group, const uint8_t *data,
		 size_t len);
/* type is IKEV2_PL_IDi or IKEV2_PL_IDr; id->body is ignored. */
int ikev2_put_id(struct ikev2_wr *b, uint8_t type, const struct ikev2_id *id);
/* type is IKEV2_PL_CERT or IKEV2_PL_CERTREQ. */
int ikev2_put_cert(struct ikev2_wr *b, uint8_t type,
		   const struct ikev2_cert *c);
int ikev2_put_auth(struct ikev2_wr *b, uint8_t method, const uint8_t *data,
		   size_t len);
int ikev2_put_nonce(struct ikev2_wr *b, const uint8_t *data, size_t len);
int ikev2_put_notify(struct ikev2_wr *b, const struct ikev2_notify *n);
/* Convenience: notify with no SPI (proto 0). */
int ikev2_put_notify_simple(struct ikev2_wr *b, uint16_t type, const void *data,
			    size_t len);
int ikev2_put_delete(struct ikev2_wr *b, const struct ikev2_delete *d);

/*
 * IPCOMP_SUPPORTED (RFC 7296 §2.22, §3.10.1): the data is the sender's
 * 2-octet CPI, a 1-octet IPComp transform ID, and attributes whose
 * format the transform defines (none for DEFLATE: ignored).  The CPI is
 * the one the sender receives with (RFC 3173 §2.2).
 */
#define IKEV2_CPI_MIN 256u   /* RFC 3173 §3.3: 0-255 well-known/reserved */
#define IKEV2_CPI_MAX 61439u /* 61440-65535: private use */
struct ikev2_ipcomp {
	uint16_t cpi;
	uint8_t xform; /* IKEV2_IPCOMP_* */
};
/* Decode one IPCOMP_SUPPORTED notify: 0, or IKEV2_N_INVALID_SYNTAX when
 * n is another notify, names an SPI, is shorter than 3 octets, or gives
 * a CPI outside the negotiable range. */
int ikev2_get_ipcomp(const struct ikev2_notify *n, struct ikev2_ipcomp *out);
int ikev2_put_ipcomp(struct ikev2_wr *b, const struct ikev2_ipcomp *ic);
/*
 * The first IPCOMP_SUPPORTED of m that decodes and whose transform is in
 * accept[0..n_accept) (in the order of accept: our preference); notifies
 * that are malformed or name a transform we do not do are skipped
 * (§2.22: the responder picks one of those offered; §3.10.1 transform
 * IDs we do not know are not an error).  Returns true and fills out, or
 * false: no IPComp.  *n_bad (if non-NULL) counts the malformed ones.
 */
bool ikev2_ipcomp_choose(const struct ike_msg *m, const uint8_t *accept,
			 size_t n_accept, struct ikev2_ipcomp *out,
			 unsigned *n_bad);
int ikev2_put_vendor(struct ikev2_wr *b, const void *data, size_t len);
/* type is IKEV2_PL_TSi or IKEV2_PL_TSr. */
int ikev2_put_ts(struct ikev2_wr *b, uint8_t type,
		 const struct ikev2_ts_list *ts);
int ikev2_put_cp(struct ikev2_wr *b, const struct ikev2_cp *cp);

/* ------------------------------------------------------------------ */
/* Encrypted payload (RFC 7296 §3.14, RFC 5282, RFC 7634)              */
/* ------------------------------------------------------------------ */

/*
 * One direction's SK protection: the algorithms and keys (wiped by
 * ikev2_sk_free).  No OpenSSL context is kept per SA (two cost ~2.4 KB
 * for AES-GCM, more than the rest of an IKE SA): sealing and opening key
 * a context of the calling thread for the message (crypto_cipher_rekey,
 * crypto_mac_rekey; ~0.2-1 us, sk.c).
 */
struct ikev2_sk_ctx {
	const struct crypto_encr_alg *encr; /* NULL: not keyed */
	uint16_t encr_id, integ_id;	    /* integ_id 0 for AEAD */
	bool encrypt;
	uint8_t elen, alen;
	uint8_t ekey[CRYPTO_MAX_KEY]; /* cipher key | salt */
	uint8_t akey[CRYPTO_MAX_KEY]; /* integrity key (not for AEAD) */
	size_t icv_len;
	uint64_t iv_seq; /* counter IVs for CTR/AEAD (RFC 5282 §3.1) */
};

/*
 * Key one direction.  For sending use (SK_ei, SK_ai) as initiator and
 * (SK_er, SK_ar) as responder with encrypt = true; for receiving the
 * other pair with encrypt = false.  integ_id is ignored for AEAD.
 */
int ikev2_sk_init(struct ikev2_sk_ctx *sk, uint16_t encr_id, uint16_t integ_id,
		  const uint8_t *ekey, size_t elen, const uint8_t *akey,
		  size_t alen, bool encrypt);
void ikev2_sk_free(struct ikev2_sk_ctx *sk);
/* Free the calling thread's SK contexts (made again when needed). */
void ikev2_sk_thread_done(void);

/* Start the SK payload in builder b (must be the last payload). */
int ikev2_sk_begin(struct ikev2_wr *b, struct ikev2_sk_ctx *sk);
/* Close it: random IV, padding (§3.14), encrypt, ICV over the whole
 * message (after the header length is patched). */
int ikev2_sk_end(struct ikev2_wr *b);

/*
 * RFC 7383: IKE fragmentation.  IKEV2_FRAG_MAX bounds the fragments of
 * one message, in both directions.
 *
 * ikev2_wr_finish_frag() closes a builder like ikev2_sk_end() +
 * ikev2_wr_finish(), but when the sealed message would exceed frag_len
 * octets (the IKE message alone: no IP/UDP header, no non-ESP marker)
 * and it has an open SK payload, it returns instead the fragments
 * (§2.5: each a whole IKE message with one SKF payload, protected on
 * its own) one after the other in *pkt; each is delimited by the Length
 * of its IKE header.  *nfrag is 1 for an unfragmented message.
 * frag_len 0: never fragment.
 */
#define IKEV2_FRAG_MAX 64
int ikev2_wr_finish_frag(struct ikev2_wr *b, size_t frag_len, uint8_t **pkt,
			 size_t *len, unsigned *nfrag);
/* Verify and decrypt one SKF fragment of m (ICV per fragment, §2.5.3);
 * *inner_len octets of its share of the plaintext land in plain. */
int ikev2_skf_open(struct ikev2_sk_ctx *sk, struct ike_msg *m, uint8_t *plain,
		   size_t plain_cap, size_t *inner_len);
/* The reassembled plaintext of the fragmented message m (§2.6): parse
 * it as m's inner chain (first: fragment 1's Next Payload), as
 * ikev2_sk_open() does for SK; same return values. */
int ikev2_msg_open_reassembled(struct ike_msg *m, uint8_t first,
			       const uint8_t *plain, size_t len);

/*
 * Verify and decrypt the SK payload of a parsed message m using the
 * receiving-direction context.  ICV/tag is checked first over the whole
 * message (RFC 7296 §3.14; for AEAD the AAD is the IKE header through
 * the SK generic header, RFC 5282 §5.1).  The plaintext is written into
 * the caller's buffer plain (plain_cap >= SK body length) and the inner
 * payload chain, starting with m->sk_first, is parsed with the same
 * generic rules and appended to m->pl.  Returns 0; -EBADMSG on ICV
 * failure or bad padding (drop silently, §2.21.2); -ENOENT if m has no
 * SK; -EINVAL on a bad buffer; or a positive notify (inner chain rules).
 */
int ikev2_sk_open(struct ikev2_sk_ctx *sk, struct ike_msg *m, uint8_t *plain,
		  size_t plain_cap);

/* ------------------------------------------------------------------ */
/* Keys (RFC 7296 §2.13-§2.18), AUTH (§2.15), NAT-D (§2.23)            */
/* ------------------------------------------------------------------ */

/* The negotiated suite of a proposal (one transform per type). */
struct ikev2_suite {
	uint8_t proto; /* IKEV2_PROTO_* */
	uint8_t num;   /* proposal number chosen */
	uint8_t spi_len;
	uint8_t spi[8]; /* peer's SPI from the chosen proposal */
	uint16_t encr;
	uint16_t encr_keybits; /* effective key bits */
	uint16_t prf;	       /* IKE only */
	uint16_t integ;	       /* IKEV2_INTEG_NONE for AEAD */
	uint16_t dh;	       /* IKEV2_DH_NONE when absent */
	uint16_t esn;	       /* ESP/AH only: IKEV2_ESN_NO/YES */
};

struct ikev2_sa_keys {
	size_t prf_len;	  /* SK_d, SK_pi, SK_pr (PRF preferred key len) */
	size_t integ_len; /* SK_ai, SK_ar (0 for AEAD) */
	size_t encr_len;  /* SK_ei, SK_er incl. salt */
	uint8_t skeyseed[CRYPTO_MAX_PRF_OUT];
	size_t skeyseed_len;
	uint8_t sk_d[CRYPTO_MAX_KEY];
	uint8_t sk_ai[CRYPTO_MAX_KEY], sk_ar[CRYPTO_MAX_KEY];
	uint8_t sk_ei[CRYPTO_MAX_KEY], sk_er[CRYPTO_MAX_KEY];
	uint8_t sk_pi[CRYPTO_MAX_KEY], sk_pr[CRYPTO_MAX_KEY];
};

void ikev2_sa_keys_wipe(struct ikev2_sa_keys *k);

/*
 * RFC 7296 §2.14: SKEYSEED = prf(Ni | Nr, g^ir) (for XCBC/CMAC PRFs the
 * key is the first 64 bits of Ni and of Nr), then
 * {SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr} = prf+(SKEYSEED,
 * Ni | Nr | SPIi | SPIr).  s->encr/encr_keybits/integ/prf are used.
 */
int ikev2_derive_ike_keys(const struct ikev2_suite *s, const uint8_t *gir,
			  size_t gir_len, const uint8_t *ni, size_t ni_len,
			  const uint8_t *nr, size_t nr_len, uint64_t spi_i,
			  uint64_t spi_r, struct ikev2_sa_keys *out);

/*
 * RFC 7296 §2.18 rekey: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 * with the OLD SA's prf; keys then as §2.14 with the new suite and the
 * new SA's SPIs (spi_i = SPI of the rekey initiator's side per §2.18).
 */
int ikev2_derive_ike_rekey(const struct ikev2_suite *s, uint16_t old_prf,
			   const uint8_t *old_sk_d, size_t old_sk_d_len,
			   const uint8_t *gir, size_t gir_len,
			   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			   size_t nr_len, uint64_t spi_i, uint64_t spi_r,
			   struct ikev2_sa_keys *out);

/* Octets of CHILD_SA keying material per direction for suite s
 * (encryption key incl. salt, then integrity key); 0 if s is bad. */
size_t ikev2_child_keymat_len(const struct ikev2_suite *s, size_t *encr_len,
			      size_t *integ_len);

/*
 * RFC 7296 §2.17: KEYMAT = prf+(SK_d, Ni | Nr), or with PFS
 * prf+(SK_d, g^ir (new) | Ni | Nr) when gir != NULL.  Writes 2 * per-dir
 * length octets: i->r keys (encr then integ), then r->i keys.
 */
int ikev2_derive_child_keys(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len,
			    const uint8_t *gir, size_t gir_len,
			    const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			    size_t nr_len, uint8_t *keymat, size_t keymat_len);

/*
 * Signed octets (RFC 7296 §2.15): RealMessage | Nonce | prf(SK_p,
 * RestOfIDPayload).  For the initiator's AUTH: msg = IKE_SA_INIT
 * request, nonce = Nr, sk_p = SK_pi, id = IDi body; for the responder's:
 * IKE_SA_INIT response, Ni, SK_pr, IDr body.  Appended to out.
 */
int ikev2_signed_octets(uint16_t prf, const uint8_t *msg, size_t msg_len,
			const uint8_t *nonce, size_t nonce_len,
			const uint8_t *sk_p, size_t sk_p_len,
			const uint8_t *id_body, size_t id_body_len,
			struct wr *out);

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), signed octets) (§2.15).
 * out gets the PRF output length (returned in *out_len). */
int ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
		   const uint8_t *octets, size_t octets_len, uint8_t *out,
		   size_t *out_len);
/* Recompute and compare in constant time: 0 or
 * IKEV2_N_AUTHENTICATION_FAILED. */
int ikev2_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
			  const uint8_t *octets, size_t octets_len,
			  const uint8_t *auth, size_t auth_len);

/* NAT-D data (§2.23): SHA-1(SPIi | SPIr | IP | port), addr is a
 * sockaddr_in or sockaddr_in6 (port taken from it). */
int ikev2_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct sockaddr *addr,
		    uint8_t out[20]);

/* ------------------------------------------------------------------ */
/* Proposals (RFC 7296 §2.7, §3.3)                                     */
/* ------------------------------------------------------------------ */

#define IKEV2_PREF_MAX 16

/* Our acceptable algorithms, each list in our order of preference.
 * An empty integ/dh/esn list means "NONE only" (AEAD-only, no PFS, no
 * ESN).  IKEV2_DH_NONE / IKEV2_INTEG_NONE / IKEV2_ESN_NO may be listed
 * explicitly to accept both with and without. */
struct ikev2_prefs {
	uint8_t proto; /* IKEV2_PROTO_IKE or _ESP/_AH */
	uint8_t n_encr, n_prf, n_integ, n_dh, n_esn;
	struct {
		uint16_t id;
		uint16_t keybits; /* 0 = the algorithm's default/any */
	} encr[IKEV2_PREF_MAX];
	uint16_t prf[IKEV2_PREF_MAX];
	uint16_t integ[IKEV2_PREF_MAX];
	uint16_t dh[IKEV2_PREF_MAX];
	uint16_t esn[2];
};

/*
 * Build our SA payload offer from prefs: AEAD and non-AEAD ciphers go
 * into separate proposals (RFC 7296 §3.3: combined-mode ciphers are not
 * mixed with integrity algorithms), AEAD first.  spi/spi_len is our SPI
 * (0 octets in IKE_SA_INIT, 8 for IKE rekey, 4 for ESP/AH).
 * keybits 0 for AES offers 256, 192 and 128 (in that order).
 * Returns 0 or -EINVAL (empty/unknown algorithm lists).
 */
int ikev2_sa_build(const struct ikev2_prefs *p, const uint8_t *spi,
		   size_t spi_len, struct ikev2_sa *out);

/*
 * Responder selection (§2.7): the first proposal of the initiator's list
 * (in its order) all of whose transform types have an acceptable
 * transform; within a proposal the initiator's order is followed too,
 * except that for DH the group prefer_dh (the KE payload's group, 0 =
 * none) wins when acceptable so that no INVALID_KE_PAYLOAD is needed.
 * Transforms with unknown attributes are skipped (§3.3.6).  Returns 0 and
 * *out, or IKEV2_N_NO_PROPOSAL_CHOSEN.
 */
int ikev2_sa_select(const struct ikev2_sa *offer, const struct ikev2_prefs *p,
		    uint16_t prefer_dh, struct ikev2_suite *out);

/* The single-proposal SA payload answering with suite s (our SPI). */
int ikev2_suite_to_sa(const struct ikev2_suite *s, const uint8_t *spi,
		      size_t spi_len, struct ikev2_sa *out);

/*
 * Initiator check of the response (§2.7, §3.3.6): exactly one proposal,
 * its number names one of ours with the same protocol, one transform per
 * type, each one we offered in that proposal (with the same key length),
 * mandatory types present.  Returns 0 and *out, or -EBADMSG.
 */
int ikev2_sa_check_reply(const struct ikev2_sa *offered,
			 const struct ikev2_sa *reply, struct ikev2_suite *out);

/* ------------------------------------------------------------------ */
/* Traffic selectors (RFC 7296 §2.9, §3.13)                            */
/* ------------------------------------------------------------------ */

/* ts from an address prefix (af AF_INET/AF_INET6, addr network order),
 * protocol (0 any) and port (0 = any, else that single port). */
int ikev2_ts_from_prefix(struct ikev2_ts *ts, int af, const void *addr,
			 unsigned plen, uint8_t proto, uint16_t port);
/* The prefix ts covers exactly: 0, or -ERANGE if the range is not one
 * CIDR block.  addr receives 4 or 16 octets; *af AF_INET/AF_INET6. */
int ikev2_ts_to_prefix(const struct ikev2_ts *ts, int *af, void *addr,
		       unsigned *plen);
/* Split the address range of ts into CIDR blocks (at most max); returns
 * the count or -ENOSPC.  Each out[i] keeps proto and ports. */
int ikev2_ts_split(const struct ikev2_ts *ts, struct ikev2_ts *out, size_t max);

/* Intersection of two selectors: true and *out when non-empty. */
bool ikev2_ts_intersect(const struct ikev2_ts *a, const struct ikev2_ts *b,
			struct ikev2_ts *out);
/* a contained in b. */
bool ikev2_ts_within(const struct ikev2_ts *a, const struct ikev2_ts *b);
/* Every selector of a is within some selector of b (initiator's check
 * of the responder's narrowed TS, §2.9). */
bool ikev2_ts_list_within(const struct ikev2_ts_list *a,
			  const struct ikev2_ts_list *b);

/*
 * Narrowing (§2.9): out = the non-empty intersections of each of the
 * peer's selectors with each selector of our configured envelope, in the
 * peer's order; duplicates and results contained in another result are
 * removed, so a specific "packet" selector sent first by an initiator
 * (§2.9) is covered by (and collapses into) the wider acceptable range.
 * Unknown TS types were already skipped by the parser.  Returns 0 or
 * IKEV2_N_TS_UNACCEPTABLE when nothing is left.
 */
int ikev2_ts_narrow(const struct ikev2_ts_list *peer,
		    const struct ikev2_ts_list *ours,
		    struct ikev2_ts_list *out);

/* ------------------------------------------------------------------ */
/* SPIs on the wire, rekey collisions                                  */
/* ------------------------------------------------------------------ */

/* The one SPI pack/unpack: 4-octet ESP/AH SPIs (Proposal, Notify,
 * Delete: RFC 7296 §3.3.1, §3.10, §3.11) and 8-octet IKE SPIs, network
 * byte order; values are host order. */
static inline void ikev2_spi32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t ikev2_spi32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void ikev2_spi64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t ikev2_spi64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Simultaneous rekeys (RFC 7296 §2.8.1 CHILD SAs, §2.8.2 IKE SAs): "the
 * SA that was created with the lowest of the four nonces" is redundant.
 * ikev2_nonce_lowest() copies the lower of an exchange's two nonces
 * (memcmp order, a shorter prefix first) into out (capacity cap) and
 * returns its length (0 if it does not fit); ikev2_nonce_cmp() orders
 * two such lowest nonces: < 0 when a's SA is the redundant one.  The one
 * rule for CHILD (child.c) and IKE (rekey.c) collisions.
 */
size_t ikev2_nonce_lowest(const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			  size_t nr_len, uint8_t *out, size_t cap);
int ikev2_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
		    size_t b_len);

/* ------------------------------------------------------------------ */
/* Names for logs                                                      */
/* ------------------------------------------------------------------ */

const char *ikev2_exch_name(uint8_t exch);
const char *ikev2_payload_name(uint8_t type); /* "SA", "KE", "N", ... */
const char *ikev2_notify_name(uint16_t type);
/* "[ SA KE No N(NATD_S_IP) ]" style summary like strongSwan's logs. */
const char *ikev2_msg_summary(const struct ike_msg *m, char *buf, size_t len);

#endif
