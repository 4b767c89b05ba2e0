/*
 * cfg.h - iked's own view of the configuration.
 *
 * The daemon never walks the racoon2.conf model directly: cfg_load()
 * (cfg_conf.c) resolves it once into these flat structures, with the
 * IKEv2 transform IDs, IDs, keys and selectors iked needs.  That keeps
 * the state machine testable without a parser (unit tests fill a
 * struct ike_cfg by hand) and makes "reload" an atomic swap: a new
 * ike_cfg is built and, only if that succeeds, replaces the old one.
 *
 * Ownership: struct ike_cfg owns every remote and policy in it; SAs
 * refer to remotes/policies by name (re-resolved on reload), never by
 * pointer across a reload.  PSKs are wiped by cfg_free().
 */
#ifndef IKED_CFG_H
#define IKED_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

#define CFG_NAME_MAX 64
#define CFG_ID_MAX   256
#define CFG_PSK_MAX  256
#define CFG_ALG_MAX  16
#define CFG_PATH_MAX 256

/* IKEv2 Identification types (RFC 7296 §3.5). */
enum {
	IKE_ID_IPV4_ADDR = 1,
	IKE_ID_FQDN = 2,
	IKE_ID_RFC822_ADDR = 3,
	IKE_ID_IPV6_ADDR = 5,
	IKE_ID_DER_ASN1_DN = 9,
	IKE_ID_KEY_ID = 11,
};

struct ike_id {
	uint8_t type; /* 0 = unset (any / derived from the address) */
	uint16_t len;
	uint8_t data[CFG_ID_MAX];
};

/* One transform of a proposal list, by IKEv2 transform ID (§3.3.2). */
struct cfg_alg {
	uint16_t id;
	uint16_t keybits; /* ENCR only; 0 = fixed-size cipher */
};

struct cfg_alglist {
	size_t n;
	struct cfg_alg a[CFG_ALG_MAX];
};

enum cfg_script {
	SCRIPT_IKE_UP,
	SCRIPT_IKE_DOWN,
	SCRIPT_IKE_REKEY,
	SCRIPT_CHILD_UP,
	SCRIPT_CHILD_DOWN,
	SCRIPT_CHILD_REKEY,
	SCRIPT_MAX
};

#define CFG_POOL_MAX 8
#define CFG_DNS_MAX  4

/* An address range of an addresspool (inclusive, one family). */
struct cfg_range {
	struct kaddr start, end;
};

struct auth_cert_cfg;

/* kmp_auth_method bits (struct ike_remote.auth_methods). */
#define CFG_AUTH_PSK	  0x0001u /* AUTH method 2 */
#define CFG_AUTH_RSASIG	  0x0002u /* 1, and 14 with an RSA key */
#define CFG_AUTH_ECDSA256 0x0004u /* 9, and 14 with a P-256 key */
#define CFG_AUTH_ECDSA384 0x0008u /* 10, and 14 with a P-384 key */
#define CFG_AUTH_ECDSA521 0x0010u /* 11, and 14 with a P-521 key */
#define CFG_AUTH_DIGSIG	  0x0020u /* 14 (RFC 7427), any key */
#define CFG_AUTH_SIGS                                                          \
	(CFG_AUTH_RSASIG | CFG_AUTH_ECDSA256 | CFG_AUTH_ECDSA384 |             \
	 CFG_AUTH_ECDSA521 | CFG_AUTH_DIGSIG)
#define CFG_AUTH_SET 0x8000u /* the bits come from kmp_auth_method */

/* One IKEv1 Phase 1 suite (RFC 2409 App. A numbers). */
struct cfg_v1_p1 {
	uint16_t encr; /* ISAKMP_P1_ENCR_* */
	uint16_t keybits;
	uint16_t hash;	/* ISAKMP_P1_HASH_* */
	uint16_t group; /* DH group */
};

#define CFG_V1_P1_MAX 8

/* A remote's `ikev1 {}` block as iked uses it (v1_conf.c). */
struct cfg_v1 {
	bool peer_any; /* peers_ipaddr IP_RW / IP_ANY / unset */
	struct kaddr peer_addr;
	uint16_t peer_port;    /* 0 = 500 */
	struct ike_id my_id;   /* type 0: our IP address */
	struct ike_id peer_id; /* type 0: any */
	uint8_t psk[CFG_PSK_MAX];
	size_t psk_len;
	/* Phase 1 authentication (RFC 2409 App. A, RFC 4754 §3):
	 * ISAKMP_P1_AUTH_PSK, _RSA_SIG or _ECDSA_256/384/521; with a
	 * signature method cert holds my_public_key (its private key only
	 * in the privileged parent) and peers_public_key (auth_cert.c) */
	uint16_t auth_method;
	struct auth_cert_cfg *cert; /* owned; NULL for PSK */
	struct cfg_v1_p1 p1[CFG_V1_P1_MAX];
	unsigned n_p1;
	uint32_t lifetime_sec; /* kmp_sa_lifetime_time, 0 = 28800 */
	bool need_pfs;
	uint16_t pfs_group; /* need_pfs: first kmp_dh_group */
	unsigned max_retry;
	unsigned interval_ms;
	unsigned nego_limit_sec;
	unsigned dpd_delay_sec; /* 0 = no R-U-THERE of ours */
	unsigned dpd_retry_sec;
	unsigned dpd_max_fail;
	bool nat_traversal;
	unsigned nat_keepalive_sec; /* nat_keepalive_interval, 0 = 20 */
	bool passive;
	bool initial_contact;
	/* exchange_mode lists aggressive (RFC 2409 §5.4: a PSK hash an
	 * eavesdropper can attack offline): accepted; first: initiated */
	bool aggressive;
	bool aggressive_initiate;
};

struct ike_remote {
	char name[CFG_NAME_MAX];
	bool is_default;   /* the `default` remote: responder fallback */
	bool ikev2;	   /* ikev2 in acceptable_kmp */
	bool ikev1;	   /* ikev1 in acceptable_kmp (v1 below is valid) */
	bool v1_first;	   /* ikev1 is the first acceptable_kmp: an
			    * initiator speaks IKEv1 */
	struct cfg_v1 *v1; /* owned; NULL unless ikev1 */

	bool peer_any; /* peers_ipaddr IP_RW / IP_ANY / unset */
	struct kaddr peer_addr;
	uint16_t peer_port; /* host order; 0 = 500 */

	struct ike_id my_id;   /* type 0: use our IP address */
	struct ike_id peer_id; /* type 0: accept any ID */

	bool have_psk;
	uint8_t psk[CFG_PSK_MAX];
	size_t psk_len;
	/* kmp_auth_method: the AUTH methods this remote's peer may use,
	 * CFG_AUTH_* bits (cfg_auth_allows()).  Without CFG_AUTH_SET (a
	 * configuration made by hand, as in unit tests) the credentials
	 * decide: PSK with a PSK, signatures when cert accepts them. */
	unsigned auth_methods;
	/* Certificates and keys (auth_cert.c), NULL = PSK only. */
	struct auth_cert_cfg *cert;

	/* IKE SA proposal (kmp_enc_alg / prf / hash / dh_group). */
	struct cfg_alglist encr, prf, integ, dh;

	uint64_t lifetime_sec;	 /* kmp_sa_lifetime_time, 0 = infinite */
	uint64_t lifetime_bytes; /* accepted, IKE SAs carry little */
	unsigned max_retry;	 /* max_retry_to_send */
	unsigned interval_ms;	 /* interval_to_send: first timeout */
	unsigned nego_limit_sec; /* kmp_sa_nego_time_limit */
	unsigned dpd_delay_sec;	 /* 0 = off */
	unsigned dpd_max_fail;	 /* consecutive unanswered checks */
	bool cookie_required;
	bool nat_traversal;
	/* RFC 7383 (ikev2 { fragmentation; fragment_size; }): offer IKE
	 * fragmentation; the largest IP datagram of a fragment, IP and UDP
	 * headers included (0: 576 for IPv4, 1280 for IPv6, RFC 7383
	 * §2.5.1), lowered to the path MTU the kernel knows. */
	bool fragmentation;
	/* RFC 6023 (ikev2 { childless on; }): as initiator, IKE_AUTH
	 * without a CHILD SA when the responder supports it. */
	bool childless;
	unsigned fragment_size;
	bool mobike;  /* ikev2 { mobike on; }: RFC 4555 (mobike.c) */
	bool passive; /* never initiate */
	bool initial_contact;
	uint32_t window_size; /* we advertise (SET_WINDOW_SIZE), >= 1 */

	char script[SCRIPT_MAX][CFG_PATH_MAX];

	/* NAT-T keepalives, CP and address pool (natt.c, cp.c, rw.c). */
	unsigned nat_keepalive_sec;   /* nat_keepalive_interval, 0 = 20 */
	unsigned cp_request;	      /* `request` CONF_REQ_* bits */
	char pool_name[CFG_NAME_MAX]; /* provide addresspool, "" = none */
	size_t npool;
	struct cfg_range pool[CFG_POOL_MAX];
	size_t ndns; /* provide dns */
	struct kaddr dns[CFG_DNS_MAX];
};

struct ike_policy {
	char name[CFG_NAME_MAX];
	char remote[CFG_NAME_MAX]; /* remote_index */
	enum kmode mode;
	uint32_t reqid;

	/* Tunnel endpoints (my_sa_ipaddr / peers_sa_ipaddr). */
	struct kaddr my_sa, peer_sa;
	bool peer_sa_rw;

	/* Outbound selector: src = our side (TSi when we initiate),
	 * dst = the peer's side.  af == 0: none configured. */
	struct ksel sel;

	/* The CHILD SA's protocol: IPPROTO_ESP, or IPPROTO_AH for an
	 * `sa_index { ah; }` bundle (RFC 7296 §3.3: one per CHILD SA). */
	uint8_t ipsec_proto;
	/* Proposal from the policy's ipsec -> sa: esp_encr is empty for
	 * AH; esp_integ is AH's ah_auth_alg then. */
	struct cfg_alglist esp_encr, esp_integ;
	bool esn; /* propose/accept ESN */
	/* IPComp beside the CHILD SA (RFC 7296 §2.22) when the bundle has
	 * `ipcomp`: the IPCOMP_SUPPORTED transform IDs we offer and accept,
	 * in order (ipcomp_alg; only DEFLATE is carried), 0 entries = none */
	uint8_t ipcomp[4];
	unsigned n_ipcomp;
	uint16_t pfs_group; /* need_pfs: DH group for CREATE_CHILD_SA */

	uint64_t lifetime_sec;
	uint64_t lifetime_bytes;
	uint32_t replay_window;
	char sel_name[CFG_NAME_MAX]; /* outbound selector (spmd dynamic) */
	bool sel_inbound;	     /* sel_name is an inbound one */
	/* IKEv1 Quick Mode ESP suites (RFC 2407 §4.4.4/§4.5 numbers), made
	 * by v1_conf.c for policies of an ikev1 remote */
	uint8_t v1_esp[CFG_ALG_MAX];
	uint16_t v1_esp_bits[CFG_ALG_MAX];
	uint16_t v1_auth[CFG_ALG_MAX];
	unsigned n_v1_esp; /* 0: no ESP in the bundle */
	/* AH transform IDs (RFC 2407 §4.4.3) of an AH bundle; IPComp is
	 * n_ipcomp above */
	uint8_t v1_ah[CFG_ALG_MAX];
	unsigned n_v1_ah;
	bool v1; /* negotiable with IKEv1 (v1_conf.c accepted it) */
};

struct cfg_iface {
	struct kaddr addr; /* af == 0: wildcard of both families */
	uint16_t port;	   /* host order */
	bool port_set;	   /* written in the configuration */
};

#define CFG_IFACE_MAX 16

struct ike_cfg {
	size_t niface;
	struct cfg_iface iface[CFG_IFACE_MAX];

	size_t nremote;
	struct ike_remote *remote; /* array */
	/* cfg_remote_by_name's index (cfg_index_remotes): open addressing,
	 * each slot 1 + a position in remote[] (0 = empty), name_mask + 1
	 * slots.  Built once a load is complete; NULL (lookups scan) while
	 * remotes are still being added. */
	uint32_t *name_idx;
	size_t name_mask;
	size_t npolicy;
	struct ike_policy *policy; /* array */

	char spmif_path[CFG_PATH_MAX]; /* "" = do not use spmd */
	char spmd_password[CFG_PATH_MAX];
	char kernel[16];		  /* backend name from config */
	char kernel_socket[CFG_PATH_MAX]; /* interface { kernel_socket } */
	char ctl_path[CFG_PATH_MAX];
	char keyexport_path[CFG_PATH_MAX]; /* "" = off */
	/* Resource limits (dos.c; racoon2.conf(5) interface section). */
	unsigned cookie_threshold;     /* half-open SAs before COOKIE */
	unsigned half_open_max;	       /* the whole table */
	unsigned half_open_per_addr;   /* per source address */
	unsigned half_open_per_prefix; /* per /24 (IPv4) or /64 (IPv6) */
	unsigned half_open_timeout_ms; /* shrinks under pressure; 0 = off */
	unsigned sa_per_id;	       /* established IKE SAs per peer ID */
	unsigned child_per_sa;	       /* CHILD SAs per IKE SA */
	unsigned half_open_rate;       /* new half-open SAs/s under
					* pressure; 0 = no limit */
};

#define CFG_COOKIE_THRESHOLD	 16
#define CFG_HALF_OPEN_MAX	 1024
#define CFG_HALF_OPEN_PER_ADDR	 8
#define CFG_HALF_OPEN_PER_PREFIX 64
#define CFG_HALF_OPEN_TIMEOUT_MS 30000
#define CFG_SA_PER_ID		 16
#define CFG_CHILD_PER_SA	 64
#define CFG_HALF_OPEN_RATE	 100

/* Remotes that accept ikev1 (v1_conf.c): by peer address (or the
 * default remote when it lists ikev1) for a responder. */
const struct ike_remote *cfg_v1_remote_by_addr(const struct ike_cfg *cfg,
					       const struct kaddr *peer);
bool cfg_has_ikev1(const struct ike_cfg *cfg);

/* Build from a racoon2.conf file (cfg_conf.c).  On error returns
 * negative errno and writes a message into err. */
int cfg_load(const char *path, struct ike_cfg **out, char *err, size_t errlen);
struct ike_cfg *cfg_new(void);
void cfg_free(struct ike_cfg *cfg);
/* Grow the arrays (tests and the loader); returns NULL on ENOMEM. */
struct ike_remote *cfg_add_remote(struct ike_cfg *cfg);
struct ike_policy *cfg_add_policy(struct ike_cfg *cfg);
/* Defaults for a remote/policy: algorithms every peer supports. */
void cfg_remote_defaults(struct ike_remote *r);
void cfg_policy_defaults(struct ike_policy *p);

/* By `remote NAME` (the first such remote): a hash lookup once
 * cfg_index_remotes() has run, a scan before. */
const struct ike_remote *cfg_remote_by_name(const struct ike_cfg *cfg,
					    const char *name);
/* Builds the name index; cfg_load() calls it, and a reload builds a new
 * cfg (and so a new index).  cfg_add_remote() drops it.  Returns 0 or
 * -ENOMEM (cfg_load then fails; without an index lookups scan). */
int cfg_index_remotes(struct ike_cfg *cfg);
/* Responder lookup by address, then the default remote. */
const struct ike_remote *cfg_remote_by_addr(const struct ike_cfg *cfg,
					    const struct kaddr *peer);
/* IKE_AUTH: the remote whose peers_id equals id (RFC 7296 §2.15). */
const struct ike_remote *cfg_remote_by_id(const struct ike_cfg *cfg,
					  const struct ike_id *id,
					  const struct kaddr *peer);
const struct ike_policy *cfg_policy_by_name(const struct ike_cfg *cfg,
					    const char *name);
const struct ike_policy *cfg_policy_by_reqid(const struct ike_cfg *cfg,
					     uint32_t reqid);
/* The first policy of a remote, or NULL. */
const struct ike_policy *cfg_policy_for_remote(const struct ike_cfg *cfg,
					       const char *remote,
					       size_t *iter);

/* The remote has a PSK it may use: configured, not empty, and psk
 * allowed by kmp_auth_method (RFC 7296 §2.15: the key must not be
 * empty; issue 9: a 0-octet key is no key). */
bool cfg_psk_usable(const struct ike_remote *r);
/* May r's peer authenticate with AUTH method m (RFC 7296 §3.8)?  PSK
 * also needs cfg_psk_usable(); method 14 is allowed when any signature
 * method is, the key type is checked by auth_cert_verify(). */
bool cfg_auth_allows(const struct ike_remote *r, uint8_t m);
/* For method 14: does kmp_auth_method allow a key of this type?
 * rsa: RSA; ec_bits 256/384/521 for ECDSA keys, 0 for others. */
bool cfg_auth_allows_key(const struct ike_remote *r, bool rsa, int ec_bits);

bool ike_id_eq(const struct ike_id *a, const struct ike_id *b);
const char *ike_id_str(const struct ike_id *id, char *buf, size_t len);
/* Parse "fqdn:x", "ipaddr:1.2.3.4", "email:x", "keyid:x" or bare. */
int ike_id_parse(const char *s, struct ike_id *id);
void ike_id_from_addr(const struct kaddr *a, struct ike_id *id);

#endif
