/*
 * test_kink.c - the KINK message codec (src/kink/kink_msg.c) and the
 * IKEv1 Quick Mode payload codec (src/isakmp) against byte-exact vectors
 * from an independent encoder (gen_vectors.py -> kink_vectors.h), and
 * the malformed inputs each must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "isakmp/isakmp.h"
#include "kink/kink_msg.h"
#include "kink/kink_qm.h"
#include "lib/wr.h"

#include "kink_vectors.h"

/* Fake crypto, the same as gen_vectors.py. */
static int fake_enc(void *ctx, const uint8_t *in, size_t n, uint8_t **out,
		    size_t *out_len)
{
	uint8_t *o = malloc(n + 2);

	(void)ctx;
	o[0] = 0xc0;
	o[1] = 0xde;
	for (size_t i = 0; i < n; i++)
		o[2 + i] = in[i] ^ 0xa5;
	*out = o;
	*out_len = n + 2;
	return 0;
}

static int fake_mic(void *ctx, const uint8_t *in, size_t n, uint8_t **out,
		    size_t *out_len)
{
	uint8_t *o = malloc(4), s = 0;

	(void)ctx;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + in[i]);
	memcpy(o, "MIC", 3);
	o[3] = s;
	*out = o;
	*out_len = 4;
	return 0;
}

static void qm_example(struct isakmp_qm *qm)
{
	static const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct isakmp_prop *p;

	memset(qm, 0, sizeof(*qm));
	qm->has_sa = true;
	qm->sa.n_props = 1;
	p = &qm->sa.p[0];
	p->num = 1;
	p->proto = ISAKMP_PROTO_ESP;
	p->spi_size = 4;
	memcpy(p->spi, "\x11\x22\x33\x44", 4);
	p->n_xforms = 1;
	p->x[0].num = 1;
	p->x[0].id = ISAKMP_ESP_AES_CBC;
	p->x[0].life_sec = 3600;
	p->x[0].encap = ISAKMP_ENCAP_TUNNEL;
	p->x[0].auth = ISAKMP_AUTH_HMAC_SHA2_256;
	p->x[0].keylen = 128;
	qm->nonce = nonce;
	qm->nonce_len = sizeof(nonce);
}

static void test_qm_build(void **state)
{
	struct isakmp_qm qm;
	struct wr w;
	uint8_t first = 0xff;

	(void)state;
	qm_example(&qm);
	wr_init(&w, 0);
	assert_int_equal(isakmp_qm_build(&w, &qm, &first), 0);
	assert_int_equal(first, ISAKMP_NP_SA);
	assert_int_equal(w.len, sizeof(v_qm));
	assert_memory_equal(w.buf, v_qm, sizeof(v_qm));
	wr_free(&w);
}

static void test_qm_parse(void **state)
{
	struct isakmp_qm qm;
	const struct isakmp_xform *x;

	(void)state;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, v_qm, sizeof(v_qm), &qm),
			 0);
	assert_true(qm.has_sa);
	assert_int_equal(qm.sa.doi, 1);
	assert_int_equal(qm.sa.n_props, 1);
	assert_int_equal(qm.sa.p[0].proto, ISAKMP_PROTO_ESP);
	assert_memory_equal(qm.sa.p[0].spi, "\x11\x22\x33\x44", 4);
	assert_int_equal(qm.sa.p[0].n_xforms, 1);
	x = &qm.sa.p[0].x[0];
	assert_int_equal(x->id, ISAKMP_ESP_AES_CBC);
	assert_int_equal(x->life_sec, 3600);
	assert_int_equal(x->encap, ISAKMP_ENCAP_TUNNEL);
	assert_int_equal(x->auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(x->keylen, 128);
	assert_false(x->unknown_attr);
	assert_int_equal(qm.nonce_len, 8);
	assert_int_equal(qm.nonce[7], 8);
}

static void test_qm_notify_delete(void **state)
{
	struct isakmp_qm qm, out;
	struct wr w;
	uint8_t first;

	(void)state;
	assert_int_equal(
	    isakmp_qm_parse(ISAKMP_NP_N, v_qm_nd, sizeof(v_qm_nd), &qm), 0);
	assert_int_equal(qm.n_notify, 1);
	assert_int_equal(qm.notify[0].type, 24);
	assert_int_equal(qm.notify[0].data_len, 2);
	assert_int_equal(qm.n_delete, 1);
	assert_int_equal(qm.del[0].n_spi, 2);
	assert_memory_equal(qm.del[0].spis, "\0\0\x10\x01\0\0\x10\x02", 8);
	/* and back, byte for byte */
	wr_init(&w, 0);
	assert_int_equal(isakmp_qm_build(&w, &qm, &first), 0);
	assert_int_equal(first, ISAKMP_NP_N);
	assert_int_equal(w.len, sizeof(v_qm_nd));
	assert_memory_equal(w.buf, v_qm_nd, sizeof(v_qm_nd));
	assert_int_equal(isakmp_qm_parse(first, w.buf, w.len, &out), 0);
	wr_free(&w);
}

static void test_qm_malformed(void **state)
{
	struct isakmp_qm qm;
	uint8_t b[sizeof(v_qm)];

	(void)state;
	/* every truncation fails */
	for (size_t n = 0; n < sizeof(v_qm); n++)
		assert_int_not_equal(
		    isakmp_qm_parse(ISAKMP_NP_SA, v_qm, n, &qm), 0);
	/* trailing garbage after the chain */
	{
		uint8_t x[sizeof(v_qm) + 1];
		memcpy(x, v_qm, sizeof(v_qm));
		x[sizeof(v_qm)] = 0;
		assert_int_equal(
		    isakmp_qm_parse(ISAKMP_NP_SA, x, sizeof(x), &qm), -EBADMSG);
	}
	/* DOI 2 */
	memcpy(b, v_qm, sizeof(b));
	b[7] = 2;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, b, sizeof(b), &qm),
			 -ENOTSUP);
	/* #transforms 2 but one transform */
	memcpy(b, v_qm, sizeof(b));
	b[19] = 2;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, b, sizeof(b), &qm),
			 -EBADMSG);
	/* #transforms 0 */
	b[19] = 0;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, b, sizeof(b), &qm),
			 -EBADMSG);
	/* life duration without a life type: attr type 1 -> 7 (rounds,
	 * unknown to us), so duration has no type */
	memcpy(b, v_qm, sizeof(b));
	b[33] = 7;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, b, sizeof(b), &qm),
			 -EBADMSG);
	/* payload length 3 (below the generic header) */
	memcpy(b, v_qm, sizeof(b));
	b[3] = 3;
	assert_int_equal(isakmp_qm_parse(ISAKMP_NP_SA, b, sizeof(b), &qm),
			 -EBADMSG);
	/* nonce of 7 octets (RFC 2409 §5: at least 8) */
	{
		uint8_t n[11] = {0, 0, 0, 11, 1, 2, 3, 4, 5, 6, 7};
		assert_int_equal(
		    isakmp_qm_parse(ISAKMP_NP_NONCE, n, sizeof(n), &qm),
		    -EBADMSG);
	}
	/* HASH is not carried by KINK's Quick Mode */
	{
		uint8_t h[8] = {0, 0, 0, 8, 1, 2, 3, 4};
		assert_int_equal(
		    isakmp_qm_parse(ISAKMP_NP_HASH, h, sizeof(h), &qm),
		    -ENOTSUP);
	}
	/* Delete whose SPI octets do not match #SPIs */
	{
		uint8_t d[sizeof(v_qm_nd)];
		memcpy(d, v_qm_nd, sizeof(d));
		d[18 + 11] = 3; /* #SPIs 3, two present */
		assert_int_equal(
		    isakmp_qm_parse(ISAKMP_NP_N, d, sizeof(d), &qm), -EBADMSG);
	}
}

static void test_qm_id(void **state)
{
	struct isakmp_id id;
	const uint8_t a4[4] = {198, 51, 100, 77};
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};

	(void)state;
	assert_int_equal(isakmp_id_from_prefix(&id, AF_INET, a4, 24, 0, 0), 0);
	assert_int_equal(id.type, ISAKMP_ID_IPV4_ADDR_SUBNET);
	assert_int_equal(id.len, 8);
	assert_memory_equal(id.data, "\xc6\x33\x64\x00\xff\xff\xff\x00", 8);
	assert_int_equal(isakmp_id_from_prefix(&id, AF_INET, a4, 32, 17, 500),
			 0);
	assert_int_equal(id.type, ISAKMP_ID_IPV4_ADDR);
	assert_int_equal(id.len, 4);
	assert_int_equal(isakmp_id_from_prefix(&id, AF_INET6, a6, 33, 0, 0), 0);
	assert_int_equal(id.type, ISAKMP_ID_IPV6_ADDR_SUBNET);
	assert_int_equal(id.data[16 + 4], 0x80);
	assert_int_equal(id.data[16 + 5], 0);
	assert_int_equal(isakmp_id_from_prefix(&id, AF_INET, a4, 33, 0, 0),
			 -EINVAL);
}

static void test_kink_build(void **state)
{
	struct kink_wr k;
	uint8_t *out;
	size_t n;
	const uint8_t chain[4] = {0xde, 0xad, 0xbe, 0xef};

	(void)state;
	kink_wr_begin(&k, KINK_TYPE_CREATE, 0x01020304, false);
	kink_wr_ap_req(&k, 0x5f000000, "abc", 3);
	kink_wr_encrypt_begin(&k);
	kink_wr_isakmp(&k, ISAKMP_NP_NONCE, chain, sizeof(chain));
	assert_int_equal(kink_wr_encrypt_end(&k, fake_enc, NULL), 0);
	assert_int_equal(kink_wr_finish(&k, fake_mic, NULL, &out, &n), 0);
	assert_int_equal(n, sizeof(v_create));
	assert_memory_equal(out, v_create, n);
	free(out);

	/* nothing may follow KINK_ENCRYPT (§5.2.8) */
	kink_wr_begin(&k, KINK_TYPE_CREATE, 1, false);
	kink_wr_encrypt_begin(&k);
	kink_wr_isakmp(&k, 0, NULL, 0);
	assert_int_equal(kink_wr_encrypt_end(&k, fake_enc, NULL), 0);
	kink_wr_error(&k, 1);
	assert_int_not_equal(kink_wr_finish(&k, NULL, NULL, &out, &n), 0);

	/* REPLY + ACKREQ + KINK_ERROR, no Cksum */
	kink_wr_begin(&k, KINK_TYPE_REPLY, 7, true);
	kink_wr_error(&k, KINK_ERR_PROTOERR);
	assert_int_equal(kink_wr_finish(&k, NULL, NULL, &out, &n), 0);
	assert_int_equal(n, sizeof(v_reply_err));
	assert_memory_equal(out, v_reply_err, n);
	free(out);
}

static void test_kink_parse(void **state)
{
	struct kink_msg m;
	uint8_t *ck, *pt;
	size_t ck_len, pt_len;

	(void)state;
	assert_int_equal(kink_msg_parse(v_create, sizeof(v_create), &m), 0);
	assert_int_equal(m.type, KINK_TYPE_CREATE);
	assert_int_equal(m.xid, 0x01020304);
	assert_false(m.ackreq);
	assert_int_equal(m.epoch, 0x5f000000);
	assert_true(kink_has(&m, KINK_PL_AP_REQ));
	assert_true(kink_has(&m, KINK_PL_ENCRYPT));
	assert_false(kink_has(&m, KINK_PL_ISAKMP));
	assert_int_equal(m.ap_req.len, 3);
	assert_memory_equal(m.ap_req.p, "abc", 3);
	assert_int_equal(m.cksum.len, 4);

	/* the Cksum input is the message as if it had no Cksum */
	assert_int_equal(kink_msg_cksum_input(v_create, &m, &ck, &ck_len), 0);
	assert_int_equal(ck_len, sizeof(v_create) - 4);
	{
		uint8_t *mic;
		size_t mic_len;
		fake_mic(NULL, ck, ck_len, &mic, &mic_len);
		assert_memory_equal(mic, m.cksum.p, 4);
		free(mic);
	}
	assert_int_equal(ck[2] << 8 | ck[3], ck_len);
	assert_int_equal(ck[14] | ck[15], 0);
	free(ck);

	/* undo the fake encryption and parse the inner chain */
	assert_int_equal(m.encrypt.len, sizeof(v_plain) + 2);
	pt_len = m.encrypt.len - 2;
	pt = malloc(pt_len);
	for (size_t i = 0; i < pt_len; i++)
		pt[i] = m.encrypt.p[2 + i] ^ 0xa5;
	assert_memory_equal(pt, v_plain, pt_len);
	assert_int_equal(kink_msg_parse_inner(pt, pt_len, &m), 0);
	assert_true(kink_has(&m, KINK_PL_ISAKMP));
	assert_true(m.encrypted & (1u << KINK_PL_ISAKMP));
	assert_int_equal(m.isakmp_first, ISAKMP_NP_NONCE);
	assert_int_equal(m.isakmp.len, 4);
	assert_memory_equal(m.isakmp.p, "\xde\xad\xbe\xef", 4);
	free(pt);

	assert_int_equal(kink_msg_parse(v_reply_err, sizeof(v_reply_err), &m),
			 0);
	assert_true(m.ackreq);
	assert_int_equal(m.error_code, KINK_ERR_PROTOERR);
	assert_int_equal(m.cksum_len, 0);
}

/* Parse a copy of v_create with one octet changed. */
static int parse_mod(size_t off, uint8_t val)
{
	uint8_t b[sizeof(v_create)];
	struct kink_msg m;

	memcpy(b, v_create, sizeof(b));
	b[off] = val;
	return kink_msg_parse(b, sizeof(b), &m);
}

static void test_kink_malformed(void **state)
{
	struct kink_msg m;

	(void)state;
	for (size_t n = 0; n < sizeof(v_create); n++)
		assert_int_equal(kink_msg_parse(v_create, n, &m),
				 KINK_ERR_PROTOERR);
	assert_int_equal(parse_mod(1, 0x20), KINK_ERR_INVMAJ);
	assert_int_equal(parse_mod(1, 0x11), KINK_ERR_INVMIN);
	assert_int_equal(parse_mod(7, 2), KINK_ERR_INVDOI);
	assert_int_equal(parse_mod(0, 0), KINK_ERR_PROTOERR); /* type */
	assert_int_equal(parse_mod(0, 7), KINK_ERR_PROTOERR);
	assert_int_equal(parse_mod(3, 0x37), KINK_ERR_PROTOERR);  /* Length */
	assert_int_equal(parse_mod(15, 0xff), KINK_ERR_PROTOERR); /* CksumLen */
	assert_int_equal(parse_mod(12, 9), KINK_ERR_PROTOERR); /* unknown pl */
	assert_int_equal(parse_mod(12, 0), KINK_ERR_PROTOERR); /* trailing */
	assert_int_equal(parse_mod(19, 0x03), KINK_ERR_PROTOERR); /* pl len */
	assert_int_equal(parse_mod(19, 0xff), KINK_ERR_PROTOERR);
	/* AP_REQ's next says AP_REQ again: a duplicate */
	assert_int_equal(parse_mod(16, 1), KINK_ERR_PROTOERR);
	/* KINK_ENCRYPT not last */
	assert_int_equal(parse_mod(28, 8), KINK_ERR_PROTOERR);
	/* a longer datagram than Length */
	{
		uint8_t b[sizeof(v_create) + 4] = {0};
		memcpy(b, v_create, sizeof(v_create));
		assert_int_equal(kink_msg_parse(b, sizeof(b), &m),
				 KINK_ERR_PROTOERR);
	}
	/* inner chain: AP_REQ inside KINK_ENCRYPT, ENCRYPT nested,
	 * bad QMVersion, KINK_ERROR of 5 octets */
	{
		uint8_t p[sizeof(v_plain)];
		memcpy(p, v_plain, sizeof(p));
		p[0] = KINK_PL_AP_REQ;
		memset(&m, 0, sizeof(m));
		assert_int_equal(kink_msg_parse_inner(p, sizeof(p), &m),
				 KINK_ERR_PROTOERR);
		p[0] = KINK_PL_ENCRYPT;
		memset(&m, 0, sizeof(m));
		assert_int_equal(kink_msg_parse_inner(p, sizeof(p), &m),
				 KINK_ERR_PROTOERR);
		memcpy(p, v_plain, sizeof(p));
		p[9] = 0x20;
		memset(&m, 0, sizeof(m));
		assert_int_equal(kink_msg_parse_inner(p, sizeof(p), &m),
				 KINK_ERR_BADQMVERS);
		for (size_t n = 0; n < 12; n++) {
			memset(&m, 0, sizeof(m));
			assert_int_not_equal(
			    kink_msg_parse_inner(v_plain, n, &m), 0);
		}
	}
	{
		uint8_t r[sizeof(v_reply_err) + 4];
		memcpy(r, v_reply_err, sizeof(v_reply_err));
		memset(r + sizeof(v_reply_err), 0, 4);
		r[3] = sizeof(r);
		r[19] = 9; /* KINK_ERROR PayloadLength 9: body 5 */
		assert_int_equal(kink_msg_parse(r, sizeof(r), &m),
				 KINK_ERR_PROTOERR);
	}
}

/* RFC 2409 §5.5: the KEYMAT prf input, g(qm)^xy first with PFS */
static void test_keymat_seed(void **state)
{
	static const uint8_t gxy[4] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t ni[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t nr[8] = {9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t want_pfs[] = {
	    0xde, 0xad, 0xbe, 0xef, ISAKMP_PROTO_ESP,
	    0x12, 0x34, 0x56, 0x78, 1,
	    2,	  3,	4,    5,    6,
	    7,	  8,	9,    10,   11,
	    12,	  13,	14,   15,   16};
	uint8_t out[64];
	size_t n;

	(void)state;
	n = kink_keymat_seed(out, sizeof(out), gxy, sizeof(gxy),
			     ISAKMP_PROTO_ESP, 0x12345678, ni, sizeof(ni), nr,
			     sizeof(nr));
	assert_int_equal(n, sizeof(want_pfs));
	assert_memory_equal(out, want_pfs, n);
	/* without PFS and without Nr: protocol | SPI | Ni */
	n = kink_keymat_seed(out, sizeof(out), NULL, 0, ISAKMP_PROTO_ESP,
			     0x12345678, ni, sizeof(ni), NULL, 0);
	assert_int_equal(n, 5 + sizeof(ni));
	assert_memory_equal(out, want_pfs + 4, n);
	/* too small a buffer: nothing */
	assert_int_equal(kink_keymat_seed(out, 20, gxy, sizeof(gxy),
					  ISAKMP_PROTO_ESP, 1, ni, sizeof(ni),
					  nr, sizeof(nr)),
			 0);
}

/* the responder's PFS decision (RFC 4430 §4.2, RFC 2409 §5.5) */
static void test_pfs_choose(void **state)
{
	static const uint16_t g[2] = {31, 19};

	(void)state;
	/* no PFS offered, none required */
	assert_int_equal(kink_pfs_choose(false, NULL, 0, 0, false), 0);
	/* need_pfs and a CREATE without KE: refused (fail closed) */
	assert_int_equal(kink_pfs_choose(true, NULL, 0, 0, false),
			 -ISAKMP_N_NO_PROPOSAL_CHOSEN);
	assert_int_equal(kink_pfs_choose(true, g, 2, 0, false),
			 -ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* KE without the group attribute or the reverse: malformed */
	assert_int_equal(kink_pfs_choose(false, NULL, 0, 0, true),
			 -ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	assert_int_equal(kink_pfs_choose(true, g, 2, 19, false),
			 -ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	/* a configured group is taken, another is not */
	assert_int_equal(kink_pfs_choose(true, g, 2, 19, true), 19);
	assert_int_equal(kink_pfs_choose(false, g, 2, 14, true),
			 -ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* no list: need_pfs means MODP 2048 only; otherwise the
	 * initiator's PFS is answered */
	assert_int_equal(kink_pfs_choose(true, NULL, 0, 14, true), 14);
	assert_int_equal(kink_pfs_choose(true, NULL, 0, 2, true),
			 -ISAKMP_N_NO_PROPOSAL_CHOSEN);
	assert_int_equal(kink_pfs_choose(false, NULL, 0, 31, true), 31);
}

/* IDci/IDcr compare type, protocol, port and data */
static void test_id_eq(void **state)
{
	static const uint8_t net[4] = {198, 51, 100, 64};
	struct isakmp_id a, b;

	(void)state;
	assert_int_equal(isakmp_id_from_prefix(&a, AF_INET, net, 27, 0, 0), 0);
	assert_int_equal(isakmp_id_from_prefix(&b, AF_INET, net, 27, 0, 0), 0);
	assert_true(kink_id_eq(&a, &b));
	assert_int_equal(isakmp_id_from_prefix(&b, AF_INET, net, 26, 0, 0), 0);
	assert_false(kink_id_eq(&a, &b));
	assert_int_equal(isakmp_id_from_prefix(&b, AF_INET, net, 27, 6, 0), 0);
	assert_false(kink_id_eq(&a, &b));
	assert_int_equal(isakmp_id_from_prefix(&b, AF_INET, net, 32, 0, 0), 0);
	assert_false(kink_id_eq(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qm_build),
	    cmocka_unit_test(test_qm_parse),
	    cmocka_unit_test(test_qm_notify_delete),
	    cmocka_unit_test(test_qm_malformed),
	    cmocka_unit_test(test_qm_id),
	    cmocka_unit_test(test_keymat_seed),
	    cmocka_unit_test(test_pfs_choose),
	    cmocka_unit_test(test_id_eq),
	    cmocka_unit_test(test_kink_build),
	    cmocka_unit_test(test_kink_parse),
	    cmocka_unit_test(test_kink_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
