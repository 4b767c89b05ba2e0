/*
 * ts.c - traffic selectors (RFC 7296 §3.13.1) as address/port ranges:
 * prefix <-> range conversion, splitting a range into CIDR blocks (for
 * kernels that want prefixes), intersection and narrowing (§2.9).
 * Pure functions over caller-owned structures.
 */
#include "ike/codec/codec_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static size_t alen_of(const struct ikev2_ts *t)
{
	return t->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;
}

int ikev2_ts_from_prefix(struct ikev2_ts *ts, int af, const void *addr,
			 unsigned plen, uint8_t proto, uint16_t port)
{
	size_t alen = af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
	const uint8_t *a = addr;

	if (!alen || plen > alen * 8)
		return -EINVAL;
	memset(ts, 0, sizeof(*ts));
	ts->type =
	    alen == 4 ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE;
	ts->proto = proto;
	ts->sport = port;
	ts->eport = port ? port : 0xffff;
	for (size_t i = 0; i < alen; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		ts->start[i] = a[i] & mask;
		ts->end[i] = a[i] | (uint8_t)~mask;
	}
	return 0;
}

/* Is [start, end] exactly the block of prefix length plen? */
static bool is_block(const uint8_t *s, const uint8_t *e, size_t alen,
		     unsigned plen)
{
	for (size_t i = 0; i < alen; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((s[i] & (uint8_t)~mask) != 0 ||
		    (e[i] & (uint8_t)~mask) != (uint8_t)~mask ||
		    (s[i] & mask) != (e[i] & mask))
			return false;
	}
	return true;
}

int ikev2_ts_to_prefix(const struct ikev2_ts *ts, int *af, void *addr,
		       unsigned *plen)
{
	size_t alen = alen_of(ts);

	for (unsigned p = 0; p <= alen * 8; p++) {
		if (is_block(ts->start, ts->end, alen, p)) {
			*af = alen == 4 ? AF_INET : AF_INET6;
			memcpy(addr, ts->start, alen);
			*plen = p;
			return 0;
		}
	}
	return -ERANGE;
}

/* Number of trailing zero bits of a big-endian number. */
static unsigned ctz(const uint8_t *a, size_t alen)
{
	unsigned n = 0;

	for (size_t i = alen; i-- > 0;) {
		if (a[i] == 0) {
			n += 8;
			continue;
		}
		for (uint8_t b = a[i]; !(b & 1); b >>= 1)
			n++;
		break;
	}
	return n;
}

/* x | (2^k - 1) */
static void set_low(uint8_t *out, const uint8_t *x, size_t alen, unsigned k)
{
	for (size_t i = 0; i < alen; i++) {
		unsigned bitpos =
		    (unsigned)(alen - 1 - i) * 8; /* LSB of byte */
		uint8_t m;

		if (k >= bitpos + 8)
			m = 0xff;
		else if (k <= bitpos)
			m = 0;
		else
			m = (uint8_t)((1u << (k - bitpos)) - 1);
		out[i] = x[i] | m;
	}
}

/* x + 1; false on wrap-around. */
static bool incr(uint8_t *x, size_t alen)
{
	for (size_t i = alen; i-- > 0;)
		if (++x[i] != 0)
			return true;
	return false;
}

int ikev2_ts_split(const struct ikev2_ts *ts, struct ikev2_ts *out, size_t max)
{
	size_t alen = alen_of(ts), n = 0;
	uint8_t cur[16], hi[16];

	if (memcmp(ts->start, ts->end, alen) > 0)
		return 0; /* empty range */
	memcpy(cur, ts->start, alen);
	for (;;) {
		unsigned k = ctz(cur, alen);

		if (k > alen * 8)
			k = (unsigned)alen * 8;
		/* largest aligned block starting at cur within the range */
		for (;; k--) {
			set_low(hi, cur, alen, k);
			if (memcmp(hi, ts->end, alen) <= 0)
				break;
		}
		if (n >= max)
			return -ENOSPC;
		out[n] = *ts;
		memcpy(out[n].start, cur, alen);
		memcpy(out[n].end, hi, alen);
		n++;
		if (memcmp(hi, ts->end, alen) == 0)
			break;
		memcpy(cur, hi, alen);
		if (!incr(cur, alen))
			break;
	}
	return (int)n;
}

bool ikev2_ts_intersect(const struct ikev2_ts *a, const struct ikev2_ts *b,
			struct ikev2_ts *out)
{
	size_t alen = alen_of(a);
	struct ikev2_ts r;

	if (a->type != b->type)
		return false;
	/* §3.13.1: protocol 0 means any. */
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	memset(&r, 0, sizeof(r));
	r.type = a->type;
	r.proto = a->proto ? a->proto : b->proto;
	r.sport = a->sport > b->sport ? a->sport : b->sport;
	r.eport = a->eport < b->eport ? a->eport : b->eport;
	if (r.sport > r.eport)
		return false;
	memcpy(r.start,
	       memcmp(a->start, b->start, alen) > 0 ? a->start : b->start,
	       alen);
	memcpy(r.end, memcmp(a->end, b->end, alen) < 0 ? a->end : b->end, alen);
	if (memcmp(r.start, r.end, alen) > 0)
		return false;
	if (out)
		*out = r;
	return true;
}

bool ikev2_ts_within(const struct ikev2_ts *a, const struct ikev2_ts *b)
{
	size_t alen = alen_of(a);

	if (a->type != b->type)
		return false;
	if (b->proto && a->proto != b->proto)
		return false;
	if (a->sport < b->sport || a->eport > b->eport)
		return false;
	return memcmp(a->start, b->start, alen) >= 0 &&
	       memcmp(a->end, b->end, alen) <= 0;
}

bool ikev2_ts_list_within(const struct ikev2_ts_list *a,
			  const struct ikev2_ts_list *b)
{
	if (a->n == 0)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		bool ok = false;

		for (unsigned j = 0; j < b->n && !ok; j++)
			ok = ikev2_ts_within(&a->ts[i], &b->ts[j]);
		if (!ok)
			return false;
	}
	return true;
}

int ikev2_ts_narrow(const struct ikev2_ts_list *peer,
		    const struct ikev2_ts_list *ours, struct ikev2_ts_list *out)
{
	struct ikev2_ts_list cand;

	memset(out, 0, sizeof(*out));
	cand.n = 0;
	/* §2.9: every acceptable part of what the peer proposed. */
	for (unsigned i = 0; i < peer->n; i++) {
		for (unsigned j = 0; j < ours->n; j++) {
			struct ikev2_ts r;

			if (!ikev2_ts_intersect(&peer->ts[i], &ours->ts[j], &r))
				continue;
			if (cand.n < IKEV2_MAX_TS)
				cand.ts[cand.n++] = r;
		}
	}
	/* Drop duplicates and selectors covered by another one (the first
	 * of two equal ones stays). */
	for (unsigned i = 0; i < cand.n; i++) {
		bool redundant = false;

		for (unsigned j = 0; j < cand.n && !redundant; j++) {
			if (i == j ||
			    !ikev2_ts_within(&cand.ts[i], &cand.ts[j]))
				continue;
			/* equal: keep the earlier one */
			redundant =
			    !ikev2_ts_within(&cand.ts[j], &cand.ts[i]) || j < i;
		}
		if (!redundant)
			out->ts[out->n++] = cand.ts[i];
	}
	/* §2.9: nothing acceptable -> TS_UNACCEPTABLE. */
	return out->n ? 0 : IKEV2_N_TS_UNACCEPTABLE;
}
