/*
 * krb.h - kinkd's Kerberos layer over MIT krb5 (RFC 4120, RFC 3961):
 * the initiator's TGT from the keytab and service tickets, AP_REQ /
 * AP_REP with mutual authentication, the responder's replay cache,
 * KRB_ERROR (clock skew), and the RFC 3961 operations KINK uses with the
 * ticket's session key: encrypt/decrypt with key usage 39, get_mic /
 * verify_mic with key usage 40, and the PRF (RFC 4430 §5.2.8, §5.1).
 *
 * The environment is respected as krb5 itself does: KRB5_CONFIG (profile),
 * KRB5_KTNAME (krb5_kt_default), KRB5RCACHEDIR / KRB5RCACHENAME (replay
 * cache), KRB5CCNAME (if set, the TGT is kept there; otherwise in a
 * MEMORY ccache private to the daemon).
 */
#ifndef RACOON_KINK_KRB_H
#define RACOON_KINK_KRB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct kink_krb;  /* one per daemon: context, keytab, ccache */
struct kink_auth; /* one per exchange: auth context + session key */

/* Errors are negative errno values or KINK_KRB_ERR(code) for krb5 codes;
 * kink_krb_strerror() explains both. */
#define KINK_KRB_ERR(c) (-0x40000000 | (int)((c)&0x3fffffff))

int kink_krb_new(struct kink_krb **out, const char *my_principal);
void kink_krb_free(struct kink_krb *k);
const char *kink_krb_strerror(struct kink_krb *k, int err);
/* The krb5 error code behind err, or 0. */
long kink_krb_code(int err);

/* Initiator: get (cached) credentials for peer and make an AP_REQ with
 * mutual authentication.  *ap_req is malloc'ed. */
int kink_krb_mk_req(struct kink_krb *k, const char *peer_principal,
		    struct kink_auth **a, uint8_t **ap_req, size_t *len);
/* Initiator, User-to-User (RFC 4430 §4.3): the same with a ticket
 * encrypted in the session key of the peer's TGT (DER Ticket from its
 * KINK_TGT_REP), AP_OPTS_USE_SESSION_KEY. */
int kink_krb_mk_req_u2u(struct kink_krb *k, const char *peer_principal,
			const uint8_t *peer_tgt, size_t tgt_len,
			struct kink_auth **a, uint8_t **ap_req, size_t *len);
/* Our TGT as a DER Ticket, for KINK_TGT_REP.  *der is malloc'ed. */
int kink_krb_my_tgt(struct kink_krb *k, uint8_t **der, size_t *len);
/* True when we have no keytab entry for our principal, only a TGT in
 * KRB5CCNAME: AP_REQs to us must be User-to-User, and other ones are
 * answered KRB_AP_ERR_USER_TO_USER_REQUIRED. */
bool kink_krb_is_u2u(const struct kink_krb *k);
/* Initiator: check the AP_REP against the AP_REQ of a. */
int kink_krb_rd_rep(struct kink_krb *k, struct kink_auth *a,
		    const uint8_t *ap_rep, size_t len);

/* Responder: check an AP_REQ with the keytab (replay cache on).  The
 * client principal is written to client (may be truncated). */
int kink_krb_rd_req(struct kink_krb *k, const uint8_t *ap_req, size_t len,
		    struct kink_auth **a, char *client, size_t client_len);
int kink_krb_mk_rep(struct kink_krb *k, struct kink_auth *a, uint8_t **ap_rep,
		    size_t *len);

/* KRB-ERROR for a failed AP_REQ (error = the krb5 error of rd_req). */
int kink_krb_mk_error(struct kink_krb *k, int error, uint8_t **out,
		      size_t *len);
/* Decode a KRB-ERROR: its code and the server's time (for SKEW). */
int kink_krb_rd_error(struct kink_krb *k, const uint8_t *p, size_t len,
		      long *code, time_t *stime);
/* Adopt the server's clock (an offset in the krb5 context) after
 * KRB_AP_ERR_SKEW; the next AP_REQ carries the corrected time. */
int kink_krb_set_time(struct kink_krb *k, time_t stime);

/* Throw away cached credentials (e.g. a ticket the peer no longer
 * accepts). */
void kink_krb_flush(struct kink_krb *k);

void kink_auth_free(struct kink_auth *a);

/* RFC 3961 with the session key of a.  Outputs are malloc'ed. */
int kink_auth_encrypt(struct kink_auth *a, const uint8_t *in, size_t len,
		      uint8_t **out, size_t *out_len);
int kink_auth_decrypt(struct kink_auth *a, const uint8_t *in, size_t len,
		      uint8_t **out, size_t *out_len);
int kink_auth_mic(struct kink_auth *a, const uint8_t *in, size_t len,
		  uint8_t **out, size_t *out_len);
/* 0 if the MIC verifies (keyed checksum types only), else < 0. */
int kink_auth_verify_mic(struct kink_auth *a, const uint8_t *in, size_t len,
			 const uint8_t *mic, size_t mic_len);
/* prf+ of RFC 2409 §5.5 over the RFC 3961 PRF: out_len octets of
 * K1 | K2 | ..., K1 = prf(key, seed), Kn = prf(key, Kn-1 | seed). */
int kink_auth_prf_plus(struct kink_auth *a, const uint8_t *seed,
		       size_t seed_len, uint8_t *out, size_t out_len);
/* Session key enctype and raw key (for key export to Wireshark). */
int kink_auth_enctype(const struct kink_auth *a);
int kink_auth_key(const struct kink_auth *a, const uint8_t **key, size_t *len);

#endif
