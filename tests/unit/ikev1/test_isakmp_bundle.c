/*
 * test_isakmp_bundle.c - SA bundles in Phase 2 SA payloads
 * (src/isakmp/bundle.c): AND-sets of AH, ESP and IPComp (RFC 2408 §4.2),
 * offered, encoded and parsed back, chosen by a responder, and the reply
 * checked by the initiator (fail closed on anything not offered).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isakmp/bundle.h"

static const struct isakmp_bundle_spis ours_i = {
    .esp = 0x11111111, .ah = 0x22222222, .cpi = 0x1234};
static const struct isakmp_bundle_spis ours_r = {
    .esp = 0x33333333, .ah = 0x44444444, .cpi = 0x4321};

static void conf(struct isakmp_bundle_conf *c, bool ah, bool esp, bool comp)
{
	memset(c, 0, sizeof(*c));
	if (ah) {
		c->ah[c->n_ah++] = (struct isakmp_ah_suite){
		    ISAKMP_AH_SHA2_256, ISAKMP_AUTH_HMAC_SHA2_256};
		c->ah[c->n_ah++] = (struct isakmp_ah_suite){
		    ISAKMP_AH_SHA, ISAKMP_AUTH_HMAC_SHA1};
	}
	if (esp) {
		c->esp[c->n_esp++] = (struct isakmp_esp_suite){
		    ISAKMP_ESP_AES_CBC, 256, ISAKMP_AUTH_HMAC_SHA2_256};
		c->esp[c->n_esp++] = (struct isakmp_esp_suite){
		    ISAKMP_ESP_3DES, 0, ISAKMP_AUTH_HMAC_SHA1};
	}
	c->ipcomp = comp ? ISAKMP_IPCOMP_DEFLATE : 0;
	c->encap = ISAKMP_ENCAP_TUNNEL;
	c->group = 14;
	c->life_sec = 3600;
}

/* The SA payload through the wire codec and back. */
static void wire(const struct isakmp_sa *in, struct isakmp_sa *out)
{
	struct isakmp_qm qm, back;
	struct wr w;
	uint8_t first = 0;

	memset(&qm, 0, sizeof(qm));
	qm.has_sa = true;
	qm.sa = *in;
	wr_init(&w, 65535);
	assert_int_equal(isakmp_qm_build(&w, &qm, &first), 0);
	assert_int_equal(isakmp_qm_parse(first, w.buf, w.len, &back), 0);
	assert_true(back.has_sa);
	*out = back.sa;
	wr_free(&w);
}

/* Offer, choose, reply and accept through the codec. */
static void round_trip(const struct isakmp_bundle_conf *ci,
		       const struct isakmp_bundle_conf *cr,
		       struct isakmp_bundle *bi, struct isakmp_bundle *br)
{
	struct isakmp_sa offer, got, reply;

	assert_int_equal(isakmp_bundle_offer(ci, &ours_i, &offer), 0);
	wire(&offer, &got);
	assert_int_equal(isakmp_bundle_choose(cr, &got, br), 0);
	assert_int_equal(isakmp_bundle_reply(&got, br, &ours_r, &reply), 0);
	wire(&reply, &got);
	assert_int_equal(isakmp_bundle_accept(ci, &ours_i, &got, bi), 0);
}

static void offer_layout(void **state)
{
	struct isakmp_bundle_conf c;
	struct isakmp_sa sa, got;

	(void)state;
	conf(&c, true, true, true);
	assert_int_equal(isakmp_bundle_offer(&c, &ours_i, &sa), 0);
	wire(&sa, &got);
	/* 1: AH & ESP & IPComp, 2: AH & ESP (IPComp optional) */
	assert_int_equal(got.n_props, 5);
	assert_int_equal(got.p[0].num, 1);
	assert_int_equal(got.p[0].proto, ISAKMP_PROTO_AH);
	assert_int_equal(got.p[0].n_xforms, 2);
	assert_int_equal(got.p[0].x[0].id, ISAKMP_AH_SHA2_256);
	/* RFC 2407 §4.4.3: the AH transform repeats its hash as Auth Alg */
	assert_int_equal(got.p[0].x[0].auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(got.p[0].x[0].encap, ISAKMP_ENCAP_TUNNEL);
	assert_int_equal(got.p[0].x[0].group, 14);
	assert_int_equal(got.p[0].x[0].life_sec, 3600);
	assert_int_equal(got.p[1].num, 1);
	assert_int_equal(got.p[1].proto, ISAKMP_PROTO_ESP);
	assert_int_equal(got.p[1].spi_size, 4);
	assert_int_equal(got.p[2].num, 1);
	assert_int_equal(got.p[2].proto, ISAKMP_PROTO_IPCOMP);
	/* RFC 3173 §4.1: 2-octet CPI */
	assert_int_equal(got.p[2].spi_size, 2);
	assert_int_equal(got.p[2].spi[0], 0x12);
	assert_int_equal(got.p[2].spi[1], 0x34);
	assert_int_equal(got.p[2].x[0].id, ISAKMP_IPCOMP_DEFLATE);
	assert_int_equal(got.p[3].num, 2);
	assert_int_equal(got.p[3].proto, ISAKMP_PROTO_AH);
	assert_int_equal(got.p[4].num, 2);
	assert_int_equal(got.p[4].proto, ISAKMP_PROTO_ESP);
	/* no CPI: no IPComp set at all */
	{
		struct isakmp_bundle_spis s = ours_i;
		s.cpi = 0;
		assert_int_equal(isakmp_bundle_offer(&c, &s, &sa), 0);
		assert_int_equal(sa.n_props, 2);
	}
	/* an empty bundle is no offer */
	conf(&c, false, false, true);
	assert_int_equal(isakmp_bundle_offer(&c, &ours_i, &sa), -EINVAL);
}

static void every_bundle(void **state)
{
	static const bool sets[][3] = {
	    {true, false, false}, {false, true, false}, {false, true, true},
	    {true, true, false},  {true, true, true},	{true, false, true},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct isakmp_bundle_conf c;
		struct isakmp_bundle bi, br;

		conf(&c, sets[i][0], sets[i][1], sets[i][2]);
		round_trip(&c, &c, &bi, &br);
		assert_int_equal(bi.has_ah, sets[i][0]);
		assert_int_equal(bi.has_esp, sets[i][1]);
		assert_int_equal(bi.has_ipcomp, sets[i][2]);
		assert_int_equal(br.has_ipcomp, sets[i][2]);
		assert_int_equal(bi.num, 1);
		/* each side learns the other's SPIs */
		if (sets[i][0]) {
			assert_int_equal(bi.peer.ah, ours_r.ah);
			assert_int_equal(br.peer.ah, ours_i.ah);
			assert_int_equal(bi.ah_x.id, ISAKMP_AH_SHA2_256);
		}
		if (sets[i][1]) {
			assert_int_equal(bi.peer.esp, ours_r.esp);
			assert_int_equal(br.peer.esp, ours_i.esp);
			assert_int_equal(bi.esp_x.keylen, 256);
		}
		if (sets[i][2]) {
			assert_int_equal(bi.peer.cpi, ours_r.cpi);
			assert_int_equal(br.peer.cpi, ours_i.cpi);
		}
		assert_int_equal(bi.life_sec, 3600);
		assert_int_equal(bi.group, 14);
	}
}

/* IPComp is optional either way; AH and ESP are not. */
static void ipcomp_optional(void **state)
{
	struct isakmp_bundle_conf ci, cr;
	struct isakmp_bundle bi, br;

	(void)state;
	/* a responder without IPComp takes proposal 2 */
	conf(&ci, false, true, true);
	conf(&cr, false, true, false);
	round_trip(&ci, &cr, &bi, &br);
	assert_false(bi.has_ipcomp);
	assert_int_equal(bi.num, 2);
	/* an initiator without IPComp: the responder with it agrees */
	round_trip(&cr, &ci, &bi, &br);
	assert_false(bi.has_ipcomp);
	assert_int_equal(bi.num, 1);
}

static void mismatch_refused(void **state)
{
	struct isakmp_bundle_conf ci, cr;
	struct isakmp_sa offer;
	struct isakmp_bundle b;

	(void)state;
	/* AH+ESP offered, ESP alone wanted (and the reverse): refused */
	conf(&ci, true, true, false);
	conf(&cr, false, true, false);
	assert_int_equal(isakmp_bundle_offer(&ci, &ours_i, &offer), 0);
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	assert_int_equal(isakmp_bundle_offer(&cr, &ours_i, &offer), 0);
	assert_int_equal(isakmp_bundle_choose(&ci, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* no common AH transform */
	conf(&cr, true, true, false);
	cr.ah[0].id = ISAKMP_AH_SHA2_512;
	cr.ah[0].auth = ISAKMP_AUTH_HMAC_SHA2_512;
	cr.n_ah = 1;
	assert_int_equal(isakmp_bundle_offer(&ci, &ours_i, &offer), 0);
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* another PFS group */
	conf(&cr, true, true, false);
	cr.group = 0;
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* AH whose Auth Alg is not its hash (RFC 2407 §4.4.3) */
	conf(&cr, true, true, false);
	offer.p[0].x[0].auth = ISAKMP_AUTH_HMAC_SHA1;
	offer.p[0].x[1].auth = ISAKMP_AUTH_HMAC_SHA2_256;
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* ESP twice in one AND-set */
	assert_int_equal(isakmp_bundle_offer(&ci, &ours_i, &offer), 0);
	offer.p[0] = offer.p[1];
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* an IPComp CPI out of 256-61439 or 3 octets */
	conf(&ci, false, true, true);
	conf(&cr, false, true, true);
	assert_int_equal(isakmp_bundle_offer(&ci, &ours_i, &offer), 0);
	offer.p[1].spi[0] = 0;
	offer.p[1].spi[1] = 0x80;
	assert_int_equal(isakmp_bundle_choose(&cr, &offer, &b), 0);
	assert_false(b.has_ipcomp); /* proposal 2, without IPComp */
	assert_int_equal(b.num, 2);
}

/* The initiator checks that the reply echoes one of its AND-sets. */
static void reply_checked(void **state)
{
	struct isakmp_bundle_conf c;
	struct isakmp_sa offer, reply, bad;
	struct isakmp_bundle b, bi;

	(void)state;
	conf(&c, true, true, true);
	assert_int_equal(isakmp_bundle_offer(&c, &ours_i, &offer), 0);
	assert_int_equal(isakmp_bundle_choose(&c, &offer, &b), 0);
	assert_int_equal(isakmp_bundle_reply(&offer, &b, &ours_r, &reply), 0);
	assert_int_equal(reply.n_props, 3);
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &reply, &bi), 0);

	/* a protocol left out: ESP alone under number 1 */
	bad = reply;
	bad.p[0] = bad.p[1];
	bad.n_props = 1;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* AH dropped from set 1 (AH+ESP+IPComp offered) */
	bad = reply;
	bad.p[0] = bad.p[2];
	bad.n_props = 2;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* ESP twice instead of AH */
	bad = reply;
	bad.p[0] = bad.p[1];
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* two transforms in the reply */
	bad = reply;
	bad.p[1].n_xforms = 2;
	bad.p[1].x[1] = bad.p[1].x[0];
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	/* mixed proposal numbers */
	bad = reply;
	bad.p[2].num = 2;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	/* a transform we did not offer (ESP key length) */
	bad = reply;
	bad.p[1].x[0].keylen = 128;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* an AH transform of another group */
	bad = reply;
	bad.p[0].x[0].group = 2;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* a longer lifetime than offered */
	bad = reply;
	bad.p[1].x[0].life_sec = 7200;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* a shorter one is the SA's */
	bad = reply;
	bad.p[1].x[0].life_sec = 600;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi), 0);
	assert_int_equal(bi.life_sec, 600);
	/* IPComp with a 4-octet SPI carrying a 3-octet value */
	bad = reply;
	bad.p[2].spi_size = 4;
	bad.p[2].spi[0] = 0;
	bad.p[2].spi[1] = 1;
	bad.p[2].spi[2] = 0;
	bad.p[2].spi[3] = 0;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi),
			 ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	/* ...and the CPI in the low-order octets of four is fine */
	bad.p[2].spi[1] = 0;
	bad.p[2].spi[2] = 0x43;
	bad.p[2].spi[3] = 0x21;
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &bad, &bi), 0);
	assert_int_equal(bi.peer.cpi, 0x4321);
	/* IPComp in the reply to a set we offered without it */
	conf(&c, true, true, false);
	assert_int_equal(isakmp_bundle_accept(&c, &ours_i, &reply, &bi),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(offer_layout),
	    cmocka_unit_test(every_bundle),
	    cmocka_unit_test(ipcomp_optional),
	    cmocka_unit_test(mismatch_refused),
	    cmocka_unit_test(reply_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
