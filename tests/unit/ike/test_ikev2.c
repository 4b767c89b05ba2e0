/*
 * test_ikev2.c - src/ike/codec: every payload's builder/parser round
 * trip, the SK payload with each cipher family, the generic chain rules
 * (one malformed case per rule), proposal selection and TS narrowing
 * tables, and key derivation / PSK AUTH / NAT-D against values computed
 * independently by gen_vectors.py (RFC 7296 §2.13-§2.18, §2.15, §2.23).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "ike/codec/ikev2.h"

#include "ike_vectors.h"

#define SPI_I 0x0102030405060708ull
#define SPI_R 0x1112131415161718ull

static const uint8_t ni[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
			       11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
			       22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static uint8_t nr[32], gir[256];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++)
		nr[i] = (uint8_t)(32 + i);
	for (int i = 0; i < 256; i++)
		gir[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

static struct ikev2_hdr hdr(uint8_t exch, uint8_t flags, uint32_t mid)
{
	struct ikev2_hdr h = {.spi_i = SPI_I,
			      .spi_r = SPI_R,
			      .version = IKEV2_VERSION,
			      .exch = exch,
			      .flags = flags,
			      .msgid = mid};
	return h;
}

static void ike_prefs(struct ikev2_prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->proto = IKEV2_PROTO_IKE;
	p->n_encr = 2;
	p->encr[0].id = IKEV2_ENCR_AES_GCM_16;
	p->encr[0].keybits = 256;
	p->encr[1].id = IKEV2_ENCR_AES_CBC;
	p->encr[1].keybits = 128;
	p->n_prf = 2;
	p->prf[0] = IKEV2_PRF_HMAC_SHA2_256;
	p->prf[1] = IKEV2_PRF_HMAC_SHA1;
	p->n_integ = 1;
	p->integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	p->n_dh = 2;
	p->dh[0] = IKEV2_DH_ECP256;
	p->dh[1] = IKEV2_DH_MODP2048;
}

/* An IKE_SA_INIT request with every payload that exchange allows. */
static void build_init(uint8_t **pkt, size_t *len)
{
	struct ikev2_hdr h =
	    hdr(IKEV2_EXCH_IKE_SA_INIT, IKEV2_FLAG_INITIATOR, 0);
	struct ikev2_prefs p;
	struct ikev2_sa sa;
	struct ikev2_wr b;
	uint8_t ke[64], natd[20];
	uint8_t spi[4] = {0xde, 0xad, 0xbe, 0xef};
	struct ikev2_notify n = {.proto = IKEV2_PROTO_ESP,
				 .spi_len = 4,
				 .spi = spi,
				 .type = IKEV2_N_REKEY_SA};
	struct ikev2_cert cr = {.encoding = 4, .data = natd, .len = 20};

	h.spi_r = 0;
	memset(ke, 0x33, sizeof(ke));
	memset(natd, 0x44, sizeof(natd));
	ike_prefs(&p);
	assert_int_equal(ikev2_sa_build(&p, NULL, 0, &sa), 0);
	assert_int_equal(ikev2_wr_begin(&b, &h), 0);
	ikev2_put_sa(&b, &sa);
	ikev2_put_ke(&b, IKEV2_DH_ECP256, ke, sizeof(ke));
	ikev2_put_nonce(&b, ni, sizeof(ni));
	ikev2_put_notify_simple(&b, IKEV2_N_NAT_DETECTION_SOURCE_IP, natd, 20);
	ikev2_put_notify(&b, &n);
	ikev2_put_vendor(&b, "racoon2", 7);
	ikev2_put_cert(&b, IKEV2_PL_CERTREQ, &cr);
	assert_int_equal(ikev2_wr_finish(&b, pkt, len), 0);
}

/*
 * IPCOMP_SUPPORTED (RFC 7296 §2.22, §3.10.1): CPI (2) + transform ID (1)
 * round trip; malformed data (0-2 octets, an SPI, a CPI outside RFC 3173
 * §3.3's 256-61439) is skipped and counted; a transform we do not do is
 * skipped without being an error; the choice follows our order.
 */
static void test_ipcomp_notify(void **state)
{
	struct ikev2_hdr h =
	    hdr(IKEV2_EXCH_IKE_SA_INIT, IKEV2_FLAG_RESPONSE, 0);
	static const uint8_t short1[1] = {0x12}, short2[2] = {0x12, 0x34},
			     cpi_low[3] = {0x00, 0xff, IKEV2_IPCOMP_DEFLATE},
			     cpi_high[3] = {0xf0, 0x00, IKEV2_IPCOMP_DEFLATE},
			     with_attr[5] = {0x23, 0x45, IKEV2_IPCOMP_DEFLATE,
					     0xaa, 0xbb};
	uint8_t spi[4] = {1, 2, 3, 4};
	struct ikev2_notify n_spi = {.proto = IKEV2_PROTO_ESP,
				     .spi_len = 4,
				     .spi = spi,
				     .type = IKEV2_N_IPCOMP_SUPPORTED,
				     .data = with_attr,
				     .len = 3};
	struct ikev2_ipcomp lzs = {.cpi = 0x1000, .xform = IKEV2_IPCOMP_LZS},
			    defl = {.cpi = 0x2345,
				    .xform = IKEV2_IPCOMP_DEFLATE},
			    got;
	static const uint8_t want_defl[1] = {IKEV2_IPCOMP_DEFLATE},
			     want_both[2] = {IKEV2_IPCOMP_LZS,
					     IKEV2_IPCOMP_DEFLATE},
			     want_oui[1] = {IKEV2_IPCOMP_OUI};
	struct ikev2_notify n;
	struct ikev2_wr b;
	struct ike_msg m;
	uint8_t *pkt;
	size_t len;
	unsigned bad;
	int i;

	(void)state;
	h.spi_r = 0;
	assert_int_equal(ikev2_wr_begin(&b, &h), 0);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, NULL, 0);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, short1, 1);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, short2, 2);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, cpi_low, 3);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, cpi_high, 3);
	ikev2_put_notify(&b, &n_spi);
	ikev2_put_ipcomp(&b, &lzs);
	ikev2_put_notify_simple(&b, IKEV2_N_IPCOMP_SUPPORTED, with_attr, 5);
	ikev2_put_ipcomp(&b, &defl);
	/* an error response: the codec needs no SA/KE/Ni (msg.c) */
	ikev2_put_notify_simple(&b, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
	assert_int_equal(m.npl, 10);

	/* the builder's bytes: CPI big-endian, then the transform */
	i = ikev2_msg_next(&m, IKEV2_PL_N, 5);
	assert_int_equal(ikev2_get_notify(&m.pl[i], &n), 0);
	assert_int_equal(n.proto, 0);
	assert_int_equal(n.spi_len, 0);
	assert_int_equal(n.len, 3);
	assert_int_equal(n.data[0], 0x10);
	assert_int_equal(n.data[1], 0x00);
	assert_int_equal(n.data[2], IKEV2_IPCOMP_LZS);
	assert_int_equal(ikev2_get_ipcomp(&n, &got), 0);
	assert_int_equal(got.cpi, 0x1000);
	assert_int_equal(got.xform, IKEV2_IPCOMP_LZS);
	/* each malformed one alone */
	for (i = 0; i < 6; i++) {
		assert_int_equal(ikev2_get_notify(&m.pl[i], &n), 0);
		assert_int_equal(ikev2_get_ipcomp(&n, &got),
				 IKEV2_N_INVALID_SYNTAX);
	}
	/* another notify type is not IPComp */
	n.type = IKEV2_N_USE_TRANSPORT_MODE;
	n.spi_len = 0;
	n.data = with_attr;
	n.len = 3;
	assert_int_equal(ikev2_get_ipcomp(&n, &got), IKEV2_N_INVALID_SYNTAX);

	/* DEFLATE wanted: the first well-formed DEFLATE (with its
	 * attributes ignored), the six malformed ones counted */
	assert_true(ikev2_ipcomp_choose(&m, want_defl, 1, &got, &bad));
	assert_int_equal(got.cpi, 0x2345);
	assert_int_equal(got.xform, IKEV2_IPCOMP_DEFLATE);
	assert_int_equal(bad, 6);
	/* our order decides: LZS first */
	assert_true(ikev2_ipcomp_choose(&m, want_both, 2, &got, NULL));
	assert_int_equal(got.xform, IKEV2_IPCOMP_LZS);
	assert_int_equal(got.cpi, 0x1000);
	/* nothing we do offered: no IPComp, not an error */
	assert_false(ikev2_ipcomp_choose(&m, want_oui, 1, &got, &bad));
	assert_false(ikev2_ipcomp_choose(&m, want_oui, 0, &got, &bad));
	free(pkt);
}

static void test_init_roundtrip(void **state)
{
	struct ike_msg m;
	uint8_t *pkt;
	size_t len;
	struct ikev2_sa sa;
	struct ikev2_ke ke;
	struct ikev2_nonce no;
	struct ikev2_notify n;
	struct ikev2_vendor v;
	struct ikev2_cert cr;
	char sum[256];

	(void)state;
	build_init(&pkt, &len);
	assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
	assert_int_equal(m.hdr.spi_i, SPI_I);
	assert_int_equal(m.hdr.spi_r, 0);
	assert_int_equal(m.hdr.exch, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_INITIATOR);
	assert_int_equal(m.hdr.version, 0x20);
	assert_int_equal(m.hdr.length, len);
	assert_int_equal(m.npl, 7);
	assert_int_equal(m.sk_index, -1);
	assert_string_equal(ikev2_msg_summary(&m, sum, sizeof(sum)),
			    "[ SA KE No N(NAT_DETECTION_SOURCE_IP) "
			    "N(REKEY_SA) V CERTREQ ]");

	assert_int_equal(ikev2_get_sa(ikev2_msg_find(&m, IKEV2_PL_SA), &sa), 0);
	/* AEAD and non-AEAD in separate proposals (RFC 7296 §3.3) */
	assert_int_equal(sa.nprop, 2);
	assert_int_equal(sa.prop[0].num, 1);
	assert_int_equal(sa.prop[0].proto, IKEV2_PROTO_IKE);
	assert_int_equal(sa.prop[0].spi_len, 0);
	assert_int_equal(sa.prop[0].nxf, 5); /* GCM, 2 PRF, 2 DH */
	assert_int_equal(sa.prop[0].xf[0].type, IKEV2_XF_ENCR);
	assert_int_equal(sa.prop[0].xf[0].id, IKEV2_ENCR_AES_GCM_16);
	assert_int_equal(sa.prop[0].xf[0].keylen, 256);
	assert_int_equal(sa.prop[1].num, 2);
	assert_int_equal(sa.prop[1].nxf, 6); /* CBC, 2 PRF, INTEG, 2 DH */
	assert_int_equal(sa.prop[1].xf[3].type, IKEV2_XF_INTEG);

	assert_int_equal(ikev2_get_ke(ikev2_msg_find(&m, IKEV2_PL_KE), &ke), 0);
	assert_int_equal(ke.group, IKEV2_DH_ECP256);
	assert_int_equal(ke.len, 64);
	assert_int_equal(ke.data[63], 0x33);

	assert_int_equal(
	    ikev2_get_nonce(ikev2_msg_find(&m, IKEV2_PL_NONCE), &no), 0);
	assert_int_equal(no.len, 32);
	assert_memory_equal(no.data, ni, 32);

	assert_true(
	    ikev2_msg_find_notify(&m, IKEV2_N_NAT_DETECTION_SOURCE_IP, &n));
	assert_int_equal(n.len, 20);
	assert_int_equal(n.spi_len, 0);
	assert_true(ikev2_msg_find_notify(&m, IKEV2_N_REKEY_SA, &n));
	assert_int_equal(n.proto, IKEV2_PROTO_ESP);
	assert_int_equal(n.spi_len, 4);
	assert_int_equal(n.spi[0], 0xde);
	assert_int_equal(n.len, 0);
	assert_false(ikev2_msg_find_notify(&m, IKEV2_N_COOKIE, NULL));

	assert_int_equal(ikev2_get_vendor(ikev2_msg_find(&m, IKEV2_PL_V), &v),
			 0);
	assert_int_equal(v.len, 7);
	assert_memory_equal(v.data, "racoon2", 7);
	assert_int_equal(
	    ikev2_get_cert(ikev2_msg_find(&m, IKEV2_PL_CERTREQ), &cr), 0);
	assert_int_equal(cr.encoding, 4);
	assert_int_equal(cr.len, 20);
	/* wrong-type decoder */
	assert_int_equal(ikev2_get_ke(ikev2_msg_find(&m, IKEV2_PL_SA), &ke),
			 IKEV2_N_INVALID_SYNTAX);
	free(pkt);
}

/* ---- SK ---- */

struct suite_case {
	uint16_t encr, keybits, integ;
};

static void sk_pair(const struct suite_case *c, struct ikev2_sk_ctx *out,
		    struct ikev2_sk_ctx *in)
{
	uint8_t ek[CRYPTO_MAX_KEY], ak[CRYPTO_MAX_KEY];
	size_t el = crypto_encr_keymat_len(c->encr, c->keybits);
	const struct crypto_integ_alg *ia = crypto_integ_lookup(c->integ);
	size_t al = ia ? ia->key_len : 0;

	assert_true(el > 0);
	for (size_t i = 0; i < sizeof(ek); i++) {
		ek[i] = (uint8_t)(i + 1);
		ak[i] = (uint8_t)(0x80 + i);
	}
	assert_int_equal(
	    ikev2_sk_init(out, c->encr, c->integ, ek, el, ak, al, true), 0);
	assert_int_equal(
	    ikev2_sk_init(in, c->encr, c->integ, ek, el, ak, al, false), 0);
}

static void build_auth(struct ikev2_sk_ctx *sk, uint8_t **pkt, size_t *len)
{
	struct ikev2_hdr h = hdr(IKEV2_EXCH_IKE_AUTH, IKEV2_FLAG_INITIATOR, 1);
	struct ikev2_wr b;
	struct ikev2_id id = {.type = IKEV2_ID_FQDN,
			      .data = (const uint8_t *)"left.example",
			      .len = 12};
	uint8_t authv[32], cert[100];
	struct ikev2_cert c = {.encoding = 4, .data = cert, .len = 100};
	struct ikev2_prefs p;
	struct ikev2_sa sa;
	uint8_t spi[4] = {1, 2, 3, 4};
	struct ikev2_ts_list tsi, tsr;
	uint8_t a4[4] = {198, 51, 100, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint8_t ip4[4] = {0};
	struct ikev2_cp cp = {.type = IKEV2_CFG_REQUEST, .nattr = 2};

	cp.attr[0].type = 1; /* INTERNAL_IP4_ADDRESS */
	cp.attr[0].data = ip4;
	cp.attr[0].len = 0;
	cp.attr[1].type = 3; /* INTERNAL_IP4_DNS */
	cp.attr[1].len = 4;
	cp.attr[1].data = ip4;
	memset(authv, 0xa5, sizeof(authv));
	memset(cert, 0xc5, sizeof(cert));
	memset(&p, 0, sizeof(p));
	p.proto = IKEV2_PROTO_ESP;
	p.n_encr = 1;
	p.encr[0].id = IKEV2_ENCR_AES_CBC;
	p.n_integ = 1;
	p.integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	assert_int_equal(ikev2_sa_build(&p, spi, 4, &sa), 0);
	tsi.n = 1;
	assert_int_equal(
	    ikev2_ts_from_prefix(&tsi.ts[0], AF_INET, a4, 24, 0, 0), 0);
	tsr.n = 2;
	assert_int_equal(
	    ikev2_ts_from_prefix(&tsr.ts[0], AF_INET, a4, 32, 6, 80), 0);
	assert_int_equal(
	    ikev2_ts_from_prefix(&tsr.ts[1], AF_INET6, a6, 32, 0, 0), 0);

	assert_int_equal(ikev2_wr_begin(&b, &h), 0);
	assert_int_equal(ikev2_sk_begin(&b, sk), 0);
	ikev2_put_id(&b, IKEV2_PL_IDi, &id);
	ikev2_put_cert(&b, IKEV2_PL_CERT, &c);
	ikev2_put_notify_simple(&b, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	ikev2_put_auth(&b, IKEV2_AUTH_PSK, authv, sizeof(authv));
	ikev2_put_cp(&b, &cp);
	ikev2_put_sa(&b, &sa);
	ikev2_put_ts(&b, IKEV2_PL_TSi, &tsi);
	ikev2_put_ts(&b, IKEV2_PL_TSr, &tsr);
	assert_int_equal(ikev2_sk_end(&b), 0);
	assert_int_equal(ikev2_wr_finish(&b, pkt, len), 0);
}

static void check_auth(const struct ike_msg *m)
{
	struct ikev2_id id;
	struct ikev2_auth au;
	struct ikev2_cert c;
	struct ikev2_cp cp;
	struct ikev2_sa sa;
	struct ikev2_ts_list ts;
	char sum[256];

	assert_string_equal(
	    ikev2_msg_summary(m, sum, sizeof(sum)),
	    "[ IDi CERT N(INITIAL_CONTACT) AUTH CP SA TSi TSr ]");
	assert_int_equal(ikev2_get_id(ikev2_msg_find(m, IKEV2_PL_IDi), &id), 0);
	assert_int_equal(id.type, IKEV2_ID_FQDN);
	assert_int_equal(id.len, 12);
	assert_memory_equal(id.data, "left.example", 12);
	assert_int_equal(id.body_len, 16);
	assert_int_equal(id.body[0], IKEV2_ID_FQDN);
	assert_int_equal(ikev2_get_auth(ikev2_msg_find(m, IKEV2_PL_AUTH), &au),
			 0);
	assert_int_equal(au.method, IKEV2_AUTH_PSK);
	assert_int_equal(au.len, 32);
	assert_int_equal(ikev2_get_cert(ikev2_msg_find(m, IKEV2_PL_CERT), &c),
			 0);
	assert_int_equal(c.len, 100);
	assert_int_equal(c.data[99], 0xc5);
	assert_int_equal(ikev2_get_cp(ikev2_msg_find(m, IKEV2_PL_CP), &cp), 0);
	assert_int_equal(cp.type, IKEV2_CFG_REQUEST);
	assert_int_equal(cp.nattr, 2);
	assert_int_equal(cp.attr[1].type, 3);
	assert_int_equal(cp.attr[1].len, 4);
	assert_int_equal(ikev2_get_sa(ikev2_msg_find(m, IKEV2_PL_SA), &sa), 0);
	assert_int_equal(sa.nprop, 1);
	assert_int_equal(sa.prop[0].proto, IKEV2_PROTO_ESP);
	assert_int_equal(sa.prop[0].spi_len, 4);
	assert_int_equal(sa.prop[0].spi[3], 4);
	/* AES 256/192/128, INTEG, ESN(no) */
	assert_int_equal(sa.prop[0].nxf, 5);
	assert_int_equal(sa.prop[0].xf[4].type, IKEV2_XF_ESN);
	assert_int_equal(ikev2_get_ts(ikev2_msg_find(m, IKEV2_PL_TSr), &ts), 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.ts[0].type, IKEV2_TS_IPV4_ADDR_RANGE);
	assert_int_equal(ts.ts[0].proto, 6);
	assert_int_equal(ts.ts[0].sport, 80);
	assert_int_equal(ts.ts[0].eport, 80);
	assert_int_equal(ts.ts[1].type, IKEV2_TS_IPV6_ADDR_RANGE);
	assert_int_equal(ts.ts[1].end[4], 0xff);
	assert_int_equal(ts.ts[1].end[3], 0xb8);
}

static void test_sk_roundtrip(void **state)
{
	static const struct suite_case cases[] = {
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128},
	    {IKEV2_ENCR_AES_CBC, 256, IKEV2_INTEG_HMAC_SHA2_512_256},
	    {IKEV2_ENCR_AES_CTR, 192, IKEV2_INTEG_AES_XCBC_96},
	    {IKEV2_ENCR_3DES, 0, IKEV2_INTEG_HMAC_SHA1_96},
	    {IKEV2_ENCR_AES_GCM_16, 256, 0},
	    {IKEV2_ENCR_AES_GCM_8, 128, 0},
	    {IKEV2_ENCR_CHACHA20_POLY1305, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ikev2_sk_ctx out, in;
		struct ike_msg m;
		uint8_t *pkt, plain[2048];
		size_t len;

		sk_pair(&cases[i], &out, &in);
		build_auth(&out, &pkt, &len);
		assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
		assert_int_equal(m.npl, 1);
		assert_int_equal(m.sk_index, 0);
		assert_int_equal(m.sk_first, IKEV2_PL_IDi);
		/* no plaintext leaks: the ID string is not visible */
		assert_null(memmem(pkt, len, "left.example", 12));
		assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
				 0);
		check_auth(&m);
		/* opening twice is refused */
		assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
				 -EINVAL);
		/* any flipped bit (header, IV, ciphertext, ICV) is caught */
		for (size_t off = 0; off < len; off += 7) {
			int rc;

			pkt[off] ^= 0x01;
			rc = ikev2_msg_parse(pkt, len, &m);
			if (rc == 0)
				rc = ikev2_sk_open(&in, &m, plain,
						   sizeof(plain));
			assert_int_not_equal(rc, 0);
			pkt[off] ^= 0x01;
		}
		/* small plaintext buffer */
		assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
		assert_int_equal(ikev2_sk_open(&in, &m, plain, 16), -EINVAL);
		free(pkt);
		/* a second message under the same contexts (new IV) */
		build_auth(&out, &pkt, &len);
		assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
		assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
				 0);
		free(pkt);
		ikev2_sk_free(&out);
		ikev2_sk_free(&in);
	}
}

/* The SK contexts hold keys only; sealing and opening key the thread's
 * OpenSSL contexts per message (sk.c).  Many SAs' contexts used in turn,
 * with different keys and algorithms, each open only their own messages,
 * and none holds an OpenSSL object (a copy works as well). */
static void test_sk_interleaved(void **state)
{
	static const struct suite_case cases[] = {
	    {IKEV2_ENCR_AES_GCM_16, 256, 0},
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128},
	    {IKEV2_ENCR_AES_GCM_16, 256, 0},
	    {IKEV2_ENCR_AES_CTR, 192, IKEV2_INTEG_AES_XCBC_96},
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128},
	    {IKEV2_ENCR_CHACHA20_POLY1305, 0, 0},
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct ikev2_sk_ctx out[N], in[N], copy;
	uint8_t *pkt[N], plain[2048];
	size_t len[N];
	struct ike_msg m;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		sk_pair(&cases[i], &out[i], &in[i]);
		/* another key for each SA: the last octet of SK_e and SK_a */
		out[i].ekey[out[i].elen - 1] ^= (uint8_t)(i + 1);
		in[i].ekey[in[i].elen - 1] ^= (uint8_t)(i + 1);
		out[i].akey[0] ^= (uint8_t)(i + 1);
		in[i].akey[0] ^= (uint8_t)(i + 1);
	}
	for (size_t i = 0; i < N; i++)
		build_auth(&out[i], &pkt[i], &len[i]);
	for (size_t r = 0; r < N; r++) {
		size_t i = N - 1 - r; /* opened in the other order */

		assert_int_equal(ikev2_msg_parse(pkt[i], len[i], &m), 0);
		copy = in[i];
		assert_int_equal(ikev2_sk_open(&copy, &m, plain, sizeof(plain)),
				 0);
		check_auth(&m);
		/* the same algorithm under the other SA's key fails */
		for (size_t j = 0; j < N; j++) {
			if (j == i || cases[j].encr != cases[i].encr ||
			    cases[j].keybits != cases[i].keybits)
				continue;
			assert_int_equal(ikev2_msg_parse(pkt[i], len[i], &m),
					 0);
			assert_int_not_equal(
			    ikev2_sk_open(&in[j], &m, plain, sizeof(plain)), 0);
		}
		free(pkt[i]);
	}
	for (size_t i = 0; i < N; i++) {
		ikev2_sk_free(&out[i]);
		ikev2_sk_free(&in[i]);
		/* freed: wiped, not keyed */
		assert_null(in[i].encr);
		assert_int_equal(in[i].ekey[0], 0);
	}
	ikev2_sk_thread_done();
	/* after the thread's contexts were freed they are made again */
	sk_pair(&cases[0], &out[0], &in[0]);
	build_auth(&out[0], &pkt[0], &len[0]);
	assert_int_equal(ikev2_msg_parse(pkt[0], len[0], &m), 0);
	assert_int_equal(ikev2_sk_open(&in[0], &m, plain, sizeof(plain)), 0);
	free(pkt[0]);
	ikev2_sk_free(&out[0]);
	ikev2_sk_free(&in[0]);
}

static void test_info_delete(void **state)
{
	struct suite_case c = {IKEV2_ENCR_AES_GCM_16, 128, 0};
	struct ikev2_sk_ctx out, in;
	struct ikev2_hdr h =
	    hdr(IKEV2_EXCH_INFORMATIONAL, IKEV2_FLAG_RESPONSE, 7);
	uint8_t spis[8] = {1, 2, 3, 4, 5, 6, 7, 8}, *pkt, plain[512];
	struct ikev2_delete d1 = {.proto = IKEV2_PROTO_IKE};
	struct ikev2_delete d2 = {
	    .proto = IKEV2_PROTO_ESP, .spi_len = 4, .nspi = 2, .spis = spis};
	struct ikev2_delete d;
	struct ikev2_wr b;
	struct ike_msg m;
	size_t len;
	int i;

	(void)state;
	sk_pair(&c, &out, &in);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	ikev2_put_delete(&b, &d1);
	ikev2_put_delete(&b, &d2);
	ikev2_sk_end(&b);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)), 0);
	i = ikev2_msg_next(&m, IKEV2_PL_D, -1);
	assert_true(i > 0);
	assert_int_equal(ikev2_get_delete(&m.pl[i], &d), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_IKE);
	assert_int_equal(d.nspi, 0);
	i = ikev2_msg_next(&m, IKEV2_PL_D, i);
	assert_int_equal(ikev2_get_delete(&m.pl[i], &d), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_ESP);
	assert_int_equal(d.nspi, 2);
	assert_int_equal(d.spis[7], 8);
	assert_int_equal(ikev2_msg_next(&m, IKEV2_PL_D, i), -1);
	free(pkt);

	/* empty INFORMATIONAL (liveness check, RFC 7296 §1.4) */
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	ikev2_sk_end(&b);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
	assert_int_equal(m.sk_first, IKEV2_PL_NONE);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)), 0);
	assert_int_equal(m.npl, 1);
	free(pkt);

	/* builder misuse: payload after SK, SK never closed */
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	ikev2_sk_end(&b);
	assert_int_not_equal(ikev2_put_vendor(&b, "x", 1), 0);
	assert_int_not_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	assert_null(pkt);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), -EINVAL);
	ikev2_sk_free(&out);
	ikev2_sk_free(&in);
}

/* ---- generic rules: malformed messages ---- */

/* A message from raw payloads: each entry type, flags, body. */
struct rawpl {
	uint8_t type, flags;
	const void *body;
	size_t len;
};

static size_t raw_msg(uint8_t exch, const struct rawpl *p, size_t n,
		      uint8_t *out)
{
	struct ikev2_hdr h = hdr(exch, IKEV2_FLAG_INITIATOR, 0);
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	ikev2_wr_begin(&b, &h);
	for (size_t i = 0; i < n; i++)
		ikev2_put_raw(&b, p[i].type, p[i].flags & IKEV2_CRITICAL,
			      p[i].body, p[i].len);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	memcpy(out, pkt, len);
	free(pkt);
	return len;
}

static void set_len(uint8_t *m, size_t len)
{
	m[24] = (uint8_t)(len >> 24);
	m[25] = (uint8_t)(len >> 16);
	m[26] = (uint8_t)(len >> 8);
	m[27] = (uint8_t)len;
}

/* A syntactically valid SA body: one IKE proposal, AES-CBC without its
 * Key Length (unusable at selection, fine for the chain rules). */
static const uint8_t sa_min[] = {
    0, 0, 0, 16, 1, 1, 0, 1, 0, 0, 0, 8, 1, 0, 0, 12,
};

/* The IKE_SA_INIT request of raw payload p plus whichever of SA, KE and
 * Ni (§1.2: all three required) p is not. */
static size_t init_with(const struct rawpl *p, uint8_t *out)
{
	static const uint8_t nonce[32], ke[8] = {0, 19, 0, 0, 1, 2, 3, 4};
	const struct rawpl req[3] = {{IKEV2_PL_SA, 0, sa_min, sizeof(sa_min)},
				     {IKEV2_PL_KE, 0, ke, 8},
				     {IKEV2_PL_NONCE, 0, nonce, 32}};
	struct rawpl all[4];
	size_t n = 0;

	all[n++] = *p;
	for (size_t i = 0; i < 3; i++)
		if (req[i].type != p->type)
			all[n++] = req[i];
	return raw_msg(IKEV2_EXCH_IKE_SA_INIT, all, n, out);
}

static void test_malformed(void **state)
{
	uint8_t buf[4096], nonce[32] = {0}, big[300] = {0};
	uint8_t ke[8] = {0, 19, 0, 0, 1, 2, 3, 4};
	uint8_t idb[8] = {2, 0, 0, 0, 'a', 'b', 'c', 'd'};
	struct rawpl ok[3] = {{IKEV2_PL_NONCE, 0, nonce, 32},
			      {IKEV2_PL_KE, 0, ke, 8},
			      {IKEV2_PL_SA, 0, sa_min, sizeof(sa_min)}};
	struct ike_msg m;
	size_t len;

	(void)state;
	len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, ok, 3, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	assert_int_equal(m.npl, 3);
	assert_int_equal(m.reject, IKEV2_REJ_NONE);

	/* §3.1: short header, length field mismatch */
	assert_int_equal(ikev2_msg_parse(buf, 20, &m), -EBADMSG);
	assert_int_equal(m.reject, IKEV2_REJ_SHORT);
	assert_int_equal(ikev2_msg_parse(buf, len - 1, &m), -EBADMSG);
	assert_int_equal(m.reject, IKEV2_REJ_LENGTH);
	/* §2.5: versions */
	buf[17] = 0x30;
	assert_int_equal(ikev2_msg_parse(buf, len, &m),
			 IKEV2_N_INVALID_MAJOR_VERSION);
	assert_int_equal(m.reject, IKEV2_REJ_VERSION);
	buf[17] = 0x10;
	assert_int_equal(ikev2_msg_parse(buf, len, &m), -EBADMSG);
	buf[17] = 0x21; /* minor versions are fine */
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	buf[17] = 0x20;
	/* §3.1: SPIi zero */
	memset(buf, 0, 8);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), -EBADMSG);
	assert_int_equal(m.reject, IKEV2_REJ_SPI_I);
	len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, ok, 3, buf);
	/* §3.2: payload length < 4 and beyond the message */
	buf[28 + 2] = 0;
	buf[28 + 3] = 3;
	assert_int_equal(ikev2_msg_parse(buf, len, &m), IKEV2_N_INVALID_SYNTAX);
	assert_int_equal(m.reject, IKEV2_REJ_GENHDR);
	buf[28 + 3] = 200;
	assert_int_equal(ikev2_msg_parse(buf, len, &m), IKEV2_N_INVALID_SYNTAX);
	len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, ok, 3, buf);
	/* §3.2: trailing garbage after the last payload */
	memset(buf + len, 0, 4);
	set_len(buf, len + 4);
	assert_int_equal(ikev2_msg_parse(buf, len + 4, &m),
			 IKEV2_N_INVALID_SYNTAX);
	assert_int_equal(m.reject, IKEV2_REJ_TRAILING);
	/* chain promises another payload but the message ends */
	len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, ok, 3, buf);
	buf[28 + 36 + 12] = IKEV2_PL_N; /* SA's Next Payload */
	assert_int_equal(ikev2_msg_parse(buf, len, &m), IKEV2_N_INVALID_SYNTAX);

	/* §2.5: unknown critical payload / unknown non-critical skipped */
	{
		struct rawpl p[4] = {
		    ok[0], {200, IKEV2_CRITICAL, "xx", 2}, ok[1], ok[2]};
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 4, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
		assert_int_equal(m.bad_critical, 200);
		assert_int_equal(m.reject, IKEV2_REJ_CRITICAL);
		p[1].flags = 0;
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 4, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
		assert_int_equal(m.npl, 3);
		assert_int_equal(m.pl[1].type, IKEV2_PL_KE);
		/* critical bit on a known payload is ignored (§3.2) */
		p[1] = ok[1];
		p[1].flags = IKEV2_CRITICAL;
		p[2] = ok[2];
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 3, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	}
	/* repetition: two Nonces */
	{
		struct rawpl p[4] = {ok[0], ok[0], ok[1], ok[2]};
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 4, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_TOO_MANY);
		assert_int_equal(m.reject_pl, IKEV2_PL_NONCE);
	}
	/* placement: IDi in IKE_SA_INIT, SK in IKE_SA_INIT, bare Nonce
	 * outside SK in IKE_AUTH, SK not last */
	{
		struct rawpl p1[1] = {{IKEV2_PL_IDi, 0, idb, 8}};
		struct rawpl p2[1] = {{IKEV2_PL_SK, 0, big, 40}};
		struct rawpl p3[2] = {{IKEV2_PL_SK, 0, big, 40}, ok[0]};

		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p1, 1, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p2, 1, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
		len = raw_msg(IKEV2_EXCH_IKE_AUTH, ok, 1, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
		len = raw_msg(IKEV2_EXCH_IKE_AUTH, p2, 1, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
		len = raw_msg(IKEV2_EXCH_IKE_AUTH, p3, 2, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_SK_NOT_LAST);
	}
	/* minimum lengths / body syntax (§3.3-§3.13) */
	{
		static const uint8_t sa_badlen[] = {
		    0, 0, 0, 9, 1, 1, 0, 1, /* proposal len 9 > body */
		};
		static const uint8_t sa_badcount[] = {
		    0, 0, 0, 16, 1, 1, 0, 2,  /* says 2 transforms */
		    0, 0, 0, 8,	 1, 0, 0, 12, /* 1 transform, "last" */
		};
		static const uint8_t n_badspi[] = {3, 8, 0x40, 0, 1, 2};
		static const uint8_t d_ike_spi[] = {1, 4, 0, 1, 1, 2, 3, 4};
		static const uint8_t ts_badlen[] = {
		    1,	  0,	0, 0, 7, 0, 0, 15, 0, 0,
		    0xff, 0xff, 1, 2, 3, 4, 5, 6,  7,
		};
		static const uint8_t ts_zero[] = {0, 0, 0, 0};
		static const uint8_t id_v4_bad[] = {1, 0, 0, 0, 1, 2, 3};
		const struct {
			uint8_t exch, type;
			const void *body;
			size_t len;
			int want;
		} c[] = {
		    {34, IKEV2_PL_NONCE, nonce, 15, IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_NONCE, big, 257, IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_NONCE, big, 256, 0},
		    {34, IKEV2_PL_KE, ke, 3, IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_KE, ke, 4, IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_SA, sa_badlen, sizeof(sa_badlen),
		     IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_SA, sa_badcount, sizeof(sa_badcount),
		     IKEV2_N_INVALID_SYNTAX},
		    /* syntactically fine; unusable at selection */
		    {34, IKEV2_PL_SA, sa_min, sizeof(sa_min), 0},
		    {34, IKEV2_PL_N, n_badspi, sizeof(n_badspi),
		     IKEV2_N_INVALID_SYNTAX},
		    {34, IKEV2_PL_N, n_badspi, 3, IKEV2_N_INVALID_SYNTAX},
		    {37, IKEV2_PL_SK, big, 32, 0},
		    {34, IKEV2_PL_V, big, 0, 0},
		};
		const struct {
			uint8_t type;
			const void *body;
			size_t len;
		} inner[] = {
		    {IKEV2_PL_D, d_ike_spi, sizeof(d_ike_spi)},
		    {IKEV2_PL_TSi, ts_badlen, sizeof(ts_badlen)},
		    {IKEV2_PL_TSr, ts_zero, sizeof(ts_zero)},
		    {IKEV2_PL_IDi, id_v4_bad, sizeof(id_v4_bad)},
		    {IKEV2_PL_N, "ab", 2},
		};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			struct rawpl p = {c[i].type, 0, c[i].body, c[i].len};
			if (c[i].exch == IKEV2_EXCH_IKE_SA_INIT)
				len = init_with(&p, buf);
			else
				len = raw_msg(c[i].exch, &p, 1, buf);
			assert_int_equal(ikev2_msg_parse(buf, len, &m),
					 c[i].want);
		}
		/* inner chain rules through a real SK payload */
		for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
			struct suite_case sc = {IKEV2_ENCR_AES_CBC, 128,
						IKEV2_INTEG_HMAC_SHA1_96};
			struct ikev2_sk_ctx out, in;
			struct ikev2_hdr h = hdr(inner[i].type == IKEV2_PL_D
						     ? IKEV2_EXCH_INFORMATIONAL
						     : IKEV2_EXCH_IKE_AUTH,
						 0, 1);
			struct ikev2_wr b;
			uint8_t *pkt, plain[512];

			sk_pair(&sc, &out, &in);
			ikev2_wr_begin(&b, &h);
			ikev2_sk_begin(&b, &out);
			ikev2_put_raw(&b, inner[i].type, false, inner[i].body,
				      inner[i].len);
			ikev2_sk_end(&b);
			assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
			assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
			assert_int_equal(
			    ikev2_sk_open(&in, &m, plain, sizeof(plain)),
			    IKEV2_N_INVALID_SYNTAX);
			/* the body's syntax, before any exchange rule */
			assert_true(m.reject == IKEV2_REJ_BODY ||
				    m.reject == IKEV2_REJ_BODY_SHORT);
			assert_int_equal(m.reject_pl, inner[i].type);
			assert_true(m.reject_inner);
			free(pkt);
			ikev2_sk_free(&out);
			ikev2_sk_free(&in);
		}
	}
}

/* ---- the exchanges' payload rules (msg.c) ---- */

/* A protected message of exch/flags whose SK holds payloads p[n]; parse
 * and open it into *m.  Returns the open's result. */
static int sk_msg_cl(uint8_t exch, uint8_t flags, const struct rawpl *p,
		     size_t n, struct ike_msg *m, bool childless_ok);

static int sk_msg(uint8_t exch, uint8_t flags, const struct rawpl *p, size_t n,
		  struct ike_msg *m)
{
	return sk_msg_cl(exch, flags, p, n, m, true);
}

/* childless_ok: both announced CHILDLESS_IKEV2_SUPPORTED (RFC 6023). */
static int sk_msg_cl(uint8_t exch, uint8_t flags, const struct rawpl *p,
		     size_t n, struct ike_msg *m, bool childless_ok)
{
	static uint8_t plain[4096];
	struct suite_case sc = {IKEV2_ENCR_AES_CBC, 128,
				IKEV2_INTEG_HMAC_SHA1_96};
	struct ikev2_sk_ctx out, in;
	struct ikev2_hdr h = hdr(exch, flags, 1);
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;
	int rc;

	sk_pair(&sc, &out, &in);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	for (size_t i = 0; i < n; i++)
		ikev2_put_raw(&b, p[i].type, false, p[i].body, p[i].len);
	ikev2_sk_end(&b);
	assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(ikev2_msg_parse(pkt, len, m), 0);
	m->childless_ok = childless_ok;
	rc = ikev2_sk_open(&in, m, plain, sizeof(plain));
	free(pkt);
	ikev2_sk_free(&out);
	ikev2_sk_free(&in);
	return rc;
}

static void test_exchange_rules(void **state)
{
	static const uint8_t nonce[32], ke[8] = {0, 19, 0, 0, 1, 2, 3, 4};
	static const uint8_t idb[8] = {2, 0, 0, 0, 'a', 'b', 'c', 'd'};
	static const uint8_t authb[8] = {2, 0, 0, 0, 1, 2, 3, 4};
	static const uint8_t tsb[4 + 16] = {1,	0, 0,  0,    7,	   0,  0,
					    16, 0, 0,  0xff, 0xff, 10, 0,
					    0,	0, 10, 0,    0,	   255};
	static const uint8_t cpb[4] = {IKEV2_CFG_REQUEST, 0, 0, 0};
	/* Notify bodies: proto 0, SPI size 0, type */
	static const uint8_t n_cookie[8] = {0, 0, 0x40, 0x06, 1, 2, 3, 4};
	static const uint8_t n_natd[24] = {0, 0, 0x40, 0x04};
	static const uint8_t n_noprop[4] = {0, 0, 0, 14};
	static const uint8_t n_authfail[4] = {0, 0, 0, 24};
	static const uint8_t d_esp[8] = {3, 4, 0, 1, 1, 2, 3, 4};
	const struct rawpl SA = {IKEV2_PL_SA, 0, sa_min, sizeof(sa_min)},
			   KE = {IKEV2_PL_KE, 0, ke, 8},
			   NO = {IKEV2_PL_NONCE, 0, nonce, 32},
			   IDI = {IKEV2_PL_IDi, 0, idb, 8},
			   IDR = {IKEV2_PL_IDr, 0, idb, 8},
			   AUTH = {IKEV2_PL_AUTH, 0, authb, 8},
			   TSI = {IKEV2_PL_TSi, 0, tsb, sizeof(tsb)},
			   TSR = {IKEV2_PL_TSr, 0, tsb, sizeof(tsb)},
			   CP = {IKEV2_PL_CP, 0, cpb, 4},
			   D = {IKEV2_PL_D, 0, d_esp, 8},
			   COOKIE = {IKEV2_PL_N, 0, n_cookie, 8},
			   NATD = {IKEV2_PL_N, 0, n_natd, 24},
			   NOPROP = {IKEV2_PL_N, 0, n_noprop, 4},
			   AUTHFAIL = {IKEV2_PL_N, 0, n_authfail, 4};
	const uint8_t I = IKEV2_FLAG_INITIATOR, R = IKEV2_FLAG_RESPONSE;
	uint8_t buf[4096];
	char why[160];
	struct ike_msg m;
	size_t len;

	(void)state;
	/* IKE_SA_INIT (plain): SA, KE, Ni each exactly once (§1.2) */
	{
		struct rawpl p[3] = {SA, NO, NATD};
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 3, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(m.reject_pl, IKEV2_PL_KE);
		assert_false(m.reject_inner);
		assert_true(ikev2_reject_required(&m));
		assert_string_equal(
		    ikev2_reject_str(&m, why, sizeof(why)),
		    "KE payload missing from IKE_SA_INIT request");
	}
	{
		struct rawpl p[4] = {SA, KE, KE, NO};
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 4, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_TOO_MANY);
		assert_int_equal(m.reject_pl, IKEV2_PL_KE);
		assert_false(ikev2_reject_required(&m));
		assert_string_equal(ikev2_reject_str(&m, why, sizeof(why)),
				    "KE payload repeated in IKE_SA_INIT "
				    "request");
	}
	{
		struct rawpl p[4] = {SA, KE, NO, D};
		len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 4, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
		assert_int_equal(m.reject_pl, IKEV2_PL_D);
	}
	/* a response made of COOKIE or an error needs nothing else (§1.2,
	 * §2.6); a status notify alone is not such a response */
	{
		struct ikev2_hdr h = hdr(IKEV2_EXCH_IKE_SA_INIT, R, 0);
		const struct rawpl *one[3] = {&COOKIE, &NOPROP, &NATD};
		const int want[3] = {0, 0, IKEV2_N_INVALID_SYNTAX};

		for (int i = 0; i < 3; i++) {
			struct ikev2_wr b;
			uint8_t *pkt;
			ikev2_wr_begin(&b, &h);
			ikev2_put_raw(&b, IKEV2_PL_N, false, one[i]->body,
				      one[i]->len);
			assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
			assert_int_equal(ikev2_msg_parse(pkt, len, &m),
					 want[i]);
			free(pkt);
		}
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(m.reject_pl, IKEV2_PL_SA);
		assert_string_equal(
		    ikev2_reject_str(&m, why, sizeof(why)),
		    "SA payload missing from IKE_SA_INIT response");
		/* COOKIE waives nothing in a request */
		{
			struct rawpl p[1] = {COOKIE};
			len = raw_msg(IKEV2_EXCH_IKE_SA_INIT, p, 1, buf);
			assert_int_equal(ikev2_msg_parse(buf, len, &m),
					 IKEV2_N_INVALID_SYNTAX);
		}
	}
	/* IKE_AUTH request: IDi and AUTH; SA/TSi/TSr all or none */
	{
		struct rawpl full[5] = {IDI, AUTH, SA, TSI, TSR};
		struct rawpl noauth[4] = {IDI, SA, TSI, TSR};
		struct rawpl childless[3] = {IDI, AUTH, CP};
		struct rawpl half[4] = {IDI, AUTH, SA, TSI};

		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, I, full, 5, &m),
				 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_IKE_AUTH, I, childless, 3, &m), 0);
		/* RFC 6023 §3: only when both announced it; otherwise the
		 * CHILD SA is required (RFC 7296 §1.2) */
		assert_int_equal(
		    sk_msg_cl(IKEV2_EXCH_IKE_AUTH, I, childless, 3, &m, false),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_CHILDLESS);
		assert_string_equal(ikev2_reject_str(&m, why, sizeof(why)),
				    "IKE_AUTH request without a CHILD SA "
				    "(SA/TSi/TSr) while childless IKE SAs were "
				    "not negotiated (RFC 6023)");
		assert_int_equal(
		    sk_msg_cl(IKEV2_EXCH_IKE_AUTH, I, full, 5, &m, false), 0);
		/* the response follows the request: not the codec's call */
		{
			struct rawpl resp[2] = {IDR, AUTH};
			assert_int_equal(sk_msg_cl(IKEV2_EXCH_IKE_AUTH, R, resp,
						   2, &m, false),
					 0);
		}
		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, I, noauth, 4, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(m.reject_pl, IKEV2_PL_AUTH);
		assert_true(m.reject_inner);
		assert_string_equal(ikev2_reject_str(&m, why, sizeof(why)),
				    "AUTH payload missing from IKE_AUTH "
				    "request (inside SK)");
		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, I, half, 4, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_INCOMPLETE);
		assert_int_equal(m.reject_pl, IKEV2_PL_TSr);
		assert_true(ikev2_reject_required(&m));
	}
	/* IKE_AUTH response: IDr and AUTH unless refused with an error */
	{
		struct rawpl ok[2] = {IDR, AUTH};
		struct rawpl noidr[1] = {AUTH};
		struct rawpl refused[1] = {AUTHFAIL};
		struct rawpl two_cp[4] = {IDR, AUTH, CP, CP};

		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, R, ok, 2, &m), 0);
		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, R, refused, 1, &m),
				 0);
		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, R, noidr, 1, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(m.reject_pl, IKEV2_PL_IDr);
		assert_int_equal(sk_msg(IKEV2_EXCH_IKE_AUTH, R, two_cp, 4, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_TOO_MANY);
		assert_int_equal(m.reject_pl, IKEV2_PL_CP);
	}
	/* CREATE_CHILD_SA: SA and Nonce; KE optional; TSi/TSr together */
	{
		struct rawpl child[5] = {SA, NO, KE, TSI, TSR};
		struct rawpl ike_rekey[3] = {SA, NO, KE};
		struct rawpl nononce[3] = {SA, TSI, TSR};
		struct rawpl onets[3] = {SA, NO, TSR};
		struct rawpl refused[1] = {NOPROP};
		struct rawpl del[3] = {SA, NO, D};

		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, child, 5, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, ike_rekey, 3, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, R, child, 5, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, nononce, 3, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(m.reject_pl, IKEV2_PL_NONCE);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, R, nononce, 3, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_MISSING);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, onets, 3, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_INCOMPLETE);
		assert_int_equal(m.reject_pl, IKEV2_PL_TSi);
		/* an error response needs nothing else; a request does */
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, R, refused, 1, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, refused, 1, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_CREATE_CHILD_SA, I, del, 3, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
		assert_int_equal(m.reject_pl, IKEV2_PL_D);
	}
	/* INFORMATIONAL: everything optional; CP at most once; no SA */
	{
		struct rawpl dels[3] = {D, D, NATD};
		struct rawpl two_cp[2] = {CP, CP};
		struct rawpl sa[1] = {SA};

		assert_int_equal(
		    sk_msg(IKEV2_EXCH_INFORMATIONAL, I, NULL, 0, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_INFORMATIONAL, R, NULL, 0, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_INFORMATIONAL, I, dels, 3, &m), 0);
		assert_int_equal(
		    sk_msg(IKEV2_EXCH_INFORMATIONAL, I, two_cp, 2, &m),
		    IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_TOO_MANY);
		assert_int_equal(sk_msg(IKEV2_EXCH_INFORMATIONAL, R, sa, 1, &m),
				 IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(m.reject, IKEV2_REJ_NOT_ALLOWED);
	}
	/* the SK payload's own failures are recorded too */
	{
		struct suite_case sc = {IKEV2_ENCR_AES_CBC, 128,
					IKEV2_INTEG_HMAC_SHA1_96};
		struct ikev2_sk_ctx out, in;
		struct ikev2_hdr h = hdr(IKEV2_EXCH_INFORMATIONAL, I, 2);
		struct ikev2_wr b;
		uint8_t *pkt, plain[256];

		sk_pair(&sc, &out, &in);
		ikev2_wr_begin(&b, &h);
		ikev2_sk_begin(&b, &out);
		ikev2_sk_end(&b);
		assert_int_equal(ikev2_wr_finish(&b, &pkt, &len), 0);
		pkt[len - 1] ^= 1;
		assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
		assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
				 -EBADMSG);
		assert_int_equal(m.reject, IKEV2_REJ_ICV);
		assert_string_equal(ikev2_reject_str(&m, why, sizeof(why)),
				    "integrity check failed");
		free(pkt);
		ikev2_sk_free(&out);
		ikev2_sk_free(&in);
	}
	/* unknown exchanges are not restricted by the table */
	{
		struct rawpl p[2] = {D, D};
		len = raw_msg(40, p, 2, buf);
		assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	}
}

/* ---- one SPI pack/unpack, one lowest-nonce rule (§2.8.1, §2.8.2) ---- */

static void test_spi_and_nonce_helpers(void **state)
{
	static const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5},
			     ab[3] = {1, 2, 3};
	uint8_t p[8], out[8];

	(void)state;
	ikev2_spi32_put(p, 0xdeadbeef);
	assert_int_equal(p[0], 0xde);
	assert_int_equal(p[3], 0xef);
	assert_int_equal(ikev2_spi32_get(p), 0xdeadbeef);
	ikev2_spi64_put(p, 0x0102030405060708ull);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[7], 8);
	assert_true(ikev2_spi64_get(p) == 0x0102030405060708ull);

	/* order: memcmp, then the shorter (a prefix) first */
	assert_true(ikev2_nonce_cmp(a, 4, b, 4) < 0);
	assert_true(ikev2_nonce_cmp(b, 4, a, 4) > 0);
	assert_true(ikev2_nonce_cmp(ab, 3, a, 4) < 0);
	assert_true(ikev2_nonce_cmp(a, 4, ab, 3) > 0);
	assert_int_equal(ikev2_nonce_cmp(a, 4, a, 4), 0);
	/* the lower of Ni and Nr, whichever side it came from */
	assert_int_equal(ikev2_nonce_lowest(b, 4, a, 4, out, sizeof(out)), 4);
	assert_memory_equal(out, a, 4);
	assert_int_equal(ikev2_nonce_lowest(a, 4, b, 4, out, sizeof(out)), 4);
	assert_memory_equal(out, a, 4);
	assert_int_equal(ikev2_nonce_lowest(a, 4, ab, 3, out, sizeof(out)), 3);
	assert_int_equal(ikev2_nonce_lowest(a, 4, b, 4, out, 2), 0);
}

static void test_sk_padding_and_short(void **state)
{
	struct suite_case sc = {IKEV2_ENCR_AES_CBC, 128,
				IKEV2_INTEG_HMAC_SHA2_256_128};
	struct ikev2_sk_ctx out, in;
	uint8_t buf[256], plain[256];
	struct rawpl p = {IKEV2_PL_SK, 0, NULL, 0};
	struct ike_msg m;
	size_t len;

	(void)state;
	sk_pair(&sc, &out, &in);
	/* SK body shorter than IV + one block + ICV */
	memset(plain, 0, sizeof(plain));
	p.body = plain;
	p.len = 16 + 16;
	len = raw_msg(IKEV2_EXCH_IKE_AUTH, &p, 1, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
			 -EBADMSG);
	/* ciphertext not block aligned */
	p.len = 16 + 17 + 16;
	len = raw_msg(IKEV2_EXCH_IKE_AUTH, &p, 1, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)),
			 -EBADMSG);
	/* message without SK */
	len = raw_msg(IKEV2_EXCH_INFORMATIONAL, NULL, 0, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)), -ENOENT);
	ikev2_sk_free(&out);
	ikev2_sk_free(&in);
}

static void test_skf_recognised(void **state)
{
	uint8_t body[40] = {0, 1, 0, 2}, buf[256];
	struct rawpl p = {IKEV2_PL_SKF, 0, body, sizeof(body)};
	struct ike_msg m;
	size_t len;

	(void)state;
	len = raw_msg(IKEV2_EXCH_IKE_AUTH, &p, 1, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), 0);
	assert_true(m.skf);
	assert_int_equal(m.skf_num, 1);
	assert_int_equal(m.skf_total, 2);
	body[1] = 3; /* fragment 3 of 2 */
	len = raw_msg(IKEV2_EXCH_IKE_AUTH, &p, 1, buf);
	assert_int_equal(ikev2_msg_parse(buf, len, &m), IKEV2_N_INVALID_SYNTAX);
}

/* ---- proposals ---- */

static void add(struct ikev2_proposal *p, uint8_t type, uint16_t id,
		uint16_t kl)
{
	p->xf[p->nxf].type = type;
	p->xf[p->nxf].id = id;
	p->xf[p->nxf].keylen = kl;
	p->xf[p->nxf].bad_attr = false;
	p->nxf++;
}

static void test_proposal_select_ike(void **state)
{
	struct ikev2_prefs ours;
	struct ikev2_sa off, reply;
	struct ikev2_suite s, s2;

	(void)state;
	ike_prefs(&ours);
	/* our own offer is acceptable; AEAD proposal first */
	assert_int_equal(ikev2_sa_build(&ours, NULL, 0, &off), 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.num, 1);
	assert_int_equal(s.encr, IKEV2_ENCR_AES_GCM_16);
	assert_int_equal(s.encr_keybits, 256);
	assert_int_equal(s.integ, IKEV2_INTEG_NONE);
	assert_int_equal(s.prf, IKEV2_PRF_HMAC_SHA2_256);
	assert_int_equal(s.dh, IKEV2_DH_ECP256);
	/* the KE group is preferred when acceptable */
	assert_int_equal(ikev2_sa_select(&off, &ours, IKEV2_DH_MODP2048, &s),
			 0);
	assert_int_equal(s.dh, IKEV2_DH_MODP2048);
	/* initiator's check of the reply */
	assert_int_equal(ikev2_suite_to_sa(&s, NULL, 0, &reply), 0);
	assert_int_equal(ikev2_sa_check_reply(&off, &reply, &s2), 0);
	assert_int_equal(s2.encr, s.encr);
	assert_int_equal(s2.dh, IKEV2_DH_MODP2048);
	assert_int_equal(s2.prf, s.prf);

	/* responder only does CBC: picks proposal 2 */
	{
		struct ikev2_prefs cbc = ours;
		cbc.n_encr = 1;
		cbc.encr[0].id = IKEV2_ENCR_AES_CBC;
		cbc.encr[0].keybits = 128;
		assert_int_equal(ikev2_sa_select(&off, &cbc, 0, &s), 0);
		assert_int_equal(s.num, 2);
		assert_int_equal(s.encr, IKEV2_ENCR_AES_CBC);
		assert_int_equal(s.integ, IKEV2_INTEG_HMAC_SHA2_256_128);
		/* key length must match */
		cbc.encr[0].keybits = 256;
		assert_int_equal(ikev2_sa_select(&off, &cbc, 0, &s),
				 IKEV2_N_NO_PROPOSAL_CHOSEN);
	}
	/* no common DH */
	{
		struct ikev2_prefs d = ours;
		d.n_dh = 1;
		d.dh[0] = IKEV2_DH_CURVE25519;
		assert_int_equal(ikev2_sa_select(&off, &d, 0, &s),
				 IKEV2_N_NO_PROPOSAL_CHOSEN);
	}
	/* reply problems */
	{
		struct ikev2_sa bad = reply;
		bad.prop[0].xf[0].keylen = 128; /* not what proposal 1 had */
		assert_int_equal(ikev2_sa_check_reply(&off, &bad, &s2),
				 -EBADMSG);
		bad = reply;
		bad.prop[0].num = 3;
		assert_int_equal(ikev2_sa_check_reply(&off, &bad, &s2),
				 -EBADMSG);
		bad = reply;
		bad.nprop = 2;
		bad.prop[1] = bad.prop[0];
		assert_int_equal(ikev2_sa_check_reply(&off, &bad, &s2),
				 -EBADMSG);
		bad = reply;
		add(&bad.prop[0], IKEV2_XF_DH, IKEV2_DH_ECP256, 0); /* 2 DH */
		assert_int_equal(ikev2_sa_check_reply(&off, &bad, &s2),
				 -EBADMSG);
		bad = reply;
		bad.prop[0].nxf--; /* DH missing */
		assert_int_equal(ikev2_sa_check_reply(&off, &bad, &s2),
				 -EBADMSG);
	}
}

static void test_proposal_rules(void **state)
{
	struct ikev2_prefs ours;
	struct ikev2_sa off;
	struct ikev2_suite s;
	struct ikev2_proposal *p = &off.prop[0];

	(void)state;
	/* ESP, no PFS configured */
	memset(&ours, 0, sizeof(ours));
	ours.proto = IKEV2_PROTO_ESP;
	ours.n_encr = 2;
	ours.encr[0].id = IKEV2_ENCR_AES_CBC;
	ours.encr[1].id = IKEV2_ENCR_AES_GCM_16;
	ours.n_integ = 1;
	ours.integ[0] = IKEV2_INTEG_HMAC_SHA1_96;

	memset(&off, 0, sizeof(off));
	off.nprop = 1;
	p->num = 1;
	p->proto = IKEV2_PROTO_ESP;
	p->spi_len = 4;
	add(p, IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 192);
	add(p, IKEV2_XF_INTEG, IKEV2_INTEG_HMAC_SHA1_96, 0);
	add(p, IKEV2_XF_ESN, IKEV2_ESN_NO, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.encr_keybits, 192);
	assert_int_equal(s.dh, IKEV2_DH_NONE);
	assert_int_equal(s.esn, IKEV2_ESN_NO);
	assert_int_equal(s.spi_len, 4);

	/* peer wants PFS, we have none configured: refused */
	add(p, IKEV2_XF_DH, IKEV2_DH_MODP2048, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	/* ... unless it also offers NONE */
	add(p, IKEV2_XF_DH, IKEV2_DH_NONE, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.dh, IKEV2_DH_NONE);
	/* we need PFS (need_pfs): group chosen */
	ours.n_dh = 1;
	ours.dh[0] = IKEV2_DH_MODP2048;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.dh, IKEV2_DH_MODP2048);
	p->nxf -= 2; /* no DH offered, but we require it */
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	ours.n_dh = 0;

	/* ESN: peer only offers ESN, we have none configured */
	p->xf[2].id = IKEV2_ESN_YES;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	ours.n_esn = 2;
	ours.esn[0] = IKEV2_ESN_YES;
	ours.esn[1] = IKEV2_ESN_NO;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.esn, IKEV2_ESN_YES);

	/* unknown attribute on the only cipher: skipped (§3.3.6) */
	p->xf[0].bad_attr = true;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	p->xf[0].bad_attr = false;
	/* AES without Key Length is invalid (§3.3.5) */
	p->xf[0].keylen = 0;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);

	/* AEAD proposal: INTEG absent or NONE; a real INTEG rejects it */
	memset(p, 0, sizeof(*p));
	p->num = 1;
	p->proto = IKEV2_PROTO_ESP;
	p->spi_len = 4;
	add(p, IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 128);
	add(p, IKEV2_XF_ESN, IKEV2_ESN_NO, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.integ, IKEV2_INTEG_NONE);
	add(p, IKEV2_XF_INTEG, IKEV2_INTEG_NONE, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	p->xf[2].id = IKEV2_INTEG_HMAC_SHA1_96;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	/* wrong protocol */
	p->xf[2].id = IKEV2_INTEG_NONE;
	p->proto = IKEV2_PROTO_AH;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);

	/* IKE proposal without DH is not selectable */
	ike_prefs(&ours);
	memset(p, 0, sizeof(*p));
	p->num = 1;
	p->proto = IKEV2_PROTO_IKE;
	add(p, IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 128);
	add(p, IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA1, 0);
	add(p, IKEV2_XF_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	add(p, IKEV2_XF_DH, IKEV2_DH_MODP2048, 0);
	/* §3.3.6: an unknown transform type makes the proposal unacceptable */
	add(p, 77, 1, 0);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	p->nxf--;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.prf, IKEV2_PRF_HMAC_SHA1);

	/* ESP child suite round trip through the reply check */
	{
		struct ikev2_prefs e;
		struct ikev2_sa o2, r2;
		struct ikev2_suite a, b2;
		uint8_t spi[4] = {9, 9, 9, 9};

		memset(&e, 0, sizeof(e));
		e.proto = IKEV2_PROTO_ESP;
		e.n_encr = 1;
		e.encr[0].id = IKEV2_ENCR_CHACHA20_POLY1305;
		e.n_dh = 1;
		e.dh[0] = IKEV2_DH_CURVE25519;
		assert_int_equal(ikev2_sa_build(&e, spi, 4, &o2), 0);
		assert_int_equal(o2.nprop, 1);
		assert_int_equal(ikev2_sa_select(&o2, &e, 0, &a), 0);
		assert_int_equal(a.dh, IKEV2_DH_CURVE25519);
		assert_int_equal(a.encr_keybits, 256);
		assert_int_equal(ikev2_suite_to_sa(&a, spi, 4, &r2), 0);
		assert_int_equal(ikev2_sa_check_reply(&o2, &r2, &b2), 0);
		assert_int_equal(b2.encr, IKEV2_ENCR_CHACHA20_POLY1305);
		assert_int_equal(b2.spi[0], 9);
	}
	/* build errors */
	memset(&ours, 0, sizeof(ours));
	ours.proto = IKEV2_PROTO_IKE;
	assert_int_equal(ikev2_sa_build(&ours, NULL, 0, &off), -EINVAL);
}

/* ---- traffic selectors ---- */

static struct ikev2_ts ts4(const char *a, unsigned plen, uint8_t proto,
			   uint16_t port)
{
	struct ikev2_ts t;
	uint8_t b[4];

	assert_int_equal(inet_pton(AF_INET, a, b), 1);
	assert_int_equal(
	    ikev2_ts_from_prefix(&t, AF_INET, b, plen, proto, port), 0);
	return t;
}

/* RFC 7296 §3.3.3: an AH proposal (protocol 2) carries INTEG and ESN
 * (D-H optional), never ENCR or PRF; built, chosen, echoed and checked. */
static void test_proposal_ah(void **state)
{
	struct ikev2_prefs ours;
	struct ikev2_sa off, rep;
	struct ikev2_suite s, back;
	const uint8_t spi[4] = {0x11, 0x22, 0x33, 0x44};
	size_t keys_e = 9, keys_i = 0;

	(void)state;
	memset(&ours, 0, sizeof(ours));
	ours.proto = IKEV2_PROTO_AH;
	ours.n_integ = 2;
	ours.integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	ours.integ[1] = IKEV2_INTEG_HMAC_SHA1_96;
	ours.n_esn = 1;
	ours.esn[0] = IKEV2_ESN_YES;
	assert_int_equal(ikev2_sa_build(&ours, spi, 4, &off), 0);
	assert_int_equal(off.nprop, 1);
	assert_int_equal(off.prop[0].proto, IKEV2_PROTO_AH);
	assert_int_equal(off.prop[0].nxf, 3);
	for (unsigned i = 0; i < off.prop[0].nxf; i++)
		assert_true(off.prop[0].xf[i].type == IKEV2_XF_INTEG ||
			    off.prop[0].xf[i].type == IKEV2_XF_ESN);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s), 0);
	assert_int_equal(s.proto, IKEV2_PROTO_AH);
	assert_int_equal(s.encr, 0);
	assert_int_equal(s.integ, IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(s.esn, IKEV2_ESN_YES);
	assert_int_equal(ikev2_child_keymat_len(&s, &keys_e, &keys_i), 32);
	assert_int_equal(keys_e, 0);
	assert_int_equal(keys_i, 32);
	assert_int_equal(ikev2_suite_to_sa(&s, spi, 4, &rep), 0);
	assert_int_equal(rep.prop[0].nxf, 2); /* INTEG, ESN */
	assert_int_equal(ikev2_sa_check_reply(&off, &rep, &back), 0);
	assert_int_equal(back.integ, IKEV2_INTEG_HMAC_SHA2_256_128);
	/* an AH answer with an ENCR transform is refused */
	add(&rep.prop[0], IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 128);
	assert_int_equal(ikev2_sa_check_reply(&off, &rep, &back), -EBADMSG);
	/* an AH proposal with ENCR is not chosen; nor is ESP for AH */
	add(&off.prop[0], IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 128);
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	off.prop[0].nxf--;
	off.prop[0].proto = IKEV2_PROTO_ESP;
	assert_int_equal(ikev2_sa_select(&off, &ours, 0, &s),
			 IKEV2_N_NO_PROPOSAL_CHOSEN);
	/* no integrity configured: nothing to offer */
	ours.n_integ = 0;
	assert_int_equal(ikev2_sa_build(&ours, spi, 4, &off), -EINVAL);
}

static void test_ts_prefix(void **state)
{
	struct ikev2_ts t = ts4("198.51.100.77", 24, 0, 0), parts[40];
	uint8_t addr[16], a6[16];
	unsigned plen;
	int af, n;

	(void)state;
	assert_int_equal(t.start[3], 0);
	assert_int_equal(t.end[3], 255);
	assert_int_equal(t.sport, 0);
	assert_int_equal(t.eport, 65535);
	assert_int_equal(ikev2_ts_to_prefix(&t, &af, addr, &plen), 0);
	assert_int_equal(af, AF_INET);
	assert_int_equal(plen, 24);
	assert_int_equal(addr[2], 100);
	t.end[3] = 254;
	assert_int_equal(ikev2_ts_to_prefix(&t, &af, addr, &plen), -ERANGE);
	/* 198.51.100.1 - .6 = .1/32 .2/31 .4/31 .6/32 */
	t.start[3] = 1;
	t.end[3] = 6;
	n = ikev2_ts_split(&t, parts, 40);
	assert_int_equal(n, 4);
	assert_int_equal(parts[1].start[3], 2);
	assert_int_equal(parts[1].end[3], 3);
	assert_int_equal(parts[3].start[3], 6);
	assert_int_equal(ikev2_ts_split(&t, parts, 2), -ENOSPC);
	/* the whole IPv6 space is one block; a full-range split ends */
	memset(a6, 0, 16);
	assert_int_equal(ikev2_ts_from_prefix(&t, AF_INET6, a6, 0, 0, 0), 0);
	assert_int_equal(ikev2_ts_split(&t, parts, 40), 1);
	assert_int_equal(ikev2_ts_to_prefix(&t, &af, addr, &plen), 0);
	assert_int_equal(plen, 0);
	assert_int_equal(af, AF_INET6);
	/* ::1 - ffff:...:fffe needs 2*127 - ... many blocks: refused */
	t.start[15] = 1;
	t.end[15] = 0xfe;
	assert_int_equal(ikev2_ts_split(&t, parts, 40), -ENOSPC);
	assert_int_equal(ikev2_ts_from_prefix(&t, AF_INET, a6, 33, 0, 0),
			 -EINVAL);
}

static void test_ts_narrow(void **state)
{
	struct ikev2_ts_list peer, ours, out;

	(void)state;
	/* peer asks for everything, we allow one subnet */
	peer.n = 1;
	peer.ts[0] = ts4("0.0.0.0", 0, 0, 0);
	ours.n = 1;
	ours.ts[0] = ts4("198.51.100.0", 24, 0, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out), 0);
	assert_int_equal(out.n, 1);
	assert_memory_equal(&out.ts[0], &ours.ts[0], sizeof(out.ts[0]));
	assert_true(ikev2_ts_list_within(&out, &peer));

	/* §2.9 packet selector first: collapses into the subnet */
	peer.n = 2;
	peer.ts[0] = ts4("198.51.100.7", 32, 6, 80);
	peer.ts[1] = ts4("198.51.100.0", 24, 0, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out), 0);
	assert_int_equal(out.n, 1);
	assert_memory_equal(&out.ts[0], &ours.ts[0], sizeof(out.ts[0]));

	/* only the packet selector fits our narrower policy */
	ours.ts[0] = ts4("198.51.100.0", 28, 6, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.ts[0].proto, 6);
	assert_int_equal(out.ts[0].start[3], 0);
	assert_int_equal(out.ts[0].end[3], 15);
	assert_int_equal(out.ts[0].sport, 0);

	/* disjoint addresses, protocols, families */
	peer.n = 1;
	peer.ts[0] = ts4("203.0.113.0", 24, 0, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out),
			 IKEV2_N_TS_UNACCEPTABLE);
	peer.ts[0] = ts4("198.51.100.0", 24, 17, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out),
			 IKEV2_N_TS_UNACCEPTABLE);
	{
		uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
		assert_int_equal(
		    ikev2_ts_from_prefix(&peer.ts[0], AF_INET6, a6, 32, 0, 0),
		    0);
		assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out),
				 IKEV2_N_TS_UNACCEPTABLE);
	}
	/* port narrowing: any -> tcp/22 */
	peer.ts[0] = ts4("198.51.100.5", 32, 0, 0);
	ours.ts[0] = ts4("198.51.100.0", 24, 6, 22);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out), 0);
	assert_int_equal(out.ts[0].proto, 6);
	assert_int_equal(out.ts[0].sport, 22);
	assert_int_equal(out.ts[0].eport, 22);
	assert_int_equal(out.ts[0].start[3], 5);
	assert_false(ikev2_ts_list_within(&peer, &out));
	assert_true(ikev2_ts_list_within(&out, &peer));

	/* two policy ranges, both intersecting */
	peer.ts[0] = ts4("198.51.0.0", 16, 0, 0);
	ours.n = 2;
	ours.ts[0] = ts4("198.51.100.0", 24, 0, 0);
	ours.ts[1] = ts4("198.51.101.0", 24, 0, 0);
	assert_int_equal(ikev2_ts_narrow(&peer, &ours, &out), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.ts[1].start[2], 101);
}

/* ---- keys ---- */

static struct ikev2_suite ike_suite(uint16_t encr, uint16_t kb, uint16_t prf,
				    uint16_t integ)
{
	struct ikev2_suite s;

	memset(&s, 0, sizeof(s));
	s.proto = IKEV2_PROTO_IKE;
	s.encr = encr;
	s.encr_keybits = kb;
	s.prf = prf;
	s.integ = integ;
	s.dh = IKEV2_DH_MODP2048;
	return s;
}

static void test_ike_keys(void **state)
{
	struct ikev2_suite s =
	    ike_suite(IKEV2_ENCR_AES_CBC, 128, IKEV2_PRF_HMAC_SHA2_256,
		      IKEV2_INTEG_HMAC_SHA2_256_128);
	struct ikev2_sa_keys k;
	const uint8_t *v = v_ike_keymat;

	(void)state;
	assert_int_equal(ikev2_derive_ike_keys(&s, gir, 256, ni, 32, nr, 32,
					       SPI_I, SPI_R, &k),
			 0);
	assert_int_equal(k.skeyseed_len, 32);
	assert_memory_equal(k.skeyseed, v_skeyseed, 32);
	assert_int_equal(k.prf_len, 32);
	assert_int_equal(k.integ_len, 32);
	assert_int_equal(k.encr_len, 16);
	assert_memory_equal(k.sk_d, v, 32);
	assert_memory_equal(k.sk_ai, v + 32, 32);
	assert_memory_equal(k.sk_ar, v + 64, 32);
	assert_memory_equal(k.sk_ei, v + 96, 16);
	assert_memory_equal(k.sk_er, v + 112, 16);
	assert_memory_equal(k.sk_pi, v + 128, 32);
	assert_memory_equal(k.sk_pr, v + 160, 32);

	/* §2.18 rekey: old PRF HMAC-SHA1, new GCM-16-256/SHA2-384 */
	{
		struct ikev2_suite n = ike_suite(IKEV2_ENCR_AES_GCM_16, 256,
						 IKEV2_PRF_HMAC_SHA2_384, 0);
		uint8_t old_skd[20];
		struct ikev2_sa_keys r;

		memset(old_skd, 0xaa, sizeof(old_skd));
		assert_int_equal(ikev2_derive_ike_rekey(
				     &n, IKEV2_PRF_HMAC_SHA1, old_skd, 20, gir,
				     256, ni, 32, nr, 32, SPI_R, SPI_I, &r),
				 0);
		assert_memory_equal(r.skeyseed, v_rekey_skeyseed, 20);
		assert_int_equal(r.integ_len, 0);
		assert_int_equal(r.encr_len, 36);
		assert_int_equal(r.prf_len, 48);
		assert_memory_equal(r.sk_d, v_rekey_keymat, 48);
		assert_memory_equal(r.sk_ei, v_rekey_keymat + 48, 36);
		assert_memory_equal(r.sk_er, v_rekey_keymat + 84, 36);
		assert_memory_equal(r.sk_pi, v_rekey_keymat + 120, 48);
		assert_memory_equal(r.sk_pr, v_rekey_keymat + 168, 48);
		ikev2_sa_keys_wipe(&r);
		assert_int_equal(r.sk_d[0], 0);
	}
	/* XCBC PRF: SKEYSEED keyed with Ni[0..8] | Nr[0..8] (§2.14) */
	{
		struct ikev2_suite x =
		    ike_suite(IKEV2_ENCR_AES_CBC, 128, IKEV2_PRF_AES128_XCBC,
			      IKEV2_INTEG_AES_XCBC_96);
		uint8_t key[16], want[16];
		struct cbuf d = {gir, 256};

		memcpy(key, ni, 8);
		memcpy(key + 8, nr, 8);
		assert_int_equal(
		    crypto_prf(IKEV2_PRF_AES128_XCBC, key, 16, &d, 1, want), 0);
		assert_int_equal(ikev2_derive_ike_keys(&x, gir, 256, ni, 32, nr,
						       32, SPI_I, SPI_R, &k),
				 0);
		assert_memory_equal(k.skeyseed, want, 16);
		assert_int_equal(k.prf_len, 16);
		assert_int_equal(k.integ_len, 16);
	}
	s.prf = 99;
	assert_int_equal(ikev2_derive_ike_keys(&s, gir, 256, ni, 32, nr, 32,
					       SPI_I, SPI_R, &k),
			 -EINVAL);
}

static void test_child_keys(void **state)
{
	struct ikev2_suite c;
	uint8_t km[128];
	size_t el = 0, il = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.proto = IKEV2_PROTO_ESP;
	c.encr = IKEV2_ENCR_AES_CBC;
	c.encr_keybits = 256;
	c.integ = IKEV2_INTEG_HMAC_SHA2_256_128;
	assert_int_equal(ikev2_child_keymat_len(&c, &el, &il), 64);
	assert_int_equal(el, 32);
	assert_int_equal(il, 32);
	assert_int_equal(ikev2_derive_child_keys(IKEV2_PRF_HMAC_SHA2_256,
						 v_ike_keymat, 32, NULL, 0, ni,
						 32, nr, 32, km, 128),
			 0);
	assert_memory_equal(km, v_child_keymat, 128);
	assert_int_equal(ikev2_derive_child_keys(IKEV2_PRF_HMAC_SHA2_256,
						 v_ike_keymat, 32, gir, 256, ni,
						 32, nr, 32, km, 128),
			 0);
	assert_memory_equal(km, v_child_keymat_pfs, 128);
	c.encr = IKEV2_ENCR_AES_GCM_16;
	c.encr_keybits = 128;
	c.integ = IKEV2_INTEG_NONE;
	assert_int_equal(ikev2_child_keymat_len(&c, &el, &il), 20);
	assert_int_equal(il, 0);
	c.integ = IKEV2_INTEG_HMAC_SHA1_96; /* AEAD + INTEG: invalid */
	assert_int_equal(ikev2_child_keymat_len(&c, NULL, NULL), 0);
}

static void test_auth_psk(void **state)
{
	static const uint8_t psk[] = "s3cr3t-psk";
	uint8_t msg[84], idb[16], auth[64];
	const uint8_t *skpr = v_ike_keymat + 192 - 32;
	struct wr o;
	size_t al;

	(void)state;
	for (int i = 0; i < 3; i++)
		memcpy(msg + 28 * i, "IKE_SA_INIT message stand-in", 28);
	memcpy(idb, "\x02\0\0\0left.example", 16);
	wr_init(&o, 0);
	assert_int_equal(ikev2_signed_octets(IKEV2_PRF_HMAC_SHA2_256, msg, 84,
					     ni, 32, skpr, 32, idb, 16, &o),
			 0);
	assert_int_equal(o.len, sizeof(v_octets));
	assert_memory_equal(o.buf, v_octets, sizeof(v_octets));
	assert_int_equal(ikev2_auth_psk(IKEV2_PRF_HMAC_SHA2_256, psk, 10, o.buf,
					o.len, auth, &al),
			 0);
	assert_int_equal(al, 32);
	assert_memory_equal(auth, v_auth, 32);
	assert_int_equal(ikev2_auth_psk_verify(IKEV2_PRF_HMAC_SHA2_256, psk, 10,
					       o.buf, o.len, v_auth, 32),
			 0);
	assert_int_equal(ikev2_auth_psk_verify(IKEV2_PRF_HMAC_SHA2_256, psk, 9,
					       o.buf, o.len, v_auth, 32),
			 IKEV2_N_AUTHENTICATION_FAILED);
	assert_int_equal(ikev2_auth_psk_verify(IKEV2_PRF_HMAC_SHA2_256, psk, 10,
					       o.buf, o.len, v_auth, 31),
			 IKEV2_N_AUTHENTICATION_FAILED);
	wr_free(&o);
}

static void test_natd(void **state)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(4500)};
	uint8_t h[20];

	(void)state;
	inet_pton(AF_INET, "198.51.100.1", &s4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	assert_int_equal(ikev2_natd_hash(SPI_I, SPI_R, (void *)&s4, h), 0);
	assert_memory_equal(h, v_natd4, 20);
	assert_int_equal(ikev2_natd_hash(SPI_I, SPI_R, (void *)&s6, h), 0);
	assert_memory_equal(h, v_natd6, 20);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ikev2_exch_name(IKEV2_EXCH_CREATE_CHILD_SA),
			    "CREATE_CHILD_SA");
	assert_string_equal(ikev2_exch_name(99), "EXCH(99)");
	assert_string_equal(ikev2_payload_name(IKEV2_PL_NONCE), "No");
	assert_string_equal(ikev2_notify_name(IKEV2_N_TS_UNACCEPTABLE),
			    "TS_UNACCEPTABLE");
	assert_string_equal(ikev2_notify_name(40000), "N(40000)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_roundtrip),
	    cmocka_unit_test(test_sk_roundtrip),
	    cmocka_unit_test(test_sk_interleaved),
	    cmocka_unit_test(test_info_delete),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_exchange_rules),
	    cmocka_unit_test(test_spi_and_nonce_helpers),
	    cmocka_unit_test(test_sk_padding_and_short),
	    cmocka_unit_test(test_skf_recognised),
	    cmocka_unit_test(test_proposal_select_ike),
	    cmocka_unit_test(test_proposal_rules),
	    cmocka_unit_test(test_proposal_ah),
	    cmocka_unit_test(test_ts_prefix),
	    cmocka_unit_test(test_ts_narrow),
	    cmocka_unit_test(test_ike_keys),
	    cmocka_unit_test(test_child_keys),
	    cmocka_unit_test(test_auth_psk),
	    cmocka_unit_test(test_natd),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_ipcomp_notify),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
