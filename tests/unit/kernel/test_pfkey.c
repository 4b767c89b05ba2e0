/*
 * test_pfkey.c - unit tests of the PF_KEY v2 message layer
 * (src/kernel/pfkey_msg.c): byte-exact encodings checked by hand against
 * RFC 2367 and the FreeBSD/NetBSD/Linux headers (lengths in 64-bit
 * words, extension order, padding, sockaddr layouts), decode of
 * hand-built kernel messages (ACQUIRE, EXPIRE, SPDEXPIRE, MIGRATE,
 * NAT_T_NEW_MAPPING, error replies, dumps), round trips, rejection of
 * malformed messages and of what a dialect cannot express, and the
 * backend's clean failure on a kernel without PF_KEY.
 *
 * Byte literals assume a little-endian host (PF_KEY integers are in
 * host order); on big-endian hosts those tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "kernel/pfkey_msg.h"
#include "lib/log.h"
#include "lib/wr.h"
#include "ktest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE_HOST 1
#else
#define LE_HOST 0
#endif

#define NEED_LE()                                                              \
	do {                                                                   \
		if (!LE_HOST)                                                  \
			skip();                                                \
	} while (0)

/* ---- fixtures ----------------------------------------------------------- */

static const struct pfk_flavor *FBSD, *NBSD, *LNX;

static int setup(void **state)
{
	(void)state;
	FBSD = pfk_flavor(PFK_OS_FREEBSD);
	NBSD = pfk_flavor(PFK_OS_NETBSD);
	LNX = pfk_flavor(PFK_OS_LINUX);
	return FBSD && NBSD && LNX ? 0 : -1;
}

static struct pfk_req RQ(const struct pfk_flavor *fl, uint32_t seq) {
	struct pfk_req r = {fl, seq, 0x1234};
	return r;
}

static void
assert_bytes(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
	if (glen != wlen || memcmp(got, want, wlen) != 0) {
		for (size_t i = 0; i < (glen > wlen ? glen : wlen); i++) {
			int g = i < glen ? got[i] : -1,
			    w = i < wlen ? want[i] : -1;
			if (g != w)
				print_error("byte %zu: got %02x want %02x\n", i,
					    (unsigned)g & 0xff,
					    (unsigned)w & 0xff);
		}
		fail_msg("encoding differs (got %zu bytes, want %zu)", glen,
			 wlen);
	}
}

/* Extension types of a message in order, checking the generic rules the
 * parser also checks: whole message = sum of 8-aligned extensions. */
static size_t ext_types(const uint8_t *b, size_t len, uint16_t *types,
			size_t max)
{
	size_t off = PFK_MSG_HDR, n = 0;
	uint16_t units;

	memcpy(&units, b + 4, 2);
	assert_int_equal(units * 8u, len);
	while (off < len) {
		uint16_t elen, type;

		memcpy(&elen, b + off, 2);
		memcpy(&type, b + off + 2, 2);
		assert_true(elen > 0);
		assert_true(off + elen * 8u <= len);
		if (n < max)
			types[n++] = type;
		off += elen * 8u;
	}
	assert_int_equal(off, len);
	return n;
}

static const uint8_t *ext_at(const uint8_t *b, size_t len, uint16_t want)
{
	size_t off = PFK_MSG_HDR;

	while (off < len) {
		uint16_t elen, type;

		memcpy(&elen, b + off, 2);
		memcpy(&type, b + off + 2, 2);
		if (type == want)
			return b + off;
		off += elen * 8u;
	}
	return NULL;
}

/* AES-CBC-128 + HMAC-SHA2-256 transport, IPv4. */
static struct ksa sa_cbc(void)
{
	struct ksa sa;

	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_ESP;
	sa.spi = 0xc0ffee01;
	sa.src = A("198.51.100.1");
	sa.dst = A("198.51.100.2");
	sa.mode = KMODE_TRANSPORT;
	sa.reqid = 0x1001;
	sa.encr_id = IKEV2_ENCR_AES_CBC;
	sa.encr_keybits = 128;
	sa.enc_key_len = 16;
	fill(sa.enc_key, 16, 1);
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.auth_key_len = 32;
	fill(sa.auth_key, 32, 50);
	sa.replay_window = 64;
	sa.lft.soft_add_sec = 3000;
	sa.lft.hard_add_sec = 3600;
	sa.lft.hard_bytes = 1000000;
	return sa;
}

/* AES-GCM-16/256 tunnel, NAT-T with OA, ESN, window 4096, IPv4. */
static struct ksa sa_gcm(void)
{
	struct ksa sa;

	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_ESP;
	sa.spi = 0x0badf00d;
	sa.src = A("203.0.113.5");
	sa.dst = A("198.51.100.9");
	sa.mode = KMODE_TUNNEL;
	sa.reqid = 0x2000;
	sa.encr_id = IKEV2_ENCR_AES_GCM_16;
	sa.encr_keybits = 256;
	sa.enc_key_len = 36;
	fill(sa.enc_key, 36, 3);
	sa.esn = true;
	sa.replay_window = 4096;
	sa.encap.enabled = true;
	sa.encap.sport = 4500;
	sa.encap.dport = 31337;
	sa.encap.oa = A("192.168.1.10");
	sa.lft.soft_bytes = 5000;
	sa.lft.hard_bytes = 10000;
	return sa;
}

/* v4 tunnel policy 203.0.113.0/24 -> 198.51.100.0/24, ESP require. */
static struct kpolicy pol_tun(void)
{
	struct kpolicy p;

	memset(&p, 0, sizeof(p));
	p.sel.af = AF_INET;
	p.sel.src = A("203.0.113.0");
	p.sel.dst = A("198.51.100.0");
	p.sel.src_plen = 24;
	p.sel.dst_plen = 24;
	p.dir = KDIR_OUT;
	p.action = KPOL_IPSEC;
	p.priority = 1952;
	p.index = kpol_index_make(1, KDIR_OUT); /* 0xa2000009 */
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = KMODE_TUNNEL;
	p.tmpl[0].level = KLEVEL_REQUIRE;
	p.tmpl[0].reqid = 0x1002;
	p.tmpl[0].src = A("203.0.113.1");
	p.tmpl[0].dst = A("198.51.100.1");
	return p;
}

/* ---- encodings, byte for byte ------------------------------------------- */

static void test_getspi_bytes(void **state)
{
	static const uint8_t want[] = {
	    /* base: v2, GETSPI, errno 0, ESP, 12 words, reserved, seq, pid */
	    0x02,
	    0x01,
	    0x00,
	    0x03,
	    0x0c,
	    0x00,
	    0x00,
	    0x00,
	    0x07,
	    0x00,
	    0x00,
	    0x00,
	    0x34,
	    0x12,
	    0x00,
	    0x00,
	    /* address src: 3 words, proto any, /32, sockaddr_in (BSD) */
	    0x03,
	    0x00,
	    0x05,
	    0x00,
	    0xff,
	    0x20,
	    0x00,
	    0x00,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xc6,
	    0x33,
	    0x64,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* address dst */
	    0x03,
	    0x00,
	    0x06,
	    0x00,
	    0xff,
	    0x20,
	    0x00,
	    0x00,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xc6,
	    0x33,
	    0x64,
	    0x02,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* spirange 0x100 - 0xffffffff */
	    0x02,
	    0x00,
	    0x10,
	    0x00,
	    0x00,
	    0x01,
	    0x00,
	    0x00,
	    0xff,
	    0xff,
	    0xff,
	    0xff,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    /* sa2: mode any, reqid 0x1001 */
	    0x02,
	    0x00,
	    0x13,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x01,
	    0x10,
	    0x00,
	    0x00,
	};
	struct pfk_req r = RQ(FBSD, 7);
	struct kaddr s = A("198.51.100.1"), d = A("198.51.100.2");
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_getspi(&w, &r, IPPROTO_ESP, &s, &d, 0x1001,
					  K_SPI_MIN, K_SPI_MAX, err,
					  sizeof(err)),
			 0);
	assert_bytes(w.buf, w.len, want, sizeof(want));
	wr_free(&w);
}

static void test_delete_netbsd_v6_bytes(void **state)
{
	static const uint8_t want[] = {
	    /* base: DELETE, AH, 14 words, seq 2 */
	    0x02,
	    0x04,
	    0x00,
	    0x02,
	    0x0e,
	    0x00,
	    0x00,
	    0x00,
	    0x02,
	    0x00,
	    0x00,
	    0x00,
	    0x34,
	    0x12,
	    0x00,
	    0x00,
	    /* SA: spi in network order, rest zero */
	    0x02,
	    0x00,
	    0x01,
	    0x00,
	    0x12,
	    0x34,
	    0x56,
	    0x78,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* src: 5 words: 8 + sockaddr_in6 (28, NetBSD AF_INET6 24) + 4 */
	    0x05,
	    0x00,
	    0x05,
	    0x00,
	    0xff,
	    0x80,
	    0x00,
	    0x00,
	    0x1c,
	    0x18,
	    0x00,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0x20,
	    0x01,
	    0x0d,
	    0xb8,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* dst */
	    0x05,
	    0x00,
	    0x06,
	    0x00,
	    0xff,
	    0x80,
	    0x00,
	    0x00,
	    0x1c,
	    0x18,
	    0x00,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0x20,
	    0x01,
	    0x0d,
	    0xb8,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x02,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	struct pfk_req r = RQ(NBSD, 2);
	struct kaddr s = A("2001:db8::1"), d = A("2001:db8::2");
	struct wr w;

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa_id(&w, &r, PFK_DELETE, IPPROTO_AH, &s, &d,
					 0x12345678, NULL, 0),
			 0);
	assert_bytes(w.buf, w.len, want, sizeof(want));
	wr_free(&w);
}

static void test_spdadd_tunnel_bytes(void **state)
{
	static const uint8_t want[] = {
	    /* base: SPDADD, satype unspec, 19 words, seq 1 */
	    0x02,
	    0x0e,
	    0x00,
	    0x00,
	    0x13,
	    0x00,
	    0x00,
	    0x00,
	    0x01,
	    0x00,
	    0x00,
	    0x00,
	    0x34,
	    0x12,
	    0x00,
	    0x00,
	    /* lifetime hard: usetime = ownership tag 0x60000009 */
	    0x04,
	    0x00,
	    0x03,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x09,
	    0x00,
	    0x00,
	    0x60,
	    0,
	    0,
	    0,
	    0,
	    /* src 203.0.113.0/24, proto any, port any */
	    0x03,
	    0x00,
	    0x05,
	    0x00,
	    0xff,
	    0x18,
	    0x00,
	    0x00,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xcb,
	    0x00,
	    0x71,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* dst 198.51.100.0/24 */
	    0x03,
	    0x00,
	    0x06,
	    0x00,
	    0xff,
	    0x18,
	    0x00,
	    0x00,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xc6,
	    0x33,
	    0x64,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* policy: 7 words, IPSEC, outbound, id 0, priority 1952 */
	    0x07,
	    0x00,
	    0x12,
	    0x00,
	    0x02,
	    0x00,
	    0x02,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0xa0,
	    0x07,
	    0x00,
	    0x00,
	    /* ipsecrequest: 40 bytes, ESP, tunnel, require, reqid 0x1002,
	     * then src and dst sockaddr_in with no padding between */
	    0x28,
	    0x00,
	    0x32,
	    0x00,
	    0x02,
	    0x02,
	    0x02,
	    0x10,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xcb,
	    0x00,
	    0x71,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xc6,
	    0x33,
	    0x64,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	struct pfk_req r = RQ(FBSD, 1);
	struct kpolicy p = pol_tun();
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(
	    pfk_build_policy(&w, &r, PFK_X_SPDADD, &p, err, sizeof(err)), 0);
	assert_bytes(w.buf, w.len, want, sizeof(want));
	wr_free(&w);
}

static void test_spdadd_linux_isr(void **state)
{
	struct pfk_req r = RQ(LNX, 1);
	struct kpolicy p = pol_tun();
	const uint8_t *x;
	uint16_t u16;
	uint32_t u32;
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	p.dir = KDIR_FWD; /* Linux has a forward direction */
	p.index = kpol_index_make(1, KDIR_FWD);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(
	    pfk_build_policy(&w, &r, PFK_X_SPDUPDATE, &p, err, sizeof(err)), 0);
	assert_int_equal(w.buf[1], PFK_X_SPDUPDATE);
	x = ext_at(w.buf, w.len, PFK_X_EXT_POLICY);
	assert_non_null(x);
	/* 16 + ipsecrequest(16) + 2 * sockaddr_in(16) = 64 bytes = 8 words */
	memcpy(&u16, x, 2);
	assert_int_equal(u16, 8);
	assert_int_equal(x[6], PFK_DIR_FWD);
	memcpy(&u16, x + 16, 2);
	assert_int_equal(u16, 48); /* request length in bytes */
	memcpy(&u32, x + 16 + 8, 4);
	assert_int_equal(u32, 0x1002); /* 32-bit reqid after reserved1 */
	/* Linux sockaddr: 16-bit family, no sa_len */
	memcpy(&u16, x + 32, 2);
	assert_int_equal(u16, 2);
	assert_int_equal(x[36], 203);
	wr_free(&w);
}

static void test_sa_add_cbc_layout(void **state)
{
	static const uint16_t order[] = {
	    PFK_EXT_SA,		 PFK_EXT_LIFETIME_HARD, PFK_EXT_LIFETIME_SOFT,
	    PFK_EXT_ADDRESS_SRC, PFK_EXT_ADDRESS_DST,	PFK_EXT_KEY_AUTH,
	    PFK_EXT_KEY_ENCRYPT, PFK_X_EXT_SA2,
	};
	static const uint8_t sa_ext[] = {
	    /* SA: 2 words, spi, replay 8 bytes (= 64 packets, KAME),
	     * mature, SHA2-256 (5), AES-CBC (12), flags 0 */
	    0x02, 0x00, 0x01, 0x00, 0xc0, 0xff, 0xee, 0x01,
	    0x08, 0x01, 0x05, 0x0c, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t hard[] = {
	    0x04, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0x40, 0x42, 0x0f, 0, 0, 0, 0, 0,
	    0x10, 0x0e, 0,    0,    0, 0, 0, 0, 0,    0,    0,	  0, 0, 0, 0, 0,
	};
	struct pfk_req r = RQ(FBSD, 9);
	struct ksa sa = sa_cbc();
	uint16_t types[16];
	const uint8_t *x;
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	assert_int_equal(w.buf[1], PFK_ADD);
	assert_int_equal(w.buf[3], PFK_SATYPE_ESP);
	assert_int_equal(ext_types(w.buf, w.len, types, 16), 8);
	assert_memory_equal(types, order, sizeof(order));
	assert_memory_equal(ext_at(w.buf, w.len, PFK_EXT_SA), sa_ext,
			    sizeof(sa_ext));
	assert_memory_equal(ext_at(w.buf, w.len, PFK_EXT_LIFETIME_HARD), hard,
			    sizeof(hard));
	/* auth key: 32 bytes = 5 words, 256 bits, no padding needed */
	x = ext_at(w.buf, w.len, PFK_EXT_KEY_AUTH);
	assert_int_equal(x[0], 5);
	assert_int_equal(x[4] | x[5] << 8, 256);
	assert_memory_equal(x + 8, sa.auth_key, 32);
	/* enc key: 16 bytes = 3 words */
	x = ext_at(w.buf, w.len, PFK_EXT_KEY_ENCRYPT);
	assert_int_equal(x[0], 3);
	assert_int_equal(x[4] | x[5] << 8, 128);
	/* SA2: transport (1), reqid */
	x = ext_at(w.buf, w.len, PFK_X_EXT_SA2);
	assert_int_equal(x[4], PFK_MODE_TRANSPORT);
	assert_int_equal(x[12] | x[13] << 8, 0x1001);
	wr_free(&w);
}

static void test_sa_add_gcm_natt_layout(void **state)
{
	static const uint16_t order[] = {
	    PFK_EXT_SA,
	    PFK_EXT_LIFETIME_HARD,
	    PFK_EXT_LIFETIME_SOFT,
	    PFK_EXT_ADDRESS_SRC,
	    PFK_EXT_ADDRESS_DST,
	    PFK_EXT_KEY_ENCRYPT,
	    PFK_X_EXT_SA2,
	    PFK_X_EXT_NAT_T_TYPE,
	    PFK_X_EXT_NAT_T_SPORT,
	    PFK_X_EXT_NAT_T_DPORT,
	    PFK_X_EXT_NAT_T_OA,
	    PFK_X_EXT_SA_REPLAY,
	};
	static const uint8_t natt[] = {
	    /* type ESPINUDP; sport 4500; dport 31337, network order */
	    0x01, 0x00, 0x14, 0x00, 0x02, 0x00, 0x00, 0x00,
	    0x01, 0x00, 0x15, 0x00, 0x11, 0x94, 0x00, 0x00,
	    0x01, 0x00, 0x16, 0x00, 0x7a, 0x69, 0x00, 0x00,
	};
	static const uint8_t replay[] = {0x01, 0x00, 0x1a, 0x00,
					 0x00, 0x10, 0x00, 0x00};
	struct pfk_req r = RQ(FBSD, 10);
	struct ksa sa = sa_gcm();
	uint16_t types[16];
	const uint8_t *x;
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	assert_int_equal(ext_types(w.buf, w.len, types, 16), 12);
	assert_memory_equal(types, order, sizeof(order));
	x = ext_at(w.buf, w.len, PFK_EXT_SA);
	assert_int_equal(x[8], 255); /* bitmap bytes capped... */
	assert_int_equal(x[10], 0);  /* AEAD: auth NONE */
	assert_int_equal(x[11], 20); /* SADB_X_EALG_AESGCM16 */
	assert_int_equal(x[12] | x[13] << 8, PFK_FREEBSD_SAFLAGS_ESN);
	assert_memory_equal(x + 4, "\x0b\xad\xf0\x0d", 4);
	/* ...the real window goes in SADB_X_EXT_SA_REPLAY, in packets */
	assert_memory_equal(ext_at(w.buf, w.len, PFK_X_EXT_SA_REPLAY), replay,
			    sizeof(replay));
	assert_memory_equal(ext_at(w.buf, w.len, PFK_X_EXT_NAT_T_TYPE), natt,
			    sizeof(natt));
	/* enc key 36 bytes (key + 4-byte salt, RFC 4106 §8.1): 288 bits,
	 * 8 + 36 = 44 -> padded to 48 = 6 words, pad bytes zero */
	x = ext_at(w.buf, w.len, PFK_EXT_KEY_ENCRYPT);
	assert_int_equal(x[0], 6);
	assert_int_equal(x[4] | x[5] << 8, 288);
	assert_memory_equal(x + 8, sa.enc_key, 36);
	assert_memory_equal(x + 44, "\0\0\0\0", 4);
	/* SA2: tunnel */
	assert_int_equal(ext_at(w.buf, w.len, PFK_X_EXT_SA2)[4],
			 PFK_MODE_TUNNEL);
	/* OA: address ext with 192.168.1.10 */
	x = ext_at(w.buf, w.len, PFK_X_EXT_NAT_T_OA);
	assert_memory_equal(x + 12, "\xc0\xa8\x01\x0a", 4);
	wr_free(&w);
}

static void test_sa_v6_sockaddrs(void **state)
{
	struct ksa sa = sa_cbc();
	struct pfk_req r;
	const uint8_t *x;
	uint16_t fam;
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	sa.src = A("2001:db8::1");
	sa.dst = A("2001:db8::2");
	/* NetBSD: sa_len 28, AF_INET6 = 24; 40-byte extension */
	r = RQ(NBSD, 1);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	x = ext_at(w.buf, w.len, PFK_EXT_ADDRESS_DST);
	assert_int_equal(x[0], 5);
	assert_int_equal(x[5], 128);
	assert_int_equal(x[8], 28);
	assert_int_equal(x[9], 24);
	assert_int_equal(x[31], 2);
	wr_free(&w);
	/* FreeBSD: AF_INET6 = 28 */
	r = RQ(FBSD, 1);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	x = ext_at(w.buf, w.len, PFK_EXT_ADDRESS_DST);
	assert_int_equal(x[9], 28);
	wr_free(&w);
	/* Linux: 16-bit family 10, replay in packets */
	r = RQ(LNX, 1);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	x = ext_at(w.buf, w.len, PFK_EXT_ADDRESS_DST);
	memcpy(&fam, x + 8, 2);
	assert_int_equal(fam, 10);
	assert_int_equal(ext_at(w.buf, w.len, PFK_EXT_SA)[8], 64);
	wr_free(&w);
}

static void test_small_messages_bytes(void **state)
{
	static const uint8_t del2[] = {
	    0x02,
	    0x16,
	    0x00,
	    0x00,
	    0x04,
	    0x00,
	    0x00,
	    0x00,
	    0x05,
	    0x00,
	    0x00,
	    0x00,
	    0x34,
	    0x12,
	    0x00,
	    0x00,
	    /* policy: id 77, inbound */
	    0x02,
	    0x00,
	    0x12,
	    0x00,
	    0x00,
	    0x00,
	    0x01,
	    0x00,
	    0x4d,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	};
	static const uint8_t reg[] = {0x02, 0x07, 0x00, 0x03, 0x02, 0x00,
				      0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
				      0x34, 0x12, 0x00, 0x00};
	struct pfk_req r = RQ(FBSD, 5);
	struct wr w;

	(void)state;
	NEED_LE();
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_spdid(&w, &r, PFK_X_SPDDELETE2, 77, KDIR_IN),
			 0);
	assert_bytes(w.buf, w.len, del2, sizeof(del2));
	wr_reset(&w);
	r.seq = 6;
	assert_int_equal(pfk_build_base(&w, &r, PFK_REGISTER, PFK_SATYPE_ESP),
			 0);
	assert_bytes(w.buf, w.len, reg, sizeof(reg));
	wr_reset(&w);
	assert_int_equal(pfk_build_spdid(&w, &r, PFK_X_SPDGET, 3, KDIR_OUT), 0);
	assert_int_equal(w.buf[1], PFK_X_SPDGET);
	assert_int_equal(pfk_build_spdid(&w, &r, PFK_ADD, 3, KDIR_OUT),
			 -EINVAL);
	wr_free(&w);
}

static void test_spddelete_by_selector(void **state)
{
	struct pfk_req r = RQ(NBSD, 3);
	struct kpolicy p = pol_tun();
	uint16_t types[8];
	const uint8_t *x;
	struct wr w;
	char err[128];

	(void)state;
	NEED_LE();
	p.sel.proto = IPPROTO_TCP;
	p.sel.dport = 443;
	p.sel.dport_mask = 0xffff;
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_spddelete(&w, &r, &p, err, sizeof(err)), 0);
	assert_int_equal(w.buf[1], PFK_X_SPDDELETE);
	assert_int_equal(ext_types(w.buf, w.len, types, 8), 3);
	x = ext_at(w.buf, w.len, PFK_EXT_ADDRESS_DST);
	assert_int_equal(x[4], IPPROTO_TCP);
	assert_memory_equal(x + 10, "\x01\xbb", 2); /* port 443 */
	x = ext_at(w.buf, w.len, PFK_X_EXT_POLICY);
	assert_int_equal(x[6], PFK_DIR_OUTBOUND);
	assert_int_equal(x[12], 0); /* NetBSD: no priority */
	wr_free(&w);
}

/* ---- what a dialect cannot say ------------------------------------------ */

static void test_build_rejects(void **state)
{
	struct pfk_req rf = RQ(FBSD, 1), rn = RQ(NBSD, 1), rl = RQ(LNX, 1);
	struct kpolicy p;
	struct ksa sa;
	struct wr w;
	char err[160];

	(void)state;
	wr_init(&w, PFK_REQ_MAX);
	/* ChaCha20-Poly1305: FreeBSD only */
	sa = sa_gcm();
	sa.esn = false;
	sa.replay_window = 64;
	sa.encr_id = IKEV2_ENCR_CHACHA20_POLY1305;
	sa.encr_keybits = 0;
	assert_int_equal(pfk_build_sa(&w, &rf, &sa, err, sizeof(err)), 0);
	assert_int_equal(ext_at(w.buf, w.len, PFK_EXT_SA)[11],
			 FBSD->ealg_chacha);
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rn, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err, "netbsd"));
	/* AEAD through Linux PF_KEY */
	sa = sa_gcm();
	sa.esn = false;
	sa.replay_window = 64;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rl, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	/* ESN where there is no flag */
	sa = sa_cbc();
	sa.esn = true;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rn, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	/* packet lifetimes do not exist in RFC 2367 */
	sa = sa_cbc();
	sa.lft.hard_packets = 10;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rf, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	/* reqid above IPSEC_MANUAL_REQID_MAX on a BSD */
	sa = sa_cbc();
	sa.reqid = 0x4000;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rf, &sa, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "IPSEC_MANUAL_REQID_MAX"));
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rl, &sa, err, sizeof(err)), 0);
	/* NetBSD replay window is one byte of bitmap bytes */
	sa = sa_cbc();
	sa.replay_window = 4096;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rn, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	/* generic validation still applies (reserved SPI) */
	sa = sa_cbc();
	sa.spi = 5;
	wr_reset(&w);
	assert_int_equal(pfk_build_sa(&w, &rf, &sa, err, sizeof(err)), -EINVAL);

	/* no forward direction on the BSDs */
	p = pol_tun();
	p.dir = KDIR_FWD;
	p.index = kpol_index_make(1, KDIR_FWD);
	wr_reset(&w);
	assert_int_equal(
	    pfk_build_policy(&w, &rf, PFK_X_SPDADD, &p, err, sizeof(err)),
	    -EOPNOTSUPP);
	assert_non_null(strstr(err, "forward"));
	/* port ranges (masks) cannot be expressed */
	p = pol_tun();
	p.sel.proto = IPPROTO_UDP;
	p.sel.sport = 1024;
	p.sel.sport_mask = 0xfc00;
	wr_reset(&w);
	assert_int_equal(
	    pfk_build_policy(&w, &rf, PFK_X_SPDADD, &p, err, sizeof(err)),
	    -EOPNOTSUPP);
	/* policy reqid too large for the 16-bit BSD field */
	p = pol_tun();
	p.tmpl[0].reqid = 70000;
	wr_reset(&w);
	assert_int_equal(
	    pfk_build_policy(&w, &rn, PFK_X_SPDADD, &p, err, sizeof(err)),
	    -ERANGE);
	/* wrong message type */
	p = pol_tun();
	wr_reset(&w);
	assert_int_equal(
	    pfk_build_policy(&w, &rn, PFK_X_SPDDUMP, &p, err, sizeof(err)),
	    -EINVAL);
	wr_free(&w);
}

/* ---- round trips --------------------------------------------------------- */

static void roundtrip_sa(const struct pfk_flavor *fl, const struct ksa *in)
{
	struct pfk_req r = RQ(fl, 1);
	struct pfk_msg m;
	struct ksa out;
	struct kcounters c;
	struct wr w;
	char err[128];

	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, in, err, sizeof(err)), 0);
	assert_int_equal(pfk_parse(w.buf, w.len, &m), 0);
	assert_int_equal(pfk_msg_error(&m), 0);
	assert_int_equal(pfk_parse_sa(fl, &m, &out, &c), 0);
	assert_sa_equal(in, &out);
	ksa_wipe(&out);
	assert_int_equal(pfk_parse_sa(fl, &m, NULL, &c), 0);
	wr_free(&w);
}

static void test_sa_roundtrip(void **state)
{
	struct ksa sa;

	(void)state;
	sa = sa_cbc();
	roundtrip_sa(FBSD, &sa);
	roundtrip_sa(NBSD, &sa);
	roundtrip_sa(LNX, &sa);
	sa.src = A("2001:db8::1");
	sa.dst = A("2001:db8::2");
	sa.proto = IPPROTO_AH;
	sa.encr_id = 0;
	sa.encr_keybits = 0;
	sa.enc_key_len = 0;
	memset(sa.enc_key, 0, sizeof(sa.enc_key));
	roundtrip_sa(FBSD, &sa);
	roundtrip_sa(NBSD, &sa);
	roundtrip_sa(LNX, &sa);
	sa = sa_gcm();
	roundtrip_sa(FBSD, &sa);
	sa.esn = false;
	sa.replay_window = 128;
	roundtrip_sa(NBSD, &sa);
	sa.encr_id = IKEV2_ENCR_AES_CTR;
	sa.encr_keybits = 128;
	sa.enc_key_len = 20;
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_512_256;
	sa.auth_key_len = 64;
	fill(sa.auth_key, 64, 11);
	roundtrip_sa(LNX, &sa);
}

static void roundtrip_pol(const struct pfk_flavor *fl, const struct kpolicy *in)
{
	struct pfk_req r = RQ(fl, 1);
	struct pfk_msg m;
	struct kpolicy out;
	uint32_t kid = 99;
	struct wr w;
	char err[128];

	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(
	    pfk_build_policy(&w, &r, PFK_X_SPDADD, in, err, sizeof(err)), 0);
	assert_int_equal(pfk_parse(w.buf, w.len, &m), 0);
	assert_int_equal(pfk_parse_policy(fl, &m, &out, &kid), 0);
	assert_int_equal(kid, 0); /* the kernel fills the id in */
	assert_true(ksel_eq(&in->sel, &out.sel));
	assert_int_equal(in->dir, out.dir);
	assert_int_equal(in->action, out.action);
	assert_int_equal(fl->priority ? in->priority : 0, out.priority);
	assert_int_equal(in->hard_add_expires_sec, out.hard_add_expires_sec);
	assert_int_equal(kpol_index_owned(in->index), out.owned);
	if (out.owned)
		assert_int_equal(in->index, out.index);
	assert_int_equal(in->ntmpl, out.ntmpl);
	for (unsigned i = 0; i < in->ntmpl; i++) {
		assert_int_equal(in->tmpl[i].proto, out.tmpl[i].proto);
		assert_int_equal(in->tmpl[i].mode, out.tmpl[i].mode);
		assert_int_equal(in->tmpl[i].level, out.tmpl[i].level);
		assert_int_equal(in->tmpl[i].reqid, out.tmpl[i].reqid);
		assert_true(kaddr_eq(&in->tmpl[i].src, &out.tmpl[i].src));
		assert_true(kaddr_eq(&in->tmpl[i].dst, &out.tmpl[i].dst));
	}
	wr_free(&w);
}

static void test_policy_roundtrip(void **state)
{
	struct kpolicy p;

	(void)state;
	p = pol_tun();
	roundtrip_pol(FBSD, &p);
	roundtrip_pol(NBSD, &p);
	roundtrip_pol(LNX, &p);
	/* IPv6 transport, two templates (AH + ESP), ports, dynamic lifetime,
	 * not owned */
	memset(&p, 0, sizeof(p));
	p.sel.af = AF_INET6;
	p.sel.src = A("2001:db8:1::");
	p.sel.dst = A("2001:db8:2::5");
	p.sel.src_plen = 48;
	p.sel.dst_plen = 128;
	p.sel.proto = IPPROTO_TCP;
	p.sel.dport = 22;
	p.sel.dport_mask = 0xffff;
	p.dir = KDIR_IN;
	p.action = KPOL_IPSEC;
	p.hard_add_expires_sec = 600;
	p.ntmpl = 2;
	p.tmpl[0].proto = IPPROTO_AH;
	p.tmpl[0].level = KLEVEL_USE;
	p.tmpl[1].proto = IPPROTO_ESP;
	p.tmpl[1].level = KLEVEL_UNIQUE;
	p.tmpl[1].reqid = 0x3fff;
	roundtrip_pol(FBSD, &p);
	roundtrip_pol(NBSD, &p);
	roundtrip_pol(LNX, &p);
	/* v6 tunnel endpoints (sockaddr_in6 pair inside the request) */
	p.tmpl[1].mode = KMODE_TUNNEL;
	p.tmpl[1].src = A("2001:db8::a");
	p.tmpl[1].dst = A("2001:db8::b");
	p.index = kpol_index_make(0x1fffff, KDIR_IN);
	roundtrip_pol(FBSD, &p);
	roundtrip_pol(NBSD, &p);
	roundtrip_pol(LNX, &p);
	/* discard and bypass */
	memset(&p.tmpl, 0, sizeof(p.tmpl));
	p.ntmpl = 0;
	p.action = KPOL_DISCARD;
	roundtrip_pol(NBSD, &p);
	p.action = KPOL_BYPASS;
	roundtrip_pol(FBSD, &p);
}

/* ---- hand-built kernel messages ----------------------------------------- */

struct tb {
	uint8_t b[2048];
	size_t n;
	size_t ext;
};

static void tb_bytes(struct tb *t, const void *p, size_t n)
{
	assert_true(t->n + n <= sizeof(t->b));
	memcpy(t->b + t->n, p, n);
	t->n += n;
}
static void tb_u8(struct tb *t, uint8_t v)
{
	tb_bytes(t, &v, 1);
}
static void tb_h16(struct tb *t, uint16_t v)
{
	tb_bytes(t, &v, 2);
}
static void tb_h32(struct tb *t, uint32_t v)
{
	tb_bytes(t, &v, 4);
}
static void tb_h64(struct tb *t, uint64_t v)
{
	tb_bytes(t, &v, 8);
}
static void tb_be16(struct tb *t, uint16_t v)
{
	tb_u8(t, (uint8_t)(v >> 8));
	tb_u8(t, (uint8_t)v);
}
static void tb_be32(struct tb *t, uint32_t v)
{
	tb_be16(t, (uint16_t)(v >> 16));
	tb_be16(t, (uint16_t)v);
}
static void tb_zero(struct tb *t, size_t n)
{
	static const uint8_t z[128];
	tb_bytes(t, z, n);
}

static void tb_msg(struct tb *t, uint8_t type, uint8_t err, uint8_t satype,
		   uint32_t seq, uint32_t pid)
{
	t->n = 0;
	tb_u8(t, 2);
	tb_u8(t, type);
	tb_u8(t, err);
	tb_u8(t, satype);
	tb_h16(t, 0); /* patched by tb_done */
	tb_h16(t, 0);
	tb_h32(t, seq);
	tb_h32(t, pid);
}

static void tb_ext(struct tb *t, uint16_t type)
{
	t->ext = t->n;
	tb_h16(t, 0);
	tb_h16(t, type);
}

static void tb_ext_end(struct tb *t)
{
	uint16_t units;

	while ((t->n - t->ext) % 8)
		tb_u8(t, 0);
	units = (uint16_t)((t->n - t->ext) / 8);
	memcpy(t->b + t->ext, &units, 2);
}

static void tb_done(struct tb *t)
{
	uint16_t units = (uint16_t)(t->n / 8);

	assert_int_equal(t->n % 8, 0);
	memcpy(t->b + 4, &units, 2);
}

/* BSD sockaddr_in */
static void tb_sin(struct tb *t, const char *a, uint16_t port)
{
	struct kaddr k = A(a);

	tb_u8(t, 16);
	tb_u8(t, 2);
	tb_be16(t, port);
	tb_bytes(t, k.u.b, 4);
	tb_zero(t, 8);
}

/* Linux sockaddr_in6 */
static void tb_lsin6(struct tb *t, const char *a, uint16_t port)
{
	struct kaddr k = A(a);

	tb_h16(t, 10);
	tb_be16(t, port);
	tb_zero(t, 4);
	tb_bytes(t, k.u.b, 16);
	tb_zero(t, 4);
}

static void tb_addr(struct tb *t, uint16_t type, const char *a, uint8_t proto,
		    uint8_t plen, uint16_t port)
{
	tb_ext(t, type);
	tb_u8(t, proto);
	tb_u8(t, plen);
	tb_h16(t, 0);
	tb_sin(t, a, port);
	tb_ext_end(t);
}

static void tb_laddr6(struct tb *t, uint16_t type, const char *a, uint8_t proto,
		      uint8_t plen, uint16_t port)
{
	tb_ext(t, type);
	tb_u8(t, proto);
	tb_u8(t, plen);
	tb_h16(t, 0);
	tb_lsin6(t, a, port);
	tb_ext_end(t);
}

static void tb_sa(struct tb *t, uint32_t spi, uint8_t replay, uint8_t auth,
		  uint8_t enc, uint32_t flags)
{
	tb_ext(t, PFK_EXT_SA);
	tb_be32(t, spi);
	tb_u8(t, replay);
	tb_u8(t, 1);
	tb_u8(t, auth);
	tb_u8(t, enc);
	tb_h32(t, flags);
	tb_ext_end(t);
}

static void tb_sa2(struct tb *t, uint8_t mode, uint32_t reqid)
{
	tb_ext(t, PFK_X_EXT_SA2);
	tb_u8(t, mode);
	tb_zero(t, 3);
	tb_h32(t, 0);
	tb_h32(t, reqid);
	tb_ext_end(t);
}

static void tb_lft(struct tb *t, uint16_t type, uint32_t alloc, uint64_t bytes,
		   uint64_t add, uint64_t use)
{
	tb_ext(t, type);
	tb_h32(t, alloc);
	tb_h64(t, bytes);
	tb_h64(t, add);
	tb_h64(t, use);
	tb_ext_end(t);
}

static void tb_xpol(struct tb *t, uint16_t ptype, uint8_t dir, uint32_t id,
		    uint32_t prio)
{
	tb_ext(t, PFK_X_EXT_POLICY);
	tb_h16(t, ptype);
	tb_u8(t, dir);
	tb_u8(t, 0);
	tb_h32(t, id);
	tb_h32(t, prio);
	/* caller appends requests, then tb_ext_end */
}

static int parse(struct tb *t, struct pfk_msg *m)
{
	return pfk_parse(t->b, t->n, m);
}

static void test_decode_acquire(void **state)
{
	struct tb t;
	struct pfk_msg m;
	struct kevent ev;
	uint32_t kid = 0;
	char buf[160];

	(void)state;
	/* FreeBSD key_acquire(): addresses of the SA, SA2, the policy id,
	 * and a proposal (ignored) */
	tb_msg(&t, PFK_ACQUIRE, 0, PFK_SATYPE_ESP, 41, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "203.0.113.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.1", 255, 32, 0);
	tb_ext(&t, PFK_EXT_PROPOSAL);
	tb_u8(&t, 32);
	tb_zero(&t, 3);
	tb_zero(&t, 72); /* one sadb_comb */
	tb_ext_end(&t);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 812, 0);
	tb_ext_end(&t);
	tb_sa2(&t, PFK_MODE_TUNNEL, 0x1002);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, &kid), 0);
	assert_int_equal(ev.type, KEV_ACQUIRE);
	assert_int_equal(kid, 812);
	assert_int_equal(ev.u.acquire.pol_index, 812);
	assert_int_equal(ev.u.acquire.dir, KDIR_OUT);
	assert_int_equal(ev.u.acquire.tmpl.proto, IPPROTO_ESP);
	assert_int_equal(ev.u.acquire.tmpl.mode, KMODE_TUNNEL);
	assert_int_equal(ev.u.acquire.tmpl.reqid, 0x1002);
	assert_true(kaddr_eq(&ev.u.acquire.dst, &(struct kaddr){0}) == false);
	assert_string_equal(kaddr_str(&ev.u.acquire.dst, buf, sizeof(buf)),
			    "198.51.100.1");
	assert_string_equal(kaddr_str(&ev.u.acquire.tmpl.src, buf, sizeof(buf)),
			    "203.0.113.1");
	assert_int_equal(ev.u.acquire.sel.af, AF_INET);
	assert_int_equal(ev.u.acquire.sel.dst_plen, 32);

	/* an ACQUIRE echo carrying errno (a KMP's failure report) is not
	 * an event */
	t.b[2] = EINVAL;
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, &kid), -ENOENT);
	/* without addresses it is malformed */
	tb_msg(&t, PFK_ACQUIRE, 0, PFK_SATYPE_ESP, 41, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, &kid), -EBADMSG);
	/* unknown SA type */
	tb_msg(&t, PFK_ACQUIRE, 0, 77, 41, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "203.0.113.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.1", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, &kid), -EBADMSG);
}

static void test_decode_expire(void **state)
{
	struct tb t;
	struct pfk_msg m;
	struct kevent ev;
	char buf[64];

	(void)state;
	/* RFC 2367 §3.1.8 soft expire */
	tb_msg(&t, PFK_EXPIRE, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(&t, 0xc0ffee01, 8, 5, 12, 0);
	tb_sa2(&t, PFK_MODE_TRANSPORT, 0x1001);
	tb_lft(&t, PFK_EXT_LIFETIME_CURRENT, 10, 5000, 1700000000, 0);
	tb_lft(&t, PFK_EXT_LIFETIME_SOFT, 0, 0, 3000, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(NBSD, &m, &ev, NULL), 0);
	assert_int_equal(ev.type, KEV_EXPIRE);
	assert_false(ev.u.expire.hard);
	assert_int_equal(ev.u.expire.spi, 0xc0ffee01);
	assert_int_equal(ev.u.expire.proto, IPPROTO_ESP);
	assert_int_equal(ev.u.expire.reqid, 0x1001);
	assert_string_equal(kaddr_str(&ev.u.expire.dst, buf, sizeof(buf)),
			    "198.51.100.2");
	/* the same as a SA, with counters from the current lifetime */
	{
		struct ksa sa;
		struct kcounters c;

		assert_int_equal(pfk_parse_sa(NBSD, &m, &sa, &c), 0);
		assert_int_equal(c.packets, 10);
		assert_int_equal(c.bytes, 5000);
		assert_int_equal(c.add_time, 1700000000);
		assert_int_equal(sa.encr_id, IKEV2_ENCR_AES_CBC);
		assert_int_equal(sa.integ_id, IKEV2_INTEG_HMAC_SHA2_256_128);
		assert_int_equal(sa.replay_window, 64);
		assert_int_equal(sa.lft.soft_add_sec, 3000);
	}

	/* hard */
	tb_msg(&t, PFK_EXPIRE, 0, PFK_SATYPE_AH, 0, 0);
	tb_sa(&t, 0x1000, 0, 3, 0, 0);
	tb_lft(&t, PFK_EXT_LIFETIME_HARD, 0, 0, 3600, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), 0);
	assert_true(ev.u.expire.hard);
	assert_int_equal(ev.u.expire.proto, IPPROTO_AH);

	/* both soft and hard: RFC 2367 sends exactly one */
	tb_msg(&t, PFK_EXPIRE, 0, PFK_SATYPE_AH, 0, 0);
	tb_sa(&t, 0x1000, 0, 3, 0, 0);
	tb_lft(&t, PFK_EXT_LIFETIME_HARD, 0, 0, 3600, 0);
	tb_lft(&t, PFK_EXT_LIFETIME_SOFT, 0, 0, 3000, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
	/* neither */
	tb_msg(&t, PFK_EXPIRE, 0, PFK_SATYPE_AH, 0, 0);
	tb_sa(&t, 0x1000, 0, 3, 0, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
}

static void test_decode_spdexpire_and_dump(void **state)
{
	struct tb t;
	struct pfk_msg m;
	struct kevent ev;
	struct kpolicy p;
	uint32_t kid;

	(void)state;
	/* an owned policy (tag in the hard lifetime) expires */
	tb_msg(&t, PFK_X_SPDEXPIRE, 0, 0, 0, 0);
	tb_lft(&t, PFK_EXT_LIFETIME_CURRENT, 0, 0, 1700000000, 1700000100);
	tb_lft(&t, PFK_EXT_LIFETIME_HARD, 0, 0, 600, PFK_TAG_BASE + 0x11);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "203.0.113.0", 17, 24, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.7", 17, 32, 53);
	tb_xpol(&t, PFK_POLICY_DISCARD, PFK_DIR_INBOUND, 5, 0);
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, &kid), 0);
	assert_int_equal(ev.type, KEV_POL_EXPIRE);
	assert_int_equal(kid, 5);
	assert_int_equal(ev.u.pol_expire.index, 0xa2000011);
	assert_int_equal(ev.u.pol_expire.dir, KDIR_IN);
	assert_true(ev.u.pol_expire.hard);
	assert_int_equal(ev.u.pol_expire.sel.proto, IPPROTO_UDP);
	assert_int_equal(ev.u.pol_expire.sel.dport, 53);
	assert_int_equal(ev.u.pol_expire.sel.dport_mask, 0xffff);

	/* the same shape as a dump entry: owned, times, lifetime */
	m.type = PFK_X_SPDDUMP;
	assert_int_equal(pfk_parse_policy(FBSD, &m, &p, &kid), 0);
	assert_true(p.owned);
	assert_int_equal(p.index, 0xa2000011);
	assert_int_equal(p.action, KPOL_DISCARD);
	assert_int_equal(p.hard_add_expires_sec, 600);
	assert_int_equal(p.add_time, 1700000000);
	assert_int_equal(p.use_time, 1700000100);
	assert_int_equal(p.sel.src_plen, 24);

	/* a foreign entry (setkey): kernel id as index, not owned */
	tb_msg(&t, PFK_X_SPDDUMP, 0, 0, 0, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "0.0.0.0", 255, 0, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "0.0.0.0", 255, 0, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 9, 0);
	/* transport ESP "use" without endpoints: 8-byte BSD request */
	tb_h16(&t, 8);
	tb_h16(&t, IPPROTO_ESP);
	tb_u8(&t, PFK_MODE_TRANSPORT);
	tb_u8(&t, PFK_LEVEL_USE);
	tb_h16(&t, 0);
	tb_ext_end(&t);
	tb_lft(&t, PFK_EXT_LIFETIME_HARD, 0, 0, 0, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_policy(NBSD, &m, &p, &kid), 0);
	assert_false(p.owned);
	assert_int_equal(p.index, 9);
	assert_int_equal(p.ntmpl, 1);
	assert_int_equal(p.tmpl[0].level, KLEVEL_USE);
	assert_int_equal(p.sel.proto, 0);
	assert_int_equal(p.sel.dst_plen, 0);
	/* the same bytes in Linux layout are garbage (16-byte request) */
	assert_int_equal(pfk_parse_policy(LNX, &m, &p, &kid), -EBADMSG);
	/* direction "any" (a KAME socket-policy view): not ours */
	t.b[t.n - 32 - 8 - 16 + 6] = PFK_DIR_ANY;
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_policy(NBSD, &m, &p, &kid), -ENOENT);
}

static void test_decode_linux_migrate_mapping(void **state)
{
	struct tb t;
	struct pfk_msg m;
	struct kevent ev;
	char buf[64];
	size_t isr;

	(void)state;
	/* Linux pfkey_send_migrate(): selector, then policy with a pair of
	 * 16-byte requests each followed by two sockaddr_in6 */
	tb_msg(&t, PFK_X_MIGRATE, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	for (int i = 0; i < 2; i++) {
		isr = t.n;
		tb_h16(&t, 16 + 28 + 28);
		tb_h16(&t, IPPROTO_ESP);
		tb_u8(&t, PFK_MODE_TUNNEL);
		tb_u8(&t, PFK_LEVEL_REQUIRE);
		tb_h16(&t, 0);
		tb_h32(&t, 7);
		tb_h32(&t, 0);
		tb_lsin6(&t, i ? "2001:db8::10" : "2001:db8::1", 0);
		tb_lsin6(&t, "2001:db8::2", 0);
		assert_int_equal((t.n - isr) % 8, 0);
	}
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(LNX, &m, &ev, NULL), 0);
	assert_int_equal(ev.type, KEV_MIGRATE);
	assert_int_equal(ev.u.migrate.dir, KDIR_OUT);
	assert_int_equal(ev.u.migrate.sel.src_plen, 48);
	assert_string_equal(
	    kaddr_str(&ev.u.migrate.m[0].old_src, buf, sizeof(buf)),
	    "2001:db8::1");
	assert_string_equal(
	    kaddr_str(&ev.u.migrate.m[0].new_src, buf, sizeof(buf)),
	    "2001:db8::10");
	assert_string_equal(
	    kaddr_str(&ev.u.migrate.m[0].new_dst, buf, sizeof(buf)),
	    "2001:db8::2");
	/* one request only: no "new" half */
	tb_msg(&t, PFK_X_MIGRATE, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	tb_h16(&t, 72);
	tb_h16(&t, IPPROTO_ESP);
	tb_u8(&t, PFK_MODE_TUNNEL);
	tb_u8(&t, PFK_LEVEL_REQUIRE);
	tb_h16(&t, 0);
	tb_h32(&t, 7);
	tb_h32(&t, 0);
	tb_lsin6(&t, "2001:db8::1", 0);
	tb_lsin6(&t, "2001:db8::2", 0);
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(LNX, &m, &ev, NULL), -EBADMSG);

	/* NAT_T_NEW_MAPPING: old address/port in SRC/SPORT, new in
	 * DST/DPORT (Linux af_key) */
	tb_msg(&t, PFK_X_NAT_T_NEW_MAPPING, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(&t, 0x0badf00d, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8::7", 255, 128, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8::8", 255, 128, 0);
	tb_ext(&t, PFK_X_EXT_NAT_T_SPORT);
	tb_be16(&t, 4500);
	tb_h16(&t, 0);
	tb_ext_end(&t);
	tb_ext(&t, PFK_X_EXT_NAT_T_DPORT);
	tb_be16(&t, 40000);
	tb_h16(&t, 0);
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(LNX, &m, &ev, NULL), 0);
	assert_int_equal(ev.type, KEV_MAPPING);
	assert_int_equal(ev.u.mapping.spi, 0x0badf00d);
	assert_int_equal(ev.u.mapping.old_port, 4500);
	assert_int_equal(ev.u.mapping.new_port, 40000);
	assert_string_equal(kaddr_str(&ev.u.mapping.new_addr, buf, sizeof(buf)),
			    "2001:db8::8");
	/* a BSD reading of Linux sockaddrs fails cleanly */
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
}

/* One Linux sadb_x_ipsecrequest of a MIGRATE pair: 16 bytes, then the
 * two sockaddr_in6 (af_key set_ipsecrequest()). */
static void tb_mig_isr(struct tb *t, uint8_t level, uint32_t reqid,
		       const char *src, const char *dst)
{
	tb_h16(t, 16 + 28 + 28);
	tb_h16(t, IPPROTO_ESP);
	tb_u8(t, PFK_MODE_TUNNEL);
	tb_u8(t, level);
	tb_h16(t, 0);
	tb_h32(t, reqid);
	tb_h32(t, 0);
	tb_lsin6(t, src, 0);
	tb_lsin6(t, dst, 0);
}

static struct kmigrate_req mig_req(void)
{
	struct kmigrate_req r;

	memset(&r, 0, sizeof(r));
	r.sel.af = AF_INET6;
	r.sel.src = A("2001:db8:1::");
	r.sel.dst = A("2001:db8:2::");
	r.sel.src_plen = r.sel.dst_plen = 48;
	r.dir = KDIR_OUT;
	r.n = 1;
	r.m[0].proto = IPPROTO_ESP;
	r.m[0].mode = KMODE_TUNNEL;
	r.m[0].reqid = 7;
	r.m[0].old_src = A("2001:db8::1");
	r.m[0].old_dst = A("2001:db8::2");
	r.m[0].new_src = A("2001:db8::10");
	r.m[0].new_dst = A("2001:db8::2");
	return r;
}

/*
 * SADB_X_MIGRATE request, byte for byte as Linux af_key pfkey_migrate()
 * reads it (and pfkey_send_migrate() writes the announcement): base
 * (satype unspec), selector as address(SD) with the upper-layer protocol
 * "any" and the prefix lengths, X_POLICY (IPsec, direction) with the
 * old then the new ipsecrequest of each pair, level unique for a named
 * reqid.  Then back through the parser, in the Linux and NetBSD
 * dialects; FreeBSD (no MIGRATE) and encapsulation are refused.
 */
static void test_migrate_bytes(void **state)
{
	struct kmigrate_req r = mig_req(), bad;
	struct pfk_req rq = RQ(LNX, 3);
	struct pfk_msg m;
	struct kevent ev;
	struct tb t;
	struct wr w;

	(void)state;
	tb_msg(&t, PFK_X_MIGRATE, 0, PFK_SATYPE_UNSPEC, 3, 0x1234);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	tb_mig_isr(&t, PFK_LEVEL_UNIQUE, 7, "2001:db8::1", "2001:db8::2");
	tb_mig_isr(&t, PFK_LEVEL_UNIQUE, 7, "2001:db8::10", "2001:db8::2");
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(t.n, 16 + 40 + 40 + 16 + 2 * 72);

	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_migrate(&w, &rq, &r, NULL, 0), 0);
	assert_int_equal(w.len, t.n);
	assert_memory_equal(w.buf, t.b, t.n);
	/* what we send is what we read back */
	assert_int_equal(pfk_parse(w.buf, w.len, &m), 0);
	assert_int_equal(pfk_parse_event(LNX, &m, &ev, NULL), 0);
	assert_int_equal(ev.type, KEV_MIGRATE);
	assert_int_equal(ev.u.migrate.n, 1);
	assert_int_equal(ev.u.migrate.dir, KDIR_OUT);
	assert_int_equal(ev.u.migrate.m[0].reqid, 7);
	assert_int_equal(ev.u.migrate.m[0].mode, KMODE_TUNNEL);
	assert_true(kaddr_eq(&ev.u.migrate.m[0].new_src, &r.m[0].new_src));
	assert_true(kaddr_eq(&ev.u.migrate.m[0].old_dst, &r.m[0].old_dst));
	wr_free(&w);

	/* two pairs (tunnel + transport), NetBSD layout, round trip */
	r.n = 2;
	r.m[1] = r.m[0];
	r.m[1].mode = KMODE_TRANSPORT;
	r.m[1].reqid = 0;
	rq = RQ(NBSD, 4);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_migrate(&w, &rq, &r, NULL, 0), 0);
	assert_int_equal(pfk_parse(w.buf, w.len, &m), 0);
	assert_int_equal(pfk_parse_event(NBSD, &m, &ev, NULL), 0);
	assert_int_equal(ev.u.migrate.n, 2);
	assert_int_equal(ev.u.migrate.m[1].mode, KMODE_TRANSPORT);
	assert_int_equal(ev.u.migrate.m[1].reqid, 0);
	assert_true(kaddr_eq(&ev.u.migrate.m[1].new_src, &r.m[1].new_src));
	wr_free(&w);

	/* refusals: nothing is built */
	r = mig_req();
	rq = RQ(FBSD, 5);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_migrate(&w, &rq, &r, NULL, 0), -EOPNOTSUPP);
	rq = RQ(LNX, 5);
	bad = r;
	bad.has_encap = true;
	bad.encap.enabled = true;
	bad.encap.sport = bad.encap.dport = 4500;
	assert_int_equal(pfk_build_migrate(&w, &rq, &bad, NULL, 0),
			 -EOPNOTSUPP);
	bad = r;
	bad.n = 0;
	assert_int_equal(pfk_build_migrate(&w, &rq, &bad, NULL, 0), -EINVAL);
	bad = r;
	bad.m[0].new_dst = A("198.51.100.1");
	assert_int_equal(pfk_build_migrate(&w, &rq, &bad, NULL, 0), -EINVAL);
	bad = r;
	memset(bad.m[0].new_src.u.b, 0, 16);
	assert_int_equal(pfk_build_migrate(&w, &rq, &bad, NULL, 0), -EINVAL);
	assert_int_equal(w.len, 0);
	wr_free(&w);
}

/* Hostile MIGRATE announcements: refused whole, never partly read. */
static void test_migrate_malformed(void **state)
{
	struct pfk_msg m;
	struct kevent ev;
	struct tb t;

	(void)state;
	/* a pair whose halves differ in protocol */
	tb_msg(&t, PFK_X_MIGRATE, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	tb_mig_isr(&t, PFK_LEVEL_UNIQUE, 7, "2001:db8::1", "2001:db8::2");
	tb_h16(&t, 16 + 28 + 28);
	tb_h16(&t, IPPROTO_AH);
	tb_u8(&t, PFK_MODE_TUNNEL);
	tb_u8(&t, PFK_LEVEL_UNIQUE);
	tb_h16(&t, 0);
	tb_h32(&t, 7);
	tb_h32(&t, 0);
	tb_lsin6(&t, "2001:db8::10", 0);
	tb_lsin6(&t, "2001:db8::2", 0);
	tb_ext_end(&t);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(LNX, &m, &ev, NULL), -EBADMSG);
	/* more pairs than KMIGRATE_MAX (the kernel sends at most 6) */
	tb_msg(&t, PFK_X_MIGRATE, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	for (int i = 0; i < 2 * (KMIGRATE_MAX + 1); i++)
		tb_mig_isr(&t, PFK_LEVEL_UNIQUE, 7, "2001:db8::1",
			   "2001:db8::2");
	tb_ext_end(&t);
	tb_done(&t);
	assert_true(t.n > 16 + 40 + 40 + 16 + KMIGRATE_MAX * 144);
	assert_true(parse(&t, &m) < 0 ||
		    pfk_parse_event(LNX, &m, &ev, NULL) == -EBADMSG);
	/* no pair at all */
	tb_msg(&t, PFK_X_MIGRATE, 0, 0, 0, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_SRC, "2001:db8:1::", 255, 48, 0);
	tb_laddr6(&t, PFK_EXT_ADDRESS_DST, "2001:db8:2::", 255, 48, 0);
	tb_xpol(&t, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 0, 0);
	tb_ext_end(&t);
	tb_done(&t);
	assert_true(parse(&t, &m) < 0 ||
		    pfk_parse_event(LNX, &m, &ev, NULL) == -EBADMSG);
}

static void test_decode_replies(void **state)
{
	struct tb t;
	struct pfk_msg m;
	struct ksa sa;
	struct kevent ev;

	(void)state;
	/* key_senderror(): the request's base header with errno set */
	tb_msg(&t, PFK_ADD, EEXIST, PFK_SATYPE_ESP, 7, 0x1234);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_msg_error(&m), -EEXIST);
	assert_int_equal(m.seq, 7);
	assert_int_equal(m.pid, 0x1234);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -ENOENT);
	/* GETSPI reply: the SA extension carries the SPI */
	tb_msg(&t, PFK_GETSPI, 0, PFK_SATYPE_ESP, 8, 0x1234);
	tb_sa(&t, 0x4a5b6c7d, 0, 0, 0, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 0xff, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 0xff, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_msg_error(&m), 0);
	assert_int_equal(pfk_parse_sa(FBSD, &m, &sa, NULL), 0);
	assert_int_equal(sa.spi, 0x4a5b6c7d);
	assert_int_equal(sa.proto, IPPROTO_ESP);
	/* a reply without the SA extension is malformed */
	tb_msg(&t, PFK_GETSPI, 0, PFK_SATYPE_ESP, 8, 0x1234);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_sa(FBSD, &m, &sa, NULL), -EBADMSG);
}

/*
 * AH and IPComp SAs, byte for byte (RFC 2367 §2.3.1, §3.1.3; KAME's
 * SADB_X_SATYPE_IPCOMP 9 and SADB_X_CALG_DEFLATE 2 in sadb_sa_encrypt;
 * RFC 3173 §3.3: the 16-bit CPI in sadb_sa_spi), built here by hand
 * with the tb_* writer rather than by the code under test.
 */
static void test_ah_ipcomp_bytes(void **state)
{
	struct pfk_req r = RQ(FBSD, 5);
	struct kaddr s = A("198.51.100.1"), d = A("198.51.100.2");
	struct ksa sa;
	struct tb t;
	struct wr w;
	char err[128];
	uint8_t key[32];

	(void)state;
	NEED_LE();
	/* IPComp, tunnel, CPI 0x2345, reqid 9: no key, no replay */
	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_COMP;
	sa.spi = 0x2345;
	sa.src = s;
	sa.dst = d;
	sa.mode = KMODE_TUNNEL;
	sa.reqid = 9;
	sa.comp_id = IKEV2_IPCOMP_DEFLATE;
	tb_msg(&t, PFK_ADD, 0, PFK_SATYPE_IPCOMP, 5, 0x1234);
	tb_sa(&t, 0x2345, 0, 0, 2, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_sa2(&t, PFK_MODE_TUNNEL, 9);
	tb_done(&t);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	assert_bytes(w.buf, w.len, t.b, t.n);
	wr_free(&w);

	/* AH, transport, HMAC-SHA2-256 (SADB_X_AALG_SHA2_256 5), window 64
	 * (8 bytes on FreeBSD), reqid 10 */
	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_AH;
	sa.spi = 0xa1b2c3d4;
	sa.src = s;
	sa.dst = d;
	sa.mode = KMODE_TRANSPORT;
	sa.reqid = 10;
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.auth_key_len = 32;
	fill(sa.auth_key, 32, 7);
	memcpy(key, sa.auth_key, 32);
	sa.replay_window = 64;
	tb_msg(&t, PFK_ADD, 0, PFK_SATYPE_AH, 5, 0x1234);
	tb_sa(&t, 0xa1b2c3d4, 8, 5, 0, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_ext(&t, PFK_EXT_KEY_AUTH);
	tb_h16(&t, 256);
	tb_h16(&t, 0);
	tb_bytes(&t, key, 32);
	tb_ext_end(&t);
	tb_sa2(&t, PFK_MODE_TRANSPORT, 10);
	tb_done(&t);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), 0);
	assert_bytes(w.buf, w.len, t.b, t.n);
	wr_free(&w);

	/* GETSPI for a CPI: the range is 256..61439 (RFC 3173 §3.3) */
	tb_msg(&t, PFK_GETSPI, 0, PFK_SATYPE_IPCOMP, 5, 0x1234);
	tb_addr(&t, PFK_EXT_ADDRESS_SRC, "198.51.100.1", 255, 32, 0);
	tb_addr(&t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_ext(&t, PFK_EXT_SPIRANGE);
	tb_h32(&t, 0x100);
	tb_h32(&t, 0xefff);
	tb_h32(&t, 0);
	tb_ext_end(&t);
	tb_sa2(&t, PFK_MODE_ANY, 9);
	tb_done(&t);
	wr_init(&w, PFK_REQ_MAX);
	assert_int_equal(pfk_build_getspi(&w, &r, IPPROTO_COMP, &s, &d, 9,
					  K_SPI_MIN, k_spi_max(IPPROTO_COMP),
					  err, sizeof(err)),
			 0);
	assert_bytes(w.buf, w.len, t.b, t.n);
	wr_free(&w);
}

/* IPComp SAs round-trip on every dialect; what IPComp cannot carry is
 * refused before anything is built. */
static void test_ipcomp_roundtrip_rejects(void **state)
{
	struct pfk_req r = RQ(LNX, 1);
	struct ksa sa;
	struct wr w;
	char err[128];

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_COMP;
	sa.spi = 0x4000;
	sa.src = A("2001:db8::1");
	sa.dst = A("2001:db8::2");
	sa.mode = KMODE_TRANSPORT;
	sa.reqid = 3;
	sa.comp_id = IKEV2_IPCOMP_DEFLATE;
	roundtrip_sa(FBSD, &sa);
	roundtrip_sa(NBSD, &sa);
	roundtrip_sa(LNX, &sa);

	wr_init(&w, PFK_REQ_MAX);
	sa.spi = 0x10000; /* a CPI is 16 bits */
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), -EINVAL);
	sa.spi = 0x4000;
	sa.comp_id = IKEV2_IPCOMP_LZS;
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)),
			 -EOPNOTSUPP);
	sa.comp_id = IKEV2_IPCOMP_DEFLATE;
	sa.replay_window = 32; /* IPComp has no sequence numbers */
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), -EINVAL);
	sa.replay_window = 0;
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.auth_key_len = 32;
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), -EINVAL);
	sa.integ_id = 0;
	sa.auth_key_len = 0;
	sa.proto = IPPROTO_ESP; /* a compression id on an ESP SA */
	sa.encr_id = IKEV2_ENCR_NULL;
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.auth_key_len = 32;
	assert_int_equal(pfk_build_sa(&w, &r, &sa, err, sizeof(err)), -EINVAL);
	wr_free(&w);
}

/* ---- malformed input ---------------------------------------------------- */

static void valid_msg(struct tb *t)
{
	tb_msg(t, PFK_EXPIRE, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(t, 0x1000, 0, 2, 12, 0);
	tb_lft(t, PFK_EXT_LIFETIME_HARD, 0, 0, 60, 0);
	tb_addr(t, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_done(t);
}

static void test_malformed(void **state)
{
	struct tb t, u;
	struct pfk_msg m;
	struct kevent ev;
	uint16_t v;

	(void)state;
	valid_msg(&t);
	assert_int_equal(parse(&t, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), 0);

	/* truncated base header, empty input */
	assert_int_equal(pfk_parse(t.b, 15, &m), -EBADMSG);
	assert_int_equal(pfk_parse(NULL, 0, &m), -EBADMSG);
	/* bad version, reserved message type 0 */
	u = t;
	u.b[0] = 1;
	assert_int_equal(parse(&u, &m), -EBADMSG);
	u = t;
	u.b[1] = 0;
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* sadb_msg_len: too long, too short, zero, datagram not a
	 * multiple of 8 */
	u = t;
	v = (uint16_t)(t.n / 8 + 1);
	memcpy(u.b + 4, &v, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	v = (uint16_t)(t.n / 8 - 1);
	memcpy(u.b + 4, &v, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	v = 0;
	memcpy(u.b + 4, &v, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	assert_int_equal(pfk_parse(t.b, t.n - 4, &m), -EBADMSG);
	/* extension length 0 (would never advance) */
	u = t;
	memset(u.b + 16, 0, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* extension running past the end */
	u = t;
	v = 200;
	memcpy(u.b + 16, &v, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* extension type 0 is reserved */
	u = t;
	memset(u.b + 18, 0, 2);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* SA extension shorter than struct sadb_sa */
	tb_msg(&u, PFK_EXPIRE, 0, PFK_SATYPE_ESP, 0, 0);
	tb_ext(&u, PFK_EXT_SA);
	tb_be32(&u, 0x1000);
	tb_ext_end(&u);
	tb_done(&u);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* duplicate extension (RFC 2367 §2.3: EINVAL) */
	tb_msg(&u, PFK_EXPIRE, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(&u, 0x1000, 0, 2, 12, 0);
	tb_sa(&u, 0x1001, 0, 2, 12, 0);
	tb_done(&u);
	assert_int_equal(parse(&u, &m), -EBADMSG);
	/* unknown extension types are ignored (RFC 2367 §2.3): both a
	 * number past every dialect's and one of our table's holes */
	u = t;
	tb_ext(&u, 200);
	tb_h32(&u, 0xdeadbeef);
	tb_ext_end(&u);
	tb_ext(&u, 200); /* even twice */
	tb_zero(&u, 4);
	tb_ext_end(&u);
	tb_done(&u);
	assert_int_equal(parse(&u, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), 0);
	assert_true(ev.u.expire.hard);

	/* address: sa_len wrong, unknown family, prefix too long */
	u = t;
	u.b[t.n - 16] = 15; /* sa_len of the dst sockaddr_in */
	assert_int_equal(parse(&u, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
	u = t;
	u.b[t.n - 15] = 99; /* family */
	assert_int_equal(parse(&u, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
	u = t;
	u.b[t.n - 19] = 33; /* prefixlen */
	assert_int_equal(parse(&u, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);
	/* IPv6 sockaddr in a 24-byte (IPv4-sized) address extension */
	tb_msg(&u, PFK_EXPIRE, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(&u, 0x1000, 0, 2, 12, 0);
	tb_lft(&u, PFK_EXT_LIFETIME_HARD, 0, 0, 60, 0);
	tb_ext(&u, PFK_EXT_ADDRESS_DST);
	tb_u8(&u, 255);
	tb_u8(&u, 128);
	tb_h16(&u, 0);
	tb_u8(&u, 28);
	tb_u8(&u, 28);
	tb_zero(&u, 14);
	tb_ext_end(&u);
	tb_done(&u);
	assert_int_equal(parse(&u, &m), 0);
	assert_int_equal(pfk_parse_event(FBSD, &m, &ev, NULL), -EBADMSG);

	/* key extension claiming more bits than it holds */
	tb_msg(&u, PFK_GET, 0, PFK_SATYPE_ESP, 0, 0);
	tb_sa(&u, 0x1000, 0, 2, 12, 0);
	tb_addr(&u, PFK_EXT_ADDRESS_DST, "198.51.100.2", 255, 32, 0);
	tb_ext(&u, PFK_EXT_KEY_ENCRYPT);
	tb_h16(&u, 256);
	tb_h16(&u, 0);
	tb_zero(&u, 16);
	tb_ext_end(&u);
	tb_done(&u);
	assert_int_equal(parse(&u, &m), 0);
	{
		struct ksa sa;

		assert_int_equal(pfk_parse_sa(FBSD, &m, &sa, NULL), -EBADMSG);
	}

	/* policy requests: length not a multiple of 8, shorter than the
	 * request header, longer than what is left */
	for (int bad = 0; bad < 3; bad++) {
		static const uint16_t lens[] = {12, 4, 64};
		struct kpolicy p;
		uint32_t kid;

		tb_msg(&u, PFK_X_SPDDUMP, 0, 0, 0, 0);
		tb_addr(&u, PFK_EXT_ADDRESS_SRC, "0.0.0.0", 255, 0, 0);
		tb_addr(&u, PFK_EXT_ADDRESS_DST, "0.0.0.0", 255, 0, 0);
		tb_xpol(&u, PFK_POLICY_IPSEC, PFK_DIR_OUTBOUND, 9, 0);
		tb_h16(&u, lens[bad]);
		tb_h16(&u, IPPROTO_ESP);
		tb_u8(&u, PFK_MODE_TRANSPORT);
		tb_u8(&u, PFK_LEVEL_REQUIRE);
		tb_h16(&u, 0);
		tb_ext_end(&u);
		tb_done(&u);
		assert_int_equal(parse(&u, &m), 0);
		assert_int_equal(pfk_parse_policy(FBSD, &m, &p, &kid),
				 -EBADMSG);
	}
}

/* ---- backend ------------------------------------------------------------ */

static void test_backend_open_fails_cleanly(void **state)
{
	struct kernel k;
	int rc;

	(void)state;
	assert_non_null(kernel_backend("pfkey"));
	rc = k_open(&k, "pfkey", K_OPEN_EVENTS);
	if (rc == 0) {
		/* a kernel with PF_KEY: at least it must close cleanly */
		k_close(&k);
		skip();
	}
	assert_true(rc < 0);
	assert_null(k.ops);
	assert_non_null(strstr(k.last_error, "PF_KEY"));
}

static void test_flavors(void **state)
{
	(void)state;
	assert_null(pfk_flavor((enum pfk_os)0));
	assert_non_null(pfk_flavor_native());
	assert_int_equal(FBSD->af_inet6, 28);
	assert_int_equal(NBSD->af_inet6, 24);
	assert_int_equal(LNX->af_inet6, 10);
	assert_int_equal(pfk_satype(IPPROTO_ESP), 3);
	assert_int_equal(pfk_satype(IPPROTO_UDP), 0);
	assert_int_equal(pfk_ipproto(PFK_SATYPE_IPCOMP), IPPROTO_COMP);
	assert_true(pfk_tag_owned(PFK_TAG_BASE));
	assert_false(pfk_tag_owned(PFK_TAG_BASE + PFK_TAG_SPAN));
	/* the tag must stay below 2^31 (32-bit time_t kernels) */
	assert_true(PFK_TAG_BASE + PFK_TAG_SPAN <= 0x80000000u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flavors),
	    cmocka_unit_test(test_getspi_bytes),
	    cmocka_unit_test(test_delete_netbsd_v6_bytes),
	    cmocka_unit_test(test_spdadd_tunnel_bytes),
	    cmocka_unit_test(test_spdadd_linux_isr),
	    cmocka_unit_test(test_sa_add_cbc_layout),
	    cmocka_unit_test(test_sa_add_gcm_natt_layout),
	    cmocka_unit_test(test_sa_v6_sockaddrs),
	    cmocka_unit_test(test_small_messages_bytes),
	    cmocka_unit_test(test_spddelete_by_selector),
	    cmocka_unit_test(test_build_rejects),
	    cmocka_unit_test(test_sa_roundtrip),
	    cmocka_unit_test(test_policy_roundtrip),
	    cmocka_unit_test(test_decode_acquire),
	    cmocka_unit_test(test_decode_expire),
	    cmocka_unit_test(test_decode_spdexpire_and_dump),
	    cmocka_unit_test(test_decode_linux_migrate_mapping),
	    cmocka_unit_test(test_decode_replies),
	    cmocka_unit_test(test_migrate_bytes),
	    cmocka_unit_test(test_migrate_malformed),
	    cmocka_unit_test(test_ah_ipcomp_bytes),
	    cmocka_unit_test(test_ipcomp_roundtrip_rejects),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_backend_open_fails_cleanly),
	};

	log_init("test_pfkey", LOG_TO_STDERR, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, setup, NULL);
}
