/*
 * espd_flow.c - turn an IP packet (IPv4 or IPv6, with extension headers)
 * into the flow selector the SPD is matched against: host addresses,
 * protocol, ports (ICMP type/code in the port fields, as XFRM does).
 * Packets come from the TUN device or out of an ESP payload, so they
 * are parsed only through struct rd.  Nothing is allocated.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "kernel/userspace/espd.h"
#include "lib/rd.h"

static int l4_ports(struct rd *r, uint8_t proto, struct ksel *f)
{
	uint8_t type, code;

	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (rd_u16(r, &f->sport) < 0 || rd_u16(r, &f->dport) < 0)
			return 0; /* truncated L4: match on addresses only */
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* XFRM convention: ICMP type/code in the port fields */
		if (rd_u8(r, &type) < 0 || rd_u8(r, &code) < 0)
			return 0;
		f->sport = type;
		f->dport = code;
		break;
	default:
		return 0;
	}
	f->sport_mask = f->dport_mask = 0xffff;
	return 0;
}

int espd_flow(const uint8_t *pkt, size_t len, struct ksel *f)
{
	struct rd r = rd_init(pkt, len), l4;
	uint8_t vihl, proto;
	uint16_t total, frag;

	memset(f, 0, sizeof(*f));
	if (rd_u8(&r, &vihl) < 0)
		return -EBADMSG;
	if (vihl >> 4 == 4) {
		size_t ihl = (size_t)(vihl & 15) * 4;
		/* RFC 791 §3.1 */
		if (ihl < 20 || rd_skip(&r, 1) < 0 || rd_u16(&r, &total) < 0 ||
		    total < ihl || total > len || rd_skip(&r, 2) < 0 ||
		    rd_u16(&r, &frag) < 0 || rd_skip(&r, 1) < 0 ||
		    rd_u8(&r, &proto) < 0 || rd_skip(&r, 2) < 0 ||
		    rd_bytes(&r, f->src.u.b, 4) < 0 ||
		    rd_bytes(&r, f->dst.u.b, 4) < 0 ||
		    rd_skip(&r, ihl - 20) < 0)
			return -EBADMSG;
		f->af = f->src.af = f->dst.af = AF_INET;
		f->src_plen = f->dst_plen = 32;
		f->proto = proto;
		if ((frag & 0x1fff) == 0 && rd_sub(&r, total - ihl, &l4) == 0)
			l4_ports(&l4, proto, f);
		return total;
	}
	if (vihl >> 4 == 6) {
		uint16_t plen;
		uint8_t nh, next, hlen;
		bool first = true;
		/* RFC 8200 §3 */
		if (rd_skip(&r, 3) < 0 || rd_u16(&r, &plen) < 0 ||
		    rd_u8(&r, &nh) < 0 || rd_skip(&r, 1) < 0 ||
		    rd_bytes(&r, f->src.u.b, 16) < 0 ||
		    rd_bytes(&r, f->dst.u.b, 16) < 0 ||
		    (size_t)plen + 40 > len || rd_sub(&r, plen, &l4) < 0)
			return -EBADMSG;
		f->af = f->src.af = f->dst.af = AF_INET6;
		f->src_plen = f->dst_plen = 128;
		/* RFC 8200 §4: skip extension headers to the upper layer */
		for (int i = 0; i < 8; i++) {
			if (nh == 0 || nh == 43 || nh == 60) {
				if (rd_u8(&l4, &next) < 0 ||
				    rd_u8(&l4, &hlen) < 0 ||
				    rd_skip(&l4, (size_t)hlen * 8 + 6) < 0)
					return -EBADMSG;
				nh = next;
			} else if (nh == 44) {
				uint16_t off;
				if (rd_u8(&l4, &next) < 0 ||
				    rd_skip(&l4, 1) < 0 ||
				    rd_u16(&l4, &off) < 0 ||
				    rd_skip(&l4, 4) < 0)
					return -EBADMSG;
				if (off & 0xfff8)
					first = false;
				nh = next;
			} else {
				break;
			}
		}
		f->proto = nh;
		if (first)
			l4_ports(&l4, nh, f);
		return (int)plen + 40;
	}
	return -EBADMSG;
}

/* Does address a lie in prefix p/plen? */
bool kprefix_match(const struct kaddr *p, unsigned plen, const struct kaddr *a)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (plen == 0)
		return true;
	if (p->af != a->af)
		return false;
	if (memcmp(p->u.b, a->u.b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((p->u.b[full] ^ a->u.b[full]) & mask)
			return false;
	}
	return true;
}

/* RFC 4301 §4.4.1: the flow (host addresses, ports) against a selector. */
bool ksel_match_flow(const struct ksel *s, const struct ksel *f)
{
	if (s->af && s->af != f->af)
		return false;
	if (s->proto && s->proto != f->proto)
		return false;
	if (!kprefix_match(&s->src, s->src_plen, &f->src) ||
	    !kprefix_match(&s->dst, s->dst_plen, &f->dst))
		return false;
	if (s->sport_mask && ((f->sport ^ s->sport) & s->sport_mask))
		return false;
	if (s->dport_mask && ((f->dport ^ s->dport) & s->dport_mask))
		return false;
	return true;
}
