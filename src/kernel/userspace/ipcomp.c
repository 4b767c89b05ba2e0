/*
 * ipcomp.c - IPComp (RFC 3173) with DEFLATE (RFC 2394); see ipcomp.h.
 */
#include "kernel/userspace/ipcomp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crypto/xform.h"
#include "lib/rd.h"

#define SAERR(...)                                                             \
	do {                                                                   \
		if (err && errlen)                                             \
			snprintf(err, errlen, __VA_ARGS__);                    \
	} while (0)

const char *ipcomp_strerror(int err)
{
	switch (err) {
	case IPCOMP_E_BOMB:
		return "decompressed payload beyond the bound (bomb)";
	case IPCOMP_E_DATA:
		return "not a complete DEFLATE stream";
	case IPCOMP_E_NESTED:
		return "IPComp inside IPComp";
	default:
		return esp_strerror(err);
	}
}

int ipcomp_sa_init(struct esp_sa *sa, const struct ksa *k, uint64_t now_sec,
		   char *err, size_t errlen)
{
	z_stream *def = NULL, *inf = NULL;

	memset(sa, 0, sizeof(*sa));
	/* RFC 3173 §3.3 / RFC 7296 §3.10.1: the one algorithm we carry */
	if (k->proto != IPPROTO_COMP || k->comp_id != IKEV2_IPCOMP_DEFLATE) {
		SAERR("IPComp transform %u not supported (DEFLATE only)",
		      k->comp_id);
		return -ENOTSUP;
	}
	if (k->spi < 256 || k->spi > 0xffff) {
		SAERR("CPI 0x%x outside 256-65535", k->spi);
		return -EINVAL;
	}
	def = calloc(1, sizeof(*def));
	inf = calloc(1, sizeof(*inf));
	if (!def || !inf)
		goto fail_alloc;
	/* RFC 2394 §2: raw DEFLATE (no zlib header), 32 KiB window */
	if (deflateInit2(def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail_alloc;
	if (inflateInit2(inf, -15) != Z_OK) {
		deflateEnd(def);
		goto fail_alloc;
	}
	sa->k = *k;
	sa->zdef = def;
	sa->zinf = inf;
	sa->cnt.add_time = now_sec;
	return 0;

fail_alloc:
	free(def);
	free(inf);
	SAERR("zlib: out of memory");
	return -ENOMEM;
}

void ipcomp_sa_free(struct esp_sa *sa)
{
	if (sa->zdef) {
		deflateEnd(sa->zdef);
		free(sa->zdef);
	}
	if (sa->zinf) {
		inflateEnd(sa->zinf);
		free(sa->zinf);
	}
	sa->zdef = sa->zinf = NULL;
}

int ipcomp_peek(const uint8_t *pkt, size_t len, uint32_t *cpi, uint32_t *seq)
{
	struct rd r = rd_init(pkt, len);
	uint16_t c;

	/* RFC 3173 §2.2: Next Header (1), Flags (1), CPI (2) */
	if (rd_skip(&r, 2) || rd_u16(&r, &c))
		return ESP_E_SHORT;
	*cpi = c;
	*seq = 0;
	return 0;
}

int ipcomp_out(struct esp_sa *sa, const uint8_t *payload, size_t len,
	       uint8_t nh, uint8_t *out, size_t outcap, size_t *outlen,
	       uint64_t now_sec, unsigned *events)
{
	z_stream *z = sa->zdef;
	size_t room;
	int zr;

	(void)now_sec;
	*events = 0;
	if (!z)
		return -EINVAL;
	/* §2.1: small payloads are not worth compressing */
	if (len < IPCOMP_MIN_LEN || outcap <= IPCOMP_HDR_LEN)
		return 1;
	/* §2.2: only a result smaller than the payload is sent */
	room = len - IPCOMP_HDR_LEN - 1;
	if (room > outcap - IPCOMP_HDR_LEN)
		room = outcap - IPCOMP_HDR_LEN;
	if (deflateReset(z) != Z_OK)
		return ESP_E_CRYPTO;
	/* RFC 2394 §2: each datagram on its own, no history */
	z->next_in = (Bytef *)(uintptr_t)payload;
	z->avail_in = (uInt)len;
	z->next_out = out + IPCOMP_HDR_LEN;
	z->avail_out = (uInt)room;
	zr = deflate(z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		sa->cnt.packets++; /* counted as sent, uncompressed */
		sa->cnt.bytes += len;
		return 1; /* did not fit: incompressible */
	}
	out[0] = nh;
	out[1] = 0; /* §2.2: flags, zero */
	out[2] = (uint8_t)(sa->k.spi >> 8);
	out[3] = (uint8_t)sa->k.spi;
	*outlen = IPCOMP_HDR_LEN + (room - z->avail_out);
	sa->cnt.packets++;
	sa->cnt.bytes += len;
	return 0;
}

int ipcomp_in(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out,
	      size_t outcap, size_t *outlen, uint8_t *nh, uint64_t now_sec,
	      unsigned *events)
{
	z_stream *z = sa->zinf;
	struct rd r = rd_init(pkt, len);
	uint8_t next, flags;
	uint16_t cpi;
	size_t bound = outcap < IPCOMP_MAX_OUT ? outcap : IPCOMP_MAX_OUT;
	int zr;

	(void)now_sec;
	*events = 0;
	if (!z)
		return -EINVAL;
	/* RFC 3173 §2.2: flags are ignored on receipt; the CPI chose sa */
	if (rd_u8(&r, &next) || rd_u8(&r, &flags) || rd_u16(&r, &cpi) ||
	    rd_empty(&r) || cpi != sa->k.spi)
		return ESP_E_SHORT;
	/* §3.2: an IPComp payload is never compressed again */
	if (next == IPPROTO_COMP)
		return IPCOMP_E_NESTED;
	if (inflateReset(z) != Z_OK)
		return ESP_E_CRYPTO;
	z->next_in = (Bytef *)(uintptr_t)(pkt + IPCOMP_HDR_LEN);
	z->avail_in = (uInt)(len - IPCOMP_HDR_LEN);
	z->next_out = out;
	z->avail_out = (uInt)bound;
	zr = inflate(z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		/* output full with input left: a bomb; else bad data */
		if (z->avail_out == 0 && (zr == Z_BUF_ERROR || zr == Z_OK))
			return IPCOMP_E_BOMB;
		return IPCOMP_E_DATA;
	}
	/* the whole payload is one stream: nothing may follow it */
	if (z->avail_in != 0)
		return IPCOMP_E_DATA;
	*outlen = bound - z->avail_out;
	*nh = next;
	sa->cnt.packets++;
	sa->cnt.bytes += *outlen;
	return 0;
}
