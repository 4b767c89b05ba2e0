/*
 * xfrm_msg.c - build and parse Linux XFRM netlink messages.
 *
 * Building uses libmnl's checked puts into a caller buffer.  Parsing
 * never trusts a length it has not compared with what is left: the
 * datagram is walked with struct rd, each attribute is bounded by the
 * table xfrma_rules[] (minimum/maximum payload size) in one loop, and
 * fixed kernel structures are copied out with rd_bytes() into properly
 * aligned locals (never cast over the buffer).
 *
 * No allocation; callers own every buffer and output struct.  Key
 * material passes through stack temporaries that are wiped.
 */
#include "kernel/xfrm_msg.h"
#include "kernel/kernel_priv.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

/* ---- attribute table --------------------------------------------------- */

/* Largest key we accept in a kernel reply: far above any real cipher, so
 * foreign SAs still parse; KSA_MAX_KEY is checked when copying. */
#define XNL_KEY_MAX	 512
#define XFRM_MAX_DEPTH_U 6 /* XFRM_MAX_DEPTH in the kernel */

struct xattr_rule {
	uint16_t min, max; /* payload bytes; max 0 = attribute not known */
};

#define FIXED(t)                                                               \
	{                                                                      \
		sizeof(t), sizeof(t)                                           \
	}
#define VAR(t, extra)                                                          \
	{                                                                      \
		sizeof(t), sizeof(t) + (extra)                                 \
	}

/* Attributes the kernel sends us, with the exact sizes of
 * include/uapi/linux/xfrm.h.  Unknown (newer) types are skipped. */
static const struct xattr_rule xfrma_rules[] = {
    [XFRMA_ALG_AUTH] = VAR(struct xfrm_algo, XNL_KEY_MAX),
    [XFRMA_ALG_CRYPT] = VAR(struct xfrm_algo, XNL_KEY_MAX),
    [XFRMA_ALG_COMP] = VAR(struct xfrm_algo, XNL_KEY_MAX),
    [XFRMA_ENCAP] = FIXED(struct xfrm_encap_tmpl),
    [XFRMA_TMPL] = {sizeof(struct xfrm_user_tmpl),
		    XFRM_MAX_DEPTH_U * sizeof(struct xfrm_user_tmpl)},
    [XFRMA_SA] = FIXED(struct xfrm_usersa_info),
    [XFRMA_POLICY] = FIXED(struct xfrm_userpolicy_info),
    [XFRMA_SEC_CTX] = VAR(struct xfrm_sec_ctx, 4096),
    [XFRMA_LTIME_VAL] = FIXED(struct xfrm_lifetime_cur),
    [XFRMA_REPLAY_VAL] = FIXED(struct xfrm_replay_state),
    [XFRMA_REPLAY_THRESH] = FIXED(uint32_t),
    [XFRMA_ETIMER_THRESH] = FIXED(uint32_t),
    [XFRMA_SRCADDR] = FIXED(xfrm_address_t),
    [XFRMA_COADDR] = FIXED(xfrm_address_t),
    [XFRMA_LASTUSED] = FIXED(uint64_t),
    [XFRMA_POLICY_TYPE] = FIXED(struct xfrm_userpolicy_type),
    [XFRMA_MIGRATE] = {sizeof(struct xfrm_user_migrate),
		       XFRM_MAX_DEPTH_U * sizeof(struct xfrm_user_migrate)},
    [XFRMA_ALG_AEAD] = VAR(struct xfrm_algo_aead, XNL_KEY_MAX),
    [XFRMA_KMADDRESS] = FIXED(struct xfrm_user_kmaddress),
    [XFRMA_ALG_AUTH_TRUNC] = VAR(struct xfrm_algo_auth, XNL_KEY_MAX),
    [XFRMA_MARK] = FIXED(struct xfrm_mark),
    [XFRMA_TFCPAD] = FIXED(uint32_t),
    [XFRMA_REPLAY_ESN_VAL] =
	VAR(struct xfrm_replay_state_esn, XFRMA_REPLAY_ESN_MAX / 8),
    [XFRMA_SA_EXTRA_FLAGS] = FIXED(uint32_t),
    [XFRMA_PROTO] = FIXED(uint8_t),
    [XFRMA_ADDRESS_FILTER] = FIXED(struct xfrm_address_filter),
    [XFRMA_PAD] = {0, 8},
    [XFRMA_OFFLOAD_DEV] = FIXED(struct xfrm_user_offload),
    [XFRMA_SET_MARK] = FIXED(uint32_t),
    [XFRMA_SET_MARK_MASK] = FIXED(uint32_t),
    [XFRMA_IF_ID] = FIXED(uint32_t),
    [XFRMA_MTIMER_THRESH] = FIXED(uint32_t),
};

#define NRULES (sizeof(xfrma_rules) / sizeof(xfrma_rules[0]))

struct xattr {
	bool present;
	struct rd r;
};

/*
 * The one loop that enforces the generic attribute rules: header fits,
 * nla_len >= 4 and within the message, payload size within the table's
 * bounds, no duplicates.
 */
static int xattrs_parse(struct rd r, struct xattr tb[NRULES])
{
	memset(tb, 0, NRULES * sizeof(tb[0]));
	while (!rd_empty(&r)) {
		uint16_t len, type;
		struct rd payload;
		size_t pad;

		if (rd_h16(&r, &len) < 0 || rd_h16(&r, &type) < 0)
			return -EBADMSG;
		if (len < NLA_HDRLEN)
			return -EBADMSG;
		if (rd_sub(&r, (size_t)len - NLA_HDRLEN, &payload) < 0)
			return -EBADMSG;
		/* the last attribute may come without its padding */
		pad = NLA_ALIGN(len) - len;
		if (pad > rd_left(&r))
			pad = rd_left(&r);
		rd_skip(&r, pad);

		type &= NLA_TYPE_MASK;
		if (type >= NRULES || xfrma_rules[type].max == 0)
			continue; /* newer kernel attribute: ignore */
		if (payload.len < xfrma_rules[type].min ||
		    payload.len > xfrma_rules[type].max)
			return -EBADMSG;
		if (tb[type].present)
			return -EBADMSG;
		tb[type].present = true;
		tb[type].r = payload;
	}
	return 0;
}

/* Copies a fixed kernel header off the payload, then its alignment
 * padding (which may be absent when nothing follows). */
static int read_fixed(struct rd *r, void *out, size_t size)
{
	size_t pad = NLMSG_ALIGN(size) - size;

	if (rd_bytes(r, out, size) < 0)
		return -EBADMSG;
	if (pad > rd_left(r))
		pad = rd_left(r);
	rd_skip(r, pad);
	return 0;
}

/* ---- conversions ------------------------------------------------------- */

static int addr_from_x(struct kaddr *a, const xfrm_address_t *x,
		       uint16_t family)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->af = AF_INET;
		memcpy(a->u.b, x, 4);
	} else if (family == AF_INET6) {
		a->af = AF_INET6;
		memcpy(a->u.b, x, 16);
	} else if (family != AF_UNSPEC) {
		return -EBADMSG;
	}
	return 0;
}

static bool xaddr_zero(const xfrm_address_t *x)
{
	static const xfrm_address_t zero;
	return memcmp(x, &zero, sizeof(zero)) == 0;
}

/* Address that may be "unset" (all zero) in a template or encap. */
static int addr_from_x_opt(struct kaddr *a, const xfrm_address_t *x,
			   uint16_t family)
{
	if (xaddr_zero(x)) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	return addr_from_x(a, x, family);
}

static void addr_to_x(xfrm_address_t *x, const struct kaddr *a)
{
	memset(x, 0, sizeof(*x));
	memcpy(x, a->u.b, kaf_len(a->af));
}

static int sel_from_x(struct ksel *s, const struct xfrm_selector *x)
{
	unsigned max;

	memset(s, 0, sizeof(*s));
	if (x->family == AF_UNSPEC)
		return 0;
	if (x->family != AF_INET && x->family != AF_INET6)
		return -EBADMSG;
	max = x->family == AF_INET ? 32 : 128;
	if (x->prefixlen_s > max || x->prefixlen_d > max)
		return -EBADMSG;
	s->af = (uint8_t)x->family;
	s->proto = x->proto;
	s->src_plen = x->prefixlen_s;
	s->dst_plen = x->prefixlen_d;
	addr_from_x(&s->src, &x->saddr, x->family);
	addr_from_x(&s->dst, &x->daddr, x->family);
	s->sport = ntohs(x->sport);
	s->dport = ntohs(x->dport);
	s->sport_mask = ntohs(x->sport_mask);
	s->dport_mask = ntohs(x->dport_mask);
	s->ifindex = x->ifindex > 0 ? (uint32_t)x->ifindex : 0;
	return 0;
}

static void sel_to_x(struct xfrm_selector *x, const struct ksel *s)
{
	memset(x, 0, sizeof(*x));
	if (!s->af)
		return;
	x->family = s->af;
	x->proto = s->proto;
	x->prefixlen_s = s->src_plen;
	x->prefixlen_d = s->dst_plen;
	addr_to_x(&x->saddr, &s->src);
	addr_to_x(&x->daddr, &s->dst);
	/* A port without a mask means "exactly this port". */
	x->sport = htons(s->sport);
	x->dport = htons(s->dport);
	x->sport_mask =
	    htons(s->sport && !s->sport_mask ? 0xffff : s->sport_mask);
	x->dport_mask =
	    htons(s->dport && !s->dport_mask ? 0xffff : s->dport_mask);
	x->ifindex = (int)s->ifindex;
}

/* Byte and packet limits of 0 mean "none" in racoon2 but "expire at
 * once" in XFRM (XFRM_INF is infinity); times of 0 mean none in both. */
static uint64_t lim_to_x(uint64_t v)
{
	return v ? v : XFRM_INF;
}
static uint64_t lim_from_x(uint64_t v)
{
	return v == XFRM_INF ? 0 : v;
}

static void lft_to_x(struct xfrm_lifetime_cfg *x, const struct klifetime *l)
{
	x->soft_byte_limit = lim_to_x(l->soft_bytes);
	x->hard_byte_limit = lim_to_x(l->hard_bytes);
	x->soft_packet_limit = lim_to_x(l->soft_packets);
	x->hard_packet_limit = lim_to_x(l->hard_packets);
	x->soft_add_expires_seconds = l->soft_add_sec;
	x->hard_add_expires_seconds = l->hard_add_sec;
	x->soft_use_expires_seconds = l->soft_use_sec;
	x->hard_use_expires_seconds = l->hard_use_sec;
}

static void lft_from_x(struct klifetime *l, const struct xfrm_lifetime_cfg *x)
{
	l->soft_bytes = lim_from_x(x->soft_byte_limit);
	l->hard_bytes = lim_from_x(x->hard_byte_limit);
	l->soft_packets = lim_from_x(x->soft_packet_limit);
	l->hard_packets = lim_from_x(x->hard_packet_limit);
	l->soft_add_sec = x->soft_add_expires_seconds;
	l->hard_add_sec = x->hard_add_expires_seconds;
	l->soft_use_sec = x->soft_use_expires_seconds;
	l->hard_use_sec = x->hard_use_expires_seconds;
}

static int tmpl_from_x(struct ktmpl *t, const struct xfrm_user_tmpl *x)
{
	memset(t, 0, sizeof(*t));
	t->proto = x->id.proto;
	if (x->mode == XFRM_MODE_TUNNEL)
		t->mode = KMODE_TUNNEL;
	else if (x->mode == XFRM_MODE_TRANSPORT)
		t->mode = KMODE_TRANSPORT;
	else
		return -EOPNOTSUPP; /* BEET, route optimisation: not ours */
	if (x->optional)
		t->level = KLEVEL_USE;
	else if (x->share == XFRM_SHARE_UNIQUE)
		t->level = KLEVEL_UNIQUE;
	else
		t->level = KLEVEL_REQUIRE;
	t->reqid = x->reqid;
	if (addr_from_x_opt(&t->src, &x->saddr, x->family) < 0 ||
	    addr_from_x_opt(&t->dst, &x->id.daddr, x->family) < 0)
		return -EBADMSG;
	return 0;
}

/* ---- message splitting ------------------------------------------------- */

int xnl_next(struct rd *stream, struct xnl_msg *m)
{
	uint32_t len;
	size_t pad;

	if (rd_empty(stream))
		return 0;
	if (rd_h32(stream, &len) < 0 || rd_h16(stream, &m->type) < 0 ||
	    rd_h16(stream, &m->flags) < 0 || rd_h32(stream, &m->seq) < 0 ||
	    rd_h32(stream, &m->pid) < 0)
		return -EBADMSG;
	if (len < NLMSG_HDRLEN)
		return -EBADMSG;
	if (rd_sub(stream, len - NLMSG_HDRLEN, &m->payload) < 0)
		return -EBADMSG;
	pad = NLMSG_ALIGN(len) - len;
	if (pad > rd_left(stream))
		pad = rd_left(stream);
	rd_skip(stream, pad);
	return 1;
}

static void copy_text(char *dst, size_t dstlen, struct rd r)
{
	size_t n = 0;
	uint8_t c;

	if (!dstlen)
		return;
	while (n + 1 < dstlen && rd_u8(&r, &c) == 0 && c != '\0')
		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	dst[n] = '\0';
}

int xnl_parse_error(const struct xnl_msg *m, int *err, char *msg, size_t msglen)
{
	struct rd r = m->payload, tlv;
	uint32_t e, olen;

	if (msg && msglen)
		msg[0] = '\0';
	if (m->type != NLMSG_ERROR)
		return -EINVAL;
	if (rd_h32(&r, &e) < 0 || rd_h32(&r, &olen) < 0 ||
	    rd_skip(&r, NLMSG_HDRLEN - 4) < 0)
		return -EBADMSG;
	/* errno values are small; anything else is a broken message */
	if ((int32_t)e > 0 || (int32_t)e < -4095)
		return -EBADMSG;
	*err = (int32_t)e;
	if (!(m->flags & NLM_F_ACK_TLVS))
		return 0;
	/* Without NETLINK_CAP_ACK the request is echoed before the TLVs. */
	if (!(m->flags & NLM_F_CAPPED)) {
		if (olen < NLMSG_HDRLEN ||
		    rd_skip(&r, NLMSG_ALIGN(olen) - NLMSG_HDRLEN) < 0)
			return 0; /* the error itself is still valid */
	}
	while (!rd_empty(&r)) {
		uint16_t len, type;
		size_t pad;

		if (rd_h16(&r, &len) < 0 || rd_h16(&r, &type) < 0 ||
		    len < NLA_HDRLEN || rd_sub(&r, len - NLA_HDRLEN, &tlv) < 0)
			break;
		pad = NLA_ALIGN(len) - len;
		rd_skip(&r, pad > rd_left(&r) ? rd_left(&r) : pad);
		if ((type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && msg)
			copy_text(msg, msglen, tlv);
	}
	return 0;
}

/* ---- SA replies -------------------------------------------------------- */

/*
 * An SA reply is parsed one nesting level at a time, as wireguard-tools'
 * ipc-linux.h does for its device: the message (type, fixed
 * xfrm_usersa_info, the attribute table checked by xattrs_parse()), then
 * each attribute by its own parser into a local, checked whole (header,
 * key length against what the attribute holds, bitmap length), and only
 * when every one is valid is anything written to the caller's ksa.
 */

/* XFRMA_ALG_AEAD / XFRMA_ALG_CRYPT / XFRMA_ALG_AUTH_TRUNC: a fixed
 * header (name, key length in bits, ICV or truncation bits), then the
 * key.  key is a view into the message, exactly the key's bytes. */
struct xalg {
	bool present;
	char name[64];
	uint32_t extra_bits; /* AEAD: alg_icv_len; AUTH_TRUNC: trunc_len */
	uint32_t key_bits;
	struct rd key;
};

static void name_copy(char *dst, const char *src)
{
	/* alg_name is a fixed 64-byte field; force termination */
	memcpy(dst, src, 64);
	dst[63] = '\0';
}

static int xalg_parse(const struct xattr *a, uint16_t type, struct xalg *x)
{
	struct rd r = a->r;

	memset(x, 0, sizeof(*x));
	if (!a->present)
		return 0;
	if (type == XFRMA_ALG_AEAD) {
		struct xfrm_algo_aead h;

		if (rd_bytes(&r, &h, sizeof(h)) < 0)
			return -EBADMSG;
		name_copy(x->name, h.alg_name);
		x->key_bits = h.alg_key_len;
		x->extra_bits = h.alg_icv_len;
	} else if (type == XFRMA_ALG_AUTH_TRUNC) {
		struct xfrm_algo_auth h;

		if (rd_bytes(&r, &h, sizeof(h)) < 0)
			return -EBADMSG;
		name_copy(x->name, h.alg_name);
		x->key_bits = h.alg_key_len;
		x->extra_bits = h.alg_trunc_len;
	} else {
		struct xfrm_algo h;

		if (rd_bytes(&r, &h, sizeof(h)) < 0)
			return -EBADMSG;
		name_copy(x->name, h.alg_name);
		x->key_bits = h.alg_key_len;
	}
	/* the key must be in the attribute in full */
	if (rd_sub(&r, ((size_t)x->key_bits + 7) / 8, &x->key) < 0)
		return -EBADMSG;
	x->present = true;
	return 0;
}

/* XFRMA_REPLAY_ESN_VAL: the state, then bmp_len 32-bit words of bitmap
 * (which must be there in full); only the window is kept. */
static int esn_parse(const struct xattr *a, bool *present, uint32_t *window)
{
	struct xfrm_replay_state_esn es;
	struct rd r = a->r;

	*present = false;
	if (!a->present)
		return 0;
	if (rd_bytes(&r, &es, sizeof(es)) < 0)
		return -EBADMSG;
	if (es.bmp_len > XFRMA_REPLAY_ESN_MAX / 32 ||
	    rd_left(&r) < es.bmp_len * 4u)
		return -EBADMSG;
	*present = true;
	*window = es.replay_window;
	return 0;
}

/* The second level of an SA reply: every attribute we read. */
struct sa_attrs {
	struct xalg aead, crypt, auth, comp;
	bool has_encap, has_esn, has_cur;
	struct xfrm_encap_tmpl encap;
	uint32_t esn_window;
	struct xfrm_lifetime_cur cur;
};

static int sa_attrs_parse(const struct xattr tb[NRULES], struct sa_attrs *at)
{
	struct rd r;

	memset(at, 0, sizeof(*at));
	if (xalg_parse(&tb[XFRMA_ALG_AEAD], XFRMA_ALG_AEAD, &at->aead) < 0 ||
	    xalg_parse(&tb[XFRMA_ALG_CRYPT], XFRMA_ALG_CRYPT, &at->crypt) < 0 ||
	    xalg_parse(&tb[XFRMA_ALG_AUTH_TRUNC], XFRMA_ALG_AUTH_TRUNC,
		       &at->auth) < 0 ||
	    xalg_parse(&tb[XFRMA_ALG_COMP], XFRMA_ALG_COMP, &at->comp) < 0)
		return -EBADMSG;
	if (tb[XFRMA_ENCAP].present) {
		r = tb[XFRMA_ENCAP].r;
		if (rd_bytes(&r, &at->encap, sizeof(at->encap)) < 0)
			return -EBADMSG;
		at->has_encap = true;
	}
	if (esn_parse(&tb[XFRMA_REPLAY_ESN_VAL], &at->has_esn,
		      &at->esn_window) < 0)
		return -EBADMSG;
	if (tb[XFRMA_LTIME_VAL].present) {
		r = tb[XFRMA_LTIME_VAL].r;
		if (rd_bytes(&r, &at->cur, sizeof(at->cur)) < 0)
			return -EBADMSG;
		at->has_cur = true;
	}
	return 0;
}

/* The first level: the fixed xfrm_usersa_info. */
static int sa_from_info(struct ksa *out, const struct xfrm_usersa_info *info)
{
	if (info->family != AF_INET && info->family != AF_INET6)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->proto = info->id.proto;
	out->spi = ntohl(info->id.spi);
	addr_from_x(&out->src, &info->saddr, info->family);
	addr_from_x(&out->dst, &info->id.daddr, info->family);
	out->mode =
	    info->mode == XFRM_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	out->reqid = info->reqid;
	if (sel_from_x(&out->sel, &info->sel) < 0)
		return -EBADMSG;
	lft_from_x(&out->lft, &info->lft);
	out->esn = (info->flags & XFRM_STATE_ESN) != 0;
	out->replay_window = info->replay_window;
	return 0;
}

/* An encryption (or AEAD) algorithm into out; the key only if wanted. */
static int sa_set_encr(struct ksa *out, const struct xalg *x, bool aead,
		       bool want_key)
{
	const struct kalg_encr *e;
	struct rd key = x->key;

	e = kalg_encr_by_name(x->name, aead,
			      aead ? (uint16_t)x->extra_bits : 0);
	if (e) {
		out->encr_id = e->id;
		if (!e->fixed && x->key_bits >= e->salt * 8u)
			out->encr_keybits =
			    (uint16_t)(x->key_bits - e->salt * 8u);
	}
	if (!want_key)
		return 0;
	if (key.len > KSA_MAX_KEY)
		return -EMSGSIZE;
	out->enc_key_len = (uint16_t)key.len;
	return rd_bytes(&key, out->enc_key, key.len) < 0 ? -EBADMSG : 0;
}

static int sa_set_integ(struct ksa *out, const struct xalg *x, bool want_key)
{
	const struct kalg_integ *i;
	struct rd key = x->key;

	i = kalg_integ_by_name(x->name, (uint16_t)x->extra_bits);
	if (i)
		out->integ_id = i->id;
	if (!want_key)
		return 0;
	if (key.len > KSA_MAX_KEY)
		return -EMSGSIZE;
	out->auth_key_len = (uint16_t)key.len;
	return rd_bytes(&key, out->auth_key, key.len) < 0 ? -EBADMSG : 0;
}

static void counters_from_x(struct kcounters *c,
			    const struct xfrm_usersa_info *info,
			    const struct sa_attrs *at)
{
	const struct xfrm_lifetime_cur *cur =
	    at->has_cur ? &at->cur : &info->curlft;

	memset(c, 0, sizeof(*c));
	c->bytes = cur->bytes;
	c->packets = cur->packets;
	c->add_time = cur->add_time;
	c->use_time = cur->use_time;
	c->replay_drops = info->stats.replay;
	c->integrity_drops = info->stats.integrity_failed;
}

int xnl_parse_sa(const struct xnl_msg *m, struct ksa *sa, struct kcounters *c)
{
	struct xattr tb[NRULES];
	struct xfrm_usersa_info info;
	struct sa_attrs at;
	struct rd r = m->payload;
	struct ksa tmp;
	struct ksa *out = sa ? sa : &tmp;
	int rc;

	if (m->type != XFRM_MSG_NEWSA)
		return -EINVAL;
	if (read_fixed(&r, &info, sizeof(info)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if ((rc = sa_attrs_parse(tb, &at)) < 0)
		return rc;
	if ((rc = sa_from_info(out, &info)) < 0)
		goto wipe;
	if (at.aead.present &&
	    (rc = sa_set_encr(out, &at.aead, true, sa != NULL)) < 0)
		goto wipe;
	if (at.crypt.present &&
	    (rc = sa_set_encr(out, &at.crypt, false, sa != NULL)) < 0)
		goto wipe;
	if (at.auth.present &&
	    (rc = sa_set_integ(out, &at.auth, sa != NULL)) < 0)
		goto wipe;
	/* Linux's IPComp names (crypto/deflate.c): only "deflate" maps */
	if (at.comp.present && !strcmp(at.comp.name, XNL_COMP_DEFLATE))
		out->comp_id = IKEV2_IPCOMP_DEFLATE;
	if (at.has_encap) {
		out->encap.enabled = at.encap.encap_type == UDP_ENCAP_ESPINUDP;
		out->encap.sport = ntohs(at.encap.encap_sport);
		out->encap.dport = ntohs(at.encap.encap_dport);
		addr_from_x_opt(&out->encap.oa, &at.encap.encap_oa,
				info.family);
	}
	if (at.has_esn)
		out->replay_window = at.esn_window;
	if (c)
		counters_from_x(c, &info, &at);
	if (!sa)
		mem_wipe(&tmp, sizeof(tmp));
	return 0;
wipe:
	mem_wipe(out, sizeof(*out));
	return rc;
}

/* ---- policies ---------------------------------------------------------- */

static int tmpls_parse(const struct xattr *a, struct ktmpl *out, unsigned *n)
{
	struct rd r = a->r;

	*n = 0;
	if (r.len % sizeof(struct xfrm_user_tmpl))
		return -EBADMSG;
	if (r.len / sizeof(struct xfrm_user_tmpl) > KPOL_MAX_TMPL)
		return -E2BIG;
	while (!rd_empty(&r)) {
		struct xfrm_user_tmpl ut;
		int rc;

		if (rd_bytes(&r, &ut, sizeof(ut)) < 0)
			return -EBADMSG;
		rc = tmpl_from_x(&out[*n], &ut);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

static int policy_from_info(struct kpolicy *p,
			    const struct xfrm_userpolicy_info *pi)
{
	memset(p, 0, sizeof(*p));
	if (pi->dir > XFRM_POLICY_FWD)
		return -ENOENT; /* socket policies: not in the SPD */
	if (sel_from_x(&p->sel, &pi->sel) < 0)
		return -EBADMSG;
	p->dir = (enum kdir)pi->dir;
	p->priority = pi->priority;
	p->index = pi->index;
	p->owned = kpol_index_owned(pi->index);
	p->hard_add_expires_sec = pi->lft.hard_add_expires_seconds;
	p->cur_bytes = pi->curlft.bytes;
	p->cur_packets = pi->curlft.packets;
	p->add_time = pi->curlft.add_time;
	p->use_time = pi->curlft.use_time;
	if (pi->action == XFRM_POLICY_BLOCK)
		p->action = KPOL_DISCARD;
	else if (pi->action == XFRM_POLICY_ALLOW)
		p->action = KPOL_BYPASS; /* IPSEC once templates are seen */
	else
		return -EBADMSG;
	return 0;
}

static bool is_sub_policy(const struct xattr *tb)
{
	struct xfrm_userpolicy_type t;
	struct rd r = tb[XFRMA_POLICY_TYPE].r;

	if (!tb[XFRMA_POLICY_TYPE].present)
		return false;
	if (rd_bytes(&r, &t, sizeof(t)) < 0)
		return true; /* cannot happen: size checked */
	return t.type != XFRM_POLICY_TYPE_MAIN;
}

int xnl_parse_policy(const struct xnl_msg *m, struct kpolicy *p)
{
	struct xattr tb[NRULES];
	struct xfrm_userpolicy_info pi;
	struct rd r = m->payload;
	int rc;

	if (m->type != XFRM_MSG_NEWPOLICY && m->type != XFRM_MSG_UPDPOLICY)
		return -EINVAL;
	if (read_fixed(&r, &pi, sizeof(pi)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if (is_sub_policy(tb))
		return -ENOENT;
	rc = policy_from_info(p, &pi);
	if (rc < 0)
		return rc;
	if (tb[XFRMA_TMPL].present && pi.action == XFRM_POLICY_ALLOW) {
		rc = tmpls_parse(&tb[XFRMA_TMPL], p->tmpl, &p->ntmpl);
		if (rc < 0)
			return rc;
		if (p->ntmpl)
			p->action = KPOL_IPSEC;
	}
	return 0;
}

/* ---- events ------------------------------------------------------------ */

static int parse_acquire(struct rd r, struct kevent *ev)
{
	struct xattr tb[NRULES];
	struct xfrm_user_acquire ua;
	struct ktmpl tmpls[KPOL_MAX_TMPL];
	unsigned ntmpl = 0;
	uint16_t family;

	if (read_fixed(&r, &ua, sizeof(ua)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	ev->type = KEV_ACQUIRE;
	if (sel_from_x(&ev->u.acquire.sel, &ua.sel) < 0 ||
	    ev->u.acquire.sel.af == 0)
		return -EBADMSG;
	if (ua.policy.dir > XFRM_POLICY_FWD)
		return -EBADMSG;
	ev->u.acquire.pol_index = ua.policy.index;
	ev->u.acquire.dir = (enum kdir)ua.policy.dir;
	/* xfrm_user_acquire has no family for id/saddr: take it from the
	 * template that asked for this SA (tunnels may change family). */
	family = ua.sel.family;
	if (tb[XFRMA_TMPL].present) {
		struct rd tr = tb[XFRMA_TMPL].r;
		int rc;

		if (tr.len % sizeof(struct xfrm_user_tmpl))
			return -EBADMSG;
		while (!rd_empty(&tr) && ntmpl < KPOL_MAX_TMPL) {
			struct xfrm_user_tmpl ut;

			if (rd_bytes(&tr, &ut, sizeof(ut)) < 0)
				return -EBADMSG;
			rc = tmpl_from_x(&tmpls[ntmpl], &ut);
			if (rc < 0)
				return -EBADMSG;
			if (ut.id.proto == ua.id.proto &&
			    (ut.family == AF_INET || ut.family == AF_INET6)) {
				family = ut.family;
				ev->u.acquire.tmpl = tmpls[ntmpl];
				break;
			}
			ntmpl++;
		}
	}
	if (!ev->u.acquire.tmpl.proto)
		ev->u.acquire.tmpl.proto = ua.id.proto;
	if (addr_from_x(&ev->u.acquire.src, &ua.saddr, family) < 0 ||
	    addr_from_x(&ev->u.acquire.dst, &ua.id.daddr, family) < 0)
		return -EBADMSG;
	return 0;
}

static int parse_expire(struct rd r, struct kevent *ev)
{
	struct xfrm_user_expire ue;
	struct xattr tb[NRULES];

	if (read_fixed(&r, &ue, sizeof(ue)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if (ue.state.family != AF_INET && ue.state.family != AF_INET6)
		return -EBADMSG;
	ev->type = KEV_EXPIRE;
	ev->u.expire.proto = ue.state.id.proto;
	ev->u.expire.spi = ntohl(ue.state.id.spi);
	addr_from_x(&ev->u.expire.dst, &ue.state.id.daddr, ue.state.family);
	ev->u.expire.reqid = ue.state.reqid;
	ev->u.expire.hard = ue.hard != 0;
	return 0;
}

static int parse_polexpire(struct rd r, struct kevent *ev)
{
	struct xfrm_user_polexpire up;
	struct xattr tb[NRULES];

	if (read_fixed(&r, &up, sizeof(up)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if (up.pol.dir > XFRM_POLICY_FWD)
		return -EBADMSG;
	ev->type = KEV_POL_EXPIRE;
	ev->u.pol_expire.index = up.pol.index;
	ev->u.pol_expire.dir = (enum kdir)up.pol.dir;
	if (sel_from_x(&ev->u.pol_expire.sel, &up.pol.sel) < 0)
		return -EBADMSG;
	ev->u.pol_expire.hard = up.hard != 0;
	return 0;
}

/* Linux xfrm_user_migrate's mode and protocol as racoon2 models them. */
static int migrate_from_x(struct kmigrate *m,
			  const struct xfrm_user_migrate *um)
{
	memset(m, 0, sizeof(*m));
	if (um->proto != IPPROTO_ESP && um->proto != IPPROTO_AH &&
	    um->proto != IPPROTO_COMP)
		return -EBADMSG;
	if (um->mode == XFRM_MODE_TRANSPORT)
		m->mode = KMODE_TRANSPORT;
	else if (um->mode == XFRM_MODE_TUNNEL)
		m->mode = KMODE_TUNNEL;
	else
		return -EBADMSG; /* BEET, route optimisation: not ours */
	m->proto = um->proto;
	m->reqid = um->reqid;
	if (addr_from_x(&m->old_src, &um->old_saddr, um->old_family) < 0 ||
	    addr_from_x(&m->old_dst, &um->old_daddr, um->old_family) < 0 ||
	    addr_from_x(&m->new_src, &um->new_saddr, um->new_family) < 0 ||
	    addr_from_x(&m->new_dst, &um->new_daddr, um->new_family) < 0)
		return -EBADMSG;
	return 0;
}

/*
 * XFRM_MSG_MIGRATE (the kernel's km_migrate() announcement, or a request
 * echoed by a test): xfrm_userpolicy_id, then XFRMA_MIGRATE with 1 to
 * XFRM_MAX_DEPTH xfrm_user_migrate (the attribute table bounds it, the
 * length must be a whole number of them), optionally XFRMA_KMADDRESS
 * (ignored) and XFRMA_ENCAP.
 */
static int parse_migrate(struct rd r, struct kevent *ev)
{
	struct kmigrate_req *q = &ev->u.migrate;
	struct xfrm_userpolicy_id pid;
	struct xfrm_user_migrate um;
	struct xattr tb[NRULES];
	struct rd mr;

	if (read_fixed(&r, &pid, sizeof(pid)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if (!tb[XFRMA_MIGRATE].present || pid.dir > XFRM_POLICY_FWD ||
	    tb[XFRMA_MIGRATE].r.len % sizeof(um))
		return -EBADMSG;
	ev->type = KEV_MIGRATE;
	if (sel_from_x(&q->sel, &pid.sel) < 0)
		return -EBADMSG;
	q->dir = (enum kdir)pid.dir;
	mr = tb[XFRMA_MIGRATE].r;
	while (!rd_empty(&mr)) {
		if (q->n == KMIGRATE_MAX ||
		    rd_bytes(&mr, &um, sizeof(um)) < 0 ||
		    migrate_from_x(&q->m[q->n], &um) < 0)
			return -EBADMSG;
		q->n++;
	}
	if (tb[XFRMA_ENCAP].present) {
		struct xfrm_encap_tmpl en;
		struct rd er = tb[XFRMA_ENCAP].r;

		if (rd_bytes(&er, &en, sizeof(en)) < 0)
			return -EBADMSG;
		q->has_encap = true;
		q->encap.enabled = en.encap_type == UDP_ENCAP_ESPINUDP;
		q->encap.sport = ntohs(en.encap_sport);
		q->encap.dport = ntohs(en.encap_dport);
		addr_from_x_opt(&q->encap.oa, &en.encap_oa, q->m[0].new_src.af);
	}
	return q->n ? 0 : -EBADMSG;
}

static int parse_mapping(struct rd r, struct kevent *ev)
{
	struct xfrm_user_mapping um;
	struct xattr tb[NRULES];

	if (read_fixed(&r, &um, sizeof(um)) < 0 || xattrs_parse(r, tb) < 0)
		return -EBADMSG;
	if (um.id.family != AF_INET && um.id.family != AF_INET6)
		return -EBADMSG;
	ev->type = KEV_MAPPING;
	ev->u.mapping.proto = um.id.proto;
	ev->u.mapping.spi = ntohl(um.id.spi);
	addr_from_x(&ev->u.mapping.dst, &um.id.daddr, um.id.family);
	addr_from_x(&ev->u.mapping.old_addr, &um.old_saddr, um.id.family);
	addr_from_x(&ev->u.mapping.new_addr, &um.new_saddr, um.id.family);
	ev->u.mapping.old_port = ntohs(um.old_sport);
	ev->u.mapping.new_port = ntohs(um.new_sport);
	return 0;
}

int xnl_parse_event(const struct xnl_msg *m, struct kevent *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (m->type) {
	case XFRM_MSG_ACQUIRE:
		return parse_acquire(m->payload, ev);
	case XFRM_MSG_EXPIRE:
		return parse_expire(m->payload, ev);
	case XFRM_MSG_POLEXPIRE:
		return parse_polexpire(m->payload, ev);
	case XFRM_MSG_MIGRATE:
		return parse_migrate(m->payload, ev);
	case XFRM_MSG_MAPPING:
		return parse_mapping(m->payload, ev);
	default:
		return -ENOENT;
	}
}

/* ---- builders ---------------------------------------------------------- */

static struct nlmsghdr *msg_start(void *buf, size_t len, uint16_t type,
				  uint16_t flags, uint32_t seq, void **hdr,
				  size_t hdrlen)
{
	struct nlmsghdr *nlh;

	if (len < MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(hdrlen))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

/* Puts an xfrm_algo-style attribute: fixed header then key bytes. */
static bool put_algo(struct nlmsghdr *nlh, size_t len, uint16_t type,
		     const void *hdr, size_t hdrlen, const uint8_t *key,
		     size_t keylen)
{
	uint8_t tmp[sizeof(struct xfrm_algo_aead) + KSA_MAX_KEY];
	bool ok;

	if (hdrlen + keylen > sizeof(tmp))
		return false;
	memcpy(tmp, hdr, hdrlen);
	if (keylen)
		memcpy(tmp + hdrlen, key, keylen);
	ok = mnl_attr_put_check(nlh, len, type, hdrlen + keylen, tmp);
	mem_wipe(tmp, sizeof(tmp));
	return ok;
}

int xnl_build_sa(void *buf, size_t len, uint32_t seq, const struct ksa *sa,
		 char *err, size_t errlen)
{
	struct xfrm_usersa_info *info;
	struct nlmsghdr *nlh;
	const struct kalg_encr *e = NULL;
	const struct kalg_integ *a = NULL;
	void *hdr;
	int rc;

	rc = ksa_validate(sa, err, errlen);
	if (rc < 0)
		return rc;
	nlh = msg_start(buf, len, sa->update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
			NLM_F_REQUEST | NLM_F_ACK, seq, &hdr, sizeof(*info));
	if (!nlh)
		goto too_big;
	info = hdr;
	sel_to_x(&info->sel, &sa->sel);
	addr_to_x(&info->id.daddr, &sa->dst);
	info->id.spi = htonl(sa->spi);
	info->id.proto = sa->proto;
	addr_to_x(&info->saddr, &sa->src);
	lft_to_x(&info->lft, &sa->lft);
	info->reqid = sa->reqid;
	info->family = sa->src.af;
	info->mode =
	    sa->mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	/* The legacy replay state holds a 32-bit bitmap; larger windows
	 * and ESN (RFC 4303 §2.2.1) need XFRMA_REPLAY_ESN_VAL, and then
	 * the legacy field must stay 0. */
	if (sa->esn || sa->replay_window > 32) {
		/* header, then the (all-zero) bitmap of bmp_len words */
		uint8_t es[sizeof(struct xfrm_replay_state_esn) +
			   XFRMA_REPLAY_ESN_MAX / 8];
		struct xfrm_replay_state_esn h;
		uint32_t words = (sa->replay_window + 31) / 32;

		memset(&h, 0, sizeof(h));
		memset(es, 0, sizeof(es));
		h.bmp_len = words;
		h.replay_window = sa->replay_window;
		memcpy(es, &h, sizeof(h));
		if (sa->esn)
			info->flags |= XFRM_STATE_ESN;
		if (!mnl_attr_put_check(nlh, len, XFRMA_REPLAY_ESN_VAL,
					sizeof(h) + words * 4, es))
			goto too_big;
	} else {
		info->replay_window = (uint8_t)sa->replay_window;
	}

	if (sa->proto == IPPROTO_ESP)
		e = kalg_encr_by_id(sa->encr_id);
	if (sa->integ_id)
		a = kalg_integ_by_id(sa->integ_id);
	if (e && e->aead) {
		struct xfrm_algo_aead h;

		memset(&h, 0, sizeof(h));
		snprintf(h.alg_name, sizeof(h.alg_name), "%s", e->xfrm_name);
		h.alg_key_len = sa->enc_key_len * 8u;
		h.alg_icv_len = e->icv_bits;
		if (!put_algo(nlh, len, XFRMA_ALG_AEAD, &h, sizeof(h),
			      sa->enc_key, sa->enc_key_len))
			goto too_big;
	} else if (e) {
		struct xfrm_algo h;

		memset(&h, 0, sizeof(h));
		snprintf(h.alg_name, sizeof(h.alg_name), "%s", e->xfrm_name);
		h.alg_key_len = sa->enc_key_len * 8u;
		if (!put_algo(nlh, len, XFRMA_ALG_CRYPT, &h, sizeof(h),
			      sa->enc_key, sa->enc_key_len))
			goto too_big;
	}
	if (a) {
		struct xfrm_algo_auth h;

		memset(&h, 0, sizeof(h));
		snprintf(h.alg_name, sizeof(h.alg_name), "%s", a->xfrm_name);
		h.alg_key_len = sa->auth_key_len * 8u;
		h.alg_trunc_len = a->trunc_bits;
		if (!put_algo(nlh, len, XFRMA_ALG_AUTH_TRUNC, &h, sizeof(h),
			      sa->auth_key, sa->auth_key_len))
			goto too_big;
	}
	if (sa->proto == IPPROTO_COMP) {
		/* RFC 3173 §4.1 / RFC 2394: DEFLATE, no key (ksa_validate
		 * admits no other IPComp transform) */
		struct xfrm_algo h;

		memset(&h, 0, sizeof(h));
		snprintf(h.alg_name, sizeof(h.alg_name), "%s",
			 XNL_COMP_DEFLATE);
		if (!put_algo(nlh, len, XFRMA_ALG_COMP, &h, sizeof(h), NULL, 0))
			goto too_big;
	}
	if (sa->encap.enabled) {
		/* RFC 3948 §2: ESP in UDP, non-IKE marker-free format */
		struct xfrm_encap_tmpl en;

		memset(&en, 0, sizeof(en));
		en.encap_type = UDP_ENCAP_ESPINUDP;
		en.encap_sport = htons(sa->encap.sport);
		en.encap_dport = htons(sa->encap.dport);
		addr_to_x(&en.encap_oa, &sa->encap.oa);
		if (!mnl_attr_put_check(nlh, len, XFRMA_ENCAP, sizeof(en), &en))
			goto too_big;
	}
	return (int)nlh->nlmsg_len;
too_big:
	mem_wipe(buf, len);
	kerr_set(err, errlen, "SA message does not fit %zu bytes", len);
	return -EMSGSIZE;
}

int xnl_build_allocspi(void *buf, size_t len, uint32_t seq, uint8_t proto,
		       const struct kaddr *src, const struct kaddr *dst,
		       uint32_t reqid, uint32_t min, uint32_t max)
{
	struct xfrm_userspi_info *si;
	struct nlmsghdr *nlh;
	void *hdr;

	if (src->af != dst->af || !kaf_len(dst->af) || min > max)
		return -EINVAL;
	nlh = msg_start(buf, len, XFRM_MSG_ALLOCSPI, NLM_F_REQUEST, seq, &hdr,
			sizeof(*si));
	if (!nlh)
		return -EMSGSIZE;
	si = hdr;
	addr_to_x(&si->info.id.daddr, dst);
	si->info.id.proto = proto;
	addr_to_x(&si->info.saddr, src);
	si->info.family = dst->af;
	si->info.reqid = reqid;
	si->min = min;
	si->max = max;
	return (int)nlh->nlmsg_len;
}

int xnl_build_sa_id(void *buf, size_t len, uint32_t seq, uint16_t type,
		    uint8_t proto, const struct kaddr *dst, uint32_t spi)
{
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	void *hdr;

	if (!kaf_len(dst->af) ||
	    (type != XFRM_MSG_DELSA && type != XFRM_MSG_GETSA))
		return -EINVAL;
	nlh =
	    msg_start(buf, len, type,
		      NLM_F_REQUEST | (type == XFRM_MSG_DELSA ? NLM_F_ACK : 0),
		      seq, &hdr, sizeof(*id));
	if (!nlh)
		return -EMSGSIZE;
	id = hdr;
	addr_to_x(&id->daddr, dst);
	id->spi = htonl(spi);
	id->family = dst->af;
	id->proto = proto;
	return (int)nlh->nlmsg_len;
}

static void tmpl_to_x(struct xfrm_user_tmpl *x, const struct ktmpl *t,
		      uint8_t sel_af)
{
	memset(x, 0, sizeof(*x));
	x->id.proto = t->proto;
	x->family = t->mode == KMODE_TUNNEL ? t->dst.af
					    : (t->dst.af ? t->dst.af : sel_af);
	addr_to_x(&x->id.daddr, &t->dst);
	addr_to_x(&x->saddr, &t->src);
	x->reqid = t->reqid;
	x->mode =
	    t->mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	/* RFC 4301 §4.4.1 levels as Linux expresses them: "use" is an
	 * optional template; "unique" is recorded as XFRM_SHARE_UNIQUE
	 * (the kernel keeps but does not enforce it; SA uniqueness comes
	 * from the per-policy reqid the caller assigns). */
	x->optional = t->level == KLEVEL_USE;
	x->share =
	    t->level == KLEVEL_UNIQUE ? XFRM_SHARE_UNIQUE : XFRM_SHARE_ANY;
	x->aalgos = x->ealgos = x->calgos = ~0u;
}

int xnl_build_policy(void *buf, size_t len, uint32_t seq, uint16_t type,
		     const struct kpolicy *p, char *err, size_t errlen)
{
	struct xfrm_userpolicy_info *pi;
	struct xfrm_user_tmpl ut[KPOL_MAX_TMPL];
	struct nlmsghdr *nlh;
	void *hdr;
	int rc;

	if (type != XFRM_MSG_NEWPOLICY && type != XFRM_MSG_UPDPOLICY)
		return -EINVAL;
	rc = kpolicy_validate(p, err, errlen);
	if (rc < 0)
		return rc;
	nlh = msg_start(buf, len, type, NLM_F_REQUEST | NLM_F_ACK, seq, &hdr,
			sizeof(*pi));
	if (!nlh)
		goto too_big;
	pi = hdr;
	sel_to_x(&pi->sel, &p->sel);
	pi->lft.soft_byte_limit = pi->lft.hard_byte_limit = XFRM_INF;
	pi->lft.soft_packet_limit = pi->lft.hard_packet_limit = XFRM_INF;
	pi->lft.hard_add_expires_seconds = p->hard_add_expires_sec;
	pi->priority = p->priority;
	pi->index = p->index;
	pi->dir = (uint8_t)p->dir;
	pi->action =
	    p->action == KPOL_DISCARD ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
	pi->share = XFRM_SHARE_ANY;
	if (p->action == KPOL_IPSEC) {
		for (unsigned i = 0; i < p->ntmpl; i++)
			tmpl_to_x(&ut[i], &p->tmpl[i], p->sel.af);
		if (!mnl_attr_put_check(nlh, len, XFRMA_TMPL,
					p->ntmpl * sizeof(ut[0]), ut))
			goto too_big;
	}
	return (int)nlh->nlmsg_len;
too_big:
	kerr_set(err, errlen, "policy message does not fit %zu bytes", len);
	return -EMSGSIZE;
}

static int build_polid(void *buf, size_t len, uint32_t seq, uint16_t type,
		       uint16_t flags, const struct kpolicy *p)
{
	struct xfrm_userpolicy_id *id;
	struct nlmsghdr *nlh;
	void *hdr;

	if (p->dir > KDIR_FWD)
		return -EINVAL;
	nlh = msg_start(buf, len, type, flags, seq, &hdr, sizeof(*id));
	if (!nlh)
		return -EMSGSIZE;
	id = hdr;
	id->dir = (uint8_t)p->dir;
	if (p->index)
		id->index = p->index; /* the kernel looks up by index */
	else
		sel_to_x(&id->sel, &p->sel);
	return (int)nlh->nlmsg_len;
}

int xnl_build_poldel(void *buf, size_t len, uint32_t seq,
		     const struct kpolicy *p)
{
	return build_polid(buf, len, seq, XFRM_MSG_DELPOLICY,
			   NLM_F_REQUEST | NLM_F_ACK, p);
}

int xnl_build_polget(void *buf, size_t len, uint32_t seq,
		     const struct kpolicy *p)
{
	return build_polid(buf, len, seq, XFRM_MSG_GETPOLICY, NLM_F_REQUEST, p);
}

int xnl_build_poldump(void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh;
	void *hdr;

	nlh =
	    msg_start(buf, len, XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP,
		      seq, &hdr, sizeof(struct xfrm_userpolicy_id));
	if (!nlh)
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

/*
 * XFRM_MSG_MIGRATE request (net/xfrm/xfrm_user.c xfrm_do_migrate()): the
 * policy by selector and direction (index 0), the pairs as
 * xfrm_user_migrate, the encapsulation template when one is given.  XFRM
 * cannot remove an SA's encapsulation by MIGRATE (a missing XFRMA_ENCAP
 * keeps the old one): that request is refused here.
 */
int xnl_build_migrate(void *buf, size_t len, uint32_t seq,
		      const struct kmigrate_req *r, char *err, size_t errlen)
{
	struct xfrm_user_migrate um[KMIGRATE_MAX];
	struct xfrm_userpolicy_id *id;
	struct nlmsghdr *nlh;
	void *hdr;
	int rc;

	rc = kmigrate_validate(r, err, errlen);
	if (rc < 0)
		return rc;
	if (r->has_encap && !r->encap.enabled) {
		kerr_set(err, errlen,
			 "XFRM MIGRATE cannot remove UDP encapsulation");
		return -EOPNOTSUPP;
	}
	nlh = msg_start(buf, len, XFRM_MSG_MIGRATE, NLM_F_REQUEST | NLM_F_ACK,
			seq, &hdr, sizeof(*id));
	if (!nlh)
		goto too_big;
	id = hdr;
	sel_to_x(&id->sel, &r->sel);
	id->dir = (uint8_t)r->dir;
	memset(um, 0, sizeof(um));
	for (unsigned i = 0; i < r->n; i++) {
		const struct kmigrate *m = &r->m[i];

		addr_to_x(&um[i].old_daddr, &m->old_dst);
		addr_to_x(&um[i].old_saddr, &m->old_src);
		addr_to_x(&um[i].new_daddr, &m->new_dst);
		addr_to_x(&um[i].new_saddr, &m->new_src);
		um[i].proto = m->proto;
		um[i].mode = m->mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL
						     : XFRM_MODE_TRANSPORT;
		um[i].reqid = m->reqid;
		um[i].old_family = m->old_src.af;
		um[i].new_family = m->new_src.af;
	}
	if (!mnl_attr_put_check(nlh, len, XFRMA_MIGRATE, r->n * sizeof(um[0]),
				um))
		goto too_big;
	if (r->has_encap) {
		struct xfrm_encap_tmpl en;

		memset(&en, 0, sizeof(en));
		en.encap_type = UDP_ENCAP_ESPINUDP;
		en.encap_sport = htons(r->encap.sport);
		en.encap_dport = htons(r->encap.dport);
		addr_to_x(&en.encap_oa, &r->encap.oa);
		if (!mnl_attr_put_check(nlh, len, XFRMA_ENCAP, sizeof(en), &en))
			goto too_big;
	}
	return (int)nlh->nlmsg_len;
too_big:
	kerr_set(err, errlen, "migrate message does not fit %zu bytes", len);
	return -EMSGSIZE;
}
