/*
 * interp_check.c - the semantic checks that run after defaults are
 * applied and references resolved, each with its own message.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/interp_int.h"
#include "lib/filesrc.h"
#include "lib/util.h"

/* ------------------------------------------------------------------ */
/* semantic checks                                                     */
/* ------------------------------------------------------------------ */

static const struct conf_loc *kloc(const struct conf_loc *locs, int id,
				   const struct conf_loc *fallback)
{
	return locs[id].file ? &locs[id] : fallback;
}

/* PSK and private keys: must exist, be regular files, and be readable
 * by their owner only (like OpenBSD iked, we refuse otherwise). */
void check_file(struct ictx *x, const char *path, const struct conf_loc *loc,
		const char *what, bool secret)
{
	struct stat st;
	int src;

	if (x->p->flags & CONF_LOAD_NO_FILECHECK)
		return;
	if (conf_names_get(&x->checked_idx, path) != CONF_NAMES_NONE)
		return;
	if (conf_grow((void **)&x->checked, x->nchecked, sizeof(char *))) {
		/* remembering is only an optimisation: on failure the
		 * file is checked (and reported) again, nothing is lost */
		char *d = strdup(path);
		if (d &&
		    conf_names_put(&x->checked_idx, d, x->nchecked, NULL) == 0)
			x->checked[x->nchecked++] = d;
		else
			free(d);
	}
	if (!*path) {
		conf_err(x->p, loc, "%s: empty file name", what);
		return;
	}
	if ((src = filesrc_stat(path, &st)) != 0) {
		conf_err(x->p, loc, "%s file '%s': %s", what, path,
			 strerror(-src));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(x->p, loc, "%s file '%s' is not a regular file", what,
			 path);
		return;
	}
	if (secret) {
		/* the one owner/mode rule of secret files (lib/util.h),
		 * the same the daemons apply when they read them */
		char why[512];

		if (check_stat_secret(path, &st, why, sizeof(why)) < 0)
			conf_err(x->p, loc, "%s file refused: %s", what, why);
	}
}

static bool has_auth(const struct conf_kmp_params *k, enum conf_auth_method m)
{
	for (size_t i = 0; i < k->n_kmp_auth_method; i++)
		if (k->kmp_auth_method[i] == m)
			return true;
	return false;
}

static void check_kmp(struct ictx *x, struct conf_remote *r, int idx,
		      const struct conf_loc *locs, bool is_default, bool bad)
{
	struct conf_kmp_params *k = kmp_of(r, idx);
	enum conf_kmp kmp = conf_kmp_by_idx[idx];
	const char *kn = conf_kmp_name(kmp);
	bool v2 = kmp == CONF_KMP_IKEV2, v1 = kmp == CONF_KMP_IKEV1;
	bool non_aead = false;
	const struct conf_loc *at;

	if (!k->present)
		return;
	/* kinkd serves the remotes that list kink first: without both
	 * principals it can neither initiate nor authorise a peer */
	if (kmp == CONF_KMP_KINK && !is_default && !bad &&
	    r->n_acceptable_kmp && r->acceptable_kmp[0] == CONF_KMP_KINK &&
	    (!k->my_principal || !k->peers_principal))
		conf_warn(x->p, &k->loc,
			  "remote '%s': kink needs my_principal "
			  "and peers_principal (here or in default)",
			  r->name);
	if (v1 || v2) {
		at = kloc(locs, CK_KMP_ENC_ALG, &k->loc);
		for (size_t i = 0; i < k->kmp_enc_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_enc_alg.v[i].alg);
			if (!(ai->flags & CONF_ALGF_AEAD))
				non_aead = true;
			/* RFC 7296 §3.3.2: only ENCR transforms with an
			 * IKEv2 number can be proposed */
			if (v2 &&
			    (!ai->encr_id || (ai->flags & CONF_ALGF_V1_ONLY))) {
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 "
					 "encryption algorithm (kmp_enc_alg in"
					 " %s)",
					 ai->name, kn);
			}
			if (v1 && (ai->flags & CONF_ALGF_AEAD))
				conf_err(x->p, at,
					 "AEAD cipher '%s' is not "
					 "available in IKEv1 (kmp_enc_alg)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_HASH_ALG, &k->loc);
		for (size_t i = 0; i < k->kmp_hash_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_hash_alg.v[i].alg);
			if (v2 && !ai->integ_id)
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 "
					 "integrity algorithm (kmp_hash_alg in"
					 " ikev2; use e.g. hmac_sha2_256)",
					 ai->name);
			if (v1 && !(ai->flags & CONF_ALGF_V1_HASH))
				conf_err(x->p, at,
					 "'%s' is not an IKEv1 hash "
					 "algorithm (kmp_hash_alg in ikev1; use"
					 " md5, sha1 or sha2_*)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_PRF_ALG, &k->loc);
		for (size_t i = 0; v2 && i < k->kmp_prf_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_prf_alg.v[i].alg);
			if (!ai->prf_id)
				conf_err(x->p, at,
					 "'%s' is not an IKEv2 PRF "
					 "(kmp_prf_alg)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_DH_GROUP, &k->loc);
		for (size_t i = 0; v2 && i < k->kmp_dh_group.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(k->kmp_dh_group.v[i].alg);
			if (ai->flags & CONF_ALGF_V1_ONLY)
				conf_err(x->p, at,
					 "group '%s' is not defined "
					 "for IKEv2 (kmp_dh_group)",
					 ai->name);
		}
		at = kloc(locs, CK_KMP_AUTH_METHOD, &k->loc);
		for (size_t i = 0; v2 && i < k->n_kmp_auth_method; i++) {
			enum conf_auth_method m = k->kmp_auth_method[i];
			if (m == CONF_AUTH_RSAENC || m == CONF_AUTH_RSAREV ||
			    m == CONF_AUTH_GSSAPI_KRB)
				conf_err(x->p, at,
					 "authentication method '%s'"
					 " exists only in IKEv1",
					 conf_auth_method_name(m));
		}
	}
	if (k->pre_shared_key)
		check_file(x, k->pre_shared_key,
			   kloc(locs, CK_PRE_SHARED_KEY, &k->loc),
			   "pre_shared_key", true);
	if (k->my_public_key.format) {
		at = kloc(locs, CK_MY_PUBLIC_KEY, &k->loc);
		check_file(x, k->my_public_key.pub, at, "my_public_key", false);
		if (k->my_public_key.priv)
			check_file(x, k->my_public_key.priv, at, "private key",
				   true);
	}
	if (k->peers_public_key.format)
		check_file(x, k->peers_public_key.pub,
			   kloc(locs, CK_PEERS_PUBLIC_KEY, &k->loc),
			   "peers_public_key", false);
	if (k->provide.addresspool_name) {
		const struct conf_addrpool *ap =
		    obj_find(x, NK_ADDRPOOL, (void *const *)x->c->addrpools,
			     x->c->naddrpools, k->provide.addresspool_name);
		if (!ap && report_missing(x, NK_ADDRPOOL))
			conf_err(x->p, kloc(locs, CK_PROVIDE, &k->loc),
				 "provide: addresspool '%s' is not defined",
				 k->provide.addresspool_name);
		k->provide.addresspool = (struct conf_addrpool *)ap;
	}
	if (is_default || !(v1 || v2) || bad)
		return;
	/* Completeness of a real remote (own values + default). */
	if (!k->kmp_enc_alg.n)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs kmp_enc_alg "
			 "(not set here nor in default)",
			 r->name, kn);
	/* RFC 7296 §3.3: an AEAD cipher carries its own integrity, so
	 * kmp_hash_alg is needed only if some cipher is not AEAD. */
	if (non_aead && !k->kmp_hash_alg.n)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs kmp_hash_alg "
			 "for its non-AEAD ciphers",
			 r->name, kn);
	if (v2 && !k->kmp_prf_alg.n)
		conf_err(x->p, &k->loc, "remote '%s': ikev2 needs kmp_prf_alg",
			 r->name);
	if (!k->kmp_dh_group.n)
		conf_err(x->p, &k->loc, "remote '%s': %s needs kmp_dh_group",
			 r->name, kn);
	if (!k->n_kmp_auth_method)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s needs "
			 "kmp_auth_method",
			 r->name, kn);
	if (has_auth(k, CONF_AUTH_PSK) && !k->pre_shared_key)
		conf_err(x->p, &k->loc,
			 "remote '%s': %s uses psk "
			 "authentication but has no pre_shared_key",
			 r->name, kn);
}

void check_remote(struct ictx *x, struct conf_remote *r, struct rlocs *rl,
		  bool is_default)
{
	bool bad = rl->top[LOC_BAD].line != 0;

	if (!is_default && !bad && r->n_acceptable_kmp == 0)
		conf_err(x->p, &r->loc,
			 "remote '%s': acceptable_kmp is "
			 "required (here or in default)",
			 r->name);
	for (int i = 0; i < 3; i++)
		check_kmp(x, r, i, rl->kmp[i], is_default, bad);
	if (r->selector_name) {
		r->selector =
		    obj_find(x, NK_SELECTOR, (void *const *)x->c->selectors,
			     x->c->nselectors, r->selector_name);
		if (!r->selector && report_missing(x, NK_SELECTOR))
			conf_err(x->p,
				 kloc(rl->top, RK_SELECTOR_INDEX, &r->loc),
				 "selector_index '%s' does not name a "
				 "selector",
				 r->selector_name);
	}
}

static bool both_literal_differ(const struct conf_addr *a,
				const struct conf_addr *b)
{
	return a->kind == CONF_ADDR_IP && b->kind == CONF_ADDR_IP &&
	       a->af != b->af;
}

static bool port_proto(int p)
{
	return p == CONF_PROTO_ANY || p == 6 || p == 17 || p == 132 || p == 136;
}

void check_selector(struct ictx *x, struct conf_selector *s,
		    const struct conf_loc *locs)
{
	bool bad = locs[OBJ_BAD].line != 0;

	if (!locs[SK_DIRECTION].file && !bad)
		conf_err(x->p, &s->loc, "selector '%s': direction is required",
			 s->name);
	if (s->src.kind == CONF_ADDR_UNSET) {
		s->src.kind = CONF_ADDR_ANY;
		s->src.loc = s->loc;
	}
	if (s->dst.kind == CONF_ADDR_UNSET) {
		s->dst.kind = CONF_ADDR_ANY;
		s->dst.loc = s->loc;
	}
	if (both_literal_differ(&s->src, &s->dst))
		conf_err(x->p, kloc(locs, SK_DST, &s->loc),
			 "selector '%s': "
			 "src and dst are of different address families",
			 s->name);
	if ((s->src.port || s->dst.port) &&
	    !port_proto(s->upper_layer_protocol))
		conf_err(x->p, kloc(locs, SK_ULP, &s->loc),
			 "selector '%s': "
			 "ports need upper_layer_protocol tcp, udp, sctp or "
			 "udplite",
			 s->name);
	if (!s->policy_name) {
		if (!bad)
			conf_err(x->p, &s->loc,
				 "selector '%s': "
				 "policy_index is required",
				 s->name);
		return;
	}
	s->policy = obj_find(x, NK_POLICY, (void *const *)x->c->policies,
			     x->c->npolicies, s->policy_name);
	if (!s->policy) {
		if (report_missing(x, NK_POLICY))
			conf_err(x->p, kloc(locs, SK_POLICY_INDEX, &s->loc),
				 "policy_index '%s' does not name a policy",
				 s->policy_name);
		return;
	}
	if (!append_ptr(&s->policy->selectors, &s->policy->nselectors, s))
		conf_nomem(x->p, &s->loc);
}

static bool sa_addr_given(const struct conf_addr *a)
{
	return a->kind != CONF_ADDR_UNSET;
}

static bool remote_speaks(const struct conf_remote *r, enum conf_kmp k)
{
	for (size_t i = 0; i < r->n_acceptable_kmp; i++)
		if (r->acceptable_kmp[i] == k)
			return true;
	return false;
}

void check_policy(struct ictx *x, struct conf_policy *p,
		  const struct conf_loc *locs)
{
	bool needs_ipsec = p->action == CONF_ACTION_AUTO_IPSEC ||
			   p->action == CONF_ACTION_STATIC_IPSEC;
	bool bad = locs[OBJ_BAD].line != 0;

	if (bad && !((p->set >> CP_ACTION) & 1u))
		return;
	if (!((p->set >> CP_ACTION) & 1u))
		conf_err(x->p, &p->loc, "policy '%s': action is required",
			 p->name);
	if (p->remote_name) {
		p->remote = obj_find(x, NK_REMOTE, (void *const *)x->c->remotes,
				     x->c->nremotes, p->remote_name);
		if (!p->remote) {
			if (report_missing(x, NK_REMOTE))
				conf_err(x->p,
					 kloc(locs, CP_REMOTE_INDEX, &p->loc),
					 "remote_index '%s' does not name a "
					 "remote",
					 p->remote_name);
		} else if (!append_ptr(&p->remote->policies,
				       &p->remote->npolicies, p)) {
			conf_nomem(x->p, &p->loc);
		}
	} else if (p->action == CONF_ACTION_AUTO_IPSEC) {
		conf_err(x->p, &p->loc,
			 "policy '%s': action auto_ipsec needs "
			 "remote_index",
			 p->name);
	}
	if (needs_ipsec && !p->nipsec)
		conf_err(x->p, &p->loc,
			 "policy '%s': action %s needs "
			 "ipsec_index",
			 p->name,
			 p->action == CONF_ACTION_AUTO_IPSEC ? "auto_ipsec"
							     : "static_ipsec");
	if (p->nipsec) {
		p->ipsec = calloc(p->nipsec, sizeof(*p->ipsec));
		if (!p->ipsec)
			conf_nomem(x->p, &p->loc);
		for (size_t i = 0; p->ipsec && i < p->nipsec; i++) {
			p->ipsec[i] =
			    obj_find(x, NK_IPSEC, (void *const *)x->c->ipsecs,
				     x->c->nipsecs, p->ipsec_names[i]);
			if (!p->ipsec[i] && report_missing(x, NK_IPSEC))
				conf_err(x->p,
					 kloc(locs, CP_IPSEC_INDEX, &p->loc),
					 "ipsec_index '%s' does not name an "
					 "ipsec",
					 p->ipsec_names[i]);
		}
	}
	/* RFC 7296 §3.3: an IKEv2 CHILD SA is of one protocol (ESP or AH,
	 * IPComp beside it by §2.22); there is no AH+ESP bundle to
	 * negotiate, so a remote whose only KMP is IKEv2 cannot key one
	 * (IKEv1 and KINK Quick Mode carry multi-protocol proposals). */
	if (p->remote && remote_speaks(p->remote, CONF_KMP_IKEV2) &&
	    !remote_speaks(p->remote, CONF_KMP_IKEV1) &&
	    !remote_speaks(p->remote, CONF_KMP_KINK)) {
		for (size_t i = 0; p->ipsec && i < p->nipsec; i++) {
			const struct conf_ipsec *ip = p->ipsec[i];
			if (ip && ip->ah && ip->esp)
				conf_err(x->p,
					 kloc(locs, CP_IPSEC_INDEX, &p->loc),
					 "policy '%s': ipsec '%s' bundles AH "
					 "and ESP, which IKEv2 (remote '%s') "
					 "cannot negotiate: one CHILD SA is "
					 "ESP or AH (RFC 7296 §3.3)",
					 p->name, ip->name, p->remote->name);
			/* §2.22: IPComp is negotiated beside an ESP or AH
			 * CHILD SA, never alone */
			if (ip && ip->ipcomp && !ip->ah && !ip->esp)
				conf_err(x->p,
					 kloc(locs, CP_IPSEC_INDEX, &p->loc),
					 "policy '%s': ipsec '%s' is IPComp "
					 "alone, which IKEv2 (remote '%s') "
					 "cannot negotiate: IPComp goes beside "
					 "an ESP or AH SA (RFC 7296 §2.22)",
					 p->name, ip->name, p->remote->name);
		}
	}
	if (both_literal_differ(&p->my_sa_ipaddr, &p->peers_sa_ipaddr))
		conf_err(x->p, kloc(locs, CP_PEERS_SA_IPADDR, &p->loc),
			 "policy '%s': my_sa_ipaddr and peers_sa_ipaddr are of"
			 " different address families",
			 p->name);
	/* RFC 4301 §4.1: a tunnel needs its two outer endpoints; IP_RW
	 * (racoon2) means one end is learnt from the IKE SA. */
	if (needs_ipsec && p->ipsec_mode == CONF_MODE_TUNNEL) {
		bool rw = p->peers_sa_ipaddr.kind == CONF_ADDR_RW ||
			  p->my_sa_ipaddr.kind == CONF_ADDR_RW;
		if (!sa_addr_given(&p->peers_sa_ipaddr) && !rw)
			conf_err(x->p, &p->loc,
				 "policy '%s': tunnel mode "
				 "needs peers_sa_ipaddr (an address or IP_RW)",
				 p->name);
		if (!sa_addr_given(&p->my_sa_ipaddr) && !rw)
			conf_err(x->p, &p->loc,
				 "policy '%s': tunnel mode "
				 "needs my_sa_ipaddr",
				 p->name);
	}
	if (p->my_sa_ipaddr.kind == CONF_ADDR_RW &&
	    p->peers_sa_ipaddr.kind == CONF_ADDR_RW)
		conf_err(x->p, kloc(locs, CP_MY_SA_IPADDR, &p->loc),
			 "policy '%s': IP_RW can stand for only one end",
			 p->name);
}

void check_ipsec(struct ictx *x, struct conf_ipsec *ip,
		 const struct conf_loc *locs)
{
	const struct conf_loc *at = kloc(locs, CI_SA_INDEX, &ip->loc);

	if (!ip->nsa) {
		if (locs[OBJ_BAD].line)
			return;
		conf_err(x->p, &ip->loc, "ipsec '%s': sa_index is required",
			 ip->name);
		return;
	}
	if (ip->nsa > 3) {
		conf_err(x->p, at,
			 "ipsec '%s': at most 3 SAs (ah, esp, "
			 "ipcomp) in a bundle",
			 ip->name);
		return;
	}
	ip->sa = calloc(ip->nsa, sizeof(*ip->sa));
	if (!ip->sa) {
		conf_nomem(x->p, &ip->loc);
		return;
	}
	for (size_t i = 0; i < ip->nsa; i++) {
		struct conf_sa *sa =
		    obj_find(x, NK_SA, (void *const *)x->c->sas, x->c->nsas,
			     ip->sa_names[i]);
		struct conf_sa **slot;
		ip->sa[i] = sa;
		if (!sa) {
			if (report_missing(x, NK_SA))
				conf_err(x->p, at,
					 "sa_index '%s' does not "
					 "name an sa",
					 ip->sa_names[i]);
			continue;
		}
		slot = sa->sa_protocol == CONF_SA_AH	? &ip->ah
		       : sa->sa_protocol == CONF_SA_ESP ? &ip->esp
							: &ip->ipcomp;
		if (*slot) {
			conf_err(x->p, at,
				 "ipsec '%s': two %s SAs in one "
				 "bundle ('%s' and '%s')",
				 ip->name, conf_saproto_v[sa->sa_protocol].name,
				 (*slot)->name, sa->name);
			continue;
		}
		*slot = sa;
	}
}

void check_sa(struct ictx *x, struct conf_sa *sa, const struct conf_loc *locs,
	      bool is_default)
{
	bool non_aead = false, null_enc = false, has_auth_alg;

	if (!((sa->set >> CS_SA_PROTOCOL) & 1u)) {
		if (!is_default && !locs[OBJ_BAD].line)
			conf_err(x->p, &sa->loc,
				 "sa '%s': sa_protocol is "
				 "required",
				 sa->name);
		return;
	}
	for (size_t i = 0; i < conf_sa_ntab; i++) {
		const struct kdef *k = &conf_sa_tab[i];
		if (((sa->set >> k->id) & 1u) &&
		    !(k->ctx & (1u << sa->sa_protocol)))
			conf_err(x->p, kloc(locs, k->id, &sa->loc),
				 "'%s' is not valid in an sa with sa_protocol"
				 " %s",
				 k->name, conf_saproto_v[sa->sa_protocol].name);
	}
	if (is_default || locs[OBJ_BAD].line)
		return;
	switch (sa->sa_protocol) {
	case CONF_SA_ESP:
		if (!sa->esp_enc_alg.n) {
			conf_err(x->p, &sa->loc,
				 "sa '%s': esp needs "
				 "esp_enc_alg",
				 sa->name);
			break;
		}
		for (size_t i = 0; i < sa->esp_enc_alg.n; i++) {
			const struct conf_alg_info *ai =
			    conf_alg_info(sa->esp_enc_alg.v[i].alg);
			if (ai->alg == CONF_ALG_NULL_ENC)
				null_enc = true;
			else if (!(ai->flags & CONF_ALGF_AEAD))
				non_aead = true;
		}
		has_auth_alg = false;
		for (size_t i = 0; i < sa->esp_auth_alg.n; i++)
			if (sa->esp_auth_alg.v[i].alg != CONF_ALG_NON_AUTH)
				has_auth_alg = true;
		/* RFC 4303 §3.2: NULL encryption with no integrity would
		 * give neither service. */
		if (null_enc && !has_auth_alg)
			conf_err(x->p, kloc(locs, CS_ESP_ENC_ALG, &sa->loc),
				 "sa '%s': null_enc needs an esp_auth_alg "
				 "other than non_auth",
				 sa->name);
		else if (non_aead && !sa->esp_auth_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': non-AEAD ciphers "
				 "need esp_auth_alg (or write non_auth)",
				 sa->name);
		break;
	case CONF_SA_AH:
		if (!sa->ah_auth_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': ah needs "
				 "ah_auth_alg",
				 sa->name);
		break;
	case CONF_SA_IPCOMP:
		if (!sa->ipcomp_alg.n)
			conf_err(x->p, &sa->loc,
				 "sa '%s': ipcomp needs "
				 "ipcomp_alg",
				 sa->name);
		break;
	}
}
