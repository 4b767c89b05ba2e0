/*
 * test_conf.c - cmocka unit tests of src/conf: algorithm table, address
 * values, the loader (from memory), defaults, references, lookups,
 * dump fixed point, and hostile input (deep nesting, huge tokens, NUL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

#define NOFILES (CONF_LOAD_NO_FILECHECK | CONF_LOAD_NO_INCLUDE)

static struct conf *load_ok(const char *text)
{
	struct conf_diag d;
	struct conf *c = NULL;
	int rc;

	conf_diag_init(&d);
	rc = conf_load_buffer("t.conf", text, strlen(text), NOFILES, &c, &d);
	if (rc != 0)
		conf_diag_print(stderr, &d);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	conf_diag_free(&d);
	return c;
}

/* Load must fail with an error at line:col containing frag. */
static void load_err(const char *text, size_t len, unsigned line,
		     unsigned col, const char *frag)
{
	struct conf_diag d;
	struct conf *c = NULL;
	bool found = false;

	conf_diag_init(&d);
	assert_int_equal(conf_load_buffer("t.conf", text, len, NOFILES, &c,
					  &d),
			 -EINVAL);
	assert_null(c);
	assert_true(d.nerrors > 0);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].sev == CONF_DIAG_ERROR && d.v[i].line == line &&
		    (col == 0 || d.v[i].col == col) &&
		    strstr(d.v[i].msg, frag))
			found = true;
	if (!found)
		conf_diag_print(stderr, &d);
	assert_true(found);
	conf_diag_free(&d);
}

static const char base[] =
	"remote r {\n"
	"\tacceptable_kmp { ikev2; };\n"
	"\tikev2 {\n"
	"\t\tpeers_ipaddr 198.51.100.2 port 500;\n"
	"\t\tpeers_id fqdn \"b.example\";\n"
	"\t\tkmp_enc_alg { aes128_gcm16; aes128_cbc,128; };\n"
	"\t\tkmp_hash_alg hmac_sha2_256;\n"
	"\t\tkmp_prf_alg hmac_sha2_256;\n"
	"\t\tkmp_dh_group { curve25519; 14; };\n"
	"\t\tkmp_auth_method psk;\n"
	"\t\tpre_shared_key \"/nonexistent/ok.psk\";\n"
	"\t};\n"
	"};\n"
	"selector s { direction outbound; src 10.0.0.0/8 port any;\n"
	"\tdst 10.1.0.0/16 port 80; upper_layer_protocol tcp;\n"
	"\tpolicy_index p; };\n"
	"policy p { action auto_ipsec; remote_index r; ipsec_index i; };\n"
	"ipsec i { sa_index s1; ipsec_sa_lifetime_time 2 hours; };\n"
	"sa s1 { sa_protocol esp; esp_enc_alg aes256_gcm16; };\n";

static void test_alg_table(void **st)
{
	const struct conf_alg_info *a;
	(void)st;
	a = conf_alg_by_name("aes128_cbc");
	assert_non_null(a);
	assert_int_equal(a->encr_id, 12);
	assert_int_equal(a->key_bits, 128);
	a = conf_alg_by_name("aes256_gcm16");
	assert_int_equal(a->encr_id, 20);
	assert_true(a->flags & CONF_ALGF_AEAD);
	assert_int_equal(a->icv_bytes, 16);
	assert_int_equal(conf_alg_by_name("aes128_gcm8")->encr_id, 18);
	assert_int_equal(conf_alg_by_name("aes192_gcm12")->encr_id, 19);
	assert_int_equal(conf_alg_by_name("chacha20_poly1305")->encr_id, 28);
	a = conf_alg_by_name("hmac_sha2_384");
	assert_int_equal(a->prf_id, 6);
	assert_int_equal(a->integ_id, 13);
	assert_int_equal(conf_alg_by_name("aes_xcbc")->integ_id, 5);
	assert_int_equal(conf_alg_by_name("curve25519")->dh_id, 31);
	assert_int_equal(conf_alg_by_name("curve448")->dh_id, 32);
	assert_int_equal(conf_alg_by_name("ecp521")->dh_id, 21);
	assert_int_equal(conf_alg_by_name("modp8192")->dh_id, 18);
	assert_ptr_equal(conf_alg_by_name("x25519"),
			 conf_alg_by_name("curve25519"));
	assert_ptr_equal(conf_alg_by_dh_group(14),
			 conf_alg_by_name("modp2048"));
	assert_null(conf_alg_by_dh_group(99));
	assert_null(conf_alg_by_name("rot13"));
	assert_null(conf_alg_by_name(NULL));
	assert_string_equal(conf_alg_name(CONF_ALG_3DES_CBC), "3des_cbc");
	assert_string_equal(conf_alg_name((enum conf_alg)9999), "unknown");
	for (int i = 1; i < CONF_ALG_COUNT; i++) {
		const struct conf_alg_info *x = conf_alg_info(i);
		assert_int_equal(x->alg, i);
		assert_ptr_equal(conf_alg_by_name(x->name), x);
	}
}

static void test_addr_parse(void **st)
{
	struct conf *c;
	const struct conf_selector *s;
	char buf[128];
	(void)st;
	c = load_ok("selector a { direction inbound; src fe80::1%lo/64;\n"
		    "dst MY_IPV6_LINKLOCAL%eth0 port 22;\n"
		    "upper_layer_protocol tcp; policy_index p; };\n"
		    "selector b { direction inbound; src host.example;\n"
		    "policy_index p; };\n"
		    "policy p { action discard; };\n");
	s = conf_selector_find(c, "a");
	assert_non_null(s);
	assert_int_equal(s->src.kind, CONF_ADDR_IP);
	assert_int_equal(s->src.af, AF_INET6);
	assert_int_equal(s->src.plen, 64);
	assert_string_equal(s->src.ifname, "lo");
	assert_string_equal(conf_addr_str(&s->src, buf, sizeof(buf)),
			    "fe80::1%lo/64");
	assert_int_equal(s->dst.kind, CONF_ADDR_MY_IPV6_LINKLOCAL);
	assert_string_equal(s->dst.ifname, "eth0");
	assert_int_equal(s->dst.port, 22);
	assert_int_equal(s->upper_layer_protocol, 6);
	s = conf_selector_find(c, "b");
	assert_int_equal(s->src.kind, CONF_ADDR_NAME);
	assert_int_equal(s->dst.kind, CONF_ADDR_ANY); /* omitted */
	assert_ptr_equal(s->policy, conf_policy_find(c, "p"));
	conf_free(c);
}

static int count_cb(const struct sockaddr *sa, socklen_t l, unsigned plen,
		    void *arg)
{
	(void)sa;
	(void)l;
	(void)plen;
	(*(int *)arg)++;
	return 0;
}

static void test_addr_match_expand(void **st)
{
	struct conf *c = load_ok(base);
	const struct conf_selector *s = conf_selector_find(c, "s");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int n = 0;
	(void)st;

	inet_pton(AF_INET, "10.200.1.1", &sin.sin_addr);
	assert_true(conf_addr_match(&s->src, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "11.0.0.1", &sin.sin_addr);
	assert_false(conf_addr_match(&s->src, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	sin.sin_port = htons(80);
	assert_true(conf_addr_match(&s->dst, (struct sockaddr *)&sin));
	sin.sin_port = htons(81);
	assert_false(conf_addr_match(&s->dst, (struct sockaddr *)&sin));
	assert_int_equal(conf_addr_expand(&s->src, count_cb, &n), 0);
	assert_int_equal(n, 1);
	conf_free(c);
}

static void test_load_resolved(void **st)
{
	struct conf *c = load_ok(base);
	const struct conf_remote *r = conf_remote_find(c, "r");
	const struct conf_policy *p = conf_policy_find(c, "p");
	(void)st;

	assert_non_null(r);
	assert_int_equal(r->n_acceptable_kmp, 1);
	assert_int_equal(r->acceptable_kmp[0], CONF_KMP_IKEV2);
	assert_true(r->ikev2.present);
	assert_false(r->ikev1.present);
	assert_int_equal(r->ikev2.kmp_enc_alg.n, 2);
	assert_int_equal(r->ikev2.kmp_enc_alg.v[1].key_bits, 128);
	assert_int_equal(r->ikev2.kmp_dh_group.v[1].alg, CONF_ALG_MODP2048);
	assert_int_equal(r->ikev2.peers_ipaddr.v[0].port, 500);
	assert_int_equal(r->ikev2.dpd_delay, 3600); /* built-in default */
	assert_int_equal(r->ikev2.nat_keepalive, 20);
	assert_true(conf_kmp_isset(&r->ikev2, CK_KMP_PRF_ALG));
	assert_false(conf_kmp_isset(&r->ikev2, CK_DPD_DELAY));
	assert_ptr_equal(p->remote, r);
	assert_int_equal(r->npolicies, 1);
	assert_ptr_equal(r->policies[0], p);
	assert_int_equal(p->nipsec, 1);
	assert_int_equal(p->ipsec[0]->ipsec_sa_lifetime_time, 7200);
	assert_ptr_equal(p->ipsec[0]->esp, conf_sa_find(c, "s1"));
	assert_int_equal(p->ipsec[0]->replay_window, 64);
	assert_int_equal(p->nselectors, 1);
	assert_true(p->install);
	assert_int_equal(c->iface.kernel, CONF_KERNEL_DEFAULT);
	conf_free(c);
}

static void test_defaults_inherited(void **st)
{
	struct conf *c = load_ok(
		"default { remote { acceptable_kmp { ikev2; kink; };\n"
		"  ikev2 { kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
		"   kmp_dh_group ecp256; kmp_auth_method rsasig;\n"
		"   dpd_delay 5 min; };\n"
		"  kink { my_principal \"me@R\"; }; };\n"
		" policy { ipsec_mode tunnel; ipsec_level unique; };\n"
		" ipsec { ipsec_sa_lifetime_time 1 day; };\n"
		" sa { sa_protocol esp; esp_enc_alg aes128_gcm16; }; };\n"
		"remote a { ikev2 { dpd_delay 10 sec; }; };\n"
		"policy p { action discard; ipsec_mode transport; };\n"
		"ipsec i { sa_index { ah1; e; }; };\n"
		"sa e { };\n"
		"sa ah1 { sa_protocol ah; ah_auth_alg hmac_sha1; };\n");
	const struct conf_remote *a = conf_remote_find(c, "a");
	const struct conf_policy *p = conf_policy_find(c, "p");
	const struct conf_ipsec *i = conf_ipsec_find(c, "i");
	const struct conf_sa *e = conf_sa_find(c, "e");
	(void)st;

	assert_int_equal(a->n_acceptable_kmp, 2);
	assert_int_equal(a->ikev2.dpd_delay, 10);
	assert_int_equal(a->ikev2.kmp_enc_alg.v[0].alg,
			 CONF_ALG_AES128_GCM16);
	assert_true(a->kink.present);
	assert_string_equal(a->kink.my_principal, "me@R");
	assert_non_null(c->default_remote);
	assert_int_equal(c->default_remote->ikev2.dpd_delay, 300);
	assert_int_equal(p->ipsec_mode, CONF_MODE_TRANSPORT);
	assert_int_equal(p->ipsec_level, CONF_LEVEL_UNIQUE);
	assert_int_equal(i->ipsec_sa_lifetime_time, 86400);
	assert_int_equal(e->sa_protocol, CONF_SA_ESP);
	assert_int_equal(e->esp_enc_alg.n, 1);
	/* the esp defaults are not pushed into an ah sa */
	assert_int_equal(conf_sa_find(c, "ah1")->esp_enc_alg.n, 0);
	assert_ptr_equal(i->ah, conf_sa_find(c, "ah1"));
	assert_ptr_equal(i->esp, e);
	conf_free(c);
}

static void test_lookup_fallback(void **st)
{
	struct conf *c = load_ok(
		"default { remote { acceptable_kmp ikev2; }; };\n"
		"remote a { ikev2 { peers_ipaddr { 198.51.100.9; 198.51.100.7; };\n"
		"  peers_id ipaddr \"198.51.100.7\";\n"
		"  kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
		"  kmp_dh_group ecp256; kmp_auth_method rsasig; }; };\n"
		"remote b { ikev2 { peers_ipaddr IP_RW;\n"
		"  peers_id fqdn \"b.example\";\n"
		"  kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
		"  kmp_dh_group ecp256; kmp_auth_method rsasig; }; };\n");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint8_t ip[4] = { 198, 51, 100, 7 };
	(void)st;

	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	assert_string_equal(
		conf_remote_by_addr(c, CONF_KMP_IKEV2,
				    (struct sockaddr *)&sin)->name, "a");
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	assert_ptr_equal(conf_remote_by_addr(c, CONF_KMP_IKEV2,
					     (struct sockaddr *)&sin),
			 c->default_remote);
	assert_string_equal(conf_remote_by_id(c, CONF_KMP_IKEV2, CONF_ID_FQDN,
					      "B.example", 9)->name, "b");
	assert_string_equal(conf_remote_by_id(c, CONF_KMP_IKEV2,
					      CONF_ID_IPADDR, ip, 4)->name,
			    "a");
	assert_ptr_equal(conf_remote_by_id(c, CONF_KMP_IKEV2, CONF_ID_FQDN,
					   "x", 1),
			 c->default_remote);
	conf_free(c);
}

static char *dump_str(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(conf_dump(f, c), 0);
	fclose(f);
	return buf;
}

static void test_dump_fixed_point(void **st)
{
	struct conf *c = load_ok(base), *c2;
	char *d1, *d2;
	(void)st;
	d1 = dump_str(c);
	c2 = load_ok(d1);
	d2 = dump_str(c2);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	conf_free(c);
	conf_free(c2);
}

static void test_units_and_subst(void **st)
{
	struct conf *c = load_ok(
		"setval { T \"3\"; N \"pre${T}\"; };\n"
		"ipsec i { sa_index s; ipsec_sa_lifetime_time 2 days;\n"
		"  ipsec_sa_lifetime_byte 3 MB; };\n"
		"ipsec j { sa_index s; ipsec_sa_lifetime_time infinite;\n"
		"  ipsec_sa_lifetime_byte 7 KB; };\n"
		"sa s { sa_protocol esp; esp_enc_alg aes128_gcm16; };\n"
		"remote \"${N}\" { acceptable_kmp kink; };\n");
	(void)st;
	assert_int_equal(conf_ipsec_find(c, "i")->ipsec_sa_lifetime_time,
			 2 * 86400);
	assert_int_equal(conf_ipsec_find(c, "i")->ipsec_sa_lifetime_byte,
			 3 * 1024 * 1024);
	assert_int_equal(conf_ipsec_find(c, "j")->ipsec_sa_lifetime_time, 0);
	assert_non_null(conf_remote_find(c, "pre3"));
	conf_free(c);
}

static void test_errors_located(void **st)
{
	static const char nul[] = "policy p {\n action di\0scard; };\n";
	(void)st;
	load_err("policy p {\n\taction maybe;\n};\n", 30, 2, 9,
		 "expected auto_ipsec");
	load_err("include \"x.conf\";\n", 18, 1, 1, "include is disabled");
	load_err(nul, sizeof(nul) - 1, 2, 11, "unexpected byte 0x00");
	load_err("ipsec i { ipsec_sa_lifetime_time 18446744073709551616; "
		 "};\n", 57, 1, 34, "out of range");
	load_err("sa s { sa_protocol esp; esp_enc_alg hmac_sha1; };\n", 50, 1,
		 37, "cannot be used in 'esp_enc_alg'");
}

static void test_hostile_input(void **st)
{
	size_t n = 10000, len = 2 * n + 16;
	char *deep = malloc(len), *big;
	size_t o = 0;
	(void)st;
	/* 10,000 nested blocks: one clear error, no stack overflow */
	o += (size_t)sprintf(deep, "x ");
	for (size_t i = 0; i < n; i++)
		deep[o++] = '{';
	for (size_t i = 0; i < n; i++)
		deep[o++] = '}';
	deep[o++] = ';';
	load_err(deep, o, 1, 35, "nested too deeply");
	free(deep);
	/* a 1 MB word */
	big = malloc((1u << 20) + 8);
	memset(big, 'a', 1u << 20);
	memcpy(big + (1u << 20), " ;\n", 3);
	load_err(big, (1u << 20) + 3, 1, 1, "word too long");
	/* a 1 MB string */
	big[0] = '"';
	big[(1u << 20) - 1] = '"';
	load_err(big, (1u << 20) + 3, 1, 1, "string too long");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg_table),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_match_expand),
		cmocka_unit_test(test_load_resolved),
		cmocka_unit_test(test_defaults_inherited),
		cmocka_unit_test(test_lookup_fallback),
		cmocka_unit_test(test_dump_fixed_point),
		cmocka_unit_test(test_units_and_subst),
		cmocka_unit_test(test_errors_located),
		cmocka_unit_test(test_hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
