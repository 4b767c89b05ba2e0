/*
 * natt.c - NAT-Traversal (RFC 7296 §2.23, RFC 3948):
 *
 *  - detection: the NAT_DETECTION_SOURCE/DESTINATION_IP notifies of
 *    IKE_SA_INIT (SHA-1 of SPIs, address and port) are built and checked
 *    here (natt_put_natd_v2, natt_check_natd_v2); a mismatch sets nat_local /
 *    nat_peer of the IKE SA;
 *  - keepalives: the side behind a NAT (nat_local; for IKEv1 the NAT-D
 *    of Main/Aggressive Mode, ikev1_sa_nat_here) sends a one-octet
 *    0xFF datagram from its port 4500 to the peer every
 *    nat_keepalive_interval seconds (20 by default, RFC 3948 §2.3), so
 *    that the NAT keeps the mapping; one 1 s scan covers every SA;
 *  - mapping changes: when an authenticated IKE message (input.c) or an
 *    authenticated ESP packet (kernel KEV_MAPPING) shows the peer at a
 *    new address/port, the IKE SA follows and every CHILD SA moves in
 *    place (child_migrate(): the backend's MIGRATE with the new
 *    endpoints and encapsulation ports; SPIs, keys, sequence numbers and
 *    replay windows stay, no rekey), then the dynamic policies' tunnel
 *    endpoints (spmd MIGRATE / kernel update).  Only a CHILD SA the
 *    backend cannot move (no policy with its selectors, a backend
 *    without MIGRATE) is rekeyed instead.
 *  - "4500 from the start": an interface configured with port 4500 only
 *    makes the initiator start on 4500 with the non-ESP marker.
 *
 * Ownership: no memory of its own besides the scan timer in d->rw; the
 * per-SA time of the last keepalive is ike_sa.natt_ka_ms.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/rw.h"
#include "ike/rw_int.h"
#include "ike/v1.h"
#include "lib/log.h"

#define MOD	       "ike"
#define KA_DEFAULT_SEC 20
#define KA_SCAN_MS     1000

/* ---- NAT detection (RFC 7296 §2.23) ---- */

static int natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_ep *ep,
		     uint8_t out[20])
{
	struct sockaddr_storage ss;
	socklen_t sl;

	ike_ep_to_ss(ep, &ss, &sl);
	return ikev2_natd_hash(spi_i, spi_r, (struct sockaddr *)&ss, out);
}

void natt_put_natd_v2(struct ikev2_wr *b, const struct ike_sa *sa)
{
	uint8_t h[20];

	/* §2.23: source = us, destination = the address we send to. */
	if (natd_hash(sa->spi_i, sa->spi_r, &sa->local, h) == 0)
		ikev2_put_notify_simple(b, IKEV2_N_NAT_DETECTION_SOURCE_IP, h,
					sizeof(h));
	if (natd_hash(sa->spi_i, sa->spi_r, &sa->peer, h) == 0)
		ikev2_put_notify_simple(b, IKEV2_N_NAT_DETECTION_DESTINATION_IP,
					h, sizeof(h));
}

/* §2.23: compare the peer's NAT-D hashes with what we see. */
void natt_check_natd_v2(struct ike_sa *sa, const struct ike_msg *m)
{
	uint8_t h[20];
	bool have_src = false, have_dst = false, src_ok = false, dst_ok = false;
	int i = -1;

	while ((i = ikev2_msg_next(m, IKEV2_PL_N, i)) >= 0) {
		struct ikev2_notify n;
		if (ikev2_get_notify(&m->pl[i], &n) != 0)
			continue;
		if (n.type == IKEV2_N_NAT_DETECTION_SOURCE_IP) {
			have_src = true;
			/* Their source as we see it: sa->peer. */
			if (n.len == 20 &&
			    natd_hash(m->hdr.spi_i, m->hdr.spi_r, &sa->peer,
				      h) == 0 &&
			    CRYPTO_memcmp(h, n.data, 20) == 0)
				src_ok = true;
		} else if (n.type == IKEV2_N_NAT_DETECTION_DESTINATION_IP) {
			have_dst = true;
			if (n.len == 20 &&
			    natd_hash(m->hdr.spi_i, m->hdr.spi_r, &sa->local,
				      h) == 0 &&
			    CRYPTO_memcmp(h, n.data, 20) == 0)
				dst_ok = true;
		}
	}
	if (!have_src && !have_dst)
		return; /* peer without NAT-T support */
	sa->nat_peer = have_src && !src_ok;
	sa->nat_local = have_dst && !dst_ok;
	if (sa->nat_local)
		sa->d->ka_dirty = true;
	if (sa->nat_peer || sa->nat_local)
		log_info(MOD, "IKE SA #%u: NAT detected (%s%s)", sa->id,
			 sa->nat_local ? "local" : "",
			 sa->nat_peer ? (sa->nat_local ? ", peer" : "peer")
				      : "");
}

static struct ike_sock *natt_sock(struct iked *d, const struct ike_ep *local)
{
	struct ike_sock *wild = NULL;
	size_t i;

	for (i = 0; i < d->nsock; i++) {
		struct ike_sock *s = &d->sock[i];
		if (!s->natt || s->af != local->addr.af ||
		    (local->port && s->port != local->port))
			continue;
		if (s->addr.af && kaddr_eq(&s->addr, &local->addr))
			return s;
		if (!s->addr.af)
			wild = s;
	}
	return wild;
}

/* One keepalive, IKEv2 and IKEv1 alike. */
static int send_keepalive(struct iked *d, const struct ike_ep *local,
			  const struct ike_ep *peer)
{
	static const uint8_t ka[1] = {0xff};
	struct sockaddr_storage to;
	struct ike_sock *s;
	socklen_t tl;

	if (d->send_hook)
		return d->send_hook(d, local, peer, ka, 1, d->send_hook_arg);
	s = natt_sock(d, local);
	if (!s)
		return -EADDRNOTAVAIL;
	ike_ep_to_ss(peer, &to, &tl);
	/* RFC 3948 §2.3: a single octet 0xFF, no marker. */
	if (sendto(s->fd, ka, 1, 0, (struct sockaddr *)&to, tl) < 0)
		return -errno;
	return 0;
}

/* Is a keepalive due for an SA whose last one went at *last_ms?  The
 * first goes a full interval after the float. */
static bool ka_due(uint64_t *last_ms, unsigned ivl_sec, uint64_t now_ms)
{
	uint64_t ivl = (uint64_t)(ivl_sec ? ivl_sec : KA_DEFAULT_SEC) * 1000;

	if (!*last_ms) {
		*last_ms = now_ms;
		return false;
	}
	if (now_ms - *last_ms < ivl)
		return false;
	*last_ms = now_ms;
	return true;
}

/* IKEv1 (RFC 3947 §4, RFC 3948 §2.3): the same for an ISAKMP SA that
 * floated to 4500 and whose NAT-D showed our side behind the NAT. */
static unsigned v1_keepalive_scan(struct iked *d, uint64_t now_ms)
{
	struct v1_sa *v;
	unsigned n = 0;
	char pb[80];

	for (v = d->v1sas; v; v = v->next) {
		const struct ike_remote *r;

		if (v->dead || !v->established || !v->natt ||
		    !ikev1_sa_nat_here(v->e))
			continue;
		r = cfg_remote_by_name(d->cfg, v->remote);
		if (!r || !r->v1 || !r->v1->nat_traversal ||
		    !ka_due(&v->natt_ka_ms, r->v1->nat_keepalive_sec, now_ms))
			continue;
		if (send_keepalive(d, &v->local, &v->peer) == 0) {
			n++;
			log_debug(MOD, "ISAKMP SA #%u: NAT keepalive to %s",
				  v->id, ike_ep_str(&v->peer, pb, sizeof(pb)));
		}
	}
	return n;
}

unsigned natt_keepalive_scan(struct iked *d, uint64_t now_ms)
{
	struct rw_state *st = rw_get(d);
	struct ike_sa *sa;
	unsigned n = 0, n1, behind = 0;
	char pb[80];

	for (sa = (d->ka_sas || d->ka_dirty) ? d->sas : NULL; sa;
	     sa = sa->next) {
		const struct ike_remote *r;

		if (sa->nat_local)
			behind++;

		/* Only the side behind the NAT keeps the mapping alive. */
		if (!sa->natt || !sa->nat_local ||
		    (sa->state != IKE_S_ESTABLISHED &&
		     sa->state != IKE_S_AUTH_SENT))
			continue;
		r = cfg_remote_by_name(d->cfg, sa->remote);
		if (!r || !r->nat_traversal ||
		    !ka_due(&sa->natt_ka_ms, r->nat_keepalive_sec, now_ms))
			continue;
		if (send_keepalive(d, &sa->local, &sa->peer) == 0) {
			n++;
			if (st)
				st->keepalives_sent++;
			log_debug(MOD, "IKE SA #%u: NAT keepalive to %s",
				  sa->id,
				  ike_ep_str(&sa->peer, pb, sizeof(pb)));
		}
	}
	d->ka_sas = behind;
	d->ka_dirty = false;
	n1 = v1_keepalive_scan(d, now_ms);
	if (st)
		st->keepalives_sent += n1;
	return n + n1;
}

static void ka_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct iked *d = arg;

	natt_keepalive_scan(d, ev_now_ms());
	ev_timer_start(loop, t, KA_SCAN_MS);
}

void natt_start(struct iked *d)
{
	struct rw_state *st = rw_get(d);

	if (!st || st->ka_running || !d->loop)
		return;
	ev_timer_init(&st->ka_timer, ka_fire, d);
	ev_timer_start(d->loop, &st->ka_timer, KA_SCAN_MS);
	st->ka_running = true;
}

void natt_stop(struct iked *d)
{
	struct rw_state *st = d->rw;

	if (!st || !st->ka_running)
		return;
	ev_timer_stop(d->loop, &st->ka_timer);
	st->ka_running = false;
}

void natt_peer_moved(struct ike_sa *sa, const struct ike_ep *old_peer)
{
	struct iked *d = sa->d;
	struct child_sa *c;
	struct rw_bind *b;
	char pb[80], ob[80];
	unsigned n = 0, moved = 0;

	log_info(MOD, "IKE SA #%u: NAT mapping of the peer changed %s -> %s",
		 sa->id, ike_ep_str(old_peer, ob, sizeof(ob)),
		 ike_ep_str(&sa->peer, pb, sizeof(pb)));
	/* RFC 7296 §2.23: the CHILD SAs follow in place (no rekey, the
	 * sequence numbers continue); the policies' templates move with
	 * them. */
	for (c = sa->children; c; c = c->next) {
		if (c->state != CHILD_S_INSTALLED)
			continue;
		if (child_migrate(c, &sa->local, old_peer) == 0) {
			moved++;
			sa->children_moved++;
		} else if (ike_queue_child_rekey(sa, c) == 0) {
			n++;
		}
	}
	if (moved)
		log_info(MOD, "IKE SA #%u: %u CHILD SA(s) moved in place to %s",
			 sa->id, moved, ike_ep_str(&sa->peer, pb, sizeof(pb)));
	if (n)
		log_info(MOD,
			 "IKE SA #%u: rekeying %u CHILD SA(s) the backend "
			 "could not move",
			 sa->id, n);
	if (!kaddr_eq(&old_peer->addr, &sa->peer.addr) && d->rw) {
		/* The outer address moved: the dynamic policies' tunnel
		 * endpoint follows (static ones are not ours to move). */
		struct hidx_it it;
		for (b = rw_binds_sa_next(&d->rw->binds, sa->id, &it, true); b;
		     b = rw_binds_sa_next(&d->rw->binds, sa->id, &it, false)) {
			if (b->dyn_id && d->rw->ops && d->rw->ops->migrate)
				d->rw->ops->migrate(
				    d, b->dyn_id, &sa->local.addr,
				    &old_peer->addr, &sa->local.addr,
				    &sa->peer.addr);
			if (b->dyn_id || b->mode != KMODE_TUNNEL)
				continue;
			if (kaddr_eq(&b->tun_peer, &old_peer->addr))
				b->tun_peer = sa->peer.addr;
			if (kaddr_eq(&b->tun_local, &old_peer->addr))
				b->tun_local = sa->peer.addr;
			for (unsigned i = 0; i < b->nk && d->kern_open; i++) {
				struct kpolicy kp;
				rw_bind_kpol(b, i, &kp);
				k_pol_update(&d->kern, &kp);
			}
		}
	}
}

void natt_kernel_mapping(struct iked *d, const struct kevent *ev)
{
	struct ike_sa *sa;
	struct child_sa *c = NULL;
	struct ike_ep old;

	if (ev->type != KEV_MAPPING || ev->u.mapping.proto != IPPROTO_ESP)
		return;
	for (sa = d->sas; sa && !c; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED)
			c = child_find_spi(sa, ev->u.mapping.spi, true);
	if (!c)
		return;
	sa = c->ike;
	if (!sa->natt || !(sa->nat_local || sa->nat_peer) ||
	    !ev->u.mapping.new_addr.af ||
	    (kaddr_eq(&sa->peer.addr, &ev->u.mapping.new_addr) &&
	     sa->peer.port == ev->u.mapping.new_port))
		return;
	/* The data plane reports a mapping only for ESP that passed its
	 * integrity check (XFRM does the same), so it is authenticated. */
	old = sa->peer;
	sa->peer.addr = ev->u.mapping.new_addr;
	sa->peer.port = ev->u.mapping.new_port;
	natt_peer_moved(sa, &old);
}

bool natt_only_4500(struct iked *d, const struct kaddr *local)
{
	bool plain = false, natt = false;
	size_t i;

	for (i = 0; i < d->nsock; i++) {
		const struct ike_sock *s = &d->sock[i];
		if (s->af != local->af ||
		    (s->addr.af && !kaddr_eq(&s->addr, local)))
			continue;
		if (s->natt)
			natt = true;
		else
			plain = true;
	}
	return natt && !plain;
}
