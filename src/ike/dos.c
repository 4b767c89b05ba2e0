/*
 * dos.c - per-peer limits on what an unauthenticated or authenticated
 * peer can make iked keep (see dos.h for the model and ownership).
 *
 * The attack this answers (issue 9): 5,000 IKE_SA_INIT/s from 200
 * addresses that answer the COOKIE (RFC 7296 §2.6) like real
 * initiators.  A cookie only proves that the source address is
 * reachable, so an attacker holding addresses passes it; what it cannot
 * do is be many prefixes at once.  Hence:
 *
 *  - per source address and per prefix (/24, /64) limits, checked after
 *    the cookie and before any Diffie-Hellman work, so a refused request
 *    costs one HMAC: the DH work a prefix can cause is bounded by
 *    half_open_per_prefix per half-open timeout;
 *  - under pressure (cookies required), at most half_open_rate new
 *    half-open SAs per second, i.e. DH computations, from prefixes that
 *    already hold one; a prefix holding none is always considered, so a
 *    legitimate newcomer is never queued behind the flood;
 *  - a half-open timeout that shrinks linearly from half_open_timeout
 *    at half fill to DOS_HO_MIN_MS at a full table;
 *  - with the table full, a request displaces the oldest entry of the
 *    most loaded prefix if (and only if) that prefix holds at least two
 *    more than the requester's, so that after the swap it still holds
 *    at least as many: displacement only evens out the shares.
 *    An attacker with 200 addresses in one /24 holds at most
 *    half_open_per_prefix entries, passes the limits of no other
 *    prefix and cannot fill the table.  With k prefixes it can fill it,
 *    but then the prefixes share it about evenly (half_open_max / k
 *    each, further requests of theirs are refused before DH), a
 *    newcomer prefix (a legitimate peer) displaces one of theirs as
 *    long as some prefix holds two or more, and an entry alone in its
 *    prefix is never displaced.  Only an attacker with about
 *    half_open_max distinct prefixes can keep a newcomer out, and then
 *    only until the shrinking timeout frees entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ike/cfg.h"
#include "ike/dos.h"
#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

void dos_prefix(const struct kaddr *a, struct kaddr *out)
{
	unsigned bits = a->af == AF_INET6 ? DOS_PREFIX6 : DOS_PREFIX4;
	unsigned len = a->af == AF_INET6 ? 16 : 4, i;

	memset(out, 0, sizeof(*out));
	out->af = a->af;
	for (i = 0; i < len; i++) {
		if (bits >= 8)
			out->u.b[i] = a->u.b[i];
		else if (bits)
			out->u.b[i] =
			    (uint8_t)(a->u.b[i] & (0xff << (8 - bits)));
		bits = bits >= 8 ? bits - 8 : 0;
	}
}

static unsigned prefix_hash(const struct kaddr *p)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	unsigned i;

	for (i = 0; i < 16; i++)
		h = (h ^ p->u.b[i]) * 16777619u;
	return (h ^ p->af) % DOS_HASH;
}

static struct dos_bucket *bucket_find(const struct iked *d,
				      const struct kaddr *a)
{
	struct dos_bucket *b;
	struct kaddr p;

	dos_prefix(a, &p);
	for (b = d->dos.hash[prefix_hash(&p)]; b; b = b->next)
		if (kaddr_eq(&b->prefix, &p))
			return b;
	return NULL;
}

unsigned dos_count_prefix(const struct iked *d, const struct kaddr *a)
{
	const struct dos_bucket *b = bucket_find(d, a);

	return b ? b->n : 0;
}

unsigned dos_count_addr(const struct iked *d, const struct kaddr *a)
{
	const struct dos_bucket *b = bucket_find(d, a);
	const struct ike_sa *sa;
	unsigned n = 0;

	if (!b)
		return 0;
	for (sa = b->head; sa; sa = sa->ho.pnext)
		if (kaddr_eq(&sa->peer.addr, a))
			n++;
	return n;
}

bool dos_cookie_needed(const struct iked *d, const struct ike_remote *r,
		       const struct kaddr *src)
{
	const struct ike_cfg *cfg = d->cfg;

	if ((r && r->cookie_required) || d->half_open >= cfg->cookie_threshold)
		return true;
	/* A source (address or prefix) holding half its quota must show
	 * that it is reachable before it takes more. */
	return dos_count_addr(d, src) * 2 >= cfg->half_open_per_addr ||
	       dos_count_prefix(d, src) * 2 >= cfg->half_open_per_prefix;
}

int dos_ho_add(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	struct dos_bucket *b;

	if (sa->half_open)
		return 0;
	b = bucket_find(d, &sa->peer.addr);
	if (!b) {
		unsigned h;

		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		dos_prefix(&sa->peer.addr, &b->prefix);
		h = prefix_hash(&b->prefix);
		b->next = d->dos.hash[h];
		d->dos.hash[h] = b;
		d->dos.nbuckets++;
	}
	sa->ho.b = b;
	sa->ho.since_ms = ev_now_ms();
	sa->ho.pnext = NULL;
	sa->ho.pprev = b->tail;
	if (b->tail)
		b->tail->ho.pnext = sa;
	else
		b->head = sa;
	b->tail = sa;
	b->n++;
	sa->ho.next = NULL;
	sa->ho.prev = d->dos.youngest;
	if (d->dos.youngest)
		d->dos.youngest->ho.next = sa;
	else
		d->dos.oldest = sa;
	d->dos.youngest = sa;
	sa->half_open = true;
	d->half_open++;
	if (d->half_open > d->dos.st.half_open_peak)
		d->dos.st.half_open_peak = d->half_open;
	return 0;
}

static void bucket_free(struct iked *d, struct dos_bucket *b)
{
	struct dos_bucket **pp = &d->dos.hash[prefix_hash(&b->prefix)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	d->dos.nbuckets--;
	free(b);
}

void dos_ho_del(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	struct dos_bucket *b = sa->ho.b;

	if (!sa->half_open)
		return;
	sa->half_open = false;
	if (d->half_open)
		d->half_open--;
	if (sa->ho.prev)
		sa->ho.prev->ho.next = sa->ho.next;
	else
		d->dos.oldest = sa->ho.next;
	if (sa->ho.next)
		sa->ho.next->ho.prev = sa->ho.prev;
	else
		d->dos.youngest = sa->ho.prev;
	if (b) {
		if (sa->ho.pprev)
			sa->ho.pprev->ho.pnext = sa->ho.pnext;
		else
			b->head = sa->ho.pnext;
		if (sa->ho.pnext)
			sa->ho.pnext->ho.pprev = sa->ho.pprev;
		else
			b->tail = sa->ho.pprev;
		if (--b->n == 0)
			bucket_free(d, b);
	}
	memset(&sa->ho, 0, sizeof(sa->ho));
}

unsigned dos_ho_timeout_ms(const struct iked *d)
{
	uint64_t t = d->cfg->half_open_timeout_ms;
	uint64_t max = d->cfg->half_open_max, n = d->half_open;

	if (!t || !max)
		return (unsigned)t;
	/* Full timeout up to half fill, then linearly down to the floor
	 * at a full table. */
	if (2 * n > max)
		t = n >= max ? 0 : t * 2 * (max - n) / max;
	return t < DOS_HO_MIN_MS ? DOS_HO_MIN_MS : (unsigned)t;
}

void dos_sweep(struct iked *d)
{
	uint64_t now = ev_now_ms();
	unsigned n = 0;

	while (d->dos.oldest) {
		struct ike_sa *sa = d->dos.oldest;
		unsigned t = dos_ho_timeout_ms(d); /* grows as we remove */

		if (!t || now - sa->ho.since_ms < t)
			break;
		d->dos.st.expired++;
		n++;
		ike_sa_drop(sa, "half-open timeout");
	}
	if (n) {
		static struct log_rl rl = LOG_RL_INIT(5000, 5);

		log_rl_msg(&rl, LOG_LVL_NOTICE, MOD,
			   "%u half-open IKE SAs timed out (%u half-open, "
			   "timeout now %u ms)",
			   n, d->half_open, dos_ho_timeout_ms(d));
	}
}

/* Token bucket of half_open_rate per second, burst one second's worth. */
static bool take_token(struct iked *d)
{
	uint64_t now = ev_now_ms(), rate = d->cfg->half_open_rate, add;

	if (!d->dos.tokens_ms) {
		d->dos.tokens_ms = now;
		d->dos.tokens = (uint32_t)rate;
	}
	add = (now - d->dos.tokens_ms) * rate / 1000;
	if (add) {
		d->dos.tokens = (uint32_t)(d->dos.tokens + add > rate
					       ? rate
					       : d->dos.tokens + add);
		d->dos.tokens_ms = now;
	}
	if (!d->dos.tokens)
		return false;
	d->dos.tokens--;
	return true;
}

/* The bucket to displace from: the most loaded, ties to the one with
 * the oldest entry. */
static struct dos_bucket *most_loaded(const struct iked *d)
{
	struct dos_bucket *best = NULL, *b;
	unsigned i;

	for (i = 0; i < DOS_HASH; i++)
		for (b = d->dos.hash[i]; b; b = b->next)
			if (!best || b->n > best->n ||
			    (b->n == best->n &&
			     b->head->ho.since_ms < best->head->ho.since_ms))
				best = b;
	return best;
}

static struct log_rl rl_admit = LOG_RL_INIT(5000, 10);

/* Size, timeout sweep, per-address and per-prefix limits: what does not
 * depend on the cookie.  A source over them is dropped before the
 * COOKIE check, without an answer: a cookie would not get it in, and
 * not asking saves the HMAC, the reply and the flood's resend. */
bool dos_init_precheck(struct iked *d, const struct kaddr *src, size_t len)
{
	struct log_rl *rl_ = &rl_admit;
	const struct ike_cfg *cfg = d->cfg;
	unsigned mine;
	char ab[64];

	if (len > DOS_INIT_MAX) {
		d->dos.st.refused_size++;
		log_rl_msg(rl_, LOG_LVL_WARN, MOD,
			   "IKE_SA_INIT from %s: %zu bytes, more than %u; "
			   "dropped",
			   kaddr_str(src, ab, sizeof(ab)), len, DOS_INIT_MAX);
		return false;
	}
	dos_sweep(d);
	if (dos_count_addr(d, src) >= cfg->half_open_per_addr) {
		d->dos.st.refused_addr++;
		log_rl_msg(rl_, LOG_LVL_WARN, MOD,
			   "IKE_SA_INIT from %s refused: %u half-open SAs "
			   "from this address (ike_half_open_per_addr)",
			   kaddr_str(src, ab, sizeof(ab)),
			   cfg->half_open_per_addr);
		return false;
	}
	mine = dos_count_prefix(d, src);
	if (mine >= cfg->half_open_per_prefix) {
		d->dos.st.refused_prefix++;
		log_rl_msg(rl_, LOG_LVL_WARN, MOD,
			   "IKE_SA_INIT from %s refused: %u half-open SAs "
			   "from its /%u (ike_half_open_per_prefix)",
			   kaddr_str(src, ab, sizeof(ab)), mine,
			   src->af == AF_INET6 ? DOS_PREFIX6 : DOS_PREFIX4);
		return false;
	}
	return true;
}

bool dos_init_admit(struct iked *d, const struct kaddr *src, size_t len)
{
	struct log_rl *rl_ = &rl_admit;
	const struct ike_cfg *cfg = d->cfg;
	struct dos_bucket *b, *victim;
	unsigned mine;
	char ab[64];

	if (!dos_init_precheck(d, src, len))
		return false;
	b = bucket_find(d, src);
	mine = b ? b->n : 0;
	/* Under pressure each new half-open SA costs a DH computation at
	 * the flood's pace: at most half_open_rate per second, except for a
	 * prefix that holds none, a newcomer (the legitimate peer is not
	 * queued behind the flood; once admitted its prefix is subject to
	 * the rate like any other). */
	if (mine && cfg->half_open_rate &&
	    d->half_open >= cfg->cookie_threshold && !take_token(d)) {
		d->dos.st.refused_rate++;
		log_rl_msg(rl_, LOG_LVL_WARN, MOD,
			   "IKE_SA_INIT from %s refused: more than %u new "
			   "half-open SAs per second (ike_half_open_rate)",
			   kaddr_str(src, ab, sizeof(ab)), cfg->half_open_rate);
		return false;
	}
	if (d->half_open < cfg->half_open_max)
		return true;
	/* Full: displace only towards an even share per prefix. */
	victim = most_loaded(d);
	if (!victim || victim->n <= mine + 1 || victim == b) {
		/* victim->n <= mine + 1: after the swap the new prefix
		 * would hold at least as many as the victim's; that would
		 * only trade one prefix for another. */
		d->dos.st.refused_table++;
		log_rl_msg(rl_, LOG_LVL_WARN, MOD,
			   "IKE_SA_INIT from %s refused: %u half-open SAs "
			   "(ike_half_open_max) and none to displace",
			   kaddr_str(src, ab, sizeof(ab)), d->half_open);
		return false;
	}
	d->dos.st.displaced++;
	{
		static struct log_rl rl_d = LOG_RL_INIT(5000, 5);
		char vb[64];

		log_rl_msg(&rl_d, LOG_LVL_NOTICE, MOD,
			   "half-open table full: IKE_SA_INIT from %s "
			   "displaces the oldest of %u from %s",
			   kaddr_str(src, ab, sizeof(ab)), victim->n,
			   kaddr_str(&victim->prefix, vb, sizeof(vb)));
	}
	ike_sa_drop(victim->head, "displaced by a new half-open SA");
	return true;
}

/* RFC 7296 §2.4 leaves the number of IKE SAs per peer to policy. */
bool dos_id_admit(struct ike_sa *sa)
{
	const struct ike_sa *o;
	struct hidx_it it;
	unsigned n = 0;
	char b[300];

	for (o = ike_sa_by_peer_first(sa->d, &it, sa->remote, &sa->id_peer); o;
	     o = ike_sa_by_peer_next(sa->d, &it, sa->remote, &sa->id_peer))
		if (o != sa && o->state == IKE_S_ESTABLISHED)
			n++;
	if (n < sa->d->cfg->sa_per_id)
		return true;
	sa->d->dos.st.refused_id++;
	log_rl_warn(MOD,
		    "IKE SA #%u: %s already has %u IKE SAs "
		    "(ike_sa_per_id); refused",
		    sa->id, ike_id_str(&sa->id_peer, b, sizeof(b)), n);
	return false;
}

/* RFC 7296 §3.10.1 NO_ADDITIONAL_SAS: our limit per IKE SA. */
bool dos_child_admit(struct ike_sa *sa)
{
	const struct child_sa *c;
	unsigned n = 0;

	for (c = sa->children; c; c = c->next)
		if (c->state != CHILD_S_REKEYED && c->state != CHILD_S_DELETING)
			n++;
	if (n < sa->d->cfg->child_per_sa)
		return true;
	sa->d->dos.st.refused_child++;
	log_rl_warn(MOD,
		    "IKE SA #%u: %u CHILD SAs (child_sa_per_ike_sa); "
		    "refusing another",
		    sa->id, n);
	return false;
}

void dos_free(struct iked *d)
{
	unsigned i;

	while (d->dos.oldest)
		dos_ho_del(d->dos.oldest);
	for (i = 0; i < DOS_HASH; i++)
		while (d->dos.hash[i])
			bucket_free(d, d->dos.hash[i]);
}
