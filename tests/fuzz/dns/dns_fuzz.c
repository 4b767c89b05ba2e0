/*
 * dns_fuzz.c - libFuzzer harness for spmd's DNS parser (src/spm/dns.c),
 * the network input of the resolver child, and for the messages the
 * child and spmd exchange (src/spm/resolver_msg.c), which spmd decodes
 * from an untrusted process.
 *
 * Each input is parsed as a query and as an answer; what parses must be
 * consistent (bounded counts, a valid wire name that prints and reads
 * back to the same octets, a query rebuilt from it parses to the same
 * question, a result message built from it decodes to the same
 * addresses).  The input is also decoded as each child/spmd message,
 * and read as a host name in text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/wr.h"
#include "spm/dns.h"
#include "spm/resolver_msg.h"

static void check_name(const uint8_t *wire, size_t len)
{
	char text[DNS_TEXT_MAX];
	uint8_t back[DNS_WIRE_MAX];
	int n;

	if (!dns_wire_valid(wire, len))
		return;
	if (dns_name_to_text(wire, len, text, sizeof(text)) < 0)
		abort();
	n = dns_name_from_text(text, back, sizeof(back));
	if (n < 0 || (size_t)n != len || memcmp(back, wire, len) != 0)
		abort();
}

static void check_msg(const struct dns_msg *m, bool answers)
{
	uint8_t q[DNS_HDR_LEN + DNS_WIRE_MAX + 4];
	struct dns_msg m2;
	int n;

	if (m->qname_len < 1 || m->qname_len > DNS_WIRE_MAX ||
	    m->naddr > DNS_ADDR_MAX || (!answers && m->naddr))
		abort();
	for (size_t i = 0; i < m->naddr; i++)
		if (m->addr[i].af != AF_INET && m->addr[i].af != AF_INET6)
			abort();
	check_name(m->qname, m->qname_len);
	n = dns_build_query(q, sizeof(q), m->id, m->qname, m->qname_len,
			    m->qtype);
	if (n < 0 || dns_parse(q, (size_t)n, false, &m2) < 0 ||
	    m2.qname_len != m->qname_len ||
	    memcmp(m2.qname, m->qname, m->qname_len) != 0 ||
	    m2.qtype != m->qtype || m2.id != m->id || m2.qr)
		abort();
	if (answers && dns_wire_valid(m->qname, m->qname_len) &&
	    (m->qtype == DNS_TYPE_A || m->qtype == DNS_TYPE_AAAA)) {
		uint8_t want = m->qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
		struct res_result x, y;
		struct wr w;

		memset(&x, 0, sizeof(x));
		x.token = 7;
		x.qtype = m->qtype;
		x.ttl = m->ttl;
		memcpy(x.name, m->qname, m->qname_len);
		x.name_len = m->qname_len;
		for (size_t i = 0; i < m->naddr; i++)
			if (m->addr[i].af == want)
				x.addr[x.naddr++] = m->addr[i];
		wr_init(&w, RES_MSG_CAP);
		if (res_enc_result(&w, &x) < 0 ||
		    res_dec_result(w.buf, w.len, &y) < 0 ||
		    y.naddr != x.naddr || y.ttl != x.ttl ||
		    memcmp(y.addr, x.addr, x.naddr * sizeof(x.addr[0])) != 0)
			abort();
		wr_free(&w);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg m;
	struct res_result x;
	struct res_query q;
	struct res_ns ns[RES_NS_MAX];
	size_t nns;
	char text[300];

	if (dns_parse(data, size, false, &m) == 0)
		check_msg(&m, false);
	if (dns_parse(data, size, true, &m) == 0)
		check_msg(&m, true);
	if (res_dec_result(data, size, &x) == 0 &&
	    (x.naddr > DNS_ADDR_MAX || !dns_wire_valid(x.name, x.name_len)))
		abort();
	if (res_dec_query(data, size, &q) == 0 &&
	    !dns_wire_valid(q.name, q.name_len))
		abort();
	if (res_dec_ns(data, size, ns, &nns) == 0 && nns > RES_NS_MAX)
		abort();
	if (size < sizeof(text)) {
		uint8_t wire[DNS_WIRE_MAX];
		int n;

		memcpy(text, data, size);
		text[size] = '\0';
		n = dns_name_from_text(text, wire, sizeof(wire));
		if (n > 0 && !dns_wire_valid(wire, (size_t)n))
			abort();
	}
	return 0;
}
