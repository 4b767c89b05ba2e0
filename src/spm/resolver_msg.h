/*
 * resolver_msg.h - the messages between spmd and its sandboxed resolver
 * child (resolver.c, resolver_child.c) on a SOCK_SEQPACKET socketpair:
 * one message per datagram, fixed layouts, big-endian, every field
 * checked on decode (the parent treats the child as untrusted: it
 * parses network input).
 *
 *   spmd -> child   'N' nameservers: u8 n (<= RES_NS_MAX), n x
 *                       (u8 family 4|6, 16 octets address, u16 port)
 *                   'Q' resolve: u32 token (!= 0), u16 qtype (A|AAAA),
 *                       u8 len, len octets wire name
 *   child -> spmd   'S' once, when its sandbox holds (spmd waits for it
 *                       at start)
 *                   'R' result: u32 token (0: an answer the proxy
 *                       relayed), u16 qtype, u8 status, u32 ttl, u8 len,
 *                       wire name, u8 n (<= DNS_ADDR_MAX), n x (u8
 *                       family 4|6, 16 octets address; family of qtype)
 */
#ifndef RACOON_SPM_RESOLVER_MSG_H
#define RACOON_SPM_RESOLVER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/wr.h"
#include "spm/dns.h"

#define RES_NS_MAX  16
#define RES_MSG_CAP 1024 /* larger than any message */

enum res_status {
	RES_ST_OK = 0,	   /* addresses (maybe none: NODATA) */
	RES_ST_NONAME = 1, /* NXDOMAIN */
	RES_ST_FAIL = 2,   /* no nameserver answered */
};

struct res_ns {
	uint8_t af; /* AF_INET, AF_INET6 */
	uint8_t a[16];
	uint16_t port;
};

struct res_query {
	uint32_t token;
	uint16_t qtype;
	uint8_t name[DNS_WIRE_MAX];
	size_t name_len;
};

struct res_result {
	uint32_t token;
	uint16_t qtype;
	uint8_t status;
	uint32_t ttl;
	uint8_t name[DNS_WIRE_MAX];
	size_t name_len;
	size_t naddr;
	struct dns_addr addr[DNS_ADDR_MAX];
};

int res_enc_ns(struct wr *w, const struct res_ns *ns, size_t n);
int res_dec_ns(const uint8_t *p, size_t len, struct res_ns *ns, size_t *n);
int res_enc_query(struct wr *w, const struct res_query *q);
int res_dec_query(const uint8_t *p, size_t len, struct res_query *q);
int res_enc_result(struct wr *w, const struct res_result *r);
/* 0 or -EBADMSG; name valid (dns_wire_valid), families match qtype. */
int res_dec_result(const uint8_t *p, size_t len, struct res_result *r);

#endif
