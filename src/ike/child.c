/*
 * child.c - CHILD SAs: proposals and traffic selectors from the policy,
 * responder-side policy choice and TS narrowing (RFC 7296 §2.9), key
 * material (§2.17), kernel install through the ops table, lifetimes,
 * and the CREATE_CHILD_SA exchange for new and rekeyed children (§1.3.1,
 * §1.3.3) with the simultaneous-rekey rule of §2.8.1.
 *
 * Ownership (one owner, one way to die -- see child_new() below): a
 * CHILD SA being negotiated belongs to struct child_nego, the task
 * state, which also owns the offer, the exchange nonce and DH context;
 * on the responder it belongs to child_process_r() until installed.
 * child_attach() then gives it to its IKE SA.  Every error path ends in
 * child_free() (kernel SAs -- the larval one too -- and dynamic policies
 * removed, memory wiped); nothing reads a child after that.  Key
 * material is wiped after the kernel has it (kept only when key export
 * is on, to write it out, then wiped too).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD	  "ike"
#define NONCE_LEN 32

/* ---- proposals ---- */

/* ---- one owner, one life cycle ---- */

/*
 * CHILD SA ownership: child_new() gives a child that belongs to its
 * creator only -- the negotiating task (struct child_nego) on the
 * initiator, child_process_r() on the responder -- and is in no list.
 * child_attach() hands it to its IKE SA (installed, or kept to show an
 * install failure); from then on the IKE SA owns it.  Whoever owns it,
 * it dies only through child_free(), which first takes everything it
 * has out of the kernel backend (a larval SPI from getspi too) and its
 * dynamic policies (child_uninstall), so no error path can leak or
 * keep using it.
 */
struct child_sa *child_new(struct ike_sa *sa)
{
	struct child_sa *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ike = sa;
	c->id = ++sa->d->next_child_id;
	c->proto = 50; /* IPPROTO_ESP */
	c->created_ms = ev_now_ms();
	ev_timer_init(&c->timer, child_timer_fire, c);
	return c;
}

void child_attach(struct child_sa *c)
{
	struct child_sa *i;

	for (i = c->ike->children; i; i = i->next)
		if (i == c)
			return;
	c->next = c->ike->children;
	c->ike->children = c;
}

void child_unlink(struct child_sa *c)
{
	struct child_sa **pp;

	if (!c->ike)
		return;
	for (pp = &c->ike->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->next = NULL;
}

void child_free(struct child_sa *c)
{
	child_uninstall(c); /* no-op when nothing is left (idempotent) */
	ev_timer_stop(c->ike->d->loop, &c->timer);
	child_unlink(c);
	free(c->nonce_min);
	mem_wipe(c, sizeof(*c));
	free(c);
}

struct child_sa *child_find_spi(struct ike_sa *sa, uint32_t spi, bool in)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next)
		if ((in ? c->spi_in : c->spi_out) == spi)
			return c;
	return NULL;
}

struct child_sa *child_find_id(struct iked *d, uint32_t id)
{
	struct ike_sa *sa;
	struct child_sa *c;

	for (sa = d->sas; sa; sa = sa->next)
		for (c = sa->children; c; c = c->next)
			if (c->id == id)
				return c;
	return NULL;
}

void child_remove(struct child_sa *c, const char *why)
{
	struct ike_sa *sa = c->ike;

	log_info(MOD, "CHILD SA #%u (%s) SPIs %08x/%08x deleted: %s", c->id,
		 c->policy, c->spi_in, c->spi_out, why);
	child_uninstall(c);
	if (c->state != CHILD_S_FAILED && c->state != CHILD_S_CREATING)
		script_run(sa->d, sa, c, SCRIPT_CHILD_DOWN);
	child_free(c);
}

/*
 * A CHILD SA's life cycle: from each state, the states it may go to.
 * child_set_state() is the only writer of c->state.  CREATING ends
 * INSTALLED or INSTALL_FAILED; an installed SA is rekeyed (REKEYING while
 * our request is out, back to INSTALLED if it fails) and superseded
 * (REKEYED); anything may be deleted (DELETING), nothing leaves it.
 */
#define S(x) (1u << (x))
static const unsigned child_next[] = {
    [CHILD_S_CREATING] =
	S(CHILD_S_INSTALLED) | S(CHILD_S_FAILED) | S(CHILD_S_DELETING),
    [CHILD_S_INSTALLED] =
	S(CHILD_S_REKEYING) | S(CHILD_S_REKEYED) | S(CHILD_S_DELETING),
    [CHILD_S_FAILED] = S(CHILD_S_DELETING),
    [CHILD_S_REKEYING] =
	S(CHILD_S_INSTALLED) | S(CHILD_S_REKEYED) | S(CHILD_S_DELETING),
    [CHILD_S_REKEYED] = S(CHILD_S_DELETING),
    [CHILD_S_DELETING] = 0,
};

bool child_set_state(struct child_sa *c, enum child_state st)
{
	if (c->state == st)
		return true;
	if ((size_t)c->state >= sizeof(child_next) / sizeof(child_next[0]) ||
	    !(child_next[c->state] & S(st))) {
		log_warn(MOD,
			 "CHILD SA #%u: illegal state change %s -> %s "
			 "refused",
			 c->id, child_state_name(c->state),
			 child_state_name(st));
		return false;
	}
	log_debug(MOD, "CHILD SA #%u %s -> %s", c->id,
		  child_state_name(c->state), child_state_name(st));
	c->state = st;
	return true;
}
#undef S

uint8_t child_ike_proto(const struct child_sa *c)
{
	return c->proto == IPPROTO_AH ? IKEV2_PROTO_AH : IKEV2_PROTO_ESP;
}

void prefs_esp(const struct ike_policy *p, const struct ike_remote *r,
	       bool responder, bool with_dh, struct ikev2_prefs *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->proto =
	    p->ipsec_proto == IPPROTO_AH ? IKEV2_PROTO_AH : IKEV2_PROTO_ESP;
	for (i = 0; out->proto == IKEV2_PROTO_ESP && i < p->esp_encr.n &&
		    out->n_encr < IKEV2_PREF_MAX;
	     i++) {
		out->encr[out->n_encr].id = p->esp_encr.a[i].id;
		out->encr[out->n_encr].keybits = p->esp_encr.a[i].keybits;
		out->n_encr++;
	}
	for (i = 0; i < p->esp_integ.n && out->n_integ < IKEV2_PREF_MAX; i++)
		out->integ[out->n_integ++] = p->esp_integ.a[i].id;
	/* ESN: propose it only when configured; a responder with ESN on
	 * accepts both (RFC 7296 §3.3.2 transform type 5). */
	if (p->esn) {
		out->esn[out->n_esn++] = IKEV2_ESN_YES;
		if (responder)
			out->esn[out->n_esn++] = IKEV2_ESN_NO;
	} else {
		out->esn[out->n_esn++] = IKEV2_ESN_NO;
	}
	if (!with_dh)
		return;
	if (p->pfs_group)
		out->dh[out->n_dh++] = p->pfs_group;
	if (!responder && p->pfs_group) {
		/* need_pfs: our group first, then the remote's other IKE
		 * groups, so that a peer preferring one of those answers
		 * INVALID_KE_PAYLOAD and we retry with it (§1.3.1). */
		for (i = 0; r && i < r->dh.n && out->n_dh < IKEV2_PREF_MAX; i++)
			if (r->dh.a[i].id != p->pfs_group)
				out->dh[out->n_dh++] = r->dh.a[i].id;
	}
	if (responder) {
		/* Accept the peer's PFS choice among our IKE groups, and
		 * no PFS unless we require it. */
		if (!p->pfs_group)
			out->dh[out->n_dh++] = IKEV2_DH_NONE;
		for (i = 0; r && i < r->dh.n && out->n_dh < IKEV2_PREF_MAX; i++)
			if (r->dh.a[i].id != p->pfs_group)
				out->dh[out->n_dh++] = r->dh.a[i].id;
	}
}

/* ---- traffic selectors ---- */

static int ts_from_side(struct ikev2_ts_list *l, uint8_t af,
			const struct kaddr *a, uint8_t plen, uint8_t proto,
			uint16_t port, uint16_t mask)
{
	l->n = 1;
	return ikev2_ts_from_prefix(&l->ts[0], af, a->u.b, plen, proto,
				    mask == 0xffff ? port : 0);
}

/* Our (local) and the peer's (remote) side of a policy as TS lists.
 * Without a selector the IKE endpoints are the selectors. */
void policy_ts(const struct ike_policy *p, const struct ike_sa *sa,
	       struct ikev2_ts_list *local, struct ikev2_ts_list *remote)
{
	const struct ksel *s = &p->sel;

	if (!s->af || s->src.af != s->dst.af ||
	    (p->mode == KMODE_TRANSPORT && s->src_plen == 0 &&
	     s->dst_plen == 0)) {
		uint8_t full = sa->local.addr.af == AF_INET6 ? 128 : 32;
		ts_from_side(local, sa->local.addr.af, &sa->local.addr, full,
			     s->af ? s->proto : 0, s->sport, s->sport_mask);
		ts_from_side(remote, sa->peer.addr.af, &sa->peer.addr, full,
			     s->af ? s->proto : 0, s->dport, s->dport_mask);
		return;
	}
	ts_from_side(local, s->af, &s->src, s->src_plen, s->proto, s->sport,
		     s->sport_mask);
	ts_from_side(remote, s->af, &s->dst, s->dst_plen, s->proto, s->dport,
		     s->dport_mask);
}

/*
 * RFC 7296 §2.9: an initiator triggered by a packet SHOULD send a TS
 * describing exactly that packet first in TSi and TSr, so that a
 * responder with a narrower policy can pick the range containing it.
 * sel is the outbound packet (src = our side).  Added only when both
 * fit inside what the policy proposes anyway (the list stays an
 * envelope we accept back).
 */
static void ts_add_packet(struct ikev2_ts_list *tsi, struct ikev2_ts_list *tsr,
			  const struct ksel *sel)
{
	struct ikev2_ts_list pi = {.n = 1}, pr = {.n = 1};
	unsigned full = sel->af == AF_INET6 ? 128 : 32;
	/* Ports only for port-carrying protocols; ICMP's type/code in the
	 * selector are not worth pinning the first TS to. */
	bool ports = sel->proto == IPPROTO_TCP || sel->proto == IPPROTO_UDP ||
		     sel->proto == IPPROTO_SCTP ||
		     sel->proto == IPPROTO_UDPLITE;
	unsigned i;

	/* Only a packet (host to host) is worth it: spmd's ACQUIRE carries
	 * the policy's selector, which the policy TS already covers. */
	if ((sel->af != AF_INET && sel->af != AF_INET6) ||
	    sel->src.af != sel->af || sel->dst.af != sel->af ||
	    sel->src_plen != full || sel->dst_plen != full || tsi->n == 0 ||
	    tsr->n == 0 || tsi->n >= IKEV2_MAX_TS || tsr->n >= IKEV2_MAX_TS)
		return;
	if (ikev2_ts_from_prefix(
		&pi.ts[0], sel->af, sel->src.u.b, full, sel->proto,
		ports && sel->sport_mask == 0xffff ? sel->sport : 0) < 0 ||
	    ikev2_ts_from_prefix(
		&pr.ts[0], sel->af, sel->dst.u.b, full, sel->proto,
		ports && sel->dport_mask == 0xffff ? sel->dport : 0) < 0)
		return;
	if (!ikev2_ts_list_within(&pi, tsi) || !ikev2_ts_list_within(&pr, tsr))
		return;
	/* Nothing more specific than the policy's own first TS pair. */
	if (ikev2_ts_within(&tsi->ts[0], &pi.ts[0]) &&
	    ikev2_ts_within(&tsr->ts[0], &pr.ts[0]))
		return;
	for (i = tsi->n; i > 0; i--)
		tsi->ts[i] = tsi->ts[i - 1];
	tsi->ts[0] = pi.ts[0];
	tsi->n++;
	for (i = tsr->n; i > 0; i--)
		tsr->ts[i] = tsr->ts[i - 1];
	tsr->ts[0] = pr.ts[0];
	tsr->n++;
}

/* First TS of a list as a kernel selector half (best effort). */
static void ts_to_ksel(const struct ikev2_ts_list *l, struct kaddr *a,
		       uint8_t *plen, uint16_t *port, uint16_t *mask,
		       uint8_t *proto, uint8_t *af)
{
	int f;
	unsigned pl;

	if (!l->n || ikev2_ts_to_prefix(&l->ts[0], &f, a->u.b, &pl) < 0)
		return;
	a->af = (uint8_t)f;
	*af = (uint8_t)f;
	*plen = (uint8_t)pl;
	*proto = l->ts[0].proto;
	if (l->ts[0].sport == l->ts[0].eport) {
		*port = l->ts[0].sport;
		*mask = 0xffff;
	}
}

static void child_set_ts(struct child_sa *c, const struct ikev2_ts_list *loc,
			 const struct ikev2_ts_list *rem)
{
	struct ksel *l = &c->ts_local, *r = &c->ts_remote;

	memset(l, 0, sizeof(*l));
	memset(r, 0, sizeof(*r));
	/* ts_local: src = our side; ts_remote: dst = the peer's side. */
	ts_to_ksel(loc, &l->src, &l->src_plen, &l->sport, &l->sport_mask,
		   &l->proto, &l->af);
	ts_to_ksel(rem, &r->dst, &r->dst_plen, &r->dport, &r->dport_mask,
		   &r->proto, &r->af);
}

/* ---- kernel ---- */

/*
 * The reqid spmd gave the policy, for a CHILD SA the peer started (an
 * ACQUIRE brings its own: task.acq_reqid): explicit in the config, or
 * asked from spmd (spmif REQID through the daemon's policy ops,
 * rw_spmd.c) by the policy's name and outbound selector.  Without spmd
 * there is no policy to match but a configured one, hence 0.
 */
uint32_t policy_reqid(struct iked *d, const struct ike_policy *p)
{
	const struct rw_dynpol_ops *ops = d->rw ? d->rw->ops : NULL;

	if (p->reqid || !p->sel.af || !ops || !ops->reqid)
		return p->reqid;
	return ops->reqid(d, p);
}

static void endpoints(const struct child_sa *c, const struct ike_policy *p,
		      struct kaddr *local, struct kaddr *peer)
{
	*local = c->ike->local.addr;
	*peer = c->ike->peer.addr;
	/* Tunnel endpoints from the policy when given (my_sa_ipaddr /
	 * peers_sa_ipaddr), else the IKE addresses; once the IKE SA moved
	 * (NAT mapping, MOBIKE) its CHILD SAs are where it is. */
	if (p && p->mode == KMODE_TUNNEL && !c->ike->moved) {
		if (p->my_sa.af == local->af)
			*local = p->my_sa;
		if (p->peer_sa.af == peer->af && !p->peer_sa_rw)
			*peer = p->peer_sa;
	}
}

/* The child's GETSPI as a batch operation (kernel.h struct kop), not run
 * yet (rc KOP_TODO): the responder hands it to rw.c, whose policies'
 * batch carries it (child_process_r). */
static void child_spi_op(struct ike_sa *sa, const struct ike_policy *p,
			 const struct child_sa *c, struct kop *o)
{
	struct child_sa tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.ike = sa;
	memset(o, 0, sizeof(*o));
	o->type = KOP_GETSPI;
	o->rc = KOP_TODO;
	o->u.getspi.proto = c->proto;
	endpoints(&tmp, p, &o->u.getspi.dst, &o->u.getspi.src);
	o->u.getspi.reqid = c->reqid;
}

/* Our SPI for c: a larval SA from getspi (done already when op says so:
 * op->rc not KOP_TODO; op may be NULL), else a random one. */
static int child_spi_alloc(struct ike_sa *sa, const struct ike_policy *p,
			   struct child_sa *c, struct kop *op)
{
	uint32_t reqid = c->reqid, *spi = &c->spi_in;
	struct kaddr local, peer;
	struct child_sa tmp;
	int rc = -ENODEV;

	memset(&tmp, 0, sizeof(tmp));
	tmp.ike = sa;
	endpoints(&tmp, p, &local, &peer);
	if (op && op->rc != KOP_TODO) {
		rc = op->rc; /* in the dynamic policies' batch (rw.c) */
		if (rc == 0)
			*spi = op->u.getspi.spi;
	} else if (sa->d->kern_open) {
		rc =
		    k_getspi(&sa->d->kern, c->proto, &peer, &local, reqid, spi);
	}
	if (rc < 0) {
		/* No larval SA (e.g. no ESP in this kernel): pick one;
		 * the install will report the real problem. */
		log_debug(MOD, "getspi failed (%s), using a random SPI",
			  sa->d->kern_open ? sa->d->kern.last_error
					   : "no kernel");
		do
			rc = crypto_random(spi, sizeof(*spi));
		while (rc == 0 && *spi < 256);
		if (rc < 0) {
			*spi = 0;
			return rc; /* no SPI: the child is not made */
		}
	} else {
		/* A larval SA now exists: the install updates it, and a
		 * failure must remove it. */
		c->spi_larval = true;
		c->in_installed = true;
	}
	return 0;
}

/*
 * Our CPI for IPComp beside c (RFC 7296 §2.22, RFC 3173 §3.3): a larval
 * IPComp SA from getspi in 256-61439.  Unlike an SPI there is no random
 * fallback: without a CPI from the backend we offer or accept no IPComp
 * (it is optional, RFC 3173 §2.1).  Returns 0 or a negative errno.
 */
static int child_cpi_alloc(struct ike_sa *sa, const struct ike_policy *p,
			   struct child_sa *c)
{
	struct kaddr local, peer;
	struct child_sa tmp;
	uint32_t cpi = 0;
	int rc = -ENODEV;

	memset(&tmp, 0, sizeof(tmp));
	tmp.ike = sa;
	endpoints(&tmp, p, &local, &peer);
	if (sa->d->kern_open)
		rc = k_getspi(&sa->d->kern, IPPROTO_COMP, &peer, &local,
			      c->reqid, &cpi);
	if (rc < 0 || cpi < IKEV2_CPI_MIN || cpi > IKEV2_CPI_MAX) {
		log_info(MOD,
			 "CHILD SA #%u (%s): no IPComp CPI from the kernel "
			 "backend (%s): without IPComp",
			 c->id, p->name,
			 rc < 0 ? (sa->d->kern_open ? sa->d->kern.last_error
						    : "no kernel")
				: "CPI out of range");
		if (rc == 0 && cpi)
			k_sa_del(&sa->d->kern, IPPROTO_COMP, &local, cpi);
		return rc < 0 ? rc : -ERANGE;
	}
	c->cpi_in = (uint16_t)cpi;
	c->cpi_larval = true;
	c->cpi_in_installed = true; /* the larval SA: removed on failure */
	return 0;
}

/* The peer declined IPComp: our larval CPI goes. */
static void child_cpi_release(struct child_sa *c, const struct ike_policy *p)
{
	struct iked *d = c->ike->d;
	struct kaddr local, peer;

	endpoints(c, p, &local, &peer);
	if (c->cpi_in_installed && d->kern_open &&
	    k_sa_del(&d->kern, IPPROTO_COMP, &local, c->cpi_in) < 0)
		log_warn(MOD, "CHILD SA #%u: deleting IPComp CPI %04x: %s",
			 c->id, c->cpi_in, d->kern.last_error);
	c->cpi_in_installed = c->cpi_larval = false;
	c->cpi_in = c->cpi_out = 0;
	c->ipcomp = 0;
}

static void ksa_fill(struct ksa *k, const struct child_sa *c,
		     const struct ike_policy *p, bool inbound,
		     const uint8_t *keys, size_t enc_len, size_t integ_len)
{
	struct kaddr local, peer;
	const struct ike_sa *sa = c->ike;

	memset(k, 0, sizeof(*k));
	endpoints(c, p, &local, &peer);
	k->proto = c->proto;
	k->spi = inbound ? c->spi_in : c->spi_out;
	k->src = inbound ? peer : local;
	k->dst = inbound ? local : peer;
	k->mode = c->mode;
	k->reqid = c->reqid;
	k->encr_id = c->algs.encr;
	k->encr_keybits = c->algs.encr_keybits;
	k->integ_id = c->algs.integ;
	if (keys) { /* NULL for IPComp (ksa_fill_comp) */
		memcpy(k->enc_key, keys, enc_len);
		k->enc_key_len = (uint16_t)enc_len;
		memcpy(k->auth_key, keys + enc_len, integ_len);
		k->auth_key_len = (uint16_t)integ_len;
	}
	k->esn = c->algs.esn == IKEV2_ESN_YES;
	k->replay_window = p ? p->replay_window : 64;
	if (k->esn && k->replay_window < 64)
		k->replay_window = 64;
	if (p && p->lifetime_bytes) {
		k->lft.hard_bytes = p->lifetime_bytes;
		k->lft.soft_bytes = p->lifetime_bytes / 10 * 8;
	}
	/* RFC 3948: UDP encapsulation only when a NAT is in the way. */
	if (sa->natt && (sa->nat_local || sa->nat_peer)) {
		k->encap.enabled = true;
		k->encap.sport = inbound ? sa->peer.port : sa->local.port;
		k->encap.dport = inbound ? sa->local.port : sa->peer.port;
	}
	if (c->mode == KMODE_TRANSPORT) {
		/* A selector pins a transport SA to its traffic. */
		const struct ksel *l = &c->ts_local, *r = &c->ts_remote;
		if (l->af && r->af == l->af) {
			struct ksel *s = &k->sel;
			s->af = l->af;
			s->proto = l->proto;
			s->src = inbound ? r->dst : l->src;
			s->dst = inbound ? l->src : r->dst;
			s->src_plen = inbound ? r->dst_plen : l->src_plen;
			s->dst_plen = inbound ? l->src_plen : r->dst_plen;
		}
	}
}

/* The IPComp SA of one direction (RFC 3173 §2: no keys, no sequence
 * numbers; the CPI is its SPI), with the ESP/AH SA's endpoints, mode,
 * reqid and transport selector. */
static void ksa_fill_comp(struct ksa *k, const struct child_sa *c,
			  const struct ike_policy *p, bool inbound)
{
	ksa_fill(k, c, p, inbound, NULL, 0, 0);
	ksa_to_comp(k, inbound ? c->cpi_in : c->cpi_out, c->ipcomp);
}

/*
 * The CHILD SA's SAs, and the templates of its policies, move in place
 * from the IKE SA's old endpoints (old_local, old_peer) to its current
 * ones (a NAT mapping change, RFC 7296 §2.23; a MOBIKE address update,
 * RFC 4555 §3.5), with the current UDP encapsulation: the backend's
 * MIGRATE (kernel.h struct kmigrate_req) keeps SPIs, keys, sequence
 * numbers and replay windows.  One request per policy direction (out,
 * in, and fwd where the backend has one), each by the negotiated
 * selectors.  Returns 0, or the backend's error for the first direction
 * that could not move (the caller falls back to a rekey).
 */
int child_migrate(struct child_sa *c, const struct ike_ep *old_local,
		  const struct ike_ep *old_peer)
{
	struct ike_sa *sa = c->ike;
	struct iked *d = sa->d;
	const struct ike_policy *p = cfg_policy_by_name(d->cfg, c->policy);
	const struct ksel *l = &c->ts_local, *r = &c->ts_remote;
	struct kaddr nl, np, ol, op;
	struct child_sa old = *c;
	struct ike_sa osa = *sa;
	static const enum kdir dirs[] = {KDIR_OUT, KDIR_IN, KDIR_FWD};
	bool encap = sa->natt && (sa->nat_local || sa->nat_peer);
	int rc;

	if (!d->kern_open || c->state != CHILD_S_INSTALLED || !l->af ||
	    l->af != r->af)
		return -ENOENT;
	osa.moved = sa->moved; /* where the SAs are now */
	sa->moved = true;
	endpoints(c, p, &nl, &np);
	osa.local = *old_local;
	osa.peer = *old_peer;
	old.ike = &osa;
	endpoints(&old, p, &ol, &op);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct kmigrate_req q;
		struct kmigrate *m = &q.m[0];
		bool out = dirs[i] == KDIR_OUT;

		if (dirs[i] == KDIR_FWD && (c->mode != KMODE_TUNNEL ||
					    !k_has(&d->kern, KF_FWD_POLICY)))
			continue;
		memset(&q, 0, sizeof(q));
		q.dir = dirs[i];
		q.sel.af = l->af;
		q.sel.proto = l->proto ? l->proto : r->proto;
		q.sel.src = out ? l->src : r->dst;
		q.sel.src_plen = out ? l->src_plen : r->dst_plen;
		q.sel.sport = out ? l->sport : r->dport;
		q.sel.sport_mask = out ? l->sport_mask : r->dport_mask;
		q.sel.dst = out ? r->dst : l->src;
		q.sel.dst_plen = out ? r->dst_plen : l->src_plen;
		q.sel.dport = out ? r->dport : l->sport;
		q.sel.dport_mask = out ? r->dport_mask : l->sport_mask;
		q.n = 1;
		m->proto = c->proto ? c->proto : IPPROTO_ESP;
		m->mode = c->mode;
		m->reqid = c->reqid;
		m->old_src = out ? ol : op;
		m->old_dst = out ? op : ol;
		m->new_src = out ? nl : np;
		m->new_dst = out ? np : nl;
		if (c->ipcomp) {
			/* the IPComp SA of the bundle moves with it */
			q.m[1] = *m;
			q.m[1].proto = IPPROTO_COMP;
			q.n = 2;
		}
		/* RFC 3948: the encapsulation ports as ksa_fill() sets them. */
		q.has_encap = true;
		q.encap.enabled = encap;
		if (encap) {
			q.encap.sport = out ? sa->local.port : sa->peer.port;
			q.encap.dport = out ? sa->peer.port : sa->local.port;
		}
		rc = k_migrate(&d->kern, &q);
		if (rc < 0 && dirs[i] == KDIR_FWD) {
			/* The SAs moved with the in policy already (behind
			 * privilege separation the parent lets the forward
			 * template follow them: kproxy.c req_migrate).  If
			 * the backend still refuses, only the forward
			 * policy's template stays behind (forwarded
			 * traffic); not a reason to rekey. */
			log_info(MOD,
				 "CHILD SA #%u (%s): forward policy not moved: "
				 "%s",
				 c->id, c->policy, d->kern.last_error);
			continue;
		}
		if (rc < 0) {
			log_warn(MOD,
				 "CHILD SA #%u (%s): moving its SAs in place "
				 "failed (%s dir %d): %s",
				 c->id, c->policy, "migrate", (int)dirs[i],
				 d->kern.last_error);
			return rc;
		}
	}
	return 0;
}

/*
 * Install both directions.  keymat = i->r keys then r->i keys, each
 * encr || integ (§2.17); the initiator of the exchange sends with i->r.
 */
static int child_install(struct child_sa *c, const struct ike_policy *p,
			 const uint8_t *keymat, size_t enc_len,
			 size_t integ_len)
{
	struct iked *d = c->ike->d;
	size_t per = enc_len + integ_len;
	const uint8_t *k_out = c->initiated ? keymat : keymat + per;
	const uint8_t *k_in = c->initiated ? keymat + per : keymat;
	struct ksa k[4];
	struct kop ops[4];
	size_t n = 2;
	int rc = -ENODEV;

	keyexport_child(d, c, k_in, k_out, enc_len, integ_len);
	if (!d->kern_open) {
		snprintf(c->install_err, sizeof(c->install_err),
			 "no kernel backend");
		goto fail;
	}
	/* One batch (kernel.h k_batch: one round trip to the privileged
	 * parent): inbound, outbound, and with IPComp (§2.22) the IPComp
	 * pair beside them, the peer's CPI out.  Each is attempted; what
	 * was installed is marked, so that on any failure child_uninstall
	 * removes exactly that (and the larval SAs of getspi). */
	ksa_fill(&k[0], c, p, true, k_in, enc_len, integ_len);
	k[0].update = c->spi_larval;
	ksa_fill(&k[1], c, p, false, k_out, enc_len, integ_len);
	if (c->ipcomp) {
		ksa_fill_comp(&k[2], c, p, true);
		k[2].update = c->cpi_larval;
		ksa_fill_comp(&k[3], c, p, false);
		n = 4;
	}
	for (size_t i = 0; i < n; i++) {
		ops[i].type = KOP_SA_ADD;
		ops[i].u.sa = &k[i];
	}
	rc = k_batch(&d->kern, ops, n);
	for (size_t i = 0; i < n; i++)
		ksa_wipe(&k[i]);
	if (ops[0].rc == 0)
		c->in_installed = true;
	if (ops[1].rc == 0)
		c->out_installed = true;
	if (n > 2 && ops[2].rc == 0)
		c->cpi_in_installed = true;
	if (n > 3 && ops[3].rc == 0)
		c->cpi_out_installed = true;
	if (rc < 0) {
		bool comp = ops[0].rc == 0 && ops[1].rc == 0;
		snprintf(c->install_err, sizeof(c->install_err), "%s%.100s",
			 comp ? "IPComp: " : "", d->kern.last_error);
		goto fail;
	}
	child_set_state(c, CHILD_S_INSTALLED);
	return 0;

fail:
	/* Reported like strongSwan does: the IKE SA stays, the peer is
	 * told (by the caller), nothing crashes. */
	log_err(MOD,
		"CHILD SA #%u (%s): unable to install inbound and "
		"outbound IPsec SA (SAD) in kernel: %s",
		c->id, c->policy, c->install_err);
	child_uninstall(c);
	child_set_state(c, CHILD_S_FAILED);
	return rc < 0 ? rc : -EIO;
}

static const char *pair_name(uint8_t proto)
{
	return proto == IPPROTO_AH     ? "AH SA"
	       : proto == IPPROTO_COMP ? "IPComp SA"
				       : "SA";
}

void child_pairs_del(struct iked *d, uint32_t child_id,
		     const struct kaddr *local, const struct kaddr *peer,
		     const struct child_pair *v, size_t npairs,
		     const struct kop *more, size_t nmore)
{
	/* every SA of every pair, then the caller's operations (a road
	 * warrior's policies): the SAs go first, so that traffic still
	 * matching a policy in between finds no SA and is dropped
	 * (RFC 4301 §5.1), not sent in the clear */
	struct kop ops[3 * 2 + KBATCH_MAX];
	const struct child_pair *pr[3 * 2];
	bool in[3 * 2];
	size_t n = 0, nsa;

	memset(ops, 0, sizeof(ops));
	for (size_t p = 0; p < npairs && p < 3; p++) {
		for (int i = 0; i < 2 && d->kern_open; i++) {
			if (!(i == 0 ? *v[p].in_installed
				     : *v[p].out_installed))
				continue;
			ops[n].type = KOP_SA_DEL;
			ops[n].u.sa_del.proto = v[p].proto;
			ops[n].u.sa_del.dst = i == 0 ? *local : *peer;
			ops[n].u.sa_del.spi =
			    i == 0 ? v[p].spi_in : v[p].spi_out;
			pr[n] = &v[p];
			in[n++] = i == 0;
		}
		*v[p].in_installed = *v[p].out_installed = false;
	}
	nsa = n;
	for (size_t i = 0; i < nmore && i < KBATCH_MAX && d->kern_open; i++)
		ops[n++] = more[i];
	/* one batch (kernel.h k_batch): one round trip to the parent; more
	 * than KBATCH_MAX (IKEv1's ESP, AH and IPComp pairs) in two */
	for (size_t at = 0; at < n; at += KBATCH_MAX) {
		size_t m = n - at < KBATCH_MAX ? n - at : KBATCH_MAX;
		bool first = true;

		if (k_batch(&d->kern, ops + at, m) == 0)
			continue;
		for (size_t i = at; i < at + m; i++) {
			const char *why =
			    first ? d->kern.last_error : strerror(-ops[i].rc);
			if (ops[i].rc >= 0)
				continue;
			if (i < nsa)
				log_warn(
				    MOD,
				    "CHILD SA #%u: deleting %s %s %08x: %s",
				    child_id, in[i] ? "inbound" : "outbound",
				    pair_name(pr[i]->proto),
				    ops[i].u.sa_del.spi, why);
			else
				log_warn(MOD,
					 "CHILD SA #%u: dynamic policy index "
					 "%08x: %s",
					 child_id, ops[i].u.pol->index, why);
			first = false;
		}
	}
}

void child_pair_del(struct iked *d, uint32_t child_id, uint8_t proto,
		    const struct kaddr *local, const struct kaddr *peer,
		    uint32_t spi_in, uint32_t spi_out, bool *in_installed,
		    bool *out_installed)
{
	struct child_pair p = {proto, spi_in, spi_out, in_installed,
			       out_installed};

	child_pairs_del(d, child_id, local, peer, &p, 1, NULL, 0);
}

void child_uninstall(struct child_sa *c)
{
	struct iked *d = c->ike->d;
	const struct ike_policy *p = cfg_policy_by_name(d->cfg, c->policy);
	struct kaddr local, peer;
	/* §3.11: IPComp SAs have no Delete of their own: they go here */
	struct child_pair pairs[2] = {
	    {c->proto, c->spi_in, c->spi_out, &c->in_installed,
	     &c->out_installed},
	    {IPPROTO_COMP, c->cpi_in, c->cpi_out, &c->cpi_in_installed,
	     &c->cpi_out_installed},
	};
	struct kpolicy pol[RW_KPOL_MAX];
	struct kop more[RW_KPOL_MAX];
	size_t nmore;

	/* its dynamic policies (rw.c), unless its successor takes them:
	 * in the same batch as its SAs (one round trip to the parent) */
	nmore = rw_child_gone(c, more, pol);
	endpoints(c, p, &local, &peer);
	child_pairs_del(d, c->id, &local, &peer, pairs, 2, more, nmore);
}

/* Derive and install; returns 0, or a negative errno on failure (the
 * child is then FAILED and the caller tells the peer). */
static int child_keys_install(struct child_sa *c, const struct ike_policy *p,
			      const uint8_t *gir, size_t gir_len,
			      const uint8_t *ni, size_t ni_len,
			      const uint8_t *nr, size_t nr_len)
{
	struct ike_sa *sa = c->ike;
	uint8_t keymat[4 * CRYPTO_MAX_KEY];
	size_t enc_len, integ_len, per;
	int rc;

	per = ikev2_child_keymat_len(&c->algs, &enc_len, &integ_len);
	if (!per || 2 * per > sizeof(keymat))
		return -EINVAL;
	rc = ikev2_derive_child_keys(sa->algs.prf, sa->keys.sk_d,
				     sa->keys.prf_len, gir, gir_len, ni, ni_len,
				     nr, nr_len, keymat, 2 * per);
	if (rc < 0)
		return rc;
	if (ike_nonce_min_set(&c->nonce_min, &c->nonce_min_len, ni, ni_len, nr,
			      nr_len) < 0)
		log_warn(MOD, "CHILD SA #%u: no memory for its lowest nonce",
			 c->id);
	rc = child_install(c, p, keymat, enc_len, integ_len);
	mem_wipe(keymat, sizeof(keymat));
	if (rc == 0) {
		char b1[64], b2[64];
		if (c->ipcomp)
			log_info(MOD,
				 "CHILD SA #%u (%s): IPComp %s CPIs in %04x "
				 "out %04x",
				 c->id, c->policy,
				 c->ipcomp == IKEV2_IPCOMP_DEFLATE ? "DEFLATE"
								   : "?",
				 c->cpi_in, c->cpi_out);
		log_info(
		    MOD,
		    "CHILD SA #%u (%s) installed: %s %s %s-%u/%s "
		    "SPIs in %08x out %08x, %s/%u === %s/%u",
		    c->id, c->policy,
		    c->mode == KMODE_TUNNEL ? "tunnel" : "transport",
		    /* AH (RFC 4302) has integrity only: no ENCR */
		    c->proto == IPPROTO_AH ? "AH" : "ESP",
		    c->proto == IPPROTO_AH ? "none"
					   : crypto_encr_name(c->algs.encr),
		    c->algs.encr_keybits,
		    c->algs.integ ? crypto_integ_name(c->algs.integ) : "aead",
		    c->spi_in, c->spi_out,
		    kaddr_str(&c->ts_local.src, b1, sizeof(b1)),
		    c->ts_local.src_plen,
		    kaddr_str(&c->ts_remote.dst, b2, sizeof(b2)),
		    c->ts_remote.dst_plen);
		child_established(c, p);
		script_run(sa->d, sa, c, SCRIPT_CHILD_UP);
	}
	return rc;
}

/* ---- initiator side ---- */

void child_nego_free(void *p)
{
	struct child_nego *cn = p;

	if (!cn)
		return;
	/* A child still being negotiated dies with its task. */
	if (cn->child)
		child_free(cn->child);
	crypto_dh_free(cn->dh);
	mem_wipe(cn, sizeof(*cn));
	free(cn);
}

/* Prepare a child for policy p: SPI, offer, TS.  The child belongs to
 * the task (cn->child) until child_complete() attaches it to sa. */
/*
 * A rekeyed CHILD SA serves the same policy as the one it replaces, so
 * it keeps its reqid: an SA with another reqid would match no policy
 * template.  A CHILD SA an ACQUIRE asked for takes the ACQUIRE's.
 */
static uint32_t child_reqid(struct ike_sa *sa, const struct task *t,
			    const struct ike_policy *p)
{
	if (t->type == TASK_CHILD_REKEY) {
		const struct child_sa *old = child_find_id(sa->d, t->child_id);

		if (old && old->reqid)
			return old->reqid;
	}
	if (t->acq_reqid)
		return t->acq_reqid; /* spmd's, from the ACQUIRE */
	return policy_reqid(sa->d, p);
}

int child_prepare(struct ike_sa *sa, struct task *t, bool with_ke)
{
	const struct ike_policy *p = cfg_policy_by_name(sa->d->cfg, t->policy);
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	struct child_nego *cn;
	struct ikev2_prefs prefs;
	uint16_t group;
	uint8_t spi[4];
	int rc;

	if (!p)
		return -ENOENT;
	cn = calloc(1, sizeof(*cn));
	if (!cn)
		return -ENOMEM;
	t->state = cn;
	t->free_state = child_nego_free;
	if (with_ke) {
		/* §2.10: Ni first, so that no RNG leaves nothing behind. */
		cn->ni_len = NONCE_LEN;
		if ((rc = crypto_random(cn->ni, cn->ni_len)) < 0)
			return rc;
	}
	cn->child = child_new(sa);
	if (!cn->child)
		return -ENOMEM;
	snprintf(cn->child->policy, sizeof(cn->child->policy), "%s", p->name);
	cn->child->mode = p->mode;
	cn->child->proto = p->ipsec_proto;
	cn->child->initiated = true;
	cn->child->reqid = child_reqid(sa, t, p);
	if ((rc = child_spi_alloc(sa, p, cn->child, NULL)) < 0)
		return rc; /* the task's free_state frees the child */
	ikev2_spi32_put(spi, cn->child->spi_in);
	/* §2.22: IPComp offered with our CPI when the bundle has it */
	if (p->n_ipcomp && child_cpi_alloc(sa, p, cn->child) == 0) {
		memcpy(cn->ipcomp, p->ipcomp, p->n_ipcomp);
		cn->n_ipcomp = p->n_ipcomp;
	}
	prefs_esp(p, r, false, with_ke, &prefs);
	group = with_ke && p->pfs_group ? p->pfs_group : 0;
	if (group && t->ke_group) {
		/* Retry after INVALID_KE_PAYLOAD: the named group (already
		 * checked to be one we offered) moves to the front. */
		size_t i;
		for (i = 1; i < prefs.n_dh; i++)
			if (prefs.dh[i] == t->ke_group) {
				prefs.dh[i] = prefs.dh[0];
				prefs.dh[0] = t->ke_group;
			}
		group = t->ke_group;
	}
	rc = ikev2_sa_build(&prefs, spi, 4, &cn->offer);
	if (rc < 0)
		return rc;
	policy_ts(p, sa, &cn->tsi, &cn->tsr);
	if (t->have_acq_sel)
		ts_add_packet(&cn->tsi, &cn->tsr, &t->acq_sel);
	cn->transport = p->mode == KMODE_TRANSPORT;
	if (with_ke && group) {
		rc = crypto_dh_new(group, &cn->dh);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Is group one of the DH groups our CHILD offer for task t lists? */
static bool child_group_offered(const struct child_nego *cn, uint16_t group)
{
	unsigned i, j;

	for (i = 0; i < cn->offer.nprop; i++)
		for (j = 0; j < cn->offer.prop[i].nxf; j++)
			if (cn->offer.prop[i].xf[j].type == IKEV2_XF_DH &&
			    cn->offer.prop[i].xf[j].id == group)
				return true;
	return false;
}

void child_put_offer_notifies(struct ikev2_wr *b, const struct child_nego *cn)
{
	if (cn->transport)
		ikev2_put_notify_simple(b, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	/* §2.22: one IPCOMP_SUPPORTED per transform, all with our CPI */
	for (unsigned i = 0; cn->child && i < cn->n_ipcomp; i++) {
		struct ikev2_ipcomp ic = {.cpi = cn->child->cpi_in,
					  .xform = cn->ipcomp[i]};
		ikev2_put_ipcomp(b, &ic);
	}
}

void child_put_result_notifies(struct ikev2_wr *b,
			       const struct child_result *res)
{
	if (res->transport)
		ikev2_put_notify_simple(b, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	/* §2.22: exactly one, with the responder's CPI */
	if (res->has_ipcomp)
		ikev2_put_ipcomp(b, &res->ipcomp);
}

void child_put_sa_ts(struct ikev2_wr *b, const struct child_nego *cn,
		     bool sa_only)
{
	if (sa_only) {
		ikev2_put_sa(b, &cn->offer);
		return;
	}
	ikev2_put_ts(b, IKEV2_PL_TSi, &cn->tsi);
	ikev2_put_ts(b, IKEV2_PL_TSr, &cn->tsr);
}

/*
 * The negotiated child will not be used: it dies here (its larval SA
 * with it).  peer_has_it: the peer answered with an SA of its own, so it
 * is told to drop its half -- a DELETE naming our inbound SPI (§1.4.1,
 * §3.11), read before the child is gone.
 */
static void child_refused(struct ike_sa *sa, struct child_nego *cn,
			  const char *why, bool peer_has_it)
{
	struct child_sa *c = cn->child;
	uint32_t spi_in = c ? c->spi_in : 0;

	log_warn(MOD, "IKE SA #%u: CHILD SA for %s not established: %s", sa->id,
		 c ? c->policy : "?", why);
	cn->child = NULL;
	if (c)
		child_free(c);
	if (peer_has_it && spi_in)
		queue_child_delete_spi(sa, spi_in);
}

/* Error notify in a response, if any. */
static uint16_t first_error(const struct ike_msg *m)
{
	struct ikev2_notify n;
	int i = -1;

	while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0)
		if (ikev2_get_notify(&m->pl[i], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

/*
 * Process the child part of a response (IKE_AUTH or CREATE_CHILD_SA).
 * ni/nr are the nonces of that exchange, gir the PFS secret or NULL.
 * Returns the new child or NULL.
 */
struct child_sa *child_complete(struct ike_sa *sa, struct child_nego *cn,
				const struct ike_msg *m, const uint8_t *gir,
				size_t gir_len, const uint8_t *ni,
				size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	struct child_sa *c = cn->child;
	const struct ike_policy *p;
	const struct ikev2_pl *pl;
	struct ikev2_sa reply;
	struct ikev2_ts_list tsi, tsr;
	uint16_t err;
	bool transport, peer_sa;
	char why[96];

	if (!c)
		return NULL;
	p = cfg_policy_by_name(sa->d->cfg, c->policy);
	if ((err = first_error(m)) != 0) {
		snprintf(why, sizeof(why), "peer answered %s",
			 ikev2_notify_name(err));
		child_refused(sa, cn, why, false);
		return NULL;
	}
	/* From here on a refusal may leave the peer with a half it has
	 * installed (it sent its SA): it is told.  Context check: we asked
	 * for a CHILD SA, so an IKE_AUTH response without one (and without
	 * an error) is a refusal; the codec's rules (msg.c) make SA, TSi
	 * and TSr come together. */
	pl = ikev2_msg_find(m, IKEV2_PL_SA);
	peer_sa = pl != NULL;
	if (!p || ikev2_get_sa(pl, &reply) != 0 ||
	    ikev2_sa_check_reply(&cn->offer, &reply, &c->algs) != 0 ||
	    reply.prop[0].spi_len != 4) {
		child_refused(sa, cn, "bad SA payload in response", peer_sa);
		return NULL;
	}
	c->spi_out = ikev2_spi32_get(reply.prop[0].spi);
	for (unsigned i = 0; i < sa->n_early_del; i++)
		if (sa->early_del[i] == c->spi_out) {
			/* §2.25: the peer deleted it (and we answered)
			 * before this response arrived: it is gone. */
			child_refused(sa, cn,
				      "deleted by the peer before "
				      "the response arrived",
				      false);
			return NULL;
		}
	if (ikev2_get_ts(ikev2_msg_find(m, IKEV2_PL_TSi), &tsi) != 0 ||
	    ikev2_get_ts(ikev2_msg_find(m, IKEV2_PL_TSr), &tsr) != 0 ||
	    /* §2.9: the responder may only narrow what we proposed. */
	    !ikev2_ts_list_within(&tsi, &cn->tsi) ||
	    !ikev2_ts_list_within(&tsr, &cn->tsr)) {
		child_refused(sa, cn, "traffic selectors not acceptable", true);
		return NULL;
	}
	transport = ikev2_msg_find_notify(m, IKEV2_N_USE_TRANSPORT_MODE, NULL);
	if (transport != cn->transport) {
		/* §1.3.1: without the notify the SA is tunnel mode. */
		child_refused(sa, cn, "IPsec mode mismatch", true);
		return NULL;
	}
	if (cn->n_ipcomp) {
		/* §2.22: the responder took IPComp if it answered with one
		 * of the transforms we offered; none: without IPComp */
		struct ikev2_ipcomp ic;
		unsigned bad;

		if (ikev2_ipcomp_choose(m, cn->ipcomp, cn->n_ipcomp, &ic,
					&bad)) {
			c->ipcomp = ic.xform;
			c->cpi_out = ic.cpi;
		} else if (ikev2_msg_find_notify(m, IKEV2_N_IPCOMP_SUPPORTED,
						 NULL)) {
			/* malformed, or a transform we did not offer */
			child_refused(sa, cn,
				      "IPCOMP_SUPPORTED in the response is "
				      "malformed or not one we offered",
				      true);
			return NULL;
		} else {
			log_info(MOD,
				 "CHILD SA #%u (%s): the peer declined "
				 "IPComp",
				 c->id, c->policy);
			child_cpi_release(c, p);
		}
	} else if (ikev2_msg_find_notify(m, IKEV2_N_IPCOMP_SUPPORTED, NULL)) {
		/* §2.22: not asked for; nothing uses it */
		log_info(MOD,
			 "IKE SA #%u: IPCOMP_SUPPORTED we did not offer "
			 "ignored",
			 sa->id);
	}
	child_set_ts(c, &tsi, &tsr);
	/* The IKE SA owns it from now on, installed or not (an install
	 * failure stays visible as INSTALL_FAILED until deleted). */
	cn->child = NULL;
	child_attach(c);
	if (child_keys_install(c, p, gir, gir_len, ni, ni_len, nr, nr_len) <
	    0) {
		/* We cannot use it: tell the peer to drop its half (the
		 * delete task removes ours; c is not the caller's now). */
		queue_child_delete_spi(sa, c->spi_in);
		return NULL;
	}
	return c;
}

/* ---- responder side ---- */

static bool ts_in_list(const struct ikev2_ts *ts, const struct ikev2_ts_list *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (ikev2_ts_within(ts, &l->ts[i]))
			return true;
	return false;
}

/*
 * Pick the policy for the peer's TS (§2.9 narrowing) and create the
 * child.  On success fills res (reply SA, narrowed TS) and returns 0;
 * otherwise an IKEv2 error notify type.  The child is installed here.
 */
int child_process_r(struct ike_sa *sa, const struct ike_msg *m,
		    const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		    size_t ni_len, const uint8_t *nr, size_t nr_len,
		    bool with_dh, uint16_t ke_group, struct child_result *res)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	const struct ike_policy *p = NULL;
	struct ikev2_sa offer;
	struct ikev2_ts_list tsi, tsr, loc, rem, ni_ts, nr_ts;
	struct ikev2_prefs prefs;
	struct ikev2_suite suite;
	struct child_sa *c;
	struct kop spi_op;
	bool transport, ts_match = false;
	uint8_t spi[4];
	size_t it = 0;
	int rc, pass;

	memset(res, 0, sizeof(*res));
	/* Context check (§1.3, §1.3.1): a CHILD SA needs its selectors;
	 * the codec cannot tell an ESP proposal from an IKE rekey. */
	if (ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &offer) != 0 ||
	    ikev2_get_ts(ikev2_msg_find(m, IKEV2_PL_TSi), &tsi) != 0 ||
	    ikev2_get_ts(ikev2_msg_find(m, IKEV2_PL_TSr), &tsr) != 0)
		return IKEV2_N_INVALID_SYNTAX;
	transport = ikev2_msg_find_notify(m, IKEV2_N_USE_TRANSPORT_MODE, NULL);

	/* Each policy of the remote is an envelope; the first one both
	 * selectors narrow into wins (§2.9).  When the initiator sent more
	 * than one TS, the first may be the packet that triggered it
	 * (§2.9): a first pass prefers the policy that contains it. */
	for (pass = (tsi.n > 1 && tsr.n > 1) ? 0 : 1; pass < 2; pass++) {
		it = 0;
		while (
		    (p = cfg_policy_for_remote(sa->d->cfg, sa->remote, &it))) {
			policy_ts(p, sa, &loc, &rem);
			if (pass == 0 && (!ts_in_list(&tsi.ts[0], &rem) ||
					  !ts_in_list(&tsr.ts[0], &loc)))
				continue;
			if (ikev2_ts_narrow(&tsi, &rem, &ni_ts) != 0 ||
			    ikev2_ts_narrow(&tsr, &loc, &nr_ts) != 0)
				continue;
			ts_match = true;
			if ((p->mode == KMODE_TRANSPORT) != transport)
				continue;
			break;
		}
		if (p)
			break;
	}
	if (!p) {
		log_warn(MOD,
			 "IKE SA #%u: no policy of remote %s matches the "
			 "peer's %s selectors",
			 sa->id, sa->remote, ts_match ? "mode and" : "traffic");
		return ts_match ? IKEV2_N_NO_PROPOSAL_CHOSEN
				: IKEV2_N_TS_UNACCEPTABLE;
	}
	prefs_esp(p, r, true, with_dh, &prefs);
	/* §1.3.1: no KE means no PFS, so prefer the NONE group. */
	if (ikev2_sa_select(&offer, &prefs, ke_group, &suite) != 0) {
		log_warn(MOD,
			 "IKE SA #%u: no acceptable %s proposal for "
			 "policy %s",
			 sa->id, p->ipsec_proto == IPPROTO_AH ? "AH" : "ESP",
			 p->name);
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	if (!with_dh)
		suite.dh = IKEV2_DH_NONE;
	if (suite.proto != prefs.proto || suite.spi_len != 4)
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	if (with_dh && suite.dh != ke_group) {
		res->want_group = suite.dh;
		return IKEV2_N_INVALID_KE_PAYLOAD;
	}
	c = child_new(sa);
	if (!c)
		return IKEV2_N_TEMPORARY_FAILURE;
	snprintf(c->policy, sizeof(c->policy), "%s", p->name);
	c->mode = p->mode;
	c->proto = p->ipsec_proto;
	c->initiated = false;
	c->algs = suite;
	c->spi_out = ikev2_spi32_get(suite.spi);
	/* An IP_RW policy's CHILD SAs take the reqid of their dynamic
	 * policy (rw.c) or predecessor: no SPD dump for one (issue 14: the
	 * dump per CHILD SA made a responder with N road warriors O(N^2)). */
	c->reqid = p->peer_sa_rw ? 0 : policy_reqid(sa->d, p);
	/* Road warriors: lease/envelope narrowing, overlap rule, dynamic
	 * policies and their reqid (rw.c). */
	child_spi_op(sa, p, c, &spi_op);
	if ((rc = rw_child_process_r(sa, p, m, c, &ni_ts, &nr_ts, &spi_op)) !=
	    0) {
		/* a larval SA made in the policies' batch goes too */
		if (spi_op.rc == 0 && sa->d->kern_open)
			k_sa_del(&sa->d->kern, spi_op.u.getspi.proto,
				 &spi_op.u.getspi.dst, spi_op.u.getspi.spi);
		child_free(c);
		return rc;
	}
	if (child_spi_alloc(sa, p, c, &spi_op) < 0) {
		child_free(c);
		return IKEV2_N_TEMPORARY_FAILURE; /* §2.25: no SPI now */
	}
	ikev2_spi32_put(spi, c->spi_in);
	if (p->n_ipcomp) {
		/* §2.22: accept one of the offered transforms we do (our
		 * order), with a CPI of ours; a peer that offered none, a
		 * malformed offer, or no CPI here: without IPComp */
		struct ikev2_ipcomp ic;
		unsigned bad;

		if (ikev2_ipcomp_choose(m, p->ipcomp, p->n_ipcomp, &ic, &bad) &&
		    child_cpi_alloc(sa, p, c) == 0) {
			c->ipcomp = ic.xform;
			c->cpi_out = ic.cpi;
			res->has_ipcomp = true;
			res->ipcomp.cpi = c->cpi_in;
			res->ipcomp.xform = ic.xform;
		}
		if (bad)
			log_info(MOD,
				 "IKE SA #%u: %u malformed IPCOMP_SUPPORTED "
				 "ignored",
				 sa->id, bad);
	}
	rc = ikev2_suite_to_sa(&suite, spi, 4, &res->sa);
	if (rc < 0) {
		child_free(c);
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	res->tsi = ni_ts;
	res->tsr = nr_ts;
	res->transport = transport;
	child_set_ts(c, &nr_ts, &ni_ts);
	if (child_keys_install(c, p, gir, gir_len, ni, ni_len, nr, nr_len) <
	    0) {
		/* strongSwan answers an install failure with
		 * NO_PROPOSAL_CHOSEN: the peer learns the child failed,
		 * the IKE SA stays.  A kernel refusal stays visible
		 * (INSTALL_FAILED, nothing installed); anything else
		 * leaves nothing behind. */
		if (c->state == CHILD_S_FAILED)
			child_attach(c);
		else
			child_free(c);
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	child_attach(c); /* installed: the IKE SA owns it */
	res->child = c;
	return 0;
}

void child_put_result(struct ikev2_wr *b, const struct child_result *res,
		      bool sa_only)
{
	if (sa_only) {
		ikev2_put_sa(b, &res->sa);
		return;
	}
	ikev2_put_ts(b, IKEV2_PL_TSi, &res->tsi);
	ikev2_put_ts(b, IKEV2_PL_TSr, &res->tsr);
	child_put_result_notifies(b, res);
}

/* ---- lifetimes ---- */

static void child_arm(struct child_sa *c)
{
	life_timer_arm(c->ike->d->loop, &c->timer, c->rekey_ms, c->expire_ms);
}

void child_established(struct child_sa *c, const struct ike_policy *p)
{
	uint64_t life = p ? p->lifetime_sec * 1000 : 0;

	life_deadlines(ev_now_ms(), life, &c->rekey_ms, &c->expire_ms);
	child_arm(c);
}

void child_timer_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct child_sa *c = arg;
	struct ike_sa *sa = c->ike;
	uint64_t now = ev_now_ms();

	(void)loop;
	(void)t;
	if (c->expire_ms && now >= c->expire_ms) {
		log_info(MOD, "CHILD SA #%u (%s) lifetime expired", c->id,
			 c->policy);
		ike_queue_child_delete(sa, c);
		return;
	}
	if (c->rekey_ms && now >= c->rekey_ms &&
	    c->state == CHILD_S_INSTALLED) {
		c->rekey_ms = 0;
		ike_queue_child_rekey(sa, c);
	}
	child_arm(c);
}

void child_kernel_expire(struct iked *d, uint32_t spi, bool hard)
{
	struct ike_sa *sa;
	struct child_sa *c;

	for (sa = d->sas; sa; sa = sa->next) {
		c = child_find_spi(sa, spi, true);
		if (!c)
			c = child_find_spi(sa, spi, false);
		if (!c)
			continue;
		log_info(MOD, "CHILD SA #%u: kernel %s expire (bytes)", c->id,
			 hard ? "hard" : "soft");
		if (hard) {
			/* The kernel already removed it. */
			ike_queue_child_delete(sa, c);
		} else if (c->state == CHILD_S_INSTALLED) {
			ike_queue_child_rekey(sa, c);
		}
		return;
	}
}

/* ---- CREATE_CHILD_SA: initiator (new child, child rekey) ---- */

int create_child_initiate(struct ike_sa *sa, struct task *t)
{
	struct child_nego *cn;
	struct child_sa *old = NULL;
	struct ikev2_wr b;
	uint8_t ke[CRYPTO_MAX_DH_PUB];
	const struct crypto_dh_alg *da = NULL;
	int rc;

	if (t->type == TASK_CHILD_REKEY) {
		old = child_find_id(sa->d, t->child_id);
		if (!old || old->ike != sa || old->state != CHILD_S_INSTALLED)
			return 1; /* gone or already being replaced */
		snprintf(t->policy, sizeof(t->policy), "%s", old->policy);
	}
	rc = child_prepare(sa, t, true);
	if (rc < 0)
		return rc;
	cn = t->state;
	if (old) {
		cn->rekey_child_id = old->id;
		/* Keep the old SA's negotiated mode. */
		cn->transport = old->mode == KMODE_TRANSPORT;
		cn->child->mode = old->mode;
		rw_child_rekey(old, cn->child, &cn->tsi, &cn->tsr);
	}
	if (cn->dh) {
		da = crypto_dh_lookup(crypto_dh_group(cn->dh));
		if (!da || crypto_dh_public(cn->dh, ke, da->pub_len) < 0)
			return -EINVAL;
	}
	rc = msg_start(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA, false, sa->mid_next,
		       true);
	if (old) {
		/* §1.3.3: REKEY_SA names the SA by our inbound SPI. */
		struct ikev2_notify n = {0};
		uint8_t spi[4];

		ikev2_spi32_put(spi, old->spi_in);
		n.proto = child_ike_proto(old);
		n.spi_len = 4;
		n.spi = spi;
		n.type = IKEV2_N_REKEY_SA;
		ikev2_put_notify(&b, &n);
	}
	child_put_offer_notifies(&b, cn);
	child_put_sa_ts(&b, cn, true);
	ikev2_put_nonce(&b, cn->ni, cn->ni_len);
	if (cn->dh)
		ikev2_put_ke(&b, crypto_dh_group(cn->dh), ke, da->pub_len);
	child_put_sa_ts(&b, cn, false);
	if (rc < 0)
		ikev2_wr_abort(&b);
	else
		rc = msg_send_request(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA);
	if (rc < 0) {
		/* Nothing went out (e.g. no random IV): the old child stays
		 * as it is; the prepared one and its larval SA die with the
		 * task (child_nego_free), as on every error return here. */
		return rc;
	}
	if (old)
		child_set_state(old, CHILD_S_REKEYING);
	log_info(MOD, "IKE SA #%u: %s CHILD SA for %s", sa->id,
		 old ? "rekeying" : "creating", t->policy);
	return 0;
}

/* The response broke the exchange's payload rules (input.c). */
void create_child_rejected_i(struct ike_sa *sa, struct task *t,
			     const struct ike_msg *m, const char *why)
{
	struct child_nego *cn = t->state;
	struct child_sa *old =
	    cn ? child_find_id(sa->d, cn->rekey_child_id) : NULL;

	if (!cn)
		return;
	if (old && old->state == CHILD_S_REKEYING)
		child_set_state(old, CHILD_S_INSTALLED);
	child_refused(sa, cn, why, ikev2_msg_find(m, IKEV2_PL_SA) != NULL);
}

void create_child_process_i(struct ike_sa *sa, struct task *t,
			    const struct ike_msg *m)
{
	struct child_nego *cn = t->state;
	struct child_sa *old =
	    cn ? child_find_id(sa->d, cn->rekey_child_id) : NULL;
	struct child_sa *c;
	struct ikev2_nonce nr;
	struct ikev2_ke ke;
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	size_t gir_len = 0;
	struct ikev2_notify n;

	if (!cn)
		return;
	if (old && old->state == CHILD_S_REKEYING)
		child_set_state(old, CHILD_S_INSTALLED);
	/* §1.3.1: INVALID_KE_PAYLOAD names the group the responder
	 * wants; start the exchange again with it when we offered it. */
	if (ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &n) &&
	    n.len == 2 && cn->dh) {
		uint16_t g = (uint16_t)(n.data[0] << 8 | n.data[1]);
		struct task *nt;

		if (g == crypto_dh_group(cn->dh) ||
		    !child_group_offered(cn, g) || t->ke_retries >= 2 ||
		    !(nt = task_new(t->type))) {
			log_warn(MOD,
				 "IKE SA #%u: peer wants PFS group %u, "
				 "which we did not offer",
				 sa->id, g);
			child_refused(sa, cn, "INVALID_KE_PAYLOAD", false);
			return;
		}
		snprintf(nt->policy, sizeof(nt->policy), "%s", t->policy);
		nt->acq_sel = t->acq_sel;
		nt->have_acq_sel = t->have_acq_sel;
		nt->acq_reqid = t->acq_reqid;
		nt->child_id = t->child_id;
		nt->ke_group = g;
		nt->ke_retries = (uint8_t)(t->ke_retries + 1);
		log_info(MOD,
			 "IKE SA #%u: peer wants PFS group %u; starting "
			 "the CREATE_CHILD_SA again with it",
			 sa->id, g);
		/* The prepared child never existed for the peer. */
		if ((c = cn->child) != NULL) {
			cn->child = NULL;
			child_free(c);
		}
		/* Next in line: dispatch_response runs the queue after us. */
		nt->next = sa->queue;
		sa->queue = nt;
		return;
	}
	/* §2.25: TEMPORARY_FAILURE -> retry later (a collision). */
	if (ikev2_msg_find_notify(m, IKEV2_N_TEMPORARY_FAILURE, NULL)) {
		child_refused(sa, cn, "peer busy (TEMPORARY_FAILURE)", false);
		return;
	}
	if (first_error(m)) {
		child_complete(sa, cn, m, NULL, 0, NULL, 0, NULL, 0);
		return;
	}
	/* Without an error the codec's rules (msg.c) guarantee SA and Nr. */
	if (ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &nr) != 0) {
		child_refused(sa, cn, "no nonce in response", true);
		return;
	}
	if (cn->dh) {
		/* Context check: we asked for PFS, so KE is required. */
		const struct crypto_dh_alg *da =
		    crypto_dh_lookup(crypto_dh_group(cn->dh));
		if (ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) != 0 ||
		    ke.group != crypto_dh_group(cn->dh) || !da ||
		    crypto_dh_compute(cn->dh, ke.data, ke.len, gir,
				      da->secret_len) < 0) {
			child_refused(sa, cn, "bad KE in response (PFS)", true);
			return;
		}
		gir_len = da->secret_len;
	}
	c = child_complete(sa, cn, m, gir_len ? gir : NULL, gir_len, cn->ni,
			   cn->ni_len, nr.data, nr.len);
	mem_wipe(gir, sizeof(gir));
	if (!c || c->state != CHILD_S_INSTALLED || !old)
		return;

	/* A rekey completed. */
	script_run(sa->d, sa, c, SCRIPT_CHILD_REKEY);
	if (old->rekeyed_by) {
		/* §2.8.1: the peer rekeyed the same SA meanwhile.  The SA
		 * created with the lowest nonce is redundant and is closed
		 * by the node that created it. */
		struct child_sa *theirs = child_find_id(sa->d, old->rekeyed_by);
		if (theirs && ikev2_nonce_cmp(c->nonce_min, c->nonce_min_len,
					      theirs->nonce_min,
					      theirs->nonce_min_len) < 0) {
			log_info(MOD,
				 "CHILD SA #%u: rekey collision, ours "
				 "(#%u) is redundant",
				 old->id, c->id);
			ike_queue_child_delete(sa, c);
			child_set_state(old, CHILD_S_REKEYED);
			return;
		}
		log_info(MOD,
			 "CHILD SA #%u: rekey collision, ours (#%u) "
			 "survives",
			 old->id, c->id);
	}
	child_set_state(old, CHILD_S_REKEYED);
	old->rekeyed_by = c->id;
	ike_queue_child_delete(sa, old);
}

/* ---- CREATE_CHILD_SA: responder ---- */

void create_child_process_r(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ikev2_nonce ni;
	struct ikev2_notify n;
	struct ikev2_ke ke;
	struct ikev2_sa offer;
	struct child_result res;
	struct child_sa *old = NULL;
	uint8_t nr[NONCE_LEN];
	uint8_t gir[CRYPTO_MAX_DH_SECRET], kebuf[CRYPTO_MAX_DH_PUB];
	struct crypto_dh *dh = NULL;
	const struct crypto_dh_alg *da = NULL;
	size_t gir_len = 0;
	bool have_ke;
	struct ikev2_wr b;
	int rc;

	if (sa->state != IKE_S_ESTABLISHED) {
		/* §2.25: busy deleting or rekeying the IKE SA. */
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	/* SA and Ni are there (the codec's rules, msg.c). */
	if (ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &offer) != 0 ||
	    offer.nprop == 0 ||
	    ikev2_get_nonce(ikev2_msg_find(m, IKEV2_PL_NONCE), &ni) != 0) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (offer.prop[0].proto == IKEV2_PROTO_IKE) {
		ike_rekey_process_r(sa, m, &offer, &ni);
		return;
	}
	if (ikev2_msg_find_notify(m, IKEV2_N_REKEY_SA, &n)) {
		uint32_t spi;
		if ((n.proto != IKEV2_PROTO_ESP && n.proto != IKEV2_PROTO_AH) ||
		    n.spi_len != 4) {
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_INVALID_SYNTAX, NULL, 0);
			return;
		}
		spi = ikev2_spi32_get(n.spi);
		/* The peer names its inbound SPI = our outbound. */
		old = child_find_spi(sa, spi, false);
		/* §3.10: the notify's protocol is the SA's */
		if (old && child_ike_proto(old) != n.proto)
			old = NULL;
		if (!old) {
			uint8_t d[4];
			memcpy(d, n.spi, 4);
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_CHILD_SA_NOT_FOUND, NULL,
					    0);
			return;
		}
		if (old->state == CHILD_S_DELETING ||
		    old->state == CHILD_S_REKEYED) {
			/* §2.25: being closed. */
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
			return;
		}
	}
	/* §3.10.1: child_sa_per_ike_sa (dos.c); a rekey replaces one. */
	if (!old && !dos_child_admit(sa)) {
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0);
		return;
	}
	/* KE is optional here (PFS, §1.3.1): at most one (msg.c). */
	have_ke = ikev2_get_ke(ikev2_msg_find(m, IKEV2_PL_KE), &ke) == 0;
	if (have_ke) {
		da = crypto_dh_lookup(ke.group);
		if (!da || crypto_dh_new(ke.group, &dh) < 0 ||
		    crypto_dh_public(dh, kebuf, da->pub_len) < 0 ||
		    crypto_dh_compute(dh, ke.data, ke.len, gir,
				      da->secret_len) < 0) {
			/* Unknown group or bad value (RFC 6989). */
			crypto_dh_free(dh);
			send_error_response(sa, m->hdr.exch, m->hdr.msgid,
					    IKEV2_N_INVALID_SYNTAX, NULL, 0);
			return;
		}
		gir_len = da->secret_len;
	}
	if (crypto_random(nr, sizeof(nr)) < 0) {
		/* §2.10: no Nr, no CHILD SA; §2.25: the peer may retry. */
		mem_wipe(gir, sizeof(gir));
		crypto_dh_free(dh);
		log_rl_warn(MOD, "IKE SA #%u: no random bytes for Nr", sa->id);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	rc = child_process_r(sa, m, gir_len ? gir : NULL, gir_len, ni.data,
			     ni.len, nr, sizeof(nr), true,
			     have_ke ? ke.group : IKEV2_DH_NONE, &res);
	mem_wipe(gir, sizeof(gir));
	if (rc == IKEV2_N_INVALID_KE_PAYLOAD) {
		uint8_t g[2] = {(uint8_t)(res.want_group >> 8),
				(uint8_t)res.want_group};
		crypto_dh_free(dh);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid,
				    IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}
	if (rc != 0) {
		crypto_dh_free(dh);
		send_error_response(sa, m->hdr.exch, m->hdr.msgid, (uint16_t)rc,
				    NULL, 0);
		return;
	}
	rc = msg_start(sa, &b, IKEV2_EXCH_CREATE_CHILD_SA, true, m->hdr.msgid,
		       true);
	child_put_result(&b, &res, true);
	ikev2_put_nonce(&b, nr, sizeof(nr));
	if (have_ke)
		ikev2_put_ke(&b, ke.group, kebuf, da->pub_len);
	child_put_result(&b, &res, false);
	crypto_dh_free(dh);
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return;
	}
	msg_send_response(sa, &b, m->hdr.msgid);
	if (old && res.child) {
		/* The initiator of the rekey deletes the old SA (§1.3.3);
		 * remember the link for the collision rule. */
		old->rekeyed_by = res.child->id;
		if (old->state == CHILD_S_REKEYING)
			old->rekey_collision = true;
		script_run(sa->d, sa, res.child, SCRIPT_CHILD_REKEY);
	}
}
