/*
 * ike_frag_fuzz.c - libFuzzer harness for IKEv2 fragment reassembly
 * (RFC 7383, src/ike/frag.c) and the SKF codec (src/ike/codec/sk.c).
 *
 * The input is a list of records, each applied to one reassembly state
 * (struct ike_frag_rx) as iked's input path would:
 *   0 mid num(2) total(2) len(1) data[len]  a verified fragment share
 *   1 len(2) datagram[len]                  a datagram: parse, open the
 *        SKF with the fixed keys (AES-CBC + HMAC-SHA2-256), add; when
 *        complete, join and parse the inner chain
 *   2 dt                                    the clock moves dt * 100 ms
 *   3                                       reset
 * Invariants (abort on violation): held bytes <= IKE_FRAG_MAX_BYTES,
 * count <= total <= IKEV2_FRAG_MAX, the joined length equals the held
 * bytes, nothing held after an expiry or a reset.  Every input ends
 * with a reset, so leaks show up under ASan.
 *
 * FRAG_GEN: `gen-ike-frag-corpus DIR` writes seed inputs (a real
 * fragmented message under the fixed keys, in order, reversed, with
 * duplicates; raw sequences hitting each refusal).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/xform.h"
#include "ike/codec/ikev2.h"
#include "ike/frag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ikev2_sk_ctx sk_in, sk_out;
static bool keys_ready;

static void keys_init(void)
{
	uint8_t ek[16], ak[32];

	if (keys_ready)
		return;
	for (size_t i = 0; i < sizeof(ak); i++) {
		ak[i] = (uint8_t)(0x80 + i);
		if (i < sizeof(ek))
			ek[i] = (uint8_t)(i + 1);
	}
	if (ikev2_sk_init(&sk_in, IKEV2_ENCR_AES_CBC,
			  IKEV2_INTEG_HMAC_SHA2_256_128, ek, 16, ak, 32,
			  false) ||
	    ikev2_sk_init(&sk_out, IKEV2_ENCR_AES_CBC,
			  IKEV2_INTEG_HMAC_SHA2_256_128, ek, 16, ak, 32, true))
		abort();
	keys_ready = true;
}

static uint8_t plain[IKEV2_MAX_MSG], joined[IKEV2_MAX_MSG];

static void check(const struct ike_frag_rx *rx)
{
	if (!rx->active) {
		if (rx->bytes || rx->count || rx->first_raw)
			abort();
		return;
	}
	if (rx->bytes > IKE_FRAG_MAX_BYTES || rx->count > rx->total ||
	    rx->total > IKEV2_FRAG_MAX || rx->total == 0)
		abort();
}

static void done(struct ike_frag_rx *rx, struct ike_msg *m)
{
	long n = ike_frag_join(rx, joined, sizeof(joined));

	if (n < 0 || (size_t)n != rx->bytes)
		abort();
	if (m)
		(void)ikev2_msg_open_reassembled(m, rx->first_np, joined,
						 (size_t)n);
	ike_frag_reset(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_msg m;
	struct ike_frag_rx rx;
	uint64_t now = 0;
	size_t off = 0;

	keys_init();
	memset(&rx, 0, sizeof(rx));
	while (off < size) {
		uint8_t op = data[off++] & 3;
		int rc;

		if (op == 0) {
			uint16_t num, total, len;
			uint8_t mid;

			if (size - off < 6)
				break;
			mid = data[off] & 3;
			num = (uint16_t)(data[off + 1] << 8 | data[off + 2]);
			total = (uint16_t)(data[off + 3] << 8 | data[off + 4]);
			len = data[off + 5];
			off += 6;
			if (size - off < len)
				break;
			rc = ike_frag_add(&rx, mid, num, total, 35, data + off,
					  len, data + off, len, now);
			off += len;
			check(&rx);
			if (rc == IKE_FRAG_DONE)
				done(&rx, NULL);
		} else if (op == 1) {
			size_t len, n;

			if (size - off < 2)
				break;
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
			if (size - off < len)
				break;
			if (ikev2_msg_parse(data + off, len, &m) == 0 &&
			    m.skf &&
			    ikev2_skf_open(&sk_in, &m, plain, sizeof(plain),
					   &n) == 0) {
				rc = ike_frag_add(
				    &rx, m.hdr.msgid, m.skf_num, m.skf_total,
				    m.sk_first, plain, n, data + off, len, now);
				check(&rx);
				if (rc == IKE_FRAG_DONE)
					done(&rx, &m);
			}
			off += len;
		} else if (op == 2) {
			if (off >= size)
				break;
			now += (uint64_t)data[off++] * 100;
			if (ike_frag_expire(&rx, now) && rx.active)
				abort();
			check(&rx);
		} else {
			ike_frag_reset(&rx);
			check(&rx);
		}
	}
	ike_frag_reset(&rx);
	return 0;
}

#ifdef FRAG_GEN
static void put(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n)
		exit(1);
}

static void write_seed(const char *dir, const char *name, const uint8_t *p,
		       size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		exit(1);
	put(f, p, n);
	fclose(f);
}

int main(int argc, char **argv)
{
	static uint8_t seed[3][IKEV2_MAX_MSG], vid[1500];
	size_t sl[3] = {0, 0, 0}, off, len, starts[IKEV2_FRAG_MAX],
	       lens[IKEV2_FRAG_MAX];
	struct ikev2_hdr h = {0};
	struct ikev2_wr b;
	unsigned nfrag, i;
	uint8_t *pkt;

	if (argc != 2)
		return 2;
	keys_init();
	for (i = 0; i < sizeof(vid); i++)
		vid[i] = (uint8_t)i;
	h.spi_i = 1;
	h.spi_r = 2;
	h.exch = 37; /* INFORMATIONAL */
	h.msgid = 3;
	if (ikev2_wr_begin(&b, &h) || ikev2_sk_begin(&b, &sk_out) ||
	    ikev2_put_vendor(&b, vid, sizeof(vid)) ||
	    ikev2_wr_finish_frag(&b, 400, &pkt, &len, &nfrag) || nfrag < 3)
		return 1;
	for (off = 0, i = 0; off < len; i++) {
		lens[i] = (size_t)pkt[off + 24] << 24 |
			  (size_t)pkt[off + 25] << 16 |
			  (size_t)pkt[off + 26] << 8 | pkt[off + 27];
		starts[i] = off;
		off += lens[i];
	}
	/* in order; reversed; fragment 1 twice and then the rest */
	for (int s = 0; s < 3; s++) {
		for (unsigned j = 0; j < nfrag + (s == 2); j++) {
			unsigned k = s == 0   ? j
				     : s == 1 ? nfrag - 1 - j
				     : j == 0 ? 0
					      : j - 1;
			seed[s][sl[s]++] = 1;
			seed[s][sl[s]++] = (uint8_t)(lens[k] >> 8);
			seed[s][sl[s]++] = (uint8_t)lens[k];
			memcpy(seed[s] + sl[s], pkt + starts[k], lens[k]);
			sl[s] += lens[k];
		}
	}
	write_seed(argv[1], "skf-in-order", seed[0], sl[0]);
	write_seed(argv[1], "skf-reversed", seed[1], sl[1]);
	write_seed(argv[1], "skf-duplicate-first", seed[2], sl[2]);
	{
		/* raw: 2 of 3, duplicate, newer total, stale total, bad
		 * numbers, timeout, completion */
		static const uint8_t raw[] = {
		    0,	 1, 0,	 1, 0, 3, 2,  'a', 'b', 0, 1,	0, 1, 0, 3, 1,
		    'x', 0, 1,	 0, 2, 0, 4,  1,   'c', 0, 1,	0, 2, 0, 3, 1,
		    'd', 0, 1,	 0, 0, 0, 3,  1,   'e', 0, 1,	0, 9, 0, 3, 1,
		    'e', 0, 1,	 0, 1, 0, 65, 1,   'e', 2, 200, 0, 2, 0, 1, 0,
		    2,	 1, 'f', 0, 2, 0, 2,  0,   2,	1, 'g', 3};
		write_seed(argv[1], "raw-refusals", raw, sizeof(raw));
	}
	free(pkt);
	return 0;
}
#endif
