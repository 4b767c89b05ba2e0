/*
 * ikev1.h - the IKEv1 protocol engine (RFC 2409): one ISAKMP SA and the
 * exchanges on it, without sockets, timers or a kernel.  The caller (a
 * daemon, or a test) feeds received datagrams to ikev1_input() and sends
 * what comes back; established CHILD SA keys come out as events for the
 * kernel ops table.  One task per exchange, as in src/ike:
 *   main_mode.c   Main Mode, initiator and responder
 *   aggressive.c  Aggressive Mode with pre-shared keys (only when the
 *                 configuration allows it), initiator and responder
 *   phase1.c      what both Phase 1 modes share: cookies, KE and nonces,
 *                 SKEYID, our ID, HASH_I/HASH_R
 *   sigauth.c     Main Mode authenticated with signatures (RSA, ECDSA
 *                 RFC 4754) and X.509: CR, CERT, SIG_I/SIG_R, the
 *                 peer's certificate checked with src/crypto/cert.c
 *   quick_mode.c  Quick Mode (ESP tunnel, optional PFS), both roles
 *   info.c        Informational Delete (IPsec SAs and the ISAKMP SA)
 *   dpd.c         Dead Peer Detection (RFC 3706): R-U-THERE and its ACK
 *   natt.c        NAT-T (RFC 3947): vendor ID, NAT-D, UDP-encapsulated
 *                 tunnel mode; the caller floats to port 4500
 *   proposal.c    SA payloads we send and the choice among the peer's
 *   sa.c          the ISAKMP SA: dispatch, IVs and CBC, message IDs,
 *                 retransmission, replay protection
 *
 * Memory: struct ikev1_sa is allocated by ikev1_sa_new_*() and freed (key
 * material wiped) by ikev1_sa_free().  The configuration is borrowed and
 * must outlive the SA.  Packets handed out (struct ikev1_out) are owned
 * by the caller (free()).
 *
 * Trust: nothing in a message changes state before it is authenticated,
 * except what RFC 2409 makes unauthenticated (the Main Mode messages 1-4,
 * which only advance the exchange that the same peer started); a
 * message that fails a check is dropped and counted, and the SA is left
 * exactly as it was (IVs included).
 */
#ifndef RACOON_IKEV1_H
#define RACOON_IKEV1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/ikev1.h"
#include "isakmp/bundle.h"
#include "isakmp/isakmp.h"

#define IKEV1_MAX_P1 8
#define IKEV1_MAX_P2 8
#define IKEV1_MAX_QM 4 /* Quick Modes in flight per ISAKMP SA */
/* Phase 2 and Informational message IDs remembered for the life of the
 * ISAKMP SA (replay protection, RFC 2409 §5.5); once full, no further
 * exchange is started or accepted: the SA must be replaced. */
#define IKEV1_MID_WINDOW 4096
#define IKEV1_MAX_ID	 256 /* a DER_ASN1_DN fits */

/* One Phase 1 suite (RFC 2409 App. A values). */
struct ikev1_p1_suite {
	uint16_t encr;	  /* ISAKMP_P1_ENCR_AES_CBC / _3DES */
	uint16_t keybits; /* AES: 128/192/256; 3DES: 0 (192) */
	uint16_t hash;	  /* ISAKMP_P1_HASH_* */
	uint16_t group;	  /* DH group (IKEv2 numbering, same as IKEv1) */
	uint32_t life_sec;
};

/* One Phase 2 ESP suite (RFC 2407 §4.4.4, §4.5). */
struct ikev1_p2_suite {
	uint8_t esp_id;	  /* ISAKMP_ESP_AES_CBC / _3DES */
	uint16_t keybits; /* AES: 128/192/256 */
	uint16_t auth;	  /* ISAKMP_AUTH_HMAC_* */
	uint32_t life_sec;
};

struct ikev1_conf {
	/* Phase 1 authentication method (RFC 2409 App. A; 0 = PSK):
	 * ISAKMP_P1_AUTH_PSK, _RSA_SIG or _ECDSA_256/384/521 (RFC 4754;
	 * our key must be on that curve).  Signatures: Main Mode only. */
	uint16_t auth_method;
	const uint8_t *psk;
	size_t psk_len;
	/* signatures (RFC 2409 §5.1): our certificate (sent as CERT,
	 * encoding 4) and private key; sign, when set, is used instead of
	 * key (privilege separation): it signs HASH_I/HASH_R as
	 * sig_sign_prehashed() does and returns a malloc()ed signature */
	X509 *cert;
	EVP_PKEY *key;
	int (*sign)(void *arg, const uint8_t *hash, size_t len, uint8_t **sig,
		    size_t *sig_len);
	/* the peer's certificate is checked like IKEv2's (racoon2's
	 * peers_public_key, src/crypto/cert.h): peer_key a bare key,
	 * peer_certs pinned certificates and CAs; verify_id: the peer's ID
	 * must name its certificate (RFC 4945 §3.1); send_certreq: a CR
	 * with each CA of peer_certs in message 3/4 */
	EVP_PKEY *peer_key;
	STACK_OF(X509) * peer_certs;
	bool verify_id;
	bool send_certreq;
	uint8_t id_type; /* ISAKMP_ID_IPV4_ADDR, _FQDN, ... */
	uint8_t id[IKEV1_MAX_ID];
	size_t id_len;
	/* the peer's ID must be this one (RFC 2409 §5: the PSK is bound to
	 * the peer; 0 = any) */
	uint8_t peer_id_type;
	uint8_t peer_id[IKEV1_MAX_ID];
	size_t peer_id_len;
	struct ikev1_p1_suite p1[IKEV1_MAX_P1];
	unsigned n_p1;
	/* Quick Mode bundle (racoon2's sa_index, isakmp/bundle.h): ESP
	 * suites (n_p2 0 = no ESP), AH suites (n_ah 0 = no AH), IPComp
	 * (ISAKMP_IPCOMP_DEFLATE, 0 = none; offered only with a CPI from
	 * getspi_proto, optional either way: RFC 3173 §2.1) */
	struct ikev1_p2_suite p2[IKEV1_MAX_P2];
	unsigned n_p2;
	struct isakmp_ah_suite ah[IKEV1_MAX_P2];
	unsigned n_ah;
	uint8_t ipcomp;
	uint32_t p2_life_sec; /* 0: the first ESP suite's life_sec */
	uint16_t pfs_group;   /* 0: no PFS required/offered */
	bool natt;	      /* offer/accept NAT-T (RFC 3947) */
	bool natt_force;      /* behave as if a NAT were there (tests) */
	/* traffic selectors of Quick Mode: ours, the peer's (IDci/IDcr as
	 * initiator; what the responder accepts, mirrored) */
	struct isakmp_id ts_local, ts_remote;
	/* Aggressive Mode (RFC 2409 §5.4): HASH_R leaves the responder
	 * before the initiator is authenticated and lets anyone who sees it
	 * guess the PSK offline.  Refused unless aggressive is set (a
	 * warning is logged each time it is used); with aggressive_initiate
	 * our ISAKMP SAs start with it instead of Main Mode. */
	bool aggressive;
	bool aggressive_initiate;
	/* INITIAL-CONTACT (RFC 2407 §4.6.3.3) in our authenticated Phase 1
	 * message (Main Mode 5 or 6, Aggressive Mode 3): the peer may drop
	 * every older SA with us (set it on the first ISAKMP SA to a peer
	 * after a restart, not on a re-authentication) */
	bool initial_contact;
	/* inbound SPI for a new CHILD SA (the kernel's getspi) */
	int (*getspi)(void *arg, uint32_t *spi);
	/* the same for AH and IPComp (proto ISAKMP_PROTO_AH/_IPCOMP; a CPI
	 * must be 256-61439); NULL: AH through getspi, no IPComp */
	int (*getspi_proto)(void *arg, uint8_t proto, uint32_t *spi);
	void *arg;
};

enum ikev1_state {
	IKEV1_MM_I1 = 1, /* initiator: SA sent */
	IKEV1_MM_I3,	 /* KE, Ni sent */
	IKEV1_MM_I5,	 /* ID, HASH_I sent */
	IKEV1_MM_R2,	 /* responder: SA sent */
	IKEV1_MM_R4,	 /* KE, Nr sent */
	IKEV1_ESTABLISHED,
	IKEV1_DEAD,
	IKEV1_AM_I1, /* Aggressive Mode initiator: SA, KE, Ni, IDii sent */
	IKEV1_AM_R2, /* responder: SA, KE, Nr, IDir, HASH_R sent */
};

/* Keys of one established CHILD SA: a bundle (RFC 2409 §5.5) named by
 * its ESP SA, or by its AH SA when it has no ESP; AH beside ESP and
 * IPComp have fields of their own. */
struct ikev1_child {
	uint8_t proto; /* ISAKMP_PROTO_ESP or _AH: what spi_in/out name */
	uint32_t spi_in, spi_out;
	uint16_t encr; /* IKEV2_ENCR_*; 0 for AH */
	uint16_t keybits;
	uint16_t integ; /* IKEV2_INTEG_* */
	uint32_t life_sec;
	size_t keylen; /* encr key octets + integ key octets */
	uint8_t key_in[CRYPTO_MAX_KEY * 2];
	uint8_t key_out[CRYPTO_MAX_KEY * 2];
	/* AH+ESP: the AH SA pair (its own KEYMAT, RFC 2409 §5.5) */
	bool ah;
	uint32_t ah_spi_in, ah_spi_out;
	uint16_t ah_integ;
	size_t ah_keylen;
	uint8_t ah_key_in[CRYPTO_MAX_KEY], ah_key_out[CRYPTO_MAX_KEY];
	/* IPComp (RFC 3173): transform ISAKMP_IPCOMP_*, 0 = none */
	uint8_t ipcomp;
	uint16_t cpi_in, cpi_out;
	struct isakmp_id ts_local, ts_remote;
	bool pfs;
	bool udp_encap; /* RFC 3948 ESP-in-UDP (NAT-T) */
	/* rekey (ikev1_quick_rekey): the inbound SPI of the CHILD SA this
	 * one replaces: install this one, then ikev1_delete() that one */
	uint32_t replaces;
	/* when to start the rekey, seconds after installing (the initiator
	 * of the Quick Mode only): life_sec less 10% and a random 0-5%
	 * (RFC 2409 §4.5 leaves it to us); 0 = no lifetime, no rekey */
	uint32_t soft_sec;
};

/* What one call produced. */
struct ikev1_out {
	uint8_t *pkt; /* to send (caller frees), or NULL */
	size_t len;
	bool established; /* the ISAKMP SA just became ESTABLISHED */
	bool child_ready; /* child holds a new CHILD SA's keys */
	struct ikev1_child child;
	bool float_4500; /* NAT-T: from now on send from/to port 4500 with
			    the non-ESP marker (RFC 3947 §4) */
	bool dpd_ack;	 /* the ACK of our last R-U-THERE came */
	/* the peer's authenticated INITIAL-CONTACT (RFC 2407 §4.6.3.3):
	 * other SAs with this peer are stale */
	bool initial_contact;
	uint8_t deleted_proto; /* Delete received: ISAKMP_PROTO_*, 0 none */
	uint32_t deleted_spi;  /* ESP/AH/IPComp: the SPI or CPI named (our
				  outbound) */
};

struct ikev1_stats {
	uint64_t dropped;     /* malformed / failed checks */
	uint64_t auth_failed; /* HASH mismatch, bad signature/certificate */
	uint64_t replayed;    /* old message ID or duplicate */
	uint64_t resent;      /* retransmissions of our last message */
};

struct ikev1_sa;

/* Initiator: a new ISAKMP SA; out->pkt is Main Mode message 1 (or
 * Aggressive Mode message 1 with conf->aggressive_initiate; -EPERM
 * without conf->aggressive). */
int ikev1_sa_new_initiator(const struct ikev1_conf *conf, struct ikev1_sa **sa,
			   struct ikev1_out *out);
/* Responder: the first message (already parsed by isakmp_msg_parse,
 * exchange Main or Aggressive Mode, responder cookie zero). out->pkt =
 * message 2. Returns 0 or a positive ISAKMP_N_* (no SA; the caller may notify)
 * or a negative errno. */
int ikev1_sa_new_responder(const struct ikev1_conf *conf,
			   const struct isakmp_msg *m, struct ikev1_sa **sa,
			   struct ikev1_out *out);
/* The same with the addresses of the datagram (the NAT-D payloads of
 * Aggressive Mode message 2 need them, RFC 3947 §3.2); Aggressive Mode
 * message 1 is accepted only with conf->aggressive (else
 * ISAKMP_N_INVALID_EXCHANGE_TYPE). */
struct sockaddr;
int ikev1_sa_new_responder_at(const struct ikev1_conf *conf,
			      const struct isakmp_msg *m,
			      const struct sockaddr *local,
			      const struct sockaddr *peer, struct ikev1_sa **sa,
			      struct ikev1_out *out);
void ikev1_sa_free(struct ikev1_sa *sa);
/* The addresses the NAT-D hashes cover (RFC 3947 §3.2): set them right
 * after creating the SA (before message 2 or 3 arrives). */
int ikev1_sa_set_addrs(struct ikev1_sa *sa, const struct sockaddr *local,
		       const struct sockaddr *peer);
/* NAT-T negotiated and a NAT (or natt_force) detected. */
bool ikev1_sa_natt(const struct ikev1_sa *sa);
/* NAT-D showed that we are behind a NAT (RFC 3947 §3.2): our side keeps
 * the mapping alive (RFC 3948 §2.3 keepalives). */
bool ikev1_sa_nat_here(const struct ikev1_sa *sa);

/* A received datagram for this SA (cookies match).  Returns 0 (out
 * filled: maybe nothing), or a negative errno when dropped (counted in
 * the stats; nothing changed). */
int ikev1_input(struct ikev1_sa *sa, const uint8_t *pkt, size_t len,
		struct ikev1_out *out);

/* Start a Quick Mode as initiator (ESTABLISHED only): out->pkt = QM1. */
int ikev1_quick_start(struct ikev1_sa *sa, struct ikev1_out *out);
/* Phase 2 rekey: a new Quick Mode (same selectors) whose CHILD SA
 * carries replaces = old_spi_in; once it is installed the caller deletes
 * the old one (ikev1_delete).  Phase 1 rekey / re-authentication is a
 * new ISAKMP SA (ikev1_sa_new_initiator), then ikev1_delete(old, 0). */
int ikev1_quick_rekey(struct ikev1_sa *sa, uint32_t old_spi_in,
		      struct ikev1_out *out);
/* Informational Delete of a CHILD SA (our inbound SPI) or, with spi 0,
 * of the ISAKMP SA itself (the SA is DEAD afterwards). */
int ikev1_delete(struct ikev1_sa *sa, uint32_t spi_in, struct ikev1_out *out);
/* The same for a whole bundle: one Delete payload per protocol (RFC 2408
 * §3.15) with our inbound SPIs (esp_spi 0: no ESP, ah_spi 0: no AH,
 * cpi 0: no IPComp). */
int ikev1_delete_bundle(struct ikev1_sa *sa, uint32_t esp_spi, uint32_t ah_spi,
			uint16_t cpi, struct ikev1_out *out);

/* RFC 3706: an R-U-THERE (when the peer sent the DPD vendor ID, else
 * -ENOTSUP); the ACK comes back as out->dpd_ack.  Answering the peer's
 * R-U-THERE is automatic. */
int ikev1_dpd(struct ikev1_sa *sa, struct ikev1_out *out);

/* Our last message again (retransmission timer); -ENOENT if none. */
int ikev1_retransmit(struct ikev1_sa *sa, struct ikev1_out *out);

enum ikev1_state ikev1_sa_state(const struct ikev1_sa *sa);
void ikev1_sa_cookies(const struct ikev1_sa *sa, uint64_t *icookie,
		      uint64_t *rcookie);
const struct ikev1_stats *ikev1_sa_stats(const struct ikev1_sa *sa);
/* Key export (Wireshark's ikev1_decryption_table): cookie i, enc key. */
const struct ikev1_keys *ikev1_sa_keys(const struct ikev1_sa *sa);

void ikev1_out_clear(struct ikev1_out *out);

#endif
