/*
 * test_isakmp_msg.c - the ISAKMP message codec (src/isakmp/isakmp_msg.c):
 * byte-exact parse and build of Main Mode, Quick Mode and Informational
 * messages (vectors from gen_codec_vectors.py), and the generic rules of
 * RFC 2408 §3/§5.1 on malformed input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isakmp/isakmp.h"
#include "isakmp_vectors.h"

static void set_chain(struct isakmp_msg *m, uint8_t exch, uint8_t first)
{
	memset(m, 0, sizeof(*m));
	m->hdr.exch = exch;
	m->hdr.np = first;
}

static void mm1_parse(void **state)
{
	struct isakmp_msg m;
	struct isakmp_sa sa;
	const struct isakmp_xform *x;

	(void)state;
	assert_int_equal(isakmp_msg_parse(v_mm1, sizeof(v_mm1), &m), 0);
	assert_true(m.hdr.icookie == 0x1122334455667788ULL);
	assert_int_equal(m.hdr.exch, ISAKMP_EXCH_IDPROT);
	assert_int_equal(m.npl, 3);
	assert_int_equal(m.pl[0].type, ISAKMP_NP_SA);
	assert_int_equal(isakmp_get_sa(&m.pl[0], &sa), 0);
	assert_int_equal(sa.n_props, 1);
	assert_int_equal(sa.p[0].proto, ISAKMP_PROTO_ISAKMP);
	assert_int_equal(sa.p[0].n_xforms, 2);
	x = &sa.p[0].x[0];
	assert_int_equal(x->id, ISAKMP_KEY_IKE);
	assert_int_equal(x->encr, ISAKMP_P1_ENCR_AES_CBC);
	assert_int_equal(x->keylen, 128);
	assert_int_equal(x->hash, ISAKMP_P1_HASH_SHA2_256);
	assert_int_equal(x->group, 14);
	assert_int_equal(x->auth_method, ISAKMP_P1_AUTH_PSK);
	assert_int_equal(x->life_sec, 28800);
	assert_false(x->unknown_attr);
	x = &sa.p[0].x[1];
	assert_int_equal(x->encr, ISAKMP_P1_ENCR_3DES);
	assert_int_equal(x->hash, ISAKMP_P1_HASH_SHA1);
	assert_int_equal(x->life_sec, 86400);
	assert_int_equal(isakmp_vid_lookup(m.pl[1].body, m.pl[1].len),
			 ISAKMP_VID_RFC3947);
	assert_int_equal(isakmp_vid_lookup(m.pl[2].body, m.pl[2].len),
			 ISAKMP_VID_DPD);
}

static void mm1_build(void **state)
{
	struct isakmp_msg m;
	struct isakmp_sa sa;
	struct isakmp_wr b;
	const uint8_t *vid;
	uint8_t *pkt;
	size_t len, vlen;

	(void)state;
	assert_int_equal(isakmp_msg_parse(v_mm1, sizeof(v_mm1), &m), 0);
	assert_int_equal(isakmp_get_sa(&m.pl[0], &sa), 0);
	assert_int_equal(isakmp_wr_begin(&b, &m.hdr), 0);
	assert_int_equal(isakmp_put_sa(&b, &sa), 0);
	vid = isakmp_vid_bytes(ISAKMP_VID_RFC3947, &vlen);
	assert_int_equal(isakmp_put_raw(&b, ISAKMP_NP_VID, vid, vlen), 0);
	vid = isakmp_vid_bytes(ISAKMP_VID_DPD, &vlen);
	assert_int_equal(isakmp_put_raw(&b, ISAKMP_NP_VID, vid, vlen), 0);
	assert_int_equal(isakmp_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(len, sizeof(v_mm1));
	assert_memory_equal(pkt, v_mm1, len);
	free(pkt);
}

static void mm3_parse(void **state)
{
	struct isakmp_msg m;

	(void)state;
	assert_int_equal(isakmp_msg_parse(v_mm3, sizeof(v_mm3), &m), 0);
	assert_true(m.hdr.rcookie == 0x99aabbccddeeff00ULL);
	assert_int_equal(m.npl, 4);
	assert_int_equal(m.pl[0].type, ISAKMP_NP_KE);
	assert_int_equal(m.pl[0].len, 256);
	assert_int_equal(m.pl[1].type, ISAKMP_NP_NONCE);
	assert_int_equal(m.pl[1].len, 32);
	assert_int_equal(isakmp_msg_next(&m, ISAKMP_NP_NATD, -1), 2);
	assert_int_equal(isakmp_msg_next(&m, ISAKMP_NP_NATD, 2), 3);
	assert_int_equal(isakmp_msg_next(&m, ISAKMP_NP_NATD, 3), -1);
}

static void mm5_plain(void **state)
{
	struct isakmp_msg m;
	struct isakmp_id1 id;
	struct isakmp_notify n;
	struct isakmp_wr b;
	uint8_t *pkt;
	size_t len;

	(void)state;
	set_chain(&m, ISAKMP_EXCH_IDPROT, ISAKMP_NP_ID);
	/* the padding is refused unless the body was encrypted */
	assert_int_equal(
	    isakmp_msg_parse_chain(&m, v_mm5_plain, sizeof(v_mm5_plain), false),
	    ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS);
	assert_int_equal(
	    isakmp_msg_parse_chain(&m, v_mm5_plain, sizeof(v_mm5_plain), true),
	    0);
	assert_int_equal(m.pad_len, 3);
	assert_int_equal(m.npl, 3);
	assert_int_equal(isakmp_get_id1(&m.pl[0], &id), 0);
	assert_int_equal(id.type, ISAKMP_ID_IPV4_ADDR);
	assert_int_equal(id.proto, 17);
	assert_int_equal(id.port, 500);
	assert_int_equal(id.len, 4);
	assert_int_equal(id.body_len, 8);
	assert_ptr_equal(id.body, v_mm5_plain + 4);
	assert_int_equal(m.pl[1].type, ISAKMP_NP_HASH);
	assert_int_equal(m.pl[1].len, 20);
	assert_int_equal(isakmp_get_notify(&m.pl[2], &n), 0);
	assert_int_equal(n.type, ISAKMP_N_INITIAL_CONTACT);
	assert_int_equal(n.spi_size, 16);
	assert_int_equal(n.data_len, 0);

	/* rebuild: same bytes as the chain (header + chain, no padding) */
	struct isakmp_hdr h = {.icookie = 1, .exch = ISAKMP_EXCH_IDPROT};
	assert_int_equal(isakmp_wr_begin(&b, &h), 0);
	assert_int_equal(isakmp_put_id1(&b, &id), 0);
	assert_int_equal(
	    isakmp_put_raw(&b, ISAKMP_NP_HASH, m.pl[1].body, m.pl[1].len), 0);
	assert_int_equal(isakmp_put_notify(&b, &n), 0);
	assert_int_equal(isakmp_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(len, ISAKMP_HDR_LEN + sizeof(v_mm5_plain) - 3);
	assert_int_equal(pkt[16], ISAKMP_NP_ID);
	assert_memory_equal(pkt + ISAKMP_HDR_LEN, v_mm5_plain, len - 28);
	free(pkt);
}

static void qm1_plain(void **state)
{
	struct isakmp_msg m;
	struct isakmp_sa sa;
	struct isakmp_id id[2];
	struct isakmp_natoa oa[2];
	struct isakmp_wr b;
	const struct isakmp_xform *x;
	uint8_t *pkt;
	size_t len, off;

	(void)state;
	set_chain(&m, ISAKMP_EXCH_QUICK, ISAKMP_NP_HASH);
	assert_int_equal(
	    isakmp_msg_parse_chain(&m, v_qm1_plain, sizeof(v_qm1_plain), false),
	    0);
	assert_int_equal(m.npl, 8);
	assert_int_equal(isakmp_get_sa(&m.pl[1], &sa), 0);
	assert_int_equal(sa.p[0].proto, ISAKMP_PROTO_ESP);
	assert_int_equal(sa.p[0].spi_size, 4);
	x = &sa.p[0].x[0];
	assert_int_equal(x->id, ISAKMP_ESP_AES_CBC);
	assert_int_equal(x->keylen, 256);
	assert_int_equal(x->auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(x->encap, ISAKMP_ENCAP_TUNNEL);
	assert_int_equal(x->group, 14);
	assert_int_equal(x->life_sec, 3600);
	assert_int_equal(isakmp_get_id(&m.pl[4], &id[0]), 0);
	assert_int_equal(isakmp_get_id(&m.pl[5], &id[1]), 0);
	assert_int_equal(id[0].type, ISAKMP_ID_IPV4_ADDR_SUBNET);
	assert_int_equal(id[1].data[0], 203);
	assert_int_equal(isakmp_get_natoa(&m.pl[6], &oa[0]), 0);
	assert_int_equal(isakmp_get_natoa(&m.pl[7], &oa[1]), 0);
	assert_int_equal(oa[0].len, 4);
	assert_int_equal(oa[1].len, 16);
	assert_int_equal(oa[1].addr[15], 1);

	/* rebuild with HASH(1) reserved and patched afterwards */
	struct isakmp_hdr h = {.icookie = 1, .exch = ISAKMP_EXCH_QUICK};
	assert_int_equal(isakmp_wr_begin(&b, &h), 0);
	assert_int_equal(isakmp_put_reserve(&b, ISAKMP_NP_HASH, 32, &off), 0);
	assert_int_equal(isakmp_put_sa(&b, &sa), 0);
	assert_int_equal(
	    isakmp_put_raw(&b, ISAKMP_NP_NONCE, m.pl[2].body, m.pl[2].len), 0);
	assert_int_equal(
	    isakmp_put_raw(&b, ISAKMP_NP_KE, m.pl[3].body, m.pl[3].len), 0);
	assert_int_equal(isakmp_put_id(&b, &id[0]), 0);
	assert_int_equal(isakmp_put_id(&b, &id[1]), 0);
	assert_int_equal(isakmp_put_natoa(&b, &oa[0]), 0);
	assert_int_equal(isakmp_put_natoa(&b, &oa[1]), 0);
	assert_int_equal(off, ISAKMP_HDR_LEN + 4);
	assert_int_equal(wr_patch_bytes(&b.w, off, m.pl[0].body, 32), 0);
	assert_int_equal(isakmp_wr_finish(&b, &pkt, &len), 0);
	assert_int_equal(len, ISAKMP_HDR_LEN + sizeof(v_qm1_plain));
	assert_memory_equal(pkt + ISAKMP_HDR_LEN, v_qm1_plain,
			    sizeof(v_qm1_plain));
	free(pkt);
}

static void info_plain(void **state)
{
	struct isakmp_msg m;
	struct isakmp_delete d;
	struct isakmp_notify n;

	(void)state;
	set_chain(&m, ISAKMP_EXCH_INFO, ISAKMP_NP_HASH);
	assert_int_equal(isakmp_msg_parse_chain(&m, v_info_plain,
						sizeof(v_info_plain), false),
			 0);
	assert_int_equal(m.npl, 3);
	assert_int_equal(isakmp_get_delete(&m.pl[1], &d), 0);
	assert_int_equal(d.proto, ISAKMP_PROTO_ISAKMP);
	assert_int_equal(d.spi_size, 16);
	assert_int_equal(d.n_spi, 1);
	assert_memory_equal(d.spis, v_info_plain + 24 + 12, 16);
	assert_int_equal(isakmp_get_notify(&m.pl[2], &n), 0);
	assert_int_equal(n.type, ISAKMP_N_DPD_R_U_THERE);
	assert_int_equal(n.data_len, 4);
	assert_int_equal(n.data[3], 4);
	assert_string_equal(isakmp_notify_name(n.type), "R-U-THERE");
}

/* A copy of v_mm1 with one octet changed. */
static int mm1_with(size_t off, uint8_t v)
{
	uint8_t b[sizeof(v_mm1)];
	struct isakmp_msg m;

	memcpy(b, v_mm1, sizeof(b));
	b[off] = v;
	return isakmp_msg_parse(b, sizeof(b), &m);
}

static void header_rules(void **state)
{
	struct isakmp_msg m;

	(void)state;
	/* RFC 2408 §3.1 / §5.1 */
	assert_int_equal(isakmp_msg_parse(v_mm1, 27, &m), -EBADMSG);
	assert_int_equal(isakmp_msg_parse(v_mm1, sizeof(v_mm1) - 1, &m),
			 -EBADMSG); /* Length != datagram */
	assert_int_equal(mm1_with(17, 0x20), ISAKMP_N_INVALID_MAJOR_VERSION);
	assert_int_equal(mm1_with(17, 0x00), -EBADMSG);
	assert_int_equal(mm1_with(17, 0x11), ISAKMP_N_INVALID_MINOR_VERSION);
	assert_int_equal(mm1_with(18, 7), ISAKMP_N_INVALID_EXCHANGE_TYPE);
	assert_int_equal(mm1_with(18, 0), ISAKMP_N_INVALID_EXCHANGE_TYPE);
	assert_int_equal(mm1_with(18, ISAKMP_EXCH_BASE),
			 ISAKMP_N_UNSUPPORTED_EXCHANGE_TYPE);
	assert_int_equal(mm1_with(18, ISAKMP_EXCH_NEW_GROUP),
			 ISAKMP_N_UNSUPPORTED_EXCHANGE_TYPE);
	assert_int_equal(mm1_with(19, 0x08), ISAKMP_N_INVALID_FLAGS);
	/* a zero initiator cookie */
	uint8_t b[sizeof(v_mm1)];
	memcpy(b, v_mm1, sizeof(b));
	memset(b, 0, 8);
	assert_int_equal(isakmp_msg_parse(b, sizeof(b), &m),
			 ISAKMP_N_INVALID_COOKIE);
	/* E flag: the body is left for the caller */
	assert_int_equal(mm1_with(19, ISAKMP_FLAG_E), 0);
	memcpy(b, v_mm1, sizeof(b));
	b[19] = ISAKMP_FLAG_E;
	assert_int_equal(isakmp_msg_parse(b, sizeof(b), &m), 0);
	assert_int_equal(m.npl, 0);
	assert_ptr_equal(m.enc, b + 28);
	assert_int_equal(m.enc_len, sizeof(b) - 28);
}

static void chain_rules(void **state)
{
	struct isakmp_msg m;

	(void)state;
	/* unknown first payload, and P/T at the top level */
	assert_int_equal(mm1_with(16, 99), ISAKMP_N_INVALID_PAYLOAD_TYPE);
	assert_int_equal(mm1_with(16, ISAKMP_NP_P),
			 ISAKMP_N_INVALID_PAYLOAD_TYPE);
	/* Delete is not a Main Mode payload */
	assert_int_equal(mm1_with(16, ISAKMP_NP_D),
			 ISAKMP_N_INVALID_PAYLOAD_TYPE);
	/* RESERVED of the generic header must be zero */
	assert_int_equal(mm1_with(29, 1), ISAKMP_N_PAYLOAD_MALFORMED);
	/* Payload Length past the message / below 4 */
	assert_int_equal(mm1_with(30, 0x10), ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS);
	assert_int_equal(mm1_with(31, 3), ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS);
	/* unknown DOI / situation in the SA */
	assert_int_equal(mm1_with(35, 2), ISAKMP_N_DOI_NOT_SUPPORTED);
	assert_int_equal(mm1_with(39, 2), ISAKMP_N_SITUATION_NOT_SUPPORTED);
	/* #Transforms disagrees with the chain */
	assert_int_equal(mm1_with(47, 3), ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	/* the first VID's Next Payload says SA: SA must be first (RFC 2409
	 * §5) and is not repeatable */
	assert_int_equal(mm1_with(120, ISAKMP_NP_SA),
			 ISAKMP_N_PAYLOAD_MALFORMED);

	/* Quick Mode must start with HASH (RFC 2409 §5.5) */
	set_chain(&m, ISAKMP_EXCH_QUICK, ISAKMP_NP_SA);
	assert_int_equal(isakmp_msg_parse_chain(&m, v_qm1_plain + 36,
						sizeof(v_qm1_plain) - 36,
						false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	/* a Nonce of 7 and of 257 octets (RFC 2409 §5) */
	uint8_t n7[4 + 7] = {0, 0, 0, 11};
	set_chain(&m, ISAKMP_EXCH_IDPROT, ISAKMP_NP_NONCE);
	assert_int_equal(isakmp_msg_parse_chain(&m, n7, sizeof(n7), false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	uint8_t n257[4 + 257] = {0, 0, 0x01, 0x05};
	assert_int_equal(isakmp_msg_parse_chain(&m, n257, sizeof(n257), false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	/* ID: IPv4 address of 5 octets; unknown ID type */
	uint8_t id5[] = {0, 0, 0, 13, 1, 0, 0, 0, 1, 2, 3, 4, 5};
	set_chain(&m, ISAKMP_EXCH_IDPROT, ISAKMP_NP_ID);
	assert_int_equal(isakmp_msg_parse_chain(&m, id5, sizeof(id5), false),
			 ISAKMP_N_INVALID_ID_INFORMATION);
	uint8_t idx[] = {0, 0, 0, 9, 99, 0, 0, 0, 1};
	assert_int_equal(isakmp_msg_parse_chain(&m, idx, sizeof(idx), false),
			 ISAKMP_N_INVALID_ID_INFORMATION);
	/* NAT-OA with an IPv4 type and 16 octets */
	uint8_t oa[4 + 4 + 16] = {0, 0, 0, 24, 1};
	set_chain(&m, ISAKMP_EXCH_QUICK, ISAKMP_NP_HASH);
	uint8_t qoa[4 + 20 + sizeof(oa)] = {ISAKMP_NP_NATOA, 0, 0, 24};
	memcpy(qoa + 24, oa, sizeof(oa));
	assert_int_equal(isakmp_msg_parse_chain(&m, qoa, sizeof(qoa), false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	/* two HASH payloads in Informational */
	uint8_t hh[] = {ISAKMP_NP_HASH, 0, 0, 5, 1, 0, 0, 0, 5, 2};
	set_chain(&m, ISAKMP_EXCH_INFO, ISAKMP_NP_HASH);
	assert_int_equal(isakmp_msg_parse_chain(&m, hh, sizeof(hh), false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	/* Delete with #SPIs * size != what is left */
	uint8_t dl[] = {0, 0, 0, 16, 0, 0, 0, 1, 3, 4, 0, 2, 1, 2, 3, 4};
	set_chain(&m, ISAKMP_EXCH_INFO, ISAKMP_NP_D);
	assert_int_equal(isakmp_msg_parse_chain(&m, dl, sizeof(dl), false),
			 ISAKMP_N_PAYLOAD_MALFORMED);
	/* padding longer than ISAKMP_MAX_PAD */
	uint8_t pad[8 + 256] = {0, 0, 0, 8, 1, 2, 3, 4};
	set_chain(&m, ISAKMP_EXCH_IDPROT, ISAKMP_NP_HASH);
	assert_int_equal(isakmp_msg_parse_chain(&m, pad, sizeof(pad), true),
			 ISAKMP_N_UNEQUAL_PAYLOAD_LENGTHS);
	assert_int_equal(isakmp_msg_parse_chain(&m, pad, sizeof(pad) - 1, true),
			 0);
}

static void p1_attr_rules(void **state)
{
	uint8_t b[sizeof(v_mm1)];
	struct isakmp_msg m;
	struct isakmp_sa sa;

	(void)state;
	/* An unknown Phase 1 attribute (PRF, 13) marks the transform */
	memcpy(b, v_mm1, sizeof(b));
	/* first transform's first attribute (encr) at offset 28+4+8+8+8+4 */
	size_t a = 28 + 4 + 8 + 8 + 8;
	assert_int_equal(b[a], 0x80);
	assert_int_equal(b[a + 1], 1);
	b[a + 1] = ISAKMP_P1_ATTR_PRF;
	assert_int_equal(isakmp_msg_parse(b, sizeof(b), &m), 0);
	assert_int_equal(isakmp_get_sa(&m.pl[0], &sa), 0);
	assert_true(sa.p[0].x[0].unknown_attr);
	assert_false(sa.p[0].x[1].unknown_attr);
	/* Life Duration without a Life Type before it (RFC 2409 App. A):
	 * turn the first transform's Life Type (6th attribute) into a
	 * Key Length */
	memcpy(b, v_mm1, sizeof(b));
	assert_int_equal(b[a + 5 * 4 + 1], ISAKMP_P1_ATTR_LIFE_TYPE);
	b[a + 5 * 4 + 1] = ISAKMP_P1_ATTR_KEY_LENGTH;
	assert_int_equal(isakmp_msg_parse(b, sizeof(b), &m),
			 ISAKMP_N_BAD_PROPOSAL_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mm1_parse),     cmocka_unit_test(mm1_build),
	    cmocka_unit_test(mm3_parse),     cmocka_unit_test(mm5_plain),
	    cmocka_unit_test(qm1_plain),     cmocka_unit_test(info_plain),
	    cmocka_unit_test(header_rules),  cmocka_unit_test(chain_rules),
	    cmocka_unit_test(p1_attr_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
