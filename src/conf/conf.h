/*
 * conf.h - the racoon2.conf data model and its loader.
 *
 * conf_load() reads racoon2.conf (following `include`), substitutes
 * `setval` variables and environment variables, checks the result and
 * hands back a *resolved* struct conf:
 *   - values from the `default { ... }` section are already copied into
 *     every remote / policy / ipsec / sa that omitted them, and built-in
 *     defaults are applied (see each field's comment);
 *   - every *_index reference is resolved to a pointer;
 *   - address macros (MY_IP, IP_ANY, IP_RW, ...) stay symbolic in
 *     struct conf_addr; conf_addr_expand() turns them into concrete
 *     addresses when a daemon needs them.
 *
 * Ownership: struct conf owns everything reachable from it (all
 * strings, arrays and objects).  Pointers between objects (policy ->
 * remote, selector -> policy, ...) are borrowed links inside the same
 * struct conf.  Free it all with conf_free(); nothing inside may be
 * freed separately.  A struct conf is never modified after conf_load()
 * returns, so it may be shared read-only; a reload builds a new one.
 *
 * Times are in seconds and byte counts in bytes, both uint64_t; for
 * lifetimes 0 means "infinite" (racoon2: "0 means infinite").
 */
#ifndef RACOON_CONF_H
#define RACOON_CONF_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

/* Where something was written: file (as opened, e.g. the included path),
 * 1-based line and column. */
struct conf_loc {
	const char *file; /* owned by the struct conf / conf_diag */
	unsigned line;
	unsigned col;
};

enum conf_severity { CONF_DIAG_ERROR = 0, CONF_DIAG_WARNING = 1 };

struct conf_diag_entry {
	enum conf_severity sev;
	char *file; /* owned */
	unsigned line, col;
	char *msg; /* owned; "expected ';' after ..." */
};

/* Collects every error and warning of one load.  Initialise with
 * conf_diag_init(), release with conf_diag_free().  At most
 * CONF_DIAG_MAX entries are stored; the rest are only counted. */
#define CONF_DIAG_MAX 1000
struct conf_diag {
	struct conf_diag_entry *v;
	size_t n, cap;
	unsigned nerrors, nwarnings; /* including those not stored */
};

void conf_diag_init(struct conf_diag *d);
void conf_diag_free(struct conf_diag *d);
/* One line per entry: "file:line:col: error: msg\n". */
void conf_diag_print(FILE *f, const struct conf_diag *d);

/* ------------------------------------------------------------------ */
/* Algorithms                                                          */
/* ------------------------------------------------------------------ */

/* Slots an algorithm name may appear in (bit mask). */
#define CONF_SLOT_KMP_ENC  0x001u /* kmp_enc_alg */
#define CONF_SLOT_KMP_PRF  0x002u /* kmp_prf_alg */
#define CONF_SLOT_KMP_HASH 0x004u /* kmp_hash_alg (IKEv2: integrity) */
#define CONF_SLOT_KMP_DH   0x008u /* kmp_dh_group */
#define CONF_SLOT_ESP_ENC  0x010u /* esp_enc_alg */
#define CONF_SLOT_ESP_AUTH 0x020u /* esp_auth_alg */
#define CONF_SLOT_AH_AUTH  0x040u /* ah_auth_alg */
#define CONF_SLOT_IPCOMP   0x080u /* ipcomp_alg */

/* Flags of an algorithm. */
#define CONF_ALGF_AEAD	   0x01u /* combined mode: no integrity needed */
#define CONF_ALGF_V1_ONLY  0x02u /* IKEv1 only (no IKEv2 transform) */
#define CONF_ALGF_V1_HASH  0x04u /* valid as IKEv1 kmp_hash_alg */
#define CONF_ALGF_LEGACY   0x08u /* accepted but weak/obsolete */
#define CONF_ALGF_NOT_IMPL 0x10u /* racoon2 name with no implementation */

enum conf_alg {
	CONF_ALG_NONE = 0,
	/* encryption (racoon2 names) */
	CONF_ALG_DES_CBC_IV64,
	CONF_ALG_DES_CBC,
	CONF_ALG_3DES_CBC,
	CONF_ALG_RC5_CBC,
	CONF_ALG_IDEA_CBC,
	CONF_ALG_CAST128_CBC,
	CONF_ALG_BLOWFISH_CBC,
	CONF_ALG_3IDEA_CBC,
	CONF_ALG_DES_CBC_IV32,
	CONF_ALG_RC4_CBC,
	CONF_ALG_NULL_ENC,
	CONF_ALG_RIJNDAEL_CBC, /* = AES-CBC-128 */
	CONF_ALG_AES128_CBC,
	CONF_ALG_AES192_CBC,
	CONF_ALG_AES256_CBC,
	CONF_ALG_AES_CTR, /* AES-CTR-128 */
	CONF_ALG_TWOFISH_CBC,
	/* encryption (modern) */
	CONF_ALG_AES128_CTR,
	CONF_ALG_AES192_CTR,
	CONF_ALG_AES256_CTR,
	CONF_ALG_AES128_GCM8,
	CONF_ALG_AES192_GCM8,
	CONF_ALG_AES256_GCM8,
	CONF_ALG_AES128_GCM12,
	CONF_ALG_AES192_GCM12,
	CONF_ALG_AES256_GCM12,
	CONF_ALG_AES128_GCM16,
	CONF_ALG_AES192_GCM16,
	CONF_ALG_AES256_GCM16,
	CONF_ALG_CHACHA20_POLY1305,
	/* integrity / prf / hash */
	CONF_ALG_NON_AUTH,
	CONF_ALG_HMAC_MD5,
	CONF_ALG_HMAC_SHA1,
	CONF_ALG_HMAC_SHA2_256,
	CONF_ALG_HMAC_SHA2_384,
	CONF_ALG_HMAC_SHA2_512,
	CONF_ALG_AES_XCBC,
	CONF_ALG_DES_MAC,
	CONF_ALG_AES_CMAC,
	CONF_ALG_KPDK_MD5,
	CONF_ALG_MD5,
	CONF_ALG_SHA1,
	CONF_ALG_TIGER,
	CONF_ALG_SHA2_256,
	CONF_ALG_SHA2_384,
	CONF_ALG_SHA2_512,
	/* IPComp */
	CONF_ALG_OUI,
	CONF_ALG_DEFLATE,
	CONF_ALG_LZS,
	/* Diffie-Hellman groups */
	CONF_ALG_MODP768,
	CONF_ALG_MODP1024,
	CONF_ALG_EC2N155,
	CONF_ALG_EC2N185,
	CONF_ALG_MODP1536,
	CONF_ALG_MODP2048,
	CONF_ALG_MODP3072,
	CONF_ALG_MODP4096,
	CONF_ALG_MODP6144,
	CONF_ALG_MODP8192,
	CONF_ALG_ECP256,
	CONF_ALG_ECP384,
	CONF_ALG_ECP521,
	CONF_ALG_CURVE25519,
	CONF_ALG_CURVE448,
	CONF_ALG_COUNT
};

/*
 * One row of the algorithm table.  The IKEv2 transform IDs are those of
 * RFC 7296 §3.3.2 and the IANA "IKEv2 Transform Attribute" registry;
 * 0 = not usable in that transform type.  ESP/AH use the same IDs
 * (ENCR for esp_enc_alg, INTEG for esp_auth_alg / ah_auth_alg).
 */
struct conf_alg_info {
	enum conf_alg alg;
	const char *name;   /* canonical name, racoon2's where it has one */
	const char *alias;  /* other accepted name or NULL */
	unsigned slots;	    /* CONF_SLOT_* */
	unsigned flags;	    /* CONF_ALGF_* */
	uint16_t encr_id;   /* transform type 1 (ENCR) */
	uint16_t prf_id;    /* transform type 2 (PRF) */
	uint16_t integ_id;  /* transform type 3 (INTEG) */
	uint16_t dh_id;	    /* transform type 4 (D-H group number) */
	uint16_t ipcomp_id; /* IPCOMP transform ID (RFC 7296 §3.10.1) */
	uint16_t key_bits;  /* default key length (ENCR attribute), 0 = n/a */
	uint16_t icv_bytes; /* AEAD ICV length, integrity output (trunc) */
};

/* NULL if unknown; accepts canonical names and aliases. */
const struct conf_alg_info *conf_alg_by_name(const char *name);
const struct conf_alg_info *conf_alg_info(enum conf_alg alg);
/* Canonical name; "unknown" for out-of-range values. */
const char *conf_alg_name(enum conf_alg alg);
/* Lookup by D-H group number (RFC 7296 §3.3.2 transform type 4). */
const struct conf_alg_info *conf_alg_by_dh_group(unsigned group);

/* One entry of an algorithm list: `name[,keylen[,key]]`. */
struct conf_alg_spec {
	enum conf_alg alg;
	uint32_t key_bits; /* 0 = the algorithm's default */
	char *key;	   /* static key ("0x..." or string), NULL if none */
};

struct conf_alg_list {
	struct conf_alg_spec *v; /* owned */
	size_t n;
};

enum conf_auth_method {
	CONF_AUTH_NONE = 0,
	CONF_AUTH_PSK,
	CONF_AUTH_DSS,
	CONF_AUTH_RSASIG,
	CONF_AUTH_RSAENC,
	CONF_AUTH_RSAREV,
	CONF_AUTH_GSSAPI_KRB,
	CONF_AUTH_ECDSA256, /* modern: RFC 7296 §3.8 methods 9-11 */
	CONF_AUTH_ECDSA384,
	CONF_AUTH_ECDSA521,
	CONF_AUTH_DIGSIG, /* RFC 7427 digital signature */
};
const char *conf_auth_method_name(enum conf_auth_method m);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

enum conf_addr_kind {
	CONF_ADDR_UNSET = 0,
	CONF_ADDR_IP,	 /* literal IPv4/IPv6 address, maybe with prefix */
	CONF_ADDR_ANY,	 /* IP_ANY / IP_UNSPECIFIED: wildcard */
	CONF_ADDR_RW,	 /* IP_RW: road warrior, learnt at run time */
	CONF_ADDR_MY_IP, /* MY_IP: every local address */
	CONF_ADDR_MY_IPV4,
	CONF_ADDR_MY_IPV6,
	CONF_ADDR_MY_IPV6_GLOBAL,
	CONF_ADDR_MY_IPV6_LINKLOCAL,
	CONF_ADDR_NAME, /* host name, resolved by conf_addr_expand */
	CONF_ADDR_UNIX, /* `unix PATH` (interface spmd only) */
};

#define CONF_PORT_ANY 0 /* "port any" or no port given */

struct conf_addr {
	enum conf_addr_kind kind;
	uint8_t af;    /* AF_INET/AF_INET6 for CONF_ADDR_IP, else 0 */
	uint8_t plen;  /* prefix length; full length when not written */
	bool has_plen; /* "/N" written */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	} u;
	uint32_t scope_id;	  /* fe80::1%eth0 (if_nametoindex at load) */
	char ifname[IF_NAMESIZE]; /* MY_IP%ifname or fe80::1%ifname */
	char *name;    /* CONF_ADDR_NAME host / CONF_ADDR_UNIX path */
	uint16_t port; /* host order; CONF_PORT_ANY = any/unset */
	bool has_port; /* "port X" written (X may be "any") */
	struct conf_loc loc;
};

struct conf_addr_list {
	struct conf_addr *v; /* owned */
	size_t n;
};

/* True for MY_IP* kinds. */
bool conf_addr_is_macro(const struct conf_addr *a);
/* Text form as in the config ("MY_IPV6%eth0", "10.0.0.0/24", "IP_RW");
 * without the port.  Returns buf. */
const char *conf_addr_str(const struct conf_addr *a, char *buf, size_t len);
/* Does concrete address sa (port ignored unless a->port != 0) fall in a?
 * Literal addresses compare by prefix, IP_ANY/IP_RW match everything,
 * names and MY_* macros are expanded first. */
bool conf_addr_match(const struct conf_addr *a, const struct sockaddr *sa);

/*
 * Expand a to concrete addresses: literals give themselves, MY_* macros
 * walk getifaddrs() (filtered by family/scope/ifname), names are
 * resolved with getaddrinfo(AI_NUMERICSERV), IP_ANY gives 0.0.0.0 and
 * ::.  IP_RW and UNIX give nothing.  The callback receives a sockaddr
 * with a->port filled in (host order in the struct conf, network order
 * in the sockaddr) and the prefix length; returning non-zero stops the
 * walk and that value is returned.  Returns 0 or a negative errno.
 */
typedef int (*conf_addr_cb)(const struct sockaddr *sa, socklen_t salen,
			    unsigned plen, void *arg);
int conf_addr_expand(const struct conf_addr *a, conf_addr_cb cb, void *arg);

/*
 * Host names (CONF_ADDR_NAME) are resolved with getaddrinfo(3) unless a
 * process installs its own resolver here (spmd with `resolver on;`: its
 * DNS proxy's cache).  fn fills at most max entries of af (AF_INET or
 * AF_INET6) and 16-octet addresses and returns how many, or a negative
 * errno; fn == NULL restores getaddrinfo.
 */
struct conf_name_addr {
	uint8_t af;
	uint8_t a[16];
};
typedef int (*conf_name_resolver)(void *arg, const char *name,
				  struct conf_name_addr *out, size_t max);
void conf_set_name_resolver(conf_name_resolver fn, void *arg);

/* ------------------------------------------------------------------ */
/* Identities, keys, scripts                                           */
/* ------------------------------------------------------------------ */

enum conf_id_type {
	CONF_ID_NONE = 0,
	CONF_ID_IPADDR,
	CONF_ID_EMAIL, /* racoon2 "email" (USER_FQDN) */
	CONF_ID_FQDN,
	CONF_ID_KEYID,
	CONF_ID_X509_SUBJECT,
};
enum conf_id_qual {
	CONF_IDQ_DEFAULT = 0, /* keyid: file; others: the value itself */
	CONF_IDQ_FILE,
	CONF_IDQ_TAG,
};
struct conf_id {
	enum conf_id_type type;
	enum conf_id_qual qual;
	char *value; /* owned; after substitution */
};
struct conf_id_list {
	struct conf_id *v; /* owned */
	size_t n;
};

enum conf_key_format {
	CONF_KEYF_NONE = 0,
	CONF_KEYF_X509PEM,
	CONF_KEYF_PKCS12,
	CONF_KEYF_ASCII,
};
struct conf_pubkey {
	enum conf_key_format format; /* NONE = not configured */
	char *pub;		     /* owned: public key / certificate file */
	char *priv; /* owned: private key file (my_public_key) or NULL */
};

/* racoon2 script hooks; the IKEv2 names are aliases of these. */
enum conf_script {
	CONF_SCRIPT_PHASE1_UP = 0, /* ike_sa_up */
	CONF_SCRIPT_PHASE1_DOWN,   /* ike_sa_down */
	CONF_SCRIPT_PHASE1_REKEY,  /* ike_sa_rekey */
	CONF_SCRIPT_PHASE2_UP,	   /* child_up */
	CONF_SCRIPT_PHASE2_DOWN,   /* child_down */
	CONF_SCRIPT_PHASE2_REKEY,  /* child_rekey */
	CONF_SCRIPT_MIGRATION,
	CONF_SCRIPT_COUNT
};
const char *conf_script_name(enum conf_script s);

/* `request { ... }` bits (IKEv2 configuration payload, RFC 7296 §3.15). */
#define CONF_REQ_IP4_ADDRESS	     0x001u
#define CONF_REQ_IP6_ADDRESS	     0x002u
#define CONF_REQ_IP4_DNS	     0x004u
#define CONF_REQ_IP6_DNS	     0x008u
#define CONF_REQ_IP4_DHCP	     0x010u
#define CONF_REQ_IP6_DHCP	     0x020u
#define CONF_REQ_APPLICATION_VERSION 0x040u
#define CONF_REQ_MIP6_HOME_PREFIX    0x080u

struct conf_provide {
	char *addresspool_name;		   /* owned or NULL */
	struct conf_addrpool *addresspool; /* resolved link or NULL */
	struct conf_addr_list dns;
	struct conf_addr_list dhcp;
	char *application_version; /* owned or NULL */
	struct conf_addr_list mip6_home_prefix;
};

/* ------------------------------------------------------------------ */
/* remote                                                              */
/* ------------------------------------------------------------------ */

enum conf_kmp {
	CONF_KMP_NONE = 0,
	CONF_KMP_IKEV2,
	CONF_KMP_IKEV1,
	CONF_KMP_KINK,
};
const char *conf_kmp_name(enum conf_kmp k);

enum conf_logmode { CONF_LOGMODE_NORMAL = 0, CONF_LOGMODE_DEBUG };
enum conf_check {
	CONF_CHECK_OBEY = 0,
	CONF_CHECK_STRICT,
	CONF_CHECK_CLAIM,
	CONF_CHECK_EXACT,
};
enum conf_exmode {
	CONF_EXMODE_MAIN = 1,
	CONF_EXMODE_AGGRESSIVE,
	CONF_EXMODE_BASE,
};
enum conf_mobility {
	CONF_MOB_NONE = 0,
	CONF_MOB_AGENT,
	CONF_MOB_MOBILE,
	CONF_MOB_CORRESPONDENT,
};

/*
 * Keys of a KMP block (ikev1 {}, ikev2 {}, kink {}).  The numbering is
 * used for the `set` bit mask of struct conf_kmp_params: a bit is set
 * when the key was written in the remote or inherited from `default`
 * (dump prints exactly those).  Built-in defaults do not set bits.
 */
enum conf_kmp_key {
	CK_LOGMODE,
	CK_LOGFILE,
	CK_PASSIVE,
	CK_USE_COA,
	CK_PEERS_IPADDR,
	CK_PEERS_KMP_PORT,
	CK_VERIFY_ID,
	CK_VERIFY_PUBKEY,
	CK_SEND_CERT,
	CK_SEND_CERT_REQ,
	CK_NONCE_SIZE,
	CK_INITIAL_CONTACT,
	CK_SUPPORT_PROXY,
	CK_NAT_TRAVERSAL,
	CK_NAT_KEEPALIVE,
	CK_MY_ID,
	CK_PEERS_ID,
	CK_SELECTOR_CHECK,
	CK_PROPOSAL_CHECK,
	CK_RANDOM_PAD_CONTENT,
	CK_RANDOM_PADLEN,
	CK_MAX_PADLEN,
	CK_MAX_RETRY_TO_SEND,
	CK_INTERVAL_TO_SEND,
	CK_TIMES_PER_SEND,
	CK_KMP_SA_LIFETIME_TIME,
	CK_KMP_SA_LIFETIME_BYTE,
	CK_KMP_SA_NEGO_TIME_LIMIT,
	CK_KMP_SA_GRACE_PERIOD,
	CK_IPSEC_SA_NEGO_TIME_LIMIT,
	CK_KMP_ENC_ALG,
	CK_KMP_HASH_ALG,
	CK_KMP_PRF_ALG,
	CK_KMP_AUTH_METHOD,
	CK_KMP_DH_GROUP,
	CK_MOBILITY_ROLE,
	CK_SCRIPT,
	CK_EXCHANGE_MODE,
	CK_MY_GSSAPI_ID,
	CK_NEED_PFS,
	CK_MY_PUBLIC_KEY,
	CK_PEERS_PUBLIC_KEY,
	CK_PRE_SHARED_KEY,
	CK_DPD,
	CK_DPD_DELAY,
	CK_DPD_RETRY,
	CK_DPD_MAXFAIL,
	CK_COOKIE_REQUIRED,
	CK_SEND_PEERS_ID,
	CK_REQUEST,
	CK_PROVIDE,
	CK_MY_PRINCIPAL,
	CK_PEERS_PRINCIPAL,
	CK_FRAGMENTATION,
	CK_FRAGMENT_SIZE,
	CK_CHILDLESS,
	CK_MOBIKE,
	CK_COUNT
};

/*
 * Parameters of one KMP for one remote.  One struct type serves ikev1,
 * ikev2 and kink; the parser accepts in each block only the keys
 * racoon2 defines for it (comments say which).  Built-in defaults
 * (applied when neither the remote nor `default` sets a key) are given
 * in brackets.
 */
struct conf_kmp_params {
	bool present;	     /* the block was written (or inherited) */
	uint64_t set;	     /* bit (1 << CK_*) per key written */
	struct conf_loc loc; /* of the block */

	/* common to all KMPs */
	enum conf_logmode logmode; /* [normal] */
	char *logfile;
	bool passive;			    /* [off] responder only */
	bool use_coa;			    /* [off] */
	struct conf_addr_list peers_ipaddr; /* each with port; IP_RW allowed */
	char *peers_kmp_port;	/* service name or number, or NULL */
	bool verify_id;		/* [on] */
	bool verify_pubkey;	/* [on] */
	bool send_cert;		/* [on] */
	bool send_cert_req;	/* [on] */
	uint64_t nonce_size;	/* bytes [16] */
	bool initial_contact;	/* [on] */
	bool support_proxy;	/* [off] */
	bool nat_traversal;	/* [on] RFC 7296 §2.23 */
	uint64_t nat_keepalive; /* seconds [20]; new key
				 * `nat_keepalive_interval` */
	/* IKEv2 fragmentation (RFC 7383), new keys: offer it [on]; the
	 * largest IP datagram of a fragment [0 = 576 IPv4, 1280 IPv6]. */
	bool fragmentation;
	uint64_t fragment_size;
	/* RFC 6023, new key: initiate IKE SAs without a CHILD SA in
	 * IKE_AUTH (the CHILD SAs follow in CREATE_CHILD_SA) [off]. */
	bool childless;
	bool mobike; /* [off] RFC 4555, new key */
	struct conf_id_list my_id;
	struct conf_id_list peers_id;
	enum conf_check selector_check; /* [obey] (obey|exact) */
	enum conf_check proposal_check; /* [obey] */
	bool random_pad_content;	/* [on] */
	bool random_padlen;		/* [on]; racoon2 also "padlen_random" */
	uint64_t max_padlen;		/* bytes [50] */
	uint32_t max_retry_to_send;	/* [3] */
	uint64_t interval_to_send;	/* seconds [10] */
	uint32_t times_per_send;	/* [1] */
	uint64_t kmp_sa_lifetime_time;	/* seconds [0 = infinite] */
	uint64_t kmp_sa_lifetime_byte;	/* bytes [0 = infinite] */
	uint64_t kmp_sa_nego_time_limit;   /* seconds [60] */
	uint64_t kmp_sa_grace_period;	   /* seconds [40] */
	uint64_t ipsec_sa_nego_time_limit; /* seconds [40] */
	struct conf_alg_list kmp_enc_alg;
	struct conf_alg_list kmp_hash_alg; /* IKEv2: integrity */
	struct conf_alg_list kmp_prf_alg;  /* IKEv2 only */
	struct conf_alg_list kmp_dh_group;
	enum conf_auth_method *kmp_auth_method; /* owned list */
	size_t n_kmp_auth_method;
	enum conf_mobility mobility_role;
	char *script[CONF_SCRIPT_COUNT]; /* owned paths or NULL */

	/* ikev1 only */
	enum conf_exmode exchange_mode[3]; /* [main] */
	size_t n_exchange_mode;
	char *my_gssapi_id;
	bool dpd;	      /* [on] */
	uint64_t dpd_retry;   /* seconds [5] */
	uint32_t dpd_maxfail; /* [5] */

	/* ikev1 and ikev2 */
	bool need_pfs; /* [off] */
	struct conf_pubkey my_public_key;
	struct conf_pubkey peers_public_key;
	char *pre_shared_key; /* PSK file path (checked 0600-ish) */
	uint64_t dpd_delay;   /* seconds [ikev1: 0, ikev2: 3600] */

	/* ikev2 only */
	bool cookie_required; /* [off] */
	bool send_peers_id;   /* [off] */
	unsigned request;     /* CONF_REQ_* bits [0] */
	struct conf_provide provide;

	/* kink only */
	char *my_principal;
	char *peers_principal;
};

static inline bool conf_kmp_isset(const struct conf_kmp_params *p,
				  enum conf_kmp_key k)
{
	return (p->set >> k) & 1u;
}

struct conf_selector;
struct conf_policy;

struct conf_remote {
	char *name; /* owned; "default" for conf->default_remote */
	struct conf_loc loc;
	enum conf_kmp acceptable_kmp[3]; /* first = what an initiator uses */
	size_t n_acceptable_kmp;
	struct conf_kmp_params ikev1;
	struct conf_kmp_params ikev2;
	struct conf_kmp_params kink;
	char *selector_name;		/* selector_index, owned or NULL */
	struct conf_selector *selector; /* resolved (road-warrior template) */
	/* policies whose remote_index names this remote (borrowed links) */
	struct conf_policy **policies;
	size_t npolicies;
};

/* The parameter block of remote r for KMP k (NULL if k is NONE). */
const struct conf_kmp_params *conf_remote_kmp(const struct conf_remote *r,
					      enum conf_kmp k);

/* ------------------------------------------------------------------ */
/* selector, policy, ipsec, sa, addresspool                            */
/* ------------------------------------------------------------------ */

enum conf_dir { CONF_DIR_OUTBOUND = 0, CONF_DIR_INBOUND = 1 };

#define CONF_PROTO_ANY (-1)

struct conf_selector {
	char *name;
	struct conf_loc loc;
	enum conf_dir direction; /* required */
	uint32_t order;		 /* [0] racoon2: not implemented */
	bool has_order;
	struct conf_addr src, dst;    /* with port; [IP_ANY] when omitted */
	int upper_layer_protocol;     /* IPPROTO_* or CONF_PROTO_ANY [any] */
	char *upper_layer_name;	      /* as written (e.g. "icmp6"), owned */
	int ul_type, ul_code;	      /* icmp type/code or -1 */
	char **next_header_including; /* owned list (not implemented) */
	size_t n_next_header_including;
	char *tagged;		    /* pf tag name or NULL */
	char *policy_name;	    /* policy_index, owned */
	struct conf_policy *policy; /* resolved, never NULL after load */
	uint32_t reqid;		    /* 0 = none */
	bool has_reqid;
};

enum conf_action {
	CONF_ACTION_AUTO_IPSEC = 0,
	CONF_ACTION_STATIC_IPSEC,
	CONF_ACTION_DISCARD,
	CONF_ACTION_NONE, /* bypass */
};
enum conf_ipsec_mode { CONF_MODE_TRANSPORT = 0, CONF_MODE_TUNNEL = 1 };
enum conf_ipsec_level {
	CONF_LEVEL_REQUIRE = 0,
	CONF_LEVEL_USE,
	CONF_LEVEL_UNIQUE,
};

/* Keys of policy/ipsec/sa for their `set` masks. */
enum conf_policy_key {
	CP_ACTION,
	CP_INSTALL,
	CP_REMOTE_INDEX,
	CP_IPSEC_INDEX,
	CP_IPSEC_MODE,
	CP_MY_SA_IPADDR,
	CP_PEERS_SA_IPADDR,
	CP_IPSEC_LEVEL,
	CP_COUNT
};
enum conf_ipsec_key {
	CI_LIFETIME_TIME,
	CI_LIFETIME_BYTE,
	CI_EXT_SEQUENCE,
	CI_SA_INDEX,
	CI_REPLAY_WINDOW,
	CI_COUNT
};
enum conf_sa_key {
	CS_SA_PROTOCOL,
	CS_ESP_ENC_ALG,
	CS_ESP_AUTH_ALG,
	CS_AH_AUTH_ALG,
	CS_IPCOMP_ALG,
	CS_SPI,
	CS_COUNT
};

struct conf_ipsec;

struct conf_policy {
	char *name;
	struct conf_loc loc;
	uint32_t set;		    /* 1 << CP_* */
	enum conf_action action;    /* required (or from default) */
	bool install;		    /* [on] */
	char *remote_name;	    /* remote_index or NULL */
	struct conf_remote *remote; /* resolved or NULL */
	char **ipsec_names;	    /* ipsec_index list, owned */
	struct conf_ipsec **ipsec;  /* resolved, same order (OR) */
	size_t nipsec;
	enum conf_ipsec_mode ipsec_mode;   /* [transport] */
	enum conf_ipsec_level ipsec_level; /* [require] */
	struct conf_addr my_sa_ipaddr;	   /* UNSET if not given */
	struct conf_addr peers_sa_ipaddr;  /* may be IP_RW */
	/* selectors whose policy_index names this policy (borrowed) */
	struct conf_selector **selectors;
	size_t nselectors;
};

struct conf_sa;

struct conf_ipsec {
	char *name;
	struct conf_loc loc;
	uint32_t set;			 /* 1 << CI_* */
	uint64_t ipsec_sa_lifetime_time; /* seconds [0 = infinite] */
	uint64_t ipsec_sa_lifetime_byte; /* bytes [0 = infinite] */
	bool ext_sequence;		 /* [off] ESN, RFC 4303 §2.2.1 */
	uint32_t replay_window;		 /* packets [64]; new key
					  * `replay_window` (max 4096) */
	char **sa_names;		 /* sa_index list (max 3), owned */
	struct conf_sa **sa;		 /* resolved, same order */
	size_t nsa;
	struct conf_sa *ah, *esp, *ipcomp; /* the bundle by protocol */
};

enum conf_sa_proto {
	CONF_SA_ESP = 0,
	CONF_SA_AH,
	CONF_SA_IPCOMP,
};

struct conf_sa {
	char *name;
	struct conf_loc loc;
	uint32_t set;			/* 1 << CS_* */
	enum conf_sa_proto sa_protocol; /* required */
	struct conf_alg_list esp_enc_alg;
	struct conf_alg_list esp_auth_alg;
	struct conf_alg_list ah_auth_alg;
	struct conf_alg_list ipcomp_alg;
	uint32_t spi; /* static SA SPI, 0 = none */
};

struct conf_addr_range {
	struct conf_addr start, end; /* same family, start <= end */
};

struct conf_addrpool {
	char *name;
	struct conf_loc loc;
	struct conf_addr_range *v; /* owned */
	size_t n;
};

/* ------------------------------------------------------------------ */
/* interface, resolver, root                                           */
/* ------------------------------------------------------------------ */

enum conf_kernel {
	CONF_KERNEL_DEFAULT = 0, /* not written: xfrm on Linux */
	CONF_KERNEL_XFRM,
	CONF_KERNEL_PFKEY,
	CONF_KERNEL_USERSPACE,
};
/* The one place a configuration chooses its kernel backend: the
 * kernel_backend() name for k (CONF_KERNEL_DEFAULT: "xfrm"). */
const char *conf_kernel_backend(enum conf_kernel k);

struct conf_interface {
	bool present;
	struct conf_addr_list ike;  /* [MY_IP port 500] when empty */
	struct conf_addr_list kink; /* [MY_IP port 910] when empty */
	/* spmd: CONF_ADDR_UNIX entries (path in .name) and, for debug
	 * builds of racoon2, address+port entries. */
	struct conf_addr_list spmd;
	char *spmd_password;	 /* file path or NULL */
	bool application_bypass; /* [on] */
	bool has_application_bypass;
	enum conf_kernel kernel; /* new keyword `kernel` */
	char *kernel_socket;	 /* `kernel_socket PATH;` or NULL */
	/* iked resource limits (racoon2.conf(5) "Resource limits"); a
	 * value counts only when its bit in ike_limits_set is on (bit i =
	 * the i-th of these keys), else iked's default applies. */
	uint32_t ike_cookie_threshold;
	uint32_t ike_half_open_max;
	uint32_t ike_half_open_per_addr;
	uint32_t ike_half_open_per_prefix;
	uint64_t ike_half_open_timeout; /* seconds */
	uint32_t ike_sa_per_id;
	uint32_t ike_child_sa_per_ike_sa;
	uint32_t ike_half_open_rate; /* per second, 0 = no limit */
	uint32_t ike_limits_set;
};

struct conf_resolver {
	bool present;
	bool enabled;			  /* `resolver on|off;` [off] */
	struct conf_addr_list nameserver; /* port [53] */
	struct conf_addr_list dns_query;  /* port [53] */
};

struct conf {
	char *path;   /* top-level file, owned */
	char **files; /* every file read (for conf_loc.file) */
	size_t nfiles;

	struct conf_interface iface;
	struct conf_resolver resolver;

	/* `default { remote {...}; }` as a remote named "default" with the
	 * built-in defaults applied; NULL if no default remote section. */
	struct conf_remote *default_remote;
	/* `default { policy/ipsec/sa }` (NULL when absent), for dump */
	struct conf_policy *default_policy;
	struct conf_ipsec *default_ipsec;
	struct conf_sa *default_sa;

	/* Objects in file order.  Arrays of owned pointers. */
	struct conf_remote **remotes;
	size_t nremotes;
	struct conf_selector **selectors;
	size_t nselectors;
	struct conf_policy **policies;
	size_t npolicies;
	struct conf_ipsec **ipsecs;
	size_t nipsecs;
	struct conf_sa **sas;
	size_t nsas;
	struct conf_addrpool **addrpools;
	size_t naddrpools;
};

/* ------------------------------------------------------------------ */
/* API                                                                 */
/* ------------------------------------------------------------------ */

/* Options for conf_load_ex / conf_load_buffer. */
#define CONF_LOAD_NO_INCLUDE   0x1u /* `include` is an error (fuzzing) */
#define CONF_LOAD_NO_FILECHECK 0x2u /* skip PSK/key file checks */
#define CONF_LOAD_NO_ENV       0x4u /* no $[ENV] substitution */
/* keep an index of the file's top-level statements for conf_delta_prepare
 * (a one-file configuration only; ~16 bytes per statement) */
#define CONF_LOAD_SRCINDEX 0x8u

/*
 * Load and check path.  On success returns 0 and *out owns the result
 * (warnings may be in diag).  On failure returns a negative errno
 * (-EINVAL for configuration errors, with every error in diag) and
 * *out is NULL.  diag may be NULL (errors then go nowhere).
 */
int conf_load(const char *path, struct conf **out, struct conf_diag *diag);
int conf_load_ex(const char *path, unsigned flags, struct conf **out,
		 struct conf_diag *diag);
/* Parse text held in memory (name is used in messages). */
int conf_load_buffer(const char *name, const void *buf, size_t len,
		     unsigned flags, struct conf **out, struct conf_diag *diag);
void conf_free(struct conf *c);

/*
 * Incremental reload (spmd; src/conf/incr.c).  old was loaded with
 * CONF_LOAD_SRCINDEX.  conf_delta_prepare() reads old's file again,
 * finds its unchanged head and tail (hashes of conf_srcidx_chunk-byte
 * pieces from either end), splits what lies between into top-level
 * statements and compares them (a 64-bit hash of each) with those old
 * was loaded from.  When only a run
 * of `selector` statements changed (and nothing else can see the
 * difference: no duplicate names, no remote's selector_index naming
 * them), it interprets those statements with the file's other
 * statements (every selector outside the run blanked, line and column
 * kept) into d->part and returns 0: old's selectors [d->from, d->to)
 * are to be replaced by d->part's selectors, in order.  -EAGAIN: do a
 * full conf_load (it gives exactly the fresh-start result, errors
 * included); -ENOMEM.  Nothing in old changes until conf_delta_commit(),
 * which cannot fail and leaves old equal to a fresh load of the file
 * (d->part's selectors then point at old's policies); conf_delta_free()
 * releases what is left of d either way.
 */
struct conf_delta {
	struct conf *part;	    /* owned: the changed selectors */
	size_t from, to;	    /* old selectors replaced */
	long line_shift;	    /* for the selectors after the run */
	struct conf_srcidx *src;    /* owned: the new file's index */
	struct conf_selector **sel; /* old's next selector array */
};
int conf_delta_prepare(struct conf *old, struct conf_delta *d);
/* piece size of the head/tail hashes (4096; tests make it small so that
 * small files have many pieces); set before the first load */
extern size_t conf_srcidx_chunk;
/* Same statement index (tests: an incremental reload's against a
 * fresh load's)? */
bool conf_srcidx_same(const struct conf *a, const struct conf *b);
void conf_delta_commit(struct conf *old, struct conf_delta *d);
void conf_delta_free(struct conf_delta *d);
/* Position of selector name in c->selectors, or SIZE_MAX. */
size_t conf_selector_index(const struct conf *c, const char *name);

/* Lookups; all return borrowed pointers or NULL. */
const struct conf_remote *conf_remote_find(const struct conf *c,
					   const char *name);
/*
 * The remote whose KMP block kmp (CONF_KMP_NONE = any acceptable one)
 * lists a peers_ipaddr matching sa (IP_RW entries do not match here).
 * Falls back to c->default_remote (the responder then picks the real
 * remote by ID in IKE_AUTH); NULL only if there is no default either.
 */
const struct conf_remote *conf_remote_by_addr(const struct conf *c,
					      enum conf_kmp kmp,
					      const struct sockaddr *sa);
/*
 * The remote whose peers_id (for kmp) equals the received identity
 * (type + value bytes; for CONF_ID_IPADDR value is the 4 or 16 address
 * bytes).  Falls back to c->default_remote like conf_remote_by_addr.
 */
const struct conf_remote *conf_remote_by_id(const struct conf *c,
					    enum conf_kmp kmp,
					    enum conf_id_type type,
					    const void *value, size_t len);
const struct conf_selector *conf_selector_find(const struct conf *c,
					       const char *name);
const struct conf_policy *conf_policy_find(const struct conf *c,
					   const char *name);
const struct conf_ipsec *conf_ipsec_find(const struct conf *c,
					 const char *name);
const struct conf_sa *conf_sa_find(const struct conf *c, const char *name);
const struct conf_addrpool *conf_addrpool_find(const struct conf *c,
					       const char *name);

/* Print the resolved configuration in racoon2 syntax (no setval, no
 * include, defaults folded in); parsing the output gives the same
 * configuration and the same dump.  Returns 0 or -EIO. */
int conf_dump(FILE *f, const struct conf *c);

/*
 * Shared command line handling for every daemon and racoon2-conf:
 * loads *path (CONF_DEFAULT_PATH when NULL), prints diagnostics to
 * stderr prefixed with progname, and returns 0 if valid, 1 if not.
 * With check_only the caller exits with that status (`-t`).
 * On success and out != NULL, *out owns the config.
 */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_DEFAULT_PATH SYSCONFDIR "/racoon2/racoon2.conf"
int conf_cli_load(const char *progname, const char *path, struct conf **out);
/* Same with CONF_LOAD_* flags (racoon2-conf -n: no file checks). */
int conf_cli_load_ex(const char *progname, const char *path, unsigned flags,
		     struct conf **out);

#endif
