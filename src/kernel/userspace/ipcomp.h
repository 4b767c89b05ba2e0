/*
 * ipcomp.h - IPComp (RFC 3173) with DEFLATE (RFC 2394) for the userspace
 * data plane: one payload at a time, pure (no sockets, no policies), on
 * struct esp_sa like ESP and AH so that a bundle (espd.h struct espd_xf)
 * applies it before ESP on output and after ESP on input.
 *
 * Output: payloads shorter than IPCOMP_MIN_LEN, or that DEFLATE does not
 * shrink by more than the 4-octet IPComp header, are not compressed and
 * go on without an IPComp header (RFC 3173 §2.1, §2.2): ipcomp_out()
 * returns 1 then.  Each datagram is compressed on its own, with no
 * history (§2.1; RFC 2394 §2: raw DEFLATE, 32 KiB window).
 * Input: the header's CPI picked the SA (ipcomp_peek); the payload
 * inflates into at most min(outcap, IPCOMP_MAX_OUT) octets: more is a
 * decompression bomb (IPCOMP_E_BOMB), a stream that is not complete
 * DEFLATE in exactly the received octets is IPCOMP_E_DATA; both drop.
 */
#ifndef RACOON_IPCOMP_H
#define RACOON_IPCOMP_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/userspace/esp.h"

#define IPCOMP_HDR_LEN 4 /* RFC 3173 §2.2: next header, flags, CPI */
/* Smaller payloads are sent uncompressed (Linux's IPCOMP threshold, 90
 * octets for DEFLATE: rarely worth the header and the work) */
#define IPCOMP_MIN_LEN 90
/* An IP datagram is at most 65535 octets (RFC 791, RFC 8200 without
 * jumbograms): no decompressed payload may be longer */
#define IPCOMP_MAX_OUT 65535

enum ipcomp_err {
	IPCOMP_E_BOMB = -1100, /* would decompress beyond the bound */
	IPCOMP_E_DATA,	       /* not one complete DEFLATE stream */
	IPCOMP_E_NESTED,       /* IPComp inside IPComp (RFC 3173 §3.2) */
};
const char *ipcomp_strerror(int err);

/* For esp_sa_init() of an IPPROTO_COMP SA: comp_id must be DEFLATE. */
int ipcomp_sa_init(struct esp_sa *sa, const struct ksa *k, uint64_t now_sec,
		   char *err, size_t errlen);
void ipcomp_sa_free(struct esp_sa *sa);

/* The CPI of an IPComp header (no sequence number: *seq = 0). */
int ipcomp_peek(const uint8_t *pkt, size_t len, uint32_t *cpi, uint32_t *seq);
/* 0: out holds the IPComp header and the compressed payload; 1: not
 * compressed (payload goes on as it is); < 0: error. */
int ipcomp_out(struct esp_sa *sa, const uint8_t *payload, size_t len,
	       uint8_t nh, uint8_t *out, size_t outcap, size_t *outlen,
	       uint64_t now_sec, unsigned *events);
/* 0: out holds the decompressed payload, *nh its next header; < 0:
 * ESP_E_SHORT, IPCOMP_E_* (drop). */
int ipcomp_in(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out,
	      size_t outcap, size_t *outlen, uint8_t *nh, uint64_t now_sec,
	      unsigned *events);

#endif
