/*
 * espd.c - r2espd main program: the control socket served to the
 * "userspace" kernel backend (esp_msg.h), the SPD and SAD, ACQUIRE /
 * EXPIRE / MAPPING events, and the once-a-second lifetime timer.  The
 * packet path is in espd_net.c; the design (notably UDP 4500) is
 * described in espd.h.
 *
 * Semantics follow Linux XFRM so that spmd and iked behave the same with
 * either backend: policies are matched by priority (lower wins) then
 * specificity; outbound SAs are found from the policy template
 * (endpoints, reqid), preferring an SA that is not soft-expired and then
 * the newest; a hard expiry deletes the SA after the event; getspi makes
 * a larval SA that sa_add with update completes.
 *
 * Ownership: all state is owned by struct espd; requests are parsed from
 * a per-daemon buffer through struct rd; replies are built in a wr that
 * is wiped on free.
 */
#include "kernel/userspace/espd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "kernel/userspace/ipcomp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/kernel_priv.h" /* the owned-index layout and allocator */
#include "lib/ctlsock.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/pidfile.h"
#include "lib/sandbox.h"
#include "lib/util.h"

#define MOD "espd"

/* Random id of this run of r2espd, sent in the HELLO reply. */
static uint64_t espd_instance;

uint64_t espd_now(void)
{
	return (uint64_t)time(NULL);
}

bool espd_addr_eq(const struct kaddr *a, const struct kaddr *b)
{
	size_t n = a->af == AF_INET ? 4 : 16;
	return a->af == b->af && memcmp(a->u.b, b->u.b, n) == 0;
}

static const char *astr(const struct kaddr *a, char *buf, size_t len)
{
	if (!a->af)
		snprintf(buf, len, "any");
	else if (!inet_ntop(a->af, a->u.b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- SPD and SAD indexes (issue 14) ---------------------------------

 * No lookup on the packet path scans the SPD or the SAD.  Policies: one
 * hidx (pol_sel) over hash(shape, selector addresses masked to the
 * shape's prefix lengths); a flow is hashed once per shape of the
 * direction (espd.h struct espd_shape), every candidate is checked with
 * ksel_match_flow() (equal hashes are not equal keys; ports and protocol
 * are not in the key), and the precedence is the linear one's: lowest
 * priority, then longest src + dst prefixes, then the newest (seq).
 * SAs: by SPI / CPI (sa_spi) and by reqid (sa_reqid, a template's SA;
 * a template without reqid - static configurations - still walks the
 * SAD).  tests/unit/esp/test_espd_spd.c compares them with linear
 * reference lookups on random sets. */

static void mask_addr(uint8_t out[16], const struct kaddr *a, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	memset(out, 0, 16);
	if (full >= 16) {
		memcpy(out, a->u.b, 16);
		return;
	}
	memcpy(out, a->u.b, full);
	if (rest)
		out[full] = a->u.b[full] & (uint8_t)(0xff << (8 - rest));
}

static uint32_t shape_hash(const struct espd_shape *sh, const struct kaddr *src,
			   const struct kaddr *dst)
{
	uint8_t k[4 + 32];

	k[0] = sh->dir;
	k[1] = sh->af;
	k[2] = sh->splen;
	k[3] = sh->dplen;
	mask_addr(k + 4, src, sh->splen);
	mask_addr(k + 20, dst, sh->dplen);
	return hidx_hash(k, sizeof(k), 0);
}

static uint32_t u32_hash(uint32_t v)
{
	return hidx_hash(&v, sizeof(v), 0);
}

static struct espd_shape *shape_get(struct espd *d, uint8_t dir,
				    const struct ksel *sel, bool create)
{
	struct espd_shape *sh;

	for (sh = d->shapes; sh; sh = sh->next)
		if (sh->dir == dir && sh->af == sel->af &&
		    sh->splen == sel->src_plen && sh->dplen == sel->dst_plen)
			return sh;
	if (!create || !(sh = calloc(1, sizeof(*sh))))
		return NULL;
	sh->dir = dir;
	sh->af = sel->af;
	sh->splen = sel->src_plen;
	sh->dplen = sel->dst_plen;
	sh->next = d->shapes;
	d->shapes = sh;
	return sh;
}

static void shape_put(struct espd *d, struct espd_shape *sh)
{
	if (--sh->n)
		return;
	for (struct espd_shape **pp = &d->shapes; *pp; pp = &(*pp)->next)
		if (*pp == sh) {
			*pp = sh->next;
			break;
		}
	free(sh);
}

static void lc_clear(struct espd *d)
{
	d->lc.out_ok = d->lc.in_ok = d->lc.sa_ok = false;
}

void espd_batch_begin(struct espd *d)
{
	lc_clear(d);
	d->lc.on = true;
}

void espd_batch_end(struct espd *d)
{
	lc_clear(d);
	d->lc.on = false;
}

/* The same flow as espd_flow() builds (every other field zero). */
static bool flow_eq(const struct ksel *a, const struct ksel *b)
{
	return a->af == b->af && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && a->sport_mask == b->sport_mask &&
	       a->dport_mask == b->dport_mask && a->src_plen == b->src_plen &&
	       a->dst_plen == b->dst_plen && a->ifindex == b->ifindex &&
	       espd_addr_eq(&a->src, &b->src) && espd_addr_eq(&a->dst, &b->dst);
}

/* Enter p (its selector and direction) into the selector index. */
static int pol_sel_add(struct espd *d, struct espd_pol *p)
{
	struct espd_shape *sh =
	    shape_get(d, (uint8_t)p->p.dir, &p->p.sel, true);

	if (!sh)
		return -ENOMEM;
	lc_clear(d);
	sh->n++;
	p->shape = sh;
	p->sel_h = shape_hash(sh, &p->p.sel.src, &p->p.sel.dst);
	if (hidx_add(&d->pol_sel, p->sel_h, (uintptr_t)p) < 0) {
		shape_put(d, sh);
		p->shape = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void pol_sel_del(struct espd *d, struct espd_pol *p)
{
	lc_clear(d);
	if (!p->shape)
		return;
	hidx_del(&d->pol_sel, p->sel_h, (uintptr_t)p);
	shape_put(d, p->shape);
	p->shape = NULL;
}

/* Link a new policy: the list (newest first) and both indexes. */
static int pol_link(struct espd *d, struct espd_pol *p)
{
	if (pol_sel_add(d, p) < 0)
		return -ENOMEM;
	if (hidx_add(&d->pol_idx, u32_hash(p->p.index), (uintptr_t)p) < 0) {
		pol_sel_del(d, p);
		return -ENOMEM;
	}
	p->seq = ++d->pol_seq;
	p->next = d->pols;
	p->pprev = &d->pols;
	if (d->pols)
		d->pols->pprev = &p->next;
	d->pols = p;
	return 0;
}

static void pol_unlink(struct espd *d, struct espd_pol *p)
{
	pol_sel_del(d, p);
	hidx_del(&d->pol_idx, u32_hash(p->p.index), (uintptr_t)p);
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
}

/* XFRM's precedence (the linear lookup's): is p better than best? */
static bool pol_better(const struct espd_pol *p, const struct espd_pol *best)
{
	unsigned a, b;

	if (!best || p->p.priority < best->p.priority)
		return true;
	if (p->p.priority > best->p.priority)
		return false;
	a = (unsigned)p->p.sel.src_plen + p->p.sel.dst_plen;
	b = (unsigned)best->p.sel.src_plen + best->p.sel.dst_plen;
	return a > b || (a == b && p->seq > best->seq);
}

/* Call fn for every policy of direction dir whose selector matches
 * flow (any order). */
static void spd_each(struct espd *d, enum kdir dir, const struct ksel *flow,
		     void (*fn)(struct espd_pol *p, void *arg), void *arg)
{
	for (struct espd_shape *sh = d->shapes; sh; sh = sh->next) {
		struct hidx_it it;
		uintptr_t v;
		uint32_t h;

		if (sh->dir != dir || (sh->af && sh->af != flow->af))
			continue;
		h = shape_hash(sh, &flow->src, &flow->dst);
		for (bool ok = hidx_first(&d->pol_sel, &it, h, &v); ok;
		     ok = hidx_next(&d->pol_sel, &it, &v)) {
			struct espd_pol *p = (struct espd_pol *)v;
			if (p->shape == sh && ksel_match_flow(&p->p.sel, flow))
				fn(p, arg);
		}
	}
}

static void best_cb(struct espd_pol *p, void *arg)
{
	struct espd_pol **best = arg;

	if (pol_better(p, *best))
		*best = p;
}

struct espd_pol *espd_spd_lookup(struct espd *d, enum kdir dir,
				 const struct ksel *flow)
{
	struct espd_pol *best = NULL;

	if (dir == KDIR_OUT && d->lc.out_ok && flow_eq(&d->lc.out_flow, flow))
		return d->lc.out_pol;
	spd_each(d, dir, flow, best_cb, &best);
	if (dir == KDIR_OUT && d->lc.on) {
		d->lc.out_ok = true;
		d->lc.out_flow = *flow;
		d->lc.out_pol = best;
	}
	return best;
}

static bool sa_fits_tmpl(const struct espd_sa *s, const struct ktmpl *t)
{
	if (s->larval || s->esp.dead || s->k.proto != t->proto)
		return false;
	if (t->reqid && s->k.reqid != t->reqid)
		return false;
	if (t->mode == KMODE_TUNNEL &&
	    ((t->src.af && !espd_addr_eq(&s->k.src, &t->src)) ||
	     (t->dst.af && !espd_addr_eq(&s->k.dst, &t->dst))))
		return false;
	return true;
}

/*
 * The transforms a bundle can hold besides an outermost AH (espd.h).
 * IPComp (RFC 3173, DEFLATE: ipcomp.h) inside ESP or AH.
 */
static const struct espd_xf espd_xfs[] = {
    {IPPROTO_ESP, esp_peek, esp_encap, esp_decap},
    {IPPROTO_COMP, ipcomp_peek, ipcomp_out, ipcomp_in},
};

const struct espd_xf *espd_xf_find(uint8_t proto)
{
	for (size_t i = 0; i < sizeof(espd_xfs) / sizeof(espd_xfs[0]); i++)
		if (espd_xfs[i].proto == proto)
			return &espd_xfs[i];
	return NULL;
}

/* The SA for template t (index i of the bundle) and flow, preferring one
 * not soft-expired, then the newest.  The outer templates of a bundle
 * carry no addresses (only the innermost may be a tunnel): their SA
 * must have the innermost SA's endpoints. */
static struct espd_sa *sa_for_tmpl(struct espd *d, const struct ktmpl *t,
				   const struct espd_sa *inner,
				   const struct ksel *flow)
{
	struct espd_sa *best = NULL, *s;
	struct hidx_it it;
	uintptr_t v;
	bool ok;

	/* by reqid when the template has one (spmd's always do), else
	 * the whole SAD (static configurations without reqids) */
	if (t->reqid)
		ok = hidx_first(&d->sa_reqid, &it, u32_hash(t->reqid), &v);
	else
		ok = (v = (uintptr_t)d->sas) != 0;
	for (; ok; ok = t->reqid ? hidx_next(&d->sa_reqid, &it, &v)
				 : (v = (uintptr_t)s->next) != 0) {
		s = (struct espd_sa *)v;
		if (!sa_fits_tmpl(s, t))
			continue;
		if (inner && (!espd_addr_eq(&s->k.src, &inner->k.src) ||
			      !espd_addr_eq(&s->k.dst, &inner->k.dst)))
			continue;
		if (s->k.sel.af && !ksel_match_flow(&s->k.sel, flow))
			continue;
		/* a transport SA without a selector (static): the packet's
		 * own destination, not the reverse SA of the pair */
		if (!s->k.sel.af && !inner && s->k.mode == KMODE_TRANSPORT &&
		    flow->dst.af && !espd_addr_eq(&s->k.dst, &flow->dst))
			continue;
		/* the newest usable one, one not yet soft-expired first */
		if (!best || (best->esp.soft_done && !s->esp.soft_done) ||
		    (best->esp.soft_done == s->esp.soft_done &&
		     s->seq > best->seq))
			best = s;
	}
	return best;
}

int espd_bundle_out(struct espd *d, struct espd_pol *pol,
		    const struct ksel *flow, struct espd_bundle *b,
		    unsigned *missing)
{
	bool cacheable = true;

	if (pol->sa_gen == d->sa_gen && pol->b.n) {
		*b = pol->b;
		return 0;
	}
	b->n = 0;
	for (unsigned i = 0; i < pol->p.ntmpl && i < KPOL_MAX_TMPL; i++) {
		const struct ktmpl *t = &pol->p.tmpl[i];
		struct espd_sa *s =
		    sa_for_tmpl(d, t, b->n ? b->sa[0] : NULL, flow);

		if (!s) {
			/* RFC 3173 §2.1 / XFRM optional templates: a
			 * template of level "use" may be missing */
			if (t->level == KLEVEL_USE && b->n)
				continue;
			*missing = i;
			return -ENOENT;
		}
		if (s->k.sel.af)
			cacheable = false;
		b->sa[b->n++] = s;
	}
	if (!b->n) {
		*missing = 0;
		return -ENOENT;
	}
	/* Cache only when no SA depends on the flow. */
	if (cacheable) {
		pol->b = *b;
		pol->sa_gen = d->sa_gen;
	}
	return 0;
}

static struct espd_sa *sa_find(struct espd *d, uint8_t proto, uint32_t spi,
			       const struct kaddr *dst)
{
	struct hidx_it it;
	uintptr_t v;

	for (bool ok = hidx_first(&d->sa_spi, &it, u32_hash(spi), &v); ok;
	     ok = hidx_next(&d->sa_spi, &it, &v)) {
		struct espd_sa *s = (struct espd_sa *)v;
		if (s->k.spi == spi && s->k.proto == proto &&
		    espd_addr_eq(&s->k.dst, dst))
			return s;
	}
	return NULL;
}

/* Link a new SA: the list (newest first) and both indexes. */
static int sa_link(struct espd *d, struct espd_sa *sa)
{
	lc_clear(d);
	if (hidx_add(&d->sa_spi, u32_hash(sa->k.spi), (uintptr_t)sa) < 0)
		return -ENOMEM;
	if (sa->k.reqid &&
	    hidx_add(&d->sa_reqid, u32_hash(sa->k.reqid), (uintptr_t)sa) < 0) {
		hidx_del(&d->sa_spi, u32_hash(sa->k.spi), (uintptr_t)sa);
		return -ENOMEM;
	}
	sa->seq = ++d->sa_seq;
	sa->next = d->sas;
	sa->pprev = &d->sas;
	if (d->sas)
		d->sas->pprev = &sa->next;
	d->sas = sa;
	d->nsas++;
	return 0;
}

struct espd_sa *espd_sa_in(struct espd *d, uint8_t proto, uint32_t spi,
			   const struct kaddr *dst)
{
	struct espd_sa *s;

	/* a GRO run of datagrams is mostly one SA's */
	if (d->lc.sa_ok && d->lc.sa_spi == spi && d->lc.sa_proto == proto &&
	    espd_addr_eq(&d->lc.sa_dst, dst))
		return d->lc.sa;
	s = sa_find(d, proto, spi, dst);
	s = s && !s->larval ? s : NULL;
	if (d->lc.on) {
		d->lc.sa_ok = true;
		d->lc.sa_spi = spi;
		d->lc.sa_proto = proto;
		d->lc.sa_dst = *dst;
		d->lc.sa = s;
	}
	return s;
}

static bool tmpl_has_sa(const struct ktmpl *t, const struct espd_sa *sa)
{
	return t->proto == sa->k.proto &&
	       (!t->reqid || t->reqid == sa->k.reqid) &&
	       (!t->src.af || espd_addr_eq(&t->src, &sa->k.src)) &&
	       (!t->dst.af || espd_addr_eq(&t->dst, &sa->k.dst));
}

/* RFC 4301 §5.2: after decryption the packet must match an inbound (or
 * forward) policy whose templates the SAs applied to it satisfy, in
 * order: chain[0] (outermost) against the last template, inwards; a
 * template of level "use" may have been skipped by the sender.  A
 * single SA may also satisfy any one template of a policy, as before
 * bundles (a policy whose bundle the peer sends partly, e.g. its
 * optional IPComp), provided every other template is optional. */
struct in_ok {
	struct espd_sa *const *chain;
	unsigned n;
	struct espd_pol *found; /* the newest satisfied policy */
};

static void in_ok_cb(struct espd_pol *p, void *arg)
{
	struct in_ok *q = arg;
	unsigned j = 0, i;

	if (p->p.action != KPOL_IPSEC || (q->found && q->found->seq > p->seq))
		return;
	for (i = p->p.ntmpl; i-- > 0;) {
		const struct ktmpl *t = &p->p.tmpl[i];
		if (j < q->n && tmpl_has_sa(t, q->chain[j]))
			j++;
		else if (t->level != KLEVEL_USE)
			break;
	}
	if (i == (unsigned)-1 && j == q->n)
		q->found = p;
}

bool espd_in_policy_ok(struct espd *d, struct espd_sa *const *chain, unsigned n,
		       const struct ksel *flow)
{
	struct in_ok q = {.chain = chain, .n = n};

	for (unsigned j = 0; j < n; j++)
		if (chain[j]->k.sel.af &&
		    !ksel_match_flow(&chain[j]->k.sel, flow))
			return false;
	/* the same flow through the same SAs as the last packet of this
	 * batch: the same policy (the walk depends on nothing else) */
	if (d->lc.in_ok && d->lc.in_n == n &&
	    memcmp(d->lc.in_chain, chain, n * sizeof(*chain)) == 0 &&
	    flow_eq(&d->lc.in_flow, flow)) {
		q.found = d->lc.in_pol;
	} else {
		spd_each(d, KDIR_IN, flow, in_ok_cb, &q);
		spd_each(d, KDIR_FWD, flow, in_ok_cb, &q);
		if (d->lc.on) {
			d->lc.in_ok = true;
			d->lc.in_n = n;
			memcpy(d->lc.in_chain, chain, n * sizeof(*chain));
			d->lc.in_flow = *flow;
			d->lc.in_pol = q.found;
		}
	}
	if (!q.found)
		return false;
	q.found->p.cur_packets++;
	q.found->p.use_time = espd_now();
	return true;
}

/* ---- control clients' output ------------------------------------------ */

static void client_drop(struct espd *d, int i)
{
	if (d->cli[i].fd < 0)
		return;
	/* the sockets it gave (its IKE daemon is gone or restarting) */
	if (d->given_cli == i)
		espd_given_release(d);
	if (d->loop)
		ev_del_fd(d->loop, d->cli[i].fd);
	close(d->cli[i].fd);
	d->cli[i].fd = -1;
	d->cli[i].events = false;
	d->cli[i].want_out = false;
	outq_free(&d->cli[i].out);
}

/* Watch EPOLLOUT while output waits, else EPOLLIN: a client's next
 * request is read only once everything before it is sent
 * (back-pressure: a client that never reads cannot grow our memory). */
static void client_watch(struct espd *d, int i)
{
	struct espd_client *c = &d->cli[i];
	bool want = outq_pending(&c->out) != 0;

	if (c->fd < 0 || want == c->want_out)
		return;
	c->want_out = want;
	if (d->loop)
		(void)ev_mod_fd(d->loop, c->fd, want ? EPOLLOUT : EPOLLIN);
}

/* One message to client i, queued behind what waits (lib/outq.h) when
 * the socket is full; limit: queued octets allowed.  0 or -errno (the
 * caller drops the client). */
static int client_send(struct espd *d, int i, const struct wr *w, size_t limit)
{
	struct espd_client *c = &d->cli[i];
	int rc;

	if (c->fd < 0)
		return -EPIPE; /* dropped meanwhile */
	if (wr_error(w))
		return -ENOMEM;
	rc = outq_send(&c->out, c->fd, w->buf, w->len, limit);
	if (rc == 0)
		client_watch(d, i);
	return rc;
}

static void client_lost(struct espd *d, int i, int rc)
{
	if (d->cli[i].fd < 0)
		return;
	if (rc == -ENOBUFS)
		log_rl_warn(MOD,
			    "control client %d: more than %u octets of "
			    "events unread; disconnected",
			    i, (unsigned)ESPD_EVQ_MAX);
	else
		log_rl_warn(MOD, "control client %d: %s; disconnected", i,
			    strerror(-rc));
	client_drop(d, i);
}

/* ---- events ---------------------------------------------------------- */

void espd_broadcast(struct espd *d, const struct kevent *ev)
{
	struct espm_hdr h = {.type = ESPM_EVENT};
	struct wr w;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	espm_put_kevent(&w, ev);
	if (wr_error(&w))
		goto out_free;
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++) {
		int rc;

		if (d->cli[i].fd < 0 || !d->cli[i].events)
			continue;
		/* never lost: queued in order, or the client is dropped */
		rc = client_send(d, i, &w, ESPD_EVQ_MAX);
		if (rc < 0)
			client_lost(d, i, rc);
	}
out_free:
	wr_free(&w);
}

static void sa_unlink(struct espd *d, struct espd_sa *sa)
{
	lc_clear(d);
	*sa->pprev = sa->next;
	if (sa->next)
		sa->next->pprev = sa->pprev;
	hidx_del(&d->sa_spi, u32_hash(sa->k.spi), (uintptr_t)sa);
	if (sa->k.reqid)
		hidx_del(&d->sa_reqid, u32_hash(sa->k.reqid), (uintptr_t)sa);
	d->sa_gen++;
	d->nsas--;
	if (!sa->larval && sa->k.proto == IPPROTO_COMP)
		ipcomp_sa_free(&sa->esp);
	if (!sa->larval)
		esp_sa_free(&sa->esp);
	mem_wipe(sa, sizeof(*sa));
	free(sa);
}

void espd_sa_events(struct espd *d, struct espd_sa *sa, unsigned events)
{
	struct kevent ev;
	char b[64];

	/* called for every packet: nothing to zero when nothing happened */
	if (!events)
		return;
	lc_clear(d);
	memset(&ev, 0, sizeof(ev));
	ev.type = KEV_EXPIRE;
	ev.u.expire.proto = sa->k.proto;
	ev.u.expire.spi = sa->k.spi;
	ev.u.expire.dst = sa->k.dst;
	ev.u.expire.reqid = sa->k.reqid;
	ev.u.expire.hard = (events & ESP_EV_HARD) != 0;
	log_info(MOD, "%s EXPIRE SA spi 0x%08x dst %s",
		 ev.u.expire.hard ? "hard" : "soft", sa->k.spi,
		 astr(&sa->k.dst, b, sizeof(b)));
	espd_broadcast(d, &ev);
	/* a soft-expired SA is no longer preferred for output */
	d->sa_gen++;
	if (ev.u.expire.hard)
		sa_unlink(d, sa);
}

void espd_acquire(struct espd *d, struct espd_pol *pol, const struct ksel *flow,
		  unsigned tmpl)
{
	struct kevent ev = {.type = KEV_ACQUIRE};
	const struct ktmpl *t = &pol->p.tmpl[tmpl < pol->p.ntmpl ? tmpl : 0];
	/* a bundle's outer templates have no addresses: the tunnel's */
	const struct ktmpl *tt = &pol->p.tmpl[0];
	uint64_t now = espd_now();

	if (pol->acq_sent && now - pol->acq_sent < ESPD_ACQ_RETRY)
		return;
	pol->acq_sent = now;
	ev.u.acquire.sel = *flow;
	ev.u.acquire.src = tt->mode == KMODE_TUNNEL ? tt->src : flow->src;
	ev.u.acquire.dst = tt->mode == KMODE_TUNNEL ? tt->dst : flow->dst;
	ev.u.acquire.pol_index = pol->p.index;
	ev.u.acquire.dir = KDIR_OUT;
	ev.u.acquire.tmpl = *t;
	d->st.acquires++;
	log_info(MOD, "ACQUIRE for policy %#x", pol->p.index);
	espd_broadcast(d, &ev);
}

void espd_mapping(struct espd *d, struct espd_sa *sa, const struct kaddr *addr,
		  uint16_t port)
{
	struct kevent ev = {.type = KEV_MAPPING};
	uint64_t now = espd_now();

	/* like XFRM: report, rate limited; iked decides and updates */
	if (sa->mapping_sent && now - sa->mapping_sent < 10)
		return;
	sa->mapping_sent = now;
	ev.u.mapping.proto = sa->k.proto;
	ev.u.mapping.spi = sa->k.spi;
	ev.u.mapping.dst = sa->k.dst;
	ev.u.mapping.old_addr = sa->k.src;
	ev.u.mapping.old_port = sa->k.encap.sport;
	ev.u.mapping.new_addr = *addr;
	ev.u.mapping.new_port = port;
	espd_broadcast(d, &ev);
}

/* ---- control requests ---------------------------------------------- */

struct req {
	struct espd *d;
	int i;	    /* client slot */
	int sendrc; /* first failure to queue an answer */
	struct espm_hdr h;
	struct wr w; /* reply body */
	char why[160];
};

#define WHY(q, ...) snprintf((q)->why, sizeof((q)->why), __VA_ARGS__)

static int check_said(struct rd *r, uint8_t *proto, struct kaddr *dst,
		      uint32_t *spi)
{
	if (rd_u8(r, proto) < 0 || espm_get_kaddr(r, dst) < 0 ||
	    rd_u32(r, spi) < 0)
		return -EBADMSG;
	return 0;
}

static int req_getspi(struct req *q, struct rd *r)
{
	struct espd *d = q->d;
	struct espd_sa *sa;
	uint8_t proto;
	struct kaddr src, dst;
	uint32_t reqid, spi;

	if (rd_u8(r, &proto) < 0 || espm_get_kaddr(r, &src) < 0 ||
	    espm_get_kaddr(r, &dst) < 0 || rd_u32(r, &reqid) < 0)
		return -EBADMSG;
	if (proto != IPPROTO_ESP && proto != IPPROTO_AH &&
	    proto != IPPROTO_COMP) {
		WHY(q, "only ESP and AH SPIs and IPComp CPIs are allocated");
		return -EPROTONOSUPPORT;
	}
	if (!dst.af) {
		WHY(q, "getspi needs a destination");
		return -EINVAL;
	}
	if (d->nsas >= ESPD_MAX_SAS) {
		WHY(q, "SAD full (%u SAs)", d->nsas);
		return -ENOSPC;
	}
	for (int tries = 0;; tries++) {
		if (tries > 100)
			return -EAGAIN;
		if (RAND_bytes((uint8_t *)&spi, sizeof(spi)) != 1)
			return -EIO;
		/* RFC 3173 §3.3: CPIs are 16 bits, 256..61439 negotiated */
		if (proto == IPPROTO_COMP)
			spi = K_SPI_MIN + spi % (K_CPI_MAX - K_SPI_MIN + 1);
		/* RFC 4303 §2.1: 1..255 reserved */
		if (spi >= 256 && !sa_find(d, proto, spi, &dst))
			break;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	sa->larval = true;
	sa->larval_expire = espd_now() + ESPD_LARVAL_LIFE;
	sa->k.proto = proto;
	sa->k.spi = spi;
	sa->k.src = src;
	sa->k.dst = dst;
	sa->k.reqid = reqid;
	if (sa_link(d, sa) < 0) {
		free(sa);
		return -ENOMEM;
	}
	wr_u32(&q->w, spi);
	return 0;
}

static int req_sa_add(struct req *q, struct rd *r)
{
	struct espd *d = q->d;
	struct espd_sa *old, *sa;
	struct ksa k;
	int rc;

	if (espm_get_ksa(r, &k) < 0)
		return -EBADMSG;
	/*
	 * Issue 9, defect 8: a static AEAD key starts at sequence number 1
	 * in every SA made with it, and the sequence number is the nonce
	 * (RFC 4106 §3.1, RFC 7634 §2): the same key added again after a
	 * restart of r2espd reuses nonces, which for GCM gives away the
	 * authentication key and the XOR of plaintexts.  Refused unless the
	 * operator forces it.
	 */
	if ((q->h.flags & ESPM_F_STATIC_KEY) && esp_encr_is_aead(k.encr_id)) {
		if (!(q->h.flags & ESPM_F_FORCE_AEAD)) {
			WHY(q,
			    "static AEAD key refused for SA spi 0x%08x: its "
			    "nonces restart at 1 and repeat if the key is "
			    "ever added again (force with "
			    "--force-static-aead)",
			    k.spi);
			rc = -EPERM;
			goto out_wipe;
		}
		log_warn(MOD,
			 "SA spi 0x%08x: static AEAD key forced; nonces repeat "
			 "if this key is ever added again (e.g. after an "
			 "r2espd restart): never reuse it",
			 k.spi);
	}
	/* RFC 3948 encapsulates ESP only (AH covers the addresses a NAT
	 * rewrites) */
	if (k.proto != IPPROTO_ESP && k.encap.enabled) {
		WHY(q, "only ESP SAs can be UDP-encapsulated (RFC 3948)");
		rc = -EINVAL;
		goto out_wipe;
	}
	if (!k.src.af || k.src.af != k.dst.af) {
		WHY(q, "SA endpoints missing or of different families");
		rc = -EINVAL;
		goto out_wipe;
	}
	old = sa_find(d, k.proto, k.spi, &k.dst);
	if (k.update && !old) {
		WHY(q, "no SA spi 0x%08x to update", k.spi);
		rc = -ESRCH;
		goto out_wipe;
	}
	if (!k.update && old) {
		WHY(q, "SA spi 0x%08x exists", k.spi);
		rc = -EEXIST;
		goto out_wipe;
	}
	if (old && !old->larval) {
		/* XFRM cannot change keys of a mature SA either */
		WHY(q, "updating a mature SA is not supported");
		rc = -EOPNOTSUPP;
		goto out_wipe;
	}
	if (!old && d->nsas >= ESPD_MAX_SAS) {
		WHY(q, "SAD full (%u SAs)", d->nsas);
		rc = -ENOSPC;
		goto out_wipe;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa) {
		rc = -ENOMEM;
		goto out_wipe;
	}
	rc = k.proto == IPPROTO_COMP ? ipcomp_sa_init(&sa->esp, &k, espd_now(),
						      q->why, sizeof(q->why))
				     : esp_sa_init(&sa->esp, &k, espd_now(),
						   q->why, sizeof(q->why));
	if (rc < 0) {
		free(sa);
		goto out_wipe;
	}
	if (old)
		sa_unlink(d, old);
	sa->k = k;
	if (sa_link(d, sa) < 0) {
		if (k.proto == IPPROTO_COMP)
			ipcomp_sa_free(&sa->esp);
		esp_sa_free(&sa->esp);
		mem_wipe(sa, sizeof(*sa));
		free(sa);
		rc = -ENOMEM;
		goto out_wipe;
	}
	d->sa_gen++;
	log_info(MOD, "%s SA spi 0x%08x added (encr %u integ %u%s%s)",
		 k.proto == IPPROTO_AH	  ? "AH"
		 : k.proto == IPPROTO_ESP ? "ESP"
					  : "IPComp",
		 k.spi, k.encr_id, k.integ_id, k.esn ? " esn" : "",
		 k.encap.enabled ? " udp-encap" : "");
	espd_queue_flush(d);
	rc = 0;
out_wipe:
	mem_wipe(&k, sizeof(k));
	return rc;
}

static int req_sa(struct req *q, struct rd *r, uint16_t type)
{
	struct espd_sa *sa;
	uint8_t proto;
	struct kaddr dst;
	uint32_t spi;

	if (check_said(r, &proto, &dst, &spi) < 0)
		return -EBADMSG;
	sa = sa_find(q->d, proto, spi, &dst);
	if (!sa) {
		WHY(q, "no SA spi 0x%08x", spi);
		return -ESRCH;
	}
	switch (type) {
	case ESPM_SA_DEL:
		sa_unlink(q->d, sa);
		break;
	case ESPM_SA_QUERY:
		espm_put_kcounters(&q->w, &sa->esp.cnt);
		break;
	case ESPM_SA_GET:
		espm_put_ksa(&q->w, &sa->k, true);
		espm_put_kcounters(&q->w, &sa->esp.cnt);
		break;
	}
	return 0;
}

/* Unlink p (list and indexes), remove its route, free it. */
static void pol_free(struct espd *d, struct espd_pol *p)
{
	pol_unlink(d, p);
	if (p->routed)
		espd_route(d, p, false);
	if (p->q)
		d->nqueues--;
	d->npols--;
	if (kpol_index_owned(p->p.index))
		kpol_serials_mark(&d->serials, kpol_index_serial(p->p.index),
				  false);
	free(p->q);
	free(p);
}

static bool ksel_eq_local(const struct ksel *a, const struct ksel *b)
{
	return a->af == b->af && a->proto == b->proto &&
	       a->src_plen == b->src_plen && a->dst_plen == b->dst_plen &&
	       kprefix_match(&a->src, a->src_plen, &b->src) &&
	       kprefix_match(&a->dst, a->dst_plen, &b->dst) &&
	       a->sport == b->sport && a->dport == b->dport &&
	       a->sport_mask == b->sport_mask &&
	       a->dport_mask == b->dport_mask && a->ifindex == b->ifindex;
}

static struct espd_pol *pol_find(struct espd *d, const struct kpolicy *k)
{
	struct espd_shape *sh;
	struct hidx_it it;
	uintptr_t v;

	if (k->index) {
		for (bool ok =
			 hidx_first(&d->pol_idx, &it, u32_hash(k->index), &v);
		     ok; ok = hidx_next(&d->pol_idx, &it, &v))
			if (((struct espd_pol *)v)->p.index == k->index)
				return (struct espd_pol *)v;
		return NULL;
	}
	sh = shape_get(d, (uint8_t)k->dir, &k->sel, false);
	if (!sh)
		return NULL;
	for (bool ok = hidx_first(&d->pol_sel, &it,
				  shape_hash(sh, &k->sel.src, &k->sel.dst), &v);
	     ok; ok = hidx_next(&d->pol_sel, &it, &v)) {
		struct espd_pol *p = (struct espd_pol *)v;
		if (p->shape == sh && p->p.dir == k->dir &&
		    ksel_eq_local(&p->p.sel, &k->sel))
			return p;
	}
	return NULL;
}

static bool pol_index_used(struct espd *d, uint32_t index)
{
	struct kpolicy k = {.index = index};
	return pol_find(d, &k) != NULL;
}

/*
 * Index of a new policy, as XFRM chooses it: a requested index is kept
 * when it names the policy's direction (index & 7 == dir) and is free -
 * spmd reinstalls its policies under their old indexes after a restart
 * of this daemon - otherwise a fresh owned index (kernel.h) is made.
 */
static uint32_t pol_index_pick(struct espd *d, uint32_t want, enum kdir dir)
{
	uint32_t serial;

	/* the one owned-index allocator (kernel_priv.h), made on first use */
	if (!d->serials.bits && kpol_serials_init(&d->serials) < 0)
		return 0;
	if (want && (want & 7) == (uint32_t)dir && !pol_index_used(d, want)) {
		if (kpol_index_owned(want))
			kpol_serials_mark(&d->serials, kpol_index_serial(want),
					  true);
		return want;
	}
	serial = kpol_serials_alloc(&d->serials);
	return serial ? kpol_index_make(serial, dir) : 0;
}

/*
 * The bundles r2espd carries (espd.h): 1..KPOL_MAX_TMPL templates,
 * innermost first, each protocol at most once, in the order IPComp, ESP,
 * AH (RFC 4301 §4.5; racoon2's sa_index order), only the innermost in
 * tunnel mode, all but an outermost AH known to espd_xf_find().
 */
static int pol_check(struct req *q, const struct kpolicy *k)
{
	static const uint8_t order[] = {IPPROTO_COMP, IPPROTO_ESP, IPPROTO_AH};
	unsigned rank = 0;

	if (k->action != KPOL_IPSEC)
		return 0;
	if (k->ntmpl < 1 || k->ntmpl > KPOL_MAX_TMPL) {
		WHY(q, "an IPsec policy needs 1..%d templates", KPOL_MAX_TMPL);
		return -EINVAL;
	}
	for (unsigned i = 0; i < k->ntmpl; i++) {
		const struct ktmpl *t = &k->tmpl[i];
		unsigned r = 0;

		while (r < sizeof(order) && order[r] != t->proto)
			r++;
		if (r == sizeof(order)) {
			WHY(q,
			    "template %u: protocol %u is not ESP, AH or "
			    "IPComp",
			    i, t->proto);
			return -EPROTONOSUPPORT;
		}
		if (i && r < rank + 1) {
			WHY(q,
			    "template %u: a bundle is IPComp, ESP, AH "
			    "from the inside out, each at most once",
			    i);
			return -EINVAL;
		}
		rank = r;
		if (i && t->mode == KMODE_TUNNEL) {
			WHY(q,
			    "template %u: only the innermost template of "
			    "a bundle may be a tunnel",
			    i);
			return -EINVAL;
		}
		if (!(t->proto == IPPROTO_AH && i == k->ntmpl - 1) &&
		    !espd_xf_find(t->proto)) {
			WHY(q,
			    "template %u: the userspace data plane cannot "
			    "carry protocol %u%s",
			    i, t->proto,
			    t->proto == IPPROTO_AH ? " inside a bundle" : "");
			return -EOPNOTSUPP;
		}
	}
	/* the outer packet is sent on an ESP or AH raw socket */
	if (k->tmpl[k->ntmpl - 1].proto == IPPROTO_COMP) {
		WHY(q, "the userspace data plane sends IPComp only inside "
		       "ESP or AH (sa_index with esp or ah)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int req_pol(struct req *q, struct rd *r, uint16_t type)
{
	struct espd *d = q->d;
	struct espd_pol *p;
	struct kpolicy k;
	uint32_t want;
	int rc;

	if (espm_get_kpolicy(r, &k) < 0)
		return -EBADMSG;
	switch (type) {
	case ESPM_POL_ADD:
		if ((rc = pol_check(q, &k)) < 0)
			return rc;
		/* XFRM: same selector and direction is EEXIST */
		want = k.index;
		k.index = 0;
		if (pol_find(d, &k)) {
			WHY(q, "policy exists");
			return -EEXIST;
		}
		if (d->npols >= ESPD_MAX_POLS) {
			WHY(q, "SPD full (%u policies)", d->npols);
			return -ENOSPC;
		}
		k.index = pol_index_pick(d, want, k.dir);
		if (!k.index) {
			WHY(q, "no free policy index");
			return -ENOSPC;
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->p = k;
		p->p.owned = true;
		p->p.add_time = p->add_sec = espd_now();
		p->p.cur_bytes = p->p.cur_packets = p->p.use_time = 0;
		if (pol_link(d, p) < 0) {
			if (kpol_index_owned(k.index))
				kpol_serials_mark(&d->serials,
						  kpol_index_serial(k.index),
						  false);
			free(p);
			return -ENOMEM;
		}
		d->npols++;
		if (p->p.dir == KDIR_OUT && p->p.action == KPOL_IPSEC)
			espd_route(d, p, true);
		wr_u32(&q->w, p->p.index);
		return 0;
	case ESPM_POL_UPDATE:
		if ((rc = pol_check(q, &k)) < 0)
			return rc;
		p = pol_find(d, &k);
		if (!p) {
			WHY(q, "no such policy");
			return -ENOENT;
		}
		k.index = p->p.index;
		k.owned = true;
		k.add_time = p->p.add_time;
		k.cur_bytes = p->p.cur_bytes;
		k.cur_packets = p->p.cur_packets;
		k.use_time = p->p.use_time;
		if (p->routed)
			espd_route(d, p, false);
		/* the selector (and direction) may change: re-indexed */
		pol_sel_del(d, p);
		p->p = k;
		p->b.n = 0;
		if (pol_sel_add(d, p) < 0) {
			/* out of memory: the policy goes (its KMP is told) */
			pol_free(d, p);
			return -ENOMEM;
		}
		if (p->p.dir == KDIR_OUT && p->p.action == KPOL_IPSEC)
			espd_route(d, p, true);
		wr_u32(&q->w, p->p.index);
		return 0;
	default: /* ESPM_POL_DEL */
		p = pol_find(d, &k);
		if (!p) {
			WHY(q, "no such policy");
			return -ENOENT;
		}
		pol_free(d, p);
		return 0;
	}
}

/*
 * MIGRATE (kernel.h struct kmigrate_req, Linux xfrm_migrate() rules):
 * the policy by selector and direction, at least one template named by
 * a pair, then every SA of a pair gets its new endpoints (and
 * encapsulation) in place: SPI, keys, sequence numbers, replay window
 * and counters stay; output caches are dropped.  Announced to every
 * event subscriber, the requester's connection included.
 */
static int req_migrate(struct req *q, struct rd *r)
{
	struct espd *d = q->d;
	struct kevent ev = {.type = KEV_MIGRATE};
	struct kmigrate_req *mr = &ev.u.migrate;
	struct kpolicy key;
	struct espd_pol *p;
	unsigned matched = 0, moved = 0;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int rc;

	if (espm_get_kmigrate(r, mr) < 0)
		return -EBADMSG;
	if ((rc = kmigrate_validate(mr, q->why, sizeof(q->why))) < 0)
		return rc;
	memset(&key, 0, sizeof(key));
	key.sel = mr->sel;
	key.dir = mr->dir;
	p = pol_find(d, &key);
	if (!p) {
		WHY(q, "no policy to migrate");
		return -ENOENT;
	}
	for (unsigned i = 0; i < p->p.ntmpl; i++)
		if (kmigrate_tmpl(mr, &p->p.tmpl[i]))
			matched++;
	if (!matched) {
		WHY(q, "no template of the policy matches");
		return -ENODATA;
	}
	for (struct espd_sa *s = d->sas; s; s = s->next) {
		const struct kmigrate *m;

		if (s->larval || !(m = kmigrate_sa(mr, &s->k)))
			continue;
		kmigrate_apply_sa(mr, m, &s->k);
		s->mapping_sent = 0;
		moved++;
	}
	for (unsigned i = 0; i < p->p.ntmpl; i++) {
		const struct kmigrate *m = kmigrate_tmpl(mr, &p->p.tmpl[i]);

		if (m)
			kmigrate_apply_tmpl(m, &p->p.tmpl[i]);
	}
	d->sa_gen++; /* every cached outbound SA choice is stale */
	p->b.n = 0;
	log_info(MOD, "MIGRATE policy %#x: %u SA(s) now %s -> %s", p->p.index,
		 moved, astr(&mr->m[0].new_src, a, sizeof(a)),
		 astr(&mr->m[0].new_dst, b, sizeof(b)));
	espd_broadcast(d, &ev);
	return 0;
}

static int send_reply(struct req *q, uint16_t type, struct wr *body, int status)
{
	struct espm_hdr h = {.type = type, .seq = q->h.seq, .status = status};
	struct wr w;
	int rc = 0;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (status < 0)
		espm_put_str(&w, q->why[0] ? q->why : strerror(-status));
	else if (body && body->len)
		wr_bytes(&w, body->buf, body->len);
	/* the answer goes whole (SIZE_MAX): its size is bounded by the
	 * table it lists, and nothing more is read from this client until
	 * it is sent */
	if (!q->sendrc)
		q->sendrc = client_send(q->d, q->i, &w, SIZE_MAX);
	rc = q->sendrc;
	wr_free(&w);
	return rc;
}

static void req_dump(struct req *q, uint16_t type)
{
	struct wr item;

	wr_init(&item, ESPM_MAX);
	if (type == ESPM_POL_DUMP) {
		for (struct espd_pol *p = q->d->pols; p; p = p->next) {
			wr_reset(&item);
			espm_put_kpolicy(&item, &p->p);
			if (send_reply(q, ESPM_ITEM, &item, 0) < 0)
				break;
		}
	} else {
		for (struct espd_sa *s = q->d->sas; s; s = s->next) {
			if (s->larval)
				continue;
			wr_reset(&item);
			espm_put_ksa(&item, &s->k, false);
			espm_put_kcounters(&item, &s->esp.cnt);
			if (send_reply(q, ESPM_ITEM, &item, 0) < 0)
				break;
		}
	}
	wr_free(&item);
}

static void req_stats(struct req *q)
{
	const struct espd_stats *s = &q->d->st;
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
#define F(x) {#x, offsetof(struct espd_stats, x)}
	    F(tun_rx),	    F(tun_tx),	   F(esp_rx),	    F(esp_tx),
	    F(no_policy),   F(discard),	   F(no_sa),	    F(queued),
	    F(queue_drop),  F(acquires),   F(enc_fail),	    F(send_fail),
	    F(unknown_spi), F(decap_fail), F(policy_drop),  F(malformed),
	    F(too_big),	    F(tun_gso),	   F(tun_gro),	    F(tun_write_fail),
	    F(ah_rx),	    F(ah_tx),	   F(ah_malformed), F(ah_auth),
	    F(ah_replay),   F(ah_other),   F(comp_bomb),    F(comp_bad),
	    F(ah_routing),  F(udp_gso),	   F(udp_gro),	    F(udp_rx),
	    F(udp_not_esp),
#undef F
	};
	wr_u32(&q->w, sizeof(f) / sizeof(f[0]));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint64_t v;
		memcpy(&v, (const uint8_t *)s + f[i].off, sizeof(v));
		espm_put_str(&q->w, f[i].name);
		wr_u64(&q->w, v);
	}
}

static void flush_own(struct espd *d)
{
	while (d->pols)
		pol_free(d, d->pols);
}

void espd_state_free(struct espd *d)
{
	flush_own(d);
	kpol_serials_free(&d->serials);
	while (d->sas)
		sa_unlink(d, d->sas);
	hidx_free(&d->pol_sel);
	hidx_free(&d->pol_idx);
	hidx_free(&d->sa_spi);
	hidx_free(&d->sa_reqid);
}

void espd_ctl_msg(struct espd *d, int i, const uint8_t *buf, size_t n)
{
	struct req q = {.d = d, .i = i};
	struct rd r;
	int rc;

	r = rd_init(buf, n);
	if (espm_get_hdr(&r, &q.h) < 0) {
		log_rl_warn(MOD, "short control message dropped");
		return;
	}
	wr_init(&q.w, ESPM_MAX);
	switch (q.h.type) {
	case ESPM_HELLO: {
		uint32_t ver, flags;
		if (rd_u32(&r, &ver) < 0 || rd_u32(&r, &flags) < 0) {
			rc = -EBADMSG;
			break;
		}
		d->cli[i].events = (flags & ESPM_F_EVENTS) != 0;
		/* The reply names this instance, so that a client that
		 * reconnects can tell a restart (we start empty) from a
		 * dropped connection.  It is the first message on the
		 * connection, before any event. */
		wr_u32(&q.w, ESPM_VERSION);
		wr_u64(&q.w, espd_instance);
		rc = 0;
		break;
	}
	case ESPM_GETSPI:
		rc = req_getspi(&q, &r);
		break;
	case ESPM_SA_ADD:
		rc = req_sa_add(&q, &r);
		break;
	case ESPM_SA_DEL:
	case ESPM_SA_QUERY:
	case ESPM_SA_GET:
		rc = req_sa(&q, &r, q.h.type);
		break;
	case ESPM_POL_ADD:
	case ESPM_POL_UPDATE:
	case ESPM_POL_DEL:
		rc = req_pol(&q, &r, q.h.type);
		break;
	case ESPM_POL_DUMP:
	case ESPM_SA_DUMP:
		req_dump(&q, q.h.type);
		rc = 0;
		break;
	case ESPM_FLUSH_OWN:
		flush_own(d);
		rc = 0;
		break;
	case ESPM_STATS:
		req_stats(&q);
		rc = 0;
		break;
	case ESPM_MIGRATE:
		rc = req_migrate(&q, &r);
		break;
	case ESPM_UDP_SOCKS: {
		uint8_t nfd = 0;
		if (rd_u8(&r, &nfd) < 0 || nfd != d->rx_nfds || !nfd) {
			WHY(&q, "%u descriptors announced, %u received", nfd,
			    d->rx_nfds);
			rc = -EBADMSG;
			break;
		}
		rc = espd_given(d, i, d->rx_fds, d->rx_nfds, q.why,
				sizeof(q.why));
		if (rc == 0)
			d->rx_nfds = 0; /* ours now */
		break;
	}
	default:
		WHY(&q, "unknown request type %u", q.h.type);
		rc = -EOPNOTSUPP;
		break;
	}
	if (rc == -EBADMSG && !q.why[0])
		WHY(&q, "malformed request");
	if (rc < 0)
		log_info(MOD, "request %u refused: %s", q.h.type,
			 q.why[0] ? q.why : strerror(-rc));
	if (send_reply(&q, ESPM_REPLY, &q.w, rc) < 0)
		client_lost(d, i, q.sendrc);
	wr_free(&q.w);
}

#ifndef ESPD_NO_MAIN
static struct ctlsock espd_ctl = {.fd = -1, .lockfd = -1};

/* One control message and the descriptors that came with it (only
 * ESPM_UDP_SOCKS carries any) into d->rx_fds. */
static ssize_t client_recv(struct espd *d, int fd, uint8_t *buf, size_t len)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * ESPM_UDP_SOCKS_MAX)];
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	d->rx_nfds = 0;
	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		size_t k;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t j = 0; j < k; j++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof(f));
			if (d->rx_nfds < ESPM_UDP_SOCKS_MAX)
				d->rx_fds[d->rx_nfds++] = f;
			else
				close(f);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		log_rl_warn(MOD, "control message with too many descriptors");
	return n;
}

static void client_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct espd *d = arg;
	static uint8_t buf[ESPM_MAX];
	ssize_t n;
	int i;

	for (i = 0; i < ESPD_MAX_CLIENTS && d->cli[i].fd != fd; i++)
		;
	if (i == ESPD_MAX_CLIENTS)
		return;
	if (outq_pending(&d->cli[i].out)) {
		/* the rest of an answer or of events, as the client reads */
		int rc = outq_flush(&d->cli[i].out, fd);

		if (rc < 0)
			client_lost(d, i, rc);
		else
			client_watch(d, i);
		return;
	}
	n = client_recv(d, fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(d, i);
		return;
	}
	espd_ctl_msg(d, i, buf, (size_t)n);
	mem_wipe(buf, (size_t)n);
	/* descriptors no request kept */
	for (unsigned k = 0; k < d->rx_nfds; k++)
		close(d->rx_fds[k]);
	d->rx_nfds = 0;
}

static void accept_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct espd *d = arg;
	/* SO_PEERCRED: root or our euid; others refused and logged */
	int c = ctlsock_accept(&espd_ctl, NULL, NULL);

	(void)fd;
	if (c < 0)
		return;
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++) {
		if (d->cli[i].fd >= 0)
			continue;
		d->cli[i].fd = c;
		d->cli[i].events = false;
		d->cli[i].want_out = false;
		outq_init(&d->cli[i].out, false); /* SOCK_SEQPACKET */
		if (ev_add_fd(loop, c, EPOLLIN, client_cb, d) < 0) {
			close(c);
			d->cli[i].fd = -1;
		}
		return;
	}
	log_warn(MOD, "too many control clients");
	close(c);
}

static int ctl_open(struct espd *d)
{
	char why[512];
	int rc;

	(void)mkdir_parent(d->ctl_path); /* lib/util.h: 0700 */
	/* lib/ctlsock.h: a socket file left by a dead r2espd is replaced;
	 * one that still answers belongs to a running r2espd, which we must
	 * not cut off from its clients; mode 0600 before bind */
	rc = ctlsock_open(&espd_ctl,
			  &(struct ctlsock_opts){
			      .path = d->ctl_path,
			      .daemon = "r2espd",
			      .type = SOCK_SEQPACKET,
			  },
			  why, sizeof(why));
	if (rc < 0) {
		log_err(MOD, "%s", why);
		return rc;
	}
	d->ctl_fd = espd_ctl.fd;
	return ev_add_fd(d->loop, d->ctl_fd, EPOLLIN, accept_cb, d);
}

static void tick_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct espd *d = arg;
	uint64_t now = espd_now();
	struct espd_sa *s, *next;
	struct espd_pol *p, *pnext;

	for (s = d->sas; s; s = next) {
		next = s->next;
		if (s->larval) {
			if (now >= s->larval_expire)
				sa_unlink(d, s);
			continue;
		}
		espd_sa_events(d, s, esp_sa_tick(&s->esp, now));
	}
	for (p = d->pols; p; p = pnext) {
		pnext = p->next;
		if (p->p.hard_add_expires_sec &&
		    now - p->add_sec >= p->p.hard_add_expires_sec) {
			struct kevent ev = {.type = KEV_POL_EXPIRE};
			ev.u.pol_expire.index = p->p.index;
			ev.u.pol_expire.dir = p->p.dir;
			ev.u.pol_expire.sel = p->p.sel;
			ev.u.pol_expire.hard = true;
			espd_broadcast(d, &ev);
			pol_free(d, p);
		}
	}
	ev_timer_start(loop, t, 1000);
}

static void stop_cb(struct ev_loop *loop, int signo, void *arg)
{
	log_info(MOD, "signal %d: exiting", signo);
	ev_stop(loop);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: r2espd [-dfnu] [-s socket] [-p pidfile] [-i tun-name] "
	    "[-m mtu]\n"
	    "  -s  control socket (default $" ESPM_SOCKET_ENV
	    " or " ESPM_DEFAULT_SOCKET ")\n"
	    "  -p  pid file (locked; none by default)\n"
	    "  -i  TUN device name (default r2tun0)\n"
	    "  -m  TUN MTU (default 1400)\n"
	    "  -u  bind UDP 4500 ourselves (no IKE daemon on this host)\n"
	    "  -n  no TUN offloads (one packet per read and write)\n"
	    "  -U  user of the packet-processing worker (default " SANDBOX_USER
	    ")\n"
	    "  -c  worker's chroot (default " ESPD_CHROOT_DEFAULT
	    ", 'none': no chroot)\n"
	    "  -S  seccomp violation: kill (default), errno, log, trap, "
	    "off\n"
	    "  -P  no privilege separation (everything runs as root)\n"
	    "  -d  debug logging;  -f  stay in foreground (default)\n");
}

static struct pidfile espd_pf;

/* The privileged parent, when the worker is gone. */
static void parent_cleanup(void *arg)
{
	(void)arg;
	ctlsock_close(&espd_ctl);
	pidfile_remove(&espd_pf);
}

int main(int argc, char **argv)
{
	static struct espd d;
	static struct ev_timer tick;
	const char *env = getenv(ESPM_SOCKET_ENV);
	enum log_level lvl = LOG_LVL_INFO;
	const char *pidpath = NULL;
	struct pidfile *pf = &espd_pf;
	struct espd_privsep_opts ps = {.chroot_dir = ESPD_CHROOT_DEFAULT,
				       .on_violation = SANDBOX_KILL,
				       .cleanup = parent_cleanup};
	bool privsep = true;
	char why[512];
	int c, rc = 1;

	memset(&d, 0, sizeof(d));
	snprintf(d.tun_name, sizeof(d.tun_name), "r2tun0");
	snprintf(d.ctl_path, sizeof(d.ctl_path), "%s",
		 env && *env ? env : ESPM_DEFAULT_SOCKET);
	d.mtu = 1400;
	d.offload = true;
	d.priv_fd = -1;
	while ((c = getopt(argc, argv, "dfnus:p:i:m:U:c:S:Ph")) != -1) {
		switch (c) {
		case 'P':
			privsep = false;
			break;
		case 'U':
			ps.user = optarg;
			break;
		case 'c':
			ps.chroot_dir = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case 'S':
			ps.on_violation = strcmp(optarg, "off")
					      ? sandbox_violation_parse(optarg)
					      : -1;
			if (ps.on_violation < -1 ||
			    (ps.on_violation == -1 && strcmp(optarg, "off"))) {
				usage();
				return 2;
			}
			break;
		case 'd':
			lvl = LOG_LVL_DEBUG;
			break;
		case 'f':
			break;
		case 'u':
			d.sink = true;
			break;
		case 'n':
			d.offload = false;
			break;
		case 's':
			snprintf(d.ctl_path, sizeof(d.ctl_path), "%s", optarg);
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'i':
			snprintf(d.tun_name, sizeof(d.tun_name), "%s", optarg);
			break;
		case 'm':
			d.mtu = (unsigned)strtoul(optarg, NULL, 10);
			if (d.mtu < 576 || d.mtu > 9000) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	log_init("r2espd", LOG_TO_STDERR, lvl);
	/* single instance: pid file, then the control socket, before the
	 * TUN device or the routes of a running r2espd are touched */
	pidfile_init(pf);
	if (pidpath &&
	    pidfile_lock(pf, pidpath, "r2espd", why, sizeof(why)) < 0)
		fatal(MOD, "%s", why);
	if ((rc = pidfile_write(pf)) < 0)
		fatal(MOD, "pid file %s: %s", pidpath, strerror(-rc));
	if (RAND_bytes((unsigned char *)&espd_instance,
		       sizeof(espd_instance)) != 1 ||
	    !espd_instance)
		espd_instance = (uint64_t)time(NULL) << 32 | (uint32_t)getpid();
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	d.ctl_fd = -1;
	d.loop = ev_new();
	if (!d.loop)
		fatal(MOD, "cannot create event loop");
	/* control socket first: a second r2espd stops here, before it
	 * touches the TUN device or the routes of the running one */
	if ((rc = ctl_open(&d)) < 0)
		fatal(MOD, "control socket %s: %s", d.ctl_path, strerror(-rc));
	if ((rc = espd_net_open(&d)) < 0) {
		ctlsock_close(&espd_ctl);
		fatal(MOD, "data plane setup failed: %s", strerror(-rc));
	}
	/* systemd Type=notify, from the process that stays the main one:
	 * the control socket listens (connections queue until the worker
	 * accepts them) and the data plane is up. */
	r2_notify("READY=1");
	/* Everything is open: from here on the packet-processing worker
	 * runs as an unprivileged user in a sandbox, and a privileged
	 * parent installs its routes (espd_priv.c). */
	if (privsep) {
		if (ps.chroot_dir &&
		    strcmp(ps.chroot_dir, ESPD_CHROOT_DEFAULT) == 0)
			(void)sandbox_chroot_prepare(ps.chroot_dir);
		if ((rc = espd_privsep(&d, &ps)) < 0) {
			espd_net_close(&d);
			parent_cleanup(NULL);
			fatal(MOD, "privilege separation: %s%s", strerror(-rc),
			      rc == -ENOENT ? " (or run with -P: no "
					      "privilege separation)"
					    : "");
		}
		/* the worker: the parent holds the locks and removes the
		 * files at exit */
		if (pf->fd >= 0)
			close(pf->fd);
		pf->fd = -1;
		if (espd_ctl.lockfd >= 0)
			close(espd_ctl.lockfd);
		espd_ctl.lockfd = -1;
	} else {
		log_warn(MOD, "-P: no privilege separation, the packet path "
			      "runs as root");
	}
	ev_signal(d.loop, SIGTERM, stop_cb, &d);
	ev_signal(d.loop, SIGINT, stop_cb, &d);
	signal(SIGPIPE, SIG_IGN);
	ev_timer_init(&tick, tick_cb, &d);
	ev_timer_start(d.loop, &tick, 1000);
	log_info(MOD, "r2espd ready: tun %s mtu %u, control %s", d.tun_name,
		 d.mtu, d.ctl_path);
	rc = ev_run(d.loop) < 0;
	espd_state_free(&d);
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		if (d.cli[i].fd >= 0)
			client_drop(&d, i);
	espd_net_close(&d);
	if (d.priv_fd >= 0) {
		/* the worker: the parent removes the socket and pid files
		 * once we are gone (we could not: chroot, seccomp) */
		close(espd_ctl.fd);
		close(d.priv_fd);
	} else {
		ctlsock_close(&espd_ctl);
		pidfile_remove(pf);
	}
	ev_free(d.loop);
	return rc;
}
#endif /* ESPD_NO_MAIN */
