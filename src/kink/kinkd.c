/*
 * kinkd.c - the KINK daemon (RFC 4430): registers with spmd as the KINK
 * key manager, answers ACQUIREs with CREATE, responds to CREATE, ACK,
 * DELETE and STATUS, and installs the SA bundles (ESP, AH, IPComp) it
 * negotiates through the kernel ops table (XFRM or the userspace data
 * plane).  The wire format is kink_msg.c and src/isakmp (bundles:
 * isakmp/bundle.c via kink_prop.c), Kerberos is krb.c.  See
 * ARCHITECTURE.md and kinkd(8).
 */
#include "kink/kinkd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <krb5/krb5.h>
#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "isakmp/isakmp.h"
#include "kernel/esp_uat.h"
#include "kink/kink_msg.h"
#include "kink/kink_prop.h"
#include "kink/kink_qm.h"
#include "kink/krb.h"
#include "lib/ctlsrv.h"
#include "lib/log.h"
#include "lib/wr.h"
#include "lib/notify.h"
#include "lib/paths.h"
#include "lib/pidfile.h"
#include "kink/kink_migrate.h"
#include "spm/spmif_client.h"
#include "lib/util.h"

#define MOD		"kinkd"
#define REPLY_KEEP_MS	60000 /* reply cache lifetime per XID */
#define KINKD_MAX_XF	8
#define SPMD_TIMEOUT_MS 3000 /* blocking spmif requests (REQID) */

/* ---- small helpers ---- */

static void sa_to_kaddr(const struct sockaddr_storage *ss, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->af = AF_INET;
		a->u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	} else if (ss->ss_family == AF_INET6) {
		a->af = AF_INET6;
		a->u.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	}
}

static socklen_t kaddr_to_sa(const struct kaddr *a, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_addr = a->u.v4;
		s->sin_port = htons(port);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = a->u.v6;
	s6->sin6_port = htons(port);
	return sizeof(*s6);
}

static bool sa_eq(const struct sockaddr_storage *a, socklen_t al,
		  const struct sockaddr_storage *b, socklen_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

/* The local address the kernel would use towards dst. */
static int local_addr_for(const struct kaddr *dst, struct kaddr *out)
{
	struct sockaddr_storage ss, me;
	socklen_t l = kaddr_to_sa(dst, 9, &ss), ml = sizeof(me);
	int fd = socket(dst->af, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, l) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &ml) == 0) {
		sa_to_kaddr(&me, out);
		rc = 0;
	}
	close(fd);
	return rc;
}

/* need_pfs (RFC 4430 §4.2, RFC 2409 §5.5): the PFS group of a kink
 * block, its first usable kmp_dh_group or MODP 2048; 0 without need_pfs. */
static size_t dh_groups(const struct conf_kmp_params *kp, uint16_t *g,
			size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < kp->kmp_dh_group.n && n < max; i++) {
		const struct conf_alg_info *ai =
		    conf_alg_info(kp->kmp_dh_group.v[i].alg);
		if (ai && ai->dh_id && crypto_dh_lookup(ai->dh_id))
			g[n++] = ai->dh_id;
	}
	return n;
}

static uint16_t pfs_group(const struct conf_kmp_params *kp)
{
	uint16_t g[1];

	if (!kp->need_pfs)
		return 0;
	return dh_groups(kp, g, 1) ? g[0] : KINK_PFS_DEFAULT_GROUP;
}

/* IDci/IDcr of an outbound selector (RFC 2409 §5.5, RFC 2407 §4.6.2):
 * its source is ours, its destination the peer's. */
static int sel_ids(const struct conf_selector *s, struct isakmp_id *mine,
		   struct isakmp_id *peers)
{
	uint8_t proto;

	if (!s || s->direction != CONF_DIR_OUTBOUND ||
	    s->src.kind != CONF_ADDR_IP || s->dst.kind != CONF_ADDR_IP ||
	    s->src.af != s->dst.af)
		return -EINVAL;
	proto = s->upper_layer_protocol == CONF_PROTO_ANY
		    ? 0
		    : (uint8_t)s->upper_layer_protocol;
	if (isakmp_id_from_prefix(mine, s->src.af, s->src.u.b, s->src.plen,
				  proto, s->src.port) < 0 ||
	    isakmp_id_from_prefix(peers, s->dst.af, s->dst.u.b, s->dst.plen,
				  proto, s->dst.port) < 0)
		return -EINVAL;
	return 0;
}

static int policy_ids(const struct conf_policy *p, struct isakmp_id *mine,
		      struct isakmp_id *peers)
{
	for (size_t i = 0; p && i < p->nselectors; i++)
		if (sel_ids(p->selectors[i], mine, peers) == 0)
			return 0;
	return -ENOENT;
}

/* ---- peers, children ---- */

static uint16_t peer_port(const struct kinkd *d, const struct conf_addr *a)
{
	if (a->has_port && a->port != CONF_PORT_ANY && a->port)
		return a->port;
	return d->port;
}

static struct kpeer *peer_for_remote(struct kinkd *d,
				     const struct conf_remote *r)
{
	const struct conf_kmp_params *kp = &r->kink;
	struct kpeer *p;
	struct kaddr ka;

	for (p = d->peers; p; p = p->next)
		if (p->r == r)
			return p;
	if (!kp->peers_ipaddr.n || kp->peers_ipaddr.v[0].kind != CONF_ADDR_IP)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->r = r;
	p->kp = kp;
	memset(&ka, 0, sizeof(ka));
	ka.af = kp->peers_ipaddr.v[0].af;
	memcpy(ka.u.b, kp->peers_ipaddr.v[0].u.b, 16);
	p->alen =
	    kaddr_to_sa(&ka, peer_port(d, &kp->peers_ipaddr.v[0]), &p->addr);
	p->next = d->peers;
	d->peers = p;
	return p;
}

static struct kpeer *peer_for_addr(struct kinkd *d,
				   const struct sockaddr_storage *from)
{
	const struct conf_remote *r = conf_remote_by_addr(
	    d->conf, CONF_KMP_KINK, (const struct sockaddr *)from);

	if (!r || !r->kink.present)
		return NULL;
	return peer_for_remote(d, r);
}

/* Every SA of the bundle goes (IPComp's too: it has no DELETE of its
 * own); the inbound ones even when larval. */
static void child_remove(struct kinkd *d, struct kchild *c)
{
	struct kchild **pp;
	char a[64];

	for (unsigned i = 0; i < c->nsa; i++) {
		const struct kchild_sa *s = &c->sa[i];
		if (s->spi_in)
			k_sa_del(&d->kern, s->proto, &c->local, s->spi_in);
		if (s->out_installed)
			k_sa_del(&d->kern, s->proto, &c->remote, s->spi_out);
	}
	log_info(MOD, "SAs with %s removed (%s in 0x%08x out 0x%08x%s)",
		 kaddr_str(&c->remote, a, sizeof(a)),
		 kink_proto_name(c->sa[0].proto), c->sa[0].spi_in,
		 c->sa[0].spi_out, c->nsa > 1 ? ", bundle" : "");
	for (pp = &d->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

/* c has an SA (either direction) of proto with that SPI (0: any proto). */
static bool child_has_spi(const struct kchild *c, uint8_t proto, uint32_t spi)
{
	for (unsigned i = 0; i < c->nsa; i++)
		if ((!proto || c->sa[i].proto == proto) &&
		    (c->sa[i].spi_in == spi || c->sa[i].spi_out == spi))
			return true;
	return false;
}

/* RFC 4430 §4.2 (epoch): a peer whose epoch changed has rebooted and
 * lost its SAs; ours with it are useless. */
static void peer_epoch(struct kinkd *d, struct kpeer *p, uint32_t epoch)
{
	if (p->epoch_known && p->epoch != epoch) {
		log_notice(MOD,
			   "peer %s rebooted (epoch %u -> %u): removing "
			   "its SAs",
			   p->r->name, p->epoch, epoch);
		for (struct kchild *c = d->children, *n; c; c = n) {
			n = c->next;
			if (c->peer == p)
				child_remove(d, c);
		}
	}
	p->epoch = epoch;
	p->epoch_known = true;
	p->heard_ms = ev_now_ms();
}

/* An AP_REQ for peer p: User-to-User once we hold its TGT (RFC 4430
 * §4.3), else with a ticket in its long-term key. */
static int peer_mk_req(struct kinkd *d, struct kpeer *p, struct kink_auth **a,
		       uint8_t **req, size_t *len)
{
	if (p->tgt)
		return kink_krb_mk_req_u2u(d->krb, p->kp->peers_principal,
					   p->tgt, p->tgt_len, a, req, len);
	return kink_krb_mk_req(d->krb, p->kp->peers_principal, a, req, len);
}

/* ---- sending ---- */

static int send_to(struct kinkd *d, const struct sockaddr_storage *to,
		   socklen_t tl, const uint8_t *p, size_t n)
{
	int fd = to->ss_family == AF_INET ? d->fd4 : d->fd6;

	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, p, n, 0, (const struct sockaddr *)to, tl) < 0) {
		log_rl_warn(MOD, "sendto: %s", strerror(errno));
		return -errno;
	}
	d->stats.tx++;
	return 0;
}

static int cb_enc(void *ctx, const uint8_t *in, size_t n, uint8_t **o,
		  size_t *on)
{
	return kink_auth_encrypt(ctx, in, n, o, on);
}

static int cb_mic(void *ctx, const uint8_t *in, size_t n, uint8_t **o,
		  size_t *on)
{
	return kink_auth_mic(ctx, in, n, o, on);
}

/* ---- keying material (RFC 2409 §5.5 with the Kerberos session key) ---- */

/* The PFS secret g(qm)^xy of an exchange (empty without PFS). */
struct gxy {
	uint8_t b[CRYPTO_MAX_DH_SECRET];
	size_t len;
};

/* The keys of SA s in one direction (spi: that direction's), RFC 2409
 * §5.5 with the Kerberos session key: KEYMAT per protocol and SPI; an
 * IPComp SA has none. */
static int keymat(struct kink_auth *a, const struct gxy *g,
		  const struct kchild_sa *s, uint32_t spi, const uint8_t *ni,
		  size_t ni_len, const uint8_t *nr, size_t nr_len,
		  struct ksa *sa)
{
	uint8_t seed[CRYPTO_MAX_DH_SECRET + 1 + 4 + 2 * ISAKMP_NONCE_MAX];
	uint8_t km[2 * KSA_MAX_KEY];
	uint16_t encr = s->encr_id, integ = s->integ_id;
	size_t el = s->proto == IPPROTO_ESP
			? crypto_encr_keymat_len(encr, s->encr_keybits)
			: 0,
	       al = 0, n = 0;
	const struct crypto_integ_alg *ia =
	    integ ? crypto_integ_lookup(integ) : NULL;
	int err;

	memset(sa, 0, sizeof(*sa));
	if (s->proto == IPPROTO_COMP) {
		sa->comp_id = s->comp_id;
		return 0;
	}
	if ((integ && !ia) || (s->proto == IPPROTO_AH && !ia))
		return -ENOTSUP;
	al = ia ? ia->key_len : 0;
	if (el > KSA_MAX_KEY || al > KSA_MAX_KEY || ni_len > ISAKMP_NONCE_MAX ||
	    nr_len > ISAKMP_NONCE_MAX ||
	    (s->proto == IPPROTO_ESP && encr != 11 && !el))
		return -ENOTSUP;
	/* RFC 2409 §5.5: prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b
	 * [| Nr_b]), SKEYID_d = the session key (RFC 4430 §4.2) */
	n = kink_keymat_seed(seed, sizeof(seed), g ? g->b : NULL,
			     g ? g->len : 0, kink_isakmp_proto(s->proto), spi,
			     ni, ni_len, nr, nr_len);
	if (!n)
		return -EINVAL;
	err = kink_auth_prf_plus(a, seed, n, km, el + al);
	mem_wipe(seed, n);
	if (!err) {
		memcpy(sa->enc_key, km, el);
		sa->enc_key_len = (uint16_t)el;
		memcpy(sa->auth_key, km + el, al);
		sa->auth_key_len = (uint16_t)al;
		if (s->proto == IPPROTO_ESP) {
			sa->encr_id = encr;
			sa->encr_keybits = s->encr_keybits;
		}
		sa->integ_id = integ;
	}
	mem_wipe(km, sizeof(km));
	return err;
}

/* The keys of every SA of c, inbound (in[]) and outbound (out[]). */
static int bundle_keys(struct kink_auth *a, const struct gxy *g,
		       const struct kchild *c, const uint8_t *ni, size_t ni_len,
		       const uint8_t *nr, size_t nr_len, struct ksa *in,
		       struct ksa *out)
{
	for (unsigned i = 0; i < c->nsa; i++) {
		const struct kchild_sa *s = &c->sa[i];
		if (keymat(a, g, s, s->spi_in, ni, ni_len, nr, nr_len, &in[i]) <
			0 ||
		    keymat(a, g, s, s->spi_out, ni, ni_len, nr, nr_len,
			   &out[i]) < 0)
			return -ENOTSUP;
	}
	return 0;
}

static void ksas_wipe(struct ksa *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ksa_wipe(&v[i]);
}

/* Install SA i of c in one direction (sa: its keys, wiped here). */
static int install(struct kinkd *d, struct kchild *c, unsigned i, bool inbound,
		   struct ksa *sa, uint32_t life)
{
	struct kchild_sa *s = &c->sa[i];
	char err_a[64];
	int rc;

	sa->proto = s->proto;
	sa->mode = c->mode;
	sa->reqid = c->reqid;
	sa->replay_window = inbound && s->proto != IPPROTO_COMP ? 64 : 0;
	sa->spi = inbound ? s->spi_in : s->spi_out;
	sa->src = inbound ? c->remote : c->local;
	sa->dst = inbound ? c->local : c->remote;
	sa->update = inbound; /* the larval SA of getspi */
	memset(&sa->lft, 0, sizeof(sa->lft));
	/* RFC 3173: an IPComp SA lives and dies with its bundle */
	if (life && s->proto != IPPROTO_COMP) {
		sa->lft.hard_add_sec = life;
		/* the initiator rekeys first (80%); the responder's soft
		 * limit (90%) only matters if the initiator is gone */
		sa->lft.soft_add_sec =
		    c->initiator ? life - life / 5 : life - life / 10;
	}
	rc = k_sa_add(&d->kern, sa);
	if (rc == 0 && s->proto != IPPROTO_COMP)
		esp_uat_ksa(s->proto == IPPROTO_AH ? d->keyexport_ah
						   : d->keyexport_esp,
			    sa);
	ksa_wipe(sa);
	if (rc < 0) {
		log_warn(MOD, "installing %s %s SA 0x%08x with %s: %s",
			 inbound ? "inbound" : "outbound",
			 kink_proto_name(s->proto), sa->spi,
			 kaddr_str(&c->remote, err_a, sizeof(err_a)),
			 d->kern.last_error);
		return rc;
	}
	if (inbound)
		s->in_installed = true;
	else
		s->out_installed = true;
	d->stats.sa_installed++;
	log_info(MOD, "%s %s SA 0x%08x installed",
		 inbound ? "inbound" : "outbound", kink_proto_name(s->proto),
		 inbound ? s->spi_in : s->spi_out);
	return 0;
}

/* Every SA of c in one direction (v[i]: SA i's keys, all wiped here). */
static int install_all(struct kinkd *d, struct kchild *c, bool inbound,
		       struct ksa *v, uint32_t life)
{
	int rc = 0;

	for (unsigned i = 0; i < c->nsa; i++)
		if (!rc)
			rc = install(d, c, i, inbound, &v[i], life);
		else
			ksa_wipe(&v[i]);
	return rc;
}

/* ---- initiator ---- */

static void send_delete(struct kinkd *d, struct kchild *c);

static void xchg_free(struct kinkd *d, struct kxchg *x)
{
	struct kxchg **pp;

	for (pp = &d->xchgs; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	ev_timer_stop(d->loop, &x->timer);
	kink_auth_free(x->auth);
	free(x->pkt);
	if (x->child) {
		/* a CREATE that never completed: drop the larval SAs (or
		 * the SAs of a REPLY that failed half-way) */
		struct kchild *c = x->child;
		if (x->ours.esp)
			k_sa_del(&d->kern, IPPROTO_ESP, &c->local, x->ours.esp);
		if (x->ours.ah)
			k_sa_del(&d->kern, IPPROTO_AH, &c->local, x->ours.ah);
		if (x->ours.cpi)
			k_sa_del(&d->kern, IPPROTO_COMP, &c->local,
				 x->ours.cpi);
		for (unsigned i = 0; i < c->nsa; i++) {
			if (c->sa[i].spi_in)
				k_sa_del(&d->kern, c->sa[i].proto, &c->local,
					 c->sa[i].spi_in);
			if (c->sa[i].out_installed)
				k_sa_del(&d->kern, c->sa[i].proto, &c->remote,
					 c->sa[i].spi_out);
		}
		free(c);
	}
	mem_wipe(x->nonce, sizeof(x->nonce));
	crypto_dh_free(x->dh);
	free(x);
}

static void xchg_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct kxchg *x = arg;
	struct kinkd *d = x->d;
	unsigned max =
	    x->peer->kp->max_retry_to_send ? x->peer->kp->max_retry_to_send : 3;

	(void)loop;
	(void)t;
	if (x->await_tgt)
		return; /* resumed (or freed) by the GETTGT exchange */
	if (x->tries > max) {
		struct kpeer *p = x->peer;
		bool dead = x->type == KINK_TYPE_STATUS;
		bool tgt = x->type == KINK_TYPE_GETTGT;
		log_warn(MOD, "%s to %s (XID %u): no reply",
			 kink_type_name(x->type), p->r->name, x->xid);
		xchg_free(d, x);
		/* dead-peer detection: a peer that answers no STATUS is
		 * gone; its SAs with us are useless */
		/* no TGT: the CREATEs that waited for it give up */
		for (struct kxchg *w = d->xchgs, *n; tgt && w; w = n) {
			n = w->next;
			if (w->peer == p && w->await_tgt)
				xchg_free(d, w);
		}
		if (dead) {
			log_notice(MOD, "peer %s is dead: removing its SAs",
				   p->r->name);
			d->stats.dead_peers++;
			for (struct kchild *c = d->children, *n; c; c = n) {
				n = c->next;
				if (c->peer == p)
					child_remove(d, c);
			}
		}
		return;
	}
	/* RFC 4430 §4: retransmit with the same XID */
	x->tries++;
	send_to(d, &x->peer->addr, x->peer->alen, x->pkt, x->len);
	ev_timer_start(d->loop, &x->timer,
		       1000u << (x->tries < 4 ? x->tries : 4));
}

static int build_create(struct kinkd *d, struct kxchg *x)
{
	uint8_t ke[CRYPTO_MAX_DH_PUB];
	struct isakmp_qm qm;
	struct kink_wr w;
	struct wr qw;
	uint8_t *req = NULL, first;
	size_t req_len = 0;
	int err;

	memset(&qm, 0, sizeof(qm));
	qm.has_sa = true;
	/* RFC 2408 §4.2: the bundle as proposals of one number, each with
	 * our inbound SPI (RFC 2409 §5.5) */
	if (isakmp_bundle_offer(&x->bc, &x->ours, &qm.sa) < 0)
		return -EINVAL;
	qm.nonce = x->nonce;
	qm.nonce_len = x->nonce_len;
	if (x->dh) {
		const struct crypto_dh_alg *g = crypto_dh_lookup(x->group);
		if (!g || crypto_dh_public(x->dh, ke, g->pub_len) < 0)
			return -EINVAL;
		qm.ke = ke;
		qm.ke_len = g->pub_len;
	}
	qm.n_id = x->n_id;
	memcpy(qm.id, x->id, sizeof(qm.id));
	wr_init(&qw, 0);
	isakmp_qm_build(&qw, &qm, &first);
	if ((err = wr_error(&qw)))
		goto out_qw;

	kink_auth_free(x->auth);
	x->auth = NULL;
	err = peer_mk_req(d, x->peer, &x->auth, &req, &req_len);
	if (err) {
		log_warn(MOD, "Kerberos for %s: %s",
			 x->peer->kp->peers_principal,
			 kink_krb_strerror(d->krb, err));
		goto out_qw;
	}
	kink_wr_begin(&w, KINK_TYPE_CREATE, x->xid, false);
	kink_wr_ap_req(&w, d->epoch, req, req_len);
	kink_wr_encrypt_begin(&w);
	kink_wr_isakmp(&w, first, qw.buf, qw.len);
	err = kink_wr_encrypt_end(&w, cb_enc, x->auth);
	free(x->pkt);
	x->pkt = NULL;
	if (!err)
		err = kink_wr_finish(&w, cb_mic, x->auth, &x->pkt, &x->len);
	else
		kink_wr_abort(&w);
	free(req);
out_qw:
	wr_free(&qw);
	return err;
}

static struct kxchg *xchg_new(struct kinkd *d, struct kpeer *p, uint8_t type)
{
	struct kxchg *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->d = d;
	x->peer = p;
	x->type = type;
	x->xid = ++d->next_xid;
	ev_timer_init(&x->timer, xchg_timeout, x);
	x->next = d->xchgs;
	d->xchgs = x;
	return x;
}

/* Start a CREATE for policy pol_name with peer remote r.  old_spi: the
 * inbound SPI of the SA pair this CREATE replaces (rekey), else 0. */
static void initiate(struct kinkd *d, const char *remote, const char *pol_name,
		     const struct kaddr *local, const struct kaddr *peer_addr,
		     uint32_t reqid, enum kmode mode, uint32_t old_spi)
{
	const struct conf_remote *r = conf_remote_find(d->conf, remote);
	const struct conf_policy *pol = conf_policy_find(d->conf, pol_name);
	const char *why = NULL;
	struct kpeer *p;
	struct kxchg *x;
	size_t ns;

	if (!r || !r->kink.present || !r->kink.peers_principal) {
		log_warn(MOD, "remote %s: no kink block with peers_principal",
			 remote);
		return;
	}
	p = peer_for_remote(d, r);
	if (!p) {
		log_warn(MOD, "remote %s: no usable peers_ipaddr", remote);
		return;
	}
	for (x = d->xchgs; x; x = x->next)
		if (x->peer == p && x->type == KINK_TYPE_CREATE &&
		    x->child->reqid == reqid)
			return; /* already negotiating */
	/* SAs for this policy exist, or the peer's 3-way CREATE waits for
	 * its ACK (traffic may raise an ACQUIRE before the outbound SA is
	 * there, RFC 4430 §4.2.1) */
	for (struct kchild *k = d->children; k && !old_spi; k = k->next)
		if (k->peer == p && k->reqid == reqid && k->sa[0].out_installed)
			return;
	for (struct kreply *rp = d->replies; rp; rp = rp->next)
		if (rp->await_ack && rp->await_ack->peer == p &&
		    rp->await_ack->reqid == reqid)
			return;
	x = xchg_new(d, p, KINK_TYPE_CREATE);
	if (!x)
		return;
	x->child = calloc(1, sizeof(*x->child));
	if (!x->child)
		goto fail;
	x->child->peer = p;
	x->child->local = *local;
	x->child->remote = *peer_addr;
	x->child->reqid = reqid;
	x->child->mode = mode;
	x->child->initiator = true;
	snprintf(x->child->remote_name, sizeof(x->child->remote_name), "%s",
		 remote);
	snprintf(x->child->policy, sizeof(x->child->policy), "%s", pol_name);
	x->old_spi = old_spi;
	/* need_pfs: KE with an ephemeral key (RFC 4430 §4.2) */
	x->group = pfs_group(&r->kink);
	if (kink_policy_bundle(pol, x->group, &x->bc, &why) < 0) {
		log_warn(MOD, "policy %s: %s", pol_name, why);
		goto fail;
	}
	/* RFC 2409 §5.5: IDci, IDcr from the policy's outbound selector */
	if (policy_ids(pol, &x->id[0], &x->id[1]) == 0)
		x->n_id = 2;
	if (x->group && crypto_dh_new(x->group, &x->dh) < 0) {
		log_warn(MOD, "remote %s: PFS group %u not usable", remote,
			 x->group);
		goto fail;
	}
	ns = r->kink.nonce_size ? r->kink.nonce_size : 16;
	if (ns < ISAKMP_NONCE_MIN)
		ns = ISAKMP_NONCE_MIN;
	if (ns > KINKD_NONCE_MAX)
		ns = KINKD_NONCE_MAX;
	x->nonce_len = ns;
	if (crypto_random(x->nonce, ns) < 0)
		goto fail;
	/* our inbound SPI of each protocol of the bundle */
	if ((x->bc.n_esp &&
	     k_getspi(&d->kern, IPPROTO_ESP, &x->child->remote,
		      &x->child->local, reqid, &x->ours.esp) < 0) ||
	    (x->bc.n_ah &&
	     k_getspi(&d->kern, IPPROTO_AH, &x->child->remote, &x->child->local,
		      reqid, &x->ours.ah) < 0)) {
		log_warn(MOD, "getspi: %s", d->kern.last_error);
		goto fail;
	}
	if (x->bc.ipcomp) {
		/* RFC 3173 §3.3: a CPI in 256-61439 from the backend; IPComp
		 * is optional (§2.1): without one we offer the bundle
		 * without it */
		uint32_t cpi = 0;
		int rc = k_getspi(&d->kern, IPPROTO_COMP, &x->child->remote,
				  &x->child->local, reqid, &cpi);
		if (rc == 0 && cpi >= 256 && cpi <= 61439) {
			x->ours.cpi = (uint16_t)cpi;
		} else {
			log_warn(MOD,
				 "policy %s: no IPComp CPI from the kernel "
				 "backend (%s): offered without IPComp",
				 pol_name,
				 rc < 0 ? d->kern.last_error : "out of range");
			if (rc == 0 && cpi)
				k_sa_del(&d->kern, IPPROTO_COMP,
					 &x->child->local, cpi);
		}
	}
	if (build_create(d, x) < 0)
		goto fail;
	send_to(d, &p->addr, p->alen, x->pkt, x->len);
	d->stats.creates++;
	x->tries = 1;
	ev_timer_start(d->loop, &x->timer, 1000);
	return;
fail:
	xchg_free(d, x);
}

static void on_acquire(struct spmif_client *c, const struct spmif_acquire *a,
		       void *arg)
{
	struct kinkd *d = arg;

	(void)c;
	log_info(MOD, "ACQUIRE for policy %s (remote %s, reqid %u)", a->policy,
		 a->remote, a->reqid);
	initiate(d, a->remote, a->policy, &a->sa_src, &a->sa_dst, a->reqid,
		 a->mode, 0);
}

static void send_ack(struct kinkd *d, struct kxchg *x)
{
	struct kink_auth *a = NULL;
	struct kink_wr w;
	uint8_t *req = NULL, *pkt = NULL;
	size_t req_len, len;

	if (peer_mk_req(d, x->peer, &a, &req, &req_len) < 0)
		return;
	kink_wr_begin(&w, KINK_TYPE_ACK, x->xid, false);
	kink_wr_ap_req(&w, d->epoch, req, req_len);
	if (kink_wr_finish(&w, cb_mic, a, &pkt, &len) == 0) {
		/* the ACK is sent twice: it has no reply to prompt a resend */
		send_to(d, &x->peer->addr, x->peer->alen, pkt, len);
		send_to(d, &x->peer->addr, x->peer->alen, pkt, len);
		free(pkt);
	}
	free(req);
	kink_auth_free(a);
}

/* GETTGT (RFC 4430 §4.3): ask the peer for its TGT, naming its
 * principal in KINK_TGT_REQ (no AP_REQ: we cannot get a ticket it can
 * read; the REPLY is unauthenticated too, which is safe: the KDC issues
 * a User-to-User ticket only for a TGT whose client is the principal we
 * name, and only that principal can read it). */
static void send_gettgt(struct kinkd *d, struct kpeer *p)
{
	const char *pn = p->kp->peers_principal;
	struct kink_wr w;
	struct kxchg *x;

	for (x = d->xchgs; x; x = x->next)
		if (x->peer == p && x->type == KINK_TYPE_GETTGT)
			return; /* one at a time */
	x = xchg_new(d, p, KINK_TYPE_GETTGT);
	if (!x)
		return;
	kink_wr_begin(&w, KINK_TYPE_GETTGT, x->xid, false);
	kink_wr_payload(&w, KINK_PL_TGT_REQ, NULL, 0, pn, strlen(pn));
	if (kink_wr_finish(&w, NULL, NULL, &x->pkt, &x->len) < 0) {
		xchg_free(d, x);
		return;
	}
	send_to(d, &p->addr, p->alen, x->pkt, x->len);
	x->tries = 1;
	ev_timer_start(d->loop, &x->timer, 1000);
	log_info(MOD, "GETTGT to %s for %s (XID %u)", p->r->name, pn, x->xid);
}

/* The REPLY to our GETTGT: keep the TGT, resend the CREATEs that wait
 * for it with User-to-User AP_REQs. */
static void gettgt_done(struct kinkd *d, struct kxchg *g,
			const struct kink_msg *m)
{
	struct kpeer *p = g->peer;

	if (!kink_has(m, KINK_PL_TGT_REP) || !m->tgt_rep.len ||
	    m->tgt_rep.len > 8192) {
		log_warn(MOD, "GETTGT to %s: no TGT in the REPLY%s", p->r->name,
			 kink_has(m, KINK_PL_ERROR) ? " (KINK_ERROR)" : "");
		return; /* the timeout frees it and its waiting CREATEs */
	}
	free(p->tgt);
	p->tgt = malloc(m->tgt_rep.len);
	if (!p->tgt)
		return;
	memcpy(p->tgt, m->tgt_rep.p, m->tgt_rep.len);
	p->tgt_len = m->tgt_rep.len;
	log_info(MOD, "TGT of %s received: User-to-User from now on",
		 p->r->name);
	xchg_free(d, g);
	for (struct kxchg *x = d->xchgs; x; x = x->next)
		if (x->peer == p && x->await_tgt) {
			x->await_tgt = false;
			if (build_create(d, x) < 0)
				continue; /* its timer ends it */
			x->tries = 1;
			send_to(d, &p->addr, p->alen, x->pkt, x->len);
			ev_timer_start(d->loop, &x->timer, 1000);
		}
}

/* STATUS (RFC 4430 §4.4): AP_REQ only; the REPLY's AP_REP carries the
 * peer's epoch, which peer_epoch() compares (a changed one means it
 * rebooted and lost its SAs), and no REPLY at all means it is dead. */
static int send_status(struct kinkd *d, struct kpeer *p)
{
	struct kink_wr w;
	struct kxchg *x;
	uint8_t *req = NULL;
	size_t req_len;
	int err;

	for (x = d->xchgs; x; x = x->next)
		if (x->peer == p && x->type == KINK_TYPE_STATUS)
			return 0; /* one at a time */
	x = xchg_new(d, p, KINK_TYPE_STATUS);
	if (!x)
		return -ENOMEM;
	err = peer_mk_req(d, p, &x->auth, &req, &req_len);
	if (err) {
		log_warn(MOD, "Kerberos for %s: %s", p->kp->peers_principal,
			 kink_krb_strerror(d->krb, err));
		xchg_free(d, x);
		return err;
	}
	kink_wr_begin(&w, KINK_TYPE_STATUS, x->xid, false);
	kink_wr_ap_req(&w, d->epoch, req, req_len);
	free(req);
	err = kink_wr_finish(&w, cb_mic, x->auth, &x->pkt, &x->len);
	if (err) {
		xchg_free(d, x);
		return err;
	}
	send_to(d, &p->addr, p->alen, x->pkt, x->len);
	d->stats.status_sent++;
	x->tries = 1;
	ev_timer_start(d->loop, &x->timer, 1000);
	log_info(MOD, "STATUS to %s (XID %u)", p->r->name, x->xid);
	return 0;
}

/* dpd_delay in the kink block: a peer we share SAs with and have heard
 * nothing authenticated from for that long gets a STATUS. */
static void dpd_check(struct kinkd *d)
{
	uint64_t now = ev_now_ms();

	for (struct kpeer *p = d->peers; p; p = p->next) {
		bool has_sa = false;
		if (!p->kp->dpd_delay || !p->kp->peers_principal)
			continue;
		for (struct kchild *c = d->children; c && !has_sa; c = c->next)
			has_sa = c->peer == p;
		if (has_sa && now - p->heard_ms >= p->kp->dpd_delay * 1000)
			send_status(d, p);
	}
}

/* A REPLY to our CREATE, authenticated already (AP_REP, Cksum). */
static void create_done(struct kinkd *d, struct kxchg *x,
			const struct kink_msg *m, const struct isakmp_qm *qm)
{
	struct isakmp_bundle b;
	struct kchild *c = x->child;
	struct gxy g = {.len = 0};
	struct ksa in[KCHILD_MAX_SA] = {0}, out[KCHILD_MAX_SA] = {0};
	uint32_t life;
	int rc;

	/* a refusal: Notify without SA (RFC 2408 §3.14.1) */
	if (!qm->has_sa && qm->n_notify) {
		log_warn(MOD, "CREATE refused by %s: Notify %u",
			 x->peer->r->name, qm->notify[0].type);
		goto fail;
	}
	/* RFC 2408 §4.2, RFC 2409 §5.5: exactly one of the AND-sets we
	 * offered (the proposals of one number, every protocol of it), one
	 * transform each, one we offered there (fail closed) */
	rc = qm->has_sa ? isakmp_bundle_accept(&x->bc, &x->ours, &qm->sa, &b)
			: ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	if (rc) {
		log_rl_warn(MOD,
			    "REPLY from %s: its SA is not one AND-set we "
			    "offered (%s); refused",
			    x->peer->r->name, isakmp_notify_name((uint16_t)rc));
		goto fail;
	}
	/* PFS (RFC 2409 §5.5): with need_pfs the REPLY must carry KE of our
	 * group (fail closed); without, neither KE nor a group (the
	 * transforms' groups equal ours: isakmp_bundle_accept) */
	if (x->group) {
		const struct crypto_dh_alg *ga = crypto_dh_lookup(x->group);
		if (!qm->ke || !ga) {
			log_warn(MOD,
				 "REPLY from %s without KE of group %u: "
				 "PFS required, refused",
				 x->peer->r->name, x->group);
			goto fail;
		}
		if (crypto_dh_compute(x->dh, qm->ke, qm->ke_len, g.b,
				      ga->secret_len) < 0) {
			log_warn(MOD, "REPLY from %s: bad KE",
				 x->peer->r->name);
			goto fail;
		}
		g.len = ga->secret_len;
	} else if (qm->ke) {
		log_rl_warn(MOD, "REPLY from %s: KE we did not offer",
			    x->peer->r->name);
		goto fail;
	}
	/* RFC 2409 §5.5: the responder returns our IDs or none */
	if (qm->n_id && (qm->n_id != 2 || x->n_id != 2 ||
			 !kink_id_eq(&qm->id[0], &x->id[0]) ||
			 !kink_id_eq(&qm->id[1], &x->id[1]))) {
		log_warn(MOD, "REPLY from %s: IDs differ from ours",
			 x->peer->r->name);
		goto fail;
	}
	kink_child_from_bundle(c, &b, &x->ours);
	/* the responder took the set without IPComp: our CPI goes */
	if (x->ours.cpi && !b.has_ipcomp)
		k_sa_del(&d->kern, IPPROTO_COMP, &c->local, x->ours.cpi);
	memset(&x->ours, 0, sizeof(x->ours)); /* in c->sa[] now */
	life = b.life_sec;
	if (bundle_keys(x->auth, &g, c, x->nonce, x->nonce_len, qm->nonce,
			qm->nonce_len, in, out) < 0 ||
	    install_all(d, c, true, in, life) < 0 ||
	    install_all(d, c, false, out, life) < 0) {
		ksas_wipe(in, KCHILD_MAX_SA);
		ksas_wipe(out, KCHILD_MAX_SA);
		goto fail;
	}
	/* RFC 4430 §4.2.1: ACKREQ asks for the third message */
	if (m->ackreq)
		send_ack(d, x);
	c->created_ms = ev_now_ms();
	c->next = d->children;
	d->children = c;
	x->child = NULL;
	log_info(MOD, "CREATE with %s done (%s-way%s)", x->peer->r->name,
		 m->ackreq ? "3" : "2", g.len ? ", PFS" : "");
	/* rekey: the new pair is up, now DELETE the old one (RFC 4430
	 * §4.2.3 via a new CREATE) */
	if (x->old_spi) {
		for (struct kchild *o = d->children; o; o = o->next)
			if (o->sa[0].spi_in == x->old_spi && o != c) {
				log_info(MOD,
					 "rekeyed: deleting old SAs in "
					 "0x%08x",
					 o->sa[0].spi_in);
				send_delete(d, o);
				child_remove(d, o);
				break;
			}
	}
	mem_wipe(&g, sizeof(g));
	xchg_free(d, x);
	return;
fail:
	mem_wipe(&g, sizeof(g));
	xchg_free(d, x);
}

/* ---- responder ---- */

static struct kreply *reply_find(struct kinkd *d,
				 const struct sockaddr_storage *from,
				 socklen_t fl, uint32_t xid)
{
	for (struct kreply *r = d->replies; r; r = r->next)
		if (r->xid == xid && sa_eq(&r->addr, r->alen, from, fl))
			return r;
	return NULL;
}

static void reply_free(struct kreply *r)
{
	free(r->req);
	free(r->rep);
	if (r->out_sa) {
		ksas_wipe(r->out_sa, r->await_ack ? r->await_ack->nsa : 0);
		free(r->out_sa);
	}
	free(r->await_ack);
	free(r);
}

static void reply_keep(struct kinkd *d, const struct sockaddr_storage *from,
		       socklen_t fl, uint32_t xid, const uint8_t *req,
		       size_t req_len, uint8_t *rep, size_t rep_len,
		       struct kchild *await, struct ksa *out_sa)
{
	struct kreply *r = calloc(1, sizeof(*r));

	if (!r) {
		free(rep);
		return;
	}
	r->addr = *from;
	r->alen = fl;
	r->xid = xid;
	r->req = malloc(req_len);
	if (r->req)
		memcpy(r->req, req, req_len);
	r->req_len = req_len;
	r->rep = rep;
	r->rep_len = rep_len;
	r->expires_ms = ev_now_ms() + REPLY_KEEP_MS;
	r->await_ack = await;
	if (out_sa && await) {
		r->out_sa = calloc(await->nsa, sizeof(*out_sa));
		if (r->out_sa)
			memcpy(r->out_sa, out_sa, await->nsa * sizeof(*out_sa));
	}
	r->next = d->replies;
	d->replies = r;
}

/* The reqid spmd gave policy p: explicit in a selector, or asked from
 * spmd (spmif REQID) for its first outbound selector it has one for. */
static uint32_t policy_reqid(struct kinkd *d, const struct conf_policy *p)
{
	uint32_t reqid = 0;
	int rc;

	for (size_t i = 0; i < p->nselectors; i++)
		if (p->selectors[i]->has_reqid)
			return p->selectors[i]->reqid;
	if (!d->spm)
		return 0;
	for (size_t i = 0; i < p->nselectors; i++) {
		const struct conf_selector *s = p->selectors[i];
		if (s->direction != CONF_DIR_OUTBOUND)
			continue;
		rc = spmif_reqid(d->spm, s->name, NULL, NULL, SPMD_TIMEOUT_MS,
				 &reqid);
		if (rc == 0)
			return reqid;
		if (rc != -ENOENT) {
			log_rl_warn(MOD, "spmd: no reqid for selector %s: %s",
				    s->name, strerror(-rc));
			break;
		}
	}
	return 0;
}

static void respond(struct kinkd *d, struct kink_auth *a, const uint8_t *req,
		    size_t req_len, const struct kink_msg *m,
		    const struct sockaddr_storage *from, socklen_t fl,
		    const uint8_t *isakmp, size_t isakmp_len, uint8_t first,
		    bool ackreq, struct kchild *await, struct ksa *out_sa)
{
	struct kink_wr w;
	uint8_t *rep = NULL, *pkt = NULL;
	size_t rep_len, len;

	if (kink_krb_mk_rep(d->krb, a, &rep, &rep_len) < 0) {
		free(await);
		return;
	}
	kink_wr_begin(&w, KINK_TYPE_REPLY, m->xid, ackreq);
	kink_wr_ap_rep(&w, d->epoch, rep, rep_len);
	free(rep);
	if (isakmp) {
		kink_wr_encrypt_begin(&w);
		kink_wr_isakmp(&w, first, isakmp, isakmp_len);
		if (kink_wr_encrypt_end(&w, cb_enc, a) < 0) {
			kink_wr_abort(&w);
			free(await);
			return;
		}
	}
	if (kink_wr_finish(&w, cb_mic, a, &pkt, &len) < 0) {
		free(await);
		return;
	}
	send_to(d, from, fl, pkt, len);
	reply_keep(d, from, fl, m->xid, req, req_len, pkt, len, await, out_sa);
}

/* Refuse a CREATE with an authenticated REPLY that carries an ISAKMP
 * Notify (RFC 4430 §4.2.1, RFC 2408 §3.14.1); it is cached as any REPLY,
 * so a retransmission gets it again. */
static void refuse(struct kinkd *d, struct kink_auth *a, const uint8_t *req,
		   size_t req_len, const struct kink_msg *m,
		   const struct sockaddr_storage *from, socklen_t fl,
		   uint16_t type)
{
	struct isakmp_qm qm;
	struct wr qw;
	uint8_t first;

	memset(&qm, 0, sizeof(qm));
	qm.n_notify = 1;
	qm.notify[0].proto = ISAKMP_PROTO_ESP;
	qm.notify[0].type = type;
	wr_init(&qw, 0);
	if (isakmp_qm_build(&qw, &qm, &first) == 0)
		respond(d, a, req, req_len, m, from, fl, qw.buf, qw.len, first,
			false, NULL, NULL);
	wr_free(&qw);
}

/* The policy of remote r whose outbound selector gives the IDs of a
 * CREATE: its IDcr is our side, its IDci the peer's (RFC 2409 §5.5). */
static const struct conf_policy *policy_by_ids(const struct conf_remote *r,
					       const struct isakmp_qm *qm)
{
	struct isakmp_id mine, peers;

	for (size_t i = 0; i < r->npolicies; i++) {
		const struct conf_policy *p = r->policies[i];
		for (size_t j = 0; j < p->nselectors; j++)
			if (sel_ids(p->selectors[j], &mine, &peers) == 0 &&
			    kink_id_eq(&qm->id[0], &peers) &&
			    kink_id_eq(&qm->id[1], &mine))
				return p;
	}
	return NULL;
}

/* The first of the peer's AND-sets that a policy of remote r (or only
 * `only`, the one the IDs name) accepts: *polp and *b.  group: the PFS
 * group decided (0 = none), which every keyed transform must carry. */
static bool bundle_pick(const struct conf_remote *r,
			const struct conf_policy *only,
			const struct isakmp_sa *in, uint16_t group,
			const struct conf_policy **polp,
			struct isakmp_bundle *b)
{
	for (size_t i = 0; i < r->npolicies; i++) {
		const struct conf_policy *pol = r->policies[i];
		struct isakmp_bundle_conf bc;
		const char *why;
		if ((only && pol != only) ||
		    kink_policy_bundle(pol, group, &bc, &why) < 0)
			continue;
		if (isakmp_bundle_choose(&bc, in, b) == 0) {
			*polp = pol;
			return true;
		}
	}
	return false;
}

/* Our inbound SPI of each protocol of bundle b (CPI: 256-61439, RFC 3173
 * §3.3). */
static int bundle_getspis(struct kinkd *d, const struct kchild *c,
			  const struct isakmp_bundle *b,
			  struct isakmp_bundle_spis *ours)
{
	uint32_t cpi = 0;

	memset(ours, 0, sizeof(*ours));
	if (b->has_esp && k_getspi(&d->kern, IPPROTO_ESP, &c->remote, &c->local,
				   c->reqid, &ours->esp) < 0)
		return -EIO;
	if (b->has_ah && k_getspi(&d->kern, IPPROTO_AH, &c->remote, &c->local,
				  c->reqid, &ours->ah) < 0)
		return -EIO;
	if (b->has_ipcomp) {
		if (k_getspi(&d->kern, IPPROTO_COMP, &c->remote, &c->local,
			     c->reqid, &cpi) < 0)
			return -EIO;
		ours->cpi = (uint16_t)cpi;
		if (cpi < 256 || cpi > 61439)
			return -ERANGE;
	}
	return 0;
}

static void handle_create(struct kinkd *d, struct kpeer *p, struct kink_auth *a,
			  const uint8_t *req, size_t req_len,
			  const struct kink_msg *m, const struct isakmp_qm *qm,
			  const struct sockaddr_storage *from, socklen_t fl)
{
	const struct conf_policy *pol = NULL, *by_id = NULL;
	const struct crypto_dh_alg *ga = NULL;
	struct crypto_dh *dh = NULL;
	struct gxy g = {.len = 0};
	uint8_t ke[CRYPTO_MAX_DH_PUB];
	uint16_t groups[8];
	int grp;
	struct isakmp_bundle b;
	struct isakmp_bundle_spis ours;
	struct isakmp_qm out;
	struct kchild *c;
	struct ksa sa_in[KCHILD_MAX_SA] = {0}, sa_out[KCHILD_MAX_SA] = {0};
	uint8_t nr[KINKD_NONCE_MAX], first;
	bool optimistic;
	struct wr qw;
	uint32_t life;
	size_t nl;

	if (!qm->has_sa || !qm->nonce || !qm->sa.n_props ||
	    !qm->sa.p[0].n_xforms) {
		log_rl_warn(MOD, "CREATE from %s without SA or Nonce",
			    p->r->name);
		return;
	}
	/* RFC 2409 §5.5: IDci/IDcr, when sent, must be one of our policies
	 * with this peer (its selector mirrored); absent, the SA endpoints
	 * are the identities and any policy of the remote may match */
	if (qm->n_id) {
		by_id = qm->n_id == 2 ? policy_by_ids(p->r, qm) : NULL;
		if (!by_id) {
			log_warn(MOD,
				 "CREATE from %s: its IDs match none of our "
				 "policies; refused",
				 p->r->name);
			refuse(d, a, req, req_len, m, from, fl,
			       ISAKMP_N_INVALID_ID_INFORMATION);
			return;
		}
	}
	/* PFS (RFC 4430 §4.2, RFC 2409 §5.5): one KE, so one group, which
	 * the first transform names; need_pfs refuses a CREATE without KE
	 * (fail closed); a KE is answered with ours */
	grp = kink_pfs_choose(p->kp->need_pfs, groups,
			      dh_groups(p->kp, groups, 8),
			      qm->sa.p[0].x[0].group, qm->ke != NULL);
	if (grp > 0 && !(ga = crypto_dh_lookup((uint16_t)grp)))
		grp = -ISAKMP_N_NO_PROPOSAL_CHOSEN;
	if (grp < 0) {
		log_warn(MOD, "CREATE from %s: %s; refused", p->r->name,
			 !qm->ke && p->kp->need_pfs
			     ? "no KE but need_pfs is on"
			     : "PFS group or KE not acceptable");
		refuse(d, a, req, req_len, m, from, fl, (uint16_t)-grp);
		return;
	}
	/* RFC 2408 §4.2: the first AND-set (proposals of one number) we
	 * accept as a whole, one transform per protocol, or none */
	if (!bundle_pick(p->r, by_id, &qm->sa, (uint16_t)grp, &pol, &b)) {
		log_warn(MOD,
			 "CREATE from %s: no proposal is a bundle we accept "
			 "(AH/ESP/IPComp and transforms); refused",
			 p->r->name);
		refuse(d, a, req, req_len, m, from, fl,
		       ISAKMP_N_NO_PROPOSAL_CHOSEN);
		return;
	}
	optimistic = kink_bundle_first(&qm->sa, &b);
	if (grp > 0) {
		if (crypto_dh_new((uint16_t)grp, &dh) < 0 ||
		    crypto_dh_public(dh, ke, ga->pub_len) < 0) {
			crypto_dh_free(dh);
			return;
		}
		if (crypto_dh_compute(dh, qm->ke, qm->ke_len, g.b,
				      ga->secret_len) < 0) {
			crypto_dh_free(dh);
			log_warn(MOD, "CREATE from %s: bad KE; refused",
				 p->r->name);
			refuse(d, a, req, req_len, m, from, fl,
			       ISAKMP_N_INVALID_KEY_INFORMATION);
			return;
		}
		crypto_dh_free(dh);
		g.len = ga->secret_len;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->peer = p;
	c->mode = pol->ipsec_mode == CONF_MODE_TUNNEL ? KMODE_TUNNEL
						      : KMODE_TRANSPORT;
	c->reqid = policy_reqid(d, pol);
	sa_to_kaddr(from, &c->remote);
	if (c->mode == KMODE_TUNNEL &&
	    pol->peers_sa_ipaddr.kind == CONF_ADDR_IP) {
		c->remote.af = pol->peers_sa_ipaddr.af;
		memcpy(c->remote.u.b, pol->peers_sa_ipaddr.u.b, 16);
	}
	if (c->mode == KMODE_TUNNEL && pol->my_sa_ipaddr.kind == CONF_ADDR_IP) {
		c->local.af = pol->my_sa_ipaddr.af;
		memcpy(c->local.u.b, pol->my_sa_ipaddr.u.b, 16);
	} else if (local_addr_for(&c->remote, &c->local) < 0) {
		free(c);
		goto out;
	}
	life = b.life_sec;
	if (bundle_getspis(d, c, &b, &ours) < 0) {
		log_warn(MOD, "getspi: %s", d->kern.last_error);
		/* child_remove() drops the larval SAs */
		kink_child_from_bundle(c, &b, &ours);
		child_remove(d, c);
		goto out;
	}
	kink_child_from_bundle(c, &b, &ours);
	nl = p->kp->nonce_size ? p->kp->nonce_size : 16;
	nl = nl < ISAKMP_NONCE_MIN  ? ISAKMP_NONCE_MIN
	     : nl > KINKD_NONCE_MAX ? KINKD_NONCE_MAX
				    : nl;
	if (crypto_random(nr, nl) < 0 ||
	    bundle_keys(a, &g, c, qm->nonce, qm->nonce_len, nr, nl, sa_in,
			sa_out) < 0 ||
	    install_all(d, c, true, sa_in, life) < 0) {
		ksas_wipe(sa_in, KCHILD_MAX_SA);
		ksas_wipe(sa_out, KCHILD_MAX_SA);
		child_remove(d, c);
		goto out;
	}
	memset(&out, 0, sizeof(out));
	out.has_sa = true;
	/* RFC 2408 §4.2: the chosen proposals with one transform each, as
	 * received, and our inbound SPIs; the lifetime ours if shorter */
	if (isakmp_bundle_reply(&qm->sa, &b, &ours, &out.sa) < 0) {
		ksas_wipe(sa_out, KCHILD_MAX_SA);
		child_remove(d, c);
		goto out;
	}
	for (unsigned i = 0; i < out.sa.n_props; i++)
		out.sa.p[i].x[0].life_sec = life;
	out.nonce = nr;
	out.nonce_len = nl;
	if (g.len) {
		out.ke = ke;
		out.ke_len = ga->pub_len;
	}
	/* RFC 2409 §5.5: the IDs are returned as received */
	out.n_id = qm->n_id;
	memcpy(out.id, qm->id, sizeof(out.id));
	wr_init(&qw, 0);
	isakmp_qm_build(&qw, &out, &first);
	c->created_ms = ev_now_ms();
	if (optimistic) {
		/* both directions now (RFC 4430 §4.2.1) */
		if (install_all(d, c, false, sa_out, life) == 0) {
			c->next = d->children;
			d->children = c;
		} else {
			child_remove(d, c);
		}
		respond(d, a, req, req_len, m, from, (socklen_t)fl, qw.buf,
			qw.len, first, false, NULL, NULL);
		log_info(MOD, "CREATE from %s: 2-way%s", p->r->name,
			 g.len ? " (PFS)" : "");
	} else {
		/* inbound only; the outbound waits for the ACK */
		for (unsigned i = 0; i < c->nsa; i++)
			sa_out[i].lft.hard_add_sec = life;
		respond(d, a, req, req_len, m, from, (socklen_t)fl, qw.buf,
			qw.len, first, true, c, sa_out);
		log_info(MOD, "CREATE from %s: 3-way (ACKREQ)%s", p->r->name,
			 g.len ? " (PFS)" : "");
	}
	ksas_wipe(sa_out, KCHILD_MAX_SA);
	mem_wipe(nr, sizeof(nr));
	wr_free(&qw);
out:
	mem_wipe(&g, sizeof(g));
}

static void handle_ack(struct kinkd *d, const struct kink_msg *m,
		       const struct sockaddr_storage *from, socklen_t fl)
{
	struct kreply *r = reply_find(d, from, fl, m->xid);
	struct ksa *v;
	struct kchild *c;

	if (!r || !r->await_ack || !r->out_sa)
		return; /* a duplicate ACK, or none expected */
	c = r->await_ack;
	v = r->out_sa;
	r->await_ack = NULL;
	r->out_sa = NULL;
	if (install_all(d, c, false, v, (uint32_t)v[0].lft.hard_add_sec) == 0) {
		c->next = d->children;
		d->children = c;
		log_info(MOD, "ACK from %s: outbound SAs up", c->peer->r->name);
	} else {
		child_remove(d, c);
	}
	free(v); /* wiped by install_all */
}

static void handle_delete(struct kinkd *d, struct kpeer *p,
			  const struct isakmp_qm *qm)
{
	/* RFC 2408 §3.15: the SPIs are the sender's inbound = our
	 * outbound; any SA of a bundle takes the whole bundle */
	for (unsigned i = 0; i < qm->n_delete; i++) {
		const struct isakmp_delete *dl = &qm->del[i];
		uint8_t proto = dl->proto == ISAKMP_PROTO_ESP  ? IPPROTO_ESP
				: dl->proto == ISAKMP_PROTO_AH ? IPPROTO_AH
							       : 0;
		if (!proto || dl->spi_size != 4)
			continue;
		for (unsigned j = 0; j < dl->n_spi; j++) {
			const uint8_t *s = dl->spis + 4 * j;
			uint32_t spi = (uint32_t)s[0] << 24 |
				       (uint32_t)s[1] << 16 |
				       (uint32_t)s[2] << 8 | s[3];
			for (struct kchild *c = d->children; c; c = c->next) {
				bool hit = false;
				for (unsigned k = 0; k < c->nsa; k++)
					hit |= c->sa[k].proto == proto &&
					       c->sa[k].spi_out == spi;
				if (c->peer == p && hit) {
					child_remove(d, c);
					d->stats.deletes++;
					break;
				}
			}
		}
	}
}

/* Verify the Cksum (§5.1) before anything else is trusted. */
static int check_cksum(struct kinkd *d, struct kink_auth *a, const uint8_t *pkt,
		       const struct kink_msg *m)
{
	uint8_t *ci;
	size_t cl;
	int err;

	if (!m->cksum_len) {
		d->stats.rx_bad_cksum++;
		return -EBADMSG;
	}
	if (kink_msg_cksum_input(pkt, m, &ci, &cl) < 0)
		return -ENOMEM;
	err = kink_auth_verify_mic(a, ci, cl, m->cksum.p, m->cksum.len);
	free(ci);
	if (err) {
		d->stats.rx_bad_cksum++;
		log_rl_warn(MOD, "%s XID %u: bad Cksum; dropped",
			    kink_type_name(m->type), m->xid);
	}
	return err;
}

/* Decrypt KINK_ENCRYPT into m (its plaintext in *plain, freed by the
 * caller) and parse KINK_ISAKMP. */
static int open_encrypt(struct kinkd *d, struct kink_auth *a,
			struct kink_msg *m, uint8_t **plain,
			struct isakmp_qm *qm, bool *has_qm)
{
	size_t pl;

	*plain = NULL;
	*has_qm = false;
	if (kink_has(m, KINK_PL_ENCRYPT)) {
		if (kink_auth_decrypt(a, m->encrypt.p, m->encrypt.len, plain,
				      &pl) < 0 ||
		    kink_msg_parse_inner(*plain, pl, m) != 0) {
			log_rl_warn(MOD, "XID %u: bad KINK_ENCRYPT", m->xid);
			return -EBADMSG;
		}
	}
	if (kink_has(m, KINK_PL_ISAKMP)) {
		int err = isakmp_qm_parse(m->isakmp_first, m->isakmp.p,
					  m->isakmp.len, qm);
		if (err) {
			log_rl_warn(MOD, "XID %u: bad Quick Mode payloads (%s)",
				    m->xid, strerror(-err));
			return err;
		}
		*has_qm = true;
	}
	return 0;
}

static void send_krb_error(struct kinkd *d, int kerr, uint32_t xid,
			   const struct sockaddr_storage *from, socklen_t fl)
{
	struct kink_wr w;
	uint8_t *e = NULL, *pkt = NULL;
	size_t el, len;

	if (kink_krb_mk_error(d->krb, kerr, &e, &el) < 0)
		return;
	kink_wr_begin(&w, KINK_TYPE_REPLY, xid, false);
	kink_wr_payload(&w, KINK_PL_KRB_ERROR, NULL, 0, e, el);
	free(e);
	if (kink_wr_finish(&w, NULL, NULL, &pkt, &len) == 0) {
		send_to(d, from, fl, pkt, len);
		free(pkt);
	}
}

static void send_kink_error(struct kinkd *d, uint32_t code, uint32_t xid,
			    const struct sockaddr_storage *from, socklen_t fl)
{
	struct kink_wr w;
	uint8_t *pkt = NULL;
	size_t len;

	kink_wr_begin(&w, KINK_TYPE_REPLY, xid, false);
	kink_wr_error(&w, code);
	if (kink_wr_finish(&w, NULL, NULL, &pkt, &len) == 0) {
		send_to(d, from, fl, pkt, len);
		free(pkt);
	}
}

/* GETTGT (RFC 4430 §4.3): a known peer asking for our TGT by our
 * principal's name gets it in KINK_TGT_REP (a TGT is no secret: it is
 * encrypted for the KDC); anything else gets KINK_ERROR. */
static void handle_gettgt(struct kinkd *d, const struct kink_msg *m,
			  const struct sockaddr_storage *from, socklen_t fl)
{
	struct kpeer *p = peer_for_addr(d, from);
	struct kink_wr w;
	uint8_t *tgt = NULL, *pkt = NULL;
	size_t tl, len;
	int err;

	if (!p || !kink_has(m, KINK_PL_TGT_REQ)) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "GETTGT XID %u from %s; dropped", m->xid,
			    p ? "a peer without KINK_TGT_REQ"
			      : "an address with no kink remote");
		return;
	}
	if (m->tgt_req.len != strlen(d->my_principal) ||
	    memcmp(m->tgt_req.p, d->my_principal, m->tgt_req.len) != 0) {
		log_rl_warn(MOD, "GETTGT from %s for another principal",
			    p->r->name);
		send_kink_error(d, KINK_ERR_PROTOERR, m->xid, from, fl);
		return;
	}
	/* unauthenticated and larger than the request: one answer per
	 * second per peer, so spoofed requests amplify little */
	if (p->tgt_sent_ms && ev_now_ms() - p->tgt_sent_ms < 1000) {
		log_rl_warn(MOD, "GETTGT from %s again within 1 s; dropped",
			    p->r->name);
		return;
	}
	if ((err = kink_krb_my_tgt(d->krb, &tgt, &tl)) < 0) {
		log_warn(MOD, "GETTGT from %s: our TGT: %s", p->r->name,
			 kink_krb_strerror(d->krb, err));
		send_kink_error(d, KINK_ERR_INTERR, m->xid, from, fl);
		return;
	}
	kink_wr_begin(&w, KINK_TYPE_REPLY, m->xid, false);
	kink_wr_payload(&w, KINK_PL_TGT_REP, NULL, 0, tgt, tl);
	free(tgt);
	if (kink_wr_finish(&w, NULL, NULL, &pkt, &len) == 0) {
		send_to(d, from, fl, pkt, len);
		free(pkt);
		p->tgt_sent_ms = ev_now_ms();
		log_info(MOD, "GETTGT from %s: our TGT sent", p->r->name);
	}
}

static void handle_request(struct kinkd *d, const uint8_t *pkt, size_t n,
			   struct kink_msg *m,
			   const struct sockaddr_storage *from, socklen_t fl)
{
	struct kreply *r = reply_find(d, from, fl, m->xid);
	struct kink_auth *a = NULL;
	struct kpeer *p;
	struct isakmp_qm qm;
	uint8_t *plain = NULL;
	bool has_qm;
	char client[256];
	int err;

	/* RFC 4430 §4: a retransmitted request gets the same REPLY */
	if (r && m->type != KINK_TYPE_ACK) {
		if (r->req && r->req_len == n && !memcmp(r->req, pkt, n)) {
			d->stats.rx_dup++;
			send_to(d, from, fl, r->rep, r->rep_len);
		} else {
			/* same XID, other content: not a retransmission */
			d->stats.rx_bad++;
			log_rl_warn(MOD,
				    "XID %u reused with other content; "
				    "dropped",
				    m->xid);
		}
		return;
	}
	if (m->type == KINK_TYPE_GETTGT) {
		handle_gettgt(d, m, from, fl);
		return;
	}
	if (!kink_has(m, KINK_PL_AP_REQ)) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "%s XID %u without AP_REQ; dropped",
			    kink_type_name(m->type), m->xid);
		return;
	}
	p = peer_for_addr(d, from);
	if (!p || !p->kp->peers_principal) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "%s from an address with no kink remote",
			    kink_type_name(m->type));
		return;
	}
	err = kink_krb_rd_req(d->krb, m->ap_req.p, m->ap_req.len, &a, client,
			      sizeof(client));
	if (err) {
		long code = kink_krb_code(err);
		if (code == KRB5KRB_AP_ERR_REPEAT)
			d->stats.rx_replay++;
		else
			d->stats.rx_bad++;
		log_rl_warn(MOD, "AP_REQ from %s: %s", p->r->name,
			    kink_krb_strerror(d->krb, err));
		/* RFC 4430 §4.1: KRB_ERROR (e.g. clock skew) */
		if (code && code != KRB5KRB_AP_ERR_REPEAT)
			send_krb_error(d, err, m->xid, from, fl);
		return;
	}
	/* the authenticated client must be this remote's principal */
	if (strcmp(client, p->kp->peers_principal) != 0) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "AP_REQ by %s, but remote %s is %s", client,
			    p->r->name, p->kp->peers_principal);
		goto out;
	}
	if (check_cksum(d, a, pkt, m) < 0)
		goto out;
	peer_epoch(d, p, m->epoch);
	if (open_encrypt(d, a, m, &plain, &qm, &has_qm) < 0) {
		d->stats.rx_bad++;
		goto out;
	}
	switch (m->type) {
	case KINK_TYPE_CREATE:
		if (has_qm)
			handle_create(d, p, a, pkt, n, m, &qm, from, fl);
		break;
	case KINK_TYPE_ACK:
		handle_ack(d, m, from, fl);
		break;
	case KINK_TYPE_DELETE:
		if (has_qm)
			handle_delete(d, p, &qm);
		respond(d, a, pkt, n, m, from, fl, NULL, 0, 0, false, NULL,
			NULL);
		break;
	case KINK_TYPE_STATUS:
		respond(d, a, pkt, n, m, from, fl, NULL, 0, 0, false, NULL,
			NULL);
		break;
	}
out:
	if (plain)
		free(plain);
	kink_auth_free(a);
}

static void handle_reply(struct kinkd *d, const uint8_t *pkt,
			 struct kink_msg *m,
			 const struct sockaddr_storage *from, socklen_t fl)
{
	struct kxchg *x;
	struct isakmp_qm qm;
	uint8_t *plain = NULL;
	bool has_qm;
	int err;

	for (x = d->xchgs; x; x = x->next)
		if (x->xid == m->xid &&
		    sa_eq(&x->peer->addr, x->peer->alen, from, fl))
			break;
	if (!x) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "REPLY XID %u matches no request", m->xid);
		return;
	}
	if (x->type == KINK_TYPE_GETTGT) {
		gettgt_done(d, x, m);
		return;
	}
	if (!kink_has(m, KINK_PL_AP_REP)) {
		long code = 0;
		time_t stime = 0;
		/* unauthenticated: only a clock-skew retry, once */
		if (kink_has(m, KINK_PL_KRB_ERROR) &&
		    kink_krb_rd_error(d->krb, m->krb_error.p, m->krb_error.len,
				      &code, &stime) == 0) {
			log_warn(MOD, "KRB_ERROR from %s: code %ld",
				 x->peer->r->name,
				 code - ERROR_TABLE_BASE_krb5);
			/* RFC 4430 §4.3: the peer has no keytab: get its
			 * TGT, then retry User-to-User (once) */
			if ((code == KRB5KRB_AP_ERR_USER_TO_USER_REQUIRED ||
			     code == KRB5KDC_ERR_MUST_USE_USER2USER) &&
			    x->type == KINK_TYPE_CREATE && !x->u2u_tried) {
				x->u2u_tried = true;
				x->await_tgt = true;
				free(x->peer->tgt);
				x->peer->tgt = NULL;
				send_gettgt(d, x->peer);
			}
			if (code == KRB5KRB_AP_ERR_SKEW && !x->skew_retried &&
			    x->type == KINK_TYPE_CREATE) {
				x->skew_retried = true;
				kink_krb_set_time(d->krb, stime);
				if (build_create(d, x) == 0) {
					log_notice(MOD,
						   "clock skew with %s: "
						   "retrying with its time",
						   x->peer->r->name);
					send_to(d, &x->peer->addr,
						x->peer->alen, x->pkt, x->len);
				}
			}
		} else if (kink_has(m, KINK_PL_ERROR)) {
			log_rl_warn(MOD,
				    "KINK_ERROR %s from %s (ignored: "
				    "not authenticated)",
				    kink_err_name(m->error_code),
				    x->peer->r->name);
		}
		return;
	}
	err = kink_krb_rd_rep(d->krb, x->auth, m->ap_rep.p, m->ap_rep.len);
	if (err) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "AP_REP from %s: %s", x->peer->r->name,
			    kink_krb_strerror(d->krb, err));
		return;
	}
	if (check_cksum(d, x->auth, pkt, m) < 0)
		return;
	peer_epoch(d, x->peer, m->epoch);
	if (open_encrypt(d, x->auth, m, &plain, &qm, &has_qm) < 0) {
		d->stats.rx_bad++;
		free(plain);
		return;
	}
	if (kink_has(m, KINK_PL_ERROR) && m->error_code)
		log_warn(MOD, "%s to %s: KINK_ERROR %s",
			 kink_type_name(x->type), x->peer->r->name,
			 kink_err_name(m->error_code));
	if (x->type == KINK_TYPE_CREATE && has_qm) {
		create_done(d, x, m, &qm);
	} else {
		if (x->type == KINK_TYPE_STATUS)
			log_info(MOD, "STATUS REPLY from %s (epoch %u)",
				 x->peer->r->name, m->epoch);
		xchg_free(d, x);
	}
	free(plain);
}

static void on_udp(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct kinkd *d = arg;
	uint8_t buf[KINK_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct kink_msg m;
	ssize_t n;
	int err;

	(void)loop;
	(void)events;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return;
	d->stats.rx++;
	err = kink_msg_parse(buf, (size_t)n, &m);
	if (err) {
		d->stats.rx_bad++;
		log_rl_warn(MOD, "malformed KINK message (%s); dropped",
			    kink_err_name((uint32_t)err));
		/* RFC 4430 §5.1: answer version/DOI errors of a request */
		if (m.length && m.type != KINK_TYPE_REPLY &&
		    err != KINK_ERR_PROTOERR)
			send_kink_error(d, (uint32_t)err, m.xid, &from, fl);
		return;
	}
	if (m.type == KINK_TYPE_REPLY)
		handle_reply(d, buf, &m, &from, fl);
	else
		handle_request(d, buf, (size_t)n, &m, &from, fl);
}

/* ---- DELETE of our SAs ---- */

static void send_delete(struct kinkd *d, struct kchild *c)
{
	struct kink_auth *a = NULL;
	struct isakmp_qm qm;
	struct kink_wr w;
	struct wr qw;
	uint8_t *req = NULL, *pkt = NULL, spi[KCHILD_MAX_SA][4], first;
	size_t req_len, len;

	if (peer_mk_req(d, c->peer, &a, &req, &req_len) < 0)
		return;
	/* RFC 2408 §3.15: one Delete per protocol with our inbound SPI;
	 * IPComp has none (its SAs go with the bundle) */
	memset(&qm, 0, sizeof(qm));
	for (unsigned i = 0; i < c->nsa && qm.n_delete < ISAKMP_MAX_DELETE;
	     i++) {
		const struct kchild_sa *s = &c->sa[i];
		struct isakmp_delete *dl = &qm.del[qm.n_delete];
		if (s->proto == IPPROTO_COMP)
			continue;
		spi[i][0] = (uint8_t)(s->spi_in >> 24);
		spi[i][1] = (uint8_t)(s->spi_in >> 16);
		spi[i][2] = (uint8_t)(s->spi_in >> 8);
		spi[i][3] = (uint8_t)s->spi_in;
		dl->proto = kink_isakmp_proto(s->proto);
		dl->spi_size = 4;
		dl->n_spi = 1;
		dl->spis = spi[i];
		qm.n_delete++;
	}
	wr_init(&qw, 0);
	isakmp_qm_build(&qw, &qm, &first);
	kink_wr_begin(&w, KINK_TYPE_DELETE, ++d->next_xid, false);
	kink_wr_ap_req(&w, d->epoch, req, req_len);
	kink_wr_encrypt_begin(&w);
	kink_wr_isakmp(&w, first, qw.buf, qw.len);
	if (kink_wr_encrypt_end(&w, cb_enc, a) == 0 &&
	    kink_wr_finish(&w, cb_mic, a, &pkt, &len) == 0) {
		send_to(d, &c->peer->addr, c->peer->alen, pkt, len);
		free(pkt);
		d->stats.deletes++;
	} else {
		kink_wr_abort(&w);
	}
	wr_free(&qw);
	free(req);
	kink_auth_free(a);
}

static void delete_all(struct kinkd *d)
{
	while (d->children) {
		send_delete(d, d->children);
		child_remove(d, d->children);
	}
}

/* ---- kernel events: a hard-expired SA is deleted on both sides ---- */

static void on_kevent(const struct kevent *ev, void *arg)
{
	struct kinkd *d = arg;

	if (ev->type != KEV_EXPIRE)
		return;
	if (!ev->u.expire.hard) {
		/* soft: the side that created the bundle makes a new one;
		 * the responder's soft limit comes later (install()) */
		for (struct kchild *c = d->children; c; c = c->next)
			if (child_has_spi(c, ev->u.expire.proto,
					  ev->u.expire.spi) &&
			    c->initiator && !c->rekeying) {
				c->rekeying = true;
				log_info(MOD, "soft expiry of 0x%08x: rekeying",
					 ev->u.expire.spi);
				initiate(d, c->remote_name, c->policy,
					 &c->local, &c->remote, c->reqid,
					 c->mode, c->sa[0].spi_in);
				return;
			}
		return;
	}
	for (struct kchild *c = d->children; c; c = c->next)
		if (child_has_spi(c, ev->u.expire.proto, ev->u.expire.spi)) {
			send_delete(d, c);
			child_remove(d, c);
			return;
		}
}

static void on_kernel(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct kinkd *d = arg;

	(void)loop;
	(void)fd;
	(void)events;
	k_event_read(&d->kern, on_kevent, d);
}

/* ---- control socket (kinkctl): one request, one answer ---- */

#define CTL_REQ_MAX    256
#define CTL_ANS_MAX    65000
#define CTL_TIMEOUT_MS 5000 /* per kinkctl client */

static struct ctlsrv ctl_srv = {.ls = {.fd = -1, .lockfd = -1}};

static void ans(struct wr *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ans(struct wr *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		wr_bytes(w, line,
			 (size_t)n < sizeof(line) ? (size_t)n
						  : sizeof(line) - 1);
}

/* The bundle's protocols, outermost first ("ah+esp+ipcomp"). */
static const char *bundle_name(const struct kchild *c, char *buf, size_t len)
{
	static const uint8_t order[] = {IPPROTO_AH, IPPROTO_ESP, IPPROTO_COMP};
	size_t n = 0;

	buf[0] = 0;
	for (size_t o = 0; o < sizeof(order); o++)
		for (unsigned i = 0; i < c->nsa; i++)
			if (c->sa[i].proto == order[o] && n < len)
				n += (size_t)snprintf(
				    buf + n, len - n, "%s%s", n ? "+" : "",
				    order[o] == IPPROTO_AH    ? "ah"
				    : order[o] == IPPROTO_ESP ? "esp"
							      : "ipcomp");
	return buf;
}

/* The SA pair of proto in c, or NULL. */
static const struct kchild_sa *child_sa(const struct kchild *c, uint8_t proto)
{
	for (unsigned i = 0; i < c->nsa; i++)
		if (c->sa[i].proto == proto)
			return &c->sa[i];
	return NULL;
}

/* sa[0] (ESP, else AH) is the pair's spi_in/spi_out/encr/integ as
 * before bundles; AH and IPComp of a bundle add ah_spi_* and cpi_*. */
static void ctl_show_sa(struct kinkd *d, struct wr *w, bool json)
{
	char l[64], r[64], bn[32], ex[192];
	bool first = true;

	if (json)
		ans(w, "{\"sas\": [");
	for (struct kchild *c = d->children; c; c = c->next) {
		const struct kchild_sa *s0 = &c->sa[0],
				       *ah = child_sa(c, IPPROTO_AH),
				       *ic = child_sa(c, IPPROTO_COMP);
		bool in = true, out = true;
		size_t n = 0;

		for (unsigned i = 0; i < c->nsa; i++) {
			in &= c->sa[i].in_installed;
			out &= c->sa[i].out_installed;
		}
		kaddr_str(&c->local, l, sizeof(l));
		kaddr_str(&c->remote, r, sizeof(r));
		bundle_name(c, bn, sizeof(bn));
		ex[0] = 0;
		if (ah && s0 != ah)
			n += (size_t)snprintf(
			    ex + n, sizeof(ex) - n,
			    json ? ", \"ah_spi_in\": "
				   "\"0x%08x\", \"ah_spi_out\": "
				   "\"0x%08x\""
				 : " ah in 0x%08x out 0x%08x",
			    ah->spi_in, ah->spi_out);
		if (ic)
			snprintf(
			    ex + n, sizeof(ex) - n,
			    json ? ", \"cpi_in\": \"0x%04x\", "
				   "\"cpi_out\": \"0x%04x\""
				 : " ipcomp deflate cpi in 0x%04x out 0x%04x",
			    ic->spi_in, ic->spi_out);
		if (json)
			ans(w,
			    "%s{\"peer\": \"%s\", \"local\": \"%s\", "
			    "\"remote\": \"%s\", \"bundle\": \"%s\", "
			    "\"proto\": \"%s\", \"spi_in\": \"0x%08x\", "
			    "\"spi_out\": \"0x%08x\"%s, \"reqid\": %u, "
			    "\"mode\": \"%s\", \"encr\": %u, \"keybits\": "
			    "%u, \"integ\": %u, \"initiator\": %s, "
			    "\"in\": %s, \"out\": %s, \"age_ms\": %llu}",
			    first ? "" : ", ", c->peer->r->name, l, r, bn,
			    s0->proto == IPPROTO_AH ? "ah" : "esp", s0->spi_in,
			    s0->spi_out, ex, c->reqid,
			    c->mode == KMODE_TUNNEL ? "tunnel" : "transport",
			    s0->encr_id, s0->encr_keybits, s0->integ_id,
			    c->initiator ? "true" : "false",
			    in ? "true" : "false", out ? "true" : "false",
			    (unsigned long long)(ev_now_ms() - c->created_ms));
		else
			ans(w,
			    "%s %s -> %s %s in 0x%08x out 0x%08x%s reqid %u "
			    "%s encr %u/%u integ %u%s\n",
			    c->peer->r->name, l, r, bn, s0->spi_in, s0->spi_out,
			    ex, c->reqid,
			    c->mode == KMODE_TUNNEL ? "tunnel" : "transport",
			    s0->encr_id, s0->encr_keybits, s0->integ_id,
			    c->initiator ? " initiator" : "");
		first = false;
	}
	if (json)
		ans(w, "]}\n");
}

static void ctl_show_peers(struct kinkd *d, struct wr *w, bool json)
{
	bool first = true;

	if (json)
		ans(w, "{\"epoch\": %u, \"peers\": [", d->epoch);
	else
		ans(w, "my epoch %u\n", d->epoch);
	for (struct kpeer *p = d->peers; p; p = p->next) {
		unsigned n = 0;
		for (struct kchild *c = d->children; c; c = c->next)
			n += c->peer == p;
		if (json)
			ans(w,
			    "%s{\"remote\": \"%s\", \"principal\": \"%s\", "
			    "\"epoch\": %u, \"epoch_known\": %s, \"sas\": "
			    "%u}",
			    first ? "" : ", ", p->r->name,
			    p->kp->peers_principal ? p->kp->peers_principal
						   : "",
			    p->epoch, p->epoch_known ? "true" : "false", n);
		else
			ans(w, "%s %s epoch %u%s, %u SA pairs\n", p->r->name,
			    p->kp->peers_principal ? p->kp->peers_principal
						   : "-",
			    p->epoch, p->epoch_known ? "" : " (unknown)", n);
		first = false;
	}
	if (json)
		ans(w, "]}\n");
}

static void ctl_show_stats(struct kinkd *d, struct wr *w, bool json)
{
	ans(w,
	    json ? "{\"rx\": %llu, \"rx_bad\": %llu, \"rx_bad_cksum\": "
		   "%llu, \"rx_replay\": %llu, \"rx_dup\": %llu, \"tx\": "
		   "%llu, \"creates\": %llu, \"deletes\": %llu, "
		   "\"sa_installed\": %llu, \"status_sent\": %llu, "
		   "\"dead_peers\": %llu}\n"
		 : "rx %llu bad %llu bad_cksum %llu replay %llu dup %llu tx "
		   "%llu creates %llu deletes %llu sas %llu status %llu dead "
		   "%llu\n",
	    (unsigned long long)d->stats.rx,
	    (unsigned long long)d->stats.rx_bad,
	    (unsigned long long)d->stats.rx_bad_cksum,
	    (unsigned long long)d->stats.rx_replay,
	    (unsigned long long)d->stats.rx_dup,
	    (unsigned long long)d->stats.tx,
	    (unsigned long long)d->stats.creates,
	    (unsigned long long)d->stats.deletes,
	    (unsigned long long)d->stats.sa_installed,
	    (unsigned long long)d->stats.status_sent,
	    (unsigned long long)d->stats.dead_peers);
}

/* "delete all" | "delete SPI" (either direction's SPI, hex or decimal):
 * DELETE to the peer, then the SAs go here too. */
static int ctl_delete(struct kinkd *d, const char *what, struct wr *w)
{
	bool all = !strcmp(what, "all");
	unsigned long spi = all ? 0 : strtoul(what, NULL, 0);
	unsigned n = 0;

	for (struct kchild *c = d->children, *nx; c; c = nx) {
		nx = c->next;
		if (all || child_has_spi(c, 0, (uint32_t)spi)) {
			send_delete(d, c);
			child_remove(d, c);
			n++;
		}
	}
	ans(w, "%u SA pairs deleted\n", n);
	return n || all ? 0 : -ENOENT;
}

/* "initiate POLICY": a CREATE for that policy now, as an ACQUIRE would
 * start it (no traffic needed): SA endpoints from the policy (tunnel) or
 * the remote's peers_ipaddr and our address towards it (transport). */
static int ctl_initiate(struct kinkd *d, const char *name, struct wr *w)
{
	const struct conf_policy *pol = conf_policy_find(d->conf, name);
	const struct conf_remote *r = pol ? pol->remote : NULL;
	const struct conf_addr *pa;
	struct kaddr local, remote;
	enum kmode mode;
	uint64_t before = d->stats.creates;

	if (!r || !r->kink.present || !r->kink.peers_ipaddr.n) {
		ans(w, "no policy %s with a kink remote\n", name);
		return -ENOENT;
	}
	mode = pol->ipsec_mode == CONF_MODE_TUNNEL ? KMODE_TUNNEL
						   : KMODE_TRANSPORT;
	pa = mode == KMODE_TUNNEL && pol->peers_sa_ipaddr.kind == CONF_ADDR_IP
		 ? &pol->peers_sa_ipaddr
		 : &r->kink.peers_ipaddr.v[0];
	if (pa->kind != CONF_ADDR_IP) {
		ans(w, "policy %s: no peer address\n", name);
		return -EINVAL;
	}
	memset(&remote, 0, sizeof(remote));
	remote.af = pa->af;
	memcpy(remote.u.b, pa->u.b, 16);
	memset(&local, 0, sizeof(local));
	if (mode == KMODE_TUNNEL && pol->my_sa_ipaddr.kind == CONF_ADDR_IP) {
		local.af = pol->my_sa_ipaddr.af;
		memcpy(local.u.b, pol->my_sa_ipaddr.u.b, 16);
	} else if (local_addr_for(&remote, &local) < 0) {
		ans(w, "policy %s: no route to the peer\n", name);
		return -EHOSTUNREACH;
	}
	initiate(d, r->name, pol->name, &local, &remote, policy_reqid(d, pol),
		 mode, 0);
	if (d->stats.creates == before) {
		ans(w, "no CREATE: SAs exist or one is in flight\n");
		return 0;
	}
	ans(w, "CREATE sent\n");
	return 0;
}

/* "status [REMOTE]": a STATUS now to that peer, or to every peer we
 * share SAs with. */
static int ctl_status(struct kinkd *d, const char *remote, struct wr *w)
{
	unsigned n = 0;

	if (remote) {
		const struct conf_remote *r = conf_remote_find(d->conf, remote);
		struct kpeer *p =
		    r && r->kink.present ? peer_for_remote(d, r) : NULL;
		if (!p || !p->kp->peers_principal) {
			ans(w, "no kink peer %s\n", remote);
			return -ENOENT;
		}
		n += send_status(d, p) == 0;
	} else {
		for (struct kpeer *p = d->peers; p; p = p->next)
			for (struct kchild *c = d->children; c; c = c->next)
				if (c->peer == p) {
					n += send_status(d, p) == 0;
					break;
				}
	}
	ans(w, "STATUS sent to %u peers\n", n);
	return 0;
}

/* One kinkctl request (lib/ctlsrv.h reads it and sends the answer). */
static void ctl_request(void *arg, const uint8_t *reqb, size_t len,
			struct wr *w)
{
	struct kinkd *d = arg;
	char req[CTL_REQ_MAX + 1], *argv[4] = {0}, *save = NULL;
	int argc = 0, rc = 0;
	bool json;

	wr_u8(w, '0'); /* status, patched below */
	wr_u8(w, '\n');
	if (len > CTL_REQ_MAX) {
		/* never run a truncated request */
		ans(w, "request longer than %u octets\n", CTL_REQ_MAX);
		w->buf[0] = '1';
		return;
	}
	memcpy(req, reqb, len);
	req[len] = 0;
	for (char *t = strtok_r(req, " \t\n", &save); t && argc < 4;
	     t = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = t;
	json = argc >= 3 && !strcmp(argv[argc - 1], "--json");
	if (argc >= 2 && !strcmp(argv[0], "show") && !strcmp(argv[1], "sa"))
		ctl_show_sa(d, w, json);
	else if (argc >= 2 && !strcmp(argv[0], "show") &&
		 !strcmp(argv[1], "peers"))
		ctl_show_peers(d, w, json);
	else if (argc >= 2 && !strcmp(argv[0], "show") &&
		 !strcmp(argv[1], "stats"))
		ctl_show_stats(d, w, json);
	else if (argc == 2 && !strcmp(argv[0], "delete"))
		rc = ctl_delete(d, argv[1], w);
	else if (argc == 2 && !strcmp(argv[0], "initiate"))
		rc = ctl_initiate(d, argv[1], w);
	else if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "status"))
		rc = ctl_status(d, argc == 2 ? argv[1] : NULL, w);
	else if (argc == 1 && !strcmp(argv[0], "ping"))
		ans(w, "pong\n");
	else {
		ans(w, "unknown request\n");
		rc = -EINVAL;
	}
	if (!wr_error(w))
		w->buf[0] = rc ? '1' : '0';
	mem_wipe(req, sizeof(req));
}

static int ctl_open(struct kinkd *d, const char *path)
{
	char why[256];
	int rc;

	rc = ctlsrv_open(&ctl_srv, d->loop,
			 &(struct ctlsrv_opts){
			     .sock =
				 {
				     .path = path,
				     .daemon = "kinkd",
				     .type = SOCK_SEQPACKET,
				     .backlog = 8,
				     .refuse = "1\npermission denied\n",
				 },
			     .max_clients = CTLSOCK_MAX_CLIENTS,
			     .req_max = CTL_REQ_MAX,
			     .out_max = CTL_ANS_MAX,
			     .timeout_ms = CTL_TIMEOUT_MS,
			     .handle = ctl_request,
			     .arg = d,
			 },
			 why, sizeof(why));
	if (rc < 0)
		log_err(MOD, "%s", why);
	return rc;
}

/* ---- spmd ---- */

static void on_spmd_closed(struct spmif_client *c, int err, void *arg)
{
	struct kinkd *d = arg;

	(void)c;
	log_err(MOD, "connection to spmd lost (%s); exiting",
		err ? strerror(-err) : "EOF");
	ev_stop(d->loop);
}

/* 602 MIGRATE: the SAs moved in place (spmd's MIGRATE); our pairs and
 * their peers follow (kink_migrate.c). */
static void on_migrate(struct spmif_client *c, const struct spmif_migrate_ev *m,
		       void *arg)
{
	(void)c;
	kink_migrate(arg, m);
}

static int spm_connect(struct kinkd *d, const char *path, const char *pw)
{
	static const struct spmif_callbacks cbs = {
	    .acquire = on_acquire,
	    .migrate = on_migrate,
	    .closed = on_spmd_closed,
	};
	int rc;

	d->spm = spmif_client_new(&cbs, d);
	if (!d->spm)
		return -ENOMEM;
	rc = spmif_connect(d->spm, path, pw);
	if (rc == 0)
		rc = spmif_register(d->spm, SPMIF_KMP_KINK);
	if (rc == 0)
		rc = spmif_attach(d->spm, d->loop);
	if (rc < 0) {
		spmif_client_free(d->spm);
		d->spm = NULL;
	}
	return rc;
}

/* ---- sockets ---- */

static int open_udp(struct kinkd *d, int af, const void *addr)
{
	struct sockaddr_storage ss;
	struct kaddr ka;
	int fd, one = 1;
	socklen_t l;

	memset(&ka, 0, sizeof(ka));
	ka.af = (uint8_t)af;
	if (addr)
		memcpy(ka.u.b, addr, af == AF_INET ? 4 : 16);
	l = kaddr_to_sa(&ka, d->port, &ss);
	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, l) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (ev_add_fd(d->loop, fd, EPOLLIN, on_udp, d) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static void sweep(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct kinkd *d = arg;
	uint64_t now = ev_now_ms();
	struct kreply **pp = &d->replies;

	while (*pp) {
		struct kreply *r = *pp;
		if (r->expires_ms <= now) {
			*pp = r->next;
			reply_free(r);
		} else {
			pp = &r->next;
		}
	}
	dpd_check(d);
	ev_timer_start(loop, t, 1000);
}

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct kinkd *d = arg;

	if (signo == SIGUSR1) {
		struct wr w;

		/* the same figures `kinkctl show stats` prints */
		wr_init(&w, 4096);
		ctl_show_stats(d, &w, false);
		if (!w.err && w.len > 0)
			log_notice(MOD, "stats: %.*s", (int)w.len - 1,
				   (const char *)w.buf);
		wr_free(&w);
		return;
	}
	d->stopping = true;
	ev_stop(loop);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kinkd [-dhFV] [-f racoon2.conf] [-D level] [-P port] "
		"[-K keydir]\n"
		"             [-k xfrm|userspace] [-p pidfile] [-S ctlsock] "
		"[-t] [-T skew]\n");
	exit(2);
}

/* racoon2's kinkd -D: a level (1, 2, 3, all) or a debugging category;
 * any of them means debug logging here (categories are not told
 * apart). */
static bool debug_arg_ok(const char *s)
{
	static const char *const ok[] = {
	    "1",     "2",    "3",	"all",	 "krb5",  "ticketing", "packet",
	    "crypt", "peer", "payload", "pfkey", "spmif", "parse",     "isakmp",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return true;
	return false;
}

/* Every auto_ipsec policy kinkd serves (its remote lists kink first)
 * must be a bundle KINK can key: the reason with file:line, at start
 * (and with -t) rather than at the first ACQUIRE.  Returns how many
 * cannot. */
static unsigned check_bundles(const struct conf *c)
{
	unsigned bad = 0;

	for (size_t i = 0; i < c->npolicies; i++) {
		const struct conf_policy *p = c->policies[i];
		const struct conf_remote *r = p->remote;
		struct isakmp_bundle_conf bc;
		const char *why = NULL;

		if (!r || !r->kink.present || !r->n_acceptable_kmp ||
		    r->acceptable_kmp[0] != CONF_KMP_KINK ||
		    p->action != CONF_ACTION_AUTO_IPSEC)
			continue;
		if (kink_policy_bundle(p, 0, &bc, &why) < 0) {
			fprintf(stderr,
				"%s:%u: policy '%s': %s: KINK cannot key "
				"this bundle\n",
				p->loc.file ? p->loc.file : "?", p->loc.line,
				p->name, why);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	const char *conf_path = SYSCONFDIR "/racoon2/racoon2.conf";
	const char *backend = NULL, *pidpath = NULL, *spmd_path = NULL;
	const char *ctl_path = R2_KINKD_SOCKET;
	static struct kinkd dd;
	struct kinkd *d = &dd;
	struct conf_diag diag;
	const struct conf_remote *first_r = NULL;
	bool foreground = false, test_only = false, port_set = false;
	enum log_level lvl = LOG_LVL_INFO;
	struct pidfile pf;
	char err[256];
	int opt, rc;

	d->port = KINK_PORT;
	d->fd4 = d->fd6 = -1;
	long skew = 0;
	const char *keyexport = NULL;

	/* racoon2's kinkd options (-d -f -h -D -F -V) with racoon2's
	 * meaning; the others are this kinkd's (no clash) */
	while ((opt = getopt(argc, argv, "f:FdD:VK:P:k:p:S:tT:h")) != -1) {
		switch (opt) {
		case 'D':
			if (!debug_arg_ok(optarg)) {
				fprintf(stderr,
					"kinkd: -D takes 1, 2, 3, all or a "
					"category (krb5, ticketing, packet, "
					"crypt, peer, payload, pfkey, spmif, "
					"parse, isakmp)\n");
				usage();
			}
			lvl = LOG_LVL_DEBUG;
			break;
		case 'V':
			printf("kinkd racoon2-%s [spec=RFC4430]\n", "0.1.0");
			return 0;
		case 'f':
			conf_path = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 'd':
			lvl = LOG_LVL_DEBUG;
			break;
		case 'K':
			keyexport = optarg;
			break;
		case 'P':
			d->port = (uint16_t)atoi(optarg);
			port_set = true;
			break;
		case 'k':
			backend = optarg;
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'S':
			ctl_path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'T':
			/* tests: run the Kerberos clock this many seconds off
			 */
			skew = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("kinkd", foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, lvl);
	conf_diag_init(&diag);
	rc = conf_load(conf_path, &d->conf, &diag);
	conf_diag_print(stderr, &diag);
	conf_diag_free(&diag);
	if (rc < 0)
		fatal(MOD, "%s: configuration not loaded", conf_path);
	/* our principal: the first kink remote's my_principal */
	for (size_t i = 0; i < d->conf->nremotes; i++) {
		const struct conf_remote *r = d->conf->remotes[i];
		if (r->kink.present && r->kink.my_principal) {
			first_r = r;
			break;
		}
	}
	if (!first_r && d->conf->default_remote &&
	    d->conf->default_remote->kink.my_principal)
		first_r = d->conf->default_remote;
	if (!first_r)
		fatal(MOD, "no remote has kink { my_principal }");
	d->my_principal = first_r->kink.my_principal;
	if (check_bundles(d->conf))
		fatal(MOD, "%s: configuration not usable by kinkd", conf_path);
	if (test_only) {
		printf("kinkd: %s ok (principal %s)\n", conf_path,
		       d->my_principal);
		return 0;
	}
	/* -P wins over interface { kink { ADDR port N; }; } */
	if (!port_set && d->conf->iface.kink.n &&
	    d->conf->iface.kink.v[0].has_port &&
	    d->conf->iface.kink.v[0].port != CONF_PORT_ANY)
		d->port = d->conf->iface.kink.v[0].port;
	for (size_t i = 0; i < d->conf->iface.spmd.n; i++)
		if (d->conf->iface.spmd.v[i].kind == CONF_ADDR_UNIX)
			spmd_path = d->conf->iface.spmd.v[i].name;
	if (!backend)
		backend = conf_kernel_backend(d->conf->iface.kernel);

	if (keyexport) {
		d->keyexport_esp = esp_uat_open(keyexport, "esp_sa");
		if (!d->keyexport_esp)
			fatal(MOD, "key export %s: %s", keyexport,
			      strerror(errno));
		/* AH keys to ah_sa, as iked -K: an AH SPI in esp_sa would
		 * claim an ESP SA (src/ike/keyexport.c) */
		d->keyexport_ah = esp_uat_open(keyexport, "ah_sa");
		if (!d->keyexport_ah)
			fatal(MOD, "key export %s: %s", keyexport,
			      strerror(errno));
		log_warn(MOD,
			 "KEY EXPORT IS ON: every ESP and AH key is written "
			 "to %s/esp_sa and %s/ah_sa; anyone who reads them "
			 "can decrypt or forge the traffic",
			 keyexport, keyexport);
	}
	pidfile_init(&pf);
	if (pidpath &&
	    pidfile_lock(&pf, pidpath, "kinkd", err, sizeof(err)) < 0)
		fatal(MOD, "%s", err);
	d->loop = ev_new();
	if (!d->loop)
		fatal(MOD, "event loop");
	if ((rc = kink_krb_new(&d->krb, d->my_principal)) < 0)
		fatal(MOD, "Kerberos: %s", kink_krb_strerror(NULL, rc));
	if (skew)
		kink_krb_set_time(d->krb, time(NULL) + skew);
	if ((rc = k_open(&d->kern, backend, K_OPEN_EVENTS)) < 0)
		fatal(MOD, "kernel backend %s: %s", backend,
		      d->kern.last_error);
	if (k_event_fd(&d->kern) >= 0)
		ev_add_fd(d->loop, k_event_fd(&d->kern), EPOLLIN, on_kernel, d);
	/* interface { kink { ADDR [port N]; }; } */
	for (size_t i = 0; i < d->conf->iface.kink.n; i++) {
		const struct conf_addr *a = &d->conf->iface.kink.v[i];
		if (a->kind != CONF_ADDR_IP)
			continue;
		rc = open_udp(d, a->af, a->u.b);
		if (rc < 0)
			fatal(MOD, "bind KINK port %u: %s", d->port,
			      strerror(-rc));
		if (a->af == AF_INET)
			d->fd4 = rc;
		else
			d->fd6 = rc;
	}
	if (d->fd4 < 0 && d->fd6 < 0) {
		d->fd4 = open_udp(d, AF_INET, NULL);
		d->fd6 = open_udp(d, AF_INET6, NULL);
		if (d->fd4 < 0 && d->fd6 < 0)
			fatal(MOD, "bind KINK port %u: %s", d->port,
			      strerror(-d->fd4));
	}
	/* RFC 4430 §4.2: the epoch is our boot time */
	d->epoch = (uint32_t)time(NULL);
	if (crypto_random(&d->next_xid, sizeof(d->next_xid)) < 0)
		fatal(MOD, "random");
	if (ctl_open(d, ctl_path) < 0)
		fatal(MOD, "control socket %s", ctl_path);
	if (spmd_path &&
	    (rc = spm_connect(d, spmd_path, d->conf->iface.spmd_password)) < 0)
		fatal(MOD, "spmd at %s: %s", spmd_path, strerror(-rc));
	ev_signal(d->loop, SIGTERM, on_signal, d);
	ev_signal(d->loop, SIGINT, on_signal, d);
	ev_signal(d->loop, SIGUSR1, on_signal, d);
	signal(SIGPIPE, SIG_IGN);
	ev_timer_init(&d->sweep, sweep, d);
	ev_timer_start(d->loop, &d->sweep, 5000);
	if (!foreground && daemon(0, 0) < 0)
		fatal(MOD, "daemon: %s", strerror(errno));
	if (pidpath && pidfile_write(&pf) < 0)
		fatal(MOD, "pid file %s", pidpath);
	log_info(MOD, "kinkd %s on port %u (epoch %u, kernel %s)",
		 d->my_principal, d->port, d->epoch, backend);
	r2_notify("READY=1"); /* systemd Type=notify */
	ev_run(d->loop);
	r2_notify("STOPPING=1");
	log_info(MOD, "stopping: deleting %s SAs", d->children ? "our" : "no");
	delete_all(d);
	while (d->xchgs)
		xchg_free(d, d->xchgs);
	while (d->replies) {
		struct kreply *r = d->replies;
		d->replies = r->next;
		reply_free(r);
	}
	if (d->spm)
		spmif_client_free(d->spm);
	ctlsrv_close(&ctl_srv);
	k_close(&d->kern);
	if (d->keyexport_esp)
		fclose(d->keyexport_esp);
	if (d->keyexport_ah)
		fclose(d->keyexport_ah);
	kink_krb_free(d->krb);
	conf_free(d->conf);
	ev_free(d->loop);
	if (pidpath)
		pidfile_remove(&pf);
	return 0;
}
