/*
 * ah.h - the AH engine (RFC 4302) of the userspace data plane: one whole
 * IP packet, one SA, no sockets.
 *
 * AH protects the outer IP header too, so unlike esp.c the engine works
 * on complete IP packets: IPv4 (with options) or IPv6 (with hop-by-hop,
 * destination options and routing headers with segments left 0 in front
 * of AH).  The ICV (RFC 4302
 * §3.3.3) covers the IP header with its mutable fields zeroed, the AH
 * header with its ICV zeroed (padding included as sent), the payload,
 * and with ESN the high-order 32 bits of the sequence number appended
 * (§2.5.1, §3.3.3.2.2 is not needed: HMAC pads internally).
 *
 * The SA state is struct esp_sa (esp.h), set up by esp_sa_init() for a
 * ksa with proto IPPROTO_AH: integrity transform only, sequence numbers,
 * replay window, lifetimes and counters shared with ESP.
 */
#ifndef RACOON_AH_H
#define RACOON_AH_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/userspace/esp.h"

/* Largest AH header: 12 + 32 (HMAC-SHA2-512-256) + IPv6 padding (4). */
#define AH_MAX_HDR 48
/* Largest IP header (with extension headers) the ICV copy accepts. */
#define AH_MAX_IPHDR 256
/* A routing header with segments left > 0 in front of AH (ah.c v6_ext) */
#define AH_E_ROUTING (-1100)

/* Octets of the AH header (ICV and padding included) for family af:
 * RFC 4302 §2.2 / §3.3.3.2.1: a multiple of 4 (IPv4) or 8 (IPv6). */
size_t ah_hdr_len(const struct esp_sa *sa, int af);

/*
 * Protect pkt in place: [0, iphl) is the complete outer IP header (its
 * last protocol / next header field already 51, lengths final),
 * [iphl, iphl + ah_hdr_len()) the room for AH, the payload (next header
 * nh) follows up to len.  Fills the AH header, sequence number and ICV.
 */
int ah_encap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t iphl,
	     uint8_t nh, uint64_t now_sec, unsigned *events);

/*
 * Find AH in a received IP packet: *ah_off (behind the IP header and any
 * hop-by-hop, destination options and routing headers), SPI and low
 * sequence number.  ESP_E_SHORT when malformed or not AH; -EOPNOTSUPP
 * for a fragment (header) in front of AH; AH_E_ROUTING for a routing
 * header whose segments left is not 0.
 */
int ah_peek(const uint8_t *pkt, size_t len, size_t *ah_off, uint32_t *spi,
	    uint32_t *seq);

/*
 * Verify pkt (AH at ah_off, from ah_peek): lengths, replay window (before
 * the ICV, updated after it, RFC 4302 §3.4.3-3.4.4), ICV.  On success
 * *nh is AH's next header and *pay_off where the payload starts.
 */
int ah_decap(struct esp_sa *sa, const uint8_t *pkt, size_t len, size_t ah_off,
	     uint8_t *nh, size_t *pay_off, uint64_t now_sec, unsigned *events);

/*
 * IPv6 transport mode, output (RFC 4302 §3.1.1): the extension headers
 * of the IPv6 packet pkt that stay in front of AH - hop-by-hop,
 * destination options, routing with segments left 0 - end at *end (40
 * if none); *last is the offset of the next-header octet that must then
 * name AH (6 if none), *upper the protocol behind them.  Errors as
 * ah_peek's.  Bounded by AH_MAX_IPHDR.
 */
int ah6_ext_span(const uint8_t *pkt, size_t len, size_t *end, size_t *last,
		 uint8_t *upper);

/* esp_strerror() plus the AH-specific refusals. */
const char *ah_strerror(int err);

#endif
