/*
 * cfg.c - iked's configuration view: allocation, lookups and IDs.
 *
 * The translation from the racoon2.conf model lives in cfg_conf.c; this
 * file has no dependency on the parser so that unit tests can link it
 * alone.  Ownership is described in cfg.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/xform.h"
#include "ike/auth_cert.h"
#include "ike/cfg.h"
#include "lib/util.h"

struct ike_cfg *cfg_new(void)
{
	struct ike_cfg *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cookie_threshold = CFG_COOKIE_THRESHOLD;
	c->half_open_max = CFG_HALF_OPEN_MAX;
	c->half_open_per_addr = CFG_HALF_OPEN_PER_ADDR;
	c->half_open_per_prefix = CFG_HALF_OPEN_PER_PREFIX;
	c->half_open_timeout_ms = CFG_HALF_OPEN_TIMEOUT_MS;
	c->sa_per_id = CFG_SA_PER_ID;
	c->child_per_sa = CFG_CHILD_PER_SA;
	c->half_open_rate = CFG_HALF_OPEN_RATE;
	return c;
}

void cfg_free(struct ike_cfg *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nremote; i++) {
		mem_wipe(cfg->remote[i].psk, sizeof(cfg->remote[i].psk));
		auth_cert_free(cfg->remote[i].cert); /* auth_cert.c */
		if (cfg->remote[i].v1) {
			auth_cert_free(cfg->remote[i].v1->cert);
			mem_wipe(cfg->remote[i].v1, sizeof(struct cfg_v1));
			free(cfg->remote[i].v1);
		}
	}
	free(cfg->remote);
	free(cfg->name_idx);
	free(cfg->policy);
	free(cfg);
}

/*
 * The remote array grows by doubling: its capacity is implicit, the
 * smallest power of two >= nremote, so it is full exactly when nremote
 * is 0 or a power of two.  Loading N remotes then copies O(N) entries
 * instead of O(N^2) (a 4,000-remote file took 10 s, all of it here).
 * Each move goes to a fresh block and wipes the old one, never
 * realloc(): remotes hold pre-shared keys.
 */
struct ike_remote *cfg_add_remote(struct ike_cfg *cfg)
{
	size_t n = cfg->nremote, cap;
	struct ike_remote *a;

	/* The new remote's name is not set yet: no index until the caller
	 * builds it again. */
	free(cfg->name_idx);
	cfg->name_idx = NULL;
	cfg->name_mask = 0;

	if ((n & (n - 1)) == 0) {
		cap = n ? 2 * n : 1;
		if (cap > SIZE_MAX / sizeof(*a))
			return NULL;
		a = calloc(cap, sizeof(*a));
		if (!a)
			return NULL;
		if (n) {
			memcpy(a, cfg->remote, n * sizeof(*a));
			mem_wipe(cfg->remote, n * sizeof(*a));
		}
		free(cfg->remote);
		cfg->remote = a;
	}
	cfg_remote_defaults(&cfg->remote[n]);
	return &cfg->remote[cfg->nremote++];
}

struct ike_policy *cfg_add_policy(struct ike_cfg *cfg)
{
	struct ike_policy *n;

	n = realloc(cfg->policy, (cfg->npolicy + 1) * sizeof(*n));
	if (!n)
		return NULL;
	cfg->policy = n;
	cfg_policy_defaults(&n[cfg->npolicy]);
	return &n[cfg->npolicy++];
}

static void alg_add(struct cfg_alglist *l, uint16_t id, uint16_t keybits)
{
	if (l->n < CFG_ALG_MAX) {
		l->a[l->n].id = id;
		l->a[l->n].keybits = keybits;
		l->n++;
	}
}

void cfg_remote_defaults(struct ike_remote *r)
{
	memset(r, 0, sizeof(*r));
	r->ikev2 = true;
	r->peer_any = true;
	/* A modern default set both racoon2 and strongSwan accept. */
	alg_add(&r->encr, IKEV2_ENCR_AES_CBC, 128);
	alg_add(&r->encr, IKEV2_ENCR_AES_CBC, 256);
	alg_add(&r->prf, IKEV2_PRF_HMAC_SHA2_256, 0);
	alg_add(&r->prf, IKEV2_PRF_HMAC_SHA1, 0);
	alg_add(&r->integ, IKEV2_INTEG_HMAC_SHA2_256_128, 0);
	alg_add(&r->integ, IKEV2_INTEG_HMAC_SHA1_96, 0);
	alg_add(&r->dh, IKEV2_DH_MODP2048, 0);
	alg_add(&r->dh, IKEV2_DH_ECP256, 0);
	r->max_retry = 3;
	r->interval_ms = 2000;
	r->nego_limit_sec = 60;
	r->dpd_max_fail = 3;
	r->nat_traversal = true;
	r->fragmentation = true;
	r->initial_contact = true;
	r->window_size = 1;
}

void cfg_policy_defaults(struct ike_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = KMODE_TRANSPORT;
	p->ipsec_proto = IPPROTO_ESP;
	alg_add(&p->esp_encr, 12, 128);
	alg_add(&p->esp_integ, 12, 0);
	p->replay_window = 64;
}

bool cfg_psk_usable(const struct ike_remote *r)
{
	return r && r->have_psk && r->psk_len > 0 &&
	       (!(r->auth_methods & CFG_AUTH_SET) ||
		(r->auth_methods & CFG_AUTH_PSK));
}

bool cfg_auth_allows(const struct ike_remote *r, uint8_t m)
{
	unsigned a = r ? r->auth_methods : 0;
	bool set = a & CFG_AUTH_SET;

	if (!r)
		return false;
	/* RFC 7296 §3.8 AUTH methods, RFC 4754, RFC 7427. */
	switch (m) {
	case IKEV2_AUTH_PSK:
		return cfg_psk_usable(r);
	case IKEV2_AUTH_RSA_SIG:
		return !set || (a & CFG_AUTH_RSASIG);
	case IKEV2_AUTH_ECDSA_256:
		return !set || (a & CFG_AUTH_ECDSA256);
	case IKEV2_AUTH_ECDSA_384:
		return !set || (a & CFG_AUTH_ECDSA384);
	case IKEV2_AUTH_ECDSA_521:
		return !set || (a & CFG_AUTH_ECDSA521);
	case IKEV2_AUTH_DIGSIG:
		return !set || (a & CFG_AUTH_SIGS);
	}
	return false; /* DSS, NULL auth, unknown: never */
}

bool cfg_auth_allows_key(const struct ike_remote *r, bool rsa, int ec_bits)
{
	unsigned a = r ? r->auth_methods : 0;

	if (!r)
		return false;
	if (!(a & CFG_AUTH_SET) || (a & CFG_AUTH_DIGSIG))
		return true;
	if (rsa)
		return a & CFG_AUTH_RSASIG;
	return (ec_bits == 256 && (a & CFG_AUTH_ECDSA256)) ||
	       (ec_bits == 384 && (a & CFG_AUTH_ECDSA384)) ||
	       (ec_bits == 521 && (a & CFG_AUTH_ECDSA521));
}

/* FNV-1a, 64 bit: names are short and come from the local config. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * The liveness checks and the lifetimes look up their SA's remote by
 * name (the SA keeps the name, not a pointer, so that it survives a
 * reload), once per check: with thousands of remotes a strcmp scan was
 * the check's largest user-space cost.  A table of at least twice
 * nremote slots, linear probing; a name is inserted once (the first
 * remote of that name wins, as in the scan).
 */
int cfg_index_remotes(struct ike_cfg *cfg)
{
	size_t cap = 8, i, j;
	uint32_t *t;

	free(cfg->name_idx);
	cfg->name_idx = NULL;
	cfg->name_mask = 0;
	if (cfg->nremote >= UINT32_MAX || cfg->nremote > SIZE_MAX / 8)
		return -ENOMEM;
	while (cap < 2 * cfg->nremote)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < cfg->nremote; i++) {
		const char *name = cfg->remote[i].name;

		for (j = name_hash(name) & (cap - 1); t[j];
		     j = (j + 1) & (cap - 1))
			if (strcmp(cfg->remote[t[j] - 1].name, name) == 0)
				break;
		if (!t[j])
			t[j] = (uint32_t)i + 1;
	}
	cfg->name_idx = t;
	cfg->name_mask = cap - 1;
	return 0;
}

const struct ike_remote *cfg_remote_by_name(const struct ike_cfg *cfg,
					    const char *name)
{
	size_t i;

	if (cfg->name_idx) {
		for (i = name_hash(name) & cfg->name_mask; cfg->name_idx[i];
		     i = (i + 1) & cfg->name_mask) {
			const struct ike_remote *r =
			    &cfg->remote[cfg->name_idx[i] - 1];
			if (strcmp(r->name, name) == 0)
				return r;
		}
		return NULL;
	}
	for (i = 0; i < cfg->nremote; i++)
		if (strcmp(cfg->remote[i].name, name) == 0)
			return &cfg->remote[i];
	return NULL;
}

static const struct ike_remote *cfg_default(const struct ike_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nremote; i++)
		if (cfg->remote[i].is_default)
			return &cfg->remote[i];
	return NULL;
}

const struct ike_remote *cfg_remote_by_addr(const struct ike_cfg *cfg,
					    const struct kaddr *peer)
{
	size_t i;

	for (i = 0; i < cfg->nremote; i++) {
		const struct ike_remote *r = &cfg->remote[i];
		if (!r->is_default && r->ikev2 && !r->peer_any &&
		    kaddr_eq(&r->peer_addr, peer))
			return r;
	}
	/* The seed's design: unknown address -> `default` remote for
	 * IKE_SA_INIT, the real remote is chosen by ID in IKE_AUTH. */
	return cfg_default(cfg);
}

const struct ike_remote *cfg_remote_by_id(const struct ike_cfg *cfg,
					  const struct ike_id *id,
					  const struct kaddr *peer)
{
	const struct ike_remote *any = NULL, *rw_any = NULL;
	size_t i;

	for (i = 0; i < cfg->nremote; i++) {
		const struct ike_remote *r = &cfg->remote[i];
		if (r->is_default || !r->ikev2)
			continue;
		/* IP_RW without peers_id: any identity that proves the
		 * remote's credential (a group PSK), last resort. */
		if (r->peer_any && !r->peer_id.type && !rw_any)
			rw_any = r;
		if (!r->peer_any && !kaddr_eq(&r->peer_addr, peer))
			continue;
		if (r->peer_id.type && ike_id_eq(&r->peer_id, id))
			return r;
		/* No peers_id: the address identifies the remote. */
		if (!r->peer_id.type && !r->peer_any && !any)
			any = r;
	}
	return any ? any : rw_any;
}

const struct ike_policy *cfg_policy_by_name(const struct ike_cfg *cfg,
					    const char *name)
{
	size_t i;

	for (i = 0; i < cfg->npolicy; i++)
		if (strcmp(cfg->policy[i].name, name) == 0)
			return &cfg->policy[i];
	return NULL;
}

const struct ike_policy *cfg_policy_by_reqid(const struct ike_cfg *cfg,
					     uint32_t reqid)
{
	size_t i;

	for (i = 0; i < cfg->npolicy; i++)
		if (reqid && cfg->policy[i].reqid == reqid)
			return &cfg->policy[i];
	return NULL;
}

const struct ike_policy *cfg_policy_for_remote(const struct ike_cfg *cfg,
					       const char *remote, size_t *iter)
{
	size_t i;

	for (i = iter ? *iter : 0; i < cfg->npolicy; i++) {
		if (strcmp(cfg->policy[i].remote, remote) == 0) {
			if (iter)
				*iter = i + 1;
			return &cfg->policy[i];
		}
	}
	if (iter)
		*iter = cfg->npolicy;
	return NULL;
}

bool ike_id_eq(const struct ike_id *a, const struct ike_id *b)
{
	/* DNs: same name, maybe other string types (auth_cert.c). */
	if (a->type == IKE_ID_DER_ASN1_DN && b->type == IKE_ID_DER_ASN1_DN)
		return auth_cert_dn_eq(a, b);
	return a->type == b->type && a->len == b->len &&
	       memcmp(a->data, b->data, a->len) == 0;
}

const char *ike_id_str(const struct ike_id *id, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, o;

	switch (id->type) {
	case IKE_ID_IPV4_ADDR:
		if (id->len == 4) {
			inet_ntop(AF_INET, id->data, a, sizeof(a));
			snprintf(buf, len, "%s", a);
			return buf;
		}
		break;
	case IKE_ID_IPV6_ADDR:
		if (id->len == 16) {
			inet_ntop(AF_INET6, id->data, a, sizeof(a));
			snprintf(buf, len, "%s", a);
			return buf;
		}
		break;
	case IKE_ID_FQDN:
	case IKE_ID_RFC822_ADDR:
		/* Printable only: IDs come from the wire. */
		for (i = 0, o = 0; i < id->len && o + 5 < len; i++) {
			uint8_t ch = id->data[i];
			if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
				buf[o++] = (char)ch;
			else
				o += (size_t)snprintf(buf + o, len - o,
						      "\\x%02x", ch);
		}
		if (len)
			buf[o < len ? o : len - 1] = 0;
		return buf;
	case IKE_ID_DER_ASN1_DN:
		if (auth_cert_dn_str(id, buf, len)) /* auth_cert.c */
			return buf;
		break;
	case 0:
		snprintf(buf, len, "%%any");
		return buf;
	default:
		break;
	}
	o = (size_t)snprintf(buf, len, "#%u:", id->type);
	for (i = 0; i < id->len && o + 3 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x", id->data[i]);
	return buf;
}

void ike_id_from_addr(const struct kaddr *a, struct ike_id *id)
{
	memset(id, 0, sizeof(*id));
	if (a->af == AF_INET6) {
		id->type = IKE_ID_IPV6_ADDR;
		id->len = 16;
		memcpy(id->data, &a->u.v6, 16);
	} else {
		id->type = IKE_ID_IPV4_ADDR;
		id->len = 4;
		memcpy(id->data, &a->u.v4, 4);
	}
}

int ike_id_parse(const char *s, struct ike_id *id)
{
	struct kaddr a;
	const char *v = s;
	size_t n;

	memset(id, 0, sizeof(*id));
	if (strncmp(s, "fqdn:", 5) == 0) {
		id->type = IKE_ID_FQDN;
		v = s + 5;
	} else if (strncmp(s, "email:", 6) == 0) {
		id->type = IKE_ID_RFC822_ADDR;
		v = s + 6;
	} else if (strncmp(s, "keyid:", 6) == 0) {
		id->type = IKE_ID_KEY_ID;
		v = s + 6;
	} else if (strncmp(s, "ipaddr:", 7) == 0) {
		if (kaddr_parse(s + 7, &a) < 0)
			return -EINVAL;
		ike_id_from_addr(&a, id);
		return 0;
	} else if (kaddr_parse(s, &a) == 0) {
		ike_id_from_addr(&a, id);
		return 0;
	} else {
		id->type = strchr(s, '@') ? IKE_ID_RFC822_ADDR : IKE_ID_FQDN;
	}
	n = strlen(v);
	if (n == 0 || n > CFG_ID_MAX)
		return -EINVAL;
	memcpy(id->data, v, n);
	id->len = (uint16_t)n;
	return 0;
}
