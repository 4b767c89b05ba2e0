/*
 * kernel.h - the one kernel interface every daemon uses.
 *
 * A backend (XFRM netlink, PF_KEY v2, userspace ESP, fake) fills a
 * struct kernel_ops; daemons call only the k_* wrappers below and never
 * talk to a kernel API directly.  Algorithms are named by their IKEv2
 * IANA transform IDs (RFC 7296 §3.3.2) so that the key daemons and every
 * backend share one vocabulary; each backend maps them to its own names.
 *
 * Ownership: struct kernel is owned by the daemon that opened it;
 * structures passed to ops are borrowed for the call only (backends copy
 * what they keep).  struct ksa holds keys: callers wipe it with
 * ksa_wipe() when done.
 */
#ifndef RACOON_KERNEL_H
#define RACOON_KERNEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;

/* An IPv4 or IPv6 address; af == 0 means "unset/any". */
struct kaddr {
	uint8_t af; /* AF_INET, AF_INET6 or 0 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	} u;
};

/* A traffic selector as the kernel sees it (RFC 4301 §4.4.1.1). */
struct ksel {
	uint8_t af;
	uint8_t proto; /* 0 = any upper-layer protocol */
	uint8_t src_plen, dst_plen;
	struct kaddr src, dst;
	uint16_t sport, dport;		 /* host order, 0 = any */
	uint16_t sport_mask, dport_mask; /* 0 = any, 0xffff = exact */
	uint32_t ifindex;		 /* 0 = any */
};

enum kdir { KDIR_IN = 0, KDIR_OUT = 1, KDIR_FWD = 2 };
enum kaction { KPOL_IPSEC = 0, KPOL_DISCARD = 1, KPOL_BYPASS = 2 };
enum klevel { KLEVEL_REQUIRE = 0, KLEVEL_USE = 1, KLEVEL_UNIQUE = 2 };
enum kmode { KMODE_TRANSPORT = 0, KMODE_TUNNEL = 1 };

/* One IPsec template of a policy (an SA the traffic must go through). */
struct ktmpl {
	uint8_t proto; /* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	enum kmode mode;
	enum klevel level;
	struct kaddr src, dst; /* tunnel endpoints; unset in transport */
	uint32_t reqid;
};

#define KPOL_MAX_TMPL 4

struct kpolicy {
	struct ksel sel;
	enum kdir dir;
	enum kaction action;
	uint32_t priority;	       /* lower = preferred, as in XFRM */
	uint32_t index;		       /* backend's policy id; set by pol_add */
	uint64_t hard_add_expires_sec; /* 0 = none (dynamic policies) */
	unsigned ntmpl;
	struct ktmpl tmpl[KPOL_MAX_TMPL];
	/* filled by dump: */
	bool owned; /* installed by racoon2 (see backend for how known) */
	uint64_t cur_bytes, cur_packets;
	uint64_t add_time, use_time;
};

/* UDP encapsulation of ESP (RFC 3948). */
struct kencap {
	bool enabled;
	uint16_t sport, dport; /* host order */
	struct kaddr oa;       /* original address, optional */
};

struct klifetime {
	uint64_t soft_bytes, hard_bytes;     /* 0 = infinite */
	uint64_t soft_packets, hard_packets; /* 0 = infinite */
	uint64_t soft_add_sec, hard_add_sec; /* 0 = infinite */
	uint64_t soft_use_sec, hard_use_sec; /* 0 = infinite */
};

struct kcounters {
	uint64_t bytes, packets;
	uint64_t add_time, use_time; /* seconds since epoch, 0 = never */
	uint32_t replay_drops, integrity_drops;
};

#define KSA_MAX_KEY 64 /* enough for AES-256 + salt, HMAC-SHA-512 */

struct ksa {
	uint8_t proto; /* IPPROTO_ESP / AH / COMP */
	/* host order; for IPComp the CPI (RFC 3173 §3.3, 16 bits) */
	uint32_t spi;
	struct kaddr src, dst;
	enum kmode mode;
	uint32_t reqid;
	struct ksel sel; /* optional (af == 0 = none) */

	/* IKEv2 transform IDs (RFC 7296 §3.3.2), 0 = none. */
	uint16_t encr_id;	      /* ENCR_* incl. AEADs (GCM, ChaCha20) */
	uint16_t encr_keybits;	      /* key length without salt */
	uint16_t integ_id;	      /* AUTH_*, 0 for AEAD */
	uint8_t enc_key[KSA_MAX_KEY]; /* key || salt for AEAD/CTR */
	uint16_t enc_key_len;	      /* bytes incl. salt */
	uint8_t auth_key[KSA_MAX_KEY];
	uint16_t auth_key_len;
	/* IPComp only: IPCOMP transform ID (RFC 7296 §3.10.1), e.g.
	 * IKEV2_IPCOMP_DEFLATE; 0 for ESP and AH. */
	uint16_t comp_id;

	bool esn;
	uint32_t replay_window; /* packets; 0 = none */
	struct kencap encap;
	struct klifetime lft;
	bool update; /* update a larval SA made by getspi */
};

/*
 * MIGRATE (Mobile IPv6 movement, RFC 4877 / draft-sugimoto-mip6-pfkey-
 * migrate; Linux XFRM_MSG_MIGRATE, KAME/Linux SADB_X_MIGRATE): the policy
 * with exactly selector sel in direction dir keeps its index and counters
 * while each of its templates that a pair m[i] names (proto, mode, reqid
 * or 0 = any, and for tunnel mode the old endpoints) gets the new
 * endpoints; every SA of that proto, mode and reqid between the old
 * endpoints moves to the new ones in place: same SPI, keys, sequence
 * numbers and replay window.  A transport template names no endpoints
 * (kernel rule), so it matches by proto/mode/reqid alone; for a
 * transport SA whose endpoints differ from the selector (the mobile
 * node's care-of address, RFC 6275 §4.4), the pair is what moves it.
 * Backends report the MIGRATE as a KEV_MIGRATE event carrying the same
 * request (XFRM: to everyone on XFRMNLGRP_MIGRATE, sender included).
 */
#define KMIGRATE_MAX 6 /* XFRM_MAX_DEPTH */

struct kmigrate {
	uint8_t proto; /* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	enum kmode mode;
	uint32_t reqid; /* 0 = any */
	struct kaddr old_src, old_dst, new_src, new_dst;
};

struct kmigrate_req {
	struct ksel sel;
	enum kdir dir;
	unsigned n; /* 1..KMIGRATE_MAX pairs */
	struct kmigrate m[KMIGRATE_MAX];
	/* UDP encapsulation of the moved SAs (RFC 3948): has_encap false
	 * keeps each SA's own; true replaces it (enabled false removes). */
	bool has_encap;
	struct kencap encap;
};

enum kevent_type {
	KEV_ACQUIRE = 1,
	KEV_EXPIRE,	/* SA soft or hard expiry */
	KEV_POL_EXPIRE, /* policy lifetime ran out */
	KEV_MIGRATE,
	KEV_MAPPING, /* NAT mapping of an encapsulated SA changed */
	/*
	 * The backend lost state or events (r2espd restarted empty, the
	 * netlink event queue overflowed...): each owner must reinstall or
	 * reconcile what it owns (spmd its policies, iked its SAs).  Never
	 * sent for the initial connection; u.resync.reason says why.
	 */
	KEV_RESYNC,
};

#define KEV_RESYNC_REASON_MAX 64

struct kevent {
	enum kevent_type type;
	union {
		struct {
			struct ksel sel;       /* packet that triggered it */
			struct kaddr src, dst; /* SA endpoints wanted */
			uint32_t pol_index;
			enum kdir dir;
			struct ktmpl tmpl;
		} acquire;
		struct {
			uint8_t proto;
			uint32_t spi;
			struct kaddr dst;
			uint32_t reqid;
			bool hard;
		} expire;
		struct {
			uint32_t index;
			enum kdir dir;
			struct ksel sel;
			bool hard;
		} pol_expire;
		struct kmigrate_req migrate;
		struct {
			uint8_t proto;
			uint32_t spi;
			struct kaddr dst;
			struct kaddr old_addr, new_addr;
			uint16_t old_port, new_port;
		} mapping;
		struct {
			char reason[KEV_RESYNC_REASON_MAX]; /* NUL-terminated */
		} resync;
	} u;
};

/* Name of an event type for logs ("ACQUIRE", ..., "RESYNC"). */
const char *kevent_name(enum kevent_type type);
/* Fill *ev as a KEV_RESYNC with reason (truncated to fit). */
void kevent_resync(struct kevent *ev, const char *reason);

typedef void (*kevent_cb)(const struct kevent *ev, void *arg);
typedef int (*kpol_cb)(const struct kpolicy *p, void *arg);

struct kernel;

/*
 * One kernel operation of a batch (k_batch): what a caller that makes
 * several at once (a CHILD SA's SAs, a road warrior's policies) hands
 * over together, so that a backend behind a channel (iked's privileged
 * parent, r2espd) pays one round trip for all of them, not one each.
 * Every operation of a batch is attempted, in order, whatever the
 * others' results (none depends on another's answer); each gets its own
 * rc (0 or negative errno) and its outputs (getspi: spi; pol_add:
 * p->index).  The caller undoes the ones that succeeded when it needs
 * all.  Inputs are borrowed for the call, as with the k_* wrappers.
 */
enum kop_type {
	KOP_GETSPI = 1,
	KOP_SA_ADD,
	KOP_SA_DEL,
	KOP_POL_ADD,
	KOP_POL_DEL,
};

struct kop {
	enum kop_type type;
	union {
		struct {
			uint8_t proto;
			struct kaddr src, dst;
			uint32_t reqid;
			uint32_t spi; /* out */
		} getspi;
		const struct ksa *sa; /* KOP_SA_ADD */
		struct {
			uint8_t proto;
			struct kaddr dst;
			uint32_t spi;
		} sa_del;
		struct kpolicy *pol; /* KOP_POL_ADD (index out), POL_DEL */
	} u;
	int rc; /* out */
};

#define KBATCH_MAX 8 /* operations in one k_batch */
/* kop.rc of an operation the backend's batch op is to do (the others
 * were refused by k_batch's own checks and are left alone) */
#define KOP_TODO 1

/*
 * What a backend's data plane does, as strongSwan's kernel_ipsec.h
 * get_features(): the daemons ask k_has(), never the backend's name.
 * kernel_ops.features is what the backend can do; k_open() copies it to
 * k->features, which open() may narrow to what the running system does.
 */
enum kfeature {
	/* The SPD has a forward direction (Linux XFRM; the BSDs' PF_KEY
	 * refuses fwd policies, so the daemons install none). */
	KF_FWD_POLICY = 1u << 0,
	/* The kernel decapsulates ESP-in-UDP (RFC 3948) that arrives on a
	 * KMP's NAT-T socket marked with UDP_ENCAP_ESPINUDP.  Without it
	 * the data plane taps ESP-in-UDP itself (r2espd's raw tap) and the
	 * KMP's socket must only drop it (k_udp_decap()). */
	KF_UDP_DECAP_KERNEL = 1u << 1,
};

/* Every operation is required (a unit test checks each backend). */
struct kernel_ops {
	const char *name;
	unsigned features; /* enum kfeature bits */
	/* Allocate backend state in k->priv.  flags: K_OPEN_EVENTS */
	int (*open)(struct kernel *k, unsigned flags);
	void (*close)(struct kernel *k);

	int (*getspi)(struct kernel *k, uint8_t proto, const struct kaddr *src,
		      const struct kaddr *dst, uint32_t reqid, uint32_t *spi);
	int (*sa_add)(struct kernel *k, const struct ksa *sa);
	int (*sa_del)(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		      uint32_t spi);
	int (*sa_query)(struct kernel *k, uint8_t proto,
			const struct kaddr *dst, uint32_t spi,
			struct kcounters *out);

	int (*pol_add)(struct kernel *k, struct kpolicy *p);
	/* optional: pol_add of v[0..n) in few system calls; rc[i] each
	 * policy's result (0 or -errno, no message); the return is < 0 when
	 * the batch as a whole failed; every rc[i] is set either way */
	int (*pol_add_many)(struct kernel *k, struct kpolicy *const *v,
			    size_t n, int *rc);
	int (*pol_update)(struct kernel *k, struct kpolicy *p);
	int (*pol_del)(struct kernel *k, const struct kpolicy *p);
	/* optional: pol_del of v[0..n) in few system calls, rc[] as for
	 * pol_add_many (v is only read) */
	int (*pol_del_many)(struct kernel *k, struct kpolicy *const *v,
			    size_t n, int *rc);
	int (*pol_dump)(struct kernel *k, kpol_cb cb, void *arg);
	/* Remove every policy this backend recognises as racoon2's own. */
	int (*flush_own)(struct kernel *k);

	/* Descriptor to poll for events, or -1; then read them. */
	int (*event_fd)(struct kernel *k);
	int (*event_read)(struct kernel *k, kevent_cb cb, void *arg);

	/* Read back a whole SA (keys included) and its counters.
	 * Either out pointer may be NULL. */
	int (*sa_get)(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		      uint32_t spi, struct ksa *sa, struct kcounters *c);

	/* MIGRATE (see struct kmigrate_req): -ENOENT when no policy has
	 * that selector and direction; r was checked by k_migrate. */
	int (*migrate)(struct kernel *k, const struct kmigrate_req *r);

	/* The one optional operation: k_batch (struct kop) in one go
	 * (the userspace client: one ESPM_BATCH datagram to iked's
	 * privileged parent; to r2espd all requests sent before the first
	 * reply is awaited).  NULL: k_batch calls the ops above in turn.
	 * Fills every ops[i].rc and, for the first failure, last_error. */
	void (*batch)(struct kernel *k, struct kop *ops, size_t n);
};

#define K_OPEN_EVENTS 0x1 /* subscribe to ACQUIRE/EXPIRE/... */
/*
 * userspace backend only (r2espctl): the SAs added through this handle
 * carry static, operator-given keys, not keys a KMP just negotiated.
 * r2espd refuses a static AEAD key (GCM, ChaCha20-Poly1305: the nonce
 * is the sequence number, which restarts at 1 with every new SA, so the
 * same key added again after a restart reuses nonces) unless
 * K_OPEN_FORCE_STATIC_AEAD is also given.
 */
#define K_OPEN_STATIC_KEYS	 0x2
#define K_OPEN_FORCE_STATIC_AEAD 0x4

struct kernel {
	const struct kernel_ops *ops;
	void *priv;
	char last_error[128]; /* human text for the last failure */
	/* enum kfeature bits of the data plane behind k: the backend's
	 * (narrowed by its open), or behind a k_open_channel() those of
	 * the backend the privileged parent serves. */
	unsigned features;
};

/*
 * Whether the data plane behind k does f.  k == NULL (policy building
 * without a kernel, in tests and racoon2-conf) answers for the default
 * backend, XFRM.
 */
bool k_has(const struct kernel *k, enum kfeature f);

/*
 * Prepares a KMP's NAT-T socket (UDP 4500, RFC 3948 §2.2) for the data
 * plane behind k: with KF_UDP_DECAP_KERNEL it sets UDP_ENCAP_ESPINUDP so
 * the kernel diverts ESP-in-UDP to its ESP input and leaves IKE (non-ESP
 * marker) and keepalives on the socket; else it attaches a socket filter
 * that drops ESP-in-UDP (the data plane reads it elsewhere).  0 or
 * negative errno, with a reason in err.
 */
int k_udp_decap(const struct kernel *k, int fd, char *err, size_t errlen);

/*
 * Userspace data plane (r2espd) only: a socket for ESP-in-UDP beside the
 * KMP's bound NAT-T socket ikefd (prepared by k_udp_decap, which sets
 * SO_REUSEPORT): same address and port, in the same reuseport group,
 * whose classic-BPF steering program sends datagrams starting with the
 * non-ESP marker and keepalives to ikefd and ESP (non-zero SPI, RFC 3948
 * §2.2) to this one.  The KMP keeps it (never reads it) and hands it to
 * r2espd with k_udp_give, which receives (UDP GRO) and sends (UDP GSO,
 * source port 4500) ESP-in-UDP on it.  The descriptor or negative errno
 * (-EOPNOTSUPP for data planes in the kernel), with a reason in err.
 */
int k_udp_esp_sock(const struct kernel *k, int ikefd, char *err, size_t errlen);
/* Give the data plane behind k (r2espd, directly or through iked's
 * privileged parent) the sockets of k_udp_esp_sock, replacing those
 * given before; they stay the caller's too.  0 or negative errno. */
int k_udp_give(struct kernel *k, const int *fds, size_t n);

/* Backends, by name: "xfrm", "pfkey", "userspace", "fake"; the backend
 * a configuration chooses is conf_kernel_backend() (conf/conf.h). */
const struct kernel_ops *kernel_backend(const char *name);

int k_open(struct kernel *k, const char *backend, unsigned flags);
/*
 * The userspace backend's client over two already-connected SEQPACKET
 * descriptors instead of r2espd's socket path (iked's privilege
 * separation: the engine's kernel ops go to its privileged parent, which
 * serves the same protocol, esp_msg.h).  fd carries requests, evfd the
 * event stream (subscribed with HELLO here); both are owned by k from
 * now on, also on failure of the subscription.  Never reconnects.
 * plane is the backend the parent serves: k->features are its.
 */
int k_open_channel(struct kernel *k, int fd, int evfd,
		   const struct kernel_ops *plane);
void k_close(struct kernel *k);

/*
 * The SPI range getspi asks a backend for: RFC 4303 §2.1 / RFC 4302 §2.4
 * reserve 1-255; an IPComp CPI is 16 bits and RFC 3173 §3.3 leaves
 * 256-61439 to negotiation (61440-65535 are private use).
 */
#define K_SPI_MIN 0x100u
#define K_SPI_MAX 0xffffffffu
#define K_CPI_MAX 0xefffu
static inline uint32_t k_spi_max(uint8_t proto)
{
	return proto == IPPROTO_COMP ? K_CPI_MAX : K_SPI_MAX;
}

/* Thin wrappers; each returns 0 or negative errno, and on failure
 * leaves a readable reason in k->last_error. */
int k_getspi(struct kernel *k, uint8_t proto, const struct kaddr *src,
	     const struct kaddr *dst, uint32_t reqid, uint32_t *spi);
int k_sa_add(struct kernel *k, const struct ksa *sa);
int k_sa_del(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	     uint32_t spi);
int k_sa_query(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	       uint32_t spi, struct kcounters *out);
int k_pol_add(struct kernel *k, struct kpolicy *p);
/* Adds v[0..n): rc[i] is each one's result (0 or -errno).  Without a
 * message per policy (k->last_error is not each one's): a caller that
 * wants the kernel's words for a refusal retries that one with
 * k_pol_add.  -EOPNOTSUPP (every rc[i] too) and nothing done: the
 * backend has no batch path (or a policy does not validate); add them
 * one by one. */
int k_pol_add_many(struct kernel *k, struct kpolicy *const *v, size_t n,
		   int *rc);
int k_pol_update(struct kernel *k, struct kpolicy *p);
int k_pol_del(struct kernel *k, const struct kpolicy *p);
/* Deletes v[0..n) as k_pol_add_many adds: rc[i] each one's result,
 * -EOPNOTSUPP (and nothing done) without a batch path. */
int k_pol_del_many(struct kernel *k, struct kpolicy *const *v, size_t n,
		   int *rc);
int k_pol_dump(struct kernel *k, kpol_cb cb, void *arg);
int k_flush_own(struct kernel *k);
int k_event_fd(struct kernel *k);
int k_event_read(struct kernel *k, kevent_cb cb, void *arg);
/* Full SA read-back (tests, spmdctl); wipe *sa with ksa_wipe() after. */
int k_sa_get(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	     uint32_t spi, struct ksa *sa, struct kcounters *c);

/*
 * The n (1..KBATCH_MAX) operations ops (struct kop) in one go: every one
 * is attempted and gets its rc.  Returns 0 when all succeeded, else the
 * first failure's rc, whose reason is in k->last_error ("op i: ...").
 * -EINVAL (nothing attempted) for n out of range or an unknown type.
 */
int k_batch(struct kernel *k, struct kop *ops, size_t n);

/* MIGRATE the policy of r->sel/r->dir and its SAs (struct kmigrate_req);
 * r is checked first with kmigrate_validate() (-EINVAL). */
int k_migrate(struct kernel *k, const struct kmigrate_req *r);

void ksa_wipe(struct ksa *sa);
/* The IPComp SA (RFC 3173 §2: no keys, no sequence numbers, the CPI as
 * its SPI) beside the ESP/AH SA k describes: k keeps its endpoints, mode,
 * reqid and transport selector and becomes that SA (keys wiped). */
void ksa_to_comp(struct ksa *k, uint16_t cpi, uint16_t comp_id);

/*
 * The MIGRATE rules every backend applies (Linux net/xfrm semantics):
 * kmigrate_validate() refuses what XFRM refuses (no pair or more than
 * KMIGRATE_MAX, a bad direction/protocol/mode, an old or new pair of
 * mixed families or a new endpoint unset or all-zero, two pairs naming
 * the same old SA); kmigrate_tmpl() finds the pair that moves template
 * t, kmigrate_sa() the pair that moves an SA (proto, mode, reqid when
 * set, old endpoints), or NULL.
 */
int kmigrate_validate(const struct kmigrate_req *r, char *err, size_t errlen);
const struct kmigrate *kmigrate_tmpl(const struct kmigrate_req *r,
				     const struct ktmpl *t);
const struct kmigrate *kmigrate_sa(const struct kmigrate_req *r,
				   const struct ksa *sa);
/* Applies a pair to a template / an SA (and r's encap to the SA). */
void kmigrate_apply_tmpl(const struct kmigrate *m, struct ktmpl *t);
void kmigrate_apply_sa(const struct kmigrate_req *r, const struct kmigrate *m,
		       struct ksa *sa);

/* Helpers shared by backends and daemons. */
int kaddr_parse(const char *s, struct kaddr *a); /* "1.2.3.4" / "2001:db8::1" */
const char *kaddr_str(const struct kaddr *a, char *buf, size_t len);
bool kaddr_eq(const struct kaddr *a, const struct kaddr *b);
const char *ksel_str(const struct ksel *s, char *buf, size_t len);
bool ksel_eq(const struct ksel *a, const struct ksel *b);

/*
 * Ownership tag of policies (how spmd recognises its own after a crash).
 * Linux keeps a policy index chosen by user space when index & 7 == dir
 * and the index is unused; racoon2 therefore places every policy it
 * installs at  index = KPOL_INDEX_MAGIC << 24 | serial << 3 | dir.
 * Kernel-generated indexes count up from 8 in steps of 8 and would need
 * ~2^31 allocations to reach that range, so a dump shows owned = true
 * exactly for indexes with the magic top byte; flush_own deletes exactly
 * those.  Caveat: a foreign tool that deliberately picks an index in this
 * range (ip xfrm policy add ... index 0xa2......) is taken for racoon2.
 * pol_add() with p->index == 0 allocates such an index and stores it in
 * p->index; a nonzero p->index is passed through as requested (tests use
 * it to create "foreign" policies).  The fake backend uses the same
 * scheme.
 */
#define KPOL_INDEX_MAGIC      0xa2u
#define KPOL_INDEX_SERIAL_MAX 0x1fffffu /* 21 bits */
static inline bool kpol_index_owned(uint32_t index)
{
	return (index >> 24) == KPOL_INDEX_MAGIC;
}

/* Fake backend test hooks (tests and load tests only). */
int kfake_inject(struct kernel *k, const struct kevent *ev);
size_t kfake_sa_count(struct kernel *k);
size_t kfake_pol_count(struct kernel *k);
/* Fails the next `count` write operations with `err` (fault injection). */
void kfake_fail_next(struct kernel *k, int err, unsigned count);
/* Simulates a data plane that restarted empty: forgets every SA and
 * policy and queues one KEV_RESYNC with reason (events are read with
 * event_read as usual).  To inject only the event use kfake_inject with
 * kevent_resync(). */
int kfake_lose_state(struct kernel *k, const char *reason);

#endif
