/*
 * v1_conf.c - a remote's `ikev1 {}` block and its policies as iked's
 * IKEv1 (v1.c) uses them.  racoon2's doc/config-usage.txt keys:
 * peers_ipaddr, my_id, peers_id, pre_shared_key, kmp_enc_alg,
 * kmp_hash_alg, kmp_dh_group, kmp_auth_method, exchange_mode,
 * kmp_sa_lifetime_time, kmp_sa_nego_time_limit, max_retry_to_send,
 * interval_to_send, need_pfs, nat_traversal, dpd, dpd_delay, dpd_retry,
 * dpd_maxfail, passive, initial_contact, nat_keepalive_interval,
 * my_public_key, peers_public_key, send_cert, send_cert_req, verify_id.
 * What iked's IKEv1 engine cannot do (Base Mode, Aggressive Mode with
 * signatures, ciphers other than AES-CBC/3DES, transport mode, ...) is
 * refused as a
 * configuration error with the file and line of the block, never
 * silently replaced by something else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "ike/auth_cert.h"
#include "ike/v1.h"
#include "lib/log.h"
#include "lib/util.h"

#define V1_DEF_LIFE 28800 /* racoon2: kmp_sa_lifetime_time default 8 h */

static const struct conf_loc *block_loc(const struct conf_remote *cr)
{
	return cr->ikev1.loc.file ? &cr->ikev1.loc : &cr->loc;
}

/* What iked's IKEv1 cannot do is a configuration error for a remote that
 * speaks IKEv1 only.  A remote that also lists ikev2 (racoon2's samples:
 * acceptable_kmp { ikev2; ikev1; }) keeps working over IKEv2: IKEv1 is
 * turned off for it (or for the one policy) with a warning. */
#define ERR(...)                                                               \
	do {                                                                   \
		char m_[256];                                                  \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                         \
		if (r->ikev2) {                                                \
			log_warn("ike",                                        \
				 "%s:%u: remote %s: ikev1: %s; IKEv1 is not "  \
				 "used for this remote (IKEv2 only)",          \
				 loc->file ? loc->file : "?", loc->line,       \
				 r->name, m_);                                 \
			r->ikev1 = r->v1_first = false;                        \
			return 0;                                              \
		}                                                              \
		snprintf(err, errlen, "%s:%u: remote %s: ikev1: %s",           \
			 loc->file ? loc->file : "?", loc->line, r->name, m_); \
		return -EINVAL;                                                \
	} while (0)

/* kmp_hash_alg (RFC 2409 App. A hash IDs; RFC 4868 for SHA-2) */
static uint16_t p1_hash(enum conf_alg a)
{
	switch (a) {
	case CONF_ALG_MD5:
	case CONF_ALG_HMAC_MD5:
		return ISAKMP_P1_HASH_MD5;
	case CONF_ALG_SHA1:
	case CONF_ALG_HMAC_SHA1:
		return ISAKMP_P1_HASH_SHA1;
	case CONF_ALG_SHA2_256:
	case CONF_ALG_HMAC_SHA2_256:
		return ISAKMP_P1_HASH_SHA2_256;
	case CONF_ALG_SHA2_384:
	case CONF_ALG_HMAC_SHA2_384:
		return ISAKMP_P1_HASH_SHA2_384;
	case CONF_ALG_SHA2_512:
	case CONF_ALG_HMAC_SHA2_512:
		return ISAKMP_P1_HASH_SHA2_512;
	default:
		return 0;
	}
}

/* kmp_enc_alg: IKEv2 transform ID -> RFC 2409 App. A / RFC 3602 §5 */
static uint16_t p1_encr(uint16_t ikev2_id)
{
	return ikev2_id == IKEV2_ENCR_AES_CBC ? ISAKMP_P1_ENCR_AES_CBC
	       : ikev2_id == IKEV2_ENCR_3DES  ? ISAKMP_P1_ENCR_3DES
					      : 0;
}

/* kmp_auth_method -> Phase 1 method (RFC 2409 App. A, RFC 4754 §3);
 * 0: not in IKEv1 here (dss, rsaenc/rsarev, gssapi, RFC 7427's
 * digital_signature, which is IKEv2 only) */
static uint16_t p1_auth_method(enum conf_auth_method m)
{
	switch (m) {
	case CONF_AUTH_PSK:
		return ISAKMP_P1_AUTH_PSK;
	case CONF_AUTH_RSASIG:
		return ISAKMP_P1_AUTH_RSA_SIG;
	case CONF_AUTH_ECDSA256:
		return ISAKMP_P1_AUTH_ECDSA_256;
	case CONF_AUTH_ECDSA384:
		return ISAKMP_P1_AUTH_ECDSA_384;
	case CONF_AUTH_ECDSA521:
		return ISAKMP_P1_AUTH_ECDSA_521;
	default:
		return 0;
	}
}

/* The Phase 1 method our certificate's key can sign with. */
static uint16_t key_method(EVP_PKEY *key)
{
	enum sig_key t;
	int bits;

	if (!key || sig_key_info(key, &t, &bits) < 0)
		return 0;
	if (t == SIG_KEY_RSA)
		return ISAKMP_P1_AUTH_RSA_SIG;
	if (t != SIG_KEY_EC)
		return 0;
	return bits == 256   ? ISAKMP_P1_AUTH_ECDSA_256
	       : bits == 384 ? ISAKMP_P1_AUTH_ECDSA_384
	       : bits == 521 ? ISAKMP_P1_AUTH_ECDSA_521
			     : 0;
}

/* kmp_auth_method, pre_shared_key, my_public_key, peers_public_key,
 * send_cert, send_cert_req, verify_id.  The first method listed decides
 * between PSK and signatures (racoon2); the engine proposes and accepts
 * one method per ISAKMP SA: the signature method is the one that fits
 * our certificate's key, and it must be listed.  The certificates and
 * the trust list are loaded as IKEv2's (auth_cert.c); in the privilege-
 * separated engine the private key stays in the parent.  Returns 1 to go
 * on, else what v1_conf_remote returns. */
static int conf_auth(struct ike_remote *r, struct cfg_v1 *v,
		     const struct conf_kmp_params *k,
		     const struct conf_loc *loc, char *err, size_t errlen)
{
	struct auth_cert_params p;
	char why[256];
	bool listed[12] = {false};
	size_t i;
	int rc;

	for (i = 0; i < k->n_kmp_auth_method; i++) {
		uint16_t m = p1_auth_method(k->kmp_auth_method[i]);
		if (!m)
			ERR("kmp_auth_method %s is not supported by iked's "
			    "IKEv1 (psk, rsasig, ecdsa256, ecdsa384, "
			    "ecdsa521)",
			    conf_auth_method_name(k->kmp_auth_method[i]));
		listed[m] = true;
		if (i == 0)
			v->auth_method = m;
	}
	if (!v->auth_method)
		v->auth_method = ISAKMP_P1_AUTH_PSK;
	if (v->auth_method == ISAKMP_P1_AUTH_PSK) {
		if (!k->pre_shared_key)
			ERR("pre_shared_key is required (kmp_auth_method "
			    "psk)");
		if (!cfg_psk_load(r->name, k->pre_shared_key, v->psk,
				  &v->psk_len))
			ERR("pre_shared_key %s is not usable",
			    k->pre_shared_key);
		return 1;
	}
	/* RFC 2409 §5.1: signatures with X.509 certificates */
	if (k->my_public_key.format != CONF_KEYF_X509PEM ||
	    (k->peers_public_key.format &&
	     k->peers_public_key.format != CONF_KEYF_X509PEM))
		ERR("kmp_auth_method %s needs my_public_key x509pem (and "
		    "peers_public_key x509pem)",
		    conf_auth_method_name(k->kmp_auth_method[0]));
	memset(&p, 0, sizeof(p));
	p.cert = k->my_public_key.pub;
	p.key = k->my_public_key.priv;
	p.peer = k->peers_public_key.format ? k->peers_public_key.pub : NULL;
	p.sign = p.accept = true;
	p.send_cert = k->send_cert;
	p.send_certreq = k->send_cert_req;
	p.verify_id = k->verify_id;
	why[0] = '\0';
	if ((rc = auth_cert_load(r->name, &p, &v->cert, why, sizeof(why))) < 0)
		ERR("%s", why);
	v->auth_method = key_method(auth_cert_pubkey(v->cert));
	if (!v->auth_method || !listed[v->auth_method])
		ERR("my_public_key %s: its key fits no kmp_auth_method listed "
		    "(rsasig: RSA, ecdsa256/384/521: ECDSA on that curve)",
		    k->my_public_key.pub);
	return 1;
}

int v1_conf_remote(struct ike_remote *r, const struct conf_remote *cr,
		   char *err, size_t errlen)
{
	const struct conf_kmp_params *k = &cr->ikev1;
	const struct conf_loc *loc = block_loc(cr);
	uint16_t enc[CFG_V1_P1_MAX], bits[CFG_V1_P1_MAX], hash[CFG_V1_P1_MAX];
	uint16_t grp[CFG_V1_P1_MAX];
	size_t ne = 0, nh = 0, ng = 0, i, j, l;
	struct cfg_v1 *v;
	bool main_mode = false;
	int rc;

	r->ikev1 = r->v1_first = false;
	for (i = 0; i < cr->n_acceptable_kmp; i++)
		if (cr->acceptable_kmp[i] == CONF_KMP_IKEV1) {
			r->ikev1 = true;
			r->v1_first = i == 0;
		}
	if (!r->ikev1)
		return 0;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v1 = v; /* freed (wiped) by cfg_free() */

	/* RFC 2409 §5: Main Mode, and Aggressive Mode only when listed;
	 * Base Mode is not here */
	for (i = 0; i < k->n_exchange_mode; i++) {
		if (k->exchange_mode[i] == CONF_EXMODE_MAIN)
			main_mode = true;
		else if (k->exchange_mode[i] == CONF_EXMODE_AGGRESSIVE)
			v->aggressive = true;
		else
			ERR("exchange_mode: only main and aggressive are "
			    "supported by iked's IKEv1");
	}
	v->aggressive_initiate =
	    k->n_exchange_mode && k->exchange_mode[0] == CONF_EXMODE_AGGRESSIVE;
	(void)main_mode;
	if ((rc = conf_auth(r, v, k, loc, err, errlen)) != 1)
		return rc;
	if (v->aggressive && v->auth_method != ISAKMP_P1_AUTH_PSK)
		ERR("exchange_mode aggressive: iked's IKEv1 does Aggressive "
		    "Mode with a pre-shared key only");

	v->peer_any = true;
	for (i = 0; i < k->peers_ipaddr.n; i++) {
		const struct conf_addr *a = &k->peers_ipaddr.v[i];
		if (a->kind == CONF_ADDR_NAME)
			ERR("peers_ipaddr %s is a host name; iked needs an "
			    "address",
			    a->name ? a->name : "?");
		if (a->kind == CONF_ADDR_IP) {
			v->peer_any = false;
			v->peer_addr.af = a->af;
			memcpy(v->peer_addr.u.b, a->u.b, 16);
			v->peer_port = a->port;
			break;
		}
	}
	if ((rc = cfg_id_from(&v->my_id, &k->my_id)) < 0)
		ERR("bad my_id (%s)", strerror(-rc));
	if ((rc = cfg_id_from(&v->peer_id, &k->peers_id)) < 0)
		ERR("bad peers_id (%s)", strerror(-rc));
	if (v->my_id.len > IKEV1_MAX_ID || v->peer_id.len > IKEV1_MAX_ID)
		ERR("my_id/peers_id longer than %d octets", IKEV1_MAX_ID);
	if ((v->my_id.type == IKE_ID_DER_ASN1_DN ||
	     v->peer_id.type == IKE_ID_DER_ASN1_DN) &&
	    v->auth_method == ISAKMP_P1_AUTH_PSK)
		ERR("x509_subject IDs need certificates (kmp_auth_method "
		    "rsasig or ecdsa*)");
	/* RFC 4945 §3.2: with a certificate and no my_id, its subject */
	if (!v->my_id.type && v->auth_method != ISAKMP_P1_AUTH_PSK &&
	    (rc = auth_cert_subject_id(k->my_public_key.pub, &v->my_id)) < 0)
		ERR("my_public_key %s: no subject for my_id (%s)",
		    k->my_public_key.pub, strerror(-rc));
	if (v->my_id.len > IKEV1_MAX_ID)
		ERR("the subject of my_public_key is longer than %d octets; "
		    "set my_id",
		    IKEV1_MAX_ID);

	/* Phase 1 suites: every combination, in the order written */
	for (i = 0; i < k->kmp_enc_alg.n && ne < CFG_V1_P1_MAX; i++) {
		const struct conf_alg_spec *s = &k->kmp_enc_alg.v[i];
		const struct conf_alg_info *ai = conf_alg_info(s->alg);
		if (!ai || !p1_encr(ai->encr_id))
			ERR("kmp_enc_alg %s: only aes*_cbc and 3des_cbc",
			    conf_alg_name(s->alg));
		enc[ne] = p1_encr(ai->encr_id);
		bits[ne] = enc[ne] == ISAKMP_P1_ENCR_3DES ? 0
			   : s->key_bits ? (uint16_t)s->key_bits
					 : ai->key_bits;
		if (enc[ne] == ISAKMP_P1_ENCR_AES_CBC && bits[ne] != 128 &&
		    bits[ne] != 192 && bits[ne] != 256)
			ERR("kmp_enc_alg %s: key length %u", ai->name,
			    bits[ne]);
		ne++;
	}
	for (i = 0; i < k->kmp_hash_alg.n && nh < CFG_V1_P1_MAX; i++) {
		hash[nh] = p1_hash(k->kmp_hash_alg.v[i].alg);
		if (!hash[nh])
			ERR("kmp_hash_alg %s: only md5, sha1, sha2_256, "
			    "sha2_384, sha2_512",
			    conf_alg_name(k->kmp_hash_alg.v[i].alg));
		nh++;
	}
	for (i = 0; i < k->kmp_dh_group.n && ng < CFG_V1_P1_MAX; i++) {
		const struct conf_alg_info *ai =
		    conf_alg_info(k->kmp_dh_group.v[i].alg);
		if (!ai || !ai->dh_id || !crypto_dh_lookup(ai->dh_id))
			ERR("kmp_dh_group %s is not supported",
			    conf_alg_name(k->kmp_dh_group.v[i].alg));
		grp[ng++] = ai->dh_id;
	}
	if (!ne) { /* defaults: what strongSwan and racoon2 both offer */
		enc[ne] = ISAKMP_P1_ENCR_AES_CBC, bits[ne++] = 128;
		enc[ne] = ISAKMP_P1_ENCR_AES_CBC, bits[ne++] = 256;
	}
	if (!nh) {
		hash[nh++] = ISAKMP_P1_HASH_SHA2_256;
		hash[nh++] = ISAKMP_P1_HASH_SHA1;
	}
	if (!ng)
		grp[ng++] = 14;
	for (i = 0; i < ne; i++)
		for (j = 0; j < nh; j++)
			for (l = 0; l < ng; l++) {
				if (v->n_p1 >= CFG_V1_P1_MAX)
					ERR("more than %d Phase 1 suites "
					    "(kmp_enc_alg x kmp_hash_alg x "
					    "kmp_dh_group)",
					    CFG_V1_P1_MAX);
				v->p1[v->n_p1++] = (struct cfg_v1_p1){
				    enc[i], bits[i], hash[j], grp[l]};
			}
	v->lifetime_sec = k->kmp_sa_lifetime_time > UINT32_MAX
			      ? UINT32_MAX
			      : (uint32_t)k->kmp_sa_lifetime_time;
	if (!v->lifetime_sec)
		v->lifetime_sec = V1_DEF_LIFE;
	v->need_pfs = k->need_pfs;
	v->pfs_group = k->need_pfs ? grp[0] : 0;
	v->max_retry = k->max_retry_to_send ? k->max_retry_to_send : 3;
	v->interval_ms =
	    (unsigned)(k->interval_to_send && k->interval_to_send < 60
			   ? k->interval_to_send * 1000
			   : 2000);
	v->nego_limit_sec = (unsigned)(k->kmp_sa_nego_time_limit &&
					       k->kmp_sa_nego_time_limit < 3600
					   ? k->kmp_sa_nego_time_limit
					   : 60);
	/* RFC 3706: `dpd off` means none at all; dpd_delay 0 (racoon2's
	 * default) answers the peer's R-U-THERE but sends none */
	v->dpd_delay_sec =
	    k->dpd && k->dpd_delay < 86400 ? (unsigned)k->dpd_delay : 0;
	v->dpd_retry_sec =
	    k->dpd_retry && k->dpd_retry < 3600 ? (unsigned)k->dpd_retry : 5;
	v->dpd_max_fail = k->dpd_maxfail ? k->dpd_maxfail : 5;
	v->nat_traversal = k->nat_traversal;
	/* RFC 3948 §2.3 keepalives from behind a NAT (natt.c) */
	v->nat_keepalive_sec =
	    k->nat_keepalive < 86400 ? (unsigned)k->nat_keepalive : 20;
	if (v->aggressive)
		log_warn("ike",
			 "%s:%u: remote %s: exchange_mode aggressive with a "
			 "pre-shared key: message 2 lets an eavesdropper test "
			 "PSK guesses offline (RFC 2409 §5.4)",
			 loc->file ? loc->file : "?", loc->line, r->name);
	v->passive = k->passive;
	v->initial_contact = k->initial_contact;
	return 0;
}

/* RFC 2407 §4.4.3: the AH transforms of ip's ah_auth_alg (as IKEv2
 * integrity IDs; when empty, the policy's integrity list, which is AH's
 * for an AH-only bundle). */
static int v1_conf_ah(struct ike_policy *p, const struct conf_ipsec *ip,
		      char *msg, size_t msglen)
{
	const struct conf_alg_list *l = &ip->ah->ah_auth_alg;
	size_t n = l->n ? l->n : p->esp_integ.n;

	p->n_v1_ah = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t id;
		uint8_t ah;

		if (l->n) {
			const struct conf_alg_info *ai =
			    conf_alg_info(l->v[i].alg);
			id = ai ? ai->integ_id : 0;
		} else {
			id = p->esp_integ.a[i].id;
		}
		switch (id) {
		case IKEV2_INTEG_HMAC_MD5_96:
			ah = ISAKMP_AH_MD5;
			break;
		case IKEV2_INTEG_HMAC_SHA1_96:
			ah = ISAKMP_AH_SHA;
			break;
		case IKEV2_INTEG_HMAC_SHA2_256_128:
			ah = ISAKMP_AH_SHA2_256;
			break;
		case IKEV2_INTEG_HMAC_SHA2_384_192:
			ah = ISAKMP_AH_SHA2_384;
			break;
		case IKEV2_INTEG_HMAC_SHA2_512_256:
			ah = ISAKMP_AH_SHA2_512;
			break;
		default:
			snprintf(msg, msglen,
				 "ah_auth_alg %s: only hmac_md5, hmac_sha1, "
				 "hmac_sha2_*",
				 id ? crypto_integ_name(id) : "?");
			return -EINVAL;
		}
		if (p->n_v1_ah >= CFG_ALG_MAX || p->n_v1_ah >= IKEV1_MAX_P2) {
			snprintf(msg, msglen, "more than %d AH suites",
				 IKEV1_MAX_P2);
			return -EINVAL;
		}
		p->v1_ah[p->n_v1_ah++] = ah;
	}
	if (!p->n_v1_ah) {
		snprintf(msg, msglen, "no AH suite (ah_auth_alg)");
		return -EINVAL;
	}
	return 0;
}

#undef ERR
#define ERR(...)                                                               \
	do {                                                                   \
		char m_[256];                                                  \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                         \
		if (r->ikev2) {                                                \
			log_warn("ike",                                        \
				 "%s:%u: policy %s (remote %s): %s; the "      \
				 "policy is negotiated with IKEv2 only",       \
				 cp->loc.file ? cp->loc.file : "?",            \
				 cp->loc.line, cp->name, cp->remote->name,     \
				 m_);                                          \
			p->n_v1_esp = p->n_v1_ah = 0;                          \
			p->v1 = false;                                         \
			return 0;                                              \
		}                                                              \
		snprintf(err, errlen,                                          \
			 "%s:%u: policy %s (ikev1 remote %s): %s",             \
			 cp->loc.file ? cp->loc.file : "?", cp->loc.line,      \
			 cp->name, cp->remote->name, m_);                      \
		return -EINVAL;                                                \
	} while (0)

int v1_conf_policy(struct ike_cfg *cfg, const struct conf_policy *cp, char *err,
		   size_t errlen)
{
	struct ike_policy *p = NULL;
	const struct ike_remote *r;
	const struct conf_ipsec *ip;
	char ahmsg[160];
	size_t i, j, n = 0;
	int rc;

	if (!cp->remote || cp->action != CONF_ACTION_AUTO_IPSEC)
		return 0;
	r = cfg_remote_by_name(cfg, cp->remote->name);
	if (!r || !r->ikev1)
		return 0;
	for (i = 0; i < cfg->npolicy; i++)
		if (strcmp(cfg->policy[i].name, cp->name) == 0)
			p = &cfg->policy[i];
	if (!p)
		return 0;
	/* RFC 2409 §5.5 as the engine does it: ESP in tunnel mode */
	if (p->mode != KMODE_TUNNEL)
		ERR("iked's IKEv1 negotiates tunnel mode only");
	if (!p->sel.af)
		ERR("no selector: Quick Mode needs IDci/IDcr");
	/* RFC 2409 §5.5, RFC 2408 §4.2: the bundle as AND-ed proposals
	 * (isakmp/bundle.h): AH, ESP, or both, each with or without IPComp */
	if (!cp->nipsec || (!cp->ipsec[0]->esp && !cp->ipsec[0]->ah))
		ERR("sa_index: IPComp needs AH or ESP beside it");
	ip = cp->ipsec[0];
	if (ip->ipcomp && !p->n_ipcomp)
		ERR("ipcomp_alg: iked's IKEv1 offers deflate only "
		    "(RFC 2407 §4.4.5)");
	if (ip->ah && (rc = v1_conf_ah(p, ip, ahmsg, sizeof(ahmsg))) < 0)
		ERR("%s", ahmsg);
	/* RFC 2407 §4.4.4 ESP transform IDs, §4.5 authentication */
	for (i = 0; i < p->esp_encr.n; i++) {
		uint16_t e = p->esp_encr.a[i].id, b = p->esp_encr.a[i].keybits;
		uint8_t id = e == IKEV2_ENCR_AES_CBC ? ISAKMP_ESP_AES_CBC
			     : e == IKEV2_ENCR_3DES  ? ISAKMP_ESP_3DES
						     : 0;
		if (!id)
			ERR("esp_enc_alg %s: only aes*_cbc and 3des_cbc",
			    crypto_encr_name(e));
		for (j = 0; j < p->esp_integ.n; j++) {
			uint16_t a = 0;
			switch (p->esp_integ.a[j].id) {
			case IKEV2_INTEG_HMAC_MD5_96:
				a = ISAKMP_AUTH_HMAC_MD5;
				break;
			case IKEV2_INTEG_HMAC_SHA1_96:
				a = ISAKMP_AUTH_HMAC_SHA1;
				break;
			case IKEV2_INTEG_HMAC_SHA2_256_128:
				a = ISAKMP_AUTH_HMAC_SHA2_256;
				break;
			case IKEV2_INTEG_HMAC_SHA2_384_192:
				a = ISAKMP_AUTH_HMAC_SHA2_384;
				break;
			case IKEV2_INTEG_HMAC_SHA2_512_256:
				a = ISAKMP_AUTH_HMAC_SHA2_512;
				break;
			default:
				ERR("esp_auth_alg %s: only hmac_md5, "
				    "hmac_sha1, "
				    "hmac_sha2_*",
				    crypto_integ_name(p->esp_integ.a[j].id));
			}
			if (n >= CFG_ALG_MAX || n >= IKEV1_MAX_P2)
				ERR("more than %d ESP suites", IKEV1_MAX_P2);
			p->v1_esp[n] = id;
			p->v1_esp_bits[n] = id == ISAKMP_ESP_3DES ? 0
					    : b			  ? b
								  : 128;
			p->v1_auth[n] = a;
			n++;
		}
	}
	if (ip->esp && !n)
		ERR("no ESP suite (esp_enc_alg x esp_auth_alg)");
	p->n_v1_esp = (unsigned)n;
	p->v1 = true;
	return 0;
}
