/*
 * dns.c - see dns.h.  RFC 1035 message format; RFC 4343 case folding;
 * RFC 2181 section 8 TTLs.  Network input only through the rd cursor.
 */
#include "spm/dns.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/rd.h"

#define DNS_PTR_HOPS_MAX 64
#define DNS_CNAME_MAX	 8

static uint8_t fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * One name at *r, a cursor inside msg[0..n).  RFC 1035 section 4.1.4:
 * a label length with the top bits 11 is a pointer (14-bit offset from
 * the start of the message); 01 and 10 are reserved (refused).  A
 * pointer must point past the header and strictly before itself, so a
 * chain of pointers always moves backwards and ends; the hop count is
 * a second bound.  *r ends after the name (after the first pointer when
 * there is one).  The result is lowercased wire form.
 */
static int read_name(const uint8_t *msg, size_t n, struct rd *r, bool allow_ptr,
		     uint8_t *out, size_t *outlen)
{
	struct rd cur = *r;
	bool jumped = false;
	unsigned hops = 0;
	size_t len = 0;

	for (;;) {
		size_t pos = (size_t)(cur.p - msg);
		const uint8_t *lab;
		uint8_t l;

		if (rd_u8(&cur, &l) < 0)
			return -EBADMSG;
		if ((l & 0xc0) == 0xc0) {
			uint8_t lo;
			size_t off;

			if (!allow_ptr || rd_u8(&cur, &lo) < 0)
				return -EBADMSG;
			off = ((size_t)(l & 0x3f) << 8) | lo;
			if (off < DNS_HDR_LEN || off >= pos ||
			    ++hops > DNS_PTR_HOPS_MAX)
				return -EBADMSG;
			if (!jumped) {
				*r = cur;
				jumped = true;
			}
			cur = rd_init(msg + off, n - off);
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG;
		/* section 2.3.4: 255 octets in all, labels of 63 */
		if (len + 1 + l > DNS_WIRE_MAX)
			return -EBADMSG;
		out[len++] = l;
		if (l == 0)
			break;
		if (rd_ptr(&cur, l, &lab) < 0)
			return -EBADMSG;
		for (size_t i = 0; i < l; i++)
			out[len++] = fold(lab[i]);
	}
	if (!jumped)
		*r = cur;
	*outlen = len;
	return 0;
}

static bool wire_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

int dns_parse(const uint8_t *p, size_t n, bool answers, struct dns_msg *m)
{
	uint8_t names[DNS_CNAME_MAX + 1][DNS_WIRE_MAX];
	size_t lens[DNS_CNAME_MAX + 1], nnames = 0;
	struct rd r = rd_init(p, n);
	uint16_t qd, ns, ar;

	memset(m, 0, sizeof(*m));
	/* section 4.1.1: the header */
	if (rd_u16(&r, &m->id) < 0 || rd_u16(&r, &m->flags) < 0 ||
	    rd_u16(&r, &qd) < 0 || rd_u16(&r, &m->ancount) < 0 ||
	    rd_u16(&r, &ns) < 0 || rd_u16(&r, &ar) < 0)
		return -EBADMSG;
	(void)ns;
	(void)ar;
	m->qr = (m->flags & 0x8000) != 0;
	m->opcode = (uint8_t)((m->flags >> 11) & 0xf);
	m->rcode = (uint8_t)(m->flags & 0xf);
	/* one question: what every resolver sends (RFC 9619 section 3) */
	if (qd != 1)
		return -EBADMSG;
	/* section 4.1.2: the first name of a message has nothing earlier
	 * to point at */
	if (read_name(p, n, &r, false, m->qname, &m->qname_len) < 0 ||
	    rd_u16(&r, &m->qtype) < 0 || rd_u16(&r, &m->qclass) < 0)
		return -EBADMSG;
	if (!answers)
		return 0;

	memcpy(names[0], m->qname, m->qname_len);
	lens[0] = m->qname_len;
	nnames = 1;
	m->ttl = UINT32_MAX;
	/* section 4.1.3: resource records */
	for (unsigned i = 0; i < m->ancount; i++) {
		uint8_t owner[DNS_WIRE_MAX];
		size_t olen;
		uint16_t type, klass, rdlen;
		uint32_t ttl;
		struct rd rdata;
		bool ours = false;

		if (read_name(p, n, &r, true, owner, &olen) < 0 ||
		    rd_u16(&r, &type) < 0 || rd_u16(&r, &klass) < 0 ||
		    rd_u32(&r, &ttl) < 0 || rd_u16(&r, &rdlen) < 0 ||
		    rd_sub(&r, rdlen, &rdata) < 0)
			return -EBADMSG;
		/* RFC 2181 section 8: a TTL with the top bit set is 0 */
		if (ttl & 0x80000000u)
			ttl = 0;
		for (size_t k = 0; k < nnames; k++)
			if (wire_eq(owner, olen, names[k], lens[k]))
				ours = true;
		if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
			size_t alen = type == DNS_TYPE_A ? 4 : 16;
			const uint8_t *a;

			/* RFC 1035 section 3.4.1, RFC 3596 section 2.2 */
			if (klass == DNS_CLASS_IN && rdlen != alen)
				return -EBADMSG;
			if (!ours || klass != DNS_CLASS_IN)
				continue;
			if (rd_ptr(&rdata, alen, &a) < 0)
				return -EBADMSG;
			if (m->naddr == DNS_ADDR_MAX) {
				m->more = true;
				continue;
			}
			m->addr[m->naddr].af =
			    type == DNS_TYPE_A ? AF_INET : AF_INET6;
			memset(m->addr[m->naddr].a, 0, 16);
			memcpy(m->addr[m->naddr].a, a, alen);
			m->naddr++;
			if (ttl < m->ttl)
				m->ttl = ttl;
		} else if (type == DNS_TYPE_CNAME) {
			uint8_t target[DNS_WIRE_MAX];
			size_t tlen;

			/* section 3.3.1: the RDATA is exactly one name, which
			 * may point back into the message */
			if (read_name(p, n, &rdata, true, target, &tlen) < 0 ||
			    !rd_empty(&rdata))
				return -EBADMSG;
			if (!ours || klass != DNS_CLASS_IN ||
			    nnames > DNS_CNAME_MAX)
				continue;
			memcpy(names[nnames], target, tlen);
			lens[nnames++] = tlen;
			if (ttl < m->ttl)
				m->ttl = ttl;
		}
	}
	if (m->ttl == UINT32_MAX)
		m->ttl = 0;
	return 0;
}

int dns_name_from_text(const char *s, uint8_t *wire, size_t cap)
{
	size_t len = 0, slen = strlen(s), lab = 0;

	if (slen && s[slen - 1] == '.')
		slen--;
	if (slen == 0 || cap < 1)
		return -EINVAL;
	/* the label length byte goes at `lab`, filled when the label ends */
	if (len >= cap)
		return -EINVAL;
	lab = len++;
	for (size_t i = 0; i <= slen; i++) {
		if (i == slen || s[i] == '.') {
			size_t l = len - lab - 1;

			if (l == 0 || l > DNS_LABEL_MAX)
				return -EINVAL;
			wire[lab] = (uint8_t)l;
			if (len >= cap)
				return -EINVAL;
			lab = len++;
			continue;
		}
		if (!host_char((uint8_t)s[i]) || len >= cap)
			return -EINVAL;
		wire[len++] = fold((uint8_t)s[i]);
	}
	wire[lab] = 0;
	if (len > DNS_WIRE_MAX)
		return -EINVAL;
	return (int)len;
}

bool dns_wire_valid(const uint8_t *wire, size_t len)
{
	struct rd r = rd_init(wire, len);

	if (len > DNS_WIRE_MAX || len < 2)
		return false;
	for (;;) {
		const uint8_t *lab;
		uint8_t l;

		if (rd_u8(&r, &l) < 0 || l > DNS_LABEL_MAX)
			return false;
		if (l == 0)
			return rd_empty(&r);
		if (rd_ptr(&r, l, &lab) < 0)
			return false;
		for (size_t i = 0; i < l; i++)
			if (!host_char(lab[i]) || lab[i] != fold(lab[i]))
				return false;
	}
}

int dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	if (!dns_wire_valid(wire, len))
		return -EINVAL;
	while (wire[i]) {
		uint8_t l = wire[i++];

		if (o && o < cap)
			out[o++] = '.';
		if (o + l + 1 > cap)
			return -ENOSPC;
		memcpy(out + o, wire + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return 0;
}

int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name,
		    size_t name_len, uint16_t qtype)
{
	size_t len = DNS_HDR_LEN + name_len + 4;

	if (len > cap || name_len > DNS_WIRE_MAX)
		return -ENOSPC;
	/* section 4.1.1: ID, RD, QDCOUNT 1 */
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;
	buf[3] = 0x00;
	memset(buf + 4, 0, 8);
	buf[5] = 1;
	memcpy(buf + DNS_HDR_LEN, name, name_len);
	buf[DNS_HDR_LEN + name_len] = (uint8_t)(qtype >> 8);
	buf[DNS_HDR_LEN + name_len + 1] = (uint8_t)qtype;
	buf[DNS_HDR_LEN + name_len + 2] = 0;
	buf[DNS_HDR_LEN + name_len + 3] = DNS_CLASS_IN;
	return (int)len;
}
