/*
 * ike_init.c - the IKE_SA_INIT exchange, both roles (RFC 7296 §1.2),
 * with COOKIE (§2.6), INVALID_KE_PAYLOAD retry (§1.2, §2.7) and NAT
 * detection notifies (§2.23).
 *
 * Ownership: the initiator's offered SA payload lives in the task state
 * until the response is checked; nonces, DH context and copies of both
 * IKE_SA_INIT messages (needed for AUTH, §2.15) live in the ike_sa.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/auth_cert.h"
#include "ike/cwork.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	       "ike"
#define NONCE_LEN      32
#define INIT_RETRY_MAX 5

void prefs_ike(const struct ike_remote *r, struct ikev2_prefs *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->proto = IKEV2_PROTO_IKE;
	for (i = 0; i < r->encr.n && p->n_encr < IKEV2_PREF_MAX; i++) {
		p->encr[p->n_encr].id = r->encr.a[i].id;
		p->encr[p->n_encr].keybits = r->encr.a[i].keybits;
		p->n_encr++;
	}
	for (i = 0; i < r->prf.n && p->n_prf < IKEV2_PREF_MAX; i++)
		p->prf[p->n_prf++] = r->prf.a[i].id;
	for (i = 0; i < r->integ.n && p->n_integ < IKEV2_PREF_MAX; i++)
		p->integ[p->n_integ++] = r->integ.a[i].id;
	for (i = 0; i < r->dh.n && p->n_dh < IKEV2_PREF_MAX; i++)
		p->dh[p->n_dh++] = r->dh.a[i].id;
}

static bool dh_acceptable(const struct ike_remote *r, uint16_t group)
{
	size_t i;

	for (i = 0; i < r->dh.n; i++)
		if (r->dh.a[i].id == group)
			return true;
	return false;
}

static bool store_copy(uint8_t **dst, size_t *dlen, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (!c)
		return false;
	memcpy(c, p, n);
	free(*dst);
	*dst = c;
	*dlen = n;
	return true;
}

static int derive_keys(struct ike_sa *sa, const uint8_t *peer_ke,
		       size_t peer_ke_len)
{
	const struct crypto_dh_alg *da = crypto_dh_lookup(sa->algs.dh);
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	struct ikev2_sa_keys keys;
	bool as_init = sa->initiator;
	int rc;

	if (!da || !sa->dh)
		return -EINVAL;
	rc = crypto_dh_compute(sa->dh, peer_ke, peer_ke_len, gir,
			       da->secret_len);
	if (rc < 0)
		return rc;
	rc = ikev2_derive_ike_keys(
	    &sa->algs, gir, da->secret_len, sa->init->ni, sa->init->ni_len,
	    sa->init->nr, sa->init->nr_len, sa->spi_i, sa->spi_r, &keys);
	mem_wipe(gir, sizeof(gir));
	if (rc == 0)
		rc = ike_sa_keys_setup(sa, &keys, as_init);
	ikev2_sa_keys_wipe(&keys);
	if (rc < 0)
		return rc;
	crypto_dh_free(sa->dh);
	sa->dh = NULL;
	return rc;
}

int ike_sa_keys_setup(struct ike_sa *sa, const struct ikev2_sa_keys *k,
		      bool as_init)
{
	int rc;

	ikev2_sk_free(&sa->sk_in);
	ikev2_sk_free(&sa->sk_out);
	/* Outbound uses our role's keys: SK_ei/SK_ai as initiator. */
	rc = ikev2_sk_init(&sa->sk_out, sa->algs.encr, sa->algs.integ,
			   as_init ? k->sk_ei : k->sk_er, k->encr_len,
			   as_init ? k->sk_ai : k->sk_ar, k->integ_len, true);
	if (rc == 0)
		rc = ikev2_sk_init(&sa->sk_in, sa->algs.encr, sa->algs.integ,
				   as_init ? k->sk_er : k->sk_ei, k->encr_len,
				   as_init ? k->sk_ar : k->sk_ai, k->integ_len,
				   false);
	if (rc < 0)
		return rc;
	/* What stays: SK_d; SK_pi/SK_pr until IKE_AUTH is done (a rekey's
	 * successor has no IKE_AUTH, RFC 7296 §2.18). */
	if (k->prf_len > sizeof(sa->keys.sk_d))
		return -EINVAL;
	sa->keys.prf_len = k->prf_len;
	memcpy(sa->keys.sk_d, k->sk_d, k->prf_len);
	if (sa->init) {
		memcpy(sa->init->sk_pi, k->sk_pi, k->prf_len);
		memcpy(sa->init->sk_pr, k->sk_pr, k->prf_len);
	}
	sa->keys_ready = true;
	keyexport_ike(sa->d, sa, k);
	return 0;
}

/* ---- initiator ---- */

struct init_state {
	struct ikev2_sa offer;
};

int ike_init_initiate(struct ike_sa *sa, struct task *t)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	const struct crypto_dh_alg *da;
	struct init_state *st = t->state;
	struct ikev2_prefs prefs;
	struct ikev2_wr b;
	uint8_t ke[CRYPTO_MAX_DH_PUB];
	int rc;

	if (!r)
		return -ENOENT;
	if (!ike_sa_init_get(sa))
		return -ENOMEM;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		t->state = st;
		t->free_state = free;
	}
	prefs_ike(r, &prefs);
	rc = ikev2_sa_build(&prefs, NULL, 0, &st->offer);
	if (rc < 0)
		return rc;
	if (!sa->dh_group)
		sa->dh_group = r->dh.n ? r->dh.a[0].id : IKEV2_DH_MODP2048;
	if (!sa->dh || crypto_dh_group(sa->dh) != sa->dh_group) {
		crypto_dh_free(sa->dh);
		sa->dh = NULL;
		rc = crypto_dh_new(sa->dh_group, &sa->dh);
		if (rc < 0)
			return rc;
	}
	da = crypto_dh_lookup(sa->dh_group);
	if (!da || crypto_dh_public(sa->dh, ke, da->pub_len) < 0)
		return -EINVAL;
	if (!sa->init->ni_len) {
		/* §2.10: a nonce nobody chose is no nonce: no RNG, no SA. */
		if (crypto_random(sa->init->ni, sa->init->ni_len = NONCE_LEN) <
		    0) {
			sa->init->ni_len = 0;
			ike_sa_kill(sa, "no random bytes for Ni");
			return 1;
		}
	}
	sa->spi_r = 0;
	sa->mid_next = 0;
	rc = msg_start(sa, &b, IKEV2_EXCH_IKE_SA_INIT, false, 0, false);
	/* §2.6: the COOKIE notify must be the first payload. */
	if (sa->init->cookie_len)
		ikev2_put_notify_simple(&b, IKEV2_N_COOKIE, sa->init->cookie,
					sa->init->cookie_len);
	ikev2_put_sa(&b, &st->offer);
	ikev2_put_ke(&b, sa->dh_group, ke, da->pub_len);
	ikev2_put_nonce(&b, sa->init->ni, sa->init->ni_len);
	if (r->nat_traversal)
		natt_put_natd_v2(&b, sa);
	/* RFC 7383 §2.3: offered in the request, accepted in the response. */
	if (r->fragmentation)
		ikev2_put_notify_simple(
		    &b, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	/* RFC 6023 §3: we can do without a CHILD SA in IKE_AUTH. */
	ikev2_put_notify_simple(&b, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, NULL, 0);
	auth_cert_init_put(&b, sa, r); /* RFC 7427 §4 (auth_cert.c) */
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return rc;
	}
	{
		uint8_t *pkt;
		size_t len;
		rc = ikev2_wr_finish(&b, &pkt, &len);
		if (rc < 0)
			return rc;
		if (!store_copy(&sa->init->init_req, &sa->init->init_req_len,
				pkt, len)) {
			free(pkt);
			return -ENOMEM;
		}
		ike_sa_set_state(sa, IKE_S_INIT_SENT);
		return sa_send_request(sa, IKEV2_EXCH_IKE_SA_INIT, pkt, len);
	}
}

/* Restart IKE_SA_INIT (cookie or new group): same task, mid 0. */
static void init_restart(struct ike_sa *sa, struct task *t)
{
	struct task *nt;

	if (++sa->init_retries > INIT_RETRY_MAX) {
		ike_sa_kill(sa, "too many IKE_SA_INIT restarts");
		return;
	}
	nt = task_new(TASK_IKE_INIT);
	if (!nt) {
		ike_sa_kill(sa, "out of memory");
		return;
	}
	nt->state = t->state;
	nt->free_state = t->free_state;
	t->state = NULL;
	sa->mid_next = 0;
	/* Ahead of IKE_AUTH, which is already queued. */
	nt->next = sa->queue;
	sa->queue = nt;
}

/*
 * RFC 7296 §2.21.1: an IKE_SA_INIT response is not protected; anyone who
 * saw our SPIi can forge one.  Only COOKIE (§2.6) and INVALID_KE_PAYLOAD
 * (§1.2) for a group we accept are acted on.  Any other error notify, and
 * any response that could not complete the exchange (no acceptable SA,
 * KE of another group or rejected by the DH checks, bad nonce), is
 * logged (rate limited) and ignored: input.c then leaves the request
 * outstanding, it is retransmitted until its normal timeout, and the
 * genuine response still completes the SA.  Changes nothing.
 */
bool ike_init_response_usable(const struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	const struct task *t = sa->active;
	const struct init_state *st =
	    t && t->type == TASK_IKE_INIT ? t->state : NULL;
	const struct crypto_dh_alg *da;
	struct ikev2_notify n;
	struct ikev2_sa reply;
	struct ikev2_suite suite;
	struct ikev2_ke ke;
	struct ikev2_nonce nonce;
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	const char *why;
	char pb[80], nb[48];
	int i = -1, rc;

	if (!r || !st)
		return true; /* our own state is gone: ike_init_process_i() */
	if (ikev2_msg_find_notify(m, IKEV2_N_COOKIE, &n)) {
		if (n.len >= 1 && n.len <= sizeof(sa->init->cookie) &&
		    sa->init_retries < INIT_RETRY_MAX)
			return true;
		why = "unusable COOKIE (or too many restarts)";
		goto ignore;
	}
	if (ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t g =
		    n.len == 2 ? (uint16_t)(n.data[0] << 8 | n.data[1]) : 0;
		if (g && g != sa->dh_group && dh_acceptable(r, g) &&
		    sa->init_retries < INIT_RETRY_MAX)
			return true;
		why = "INVALID_KE_PAYLOAD for a group we do not accept";
		goto ignore;
	}
	while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0) {
		if (ikev2_get_notify(&m->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX) {
			snprintf(nb, sizeof(nb), "error notify %s",
				 ikev2_notify_name(n.type));
			why = nb;
			goto ignore;
		}
	}
	/* No error: SA, KE and Nr are there (the codec's rules, msg.c). */
	why = "no acceptable SA";
	if (m->hdr.spi_r == 0 ||
	    ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &reply) != 0 ||
	    ikev2_sa_check_reply(&st->offer, &reply, &suite) != 0)
		goto ignore;
	why = "KE does not match the chosen group";
	if (ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0 ||
	    ke.group != suite.dh || suite.dh != sa->dh_group || !sa->dh ||
	    !(da = crypto_dh_lookup(suite.dh)))
		goto ignore;
	why = "bad nonce";
	if (ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &nonce) != 0 ||
	    nonce.len > IKE_NONCE_MAX)
		goto ignore;
	/* RFC 6989 / §5: a KE value our DH checks refuse. */
	rc = crypto_dh_compute(sa->dh, ke.data, ke.len, gir, da->secret_len);
	mem_wipe(gir, sizeof(gir));
	if (rc == 0)
		return true;
	why = "peer KE rejected";
ignore:
	log_rl_warn(MOD,
		    "IKE SA #%u: ignoring an IKE_SA_INIT response from "
		    "%s: %s (unauthenticated, RFC 7296 §2.21.1); still "
		    "waiting",
		    sa->id, ike_ep_str(&sa->peer, pb, sizeof(pb)), why);
	return false;
}

void ike_init_process_i(struct ike_sa *sa, struct task *t,
			const struct ike_msg *m)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct init_state *st = t->state;
	struct ikev2_notify n;
	struct ikev2_sa reply;
	struct ikev2_ke ke;
	struct ikev2_nonce nonce;
	char why[96];
	int i = -1;

	if (!r || !st) {
		ike_sa_kill(sa, "configuration gone");
		return;
	}
	/* §2.6: the responder wants a cookie; resend with it. */
	if (ikev2_msg_find_notify(m, IKEV2_N_COOKIE, &n)) {
		if (n.len < 1 || n.len > sizeof(sa->init->cookie)) {
			ike_sa_kill(sa, "bad COOKIE");
			return;
		}
		memcpy(sa->init->cookie, n.data, n.len);
		sa->init->cookie_len = n.len;
		log_info(MOD, "IKE SA #%u: responder asked for a COOKIE",
			 sa->id);
		init_restart(sa, t);
		return;
	}
	/* §1.2: INVALID_KE_PAYLOAD names the group the responder wants. */
	if (ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t g =
		    n.len == 2 ? (uint16_t)(n.data[0] << 8 | n.data[1]) : 0;
		if (!g || g == sa->dh_group || !dh_acceptable(r, g)) {
			snprintf(why, sizeof(why),
				 "INVALID_KE_PAYLOAD for unacceptable group %u",
				 g);
			ike_sa_kill(sa, why);
			return;
		}
		log_info(MOD,
			 "IKE SA #%u: responder wants DH group %s, "
			 "retrying",
			 sa->id, crypto_dh_name(g));
		sa->dh_group = g;
		init_restart(sa, t);
		return;
	}
	while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0) {
		if (ikev2_get_notify(&m->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX) {
			snprintf(why, sizeof(why), "peer refused: %s",
				 ikev2_notify_name(n.type));
			ike_sa_kill(sa, why);
			return;
		}
	}
	/* ike_init_response_usable() vetted SA, KE and Nr. */
	if (m->hdr.spi_r == 0 ||
	    ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &reply) != 0 ||
	    ikev2_sa_check_reply(&st->offer, &reply, &sa->algs) != 0) {
		ike_sa_kill(sa, "bad SA in IKE_SA_INIT response");
		return;
	}
	if (ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0 ||
	    ke.group != sa->algs.dh || sa->algs.dh != sa->dh_group) {
		ike_sa_kill(sa, "KE does not match the chosen group");
		return;
	}
	if (ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &nonce) != 0 ||
	    nonce.len > IKE_NONCE_MAX) {
		ike_sa_kill(sa, "bad nonce in IKE_SA_INIT response");
		return;
	}
	memcpy(sa->init->nr, nonce.data, nonce.len);
	sa->init->nr_len = nonce.len;
	sa->spi_r = m->hdr.spi_r;
	if (!store_copy(&sa->init->init_resp, &sa->init->init_resp_len, m->raw,
			m->raw_len)) {
		ike_sa_kill(sa, "out of memory");
		return;
	}
	if (r->nat_traversal)
		natt_check_natd_v2(sa, m);
	sa->frag = r->fragmentation &&
		   ikev2_msg_find_notify(
		       m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL);
	sa->childless =
	    ikev2_msg_find_notify(m, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, NULL);
	auth_cert_init_read(sa, m); /* RFC 7427 §4 (auth_cert.c) */
	if (derive_keys(sa, ke.data, ke.len) < 0) {
		ike_sa_kill(sa, "key derivation failed (peer KE rejected)");
		return;
	}
	/* §2.23: behind a NAT, move to port 4500. */
	if ((sa->nat_local || sa->nat_peer) && !sa->natt) {
		sa->natt = true;
		sa->local.port = net_local_port(sa->d, &sa->local.addr, true);
		sa->peer.port = IKE_NATT_PORT;
	}
	log_info(MOD, "IKE SA #%u: IKE_SA_INIT done with %s: %s-%u/%s/%s/%s",
		 sa->id, sa->remote, crypto_encr_name(sa->algs.encr),
		 sa->algs.encr_keybits, crypto_prf_name(sa->algs.prf),
		 sa->algs.integ ? crypto_integ_name(sa->algs.integ) : "aead",
		 crypto_dh_name(sa->algs.dh));
}

/* ---- responder ---- */

static void cookie_compute(const uint8_t secret[32], uint8_t version,
			   const struct ike_ep *peer, uint64_t spi_i,
			   const uint8_t *ni, size_t ni_len, uint8_t out[33])
{
	uint8_t spi[8];
	struct cbuf parts[3];
	int i;

	for (i = 0; i < 8; i++)
		spi[i] = (uint8_t)(spi_i >> (56 - 8 * i));
	/* §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi |
	 * <secret>); keyed HMAC instead of a plain hash. */
	parts[0] = (struct cbuf){ni, ni_len};
	parts[1] =
	    (struct cbuf){peer->addr.u.b, peer->addr.af == AF_INET6 ? 16u : 4u};
	parts[2] = (struct cbuf){spi, 8};
	out[0] = version;
	crypto_prf(IKEV2_PRF_HMAC_SHA2_256, secret, 32, parts, 3, out + 1);
}

/* 0, or -EIO when there is no secret to make cookies with (the caller
 * drops the request: a cookie from a known secret is forgeable). */
static int cookie_secret_refresh(struct iked *d)
{
	uint64_t now = ev_now_ms();
	uint8_t fresh[sizeof(d->cookie_secret)];

	/* Rotate the secret every 5 minutes (§2.6). */
	if (!d->cookie_secret_ms || now - d->cookie_secret_ms > 300000) {
		if (crypto_random(fresh, sizeof(fresh)) < 0) {
			mem_wipe(fresh, sizeof(fresh));
			/* Keep a secret we already have; none: refuse. */
			return d->cookie_secret_ms ? 0 : -EIO;
		}
		/* Keep the previous secret so that a cookie handed out just
		 * before the rotation is still honoured once. */
		if (d->cookie_secret_ms) {
			memcpy(d->cookie_prev_secret, d->cookie_secret,
			       sizeof(d->cookie_prev_secret));
			d->cookie_prev_valid = true;
		}
		memcpy(d->cookie_secret, fresh, sizeof(fresh));
		mem_wipe(fresh, sizeof(fresh));
		d->cookie_secret_ms = now;
		d->cookie_version++;
	}
	return 0;
}

/* A responder's DH + key derivation job (cwork.h): copies in, results
 * out; the SA is named by id and SPIs, never pointed to. */
struct init_job {
	struct cwork_job job;
	uint32_t sa_id;
	uint64_t spi_i, spi_r;
	struct ikev2_hdr hdr; /* the request's, for a notify */
	struct ikev2_suite suite;
	uint8_t peer_ke[CRYPTO_MAX_DH_PUB];
	size_t peer_ke_len;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	/* results */
	int keygen_rc, derive_rc;
	uint8_t pub[CRYPTO_MAX_DH_PUB];
	struct ikev2_sa_keys keys;
};

/* In a worker: nothing but the job and libcrypto. */
static void init_job_run(struct cwork_job *cj)
{
	struct init_job *j = (struct init_job *)cj;
	const struct crypto_dh_alg *da = crypto_dh_lookup(j->suite.dh);
	struct crypto_dh *dh = NULL;
	uint8_t gir[CRYPTO_MAX_DH_SECRET];

	j->keygen_rc = j->derive_rc = -EINVAL;
	if (!da)
		return;
	j->keygen_rc = crypto_dh_new(j->suite.dh, &dh);
	if (j->keygen_rc == 0)
		j->keygen_rc = crypto_dh_public(dh, j->pub, da->pub_len);
	if (j->keygen_rc < 0)
		goto free_dh;
	j->derive_rc = crypto_dh_compute(dh, j->peer_ke, j->peer_ke_len, gir,
					 da->secret_len);
	if (j->derive_rc == 0)
		j->derive_rc = ikev2_derive_ike_keys(
		    &j->suite, gir, da->secret_len, j->ni, j->ni_len, j->nr,
		    j->nr_len, j->spi_i, j->spi_r, &j->keys);
	mem_wipe(gir, sizeof(gir));
free_dh:
	crypto_dh_free(dh);
}

static void init_respond(struct ike_sa *sa, const struct init_job *j);

/* In the loop: the SA the job was for, if it is still waiting. */
static void init_job_done(struct iked *d, struct cwork_job *cj)
{
	struct init_job *j = (struct init_job *)cj;
	struct ike_sa *sa = ike_sa_find_id(d, j->spi_i, j->sa_id);

	if (!sa || sa->spi_r != j->spi_r || sa->initiator || !sa->init_pending)
		return; /* gone meanwhile (killed, displaced): wiped */
	sa->init_pending = false;
	init_respond(sa, j);
}

void ike_init_process_r(struct iked *d, const struct ike_ep *local,
			const struct ike_ep *peer, bool natt,
			const struct ike_msg *m)
{
	const struct ike_remote *r;
	struct ikev2_prefs prefs;
	struct ikev2_sa offer;
	struct ikev2_suite suite;
	struct ikev2_ke ke;
	struct ikev2_nonce nonce;
	struct ikev2_notify n;
	struct ike_sa *sa;
	struct init_job *j;
	char pb[80];
	int rc;

	r = cfg_remote_by_addr(d->cfg, &peer->addr);
	if (!r) {
		log_rl_warn(MOD,
			    "IKE_SA_INIT from %s: no remote (and no "
			    "default) for this address",
			    ike_ep_str(peer, pb, sizeof(pb)));
		send_init_notify(d, local, peer, natt, &m->hdr,
				 IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	/* §3.3, §3.4, §3.9: the codec's rules (msg.c) made SA, KE and Ni
	 * mandatory; the nonce's upper bound is ours. */
	if (ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &offer) != 0 ||
	    ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0 ||
	    ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &nonce) != 0 ||
	    nonce.len > IKE_NONCE_MAX) {
		send_init_notify(d, local, peer, natt, &m->hdr,
				 IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}

	/* A source over its half-open limits is dropped before the COOKIE
	 * exchange: a cookie would not get it in (dos.c). */
	if (!dos_init_precheck(d, &peer->addr, m->raw_len))
		return;
	/* §2.6: stateless COOKIE when asked to, or under load
	 * (ike_cookie_threshold half-open SAs, dos.c). */
	if (dos_cookie_needed(d, r, &peer->addr)) {
		uint8_t want[33];
		bool ok = false;
		if (cookie_secret_refresh(d) < 0) {
			log_rl_warn(MOD,
				    "IKE_SA_INIT from %s: no random "
				    "bytes for the COOKIE secret, dropping",
				    ike_ep_str(peer, pb, sizeof(pb)));
			return;
		}
		if (ikev2_msg_find_notify(m, IKEV2_N_COOKIE, &n) &&
		    n.len == sizeof(want)) {
			/* Accept the current and the previous secret. */
			const uint8_t *sec = NULL;

			if (n.data[0] == d->cookie_version)
				sec = d->cookie_secret;
			else if (d->cookie_prev_valid &&
				 n.data[0] == (uint8_t)(d->cookie_version - 1))
				sec = d->cookie_prev_secret;
			if (sec) {
				cookie_compute(sec, n.data[0], peer,
					       m->hdr.spi_i, nonce.data,
					       nonce.len, want);
				ok = CRYPTO_memcmp(want, n.data,
						   sizeof(want)) == 0;
			}
		}
		if (!ok) {
			if (ikev2_msg_find_notify(m, IKEV2_N_COOKIE, NULL))
				d->dos.st.cookies_bad++;
			d->dos.st.cookies_sent++;
			cookie_compute(d->cookie_secret, d->cookie_version,
				       peer, m->hdr.spi_i, nonce.data,
				       nonce.len, want);
			log_debug(MOD,
				  "IKE_SA_INIT from %s: asking for a "
				  "COOKIE",
				  ike_ep_str(peer, pb, sizeof(pb)));
			send_init_notify(d, local, peer, natt, &m->hdr,
					 IKEV2_N_COOKIE, want, sizeof(want));
			return;
		}
	}

	prefs_ike(r, &prefs);
	rc = ikev2_sa_select(&offer, &prefs, ke.group, &suite);
	if (rc != 0) {
		/* Unauthenticated and stateless: rate limited. */
		log_rl_warn(MOD,
			    "IKE_SA_INIT from %s (remote %s): no "
			    "acceptable proposal",
			    ike_ep_str(peer, pb, sizeof(pb)), r->name);
		send_init_notify(d, local, peer, natt, &m->hdr,
				 IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (suite.dh != ke.group) {
		/* §1.2: tell the initiator which group we want. */
		uint8_t g[2] = {(uint8_t)(suite.dh >> 8), (uint8_t)suite.dh};
		static struct log_rl rl_ke = LOG_RL_INIT(5000, 10);

		log_rl_msg(&rl_ke, LOG_LVL_INFO, MOD,
			   "IKE_SA_INIT from %s: KE group %u, asking for %s",
			   ike_ep_str(peer, pb, sizeof(pb)), ke.group,
			   crypto_dh_name(suite.dh));
		send_init_notify(d, local, peer, natt, &m->hdr,
				 IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}

	/* Per-address, per-prefix and table limits, after the stateless
	 * checks and before any DH work (dos.c); may displace an older
	 * half-open SA. */
	if (!dos_init_admit(d, &peer->addr, m->raw_len))
		return;
	sa = ike_sa_new(d, false);
	if (!sa)
		return;
	if (!ike_sa_init_get(sa)) {
		ike_sa_kill(sa, "no memory for IKE_SA_INIT");
		return;
	}
	snprintf(sa->remote, sizeof(sa->remote), "%s", r->name);
	sa->local = *local;
	sa->peer = *peer;
	sa->natt = natt;
	sa->spi_i = m->hdr.spi_i;
	/* §2.6 SPIr, §2.10 Nr: without random bytes, no answer. */
	do
		rc = crypto_random(&sa->spi_r, sizeof(sa->spi_r));
	while (rc == 0 && sa->spi_r == 0);
	if (rc == 0)
		rc = crypto_random(sa->init->nr, NONCE_LEN);
	if (rc < 0) {
		log_rl_warn(MOD,
			    "IKE_SA_INIT from %s: no random bytes, "
			    "dropping",
			    ike_ep_str(peer, pb, sizeof(pb)));
		sa->spi_r = 0;
		ike_sa_kill(sa, "no random bytes");
		return;
	}
	if (ike_sa_rehash(sa) < 0)
		goto fail;
	sa->algs = suite;
	sa->dh_group = suite.dh;
	if (dos_ho_add(sa) < 0)
		goto fail;
	memcpy(sa->init->ni, nonce.data, nonce.len);
	sa->init->ni_len = nonce.len;
	sa->init->nr_len = NONCE_LEN;
	sa->peer_mid_next = 0;
	if (!store_copy(&sa->init->init_req, &sa->init->init_req_len, m->raw,
			m->raw_len))
		goto fail;
	if (r->nat_traversal)
		natt_check_natd_v2(sa, m);
	/* RFC 7383 §2.3: the responder answers the offer in kind. */
	sa->frag = r->fragmentation &&
		   ikev2_msg_find_notify(
		       m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL);
	/* RFC 6023 §3: the initiator's announcement; ours is in every
	 * response, so that is all it takes. */
	sa->childless =
	    ikev2_msg_find_notify(m, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, NULL);
	auth_cert_init_read(sa, m); /* RFC 7427 §4 (auth_cert.c) */

	/* The DH work and the key derivation run in a crypto worker
	 * (cwork.h) on a copy of what they need; init_respond() answers
	 * when they are done (at once without workers). */
	if (ke.len > sizeof(j->peer_ke) || sa->init->ni_len > sizeof(j->ni) ||
	    sa->init->nr_len > sizeof(j->nr))
		goto fail;
	j = calloc(1, sizeof(*j));
	if (!j)
		goto fail;
	j->job.size = sizeof(*j);
	j->job.run = init_job_run;
	j->job.done = init_job_done;
	j->sa_id = sa->id;
	j->spi_i = sa->spi_i;
	j->spi_r = sa->spi_r;
	j->hdr = m->hdr;
	j->suite = suite;
	memcpy(j->peer_ke, ke.data, ke.len);
	j->peer_ke_len = ke.len;
	memcpy(j->ni, sa->init->ni, sa->init->ni_len);
	j->ni_len = sa->init->ni_len;
	memcpy(j->nr, sa->init->nr, sa->init->nr_len);
	j->nr_len = sa->init->nr_len;
	sa->init_pending = true;
	ike_sa_nego_timer(sa); /* a half-open SA does not linger */
	cwork_submit(d, &j->job);
	return;

fail:
	ike_sa_kill(sa, "IKE_SA_INIT failed");
}

/* The second half of the responder's IKE_SA_INIT (§1.2): keys in
 * place, answer with our SA, KE and Nr. */
static void init_respond(struct ike_sa *sa, const struct init_job *j)
{
	struct iked *d = sa->d;
	const struct ike_remote *r = cfg_remote_by_name(d->cfg, sa->remote);
	const struct ikev2_suite suite = sa->algs;
	const struct crypto_dh_alg *da = crypto_dh_lookup(suite.dh);
	const struct ike_ep *peer = &sa->peer;
	struct ikev2_sa answer;
	struct ikev2_wr b;
	char pb[80];
	uint8_t *pkt;
	size_t len;
	int rc;

	if (!r || !da || j->keygen_rc < 0)
		goto fail;
	if (j->derive_rc < 0) {
		/* RFC 6989 / §5: a bad public value. */
		log_rl_warn(MOD, "IKE_SA_INIT from %s: peer KE rejected",
			    ike_ep_str(peer, pb, sizeof(pb)));
		send_init_notify(d, &sa->local, peer, sa->natt, &j->hdr,
				 IKEV2_N_INVALID_SYNTAX, NULL, 0);
		goto fail;
	}
	if (ike_sa_keys_setup(sa, &j->keys, false) < 0)
		goto fail;

	if (ikev2_suite_to_sa(&suite, NULL, 0, &answer) < 0)
		goto fail;
	rc = msg_start(sa, &b, IKEV2_EXCH_IKE_SA_INIT, true, 0, false);
	ikev2_put_sa(&b, &answer);
	ikev2_put_ke(&b, suite.dh, j->pub, da->pub_len);
	ikev2_put_nonce(&b, sa->init->nr, sa->init->nr_len);
	if (r->nat_traversal)
		natt_put_natd_v2(&b, sa);
	if (sa->frag)
		ikev2_put_notify_simple(
		    &b, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	ikev2_put_notify_simple(&b, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, NULL,
				0);    /* RFC 6023 §3 */
	auth_cert_init_put(&b, sa, r); /* RFC 7427 §4 (auth_cert.c) */
	if (rc < 0) {
		ikev2_wr_abort(&b);
		goto fail;
	}
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		goto fail;
	if (!store_copy(&sa->init->init_resp, &sa->init->init_resp_len, pkt,
			len)) {
		free(pkt);
		goto fail;
	}
	ike_sa_set_state(sa, IKE_S_INIT_DONE);
	sa_send_response(sa, 0, pkt, len);
	ike_sa_nego_timer(sa);
	log_info(MOD,
		 "IKE SA #%u: IKE_SA_INIT from %s (remote %s): "
		 "%s-%u/%s/%s/%s",
		 sa->id, ike_ep_str(peer, pb, sizeof(pb)), r->name,
		 crypto_encr_name(suite.encr), suite.encr_keybits,
		 crypto_prf_name(suite.prf),
		 suite.integ ? crypto_integ_name(suite.integ) : "aead",
		 crypto_dh_name(suite.dh));
	return;

fail:
	ike_sa_kill(sa, "IKE_SA_INIT failed");
}
