/*
 * kernel.c - backend registry, the k_* wrappers every daemon calls, the
 * algorithm tables and the generic SA/policy validation shared by all
 * backends, and small address/selector helpers.
 *
 * Memory: struct kernel belongs to the caller; k_open() lets the backend
 * allocate k->priv and k_close() releases it.  Arguments are borrowed.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/filter.h>

extern const struct kernel_ops kernel_xfrm_ops;
extern const struct kernel_ops kernel_pfkey_ops;
extern const struct kernel_ops kernel_fake_ops;
extern const struct kernel_ops kernel_userspace_ops;

static const struct kernel_ops *const backends[] = {
    &kernel_xfrm_ops,
    &kernel_pfkey_ops,
    &kernel_userspace_ops,
    &kernel_fake_ops,
};

const struct kernel_ops *kernel_backend(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

bool k_has(const struct kernel *k, enum kfeature f)
{
	if (!k)
		return (kernel_xfrm_ops.features & f) == f;
	return (k->features & f) == f;
}

/*
 * Classic BPF for a NAT-T socket whose ESP-in-UDP the data plane reads
 * elsewhere; offsets are from the UDP header.  Accept IKE (non-ESP
 * marker 0) and keepalives (a single 0xff octet), drop ESP-in-UDP
 * (RFC 3948 §2.2: its SPI is never 0).
 */
static struct sock_filter esp_drop_code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8 + 4, 0, 3), /* short: accept */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), /* marker: accept */
    BPF_STMT(BPF_RET | BPF_K, 0),		  /* ESP: drop */
    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
};
static const struct sock_fprog esp_drop_prog = {
    .len = sizeof(esp_drop_code) / sizeof(esp_drop_code[0]),
    .filter = esp_drop_code,
};

int k_udp_decap(const struct kernel *k, int fd, char *err, size_t errlen)
{
	int e;

	if (k_has(k, KF_UDP_DECAP_KERNEL)) {
		int encap = UDP_ENCAP_ESPINUDP;

		if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap,
			       sizeof(encap)) == 0)
			return 0;
		e = errno;
		kerr_set(err, errlen,
			 "UDP_ENCAP_ESPINUDP: %s (ESP-in-UDP will reach the "
			 "KMP, not the data plane)",
			 strerror(e));
		return -e;
	}
	/*
	 * A data plane in user space (r2espd) has no kernel ESP to divert
	 * to: with UDP_ENCAP the kernel would push every ESP-in-UDP packet
	 * through XFRM input, fail, and try an ICMP error (measured: ~16%
	 * of the sender's CPU).  Dropping ESP on this socket keeps it to
	 * IKE just as well; r2espd's raw tap has its own copy of the
	 * packets.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &esp_drop_prog,
		       sizeof(esp_drop_prog)) == 0) {
		/* before bind: the ESP sibling joins its reuseport group
		 * (k_udp_esp_sock) */
		int on = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
		return 0;
	}
	e = errno;
	kerr_set(err, errlen,
		 "ESP drop filter: %s (ESP-in-UDP will reach the KMP and be "
		 "dropped there)",
		 strerror(e));
	return -e;
}

void kerr_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- wrappers ---------------------------------------------------------- */

static int k_done(struct kernel *k, const char *what, int rc)
{
	if (rc >= 0)
		return rc;
	if (!k->last_error[0])
		kerr_set(k->last_error, sizeof(k->last_error), "%s",
			 strerror(-rc));
	/* A missing entry on delete/query is routine for callers that
	 * clean up; keep it out of the warning log. */
	if (rc == -ENOENT || rc == -ESRCH)
		log_debug("kernel", "%s: %s", what, k->last_error);
	else
		log_warn("kernel", "%s: %s", what, k->last_error);
	return rc;
}

#define K_CALL(k, op, what, ...)                                               \
	do {                                                                   \
		if (!(k) || !(k)->ops)                                         \
			return -EBADF;                                         \
		(k)->last_error[0] = '\0';                                     \
		return k_done((k), what, (k)->ops->op((k), __VA_ARGS__));      \
	} while (0)

int k_open(struct kernel *k, const char *backend, unsigned flags)
{
	const struct kernel_ops *ops = kernel_backend(backend);
	int rc;

	memset(k, 0, sizeof(*k));
	if (!ops) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "unknown kernel backend \"%s\"",
			 backend ? backend : "(null)");
		log_err("kernel", "%s", k->last_error);
		return -ENOENT;
	}
	k->ops = ops;
	k->features = ops->features;
	rc = ops->open(k, flags);
	if (rc < 0) {
		if (!k->last_error[0])
			kerr_set(k->last_error, sizeof(k->last_error), "%s: %s",
				 ops->name, strerror(-rc));
		log_err("kernel", "open %s backend: %s", ops->name,
			k->last_error);
		k->ops = NULL;
		k->priv = NULL;
		return rc;
	}
	log_debug("kernel", "opened %s backend", ops->name);
	return 0;
}

void k_close(struct kernel *k)
{
	if (!k || !k->ops)
		return;
	k->ops->close(k);
	k->ops = NULL;
	k->priv = NULL;
}

int k_getspi(struct kernel *k, uint8_t proto, const struct kaddr *src,
	     const struct kaddr *dst, uint32_t reqid, uint32_t *spi)
{
	K_CALL(k, getspi, "getspi", proto, src, dst, reqid, spi);
}

int k_sa_add(struct kernel *k, const struct ksa *sa)
{
	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	if (ksa_validate(sa, k->last_error, sizeof(k->last_error)) < 0)
		return k_done(k, "sa_add", -EINVAL);
	K_CALL(k, sa_add, "sa_add", sa);
}

int k_sa_del(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	     uint32_t spi)
{
	K_CALL(k, sa_del, "sa_del", proto, dst, spi);
}

int k_sa_query(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	       uint32_t spi, struct kcounters *out)
{
	K_CALL(k, sa_query, "sa_query", proto, dst, spi, out);
}

int k_sa_get(struct kernel *k, uint8_t proto, const struct kaddr *dst,
	     uint32_t spi, struct ksa *sa, struct kcounters *c)
{
	K_CALL(k, sa_get, "sa_get", proto, dst, spi, sa, c);
}

int k_pol_add(struct kernel *k, struct kpolicy *p)
{
	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	if (kpolicy_validate(p, k->last_error, sizeof(k->last_error)) < 0)
		return k_done(k, "pol_add", -EINVAL);
	K_CALL(k, pol_add, "pol_add", p);
}

int k_pol_add_many(struct kernel *k, struct kpolicy *const *v, size_t n,
		   int *rc)
{
	bool valid = true;

	if (!k || !k->ops) {
		for (size_t i = 0; i < n; i++)
			rc[i] = -EBADF;
		return -EBADF;
	}
	for (size_t i = 0; i < n && valid; i++)
		valid = kpolicy_validate(v[i], NULL, 0) == 0;
	if (!k->ops->pol_add_many || !valid) {
		/* nothing done: the caller adds one by one (k_pol_add) */
		for (size_t i = 0; i < n; i++)
			rc[i] = -EOPNOTSUPP;
		return -EOPNOTSUPP;
	}
	k->last_error[0] = '\0';
	return k_done(k, "pol_add_many", k->ops->pol_add_many(k, v, n, rc));
}

int k_pol_update(struct kernel *k, struct kpolicy *p)
{
	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	if (kpolicy_validate(p, k->last_error, sizeof(k->last_error)) < 0)
		return k_done(k, "pol_update", -EINVAL);
	K_CALL(k, pol_update, "pol_update", p);
}

int k_pol_del(struct kernel *k, const struct kpolicy *p)
{
	K_CALL(k, pol_del, "pol_del", p);
}

static const char *kop_name(enum kop_type t)
{
	switch (t) {
	case KOP_GETSPI:
		return "getspi";
	case KOP_SA_ADD:
		return "sa_add";
	case KOP_SA_DEL:
		return "sa_del";
	case KOP_POL_ADD:
		return "pol_add";
	case KOP_POL_DEL:
		return "pol_del";
	}
	return "?";
}

/* One operation through the backend's own op (no batch op). */
static int kop_one(struct kernel *k, struct kop *o)
{
	switch (o->type) {
	case KOP_GETSPI:
		return k->ops->getspi(k, o->u.getspi.proto, &o->u.getspi.src,
				      &o->u.getspi.dst, o->u.getspi.reqid,
				      &o->u.getspi.spi);
	case KOP_SA_ADD:
		return k->ops->sa_add(k, o->u.sa);
	case KOP_SA_DEL:
		return k->ops->sa_del(k, o->u.sa_del.proto, &o->u.sa_del.dst,
				      o->u.sa_del.spi);
	case KOP_POL_ADD:
		return k->ops->pol_add(k, o->u.pol);
	case KOP_POL_DEL:
		return k->ops->pol_del(k, o->u.pol);
	}
	return -EINVAL;
}

int k_batch(struct kernel *k, struct kop *ops, size_t n)
{
	char why[sizeof(k->last_error)] = "", msg[sizeof(k->last_error)] = "";
	unsigned refused = 0; /* by the checks here */
	int first = 0;

	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	if (n == 0 || n > KBATCH_MAX) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "batch of %zu operations", n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i].type < KOP_GETSPI || ops[i].type > KOP_POL_DEL) {
			kerr_set(k->last_error, sizeof(k->last_error),
				 "batch: unknown operation %d",
				 (int)ops[i].type);
			return -EINVAL;
		}
	/* The checks of the single wrappers; a refused operation is not
	 * passed on (KOP_TODO marks those the backend does). */
	for (size_t i = 0; i < n; i++) {
		struct kop *o = &ops[i];
		o->rc = KOP_TODO;
		why[0] = '\0';
		if (o->type == KOP_SA_ADD &&
		    ksa_validate(o->u.sa, why, sizeof(why)) < 0)
			o->rc = -EINVAL;
		else if (o->type == KOP_POL_ADD &&
			 kpolicy_validate(o->u.pol, why, sizeof(why)) < 0)
			o->rc = -EINVAL;
		if (o->rc == -EINVAL)
			refused |= 1u << i;
		if (o->rc == -EINVAL && !first) {
			first = (int)i + 1;
			kerr_set(msg, sizeof(msg), "op %zu (%s): %s", i,
				 kop_name(o->type), why);
		}
	}
	if (k->ops->batch) {
		/* the backend names the first failure of those it did */
		k->ops->batch(k, ops, n);
		for (size_t i = 0; i < n; i++) {
			if (ops[i].rc ==
			    KOP_TODO) /* a backend that skipped it */
				ops[i].rc = -EIO;
			if (ops[i].rc < 0 && !(refused & 1u << i) &&
			    (!first || (int)i + 1 < first)) {
				first = (int)i + 1;
				memcpy(msg, k->last_error, sizeof(msg));
			}
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			if (ops[i].rc != KOP_TODO)
				continue;
			k->last_error[0] = '\0';
			ops[i].rc = kop_one(k, &ops[i]);
			if (ops[i].rc < 0 && (!first || (int)i + 1 < first)) {
				first = (int)i + 1;
				memcpy(why, k->last_error, sizeof(why));
				if (!why[0])
					kerr_set(why, sizeof(why), "%s",
						 strerror(-ops[i].rc));
				kerr_set(msg, sizeof(msg), "op %zu (%s): %s", i,
					 kop_name(ops[i].type), why);
			}
		}
	}
	if (!first)
		return 0;
	if (!msg[0])
		kerr_set(msg, sizeof(msg), "op %d (%s): %s", first - 1,
			 kop_name(ops[first - 1].type),
			 strerror(-ops[first - 1].rc));
	memcpy(k->last_error, msg, sizeof(msg));
	for (size_t i = 0; i < n; i++) {
		if (ops[i].rc >= 0)
			continue;
		if (ops[i].rc == -ENOENT || ops[i].rc == -ESRCH)
			log_debug("kernel", "batch: op %zu (%s): %s", i,
				  kop_name(ops[i].type), strerror(-ops[i].rc));
		else if ((int)i + 1 == first)
			log_warn("kernel", "batch: %s", k->last_error);
		else
			log_warn("kernel", "batch: op %zu (%s): %s", i,
				 kop_name(ops[i].type), strerror(-ops[i].rc));
	}
	return ops[first - 1].rc;
}

int k_pol_del_many(struct kernel *k, struct kpolicy *const *v, size_t n,
		   int *rc)
{
	if (!k || !k->ops || !k->ops->pol_del_many) {
		int e = !k || !k->ops ? -EBADF : -EOPNOTSUPP;

		for (size_t i = 0; i < n; i++)
			rc[i] = e;
		return e;
	}
	k->last_error[0] = '\0';
	return k_done(k, "pol_del_many", k->ops->pol_del_many(k, v, n, rc));
}

int k_pol_dump(struct kernel *k, kpol_cb cb, void *arg)
{
	K_CALL(k, pol_dump, "pol_dump", cb, arg);
}

int k_flush_own(struct kernel *k)
{
	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	return k_done(k, "flush_own", k->ops->flush_own(k));
}

int k_event_fd(struct kernel *k)
{
	if (!k || !k->ops)
		return -1;
	return k->ops->event_fd(k);
}

int k_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	K_CALL(k, event_read, "event_read", cb, arg);
}

int k_migrate(struct kernel *k, const struct kmigrate_req *r)
{
	if (!k || !k->ops)
		return -EBADF;
	k->last_error[0] = '\0';
	if (kmigrate_validate(r, k->last_error, sizeof(k->last_error)) < 0)
		return k_done(k, "migrate", -EINVAL);
	K_CALL(k, migrate, "migrate", r);
}

const char *kevent_name(enum kevent_type type)
{
	static const char *const names[] = {
	    [KEV_ACQUIRE] = "ACQUIRE",	     [KEV_EXPIRE] = "EXPIRE",
	    [KEV_POL_EXPIRE] = "POL_EXPIRE", [KEV_MIGRATE] = "MIGRATE",
	    [KEV_MAPPING] = "MAPPING",	     [KEV_RESYNC] = "RESYNC",
	};

	if ((unsigned)type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

void kevent_resync(struct kevent *ev, const char *reason)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = KEV_RESYNC;
	snprintf(ev->u.resync.reason, sizeof(ev->u.resync.reason), "%s",
		 reason ? reason : "backend state lost");
}

void ksa_wipe(struct ksa *sa)
{
	if (sa)
		mem_wipe(sa, sizeof(*sa));
}

void ksa_to_comp(struct ksa *k, uint16_t cpi, uint16_t comp_id)
{
	struct ksa c;

	memset(&c, 0, sizeof(c));
	c.proto = IPPROTO_COMP;
	c.spi = cpi;
	c.comp_id = comp_id;
	c.src = k->src;
	c.dst = k->dst;
	c.mode = k->mode;
	c.reqid = k->reqid;
	c.sel = k->sel;
	c.update = k->update;
	mem_wipe(k, sizeof(*k));
	*k = c;
}

/* ---- algorithms -------------------------------------------------------- */

/* Linux crypto names as used by ip-xfrm(8) and strongSwan. */
static const struct kalg_encr encr_tab[] = {
    {IKEV2_ENCR_3DES, "cbc(des3_ede)", 0, 0, false, true, {192}},
    {IKEV2_ENCR_NULL, "ecb(cipher_null)", 0, 0, false, true, {0}},
    {IKEV2_ENCR_AES_CBC, "cbc(aes)", 0, 0, false, false, {128, 192, 256}},
    /* RFC 3686 §5.1: 4-octet nonce after the key */
    {IKEV2_ENCR_AES_CTR,
     "rfc3686(ctr(aes))",
     4,
     0,
     false,
     false,
     {128, 192, 256}},
    /* RFC 4309 §7.1: 3-octet salt */
    {IKEV2_ENCR_AES_CCM_8,
     "rfc4309(ccm(aes))",
     3,
     64,
     true,
     false,
     {128, 192, 256}},
    {IKEV2_ENCR_AES_CCM_12,
     "rfc4309(ccm(aes))",
     3,
     96,
     true,
     false,
     {128, 192, 256}},
    {IKEV2_ENCR_AES_CCM_16,
     "rfc4309(ccm(aes))",
     3,
     128,
     true,
     false,
     {128, 192, 256}},
    /* RFC 4106 §8.1: 4-octet salt */
    {IKEV2_ENCR_AES_GCM_8,
     "rfc4106(gcm(aes))",
     4,
     64,
     true,
     false,
     {128, 192, 256}},
    {IKEV2_ENCR_AES_GCM_12,
     "rfc4106(gcm(aes))",
     4,
     96,
     true,
     false,
     {128, 192, 256}},
    {IKEV2_ENCR_AES_GCM_16,
     "rfc4106(gcm(aes))",
     4,
     128,
     true,
     false,
     {128, 192, 256}},
    /* RFC 4543 §5: GMAC, 4-octet salt, 16-octet ICV */
    {IKEV2_ENCR_NULL_AUTH_AES_GMAC,
     "rfc4543(gcm(aes))",
     4,
     128,
     true,
     false,
     {128, 192, 256}},
    /* RFC 7634 §2: 256-bit key + 4-octet salt, no Key Length attr */
    {IKEV2_ENCR_CHACHA20_POLY1305,
     "rfc7539esp(chacha20,poly1305)",
     4,
     128,
     true,
     true,
     {256}},
};

static const struct kalg_integ integ_tab[] = {
    {IKEV2_INTEG_HMAC_MD5_96, "hmac(md5)", 16, 96},
    {IKEV2_INTEG_HMAC_SHA1_96, "hmac(sha1)", 20, 96},
    {IKEV2_INTEG_AES_XCBC_96, "xcbc(aes)", 16, 96},
    {IKEV2_INTEG_HMAC_SHA2_256_128, "hmac(sha256)", 32, 128},
    {IKEV2_INTEG_HMAC_SHA2_384_192, "hmac(sha384)", 48, 192},
    {IKEV2_INTEG_HMAC_SHA2_512_256, "hmac(sha512)", 64, 256},
};

const struct kalg_encr *kalg_encr_by_id(uint16_t id)
{
	for (size_t i = 0; i < sizeof(encr_tab) / sizeof(encr_tab[0]); i++)
		if (encr_tab[i].id == id)
			return &encr_tab[i];
	return NULL;
}

const struct kalg_integ *kalg_integ_by_id(uint16_t id)
{
	for (size_t i = 0; i < sizeof(integ_tab) / sizeof(integ_tab[0]); i++)
		if (integ_tab[i].id == id)
			return &integ_tab[i];
	return NULL;
}

const struct kalg_encr *kalg_encr_by_name(const char *name, bool aead,
					  uint16_t icv_bits)
{
	for (size_t i = 0; i < sizeof(encr_tab) / sizeof(encr_tab[0]); i++) {
		const struct kalg_encr *e = &encr_tab[i];
		if (e->aead != aead || strcmp(e->xfrm_name, name) != 0)
			continue;
		if (aead && e->icv_bits != icv_bits)
			continue;
		return e;
	}
	return NULL;
}

const struct kalg_integ *kalg_integ_by_name(const char *name,
					    uint16_t trunc_bits)
{
	for (size_t i = 0; i < sizeof(integ_tab) / sizeof(integ_tab[0]); i++)
		if (strcmp(integ_tab[i].xfrm_name, name) == 0 &&
		    integ_tab[i].trunc_bits == trunc_bits)
			return &integ_tab[i];
	return NULL;
}

/* ---- validation -------------------------------------------------------- */

size_t kaf_len(uint8_t af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

static bool kaddr_valid(const struct kaddr *a, bool allow_unset)
{
	if (a->af == 0)
		return allow_unset;
	return a->af == AF_INET || a->af == AF_INET6;
}

int ksel_validate(const struct ksel *s, char *err, size_t errlen)
{
	unsigned max;

	if (s->af != AF_INET && s->af != AF_INET6) {
		kerr_set(err, errlen, "selector: bad address family %u", s->af);
		return -EINVAL;
	}
	max = s->af == AF_INET ? 32 : 128;
	if (s->src_plen > max || s->dst_plen > max) {
		kerr_set(err, errlen, "selector: prefix length > %u", max);
		return -EINVAL;
	}
	if ((s->src.af && s->src.af != s->af) ||
	    (s->dst.af && s->dst.af != s->af)) {
		kerr_set(err, errlen, "selector: address family mismatch");
		return -EINVAL;
	}
	if ((!s->src.af && s->src_plen) || (!s->dst.af && s->dst_plen)) {
		kerr_set(err, errlen, "selector: prefix without address");
		return -EINVAL;
	}
	return 0;
}

int ksa_validate(const struct ksa *sa, char *err, size_t errlen)
{
	const struct kalg_encr *e = NULL;
	const struct kalg_integ *a = NULL;

	if (sa->proto != IPPROTO_ESP && sa->proto != IPPROTO_AH &&
	    sa->proto != IPPROTO_COMP) {
		kerr_set(err, errlen, "SA protocol %u not supported",
			 sa->proto);
		return -EOPNOTSUPP;
	}
	if (!kaddr_valid(&sa->src, false) || !kaddr_valid(&sa->dst, false) ||
	    sa->src.af != sa->dst.af) {
		kerr_set(err, errlen,
			 "SA endpoints missing or of mixed "
			 "families");
		return -EINVAL;
	}
	/* RFC 4303 §2.1 / RFC 7296 §3.3.2: SPIs 0-255 are reserved */
	if (sa->spi < 256) {
		kerr_set(err, errlen, "SPI 0x%x is reserved", sa->spi);
		return -EINVAL;
	}
	if (sa->mode != KMODE_TRANSPORT && sa->mode != KMODE_TUNNEL) {
		kerr_set(err, errlen, "bad SA mode %d", (int)sa->mode);
		return -EINVAL;
	}
	if (sa->sel.af && ksel_validate(&sa->sel, err, errlen) < 0)
		return -EINVAL;
	if (sa->enc_key_len > KSA_MAX_KEY || sa->auth_key_len > KSA_MAX_KEY) {
		kerr_set(err, errlen, "key longer than %d bytes", KSA_MAX_KEY);
		return -EINVAL;
	}
	if (sa->proto != IPPROTO_COMP && sa->comp_id) {
		kerr_set(err, errlen,
			 "compression algorithm on a non-IPComp SA");
		return -EINVAL;
	}
	if (sa->proto == IPPROTO_COMP) {
		/* RFC 3173 §3.3: the CPI is 16 bits; 0-255 are reserved
		 * (checked above) */
		if (sa->spi > 0xffff) {
			kerr_set(err, errlen, "IPComp CPI 0x%x > 16 bits",
				 sa->spi);
			return -EINVAL;
		}
		/* RFC 7296 §3.10.1: DEFLATE (RFC 2394) is the one
		 * algorithm every data plane here has */
		if (sa->comp_id != IKEV2_IPCOMP_DEFLATE) {
			kerr_set(err, errlen, "unsupported IPComp transform %u",
				 sa->comp_id);
			return -EOPNOTSUPP;
		}
		/* RFC 3173 §2: no keys, no sequence numbers, no
		 * encapsulation of its own */
		if (sa->encr_id || sa->integ_id || sa->enc_key_len ||
		    sa->auth_key_len || sa->esn || sa->replay_window ||
		    sa->encap.enabled) {
			kerr_set(err, errlen,
				 "IPComp SA with keys, replay window or "
				 "UDP encapsulation");
			return -EINVAL;
		}
		return 0;
	}
	if (sa->proto == IPPROTO_AH) {
		/* RFC 4302 §2.6: AH has integrity only */
		if (sa->encr_id || sa->enc_key_len) {
			kerr_set(err, errlen,
				 "AH SA with an encryption "
				 "algorithm");
			return -EINVAL;
		}
		/* RFC 3948 encapsulates ESP only */
		if (sa->encap.enabled) {
			kerr_set(err, errlen,
				 "AH SA with UDP "
				 "encapsulation");
			return -EINVAL;
		}
		if (!sa->integ_id) {
			kerr_set(err, errlen,
				 "AH SA without integrity "
				 "algorithm");
			return -EINVAL;
		}
	} else {
		e = kalg_encr_by_id(sa->encr_id);
		if (!e) {
			kerr_set(err, errlen,
				 "unsupported encryption "
				 "transform %u",
				 sa->encr_id);
			return -EOPNOTSUPP;
		}
	}
	if (e) {
		unsigned kb = sa->encr_keybits, want;
		bool ok = false;

		if (e->fixed && kb == 0)
			kb = e->keybits[0];
		for (size_t i = 0; i < 3; i++)
			if (e->keybits[i] == kb && (kb != 0 || i == 0))
				ok = true;
		want = kb / 8 + e->salt;
		if (!ok || sa->enc_key_len != want) {
			kerr_set(err, errlen,
				 "encryption transform %u: key "
				 "of %u bits / %u bytes is invalid",
				 e->id, sa->encr_keybits, sa->enc_key_len);
			return -EINVAL;
		}
		/* RFC 7296 §3.3: an AEAD carries no integrity transform */
		if (e->aead && (sa->integ_id || sa->auth_key_len)) {
			kerr_set(err, errlen,
				 "AEAD transform %u combined with "
				 "integrity transform %u",
				 e->id, sa->integ_id);
			return -EINVAL;
		}
		/* RFC 4303 §3.2: ESP with neither confidentiality nor
		 * integrity is not allowed */
		if (e->id == IKEV2_ENCR_NULL && !sa->integ_id) {
			kerr_set(err, errlen,
				 "ESP with IKEV2_ENCR_NULL needs an "
				 "integrity transform");
			return -EINVAL;
		}
	}
	if (sa->integ_id) {
		a = kalg_integ_by_id(sa->integ_id);
		if (!a) {
			kerr_set(err, errlen,
				 "unsupported integrity "
				 "transform %u",
				 sa->integ_id);
			return -EOPNOTSUPP;
		}
		if (sa->auth_key_len != a->key_len) {
			kerr_set(err, errlen,
				 "integrity transform %u needs a "
				 "%u-byte key, got %u",
				 a->id, a->key_len, sa->auth_key_len);
			return -EINVAL;
		}
	} else if (sa->auth_key_len) {
		kerr_set(err, errlen, "integrity key without algorithm");
		return -EINVAL;
	}
	if (sa->replay_window > 4096) {
		/* XFRMA_REPLAY_ESN_MAX bits */
		kerr_set(err, errlen, "replay window %u > 4096",
			 sa->replay_window);
		return -EINVAL;
	}
	if (sa->encap.enabled) {
		if (!sa->encap.sport || !sa->encap.dport) {
			kerr_set(err, errlen,
				 "UDP encapsulation without "
				 "ports");
			return -EINVAL;
		}
		if (sa->encap.oa.af && sa->encap.oa.af != sa->src.af) {
			kerr_set(err, errlen,
				 "encapsulation original address "
				 "of the wrong family");
			return -EINVAL;
		}
	}
	return 0;
}

int kpolicy_validate(const struct kpolicy *p, char *err, size_t errlen)
{
	if (ksel_validate(&p->sel, err, errlen) < 0)
		return -EINVAL;
	if (p->dir != KDIR_IN && p->dir != KDIR_OUT && p->dir != KDIR_FWD) {
		kerr_set(err, errlen, "bad policy direction %d", (int)p->dir);
		return -EINVAL;
	}
	if (p->index && (p->index & 7) != (uint32_t)p->dir) {
		kerr_set(err, errlen,
			 "policy index 0x%x does not match "
			 "direction %d",
			 p->index, (int)p->dir);
		return -EINVAL;
	}
	switch (p->action) {
	case KPOL_IPSEC:
		if (p->ntmpl == 0 || p->ntmpl > KPOL_MAX_TMPL) {
			kerr_set(err, errlen,
				 "IPsec policy needs 1..%d "
				 "templates",
				 KPOL_MAX_TMPL);
			return -EINVAL;
		}
		break;
	case KPOL_DISCARD:
	case KPOL_BYPASS:
		if (p->ntmpl) {
			kerr_set(err, errlen,
				 "templates on a discard/bypass "
				 "policy");
			return -EINVAL;
		}
		break;
	default:
		kerr_set(err, errlen, "bad policy action %d", (int)p->action);
		return -EINVAL;
	}
	for (unsigned i = 0; i < p->ntmpl; i++) {
		const struct ktmpl *t = &p->tmpl[i];

		if (t->proto != IPPROTO_ESP && t->proto != IPPROTO_AH &&
		    t->proto != IPPROTO_COMP) {
			kerr_set(err, errlen, "template %u: protocol %u", i,
				 t->proto);
			return -EINVAL;
		}
		if (t->level != KLEVEL_REQUIRE && t->level != KLEVEL_USE &&
		    t->level != KLEVEL_UNIQUE) {
			kerr_set(err, errlen, "template %u: bad level", i);
			return -EINVAL;
		}
		if (t->mode == KMODE_TUNNEL) {
			/* RFC 4301 §4.1: tunnel mode names both endpoints */
			if (!kaddr_valid(&t->src, false) ||
			    !kaddr_valid(&t->dst, false) ||
			    t->src.af != t->dst.af) {
				kerr_set(err, errlen,
					 "template %u: tunnel "
					 "needs both endpoints",
					 i);
				return -EINVAL;
			}
		} else if (t->mode == KMODE_TRANSPORT) {
			if ((t->src.af && t->src.af != p->sel.af) ||
			    (t->dst.af && t->dst.af != p->sel.af)) {
				kerr_set(err, errlen,
					 "template %u: transport "
					 "endpoints of another family",
					 i);
				return -EINVAL;
			}
		} else {
			kerr_set(err, errlen, "template %u: bad mode", i);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- ownership serials ------------------------------------------------- */

/* the serial bitmap itself: kpol.c (also linked into r2espd) */

int kpol_index_take(struct kernel *k, struct kpol_serials *s, struct kpolicy *p,
		    uint32_t *serial)
{
	*serial = 0;
	if (p->index)
		return 0;
	*serial = kpol_serials_alloc(s);
	if (!*serial) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "no free policy index in racoon2's range");
		return -ENOSPC;
	}
	p->index = kpol_index_make(*serial, p->dir);
	return 0;
}

void kpol_index_undo(struct kpol_serials *s, struct kpolicy *p, uint32_t serial,
		     uint32_t want)
{
	if (serial)
		kpol_serials_mark(s, serial, false);
	p->index = want;
}

/* ---- backend helpers --------------------------------------------------- */

int kvec_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 64;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int kevent_overflow(bool *overflow, kevent_cb cb, void *arg)
{
	struct kevent ev;

	if (*overflow)
		return 0;
	*overflow = true;
	kevent_resync(&ev, "event overflow");
	cb(&ev, arg);
	return 1;
}

/* ---- addresses and selectors ------------------------------------------- */

int kaddr_parse(const char *s, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
		a->af = AF_INET6;
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return -EINVAL;
}

const char *kaddr_str(const struct kaddr *a, char *buf, size_t len)
{
	if (!len)
		return buf;
	if (!a || (a->af != AF_INET && a->af != AF_INET6) ||
	    !inet_ntop(a->af, a->u.b, buf, (socklen_t)len))
		snprintf(buf, len, "any");
	return buf;
}

bool kaddr_eq(const struct kaddr *a, const struct kaddr *b)
{
	if (a->af != b->af)
		return false;
	return memcmp(a->u.b, b->u.b, kaf_len(a->af)) == 0;
}

static void port_str(char *buf, size_t len, uint16_t port, uint16_t mask)
{
	if (!port && !mask)
		snprintf(buf, len, "any");
	else if (mask == 0xffff || !mask)
		snprintf(buf, len, "%u", port);
	else
		snprintf(buf, len, "%u/0x%x", port, mask);
}

const char *ksel_str(const struct ksel *s, char *buf, size_t len)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], sp[16], dp[16];
	char pr[16];

	kaddr_str(&s->src, sa, sizeof(sa));
	kaddr_str(&s->dst, da, sizeof(da));
	port_str(sp, sizeof(sp), s->sport, s->sport_mask);
	port_str(dp, sizeof(dp), s->dport, s->dport_mask);
	if (s->proto)
		snprintf(pr, sizeof(pr), "%u", s->proto);
	else
		snprintf(pr, sizeof(pr), "any");
	snprintf(buf, len, "%s/%u[%s] %s/%u[%s] proto %s", sa, s->src_plen, sp,
		 da, s->dst_plen, dp, pr);
	return buf;
}

bool ksel_eq(const struct ksel *a, const struct ksel *b)
{
	return a->af == b->af && a->proto == b->proto &&
	       a->src_plen == b->src_plen && a->dst_plen == b->dst_plen &&
	       kaddr_eq(&a->src, &b->src) && kaddr_eq(&a->dst, &b->dst) &&
	       a->sport == b->sport && a->dport == b->dport &&
	       a->sport_mask == b->sport_mask &&
	       a->dport_mask == b->dport_mask && a->ifindex == b->ifindex;
}
