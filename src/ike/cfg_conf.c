/*
 * cfg_conf.c - builds iked's struct ike_cfg from the racoon2.conf model
 * (src/conf).  Only remotes that accept ikev2 or ikev1 and the policies
 * that use them are kept (the ikev1 block: v1_conf.c); algorithm names become
 * IKEv2 transform IDs through the conf algorithm table; PSK files are read here
 * (once per load).
 *
 * Ownership: the struct conf is loaded and freed inside cfg_load(); the
 * resulting ike_cfg owns copies of everything it needs.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "conf/conf.h"
#include "ike/auth_cert.h"
#include "ike/cfg.h"
#include "ike/rw.h"
#include "ike/v1.h"
#include "lib/filesrc.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "ike"

static void algs_from(struct cfg_alglist *out, const struct conf_alg_list *in,
		      int slot)
{
	size_t i;

	if (in->n == 0)
		return; /* keep built-in defaults */
	out->n = 0;
	for (i = 0; i < in->n && out->n < CFG_ALG_MAX; i++) {
		const struct conf_alg_info *ai = conf_alg_info(in->v[i].alg);
		uint16_t id = 0;

		if (!ai)
			continue;
		switch (slot) {
		case 1:
			id = ai->encr_id;
			break;
		case 2:
			id = ai->prf_id;
			break;
		case 3:
			id = ai->integ_id;
			break;
		case 4:
			id = ai->dh_id;
			break;
		}
		if (!id) {
			log_warn(MOD,
				 "algorithm %s has no IKEv2 transform; "
				 "skipped",
				 ai->name);
			continue;
		}
		out->a[out->n].id = id;
		out->a[out->n].keybits =
		    (uint16_t)(in->v[i].key_bits ? in->v[i].key_bits
						 : ai->key_bits);
		out->n++;
	}
}

int cfg_id_from(struct ike_id *out, const struct conf_id_list *l)
{
	const struct conf_id *c;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (l->n == 0 || !l->v[0].value)
		return 0;
	c = &l->v[0];
	switch (c->type) {
	case CONF_ID_IPADDR: {
		struct kaddr a;
		if (kaddr_parse(c->value, &a) < 0)
			return -EINVAL;
		ike_id_from_addr(&a, out);
		return 0;
	}
	case CONF_ID_FQDN:
		out->type = IKE_ID_FQDN;
		break;
	case CONF_ID_EMAIL:
		out->type = IKE_ID_RFC822_ADDR;
		break;
	case CONF_ID_X509_SUBJECT:
		/* racoon2: the subject DN of this certificate file. */
		return auth_cert_subject_id(c->value, out); /* auth_cert.c */
	case CONF_ID_KEYID:
		out->type = IKE_ID_KEY_ID;
		if (c->qual == CONF_IDQ_DEFAULT || c->qual == CONF_IDQ_FILE) {
			size_t len = 0;
			uint8_t *buf;
			/* racoon2: keyid names a file holding the ID (read
			 * through lib/filesrc.h, see priv.h). */
			int rc = filesrc_read(c->value, 0, 1u << 16, &buf, &len,
					      NULL, NULL, 0);
			if (rc < 0)
				return rc;
			size_t got = len;
			if (len > sizeof(out->data))
				len = sizeof(out->data);
			memcpy(out->data, buf, len);
			filesrc_free_buf(buf, got);
			while (len && (out->data[len - 1] == '\n' ||
				       out->data[len - 1] == '\r'))
				len--;
			out->len = (uint16_t)len;
			return 0;
		}
		break;
	default:
		return -ENOTSUP;
	}
	n = strlen(c->value);
	if (n > CFG_ID_MAX)
		return -ENAMETOOLONG;
	memcpy(out->data, c->value, n);
	out->len = (uint16_t)n;
	return 0;
}

/* Read a pre_shared_key file into psk (CFG_PSK_MAX octets): true when
 * it holds a usable key (not empty, not only zero octets); a final
 * newline is not part of it. */
bool cfg_psk_load(const char *remote, const char *path, uint8_t *psk,
		  size_t *psk_len)
{
	bool have = false;
	int rc;
	{
		size_t len = 0;
		rc = read_file_secret(path, psk, CFG_PSK_MAX, &len);
		if (rc < 0) {
			log_warn(MOD,
				 "remote %s: cannot use pre_shared_key "
				 "%s: %s",
				 remote, path, strerror(-rc));
		} else {
			/* A final newline written by an editor is not part
			 * of the key. */
			while (len &&
			       (psk[len - 1] == '\n' || psk[len - 1] == '\r'))
				len--;
			*psk_len = len;
			have = len > 0;
			/* Zero octets only: the empty key once HMAC pads it
			 * (RFC 2104 §2); ikev2_auth_psk() refuses it. */
			while (len && psk[len - 1] == 0)
				len--;
			if (have && !len) {
				log_warn(MOD,
					 "remote %s: pre_shared_key %s "
					 "holds only zero octets; refusing "
					 "it",
					 remote, path);
				have = false;
			}
		}
	}
	return have;
}

static const enum conf_script script_map[SCRIPT_MAX] = {
    [SCRIPT_IKE_UP] = CONF_SCRIPT_PHASE1_UP,
    [SCRIPT_IKE_DOWN] = CONF_SCRIPT_PHASE1_DOWN,
    [SCRIPT_IKE_REKEY] = CONF_SCRIPT_PHASE1_REKEY,
    [SCRIPT_CHILD_UP] = CONF_SCRIPT_PHASE2_UP,
    [SCRIPT_CHILD_DOWN] = CONF_SCRIPT_PHASE2_DOWN,
    [SCRIPT_CHILD_REKEY] = CONF_SCRIPT_PHASE2_REKEY,
};

/* kmp_auth_method -> CFG_AUTH_* (issue 9: the peer's AUTH method must be
 * one of these).  Only `default` may lack the list (the checker requires
 * it elsewhere): then psk, the one method needing no more keywords. */
static unsigned auth_methods_from(const struct conf_kmp_params *k)
{
	unsigned a = CFG_AUTH_SET;
	size_t i;

	for (i = 0; i < k->n_kmp_auth_method; i++) {
		switch (k->kmp_auth_method[i]) {
		case CONF_AUTH_PSK:
			a |= CFG_AUTH_PSK;
			break;
		case CONF_AUTH_RSASIG:
			a |= CFG_AUTH_RSASIG;
			break;
		case CONF_AUTH_ECDSA256:
			a |= CFG_AUTH_ECDSA256;
			break;
		case CONF_AUTH_ECDSA384:
			a |= CFG_AUTH_ECDSA384;
			break;
		case CONF_AUTH_ECDSA521:
			a |= CFG_AUTH_ECDSA521;
			break;
		case CONF_AUTH_DIGSIG:
			a |= CFG_AUTH_DIGSIG;
			break;
		default: /* dss, IKEv1-only methods: not in IKEv2 here */
			break;
		}
	}
	if (!k->n_kmp_auth_method)
		a |= CFG_AUTH_PSK;
	return a;
}

static int remote_from(struct ike_cfg *cfg, const struct conf_remote *cr,
		       bool is_default, char *err, size_t errlen)
{
	const struct conf_kmp_params *k = &cr->ikev2;
	struct ike_remote *r;
	size_t i;
	int rc;

	r = cfg_add_remote(cfg);
	if (!r)
		return -ENOMEM;
	str_copy(r->name, cr->name ? cr->name : "default", sizeof(r->name));
	r->is_default = is_default;
	r->ikev2 = false;
	for (i = 0; i < cr->n_acceptable_kmp; i++)
		if (cr->acceptable_kmp[i] == CONF_KMP_IKEV2)
			r->ikev2 = true;
	if (is_default)
		r->ikev2 = true;
	/* IKEv1 (v1_conf.c): the ikev1 block, checked for what iked's
	 * IKEv1 supports */
	if ((rc = v1_conf_remote(r, cr, err, errlen)) < 0)
		return rc;

	r->peer_any = true;
	for (i = 0; i < k->peers_ipaddr.n; i++) {
		const struct conf_addr *a = &k->peers_ipaddr.v[i];

		/* racoon2's iked takes no host name here either (its
		 * doc/USAGE); ignoring it would make the remote match any
		 * peer: refused */
		if (a->kind == CONF_ADDR_NAME) {
			snprintf(err, errlen,
				 "remote %s: peers_ipaddr %s is a host name; "
				 "iked needs an address (as racoon2's iked)",
				 r->name, a->name ? a->name : "?");
			return -EINVAL;
		}
		if (a->kind == CONF_ADDR_IP) {
			r->peer_any = false;
			r->peer_addr.af = a->af;
			memcpy(r->peer_addr.u.b, a->u.b, 16);
			r->peer_port = a->port;
			break;
		}
	}
	if ((rc = cfg_id_from(&r->my_id, &k->my_id)) < 0) {
		snprintf(err, errlen, "remote %s: bad my_id (%s)", r->name,
			 strerror(-rc));
		return rc;
	}
	if ((rc = cfg_id_from(&r->peer_id, &k->peers_id)) < 0) {
		snprintf(err, errlen, "remote %s: bad peers_id (%s)", r->name,
			 strerror(-rc));
		return rc;
	}
	if (k->pre_shared_key)
		r->have_psk = cfg_psk_load(r->name, k->pre_shared_key, r->psk,
					   &r->psk_len);
	r->auth_methods = auth_methods_from(k);
	if (r->have_psk && r->psk_len < 16)
		log_warn(MOD,
			 "remote %s: pre_shared_key of %zu octets is "
			 "weak (RFC 7296 §2.15: as unpredictable as the "
			 "keys it protects)",
			 r->name, r->psk_len);
	/* kmp_auth_method signatures, my/peers_public_key (auth_cert.c) */
	if ((rc = auth_cert_conf(r, k, err, errlen)) < 0)
		return rc;
	algs_from(&r->encr, &k->kmp_enc_alg, 1);
	algs_from(&r->prf, &k->kmp_prf_alg, 2);
	algs_from(&r->integ, &k->kmp_hash_alg, 3);
	algs_from(&r->dh, &k->kmp_dh_group, 4);
	r->lifetime_sec = k->kmp_sa_lifetime_time;
	r->lifetime_bytes = k->kmp_sa_lifetime_byte;
	r->max_retry = k->max_retry_to_send ? k->max_retry_to_send : 3;
	/* interval_to_send is the first retransmission timeout; later
	 * ones double (RFC 7296 §2.1 asks for exponential back-off). */
	r->interval_ms =
	    (unsigned)(k->interval_to_send ? k->interval_to_send * 1000 : 2000);
	if (r->interval_ms > 10000)
		r->interval_ms = 10000;
	r->nego_limit_sec =
	    (unsigned)(k->kmp_sa_nego_time_limit ? k->kmp_sa_nego_time_limit
						 : 60);
	r->dpd_delay_sec = (unsigned)k->dpd_delay;
	r->dpd_max_fail = k->dpd_maxfail ? k->dpd_maxfail : 3;
	r->cookie_required = k->cookie_required;
	r->nat_traversal = k->nat_traversal;
	r->fragmentation = k->fragmentation;
	r->childless = k->childless;
	r->mobike = k->mobike;
	/* RFC 7383 §2.5.1; beyond 64 KiB nothing is ever fragmented. */
	r->fragment_size =
	    k->fragment_size > 65535 ? 65535 : (unsigned)k->fragment_size;
	r->passive = k->passive;
	r->initial_contact = k->initial_contact;
	rw_conf_remote(r, k); /* NAT-T keepalive, request/provide (rw_conf.c) */
	r->window_size = 1;
	for (i = 0; i < SCRIPT_MAX; i++)
		if (k->script[script_map[i]])
			str_copy(r->script[i], k->script[script_map[i]],
				 sizeof(r->script[i]));
	if (k->need_pfs && r->dh.n)
		r->window_size = 1; /* pfs handled per policy below */
	return 0;
}

static void sel_from(struct ksel *s, const struct conf_selector *cs)
{
	const struct conf_addr *src = &cs->src, *dst = &cs->dst;
	uint8_t af = src->kind == CONF_ADDR_IP	 ? src->af
		     : dst->kind == CONF_ADDR_IP ? dst->af
						 : AF_INET;

	memset(s, 0, sizeof(*s));
	s->af = af;
	s->proto = cs->upper_layer_protocol == CONF_PROTO_ANY
		       ? 0
		       : (uint8_t)cs->upper_layer_protocol;
	s->src.af = s->dst.af = af;
	if (src->kind == CONF_ADDR_IP) {
		memcpy(s->src.u.b, src->u.b, 16);
		s->src_plen = src->plen;
	}
	if (dst->kind == CONF_ADDR_IP) {
		memcpy(s->dst.u.b, dst->u.b, 16);
		s->dst_plen = dst->plen;
	}
	s->sport = src->port;
	s->dport = dst->port;
	s->sport_mask = src->port ? 0xffff : 0;
	s->dport_mask = dst->port ? 0xffff : 0;
}

static int policy_from(struct ike_cfg *cfg, const struct conf_policy *cp)
{
	const struct conf_remote *cr = cp->remote;
	const struct conf_selector *out = NULL, *in = NULL;
	struct ike_policy *p;
	size_t i;

	if (!cr || cp->action != CONF_ACTION_AUTO_IPSEC)
		return 0;
	if (!cfg_remote_by_name(cfg, cr->name))
		return 0; /* not an IKEv2 remote */
	p = cfg_add_policy(cfg);
	if (!p)
		return -ENOMEM;
	str_copy(p->name, cp->name, sizeof(p->name));
	str_copy(p->remote, cr->name, sizeof(p->remote));
	p->mode =
	    cp->ipsec_mode == CONF_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	if (cp->my_sa_ipaddr.kind == CONF_ADDR_IP) {
		p->my_sa.af = cp->my_sa_ipaddr.af;
		memcpy(p->my_sa.u.b, cp->my_sa_ipaddr.u.b, 16);
	}
	if (cp->peers_sa_ipaddr.kind == CONF_ADDR_IP) {
		p->peer_sa.af = cp->peers_sa_ipaddr.af;
		memcpy(p->peer_sa.u.b, cp->peers_sa_ipaddr.u.b, 16);
	}
	p->peer_sa_rw = cp->peers_sa_ipaddr.kind == CONF_ADDR_RW;
	rw_conf_policy(p, cp); /* selector name for spmd (rw_conf.c) */
	for (i = 0; i < cp->nselectors; i++) {
		const struct conf_selector *s = cp->selectors[i];
		if (s->direction == CONF_DIR_OUTBOUND && !out)
			out = s;
		if (s->direction == CONF_DIR_INBOUND && !in)
			in = s;
	}
	if (out) {
		sel_from(&p->sel, out);
		p->reqid = out->reqid;
	} else if (in) {
		/* Only an inbound selector: mirror it. */
		struct ksel t;
		sel_from(&t, in);
		p->sel = t;
		p->sel.src = t.dst;
		p->sel.dst = t.src;
		p->sel.src_plen = t.dst_plen;
		p->sel.dst_plen = t.src_plen;
		p->sel.sport = t.dport;
		p->sel.dport = t.sport;
		p->sel.sport_mask = t.dport_mask;
		p->sel.dport_mask = t.sport_mask;
	}
	if (!p->reqid && in)
		p->reqid = in->reqid;
	if (cp->nipsec && cp->ipsec[0]) {
		const struct conf_ipsec *ip = cp->ipsec[0];
		p->lifetime_sec = ip->ipsec_sa_lifetime_time;
		p->lifetime_bytes = ip->ipsec_sa_lifetime_byte;
		p->esn = ip->ext_sequence;
		p->replay_window = ip->replay_window;
		if (ip->esp) {
			algs_from(&p->esp_encr, &ip->esp->esp_enc_alg, 1);
			algs_from(&p->esp_integ, &ip->esp->esp_auth_alg, 3);
		} else if (ip->ah) {
			p->ipsec_proto = IPPROTO_AH;
			p->esp_encr.n = 0;
			algs_from(&p->esp_integ, &ip->ah->ah_auth_alg, 3);
		}
		/* §2.22: IPComp rides beside an ESP or AH CHILD SA; the data
		 * planes carry DEFLATE (RFC 2394) only (kernel.c) */
		for (i = 0; ip->ipcomp && i < ip->ipcomp->ipcomp_alg.n &&
			    p->n_ipcomp < sizeof(p->ipcomp);
		     i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(ip->ipcomp->ipcomp_alg.v[i].alg);
			if (ai && ai->ipcomp_id == IKEV2_IPCOMP_DEFLATE)
				p->ipcomp[p->n_ipcomp++] = IKEV2_IPCOMP_DEFLATE;
			else
				log_warn(
				    MOD,
				    "policy %s: IPComp algorithm %s is not "
				    "supported, not offered",
				    p->name, ai ? ai->name : "?");
		}
	}
	if (cr->ikev2.need_pfs) {
		const struct ike_remote *r = cfg_remote_by_name(cfg, cr->name);
		p->pfs_group = r && r->dh.n ? r->dh.a[0].id : 14;
	}
	return 0;
}

/* The interface section's iked limits; unset keys keep cfg_new()'s
 * defaults (the order of the bits is conf.h's). */
static void limits_from(struct ike_cfg *cfg, const struct conf_interface *f)
{
	uint32_t set = f->ike_limits_set;

	if (set & 1u)
		cfg->cookie_threshold = f->ike_cookie_threshold;
	if (set & 2u)
		cfg->half_open_max = f->ike_half_open_max;
	if (set & 4u)
		cfg->half_open_per_addr = f->ike_half_open_per_addr;
	if (set & 8u)
		cfg->half_open_per_prefix = f->ike_half_open_per_prefix;
	if (set & 16u)
		cfg->half_open_timeout_ms =
		    f->ike_half_open_timeout > 86400
			? 86400000u
			: (unsigned)f->ike_half_open_timeout * 1000u;
	if (set & 32u)
		cfg->sa_per_id = f->ike_sa_per_id;
	if (set & 64u)
		cfg->child_per_sa = f->ike_child_sa_per_ike_sa;
	if (set & 128u)
		cfg->half_open_rate = f->ike_half_open_rate;
}

int cfg_load(const char *path, struct ike_cfg **out, char *err, size_t errlen)
{
	struct conf_diag diag;
	struct conf *c = NULL;
	struct ike_cfg *cfg;
	size_t i;
	int rc;

	*out = NULL;
	conf_diag_init(&diag);
	rc = conf_load(path, &c, &diag);
	if (rc < 0) {
		if (diag.n)
			snprintf(err, errlen, "%s:%u:%u: %s", diag.v[0].file,
				 diag.v[0].line, diag.v[0].col, diag.v[0].msg);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		conf_diag_print(stderr, &diag);
		conf_diag_free(&diag);
		return rc;
	}
	conf_diag_free(&diag);

	cfg = cfg_new();
	if (!cfg) {
		rc = -ENOMEM;
		goto out_conf;
	}
	for (i = 0; i < c->iface.ike.n && cfg->niface < CFG_IFACE_MAX; i++) {
		const struct conf_addr *a = &c->iface.ike.v[i];
		struct cfg_iface *f = &cfg->iface[cfg->niface];
		memset(f, 0, sizeof(*f));
		f->port = a->port ? a->port : 500;
		f->port_set = a->has_port;
		if (a->kind == CONF_ADDR_IP) {
			f->addr.af = a->af;
			memcpy(f->addr.u.b, a->u.b, 16);
		} else if (a->kind == CONF_ADDR_MY_IPV4) {
			/* wildcard of one family is as good */
		}
		cfg->niface++;
	}
	for (i = 0; i < c->iface.spmd.n; i++)
		if (c->iface.spmd.v[i].kind == CONF_ADDR_UNIX &&
		    c->iface.spmd.v[i].name) {
			str_copy(cfg->spmif_path, c->iface.spmd.v[i].name,
				 sizeof(cfg->spmif_path));
			break;
		}
	if (c->iface.spmd_password)
		str_copy(cfg->spmd_password, c->iface.spmd_password,
			 sizeof(cfg->spmd_password));
	str_copy(cfg->kernel, conf_kernel_backend(c->iface.kernel),
		 sizeof(cfg->kernel));
	if (c->iface.kernel_socket)
		str_copy(cfg->kernel_socket, c->iface.kernel_socket,
			 sizeof(cfg->kernel_socket));
	limits_from(cfg, &c->iface);

	if (c->default_remote) {
		rc = remote_from(cfg, c->default_remote, true, err, errlen);
		if (rc < 0)
			goto out_cfg;
	}
	for (i = 0; i < c->nremotes; i++) {
		const struct conf_remote *cr = c->remotes[i];
		size_t j;
		bool v2 = false;
		for (j = 0; j < cr->n_acceptable_kmp; j++)
			if (cr->acceptable_kmp[j] == CONF_KMP_IKEV2 ||
			    cr->acceptable_kmp[j] == CONF_KMP_IKEV1)
				v2 = true;
		if (!v2)
			continue;
		rc = remote_from(cfg, cr, false, err, errlen);
		if (rc < 0)
			goto out_cfg;
	}
	for (i = 0; i < c->npolicies; i++) {
		rc = policy_from(cfg, c->policies[i]);
		if (rc < 0) {
			snprintf(err, errlen, "policy: %s", strerror(-rc));
			goto out_cfg;
		}
		/* IKEv1 Quick Mode suites and what IKEv1 cannot do */
		rc = v1_conf_policy(cfg, c->policies[i], err, errlen);
		if (rc < 0)
			goto out_cfg;
	}
	rc = cfg_index_remotes(cfg);
	if (rc < 0) {
		snprintf(err, errlen, "remote index: %s", strerror(-rc));
		goto out_cfg;
	}
	conf_free(c);
#ifdef __GLIBC__
	/* glibc keeps the pages of the freed parse tree: ~18 KB of RSS per
	 * remote for nothing (22 MB for 1,000 remotes, 4 MB in use; see
	 * bench/ike_setup.sh).  Give them back once per load. */
	malloc_trim(0);
#endif
	*out = cfg;
	return 0;

out_cfg:
	cfg_free(cfg);
out_conf:
	conf_free(c);
	return rc;
}
