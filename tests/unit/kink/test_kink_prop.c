/*
 * test_kink_prop.c - kinkd's bundles (src/kink/kink_prop.c over
 * isakmp/bundle.h): racoon2.conf sa_index -> proposals, the CREATE's SA
 * through the wire codec to the responder's choice, the REPLY back to the
 * initiator's check, and the SA pairs both sides install (issue 16).
 * AND-sets (RFC 2408 §4.2), refusals, the REPLY echo check (fail closed)
 * and the optimistic rule (RFC 4430 §4.2.1).
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "isakmp/bundle.h"
#include "isakmp/isakmp.h"
#include "kink/kink_prop.h"
#include "lib/wr.h"

#define SPI_I_ESP 0x11110001u
#define SPI_I_AH  0x11110002u
#define CPI_I	  0x1001
#define SPI_R_ESP 0x22220001u
#define SPI_R_AH  0x22220002u
#define CPI_R	  0x2002

/* Policies with every bundle racoon2 allows, and some KINK cannot key. */
static const char conf_text[] =
    "remote r { acceptable_kmp { kink; }; kink { my_principal \"a@R\"; "
    "peers_principal \"b@R\"; }; };\n"
    "policy p_ah { action auto_ipsec; remote_index r; ipsec_mode tunnel; "
    "my_sa_ipaddr \"198.51.100.1\"; peers_sa_ipaddr \"198.51.100.2\"; "
    "ipsec_index { i_ah; }; };\n"
    "policy p_ahesp { action auto_ipsec; remote_index r; ipsec_mode "
    "transport; ipsec_index { i_ahesp; }; };\n"
    "policy p_espcomp { action auto_ipsec; remote_index r; ipsec_mode "
    "tunnel; my_sa_ipaddr \"198.51.100.1\"; peers_sa_ipaddr \"198.51.100.2\"; "
    "ipsec_index { i_espcomp; }; };\n"
    "policy p_all { action auto_ipsec; remote_index r; ipsec_mode tunnel; "
    "my_sa_ipaddr \"198.51.100.1\"; peers_sa_ipaddr \"198.51.100.2\"; "
    "ipsec_index { i_all; }; };\n"
    "policy p_esp { action auto_ipsec; remote_index r; ipsec_mode tunnel; "
    "my_sa_ipaddr \"198.51.100.1\"; peers_sa_ipaddr \"198.51.100.2\"; "
    "ipsec_index { i_esp; }; };\n"
    "policy p_ah1 { action auto_ipsec; remote_index r; ipsec_mode "
    "transport; ipsec_index { i_ah1; }; };\n"
    "policy p_comp { action auto_ipsec; remote_index r; ipsec_mode "
    "tunnel; my_sa_ipaddr \"198.51.100.1\"; peers_sa_ipaddr \"198.51.100.2\"; "
    "ipsec_index { i_comp; }; };\n"
    "ipsec i_ah { ipsec_sa_lifetime_time 600 sec; sa_index { ah; }; };\n"
    "ipsec i_ahesp { sa_index { ah; esp; }; };\n"
    "ipsec i_espcomp { sa_index { esp; comp; }; };\n"
    "ipsec i_all { sa_index { ah; esp; comp; }; };\n"
    "ipsec i_esp { sa_index { esp; }; };\n"
    "ipsec i_ah1 { sa_index { ah1; esp; }; };\n"
    "ipsec i_comp { sa_index { comp; }; };\n"
    "sa ah { sa_protocol ah; ah_auth_alg { hmac_sha2_256; hmac_sha1; }; };\n"
    "sa ah1 { sa_protocol ah; ah_auth_alg { hmac_sha1; }; };\n"
    "sa esp { sa_protocol esp; esp_enc_alg { aes128_cbc; aes256_cbc; }; "
    "esp_auth_alg { hmac_sha2_256; }; };\n"
    "sa comp { sa_protocol ipcomp; ipcomp_alg { deflate; }; };\n";

static struct conf *conf;

static int setup(void **st)
{
	struct conf_diag d;
	int rc;

	(void)st;
	conf_diag_init(&d);
	rc = conf_load_buffer("t.conf", conf_text, sizeof(conf_text) - 1,
			      CONF_LOAD_NO_FILECHECK | CONF_LOAD_NO_INCLUDE,
			      &conf, &d);
	if (rc)
		conf_diag_print(stderr, &d);
	conf_diag_free(&d);
	return rc;
}

static int teardown(void **st)
{
	(void)st;
	conf_free(conf);
	return 0;
}

static void bundle_of(const char *pol, uint16_t group,
		      struct isakmp_bundle_conf *bc)
{
	const char *why = NULL;

	assert_int_equal(
	    kink_policy_bundle(conf_policy_find(conf, pol), group, bc, &why),
	    0);
}

/* SA payload through the Quick Mode codec, as it crosses the wire. */
static void wire(const struct isakmp_sa *in, struct isakmp_sa *out)
{
	struct isakmp_qm qm, got;
	static uint8_t nonce[16];
	struct wr w;
	uint8_t first;

	memset(&qm, 0, sizeof(qm));
	qm.has_sa = true;
	qm.sa = *in;
	qm.nonce = nonce;
	qm.nonce_len = sizeof(nonce);
	wr_init(&w, 0);
	assert_int_equal(isakmp_qm_build(&w, &qm, &first), 0);
	assert_int_equal(isakmp_qm_parse(first, w.buf, w.len, &got), 0);
	assert_true(got.has_sa);
	*out = got.sa;
	wr_free(&w);
}

static const struct isakmp_bundle_spis spis_i = {SPI_I_ESP, SPI_I_AH, CPI_I};
static const struct isakmp_bundle_spis spis_r = {SPI_R_ESP, SPI_R_AH, CPI_R};

/* A whole CREATE/REPLY: offer of policy oi, responder policy pr. */
struct xchg {
	struct isakmp_bundle_conf bi, br;
	struct isakmp_sa offer, reply;
	struct isakmp_bundle rb, ib;
	int choose, accept;
};

static void run(struct xchg *x, const char *oi, const char *pr)
{
	struct isakmp_sa o, r;

	memset(x, 0, sizeof(*x));
	bundle_of(oi, 0, &x->bi);
	bundle_of(pr, 0, &x->br);
	assert_int_equal(isakmp_bundle_offer(&x->bi, &spis_i, &o), 0);
	wire(&o, &x->offer);
	x->choose = isakmp_bundle_choose(&x->br, &x->offer, &x->rb);
	if (x->choose)
		return;
	assert_int_equal(isakmp_bundle_reply(&x->offer, &x->rb, &spis_r, &r),
			 0);
	wire(&r, &x->reply);
	x->accept = isakmp_bundle_accept(&x->bi, &spis_i, &x->reply, &x->ib);
}

static const struct kchild_sa *sa_of(const struct kchild *c, uint8_t proto)
{
	for (unsigned i = 0; i < c->nsa; i++)
		if (c->sa[i].proto == proto)
			return &c->sa[i];
	return NULL;
}

/* racoon2.conf -> proposals: AH transform IDs with their AUTH_ALG, ESP
 * combinations with Key Length, IPComp DEFLATE, mode, lifetime, group. */
static void test_conf_mapping(void **st)
{
	struct isakmp_bundle_conf bc;
	const char *why = NULL;

	(void)st;
	bundle_of("p_ah", 14, &bc);
	assert_int_equal(bc.n_ah, 2);
	assert_int_equal(bc.n_esp, 0);
	assert_int_equal(bc.ipcomp, 0);
	assert_int_equal(bc.ah[0].id, ISAKMP_AH_SHA2_256);
	assert_int_equal(bc.ah[0].auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(bc.ah[1].id, ISAKMP_AH_SHA);
	assert_int_equal(bc.ah[1].auth, ISAKMP_AUTH_HMAC_SHA1);
	assert_int_equal(bc.encap, ISAKMP_ENCAP_TUNNEL);
	assert_int_equal(bc.life_sec, 600);
	assert_int_equal(bc.group, 14);

	bundle_of("p_all", 0, &bc);
	assert_int_equal(bc.n_ah, 2);
	assert_int_equal(bc.n_esp, 2);
	assert_int_equal(bc.esp[0].id, ISAKMP_ESP_AES_CBC);
	assert_int_equal(bc.esp[0].keybits, 128);
	assert_int_equal(bc.esp[1].keybits, 256);
	assert_int_equal(bc.esp[0].auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(bc.ipcomp, ISAKMP_IPCOMP_DEFLATE);

	bundle_of("p_ahesp", 0, &bc);
	assert_int_equal(bc.encap, ISAKMP_ENCAP_TRANSPORT);

	/* IPComp alone: the data planes cannot send it, refused */
	assert_int_equal(
	    kink_policy_bundle(conf_policy_find(conf, "p_comp"), 0, &bc, &why),
	    -ENOENT);
	assert_non_null(why);
	assert_non_null(strstr(why, "IPComp alone"));
}

/* The offer on the wire: proposals of one number (RFC 2408 §4.2), AH
 * then ESP then IPComp with a 2-octet CPI; the set again without
 * IPComp (optional, RFC 3173 §2.1). */
static void test_offer_wire(void **st)
{
	struct isakmp_bundle_conf bc;
	struct isakmp_sa o, w;

	(void)st;
	bundle_of("p_all", 0, &bc);
	assert_int_equal(isakmp_bundle_offer(&bc, &spis_i, &o), 0);
	wire(&o, &w);
	assert_int_equal(w.n_props, 5);
	assert_int_equal(w.p[0].num, 1);
	assert_int_equal(w.p[0].proto, ISAKMP_PROTO_AH);
	assert_int_equal(w.p[0].spi_size, 4);
	assert_int_equal(w.p[0].n_xforms, 2);
	assert_int_equal(w.p[0].x[0].id, ISAKMP_AH_SHA2_256);
	assert_int_equal(w.p[0].x[0].auth, ISAKMP_AUTH_HMAC_SHA2_256);
	assert_int_equal(w.p[1].num, 1);
	assert_int_equal(w.p[1].proto, ISAKMP_PROTO_ESP);
	assert_int_equal(w.p[2].num, 1);
	assert_int_equal(w.p[2].proto, ISAKMP_PROTO_IPCOMP);
	assert_int_equal(w.p[2].spi_size, 2);
	assert_int_equal(w.p[2].spi[0] << 8 | w.p[2].spi[1], CPI_I);
	assert_int_equal(w.p[2].x[0].id, ISAKMP_IPCOMP_DEFLATE);
	assert_int_equal(w.p[3].num, 2);
	assert_int_equal(w.p[4].num, 2);
	assert_int_equal(w.p[4].proto, ISAKMP_PROTO_ESP);
}

/* AH+ESP+IPComp both ways: the first set, first transforms (2-way), the
 * SPIs and CPIs crossed in the pairs each side installs. */
static void test_roundtrip_all(void **st)
{
	struct kchild ci, cr;
	const struct kchild_sa *s;
	struct xchg x;

	(void)st;
	run(&x, "p_all", "p_all");
	assert_int_equal(x.choose, 0);
	assert_int_equal(x.accept, 0);
	assert_true(kink_bundle_first(&x.offer, &x.rb));
	assert_int_equal(x.reply.n_props, 3);
	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	kink_child_from_bundle(&ci, &x.ib, &spis_i);
	kink_child_from_bundle(&cr, &x.rb, &spis_r);
	assert_int_equal(ci.nsa, 3);
	assert_int_equal(cr.nsa, 3);
	/* sa[0] is ESP: it names the bundle */
	assert_int_equal(ci.sa[0].proto, IPPROTO_ESP);
	assert_int_equal(ci.sa[0].spi_in, SPI_I_ESP);
	assert_int_equal(ci.sa[0].spi_out, SPI_R_ESP);
	assert_int_equal(ci.sa[0].encr_id, ISAKMP_ESP_AES_CBC);
	assert_int_equal(ci.sa[0].encr_keybits, 128);
	assert_int_equal(cr.sa[0].spi_in, SPI_R_ESP);
	assert_int_equal(cr.sa[0].spi_out, SPI_I_ESP);
	s = sa_of(&ci, IPPROTO_AH);
	assert_non_null(s);
	assert_int_equal(s->spi_in, SPI_I_AH);
	assert_int_equal(s->spi_out, SPI_R_AH);
	assert_int_equal(s->integ_id, 12); /* HMAC-SHA2-256-128 */
	s = sa_of(&cr, IPPROTO_COMP);
	assert_non_null(s);
	assert_int_equal(s->spi_in, CPI_R);
	assert_int_equal(s->spi_out, CPI_I);
	assert_int_equal(s->comp_id, 2); /* DEFLATE */
}

/* ESP+IPComp offered, the responder has no IPComp: it takes the second
 * set (not optimistic: 3-way), the initiator's pairs are ESP only. */
static void test_ipcomp_declined(void **st)
{
	struct kchild ci;
	struct xchg x;

	(void)st;
	run(&x, "p_espcomp", "p_esp");
	assert_int_equal(x.choose, 0);
	assert_int_equal(x.rb.num, 2);
	assert_false(x.rb.has_ipcomp);
	assert_false(kink_bundle_first(&x.offer, &x.rb));
	assert_int_equal(x.accept, 0);
	memset(&ci, 0, sizeof(ci));
	kink_child_from_bundle(&ci, &x.ib, &spis_i);
	assert_int_equal(ci.nsa, 1);
	assert_int_equal(ci.sa[0].proto, IPPROTO_ESP);
	/* and with IPComp on both sides: the first set */
	run(&x, "p_espcomp", "p_espcomp");
	assert_int_equal(x.choose, 0);
	assert_true(x.rb.has_ipcomp);
	assert_true(kink_bundle_first(&x.offer, &x.rb));
	assert_int_equal(x.accept, 0);
}

/* The responder takes a whole AND-set or refuses: AH+ESP offered to an
 * ESP-only policy, ESP offered to an AH+ESP policy, AH to ESP. */
static void test_mismatch_refused(void **st)
{
	struct xchg x;

	(void)st;
	run(&x, "p_ahesp", "p_esp");
	assert_int_equal(x.choose, ISAKMP_N_NO_PROPOSAL_CHOSEN);
	run(&x, "p_esp", "p_ahesp");
	assert_int_equal(x.choose, ISAKMP_N_NO_PROPOSAL_CHOSEN);
	run(&x, "p_ah", "p_esp");
	assert_int_equal(x.choose, ISAKMP_N_NO_PROPOSAL_CHOSEN);
	/* the mode is part of the set (tunnel AH vs transport AH+ESP) */
	run(&x, "p_ah", "p_ahesp");
	assert_int_equal(x.choose, ISAKMP_N_NO_PROPOSAL_CHOSEN);
}

/* A responder that accepts only the second AH transform: the set is
 * chosen, but not optimistically (RFC 4430 §4.2.1: ACKREQ). */
static void test_later_transform(void **st)
{
	struct xchg x;

	(void)st;
	run(&x, "p_ahesp", "p_ah1");
	assert_int_equal(x.choose, 0);
	assert_int_equal(x.rb.ah_x.id, ISAKMP_AH_SHA);
	assert_false(kink_bundle_first(&x.offer, &x.rb));
	assert_int_equal(x.accept, 0);
	assert_int_equal(x.ib.ah_x.auth, ISAKMP_AUTH_HMAC_SHA1);
}

/* The initiator accepts only a REPLY that echoes one offered set: every
 * protocol once, one transform each, one it offered (fail closed). */
static void test_reply_echo_checked(void **st)
{
	struct isakmp_bundle b;
	struct isakmp_sa r;
	struct xchg x;

	(void)st;
	run(&x, "p_all", "p_all");
	assert_int_equal(x.accept, 0);
	/* a protocol of the set left out (only AH and ESP back) */
	r = x.reply;
	r.n_props = 2;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* ESP only, as if the responder dropped AH */
	r = x.reply;
	r.p[0] = r.p[1];
	r.p[1] = r.p[2];
	r.n_props = 2;
	r.p[1].num = r.p[0].num;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* a transform we did not offer (3DES) */
	r = x.reply;
	r.p[1].x[0].id = ISAKMP_ESP_3DES;
	r.p[1].x[0].keylen = 0;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* an AH transform whose AUTH_ALG is not its hash */
	r = x.reply;
	r.p[0].x[0].auth = ISAKMP_AUTH_HMAC_SHA1;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* two transforms instead of the one chosen */
	r = x.reply;
	r.p[1].n_xforms = 2;
	r.p[1].x[1] = r.p[1].x[0];
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* mixed proposal numbers */
	r = x.reply;
	r.p[2].num = 2;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* another mode than offered */
	r = x.reply;
	r.p[1].x[0].encap = ISAKMP_ENCAP_TRANSPORT;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* a PFS group we did not ask for */
	r = x.reply;
	r.p[0].x[0].group = 14;
	r.p[1].x[0].group = 14;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* a 2-octet SPI on ESP */
	r = x.reply;
	r.p[1].spi_size = 2;
	assert_int_not_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	/* the set we offered without IPComp is a valid answer too */
	r = x.reply;
	for (unsigned i = 0; i < 2; i++)
		r.p[i].num = 2;
	r.n_props = 2;
	assert_int_equal(isakmp_bundle_accept(&x.bi, &spis_i, &r, &b), 0);
	assert_false(b.has_ipcomp);
}

/* PFS: the group is part of every keyed transform; a responder that
 * decided another group does not choose the set. */
static void test_pfs_group(void **st)
{
	struct isakmp_bundle_conf bi, br;
	struct isakmp_bundle b;
	struct isakmp_sa o, w;

	(void)st;
	bundle_of("p_ahesp", 14, &bi);
	bundle_of("p_ahesp", 14, &br);
	assert_int_equal(isakmp_bundle_offer(&bi, &spis_i, &o), 0);
	wire(&o, &w);
	assert_int_equal(w.p[0].x[0].group, 14);
	assert_int_equal(isakmp_bundle_choose(&br, &w, &b), 0);
	bundle_of("p_ahesp", 0, &br);
	assert_int_equal(isakmp_bundle_choose(&br, &w, &b),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_mapping),
	    cmocka_unit_test(test_offer_wire),
	    cmocka_unit_test(test_roundtrip_all),
	    cmocka_unit_test(test_ipcomp_declined),
	    cmocka_unit_test(test_mismatch_refused),
	    cmocka_unit_test(test_later_transform),
	    cmocka_unit_test(test_reply_echo_checked),
	    cmocka_unit_test(test_pfs_group),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
