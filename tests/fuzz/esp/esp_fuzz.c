/*
 * esp_fuzz.c - libFuzzer harness for everything r2espd parses from the
 * outside: ESP packets (esp_peek + esp_decap with GCM, ChaCha20,
 * CBC+HMAC and NULL+HMAC SAs, with and without ESN), inner IP packets
 * (espd_flow), and control-protocol messages (esp_msg decoders); with
 * the top bit of the selector set, the TUN offloads (espd_off.c): a
 * virtio-net header + packet read from TUN, and a run of decrypted
 * packets (u16 length each) coalesced, every coalesced write checked by
 * segmenting it again into exactly as many segments as were merged.
 * With bit 6 of the selector set (and not bit 7), AH (issue 16): the
 * input is a whole IP packet through ah_peek + ah_decap against an AH SA
 * (bit 0: HMAC-SHA1-96, else HMAC-SHA2-256-128 with ESN), or (bit 1) a
 * round trip: the input is the payload put behind an IPv4 (bit 2: IPv6)
 * header and AH, ah_encap then ah_decap must verify and give it back.
 * With bit 5 (and not 6 or 7), IPComp DEFLATE (issue 16): the input is
 * an IPComp header and payload through ipcomp_peek + ipcomp_in into a
 * buffer of 1,500 octets (bit 1) or 65,535, which must bound the output;
 * or (bit 0) a round trip: ipcomp_out of the input, then, when it
 * compressed, ipcomp_in must give back the same octets and next header
 * from fewer octets on the wire.
 * The first input byte selects the target.  The SAs are created for
 * each input and freed after it (replay windows, counters and cipher
 * contexts start fresh), so no input depends on the ones before.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/userspace/ah.h"
#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"
#include "kernel/userspace/ipcomp.h"

static void fuzz_ipcomp(uint8_t sel, const uint8_t *data, size_t size)
{
	static uint8_t out[IPCOMP_MAX_OUT + 16], wire[70000];
	struct esp_sa sa;
	struct ksa k;
	size_t olen = 0, wl = 0;
	uint32_t cpi, seq;
	uint8_t nh = 0;
	unsigned ev;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_COMP;
	k.spi = 0x300;
	k.comp_id = IKEV2_IPCOMP_DEFLATE;
	if (ipcomp_sa_init(&sa, &k, 1, NULL, 0) != 0)
		__builtin_trap();
	if (!(sel & 1)) {
		size_t cap = sel & 2 ? 1500 : IPCOMP_MAX_OUT;

		if (ipcomp_peek(data, size, &cpi, &seq) == 0 && cpi == 0x300 &&
		    ipcomp_in(&sa, data, size, out, cap, &olen, &nh, 1, &ev) ==
			0 &&
		    olen > cap)
			__builtin_trap(); /* the bound is the caller's */
	} else if (size <= IPCOMP_MAX_OUT) {
		int rc = ipcomp_out(&sa, data, size, IPPROTO_UDP, wire,
				    sizeof(wire), &wl, 1, &ev);

		if (rc == 0 &&
		    (wl >= size || size < IPCOMP_MIN_LEN ||
		     ipcomp_peek(wire, wl, &cpi, &seq) != 0 || cpi != 0x300 ||
		     ipcomp_in(&sa, wire, wl, out, sizeof(out), &olen, &nh, 1,
			       &ev) != 0 ||
		     nh != IPPROTO_UDP || olen != size ||
		     memcmp(out, data, size) != 0))
			__builtin_trap();
	}
	ipcomp_sa_free(&sa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct esp_sa sas[4];

static void setup(void)
{
	static const struct {
		uint16_t encr, bits, integ, klen, alen;
		bool esn;
	} c[4] = {
	    {IKEV2_ENCR_AES_GCM_16, 128, 0, 20, 0, false},
	    {IKEV2_ENCR_CHACHA20_POLY1305, 256, 0, 36, 0, true},
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA1_96, 16, 20, true},
	    {IKEV2_ENCR_NULL, 0, IKEV2_INTEG_HMAC_SHA2_256_128, 0, 32, false},
	};
	for (int i = 0; i < 4; i++) {
		struct ksa k;
		memset(&k, 0, sizeof(k));
		k.proto = IPPROTO_ESP;
		k.spi = 0x100 + (uint32_t)i;
		k.encr_id = c[i].encr;
		k.encr_keybits = c[i].bits;
		k.integ_id = c[i].integ;
		k.enc_key_len = c[i].klen;
		k.auth_key_len = c[i].alen;
		k.esn = c[i].esn;
		k.replay_window = 128;
		esp_sa_init(&sas[i], &k, 1, NULL, 0);
	}
}

static void teardown(void)
{
	for (int i = 0; i < 4; i++)
		esp_sa_free(&sas[i]);
}

static int count_seg(void *arg, const uint8_t *pkt, size_t len)
{
	(void)pkt;
	(void)len;
	++*(unsigned *)arg;
	return 0;
}

static int gro_out(void *arg, uint8_t *buf, size_t len, unsigned nseg)
{
	static uint8_t seg[65536];
	struct off_vnet h;
	unsigned n = 0;

	(void)arg;
	if (len < OFF_VNET_LEN || len > OFF_VNET_LEN + 65535 ||
	    off_vnet_parse(buf, len, &h) < 0)
		__builtin_trap();
	if (nseg > 1 &&
	    (off_segment(&h, buf + OFF_VNET_LEN, len - OFF_VNET_LEN, seg,
			 sizeof(seg), count_seg, &n) != (int)nseg ||
	     n != nseg))
		__builtin_trap();
	return 0;
}

static void fuzz_offload(uint8_t sel, const uint8_t *data, size_t size)
{
	static uint8_t pkt[OFF_VNET_LEN + 65536], seg[2048];
	static uint8_t grobuf[OFF_VNET_LEN + 65535];
	struct off_vnet h;
	unsigned n = 0;

	if (size > sizeof(pkt))
		return;
	memcpy(pkt, data, size);
	if (sel & 1) { /* one read from TUN */
		if (off_vnet_parse(pkt, size, &h) == 0)
			off_segment(&h, pkt + OFF_VNET_LEN, size - OFF_VNET_LEN,
				    seg, sizeof(seg), count_seg, &n);
	} else { /* decrypted packets to coalesce */
		struct off_gro g;
		struct rd r = rd_init(pkt, size);
		uint16_t l;
		const uint8_t *p;
		off_gro_init(&g, grobuf, sizeof(grobuf));
		while (rd_u16(&r, &l) == 0 && rd_ptr(&r, l, &p) == 0)
			off_gro_push(&g, p, l, gro_out, NULL);
		off_gro_flush(&g, gro_out, NULL);
	}
}

static void fuzz_ah(uint8_t sel, const uint8_t *data, size_t size)
{
	struct esp_sa sa;
	struct ksa k;
	size_t off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_AH;
	k.spi = 0x200;
	k.integ_id =
	    sel & 1 ? IKEV2_INTEG_HMAC_SHA1_96 : IKEV2_INTEG_HMAC_SHA2_256_128;
	k.auth_key_len = sel & 1 ? 20 : 32;
	k.esn = !(sel & 1);
	k.replay_window = 64;
	if (esp_sa_init(&sa, &k, 1, NULL, 0) != 0)
		__builtin_trap();
	if (!(sel & 2)) {
		if (ah_peek(data, size, &off, &spi, &seq) == 0 && spi == 0x200)
			ah_decap(&sa, data, size, off, &nh, &pay, 2, &ev);
	} else if (size <= 1024) {
		static uint8_t pkt[2048];
		bool v6 = sel & 4;
		size_t hl = v6 ? 40 : 20,
		       al = ah_hdr_len(&sa, v6 ? AF_INET6 : AF_INET);
		size_t tot = hl + al + size;
		struct esp_sa o = sa; /* shares contexts; counters local */

		memset(pkt, 0, hl);
		pkt[0] = v6 ? 0x60 : 0x45;
		if (v6) {
			pkt[4] = (uint8_t)((tot - 40) >> 8);
			pkt[5] = (uint8_t)(tot - 40);
			pkt[6] = 51;
		} else {
			pkt[2] = (uint8_t)(tot >> 8);
			pkt[3] = (uint8_t)tot;
			pkt[9] = 51;
		}
		memcpy(pkt + hl + al, data, size);
		o.seq_out = 7;
		if (ah_encap(&o, pkt, tot, hl, 4, 2, &ev) != 0 ||
		    ah_peek(pkt, tot, &off, &spi, &seq) != 0 || off != hl ||
		    ah_decap(&sa, pkt, tot, off, &nh, &pay, 2, &ev) != 0 ||
		    nh != 4 || pay != hl + al ||
		    memcmp(pkt + pay, data, size) != 0)
			__builtin_trap();
	}
	esp_sa_free(&sa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[70000];
	size_t olen;
	uint8_t nh, sel;
	unsigned ev;
	uint32_t spi, seq;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel & 0x80) {
		fuzz_offload(sel, data, size);
		return 0;
	}
	if (sel & 0x40) {
		fuzz_ah(sel, data, size);
		return 0;
	}
	if (sel & 0x20) {
		fuzz_ipcomp(sel, data, size);
		return 0;
	}
	setup();
	switch (sel % 4) {
	case 0: { /* ESP packet against the SA its SPI names */
		if (esp_peek(data, size, &spi, &seq) == 0 && spi >= 0x100 &&
		    spi < 0x104)
			esp_decap(&sas[spi - 0x100], data, size, out,
				  sizeof(out), &olen, &nh, 2, &ev);
		break;
	}
	case 1: {
		struct ksel f;
		espd_flow(data, size, &f);
		break;
	}
	case 2: { /* control request bodies */
		struct rd r = rd_init(data, size);
		struct espm_hdr h;
		struct ksa k;
		struct kpolicy p;
		struct kevent e;
		struct kcounters c;
		char s[64];
		if (espm_get_hdr(&r, &h) < 0)
			break;
		struct rd r1 = r, r2 = r, r3 = r, r4 = r, r5 = r;
		espm_get_ksa(&r1, &k);
		espm_get_kpolicy(&r2, &p);
		espm_get_kevent(&r3, &e);
		espm_get_kcounters(&r4, &c);
		espm_get_str(&r5, s, sizeof(s));
		break;
	}
	default: { /* encap then decap must round-trip */
		struct esp_sa *sa = &sas[sel / 4 % 4];
		uint8_t pkt[2048], back[2048];
		size_t plen, blen;
		if (size > 1024)
			size = 1024;
		struct esp_sa o = *sa; /* shares contexts; counters local */
		o.seq_out = sa->rpl_top;
		if (esp_encap(&o, data, size, 4, pkt, sizeof(pkt), &plen, 2,
			      &ev) == 0 &&
		    esp_decap(sa, pkt, plen, back, sizeof(back), &blen, &nh, 2,
			      &ev) == 0 &&
		    (blen != size || memcmp(back, data, size) != 0))
			__builtin_trap();
		break;
	}
	}
	teardown();
	return 0;
}
