/*
 * resolver_msg.c - see resolver_msg.h.
 */
#include "spm/resolver_msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/rd.h"

static uint8_t af_code(uint8_t af)
{
	return af == AF_INET ? 4 : 6;
}

static int af_decode(uint8_t code, uint8_t *af)
{
	if (code == 4)
		*af = AF_INET;
	else if (code == 6)
		*af = AF_INET6;
	else
		return -EBADMSG;
	return 0;
}

int res_enc_ns(struct wr *w, const struct res_ns *ns, size_t n)
{
	if (n > RES_NS_MAX)
		return -EINVAL;
	wr_u8(w, 'N');
	wr_u8(w, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		wr_u8(w, af_code(ns[i].af));
		wr_bytes(w, ns[i].a, 16);
		wr_u16(w, ns[i].port);
	}
	return wr_error(w);
}

int res_dec_ns(const uint8_t *p, size_t len, struct res_ns *ns, size_t *n)
{
	struct rd r = rd_init(p, len);
	uint8_t t, cnt;

	if (rd_u8(&r, &t) < 0 || t != 'N' || rd_u8(&r, &cnt) < 0 ||
	    cnt > RES_NS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < cnt; i++) {
		uint8_t code;

		if (rd_u8(&r, &code) < 0 || af_decode(code, &ns[i].af) < 0 ||
		    rd_bytes(&r, ns[i].a, 16) < 0 ||
		    rd_u16(&r, &ns[i].port) < 0 || ns[i].port == 0)
			return -EBADMSG;
	}
	if (!rd_empty(&r))
		return -EBADMSG;
	*n = cnt;
	return 0;
}

static bool qtype_ok(uint16_t t)
{
	return t == DNS_TYPE_A || t == DNS_TYPE_AAAA;
}

int res_enc_query(struct wr *w, const struct res_query *q)
{
	wr_u8(w, 'Q');
	wr_u32(w, q->token);
	wr_u16(w, q->qtype);
	wr_u8(w, (uint8_t)q->name_len);
	wr_bytes(w, q->name, q->name_len);
	return wr_error(w);
}

int res_dec_query(const uint8_t *p, size_t len, struct res_query *q)
{
	struct rd r = rd_init(p, len);
	uint8_t t, nl;

	if (rd_u8(&r, &t) < 0 || t != 'Q' || rd_u32(&r, &q->token) < 0 ||
	    q->token == 0 || rd_u16(&r, &q->qtype) < 0 || !qtype_ok(q->qtype) ||
	    rd_u8(&r, &nl) < 0 || rd_bytes(&r, q->name, nl) < 0 ||
	    !rd_empty(&r) || !dns_wire_valid(q->name, nl))
		return -EBADMSG;
	q->name_len = nl;
	return 0;
}

int res_enc_result(struct wr *w, const struct res_result *x)
{
	if (x->naddr > DNS_ADDR_MAX)
		return -EINVAL;
	wr_u8(w, 'R');
	wr_u32(w, x->token);
	wr_u16(w, x->qtype);
	wr_u8(w, x->status);
	wr_u32(w, x->ttl);
	wr_u8(w, (uint8_t)x->name_len);
	wr_bytes(w, x->name, x->name_len);
	wr_u8(w, (uint8_t)x->naddr);
	for (size_t i = 0; i < x->naddr; i++) {
		wr_u8(w, af_code(x->addr[i].af));
		wr_bytes(w, x->addr[i].a, 16);
	}
	return wr_error(w);
}

int res_dec_result(const uint8_t *p, size_t len, struct res_result *x)
{
	struct rd r = rd_init(p, len);
	uint8_t t, nl, cnt;
	uint8_t want;

	memset(x, 0, sizeof(*x));
	if (rd_u8(&r, &t) < 0 || t != 'R' || rd_u32(&r, &x->token) < 0 ||
	    rd_u16(&r, &x->qtype) < 0 || !qtype_ok(x->qtype) ||
	    rd_u8(&r, &x->status) < 0 || x->status > RES_ST_FAIL ||
	    rd_u32(&r, &x->ttl) < 0 || rd_u8(&r, &nl) < 0 ||
	    rd_bytes(&r, x->name, nl) < 0 || !dns_wire_valid(x->name, nl) ||
	    rd_u8(&r, &cnt) < 0 || cnt > DNS_ADDR_MAX ||
	    (x->status != RES_ST_OK && cnt != 0))
		return -EBADMSG;
	x->name_len = nl;
	want = x->qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
	for (size_t i = 0; i < cnt; i++) {
		uint8_t code;

		if (rd_u8(&r, &code) < 0 ||
		    af_decode(code, &x->addr[i].af) < 0 ||
		    x->addr[i].af != want || rd_bytes(&r, x->addr[i].a, 16) < 0)
			return -EBADMSG;
		/* an A address travels in the first 4 octets, the rest 0 */
		if (want == AF_INET)
			for (size_t k = 4; k < 16; k++)
				if (x->addr[i].a[k])
					return -EBADMSG;
	}
	if (!rd_empty(&r))
		return -EBADMSG;
	x->naddr = cnt;
	return 0;
}
