/*
 * dns.h - the DNS message parser and query builder of spmd's resolver
 * (RFC 1035).  Pure functions over bytes: the sandboxed resolver child
 * (resolver_child.c) calls them on network input, the fuzz harness
 * (tests/fuzz/dns) on anything.  Every read goes through the rd cursor.
 *
 * Names are kept in wire form (length-prefixed labels ending in the
 * zero label), lowercased (RFC 4343 section 3), at most DNS_WIRE_MAX
 * octets (RFC 1035 section 2.3.4).
 */
#ifndef RACOON_SPM_DNS_H
#define RACOON_SPM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_WIRE_MAX  255 /* RFC 1035 section 2.3.4 */
#define DNS_LABEL_MAX 63
#define DNS_TEXT_MAX  254  /* 253 characters + NUL */
#define DNS_ADDR_MAX  16   /* addresses kept from one answer */
#define DNS_MSG_MAX   4096 /* EDNS0 sizes (RFC 6891 section 6.2.5) */
#define DNS_HDR_LEN   12

#define DNS_TYPE_A     1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA  28
#define DNS_CLASS_IN   1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_NXDOMAIN 3

struct dns_addr {
	uint8_t af; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

struct dns_msg {
	uint16_t id;
	uint16_t flags;
	bool qr; /* a response */
	uint8_t opcode;
	uint8_t rcode;
	uint16_t ancount;
	/* the one question (RFC 1035 section 4.1.2) */
	uint8_t qname[DNS_WIRE_MAX];
	size_t qname_len;
	uint16_t qtype, qclass;
	/* answers == true only: A/AAAA records of class IN for the question
	 * name or a CNAME of it found in the answer section */
	size_t naddr;
	struct dns_addr addr[DNS_ADDR_MAX];
	uint32_t ttl; /* the smallest TTL of those records and CNAMEs */
	bool more;    /* more addresses than DNS_ADDR_MAX (ignored) */
};

/*
 * Parses the header and exactly one question; with answers, also every
 * record of the answer section (section 4.1.3), which must be well
 * formed (names with compression pointers that point strictly backwards
 * (section 4.1.4), RDATA inside the message, A = 4 and AAAA = 16
 * octets).  0, or -EBADMSG for anything malformed.  The authority and
 * additional sections are not read.
 */
int dns_parse(const uint8_t *p, size_t n, bool answers, struct dns_msg *m);

/*
 * Host name in text ("www.example.org" or with a final dot) to wire
 * form, lowercased.  Labels 1..63 octets of letters, digits, '-' or
 * '_'; length (-EINVAL otherwise).
 */
int dns_name_from_text(const char *s, uint8_t *wire, size_t cap);

/*
 * Wire name (as dns_parse gives) to text without a final dot; -EINVAL
 * when a label holds anything but letters, digits, '-' or '_' (so the
 * text is safe to print and to compare), or when it is the root.
 */
int dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t cap);

/* Validates a wire name as dns_name_to_text would accept it. */
bool dns_wire_valid(const uint8_t *wire, size_t len);

/*
 * A recursive query (RD) for name (wire form) of qtype, class IN, ID id.
 * Returns its length, or -ENOSPC.
 */
int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name,
		    size_t name_len, uint16_t qtype);

#endif
