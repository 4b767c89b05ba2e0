/*
 * pfkey_msg.h - PF_KEY v2 (RFC 2367) message encoding and decoding with
 * the KAME extensions of FreeBSD and NetBSD (and the Linux dialect), without
 * any socket: pfkey.c sends and receives, the unit tests and the fuzz
 * harness call these directly.
 *
 * The dialects differ in ways that change bytes on the wire, so every
 * builder and parser takes a struct pfk_flavor (sockaddr layout and
 * AF_INET6 value, size of sadb_x_ipsecrequest, replay window unit,
 * algorithm numbers, which extensions exist).  pfk_flavor_native() is
 * the one of the system we are compiled on.
 *
 * Builders append one complete message to a struct wr (lib/wr.h) and
 * return 0 or a negative errno with a reason in err.  PF_KEY fields are
 * in host byte order except SPIs, ports and addresses (network order).
 * Messages that carry keys must be wiped by the caller (wr_free does).
 *
 * pfk_parse() validates the base header and splits the extensions in
 * one table-driven loop (RFC 2367 §2.3: lengths in 64-bit words, type 0
 * reserved, no duplicates, unknown types ignored); the typed parsers
 * then read each extension through struct rd.  Outputs are plain structs
 * owned by the caller; struct pfk_msg borrows the input buffer.
 */
#ifndef RACOON_PFKEY_MSG_H
#define RACOON_PFKEY_MSG_H

#include "kernel/kernel.h"
#include "lib/rd.h"
#include "lib/wr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- RFC 2367 base constants (§2.2, §2.3, Appendix) -------------------- */

#define PFK_VERSION 2 /* PF_KEY_V2 */
#define PFK_UNIT    8 /* lengths count 64-bit words */
#define PFK_MSG_HDR 16
#define PFK_MSG_MAX (0xffff * PFK_UNIT)

enum {
	PFK_GETSPI = 1,
	PFK_UPDATE = 2,
	PFK_ADD = 3,
	PFK_DELETE = 4,
	PFK_GET = 5,
	PFK_ACQUIRE = 6,
	PFK_REGISTER = 7,
	PFK_EXPIRE = 8,
	PFK_FLUSH = 9,
	PFK_DUMP = 10,
	/* KAME SPD extensions (FreeBSD/NetBSD/Linux net/pfkeyv2.h) */
	PFK_X_SPDUPDATE = 13,
	PFK_X_SPDADD = 14,
	PFK_X_SPDDELETE = 15, /* by selector */
	PFK_X_SPDGET = 16,
	PFK_X_SPDACQUIRE = 17,
	PFK_X_SPDDUMP = 18,
	PFK_X_SPDFLUSH = 19,
	PFK_X_SPDSETIDX = 20,
	PFK_X_SPDEXPIRE = 21,
	PFK_X_SPDDELETE2 = 22,	      /* by policy id */
	PFK_X_NAT_T_NEW_MAPPING = 23, /* Linux, NetBSD */
	PFK_X_MIGRATE = 24,	      /* KAME MIPv6 / Linux */
	PFK_MSG_TYPE_MAX = 24,
};

enum {
	PFK_EXT_SA = 1,
	PFK_EXT_LIFETIME_CURRENT = 2,
	PFK_EXT_LIFETIME_HARD = 3,
	PFK_EXT_LIFETIME_SOFT = 4,
	PFK_EXT_ADDRESS_SRC = 5,
	PFK_EXT_ADDRESS_DST = 6,
	PFK_EXT_ADDRESS_PROXY = 7,
	PFK_EXT_KEY_AUTH = 8,
	PFK_EXT_KEY_ENCRYPT = 9,
	PFK_EXT_IDENTITY_SRC = 10,
	PFK_EXT_IDENTITY_DST = 11,
	PFK_EXT_SENSITIVITY = 12,
	PFK_EXT_PROPOSAL = 13,
	PFK_EXT_SUPPORTED_AUTH = 14,
	PFK_EXT_SUPPORTED_ENCRYPT = 15,
	PFK_EXT_SPIRANGE = 16,
	/* KAME */
	PFK_X_EXT_KMPRIVATE = 17,
	PFK_X_EXT_POLICY = 18,
	PFK_X_EXT_SA2 = 19,
	/* NAT-T, draft-ietf-ipsec-udp-encaps / RFC 3948; the numbers racoon2
	 * and every KAME descendant use */
	PFK_X_EXT_NAT_T_TYPE = 20,
	PFK_X_EXT_NAT_T_SPORT = 21,
	PFK_X_EXT_NAT_T_DPORT = 22,
	PFK_X_EXT_NAT_T_OA = 23,	/* FreeBSD/NetBSD: NAT_T_OAI */
	PFK_X_EXT_NAT_T_OAR = 24,	/* FreeBSD/NetBSD; Linux: SEC_CTX */
	PFK_X_EXT_NAT_T_FRAG = 25,	/* FreeBSD/NetBSD; Linux: KMADDRESS */
	PFK_X_EXT_SA_REPLAY = 26,	/* FreeBSD >= 11; Linux: FILTER */
	PFK_X_EXT_NEW_ADDRESS_SRC = 27, /* FreeBSD */
	PFK_X_EXT_NEW_ADDRESS_DST = 28, /* FreeBSD */
	PFK_EXT_TYPE_MAX = 28,
};

enum {
	PFK_SATYPE_UNSPEC = 0,
	PFK_SATYPE_AH = 2,
	PFK_SATYPE_ESP = 3,
	PFK_SATYPE_IPCOMP = 9, /* SADB_X_SATYPE_IPCOMP */
};

#define PFK_SASTATE_MATURE 1
/* SADB_X_CALG_DEFLATE (KAME, Linux): the IPComp algorithm travels in
 * sadb_sa_encrypt, the CPI in sadb_sa_spi (RFC 3173 §3.3) */
#define PFK_CALG_DEFLATE       2
#define PFK_ULPROTO_ANY	       255 /* IPSEC_ULPROTO_ANY (netipsec/ipsec.h) */
#define PFK_UDP_ENCAP_ESPINUDP 2   /* RFC 3948 non-IKE marker-free format */

/* netipsec/ipsec.h (KAME) */
enum {
	PFK_POLICY_DISCARD = 0,
	PFK_POLICY_NONE = 1,
	PFK_POLICY_IPSEC = 2,
	PFK_POLICY_ENTRUST = 3,
	PFK_POLICY_BYPASS = 4,
};
enum {
	PFK_DIR_ANY = 0,
	PFK_DIR_INBOUND = 1,
	PFK_DIR_OUTBOUND = 2,
	PFK_DIR_FWD = 3, /* Linux only; IPSEC_DIR_MAX on the BSDs */
};
enum {
	PFK_MODE_ANY = 0,
	PFK_MODE_TRANSPORT = 1,
	PFK_MODE_TUNNEL = 2,
};
enum {
	PFK_LEVEL_DEFAULT = 0,
	PFK_LEVEL_USE = 1,
	PFK_LEVEL_REQUIRE = 2,
	PFK_LEVEL_UNIQUE = 3,
};
/* Largest reqid the BSD kernels keep as given (IPSEC_MANUAL_REQID_MAX);
 * larger ones on a "unique" request are silently replaced. */
#define PFK_BSD_REQID_MAX 0x3fffu

/* FreeBSD sadb_sa_flags bit for 64-bit sequence numbers (RFC 4303
 * §2.2.1), SADB_X_SAFLAGS_ESN in FreeBSD >= 11. */
#define PFK_FREEBSD_SAFLAGS_ESN 0x400u

/* ---- dialects ----------------------------------------------------------- */

enum pfk_os {
	PFK_OS_FREEBSD = 1,
	PFK_OS_NETBSD,
	PFK_OS_LINUX,
};

struct pfk_flavor {
	enum pfk_os os;
	const char *name;
	bool sa_len;	     /* BSD sockaddr: sa_len byte + 8-bit family */
	uint8_t af_inet6;    /* AF_INET6 on that system (AF_INET is 2) */
	uint8_t isr_size;    /* sizeof(struct sadb_x_ipsecrequest) */
	bool replay_bytes;   /* KAME: sadb_sa_replay counts bitmap bytes */
	bool sa_replay_ext;  /* SADB_X_EXT_SA_REPLAY (window in packets) */
	bool esn;	     /* SADB_X_SAFLAGS_ESN */
	bool priority;	     /* sadb_x_policy_priority is honoured */
	bool fwd;	     /* a forward SPD direction exists */
	bool aead;	     /* AEAD ciphers via sadb_sa_encrypt */
	bool natt_oa;	     /* accepts the NAT-T original address ext */
	bool bsd_reqid;	     /* reqids limited to PFK_BSD_REQID_MAX */
	uint8_t ealg_chacha; /* 0 = ChaCha20-Poly1305 not available */
};

const struct pfk_flavor *pfk_flavor(enum pfk_os os);
const struct pfk_flavor *pfk_flavor_native(void);

/* Who we are in requests: sadb_msg_seq and sadb_msg_pid. */
struct pfk_req {
	const struct pfk_flavor *fl;
	uint32_t seq;
	uint32_t pid;
};

/*
 * Ownership tag of SPD entries.  The BSD kernels (and Linux PF_KEY)
 * always choose sadb_x_policy_id themselves (key_getnewspid()), so the
 * id cannot carry racoon2's mark, and NetBSD has no priority field for
 * a priority band.  What every dialect stores and returns in a dump is
 * the policy's hard lifetime extension: addtime = lifetime (used for
 * dynamic policies), usetime = "validtime", the idle timeout.  racoon2
 * writes its policy index (kernel.h KPOL_INDEX_*) into usetime as
 *     PFK_TAG_BASE + (index & 0xffffff)
 * i.e. an idle timeout of 51 to 52 years: never reached, below 2^31 so
 * that a 32-bit time_t kernel does not see it negative, and visible in
 * "setkey -DP" as "validtime: 16106127xx(s)".  A dump reports owned =
 * true exactly for usetime in [PFK_TAG_BASE, PFK_TAG_BASE + 2^24), and
 * flush_own removes exactly those (by their kernel id, SPDDELETE2).
 * Caveat: a foreign tool that sets such an idle timeout is taken for
 * racoon2.
 */
#define PFK_TAG_BASE 0x60000000u
#define PFK_TAG_SPAN 0x01000000u

static inline bool pfk_tag_owned(uint64_t usetime)
{
	return usetime >= PFK_TAG_BASE && usetime < PFK_TAG_BASE + PFK_TAG_SPAN;
}

/* ---- builders ----------------------------------------------------------- */

/* Largest request we build (an SA with keys is ~250 bytes). */
#define PFK_REQ_MAX 2048

uint8_t pfk_satype(uint8_t ipproto); /* 0 if none */
uint8_t pfk_ipproto(uint8_t satype); /* 0 if none */

int pfk_build_getspi(struct wr *w, const struct pfk_req *rq, uint8_t proto,
		     const struct kaddr *src, const struct kaddr *dst,
		     uint32_t reqid, uint32_t min, uint32_t max, char *err,
		     size_t errlen);
/* SADB_ADD, or SADB_UPDATE when sa->update. */
int pfk_build_sa(struct wr *w, const struct pfk_req *rq, const struct ksa *sa,
		 char *err, size_t errlen);
/* type: PFK_DELETE or PFK_GET (RFC 2367 §3.1.3-4: SA, address(SD)). */
int pfk_build_sa_id(struct wr *w, const struct pfk_req *rq, uint8_t type,
		    uint8_t proto, const struct kaddr *src,
		    const struct kaddr *dst, uint32_t spi, char *err,
		    size_t errlen);
/* type: PFK_X_SPDADD or PFK_X_SPDUPDATE.  p->index, when owned, is
 * written as the ownership tag (see PFK_TAG_BASE). */
int pfk_build_policy(struct wr *w, const struct pfk_req *rq, uint8_t type,
		     const struct kpolicy *p, char *err, size_t errlen);
/* SPDDELETE by selector and direction. */
int pfk_build_spddelete(struct wr *w, const struct pfk_req *rq,
			const struct kpolicy *p, char *err, size_t errlen);
/* type: PFK_X_SPDDELETE2 or PFK_X_SPDGET, by kernel policy id. */
int pfk_build_spdid(struct wr *w, const struct pfk_req *rq, uint8_t type,
		    uint32_t kid, enum kdir dir);
/* SADB_X_MIGRATE for r (checked with kmigrate_validate). */
int pfk_build_migrate(struct wr *w, const struct pfk_req *rq,
		      const struct kmigrate_req *r, char *err, size_t errlen);
/* Messages that are a bare base header: PFK_X_SPDDUMP, PFK_DUMP,
 * PFK_REGISTER (with the SA type). */
int pfk_build_base(struct wr *w, const struct pfk_req *rq, uint8_t type,
		   uint8_t satype);

/* ---- parsing ------------------------------------------------------------ */

struct pfk_ext {
	bool present;
	struct rd r; /* the whole extension, header included */
};

struct pfk_msg {
	uint8_t type;
	uint8_t err; /* sadb_msg_errno */
	uint8_t satype;
	uint16_t reserved; /* FreeBSD: refcnt in SPDDUMP */
	uint32_t seq, pid;
	struct pfk_ext ext[PFK_EXT_TYPE_MAX + 1];
};

/*
 * Validates one datagram as a PF_KEY message: version 2, a known type,
 * sadb_msg_len * 8 == len, every extension >= 8 bytes, inside the
 * message, of a size allowed by the table for its type, not duplicated.
 * -EBADMSG on any violation.  m borrows buf.
 */
int pfk_parse(const void *buf, size_t len, struct pfk_msg *m);

/* 0, or the negated sadb_msg_errno of a kernel reply. */
int pfk_msg_error(const struct pfk_msg *m);

/* A GETSPI/ADD/UPDATE/GET/DUMP reply (or EXPIRE) as an SA.  sa and c may
 * be NULL.  Algorithm numbers are mapped back to IKEv2 IDs. */
int pfk_parse_sa(const struct pfk_flavor *fl, const struct pfk_msg *m,
		 struct ksa *sa, struct kcounters *c);

/* An SPDADD/SPDUPDATE/SPDGET/SPDDUMP message as a policy.  *kid gets
 * the kernel's policy id.  -ENOENT for entries racoon2 does not model
 * (direction "any", socket or interface policies, entrust/bypass). */
int pfk_parse_policy(const struct pfk_flavor *fl, const struct pfk_msg *m,
		     struct kpolicy *p, uint32_t *kid);

/* ACQUIRE, EXPIRE, X_SPDEXPIRE, X_MIGRATE, X_NAT_T_NEW_MAPPING.
 * -ENOENT for other message types.  For ACQUIRE and SPDEXPIRE the
 * policy index reported is the kernel's id (*kid as well); PF_KEY's
 * ACQUIRE carries the SA endpoints but no packet selector, so
 * acquire.sel is built from those endpoints (host prefixes) and the
 * caller looks the policy up by id for the real selector. */
int pfk_parse_event(const struct pfk_flavor *fl, const struct pfk_msg *m,
		    struct kevent *ev, uint32_t *kid);

/* Helpers the backend uses on dumps. */
int pfk_parse_addr(const struct pfk_flavor *fl, const struct pfk_ext *e,
		   struct kaddr *a, uint8_t *proto, uint8_t *plen,
		   uint16_t *port);

#endif
