/*
 * v1.c - IKEv1 (RFC 2409) inside iked: the daemon side of the engine in
 * src/ikev1.  See v1.h for the division of work.
 *
 * Input: ike_input() hands every datagram whose ISAKMP header says major
 * version 1 here (port 500, or 4500 after the non-ESP marker, RFC 3947
 * §4).  The SA is found by its cookies; only a Main Mode message 1 (zero
 * responder cookie) from an address an ikev1 remote accepts creates one
 * (bounded: V1_HALF_OPEN_MAX not yet established).  Everything the engine
 * refuses is dropped and counted by it; nothing here changes before the
 * engine accepted the message, and the peer's address/port are taken
 * from a message only once the ISAKMP SA is authenticated (NAT-T float).
 *
 * Timers per ISAKMP SA: retransmission of our last message while the
 * engine has one outstanding (interval_to_send, doubling, max_retry_to_
 * send; then the SA is given up), the negotiation limit and then the
 * ISAKMP SA lifetime, DPD (RFC 3706: dpd_delay of silence -> R-U-THERE,
 * dpd_retry, dpd_maxfail), and the CHILD SA sweep (the initiator of a
 * Quick Mode renews its CHILD SA at the engine's soft lifetime, 85-90 %,
 * with a new Quick Mode naming it, ikev1_quick_rekey, and deletes it when
 * the new one is installed; a CHILD SA the peer made is renewed by us at
 * 95 % unless the peer's Quick Mode renewed it first; at the lifetime
 * the SA is deleted).  Phase 1 re-authentication (as strongSwan's IKEv1
 * reauth): the side that initiated an ISAKMP SA starts a new Main Mode
 * at 90 % of its lifetime; once established, the new SA takes the old
 * one's CHILD SAs and renews each by a Quick Mode (IKEv1 CHILD SAs die
 * with their ISAKMP SA at many peers), and when none is left to renew
 * it Deletes the old ISAKMP SA.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "ike/auth_cert.h"
#include "ike/exch.h"
#include "ike/priv.h"
#include "ike/rw.h"
#include "ike/v1.h"
#include "kernel/esp_uat.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/util.h"

#define MOD		 "ikev1"
#define V1_HALF_OPEN_MAX 256
#define V1_CHILD_LIFE	 28800 /* RFC 2407 §4.5: default SA life */
/* The early resend of a Quick Mode that follows our Aggressive Mode 3
 * (v1.h am3_unheard): long enough for a responder to have processed
 * that message, short against interval_to_send's 10 s. */
#define V1_AM_QM_EARLY_MS 1000

static void v1_out(struct v1_sa *v, struct ikev1_out *o);
static void v1_kill(struct v1_sa *v, const char *why);

/* ---- addresses and selectors ---- */

static int id_of_side(struct isakmp_id *id, const struct ksel *s, bool src)
{
	const struct kaddr *a = src ? &s->src : &s->dst;
	unsigned plen = src ? s->src_plen : s->dst_plen;
	uint16_t port = src ? (s->sport_mask ? s->sport : 0)
			    : (s->dport_mask ? s->dport : 0);

	return isakmp_id_from_prefix(id, s->af, a->u.b, plen, s->proto, port);
}

/* An IDci/IDcr (RFC 2407 §4.6.2) as one side of a struct ksel, for
 * ikedctl. */
static void ksel_side(struct ksel *s, const struct isakmp_id *id, bool src)
{
	struct kaddr *a = src ? &s->src : &s->dst;
	uint8_t *plen = src ? &s->src_plen : &s->dst_plen;
	size_t alen = 0, i;

	switch (id->type) {
	case ISAKMP_ID_IPV4_ADDR:
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
		s->af = a->af = AF_INET;
		alen = 4;
		break;
	case ISAKMP_ID_IPV6_ADDR:
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
		s->af = a->af = AF_INET6;
		alen = 16;
		break;
	default:
		return;
	}
	if (id->len < alen)
		return;
	memcpy(a->u.b, id->data, alen);
	*plen = (uint8_t)(alen * 8);
	if ((id->type == ISAKMP_ID_IPV4_ADDR_SUBNET ||
	     id->type == ISAKMP_ID_IPV6_ADDR_SUBNET) &&
	    id->len >= 2 * alen) {
		*plen = 0;
		for (i = 0; i < alen; i++)
			*plen = (uint8_t)(*plen + __builtin_popcount(
						      id->data[alen + i]));
	}
	s->proto = id->proto;
	if (id->port) {
		if (src) {
			s->sport = id->port;
			s->sport_mask = 0xffff;
		} else {
			s->dport = id->port;
			s->dport_mask = 0xffff;
		}
	}
}

/* Tunnel endpoints: my_sa_ipaddr / peers_sa_ipaddr, else the IKE ones. */
static void endpoints(const struct v1_sa *v, struct kaddr *local,
		      struct kaddr *peer)
{
	const struct ike_policy *p = cfg_policy_by_name(v->d->cfg, v->policy);

	*local = v->local.addr;
	*peer = v->peer.addr;
	if (p && p->my_sa.af == local->af)
		*local = p->my_sa;
	if (p && p->peer_sa.af == peer->af && !p->peer_sa_rw)
		*peer = p->peer_sa;
}

/* ---- engine configuration ---- */

static void conf_policy(struct v1_sa *v, const struct ike_policy *p)
{
	struct ikev1_conf *c = &v->conf;
	unsigned i;

	snprintf(v->policy, sizeof(v->policy), "%s", p->name);
	c->n_p2 = c->n_ah = 0;
	c->p2_life_sec = p->lifetime_sec > UINT32_MAX
			     ? UINT32_MAX
			     : (uint32_t)p->lifetime_sec;
	for (i = 0; i < p->n_v1_esp && c->n_p2 < IKEV1_MAX_P2; i++)
		c->p2[c->n_p2++] =
		    (struct ikev1_p2_suite){p->v1_esp[i], p->v1_esp_bits[i],
					    p->v1_auth[i], c->p2_life_sec};
	/* the bundle's AH (RFC 2407 §4.4.3) and IPComp (DEFLATE, the one
	 * the data planes carry; cfg_conf.c) */
	for (i = 0; i < p->n_v1_ah && c->n_ah < IKEV1_MAX_P2; i++)
		c->ah[c->n_ah++] = (struct isakmp_ah_suite){
		    p->v1_ah[i], isakmp_ah_auth(p->v1_ah[i])};
	c->ipcomp = p->n_ipcomp ? ISAKMP_IPCOMP_DEFLATE : 0;
	/* IDci = our side of the outbound selector, IDcr the peer's */
	id_of_side(&c->ts_local, &p->sel, true);
	id_of_side(&c->ts_remote, &p->sel, false);
	v->reqid = policy_reqid(v->d, p);
}

/* Our inbound SPI (ESP, AH) or CPI (IPComp) from the kernel's getspi,
 * remembered as a larval SA until a CHILD SA takes it. */
static int getspi_kproto(struct v1_sa *v, uint8_t kproto, uint32_t *spi)
{
	struct iked *d = v->d;
	struct kaddr local, peer;
	int rc = -ENODEV;

	endpoints(v, &local, &peer);
	if (d->kern_open && v->n_larval < V1_LARVAL_MAX)
		rc = k_getspi(&d->kern, kproto, &peer, &local, v->reqid, spi);
	if (rc == 0 && kproto == IPPROTO_COMP &&
	    (*spi < IKEV2_CPI_MIN || *spi > IKEV2_CPI_MAX)) {
		k_sa_del(&d->kern, IPPROTO_COMP, &local, *spi);
		rc = -ERANGE;
	}
	if (rc == 0) {
		v->larval_proto[v->n_larval] = kproto;
		v->larval[v->n_larval++] = *spi;
		return 0;
	}
	/* RFC 3173 §2.1: no CPI, no IPComp (no random fallback) */
	if (kproto == IPPROTO_COMP) {
		log_info(MOD,
			 "ISAKMP SA #%u: no IPComp CPI from the kernel "
			 "backend (%s): without IPComp",
			 v->id,
			 rc == -ERANGE	? "CPI out of range"
			 : d->kern_open ? d->kern.last_error
					: "no kernel");
		return rc;
	}
	/* no larval SA: a random SPI, the install reports the problem */
	do
		rc = crypto_random(spi, sizeof(*spi));
	while (rc == 0 && *spi < 256);
	return rc;
}

static int v1_getspi(void *arg, uint32_t *spi)
{
	return getspi_kproto(arg, IPPROTO_ESP, spi);
}

static int v1_getspi_proto(void *arg, uint8_t proto, uint32_t *spi)
{
	return getspi_kproto(arg,
			     proto == ISAKMP_PROTO_AH	    ? IPPROTO_AH
			     : proto == ISAKMP_PROTO_IPCOMP ? IPPROTO_COMP
							    : IPPROTO_ESP,
			     spi);
}

/* The engine's sign hook in the privilege-separated engine: the parent
 * signs HASH_I/HASH_R with the key of its own configuration for this
 * remote (priv.h PRIV_SIGN, AUTH_SIGN_IKEV1). */
static int v1_sign(void *arg, const uint8_t *hash, size_t len, uint8_t **sig,
		   size_t *sig_len)
{
	struct v1_sa *v = arg;
	struct auth_sig s;
	int rc = priv_sign(v->remote, AUTH_SIGN_IKEV1, hash, len, &s);

	if (rc < 0)
		return rc;
	*sig = s.data;
	*sig_len = s.len;
	return 0;
}

/* Another ISAKMP SA with v's peer address? */
static bool peer_has_sa(const struct v1_sa *v)
{
	const struct v1_sa *o;

	for (o = v->d->v1sas; o; o = o->next)
		if (o != v && !o->dead &&
		    kaddr_eq(&o->peer.addr, &v->peer.addr))
			return true;
	return false;
}

static void conf_build(struct v1_sa *v, const struct ike_remote *r)
{
	const struct cfg_v1 *c1 = r->v1;
	struct ikev1_conf *c = &v->conf;
	struct ike_id me;
	unsigned i;

	memset(c, 0, sizeof(*c));
	memcpy(v->psk, c1->psk, c1->psk_len);
	c->psk = v->psk;
	c->psk_len = c1->psk_len;
	c->auth_method = c1->auth_method;
	/* RFC 2407 §4.6.3.3: INITIAL-CONTACT on our first ISAKMP SA with
	 * this peer (none other alive), never on a later one */
	c->initial_contact = c1->initial_contact && !peer_has_sa(v);
	if (c1->cert) {
		/* RFC 2409 §5.1: the engine borrows the remote's
		 * certificates; the key is the parent's under privsep */
		struct auth_cert_view cv;
		auth_cert_get_view(c1->cert, &cv);
		/* references of its own: a reload frees the configuration
		 * under a living SA (released in sa_free) */
		if (cv.cert && X509_up_ref(cv.cert) == 1)
			c->cert = cv.cert;
		if (cv.key && EVP_PKEY_up_ref(cv.key) == 1)
			c->key = cv.key;
		if (!cv.key && cv.key_in_parent)
			c->sign = v1_sign;
		if (cv.peer_key && EVP_PKEY_up_ref(cv.peer_key) == 1)
			c->peer_key = cv.peer_key;
		if (cv.peer_certs)
			c->peer_certs = X509_chain_up_ref(cv.peer_certs);
		c->verify_id = cv.verify_id;
		c->send_certreq = cv.send_certreq;
	}
	/* RFC 2407 §4.6.2.1: the IKEv2 and IPsec DOI ID types agree for
	 * the types iked uses (1, 2, 3, 5, 11) */
	me = c1->my_id;
	if (!me.type)
		ike_id_from_addr(&v->local.addr, &me);
	c->id_type = me.type;
	c->id_len = me.len > IKEV1_MAX_ID ? IKEV1_MAX_ID : me.len;
	memcpy(c->id, me.data, c->id_len);
	if (c1->peer_id.type) {
		c->peer_id_type = c1->peer_id.type;
		c->peer_id_len = c1->peer_id.len > IKEV1_MAX_ID
				     ? IKEV1_MAX_ID
				     : c1->peer_id.len;
		memcpy(c->peer_id, c1->peer_id.data, c->peer_id_len);
	}
	for (i = 0; i < c1->n_p1 && c->n_p1 < IKEV1_MAX_P1; i++)
		c->p1[c->n_p1++] = (struct ikev1_p1_suite){
		    c1->p1[i].encr, c1->p1[i].keybits, c1->p1[i].hash,
		    c1->p1[i].group, c1->lifetime_sec};
	c->pfs_group = c1->pfs_group;
	c->natt = c1->nat_traversal;
	c->aggressive = c1->aggressive;
	c->aggressive_initiate = c1->aggressive_initiate;
	c->getspi = v1_getspi;
	c->getspi_proto = v1_getspi_proto;
	c->arg = v;
}

/* ---- the SA table ---- */

static void rtx_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void life_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void dpd_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void child_fire(struct ev_loop *loop, struct ev_timer *t, void *arg);
static int phase1_start(struct iked *d, const struct ike_remote *r,
			const struct ike_policy *p, const struct ike_ep *local,
			const struct ike_ep *peer, struct v1_sa **out,
			char *err, size_t errlen);
static void reauth_done(struct v1_sa *v);

static struct v1_sa *sa_new(struct iked *d, const struct ike_remote *r,
			    const struct ike_policy *p, bool initiator,
			    const struct ike_ep *local,
			    const struct ike_ep *peer, bool natt)
{
	struct v1_sa *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->d = d;
	v->id = ++d->next_sa_id;
	v->initiator = initiator;
	snprintf(v->remote, sizeof(v->remote), "%s", r->name);
	v->local = *local;
	v->peer = *peer;
	v->natt = natt;
	v->created_ms = v->last_recv_ms = ev_now_ms();
	conf_build(v, r);
	if (p)
		conf_policy(v, p);
	ev_timer_init(&v->rtx, rtx_fire, v);
	ev_timer_init(&v->life, life_fire, v);
	ev_timer_init(&v->dpd, dpd_fire, v);
	ev_timer_init(&v->child_timer, child_fire, v);
	/* the negotiation limit until Phase 1 completes */
	ev_timer_start(d->loop, &v->life, r->v1->nego_limit_sec * 1000ull);
	v->next = d->v1sas;
	d->v1sas = v;
	return v;
}

static const struct cfg_v1 *sa_conf(const struct v1_sa *v)
{
	const struct ike_remote *r = cfg_remote_by_name(v->d->cfg, v->remote);

	return r && r->ikev1 ? r->v1 : NULL;
}

static void v1c_uninstall(struct v1_sa *v, struct v1_child *c)
{
	struct iked *d = v->d;
	struct kaddr local, peer;
	/* every SA of the bundle: ESP, AH beside it, the IPComp pair (one
	 * batch, kernel.h k_batch) */
	struct child_pair pairs[3] = {
	    {c->proto, c->spi_in, c->spi_out, &c->in_installed,
	     &c->out_installed},
	    {IPPROTO_AH, c->ah_spi_in, c->ah_spi_out, &c->ah_in_installed,
	     &c->ah_out_installed},
	    {IPPROTO_COMP, c->cpi_in, c->cpi_out, &c->cpi_in_installed,
	     &c->cpi_out_installed},
	};

	endpoints(v, &local, &peer);
	child_pairs_del(d, c->id, &local, &peer, pairs, 3, NULL, 0);
}

/* The only way a CHILD SA dies: out of the list, out of the kernel. */
static void v1c_remove(struct v1_sa *v, struct v1_child *c, const char *why)
{
	struct v1_child **pp;

	for (pp = &v->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	log_info(MOD, "CHILD SA #%u (%s) SPIs in %08x out %08x removed: %s",
		 c->id, c->policy, c->spi_in, c->spi_out, why);
	v1c_uninstall(v, c);
	rw_v1_unbind(v->d, c->id); /* its dynamic policies, if any */
	free(c);
}

static void v1_kill(struct v1_sa *v, const char *why)
{
	struct iked *d = v->d;
	struct kaddr local, peer;
	unsigned i;

	if (v->dead)
		return;
	log_info(MOD, "ISAKMP SA #%u (%s) %s: %s", v->id, v->remote,
		 v->established ? "removed" : "failed", why);
	v->dead = true;
	ev_timer_stop(d->loop, &v->rtx);
	ev_timer_stop(d->loop, &v->life);
	ev_timer_stop(d->loop, &v->dpd);
	ev_timer_stop(d->loop, &v->child_timer);
	while (v->children)
		v1c_remove(v, v->children, why);
	/* larval SAs of Quick Modes that never completed */
	endpoints(v, &local, &peer);
	for (i = 0; i < v->n_larval; i++)
		if (d->kern_open)
			k_sa_del(&d->kern, v->larval_proto[i], &local,
				 v->larval[i]);
	v->n_larval = 0;
	iked_schedule_reap(d);
}

static void sa_free(struct v1_sa *v)
{
	ikev1_sa_free(v->e);
	X509_free(v->conf.cert);
	EVP_PKEY_free(v->conf.key);
	EVP_PKEY_free(v->conf.peer_key);
	sk_X509_pop_free(v->conf.peer_certs, X509_free);
	mem_wipe(v->psk, sizeof(v->psk));
	mem_wipe(&v->conf, sizeof(v->conf));
	free(v);
}

void v1_reap(struct iked *d)
{
	struct v1_sa **pp = &d->v1sas;

	while (*pp) {
		struct v1_sa *v = *pp;
		if (v->dead) {
			*pp = v->next;
			sa_free(v);
		} else {
			pp = &v->next;
		}
	}
}

/* ---- sending and timers ---- */

static void rtx_arm(struct v1_sa *v)
{
	const struct cfg_v1 *c1 = sa_conf(v);

	v->tries = 0;
	v->rtx_ms = c1 ? c1->interval_ms : 2000;
	v->rtx_early = v->am3_unheard && v->rtx_ms > V1_AM_QM_EARLY_MS;
	ev_timer_start(v->d->loop, &v->rtx,
		       v->rtx_early ? V1_AM_QM_EARLY_MS : v->rtx_ms);
}

static void send_pkt(struct v1_sa *v, const uint8_t *pkt, size_t len)
{
	if (net_send(v->d, &v->local, &v->peer, v->natt, pkt, len) == 0)
		v->bytes_out += len;
}

static void rtx_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct v1_sa *v = arg;
	const struct cfg_v1 *c1 = sa_conf(v);
	struct ikev1_out o;

	(void)loop;
	(void)t;
	if (v->dead)
		return;
	if (ikev1_retransmit(v->e, &o) < 0)
		return; /* nothing outstanding */
	if (v->rtx_early) {
		/* Aggressive Mode 3 has no answer, and strongSwan's
		 * responder drops a Quick Mode that it happens to take up
		 * before that message (charon task_manager_v1.c: "ignoring
		 * QUICK_MODE request while phase 1 is incomplete"; its
		 * job queue runs Quick Mode ahead of Aggressive Mode):
		 * one resend now, not counted, then the usual schedule */
		v->rtx_early = false;
		log_info(MOD,
			 "ISAKMP SA #%u: Quick Mode resent early: nothing "
			 "answers Aggressive Mode's last message",
			 v->id);
		send_pkt(v, o.pkt, o.len);
		ikev1_out_clear(&o);
		ev_timer_start(v->d->loop, &v->rtx,
			       v->rtx_ms - V1_AM_QM_EARLY_MS);
		return;
	}
	if (v->tries >= (c1 ? c1->max_retry : 3)) {
		ikev1_out_clear(&o);
		/* as strongSwan: an exchange without an answer ends the
		 * ISAKMP SA (a new ACQUIRE starts over) */
		v1_kill(v, "no answer to our retransmissions");
		return;
	}
	v->tries++;
	log_debug(MOD, "ISAKMP SA #%u: retransmission %u", v->id, v->tries);
	send_pkt(v, o.pkt, o.len);
	ikev1_out_clear(&o);
	/* RFC 2408 §5 leaves the timing to us: exponential back-off */
	if (v->rtx_ms < 60000)
		v->rtx_ms *= 2;
	ev_timer_start(v->d->loop, &v->rtx, v->rtx_ms);
}

/* An Informational Delete of the ISAKMP SA to the peer (CHILD SAs:
 * send_delete_spis, one payload per protocol of the bundle). */
static void send_delete_isakmp(struct v1_sa *v)
{
	struct ikev1_out o;

	if (!v->e || ikev1_sa_state(v->e) != IKEV1_ESTABLISHED)
		return;
	if (ikev1_delete(v->e, 0, &o) == 0 && o.pkt)
		send_pkt(v, o.pkt, o.len);
	ikev1_out_clear(&o);
}

/* Delete of a whole bundle: one Delete payload per protocol (RFC 2408
 * §3.15), named by our inbound SPIs and CPI. */
static void send_delete_spis(struct v1_sa *v, uint8_t proto, uint32_t spi_in,
			     uint32_t ah_spi_in, uint16_t cpi_in)
{
	struct ikev1_out o;
	uint32_t esp = proto == IPPROTO_ESP ? spi_in : 0;
	uint32_t ah = proto == IPPROTO_AH ? spi_in : ah_spi_in;

	if (!v->e || ikev1_sa_state(v->e) != IKEV1_ESTABLISHED)
		return;
	if (ikev1_delete_bundle(v->e, esp, ah, cpi_in, &o) == 0 && o.pkt)
		send_pkt(v, o.pkt, o.len);
	ikev1_out_clear(&o);
}

static void send_delete_child(struct v1_sa *v, const struct v1_child *c)
{
	send_delete_spis(v, c->proto, c->spi_in, c->ah ? c->ah_spi_in : 0,
			 c->ipcomp ? c->cpi_in : 0);
}

static void life_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct v1_sa *v = arg;
	struct v1_child *c;

	(void)loop;
	(void)t;
	if (!v->established) {
		v1_kill(v, "negotiation time limit");
		return;
	}
	if (v->initiator && !v->reauth_started &&
	    ev_now_ms() + 1000 < v->expire_ms) {
		/* 90 % of the lifetime: re-authenticate (a new Main Mode);
		 * the timer fires again at the lifetime */
		const struct ike_remote *r =
		    cfg_remote_by_name(v->d->cfg, v->remote);
		const struct ike_policy *p =
		    cfg_policy_by_name(v->d->cfg, v->policy);
		struct v1_sa *n = NULL;
		char err[128];

		v->reauth_started = true;
		ev_timer_start(v->d->loop, &v->life,
			       v->expire_ms - ev_now_ms());
		if (!r || !p ||
		    phase1_start(v->d, r, p, &v->local, &v->peer, &n, err,
				 sizeof(err)) < 0) {
			log_warn(MOD,
				 "ISAKMP SA #%u: re-authentication not "
				 "started: %s",
				 v->id, r && p ? err : "remote or policy gone");
			return;
		}
		n->reauth_of = v->id;
		log_info(MOD, "ISAKMP SA #%u: re-authenticating as #%u", v->id,
			 n->id);
		return;
	}
	/* Phase 1 lifetime: Deletes for the CHILD SAs and the ISAKMP SA
	 * (a later ACQUIRE negotiates anew) */
	for (c = v->children; c; c = c->next)
		send_delete_child(v, c);
	send_delete_isakmp(v);
	v1_kill(v, "ISAKMP SA lifetime expired");
}

/*
 * The DPD timer (RFC 3706 §5.5: dpd_delay of silence, then dpd_retry
 * between unanswered R-U-THEREs) is a coarse timer (ev.h), as IKEv2's
 * (dpd.c): O(1) start and stop in the loop's wheel at any number of
 * ISAKMP SAs, the checks due within one EV_COARSE_MS slot sent in one
 * wakeup, at most EV_COARSE_MS late -- nothing RFC 3706 times finer.
 */
static void dpd_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct v1_sa *v = arg;
	const struct cfg_v1 *c1 = sa_conf(v);
	uint64_t now = ev_now_ms(), delay;
	struct ikev1_out o;

	(void)loop;
	(void)t;
	if (v->dead || !c1 || !c1->dpd_delay_sec)
		return;
	delay = c1->dpd_delay_sec * 1000ull;
	if (v->dpd_out) {
		if (++v->dpd_fails >= c1->dpd_max_fail) {
			v1_kill(v, "dead peer (DPD, RFC 3706)");
			return;
		}
	} else if (now - v->last_recv_ms < delay) {
		ev_timer_start_coarse(v->d->loop, &v->dpd,
				      delay - (now - v->last_recv_ms));
		return;
	}
	/* RFC 3706 §5.3: R-U-THERE after dpd_delay of silence */
	if (ikev1_dpd(v->e, &o) < 0) {
		ikev1_out_clear(&o);
		return; /* the peer did not send the DPD vendor ID */
	}
	v->dpd_out = true;
	send_pkt(v, o.pkt, o.len);
	ikev1_out_clear(&o);
	ev_timer_start_coarse(v->d->loop, &v->dpd, c1->dpd_retry_sec * 1000ull);
}

static void v1c_arm(struct v1_sa *v)
{
	uint64_t next = 0, now = ev_now_ms();
	struct v1_child *c;

	for (c = v->children; c; c = c->next) {
		if (c->rekey_ms && !c->rekeying &&
		    (!next || c->rekey_ms < next))
			next = c->rekey_ms;
		if (c->expire_ms && (!next || c->expire_ms < next))
			next = c->expire_ms;
	}
	if (next)
		ev_timer_start(v->d->loop, &v->child_timer,
			       next > now ? next - now : 0);
	else
		ev_timer_stop(v->d->loop, &v->child_timer);
}

/* A Quick Mode for policy p; with old, a rekey of that CHILD SA (RFC
 * 2409 §5.5 has no rekey exchange: a new Quick Mode whose CHILD SA, once
 * installed, replaces old, which is then deleted). */
static int quick_begin(struct v1_sa *v, const struct ike_policy *p,
		       const struct v1_child *old)
{
	struct ikev1_out o;
	int rc;

	conf_policy(v, p);
	rc = old ? ikev1_quick_rekey(v->e, old->spi_in, &o)
		 : ikev1_quick_start(v->e, &o);
	if (rc < 0) {
		log_warn(MOD, "ISAKMP SA #%u: Quick Mode for %s: %s", v->id,
			 p->name, strerror(-rc));
		ikev1_out_clear(&o);
		return rc;
	}
	if (old)
		log_info(MOD,
			 "ISAKMP SA #%u: Quick Mode for policy %s renews "
			 "CHILD SA #%u (SPIs in %08x out %08x)",
			 v->id, p->name, old->id, old->spi_in, old->spi_out);
	else
		log_info(MOD, "ISAKMP SA #%u: Quick Mode for policy %s", v->id,
			 p->name);
	v1_out(v, &o);
	return 0;
}

static int quick_start(struct v1_sa *v, const struct ike_policy *p)
{
	return quick_begin(v, p, NULL);
}

static void child_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct v1_sa *v = arg;
	uint64_t now = ev_now_ms();
	struct v1_child *c, *next;

	(void)loop;
	(void)t;
	for (c = v->children; c; c = next) {
		next = c->next;
		if (c->expire_ms && c->expire_ms <= now) {
			send_delete_child(v, c);
			v1c_remove(v, c, "lifetime expired");
			continue;
		}
		if (c->rekey_ms && c->rekey_ms <= now && !c->rekeying) {
			const struct ike_policy *p =
			    cfg_policy_by_name(v->d->cfg, c->policy);
			/* a new Quick Mode; the old SA goes when the new one
			 * is installed (v1c_install, ch->replaces) */
			c->rekeying = true;
			if (p)
				quick_begin(v, p, c);
		}
	}
	if (!v->dead)
		v1c_arm(v);
}

/* ---- results of the engine ---- */

/* A larval SA getspi made for (kproto, spi): the install updates it. */
static bool take_larval(struct v1_sa *v, uint8_t kproto, uint32_t spi)
{
	for (unsigned i = 0; i < v->n_larval; i++)
		if (v->larval[i] == spi && v->larval_proto[i] == kproto) {
			v->n_larval--;
			v->larval[i] = v->larval[v->n_larval];
			v->larval_proto[i] = v->larval_proto[v->n_larval];
			return true;
		}
	return false;
}

/* One SA of the bundle (ESP or AH; with comp, the IPComp SA beside it)
 * in direction in, through the kernel ops table. */
static int v1c_add(struct v1_sa *v, struct v1_child *c,
		   const struct ike_policy *p, uint8_t kproto, bool in,
		   uint32_t spi, uint16_t encr, uint16_t keybits,
		   uint16_t integ, const uint8_t *key, size_t enc_len,
		   size_t integ_len, bool larval, uint16_t cpi)
{
	struct iked *d = v->d;
	struct kaddr local, peer;
	struct ksa k;
	int rc;

	endpoints(v, &local, &peer);
	memset(&k, 0, sizeof(k));
	k.proto = kproto;
	k.spi = spi;
	k.src = in ? peer : local;
	k.dst = in ? local : peer;
	k.mode = KMODE_TUNNEL;
	k.reqid = c->reqid;
	k.encr_id = encr;
	k.encr_keybits = keybits;
	k.integ_id = integ;
	memcpy(k.enc_key, key, enc_len);
	k.enc_key_len = (uint16_t)enc_len;
	memcpy(k.auth_key, key + enc_len, integ_len);
	k.auth_key_len = (uint16_t)integ_len;
	k.replay_window = p && p->replay_window ? p->replay_window : 64;
	if (p && p->lifetime_bytes) {
		k.lft.hard_bytes = p->lifetime_bytes;
		k.lft.soft_bytes = p->lifetime_bytes / 10 * 8;
	}
	/* RFC 3948 §2.1: ESP in UDP between the NAT-T ports */
	if (c->udp_encap && kproto == IPPROTO_ESP) {
		k.encap.enabled = true;
		k.encap.sport = in ? v->peer.port : v->local.port;
		k.encap.dport = in ? v->local.port : v->peer.port;
	}
	k.update = larval;
	if (cpi) /* the IPComp SA of the pair (child.c does the same) */
		ksa_to_comp(&k, cpi, c->ipcomp);
	rc = k_sa_add(&d->kern, &k);
	ksa_wipe(&k);
	return rc;
}

/* Key export (iked -K): ESP SAs to esp_sa, AH SAs to ah_sa. */
static void v1c_keyexport(struct v1_sa *v, const struct v1_child *c,
			  const struct ikev1_child *ch, size_t enc_len,
			  size_t integ_len)
{
	struct iked *d = v->d;
	struct kaddr local, peer;
	FILE *f = c->proto == IPPROTO_AH ? d->keyexport_ah : d->keyexport_esp;

	endpoints(v, &local, &peer);
	if (f) {
		esp_uat_line(f, &peer, &local, c->spi_in, c->encr, ch->key_in,
			     enc_len, c->integ, ch->key_in + enc_len,
			     integ_len);
		esp_uat_line(f, &local, &peer, c->spi_out, c->encr, ch->key_out,
			     enc_len, c->integ, ch->key_out + enc_len,
			     integ_len);
	}
	if (c->ah && d->keyexport_ah) {
		esp_uat_line(d->keyexport_ah, &peer, &local, c->ah_spi_in, 0,
			     NULL, 0, c->ah_integ, ch->ah_key_in,
			     ch->ah_keylen);
		esp_uat_line(d->keyexport_ah, &local, &peer, c->ah_spi_out, 0,
			     NULL, 0, c->ah_integ, ch->ah_key_out,
			     ch->ah_keylen);
	}
}

/* Every SA of the bundle, both directions: ESP (or AH alone), AH beside
 * ESP, the IPComp pair.  0 or the backend's error (what was installed
 * is marked for v1c_uninstall). */
static int v1c_install_all(struct v1_sa *v, struct v1_child *c,
			   const struct ike_policy *p,
			   const struct ikev1_child *ch, size_t enc_len,
			   size_t integ_len, const bool larval[3])
{
	int rc = 0;

	for (int dir = 0; dir < 2 && !rc; dir++) {
		bool in = dir == 0;
		rc = v1c_add(v, c, p, c->proto, in, in ? c->spi_in : c->spi_out,
			     c->encr, c->keybits, c->integ,
			     in ? ch->key_in : ch->key_out, enc_len, integ_len,
			     in && larval[0], 0);
		if (!rc)
			*(in ? &c->in_installed : &c->out_installed) = true;
	}
	for (int dir = 0; dir < 2 && !rc && c->ah; dir++) {
		bool in = dir == 0;
		rc = v1c_add(v, c, p, IPPROTO_AH, in,
			     in ? c->ah_spi_in : c->ah_spi_out, 0, 0,
			     c->ah_integ, in ? ch->ah_key_in : ch->ah_key_out,
			     0, ch->ah_keylen, in && larval[1], 0);
		if (!rc)
			*(in ? &c->ah_in_installed : &c->ah_out_installed) =
			    true;
	}
	for (int dir = 0; dir < 2 && !rc && c->ipcomp; dir++) {
		static const uint8_t none[1];
		bool in = dir == 0;
		rc = v1c_add(v, c, p, IPPROTO_COMP, in, 0, 0, 0, 0, none, 0, 0,
			     in && larval[2], in ? c->cpi_in : c->cpi_out);
		if (!rc)
			*(in ? &c->cpi_in_installed : &c->cpi_out_installed) =
			    true;
	}
	return rc;
}

static void v1c_install(struct v1_sa *v, const struct ikev1_child *ch)
{
	struct iked *d = v->d;
	const struct ike_policy *p = cfg_policy_by_name(d->cfg, v->policy);
	size_t enc_len = ch->encr == IKEV2_ENCR_3DES ? 24
			 : ch->encr		     ? ch->keybits / 8u
						     : 0;
	size_t integ_len = ch->keylen > enc_len ? ch->keylen - enc_len : 0;
	struct kaddr local, peer;
	struct v1_child *c, *old, *next;
	bool larval[3];
	uint64_t life;
	int rc = -ENODEV;

	c = calloc(1, sizeof(*c));
	if (!c) {
		send_delete_spis(
		    v, ch->proto == ISAKMP_PROTO_AH ? IPPROTO_AH : IPPROTO_ESP,
		    ch->spi_in, ch->ah ? ch->ah_spi_in : 0, ch->cpi_in);
		return;
	}
	c->id = ++d->next_child_id;
	snprintf(c->policy, sizeof(c->policy), "%s", v->policy);
	c->reqid = v->reqid;
	c->proto = ch->proto == ISAKMP_PROTO_AH ? IPPROTO_AH : IPPROTO_ESP;
	c->spi_in = ch->spi_in;
	c->spi_out = ch->spi_out;
	c->encr = ch->encr;
	c->keybits = ch->keybits;
	c->integ = ch->integ;
	c->ah = ch->ah;
	c->ah_spi_in = ch->ah_spi_in;
	c->ah_spi_out = ch->ah_spi_out;
	c->ah_integ = ch->ah_integ;
	/* RFC 2407 §4.4.5 and RFC 7296 §3.10.1 number DEFLATE alike */
	c->ipcomp =
	    ch->ipcomp == ISAKMP_IPCOMP_DEFLATE ? IKEV2_IPCOMP_DEFLATE : 0;
	c->cpi_in = ch->cpi_in;
	c->cpi_out = ch->cpi_out;
	c->pfs = ch->pfs;
	c->udp_encap = ch->udp_encap;
	ksel_side(&c->ts_local, &ch->ts_local, true);
	ksel_side(&c->ts_remote, &ch->ts_remote, false);
	c->created_ms = ev_now_ms();
	/* larval SAs: removed on failure (marked installed) */
	larval[0] = take_larval(v, c->proto, c->spi_in);
	larval[1] = c->ah && take_larval(v, IPPROTO_AH, c->ah_spi_in);
	larval[2] = c->ipcomp && take_larval(v, IPPROTO_COMP, c->cpi_in);
	c->in_installed = larval[0];
	c->ah_in_installed = larval[1];
	c->cpi_in_installed = larval[2];
	c->next = v->children;
	v->children = c;

	endpoints(v, &local, &peer);
	/* a road warrior (peers_sa_ipaddr IP_RW): the responder adds the
	 * policies for the peer's IDci through spmd, as IKEv2 does (rw.h) */
	if (!v->initiator && p && p->peer_sa_rw) {
		char err[160] = "";
		rc = rw_v1_bind(d, v->id, c->id, p, &c->ts_local, &c->ts_remote,
				&local, &peer, &c->reqid, err, sizeof(err));
		if (rc < 0) {
			log_err(MOD,
				"CHILD SA #%u (%s): dynamic policy: %s%s%s",
				c->id, c->policy, strerror(-rc),
				err[0] ? ": " : "", err);
			send_delete_child(v, c);
			v1c_remove(v, c, "no dynamic policy");
			return;
		}
		log_info(MOD, "CHILD SA #%u (%s): dynamic policy (reqid %u)",
			 c->id, c->policy, c->reqid);
	}
	v1c_keyexport(v, c, ch, enc_len, integ_len);
	rc = d->kern_open
		 ? v1c_install_all(v, c, p, ch, enc_len, integ_len, larval)
		 : -ENODEV;
	if (rc < 0) {
		snprintf(c->install_err, sizeof(c->install_err), "%s",
			 d->kern_open ? d->kern.last_error
				      : "no kernel backend");
		log_err(MOD,
			"CHILD SA #%u (%s): unable to install inbound and "
			"outbound IPsec SA in the kernel: %s",
			c->id, c->policy, c->install_err);
		send_delete_child(v, c);
		v1c_remove(v, c, "install failed");
		return;
	}
	life = ch->life_sec ? ch->life_sec : V1_CHILD_LIFE;
	c->expire_ms = c->created_ms + life * 1000ull;
	/* the initiator of its Quick Mode renews it at the engine's soft
	 * lifetime (85-90 %); the responder's SA outlives it */
	c->ours = ch->soft_sec != 0;
	if (c->ours)
		c->rekey_ms = c->created_ms + ch->soft_sec * 1000ull;
	else /* the peer's: we renew it only if the peer did not (95 %) */
		c->rekey_ms = c->created_ms + life * 950ull;
	{
		char b1[64], b2[64];
		if (c->ah)
			log_info(MOD,
				 "CHILD SA #%u (%s): AH %s SPIs in %08x out "
				 "%08x",
				 c->id, c->policy,
				 crypto_integ_name(c->ah_integ), c->ah_spi_in,
				 c->ah_spi_out);
		if (c->ipcomp)
			log_info(MOD,
				 "CHILD SA #%u (%s): IPComp DEFLATE CPIs in "
				 "%04x out %04x",
				 c->id, c->policy, c->cpi_in, c->cpi_out);
		log_info(
		    MOD,
		    "CHILD SA #%u (%s) installed: tunnel %s %s-%u/%s SPIs "
		    "in %08x out %08x, %s/%u === %s/%u%s%s",
		    c->id, c->policy, c->proto == IPPROTO_AH ? "AH" : "ESP",
		    /* AH (RFC 4302) has integrity only */
		    c->proto == IPPROTO_AH ? "none" : crypto_encr_name(c->encr),
		    c->keybits, crypto_integ_name(c->integ), c->spi_in,
		    c->spi_out, kaddr_str(&c->ts_local.src, b1, sizeof(b1)),
		    c->ts_local.src_plen,
		    kaddr_str(&c->ts_remote.dst, b2, sizeof(b2)),
		    c->ts_remote.dst_plen, c->pfs ? ", PFS" : "",
		    c->udp_encap ? ", UDP-encapsulated" : "");
	}
	/* a renewed SA replaces the one it names (our rekey) or, for a
	 * Quick Mode an ACQUIRE started meanwhile, the one rekeying for the
	 * same policy: Delete it (RFC 2409 §5.5, §5.7) */
	for (old = v->children; old; old = next) {
		next = old->next;
		if (old != c &&
		    (ch->replaces ? old->spi_in == ch->replaces
				  : old->rekeying &&
					strcmp(old->policy, c->policy) == 0)) {
			send_delete_child(v, old);
			v1c_remove(v, old, "replaced by a new Quick Mode");
		} else if (old != c && !ch->replaces && !c->ours &&
			   strcmp(old->policy, c->policy) == 0 &&
			   !old->rekeying) {
			/* the peer's Quick Mode renewed it (IKEv1 has no
			 * REKEY_SA): no renewal of ours; it goes with the
			 * peer's Delete or at its lifetime */
			old->rekeying = true;
			log_info(MOD, "CHILD SA #%u renewed by the peer as #%u",
				 old->id, c->id);
		}
	}
	v1c_arm(v);
	reauth_done(v);
}

static struct v1_sa *sa_by_id(struct iked *d, uint32_t id)
{
	struct v1_sa *x;

	for (x = d->v1sas; x; x = x->next)
		if (x->id == id && !x->dead)
			return x;
	return NULL;
}

/* A re-authenticating SA is established: it takes the old one's CHILD
 * SAs (same endpoints) and renews each policy's by a Quick Mode; the
 * old SA goes once none is left to renew (reauth_done). */
static void reauth_takeover(struct v1_sa *v)
{
	struct v1_sa *old = sa_by_id(v->d, v->reauth_of);
	struct v1_child *c, **tail;

	if (!old)
		return;
	for (tail = &v->children; *tail; tail = &(*tail)->next)
		;
	*tail = old->children;
	old->children = NULL;
	ev_timer_stop(v->d->loop, &old->child_timer);
	for (c = v->children; c; c = c->next) {
		const struct ike_policy *p;
		struct v1_child *o;
		bool dup = false;

		if (c->rekeying)
			continue;
		for (o = v->children; o != c; o = o->next)
			dup |= o->rekeying && !strcmp(o->policy, c->policy);
		c->rekeying = true;
		p = cfg_policy_by_name(v->d->cfg, c->policy);
		if (!dup && p)
			quick_begin(v, p, NULL);
	}
}

/* The old SA of a re-authentication Deleted once every CHILD SA it
 * handed over is renewed (v1c_install replaced them) or gone. */
static void reauth_done(struct v1_sa *v)
{
	struct v1_sa *old;
	struct v1_child *c;

	if (!v->reauth_of)
		return;
	for (c = v->children; c; c = c->next)
		if (c->rekeying)
			return;
	old = sa_by_id(v->d, v->reauth_of);
	v->reauth_of = 0;
	if (!old)
		return;
	send_delete_isakmp(old);
	v1_kill(old, "re-authenticated");
}

static void established(struct v1_sa *v)
{
	const struct cfg_v1 *c1 = sa_conf(v);
	const struct ikev1_keys *k = ikev1_sa_keys(v->e);
	uint64_t ci, cr;

	v->established = true;
	v->established_ms = ev_now_ms();
	ikev1_sa_cookies(v->e, &ci, &cr);
	log_info(MOD,
		 "ISAKMP SA #%u (%s) established with %s: cookies "
		 "%016llx/%016llx %s-%u/%s%s",
		 v->id, v->remote, kaddr_str(&v->peer.addr, (char[64]){0}, 64),
		 (unsigned long long)ci, (unsigned long long)cr,
		 crypto_encr_name(k->encr), k->keybits, crypto_prf_name(k->prf),
		 v->natt ? ", NAT-T" : "");
	/* Wireshark's ikev1_decryption_table: "icookie","enc key" */
	if (v->d->keyexport_v1) {
		fprintf(v->d->keyexport_v1, "%016llx,", (unsigned long long)ci);
		hex_fput(v->d->keyexport_v1, k->enc_key, k->keybits / 8u);
		fprintf(v->d->keyexport_v1, "\n");
		fflush(v->d->keyexport_v1);
	}
	ev_timer_stop(v->d->loop, &v->life);
	if (c1) {
		v->expire_ms = v->established_ms + c1->lifetime_sec * 1000ull;
		ev_timer_start(v->d->loop, &v->life,
			       c1->lifetime_sec *
				   (v->initiator ? 900ull : 1000ull));
		if (c1->dpd_delay_sec)
			ev_timer_start_coarse(v->d->loop, &v->dpd,
					      c1->dpd_delay_sec * 1000ull);
	}
}

/* The CHILD SA one of whose SAs the peer's Delete names (ISAKMP
 * protocol, our outbound SPI or CPI): the bundle goes whole. */
static struct v1_child *child_by_out(struct v1_sa *v, uint8_t proto,
				     uint32_t spi_out)
{
	struct v1_child *c;

	for (c = v->children; c; c = c->next)
		if ((proto == ISAKMP_PROTO_ESP && c->proto == IPPROTO_ESP &&
		     c->spi_out == spi_out) ||
		    (proto == ISAKMP_PROTO_AH &&
		     ((c->proto == IPPROTO_AH && c->spi_out == spi_out) ||
		      (c->ah && c->ah_spi_out == spi_out))) ||
		    (proto == ISAKMP_PROTO_IPCOMP && c->ipcomp &&
		     c->cpi_out == spi_out))
			return c;
	return NULL;
}

static void v1_out(struct v1_sa *v, struct ikev1_out *o)
{
	bool sent = false;

	if (o->float_4500 && !v->natt) {
		/* RFC 3947 §4: from now on port 4500, non-ESP marker */
		v->natt = true;
		v->local.port = net_local_port(v->d, &v->local.addr, true);
		if (v->peer.port == IKE_PORT)
			v->peer.port = IKE_NATT_PORT;
	}
	if (o->pkt) {
		send_pkt(v, o->pkt, o->len);
		/* the retransmission timer restarts for a Phase 1 or Quick
		 * Mode message only: an Informational (DPD ACK, Delete) must
		 * not keep postponing the resend of an unanswered Quick Mode */
		sent = o->len > 18 && o->pkt[18] != ISAKMP_EXCH_INFO;
	}
	if (o->established && !v->established) {
		/* we initiated Aggressive Mode: o->pkt is its third message */
		v->am3_unheard = v->initiator && v->aggressive && o->pkt;
		established(v);
		if (v->reauth_of)
			reauth_takeover(v);
	}
	if (o->child_ready)
		v1c_install(v, &o->child);
	if (o->initial_contact) {
		/* RFC 2407 §4.6.3.3: the peer (authenticated in this
		 * Phase 1) has no other SA with us: ours are stale */
		struct v1_sa *x;
		for (x = v->d->v1sas; x; x = x->next)
			if (x != v && !x->dead &&
			    kaddr_eq(&x->peer.addr, &v->peer.addr)) {
				log_info(MOD,
					 "ISAKMP SA #%u: INITIAL-CONTACT from "
					 "the peer of #%u: stale SAs removed",
					 v->id, x->id);
				v1_kill(x, "INITIAL-CONTACT from the peer");
			}
	}
	if (o->dpd_ack) {
		const struct cfg_v1 *c1 = sa_conf(v);

		v->dpd_out = false;
		v->dpd_fails = 0;
		if (c1 && c1->dpd_delay_sec)
			ev_timer_start_coarse(v->d->loop, &v->dpd,
					      c1->dpd_delay_sec * 1000ull);
	}
	if (o->deleted_proto == ISAKMP_PROTO_ESP ||
	    o->deleted_proto == ISAKMP_PROTO_AH ||
	    o->deleted_proto == ISAKMP_PROTO_IPCOMP) {
		struct v1_child *c =
		    child_by_out(v, o->deleted_proto, o->deleted_spi);
		if (c)
			v1c_remove(v, c, "deleted by the peer");
		v1c_arm(v);
	}
	if (o->deleted_proto == ISAKMP_PROTO_ISAKMP) {
		ikev1_out_clear(o);
		v1_kill(v, "deleted by the peer");
		return;
	}
	ikev1_out_clear(o);
	if (sent)
		rtx_arm(v);
	if (v->established && v->qm_queued) {
		const struct ike_policy *p =
		    cfg_policy_by_name(v->d->cfg, v->policy);
		v->qm_queued = false;
		if (p)
			quick_start(v, p);
	}
}

/* ---- input ---- */

/* cfg.h */
const struct ike_remote *cfg_v1_remote_by_addr(const struct ike_cfg *cfg,
					       const struct kaddr *peer)
{
	const struct ike_remote *any = NULL, *def = NULL;
	size_t i;

	for (i = 0; i < cfg->nremote; i++) {
		const struct ike_remote *r = &cfg->remote[i];
		if (!r->ikev1 || !r->v1)
			continue;
		if (r->is_default)
			def = r;
		else if (!r->v1->peer_any && kaddr_eq(&r->v1->peer_addr, peer))
			return r;
		else if (r->v1->peer_any && !any)
			any = r; /* IP_RW / IP_ANY */
	}
	return any ? any : def;
}

bool cfg_has_ikev1(const struct ike_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nremote; i++)
		if (cfg->remote[i].ikev1)
			return true;
	return false;
}

static struct v1_sa *sa_find(struct iked *d, uint64_t ci, uint64_t cr,
			     const struct ike_ep *peer)
{
	struct v1_sa *v;

	for (v = d->v1sas; v; v = v->next) {
		uint64_t i, r;
		if (v->dead || !v->e)
			continue;
		ikev1_sa_cookies(v->e, &i, &r);
		if (i != ci)
			continue;
		if (cr && (r == cr || (!r && v->initiator)))
			return v;
		/* a Main Mode 1 again: the responder we made for it */
		if (!cr && !v->initiator &&
		    kaddr_eq(&v->peer.addr, &peer->addr))
			return v;
	}
	return NULL;
}

static unsigned half_open(const struct iked *d)
{
	const struct v1_sa *v;
	unsigned n = 0;

	for (v = d->v1sas; v; v = v->next)
		n += !v->dead && !v->established;
	return n;
}

static void responder_new(struct iked *d, const struct ike_ep *local,
			  const struct ike_ep *peer, bool natt,
			  const uint8_t *pkt, size_t len)
{
	const struct ike_remote *r = cfg_v1_remote_by_addr(d->cfg, &peer->addr);
	const struct ike_policy *p;
	struct sockaddr_storage sl, sp;
	struct isakmp_msg m;
	struct ikev1_out o;
	struct v1_sa *v;
	socklen_t len1;
	char pb[80];
	int rc;

	if (!r) {
		log_rl_warn(MOD, "IKEv1 from %s: no remote accepts ikev1 there",
			    ike_ep_str(peer, pb, sizeof(pb)));
		return;
	}
	if (half_open(d) >= V1_HALF_OPEN_MAX) {
		log_rl_warn(MOD,
			    "IKEv1 from %s dropped: %u ISAKMP SAs in "
			    "negotiation",
			    ike_ep_str(peer, pb, sizeof(pb)), V1_HALF_OPEN_MAX);
		return;
	}
	rc = isakmp_msg_parse(pkt, len, &m);
	/* RFC 2409 §5: only a Main Mode or Aggressive Mode message 1
	 * starts an ISAKMP SA (Aggressive only where exchange_mode lists
	 * it: the engine refuses it otherwise) */
	if (rc != 0 || (m.hdr.exch != ISAKMP_EXCH_IDPROT &&
			m.hdr.exch != ISAKMP_EXCH_AGGRESSIVE)) {
		log_rl_warn(MOD,
			    "IKEv1 from %s: not a Main/Aggressive Mode 1, "
			    "dropped",
			    ike_ep_str(peer, pb, sizeof(pb)));
		return;
	}
	p = cfg_policy_for_remote(d->cfg, r->name, NULL);
	v = sa_new(d, r, p, false, local, peer, natt);
	if (!v)
		return;
	v->aggressive = m.hdr.exch == ISAKMP_EXCH_AGGRESSIVE;
	ike_ep_to_ss(local, &sl, &len1);
	ike_ep_to_ss(peer, &sp, &len1);
	rc = ikev1_sa_new_responder_at(&v->conf, &m, (struct sockaddr *)&sl,
				       (struct sockaddr *)&sp, &v->e, &o);
	if (rc != 0) {
		log_rl_warn(MOD, "IKEv1 Main Mode from %s refused (%d)",
			    ike_ep_str(peer, pb, sizeof(pb)), rc);
		v1_kill(v, "first message refused");
		return;
	}
	ikev1_sa_set_addrs(v->e, (struct sockaddr *)&sl,
			   (struct sockaddr *)&sp);
	v->bytes_in += len;
	log_info(MOD, "ISAKMP SA #%u (%s): %s Mode from %s", v->id, r->name,
		 v->aggressive ? "Aggressive" : "Main",
		 ike_ep_str(peer, pb, sizeof(pb)));
	v1_out(v, &o);
}

/* The responder's Quick Mode IDs must be one of the remote's policies
 * (the engine compares them with conf.ts_*): a refused QM1 is tried with
 * the remote's other policies (the engine leaves the SA as it was). */
static int input_other_policies(struct v1_sa *v, const uint8_t *pkt, size_t len,
				struct ikev1_out *o)
{
	char keep[CFG_NAME_MAX];
	const struct ike_policy *p;
	size_t it = 0;
	int rc = -EBADMSG;

	snprintf(keep, sizeof(keep), "%s", v->policy);
	while ((p = cfg_policy_for_remote(v->d->cfg, v->remote, &it))) {
		if (strcmp(p->name, keep) == 0 || !p->v1)
			continue;
		conf_policy(v, p);
		rc = ikev1_input(v->e, pkt, len, o);
		if (rc == 0)
			return 0;
	}
	p = cfg_policy_by_name(v->d->cfg, keep);
	if (p)
		conf_policy(v, p);
	return rc;
}

void v1_input(struct iked *d, const struct ike_ep *local,
	      const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	      size_t len)
{
	struct rd r = rd_init(pkt, len);
	uint64_t ci, cr;
	struct ikev1_out o;
	struct v1_sa *v;
	uint8_t exch;
	char pb[80];
	int rc;

	/* RFC 2408 §3.1: cookies first, the exchange type at octet 18 */
	if (rd_u64(&r, &ci) < 0 || rd_u64(&r, &cr) < 0 || rd_skip(&r, 2) < 0 ||
	    rd_u8(&r, &exch) < 0)
		return;
	v = sa_find(d, ci, cr, peer);
	if (!v) {
		if (cr) {
			log_rl_warn(MOD,
				    "IKEv1 from %s for unknown cookies "
				    "%016llx/%016llx",
				    ike_ep_str(peer, pb, sizeof(pb)),
				    (unsigned long long)ci,
				    (unsigned long long)cr);
			return;
		}
		responder_new(d, local, peer, natt, pkt, len);
		return;
	}
	rc = ikev1_input(v->e, pkt, len, &o);
	/* only an authenticated QM1 whose IDs or proposal are not this
	 * policy's is tried again (a forgery or replay is decrypted, and
	 * counted, once) */
	if (rc == -ENOENT && exch == ISAKMP_EXCH_QUICK && !v->initiator)
		rc = input_other_policies(v, pkt, len, &o);
	if (rc < 0) {
		log_rl_warn(MOD, "ISAKMP SA #%u: message from %s dropped (%s)",
			    v->id, ike_ep_str(peer, pb, sizeof(pb)),
			    strerror(-rc));
		return;
	}
	v->bytes_in += len;
	v->last_recv_ms = ev_now_ms();
	/* the peer went on after our Aggressive Mode 3 (a repeat of its
	 * Aggressive Mode 2 says it did not) */
	if (exch != ISAKMP_EXCH_AGGRESSIVE)
		v->am3_unheard = false;
	/* The peer's address and port from an authenticated message only
	 * (RFC 3947 §4: it floated to 4500, or a NAT mapping changed). */
	if (ikev1_sa_state(v->e) == IKEV1_ESTABLISHED &&
	    (natt != v->natt || !kaddr_eq(&peer->addr, &v->peer.addr) ||
	     peer->port != v->peer.port)) {
		if (natt) {
			v->natt = true;
			v->local.port =
			    local->port ? local->port : IKE_NATT_PORT;
			v->peer = *peer;
		}
	}
	v1_out(v, &o);
}

/* ---- initiation, expiry, shutdown, ikedctl ---- */

int v1_initiate(struct iked *d, const struct ike_remote *r,
		const struct ike_policy *p, uint32_t reqid, char *err,
		size_t errlen)
{
	const struct cfg_v1 *c1 = r->v1;
	struct ike_ep local, peer;
	struct ikev1_out o;
	struct v1_sa *v;
	struct v1_child *c;
	char b[80];
	int rc;

	if (!r->ikev1 || !c1) {
		snprintf(err, errlen, "remote %s does not accept ikev1",
			 r->name);
		return -ENOENT;
	}
	if (!p || !p->v1) {
		snprintf(err, errlen, "remote %s: no IKEv1 policy", r->name);
		return -ENOENT;
	}
	if (c1->passive) {
		snprintf(err, errlen, "remote %s is passive", r->name);
		return -EPERM;
	}
	for (v = d->v1sas; v; v = v->next) {
		if (v->dead || strcmp(v->remote, r->name) != 0)
			continue;
		for (c = v->children; c; c = c->next)
			if (strcmp(c->policy, p->name) == 0 && !c->rekeying)
				return 0; /* already there */
		if (!v->established) {
			/* one Quick Mode after Main Mode */
			if (!strcmp(v->policy, p->name))
				v->qm_queued = true;
			return 0;
		}
		if (ikev1_retransmit(v->e, &o) == 0) {
			ikev1_out_clear(&o);
			return 0; /* a Quick Mode is on its way */
		}
		rc = quick_start(v, p);
		if (rc == 0 && reqid)
			v->reqid = reqid;
		return rc;
	}
	if (c1->peer_any) {
		snprintf(err, errlen, "remote %s has no peers_ipaddr", r->name);
		return -EINVAL;
	}
	memset(&local, 0, sizeof(local));
	memset(&peer, 0, sizeof(peer));
	peer.addr = c1->peer_addr;
	peer.port = c1->peer_port	  ? c1->peer_port
		    : d->opts.target_port ? d->opts.target_port
					  : IKE_PORT;
	if (net_route_src(&peer.addr, &local.addr) < 0) {
		snprintf(err, errlen, "no route to %s",
			 kaddr_str(&peer.addr, b, sizeof(b)));
		return -EHOSTUNREACH;
	}
	local.port = net_local_port(d, &local.addr, peer.port == IKE_NATT_PORT);
	rc = phase1_start(d, r, p, &local, &peer, &v, err, errlen);
	if (rc < 0)
		return rc;
	if (reqid)
		v->reqid = reqid;
	v->qm_queued = true;
	return 0;
}

/* A new ISAKMP SA from local to peer, its first message sent. */
static int phase1_start(struct iked *d, const struct ike_remote *r,
			const struct ike_policy *p, const struct ike_ep *local,
			const struct ike_ep *peer, struct v1_sa **out,
			char *err, size_t errlen)
{
	struct ikev1_out o;
	struct v1_sa *v;
	char b[80];
	int rc;

	v = sa_new(d, r, p, true, local, peer, peer->port == IKE_NATT_PORT);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->aggressive = r->v1->aggressive_initiate;
	rc = ikev1_sa_new_initiator(&v->conf, &v->e, &o);
	if (rc < 0) {
		snprintf(err, errlen, "IKEv1 initiator: %s", strerror(-rc));
		v1_kill(v, "cannot start Main Mode");
		return rc;
	}
	{
		struct sockaddr_storage sl, sp;
		socklen_t l;
		ike_ep_to_ss(local, &sl, &l);
		ike_ep_to_ss(peer, &sp, &l);
		ikev1_sa_set_addrs(v->e, (struct sockaddr *)&sl,
				   (struct sockaddr *)&sp);
	}
	log_info(MOD, "ISAKMP SA #%u: %s Mode to %s (%s) for policy %s", v->id,
		 v->aggressive ? "Aggressive" : "Main", r->name,
		 ike_ep_str(peer, b, sizeof(b)), p->name);
	*out = v;
	v1_out(v, &o);
	return 0;
}

bool v1_kernel_expire(struct iked *d, uint32_t spi, bool hard)
{
	struct v1_sa *v;
	struct v1_child *c;

	for (v = d->v1sas; v; v = v->next)
		for (c = v->children; c; c = c->next)
			if (c->spi_in == spi || c->spi_out == spi ||
			    (c->ah &&
			     (c->ah_spi_in == spi || c->ah_spi_out == spi))) {
				if (hard) {
					send_delete_child(v, c);
					v1c_remove(v, c, "kernel hard expire");
				} else if (c->ours && !c->rekeying) {
					c->rekey_ms = ev_now_ms();
					v1c_arm(v);
				}
				return true;
			}
	return false;
}

int v1_delete_id(struct iked *d, uint32_t id, bool child)
{
	struct v1_sa *v;
	struct v1_child *c;

	for (v = d->v1sas; v; v = v->next) {
		if (v->dead)
			continue;
		if (!child && v->id == id) {
			for (c = v->children; c; c = c->next)
				send_delete_child(v, c);
			send_delete_isakmp(v);
			v1_kill(v, "deleted by ikedctl");
			return 0;
		}
		for (c = v->children; c && child; c = c->next)
			if (c->id == id) {
				send_delete_child(v, c);
				v1c_remove(v, c, "deleted by ikedctl");
				v1c_arm(v);
				return 0;
			}
	}
	return -ENOENT;
}

void v1_shutdown(struct iked *d)
{
	struct v1_sa *v;
	struct v1_child *c;

	for (v = d->v1sas; v; v = v->next) {
		if (v->dead)
			continue;
		for (c = v->children; c; c = c->next)
			send_delete_child(v, c);
		send_delete_isakmp(v);
		v1_kill(v, "shutdown");
	}
	v1_reap(d);
}

unsigned v1_count(const struct iked *d, bool established_only)
{
	const struct v1_sa *v;
	unsigned n = 0;

	for (v = d->v1sas; v; v = v->next)
		if (!v->dead && (!established_only || v->established))
			n++;
	return n;
}
