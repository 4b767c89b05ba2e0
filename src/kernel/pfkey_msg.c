/*
 * pfkey_msg.c - build and parse PF_KEY v2 messages (RFC 2367) in the
 * KAME dialects of FreeBSD and NetBSD, and in the Linux one.
 *
 * Building appends to a struct wr: each extension is started with a
 * placeholder length, padded to 64 bits and back-patched, and the base
 * header's length is patched last, so lengths are computed in one place.
 * Parsing walks the datagram with struct rd: the base header, then the
 * extensions in one loop bounded by ext_rules[] (RFC 2367 §2.3), then
 * each typed parser reads its extensions field by field into locals.
 * Nothing is cast over the input.
 *
 * No allocation except the caller's writer; keys pass through the
 * writer (wiped by wr_free) and, when parsed, straight into struct ksa.
 */
#include "kernel/pfkey_msg.h"
#include "kernel/kernel_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* ---- dialects ----------------------------------------------------------- */

static const struct pfk_flavor flavors[] = {
    {
	/* FreeBSD >= 11 sys/net/pfkeyv2.h, netipsec/key.c */
	.os = PFK_OS_FREEBSD,
	.name = "freebsd",
	.sa_len = true,
	.af_inet6 = 28,
	.isr_size = 8,
	.replay_bytes = true,
	.sa_replay_ext = true,
	.esn = true,
	.priority = true,
	.fwd = false,
	.aead = true,
	.natt_oa = true,
	.bsd_reqid = true,
	/* SADB_X_EALG_CHACHA20POLY1305 of FreeBSD 13+ (RFC 7634 in
	 * esp_xformsw); check against the target's <net/pfkeyv2.h>. */
	.ealg_chacha = 15,
    },
    {
	/* NetBSD >= 8 sys/net/pfkeyv2.h, netipsec/key.c */
	.os = PFK_OS_NETBSD,
	.name = "netbsd",
	.sa_len = true,
	.af_inet6 = 24,
	.isr_size = 8,
	.replay_bytes = true,
	.aead = true,
	.natt_oa = true,
	.bsd_reqid = true,
    },
    {
	/* Linux include/uapi/linux/pfkeyv2.h, net/key/af_key.c */
	.os = PFK_OS_LINUX,
	.name = "linux",
	.af_inet6 = 10,
	.isr_size = 16,
	.priority = true,
	.fwd = true,
	.natt_oa = true,
    },
};

const struct pfk_flavor *pfk_flavor(enum pfk_os os)
{
	for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++)
		if (flavors[i].os == os)
			return &flavors[i];
	return NULL;
}

const struct pfk_flavor *pfk_flavor_native(void)
{
#if defined(__FreeBSD__)
	return pfk_flavor(PFK_OS_FREEBSD);
#elif defined(__NetBSD__)
	return pfk_flavor(PFK_OS_NETBSD);
#else
	return pfk_flavor(PFK_OS_LINUX);
#endif
}

/* ---- algorithms --------------------------------------------------------- */

#define OS_F   (1u << PFK_OS_FREEBSD)
#define OS_N   (1u << PFK_OS_NETBSD)
#define OS_L   (1u << PFK_OS_LINUX)
#define OS_ALL (OS_F | OS_N | OS_L)

struct alg_map {
	uint16_t ike; /* IKEv2 transform ID (RFC 7296 §3.3.2) */
	uint8_t sadb; /* SADB_[X_]EALG_* / SADB_[X_]AALG_* */
	unsigned os;  /* dialects that implement it in PF_KEY */
};

/* RFC 2367 §3.5 numbers where they exist, else the KAME ones. */
static const struct alg_map encr_map[] = {
    {IKEV2_ENCR_3DES, 3, OS_ALL},     /* SADB_EALG_3DESCBC */
    {IKEV2_ENCR_NULL, 11, OS_ALL},    /* SADB_EALG_NULL */
    {IKEV2_ENCR_AES_CBC, 12, OS_ALL}, /* SADB_X_EALG_AESCBC */
    {IKEV2_ENCR_AES_CTR, 13, OS_ALL}, /* SADB_X_EALG_AESCTR (RFC 3686) */
    /* AEADs: the BSDs take the key || salt with auth NONE; Linux
     * af_key looks encryption ids up in its non-AEAD list only. */
    {IKEV2_ENCR_AES_GCM_16, 20, OS_F | OS_N},	      /* SADB_X_EALG_AESGCM16 */
    {IKEV2_ENCR_NULL_AUTH_AES_GMAC, 23, OS_F | OS_N}, /* SADB_X_EALG_AESGMAC */
};

static const struct alg_map integ_map[] = {
    {IKEV2_INTEG_HMAC_MD5_96, 2, OS_ALL},	/* SADB_AALG_MD5HMAC */
    {IKEV2_INTEG_HMAC_SHA1_96, 3, OS_ALL},	/* SADB_AALG_SHA1HMAC */
    {IKEV2_INTEG_HMAC_SHA2_256_128, 5, OS_ALL}, /* SADB_X_AALG_SHA2_256 */
    {IKEV2_INTEG_HMAC_SHA2_384_192, 6, OS_ALL}, /* SADB_X_AALG_SHA2_384 */
    {IKEV2_INTEG_HMAC_SHA2_512_256, 7, OS_ALL}, /* SADB_X_AALG_SHA2_512 */
    {IKEV2_INTEG_AES_XCBC_96, 9, OS_ALL},	/* SADB_X_AALG_AES_XCBC_MAC */
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int encr_to_sadb(const struct pfk_flavor *fl, uint16_t id, uint8_t *out)
{
	if (id == IKEV2_ENCR_CHACHA20_POLY1305 && fl->ealg_chacha) {
		*out = fl->ealg_chacha;
		return 0;
	}
	for (size_t i = 0; i < NELEM(encr_map); i++)
		if (encr_map[i].ike == id &&
		    (encr_map[i].os & (1u << fl->os))) {
			*out = encr_map[i].sadb;
			return 0;
		}
	return -EOPNOTSUPP;
}

static uint16_t encr_from_sadb(const struct pfk_flavor *fl, uint8_t v)
{
	if (v && v == fl->ealg_chacha)
		return IKEV2_ENCR_CHACHA20_POLY1305;
	for (size_t i = 0; i < NELEM(encr_map); i++)
		if (encr_map[i].sadb == v && (encr_map[i].os & (1u << fl->os)))
			return encr_map[i].ike;
	return 0;
}

static int integ_to_sadb(const struct pfk_flavor *fl, uint16_t id, uint8_t *out)
{
	for (size_t i = 0; i < NELEM(integ_map); i++)
		if (integ_map[i].ike == id &&
		    (integ_map[i].os & (1u << fl->os))) {
			*out = integ_map[i].sadb;
			return 0;
		}
	return -EOPNOTSUPP;
}

static uint16_t integ_from_sadb(const struct pfk_flavor *fl, uint8_t v)
{
	for (size_t i = 0; i < NELEM(integ_map); i++)
		if (integ_map[i].sadb == v &&
		    (integ_map[i].os & (1u << fl->os)))
			return integ_map[i].ike;
	return 0;
}

uint8_t pfk_satype(uint8_t ipproto)
{
	switch (ipproto) {
	case IPPROTO_ESP:
		return PFK_SATYPE_ESP;
	case IPPROTO_AH:
		return PFK_SATYPE_AH;
	case IPPROTO_COMP:
		return PFK_SATYPE_IPCOMP;
	default:
		return 0;
	}
}

uint8_t pfk_ipproto(uint8_t satype)
{
	switch (satype) {
	case PFK_SATYPE_ESP:
		return IPPROTO_ESP;
	case PFK_SATYPE_AH:
		return IPPROTO_AH;
	case PFK_SATYPE_IPCOMP:
		return IPPROTO_COMP;
	default:
		return 0;
	}
}

/* ---- writing ------------------------------------------------------------ */

/* PF_KEY integers are host order (RFC 2367 §2: "native byte order"). */
static void put16(struct wr *w, uint16_t v)
{
	wr_bytes(w, &v, sizeof(v));
}

static void put32(struct wr *w, uint32_t v)
{
	wr_bytes(w, &v, sizeof(v));
}

static void put64(struct wr *w, uint64_t v)
{
	wr_bytes(w, &v, sizeof(v));
}

static void pad8(struct wr *w, size_t start)
{
	size_t n = (w->len - start) % PFK_UNIT;

	if (n)
		wr_zero(w, PFK_UNIT - n);
}

/* Starts an extension: sadb_ext_len is patched by ext_end(). */
static size_t ext_begin(struct wr *w, uint16_t type)
{
	size_t off = w->len;

	put16(w, 0);
	put16(w, type);
	return off;
}

static void ext_end(struct wr *w, size_t off)
{
	uint16_t units;

	pad8(w, off);
	if (w->err)
		return;
	/* RFC 2367 §2.3: length in 64-bit words, header inclusive */
	units = (uint16_t)((w->len - off) / PFK_UNIT);
	wr_patch_bytes(w, off, &units, sizeof(units));
}

static size_t msg_begin(struct wr *w, const struct pfk_req *rq, uint8_t type,
			uint8_t satype)
{
	size_t off = w->len;

	/* RFC 2367 §2.2 base header */
	wr_u8(w, PFK_VERSION);
	wr_u8(w, type);
	wr_u8(w, 0); /* errno: set by the kernel only */
	wr_u8(w, satype);
	put16(w, 0); /* length, patched */
	put16(w, 0); /* reserved: MUST be zero */
	put32(w, rq->seq);
	put32(w, rq->pid);
	return off;
}

static int msg_end(struct wr *w, size_t off, char *err, size_t errlen)
{
	size_t len;
	uint16_t units;

	if (w->err) {
		kerr_set(err, errlen, "building PF_KEY message: %s",
			 strerror(-w->err));
		return w->err;
	}
	len = w->len - off;
	if (len % PFK_UNIT || len > PFK_MSG_MAX) {
		kerr_set(err, errlen, "PF_KEY message of %zu bytes", len);
		return -EMSGSIZE;
	}
	units = (uint16_t)(len / PFK_UNIT);
	return wr_patch_bytes(w, off + 4, &units, sizeof(units));
}

static size_t salen(uint8_t af)
{
	return af == AF_INET ? 16 : af == AF_INET6 ? 28 : 0;
}

/* A struct sockaddr_in/_in6 in the dialect's layout. */
static void put_sockaddr(struct wr *w, const struct pfk_flavor *fl, uint8_t af,
			 const struct kaddr *a, uint16_t port)
{
	uint8_t fam = af == AF_INET ? 2 : fl->af_inet6;

	if (fl->sa_len) {
		wr_u8(w, (uint8_t)salen(af));
		wr_u8(w, fam);
	} else {
		put16(w, fam);
	}
	wr_u16(w, port); /* network order */
	if (af == AF_INET) {
		if (a && a->af == AF_INET)
			wr_bytes(w, a->u.b, 4);
		else
			wr_zero(w, 4);
		wr_zero(w, 8); /* sin_zero */
	} else {
		wr_zero(w, 4); /* sin6_flowinfo */
		if (a && a->af == AF_INET6)
			wr_bytes(w, a->u.b, 16);
		else
			wr_zero(w, 16);
		wr_zero(w, 4); /* sin6_scope_id */
	}
}

/* RFC 2367 §2.3.3 address extension: proto, prefix, sockaddr, pad. */
static void put_address(struct wr *w, const struct pfk_flavor *fl,
			uint16_t type, uint8_t af, const struct kaddr *a,
			uint8_t proto, uint8_t plen, uint16_t port)
{
	size_t off = ext_begin(w, type);

	wr_u8(w, proto);
	wr_u8(w, plen);
	put16(w, 0);
	put_sockaddr(w, fl, af, a, port);
	ext_end(w, off);
}

static uint8_t full_plen(uint8_t af)
{
	return af == AF_INET ? 32 : 128;
}

static void put_sa2(struct wr *w, uint8_t mode, uint32_t reqid)
{
	size_t off = ext_begin(w, PFK_X_EXT_SA2);

	wr_u8(w, mode);
	wr_u8(w, 0);
	put16(w, 0);
	put32(w, 0); /* sequence */
	put32(w, reqid);
	ext_end(w, off);
}

static void put_lifetime(struct wr *w, uint16_t type, uint64_t bytes,
			 uint64_t addtime, uint64_t usetime)
{
	size_t off = ext_begin(w, type);

	put32(w, 0); /* allocations */
	put64(w, bytes);
	put64(w, addtime);
	put64(w, usetime);
	ext_end(w, off);
}

/* RFC 2367 §2.3.4 key extension: bits, reserved, key, pad to 64 bits. */
static void put_key(struct wr *w, uint16_t type, const uint8_t *key,
		    uint16_t len)
{
	size_t off = ext_begin(w, type);

	put16(w, (uint16_t)(len * 8u));
	put16(w, 0);
	wr_bytes(w, key, len);
	ext_end(w, off);
}

static void put_port(struct wr *w, uint16_t type, uint16_t port)
{
	size_t off = ext_begin(w, type);

	wr_u16(w, port); /* network order */
	put16(w, 0);
	ext_end(w, off);
}

static uint8_t mode_to_pfk(enum kmode m)
{
	return m == KMODE_TUNNEL ? PFK_MODE_TUNNEL : PFK_MODE_TRANSPORT;
}

static int check_reqid(const struct pfk_flavor *fl, uint32_t reqid, char *err,
		       size_t errlen)
{
	if (fl->bsd_reqid && reqid > PFK_BSD_REQID_MAX) {
		kerr_set(err, errlen,
			 "reqid %u: %s keeps manual reqids only up to %u "
			 "(IPSEC_MANUAL_REQID_MAX)",
			 reqid, fl->name, PFK_BSD_REQID_MAX);
		return -ERANGE;
	}
	return 0;
}

static bool addr_ok(const struct kaddr *a)
{
	return a->af == AF_INET || a->af == AF_INET6;
}

/* ---- builders ----------------------------------------------------------- */

int pfk_build_base(struct wr *w, const struct pfk_req *rq, uint8_t type,
		   uint8_t satype)
{
	size_t m = msg_begin(w, rq, type, satype);

	return msg_end(w, m, NULL, 0);
}

int pfk_build_getspi(struct wr *w, const struct pfk_req *rq, uint8_t proto,
		     const struct kaddr *src, const struct kaddr *dst,
		     uint32_t reqid, uint32_t min, uint32_t max, char *err,
		     size_t errlen)
{
	uint8_t satype = pfk_satype(proto);
	size_t m, e;
	int rc;

	if (!satype || !addr_ok(src) || src->af != dst->af || min > max) {
		kerr_set(err, errlen, "getspi: bad protocol or addresses");
		return -EINVAL;
	}
	rc = check_reqid(rq->fl, reqid, err, errlen);
	if (rc < 0)
		return rc;
	/* RFC 2367 §3.1.1: GETSPI <base, address, SPI range> */
	m = msg_begin(w, rq, PFK_GETSPI, satype);
	put_address(w, rq->fl, PFK_EXT_ADDRESS_SRC, src->af, src,
		    PFK_ULPROTO_ANY, full_plen(src->af), 0);
	put_address(w, rq->fl, PFK_EXT_ADDRESS_DST, dst->af, dst,
		    PFK_ULPROTO_ANY, full_plen(dst->af), 0);
	e = ext_begin(w, PFK_EXT_SPIRANGE);
	put32(w, min);
	put32(w, max);
	put32(w, 0);
	ext_end(w, e);
	/* KAME: the larval SA records the reqid it will be updated with */
	put_sa2(w, PFK_MODE_ANY, reqid);
	return msg_end(w, m, err, errlen);
}

static int sa_check(const struct pfk_flavor *fl, const struct ksa *sa,
		    uint8_t *ealg, uint8_t *aalg, char *err, size_t errlen)
{
	const struct klifetime *l = &sa->lft;
	int rc;

	rc = ksa_validate(sa, err, errlen);
	if (rc < 0)
		return rc;
	*ealg = *aalg = 0;
	/* ksa_validate admits DEFLATE only for IPComp */
	if (sa->proto == IPPROTO_COMP)
		*ealg = PFK_CALG_DEFLATE;
	if (sa->proto == IPPROTO_ESP &&
	    encr_to_sadb(fl, sa->encr_id, ealg) < 0) {
		kerr_set(err, errlen,
			 "encryption transform %u has no PF_KEY number on %s",
			 sa->encr_id, fl->name);
		return -EOPNOTSUPP;
	}
	if (sa->integ_id && integ_to_sadb(fl, sa->integ_id, aalg) < 0) {
		kerr_set(err, errlen,
			 "integrity transform %u has no PF_KEY number on %s",
			 sa->integ_id, fl->name);
		return -EOPNOTSUPP;
	}
	if (sa->esn && !fl->esn) {
		kerr_set(err, errlen, "%s PF_KEY has no ESN flag", fl->name);
		return -EOPNOTSUPP;
	}
	/* RFC 2367 §2.3.1 lifetimes count allocations, bytes and seconds:
	 * no packet limits. */
	if (l->soft_packets || l->hard_packets) {
		kerr_set(err, errlen, "PF_KEY has no packet lifetimes");
		return -EOPNOTSUPP;
	}
	if (fl->replay_bytes && !fl->sa_replay_ext &&
	    sa->replay_window > 255u * 8) {
		kerr_set(err, errlen, "replay window %u > %u on %s",
			 sa->replay_window, 255u * 8, fl->name);
		return -EOPNOTSUPP;
	}
	if (!fl->replay_bytes && sa->replay_window > 255) {
		kerr_set(err, errlen, "replay window %u > 255 on %s",
			 sa->replay_window, fl->name);
		return -EOPNOTSUPP;
	}
	if (sa->encap.enabled && sa->encap.oa.af && !fl->natt_oa) {
		kerr_set(err, errlen, "%s has no NAT-T original address",
			 fl->name);
		return -EOPNOTSUPP;
	}
	return check_reqid(fl, sa->reqid, err, errlen);
}

int pfk_build_sa(struct wr *w, const struct pfk_req *rq, const struct ksa *sa,
		 char *err, size_t errlen)
{
	const struct pfk_flavor *fl = rq->fl;
	const struct klifetime *l = &sa->lft;
	uint8_t ealg, aalg, replay;
	uint32_t flags = 0, bytes;
	size_t m, e;
	int rc;

	rc = sa_check(fl, sa, &ealg, &aalg, err, errlen);
	if (rc < 0)
		return rc;
	/* KAME sizes the bitmap in bytes; a larger window goes in
	 * SADB_X_EXT_SA_REPLAY (FreeBSD), in packets. */
	bytes = (sa->replay_window + 7) / 8;
	if (fl->replay_bytes)
		replay = (uint8_t)(bytes > 255 ? 255 : bytes);
	else
		replay = (uint8_t)sa->replay_window;
	if (sa->esn)
		flags |= PFK_FREEBSD_SAFLAGS_ESN;

	/* RFC 2367 §3.1.2-3: ADD/UPDATE <base, SA, (lifetime(HS)),
	 * address(SD), key(AE)>; extensions in type order (§2.3 allows
	 * implementations to enforce that order). */
	m = msg_begin(w, rq, sa->update ? PFK_UPDATE : PFK_ADD,
		      pfk_satype(sa->proto));
	e = ext_begin(w, PFK_EXT_SA);
	wr_u32(w, sa->spi); /* network order */
	wr_u8(w, replay);
	wr_u8(w, PFK_SASTATE_MATURE);
	wr_u8(w, aalg);
	wr_u8(w, ealg);
	put32(w, flags);
	ext_end(w, e);
	if (l->hard_bytes || l->hard_add_sec || l->hard_use_sec)
		put_lifetime(w, PFK_EXT_LIFETIME_HARD, l->hard_bytes,
			     l->hard_add_sec, l->hard_use_sec);
	if (l->soft_bytes || l->soft_add_sec || l->soft_use_sec)
		put_lifetime(w, PFK_EXT_LIFETIME_SOFT, l->soft_bytes,
			     l->soft_add_sec, l->soft_use_sec);
	/* SA addresses are hosts of any upper-layer protocol; PF_KEY SAs
	 * carry no selector (sa->sel is the policy's business). */
	put_address(w, fl, PFK_EXT_ADDRESS_SRC, sa->src.af, &sa->src,
		    PFK_ULPROTO_ANY, full_plen(sa->src.af), 0);
	put_address(w, fl, PFK_EXT_ADDRESS_DST, sa->dst.af, &sa->dst,
		    PFK_ULPROTO_ANY, full_plen(sa->dst.af), 0);
	if (sa->auth_key_len)
		put_key(w, PFK_EXT_KEY_AUTH, sa->auth_key, sa->auth_key_len);
	/* RFC 3686 §5.1 / RFC 4106 §8.1: nonce or salt follows the key */
	if (sa->enc_key_len)
		put_key(w, PFK_EXT_KEY_ENCRYPT, sa->enc_key, sa->enc_key_len);
	put_sa2(w, mode_to_pfk(sa->mode), sa->reqid);
	if (sa->encap.enabled) {
		/* RFC 3948 §2: UDP-encapsulated ESP, ports in network order */
		e = ext_begin(w, PFK_X_EXT_NAT_T_TYPE);
		wr_u8(w, PFK_UDP_ENCAP_ESPINUDP);
		wr_zero(w, 3);
		ext_end(w, e);
		put_port(w, PFK_X_EXT_NAT_T_SPORT, sa->encap.sport);
		put_port(w, PFK_X_EXT_NAT_T_DPORT, sa->encap.dport);
		/* RFC 3948 §3.1.2: original address for transport-mode
		 * checksum fix-up (NAT_T_OA; NAT_T_OAI on the BSDs) */
		if (sa->encap.oa.af)
			put_address(w, fl, PFK_X_EXT_NAT_T_OA, sa->encap.oa.af,
				    &sa->encap.oa, PFK_ULPROTO_ANY,
				    full_plen(sa->encap.oa.af), 0);
	}
	if (fl->sa_replay_ext && bytes > 255) {
		e = ext_begin(w, PFK_X_EXT_SA_REPLAY);
		put32(w, sa->replay_window);
		ext_end(w, e);
	}
	return msg_end(w, m, err, errlen);
}

int pfk_build_sa_id(struct wr *w, const struct pfk_req *rq, uint8_t type,
		    uint8_t proto, const struct kaddr *src,
		    const struct kaddr *dst, uint32_t spi, char *err,
		    size_t errlen)
{
	uint8_t satype = pfk_satype(proto);
	size_t m, e;

	if ((type != PFK_DELETE && type != PFK_GET) || !satype ||
	    !addr_ok(src) || src->af != dst->af) {
		kerr_set(err, errlen, "SA id: bad type, protocol or addresses");
		return -EINVAL;
	}
	m = msg_begin(w, rq, type, satype);
	e = ext_begin(w, PFK_EXT_SA);
	wr_u32(w, spi);
	wr_zero(w, 8); /* replay, state, algorithms, flags */
	ext_end(w, e);
	put_address(w, rq->fl, PFK_EXT_ADDRESS_SRC, src->af, src,
		    PFK_ULPROTO_ANY, full_plen(src->af), 0);
	put_address(w, rq->fl, PFK_EXT_ADDRESS_DST, dst->af, dst,
		    PFK_ULPROTO_ANY, full_plen(dst->af), 0);
	return msg_end(w, m, err, errlen);
}

static int dir_to_pfk(const struct pfk_flavor *fl, enum kdir d, uint8_t *out,
		      char *err, size_t errlen)
{
	switch (d) {
	case KDIR_IN:
		*out = PFK_DIR_INBOUND;
		return 0;
	case KDIR_OUT:
		*out = PFK_DIR_OUTBOUND;
		return 0;
	case KDIR_FWD:
		if (fl->fwd) {
			*out = PFK_DIR_FWD;
			return 0;
		}
		/* KAME applies inbound policies to forwarded traffic */
		kerr_set(err, errlen,
			 "%s has no forward SPD direction (the inbound "
			 "policy covers forwarded traffic)",
			 fl->name);
		return -EOPNOTSUPP;
	}
	kerr_set(err, errlen, "bad policy direction %d", (int)d);
	return -EINVAL;
}

static int sel_check(const struct ksel *s, char *err, size_t errlen)
{
	int rc = ksel_validate(s, err, errlen);

	if (rc < 0)
		return rc;
	/* PF_KEY selectors name one port or any (sockaddr port 0). */
	if ((s->sport_mask && s->sport_mask != 0xffff) ||
	    (s->dport_mask && s->dport_mask != 0xffff)) {
		kerr_set(err, errlen, "PF_KEY selectors match one port or any");
		return -EOPNOTSUPP;
	}
	if ((s->sport_mask && !s->sport) || (s->dport_mask && !s->dport)) {
		kerr_set(err, errlen, "PF_KEY cannot match port 0 exactly");
		return -EOPNOTSUPP;
	}
	if (s->ifindex) {
		kerr_set(err, errlen, "PF_KEY selectors have no interface");
		return -EOPNOTSUPP;
	}
	return 0;
}

static void put_sel(struct wr *w, const struct pfk_flavor *fl,
		    const struct ksel *s)
{
	uint8_t proto = s->proto ? s->proto : PFK_ULPROTO_ANY;

	put_address(w, fl, PFK_EXT_ADDRESS_SRC, s->af, &s->src, proto,
		    s->src_plen, s->sport);
	put_address(w, fl, PFK_EXT_ADDRESS_DST, s->af, &s->dst, proto,
		    s->dst_plen, s->dport);
}

static uint8_t level_to_pfk(enum klevel l)
{
	return l == KLEVEL_USE	    ? PFK_LEVEL_USE
	       : l == KLEVEL_UNIQUE ? PFK_LEVEL_UNIQUE
				    : PFK_LEVEL_REQUIRE;
}

/* One sadb_x_ipsecrequest: its length is in bytes (not 64-bit words),
 * tunnel endpoints follow as two sockaddrs, the sum is padded to 8. */
static void put_isr(struct wr *w, const struct pfk_flavor *fl,
		    const struct ktmpl *t)
{
	size_t off = w->len;
	uint16_t len;
	bool addrs = t->src.af && t->dst.af;

	put16(w, 0);
	put16(w, t->proto);
	wr_u8(w, mode_to_pfk(t->mode));
	wr_u8(w, level_to_pfk(t->level));
	if (fl->isr_size == 16) {
		/* Linux: reserved1, 32-bit reqid, reserved2 */
		put16(w, 0);
		put32(w, t->reqid);
		put32(w, 0);
	} else {
		put16(w, (uint16_t)t->reqid);
	}
	if (addrs) {
		put_sockaddr(w, fl, t->src.af, &t->src, 0);
		put_sockaddr(w, fl, t->dst.af, &t->dst, 0);
	}
	pad8(w, off);
	if (w->err)
		return;
	len = (uint16_t)(w->len - off);
	wr_patch_bytes(w, off, &len, sizeof(len));
}

static size_t put_xpolicy(struct wr *w, uint16_t ptype, uint8_t dir,
			  uint32_t id, uint32_t prio)
{
	size_t off = ext_begin(w, PFK_X_EXT_POLICY);

	put16(w, ptype);
	wr_u8(w, dir);
	wr_u8(w, 0); /* reserved (FreeBSD scope "any" = global) */
	put32(w, id);
	put32(w, prio);
	return off;
}

static uint16_t action_to_pfk(enum kaction a)
{
	return a == KPOL_IPSEC	   ? PFK_POLICY_IPSEC
	       : a == KPOL_DISCARD ? PFK_POLICY_DISCARD
				   : PFK_POLICY_NONE;
}

int pfk_build_policy(struct wr *w, const struct pfk_req *rq, uint8_t type,
		     const struct kpolicy *p, char *err, size_t errlen)
{
	const struct pfk_flavor *fl = rq->fl;
	uint64_t tag = 0;
	uint8_t dir;
	size_t m, e;
	int rc;

	if (type != PFK_X_SPDADD && type != PFK_X_SPDUPDATE)
		return -EINVAL;
	rc = kpolicy_validate(p, err, errlen);
	if (rc < 0)
		return rc;
	rc = sel_check(&p->sel, err, errlen);
	if (rc < 0)
		return rc;
	rc = dir_to_pfk(fl, p->dir, &dir, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < p->ntmpl; i++) {
		rc = check_reqid(fl, p->tmpl[i].reqid, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (kpol_index_owned(p->index))
		tag = PFK_TAG_BASE + (p->index & (PFK_TAG_SPAN - 1));

	m = msg_begin(w, rq, type, PFK_SATYPE_UNSPEC);
	/* KAME: addtime = policy lifetime, usetime = idle time */
	if (p->hard_add_expires_sec || tag)
		put_lifetime(w, PFK_EXT_LIFETIME_HARD, 0,
			     p->hard_add_expires_sec, tag);
	put_sel(w, fl, &p->sel);
	e = put_xpolicy(w, action_to_pfk(p->action), dir, 0,
			fl->priority ? p->priority : 0);
	if (p->action == KPOL_IPSEC)
		for (unsigned i = 0; i < p->ntmpl; i++)
			put_isr(w, fl, &p->tmpl[i]);
	ext_end(w, e);
	return msg_end(w, m, err, errlen);
}

int pfk_build_spddelete(struct wr *w, const struct pfk_req *rq,
			const struct kpolicy *p, char *err, size_t errlen)
{
	uint8_t dir;
	size_t m, e;
	int rc;

	rc = sel_check(&p->sel, err, errlen);
	if (rc < 0)
		return rc;
	rc = dir_to_pfk(rq->fl, p->dir, &dir, err, errlen);
	if (rc < 0)
		return rc;
	m = msg_begin(w, rq, PFK_X_SPDDELETE, PFK_SATYPE_UNSPEC);
	put_sel(w, rq->fl, &p->sel);
	e = put_xpolicy(w, action_to_pfk(p->action), dir, 0, 0);
	ext_end(w, e);
	return msg_end(w, m, err, errlen);
}

int pfk_build_spdid(struct wr *w, const struct pfk_req *rq, uint8_t type,
		    uint32_t kid, enum kdir d)
{
	uint8_t dir = PFK_DIR_ANY;
	size_t m, e;

	if (type != PFK_X_SPDDELETE2 && type != PFK_X_SPDGET)
		return -EINVAL;
	if (d == KDIR_IN)
		dir = PFK_DIR_INBOUND;
	else if (d == KDIR_OUT)
		dir = PFK_DIR_OUTBOUND;
	else if (d == KDIR_FWD && rq->fl->fwd)
		dir = PFK_DIR_FWD;
	m = msg_begin(w, rq, type, PFK_SATYPE_UNSPEC);
	e = put_xpolicy(w, PFK_POLICY_DISCARD, dir, kid, 0);
	ext_end(w, e);
	return msg_end(w, m, NULL, 0);
}

/*
 * SADB_X_MIGRATE request (Linux af_key pfkey_migrate(); KAME MIPv6,
 * draft-sugimoto-mip6-pfkey-migrate): the selector as address(SD), then
 * an X_POLICY extension (type IPsec, the direction) whose ipsecrequests
 * come in pairs, old endpoints then new, each with the pair's protocol,
 * mode and reqid (level unique when a reqid is named, as the kernel's
 * own announcement writes them).  FreeBSD has no MIGRATE; PF_KEY has no
 * encapsulation in it.
 */
int pfk_build_migrate(struct wr *w, const struct pfk_req *rq,
		      const struct kmigrate_req *r, char *err, size_t errlen)
{
	const struct pfk_flavor *fl = rq->fl;
	uint8_t dir;
	size_t m, e;
	int rc;

	rc = kmigrate_validate(r, err, errlen);
	if (rc < 0)
		return rc;
	if (fl->os == PFK_OS_FREEBSD) {
		kerr_set(err, errlen, "%s has no SADB_X_MIGRATE", fl->name);
		return -EOPNOTSUPP;
	}
	if (r->has_encap) {
		kerr_set(err, errlen,
			 "SADB_X_MIGRATE carries no UDP encapsulation");
		return -EOPNOTSUPP;
	}
	rc = sel_check(&r->sel, err, errlen);
	if (rc < 0)
		return rc;
	rc = dir_to_pfk(fl, r->dir, &dir, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < r->n; i++) {
		rc = check_reqid(fl, r->m[i].reqid, err, errlen);
		if (rc < 0)
			return rc;
	}
	m = msg_begin(w, rq, PFK_X_MIGRATE, PFK_SATYPE_UNSPEC);
	put_sel(w, fl, &r->sel);
	e = put_xpolicy(w, PFK_POLICY_IPSEC, dir, 0, 0);
	for (unsigned i = 0; i < r->n; i++) {
		const struct kmigrate *mp = &r->m[i];
		struct ktmpl t = {
		    .proto = mp->proto,
		    .mode = mp->mode,
		    .level = mp->reqid ? KLEVEL_UNIQUE : KLEVEL_REQUIRE,
		    .reqid = mp->reqid,
		    .src = mp->old_src,
		    .dst = mp->old_dst,
		};

		put_isr(w, fl, &t);
		t.src = mp->new_src;
		t.dst = mp->new_dst;
		put_isr(w, fl, &t);
	}
	ext_end(w, e);
	return msg_end(w, m, err, errlen);
}

/* ---- parsing: the generic walk ------------------------------------------ */

struct ext_rule {
	uint16_t min; /* bytes, header included; 0 = type not known */
};

/* Smallest size of every extension type we know (RFC 2367 §2.3.x and
 * the KAME structures); all are multiples of 8. */
static const struct ext_rule ext_rules[PFK_EXT_TYPE_MAX + 1] = {
    [PFK_EXT_SA] = {16},
    [PFK_EXT_LIFETIME_CURRENT] = {32},
    [PFK_EXT_LIFETIME_HARD] = {32},
    [PFK_EXT_LIFETIME_SOFT] = {32},
    [PFK_EXT_ADDRESS_SRC] = {24}, /* + sockaddr_in, padded */
    [PFK_EXT_ADDRESS_DST] = {24},
    [PFK_EXT_ADDRESS_PROXY] = {24},
    [PFK_EXT_KEY_AUTH] = {8},
    [PFK_EXT_KEY_ENCRYPT] = {8},
    [PFK_EXT_IDENTITY_SRC] = {16},
    [PFK_EXT_IDENTITY_DST] = {16},
    [PFK_EXT_SENSITIVITY] = {16},
    [PFK_EXT_PROPOSAL] = {8},
    [PFK_EXT_SUPPORTED_AUTH] = {8},
    [PFK_EXT_SUPPORTED_ENCRYPT] = {8},
    [PFK_EXT_SPIRANGE] = {16},
    [PFK_X_EXT_KMPRIVATE] = {8},
    [PFK_X_EXT_POLICY] = {16},
    [PFK_X_EXT_SA2] = {16},
    [PFK_X_EXT_NAT_T_TYPE] = {8},
    [PFK_X_EXT_NAT_T_SPORT] = {8},
    [PFK_X_EXT_NAT_T_DPORT] = {8},
    [PFK_X_EXT_NAT_T_OA] = {24},
    /* 24-28 mean different things per dialect: sized by their parsers */
    [PFK_X_EXT_NAT_T_OAR] = {8},
    [PFK_X_EXT_NAT_T_FRAG] = {8},
    [PFK_X_EXT_SA_REPLAY] = {8},
    [PFK_X_EXT_NEW_ADDRESS_SRC] = {8},
    [PFK_X_EXT_NEW_ADDRESS_DST] = {8},
};

int pfk_parse(const void *buf, size_t len, struct pfk_msg *m)
{
	struct rd r = rd_init(buf, len);
	uint8_t version;
	uint16_t units;

	memset(m, 0, sizeof(*m));
	/* RFC 2367 §2.2 base header */
	if (rd_u8(&r, &version) < 0 || rd_u8(&r, &m->type) < 0 ||
	    rd_u8(&r, &m->err) < 0 || rd_u8(&r, &m->satype) < 0 ||
	    rd_h16(&r, &units) < 0 || rd_h16(&r, &m->reserved) < 0 ||
	    rd_h32(&r, &m->seq) < 0 || rd_h32(&r, &m->pid) < 0)
		return -EBADMSG;
	if (version != PFK_VERSION || m->type == 0)
		return -EBADMSG;
	/* sadb_msg_len counts 64-bit words of the whole message, and one
	 * datagram carries exactly one message. */
	if ((size_t)units * PFK_UNIT != len)
		return -EBADMSG;

	while (!rd_empty(&r)) {
		struct rd e, peek = r;
		uint16_t elen, type;
		size_t bytes;

		if (rd_h16(&peek, &elen) < 0 || rd_h16(&peek, &type) < 0)
			return -EBADMSG;
		/* RFC 2367 §2.3: length in 64-bit words, inclusive; 0
		 * would never advance */
		bytes = (size_t)elen * PFK_UNIT;
		if (elen == 0 || rd_sub(&r, bytes, &e) < 0)
			return -EBADMSG;
		/* RFC 2367 §2.3: type zero is reserved */
		if (type == 0)
			return -EBADMSG;
		/* RFC 2367 §2.3: unknown extension types MUST be ignored */
		if (type > PFK_EXT_TYPE_MAX || ext_rules[type].min == 0)
			continue;
		if (bytes < ext_rules[type].min)
			return -EBADMSG;
		/* RFC 2367 §2.3: only one instance of an extension type */
		if (m->ext[type].present)
			return -EBADMSG;
		m->ext[type].present = true;
		m->ext[type].r = e;
	}
	return 0;
}

int pfk_msg_error(const struct pfk_msg *m)
{
	return m->err ? -(int)m->err : 0;
}

/* ---- parsing: typed extensions ------------------------------------------ */

static int rd_h64(struct rd *r, uint64_t *v)
{
	return rd_bytes(r, v, sizeof(*v));
}

/* Reads a sockaddr_in/_in6 in the dialect's layout. */
static int get_sockaddr(const struct pfk_flavor *fl, struct rd *r,
			struct kaddr *a, uint16_t *port)
{
	uint8_t len = 0, fam8;
	uint16_t fam, p;
	uint32_t skip32;

	memset(a, 0, sizeof(*a));
	if (fl->sa_len) {
		if (rd_u8(r, &len) < 0 || rd_u8(r, &fam8) < 0)
			return -EBADMSG;
		fam = fam8;
	} else if (rd_h16(r, &fam) < 0) {
		return -EBADMSG;
	}
	if (rd_u16(r, &p) < 0)
		return -EBADMSG;
	if (fam == 2) {
		/* BSD: sa_len must be exact ("Must set each sa_len
		 * exactly", net/pfkeyv2.h) */
		if (fl->sa_len && len != 16)
			return -EBADMSG;
		a->af = AF_INET;
		if (rd_bytes(r, a->u.b, 4) < 0 || rd_skip(r, 8) < 0)
			return -EBADMSG;
	} else if (fam == fl->af_inet6) {
		if (fl->sa_len && len != 28)
			return -EBADMSG;
		a->af = AF_INET6;
		if (rd_h32(r, &skip32) < 0 || rd_bytes(r, a->u.b, 16) < 0 ||
		    rd_h32(r, &skip32) < 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	if (port)
		*port = p;
	return 0;
}

int pfk_parse_addr(const struct pfk_flavor *fl, const struct pfk_ext *e,
		   struct kaddr *a, uint8_t *proto, uint8_t *plen,
		   uint16_t *port)
{
	struct rd r = e->r;
	uint8_t pr, pl;
	uint16_t res;

	if (!e->present)
		return -EBADMSG;
	if (rd_skip(&r, 4) < 0 || rd_u8(&r, &pr) < 0 || rd_u8(&r, &pl) < 0 ||
	    rd_h16(&r, &res) < 0 || get_sockaddr(fl, &r, a, port) < 0)
		return -EBADMSG;
	/* KAME writes 0xff (FULLMASK) for "whole address" in SA messages */
	if (pl == 0xff)
		pl = full_plen(a->af);
	if (pl > full_plen(a->af))
		return -EBADMSG;
	if (proto)
		*proto = pr == PFK_ULPROTO_ANY ? 0 : pr;
	if (plen)
		*plen = pl;
	return 0;
}

struct sa_ext {
	uint32_t spi;
	uint8_t replay, state, auth, encrypt;
	uint32_t flags;
};

static int get_sa(const struct pfk_msg *m, struct sa_ext *s)
{
	struct rd r = m->ext[PFK_EXT_SA].r;

	if (!m->ext[PFK_EXT_SA].present)
		return -EBADMSG;
	if (rd_skip(&r, 4) < 0 || rd_u32(&r, &s->spi) < 0 ||
	    rd_u8(&r, &s->replay) < 0 || rd_u8(&r, &s->state) < 0 ||
	    rd_u8(&r, &s->auth) < 0 || rd_u8(&r, &s->encrypt) < 0 ||
	    rd_h32(&r, &s->flags) < 0)
		return -EBADMSG;
	return 0;
}

static int get_sa2(const struct pfk_msg *m, uint8_t *mode, uint32_t *reqid)
{
	struct rd r = m->ext[PFK_X_EXT_SA2].r;
	uint32_t seq;

	if (rd_skip(&r, 4) < 0 || rd_u8(&r, mode) < 0 || rd_skip(&r, 3) < 0 ||
	    rd_h32(&r, &seq) < 0 || rd_h32(&r, reqid) < 0)
		return -EBADMSG;
	return 0;
}

struct lft_ext {
	uint32_t allocations;
	uint64_t bytes, addtime, usetime;
};

static int get_lifetime(const struct pfk_ext *e, struct lft_ext *l)
{
	struct rd r = e->r;

	if (rd_skip(&r, 4) < 0 || rd_h32(&r, &l->allocations) < 0 ||
	    rd_h64(&r, &l->bytes) < 0 || rd_h64(&r, &l->addtime) < 0 ||
	    rd_h64(&r, &l->usetime) < 0)
		return -EBADMSG;
	return 0;
}

static int get_port(const struct pfk_ext *e, uint16_t *port)
{
	struct rd r = e->r;

	if (rd_skip(&r, 4) < 0 || rd_u16(&r, port) < 0)
		return -EBADMSG;
	return 0;
}

/* RFC 2367 §2.3.4: sadb_key_bits of key data, padded to 64 bits. */
static int get_key(const struct pfk_ext *e, uint8_t *key, uint16_t *len,
		   uint16_t *bits_out, bool want)
{
	struct rd r = e->r;
	uint16_t bits, res;
	size_t n;

	if (rd_skip(&r, 4) < 0 || rd_h16(&r, &bits) < 0 || rd_h16(&r, &res) < 0)
		return -EBADMSG;
	n = (bits + 7u) / 8u;
	if (n > rd_left(&r))
		return -EBADMSG;
	*bits_out = bits;
	if (!want)
		return 0;
	if (n > KSA_MAX_KEY)
		return -EMSGSIZE;
	if (rd_bytes(&r, key, n) < 0)
		return -EBADMSG;
	*len = (uint16_t)n;
	return 0;
}

int pfk_parse_sa(const struct pfk_flavor *fl, const struct pfk_msg *m,
		 struct ksa *sa, struct kcounters *c)
{
	struct ksa tmp;
	struct ksa *out = sa ? sa : &tmp;
	struct sa_ext s;
	struct lft_ext l;
	uint16_t bits;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c)
		memset(c, 0, sizeof(*c));
	if (get_sa(m, &s) < 0)
		goto bad;
	out->proto = pfk_ipproto(m->satype);
	if (!out->proto)
		goto bad;
	out->spi = s.spi;
	if (pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_DST], &out->dst, NULL,
			   NULL, NULL) < 0)
		goto bad;
	if (m->ext[PFK_EXT_ADDRESS_SRC].present &&
	    pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_SRC], &out->src, NULL,
			   NULL, NULL) < 0)
		goto bad;
	out->replay_window = fl->replay_bytes ? s.replay * 8u : s.replay;
	if (fl->sa_replay_ext && m->ext[PFK_X_EXT_SA_REPLAY].present) {
		struct rd r = m->ext[PFK_X_EXT_SA_REPLAY].r;

		if (rd_skip(&r, 4) < 0 || rd_h32(&r, &out->replay_window) < 0)
			goto bad;
	}
	out->esn = fl->esn && (s.flags & PFK_FREEBSD_SAFLAGS_ESN);
	if (out->proto == IPPROTO_ESP)
		out->encr_id = encr_from_sadb(fl, s.encrypt);
	if (out->proto == IPPROTO_COMP && s.encrypt == PFK_CALG_DEFLATE)
		out->comp_id = IKEV2_IPCOMP_DEFLATE;
	if (out->proto != IPPROTO_COMP)
		out->integ_id = integ_from_sadb(fl, s.auth);
	if (m->ext[PFK_X_EXT_SA2].present) {
		uint8_t mode;

		if (get_sa2(m, &mode, &out->reqid) < 0)
			goto bad;
		out->mode =
		    mode == PFK_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	}
	if (m->ext[PFK_EXT_KEY_ENCRYPT].present) {
		const struct kalg_encr *e = kalg_encr_by_id(out->encr_id);

		rc = get_key(&m->ext[PFK_EXT_KEY_ENCRYPT], out->enc_key,
			     &out->enc_key_len, &bits, sa != NULL);
		if (rc < 0)
			goto fail;
		if (e && !e->fixed && bits >= e->salt * 8u)
			out->encr_keybits = (uint16_t)(bits - e->salt * 8u);
	}
	if (m->ext[PFK_EXT_KEY_AUTH].present) {
		rc = get_key(&m->ext[PFK_EXT_KEY_AUTH], out->auth_key,
			     &out->auth_key_len, &bits, sa != NULL);
		if (rc < 0)
			goto fail;
	}
	if (m->ext[PFK_EXT_LIFETIME_HARD].present) {
		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_HARD], &l) < 0)
			goto bad;
		out->lft.hard_bytes = l.bytes;
		out->lft.hard_add_sec = l.addtime;
		out->lft.hard_use_sec = l.usetime;
	}
	if (m->ext[PFK_EXT_LIFETIME_SOFT].present) {
		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_SOFT], &l) < 0)
			goto bad;
		out->lft.soft_bytes = l.bytes;
		out->lft.soft_add_sec = l.addtime;
		out->lft.soft_use_sec = l.usetime;
	}
	if (m->ext[PFK_EXT_LIFETIME_CURRENT].present) {
		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_CURRENT], &l) < 0)
			goto bad;
		/* KAME counts packets in the current allocations */
		if (c) {
			c->packets = l.allocations;
			c->bytes = l.bytes;
			c->add_time = l.addtime;
			c->use_time = l.usetime;
		}
	}
	if (m->ext[PFK_X_EXT_NAT_T_TYPE].present) {
		struct rd r = m->ext[PFK_X_EXT_NAT_T_TYPE].r;
		uint8_t type;

		if (rd_skip(&r, 4) < 0 || rd_u8(&r, &type) < 0)
			goto bad;
		out->encap.enabled = type == PFK_UDP_ENCAP_ESPINUDP;
		if (m->ext[PFK_X_EXT_NAT_T_SPORT].present &&
		    get_port(&m->ext[PFK_X_EXT_NAT_T_SPORT],
			     &out->encap.sport) < 0)
			goto bad;
		if (m->ext[PFK_X_EXT_NAT_T_DPORT].present &&
		    get_port(&m->ext[PFK_X_EXT_NAT_T_DPORT],
			     &out->encap.dport) < 0)
			goto bad;
		if (m->ext[PFK_X_EXT_NAT_T_OA].present &&
		    pfk_parse_addr(fl, &m->ext[PFK_X_EXT_NAT_T_OA],
				   &out->encap.oa, NULL, NULL, NULL) < 0)
			goto bad;
	}
	if (!sa)
		ksa_wipe(&tmp);
	return 0;
bad:
	rc = -EBADMSG;
fail:
	ksa_wipe(out);
	return rc;
}

/* ---- parsing: policies -------------------------------------------------- */

struct xpol {
	uint16_t type;
	uint8_t dir, scope;
	uint32_t id, prio;
	struct rd reqs; /* the ipsecrequests after the header */
};

static int get_xpolicy(const struct pfk_msg *m, struct xpol *x)
{
	struct rd r = m->ext[PFK_X_EXT_POLICY].r;

	if (!m->ext[PFK_X_EXT_POLICY].present)
		return -EBADMSG;
	if (rd_skip(&r, 4) < 0 || rd_h16(&r, &x->type) < 0 ||
	    rd_u8(&r, &x->dir) < 0 || rd_u8(&r, &x->scope) < 0 ||
	    rd_h32(&r, &x->id) < 0 || rd_h32(&r, &x->prio) < 0)
		return -EBADMSG;
	x->reqs = rd_rest(&r);
	return 0;
}

static int dir_from_pfk(const struct pfk_flavor *fl, uint8_t d, enum kdir *out)
{
	if (d == PFK_DIR_INBOUND)
		*out = KDIR_IN;
	else if (d == PFK_DIR_OUTBOUND)
		*out = KDIR_OUT;
	else if (d == PFK_DIR_FWD && fl->fwd)
		*out = KDIR_FWD;
	else
		return -ENOENT; /* "any"/invalid: nothing racoon2 installs */
	return 0;
}

/* Reads the next sadb_x_ipsecrequest (length in bytes, 8-aligned). */
static int get_isr(const struct pfk_flavor *fl, struct rd *reqs,
		   struct ktmpl *t)
{
	struct rd r;
	uint16_t len, proto;
	uint8_t mode, level;
	uint32_t reqid;

	memset(t, 0, sizeof(*t));
	{
		struct rd peek = *reqs;

		if (rd_h16(&peek, &len) < 0)
			return -EBADMSG;
	}
	if (len < fl->isr_size || len % PFK_UNIT || rd_sub(reqs, len, &r) < 0)
		return -EBADMSG;
	if (rd_skip(&r, 2) < 0 || rd_h16(&r, &proto) < 0 ||
	    rd_u8(&r, &mode) < 0 || rd_u8(&r, &level) < 0)
		return -EBADMSG;
	if (fl->isr_size == 16) {
		if (rd_skip(&r, 2) < 0 || rd_h32(&r, &reqid) < 0 ||
		    rd_skip(&r, 4) < 0)
			return -EBADMSG;
	} else {
		uint16_t r16;

		if (rd_h16(&r, &r16) < 0)
			return -EBADMSG;
		reqid = r16;
	}
	if (proto != IPPROTO_ESP && proto != IPPROTO_AH &&
	    proto != IPPROTO_COMP)
		return -EBADMSG;
	t->proto = (uint8_t)proto;
	t->reqid = reqid;
	if (mode == PFK_MODE_TUNNEL)
		t->mode = KMODE_TUNNEL;
	else if (mode == PFK_MODE_TRANSPORT || mode == PFK_MODE_ANY)
		t->mode = KMODE_TRANSPORT;
	else
		return -EBADMSG;
	/* "default" defers to the system level: report the weaker one */
	t->level = level == PFK_LEVEL_UNIQUE	? KLEVEL_UNIQUE
		   : level == PFK_LEVEL_REQUIRE ? KLEVEL_REQUIRE
						: KLEVEL_USE;
	if (level > PFK_LEVEL_UNIQUE)
		return -EBADMSG;
	/* net/pfkeyv2.h: source and destination sockaddrs follow without
	 * padding between them, only after the pair */
	if (!rd_empty(&r)) {
		if (get_sockaddr(fl, &r, &t->src, NULL) < 0 ||
		    get_sockaddr(fl, &r, &t->dst, NULL) < 0 ||
		    t->src.af != t->dst.af || rd_left(&r) >= PFK_UNIT)
			return -EBADMSG;
	}
	if (t->mode == KMODE_TUNNEL && !t->dst.af)
		return -EBADMSG;
	return 0;
}

static int sel_from_addrs(const struct pfk_flavor *fl, const struct pfk_msg *m,
			  struct ksel *s)
{
	uint8_t sproto, dproto;

	memset(s, 0, sizeof(*s));
	if (pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_SRC], &s->src, &sproto,
			   &s->src_plen, &s->sport) < 0 ||
	    pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_DST], &s->dst, &dproto,
			   &s->dst_plen, &s->dport) < 0)
		return -EBADMSG;
	if (s->src.af != s->dst.af)
		return -EBADMSG;
	s->af = s->src.af;
	s->proto = sproto ? sproto : dproto;
	s->sport_mask = s->sport ? 0xffff : 0;
	s->dport_mask = s->dport ? 0xffff : 0;
	return 0;
}

static uint32_t index_from_tag(uint64_t tag)
{
	return (uint32_t)KPOL_INDEX_MAGIC << 24 |
	       (uint32_t)(tag - PFK_TAG_BASE);
}

int pfk_parse_policy(const struct pfk_flavor *fl, const struct pfk_msg *m,
		     struct kpolicy *p, uint32_t *kid)
{
	struct xpol x;
	int rc;

	memset(p, 0, sizeof(*p));
	if (get_xpolicy(m, &x) < 0 || sel_from_addrs(fl, m, &p->sel) < 0)
		return -EBADMSG;
	if (kid)
		*kid = x.id;
	/* FreeBSD scope: interface (if_ipsec) and socket policies are
	 * not in racoon2's model */
	if (fl->os == PFK_OS_FREEBSD && x.scope > 1)
		return -ENOENT;
	rc = dir_from_pfk(fl, x.dir, &p->dir);
	if (rc < 0)
		return rc;
	p->priority = fl->priority ? x.prio : 0;
	p->index = x.id;
	switch (x.type) {
	case PFK_POLICY_DISCARD:
		p->action = KPOL_DISCARD;
		break;
	case PFK_POLICY_NONE:
		p->action = KPOL_BYPASS;
		break;
	case PFK_POLICY_IPSEC:
		p->action = KPOL_IPSEC;
		while (!rd_empty(&x.reqs)) {
			struct ktmpl t;

			rc = get_isr(fl, &x.reqs, &t);
			if (rc < 0)
				return rc;
			if (p->ntmpl == KPOL_MAX_TMPL)
				return -ENOENT; /* deeper than we model */
			p->tmpl[p->ntmpl++] = t;
		}
		if (!p->ntmpl)
			return -ENOENT;
		break;
	case PFK_POLICY_ENTRUST:
	case PFK_POLICY_BYPASS:
		return -ENOENT; /* socket-only policy types */
	default:
		return -EBADMSG;
	}
	if (m->ext[PFK_EXT_LIFETIME_HARD].present) {
		struct lft_ext l;

		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_HARD], &l) < 0)
			return -EBADMSG;
		p->hard_add_expires_sec = l.addtime;
		if (pfk_tag_owned(l.usetime)) {
			p->owned = true;
			p->index = index_from_tag(l.usetime);
		}
	}
	if (m->ext[PFK_EXT_LIFETIME_CURRENT].present) {
		struct lft_ext l;

		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_CURRENT], &l) < 0)
			return -EBADMSG;
		p->add_time = l.addtime;
		p->use_time = l.usetime;
	}
	return 0;
}

/* ---- parsing: events ---------------------------------------------------- */

/* RFC 2367 §3.1.6: ACQUIRE <base, address(SD), (address(P)),
 * (identity(SD)), (sensitivity), proposal>; KAME adds X_POLICY (the
 * policy id) and SA2 (mode, reqid). */
static int parse_acquire(const struct pfk_flavor *fl, const struct pfk_msg *m,
			 struct kevent *ev, uint32_t *kid)
{
	struct ktmpl *t = &ev->u.acquire.tmpl;
	struct ksel *s = &ev->u.acquire.sel;
	uint8_t proto, plen;
	uint16_t port;

	ev->type = KEV_ACQUIRE;
	t->proto = pfk_ipproto(m->satype);
	if (!t->proto)
		return -EBADMSG;
	if (pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_SRC], &ev->u.acquire.src,
			   &proto, &plen, &port) < 0 ||
	    pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_DST], &ev->u.acquire.dst,
			   NULL, NULL, NULL) < 0 ||
	    ev->u.acquire.src.af != ev->u.acquire.dst.af)
		return -EBADMSG;
	/* no packet selector in PF_KEY: the endpoints as hosts */
	if (sel_from_addrs(fl, m, s) < 0)
		return -EBADMSG;
	s->src_plen = s->dst_plen = full_plen(s->af);
	if (m->ext[PFK_X_EXT_POLICY].present) {
		struct xpol x;

		if (get_xpolicy(m, &x) < 0)
			return -EBADMSG;
		if (dir_from_pfk(fl, x.dir, &ev->u.acquire.dir) < 0)
			ev->u.acquire.dir = KDIR_OUT;
		ev->u.acquire.pol_index = x.id;
		*kid = x.id;
	} else {
		ev->u.acquire.dir = KDIR_OUT;
	}
	if (m->ext[PFK_X_EXT_SA2].present) {
		uint8_t mode;

		if (get_sa2(m, &mode, &t->reqid) < 0)
			return -EBADMSG;
		t->mode =
		    mode == PFK_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	}
	if (t->mode == KMODE_TUNNEL) {
		t->src = ev->u.acquire.src;
		t->dst = ev->u.acquire.dst;
	}
	t->level = KLEVEL_REQUIRE;
	return 0;
}

/* RFC 2367 §3.1.8: EXPIRE <base, SA, lifetime(C and one of HS),
 * address(SD)> - the soft or the hard limit, never both. */
static int parse_expire(const struct pfk_flavor *fl, const struct pfk_msg *m,
			struct kevent *ev)
{
	struct sa_ext s;
	bool hard = m->ext[PFK_EXT_LIFETIME_HARD].present;
	bool soft = m->ext[PFK_EXT_LIFETIME_SOFT].present;

	if (hard == soft)
		return -EBADMSG;
	if (get_sa(m, &s) < 0)
		return -EBADMSG;
	ev->type = KEV_EXPIRE;
	ev->u.expire.proto = pfk_ipproto(m->satype);
	if (!ev->u.expire.proto)
		return -EBADMSG;
	ev->u.expire.spi = s.spi;
	ev->u.expire.hard = hard;
	if (pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_DST], &ev->u.expire.dst,
			   NULL, NULL, NULL) < 0)
		return -EBADMSG;
	if (m->ext[PFK_X_EXT_SA2].present) {
		uint8_t mode;

		if (get_sa2(m, &mode, &ev->u.expire.reqid) < 0)
			return -EBADMSG;
	}
	return 0;
}

/* KAME SPDEXPIRE <base, address(SD), lifetime(CH), policy>: sent when
 * the kernel removed a policy whose lifetime ran out. */
static int parse_spdexpire(const struct pfk_flavor *fl, const struct pfk_msg *m,
			   struct kevent *ev, uint32_t *kid)
{
	struct xpol x;

	if (get_xpolicy(m, &x) < 0)
		return -EBADMSG;
	ev->type = KEV_POL_EXPIRE;
	if (sel_from_addrs(fl, m, &ev->u.pol_expire.sel) < 0)
		return -EBADMSG;
	if (dir_from_pfk(fl, x.dir, &ev->u.pol_expire.dir) < 0)
		return -EBADMSG;
	ev->u.pol_expire.index = x.id;
	*kid = x.id;
	ev->u.pol_expire.hard = !m->ext[PFK_EXT_LIFETIME_SOFT].present ||
				m->ext[PFK_EXT_LIFETIME_HARD].present;
	if (m->ext[PFK_EXT_LIFETIME_HARD].present) {
		struct lft_ext l;

		if (get_lifetime(&m->ext[PFK_EXT_LIFETIME_HARD], &l) < 0)
			return -EBADMSG;
		if (pfk_tag_owned(l.usetime))
			ev->u.pol_expire.index = index_from_tag(l.usetime);
	}
	return 0;
}

/* KAME/Linux MIGRATE <base, address(SD) = selector, policy with pairs
 * of ipsecrequests: old endpoints, new endpoints> (Linux af_key
 * ipsecrequests_to_migrate(): both of a pair carry two addresses of one
 * family, the same protocol and mode; the reqid is the old one's). */
static int parse_migrate(const struct pfk_flavor *fl, const struct pfk_msg *m,
			 struct kevent *ev)
{
	struct kmigrate_req *q = &ev->u.migrate;
	struct ktmpl old_t, new_t;
	struct xpol x;

	if (get_xpolicy(m, &x) < 0)
		return -EBADMSG;
	ev->type = KEV_MIGRATE;
	if (sel_from_addrs(fl, m, &q->sel) < 0)
		return -EBADMSG;
	if (dir_from_pfk(fl, x.dir, &q->dir) < 0)
		return -EBADMSG;
	while (!rd_empty(&x.reqs)) {
		struct kmigrate *mp;

		if (q->n == KMIGRATE_MAX || get_isr(fl, &x.reqs, &old_t) < 0 ||
		    get_isr(fl, &x.reqs, &new_t) < 0)
			return -EBADMSG;
		if (!old_t.src.af || !new_t.src.af ||
		    old_t.proto != new_t.proto || old_t.mode != new_t.mode)
			return -EBADMSG;
		mp = &q->m[q->n++];
		mp->proto = old_t.proto;
		mp->mode = old_t.mode;
		mp->reqid = old_t.reqid;
		mp->old_src = old_t.src;
		mp->old_dst = old_t.dst;
		mp->new_src = new_t.src;
		mp->new_dst = new_t.dst;
	}
	return q->n ? 0 : -EBADMSG;
}

/* NAT_T_NEW_MAPPING <base, SA, address(S) + NAT_T_SPORT = old peer
 * address/port, address(D) + NAT_T_DPORT = new ones> (Linux af_key). */
static int parse_mapping(const struct pfk_flavor *fl, const struct pfk_msg *m,
			 struct kevent *ev)
{
	struct sa_ext s;

	if (get_sa(m, &s) < 0)
		return -EBADMSG;
	ev->type = KEV_MAPPING;
	ev->u.mapping.proto = pfk_ipproto(m->satype);
	if (ev->u.mapping.proto != IPPROTO_ESP)
		return -EBADMSG; /* RFC 3948 encapsulates ESP only */
	ev->u.mapping.spi = s.spi;
	if (pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_SRC],
			   &ev->u.mapping.old_addr, NULL, NULL, NULL) < 0 ||
	    pfk_parse_addr(fl, &m->ext[PFK_EXT_ADDRESS_DST],
			   &ev->u.mapping.new_addr, NULL, NULL, NULL) < 0 ||
	    !m->ext[PFK_X_EXT_NAT_T_SPORT].present ||
	    !m->ext[PFK_X_EXT_NAT_T_DPORT].present ||
	    get_port(&m->ext[PFK_X_EXT_NAT_T_SPORT], &ev->u.mapping.old_port) <
		0 ||
	    get_port(&m->ext[PFK_X_EXT_NAT_T_DPORT], &ev->u.mapping.new_port) <
		0)
		return -EBADMSG;
	return 0;
}

int pfk_parse_event(const struct pfk_flavor *fl, const struct pfk_msg *m,
		    struct kevent *ev, uint32_t *kid)
{
	uint32_t dummy;

	memset(ev, 0, sizeof(*ev));
	if (!kid)
		kid = &dummy;
	*kid = 0;
	/* an event carrying an errno is a failed request's echo */
	if (m->err)
		return -ENOENT;
	switch (m->type) {
	case PFK_ACQUIRE:
		return parse_acquire(fl, m, ev, kid);
	case PFK_EXPIRE:
		return parse_expire(fl, m, ev);
	case PFK_X_SPDEXPIRE:
		return parse_spdexpire(fl, m, ev, kid);
	case PFK_X_MIGRATE:
		return parse_migrate(fl, m, ev);
	case PFK_X_NAT_T_NEW_MAPPING:
		return parse_mapping(fl, m, ev);
	default:
		return -ENOENT;
	}
}
