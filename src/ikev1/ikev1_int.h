/*
 * ikev1_int.h - what the exchange modules of src/ikev1 share (not for
 * other modules): the ISAKMP SA, the Quick Mode task, message sealing.
 */
#ifndef RACOON_IKEV1_INT_H
#define RACOON_IKEV1_INT_H

#include "ikev1/ikev1.h"

#define IKEV1_NONCE_LEN 32
#define IKEV1_MAX_KE	CRYPTO_MAX_DH_PUB

enum qm_state {
	QM_FREE = 0,
	QM_I1,	 /* initiator: QM1 sent */
	QM_R2,	 /* responder: QM2 sent */
	QM_DONE, /* finished; kept to answer a retransmission */
};

/* One Quick Mode exchange (a task of the ISAKMP SA). */
struct ikev1_qm {
	enum qm_state state;
	bool initiator;
	uint32_t msgid;
	uint8_t iv[CRYPTO_MAX_BLOCK];
	uint8_t ni[ISAKMP_NONCE_MAX], nr[ISAKMP_NONCE_MAX];
	size_t ni_len, nr_len;
	struct crypto_dh *dh;
	uint8_t gqm[CRYPTO_MAX_DH_SECRET];
	size_t gqm_len;
	uint16_t group;
	uint8_t prop_num;
	struct ikev1_p2_suite suite;	/* ESP (esp_id 0: none); life of all */
	uint32_t spi_in, spi_out;	/* of the ESP SA, or AH without ESP */
	struct isakmp_bundle_spis ours; /* our inbound SPIs, every protocol */
	struct isakmp_bundle b;		/* the bundle agreed */
	struct isakmp_id idci, idcr;
	uint8_t *last_sent; /* our last message of this exchange */
	size_t last_len;
	uint8_t last_rcvd[20]; /* SHA-1 of the peer's last datagram */
	bool have_rcvd;
	uint32_t resp_life; /* responder: RESPONDER-LIFETIME to send */
	uint32_t replaces;  /* rekey: the old CHILD SA's inbound SPI */
};

struct ikev1_sa {
	const struct ikev1_conf *conf;
	bool initiator;
	enum ikev1_state state;
	uint8_t cky_i[8], cky_r[8];
	uint8_t p1_exch; /* ISAKMP_EXCH_IDPROT or _AGGRESSIVE */
	struct ikev1_p1_suite suite;
	uint8_t p1_prop_num, p1_xf_num;
	struct crypto_dh *dh;
	uint8_t gxi[IKEV1_MAX_KE], gxr[IKEV1_MAX_KE];
	size_t gx_len;
	uint8_t ni[ISAKMP_NONCE_MAX], nr[ISAKMP_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t *sai_b; /* the initiator's SA payload body (HASH_I/R) */
	size_t sai_len;
	struct ikev1_keys keys;
	/* the peer's ID payload body (IDii_b / IDir_b), once received */
	uint8_t peer_idb[4 + IKEV1_MAX_ID];
	size_t peer_idb_len;
	uint8_t *last_sent;
	size_t last_len;
	uint8_t last_rcvd[20];
	bool have_rcvd;
	struct ikev1_qm qm[IKEV1_MAX_QM];
	uint32_t mids[IKEV1_MID_WINDOW]; /* Phase 2/Info message IDs seen */
	unsigned n_mids;
	struct ikev1_stats st;
	/* DPD (dpd.c, RFC 3706) */
	bool dpd_vid;	  /* the peer sent the DPD vendor ID */
	uint32_t dpd_seq; /* our last R-U-THERE's sequence number */
	bool dpd_pending;
	/* NAT-T (natt.c) */
	bool natt_vid;	/* both sent the RFC 3947 vendor ID */
	bool nat_here;	/* we are behind a NAT */
	bool nat_there; /* the peer is behind a NAT */
	uint8_t addr_local[18], addr_peer[18]; /* IP | port, as hashed */
	size_t addr_len;
};

/* The Phase 1 authentication method of the configuration. */
static inline uint16_t p1_auth(const struct ikev1_conf *c)
{
	return c->auth_method ? c->auth_method : ISAKMP_P1_AUTH_PSK;
}

/* ---- sa.c ---- */
/* Header for a message of this SA. */
void sa_hdr(const struct ikev1_sa *sa, struct isakmp_hdr *h, uint8_t exch,
	    uint32_t msgid, bool encrypted);
/* Encrypt the body of a finished plaintext message (E flag already in
 * the header) with iv, chaining it; *pkt may be reallocated. */
int sa_seal(const struct ikev1_sa *sa, uint8_t iv[CRYPTO_MAX_BLOCK],
	    uint8_t **pkt, size_t *len);
/*
 * Decrypt m's body with a copy of iv and parse it: *plain (caller frees)
 * holds the plaintext, pm the parsed chain, next_iv the IV to commit
 * once the message is authenticated.
 */
int sa_open(const struct ikev1_sa *sa, const struct isakmp_msg *m,
	    const uint8_t iv[CRYPTO_MAX_BLOCK], uint8_t **plain,
	    struct isakmp_msg *pm, uint8_t next_iv[CRYPTO_MAX_BLOCK]);
/* The octets after the HASH payload (the first one) up to the padding:
 * what HASH(1)/HASH(2) cover (RFC 2409 §5.5). */
void sa_after_hash(const struct isakmp_msg *pm, const uint8_t *plain,
		   size_t plain_len, const uint8_t **rest, size_t *rest_len);
/* Keep pkt as our last message (for retransmission) and hand a copy out. */
int sa_emit(uint8_t **keep, size_t *keep_len, uint8_t *pkt, size_t len,
	    struct ikev1_out *out);
bool sa_mid_seen(const struct ikev1_sa *sa, uint32_t mid);
void sa_mid_add(struct ikev1_sa *sa, uint32_t mid);
int sa_new_mid(struct ikev1_sa *sa, uint32_t *mid);
void sa_digest(const uint8_t *p, size_t len, uint8_t out[20]);

/* ---- proposal.c ---- */
void p1_offer(const struct ikev1_conf *c, struct isakmp_sa *sa);
/* Responder: choose from the peer's SA; fills reply (one proposal, one
 * transform).  0 or ISAKMP_N_NO_PROPOSAL_CHOSEN. */
int p1_choose(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      struct isakmp_sa *reply, struct ikev1_p1_suite *chosen);
/* Initiator: the responder's choice must be one we offered. */
int p1_accept(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      struct ikev1_p1_suite *chosen);
int p1_keys_setup(const struct ikev1_p1_suite *s, struct ikev1_keys *k);

/* Phase 2 bundles (isakmp/bundle.h) from the configuration: the IPComp
 * set only with_comp (a CPI was allocated). */
void p2_bundle_conf(const struct ikev1_conf *c, uint16_t group, uint16_t encap,
		    bool with_comp, struct isakmp_bundle_conf *bc);
/* Initiator: our offer with our inbound SPIs (ours->cpi 0: no IPComp). */
int p2_offer(const struct ikev1_conf *c, const struct isakmp_bundle_spis *ours,
	     uint16_t group, uint16_t encap, struct isakmp_sa *sa);
/* Responder: the AND-set we take into q->b (suite, group, spi_out,
 * resp_life); 0 or ISAKMP_N_NO_PROPOSAL_CHOSEN. */
int p2_choose(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      uint16_t encap, bool with_comp, struct ikev1_qm *q);
/* Initiator: the reply against the offer made with q->ours, q->group. */
int p2_accept(const struct ikev1_conf *c, const struct isakmp_sa *in,
	      uint16_t encap, struct ikev1_qm *q);
/* ISAKMP_AUTH_* as the IKEv2 integrity ID and its key length. */
int p2_integ(uint16_t auth, uint16_t *integ, size_t *keylen);
/* ESP algorithms of a Phase 2 suite as IKEv2 IDs (kernel ops table). */
int p2_algs(const struct ikev1_p2_suite *s, uint16_t *encr, uint16_t *integ,
	    size_t *keylen);

/* ---- phase1.c ---- */
/* A random nonzero cookie (RFC 2408 §2.5.3). */
int p1_cookie(uint8_t c[8]);
/* Keep the initiator's SA payload body (SAi_b) for HASH_I/HASH_R. */
int p1_keep_sai(struct ikev1_sa *sa, const struct isakmp_pl *pl);
/* Our DH pair in the chosen group and our nonce. */
int p1_make_ke_nonce(struct ikev1_sa *sa, uint8_t *gx, uint8_t *nonce,
		     size_t *nonce_len);
/* The peer's KE and nonce of m: g^xy, SKEYID and the keys.  Our DH
 * pair stays (the caller frees it once the peer is authenticated, or
 * once nothing can undo the step). */
int p1_take_ke_nonce(struct ikev1_sa *sa, const struct isakmp_msg *m);
/* Our ID payload (RFC 2407 §4.6.2) and its body (IDii_b / IDir_b). */
void p1_our_id(const struct ikev1_sa *sa, struct isakmp_id1 *id,
	       uint8_t idb[4 + IKEV1_MAX_ID], size_t *idb_len);
/* The peer's ID payload of pm: parsed, checked against peers_id and
 * its body kept in sa->peer_idb.  0 or -EBADMSG / -EACCES. */
int p1_take_peer_id(struct ikev1_sa *sa, const struct isakmp_msg *pm);
/* Our authentication payload: HASH_I or HASH_R over our ID body. */
int p1_put_auth(struct ikev1_sa *sa, struct isakmp_wr *b, const uint8_t *idb,
		size_t idb_len);
/* The peer's HASH_I/HASH_R of pm over sa->peer_idb; mismatches are
 * counted in auth_failed (-EACCES). */
int p1_check_auth(struct ikev1_sa *sa, const struct isakmp_msg *pm);
/* INITIAL-CONTACT (RFC 2407 §4.6.3.3) when configured. */
void p1_put_initial_contact(const struct ikev1_sa *sa, struct isakmp_wr *b);
int p1_finish_sealed(struct ikev1_sa *sa, struct isakmp_wr *b, uint8_t **pkt,
		     size_t *len);
/* Does the authenticated pm carry the peer's INITIAL-CONTACT? */
bool p1_initial_contact(const struct isakmp_msg *pm);

/* ---- sigauth.c ---- */
bool sigauth_key_fits(uint16_t method, EVP_PKEY *key);
/* CR payloads (one per CA of peer_certs) when send_certreq. */
int sigauth_put_cr(const struct ikev1_sa *sa, struct isakmp_wr *b);
/* [CERT,] SIG over our HASH_I/HASH_R. */
int sigauth_put(struct ikev1_sa *sa, struct isakmp_wr *b, const uint8_t *hash,
		size_t hlen);
/* The peer's [CERT,] SIG against its HASH (sa->peer_idb is its ID):
 * 0, or -EACCES/-EBADMSG (counted in auth_failed, logged). */
int sigauth_check(struct ikev1_sa *sa, const struct isakmp_msg *pm,
		  const uint8_t *hash, size_t hlen);

/* ---- aggressive.c ---- */
int am_start(struct ikev1_sa *sa, struct ikev1_out *out);
int am_respond1(struct ikev1_sa *sa, const struct isakmp_msg *m,
		struct ikev1_out *out);
int am_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out);

/* ---- main_mode.c ---- */
int mm_start(struct ikev1_sa *sa, struct ikev1_out *out);
int mm_respond1(struct ikev1_sa *sa, const struct isakmp_msg *m,
		struct ikev1_out *out);
int mm_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out);

/* ---- quick_mode.c ---- */
int qm_start(struct ikev1_sa *sa, uint32_t replaces, struct ikev1_out *out);
int qm_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	     struct ikev1_out *out);
void qm_free(struct ikev1_qm *q);

/* ---- natt.c ---- */
/* The peer's VIDs: remembers RFC 3947 support. */
void natt_vids(struct ikev1_sa *sa, const struct isakmp_msg *m);
/* Our VID when we offer/accept NAT-T. */
void natt_put_vid(const struct ikev1_sa *sa, struct isakmp_wr *b);
/* NAT-D payloads of message 3/4 (RFC 3947 §3.2). */
int natt_put_natd(const struct ikev1_sa *sa, struct isakmp_wr *b);
/* The peer's NAT-D payloads of message 3/4: NAT detection. */
int natt_check_natd(struct ikev1_sa *sa, const struct isakmp_msg *m);
/* UDP-encapsulated tunnel once a NAT is detected (RFC 3947 §5.1). */
uint16_t natt_encap(const struct ikev1_sa *sa);

/* ---- dpd.c ---- */
void dpd_vids(struct ikev1_sa *sa, const struct isakmp_msg *m);
/* An authenticated Notify of an Informational: R-U-THERE gets its ACK
 * (out->pkt), the ACK of ours sets out->dpd_ack. */
int dpd_notify(struct ikev1_sa *sa, const struct isakmp_notify *n,
	       struct ikev1_out *out);

/* ---- info.c ---- */
/* Send an Informational: HDR*, HASH(1), then the Notify or Delete. */
int info_send(struct ikev1_sa *sa, const struct isakmp_notify *n,
	      const struct isakmp_delete *d, struct ikev1_out *out);
int info_delete(struct ikev1_sa *sa, uint32_t spi_in, struct ikev1_out *out);
int info_send_dels(struct ikev1_sa *sa, const struct isakmp_notify *n,
		   const struct isakmp_delete *d, unsigned n_d,
		   struct ikev1_out *out);
int info_delete_bundle(struct ikev1_sa *sa, uint32_t esp_spi, uint32_t ah_spi,
		       uint16_t cpi, struct ikev1_out *out);
int info_input(struct ikev1_sa *sa, const struct isakmp_msg *m,
	       struct ikev1_out *out);

#endif
